//! Prometheus metrics, one registry per process, served in the OpenMetrics
//! text format on a plaintext port of its own (`--metrics-listen`).
//!
//! Labels are codes only (service, method, status, agency, outcome): never
//! an identity, an enquiry id or anything about a person, so a scrape can go
//! to any monitoring system.

use std::{
    future::Future,
    sync::{LazyLock, Mutex},
    time::Duration,
};

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

type Labels = Vec<(&'static str, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

/// 100 µs to ~3 s: a cached check is ~1 ms, a slow feed a deadline's worth.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

fn batch() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 12))
}

pub struct Metrics {
    registry: Registry,
    grpc_requests: Family<Labels, Counter>,
    grpc_duration: Histograms,
    check_agency_results: Family<Labels, Counter>,
    log_commit_duration: Histograms,
    log_commit_entries: Histograms,
    feed_search_batch_checks: Histograms,
    check_phase_duration: Histograms,
    log_append_failures: Counter,
    log_head: Gauge,
    policy_info: Family<Labels, Gauge>,
    policy_in_force: Mutex<Option<String>>,
    policy_reload_failures: Counter,
    feed_push_records: Family<Labels, Counter>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The phases of an agency check, in the order a check passes them: the label of
/// `check_phase_duration_seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckPhase {
    /// The enquiry, authorisation and the workflow's state.
    Prepare,
    /// Until every feed has answered or timed out.
    FanOut,
    /// Policy and redaction.
    Decide,
    /// Until the check's log entries are durable.
    Log,
}

impl CheckPhase {
    pub const ALL: [Self; 4] = [Self::Prepare, Self::FanOut, Self::Decide, Self::Log];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prepare => "prepare",
            Self::FanOut => "fan_out",
            Self::Decide => "decide",
            Self::Log => "log",
        }
    }
}

/// This process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("mash");
        let m = Self {
            grpc_requests: Family::default(),
            grpc_duration: Family::new_with_constructor(latency),
            check_agency_results: Family::default(),
            log_commit_duration: Family::new_with_constructor(latency),
            log_commit_entries: Family::new_with_constructor(batch),
            feed_search_batch_checks: Family::new_with_constructor(batch),
            check_phase_duration: Family::new_with_constructor(latency),
            log_append_failures: Counter::default(),
            log_head: Gauge::default(),
            policy_info: Family::default(),
            policy_in_force: Mutex::new(None),
            policy_reload_failures: Counter::default(),
            feed_push_records: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "grpc_requests",
            "gRPC calls answered, by service, method and status code",
            m.grpc_requests.clone(),
        );
        registry.register("grpc_request_duration_seconds", "gRPC call latency", m.grpc_duration.clone());
        registry.register(
            "check_agency_results",
            "Agency answers to checks, by agency and status (found, not_known, unavailable, timed_out)",
            m.check_agency_results.clone(),
        );
        registry.register(
            "log_commit_duration_seconds",
            "Disclosure-log group commits, from begin to durable",
            m.log_commit_duration.clone(),
        );
        registry.register(
            "log_commit_batch_entries",
            "Entries per disclosure-log group commit",
            m.log_commit_entries.clone(),
        );
        registry.register(
            "feed_search_batch_checks",
            "Checks whose searches of one feed the broker sent as one call, by agency",
            m.feed_search_batch_checks.clone(),
        );
        registry.register(
            "check_phase_duration_seconds",
            "Where an agency check's time goes, by phase (prepare, fan_out, decide, log)",
            m.check_phase_duration.clone(),
        );
        registry.register(
            "log_append_failures",
            "Disclosure-log groups that could not be written: their checks disclosed nothing",
            m.log_append_failures.clone(),
        );
        registry.register(
            "log_head_seq",
            "The last sequence number this process wrote to the disclosure log",
            m.log_head.clone(),
        );
        registry.register("policy_info", "The policy version in force (value 1)", m.policy_info.clone());
        registry.register(
            "policy_reload_failures",
            "Policy changes rejected; the old policy stayed",
            m.policy_reload_failures.clone(),
        );
        registry.register(
            "feed_push_records",
            "Records pushed into a feed, by agency and result",
            m.feed_push_records.clone(),
        );
        Self { registry, ..m }
    }

    pub fn grpc(&self, service: &str, method: &str, code: tonic::Code, elapsed: Duration) {
        let code = format!("{code:?}");
        let labels = vec![("service", service.to_owned()), ("method", method.to_owned())];
        self.grpc_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
        let mut labels = labels;
        labels.push(("code", code));
        self.grpc_requests.get_or_create(&labels).inc();
    }

    pub fn check_agency(&self, agency: &str, status: &'static str) {
        self.check_agency_results
            .get_or_create(&vec![("agency", agency.to_owned()), ("status", status.to_owned())])
            .inc();
    }

    pub fn log_committed(&self, entries: usize, elapsed: Duration, head: u64) {
        self.log_commit_duration.get_or_create(&Vec::new()).observe(elapsed.as_secs_f64());
        self.log_commit_entries.get_or_create(&Vec::new()).observe(entries as f64);
        self.log_head.set(i64::try_from(head).unwrap_or(i64::MAX));
    }

    pub fn feed_search_batched(&self, agency: &str, checks: usize) {
        self.feed_search_batch_checks.get_or_create(&vec![("agency", agency.to_owned())]).observe(checks as f64);
    }

    pub fn check_phase(&self, phase: CheckPhase, elapsed: Duration) {
        let labels = vec![("phase", phase.as_str().to_owned())];
        self.check_phase_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    pub fn log_append_failed(&self) {
        self.log_append_failures.inc();
    }

    pub fn policy_loaded(&self, version: &str) {
        let mut in_force = self.policy_in_force.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(old) = in_force.replace(version.to_owned()) {
            self.policy_info.get_or_create(&vec![("version", old)]).set(0);
        }
        self.policy_info.get_or_create(&vec![("version", version.to_owned())]).set(1);
    }

    pub fn policy_reload_failed(&self) {
        self.policy_reload_failures.inc();
    }

    pub fn feed_pushed(&self, agency: &str, result: &'static str, records: u64) {
        let labels = vec![("agency", agency.to_owned()), ("result", result.to_owned())];
        self.feed_push_records.get_or_create(&labels).inc_by(records);
    }

    /// Every metric, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Serves `GET /metrics` until `shutdown` resolves: plain HTTP/1.1, one
/// request per connection, which is all a Prometheus scrape needs.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                tokio::spawn(async move {
                    if let Err(error) = respond(stream).await {
                        tracing::debug!(%error, "metrics request failed");
                    }
                });
            }
        }
    }
}

const MAX_REQUEST_HEAD: usize = 8 * 1024;

async fn respond(mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request head not received"))??;
        if read == 0 || head.len() + read > MAX_REQUEST_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..read]);
    }
    let request_line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let (status, content_type, body) = match request_line.split(|&b| b == b' ').take(2).collect::<Vec<_>>()[..] {
        [b"GET", b"/metrics"] => {
            ("200 OK", "application/openmetrics-text; version=1.0.0; charset=utf-8", metrics().encode())
        }
        _ => ("404 Not Found", "text/plain; charset=utf-8", "only GET /metrics is served here\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scrape_gets_the_text_format_and_anything_else_a_404() {
        metrics().grpc("broker", "RequestChecks", tonic::Code::Ok, Duration::from_millis(2));
        metrics().policy_loaded("sha256:aa");
        metrics().policy_loaded("sha256:bb");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(serve(listener, std::future::pending()));
        let get = |path: &'static str| async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.expect("write");
            let mut response = String::new();
            stream.read_to_string(&mut response).await.expect("read");
            response
        };
        let scrape = get("/metrics").await;
        assert!(scrape.starts_with("HTTP/1.1 200 OK"), "{scrape}");
        assert!(
            scrape.contains(r#"mash_grpc_requests_total{service="broker",method="RequestChecks",code="Ok"} 1"#),
            "{scrape}"
        );
        assert!(scrape.contains(r#"mash_policy_info{version="sha256:aa"} 0"#), "{scrape}");
        assert!(scrape.contains(r#"mash_policy_info{version="sha256:bb"} 1"#), "{scrape}");
        assert!(scrape.trim_end().ends_with("# EOF"));
        assert!(get("/").await.starts_with("HTTP/1.1 404"));
    }
}
