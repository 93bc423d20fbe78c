//! Every refusal path of identity and authorisation, each proven to refuse.

use mash_domain::Agency;
use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, Level, Relation};
use mash_system::BrokerClients;
use mash_system::demo::{self, AMY};
use tonic::{
    Code,
    transport::{Certificate, ClientTlsConfig, Endpoint},
};

on_both_backends!(
    a_client_without_a_certificate_is_refused,
    a_client_certificate_from_another_ca_is_refused,
    a_researcher_cannot_search_a_feed_directly,
    an_agency_cannot_push_into_another_agencys_feed,
    a_researcher_cannot_act_on_an_enquiry_assigned_to_someone_else,
    only_information_governance_searches_the_log,
);

fn denied<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> tonic::Status {
    let status = result.expect_err("must be refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    status
}

/// The TLS handshake, not the application, refused the call: the status
/// comes from the client's transport, not from a server handler. (Whether the
/// client sees the server's alert, a broken pipe or a closed connection is a race.)
fn refused_by_transport(status: tonic::Status) {
    assert!(matches!(status.code(), Code::Unknown | Code::Unavailable | Code::Cancelled), "{status:?}");
    let transport = std::error::Error::source(&status).is_some_and(|e| e.is::<tonic::transport::Error>());
    assert!(transport, "{status:?}");
}

async fn a_client_without_a_certificate_is_refused(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let ca = Certificate::from_pem(std::fs::read(&h.system.endpoints.ca)?);
    let tls = ClientTlsConfig::new().ca_certificate(ca).domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://{}", h.system.broker))?.tls_config(tls)?.connect().await;
    // TLS 1.3 rejects the missing certificate after the client's handshake
    // completes, so the refusal surfaces on the first call, if not at connect.
    if let Ok(channel) = channel {
        let call = BrokerClients::new(channel)
            .enquiries
            .create_enquiry(enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)]))
            .await;
        refused_by_transport(call.expect_err("no certificate, no call"));
    }
    assert_eq!(h.count("broker", "enquiries").await?, 0);
    // The control: the same request with a certificate from the MASH CA is served.
    let mut rita = h.system.broker_as("rita-researcher").await?;
    rita.enquiries.create_enquiry(enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)])).await?;
    h.stop().await
}

async fn a_client_certificate_from_another_ca_is_refused(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let other = tempfile::tempdir()?;
    let rogue =
        mash_pki::DevPki::generate(other.path(), "Rogue CA", &mash_pki::demo_principals())?.paths("rita-researcher")?;
    let ca = Certificate::from_pem(std::fs::read(&h.system.endpoints.ca)?);
    let identity = tonic::transport::Identity::from_pem(std::fs::read(&rogue.cert)?, std::fs::read(&rogue.key)?);
    let tls = ClientTlsConfig::new().ca_certificate(ca).identity(identity).domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://{}", h.system.broker))?.tls_config(tls)?.connect().await;
    if let Ok(channel) = channel {
        let call = BrokerClients::new(channel)
            .enquiries
            .create_enquiry(enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)]))
            .await;
        refused_by_transport(call.expect_err("rogue certificate, no call"));
    }
    assert_eq!(h.count("broker", "enquiries").await?, 0);
    h.stop().await
}

async fn a_researcher_cannot_search_a_feed_directly(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let query =
        pb::SearchRequest { subjects: vec![pb::SubjectQuery { subject_ref: "x".into(), person: Some(AMY.to_wire()) }] };
    for principal in ["rita-researcher", "maya-manager", "ian-ig", "agency-police"] {
        let mut feed = h.system.feed_search_as(Agency::POLICE, principal).await?;
        let status = denied(feed.search(query.clone()).await);
        assert!(status.message().contains("feed.search"), "{}", status.message());
    }
    // The broker's own identity is answered.
    let mut as_broker = h.system.feed_search_as(Agency::POLICE, "broker").await?;
    assert_eq!(as_broker.search(query).await?.into_inner().results.len(), 1);
    h.stop().await
}

async fn an_agency_cannot_push_into_another_agencys_feed(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let mut health_feed_as_police = h.system.feed_ingest_as(Agency::HEALTH, "agency-police").await?;
    let rows = demo::records(Agency::HEALTH);
    denied(health_feed_as_police.push(tokio_stream::iter(rows)).await);
    denied(health_feed_as_police.delete(pb::DeleteRequest { record_id: "H-2001".into() }).await);
    let mut as_researcher = h.system.feed_ingest_as(Agency::HEALTH, "rita-researcher").await?;
    denied(as_researcher.push(tokio_stream::iter(demo::records(Agency::HEALTH))).await);
    assert_eq!(h.count("feed-health", "records").await?, 0, "nothing was stored");
    h.stop().await
}

async fn a_researcher_cannot_act_on_an_enquiry_assigned_to_someone_else(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let mut robin = h.system.broker_as("robin-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(AMY, Relation::Child)]))
        .await?
        .into_inner();

    denied(robin.enquiries.request_checks(checks(&opened.enquiry_id)).await);
    denied(robin.enquiries.get_enquiry(pb::GetEnquiryRequest { enquiry_id: opened.enquiry_id.clone() }).await);
    // A researcher may not open an enquiry on someone else's behalf.
    let mut for_robin = enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)]);
    for_robin.assigned_researcher = "spiffe://mash.local/user/robin-researcher".into();
    denied(rita.enquiries.create_enquiry(for_robin.clone()).await);
    // The IG officer holds no MASH role and may not request checks either.
    let mut ian = h.system.broker_as("ian-ig").await?;
    denied(ian.enquiries.request_checks(checks(&opened.enquiry_id)).await);

    // Robin's and Ian's attempts are in the log as refusals, and disclosed nothing.
    let search = pb::SearchLogEntriesRequest { enquiry_id: opened.enquiry_id.clone(), ..Default::default() };
    let entries = ian.log.search_log_entries(search).await?.into_inner().entries;
    let refused: Vec<_> = entries.iter().map(|e| (e.requester.as_str(), e.outcome())).collect();
    assert_eq!(
        refused,
        [
            ("spiffe://mash.local/user/robin-researcher", pb::Outcome::Refused),
            ("spiffe://mash.local/user/robin-researcher", pb::Outcome::Refused),
            ("spiffe://mash.local/user/ian-ig", pb::Outcome::Refused),
            ("spiffe://mash.local/user/ian-ig", pb::Outcome::LogSearched),
        ]
    );
    // A manager may act on any enquiry, and may assign it.
    let mut maya = h.system.broker_as("maya-manager").await?;
    assert!(!maya.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner().agencies.is_empty());
    assert_eq!(
        maya.enquiries.create_enquiry(for_robin).await?.into_inner().assigned_researcher,
        "spiffe://mash.local/user/robin-researcher"
    );
    h.stop().await
}

async fn only_information_governance_searches_the_log(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    for principal in ["rita-researcher", "maya-manager", "broker"] {
        let mut client = h.system.broker_as(principal).await?;
        denied(client.log.search_log_entries(pb::SearchLogEntriesRequest::default()).await);
    }
    let mut ian = h.system.broker_as("ian-ig").await?;
    let refused = pb::SearchLogEntriesRequest { outcome: pb::Outcome::Refused.into(), ..Default::default() };
    let entries = ian.log.search_log_entries(refused).await?.into_inner().entries;
    assert_eq!(entries.len(), 3, "each refused search is logged as a refusal");
    assert!(entries.iter().all(|e| e.reason == "permission denied: log.search"));
    h.stop().await
}
