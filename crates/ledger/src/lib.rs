//! The tamper-evident structure of the disclosure log, independent of where the log is stored.
//!
//! This crate owns:
//! - the RFC 6962 / RFC 9162 hashing of log entries into a Merkle tree ([`leaf_hash`], [`node_hash`]),
//!   so that any other RFC 9162 implementation computes the same roots and can check our proofs;
//! - an in-memory, append-only [`MerkleTree`] that answers roots, inclusion proofs and consistency
//!   proofs for the current size and for every earlier size;
//! - the stateless proof verifiers ([`verify_inclusion`], [`verify_consistency`]) that a client or an
//!   auditor runs without trusting the log;
//! - signed [`Checkpoint`]s (size, root, time), so the log operator is committed to what it showed;
//! - [`verify_log`], the offline audit of a whole exported log against its checkpoints.
//!
//! It does not store anything, and it does not decide what a leaf contains: callers hash their
//! canonical entry bytes with [`leaf_hash`] and keep the leaf hashes wherever they keep the log.

mod audit;
mod checkpoint;
mod error;
mod hash;
mod proof;
mod tree;

pub use audit::{RootAccumulator, verify_log};
pub use checkpoint::{Checkpoint, CheckpointSigner, SignedCheckpoint, verify_checkpoint};
pub use error::LedgerError;
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use proof::{verify_consistency, verify_inclusion};
pub use tree::MerkleTree;
