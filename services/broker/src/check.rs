//! One agency check: fan out to the feeds, decide, redact, log, answer.

use std::{collections::HashMap, time::Duration};

use futures::future::join_all;
use mash_domain::{AgeBand, Agency, Category, Relation, Sensitivity, Tier};
use mash_policy::{Context, Decision, Policy, Role};
use mash_proto::v1::{self as pb, feed_client::FeedClient};
use mash_telemetry::TracePropagation;
use prost::Message;
use sha2::{Digest, Sha256};
use time::Date;
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};
use tracing::Instrument;

use crate::{
    enquiry::{Enquiry, Subject},
    hold::NewHold,
    log::NewEntry,
};

pub type Feed = FeedClient<InterceptedService<Channel, TracePropagation>>;

/// Who asked, for the log and the policy.
pub struct Requester {
    pub identity: String,
    pub organisation: String,
    pub role: Role,
}

/// What one feed answered.
pub enum FeedAnswer {
    Results(Vec<pb::SubjectResult>),
    Unavailable,
    TimedOut,
}

/// Asks each feed about the subjects, in parallel, each under `deadline`.
pub async fn fan_out(
    feeds: &HashMap<Agency, Feed>,
    agencies: &[Agency],
    subjects: &[&Subject],
    deadline: Duration,
) -> Vec<(Agency, FeedAnswer)> {
    let request = pb::SearchRequest {
        subjects: subjects
            .iter()
            .map(|s| pb::SubjectQuery {
                subject_ref: s.subject_id.to_string(),
                person: Some(person_to_wire(&s.person)),
            })
            .collect(),
    };
    let calls = agencies.iter().map(|&agency| {
        let request = request.clone();
        let feed = feeds.get(&agency).cloned();
        let span = tracing::info_span!("broker.feed_search", %agency);
        async move {
            let Some(mut feed) = feed else { return (agency, FeedAnswer::Unavailable) };
            let mut request = tonic::Request::new(request);
            request.set_timeout(deadline);
            let started = std::time::Instant::now();
            let answer = match tokio::time::timeout(deadline, feed.search(request)).await {
                Err(_) => FeedAnswer::TimedOut,
                // The client's own deadline surfaces as one of several codes.
                Ok(Err(status)) if status.code() == Code::DeadlineExceeded || started.elapsed() >= deadline => {
                    FeedAnswer::TimedOut
                }
                Ok(Err(status)) => {
                    tracing::warn!(code = ?status.code(), "feed search failed");
                    FeedAnswer::Unavailable
                }
                Ok(Ok(response)) => FeedAnswer::Results(response.into_inner().results),
            };
            (agency, answer)
        }
        .instrument(span)
    });
    join_all(calls).await
}

pub fn person_to_wire(p: &mash_domain::Person) -> pb::Person {
    pb::Person {
        given_name: p.given_name.clone().unwrap_or_default(),
        family_name: p.family_name.clone().unwrap_or_default(),
        date_of_birth: p.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
        nhs_number: p.nhs_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
        upn: p.upn.as_ref().map(|u| u.as_str().to_owned()).unwrap_or_default(),
        postcode: p.postcode.clone().unwrap_or_default(),
    }
}

/// Everything a check decides with, besides the feeds' answers.
pub struct CheckContext<'a> {
    pub enquiry: &'a Enquiry,
    pub requester: &'a Requester,
    pub policy: &'a Policy,
    /// Each subject's cross-enquiry pseudonym, for the log.
    pub person_refs: &'a HashMap<String, String>,
    /// The day items' ages are judged on.
    pub today: Date,
}

/// What a check produced: the answer, the log entries that must be durable
/// before it is sent, and the restricted items to hold for gatekeepers.
pub struct Disclosed {
    pub results: pb::CheckResults,
    pub entries: Vec<NewEntry>,
    pub holds: Vec<NewHold>,
}

/// Decides and redacts every item.
pub fn disclose(cx: &CheckContext<'_>, answers: Vec<(Agency, FeedAnswer)>) -> Disclosed {
    let (mut entries, mut holds) = (Vec::new(), Vec::new());
    let agencies = answers
        .into_iter()
        .map(|(agency, answer)| {
            let (status, subjects) = match answer {
                FeedAnswer::TimedOut => (pb::AgencyStatus::TimedOut, Vec::new()),
                FeedAnswer::Unavailable => (pb::AgencyStatus::Unavailable, Vec::new()),
                FeedAnswer::Results(results) => {
                    let subjects: Vec<pb::SubjectDisclosure> = results
                        .into_iter()
                        .filter_map(|result| disclose_subject(cx, agency, result, &mut entries, &mut holds))
                        .collect();
                    let status = if subjects.is_empty() { pb::AgencyStatus::NotKnown } else { pb::AgencyStatus::Found };
                    (status, subjects)
                }
            };
            pb::AgencyResult { agency: agency.as_str().into(), status: status.into(), subjects }
        })
        .collect();
    let results = pb::CheckResults { enquiry_id: cx.enquiry.enquiry_id.to_string(), agencies };
    Disclosed { results, entries, holds }
}

fn entry_base(cx: &CheckContext<'_>, agency: Agency, subject_ref: &str) -> NewEntry {
    let (enquiry, requester) = (cx.enquiry, cx.requester);
    NewEntry {
        requester: requester.identity.clone(),
        role: requester.role.as_str().into(),
        enquiry_id: enquiry.enquiry_id.to_string(),
        level: enquiry.level.as_str().into(),
        purpose: enquiry.purpose.as_str().into(),
        lawful_basis: enquiry.lawful_basis.as_str().into(),
        consent: enquiry.consent.as_str().into(),
        subject_id: subject_ref.into(),
        person_ref: cx.person_refs.get(subject_ref).cloned().unwrap_or_default(),
        agency: agency.as_str().into(),
        policy_version: cx.policy.version().into(),
        requester_agency: requester.organisation.clone(),
        on_behalf_of: enquiry.assigned_researcher.to_string(),
        recipient: requester.identity.clone(),
        ..NewEntry::default()
    }
}

/// One item as the policy sees it, decided. Restricted items (by category
/// or by the agency's marking) are refused here whatever the policy files
/// say: validation keeps the files in step, and this keeps a mistake in them
/// from disclosing. Returns whether the item is restricted (and so to be
/// held), and the decision.
fn decide(cx: &CheckContext<'_>, relation: Relation, agency: Agency, item: &pb::Item) -> (bool, Decision) {
    let Ok(category) = Category::parse_for("category", &item.category, agency) else {
        return (false, Decision { tier: Tier::None, reason: "category unknown for this agency".into() });
    };
    let marked = crate::wire::sensitivity(item.sensitivity).unwrap_or(category.sensitivity());
    let sensitivity = marked.max(category.sensitivity());
    // An item whose date cannot be read is judged historic: the narrower view.
    let age = mash_domain::parse_date("date", &item.date).map_or(AgeBand::Historic, |date| AgeBand::of(date, cx.today));
    let context = Context {
        role: cx.requester.role,
        level: cx.enquiry.level,
        purpose: cx.enquiry.purpose,
        basis: cx.enquiry.lawful_basis,
        consent: cx.enquiry.consent,
        relation,
        category,
        sensitivity,
        age,
    };
    let decision = cx.policy.disclosure.decide(&context);
    let restricted = sensitivity == Sensitivity::Restricted;
    if restricted && decision.tier != Tier::None {
        let reason =
            format!("restricted items are never disclosed automatically (the policy said: {})", decision.reason);
        return (true, Decision { tier: Tier::None, reason });
    }
    (restricted, decision)
}

/// One subject's items from one agency: decided, redacted and logged.
fn disclose_subject(
    cx: &CheckContext<'_>,
    agency: Agency,
    result: pb::SubjectResult,
    entries: &mut Vec<NewEntry>,
    holds: &mut Vec<NewHold>,
) -> Option<pb::SubjectDisclosure> {
    // Results are attributed only to subjects the broker asked about.
    let Some(subject) = cx.enquiry.subjects.iter().find(|s| s.subject_id.to_string() == result.subject_ref) else {
        tracing::warn!(%agency, "feed answered about a subject that was not asked about; ignored");
        return None;
    };
    let base = entry_base(cx, agency, &result.subject_ref);
    let existence_notice = format!("Known to {agency}: contact the MASH {agency} desk.");
    let held_notice = format!("Information is held for {agency} review: their gatekeeper decides on restricted items.");
    let mut known = false;
    let (mut items, mut hold_ids) = (Vec::new(), Vec::new());
    for item in result.items {
        let (restricted, decision) = decide(cx, subject.relation, agency, &item);
        let mut entry = NewEntry {
            record_ref: item.record_id.clone(),
            category: item.category.clone(),
            tier: decision.tier.as_str().into(),
            reason: decision.reason.clone(),
            ..base.clone()
        };
        match decision.tier {
            Tier::None => {
                entry.outcome = "refused".into();
                if restricted {
                    let hold = NewHold::new(cx.enquiry, &subject.subject_id, agency, item);
                    entry.reason =
                        format!("held for the {agency} gatekeeper as hold {}: {}", hold.hold_id, entry.reason);
                    hold_ids.push(hold.hold_id.clone());
                    holds.push(hold);
                }
            }
            Tier::Existence => {
                known = true;
                entry.outcome = "disclosed".into();
                entry.content_digest = digest(existence_notice.as_bytes());
                entry.shown = Some(shown_content(pb::disclosed_content::Shown::Notice(existence_notice.clone())));
            }
            Tier::Summary | Tier::Detail => {
                let shown = redact(item, decision.tier);
                entry.outcome = "disclosed".into();
                entry.content_digest = digest(&shown.encode_to_vec());
                entry.shown = Some(shown_content(pb::disclosed_content::Shown::Item(shown.clone())));
                items.push(shown);
            }
        }
        entries.push(entry);
    }
    let notices: Vec<&str> = [(known, existence_notice.as_str()), (!hold_ids.is_empty(), held_notice.as_str())]
        .into_iter()
        .filter_map(|(on, text)| on.then_some(text))
        .collect();
    if items.is_empty() && notices.is_empty() {
        return None;
    }
    Some(pb::SubjectDisclosure { subject_id: result.subject_ref, existence_notice: notices.join(" "), items, hold_ids })
}

/// The item as this tier may see it: summary keeps kind, category and date;
/// detail adds every field that is not restricted.
pub(crate) fn redact(item: pb::Item, tier: Tier) -> pb::DisclosedItem {
    let fields =
        if tier == Tier::Detail { item.fields.into_iter().filter(|f| !f.restricted).collect() } else { Vec::new() };
    pb::DisclosedItem {
        tier: crate::wire::tier_to_wire(tier).into(),
        kind: item.kind,
        category: item.category,
        date: item.date,
        fields,
    }
}

/// What the log's content store keeps of a disclosure.
pub(crate) fn shown_content(shown: pb::disclosed_content::Shown) -> Vec<u8> {
    pb::DisclosedContent { seq: 0, shown: Some(shown) }.encode_to_vec()
}

pub(crate) fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
