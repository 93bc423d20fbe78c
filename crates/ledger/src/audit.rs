//! The offline audit: recompute the tree from an exported log and hold it to every signed
//! checkpoint, without trusting the server that produced either.

use ed25519_dalek::VerifyingKey;

use crate::{
    checkpoint::{SignedCheckpoint, check_signature, parse_verifying_key},
    error::LedgerError,
    hash::{Hash, empty_root, node_hash},
};

/// Computes roots over a stream of leaf hashes in O(log n) memory, so an auditor can check a log
/// of any length as it reads it. It holds one hash per set bit of the leaf count: the complete
/// subtrees that RFC 9162 splits the tree into, largest (leftmost) first.
#[derive(Clone, Debug, Default)]
pub struct RootAccumulator {
    len: u64,
    peaks: Vec<Hash>,
}

impl RootAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash, merging the complete subtrees it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut closed = self.len;
        while closed & 1 == 1 {
            let Some(left) = self.peaks.pop() else { break };
            carry = node_hash(&left, &carry);
            closed >>= 1;
        }
        self.peaks.push(carry);
        self.len += 1;
    }

    /// The number of leaves pushed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no leaf has been pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The Merkle tree hash of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        self.peaks.iter().rev().copied().reduce(|right, left| node_hash(&left, &right)).unwrap_or_else(empty_root)
    }
}

/// Checks an exported log against its checkpoints, in order: every signature verifies under `key`,
/// every checkpoint names the same origin as the first, sizes never go backwards, the log holds
/// at least as many entries as each checkpoint claims, and the root of that many leading leaves
/// equals the checkpoint's root.
///
/// Leaves after the last checkpoint are not covered by any signature and so are not judged.
/// Finding which entry was changed is the caller's job, by comparing per-entry hashes.
pub fn verify_log(leaves: &[Hash], checkpoints: &[SignedCheckpoint], key: &[u8; 32]) -> Result<(), LedgerError> {
    let key = parse_verifying_key(key)?;
    let mut accumulator = RootAccumulator::new();
    let mut remaining = leaves.iter();
    for (position, signed) in checkpoints.iter().enumerate() {
        check_checkpoint(position, signed, checkpoints, &key, leaves.len() as u64)?;
        let wanted = signed.checkpoint.size - accumulator.len();
        remaining.by_ref().take(wanted as usize).for_each(|leaf| accumulator.push(*leaf));
        if accumulator.root() != signed.checkpoint.root {
            return Err(LedgerError::RootMismatch { checkpoint: position, size: signed.checkpoint.size });
        }
    }
    Ok(())
}

/// Everything about checkpoint `position` that can be judged before hashing any leaves.
fn check_checkpoint(
    position: usize,
    signed: &SignedCheckpoint,
    all: &[SignedCheckpoint],
    key: &VerifyingKey,
    entries: u64,
) -> Result<(), LedgerError> {
    let checkpoint = &signed.checkpoint;
    check_signature(signed, key).map_err(|_| LedgerError::CheckpointSignatureInvalid {
        checkpoint: position,
        key_id: signed.key_id.clone(),
        size: checkpoint.size,
    })?;
    let previous = position.checked_sub(1).and_then(|p| all.get(p)).map(|s| &s.checkpoint);
    let first = all.first().map(|s| &s.checkpoint);
    if let Some(first) = first.filter(|first| first.origin != checkpoint.origin) {
        let (expected, found) = (first.origin.clone(), checkpoint.origin.clone());
        return Err(LedgerError::OriginMismatch { checkpoint: position, expected, found });
    }
    if let Some(previous) = previous.filter(|previous| previous.size > checkpoint.size) {
        return Err(LedgerError::SizeWentBackwards {
            checkpoint: position,
            previous: previous.size,
            size: checkpoint.size,
        });
    }
    if checkpoint.size > entries {
        return Err(LedgerError::LogTruncated { checkpoint: position, size: checkpoint.size, entries });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MerkleTree, hash::leaf_hash};

    #[test]
    fn accumulator_agrees_with_the_tree_at_every_size() {
        let mut accumulator = RootAccumulator::new();
        let mut tree = MerkleTree::new();
        assert_eq!(accumulator.root(), tree.root());
        for i in 0u32..100 {
            let leaf = leaf_hash(&i.to_le_bytes());
            accumulator.push(leaf);
            tree.push(leaf);
            assert_eq!((accumulator.len(), accumulator.root()), (tree.len(), tree.root()), "after {} leaves", i + 1);
        }
    }
}
