//! The one error type of the front-door rules.

use time::Date;

use crate::EnquiryState;

/// What the rules refuse. The broker maps `IllegalTransition` to
/// `FAILED_PRECONDITION` (the request is well formed, the enquiry is in the
/// wrong state), `EmptyPeriod` to `INVALID_ARGUMENT`, and fails start-up on
/// `Calendar`. Malformed codes are `mash_domain::DomainError`, as everywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontDoorError {
    #[error("an enquiry cannot move from {from} to {to}; from {from} it may move to: {allowed}", allowed = .from.allowed_next())]
    IllegalTransition { from: EnquiryState, to: EnquiryState },
    #[error("bank holiday list, line {line}: {problem}")]
    Calendar { line: usize, problem: String },
    #[error("report period: the last day {last} is before the first {first}")]
    EmptyPeriod { first: Date, last: Date },
    #[error("generator mix: {0}")]
    Mix(&'static str),
}
