//! A person as searched for and as held by an agency.

use std::fmt;

use time::{Date, format_description::well_known::Iso8601};

use crate::{DomainError, NhsNumber, Sex, Upn};

/// The raw text of a person as it arrives at the edge, before parsing.
#[derive(Clone, Copy, Default)]
pub struct PersonInput<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub date_of_birth: &'a str,
    pub nhs_number: &'a str,
    pub upn: &'a str,
    pub postcode: &'a str,
    /// F/M, female/male, or the NHS codes 1/2; empty, U, X, 0 or 9 for unknown.
    pub sex: &'a str,
    /// Surnames the person was known by before, e.g. before a marriage.
    pub previous_family_names: &'a [String],
}

/// A valid, identifiable person: at least an NHS number, a UPN, or a full name
/// with a date of birth. Debug output never shows any of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<Date>,
    pub nhs_number: Option<NhsNumber>,
    pub upn: Option<Upn>,
    pub postcode: Option<String>,
    pub sex: Option<Sex>,
    pub previous_family_names: Vec<String>,
}

/// A key a feed can look a person up by. Deterministic keys only; fuzzy
/// matching builds on these.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MatchKey {
    NhsNumber(String),
    Upn(String),
    NameAndDateOfBirth(String),
}

impl MatchKey {
    /// How the match was made, as reported to the broker.
    pub fn method(&self) -> &'static str {
        match self {
            MatchKey::NhsNumber(_) => "nhs-number",
            MatchKey::Upn(_) => "upn",
            MatchKey::NameAndDateOfBirth(_) => "name-and-date-of-birth",
        }
    }

    /// The text that identifies the key, prefixed by its kind so that no two
    /// kinds of key can collide.
    pub fn canonical(&self) -> String {
        match self {
            MatchKey::NhsNumber(v) | MatchKey::Upn(v) | MatchKey::NameAndDateOfBirth(v) => {
                format!("{}:{v}", self.method())
            }
        }
    }
}

const MAX_NAME_CHARS: usize = 100;

impl Person {
    /// Parses a person; `today` bounds the date of birth. `field` prefixes the
    /// field names in errors, e.g. `subjects[1].person`.
    pub fn parse(field: &str, input: PersonInput<'_>, today: Date) -> Result<Self, DomainError> {
        // Fields are named bare and prefixed only on error: a feed parses every record it takes
        // in, and formatting eight field paths per valid record was 6.6% of a push's CPU.
        let parse = || -> Result<Self, DomainError> {
            Ok(Self {
                given_name: parse_name("given_name", input.given_name)?,
                family_name: parse_name("family_name", input.family_name)?,
                date_of_birth: parse_date_of_birth("date_of_birth", input.date_of_birth, today)?,
                nhs_number: optional(input.nhs_number, |raw| NhsNumber::parse("nhs_number", raw))?,
                upn: optional(input.upn, |raw| Upn::parse("upn", raw))?,
                postcode: optional(input.postcode, |raw| parse_postcode("postcode", raw))?,
                sex: Sex::parse_code("sex", input.sex)?,
                previous_family_names: parse_previous_names("previous_family_names", input.previous_family_names)?,
            })
        };
        let person = parse().map_err(|e| e.within(field))?;
        if !person.has_match_key() {
            return Err(DomainError::invalid(
                field,
                "the subject is empty: give an NHS number, a UPN, or a given name, family name and date of birth",
            ));
        }
        Ok(person)
    }

    /// Whether [`Person::match_keys`] has any, without building them.
    fn has_match_key(&self) -> bool {
        self.nhs_number.is_some()
            || self.upn.is_some()
            || (self.given_name.is_some() && self.family_name.is_some() && self.date_of_birth.is_some())
    }

    /// The keys to look this person up by, strongest first.
    pub fn match_keys(&self) -> Vec<MatchKey> {
        let mut keys = Vec::new();
        if let Some(nhs) = &self.nhs_number {
            keys.push(MatchKey::NhsNumber(nhs.as_str().to_owned()));
        }
        if let Some(upn) = &self.upn {
            keys.push(MatchKey::Upn(upn.as_str().to_owned()));
        }
        if let (Some(given), Some(family), Some(dob)) = (&self.given_name, &self.family_name, self.date_of_birth) {
            keys.push(MatchKey::NameAndDateOfBirth(format!("{}|{}|{dob}", fold(family), fold(given))));
        }
        keys
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Person(<redacted>)")
    }
}

fn optional<T>(raw: &str, parse: impl FnOnce(&str) -> Result<T, DomainError>) -> Result<Option<T>, DomainError> {
    let raw = raw.trim();
    if raw.is_empty() { Ok(None) } else { parse(raw).map(Some) }
}

fn parse_name(field: &str, raw: &str) -> Result<Option<String>, DomainError> {
    optional(raw, |name| {
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(DomainError::invalid(field, "is longer than 100 characters"));
        }
        if !name.chars().all(|c| c.is_alphabetic() || " -'.".contains(c)) {
            return Err(DomainError::invalid(
                field,
                "may hold only letters, spaces, hyphens, apostrophes and full stops",
            ));
        }
        Ok(name.to_owned())
    })
}

const MAX_PREVIOUS_NAMES: usize = 5;

fn parse_previous_names(field: &str, raw: &[String]) -> Result<Vec<String>, DomainError> {
    if raw.len() > MAX_PREVIOUS_NAMES {
        return Err(DomainError::invalid(field, format!("holds more than {MAX_PREVIOUS_NAMES} names")));
    }
    let mut names = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        names.extend(parse_name(&format!("{field}[{i}]"), name)?);
    }
    Ok(names)
}

/// Parses an ISO 8601 calendar date, naming the field on failure.
pub fn parse_date(field: &str, raw: &str) -> Result<Date, DomainError> {
    Date::parse(raw.trim(), &Iso8601::DATE)
        .map_err(|_| DomainError::invalid(field, "must be a date in the form YYYY-MM-DD"))
}

fn parse_date_of_birth(field: &str, raw: &str, today: Date) -> Result<Option<Date>, DomainError> {
    optional(raw, |raw| {
        let date = parse_date(field, raw)?;
        if date > today {
            return Err(DomainError::invalid(field, "is in the future"));
        }
        if date.year() < 1900 {
            return Err(DomainError::invalid(field, "is before 1900"));
        }
        Ok(date)
    })
}

fn parse_postcode(field: &str, raw: &str) -> Result<String, DomainError> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let shape_ok = (5..=7).contains(&compact.len())
        && compact.chars().all(|c| c.is_ascii_alphanumeric())
        && compact.starts_with(|c: char| c.is_ascii_alphabetic());
    if !shape_ok {
        return Err(DomainError::invalid(field, "is not a UK postcode"));
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    Ok(format!("{outward} {inward}"))
}

/// Folds a name for exact comparison: lower case, letters only, so that
/// "O'Neil-Smith" and "oneil smith" agree. Fuzzy matching builds on this.
fn fold(name: &str) -> String {
    name.chars().filter(|c| c.is_alphabetic()).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 11 - 23);

    fn parse(input: PersonInput<'_>) -> Result<Person, DomainError> {
        Person::parse("subject", input, TODAY)
    }

    #[test]
    fn bad_people_are_rejected_naming_the_field() {
        let full =
            PersonInput { given_name: "Amy", family_name: "Lee", date_of_birth: "2015-01-02", ..Default::default() };
        let cases = [
            (PersonInput::default(), "subject"),
            (PersonInput { nhs_number: "9434765918", ..full }, "subject.nhs_number"),
            (PersonInput { upn: "A801200001001", ..full }, "subject.upn"),
            (PersonInput { date_of_birth: "2027-01-01", ..full }, "subject.date_of_birth"),
            (PersonInput { date_of_birth: "02/01/2015", ..full }, "subject.date_of_birth"),
            (PersonInput { given_name: "Amy3", ..full }, "subject.given_name"),
            (PersonInput { postcode: "not a postcode", ..full }, "subject.postcode"),
            (PersonInput { given_name: "", ..full }, "subject"),
        ];
        for (input, field) in cases {
            let err = parse(input).expect_err(field);
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn match_keys_fold_names_and_keep_identifiers() {
        let person = parse(PersonInput {
            given_name: "Amy",
            family_name: "O'Neil-Smith",
            date_of_birth: "2015-01-02",
            nhs_number: "943 476 5919",
            postcode: "ls11aa",
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(person.postcode.as_deref(), Some("LS1 1AA"));
        let keys: Vec<String> = person.match_keys().iter().map(MatchKey::canonical).collect();
        assert_eq!(keys, ["nhs-number:9434765919", "name-and-date-of-birth:oneilsmith|amy|2015-01-02"]);
    }
}
