//! Comparison levels: how closely two records agree on each field.
//!
//! Each compared field has an ordered list of levels, strongest agreement
//! first and "else" last; comparing two records gives one level per field, or
//! `None` when either side is missing the value (weight 0). The level keys are
//! also the keys of the weights file.

mod strings;

use time::Date;

use crate::normalise::{MatchRecord, Postcode, nickname_equivalent, skeleton};
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
    Address,
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
    level("other_given", "matches a middle name or another name the person is known by"),
    level("swapped", "given and family names swapped"),
    level("jw_high", "very similar (Jaro-Winkler ≥ 0.92)"),
    level("variant", "a spelling variant (transliteration)"),
    level("jw_low", "similar (Jaro-Winkler ≥ 0.80)"),
    level("phonetic", "sounds alike (Soundex)"),
    level("else", "different"),
];
const SURNAME: &[LevelDef] = &[
    level("exact", "the same"),
    level("alternate", "matches a double-barrelled part, previous surname or alias"),
    level("swapped", "given and family names swapped"),
    level("jw_high", "very similar (Jaro-Winkler ≥ 0.92)"),
    level("variant", "a spelling variant (transliteration)"),
    level("phonetic", "sounds alike (Soundex)"),
    level("else", "different"),
];
const DATE_OF_BIRTH: &[LevelDef] = &[
    level("exact", "the same"),
    level("transposed", "day and month transposed"),
    level("year_off", "the same day and month, the year one out"),
    level("one_off", "one of day, month or year differs"),
    level("estimated", "an estimated date (1 January or 1 July) within a year"),
    level("in_range", "within the approximate age given"),
    level("else", "different"),
];
const SEX: &[LevelDef] = &[level("same", "the same"), level("different", "different")];
const ADDRESS: &[LevelDef] = &[
    level("same_address", "the same house number, street and postcode"),
    level("postcode", "the same postcode"),
    level("postcode_other_house", "the same postcode, a different house"),
    level("address_line", "the same house number and street"),
    level("previous", "a previous address of one is an address of the other"),
    level("district", "the same postcode district"),
    level("else", "different"),
];

/// What the breakdown says for a field missing on either side.
pub const MISSING: LevelDef = level("missing", "missing on one side");

impl Field {
    /// The fields compared probabilistically, in the order of a [`ComparisonVector`].
    pub const COMPARED: [Field; 5] = [Field::FirstName, Field::Surname, Field::DateOfBirth, Field::Sex, Field::Address];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::NhsNumber => "nhs_number",
            Field::Upn => "upn",
            Field::FirstName => "first_name",
            Field::Surname => "surname",
            Field::DateOfBirth => "date_of_birth",
            Field::Sex => "sex",
            Field::Address => "address",
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
            Field::Address => ADDRESS,
            Field::NhsNumber | Field::Upn | Field::Prior => &[],
        }
    }
}

/// The most levels any field has; sizes the weight tables.
pub const MAX_LEVELS: usize = 9;

/// One level index per compared field (in [`Field::COMPARED`] order), `None`
/// where a value is missing. This is what EM learns from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ComparisonVector(pub [Option<u8>; 5]);

/// Compares two records field by field.
pub fn compare(a: &MatchRecord, b: &MatchRecord) -> ComparisonVector {
    let (first, family) = names(a, b);
    ComparisonVector([first, family, date_of_birth(a, b), both(a.sex, b.sex, |x, y| u8::from(x != y)), address(a, b)])
}

fn both<T>(a: Option<T>, b: Option<T>, level: impl FnOnce(T, T) -> u8) -> Option<u8> {
    Some(level(a?, b?))
}

const JW_HIGH: f64 = 0.92;
const JW_LOW: f64 = 0.80;

const FIRST_SWAPPED: u8 = 3;
const SURNAME_SWAPPED: u8 = 2;
const FIRST_ELSE: u8 = 8;
const SURNAME_ELSE: u8 = 6;

/// The first-name and surname levels together: a record with given and family
/// names swapped agrees crosswise, and both fields say so.
fn names(a: &MatchRecord, b: &MatchRecord) -> (Option<u8>, Option<u8>) {
    let first = both(a.given_names.as_deref(), b.given_names.as_deref(), |_, _| first_name(a, b));
    let family = both(a.surnames.as_deref(), b.surnames.as_deref(), surname);
    let weak = |level: Option<u8>, floor: u8| level.is_none_or(|l| l >= floor);
    // Only when neither agrees as recorded: otherwise a girl called Grace Thomas
    // and one called Thomas Grace would look like a swapped record of each other.
    if weak(first, 4) && weak(family, 3) && swapped(a, b) {
        return (Some(FIRST_SWAPPED), Some(SURNAME_SWAPPED));
    }
    (first, family)
}

/// Whether a's given name is b's surname and a's surname b's given name; one
/// of the two crossings may be missing (a record holding only one name).
fn swapped(a: &MatchRecord, b: &MatchRecord) -> bool {
    let cross = |x: &MatchRecord, y: &MatchRecord| {
        x.given_name().zip(y.surname()).map(|(g, s)| g == s || jaro_winkler(g, s) >= JW_HIGH)
    };
    matches!((cross(a, b), cross(b, a)), (Some(true), Some(true) | None) | (None, Some(true)))
}

fn first_name(a: &MatchRecord, b: &MatchRecord) -> u8 {
    let (Some(x), Some(y)) = (a.given_name(), b.given_name()) else { return FIRST_ELSE };
    if x == y {
        return 0;
    }
    if nickname_equivalent(a.nicknames, b.nicknames) {
        return 1;
    }
    // The name one is known by among the other's middle names or aliases, or
    // one of the person's own names among the other's aliases; never middle
    // against middle, which twins Amelia Rose and Olivia Rose share.
    let within = |first: &str, other: &MatchRecord| other.given_names().skip(1).any(|n| n == first);
    let alias_of_own = |x: &MatchRecord, y: &MatchRecord| {
        x.given_names().skip(usize::from(x.own_given)).any(|alias| y.own_given_names().any(|n| n == alias))
    };
    if within(x, b) || within(y, a) || alias_of_own(a, b) || alias_of_own(b, a) {
        return 2;
    }
    let jw = jaro_winkler(x, y);
    if jw >= JW_HIGH {
        4
    } else if skeleton(x) == skeleton(y) {
        5
    } else if jw >= JW_LOW {
        6
    } else if soundex(x) == soundex(y) {
        7
    } else {
        FIRST_ELSE
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
        3
    } else if skeleton(cx) == skeleton(cy) {
        4
    } else if soundex(cx) == soundex(cy) {
        5
    } else {
        SURNAME_ELSE
    }
}

fn current(surnames: &str) -> &str {
    surnames.split('|').next().unwrap_or_default()
}

/// A date recorded when only the year was known.
fn estimated(date: Date) -> bool {
    date.day() == 1 && matches!(date.month(), time::Month::January | time::Month::July)
}

fn date_of_birth(a: &MatchRecord, b: &MatchRecord) -> Option<u8> {
    match (a.date_of_birth, b.date_of_birth) {
        (Some(x), Some(y)) => Some(dates(x, y)),
        (Some(date), None) => b.birth_years.map(|years| in_years(date.year(), years)),
        (None, Some(date)) => a.birth_years.map(|years| in_years(date.year(), years)),
        (None, None) => both(a.birth_years, b.birth_years, |x, y| if x.0 <= y.1 && y.0 <= x.1 { 5 } else { 6 }),
    }
}

fn in_years(year: i32, (first, last): (i32, i32)) -> u8 {
    if (first..=last).contains(&year) { 5 } else { 6 }
}

fn dates(x: Date, y: Date) -> u8 {
    let (day, month, year) = (x.day() == y.day(), x.month() == y.month(), x.year() == y.year());
    if day && month && year {
        0
    } else if year && x.day() == u8::from(y.month()) && u8::from(x.month()) == y.day() {
        1
    } else if day && month && (x.year() - y.year()).abs() == 1 {
        2
    } else if u8::from(day) + u8::from(month) + u8::from(year) == 2 {
        3
    } else if (estimated(x) || estimated(y)) && (x.year() - y.year()).abs() <= 1 {
        4
    } else {
        6
    }
}

/// Whether two records share an address line; None if either lacks one.
fn same_line(a: Option<&str>, b: Option<&str>) -> Option<bool> {
    Some(lines_agree(a?, b?))
}

/// The same house numbers and the same street, allowing a typo in the
/// street's name ("12|MEHAFFEYCRESCENT" and "12|MEHAFFEYRESCENT"), never in
/// the number: 12 and 14 High Street are two houses.
fn lines_agree(a: &str, b: &str) -> bool {
    let split = |line: &'_ str| -> (String, String) {
        let (numbers, street) = line.split_once('|').unwrap_or(("", line));
        (numbers.to_owned(), street.to_owned())
    };
    let ((na, sa), (nb, sb)) = (split(a), split(b));
    na == nb && (sa == sb || jaro_winkler(&sa, &sb) >= JW_HIGH)
}

fn address(a: &MatchRecord, b: &MatchRecord) -> Option<u8> {
    let line = same_line(a.address_line(), b.address_line());
    let postcode = both(a.postcode, b.postcode, |x, y| {
        if x == y {
            0
        } else if x.outward() == y.outward() {
            1
        } else {
            2
        }
    });
    match (postcode, line) {
        (Some(0), Some(true)) => Some(0),
        (Some(0), None) => Some(1),
        (Some(0), Some(false)) => Some(2),
        (_, Some(true)) => Some(3),
        _ if moved_between(a, b) || moved_between(b, a) => Some(4),
        (Some(1), _) => Some(5),
        (None, None) => None,
        _ => Some(6),
    }
}

/// Whether an address of `a`, current or previous, is a previous address of `b`.
fn moved_between(a: &MatchRecord, b: &MatchRecord) -> bool {
    let current = (a.postcode, a.address_line());
    b.previous_addresses.iter().any(|(postcode, line)| {
        let agrees = |(p, l): (Option<Postcode>, Option<&str>)| {
            postcode.is_some() && *postcode == p || line.as_deref().zip(l).is_some_and(|(x, y)| lines_agree(x, y))
        };
        agrees(current) || a.previous_addresses.iter().any(|(p, l)| agrees((*p, l.as_deref())))
    })
}

#[cfg(test)]
mod tests;
