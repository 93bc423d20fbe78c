//! Stateless proof verification, for clients and auditors who hold only hashes and a root and must
//! not trust the log that sent them. These follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by
//! step, so they agree with every other RFC 9162 verifier.

use crate::{
    error::LedgerError,
    hash::{Hash, empty_root, node_hash},
};

/// Checks that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    let invalid = |reason| LedgerError::InclusionProofInvalid { index, size, reason };
    let computed = root_from_inclusion(leaf, index, size, proof).ok_or(invalid("proof has the wrong length"))?;
    if computed == *root { Ok(()) } else { Err(invalid("root mismatch")) }
}

/// Checks that the tree of `old_size` leaves with `old_root` is a prefix of the tree of `new_size`
/// leaves with `new_root`: that the log only appended in between.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    let invalid = |reason| LedgerError::ConsistencyProofInvalid { old_size, new_size, reason };
    if old_size > new_size {
        return Err(LedgerError::SizesReversed { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return verify_trivial_consistency(old_size, old_root, new_root, proof).map_err(invalid);
    }
    let (first, second) =
        roots_from_consistency(old_size, new_size, old_root, proof).ok_or(invalid("proof has the wrong length"))?;
    if first != *old_root {
        return Err(invalid("old root mismatch"));
    }
    if second != *new_root {
        return Err(invalid("new root mismatch"));
    }
    Ok(())
}

/// RFC 9162 2.1.3.2 steps 2 to 5: the root that `proof` implies, or `None` if it is too short or too long.
fn root_from_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash]) -> Option<Hash> {
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            (fn_, sn) = shift_to_right_child(fn_, sn);
        } else {
            r = node_hash(&r, p);
        }
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    (sn == 0).then_some(r)
}

/// Nothing to prove when one side is empty or both are the same size, but the roots must still be
/// the ones those sizes have, and a non-empty proof is a malformed answer.
fn verify_trivial_consistency(
    old_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), &'static str> {
    if !proof.is_empty() {
        return Err("proof must be empty");
    }
    if old_size == 0 && *old_root != empty_root() {
        return Err("old root is not the empty tree's root");
    }
    if old_size != 0 && old_root != new_root {
        return Err("roots differ at the same size");
    }
    Ok(())
}

/// RFC 9162 2.1.4.2 steps 2 to 6 for 0 < old_size < new_size: the (old, new) roots `proof` implies,
/// or `None` if it is too short or too long.
fn roots_from_consistency(old_size: u64, new_size: u64, old_root: &Hash, proof: &[Hash]) -> Option<(Hash, Hash)> {
    // When old_size is a power of two the old tree is a whole subtree of the new one, and its
    // root is the proof's implicit first element.
    let (seed, rest) = if old_size.is_power_of_two() { (old_root, proof) } else { proof.split_first()? };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            (fn_, sn) = shift_to_right_child(fn_, sn);
        } else {
            sr = node_hash(&sr, c);
        }
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    (sn == 0).then_some((fr, sr))
}

/// Climbs past the levels where the node is a lone left child on the tree's right edge, which
/// RFC 9162 hashes no sibling for: "right-shift both until LSB(fn) is set or fn is 0".
fn shift_to_right_child(mut fn_: u64, mut sn: u64) -> (u64, u64) {
    while fn_ != 0 && fn_ & 1 == 0 {
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    (fn_, sn)
}
