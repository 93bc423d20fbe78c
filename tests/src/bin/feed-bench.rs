//! Benchmark of one agency feed at scale (issue 5, "Speed and memory").
//!
//! The feed runs as a CHILD PROCESS of this binary: the same executable, re-run with
//! `MASH_FEED_BENCH_CHILD=1`, calls `mash_feed::cli::main` with the health adapter, exactly as
//! the `feed-health` binary does (flags, telemetry, policy watcher, SQLite in WAL with
//! `synchronous = FULL`). So the peak RSS reported is the feed's own (`VmHWM` of the child,
//! read from `/proc/<pid>/status`), not the benchmark client's, which holds the generated
//! records and the queries.
//!
//! The parent process:
//!
//! 1. writes a development PKI and the feed's key file into a temporary directory;
//! 2. generates health's view of a seeded `mash_synth` population (default settings, seed 1)
//!    and keeps its first `--records` records as push records, in memory, before timing;
//! 3. pushes them through the real client-streaming `Feed/Push` over mutual TLS with the
//!    `agency-health` certificate (`--streams` concurrent streams, default 1), and times it
//!    from the first record sent to the last summary received: records stored per second;
//! 4. searches through the real `Feed/Search` over mutual TLS with the `broker` certificate,
//!    one subject per request, one request in flight: first `--warm-up` searches (discarded),
//!    then `--searches` measured ones. The query people are education's NOISY view of people
//!    the feed holds (typos, nicknames, previous surnames, moves, date errors, as that agency
//!    records them), with the NHS number and UPN withheld, so every search goes through the
//!    blocking keys and the probabilistic (Fellegi-Sunter) scoring rather than an identifier;
//! 5. counts, for each measured query, the candidates the feed had to unseal and score (the
//!    distinct records sharing a blind-indexed blocking key with it), by reading the feed's
//!    SQLite file directly with the feed's key, after the timed phase;
//! 6. prints the command, the machine, and the figures against the targets.
//!
//! Run: `cargo run --release -p mash-e2e --bin feed-bench -- [--records N] [--searches N]
//! [--warm-up N] [--streams N] [--seed N]`.

use mash_alloc as _;

use std::{
    collections::{BTreeMap, HashSet},
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use mash_domain::Agency;
use mash_e2e::samples::Samples;
use mash_matching::{MatchRecord, blocking_keys};
use mash_proto::v1::{self as pb, feed_ingest_client::FeedIngestClient, feed_search_client::FeedSearchClient};
use mash_seal::KeyRing;
use mash_synth::{AgencyRecord, Settings, Subject, records};
use mash_transport::TlsMaterial;
use sqlx::{AssertSqlSafe, Row};
use tonic::transport::Channel;

const CHILD_ENV: &str = "MASH_FEED_BENCH_CHILD";
const FEED: &str = "feed-health";
const PUSHER: &str = "agency-health";
const SEARCHER: &str = "broker";
/// Health records per person in the default synthetic population (about 1.18); a first guess
/// at the population size, grown if it falls short.
const RECORDS_PER_PERSON: f64 = 1.15;

const TARGET_P99_MS: f64 = 20.0;
const TARGET_RECORDS_PER_S: f64 = 50_000.0;
const TARGET_RSS_MIB: f64 = 1024.0;

struct Args {
    records: u64,
    searches: usize,
    warm_up: usize,
    streams: usize,
    seed: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args { records: 1_000_000, searches: 2_000, warm_up: 200, streams: 1, seed: 1 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: u64 = args.next().with_context(|| format!("{flag} needs a value"))?.parse()?;
        match flag.as_str() {
            "--records" => parsed.records = value,
            "--searches" => parsed.searches = usize::try_from(value)?,
            "--warm-up" => parsed.warm_up = usize::try_from(value)?,
            "--streams" => parsed.streams = usize::try_from(value.max(1))?,
            "--seed" => parsed.seed = value,
            _ => anyhow::bail!("unknown flag {flag}; use --records, --searches, --warm-up, --streams, --seed"),
        }
    }
    anyhow::ensure!(parsed.records > 0 && parsed.searches > 0, "--records and --searches must be positive");
    Ok(parsed)
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os(CHILD_ENV).is_some() {
        // The feed itself, as the feed-health binary runs it.
        return mash_feed::cli::main(Arc::new(mash_feed_health::Adapter));
    }
    let args = args()?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let command: Vec<String> = std::env::args().collect();
    println!("command: {}", command.join(" "));
    println!("machine: {}", machine());
    let dir = tempfile::tempdir()?;
    let pki = mash_pki::DevPki::generate(&dir.path().join("pki"), "MASH development CA", &mash_pki::demo_principals())?;
    let key_file = dir.path().join("feed-health-keys.json");
    KeyRing::write_new(&key_file, "feed-health-1")?;
    let db_path = dir.path().join("feed-health.db");

    let started = Instant::now();
    let data = generate(&args)?;
    println!(
        "generated {} health records ({} people in the population, seed {}) and {} queries from education's view in {:.1?}",
        data.push.len(),
        data.people,
        args.seed,
        data.queries.len(),
        started.elapsed()
    );

    let mut feed = FeedProcess::start(&pki, &key_file, &db_path, dir.path())?;
    let result = bench(&args, data, &pki, &key_file, &db_path, &mut feed).await;
    let rss = feed.stop();
    let (figures, rss) = (result?, rss?);
    report(&figures, &rss, &db_path);
    Ok(())
}

/// Everything generated before the clock starts.
struct Data {
    people: u32,
    push: Vec<pb::PushRecord>,
    /// The true person of each pushed record, by the number in its id ("H-00000042" → 42).
    person_of_record: Vec<u32>,
    /// (true person, query) for the warm-up, then the measured searches.
    queries: Vec<(u32, pb::Person)>,
}

fn generate(args: &Args) -> anyhow::Result<Data> {
    let mut people = ((args.records as f64 / RECORDS_PER_PERSON).ceil() as u32).max(100);
    loop {
        let settings = Settings::new(args.seed, people.min(mash_synth::MAX_PEOPLE));
        let health: Vec<AgencyRecord> =
            records(&settings, Agency::HEALTH)?.take(usize::try_from(args.records)?).collect();
        if (health.len() as u64) < args.records {
            anyhow::ensure!(people < mash_synth::MAX_PEOPLE, "the largest population has too few health records");
            people = (f64::from(people) * args.records as f64 / health.len().max(1) as f64 * 1.02).ceil() as u32;
            continue;
        }
        let held: HashSet<u32> = health.iter().map(|r| r.person.0).collect();
        let mut person_of_record = vec![0; health.len() + 1];
        for record in &health {
            person_of_record[record_number(&record.record_id)?] = record.person.0;
        }
        // Education's view of people health holds, one query per person, spread evenly.
        let mut seen = HashSet::new();
        let candidates: Vec<(u32, Subject)> = records(&settings, Agency::EDUCATION)?
            .filter(|r| held.contains(&r.person.0) && seen.insert(r.person.0))
            .map(|r| (r.person.0, r.subject))
            .collect();
        let wanted = args.searches + args.warm_up;
        anyhow::ensure!(candidates.len() >= wanted, "only {} education query people", candidates.len());
        let step = candidates.len() as f64 / wanted as f64;
        let queries = (0..wanted)
            .map(|i| &candidates[(i as f64 * step) as usize])
            .map(|(person, subject)| (*person, query_person(subject)))
            .collect();
        let push = health.iter().map(mash_e2e::synthetic::push_record).collect();
        return Ok(Data { people: settings.people, push, person_of_record, queries });
    }
}

fn record_number(record_id: &str) -> anyhow::Result<usize> {
    let (_, number) = record_id.split_once('-').context("record id without a number")?;
    Ok(number.parse()?)
}

/// A referrer's details of the person: names, date of birth, postcode and sex as education
/// holds them, identifiers withheld so that matching is probabilistic.
fn query_person(subject: &Subject) -> pb::Person {
    pb::Person { nhs_number: String::new(), upn: String::new(), ..mash_e2e::synthetic::person(subject) }
}

/// The feed in its own process, so that its memory is measured alone.
struct FeedProcess {
    child: Child,
    addr: String,
}

impl FeedProcess {
    fn start(pki: &mash_pki::DevPki, key_file: &Path, db_path: &Path, dir: &Path) -> anyhow::Result<Self> {
        let tls = pki.paths(FEED)?;
        let policy_dir = mash_system::shipped_policy_dir();
        let log = std::fs::File::create(dir.join("feed.log"))?;
        let mut child = Command::new(std::env::current_exe()?)
            .env(CHILD_ENV, "1")
            .env("MASH_LOG", "warn")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--database-url")
            .arg(mash_db::sqlite_url(db_path))
            .arg("--key-file")
            .arg(key_file)
            .arg("--tls-ca")
            .arg(&tls.ca)
            .arg("--tls-cert")
            .arg(&tls.cert)
            .arg("--tls-key")
            .arg(&tls.key)
            .arg("--policy-dir")
            .arg(&policy_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting the feed process")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            anyhow::bail!("the feed did not start: {line:?}; see {}", dir.join("feed.log").display());
        };
        Ok(Self { addr: format!("https://{addr}"), child })
    }

    fn status(&self, field: &str) -> anyhow::Result<f64> {
        status_mib(&format!("/proc/{}/status", self.child.id()), field)
    }

    /// The feed's peak and current RSS, then stops it.
    fn stop(&mut self) -> anyhow::Result<Rss> {
        let rss = Rss { peak_mib: self.status("VmHWM:")?, current_mib: self.status("VmRSS:")? };
        self.child.kill()?;
        self.child.wait()?;
        Ok(rss)
    }
}

struct Rss {
    peak_mib: f64,
    current_mib: f64,
}

fn status_mib(path: &str, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(path)?;
    let line = status.lines().find(|l| l.starts_with(field)).with_context(|| format!("no {field}"))?;
    let kib: f64 = line.split_whitespace().nth(1).context("bad status line")?.parse()?;
    Ok(kib / 1024.0)
}

async fn channel(pki: &mash_pki::DevPki, principal: &str, addr: &str) -> anyhow::Result<Channel> {
    let paths = pki.paths(principal)?;
    let tls = TlsMaterial::load(&paths.ca, &paths.cert, &paths.key)?;
    Ok(mash_transport::connect(addr, &tls, &mash_domain::Identity::feed(mash_domain::Agency::HEALTH)).await?)
}

struct Figures {
    records: usize,
    stored: u64,
    rejected: usize,
    ingest: Duration,
    rss_after_ingest_mib: f64,
    search: Samples,
    searches: usize,
    search_wall: Duration,
    /// Items returned per measured search.
    items: Samples,
    /// Distinct records sharing a blocking key with each measured query.
    candidates: Samples,
    /// Per kind of blocking key: (keys looked up, total records under them, largest block).
    blocks: BTreeMap<String, (u64, u64, u64)>,
    found_true: usize,
    wrong_matches: usize,
    record_keys: i64,
}

async fn bench(
    args: &Args,
    data: Data,
    pki: &mash_pki::DevPki,
    key_file: &Path,
    db_path: &Path,
    feed: &mut FeedProcess,
) -> anyhow::Result<Figures> {
    let Data { push, person_of_record, queries, .. } = data;
    let records = push.len();

    // Ingestion: every record through Push, `streams` streams at once.
    let pusher = FeedIngestClient::new(channel(pki, PUSHER, &feed.addr).await?);
    let per_stream = records.div_ceil(args.streams);
    let mut chunks = Vec::new();
    let mut push = push.into_iter();
    for _ in 0..args.streams {
        chunks.push(push.by_ref().take(per_stream).collect::<Vec<_>>());
    }
    let started = Instant::now();
    let pushes: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let mut client = pusher.clone();
            tokio::spawn(async move { client.push(tokio_stream::iter(chunk)).await })
        })
        .collect();
    let (mut stored, mut rejected) = (0, 0);
    for push in pushes {
        let summary = push.await??.into_inner();
        stored += summary.stored;
        rejected += summary.rejected.len();
        if let Some(first) = summary.rejected.first() {
            eprintln!("rejected, e.g. {}: {} {}", first.record_id, first.field, first.reason);
        }
    }
    let ingest = started.elapsed();
    let rss_after_ingest_mib = feed.status("VmHWM:")?;
    println!(
        "pushed {records} records in {:.1?}: {:.0} records/s; feed peak RSS so far {rss_after_ingest_mib:.0} MiB",
        ingest,
        records as f64 / ingest.as_secs_f64()
    );

    // Searches: one subject per request, one in flight.
    let mut searcher = FeedSearchClient::new(channel(pki, SEARCHER, &feed.addr).await?);
    let (warm, measured) = queries.split_at(args.warm_up.min(queries.len()));
    for (_, person) in warm {
        searcher.search(search_request(person)).await?;
    }
    let mut search = Samples::default();
    let mut items = Samples::default();
    let (mut found_true, mut wrong_matches) = (0, 0);
    let started = Instant::now();
    for (person, query) in measured {
        let t = Instant::now();
        let response = searcher.search(search_request(query)).await?.into_inner();
        search.record(t.elapsed().as_nanos() as u64);
        let returned: Vec<&pb::Item> = response.results.iter().flat_map(|r| &r.items).collect();
        items.record(returned.len() as u64);
        let true_person = |item: &pb::Item| {
            record_number(&item.record_id).ok().and_then(|n| person_of_record.get(n).copied()) == Some(*person)
        };
        if returned.iter().any(|item| true_person(item)) {
            found_true += 1;
        }
        let is_match = |item: &pb::Item| item.r#match.as_ref().is_some_and(|m| m.verdict() == pb::MatchVerdict::Match);
        wrong_matches += returned.iter().filter(|item| is_match(item) && !true_person(item)).count();
    }
    let search_wall = started.elapsed();

    let (candidates, blocks, record_keys) = candidates(key_file, db_path, measured).await?;
    Ok(Figures {
        records,
        stored,
        rejected,
        ingest,
        rss_after_ingest_mib,
        search,
        searches: measured.len(),
        search_wall,
        items,
        candidates,
        blocks,
        found_true,
        wrong_matches,
        record_keys,
    })
}

fn search_request(person: &pb::Person) -> pb::SearchRequest {
    pb::SearchRequest { subjects: vec![pb::SubjectQuery { subject_ref: "s1".into(), person: Some(person.clone()) }] }
}

/// What the feed had to open for each query: the distinct records under its blind-indexed
/// blocking keys, computed as the feed computes them, read from the feed's own file.
async fn candidates(
    key_file: &Path,
    db_path: &Path,
    queries: &[(u32, pb::Person)],
) -> anyhow::Result<(Samples, BTreeMap<String, (u64, u64, u64)>, i64)> {
    let keys = KeyRing::load(key_file)?;
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", db_path.display());
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await?;
    let mut hist = Samples::default();
    let mut blocks: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let today = mash_domain::today();
    // The index is partitioned by epoch; a key is looked up in every one, as the feed does.
    let epochs: Vec<i64> = sqlx::query("SELECT DISTINCT epoch FROM record_keys")
        .fetch_all(&pool)
        .await?
        .iter()
        .map(|row| row.try_get("epoch"))
        .collect::<Result<_, _>>()?;
    let epoch_list = epochs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    for (_, query) in queries {
        let person = mash_domain::Person::parse("query", mash_feed::person_input(query), today)?;
        let blocking = blocking_keys(&MatchRecord::from_person(&person));
        // `record_keys` holds each index key's 8 bytes as a big-endian signed integer.
        let blind: Vec<i64> = blocking
            .iter()
            .map(|k| Ok(i64::from_be_bytes(mash_feed::index_key(&keys, k).as_slice().try_into()?)))
            .collect::<anyhow::Result<_>>()?;
        let placeholders = vec!["?"; blind.len()].join(", ");
        let sql = format!(
            "SELECT COUNT(DISTINCT record) AS n FROM record_keys WHERE epoch IN ({epoch_list}) AND blind_key IN ({placeholders})"
        );
        let mut count = sqlx::query(AssertSqlSafe(sql));
        for key in &blind {
            count = count.bind(*key);
        }
        let n: i64 = count.fetch_one(&pool).await?.try_get("n")?;
        hist.record(u64::try_from(n)?);
        for (key, blind) in blocking.iter().zip(&blind) {
            let sql = format!("SELECT COUNT(*) AS n FROM record_keys WHERE epoch IN ({epoch_list}) AND blind_key = ?");
            let size: i64 = sqlx::query(AssertSqlSafe(sql)).bind(*blind).fetch_one(&pool).await?.try_get("n")?;
            let entry = blocks.entry(key.kind().to_owned()).or_default();
            let size = u64::try_from(size)?;
            *entry = (entry.0 + 1, entry.1 + size, entry.2.max(size));
        }
    }
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM record_keys").fetch_one(&pool).await?.try_get("n")?;
    pool.close().await;
    Ok((hist, blocks, total))
}

fn report(f: &Figures, rss: &Rss, db_path: &Path) {
    let per_s = f.records as f64 / f.ingest.as_secs_f64();
    let ms = |q: f64| f.search.value_at_quantile(q) as f64 / 1e6;
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!();
    println!(
        "ingestion: {} records sent, {} stored, {} rejected, in {:.2?}",
        f.records, f.stored, f.rejected, f.ingest
    );
    println!(
        "searches:  {} measured, {:.0} searches/s at 1 in flight; true person among the items in {} ({:.1}%); \
         {} items called 'match' that are someone else",
        f.searches,
        f.searches as f64 / f.search_wall.as_secs_f64(),
        f.found_true,
        100.0 * f.found_true as f64 / f.searches as f64,
        f.wrong_matches
    );
    println!(
        "store:     {} record_keys rows ({:.2} per record); {}",
        f.record_keys,
        f.record_keys as f64 / f.records as f64,
        disk(db_path)
    );
    println!();
    println!("{:<44} {:>12} {:>12} {:>8}", "measurement", "value", "target", "");
    println!(
        "{:<44} {:>12.0} {:>12} {:>8}",
        "ingestion, records/s",
        per_s,
        "≥ 50000",
        verdict(per_s >= TARGET_RECORDS_PER_S)
    );
    println!("{:<44} {:>12.2} {:>12} {:>8}", "search p50, ms", ms(0.5), "", "");
    println!("{:<44} {:>12.2} {:>12} {:>8}", "search p99, ms", ms(0.99), "≤ 20", verdict(ms(0.99) <= TARGET_P99_MS));
    println!("{:<44} {:>12.2} {:>12} {:>8}", "search max, ms", ms(1.0), "", "");
    println!(
        "{:<44} {:>12.1} {:>12} {:>8}",
        "feed peak RSS (VmHWM), MiB",
        rss.peak_mib,
        "≤ 1024",
        verdict(rss.peak_mib <= TARGET_RSS_MIB)
    );
    println!("{:<44} {:>12.1} {:>12} {:>8}", "feed peak RSS after ingestion, MiB", f.rss_after_ingest_mib, "", "");
    println!("{:<44} {:>12.1} {:>12} {:>8}", "feed RSS at the end (VmRSS), MiB", rss.current_mib, "", "");
    let q = |h: &Samples, p: f64| h.value_at_quantile(p);
    println!(
        "{:<44} {:>12} {:>12} {:>8}",
        "candidates per query, p50 / p99 / max",
        format!("{} / {} / {}", q(&f.candidates, 0.5), q(&f.candidates, 0.99), f.candidates.max()),
        format!("mean {:.0}", f.candidates.mean()),
        ""
    );
    println!(
        "{:<44} {:>12} {:>12} {:>8}",
        "items returned per query, p50 / p99 / max",
        format!("{} / {} / {}", q(&f.items, 0.5), q(&f.items, 0.99), f.items.max()),
        format!("mean {:.1}", f.items.mean()),
        ""
    );
    println!();
    println!("{:<10} {:>10} {:>14} {:>12}", "key kind", "looked up", "mean block", "max block");
    for (kind, (n, total, max)) in &f.blocks {
        println!("{kind:<10} {n:>10} {:>14.1} {max:>12}", *total as f64 / (*n).max(1) as f64);
    }
}

fn disk(db_path: &Path) -> String {
    let size = |suffix: &str| {
        let mut path = PathBuf::from(db_path).into_os_string();
        path.push(suffix);
        std::fs::metadata(path).map_or(0, |m| m.len())
    };
    format!("database {:.0} MiB + WAL {:.0} MiB on disk", size("") as f64 / 1048576.0, size("-wal") as f64 / 1048576.0)
}

/// CPUs, model, memory and load average, as the kernel reports them.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        .unwrap_or_default();
    let memory = status_mib("/proc/meminfo", "MemTotal:").map_or(0.0, |m| m / 1024.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{cpus} CPUs ({model}), {memory:.1} GiB RAM, load average {} (1/5/15 min)", load.join(" "))
}
