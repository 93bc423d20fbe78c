//! Signed checkpoints: the log operator's signed word that the log had this size and root at this
//! time. Two checkpoints whose roots are not consistent are proof, in the operator's own
//! signature, that the log was rewritten.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::{error::LedgerError, hash::Hash};

/// A statement of the log's size and root at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which log this is, e.g. "mash.local/disclosure-log", so a checkpoint of one log cannot be
    /// passed off as one of another signed by the same key.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub timestamp_unix: i64,
}

impl Checkpoint {
    /// The exact bytes that are signed, in the style of a C2SP signed-note body:
    /// `"{origin}\n{size}\n{lowercase hex root}\n{timestamp_unix}\n"`, all decimal ASCII.
    ///
    /// The form is unambiguous: the last three lines cannot contain a newline, so reading from the
    /// end recovers every field, even from an origin that (wrongly) contains one.
    pub fn signed_bytes(&self) -> Vec<u8> {
        format!("{}\n{}\n{}\n{}\n", self.origin, self.size, hex::encode(self.root), self.timestamp_unix).into_bytes()
    }
}

/// A checkpoint with the Ed25519 signature over its [`Checkpoint::signed_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// Names the key that signed, so a verifier holding several (after rotation) can pick one;
    /// it is a hint, not part of the signed bytes.
    pub key_id: String,
    pub signature: [u8; 64],
}

/// The log operator's checkpoint signing key.
pub struct CheckpointSigner {
    key_id: String,
    key: SigningKey,
}

impl fmt::Debug for CheckpointSigner {
    /// Shows the key id and the public half only, so the secret never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("key_id", &self.key_id)
            .field("verifying_key", &hex::encode(self.verifying_key_bytes()))
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// A signer from a 32-byte Ed25519 secret seed; where the seed is kept is the caller's business.
    pub fn from_seed(key_id: &str, seed: [u8; 32]) -> Self {
        Self { key_id: key_id.to_owned(), key: SigningKey::from_bytes(&seed) }
    }

    /// The key id this signer puts on its checkpoints.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key that auditors need to check this signer's checkpoints.
    pub fn verifying_key_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Signs the checkpoint's [`Checkpoint::signed_bytes`].
    pub fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let signature = self.key.sign(&checkpoint.signed_bytes()).to_bytes();
        SignedCheckpoint { checkpoint, key_id: self.key_id.clone(), signature }
    }
}

/// Checks a checkpoint's signature under the given Ed25519 public key.
pub fn verify_checkpoint(signed: &SignedCheckpoint, verifying_key: &[u8; 32]) -> Result<(), LedgerError> {
    check_signature(signed, &parse_verifying_key(verifying_key)?)
}

/// Parses the public key once, so auditing many checkpoints does not decompress it each time.
pub(crate) fn parse_verifying_key(bytes: &[u8; 32]) -> Result<VerifyingKey, LedgerError> {
    VerifyingKey::from_bytes(bytes).map_err(|_| LedgerError::InvalidVerifyingKey)
}

/// Strict verification: rejects weak keys and malleable signatures, so one checkpoint has exactly
/// one valid signature encoding per key.
pub(crate) fn check_signature(signed: &SignedCheckpoint, key: &VerifyingKey) -> Result<(), LedgerError> {
    let signature = Signature::from_bytes(&signed.signature);
    key.verify_strict(&signed.checkpoint.signed_bytes(), &signature)
        .map_err(|_| LedgerError::SignatureInvalid { key_id: signed.key_id.clone(), size: signed.checkpoint.size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_bytes_are_the_documented_text() {
        let checkpoint =
            Checkpoint { origin: "mash.local/disclosure-log".into(), size: 7, root: [0xab; 32], timestamp_unix: -1 };
        let expected = format!("mash.local/disclosure-log\n7\n{}\n-1\n", "ab".repeat(32));
        assert_eq!(checkpoint.signed_bytes(), expected.into_bytes());
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let seed = [0x5a; 32];
        let shown = format!("{:?}", CheckpointSigner::from_seed("k1", seed));
        assert!(!shown.contains(&hex::encode(seed)), "{shown}");
        assert!(shown.contains("k1"), "{shown}");
    }
}
