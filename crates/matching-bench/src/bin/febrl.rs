//! `febrl link A.csv B.csv` or `febrl dedupe X.csv`: this project's matching
//! on a FEBRL data set, as a feed would run it: the stored records indexed by
//! their blocking keys, each query's candidates scored and settled. Printed as
//! CSV, one row per candidate scored at least possible by either model (or of
//! probability at least 0.001): `model,query,candidate,verdict,probability,reason`.
//! `scripts/febrl.py` judges the rows against the ids' ground truth, beside
//! Splink on the same data.
//!
//! Models: `default` (the shipped weights) and `em` (u from random pairs of the
//! stored records, m by EM on the queries' pairs, prior one over their number:
//! see `mash_matching_bench::train`). In `dedupe`, every record is a query
//! against all the others.

use std::error::Error;
use std::io::{BufWriter, Write};
use std::path::Path;

use mash_matching::{MatchRecord, Model, Scored, Verdict, settle};
use mash_matching_bench::febrl::{self, Record};
use mash_matching_bench::index::FeedIndex;
use mash_matching_bench::train::train;

/// Candidates below this probability and not possible are not printed.
const PRINT_FLOOR: f64 = 0.001;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (queries, stored, dedupe) = match args.as_slice() {
        [mode, a, b] if mode == "link" => (febrl::read(Path::new(a))?, febrl::read(Path::new(b))?, false),
        [mode, x] if mode == "dedupe" => (febrl::read(Path::new(x))?, febrl::read(Path::new(x))?, true),
        _ => return Err("usage: febrl link A.csv B.csv | febrl dedupe X.csv".into()),
    };
    let stored_records: Vec<&MatchRecord> = stored.iter().map(|r| &r.record).collect();
    let query_records: Vec<&MatchRecord> = queries.iter().map(|r| &r.record).collect();
    let default = Model::default();
    let trained = train(&stored_records, &query_records, &default, 1)?;
    for rule in &trained.rules {
        eprintln!(
            "EM, {}: {} pairs, {} iterations, converged: {}, match share {:.3}",
            rule.name, rule.pairs, rule.iterations, rule.converged, rule.match_share
        );
    }
    let index = FeedIndex::build(stored_records.iter().copied());
    let mut out = BufWriter::new(std::io::stdout().lock());
    writeln!(out, "model,query,candidate,verdict,probability,reason")?;
    for (name, model) in [("default", &default), ("em", &trained.model)] {
        for (at, query) in queries.iter().enumerate() {
            let skip = dedupe.then_some(at);
            for (candidate, scored) in search(&index, &stored, query, model, skip) {
                if scored.verdict != Verdict::NoMatch || scored.probability >= PRINT_FLOOR {
                    let verdict = scored.verdict.as_str();
                    let reason = scored.reason().replace('"', "'");
                    writeln!(
                        out,
                        "{name},{},{},{verdict},{:.6},\"{reason}\"",
                        query.id, candidate.id, scored.probability
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// One search, as a feed runs it; `skip` is the query's own position when it is also stored.
fn search<'a>(
    index: &FeedIndex,
    stored: &'a [Record],
    query: &Record,
    model: &Model,
    skip: Option<usize>,
) -> Vec<(&'a Record, Scored)> {
    let mut positions = Vec::new();
    index.candidates(&query.record, &mut positions);
    let found: Vec<&Record> =
        positions.iter().filter(|&&p| Some(p as usize) != skip).map(|&p| &stored[p as usize]).collect();
    let records: Vec<&MatchRecord> = found.iter().map(|r| &r.record).collect();
    let mut scored: Vec<Scored> = records.iter().map(|r| model.score(&query.record, r)).collect();
    settle(&records, &mut scored);
    found.into_iter().zip(scored).collect()
}
