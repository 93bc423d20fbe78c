//! The command line every feed binary shares: its `main` is one call here.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::Parser;
use mash_policy::LivePolicy;
use mash_transport::TlsArgs;

use crate::{FeedSettings, RecordAdapter};

/// Settings come from flags or `MASH_FEED_*` environment variables.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "MASH_FEED_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    #[arg(long, env = "MASH_FEED_DATABASE_URL")]
    database_url: String,
    #[arg(long, env = "MASH_FEED_KEY_FILE")]
    key_file: PathBuf,
    #[command(flatten)]
    tls: TlsArgs,
    #[arg(long, env = "MASH_POLICY_DIR", default_value = "policy")]
    policy_dir: PathBuf,
}

/// Parses arguments, starts the feed and serves until Ctrl-C.
pub fn main(adapter: Arc<dyn RecordAdapter>) -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Runtime::new()?.block_on(async move {
        let _telemetry = mash_telemetry::init(&format!("feed-{}", adapter.agency()))?;
        // The policy files are watched: a valid change is in force within seconds.
        let policy = LivePolicy::load(&args.policy_dir).await?;
        policy.clone().watch(std::time::Duration::from_secs(2));
        let settings = FeedSettings {
            listen: args.listen,
            database_url: args.database_url,
            key_file: args.key_file,
            tls: args.tls.load()?,
            policy,
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let feed = crate::build(adapter, settings, shutdown).await?;
        println!("listening on {}", feed.local_addr);
        feed.serve.await.context("feed server stopped")
    })
}
