//! The Prometheus metrics a platform team scrapes: present after a real
//! check, over a real HTTP scrape, and free of anything about a person.

use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{Level, Relation};
use mash_system::demo::{self, AMY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(a_scrape_after_a_check_counts_it_and_names_no_one);

async fn scrape() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mash_telemetry::metrics::serve(listener, async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let _ = stop.send(());
    server.await??;
    Ok(response)
}

async fn a_scrape_after_a_check_counts_it_and_names_no_one(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(AMY, Relation::Child)]))
        .await?
        .into_inner();
    rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?;

    let response = scrape().await?;
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    for expected in [
        r#"mash_grpc_requests_total{service="mash.v1.EnquiryService",method="RequestChecks",code="Ok"}"#,
        r#"mash_check_agency_results_total{agency="police",status="found"}"#,
        "mash_log_commit_duration_seconds_bucket",
        "mash_log_head_seq",
        "mash_policy_info{version=\"sha256:",
        r#"mash_grpc_requests_total{service="mash.v1.FeedSearch",method="Search",code="Ok"}"#,
        r#"mash_feed_push_records_total{agency="police",result="stored"}"#,
        r#"mash_check_phase_duration_seconds_count{phase="prepare"}"#,
        r#"mash_check_phase_duration_seconds_count{phase="fan_out"}"#,
        r#"mash_check_phase_duration_seconds_count{phase="decide"}"#,
        r#"mash_check_phase_duration_seconds_count{phase="log"}"#,
    ] {
        assert!(response.contains(expected), "{expected} missing from\n{response}");
    }
    let person = AMY.to_wire();
    for secret in
        [opened.enquiry_id.as_str(), &person.given_name, &person.family_name, &person.nhs_number, &person.date_of_birth]
    {
        assert!(!response.contains(secret), "the scrape holds {secret:?}");
    }
    h.stop().await
}
