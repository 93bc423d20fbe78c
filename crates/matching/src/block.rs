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
//! | `fi-dob`  | first initial (own and formal) + date, day and month unordered | surname change, move, transposed date |
//! | `pc-yob`  | full postcode + birth year                      | name changes at the same address          |
//! | `name-dm` | first initial + each surname's Soundex + day/month unordered | year error, move             |
//! | `name-pd` | first initial + each surname's Soundex + postcode district | missing or wrong date of birth |
//!
//! Intended recall: a true pair is missed only when no identifier is shared
//! and at least two of surname sound, first initial, date of birth and
//! address are wrong at once in a way no key tolerates, e.g. an unrecorded
//! surname change together with a wrong date of birth and a move. With each of
//! those wrong in about one record in ten, that is under 0.5% of true pairs;
//! the synthetic-population benchmark measures it. A typical record has six
//! keys (more with a nickname, a double-barrelled or a previous surname); the
//! largest blocks are `sn-ydm` on common surnames. A feed may index fewer
//! kinds (see [`BlockingKey::kind`]) and trade recall for ingestion speed.

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

/// The keys to index a record under, or to look a query up by; no duplicates.
pub fn blocking_keys(record: &MatchRecord) -> Vec<BlockingKey> {
    let mut keys = BTreeSet::new();
    for_each_blocking_key(record, |key| {
        keys.insert(BlockingKey(key.to_owned()));
    });
    keys.into_iter().collect()
}

/// Calls `each` with the text of every key of [`blocking_keys`], the same "kind:value", but
/// written into one reused buffer: a feed blinds the keys of a million pushed records and needs
/// no string for each. A key may be given more than once.
pub fn for_each_blocking_key(record: &MatchRecord, mut each: impl FnMut(&str)) {
    let mut key = String::with_capacity(32);
    let mut add = |kind: &str, value: fmt::Arguments<'_>| {
        key.clear();
        key.push_str(kind);
        key.push(':');
        // Writing into a String cannot fail.
        let _ = key.write_fmt(value);
        each(&key);
    };
    if let Some(nhs) = record.nhs_number() {
        add("nhs", format_args!("{}", nhs.as_str()));
    }
    if let Some(upn) = record.upn() {
        add("upn", format_args!("{}", upn.as_str()));
    }
    let initials = initials(record);
    let sounds = sounds(record);
    let date = record.date_of_birth();
    // Day and month in a fixed order, so a transposed date gives the same key.
    let day_month = date.map(|d| {
        let (a, b) = (d.day(), u8::from(d.month()));
        (a.min(b), a.max(b))
    });
    if let Some(date) = date {
        // Surname and year alone made blocks of hundreds on common surnames at a million
        // records. With the day, and separately the month, as one number each, a record is
        // still found when either is wrong or the two are swapped (the same two keys), in blocks
        // about a sixth of the size.
        for sound in &sounds {
            for part in [date.day(), u8::from(date.month())] {
                add("sn-ydm", format_args!("{sound}|{}|{part}", date.year()));
            }
        }
        if let Some(postcode) = record.postcode() {
            add("pc-yob", format_args!("{}|{}", postcode.compact(), date.year()));
        }
    }
    for initial in &initials {
        if let (Some(date), Some((low, high))) = (date, day_month) {
            add("fi-dob", format_args!("{initial}|{}|{low:02}{high:02}", date.year()));
        }
        for sound in &sounds {
            if let Some((low, high)) = day_month {
                add("name-dm", format_args!("{initial}|{sound}|{low:02}{high:02}"));
            }
            if let Some(postcode) = record.postcode() {
                add("name-pd", format_args!("{initial}|{sound}|{}", postcode.outward()));
            }
        }
    }
}

/// The first letter of the given name and of each formal name it stands for,
/// so that Bill is found under W as well as B; distinct.
fn initials(record: &MatchRecord) -> Vec<char> {
    let own = record.given_name().and_then(|name| name.chars().next());
    let formal = formal_names(record.nicknames).filter_map(|name| name.chars().next());
    let mut initials: Vec<char> = own.into_iter().chain(formal).collect();
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

/// The sounds of the surname and its alternates, distinct.
fn sounds(record: &MatchRecord) -> Vec<Sound<'_>> {
    let mut sounds: Vec<Sound<'_>> =
        record.surnames().map(|surname| soundex(surname).map_or(Sound::Name(surname), Sound::Code)).collect();
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
