//! Entries hashed by the code before the log's fields were typed (its `Entry::compute_hash`,
//! run verbatim) still hash, store and export byte for byte the same: old logs still verify.

use mash_ledger::{Entry, ExportLine, Outcome, Role, StoredEntry};

fn stored(seq: u64, recorded_at: &str, prev_hash: &str) -> StoredEntry {
    StoredEntry { seq, recorded_at: recorded_at.into(), prev_hash: prev_hash.into(), ..StoredEntry::default() }
}

/// Three entries as the old code wrote them, each with the hash it computed.
fn old_entries() -> Vec<(StoredEntry, &'static str)> {
    let check = StoredEntry {
        requester: "spiffe://mash.local/user/rita-researcher".into(),
        role: "researcher".into(),
        enquiry_id: "6f1c2d3e-9a4b-4c5d-8e7f-0123456789ab".into(),
        level: "3".into(),
        purpose: "front-door-decision".into(),
        lawful_basis: "children-act-1989-s47".into(),
        consent: "not-sought".into(),
        subject_id: "0b7e9a10-1c2d-4e3f-8a9b-cdef01234567".into(),
        agency: "police".into(),
        record_ref: "P-000123".into(),
        category: "police/domestic-abuse".into(),
        outcome: "disclosed".into(),
        tier: "detail".into(),
        reason: "p, researcher, 3, police/*, detail, allow".into(),
        policy_version: format!("sha256:{}", "ab".repeat(32)),
        content_digest: "cd".repeat(32),
        person_ref: "ef".repeat(32),
        requester_agency: "mash".into(),
        on_behalf_of: "spiffe://mash.local/user/rita-researcher".into(),
        recipient: "spiffe://mash.local/user/rita-researcher".into(),
        ..stored(42, "2026-11-23T12:15:03.398018Z", &"0123456789abcdef".repeat(4))
    };
    let search = StoredEntry {
        requester: "spiffe://mash.local/user/ian-ig".into(),
        role: "ig-officer".into(),
        enquiry_id: "not-a-uuid".into(),
        requester_agency: "mash".into(),
        outcome: "log-searched".into(),
        tier: "none".into(),
        reason: "disclosure log searched: enquiry=not-a-uuid".into(),
        policy_version: "sha256:00".into(),
        ..stored(43, "2026-11-23T12:15:04.000001Z", "17ee816b115aeee4865b328ba83cc32664aa18a712ce23041564070fd1d23278")
    };
    let refusal = StoredEntry {
        requester: "spiffe://mash.local/agency/police/gatekeeper".into(),
        role: "police-gatekeeper".into(),
        requester_agency: "police".into(),
        outcome: "refused".into(),
        tier: "none".into(),
        level: "2".into(),
        consent: "given".into(),
        purpose: "strategy-discussion".into(),
        lawful_basis: "consent".into(),
        ..stored(44, "2026-11-23T12:15:05.000002Z", "6b7595de5753e1f0cad3040bcb7f1f45ce58749fcc55f50a3acb7bd22ca6431b")
    };
    vec![
        (check, "17ee816b115aeee4865b328ba83cc32664aa18a712ce23041564070fd1d23278"),
        (search, "6b7595de5753e1f0cad3040bcb7f1f45ce58749fcc55f50a3acb7bd22ca6431b"),
        (refusal, "3e160f7c18a89afc420b2f0cdbcca4aa62c0b0030792fe06e8ef83d3190591be"),
    ]
}

/// The old code's export line of the third entry, as it wrote it.
const OLD_LINE: &str = r#"{"seq":44,"recorded_at":"2026-11-23T12:15:05.000002Z","requester":"spiffe://mash.local/agency/police/gatekeeper","role":"police-gatekeeper","enquiry_id":"","level":"2","purpose":"strategy-discussion","lawful_basis":"consent","consent":"given","subject_id":"","agency":"","record_ref":"","category":"","outcome":"refused","tier":"none","reason":"","policy_version":"","content_digest":"","person_ref":"","requester_agency":"police","on_behalf_of":"","recipient":"","prev_hash":"6b7595de5753e1f0cad3040bcb7f1f45ce58749fcc55f50a3acb7bd22ca6431b","entry_hash":"3e160f7c18a89afc420b2f0cdbcca4aa62c0b0030792fe06e8ef83d3190591be"}"#;

#[test]
fn entries_hashed_by_the_old_code_hash_store_and_export_the_same() {
    for (mut stored, hash) in old_entries() {
        stored.entry_hash = hash.into();
        let entry = Entry::try_from(stored.clone()).expect("the old code's texts parse");
        assert_eq!(entry.compute_hash(), hash, "entry {}", entry.seq);
        assert_eq!(StoredEntry::from(entry.clone()), stored, "stored text unchanged, entry {}", entry.seq);
    }
    let (refusal, _) = &old_entries()[2];
    let entry: Entry = serde_json::from_str(OLD_LINE).expect("an old export line reads");
    assert_eq!(entry.seq, refusal.seq);
    assert_eq!(entry.fields.role, Some(Role::Gatekeeper("police".into())));
    assert_eq!(entry.fields.outcome, Outcome::Refused);
    assert_eq!(serde_json::to_string(&entry).expect("serialises"), OLD_LINE, "export line unchanged");
    assert_eq!(ExportLine::stored_entry_line(&StoredEntry::from(entry)), format!("{{\"entry\":{OLD_LINE}}}"));
}
