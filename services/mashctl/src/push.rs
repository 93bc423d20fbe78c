//! `mashctl push`: an agency system pushing its extract.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mash_domain::Agency;
use tokio_stream::StreamExt;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The agency whose feed receives the extract: police, health, education or social-care.
    #[arg(long)]
    agency: String,
    /// A `.jsonl` or `.csv` extract.
    file: PathBuf,
}

pub async fn run(endpoints: &Path, principal: Option<&str>, args: PushArgs) -> anyhow::Result<()> {
    let agency = Agency::parse("--agency", &args.agency)?;
    let default_principal = format!("agency-{agency}");
    let mut feed = crate::connect::feed(endpoints, agency.as_str(), principal.unwrap_or(&default_principal)).await?;
    let rows = crate::extract::read(&args.file)?;
    let progress = ProgressBar::new(rows.len() as u64);
    progress.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")?);
    let records: Vec<_> = rows.iter().map(|row| crate::extract::record(agency.as_str(), row)).collect();
    let bar = progress.clone();
    let stream = tokio_stream::iter(records).map(move |record| {
        bar.inc(1);
        record
    });
    let summary = feed.push(stream).await?.into_inner();
    progress.finish();
    println!(
        "received {}, stored {}, unchanged {}, rejected {}",
        summary.received,
        summary.stored,
        summary.unchanged,
        summary.rejected.len()
    );
    for rejection in &summary.rejected {
        println!("  row {} ({}): {}: {}", rejection.index + 1, rejection.record_id, rejection.field, rejection.reason);
    }
    Ok(())
}
