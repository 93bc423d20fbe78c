//! The one error type of the PKI crate.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused a key or certificate; `subject` says which one.
    #[error("could not generate the certificate for {subject}: {reason}")]
    Generate { subject: String, reason: rcgen::Error },
    #[error("could not write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: io::Error },
    /// A principal name is used as a file stem, so it must be a plain name.
    #[error("principal name {0:?} is not a plain file stem (use a-z, 0-9 and '-', and not \"ca\")")]
    InvalidName(String),
    #[error("no principal named {0:?} in this PKI")]
    UnknownPrincipal(String),
}
