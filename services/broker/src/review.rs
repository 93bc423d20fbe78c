//! Review signals: patterns in the disclosure log that information
//! governance should look at. Each is a prompt for a human, not a verdict.

use std::collections::{BTreeMap, BTreeSet};

use time::{OffsetDateTime, Weekday, format_description::well_known::Rfc3339};

use mash_disclosure_log::{Entry, Outcome};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Signal {
    pub kind: &'static str,
    pub requester: String,
    pub detail: String,
    pub seqs: Vec<u64>,
}

/// A requester is flagged when their checks exceed this multiple of the
/// median of their peers' (and at least `MIN_FLAGGED_CHECKS`).
const VOLUME_MULTIPLE: usize = 3;
const MIN_FLAGGED_CHECKS: usize = 5;

/// Working hours, Monday to Friday, in UTC. (UK local time is UTC or UTC+1,
/// so a check at 07:30 in summer is flagged: the safer error.)
const WORKING_HOURS: std::ops::Range<u8> = 8..18;

/// Decisions a human made against the policy's default, as `gatekeeper::decision_entry` words
/// them in an entry's reason, and the kind each is shown as.
const OVERRIDES: [(&str, &str); 3] = [
    (" released by break-glass by a manager;", "break-glass"),
    (" released by the agency gatekeeper;", "gatekeeper-released"),
    (" withheld by the agency gatekeeper;", "gatekeeper-withheld"),
];

/// Every signal in `entries`, which are one period of the log.
pub(crate) fn signals(entries: &[Entry]) -> Vec<Signal> {
    let decisions: Vec<&Entry> = entries.iter().filter(|e| e.fields.outcome != Outcome::LogSearched).collect();
    let mut found = high_volume(&decisions);
    found.extend(out_of_hours(&decisions));
    found.extend(same_person_new_enquiry(&decisions));
    found.extend(overrides(&decisions));
    found
}

/// A check is the set of entries one requester's request wrote: same
/// requester, enquiry and commit time.
fn checks_by_requester<'a>(decisions: &[&'a Entry]) -> BTreeMap<&'a str, BTreeMap<(&'a str, &'a str), Vec<u64>>> {
    let mut checks: BTreeMap<&str, BTreeMap<(&str, &str), Vec<u64>>> = BTreeMap::new();
    for e in decisions {
        let key = (e.fields.enquiry_id.as_str(), e.recorded_at.as_str());
        checks.entry(e.fields.requester.as_str()).or_default().entry(key).or_default().push(e.seq);
    }
    checks
}

fn high_volume(decisions: &[&Entry]) -> Vec<Signal> {
    let checks = checks_by_requester(decisions);
    if checks.len() < 2 {
        return Vec::new();
    }
    checks
        .iter()
        .filter_map(|(requester, mine)| {
            let mut peers: Vec<usize> = checks.iter().filter(|(r, _)| r != &requester).map(|(_, c)| c.len()).collect();
            peers.sort_unstable();
            let median = peers[peers.len() / 2].max(1);
            (mine.len() >= MIN_FLAGGED_CHECKS && mine.len() > VOLUME_MULTIPLE * median).then(|| Signal {
                kind: "high-volume",
                requester: (*requester).to_owned(),
                detail: format!("{} checks; the median of their peers is {median}", mine.len()),
                seqs: mine.values().flatten().copied().collect(),
            })
        })
        .collect()
}

fn out_of_hours(decisions: &[&Entry]) -> Vec<Signal> {
    let mut by_requester: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in decisions {
        let Ok(at) = OffsetDateTime::parse(&e.recorded_at, &Rfc3339) else { continue };
        let weekend = matches!(at.weekday(), Weekday::Saturday | Weekday::Sunday);
        if weekend || !WORKING_HOURS.contains(&at.hour()) {
            by_requester.entry(e.fields.requester.as_str()).or_default().push(e.seq);
        }
    }
    by_requester
        .into_iter()
        .map(|(requester, seqs)| Signal {
            kind: "out-of-hours",
            requester: requester.to_owned(),
            detail: format!("{} entries outside 08:00-18:00 UTC, Monday to Friday", seqs.len()),
            seqs,
        })
        .collect()
}

fn same_person_new_enquiry(decisions: &[&Entry]) -> Vec<Signal> {
    // (requester, person) -> (the enquiries they were checked in, the entries)
    type Seen<'a> = BTreeMap<(&'a str, &'a str), (BTreeSet<&'a str>, Vec<u64>)>;
    let mut seen: Seen<'_> = BTreeMap::new();
    for e in decisions.iter().filter(|e| !e.fields.person_ref.is_empty()) {
        let (enquiries, seqs) = seen.entry((e.fields.requester.as_str(), e.fields.person_ref.as_str())).or_default();
        enquiries.insert(e.fields.enquiry_id.as_str());
        seqs.push(e.seq);
    }
    seen.into_iter()
        .filter(|(_, (enquiries, _))| enquiries.len() > 1)
        .map(|((requester, person_ref), (enquiries, seqs))| Signal {
            kind: "same-person-new-enquiry",
            requester: requester.to_owned(),
            detail: format!("person {person_ref} checked again in {} different enquiries", enquiries.len()),
            seqs,
        })
        .collect()
}

fn overrides(decisions: &[&Entry]) -> Vec<Signal> {
    decisions
        .iter()
        .filter(|e| e.fields.reason.starts_with("hold "))
        .filter_map(|e| {
            let (_, kind) = OVERRIDES.iter().find(|(words, _)| e.fields.reason.contains(words))?;
            Some(Signal {
                kind: "break-glass-or-override",
                requester: e.fields.requester.clone(),
                detail: format!("{kind}: {}", e.fields.reason),
                seqs: vec![e.seq],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mash_disclosure_log::{Caller, EntryBuilder};
    use mash_domain::Tier;

    fn entry(seq: u64, at: &str, requester: &str, enquiry: &str, person: &str, outcome: Outcome) -> Entry {
        decided(seq, at, requester, enquiry, person, outcome, "")
    }

    fn decided(
        seq: u64,
        at: &str,
        requester: &str,
        enquiry: &str,
        person: &str,
        outcome: Outcome,
        reason: &str,
    ) -> Entry {
        let caller = Caller { identity: requester.into(), role: None, organisation: "mash".into() };
        let fields = EntryBuilder::new(&caller, "v").enquiry_filter(enquiry).expect("plain").subject("", person).build(
            outcome,
            Tier::None,
            reason,
        );
        Entry { seq, recorded_at: at.into(), fields, prev_hash: String::new(), entry_hash: String::new() }
    }

    const MONDAY_NOON: &str = "2026-11-23T12:00:00.000000Z";

    fn kinds(entries: &[Entry]) -> Vec<(&'static str, String)> {
        signals(entries).into_iter().map(|s| (s.kind, s.requester)).collect()
    }

    #[test]
    fn each_signal_fires_on_its_pattern_and_not_otherwise() {
        let quiet = vec![
            entry(1, MONDAY_NOON, "a", "e1", "p1", Outcome::Disclosed),
            entry(2, MONDAY_NOON, "b", "e2", "p2", Outcome::Disclosed),
        ];
        assert!(kinds(&quiet).is_empty());

        let night = vec![entry(1, "2026-11-23T23:10:00.000000Z", "a", "e1", "p1", Outcome::Disclosed)];
        assert_eq!(kinds(&night), [("out-of-hours", "a".to_owned())]);
        let sunday = vec![entry(1, "2026-11-22T12:00:00.000000Z", "a", "e1", "p1", Outcome::Disclosed)];
        assert_eq!(kinds(&sunday), [("out-of-hours", "a".to_owned())]);

        let again = vec![
            entry(1, MONDAY_NOON, "a", "e1", "p1", Outcome::Disclosed),
            entry(2, MONDAY_NOON, "a", "e2", "p1", Outcome::Disclosed),
            entry(3, MONDAY_NOON, "b", "e3", "p1", Outcome::Disclosed),
        ];
        assert_eq!(kinds(&again), [("same-person-new-enquiry", "a".to_owned())]);

        let glass = "hold h-1 released by break-glass by a manager; reason sha256:ab";
        let override_entry = vec![decided(1, MONDAY_NOON, "m", "e1", "p1", Outcome::Disclosed, glass)];
        assert_eq!(kinds(&override_entry), [("break-glass-or-override", "m".to_owned())]);
        let withheld = "hold h-2 withheld by the agency gatekeeper; reason sha256:cd";
        let override_entry = vec![decided(1, MONDAY_NOON, "g", "e1", "p1", Outcome::Refused, withheld)];
        assert_eq!(kinds(&override_entry), [("break-glass-or-override", "g".to_owned())]);
    }

    #[test]
    fn a_requester_far_above_their_peers_is_flagged() {
        let mut entries = Vec::new();
        let mut seq = 0;
        let mut check = |requester: &str, minute: u32, entries: &mut Vec<Entry>| {
            seq += 1;
            let at = format!("2026-11-23T12:{minute:02}:00.000000Z");
            entries.push(entry(seq, &at, requester, &format!("e{seq}"), "", Outcome::Disclosed));
        };
        for minute in 0..20 {
            check("busy", minute, &mut entries);
        }
        for requester in ["p", "q", "r"] {
            for minute in 0..2 {
                check(requester, minute, &mut entries);
            }
        }
        assert_eq!(kinds(&entries), [("high-volume", "busy".to_owned())]);
    }
}
