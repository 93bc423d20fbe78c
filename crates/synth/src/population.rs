//! The true population: families, people, where they lived and how they are
//! related. This is the ground truth the agency views are scored against.

use serde::Serialize;
use time::Date;

use crate::{Address, Settings, SynthError, address::Postcodes, family, identifiers};

/// A person's id in the ground truth, unique within a population (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PersonId(pub u32);

/// A family's id: its index in generation order (from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FamilyId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

/// Living at an address from a date until the next residence's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Residence {
    pub address: Address,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub from: Date,
}

/// A real person of the synthetic population.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Person {
    pub id: PersonId,
    pub family: FamilyId,
    /// As registered at birth; may contain diacritics, hyphens or apostrophes.
    pub given_name: &'static str,
    /// The surname now, perhaps double-barrelled ("Smith-Jones").
    pub family_name: String,
    /// Surnames used before, oldest first (a maiden name, a married name
    /// given up after separation, a child's surname before a step-parent's).
    pub previous_family_names: Vec<String>,
    pub sex: Sex,
    #[serde(serialize_with = "crate::serial::iso_date")]
    pub date_of_birth: Date,
    pub nhs_number: String,
    /// Only for children of school age on the settings' `as_of` date.
    pub upn: Option<String>,
    /// Oldest first; the last is where the person lives now.
    pub residences: Vec<Residence>,
    /// The other twin, who shares the date of birth, surname and address.
    pub twin: Option<PersonId>,
}

impl Person {
    pub fn address(&self) -> &Address {
        &self.residences[self.residences.len() - 1].address
    }

    /// Whole years of age on `date`.
    pub fn age_on(&self, date: Date) -> i32 {
        age(self.date_of_birth, date)
    }
}

pub(crate) fn age(born: Date, on: Date) -> i32 {
    let before_birthday = (on.month() as u8, on.day()) < (born.month() as u8, born.day());
    on.year() - born.year() - i32::from(before_birthday)
}

/// How two members of a family are related.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kinship {
    /// `from` is a parent of `to`.
    ParentOf,
    /// `from` is the partner of `to`'s parent.
    StepParentOf,
    Partners,
    FormerPartners,
    /// Full siblings born apart.
    Siblings,
    /// One parent in common; often different surnames.
    HalfSiblings,
    Twins,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Relationship {
    pub from: PersonId,
    pub kind: Kinship,
    pub to: PersonId,
}

/// A family: the people of one household now, with a former partner who
/// lives elsewhere when one is known.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Family {
    pub id: FamilyId,
    pub people: Vec<Person>,
    pub relationships: Vec<Relationship>,
    /// A police domestic-abuse incident involves the adults and children.
    pub domestic_abuse: bool,
}

/// The families of a population, generated one at a time so that nothing
/// but the current family is held. Deterministic in the settings.
pub struct Families {
    settings: Settings,
    postcodes: Postcodes,
    nhs_base: u64,
    next_family: u32,
    next_person: u32,
}

/// Every family of the population, in order.
pub fn families(settings: &Settings) -> Result<Families, SynthError> {
    settings.validate()?;
    Ok(Families {
        postcodes: Postcodes::for_people(settings.people),
        nhs_base: identifiers::nhs_base(settings.seed),
        next_person: 1,
        next_family: 0,
        settings: settings.clone(),
    })
}

/// Every person of the population, in id order.
pub fn people(settings: &Settings) -> Result<impl Iterator<Item = Person> + use<>, SynthError> {
    Ok(families(settings)?.flat_map(|family| family.people))
}

impl Families {
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl Iterator for Families {
    type Item = Family;

    fn next(&mut self) -> Option<Family> {
        let budget = (self.settings.people + 1).checked_sub(self.next_person).filter(|b| *b > 0)?;
        let context = family::Context { settings: &self.settings, postcodes: &self.postcodes, nhs_base: self.nhs_base };
        let family = family::build(&context, FamilyId(self.next_family), PersonId(self.next_person), budget);
        self.next_family += 1;
        self.next_person += family.people.len() as u32;
        Some(family)
    }
}
