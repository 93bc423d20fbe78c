//! Contacts, enquiry transitions and decisions in the broker's database.
//!
//! Personal details (subjects, referrer) and free-text reasons are sealed with
//! the broker's key, each bound to its row; codes, times and the child's keyed
//! pseudonyms stay in clear because the report and the re-referral check read
//! them. Every write of more than one row is one transaction.

use std::sync::Arc;

use mash_db::Db;
use mash_domain::{Agency, EnquiryId, Identity, Level, Person, PersonInput, Relation, SubjectId};
use mash_frontdoor::{
    Calendar, ConcernCategory, ContactId, ContactRecord, EnquiryState, Outcome, Period, PersonRef, PriorReferral,
    ReferrerKind, Transition, find_rereferral, rereferral::window_start,
};
use mash_seal::{KeyRing, Sealed};
use serde::{Deserialize, Serialize};
use sqlx::{Row, any::AnyRow};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::contact::{Contact, NewContact, Triage};
use crate::{
    BrokerError,
    enquiry::Subject,
    outbox::{Outbox, Outgoing},
    timestamp,
};

/// The sealed part of a contact.
#[derive(Serialize, Deserialize)]
struct SealedContact {
    referrer: String,
    subjects: Vec<SealedSubject>,
}

#[derive(Serialize, Deserialize)]
struct SealedSubject {
    subject_id: String,
    relation: String,
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

/// A manager's decision on an enquiry.
pub(crate) struct Decision {
    pub outcome: Outcome,
    pub reason: String,
    pub by: String,
    pub at: OffsetDateTime,
}

/// Where an enquiry stands, and how it got there.
pub(crate) struct Workflow {
    pub enquiry_id: EnquiryId,
    pub contact_id: Option<ContactId>,
    pub state: EnquiryState,
    pub transitions: Vec<Transition>,
    pub decision: Option<Decision>,
}

pub(crate) struct FrontDoorStore {
    db: Db,
    keys: Arc<KeyRing>,
    /// Where the outcome of an agency's referral goes, in the decision's transaction.
    outbox: Outbox,
    /// The deadline calendar (England and Wales bank holidays, Thurrock's timescales).
    calendar: Calendar,
}

impl FrontDoorStore {
    pub(crate) fn new(db: Db, keys: Arc<KeyRing>, outbox: Outbox) -> Self {
        let calendar = Calendar::england_and_wales();
        let year = OffsetDateTime::now_utc().year();
        for year in [year, year + 1] {
            if !calendar.covers(year) {
                // Deadlines still work, but level 1 would count bank holidays as working days.
                tracing::warn!(year, "the bank holiday list does not cover this year; update the calendar");
            }
        }
        Self { db, keys, outbox, calendar }
    }

    pub(crate) fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// Stores a new contact, flagged as a re-referral of the child's most
    /// recently closed contact in the previous 12 months, if any. The lookup
    /// and every insert are one transaction.
    pub(crate) async fn insert(
        &self,
        contact: &NewContact,
        recorded_by: &Identity,
        child_refs: &[String],
    ) -> Result<ContactId, BrokerError> {
        let mut tx = self.db.pool.begin().await?;
        // The insert comes first so that the transaction holds the write lock
        // before it reads (on SQLite a read-then-write transaction can fail
        // when another writer commits in between).
        let concerns: Vec<&str> = contact.concerns.iter().map(|c| c.as_str()).collect();
        let row = sqlx::query(
            "INSERT INTO contacts (received_at, recorded_by, recorded_at, referrer_kind, concerns, key_id, sealed, referrer_agency) \
             VALUES ($1, $2, $3, $4, $5, '', $6, $7) RETURNING contact_id",
        )
        .bind(timestamp(contact.received_at))
        .bind(recorded_by.as_str())
        .bind(crate::now_rfc3339())
        .bind(contact.referrer_kind.as_str())
        .bind(concerns.join(" "))
        .bind(Vec::<u8>::new())
        .bind(contact.referrer_agency.map(|a| a.as_str()))
        .fetch_one(&mut *tx)
        .await?;
        let id = ContactId::new(row.try_get::<i64, _>("contact_id")? as u64);
        let re_referral_of = self.find_re_referral(&mut tx, child_refs, contact.received_at).await?;
        // Sealed once the id exists, so that the ciphertext is bound to its row.
        let sealed = self.seal_contact(id, contact)?;
        sqlx::query("UPDATE contacts SET key_id = $1, sealed = $2, re_referral_of = $3 WHERE contact_id = $4")
            .bind(sealed.key_id)
            .bind(sealed.blob)
            .bind(re_referral_of.map(|prior| prior.get() as i64))
            .bind(id.get() as i64)
            .execute(&mut *tx)
            .await?;
        let mut refs: Vec<&String> = child_refs.iter().collect();
        refs.sort_unstable();
        refs.dedup();
        if !refs.is_empty() {
            let sql = format!(
                "INSERT INTO contact_children (person_ref, contact_id) VALUES {}",
                self.db.value_rows(refs.len(), 2)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for person_ref in refs {
                query = query.bind(person_ref.as_str()).bind(id.get() as i64);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The contact a new contact about this child re-refers, by any of the
    /// child's keyed pseudonyms; the library decides among the candidates.
    async fn find_re_referral(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        child_refs: &[String],
        received_at: OffsetDateTime,
    ) -> Result<Option<ContactId>, BrokerError> {
        if child_refs.is_empty() {
            return Ok(None);
        }
        let n = child_refs.len();
        let sql = format!(
            "SELECT DISTINCT c.contact_id, c.closed_at FROM contact_children r \
             JOIN contacts c ON c.contact_id = r.contact_id \
             WHERE r.person_ref IN ({}) AND c.closed_at IS NOT NULL AND c.closed_at >= {} AND c.closed_at <= {}",
            self.db.placeholders(1, n),
            self.db.placeholders(n + 1, 1),
            self.db.placeholders(n + 2, 1),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for person_ref in child_refs {
            query = query.bind(person_ref.as_str());
        }
        let rows =
            query.bind(timestamp(window_start(received_at))).bind(timestamp(received_at)).fetch_all(&mut **tx).await?;
        // Every candidate matched one of this child's pseudonyms: the same child.
        let child = PersonRef::new("this-child");
        let priors = rows
            .iter()
            .map(|row| {
                Ok(PriorReferral {
                    id: ContactId::new(row.try_get::<i64, _>("contact_id")? as u64),
                    person: child.clone(),
                    closed_at: instant(&row.try_get::<String, _>("closed_at")?)?,
                })
            })
            .collect::<Result<Vec<_>, BrokerError>>()?;
        Ok(find_rereferral(&child, received_at, &priors).map(|prior| prior.id))
    }

    /// Records the triage of an untriaged contact; false if it was already triaged (or is absent).
    pub(crate) async fn triage(&self, id: ContactId, triage: &Triage) -> Result<bool, BrokerError> {
        let sealed = self.keys.seal(triage_aad(id).as_bytes(), triage.reason.as_bytes());
        let done = sqlx::query(
            "UPDATE contacts SET level = $1, deadline = $2, triaged_by = $3, triaged_at = $4, triage_key_id = $5, triage_reason = $6 \
             WHERE contact_id = $7 AND level IS NULL",
        )
        .bind(triage.level.as_str())
        .bind(timestamp(triage.deadline))
        .bind(triage.by.as_str())
        .bind(timestamp(triage.at))
        .bind(sealed.key_id)
        .bind(sealed.blob)
        .bind(id.get() as i64)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn get(&self, id: ContactId) -> Result<Option<Contact>, BrokerError> {
        let row = sqlx::query(
            "SELECT c.*, e.state AS enquiry_state FROM contacts c \
             LEFT JOIN enquiries e ON e.enquiry_id = c.enquiry_id WHERE c.contact_id = $1",
        )
        .bind(id.get() as i64)
        .fetch_optional(&self.db.pool)
        .await?;
        row.map(|row| self.contact(id, &row)).transpose()
    }

    /// The stored state of an enquiry; `None` if there is no such enquiry.
    pub(crate) async fn state(&self, enquiry_id: EnquiryId) -> Result<Option<EnquiryState>, BrokerError> {
        let row = sqlx::query("SELECT state FROM enquiries WHERE enquiry_id = $1")
            .bind(enquiry_id.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        row.map(|row| parse_state(&row.try_get::<String, _>("state")?)).transpose()
    }

    /// Applies a transition the library allowed, if the enquiry is still in
    /// `transition.from` (false if another call moved it first). The state,
    /// the transition record, the decision and the contact's copy of them are
    /// written in one transaction.
    pub(crate) async fn apply(
        &self,
        enquiry_id: EnquiryId,
        transition: &Transition,
        decision: Option<(Outcome, &str)>,
    ) -> Result<bool, BrokerError> {
        let id = enquiry_id.to_string();
        let at = timestamp(transition.at);
        let mut tx = self.db.pool.begin().await?;
        // The first statement writes, so it takes the write lock (SQLite) or
        // the row lock (PostgreSQL) before anything is read.
        let moved = sqlx::query("UPDATE enquiries SET state = $1 WHERE enquiry_id = $2 AND state = $3")
            .bind(transition.to.as_str())
            .bind(&id)
            .bind(transition.from.as_str())
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM enquiry_transitions WHERE enquiry_id = $1")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO enquiry_transitions (enquiry_id, seq, from_state, to_state, actor, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(row.try_get::<i64, _>("seq")?)
        .bind(transition.from.as_str())
        .bind(transition.to.as_str())
        .bind(transition.actor.as_str())
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        match (transition.to, decision) {
            (EnquiryState::DecisionRecorded, Some((outcome, reason))) => {
                let sealed = self.keys.seal(decision_aad(enquiry_id).as_bytes(), reason.as_bytes());
                sqlx::query(
                    "INSERT INTO enquiry_decisions (enquiry_id, outcome, decided_by, decided_at, key_id, reason) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&id)
                .bind(outcome.as_str())
                .bind(transition.actor.as_str())
                .bind(&at)
                .bind(sealed.key_id)
                .bind(sealed.blob)
                .execute(&mut *tx)
                .await?;
                let contact = sqlx::query(
                    "UPDATE contacts SET outcome = $1, decided_at = $2 WHERE enquiry_id = $3 \
                     RETURNING contact_id, referrer_agency",
                )
                .bind(outcome.as_str())
                .bind(&at)
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(message) = contact.map(|row| outcome_message(&row, enquiry_id, outcome, &at)).transpose()? {
                    self.outbox.enqueue(&mut tx, &message).await?;
                }
            }
            (EnquiryState::DecisionRecorded, None) => {
                return Err(BrokerError::Internal("a decision transition without a decision".into()));
            }
            (EnquiryState::Closed, _) => {
                sqlx::query("UPDATE contacts SET closed_at = $1 WHERE enquiry_id = $2")
                    .bind(&at)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {}
        }
        tx.commit().await?;
        self.outbox.committed();
        Ok(true)
    }

    pub(crate) async fn workflow(&self, enquiry_id: EnquiryId) -> Result<Option<Workflow>, BrokerError> {
        let id = enquiry_id.to_string();
        let Some(state) = self.state(enquiry_id).await? else { return Ok(None) };
        let contact = sqlx::query("SELECT contact_id FROM contacts WHERE enquiry_id = $1")
            .bind(&id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(|row| row.try_get::<i64, _>("contact_id").map(|id| ContactId::new(id as u64)))
            .transpose()?;
        let transitions = sqlx::query("SELECT * FROM enquiry_transitions WHERE enquiry_id = $1 ORDER BY seq")
            .bind(&id)
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(Transition {
                    from: parse_state(&row.try_get::<String, _>("from_state")?)?,
                    to: parse_state(&row.try_get::<String, _>("to_state")?)?,
                    actor: Identity::parse(&row.try_get::<String, _>("actor")?).map_err(|_| corrupt("actor"))?,
                    at: instant(&row.try_get::<String, _>("at")?)?,
                })
            })
            .collect::<Result<Vec<_>, BrokerError>>()?;
        let decision = sqlx::query("SELECT * FROM enquiry_decisions WHERE enquiry_id = $1")
            .bind(&id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(|row| {
                let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("reason")? };
                let reason = self.keys.open(&sealed, decision_aad(enquiry_id).as_bytes())?;
                Ok::<_, BrokerError>(Decision {
                    outcome: Outcome::parse("outcome", &row.try_get::<String, _>("outcome")?)
                        .map_err(|_| corrupt("outcome"))?,
                    reason: String::from_utf8(reason).map_err(|_| corrupt("decision reason"))?,
                    by: row.try_get("decided_by")?,
                    at: instant(&row.try_get::<String, _>("decided_at")?)?,
                })
            })
            .transpose()?;
        Ok(Some(Workflow { enquiry_id, contact_id: contact, state, transitions, decision }))
    }

    /// What the report needs: the triaged contacts received in `period` by
    /// `as_of`, and every earlier one still undecided with its deadline passed
    /// as of then (the report's "past deadline" looks beyond the period); and
    /// how many contacts in the period are not triaged yet.
    pub(crate) async fn report_records(
        &self,
        period: &Period,
        as_of: OffsetDateTime,
    ) -> Result<(Vec<ContactRecord>, u64), BrokerError> {
        let (start, end, as_of_text) = (timestamp(period.start()), timestamp(period.end()), timestamp(as_of));
        let columns = "contact_id, received_at, level, deadline, decided_at, outcome, re_referral_of, closed_at";
        let in_period = format!(
            "SELECT {columns} FROM contacts WHERE level IS NOT NULL \
             AND received_at >= $1 AND received_at < $2 AND received_at <= $3"
        );
        let overdue_before = format!(
            "SELECT {columns} FROM contacts WHERE level IS NOT NULL AND received_at < $1 \
             AND deadline < $2 AND (decided_at IS NULL OR decided_at > $3)"
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(in_period))
            .bind(&start)
            .bind(&end)
            .bind(&as_of_text)
            .fetch_all(&self.db.pool)
            .await?;
        rows.extend(
            sqlx::query(sqlx::AssertSqlSafe(overdue_before))
                .bind(&start)
                .bind(&as_of_text)
                .bind(&as_of_text)
                .fetch_all(&self.db.pool)
                .await?,
        );
        let records = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
        let untriaged = sqlx::query(
            "SELECT COUNT(*) AS n FROM contacts WHERE level IS NULL AND received_at >= $1 AND received_at < $2 AND received_at <= $3",
        )
        .bind(&start)
        .bind(&end)
        .bind(&as_of_text)
        .fetch_one(&self.db.pool)
        .await?
        .try_get::<i64, _>("n")?;
        Ok((records, untriaged as u64))
    }

    fn seal_contact(&self, id: ContactId, contact: &NewContact) -> Result<Sealed, BrokerError> {
        let sealed = SealedContact {
            referrer: contact.referrer.clone(),
            subjects: contact.subjects.iter().map(seal_subject).collect(),
        };
        let plaintext = serde_json::to_vec(&sealed).map_err(|e| BrokerError::Internal(e.to_string()))?;
        Ok(self.keys.seal(contact_aad(id).as_bytes(), &plaintext))
    }

    fn contact(&self, id: ContactId, row: &AnyRow) -> Result<Contact, BrokerError> {
        let text = |column: &str| -> Result<String, BrokerError> { Ok(row.try_get::<String, _>(column)?) };
        let optional = |column: &str| -> Result<Option<String>, BrokerError> { Ok(row.try_get(column)?) };
        let sealed = Sealed { key_id: text("key_id")?, blob: row.try_get("sealed")? };
        let opened: SealedContact = serde_json::from_slice(&self.keys.open(&sealed, contact_aad(id).as_bytes())?)
            .map_err(|_| corrupt("sealed contact"))?;
        let subjects = opened.subjects.iter().map(open_subject).collect::<Result<Vec<_>, _>>()?;
        let triage = match optional("level")? {
            None => None,
            Some(level) => {
                let sealed = Sealed {
                    key_id: optional("triage_key_id")?.unwrap_or_default(),
                    blob: row.try_get::<Option<Vec<u8>>, _>("triage_reason")?.unwrap_or_default(),
                };
                let reason = self.keys.open(&sealed, triage_aad(id).as_bytes())?;
                Some(Triage {
                    level: Level::parse("level", &level).map_err(|_| corrupt("level"))?,
                    reason: String::from_utf8(reason).map_err(|_| corrupt("triage reason"))?,
                    by: optional("triaged_by")?.unwrap_or_default(),
                    at: instant(&optional("triaged_at")?.unwrap_or_default())?,
                    deadline: instant(&optional("deadline")?.unwrap_or_default())?,
                })
            }
        };
        let concerns = text("concerns")?
            .split_whitespace()
            .map(|code| ConcernCategory::parse("concerns", code).map_err(|_| corrupt("concern")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Contact {
            id,
            received_at: instant(&text("received_at")?)?,
            recorded_by: text("recorded_by")?,
            referrer_kind: ReferrerKind::parse("referrer_kind", &text("referrer_kind")?)
                .map_err(|_| corrupt("referrer kind"))?,
            referrer: opened.referrer,
            concerns,
            subjects,
            re_referral_of: row.try_get::<Option<i64>, _>("re_referral_of")?.map(|id| ContactId::new(id as u64)),
            triage,
            enquiry_id: optional("enquiry_id")?
                .map(|raw| EnquiryId::parse("enquiry_id", &raw).map_err(|_| corrupt("enquiry id")))
                .transpose()?,
            state: optional("enquiry_state")?.map(|raw| parse_state(&raw)).transpose()?,
            outcome: optional("outcome")?
                .map(|raw| Outcome::parse("outcome", &raw).map_err(|_| corrupt("outcome")))
                .transpose()?,
            decided_at: optional("decided_at")?.map(|raw| instant(&raw)).transpose()?,
            closed_at: optional("closed_at")?.map(|raw| instant(&raw)).transpose()?,
            referrer_agency: optional("referrer_agency")?
                .map(|raw| Agency::parse("referrer_agency", &raw).map_err(|_| corrupt("referrer agency")))
                .transpose()?,
        })
    }
}

/// The outcome for the agency that made the referral, if an agency did.
fn outcome_message(
    contact: &AnyRow,
    enquiry_id: EnquiryId,
    outcome: Outcome,
    decided_at: &str,
) -> Result<Vec<Outgoing>, BrokerError> {
    let Some(agency) = contact.try_get::<Option<String>, _>("referrer_agency")? else { return Ok(Vec::new()) };
    let agency = Agency::parse("referrer_agency", &agency).map_err(|_| corrupt("referrer agency"))?;
    let body = mash_proto::v1::ReferralOutcome {
        contact_id: contact.try_get::<i64, _>("contact_id")? as u64,
        enquiry_id: enquiry_id.to_string(),
        outcome: super::wire::outcome_to_wire(outcome).into(),
        decided_at: decided_at.to_owned(),
    };
    let body = mash_proto::v1::agency_message::Body::ReferralOutcome(body);
    Ok(vec![Outgoing::new(agency, format!("o-{enquiry_id}"), decided_at.to_owned(), body)])
}

/// One row of the report's query as the library's record.
fn record(row: &AnyRow) -> Result<ContactRecord, BrokerError> {
    let optional = |column: &str| -> Result<Option<OffsetDateTime>, BrokerError> {
        row.try_get::<Option<String>, _>(column)?.map(|raw| instant(&raw)).transpose()
    };
    Ok(ContactRecord {
        id: ContactId::new(row.try_get::<i64, _>("contact_id")? as u64),
        received_at: instant(&row.try_get::<String, _>("received_at")?)?,
        level: Level::parse("level", &row.try_get::<String, _>("level")?).map_err(|_| corrupt("level"))?,
        deadline: instant(&row.try_get::<String, _>("deadline")?)?,
        decided_at: optional("decided_at")?,
        outcome: row
            .try_get::<Option<String>, _>("outcome")?
            .map(|raw| Outcome::parse("outcome", &raw).map_err(|_| corrupt("outcome")))
            .transpose()?,
        re_referral: row.try_get::<Option<i64>, _>("re_referral_of")?.is_some(),
        closed_at: optional("closed_at")?,
    })
}

fn seal_subject(subject: &Subject) -> SealedSubject {
    let p = &subject.person;
    SealedSubject {
        subject_id: subject.subject_id.to_string(),
        relation: subject.relation.as_str().to_owned(),
        given_name: p.given_name.clone().unwrap_or_default(),
        family_name: p.family_name.clone().unwrap_or_default(),
        date_of_birth: p.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
        nhs_number: p.nhs_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
        upn: p.upn.as_ref().map(|u| u.as_str().to_owned()).unwrap_or_default(),
        postcode: p.postcode.clone().unwrap_or_default(),
        sex: p.sex.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        previous_family_names: p.previous_family_names.clone(),
    }
}

fn open_subject(s: &SealedSubject) -> Result<Subject, BrokerError> {
    let input = PersonInput {
        given_name: &s.given_name,
        family_name: &s.family_name,
        date_of_birth: &s.date_of_birth,
        nhs_number: &s.nhs_number,
        upn: &s.upn,
        postcode: &s.postcode,
        sex: &s.sex,
        previous_family_names: &s.previous_family_names,
    };
    Ok(Subject {
        subject_id: SubjectId::parse("subject_id", &s.subject_id).map_err(|_| corrupt("subject id"))?,
        relation: Relation::parse("relation", &s.relation).map_err(|_| corrupt("relation"))?,
        person: Person::parse("person", input, mash_domain::today()).map_err(|_| corrupt("person"))?,
    })
}

/// Associated data binding each sealed value to its row and its purpose, so
/// that no ciphertext can be moved to another row or column unnoticed.
fn contact_aad(id: ContactId) -> String {
    format!("contact:{id}")
}

fn triage_aad(id: ContactId) -> String {
    format!("contact:{id}:triage-reason")
}

fn decision_aad(enquiry_id: EnquiryId) -> String {
    format!("enquiry:{enquiry_id}:decision-reason")
}

fn parse_state(raw: &str) -> Result<EnquiryState, BrokerError> {
    EnquiryState::parse("state", raw).map_err(|_| corrupt("state"))
}

/// A time in the stored form (RFC 3339, UTC).
fn instant(raw: &str) -> Result<OffsetDateTime, BrokerError> {
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| corrupt("timestamp"))
}

fn corrupt(what: &str) -> BrokerError {
    BrokerError::Internal(format!("stored front-door data has an invalid {what}"))
}
