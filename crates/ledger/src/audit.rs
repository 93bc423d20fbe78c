//! The offline audit: recompute the tree from an exported log and hold it to every signed
//! checkpoint, without trusting the server that produced either.

use std::collections::VecDeque;

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

/// The one checkpoint audit, streamed: checkpoints are announced with [`Self::expect`] before
/// the leaves they cover are pushed, and each is held to the root as soon as the log reaches its
/// size. It keeps the accumulator and the checkpoints not yet reached, so memory does not grow
/// with the log. Every signature verifies under the key, every checkpoint names the same origin
/// as the first, sizes never go backwards, and the log holds at least as many leaves as each
/// checkpoint claims.
///
/// Leaves after the last checkpoint are not covered by any signature and so are not judged.
#[derive(Debug)]
pub struct CheckpointAuditor {
    key: VerifyingKey,
    accumulator: RootAccumulator,
    /// Announced, not yet reached, with their positions.
    pending: VecDeque<(usize, SignedCheckpoint)>,
    announced: usize,
    origin: Option<String>,
    last_size: u64,
    matched: u64,
}

impl CheckpointAuditor {
    pub fn new(key: &[u8; 32]) -> Result<Self, LedgerError> {
        Ok(Self {
            key: parse_verifying_key(key)?,
            accumulator: RootAccumulator::new(),
            pending: VecDeque::new(),
            announced: 0,
            origin: None,
            last_size: 0,
            matched: 0,
        })
    }

    /// Leaves pushed so far.
    pub fn len(&self) -> u64 {
        self.accumulator.len()
    }

    /// Whether no leaf has been pushed.
    pub fn is_empty(&self) -> bool {
        self.accumulator.is_empty()
    }

    /// The size of the last checkpoint whose root matched.
    pub fn matched(&self) -> u64 {
        self.matched
    }

    /// Announces the next checkpoint (in order of size), before the leaf that reaches its size.
    pub fn expect(&mut self, signed: SignedCheckpoint) -> Result<(), LedgerError> {
        let position = self.announced;
        self.announced += 1;
        let checkpoint = &signed.checkpoint;
        check_signature(&signed, &self.key).map_err(|_| LedgerError::CheckpointSignatureInvalid {
            checkpoint: position,
            key_id: signed.key_id.clone(),
            size: checkpoint.size,
        })?;
        let origin = self.origin.get_or_insert_with(|| checkpoint.origin.clone());
        if *origin != checkpoint.origin {
            let (expected, found) = (origin.clone(), checkpoint.origin.clone());
            return Err(LedgerError::OriginMismatch { checkpoint: position, expected, found });
        }
        if checkpoint.size < self.last_size || checkpoint.size < self.len() {
            let previous = self.last_size.max(self.len());
            return Err(LedgerError::SizeWentBackwards { checkpoint: position, previous, size: checkpoint.size });
        }
        self.last_size = checkpoint.size;
        self.pending.push_back((position, signed));
        self.settle()
    }

    /// Appends the next leaf, and holds every checkpoint of the new size to the root.
    pub fn push(&mut self, leaf: Hash) -> Result<(), LedgerError> {
        self.accumulator.push(leaf);
        self.settle()
    }

    fn settle(&mut self) -> Result<(), LedgerError> {
        while let Some((position, signed)) = self.pending.front() {
            let size = signed.checkpoint.size;
            if size != self.len() {
                break;
            }
            if self.accumulator.root() != signed.checkpoint.root {
                return Err(LedgerError::RootMismatch { checkpoint: *position, size });
            }
            self.matched = size;
            self.pending.pop_front();
        }
        Ok(())
    }

    /// Ends the audit: a checkpoint still waiting claims leaves the log does not have.
    /// Returns how many checkpoints were checked.
    pub fn finish(self) -> Result<u64, LedgerError> {
        match self.pending.front() {
            Some((position, signed)) => Err(LedgerError::LogTruncated {
                checkpoint: *position,
                size: signed.checkpoint.size,
                entries: self.len(),
            }),
            None => Ok(self.announced as u64),
        }
    }
}

/// Checks a whole log's leaves against its checkpoints: [`CheckpointAuditor`] over slices.
pub fn verify_log(leaves: &[Hash], checkpoints: &[SignedCheckpoint], key: &[u8; 32]) -> Result<(), LedgerError> {
    let mut auditor = CheckpointAuditor::new(key)?;
    let mut checkpoints = checkpoints.iter().peekable();
    for leaf in leaves {
        while let Some(signed) = checkpoints.next_if(|c| c.checkpoint.size <= auditor.len() + 1) {
            auditor.expect(signed.clone())?;
        }
        auditor.push(*leaf)?;
    }
    for signed in checkpoints {
        auditor.expect(signed.clone())?;
    }
    auditor.finish().map(|_| ())
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
