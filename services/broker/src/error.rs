//! The broker's errors, and their one mapping to gRPC status codes.

use mash_domain::DomainError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("{0}")]
    Invalid(#[from] DomainError),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed but the thing it acts on is not in a state
    /// that allows it, e.g. a hold already decided.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Fail closed: nothing is disclosed that is not durably logged.
    #[error("the disclosure log cannot be written, so nothing was disclosed; try again later")]
    LogUnavailable,
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("sealed data: {0}")]
    Seal(#[from] mash_seal::SealError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<mash_disclosure_log::LogError> for BrokerError {
    fn from(error: mash_disclosure_log::LogError) -> Self {
        use mash_disclosure_log::LogError;
        match error {
            LogError::Unavailable => BrokerError::LogUnavailable,
            LogError::Invalid(e) => BrokerError::Invalid(e),
            LogError::Storage(e) => BrokerError::Storage(e),
            LogError::Seal(e) => BrokerError::Seal(e),
            LogError::Corrupt(message) => BrokerError::Internal(message),
        }
    }
}

impl From<BrokerError> for Status {
    fn from(error: BrokerError) -> Self {
        match error {
            BrokerError::Invalid(e) => Status::invalid_argument(e.to_string()),
            BrokerError::PermissionDenied(message) => Status::permission_denied(message),
            BrokerError::NotFound(message) => Status::not_found(message),
            BrokerError::FailedPrecondition(message) => Status::failed_precondition(message),
            BrokerError::LogUnavailable => Status::unavailable(error.to_string()),
            // Details stay in the broker's own log, never in the caller's status.
            BrokerError::Storage(_) | BrokerError::Seal(_) | BrokerError::Internal(_) => {
                tracing::error!(error = %error, "broker request failed");
                Status::unavailable("the broker could not complete the request; try again")
            }
        }
    }
}
