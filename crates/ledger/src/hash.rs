//! RFC 6962 section 2.1 hashing. The 0x00 / 0x01 prefixes keep a leaf from ever being read as an
//! interior node (the second-preimage attack on plain Merkle trees).

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

const LEAF_PREFIX: [u8; 1] = [0x00];
const NODE_PREFIX: [u8; 1] = [0x01];

/// The hash of one log entry: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new().chain_update(LEAF_PREFIX).chain_update(data).finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new().chain_update(NODE_PREFIX).chain_update(left).chain_update(right).finalize().into()
}

/// The root of the empty tree, SHA-256 of no bytes, as RFC 9162 section 2.1.1 defines it.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly less than `n` (n >= 2): where RFC 9162 splits a tree of n leaves.
pub(crate) fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2, "a tree of fewer than two leaves has no split");
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_the_largest_power_of_two_below_n() {
        for (n, k) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512), (1 << 20, 1 << 19)] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }
}
