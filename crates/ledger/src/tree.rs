//! The in-memory Merkle tree that answers for every size the log has ever had.

use std::fmt;

use crate::{
    error::LedgerError,
    hash::{Hash, empty_root, node_hash, split_point},
};

/// An append-only Merkle tree over leaf hashes, kept in memory so that roots and proofs for any
/// earlier size are fast (an inclusion proof in a 1,000,000-leaf tree takes microseconds).
///
/// It stores every complete subtree: `levels[0]` holds the leaves and `levels[k][i]` the hash of
/// the 2^k leaves starting at `i * 2^k`. That is about 2n hashes (64 MB at a million leaves), and
/// because every subtree RFC 9162 asks for at any size is either one of these or a short right
/// edge of them, no proof ever rehashes more than O(log n) nodes.
#[derive(Clone, Default)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl fmt::Debug for MerkleTree {
    /// Leaves out the hashes: a million of them helps no one reading a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleTree").field("len", &self.len()).field("root", &hex::encode(self.root())).finish()
    }
}

impl MerkleTree {
    /// An empty tree, whose root is SHA-256 of no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a tree level by level, which is cheaper than pushing the leaves one by one.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut levels = vec![leaves.into_iter().collect::<Vec<_>>()];
        while let Some(upper) = levels.last().and_then(|level| pair_up(level)) {
            levels.push(upper);
        }
        Self { levels }
    }

    /// Appends a leaf hash, completing any subtrees it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        for level in 0.. {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(carry);
            if row.len() % 2 == 1 {
                return;
            }
            carry = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
        }
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Result<Hash, LedgerError> {
        let leaves = self.levels.first().map(Vec::as_slice).unwrap_or_default();
        usize::try_from(index)
            .ok()
            .and_then(|i| leaves.get(i).copied())
            .ok_or(LedgerError::IndexOutOfRange { index, size: self.len() })
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Merkle tree hash of all the leaves.
    pub fn root(&self) -> Hash {
        self.root_of(self.leaf_count())
    }

    /// The Merkle tree hash of the first `size` leaves: the root the log had at that size.
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        Ok(self.root_of(self.checked_size(size)?))
    }

    /// The RFC 9162 section 2.1.3.1 audit path for leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        let n = self.checked_size(size)?;
        if index >= size {
            return Err(LedgerError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        // index < size <= n, and n fits in usize.
        self.path(index as usize, 0, n, &mut proof);
        Ok(proof)
    }

    /// The RFC 9162 section 2.1.4.1 proof that the tree of `old_size` leaves is a prefix of the tree
    /// of `new_size` leaves. Empty when `old_size` is 0 or equal to `new_size`: nothing to prove.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, LedgerError> {
        let n = self.checked_size(new_size)?;
        if old_size > new_size {
            return Err(LedgerError::SizesReversed { old_size, new_size });
        }
        let mut proof = Vec::new();
        if old_size > 0 && old_size < new_size {
            // old_size < new_size <= n, and n fits in usize.
            self.subproof(old_size as usize, 0, n, true, &mut proof);
        }
        Ok(proof)
    }

    fn leaf_count(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// Refuses sizes the tree has not reached, so no later index can run off the end of a level.
    fn checked_size(&self, size: u64) -> Result<usize, LedgerError> {
        let len = self.leaf_count();
        usize::try_from(size).ok().filter(|&n| n <= len).ok_or(LedgerError::SizeTooLarge { size, len: len as u64 })
    }

    fn root_of(&self, n: usize) -> Hash {
        if n == 0 { empty_root() } else { self.subtree(0, n) }
    }

    /// MTH of the `n >= 1` leaves starting at `start`. RFC 9162's recursion only ever asks for
    /// ranges whose start is a multiple of the smallest power of two >= n, so a power-of-two range
    /// is always one stored complete subtree, and any other range splits into one of those plus a
    /// smaller right part.
    fn subtree(&self, start: usize, n: usize) -> Hash {
        if n.is_power_of_two() {
            let level = n.trailing_zeros() as usize;
            return self.levels[level][start >> level];
        }
        let k = split_point(n);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, n - k))
    }

    /// PATH(m, D[start..start + n]), deepest sibling first.
    fn path(&self, m: usize, start: usize, n: usize, proof: &mut Vec<Hash>) {
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, k, proof);
            proof.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, proof);
            proof.push(self.subtree(start, k));
        }
    }

    /// SUBPROOF(m, D[start..start + n], whole), where `whole` says the m-leaf tree is the very
    /// subtree being descended, so the verifier already has its hash.
    fn subproof(&self, m: usize, start: usize, n: usize, whole: bool, proof: &mut Vec<Hash>) {
        if m == n {
            if !whole {
                proof.push(self.subtree(start, n));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, k, whole, proof);
            proof.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, proof);
            proof.push(self.subtree(start, k));
        }
    }
}

/// The next level up: the hashes of each complete pair, or `None` once a level has no pair.
fn pair_up(level: &[Hash]) -> Option<Vec<Hash>> {
    (level.len() >= 2).then(|| level.chunks_exact(2).map(|pair| node_hash(&pair[0], &pair[1])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn leaves(n: u32) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn pushing_and_building_store_the_same_levels() {
        for n in 0..70 {
            let mut pushed = MerkleTree::new();
            leaves(n).into_iter().for_each(|leaf| pushed.push(leaf));
            let built = MerkleTree::from_leaves(leaves(n));
            let trim = |t: &MerkleTree| t.levels.iter().filter(|l| !l.is_empty()).cloned().collect::<Vec<_>>();
            assert_eq!(trim(&pushed), trim(&built), "n = {n}");
        }
    }

    #[test]
    fn sizes_beyond_the_tree_are_refused() {
        let tree = MerkleTree::from_leaves(leaves(5));
        assert_eq!(tree.root_at(6), Err(LedgerError::SizeTooLarge { size: 6, len: 5 }));
        assert_eq!(tree.inclusion_proof(0, 6), Err(LedgerError::SizeTooLarge { size: 6, len: 5 }));
        assert_eq!(tree.inclusion_proof(5, 5), Err(LedgerError::IndexOutOfRange { index: 5, size: 5 }));
        assert_eq!(tree.consistency_proof(3, u64::MAX), Err(LedgerError::SizeTooLarge { size: u64::MAX, len: 5 }));
        assert_eq!(tree.consistency_proof(4, 3), Err(LedgerError::SizesReversed { old_size: 4, new_size: 3 }));
    }
}
