//! The education feed: school attendance and exclusions.

use mash_domain::{Agency, Category, DomainError};
use mash_feed::{ItemContent, ItemField, RecordAdapter, item_date, required, wrong_body};
use mash_proto::v1::{SchoolAttendance, SchoolExclusion, education_record::Record, push_record::Body};

pub struct Adapter;

impl RecordAdapter for Adapter {
    fn agency(&self) -> Agency {
        Agency::Education
    }

    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError> {
        match body {
            Body::Education(record) => match &record.record {
                Some(Record::Attendance(a)) => attendance_item(a),
                Some(Record::Exclusion(e)) => exclusion_item(e),
                None => Err(DomainError::invalid("education.record", "is missing: give attendance or exclusion")),
            },
            other => Err(wrong_body(Agency::Education, other, "education")),
        }
    }
}

fn category(name: &str) -> Result<Category, DomainError> {
    Category::parse_for("education.category", name, Agency::Education)
}

fn attendance_item(a: &SchoolAttendance) -> Result<ItemContent, DomainError> {
    if !(0.0..=100.0).contains(&a.attendance_percent) {
        return Err(DomainError::invalid("attendance.attendance_percent", "must be between 0 and 100"));
    }
    Ok(ItemContent {
        category: category("education/attendance")?,
        date: item_date("attendance.as_of", &a.as_of)?,
        fields: vec![
            ItemField::open("school", required("attendance.school", &a.school)?),
            ItemField::open("attendance_percent", format!("{:.1}", a.attendance_percent)),
        ],
    })
}

fn exclusion_item(e: &SchoolExclusion) -> Result<ItemContent, DomainError> {
    if !matches!(e.exclusion_type.as_str(), "fixed-term" | "permanent") {
        return Err(DomainError::invalid("exclusion.exclusion_type", "must be fixed-term or permanent"));
    }
    Ok(ItemContent {
        category: category("education/exclusion")?,
        date: item_date("exclusion.start_date", &e.start_date)?,
        fields: vec![
            ItemField::open("school", required("exclusion.school", &e.school)?),
            ItemField::open("exclusion_type", e.exclusion_type.as_str()),
            ItemField::open("days", e.days.to_string()),
            ItemField::open("reason", e.reason.trim()),
        ],
    })
}
