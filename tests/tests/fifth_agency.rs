//! A fifth agency, probation, added by configuration alone, exactly as
//! `docs/operations.md` ("Adding an agency") tells a council to: the rows in
//! `deploy/agencies/probation/*.csv` appended to the policy files, and the
//! probation service's own proto and mapping file served by the generic
//! mapped adapter. No probation code exists anywhere.
//!
//! A test binary of its own: the registry of agencies is fixed for the life
//! of a process, and every other suite runs with the shipped four.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use mash_e2e::{
    Backend, Harness,
    fixtures::{about, agency, checks, enquiry, subject},
};
use mash_feed::{RecordAdapter, mapped::MappedAdapter};
use mash_proto::v1::{self as pb, AgencyStatus, Level, Outcome, Relation, Tier, push_record::Body};
use mash_system::demo::{self, AMY, JADE};
use serde_json::json;
use tonic::Code;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn probation_dir() -> PathBuf {
    repo().join("deploy/agencies/probation")
}

/// The shipped policy with probation's rows appended to each file they belong in.
fn policy_with_probation(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(repo().join("policy"))? {
        let path = entry?.path();
        let name = path.file_name().expect("a file");
        let mut text = std::fs::read_to_string(&path)?;
        if let Ok(rows) = std::fs::read_to_string(probation_dir().join(name)) {
            text.push_str(&rows);
        }
        std::fs::write(dir.join(name), text)?;
    }
    Ok(dir.to_path_buf())
}

fn supervision(adapter: &MappedAdapter, id: &str, who: demo::DemoPerson, record: serde_json::Value) -> pb::PushRecord {
    let body = adapter.body_from_json(record).expect("a SupervisionRecord");
    pb::PushRecord { record_id: id.into(), version: 1, subject: Some(who.to_wire()), body: Some(body) }
}

#[tokio::test]
async fn a_probation_record_reaches_a_check_through_configuration_alone() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let policy_dir = policy_with_probation(&dir.path().join("policy"))?;
    // Loading the policy puts its registry, with probation, in force; the
    // mapping names its agency, so it is read after.
    mash_policy::LivePolicy::load(&policy_dir).await?;
    let probation = Arc::new(MappedAdapter::load(&probation_dir().join("probation.toml"))?);
    let adapter: Arc<dyn RecordAdapter> = probation.clone();
    let h = Harness::start_with(Backend::Sqlite, |c| {
        c.policy_dir = policy_dir;
        c.mapped_feeds = vec![adapter];
    })
    .await?;
    demo::load(&h.system).await?;
    let probation_agency = mash_domain::Agency::parse("agency", "probation")?;

    let good = json!({"category": "probation/supervision", "start_date": "2026-03-02",
        "order_type": "Community order", "delivery_unit": "Leeds North", "risk_to_children": "HIGH",
        "practitioner": "Sam Officer"});
    let restricted = json!({"category": "probation/victim-contact", "start_date": "2026-03-02",
        "order_type": "Victim contact scheme"});
    let rows = vec![
        supervision(&probation, "PR-1", JADE, good.clone()),
        supervision(&probation, "PR-2", JADE, restricted),
        supervision(&probation, "PR-3", JADE, json!({"category": "probation/supervision", "start_date": "2026-03-02"})),
        supervision(
            &probation,
            "PR-4",
            JADE,
            json!({"category": "police/arrest", "start_date": "2026-03-02", "order_type": "x"}),
        ),
        supervision(
            &probation,
            "PR-5",
            JADE,
            json!({"category": "probation/supervision", "start_date": "2099-01-01", "order_type": "x"}),
        ),
        pb::PushRecord {
            body: demo::records(mash_domain::Agency::POLICE).remove(0).body,
            ..supervision(&probation, "PR-6", JADE, good.clone())
        },
        pb::PushRecord {
            body: Some(Body::Record(prost_types::Any {
                type_url: "type.googleapis.com/probation.v1.Other".into(),
                value: vec![],
            })),
            ..supervision(&probation, "PR-7", JADE, good.clone())
        },
    ];
    let mut feed = h.system.feed_ingest_as(probation_agency, "agency-probation").await?;
    let summary = feed.push(tokio_stream::iter(rows)).await?.into_inner();
    assert_eq!(summary.stored, 2, "{summary:?}");
    let rejected: Vec<(&str, &str)> =
        summary.rejected.iter().map(|r| (r.record_id.as_str(), r.field.as_str())).collect();
    assert_eq!(
        rejected,
        [
            ("PR-3", "record.order_type"),
            ("PR-4", "record.category"),
            ("PR-5", "record.start_date"),
            ("PR-6", "body"),
            ("PR-7", "record.type_url"),
        ]
    );

    // Another agency's system may not push into probation's feed.
    let mut police = h.system.feed_ingest_as(probation_agency, "agency-police").await?;
    let refused = police.push(tokio_stream::iter(vec![supervision(&probation, "PR-8", JADE, good)])).await;
    assert_eq!(refused.expect_err("not police's feed").code(), Code::PermissionDenied);

    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(
            Level::Level3ChildProtection,
            vec![subject(AMY, Relation::Child), subject(JADE, Relation::ParentOrCarer)],
        ))
        .await?
        .into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    let found = agency(&results, "probation");
    assert_eq!(found.status(), AgencyStatus::Found);
    let jade = about(found, &opened.subjects[1].subject_id).expect("probation knows Jade");
    let [item] = &jade.items[..] else { panic!("one item disclosed: {:?}", jade.items) };
    assert_eq!((item.category.as_str(), item.tier()), ("probation/supervision", Tier::Detail));
    let fields: Vec<(&str, &str)> = item.fields.iter().map(|f| (f.name.as_str(), f.value.as_str())).collect();
    assert_eq!(fields, [("order", "Community order"), ("delivery_unit", "Leeds North"), ("risk_to_children", "HIGH")]);
    assert_eq!(jade.hold_ids.len(), 1, "victim contact is held for probation's gatekeeper");

    let mut ig = h.system.broker_as("ian-ig").await?;
    let search =
        pb::SearchLogEntriesRequest { agency: "probation".into(), enquiry_id: opened.enquiry_id, ..Default::default() };
    let entries = ig.log.search_log_entries(search).await?.into_inner().entries;
    let outcomes: Vec<(&str, Outcome)> = entries.iter().map(|e| (e.category.as_str(), e.outcome())).collect();
    assert!(outcomes.contains(&("probation/supervision", Outcome::Disclosed)), "{outcomes:?}");
    h.stop().await
}
