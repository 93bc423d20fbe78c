//! Possible matches: records a feed could not be sure are the enquiry's
//! subject. The enquiry learns only that they exist, and why the feed thinks
//! they may be the person, until a researcher confirms the match.

use std::collections::HashSet;

use mash_db::{Arg, Db};
use mash_domain::{Agency, EnquiryId, Identity, SubjectId};
use sha2::{Digest, Sha256};
use sqlx::Row;

use mash_disclosure_log::Companions;

use crate::BrokerError;

/// A possible match a check has just met.
pub(crate) struct NewCandidate {
    pub candidate_id: String,
    enquiry_id: EnquiryId,
    subject_id: String,
    agency: Agency,
    record_ref: String,
}

impl NewCandidate {
    pub(crate) fn new(enquiry_id: EnquiryId, subject: &SubjectId, agency: Agency, record_ref: &str) -> Self {
        // Derived, so that checking again finds the same candidate.
        let digest = Sha256::digest(format!("{enquiry_id}\n{subject}\n{agency}\n{record_ref}"));
        Self {
            candidate_id: format!("cand-{}", hex::encode(&digest[..12])),
            enquiry_id,
            subject_id: subject.to_string(),
            agency,
            record_ref: record_ref.to_owned(),
        }
    }
}

/// What a confirmation is about.
pub(crate) struct Candidate {
    pub subject_id: String,
    pub agency: Agency,
    pub record_ref: String,
    pub confirmed_by: String,
}

#[derive(Debug)]
pub(crate) struct CandidateStore {
    db: Db,
}

impl CandidateStore {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }

    /// The possible matches of one check as rows for the log to write with
    /// the check's entries; one already stored is kept.
    pub(crate) fn rows(candidates: &[NewCandidate]) -> Companions {
        let seen_at = crate::now_rfc3339();
        let rows = candidates
            .iter()
            .map(|c| {
                vec![
                    Arg::Text(c.candidate_id.clone()),
                    Arg::Text(c.enquiry_id.to_string()),
                    Arg::Text(c.subject_id.to_string()),
                    Arg::Text(c.agency.as_str().to_owned()),
                    Arg::Text(c.record_ref.clone()),
                    Arg::Text(seen_at.clone()),
                ]
            })
            .collect();
        Companions {
            table: "possible_matches",
            columns: &["candidate_id", "enquiry_id", "subject_id", "agency", "record_ref", "seen_at"],
            key: "candidate_id",
            rows,
        }
    }

    /// The candidates of `enquiry` that a researcher has confirmed.
    pub(crate) async fn confirmed(&self, enquiry: EnquiryId) -> Result<HashSet<String>, BrokerError> {
        let rows =
            sqlx::query("SELECT candidate_id FROM possible_matches WHERE enquiry_id = $1 AND confirmed_by <> ''")
                .bind(enquiry.to_string())
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter().map(|row| Ok(row.try_get("candidate_id")?)).collect()
    }

    pub(crate) async fn get(&self, enquiry: EnquiryId, candidate_id: &str) -> Result<Option<Candidate>, BrokerError> {
        let row = sqlx::query(
            "SELECT subject_id, agency, record_ref, confirmed_by FROM possible_matches \
             WHERE candidate_id = $1 AND enquiry_id = $2",
        )
        .bind(candidate_id)
        .bind(enquiry.to_string())
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let agency: String = row.try_get("agency")?;
        Ok(Some(Candidate {
            subject_id: row.try_get("subject_id")?,
            agency: Agency::parse("agency", &agency)
                .map_err(|_| BrokerError::Internal("stored candidate has an invalid agency".into()))?,
            record_ref: row.try_get("record_ref")?,
            confirmed_by: row.try_get("confirmed_by")?,
        }))
    }

    /// Records the confirmation; `false` if it was confirmed meanwhile.
    pub(crate) async fn confirm(
        &self,
        candidate_id: &str,
        by: &Identity,
        at: &str,
        reason: &str,
    ) -> Result<bool, BrokerError> {
        let done = sqlx::query(
            "UPDATE possible_matches SET confirmed_by = $1, confirmed_at = $2, reason = $3 \
             WHERE candidate_id = $4 AND confirmed_by = ''",
        )
        .bind(by.as_str())
        .bind(at)
        .bind(reason)
        .bind(candidate_id)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
