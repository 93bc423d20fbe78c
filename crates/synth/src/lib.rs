//! A seeded, reproducible synthetic population with ground truth, for the
//! demo, the tests and the matching benchmarks. Every person is invented.
//!
//! [`families`] generates the true population family by family from
//! [`Settings`]: couples, lone parents with a former partner elsewhere,
//! blended families with step-parents and half-siblings under another
//! surname, twins (same date of birth, surname and address; different
//! given names, the same sex two times in three, the same initial one time
//! in three), changed surnames, double-barrelled surnames and moves. Each
//! person has a valid NHS number; school-age children (4 to 17) a valid UPN.
//! [`records`] then streams one agency's view: the records it holds and
//! the noisy subject it holds them under, each record carrying the true
//! [`PersonId`] and the [`NoiseKind`]s applied. [`write_extract`] writes a
//! view as the JSON-lines extract `mashctl push` reads.
//!
//! Nothing is held but the current family, so a population of any size
//! streams in constant memory, and the same settings give the same output
//! on every platform: the generator has its own PRNG (SplitMix64), keyed per
//! family and agency, and uses only integer arithmetic for its draws.
//!
//! # Noise model
//!
//! Each agency draws one subject per person; every rate in [`Noise`] is
//! independent and multiplied by the agency's `noise_scale` (police 2,
//! social care 1, education 0.75, health 0.5). Defaults, before scaling:
//!
//! | noise | rate | applies to |
//! | --- | --- | --- |
//! | typo in given name / in surname | 2% each | transposition, substitution by a neighbouring key, deletion, doubling |
//! | nickname (or formal form) | 8% | names in [`nicknames`] |
//! | punctuation lost | 25% | names with diacritics, apostrophes, hyphens (Zoë → Zoe, O'Brien → OBrien or O Brien) |
//! | one part of a double-barrelled surname, unhyphenated or reversed | 30% | double-barrelled surnames |
//! | capitals | 5% | all |
//! | a previous surname (maiden, married, pre-step-parent) | 25% | people whose surname changed |
//! | day and month swapped | 1% | days 1 to 12 not equal to the month |
//! | day, month or year one out | 1% | all |
//! | a previous address | 15% | people who moved |
//! | no postcode / no sex | 5% / 2% | all |
//!
//! Identifiers are never wrong, only missing: health holds the NHS number
//! for 96% of its people, education the UPN for 97% of pupils (NHS number
//! 10%), social care 75% / 35%, police 2% / none.
#![forbid(unsafe_code)]

mod address;
mod data;
mod error;
mod family;
mod identifiers;
mod jsonl;
mod names;
mod noise;
mod population;
mod record;
mod rng;
mod serial;
mod settings;
mod views;

pub use address::Address;
pub use error::SynthError;
pub use jsonl::{JsonLines, Truth, write_extract};
pub use names::{given_names, nicknames, surnames};
pub use noise::{AppliedNoise, NoiseKind};
pub use population::{
    Families, Family, FamilyId, Kinship, Person, PersonId, Relationship, Residence, Sex, families, people,
};
pub use record::{
    AgencyRecord, Body, EducationRecord, HealthContact, PoliceIncident, PoliceIntelligence, PushRow, Role,
    SchoolAttendance, SchoolExclusion, SocialCareInvolvement, Subject,
};
pub use settings::{AgencyProfile, Demography, MAX_PEOPLE, Noise, Settings};

/// The agencies the generator has a view for.
pub const AGENCIES: [mash_domain::Agency; 4] = [
    mash_domain::Agency::POLICE,
    mash_domain::Agency::HEALTH,
    mash_domain::Agency::EDUCATION,
    mash_domain::Agency::SOCIAL_CARE,
];
pub use views::{Records, records};
