//! No personal data in logs, traces or at rest.
//!
//! Its own test binary, because it captures every tracing event and span of
//! the process at TRACE level.

use mash_domain::Agency;
use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry},
};
use mash_proto::v1::{self as pb, Level, Relation, SubjectRole, push_record::Body};
use mash_system::demo::nhs_number;

const GIVEN: &str = "Zebedee";
const FAMILY: &str = "Quixotefield";
const BIRTHDAY: &str = "2013-02-27";
const NARRATIVE: &str = "Xylophonic disturbance reported";

fn planted_person() -> pb::Person {
    pb::Person {
        given_name: GIVEN.into(),
        family_name: FAMILY.into(),
        date_of_birth: BIRTHDAY.into(),
        nhs_number: nhs_number(987_654_321),
        upn: String::new(),
        postcode: "ZZ9 9ZZ".into(),
        sex: "F".into(),
        previous_family_names: vec!["Quillfeatherstone".into()],
    }
}

fn planted_record() -> pb::PushRecord {
    pb::PushRecord {
        record_id: "P-PLANTED".into(),
        version: 1,
        subject: Some(planted_person()),
        body: Some(Body::PoliceIncident(pb::PoliceIncident {
            incident_ref: "WYP-PLANTED".into(),
            category: "police/domestic-abuse".into(),
            role: SubjectRole::Victim.into(),
            occurred_on: "2026-10-01".into(),
            summary: NARRATIVE.into(),
            location: "Planted Refuge Address".into(),
            officer_in_case: "PC 1".into(),
            risk: pb::DashRisk::High.into(),
        })),
    }
}

fn secrets() -> Vec<String> {
    let nhs = nhs_number(987_654_321);
    vec![
        GIVEN.into(),
        FAMILY.into(),
        BIRTHDAY.into(),
        nhs,
        NARRATIVE.into(),
        "Planted Refuge".into(),
        "ZZ9".into(),
        "Quillfeatherstone".into(),
    ]
}

/// Every feed.search span of the check carries the trace id of a broker.call
/// span: W3C trace context crossed the hop in gRPC metadata.
fn assert_trace_context_crosses_broker_to_feeds(output: &str) {
    let trace_ids = |span: &str| -> std::collections::HashSet<String> {
        output
            .lines()
            .filter(|line| line.contains(span))
            .filter_map(|line| line.split("trace_id=").nth(1))
            .filter_map(|rest| rest.trim_start_matches('"').split(|c: char| !c.is_ascii_hexdigit()).next())
            .filter(|id| id.len() == 32)
            .map(str::to_owned)
            .collect()
    };
    // Each server's call span is `grpc.call`, named by its service; a feed's
    // search span sits inside its call span.
    let (broker, feeds) = (trace_ids("grpc.call{rpc.service=mash.v1.EnquiryService"), trace_ids("feed.search{"));
    assert!(!feeds.is_empty(), "feed spans carry trace ids");
    assert!(feeds.is_subset(&broker), "feed traces {feeds:?} continue broker traces {broker:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_check_leaves_no_personal_data_in_logs_traces_or_files() -> anyhow::Result<()> {
    let captured = mash_telemetry::capture_for_tests();
    let h = Harness::start(Backend::Sqlite).await?;
    let mut feed = h.system.feed_ingest_as(Agency::POLICE, "agency-police").await?;
    let summary = feed.push(tokio_stream::iter(vec![planted_record()])).await?.into_inner();
    assert_eq!(summary.stored, 1);

    let mut rita = h.system.broker_as("rita-researcher").await?;
    let child =
        pb::EnquirySubject { person: Some(planted_person()), relation: Relation::Child.into(), ..Default::default() };
    let opened = rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, vec![child])).await?.into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    // The control: the planted narrative was found and disclosed to the researcher.
    assert!(format!("{results:?}").contains(NARRATIVE));
    // A refusal and an invalid request are logged too; neither may echo data.
    let mut bad = enquiry(Level::Level3ChildProtection, vec![]);
    bad.purpose = format!("About {GIVEN} {FAMILY}");
    assert!(rita.enquiries.create_enquiry(bad).await.is_err());

    let output = captured.contents();
    assert!(output.contains("grpc.call") && output.contains("feed.search"), "spans were captured");
    assert_trace_context_crosses_broker_to_feeds(&output);
    for secret in secrets() {
        assert!(!output.contains(&secret), "{secret:?} reached the tracing output");
    }
    // Encryption at rest: no SQLite file of the system holds the data in clear.
    for (service, url) in &h.system.database_urls {
        let path = url.trim_start_matches("sqlite://").trim_end_matches("?mode=rwc");
        let mut bytes = std::fs::read(path)?;
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        for secret in secrets() {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret:?} stored in clear by {service}"
            );
        }
    }
    h.stop().await
}
