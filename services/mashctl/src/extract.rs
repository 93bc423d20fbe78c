//! Agency extracts: flat rows from JSONL or CSV, turned into push records.
//!
//! Every row carries `record_id`, `version` and the subject's
//! `given_name`, `family_name`, `date_of_birth`, `nhs_number`, `upn`,
//! `postcode`, then the agency's own columns (listed in the README).
//! Values are checked by the feed, which reports each bad row; only what
//! cannot be read at all is refused here.

use std::{collections::HashMap, path::Path};

use anyhow::Context;
use mash_proto::v1::{self as pb, education_record::Record, push_record::Body};

pub(crate) type Row = HashMap<String, String>;

/// Reads every row of a `.jsonl` or `.csv` file.
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            reader.deserialize().enumerate().map(|(i, row)| row.with_context(|| format!("CSV row {}", i + 1))).collect()
        }
        Some("jsonl") | Some("ndjson") => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| json_row(line).with_context(|| format!("JSONL line {}", i + 1)))
            .collect(),
        _ => anyhow::bail!("{} must end in .jsonl or .csv", path.display()),
    }
}

fn json_row(line: &str) -> anyhow::Result<Row> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)?;
    Ok(object
        .into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(s) => (key, s),
            other => (key, other.to_string()),
        })
        .collect())
}

/// The push record for a row of `agency`'s extract.
pub(crate) fn record(agency: &str, row: &Row) -> pb::PushRecord {
    let get = |key: &str| row.get(key).cloned().unwrap_or_default();
    pb::PushRecord { body: body(agency, &get), ..envelope(row) }
}

/// The columns every extract has, outside the agency's own.
const ENVELOPE: [&str; 10] = [
    "record_id",
    "version",
    "given_name",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "upn",
    "postcode",
    "sex",
    "previous_family_names",
];

/// A row of an agency described by configuration: its own columns (all but
/// the envelope's) are the fields of its record message, by name.
pub(crate) fn mapped_record(message: &prost_reflect::MessageDescriptor, row: &Row) -> anyhow::Result<pb::PushRecord> {
    let fields: serde_json::Map<String, serde_json::Value> = row
        .iter()
        .filter(|(key, _)| !ENVELOPE.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone())))
        .collect();
    let record_id = row.get("record_id").map_or("", String::as_str);
    let body = mash_feed::mapped::body_from_json(message, fields.into())
        .with_context(|| format!("record {record_id:?} does not fit {}", message.full_name()))?;
    Ok(pb::PushRecord { body: Some(body), ..envelope(row) })
}

fn envelope(row: &Row) -> pb::PushRecord {
    let get = |key: &str| row.get(key).cloned().unwrap_or_default();
    let subject = pb::Person {
        given_name: get("given_name"),
        family_name: get("family_name"),
        date_of_birth: get("date_of_birth"),
        nhs_number: get("nhs_number"),
        upn: get("upn"),
        postcode: get("postcode"),
        sex: get("sex"),
        previous_family_names: get("previous_family_names")
            .split(';')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    pb::PushRecord {
        record_id: get("record_id"),
        // An unreadable version becomes 0, which the feed rejects by name.
        version: get("version").trim().parse().unwrap_or(0),
        subject: Some(subject),
        body: None,
    }
}

fn body(agency: &str, get: &dyn Fn(&str) -> String) -> Option<Body> {
    Some(match agency {
        "police" => police(get),
        "health" => Body::HealthContact(pb::HealthContact {
            category: get("category"),
            contact_date: get("contact_date"),
            setting: get("setting"),
            reason: get("reason"),
            clinical_notes: get("clinical_notes"),
        }),
        "education" => Body::Education(pb::EducationRecord { record: education(get) }),
        "social-care" => Body::SocialCare(pb::SocialCareInvolvement {
            category: get("category"),
            start_date: get("start_date"),
            end_date: get("end_date"),
            team: get("team"),
            summary: get("summary"),
            social_worker: get("social_worker"),
            outcome: get("outcome"),
        }),
        _ => return None,
    })
}

/// A police row is an incident unless its `type` says intelligence or marker.
fn police(get: &dyn Fn(&str) -> String) -> Body {
    match get("type").as_str() {
        "intelligence" => Body::PoliceIntelligence(pb::PoliceIntelligence {
            intel_ref: get("intel_ref"),
            category: get("category"),
            recorded_on: get("recorded_on"),
            source_evaluation: get("source_evaluation"),
            assessment: get("assessment"),
            handling_code: get("handling_code"),
            summary: get("summary"),
        }),
        "marker" => Body::PoliceMarker(pb::PoliceSafeguardingMarker {
            marker_ref: get("marker_ref"),
            category: get("category"),
            recorded_on: get("recorded_on"),
            details: get("details"),
        }),
        _ => Body::PoliceIncident(pb::PoliceIncident {
            incident_ref: get("incident_ref"),
            category: get("category"),
            role: role(&get("role")).into(),
            occurred_on: get("occurred_on"),
            summary: get("summary"),
            location: get("location"),
            officer_in_case: get("officer_in_case"),
            risk: dash_risk(&get("risk")).into(),
        }),
    }
}

fn dash_risk(raw: &str) -> pb::DashRisk {
    match raw.trim() {
        "standard" => pb::DashRisk::Standard,
        "medium" => pb::DashRisk::Medium,
        "high" => pb::DashRisk::High,
        _ => pb::DashRisk::Unspecified,
    }
}

fn education(get: &dyn Fn(&str) -> String) -> Option<Record> {
    match get("type").as_str() {
        "attendance" => Some(Record::Attendance(pb::SchoolAttendance {
            school: get("school"),
            as_of: get("as_of"),
            attendance_percent: get("attendance_percent").trim().parse().unwrap_or(-1.0),
        })),
        "exclusion" => Some(Record::Exclusion(pb::SchoolExclusion {
            school: get("school"),
            start_date: get("start_date"),
            exclusion_type: get("exclusion_type"),
            days: get("days").trim().parse().unwrap_or(0),
            reason: get("reason"),
        })),
        "registration" => Some(Record::Registration(pb::SchoolRegistration {
            school: get("school"),
            urn: get("urn"),
            registered_on: get("registered_on"),
            year_group: get("year_group"),
        })),
        "special-needs" => Some(Record::SpecialNeeds(pb::SpecialEducationalNeeds {
            school: get("school"),
            as_of: get("as_of"),
            provision: get("provision"),
            primary_need: get("primary_need"),
        })),
        "missing-education" => Some(Record::MissingEducation(pb::ChildMissingEducation {
            reported_on: get("reported_on"),
            reason: get("reason"),
            resolved_on: get("resolved_on"),
        })),
        "free-school-meals" => Some(Record::FreeSchoolMeals(pb::FreeSchoolMeals {
            as_of: get("as_of"),
            eligible: matches!(get("eligible").trim(), "yes" | "true" | "1"),
        })),
        _ => None,
    }
}

fn role(raw: &str) -> pb::SubjectRole {
    match raw.trim() {
        "victim" => pb::SubjectRole::Victim,
        "suspect" => pb::SubjectRole::Suspect,
        "witness" => pb::SubjectRole::Witness,
        "child-present" => pb::SubjectRole::ChildPresent,
        _ => pb::SubjectRole::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_jsonl_extracts_read_alike() {
        let dir = std::env::temp_dir().join(format!("mashctl-extract-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let csv = dir.join("x.csv");
        let jsonl = dir.join("x.jsonl");
        std::fs::write(&csv, "record_id,version,given_name\nH-1,3,Amy\n").expect("write");
        std::fs::write(&jsonl, "{\"record_id\":\"H-1\",\"version\":3,\"given_name\":\"Amy\"}\n\n").expect("write");
        assert_eq!(read(&csv).expect("csv"), read(&jsonl).expect("jsonl"));
        assert!(read(&dir.join("x.txt")).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn rows_become_records_of_the_agency() {
        let line = r#"{"record_id":"P-1","version":2,"given_name":"Amy","category":"police/arrest","role":"suspect"}"#;
        let record = record("police", &json_row(line).expect("valid JSON"));
        assert_eq!((record.record_id.as_str(), record.version), ("P-1", 2));
        let Some(Body::PoliceIncident(incident)) = record.body else { panic!("a police incident") };
        assert_eq!(incident.role(), pb::SubjectRole::Suspect);
        let education_row = Row::from([("type".to_owned(), "sports-day".to_owned())]);
        assert!(matches!(
            self::record("education", &education_row).body,
            Some(Body::Education(pb::EducationRecord { record: None }))
        ));
    }
}
