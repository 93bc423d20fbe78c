//! Mutual TLS for every server and client, peer identity from the verified
//! certificate, and the shared server shape.
//!
//! This crate owns how MASH processes talk to each other: every connection is
//! mutual TLS against the MASH CA (and its revocation list), a caller's
//! identity comes only from the one URI SAN of its verified certificate
//! (never from metadata), a client accepts only the server identity it
//! meant to reach, every server bounds its handshakes and connections, and every
//! server exposes health and reflection next to its one service. It also
//! owns what every service binary shares at start-up: layered settings
//! (file, environment, flags), a plaintext health-only port for probes, and
//! stopping on SIGTERM.

mod accept;
mod client;
mod config;
mod error;
mod identity;
mod server;
mod tls;
mod verify;

pub use client::{connect, connect_lazy};
pub use config::{ConfigFile, DatabaseUrl, parse_layered};
pub use error::TransportError;
pub use identity::{identity_from_cert_der, peer_identity};
pub use server::{bind, serve, serve_health, terminated};
pub use tls::{ConnectionLimits, HANDSHAKE_TIMEOUT, MAX_CONNECTIONS, TlsArgs, TlsMaterial};
