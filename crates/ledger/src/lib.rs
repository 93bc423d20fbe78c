//! The storage-free half of the disclosure log: what an entry is and how it is hashed, and the
//! tamper-evident structure over the entries, so that an auditor verifies an export with this
//! crate alone (no database, no runtime, no protobuf).
//!
//! This crate owns:
//! - the entry ([`Entry`], its typed [`Fields`], [`Outcome`], [`Role`]), its stored text and its
//!   chained hash, and [`EntryBuilder`], the one way entries are made;
//! - the RFC 6962 / RFC 9162 hashing of entry hashes into a Merkle tree ([`leaf_hash`],
//!   [`node_hash`]), so that any other RFC 9162 implementation computes the same roots and can
//!   check our proofs;
//! - an in-memory, append-only [`MerkleTree`] that answers roots, inclusion proofs and consistency
//!   proofs for the current size and for every earlier size;
//! - the stateless proof verifiers ([`verify_inclusion`], [`verify_consistency`]) that a client or an
//!   auditor runs without trusting the log;
//! - signed [`Checkpoint`]s (size, root, time), so the log operator is committed to what it showed;
//! - the one verifier ([`Verifier`], streamed: constant memory whatever the log's length), used
//!   online by the broker and offline on an export ([`verify_export`]).

mod audit;
mod builder;
mod checkpoint;
mod entry;
mod error;
mod hash;
mod proof;
mod tree;
mod verify;

pub use audit::{CheckpointAuditor, RootAccumulator, verify_log};
pub use builder::{Caller, EnquiryContext, EntryBuilder, Recipient};
pub use checkpoint::{Checkpoint, CheckpointSigner, SignedCheckpoint, verify_checkpoint};
pub use entry::{COLUMNS, Entry, Fields, GENESIS, Outcome, Role, StoredEntry, plain_text};
pub use error::LedgerError;
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use proof::{verify_consistency, verify_inclusion};
pub use tree::MerkleTree;
pub use verify::{ExportLine, ExportedCheckpoint, Finding, Verified, Verifier, finding, verify_export, verify_streams};
