//! The benchmark's data: one agency's view as normalised entries, one per
//! person, and the ground truth needed to judge a verdict.

use std::collections::HashSet;

use mash_domain::{Agency, DomainError};
use mash_matching::{MatchInput, MatchRecord};
use mash_synth::{AppliedNoise, Kinship, PersonId, Settings, Subject, SynthError, families, records};

/// One person as one agency holds them, normalised for matching.
pub(crate) struct Entry {
    /// Ground truth: used only to judge verdicts, never to find or score.
    pub person: PersonId,
    /// Ground truth: how the agency's subject differs from the person.
    pub noise: AppliedNoise,
    pub record: MatchRecord,
}

/// An agency's view, one entry per person. Every record an agency holds on a
/// person carries the same subject (drawn once per person), so a feed's
/// several records of one person are one entry for matching.
pub(crate) struct View {
    pub entries: Vec<Entry>,
    /// Subjects the normaliser rejected (an unparseable date, postcode or identifier).
    pub rejected: usize,
}

/// Whether a query keeps the identifiers the agency holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identifiers {
    AsHeld,
    /// NHS number and UPN dropped, so that only probabilistic matching can find the person.
    Withheld,
}

/// A pattern applied to every query of a set, so that recall under it is
/// measured on its own (issue 21): how referrals really arrive.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    AsRecorded,
    NamesSwapped,
    /// The referrer knows the child by another first name, with the recorded one as a middle name.
    MiddleNameAsFirst,
    /// The child is referred under another name, the recorded one given as also-known-as.
    AliasUsed,
    YearOneOut,
    /// Only the year was known: 1 January (or 1 July, for every other child) of it.
    EstimatedDate,
    /// An approximate age in years instead of the date of birth.
    ApproximateAge,
    /// An approximate age and no surname.
    ApproximateAgeNoSurname,
    NoDateOfBirth,
}

impl Pattern {
    pub(crate) const ALL: [Pattern; 9] = [
        Pattern::AsRecorded,
        Pattern::NamesSwapped,
        Pattern::MiddleNameAsFirst,
        Pattern::AliasUsed,
        Pattern::YearOneOut,
        Pattern::EstimatedDate,
        Pattern::ApproximateAge,
        Pattern::ApproximateAgeNoSurname,
        Pattern::NoDateOfBirth,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Pattern::AsRecorded => "as recorded",
            Pattern::NamesSwapped => "given and family names swapped",
            Pattern::MiddleNameAsFirst => "another first name, recorded one as middle",
            Pattern::AliasUsed => "another name, recorded one as alias",
            Pattern::YearOneOut => "year of birth one out",
            Pattern::EstimatedDate => "estimated date (1 Jan / 1 Jul)",
            Pattern::ApproximateAge => "approximate age, no date",
            Pattern::ApproximateAgeNoSurname => "approximate age, no surname",
            Pattern::NoDateOfBirth => "no date of birth",
        }
    }
}

pub(crate) fn load(settings: &Settings, agency: Agency, identifiers: Identifiers) -> Result<View, SynthError> {
    load_as(settings, agency, identifiers, Pattern::AsRecorded)
}

pub(crate) fn load_as(
    settings: &Settings,
    agency: Agency,
    identifiers: Identifiers,
    pattern: Pattern,
) -> Result<View, SynthError> {
    let mut seen = HashSet::new();
    let (mut entries, mut rejected) = (Vec::new(), 0);
    for record in records(settings, agency)? {
        if !seen.insert(record.person) {
            continue;
        }
        let subject = apply(pattern, &record.subject, record.person.0);
        match normalise(&subject, identifiers) {
            Ok(normalised) => entries.push(Entry { person: record.person, noise: record.noise, record: normalised }),
            Err(_) => rejected += 1,
        }
    }
    Ok(View { entries, rejected })
}

/// Names a referrer might know a child by instead, picked by person id.
const OTHER_NAMES: [&str; 6] = ["Jo", "Sam", "Alex", "Charlie", "Frankie", "Robin"];
const OTHER_SURNAMES: [&str; 4] = ["Brown", "Khan", "Nowak", "Okafor"];

/// A subject as a referrer with `pattern` would give it.
struct Referral {
    subject: Subject,
    date_of_birth: Option<time::Date>,
    birth_years: Option<(i32, i32)>,
    alias: Option<(String, String)>,
}

fn apply(pattern: Pattern, recorded: &Subject, id: u32) -> Referral {
    let mut subject = recorded.clone();
    let born = recorded.date_of_birth;
    let mut referral =
        Referral { subject: recorded.clone(), date_of_birth: Some(born), birth_years: None, alias: None };
    // An approximate age as the domain reads one: born in the year, give or take one.
    let about = Some((born.year() - 1, born.year() + 1));
    let pick = |names: &[&str]| names[id as usize % names.len()].to_owned();
    match pattern {
        Pattern::AsRecorded => {}
        Pattern::NamesSwapped => std::mem::swap(&mut subject.given_name, &mut subject.family_name),
        Pattern::MiddleNameAsFirst => subject.given_name = format!("{} {}", pick(&OTHER_NAMES), recorded.given_name),
        Pattern::AliasUsed => {
            referral.alias = Some((recorded.given_name.clone(), recorded.family_name.clone()));
            subject.given_name = pick(&OTHER_NAMES);
            subject.family_name = pick(&OTHER_SURNAMES);
        }
        Pattern::YearOneOut => referral.date_of_birth = born.replace_year(born.year() + 1).ok(),
        Pattern::EstimatedDate => {
            let month = if id.is_multiple_of(2) { time::Month::January } else { time::Month::July };
            referral.date_of_birth = time::Date::from_calendar_date(born.year(), month, 1).ok();
        }
        Pattern::ApproximateAge => (referral.date_of_birth, referral.birth_years) = (None, about),
        Pattern::ApproximateAgeNoSurname => {
            (referral.date_of_birth, referral.birth_years) = (None, about);
            subject.family_name.clear();
        }
        Pattern::NoDateOfBirth => referral.date_of_birth = None,
    }
    referral.subject = subject;
    referral
}

fn normalise(referral: &Referral, identifiers: Identifiers) -> Result<MatchRecord, DomainError> {
    let subject = &referral.subject;
    let date_of_birth = referral.date_of_birth.map(|d| d.to_string()).unwrap_or_default();
    let aliases: Vec<(&str, &str)> =
        referral.alias.iter().map(|(given, family)| (given.as_str(), family.as_str())).collect();
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
        aliases: &aliases,
        birth_years: referral.birth_years,
        ..Default::default()
    })
}

/// How a wrongly matched candidate is related to the person searched for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Twin,
    /// Anyone else in the same family (siblings, parents, step-relations).
    Family,
    Stranger,
}

/// The ground truth beyond person ids: who is whose twin, and who is family.
pub(crate) struct Truth {
    /// By person id (ids start at 1; index 0 is unused).
    family: Vec<u32>,
    twin: Vec<Option<PersonId>>,
    pub twin_pairs: usize,
}

impl Truth {
    pub(crate) fn generate(settings: &Settings) -> Result<Self, SynthError> {
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

    pub(crate) fn relation(&self, a: PersonId, b: PersonId) -> Relation {
        if self.twin[a.0 as usize] == Some(b) {
            Relation::Twin
        } else if self.family[a.0 as usize] == self.family[b.0 as usize] {
            Relation::Family
        } else {
            Relation::Stranger
        }
    }

    pub(crate) fn has_twin(&self, person: PersonId) -> bool {
        self.twin[person.0 as usize].is_some()
    }
}
