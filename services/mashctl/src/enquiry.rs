//! `mashctl enquiry` and `mashctl check`: a MASH researcher's work.

use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};
use mash_proto::v1::{self as pb, AgencyStatus, Tier};

pub(crate) const DEFAULT_RESEARCHER: &str = "rita-researcher";

#[derive(Debug, Subcommand)]
pub(crate) enum EnquiryCommand {
    /// Open an enquiry for a child and household.
    Open(OpenArgs),
    /// Show an enquiry and its subjects.
    Show { enquiry_id: String },
}

#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// 1 early help, 2 child in need, 3 child protection.
    #[arg(long)]
    level: u8,
    /// front-door-decision, strategy-discussion or early-help-assessment.
    #[arg(long, default_value = "front-door-decision")]
    purpose: String,
    /// children-act-1989-s47, children-act-1989-s17 or consent; by default
    /// the one that goes with the level (3: s47, 2: s17, 1: consent).
    #[arg(long)]
    lawful_basis: Option<String>,
    /// given, refused or not-sought.
    #[arg(long, default_value = "not-sought")]
    consent: String,
    /// RELATION:key=value,... with relation child, sibling, parent-or-carer or
    /// other-adult and keys given, family, dob, nhs, upn, postcode. Repeat per subject.
    #[arg(long = "subject", required = true)]
    subjects: Vec<String>,
    /// Assign to another researcher (managers only), by identity URI.
    #[arg(long, default_value = "")]
    assign: String,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    enquiry_id: String,
    /// Only these agencies; repeatable. All by default.
    #[arg(long = "agency")]
    agencies: Vec<String>,
}

pub(crate) async fn run(endpoints: &Path, principal: Option<&str>, command: EnquiryCommand) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or(DEFAULT_RESEARCHER)).await?;
    let enquiry = match command {
        EnquiryCommand::Open(args) => broker.enquiries.create_enquiry(open_request(args)?).await?.into_inner(),
        EnquiryCommand::Show { enquiry_id } => {
            broker.enquiries.get_enquiry(pb::GetEnquiryRequest { enquiry_id }).await?.into_inner()
        }
    };
    println!(
        "enquiry {}  level {}  assigned to {}",
        enquiry.enquiry_id,
        enquiry.level().as_str_name(),
        enquiry.assigned_researcher
    );
    for s in &enquiry.subjects {
        let p = s.person.clone().unwrap_or_default();
        println!(
            "  subject {}  {:<16} {} {} {}",
            s.subject_id,
            s.relation().as_str_name(),
            p.given_name,
            p.family_name,
            p.date_of_birth
        );
    }
    Ok(())
}

fn open_request(args: OpenArgs) -> anyhow::Result<pb::CreateEnquiryRequest> {
    let level = match args.level {
        1 => pb::Level::Level1EarlyHelp,
        2 => pb::Level::Level2ChildInNeed,
        3 => pb::Level::Level3ChildProtection,
        other => anyhow::bail!("--level must be 1, 2 or 3, not {other}"),
    };
    let consent = match args.consent.as_str() {
        "given" => pb::ConsentState::Given,
        "refused" => pb::ConsentState::Refused,
        "not-sought" => pb::ConsentState::NotSought,
        other => anyhow::bail!("--consent must be given, refused or not-sought, not {other:?}"),
    };
    Ok(pb::CreateEnquiryRequest {
        level: level.into(),
        purpose: args.purpose,
        lawful_basis: args.lawful_basis.unwrap_or_else(|| {
            match args.level {
                3 => "children-act-1989-s47",
                2 => "children-act-1989-s17",
                _ => "consent",
            }
            .to_owned()
        }),
        consent: consent.into(),
        assigned_researcher: args.assign,
        subjects: args.subjects.iter().map(|s| subject(s)).collect::<anyhow::Result<_>>()?,
    })
}

/// Parses `child:given=Amy,family=Lee,dob=2016-04-12,nhs=4010232137`.
fn subject(spec: &str) -> anyhow::Result<pb::EnquirySubject> {
    let (relation, fields) = spec.split_once(':').context("a subject is RELATION:key=value,...")?;
    let relation = match relation {
        "child" => pb::Relation::Child,
        "sibling" => pb::Relation::Sibling,
        "parent-or-carer" => pb::Relation::ParentOrCarer,
        "other-adult" => pb::Relation::OtherAdult,
        other => anyhow::bail!("unknown relation {other:?}"),
    };
    Ok(pb::EnquirySubject { subject_id: String::new(), relation: relation.into(), person: Some(person(fields)?) })
}

/// Parses `given=Amy,family=Lee,dob=2016-04-12,nhs=4010232137`.
pub(crate) fn person(fields: &str) -> anyhow::Result<pb::Person> {
    let mut person = pb::Person::default();
    for pair in fields.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) = pair.split_once('=').with_context(|| format!("{pair:?} is not key=value"))?;
        let slot = match key.trim() {
            "given" => &mut person.given_name,
            "family" => &mut person.family_name,
            "dob" => &mut person.date_of_birth,
            "nhs" => &mut person.nhs_number,
            "upn" => &mut person.upn,
            "postcode" => &mut person.postcode,
            other => anyhow::bail!("unknown subject key {other:?}"),
        };
        *slot = value.trim().to_owned();
    }
    Ok(person)
}

pub(crate) async fn check(endpoints: &Path, principal: Option<&str>, args: CheckArgs) -> anyhow::Result<()> {
    let mut broker = crate::connect::broker(endpoints, principal.unwrap_or(DEFAULT_RESEARCHER)).await?;
    let request =
        pb::RequestChecksRequest { enquiry_id: args.enquiry_id, subject_ids: vec![], agencies: args.agencies };
    let results = broker.enquiries.request_checks(request).await?.into_inner();
    for agency in &results.agencies {
        println!("{:<12} {}", agency.agency, status(agency.status()));
        for subject in &agency.subjects {
            println!("  subject {}", subject.subject_id);
            if !subject.existence_notice.is_empty() {
                println!("    {}", subject.existence_notice);
            }
            for hold in &subject.hold_ids {
                println!("    held for agency review: {hold} (mashctl hold list --enquiry …)");
            }
            for possible in &subject.possible_matches {
                println!("    possible match {} (mashctl match confirm …):", possible.candidate_id);
                if let Some(why) = &possible.r#match {
                    print_explanation(why);
                }
            }
            for item in &subject.items {
                let tier = if item.tier() == Tier::Detail { "detail" } else { "summary" };
                println!("    {}  {:<36} [{tier}]", item.date, item.category);
                for field in &item.fields {
                    println!("      {}: {}", field.name, field.value);
                }
                if let Some(why) = item.r#match.as_ref().filter(|m| m.probability < 1.0) {
                    print_explanation(why);
                }
            }
        }
    }
    Ok(())
}

/// Why the feed thinks a record is the person: the weight of each field.
fn print_explanation(why: &pb::MatchExplanation) {
    let verdict = match why.verdict() {
        pb::MatchVerdict::Match => "match",
        pb::MatchVerdict::PossibleMatch => "possible match",
        pb::MatchVerdict::Unspecified => "unknown",
    };
    println!("      {verdict} (p = {:.3}, {:+.1} bits)", why.probability, why.weight);
    for field in &why.fields {
        println!("        {:<14} {:+6.1}  {}", field.field, field.weight, field.level);
    }
}

fn status(status: AgencyStatus) -> &'static str {
    match status {
        AgencyStatus::Found => "found",
        AgencyStatus::NotKnown => "not known",
        AgencyStatus::Unavailable => "unavailable",
        AgencyStatus::TimedOut => "timed out",
        AgencyStatus::Unspecified => "unknown status",
    }
}
