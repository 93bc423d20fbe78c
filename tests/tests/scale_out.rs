//! Scale-out (issue 7): two broker processes on one PostgreSQL database serve one MASH.
//!
//! The four feeds run in this process; the two brokers are separate processes
//! (`broker-process`, which is `mash-broker`), each with its own certificate from the test's
//! development PKI and its own port, sharing the database, the key ring, the signing key and the
//! policy. Concurrent checks go through both over mTLS with the generated client. Then:
//!
//! - the disclosure log is one chain that verifies (offline from the database, and by
//!   `DisclosureLogService/VerifyLog` on each replica), with sequence numbers exactly 1..=N;
//! - no entry is lost or duplicated: N is exactly what the calls made must have logged, per
//!   enquiry, and each replica's proofs hold against the other's checkpoints;
//! - enquiry state stays consistent: concurrent checks (first checks raced too) move each
//!   enquiry to checks requested exactly once, and the same move raced through both replicas
//!   (information gathered, decision, close, and a hold's decision) is won by exactly one; the
//!   other gets FAILED_PRECONDITION.

#[path = "../src/bin/replica-bench.rs"]
#[allow(dead_code)]
mod replica_bench;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use mash_e2e::fixtures::checks;
use mash_proto::v1::{self as pb, AgencyStatus, DecisionOutcome, EnquiryState, HoldDecision, HoldState, Level};
use replica_bench::cluster::{BrokerCommand, Cluster, ClusterConfig, household};
use sqlx::Row;
use tonic::Code;

/// Enquiries the load is spread over (a third each of the three demo households).
const ENQUIRIES: usize = 12;
/// Checks in the concurrent phase, and calls in flight at each replica.
const CHECKS: u64 = 320;
const IN_FLIGHT_PER_REPLICA: usize = 16;
/// Fresh enquiries whose very first check is raced through both replicas.
const FRESH: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_broker_processes_extend_one_log_and_keep_enquiry_state_consistent() -> anyhow::Result<()> {
    let started = Instant::now();
    let broker = BrokerCommand { program: env!("CARGO_BIN_EXE_broker-process").into(), env: vec![] };
    let mut config = ClusterConfig::new(mash_e2e::postgres_url(), 2, broker);
    // Both replicas sign checkpoints while the load runs, each over its own tree.
    config.checkpoint_every_entries = 250;
    config.checkpoint_every_seconds = 1;
    let cluster = Cluster::start(config).await?;
    let (a, b) = (&cluster.replicas[0], &cluster.replicas[1]);
    assert_ne!((a.pid(), a.addr), (b.pid(), b.addr), "two processes, two ports");
    eprintln!("started in {:?}", started.elapsed());

    // Each enquiry's first check, one at a time: what one check of it logs.
    let enquiries = cluster.open_and_check_once(ENQUIRIES).await?;
    let per_check = entries_by_enquiry(&cluster).await?;
    for id in &enquiries {
        assert!(per_check.get(id).is_some_and(|n| *n > 0), "a check logs at least one entry");
    }
    let per_household: Vec<i64> = (0..3).map(|h| per_check[&enquiries[h]]).collect();

    let fresh = race_first_checks(&cluster, &per_household).await?;
    let served = concurrent_checks(&cluster, &enquiries).await?;
    eprintln!("checks served: {} by {}, {} by {}", served.by_replica[0], a.name, served.by_replica[1], b.name);
    assert!(served.by_replica.iter().all(|n| *n > 0), "both replicas served checks: {:?}", served.by_replica);
    assert_eq!(served.by_replica.iter().sum::<u64>(), CHECKS);

    // Exactly what the checks must have logged, enquiry by enquiry.
    let logged = entries_by_enquiry(&cluster).await?;
    assert_eq!(logged.len(), ENQUIRIES + FRESH, "entries about these enquiries only");
    let mut checks_logged = 0;
    for (e, id) in enquiries.iter().enumerate() {
        let expected = per_check[id] * (1 + served.by_enquiry[e] as i64);
        checks_logged += expected;
        assert_eq!(
            logged[id],
            expected,
            "enquiry {e}: {} checks of {} entries",
            1 + served.by_enquiry[e],
            per_check[id]
        );
    }
    for (id, entries) in &fresh {
        assert_eq!(logged.get(id).copied().unwrap_or(0), *entries, "the raced first checks logged one check's each");
        checks_logged += entries;
    }

    // The same move raced through both replicas.
    let hold_entries = race_hold_decisions(&cluster, &enquiries).await?;
    race_workflow(&cluster, &enquiries).await?;

    let expected = checks_logged + hold_entries;
    let n = assert_one_gapless_chain(&cluster, expected).await?;
    assert_proofs_across_replicas(&cluster, n).await?;
    eprintln!("{n} entries in one chain; test body took {:?}", started.elapsed());
    cluster.stop().await
}

/// Log entries per enquiry, from the database.
async fn entries_by_enquiry(cluster: &Cluster) -> anyhow::Result<HashMap<String, i64>> {
    let pool = cluster.broker_pool().await?;
    let rows = sqlx::query("SELECT enquiry_id, COUNT(*) AS n FROM disclosure_log GROUP BY enquiry_id")
        .fetch_all(&pool)
        .await?;
    pool.close().await;
    rows.iter().map(|row| Ok((row.try_get("enquiry_id")?, row.try_get("n")?))).collect()
}

fn is_complete(results: &pb::RequestChecksResponse) -> bool {
    let answered = |a: &pb::AgencyResult| matches!(a.status(), AgencyStatus::Found | AgencyStatus::NotKnown);
    results.agencies.len() == 4 && results.agencies.iter().all(answered)
}

/// The first check of an enquiry moves it from open to checks requested. Two first checks raced
/// through both replicas both succeed (losing that move to the other check is not an error), and
/// the enquiry records the move from open exactly once. Returns each fresh enquiry and the entries its two
/// checks must have logged.
async fn race_first_checks(cluster: &Cluster, per_household: &[i64]) -> anyhow::Result<Vec<(String, i64)>> {
    let mut rita = [cluster.client(0, "rita-researcher").await?, cluster.client(1, "rita-researcher").await?];
    let mut fresh = Vec::new();
    for i in 0..FRESH {
        let opened =
            rita[0].enquiries.create_enquiry(mash_e2e::fixtures::enquiry(Level::Level3ChildProtection, household(i)));
        let id = opened.await?.into_inner().enquiry_id;
        let [mut x, mut y] = rita.clone();
        let (first, second) =
            tokio::join!(x.enquiries.request_checks(checks(&id)), y.enquiries.request_checks(checks(&id)));
        assert!(is_complete(first?.get_ref()) && is_complete(second?.get_ref()), "complete checks");
        let workflow =
            rita[1].frontdoor.get_enquiry_workflow(pb::GetEnquiryWorkflowRequest { enquiry_id: id.clone() }).await?;
        let moves = moves(workflow.get_ref());
        // The move from open is made from the state first read, so the check that loses the
        // race writes no move at all.
        assert_eq!(moves, [(EnquiryState::Open, EnquiryState::ChecksRequested)], "{moves:?}");
        fresh.push((id, 2 * per_household[i % 3]));
    }
    Ok(fresh)
}

struct Served {
    by_replica: [u64; 2],
    by_enquiry: Vec<u64>,
}

/// `CHECKS` checks, `IN_FLIGHT_PER_REPLICA` at a time at each replica, round-robin over the
/// enquiries; every one must succeed with every agency answering.
async fn concurrent_checks(cluster: &Cluster, enquiries: &[String]) -> anyhow::Result<Served> {
    let next = Arc::new(AtomicU64::new(0));
    let by_enquiry: Arc<Vec<AtomicU64>> = Arc::new(enquiries.iter().map(|_| AtomicU64::new(0)).collect());
    let enquiries: Arc<[String]> = enquiries.into();
    let mut workers = Vec::new();
    for replica in 0..2 {
        // Four channels per replica: tonic multiplexes calls over HTTP/2.
        let mut channels = Vec::new();
        for _ in 0..4 {
            channels.push(cluster.client(replica, "rita-researcher").await?);
        }
        for w in 0..IN_FLIGHT_PER_REPLICA {
            let mut client = channels[w % channels.len()].clone();
            let (next, by_enquiry, enquiries) = (next.clone(), by_enquiry.clone(), enquiries.clone());
            workers.push(tokio::spawn(async move {
                let mut served = 0u64;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= CHECKS {
                        return anyhow::Ok((replica, served));
                    }
                    let e = n as usize % enquiries.len();
                    let results = client.enquiries.request_checks(checks(&enquiries[e])).await?.into_inner();
                    anyhow::ensure!(is_complete(&results), "degraded check at replica {replica}: {results:?}");
                    by_enquiry[e].fetch_add(1, Ordering::Relaxed);
                    served += 1;
                }
            }));
        }
    }
    let started = Instant::now();
    let mut by_replica = [0; 2];
    for worker in workers {
        let (replica, served) = worker.await??;
        by_replica[replica] += served;
    }
    eprintln!("{CHECKS} concurrent checks in {:?}", started.elapsed());
    Ok(Served { by_replica, by_enquiry: by_enquiry.iter().map(|n| n.load(Ordering::Relaxed)).collect() })
}

fn moves(workflow: &pb::EnquiryWorkflow) -> Vec<(EnquiryState, EnquiryState)> {
    workflow.transitions.iter().map(|t| (t.from(), t.to())).collect()
}

/// Exactly one of two racing calls succeeds; the other is FAILED_PRECONDITION. Returns which won.
fn one_winner<T: std::fmt::Debug>(what: &str, results: [Result<T, tonic::Status>; 2]) -> anyhow::Result<usize> {
    let winners: Vec<usize> = (0..2).filter(|i| results[*i].is_ok()).collect();
    anyhow::ensure!(winners.len() == 1, "{what}: expected exactly one winner, got {results:?}");
    let loser = results.iter().find_map(|r| r.as_ref().err()).context("a loser")?;
    anyhow::ensure!(loser.code() == Code::FailedPrecondition, "{what}: the loser got {loser:?}");
    Ok(winners[0])
}

/// On each enquiry, the same workflow move through both replicas at once: to information
/// gathered (rita), a decision (maya; different outcomes), the close (maya). Each is won
/// exactly once, and the enquiry's history is one move from open, however many checks ran
/// concurrently, then one of each raced move (besides any repeated `checks requested`).
async fn race_workflow(cluster: &Cluster, enquiries: &[String]) -> anyhow::Result<()> {
    let rita = [cluster.client(0, "rita-researcher").await?, cluster.client(1, "rita-researcher").await?];
    let maya = [cluster.client(0, "maya-manager").await?, cluster.client(1, "maya-manager").await?];
    let outcomes = [DecisionOutcome::Section47StrategyDiscussion, DecisionOutcome::Section17Assessment];
    for (e, id) in enquiries.iter().enumerate() {
        let [mut x, mut y] = rita.clone();
        let to =
            || pb::TransitionEnquiryRequest { enquiry_id: id.clone(), to: EnquiryState::InformationGathered.into() };
        let (p, q) = tokio::join!(x.frontdoor.transition_enquiry(to()), y.frontdoor.transition_enquiry(to()));
        one_winner("information gathered", [p, q])?;

        let [mut x, mut y] = maya.clone();
        let decide = |o: DecisionOutcome| pb::RecordDecisionRequest {
            enquiry_id: id.clone(),
            outcome: o.into(),
            reason: format!("decided through one replica: {}", o.as_str_name()),
        };
        let (p, q) = tokio::join!(
            x.frontdoor.record_decision(decide(outcomes[0])),
            y.frontdoor.record_decision(decide(outcomes[1]))
        );
        let winner = one_winner("decision", [p, q])?;

        let [mut x, mut y] = maya.clone();
        let close = || pb::CloseEnquiryRequest { enquiry_id: id.clone() };
        let (p, q) = tokio::join!(x.frontdoor.close_enquiry(close()), y.frontdoor.close_enquiry(close()));
        one_winner("close", [p, q])?;

        // Read back through the other replica than the decision's winner.
        let mut reader = rita[1 - winner].clone();
        let workflow = reader
            .frontdoor
            .get_enquiry_workflow(pb::GetEnquiryWorkflowRequest { enquiry_id: id.clone() })
            .await?
            .into_inner();
        assert_eq!((workflow.state(), workflow.outcome()), (EnquiryState::Closed, outcomes[winner]), "enquiry {e}");
        use EnquiryState::*;
        let expected = [
            (Open, ChecksRequested),
            (ChecksRequested, InformationGathered),
            (InformationGathered, DecisionRecorded),
            (DecisionRecorded, Closed),
        ];
        assert_eq!(moves(&workflow), expected, "enquiry {e}: each move once");
    }
    Ok(())
}

/// On each enquiry of Amy's household, the health gatekeeper's hold decided through both
/// replicas at once, release against withhold: exactly one takes effect, and the hold shows it
/// whichever replica reads it. Returns the decision entries logged, which the total must include.
async fn race_hold_decisions(cluster: &Cluster, enquiries: &[String]) -> anyhow::Result<i64> {
    let gatekeeper = [cluster.client(0, "health-gatekeeper").await?, cluster.client(1, "health-gatekeeper").await?];
    let pool = cluster.broker_pool().await?;
    let (mut logged, mut raced, mut both_logged) = (0, 0, 0);
    for id in enquiries.iter().step_by(3) {
        let list = pb::ListHoldsRequest { enquiry_id: id.clone(), state: HoldState::Held.into() };
        let holds = gatekeeper[0].clone().holds.list_holds(list).await?.into_inner().holds;
        assert_eq!(holds.len(), 1, "one held item on Amy's household, however often checked");
        let hold_id = holds[0].hold_id.clone();
        let decide = |decision: HoldDecision| pb::DecideHoldRequest {
            hold_id: hold_id.clone(),
            decision: decision.into(),
            reason: format!("raced: {}", decision.as_str_name()),
        };
        let [mut x, mut y] = gatekeeper.clone();
        let (p, q) = tokio::join!(
            x.holds.decide_hold(decide(HoldDecision::Release)),
            y.holds.decide_hold(decide(HoldDecision::Withhold))
        );
        let winner = one_winner("hold decision", [p, q])?;
        let want = [HoldState::Released, HoldState::Withheld][winner];
        for mut reader in gatekeeper.clone() {
            let list = pb::ListHoldsRequest { enquiry_id: id.clone(), state: HoldState::Unspecified.into() };
            let holds = reader.holds.list_holds(list).await?.into_inner().holds;
            assert_eq!(holds.iter().map(|h| h.state()).collect::<Vec<_>>(), [want]);
        }
        // A decision is logged before it takes effect, so the loser's may be logged too; if so,
        // an entry right after it says it was not applied.
        let count = |pattern: String| {
            let pool = pool.clone();
            async move {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM disclosure_log WHERE reason LIKE $1")
                    .bind(pattern)
                    .fetch_one(&pool)
                    .await?;
                anyhow::Ok(row.try_get::<i64, _>("n")?)
            }
        };
        let n = count(format!("hold {hold_id} %")).await?;
        let not_applied = count(format!("the decision just logged for hold {hold_id} was not applied%")).await?;
        assert!((1..=2).contains(&n), "{n} decision entries for one hold");
        assert_eq!(not_applied, n - 1, "every logged decision that lost the race is marked not applied");
        logged += n + not_applied;
        raced += 1;
        both_logged += i64::from(n == 2);
    }
    pool.close().await;
    eprintln!("hold decisions raced: {raced}; the losing decision was logged too in {both_logged}");
    Ok(logged)
}

/// The log is one chain, 1..=N with no gap or repeat, N as expected and as `log_head` says; it
/// verifies from the database and through each replica. Returns N.
async fn assert_one_gapless_chain(cluster: &Cluster, expected: i64) -> anyhow::Result<u64> {
    let pool = cluster.broker_pool().await?;
    let rows =
        sqlx::query("SELECT seq, prev_hash, entry_hash FROM disclosure_log ORDER BY seq").fetch_all(&pool).await?;
    let head: i64 = sqlx::query("SELECT size FROM log_head WHERE id = 1").fetch_one(&pool).await?.try_get("size")?;
    pool.close().await;
    let seqs: Vec<i64> = rows.iter().map(|r| r.try_get("seq")).collect::<Result<_, _>>()?;
    assert_eq!(seqs, (1..=expected).collect::<Vec<_>>(), "sequence numbers are exactly 1..={expected}");
    assert_eq!(head, expected, "log_head agrees");
    let mut prev = mash_ledger::GENESIS.to_owned();
    let mut hashes = std::collections::HashSet::new();
    for row in &rows {
        let (p, h): (String, String) = (row.try_get("prev_hash")?, row.try_get("entry_hash")?);
        assert_eq!(p, prev, "each entry continues the one before");
        assert!(hashes.insert(h.clone()), "no entry twice");
        prev = h;
    }
    let n = expected as u64;

    let log = cluster.open_log().await?;
    let verified = log.verify().await?.map_err(|finding| anyhow::anyhow!("the log does not verify: {finding}"))?;
    assert_eq!(verified.entries, n);
    assert!(verified.checkpoints >= 2, "both replicas signed along the way: {}", verified.checkpoints);
    for replica in 0..2 {
        let mut ian = cluster.client(replica, "ian-ig").await?;
        let report = ian.log.verify_log(pb::VerifyLogRequest {}).await?.into_inner();
        assert!(report.intact, "replica {replica}: {report:?}");
        assert_eq!(report.entries, n, "replica {replica}");
    }
    Ok(n)
}

/// Each replica keeps its own Merkle tree, caught up from the database: the latest checkpoint
/// through one replica, and inclusion and consistency proofs through the other, agree.
async fn assert_proofs_across_replicas(cluster: &Cluster, n: u64) -> anyhow::Result<()> {
    let mut ian = [cluster.client(0, "ian-ig").await?, cluster.client(1, "ian-ig").await?];
    let key = cluster.open_log().await?.checkpointer().verifying_key();
    // A checkpoint of the whole log: a replica signs within a second of the last write.
    let deadline = Instant::now() + Duration::from_secs(10);
    let latest = loop {
        let wire = ian[0].log.get_checkpoint(pb::GetCheckpointRequest { size: 0 }).await?.into_inner();
        if wire.size >= n || Instant::now() > deadline {
            break to_checkpoint(&wire)?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(latest.checkpoint.size >= n, "a checkpoint covers the whole log");
    mash_ledger::verify_checkpoint(&latest, &key)?;
    let size = latest.checkpoint.size;
    for seq in (1..=size).step_by(97).chain([size]) {
        let request = pb::GetInclusionProofRequest { seq, tree_size: size };
        let proof = ian[1].log.get_inclusion_proof(request).await?.into_inner();
        let leaf: [u8; 32] = proof.leaf_hash.as_slice().try_into()?;
        mash_ledger::verify_inclusion(&leaf, seq - 1, size, &hashes(&proof.path)?, &latest.checkpoint.root)?;
    }
    let checkpoints = cluster.open_log().await?.checkpointer().checkpoint_page(0, size, 1).await?;
    let first = checkpoints.first().context("checkpoints")?;
    if first.checkpoint.size < size {
        let request = pb::GetConsistencyProofRequest { old_size: first.checkpoint.size, new_size: size };
        let proof = ian[1].log.get_consistency_proof(request).await?.into_inner();
        let (old, new) = (&first.checkpoint.root, &latest.checkpoint.root);
        mash_ledger::verify_consistency(first.checkpoint.size, size, old, new, &hashes(&proof.path)?)?;
    }
    Ok(())
}

fn to_checkpoint(wire: &pb::SignedCheckpoint) -> anyhow::Result<mash_ledger::SignedCheckpoint> {
    Ok(mash_ledger::SignedCheckpoint {
        checkpoint: mash_ledger::Checkpoint {
            origin: wire.origin.clone(),
            size: wire.size,
            root: wire.root.as_slice().try_into()?,
            timestamp_unix: wire.timestamp_unix,
        },
        key_id: wire.key_id.clone(),
        signature: wire.signature.as_slice().try_into()?,
    })
}

fn hashes(path: &[Vec<u8>]) -> anyhow::Result<Vec<[u8; 32]>> {
    path.iter().map(|h| h.as_slice().try_into().map_err(anyhow::Error::from)).collect()
}
