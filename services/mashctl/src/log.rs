//! `mashctl log`: information governance reading the disclosure log.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;

use clap::Subcommand;
use mash_proto::v1 as pb;

#[derive(Debug, clap::Args)]
pub(crate) struct SearchArgs {
    #[arg(long, default_value = "")]
    enquiry: String,
    /// An identity URI.
    #[arg(long, default_value = "")]
    requester: String,
    #[arg(long, default_value = "")]
    agency: String,
    /// disclosed, refused or log-searched.
    #[arg(long)]
    outcome: Option<String>,
    /// A subject access request: key=value,... with keys given, family, dob, nhs, upn.
    #[arg(long)]
    person: Option<String>,
    /// RFC 3339, inclusive.
    #[arg(long, default_value = "")]
    from: String,
    /// RFC 3339, exclusive.
    #[arg(long, default_value = "")]
    to: String,
    /// Print every page, not just the first.
    #[arg(long)]
    all: bool,
    /// table, csv, or fhir (FHIR R4 AuditEvent resources as a JSON array).
    #[arg(long, default_value = "table")]
    format: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// Search the disclosure log; filters combine.
    Search(SearchArgs),
    /// Verify the whole log: online (the broker recomputes it from its
    /// database) or, with --export, offline from an export and the public key.
    Verify {
        /// An export written by `mashctl log export`.
        #[arg(long)]
        export: Option<PathBuf>,
        /// The log's public key (hex); defaults to the one in the endpoints file.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Write every entry and checkpoint to a file, for an external auditor.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Show exactly what entry SEQ disclosed (the viewing is logged).
    Show { seq: u64 },
    /// Purge disclosed content older than the broker's retention period.
    Purge,
    /// What IG should look at: unusual volumes, out-of-hours checks, the
    /// same person checked again, break-glass and overrides.
    Review {
        #[arg(long, default_value = "")]
        from: String,
        #[arg(long, default_value = "")]
        to: String,
    },
}

pub(crate) async fn run(endpoints: &Path, principal: Option<&str>, command: LogCommand) -> anyhow::Result<()> {
    match command {
        LogCommand::Verify { export: Some(export), key } => verify_offline(endpoints, &export, key.as_deref()),
        LogCommand::Verify { export: None, .. } => verify_online(endpoints, principal).await,
        LogCommand::Export { out } => export(endpoints, principal, &out).await,
        LogCommand::Search(args) => search(endpoints, principal, args).await,
        LogCommand::Show { seq } => show(endpoints, principal, seq).await,
        LogCommand::Purge => purge(endpoints, principal).await,
        LogCommand::Review { from, to } => review(endpoints, principal, from, to).await,
    }
}

async fn show(endpoints: &Path, principal: Option<&str>, seq: u64) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or("ian-ig")).await?;
    let content = broker.log.get_disclosed_content(pb::GetDisclosedContentRequest { seq }).await?.into_inner();
    match content.shown {
        Some(pb::disclosed_content::Shown::Notice(notice)) => println!("entry {seq} showed: {notice}"),
        Some(pb::disclosed_content::Shown::Item(item)) => {
            println!("entry {seq} showed: {} {} [{}]", item.date, item.category, item.tier().as_str_name());
            for field in item.fields {
                println!("  {}: {}", field.name, field.value);
            }
        }
        None => println!("entry {seq} showed nothing"),
    }
    Ok(())
}

async fn review(endpoints: &Path, principal: Option<&str>, from: String, to: String) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or("ian-ig")).await?;
    let request = pb::ListReviewSignalsRequest { recorded_from: from, recorded_to: to };
    let report = broker.log.list_review_signals(request).await?.into_inner();
    if report.signals.is_empty() {
        println!("nothing to review");
    }
    for signal in report.signals {
        let kind = match signal.kind() {
            pb::ReviewSignalKind::HighVolume => "high-volume",
            pb::ReviewSignalKind::OutOfHours => "out-of-hours",
            pb::ReviewSignalKind::SamePersonNewEnquiry => "same-person-new-enquiry",
            pb::ReviewSignalKind::BreakGlassOrOverride => "break-glass-or-override",
            pb::ReviewSignalKind::Unspecified => "other",
        };
        println!("{kind:<26} {:<44} {} (entries {:?})", signal.requester, signal.detail, signal.seqs);
    }
    Ok(())
}

async fn purge(endpoints: &Path, principal: Option<&str>) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or("ian-ig")).await?;
    let done = broker.log.purge_expired_content(pb::PurgeExpiredContentRequest {}).await?.into_inner();
    println!("purged {} disclosed items recorded before {}", done.purged, done.cutoff);
    Ok(())
}

async fn verify_online(endpoints: &Path, principal: Option<&str>) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or("ian-ig")).await?;
    let report = broker.log.verify_log(pb::VerifyLogRequest {}).await?.into_inner();
    anyhow::ensure!(report.intact, "the log does not verify: {}", report.finding);
    println!("intact: {} entries, {} signed checkpoints", report.entries, report.checkpoints);
    Ok(())
}

fn verify_offline(endpoints: &Path, export: &Path, key: Option<&Path>) -> anyhow::Result<()> {
    let key_path = match key {
        Some(path) => path.to_path_buf(),
        None => crate::connect::endpoints(endpoints)?.log_key,
    };
    let hex_key = std::fs::read_to_string(&key_path).with_context(|| format!("reading {}", key_path.display()))?;
    let key: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .with_context(|| format!("{} is not a 32-byte hex key", key_path.display()))?;
    // Read twice, once for the entries and once for the checkpoints, so that neither is held in memory.
    let open = || -> anyhow::Result<std::io::BufReader<std::fs::File>> {
        let file = std::fs::File::open(export).with_context(|| format!("reading {}", export.display()))?;
        Ok(std::io::BufReader::new(file))
    };
    let verified = mash_ledger::verify_export(open()?, open()?, &key)
        .map_err(|finding| anyhow::anyhow!("the log does not verify: {finding}"))?;
    println!("intact: {} entries, {} signed checkpoints (offline)", verified.entries, verified.checkpoints);
    Ok(())
}

async fn export(endpoints: &Path, principal: Option<&str>, out: &Path) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or("ian-ig")).await?;
    let mut stream = broker.log.export_log(pb::ExportLogRequest {}).await?.into_inner();
    // Written as it arrives, so that an export of any size takes no more memory than a chunk.
    let file = std::fs::File::create(out).with_context(|| format!("writing {}", out.display()))?;
    let mut file = std::io::BufWriter::new(file);
    let mut lines = 0;
    while let Some(chunk) = stream.message().await? {
        lines += chunk.lines.lines().count();
        file.write_all(chunk.lines.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    }
    file.flush().with_context(|| format!("writing {}", out.display()))?;
    println!("{lines} lines written to {}", out.display());
    Ok(())
}

async fn search(endpoints: &Path, principal: Option<&str>, args: SearchArgs) -> anyhow::Result<()> {
    let SearchArgs { enquiry, requester, agency, outcome, person, from, to, all, format } = args;
    anyhow::ensure!(["table", "csv", "fhir"].contains(&format.as_str()), "--format must be table, csv or fhir");
    let person = person.map(|spec| crate::enquiry::person(&spec)).transpose()?;
    let outcome = match outcome.as_deref() {
        None => pb::Outcome::Unspecified,
        Some("disclosed") => pb::Outcome::Disclosed,
        Some("refused") => pb::Outcome::Refused,
        Some("log-searched") => pb::Outcome::LogSearched,
        Some(other) => anyhow::bail!("--outcome must be disclosed, refused or log-searched, not {other:?}"),
    };
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or("ian-ig")).await?;
    let mut request = pb::SearchLogEntriesRequest {
        enquiry_id: enquiry,
        requester,
        agency,
        outcome: outcome.into(),
        page_size: 100,
        page_token: String::new(),
        person,
        recorded_from: from,
        recorded_to: to,
    };
    let mut entries = Vec::new();
    loop {
        let page = broker.log.search_log_entries(request.clone()).await?.into_inner();
        entries.extend(page.entries);
        if !all || page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    match format.as_str() {
        "csv" => print!("{}", crate::export::csv(&entries)?),
        "fhir" => {
            let events: Vec<_> = entries.iter().map(crate::export::audit_event).collect();
            println!("{}", serde_json::to_string_pretty(&events)?);
        }
        _ => print_table(&entries),
    }
    Ok(())
}

fn print_table(entries: &[pb::LogEntry]) {
    println!(
        "{:>6}  {:<27}  {:<42}  {:<12}  {:<36}  {:<12}  {:<9}  reason",
        "seq", "recorded at", "requester", "agency", "category", "outcome", "tier"
    );
    for e in entries {
        println!(
            "{:>6}  {:<27}  {:<42}  {:<12}  {:<36}  {:<12}  {:<9}  {}",
            e.seq,
            e.recorded_at,
            e.requester,
            e.agency,
            e.category,
            e.outcome().as_str_name().trim_start_matches("OUTCOME_").to_lowercase(),
            e.tier().as_str_name().trim_start_matches("TIER_").to_lowercase(),
            e.reason
        );
    }
}
