//! `mashctl match`: a researcher confirms that a possible match is the person.

use std::path::Path;

use clap::Subcommand;
use mash_proto::v1 as pb;

#[derive(Debug, Subcommand)]
pub(crate) enum MatchCommand {
    /// Confirm a possible match shown by `mashctl check`; the next check treats it as a match.
    Confirm {
        enquiry_id: String,
        candidate_id: String,
        /// Why you are sure, e.g. "same address and school as the referral".
        #[arg(long)]
        reason: String,
    },
}

pub(crate) async fn run(endpoints: &Path, principal: Option<&str>, command: MatchCommand) -> anyhow::Result<()> {
    let MatchCommand::Confirm { enquiry_id, candidate_id, reason } = command;
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or(crate::enquiry::DEFAULT_RESEARCHER)).await?;
    let confirmed = broker
        .enquiries
        .confirm_match(pb::ConfirmMatchRequest { enquiry_id, candidate_id, reason })
        .await?
        .into_inner();
    println!("{} confirmed by {} at {}", confirmed.candidate_id, confirmed.confirmed_by, confirmed.confirmed_at);
    Ok(())
}
