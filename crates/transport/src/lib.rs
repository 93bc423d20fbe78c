//! Mutual TLS for every server and client, peer identity from the verified
//! certificate, and the shared server shape.
//!
//! This crate owns how MASH processes talk to each other: every connection is
//! mutual TLS against the MASH CA, a caller's identity comes only from the
//! URI SAN of its verified certificate (never from metadata), and every
//! server exposes health and reflection next to its one service.

mod client;
mod error;
mod identity;
mod server;
mod tls;

pub use client::{connect, connect_lazy};
pub use error::TransportError;
pub use identity::{identity_from_cert_der, peer_identity};
pub use server::{bind, serve};
pub use tls::{TlsArgs, TlsMaterial};
