//! Estimating m (and optionally u) by expectation–maximisation, as Splink does.
//!
//! The usual recipe: take u from random pairs ([`u_from_random_pairs`]), which
//! are almost all non-matches; then run [`estimate`] on the candidate pairs a
//! blocking rule produces, with u fixed, freezing the fields that rule blocked
//! on (their agreement is forced by the blocking, so the pairs say nothing
//! about their m). The prior in the result is the one started from: the match
//! rate among blocked pairs is far higher than between random records, and is
//! reported separately.

use std::collections::HashMap;

use crate::compare::{ComparisonVector, Field, MAX_LEVELS};
use crate::score::{LevelProbabilities, Model, ModelConfig};

#[derive(Clone, Debug)]
pub struct EmOptions {
    pub max_iterations: usize,
    /// Stop when no m or u moves by more than this in an iteration.
    pub tolerance: f64,
    /// Estimate u as well as m; otherwise u stays as given.
    pub estimate_u: bool,
    /// Fields whose m and u are left as they are.
    pub frozen: Vec<Field>,
}

impl Default for EmOptions {
    fn default() -> Self {
        Self { max_iterations: 100, tolerance: 1e-5, estimate_u: false, frozen: Vec::new() }
    }
}

#[derive(Clone, Debug)]
pub struct EmReport {
    /// The starting configuration with the estimated probabilities in place.
    pub config: ModelConfig,
    pub iterations: usize,
    pub converged: bool,
    /// The estimated share of the training pairs that are matches.
    pub match_share: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum EmError {
    #[error("no comparison vectors to learn from")]
    NoPairs,
}

/// No probability is allowed to reach zero: a level never seen in training
/// would otherwise weigh minus infinity.
const FLOOR: f64 = 1e-6;

/// Probabilities by compared field and level.
type Table = [[f64; MAX_LEVELS]; 5];

/// Estimates m (and u if asked) from the comparison vectors of candidate pairs,
/// starting from `start`'s probabilities.
pub fn estimate(start: &Model, pairs: &[ComparisonVector], options: &EmOptions) -> Result<EmReport, EmError> {
    let distinct = count_distinct(pairs)?;
    let (mut m, mut u) = (table(start.config(), |l| l.m), table(start.config(), |l| l.u));
    let mut lambda = start.config().prior;
    // A frozen field is left out of the likelihood as well as the update: its
    // agreement was forced by the blocking rule, so counting its m/u would
    // take the rule itself as evidence of a match, and EM would then call
    // nearly every pair a match.
    let evidence = Field::COMPARED.map(|field| !options.frozen.contains(&field));
    let (mut iterations, mut converged) = (0, false);
    while iterations < options.max_iterations && !converged {
        iterations += 1;
        let (ln_m, ln_u) = (ln(&m), ln(&u));
        let (ln_lambda, ln_not_lambda) = (lambda.ln(), (1.0 - lambda).ln());
        // Expected counts of each level among matches and non-matches.
        let (mut match_counts, mut non_match_counts) = ([[0.0; MAX_LEVELS]; 5], [[0.0; MAX_LEVELS]; 5]);
        let mut expected_matches = 0.0;
        for (vector, count) in &distinct {
            let (log_m, log_u) = sum_logs(vector, &evidence, &ln_m, &ln_u);
            let posterior = 1.0 / (1.0 + (ln_not_lambda + log_u - ln_lambda - log_m).exp());
            expected_matches += posterior * count;
            for (f, level) in vector.0.iter().enumerate() {
                if let Some(l) = level {
                    match_counts[f][usize::from(*l)] += posterior * count;
                    non_match_counts[f][usize::from(*l)] += (1.0 - posterior) * count;
                }
            }
        }
        lambda = (expected_matches / pairs.len() as f64).clamp(FLOOR, 1.0 - FLOOR);
        let mut change: f64 = 0.0;
        for (f, field) in Field::COMPARED.into_iter().enumerate() {
            if options.frozen.contains(&field) {
                continue;
            }
            let levels = field.levels().len();
            change = change.max(update(&mut m[f][..levels], &match_counts[f][..levels]));
            if options.estimate_u {
                change = change.max(update(&mut u[f][..levels], &non_match_counts[f][..levels]));
            }
        }
        converged = change < options.tolerance;
    }
    let mut config = start.config().clone();
    write_back(&mut config, &m, |l, p| l.m = p);
    write_back(&mut config, &u, |l, p| l.u = p);
    let u_source = if options.estimate_u { "estimated with m" } else { "held fixed" };
    config.source = format!(
        "m estimated by EM from {} candidate pairs in {iterations} iterations, u {u_source}. Started from: {}",
        pairs.len(),
        start.config().source
    );
    Ok(EmReport { config, iterations, converged, match_share: lambda })
}

/// Estimates u as the level frequencies among random pairs, which are
/// non-matches but for about one in the population size.
pub fn u_from_random_pairs(start: &Model, pairs: &[ComparisonVector]) -> Result<ModelConfig, EmError> {
    let distinct = count_distinct(pairs)?;
    let mut counts = [[0.0; MAX_LEVELS]; 5];
    for (vector, count) in &distinct {
        for (f, level) in vector.0.iter().enumerate() {
            if let Some(l) = level {
                counts[f][usize::from(*l)] += count;
            }
        }
    }
    let mut u = table(start.config(), |l| l.u);
    for (f, field) in Field::COMPARED.into_iter().enumerate() {
        let levels = field.levels().len();
        update(&mut u[f][..levels], &counts[f][..levels]);
    }
    let mut config = start.config().clone();
    write_back(&mut config, &u, |l, p| l.u = p);
    config.source = format!("u from {} random pairs. m from: {}", pairs.len(), start.config().source);
    Ok(config)
}

/// Identical vectors are common (most pairs agree on nothing or on everything),
/// so each distinct one is processed once, weighted by its count.
fn count_distinct(pairs: &[ComparisonVector]) -> Result<Vec<(ComparisonVector, f64)>, EmError> {
    if pairs.is_empty() {
        return Err(EmError::NoPairs);
    }
    let mut counts: HashMap<ComparisonVector, f64> = HashMap::new();
    for vector in pairs {
        *counts.entry(*vector).or_default() += 1.0;
    }
    Ok(counts.into_iter().collect())
}

/// Replaces probabilities with normalised counts (floored), returning the
/// largest change. A field never observed keeps its probabilities.
fn update(probabilities: &mut [f64], counts: &[f64]) -> f64 {
    let total: f64 = counts.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let floored: Vec<f64> = counts.iter().map(|c| (c / total).max(FLOOR)).collect();
    let norm: f64 = floored.iter().sum();
    let mut change: f64 = 0.0;
    for (p, new) in probabilities.iter_mut().zip(floored) {
        change = change.max((*p - new / norm).abs());
        *p = new / norm;
    }
    change
}

fn table(config: &ModelConfig, pick: impl Fn(&LevelProbabilities) -> f64) -> Table {
    let mut table = [[1.0; MAX_LEVELS]; 5];
    for (row, field) in table.iter_mut().zip(Field::COMPARED) {
        for (cell, level) in row.iter_mut().zip(config.levels(field)) {
            *cell = pick(level);
        }
    }
    table
}

fn write_back(config: &mut ModelConfig, table: &Table, set: impl Fn(&mut LevelProbabilities, f64)) {
    for (row, field) in table.iter().zip(Field::COMPARED) {
        for (level, p) in config.levels_mut(field).iter_mut().zip(row) {
            set(level, *p);
        }
    }
}

fn ln(table: &Table) -> Table {
    table.map(|row| row.map(f64::ln))
}

fn sum_logs(vector: &ComparisonVector, evidence: &[bool; 5], ln_m: &Table, ln_u: &Table) -> (f64, f64) {
    let mut sums = (0.0, 0.0);
    for (f, level) in vector.0.iter().enumerate() {
        if let Some(l) = level.filter(|_| evidence[f]) {
            sums.0 += ln_m[f][usize::from(l)];
            sums.1 += ln_u[f][usize::from(l)];
        }
    }
    sums
}

#[cfg(test)]
mod tests;
