//! `mashctl push`: an agency system pushing its extract.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mash_domain::Agency;
use mash_proto::v1::PushResponse;
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
    /// Print the summary as JSON (rows numbered from 1) instead of text.
    #[arg(long)]
    json: bool,
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
    progress.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report(&summary))?);
    } else {
        print_summary(&summary);
    }
    // A script or a scheduler must see a partial push as a failure.
    anyhow::ensure!(summary.rejected.is_empty(), "{} of {} rows rejected", summary.rejected.len(), summary.received);
    Ok(())
}

fn print_summary(summary: &PushResponse) {
    println!(
        "received {}, stored {}, unchanged {}, rejected {}",
        summary.received,
        summary.stored,
        summary.unchanged,
        summary.rejected.len()
    );
    for rejection in &summary.rejected {
        // The record id is the agency's text: escaped, so a control character
        // in it cannot drive the terminal.
        println!(
            "  row {} ({}): {}: {}",
            rejection.index + 1,
            rejection.record_id.escape_debug(),
            rejection.field,
            rejection.reason.escape_debug()
        );
    }
}

/// The push summary for scripts: rows numbered from 1, as in the file.
fn report(summary: &PushResponse) -> serde_json::Value {
    let rejected: Vec<serde_json::Value> = summary
        .rejected
        .iter()
        .map(
            |r| serde_json::json!({"row": r.index + 1, "record_id": r.record_id, "field": r.field, "reason": r.reason}),
        )
        .collect();
    serde_json::json!({
        "received": summary.received,
        "stored": summary.stored,
        "unchanged": summary.unchanged,
        "rejected": rejected,
    })
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
