//! One agency check: fan out to the feeds, decide, redact, log, answer.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use futures::future::join_all;
use mash_disclosure_log::{Caller, EntryBuilder, NewEntry, Outcome, Recipient, Role as LogRole};
use mash_domain::{AgeBand, Agency, Category, DomainError, Relation, Sensitivity, Tier};
use mash_policy::{Context, Decision, Policy, Role};
use mash_proto::v1 as pb;
use prost::Message;
use sha2::{Digest, Sha256};
use time::Date;
use tracing::Instrument;

use crate::{
    candidate::NewCandidate,
    enquiry::{Enquiry, Subject},
    hold::NewHold,
    search_batch::{FeedAnswer, FeedSearches},
};

/// Who asked, for the log and the policy.
pub(crate) struct Requester {
    pub identity: String,
    pub organisation: String,
    pub role: Role,
}

/// Asks each feed about the subjects, in parallel, each under `deadline`.
pub(crate) async fn fan_out(
    feeds: &HashMap<Agency, FeedSearches>,
    agencies: &[Agency],
    subjects: &[&Subject],
    deadline: Duration,
) -> Vec<(Agency, FeedAnswer)> {
    let queries: Vec<pb::SubjectQuery> = subjects
        .iter()
        .map(|s| pb::SubjectQuery {
            subject_ref: s.subject_id.to_string(),
            person: Some(crate::wire::person_to_wire(&s.person)),
        })
        .collect();
    let calls = agencies.iter().map(|&agency| {
        let queries = queries.clone();
        let feed = feeds.get(&agency);
        let span = tracing::info_span!("broker.feed_search", %agency);
        async move {
            let answer = match feed {
                Some(feed) => feed.search(queries, deadline).await,
                None => FeedAnswer::Unavailable,
            };
            (agency, answer)
        }
        .instrument(span)
    });
    join_all(calls).await
}

/// Everything a check decides with, besides the feeds' answers.
pub(crate) struct CheckContext<'a> {
    pub enquiry: &'a Enquiry,
    pub requester: &'a Requester,
    pub policy: &'a Policy,
    /// Each subject's cross-enquiry pseudonym, for the log.
    pub person_refs: &'a HashMap<String, String>,
    /// The day items' ages are judged on.
    pub today: Date,
    /// The possible matches a researcher has confirmed for this enquiry.
    pub confirmed: &'a HashSet<String>,
}

/// What a check produced: the answer, the log entries that must be durable
/// before it is sent, and the restricted items to hold for gatekeepers.
pub(crate) struct Disclosed {
    pub results: pb::RequestChecksResponse,
    pub entries: Vec<NewEntry>,
    pub holds: Vec<NewHold>,
    pub candidates: Vec<NewCandidate>,
}

/// Decides and redacts every item.
pub(crate) fn disclose(cx: &CheckContext<'_>, answers: Vec<(Agency, FeedAnswer)>) -> Disclosed {
    let mut sinks = Sinks::default();
    let agencies = answers
        .into_iter()
        .map(|(agency, answer)| {
            let (status, subjects) = match answer {
                FeedAnswer::TimedOut => (pb::AgencyStatus::TimedOut, Vec::new()),
                FeedAnswer::Unavailable => (pb::AgencyStatus::Unavailable, Vec::new()),
                FeedAnswer::Results(results) => {
                    let subjects: Vec<pb::SubjectDisclosure> = results
                        .into_iter()
                        .filter_map(|result| disclose_subject(cx, agency, result, &mut sinks))
                        .collect();
                    let status = if subjects.is_empty() { pb::AgencyStatus::NotKnown } else { pb::AgencyStatus::Found };
                    (status, subjects)
                }
            };
            let label = match status {
                pb::AgencyStatus::Found => "found",
                pb::AgencyStatus::NotKnown => "not_known",
                pb::AgencyStatus::TimedOut => "timed_out",
                _ => "unavailable",
            };
            mash_telemetry::metrics::metrics().check_agency(agency.as_str(), label);
            pb::AgencyResult { agency: agency.as_str().into(), status: status.into(), subjects }
        })
        .collect();
    let results = pb::RequestChecksResponse { enquiry_id: cx.enquiry.enquiry_id.to_string(), agencies };
    Disclosed { results, entries: sinks.entries, holds: sinks.holds, candidates: sinks.candidates }
}

/// The log entry of every item of one subject from one agency: the requester, in the role the
/// disclosure policy judged, and the enquiry.
fn entry_base(cx: &CheckContext<'_>, agency: Agency, subject_ref: &str) -> EntryBuilder {
    let requester = cx.requester;
    let role = match requester.role {
        Role::Researcher => LogRole::Researcher,
        Role::Manager => LogRole::Manager,
    };
    let caller =
        Caller { identity: requester.identity.clone(), role: Some(role), organisation: requester.organisation.clone() };
    let person_ref = cx.person_refs.get(subject_ref).map_or("", String::as_str);
    EntryBuilder::new(&caller, cx.policy.version())
        .enquiry(&cx.enquiry.log_context())
        .subject(subject_ref, person_ref)
        .agency(agency.as_str())
}

/// The entry of an item whose record id or category its feed sent with text that cannot be
/// logged (a control character): refused, naming the field, with neither text.
fn unloggable(base: &EntryBuilder, error: &DomainError) -> NewEntry {
    let reason = format!("the feed's {} {}; the item is not shown", error.field, error.problem);
    base.clone().build(Outcome::Refused, Tier::None, reason).into()
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

/// Whether any feed returned a possible match.
pub(crate) fn any_possible_match(answers: &[(Agency, FeedAnswer)]) -> bool {
    answers.iter().any(|(_, answer)| match answer {
        FeedAnswer::Results(results) => results
            .iter()
            .flat_map(|r| &r.items)
            .any(|item| item.r#match.as_ref().is_some_and(|m| m.verdict() == pb::MatchVerdict::PossibleMatch)),
        _ => false,
    })
}

/// Where one check's side effects collect: log entries, holds and possible matches.
#[derive(Default)]
struct Sinks {
    entries: Vec<NewEntry>,
    holds: Vec<NewHold>,
    candidates: Vec<NewCandidate>,
}

/// What one subject's items from one agency come to.
#[derive(Default)]
struct Shown {
    known: bool,
    possibly_known: bool,
    items: Vec<pb::DisclosedItem>,
    hold_ids: Vec<String>,
    possible_matches: Vec<pb::PossibleMatch>,
}

/// A possible match the researcher has not confirmed is shown as existence
/// at most, with the feed's reasons; a confirmed one is a match.
fn cap_possible_match(
    cx: &CheckContext<'_>,
    candidate: NewCandidate,
    item: &pb::Item,
    decision: &mut Decision,
    sinks: &mut Sinks,
    shown: &mut Shown,
) {
    if cx.confirmed.contains(&candidate.candidate_id) {
        decision.reason = format!("match confirmed by a researcher ({}); {}", candidate.candidate_id, decision.reason);
        return;
    }
    let probability = item.r#match.as_ref().map_or(0.0, |m| m.probability);
    decision.tier = decision.tier.min(Tier::Existence);
    decision.reason = format!(
        "possible match {} (p={probability:.3}): existence only until a researcher confirms it; {}",
        candidate.candidate_id, decision.reason
    );
    shown
        .possible_matches
        .push(pb::PossibleMatch { candidate_id: candidate.candidate_id.clone(), r#match: item.r#match.clone() });
    sinks.candidates.push(candidate);
}

/// One subject's items from one agency: decided, redacted and logged.
fn disclose_subject(
    cx: &CheckContext<'_>,
    agency: Agency,
    result: pb::SubjectResult,
    sinks: &mut Sinks,
) -> Option<pb::SubjectDisclosure> {
    // Results are attributed only to subjects the broker asked about.
    let Some(subject) = cx.enquiry.subjects.iter().find(|s| s.subject_id.to_string() == result.subject_ref) else {
        tracing::warn!(%agency, "feed answered about a subject that was not asked about; ignored");
        return None;
    };
    let base = entry_base(cx, agency, &result.subject_ref);
    let existence_notice = format!("Known to {agency}: contact the MASH {agency} desk.");
    let possible_notice = format!("Possibly known to {agency}: confirm the possible match to see more.");
    let held_notice = format!("Information is held for {agency} review: their gatekeeper decides on restricted items.");
    let mut shown = Shown::default();
    for item in result.items {
        // Checked first, so that nothing (a hold, a possible match) keeps text the log refuses.
        let entry = match base.clone().record(&item.record_id, &item.category) {
            Ok(logged) => logged,
            Err(error) => {
                tracing::warn!(%agency, field = %error.field, "feed answered with text the log refuses; item not shown");
                sinks.entries.push(unloggable(&base, &error));
                continue;
            }
        };
        let (restricted, mut decision) = decide(cx, subject.relation, agency, &item);
        let possible = item.r#match.as_ref().is_some_and(|m| m.verdict() == pb::MatchVerdict::PossibleMatch);
        let mut unconfirmed = false;
        if possible && !restricted && decision.tier != Tier::None {
            let candidate = NewCandidate::new(cx.enquiry.enquiry_id, &subject.subject_id, agency, &item.record_id);
            let before = sinks.candidates.len();
            cap_possible_match(cx, candidate, &item, &mut decision, sinks, &mut shown);
            unconfirmed = sinks.candidates.len() > before;
        }
        let entry: NewEntry = match decision.tier {
            Tier::None => {
                let mut reason = decision.reason.clone();
                if restricted {
                    let hold = NewHold::new(cx.enquiry, &subject.subject_id, agency, item);
                    reason = format!("held for the {agency} gatekeeper as hold {}: {reason}", hold.hold_id);
                    shown.hold_ids.push(hold.hold_id.clone());
                    sinks.holds.push(hold);
                }
                entry.build(Outcome::Refused, Tier::None, reason).into()
            }
            Tier::Existence => {
                let notice = if unconfirmed { &possible_notice } else { &existence_notice };
                shown.possibly_known |= unconfirmed;
                shown.known |= !unconfirmed;
                let shown_bytes = shown_content(pb::disclosed_content::Shown::Notice(notice.clone()));
                NewEntry::from(entry.shown_to(Recipient::Caller, digest(notice.as_bytes())).build(
                    Outcome::Disclosed,
                    decision.tier,
                    decision.reason.clone(),
                ))
                .showing(shown_bytes)
            }
            Tier::Summary | Tier::Detail => {
                let disclosed = redact(item, decision.tier);
                let shown_bytes = shown_content(pb::disclosed_content::Shown::Item(disclosed.clone()));
                let fields = entry.shown_to(Recipient::Caller, digest(&disclosed.encode_to_vec())).build(
                    Outcome::Disclosed,
                    decision.tier,
                    decision.reason.clone(),
                );
                shown.items.push(disclosed);
                NewEntry::from(fields).showing(shown_bytes)
            }
        };
        sinks.entries.push(entry);
    }
    let notices: Vec<&str> = [
        (shown.known, existence_notice.as_str()),
        (shown.possibly_known && !shown.known, possible_notice.as_str()),
        (!shown.hold_ids.is_empty(), held_notice.as_str()),
    ]
    .into_iter()
    .filter_map(|(on, text)| on.then_some(text))
    .collect();
    if shown.items.is_empty() && notices.is_empty() {
        return None;
    }
    Some(pb::SubjectDisclosure {
        subject_id: result.subject_ref,
        existence_notice: notices.join(" "),
        items: shown.items,
        hold_ids: shown.hold_ids,
        possible_matches: shown.possible_matches,
    })
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
        r#match: item.r#match,
    }
}

/// What the log's content store keeps of a disclosure.
pub(crate) fn shown_content(shown: pb::disclosed_content::Shown) -> Vec<u8> {
    pb::DisclosedContent { seq: 0, shown: Some(shown) }.encode_to_vec()
}

pub(crate) fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests;
