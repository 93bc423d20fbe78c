//! The group-commit writer: one task that appends for every caller.
//!
//! Concurrent callers hand their entries to the task and wait; it takes everything queued,
//! appends it in one transaction (one fsync for many checks: group commit), and only then
//! releases the waiters. If the group's commit fails, its appends are written again one by one,
//! so that one bad append (a text PostgreSQL refuses, a companion row that breaks a constraint)
//! fails only its own caller. The chain's head lives in the database (`log_head`), so writers in
//! several broker replicas sharing one database extend one chain.

use std::{sync::Arc, time::Instant};

use mash_db::{Arg, Backend, Db, Script};
use mash_domain::Agency;
use mash_ledger::{COLUMNS, Entry, Fields, GENESIS};
use mash_seal::{KeyRing, Sealed};
use sqlx::{AnyConnection, Connection, Row};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{LogError, seq_value};

/// An entry to append, with what travels with it but is not hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    pub fields: Fields,
    /// Exactly what was shown (its SHA-256 is the entry's `content_digest`), stored sealed
    /// beside the log.
    pub shown: Option<Vec<u8>>,
    /// A message this entry sends to an agency, queued by the [`GroupHook`] in the entry's own
    /// transaction once the entry has its sequence number.
    pub deliver: Option<Delivery>,
}

impl From<Fields> for NewEntry {
    fn from(fields: Fields) -> Self {
        Self { fields, shown: None, deliver: None }
    }
}

impl NewEntry {
    pub fn showing(mut self, shown: Vec<u8>) -> Self {
        self.shown = Some(shown);
        self
    }

    pub fn delivering(mut self, deliver: Delivery) -> Self {
        self.deliver = Some(deliver);
        self
    }
}

/// A message to an agency waiting for its log entry's sequence number. The log does not read
/// `payload`; the [`GroupHook`] does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub agency: Agency,
    pub message_id: String,
    pub deliver_after: String,
    pub payload: Vec<u8>,
}

/// An entry placed in the chain, with what travelled with it.
#[derive(Debug)]
pub struct Chained {
    pub entry: Entry,
    pub shown: Option<Vec<u8>>,
    pub deliver: Option<Delivery>,
}

/// What the log's owner adds to each group's transaction (the broker: agencies' notifications
/// and deliveries), so that those rows exist exactly when their entries do, without the log
/// knowing what they are.
pub trait GroupHook: Send + Sync + 'static {
    /// Adds the rows that go with these chained entries.
    fn add_rows(&self, script: &mut Script, group: &[Chained]) -> Result<(), LogError>;

    /// Called once a group has committed.
    fn committed(&self) {}
}

/// The hook of a log that adds nothing: tools and benchmarks.
#[derive(Debug)]
pub struct NoHook;

impl GroupHook for NoHook {
    fn add_rows(&self, _: &mut Script, _: &[Chained]) -> Result<(), LogError> {
        Ok(())
    }
}

/// Rows written in the same transaction as the entries they go with (the holds and possible
/// matches that a check's entries announce), so that neither exists without the other and the
/// check pays for one commit. A row whose `key` is already stored is kept as it was.
#[derive(Clone, Debug)]
pub struct Companions {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub key: &'static str,
    pub rows: Vec<Vec<Arg>>,
}

pub(crate) struct Append {
    pub(crate) entries: Vec<NewEntry>,
    pub(crate) companions: Vec<Companions>,
    pub(crate) done: oneshot::Sender<Result<(), ()>>,
}

/// Appends queued at once beyond this wait for the next transaction.
pub(crate) const MAX_GROUP: usize = 256;

/// What the writer needs besides the queue.
pub(crate) struct Writer {
    pub(crate) db: Db,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) hook: Arc<dyn GroupHook>,
    pub(crate) written: watch::Sender<u64>,
    /// The head this writer last wrote, to skip reading it back when no other replica has
    /// written since.
    head: Option<(u64, String)>,
    /// The writer keeps one connection of its own: SQLite empties a connection's page cache
    /// whenever another connection has written, so a pooled connection re-read the log's pages
    /// on every append. After a failed write it is dropped, whatever state the failure left it in.
    conn: Option<AnyConnection>,
}

impl Writer {
    pub(crate) fn new(db: Db, keys: Arc<KeyRing>, hook: Arc<dyn GroupHook>, written: watch::Sender<u64>) -> Self {
        Self { db, keys, hook, written, head: None, conn: None }
    }

    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<Append>) {
        while let Some(first) = queue.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            self.write_group(group).await;
        }
    }

    /// Writes a group in one transaction; if that fails, each of its appends in its own.
    async fn write_group(&mut self, group: Vec<Append>) {
        let mut entries = Vec::new();
        let mut ends = Vec::with_capacity(group.len());
        let mut companions = Vec::with_capacity(group.len());
        let mut waiters = Vec::with_capacity(group.len());
        for append in group {
            entries.extend(append.entries.into_iter().map(unchained));
            ends.push(entries.len());
            companions.push(append.companions);
            waiters.push(append.done);
        }
        let outcome = self.write(&mut entries, &companions).await;
        if outcome.is_ok() || waiters.len() == 1 {
            for done in waiters {
                let _ = done.send(outcome);
            }
            return;
        }
        tracing::warn!(appends = waiters.len(), "a group's commit failed; writing its appends one by one");
        let mut start = 0;
        for ((end, done), companions) in ends.into_iter().zip(waiters).zip(companions.chunks(1)) {
            let outcome = self.write(&mut entries[start..end], companions).await;
            let _ = done.send(outcome.map_err(|_| ()));
            start = end;
        }
    }

    /// Chains and writes entries in one transaction; records the outcome.
    async fn write(&mut self, entries: &mut [Chained], companions: &[Vec<Companions>]) -> Result<(), ()> {
        let started = Instant::now();
        let last_written = self.head.take();
        let result = match own_connection(&self.db, &mut self.conn).await {
            Ok(conn) => write_chained(&self.db, &self.keys, &*self.hook, conn, entries, companions, last_written).await,
            Err(error) => Err(error.into()),
        };
        let metrics = mash_telemetry::metrics::metrics();
        match result {
            Ok((size, hash)) => {
                metrics.log_committed(entries.len(), started.elapsed(), size);
                self.head = Some((size, hash));
                self.written.send_replace(size);
                self.hook.committed();
                Ok(())
            }
            Err(error) => {
                self.conn = None;
                metrics.log_append_failed();
                tracing::error!(%error, "disclosure log write failed; refusing the disclosures it carried");
                Err(())
            }
        }
    }
}

async fn own_connection<'c>(
    db: &Db,
    conn: &'c mut Option<AnyConnection>,
) -> Result<&'c mut AnyConnection, sqlx::Error> {
    match conn {
        Some(c) => Ok(c),
        None => Ok(conn.insert(db.pool.acquire().await?.detach())),
    }
}

/// The entries as handed over, not yet numbered or chained. They own what the callers handed
/// over: a group is moved into the log, never copied (its content and texts are most of what a
/// check allocates).
fn unchained(new: NewEntry) -> Chained {
    let entry = Entry {
        seq: 0,
        recorded_at: String::new(),
        fields: new.fields,
        prev_hash: String::new(),
        entry_hash: String::new(),
    };
    Chained { entry, shown: new.shown, deliver: new.deliver }
}

/// Chains and writes entries in one transaction.
///
/// On SQLite, when this writer wrote the last head it knows of, the entries are chained on that
/// head and written in one call to the database (the transaction's statements are otherwise a
/// round trip each). If another writer has moved the head meanwhile, the call fails (the
/// entries' sequence numbers are taken, or the trigger `disclosure_log_within_head` refuses
/// them), rolls back, and the entries are written under the head's lock.
async fn write_chained(
    db: &Db,
    keys: &KeyRing,
    hook: &dyn GroupHook,
    conn: &mut AnyConnection,
    entries: &mut [Chained],
    companions: &[Vec<Companions>],
    last_written: Option<(u64, String)>,
) -> Result<(u64, String), LogError> {
    let group = Group { db, keys, hook, companions };
    if let (Backend::Sqlite, Some((size, hash))) = (db.backend, last_written) {
        match group.write_on_known_head(conn, entries, size, hash).await {
            Ok(head) => return Ok(head),
            Err(error) => tracing::debug!(%error, "log head moved or write failed; writing under the head's lock"),
        }
    }
    group.write_locked(conn, entries).await
}

/// Everything one transaction writes besides the entries.
struct Group<'a> {
    db: &'a Db,
    keys: &'a KeyRing,
    hook: &'a dyn GroupHook,
    companions: &'a [Vec<Companions>],
}

impl Group<'_> {
    async fn write_on_known_head(
        &self,
        conn: &mut AnyConnection,
        entries: &mut [Chained],
        size: u64,
        hash: String,
    ) -> Result<(u64, String), LogError> {
        chain(entries, size, hash, &crate::now());
        let mut script = Script::default();
        let new_size = size + entries.len() as u64;
        script.push(
            "UPDATE log_head SET size = ? WHERE id = 1 AND size = ?".into(),
            vec![Arg::Int(seq_value(new_size)), Arg::Int(seq_value(size))],
        );
        self.add(&mut script, entries)?;
        script.commit_at_once(conn).await?;
        Ok(head_of(entries, size))
    }

    /// The transaction first advances `log_head`, which locks it: a concurrent writer, in this
    /// process or another replica, waits until this one commits, then continues the chain from
    /// the entries this one wrote.
    async fn write_locked(&self, conn: &mut AnyConnection, entries: &mut [Chained]) -> Result<(u64, String), LogError> {
        let count = entries.len() as i64;
        let mut tx = conn.begin().await?;
        let head = sqlx::query("UPDATE log_head SET size = size + $1 WHERE id = 1 RETURNING size")
            .bind(count)
            .fetch_one(&mut *tx)
            .await?;
        let size = u64::try_from(head.try_get::<i64, _>("size")? - count).unwrap_or(0);
        let hash = if size == 0 {
            GENESIS.to_owned()
        } else {
            let row = sqlx::query("SELECT entry_hash FROM disclosure_log WHERE seq = $1")
                .bind(seq_value(size))
                .fetch_one(&mut *tx)
                .await?;
            row.try_get("entry_hash")?
        };
        // Stamped under the head's lock, so that across replicas time never goes back along the chain.
        chain(entries, size, hash, &crate::now());
        let mut script = Script::default();
        self.add(&mut script, entries)?;
        script.run(&mut tx, self.db.backend).await?;
        tx.commit().await?;
        Ok(head_of(entries, size))
    }

    /// Everything a transaction writes besides the head: the entries, the sealed content they
    /// showed, the hook's rows and the companion rows.
    fn add(&self, script: &mut Script, entries: &[Chained]) -> Result<(), LogError> {
        let Some(recorded_at) = entries.first().map(|c| c.entry.recorded_at.as_str()) else { return Ok(()) };
        let mut rest = entries;
        for size in chunk_sizes(entries.len()) {
            let (chunk, tail) = rest.split_at(size);
            add_entries(self.db, script, chunk);
            rest = tail;
        }
        let shown: Vec<(u64, Sealed)> = entries
            .iter()
            .filter_map(|c| {
                let seq = c.entry.seq;
                c.shown.as_ref().map(|bytes| (seq, self.keys.seal(seq.to_string().as_bytes(), bytes)))
            })
            .collect();
        let mut shown = shown.into_iter();
        for size in chunk_sizes(shown.len()) {
            add_content(self.db, script, recorded_at, shown.by_ref().take(size));
        }
        self.hook.add_rows(script, entries)?;
        for companions in self.companions.iter().flatten() {
            add_companions(self.db, script, companions);
        }
        Ok(())
    }
}

/// Stamps the entries, numbers them after `size` and chains them on `hash`; again if the head
/// has moved, or if they are written again on their own.
pub(crate) fn chain(entries: &mut [Chained], size: u64, mut hash: String, recorded_at: &str) {
    for (chained, seq) in entries.iter_mut().zip(size + 1..) {
        let entry = &mut chained.entry;
        entry.seq = seq;
        recorded_at.clone_into(&mut entry.recorded_at);
        entry.prev_hash = std::mem::take(&mut hash);
        entry.entry_hash = entry.compute_hash();
        hash.clone_from(&entry.entry_hash);
    }
}

fn head_of(entries: &[Chained], size: u64) -> (u64, String) {
    let last = entries.last().map(|c| c.entry.entry_hash.clone()).unwrap_or_default();
    (size + entries.len() as u64, last)
}

/// The sizes `rows` rows are split into: chunks of 256, 128, 64 and 32, then one chunk of
/// the last 0 to 31. On PostgreSQL each chunk size is one SQL text, so at
/// most 35 prepared statements a table serve every group size (a statement
/// per exact size would be prepared anew for almost every large group); on
/// SQLite a group is one text of all its statements, prepared once per
/// shape of group. Either way a small group — one check's entries — is one
/// statement a table, and 256 rows × 24 columns stay under every backend's
/// parameter limit.
fn chunk_sizes(mut rows: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    for size in [256, 128, 64, 32] {
        while rows >= size {
            sizes.push(size);
            rows -= size;
        }
    }
    if rows > 0 {
        sizes.push(rows);
    }
    sizes
}

fn add_companions(db: &Db, script: &mut Script, companions: &Companions) {
    let width = companions.columns.len();
    for chunk in companions.rows.chunks(64) {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO NOTHING",
            companions.table,
            companions.columns.join(", "),
            db.value_rows(chunk.len(), width),
            companions.key
        );
        script.push(sql, chunk.iter().flatten().cloned().collect());
    }
}

fn add_content(db: &Db, script: &mut Script, recorded_at: &str, chunk: impl ExactSizeIterator<Item = (u64, Sealed)>) {
    let sql = format!(
        "INSERT INTO disclosed_content (seq, recorded_at, key_id, content) VALUES {}",
        db.value_rows(chunk.len(), 4)
    );
    let mut args = Vec::with_capacity(chunk.len() * 4);
    for (seq, sealed) in chunk {
        args.extend([
            Arg::Int(seq_value(seq)),
            Arg::Text(recorded_at.to_owned()),
            Arg::Text(sealed.key_id),
            Arg::Bytes(sealed.blob),
        ]);
    }
    script.push(sql, args);
}

fn add_entries(db: &Db, script: &mut Script, chunk: &[Chained]) {
    let sql = format!(
        "INSERT INTO disclosure_log ({}) VALUES {}",
        COLUMNS.join(", "),
        db.value_rows(chunk.len(), COLUMNS.len())
    );
    let mut args = Vec::with_capacity(chunk.len() * COLUMNS.len());
    for Chained { entry, .. } in chunk {
        args.push(Arg::Int(seq_value(entry.seq)));
        args.extend(entry.texts().map(|text| Arg::Text(text.into_owned())));
        args.extend([Arg::Text(entry.prev_hash.clone()), Arg::Text(entry.entry_hash.clone())]);
    }
    script.push(sql, args);
}

#[cfg(test)]
mod tests {
    use mash_domain::Tier;
    use mash_ledger::{Caller, EntryBuilder, Outcome};

    use super::*;

    fn news(n: usize) -> Vec<Chained> {
        let caller = Caller { identity: "i".into(), role: None, organisation: "mash".into() };
        (0..n)
            .map(|i| {
                let fields = EntryBuilder::new(&caller, "v")
                    .record(&format!("r-{i}"), "police/x")
                    .expect("plain")
                    .build(Outcome::Disclosed, Tier::Detail, "r");
                unchained(fields.into())
            })
            .collect()
    }

    #[test]
    fn entries_chained_again_on_a_moved_head_are_as_if_chained_there_first() {
        let mut moved = news(3);
        chain(&mut moved, 0, GENESIS.into(), "2026-12-01T00:00:00Z");
        chain(&mut moved, 7, "ab".repeat(32), "2026-12-01T00:00:01Z");
        let mut fresh = news(3);
        chain(&mut fresh, 7, "ab".repeat(32), "2026-12-01T00:00:01Z");
        let entries = |c: &[Chained]| c.iter().map(|c| c.entry.clone()).collect::<Vec<_>>();
        let (moved, fresh) = (entries(&moved), entries(&fresh));
        assert_eq!(moved, fresh);
        assert_eq!(moved.iter().map(|e| e.seq).collect::<Vec<_>>(), [8, 9, 10]);
        assert_eq!(moved[0].prev_hash, "ab".repeat(32));
        assert!(moved.windows(2).all(|w| w[1].prev_hash == w[0].entry_hash && w[0].entry_hash == w[0].compute_hash()));
    }

    #[test]
    fn chunks_are_the_fixed_sizes_then_the_rest() {
        assert_eq!(chunk_sizes(0), Vec::<usize>::new());
        assert_eq!(chunk_sizes(10), [10]);
        assert_eq!(chunk_sizes(32), [32]);
        assert_eq!(chunk_sizes(300), [256, 32, 12]);
        assert_eq!(chunk_sizes(511), [256, 128, 64, 32, 31]);
    }
}
