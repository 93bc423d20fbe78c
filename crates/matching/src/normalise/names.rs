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

/// The first given name: the first word at spaces, with a hyphenated name kept
/// whole (Mary-Jane → MARYJANE), since a middle name is not the name a child is
/// known by.
pub(crate) fn first_given_name(raw: &str) -> Option<Box<str>> {
    let first = raw.split_whitespace().map(fold).find(|w| !w.is_empty())?;
    Some(first.into_boxed_str())
}

/// A name's places in the nickname table, at most three: each code is the group
/// number shifted left once, with the low bit set when the name is formal in
/// that group. Zero means no entry.
pub type NicknameCodes = [u8; 3];

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
    fn the_first_given_name_is_the_first_word() {
        assert_eq!(first_given_name("Oliver James").as_deref(), Some("OLIVER"));
        assert_eq!(first_given_name("Mary-Jane").as_deref(), Some("MARYJANE"));
        assert_eq!(first_given_name("  "), None);
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
