//! Fellegi–Sunter scoring: identifiers decide first, then the sum of
//! log2(m/u) over the compared fields and the prior gives a match weight,
//! a probability, and a verdict against the configured thresholds.

mod config;

use std::path::Path;

pub use config::{ConfigError, LevelProbabilities, ModelConfig, Thresholds};

use crate::compare::{ComparisonVector, Field, MAX_LEVELS, MISSING, compare};
use crate::normalise::MatchRecord;

/// The default weights, hand-set from published UK name, birth and postcode
/// frequencies (see the `source` field in the file), until EM replaces them.
pub const DEFAULT_WEIGHTS: &str = include_str!("../../weights.json");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Match,
    /// Discloses existence only, until a researcher confirms it.
    PossibleMatch,
    NoMatch,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::PossibleMatch => "possible-match",
            Verdict::NoMatch => "no-match",
        }
    }
}

/// One row of the explanation a researcher reads: which field, how it
/// compared, and the weight in bits that this added.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldWeight {
    pub field: Field,
    pub level: &'static str,
    pub weight: f64,
}

/// The outcome for one candidate. `weight` is always the Fellegi–Sunter sum
/// (prior included) and equals the sum of the breakdown's weights; when an
/// identifier decided the verdict, `probability` is 1 or 0 and the breakdown's
/// first row says which identifier.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub verdict: Verdict,
    pub probability: f64,
    pub weight: f64,
    pub breakdown: Vec<FieldWeight>,
}

/// A validated weights file, compiled into tables of log2(m/u).
#[derive(Clone, Debug)]
pub struct Model {
    config: ModelConfig,
    /// log2(m/u) by compared field and level, so that scoring is lookups and adds.
    weights: [[f64; MAX_LEVELS]; 5],
    /// log2 of the prior odds, prior / (1 - prior).
    prior_weight: f64,
}

const PRIOR_LABEL: &str = "prior odds that two records are the same person";
const SAME_NHS: &str = "the same NHS number: a deterministic match";
const DIFFERENT_NHS: &str = "different NHS numbers: never the same person";
const SAME_UPN: &str = "the same UPN: a deterministic match";
const DIFFERENT_UPN: &str = "different UPNs (not decisive: a temporary UPN may be replaced)";
const FIRST_NAME_GUARD: &str = "first names disagree: a researcher must confirm";

impl Model {
    pub fn from_config(config: ModelConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut weights = [[0.0; MAX_LEVELS]; 5];
        for (row, field) in weights.iter_mut().zip(Field::COMPARED) {
            for (cell, level) in row.iter_mut().zip(config.levels(field)) {
                *cell = (level.m / level.u).log2();
            }
        }
        let prior_weight = (config.prior / (1.0 - config.prior)).log2();
        Ok(Self { config, weights, prior_weight })
    }

    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::from_config(ModelConfig::from_json(text)?)
    }

    /// Reads a weights file; the one piece of I/O in this crate.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::from_config(ModelConfig::read(path)?)
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Scores a candidate against the record searched for.
    pub fn score(&self, query: &MatchRecord, candidate: &MatchRecord) -> Scored {
        let vector = compare(query, candidate);
        let mut breakdown = Vec::with_capacity(8);
        let rule = identifier_rule(query, candidate, &mut breakdown);
        breakdown.push(FieldWeight { field: Field::Prior, level: PRIOR_LABEL, weight: self.prior_weight });
        breakdown.extend(self.field_weights(&vector));
        let weight: f64 = breakdown.iter().map(|row| row.weight).sum();
        let (verdict, probability) = match rule {
            Some(Verdict::Match) => (Verdict::Match, 1.0),
            Some(_) => (Verdict::NoMatch, 0.0),
            None => {
                let probability = probability(weight);
                let mut verdict = self.verdict(probability);
                if verdict == Verdict::Match && self.first_names_disagree(&vector) {
                    verdict = Verdict::PossibleMatch;
                    breakdown.push(FieldWeight { field: Field::FirstName, level: FIRST_NAME_GUARD, weight: 0.0 });
                }
                (verdict, probability)
            }
        };
        Scored { verdict, probability, weight, breakdown }
    }

    /// The weight of each compared field; missing values weigh nothing.
    fn field_weights<'a>(&'a self, vector: &'a ComparisonVector) -> impl Iterator<Item = FieldWeight> + 'a {
        Field::COMPARED.into_iter().zip(vector.0).zip(&self.weights).map(|((field, level), weights)| match level {
            Some(l) => {
                FieldWeight { field, level: field.levels()[usize::from(l)].label, weight: weights[usize::from(l)] }
            }
            None => FieldWeight { field, level: MISSING.label, weight: 0.0 },
        })
    }

    fn verdict(&self, probability: f64) -> Verdict {
        let thresholds = &self.config.thresholds;
        if probability >= thresholds.r#match {
            Verdict::Match
        } else if probability >= thresholds.possible {
            Verdict::PossibleMatch
        } else {
            Verdict::NoMatch
        }
    }

    /// First-name levels 0 and 1 are "the same" and "nickname".
    fn first_names_disagree(&self, vector: &ComparisonVector) -> bool {
        self.config.thresholds.first_name_must_agree && vector.0[0].is_some_and(|level| level > 1)
    }
}

/// The embedded default weights.
impl Default for Model {
    fn default() -> Self {
        Self::from_json(DEFAULT_WEIGHTS).expect("the embedded weights file is valid (tested)")
    }
}

/// The same valid NHS number or UPN decides a match; two different NHS
/// numbers decide a non-match, which is what keeps twins and siblings apart
/// whenever both records carry one. Adds the deciding row to the breakdown.
fn identifier_rule(query: &MatchRecord, candidate: &MatchRecord, breakdown: &mut Vec<FieldWeight>) -> Option<Verdict> {
    let mut row = |field, level| breakdown.push(FieldWeight { field, level, weight: 0.0 });
    if let (Some(a), Some(b)) = (query.nhs_number(), candidate.nhs_number()) {
        return Some(if a == b {
            row(Field::NhsNumber, SAME_NHS);
            Verdict::Match
        } else {
            row(Field::NhsNumber, DIFFERENT_NHS);
            Verdict::NoMatch
        });
    }
    if let (Some(a), Some(b)) = (query.upn(), candidate.upn()) {
        if a == b {
            row(Field::Upn, SAME_UPN);
            return Some(Verdict::Match);
        }
        row(Field::Upn, DIFFERENT_UPN);
    }
    None
}

const OUTWEIGHED: &str = "another candidate matches better: a researcher must confirm";
const AMBIGUOUS: &str = "another candidate with a different NHS number also matches: a researcher must confirm";

/// Settles one search's candidates together; `records[i]` is the stored
/// record `candidates[i]` scored. Only ever demotes a match to a possible
/// match, so it never discloses more than scoring alone.
///
/// Two candidates that both look like the child are most often the child and
/// a twin whose name is a nickname of the child's (Leo and Leonard, Charlie
/// and Charlotte), which the first-name guard lets through. So when several
/// candidates are a match:
/// - an identifier match outranks the rest, which become possible matches;
/// - otherwise, if two of them hold different NHS numbers, they are two
///   people and neither is certain: all become possible matches (ranking by
///   weight would pick the twin whenever the child's record lacks a field);
/// - otherwise only those of the highest weight stay matches (equal weights:
///   the same subject held on several records); a possible match of higher
///   weight demotes them too.
pub fn settle(records: &[&MatchRecord], candidates: &mut [Scored]) {
    // An identifier decided a match exactly when its probability is 1 (see `Scored`).
    let rank = |s: &Scored| if s.probability >= 1.0 { f64::INFINITY } else { s.weight };
    let is_match = |(_, s): &(&&MatchRecord, &Scored)| s.verdict == Verdict::Match;
    if !candidates.iter().any(|s| s.verdict == Verdict::Match) {
        return;
    }
    // Possible matches count too: one held back by the first-name guard may
    // still outweigh a stranger who shares the name and date of birth.
    let best = candidates.iter().filter(|s| s.verdict != Verdict::NoMatch).map(rank).fold(f64::MIN, f64::max);
    let mut numbers = records.iter().zip(candidates.iter()).filter(is_match).filter_map(|(r, _)| r.nhs_number());
    let first = numbers.next();
    let ambiguous = best.is_finite() && numbers.any(|nhs| Some(nhs) != first);
    for scored in candidates.iter_mut().filter(|s| s.verdict == Verdict::Match) {
        let level = if ambiguous {
            AMBIGUOUS
        } else if rank(scored) < best {
            OUTWEIGHED
        } else {
            continue;
        };
        scored.verdict = Verdict::PossibleMatch;
        scored.breakdown.push(FieldWeight { field: Field::Prior, level, weight: 0.0 });
    }
}

/// From a match weight in bits to a probability: 2^w / (1 + 2^w).
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

#[cfg(test)]
mod tests;
