//! `mashctl up`: the whole system in one process, for a laptop or a demo.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use mash_feed::mapped::MappedAdapter;
use mash_system::{System, SystemConfig};

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Where certificates, keys, databases and endpoints.json go.
    #[arg(long, default_value = ".mash")]
    dir: PathBuf,
    /// The broker listens here and the feeds on the next four ports; 0 picks free ports.
    #[arg(long, default_value_t = 50051)]
    base_port: u16,
    /// The casbin policy directory (default: this source tree's `policy/`,
    /// whatever the working directory).
    #[arg(long)]
    policy_dir: Option<PathBuf>,
    /// Do not load the demo population.
    #[arg(long)]
    no_demo: bool,
    /// Also start the generic feed of an agency described by configuration
    /// (e.g. `deploy/agencies/probation/probation.toml`); its agency must be
    /// in `--policy-dir`'s registry. Repeatable.
    #[arg(long = "agency-mapping", value_name = "FILE")]
    agency_mappings: Vec<PathBuf>,
}

pub(crate) async fn run(args: UpArgs) -> anyhow::Result<()> {
    let mut config = SystemConfig::new(&args.dir);
    config.base_port = (args.base_port != 0).then_some(args.base_port);
    if let Some(dir) = args.policy_dir {
        config.policy_dir = dir;
    }
    if !args.agency_mappings.is_empty() {
        // A mapping names its agency, which must be in the registry that
        // loading the policy puts in force.
        mash_policy::LivePolicy::load(&config.policy_dir).await?;
    }
    for mapping in &args.agency_mappings {
        let adapter =
            MappedAdapter::load(mapping).with_context(|| format!("--agency-mapping {}", mapping.display()))?;
        config.mapped_feeds.push(Arc::new(adapter));
    }
    let system = System::start(config).await?;
    if !args.no_demo {
        let stored = mash_system::demo::load(&system).await?;
        println!("demo data: {stored} new records pushed through the feeds");
    }
    println!("broker        {}", system.endpoints.broker);
    for (agency, uri) in &system.endpoints.feeds {
        println!("feed {agency:<12} {uri}");
    }
    println!("CA            {}", system.endpoints.ca.display());
    println!("endpoints     {}", args.dir.join("endpoints.json").display());
    println!("ready; Ctrl-C or SIGTERM stops every service");
    // SIGTERM too: docker, systemd and `timeout` stop a process with it.
    mash_transport::terminated().await;
    println!("stopping");
    system.stop().await;
    println!("stopped");
    Ok(())
}
