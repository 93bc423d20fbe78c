//! Signed checkpoints and the offline audit of a whole log against them.

use mash_ledger::{
    Checkpoint, CheckpointSigner, Hash, LedgerError, MerkleTree, SignedCheckpoint, leaf_hash, verify_checkpoint,
    verify_log,
};

const ORIGIN: &str = "mash.local/disclosure-log";

fn signer() -> CheckpointSigner {
    CheckpointSigner::from_seed("log-2025", [7; 32])
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("disclosure {i}").as_bytes())).collect()
}

fn checkpoint_of(leaves: &[Hash], size: u64, timestamp_unix: i64) -> Checkpoint {
    let root = MerkleTree::from_leaves(leaves.iter().copied()).root_at(size).expect("size within log");
    Checkpoint { origin: ORIGIN.to_owned(), size, root, timestamp_unix }
}

/// A log of 100 entries with checkpoints signed at the given sizes.
fn signed_log(sizes: &[u64]) -> (Vec<Hash>, Vec<SignedCheckpoint>) {
    let log = leaves(100);
    let checkpoints = sizes.iter().map(|&size| signer().sign(checkpoint_of(&log, size, 1_700_000_000 + size as i64)));
    (log.clone(), checkpoints.collect())
}

/// A named way to alter a signed checkpoint.
type Change = (&'static str, fn(&mut SignedCheckpoint));

#[test]
fn a_signed_checkpoint_verifies_and_any_change_breaks_it() {
    let signer = signer();
    let key = signer.verifying_key_bytes();
    let good = signer.sign(checkpoint_of(&leaves(10), 10, 1_700_000_000));
    assert_eq!(verify_checkpoint(&good, &key), Ok(()));
    assert_eq!(good.key_id, "log-2025");

    let changes: [Change; 6] = [
        ("size", |s| s.checkpoint.size += 1),
        ("root", |s| s.checkpoint.root[0] ^= 1),
        ("timestamp", |s| s.checkpoint.timestamp_unix += 1),
        ("origin", |s| s.checkpoint.origin.push('x')),
        ("signature", |s| s.signature[10] ^= 1),
        ("signer", |s| *s = CheckpointSigner::from_seed("log-2025", [8; 32]).sign(s.checkpoint.clone())),
    ];
    for (what, change) in changes {
        let mut bad = good.clone();
        change(&mut bad);
        assert!(
            matches!(verify_checkpoint(&bad, &key), Err(LedgerError::SignatureInvalid { .. })),
            "changed {what} still verifies"
        );
    }
}

#[test]
fn another_key_does_not_verify_and_a_malformed_key_is_named() {
    let signed = signer().sign(checkpoint_of(&leaves(3), 3, 0));
    let other = CheckpointSigner::from_seed("other", [9; 32]).verifying_key_bytes();
    assert!(matches!(verify_checkpoint(&signed, &other), Err(LedgerError::SignatureInvalid { size: 3, .. })));
    // y = 2 is not on the curve, so this is not a public key at all.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert_eq!(verify_checkpoint(&signed, &not_a_point), Err(LedgerError::InvalidVerifyingKey));
}

#[test]
fn an_honest_log_passes_the_audit() {
    let key = signer().verifying_key_bytes();
    for sizes in [&[][..], &[0], &[1], &[10, 10, 64, 100], &[0, 1, 2, 3, 99, 100]] {
        let (log, checkpoints) = signed_log(sizes);
        assert_eq!(verify_log(&log, &checkpoints, &key), Ok(()), "checkpoints at {sizes:?}");
    }
    // Entries appended after the last checkpoint are not yet signed for, and not an error.
    let (log, checkpoints) = signed_log(&[50]);
    assert_eq!(verify_log(&log[..60], &checkpoints, &key), Ok(()));
}

#[test]
fn the_audit_names_what_is_wrong_and_where() {
    let key = signer().verifying_key_bytes();
    let (log, checkpoints) = signed_log(&[10, 64, 100]);

    let mut modified = log.clone();
    modified[70] = leaf_hash(b"rewritten");
    let mut reordered = checkpoints.clone();
    reordered.swap(1, 2);
    let mut forged = checkpoints.clone();
    forged[1].signature[0] ^= 1;
    let mut foreign = checkpoints.clone();
    foreign[2] = signer().sign(Checkpoint { origin: "elsewhere".into(), ..foreign[2].checkpoint.clone() });

    let cases: [(&str, &[Hash], &[SignedCheckpoint], LedgerError); 5] = [
        ("truncated", &log[..90], &checkpoints, LedgerError::LogTruncated { checkpoint: 2, size: 100, entries: 90 }),
        ("modified", &modified, &checkpoints, LedgerError::RootMismatch { checkpoint: 2, size: 100 }),
        ("backwards", &log, &reordered, LedgerError::SizeWentBackwards { checkpoint: 2, previous: 100, size: 64 }),
        (
            "forged",
            &log,
            &forged,
            LedgerError::CheckpointSignatureInvalid { checkpoint: 1, key_id: "log-2025".into(), size: 64 },
        ),
        (
            "foreign",
            &log,
            &foreign,
            LedgerError::OriginMismatch { checkpoint: 2, expected: ORIGIN.into(), found: "elsewhere".into() },
        ),
    ];
    for (what, entries, checkpoints, expected) in cases {
        assert_eq!(verify_log(entries, checkpoints, &key), Err(expected), "{what}");
    }
}

#[test]
fn audit_messages_read_as_promised() {
    let key = signer().verifying_key_bytes();
    let (log, checkpoints) = signed_log(&[100]);
    let truncated = verify_log(&log[..40], &checkpoints, &key).expect_err("truncated log");
    assert_eq!(truncated.to_string(), "checkpoint #0: log truncated: checkpoint of size 100 but only 40 entries");
    let mut modified = log.clone();
    modified[3] = leaf_hash(b"rewritten");
    let mismatch = verify_log(&modified, &checkpoints, &key).expect_err("modified log");
    assert_eq!(mismatch.to_string(), "checkpoint #0: root mismatch at checkpoint size 100");
}
