//! The enquiry state machine:
//! open → checks-requested → information-gathered → decision-recorded → closed.
//!
//! Allowed besides the straight line, and why:
//! - **checks-requested → checks-requested** and **information-gathered →
//!   checks-requested**: more checks may be requested at any point before the
//!   decision (a new household member turns up, an answer raises a question).
//!   A decision on the fullest picture is safer for the child than one made
//!   because the workflow would not allow another look.
//!
//! Refused, and why:
//! - **closing without a recorded decision**: every contact must end with a
//!   decision and its reason; an enquiry cannot quietly disappear.
//! - **deciding before the information is gathered** (open → decision,
//!   checks-requested → decision): the MASH decides on the information picture.
//!   Contacts decided at screening never become enquiries.
//! - **anything after closed**, and **revising a recorded decision**: a
//!   new concern is a new contact (and is flagged as a re-referral).

use mash_domain::Identity;
use time::OffsetDateTime;

use crate::FrontDoorError;

code_enum!(
    /// Where an enquiry is in its workflow.
    EnquiryState {
        Open => "open", "Open",
        ChecksRequested => "checks-requested", "Checks requested",
        InformationGathered => "information-gathered", "Information gathered",
        DecisionRecorded => "decision-recorded", "Decision recorded",
        Closed => "closed", "Closed",
    }
);

impl EnquiryState {
    /// Every state an enquiry may move to from this one.
    pub fn next(self) -> &'static [Self] {
        use EnquiryState::*;
        match self {
            Open => &[ChecksRequested],
            ChecksRequested => &[ChecksRequested, InformationGathered],
            InformationGathered => &[ChecksRequested, DecisionRecorded],
            DecisionRecorded => &[Closed],
            Closed => &[],
        }
    }

    /// The allowed next states as text, for error messages.
    pub(crate) fn allowed_next(self) -> String {
        match self.next() {
            [] => "nothing (it is final)".to_owned(),
            next => next.iter().map(|state| state.as_str()).collect::<Vec<_>>().join(", "),
        }
    }

    /// Moves to `to` on behalf of `actor` at `at`, or says why not.
    pub fn transition(self, to: Self, actor: &Identity, at: OffsetDateTime) -> Result<Transition, FrontDoorError> {
        if self.next().contains(&to) {
            Ok(Transition { from: self, to, actor: actor.clone(), at })
        } else {
            Err(FrontDoorError::IllegalTransition { from: self, to })
        }
    }
}

/// One recorded move: the broker stores every one, in order, with the enquiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: EnquiryState,
    pub to: EnquiryState,
    /// The verified caller who made the move.
    pub actor: Identity,
    pub at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::EnquiryState::*;
    use super::*;

    const LEGAL: &[(EnquiryState, EnquiryState)] = &[
        (Open, ChecksRequested),
        (ChecksRequested, ChecksRequested),
        (ChecksRequested, InformationGathered),
        (InformationGathered, ChecksRequested),
        (InformationGathered, DecisionRecorded),
        (DecisionRecorded, Closed),
    ];

    /// Written out rather than derived from `LEGAL`, so that a change to the
    /// machine has to change both lists.
    const ILLEGAL: &[(EnquiryState, EnquiryState)] = &[
        (Open, Open),
        (Open, InformationGathered),
        (Open, DecisionRecorded),
        (Open, Closed),
        (ChecksRequested, Open),
        (ChecksRequested, DecisionRecorded),
        (ChecksRequested, Closed),
        (InformationGathered, Open),
        (InformationGathered, InformationGathered),
        (InformationGathered, Closed),
        (DecisionRecorded, Open),
        (DecisionRecorded, ChecksRequested),
        (DecisionRecorded, InformationGathered),
        (DecisionRecorded, DecisionRecorded),
        (Closed, Open),
        (Closed, ChecksRequested),
        (Closed, InformationGathered),
        (Closed, DecisionRecorded),
        (Closed, Closed),
    ];

    fn manager() -> Identity {
        Identity::parse("spiffe://mash.local/user/mia-manager").expect("a valid identity")
    }

    #[test]
    fn the_tables_cover_every_pair_once() {
        assert_eq!(LEGAL.len() + ILLEGAL.len(), EnquiryState::ALL.len().pow(2));
        for &from in EnquiryState::ALL {
            for &to in EnquiryState::ALL {
                let listed = LEGAL.contains(&(from, to)) as usize + ILLEGAL.contains(&(from, to)) as usize;
                assert_eq!(listed, 1, "{from} → {to}");
            }
        }
    }

    #[test]
    fn legal_moves_are_recorded_with_actor_and_time() {
        let at = datetime!(2025-05-01 10:00 UTC);
        for &(from, to) in LEGAL {
            let transition = from.transition(to, &manager(), at).expect("legal");
            assert_eq!(transition, Transition { from, to, actor: manager(), at });
        }
    }

    #[test]
    fn every_illegal_move_is_refused_with_from_and_to() {
        for &(from, to) in ILLEGAL {
            let error = from.transition(to, &manager(), datetime!(2025-05-01 10:00 UTC)).expect_err("refused");
            assert_eq!(error, FrontDoorError::IllegalTransition { from, to });
            assert!(error.to_string().contains(from.as_str()) && error.to_string().contains(to.as_str()), "{error}");
        }
    }

    #[test]
    fn the_message_says_what_is_allowed() {
        let error =
            InformationGathered.transition(Closed, &manager(), datetime!(2025-05-01 10:00 UTC)).expect_err("refused");
        assert_eq!(
            error.to_string(),
            "an enquiry cannot move from information-gathered to closed; \
             from information-gathered it may move to: checks-requested, decision-recorded"
        );
    }
}
