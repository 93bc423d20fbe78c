//! How an agency comes to hold a person slightly wrong.

use std::fmt;

use serde::{Serialize, Serializer, ser::SerializeSeq};
use time::{Date, Month};

use crate::{AgencyProfile, Noise, Person, Subject, names::pools, rng::Rng};

/// One kind of difference between an agency's record and the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoiseKind {
    GivenNameTypo,
    FamilyNameTypo,
    Nickname,
    Punctuation,
    DoubleBarrelPart,
    UpperCase,
    PreviousSurname,
    DateOfBirthDayMonthSwapped,
    DateOfBirthComponentOff,
    PreviousAddress,
    NoPostcode,
    NoSex,
}

impl NoiseKind {
    pub const ALL: [NoiseKind; 12] = [
        NoiseKind::GivenNameTypo,
        NoiseKind::FamilyNameTypo,
        NoiseKind::Nickname,
        NoiseKind::Punctuation,
        NoiseKind::DoubleBarrelPart,
        NoiseKind::UpperCase,
        NoiseKind::PreviousSurname,
        NoiseKind::DateOfBirthDayMonthSwapped,
        NoiseKind::DateOfBirthComponentOff,
        NoiseKind::PreviousAddress,
        NoiseKind::NoPostcode,
        NoiseKind::NoSex,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoiseKind::GivenNameTypo => "given-name-typo",
            NoiseKind::FamilyNameTypo => "family-name-typo",
            NoiseKind::Nickname => "nickname",
            NoiseKind::Punctuation => "punctuation",
            NoiseKind::DoubleBarrelPart => "double-barrel-part",
            NoiseKind::UpperCase => "upper-case",
            NoiseKind::PreviousSurname => "previous-surname",
            NoiseKind::DateOfBirthDayMonthSwapped => "date-of-birth-day-month-swapped",
            NoiseKind::DateOfBirthComponentOff => "date-of-birth-component-off",
            NoiseKind::PreviousAddress => "previous-address",
            NoiseKind::NoPostcode => "no-postcode",
            NoiseKind::NoSex => "no-sex",
        }
    }
}

/// The kinds of noise one record carries: part of the ground truth, so a
/// benchmark can break recall down by cause.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AppliedNoise(u16);

impl AppliedNoise {
    pub fn contains(self, kind: NoiseKind) -> bool {
        self.0 & (1 << kind as u16) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = NoiseKind> {
        NoiseKind::ALL.into_iter().filter(move |kind| self.contains(*kind))
    }

    fn insert(&mut self, kind: NoiseKind) {
        self.0 |= 1 << kind as u16;
    }
}

impl fmt::Debug for AppliedNoise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(NoiseKind::as_str)).finish()
    }
}

impl Serialize for AppliedNoise {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for kind in self.iter() {
            seq.serialize_element(kind.as_str())?;
        }
        seq.end()
    }
}

/// The rates of one agency: the base rates times its noise scale.
struct Rates<'a> {
    noise: &'a Noise,
    scale: f64,
}

impl Rates<'_> {
    fn of(&self, rate: impl Fn(&Noise) -> f64) -> f64 {
        rate(self.noise) * self.scale
    }
}

/// How an agency with `profile` records `person`, and what went wrong.
pub(crate) fn observe(
    person: &Person,
    profile: &AgencyProfile,
    noise: &Noise,
    as_of: Date,
    rng: &mut Rng,
) -> (Subject, AppliedNoise) {
    let rates = Rates { noise, scale: profile.noise_scale };
    let mut applied = AppliedNoise::default();
    let mut apply = |kind: NoiseKind, rate: f64, rng: &mut Rng| {
        let hit = rng.chance(rate);
        if hit {
            applied.insert(kind);
        }
        hit
    };

    let mut family_name = person.family_name.clone();
    if !person.previous_family_names.is_empty()
        && apply(NoiseKind::PreviousSurname, rates.of(|n| n.previous_surname), rng)
    {
        family_name = rng.pick(&person.previous_family_names).clone();
    }
    if family_name.contains('-') && apply(NoiseKind::DoubleBarrelPart, rates.of(|n| n.double_barrel_part), rng) {
        family_name = double_barrel_part(&family_name, rng);
    }
    let mut given_name = person.given_name.to_owned();
    let variants = pools().variants(person.given_name);
    if !variants.is_empty() && apply(NoiseKind::Nickname, rates.of(|n| n.nickname), rng) {
        given_name = (*rng.pick(variants)).to_owned();
    }
    if (has_punctuation(&given_name) || has_punctuation(&family_name))
        && apply(NoiseKind::Punctuation, rates.of(|n| n.punctuation), rng)
    {
        let apostrophe = if rng.chance(0.7) { "" } else { " " };
        let hyphen = if rng.chance(0.6) { " " } else { "" };
        given_name = fold(&given_name, apostrophe, hyphen);
        family_name = fold(&family_name, apostrophe, hyphen);
    }
    if apply(NoiseKind::GivenNameTypo, rates.of(|n| n.given_name_typo), rng) {
        given_name = typo(&given_name, rng);
    }
    if apply(NoiseKind::FamilyNameTypo, rates.of(|n| n.family_name_typo), rng) {
        family_name = typo(&family_name, rng);
    }
    if apply(NoiseKind::UpperCase, rates.of(|n| n.upper_case), rng) {
        given_name = given_name.to_uppercase();
        family_name = family_name.to_uppercase();
    }

    let mut date_of_birth = person.date_of_birth;
    let swapped = swap_day_and_month(date_of_birth).filter(|d| *d <= as_of);
    if let Some(swapped) = swapped
        && apply(NoiseKind::DateOfBirthDayMonthSwapped, rates.of(|n| n.date_of_birth_day_month_swapped), rng)
    {
        date_of_birth = swapped;
    } else if apply(NoiseKind::DateOfBirthComponentOff, rates.of(|n| n.date_of_birth_component_off), rng) {
        date_of_birth = component_off(date_of_birth, as_of, rng);
    }

    let residences = &person.residences;
    let mut address = person.address();
    if residences.len() > 1 && apply(NoiseKind::PreviousAddress, rates.of(|n| n.previous_address), rng) {
        address = &rng.pick(&residences[..residences.len() - 1]).address;
    }
    let postcode = (!apply(NoiseKind::NoPostcode, rates.of(|n| n.no_postcode), rng)).then(|| address.postcode.clone());
    let sex = (!apply(NoiseKind::NoSex, rates.of(|n| n.no_sex), rng)).then_some(person.sex);
    let nhs_number = rng.chance(profile.nhs_number).then(|| person.nhs_number.clone());
    let upn = person.upn.as_ref().filter(|_| rng.chance(profile.upn)).cloned();
    let subject = Subject {
        given_name,
        family_name,
        date_of_birth,
        sex,
        nhs_number,
        upn,
        postcode,
        address: format!("{}, {}", address.line, address.town),
    };
    (subject, applied)
}

fn has_punctuation(name: &str) -> bool {
    !name.chars().all(|c| c.is_ascii_alphabetic())
}

/// "Smith-Jones" as "Smith", "Jones", "Smith Jones" or "Jones-Smith".
fn double_barrel_part(name: &str, rng: &mut Rng) -> String {
    let (first, second) = name.split_once('-').unwrap_or((name, name));
    match rng.below(4) {
        0 => first.to_owned(),
        1 => second.to_owned(),
        2 => format!("{first} {second}"),
        _ => format!("{second}-{first}"),
    }
}

/// A name as a system without accents or punctuation keeps it.
pub(crate) fn fold(name: &str, apostrophe: &str, hyphen: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\'' => folded.push_str(apostrophe),
            '-' => folded.push_str(hyphen),
            c if c.is_ascii() => folded.push(c),
            c => folded.push(strip_accent(c)),
        }
    }
    folded
}

fn strip_accent(c: char) -> char {
    const FROM: &str = "àáâäãåèéêëìíîïòóôöõøùúûüçñśšłżźćńęąÀÁÂÄÈÉÊËÌÍÎÏÒÓÔÖÙÚÛÜÇÑŚŠŁŻŹĆŃ";
    const TO: &str = "aaaaaaeeeeiiiioooooouuuucnsslzzcneaAAAAEEEEIIIIOOOOUUUUCNSSLZZCN";
    FROM.chars().position(|f| f == c).and_then(|i| TO.chars().nth(i)).unwrap_or(c)
}

/// One typing error in a letter of `name`; the result always differs.
pub(crate) fn typo(name: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let letters: Vec<usize> = (0..chars.len()).filter(|i| chars[*i].is_alphabetic()).collect();
    if letters.is_empty() {
        return name.to_owned();
    }
    let swappable: Vec<usize> = letters
        .iter()
        .copied()
        .filter(|i| chars.get(i + 1).is_some_and(|next| next.is_alphabetic() && !same_letter(*next, chars[*i])))
        .collect();
    let at = *rng.pick(&letters);
    match rng.below(4) {
        0 if !swappable.is_empty() => {
            let i = *rng.pick(&swappable);
            // Keep the capital at the front: "Jmaes", not "aJmes".
            let (a, b) = (chars[i], chars[i + 1]);
            chars[i] = if a.is_uppercase() { b.to_uppercase().next().unwrap_or(b) } else { b };
            chars[i + 1] = if a.is_uppercase() { a.to_lowercase().next().unwrap_or(a) } else { a };
        }
        2 if letters.len() >= 3 => {
            chars.remove(at);
            if at == 0 {
                chars[0] = chars[0].to_uppercase().next().unwrap_or(chars[0]);
            }
        }
        3 => chars.insert(at, chars[at]),
        _ => chars[at] = neighbour(chars[at], rng),
    }
    chars.into_iter().collect()
}

fn same_letter(a: char, b: char) -> bool {
    a.to_lowercase().eq(b.to_lowercase())
}

/// A key next to `c` on a UK keyboard, in the same case.
fn neighbour(c: char, rng: &mut Rng) -> char {
    const KEYS: [&str; 26] = [
        "qwsz", "vghn", "xdfv", "serfcx", "wsdr", "drtgvc", "ftyhbv", "gyujnb", "ujko", "huikmn", "jiolm", "kop",
        "njk", "bhjm", "iklp", "ol", "wa", "edft", "awedxz", "rfgy", "yhji", "cfgb", "qase", "zsdc", "tghu", "asx",
    ];
    let lower = strip_accent(c).to_ascii_lowercase();
    let near = if lower.is_ascii_lowercase() { KEYS[(lower as u8 - b'a') as usize] } else { "aeiou" };
    let pick = near.as_bytes()[rng.index(near.len())] as char;
    let pick = if pick == lower { 'e' } else { pick };
    if c.is_uppercase() { pick.to_ascii_uppercase() } else { pick }
}

fn swap_day_and_month(date: Date) -> Option<Date> {
    let (month, day) = (date.month() as u8, date.day());
    if day > 12 || day == month {
        return None;
    }
    Date::from_calendar_date(date.year(), Month::try_from(day).ok()?, month).ok()
}

/// The day, month or year one out; never after `as_of`.
fn component_off(date: Date, as_of: Date, rng: &mut Rng) -> Date {
    let sign: i32 = if rng.chance(0.5) { 1 } else { -1 };
    let first = rng.below(3) as usize;
    let (year, month, day) = (date.year(), date.month() as u8 as i32, i32::from(date.day()));
    let candidate = |component: usize, delta: i32| -> Option<Date> {
        let (y, m, d) = match component {
            0 => (year, month, day + delta),
            1 => (year, month + delta, day),
            _ => (year + delta, month, day),
        };
        let date = Date::from_calendar_date(y, Month::try_from(u8::try_from(m).ok()?).ok()?, u8::try_from(d).ok()?);
        date.ok().filter(|d| *d <= as_of)
    };
    [(first, sign), (first, -sign), (0, -1), (0, 1)]
        .into_iter()
        .find_map(|(component, delta)| candidate(component, delta))
        .unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::rng::Stream;

    #[test]
    fn typos_change_one_letter_and_keep_names_valid() {
        let mut rng = Rng::keyed(3, Stream::Seed, 9);
        for name in ["Amy", "Jo", "O'Brien", "Zoë", "Smith-Jones", "Li", "Anna"] {
            for _ in 0..200 {
                let typed = typo(name, &mut rng);
                assert_ne!(typed, name);
                assert!(typed.chars().all(|c| c.is_alphabetic() || " -'".contains(c)), "{typed}");
                let length = typed.chars().count() as i64 - name.chars().count() as i64;
                assert!((-1..=1).contains(&length), "{name} → {typed}");
            }
        }
    }

    #[test]
    fn folding_strips_accents_and_punctuation() {
        let cases = [
            ("Zoë", "", " ", "Zoe"),
            ("O'Brien", "", " ", "OBrien"),
            ("O'Brien", " ", " ", "O Brien"),
            ("Smith-Jones", "", " ", "Smith Jones"),
            ("Lily-Mae", "", "", "LilyMae"),
            ("Róisín", "", "", "Roisin"),
            ("Wiśniewski", "", "", "Wisniewski"),
        ];
        for (name, apostrophe, hyphen, folded) in cases {
            assert_eq!(fold(name, apostrophe, hyphen), folded);
        }
        let all = crate::names::surnames().iter().chain(crate::names::given_names(crate::Sex::Female));
        for name in all.chain(crate::names::given_names(crate::Sex::Male)) {
            assert!(fold(name, "", "").chars().all(|c| c.is_ascii_alphabetic() || c == ' '), "{name}");
        }
    }

    #[test]
    fn dates_of_birth_go_wrong_in_one_component() {
        let as_of = date!(2026 - 07 - 01);
        let cases = [
            (date!(2015 - 03 - 07), Some(date!(2015 - 07 - 03))),
            (date!(2015 - 03 - 03), None),
            (date!(2015 - 03 - 13), None),
        ];
        for (born, swapped) in cases {
            assert_eq!(swap_day_and_month(born), swapped);
        }
        let mut rng = Rng::keyed(4, Stream::Seed, 4);
        for born in [date!(2016 - 02 - 29), date!(2026 - 06 - 30), date!(2010 - 12 - 31), date!(2001 - 01 - 01)] {
            for _ in 0..100 {
                let off = component_off(born, as_of, &mut rng);
                let differ = [off.year() != born.year(), off.month() != born.month(), off.day() != born.day()];
                assert_eq!(differ.iter().filter(|d| **d).count(), 1, "{born} → {off}");
                assert!(off <= as_of);
            }
        }
    }
}
