//! Match-quality benchmark for issue 5: how often identity matching finds the
//! right person in a feed, and how often it finds the wrong one.
//!
//! `match-quality [people] [seed]` (defaults 100,000 and 1). It generates a
//! population with `mash-synth` (default settings), takes health's view as
//! the feed (it registers nearly everyone) and searches it with each person
//! of another agency's view, as a MASH researcher searches with the details a
//! referrer gives: education's, social care's or police's record of the
//! person, once with the identifiers that agency holds and once without
//! them, so that the probabilistic path alone is measured. Each query is
//! blocked ([`index`]), every candidate scored and the search settled
//! ([`run`]) with the default weights and with weights estimated by EM
//! ([`train`]); verdicts are then judged against the ground truth and printed
//! as markdown ([`report`]). Results: `docs/match-quality.md`.
//!
//! - [`view`]: an agency's view as normalised entries, and the ground truth.

mod report;
mod run;
mod view;

use std::collections::HashMap;
use std::error::Error;
use std::time::Instant;

use mash_domain::Agency;
use mash_matching::Model;
use mash_matching_bench::train;
use mash_synth::Settings;

use crate::run::{Feed, Tally, run};
use crate::view::{Identifiers, Pattern, Truth, View, load, load_as};
use mash_matching_bench::index::FeedIndex;

const FEED: Agency = Agency::HEALTH;
const NO_IDENTIFIERS: &str = "no identifiers";
const QUERY_AGENCIES: [Agency; 3] = [Agency::EDUCATION, Agency::SOCIAL_CARE, Agency::POLICE];

struct QuerySet {
    name: String,
    view: View,
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let people = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let seed = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1);
    let settings = Settings::new(seed, people);
    println!("seed {seed}, {people} people, settings: {}", serde_json::to_string(&settings)?);

    let started = Instant::now();
    let truth = Truth::generate(&settings)?;
    let feed_view = load(&settings, FEED, Identifiers::AsHeld)?;
    let index = FeedIndex::build(feed_view.entries.iter().map(|e| &e.record));
    let position: HashMap<_, _> =
        feed_view.entries.iter().enumerate().map(|(i, entry)| (entry.person, i as u32)).collect();
    let feed = Feed { entries: &feed_view.entries, index: &index, position: &position };
    println!(
        "feed: {FEED}, {} people ({} subjects rejected by the normaliser), {} blocking keys; {} twin pairs in the population",
        feed_view.entries.len(),
        feed_view.rejected,
        index.keys(),
        truth.twin_pairs
    );

    let mut sets = Vec::new();
    for agency in QUERY_AGENCIES {
        for (identifiers, label) in
            [(Identifiers::AsHeld, "identifiers as held"), (Identifiers::Withheld, NO_IDENTIFIERS)]
        {
            let view = load(&settings, agency, identifiers)?;
            println!("queries: {agency}, {label}: {} people ({} rejected)", view.entries.len(), view.rejected);
            sets.push(QuerySet { name: format!("{agency}, {label}"), view });
        }
    }
    println!("generated and indexed in {:.1?}", started.elapsed());

    let default = Model::default();
    // Trained on the identifier-free query sets: the queries EM learns from, never their truth.
    let training: Vec<&mash_matching::MatchRecord> = sets
        .iter()
        .filter(|s| s.name.ends_with(NO_IDENTIFIERS))
        .flat_map(|s| s.view.entries.iter().map(|e| &e.record))
        .collect();
    let feed_records: Vec<&mash_matching::MatchRecord> = feed_view.entries.iter().map(|e| &e.record).collect();
    let trained = train::train(&feed_records, &training, &default, seed)?;
    for rule in &trained.rules {
        println!(
            "EM, {}: {} pairs, {} iterations, converged: {}, estimated match share {:.3}",
            rule.name, rule.pairs, rule.iterations, rule.converged, rule.match_share
        );
    }

    let mut results: Vec<(String, &str, Tally)> = Vec::new();
    for set in &sets {
        for (label, model) in [("default", &default), ("EM", &trained.model)] {
            results.push((set.name.clone(), label, run(&feed, &set.view.entries, model, &truth)));
        }
    }

    println!();
    report::summary_header();
    for (set, model, tally) in &results {
        report::summary_row(set, model, tally);
    }
    report::sweep_header();
    for (set, model, tally) in &results {
        report::sweep_row(set, model, tally);
    }
    report::calibration_header();
    for (set, model, tally) in results.iter().filter(|(set, _, _)| set.ends_with(NO_IDENTIFIERS)) {
        report::calibration_row(set, model, tally);
    }
    for (set, model, tally) in results.iter().filter(|(set, _, _)| set.ends_with(NO_IDENTIFIERS)) {
        report::noise_table(&format!("Misses by noise kind: {set}, {model} weights"), tally);
    }
    report::weights_table(&default, &trained.model);

    println!("\nReferral patterns (issue 21): every query of the set given that way, no identifiers\n");
    report::summary_header();
    for agency in [Agency::EDUCATION, Agency::POLICE] {
        for pattern in Pattern::ALL {
            let view = load_as(&settings, agency, Identifiers::Withheld, pattern)?;
            for (label, model) in [("default", &default), ("EM", &trained.model)] {
                let tally = run(&feed, &view.entries, model, &truth);
                report::summary_row(&format!("{agency}, {}", pattern.as_str()), label, &tally);
            }
        }
    }
    Ok(())
}
