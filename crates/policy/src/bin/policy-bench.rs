//! Benchmark of disclosure decisions (issue 3): the policy work of one check
//! with 200 candidate items against the shipped policy, once the check's
//! contexts have been met; what meeting a new context costs; and what
//! loading and validating the policy costs at start and on every reload.
//!
//! Run: `cargo run --release -p mash-policy --bin policy-bench`

use std::{path::PathBuf, time::Instant};

use mash_domain::{AgeBand, Category, ConsentState, LawfulBasis, Level, Purpose, Relation, Tier};
use mash_policy::{Context, Policy, PolicyFiles, Role};

const ITEMS_PER_CHECK: usize = 200;
const CHECKS: usize = 20_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy");
    let started = Instant::now();
    let policy = Policy::load(&PolicyFiles::in_dir(&dir)).await?;
    println!("load and validate the policy: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);

    // 200 items over the four agencies' categories, four relations, both ages.
    let categories: Vec<Category> = Category::all().collect();
    let items: Vec<Context> = (0..ITEMS_PER_CHECK)
        .map(|i| {
            let category = categories[(i * 7) % categories.len()];
            Context {
                role: Role::Researcher,
                level: Level::ChildInNeed,
                purpose: Purpose::FrontDoorDecision,
                basis: LawfulBasis::Section17,
                consent: ConsentState::NotSought,
                relation: Relation::ALL[i % Relation::ALL.len()],
                category,
                sensitivity: category.sensitivity(),
                age: AgeBand::ALL[i % 2],
            }
        })
        .collect();

    let started = Instant::now();
    for item in &items {
        policy.disclosure.decide(item);
    }
    let first = started.elapsed();
    let distinct: std::collections::HashSet<&Context> = items.iter().collect();
    println!(
        "first check, meeting {} new contexts: {:.1} ms ({:.0} µs a new context)",
        distinct.len(),
        first.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e6 / distinct.len() as f64
    );

    let mut per_check = Vec::with_capacity(CHECKS);
    let mut disclosed = 0usize;
    for check in 0..CHECKS {
        let level = Level::ALL[check % 3];
        let started = Instant::now();
        for item in &items {
            let decision = policy.disclosure.decide(&Context { level, ..*item });
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
