//! How long the performance report takes over two years at Wirral's volume
//! (about 50,000 contacts). Prints the median of several runs.
//!
//! `cargo run --release -p mash-frontdoor --bin report-compute-bench [contacts] [runs]`

use std::time::Instant;

use mash_frontdoor::{Mix, Report, generate};
use time::macros::date;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let contacts: u32 = args.next().map_or(Ok(50_000), |raw| raw.parse())?;
    let runs: usize = args.next().map_or(Ok(11), |raw| raw.parse())?;
    let mix = Mix::default();
    let weeks = u16::try_from(contacts.div_ceil(mix.weekly_contacts))?;
    let (records, truth) = generate(1, date!(2025 - 01 - 06), weeks, &mix)?;

    let mut timings = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let report = Report::compute(&records, &truth.period, truth.as_of);
        let rendered = report.to_table().len() + report.to_csv().len();
        timings.push(started.elapsed());
        std::hint::black_box(rendered);
    }
    timings.sort_unstable();
    let median = timings[runs / 2];
    println!(
        "report over {} contacts ({weeks} weeks), computed and rendered: median {:.2} ms of {runs} runs (min {:.2} ms, max {:.2} ms)",
        records.len(),
        median.as_secs_f64() * 1e3,
        timings[0].as_secs_f64() * 1e3,
        timings[runs - 1].as_secs_f64() * 1e3,
    );
    Ok(())
}
