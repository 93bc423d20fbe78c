//! The handle callers append through, and the log's reads: search, sealed content, purge, and
//! verification and export, which read the log a page at a time (keyset on `seq`) so that their
//! memory does not grow with the log.

use std::sync::Arc;

use futures::Stream;
use mash_db::Db;
use mash_ledger::{Entry, ExportLine, Finding, SignedCheckpoint, StoredEntry, Verified, Verifier};
use mash_seal::{KeyRing, Sealed};
use sqlx::{AssertSqlSafe, Row, any::AnyRow};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    LogError,
    checkpoints::{CheckpointPolicy, Checkpointer},
    seq_value,
    writer::{Append, Companions, GroupHook, MAX_GROUP, NewEntry, Writer},
};

/// Entries read at a time by verification, export and catch-up.
const PAGE: u32 = 1000;

/// The handle checks use to append; cheap to clone.
#[derive(Clone, Debug)]
pub struct DisclosureLog {
    appends: mpsc::Sender<Append>,
    db: Db,
    checkpointer: Checkpointer,
    keys: Arc<KeyRing>,
}

/// Filters for a log search; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub enquiry_id: Option<String>,
    pub requester: Option<String>,
    pub agency: Option<String>,
    pub outcome: Option<mash_ledger::Outcome>,
    /// Any of these person pseudonyms (a non-empty list).
    pub person_refs: Option<Vec<String>>,
    /// Timestamps in the stored form.
    pub recorded_from: Option<String>,
    pub recorded_to: Option<String>,
}

impl DisclosureLog {
    /// Starts the writer task and the checkpoint task. `hook` adds its rows to every group.
    pub fn start(
        db: Db,
        checkpointer: Checkpointer,
        checkpoints: CheckpointPolicy,
        keys: Arc<KeyRing>,
        hook: Arc<dyn GroupHook>,
    ) -> Self {
        let (appends, queue) = mpsc::channel(4 * MAX_GROUP);
        let (written, watcher) = watch::channel(0);
        tokio::spawn(Writer::new(db.clone(), keys.clone(), hook, written).run(queue));
        tokio::spawn(checkpointer.clone().run_checkpoints(checkpoints, watcher));
        Self { appends, db, checkpointer, keys }
    }

    pub fn checkpointer(&self) -> &Checkpointer {
        &self.checkpointer
    }

    /// What entry `seq` showed, decrypted; `None` if it showed nothing or the
    /// content has been purged.
    pub async fn shown(&self, seq: u64) -> Result<Option<Vec<u8>>, LogError> {
        let row = sqlx::query("SELECT key_id, content FROM disclosed_content WHERE seq = $1")
            .bind(seq_value(seq))
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("content")? };
        Ok(Some(self.keys.open(&sealed, seq.to_string().as_bytes())?))
    }

    /// Deletes content recorded before `cutoff` (stored timestamp form); how many rows.
    pub async fn purge_content(&self, cutoff: &str) -> Result<u64, LogError> {
        // Content is stored with its entry's `recorded_at`. Everything before the
        // first entry recorded at or after the cutoff goes: the log's index by time
        // finds that entry among those since the cutoff, and the delete is a range
        // of the content's key, so a purge never reads the whole history. Should
        // clocks ever have gone back, content of an entry recorded at or after the
        // cutoff is still kept.
        let done = sqlx::query(
            "DELETE FROM disclosed_content WHERE seq < COALESCE( \
                 (SELECT MIN(seq) FROM disclosure_log WHERE recorded_at >= $1), \
                 9223372036854775807)",
        )
        .bind(cutoff)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Appends entries and returns once they are durable.
    pub async fn append(&self, entries: Vec<NewEntry>) -> Result<(), LogError> {
        self.append_with(entries, Vec::new()).await
    }

    /// Appends entries and their companion rows, and returns once all are durable.
    pub async fn append_with(&self, entries: Vec<NewEntry>, companions: Vec<Companions>) -> Result<(), LogError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (done, durable) = oneshot::channel();
        let append = Append { entries, companions, done };
        self.appends.send(append).await.map_err(|_| LogError::Unavailable)?;
        match durable.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(LogError::Unavailable),
        }
    }

    /// A page of entries after `after_seq`, filtered; empty filters match all.
    pub async fn search(&self, filter: &LogFilter, after_seq: u64, limit: u32) -> Result<Vec<Entry>, LogError> {
        let mut conditions = vec!["seq > $1".to_owned()];
        let mut binds: Vec<&str> = Vec::new();
        for (column, op, value) in [
            ("enquiry_id", "=", filter.enquiry_id.as_deref()),
            ("requester", "=", filter.requester.as_deref()),
            ("agency", "=", filter.agency.as_deref()),
            ("outcome", "=", filter.outcome.map(|o| o.as_str())),
            ("recorded_at", ">=", filter.recorded_from.as_deref()),
            ("recorded_at", "<", filter.recorded_to.as_deref()),
        ] {
            if let Some(value) = value {
                binds.push(value);
                conditions.push(format!("{column} {op} ${}", binds.len() + 1));
            }
        }
        if let Some(refs) = &filter.person_refs {
            let first = binds.len() + 2;
            binds.extend(refs.iter().map(String::as_str));
            let params: Vec<String> = (first..first + refs.len()).map(|n| format!("${n}")).collect();
            conditions.push(format!("person_ref IN ({})", params.join(", ")));
        }
        let sql = format!(
            "SELECT * FROM disclosure_log WHERE {} ORDER BY seq LIMIT {}",
            conditions.join(" AND "),
            limit.clamp(1, 1000)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(seq_value(after_seq));
        for value in binds {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        rows.iter().map(|row| Ok(Entry::try_from(stored_from_row(row)?)?)).collect()
    }

    /// Every entry the filter matches, in log order, page by page.
    pub async fn search_all(&self, filter: &LogFilter) -> Result<Vec<Entry>, LogError> {
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            let after = entries.last().map_or(0, |e| e.seq);
            let page = self.search(filter, after, PAGE).await?;
            let done = page.len() < PAGE as usize;
            entries.extend(page);
            if done {
                return Ok(entries);
            }
        }
    }

    /// Entries after `after_seq`, as stored, at most a page.
    async fn page(&self, after_seq: u64) -> Result<Vec<StoredEntry>, LogError> {
        let sql = format!("SELECT * FROM disclosure_log WHERE seq > $1 ORDER BY seq LIMIT {PAGE}");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(seq_value(after_seq)).fetch_all(&self.db.pool).await?;
        rows.iter().map(stored_from_row).collect()
    }

    /// Recomputes the whole log from the database and the signed checkpoints, a page at a time.
    pub async fn verify(&self) -> Result<Result<Verified, Finding>, LogError> {
        let mut verifier = match Verifier::new(&self.checkpointer.verifying_key()) {
            Ok(verifier) => verifier,
            Err(finding) => return Ok(Err(finding)),
        };
        let mut after = 0;
        loop {
            let page = self.page(after).await?;
            let Some(last) = page.last().map(|e| e.seq) else { break };
            // The checkpoints this page reaches, announced before its entries: sizes are
            // distinct, so an unbroken page of entries reaches at most a page of them.
            let checkpoints = self.checkpointer.checkpoint_page(after, last, PAGE).await?;
            if let Err(finding) = verify_page(&mut verifier, checkpoints, page) {
                return Ok(Err(finding));
            }
            after = last;
        }
        // One checkpoint beyond the last entry is enough to show truncation.
        let beyond = self.checkpointer.checkpoint_page(after, i64::MAX as u64, 1).await?;
        if let Some(signed) = beyond.into_iter().next()
            && let Err(finding) = verifier.checkpoint(signed)
        {
            return Ok(Err(finding));
        }
        Ok(verifier.finish())
    }

    /// The whole log as JSON lines, entries then checkpoints, streamed a page (one chunk of
    /// lines) at a time as it is read. Only the checkpoints that the exported entries reach are
    /// exported, so that an export taken while the log grows still verifies.
    pub fn export(&self) -> impl Stream<Item = Result<String, LogError>> + Send + 'static {
        let log = self.clone();
        futures::stream::try_unfold(Export::Entries { after: 0 }, move |state| {
            let log = log.clone();
            async move { log.export_chunk(state).await }
        })
    }

    async fn export_chunk(&self, mut state: Export) -> Result<Option<(String, Export)>, LogError> {
        let mut chunk = String::new();
        loop {
            match state {
                Export::Entries { after } => {
                    let page = self.page(after).await?;
                    let Some(last) = page.last().map(|e| e.seq) else {
                        state = Export::Checkpoints { after: 0, up_to: after };
                        continue;
                    };
                    for stored in &page {
                        chunk.push_str(&ExportLine::stored_entry_line(stored));
                        chunk.push('\n');
                    }
                    return Ok(Some((chunk, Export::Entries { after: last })));
                }
                Export::Checkpoints { after, up_to } => {
                    let page = self.checkpointer.checkpoint_page(after, up_to, PAGE).await?;
                    let Some(last) = page.last().map(|c| c.checkpoint.size) else { return Ok(None) };
                    for signed in &page {
                        chunk.push_str(&ExportLine::Checkpoint(signed.into()).to_line());
                        chunk.push('\n');
                    }
                    return Ok(Some((chunk, Export::Checkpoints { after: last, up_to })));
                }
            }
        }
    }
}

/// Where an export has got to.
enum Export {
    Entries { after: u64 },
    Checkpoints { after: u64, up_to: u64 },
}

fn verify_page(
    verifier: &mut Verifier,
    checkpoints: Vec<SignedCheckpoint>,
    page: Vec<StoredEntry>,
) -> Result<(), Finding> {
    let mut checkpoints = checkpoints.into_iter().peekable();
    for stored in page {
        let seq = stored.seq;
        let entry = Entry::try_from(stored).map_err(|e| {
            mash_ledger::finding(
                Some(seq),
                format!("entry {seq} was modified: its {} is not one the log writes", e.field),
            )
        })?;
        while let Some(signed) = checkpoints.next_if(|c| c.checkpoint.size <= verifier.len() + 1) {
            verifier.checkpoint(signed)?;
        }
        verifier.entry(&entry)?;
    }
    checkpoints.try_for_each(|signed| verifier.checkpoint(signed))
}

fn stored_from_row(row: &AnyRow) -> Result<StoredEntry, LogError> {
    let text = |column: &str| -> Result<String, LogError> { Ok(row.try_get::<String, _>(column)?) };
    Ok(StoredEntry {
        seq: u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
        recorded_at: text("recorded_at")?,
        requester: text("requester")?,
        role: text("role")?,
        enquiry_id: text("enquiry_id")?,
        level: text("level")?,
        purpose: text("purpose")?,
        lawful_basis: text("lawful_basis")?,
        consent: text("consent")?,
        subject_id: text("subject_id")?,
        agency: text("agency")?,
        record_ref: text("record_ref")?,
        category: text("category")?,
        outcome: text("outcome")?,
        tier: text("tier")?,
        reason: text("reason")?,
        policy_version: text("policy_version")?,
        content_digest: text("content_digest")?,
        person_ref: text("person_ref")?,
        requester_agency: text("requester_agency")?,
        on_behalf_of: text("on_behalf_of")?,
        recipient: text("recipient")?,
        prev_hash: text("prev_hash")?,
        entry_hash: text("entry_hash")?,
    })
}
