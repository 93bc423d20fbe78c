//! Front-door wire enums to the library's codes and back, in one place.

use mash_domain::{DomainError, Level};
use mash_frontdoor::{ConcernCategory, EnquiryState, Outcome, Rag, ReferrerKind};
use mash_proto::v1 as pb;

pub(crate) fn referrer_kind(field: &str, raw: i32) -> Result<Option<ReferrerKind>, DomainError> {
    Ok(match pb::ReferrerKind::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown referrer kind"))? {
        pb::ReferrerKind::Unspecified => None,
        pb::ReferrerKind::Professional => Some(ReferrerKind::Professional),
        pb::ReferrerKind::AgencySystem => Some(ReferrerKind::AgencySystem),
        pb::ReferrerKind::MemberOfPublic => Some(ReferrerKind::MemberOfPublic),
    })
}

pub(crate) fn referrer_kind_to_wire(kind: ReferrerKind) -> pb::ReferrerKind {
    match kind {
        ReferrerKind::Professional => pb::ReferrerKind::Professional,
        ReferrerKind::AgencySystem => pb::ReferrerKind::AgencySystem,
        ReferrerKind::MemberOfPublic => pb::ReferrerKind::MemberOfPublic,
    }
}

/// One wire concern; unspecified is refused, not ignored.
pub(crate) fn concern(field: &str, raw: i32) -> Result<ConcernCategory, DomainError> {
    use pb::ConcernCategory as W;
    Ok(match W::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown concern category"))? {
        W::Unspecified => return Err(DomainError::invalid(field, "is unspecified")),
        W::DomesticAbuse => ConcernCategory::DomesticAbuse,
        W::Neglect => ConcernCategory::Neglect,
        W::Missing => ConcernCategory::Missing,
        W::Exploitation => ConcernCategory::Exploitation,
        W::PhysicalAbuse => ConcernCategory::PhysicalAbuse,
        W::SexualAbuse => ConcernCategory::SexualAbuse,
        W::EmotionalAbuse => ConcernCategory::EmotionalAbuse,
        W::MentalHealth => ConcernCategory::MentalHealth,
        W::SubstanceMisuse => ConcernCategory::SubstanceMisuse,
        W::Other => ConcernCategory::Other,
    })
}

pub(crate) fn concern_to_wire(concern: ConcernCategory) -> pb::ConcernCategory {
    use pb::ConcernCategory as W;
    match concern {
        ConcernCategory::DomesticAbuse => W::DomesticAbuse,
        ConcernCategory::Neglect => W::Neglect,
        ConcernCategory::Missing => W::Missing,
        ConcernCategory::Exploitation => W::Exploitation,
        ConcernCategory::PhysicalAbuse => W::PhysicalAbuse,
        ConcernCategory::SexualAbuse => W::SexualAbuse,
        ConcernCategory::EmotionalAbuse => W::EmotionalAbuse,
        ConcernCategory::MentalHealth => W::MentalHealth,
        ConcernCategory::SubstanceMisuse => W::SubstanceMisuse,
        ConcernCategory::Other => W::Other,
    }
}

pub(crate) fn rag_to_wire(level: Level) -> pb::Rag {
    match Rag::from(level) {
        Rag::Green => pb::Rag::Green,
        Rag::Amber => pb::Rag::Amber,
        Rag::Red => pb::Rag::Red,
    }
}

pub(crate) fn state(field: &str, raw: i32) -> Result<Option<EnquiryState>, DomainError> {
    use pb::EnquiryState as W;
    Ok(match W::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown enquiry state"))? {
        W::Unspecified => None,
        W::Open => Some(EnquiryState::Open),
        W::ChecksRequested => Some(EnquiryState::ChecksRequested),
        W::InformationGathered => Some(EnquiryState::InformationGathered),
        W::DecisionRecorded => Some(EnquiryState::DecisionRecorded),
        W::Closed => Some(EnquiryState::Closed),
    })
}

pub(crate) fn state_to_wire(state: EnquiryState) -> pb::EnquiryState {
    use pb::EnquiryState as W;
    match state {
        EnquiryState::Open => W::Open,
        EnquiryState::ChecksRequested => W::ChecksRequested,
        EnquiryState::InformationGathered => W::InformationGathered,
        EnquiryState::DecisionRecorded => W::DecisionRecorded,
        EnquiryState::Closed => W::Closed,
    }
}

pub(crate) fn outcome(field: &str, raw: i32) -> Result<Option<Outcome>, DomainError> {
    use pb::DecisionOutcome as W;
    Ok(match W::try_from(raw).map_err(|_| DomainError::invalid(field, "unknown outcome"))? {
        W::Unspecified => None,
        W::NoFurtherAction => Some(Outcome::NoFurtherAction),
        W::AdviceAndSignposting => Some(Outcome::AdviceAndSignposting),
        W::EarlyHelp => Some(Outcome::EarlyHelp),
        W::Section17Assessment => Some(Outcome::Section17),
        W::Section47StrategyDiscussion => Some(Outcome::Section47),
        W::ReferralToAnotherService => Some(Outcome::ReferralOther),
    })
}

pub(crate) fn outcome_to_wire(outcome: Outcome) -> pb::DecisionOutcome {
    use pb::DecisionOutcome as W;
    match outcome {
        Outcome::NoFurtherAction => W::NoFurtherAction,
        Outcome::AdviceAndSignposting => W::AdviceAndSignposting,
        Outcome::EarlyHelp => W::EarlyHelp,
        Outcome::Section17 => W::Section17Assessment,
        Outcome::Section47 => W::Section47StrategyDiscussion,
        Outcome::ReferralOther => W::ReferralToAnotherService,
    }
}
