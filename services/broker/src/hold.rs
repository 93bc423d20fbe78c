//! Restricted items held for the owning agency's gatekeeper.
//!
//! A check never discloses a restricted item; it seals the item here and
//! tells the enquiry only that something is held. The agency's gatekeeper
//! releases or withholds it with a reason; a manager may break the glass on
//! a level 3 enquiry. Each decision is in the disclosure log before it takes
//! effect.

use std::sync::Arc;

use mash_db::{Arg, Db};
use mash_disclosure_log::Companions;
use mash_domain::{Agency, EnquiryId, Identity, SubjectId};
use mash_proto::v1 as pb;
use mash_seal::{KeyRing, Sealed};
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::{Row, any::AnyRow};

use crate::{
    BrokerError,
    enquiry::Enquiry,
    outbox::{Outbox, Outgoing},
};

/// Where a hold stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HoldState {
    Held,
    Released,
    Withheld,
}

impl HoldState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HoldState::Held => "held",
            HoldState::Released => "released",
            HoldState::Withheld => "withheld",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [HoldState::Held, HoldState::Released, HoldState::Withheld].into_iter().find(|s| s.as_str() == raw)
    }
}

/// A restricted item a check has just met.
pub(crate) struct NewHold {
    pub hold_id: String,
    enquiry_id: String,
    subject_id: String,
    agency: Agency,
    item: pb::Item,
}

impl NewHold {
    pub(crate) fn new(enquiry: &Enquiry, subject: &SubjectId, agency: Agency, item: pb::Item) -> Self {
        let hold_id = hold_id(enquiry.enquiry_id, subject, agency, &item.record_id);
        Self { hold_id, enquiry_id: enquiry.enquiry_id.to_string(), subject_id: subject.to_string(), agency, item }
    }
}

/// Derived from what is held, so that checking the enquiry again finds the
/// same hold instead of asking the gatekeeper twice.
fn hold_id(enquiry: EnquiryId, subject: &SubjectId, agency: Agency, record_ref: &str) -> String {
    let digest = Sha256::digest(format!("{enquiry}\n{subject}\n{agency}\n{record_ref}"));
    format!("hold-{}", hex::encode(&digest[..12]))
}

/// What a hold's sealed item is bound to: its id and every clear column that
/// decides who may see the item. A hold whose state, agency, enquiry or
/// decision was changed in the database does not open (a write cannot
/// release a refuge address), and its id is recomputed from the columns it
/// is derived from.
struct Binding<'a> {
    hold_id: &'a str,
    enquiry_id: &'a str,
    subject_id: &'a str,
    agency: &'a str,
    record_ref: &'a str,
    category: &'a str,
    state: &'a str,
    decided_by: &'a str,
    break_glass: bool,
}

impl Binding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        let break_glass = if self.break_glass { "1" } else { "0" };
        let parts = [
            self.hold_id,
            self.enquiry_id,
            self.subject_id,
            self.agency,
            self.record_ref,
            self.category,
            self.state,
            self.decided_by,
            break_glass,
        ];
        // Length-prefixed: a record reference may contain any separator.
        let mut associated = b"hold-v2".to_vec();
        for part in parts {
            associated.extend_from_slice(&(part.len() as u32).to_be_bytes());
            associated.extend_from_slice(part.as_bytes());
        }
        associated
    }
}

/// A hold as stored, with its item opened.
#[derive(Clone)]
pub(crate) struct Hold {
    pub hold_id: String,
    pub enquiry_id: EnquiryId,
    pub subject_id: String,
    pub agency: Agency,
    pub record_ref: String,
    pub category: String,
    pub held_at: String,
    pub state: HoldState,
    pub decided_by: String,
    pub decided_at: String,
    pub reason: String,
    pub break_glass: bool,
    pub item: pb::Item,
}

/// A gatekeeper's or a manager's decision on a hold.
pub(crate) struct HoldDecision<'a> {
    pub state: HoldState,
    pub by: &'a Identity,
    pub reason: &'a str,
    pub break_glass: bool,
}

#[derive(Debug)]
pub(crate) struct HoldStore {
    db: Db,
    keys: Arc<KeyRing>,
    outbox: Outbox,
}

impl HoldStore {
    pub(crate) fn new(db: Db, keys: Arc<KeyRing>, outbox: Outbox) -> Self {
        Self { db, keys, outbox }
    }

    /// The holds of one check as rows for the log to write with the check's
    /// entries; a hold already stored is kept as it is.
    pub(crate) fn rows(&self, holds: &[NewHold]) -> Companions {
        let held_at = crate::now_rfc3339();
        let rows = holds
            .iter()
            .map(|hold| {
                let binding = Binding {
                    hold_id: &hold.hold_id,
                    enquiry_id: &hold.enquiry_id,
                    subject_id: &hold.subject_id,
                    agency: hold.agency.as_str(),
                    record_ref: &hold.item.record_id,
                    category: &hold.item.category,
                    state: HoldState::Held.as_str(),
                    decided_by: "",
                    break_glass: false,
                };
                let sealed = self.keys.seal(&binding.associated_data(), &hold.item.encode_to_vec());
                let text = |s: &str| Arg::Text(s.to_owned());
                vec![
                    text(&hold.hold_id),
                    text(&hold.enquiry_id),
                    text(&hold.subject_id),
                    text(hold.agency.as_str()),
                    text(&hold.item.record_id),
                    text(&hold.item.category),
                    text(&held_at),
                    text(HoldState::Held.as_str()),
                    Arg::Text(sealed.key_id),
                    Arg::Bytes(sealed.blob),
                ]
            })
            .collect();
        Companions {
            table: "held_items",
            columns: &[
                "hold_id",
                "enquiry_id",
                "subject_id",
                "agency",
                "record_ref",
                "category",
                "held_at",
                "state",
                "key_id",
                "item",
            ],
            key: "hold_id",
            rows,
        }
    }

    pub(crate) async fn get(&self, hold_id: &str) -> Result<Option<Hold>, BrokerError> {
        let row = sqlx::query("SELECT * FROM held_items WHERE hold_id = $1")
            .bind(hold_id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.map(|row| self.hold(&row)).transpose()
    }

    pub(crate) async fn for_enquiry(&self, enquiry: EnquiryId) -> Result<Vec<Hold>, BrokerError> {
        let rows = sqlx::query("SELECT * FROM held_items WHERE enquiry_id = $1 ORDER BY held_at, hold_id")
            .bind(enquiry.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(|row| self.hold(row)).collect()
    }

    pub(crate) async fn for_agency(&self, agency: Agency) -> Result<Vec<Hold>, BrokerError> {
        let rows = sqlx::query("SELECT * FROM held_items WHERE agency = $1 ORDER BY held_at, hold_id")
            .bind(agency.as_str())
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(|row| self.hold(row)).collect()
    }

    /// Records a decision on a hold that is still held. `false` if it was
    /// decided meanwhile (by another gatekeeper, or a break-glass). A
    /// break-glass alerts the owning agency in the same transaction: its list
    /// of alerts and its queue.
    pub(crate) async fn decide(&self, hold: &Hold, decision: &HoldDecision<'_>) -> Result<bool, BrokerError> {
        // The item is sealed again, bound to its decided state.
        let enquiry_id = hold.enquiry_id.to_string();
        let binding = Binding {
            hold_id: &hold.hold_id,
            enquiry_id: &enquiry_id,
            subject_id: &hold.subject_id,
            agency: hold.agency.as_str(),
            record_ref: &hold.record_ref,
            category: &hold.category,
            state: decision.state.as_str(),
            decided_by: decision.by.as_str(),
            break_glass: decision.break_glass,
        };
        let sealed = self.keys.seal(&binding.associated_data(), &hold.item.encode_to_vec());
        let mut tx = self.db.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE held_items SET state = $1, decided_by = $2, decided_at = $3, reason = $4, break_glass = $5, \
             key_id = $6, item = $7 WHERE hold_id = $8 AND state = 'held'",
        )
        .bind(decision.state.as_str())
        .bind(decision.by.as_str())
        .bind(crate::now_rfc3339())
        .bind(decision.reason)
        .bind(i64::from(decision.break_glass))
        .bind(sealed.key_id)
        .bind(sealed.blob)
        .bind(hold.hold_id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if decision.break_glass {
            self.alert(&mut tx, hold, decision).await?;
        }
        tx.commit().await?;
        if decision.break_glass {
            self.outbox.committed();
        }
        Ok(true)
    }

    async fn alert(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        hold: &Hold,
        decision: &HoldDecision<'_>,
    ) -> Result<(), BrokerError> {
        let alert_id = uuid::Uuid::new_v4().to_string();
        let raised_at = crate::now_rfc3339();
        sqlx::query(
            "INSERT INTO agency_alerts (alert_id, agency, kind, hold_id, enquiry_id, raised_by, raised_at, reason) \
             VALUES ($1, $2, 'break-glass', $3, $4, $5, $6, $7)",
        )
        .bind(alert_id.as_str())
        .bind(hold.agency.as_str())
        .bind(hold.hold_id.as_str())
        .bind(hold.enquiry_id.to_string())
        .bind(decision.by.as_str())
        .bind(raised_at.as_str())
        .bind(decision.reason)
        .execute(&mut **tx)
        .await?;
        let body = pb::agency_message::Body::BreakGlassAlert(pb::BreakGlassAlert {
            hold_id: hold.hold_id.clone(),
            enquiry_id: hold.enquiry_id.to_string(),
            record_ref: hold.record_ref.clone(),
            category: hold.category.clone(),
            raised_by: decision.by.to_string(),
            raised_at: raised_at.clone(),
            reason: decision.reason.to_owned(),
        });
        let message = Outgoing::new(hold.agency, format!("a-{alert_id}"), raised_at, body);
        self.outbox.enqueue(tx, &[message]).await?;
        Ok(())
    }

    pub(crate) async fn alerts(&self, agency: Agency) -> Result<Vec<pb::AgencyAlert>, BrokerError> {
        let rows = sqlx::query(
            "SELECT a.*, h.record_ref, h.category FROM agency_alerts a JOIN held_items h ON h.hold_id = a.hold_id \
             WHERE a.agency = $1 ORDER BY a.raised_at, a.alert_id",
        )
        .bind(agency.as_str())
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(pb::AgencyAlert {
                    alert_id: row.try_get("alert_id")?,
                    kind: match row.try_get::<String, _>("kind")?.as_str() {
                        "break-glass" => pb::AlertKind::BreakGlass,
                        _ => pb::AlertKind::Unspecified,
                    }
                    .into(),
                    hold_id: row.try_get("hold_id")?,
                    enquiry_id: row.try_get("enquiry_id")?,
                    raised_by: row.try_get("raised_by")?,
                    raised_at: row.try_get("raised_at")?,
                    reason: row.try_get("reason")?,
                    record_ref: row.try_get("record_ref")?,
                    category: row.try_get("category")?,
                })
            })
            .collect()
    }

    fn hold(&self, row: &AnyRow) -> Result<Hold, BrokerError> {
        let corrupt = |what: &str| BrokerError::Internal(format!("stored hold has an invalid {what}"));
        let text = |column: &str| -> Result<String, BrokerError> { Ok(row.try_get::<String, _>(column)?) };
        let hold_id = text("hold_id")?;
        let (enquiry, subject, agency, record_ref) =
            (text("enquiry_id")?, text("subject_id")?, text("agency")?, text("record_ref")?);
        let (category, state, decided_by) = (text("category")?, text("state")?, text("decided_by")?);
        let break_glass = row.try_get::<i64, _>("break_glass")? != 0;
        let enquiry_id = EnquiryId::parse("enquiry_id", &enquiry).map_err(|_| corrupt("enquiry"))?;
        let subject_id = SubjectId::parse("subject_id", &subject).map_err(|_| corrupt("subject"))?;
        let agency_code = Agency::parse("agency", &agency).map_err(|_| corrupt("agency"))?;
        if hold_id != self::hold_id(enquiry_id, &subject_id, agency_code, &record_ref) {
            return Err(corrupt("id: it is not derived from its enquiry, subject, agency and record"));
        }
        let binding = Binding {
            hold_id: &hold_id,
            enquiry_id: &enquiry,
            subject_id: &subject,
            agency: &agency,
            record_ref: &record_ref,
            category: &category,
            state: &state,
            decided_by: &decided_by,
            break_glass,
        };
        let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("item")? };
        let opened = self.keys.open(&sealed, &binding.associated_data())?;
        let item = pb::Item::decode(opened.as_slice()).map_err(|_| corrupt("item"))?;
        Ok(Hold {
            enquiry_id,
            subject_id: subject,
            agency: agency_code,
            record_ref,
            category,
            held_at: text("held_at")?,
            state: HoldState::parse(&state).ok_or_else(|| corrupt("state"))?,
            decided_by,
            decided_at: text("decided_at")?,
            reason: text("reason")?,
            break_glass,
            item,
            hold_id,
        })
    }
}
