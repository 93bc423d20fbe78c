//! The generator's promises, checked on generated populations.

use std::collections::{HashMap, HashSet};

use mash_domain::{Agency, Category, NhsNumber, Person as DomainPerson, PersonInput, Upn};
use mash_synth::{
    AgencyRecord, Family, Kinship, NoiseKind, Person, PersonId, Settings, Truth, families, people, records,
    write_extract,
};

fn all_records(settings: &Settings) -> Vec<(Agency, AgencyRecord)> {
    mash_synth::AGENCIES
        .into_iter()
        .flat_map(|agency| records(settings, agency).expect("valid settings").map(move |r| (agency, r)))
        .collect()
}

fn by_id(settings: &Settings) -> HashMap<PersonId, Person> {
    people(settings).expect("valid settings").map(|p| (p.id, p)).collect()
}

#[test]
fn the_population_has_exactly_the_people_asked_for_numbered_in_order() {
    for size in [1, 2, 3, 7, 1000] {
        let ids: Vec<u32> = people(&Settings::new(1, size)).expect("valid").map(|p| p.id.0).collect();
        assert_eq!(ids, (1..=size).collect::<Vec<_>>());
    }
    assert!(families(&Settings::new(1, 0)).is_err());
}

#[test]
fn every_identifier_is_valid_unique_and_only_children_of_school_age_have_a_upn() {
    let settings = Settings::new(7, 20_000);
    let (mut nhs_numbers, mut upns) = (HashSet::new(), HashSet::new());
    for person in people(&settings).expect("valid") {
        assert!(NhsNumber::parse("nhs", &person.nhs_number).is_ok(), "{}", person.nhs_number);
        assert!(nhs_numbers.insert(person.nhs_number.clone()));
        let school_age = (4..=17).contains(&person.age_on(settings.as_of));
        assert_eq!(person.upn.is_some(), school_age);
        if let Some(upn) = &person.upn {
            assert!(Upn::parse("upn", upn).is_ok(), "{upn}");
            assert!(upns.insert(upn.clone()));
        }
    }
    assert!(upns.len() > 3_000, "{} pupils", upns.len());
}

#[test]
fn the_same_seed_gives_the_same_extracts_and_another_seed_does_not() {
    let extract = |seed, agency| {
        let mut out = Vec::new();
        write_extract(&mut out, &Settings::new(seed, 3_000), agency, Truth::Include).expect("written");
        out
    };
    for agency in mash_synth::AGENCIES {
        assert_eq!(extract(11, agency), extract(11, agency), "{agency}");
        assert_ne!(extract(11, agency), extract(12, agency), "{agency}");
    }
}

fn members(family: &Family, id: PersonId) -> &Person {
    family.people.iter().find(|p| p.id == id).expect("relationships stay within the family")
}

#[test]
fn twins_share_birth_surname_and_address_but_not_a_given_name() {
    let settings = Settings::new(3, 100_000);
    let (mut pairs, mut same_sex, mut births) = (0, 0, 0);
    for family in families(&settings).expect("valid") {
        births += family.people.iter().filter(|p| p.age_on(settings.as_of) < 18).count();
        for r in family.relationships.iter().filter(|r| r.kind == Kinship::Twins) {
            let (a, b) = (members(&family, r.from), members(&family, r.to));
            assert_eq!(a.date_of_birth, b.date_of_birth);
            assert_eq!(a.family_name, b.family_name);
            assert_eq!(a.address(), b.address());
            assert_ne!(a.given_name, b.given_name);
            assert_eq!((a.twin, b.twin), (Some(b.id), Some(a.id)));
            pairs += 1;
            same_sex += usize::from(a.sex == b.sex);
        }
    }
    // 1.5% of births are twins; a few are cut by the family size limit.
    let expected = births as f64 * 0.015 / 1.015;
    assert!((pairs as f64) > expected * 0.7 && (pairs as f64) < expected * 1.3, "{pairs} pairs, {expected}");
    assert!(same_sex * 100 > pairs * 50 && same_sex * 100 < pairs * 80, "{same_sex} of {pairs} same sex");
}

#[test]
fn families_have_step_parents_half_siblings_and_changed_surnames() {
    let settings = Settings::new(5, 20_000);
    let mut kinds = HashMap::new();
    let (mut half_siblings_named_apart, mut renamed, mut double_barrelled, mut moved) = (0, 0, 0, 0);
    for family in families(&settings).expect("valid") {
        for r in &family.relationships {
            *kinds.entry(r.kind).or_insert(0) += 1;
            if r.kind == Kinship::HalfSiblings {
                let (a, b) = (members(&family, r.from), members(&family, r.to));
                half_siblings_named_apart += usize::from(a.family_name != b.family_name);
            }
        }
        for person in &family.people {
            renamed += usize::from(!person.previous_family_names.is_empty());
            double_barrelled += usize::from(person.family_name.contains('-'));
            moved += usize::from(person.residences.len() > 1);
            assert!(person.residences.windows(2).all(|w| w[0].from <= w[1].from && w[0].address != w[1].address));
        }
    }
    for kind in [Kinship::ParentOf, Kinship::StepParentOf, Kinship::Partners, Kinship::FormerPartners] {
        assert!(kinds.get(&kind).copied().unwrap_or(0) > 100, "{kind:?}: {kinds:?}");
    }
    assert!(kinds[&Kinship::Siblings] > 100 && kinds[&Kinship::HalfSiblings] > 50, "{kinds:?}");
    assert!(half_siblings_named_apart > 20, "{half_siblings_named_apart}");
    assert!(renamed > 500 && double_barrelled > 100 && moved > 5_000, "{renamed} {double_barrelled} {moved}");
}

#[test]
fn every_record_is_a_valid_push_row_of_its_agency() {
    let settings = Settings::new(9, 20_000);
    let mut counts = HashMap::new();
    for (agency, record) in all_records(&settings) {
        *counts.entry(agency).or_insert(0) += 1;
        let subject = &record.subject;
        let dob = subject.date_of_birth.to_string();
        let input = PersonInput {
            given_name: &subject.given_name,
            family_name: &subject.family_name,
            date_of_birth: &dob,
            nhs_number: subject.nhs_number.as_deref().unwrap_or(""),
            upn: subject.upn.as_deref().unwrap_or(""),
            postcode: subject.postcode.as_deref().unwrap_or(""),
            ..Default::default()
        };
        DomainPerson::parse("subject", input, settings.as_of).expect("a valid subject");
        assert_eq!(record.body.agency(), agency);
        Category::parse_for("category", record.body.category(), agency).expect("a category of the agency");
    }
    for agency in mash_synth::AGENCIES {
        assert!(counts[&agency] > 300, "{agency}: {counts:?}");
    }
    assert!(counts[&Agency::HEALTH] > 19_000, "{counts:?}");
}

#[test]
fn records_carry_the_true_person_and_differ_from_them_only_by_the_noise_they_list() {
    let settings = Settings::new(13, 10_000);
    let truth = by_id(&settings);
    for (_, record) in all_records(&settings) {
        let person = &truth[&record.person];
        let subject = &record.subject;
        // Identifiers are never wrong, only missing.
        assert!(subject.nhs_number.as_ref().is_none_or(|n| *n == person.nhs_number));
        assert!(subject.upn.is_none() || subject.upn == person.upn);
        if record.noise.is_empty() {
            assert_eq!(subject.given_name, person.given_name);
            assert_eq!(subject.family_name, person.family_name);
            assert_eq!(subject.date_of_birth, person.date_of_birth);
            assert_eq!(subject.sex, Some(person.sex));
            assert_eq!(subject.postcode.as_deref(), Some(person.address().postcode.as_str()));
        }
    }
    let exact = Settings::new(13, 10_000).without_noise();
    for (_, record) in all_records(&exact) {
        let person = &truth[&record.person];
        assert!(record.noise.is_empty());
        assert_eq!(record.subject.nhs_number.as_ref(), Some(&person.nhs_number));
        assert_eq!(record.subject.upn, person.upn);
    }
}

/// Each person's subject in a view, counted once, with what it was eligible for.
#[test]
fn noise_rates_are_roughly_as_configured() {
    let mut settings = Settings::new(17, 60_000);
    settings.health.noise_scale = 1.0;
    let truth = by_id(&settings);
    let mut seen = HashSet::new();
    let mut hits: HashMap<NoiseKind, (usize, usize)> = HashMap::new();
    let mut nhs_held = 0;
    for record in records(&settings, Agency::HEALTH).expect("valid") {
        if !seen.insert(record.person) {
            continue;
        }
        nhs_held += usize::from(record.subject.nhs_number.is_some());
        let person = &truth[&record.person];
        let dob = person.date_of_birth;
        let eligible = |kind| match kind {
            NoiseKind::Nickname => {
                mash_synth::nicknames().iter().any(|(a, b)| *a == person.given_name || *b == person.given_name)
            }
            NoiseKind::PreviousSurname => !person.previous_family_names.is_empty(),
            NoiseKind::PreviousAddress => person.residences.len() > 1,
            NoiseKind::DateOfBirthDayMonthSwapped => dob.day() <= 12 && dob.day() != dob.month() as u8,
            _ => true,
        };
        for kind in NoiseKind::ALL {
            if eligible(kind) {
                let entry = hits.entry(kind).or_default();
                entry.0 += usize::from(record.noise.contains(kind));
                entry.1 += 1;
            }
        }
    }
    let noise = &settings.noise;
    let expected = [
        (NoiseKind::GivenNameTypo, noise.given_name_typo),
        (NoiseKind::FamilyNameTypo, noise.family_name_typo),
        (NoiseKind::Nickname, noise.nickname),
        (NoiseKind::UpperCase, noise.upper_case),
        (NoiseKind::PreviousSurname, noise.previous_surname),
        (NoiseKind::DateOfBirthDayMonthSwapped, noise.date_of_birth_day_month_swapped),
        (NoiseKind::PreviousAddress, noise.previous_address),
        (NoiseKind::NoPostcode, noise.no_postcode),
        (NoiseKind::NoSex, noise.no_sex),
    ];
    for (kind, rate) in expected {
        let (hit, of) = hits[&kind];
        let observed = hit as f64 / of as f64;
        assert!(of > 1_000, "{kind:?}: only {of} eligible");
        assert!((observed - rate).abs() < rate * 0.25 + 0.002, "{kind:?}: {observed:.4} against {rate}");
    }
    let held = nhs_held as f64 / seen.len() as f64;
    assert!((held - settings.health.nhs_number).abs() < 0.01, "NHS numbers held {held}");
}

#[test]
fn an_extract_has_the_push_columns_and_truth_only_when_asked() {
    let settings = Settings::new(21, 2_000);
    for (truth, has_truth) in [(Truth::Omit, false), (Truth::Include, true)] {
        let mut out = Vec::new();
        let lines = write_extract(&mut out, &settings, Agency::EDUCATION, truth).expect("written");
        let text = String::from_utf8(out).expect("UTF-8");
        assert_eq!(text.lines().count() as u64, lines);
        let row: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
        let columns = ["record_id", "version", "given_name", "family_name", "date_of_birth", "nhs_number", "upn"];
        for column in columns.iter().chain(&["postcode", "type", "school", "as_of", "attendance_percent"]) {
            assert!(row.contains_key(*column), "{column} missing from {row:?}");
        }
        let date = row["date_of_birth"].as_str().expect("a string");
        assert!(date.len() == 10 && date.as_bytes()[4] == b'-', "{date}");
        assert_eq!(row.contains_key("truth_person_id"), has_truth);
    }
}

/// A change detector: the benchmarks record a seed and settings, so an
/// output that drifts silently would make their numbers unreproducible.
/// When the generator is changed on purpose, update the fingerprints.
#[test]
fn the_output_for_a_seed_is_pinned() {
    let fingerprint = |agency| {
        let mut out = Vec::new();
        write_extract(&mut out, &Settings::new(1, 500), agency, Truth::Include).expect("written");
        // FNV-1a, 64 bits.
        out.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
    };
    let fingerprints: Vec<u64> = mash_synth::AGENCIES.into_iter().map(fingerprint).collect();
    assert_eq!(
        fingerprints,
        [0x5bc5_2c71_7bff_20da, 0x0836_a9b5_57d5_8e71, 0x3909_0752_52f7_8cc1, 0x194d_40a8_5070_911b],
        "{fingerprints:#x?}"
    );
}
