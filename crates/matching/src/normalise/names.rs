//! Name folding and the nickname table.

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds one word: diacritics stripped (Zoë → ZOE), letters with no
/// decomposition spelled out (Ø → O, ß → SS), upper case, and everything that
/// is not a letter dropped (O'Brien → OBRIEN). Letters of other scripts are
/// kept upper-cased rather than dropped, so that two different names written
/// in, say, Arabic script do not both fold to "missing" and agree.
pub(crate) fn fold(raw: &str) -> String {
    // Nearly every name is plain ASCII, which NFD and the spelled-out letters leave unchanged:
    // no need to decompose it, a cost paid for every record pushed.
    if raw.is_ascii() {
        return raw.bytes().filter(u8::is_ascii_alphabetic).map(|b| char::from(b.to_ascii_uppercase())).collect();
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.nfd() {
        if is_combining_mark(c) || !c.is_alphabetic() {
            continue;
        }
        match spelled_out(c) {
            Some(s) => out.push_str(s),
            None => out.extend(c.to_uppercase()),
        }
    }
    out
}

/// Latin letters that NFD leaves alone because they are not "letter + accent".
fn spelled_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "SS",
        'Æ' | 'æ' => "AE",
        'Œ' | 'œ' => "OE",
        'Ø' | 'ø' => "O",
        'Ł' | 'ł' => "L",
        'Đ' | 'đ' | 'Ð' | 'ð' => "D",
        'Þ' | 'þ' => "TH",
        'ı' => "I",
        'Ħ' | 'ħ' => "H",
        _ => return None,
    })
}

/// The words of a name, split at spaces and hyphens (all dash forms), each folded.
pub(crate) fn folded_words(raw: &str) -> impl Iterator<Item = String> + '_ {
    raw.split(|c: char| c.is_whitespace() || matches!(c, '-' | '‐' | '‑' | '‒' | '–' | '—' | '/'))
        .map(fold)
        .filter(|w| !w.is_empty())
}

/// Prefixes that are part of a surname but never a surname on their own, so are
/// not offered as alternates ("Van der Berg" gives VANDERBERG and BERG, not VAN).
const PARTICLES: &[&str] = &[
    "AL", "AP", "BEN", "BIN", "DA", "DE", "DEL", "DELLA", "DER", "DI", "DOS", "DU", "EL", "LA", "LE", "ST", "VAN",
    "VON",
];

/// A surname and the alternates it may be recorded under: the whole name with
/// separators removed first, then each part of a double-barrelled name, then
/// each previous surname (whole and in parts). Joined with '|' so that a record
/// holds them in one allocation.
pub(crate) fn surname_set(current: &str, previous: &[&str]) -> Option<Box<str>> {
    let mut set: Vec<String> = Vec::new();
    for raw in std::iter::once(current).chain(previous.iter().copied()) {
        let parts: Vec<String> = folded_words(raw).collect();
        let whole = parts.concat();
        if whole.is_empty() {
            continue;
        }
        push_unique(&mut set, whole);
        if parts.len() > 1 {
            for part in parts {
                if part.len() > 1 && !PARTICLES.contains(&part.as_str()) {
                    push_unique(&mut set, part);
                }
            }
        }
    }
    (!set.is_empty()).then(|| set.join("|").into_boxed_str())
}

fn push_unique(set: &mut Vec<String>, word: String) {
    if !set.contains(&word) {
        set.push(word);
    }
}

/// Every given name, folded and '|'-separated: the person's own, in order (first
/// name, then middle names; a hyphenated name kept whole, Mary-Jane →
/// MARYJANE), then each alias's given names. Also how many are the person's own.
pub(crate) fn given_name_set(given: &str, aliases: &[(&str, &str)]) -> (Option<Box<str>>, u8) {
    let mut set: Vec<String> = Vec::new();
    let words = |raw: &str| raw.split_whitespace().map(fold).filter(|w| !w.is_empty()).collect::<Vec<_>>();
    for word in words(given) {
        push_unique(&mut set, word);
    }
    let own = u8::try_from(set.len()).unwrap_or(u8::MAX);
    for (alias, _) in aliases {
        for word in words(alias) {
            push_unique(&mut set, word);
        }
    }
    ((!set.is_empty()).then(|| set.join("|").into_boxed_str()), own)
}

/// Words of an address that say nothing about which house it is.
const FLAT_WORDS: &[&str] = &["FLAT", "APARTMENT", "APT", "UNIT", "ROOM"];

/// Street-type words, shortened as agencies write them, to one spelling.
fn street_word(word: &str) -> &str {
    match word {
        "ST" => "STREET",
        "RD" => "ROAD",
        "AVE" | "AV" => "AVENUE",
        "LN" => "LANE",
        "DR" => "DRIVE",
        "CL" => "CLOSE",
        "CRES" => "CRESCENT",
        "CT" => "COURT",
        "GDNS" => "GARDENS",
        "PL" => "PLACE",
        "SQ" => "SQUARE",
        "TER" | "TERR" => "TERRACE",
        other => other,
    }
}

/// An address line reduced to what identifies a house: its numbers (flat and
/// house) and its street words, folded: "Flat 3, 12 High St." → "3 12|HIGHSTREET".
/// None without a street word.
pub(crate) fn address_line(raw: &str) -> Option<Box<str>> {
    let (mut numbers, mut street) = (Vec::new(), String::new());
    for word in raw.split(|c: char| c.is_whitespace() || c == ',') {
        let digits: String = word.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            // "12a" keeps its letter: 12a and 12b are two houses.
            numbers.push(word.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase());
            continue;
        }
        let folded = fold(word);
        if !folded.is_empty() && !FLAT_WORDS.contains(&folded.as_str()) {
            street.push_str(street_word(&folded));
        }
    }
    (!street.is_empty()).then(|| format!("{}|{street}", numbers.join(" ")).into_boxed_str())
}

/// A name's consonant skeleton, for spellings of one name in another script's
/// transliteration (Mohammed, Muhammad, Mohamed; Yusuf, Yousef; Aleksandr,
/// Alexander): the first letter kept, then digraphs simplified, vowels, H, W
/// and Y dropped, and repeated letters collapsed.
pub(crate) fn skeleton(folded: &str) -> String {
    let bytes = folded.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else { return String::new() };
    let mut out = String::with_capacity(bytes.len());
    out.push(char::from(first));
    let mut i = 0;
    while i < rest.len() {
        let (c, next) = (rest[i], rest.get(i + 1).copied());
        let (mapped, used): (&[u8], usize) = match (c, next) {
            (b'P', Some(b'H')) => (b"F", 2),
            (b'K' | b'G' | b'C', Some(b'H')) => (b"K", 2),
            (b'C', Some(b'K')) => (b"K", 2),
            (b'Q' | b'C', _) => (b"K", 1),
            (b'X', _) => (b"KS", 1),
            (b'Z', _) => (b"S", 1),
            (b'V', _) => (b"F", 1),
            (b'A' | b'E' | b'I' | b'O' | b'U' | b'H' | b'W' | b'Y', _) => (b"", 1),
            _ => (std::slice::from_ref(&rest[i]), 1),
        };
        for &m in mapped {
            if out.as_bytes().last() != Some(&m) {
                out.push(char::from(m));
            }
        }
        i += used;
    }
    out
}

/// A name's places in the nickname table, at most three: each code is the group
/// number shifted left once, with the low bit set when the name is formal in
/// that group. Zero means no entry.
pub(crate) type NicknameCodes = [u8; 3];

struct Table {
    codes: HashMap<&'static str, NicknameCodes>,
    /// The first formal name of each group, by group number.
    formal: Vec<&'static str>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| parse_table(include_str!("nicknames.txt")));

fn parse_table(text: &'static str) -> Table {
    let mut table = Table { codes: HashMap::new(), formal: vec![""] };
    let groups = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    for (line, group) in groups.zip(1u8..) {
        let (formal, nicknames) = line.split_once('|').unwrap_or((line, ""));
        table.formal.push(formal.split_whitespace().next().unwrap_or_default());
        let entries = formal
            .split_whitespace()
            .map(|n| (n, (group << 1) | 1))
            .chain(nicknames.split_whitespace().map(|n| (n, group << 1)));
        for (name, code) in entries {
            let codes = table.codes.entry(name).or_default();
            if let Some(free) = codes.iter_mut().find(|c| **c == 0) {
                *free = code;
            }
        }
    }
    table
}

pub(crate) fn nickname_codes(folded: &str) -> NicknameCodes {
    TABLE.codes.get(folded).copied().unwrap_or_default()
}

/// True when two names share a group and at least one of them is formal in it.
pub(crate) fn nickname_equivalent(a: NicknameCodes, b: NicknameCodes) -> bool {
    a.iter().filter(|x| **x != 0).any(|x| b.iter().any(|y| *y != 0 && x >> 1 == y >> 1 && (x | y) & 1 == 1))
}

/// The formal names a name stands for (William for Bill), for blocking.
pub(crate) fn formal_names(codes: NicknameCodes) -> impl Iterator<Item = &'static str> {
    codes.into_iter().filter(|c| *c != 0).map(|c| TABLE.formal[usize::from(c >> 1)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_to_plain_upper_case_letters() {
        let cases = [
            ("Zoë", "ZOE"),
            ("O'Brien", "OBRIEN"),
            ("  josé ", "JOSE"),
            ("Łukasz", "LUKASZ"),
            ("Müller", "MULLER"),
            ("Straße", "STRASSE"),
            ("Ægir", "AEGIR"),
            ("Søren", "SOREN"),
            ("Şahin", "SAHIN"),
            ("Nguyễn", "NGUYEN"),
            ("D'Arcy.", "DARCY"),
            ("Амир", "АМИР"),
        ];
        for (raw, folded) in cases {
            assert_eq!(fold(raw), folded, "{raw}");
        }
    }

    #[test]
    fn surnames_offer_their_parts_and_previous_names_as_alternates() {
        let cases: [(&str, &[&str], Option<&str>); 6] = [
            ("Smith", &[], Some("SMITH")),
            ("Smith-Jones", &[], Some("SMITHJONES|SMITH|JONES")),
            ("Garcia Lopez", &[], Some("GARCIALOPEZ|GARCIA|LOPEZ")),
            ("van der Berg", &[], Some("VANDERBERG|BERG")),
            ("Khan", &["Ali-Khan", "Smith"], Some("KHAN|ALIKHAN|ALI|SMITH")),
            (" - ", &[], None),
        ];
        for (current, previous, expected) in cases {
            assert_eq!(surname_set(current, previous).as_deref(), expected, "{current}");
        }
    }

    #[test]
    fn every_given_name_is_kept_the_first_first() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<&'a str>, u8);
        let cases: [Case<'_>; 4] = [
            ("Oliver James", &[], Some("OLIVER|JAMES"), 2),
            ("Mary-Jane", &[], Some("MARYJANE"), 1),
            ("Jo", &[("Joanne Kim", "Brown"), ("Jo", "")], Some("JO|JOANNE|KIM"), 1),
            ("  ", &[], None, 0),
        ];
        for (given, aliases, set, own) in cases {
            let (got, got_own) = given_name_set(given, aliases);
            assert_eq!((got.as_deref(), got_own), (set, own), "{given}");
        }
    }

    #[test]
    fn address_lines_keep_house_numbers_and_street() {
        let cases = [
            ("12 High Street", Some("12|HIGHSTREET")),
            ("12, high st.", Some("12|HIGHSTREET")),
            ("Flat 3, 12 High St", Some("3 12|HIGHSTREET")),
            ("12a Mill Rd", Some("12A|MILLROAD")),
            ("Rose Cottage", Some("|ROSECOTTAGE")),
            ("12", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(address_line(raw).as_deref(), expected, "{raw}");
        }
    }

    #[test]
    fn transliterations_share_a_skeleton() {
        let same = [
            ("MOHAMMED", "MUHAMMAD"),
            ("MOHAMED", "MOHAMMAD"),
            ("YUSUF", "YOUSEF"),
            ("ALEKSANDR", "ALEXANDER"),
            ("AISHA", "AYESHA"),
            ("FATIMA", "FATIMAH"),
            ("KHADIJA", "KADIJAH"),
            ("SOFIA", "SOPHIA"),
        ];
        for (a, b) in same {
            assert_eq!(skeleton(a), skeleton(b), "{a} ~ {b}");
        }
        for (a, b) in [("AMELIA", "OLIVIA"), ("MOLLY", "POLLY"), ("ZAIN", "ZARA")] {
            assert_ne!(skeleton(a), skeleton(b), "{a} !~ {b}");
        }
    }

    #[test]
    fn nicknames_are_equivalent_to_their_formal_names_only() {
        let eq = |a: &str, b: &str| nickname_equivalent(nickname_codes(a), nickname_codes(b));
        let cases = [
            ("BILL", "WILLIAM", true),
            ("PEGGY", "MARGARET", true),
            ("JACK", "JOHN", true),
            ("SASHA", "ALEXANDER", true),
            ("SASHA", "ALEXANDRA", true),
            ("KATE", "KATHERINE", true),
            ("CATHERINE", "KATHRYN", true),
            ("OLLIE", "OLIVER", true),
            ("OLLIE", "OLIVIA", true),
            ("MOLLY", "POLLY", false),
            ("OLIVER", "OLIVIA", false),
            ("AMELIA", "OLIVIA", false),
            ("ZEBEDEE", "ZEBEDEE", false),
        ];
        for (a, b, equivalent) in cases {
            assert_eq!(eq(a, b), equivalent, "{a} ~ {b}");
            assert_eq!(eq(b, a), equivalent, "{b} ~ {a}");
        }
    }

    #[test]
    fn the_table_is_large_and_fits_its_codes() {
        let table = &*TABLE;
        assert!(table.formal.len() > 80 && table.formal.len() < 128, "group numbers must fit in 7 bits");
        let pairs: usize = table.codes.values().map(|c| c.iter().filter(|x| **x != 0 && **x & 1 == 0).count()).sum();
        assert!(pairs >= 80, "{pairs} nickname pairs");
        assert!(table.codes.keys().all(|n| n.chars().all(|c| c.is_ascii_uppercase())));
        assert_eq!(formal_names(nickname_codes("BILL")).collect::<Vec<_>>(), ["WILLIAM"]);
    }
}
