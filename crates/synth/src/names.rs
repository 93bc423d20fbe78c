//! Drawing names with a realistic skew, and the nickname table.

use std::{collections::HashMap, sync::OnceLock};

use crate::{
    Sex,
    data::{names, nicknames::NICKNAMES},
    rng::Rng,
};

/// Pairs of (nickname, registered name), e.g. ("Peggy", "Margaret"). A
/// nickname may appear with several registered names and the reverse.
pub fn nicknames() -> &'static [(&'static str, &'static str)] {
    NICKNAMES
}

/// Given names for one sex, most common first.
pub fn given_names(sex: Sex) -> &'static [&'static str] {
    match sex {
        Sex::Female => names::FEMALE,
        Sex::Male => names::MALE,
    }
}

/// Surnames, most common first.
pub fn surnames() -> &'static [&'static str] {
    names::SURNAMES
}

/// A list with Zipf-like weights `1 / (rank + offset)`: the offset flattens
/// the head, because a list of a few hundred names stands for a far longer
/// real tail (Smith is about 1% of people, not 15%).
pub(crate) struct Pool {
    names: &'static [&'static str],
    cumulative: Vec<u64>,
}

impl Pool {
    fn zipf(names: &'static [&'static str], offset: u64) -> Self {
        const SCALE: u64 = 1 << 40;
        let cumulative = (0..names.len() as u64)
            .scan(0, |total, rank| {
                *total += SCALE / (rank + offset);
                Some(*total)
            })
            .collect();
        Self { names, cumulative }
    }

    pub(crate) fn draw(&self, rng: &mut Rng) -> &'static str {
        let total = *self.cumulative.last().unwrap_or(&1);
        let point = rng.below(total);
        self.names[self.cumulative.partition_point(|c| *c <= point)]
    }
}

pub(crate) struct Pools {
    pub female: Pool,
    pub male: Pool,
    pub surnames: Pool,
    variants: HashMap<&'static str, Vec<&'static str>>,
}

impl Pools {
    pub(crate) fn given(&self, sex: Sex) -> &Pool {
        match sex {
            Sex::Female => &self.female,
            Sex::Male => &self.male,
        }
    }

    /// The other names a person called `name` may be recorded under.
    pub(crate) fn variants(&self, name: &str) -> &[&'static str] {
        self.variants.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

pub(crate) fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| {
        let mut variants: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for (nickname, formal) in NICKNAMES {
            variants.entry(formal).or_default().push(nickname);
            variants.entry(nickname).or_default().push(formal);
        }
        Pools {
            female: Pool::zipf(names::FEMALE, 12),
            male: Pool::zipf(names::MALE, 12),
            surnames: Pool::zipf(names::SURNAMES, 25),
            variants,
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::rng::Stream;

    #[test]
    fn name_lists_are_large_distinct_and_valid() {
        for (list, at_least) in [(names::FEMALE, 200), (names::MALE, 200), (names::SURNAMES, 400)] {
            assert!(list.len() >= at_least, "{} names", list.len());
            let distinct: HashSet<_> = list.iter().collect();
            assert_eq!(distinct.len(), list.len(), "a name is listed twice");
            assert!(list.iter().all(|n| n.chars().all(|c| c.is_alphabetic() || " -'".contains(c))));
        }
        assert!(nicknames().len() >= 60);
    }

    #[test]
    fn common_names_are_drawn_more_often() {
        let pools = pools();
        let mut rng = Rng::keyed(5, Stream::Seed, 0);
        let draws: Vec<_> = (0..200_000).map(|_| pools.surnames.draw(&mut rng)).collect();
        let count = |name: &str| draws.iter().filter(|n| **n == name).count();
        let (smith, last) = (count("Smith"), count(names::SURNAMES[names::SURNAMES.len() - 1]));
        assert!(smith > 5 * last, "Smith {smith}, last {last}");
        assert!(smith < draws.len() / 50, "Smith is {smith} of {}", draws.len());
    }

    #[test]
    fn nicknames_are_looked_up_both_ways() {
        assert!(pools().variants("Margaret").contains(&"Peggy"));
        assert!(pools().variants("Bill").contains(&"William"));
        assert!(pools().variants("Xyzzy").is_empty());
    }
}
