//! The feed's errors, and their one mapping to gRPC status codes.

use mash_domain::DomainError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    Invalid(#[from] DomainError),
    #[error("{identity} may not {action} on the {agency} feed")]
    PermissionDenied { identity: String, action: &'static str, agency: &'static str },
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("sealed content: {0}")]
    Seal(#[from] mash_seal::SealError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<FeedError> for Status {
    fn from(error: FeedError) -> Self {
        match error {
            FeedError::Invalid(e) => Status::invalid_argument(e.to_string()),
            FeedError::PermissionDenied { .. } => Status::permission_denied(error.to_string()),
            // The detail stays in the service's own log; the caller learns only
            // that the feed could not answer, never database or key internals.
            FeedError::Storage(_) | FeedError::Seal(_) | FeedError::Internal(_) => {
                tracing::error!(error = %error, "feed request failed");
                Status::unavailable("the feed could not complete the request; try again")
            }
        }
    }
}
