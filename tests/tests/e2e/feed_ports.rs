//! A feed deployed with a push port of its own: the search port serves only
//! `FeedSearch`, the push port only `FeedIngest`, so that a NetworkPolicy per
//! port separates the broker's calls from the agency's.

use anyhow::Context;
use mash_domain::Agency;
use mash_e2e::{
    Backend, Harness,
    fixtures::{agency, checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{
    self as pb, AgencyStatus, Level, Relation, feed_ingest_client::FeedIngestClient,
    feed_search_client::FeedSearchClient,
};
use mash_system::demo::{self, AMY};
use tonic::Code;

on_both_backends!(with_a_push_port_each_port_serves_only_its_own_service);

async fn with_a_push_port_each_port_serves_only_its_own_service(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start_with(backend, |c| c.split_feed_ports = true).await?;
    // The demo data goes in through the push ports.
    assert!(demo::load(&h.system).await? > 0);
    let search_port = h.system.feeds.iter().find(|(a, _)| *a == Agency::POLICE).map(|(_, addr)| *addr);
    let push_port = h.system.feed_push.iter().find(|(a, _)| *a == Agency::POLICE).map(|(_, addr)| *addr);
    assert_ne!(search_port, push_port, "two ports");

    let record = demo::records(Agency::POLICE).remove(0);
    let connect = |addr: Option<std::net::SocketAddr>, principal: &'static str| {
        let tls = h.system.tls_as(principal);
        async move {
            let server = mash_domain::Identity::feed(Agency::POLICE);
            anyhow::Ok(mash_transport::connect(&format!("https://{}", addr.context("no port")?), &tls?, &server).await?)
        }
    };
    let mut police_on_search_port = FeedIngestClient::new(connect(search_port, "agency-police").await?);
    let refused = police_on_search_port.push(tokio_stream::iter(vec![record])).await.expect_err("push port only");
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");
    let delete = pb::DeleteRequest { record_id: "P-1001".into() };
    let refused = police_on_search_port.delete(delete).await.expect_err("push port only");
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");

    let mut broker_on_push_port = FeedSearchClient::new(connect(push_port, "broker").await?);
    let search =
        pb::SearchRequest { subjects: vec![pb::SubjectQuery { subject_ref: "s".into(), person: Some(AMY.to_wire()) }] };
    let refused = broker_on_push_port.search(search).await.expect_err("search port only");
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");

    // The broker's checks go through the search ports as before.
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(AMY, Relation::Child)]))
        .await?
        .into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    assert_eq!(agency(&results, "police").status(), AgencyStatus::Found);
    h.stop().await
}
