//! The enquiry workflow's moves, as the library allows them and the store
//! records them: shared by the front door's handlers and by a check.

use mash_domain::DomainError;
use mash_domain::Identity;
use mash_frontdoor::{EnquiryState, FrontDoorError, Outcome};
use time::OffsetDateTime;

use super::FrontDoorStore;
use crate::{
    BrokerError,
    enquiry::Enquiry,
    error::{Conflict, Missing},
};

/// The library's refusals as the broker's errors: an illegal move is a
/// request in the wrong state, an empty period a bad argument.
pub(crate) fn refused(error: FrontDoorError) -> BrokerError {
    match error {
        FrontDoorError::IllegalTransition { .. } => {
            BrokerError::FailedPrecondition(Conflict::IllegalTransition, error.to_string())
        }
        FrontDoorError::EmptyPeriod { .. } => DomainError::invalid("to", error.to_string()).into(),
        FrontDoorError::PeriodOutOfBounds { field, .. } => DomainError::invalid(field, error.to_string()).into(),
        FrontDoorError::Calendar { .. } | FrontDoorError::Mix(_) => BrokerError::Internal(error.to_string()),
    }
}

/// Called by `RequestChecks` once the caller is allowed to check: an open
/// enquiry moves to checks-requested (again, from checks-requested or
/// information-gathered); a decided or closed one is refused before any
/// agency is asked.
pub(crate) async fn record_checks_requested(
    store: &FrontDoorStore,
    enquiry: &Enquiry,
    caller: &Identity,
) -> Result<(), BrokerError> {
    // Asking again while checks are requested is not a change of state,
    // so it writes nothing; nor is losing a race to a concurrent check
    // that moved the enquiry the same way. The move is made from the
    // state first read, so a race never records a self-move.
    let id = enquiry.enquiry_id;
    let from =
        store.state(id).await?.ok_or_else(|| BrokerError::NotFound(Missing::Enquiry, format!("no enquiry {id}")))?;
    if from == EnquiryState::ChecksRequested {
        return Ok(());
    }
    match advance_from(store, enquiry, caller, from, EnquiryState::ChecksRequested, None).await {
        Err(BrokerError::FailedPrecondition(..)) if store.state(id).await? == Some(EnquiryState::ChecksRequested) => {
            Ok(())
        }
        other => other,
    }
}

/// Asks the library whether the enquiry may move to `to`, then stores the
/// move if nobody moved the enquiry meanwhile.
pub(crate) async fn advance(
    store: &FrontDoorStore,
    enquiry: &Enquiry,
    caller: &Identity,
    to: EnquiryState,
    decision: Option<(Outcome, &str)>,
) -> Result<(), BrokerError> {
    let id = enquiry.enquiry_id;
    let from =
        store.state(id).await?.ok_or_else(|| BrokerError::NotFound(Missing::Enquiry, format!("no enquiry {id}")))?;
    advance_from(store, enquiry, caller, from, to, decision).await
}

/// Stores the move from `from` to `to` if the enquiry is still in `from`.
async fn advance_from(
    store: &FrontDoorStore,
    enquiry: &Enquiry,
    caller: &Identity,
    from: EnquiryState,
    to: EnquiryState,
    decision: Option<(Outcome, &str)>,
) -> Result<(), BrokerError> {
    let id = enquiry.enquiry_id;
    let transition = from.transition(to, caller, OffsetDateTime::now_utc()).map_err(refused)?;
    if !store.apply(id, &transition, decision).await? {
        return Err(BrokerError::FailedPrecondition(
            Conflict::ConcurrentChange,
            format!("enquiry {id} changed state while this request was made; read it again and retry"),
        ));
    }
    tracing::info!(enquiry_id = %id, from = from.as_str(), to = to.as_str(), "enquiry moved");
    Ok(())
}
