//! Every way a ledger operation or check can fail. The audit variants name the checkpoint by its
//! position in the list and by its size, so an auditor can say where the log stopped being honest.

/// An error from building proofs, verifying them, or auditing a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("tree size {size} is larger than the {len} leaves held")]
    SizeTooLarge { size: u64, len: u64 },
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old_size} is larger than new size {new_size}")]
    SizesReversed { old_size: u64, new_size: u64 },
    #[error("inclusion proof for leaf {index} in a tree of size {size} does not verify: {reason}")]
    InclusionProofInvalid { index: u64, size: u64, reason: &'static str },
    #[error("consistency proof from size {old_size} to size {new_size} does not verify: {reason}")]
    ConsistencyProofInvalid { old_size: u64, new_size: u64, reason: &'static str },
    #[error("the verifying key is not a valid Ed25519 public key")]
    InvalidVerifyingKey,
    #[error("signature by key {key_id:?} on the checkpoint of size {size} does not verify")]
    SignatureInvalid { key_id: String, size: u64 },
    #[error("checkpoint #{checkpoint}: signature by key {key_id:?} on the checkpoint of size {size} does not verify")]
    CheckpointSignatureInvalid { checkpoint: usize, key_id: String, size: u64 },
    #[error("checkpoint #{checkpoint}: origin {found:?} differs from the log's origin {expected:?}")]
    OriginMismatch { checkpoint: usize, expected: String, found: String },
    #[error("checkpoint #{checkpoint}: size went backwards from {previous} to {size}")]
    SizeWentBackwards { checkpoint: usize, previous: u64, size: u64 },
    #[error("checkpoint #{checkpoint}: log truncated: checkpoint of size {size} but only {entries} entries")]
    LogTruncated { checkpoint: usize, size: u64, entries: u64 },
    #[error("checkpoint #{checkpoint}: root mismatch at checkpoint size {size}")]
    RootMismatch { checkpoint: usize, size: u64 },
}
