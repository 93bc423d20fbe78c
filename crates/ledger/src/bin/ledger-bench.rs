//! Measures the ledger at a million entries, to check that proofs stay far under a millisecond
//! and to know how fast an auditor can recompute a root.
//! Run with `cargo run --release -p mash-ledger --bin ledger-bench [leaves]`.

use std::{
    error::Error,
    time::{Duration, Instant},
};

use mash_ledger::{
    Checkpoint, CheckpointSigner, Hash, MerkleTree, RootAccumulator, leaf_hash, verify_consistency, verify_inclusion,
    verify_log,
};

const DEFAULT_LEAVES: u64 = 1_000_000;
const SAMPLES: usize = 10_000;

/// A fixed-seed xorshift64, so runs sample the same indexes without a rand dependency.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let n = std::env::args().nth(1).map(|arg| arg.parse()).transpose()?.unwrap_or(DEFAULT_LEAVES);
    let (leaves, hashing) =
        timed(|| (0..n).map(|i| leaf_hash(format!("disclosure entry {i}").as_bytes())).collect::<Vec<Hash>>());
    println!("leaves:              {n} (leaf_hash of all: {hashing:.2?}, {:.0} entries/s)", rate(n, hashing));
    let (tree, build) = timed(|| MerkleTree::from_leaves(leaves.iter().copied()));
    println!("build from_leaves:   {build:.2?}");
    let (_, pushing) = timed(|| leaves.iter().fold(MerkleTree::new(), |mut t, leaf| (t.push(*leaf), t).1));
    println!("build by push:       {pushing:.2?}");
    let (root, root_time) = timed(|| tree.root());
    println!("root():              {root_time:.2?}");
    bench_inclusion(&tree, &leaves, &root)?;
    bench_consistency(&tree, &root)?;
    bench_audit(&leaves, &tree)?;
    Ok(())
}

fn bench_inclusion(tree: &MerkleTree, leaves: &[Hash], root: &Hash) -> Result<(), Box<dyn Error>> {
    let (n, mut rng) = (tree.len(), XorShift(0x9E37_79B9_7F4A_7C15));
    let (mut prove, mut both) = (Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES));
    for _ in 0..SAMPLES {
        let index = rng.below(n);
        let start = Instant::now();
        let proof = tree.inclusion_proof(index, n)?;
        prove.push(start.elapsed());
        verify_inclusion(&leaves[index as usize], index, n, &proof, root)?;
        both.push(start.elapsed());
    }
    println!("inclusion prove:     {}", summary(&mut prove));
    println!("inclusion prove+verify: {} ({SAMPLES} random indexes)", summary(&mut both));
    Ok(())
}

fn bench_consistency(tree: &MerkleTree, root: &Hash) -> Result<(), Box<dyn Error>> {
    let (n, mut rng) = (tree.len(), XorShift(0xD1B5_4A32_D192_ED03));
    let mut both = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let old = 1 + rng.below(n);
        let start = Instant::now();
        let old_root = tree.root_at(old)?;
        let proof = tree.consistency_proof(old, n)?;
        verify_consistency(old, n, &old_root, root, &proof)?;
        both.push(start.elapsed());
    }
    println!("consistency root_at+prove+verify: {} ({SAMPLES} random old sizes)", summary(&mut both));
    Ok(())
}

fn bench_audit(leaves: &[Hash], tree: &MerkleTree) -> Result<(), Box<dyn Error>> {
    let n = tree.len();
    let (streamed, recompute) = timed(|| leaves.iter().fold(RootAccumulator::new(), |mut a, l| (a.push(*l), a).1));
    assert_eq!(streamed.root(), tree.root(), "streamed root disagrees with the tree");
    println!("root recomputation:  {recompute:.2?} ({:.0} entries/s, ~1 node hash per entry)", rate(n, recompute));
    let signer = CheckpointSigner::from_seed("bench", [1; 32]);
    let sizes = (1..=10).map(|k| n * k / 10);
    let checkpoints: Vec<_> = sizes
        .map(|size| {
            let root = tree.root_at(size)?;
            Ok(signer.sign(Checkpoint { origin: "bench".into(), size, root, timestamp_unix: 0 }))
        })
        .collect::<Result<_, mash_ledger::LedgerError>>()?;
    let (result, audit) = timed(|| verify_log(leaves, &checkpoints, &signer.verifying_key_bytes()));
    result?;
    println!("verify_log:          {audit:.2?} with 10 checkpoints ({:.0} entries/s)", rate(n, audit));
    Ok(())
}

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = work();
    (out, start.elapsed())
}

fn rate(count: u64, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64()
}

/// Median, p99 and max of the samples.
fn summary(samples: &mut [Duration]) -> String {
    samples.sort_unstable();
    let at = |q: f64| samples.get(((samples.len() as f64 - 1.0) * q) as usize).copied().unwrap_or_default();
    format!("median {:.2?}, p99 {:.2?}, max {:.2?}", at(0.5), at(0.99), at(1.0))
}
