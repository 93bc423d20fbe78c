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
const DIFFERENT_UPN: &str = "different UPNs: conflicting evidence, a researcher must confirm";
const FIRST_NAME_GUARD: &str = "first names disagree: a researcher must confirm";
const NAMESAKE: &str =
    "nothing a namesake could not share (no address or second identifier agrees): a researcher must confirm";
/// A different UPN weighs against a match as strongly as a wholly different
/// first name, without deciding it: a temporary UPN may have been replaced.
const DIFFERENT_UPN_WEIGHT: f64 = -9.0;
/// Address levels that only the person (or their household) shares: the same
/// address now, or one of the other's previous addresses.
const CORROBORATING_ADDRESS: [u8; 4] = [0, 1, 3, 4];
/// First-name levels that agree: the same, a nickname, a middle name or alias, swapped with the surname.
const AGREEING_FIRST_NAME: u8 = 3;

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
            Rule::Match => (Verdict::Match, 1.0),
            Rule::NoMatch => (Verdict::NoMatch, 0.0),
            Rule::Conflict | Rule::Undecided => {
                let probability = probability(weight);
                let mut verdict = self.verdict(probability);
                if verdict == Verdict::Match {
                    let held_back = if rule == Rule::Conflict {
                        Some((Field::Upn, DIFFERENT_UPN))
                    } else if self.first_names_disagree(&vector) {
                        Some((Field::FirstName, FIRST_NAME_GUARD))
                    } else if !corroborated(&vector) {
                        Some((Field::Address, NAMESAKE))
                    } else {
                        None
                    };
                    if let Some((field, level)) = held_back {
                        verdict = Verdict::PossibleMatch;
                        breakdown.push(FieldWeight { field, level, weight: 0.0 });
                    }
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

    fn first_names_disagree(&self, vector: &ComparisonVector) -> bool {
        self.config.thresholds.first_name_must_agree && vector.0[0].is_some_and(|level| level > AGREEING_FIRST_NAME)
    }
}

/// The embedded default weights.
impl Default for Model {
    fn default() -> Self {
        Self::from_json(DEFAULT_WEIGHTS).expect("the embedded weights file is valid (tested)")
    }
}

/// A confident match needs evidence a namesake elsewhere cannot have: an
/// address (current or previous) the candidate shares. An agreeing identifier
/// decides before this is asked.
fn corroborated(vector: &ComparisonVector) -> bool {
    vector.0[4].is_some_and(|level| CORROBORATING_ADDRESS.contains(&level))
}

/// What the identifiers say before any weight.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Match,
    NoMatch,
    /// Different UPNs: weighs against, and never a confident match.
    Conflict,
    Undecided,
}

/// The same valid NHS number or UPN decides a match; two different NHS
/// numbers decide a non-match, which is what keeps twins and siblings apart
/// whenever both records carry one. Adds the deciding row to the breakdown.
fn identifier_rule(query: &MatchRecord, candidate: &MatchRecord, breakdown: &mut Vec<FieldWeight>) -> Rule {
    let mut row = |field, level, weight| breakdown.push(FieldWeight { field, level, weight });
    if let (Some(a), Some(b)) = (query.nhs_number(), candidate.nhs_number()) {
        return if a == b {
            row(Field::NhsNumber, SAME_NHS, 0.0);
            Rule::Match
        } else {
            row(Field::NhsNumber, DIFFERENT_NHS, 0.0);
            Rule::NoMatch
        };
    }
    if let (Some(a), Some(b)) = (query.upn(), candidate.upn()) {
        if a == b {
            row(Field::Upn, SAME_UPN, 0.0);
            return Rule::Match;
        }
        row(Field::Upn, DIFFERENT_UPN, DIFFERENT_UPN_WEIGHT);
        return Rule::Conflict;
    }
    Rule::Undecided
}

const OUTWEIGHED: &str = "another candidate matches better: a researcher must confirm";
const AMBIGUOUS: &str = "another candidate with a different NHS number also matches: a researcher must confirm";
const TIED: &str = "another candidate matches as strongly: a researcher must confirm";
/// Candidates within this many bits of each other (a factor of two in the odds) are equally strong.
const TIE_MARGIN: f64 = 1.0;

/// Settles one search's candidates together; `records[i]` is the stored
/// record `candidates[i]` scored, one per distinct subject. Only ever demotes
/// a match to a possible match, so it never discloses more than scoring alone.
///
/// Two candidates that both look like the child are most often the child and
/// a twin whose name is a nickname of the child's (Leo and Leonard, Charlie
/// and Charlotte), which the first-name guard lets through, or two namesakes.
/// So when several candidates are a match:
/// - an identifier match outranks the rest, which become possible matches;
/// - otherwise, if two of them hold different NHS numbers, they are two
///   people and neither is certain: all become possible matches (ranking by
///   weight would pick the twin whenever the child's record lacks a field);
/// - otherwise only the strongest stays a match, and only if no other
///   candidate (a possible match too) is as strong: equally strong candidates
///   are never told apart by a guess. Records sharing an identifier are one
///   person, not rivals.
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
    let strong: Vec<&MatchRecord> = records
        .iter()
        .zip(candidates.iter())
        .filter(|(_, s)| s.verdict != Verdict::NoMatch && (rank(s) == best || best - rank(s) < TIE_MARGIN))
        .map(|(r, _)| *r)
        .collect();
    let tied = strong.iter().enumerate().any(|(i, a)| strong[i + 1..].iter().any(|b| !same_person(a, b)));
    for scored in candidates.iter_mut().filter(|s| s.verdict == Verdict::Match) {
        let level = if ambiguous {
            AMBIGUOUS
        } else if rank(scored) < best && best - rank(scored) >= TIE_MARGIN {
            OUTWEIGHED
        } else if tied {
            TIED
        } else if rank(scored) < best {
            OUTWEIGHED
        } else {
            continue;
        };
        scored.verdict = Verdict::PossibleMatch;
        scored.breakdown.push(FieldWeight { field: Field::Prior, level, weight: 0.0 });
    }
}

/// Two stored records of one person: the same record, or the same NHS number or UPN.
fn same_person(a: &MatchRecord, b: &MatchRecord) -> bool {
    a == b || a.nhs_number().is_some() && a.nhs_number() == b.nhs_number() || a.upn().is_some() && a.upn() == b.upn()
}

impl Scored {
    /// Why, in words a researcher reads: "agrees on first name, surname and
    /// date of birth; differs on address", then any reason it was held back.
    pub fn reason(&self) -> String {
        let mut agrees = Vec::new();
        let mut differs = Vec::new();
        let mut notes = Vec::new();
        for row in &self.breakdown {
            match row.field {
                Field::Prior => {}
                _ if row.level == MISSING.label => {}
                Field::NhsNumber | Field::Upn => notes.push(row.level),
                _ if row.weight == 0.0 && row.level.contains("must confirm") => notes.push(row.level),
                field if row.weight > 0.0 => agrees.push(words(field, row.level)),
                field => differs.push(words(field, row.level)),
            }
        }
        let mut parts = Vec::new();
        if !agrees.is_empty() {
            parts.push(format!("agrees: {}", agrees.join(", ")));
        }
        if !differs.is_empty() {
            parts.push(format!("differs: {}", differs.join(", ")));
        }
        parts.extend(notes.into_iter().map(str::to_owned));
        parts.join("; ")
    }
}

/// "first name (nickname of the same name)".
fn words(field: Field, level: &str) -> String {
    let name = field.as_str().replace('_', " ");
    if level == "the same" { name } else { format!("{name} ({level})") }
}

/// From a match weight in bits to a probability: 2^w / (1 + 2^w).
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

#[cfg(test)]
mod tests;
