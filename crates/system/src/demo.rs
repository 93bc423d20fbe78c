//! A small synthetic demo population, pushed through the feeds' real push
//! API with each agency system's own certificate. Every person is invented.

use mash_domain::{Agency, Upn};
use mash_proto::v1::{
    self as pb, ChildMissingEducation, DashRisk, EducationRecord, FreeSchoolMeals, HealthContact, PoliceIncident,
    PoliceIntelligence, PoliceSafeguardingMarker, SchoolAttendance, SchoolExclusion, SchoolRegistration,
    SocialCareInvolvement, SpecialEducationalNeeds, SubjectRole, education_record::Record, push_record::Body,
};

use crate::System;

/// A made-up person of the demo population.
#[derive(Clone, Copy)]
pub struct DemoPerson {
    pub given_name: &'static str,
    pub family_name: &'static str,
    pub date_of_birth: &'static str,
    pub nhs_seed: u32,
    pub upn_seed: Option<u32>,
    pub postcode: &'static str,
    /// "F" or "M", as agencies record it.
    pub sex: &'static str,
}

pub const AMY: DemoPerson = person("Amy", "Lee", "2016-04-12", 401_023_213, Some(1), "LS1 4AB", "F");
pub const JADE: DemoPerson = person("Jade", "Lee", "1990-02-01", 401_023_214, None, "LS1 4AB", "F");
pub const CONNOR: DemoPerson = person("Connor", "Walsh", "1988-07-30", 401_023_216, None, "LS1 4AB", "M");
pub const NOAH: DemoPerson = person("Noah", "Khan", "2012-09-03", 401_023_217, Some(2), "LS6 2QT", "M");
pub const ELLA: DemoPerson = person("Ella", "Brown", "2014-11-20", 401_023_222, Some(3), "LS9 7HY", "F");
pub const EVIE: DemoPerson = person("Evie", "Brown", "2014-11-20", 401_023_219, Some(4), "LS9 7HY", "F");

const fn person(
    given_name: &'static str,
    family_name: &'static str,
    date_of_birth: &'static str,
    nhs_seed: u32,
    upn_seed: Option<u32>,
    postcode: &'static str,
    sex: &'static str,
) -> DemoPerson {
    DemoPerson { given_name, family_name, date_of_birth, nhs_seed, upn_seed, postcode, sex }
}

impl DemoPerson {
    pub fn to_wire(self) -> pb::Person {
        pb::Person {
            given_name: self.given_name.into(),
            family_name: self.family_name.into(),
            date_of_birth: self.date_of_birth.into(),
            nhs_number: nhs_number(self.nhs_seed),
            upn: self.upn_seed.map(upn).unwrap_or_default(),
            postcode: self.postcode.into(),
            sex: self.sex.into(),
            previous_family_names: Vec::new(),
        }
    }
}

/// A valid NHS number from nine digits of seed: the seed, then its
/// modulus-11 check digit (seeds whose check would be 10 step on by one).
pub fn nhs_number(seed: u32) -> String {
    let mut seed = seed;
    loop {
        let digits = format!("{seed:09}");
        let sum: u32 = digits.chars().filter_map(|c| c.to_digit(10)).zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        match 11 - sum % 11 {
            10 => seed += 1,
            11 => return format!("{digits}0"),
            check => return format!("{digits}{check}"),
        }
    }
}

/// A valid UPN for a local authority 801, school 2000, from a serial.
pub fn upn(serial: u32) -> String {
    let body = format!("80120001{serial:04}");
    format!("{}{body}", Upn::check_letter(body.as_bytes()) as char)
}

fn record(id: &str, who: DemoPerson, body: Body) -> pb::PushRecord {
    pb::PushRecord { record_id: id.into(), version: 1, subject: Some(who.to_wire()), body: Some(body) }
}

fn police(id: &str, who: DemoPerson, category: &str, role: SubjectRole, date: &str, summary: &str) -> pb::PushRecord {
    let incident = PoliceIncident {
        incident_ref: format!("WYP-{id}"),
        category: category.into(),
        role: role.into(),
        occurred_on: date.into(),
        summary: summary.into(),
        location: "Flat 3, 12 Example Street".into(),
        officer_in_case: "PC 1234".into(),
        risk: if category == "police/domestic-abuse" { DashRisk::Medium } else { DashRisk::Unspecified }.into(),
    };
    record(id, who, Body::PoliceIncident(incident))
}

fn intelligence(id: &str, who: DemoPerson, date: &str, handling_code: &str, summary: &str) -> pb::PushRecord {
    let intelligence = PoliceIntelligence {
        intel_ref: format!("INT-{id}"),
        category: "police/intelligence".into(),
        recorded_on: date.into(),
        source_evaluation: "2".into(),
        assessment: "B".into(),
        handling_code: handling_code.into(),
        summary: summary.into(),
    };
    record(id, who, Body::PoliceIntelligence(intelligence))
}

fn refuge(id: &str, who: DemoPerson, date: &str) -> pb::PushRecord {
    let marker = PoliceSafeguardingMarker {
        marker_ref: format!("MKR-{id}"),
        category: "police/refuge-address".into(),
        recorded_on: date.into(),
        details: "Refuge, 1 Safe Place, Example Town".into(),
    };
    record(id, who, Body::PoliceMarker(marker))
}

fn health(id: &str, who: DemoPerson, category: &str, date: &str, setting: &str, reason: &str) -> pb::PushRecord {
    let contact = HealthContact {
        category: category.into(),
        contact_date: date.into(),
        setting: setting.into(),
        reason: reason.into(),
        clinical_notes: "Clinical notes held by the trust.".into(),
    };
    record(id, who, Body::HealthContact(contact))
}

fn social(id: &str, who: DemoPerson, category: &str, start: &str, end: &str, summary: &str) -> pb::PushRecord {
    let involvement = SocialCareInvolvement {
        category: category.into(),
        start_date: start.into(),
        end_date: end.into(),
        team: "North locality team".into(),
        summary: summary.into(),
        social_worker: "A. Social Worker".into(),
        outcome: if category == "social-care/referral" { "assessment" } else { "" }.into(),
    };
    record(id, who, Body::SocialCare(involvement))
}

fn attendance(id: &str, who: DemoPerson, percent: f64) -> pb::PushRecord {
    let record_body =
        SchoolAttendance { school: "Example Primary".into(), as_of: "2026-10-31".into(), attendance_percent: percent };
    record(id, who, Body::Education(EducationRecord { record: Some(Record::Attendance(record_body)) }))
}

fn exclusion(id: &str, who: DemoPerson, date: &str, days: u32) -> pb::PushRecord {
    let body = SchoolExclusion {
        school: "Example Academy".into(),
        start_date: date.into(),
        exclusion_type: "fixed-term".into(),
        days,
        reason: "Persistent disruptive behaviour".into(),
    };
    record(id, who, Body::Education(EducationRecord { record: Some(Record::Exclusion(body)) }))
}

fn education(id: &str, who: DemoPerson, record_body: Record) -> pb::PushRecord {
    record(id, who, Body::Education(EducationRecord { record: Some(record_body) }))
}

/// The demo records each agency holds.
pub fn records(agency: Agency) -> Vec<pb::PushRecord> {
    use SubjectRole::*;
    match agency {
        Agency::POLICE => vec![
            police(
                "P-1001",
                AMY,
                "police/domestic-abuse",
                ChildPresent,
                "2026-09-14",
                "Verbal argument; child present in the home.",
            ),
            police("P-1002", JADE, "police/domestic-abuse", Victim, "2026-09-14", "Victim of a domestic incident."),
            police(
                "P-1003",
                CONNOR,
                "police/domestic-abuse",
                Suspect,
                "2026-09-14",
                "Arrested after a domestic incident.",
            ),
            police("P-1004", CONNOR, "police/arrest", Suspect, "2026-09-14", "Arrested for common assault."),
            police("P-1005", NOAH, "police/missing-episode", Victim, "2026-06-02", "Missing overnight; found safe."),
            intelligence("P-1006", NOAH, "2026-06-20", "P", "Seen with older youths linked to county lines."),
            intelligence("P-1007", NOAH, "2026-07-01", "C", "Information from a partner agency; conditions apply."),
            refuge("P-1008", ELLA, "2026-05-01"),
        ],
        Agency::HEALTH => vec![
            health(
                "H-2001",
                AMY,
                "health/emergency-attendance",
                "2026-08-30",
                "Royal Infirmary A&E",
                "Fractured wrist",
            ),
            health("H-2002", JADE, "health/mental-health", "2025-12-01", "Community mental health team", "Low mood"),
            health("H-2003", JADE, "health/sexual-health", "2026-03-03", "Sexual health clinic", "Appointment"),
            health("H-2004", NOAH, "health/gp-registration", "2019-01-10", "Elm Street Surgery", "Registered"),
            health("H-2005", ELLA, "health/gp-registration", "2015-01-05", "Elm Street Surgery", "Registered"),
            health("H-2006", NOAH, "health/mental-health", "2026-07-15", "CAMHS", "Referred for anxiety"),
            health("H-2007", EVIE, "health/school-nurse", "2026-10-01", "Example Primary", "Growth check"),
        ],
        Agency::EDUCATION => vec![
            attendance("E-3001", AMY, 78.5),
            exclusion("E-3002", NOAH, "2026-10-06", 3),
            attendance("E-3003", NOAH, 91.0),
            attendance("E-3004", EVIE, 97.2),
            education(
                "E-3005",
                NOAH,
                Record::Registration(SchoolRegistration {
                    school: "Example Academy".into(),
                    urn: "100000".into(),
                    registered_on: "2023-09-04".into(),
                    year_group: "Year 9".into(),
                }),
            ),
            education(
                "E-3006",
                NOAH,
                Record::SpecialNeeds(SpecialEducationalNeeds {
                    school: "Example Academy".into(),
                    as_of: "2026-09-01".into(),
                    provision: "ehcp".into(),
                    primary_need: "Social, emotional and mental health".into(),
                }),
            ),
            education(
                "E-3007",
                NOAH,
                Record::FreeSchoolMeals(FreeSchoolMeals { as_of: "2026-09-01".into(), eligible: true }),
            ),
            education(
                "E-3008",
                ELLA,
                Record::MissingEducation(ChildMissingEducation {
                    reported_on: "2026-10-12".into(),
                    reason: "Left school roll; no new school known".into(),
                    resolved_on: String::new(),
                }),
            ),
        ],
        Agency::SOCIAL_CARE => vec![
            social(
                "S-4001",
                AMY,
                "social-care/child-in-need",
                "2025-02-01",
                "2025-08-01",
                "Child in need plan; closed.",
            ),
            social(
                "S-4002",
                AMY,
                "social-care/referral",
                "2026-09-15",
                "",
                "Referral from police after a domestic incident.",
            ),
        ],
        // Agencies described by configuration bring their own records.
        _ => Vec::new(),
    }
}

/// Pushes every agency's demo records; the number stored (0 when already loaded).
pub async fn load(system: &System) -> anyhow::Result<u64> {
    let mut stored = 0;
    for agency in Agency::all().iter().copied() {
        let mut feed = system.feed_ingest_as(agency, &format!("agency-{agency}")).await?;
        let summary = feed.push(tokio_stream::iter(records(agency))).await?.into_inner();
        anyhow::ensure!(summary.rejected.is_empty(), "demo data for {agency} was rejected: {:?}", summary.rejected);
        stored += summary.stored;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two demo people with one NHS number would be one person to every
    /// feed: a wrong match in the demo itself.
    #[test]
    fn every_demo_person_has_their_own_nhs_number() {
        let people = [AMY, JADE, CONNOR, NOAH, ELLA, EVIE];
        let numbers: std::collections::HashSet<String> = people.iter().map(|p| nhs_number(p.nhs_seed)).collect();
        assert_eq!(numbers.len(), people.len());
    }
}
