//! The one error type of the transport crate.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("could not read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: io::Error },
    /// `problem` is a fixed text: PEM parser messages can quote the input,
    /// which for a key file would be secret bytes.
    #[error("{}: {problem}", path.display())]
    Pem { path: PathBuf, problem: &'static str },
    #[error("invalid endpoint {uri}: {}", Chain(error))]
    Endpoint { uri: String, error: tonic::transport::Error },
    #[error("could not connect to {uri}: {}", Chain(error))]
    Connect { uri: String, error: tonic::transport::Error },
    #[error("could not bind {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: io::Error },
    #[error("invalid reflection descriptor: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("invalid service descriptor set")]
    Descriptor,
    #[error("gRPC server failed: {}", Chain(.0))]
    Serve(tonic::transport::Error),
    #[error("peer certificate is not valid X.509")]
    CertificateParse,
    #[error("peer certificate has no URI SAN")]
    NoUriSan,
    /// SPIFFE puts exactly one URI SAN in an identity certificate; with
    /// several, which one is "the" identity would be a guess.
    #[error("peer certificate has more than one URI SAN")]
    SeveralUriSans,
    #[error("invalid TLS configuration: {0}")]
    Config(String),
    #[error("peer certificate URI SAN is not a valid identity: {0}")]
    Identity(#[from] mash_domain::DomainError),
}

/// Shows an error with all its causes. tonic's transport error displays only
/// "transport error", and the cause (refused, bad certificate, ...) is what
/// an operator needs at start-up. The tonic errors are therefore kept out of
/// `source()` so that reporters that walk the chain do not print it twice.
struct Chain<'a>(&'a tonic::transport::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}
