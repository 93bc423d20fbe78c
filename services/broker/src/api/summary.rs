//! The MASH family summary: a chronology across agencies of what was
//! disclosed to one enquiry, and nothing more.
//!
//! It is compiled only from the disclosure log's entries for the enquiry and
//! the sealed copies of exactly what each showed, never from the feeds: a
//! summary cannot show more than the enquiry was shown. Reading it is itself
//! logged, because it gathers a family's disclosures in one place.

use std::collections::BTreeMap;

use mash_disclosure_log::{Entry, LogFilter, NewEntry, Outcome, Recipient};
use mash_domain::Tier;
use mash_policy::Action;
use mash_proto::v1 as pb;
use prost::Message;

use crate::{BrokerError, authz::Call, enquiry::Enquiry, wire};

/// A detail item's summary line is cut here: a chronology is read at a glance.
const MAX_SUMMARY_CHARS: usize = 160;

impl super::enquiries::EnquiryApi {
    pub(crate) async fn family_summary(
        &self,
        call: &Call<'_>,
        request: pb::GetFamilySummaryRequest,
    ) -> Result<pb::FamilySummary, BrokerError> {
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        call.require_on(Action::EnquiryRead, &enquiry).await?;
        let filter = LogFilter {
            enquiry_id: Some(enquiry.enquiry_id.to_string()),
            outcome: Some(Outcome::Disclosed),
            ..LogFilter::default()
        };
        let mut lines = BTreeMap::new();
        let mut purged = 0;
        for entry in self.log.search_all(&filter).await? {
            match self.log.shown(entry.seq).await? {
                Some(bytes) => {
                    let shown = pb::DisclosedContent::decode(bytes.as_slice()).map_err(|_| {
                        BrokerError::Internal(format!("disclosed content {} does not decode", entry.seq))
                    })?;
                    let (key, line) = chronology_line(&enquiry, &entry, shown);
                    // A later disclosure of the same thing (checked again,
                    // released, confirmed) replaces the earlier one.
                    lines.insert(key, line);
                }
                None if !entry.fields.content_digest.is_empty() => purged += 1,
                None => {}
            }
        }
        let mut entries: Vec<pb::ChronologyEntry> = lines.into_values().collect();
        // Dated items oldest first, then the undated "known to" notices.
        entries.sort_by(|a, b| (a.date.is_empty(), &a.date, a.seq).cmp(&(b.date.is_empty(), &b.date, b.seq)));
        self.log.append(vec![summary_entry(call, &enquiry, entries.len())]).await?;
        tracing::info!(enquiry_id = %enquiry.enquiry_id, lines = entries.len(), purged, "family summary compiled");
        Ok(pb::FamilySummary {
            enquiry_id: enquiry.enquiry_id.to_string(),
            level: wire::level_to_wire(enquiry.level).into(),
            text: text_table(&entries),
            entries,
            purged,
        })
    }
}

fn summary_entry(call: &Call<'_>, enquiry: &Enquiry, lines: usize) -> NewEntry {
    let reason = format!("family summary of {lines} lines, all previously disclosed to this enquiry");
    // What it shows was each disclosed, and logged, before: the entry records who read it.
    let entry = call.enquiry_entry(enquiry).shown_to(Recipient::Caller, String::new());
    entry.build(Outcome::SummaryCompiled, Tier::None, reason).into()
}

/// What one disclosure showed as a chronology line, and the key under which
/// a later disclosure of the same thing replaces it: the record for an item,
/// the notice's text for a notice (one "known to" per subject and agency,
/// however many records stand behind it).
fn chronology_line(
    enquiry: &Enquiry,
    entry: &Entry,
    shown: pb::DisclosedContent,
) -> ((String, String, String), pb::ChronologyEntry) {
    let f = &entry.fields;
    let relation = enquiry
        .subjects
        .iter()
        .find(|s| s.subject_id.to_string() == f.subject_id)
        .map_or(pb::Relation::Unspecified, |s| wire::relation_to_wire(s.relation));
    let mut line = pb::ChronologyEntry {
        agency: f.agency.clone(),
        subject_id: f.subject_id.clone(),
        relation: relation.into(),
        tier: wire::tier_to_wire(f.tier).into(),
        seq: entry.seq,
        ..pb::ChronologyEntry::default()
    };
    let key = match shown.shown {
        Some(pb::disclosed_content::Shown::Item(item)) => {
            line.date = item.date.clone();
            line.category = item.category.clone();
            line.summary = item_summary(&item);
            format!("record:{}", f.record_ref)
        }
        Some(pb::disclosed_content::Shown::Notice(notice)) => {
            line.summary = notice.clone();
            format!("notice:{notice}")
        }
        None => format!("empty:{}", entry.seq),
    };
    ((f.subject_id.clone(), f.agency.clone(), key), line)
}

/// "domestic abuse: <the record's own summary>" at detail; the kind of
/// thing, in words, at summary tier, which shows no narrative.
fn item_summary(item: &pb::DisclosedItem) -> String {
    let what = item.category.split_once('/').map_or(item.category.as_str(), |(_, name)| name).replace('-', " ");
    let narrative = item.fields.iter().find(|f| f.name == "summary").map(|f| f.value.clone()).unwrap_or_else(|| {
        item.fields.iter().map(|f| format!("{}: {}", f.name.replace('_', " "), f.value)).collect::<Vec<_>>().join("; ")
    });
    let line = if narrative.is_empty() { what } else { format!("{what}: {narrative}") };
    match line.char_indices().nth(MAX_SUMMARY_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

fn text_table(entries: &[pb::ChronologyEntry]) -> String {
    let relation = |raw: i32| match pb::Relation::try_from(raw) {
        Ok(pb::Relation::Child) => "child",
        Ok(pb::Relation::Sibling) => "sibling",
        Ok(pb::Relation::ParentOrCarer) => "parent/carer",
        Ok(pb::Relation::OtherAdult) => "other adult",
        _ => "",
    };
    let mut text = format!("{:<10}  {:<12}  {:<12}  {}\n", "date", "agency", "who", "what");
    for e in entries {
        let date = if e.date.is_empty() { "—" } else { e.date.as_str() };
        text.push_str(&format!("{date:<10}  {:<12}  {:<12}  {}\n", e.agency, relation(e.relation), e.summary));
    }
    if entries.is_empty() {
        text.push_str("nothing has been disclosed to this enquiry\n");
    }
    text
}
