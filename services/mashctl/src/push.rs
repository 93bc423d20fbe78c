//! `mashctl push`: an agency system pushing its extract.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mash_domain::Agency;
use tokio_stream::StreamExt;

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// The agency whose feed receives the extract: police, health, education,
    /// social-care, or an agency described by configuration (with --agency-mapping).
    #[arg(long)]
    agency: String,
    /// The mapping file of an agency described by configuration: every column
    /// after the subject's becomes a field of its proto record message.
    #[arg(long)]
    agency_mapping: Option<PathBuf>,
    /// A `.jsonl` or `.csv` extract.
    file: PathBuf,
}

pub(crate) async fn run(endpoints: &Path, principal: Option<&str>, args: PushArgs) -> anyhow::Result<()> {
    let records = records(&args)?;
    let agency = args.agency.as_str();
    let default_principal = format!("agency-{agency}");
    let mut feed = crate::connect::feed(endpoints, agency, principal.unwrap_or(&default_principal)).await?;
    let progress = ProgressBar::new(records.len() as u64);
    progress.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")?);
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

fn records(args: &PushArgs) -> anyhow::Result<Vec<mash_proto::v1::PushRecord>> {
    let rows = crate::extract::read(&args.file)?;
    match &args.agency_mapping {
        Some(mapping) => {
            let message = mash_feed::mapped::record_message(mapping)?;
            rows.iter().map(|row| crate::extract::mapped_record(&message, row)).collect()
        }
        None => {
            let agency = Agency::parse("--agency", &args.agency)?;
            Ok(rows.iter().map(|row| crate::extract::record(agency.as_str(), row)).collect())
        }
    }
}
