//! The feed's records on disk: sealed contents, blind-indexed keys.

use std::collections::{BTreeSet, HashMap, HashSet};

use mash_db::{Backend, Db};
use mash_domain::{Agency, Category, ItemKind, Person, PersonInput, Sensitivity, parse_date};
use mash_matching::{
    BlockingKey, MatchRecord, Model, Scored, Verdict, for_each_blocking_key, for_each_query_key, settle,
};
use mash_seal::{KeyRing, Sealed, Sealer};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Executor, Row, any::AnyRow};

use crate::{
    FeedError,
    item::{FoundItem, ItemField, NewRecord},
};

/// A record that may be about the person asked about, and how sure the
/// feed is that it is.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub item: FoundItem,
    pub scored: Scored,
}

/// What happened to one pushed record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Upserted {
    Stored,
    /// The same version is already stored.
    Unchanged,
    /// A newer version is already stored; this one was not applied.
    Stale {
        stored_version: u64,
    },
    /// This version is already stored with other contents; this one was not
    /// applied. A changed record needs a new version.
    Conflict,
}

/// The sealed part of a record.
#[derive(Deserialize)]
struct SealedContent {
    subject: SealedSubject,
    fields: Vec<ItemField>,
}

#[derive(Deserialize)]
struct SealedSubject {
    given_name: Option<String>,
    family_name: Option<String>,
    date_of_birth: Option<String>,
    nhs_number: Option<String>,
    upn: Option<String>,
    postcode: Option<String>,
    #[serde(default)]
    sex: Option<String>,
    #[serde(default)]
    previous_family_names: Vec<String>,
}

impl SealedSubject {
    /// The person again, as the feed accepted them at push.
    fn to_person(&self) -> Option<Person> {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let (given, family, dob) = (text(&self.given_name), text(&self.family_name), text(&self.date_of_birth));
        let (nhs, upn, postcode, sex) =
            (text(&self.nhs_number), text(&self.upn), text(&self.postcode), text(&self.sex));
        let input = PersonInput {
            given_name: &given,
            family_name: &family,
            date_of_birth: &dob,
            nhs_number: &nhs,
            upn: &upn,
            postcode: &postcode,
            sex: &sex,
            previous_family_names: &self.previous_family_names,
        };
        // Dates of birth were checked against the day of the push; any day
        // since is later, so the stored one still parses.
        Person::parse("subject", input, mash_domain::today()).ok()
    }
}

/// [`SealedContent`] as written at push, borrowed from the record rather than copied from it.
#[derive(Serialize)]
struct SealingContent<'a> {
    subject: SealingSubject<'a>,
    fields: &'a [ItemField],
}

#[derive(Serialize)]
struct SealingSubject<'a> {
    given_name: Option<&'a str>,
    family_name: Option<&'a str>,
    date_of_birth: Option<String>,
    nhs_number: Option<&'a str>,
    upn: Option<&'a str>,
    postcode: Option<&'a str>,
    sex: Option<&'a str>,
    previous_family_names: &'a [String],
}

impl<'a> From<&'a Person> for SealingSubject<'a> {
    fn from(p: &'a Person) -> Self {
        Self {
            given_name: p.given_name.as_deref(),
            family_name: p.family_name.as_deref(),
            date_of_birth: p.date_of_birth.map(|d| d.to_string()),
            nhs_number: p.nhs_number.as_ref().map(|n| n.as_str()),
            upn: p.upn.as_ref().map(|u| u.as_str()),
            postcode: p.postcode.as_deref(),
            sex: p.sex.map(|s| s.as_str()),
            previous_family_names: &p.previous_family_names,
        }
    }
}

/// One agency's record store.
#[derive(Debug)]
pub(crate) struct FeedStore {
    db: Db,
    keys: KeyRing,
    agency: Agency,
    model: Model,
}

/// A record checked, sealed and blind-indexed, ready to store. The service prepares the next
/// batch while the store writes the previous one, so this CPU work overlaps the database's.
pub(crate) struct Prepared {
    record_id: String,
    version: u64,
    category: Category,
    sensitivity: Sensitivity,
    /// The item date as stored, "YYYY-MM-DD".
    date: String,
    nhs_index: Option<Vec<u8>>,
    upn_index: Option<Vec<u8>>,
    sealed: Sealed,
    /// A keyed digest of the record's binding and plaintext: equal exactly when
    /// a re-push carries the same contents.
    content_digest: [u8; 32],
    /// The subject's blocking keys as index keys, distinct, each as [`INDEX_KEY_BYTES`]
    /// big-endian bytes: the record's `index_keys` column.
    index_keys: Vec<u8>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    pub(crate) fn record_id(&self) -> &str {
        &self.record_id
    }

    pub(crate) fn version(&self) -> u64 {
        self.version
    }
}

/// Bytes of a blocking key's HMAC kept in the index. Two different keys share a prefix with
/// probability 2^-64, and a shared one only adds a candidate that scoring then drops; the full
/// 32 bytes made each index entry about three times as large, so less of the index stayed in
/// cache and each insert wrote more of it. `record_keys` holds them as a big-endian signed
/// integer (migration 0004): bound as a BLOB, each of a record's ~7 entries cost two allocations
/// and copies in sqlx and a third in SQLite, and sorting a batch's entries compared slices.
const INDEX_KEY_BYTES: usize = 8;

/// `record_keys` leads with an epoch, the record's id over 2^16: new records take increasing
/// ids, so a push inserts only into the newest epoch's part of the index, which stays in cache
/// and is written back once per batch, instead of into random pages across the whole index
/// (at 1,000,000 records, about one page write per key). A search seeks its keys in every
/// epoch: 16 at 1,000,000 records.
const EPOCH_BITS: u32 = 16;

const RECORD_COLUMNS: usize = 13;
/// Records per multi-row INSERT: 400 × 13 parameters, well inside SQLite's 32,766 and
/// PostgreSQL's 65,535.
const CHUNK_RECORDS: usize = 400;
/// Index entries per multi-row INSERT, 3 parameters each.
const CHUNK_KEYS: usize = 3_000;
/// Ids per `IN (…)` list.
const CHUNK_IDS: usize = 4_000;

/// Set on a SQLite connection before it writes a batch (see `upsert`); `mash_db::connect` has
/// already put temporary data (the statement journal of each multi-row INSERT) in memory:
/// - `cache_size = -65536` (64 MiB, default 2 MiB): a batch touches the newest epoch of the
///   blind-key index and the tails of the record tables; with 2 MiB these were read back from
///   the OS and spilled to the WAL mid-transaction.
/// - `wal_autocheckpoint = 65536` pages (256 MiB, default 4 MiB): each batch writes thousands of
///   pages to the WAL, so the default checkpointed after every commit, copying the same hot
///   pages (the newest epoch of the index, the tails of the tables) back into the database again
///   and again; every ~20 batches, each is copied once. Checkpoints were 8% of a push's profile
///   at 64 MiB.
///
/// Memory: the cache fills only on the connections that write, and only up to 64 MiB each.
const SQLITE_WRITER_PRAGMAS: &str = "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 65536;";

/// The index form of a blocking key: its keyed HMAC, cut to [`INDEX_KEY_BYTES`].
pub fn index_key(keys: &KeyRing, key: &BlockingKey) -> Vec<u8> {
    let mut digest = keys.blind_index(key.as_str());
    digest.truncate(INDEX_KEY_BYTES);
    digest
}

/// [`index_key`] of a blocking key's text, as `record_keys` stores it.
fn index_value(keys: &KeyRing, key: &str) -> i64 {
    let digest = keys.blind_digest(key.as_bytes());
    let mut prefix = [0; INDEX_KEY_BYTES];
    prefix.copy_from_slice(&digest[..INDEX_KEY_BYTES]);
    i64::from_be_bytes(prefix)
}

/// The index keys listed in a record's `index_keys` column.
fn index_values(listed: &[u8]) -> impl Iterator<Item = i64> + '_ {
    listed.chunks_exact(INDEX_KEY_BYTES).map(|key| {
        let mut prefix = [0; INDEX_KEY_BYTES];
        prefix.copy_from_slice(key);
        i64::from_be_bytes(prefix)
    })
}

fn epoch(id: i64) -> i64 {
    id >> EPOCH_BITS
}

impl FeedStore {
    pub(crate) fn new(db: Db, keys: KeyRing, agency: Agency) -> Self {
        Self { db, keys, agency, model: Model::default() }
    }

    /// Associated data for a record's ciphertext: its row (agency, id,
    /// version) and every clear column the broker's policy reads. A
    /// ciphertext copied to another row does not open, and neither does a
    /// row whose kind, category, sensitivity or date was changed in the
    /// database: a restricted item cannot be made to look disclosable.
    fn associated_data(&self, row: &Binding<'_>) -> Vec<u8> {
        let version = row.version.to_string();
        let parts = [self.agency.as_str(), row.record_id, &version, row.kind, row.category, row.sensitivity, row.date];
        // Length-prefixed: a record id may contain any separator.
        let mut associated = b"feed-record-v2".to_vec();
        for part in parts {
            associated.extend_from_slice(&(part.len() as u32).to_be_bytes());
            associated.extend_from_slice(part.as_bytes());
        }
        associated
    }

    /// A sealer for the next `count` records to prepare.
    pub(crate) fn sealer(&self, count: usize) -> Sealer<'_> {
        self.keys.sealer(count)
    }

    /// Seals a record and blinds its keys, ready for [`FeedStore::upsert`].
    pub(crate) fn prepare(&self, sealer: &mut Sealer<'_>, record: NewRecord) -> Result<Prepared, FeedError> {
        let NewRecord { record_id, version, subject, content } = record;
        to_i64(version)?;
        let mut keys = self.index_keys(&MatchRecord::from_person(&subject));
        keys.sort_unstable();
        keys.dedup();
        let index_keys = keys.iter().flat_map(|key| key.to_be_bytes()).collect();
        let nhs_index = subject.nhs_number.as_ref().map(|n| self.keys.blind_index(n.as_str()));
        let upn_index = subject.upn.as_ref().map(|u| self.keys.blind_index(u.as_str()));
        let sealing = SealingContent { subject: (&subject).into(), fields: &content.fields };
        let date = content.date.to_string();
        let associated = self.associated_data(&Binding {
            record_id: &record_id,
            version,
            kind: content.category.kind().as_str(),
            category: content.category.as_str(),
            sensitivity: content.sensitivity.as_str(),
            date: &date,
        });
        let mut content_digest = [0; 32];
        let sealed = sealer
            .seal_with(&associated, |buffer| {
                let start = buffer.len();
                serde_json::to_writer(&mut *buffer, &sealing)?;
                content_digest = self.keys.blind_digest_of(&[b"feed-record-content", &associated, &buffer[start..]]);
                Ok::<(), serde_json::Error>(())
            })
            .map_err(|e| FeedError::Internal(e.to_string()))?;
        Ok(Prepared {
            record_id,
            version,
            category: content.category,
            sensitivity: content.sensitivity,
            date,
            nhs_index,
            upn_index,
            sealed,
            content_digest,
            index_keys,
        })
    }

    /// Stores a batch in one transaction: all of it, or (on error) none.
    /// Idempotent on (record_id, version).
    pub(crate) async fn upsert(&self, records: &[Prepared]) -> Result<Vec<Upserted>, FeedError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.db.pool.acquire().await?;
        if self.db.backend == Backend::Sqlite {
            // Set on the connection, outside the transaction.
            (&mut *conn).execute(SQLITE_WRITER_PRAGMAS).await?;
        }
        let mut tx = match self.db.backend {
            // The write lock from the start: the ids `insert_new` assigns, above the largest
            // stored, stay free until this commits.
            Backend::Sqlite => sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?,
            Backend::Postgres => sqlx::Connection::begin(&mut *conn).await?,
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // The first row of each record is inserted outright unless the record is already stored:
        // on a first push that is every row, and looking up 20,000 record ids first took a sixth
        // of the writer's time. The other rows (records already stored, and later rows of a
        // record in this batch) are compared with what is stored, this batch's first rows
        // included, as before.
        let mut first_rows: Vec<usize> = Vec::with_capacity(records.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(records.len());
        for (at, record) in records.iter().enumerate() {
            if seen.insert(&record.record_id) {
                first_rows.push(at);
            }
        }
        let first: Vec<&Prepared> = first_rows.iter().map(|&at| &records[at]).collect();
        let inserted = self.insert_new(&mut tx, &first, now).await?;
        let mut outcomes: Vec<Option<Upserted>> = vec![None; records.len()];
        // The version of each record that this batch leaves stored, with its id.
        let mut written: Vec<(i64, &Prepared)> = Vec::with_capacity(records.len());
        for ((&at, record), id) in first_rows.iter().zip(&first).zip(inserted) {
            if let Some(id) = id {
                outcomes[at] = Some(Upserted::Stored);
                written.push((id, record));
            }
        }
        let rest: Vec<usize> = (0..records.len()).filter(|&at| outcomes[at].is_none()).collect();
        if !rest.is_empty() {
            let existing = stored(&self.db, &mut tx, rest.iter().map(|&at| records[at].record_id.as_str())).await?;
            let mut versions: HashMap<&str, (u64, &[u8])> =
                existing.iter().map(|(id, e)| (id.as_str(), (e.version, e.content_digest.as_slice()))).collect();
            // Later rows in a batch win over earlier ones for the same record.
            let mut writes: Vec<&Prepared> = Vec::new();
            let mut position: HashMap<&str, usize> = HashMap::new();
            for &at in &rest {
                let record = &records[at];
                outcomes[at] = Some(match versions.get(record.record_id.as_str()) {
                    Some(&(stored, digest)) if stored == record.version && digest == record.content_digest => {
                        Upserted::Unchanged
                    }
                    Some(&(stored, _)) if stored == record.version => Upserted::Conflict,
                    Some(&(stored, _)) if stored > record.version => Upserted::Stale { stored_version: stored },
                    _ => {
                        versions.insert(&record.record_id, (record.version, &record.content_digest));
                        match position.get(record.record_id.as_str()) {
                            Some(&at) => writes[at] = record,
                            None => {
                                position.insert(&record.record_id, writes.len());
                                writes.push(record);
                            }
                        }
                        Upserted::Stored
                    }
                });
            }
            let ids = self.write_records(&mut tx, &writes, now, Write::Replace).await?;
            for (record, id) in writes.iter().zip(ids) {
                written.push((id.ok_or_else(|| FeedError::Internal("upsert returned no id".into()))?, record));
            }
            // A new version's keys replace the old version's (none are filed yet for a record
            // first inserted by this batch).
            let replaced: Vec<(i64, &[u8])> = writes
                .iter()
                .filter_map(|r| existing.get(&r.record_id))
                .map(|e| (e.id, e.index_keys.as_slice()))
                .collect();
            self.delete_keys(&mut tx, &replaced).await?;
            // Only the last version written of a record is filed.
            let mut filed = HashSet::new();
            written.reverse();
            written.retain(|(id, _)| filed.insert(*id));
        }
        let mut entries: Vec<(i64, i64, i64)> = Vec::new();
        for (id, record) in &written {
            entries.extend(index_values(&record.index_keys).map(|key| (epoch(*id), key, *id)));
        }
        // In index order: consecutive inserts land on the same or neighbouring pages.
        entries.sort_unstable();
        let mut chunks = entries.chunks(CHUNK_KEYS);
        let mut next = chunks.next().map(|chunk| self.keys_query(chunk));
        while let Some(query) = next {
            let (done, following) =
                futures::join!(query.execute(&mut *tx), async { chunks.next().map(|chunk| self.keys_query(chunk)) });
            done?;
            next = following;
        }
        tx.commit().await?;
        outcomes.into_iter().map(|o| o.ok_or_else(|| FeedError::Internal("a record has no outcome".into()))).collect()
    }

    /// Inserts records not stored yet, leaving any stored record of the same id as it is; the id
    /// of each record inserted, in the order given.
    async fn insert_new(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        records: &[&Prepared],
        now: i64,
    ) -> Result<Vec<Option<i64>>, FeedError> {
        if self.db.backend == Backend::Postgres {
            return self.write_records(tx, records, now, Write::Returning).await;
        }
        // On SQLite the ids are assigned here, in order above the largest stored: `RETURNING`
        // hands every row back through sqlx's worker channel, a third of the time of inserting
        // them. The transaction holds the write lock (`BEGIN IMMEDIATE`), so they stay free.
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM records").fetch_one(&mut **tx).await?;
        let written = self.write_records(tx, records, now, Write::Numbered { first: last + 1 }).await?;
        if written.iter().all(Option::is_some) {
            return Ok(written);
        }
        // Some records were stored already and kept their rows: the ids in use tell which.
        let taken: HashSet<i64> = sqlx::query_scalar("SELECT id FROM records WHERE id > $1")
            .bind(last)
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
        Ok((last + 1..).zip(written).map(|(id, known)| known.or(taken.contains(&id).then_some(id))).collect())
    }

    /// Writes records as `write` says; the id of each record written, in the order given.
    async fn write_records(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        records: &[&Prepared],
        now: i64,
        write: Write,
    ) -> Result<Vec<Option<i64>>, FeedError> {
        // Each statement's values are bound while the database runs the one before: binding them
        // (copies into sqlx's `Any` arguments) takes about half as long as SQLite takes to run
        // them, and SQLite's thread, the push's bottleneck, waited for it.
        let mut ids = Vec::with_capacity(records.len());
        let mut chunks = records.chunks(CHUNK_RECORDS).zip(0..);
        let query = |(chunk, k)| {
            let write = write.chunk(k);
            self.records_query(chunk, now, write).map(|q| (chunk, write, q))
        };
        let mut next = chunks.next().map(query).transpose()?;
        while let Some((chunk, write, statement)) = next {
            let following = async { chunks.next().map(query).transpose() };
            match write {
                Write::Numbered { first } => {
                    let (result, following) = futures::join!(statement.execute(&mut **tx), following);
                    // A chunk short of rows reports none of its ids: `insert_new` finds out which.
                    let all = result?.rows_affected() == chunk.len() as u64;
                    ids.extend((first..).take(chunk.len()).map(|id| all.then_some(id)));
                    next = following?;
                }
                Write::Returning | Write::Replace => {
                    let (rows, following) = futures::join!(statement.fetch_all(&mut **tx), following);
                    ids.extend(returned_ids(chunk, &rows?)?);
                    next = following?;
                }
            }
        }
        Ok(ids)
    }

    /// Inserts index entries, (epoch, key, record id) each.
    fn keys_query(&self, chunk: &[(i64, i64, i64)]) -> AnyQuery<'static> {
        // An entry already there (a concurrent push of the same version) is the same entry.
        let insert = format!(
            "INSERT INTO record_keys (epoch, blind_key, record) VALUES {} ON CONFLICT DO NOTHING",
            self.db.value_rows(chunk.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(insert));
        for &(epoch, key, id) in chunk {
            query = query.bind(epoch).bind(key).bind(id);
        }
        query
    }

    /// The statement that writes a chunk of records; see `write_records`.
    fn records_query<'a>(&self, chunk: &[&'a Prepared], now: i64, write: Write) -> Result<AnyQuery<'a>, FeedError> {
        const COLUMNS: &str = "record_id, version, kind, category, sensitivity, item_date, nhs_index, upn_index, \
                               key_id, content, content_digest, index_keys, updated_at";
        let upsert = match write {
            Write::Numbered { .. } => format!(
                "INSERT INTO records (id, {COLUMNS}) VALUES {} ON CONFLICT (record_id) DO NOTHING",
                self.db.value_rows(chunk.len(), RECORD_COLUMNS + 1)
            ),
            Write::Returning => format!(
                "INSERT INTO records ({COLUMNS}) VALUES {} ON CONFLICT (record_id) DO NOTHING RETURNING id, record_id",
                self.db.value_rows(chunk.len(), RECORD_COLUMNS)
            ),
            Write::Replace => format!(
                "INSERT INTO records ({COLUMNS}) VALUES {} ON CONFLICT (record_id) DO UPDATE SET \
                 version = excluded.version, kind = excluded.kind, category = excluded.category, \
                 sensitivity = excluded.sensitivity, item_date = excluded.item_date, nhs_index = excluded.nhs_index, \
                 upn_index = excluded.upn_index, key_id = excluded.key_id, content = excluded.content, \
                 content_digest = excluded.content_digest, index_keys = excluded.index_keys, updated_at = excluded.updated_at RETURNING id, record_id",
                self.db.value_rows(chunk.len(), RECORD_COLUMNS)
            ),
        };
        let mut query = sqlx::query(AssertSqlSafe(upsert));
        for (record, at) in chunk.iter().zip(0..) {
            if let Write::Numbered { first } = write {
                query = query.bind(first + at);
            }
            query = query
                .bind(record.record_id.as_str())
                .bind(to_i64(record.version)?)
                .bind(record.category.kind().as_str())
                .bind(record.category.as_str())
                .bind(record.sensitivity.as_str())
                .bind(record.date.as_str())
                .bind(record.nhs_index.as_deref())
                .bind(record.upn_index.as_deref())
                .bind(record.sealed.key_id.as_str())
                .bind(record.sealed.blob.as_slice())
                .bind(record.content_digest.as_slice())
                .bind(record.index_keys.as_slice())
                .bind(now);
        }
        Ok(query)
    }

    /// Deletes the index entries of records, given each one's id and its `index_keys`.
    async fn delete_keys(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        records: &[(i64, &[u8])],
    ) -> Result<(), FeedError> {
        for chunk in records.chunks(CHUNK_RECORDS) {
            // Entries of these records under any of their keys in any of their epochs: exactly
            // their own entries, found through the primary key.
            let epochs: BTreeSet<i64> = chunk.iter().map(|&(id, _)| epoch(id)).collect();
            let keys: BTreeSet<i64> = chunk.iter().flat_map(|(_, keys)| index_values(keys)).collect();
            if keys.is_empty() {
                continue;
            }
            let sql = format!(
                "DELETE FROM record_keys WHERE epoch IN ({}) AND blind_key IN ({}) AND record IN ({})",
                self.db.placeholders(1, epochs.len()),
                self.db.placeholders(epochs.len() + 1, keys.len()),
                self.db.placeholders(epochs.len() + keys.len() + 1, chunk.len())
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for epoch in epochs {
                query = query.bind(epoch);
            }
            for key in keys {
                query = query.bind(key);
            }
            for (id, _) in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Deletes a record; false if there was none.
    pub(crate) async fn delete(&self, record_id: &str) -> Result<bool, FeedError> {
        let mut tx = self.db.pool.begin().await?;
        let existing = stored(&self.db, &mut tx, std::iter::once(record_id)).await?;
        let Some(record) = existing.get(record_id) else { return Ok(false) };
        self.delete_keys(&mut tx, &[(record.id, record.index_keys.as_slice())]).await?;
        let deleted = sqlx::query("DELETE FROM records WHERE id = $1").bind(record.id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// The records that may be about each person, each scored, in one query
    /// for all of them (a check asks about a whole household).
    ///
    /// Candidates come from the blocking keys (blind-indexed); each is
    /// opened and scored Fellegi-Sunter style against the person. A record
    /// whose NHS number differs from the person's is never a match; records
    /// scored below the possible threshold are dropped; and the candidates of
    /// one person are settled together, so that of a child and a twin whose
    /// name is a nickname of the child's, neither is called a certain match.
    pub(crate) async fn search(&self, people: &[Person]) -> Result<Vec<Vec<Found>>, FeedError> {
        let queries: Vec<MatchRecord> = people.iter().map(MatchRecord::from_person).collect();
        let keys: Vec<HashSet<i64>> = queries.iter().map(|q| self.query_index_keys(q)).collect();
        let unique: BTreeSet<i64> = keys.iter().flatten().copied().collect();
        // Each distinct record is opened once however many keys or people it is found under.
        let candidates = self.candidates(&unique).await?;
        Ok(queries
            .iter()
            .zip(&keys)
            .map(|(query, blind)| {
                let mut mine: Vec<&Candidate> = candidates.iter().filter(|c| c.filed_under_any(blind)).collect();
                mine.sort_by(|a, b| {
                    b.item.date.cmp(&a.item.date).then_with(|| a.item.record_id.cmp(&b.item.record_id))
                });
                let mut found: Vec<(FoundItem, MatchRecord, Scored)> = mine
                    .into_iter()
                    .filter_map(|c| {
                        let scored = self.model.score(query, &c.subject);
                        (scored.verdict != Verdict::NoMatch).then(|| (c.item.clone(), c.subject.clone(), scored))
                    })
                    .collect();
                settle_by_subject(&mut found);
                found.into_iter().map(|(item, _, scored)| Found { item, scored }).collect()
            })
            .collect())
    }

    /// The record's blocking keys as index keys; possibly repeated.
    fn index_keys(&self, record: &MatchRecord) -> Vec<i64> {
        let mut keys = Vec::with_capacity(24);
        for_each_blocking_key(record, |key| keys.push(index_value(&self.keys, key)));
        keys
    }

    /// The index keys a search for `query` looks up: its own blocking keys and the probes for
    /// swapped names, a year one out and records held without a date of birth.
    fn query_index_keys(&self, query: &MatchRecord) -> HashSet<i64> {
        let mut keys = HashSet::with_capacity(48);
        for_each_query_key(query, |key| {
            keys.insert(index_value(&self.keys, key));
        });
        keys
    }

    /// Every record filed under any of `keys`, in any epoch, opened. One statement: on SQLite
    /// each statement is a hop to the connection's thread and back, and a check sends one
    /// search to every feed. The epochs run from 0 to the newest record's, computed in the
    /// statement so that a record another replica has just written is never missed.
    async fn candidates(&self, keys: &BTreeSet<i64>) -> Result<Vec<Candidate>, FeedError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "WITH RECURSIVE epochs(e) AS ( \
                 SELECT 0 UNION ALL SELECT e + 1 FROM epochs \
                 WHERE e < ((SELECT COALESCE(MAX(id), 0) FROM records) >> {EPOCH_BITS})) \
             SELECT id, record_id, version, kind, category, sensitivity, item_date, key_id, content, index_keys \
             FROM records WHERE id IN ( \
                 SELECT record FROM record_keys WHERE epoch IN (SELECT e FROM epochs) AND blind_key IN ({}))",
            self.db.placeholders(1, keys.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for key in keys {
            query = query.bind(*key);
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        rows.iter()
            .map(|row| {
                let (item, subject) = self.decode(row)?;
                let index_keys = row.try_get("index_keys")?;
                Ok(Candidate { item, subject: MatchRecord::from_person(&subject), index_keys })
            })
            .collect()
    }

    fn decode(&self, row: &AnyRow) -> Result<(FoundItem, Person), FeedError> {
        let corrupt = |what: &str| FeedError::Internal(format!("stored record has an invalid {what}"));
        let record_id: String = row.try_get("record_id")?;
        let version = u64::try_from(row.try_get::<i64, _>("version")?).map_err(|_| corrupt("version"))?;
        let text = |column: &str| -> Result<String, FeedError> { Ok(row.try_get::<String, _>(column)?) };
        let (kind, category, sensitivity, date) =
            (text("kind")?, text("category")?, text("sensitivity")?, text("item_date")?);
        let binding = Binding {
            record_id: &record_id,
            version,
            kind: &kind,
            category: &category,
            sensitivity: &sensitivity,
            date: &date,
        };
        // The columns the item is classified by are read only once the seal
        // over them has opened: a changed column makes the row unreadable.
        let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("content")? };
        let plaintext = self.keys.open(&sealed, &self.associated_data(&binding))?;
        let content: SealedContent = serde_json::from_slice(&plaintext).map_err(|_| corrupt("content"))?;
        let subject = content.subject.to_person().ok_or_else(|| corrupt("subject"))?;
        let item = FoundItem {
            kind: ItemKind::parse("kind", &kind).map_err(|_| corrupt("kind"))?,
            category: Category::parse("category", &category).map_err(|_| corrupt("category"))?,
            sensitivity: Sensitivity::parse("sensitivity", &sensitivity).map_err(|_| corrupt("sensitivity"))?,
            date: parse_date("item_date", &date).map_err(|_| corrupt("date"))?,
            fields: content.fields,
            record_id,
            version,
        };
        Ok((item, subject))
    }
}

/// What a record's seal is bound to besides its contents.
struct Binding<'a> {
    record_id: &'a str,
    version: u64,
    kind: &'a str,
    category: &'a str,
    sensitivity: &'a str,
    date: &'a str,
}

/// A record a search found, opened, with the index keys it is filed under.
struct Candidate {
    item: FoundItem,
    subject: MatchRecord,
    /// The record's `index_keys`: its index keys, concatenated.
    index_keys: Vec<u8>,
}

impl Candidate {
    fn filed_under_any(&self, keys: &HashSet<i64>) -> bool {
        index_values(&self.index_keys).any(|key| keys.contains(&key))
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// How [`FeedStore::write_records`] writes records and learns their ids.
#[derive(Clone, Copy)]
enum Write {
    /// New records with ids from `first` on, in order (SQLite, under the write lock); a stored
    /// record of the same id is left as it is.
    Numbered { first: i64 },
    /// New records, each id returned; a stored record of the same id is left as it is.
    Returning,
    /// Records replacing any stored version, each id returned.
    Replace,
}

impl Write {
    /// The same write for the `k`th chunk of [`CHUNK_RECORDS`] records.
    fn chunk(self, k: i64) -> Self {
        match self {
            Write::Numbered { first } => Write::Numbered { first: first + k * CHUNK_RECORDS as i64 },
            other => other,
        }
    }
}

/// The id that [`FeedStore::records_query`] returned for each of its records, if it wrote it.
fn returned_ids(chunk: &[&Prepared], rows: &[AnyRow]) -> Result<Vec<Option<i64>>, FeedError> {
    // Both databases return the rows in VALUES order, though neither promises it: each row is
    // matched to the next record with its id, and looked up among all of them only if there is
    // none, instead of a map from every returned record id, one string and one hash per record.
    let mut ids = vec![None; chunk.len()];
    let mut next = 0;
    let mut by_record_id: Option<HashMap<&str, usize>> = None;
    for row in rows {
        let (id, record_id): (i64, &str) = (row.try_get(0)?, row.try_get(1)?);
        let at = match chunk[next..].iter().position(|r| r.record_id == record_id) {
            Some(skipped) => next + skipped,
            None => *by_record_id
                .get_or_insert_with(|| chunk.iter().enumerate().map(|(at, r)| (r.record_id.as_str(), at)).collect())
                .get(record_id)
                .ok_or_else(|| FeedError::Internal("upsert returned an unknown record".into()))?,
        };
        ids[at] = Some(id);
        next = at + 1;
    }
    Ok(ids)
}

/// A record as stored, to decide whether a pushed version replaces it, and how.
struct Existing {
    id: i64,
    version: u64,
    /// The keyed digest of its binding and contents (see [`Prepared`]).
    content_digest: Vec<u8>,
    /// The index keys it is filed under, concatenated.
    index_keys: Vec<u8>,
}

async fn stored<'a>(
    db: &Db,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Existing>, FeedError> {
    let ids: Vec<&str> = ids.collect::<HashSet<_>>().into_iter().collect();
    let mut existing = HashMap::new();
    for chunk in ids.chunks(CHUNK_IDS) {
        let sql = format!(
            "SELECT id, record_id, version, content_digest, index_keys FROM records WHERE record_id IN ({})",
            db.placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let version = u64::try_from(row.try_get::<i64, _>("version")?).unwrap_or(0);
            let record = Existing {
                id: row.try_get("id")?,
                version,
                content_digest: row.try_get("content_digest")?,
                index_keys: row.try_get("index_keys")?,
            };
            existing.insert(row.try_get("record_id")?, record);
        }
    }
    Ok(existing)
}

fn to_i64(version: u64) -> Result<i64, FeedError> {
    i64::try_from(version).map_err(|_| FeedError::Internal("version out of range".into()))
}

/// Settles one person's candidates: one entry per distinct subject (a person
/// held on several records is one candidate, not rivals), then each record
/// takes its subject's settled verdict.
fn settle_by_subject(found: &mut [(FoundItem, MatchRecord, Scored)]) {
    let mut subjects: Vec<MatchRecord> = Vec::new();
    let mut scores: Vec<Scored> = Vec::new();
    let index: Vec<usize> = found
        .iter()
        .map(|(_, subject, scored)| {
            subjects.iter().position(|s| s == subject).unwrap_or_else(|| {
                subjects.push(subject.clone());
                scores.push(scored.clone());
                subjects.len() - 1
            })
        })
        .collect();
    let refs: Vec<&MatchRecord> = subjects.iter().collect();
    settle(&refs, &mut scores);
    for ((_, _, scored), at) in found.iter_mut().zip(index) {
        *scored = scores[at].clone();
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Row, sqlite::SqlitePoolOptions};

    /// Migration 0003 keeps what a feed already holds: each record with a new integer id, its
    /// keys cut to 8 bytes in its epoch, and the same keys listed in its row.
    #[tokio::test]
    async fn the_epoch_migration_carries_existing_rows_over() -> Result<(), sqlx::Error> {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
        sqlx::raw_sql(include_str!("../migrations/sqlite/0001_records.sql")).execute(&pool).await?;
        sqlx::raw_sql(include_str!("../migrations/sqlite/0002_record_keys_without_rowid.sql")).execute(&pool).await?;
        sqlx::raw_sql(
            "INSERT INTO records VALUES ('A', 1, 'event', 'c', 'standard', '2020-01-01', NULL, NULL, 'k', x'00', 0), \
             ('B', 2, 'event', 'c', 'standard', '2020-01-01', NULL, NULL, 'k', x'00', 0); \
             INSERT INTO record_keys VALUES \
             (x'0102030405060708aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'A'), \
             (x'1102030405060708aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'A'), \
             (x'2102030405060708aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'B');",
        )
        .execute(&pool)
        .await?;
        sqlx::raw_sql(include_str!("../migrations/sqlite/0003_integer_ids_epoch_index.sql")).execute(&pool).await?;

        let records = sqlx::query("SELECT id, record_id, length(index_keys) AS n FROM records ORDER BY id")
            .fetch_all(&pool)
            .await?;
        let records: Vec<(i64, String, i64)> =
            records.iter().map(|r| (r.get("id"), r.get("record_id"), r.get("n"))).collect();
        assert_eq!(records, [(1, "A".to_owned(), 16), (2, "B".to_owned(), 8)]);
        let keys = sqlx::query("SELECT epoch, hex(blind_key) AS key, record FROM record_keys ORDER BY record, key")
            .fetch_all(&pool)
            .await?;
        let keys: Vec<(i64, String, i64)> =
            keys.iter().map(|r| (r.get("epoch"), r.get("key"), r.get("record"))).collect();
        assert_eq!(
            keys,
            [
                (0, "0102030405060708".to_owned(), 1),
                (0, "1102030405060708".to_owned(), 1),
                (0, "2102030405060708".to_owned(), 2)
            ]
        );
        Ok(())
    }

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    /// A health feed's store on a fresh in-memory SQLite database.
    async fn health_store() -> TestResult<super::FeedStore> {
        let dir = tempfile::tempdir()?;
        let key_file = dir.path().join("health.keys.json");
        mash_seal::KeyRing::write_new(&key_file, "k1")?;
        let keys = mash_seal::KeyRing::load(&key_file)?;
        let db = mash_db::connect("sqlite::memory:", &crate::migrations(), 1).await?;
        Ok(super::FeedStore::new(db, keys, mash_domain::Agency::HEALTH))
    }

    /// A health record about a child called `given_name` Lee, ready to store.
    fn record(store: &super::FeedStore, id: &str, version: u64, given_name: &str) -> TestResult<super::Prepared> {
        use mash_domain::{Agency, Category, Person, PersonInput};
        let category = Category::all().find(|c| c.agency() == Agency::HEALTH).ok_or("no health category")?;
        let today = mash_domain::today();
        let input = PersonInput { given_name, family_name: "Lee", date_of_birth: "2015-01-02", ..Default::default() };
        let subject = Person::parse("subject", input, today)?;
        let content = crate::ItemContent::new(category, today, vec![]);
        let mut sealer = store.sealer(1);
        Ok(store.prepare(&mut sealer, super::NewRecord { record_id: id.into(), version, subject, content })?)
    }

    /// The index holds exactly each stored record's own keys, filed under its id.
    async fn assert_index_consistent(store: &super::FeedStore) -> TestResult {
        use std::collections::BTreeMap;
        let pool = &store.db.pool;
        let mut listed: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for row in sqlx::query("SELECT id, index_keys FROM records").fetch_all(pool).await? {
            let keys: Vec<u8> = row.get(1);
            listed.insert(row.get(0), super::index_values(&keys).collect());
        }
        let mut filed: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for row in
            sqlx::query("SELECT record, blind_key FROM record_keys ORDER BY record, blind_key").fetch_all(pool).await?
        {
            filed.entry(row.get(0)).or_default().push(row.get(1));
        }
        for keys in listed.values_mut() {
            keys.sort_unstable();
        }
        assert_eq!(filed, listed);
        Ok(())
    }

    /// In a batch, the last row of a record wins and earlier ones are reported as before,
    /// whether the record is new (inserted outright) or already stored (compared first); only
    /// the stored version's keys are filed.
    #[tokio::test]
    async fn a_batch_keeps_the_latest_row_of_each_record() -> TestResult {
        use super::Upserted;
        let store = health_store().await?;
        let record = |id: &str, version: u64, given_name: &str| record(&store, id, version, given_name);
        let first = [record("A", 1, "Amy")?, record("B", 1, "Bo")?, record("A", 2, "Ann")?, record("A", 1, "Amy")?];
        let outcomes = store.upsert(&first).await?;
        assert_eq!(
            outcomes,
            [Upserted::Stored, Upserted::Stored, Upserted::Stored, Upserted::Stale { stored_version: 2 }]
        );
        let second = [record("A", 2, "Ann")?, record("B", 3, "Bea")?, record("C", 1, "Cy")?, record("B", 2, "Bo")?];
        let outcomes = store.upsert(&second).await?;
        assert_eq!(
            outcomes,
            [Upserted::Unchanged, Upserted::Stored, Upserted::Stored, Upserted::Stale { stored_version: 3 }]
        );
        let versions =
            sqlx::query("SELECT record_id, version FROM records ORDER BY record_id").fetch_all(&store.db.pool).await?;
        let versions: Vec<(String, i64)> = versions.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(versions, [("A".to_owned(), 2), ("B".to_owned(), 3), ("C".to_owned(), 1)]);
        assert_index_consistent(&store).await
    }

    /// A version is immutable: pushing it again with other contents is a conflict, reported
    /// for that row, and what is stored stays as it was.
    #[tokio::test]
    async fn a_re_push_of_a_version_with_other_contents_is_a_conflict() -> TestResult {
        use super::Upserted;
        let store = health_store().await?;
        let record = |id: &str, version: u64, given_name: &str| record(&store, id, version, given_name);
        assert_eq!(store.upsert(&[record("A", 1, "Amy")?]).await?, [Upserted::Stored]);
        let outcomes = store.upsert(&[record("A", 1, "Ann")?, record("A", 1, "Amy")?]).await?;
        assert_eq!(outcomes, [Upserted::Conflict, Upserted::Unchanged]);
        let outcomes = store.upsert(&[record("C", 1, "Cy")?, record("C", 1, "Cat")?]).await?;
        assert_eq!(outcomes, [Upserted::Stored, Upserted::Conflict]);
        let row = sqlx::query("SELECT * FROM records WHERE record_id = 'A'").fetch_one(&store.db.pool).await?;
        let (_, subject) = store.decode(&row)?;
        assert_eq!(subject.given_name.as_deref(), Some("Amy"));
        assert_index_consistent(&store).await
    }

    /// The columns the broker's policy reads are bound into the seal: changing one in the
    /// database (a restricted item made to look routine) makes the row unreadable.
    #[tokio::test]
    async fn a_classification_changed_in_the_database_makes_the_record_unreadable() -> TestResult {
        let store = health_store().await?;
        store.upsert(&[record(&store, "A", 1, "Amy")?]).await?;
        let read = || async { sqlx::query("SELECT * FROM records").fetch_one(&store.db.pool).await };
        assert!(store.decode(&read().await?).is_ok());
        for (column, candidates) in [
            ("sensitivity", ["standard", "restricted"]),
            ("category", ["health/gp-registration", "health/health-visitor"]),
            ("kind", ["state", "event"]),
            ("item_date", ["2001-01-01", "2002-02-02"]),
        ] {
            let original: String = read().await?.get(column);
            let value = candidates.into_iter().find(|v| *v != original).ok_or("no other value")?;
            let change = format!("UPDATE records SET {column} = $1");
            sqlx::query(sqlx::AssertSqlSafe(change.clone())).bind(value).execute(&store.db.pool).await?;
            let result = store.decode(&read().await?);
            assert!(matches!(result, Err(crate::FeedError::Seal(_))), "{column} changed: {:?}", result.map(|r| r.0));
            sqlx::query(sqlx::AssertSqlSafe(change)).bind(original).execute(&store.db.pool).await?;
        }
        Ok(())
    }

    /// On SQLite the store numbers new records itself, chunk by chunk: when some records of a
    /// batch are stored already (in the second of three chunks here), each new one still gets
    /// its own id and its keys are filed under it, and the stored ones are left as they were.
    #[tokio::test]
    async fn new_records_among_stored_ones_are_numbered_and_filed() -> TestResult {
        use super::Upserted;
        let store = health_store().await?;
        // Neighbours differ in name, so keys filed under a neighbour's id would show.
        let names = ["Amy", "Bo", "Cy", "Di", "Ed", "Flo", "Gus"];
        let make = |n: usize| record(&store, &format!("R{n}"), 1, names[n % names.len()]);
        let stored: Vec<usize> = (500..510).collect();
        let earlier = stored.iter().map(|&n| make(n)).collect::<TestResult<Vec<_>>>()?;
        store.upsert(&earlier).await?;
        let batch = (0..1000).map(make).collect::<TestResult<Vec<_>>>()?;
        let outcomes = store.upsert(&batch).await?;
        for (n, outcome) in outcomes.iter().enumerate() {
            let expected = if stored.contains(&n) { Upserted::Unchanged } else { Upserted::Stored };
            assert_eq!(*outcome, expected, "record R{n}");
        }
        let ids: i64 = sqlx::query("SELECT COUNT(DISTINCT id) FROM records").fetch_one(&store.db.pool).await?.get(0);
        assert_eq!(ids, 1000);
        assert_index_consistent(&store).await
    }

    /// A record sealed at push reads back as it was pushed.
    #[test]
    fn sealed_content_reads_back_as_written() -> Result<(), Box<dyn std::error::Error>> {
        use mash_domain::{NhsNumber, Person, Sex};
        let person = Person {
            given_name: Some("Amy".into()),
            family_name: Some("O'Neil-Smith".into()),
            date_of_birth: Some(time::macros::date!(2015 - 01 - 02)),
            nhs_number: Some(NhsNumber::parse("nhs_number", "9434765919")?),
            upn: None,
            postcode: Some("LS1 1AA".into()),
            sex: Some(Sex::Female),
            previous_family_names: vec!["Khan".into()],
            birth_years: None,
            address_line: None,
            aliases: vec![],
            previous_addresses: vec![],
        };
        let fields = vec![super::ItemField::open("setting", "GP"), super::ItemField::restricted("notes", "n")];
        let written = serde_json::to_vec(&super::SealingContent { subject: (&person).into(), fields: &fields })?;
        let read: super::SealedContent = serde_json::from_slice(&written)?;
        assert!(read.subject.to_person() == Some(person));
        assert_eq!(read.fields, fields);
        Ok(())
    }

    /// Migration 0004 keeps every index entry, its key now the integer the feed binds for it:
    /// the same 8 bytes, big-endian and signed.
    #[tokio::test]
    async fn the_integer_key_migration_carries_entries_over() -> Result<(), sqlx::Error> {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
        sqlx::raw_sql(include_str!("../migrations/sqlite/0001_records.sql")).execute(&pool).await?;
        sqlx::raw_sql(include_str!("../migrations/sqlite/0002_record_keys_without_rowid.sql")).execute(&pool).await?;
        sqlx::raw_sql(include_str!("../migrations/sqlite/0003_integer_ids_epoch_index.sql")).execute(&pool).await?;
        let keys: [[u8; 8]; 4] = [
            [1, 2, 3, 4, 5, 6, 7, 8],
            [0x80, 0, 0, 0, 0, 0, 0, 1],
            [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            [0xff, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32],
        ];
        for (record, key) in keys.iter().enumerate() {
            sqlx::query("INSERT INTO record_keys (epoch, blind_key, record) VALUES (0, ?, ?)")
                .bind(key.as_slice())
                .bind(i64::try_from(record).unwrap_or_default())
                .execute(&pool)
                .await?;
        }
        sqlx::raw_sql(include_str!("../migrations/sqlite/0004_integer_index_keys.sql")).execute(&pool).await?;

        let rows = sqlx::query("SELECT blind_key, typeof(blind_key) AS type FROM record_keys ORDER BY record")
            .fetch_all(&pool)
            .await?;
        let migrated: Vec<(i64, String)> = rows.iter().map(|r| (r.get("blind_key"), r.get("type"))).collect();
        let expected: Vec<(i64, String)> =
            keys.iter().map(|k| (i64::from_be_bytes(*k), "integer".to_owned())).collect();
        assert_eq!(migrated, expected);
        assert_eq!(
            super::index_values(keys.as_flattened()).collect::<Vec<_>>(),
            expected.iter().map(|e| e.0).collect::<Vec<_>>()
        );
        Ok(())
    }
}
