//! The health feed: contacts with GPs, health visitors, A&E, maternity and others.

use mash_domain::{Agency, Category, DomainError};
use mash_feed::{ItemContent, ItemField, RecordAdapter, item_date, required, wrong_body};
use mash_proto::v1::{HealthContact, push_record::Body};

#[derive(Debug)]
pub struct Adapter;

impl RecordAdapter for Adapter {
    fn agency(&self) -> Agency {
        Agency::HEALTH
    }

    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError> {
        match body {
            Body::HealthContact(contact) => contact_item(contact),
            other => Err(wrong_body(Agency::HEALTH, other, "health_contact")),
        }
    }
}

fn contact_item(c: &HealthContact) -> Result<ItemContent, DomainError> {
    Ok(ItemContent::new(
        Category::parse_for("health_contact.category", &c.category, Agency::HEALTH)?,
        item_date("health_contact.contact_date", &c.contact_date)?,
        vec![
            ItemField::open("setting", required("health_contact.setting", &c.setting)?),
            ItemField::open("reason", c.reason.trim()),
            // Clinical notes stay with health: the MASH health desk shares them by hand.
            ItemField::restricted("clinical_notes", c.clinical_notes.trim()),
        ],
    ))
}
