//! Verifying the disclosure log from its entries and signed checkpoints alone, as they stream
//! past: what `mashctl log verify` runs, online against the broker's database or offline on an
//! export, so that an external auditor needs nothing from the broker but the export and its
//! public key. Memory stays constant whatever the log's length.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::{
    Checkpoint, CheckpointAuditor, LedgerError, SignedCheckpoint,
    entry::{Entry, GENESIS, StoredEntry},
    hash::leaf_hash,
};

/// What verification found wrong, naming the first entry it could.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Finding {
    /// The first entry found wrong, when one can be named.
    pub seq: Option<u64>,
    pub message: String,
}

pub fn finding(seq: Option<u64>, message: String) -> Finding {
    Finding { seq, message }
}

/// What a clean verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    pub checkpoints: u64,
}

/// The chain and its checkpoints, checked entry by entry: each entry's sequence number, its own
/// hash and its link to the one before; each checkpoint's signature and root, through
/// [`CheckpointAuditor`]. Checkpoints are announced before the entry that reaches their size.
#[derive(Debug)]
pub struct Verifier {
    auditor: CheckpointAuditor,
    prev_hash: String,
}

impl Verifier {
    pub fn new(key: &[u8; 32]) -> Result<Self, Finding> {
        let auditor = CheckpointAuditor::new(key).map_err(|e| finding(None, e.to_string()))?;
        Ok(Self { auditor, prev_hash: GENESIS.to_owned() })
    }

    /// Entries checked so far.
    pub fn len(&self) -> u64 {
        self.auditor.len()
    }

    /// Whether no entry has been checked.
    pub fn is_empty(&self) -> bool {
        self.auditor.is_empty()
    }

    /// Announces the next checkpoint, in order of size.
    pub fn checkpoint(&mut self, signed: SignedCheckpoint) -> Result<(), Finding> {
        self.auditor.expect(signed).map_err(|e| self.explain(e))
    }

    /// Checks the next entry.
    pub fn entry(&mut self, entry: &Entry) -> Result<(), Finding> {
        let (seq, expected) = (entry.seq, self.len() + 1);
        if seq > expected {
            return Err(finding(Some(expected), format!("entry {expected} is missing: deleted")));
        }
        if seq < expected {
            return Err(finding(
                Some(seq),
                format!("entry {seq} appears again at position {expected}: inserted or reordered"),
            ));
        }
        if entry.compute_hash() != entry.entry_hash {
            return Err(finding(
                Some(seq),
                format!("entry {seq} was modified, moved or inserted: its contents do not match its hash"),
            ));
        }
        if entry.prev_hash != self.prev_hash {
            return Err(finding(
                Some(seq),
                format!("entry {seq} does not follow entry {}: inserted, reordered or rewritten", seq - 1),
            ));
        }
        let bytes =
            hex::decode(&entry.entry_hash).map_err(|_| finding(Some(seq), format!("entry {seq}'s hash is not hex")))?;
        self.auditor.push(leaf_hash(&bytes)).map_err(|e| self.explain(e))?;
        self.prev_hash.clone_from(&entry.entry_hash);
        Ok(())
    }

    /// Ends verification: every announced checkpoint must have been reached.
    pub fn finish(self) -> Result<Verified, Finding> {
        let entries = self.len();
        match self.auditor.finish() {
            Ok(checkpoints) => Ok(Verified { entries, checkpoints }),
            Err(LedgerError::LogTruncated { size, entries, .. }) => Err(finding(
                Some(entries + 1),
                format!("log truncated: a signed checkpoint covers {size} entries, but only {entries} remain"),
            )),
            Err(other) => Err(finding(None, other.to_string())),
        }
    }

    fn explain(&self, error: LedgerError) -> Finding {
        match error {
            LedgerError::CheckpointSignatureInvalid { size, .. } => {
                finding(None, format!("the checkpoint of size {size} has a bad signature"))
            }
            LedgerError::SizeWentBackwards { previous, size, .. } => {
                finding(None, format!("checkpoint sizes go backwards: {size} after {previous}"))
            }
            LedgerError::RootMismatch { size, .. } => {
                let first = self.auditor.matched() + 1;
                finding(
                    Some(first),
                    format!("entries {first} to {size} differ from the signed checkpoint of size {size}"),
                )
            }
            other => finding(None, other.to_string()),
        }
    }
}

/// Verifies entries and checkpoints given as two streams, each in log order.
pub fn verify_streams(
    entries: impl IntoIterator<Item = Result<Entry, Finding>>,
    checkpoints: impl IntoIterator<Item = Result<SignedCheckpoint, Finding>>,
    key: &[u8; 32],
) -> Result<Verified, Finding> {
    let mut verifier = Verifier::new(key)?;
    let mut checkpoints = checkpoints.into_iter().peekable();
    for entry in entries {
        let entry = entry?;
        while let Some(next) =
            checkpoints.next_if(|c| c.as_ref().map_or(true, |c| c.checkpoint.size <= verifier.len() + 1))
        {
            verifier.checkpoint(next?)?;
        }
        verifier.entry(&entry)?;
    }
    // One checkpoint beyond the end is enough to show truncation.
    if let Some(next) = checkpoints.next() {
        verifier.checkpoint(next?)?;
    }
    verifier.finish()
}

/// One exported checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub timestamp_unix: i64,
    pub key_id: String,
    pub signature: String,
}

impl From<&SignedCheckpoint> for ExportedCheckpoint {
    fn from(s: &SignedCheckpoint) -> Self {
        Self {
            origin: s.checkpoint.origin.clone(),
            size: s.checkpoint.size,
            root: hex::encode(s.checkpoint.root),
            timestamp_unix: s.checkpoint.timestamp_unix,
            key_id: s.key_id.clone(),
            signature: hex::encode(s.signature),
        }
    }
}

impl TryFrom<ExportedCheckpoint> for SignedCheckpoint {
    type Error = Finding;

    fn try_from(e: ExportedCheckpoint) -> Result<Self, Finding> {
        let bad = || finding(None, format!("the exported checkpoint of size {} is malformed", e.size));
        let root = hex::decode(&e.root).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let signature = hex::decode(&e.signature).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint { origin: e.origin, size: e.size, root, timestamp_unix: e.timestamp_unix },
            key_id: e.key_id,
            signature,
        })
    }
}

/// An export: the log's entries, then its checkpoints in order of size, one JSON object per line
/// (`{"entry": …}` or `{"checkpoint": …}`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportLine {
    Entry(Box<Entry>),
    Checkpoint(ExportedCheckpoint),
}

impl ExportLine {
    /// The line as written to an export, without its newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An entry's line, from its stored texts as they are: what `Entry` would write, and also
    /// for a row whose text the log never wrote, which the auditor's verification then names.
    pub fn stored_entry_line(stored: &StoredEntry) -> String {
        format!("{{\"entry\":{}}}", serde_json::to_string(stored).unwrap_or_default())
    }
}

/// Verifies an export read twice, once for its entries and once for its checkpoints (two readers
/// of the same bytes), so that neither is held in memory.
pub fn verify_export(entries: impl BufRead, checkpoints: impl BufRead, key: &[u8; 32]) -> Result<Verified, Finding> {
    let entries = export_lines(entries, "{\"checkpoint\"").filter_map(|line| match line {
        Ok(ExportLine::Entry(entry)) => Some(Ok(*entry)),
        Ok(ExportLine::Checkpoint(_)) => None,
        Err(error) => Some(Err(error)),
    });
    let checkpoints = export_lines(checkpoints, "{\"entry\"").filter_map(|line| match line {
        Ok(ExportLine::Checkpoint(checkpoint)) => Some(SignedCheckpoint::try_from(checkpoint)),
        Ok(ExportLine::Entry(_)) => None,
        Err(error) => Some(Err(error)),
    });
    verify_streams(entries, checkpoints, key)
}

/// The export's lines, parsed; blank lines, and lines starting with `skip` (the other kind, which
/// the other pass reads), are not.
fn export_lines(reader: impl BufRead, skip: &'static str) -> impl Iterator<Item = Result<ExportLine, Finding>> {
    reader.lines().zip(1u64..).filter_map(move |(line, number)| {
        let line = match line {
            Ok(line) => line,
            Err(e) => return Some(Err(finding(None, format!("export line {number} cannot be read: {e}")))),
        };
        if line.trim().is_empty() || line.starts_with(skip) {
            return None;
        }
        Some(
            serde_json::from_str::<ExportLine>(&line)
                .map_err(|e| finding(None, format!("export line {number} is not an entry or a checkpoint: {e}"))),
        )
    })
}
