//! The printed results: markdown tables, counts and rates only (no names,
//! dates or identifiers), so the output can be pasted into the docs as is.

use mash_matching::{Field, Model};
use mash_synth::NoiseKind;

use crate::run::{SWEEP_FLOOR, Tally};

pub(crate) fn percent(part: usize, whole: usize) -> String {
    percent_to(part, whole, 2)
}

/// Precision to three places: the target, 99.5%, is near enough to 100% that
/// two places would round a few wrong matches away.
fn percent_to(part: usize, whole: usize, places: usize) -> String {
    if whole == 0 { "–".into() } else { format!("{:.places$}%", 100.0 * part as f64 / whole as f64) }
}

/// The value at quantile `q` (nearest rank) of unsorted samples.
fn quantile<T: Copy + Ord + Default>(samples: &[T], q: f64) -> T {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

pub(crate) fn summary_header() {
    println!(
        "| queries | model | n | in feed | blocking recall | recall match+possible | recall match | match precision \
         | false matches (twin/family/other) | twin merges | twin possibles | false possibles (family/other) \
         | wrong share of possibles | candidates mean / p99 | time median / p99 |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

pub(crate) fn summary_row(queries: &str, model: &str, tally: &Tally) {
    let matches = tally.true_match + tally.false_match.iter().sum::<usize>();
    let mean = tally.candidates.iter().map(|&c| u64::from(c)).sum::<u64>() as f64 / tally.queries.max(1) as f64;
    let micros = |ns: u64| ns as f64 / 1000.0;
    let wrong_possibles: usize = tally.false_possible.iter().sum();
    println!(
        "| {queries} | {model} | {} | {} | {} | {} | {} | {} | {}/{}/{} | {} | {} | {}/{} | {} | {mean:.1} / {} | {:.1} / {:.1} µs |",
        tally.queries,
        tally.in_feed,
        percent(tally.blocked, tally.in_feed),
        percent(tally.true_match + tally.true_possible, tally.in_feed),
        percent(tally.true_match, tally.in_feed),
        percent_to(tally.true_match, matches, 3),
        tally.false_match[0],
        tally.false_match[1],
        tally.false_match[2],
        tally.false_match[0],
        tally.false_possible[0],
        tally.false_possible[1],
        tally.false_possible[2],
        percent(wrong_possibles, wrong_possibles + tally.true_possible),
        quantile(&tally.candidates, 0.99),
        micros(quantile(&tally.nanos, 0.5)),
        micros(quantile(&tally.nanos, 0.99)),
    );
}

/// Misses by the kind of noise on either side of the true pair. A pair with
/// several kinds counts in each row, so rows overlap.
pub(crate) fn noise_table(title: &str, tally: &Tally) {
    println!("\n{title}\n");
    println!("| noise (either side) | true pairs | not blocked | no match | possible only | recall match+possible |");
    println!("|---|---:|---:|---:|---:|---:|");
    let names = NoiseKind::ALL.iter().map(|k| k.as_str()).chain(["(none)"]);
    for (name, row) in names.zip(&tally.by_noise) {
        if row.pairs == 0 {
            continue;
        }
        let found = row.pairs - row.unblocked - row.no_match;
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            row.pairs,
            row.unblocked,
            row.no_match,
            row.possible,
            percent(found, row.pairs)
        );
    }
}

/// m, u and the weight log2(m/u) of every level, default beside estimated.
pub(crate) fn weights_table(default: &Model, estimated: &Model) {
    println!("\n| field | level | default m | default u | default bits | EM m | EM u | EM bits |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for field in Field::COMPARED {
        let levels = default.config().levels(field).iter().zip(estimated.config().levels(field));
        for (d, e) in levels {
            println!(
                "| {} | {} | {:.4} | {:.5} | {:+.1} | {:.4} | {:.5} | {:+.1} |",
                field.as_str(),
                d.level,
                d.m,
                d.u,
                (d.m / d.u).log2(),
                e.m,
                e.u,
                (e.m / e.u).log2()
            );
        }
    }
}

/// Possible-match thresholds the sweep tries, the configured one (0.5) first.
const SWEEP: [f64; 5] = [0.5, 0.2, 0.1, 0.05, SWEEP_FLOOR];

pub(crate) fn sweep_header() {
    let columns: Vec<String> = SWEEP.iter().map(|t| format!("possible ≥ {t}")).collect();
    println!("\n| queries | model | {} |", columns.join(" | "));
    println!("|---|---|{}", "---:|".repeat(SWEEP.len()));
}

/// Recall (match + possible) and wrong candidates disclosed as at least
/// possible, per 1,000 queries, if the possible threshold were lower.
pub(crate) fn sweep_row(queries: &str, model: &str, tally: &Tally) {
    let cells: Vec<String> = SWEEP
        .iter()
        .map(|&t| {
            let found = tally.true_probability.iter().filter(|&&p| p >= t).count();
            let wrong = tally.false_probability.iter().filter(|&&p| p >= t).count();
            let per_thousand = 1000.0 * wrong as f64 / tally.queries.max(1) as f64;
            format!("{} / {per_thousand:.1}", percent(found, tally.in_feed))
        })
        .collect();
    println!("| {queries} | {model} | {} |", cells.join(" | "));
}

/// Probability buckets of the calibration curve, lower bounds.
const BUCKETS: [f64; 7] = [0.01, 0.05, 0.2, 0.5, 0.9, 0.99, 0.999];

pub(crate) fn calibration_header() {
    let columns: Vec<String> = BUCKETS
        .iter()
        .zip(BUCKETS.iter().skip(1).map(|b| format!("{b}")).chain(["1".to_owned()]))
        .map(|(low, high)| format!("[{low}, {high})"))
        .collect();
    println!("\n| queries | model | {} | precision at p ≥ 0.99 / ≥ 0.999 |", columns.join(" | "));
    println!("|---|---|{}---:|", "---:|".repeat(BUCKETS.len()));
}

/// The calibration curve: for candidates scored in each probability bucket
/// (before the confident-match rule and `settle`), the share that are the
/// person searched for; a calibrated model's share lies inside its bucket.
pub(crate) fn calibration_row(queries: &str, model: &str, tally: &Tally) {
    let count = |list: &[f64], low: f64, high: f64| list.iter().filter(|&&p| p >= low && p < high).count();
    let cells: Vec<String> = BUCKETS
        .iter()
        .zip(BUCKETS.iter().skip(1).copied().chain([f64::INFINITY]))
        .map(|(&low, high)| {
            let right = count(&tally.true_probability, low, high);
            let wrong = count(&tally.false_probability, low, high);
            format!("{} of {}", percent(right, right + wrong), right + wrong)
        })
        .collect();
    let above = |t: f64| {
        let right = count(&tally.true_probability, t, f64::INFINITY);
        percent_to(right, right + count(&tally.false_probability, t, f64::INFINITY), 3)
    };
    println!("| {queries} | {model} | {} | {} / {} |", cells.join(" | "), above(0.99), above(0.999));
}
