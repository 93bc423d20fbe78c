//! The broker's errors, and their one mapping to gRPC status codes.
//!
//! Every status carries a `google.rpc.ErrorInfo` whose `reason` a client can
//! branch on (e.g. `HOLD_ALREADY_DECIDED`), in the domain `broker.mash`; bad
//! input also carries a `google.rpc.BadRequest` naming the field at fault.

use mash_domain::DomainError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every broker error.
const DOMAIN: &str = "broker.mash";

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("{0}")]
    Invalid(#[from] DomainError),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{1}")]
    NotFound(Missing, String),
    /// The request is well formed but the thing it acts on is not in a state
    /// that allows it, e.g. a hold already decided.
    #[error("{1}")]
    FailedPrecondition(Conflict, String),
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

/// What a NOT_FOUND did not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Enquiry,
    Contact,
    Hold,
    PossibleMatch,
    Checkpoint,
    DisclosedContent,
    Message,
}

impl Missing {
    fn reason(self) -> &'static str {
        match self {
            Missing::Enquiry => "ENQUIRY_NOT_FOUND",
            Missing::Contact => "CONTACT_NOT_FOUND",
            Missing::Hold => "HOLD_NOT_FOUND",
            Missing::PossibleMatch => "POSSIBLE_MATCH_NOT_FOUND",
            Missing::Checkpoint => "CHECKPOINT_NOT_FOUND",
            Missing::DisclosedContent => "DISCLOSED_CONTENT_NOT_FOUND",
            Missing::Message => "MESSAGE_NOT_FOUND",
        }
    }
}

/// Why a well-formed request cannot be done in the state things are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    HoldAlreadyDecided,
    MatchAlreadyConfirmed,
    ContactAlreadyTriaged,
    ContactNotTriaged,
    ContactAlreadyHasEnquiry,
    EnquiryClosed,
    /// A level 1 enquiry shares with agencies only with the family's consent.
    ConsentRequired,
    /// Break-glass is for level 3 enquiries only.
    BreakGlassNotAllowed,
    /// The enquiry's workflow does not allow the move.
    IllegalTransition,
    /// Someone else moved the enquiry while this request was made.
    ConcurrentChange,
}

impl Conflict {
    fn reason(self) -> &'static str {
        match self {
            Conflict::HoldAlreadyDecided => "HOLD_ALREADY_DECIDED",
            Conflict::MatchAlreadyConfirmed => "MATCH_ALREADY_CONFIRMED",
            Conflict::ContactAlreadyTriaged => "CONTACT_ALREADY_TRIAGED",
            Conflict::ContactNotTriaged => "CONTACT_NOT_TRIAGED",
            Conflict::ContactAlreadyHasEnquiry => "CONTACT_ALREADY_HAS_ENQUIRY",
            Conflict::EnquiryClosed => "ENQUIRY_CLOSED",
            Conflict::ConsentRequired => "CONSENT_REQUIRED",
            Conflict::BreakGlassNotAllowed => "BREAK_GLASS_NOT_ALLOWED",
            Conflict::IllegalTransition => "ILLEGAL_TRANSITION",
            Conflict::ConcurrentChange => "CONCURRENT_CHANGE",
        }
    }
}

impl From<BrokerError> for Status {
    fn from(error: BrokerError) -> Self {
        let (code, reason, message) = match &error {
            BrokerError::Invalid(e) => {
                let mut details = ErrorDetails::with_bad_request_violation(e.field.clone(), e.problem.clone());
                details.set_error_info("INVALID_ARGUMENT", DOMAIN, std::collections::HashMap::new());
                return Status::with_error_details(Code::InvalidArgument, e.to_string(), details);
            }
            BrokerError::PermissionDenied(message) => (Code::PermissionDenied, "PERMISSION_DENIED", message.clone()),
            BrokerError::NotFound(missing, message) => (Code::NotFound, missing.reason(), message.clone()),
            BrokerError::FailedPrecondition(conflict, message) => {
                (Code::FailedPrecondition, conflict.reason(), message.clone())
            }
            BrokerError::LogUnavailable => (Code::Unavailable, "LOG_UNAVAILABLE", error.to_string()),
            // Details stay in the broker's own log, never in the caller's status.
            BrokerError::Storage(_) | BrokerError::Seal(_) | BrokerError::Internal(_) => {
                tracing::error!(error = %error, "broker request failed");
                (Code::Unavailable, "BROKER_UNAVAILABLE", "the broker could not complete the request; try again".into())
            }
        };
        Status::with_error_details(
            code,
            message,
            ErrorDetails::with_error_info(reason, DOMAIN, std::collections::HashMap::new()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_can_branch_on_the_reason_and_the_field() {
        let status = Status::from(BrokerError::FailedPrecondition(Conflict::HoldAlreadyDecided, "decided".into()));
        assert_eq!(status.code(), Code::FailedPrecondition);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!((info.reason.as_str(), info.domain.as_str()), ("HOLD_ALREADY_DECIDED", DOMAIN));

        let status =
            Status::from(BrokerError::from(DomainError::invalid("subjects[0].person.upn", "bad check letter")));
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad = status.get_details_bad_request().expect("bad request");
        assert_eq!(bad.field_violations[0].field, "subjects[0].person.upn");
        assert_eq!(bad.field_violations[0].description, "bad check letter");
    }

    #[test]
    fn internal_failures_say_nothing_of_their_cause() {
        let status = Status::from(BrokerError::Internal("row 7 of table holds is corrupt".into()));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("row 7"), "{}", status.message());
        assert_eq!(status.get_details_error_info().expect("error info").reason, "BROKER_UNAVAILABLE");
    }
}
