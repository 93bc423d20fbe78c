//! Each agency's queue of what flows back to it: referral outcomes,
//! information products and disclosure notifications.
//!
//! A message is written in the same transaction as what causes it (the
//! decision, the log entries), so it is neither lost nor sent for something
//! that did not happen. It is delivered until its agency acknowledges it: at
//! least once, across restarts, because the queue is only the database. The
//! message is sealed with the broker's key, bound to its id; the agency, the
//! kind and the times stay in clear for the queue's index.

use std::{collections::HashSet, sync::Arc};

use mash_db::{Arg, Db, Script};
use mash_domain::{Agency, Identity};
use mash_proto::v1 as pb;
use mash_seal::{KeyRing, Sealed};
use prost::Message;
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::{Notify, watch};

use crate::BrokerError;

/// The most messages one poll returns.
pub(crate) const MAX_BATCH: u32 = 500;

#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    db: Db,
    keys: Arc<KeyRing>,
    /// Woken after a commit that queued messages, so that subscribers in this
    /// process send them at once; subscribers also look every few seconds,
    /// for messages that another replica queued or that have just become due.
    queued: Arc<Notify>,
    /// True once the broker is stopping: subscriptions end, so that a
    /// graceful shutdown does not wait for clients that never hang up.
    stopping: watch::Receiver<bool>,
}

/// A message to queue for `agency`.
pub(crate) struct Outgoing {
    pub agency: Agency,
    pub message: pb::AgencyMessage,
}

impl Outgoing {
    /// A message with its envelope filled in; due at `deliver_after`.
    pub(crate) fn new(
        agency: Agency,
        message_id: String,
        deliver_after: String,
        body: pb::agency_message::Body,
    ) -> Self {
        let message = pb::AgencyMessage {
            message_id,
            agency: agency.as_str().into(),
            created_at: crate::now_rfc3339(),
            deliver_after,
            body: Some(body),
        };
        Self { agency, message }
    }

    fn kind(&self) -> &'static str {
        use pb::agency_message::Body;
        match self.message.body {
            Some(Body::ReferralOutcome(_)) => "referral-outcome",
            Some(Body::InformationProduct(_)) => "information-product",
            Some(Body::DisclosureNotification(_)) => "disclosure-notification",
            Some(Body::BreakGlassAlert(_)) => "break-glass",
            None => "empty",
        }
    }
}

impl Outbox {
    pub(crate) fn new(db: Db, keys: Arc<KeyRing>, stopping: watch::Receiver<bool>) -> Self {
        Self { db, keys, queued: Arc::new(Notify::new()), stopping }
    }

    pub(crate) fn stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves when the broker starts to stop.
    pub(crate) async fn stopped(&self) {
        let _ = self.stopping.clone().wait_for(|stop| *stop).await;
    }

    /// Queues messages inside the caller's transaction. A message id that is
    /// already queued is kept as it was: causes are idempotent.
    pub(crate) async fn enqueue(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        messages: &[Outgoing],
    ) -> Result<(), sqlx::Error> {
        let mut script = Script::default();
        self.add(&mut script, messages);
        script.run(tx, self.db.backend).await
    }

    /// Adds the statements that queue messages to a transaction's script.
    pub(crate) fn add(&self, script: &mut Script, messages: &[Outgoing]) {
        for chunk in messages.chunks(64) {
            let sql = format!(
                "INSERT INTO agency_messages (message_id, agency, kind, created_at, deliver_after, key_id, body) \
                 VALUES {} ON CONFLICT (message_id) DO NOTHING",
                self.db.value_rows(chunk.len(), 7)
            );
            let mut args = Vec::with_capacity(chunk.len() * 7);
            for out in chunk {
                let m = &out.message;
                let sealed = self.keys.seal(m.message_id.as_bytes(), &m.encode_to_vec());
                args.extend([
                    Arg::Text(m.message_id.clone()),
                    Arg::Text(out.agency.as_str().to_owned()),
                    Arg::Text(out.kind().to_owned()),
                    Arg::Text(m.created_at.clone()),
                    Arg::Text(m.deliver_after.clone()),
                    Arg::Text(sealed.key_id),
                    Arg::Bytes(sealed.blob),
                ]);
            }
            script.push(sql, args);
        }
    }

    /// Tells this process's subscribers that a commit queued messages.
    pub(crate) fn committed(&self) {
        self.queued.notify_waiters();
    }

    /// Resolves at the next commit that queues messages.
    pub(crate) fn next_commit(&self) -> impl std::future::Future<Output = ()> + '_ {
        self.queued.notified()
    }

    /// `agency`'s unacknowledged messages due by now, oldest first.
    pub(crate) async fn due(&self, agency: Agency, limit: u32) -> Result<Vec<pb::AgencyMessage>, BrokerError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT message_id, key_id, body FROM agency_messages \
             WHERE agency = $1 AND acked_at IS NULL AND deliver_after <= $2 \
             ORDER BY deliver_after, message_id LIMIT {}",
            limit.clamp(1, MAX_BATCH)
        )))
        .bind(agency.as_str())
        .bind(crate::now_rfc3339())
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(|row| self.open(row)).collect()
    }

    /// One of `agency`'s messages, acknowledged or not.
    pub(crate) async fn get(&self, agency: Agency, id: &str) -> Result<Option<pb::AgencyMessage>, BrokerError> {
        let row =
            sqlx::query("SELECT message_id, key_id, body FROM agency_messages WHERE message_id = $1 AND agency = $2")
                .bind(id)
                .bind(agency.as_str())
                .fetch_optional(&self.db.pool)
                .await?;
        row.map(|row| self.open(&row)).transpose()
    }

    fn open(&self, row: &sqlx::any::AnyRow) -> Result<pb::AgencyMessage, BrokerError> {
        let id: String = row.try_get("message_id")?;
        let sealed = Sealed { key_id: row.try_get("key_id")?, blob: row.try_get("body")? };
        let bytes = self.keys.open(&sealed, id.as_bytes())?;
        pb::AgencyMessage::decode(bytes.as_slice())
            .map_err(|_| BrokerError::Internal(format!("queued message {id} does not decode")))
    }

    /// Acknowledges `agency`'s messages: all or none. An id that is not one
    /// of `agency`'s messages is NOT_FOUND, whether or not another agency has
    /// it, so that ids reveal nothing across agencies. Two statements however
    /// many ids: a batch of 500 was a thousand round trips on PostgreSQL.
    pub(crate) async fn ack(&self, agency: Agency, ids: &[String], by: &Identity) -> Result<u32, BrokerError> {
        // Every parameter from `placeholders`, never a literal `$n`: see `Db::placeholders`.
        let at = |n| self.db.placeholders(n, 1);
        let listed = self.db.placeholders(4, ids.len());
        let mut tx = self.db.pool.begin().await?;
        // The update comes first so that the transaction writes before it reads.
        let mut update = sqlx::query(AssertSqlSafe(format!(
            "UPDATE agency_messages SET acked_at = {}, acked_by = {} \
             WHERE agency = {} AND acked_at IS NULL AND message_id IN ({listed})",
            at(1),
            at(2),
            at(3)
        )))
        .bind(crate::now_rfc3339())
        .bind(by.as_str())
        .bind(agency.as_str());
        for id in ids {
            update = update.bind(id);
        }
        let acknowledged = update.execute(&mut *tx).await?.rows_affected();
        let listed = self.db.placeholders(2, ids.len());
        let mut ours = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT message_id FROM agency_messages WHERE agency = {} AND message_id IN ({listed})",
            at(1)
        )))
        .bind(agency.as_str());
        for id in ids {
            ours = ours.bind(id);
        }
        let ours: HashSet<String> = ours.fetch_all(&mut *tx).await?.into_iter().collect();
        if let Some((i, id)) = ids.iter().enumerate().find(|(_, id)| !ours.contains(*id)) {
            // Dropping the transaction rolls the update back.
            return Err(BrokerError::NotFound(
                crate::error::Missing::Message,
                format!("message_ids[{i}]: {agency} has no message {}", mash_domain::echo(id)),
            ));
        }
        tx.commit().await?;
        Ok(u32::try_from(acknowledged).unwrap_or(u32::MAX))
    }
}
