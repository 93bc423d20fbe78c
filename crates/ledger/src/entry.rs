//! The disclosure log's entry: its typed fields, the text each is stored and exported as, and
//! the hash that chains it to the entry before.
//!
//! The stored text of every field and the hash preimage are those the log has always written,
//! so a log written before the fields were typed verifies unchanged (see the golden test).

use std::borrow::Cow;

use mash_domain::{ConsentState, DomainError, LawfulBasis, Level, Purpose, Tier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash of the empty chain, before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Something was shown: an item, a notice of existence, a released hold.
    Disclosed,
    /// Nothing was shown: the policy, a gatekeeper or the access policy said no.
    Refused,
    /// An information product was sent to an agency.
    Shared,
    /// The log itself was read (a search, a content view, a purge, a review, an export).
    LogSearched,
    /// A researcher confirmed a possible match.
    MatchConfirmed,
    /// A family summary was compiled from earlier disclosures.
    SummaryCompiled,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Disclosed,
        Outcome::Refused,
        Outcome::Shared,
        Outcome::LogSearched,
        Outcome::MatchConfirmed,
        Outcome::SummaryCompiled,
    ];

    /// The stored (and hashed) text.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Disclosed => "disclosed",
            Outcome::Refused => "refused",
            Outcome::Shared => "shared",
            Outcome::LogSearched => "log-searched",
            Outcome::MatchConfirmed => "match-confirmed",
            Outcome::SummaryCompiled => "summary-compiled",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|o| o.as_str() == raw).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|o| o.as_str()).collect();
            DomainError::invalid(field, format!("unknown outcome {raw:?}; expected one of {}", known.join(", ")))
        })
    }
}

/// The role the requester acted in: the one role `policy/access_policy.csv` gives its identity.
/// Agency roles carry the agency's name, as the policy spells it (`police-system`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Researcher,
    Manager,
    IgOfficer,
    Broker,
    /// An agency's own system: `<agency>-system`.
    AgencySystem(String),
    /// An agency's gatekeeper: `<agency>-gatekeeper`.
    Gatekeeper(String),
}

impl Role {
    /// The stored (and hashed) text: the access policy's name for the role.
    pub fn as_str(&self) -> Cow<'_, str> {
        match self {
            Role::Researcher => "researcher".into(),
            Role::Manager => "manager".into(),
            Role::IgOfficer => "ig-officer".into(),
            Role::Broker => "broker".into(),
            Role::AgencySystem(agency) => format!("{agency}-system").into(),
            Role::Gatekeeper(agency) => format!("{agency}-gatekeeper").into(),
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let agency = |suffix: &str| raw.strip_suffix(suffix).filter(|a| is_agency_name(a)).map(str::to_owned);
        match raw {
            "researcher" => Ok(Role::Researcher),
            "manager" => Ok(Role::Manager),
            "ig-officer" => Ok(Role::IgOfficer),
            "broker" => Ok(Role::Broker),
            _ => agency("-system")
                .map(Role::AgencySystem)
                .or_else(|| agency("-gatekeeper").map(Role::Gatekeeper))
                .ok_or_else(|| DomainError::invalid(field, format!("unknown role {raw:?}"))),
        }
    }
}

fn is_agency_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Refuses text that would corrupt a log entry or the screens it is shown on: control
/// characters (PostgreSQL refuses U+0000 in `text`, so one would fail the whole commit it rode
/// in) and the bidirectional overrides that make a terminal show text other than it is.
pub fn plain_text(field: &str, value: &str) -> Result<(), DomainError> {
    let bidi = |c: char| matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    match value.chars().find(|&c| c.is_control() || bidi(c)) {
        Some(c) => {
            Err(DomainError::invalid(field, format!("must not contain control characters (found U+{:04X})", c as u32)))
        }
        None => Ok(()),
    }
}

/// What an entry records, typed. ARCHITECTURE.md ("The disclosure log") says what each field
/// means; [`crate::EntryBuilder`] is the one place that fills them in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// The identity (URI) that made the call.
    pub requester: String,
    /// The role the requester acted in; `None` for an identity the access policy does not know.
    pub role: Option<Role>,
    /// The enquiry the entry is about, as written (a search's filter may name any text).
    pub enquiry_id: String,
    pub level: Option<Level>,
    pub purpose: Option<Purpose>,
    pub lawful_basis: Option<LawfulBasis>,
    pub consent: Option<ConsentState>,
    /// The subject's pseudonymous id in the enquiry, never a name.
    pub subject_id: String,
    pub agency: String,
    /// The agency's own record id.
    pub record_ref: String,
    pub category: String,
    pub outcome: Outcome,
    pub tier: Tier,
    pub reason: String,
    pub policy_version: String,
    /// SHA-256 of exactly what was shown, hex; empty if nothing.
    pub content_digest: String,
    /// The keyed pseudonym of the person, the same across enquiries.
    pub person_ref: String,
    /// The organisation the requester acts for (`mash` or an agency).
    pub requester_agency: String,
    /// The enquiry's assigned researcher, for whom the requester acted.
    pub on_behalf_of: String,
    /// Who received what the entry shows.
    pub recipient: String,
}

/// An entry in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredEntry", into = "StoredEntry")]
pub struct Entry {
    pub seq: u64,
    pub recorded_at: String,
    pub fields: Fields,
    pub prev_hash: String,
    pub entry_hash: String,
}

/// An entry as it is stored and exported: every column as its text. The export's JSON object
/// for an entry is this struct.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEntry {
    pub seq: u64,
    pub recorded_at: String,
    pub requester: String,
    pub role: String,
    pub enquiry_id: String,
    pub level: String,
    pub purpose: String,
    pub lawful_basis: String,
    pub consent: String,
    pub subject_id: String,
    pub agency: String,
    pub record_ref: String,
    pub category: String,
    pub outcome: String,
    pub tier: String,
    pub reason: String,
    pub policy_version: String,
    pub content_digest: String,
    pub person_ref: String,
    pub requester_agency: String,
    pub on_behalf_of: String,
    pub recipient: String,
    pub prev_hash: String,
    pub entry_hash: String,
}

/// The stored columns, in the order `StoredEntry` and the table hold them.
pub const COLUMNS: [&str; 24] = [
    "seq",
    "recorded_at",
    "requester",
    "role",
    "enquiry_id",
    "level",
    "purpose",
    "lawful_basis",
    "consent",
    "subject_id",
    "agency",
    "record_ref",
    "category",
    "outcome",
    "tier",
    "reason",
    "policy_version",
    "content_digest",
    "person_ref",
    "requester_agency",
    "on_behalf_of",
    "recipient",
    "prev_hash",
    "entry_hash",
];

fn optional(text: Option<&str>) -> &str {
    text.unwrap_or_default()
}

fn parse_optional<T>(
    field: &str,
    raw: &str,
    parse: impl Fn(&str, &str) -> Result<T, DomainError>,
) -> Result<Option<T>, DomainError> {
    if raw.is_empty() { Ok(None) } else { parse(field, raw).map(Some) }
}

impl Entry {
    /// The hashed texts after the sequence number, in the order of the preimage.
    pub fn texts(&self) -> [Cow<'_, str>; 21] {
        let f = &self.fields;
        [
            Cow::Borrowed(self.recorded_at.as_str()),
            Cow::Borrowed(f.requester.as_str()),
            f.role.as_ref().map_or(Cow::Borrowed(""), Role::as_str),
            Cow::Borrowed(f.enquiry_id.as_str()),
            Cow::Borrowed(optional(f.level.map(Level::as_str))),
            Cow::Borrowed(optional(f.purpose.map(Purpose::as_str))),
            Cow::Borrowed(optional(f.lawful_basis.map(LawfulBasis::as_str))),
            Cow::Borrowed(optional(f.consent.map(ConsentState::as_str))),
            Cow::Borrowed(f.subject_id.as_str()),
            Cow::Borrowed(f.agency.as_str()),
            Cow::Borrowed(f.record_ref.as_str()),
            Cow::Borrowed(f.category.as_str()),
            Cow::Borrowed(f.outcome.as_str()),
            Cow::Borrowed(f.tier.as_str()),
            Cow::Borrowed(f.reason.as_str()),
            Cow::Borrowed(f.policy_version.as_str()),
            Cow::Borrowed(f.content_digest.as_str()),
            Cow::Borrowed(f.person_ref.as_str()),
            Cow::Borrowed(f.requester_agency.as_str()),
            Cow::Borrowed(f.on_behalf_of.as_str()),
            Cow::Borrowed(f.recipient.as_str()),
        ]
    }

    /// SHA-256 over the previous hash, the sequence number and every field,
    /// each length-prefixed so that no two entries encode alike.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(self.seq.to_be_bytes());
        for text in self.texts() {
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

impl From<Entry> for StoredEntry {
    fn from(e: Entry) -> Self {
        let [recorded_at, requester, role, enquiry_id, level, purpose, lawful_basis, consent, ..] =
            e.texts().map(Cow::into_owned);
        let f = e.fields;
        StoredEntry {
            seq: e.seq,
            recorded_at,
            requester,
            role,
            enquiry_id,
            level,
            purpose,
            lawful_basis,
            consent,
            subject_id: f.subject_id,
            agency: f.agency,
            record_ref: f.record_ref,
            category: f.category,
            outcome: f.outcome.as_str().into(),
            tier: f.tier.as_str().into(),
            reason: f.reason,
            policy_version: f.policy_version,
            content_digest: f.content_digest,
            person_ref: f.person_ref,
            requester_agency: f.requester_agency,
            on_behalf_of: f.on_behalf_of,
            recipient: f.recipient,
            prev_hash: e.prev_hash,
            entry_hash: e.entry_hash,
        }
    }
}

impl TryFrom<StoredEntry> for Entry {
    type Error = DomainError;

    /// Reads the typed fields back; an error names the column whose text is not one the log writes.
    fn try_from(s: StoredEntry) -> Result<Self, DomainError> {
        let role = parse_optional("role", &s.role, Role::parse)?;
        let fields = Fields {
            requester: s.requester,
            role,
            enquiry_id: s.enquiry_id,
            level: parse_optional("level", &s.level, Level::parse)?,
            purpose: parse_optional("purpose", &s.purpose, Purpose::parse)?,
            lawful_basis: parse_optional("lawful_basis", &s.lawful_basis, LawfulBasis::parse)?,
            consent: parse_optional("consent", &s.consent, ConsentState::parse)?,
            subject_id: s.subject_id,
            agency: s.agency,
            record_ref: s.record_ref,
            category: s.category,
            outcome: Outcome::parse("outcome", &s.outcome)?,
            tier: Tier::parse("tier", &s.tier)?,
            reason: s.reason,
            policy_version: s.policy_version,
            content_digest: s.content_digest,
            person_ref: s.person_ref,
            requester_agency: s.requester_agency,
            on_behalf_of: s.on_behalf_of,
            recipient: s.recipient,
        };
        Ok(Entry { seq: s.seq, recorded_at: s.recorded_at, fields, prev_hash: s.prev_hash, entry_hash: s.entry_hash })
    }
}
