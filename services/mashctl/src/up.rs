//! `mashctl up`: the whole system in one process, for a laptop or a demo.

use std::path::PathBuf;

use clap::Args;
use mash_system::{System, SystemConfig};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where certificates, keys, databases and endpoints.json go.
    #[arg(long, default_value = ".mash")]
    dir: PathBuf,
    /// The broker listens here and the feeds on the next four ports; 0 picks free ports.
    #[arg(long, default_value_t = 50051)]
    base_port: u16,
    /// The casbin policy directory.
    #[arg(long, default_value = "policy")]
    policy_dir: PathBuf,
    /// Do not load the demo population.
    #[arg(long)]
    no_demo: bool,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let mut config = SystemConfig::new(&args.dir);
    config.base_port = (args.base_port != 0).then_some(args.base_port);
    config.policy_dir = args.policy_dir;
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
    println!("ready; Ctrl-C stops every service");
    tokio::signal::ctrl_c().await?;
    system.stop().await;
    Ok(())
}
