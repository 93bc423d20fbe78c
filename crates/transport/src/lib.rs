//! Mutual TLS for every server and client, peer identity from the verified
//! certificate, and the shared server shape.
//!
//! This crate owns how MASH processes talk to each other: every connection is
//! mutual TLS against the MASH CA, a caller's identity comes only from the
//! URI SAN of its verified certificate (never from metadata), and every
//! server exposes health and reflection next to its services, behind one call
//! layer that reads the caller and traces and counts every call. It also
//! owns what every service binary shares at start-up: layered settings
//! (file, environment, flags), a plaintext health-only port for probes, and
//! stopping on SIGTERM.

mod call;
mod client;
mod config;
mod error;
mod identity;
mod server;
mod tls;

pub use call::{CallLayer, CallService, caller};
pub use client::{connect, connect_lazy};
pub use config::{ConfigFile, DatabaseUrl, parse_layered};
pub use error::TransportError;
pub use identity::identity_from_cert_der;
pub use server::{Services, bind, serve, serve_health, terminated};
pub use tls::{TlsArgs, TlsMaterial};

/// The largest request message any MASH service decodes, in encoded bytes:
/// set on every generated server with `max_decoding_message_size`.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
