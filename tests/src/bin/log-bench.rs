//! Benchmark of the disclosure log (issues 4 and 20).
//!
//! By default, in one run:
//!
//! 1. durable, group-committed appends through the broker's real log writer
//!    on SQLite (WAL, synchronous=FULL): many concurrent appenders, each
//!    waiting until its entries are committed, as checks do;
//! 2. verification: the whole chain, every entry hash and the Merkle root
//!    against a signed checkpoint, over 1,000,000 entries in memory (what an
//!    offline auditor runs), and over the appended log read back from SQLite;
//! 3. an inclusion proof and its verification in a 1,000,000-entry tree.
//!
//! With `--large N` (e.g. 10000000): writes an N-entry log through the same writer
//! and signs a checkpoint over it; then a second process (so that its peak memory is
//! its own) verifies it online, a page at a time, exports it as it is read, and
//! verifies the export offline. Each phase prints entries/s; each process prints its
//! peak RSS (`VmHWM`), the target being at most 256 MiB for verification and export.
//!
//! Run: `cargo run --release -p mash-e2e --bin log-bench [-- --large 10000000]`

use mash_alloc as _;

use std::{
    io::Write,
    path::Path,
    time::{Duration, Instant},
};

use futures::StreamExt;
use mash_disclosure_log::{
    Caller, CheckpointPolicy, DisclosureLog, EnquiryContext, Entry, EntryBuilder, GENESIS, NewEntry, ORIGIN, Outcome,
    Recipient, Role, leaf_of, write_new_signing_key,
};
use mash_domain::{ConsentState, LawfulBasis, Level, Purpose, Tier};

const APPENDERS: usize = 64;
const ENTRIES_PER_APPEND: usize = 10;
const APPEND_TOTAL: usize = 200_000;
const VERIFY_TOTAL: u64 = 1_000_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--large", n] => large(n.parse()?).await,
        ["--verify-and-export", dir] => verify_and_export(Path::new(dir)).await,
        [] => standard().await,
        _ => anyhow::bail!("usage: log-bench [--large ENTRIES]"),
    }
}

async fn standard() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let log = open(dir.path(), CheckpointPolicy { every_entries: 100_000, every: Duration::from_secs(3600) }).await?;
    appends(&log, APPENDERS, ENTRIES_PER_APPEND, APPEND_TOTAL, true).await?;
    log.checkpointer().checkpoint().await?;
    verify_in_memory()?;
    verify_from_database(&log).await?;
    inclusion_proofs();
    Ok(())
}

/// A realistic entry: the fields a check writes, with typical lengths.
fn sample(i: usize, shown: bool) -> NewEntry {
    let caller = Caller {
        identity: "spiffe://mash.local/user/rita-researcher".into(),
        role: Some(Role::Researcher),
        organisation: "mash".into(),
    };
    let enquiry = EnquiryContext {
        enquiry_id: format!("6f1c2d3e-0000-4000-8000-{i:012}"),
        level: Level::ChildProtection,
        purpose: Purpose::FrontDoorDecision,
        lawful_basis: LawfulBasis::Section47,
        consent: ConsentState::NotSought,
        assigned_researcher: caller.identity.clone(),
    };
    let fields = EntryBuilder::new(&caller, &format!("sha256:{}", "ab".repeat(32)))
        .enquiry(&enquiry)
        .subject(&format!("0b7e9a10-0000-4000-8000-{i:012}"), &"ef".repeat(32))
        .agency("police")
        .record(&format!("P-{i}"), "police/domestic-abuse")
        .expect("plain text")
        .shown_to(Recipient::Caller, "cd".repeat(32))
        .build(Outcome::Disclosed, Tier::Detail, "p, *, 3, police/*, detail, allow");
    let entry = NewEntry::from(fields);
    if shown { entry.showing(vec![7; 200]) } else { entry }
}

async fn open(dir: &Path, policy: CheckpointPolicy) -> anyhow::Result<DisclosureLog> {
    let keys = dir.join("broker.json");
    if !keys.exists() {
        mash_seal::KeyRing::write_new(&keys, "bench-1")?;
        write_new_signing_key(&dir.join("signing.json"), "bench-signing")?;
    }
    let url = mash_db::sqlite_url(&dir.join("broker.db"));
    Ok(mash_broker::open_log(&url, &keys, &dir.join("signing.json"), policy).await?)
}

/// `total` entries appended by `appenders` concurrent appenders, `per_append` at a time.
async fn appends(
    log: &DisclosureLog,
    appenders: usize,
    per_append: usize,
    total: usize,
    shown: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let appends = total / per_append / appenders;
    for appender in 0..appenders {
        let log = log.clone();
        tasks.spawn(async move {
            for n in 0..appends {
                let first = (appender * appends + n) * per_append;
                let batch = (first..first + per_append).map(|i| sample(i, shown)).collect();
                log.append(batch).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let elapsed = started.elapsed();
    let total = appends * per_append * appenders;
    println!(
        "durable appends   {total} entries, {appenders} concurrent appenders of {per_append}: {:.2} s, {:.0} entries/s (target >= 20,000)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn verify_in_memory() -> anyhow::Result<()> {
    let mut entries = Vec::with_capacity(VERIFY_TOTAL as usize);
    let mut prev = GENESIS.to_owned();
    for seq in 1..=VERIFY_TOTAL {
        let mut entry = Entry {
            seq,
            recorded_at: "2026-11-23T12:00:00.000000Z".into(),
            fields: sample(seq as usize, false).fields,
            prev_hash: prev,
            entry_hash: String::new(),
        };
        entry.entry_hash = entry.compute_hash();
        prev = entry.entry_hash.clone();
        entries.push(entry);
    }
    let leaves: Vec<_> = entries.iter().map(|e| leaf_of(&e.entry_hash)).collect::<Result<_, _>>()?;
    let tree = mash_ledger::MerkleTree::from_leaves(leaves);
    let signer = mash_ledger::CheckpointSigner::from_seed("bench", [9; 32]);
    let checkpoint = signer.sign(mash_ledger::Checkpoint {
        origin: ORIGIN.into(),
        size: tree.len(),
        root: tree.root(),
        timestamp_unix: 0,
    });
    let started = Instant::now();
    let verified =
        mash_ledger::verify_streams(entries.into_iter().map(Ok), [Ok(checkpoint)], &signer.verifying_key_bytes())
            .map_err(|f| anyhow::anyhow!(f))?;
    let elapsed = started.elapsed();
    println!(
        "verify (offline)  {} entries and 1 checkpoint: {:.2} s, {:.0} entries/s (target >= 500,000)",
        verified.entries,
        elapsed.as_secs_f64(),
        verified.entries as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn verify_from_database(log: &DisclosureLog) -> anyhow::Result<u64> {
    let started = Instant::now();
    let verified = log.verify().await?.map_err(|f| anyhow::anyhow!(f))?;
    let elapsed = started.elapsed();
    println!(
        "verify (SQLite)   {} entries and {} checkpoints read back and verified: {:.2} s, {:.0} entries/s",
        verified.entries,
        verified.checkpoints,
        elapsed.as_secs_f64(),
        verified.entries as f64 / elapsed.as_secs_f64()
    );
    Ok(verified.entries)
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

/// Writes an `entries`-entry log and signs a checkpoint over it, then verifies and exports it
/// in a second process.
async fn large(entries: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir_in(std::env::var_os("LOG_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into))?;
    {
        // Checkpoints only at the end: the benchmark measures appends.
        let never = CheckpointPolicy { every_entries: u64::MAX, every: Duration::from_secs(86_400) };
        let log = open(dir.path(), never).await?;
        // Entries without sealed content: verification and export never read it.
        appends(&log, 8, 1000, entries, false).await?;
        let started = Instant::now();
        let signed = log.checkpointer().checkpoint().await?.map(|c| c.checkpoint.size).unwrap_or(0);
        println!("checkpoint        signed over {signed} entries: {:.2} s", started.elapsed().as_secs_f64());
        println!("peak RSS (write)  {} MiB", peak_rss_mib()?);
    }
    let status =
        std::process::Command::new(std::env::current_exe()?).arg("--verify-and-export").arg(dir.path()).status()?;
    anyhow::ensure!(status.success(), "verification and export failed");
    Ok(())
}

/// Online verification, export and offline verification of the log in `dir`.
async fn verify_and_export(dir: &Path) -> anyhow::Result<()> {
    let log = open(dir, CheckpointPolicy { every_entries: u64::MAX, every: Duration::from_secs(86_400) }).await?;
    let entries = verify_from_database(&log).await?;

    let started = Instant::now();
    let path = dir.join("export.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut export = std::pin::pin!(log.export());
    while let Some(chunk) = export.next().await {
        out.write_all(chunk?.as_bytes())?;
    }
    out.flush()?;
    let elapsed = started.elapsed();
    println!(
        "export (SQLite)   {entries} entries streamed to a file of {} MiB: {:.2} s, {:.0} entries/s",
        std::fs::metadata(&path)?.len() >> 20,
        elapsed.as_secs_f64(),
        entries as f64 / elapsed.as_secs_f64()
    );

    let started = Instant::now();
    let key = log.checkpointer().verifying_key();
    let open = || std::fs::File::open(&path).map(std::io::BufReader::new);
    let verified = mash_ledger::verify_export(open()?, open()?, &key).map_err(|f| anyhow::anyhow!(f))?;
    let elapsed = started.elapsed();
    println!(
        "verify (export)   {} entries and {} checkpoints read from the file: {:.2} s, {:.0} entries/s",
        verified.entries,
        verified.checkpoints,
        elapsed.as_secs_f64(),
        verified.entries as f64 / elapsed.as_secs_f64()
    );
    println!("peak RSS (verify and export)  {} MiB (target <= 256 MiB)", peak_rss_mib()?);
    Ok(())
}

/// This process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).ok_or_else(|| anyhow::anyhow!("no VmHWM"))?;
    let kib: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse()?;
    Ok(kib >> 10)
}
