//! What to generate: the seed, the population, and the noise each agency adds.

use mash_domain::Agency;
use serde::Serialize;
use time::{Date, macros::date};

use crate::SynthError;

/// Everything that fixes a generated population: the same settings give the
/// same families and the same agency records, byte for byte.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    pub seed: u64,
    /// People in the population (exactly; families are cut to fit).
    pub people: u32,
    /// The date the extracts are taken: ages, school years and the latest
    /// event dates are reckoned from it. It must not be in the future, or
    /// the feeds reject the records' dates.
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub as_of: Date,
    pub demography: Demography,
    pub noise: Noise,
    pub police: AgencyProfile,
    pub health: AgencyProfile,
    pub education: AgencyProfile,
    pub social_care: AgencyProfile,
}

/// How families are made.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Demography {
    /// Share of births that are twins (England and Wales: about 1.4%).
    pub twin_births: f64,
    /// Share of children given both parents' surnames, hyphenated.
    pub double_barrelled: f64,
    /// Share of families with two adults (partners or former partners) that
    /// have a domestic-abuse incident; it raises police and social-care
    /// involvement for the whole family.
    pub domestic_abuse: f64,
}

/// The base rate of each kind of noise, applied independently to each
/// person's view in each agency, then scaled by the agency's `noise_scale`.
/// "Eligible" rates apply only where the noise is possible.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Noise {
    /// One typing error (transposition, substitution, deletion or
    /// doubling) in the given name.
    pub given_name_typo: f64,
    pub family_name_typo: f64,
    /// Eligible: names with a known nickname or formal form.
    pub nickname: f64,
    /// Eligible: names with diacritics, apostrophes or hyphens, which lose them.
    pub punctuation: f64,
    /// Eligible: double-barrelled surnames, recorded as one part or unhyphenated.
    pub double_barrel_part: f64,
    /// Names recorded in capitals, as older systems do.
    pub upper_case: f64,
    /// Eligible: people whose surname changed; the agency has an old one.
    pub previous_surname: f64,
    /// Eligible: a day of 12 or less that differs from the month.
    pub date_of_birth_day_month_swapped: f64,
    /// The day, month or year of birth is one out.
    pub date_of_birth_component_off: f64,
    /// Eligible: people who moved; the agency has an earlier address.
    pub previous_address: f64,
    pub no_postcode: f64,
    pub no_sex: f64,
}

/// How one agency sees the population.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgencyProfile {
    /// Who the agency knows. Health: share of people registered with a GP.
    /// Education: share of school-age children on a school roll. Police:
    /// share of people aged 10 or over with an incident of their own (on top
    /// of domestic-abuse incidents). Social care: share of families with
    /// children known to children's services (higher after domestic abuse).
    pub coverage: f64,
    /// Share of the agency's people whose record carries their NHS number.
    pub nhs_number: f64,
    /// Share of its pupils (school-age children) whose record carries a UPN.
    pub upn: f64,
    /// Multiplies every rate in [`Noise`]: police records taken at the
    /// roadside are noisier than a GP register.
    pub noise_scale: f64,
}

/// The largest population: NHS numbers and UPNs are numbered from person ids
/// within ranges of this size.
pub const MAX_PEOPLE: u32 = 5_000_000;

impl Settings {
    /// The default settings for `people` people from `seed`.
    pub fn new(seed: u64, people: u32) -> Self {
        Self {
            seed,
            people,
            as_of: date!(2026 - 07 - 01),
            demography: Demography { twin_births: 0.015, double_barrelled: 0.05, domestic_abuse: 0.06 },
            noise: Noise {
                given_name_typo: 0.02,
                family_name_typo: 0.02,
                nickname: 0.08,
                punctuation: 0.25,
                double_barrel_part: 0.3,
                upper_case: 0.05,
                previous_surname: 0.25,
                date_of_birth_day_month_swapped: 0.01,
                date_of_birth_component_off: 0.01,
                previous_address: 0.15,
                no_postcode: 0.05,
                no_sex: 0.02,
            },
            police: AgencyProfile { coverage: 0.03, nhs_number: 0.02, upn: 0.0, noise_scale: 2.0 },
            health: AgencyProfile { coverage: 0.98, nhs_number: 0.96, upn: 0.0, noise_scale: 0.5 },
            education: AgencyProfile { coverage: 0.97, nhs_number: 0.1, upn: 0.97, noise_scale: 0.75 },
            social_care: AgencyProfile { coverage: 0.04, nhs_number: 0.75, upn: 0.35, noise_scale: 1.0 },
        }
    }

    /// The same population with no noise at all and every identifier held:
    /// every agency record then shows its person exactly.
    pub fn without_noise(mut self) -> Self {
        self.noise = Noise {
            given_name_typo: 0.0,
            family_name_typo: 0.0,
            nickname: 0.0,
            punctuation: 0.0,
            double_barrel_part: 0.0,
            upper_case: 0.0,
            previous_surname: 0.0,
            date_of_birth_day_month_swapped: 0.0,
            date_of_birth_component_off: 0.0,
            previous_address: 0.0,
            no_postcode: 0.0,
            no_sex: 0.0,
        };
        for profile in [&mut self.police, &mut self.health, &mut self.education, &mut self.social_care] {
            profile.nhs_number = 1.0;
            profile.upn = 1.0;
        }
        self
    }

    /// The profile of one of the four agencies the generator knows; any
    /// other agency is known to nobody.
    pub fn profile(&self, agency: Agency) -> &AgencyProfile {
        const NOBODY: AgencyProfile = AgencyProfile { coverage: 0.0, nhs_number: 0.0, upn: 0.0, noise_scale: 0.0 };
        match agency {
            Agency::POLICE => &self.police,
            Agency::HEALTH => &self.health,
            Agency::EDUCATION => &self.education,
            Agency::SOCIAL_CARE => &self.social_care,
            _ => &NOBODY,
        }
    }

    /// Checks what the generator relies on.
    pub fn validate(&self) -> Result<(), SynthError> {
        if self.people == 0 || self.people > MAX_PEOPLE {
            return Err(SynthError::Settings(format!("people must be between 1 and {MAX_PEOPLE}")));
        }
        if self.as_of.year() < 1990 {
            return Err(SynthError::Settings("as_of must be in 1990 or later".into()));
        }
        Ok(())
    }
}
