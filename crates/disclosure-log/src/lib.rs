//! The disclosure log's storage: one hash-chained row per disclosure and per refusal, durable
//! before the broker answers.
//!
//! - [`DisclosureLog`]: the handle callers append through (the group-commit writer in
//!   `writer`), and search, sealed content, purge, streaming verification and export;
//! - [`Checkpointer`]: the Merkle cache over the entries and the signed checkpoints.
//!
//! What an entry is, its hash and the verifier are storage-free, in `mash-ledger`, which an
//! auditor's tool uses alone. What the log's owner writes beside each group (the broker's
//! agency messages) comes in through a [`GroupHook`]; the log knows nothing of it.

mod checkpoints;
mod log;
mod writer;

pub use checkpoints::{CheckpointPolicy, Checkpointer, ORIGIN, leaf_of, load_signer, write_new_signing_key};
pub use log::{DisclosureLog, LogFilter};
pub use mash_ledger::{
    Caller, EnquiryContext, Entry, EntryBuilder, ExportLine, ExportedCheckpoint, Fields, Finding, GENESIS, Outcome,
    Recipient, Role, StoredEntry, Verified, verify_export,
};
pub use writer::{Chained, Companions, Delivery, GroupHook, NewEntry, NoHook};

use mash_domain::DomainError;

/// What went wrong in the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The append was not made durable: fail closed.
    #[error("the disclosure log cannot be written")]
    Unavailable,
    #[error("{0}")]
    Invalid(#[from] DomainError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("sealed data: {0}")]
    Seal(#[from] mash_seal::SealError),
    /// Stored data the log did not write, or a payload its hook cannot read.
    #[error("{0}")]
    Corrupt(String),
}

/// Timestamps are stored in one fixed-width UTC form, e.g.
/// `2026-11-23T12:15:03.398018Z`, so that text order is time order.
const TIMESTAMP: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// A time in the stored form.
pub fn timestamp(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(TIMESTAMP).unwrap_or_default()
}

fn now() -> String {
    timestamp(time::OffsetDateTime::now_utc())
}

fn seq_value(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}
