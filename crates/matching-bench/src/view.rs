//! The benchmark's data: one agency's view as normalised entries, one per
//! person, and the ground truth needed to judge a verdict.

use std::collections::HashSet;

use mash_domain::{Agency, DomainError};
use mash_matching::{MatchInput, MatchRecord};
use mash_synth::{AppliedNoise, Kinship, PersonId, Settings, Subject, SynthError, families, records};

/// One person as one agency holds them, normalised for matching.
pub struct Entry {
    /// Ground truth: used only to judge verdicts, never to find or score.
    pub person: PersonId,
    /// Ground truth: how the agency's subject differs from the person.
    pub noise: AppliedNoise,
    pub record: MatchRecord,
}

/// An agency's view, one entry per person. Every record an agency holds on a
/// person carries the same subject (drawn once per person), so a feed's
/// several records of one person are one entry for matching.
pub struct View {
    pub entries: Vec<Entry>,
    /// Subjects the normaliser rejected (an unparseable date, postcode or identifier).
    pub rejected: usize,
}

/// Whether a query keeps the identifiers the agency holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Identifiers {
    AsHeld,
    /// NHS number and UPN dropped, so that only probabilistic matching can find the person.
    Withheld,
}

pub fn load(settings: &Settings, agency: Agency, identifiers: Identifiers) -> Result<View, SynthError> {
    let mut seen = HashSet::new();
    let (mut entries, mut rejected) = (Vec::new(), 0);
    for record in records(settings, agency)? {
        if !seen.insert(record.person) {
            continue;
        }
        match normalise(&record.subject, identifiers) {
            Ok(normalised) => entries.push(Entry { person: record.person, noise: record.noise, record: normalised }),
            Err(_) => rejected += 1,
        }
    }
    Ok(View { entries, rejected })
}

fn normalise(subject: &Subject, identifiers: Identifiers) -> Result<MatchRecord, DomainError> {
    let date_of_birth = subject.date_of_birth.to_string();
    let held = |value: &Option<String>| match identifiers {
        Identifiers::AsHeld => value.clone().unwrap_or_default(),
        Identifiers::Withheld => String::new(),
    };
    let (nhs_number, upn) = (held(&subject.nhs_number), held(&subject.upn));
    MatchRecord::normalise(MatchInput {
        given_name: &subject.given_name,
        family_name: &subject.family_name,
        // An agency's extract carries no previous surnames.
        previous_family_names: &[],
        date_of_birth: &date_of_birth,
        sex: subject.sex.map_or("", |sex| sex.as_str()),
        postcode: subject.postcode.as_deref().unwrap_or_default(),
        nhs_number: &nhs_number,
        upn: &upn,
        // "12 Oak Street, Leeds": the town stays in, on both sides alike.
        address_line: &subject.address,
        ..Default::default()
    })
}

/// How a wrongly matched candidate is related to the person searched for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Twin,
    /// Anyone else in the same family (siblings, parents, step-relations).
    Family,
    Stranger,
}

/// The ground truth beyond person ids: who is whose twin, and who is family.
pub struct Truth {
    /// By person id (ids start at 1; index 0 is unused).
    family: Vec<u32>,
    twin: Vec<Option<PersonId>>,
    pub twin_pairs: usize,
}

impl Truth {
    pub fn generate(settings: &Settings) -> Result<Self, SynthError> {
        let size = settings.people as usize + 1;
        let mut truth = Truth { family: vec![u32::MAX; size], twin: vec![None; size], twin_pairs: 0 };
        for family in families(settings)? {
            for person in &family.people {
                truth.family[person.id.0 as usize] = family.id.0;
                truth.twin[person.id.0 as usize] = person.twin;
            }
            truth.twin_pairs += family.relationships.iter().filter(|r| r.kind == Kinship::Twins).count();
        }
        Ok(truth)
    }

    pub fn relation(&self, a: PersonId, b: PersonId) -> Relation {
        if self.twin[a.0 as usize] == Some(b) {
            Relation::Twin
        } else if self.family[a.0 as usize] == self.family[b.0 as usize] {
            Relation::Family
        } else {
            Relation::Stranger
        }
    }

    pub fn has_twin(&self, person: PersonId) -> bool {
        self.twin[person.0 as usize].is_some()
    }
}
