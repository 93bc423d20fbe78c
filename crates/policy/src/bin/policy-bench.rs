//! Benchmark of disclosure decisions (issue 3): the policy work of one check
//! with 200 candidate items, against the shipped policy; and what compiling
//! the policy into its decision table costs at load and reload.
//!
//! Run: `cargo run --release -p mash-policy --bin policy-bench`

use std::{path::PathBuf, time::Instant};

use mash_domain::{Category, Level, Tier};
use mash_policy::{Policy, PolicyFiles, Role};

const ITEMS_PER_CHECK: usize = 200;
const CHECKS: usize = 20_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy");
    let started = Instant::now();
    let policy = Policy::load(&PolicyFiles::in_dir(&dir)).await?;
    println!("load and compile the policy: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);

    let categories: Vec<Category> = Category::all().collect();
    let items: Vec<Category> = (0..ITEMS_PER_CHECK).map(|i| categories[(i * 7) % categories.len()]).collect();
    let mut per_check = Vec::with_capacity(CHECKS);
    let mut disclosed = 0usize;
    for check in 0..CHECKS {
        let level = Level::ALL[check % 3];
        let started = Instant::now();
        for category in &items {
            let decision = policy.disclosure.decide(Role::Researcher, level, *category);
            disclosed += usize::from(decision.tier != Tier::None);
        }
        per_check.push(started.elapsed());
    }
    per_check.sort();
    let median = per_check[CHECKS / 2];
    let p99 = per_check[CHECKS * 99 / 100];
    println!(
        "decide {ITEMS_PER_CHECK} items: median {:.1} µs ({:.0} ns an item), p99 {:.1} µs (target: ≤ 200 µs, ≤ 1 µs an item)",
        median.as_secs_f64() * 1e6,
        median.as_secs_f64() * 1e9 / ITEMS_PER_CHECK as f64,
        p99.as_secs_f64() * 1e6
    );
    println!("({disclosed} of {} decisions disclosed something)", CHECKS * ITEMS_PER_CHECK);
    Ok(())
}
