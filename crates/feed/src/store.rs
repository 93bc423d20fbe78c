//! The feed's records on disk: sealed contents, blind-indexed keys.

use std::collections::{HashMap, HashSet};

use mash_db::{Backend, Db};
use mash_domain::{Agency, Category, ItemKind, Person, PersonInput, Sensitivity, parse_date};
use mash_matching::{MatchRecord, Model, Scored, Verdict, blocking_keys, settle};
use mash_seal::{KeyRing, Sealed};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Executor, Row, any::AnyRow};

use crate::{
    FeedError,
    item::{FoundItem, ItemField, NewRecord},
};

/// A record that may be about the person asked about, and how sure the
/// feed is that it is.
#[derive(Clone, Debug)]
pub struct Found {
    pub item: FoundItem,
    pub scored: Scored,
}

/// What happened to one pushed record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    Stored,
    /// The same version is already stored.
    Unchanged,
    /// A newer version is already stored; this one was not applied.
    Stale {
        stored_version: u64,
    },
}

/// The sealed part of a record.
#[derive(Serialize, Deserialize)]
struct SealedContent {
    subject: SealedSubject,
    fields: Vec<ItemField>,
}

#[derive(Serialize, Deserialize)]
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

impl From<&Person> for SealedSubject {
    fn from(p: &Person) -> Self {
        Self {
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            date_of_birth: p.date_of_birth.map(|d| d.to_string()),
            nhs_number: p.nhs_number.as_ref().map(|n| n.as_str().to_owned()),
            upn: p.upn.as_ref().map(|u| u.as_str().to_owned()),
            postcode: p.postcode.clone(),
            sex: p.sex.map(|s| s.as_str().to_owned()),
            previous_family_names: p.previous_family_names.clone(),
        }
    }
}

/// One agency's record store.
#[derive(Debug)]
pub struct FeedStore {
    db: Db,
    keys: KeyRing,
    agency: Agency,
    model: Model,
}

const RECORD_COLUMNS: usize = 11;
/// Records per multi-row INSERT: 400 × 11 parameters for `records`, and about 400 × 7 × 2 for
/// `record_keys`, well inside SQLite's 32,766 and PostgreSQL's 65,535.
const CHUNK_RECORDS: usize = 400;

/// Set on a SQLite connection before it writes a batch (see `upsert`):
/// - `temp_store = MEMORY`: a multi-row INSERT that may fail on a constraint keeps a statement
///   journal of every page it first touches; in a temporary FILE that was one write syscall per
///   page (17% of the feed's time in a push profile), in memory it is a copy.
/// - `cache_size = -65536` (64 MiB, default 2 MiB): the blind-key index takes random inserts,
///   so a batch touches pages all over it; with a 2 MiB cache each was read back from the OS
///   and spilled to the WAL mid-transaction, more than once per batch.
/// - `wal_autocheckpoint = 16384` pages (64 MiB, default 4 MiB): each batch writes thousands of
///   index pages to the WAL, so the default checkpointed after every commit, copying the same
///   hot pages back into the database again and again; less often, each is copied once.
///
/// Memory: the cache fills only on the connections that write, and only up to 64 MiB each.
const SQLITE_WRITER_PRAGMAS: &str =
    "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;";

impl FeedStore {
    pub fn new(db: Db, keys: KeyRing, agency: Agency) -> Self {
        Self { db, keys, agency, model: Model::default() }
    }

    /// Associated data for a record's ciphertext: a ciphertext copied to
    /// another row, agency or version does not open.
    fn associated_data(&self, record_id: &str, version: u64) -> Vec<u8> {
        format!("{}/{record_id}/{version}", self.agency).into_bytes()
    }

    /// Stores a batch in one transaction: all of it, or (on error) none.
    /// Idempotent on (record_id, version).
    pub async fn upsert(&self, records: &[NewRecord]) -> Result<Vec<Upserted>, FeedError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.db.pool.acquire().await?;
        if self.db.backend == Backend::Sqlite {
            // Set on the connection, outside the transaction (SQLite refuses temp_store inside one).
            (&mut *conn).execute(SQLITE_WRITER_PRAGMAS).await?;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let mut versions = stored_versions(&self.db, &mut tx, records.iter().map(|r| r.record_id.as_str())).await?;
        let mut outcomes = Vec::with_capacity(records.len());
        // Later rows in a batch win over earlier ones for the same record.
        let mut to_write: HashMap<&str, &NewRecord> = HashMap::new();
        for record in records {
            let outcome = match versions.get(record.record_id.as_str()) {
                Some(&stored) if stored == record.version => Upserted::Unchanged,
                Some(&stored) if stored > record.version => Upserted::Stale { stored_version: stored },
                _ => {
                    versions.insert(record.record_id.clone(), record.version);
                    to_write.insert(record.record_id.as_str(), record);
                    Upserted::Stored
                }
            };
            outcomes.push(outcome);
        }
        let writes: Vec<&NewRecord> = to_write.into_values().collect();
        for chunk in writes.chunks(CHUNK_RECORDS) {
            self.write_chunk(&mut tx, chunk).await?;
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn write_chunk(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        chunk: &[&NewRecord],
    ) -> Result<(), FeedError> {
        let ids: Vec<&str> = chunk.iter().map(|r| r.record_id.as_str()).collect();
        let delete = format!("DELETE FROM record_keys WHERE record_id IN ({})", self.db.placeholders(1, ids.len()));
        let mut query = sqlx::query(AssertSqlSafe(delete));
        for id in &ids {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;

        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", self.db.placeholders(i * RECORD_COLUMNS + 1, RECORD_COLUMNS)))
            .collect();
        let upsert = format!(
            "INSERT INTO records (record_id, version, kind, category, sensitivity, item_date, nhs_index, upn_index, key_id, content, updated_at) \
             VALUES {} ON CONFLICT (record_id) DO UPDATE SET version = excluded.version, kind = excluded.kind, \
             category = excluded.category, sensitivity = excluded.sensitivity, item_date = excluded.item_date, \
             nhs_index = excluded.nhs_index, upn_index = excluded.upn_index, key_id = excluded.key_id, \
             content = excluded.content, updated_at = excluded.updated_at",
            rows.join(", ")
        );
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut query = sqlx::query(AssertSqlSafe(upsert));
        let mut keys: Vec<(Vec<u8>, &str)> = Vec::new();
        for record in chunk {
            let sealed = self.seal(record)?;
            let subject = &record.subject;
            let category = record.content.category;
            query = query
                .bind(record.record_id.as_str())
                .bind(to_i64(record.version)?)
                .bind(category.kind().as_str())
                .bind(category.as_str())
                .bind(record.content.sensitivity.as_str())
                .bind(record.content.date.to_string())
                .bind(subject.nhs_number.as_ref().map(|n| self.keys.blind_index(n.as_str())))
                .bind(subject.upn.as_ref().map(|u| self.keys.blind_index(u.as_str())))
                .bind(sealed.key_id)
                .bind(sealed.blob)
                .bind(now);
            let unique = self.blind_keys(&MatchRecord::from_person(subject));
            keys.extend(unique.into_iter().map(|k| (k, record.record_id.as_str())));
        }
        query.execute(&mut **tx).await?;

        // In index order: consecutive inserts land on the same or neighbouring pages.
        keys.sort_unstable();
        let rows: Vec<String> = (0..keys.len()).map(|i| format!("({})", self.db.placeholders(i * 2 + 1, 2))).collect();
        let insert = format!("INSERT INTO record_keys (blind_key, record_id) VALUES {}", rows.join(", "));
        let mut query = sqlx::query(AssertSqlSafe(insert));
        for (key, record_id) in keys {
            query = query.bind(key).bind(record_id);
        }
        query.execute(&mut **tx).await?;
        Ok(())
    }

    fn seal(&self, record: &NewRecord) -> Result<Sealed, FeedError> {
        let content = SealedContent { subject: (&record.subject).into(), fields: record.content.fields.clone() };
        let plaintext = serde_json::to_vec(&content).map_err(|e| FeedError::Internal(e.to_string()))?;
        Ok(self.keys.seal(&self.associated_data(&record.record_id, record.version), &plaintext))
    }

    /// Deletes a record; false if there was none.
    pub async fn delete(&self, record_id: &str) -> Result<bool, FeedError> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM record_keys WHERE record_id = $1").bind(record_id).execute(&mut *tx).await?;
        let deleted = sqlx::query("DELETE FROM records WHERE record_id = $1").bind(record_id).execute(&mut *tx).await?;
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
    pub async fn search(&self, people: &[Person]) -> Result<Vec<Vec<Found>>, FeedError> {
        let queries: Vec<MatchRecord> = people.iter().map(MatchRecord::from_person).collect();
        let keys: Vec<HashSet<Vec<u8>>> = queries.iter().map(|q| self.blind_keys(q)).collect();
        let unique: HashSet<&Vec<u8>> = keys.iter().flatten().collect();
        let sql = format!(
            "SELECT r.record_id, r.version, r.kind, r.category, r.sensitivity, r.item_date, \
             r.key_id, r.content, k.blind_key FROM record_keys k JOIN records r ON r.record_id = k.record_id \
             WHERE k.blind_key IN ({}) ORDER BY r.item_date DESC, r.record_id",
            self.db.placeholders(1, unique.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for key in unique {
            query = query.bind(key.clone());
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        queries.iter().zip(&keys).map(|(q, blind)| self.candidates_for(q, blind, &rows)).collect()
    }

    fn blind_keys(&self, record: &MatchRecord) -> HashSet<Vec<u8>> {
        blocking_keys(record).iter().map(|key| self.keys.blind_index(key.as_str())).collect()
    }

    fn candidates_for(
        &self,
        query: &MatchRecord,
        blind: &HashSet<Vec<u8>>,
        rows: &[AnyRow],
    ) -> Result<Vec<Found>, FeedError> {
        let mut seen = HashSet::new();
        let mut found: Vec<(FoundItem, MatchRecord, Scored)> = Vec::new();
        for row in rows {
            let key: Vec<u8> = row.try_get("blind_key")?;
            let record_id: String = row.try_get("record_id")?;
            if !blind.contains(&key) || !seen.insert(record_id) {
                continue;
            }
            let (item, subject) = self.decode(row)?;
            let candidate = MatchRecord::from_person(&subject);
            let scored = self.model.score(query, &candidate);
            if scored.verdict != Verdict::NoMatch {
                found.push((item, candidate, scored));
            }
        }
        settle_by_subject(&mut found);
        Ok(found.into_iter().map(|(item, _, scored)| Found { item, scored }).collect())
    }

    fn decode(&self, row: &AnyRow) -> Result<(FoundItem, Person), FeedError> {
        let corrupt = |what: &str| FeedError::Internal(format!("stored record has an invalid {what}"));
        let record_id: String = row.try_get("record_id")?;
        let version = u64::try_from(row.try_get::<i64, _>("version")?).map_err(|_| corrupt("version"))?;
        let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("content")? };
        let plaintext = self.keys.open(&sealed, &self.associated_data(&record_id, version))?;
        let content: SealedContent = serde_json::from_slice(&plaintext).map_err(|_| corrupt("content"))?;
        let text = |column: &str| -> Result<String, FeedError> { Ok(row.try_get::<String, _>(column)?) };
        let subject = content.subject.to_person().ok_or_else(|| corrupt("subject"))?;
        let item = FoundItem {
            kind: ItemKind::parse("kind", &text("kind")?).map_err(|_| corrupt("kind"))?,
            category: Category::parse("category", &text("category")?).map_err(|_| corrupt("category"))?,
            sensitivity: Sensitivity::parse("sensitivity", &text("sensitivity")?)
                .map_err(|_| corrupt("sensitivity"))?,
            date: parse_date("item_date", &text("item_date")?).map_err(|_| corrupt("date"))?,
            fields: content.fields,
            record_id,
            version,
        };
        Ok((item, subject))
    }
}

async fn stored_versions<'a>(
    db: &Db,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, u64>, FeedError> {
    let ids: Vec<&str> = ids.collect::<HashSet<_>>().into_iter().collect();
    let mut versions = HashMap::new();
    for chunk in ids.chunks(900) {
        let sql =
            format!("SELECT record_id, version FROM records WHERE record_id IN ({})", db.placeholders(1, chunk.len()));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let version: i64 = row.try_get("version")?;
            versions.insert(row.try_get("record_id")?, u64::try_from(version).unwrap_or(0));
        }
    }
    Ok(versions)
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
