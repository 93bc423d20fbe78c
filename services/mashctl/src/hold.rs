//! `mashctl hold` and `mashctl alerts`: restricted items held for agency
//! gatekeepers, as a researcher, a manager and a gatekeeper see them.

use std::path::Path;

use clap::Subcommand;
use mash_proto::v1::{self as pb, HoldDecision, HoldState};

#[derive(Debug, Subcommand)]
pub(crate) enum HoldCommand {
    /// An enquiry's holds (researchers, managers), or your agency's (gatekeepers).
    List {
        /// Required for researchers and managers; narrows a gatekeeper's list.
        #[arg(long, default_value = "")]
        enquiry: String,
        /// held, released or withheld; every state if absent.
        #[arg(long)]
        state: Option<String>,
    },
    /// Gatekeeper: release a held item to the enquiry.
    Release {
        hold_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Gatekeeper: withhold a held item from the enquiry.
    Withhold {
        hold_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Manager, level 3 only: release without waiting for the gatekeeper;
    /// the owning agency is alerted.
    BreakGlass {
        hold_id: String,
        #[arg(long)]
        reason: String,
    },
}

pub(crate) async fn run(endpoints: &Path, principal: Option<&str>, command: HoldCommand) -> anyhow::Result<()> {
    let principal =
        principal.ok_or_else(|| anyhow::anyhow!("say who you are with --as, e.g. --as police-gatekeeper"))?;
    let mut broker = crate::connect::broker(endpoints, principal).await?;
    let holds = match command {
        HoldCommand::List { enquiry, state } => {
            let state = match state.as_deref() {
                None => HoldState::Unspecified,
                Some("held") => HoldState::Held,
                Some("released") => HoldState::Released,
                Some("withheld") => HoldState::Withheld,
                Some(other) => anyhow::bail!("--state must be held, released or withheld, not {other:?}"),
            };
            let request = pb::ListHoldsRequest { enquiry_id: enquiry, state: state.into() };
            broker.holds.list_holds(request).await?.into_inner().holds
        }
        HoldCommand::Release { hold_id, reason } => {
            let request = pb::DecideHoldRequest { hold_id, decision: HoldDecision::Release.into(), reason };
            vec![broker.holds.decide_hold(request).await?.into_inner()]
        }
        HoldCommand::Withhold { hold_id, reason } => {
            let request = pb::DecideHoldRequest { hold_id, decision: HoldDecision::Withhold.into(), reason };
            vec![broker.holds.decide_hold(request).await?.into_inner()]
        }
        HoldCommand::BreakGlass { hold_id, reason } => {
            vec![broker.holds.break_glass(pb::BreakGlassRequest { hold_id, reason }).await?.into_inner()]
        }
    };
    for hold in &holds {
        print_hold(hold);
    }
    Ok(())
}

fn print_hold(hold: &pb::Hold) {
    let state = match hold.state() {
        HoldState::Held => "held",
        HoldState::Released => "released",
        HoldState::Withheld => "withheld",
        HoldState::Unspecified => "?",
    };
    println!(
        "{}  {:<11} {:<9} enquiry {}  subject {}",
        hold.hold_id, hold.agency, state, hold.enquiry_id, hold.subject_id
    );
    if !hold.category.is_empty() {
        println!(
            "  {} {}  (level {}, {}, {})",
            hold.record_ref, hold.category, hold.level, hold.purpose, hold.lawful_basis
        );
    }
    if !hold.decided_by.is_empty() {
        let glass = if hold.break_glass { " (break-glass)" } else { "" };
        println!("  decided by {} at {}{glass}: {}", hold.decided_by, hold.decided_at, hold.reason);
    }
    if let Some(item) = &hold.item {
        println!("  {}  {}", item.date, item.category);
        for field in &item.fields {
            println!("    {}: {}", field.name, field.value);
        }
    }
}

/// An agency's alerts, e.g. a manager's break-glass on one of its items.
pub(crate) async fn alerts(endpoints: &Path, principal: Option<&str>) -> anyhow::Result<()> {
    let principal =
        principal.ok_or_else(|| anyhow::anyhow!("say who you are with --as, e.g. --as police-gatekeeper"))?;
    let mut broker = crate::connect::broker(endpoints, principal).await?;
    for alert in broker.holds.list_alerts(pb::ListAlertsRequest {}).await?.into_inner().alerts {
        println!(
            "{}  {}  hold {} ({} {})  enquiry {}  by {}: {}",
            alert.raised_at,
            if alert.kind() == pb::AlertKind::BreakGlass { "break-glass" } else { "alert" },
            alert.hold_id,
            alert.record_ref,
            alert.category,
            alert.enquiry_id,
            alert.raised_by,
            alert.reason
        );
    }
    Ok(())
}
