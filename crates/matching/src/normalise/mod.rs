//! Normalisation at ingestion: raw agency text in, a compact [`MatchRecord`] out.
//!
//! Everything that can be decided once per record is decided here (folding,
//! nickname lookup, postcode parsing), so that comparing two records does no
//! allocation and no parsing.

mod names;
mod postcode;

use std::fmt;

use mash_domain::{DomainError, NhsNumber, Person, Upn, parse_date};
use time::Date;

pub(crate) use names::{NicknameCodes, formal_names, nickname_equivalent, skeleton};
pub use postcode::Postcode;

/// A person's identifying details as an agency sent them, before normalisation.
/// Empty strings mean "not known".
#[derive(Clone, Copy, Default)]
pub struct MatchInput<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    /// Surnames the person was known by before (after a separation, adoption or
    /// marriage), so that a changed surname still agrees.
    pub previous_family_names: &'a [&'a str],
    /// ISO 8601, as `mash_domain::parse_date` accepts.
    pub date_of_birth: &'a str,
    /// "F"/"M", "female"/"male", or the NHS codes "2"/"1"; unknown values
    /// ("U", "X", "0", "9") are treated as missing.
    pub sex: &'a str,
    pub postcode: &'a str,
    pub nhs_number: &'a str,
    pub upn: &'a str,
    /// Other names the person is known by, (given, family) each; either may be empty.
    pub aliases: &'a [(&'a str, &'a str)],
    /// House number and street ("12 High Street"; "Flat 3, 12 High St").
    pub address_line: &'a str,
    /// Earlier addresses, (address line, postcode) each; either may be empty.
    pub previous_addresses: &'a [(&'a str, &'a str)],
    /// The years the person may have been born in, first and last, when the
    /// date of birth is not known (an approximate age, a year of birth).
    pub birth_years: Option<(i32, i32)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    /// `Ok(None)` for the codes that mean "not known" or "not specified".
    pub fn parse(field: &str, raw: &str) -> Result<Option<Self>, DomainError> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "F" | "FEMALE" | "2" => Ok(Some(Sex::Female)),
            "M" | "MALE" | "1" => Ok(Some(Sex::Male)),
            "" | "U" | "UNKNOWN" | "X" | "I" | "INDETERMINATE" | "0" | "9" => Ok(None),
            _ => Err(DomainError::invalid(field, "must be F, M, female, male, or an NHS sex code")),
        }
    }
}

/// An earlier address: its postcode and its folded address line, either or both.
pub type EarlierAddress = (Option<Postcode>, Option<Box<str>>);

/// One person, normalised for matching. About 150 bytes inline plus a few
/// small allocations (given-name set, surname set, identifiers, address).
/// Debug output shows only which fields are present.
#[derive(Clone, PartialEq, Eq)]
pub struct MatchRecord {
    /// The given names, folded, '|'-separated: the first given name first, then
    /// middle names, then aliases' given names: "OLIVER|JAMES|OLLIE".
    pub(crate) given_names: Option<Box<str>>,
    /// How many of `given_names` are the person's own (the rest are aliases').
    pub(crate) own_given: u8,
    /// The given name's nickname groups, looked up once here rather than per comparison.
    pub(crate) nicknames: NicknameCodes,
    /// The surname first, then its alternates, '|'-separated: "SMITHJONES|SMITH|JONES".
    pub(crate) surnames: Option<Box<str>>,
    pub(crate) date_of_birth: Option<Date>,
    pub(crate) sex: Option<Sex>,
    pub(crate) postcode: Option<Postcode>,
    pub(crate) nhs_number: Option<NhsNumber>,
    pub(crate) upn: Option<Upn>,
    /// House number and street, folded: "12|HIGHSTREET".
    pub(crate) address_line: Option<Box<str>>,
    /// Earlier addresses, each a postcode and/or folded address line.
    pub(crate) previous_addresses: Box<[EarlierAddress]>,
    /// First and last possible year of birth, when the date is not known.
    pub(crate) birth_years: Option<(i32, i32)>,
}

impl MatchRecord {
    /// Normalises an agency's record. Names are folded, never rejected; a date,
    /// sex, postcode or identifier that does not parse is rejected naming its
    /// field, because a wrong value silently kept would match the wrong person.
    pub fn normalise(input: MatchInput<'_>) -> Result<Self, DomainError> {
        let date_of_birth = optional(input.date_of_birth, |raw| parse_date("date_of_birth", raw))?;
        let sex = Sex::parse("sex", input.sex)?;
        let mut record = Self::from_parts(
            Names {
                given: input.given_name,
                family: input.family_name,
                previous: input.previous_family_names,
                aliases: input.aliases,
            },
            sex,
        );
        record.date_of_birth = date_of_birth;
        record.birth_years = input.birth_years.filter(|_| date_of_birth.is_none()).map(|(a, b)| (a.min(b), a.max(b)));
        record.postcode = optional(input.postcode, |raw| Postcode::parse("postcode", raw))?;
        record.nhs_number = optional(input.nhs_number, |raw| NhsNumber::parse("nhs_number", raw))?;
        record.upn = optional(input.upn, |raw| Upn::parse("upn", raw))?;
        record.address_line = names::address_line(input.address_line);
        record.previous_addresses = input
            .previous_addresses
            .iter()
            .map(|(line, postcode)| (Postcode::parse("previous_addresses", postcode).ok(), names::address_line(line)))
            .filter(|(postcode, line)| postcode.is_some() || line.is_some())
            .collect();
        Ok(record)
    }

    /// Normalises a person as the broker asks for them, or as a feed holds
    /// them. The domain checks a postcode's shape less strictly than
    /// [`Postcode::parse`]; one that fails here is left out of the comparison
    /// rather than failing the search.
    pub fn from_person(person: &Person) -> Self {
        fn name(n: &Option<String>) -> &str {
            n.as_deref().unwrap_or_default()
        }
        let sex = person.sex.map(|sex| match sex {
            mash_domain::Sex::Female => Sex::Female,
            mash_domain::Sex::Male => Sex::Male,
        });
        let previous: Vec<&str> = person.previous_family_names.iter().map(String::as_str).collect();
        let aliases: Vec<(&str, &str)> =
            person.aliases.iter().map(|a| (a.given_name.as_str(), a.family_name.as_str())).collect();
        let names = Names {
            given: name(&person.given_name),
            family: name(&person.family_name),
            previous: &previous,
            aliases: &aliases,
        };
        let mut record = Self::from_parts(names, sex);
        record.date_of_birth = person.date_of_birth;
        record.birth_years = person.birth_years.filter(|_| person.date_of_birth.is_none());
        record.postcode = person.postcode.as_deref().and_then(|raw| Postcode::parse("postcode", raw).ok());
        record.nhs_number = person.nhs_number.clone();
        record.upn = person.upn.clone();
        record.address_line = person.address_line.as_deref().and_then(names::address_line);
        record.previous_addresses = person
            .previous_addresses
            .iter()
            .map(|a| {
                let postcode = a.postcode.as_deref().and_then(|raw| Postcode::parse("postcode", raw).ok());
                (postcode, a.address_line.as_deref().and_then(names::address_line))
            })
            .filter(|(postcode, line)| postcode.is_some() || line.is_some())
            .collect();
        record
    }

    fn from_parts(names: Names<'_>, sex: Option<Sex>) -> Self {
        let (given_names, own_given) = names::given_name_set(names.given, names.aliases);
        let first = given_names.as_deref().and_then(|set| set.split('|').next());
        let nicknames = first.map(names::nickname_codes).unwrap_or_default();
        let alias_surnames: Vec<&str> = names.aliases.iter().map(|(_, family)| *family).collect();
        let previous: Vec<&str> = names.previous.iter().copied().chain(alias_surnames).collect();
        Self {
            given_names,
            own_given,
            nicknames,
            surnames: names::surname_set(names.family, &previous),
            date_of_birth: None,
            sex,
            postcode: None,
            nhs_number: None,
            upn: None,
            address_line: None,
            previous_addresses: Box::default(),
            birth_years: None,
        }
    }

    /// The first given name, folded.
    pub fn given_name(&self) -> Option<&str> {
        self.given_names().next()
    }

    /// The given names: the first, the middle names, then aliases' given names.
    pub fn given_names(&self) -> impl Iterator<Item = &str> {
        self.given_names.as_deref().into_iter().flat_map(|s| s.split('|'))
    }

    /// The person's own given names, first and middle, without aliases'.
    pub(crate) fn own_given_names(&self) -> impl Iterator<Item = &str> {
        self.given_names().take(usize::from(self.own_given))
    }

    /// The first and last possible year of birth when only an approximate age
    /// or year is known.
    pub fn birth_years(&self) -> Option<(i32, i32)> {
        self.birth_years
    }

    /// House number and street, folded, '|'-separated.
    pub fn address_line(&self) -> Option<&str> {
        self.address_line.as_deref()
    }

    /// Earlier postcodes and address lines.
    pub fn previous_addresses(&self) -> &[EarlierAddress] {
        &self.previous_addresses
    }

    /// The current surname, folded, without its alternates.
    pub fn surname(&self) -> Option<&str> {
        self.surnames().next()
    }

    /// The current surname, then the parts of a double-barrelled one and previous surnames.
    pub fn surnames(&self) -> impl Iterator<Item = &str> {
        self.surnames.as_deref().into_iter().flat_map(|s| s.split('|'))
    }

    pub fn date_of_birth(&self) -> Option<Date> {
        self.date_of_birth
    }

    pub fn sex(&self) -> Option<Sex> {
        self.sex
    }

    pub fn postcode(&self) -> Option<&Postcode> {
        self.postcode.as_ref()
    }

    pub fn nhs_number(&self) -> Option<&NhsNumber> {
        self.nhs_number.as_ref()
    }

    pub fn upn(&self) -> Option<&Upn> {
        self.upn.as_ref()
    }

    /// Bytes this record has asked for on the heap (before allocator rounding),
    /// for sizing an in-memory index.
    pub fn heap_bytes(&self) -> usize {
        let len = |s: Option<&str>| s.map_or(0, str::len);
        len(self.given_names.as_deref())
            + len(self.surnames.as_deref())
            + len(self.address_line.as_deref())
            + self.previous_addresses.len() * size_of::<EarlierAddress>()
            + self.previous_addresses.iter().map(|(_, line)| len(line.as_deref())).sum::<usize>()
            + len(self.nhs_number.as_ref().map(NhsNumber::as_str))
            + len(self.upn.as_ref().map(Upn::as_str))
    }
}

impl fmt::Debug for MatchRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present = |yes: bool| if yes { "<redacted>" } else { "-" };
        f.debug_struct("MatchRecord")
            .field("given_names", &present(self.given_names.is_some()))
            .field("surnames", &present(self.surnames.is_some()))
            .field("date_of_birth", &present(self.date_of_birth.is_some()))
            .field("sex", &present(self.sex.is_some()))
            .field("postcode", &present(self.postcode.is_some()))
            .field("nhs_number", &present(self.nhs_number.is_some()))
            .field("upn", &present(self.upn.is_some()))
            .field("address_line", &present(self.address_line.is_some()))
            .field("previous_addresses", &present(!self.previous_addresses.is_empty()))
            .field("birth_years", &present(self.birth_years.is_some()))
            .finish()
    }
}

/// The name fields of a record, raw.
struct Names<'a> {
    given: &'a str,
    family: &'a str,
    previous: &'a [&'a str],
    aliases: &'a [(&'a str, &'a str)],
}

fn optional<T>(raw: &str, parse: impl FnOnce(&str) -> Result<T, DomainError>) -> Result<Option<T>, DomainError> {
    let raw = raw.trim();
    if raw.is_empty() { Ok(None) } else { parse(raw).map(Some) }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn full() -> MatchInput<'static> {
        MatchInput {
            given_name: "Zoë Anne",
            family_name: "O'Brien-Smith",
            previous_family_names: &["Kowalska"],
            date_of_birth: "2015-03-04",
            sex: "f",
            postcode: "ls62ab",
            nhs_number: "943 476 5919",
            upn: "H801200001001",
            ..Default::default()
        }
    }

    #[test]
    fn a_full_record_is_normalised() {
        let record = MatchRecord::normalise(full()).expect("valid");
        assert_eq!(record.given_name(), Some("ZOE"));
        assert_eq!(record.given_names().collect::<Vec<_>>(), ["ZOE", "ANNE"]);
        assert_eq!(record.surnames().collect::<Vec<_>>(), ["OBRIENSMITH", "OBRIEN", "SMITH", "KOWALSKA"]);
        assert_eq!(record.surname(), Some("OBRIENSMITH"));
        assert_eq!(record.date_of_birth(), Some(date!(2015 - 03 - 04)));
        assert_eq!(record.sex(), Some(Sex::Female));
        assert_eq!(record.postcode().map(ToString::to_string).as_deref(), Some("LS6 2AB"));
        assert_eq!(record.nhs_number().map(NhsNumber::as_str), Some("9434765919"));
        assert_eq!(record.upn().map(Upn::as_str), Some("H801200001001"));
    }

    #[test]
    fn empty_fields_are_missing_not_errors() {
        let record = MatchRecord::normalise(MatchInput { sex: "9", ..Default::default() }).expect("valid");
        let names = Names { given: "", family: "", previous: &[], aliases: &[] };
        assert_eq!(record, MatchRecord::from_parts(names, None));
    }

    #[test]
    fn bad_values_are_rejected_naming_the_field() {
        let cases = [
            (MatchInput { date_of_birth: "04/03/2015", ..full() }, "date_of_birth"),
            (MatchInput { date_of_birth: "2015-02-30", ..full() }, "date_of_birth"),
            (MatchInput { sex: "Q", ..full() }, "sex"),
            (MatchInput { postcode: "LS6", ..full() }, "postcode"),
            (MatchInput { nhs_number: "9434765918", ..full() }, "nhs_number"),
            (MatchInput { upn: "A801200001001", ..full() }, "upn"),
        ];
        for (input, field) in cases {
            let err = MatchRecord::normalise(input).expect_err(field);
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn sexes_are_read_in_the_usual_codes() {
        let cases = [("F", Some(Sex::Female)), ("female", Some(Sex::Female)), ("2", Some(Sex::Female))]
            .into_iter()
            .chain([("M", Some(Sex::Male)), (" Male ", Some(Sex::Male)), ("1", Some(Sex::Male))])
            .chain([("", None), ("U", None), ("X", None), ("0", None), ("9", None)]);
        for (raw, sex) in cases {
            assert_eq!(Sex::parse("sex", raw), Ok(sex), "{raw}");
        }
    }

    #[test]
    fn a_domain_person_normalises_the_same_way() {
        let person = Person {
            given_name: Some("Zoë Anne".into()),
            family_name: Some("O'Brien-Smith".into()),
            date_of_birth: Some(date!(2015 - 03 - 04)),
            nhs_number: Some(NhsNumber::parse("nhs", "9434765919").expect("valid")),
            upn: None,
            postcode: Some("LS6 2AB".into()),
            sex: Some(mash_domain::Sex::Female),
            previous_family_names: vec![],
            birth_years: None,
            address_line: Some("12 High St".into()),
            aliases: vec![mash_domain::Alias { given_name: "Jo".into(), family_name: "Kowalska".into() }],
            previous_addresses: vec![mash_domain::PreviousAddress {
                address_line: None,
                postcode: Some("M1 1AE".into()),
            }],
        };
        let from_person = MatchRecord::from_person(&person);
        let input = MatchInput {
            previous_family_names: &[],
            upn: "",
            address_line: "12 High Street",
            aliases: &[("Jo", "Kowalska")],
            previous_addresses: &[("", "m11ae")],
            ..full()
        };
        assert_eq!(from_person, MatchRecord::normalise(input).expect("valid"));
    }

    #[test]
    fn records_are_compact_and_debug_hides_them() {
        let record = MatchRecord::normalise(full()).expect("valid");
        assert!(size_of::<MatchRecord>() <= 176, "{} bytes inline", size_of::<MatchRecord>());
        assert!(record.heap_bytes() <= 64, "{} bytes on the heap", record.heap_bytes());
        let debug = format!("{record:?}");
        for secret in ["ZOE", "OBRIEN", "2015", "LS6", "943", "H80"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
