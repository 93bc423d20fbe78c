//! The feed's records on disk: sealed contents, blind-indexed keys.

use std::collections::{HashMap, HashSet};

use mash_db::Db;
use mash_domain::{Agency, Category, ItemKind, MatchKey, Person, Sensitivity, parse_date};
use mash_seal::{KeyRing, Sealed};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row, any::AnyRow};

use crate::{
    FeedError,
    item::{FoundItem, ItemField, NewRecord},
};

/// How a person was matched ("nhs-number", …) and the items found.
pub type Match = (&'static str, Vec<FoundItem>);

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
        }
    }
}

/// One agency's record store.
#[derive(Debug)]
pub struct FeedStore {
    db: Db,
    keys: KeyRing,
    agency: Agency,
}

const RECORD_COLUMNS: usize = 11;

impl FeedStore {
    pub fn new(db: Db, keys: KeyRing, agency: Agency) -> Self {
        Self { db, keys, agency }
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
        let mut tx = self.db.pool.begin().await?;
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
        for chunk in writes.chunks(400) {
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
            let unique: HashSet<Vec<u8>> =
                subject.match_keys().iter().map(|k| self.keys.blind_index(&k.canonical())).collect();
            keys.extend(unique.into_iter().map(|k| (k, record.record_id.as_str())));
        }
        query.execute(&mut **tx).await?;

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

    /// The items held about each person, and how each match was made, in one
    /// query for all of them (a check asks about a whole household).
    ///
    /// A name-and-date-of-birth match is refused when the person and the
    /// record both carry an NHS number or a UPN and they differ: that is a
    /// different person who shares a name and birthday.
    pub async fn search(&self, people: &[Person]) -> Result<Vec<Option<Match>>, FeedError> {
        let keys: Vec<Vec<(Vec<u8>, MatchKey)>> = people
            .iter()
            .map(|p| p.match_keys().into_iter().map(|k| (self.keys.blind_index(&k.canonical()), k)).collect())
            .collect();
        let unique: HashSet<&Vec<u8>> = keys.iter().flatten().map(|(blind, _)| blind).collect();
        let sql = format!(
            "SELECT r.record_id, r.version, r.kind, r.category, r.sensitivity, r.item_date, r.nhs_index, r.upn_index, \
             r.key_id, r.content, k.blind_key FROM record_keys k JOIN records r ON r.record_id = k.record_id \
             WHERE k.blind_key IN ({}) ORDER BY r.item_date DESC, r.record_id",
            self.db.placeholders(1, unique.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for key in unique {
            query = query.bind(key.clone());
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        people.iter().zip(&keys).map(|(person, blind)| self.matches_for(person, blind, &rows)).collect()
    }

    fn matches_for(
        &self,
        person: &Person,
        blind: &[(Vec<u8>, MatchKey)],
        rows: &[AnyRow],
    ) -> Result<Option<Match>, FeedError> {
        let person_nhs = person.nhs_number.as_ref().map(|n| self.keys.blind_index(n.as_str()));
        let person_upn = person.upn.as_ref().map(|u| self.keys.blind_index(u.as_str()));
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        let mut strongest: Option<usize> = None;
        for row in rows {
            let matched: Vec<u8> = row.try_get("blind_key")?;
            let Some(position) = blind.iter().position(|(k, _)| *k == matched) else { continue };
            let by_name = matches!(blind[position].1, MatchKey::NameAndDateOfBirth(_));
            let contradicts = |column: &str, ours: &Option<Vec<u8>>| -> Result<bool, FeedError> {
                let theirs: Option<Vec<u8>> = row.try_get(column)?;
                Ok(matches!((ours, theirs), (Some(a), Some(b)) if *a != b))
            };
            if by_name && (contradicts("nhs_index", &person_nhs)? || contradicts("upn_index", &person_upn)?) {
                continue;
            }
            let record_id: String = row.try_get("record_id")?;
            if seen.insert(record_id) {
                items.push(self.decode(row)?);
            }
            strongest = Some(strongest.map_or(position, |s| s.min(position)));
        }
        Ok(strongest.map(|position| (blind[position].1.method(), items)))
    }

    fn decode(&self, row: &AnyRow) -> Result<FoundItem, FeedError> {
        let corrupt = |what: &str| FeedError::Internal(format!("stored record has an invalid {what}"));
        let record_id: String = row.try_get("record_id")?;
        let version = u64::try_from(row.try_get::<i64, _>("version")?).map_err(|_| corrupt("version"))?;
        let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("content")? };
        let plaintext = self.keys.open(&sealed, &self.associated_data(&record_id, version))?;
        let content: SealedContent = serde_json::from_slice(&plaintext).map_err(|_| corrupt("content"))?;
        let text = |column: &str| -> Result<String, FeedError> { Ok(row.try_get::<String, _>(column)?) };
        Ok(FoundItem {
            kind: ItemKind::parse("kind", &text("kind")?).map_err(|_| corrupt("kind"))?,
            category: Category::parse("category", &text("category")?).map_err(|_| corrupt("category"))?,
            sensitivity: Sensitivity::parse("sensitivity", &text("sensitivity")?)
                .map_err(|_| corrupt("sensitivity"))?,
            date: parse_date("item_date", &text("item_date")?).map_err(|_| corrupt("date"))?,
            fields: content.fields,
            record_id,
            version,
        })
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
