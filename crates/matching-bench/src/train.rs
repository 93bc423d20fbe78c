//! Weights estimated from the data with no ground truth, Splink's recipe:
//! u from random pairs of feed entries (almost all non-matches); m by EM over
//! pairs from two training blocking rules, each with the fields it blocked on
//! frozen, because the rule forces them to agree and they say nothing there.
//!
//! EM over the search's own candidates does not work: those pairs were chosen
//! for agreeing on surname sound, initial, date or postcode, so non-matches
//! among them agree far more often than u (from random pairs) allows, and EM
//! explains the excess by calling nearly every candidate a match.

use std::collections::HashMap;
use std::error::Error;
use std::hash::Hash;

use mash_matching::em::{self, EmOptions};
use mash_matching::{ComparisonVector, Field, MatchRecord, Model, ModelConfig, compare};

/// Random pairs for u: enough that a level seen once in 10,000 pairs is counted ~50 times.
const RANDOM_PAIRS: usize = 500_000;

/// One training blocking rule's EM run, for the report.
pub struct Rule {
    pub name: &'static str,
    pub pairs: usize,
    pub iterations: usize,
    pub converged: bool,
    /// EM's estimate of the share of the rule's pairs that are matches.
    pub match_share: f64,
}

pub struct Trained {
    pub model: Model,
    pub rules: Vec<Rule>,
}

/// Weights for a feed from its own records and the queries it is asked, without ground truth.
/// The prior is one over the feed's size: a search is for one person among them.
pub fn train(
    feed: &[&MatchRecord],
    queries: &[&MatchRecord],
    start: &Model,
    seed: u64,
) -> Result<Trained, Box<dyn Error>> {
    let mut rng = SplitMix64(seed);
    let n = feed.len() as u64;
    let random: Vec<_> =
        (0..RANDOM_PAIRS).map(|_| compare(feed[(rng.next() % n) as usize], feed[(rng.next() % n) as usize])).collect();
    let with_u = Model::from_config(em::u_from_random_pairs(start, &random)?)?;

    // Same date of birth: teaches the names, sex and postcode.
    let by_date = pairs(feed, queries, |r| r.date_of_birth());
    let (dates, date_rule) = run_em(&with_u, "same date of birth", &by_date, vec![Field::DateOfBirth])?;
    // Same first name and surname: teaches the date of birth.
    let by_name = pairs(feed, queries, |r| Some((r.given_name()?.to_owned(), r.surname()?.to_owned())));
    let frozen = vec![Field::FirstName, Field::Surname];
    let (names, name_rule) = run_em(&with_u, "same first name and surname", &by_name, frozen)?;

    let mut config = dates.config().clone();
    config.date_of_birth = names.config().date_of_birth.clone();
    config.prior = 1.0 / feed.len().max(2) as f64;
    keep_rare_levels(&mut config, start.config());
    config.source = format!(
        "u from {RANDOM_PAIRS} random pairs; m by EM on pairs with the same date of birth (names, sex, postcode) \
         and the same first name and surname (date of birth); prior one over the feed's size. Thresholds from: {}",
        start.config().source
    );
    Ok(Trained { model: Model::from_config(config)?, rules: vec![date_rule, name_rule] })
}

/// A level EM hardly saw (a pattern rare in this feed's training pairs, such
/// as an estimated date) keeps at least a quarter of the default m, so that it
/// is weak evidence rather than strong evidence against; each field's m is
/// then renormalised.
fn keep_rare_levels(config: &mut ModelConfig, start: &ModelConfig) {
    for field in Field::COMPARED {
        let defaults: Vec<f64> = start.levels(field).iter().map(|l| l.m).collect();
        let levels = config.levels_mut(field);
        for (level, default) in levels.iter_mut().zip(defaults) {
            level.m = level.m.max(default / 4.0);
        }
        let total: f64 = levels.iter().map(|l| l.m).sum();
        for level in levels.iter_mut() {
            level.m /= total;
        }
    }
}

/// Query–feed pairs that share the training key (a record is never paired with itself).
fn pairs<K: Eq + Hash>(
    feed: &[&MatchRecord],
    queries: &[&MatchRecord],
    key: impl Fn(&MatchRecord) -> Option<K>,
) -> Vec<ComparisonVector> {
    let mut blocks: HashMap<K, Vec<&MatchRecord>> = HashMap::new();
    for record in feed {
        if let Some(k) = key(record) {
            blocks.entry(k).or_default().push(record);
        }
    }
    let mut pairs = Vec::new();
    for query in queries {
        let Some(block) = key(query).and_then(|k| blocks.get(&k)) else { continue };
        pairs
            .extend(block.iter().filter(|stored| !std::ptr::eq(**stored, *query)).map(|stored| compare(query, stored)));
    }
    pairs
}

fn run_em(
    start: &Model,
    name: &'static str,
    pairs: &[ComparisonVector],
    frozen: Vec<Field>,
) -> Result<(Model, Rule), Box<dyn Error>> {
    let report = em::estimate(start, pairs, &EmOptions { frozen, ..EmOptions::default() })?;
    let rule = Rule {
        name,
        pairs: pairs.len(),
        iterations: report.iterations,
        converged: report.converged,
        match_share: report.match_share,
    };
    Ok((Model::from_config(report.config)?, rule))
}

/// A tiny seeded PRNG, so the random pairs are the same on every run.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
