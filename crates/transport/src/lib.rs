//! Mutual TLS for every server and client, peer identity from the verified
//! certificate, and the shared server shape.
//!
//! This crate owns how MASH processes talk to each other: every connection is
//! mutual TLS against the MASH CA (and its revocation list), a caller's
//! identity comes only from the one URI SAN of its verified certificate
//! (never from metadata), a client accepts only the server identity it
//! meant to reach, every server bounds its handshakes and connections, and
//! every server exposes health and reflection next to its services, behind
//! one call layer that reads the caller and traces and counts every call. It also
//! owns what every service binary shares at start-up: layered settings
//! (file, environment, flags), a plaintext health-only port for probes, and
//! stopping on SIGTERM.

mod accept;
mod call;
mod client;
mod config;
mod error;
mod identity;
mod server;
mod tls;
mod verify;

pub use call::{CallLayer, CallService, caller};
pub use client::{connect, connect_lazy};
pub use config::{ConfigFile, DatabaseUrl, parse_layered};
pub use error::TransportError;
pub use identity::identity_from_cert_der;
pub use server::{Services, bind, serve, serve_health, terminated};
pub use tls::{ConnectionLimits, HANDSHAKE_TIMEOUT, MAX_CONNECTIONS, TlsArgs, TlsMaterial};

/// The largest request message any MASH service decodes, in encoded bytes:
/// set on every generated server with `max_decoding_message_size`.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
