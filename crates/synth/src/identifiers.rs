//! NHS numbers and UPNs, valid by construction and unique by person id.

use mash_domain::Upn;

use crate::PersonId;

/// The first nine-digit serial of a population's NHS numbers, chosen by the
/// seed within the 400 000 000 to 499 999 999 range issued in England.
pub(crate) fn nhs_base(seed: u64) -> u64 {
    400_000_000 + crate::rng::Rng::keyed(seed, crate::rng::Stream::Seed, 0).below(40_000_000)
}

/// Each person owns two consecutive serials: of two neighbours at most one
/// has no possible check digit (their weighted sums differ by 2, 7, 3, 1,
/// 1, 3, 7, 2 or 10 modulo 11, never 0), so one of the pair is always
/// valid and numbers never collide. `base + 2 × MAX_PEOPLE` stays below
/// 500 000 000.
pub(crate) fn nhs_number(base: u64, person: PersonId) -> String {
    let first = base + 2 * u64::from(person.0);
    (first..first + 2)
        .find_map(|serial| nhs_check_digit(serial).map(|check| format!("{serial:09}{check}")))
        .unwrap_or_else(|| unreachable!("one of two neighbouring serials has a check digit"))
}

fn nhs_check_digit(serial: u64) -> Option<u64> {
    let digits = format!("{serial:09}");
    let sum: u64 = digits.bytes().zip((2..=10).rev()).map(|(d, weight)| u64::from(d - b'0') * weight).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => Some(check),
    }
}

/// A UPN as the DfE builds it: the check letter, the local authority code,
/// a four-digit establishment number, the two-digit year of allocation and a
/// three-digit serial. The establishment and serial encode the person id
/// (1000 pupils per establishment), which keeps UPNs unique.
pub(crate) fn upn(local_authority: u16, year_allocated: i32, person: PersonId) -> String {
    let establishment = 1000 + person.0 / 1000;
    let body = format!("{local_authority:03}{establishment:04}{:02}{:03}", year_allocated % 100, person.0 % 1000);
    format!("{}{body}", Upn::check_letter(body.as_bytes()) as char)
}

#[cfg(test)]
mod tests {
    use mash_domain::NhsNumber;

    use super::*;
    use crate::settings::MAX_PEOPLE;

    #[test]
    fn nhs_numbers_are_valid_and_distinct_at_the_edges_of_the_range() {
        let mut seen = std::collections::HashSet::new();
        for base in [400_000_000, 439_999_999] {
            for id in (0..20_000).chain(MAX_PEOPLE - 100..=MAX_PEOPLE) {
                let number = nhs_number(base, PersonId(id));
                assert!(NhsNumber::parse("nhs", &number).is_ok(), "{number}");
                assert!(number.starts_with('4'), "{number}");
                assert!(seen.insert(number));
            }
        }
    }

    #[test]
    fn upns_are_valid_and_distinct() {
        let upns: std::collections::HashSet<_> =
            (0..50_000).chain([MAX_PEOPLE]).map(|id| upn(383, 2019, PersonId(id))).collect();
        assert_eq!(upns.len(), 50_001);
        for upn in &upns {
            assert!(Upn::parse("upn", upn).is_ok(), "{upn}");
            assert_eq!(upn.len(), 13);
        }
    }
}
