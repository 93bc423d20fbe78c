//! What an agency record becomes inside a feed: a classified item.

use mash_domain::{Agency, Category, DomainError, ItemKind, Person, Sensitivity, text};
use mash_proto::v1::push_record::Body;
use serde::{Deserialize, Serialize};
use time::Date;

/// One named value of an item. Restricted fields never leave the broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemField {
    pub name: String,
    pub value: String,
    pub restricted: bool,
}

impl ItemField {
    pub fn open(name: &str, value: impl Into<String>) -> Self {
        Self { name: name.to_owned(), value: value.into(), restricted: false }
    }

    pub fn restricted(name: &str, value: impl Into<String>) -> Self {
        Self { name: name.to_owned(), value: value.into(), restricted: true }
    }
}

/// An agency record classified by its adapter: category, date, fields, and
/// its sensitivity: the category's least, or higher where the agency marks
/// the record so (e.g. intelligence that may be shared only on conditions).
#[derive(Clone, Debug)]
pub struct ItemContent {
    pub category: Category,
    pub sensitivity: Sensitivity,
    pub date: Date,
    pub fields: Vec<ItemField>,
}

impl ItemContent {
    /// An item at its category's own sensitivity.
    pub fn new(category: Category, date: Date, fields: Vec<ItemField>) -> Self {
        Self { category, sensitivity: category.sensitivity(), date, fields }
    }

    /// The same item, marked at least `sensitivity`.
    pub fn marked(self, sensitivity: Sensitivity) -> Self {
        Self { sensitivity: self.sensitivity.max(sensitivity), ..self }
    }
}

/// Turns one agency's typed records into items. This is all an agency adds
/// to the shared feed: a new agency is an adapter and a proto message.
pub trait RecordAdapter: std::fmt::Debug + Send + Sync + 'static {
    fn agency(&self) -> Agency;

    /// Classifies a record body, or names the field that is wrong. Bodies of
    /// other agencies are errors.
    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError>;
}

/// A record ready to store: validated subject and classified contents.
#[derive(Clone, Debug)]
pub(crate) struct NewRecord {
    pub record_id: String,
    pub version: u64,
    pub subject: Person,
    pub content: ItemContent,
}

impl NewRecord {
    /// Refuses control characters in what the feed stores and the broker
    /// logs and shows, naming the field: the record id, the item's fields and
    /// the subject's names and postcode.
    pub(crate) fn check_text(&self) -> Result<(), DomainError> {
        text::check_plain("record_id", &self.record_id)?;
        for field in &self.content.fields {
            text::check_plain("body", &field.name)?;
            text::check_text(&format!("body.{}", field.name), &field.value)?;
        }
        let subject = &self.subject;
        let names = [
            ("given_name", &subject.given_name),
            ("family_name", &subject.family_name),
            ("postcode", &subject.postcode),
        ];
        for (field, value) in names {
            text::check_plain(&format!("subject.{field}"), value.as_deref().unwrap_or_default())?;
        }
        for name in &subject.previous_family_names {
            text::check_plain("subject.previous_family_names", name)?;
        }
        Ok(())
    }
}

/// An item as found by a search, decrypted.
#[derive(Clone, Debug)]
pub(crate) struct FoundItem {
    pub record_id: String,
    pub version: u64,
    pub kind: ItemKind,
    pub category: Category,
    pub sensitivity: Sensitivity,
    pub date: Date,
    pub fields: Vec<ItemField>,
}

/// Names the body variant, for messages about records sent to the wrong feed.
pub(crate) fn body_name(body: &Body) -> &'static str {
    match body {
        Body::PoliceIncident(_) => "police_incident",
        Body::HealthContact(_) => "health_contact",
        Body::Education(_) => "education",
        Body::SocialCare(_) => "social_care",
        Body::PoliceIntelligence(_) => "police_intelligence",
        Body::PoliceMarker(_) => "police_marker",
        Body::Record(_) => "record",
    }
}

/// The error an adapter returns for another agency's record body.
pub fn wrong_body(agency: Agency, body: &Body, accepted: &str) -> DomainError {
    DomainError::invalid("body", format!("the {agency} feed accepts {accepted} records, not {}", body_name(body)))
}

/// Parses the date an item refers to: a calendar date, not in the future.
pub fn item_date(field: &str, raw: &str) -> Result<Date, DomainError> {
    let date = mash_domain::parse_date(field, raw)?;
    if date > mash_domain::today() {
        return Err(DomainError::invalid(field, "is in the future"));
    }
    Ok(date)
}

/// A required free-text field, trimmed.
pub fn required<'a>(field: &str, raw: &'a str) -> Result<&'a str, DomainError> {
    let text = raw.trim();
    if text.is_empty() { Err(DomainError::invalid(field, "is empty")) } else { Ok(text) }
}
