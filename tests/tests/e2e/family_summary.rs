//! The MASH family summary: exactly what was disclosed to the enquiry, as a
//! chronology, and nothing more.

use std::collections::BTreeSet;

use mash_e2e::{
    Backend, Harness,
    fixtures::{checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, Level, Relation, Tier};
use mash_system::demo::{self, AMY, CONNOR, JADE};
use tonic::Code;

on_both_backends!(the_family_summary_holds_exactly_what_was_disclosed_to_the_enquiry);

fn household() -> Vec<pb::EnquirySubject> {
    vec![subject(AMY, Relation::Child), subject(JADE, Relation::ParentOrCarer), subject(CONNOR, Relation::OtherAdult)]
}

type ItemKey = (String, String, String, String);

/// (agency, subject, category, date) of every item a check showed.
fn items_shown(results: &pb::RequestChecksResponse) -> BTreeSet<ItemKey> {
    let subjects = results.agencies.iter().flat_map(|a| a.subjects.iter().map(move |s| (&a.agency, s)));
    subjects
        .flat_map(|(agency, s)| {
            s.items.iter().map(|i| (agency.clone(), s.subject_id.clone(), i.category.clone(), i.date.clone()))
        })
        .collect()
}

/// (agency, subject) of every "known to" or "possibly known to" notice a check
/// showed, and the notice's text (which may go on to say that something is held).
fn notices_shown(results: &pb::RequestChecksResponse) -> Vec<((String, String), String)> {
    let subjects = results.agencies.iter().flat_map(|a| a.subjects.iter().map(move |s| (&a.agency, s)));
    subjects
        .filter(|(_, s)| {
            s.existence_notice.starts_with("Known to") || s.existence_notice.starts_with("Possibly known to")
        })
        .map(|(agency, s)| ((agency.clone(), s.subject_id.clone()), s.existence_notice.clone()))
        .collect()
}

/// The summary's lines, as items and as notices.
fn summarised(summary: &pb::FamilySummary) -> (BTreeSet<ItemKey>, Vec<&pb::ChronologyEntry>) {
    let (dated, undated): (Vec<_>, Vec<_>) = summary.entries.iter().partition(|e| !e.category.is_empty());
    let key = |e: &&pb::ChronologyEntry| (e.agency.clone(), e.subject_id.clone(), e.category.clone(), e.date.clone());
    (dated.iter().map(key).collect(), undated)
}

async fn the_family_summary_holds_exactly_what_was_disclosed_to_the_enquiry(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;

    // Nothing checked yet: nothing to summarise, whatever the feeds hold.
    let early = rita.enquiries.create_enquiry(enquiry(Level::Level1EarlyHelp, household())).await?.into_inner();
    let request = |id: &str| pb::GetFamilySummaryRequest { enquiry_id: id.into() };
    let empty = rita.enquiries.get_family_summary(request(&early.enquiry_id)).await?.into_inner();
    assert!(empty.entries.is_empty(), "{:?}", empty.entries);
    assert!(empty.text.contains("nothing has been disclosed"));

    // Level 1 and level 3 on the same household see different things; each
    // summary matches its own enquiry's disclosures exactly.
    let mut summaries = Vec::new();
    for opened in
        [early, rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household())).await?.into_inner()]
    {
        let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
        // Checked twice: the summary lists each thing once.
        rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?;
        let summary = rita.enquiries.get_family_summary(request(&opened.enquiry_id)).await?.into_inner();
        let (items, notices) = summarised(&summary);
        assert_eq!(items, items_shown(&results), "level {:?}: the items shown, each once", opened.level());
        assert_eq!(items.len() + notices.len(), summary.entries.len());
        let expected = notices_shown(&results);
        assert_eq!(notices.len(), expected.len(), "one notice per subject and agency: {notices:?}");
        for notice in notices {
            let key = (notice.agency.clone(), notice.subject_id.clone());
            let (_, text) = expected.iter().find(|(k, _)| *k == key).expect("a notice the check showed");
            assert!(text.starts_with(&notice.summary), "{text:?} vs {:?}", notice.summary);
        }
        let dates: Vec<&str> = summary.entries.iter().map(|e| e.date.as_str()).filter(|d| !d.is_empty()).collect();
        assert!(dates.windows(2).all(|w| w[0] <= w[1]), "a chronology: {dates:?}");
        assert!(summary.entries.iter().all(|e| e.category != "health/sexual-health"), "held items stay out");
        summaries.push(summary);
    }
    let (level_1, level_3) = (&summaries[0], &summaries[1]);
    assert!(
        level_1.entries.iter().all(|e| e.agency != "police" || e.tier() == Tier::Existence),
        "early help knows only that police know the family"
    );
    let domestic_abuse =
        level_3.entries.iter().find(|e| e.category == "police/domestic-abuse").expect("level 3 sees it");
    assert_eq!(domestic_abuse.date, "2026-09-14");
    assert!(level_3.text.contains("domestic abuse"), "{}", level_3.text);

    // Read as the enquiry is read; and every compilation is logged.
    let mut robin = h.system.broker_as("robin-researcher").await?;
    let refused = robin.enquiries.get_family_summary(request(&level_3.enquiry_id)).await.expect_err("not assigned");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut maya = h.system.broker_as("maya-manager").await?;
    assert_eq!(
        maya.enquiries.get_family_summary(request(&level_3.enquiry_id)).await?.into_inner().entries,
        level_3.entries
    );
    let bad = rita.enquiries.get_family_summary(request("not-an-id")).await.expect_err("bad id");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let mut ian = h.system.broker_as("ian-ig").await?;
    let search = pb::SearchLogEntriesRequest {
        enquiry_id: level_3.enquiry_id.clone(),
        outcome: pb::Outcome::SummaryCompiled.into(),
        page_size: 100,
        ..Default::default()
    };
    let reads = ian.log.search_log_entries(search).await?.into_inner().entries;
    assert_eq!(reads.len(), 2, "rita's and maya's");
    h.stop().await
}
