//! A contact: who referred, about which child and household, worried about what.

use mash_domain::{Agency, DomainError, EnquiryId, Level, Person, PersonInput, Relation, SubjectId};
use mash_frontdoor::{ConcernCategory, ContactId, EnquiryState, Outcome, ReferrerKind};
use time::{Duration, OffsetDateTime};

use crate::enquiry::Subject;

const MAX_SUBJECTS: usize = 20;
const MAX_REFERRER_CHARS: usize = 200;
pub(crate) const MAX_REASON_CHARS: usize = 1000;
/// A contact written up a little after it arrived is normal; one "received"
/// in the future is a clock or typing error.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// The text of a contact as it arrives, before parsing.
pub(crate) struct ContactInput<'a> {
    pub referrer_kind: Option<ReferrerKind>,
    pub referrer: &'a str,
    pub concerns: Vec<ConcernCategory>,
    pub subjects: Vec<(Option<Relation>, Option<PersonInput<'a>>)>,
    pub received_at: &'a str,
    /// Set by an agency system recording its own contact, from its
    /// certificate; otherwise what the request says.
    pub referrer_agency: Option<Agency>,
}

/// A valid contact, not yet stored.
pub(crate) struct NewContact {
    pub received_at: OffsetDateTime,
    pub referrer_kind: ReferrerKind,
    pub referrer: String,
    pub concerns: Vec<ConcernCategory>,
    pub subjects: Vec<Subject>,
    pub referrer_agency: Option<Agency>,
}

impl NewContact {
    pub(crate) fn parse(input: ContactInput<'_>, now: OffsetDateTime) -> Result<Self, DomainError> {
        let referrer_kind = input.referrer_kind.ok_or_else(|| {
            DomainError::invalid("referrer_kind", "is required: professional, agency system or public")
        })?;
        let referrer = input.referrer.trim();
        // A member of the public may stay anonymous; a professional or an
        // agency must say who they are, so that the outcome can go back to them.
        if referrer.is_empty() && referrer_kind != ReferrerKind::MemberOfPublic {
            return Err(DomainError::invalid("referrer", "is required for a professional or an agency system"));
        }
        if referrer.chars().count() > MAX_REFERRER_CHARS {
            return Err(DomainError::invalid("referrer", format!("is longer than {MAX_REFERRER_CHARS} characters")));
        }
        let mut concerns = input.concerns;
        concerns.sort_unstable();
        concerns.dedup();
        if concerns.is_empty() {
            return Err(DomainError::invalid("concerns", "name at least one concern category"));
        }
        let received_at = match input.received_at.trim() {
            "" => now,
            raw => {
                let at = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| DomainError::invalid("received_at", "must be an RFC 3339 timestamp"))?;
                if at > now + CLOCK_SKEW {
                    return Err(DomainError::invalid("received_at", "is in the future"));
                }
                at
            }
        };
        Ok(Self {
            received_at: received_at.to_offset(time::UtcOffset::UTC),
            referrer_kind,
            referrer: referrer.to_owned(),
            concerns,
            subjects: subjects(input.subjects)?,
            referrer_agency: input.referrer_agency,
        })
    }

    /// The child the contact is about (parsing made sure there is one).
    pub(crate) fn child(&self) -> Option<&Person> {
        self.subjects.iter().find(|s| s.relation == Relation::Child).map(|s| &s.person)
    }
}

/// The subjects, with exactly one child, as for an enquiry.
fn subjects(raw: Vec<(Option<Relation>, Option<PersonInput<'_>>)>) -> Result<Vec<Subject>, DomainError> {
    if raw.is_empty() || raw.len() > MAX_SUBJECTS {
        return Err(DomainError::invalid("subjects", format!("must hold 1 to {MAX_SUBJECTS} subjects")));
    }
    let today = mash_domain::today();
    let mut subjects = Vec::with_capacity(raw.len());
    for (i, (relation, person)) in raw.into_iter().enumerate() {
        let field = format!("subjects[{i}]");
        let relation = relation.ok_or_else(|| DomainError::invalid(format!("{field}.relation"), "is required"))?;
        let person = person.ok_or_else(|| DomainError::invalid(format!("{field}.person"), "is missing"))?;
        let person = Person::parse(&format!("{field}.person"), person, today)?;
        subjects.push(Subject { subject_id: SubjectId::new(), relation, person });
    }
    if subjects.iter().filter(|s| s.relation == Relation::Child).count() != 1 {
        return Err(DomainError::invalid("subjects", "must include exactly one subject whose relation is child"));
    }
    Ok(subjects)
}

/// The triage of a contact: its level, why, and the deadline it set.
pub(crate) struct Triage {
    pub level: Level,
    pub reason: String,
    pub by: String,
    pub at: OffsetDateTime,
    pub deadline: OffsetDateTime,
}

/// A contact as stored, with where its enquiry stands.
pub(crate) struct Contact {
    pub id: ContactId,
    pub received_at: OffsetDateTime,
    pub recorded_by: String,
    pub referrer_kind: ReferrerKind,
    pub referrer: String,
    pub concerns: Vec<ConcernCategory>,
    pub subjects: Vec<Subject>,
    pub re_referral_of: Option<ContactId>,
    pub triage: Option<Triage>,
    pub enquiry_id: Option<EnquiryId>,
    pub state: Option<EnquiryState>,
    pub outcome: Option<Outcome>,
    pub decided_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub referrer_agency: Option<Agency>,
}

/// A decision's or triage's reason: required, bounded, trimmed.
pub(crate) fn reason(raw: &str) -> Result<&str, DomainError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DomainError::invalid("reason", "is required: say why, for the record"));
    }
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(DomainError::invalid("reason", format!("is longer than {MAX_REASON_CHARS} characters")));
    }
    Ok(text)
}
