//! The police feed: incidents and the subject's role in them (with the DASH
//! risk of domestic abuse), intelligence graded 3x5x2, and safeguarding
//! markers such as a victim's refuge address.

use mash_domain::{Agency, Category, DomainError, Sensitivity};
use mash_feed::{ItemContent, ItemField, RecordAdapter, item_date, required, wrong_body};
use mash_proto::v1::{
    DashRisk, PoliceIncident, PoliceIntelligence, PoliceSafeguardingMarker, SubjectRole, push_record::Body,
};

#[derive(Debug)]
pub struct Adapter;

impl RecordAdapter for Adapter {
    fn agency(&self) -> Agency {
        Agency::POLICE
    }

    fn to_item(&self, body: &Body) -> Result<ItemContent, DomainError> {
        match body {
            Body::PoliceIncident(incident) => incident_item(incident),
            Body::PoliceIntelligence(intelligence) => intelligence_item(intelligence),
            Body::PoliceMarker(marker) => marker_item(marker),
            other => Err(wrong_body(Agency::POLICE, other, "police_incident, police_intelligence or police_marker")),
        }
    }
}

fn category(field: &str, raw: &str, allowed: &[&str]) -> Result<Category, DomainError> {
    if !allowed.contains(&raw) {
        return Err(DomainError::invalid(field, format!("must be one of {}", allowed.join(", "))));
    }
    Category::parse_for(field, raw, Agency::POLICE)
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
    let category = Category::parse_for("police_incident.category", &i.category, Agency::POLICE)?;
    if ["police/intelligence", "police/covert-intelligence", "police/refuge-address", "police/witness-protection"]
        .contains(&category.as_str())
    {
        return Err(DomainError::invalid(
            "police_incident.category",
            "is not an incident: send intelligence as police_intelligence and markers as police_marker",
        ));
    }
    let risk = dash_risk(category, i.risk)?;
    let mut fields = vec![
        ItemField::open("incident_ref", required("police_incident.incident_ref", &i.incident_ref)?),
        ItemField::open("role", role),
    ];
    fields.extend(risk.map(|risk| ItemField::open("dash_risk", risk)));
    fields.extend([
        ItemField::open("summary", i.summary.trim()),
        ItemField::open("officer_in_case", i.officer_in_case.trim()),
        // A location can be a victim's refuge address.
        ItemField::restricted("location", i.location.trim()),
    ]);
    Ok(ItemContent::new(category, item_date("police_incident.occurred_on", &i.occurred_on)?, fields))
}

/// Domestic abuse must carry its DASH risk, which decides MARAC referral;
/// other incidents must not, so a risk is never read into the wrong record.
fn dash_risk(category: Category, raw: i32) -> Result<Option<&'static str>, DomainError> {
    let field = "police_incident.risk";
    let risk = match DashRisk::try_from(raw) {
        Ok(DashRisk::Unspecified) => None,
        Ok(DashRisk::Standard) => Some("standard"),
        Ok(DashRisk::Medium) => Some("medium"),
        Ok(DashRisk::High) => Some("high"),
        Err(_) => return Err(DomainError::invalid(field, "unknown DASH risk")),
    };
    match (category.as_str() == "police/domestic-abuse", risk) {
        (true, None) => Err(DomainError::invalid(field, "is required for domestic abuse: standard, medium or high")),
        (false, Some(_)) => Err(DomainError::invalid(field, "is only for police/domestic-abuse")),
        _ => Ok(risk),
    }
}

fn intelligence_item(i: &PoliceIntelligence) -> Result<ItemContent, DomainError> {
    let category =
        category("police_intelligence.category", &i.category, &["police/intelligence", "police/covert-intelligence"])?;
    let grade = |field: &str, raw: &str, allowed: &[&str]| -> Result<String, DomainError> {
        let value = raw.trim().to_ascii_uppercase();
        if allowed.contains(&value.as_str()) {
            Ok(value)
        } else {
            Err(DomainError::invalid(field, format!("must be one of {}", allowed.join(", "))))
        }
    };
    let source = grade("police_intelligence.source_evaluation", &i.source_evaluation, &["1", "2", "3"])?;
    let assessment = grade("police_intelligence.assessment", &i.assessment, &["A", "B", "C", "D", "E"])?;
    let handling = grade("police_intelligence.handling_code", &i.handling_code, &["P", "C"])?;
    let item = ItemContent::new(
        category,
        item_date("police_intelligence.recorded_on", &i.recorded_on)?,
        vec![
            ItemField::open("intel_ref", required("police_intelligence.intel_ref", &i.intel_ref)?),
            ItemField::open("grading", format!("{source}{assessment}{handling}")),
            ItemField::open("summary", i.summary.trim()),
        ],
    );
    // Handling code C: conditions apply to any sharing, so only the police
    // gatekeeper may decide.
    Ok(if handling == "C" { item.marked(Sensitivity::Restricted) } else { item })
}

fn marker_item(m: &PoliceSafeguardingMarker) -> Result<ItemContent, DomainError> {
    let category =
        category("police_marker.category", &m.category, &["police/refuge-address", "police/witness-protection"])?;
    Ok(ItemContent::new(
        category,
        item_date("police_marker.recorded_on", &m.recorded_on)?,
        vec![
            ItemField::open("marker_ref", required("police_marker.marker_ref", &m.marker_ref)?),
            ItemField::restricted("details", required("police_marker.details", &m.details)?),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(category: &str, risk: DashRisk) -> Body {
        Body::PoliceIncident(PoliceIncident {
            incident_ref: "INC-1".into(),
            category: category.into(),
            role: SubjectRole::Victim.into(),
            occurred_on: "2026-01-02".into(),
            risk: risk.into(),
            ..Default::default()
        })
    }

    fn intelligence(category: &str, grading: [&str; 3]) -> Body {
        Body::PoliceIntelligence(PoliceIntelligence {
            intel_ref: "INT-1".into(),
            category: category.into(),
            recorded_on: "2026-01-02".into(),
            source_evaluation: grading[0].into(),
            assessment: grading[1].into(),
            handling_code: grading[2].into(),
            summary: String::new(),
        })
    }

    fn marker(category: &str, details: &str) -> Body {
        Body::PoliceMarker(PoliceSafeguardingMarker {
            marker_ref: "MKR-1".into(),
            category: category.into(),
            recorded_on: "2026-01-02".into(),
            details: details.into(),
        })
    }

    /// A record, and the category and sensitivity stored or the field rejected.
    type Case = (Body, Result<(&'static str, Sensitivity), &'static str>);

    #[test]
    fn records_become_items_or_name_the_wrong_field() {
        let cases: Vec<Case> = vec![
            (incident("police/domestic-abuse", DashRisk::High), Ok(("police/domestic-abuse", Sensitivity::Sensitive))),
            (incident("police/domestic-abuse", DashRisk::Unspecified), Err("police_incident.risk")),
            (incident("police/arrest", DashRisk::Medium), Err("police_incident.risk")),
            (
                incident("police/missing-episode", DashRisk::Unspecified),
                Ok(("police/missing-episode", Sensitivity::Standard)),
            ),
            (incident("police/refuge-address", DashRisk::Unspecified), Err("police_incident.category")),
            (intelligence("police/intelligence", ["1", "a", "P"]), Ok(("police/intelligence", Sensitivity::Sensitive))),
            (
                intelligence("police/intelligence", ["2", "B", "C"]),
                Ok(("police/intelligence", Sensitivity::Restricted)),
            ),
            (
                intelligence("police/covert-intelligence", ["3", "E", "P"]),
                Ok(("police/covert-intelligence", Sensitivity::Restricted)),
            ),
            (intelligence("police/intelligence", ["4", "A", "P"]), Err("police_intelligence.source_evaluation")),
            (intelligence("police/intelligence", ["1", "F", "P"]), Err("police_intelligence.assessment")),
            (intelligence("police/intelligence", ["1", "A", "X"]), Err("police_intelligence.handling_code")),
            (intelligence("police/arrest", ["1", "A", "P"]), Err("police_intelligence.category")),
            (marker("police/refuge-address", "Refuge"), Ok(("police/refuge-address", Sensitivity::Restricted))),
            (marker("police/witness-protection", "Scheme"), Ok(("police/witness-protection", Sensitivity::Restricted))),
            (marker("police/refuge-address", " "), Err("police_marker.details")),
            (marker("police/arrest", "x"), Err("police_marker.category")),
        ];
        for (i, (body, expected)) in cases.into_iter().enumerate() {
            let got = Adapter.to_item(&body).map(|item| (item.category.as_str(), item.sensitivity));
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "case {i}"),
                (Err(e), Err(field)) => assert_eq!(e.field, field, "case {i}: {e}"),
                (got, expected) => panic!("case {i}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn a_refuge_address_is_a_restricted_field_of_a_restricted_item() {
        let item = Adapter.to_item(&marker("police/refuge-address", "1 Safe Place")).expect("valid");
        let details = item.fields.iter().find(|f| f.name == "details").expect("details");
        assert!(details.restricted);
    }
}
