//! Enquiries: what the MASH is asking about, at what level, on what basis.

use std::{collections::HashMap, sync::Arc};

use mash_db::Db;
use mash_domain::{
    ConsentState, DomainError, EnquiryId, Identity, LawfulBasis, Level, Person, PersonInput, Purpose, Relation,
    SubjectId,
};
use mash_seal::{KeyRing, Sealed};
use serde::{Deserialize, Serialize};
use sqlx::{Row, any::AnyRow};

use crate::BrokerError;

/// One person an enquiry is about.
#[derive(Clone, Debug)]
pub(crate) struct Subject {
    pub subject_id: SubjectId,
    pub relation: Relation,
    pub person: Person,
}

/// An enquiry as stored: its context decides what it may see.
#[derive(Clone, Debug)]
pub(crate) struct Enquiry {
    pub enquiry_id: EnquiryId,
    pub level: Level,
    pub purpose: Purpose,
    pub lawful_basis: LawfulBasis,
    pub consent: ConsentState,
    pub assigned_researcher: Identity,
    pub opened_by: Identity,
    pub opened_at: String,
    pub subjects: Vec<Subject>,
}

impl Enquiry {
    /// The enquiry as the disclosure log records it.
    pub(crate) fn log_context(&self) -> mash_disclosure_log::EnquiryContext {
        mash_disclosure_log::EnquiryContext {
            enquiry_id: self.enquiry_id.to_string(),
            level: self.level,
            purpose: self.purpose,
            lawful_basis: self.lawful_basis,
            consent: self.consent,
            assigned_researcher: self.assigned_researcher.to_string(),
        }
    }
}

/// The text of an enquiry as it arrives, before parsing.
pub(crate) struct EnquiryInput<'a> {
    pub level: Option<Level>,
    pub purpose: &'a str,
    pub lawful_basis: &'a str,
    pub consent: Option<ConsentState>,
    pub assigned_researcher: &'a str,
    pub subjects: Vec<(Option<Relation>, Option<PersonInput<'a>>)>,
}

const MAX_SUBJECTS: usize = 20;

impl Enquiry {
    /// Parses a new enquiry opened by `caller`; the assigned researcher
    /// defaults to the caller.
    pub(crate) fn parse(input: EnquiryInput<'_>, caller: &Identity) -> Result<Self, DomainError> {
        let level = input.level.ok_or_else(|| DomainError::invalid("level", "is required: 1, 2 or 3"))?;
        let consent = input.consent.ok_or_else(|| DomainError::invalid("consent", "is required"))?;
        let assigned_researcher = match input.assigned_researcher.trim() {
            "" => caller.clone(),
            raw => Identity::parse(raw).map_err(|e| DomainError::invalid("assigned_researcher", e.problem))?,
        };
        if input.subjects.is_empty() || input.subjects.len() > MAX_SUBJECTS {
            return Err(DomainError::invalid("subjects", format!("must hold 1 to {MAX_SUBJECTS} subjects")));
        }
        let today = mash_domain::today();
        let mut subjects = Vec::with_capacity(input.subjects.len());
        for (i, (relation, person)) in input.subjects.into_iter().enumerate() {
            let field = format!("subjects[{i}]");
            let relation = relation.ok_or_else(|| DomainError::invalid(format!("{field}.relation"), "is required"))?;
            let person = person.ok_or_else(|| DomainError::invalid(format!("{field}.person"), "is missing"))?;
            let person = Person::parse(&format!("{field}.person"), person, today)?;
            subjects.push(Subject { subject_id: SubjectId::new(), relation, person });
        }
        if subjects.iter().filter(|s| s.relation == Relation::Child).count() != 1 {
            return Err(DomainError::invalid("subjects", "must include exactly one subject whose relation is child"));
        }
        Ok(Self {
            enquiry_id: EnquiryId::new(),
            level,
            purpose: Purpose::parse("purpose", input.purpose.trim())?,
            lawful_basis: LawfulBasis::parse("lawful_basis", input.lawful_basis.trim())?,
            consent,
            assigned_researcher,
            opened_by: caller.clone(),
            opened_at: crate::now_rfc3339(),
            subjects,
        })
    }
}

/// The sealed form of a subject's person.
#[derive(Serialize, Deserialize)]
struct SealedPerson {
    given_name: String,
    family_name: String,
    date_of_birth: String,
    nhs_number: String,
    upn: String,
    postcode: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    previous_family_names: Vec<String>,
}

/// Enquiries in the broker's database; subjects' details sealed at rest.
#[derive(Debug)]
pub(crate) struct EnquiryStore {
    db: Db,
    keys: std::sync::Arc<KeyRing>,
    /// Enquiries read or written before. An enquiry never changes once
    /// opened, so a cached copy is never stale, in this broker or any
    /// replica. (When enquiries gain state, update this with them.)
    cache: std::sync::RwLock<HashMap<EnquiryId, Arc<Enquiry>>>,
}

/// Cached enquiries beyond this are dropped wholesale; the database has them.
const CACHE_LIMIT: usize = 10_000;

impl EnquiryStore {
    pub(crate) fn new(db: Db, keys: std::sync::Arc<KeyRing>) -> Self {
        Self { db, keys, cache: std::sync::RwLock::default() }
    }

    fn remember(&self, enquiry: Arc<Enquiry>) {
        let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(enquiry.enquiry_id, enquiry);
    }

    pub(crate) async fn get(&self, id: EnquiryId) -> Result<Option<Arc<Enquiry>>, BrokerError> {
        if let Some(cached) = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&id) {
            return Ok(Some(cached.clone()));
        }
        let loaded = self.load(id).await?.map(Arc::new);
        if let Some(enquiry) = &loaded {
            self.remember(enquiry.clone());
        }
        Ok(loaded)
    }

    /// Stores an enquiry and its subjects in one transaction.
    pub(crate) async fn insert(&self, e: &Enquiry) -> Result<(), BrokerError> {
        let mut tx = self.db.pool.begin().await?;
        self.write(&mut tx, e).await?;
        tx.commit().await?;
        self.remember(Arc::new(e.clone()));
        Ok(())
    }

    /// Stores the enquiry of a front-door contact and links the contact to
    /// it, in one transaction: false, with nothing stored, if the contact
    /// already has an enquiry (another call won), so that no enquiry is ever
    /// left without its contact.
    pub(crate) async fn insert_for_contact(&self, e: &Enquiry, contact_id: u64) -> Result<bool, BrokerError> {
        let mut tx = self.db.pool.begin().await?;
        self.write(&mut tx, e).await?;
        let linked = sqlx::query("UPDATE contacts SET enquiry_id = $1 WHERE contact_id = $2 AND enquiry_id IS NULL")
            .bind(e.enquiry_id.to_string())
            .bind(contact_id as i64)
            .execute(&mut *tx)
            .await?;
        if linked.rows_affected() != 1 {
            return Ok(false);
        }
        tx.commit().await?;
        self.remember(Arc::new(e.clone()));
        Ok(true)
    }

    async fn write(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, e: &Enquiry) -> Result<(), BrokerError> {
        sqlx::query(
            "INSERT INTO enquiries (enquiry_id, level, purpose, lawful_basis, consent, assigned_researcher, opened_by, opened_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.enquiry_id.to_string())
        .bind(e.level.as_str())
        .bind(e.purpose.as_str())
        .bind(e.lawful_basis.as_str())
        .bind(e.consent.as_str())
        .bind(e.assigned_researcher.as_str())
        .bind(e.opened_by.as_str())
        .bind(e.opened_at.as_str())
        .execute(&mut **tx)
        .await?;
        for (position, subject) in e.subjects.iter().enumerate() {
            let sealed = self.seal(e.enquiry_id, subject)?;
            sqlx::query(
                "INSERT INTO subjects (subject_id, enquiry_id, position, relation, key_id, person) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(subject.subject_id.to_string())
            .bind(e.enquiry_id.to_string())
            .bind(position as i64)
            .bind(subject.relation.as_str())
            .bind(sealed.key_id)
            .bind(sealed.blob)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    async fn load(&self, id: EnquiryId) -> Result<Option<Enquiry>, BrokerError> {
        let row = sqlx::query("SELECT * FROM enquiries WHERE enquiry_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let subjects = sqlx::query("SELECT * FROM subjects WHERE enquiry_id = $1 ORDER BY position")
            .bind(id.to_string())
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|row| self.subject(row))
            .collect::<Result<Vec<_>, _>>()?;
        let text = |column: &str| -> Result<String, BrokerError> { Ok(row.try_get::<String, _>(column)?) };
        let corrupt = |column: &str| BrokerError::Internal(format!("stored enquiry has an invalid {column}"));
        Ok(Some(Enquiry {
            enquiry_id: id,
            level: Level::parse("level", &text("level")?).map_err(|_| corrupt("level"))?,
            purpose: Purpose::parse("purpose", &text("purpose")?).map_err(|_| corrupt("purpose"))?,
            lawful_basis: LawfulBasis::parse("lawful_basis", &text("lawful_basis")?)
                .map_err(|_| corrupt("lawful_basis"))?,
            consent: ConsentState::parse("consent", &text("consent")?).map_err(|_| corrupt("consent"))?,
            assigned_researcher: Identity::parse(&text("assigned_researcher")?).map_err(|_| corrupt("researcher"))?,
            opened_by: Identity::parse(&text("opened_by")?).map_err(|_| corrupt("opened_by"))?,
            opened_at: text("opened_at")?,
            subjects,
        }))
    }

    /// Keyed pseudonyms of a person, strongest identifier first: the same
    /// person gets the same reference in every enquiry, and the reference
    /// reveals nothing without the broker's index key.
    pub(crate) fn person_refs(&self, person: &Person) -> Vec<String> {
        person.match_keys().iter().map(|key| hex::encode(self.keys.blind_index(&key.canonical()))).collect()
    }

    /// Associated data of a subject's sealed person: the subject, the enquiry
    /// it belongs to and its relation to the child, which the disclosure
    /// policy reads from the clear column. A row moved to another enquiry, or
    /// whose relation was changed in the database, does not open.
    fn associated_data(subject_id: &str, enquiry_id: &str, relation: &str) -> Vec<u8> {
        format!("subject-v2\n{subject_id}\n{enquiry_id}\n{relation}").into_bytes()
    }

    fn seal(&self, enquiry_id: EnquiryId, subject: &Subject) -> Result<Sealed, BrokerError> {
        let p = &subject.person;
        let sealed = SealedPerson {
            given_name: p.given_name.clone().unwrap_or_default(),
            family_name: p.family_name.clone().unwrap_or_default(),
            date_of_birth: p.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            nhs_number: p.nhs_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
            upn: p.upn.as_ref().map(|u| u.as_str().to_owned()).unwrap_or_default(),
            postcode: p.postcode.clone().unwrap_or_default(),
            sex: p.sex.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            previous_family_names: p.previous_family_names.clone(),
        };
        let plaintext = serde_json::to_vec(&sealed).map_err(|e| BrokerError::Internal(e.to_string()))?;
        let associated =
            Self::associated_data(&subject.subject_id.to_string(), &enquiry_id.to_string(), subject.relation.as_str());
        Ok(self.keys.seal(&associated, &plaintext))
    }

    fn subject(&self, row: &AnyRow) -> Result<Subject, BrokerError> {
        let corrupt = |what: &str| BrokerError::Internal(format!("stored subject has an invalid {what}"));
        let id: String = row.try_get("subject_id")?;
        let relation: String = row.try_get("relation")?;
        let enquiry_id: String = row.try_get("enquiry_id")?;
        let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("person")? };
        let plaintext = self.keys.open(&sealed, &Self::associated_data(&id, &enquiry_id, &relation))?;
        let p: SealedPerson = serde_json::from_slice(&plaintext).map_err(|_| corrupt("person"))?;
        let input = PersonInput {
            given_name: &p.given_name,
            family_name: &p.family_name,
            date_of_birth: &p.date_of_birth,
            nhs_number: &p.nhs_number,
            upn: &p.upn,
            postcode: &p.postcode,
            sex: &p.sex,
            previous_family_names: &p.previous_family_names,
        };
        Ok(Subject {
            subject_id: SubjectId::parse("subject_id", &id).map_err(|_| corrupt("id"))?,
            relation: Relation::parse("relation", &relation).map_err(|_| corrupt("relation"))?,
            person: Person::parse("person", input, mash_domain::today()).map_err(|_| corrupt("person"))?,
        })
    }
}
