//! The command line every feed binary shares: its `main` is one call here.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::Parser;
use mash_policy::LivePolicy;
use mash_transport::{ConfigFile, DatabaseUrl, TlsArgs};
use tokio::sync::watch;

use crate::{FeedSettings, RecordAdapter, mapped::MappedAdapter};

/// Settings come from flags, else `MASH_FEED_*` environment variables, else
/// the `--config` file.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    config: ConfigFile,
    #[arg(long, env = "MASH_FEED_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Also serve grpc.health.v1 in plaintext here, for probes without a client certificate.
    #[arg(long, env = "MASH_HEALTH_LISTEN")]
    health_listen: Option<SocketAddr>,
    /// Serve Push and Delete on this second mTLS port, and only Search on
    /// `listen`, so that the network can tell the agency's calls from the broker's.
    #[arg(long, env = "MASH_FEED_PUSH_LISTEN")]
    push_listen: Option<SocketAddr>,
    /// Serve Prometheus metrics (`GET /metrics`, plaintext) here.
    #[arg(long, env = "MASH_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// `sqlite://…?mode=rwc` or `postgres://…`; may hold a password, so never shown.
    #[arg(long, env = "MASH_FEED_DATABASE_URL", hide_env_values = true)]
    database_url: DatabaseUrl,
    #[arg(long, env = "MASH_FEED_KEY_FILE")]
    key_file: PathBuf,
    #[command(flatten)]
    tls: TlsArgs,
    #[arg(long, env = "MASH_POLICY_DIR", default_value = "policy")]
    policy_dir: PathBuf,
    /// The agency's mapping file (`<agency>.toml`), for the generic `feed`
    /// binary: an agency described by configuration and its own proto.
    #[arg(long, env = "MASH_FEED_AGENCY_MAPPING")]
    agency_mapping: Option<PathBuf>,
}

/// Parses settings, starts the feed of `adapter`'s agency and serves until
/// SIGTERM or Ctrl-C.
pub fn main(adapter: Arc<dyn RecordAdapter>) -> anyhow::Result<()> {
    let args: Args = mash_transport::parse_layered();
    if args.agency_mapping.is_some() {
        anyhow::bail!("--agency-mapping is for the generic feed binary; this feed's agency is built in");
    }
    run(args, format!("feed-{}", adapter.agency()), || Ok(adapter))
}

/// The generic feed: the agency, its records and their items come from
/// `--agency-mapping` (see [`crate::mapped`]).
pub fn main_mapped() -> anyhow::Result<()> {
    let args: Args = mash_transport::parse_layered();
    let Some(mapping) = args.agency_mapping.clone() else {
        anyhow::bail!("--agency-mapping (or MASH_FEED_AGENCY_MAPPING) is required");
    };
    run(args, "feed".into(), move || Ok(Arc::new(MappedAdapter::load(&mapping)?)))
}

fn run(
    args: Args,
    service: String,
    adapter: impl FnOnce() -> anyhow::Result<Arc<dyn RecordAdapter>>,
) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async move {
        let _telemetry = mash_telemetry::init(&service)?;
        // The policy files are watched: a valid change is in force within
        // seconds. Loading them also puts the registry of agencies in force,
        // which a mapped adapter needs.
        let policy = LivePolicy::load(&args.policy_dir).await?;
        policy.clone().watch(std::time::Duration::from_secs(2));
        let adapter = adapter()?;
        let settings = FeedSettings {
            listen: args.listen,
            push_listen: args.push_listen,
            database_url: args.database_url.expose().to_owned(),
            key_file: args.key_file,
            tls: args.tls.load()?,
            policy,
        };
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            mash_transport::terminated().await;
            let _ = stop.send(true);
        });
        let feed = crate::build(adapter, settings, until(stopped.clone())).await?;
        println!("listening on {}", feed.local_addr);
        if let Some(push) = feed.push_addr {
            println!("push on {push}");
        }
        if let Some(addr) = args.metrics_listen {
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
            println!("metrics on {}", listener.local_addr()?);
            tokio::spawn(mash_telemetry::metrics::serve(listener, until(stopped.clone())));
        }
        if let Some(addr) = args.health_listen {
            let (incoming, local) = mash_transport::bind(addr)?;
            println!("health on {local}");
            tokio::spawn(async move {
                if let Err(error) = mash_transport::serve_health(incoming, until(stopped)).await {
                    tracing::error!(%error, "health server stopped");
                }
            });
        }
        feed.serve.await.context("feed server stopped")
    })
}

async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
