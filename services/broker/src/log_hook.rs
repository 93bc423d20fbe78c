//! What the broker writes in each log group's transaction: the agencies' messages that entries
//! cause, so that a message exists exactly when its entry does. A notification goes to the
//! owning agency of each disclosed item whose category `notifications.csv` marks `notify`; an
//! information product goes to the agency it was shared with, numbered by its entry.

use std::sync::Arc;

use mash_db::Script;
use mash_disclosure_log::{Chained, Entry, GroupHook, LogError, Outcome};
use mash_domain::{Agency, Category};
use mash_policy::{LivePolicy, Policy};
use mash_proto::v1 as pb;
use prost::Message;

use crate::outbox::{Outbox, Outgoing};

pub(crate) struct AgencyMessages {
    pub(crate) outbox: Outbox,
    /// Whose disclosures are notified; `None` for a log opened by a tool, which writes no
    /// disclosures.
    pub(crate) policy: Option<Arc<LivePolicy>>,
}

impl GroupHook for AgencyMessages {
    fn add_rows(&self, script: &mut Script, group: &[Chained]) -> Result<(), LogError> {
        let mut messages = deliveries(group)?;
        if let Some(policy) = &self.policy {
            let policy = policy.current();
            messages.extend(group.iter().filter_map(|c| notification(&policy, &c.entry)));
        }
        self.outbox.add(script, &messages);
        Ok(())
    }

    fn committed(&self) {
        self.outbox.committed();
    }
}

/// The information products of these entries, each naming its entry.
fn deliveries(group: &[Chained]) -> Result<Vec<Outgoing>, LogError> {
    let mut messages = Vec::new();
    for (seq, d) in group.iter().filter_map(|c| c.deliver.as_ref().map(|d| (c.entry.seq, d))) {
        let mut product = pb::InformationProduct::decode(d.payload.as_slice())
            .map_err(|_| LogError::Corrupt(format!("information product of entry {seq} does not decode")))?;
        product.seq = seq;
        let body = pb::agency_message::Body::InformationProduct(product);
        messages.push(Outgoing::new(d.agency, d.message_id.clone(), d.deliver_after.clone(), body));
    }
    Ok(messages)
}

/// A notification to the owning agency of a disclosed item whose category notifies.
fn notification(policy: &Policy, e: &Entry) -> Option<Outgoing> {
    let f = &e.fields;
    if f.outcome != Outcome::Disclosed {
        return None;
    }
    let agency = Agency::parse("agency", &f.agency).ok()?;
    let category = Category::parse("category", &f.category).ok()?;
    policy.notifications.notifies(category).then(|| {
        let body = pb::DisclosureNotification {
            seq: e.seq,
            enquiry_id: f.enquiry_id.clone(),
            record_ref: f.record_ref.clone(),
            category: category.as_str().into(),
            tier: crate::wire::tier_to_wire(f.tier).into(),
            requester_role: f.role.as_ref().map(|r| r.as_str().into_owned()).unwrap_or_default(),
            disclosed_at: e.recorded_at.clone(),
        };
        let body = pb::agency_message::Body::DisclosureNotification(body);
        Outgoing::new(agency, notification_id(e.seq), e.recorded_at.clone(), body)
    })
}

/// A notification's message id. A group's notifications are all due at its
/// `recorded_at`, and an agency's queue is delivered in order of due time,
/// then id: zero-padded to u64's 20 digits, the ids sort as the log does
/// (`n-10` would come before `n-9`).
fn notification_id(seq: u64) -> String {
    format!("n-{seq:020}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_ids_sort_as_the_log_does() {
        let seqs = [1, 9, 10, 99, 100, 123_456, u64::MAX - 1, u64::MAX];
        let ids: Vec<String> = seqs.iter().map(|&seq| notification_id(seq)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert_eq!(notification_id(10), "n-00000000000000000010");
    }
}
