//! `mashctl log`: information governance reading the disclosure log.

use std::path::Path;

use clap::Subcommand;
use mash_proto::v1 as pb;

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Search the disclosure log; filters combine.
    Search {
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
    },
}

pub async fn run(endpoints: &Path, principal: Option<&str>, command: LogCommand) -> anyhow::Result<()> {
    let LogCommand::Search { enquiry, requester, agency, outcome, person, from, to, all } = command;
    let person = person.map(|spec| crate::enquiry::person(&spec)).transpose()?;
    let outcome = match outcome.as_deref() {
        None => pb::Outcome::Unspecified,
        Some("disclosed") => pb::Outcome::Disclosed,
        Some("refused") => pb::Outcome::Refused,
        Some("log-searched") => pb::Outcome::LogSearched,
        Some(other) => anyhow::bail!("--outcome must be disclosed, refused or log-searched, not {other:?}"),
    };
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or("ian-ig")).await?;
    let mut request = pb::SearchLogRequest {
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
    let mut first = true;
    loop {
        let page = broker.search_log(request.clone()).await?.into_inner();
        if std::mem::take(&mut first) {
            println!(
                "{:>6}  {:<20}  {:<42}  {:<12}  {:<36}  {:<9}  {:<9}  reason",
                "seq", "recorded at", "requester", "agency", "category", "outcome", "tier"
            );
        }
        for e in &page.entries {
            println!(
                "{:>6}  {:<20}  {:<42}  {:<12}  {:<36}  {:<9}  {:<9}  {}",
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
        if !all || page.next_page_token.is_empty() {
            return Ok(());
        }
        request.page_token = page.next_page_token;
    }
}
