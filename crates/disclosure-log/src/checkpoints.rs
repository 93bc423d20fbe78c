//! The Merkle tree over the disclosure log (the Merkle cache), and its signed checkpoints.
//!
//! Leaf `i` of the tree is `leaf_hash(entry_hash)` of the entry with
//! `seq = i + 1`; the entry hash already commits to the entry's fields and
//! to the chain before it. The cache is kept in memory and caught up from the
//! database before every use, so it also covers entries another replica
//! wrote. Signing needs only the root, so the cache holds a root accumulator
//! (one hash per set bit of the size); the whole tree (~2n hashes: 640 MB at
//! ten million entries) is built only once a proof is asked for. A checkpoint task signs the tree's size and root every N entries or
//! every T, whichever comes first.

use std::{sync::Arc, time::Duration};

use mash_db::Db;
use mash_domain::DomainError;
use mash_ledger::{Checkpoint, CheckpointSigner, Hash, MerkleTree, RootAccumulator, SignedCheckpoint};
use serde::{Deserialize, Serialize};
use sqlx::{Row, any::AnyRow};
use tokio::sync::{Mutex, watch};

use crate::LogError;

/// The name the log signs its checkpoints under.
pub const ORIGIN: &str = "mash.local/disclosure-log";

/// When to sign a checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct CheckpointPolicy {
    pub every_entries: u64,
    pub every: Duration,
}

/// Signs checkpoints and answers proofs from the Merkle cache.
#[derive(Clone)]
pub struct Checkpointer {
    db: Db,
    cache: Arc<Mutex<MerkleCache>>,
    signer: Arc<CheckpointSigner>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer").field("signer", &self.signer).finish_non_exhaustive()
    }
}

/// The signing key's file: a key id and a 32-byte seed, hex.
#[derive(Serialize, Deserialize)]
struct SigningKeyFile {
    key_id: String,
    seed: String,
}

/// Reads the broker's checkpoint signing key.
pub fn load_signer(path: &std::path::Path) -> Result<CheckpointSigner, LogError> {
    let err = |why: String| LogError::Corrupt(format!("signing key {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: SigningKeyFile = serde_json::from_str(&text).map_err(|_| err("not a signing key file".into()))?;
    let seed: [u8; 32] = hex::decode(&file.seed)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| err("seed is not 32 bytes of hex".into()))?;
    Ok(CheckpointSigner::from_seed(&file.key_id, seed))
}

/// Writes a new random signing key (mode 0600) and its public half beside it
/// (`.pub`, hex), for the development set-up.
pub fn write_new_signing_key(path: &std::path::Path, key_id: &str) -> std::io::Result<()> {
    let mut seed = [0u8; 32];
    getrandom(&mut seed)?;
    let file = SigningKeyFile { key_id: key_id.to_owned(), seed: hex::encode(seed) };
    let text = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
    mash_seal::write_private(path, text.as_bytes())?;
    let public = CheckpointSigner::from_seed(key_id, seed).verifying_key_bytes();
    std::fs::write(path.with_extension("pub"), hex::encode(public))
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

impl Checkpointer {
    pub fn new(db: Db, signer: CheckpointSigner) -> Self {
        Self { db, cache: Arc::new(Mutex::new(MerkleCache::default())), signer: Arc::new(signer) }
    }

    pub fn verifying_key(&self) -> [u8; 32] {
        self.signer.verifying_key_bytes()
    }

    /// Catches the cache up with the database (and builds the tree first, if `proofs` and not
    /// yet built), and returns it locked.
    async fn synced(&self, proofs: bool) -> Result<tokio::sync::MutexGuard<'_, MerkleCache>, LogError> {
        let mut cache = self.cache.lock().await;
        let known = cache.accumulator.len();
        if proofs && cache.tree.is_none() {
            let mut tree = MerkleTree::new();
            while tree.len() < known {
                let page = self.leaves_after(tree.len(), CATCH_UP.min(known - tree.len())).await?;
                if page.is_empty() {
                    break;
                }
                page.into_iter().for_each(|leaf| tree.push(leaf));
            }
            cache.tree = Some(tree);
        }
        loop {
            let page = self.leaves_after(cache.accumulator.len(), CATCH_UP).await?;
            let full = page.len() as u64 == CATCH_UP;
            page.into_iter().for_each(|leaf| cache.push(leaf));
            if !full {
                return Ok(cache);
            }
        }
    }

    /// The leaves of up to `limit` entries after `after`, stopping at a gap: commits are
    /// serialised by `log_head`, so the committed log has none, and a tree is never built over a
    /// hole.
    async fn leaves_after(&self, after: u64, limit: u64) -> Result<Vec<Hash>, LogError> {
        let sql = format!("SELECT seq, entry_hash FROM disclosure_log WHERE seq > $1 ORDER BY seq LIMIT {limit}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .fetch_all(&self.db.pool)
            .await?;
        let mut leaves = Vec::with_capacity(rows.len());
        for (row, expected) in rows.iter().zip(after + 1..) {
            if u64::try_from(row.try_get::<i64, _>("seq")?).ok() != Some(expected) {
                break;
            }
            leaves.push(leaf_of(&row.try_get::<String, _>("entry_hash")?)?);
        }
        Ok(leaves)
    }

    /// Signs and stores a checkpoint of the current log, unless one of that
    /// size exists already.
    pub async fn checkpoint(&self) -> Result<Option<SignedCheckpoint>, LogError> {
        let cache = self.synced(false).await?;
        let size = cache.accumulator.len();
        if size == 0 || self.latest().await?.is_some_and(|c| c.checkpoint.size >= size) {
            return Ok(None);
        }
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: cache.accumulator.root(),
            timestamp_unix: time::OffsetDateTime::now_utc().unix_timestamp(),
        };
        drop(cache);
        let signed = self.signer.sign(checkpoint);
        sqlx::query(
            "INSERT INTO checkpoints (size, origin, root, timestamp_unix, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(i64::try_from(signed.checkpoint.size).unwrap_or(i64::MAX))
        .bind(signed.checkpoint.origin.clone())
        .bind(hex::encode(signed.checkpoint.root))
        .bind(signed.checkpoint.timestamp_unix)
        .bind(signed.key_id.clone())
        .bind(hex::encode(signed.signature))
        .execute(&self.db.pool)
        .await?;
        Ok(Some(signed))
    }

    /// The checkpoint of exactly `size`, or the latest when `size` is 0.
    pub async fn checkpoint_of(&self, size: u64) -> Result<Option<SignedCheckpoint>, LogError> {
        if size == 0 {
            return self.latest().await;
        }
        let row = sqlx::query("SELECT * FROM checkpoints WHERE size = $1")
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    async fn latest(&self) -> Result<Option<SignedCheckpoint>, LogError> {
        let row =
            sqlx::query("SELECT * FROM checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(&self.db.pool).await?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    /// The checkpoints of sizes after `after` and up to `up_to`, oldest first, at most `limit`:
    /// a page, so that no reader holds them all.
    pub async fn checkpoint_page(&self, after: u64, up_to: u64, limit: u32) -> Result<Vec<SignedCheckpoint>, LogError> {
        let sql = format!("SELECT * FROM checkpoints WHERE size > $1 AND size <= $2 ORDER BY size LIMIT {limit}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::try_from(up_to).unwrap_or(i64::MAX))
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// The leaf hash of entry `seq` and its inclusion proof in the tree of `size`.
    pub async fn inclusion_proof(&self, seq: u64, size: u64) -> Result<(Hash, Vec<Hash>), LogError> {
        let cache = self.synced(true).await?;
        let tree = cache.tree()?;
        let invalid = |e: mash_ledger::LedgerError| LogError::Invalid(DomainError::invalid("seq", e.to_string()));
        if seq == 0 || seq > size || size > tree.len() {
            return Err(DomainError::invalid(
                "seq",
                format!("must be 1 to the tree size {size}, at most {}", tree.len()),
            )
            .into());
        }
        let proof = tree.inclusion_proof(seq - 1, size).map_err(invalid)?;
        let leaf = tree.leaf(seq - 1).map_err(invalid)?;
        Ok((leaf, proof))
    }

    pub async fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, LogError> {
        let cache = self.synced(true).await?;
        cache
            .tree()?
            .consistency_proof(old_size, new_size)
            .map_err(|e| DomainError::invalid("old_size", e.to_string()).into())
    }

    /// Signs checkpoints until the process ends: when `written` has grown by
    /// `every_entries` since the last one, or `every` has passed with growth.
    pub async fn run_checkpoints(self, policy: CheckpointPolicy, mut written: watch::Receiver<u64>) {
        let mut signed_size = 0;
        loop {
            let timer = tokio::time::sleep(policy.every);
            tokio::select! {
                _ = timer => {}
                changed = written.changed() => {
                    if changed.is_err() { return; }
                    if *written.borrow() < signed_size + policy.every_entries { continue; }
                }
            }
            match self.checkpoint().await {
                Ok(Some(signed)) => signed_size = signed.checkpoint.size,
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "signing a checkpoint failed; will retry"),
            }
        }
    }
}

/// Entries read at a time while catching up.
const CATCH_UP: u64 = 10_000;

/// The leaves the log has, as a root accumulator, and as the whole tree once proofs are asked for.
#[derive(Default)]
struct MerkleCache {
    accumulator: RootAccumulator,
    tree: Option<MerkleTree>,
}

impl MerkleCache {
    fn push(&mut self, leaf: Hash) {
        self.accumulator.push(leaf);
        if let Some(tree) = &mut self.tree {
            tree.push(leaf);
        }
    }

    fn tree(&self) -> Result<&MerkleTree, LogError> {
        self.tree.as_ref().ok_or_else(|| LogError::Corrupt("the Merkle tree was not built".into()))
    }
}

/// The Merkle leaf of an entry: RFC 6962 `leaf_hash` of its entry hash.
pub fn leaf_of(entry_hash_hex: &str) -> Result<Hash, LogError> {
    let bytes = hex::decode(entry_hash_hex).map_err(|_| LogError::Corrupt("stored entry hash is not hex".into()))?;
    Ok(mash_ledger::leaf_hash(&bytes))
}

fn checkpoint_from_row(row: &AnyRow) -> Result<SignedCheckpoint, LogError> {
    let corrupt = |what: &str| LogError::Corrupt(format!("stored checkpoint has an invalid {what}"));
    let root: Hash = hex::decode(row.try_get::<String, _>("root")?)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("root"))?;
    let signature: [u8; 64] = hex::decode(row.try_get::<String, _>("signature")?)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("signature"))?;
    Ok(SignedCheckpoint {
        checkpoint: Checkpoint {
            origin: row.try_get("origin")?,
            size: u64::try_from(row.try_get::<i64, _>("size")?).map_err(|_| corrupt("size"))?,
            root,
            timestamp_unix: row.try_get("timestamp_unix")?,
        },
        key_id: row.try_get("key_id")?,
        signature,
    })
}
