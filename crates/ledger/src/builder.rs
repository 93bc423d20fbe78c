//! The one way entries are made, so that every field means the same whoever writes the entry.

use mash_domain::{ConsentState, DomainError, LawfulBasis, Level, Purpose, Tier};

use crate::entry::{Fields, Outcome, Role, plain_text};

/// Who made the call that the entry records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The identity's URI, from its verified certificate.
    pub identity: String,
    pub role: Option<Role>,
    /// The organisation the identity acts for: `mash` or an agency.
    pub organisation: String,
}

/// An enquiry as the log records it: its context, never its subjects' details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnquiryContext {
    pub enquiry_id: String,
    pub level: Level,
    pub purpose: Purpose,
    pub lawful_basis: LawfulBasis,
    pub consent: ConsentState,
    pub assigned_researcher: String,
}

/// Who received what an entry shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// The caller, in the answer to its call.
    Caller,
    /// The enquiry's assigned researcher, who reads it later (a gatekeeper's release, a break-glass).
    Researcher,
    /// An agency, through its queue.
    Agency(String),
}

/// Builds an entry's [`Fields`]: the caller first, then what the entry is about, then what was
/// decided. Text chosen by a caller or a feed goes through a setter that refuses control
/// characters and names the caller's field.
#[derive(Clone, Debug)]
pub struct EntryBuilder {
    fields: Fields,
    shown_to: Option<Recipient>,
}

impl EntryBuilder {
    pub fn new(caller: &Caller, policy_version: &str) -> Self {
        let fields = Fields {
            requester: caller.identity.clone(),
            role: caller.role.clone(),
            enquiry_id: String::new(),
            level: None,
            purpose: None,
            lawful_basis: None,
            consent: None,
            subject_id: String::new(),
            agency: String::new(),
            record_ref: String::new(),
            category: String::new(),
            outcome: Outcome::Refused,
            tier: Tier::None,
            reason: String::new(),
            policy_version: policy_version.to_owned(),
            content_digest: String::new(),
            person_ref: String::new(),
            requester_agency: caller.organisation.clone(),
            on_behalf_of: String::new(),
            recipient: String::new(),
        };
        Self { fields, shown_to: None }
    }

    /// The entry is about this enquiry, and the requester acted for its assigned researcher.
    pub fn enquiry(mut self, enquiry: &EnquiryContext) -> Self {
        let f = &mut self.fields;
        f.enquiry_id.clone_from(&enquiry.enquiry_id);
        f.level = Some(enquiry.level);
        f.purpose = Some(enquiry.purpose);
        f.lawful_basis = Some(enquiry.lawful_basis);
        f.consent = Some(enquiry.consent);
        f.on_behalf_of.clone_from(&enquiry.assigned_researcher);
        self
    }

    /// One subject of the enquiry: its per-enquiry id and cross-enquiry pseudonym.
    pub fn subject(mut self, subject_id: &str, person_ref: &str) -> Self {
        subject_id.clone_into(&mut self.fields.subject_id);
        person_ref.clone_into(&mut self.fields.person_ref);
        self
    }

    /// The agency the entry concerns.
    pub fn agency(mut self, agency: &str) -> Self {
        agency.clone_into(&mut self.fields.agency);
        self
    }

    /// One of the agency's records, as its feed named and classified it.
    pub fn record(mut self, record_ref: &str, category: &str) -> Result<Self, DomainError> {
        plain_text("record_id", record_ref)?;
        plain_text("category", category)?;
        record_ref.clone_into(&mut self.fields.record_ref);
        category.clone_into(&mut self.fields.category);
        Ok(self)
    }

    /// A search of the log: its filters, each `(field, value)`, become the reason; a person is
    /// recorded only by pseudonym.
    pub fn search(mut self, filters: &[(&str, Option<&str>)], person_ref: Option<&str>) -> Result<Self, DomainError> {
        let mut described = Vec::new();
        for (field, value) in filters {
            if let Some(value) = value {
                plain_text(field, value)?;
                described.push(format!("{field}={value}"));
            }
        }
        self.fields.reason = format!("disclosure log searched: {}", described.join(" "));
        self.fields.person_ref = person_ref.unwrap_or_default().to_owned();
        Ok(self)
    }

    /// What the entry shows (its SHA-256, hex) and who receives it.
    pub fn shown_to(mut self, recipient: Recipient, content_digest: String) -> Self {
        self.fields.content_digest = content_digest;
        self.shown_to = Some(recipient);
        self
    }

    /// The entry's enquiry, written as the caller gave it (a search's filter).
    pub fn enquiry_filter(mut self, enquiry_id: &str) -> Result<Self, DomainError> {
        plain_text("enquiry_id", enquiry_id)?;
        enquiry_id.clone_into(&mut self.fields.enquiry_id);
        Ok(self)
    }

    /// What was decided. A `reason` already set by [`Self::search`] is kept when `reason` is empty.
    pub fn build(mut self, outcome: Outcome, tier: Tier, reason: impl Into<String>) -> Fields {
        let reason = reason.into();
        if !reason.is_empty() {
            self.fields.reason = reason;
        }
        self.fields.outcome = outcome;
        self.fields.tier = tier;
        self.fields.recipient = match self.shown_to {
            None => String::new(),
            Some(Recipient::Caller) => self.fields.requester.clone(),
            Some(Recipient::Researcher) => self.fields.on_behalf_of.clone(),
            Some(Recipient::Agency(agency)) => format!("agency:{agency}"),
        };
        self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            identity: "spiffe://mash.local/user/rita".into(),
            role: Some(Role::Researcher),
            organisation: "mash".into(),
        }
    }

    #[test]
    fn feed_and_caller_text_with_control_characters_is_refused_naming_the_field() {
        let error = EntryBuilder::new(&caller(), "v").record("P-\u{0}1", "police/x").expect_err("NUL");
        assert_eq!(error.field, "record_id");
        let error = EntryBuilder::new(&caller(), "v").record("P-1", "police/\u{1b}[31m").expect_err("ESC");
        assert_eq!(error.field, "category");
        let error = EntryBuilder::new(&caller(), "v")
            .search(&[("enquiry_id", None), ("requester", Some("\u{0}"))], None)
            .expect_err("NUL");
        assert_eq!(error.field, "requester");
        let error = EntryBuilder::new(&caller(), "v").record("P-\u{202E}1", "police/x").expect_err("bidi");
        assert_eq!(error.field, "record_id");
        assert!(EntryBuilder::new(&caller(), "v").record("P-1 (é)", "police/x").is_ok());
    }

    #[test]
    fn the_recipient_is_whoever_the_entry_was_shown_to() {
        let enquiry = EnquiryContext {
            enquiry_id: "e".into(),
            level: Level::ChildProtection,
            purpose: Purpose::FrontDoorDecision,
            lawful_basis: LawfulBasis::Section47,
            consent: ConsentState::NotSought,
            assigned_researcher: "spiffe://mash.local/user/robin".into(),
        };
        let base = EntryBuilder::new(&caller(), "v").enquiry(&enquiry);
        let to =
            |r: Recipient| base.clone().shown_to(r, "d".into()).build(Outcome::Disclosed, Tier::Detail, "r").recipient;
        assert_eq!(to(Recipient::Caller), "spiffe://mash.local/user/rita");
        assert_eq!(to(Recipient::Researcher), "spiffe://mash.local/user/robin");
        assert_eq!(to(Recipient::Agency("police".into())), "agency:police");
        assert_eq!(base.build(Outcome::Refused, Tier::None, "no").recipient, "");
    }
}
