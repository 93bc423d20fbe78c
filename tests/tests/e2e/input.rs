//! Bad input: a precise INVALID_ARGUMENT naming the field, and nothing stored.

use mash_domain::Agency;
use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, Level, Relation, push_record::Body};
use mash_system::demo::{self, AMY, NOAH};
use tonic::Code;

on_both_backends!(
    bad_enquiries_are_rejected_naming_the_field_and_nothing_is_stored,
    bad_check_requests_are_rejected_naming_the_field,
    a_bulk_push_stores_the_good_rows_and_reports_each_bad_one,
    pushes_are_idempotent_on_record_id_and_version,
    undecodable_requests_are_invalid_argument_and_long_ids_are_not_echoed_whole,
);

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, tonic::Status>, field: &str, problem: &str) {
    let status = result.expect_err("must be rejected");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with(field), "{field}: {}", status.message());
    assert!(status.message().contains(problem), "{problem}: {}", status.message());
}

async fn bad_enquiries_are_rejected_naming_the_field_and_nothing_is_stored(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let with_child = |edit: fn(&mut pb::Person)| {
        let mut person = AMY.to_wire();
        edit(&mut person);
        enquiry(
            Level::Level3ChildProtection,
            vec![pb::EnquirySubject { person: Some(person), relation: Relation::Child.into(), ..Default::default() }],
        )
    };
    let cases: Vec<(pb::CreateEnquiryRequest, &str, &str)> = vec![
        (with_child(|p| p.nhs_number = "9434765918".into()), "subjects[0].person.nhs_number", "check digit"),
        (with_child(|p| p.upn = "A801200001001".into()), "subjects[0].person.upn", "check letter"),
        (with_child(|p| p.date_of_birth = "2999-01-01".into()), "subjects[0].person.date_of_birth", "in the future"),
        (with_child(|p| *p = pb::Person::default()), "subjects[0].person", "empty"),
        (enquiry(Level::Level3ChildProtection, vec![]), "subjects", "1 to 20"),
        (enquiry(Level::Unspecified, vec![subject(AMY, Relation::Child)]), "level", "required"),
        (enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Sibling)]), "subjects", "exactly one"),
        (
            pb::CreateEnquiryRequest {
                purpose: "x".repeat(70_000),
                ..enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)])
            },
            "request",
            "the limit is 65536",
        ),
        (
            pb::CreateEnquiryRequest {
                purpose: "x".repeat(5_000_000),
                ..enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)])
            },
            "request",
            "larger than the server accepts",
        ),
    ];
    for (request, field, problem) in cases {
        assert_invalid(rita.enquiries.create_enquiry(request).await, field, problem);
    }
    assert_eq!(h.count("broker", "enquiries").await?, 0);
    assert_eq!(h.count("broker", "subjects").await?, 0);
    h.stop().await
}

async fn bad_check_requests_are_rejected_naming_the_field(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level2ChildInNeed, vec![subject(NOAH, Relation::Child)]))
        .await?
        .into_inner();
    let mut unknown_agency = checks(&opened.enquiry_id);
    unknown_agency.agencies = vec!["police".into(), "probation".into()];
    assert_invalid(rita.enquiries.request_checks(unknown_agency).await, "agencies[1]", "unknown agency");
    let mut stranger = checks(&opened.enquiry_id);
    stranger.subject_ids = vec!["00000000-0000-4000-8000-000000000000".into()];
    assert_invalid(rita.enquiries.request_checks(stranger).await, "subject_ids[0]", "not a subject");
    assert_invalid(rita.enquiries.request_checks(checks("not-an-id")).await, "enquiry_id", "UUID");
    let missing = rita
        .enquiries
        .request_checks(checks("00000000-0000-4000-8000-000000000000"))
        .await
        .expect_err("no such enquiry");
    assert_eq!(missing.code(), Code::NotFound);
    let mut ian = h.system.broker_as("ian-ig").await?;
    let bad_filter = pb::SearchLogEntriesRequest { agency: "probation".into(), ..Default::default() };
    assert_invalid(ian.log.search_log_entries(bad_filter).await, "agency", "unknown agency");
    assert_eq!(h.count("broker", "disclosure_log").await?, 0, "rejected requests disclose nothing");
    h.stop().await
}

fn with_body(mut row: pb::PushRecord, edit: impl FnOnce(&mut pb::PoliceIncident)) -> pb::PushRecord {
    if let Some(Body::PoliceIncident(incident)) = &mut row.body {
        edit(incident);
    }
    row
}

async fn a_bulk_push_stores_the_good_rows_and_reports_each_bad_one(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let good = demo::records(Agency::POLICE);
    let mut bad_nhs = good[0].clone();
    bad_nhs.record_id = "BAD-1".into();
    if let Some(subject) = &mut bad_nhs.subject {
        subject.nhs_number = "9434765918".into();
    }
    let unknown_category = with_body(pb::PushRecord { record_id: "BAD-2".into(), ..good[1].clone() }, |i| {
        i.category = "police/parking".into()
    });
    let health_row = pb::PushRecord { record_id: "BAD-3".into(), ..demo::records(Agency::HEALTH)[0].clone() };
    let oversized =
        with_body(pb::PushRecord { record_id: "BAD-4".into(), ..good[2].clone() }, |i| i.summary = "x".repeat(70_000));
    let future = with_body(pb::PushRecord { record_id: "BAD-5".into(), ..good[3].clone() }, |i| {
        i.occurred_on = "2999-01-01".into()
    });
    let rows = vec![
        good[0].clone(),
        bad_nhs,
        good[1].clone(),
        unknown_category,
        health_row,
        oversized,
        future,
        good[2].clone(),
    ];

    let mut feed = h.system.feed_ingest_as(Agency::POLICE, "agency-police").await?;
    let summary = feed.push(tokio_stream::iter(rows)).await?.into_inner();
    assert_eq!((summary.received, summary.stored, summary.unchanged), (8, 3, 0));
    let rejected: Vec<(u64, &str, &str)> =
        summary.rejected.iter().map(|r| (r.index, r.record_id.as_str(), r.field.as_str())).collect();
    assert_eq!(
        rejected,
        [
            (1, "BAD-1", "subject.nhs_number"),
            (3, "BAD-2", "police_incident.category"),
            (4, "BAD-3", "body"),
            (5, "BAD-4", "record"),
            (6, "BAD-5", "police_incident.occurred_on"),
        ]
    );
    assert!(summary.rejected[2].reason.contains("accepts police_incident, "), "{}", summary.rejected[2].reason);
    assert_eq!(h.count("feed-police", "records").await?, 3);
    h.stop().await
}

async fn pushes_are_idempotent_on_record_id_and_version(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut feed = h.system.feed_ingest_as(Agency::EDUCATION, "agency-education").await?;
    let rows = demo::records(Agency::EDUCATION);
    let n = rows.len() as u64;
    assert!(n >= 4);
    let first = feed.push(tokio_stream::iter(rows.clone())).await?.into_inner();
    assert_eq!((first.stored, first.unchanged), (n, 0));
    let again = feed.push(tokio_stream::iter(rows.clone())).await?.into_inner();
    assert_eq!((again.stored, again.unchanged), (0, n));
    let newer: Vec<_> = rows.iter().map(|r| pb::PushRecord { version: 2, ..r.clone() }).collect();
    assert_eq!(feed.push(tokio_stream::iter(newer)).await?.into_inner().stored, n);
    let stale = feed.push(tokio_stream::iter(rows)).await?.into_inner();
    assert_eq!(stale.rejected.len() as u64, n);
    assert!(stale.rejected[0].reason.contains("older than the stored version 2"));
    assert_eq!(h.count("feed-education", "records").await?, n as i64);
    assert!(feed.delete(pb::DeleteRequest { record_id: "E-3001".into() }).await?.into_inner().deleted);
    assert!(!feed.delete(pb::DeleteRequest { record_id: "E-3001".into() }).await?.into_inner().deleted);
    assert_eq!(h.count("feed-education", "records").await?, n as i64 - 1);
    h.stop().await
}

/// Protobuf that does not decode as a `GetEnquiryRequest`: its field 1 is a
/// string, sent here as a varint.
#[derive(Clone, PartialEq, prost::Message)]
struct NotAGetEnquiryRequest {
    #[prost(uint64, tag = "1")]
    enquiry_id: u64,
}

async fn undecodable_requests_are_invalid_argument_and_long_ids_are_not_echoed_whole(
    backend: Backend,
) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let tls = h.system.tls_as("rita-researcher")?;
    let broker = mash_domain::Identity::broker();
    let mut grpc = tonic::client::Grpc::new(
        mash_transport::connect(&format!("https://{}", h.system.broker), &tls, &broker).await?,
    );
    grpc.ready().await?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/mash.v1.EnquiryService/GetEnquiry");
    let codec = mash_proto::codec::Codec::<NotAGetEnquiryRequest, pb::Enquiry>::default();
    let status = grpc
        .unary(tonic::Request::new(NotAGetEnquiryRequest { enquiry_id: 7 }), path, codec)
        .await
        .expect_err("does not decode");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with("request"), "{}", status.message());

    let mut gatekeeper = h.system.broker_as("police-gatekeeper").await?;
    let long = "h".repeat(10_000);
    let decide =
        pb::DecideHoldRequest { hold_id: long.clone(), decision: pb::HoldDecision::Release.into(), reason: "r".into() };
    let status = gatekeeper.holds.decide_hold(decide).await.expect_err("no such hold");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().len() < 100, "echoed whole: {} bytes", status.message().len());
    let info = tonic_types::StatusExt::get_details_error_info(&status).expect("ErrorInfo");
    assert_eq!(info.reason, "HOLD_NOT_FOUND");

    let mut rita = h.system.broker_as("rita-researcher").await?;
    let over = pb::CreateEnquiryRequest {
        purpose: "x".repeat(70_000),
        ..enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)])
    };
    let status = rita.enquiries.create_enquiry(over).await.expect_err("over the limit");
    let bad = tonic_types::StatusExt::get_details_bad_request(&status).expect("BadRequest");
    assert_eq!(bad.field_violations[0].field, "request");
    let opened =
        rita.enquiries.create_enquiry(enquiry(Level::Level2ChildInNeed, vec![subject(NOAH, Relation::Child)])).await?;
    let mut check = checks(&opened.into_inner().enquiry_id);
    check.agencies = vec![long];
    let status = rita.enquiries.request_checks(check).await.expect_err("no such agency");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().len() < 200, "echoed whole: {} bytes", status.message().len());
    h.stop().await
}
