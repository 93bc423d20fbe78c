//! Benchmark of the disclosure log (issue 4), in one run:
//!
//! 1. durable, group-committed appends through the broker's real log writer
//!    on SQLite (WAL, synchronous=FULL): many concurrent appenders, each
//!    waiting until its entries are committed, as checks do;
//! 2. verification: the whole chain, every entry hash and the Merkle root
//!    against a signed checkpoint, over 1,000,000 entries in memory (what an
//!    offline auditor runs), and over the appended log read back from SQLite;
//! 3. an inclusion proof and its verification in a 1,000,000-entry tree.
//!
//! Run: `cargo run --release -p mash-e2e --bin log-bench`

use mash_alloc as _;

use std::time::{Duration, Instant};

use mash_broker::{
    audit,
    ledger::{CheckpointPolicy, write_new_signing_key},
    log::{Entry, GENESIS, NewEntry},
};

const APPENDERS: usize = 64;
const ENTRIES_PER_APPEND: usize = 10;
const APPEND_TOTAL: usize = 200_000;
const VERIFY_TOTAL: u64 = 1_000_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let appended = appends(dir.path()).await?;
    verify_in_memory()?;
    verify_from_database(&appended).await?;
    inclusion_proofs();
    Ok(())
}

/// A realistic entry: the fields a check writes, with typical lengths.
fn sample(i: usize) -> NewEntry {
    NewEntry {
        requester: "spiffe://mash.local/user/rita-researcher".into(),
        role: "researcher".into(),
        enquiry_id: format!("6f1c2d3e-0000-4000-8000-{i:012}"),
        level: "3".into(),
        purpose: "front-door-decision".into(),
        lawful_basis: "children-act-1989-s47".into(),
        consent: "not-sought".into(),
        subject_id: format!("0b7e9a10-0000-4000-8000-{i:012}"),
        agency: "police".into(),
        record_ref: format!("P-{i}"),
        category: "police/domestic-abuse".into(),
        outcome: "disclosed".into(),
        tier: "detail".into(),
        reason: "p, *, 3, police/*, detail, allow".into(),
        policy_version: format!("sha256:{}", "ab".repeat(32)),
        content_digest: "cd".repeat(32),
        person_ref: "ef".repeat(32),
        requester_agency: "mash".into(),
        on_behalf_of: "spiffe://mash.local/user/rita-researcher".into(),
        recipient: "spiffe://mash.local/user/rita-researcher".into(),
        shown: Some(vec![7; 200]),
        deliver: None,
    }
}

struct Appended {
    log: mash_broker::log::DisclosureLog,
}

async fn appends(dir: &std::path::Path) -> anyhow::Result<Appended> {
    let keys = dir.join("broker.json");
    mash_seal::KeyRing::write_new(&keys, "bench-1")?;
    let signing = dir.join("signing.json");
    write_new_signing_key(&signing, "bench-signing")?;
    let url = mash_db::sqlite_url(&dir.join("broker.db"));
    let policy = CheckpointPolicy { every_entries: 100_000, every: Duration::from_secs(3600) };
    let log = mash_broker::open_log(&url, &keys, &signing, policy).await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for appender in 0..APPENDERS {
        let log = log.clone();
        tasks.spawn(async move {
            let appends = APPEND_TOTAL / ENTRIES_PER_APPEND / APPENDERS;
            for n in 0..appends {
                let batch = (0..ENTRIES_PER_APPEND).map(|k| sample(appender * 1_000_000 + n * 10 + k)).collect();
                log.append(batch).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let elapsed = started.elapsed();
    let total = (APPEND_TOTAL / ENTRIES_PER_APPEND / APPENDERS) * ENTRIES_PER_APPEND * APPENDERS;
    println!(
        "durable appends   {total} entries, {APPENDERS} concurrent appenders of {ENTRIES_PER_APPEND}: {:.2} s, {:.0} entries/s (target >= 20,000)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    log.ledger().checkpoint().await?;
    Ok(Appended { log })
}

fn verify_in_memory() -> anyhow::Result<()> {
    let mut entries = Vec::with_capacity(VERIFY_TOTAL as usize);
    let mut prev = GENESIS.to_owned();
    for seq in 1..=VERIFY_TOTAL {
        let mut fields = sample(seq as usize);
        fields.shown = None;
        let mut entry = Entry {
            seq,
            recorded_at: "2026-11-23T12:00:00.000000Z".into(),
            fields,
            prev_hash: prev,
            entry_hash: String::new(),
        };
        entry.entry_hash = entry.compute_hash();
        prev = entry.entry_hash.clone();
        entries.push(entry);
    }
    let leaves: Vec<_> =
        entries.iter().map(|e| mash_broker::ledger::leaf_of(&e.entry_hash)).collect::<Result<_, _>>()?;
    let tree = mash_ledger::MerkleTree::from_leaves(leaves);
    let signer = mash_ledger::CheckpointSigner::from_seed("bench", [9; 32]);
    let checkpoint = signer.sign(mash_ledger::Checkpoint {
        origin: mash_broker::ledger::ORIGIN.into(),
        size: tree.len(),
        root: tree.root(),
        timestamp_unix: 0,
    });
    let started = Instant::now();
    let verified =
        audit::verify(&entries, &[checkpoint], &signer.verifying_key_bytes()).map_err(|f| anyhow::anyhow!(f))?;
    let elapsed = started.elapsed();
    println!(
        "verify (offline)  {} entries and 1 checkpoint: {:.2} s, {:.0} entries/s (target >= 500,000)",
        verified.entries,
        elapsed.as_secs_f64(),
        verified.entries as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn verify_from_database(appended: &Appended) -> anyhow::Result<()> {
    let started = Instant::now();
    let verified = appended.log.verify().await?.map_err(|f| anyhow::anyhow!(f))?;
    let elapsed = started.elapsed();
    println!(
        "verify (SQLite)   {} entries read back and verified: {:.2} s, {:.0} entries/s",
        verified.entries,
        elapsed.as_secs_f64(),
        verified.entries as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn inclusion_proofs() {
    let leaves = (0..VERIFY_TOTAL).map(|i| mash_ledger::leaf_hash(&i.to_be_bytes()));
    let tree = mash_ledger::MerkleTree::from_leaves(leaves);
    let root = tree.root();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut times = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = state % tree.len();
        let started = Instant::now();
        let proof = tree.inclusion_proof(index, tree.len());
        let ok = proof.is_ok_and(|p| {
            tree.leaf(index)
                .is_ok_and(|leaf| mash_ledger::verify_inclusion(&leaf, index, tree.len(), &p, &root).is_ok())
        });
        times.push(started.elapsed());
        assert!(ok, "proof for {index} verifies");
    }
    times.sort();
    println!(
        "inclusion proof   in a {}-entry log, proof + verify: median {:.1} µs, p99 {:.1} µs (target <= 1 ms)",
        tree.len(),
        times[times.len() / 2].as_secs_f64() * 1e6,
        times[times.len() * 99 / 100].as_secs_f64() * 1e6
    );
}
