//! The one error type of the front-door rules.

use time::Date;

use crate::EnquiryState;

/// What the rules refuse. The broker maps `IllegalTransition` to
/// `FAILED_PRECONDITION` (the request is well formed, the enquiry is in the
/// wrong state), `EmptyPeriod` and `PeriodOutOfBounds` to `INVALID_ARGUMENT`
/// naming the field, and fails start-up on
/// `Calendar`. Malformed codes are `mash_domain::DomainError`, as everywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontDoorError {
    #[error("an enquiry cannot move from {from} to {to}; from {from} it may move to: {allowed}", allowed = .from.allowed_next())]
    IllegalTransition { from: EnquiryState, to: EnquiryState },
    #[error("bank holiday list, line {line}: {problem}")]
    Calendar { line: usize, problem: String },
    #[error("report period: the last day {last} is before the first {first}")]
    EmptyPeriod { first: Date, last: Date },
    /// A period the report cannot or will not compute: longer than
    /// [`crate::MAX_PERIOD_DAYS`], or with a day at the edge of the calendar.
    /// `field` is the request field to blame (`from` or `to`).
    #[error("report period: {problem}")]
    PeriodOutOfBounds { field: &'static str, problem: String },
    #[error("generator mix: {0}")]
    Mix(&'static str),
}
