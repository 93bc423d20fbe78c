//! Log entries as CSV, and as FHIR R4 AuditEvent resources.

use mash_proto::v1 as pb;
use serde_json::{Value, json};

const CSV_HEADER: [&str; 24] = [
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
    "person_ref",
    "requester_agency",
    "on_behalf_of",
    "recipient",
    "agency",
    "record_ref",
    "category",
    "outcome",
    "tier",
    "reason",
    "policy_version",
    "content_digest",
    "prev_hash",
    "entry_hash",
];

fn name(text: &str, prefix: &str) -> String {
    text.trim_start_matches(prefix).to_lowercase().replace('_', "-")
}

/// The entries as CSV, one row each, with a header.
pub(crate) fn csv(entries: &[pb::LogEntry]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER)?;
    for e in entries {
        writer.write_record([
            e.seq.to_string(),
            e.recorded_at.clone(),
            e.requester.clone(),
            e.role.clone(),
            e.enquiry_id.clone(),
            name(e.level().as_str_name(), "LEVEL_"),
            e.purpose.clone(),
            e.lawful_basis.clone(),
            name(e.consent().as_str_name(), "CONSENT_STATE_"),
            e.subject_id.clone(),
            e.person_ref.clone(),
            e.requester_agency.clone(),
            e.on_behalf_of.clone(),
            e.recipient.clone(),
            e.agency.clone(),
            e.record_ref.clone(),
            e.category.clone(),
            name(e.outcome().as_str_name(), "OUTCOME_"),
            name(e.tier().as_str_name(), "TIER_"),
            e.reason.clone(),
            e.policy_version.clone(),
            e.content_digest.clone(),
            e.prev_hash.clone(),
            e.entry_hash.clone(),
        ])?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// One entry as a FHIR R4 AuditEvent: who (agent) saw what (entity: the
/// person, by pseudonym, and the agency record) when, why (purposeOfEvent)
/// and with what outcome.
pub(crate) fn audit_event(e: &pb::LogEntry) -> Value {
    let refused = e.outcome() != pb::Outcome::Disclosed && e.outcome() != pb::Outcome::LogSearched;
    let detail = |kind: &str, value: &str| json!({ "type": kind, "valueString": value });
    json!({
        "resourceType": "AuditEvent",
        "id": e.seq.to_string(),
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation" },
        "subtype": [{ "system": "urn:mash:outcome", "code": name(e.outcome().as_str_name(), "OUTCOME_") }],
        "action": "R",
        "recorded": e.recorded_at,
        "outcome": if refused { "4" } else { "0" },
        "outcomeDesc": e.reason,
        "purposeOfEvent": [
            { "text": e.purpose },
            { "coding": [{ "system": "urn:mash:lawful-basis", "display": e.lawful_basis }] }
        ],
        "agent": [{
            "who": { "identifier": { "system": "urn:ietf:rfc:3986", "value": e.requester } },
            "requestor": true,
            "role": [{ "text": e.role }],
            "policy": [e.policy_version],
            "location": { "display": e.requester_agency }
        }, {
            "who": { "identifier": { "system": "urn:ietf:rfc:3986", "value": e.on_behalf_of } },
            "requestor": false,
            "role": [{ "text": "on behalf of" }]
        }, {
            "who": { "identifier": { "system": "urn:ietf:rfc:3986", "value": e.recipient } },
            "requestor": false,
            "role": [{ "text": "recipient" }]
        }],
        "source": {
            "observer": { "display": "MASH broker" },
            "type": [{ "system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server" }]
        },
        "entity": [
            {
                "what": { "identifier": { "system": "urn:mash:person-ref", "value": e.person_ref } },
                "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
                "detail": [detail("subject-id", &e.subject_id), detail("enquiry-id", &e.enquiry_id)]
            },
            {
                "what": { "identifier": { "system": format!("urn:mash:{}", e.agency), "value": e.record_ref } },
                "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object" },
                "detail": [
                    detail("category", &e.category),
                    detail("tier", &name(e.tier().as_str_name(), "TIER_")),
                    detail("level", &name(e.level().as_str_name(), "LEVEL_")),
                    detail("consent", &name(e.consent().as_str_name(), "CONSENT_STATE_")),
                    detail("policy-version", &e.policy_version),
                    detail("content-sha256", &e.content_digest),
                    detail("entry-hash", &e.entry_hash)
                ]
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> pb::LogEntry {
        pb::LogEntry {
            seq: 7,
            requester: "spiffe://mash.local/user/rita-researcher".into(),
            outcome: pb::Outcome::Refused.into(),
            tier: pb::Tier::None.into(),
            category: "health/sexual-health".into(),
            reason: "denied by p, *, *, health/sexual-health, existence, deny".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_refusal_is_an_audit_event_with_a_failure_outcome() {
        let event = audit_event(&entry());
        assert_eq!(event["resourceType"], "AuditEvent");
        assert_eq!(event["outcome"], "4");
        assert_eq!(event["agent"][0]["who"]["identifier"]["value"], "spiffe://mash.local/user/rita-researcher");
        assert_eq!(event["entity"][1]["detail"][0]["valueString"], "health/sexual-health");
    }

    #[test]
    fn csv_has_a_header_and_a_row_per_entry() {
        let text = csv(&[entry(), entry()]).expect("csv");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("seq,recorded_at,requester"));
        assert!(lines[1].contains(",refused,none,"));
    }
}
