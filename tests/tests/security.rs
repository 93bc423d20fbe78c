//! The attacks of the security review (issue 22) that need the whole system,
//! one test each, on SQLite and on PostgreSQL where storage is involved.
//! Attacks that a crate can show alone are tested there:
//! - servers identified beyond the CA, revocation, stalled handshakes:
//!   `crates/transport/tests/mtls.rs`;
//! - scopes and agencies in separate namespaces: `crates/policy/tests/policy_table.rs`;
//! - report periods at the edge of the calendar: `crates/frontdoor/src/report/tests.rs`;
//! - feed records sealed with their classification, re-push conflicts:
//!   `crates/feed/src/store.rs`; control characters: `crates/domain/src/text.rs`.

use mash_domain::Agency;
use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, AgencyStatus, Level, Relation, push_record::Body};
use mash_system::demo::{self, ELLA};
use tonic::Code;

on_both_backends!(
    a_report_to_the_end_of_time_is_refused_naming_the_field_not_a_panic,
    a_restricted_record_made_routine_in_the_feed_database_is_refused_not_disclosed,
    a_changed_re_push_is_a_conflict_and_a_nul_record_id_a_field_error,
    a_hold_released_or_a_relation_changed_in_the_broker_database_is_refused,
);

/// F10: `to=9999-12-31` used to panic the connection's task in date
/// arithmetic; a period of centuries built a table of half a million weeks.
async fn a_report_to_the_end_of_time_is_refused_naming_the_field_not_a_panic(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut maya = h.system.broker_as("maya-manager").await?;
    for (from, to) in [("2026-01-01", "9999-12-31"), ("0001-01-01", "9999-12-30")] {
        let request = pb::GetReportRequest { from: from.into(), to: to.into(), as_of: String::new() };
        let status = maya.frontdoor.get_report(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{from}..{to}: {status:?}");
        assert!(status.message().starts_with("to"), "{from}..{to}: {status:?}");
    }
    // The connection survived: a sensible period is served on it.
    let request = pb::GetReportRequest { from: "2026-01-01".into(), to: "2026-03-31".into(), as_of: String::new() };
    maya.frontdoor.get_report(request).await?;
    h.stop().await
}

/// F12: the feed's classification columns sat beside the sealed contents,
/// unauthenticated, so a database write could make Ella's refuge address
/// (restricted: always held for the gatekeeper) a routine missing-person
/// episode that a level 3 check discloses in full. Now the row no longer
/// opens: the police answer is unavailable, and nothing is disclosed.
async fn a_restricted_record_made_routine_in_the_feed_database_is_refused_not_disclosed(
    backend: Backend,
) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let feed = h.database("feed-police").await?;
    let changed = sqlx::query(
        "UPDATE records SET category = 'police/missing-episode', kind = 'event', sensitivity = 'standard' \
         WHERE record_id = 'P-1008'",
    )
    .execute(&feed)
    .await?;
    assert_eq!(changed.rows_affected(), 1, "the demo's refuge address is P-1008");
    feed.close().await;

    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(ELLA, Relation::Child)]))
        .await?;
    let results = rita.enquiries.request_checks(checks(&opened.into_inner().enquiry_id)).await?.into_inner();
    let police = results.agencies.iter().find(|a| a.agency == "police").expect("a police result");
    assert_eq!(police.status(), AgencyStatus::Unavailable, "{police:?}");
    let shown = format!("{results:?}");
    assert!(!shown.contains("Safe Place") && !shown.contains("police/missing-episode"), "{shown}");
    h.stop().await
}

/// Issue 22 item 13: a version pushed again with other contents was counted
/// "unchanged"; a NUL in a record id failed the whole extract on PostgreSQL.
/// Each is now that row's own rejection, naming the field, and the rest of
/// the extract is stored.
async fn a_changed_re_push_is_a_conflict_and_a_nul_record_id_a_field_error(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let records = demo::records(Agency::POLICE);
    let stored = records.iter().find(|r| r.record_id == "P-1008").expect("the refuge marker").clone();
    let mut changed = stored.clone();
    if let Some(Body::PoliceMarker(marker)) = changed.body.as_mut() {
        marker.details = "Refuge, 2 Other Place, Example Town".into();
    }
    let mut nul = stored.clone();
    nul.record_id = "P-\u{0}1".into();
    let mut escape = stored.clone();
    escape.record_id = "P-\u{1b}[2J".into();
    let mut fresh = stored.clone();
    fresh.record_id = "P-9999".into();

    let mut police = h.system.feed_ingest_as(Agency::POLICE, "agency-police").await?;
    let summary = police.push(tokio_stream::iter(vec![stored, changed, nul, escape, fresh])).await?.into_inner();
    let rejected: Vec<(u64, &str)> = summary.rejected.iter().map(|r| (r.index, r.field.as_str())).collect();
    assert_eq!(rejected, [(1, "version"), (2, "record_id"), (3, "record_id")], "{summary:?}");
    assert_eq!((summary.unchanged, summary.stored), (1, 1), "{summary:?}");
    h.stop().await
}

/// F12, broker side: a hold's state and a subject's relation sat beside the
/// sealed data, unauthenticated, so a database write could release Ella's
/// refuge address to the researcher without a gatekeeper, or change whom
/// the policy thinks a subject is. Now such a row no longer opens.
async fn a_hold_released_or_a_relation_changed_in_the_broker_database_is_refused(
    backend: Backend,
) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(ELLA, Relation::Child)]))
        .await?;
    let enquiry_id = opened.into_inner().enquiry_id;
    rita.enquiries.request_checks(checks(&enquiry_id)).await?;
    let list = pb::ListHoldsRequest { enquiry_id: enquiry_id.clone(), state: pb::HoldState::Unspecified.into() };
    assert_eq!(rita.holds.list_holds(list.clone()).await?.into_inner().holds.len(), 1, "the refuge address is held");

    let broker = h.database("broker").await?;
    sqlx::query("UPDATE held_items SET state = 'released'").execute(&broker).await?;
    let listed = rita.holds.list_holds(list).await;
    assert!(!format!("{listed:?}").contains("Safe Place"), "released by a database write: {listed:?}");
    assert_eq!(listed.map_err(|status| status.code()).err(), Some(Code::Unavailable));

    sqlx::query("UPDATE subjects SET relation = 'sibling'").execute(&broker).await?;
    broker.close().await;
    // A broker remembers the enquiries it has read: a fresh one reads the row.
    let h = h.restart().await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let checked = rita.enquiries.request_checks(checks(&enquiry_id)).await;
    assert_eq!(checked.map_err(|status| status.code()).err(), Some(Code::Unavailable));
    h.stop().await
}
