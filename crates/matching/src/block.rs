//! Blocking keys: which stored records are worth scoring against a query.
//!
//! A feed stores each record's keys as HMAC blind indexes, computes the same
//! keys for a query, and scores only the records that share at least one.
//! Every key is built the same way for a stored record and for a query, so a
//! true pair is found whenever it agrees on any one key:
//!
//! | key       | built from                                      | survives                                   |
//! |-----------|-------------------------------------------------|--------------------------------------------|
//! | `nhs`     | NHS number                                      | everything else wrong                      |
//! | `upn`     | UPN                                             | everything else wrong                      |
//! | `sn-ydm`  | Soundex of each surname and alternate + year + day, and the same + month, as two keys | first-name change, an error in day or month, transposed date, move |
//! | `fi-dob`  | first initial (own, formal and aliases') + date, day and month unordered | surname change, move, transposed date |
//! | `pc-yob`  | each postcode (current and previous) + birth year | name changes at the same address        |
//! | `name-dm` | first initial + each surname's Soundex + day/month unordered | year error, move             |
//! | `name-pd` | first initial + each surname's Soundex + postcode district | missing or wrong date of birth |
//! | `fi-pc`   | first initial + each postcode (current and previous) | no surname, no date of birth, a surname change |
//! | `fi-al`   | first initial + each address line (house number and street) | no postcode                      |
//! | `al-yob`  | each address line + birth year                  | both names changed, no postcode            |
//! | `fn-sy`   | first name (and formal name) + surname Soundex + year of birth, each year of an approximate age | a wrong or estimated day and month |
//! | `fn-sn`   | first name + surname Soundex, only on records with no date or years of birth | records held without a date of birth |
//!
//! A query looks up the same keys and some of its own, which no stored record
//! needs to carry ([`for_each_query_key`]): its names swapped (the surname's
//! initial with the date, the first name's Soundex with year and day/month),
//! `fn-sy` for the year either side of its date (a year one out, an estimated
//! date), each year of its approximate age, or, with neither, each of the last
//! 25 years (the children a MASH asks about), and `fn-sn` always (the records
//! held without a date).
//!
use std::collections::BTreeSet;
use std::fmt::{self, Write};

use crate::compare::soundex;
use crate::normalise::{MatchRecord, formal_names};

/// A blocking key as plain text, "kind:value", for the feed to HMAC. It holds
/// personal data, so Debug shows only its kind.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockingKey(String);

impl BlockingKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's kind, e.g. "sn-ydm": safe to log and to count.
    pub fn kind(&self) -> &str {
        self.0.split_once(':').map_or("", |(kind, _)| kind)
    }
}

impl fmt::Debug for BlockingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockingKey({}:<redacted>)", self.kind())
    }
}

/// The keys to index a record under; no duplicates.
pub fn blocking_keys(record: &MatchRecord) -> Vec<BlockingKey> {
    collect(|each| for_each_blocking_key(record, each))
}

/// The keys to look a query up by: [`blocking_keys`] and the query's own
/// probes (see the module's table); no duplicates.
pub fn query_keys(record: &MatchRecord) -> Vec<BlockingKey> {
    collect(|each| for_each_query_key(record, each))
}

fn collect(keys: impl FnOnce(&mut dyn FnMut(&str))) -> Vec<BlockingKey> {
    let mut set = BTreeSet::new();
    keys(&mut |key: &str| {
        set.insert(BlockingKey(key.to_owned()));
    });
    set.into_iter().collect()
}

/// Writes "kind:value" keys into one reused buffer.
struct Writer<'f> {
    key: String,
    each: &'f mut dyn FnMut(&str),
}

impl Writer<'_> {
    fn add(&mut self, kind: &str, value: fmt::Arguments<'_>) {
        self.key.clear();
        self.key.push_str(kind);
        self.key.push(':');
        // Writing into a String cannot fail.
        let _ = self.key.write_fmt(value);
        (self.each)(&self.key);
    }
}

/// Calls `each` with the text of every key of [`blocking_keys`], the same "kind:value", but
/// written into one reused buffer: a feed blinds the keys of a million pushed records and needs
/// no string for each. A key may be given more than once.
pub fn for_each_blocking_key(record: &MatchRecord, mut each: impl FnMut(&str)) {
    let mut out = Writer { key: String::with_capacity(32), each: &mut each };
    stored_keys(record, &mut out);
}

/// [`for_each_blocking_key`] for a query: the stored keys, then the query's own probes.
pub fn for_each_query_key(record: &MatchRecord, mut each: impl FnMut(&str)) {
    let mut out = Writer { key: String::with_capacity(32), each: &mut each };
    stored_keys(record, &mut out);
    let sounds = sounds(record);
    let firsts = first_names(record);
    let date = record.date_of_birth();
    // Given and family names swapped in the stored record.
    if let Some(date) = date {
        let (low, high) = day_month(date);
        for initial in record.surnames().filter_map(|s| s.chars().next()) {
            out.add("fi-dob", format_args!("{initial}|{}|{low:02}{high:02}", date.year()));
        }
        if let Some(sound) = record.given_name().map(sound_of) {
            for part in [date.day(), u8::from(date.month())] {
                out.add("sn-ydm", format_args!("{sound}|{}|{part}", date.year()));
            }
        }
    }
    let years = match (date, record.birth_years()) {
        (Some(date), _) => Some((date.year() - 1, date.year() + 1)),
        (None, Some(years)) => Some(years),
        // Nothing known of the age: the children a MASH asks about, born in the last 25 years.
        (None, None) => {
            let this_year = time::OffsetDateTime::now_utc().year();
            Some((this_year - UNDATED_YEARS, this_year))
        }
    };
    for name in &firsts {
        for sound in &sounds {
            if let Some((first, last)) = years {
                for year in first..=last {
                    out.add("fn-sy", format_args!("{name}|{sound}|{year}"));
                }
            }
            out.add("fn-sn", format_args!("{name}|{sound}"));
        }
    }
}

fn stored_keys(record: &MatchRecord, out: &mut Writer<'_>) {
    if let Some(nhs) = record.nhs_number() {
        out.add("nhs", format_args!("{}", nhs.as_str()));
    }
    if let Some(upn) = record.upn() {
        out.add("upn", format_args!("{}", upn.as_str()));
    }
    let initials = initials(record);
    let sounds = sounds(record);
    let date = record.date_of_birth();
    let postcodes: Vec<&str> = record
        .postcode()
        .into_iter()
        .chain(record.previous_addresses().iter().filter_map(|(p, _)| p.as_ref()))
        .map(|p| p.compact())
        .collect();
    let lines: Vec<&str> = record
        .address_line()
        .into_iter()
        .chain(record.previous_addresses().iter().filter_map(|(_, l)| l.as_deref()))
        .collect();
    if let Some(date) = date {
        // Surname and year alone made blocks of hundreds on common surnames at a million
        // records. With the day, and separately the month, as one number each, a record is
        // still found when either is wrong or the two are swapped (the same two keys), in blocks
        // about a sixth of the size.
        for sound in &sounds {
            for part in [date.day(), u8::from(date.month())] {
                out.add("sn-ydm", format_args!("{sound}|{}|{part}", date.year()));
            }
        }
        for postcode in &postcodes {
            out.add("pc-yob", format_args!("{postcode}|{}", date.year()));
        }
        for line in &lines {
            out.add("al-yob", format_args!("{line}|{}", date.year()));
        }
    }
    for initial in &initials {
        if let Some(date) = date {
            let (low, high) = day_month(date);
            out.add("fi-dob", format_args!("{initial}|{}|{low:02}{high:02}", date.year()));
            for sound in &sounds {
                out.add("name-dm", format_args!("{initial}|{sound}|{low:02}{high:02}"));
            }
        }
        for sound in &sounds {
            if let Some(postcode) = record.postcode() {
                out.add("name-pd", format_args!("{initial}|{sound}|{}", postcode.outward()));
            }
        }
        for postcode in &postcodes {
            out.add("fi-pc", format_args!("{initial}|{postcode}"));
        }
        for line in &lines {
            out.add("fi-al", format_args!("{initial}|{line}"));
        }
    }
    let years = date.map(|d| (d.year(), d.year())).or(record.birth_years());
    for name in first_names(record) {
        for sound in &sounds {
            match years {
                Some((first, last)) => {
                    for year in first..=last {
                        out.add("fn-sy", format_args!("{name}|{sound}|{year}"));
                    }
                }
                None => out.add("fn-sn", format_args!("{name}|{sound}")),
            }
        }
    }
}

/// How many years back a query with no date or age of birth probes `fn-sy`.
const UNDATED_YEARS: i32 = 25;

/// Day and month in a fixed order, so a transposed date gives the same key.
fn day_month(date: time::Date) -> (u8, u8) {
    let (a, b) = (date.day(), u8::from(date.month()));
    (a.min(b), a.max(b))
}

/// The first given name and the formal names it stands for, distinct.
fn first_names(record: &MatchRecord) -> Vec<&str> {
    let mut names: Vec<&str> = record.given_name().into_iter().collect();
    for formal in formal_names(record.nicknames) {
        names.push(formal);
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// The first letter of the given name, of each formal name it stands for (so
/// that Bill is found under W as well as B) and of each alias's given names; distinct.
fn initials(record: &MatchRecord) -> Vec<char> {
    let own = record.given_name().and_then(|name| name.chars().next());
    let formal = formal_names(record.nicknames).filter_map(|name| name.chars().next());
    let aliases = record.given_names().skip(usize::from(record.own_given)).filter_map(|name| name.chars().next());
    let mut initials: Vec<char> = own.into_iter().chain(formal).chain(aliases).collect();
    initials.sort_unstable();
    initials.dedup();
    initials
}

/// A surname's Soundex, or the surname itself when it is not in Latin letters.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Sound<'a> {
    Code([u8; 4]),
    Name(&'a str),
}

impl fmt::Display for Sound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // A Soundex code is an ASCII letter and three digits.
            Sound::Code(code) => f.write_str(std::str::from_utf8(code).unwrap_or_default()),
            Sound::Name(name) => f.write_str(name),
        }
    }
}

fn sound_of(name: &str) -> Sound<'_> {
    soundex(name).map_or(Sound::Name(name), Sound::Code)
}

/// The sounds of the surname and its alternates, distinct.
fn sounds(record: &MatchRecord) -> Vec<Sound<'_>> {
    let mut sounds: Vec<Sound<'_>> = record.surnames().map(sound_of).collect();
    sounds.sort_unstable();
    sounds.dedup();
    sounds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::MatchInput;

    fn keys(input: MatchInput<'_>) -> Vec<String> {
        let record = MatchRecord::normalise(input).expect("valid");
        blocking_keys(&record).iter().map(|k| k.as_str().to_owned()).collect()
    }

    fn base() -> MatchInput<'static> {
        MatchInput {
            given_name: "Bill",
            family_name: "Smith-Jones",
            date_of_birth: "2015-03-04",
            postcode: "LS6 2AB",
            nhs_number: "9434765919",
            ..Default::default()
        }
    }

    #[test]
    fn a_full_record_has_every_kind_of_key() {
        assert_eq!(
            keys(base()),
            [
                "fi-dob:B|2015|0304",
                "fi-dob:W|2015|0304",
                "fi-pc:B|LS62AB",
                "fi-pc:W|LS62AB",
                "fn-sy:BILL|J520|2015",
                "fn-sy:BILL|S530|2015",
                "fn-sy:BILL|S532|2015",
                "fn-sy:WILLIAM|J520|2015",
                "fn-sy:WILLIAM|S530|2015",
                "fn-sy:WILLIAM|S532|2015",
                "name-dm:B|J520|0304",
                "name-dm:B|S530|0304",
                "name-dm:B|S532|0304",
                "name-dm:W|J520|0304",
                "name-dm:W|S530|0304",
                "name-dm:W|S532|0304",
                "name-pd:B|J520|LS6",
                "name-pd:B|S530|LS6",
                "name-pd:B|S532|LS6",
                "name-pd:W|J520|LS6",
                "name-pd:W|S530|LS6",
                "name-pd:W|S532|LS6",
                "nhs:9434765919",
                "pc-yob:LS62AB|2015",
                "sn-ydm:J520|2015|3",
                "sn-ydm:J520|2015|4",
                "sn-ydm:S530|2015|3",
                "sn-ydm:S530|2015|4",
                "sn-ydm:S532|2015|3",
                "sn-ydm:S532|2015|4",
            ]
        );
    }

    #[test]
    fn noisy_versions_of_a_record_share_a_key_with_it() {
        let original: BTreeSet<String> = keys(MatchInput { nhs_number: "", ..base() }).into_iter().collect();
        let noisy = [
            MatchInput { date_of_birth: "2015-04-03", family_name: "Khan", postcode: "M1 1AE", ..base() },
            MatchInput { given_name: "William", family_name: "Jones", date_of_birth: "2016-03-04", ..base() },
            MatchInput { family_name: "Smith-Jonse", date_of_birth: "2011-03-04", postcode: "", ..base() },
            MatchInput { given_name: "Liam", family_name: "Smith", date_of_birth: "2015-07-04", ..base() },
            MatchInput { given_name: "Will", family_name: "Smith Jones", date_of_birth: "", ..base() },
        ];
        for (i, input) in noisy.into_iter().enumerate() {
            let shared =
                keys(MatchInput { nhs_number: "", ..input }).into_iter().filter(|k| original.contains(k)).count();
            assert!(shared > 0, "noisy version {i} shares no key");
        }
    }

    /// Issue 21: every pattern a referral or a record shows reaches the candidate set:
    /// the query's keys meet the stored record's.
    #[test]
    fn each_uk_pattern_reaches_the_candidate_set() {
        let stored = MatchInput {
            given_name: "Oliver James",
            family_name: "Smith-Jones",
            previous_family_names: &["Brown"],
            date_of_birth: "2015-03-14",
            postcode: "LS6 2AB",
            address_line: "12 High Street",
            previous_addresses: &[("3 Mill Lane", "M1 1AE")],
            aliases: &[("Ollie", "Green")],
            ..Default::default()
        };
        let plain = MatchInput { postcode: "", address_line: "", previous_addresses: &[], ..stored };
        let partial = MatchInput { date_of_birth: "", ..Default::default() };
        let cases: [(&str, MatchInput<'_>, MatchInput<'_>); 13] = [
            ("swapped names", plain, MatchInput { given_name: "Smith-Jones", family_name: "Oliver", ..plain }),
            ("middle name as first", plain, MatchInput { given_name: "James", family_name: "Brown", ..plain }),
            (
                "alias",
                stored,
                MatchInput {
                    given_name: "Ollie",
                    family_name: "Green",
                    date_of_birth: "2016-07-01",
                    postcode: "",
                    address_line: "",
                    previous_addresses: &[],
                    ..stored
                },
            ),
            ("previous surname", plain, MatchInput { family_name: "Brown", date_of_birth: "2014-04-15", ..plain }),
            ("one part of a double barrel", plain, MatchInput { family_name: "Jones", ..plain }),
            (
                "year one out, day and month swapped",
                plain,
                MatchInput { date_of_birth: "2016-03-14", family_name: "Khan", ..plain },
            ),
            ("estimated date", plain, MatchInput { date_of_birth: "2015-01-01", ..plain }),
            (
                "approximate age",
                plain,
                MatchInput { given_name: "Oliver", family_name: "Smith", birth_years: Some((2014, 2016)), ..partial },
            ),
            ("no surname, a postcode", stored, MatchInput { given_name: "Oliver", postcode: "LS6 2AB", ..partial }),
            (
                "no date, a previous postcode",
                stored,
                MatchInput { given_name: "Oliver", family_name: "Khan", postcode: "M1 1AE", ..partial },
            ),
            (
                "address line, no postcode",
                stored,
                MatchInput { given_name: "Ollie", family_name: "Khan", address_line: "12 High St", ..partial },
            ),
            ("a record with no date", MatchInput { given_name: "Oliver", family_name: "Smith", ..partial }, plain),
            ("transliterated surname, same date", plain, MatchInput { family_name: "Smyth-Jonez", ..plain }),
        ];
        for (pattern, stored, query) in cases {
            let stored: BTreeSet<BlockingKey> =
                blocking_keys(&MatchRecord::normalise(stored).expect("valid")).into_iter().collect();
            let query = query_keys(&MatchRecord::normalise(query).expect("valid"));
            assert!(query.iter().any(|k| stored.contains(k)), "{pattern}: no shared key");
        }
    }

    #[test]
    fn strangers_share_no_key() {
        let stranger = MatchInput {
            given_name: "Amelia",
            family_name: "Khan",
            date_of_birth: "2012-11-20",
            postcode: "M1 1AE",
            nhs_number: "4010232137",
            ..Default::default()
        };
        let original: BTreeSet<String> = keys(base()).into_iter().collect();
        assert!(keys(stranger).iter().all(|k| !original.contains(k)));
    }

    #[test]
    fn debug_shows_only_the_kind() {
        let record = MatchRecord::normalise(base()).expect("valid");
        let debug = format!("{:?}", blocking_keys(&record));
        assert!(debug.contains("nhs:<redacted>") && !debug.contains("943") && !debug.contains("S53"), "{debug}");
    }
}
