//! `mashctl contact` and the workflow verbs of `mashctl enquiry`: the front
//! door as its staff use it. Codes on the command line are the stored ones
//! (`domestic-abuse`, `s47`, …); the broker checks them all again.

use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};
use mash_proto::v1 as pb;
use mash_system::BrokerClients;

const DEFAULT_RESEARCHER: &str = "rita-researcher";
const DEFAULT_MANAGER: &str = "maya-manager";

/// The outcome codes, as stored and as the reports use them.
const OUTCOMES: [(&str, pb::DecisionOutcome); 6] = [
    ("nfa", pb::DecisionOutcome::NoFurtherAction),
    ("advice", pb::DecisionOutcome::AdviceAndSignposting),
    ("early-help", pb::DecisionOutcome::EarlyHelp),
    ("s17", pb::DecisionOutcome::Section17Assessment),
    ("s47", pb::DecisionOutcome::Section47StrategyDiscussion),
    ("referral-other", pb::DecisionOutcome::ReferralToAnotherService),
];

#[derive(Debug, Subcommand)]
pub(crate) enum ContactCommand {
    /// Record a contact about a child and household.
    Create(CreateArgs),
    /// Triage a contact: its level (1 Green, 2 Amber, 3 Red) sets its deadline.
    Triage {
        contact_id: u64,
        #[arg(long)]
        level: u8,
        #[arg(long)]
        reason: String,
    },
    /// Show a contact, its triage, and where its enquiry stands.
    Show { contact_id: u64 },
    /// Open the enquiry of a triaged contact, at its level, about its subjects.
    OpenEnquiry {
        contact_id: u64,
        /// front-door-decision, strategy-discussion or early-help-assessment.
        #[arg(long, default_value = "front-door-decision")]
        purpose: String,
        /// children-act-1989-s47, children-act-1989-s17 or consent.
        #[arg(long)]
        lawful_basis: String,
        /// given, refused or not-sought.
        #[arg(long, default_value = "not-sought")]
        consent: String,
        /// Assign to another researcher (managers only), by identity URI.
        #[arg(long, default_value = "")]
        assign: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// professional, agency-system or public.
    #[arg(long)]
    referrer_kind: String,
    /// Who referred (may be empty for an anonymous member of the public).
    #[arg(long, default_value = "")]
    referrer: String,
    /// domestic-abuse, neglect, missing, exploitation, physical-abuse,
    /// sexual-abuse, emotional-abuse, mental-health, substance-misuse or other. Repeatable.
    #[arg(long = "concern", required = true)]
    concerns: Vec<String>,
    /// RELATION:key=value,... as for `mashctl enquiry open`; exactly one child. Repeatable.
    #[arg(long = "subject", required = true)]
    subjects: Vec<String>,
    /// When the contact arrived (RFC 3339), if before now.
    #[arg(long, default_value = "")]
    received_at: String,
    /// The agency the referrer works for (police, health, education,
    /// social-care), which then receives the outcome in its queue.
    #[arg(long, default_value = "")]
    referrer_agency: String,
}

/// `mashctl enquiry`: open and show, plus the workflow.
#[derive(Debug, Subcommand)]
pub(crate) enum EnquiryCommand {
    #[command(flatten)]
    Enquiry(crate::enquiry::EnquiryCommand),
    /// Mark the information gathered, ready for the manager's decision.
    Gathered { enquiry_id: String },
    /// Manager: record the decision: nfa, advice, early-help, s17, s47 or referral-other.
    Decide {
        enquiry_id: String,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        reason: String,
    },
    /// Manager: close a decided enquiry.
    Close { enquiry_id: String },
    /// Show where an enquiry stands and every move it made.
    Workflow { enquiry_id: String },
}

pub(crate) async fn contact(endpoints: &Path, principal: Option<&str>, command: ContactCommand) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or(DEFAULT_RESEARCHER)).await?;
    let contact = match command {
        ContactCommand::Create(args) => broker.frontdoor.create_contact(create_request(args)?).await?.into_inner(),
        ContactCommand::Triage { contact_id, level, reason } => {
            let request = pb::TriageContactRequest { contact_id, level: level_code(level)?.into(), reason };
            broker.frontdoor.triage_contact(request).await?.into_inner()
        }
        ContactCommand::Show { contact_id } => {
            broker.frontdoor.get_contact(pb::GetContactRequest { contact_id }).await?.into_inner()
        }
        ContactCommand::OpenEnquiry { contact_id, purpose, lawful_basis, consent, assign } => {
            let request = pb::CreateEnquiryFromContactRequest {
                contact_id,
                purpose,
                lawful_basis,
                consent: consent_code(&consent)?.into(),
                assigned_researcher: assign,
            };
            let enquiry = broker.frontdoor.create_enquiry_from_contact(request).await?.into_inner();
            println!("enquiry {} opened from contact {contact_id}", enquiry.enquiry_id);
            return Ok(());
        }
    };
    print_contact(&contact);
    Ok(())
}

pub(crate) async fn enquiry(endpoints: &Path, principal: Option<&str>, command: EnquiryCommand) -> anyhow::Result<()> {
    let connect = |default: &'static str| crate::connect::broker(endpoints, principal.unwrap_or(default));
    let workflow = match command {
        EnquiryCommand::Enquiry(command) => return crate::enquiry::run(endpoints, principal, command).await,
        EnquiryCommand::Gathered { enquiry_id } => {
            let to = pb::EnquiryState::InformationGathered.into();
            connect(DEFAULT_RESEARCHER)
                .await?
                .frontdoor
                .transition_enquiry(pb::TransitionEnquiryRequest { enquiry_id, to })
                .await?
        }
        EnquiryCommand::Decide { enquiry_id, outcome, reason } => {
            let outcome = OUTCOMES
                .iter()
                .find(|(code, _)| *code == outcome)
                .map(|(_, outcome)| *outcome)
                .with_context(|| format!("--outcome must be one of {}", codes(&OUTCOMES)))?;
            let request = pb::RecordDecisionRequest { enquiry_id, outcome: outcome.into(), reason };
            connect(DEFAULT_MANAGER).await?.frontdoor.record_decision(request).await?
        }
        EnquiryCommand::Close { enquiry_id } => {
            connect(DEFAULT_MANAGER).await?.frontdoor.close_enquiry(pb::CloseEnquiryRequest { enquiry_id }).await?
        }
        EnquiryCommand::Workflow { enquiry_id } => {
            let request = pb::GetEnquiryWorkflowRequest { enquiry_id };
            connect(DEFAULT_RESEARCHER).await?.frontdoor.get_enquiry_workflow(request).await?
        }
    };
    print_workflow(&workflow.into_inner());
    Ok(())
}

/// The default identity for a manager's command, for `mashctl report`.
pub(crate) async fn manager(endpoints: &Path, principal: Option<&str>) -> anyhow::Result<BrokerClients> {
    crate::connect::broker(endpoints, principal.unwrap_or(DEFAULT_MANAGER)).await
}

fn create_request(args: CreateArgs) -> anyhow::Result<pb::CreateContactRequest> {
    let referrer_kind = match args.referrer_kind.as_str() {
        "professional" => pb::ReferrerKind::Professional,
        "agency-system" => pb::ReferrerKind::AgencySystem,
        "public" => pb::ReferrerKind::MemberOfPublic,
        other => anyhow::bail!("--referrer-kind must be professional, agency-system or public, not {other:?}"),
    };
    let concerns = args
        .concerns
        .iter()
        .map(|code| {
            let name = format!("CONCERN_CATEGORY_{}", code.trim().to_ascii_uppercase().replace('-', "_"));
            pb::ConcernCategory::from_str_name(&name)
                .filter(|c| *c != pb::ConcernCategory::Unspecified)
                .map(i32::from)
                .with_context(|| format!("unknown concern {code:?}"))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(pb::CreateContactRequest {
        referrer_kind: referrer_kind.into(),
        referrer: args.referrer,
        concerns,
        subjects: args.subjects.iter().map(|s| subject(s)).collect::<anyhow::Result<_>>()?,
        received_at: args.received_at,
        referrer_agency: args.referrer_agency,
    })
}

/// Parses `child:given=Amy,family=Lee,dob=2016-04-12,nhs=4010232137`.
fn subject(spec: &str) -> anyhow::Result<pb::EnquirySubject> {
    let (relation, fields) = spec.split_once(':').context("a subject is RELATION:key=value,...")?;
    let name = format!("RELATION_{}", relation.trim().to_ascii_uppercase().replace('-', "_"));
    let relation = pb::Relation::from_str_name(&name)
        .filter(|r| *r != pb::Relation::Unspecified)
        .with_context(|| format!("unknown relation {relation:?}"))?;
    Ok(pb::EnquirySubject {
        subject_id: String::new(),
        relation: relation.into(),
        person: Some(crate::enquiry::person(fields)?),
    })
}

fn level_code(level: u8) -> anyhow::Result<pb::Level> {
    Ok(match level {
        1 => pb::Level::Level1EarlyHelp,
        2 => pb::Level::Level2ChildInNeed,
        3 => pb::Level::Level3ChildProtection,
        other => anyhow::bail!("--level must be 1, 2 or 3, not {other}"),
    })
}

fn consent_code(consent: &str) -> anyhow::Result<pb::ConsentState> {
    Ok(match consent {
        "given" => pb::ConsentState::Given,
        "refused" => pb::ConsentState::Refused,
        "not-sought" => pb::ConsentState::NotSought,
        other => anyhow::bail!("--consent must be given, refused or not-sought, not {other:?}"),
    })
}

fn codes(table: &[(&str, pb::DecisionOutcome)]) -> String {
    table.iter().map(|(code, _)| *code).collect::<Vec<_>>().join(", ")
}

/// An outcome's code, as typed on the command line.
pub(crate) fn outcome_code(outcome: pb::DecisionOutcome) -> &'static str {
    OUTCOMES.iter().find(|(_, o)| *o == outcome).map_or("-", |(code, _)| code)
}

/// A wire enum's name without its prefix, in lower case: `ENQUIRY_STATE_CHECKS_REQUESTED` → `checks-requested`.
fn shown(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_ascii_lowercase().replace('_', "-")
}

fn print_contact(c: &pb::Contact) {
    let concerns: Vec<String> = c.concerns().map(|concern| shown(concern.as_str_name(), "CONCERN_CATEGORY_")).collect();
    println!(
        "contact {}  received {}  from {} ({})  concerns {}",
        c.contact_id,
        c.received_at,
        shown(c.referrer_kind().as_str_name(), "REFERRER_KIND_"),
        if c.referrer.is_empty() { "anonymous" } else { &c.referrer },
        concerns.join(", ")
    );
    if c.re_referral {
        println!("  RE-REFERRAL of contact {}", c.re_referral_of);
    }
    for s in &c.subjects {
        let p = s.person.clone().unwrap_or_default();
        let relation = shown(s.relation().as_str_name(), "RELATION_");
        println!("  {relation:<16} {} {} {}", p.given_name, p.family_name, p.date_of_birth);
    }
    if c.level() == pb::Level::Unspecified {
        println!("  not triaged");
    } else {
        println!(
            "  level {} ({})  deadline {}  triaged by {} at {}: {}",
            c.level() as i32,
            shown(c.rag().as_str_name(), "RAG_"),
            c.deadline,
            c.triaged_by,
            c.triaged_at,
            c.triage_reason
        );
    }
    if !c.enquiry_id.is_empty() {
        println!("  enquiry {}  {}", c.enquiry_id, shown(c.state().as_str_name(), "ENQUIRY_STATE_"));
    }
    if !c.decided_at.is_empty() {
        println!("  decided {}  outcome {}", c.decided_at, outcome_code(c.outcome()));
    }
    if !c.closed_at.is_empty() {
        println!("  closed {}", c.closed_at);
    }
}

fn print_workflow(w: &pb::EnquiryWorkflow) {
    let contact = if w.contact_id == 0 { "no contact".to_owned() } else { format!("contact {}", w.contact_id) };
    println!("enquiry {}  ({contact})  {}", w.enquiry_id, shown(w.state().as_str_name(), "ENQUIRY_STATE_"));
    for t in &w.transitions {
        println!(
            "  {}  {} → {}  by {}",
            t.at,
            shown(t.from().as_str_name(), "ENQUIRY_STATE_"),
            shown(t.to().as_str_name(), "ENQUIRY_STATE_"),
            t.actor
        );
    }
    if !w.decided_by.is_empty() {
        println!(
            "  decision {} by {} at {}: {}",
            outcome_code(w.outcome()),
            w.decided_by,
            w.decided_at,
            w.decision_reason
        );
    }
}
