//! A feed scaled out: a second replica of the health feed, on the same
//! database with the same key ring, answers the broker's searches while the
//! first takes a bulk push of more than one write batch, and finds what the
//! first stored. The feeds keep nothing in memory between calls, so a
//! nightly extract never holds up a check.

use std::sync::Arc;

use mash_domain::Agency;
use mash_e2e::synthetic;
use mash_e2e::{Backend, Harness, on_both_backends};
use mash_proto::v1::{self as pb, feed_search_client::FeedSearchClient};
use mash_synth::Settings;
use mash_system::demo::{self, AMY};
use tokio::sync::oneshot;

on_both_backends!(a_second_feed_replica_searches_while_the_first_ingests);

/// More than one of the feed's write batches (20,000 rows), so that the
/// push commits while it is still streaming.
const RECORDS: usize = 21_000;

async fn a_second_feed_replica_searches_while_the_first_ingests(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let settings = h.system.feed_settings.iter().find(|(a, _)| *a == Agency::HEALTH).expect("health").1.clone();
    let settings = mash_feed::FeedSettings { listen: "127.0.0.1:0".parse()?, push_listen: None, ..settings };
    let replica = mash_feed::build(Arc::new(mash_feed_health::Adapter), settings, async move {
        let _ = stopped.await;
    })
    .await?;
    let serving = tokio::spawn(replica.serve);
    let channel = mash_transport::connect(
        &format!("https://{}", replica.local_addr),
        &h.system.tls_as("broker")?,
        &mash_domain::Identity::feed(Agency::HEALTH),
    )
    .await?;
    let mut replica_search = FeedSearchClient::new(channel);

    let records = health_records(RECORDS)?;
    let last = records.last().and_then(|r| r.subject.clone()).expect("a subject");
    let mut pusher = h.system.feed_ingest_as(Agency::HEALTH, "agency-health").await?;
    let push = tokio::spawn(async move { pusher.push(tokio_stream::iter(records)).await });
    let mut answered_during_push = 0;
    while !push.is_finished() {
        let found = replica_search.search(search(AMY.to_wire())).await?.into_inner();
        assert!(!found.results[0].items.is_empty(), "the replica finds Amy's health record");
        answered_during_push += 1;
    }
    let summary = push.await??.into_inner();
    assert_eq!((summary.stored, summary.rejected.len()), (RECORDS as u64, 0));
    assert!(answered_during_push >= 3, "searches waited for the push: {answered_during_push} answered during it");

    let found = replica_search.search(search(last)).await?.into_inner();
    assert!(!found.results[0].items.is_empty(), "the replica finds a record the other replica stored");
    let _ = stop.send(());
    serving.await??;
    h.stop().await
}

fn search(person: pb::Person) -> pb::SearchRequest {
    pb::SearchRequest { subjects: vec![pb::SubjectQuery { subject_ref: "s".into(), person: Some(person) }] }
}

/// The first `n` of health's records of a synthetic population, as pushes.
fn health_records(n: usize) -> anyhow::Result<Vec<pb::PushRecord>> {
    let settings = Settings::new(7, 30_000);
    let records: Vec<pb::PushRecord> =
        mash_synth::records(&settings, Agency::HEALTH)?.take(n).map(|r| synthetic::push_record(&r)).collect();
    anyhow::ensure!(records.len() == n, "only {} health records", records.len());
    Ok(records)
}
