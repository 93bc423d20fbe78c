//! Agency checks: what each level sees, what is logged, and agency statuses.

use std::time::Duration;

use mash_domain::Agency;
use mash_e2e::{
    Backend, Harness,
    fixtures::{about, agency, checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, AgencyStatus, Level, Relation, Tier};
use mash_system::demo::{self, AMY, CONNOR, ELLA, EVIE, JADE, NOAH};

on_both_backends!(
    child_protection_sees_detail_without_restricted_fields,
    child_in_need_sees_police_and_health_in_summary,
    early_help_learns_only_that_police_and_health_know_the_family,
    every_disclosure_and_refusal_is_logged_in_one_verifiable_chain,
    agency_statuses_report_found_not_known_unavailable_and_timed_out,
    a_check_fails_closed_when_the_log_cannot_be_written,
    concurrent_checks_and_a_second_writer_extend_one_chain,
    a_check_fails_closed_when_the_log_head_has_gone_back,
    concurrent_checks_each_get_their_own_results,
    a_policy_change_takes_effect_without_a_restart_and_a_bad_one_is_refused,
);

/// Loads the demo data and runs checks on Amy's household at `level`.
async fn check_household(h: &Harness, level: Level) -> anyhow::Result<(pb::Enquiry, pb::RequestChecksResponse)> {
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let household = vec![
        subject(AMY, Relation::Child),
        subject(JADE, Relation::ParentOrCarer),
        subject(CONNOR, Relation::OtherAdult),
    ];
    let opened = rita.enquiries.create_enquiry(enquiry(level, household)).await?.into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    Ok((opened, results))
}

fn field_names(item: &pb::DisclosedItem) -> Vec<&str> {
    item.fields.iter().map(|f| f.name.as_str()).collect()
}

async fn child_protection_sees_detail_without_restricted_fields(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, results) = check_household(&h, Level::Level3ChildProtection).await?;
    let amy = &enquiry.subjects[0].subject_id;
    let jade = &enquiry.subjects[1].subject_id;

    let police = agency(&results, "police");
    assert_eq!(police.status(), AgencyStatus::Found);
    let amy_police = about(police, amy).expect("police know Amy");
    assert_eq!(amy_police.items.len(), 1);
    let incident = &amy_police.items[0];
    assert_eq!((incident.tier(), incident.category.as_str()), (Tier::Detail, "police/domestic-abuse"));
    assert_eq!(
        field_names(incident),
        ["incident_ref", "role", "dash_risk", "summary", "officer_in_case"],
        "location is restricted"
    );

    let health = agency(&results, "health");
    let amy_health = about(health, amy).expect("health know Amy");
    assert_eq!(field_names(&amy_health.items[0]), ["setting", "reason"], "clinical notes are restricted");
    // Jade's sexual-health contact is never disclosed; her mental-health contact is.
    let jade_health = about(health, jade).expect("health know Jade");
    assert_eq!(jade_health.items.iter().map(|i| i.category.as_str()).collect::<Vec<_>>(), ["health/mental-health"]);
    assert!(jade_health.existence_notice.contains("held for health review"), "{}", jade_health.existence_notice);

    let social = agency(&results, "social-care");
    assert_eq!(about(social, amy).expect("social care know Amy").items.len(), 2);
    h.stop().await
}

async fn child_in_need_sees_police_and_health_in_summary(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, results) = check_household(&h, Level::Level2ChildInNeed).await?;
    let amy = &enquiry.subjects[0].subject_id;
    for name in ["police", "health"] {
        let items = &about(agency(&results, name), amy).expect("known").items;
        assert!(!items.is_empty());
        for item in items {
            assert_eq!(item.tier(), Tier::Summary, "{name}");
            assert!(item.fields.is_empty(), "a summary has no narrative");
            assert!(!item.date.is_empty() && !item.category.is_empty());
        }
    }
    let education = about(agency(&results, "education"), amy).expect("school knows Amy");
    assert_eq!(education.items[0].tier(), Tier::Detail);
    h.stop().await
}

async fn early_help_learns_only_that_police_and_health_know_the_family(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, results) = check_household(&h, Level::Level1EarlyHelp).await?;
    let connor = &enquiry.subjects[2].subject_id;
    let police = about(agency(&results, "police"), connor).expect("police know Connor");
    assert!(police.items.is_empty(), "no items at existence tier");
    assert_eq!(police.existence_notice, "Known to police: contact the MASH police desk.");
    let amy = &enquiry.subjects[0].subject_id;
    let education = about(agency(&results, "education"), amy).expect("school knows Amy");
    assert_eq!(education.items[0].tier(), Tier::Summary);
    h.stop().await
}

async fn every_disclosure_and_refusal_is_logged_in_one_verifiable_chain(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, results) = check_household(&h, Level::Level3ChildProtection).await?;
    let mut ian = h.system.broker_as("ian-ig").await?;
    let search =
        pb::SearchLogEntriesRequest { enquiry_id: enquiry.enquiry_id.clone(), page_size: 1000, ..Default::default() };
    let entries: Vec<_> = ian
        .log
        .search_log_entries(search)
        .await?
        .into_inner()
        .entries
        .into_iter()
        .filter(|e| e.outcome() != pb::Outcome::LogSearched)
        .collect();

    // Police 4 items about the household, health 3, education 1, social care 2.
    assert_eq!(entries.len(), 10, "one entry per item decision");
    let shown: usize = results.agencies.iter().flat_map(|a| &a.subjects).map(|s| s.items.len()).sum();
    let disclosed = entries.iter().filter(|e| e.outcome() == pb::Outcome::Disclosed).count();
    assert_eq!(disclosed, shown);
    let refused: Vec<_> = entries.iter().filter(|e| e.outcome() == pb::Outcome::Refused).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].category, "health/sexual-health");
    assert!(refused[0].reason.contains("deny"), "{}", refused[0].reason);
    for entry in &entries {
        assert_eq!(entry.requester, "spiffe://mash.local/user/rita-researcher");
        assert_eq!(entry.requester_agency, "mash");
        assert_eq!(entry.on_behalf_of, "spiffe://mash.local/user/rita-researcher", "the assigned researcher");
        // The recipient is whoever received what the entry shows: no one, for a refusal.
        let recipient =
            if entry.outcome() == pb::Outcome::Refused { "" } else { "spiffe://mash.local/user/rita-researcher" };
        assert_eq!(entry.recipient, recipient);
        assert_eq!(entry.lawful_basis, "children-act-1989-s47");
        assert_eq!(entry.level(), Level::Level3ChildProtection);
        assert!(entry.policy_version.starts_with("sha256:"));
        assert!(enquiry.subjects.iter().any(|s| s.subject_id == entry.subject_id), "pseudonymous subject reference");
        assert_eq!(entry.content_digest.is_empty(), entry.outcome() == pb::Outcome::Refused);
    }
    assert!(h.system.broker_log.verify().await?.is_ok(), "the log verifies");

    // Tampering with one entry breaks the chain at that entry.
    let pool = h.database("broker").await?;
    h.lift_append_only(&pool).await?;
    sqlx::query("UPDATE disclosure_log SET reason = 'edited afterwards' WHERE seq = 3").execute(&pool).await?;
    assert_eq!(h.system.broker_log.verify().await?.expect_err("tampered").seq, Some(3));
    pool.close().await;
    h.stop().await
}

async fn agency_statuses_report_found_not_known_unavailable_and_timed_out(backend: Backend) -> anyhow::Result<()> {
    let noah_only = |level| enquiry(level, vec![subject(NOAH, Relation::Child)]);
    // Police's feed is unreachable in this system.
    let h = Harness::start_with(backend, |c| c.feed_override = Some((Agency::POLICE, "https://127.0.0.1:1".into())))
        .await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita.enquiries.create_enquiry(noah_only(Level::Level3ChildProtection)).await?.into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    assert_eq!(agency(&results, "police").status(), AgencyStatus::Unavailable);
    assert_eq!(agency(&results, "education").status(), AgencyStatus::Found);
    assert_eq!(agency(&results, "social-care").status(), AgencyStatus::NotKnown);
    h.stop().await?;

    // No feed can answer within a nanosecond.
    let h = Harness::start_with(backend, |c| c.check_deadline = Duration::from_nanos(1)).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita.enquiries.create_enquiry(noah_only(Level::Level2ChildInNeed)).await?.into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    assert!(results.agencies.iter().all(|a| a.status() == AgencyStatus::TimedOut), "{results:?}");
    h.stop().await
}

async fn a_check_fails_closed_when_the_log_cannot_be_written(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(AMY, Relation::Child)]))
        .await?;
    let pool = h.database("broker").await?;
    sqlx::query("ALTER TABLE disclosure_log RENAME TO disclosure_log_moved").execute(&pool).await?;
    let status =
        rita.enquiries.request_checks(checks(&opened.get_ref().enquiry_id)).await.expect_err("must not disclose");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(status.message().contains("nothing was disclosed"), "{}", status.message());
    // Once the log can be written again, so can checks: the writer does not keep a broken state.
    sqlx::query("ALTER TABLE disclosure_log_moved RENAME TO disclosure_log").execute(&pool).await?;
    rita.enquiries.request_checks(checks(&opened.get_ref().enquiry_id)).await?;
    let verified = h.system.broker_log.verify().await?.map_err(|finding| anyhow::anyhow!(finding))?;
    assert!(verified.entries > 0, "the check after the failure is in one verifiable chain");
    pool.close().await;
    h.stop().await
}

/// The broker chains a check's entries on the head it last wrote, in one call to SQLite; a head
/// that has gone back (a restored or edited database) must stop the write, not leave entries
/// beyond the head or a fork in the chain.
async fn a_check_fails_closed_when_the_log_head_has_gone_back(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, _) = check_household(&h, Level::Level3ChildProtection).await?;
    let logged = h.count("broker", "disclosure_log").await?;
    let pool = h.database("broker").await?;
    sqlx::query("UPDATE log_head SET size = size - 1").execute(&pool).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let status = rita.enquiries.request_checks(checks(&enquiry.enquiry_id)).await.expect_err("must not disclose");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(h.count("broker", "disclosure_log").await?, logged, "nothing written");
    let head = sqlx::query("SELECT size FROM log_head").fetch_one(&pool).await?;
    assert_eq!(sqlx::Row::try_get::<i64, _>(&head, "size")?, logged - 1, "the head is as it was left");
    pool.close().await;
    h.stop().await
}

async fn concurrent_checks_and_a_second_writer_extend_one_chain(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    let (enquiry, _) = check_household(&h, Level::Level3ChildProtection).await?;
    // A second log writer on the same database stands in for a second broker replica.
    let url = &h.system.database_urls.iter().find(|(name, _)| name == "broker").expect("broker database").1;
    let keys = h.system.endpoints.log_key.with_file_name("broker.json");
    let signing = h.system.endpoints.log_key.with_extension("json");
    let checkpoints = mash_system::SystemConfig::new(std::path::Path::new(".")).checkpoints;
    let replica = mash_broker::open_log(url, &keys, &signing, checkpoints).await?;
    let caller = mash_disclosure_log::Caller { identity: "replica".into(), role: None, organisation: "mash".into() };
    let entry: mash_disclosure_log::NewEntry = mash_disclosure_log::EntryBuilder::new(&caller, "")
        .build(mash_disclosure_log::Outcome::Refused, mash_domain::Tier::None, "")
        .into();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let mut rita = h.system.broker_as("rita-researcher").await?;
        let (replica, entry, id) = (replica.clone(), entry.clone(), enquiry.enquiry_id.clone());
        tasks.spawn(async move {
            if i % 2 == 0 {
                rita.enquiries.request_checks(checks(&id)).await.map(|_| ()).map_err(anyhow::Error::from)
            } else {
                replica.append(vec![entry; 3]).await.map_err(anyhow::Error::from)
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    // 9 checks of 10 entries each, and 8 appends of 3.
    assert_eq!(h.count("broker", "disclosure_log").await?, 9 * 10 + 8 * 3);
    h.system.broker_log.checkpointer().checkpoint().await?;
    let verified = h.system.broker_log.verify().await?.map_err(|finding| anyhow::anyhow!(finding))?;
    assert_eq!(
        (verified.entries, verified.checkpoints),
        (9 * 10 + 8 * 3, 1),
        "one unbroken chain, no gaps, no duplicates"
    );
    h.stop().await
}

/// A check's results without what differs from one enquiry to the next (its ids), each subject
/// named by its position in the enquiry.
fn comparable(enquiry: &pb::Enquiry, mut results: pb::RequestChecksResponse) -> pb::RequestChecksResponse {
    results.enquiry_id.clear();
    for subject in results.agencies.iter_mut().flat_map(|a| &mut a.subjects) {
        let at = enquiry.subjects.iter().position(|s| s.subject_id == subject.subject_id);
        subject.subject_id = at.map_or_else(|| "not a subject of this enquiry".into(), |at| at.to_string());
        subject.hold_ids.iter_mut().for_each(String::clear);
        subject.possible_matches.iter_mut().for_each(|m| m.candidate_id.clear());
    }
    results
}

/// Whether any feed search the broker sent carried more than one check.
fn some_search_was_batched() -> bool {
    let metrics = mash_telemetry::metrics::metrics().encode();
    let sum = |wanted: &dyn Fn(&str) -> bool| -> u64 {
        metrics.lines().filter(|l| wanted(l)).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum()
    };
    let searches = sum(&|l| l.starts_with("mash_feed_search_batch_checks_count{"));
    let alone = sum(&|l| l.starts_with("mash_feed_search_batch_checks_bucket{") && l.contains("le=\"1.0\""));
    searches > alone
}

/// Checks running at once may share feed searches (the broker batches them under load): each
/// still gets exactly its own results, the same as when it runs alone, twins included (Ella and
/// Evie share a date of birth, surname and address).
async fn concurrent_checks_each_get_their_own_results(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let households = [
        vec![
            subject(AMY, Relation::Child),
            subject(JADE, Relation::ParentOrCarer),
            subject(CONNOR, Relation::OtherAdult),
        ],
        vec![subject(NOAH, Relation::Child)],
        vec![subject(ELLA, Relation::Child)],
        vec![subject(EVIE, Relation::Child)],
    ];
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let mut alone = Vec::new();
    for household in &households {
        let opened =
            rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, household.clone())).await?.into_inner();
        let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
        alone.push(comparable(&opened, results));
    }
    assert_ne!(alone[2], alone[3], "the twins' own records differ");
    let mut opened = Vec::new();
    for _ in 0..8 {
        for (kind, household) in households.iter().enumerate() {
            let request = enquiry(Level::Level3ChildProtection, household.clone());
            opened.push((kind, rita.enquiries.create_enquiry(request).await?.into_inner()));
        }
    }
    // All 32 checks are asked for at once.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(opened.len()));
    let mut together = tokio::task::JoinSet::new();
    for (kind, opened) in opened {
        let (mut rita, start) = (rita.clone(), start.clone());
        together.spawn(async move {
            start.wait().await;
            let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
            anyhow::Ok((kind, comparable(&opened, results)))
        });
    }
    while let Some(done) = together.join_next().await {
        let (kind, results) = done??;
        assert_eq!(results, alone[kind], "household {kind}");
    }
    assert!(some_search_was_batched(), "32 checks at once shared no feed search");
    h.stop().await
}

async fn a_policy_change_takes_effect_without_a_restart_and_a_bad_one_is_refused(
    backend: Backend,
) -> anyhow::Result<()> {
    let policy_dir = tempfile::tempdir()?;
    for entry in std::fs::read_dir(mash_system::shipped_policy_dir())? {
        let entry = entry?;
        std::fs::copy(entry.path(), policy_dir.path().join(entry.file_name()))?;
    }
    let dir = policy_dir.path().to_path_buf();
    let h = Harness::start_with(backend, |c| c.policy_dir = dir).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level1EarlyHelp, vec![subject(AMY, Relation::Child)]))
        .await?
        .into_inner();
    let police_tiers = |results: &pb::RequestChecksResponse| -> Vec<Tier> {
        agency(results, "police").subjects.iter().flat_map(|s| &s.items).map(|i| i.tier()).collect()
    };
    let before = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    assert!(police_tiers(&before).is_empty(), "level 1 sees only that police know Amy");

    const LEVEL_1_POLICE: &str = "p, *, 1, *, *, *, *, police/*,      *, *, existence, allow";
    const LEVEL_1_SENSITIVE: &str = "p, *, 1, *, *, *, *, *, sensitive, *, summary, deny";
    let file = policy_dir.path().join("disclosure_policy.csv");
    let shipped = std::fs::read_to_string(&file)?;
    assert!(shipped.contains(LEVEL_1_POLICE) && shipped.contains(LEVEL_1_SENSITIVE), "the test edits these lines");
    std::fs::write(&file, shipped.replace(LEVEL_1_POLICE, "p, *, 1, police/*, nonsense"))?;
    assert!(h.system.policy.reload().await.is_err(), "a broken policy is rejected");
    let still = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    assert!(police_tiers(&still).is_empty(), "and the old one stays in force");

    // Level 1 may now see police items in summary, sensitive ones included.
    let widened = shipped
        .replace(LEVEL_1_POLICE, "p, *, 1, *, *, *, *, police/*, *, *, summary, allow")
        .replace(LEVEL_1_SENSITIVE, "");
    std::fs::write(&file, widened)?;
    let version = h.system.policy.reload().await?.expect("a new policy");
    let after = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    assert_eq!(police_tiers(&after), [Tier::Summary]);
    // The log records which policy decided.
    let mut ian = h.system.broker_as("ian-ig").await?;
    let entries = ian
        .log
        .search_log_entries(pb::SearchLogEntriesRequest {
            enquiry_id: opened.enquiry_id.clone(),
            agency: "police".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .entries;
    let versions: Vec<&str> =
        entries.iter().filter(|e| e.outcome() == pb::Outcome::Disclosed).map(|e| e.policy_version.as_str()).collect();
    assert_eq!(versions.last(), Some(&version.as_str()));
    assert_ne!(versions.first(), Some(&version.as_str()));
    h.stop().await
}
