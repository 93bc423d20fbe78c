//! Micro-benchmark: pairs scored per second, and the cost of normalising a
//! record and building its blocking keys. Prints the median of several runs.
//! `cargo run --release -p mash-matching --bin match-micro`

use std::hint::black_box;
use std::time::Instant;

use mash_matching::{MatchInput, MatchRecord, Model, blocking_keys};

const GIVEN: &[&str] = &["Oliver", "Ollie", "Olivia", "Amelia", "Jack", "John", "Isla", "Muhammad", "Mohammed", "Zoë"];
const FAMILY: &[&str] = &["Smith", "Smyth", "Smith-Jones", "Khan", "O'Brien", "Taylor", "Thompson", "Thomson"];
const DATES: &[&str] = &["2016-05-09", "2016-09-05", "2016-05-08", "2015-05-09", "2012-11-20"];
const POSTCODES: &[&str] = &["LS6 2AB", "LS6 2QT", "LS6 4HN", "M1 1AE", ""];
const RUNS: usize = 7;

fn input(i: usize) -> MatchInput<'static> {
    MatchInput {
        given_name: GIVEN[i % GIVEN.len()],
        family_name: FAMILY[(i / 3) % FAMILY.len()],
        date_of_birth: DATES[(i / 7) % DATES.len()],
        sex: if i.is_multiple_of(2) { "F" } else { "M" },
        postcode: POSTCODES[(i / 11) % POSTCODES.len()],
        ..Default::default()
    }
}

/// Runs `work` over `n` items `RUNS` times and returns the median nanoseconds per item.
fn median_ns(n: usize, mut work: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[RUNS / 2]
}

fn main() -> Result<(), mash_domain::DomainError> {
    let n = 20_000;
    let inputs: Vec<MatchInput<'static>> = (0..n).map(input).collect();
    let records = inputs.iter().map(|i| MatchRecord::normalise(*i)).collect::<Result<Vec<_>, _>>()?;
    let model = Model::default();

    let score = median_ns(n, || {
        for (i, a) in records.iter().enumerate() {
            black_box(model.score(a, &records[(i * 7919 + 13) % n]));
        }
    });
    let normalise = median_ns(n, || {
        for input in &inputs {
            black_box(MatchRecord::normalise(*input).ok());
        }
    });
    let keys = median_ns(n, || {
        for record in &records {
            black_box(blocking_keys(record));
        }
    });
    let heap = records.iter().map(MatchRecord::heap_bytes).sum::<usize>() as f64 / n as f64;

    println!("score:         {score:>8.0} ns/pair  ({:.2} M pairs/s, median of {RUNS})", 1e3 / score);
    println!("normalise:     {normalise:>8.0} ns/record");
    println!("blocking keys: {keys:>8.0} ns/record");
    println!("record size:   {} bytes inline + {heap:.0} bytes heap (mean)", size_of::<MatchRecord>());
    Ok(())
}
