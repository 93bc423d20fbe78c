//! The broker's command line: its `main` is one call here.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use mash_domain::Agency;
use mash_transport::{ConfigFile, DatabaseUrl, TlsArgs};
use tokio::sync::watch;

use crate::BrokerSettings;

/// Settings come from flags, else `MASH_BROKER_*` environment variables, else
/// the `--config` file.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    config: ConfigFile,
    #[arg(long, env = "MASH_BROKER_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Also serve grpc.health.v1 in plaintext here, for probes without a client certificate.
    #[arg(long, env = "MASH_HEALTH_LISTEN")]
    health_listen: Option<SocketAddr>,
    /// Serve Prometheus metrics (`GET /metrics`, plaintext) here.
    #[arg(long, env = "MASH_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// `sqlite://…?mode=rwc` or `postgres://…`; may hold a password, so never shown.
    #[arg(long, env = "MASH_BROKER_DATABASE_URL", hide_env_values = true)]
    database_url: DatabaseUrl,
    #[arg(long, env = "MASH_BROKER_KEY_FILE")]
    key_file: PathBuf,
    #[command(flatten)]
    tls: TlsArgs,
    #[arg(long, env = "MASH_POLICY_DIR", default_value = "policy")]
    policy_dir: PathBuf,
    /// A feed as AGENCY=URI, e.g. police=https://127.0.0.1:7401; repeat per agency.
    #[arg(long = "feed", env = "MASH_BROKER_FEEDS", value_delimiter = ',')]
    feeds: Vec<String>,
    #[arg(long, env = "MASH_BROKER_CHECK_DEADLINE_MS", default_value_t = 2000)]
    check_deadline_ms: u64,
    /// The Ed25519 checkpoint signing key (JSON: key_id, seed).
    #[arg(long, env = "MASH_BROKER_SIGNING_KEY_FILE")]
    signing_key_file: PathBuf,
    /// Sign a checkpoint after this many new entries…
    #[arg(long, env = "MASH_BROKER_CHECKPOINT_EVERY_ENTRIES", default_value_t = 1000)]
    checkpoint_every_entries: u64,
    /// …or after this many seconds with new entries.
    #[arg(long, env = "MASH_BROKER_CHECKPOINT_EVERY_SECONDS", default_value_t = 10)]
    checkpoint_every_seconds: u64,
    /// Days to keep exactly-what-was-shown; the log itself is kept for ever.
    #[arg(long, env = "MASH_BROKER_CONTENT_RETENTION_DAYS", default_value_t = 2190)]
    content_retention_days: u64,
}

fn parse_feed(raw: &str) -> anyhow::Result<(Agency, String)> {
    let (agency, uri) = raw.split_once('=').context("a feed is AGENCY=URI")?;
    Ok((Agency::parse("feed", agency)?, uri.to_owned()))
}

/// Parses settings, starts the broker and serves until SIGTERM or Ctrl-C.
pub fn main() -> anyhow::Result<()> {
    let args: Args = mash_transport::parse_layered();
    tokio::runtime::Runtime::new()?.block_on(async move {
        let _telemetry = mash_telemetry::init("broker")?;
        // The policy files are watched: a valid change is in force within seconds.
        let policy = mash_policy::LivePolicy::load(&args.policy_dir).await?;
        policy.clone().watch(Duration::from_secs(2));
        let settings = BrokerSettings {
            listen: args.listen,
            database_url: args.database_url.expose().to_owned(),
            key_file: args.key_file,
            tls: args.tls.load()?,
            policy,
            feeds: args.feeds.iter().map(|f| parse_feed(f)).collect::<anyhow::Result<_>>()?,
            check_deadline: Duration::from_millis(args.check_deadline_ms),
            signing_key_file: args.signing_key_file,
            checkpoints: mash_disclosure_log::CheckpointPolicy {
                every_entries: args.checkpoint_every_entries,
                every: Duration::from_secs(args.checkpoint_every_seconds),
            },
            content_retention: Duration::from_secs(args.content_retention_days * 24 * 3600),
            clock: crate::Clock::System,
        };
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            mash_transport::terminated().await;
            let _ = stop.send(true);
        });
        let broker = crate::build(settings, until(stopped.clone())).await?;
        let stopped_metrics = stopped.clone();
        println!("listening on {}", broker.local_addr);
        if let Some(addr) = args.health_listen {
            let (incoming, local) = mash_transport::bind(addr)?;
            println!("health on {local}");
            tokio::spawn(async move {
                if let Err(error) = mash_transport::serve_health(incoming, until(stopped)).await {
                    tracing::error!(%error, "health server stopped");
                }
            });
        }
        if let Some(addr) = args.metrics_listen {
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
            println!("metrics on {}", listener.local_addr()?);
            tokio::spawn(mash_telemetry::metrics::serve(listener, until(stopped_metrics)));
        }
        broker.serve.await.context("broker stopped")
    })
}

async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
