//! The broker's command line: its `main` is one call here.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use mash_domain::Agency;
use mash_transport::TlsArgs;

use crate::BrokerSettings;

/// Settings come from flags or `MASH_BROKER_*` environment variables.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "MASH_BROKER_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    #[arg(long, env = "MASH_BROKER_DATABASE_URL")]
    database_url: String,
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

/// Parses arguments, starts the broker and serves until Ctrl-C.
pub fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Runtime::new()?.block_on(async move {
        let _telemetry = mash_telemetry::init("broker")?;
        // The policy files are watched: a valid change is in force within seconds.
        let policy = mash_policy::LivePolicy::load(&args.policy_dir).await?;
        policy.clone().watch(Duration::from_secs(2));
        let settings = BrokerSettings {
            listen: args.listen,
            database_url: args.database_url,
            key_file: args.key_file,
            tls: args.tls.load()?,
            policy,
            feeds: args.feeds.iter().map(|f| parse_feed(f)).collect::<anyhow::Result<_>>()?,
            check_deadline: Duration::from_millis(args.check_deadline_ms),
            signing_key_file: args.signing_key_file,
            checkpoints: crate::ledger::CheckpointPolicy {
                every_entries: args.checkpoint_every_entries,
                every: Duration::from_secs(args.checkpoint_every_seconds),
            },
            content_retention: Duration::from_secs(args.content_retention_days * 24 * 3600),
            clock: mash_broker::Clock::System,
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let broker = crate::build(settings, shutdown).await?;
        println!("listening on {}", broker.local_addr);
        broker.serve.await.context("broker stopped")
    })
}
