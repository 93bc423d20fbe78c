//! The command line, and which command runs for which words.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "mashctl", version, about = "The MASH information-sharing broker from the command line")]
pub(crate) struct Cli {
    /// The endpoints file `mashctl up` writes.
    #[arg(long, global = true, env = "MASH_ENDPOINTS", default_value = ".mash/endpoints.json")]
    pub endpoints: PathBuf,
    /// Act as this identity (a name from the endpoints file, e.g. rita-researcher).
    #[arg(long = "as", global = true, env = "MASH_AS")]
    pub principal: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the whole system on this machine: dev PKI, SQLite, demo data.
    Up(crate::up::UpArgs),
    /// Write the development certificates and keys for running the services separately.
    Pki(crate::pki::PkiArgs),
    /// Write a seeded synthetic population as one JSONL extract per agency.
    Synth(crate::synth::SynthArgs),
    /// Push an agency extract (JSONL or CSV) into that agency's feed.
    Push(crate::push::PushArgs),
    /// Record, triage and show front-door contacts.
    #[command(subcommand)]
    Contact(crate::frontdoor::ContactCommand),
    /// Open or show an enquiry; move it on, decide, close.
    #[command(subcommand)]
    Enquiry(crate::frontdoor::EnquiryCommand),
    /// Request agency checks on an enquiry's subjects and show what may be seen.
    Check(crate::enquiry::CheckArgs),
    /// Confirm a possible match, so that later checks treat it as the person.
    #[command(subcommand)]
    Match(crate::matching::MatchCommand),
    /// Information governance: the disclosure log.
    #[command(subcommand)]
    Log(crate::log::LogCommand),
    /// Restricted items held for agency gatekeepers: list, release, withhold, break glass.
    #[command(subcommand)]
    Hold(crate::hold::HoldCommand),
    /// An agency's alerts (gatekeepers and agency systems).
    Alerts,
    /// The MASH family summary of an enquiry: what was disclosed to it, as a chronology.
    Summary(crate::agency::SummaryArgs),
    /// Send an information product from an enquiry to an agency.
    Share(crate::agency::ShareArgs),
    /// An agency system's queue: outcomes, information products, disclosure notifications.
    #[command(subcommand)]
    Messages(crate::agency::MessagesCommand),
    /// The front door's performance report over a range of days.
    Report(crate::report::ReportArgs),
    /// The disclosure policy: explain a decision, or diff two versions.
    #[command(subcommand)]
    Policy(crate::policy::PolicyCommand),
}

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let _telemetry = mash_telemetry::init("mashctl")?;
    let who = cli.principal.as_deref();
    match cli.command {
        Command::Up(args) => crate::up::run(args).await,
        Command::Pki(args) => crate::pki::run(args),
        Command::Synth(args) => crate::synth::run(args),
        Command::Push(args) => crate::push::run(&cli.endpoints, who, args).await,
        Command::Contact(command) => crate::frontdoor::contact(&cli.endpoints, who, command).await,
        Command::Enquiry(command) => crate::frontdoor::enquiry(&cli.endpoints, who, command).await,
        Command::Report(args) => crate::report::run(&cli.endpoints, who, args).await,
        Command::Check(args) => crate::enquiry::check(&cli.endpoints, who, args).await,
        Command::Match(command) => crate::matching::run(&cli.endpoints, who, command).await,
        Command::Log(command) => crate::log::run(&cli.endpoints, who, command).await,
        Command::Hold(command) => crate::hold::run(&cli.endpoints, who, command).await,
        Command::Alerts => crate::hold::alerts(&cli.endpoints, who).await,
        Command::Policy(command) => crate::policy::run(command).await,
        Command::Summary(args) => crate::agency::summary(&cli.endpoints, who, args).await,
        Command::Share(args) => crate::agency::share(&cli.endpoints, who, args).await,
        Command::Messages(command) => crate::agency::messages(&cli.endpoints, who, command).await,
    }
}
