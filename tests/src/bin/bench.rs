//! Benchmark of the end-to-end agency check (issue 2), with the floor it is judged against.
//!
//! One process starts the whole system on SQLite in a temporary directory, loads the demo
//! population and opens one Level 3 enquiry on Amy's household as rita-researcher. It then measures:
//!
//! - `request_checks` end to end (broker → 4 feeds over mTLS → ~10 durable disclosure-log
//!   entries), with 1 and with 32 calls in flight;
//! - a bare tonic mTLS round trip (`grpc.health.v1` Check on the broker, same client
//!   certificate), with 1 and 32 in flight: what any call costs before the broker does work;
//! - one `fdatasync` of a 256-byte append on the same disk: what durability costs at least;
//! - a bare fan-out: one health Check to each of the four feeds at once, with the broker's
//!   certificate, done when all four answer (1 in flight): what the broker's fan-out costs
//!   before any feed does work, on the same two cores.
//!
//! A check needs at least a client round trip, a broker → feed round trip and one durable
//! write, so the floor is 2 × echo p50 + fdatasync p50. The targets: check p50 ≤ 3 × floor,
//! and checks/s at 32 in flight ≥ 5% of echo requests/s at 32 in flight. A second floor,
//! echo p50 + fan-out p50 + fdatasync p50, counts the four parallel feed calls a check makes;
//! it is printed beside the target's, for the target's owner to judge, not instead of it.
//!
//! The machine is shared, so all of this is measured in several rounds, one after another,
//! and each verdict is on the median of the rounds' ratios.
//!
//! Run: `cargo run --release -p mash-e2e --bin bench -- [--seconds N] [--requests N] [--rounds N]`
//! (`--seconds`: measured time per phase, default 5; `--requests`: cap on calls per phase;
//! `--rounds`: default 3).

use mash_alloc as _;

use std::{
    future::Future,
    io::Write,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use mash_domain::Identity;
use mash_e2e::fixtures::{checks, enquiry, subject};
use mash_e2e::samples::Samples;
use mash_proto::v1::{self as pb, AgencyStatus, Level, Relation};
use mash_system::BrokerClients;
use mash_system::{System, SystemConfig, demo};
use mash_telemetry::metrics::CheckPhase;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const PRINCIPAL: &str = "rita-researcher";
/// Channels shared by the workers: tonic multiplexes calls over HTTP/2, so a few suffice.
const CHANNELS: usize = 4;
const WARM_UP: Duration = Duration::from_secs(1);
/// Enough for a stable p99 in about a second on a quiet disk.
const FSYNCS: u64 = 5_000;

/// A call the benchmark repeats; each worker task owns a clone.
trait Call: Clone + Send + 'static {
    fn call(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

#[derive(Clone)]
struct Check {
    client: BrokerClients,
    request: pb::RequestChecksRequest,
}

impl Call for Check {
    async fn call(&mut self) -> anyhow::Result<()> {
        let results = self.client.enquiries.request_checks(self.request.clone()).await?.into_inner();
        // A check that timed out at a feed is fast but not a result: count it as a failure.
        let answered = |a: &pb::AgencyResult| matches!(a.status(), AgencyStatus::Found | AgencyStatus::NotKnown);
        anyhow::ensure!(results.agencies.len() == 4 && results.agencies.iter().all(answered), "degraded check");
        Ok(())
    }
}

#[derive(Clone)]
struct Echo(HealthClient<Channel>);

impl Call for Echo {
    async fn call(&mut self) -> anyhow::Result<()> {
        self.0.check(HealthCheckRequest { service: String::new() }).await?;
        Ok(())
    }
}

/// The four feeds' health services, called at once.
#[derive(Clone)]
struct FanOut(Vec<HealthClient<Channel>>);

impl Call for FanOut {
    async fn call(&mut self) -> anyhow::Result<()> {
        let calls = self.0.iter_mut().map(|feed| feed.check(HealthCheckRequest { service: String::new() }));
        for answer in futures::future::join_all(calls).await {
            answer?;
        }
        Ok(())
    }
}

/// When a phase ends: after `deadline`, or once `limit` calls have started.
#[derive(Clone)]
struct Stop {
    deadline: Instant,
    started: Arc<AtomicU64>,
    limit: u64,
}

impl Stop {
    fn new(seconds: Duration, limit: u64) -> Self {
        Self { deadline: Instant::now() + seconds, started: Arc::default(), limit }
    }

    fn another(&self) -> bool {
        Instant::now() < self.deadline && self.started.fetch_add(1, Ordering::Relaxed) < self.limit
    }
}

/// Latencies in nanoseconds, calls per second and CPU time per call for one phase.
struct Stats {
    hist: Samples,
    per_sec: f64,
    /// The whole process's CPU time (every service and the client) per call: unlike
    /// calls per second, it hardly moves when other work shares the cores.
    cpu_us: f64,
    /// Where the broker spent the phase, from the process's metrics.
    timings: Timings,
}

/// The disclosure log's group commits and the feeds' searches (time inside the feed's
/// handler, without the hop), as totals; a difference of two is one phase.
#[derive(Clone, Copy, Default)]
struct Timings {
    log_commits: Timed,
    feed_searches: Timed,
    /// A check's phases inside the broker, in [`CheckPhase::ALL`] order.
    phases: [Timed; 4],
}

impl Timings {
    fn now() -> Self {
        let text = mash_telemetry::metrics::metrics().encode();
        Self {
            log_commits: Timed::read(&text, "mash_log_commit_duration_seconds", ""),
            feed_searches: Timed::read(
                &text,
                "mash_grpc_request_duration_seconds",
                r#"{service="feed",method="Search"}"#,
            ),
            phases: CheckPhase::ALL.map(|phase| {
                let labels = format!(r#"{{phase="{}"}}"#, phase.as_str());
                Timed::read(&text, "mash_check_phase_duration_seconds", &labels)
            }),
        }
    }

    fn since(self, before: Self) -> Self {
        Self {
            log_commits: self.log_commits.since(before.log_commits),
            feed_searches: self.feed_searches.since(before.feed_searches),
            phases: std::array::from_fn(|i| self.phases[i].since(before.phases[i])),
        }
    }
}

/// A latency histogram's count and sum.
#[derive(Clone, Copy, Default)]
struct Timed {
    count: f64,
    seconds: f64,
}

impl Timed {
    fn read(text: &str, name: &str, labels: &str) -> Self {
        let series = |line: &str, part: &str| -> Option<f64> {
            let rest = line.strip_prefix(name)?.strip_prefix(part)?;
            // A family without labels is written with empty braces.
            let rest = rest.strip_prefix("{}").unwrap_or(rest);
            rest.strip_prefix(labels)?.strip_prefix(' ')?.parse().ok()
        };
        let value = |part: &str| text.lines().find_map(|l| series(l, part)).unwrap_or(0.0);
        Self { count: value("_count"), seconds: value("_sum") }
    }

    fn since(self, before: Self) -> Self {
        Self { count: self.count - before.count, seconds: self.seconds - before.seconds }
    }

    fn mean_us(self) -> f64 {
        1e6 * self.seconds / self.count.max(1.0)
    }
}

impl Stats {
    fn p50(&self) -> f64 {
        self.hist.value_at_quantile(0.5) as f64 / 1e3
    }

    fn p99(&self) -> f64 {
        self.hist.value_at_quantile(0.99) as f64 / 1e3
    }
}

struct Args {
    seconds: Duration,
    requests: u64,
    rounds: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args { seconds: Duration::from_secs(5), requests: u64::MAX, rounds: 3 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: u64 = args.next().with_context(|| format!("{flag} needs a value"))?.parse()?;
        match flag.as_str() {
            "--seconds" => parsed.seconds = Duration::from_secs(value),
            "--requests" => parsed.requests = value,
            "--rounds" if value > 0 => parsed.rounds = value,
            _ => {
                anyhow::bail!("unknown flag or value {flag} {value}; use --seconds N, --requests N, --rounds N (N > 0)")
            }
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let dir = tempfile::tempdir()?;
    let system = System::start(SystemConfig::new(dir.path())).await?;
    demo::load(&system).await?;
    let callers = callers(&system).await?;
    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        let results = measure_round(&callers, &dir.path().join("fsync.bin"), &args).await?;
        println!("round {round} of {}", args.rounds);
        report(&results);
        rounds.push(results);
    }
    verdicts(&rounds, peak_rss()?);
    system.stop().await;
    Ok(())
}

/// Who calls in each phase. The fan-out is one caller, whose one call is four.
struct Callers {
    check: Vec<Check>,
    echo: Vec<Echo>,
    fan_out: [FanOut; 1],
}

/// One round of every measurement. The disk and CPUs are shared and drift over seconds, so
/// each ratio's parts are measured back to back: the floor's parts just before the
/// 1-in-flight check, the two 32s together.
async fn measure_round(callers: &Callers, fsync_file: &Path, args: &Args) -> anyhow::Result<Results> {
    let (path, stop) = (fsync_file.to_owned(), Stop::new(args.seconds, args.requests.min(FSYNCS)));
    let fsync = tokio::task::spawn_blocking(move || fdatasync(&path, &stop)).await??;
    let echo1 = measure(&callers.echo, 1, args).await?;
    let fan_out = measure(&callers.fan_out, 1, args).await?;
    let check = [measure(&callers.check, 1, args).await?, measure(&callers.check, 32, args).await?];
    let echo = [echo1, measure(&callers.echo, 32, args).await?];
    Ok(Results { check, echo, fsync, fan_out })
}

/// Opens the enquiry, then a check caller and an echo caller per channel, and the fan-out's.
async fn callers(system: &System) -> anyhow::Result<Callers> {
    let mut rita = system.broker_as(PRINCIPAL).await?;
    let household = vec![
        subject(demo::AMY, Relation::Child),
        subject(demo::JADE, Relation::ParentOrCarer),
        subject(demo::CONNOR, Relation::OtherAdult),
    ];
    let opened = rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household)).await?.into_inner();
    let (mut checkers, mut echoers) = (Vec::new(), Vec::new());
    let tls = system.tls_as(PRINCIPAL)?;
    for _ in 0..CHANNELS {
        let request = checks(&opened.enquiry_id);
        checkers.push(Check { client: system.broker_as(PRINCIPAL).await?, request });
        echoers.push(Echo(HealthClient::new(
            mash_transport::connect(&format!("https://{}", system.broker), &tls, &Identity::broker()).await?,
        )));
    }
    Ok(Callers { check: checkers, echo: echoers, fan_out: [fan_out(system).await?] })
}

/// A health client per feed, as the broker connects to them.
async fn fan_out(system: &System) -> anyhow::Result<FanOut> {
    let tls = system.tls_as("broker")?;
    let mut feeds = Vec::new();
    for (agency, addr) in &system.feeds {
        let feed = Identity::feed(*agency);
        feeds.push(HealthClient::new(mash_transport::connect(&format!("https://{addr}"), &tls, &feed).await?));
    }
    Ok(FanOut(feeds))
}

/// A warm-up, discarded, then the measured phase at the same concurrency.
async fn measure<C: Call>(callers: &[C], in_flight: usize, args: &Args) -> anyhow::Result<Stats> {
    run(callers, in_flight, Stop::new(WARM_UP, u64::MAX)).await?;
    run(callers, in_flight, Stop::new(args.seconds, args.requests)).await
}

async fn run<C: Call>(callers: &[C], in_flight: usize, stop: Stop) -> anyhow::Result<Stats> {
    let start = Instant::now();
    let cpu_start = process_cpu()?;
    let timings_before = Timings::now();
    let workers: Vec<_> =
        (0..in_flight).map(|i| tokio::spawn(worker(callers[i % callers.len()].clone(), stop.clone()))).collect();
    let mut hist = Samples::default();
    for handle in workers {
        hist.merge(handle.await??);
    }
    let per_sec = hist.len() as f64 / start.elapsed().as_secs_f64();
    let cpu_us = (process_cpu()? - cpu_start).as_secs_f64() * 1e6 / hist.len().max(1) as f64;
    Ok(Stats { hist, per_sec, cpu_us, timings: Timings::now().since(timings_before) })
}

/// User + system CPU time of this process so far, from `/proc/self/stat` (in USER_HZ ticks,
/// which Linux fixes at 100 a second for this interface).
fn process_cpu() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name, which may itself contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').context("bad /proc/self/stat")?.1.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<u64> { Ok(fields.get(i).context("short /proc/self/stat")?.parse()?) };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

async fn worker<C: Call>(mut caller: C, stop: Stop) -> anyhow::Result<Samples> {
    let mut hist = Samples::default();
    while stop.another() {
        let start = Instant::now();
        caller.call().await?;
        hist.record(start.elapsed().as_nanos() as u64);
    }
    Ok(hist)
}

/// The cheapest durable write: a 256-byte append made durable, as a log entry needs.
fn fdatasync(path: &Path, stop: &Stop) -> anyhow::Result<Stats> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let mut hist = Samples::default();
    let start = Instant::now();
    while stop.another() {
        let t = Instant::now();
        file.write_all(&[b'x'; 256])?;
        file.sync_data()?;
        hist.record(t.elapsed().as_nanos() as u64);
    }
    Ok(Stats {
        per_sec: hist.len() as f64 / start.elapsed().as_secs_f64(),
        hist,
        cpu_us: f64::NAN,
        timings: Timings::default(),
    })
}

/// Peak resident set size in MiB (VmHWM), for the whole system in this process.
fn peak_rss() -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    let kib: f64 = line.split_whitespace().nth(1).context("bad VmHWM")?.parse()?;
    Ok(kib / 1024.0)
}

/// Each pair is [1 in flight, 32 in flight].
struct Results {
    check: [Stats; 2],
    echo: [Stats; 2],
    fsync: Stats,
    fan_out: Stats,
}

fn report(r: &Results) {
    println!(
        "{:<28} {:>9} {:>11} {:>11} {:>10} {:>12}",
        "measurement", "in flight", "p50 µs", "p99 µs", "per s", "CPU µs/call"
    );
    let rows = [
        ("check (request_checks)", 1, &r.check[0]),
        ("check (request_checks)", 32, &r.check[1]),
        ("echo (health Check, mTLS)", 1, &r.echo[0]),
        ("echo (health Check, mTLS)", 32, &r.echo[1]),
        ("append 256 B + fdatasync", 1, &r.fsync),
        ("fan-out (4 feeds' health)", 1, &r.fan_out),
    ];
    for (name, in_flight, s) in rows {
        println!(
            "{name:<28} {in_flight:>9} {:>11.1} {:>11.1} {:>10.0} {:>12.0}",
            s.p50(),
            s.p99(),
            s.per_sec,
            s.cpu_us
        );
    }
    for (in_flight, s) in [(1, &r.check[0]), (32, &r.check[1])] {
        let (log, feed) = (s.timings.log_commits, s.timings.feed_searches);
        let checks = s.hist.len() as f64;
        println!(
            "@{in_flight:<2} log group commits: {:.0}, mean {:.0} µs, {:.1} checks each; \
             feed searches: {:.0}, mean {:.0} µs, {:.1} a check",
            log.count,
            log.mean_us(),
            checks / log.count.max(1.0),
            feed.count,
            feed.mean_us(),
            feed.count / checks.max(1.0)
        );
        let phases: Vec<String> = CheckPhase::ALL
            .iter()
            .zip(s.timings.phases)
            .map(|(p, t)| format!("{} {:.0}", p.as_str(), t.mean_us()))
            .collect();
        println!("@{in_flight:<2} check phases, mean µs: {}", phases.join(", "));
    }
    let r = Ratios::of(r);
    println!(
        "floor {:.1} µs, check p50 / floor {:.2}; floor with the fan-out {:.1} µs, check p50 / it {:.2}",
        r.floor, r.latency, r.fan_out_floor, r.fan_out_latency
    );
    println!("checks/s @32 ÷ echo/s @32 {:.1}%; CPU per echo ÷ CPU per check @32 {:.1}%", r.share, r.cpu_share);
    println!();
}

/// A round's figures that the targets are judged on.
struct Ratios {
    /// 2 × echo p50 + fdatasync p50, µs.
    floor: f64,
    /// Check p50 @1 ÷ floor.
    latency: f64,
    /// Checks/s @32 as a percentage of echoes/s @32.
    share: f64,
    /// The same from CPU time, which other work on the machine disturbs far less.
    cpu_share: f64,
    /// A check's four feed calls go out at once; this floor counts them as they cost:
    /// echo p50 + fan-out p50 + fdatasync p50, µs.
    fan_out_floor: f64,
    fan_out_latency: f64,
}

impl Ratios {
    fn of(r: &Results) -> Self {
        let floor = 2.0 * r.echo[0].p50() + r.fsync.p50();
        let fan_out_floor = r.echo[0].p50() + r.fan_out.p50() + r.fsync.p50();
        Self {
            floor,
            latency: r.check[0].p50() / floor,
            share: 100.0 * r.check[1].per_sec / r.echo[1].per_sec,
            cpu_share: 100.0 * r.echo[1].cpu_us / r.check[1].cpu_us,
            fan_out_floor,
            fan_out_latency: r.check[0].p50() / fan_out_floor,
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] }
}

fn verdicts(rounds: &[Results], rss_mib: f64) {
    let ratios: Vec<Ratios> = rounds.iter().map(Ratios::of).collect();
    let of = |pick: fn(&Ratios) -> f64| median(ratios.iter().map(pick).collect());
    let (latency, share) = (of(|r| r.latency), of(|r| r.share));
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!("medians of {} rounds", rounds.len());
    println!("peak RSS (VmHWM)                       {rss_mib:.1} MiB");
    println!("floor = 2 × echo p50 + fdatasync p50   {:.1} µs", of(|r| r.floor));
    println!("check p50 / floor                      {latency:.2}  (target ≤ 3)   {}", verdict(latency <= 3.0));
    println!("checks/s @32 ÷ echo/s @32              {share:.1}%  (target ≥ 5%)  {}", verdict(share >= 5.0));
    println!("CPU per echo ÷ CPU per check @32       {:.1}%  (the same target, from CPU time)", of(|r| r.cpu_share));
    println!("floor with the fan-out = echo p50 + fan-out p50 + fdatasync p50   {:.1} µs", of(|r| r.fan_out_floor));
    println!(
        "check p50 / floor with the fan-out     {:.2}  (for the target's owner, not the target)",
        of(|r| r.fan_out_latency)
    );
}
