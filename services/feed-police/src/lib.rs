//! The police feed: incidents and the subject's role in them.

use mash_domain::{Agency, Category, DomainError};
use mash_feed::{ItemContent, ItemField, RecordAdapter, item_date, required, wrong_body};
use mash_proto::v1::{PoliceIncident, SubjectRole, push_record::Body};

pub struct Adapter;

impl RecordAdapter for Adapter {
    fn agency(&self) -> Agency {
        Agency::Police
    }

    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError> {
        match body {
            Body::PoliceIncident(incident) => incident_item(incident),
            other => Err(wrong_body(Agency::Police, other, "police_incident")),
        }
    }
}

fn incident_item(i: &PoliceIncident) -> Result<ItemContent, DomainError> {
    let role = match SubjectRole::try_from(i.role) {
        Ok(SubjectRole::Victim) => "victim",
        Ok(SubjectRole::Suspect) => "suspect",
        Ok(SubjectRole::Witness) => "witness",
        Ok(SubjectRole::ChildPresent) => "child present",
        _ => {
            return Err(DomainError::invalid(
                "police_incident.role",
                "must be victim, suspect, witness or child present",
            ));
        }
    };
    Ok(ItemContent {
        category: Category::parse_for("police_incident.category", &i.category, Agency::Police)?,
        date: item_date("police_incident.occurred_on", &i.occurred_on)?,
        fields: vec![
            ItemField::open("incident_ref", required("police_incident.incident_ref", &i.incident_ref)?),
            ItemField::open("role", role),
            ItemField::open("summary", i.summary.trim()),
            ItemField::open("officer_in_case", i.officer_in_case.trim()),
            // A location can be a victim's refuge address.
            ItemField::restricted("location", i.location.trim()),
        ],
    })
}
