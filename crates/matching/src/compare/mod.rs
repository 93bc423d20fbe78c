//! Comparison levels: how closely two records agree on each field.
//!
//! Each compared field has an ordered list of levels, strongest agreement
//! first and "else" last; comparing two records gives one level per field, or
//! `None` when either side is missing the value (weight 0). The level keys are
//! also the keys of the weights file.

mod strings;

use time::Date;

use crate::normalise::{MatchRecord, nickname_equivalent};
pub use strings::{jaro_winkler, soundex};

/// A row of a score's breakdown: a compared field, an identifier, or the prior.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    NhsNumber,
    Upn,
    FirstName,
    Surname,
    DateOfBirth,
    Sex,
    Postcode,
    Prior,
}

/// One level of a field: the key used in the weights file and the words a
/// researcher reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelDef {
    pub key: &'static str,
    pub label: &'static str,
}

const fn level(key: &'static str, label: &'static str) -> LevelDef {
    LevelDef { key, label }
}

const FIRST_NAME: &[LevelDef] = &[
    level("exact", "the same"),
    level("nickname", "nickname of the same name"),
    level("jw_high", "very similar (Jaro-Winkler ≥ 0.92)"),
    level("jw_low", "similar (Jaro-Winkler ≥ 0.80)"),
    level("phonetic", "sounds alike (Soundex)"),
    level("else", "different"),
];
const SURNAME: &[LevelDef] = &[
    level("exact", "the same"),
    level("alternate", "matches a double-barrelled part or previous surname"),
    level("jw_high", "very similar (Jaro-Winkler ≥ 0.92)"),
    level("phonetic", "sounds alike (Soundex)"),
    level("else", "different"),
];
const DATE_OF_BIRTH: &[LevelDef] = &[
    level("exact", "the same"),
    level("transposed", "day and month transposed"),
    level("one_off", "one of day, month or year differs"),
    level("else", "different"),
];
const SEX: &[LevelDef] = &[level("same", "the same"), level("different", "different")];
const POSTCODE: &[LevelDef] = &[
    level("full", "the same postcode"),
    level("sector", "the same postcode sector"),
    level("district", "the same postcode district"),
    level("else", "different"),
];

/// What the breakdown says for a field missing on either side.
pub const MISSING: LevelDef = level("missing", "missing on one side");

impl Field {
    /// The fields compared probabilistically, in the order of a [`ComparisonVector`].
    pub const COMPARED: [Field; 5] =
        [Field::FirstName, Field::Surname, Field::DateOfBirth, Field::Sex, Field::Postcode];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::NhsNumber => "nhs_number",
            Field::Upn => "upn",
            Field::FirstName => "first_name",
            Field::Surname => "surname",
            Field::DateOfBirth => "date_of_birth",
            Field::Sex => "sex",
            Field::Postcode => "postcode",
            Field::Prior => "prior",
        }
    }

    /// The comparison levels of a compared field; empty for the others.
    pub fn levels(self) -> &'static [LevelDef] {
        match self {
            Field::FirstName => FIRST_NAME,
            Field::Surname => SURNAME,
            Field::DateOfBirth => DATE_OF_BIRTH,
            Field::Sex => SEX,
            Field::Postcode => POSTCODE,
            Field::NhsNumber | Field::Upn | Field::Prior => &[],
        }
    }
}

/// The most levels any field has; sizes the weight tables.
pub const MAX_LEVELS: usize = 6;

/// One level index per compared field (in [`Field::COMPARED`] order), `None`
/// where a value is missing. This is what EM learns from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ComparisonVector(pub [Option<u8>; 5]);

/// Compares two records field by field.
pub fn compare(a: &MatchRecord, b: &MatchRecord) -> ComparisonVector {
    ComparisonVector([
        both(a.given_name.as_deref(), b.given_name.as_deref(), |x, y| first_name(x, y, a, b)),
        both(a.surnames.as_deref(), b.surnames.as_deref(), surname),
        both(a.date_of_birth, b.date_of_birth, date_of_birth),
        both(a.sex, b.sex, |x, y| if x == y { 0 } else { 1 }),
        both(a.postcode, b.postcode, |x, y| {
            if x == y {
                0
            } else if x.sector() == y.sector() {
                1
            } else if x.outward() == y.outward() {
                2
            } else {
                3
            }
        }),
    ])
}

fn both<T>(a: Option<T>, b: Option<T>, level: impl FnOnce(T, T) -> u8) -> Option<u8> {
    Some(level(a?, b?))
}

const JW_HIGH: f64 = 0.92;
const JW_LOW: f64 = 0.80;

fn first_name(x: &str, y: &str, a: &MatchRecord, b: &MatchRecord) -> u8 {
    if x == y {
        return 0;
    }
    if nickname_equivalent(a.nicknames, b.nicknames) {
        return 1;
    }
    let jw = jaro_winkler(x, y);
    if jw >= JW_HIGH {
        2
    } else if jw >= JW_LOW {
        3
    } else if soundex(x) == soundex(y) {
        4
    } else {
        5
    }
}

/// Compares surname sets: the current surname is first in each.
fn surname(x: &str, y: &str) -> u8 {
    let (cx, cy) = (current(x), current(y));
    if cx == cy {
        0
    } else if x.split('|').any(|p| y.split('|').any(|q| p == q)) {
        1
    } else if jaro_winkler(cx, cy) >= JW_HIGH {
        2
    } else if soundex(cx) == soundex(cy) {
        3
    } else {
        4
    }
}

fn current(surnames: &str) -> &str {
    surnames.split('|').next().unwrap_or_default()
}

fn date_of_birth(x: Date, y: Date) -> u8 {
    let (day, month, year) = (x.day() == y.day(), x.month() == y.month(), x.year() == y.year());
    if day && month && year {
        0
    } else if year && x.day() == u8::from(y.month()) && u8::from(x.month()) == y.day() {
        1
    } else if u8::from(day) + u8::from(month) + u8::from(year) == 2 {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests;
