//! Information governance and agencies searching the disclosure log.

use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, Level, Outcome, Relation};
use mash_system::demo::{self, AMY, JADE, NOAH};

on_both_backends!(
    a_subject_access_request_finds_one_person_across_enquiries,
    an_agency_reads_only_entries_about_its_own_records,
    searches_filter_by_time_and_page_through_results,
    review_signals_flag_the_same_child_checked_again_in_a_new_enquiry,
    a_filter_with_a_control_character_is_refused_naming_it_and_checks_go_on,
);

async fn two_enquiries_about_amy(h: &Harness) -> anyhow::Result<()> {
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let household = vec![subject(AMY, Relation::Child), subject(JADE, Relation::ParentOrCarer)];
    let first = rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household)).await?.into_inner();
    rita.enquiries.request_checks(checks(&first.enquiry_id)).await?;
    let mut maya = h.system.broker_as("maya-manager").await?;
    let second = maya
        .enquiries
        .create_enquiry(enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)]))
        .await?
        .into_inner();
    maya.enquiries.request_checks(checks(&second.enquiry_id)).await?;
    let third = maya
        .enquiries
        .create_enquiry(enquiry(Level::Level2ChildInNeed, vec![subject(NOAH, Relation::Child)]))
        .await?
        .into_inner();
    maya.enquiries.request_checks(checks(&third.enquiry_id)).await?;
    Ok(())
}

fn decisions(entries: Vec<pb::LogEntry>) -> Vec<pb::LogEntry> {
    entries.into_iter().filter(|e| e.outcome() != Outcome::LogSearched).collect()
}

async fn a_subject_access_request_finds_one_person_across_enquiries(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    two_enquiries_about_amy(&h).await?;
    let mut ian = h.system.broker_as("ian-ig").await?;
    let sar = pb::SearchLogEntriesRequest { person: Some(AMY.to_wire()), page_size: 1000, ..Default::default() };
    let entries = decisions(ian.log.search_log_entries(sar).await?.into_inner().entries);
    // Amy: police 1, health 1, education 1, social care 2 — in each of two enquiries.
    assert_eq!(entries.len(), 10);
    let enquiries: std::collections::HashSet<_> = entries.iter().map(|e| e.enquiry_id.clone()).collect();
    assert_eq!(enquiries.len(), 2, "across enquiries");
    let refs: std::collections::HashSet<_> = entries.iter().map(|e| e.person_ref.clone()).collect();
    assert_eq!(refs.len(), 1, "one pseudonym for Amy");
    // By name and date of birth alone, Amy is found where she was logged by that key only.
    let mut by_name = AMY.to_wire();
    by_name.nhs_number.clear();
    by_name.upn.clear();
    let sar = pb::SearchLogEntriesRequest { person: Some(by_name), page_size: 1000, ..Default::default() };
    assert!(
        decisions(ian.log.search_log_entries(sar).await?.into_inner().entries).is_empty(),
        "Amy was logged under her NHS number"
    );
    // The search itself is in the log, naming the person only by pseudonym.
    let audit = pb::SearchLogEntriesRequest { outcome: Outcome::LogSearched.into(), ..Default::default() };
    let searches = ian.log.search_log_entries(audit).await?.into_inner().entries;
    assert!(searches.iter().any(|e| e.person_ref == *refs.iter().next().expect("one ref")));
    assert!(searches.iter().all(|e| !e.reason.contains(AMY.family_name)));
    h.stop().await
}

async fn an_agency_reads_only_entries_about_its_own_records(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    two_enquiries_about_amy(&h).await?;
    let mut health = h.system.broker_as("agency-health").await?;
    let asks_for_police =
        pb::SearchLogEntriesRequest { agency: "police".into(), page_size: 1000, ..Default::default() };
    let entries = health.log.search_log_entries(asks_for_police).await?.into_inner().entries;
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e.agency == "health"), "{entries:?}");
    h.stop().await
}

/// A filter the log could not record (on PostgreSQL a NUL once failed every check committed
/// with the search's entry) is refused, naming the field, and writes nothing; checks go on.
async fn a_filter_with_a_control_character_is_refused_naming_it_and_checks_go_on(
    backend: Backend,
) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let entries = h.count("broker", "disclosure_log").await?;
    let mut police = h.system.broker_as("agency-police").await?;
    for (field, request) in [
        ("requester", pb::SearchLogEntriesRequest { requester: "\0".into(), ..Default::default() }),
        ("enquiry_id", pb::SearchLogEntriesRequest { enquiry_id: "e\u{1b}[2J".into(), ..Default::default() }),
    ] {
        let refused = police.log.search_log_entries(request).await.expect_err("refused");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().starts_with(field), "{field}: {}", refused.message());
    }
    assert_eq!(h.count("broker", "disclosure_log").await?, entries, "nothing written");
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(AMY, Relation::Child)]))
        .await?;
    rita.enquiries.request_checks(checks(&opened.into_inner().enquiry_id)).await?;
    h.stop().await
}

async fn searches_filter_by_time_and_page_through_results(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    two_enquiries_about_amy(&h).await?;
    let mut ian = h.system.broker_as("ian-ig").await?;
    let future = pb::SearchLogEntriesRequest { recorded_from: "2999-01-01T00:00:00Z".into(), ..Default::default() };
    assert!(ian.log.search_log_entries(future).await?.into_inner().entries.is_empty());
    let past = pb::SearchLogEntriesRequest { recorded_from: "2020-01-01T00:00:00+01:00".into(), ..Default::default() };
    let all = ian.log.search_log_entries(past).await?.into_inner().entries;
    assert!(all.len() >= 17, "17 decisions and the searches themselves");
    let bad = pb::SearchLogEntriesRequest { recorded_to: "yesterday".into(), ..Default::default() };
    assert_eq!(ian.log.search_log_entries(bad).await.expect_err("bad time").code(), tonic::Code::InvalidArgument);

    let mut request = pb::SearchLogEntriesRequest { page_size: 7, ..Default::default() };
    let mut seen = Vec::new();
    loop {
        let page = ian.log.search_log_entries(request.clone()).await?.into_inner();
        seen.extend(page.entries.iter().map(|e| e.seq));
        if page.next_page_token.is_empty() {
            break;
        }
        // A token is bound to its filter: reused with another, it is refused.
        let other = pb::SearchLogEntriesRequest {
            agency: "police".into(),
            page_token: page.next_page_token.clone(),
            ..request.clone()
        };
        let refused = ian.log.search_log_entries(other).await.expect_err("another filter");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        request.page_token = page.next_page_token;
    }
    let contiguous: Vec<u64> = (1..=seen.len() as u64).collect();
    assert_eq!(seen, contiguous, "pages neither skip nor repeat");
    let forged = pb::SearchLogEntriesRequest { page_token: "7".into(), ..Default::default() };
    let refused = ian.log.search_log_entries(forged).await.expect_err("not a token");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    h.stop().await
}

async fn review_signals_flag_the_same_child_checked_again_in_a_new_enquiry(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    for level in [Level::Level1EarlyHelp, Level::Level2ChildInNeed] {
        let opened =
            rita.enquiries.create_enquiry(enquiry(level, vec![subject(AMY, Relation::Child)])).await?.into_inner();
        rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?;
    }
    let mut ian = h.system.broker_as("ian-ig").await?;
    let report = ian.log.list_review_signals(pb::ListReviewSignalsRequest::default()).await?.into_inner();
    let again: Vec<_> =
        report.signals.iter().filter(|s| s.kind() == pb::ReviewSignalKind::SamePersonNewEnquiry).collect();
    assert_eq!(again.len(), 1, "{report:?}");
    assert_eq!(again[0].requester, "spiffe://mash.local/user/rita-researcher");
    assert!(again[0].detail.contains("2 different enquiries"), "{}", again[0].detail);
    assert!(!again[0].detail.contains(AMY.family_name), "signals name people by pseudonym only");
    let denied = rita.log.list_review_signals(pb::ListReviewSignalsRequest::default()).await.expect_err("IG only");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    h.stop().await
}
