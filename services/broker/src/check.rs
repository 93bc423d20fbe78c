//! One agency check: fan out to the feeds, decide, redact, log, answer.

use std::{collections::HashMap, time::Duration};

use futures::future::join_all;
use mash_domain::{Agency, Category, Tier};
use mash_policy::{Policy, Role};
use mash_proto::v1::{self as pb, feed_client::FeedClient};
use mash_telemetry::TracePropagation;
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};
use tracing::Instrument;

use crate::{
    enquiry::{Enquiry, Subject},
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

/// Decides and redacts every item; returns the answer and the log entries
/// that must be durable before it is sent.
pub fn disclose(
    enquiry: &Enquiry,
    requester: &Requester,
    policy: &Policy,
    person_refs: &HashMap<String, String>,
    answers: Vec<(Agency, FeedAnswer)>,
) -> (pb::CheckResults, Vec<NewEntry>) {
    let mut entries = Vec::new();
    let agencies = answers
        .into_iter()
        .map(|(agency, answer)| {
            let status_and_subjects = match answer {
                FeedAnswer::TimedOut => (pb::AgencyStatus::TimedOut, Vec::new()),
                FeedAnswer::Unavailable => (pb::AgencyStatus::Unavailable, Vec::new()),
                FeedAnswer::Results(results) => {
                    let subjects: Vec<pb::SubjectDisclosure> = results
                        .into_iter()
                        .filter_map(|result| {
                            let mut base = entry_base(enquiry, requester, policy, agency, &result.subject_ref);
                            base.person_ref = person_refs.get(&result.subject_ref).cloned().unwrap_or_default();
                            disclose_subject(enquiry, requester, policy, agency, result, &base, &mut entries)
                        })
                        .collect();
                    let status = if subjects.is_empty() { pb::AgencyStatus::NotKnown } else { pb::AgencyStatus::Found };
                    (status, subjects)
                }
            };
            let (status, subjects) = status_and_subjects;
            pb::AgencyResult { agency: agency.as_str().into(), status: status.into(), subjects }
        })
        .collect();
    (pb::CheckResults { enquiry_id: enquiry.enquiry_id.to_string(), agencies }, entries)
}

fn entry_base(
    enquiry: &Enquiry,
    requester: &Requester,
    policy: &Policy,
    agency: Agency,
    subject_ref: &str,
) -> NewEntry {
    NewEntry {
        requester: requester.identity.clone(),
        role: requester.role.as_str().into(),
        enquiry_id: enquiry.enquiry_id.to_string(),
        level: enquiry.level.as_str().into(),
        purpose: enquiry.purpose.clone(),
        lawful_basis: enquiry.lawful_basis.clone(),
        consent: enquiry.consent.as_str().into(),
        subject_id: subject_ref.into(),
        agency: agency.as_str().into(),
        policy_version: policy.version().into(),
        requester_agency: requester.organisation.clone(),
        on_behalf_of: enquiry.assigned_researcher.to_string(),
        recipient: requester.identity.clone(),
        ..NewEntry::default()
    }
}

/// One subject's items from one agency: decided, redacted and logged.
fn disclose_subject(
    enquiry: &Enquiry,
    requester: &Requester,
    policy: &Policy,
    agency: Agency,
    result: pb::SubjectResult,
    base: &NewEntry,
    entries: &mut Vec<NewEntry>,
) -> Option<pb::SubjectDisclosure> {
    // Results are attributed only to subjects the broker asked about.
    if !enquiry.subjects.iter().any(|s| s.subject_id.to_string() == result.subject_ref) {
        tracing::warn!(%agency, "feed answered about a subject that was not asked about; ignored");
        return None;
    }
    let existence_notice = format!("Known to {agency}: contact the MASH {agency} desk.");
    let held_notice = format!("Information is held for {agency} review: their gatekeeper decides on restricted items.");
    let (mut known, mut held) = (false, false);
    let mut items = Vec::new();
    for item in result.items {
        let (category, decision) = match Category::parse_for("category", &item.category, agency) {
            Ok(category) => (Some(category), policy.disclosure.decide(requester.role, enquiry.level, category)),
            Err(_) => {
                (None, mash_policy::Decision { tier: Tier::None, reason: "category unknown for this agency".into() })
            }
        };
        let mut entry = NewEntry {
            record_ref: item.record_id.clone(),
            category: item.category.clone(),
            tier: decision.tier.as_str().into(),
            reason: decision.reason.clone(),
            ..base.clone()
        };
        match decision.tier {
            Tier::None => {
                held |= category.is_some_and(|c| c.sensitivity() == mash_domain::Sensitivity::Restricted);
                entry.outcome = "refused".into();
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
    let notices: Vec<&str> = [(known, existence_notice.as_str()), (held, held_notice.as_str())]
        .into_iter()
        .filter_map(|(on, text)| on.then_some(text))
        .collect();
    if items.is_empty() && notices.is_empty() {
        return None;
    }
    Some(pb::SubjectDisclosure { subject_id: result.subject_ref, existence_notice: notices.join(" "), items })
}

/// The item as this tier may see it: summary keeps kind, category and date;
/// detail adds every field that is not restricted.
fn redact(item: pb::Item, tier: Tier) -> pb::DisclosedItem {
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
fn shown_content(shown: pb::disclosed_content::Shown) -> Vec<u8> {
    pb::DisclosedContent { seq: 0, shown: Some(shown) }.encode_to_vec()
}

fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
