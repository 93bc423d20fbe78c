//! One query set against the feed with one model: every query blocked and
//! scored as a feed would, then every verdict judged against the ground truth.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use mash_matching::{Model, Scored, Verdict, settle};
use mash_synth::{NoiseKind, PersonId};

use crate::view::{Entry, Relation, Truth};
use mash_matching_bench::index::FeedIndex;

/// What happened to the true pairs that carry one kind of noise (on either side).
#[derive(Clone, Copy, Default)]
pub(crate) struct NoiseRow {
    pub pairs: usize,
    /// Blocking never offered the true entry.
    pub unblocked: usize,
    /// Offered, but scored "no match".
    pub no_match: usize,
    /// Scored "possible" only: found, but a researcher must confirm.
    pub possible: usize,
}

/// Counts over one query set. Wrong verdicts are split by [`Relation`].
#[derive(Default)]
pub(crate) struct Tally {
    pub queries: usize,
    /// Queries whose person the feed holds: the denominator of recall.
    pub in_feed: usize,
    pub blocked: usize,
    pub true_match: usize,
    pub true_possible: usize,
    /// Indexed by [`relation_index`].
    pub false_match: [usize; 3],
    pub false_possible: [usize; 3],
    /// Queries for someone with a twin, the population twin merges are drawn from.
    pub twin_queries: usize,
    pub candidates: Vec<u32>,
    pub nanos: Vec<u64>,
    /// The true pair's match probability, where blocking offered it, for the threshold sweep.
    pub true_probability: Vec<f64>,
    /// Wrong candidates' probabilities, those of at least [`SWEEP_FLOOR`].
    pub false_probability: Vec<f64>,
    /// One row per [`NoiseKind::ALL`], then one for pairs with no noise at all.
    pub by_noise: Vec<NoiseRow>,
}

/// The lowest possible-match threshold the sweep tries.
pub(crate) const SWEEP_FLOOR: f64 = 0.01;

pub(crate) fn relation_index(relation: Relation) -> usize {
    match relation {
        Relation::Twin => 0,
        Relation::Family => 1,
        Relation::Stranger => 2,
    }
}

/// The feed: its entries, where each person is, and the blocking index.
pub(crate) struct Feed<'a> {
    pub entries: &'a [Entry],
    pub index: &'a FeedIndex,
    pub position: &'a HashMap<PersonId, u32>,
}

pub(crate) fn run(feed: &Feed<'_>, queries: &[Entry], model: &Model, truth: &Truth) -> Tally {
    let mut tally = Tally {
        by_noise: vec![NoiseRow::default(); NoiseKind::ALL.len() + 1],
        candidates: Vec::with_capacity(queries.len()),
        nanos: Vec::with_capacity(queries.len()),
        ..Tally::default()
    };
    let (mut candidates, mut scored, mut stored) = (Vec::new(), Vec::<Scored>::new(), Vec::new());
    for query in queries {
        // Timed: what a feed does per search once the subject is normalised.
        let started = Instant::now();
        feed.index.candidates(&query.record, &mut candidates);
        stored.clear();
        stored.extend(candidates.iter().map(|&c| &feed.entries[c as usize].record));
        scored.clear();
        scored.extend(stored.iter().map(|record| model.score(&query.record, record)));
        settle(&stored, &mut scored);
        black_box(&scored);
        tally.nanos.push(started.elapsed().as_nanos() as u64);

        tally.queries += 1;
        tally.candidates.push(candidates.len() as u32);
        tally.twin_queries += usize::from(truth.has_twin(query.person));
        for (&candidate, scored) in candidates.iter().zip(&scored) {
            let other = feed.entries[candidate as usize].person;
            if other == query.person {
                continue;
            }
            if scored.probability >= SWEEP_FLOOR {
                tally.false_probability.push(scored.probability);
            }
            let relation = relation_index(truth.relation(query.person, other));
            match scored.verdict {
                Verdict::Match => tally.false_match[relation] += 1,
                Verdict::PossibleMatch => tally.false_possible[relation] += 1,
                Verdict::NoMatch => {}
            }
        }
        if let Some(&position) = feed.position.get(&query.person) {
            let found = candidates.binary_search(&position).ok().map(|i| &scored[i]);
            judge_true_pair(&mut tally, query, &feed.entries[position as usize], found);
        }
    }
    tally
}

fn judge_true_pair(tally: &mut Tally, query: &Entry, stored: &Entry, found: Option<&Scored>) {
    tally.in_feed += 1;
    let verdict = found.map(|scored| scored.verdict);
    tally.true_probability.extend(found.map(|scored| scored.probability));
    match verdict {
        Some(Verdict::Match) => tally.true_match += 1,
        Some(Verdict::PossibleMatch) => tally.true_possible += 1,
        _ => {}
    }
    tally.blocked += usize::from(verdict.is_some());
    let kinds: Vec<usize> = NoiseKind::ALL
        .iter()
        .enumerate()
        .filter(|(_, kind)| query.noise.contains(**kind) || stored.noise.contains(**kind))
        .map(|(i, _)| i)
        .collect();
    let rows = if kinds.is_empty() { vec![NoiseKind::ALL.len()] } else { kinds };
    for row in rows {
        let row = &mut tally.by_noise[row];
        row.pairs += 1;
        match verdict {
            None => row.unblocked += 1,
            Some(Verdict::NoMatch) => row.no_match += 1,
            Some(Verdict::PossibleMatch) => row.possible += 1,
            Some(Verdict::Match) => {}
        }
    }
}
