//! Restricted items held for the owning agency's gatekeeper: release,
//! withhold, break-glass, alerts, and every refusal on the way.

use mash_e2e::{
    Backend, Harness,
    fixtures::{about, agency, checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, HoldDecision, HoldState, Level, Relation};
use mash_system::demo::{self, AMY, CONNOR, ELLA, JADE, NOAH};
use tonic::Code;

on_both_backends!(
    a_gatekeeper_releases_a_held_item_and_the_release_is_logged_first,
    a_withheld_item_is_never_shown_and_the_refusal_is_logged,
    break_glass_needs_a_manager_a_reason_and_level_3_and_alerts_the_owning_agency,
    checking_again_finds_the_same_hold,
    conditional_intelligence_and_a_refuge_address_are_held_for_the_police_gatekeeper,
);

/// Amy's household at `level`; Jade's sexual-health contact is held.
async fn held(h: &Harness, level: Level) -> anyhow::Result<(pb::Enquiry, String)> {
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let household = vec![
        subject(AMY, Relation::Child),
        subject(JADE, Relation::ParentOrCarer),
        subject(CONNOR, Relation::OtherAdult),
    ];
    let opened = rita.enquiries.create_enquiry(enquiry(level, household)).await?.into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    let jade = about(agency(&results, "health"), &opened.subjects[1].subject_id).expect("health know Jade");
    assert_eq!(jade.hold_ids.len(), 1, "one restricted item held");
    assert!(jade.items.iter().all(|i| i.category != "health/sexual-health"));
    Ok((opened, jade.hold_ids[0].clone()))
}

fn decide(hold_id: &str, decision: HoldDecision, reason: &str) -> pb::DecideHoldRequest {
    pb::DecideHoldRequest { hold_id: hold_id.into(), decision: decision.into(), reason: reason.into() }
}

async fn holds_of(h: &Harness, who: &str, enquiry_id: &str) -> anyhow::Result<Vec<pb::Hold>> {
    let mut client = h.system.broker_as(who).await?;
    let request = pb::ListHoldsRequest { enquiry_id: enquiry_id.into(), state: HoldState::Unspecified.into() };
    Ok(client.holds.list_holds(request).await?.into_inner().holds)
}

async fn log_about(h: &Harness, enquiry_id: &str, category: &str) -> anyhow::Result<Vec<pb::LogEntry>> {
    let mut ian = h.system.broker_as("ian-ig").await?;
    let search = pb::SearchLogEntriesRequest { enquiry_id: enquiry_id.into(), page_size: 1000, ..Default::default() };
    let entries = ian.log.search_log_entries(search).await?.into_inner().entries;
    Ok(entries.into_iter().filter(|e| e.category == category).collect())
}

async fn a_gatekeeper_releases_a_held_item_and_the_release_is_logged_first(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, hold_id) = held(&h, Level::Level3ChildProtection).await?;

    // The researcher sees that something is held, not what kind of thing.
    let seen = holds_of(&h, "rita-researcher", &enquiry.enquiry_id).await?;
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].state(), seen[0].category.as_str(), seen[0].item.is_none()), (HoldState::Held, "", true));
    // The owning agency's gatekeeper sees what it is, and the enquiry's context.
    let queue = holds_of(&h, "health-gatekeeper", "").await?;
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0].category.as_str(), queue[0].level()), ("health/sexual-health", Level::Level3ChildProtection));
    assert_eq!(queue[0].relation(), Relation::ParentOrCarer);
    assert!(holds_of(&h, "police-gatekeeper", "").await?.is_empty(), "another agency's queue is its own");

    let mut police = h.system.broker_as("police-gatekeeper").await?;
    let refused =
        police.holds.decide_hold(decide(&hold_id, HoldDecision::Release, "ok")).await.expect_err("not theirs");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let refused =
        rita.holds.decide_hold(decide(&hold_id, HoldDecision::Release, "ok")).await.expect_err("not a gatekeeper");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let mut health = h.system.broker_as("health-gatekeeper").await?;
    let invalid = health.holds.decide_hold(decide(&hold_id, HoldDecision::Release, "  ")).await.expect_err("no reason");
    assert_eq!((invalid.code(), invalid.message().contains("reason")), (Code::InvalidArgument, true), "{invalid:?}");
    let invalid =
        health.holds.decide_hold(decide(&hold_id, HoldDecision::Unspecified, "x")).await.expect_err("no decision");
    assert_eq!(invalid.code(), Code::InvalidArgument, "{invalid:?}");
    let missing = health.holds.decide_hold(decide("hold-nope", HoldDecision::Release, "x")).await.expect_err("no hold");
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    assert_eq!(holds_of(&h, "rita-researcher", &enquiry.enquiry_id).await?[0].state(), HoldState::Held);

    let reason = "Relevant to the strategy discussion; risk outweighs confidentiality";
    let released = health.holds.decide_hold(decide(&hold_id, HoldDecision::Release, reason)).await?.into_inner();
    assert_eq!(
        (released.state(), released.decided_by.as_str()),
        (HoldState::Released, "spiffe://mash.local/agency/health/gatekeeper")
    );
    let again = health
        .holds
        .decide_hold(decide(&hold_id, HoldDecision::Withhold, "changed my mind"))
        .await
        .expect_err("decided");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");

    // Now the enquiry reads the whole item, and the log says who released it and why.
    let seen = holds_of(&h, "rita-researcher", &enquiry.enquiry_id).await?;
    let item = seen[0].item.as_ref().expect("released item");
    assert_eq!((item.category.as_str(), seen[0].reason.as_str()), ("health/sexual-health", reason));
    let entries = log_about(&h, &enquiry.enquiry_id, "health/sexual-health").await?;
    let outcomes: Vec<_> = entries.iter().map(|e| e.outcome()).collect();
    assert_eq!(outcomes, [pb::Outcome::Refused, pb::Outcome::Disclosed], "held at the check, released later");
    assert!(entries[0].reason.contains(&hold_id), "{}", entries[0].reason);
    let release = &entries[1];
    assert!(release.reason.contains("released by the agency gatekeeper"), "{}", release.reason);
    assert!(!release.reason.contains(reason), "the log holds the reason's digest, not its text");
    assert_eq!(release.requester_agency, "health");
    assert_eq!(release.recipient, "spiffe://mash.local/user/rita-researcher");
    assert!(!release.content_digest.is_empty());
    assert!(h.system.broker_log.verify().await?.is_ok());
    h.stop().await
}

async fn a_withheld_item_is_never_shown_and_the_refusal_is_logged(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, hold_id) = held(&h, Level::Level3ChildProtection).await?;
    let mut health = h.system.broker_as("health-gatekeeper").await?;
    health.holds.decide_hold(decide(&hold_id, HoldDecision::Withhold, "Not relevant to the concern")).await?;
    let seen = holds_of(&h, "rita-researcher", &enquiry.enquiry_id).await?;
    assert_eq!((seen[0].state(), seen[0].item.is_none(), seen[0].category.as_str()), (HoldState::Withheld, true, ""));
    let entries = log_about(&h, &enquiry.enquiry_id, "health/sexual-health").await?;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.outcome() == pb::Outcome::Refused && e.content_digest.is_empty()));
    assert!(entries[1].reason.contains("withheld by the agency gatekeeper"), "{}", entries[1].reason);
    h.stop().await
}

async fn break_glass_needs_a_manager_a_reason_and_level_3_and_alerts_the_owning_agency(
    backend: Backend,
) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (first, hold_id) = held(&h, Level::Level3ChildProtection).await?;
    let glass = |reason: &str| pb::BreakGlassRequest { hold_id: hold_id.clone(), reason: reason.into() };

    let mut rita = h.system.broker_as("rita-researcher").await?;
    let refused = rita.holds.break_glass(glass("urgent")).await.expect_err("researchers cannot");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let mut maya = h.system.broker_as("maya-manager").await?;
    let invalid = maya.holds.break_glass(glass("")).await.expect_err("a reason is required");
    assert_eq!(invalid.code(), Code::InvalidArgument, "{invalid:?}");
    let mut police = h.system.broker_as("police-gatekeeper").await?;
    assert!(police.holds.list_alerts(pb::ListAlertsRequest {}).await?.into_inner().alerts.is_empty());

    let reason = "Child at immediate risk tonight; gatekeeper unreachable out of hours";
    let released = maya.holds.break_glass(glass(reason)).await?.into_inner();
    assert_eq!((released.state(), released.break_glass), (HoldState::Released, true));
    assert!(released.item.is_some());
    let again = maya.holds.break_glass(glass(reason)).await.expect_err("already released");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");

    // The owning agency is told; no other agency is, and researchers cannot read alerts.
    let mut health = h.system.broker_as("health-gatekeeper").await?;
    let alerts = health.holds.list_alerts(pb::ListAlertsRequest {}).await?.into_inner().alerts;
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].kind(), alerts[0].hold_id.as_str()), (pb::AlertKind::BreakGlass, hold_id.as_str()));
    assert_eq!(
        (alerts[0].raised_by.as_str(), alerts[0].reason.as_str()),
        ("spiffe://mash.local/user/maya-manager", reason)
    );
    assert_eq!(alerts[0].enquiry_id, first.enquiry_id);
    assert!(police.holds.list_alerts(pb::ListAlertsRequest {}).await?.into_inner().alerts.is_empty());
    // The health system's queue carries the same alert, delivered until acknowledged.
    let mut health_system = h.system.broker_as("agency-health").await?;
    let queued = health_system.queue.poll_messages(pb::PollMessagesRequest::default()).await?.into_inner().messages;
    let glass_alerts: Vec<_> = queued
        .iter()
        .filter_map(|m| match &m.body {
            Some(pb::agency_message::Body::BreakGlassAlert(a)) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(glass_alerts.len(), 1);
    assert_eq!((glass_alerts[0].hold_id.as_str(), glass_alerts[0].reason.as_str()), (hold_id.as_str(), reason));
    assert_eq!(glass_alerts[0].category, "health/sexual-health");
    let mut police_system = h.system.broker_as("agency-police").await?;
    let police_queue =
        police_system.queue.poll_messages(pb::PollMessagesRequest::default()).await?.into_inner().messages;
    assert!(police_queue.iter().all(|m| !matches!(m.body, Some(pb::agency_message::Body::BreakGlassAlert(_)))));
    let refused = rita.holds.list_alerts(pb::ListAlertsRequest {}).await.expect_err("not an agency");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let entries = log_about(&h, &first.enquiry_id, "health/sexual-health").await?;
    assert!(entries[1].reason.contains("break-glass by a manager"), "{}", entries[1].reason);
    assert_eq!(entries[1].requester, "spiffe://mash.local/user/maya-manager");

    // Below level 3 there is no glass to break.
    let household = vec![subject(AMY, Relation::Child), subject(JADE, Relation::ParentOrCarer)];
    let opened = rita.enquiries.create_enquiry(enquiry(Level::Level2ChildInNeed, household)).await?.into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    let jade = about(agency(&results, "health"), &opened.subjects[1].subject_id).expect("known");
    let level_2_hold = jade.hold_ids[0].clone();
    let refused = maya.holds.break_glass(pb::BreakGlassRequest { hold_id: level_2_hold, reason: reason.into() }).await;
    let refused = refused.expect_err("level 2");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("level 3"), "{refused:?}");
    h.stop().await
}

async fn checking_again_finds_the_same_hold(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, hold_id) = held(&h, Level::Level2ChildInNeed).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let results = rita.enquiries.request_checks(checks(&enquiry.enquiry_id)).await?.into_inner();
    let jade = about(agency(&results, "health"), &enquiry.subjects[1].subject_id).expect("known");
    assert_eq!(jade.hold_ids, [hold_id]);
    assert_eq!(holds_of(&h, "rita-researcher", &enquiry.enquiry_id).await?.len(), 1);
    // Another researcher's enquiry is not theirs to read.
    let refused = holds_of(&h, "robin-researcher", &enquiry.enquiry_id).await.expect_err("not assigned");
    let status = refused.downcast_ref::<tonic::Status>().expect("a status");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    h.stop().await
}

async fn conditional_intelligence_and_a_refuge_address_are_held_for_the_police_gatekeeper(
    backend: Backend,
) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    for (child, shown) in [(NOAH, vec!["police/intelligence", "police/missing-episode"]), (ELLA, vec![])] {
        let opened = rita
            .enquiries
            .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(child, Relation::Child)]))
            .await?;
        let opened = opened.into_inner();
        let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
        let police = about(agency(&results, "police"), &opened.subjects[0].subject_id).expect("police know them");
        let mut categories: Vec<&str> = police.items.iter().map(|i| i.category.as_str()).collect();
        categories.sort();
        assert_eq!(categories, shown, "handling code P intelligence is shared; C is not");
        assert_eq!(police.hold_ids.len(), 1, "one item held");
        assert!(police.existence_notice.contains("held for police review"), "{}", police.existence_notice);
    }
    let queue = holds_of(&h, "police-gatekeeper", "").await?;
    let mut held: Vec<&str> = queue.iter().map(|hold| hold.category.as_str()).collect();
    held.sort();
    assert_eq!(held, ["police/intelligence", "police/refuge-address"]);
    h.stop().await
}
