//! Conversions between wire messages and domain values (enums, people), in one place.

use mash_disclosure_log::Outcome;
use mash_domain::{ConsentState, DomainError, Level, Relation, Sensitivity, Tier};
use mash_proto::v1 as pb;

pub(crate) fn level(field: &str, raw: i32) -> Result<Option<Level>, DomainError> {
    Ok(match pb::Level::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown level"))? {
        pb::Level::Unspecified => None,
        pb::Level::Level1EarlyHelp => Some(Level::EarlyHelp),
        pb::Level::Level2ChildInNeed => Some(Level::ChildInNeed),
        pb::Level::Level3ChildProtection => Some(Level::ChildProtection),
    })
}

pub(crate) fn level_to_wire(level: Level) -> pb::Level {
    match level {
        Level::EarlyHelp => pb::Level::Level1EarlyHelp,
        Level::ChildInNeed => pb::Level::Level2ChildInNeed,
        Level::ChildProtection => pb::Level::Level3ChildProtection,
    }
}

pub(crate) fn consent(field: &str, raw: i32) -> Result<Option<ConsentState>, DomainError> {
    Ok(match pb::ConsentState::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown consent state"))? {
        pb::ConsentState::Unspecified => None,
        pb::ConsentState::Given => Some(ConsentState::Given),
        pb::ConsentState::Refused => Some(ConsentState::Refused),
        pb::ConsentState::NotSought => Some(ConsentState::NotSought),
    })
}

pub(crate) fn consent_to_wire(consent: ConsentState) -> pb::ConsentState {
    match consent {
        ConsentState::Given => pb::ConsentState::Given,
        ConsentState::Refused => pb::ConsentState::Refused,
        ConsentState::NotSought => pb::ConsentState::NotSought,
    }
}

pub(crate) fn relation(field: &str, raw: i32) -> Result<Option<Relation>, DomainError> {
    Ok(match pb::Relation::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown relation"))? {
        pb::Relation::Unspecified => None,
        pb::Relation::Child => Some(Relation::Child),
        pb::Relation::Sibling => Some(Relation::Sibling),
        pb::Relation::ParentOrCarer => Some(Relation::ParentOrCarer),
        pb::Relation::OtherAdult => Some(Relation::OtherAdult),
    })
}

pub(crate) fn relation_to_wire(relation: Relation) -> pb::Relation {
    match relation {
        Relation::Child => pb::Relation::Child,
        Relation::Sibling => pb::Relation::Sibling,
        Relation::ParentOrCarer => pb::Relation::ParentOrCarer,
        Relation::OtherAdult => pb::Relation::OtherAdult,
    }
}

pub(crate) fn tier_to_wire(tier: Tier) -> pb::Tier {
    match tier {
        Tier::None => pb::Tier::None,
        Tier::Existence => pb::Tier::Existence,
        Tier::Summary => pb::Tier::Summary,
        Tier::Detail => pb::Tier::Detail,
    }
}

/// A log outcome filter; `None` for unspecified.
pub(crate) fn outcome(field: &str, raw: i32) -> Result<Option<Outcome>, DomainError> {
    Ok(match pb::Outcome::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown outcome"))? {
        pb::Outcome::Unspecified => None,
        pb::Outcome::Disclosed => Some(Outcome::Disclosed),
        pb::Outcome::Refused => Some(Outcome::Refused),
        pb::Outcome::LogSearched => Some(Outcome::LogSearched),
        pb::Outcome::MatchConfirmed => Some(Outcome::MatchConfirmed),
        pb::Outcome::SummaryCompiled => Some(Outcome::SummaryCompiled),
        pb::Outcome::Shared => Some(Outcome::Shared),
    })
}

pub(crate) fn outcome_to_wire(outcome: Outcome) -> pb::Outcome {
    match outcome {
        Outcome::Disclosed => pb::Outcome::Disclosed,
        Outcome::Refused => pb::Outcome::Refused,
        Outcome::LogSearched => pb::Outcome::LogSearched,
        Outcome::MatchConfirmed => pb::Outcome::MatchConfirmed,
        Outcome::SummaryCompiled => pb::Outcome::SummaryCompiled,
        Outcome::Shared => pb::Outcome::Shared,
    }
}

/// An item's sensitivity as its feed marked it; `None` if unmarked.
pub(crate) fn sensitivity(raw: i32) -> Option<Sensitivity> {
    match pb::Sensitivity::try_from(raw).ok()? {
        pb::Sensitivity::Unspecified => None,
        pb::Sensitivity::Standard => Some(Sensitivity::Standard),
        pb::Sensitivity::Sensitive => Some(Sensitivity::Sensitive),
        pb::Sensitivity::Restricted => Some(Sensitivity::Restricted),
    }
}

pub(crate) fn hold_state(field: &str, raw: i32) -> Result<Option<crate::hold::HoldState>, DomainError> {
    use crate::hold::HoldState;
    Ok(match pb::HoldState::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown hold state"))? {
        pb::HoldState::Unspecified => None,
        pb::HoldState::Held => Some(HoldState::Held),
        pb::HoldState::Released => Some(HoldState::Released),
        pb::HoldState::Withheld => Some(HoldState::Withheld),
    })
}

pub(crate) fn hold_state_to_wire(state: crate::hold::HoldState) -> pb::HoldState {
    use crate::hold::HoldState;
    match state {
        HoldState::Held => pb::HoldState::Held,
        HoldState::Released => pb::HoldState::Released,
        HoldState::Withheld => pb::HoldState::Withheld,
    }
}

/// The wire person as the domain parses it.
pub(crate) fn person_input(p: &pb::Person) -> mash_domain::PersonInput<'_> {
    mash_domain::PersonInput {
        given_name: &p.given_name,
        family_name: &p.family_name,
        date_of_birth: &p.date_of_birth,
        nhs_number: &p.nhs_number,
        upn: &p.upn,
        postcode: &p.postcode,
        sex: &p.sex,
        previous_family_names: &p.previous_family_names,
    }
}

pub(crate) fn person_to_wire(p: &mash_domain::Person) -> pb::Person {
    pb::Person {
        given_name: p.given_name.clone().unwrap_or_default(),
        family_name: p.family_name.clone().unwrap_or_default(),
        date_of_birth: p.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
        nhs_number: p.nhs_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
        upn: p.upn.as_ref().map(|u| u.as_str().to_owned()).unwrap_or_default(),
        postcode: p.postcode.clone().unwrap_or_default(),
        sex: p.sex.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        previous_family_names: p.previous_family_names.clone(),
    }
}

pub(crate) fn enquiry_to_wire(e: &crate::enquiry::Enquiry) -> pb::Enquiry {
    pb::Enquiry {
        enquiry_id: e.enquiry_id.to_string(),
        level: level_to_wire(e.level).into(),
        purpose: e.purpose.as_str().into(),
        lawful_basis: e.lawful_basis.as_str().into(),
        consent: consent_to_wire(e.consent).into(),
        assigned_researcher: e.assigned_researcher.to_string(),
        opened_by: e.opened_by.to_string(),
        opened_at: e.opened_at.clone(),
        subjects: e
            .subjects
            .iter()
            .map(|s| pb::EnquirySubject {
                subject_id: s.subject_id.to_string(),
                relation: relation_to_wire(s.relation).into(),
                person: Some(person_to_wire(&s.person)),
            })
            .collect(),
    }
}
