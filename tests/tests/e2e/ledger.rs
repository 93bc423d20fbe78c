//! The disclosure log's tamper evidence: signed checkpoints, proofs, and
//! verification that names what was changed, deleted, moved or inserted.

use anyhow::Context;
use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, Level, Relation};
use mash_system::demo::{self, AMY, JADE, NOAH};

on_both_backends!(
    proofs_check_against_signed_checkpoints_and_forgeries_fail,
    verify_names_each_kind_of_tampering,
    an_exported_log_verifies_offline_and_an_edited_export_does_not,
    ig_sees_exactly_what_was_shown_until_it_is_purged,
    a_purge_removes_content_recorded_before_its_cutoff_and_keeps_the_rest,
);

/// A log of three checks' decisions, with a checkpoint after the first check
/// and one at the end; the two checkpoint sizes.
async fn logged_checks(h: &Harness) -> anyhow::Result<(u64, u64)> {
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let household = vec![subject(AMY, Relation::Child), subject(JADE, Relation::ParentOrCarer)];
    let first = rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household)).await?.into_inner();
    rita.enquiries.request_checks(checks(&first.enquiry_id)).await?;
    let early = h.system.broker_log.checkpointer().checkpoint().await?.context("a first checkpoint")?;
    for (level, child) in [(Level::Level1EarlyHelp, AMY), (Level::Level2ChildInNeed, NOAH)] {
        let opened =
            rita.enquiries.create_enquiry(enquiry(level, vec![subject(child, Relation::Child)])).await?.into_inner();
        rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?;
    }
    let late = h.system.broker_log.checkpointer().checkpoint().await?.context("a second checkpoint")?;
    Ok((early.checkpoint.size, late.checkpoint.size))
}

fn pinned_key(h: &Harness) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(&h.system.endpoints.log_key)?;
    hex::decode(text.trim())?.try_into().map_err(|_| anyhow::anyhow!("not a 32-byte key"))
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

async fn proofs_check_against_signed_checkpoints_and_forgeries_fail(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (early, late) = logged_checks(&h).await?;
    let key = pinned_key(&h)?;
    let mut ian = h.system.broker_as("ian-ig").await?;
    let latest = to_checkpoint(&ian.log.get_checkpoint(pb::GetCheckpointRequest { size: 0 }).await?.into_inner())?;
    let first = to_checkpoint(&ian.log.get_checkpoint(pb::GetCheckpointRequest { size: early }).await?.into_inner())?;
    assert_eq!((first.checkpoint.size, latest.checkpoint.size), (early, late));
    mash_ledger::verify_checkpoint(&latest, &key)?;

    for seq in 1..=latest.checkpoint.size {
        let proof = ian.log.get_inclusion_proof(pb::GetInclusionProofRequest { seq, tree_size: 0 }).await?.into_inner();
        let leaf: [u8; 32] = proof.leaf_hash.as_slice().try_into()?;
        let path = hashes(&proof.path)?;
        mash_ledger::verify_inclusion(&leaf, seq - 1, proof.tree_size, &path, &latest.checkpoint.root)?;
        let mut forged = path.clone();
        if let Some(node) = forged.first_mut() {
            node[0] ^= 1;
            assert!(
                mash_ledger::verify_inclusion(&leaf, seq - 1, proof.tree_size, &forged, &latest.checkpoint.root)
                    .is_err()
            );
        }
    }
    let request = pb::GetConsistencyProofRequest { old_size: early, new_size: late };
    let consistency = ian.log.get_consistency_proof(request).await?.into_inner();
    let (old, new) = (&first.checkpoint.root, &latest.checkpoint.root);
    mash_ledger::verify_consistency(early, late, old, new, &hashes(&consistency.path)?)?;

    // A checkpoint that claims another size, or is signed by another key, fails.
    let mut altered = latest.clone();
    altered.checkpoint.size = late - 1;
    assert!(mash_ledger::verify_checkpoint(&altered, &key).is_err());
    let impostor = mash_ledger::CheckpointSigner::from_seed("impostor", [7; 32]).sign(latest.checkpoint.clone());
    assert!(mash_ledger::verify_checkpoint(&impostor, &key).is_err());
    // Only information governance reads proofs.
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let refused =
        rita.log.get_inclusion_proof(pb::GetInclusionProofRequest { seq: 1, tree_size: 0 }).await.expect_err("IG only");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    h.stop().await
}

/// Each tampering, applied with SQL straight to the database, and what
/// verification must say about it.
fn tamperings() -> Vec<(&'static str, Vec<&'static str>, Option<u64>, &'static str)> {
    vec![
        (
            "modified",
            vec!["UPDATE disclosure_log SET reason = 'nothing to see' WHERE seq = 3"],
            Some(3),
            "entry 3 was modified, moved or inserted",
        ),
        ("deleted", vec!["DELETE FROM disclosure_log WHERE seq = 4"], Some(4), "entry 4 is missing"),
        (
            "reordered",
            vec![
                "UPDATE disclosure_log SET seq = 1000 WHERE seq = 5",
                "UPDATE disclosure_log SET seq = 5 WHERE seq = 6",
                "UPDATE disclosure_log SET seq = 6 WHERE seq = 1000",
            ],
            Some(5),
            "entry 5 was modified, moved or inserted",
        ),
        (
            "inserted",
            vec![
                "UPDATE disclosure_log SET seq = seq + 1000 WHERE seq > 6",
                "UPDATE disclosure_log SET seq = seq - 999 WHERE seq > 1000",
                "CREATE TEMPORARY TABLE forged AS SELECT * FROM disclosure_log WHERE seq = 2",
                "UPDATE forged SET seq = 7",
                "INSERT INTO disclosure_log SELECT * FROM forged",
            ],
            Some(7),
            "entry 7 was modified, moved or inserted",
        ),
        ("truncated", vec!["DELETE FROM disclosure_log WHERE seq > 12"], Some(13), "log truncated"),
        (
            "bad checkpoint signature",
            vec![
                "UPDATE checkpoints SET signature = (SELECT signature FROM checkpoints ORDER BY size LIMIT 1) WHERE size = (SELECT MAX(size) FROM checkpoints)",
            ],
            None,
            "bad signature",
        ),
    ]
}

async fn verify_names_each_kind_of_tampering(backend: Backend) -> anyhow::Result<()> {
    for (what, statements, seq, says) in tamperings() {
        let h = Harness::start(backend).await?;
        logged_checks(&h).await?;
        assert!(h.system.broker_log.verify().await?.is_ok(), "clean before {what}");
        let pool = h.database("broker").await?;
        h.lift_append_only(&pool).await?;
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&pool).await?;
        }
        pool.close().await;
        let finding = h.system.broker_log.verify().await?.expect_err(what);
        assert_eq!(finding.seq, seq, "{what}: {}", finding.message);
        assert!(finding.message.contains(says), "{what}: {}", finding.message);
        // The same answer through the API.
        let mut ian = h.system.broker_as("ian-ig").await?;
        let report = ian.log.verify_log(pb::VerifyLogRequest {}).await?.into_inner();
        assert!(!report.intact && report.finding == finding.message, "{what}");
        h.stop().await?;
    }
    Ok(())
}

async fn an_exported_log_verifies_offline_and_an_edited_export_does_not(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (_, late) = logged_checks(&h).await?;
    let mut ian = h.system.broker_as("ian-ig").await?;
    let mut stream = ian.log.export_log(pb::ExportLogRequest {}).await?.into_inner();
    let mut export = String::new();
    while let Some(chunk) = stream.message().await? {
        export.push_str(&chunk.lines);
    }
    let key = pinned_key(&h)?;
    h.stop().await?;

    // No broker from here on.
    let verified =
        mash_ledger::verify_export(export.as_bytes(), export.as_bytes(), &key).map_err(|f| anyhow::anyhow!(f))?;
    // The export is itself an entry, logged before the export is read.
    assert_eq!(verified.entries, late + 1);
    assert!(verified.checkpoints >= 2, "{} checkpoints", verified.checkpoints);
    assert!(export.contains("disclosure log exported"), "the export is not on the record");
    let edited = export.replacen("\"tier\":\"detail\"", "\"tier\":\"summary\"", 1);
    assert_ne!(edited, export);
    let finding = mash_ledger::verify_export(edited.as_bytes(), edited.as_bytes(), &key).expect_err("edited");
    assert!(finding.message.contains("was modified"), "{}", finding.message);
    Ok(())
}

async fn ig_sees_exactly_what_was_shown_until_it_is_purged(backend: Backend) -> anyhow::Result<()> {
    use prost::Message;
    use sha2::Digest;
    let h = Harness::start_with(backend, |c| c.content_retention = std::time::Duration::ZERO).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let household = vec![subject(AMY, Relation::Child), subject(JADE, Relation::ParentOrCarer)];
    let opened = rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household)).await?.into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    let returned: Vec<&pb::DisclosedItem> =
        results.agencies.iter().flat_map(|a| &a.subjects).flat_map(|s| &s.items).collect();

    let mut ian = h.system.broker_as("ian-ig").await?;
    let search = pb::SearchLogEntriesRequest { enquiry_id: opened.enquiry_id.clone(), ..Default::default() };
    let entries = ian.log.search_log_entries(search).await?.into_inner().entries;
    let mut disclosed = 0;
    for entry in entries.iter().filter(|e| e.outcome() != pb::Outcome::LogSearched) {
        let content = ian.log.get_disclosed_content(pb::GetDisclosedContentRequest { seq: entry.seq }).await;
        if entry.outcome() == pb::Outcome::Refused {
            assert_eq!(content.expect_err("a refusal showed nothing").code(), tonic::Code::NotFound);
            continue;
        }
        disclosed += 1;
        let digest = match content?.into_inner().shown.context("something was shown")? {
            pb::disclosed_content::Shown::Item(item) => {
                assert!(returned.contains(&&item), "the stored item is what the researcher received");
                hex::encode(sha2::Sha256::digest(item.encode_to_vec()))
            }
            pb::disclosed_content::Shown::Notice(notice) => hex::encode(sha2::Sha256::digest(notice.as_bytes())),
        };
        assert_eq!(digest, entry.content_digest, "entry {}", entry.seq);
    }
    assert_eq!(disclosed, returned.len());
    let refused = rita.log.get_disclosed_content(pb::GetDisclosedContentRequest { seq: 1 }).await.expect_err("IG only");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    // With a retention period of zero, everything is past it.
    let purge = ian.log.purge_expired_content(pb::PurgeExpiredContentRequest {}).await?.into_inner();
    assert_eq!(purge.purged as usize, disclosed);
    let gone = ian.log.get_disclosed_content(pb::GetDisclosedContentRequest { seq: 1 }).await.expect_err("purged");
    assert_eq!(gone.code(), tonic::Code::NotFound);
    h.system.broker_log.checkpointer().checkpoint().await?;
    assert!(h.system.broker_log.verify().await?.is_ok(), "the log still verifies without the content");
    h.stop().await
}

async fn a_purge_removes_content_recorded_before_its_cutoff_and_keeps_the_rest(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let household = vec![subject(AMY, Relation::Child), subject(JADE, Relation::ParentOrCarer)];
    let opened = rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household)).await?.into_inner();
    rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?;
    // The second check's entries are recorded strictly later than the first's.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?;

    let log = &h.system.broker_log;
    let entries = log.search_all(&mash_disclosure_log::LogFilter::default()).await?;
    let shown: Vec<_> = entries.iter().filter(|e| !e.fields.content_digest.is_empty()).collect();
    let cutoff = shown.iter().map(|e| e.recorded_at.clone()).max().context("something was shown")?;
    let before = shown.iter().filter(|e| e.recorded_at < cutoff).count();
    assert!(before > 0 && before < shown.len(), "both checks showed something: {before} of {}", shown.len());

    assert_eq!(log.purge_content(&cutoff).await? as usize, before);
    for entry in shown {
        let kept = log.shown(entry.seq).await?.is_some();
        assert_eq!(kept, entry.recorded_at >= cutoff, "entry {} recorded at {}", entry.seq, entry.recorded_at);
    }
    assert_eq!(log.purge_content(&cutoff).await?, 0, "a second purge finds nothing more");
    h.stop().await
}
