//! `mashctl report`: the front door's performance over a range of days, as
//! the broker renders it (a table for people, CSV for spreadsheets).

use std::path::Path;

use clap::{Args, ValueEnum};
use mash_proto::v1 as pb;

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The first day, e.g. 2026-01-05 (UK local date).
    #[arg(long)]
    from: String,
    /// The last day, included.
    #[arg(long)]
    to: String,
    /// See the world as of this instant (RFC 3339); now by default.
    #[arg(long, default_value = "")]
    as_of: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Csv,
}

pub(crate) async fn run(endpoints: &Path, principal: Option<&str>, args: ReportArgs) -> anyhow::Result<()> {
    let mut broker = crate::frontdoor::manager(endpoints, principal).await?;
    let request = pb::GetReportRequest { from: args.from, to: args.to, as_of: args.as_of };
    let report = broker.frontdoor.get_report(request).await?.into_inner();
    match args.format {
        Format::Table => {
            print!("{}", report.table);
            if report.untriaged > 0 {
                println!(
                    "\n{} contacts in the period are not triaged yet and are not counted above.",
                    report.untriaged
                );
            }
        }
        Format::Csv => {
            print!("{}", report.csv);
            println!("untriaged,,{}", report.untriaged);
        }
    }
    Ok(())
}
