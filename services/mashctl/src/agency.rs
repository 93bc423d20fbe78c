//! `mashctl summary`, `mashctl share` and `mashctl messages`: the family
//! summary of an enquiry, information products to agencies, and an agency's
//! queue as its system reads it.

use std::path::Path;

use clap::{Args, Subcommand};
use mash_proto::v1::{self as pb, InformationProductKind, agency_message::Body};
use serde_json::json;
use tokio_stream::StreamExt;

const DEFAULT_RESEARCHER: &str = "rita-researcher";

#[derive(Debug, Args)]
pub(crate) struct SummaryArgs {
    enquiry_id: String,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShareArgs {
    enquiry_id: String,
    /// The receiving agency: police, health, education or social-care.
    #[arg(long)]
    agency: String,
    /// operation-encompass (to the school, at the start of the next school day) or notification (now).
    #[arg(long)]
    kind: String,
    /// What the agency needs to know and do.
    #[arg(long)]
    text: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MessagesCommand {
    /// Your agency's unacknowledged messages that are due.
    Poll {
        #[arg(long, default_value_t = 100)]
        max: u32,
        /// Acknowledge what was printed.
        #[arg(long)]
        ack: bool,
    },
    /// Print messages as they arrive, until interrupted.
    Subscribe {
        /// Acknowledge each message once printed.
        #[arg(long)]
        ack: bool,
    },
    /// Acknowledge messages by id.
    Ack {
        #[arg(required = true)]
        message_ids: Vec<String>,
    },
}

pub(crate) async fn summary(endpoints: &Path, principal: Option<&str>, args: SummaryArgs) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or(DEFAULT_RESEARCHER)).await?;
    let request = pb::GetFamilySummaryRequest { enquiry_id: args.enquiry_id };
    let summary = broker.enquiries.get_family_summary(request).await?.into_inner();
    if args.json {
        let entries: Vec<_> = summary
            .entries
            .iter()
            .map(|e| {
                json!({
                    "date": e.date, "agency": e.agency, "category": e.category, "summary": e.summary,
                    "subject_id": e.subject_id, "relation": e.relation().as_str_name(),
                    "tier": e.tier().as_str_name(), "seq": e.seq,
                })
            })
            .collect();
        let document = json!({
            "enquiry_id": summary.enquiry_id, "level": summary.level().as_str_name(),
            "entries": entries, "purged": summary.purged,
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        println!("MASH family summary, enquiry {} ({})", summary.enquiry_id, summary.level().as_str_name());
        print!("{}", summary.text);
        if summary.purged > 0 {
            println!("({} disclosures past the retention period are no longer shown)", summary.purged);
        }
    }
    Ok(())
}

pub(crate) async fn share(endpoints: &Path, principal: Option<&str>, args: ShareArgs) -> anyhow::Result<()> {
    let kind = match args.kind.as_str() {
        "operation-encompass" => InformationProductKind::OperationEncompass,
        "notification" => InformationProductKind::Notification,
        other => anyhow::bail!("--kind must be operation-encompass or notification, not {other:?}"),
    };
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or(DEFAULT_RESEARCHER)).await?;
    let request = pb::ShareWithAgencyRequest {
        enquiry_id: args.enquiry_id,
        agency: args.agency,
        kind: kind.into(),
        text: args.text,
    };
    let message = broker.queue.share_with_agency(request).await?.into_inner();
    println!("queued {} for {}, delivered from {}", message.message_id, message.agency, message.deliver_after);
    Ok(())
}

pub(crate) async fn messages(
    endpoints: &Path,
    principal: Option<&str>,
    command: MessagesCommand,
) -> anyhow::Result<()> {
    let principal =
        principal.ok_or_else(|| anyhow::anyhow!("say which agency system you are, e.g. --as agency-education"))?;
    let mut broker = crate::connect::broker(endpoints, principal).await?;
    let ack = |ids: Vec<String>| pb::AckMessagesRequest { message_ids: ids };
    match command {
        MessagesCommand::Poll { max, ack: and_ack } => {
            let messages = broker.queue.poll_messages(pb::PollMessagesRequest { agency: String::new(), max }).await?;
            let messages = messages.into_inner().messages;
            messages.iter().for_each(print_message);
            if and_ack && !messages.is_empty() {
                let ids = messages.into_iter().map(|m| m.message_id).collect();
                let done = broker.queue.ack_messages(ack(ids)).await?.into_inner();
                println!("acknowledged {}", done.acknowledged);
            }
        }
        MessagesCommand::Subscribe { ack: and_ack } => {
            let mut stream =
                broker.queue.subscribe_messages(pb::SubscribeMessagesRequest::default()).await?.into_inner();
            while let Some(message) = stream.next().await {
                let message = message?;
                print_message(&message);
                if and_ack {
                    broker.queue.ack_messages(ack(vec![message.message_id])).await?;
                }
            }
        }
        MessagesCommand::Ack { message_ids } => {
            let done = broker.queue.ack_messages(ack(message_ids)).await?.into_inner();
            println!("acknowledged {}", done.acknowledged);
        }
    }
    Ok(())
}

fn print_message(m: &pb::AgencyMessage) {
    let what = match &m.body {
        Some(Body::ReferralOutcome(o)) => {
            format!("outcome of referral (contact {}): {}", o.contact_id, o.outcome().as_str_name())
        }
        Some(Body::InformationProduct(p)) => {
            let child = p.child.as_ref().map(|c| format!("{} {} ({})", c.given_name, c.family_name, c.date_of_birth));
            format!("{} about {}: {}", p.kind().as_str_name(), child.unwrap_or_default(), p.text)
        }
        Some(Body::DisclosureNotification(n)) => format!(
            "your record {} ({}) disclosed at {} to a {} on enquiry {} (log entry {})",
            n.record_ref,
            n.category,
            n.tier().as_str_name(),
            n.requester_role,
            n.enquiry_id,
            n.seq
        ),
        Some(Body::BreakGlassAlert(a)) => format!(
            "BREAK-GLASS on your held record {} ({}) for enquiry {} by {}: {}",
            a.record_ref, a.category, a.enquiry_id, a.raised_by, a.reason
        ),
        None => "(empty)".into(),
    };
    println!("{}  {}  {}", m.message_id, m.deliver_after, what);
}
