//! Verifying the disclosure log from its entries and signed checkpoints
//! alone: what `mashctl log verify` runs, online against the broker's
//! database or offline on an export, so that an external auditor needs
//! nothing from the broker but the export and its public key.

use mash_ledger::{Hash, MerkleTree, SignedCheckpoint};
use serde::{Deserialize, Serialize};

use crate::{
    ledger::leaf_of,
    log::{Entry, GENESIS},
};

/// What verification found wrong, naming the first entry it could.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Finding {
    /// The first entry found wrong, when one can be named.
    pub seq: Option<u64>,
    pub message: String,
}

fn finding(seq: Option<u64>, message: String) -> Finding {
    Finding { seq, message }
}

/// What a clean verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    pub checkpoints: u64,
}

/// Checks every entry's hash, the chain, and every checkpoint's signature and
/// root. Entries must be in the order the log holds them.
pub fn verify(entries: &[Entry], checkpoints: &[SignedCheckpoint], key: &[u8; 32]) -> Result<Verified, Finding> {
    let tree = MerkleTree::from_leaves(verify_entries(entries)?);
    let mut previous = 0;
    for signed in checkpoints {
        let size = signed.checkpoint.size;
        mash_ledger::verify_checkpoint(signed, key)
            .map_err(|_| finding(None, format!("the checkpoint of size {size} has a bad signature")))?;
        if size < previous {
            return Err(finding(None, format!("checkpoint sizes go backwards: {size} after {previous}")));
        }
        if size > tree.len() {
            return Err(finding(
                Some(tree.len() + 1),
                format!("log truncated: a signed checkpoint covers {size} entries, but only {} remain", tree.len()),
            ));
        }
        if tree.root_at(size).ok() != Some(signed.checkpoint.root) {
            return Err(finding(
                Some(previous + 1),
                format!("entries {} to {size} differ from the signed checkpoint of size {size}", previous + 1),
            ));
        }
        previous = size;
    }
    Ok(Verified { entries: tree.len(), checkpoints: checkpoints.len() as u64 })
}

/// The chain alone: sequence, links and each entry's own hash; the Merkle
/// leaves if all is well. Entries are checked in parallel slices (each link
/// needs only the stored hash before it), and the earliest finding wins.
fn verify_entries(entries: &[Entry]) -> Result<Vec<Hash>, Finding> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let slice = entries.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<Hash>, Finding>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..entries.len())
            .step_by(slice)
            .map(|start| scope.spawn(move || verify_range(entries, start..(start + slice).min(entries.len()))))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_else(|_| Err(finding(None, "a verification thread failed".into()))))
            .collect()
    });
    let mut leaves = Vec::with_capacity(entries.len());
    for result in results {
        leaves.extend(result?);
    }
    Ok(leaves)
}

fn verify_range(entries: &[Entry], range: std::ops::Range<usize>) -> Result<Vec<Hash>, Finding> {
    let mut leaves = Vec::with_capacity(range.len());
    for index in range {
        let entry = &entries[index];
        let (seq, expected) = (entry.seq, index as u64 + 1);
        if seq > expected {
            return Err(finding(Some(expected), format!("entry {expected} is missing: deleted")));
        }
        if seq < expected {
            return Err(finding(
                Some(seq),
                format!("entry {seq} appears again at position {expected}: inserted or reordered"),
            ));
        }
        if entry.compute_hash() != entry.entry_hash {
            return Err(finding(
                Some(seq),
                format!("entry {seq} was modified, moved or inserted: its contents do not match its hash"),
            ));
        }
        let prev = if index == 0 { GENESIS } else { entries[index - 1].entry_hash.as_str() };
        if entry.prev_hash != prev {
            return Err(finding(
                Some(seq),
                format!("entry {seq} does not follow entry {}: inserted, reordered or rewritten", seq - 1),
            ));
        }
        leaves.push(leaf_of(&entry.entry_hash).map_err(|e| finding(Some(seq), e.to_string()))?);
    }
    Ok(leaves)
}

/// One exported checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub timestamp_unix: i64,
    pub key_id: String,
    pub signature: String,
}

impl From<&SignedCheckpoint> for ExportedCheckpoint {
    fn from(s: &SignedCheckpoint) -> Self {
        Self {
            origin: s.checkpoint.origin.clone(),
            size: s.checkpoint.size,
            root: hex::encode(s.checkpoint.root),
            timestamp_unix: s.checkpoint.timestamp_unix,
            key_id: s.key_id.clone(),
            signature: hex::encode(s.signature),
        }
    }
}

impl TryFrom<ExportedCheckpoint> for SignedCheckpoint {
    type Error = Finding;

    fn try_from(e: ExportedCheckpoint) -> Result<Self, Finding> {
        let bad = || finding(None, format!("the exported checkpoint of size {} is malformed", e.size));
        let root = hex::decode(&e.root).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let signature = hex::decode(&e.signature).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        Ok(SignedCheckpoint {
            checkpoint: mash_ledger::Checkpoint {
                origin: e.origin,
                size: e.size,
                root,
                timestamp_unix: e.timestamp_unix,
            },
            key_id: e.key_id,
            signature,
        })
    }
}

/// An export: the log's entries and checkpoints, one JSON object per line
/// (`{"entry": …}` or `{"checkpoint": …}`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportLine {
    Entry(Box<Entry>),
    Checkpoint(ExportedCheckpoint),
}

/// Verifies an export read back from its lines.
pub fn verify_export(lines: &str, key: &[u8; 32]) -> Result<Verified, Finding> {
    let mut entries = Vec::new();
    let mut checkpoints = Vec::new();
    for (number, line) in (1..).zip(lines.lines().filter(|l| !l.trim().is_empty())) {
        match serde_json::from_str::<ExportLine>(line) {
            Ok(ExportLine::Entry(e)) => entries.push(*e),
            Ok(ExportLine::Checkpoint(c)) => checkpoints.push(SignedCheckpoint::try_from(c)?),
            Err(e) => return Err(finding(None, format!("export line {number} is not an entry or a checkpoint: {e}"))),
        }
    }
    checkpoints.sort_by_key(|c| c.checkpoint.size);
    verify(&entries, &checkpoints, key)
}
