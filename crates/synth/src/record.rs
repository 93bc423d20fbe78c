//! An agency's record of a person, shaped like a row of the extract that
//! `mashctl push` reads, with the ground truth beside it.

use mash_domain::Agency;
use serde::Serialize;
use time::Date;

use crate::{AppliedNoise, PersonId, Sex};

/// The person as the agency holds them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Subject {
    pub given_name: String,
    pub family_name: String,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub date_of_birth: Date,
    #[serde(serialize_with = "crate::serial::or_empty")]
    pub nhs_number: Option<String>,
    #[serde(serialize_with = "crate::serial::or_empty")]
    pub upn: Option<String>,
    #[serde(serialize_with = "crate::serial::or_empty")]
    pub postcode: Option<String>,
    /// Not in the push proto yet; `mashctl push` ignores it.
    #[serde(serialize_with = "crate::serial::sex_or_empty")]
    pub sex: Option<Sex>,
    /// "12 Oak Street, Leeds". Not in the push proto yet.
    pub address: String,
}

/// One record of one agency, with its ground truth.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgencyRecord {
    pub record_id: String,
    pub version: u64,
    #[serde(flatten)]
    pub subject: Subject,
    #[serde(flatten)]
    pub body: Body,
    /// Ground truth: who the record is really about.
    #[serde(rename = "truth_person_id")]
    pub person: PersonId,
    /// Ground truth: how the subject differs from the person.
    #[serde(rename = "truth_noise")]
    pub noise: AppliedNoise,
}

/// The extract row without the ground truth, for pushing to a feed.
#[derive(Serialize)]
pub struct PushRow<'a> {
    record_id: &'a str,
    version: u64,
    #[serde(flatten)]
    subject: &'a Subject,
    #[serde(flatten)]
    body: &'a Body,
}

impl AgencyRecord {
    pub fn push_row(&self) -> PushRow<'_> {
        PushRow { record_id: &self.record_id, version: self.version, subject: &self.subject, body: &self.body }
    }
}

/// The agency's own columns (README, "Extract format").
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    Police(PoliceIncident),
    PoliceIntelligence(PoliceIntelligence),
    Health(HealthContact),
    Education(EducationRecord),
    SocialCare(SocialCareInvolvement),
}

impl Body {
    pub fn agency(&self) -> Agency {
        match self {
            Body::Police(_) | Body::PoliceIntelligence(_) => Agency::POLICE,
            Body::Health(_) => Agency::HEALTH,
            Body::Education(_) => Agency::EDUCATION,
            Body::SocialCare(_) => Agency::SOCIAL_CARE,
        }
    }

    /// The item category the feed will file the record under.
    pub fn category(&self) -> &'static str {
        match self {
            Body::Police(incident) => incident.category,
            Body::PoliceIntelligence(intelligence) => intelligence.category,
            Body::Health(contact) => contact.category,
            Body::Education(EducationRecord::Attendance(_)) => "education/attendance",
            Body::Education(EducationRecord::Exclusion(_)) => "education/exclusion",
            Body::SocialCare(involvement) => involvement.category,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Victim,
    Suspect,
    Witness,
    ChildPresent,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoliceIncident {
    /// Shared by every person's record of the same incident.
    pub incident_ref: String,
    pub category: &'static str,
    pub role: Role,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub occurred_on: Date,
    pub summary: &'static str,
    /// Where the person lived on the day.
    pub location: String,
    pub officer_in_case: String,
    /// The DASH risk of a domestic-abuse incident; empty for other incidents.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub risk: &'static str,
}

/// Intelligence is not an incident: the feed takes it as its own record
/// type, graded 3x5x2.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoliceIntelligence {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub intel_ref: String,
    pub category: &'static str,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub recorded_on: Date,
    pub source_evaluation: &'static str,
    pub assessment: &'static str,
    pub handling_code: &'static str,
    pub summary: &'static str,
}

impl From<PoliceIncident> for PoliceIntelligence {
    /// Graded "2B" (untested source, known indirectly) and shareable ("P").
    fn from(incident: PoliceIncident) -> Self {
        Self {
            kind: "intelligence",
            intel_ref: incident.incident_ref.replacen("INC-", "INT-", 1),
            category: incident.category,
            recorded_on: incident.occurred_on,
            source_evaluation: "2",
            assessment: "B",
            handling_code: "P",
            summary: incident.summary,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthContact {
    pub category: &'static str,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub contact_date: Date,
    pub setting: String,
    pub reason: &'static str,
    pub clinical_notes: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum EducationRecord {
    Attendance(SchoolAttendance),
    Exclusion(SchoolExclusion),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SchoolAttendance {
    pub school: String,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub as_of: Date,
    pub attendance_percent: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SchoolExclusion {
    pub school: String,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub start_date: Date,
    pub exclusion_type: &'static str,
    pub days: u32,
    pub reason: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SocialCareInvolvement {
    pub category: &'static str,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub start_date: Date,
    /// None while the involvement is open.
    #[serde(serialize_with = "crate::serial::iso_date_or_empty")]
    pub end_date: Option<Date>,
    pub team: String,
    pub summary: &'static str,
    pub social_worker: String,
    /// What a referral led to; empty for other involvements.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub outcome: &'static str,
}
