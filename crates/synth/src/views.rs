//! Each agency's view: which people it knows, the records it holds on them,
//! and the noisy subject it records them under.
//!
//! Health registers nearly everyone and adds contacts by age; education
//! holds every pupil's attendance and some exclusions; police hold
//! domestic-abuse incidents for the whole family (shared incident ref) and
//! some incidents of individuals aged 10 or over; social care holds
//! referrals and plans for the children of a few families, far more often
//! after domestic abuse. Each agency records a person under one subject,
//! drawn once per person (see [`crate::Noise`]).

use mash_domain::Agency;
use time::Date;

use crate::{
    Address, AgencyRecord, AppliedNoise, Families, Family, Person, Settings, Sex, Subject, SynthError,
    data::{places::SCHOOL_STEMS, texts},
    families,
    noise::observe,
    population::Kinship,
    record::{
        Body, EducationRecord, HealthContact, PoliceIncident, Role, SchoolAttendance, SchoolExclusion,
        SocialCareInvolvement,
    },
    rng::{Rng, Stream},
};

/// Every record `agency` holds, family by family; only one family's records
/// are in memory at a time.
pub fn records(settings: &Settings, agency: Agency) -> Result<Records, SynthError> {
    let agency = Source::of(agency)
        .ok_or_else(|| SynthError::Settings(format!("the synthetic population has no view for the {agency} agency")))?;
    Ok(Records { families: families(settings)?, agency, buffer: Vec::new().into_iter(), records: 0, incidents: 0 })
}

pub struct Records {
    families: Families,
    agency: Source,
    buffer: std::vec::IntoIter<AgencyRecord>,
    records: u64,
    incidents: u64,
}

impl Iterator for Records {
    type Item = AgencyRecord;

    fn next(&mut self) -> Option<AgencyRecord> {
        loop {
            if let Some(record) = self.buffer.next() {
                return Some(record);
            }
            let family = self.families.next()?;
            let settings = self.families.settings();
            let stream = match self.agency {
                Source::Police => Stream::Police,
                Source::Health => Stream::Health,
                Source::Education => Stream::Education,
                Source::SocialCare => Stream::SocialCare,
            };
            let mut view = View {
                settings,
                agency: self.agency,
                family: &family,
                rng: Rng::keyed(settings.seed, stream, u64::from(family.id.0)),
                subjects: vec![None; family.people.len()],
                out: Vec::new(),
                records: &mut self.records,
                incidents: &mut self.incidents,
            };
            match self.agency {
                Source::Police => view.police(),
                Source::Health => view.health(),
                Source::Education => view.education(),
                Source::SocialCare => view.social_care(),
            }
            self.buffer = view.out.into_iter();
        }
    }
}

/// The four agencies the generator knows how to record people for.
#[derive(Clone, Copy, Debug)]
enum Source {
    Police,
    Health,
    Education,
    SocialCare,
}

impl Source {
    fn of(agency: Agency) -> Option<Self> {
        [Self::Police, Self::Health, Self::Education, Self::SocialCare].into_iter().find(|s| s.agency() == agency)
    }

    fn agency(self) -> Agency {
        match self {
            Self::Police => Agency::POLICE,
            Self::Health => Agency::HEALTH,
            Self::Education => Agency::EDUCATION,
            Self::SocialCare => Agency::SOCIAL_CARE,
        }
    }
}

struct View<'a> {
    settings: &'a Settings,
    agency: Source,
    family: &'a Family,
    rng: Rng,
    /// Each person's subject in this agency, drawn at their first record.
    subjects: Vec<Option<(Subject, AppliedNoise)>>,
    out: Vec<AgencyRecord>,
    records: &'a mut u64,
    incidents: &'a mut u64,
}

const YEAR: i64 = 365;

fn days(date: Date, days: i64) -> Date {
    Date::from_julian_day(date.to_julian_day() + days as i32).unwrap_or(date)
}

/// Where `person` lived on `date`.
fn address_on(person: &Person, date: Date) -> &Address {
    let current = person.residences.iter().rev().find(|r| r.from <= date);
    &current.unwrap_or(&person.residences[0]).address
}

impl View<'_> {
    fn as_of(&self) -> Date {
        self.settings.as_of
    }

    fn coverage(&self) -> f64 {
        self.settings.profile(self.agency.agency()).coverage
    }

    fn age(&self, member: usize) -> i32 {
        self.family.people[member].age_on(self.as_of())
    }

    /// A date in the last `years` years, not before `member` was born.
    fn recent(&mut self, member: usize, years: i64) -> Date {
        let born = self.family.people[member].date_of_birth;
        self.between(born.max(days(self.as_of(), -years * YEAR)), self.as_of())
    }

    fn text(&mut self, texts: &[&'static str]) -> &'static str {
        texts[self.rng.index(texts.len())]
    }

    fn between(&mut self, from: Date, to: Date) -> Date {
        let span = i64::from(to.to_julian_day() - from.to_julian_day()).max(0);
        days(from, self.rng.between(0, span))
    }

    fn record(&mut self, member: usize, body: Body) {
        let person = &self.family.people[member];
        let (subject, noise) = match &self.subjects[member] {
            Some(seen) => seen.clone(),
            None => {
                let profile = self.settings.profile(self.agency.agency());
                let seen = observe(person, profile, &self.settings.noise, self.as_of(), &mut self.rng);
                self.subjects[member] = Some(seen.clone());
                seen
            }
        };
        *self.records += 1;
        let prefix = match self.agency {
            Source::Police => 'P',
            Source::Health => 'H',
            Source::Education => 'E',
            Source::SocialCare => 'S',
        };
        self.out.push(AgencyRecord {
            record_id: format!("{prefix}-{:08}", *self.records),
            version: 1,
            subject,
            body,
            person: person.id,
            noise,
        });
    }

    fn police(&mut self) {
        if self.family.domestic_abuse {
            let incidents = if self.rng.chance(0.3) { 2 } else { 1 };
            for _ in 0..incidents {
                self.domestic_abuse_incident();
            }
        }
        for member in 0..self.family.people.len() {
            if self.age(member) < 10 || !self.rng.chance(self.coverage()) {
                continue;
            }
            let child = self.age(member) < 18;
            let (category, role, summaries) = match self.rng.below(20) {
                0..=6 => {
                    ("police/violence", *self.rng.pick(&[Role::Victim, Role::Suspect, Role::Witness]), texts::VIOLENCE)
                }
                7..=12 if child => ("police/missing-episode", Role::Victim, texts::MISSING),
                7..=14 => ("police/arrest", Role::Suspect, texts::ARREST),
                15..=18 => ("police/intelligence", Role::Suspect, texts::INTELLIGENCE),
                _ => ("police/covert-intelligence", Role::Suspect, texts::INTELLIGENCE),
            };
            let date = self.recent(member, 3);
            let incident = self.incident(member, category, role, date, summaries);
            let body = if category.ends_with("intelligence") {
                Body::PoliceIntelligence(incident.into())
            } else {
                Body::Police(incident)
            };
            self.record(member, body);
        }
    }

    fn incident(
        &mut self,
        member: usize,
        category: &'static str,
        role: Role,
        date: Date,
        summaries: &[&'static str],
    ) -> PoliceIncident {
        *self.incidents += 1;
        let family = self.family;
        let address = address_on(&family.people[member], date);
        PoliceIncident {
            incident_ref: format!("INC-{:08}", *self.incidents),
            category,
            role,
            occurred_on: date,
            summary: self.text(summaries),
            location: format!("{}, {}", address.line, address.town),
            officer_in_case: format!("PC {}", self.rng.between(1000, 9999)),
            risk: dash_risk(category, *self.incidents),
        }
    }

    /// One incident: a victim, a suspect (a partner or former partner) and
    /// the children living with the victim at the time.
    fn domestic_abuse_incident(&mut self) {
        let family = self.family;
        let people = &family.people;
        let couples: Vec<(usize, usize)> = family
            .relationships
            .iter()
            .filter(|r| matches!(r.kind, Kinship::Partners | Kinship::FormerPartners))
            .filter_map(|r| {
                Some((people.iter().position(|p| p.id == r.from)?, people.iter().position(|p| p.id == r.to)?))
            })
            .collect();
        if couples.is_empty() {
            return;
        }
        let (a, b) = *self.rng.pick(&couples);
        // Most victims are women; a man is the victim in about one in six.
        let a_is_victim = (people[a].sex == Sex::Female) != self.rng.chance(0.17);
        let (victim, suspect) = if a_is_victim { (a, b) } else { (b, a) };
        let date = self.recent(victim, 2).max(self.recent(suspect, 2));
        let first = self.incident(victim, "police/domestic-abuse", Role::Victim, date, texts::DOMESTIC_ABUSE);
        let home = address_on(&people[victim], date);
        self.record(victim, Body::Police(first.clone()));
        let suspect_record = PoliceIncident { role: Role::Suspect, location: first.location.clone(), ..first.clone() };
        self.record(suspect, Body::Police(suspect_record));
        for (child, person) in people.iter().enumerate() {
            let present = person.date_of_birth < date
                && person.age_on(date) < 18
                && address_on(person, date) == home
                && child != victim
                && child != suspect;
            if present {
                let record = PoliceIncident { role: Role::ChildPresent, ..first.clone() };
                self.record(child, Body::Police(record));
            }
        }
    }

    fn health(&mut self) {
        for member in 0..self.family.people.len() {
            if !self.rng.chance(self.coverage()) {
                continue;
            }
            let family = self.family;
            let person = &family.people[member];
            let current = &person.residences[person.residences.len() - 1];
            let registered = current.from.max(person.date_of_birth);
            let practice = format!("{} Medical Practice", current.address.town);
            self.health_contact(member, "health/gp-registration", registered, practice, &["New patient registration."]);
            let (age, sex) = (self.age(member), person.sex);
            let hospital = format!("{} General Infirmary", current.address.town);
            if self.rng.chance(0.08) {
                let date = self.recent(member, 3);
                self.health_contact(
                    member,
                    "health/emergency-attendance",
                    date,
                    hospital.clone(),
                    texts::EMERGENCY_REASONS,
                );
            }
            if age < 5 && self.rng.chance(0.6) {
                let date = self.recent(member, 2);
                self.health_contact(
                    member,
                    "health/health-visitor",
                    date,
                    "Health visiting team".into(),
                    texts::HEALTH_VISITOR_REASONS,
                );
            }
            if (5..18).contains(&age) && self.rng.chance(0.05) {
                let date = self.recent(member, 2);
                self.health_contact(
                    member,
                    "health/school-nurse",
                    date,
                    "School nursing".into(),
                    texts::SCHOOL_NURSE_REASONS,
                );
            }
            if age >= 12 && self.rng.chance(0.02) {
                let date = self.recent(member, 3);
                self.health_contact(
                    member,
                    "health/mental-health",
                    date,
                    hospital.clone(),
                    texts::MENTAL_HEALTH_REASONS,
                );
            }
            if (16..=40).contains(&age) && self.rng.chance(0.01) {
                let date = self.recent(member, 3);
                self.health_contact(
                    member,
                    "health/sexual-health",
                    date,
                    "Sexual health clinic".into(),
                    texts::SEXUAL_HEALTH_REASONS,
                );
            }
            if sex == Sex::Female
                && let Some(baby) = self.baby_of(member)
            {
                let booked = days(baby, -200).max(person.date_of_birth);
                self.health_contact(
                    member,
                    "health/maternity",
                    booked,
                    "Maternity unit".into(),
                    &["Antenatal booking."],
                );
            }
        }
    }

    /// The date of birth of `member`'s child born in the last year.
    fn baby_of(&self, member: usize) -> Option<Date> {
        let parent = self.family.people[member].id;
        let babies = self.family.relationships.iter().filter(|r| r.kind == Kinship::ParentOf && r.from == parent);
        babies
            .filter_map(|r| self.family.people.iter().find(|p| p.id == r.to))
            .map(|child| child.date_of_birth)
            .find(|born| *born > days(self.as_of(), -YEAR))
    }

    fn health_contact(
        &mut self,
        member: usize,
        category: &'static str,
        date: Date,
        setting: String,
        reasons: &[&'static str],
    ) {
        let contact = HealthContact {
            category,
            contact_date: date,
            setting,
            reason: self.text(reasons),
            clinical_notes: self.text(texts::CLINICAL_NOTES),
        };
        self.record(member, Body::Health(contact));
    }

    fn education(&mut self) {
        let family = self.family;
        for member in 0..family.people.len() {
            let person = &family.people[member];
            if person.upn.is_none() || !self.rng.chance(self.coverage()) {
                continue;
            }
            let age = self.age(member);
            let school = school(person.address(), age);
            // Domestic abuse at home shows in attendance.
            let absence =
                self.rng.between(0, 120) + if self.family.domestic_abuse { self.rng.between(0, 150) } else { 0 };
            let attendance = SchoolAttendance {
                school: school.clone(),
                as_of: self.as_of(),
                attendance_percent: (1000 - absence) as f64 / 10.0,
            };
            self.record(member, Body::Education(EducationRecord::Attendance(attendance)));
            let exclusion_rate = if self.family.domestic_abuse { 0.1 } else { 0.03 };
            if age >= 8 && self.rng.chance(exclusion_rate) {
                let permanent = self.rng.chance(0.1);
                let exclusion = SchoolExclusion {
                    school,
                    start_date: self.recent(member, 1),
                    exclusion_type: if permanent { "permanent" } else { "fixed-term" },
                    days: if permanent { 0 } else { self.rng.between(1, 5) as u32 },
                    reason: self.text(texts::EXCLUSION_REASONS),
                };
                self.record(member, Body::Education(EducationRecord::Exclusion(exclusion)));
            }
        }
    }

    fn social_care(&mut self) {
        let children: Vec<usize> = (0..self.family.people.len()).filter(|m| self.age(*m) < 18).collect();
        let known = if self.family.domestic_abuse { 0.5 } else { self.coverage() };
        if children.is_empty() || !self.rng.chance(known) {
            return;
        }
        let town = self.family.people[children[0]].address().town;
        let team = format!("{town} locality team");
        let worker = format!(
            "{}. {}",
            *self.rng.pick(b"ABCDEFGHJKLMNPRSTW") as char,
            crate::names::pools().surnames.draw(&mut self.rng)
        );
        for child in children {
            let referred = self.recent(child, 2);
            self.involvement(child, "social-care/referral", referred, Some(referred), &team, &worker, texts::REFERRAL);
            let plans = [
                (0.45, "social-care/child-in-need", texts::CHILD_IN_NEED),
                (0.2, "social-care/child-protection-plan", texts::CHILD_PROTECTION),
                (0.05, "social-care/looked-after", texts::LOOKED_AFTER),
            ];
            for (rate, category, summaries) in plans {
                if self.rng.chance(rate) {
                    let start = self.between(referred, self.as_of());
                    let end = self.rng.chance(0.5).then(|| self.between(start, self.as_of()));
                    self.involvement(child, category, start, end, &team, &worker, summaries);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn involvement(
        &mut self,
        child: usize,
        category: &'static str,
        start: Date,
        end: Option<Date>,
        team: &str,
        worker: &str,
        summaries: &[&'static str],
    ) {
        let involvement = SocialCareInvolvement {
            category,
            start_date: start,
            end_date: end,
            team: team.to_owned(),
            summary: self.text(summaries),
            social_worker: worker.to_owned(),
            // Every generated referral goes on to an assessment: plans follow it.
            outcome: if category == "social-care/referral" { "assessment" } else { "" },
        };
        self.record(child, Body::SocialCare(involvement));
    }
}

/// The school a child at `address` attends: a primary to age 10, then a
/// secondary, named after a stem fixed by the postcode district.
fn school(address: &Address, age: i32) -> String {
    let district = address.postcode.split(' ').next().unwrap_or_default();
    let hash = district.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let (phase, offset) = if age <= 10 { ("Primary School", 0) } else { ("Academy", 7) };
    format!("{} {phase}", SCHOOL_STEMS[((hash + offset) % SCHOOL_STEMS.len() as u64) as usize])
}

/// The DASH risk of a domestic-abuse incident, from its number rather than
/// the random stream, so that adding it did not move any other draw: one in
/// ten high, three medium, six standard.
fn dash_risk(category: &str, incident: u64) -> &'static str {
    if category != "police/domestic-abuse" {
        return "";
    }
    match incident % 10 {
        0 => "high",
        1..=3 => "medium",
        _ => "standard",
    }
}
