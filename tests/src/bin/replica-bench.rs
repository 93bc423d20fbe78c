//! Benchmark of broker scale-out (issue 7): checks per second with one and with two broker
//! processes on one PostgreSQL, under the same load, in one run.
//!
//! One process starts the four feeds in-process on PostgreSQL (a fresh schema each), loads the
//! demo population, and starts two broker processes (this binary again, re-executed as the broker)
//! on one broker schema, each with its own certificate. It opens enquiries on the demo households
//! and checks each once, then alternates two phases, `--rounds` times:
//!
//! - **1 replica**: every call goes to broker 1 (broker 2 runs, idle);
//! - **2 replicas**: the calls are split evenly between brokers 1 and 2;
//!
//! each with `--in-flight` calls (default 32) over 4 channels per broker, round-robin over the
//! enquiries, a one-second warm-up, then `--seconds` measured (default 10). It reports checks/s,
//! p50/p99 latency, disclosure-log entries per commit, and where the CPU went: the brokers, this
//! process (load generator and the four feeds), and the whole machine (PostgreSQL is the rest).
//! Then it checks that the log still verifies, end to end.
//!
//! Run: `cargo run --release -p mash-e2e --bin replica-bench -- [--seconds N] [--rounds N]
//! [--in-flight N]`, with PostgreSQL at `MASH_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Results and their limits: `docs/scale-out.md`.
//!
//! `tests/tests/scale_out.rs` includes this file for its [`cluster`] module, so that the test and
//! the benchmark start brokers the same way.

use mash_alloc as _;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use mash_e2e::samples::Samples;
use mash_proto::v1::{self as pb, AgencyStatus};
use mash_system::BrokerClients;

/// Set in a re-executed copy of this binary: run the broker instead of the benchmark.
const BROKER_ROLE: &str = "MASH_REPLICA_BENCH_AS_BROKER";
const CHANNELS_PER_BROKER: usize = 4;
/// Enough distinct enquiries that checks rarely queue on one enquiry's row.
const ENQUIRIES: usize = 48;
const WARM_UP: Duration = Duration::from_secs(1);

fn main() -> anyhow::Result<()> {
    // The broker runs its own runtime, so this must come before ours exists.
    if std::env::var_os(BROKER_ROLE).is_some() {
        return mash_broker::cli::main();
    }
    tokio::runtime::Runtime::new()?.block_on(bench(args()?))
}

struct Args {
    seconds: Duration,
    rounds: u64,
    in_flight: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args { seconds: Duration::from_secs(10), rounds: 2, in_flight: 32 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: u64 = args.next().with_context(|| format!("{flag} needs a value"))?.parse()?;
        match flag.as_str() {
            "--seconds" => parsed.seconds = Duration::from_secs(value),
            "--rounds" => parsed.rounds = value,
            "--in-flight" => parsed.in_flight = usize::try_from(value)?,
            _ => anyhow::bail!("unknown flag {flag}; use --seconds N, --rounds N, --in-flight N"),
        }
    }
    Ok(parsed)
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let broker =
        cluster::BrokerCommand { program: std::env::current_exe()?, env: vec![(BROKER_ROLE.into(), "1".into())] };
    let config = cluster::ClusterConfig::new(mash_e2e::postgres_url(), 2, broker);
    let cluster = cluster::Cluster::start(config).await?;
    let enquiries = cluster.open_and_check_once(ENQUIRIES).await?;
    let mut clients = Vec::new();
    for replica in 0..cluster.replicas.len() {
        let mut channels = Vec::new();
        for _ in 0..CHANNELS_PER_BROKER {
            channels.push(cluster.client(replica, "rita-researcher").await?);
        }
        clients.push(channels);
    }
    let pids: Vec<u32> = cluster.replicas.iter().map(|r| r.pid()).collect();
    let mut results: Vec<(usize, Phase)> = Vec::new();
    for _ in 0..args.rounds {
        for replicas in [1, 2] {
            let callers = &clients[..replicas];
            run(callers, &enquiries, args.in_flight, WARM_UP).await?;
            let before = Usage::now(&pids)?;
            let log_before = log_shape(&cluster).await?;
            let sampling = tokio::spawn(lock_waits(cluster.broker_pool().await?, Instant::now() + args.seconds));
            let mut phase = run(callers, &enquiries, args.in_flight, args.seconds).await?;
            phase.usage = Usage::now(&pids)?.since(&before);
            phase.waits = sampling.await??;
            let log_after = log_shape(&cluster).await?;
            phase.entries = log_after.0 - log_before.0;
            phase.commits = log_after.1 - log_before.1;
            results.push((replicas, phase));
        }
    }
    report(&results, args.in_flight);
    let verified = cluster.open_log().await?.verify().await?.map_err(|finding| anyhow::anyhow!("{finding}"))?;
    println!();
    println!("log verified end to end: {} entries, {} signed checkpoints", verified.entries, verified.checkpoints);
    cluster.stop().await
}

/// Entries in the log, and distinct commit timestamps: each group commit stamps all its entries
/// with one `recorded_at`, so their count is the number of log transactions.
async fn log_shape(cluster: &cluster::Cluster) -> anyhow::Result<(i64, i64)> {
    let pool = cluster.broker_pool().await?;
    let row = sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT recorded_at) AS commits FROM disclosure_log")
        .fetch_one(&pool)
        .await?;
    let shape = (sqlx::Row::try_get::<i64, _>(&row, "n")?, sqlx::Row::try_get::<i64, _>(&row, "commits")?);
    pool.close().await;
    Ok(shape)
}

/// How many sessions were waiting for a row lock, on average: on `log_head` (log appends, the
/// replicas' one point of serialisation) and on anything else (e.g. an enquiry's row).
#[derive(Default)]
struct LockWaits {
    log_head: f64,
    other: f64,
}

/// Samples `pg_stat_activity` every 20 ms until `until`.
async fn lock_waits(pool: sqlx::AnyPool, until: Instant) -> anyhow::Result<LockWaits> {
    let (mut samples, mut log_head, mut other) = (0u64, 0i64, 0i64);
    while Instant::now() < until {
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE query LIKE 'UPDATE log_head%') AS head, \
             COUNT(*) FILTER (WHERE query NOT LIKE 'UPDATE log_head%') AS other \
             FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        .fetch_one(&pool)
        .await?;
        log_head += sqlx::Row::try_get::<i64, _>(&row, "head")?;
        other += sqlx::Row::try_get::<i64, _>(&row, "other")?;
        samples += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pool.close().await;
    let n = samples.max(1) as f64;
    Ok(LockWaits { log_head: log_head as f64 / n, other: other as f64 / n })
}

/// One measured phase.
struct Phase {
    hist: Samples,
    per_sec: f64,
    entries: i64,
    commits: i64,
    usage: Usage,
    waits: LockWaits,
}

/// `in_flight` workers spread evenly over the brokers in `callers` (each a list of channels),
/// each checking enquiries round-robin until `seconds` have passed.
async fn run(
    callers: &[Vec<BrokerClients>],
    enquiries: &[String],
    in_flight: usize,
    seconds: Duration,
) -> anyhow::Result<Phase> {
    let start = Instant::now();
    let deadline = start + seconds;
    let next = Arc::new(AtomicU64::new(0));
    let enquiries: Arc<[String]> = enquiries.into();
    let workers: Vec<_> = (0..in_flight)
        .map(|i| {
            let broker = &callers[i % callers.len()];
            let client = broker[(i / callers.len()) % broker.len()].clone();
            tokio::spawn(worker(client, enquiries.clone(), next.clone(), deadline))
        })
        .collect();
    let mut hist = Samples::default();
    for handle in workers {
        hist.merge(handle.await??);
    }
    let per_sec = hist.len() as f64 / start.elapsed().as_secs_f64();
    Ok(Phase { hist, per_sec, entries: 0, commits: 0, usage: Usage::default(), waits: LockWaits::default() })
}

async fn worker(
    mut client: BrokerClients,
    enquiries: Arc<[String]>,
    next: Arc<AtomicU64>,
    deadline: Instant,
) -> anyhow::Result<Samples> {
    let mut hist = Samples::default();
    while Instant::now() < deadline {
        let n = next.fetch_add(1, Ordering::Relaxed) as usize;
        let request = mash_e2e::fixtures::checks(&enquiries[n % enquiries.len()]);
        let start = Instant::now();
        let results = client.enquiries.request_checks(request).await?.into_inner();
        let answered = |a: &pb::AgencyResult| matches!(a.status(), AgencyStatus::Found | AgencyStatus::NotKnown);
        anyhow::ensure!(results.agencies.len() == 4 && results.agencies.iter().all(answered), "degraded check");
        hist.record(start.elapsed().as_nanos() as u64);
    }
    Ok(hist)
}

/// CPU time, in clock ticks, of the broker processes, of this process, and of the whole machine.
#[derive(Clone, Default)]
struct Usage {
    brokers: u64,
    this: u64,
    postgres: u64,
    machine_busy: u64,
    machine_total: u64,
}

impl Usage {
    fn now(brokers: &[u32]) -> anyhow::Result<Self> {
        let process = |pid: &str| -> anyhow::Result<u64> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
            // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
            let rest = stat.rsplit_once(')').context("bad stat")?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
        };
        let mut usage = Usage { this: process("self")?, ..Usage::default() };
        for pid in brokers {
            usage.brokers += process(&pid.to_string())?;
        }
        // Every PostgreSQL process (the pools' connections live for the whole run).
        for entry in std::fs::read_dir("/proc")?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
            let is_postgres =
                std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres");
            if is_postgres {
                usage.postgres += process(pid).unwrap_or(0);
            }
        }
        let stat = std::fs::read_to_string("/proc/stat")?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .context("empty /proc/stat")?
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        // user nice system idle iowait irq softirq steal
        usage.machine_total = cpu.iter().take(8).sum();
        usage.machine_busy = usage.machine_total - cpu.get(3).copied().unwrap_or(0) - cpu.get(4).copied().unwrap_or(0);
        Ok(usage)
    }

    fn since(&self, before: &Usage) -> Usage {
        Usage {
            brokers: self.brokers - before.brokers,
            this: self.this - before.this,
            postgres: self.postgres.saturating_sub(before.postgres),
            machine_busy: self.machine_busy - before.machine_busy,
            machine_total: self.machine_total - before.machine_total,
        }
    }
}

fn report(results: &[(usize, Phase)], in_flight: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{in_flight} checks in flight; {cores} cores shared by the brokers, the feeds, the load and PostgreSQL");
    println!();
    println!(
        "{:<9} {:>9} {:>8} {:>8} {:>10} {:>12} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10} {:>9}",
        "replicas",
        "checks/s",
        "p50 ms",
        "p99 ms",
        "entries/s",
        "entr/commit",
        "brokers%",
        "this%",
        "pg%",
        "other%",
        "busy%",
        "head-wait",
        "row-wait"
    );
    for (replicas, p) in results {
        let ms = |q: f64| p.hist.value_at_quantile(q) as f64 / 1e6;
        let seconds = p.hist.len() as f64 / p.per_sec;
        let u = &p.usage;
        // Shares of all the machine's CPU time (100 = every core busy).
        let share = |ticks: u64| 100.0 * ticks as f64 / u.machine_total.max(1) as f64;
        let other = u.machine_busy.saturating_sub(u.brokers + u.this + u.postgres);
        println!(
            "{:<9} {:>9.0} {:>8.1} {:>8.1} {:>10.0} {:>12.1} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>7.0} {:>10.2} {:>9.2}",
            replicas,
            p.per_sec,
            ms(0.5),
            ms(0.99),
            p.entries as f64 / seconds,
            p.entries as f64 / p.commits.max(1) as f64,
            share(u.brokers),
            share(u.this),
            share(u.postgres),
            share(other),
            share(u.machine_busy),
            p.waits.log_head,
            p.waits.other,
        );
    }
    println!();
    println!("CPU as a share of the whole machine (100 = all {cores} cores): brokers% both broker processes;");
    println!("this% this process (load generator and the four feeds); pg% every postgres process;");
    println!("other% anything else on the machine; busy% all of it. entr/commit: log entries per group commit.");
    println!("head-wait: sessions waiting for the log_head row lock, on average (sampled every 20 ms);");
    println!("row-wait: sessions waiting for any other lock (an enquiry's row, a hold's).");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
}

/// Feeds in-process, brokers as separate processes, all on one PostgreSQL database.
pub(crate) mod cluster {
    use std::{
        io::{BufRead, BufReader},
        net::{Ipv4Addr, SocketAddr},
        path::PathBuf,
        process::{Child, Command, Stdio},
        sync::Arc,
        time::Duration,
    };

    use anyhow::Context;
    use mash_domain::Agency;
    use mash_e2e::fixtures::{checks, enquiry, subject};
    use mash_feed::{FeedSettings, RecordAdapter};
    use mash_pki::{DevPki, Principal, PrincipalKind};
    use mash_proto::v1::{Level, Relation, feed_ingest_client::FeedIngestClient};
    use mash_system::BrokerClients;
    use mash_system::demo;
    use mash_transport::TlsMaterial;
    use tokio::{sync::watch, task::JoinHandle};

    /// Certificate file stems of the broker replicas: each has its own key pair and certificate,
    /// all with the broker's SPIFFE ID, as cert-manager would issue one per pod.
    pub(crate) const REPLICA_NAMES: [&str; 4] = ["broker-1", "broker-2", "broker-3", "broker-4"];

    /// How to run a broker process: a program taking `mash-broker`'s flags, and extra environment.
    #[derive(Clone, Debug)]
    pub(crate) struct BrokerCommand {
        pub program: PathBuf,
        pub env: Vec<(String, String)>,
    }

    #[derive(Clone, Debug)]
    pub(crate) struct ClusterConfig {
        pub postgres_url: String,
        pub replicas: usize,
        pub broker: BrokerCommand,
        pub check_deadline: Duration,
        pub checkpoint_every_entries: u64,
        pub checkpoint_every_seconds: u64,
    }

    impl ClusterConfig {
        pub(crate) fn new(postgres_url: String, replicas: usize, broker: BrokerCommand) -> Self {
            Self {
                postgres_url,
                replicas,
                broker,
                // Generous: two cores are shared by everything, and a feed that times out
                // changes what a check logs.
                check_deadline: Duration::from_secs(20),
                checkpoint_every_entries: 1000,
                checkpoint_every_seconds: 10,
            }
        }
    }

    /// A broker process. Killed, if still running, when dropped.
    pub(crate) struct Replica {
        pub name: &'static str,
        pub addr: SocketAddr,
        child: Child,
    }

    impl Replica {
        pub(crate) fn pid(&self) -> u32 {
            self.child.id()
        }

        /// SIGTERM, then up to ten seconds for a clean exit, then SIGKILL.
        fn stop(&mut self) -> anyhow::Result<std::process::ExitStatus> {
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
            for _ in 0..100 {
                if let Some(status) = self.child.try_wait()? {
                    return Ok(status);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            self.child.kill()?;
            Ok(self.child.wait()?)
        }
    }

    impl Drop for Replica {
        fn drop(&mut self) {
            if let Ok(None) = self.child.try_wait() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }

    pub(crate) struct Cluster {
        /// Held for its lifetime: dropping it deletes the PKI and keys the replicas read.
        pub _dir: tempfile::TempDir,
        pub pki: DevPki,
        pub replicas: Vec<Replica>,
        pub feeds: Vec<(Agency, SocketAddr)>,
        pub postgres_url: String,
        /// The one database every broker replica uses (a schema of `postgres_url`).
        pub broker_database_url: String,
        pub broker_key_file: PathBuf,
        pub signing_key_file: PathBuf,
        schemas: Vec<String>,
        shutdown: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
    }

    fn adapters() -> Vec<Arc<dyn RecordAdapter>> {
        vec![
            Arc::new(mash_feed_police::Adapter),
            Arc::new(mash_feed_health::Adapter),
            Arc::new(mash_feed_education::Adapter),
            Arc::new(mash_feed_social_care::Adapter),
        ]
    }

    impl Cluster {
        /// Writes a development PKI (a certificate per replica), key rings and the signing key;
        /// makes a fresh schema per service; starts the feeds here with the demo population;
        /// then starts the broker processes, all at once, and waits until each is listening.
        pub(crate) async fn start(config: ClusterConfig) -> anyhow::Result<Self> {
            anyhow::ensure!((1..=REPLICA_NAMES.len()).contains(&config.replicas), "1 to 4 replicas");
            let dir = tempfile::tempdir()?;
            let mut principals = mash_pki::demo_principals();
            let broker_id = principals.iter().find(|p| p.name == "broker").context("no broker")?.spiffe_id.clone();
            for name in &REPLICA_NAMES[..config.replicas] {
                principals.push(Principal {
                    name: name.to_string(),
                    spiffe_id: broker_id.clone(),
                    kind: PrincipalKind::Service,
                });
            }
            let pki = DevPki::generate(&dir.path().join("pki"), "MASH scale-out CA", &principals)?;
            let keys = dir.path().join("keys");
            std::fs::create_dir_all(&keys)?;
            let key_file = |service: &str| -> anyhow::Result<PathBuf> {
                let path = keys.join(format!("{service}.json"));
                mash_seal::KeyRing::write_new(&path, &format!("{service}-1"))?;
                Ok(path)
            };
            let broker_key_file = key_file("broker")?;
            let signing_key_file = keys.join("broker-signing.json");
            mash_disclosure_log::write_new_signing_key(&signing_key_file, "broker-signing-1")?;

            let prefix = format!("so{}_{}", std::process::id(), nanos());
            let admin = postgres(&config.postgres_url).await?;
            let mut schemas = Vec::new();
            let mut url_of = async |service: &str| -> anyhow::Result<String> {
                let schema = format!("{prefix}_{}", service.replace('-', "_"));
                let sql = format!("CREATE SCHEMA {schema}");
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await?;
                schemas.push(schema.clone());
                let separator = if config.postgres_url.contains('?') { '&' } else { '?' };
                Ok(format!("{}{separator}options=-c%20search_path%3D{schema}", config.postgres_url))
            };

            let policy = mash_policy::LivePolicy::load(&mash_system::shipped_policy_dir()).await?;
            let (shutdown, watcher) = watch::channel(false);
            let mut feeds = Vec::new();
            let mut tasks = Vec::new();
            for adapter in adapters() {
                let agency = adapter.agency();
                let name = format!("feed-{agency}");
                let settings = FeedSettings {
                    listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                    push_listen: None,
                    database_url: url_of(&name).await?,
                    key_file: key_file(&name)?,
                    tls: tls(&pki, &name)?,
                    policy: policy.clone(),
                };
                let mut stop = watcher.clone();
                let feed = mash_feed::build(adapter, settings, async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                })
                .await?;
                feeds.push((agency, feed.local_addr));
                tasks.push(tokio::spawn(async move {
                    if let Err(error) = feed.serve.await {
                        eprintln!("feed-{agency} stopped: {error}");
                    }
                }));
            }
            let broker_database_url = url_of("broker").await?;
            admin.close().await;
            for (agency, addr) in &feeds {
                let channel = mash_transport::connect(
                    &format!("https://{addr}"),
                    &tls(&pki, &format!("agency-{agency}"))?,
                    &mash_domain::Identity::feed(*agency),
                )
                .await?;
                let summary = FeedIngestClient::new(channel).push(tokio_stream::iter(demo::records(*agency))).await?;
                anyhow::ensure!(summary.into_inner().rejected.is_empty(), "demo data for {agency} rejected");
            }

            let mut cluster = Self {
                _dir: dir,
                pki,
                replicas: Vec::new(),
                feeds,
                postgres_url: config.postgres_url.clone(),
                broker_database_url,
                broker_key_file,
                signing_key_file,
                schemas,
                shutdown,
                tasks,
            };
            // Started together, as a Deployment's pods are: both migrate the one schema at once.
            let mut starting = Vec::new();
            for name in &REPLICA_NAMES[..config.replicas] {
                starting.push(cluster.spawn(name, &config)?);
            }
            for (name, child, listening) in starting {
                let waited = tokio::task::spawn_blocking(move || listening.recv_timeout(Duration::from_secs(60)));
                let mut replica = Replica { name, addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), child };
                match waited.await? {
                    Ok(addr) => replica.addr = addr,
                    Err(_) => {
                        let status = replica.child.try_wait()?;
                        anyhow::bail!("{name} did not start listening (exit status {status:?}); see its stderr above");
                    }
                }
                cluster.replicas.push(replica);
            }
            Ok(cluster)
        }

        /// Starts one broker process; returns it and where it will say its address.
        fn spawn(
            &self,
            name: &'static str,
            config: &ClusterConfig,
        ) -> anyhow::Result<(&'static str, Child, std::sync::mpsc::Receiver<SocketAddr>)> {
            let paths = self.pki.paths(name)?;
            let mut command = Command::new(&config.broker.program);
            command
                .env_remove("MASH_CONFIG")
                .env("MASH_BROKER_DATABASE_URL", &self.broker_database_url)
                .envs(config.broker.env.iter().map(|(k, v)| (k, v)))
                .arg("--listen")
                .arg("127.0.0.1:0")
                .arg("--key-file")
                .arg(&self.broker_key_file)
                .arg("--signing-key-file")
                .arg(&self.signing_key_file)
                .arg("--tls-ca")
                .arg(&paths.ca)
                .arg("--tls-cert")
                .arg(&paths.cert)
                .arg("--tls-key")
                .arg(&paths.key)
                .arg("--policy-dir")
                .arg(mash_system::shipped_policy_dir())
                .arg("--check-deadline-ms")
                .arg(config.check_deadline.as_millis().to_string())
                .arg("--checkpoint-every-entries")
                .arg(config.checkpoint_every_entries.to_string())
                .arg("--checkpoint-every-seconds")
                .arg(config.checkpoint_every_seconds.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            for (agency, addr) in &self.feeds {
                command.arg("--feed").arg(format!("{agency}=https://{addr}"));
            }
            let mut child = command.spawn().with_context(|| format!("starting {}", config.broker.program.display()))?;
            let stdout = child.stdout.take().context("no stdout")?;
            let (tell, listening) = std::sync::mpsc::channel();
            // Reads to the end, so that the broker never writes to a closed pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("listening on ").and_then(|a| a.trim().parse().ok()) {
                        let _ = tell.send(addr);
                    }
                }
            });
            Ok((name, child, listening))
        }

        pub(crate) fn tls_as(&self, principal: &str) -> anyhow::Result<TlsMaterial> {
            tls(&self.pki, principal)
        }

        /// A client of replica `index`, presenting `principal`'s certificate.
        pub(crate) async fn client(&self, index: usize, principal: &str) -> anyhow::Result<BrokerClients> {
            let addr = self.replicas.get(index).context("no such replica")?.addr;
            let channel = mash_transport::connect(
                &format!("https://{addr}"),
                &self.tls_as(principal)?,
                &mash_domain::Identity::broker(),
            )
            .await?;
            Ok(BrokerClients::new(channel))
        }

        /// A pool on the brokers' database, for assertions about what is stored.
        pub(crate) async fn broker_pool(&self) -> anyhow::Result<sqlx::AnyPool> {
            postgres(&self.broker_database_url).await
        }

        /// The disclosure log of the brokers' database, opened as an auditor's tool would.
        pub(crate) async fn open_log(&self) -> anyhow::Result<mash_disclosure_log::DisclosureLog> {
            // Never signs: only the brokers do.
            let never = mash_disclosure_log::CheckpointPolicy {
                every_entries: u64::MAX,
                every: Duration::from_secs(365 * 24 * 3600),
            };
            Ok(mash_broker::open_log(&self.broker_database_url, &self.broker_key_file, &self.signing_key_file, never)
                .await?)
        }

        /// Opens `count` level-3 enquiries over the demo households, as rita-researcher, and
        /// checks each once, alternating replicas, so that each has left the open state (the
        /// first check of an enquiry moves it). Returns their ids.
        pub(crate) async fn open_and_check_once(&self, count: usize) -> anyhow::Result<Vec<String>> {
            let mut clients = Vec::new();
            for index in 0..self.replicas.len() {
                clients.push(self.client(index, "rita-researcher").await?);
            }
            let mut ids = Vec::new();
            for i in 0..count {
                let client = &mut clients[i % self.replicas.len()];
                let opened =
                    client.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household(i))).await?;
                let id = opened.into_inner().enquiry_id;
                client.enquiries.request_checks(checks(&id)).await?;
                ids.push(id);
            }
            Ok(ids)
        }

        /// Stops the brokers (SIGTERM, each must exit cleanly) and the feeds, and drops the schemas.
        pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
            let mut unclean = Vec::new();
            for replica in &mut self.replicas {
                let status = replica.stop()?;
                if !status.success() {
                    unclean.push(format!("{} exited with {status}", replica.name));
                }
            }
            let _ = self.shutdown.send(true);
            for task in self.tasks.drain(..) {
                let _ = task.await;
            }
            let admin = postgres(&self.postgres_url).await?;
            for schema in &self.schemas {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
                    .execute(&admin)
                    .await?;
            }
            admin.close().await;
            anyhow::ensure!(unclean.is_empty(), "{}", unclean.join("; "));
            Ok(())
        }
    }

    /// The demo households, in turn: Amy's (with a held item at health), Noah, Ella and Evie.
    pub(crate) fn household(i: usize) -> Vec<mash_proto::v1::EnquirySubject> {
        match i % 3 {
            0 => vec![
                subject(demo::AMY, Relation::Child),
                subject(demo::JADE, Relation::ParentOrCarer),
                subject(demo::CONNOR, Relation::OtherAdult),
            ],
            1 => vec![subject(demo::NOAH, Relation::Child)],
            _ => vec![subject(demo::ELLA, Relation::Child), subject(demo::EVIE, Relation::Sibling)],
        }
    }

    fn tls(pki: &DevPki, principal: &str) -> anyhow::Result<TlsMaterial> {
        let paths = pki.paths(principal)?;
        Ok(TlsMaterial::load(&paths.ca, &paths.cert, &paths.key)?)
    }

    async fn postgres(url: &str) -> anyhow::Result<sqlx::AnyPool> {
        sqlx::any::install_default_drivers();
        Ok(sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await?)
    }

    fn nanos() -> u32 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
    }
}
