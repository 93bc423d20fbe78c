//! The disclosure log: one hash-chained row per disclosure and per refusal,
//! durable before the broker answers.
//!
//! Concurrent checks hand their entries to one writer task and wait; it
//! takes everything queued, appends it in one transaction (one fsync for many
//! checks: group commit), and only then releases the waiters. If the write
//! fails, every waiter is told so and the broker discloses nothing (fail
//! closed). The chain's head lives in the database (`log_head`), so broker
//! replicas sharing one database extend one chain.
//!
//! The same transaction queues a notification for the owning agency of each
//! disclosed item whose category `notifications.csv` marks `notify`: the
//! notification exists exactly when the disclosure does.

use std::sync::Arc;

use mash_db::{Arg, Backend, Db, Script};
use mash_domain::{Agency, Category};
use mash_policy::{LivePolicy, Policy};
use mash_proto::v1 as pb;
use mash_seal::{KeyRing, Sealed};
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Row, any::AnyRow};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    BrokerError,
    audit::{self, Finding, Verified},
    ledger::{CheckpointPolicy, Ledger},
    outbox::{Outbox, Outgoing},
};

/// An entry before it is placed in the chain. Its serialised form is the
/// export format: every stored column, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    pub requester: String,
    pub role: String,
    pub enquiry_id: String,
    pub level: String,
    pub purpose: String,
    pub lawful_basis: String,
    pub consent: String,
    /// The subject's pseudonymous id in the enquiry, never a name.
    pub subject_id: String,
    pub agency: String,
    /// The agency's own record id.
    pub record_ref: String,
    pub category: String,
    /// `disclosed` or `refused`.
    pub outcome: String,
    pub tier: String,
    pub reason: String,
    pub policy_version: String,
    /// SHA-256 of exactly what was returned for this entry, hex; empty if nothing.
    pub content_digest: String,
    /// The keyed pseudonym of the person, the same across enquiries.
    pub person_ref: String,
    /// The organisation the requester acts for (`mash` or an agency).
    pub requester_agency: String,
    /// Whom the requester acted for: the enquiry's assigned researcher.
    pub on_behalf_of: String,
    /// Who received what was disclosed.
    pub recipient: String,
    /// Exactly what was shown (an encoded `DisclosedContent`), stored sealed
    /// beside the log; not part of the entry, whose digest covers it.
    #[serde(skip)]
    pub shown: Option<Vec<u8>>,
    /// An information product this entry sends to an agency, queued in the
    /// entry's own transaction; not part of the entry.
    #[serde(skip)]
    pub deliver: Option<Delivery>,
}

/// An information product waiting for its log entry's sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub agency: Agency,
    pub message_id: String,
    pub deliver_after: String,
    /// An encoded `InformationProduct`, without its `seq`.
    pub product: Vec<u8>,
}

/// An entry in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub recorded_at: String,
    #[serde(flatten)]
    pub fields: NewEntry,
    pub prev_hash: String,
    pub entry_hash: String,
}

const COLUMNS: [&str; 24] = [
    "seq",
    "recorded_at",
    "requester",
    "role",
    "enquiry_id",
    "level",
    "purpose",
    "lawful_basis",
    "consent",
    "subject_id",
    "agency",
    "record_ref",
    "category",
    "outcome",
    "tier",
    "reason",
    "policy_version",
    "content_digest",
    "person_ref",
    "requester_agency",
    "on_behalf_of",
    "recipient",
    "prev_hash",
    "entry_hash",
];

/// The hash of the empty chain, before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Entry {
    fn texts(&self) -> [&str; 21] {
        let f = &self.fields;
        [
            &self.recorded_at,
            &f.requester,
            &f.role,
            &f.enquiry_id,
            &f.level,
            &f.purpose,
            &f.lawful_basis,
            &f.consent,
            &f.subject_id,
            &f.agency,
            &f.record_ref,
            &f.category,
            &f.outcome,
            &f.tier,
            &f.reason,
            &f.policy_version,
            &f.content_digest,
            &f.person_ref,
            &f.requester_agency,
            &f.on_behalf_of,
            &f.recipient,
        ]
    }

    /// SHA-256 over the previous hash, the sequence number and every field,
    /// each length-prefixed so that no two entries encode alike.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(self.seq.to_be_bytes());
        for text in self.texts() {
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

struct Append {
    entries: Vec<NewEntry>,
    companions: Vec<Companions>,
    done: oneshot::Sender<Result<(), ()>>,
}

/// Rows written in the same transaction as the entries they go with (the
/// holds and possible matches that a check's entries announce), so that
/// neither exists without the other and the check pays for one commit. A
/// row whose `key` is already stored is kept as it was.
#[derive(Clone, Debug)]
pub struct Companions {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub key: &'static str,
    pub rows: Vec<Vec<Arg>>,
}

/// What the writer needs besides the database.
struct Writer {
    db: Db,
    keys: Arc<KeyRing>,
    outbox: Outbox,
    /// Whose disclosures are notified; `None` for a log opened by a tool,
    /// which writes no disclosures.
    policy: Option<Arc<LivePolicy>>,
}

/// The handle checks use to append; cheap to clone.
#[derive(Clone, Debug)]
pub struct DisclosureLog {
    appends: mpsc::Sender<Append>,
    db: Db,
    ledger: Ledger,
    keys: Arc<KeyRing>,
}

/// Appends queued at once beyond this wait for the next transaction.
const MAX_GROUP: usize = 256;

impl DisclosureLog {
    /// Starts the writer task and the checkpoint task.
    pub(crate) fn start(
        db: Db,
        ledger: Ledger,
        checkpoints: CheckpointPolicy,
        keys: Arc<KeyRing>,
        outbox: Outbox,
        policy: Option<Arc<LivePolicy>>,
    ) -> Self {
        let (appends, queue) = mpsc::channel(4 * MAX_GROUP);
        let (written, watcher) = watch::channel(0);
        let writer_state = Writer { db: db.clone(), keys: keys.clone(), outbox, policy };
        tokio::spawn(writer(writer_state, queue, written));
        tokio::spawn(ledger.clone().run_checkpoints(checkpoints, watcher));
        Self { appends, db, ledger, keys }
    }

    /// What entry `seq` showed, decrypted; `None` if it showed nothing or the
    /// content has been purged.
    pub async fn shown(&self, seq: u64) -> Result<Option<Vec<u8>>, BrokerError> {
        let row = sqlx::query("SELECT key_id, content FROM disclosed_content WHERE seq = $1")
            .bind(seq_value(seq))
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("content")? };
        Ok(Some(self.keys.open(&sealed, seq.to_string().as_bytes())?))
    }

    /// Deletes content recorded before `cutoff` (stored timestamp form); how many rows.
    pub async fn purge_content(&self, cutoff: &str) -> Result<u64, BrokerError> {
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

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Appends entries and returns once they are durable.
    pub async fn append(&self, entries: Vec<NewEntry>) -> Result<(), BrokerError> {
        self.append_with(entries, Vec::new()).await
    }

    /// Appends entries and their companion rows, and returns once all are durable.
    pub(crate) async fn append_with(
        &self,
        entries: Vec<NewEntry>,
        companions: Vec<Companions>,
    ) -> Result<(), BrokerError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (done, durable) = oneshot::channel();
        let append = Append { entries, companions, done };
        self.appends.send(append).await.map_err(|_| BrokerError::LogUnavailable)?;
        match durable.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(BrokerError::LogUnavailable),
        }
    }

    /// A page of entries after `after_seq`, filtered; empty filters match all.
    pub async fn search(&self, filter: &LogFilter, after_seq: u64, limit: u32) -> Result<Vec<Entry>, BrokerError> {
        let mut conditions = vec!["seq > $1".to_owned()];
        let mut binds: Vec<&str> = Vec::new();
        for (column, op, value) in [
            ("enquiry_id", "=", &filter.enquiry_id),
            ("requester", "=", &filter.requester),
            ("agency", "=", &filter.agency),
            ("outcome", "=", &filter.outcome),
            ("recorded_at", ">=", &filter.recorded_from),
            ("recorded_at", "<", &filter.recorded_to),
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
        query.fetch_all(&self.db.pool).await?.iter().map(entry_from_row).collect()
    }

    /// Every entry the filter matches, in log order, page by page.
    pub async fn search_all(&self, filter: &LogFilter) -> Result<Vec<Entry>, BrokerError> {
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            let after = entries.last().map_or(0, |e| e.seq);
            let page = self.search(filter, after, 1000).await?;
            let done = page.len() < 1000;
            entries.extend(page);
            if done {
                return Ok(entries);
            }
        }
    }

    /// Every entry, in log order.
    pub async fn entries(&self) -> Result<Vec<Entry>, BrokerError> {
        let rows = sqlx::query("SELECT * FROM disclosure_log ORDER BY seq").fetch_all(&self.db.pool).await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Recomputes the whole log from the database and the signed checkpoints.
    pub async fn verify(&self) -> Result<Result<Verified, Finding>, BrokerError> {
        let entries = self.entries().await?;
        let checkpoints = self.ledger.checkpoints().await?;
        Ok(audit::verify(&entries, &checkpoints, &self.ledger.verifying_key()))
    }

    /// The whole log as JSON lines: entries, then checkpoints.
    pub async fn export(&self) -> Result<Vec<String>, BrokerError> {
        let line = |l: audit::ExportLine| serde_json::to_string(&l).map_err(|e| BrokerError::Internal(e.to_string()));
        let mut lines = Vec::new();
        for entry in self.entries().await? {
            lines.push(line(audit::ExportLine::Entry(Box::new(entry)))?);
        }
        for checkpoint in self.ledger.checkpoints().await? {
            lines.push(line(audit::ExportLine::Checkpoint((&checkpoint).into()))?);
        }
        Ok(lines)
    }
}

/// Filters for a log search; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub enquiry_id: Option<String>,
    pub requester: Option<String>,
    pub agency: Option<String>,
    pub outcome: Option<String>,
    /// Any of these person pseudonyms (a non-empty list).
    pub person_refs: Option<Vec<String>>,
    /// Normalised timestamps, as `crate::timestamp` writes them.
    pub recorded_from: Option<String>,
    pub recorded_to: Option<String>,
}

async fn writer(w: Writer, mut queue: mpsc::Receiver<Append>, written: watch::Sender<u64>) {
    // The head this writer last wrote, to skip reading it back when no other
    // replica has written since.
    let mut head: Option<(u64, String)> = None;
    // The writer keeps one connection of its own: SQLite empties a
    // connection's page cache whenever another connection has written, so a
    // pooled connection re-read the log's pages on every append. After a
    // failed write it is dropped, whatever state the failure left it in.
    let mut conn: Option<AnyConnection> = None;
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let (mut entries, mut companions, mut waiters) = (Vec::new(), Vec::new(), Vec::with_capacity(group.len()));
        for append in group {
            entries.extend(append.entries);
            companions.extend(append.companions);
            waiters.push(append.done);
        }
        let count = entries.len();
        let result = match own_connection(&w.db, &mut conn).await {
            Ok(c) => write_group(&w, c, entries, &companions, head.take()).await,
            Err(error) => Err(error),
        };
        if result.is_err() {
            conn = None;
        }
        let metrics = mash_telemetry::metrics::metrics();
        match &result {
            Ok((size, hash)) => {
                metrics.log_committed(count, started.elapsed(), *size);
                head = Some((*size, hash.clone()));
                written.send_replace(*size);
                w.outbox.committed();
            }
            Err(error) => {
                metrics.log_append_failed();
                tracing::error!(%error, "disclosure log write failed; refusing disclosures in this group");
            }
        }
        for done in waiters {
            let _ = done.send(result.as_ref().map(|_| ()).map_err(|_| ()));
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

/// Chains and writes a group of appends in one transaction.
///
/// On SQLite, when this writer wrote the last head it knows of, the group is
/// chained on that head and written in one call to the database (the
/// transaction's statements are otherwise a round trip each). If another
/// writer has moved the head meanwhile, the call fails (the entries'
/// sequence numbers are taken, or the trigger `disclosure_log_within_head`
/// refuses them), rolls back, and the group is written as below.
async fn write_group(
    w: &Writer,
    conn: &mut AnyConnection,
    news: Vec<NewEntry>,
    companions: &[Companions],
    last_written: Option<(u64, String)>,
) -> Result<(u64, String), sqlx::Error> {
    let mut entries = unchained(news);
    if let (Backend::Sqlite, Some((size, hash))) = (w.db.backend, last_written) {
        match write_on_known_head(w, conn, &mut entries, companions, size, hash).await {
            Ok(head) => return Ok(head),
            Err(error) => tracing::debug!(%error, "log head moved or write failed; writing under the head's lock"),
        }
    }
    write_locked(w, conn, &mut entries, companions).await
}

async fn write_on_known_head(
    w: &Writer,
    conn: &mut AnyConnection,
    entries: &mut [Entry],
    companions: &[Companions],
    size: u64,
    hash: String,
) -> Result<(u64, String), sqlx::Error> {
    chain(entries, size, hash, &crate::now_rfc3339());
    let mut script = Script::default();
    let new_size = size + entries.len() as u64;
    script.push(
        "UPDATE log_head SET size = ? WHERE id = 1 AND size = ?".into(),
        vec![Arg::Int(seq_value(new_size)), Arg::Int(seq_value(size))],
    );
    add_group(w, &mut script, companions, entries)?;
    script.commit_at_once(conn).await?;
    Ok(head_of(entries, size))
}

/// The transaction first advances `log_head`, which locks it: a concurrent
/// writer, in this process or another replica, waits until this one commits,
/// then continues the chain from the entries this one wrote.
async fn write_locked(
    w: &Writer,
    conn: &mut AnyConnection,
    entries: &mut [Entry],
    companions: &[Companions],
) -> Result<(u64, String), sqlx::Error> {
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
    chain(entries, size, hash, &crate::now_rfc3339());
    let mut script = Script::default();
    add_group(w, &mut script, companions, entries)?;
    script.run(&mut tx, w.db.backend).await?;
    tx.commit().await?;
    Ok(head_of(entries, size))
}

/// The group's entries, not yet numbered or chained. They own what the checks handed over:
/// a group is moved into the log, never copied (its content and texts are most of what a check
/// allocates).
fn unchained(news: Vec<NewEntry>) -> Vec<Entry> {
    news.into_iter()
        .map(|fields| Entry {
            seq: 0,
            recorded_at: String::new(),
            fields,
            prev_hash: String::new(),
            entry_hash: String::new(),
        })
        .collect()
}

/// Stamps the entries, numbers them after `size` and chains them on `hash`; again if the head
/// has moved.
fn chain(entries: &mut [Entry], size: u64, mut hash: String, recorded_at: &str) {
    for (entry, seq) in entries.iter_mut().zip(size + 1..) {
        entry.seq = seq;
        recorded_at.clone_into(&mut entry.recorded_at);
        entry.prev_hash = std::mem::take(&mut hash);
        entry.entry_hash = entry.compute_hash();
        hash.clone_from(&entry.entry_hash);
    }
}

fn head_of(entries: &[Entry], size: u64) -> (u64, String) {
    let last = entries.last().expect("a group holds at least one entry");
    (size + entries.len() as u64, last.entry_hash.clone())
}

fn seq_value(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Everything a group writes besides the head: the entries, the sealed
/// content they showed, the agencies' messages and the companion rows.
fn add_group(w: &Writer, script: &mut Script, companions: &[Companions], entries: &[Entry]) -> Result<(), sqlx::Error> {
    let Some(recorded_at) = entries.first().map(|e| e.recorded_at.as_str()) else { return Ok(()) };
    let mut rest = entries;
    for size in chunk_sizes(entries.len()) {
        let (chunk, tail) = rest.split_at(size);
        add_entries(&w.db, script, chunk);
        rest = tail;
    }
    let shown: Vec<(u64, Sealed)> = entries
        .iter()
        .filter_map(|e| e.fields.shown.as_ref().map(|bytes| (e.seq, w.keys.seal(e.seq.to_string().as_bytes(), bytes))))
        .collect();
    let mut shown = shown.into_iter();
    for size in chunk_sizes(shown.len()) {
        add_content(&w.db, script, recorded_at, shown.by_ref().take(size));
    }
    let mut messages = deliveries(entries)?;
    if let Some(policy) = &w.policy {
        messages.extend(notifications(&policy.current(), entries));
    }
    w.outbox.add(script, &messages);
    for rows in companions {
        add_companions(&w.db, script, rows);
    }
    Ok(())
}

/// The information products of these entries, each naming its entry.
fn deliveries(entries: &[Entry]) -> Result<Vec<Outgoing>, sqlx::Error> {
    let mut messages = Vec::new();
    for (e, d) in entries.iter().filter_map(|e| e.fields.deliver.as_ref().map(|d| (e, d))) {
        let mut product = pb::InformationProduct::decode(d.product.as_slice())
            .map_err(|_| sqlx::Error::Protocol(format!("information product of entry {} does not decode", e.seq)))?;
        product.seq = e.seq;
        let body = pb::agency_message::Body::InformationProduct(product);
        messages.push(Outgoing::new(d.agency, d.message_id.clone(), d.deliver_after.clone(), body));
    }
    Ok(messages)
}

/// A notification to the owning agency of each disclosed item whose category
/// notifies.
fn notifications(policy: &Policy, entries: &[Entry]) -> Vec<Outgoing> {
    entries
        .iter()
        .filter(|e| e.fields.outcome == "disclosed")
        .filter_map(|e| {
            let agency = Agency::parse("agency", &e.fields.agency).ok()?;
            let category = Category::parse("category", &e.fields.category).ok()?;
            policy.notifications.notifies(category).then(|| {
                let body = pb::DisclosureNotification {
                    seq: e.seq,
                    enquiry_id: e.fields.enquiry_id.clone(),
                    record_ref: e.fields.record_ref.clone(),
                    category: category.as_str().into(),
                    tier: crate::wire::tier_from_log(&e.fields.tier).into(),
                    requester_role: e.fields.role.clone(),
                    disclosed_at: e.recorded_at.clone(),
                };
                let body = pb::agency_message::Body::DisclosureNotification(body);
                Outgoing::new(agency, notification_id(e.seq), e.recorded_at.clone(), body)
            })
        })
        .collect()
}

/// A notification's message id. A group's notifications are all due at its
/// `recorded_at`, and an agency's queue is delivered in order of due time,
/// then id: zero-padded to u64's 20 digits, the ids sort as the log does
/// (`n-10` would come before `n-9`).
fn notification_id(seq: u64) -> String {
    format!("n-{seq:020}")
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

fn add_entries(db: &Db, script: &mut Script, chunk: &[Entry]) {
    let sql = format!(
        "INSERT INTO disclosure_log ({}) VALUES {}",
        COLUMNS.join(", "),
        db.value_rows(chunk.len(), COLUMNS.len())
    );
    let mut args = Vec::with_capacity(chunk.len() * COLUMNS.len());
    for entry in chunk {
        args.push(Arg::Int(seq_value(entry.seq)));
        args.extend(entry.texts().map(|text| Arg::Text(text.to_owned())));
        args.extend([Arg::Text(entry.prev_hash.clone()), Arg::Text(entry.entry_hash.clone())]);
    }
    script.push(sql, args);
}

fn entry_from_row(row: &AnyRow) -> Result<Entry, BrokerError> {
    let text = |column: &str| -> Result<String, BrokerError> { Ok(row.try_get::<String, _>(column)?) };
    Ok(Entry {
        seq: u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
        recorded_at: text("recorded_at")?,
        fields: NewEntry {
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
            shown: None,
            deliver: None,
        },
        prev_hash: text("prev_hash")?,
        entry_hash: text("entry_hash")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn news(n: usize) -> Vec<NewEntry> {
        (0..n)
            .map(|i| NewEntry { record_ref: format!("r-{i}"), outcome: "disclosed".into(), ..NewEntry::default() })
            .collect()
    }

    #[test]
    fn a_group_chained_again_on_a_moved_head_is_as_if_chained_there_first() {
        let mut moved = unchained(news(3));
        chain(&mut moved, 0, GENESIS.into(), "2026-12-01T00:00:00Z");
        chain(&mut moved, 7, "ab".repeat(32), "2026-12-01T00:00:01Z");
        let mut fresh = unchained(news(3));
        chain(&mut fresh, 7, "ab".repeat(32), "2026-12-01T00:00:01Z");
        assert_eq!(moved, fresh);
        assert_eq!(moved.iter().map(|e| e.seq).collect::<Vec<_>>(), [8, 9, 10]);
        assert_eq!(moved[0].prev_hash, "ab".repeat(32));
        assert!(moved.windows(2).all(|w| w[1].prev_hash == w[0].entry_hash && w[0].entry_hash == w[0].compute_hash()));
        assert_eq!(head_of(&moved, 7), (10, moved[2].entry_hash.clone()));
    }

    #[test]
    fn notification_ids_sort_as_the_log_does() {
        let seqs = [1, 9, 10, 99, 100, 123_456, u64::MAX - 1, u64::MAX];
        let ids: Vec<String> = seqs.iter().map(|&seq| notification_id(seq)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert_eq!(notification_id(10), "n-00000000000000000010");
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
