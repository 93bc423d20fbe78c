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

/// What a referrer or an agency may know besides [`PersonInput`]'s fields:
/// each optional, so a partial referral is still a person to search for.
#[derive(Clone, Copy, Default)]
pub struct PersonDetails<'a> {
    /// An approximate age in whole years ("about 7"), when the date of birth is not known.
    pub approximate_age: Option<u8>,
    /// The year of birth, or the first and last years it may be, when the date is not known.
    pub birth_years: Option<(i32, i32)>,
    /// House number and street.
    pub address_line: &'a str,
    /// Other names the person is known by (also known as), given and family each.
    pub aliases: &'a [(&'a str, &'a str)],
    /// Earlier addresses, address line and postcode each.
    pub previous_addresses: &'a [(&'a str, &'a str)],
}

/// Another name a person is known by.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Alias {
    pub given_name: String,
    pub family_name: String,
}

/// An earlier address: either part may be empty.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PreviousAddress {
    pub address_line: Option<String>,
    pub postcode: Option<String>,
}

/// A valid person with something to search by: an identifier, or a name with
/// a date or years of birth, a postcode or an address line, or a full name.
/// Debug output never shows any of it.
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
    /// The first and last year the person may have been born in, when the
    /// date of birth is not known (from an approximate age or a year).
    pub birth_years: Option<(i32, i32)>,
    pub address_line: Option<String>,
    pub aliases: Vec<Alias>,
    pub previous_addresses: Vec<PreviousAddress>,
}

/// A person parsed from an agency's record: identifiers failing their check are
/// kept aside (never matched on) and each reported as a warning naming its field.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub person: Person,
    pub warnings: Vec<DomainError>,
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
        Self::parse_with(field, input, PersonDetails::default(), today)
    }

    /// [`Person::parse`] with the details a partial referral or record may carry.
    pub fn parse_with(
        field: &str,
        input: PersonInput<'_>,
        details: PersonDetails<'_>,
        today: Date,
    ) -> Result<Self, DomainError> {
        let parse = || -> Result<Self, DomainError> {
            let mut person = Self::parse_fields(input, details, today)?;
            person.nhs_number = optional(input.nhs_number, |raw| NhsNumber::parse("nhs_number", raw))?;
            person.upn = optional(input.upn, |raw| Upn::parse("upn", raw))?;
            Ok(person)
        };
        parse().map_err(|e| e.within(field))?.searchable(field)
    }

    /// Parses an agency's record: as [`Person::parse_with`], except that an NHS
    /// number or UPN failing its check is quarantined: left out of the person
    /// (so never used to match) and returned as a warning naming the field,
    /// rather than rejecting a record whose other details are good.
    pub fn parse_record(
        field: &str,
        input: PersonInput<'_>,
        details: PersonDetails<'_>,
        today: Date,
    ) -> Result<Parsed, DomainError> {
        let mut person = Self::parse_fields(input, details, today).map_err(|e| e.within(field))?;
        let mut warnings = Vec::new();
        person.nhs_number =
            quarantine(optional(input.nhs_number, |raw| NhsNumber::parse("nhs_number", raw)), field, &mut warnings);
        person.upn = quarantine(optional(input.upn, |raw| Upn::parse("upn", raw)), field, &mut warnings);
        Ok(Parsed { person: person.searchable(field)?, warnings })
    }

    /// Every field but the identifiers.
    fn parse_fields(input: PersonInput<'_>, details: PersonDetails<'_>, today: Date) -> Result<Self, DomainError> {
        // Fields are named bare and prefixed only on error: a feed parses every record it takes
        // in, and formatting eight field paths per valid record was 6.6% of a push's CPU.
        let date_of_birth = parse_date_of_birth("date_of_birth", input.date_of_birth, today)?;
        Ok(Self {
            given_name: parse_name("given_name", input.given_name)?,
            family_name: parse_name("family_name", input.family_name)?,
            birth_years: if date_of_birth.is_some() { None } else { parse_birth_years(details, today)? },
            date_of_birth,
            nhs_number: None,
            upn: None,
            postcode: optional(input.postcode, |raw| parse_postcode("postcode", raw))?,
            sex: Sex::parse_code("sex", input.sex)?,
            previous_family_names: parse_previous_names("previous_family_names", input.previous_family_names)?,
            address_line: parse_address_line("address_line", details.address_line)?,
            aliases: parse_aliases("aliases", details.aliases)?,
            previous_addresses: parse_previous_addresses("previous_addresses", details.previous_addresses)?,
        })
    }

    /// The person, unless there is nothing to search by at all.
    fn searchable(self, field: &str) -> Result<Self, DomainError> {
        if self.is_searchable() {
            return Ok(self);
        }
        Err(DomainError::invalid(
            field,
            "the subject is empty: there is nothing to search by; give an NHS number, a UPN, or a name with a \
             date of birth, an approximate age, a postcode or an address line",
        ))
    }

    fn is_searchable(&self) -> bool {
        let named = self.given_name.is_some() || self.family_name.is_some() || !self.aliases.is_empty();
        let placed = self.date_of_birth.is_some()
            || self.birth_years.is_some()
            || self.postcode.is_some()
            || self.address_line.is_some()
            || self.previous_addresses.iter().any(|a| a.postcode.is_some() || a.address_line.is_some());
        self.nhs_number.is_some()
            || self.upn.is_some()
            || named && placed
            || self.given_name.is_some() && self.family_name.is_some()
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

/// The value, or None with the error kept as a warning.
fn quarantine<T>(result: Result<Option<T>, DomainError>, field: &str, warnings: &mut Vec<DomainError>) -> Option<T> {
    result.unwrap_or_else(|e| {
        warnings.push(e.within(field));
        None
    })
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
/// An approximate age is taken to be within this many years either way.
const AGE_TOLERANCE_YEARS: i32 = 1;
const MAX_ADDRESS_CHARS: usize = 200;

/// The years of birth from an approximate age or a year range, checked.
fn parse_birth_years(details: PersonDetails<'_>, today: Date) -> Result<Option<(i32, i32)>, DomainError> {
    let from_age = details.approximate_age.map(|age| {
        let born = today.year() - i32::from(age);
        // Someone aged 7 today was born 7 or 8 years ago; an estimate may be a year out either way.
        (born - 1 - AGE_TOLERANCE_YEARS, born + AGE_TOLERANCE_YEARS)
    });
    if let Some(age) = details.approximate_age.filter(|age| *age > 125) {
        return Err(DomainError::invalid("approximate_age", format!("{age} is not an age")));
    }
    let Some((first, last)) = details.birth_years.or(from_age) else { return Ok(None) };
    let (first, last) = (first.min(last), first.max(last).min(today.year()));
    if first < 1900 || first > today.year() {
        return Err(DomainError::invalid("birth_years", "must lie between 1900 and this year"));
    }
    if last - first > 10 {
        return Err(DomainError::invalid("birth_years", "span more than ten years"));
    }
    Ok(Some((first, last)))
}

fn parse_address_line(field: &str, raw: &str) -> Result<Option<String>, DomainError> {
    optional(raw, |line| {
        if line.chars().count() > MAX_ADDRESS_CHARS {
            return Err(DomainError::invalid(field, "is longer than 200 characters"));
        }
        if line.chars().any(char::is_control) {
            return Err(DomainError::invalid(field, "may not hold control characters"));
        }
        Ok(line.to_owned())
    })
}

fn parse_aliases(field: &str, raw: &[(&str, &str)]) -> Result<Vec<Alias>, DomainError> {
    if raw.len() > MAX_PREVIOUS_NAMES {
        return Err(DomainError::invalid(field, format!("holds more than {MAX_PREVIOUS_NAMES} names")));
    }
    let mut aliases = Vec::with_capacity(raw.len());
    for (i, (given, family)) in raw.iter().enumerate() {
        let given = parse_name(&format!("{field}[{i}].given_name"), given)?;
        let family = parse_name(&format!("{field}[{i}].family_name"), family)?;
        if given.is_some() || family.is_some() {
            aliases.push(Alias { given_name: given.unwrap_or_default(), family_name: family.unwrap_or_default() });
        }
    }
    Ok(aliases)
}

fn parse_previous_addresses(field: &str, raw: &[(&str, &str)]) -> Result<Vec<PreviousAddress>, DomainError> {
    if raw.len() > MAX_PREVIOUS_NAMES {
        return Err(DomainError::invalid(field, format!("holds more than {MAX_PREVIOUS_NAMES} addresses")));
    }
    let mut addresses = Vec::with_capacity(raw.len());
    for (i, (line, postcode)) in raw.iter().enumerate() {
        let address_line = parse_address_line(&format!("{field}[{i}].address_line"), line)?;
        let postcode = optional(postcode, |raw| parse_postcode(&format!("{field}[{i}].postcode"), raw))?;
        if address_line.is_some() || postcode.is_some() {
            addresses.push(PreviousAddress { address_line, postcode });
        }
    }
    Ok(addresses)
}

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
            (PersonInput { given_name: "", date_of_birth: "", ..full }, "subject"),
            (PersonInput { family_name: "", date_of_birth: "", ..full }, "subject"),
        ];
        for (input, field) in cases {
            let err = parse(input).expect_err(field);
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn partial_subjects_are_people_to_search_for() {
        let amy = PersonInput { given_name: "Amy", ..Default::default() };
        let about_seven = PersonDetails { approximate_age: Some(7), ..Default::default() };
        let cases = [
            (amy, about_seven),
            (PersonInput { family_name: "Lee", ..Default::default() }, about_seven),
            (PersonInput { postcode: "LS1 1AA", ..amy }, PersonDetails::default()),
            (amy, PersonDetails { address_line: "12 High Street", ..Default::default() }),
            (PersonInput { family_name: "Lee", ..amy }, PersonDetails::default()),
            (
                PersonInput::default(),
                PersonDetails { aliases: &[("Jo", "")], birth_years: Some((2014, 2015)), ..Default::default() },
            ),
        ];
        for (i, (input, details)) in cases.into_iter().enumerate() {
            let person = Person::parse_with("subject", input, details, TODAY);
            assert!(person.is_ok(), "case {i}: {person:?}");
        }
        let person = Person::parse_with("subject", amy, about_seven, TODAY).expect("valid");
        assert_eq!(person.birth_years, Some((2017, 2020)), "born 2018 or 2019, a year either way");
        let nothing = [
            (PersonInput::default(), PersonDetails::default()),
            (amy, PersonDetails::default()),
            (PersonInput { sex: "F", ..Default::default() }, about_seven),
        ];
        for (input, details) in nothing {
            let err = Person::parse_with("subject", input, details, TODAY).expect_err("nothing to search by");
            assert_eq!(err.field, "subject", "{err}");
        }
        let bad = [
            (PersonDetails { approximate_age: Some(200), ..about_seven }, "subject.approximate_age"),
            (PersonDetails { birth_years: Some((1800, 1801)), ..Default::default() }, "subject.birth_years"),
            (PersonDetails { aliases: &[("J0", "")], ..about_seven }, "subject.aliases[0].given_name"),
            (
                PersonDetails { previous_addresses: &[("", "nope")], ..about_seven },
                "subject.previous_addresses[0].postcode",
            ),
        ];
        for (details, field) in bad {
            let err = Person::parse_with("subject", amy, details, TODAY).expect_err(field);
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn identifiers_failing_their_check_are_quarantined_in_records() {
        let input = PersonInput {
            given_name: "Amy",
            family_name: "Lee",
            date_of_birth: "2015-01-02",
            nhs_number: "9434765918",
            upn: "A801200001001",
            ..Default::default()
        };
        let parsed = Person::parse_record("subject", input, PersonDetails::default(), TODAY).expect("stored");
        assert_eq!((parsed.person.nhs_number.as_ref(), parsed.person.upn.as_ref()), (None, None));
        let fields: Vec<&str> = parsed.warnings.iter().map(|w| w.field.as_str()).collect();
        assert_eq!(fields, ["subject.nhs_number", "subject.upn"]);
        let only_a_bad_number = PersonInput { nhs_number: "9434765918", ..Default::default() };
        let err = Person::parse_record("subject", only_a_bad_number, PersonDetails::default(), TODAY);
        assert_eq!(err.expect_err("nothing left to search by").field, "subject");
        let no_date = PersonInput { date_of_birth: "", nhs_number: "", upn: "", postcode: "LS1 1AA", ..input };
        let parsed = Person::parse_record("subject", no_date, PersonDetails::default(), TODAY).expect("stored");
        assert!(parsed.warnings.is_empty());
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
