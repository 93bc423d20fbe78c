//! The social-care feed: involvements such as child in need, child protection
//! plans and looked-after episodes.

use mash_domain::{Agency, Category, DomainError};
use mash_feed::{ItemContent, ItemField, RecordAdapter, item_date, wrong_body};
use mash_proto::v1::{SocialCareInvolvement, push_record::Body};

pub struct Adapter;

impl RecordAdapter for Adapter {
    fn agency(&self) -> Agency {
        Agency::SocialCare
    }

    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError> {
        match body {
            Body::SocialCare(involvement) => involvement_item(involvement),
            other => Err(wrong_body(Agency::SocialCare, other, "social_care")),
        }
    }
}

fn involvement_item(s: &SocialCareInvolvement) -> Result<ItemContent, DomainError> {
    let start = item_date("social_care.start_date", &s.start_date)?;
    let end = match s.end_date.trim() {
        "" => None,
        raw => Some(item_date("social_care.end_date", raw)?),
    };
    if end.is_some_and(|end| end < start) {
        return Err(DomainError::invalid("social_care.end_date", "is before the start date"));
    }
    Ok(ItemContent {
        category: Category::parse_for("social_care.category", &s.category, Agency::SocialCare)?,
        date: start,
        fields: vec![
            ItemField::open("end_date", end.map(|d| d.to_string()).unwrap_or_else(|| "open".into())),
            ItemField::open("team", s.team.trim()),
            ItemField::open("summary", s.summary.trim()),
            ItemField::restricted("social_worker", s.social_worker.trim()),
        ],
    })
}
