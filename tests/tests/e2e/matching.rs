//! Identity matching through the whole path: a noisy record for the child is
//! found and explained as a possible match, shown as existence only until a
//! researcher confirms it, and a twin is never disclosed as the child.

use mash_domain::Agency;
use mash_e2e::{
    Backend, Harness,
    fixtures::{about, agency, checks, enquiry, subject},
    on_both_backends,
};
use mash_proto::v1::{self as pb, Level, Relation, SubjectRole, Tier, push_record::Body};
use mash_system::demo::{self, AMY, ELLA};
use tonic::Code;

on_both_backends!(
    a_noisy_record_is_a_possible_match_until_a_researcher_confirms_it,
    a_twin_is_never_disclosed_as_the_child,
);

/// Amy as the police recorded her on a night-time call: a spelling of her
/// name, her date of birth with day and month swapped, and no NHS number.
fn noisy_amy() -> pb::PushRecord {
    let mut person = AMY.to_wire();
    person.given_name = "Aimee".into();
    person.date_of_birth = "2016-12-04".into();
    person.nhs_number.clear();
    person.upn.clear();
    pb::PushRecord {
        record_id: "P-NOISY".into(),
        version: 1,
        subject: Some(person),
        body: Some(Body::PoliceIncident(pb::PoliceIncident {
            incident_ref: "WYP-NOISY".into(),
            category: "police/missing-episode".into(),
            role: SubjectRole::Victim.into(),
            occurred_on: "2026-10-20".into(),
            summary: "Reported missing from home; found the next morning.".into(),
            ..Default::default()
        })),
    }
}

async fn a_noisy_record_is_a_possible_match_until_a_researcher_confirms_it(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut police = h.system.feed_ingest_as(Agency::POLICE, "agency-police").await?;
    police.push(tokio_stream::iter(vec![noisy_amy()])).await?;

    let mut rita = h.system.broker_as("rita-researcher").await?;
    let opened = rita
        .enquiries
        .create_enquiry(enquiry(Level::Level3ChildProtection, vec![subject(AMY, Relation::Child)]))
        .await?;
    let opened = opened.into_inner();
    let amy = opened.subjects[0].subject_id.clone();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    let seen = about(agency(&results, "police"), &amy).expect("police know Amy");
    // Her own incident, matched on her NHS number, in detail; the noisy one only possibly.
    let categories: Vec<&str> = seen.items.iter().map(|i| i.category.as_str()).collect();
    assert_eq!(categories, ["police/domestic-abuse"]);
    let matched = seen.items[0].r#match.as_ref().expect("explained");
    assert_eq!(matched.verdict(), pb::MatchVerdict::Match);
    assert!(matched.fields.iter().any(|f| f.field == "nhs_number"), "{matched:?}");
    assert_eq!(seen.possible_matches.len(), 1, "{seen:?}");
    let possible = &seen.possible_matches[0];
    let why = possible.r#match.as_ref().expect("explained");
    assert_eq!(why.verdict(), pb::MatchVerdict::PossibleMatch);
    let level = |field: &str| why.fields.iter().find(|f| f.field == field).map(|f| f.level.clone());
    assert!(level("date_of_birth").is_some_and(|l| l.contains("transposed")), "{why:?}");
    assert!(level("surname").is_some(), "{why:?}");
    assert!(seen.existence_notice.contains("Possibly known to police"), "{}", seen.existence_notice);

    // Confirming needs a reason and the right researcher; then the next check shows it.
    let confirm = |reason: &str| pb::ConfirmMatchRequest {
        enquiry_id: opened.enquiry_id.clone(),
        candidate_id: possible.candidate_id.clone(),
        reason: reason.into(),
    };
    let invalid = rita.enquiries.confirm_match(confirm("")).await.expect_err("a reason is required");
    assert_eq!(invalid.code(), Code::InvalidArgument, "{invalid:?}");
    let mut robin = h.system.broker_as("robin-researcher").await?;
    let refused = robin.enquiries.confirm_match(confirm("mine now")).await.expect_err("not Robin's enquiry");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let unknown = rita
        .enquiries
        .confirm_match(pb::ConfirmMatchRequest { candidate_id: "cand-nope".into(), ..confirm("x") })
        .await
        .expect_err("no such candidate");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    rita.enquiries.confirm_match(confirm("Same address and school; the referrer spelt her name Aimee")).await?;
    let again = rita.enquiries.confirm_match(confirm("twice")).await.expect_err("already confirmed");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");

    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    let seen = about(agency(&results, "police"), &amy).expect("police know Amy");
    let mut categories: Vec<(&str, Tier)> = seen.items.iter().map(|i| (i.category.as_str(), i.tier())).collect();
    categories.sort();
    assert_eq!(categories, [("police/domestic-abuse", Tier::Detail), ("police/missing-episode", Tier::Detail)]);
    assert!(seen.possible_matches.is_empty());

    // The log holds the confirmation, and what each check decided about the record.
    let mut ian = h.system.broker_as("ian-ig").await?;
    let search =
        pb::SearchLogEntriesRequest { enquiry_id: opened.enquiry_id.clone(), page_size: 1000, ..Default::default() };
    let entries = ian.log.search_log_entries(search).await?.into_inner().entries;
    let about_noisy: Vec<_> = entries.iter().filter(|e| e.record_ref == "P-NOISY").collect();
    let outcomes: Vec<_> = about_noisy.iter().map(|e| e.outcome()).collect();
    assert_eq!(outcomes, [pb::Outcome::Disclosed, pb::Outcome::MatchConfirmed, pb::Outcome::Disclosed]);
    assert_eq!(about_noisy[0].tier(), Tier::Existence);
    assert!(about_noisy[0].reason.contains("possible match"), "{}", about_noisy[0].reason);
    assert_eq!(about_noisy[2].tier(), Tier::Detail);
    h.stop().await
}

async fn a_twin_is_never_disclosed_as_the_child(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start(backend).await?;
    demo::load(&h.system).await?;
    let mut rita = h.system.broker_as("rita-researcher").await?;
    // Ella as a referrer knows her: name, date of birth, postcode; no identifiers.
    let mut ella = subject(ELLA, Relation::Child);
    if let Some(person) = ella.person.as_mut() {
        person.nhs_number.clear();
        person.upn.clear();
    }
    let opened = rita.enquiries.create_enquiry(enquiry(Level::Level3ChildProtection, vec![ella])).await?.into_inner();
    let results = rita.enquiries.request_checks(checks(&opened.enquiry_id)).await?.into_inner();
    let subject_id = &opened.subjects[0].subject_id;
    // Her twin Evie's attendance and school-nurse records share her surname,
    // birthday and postcode: never shown as Ella's, at most a possible match.
    for name in ["education", "health"] {
        if let Some(seen) = about(agency(&results, name), subject_id) {
            for item in &seen.items {
                let verdict = item.r#match.as_ref().map(|m| m.verdict());
                assert_eq!(verdict, Some(pb::MatchVerdict::Match), "{name}: only certain matches are disclosed");
            }
            for possible in &seen.possible_matches {
                let why = possible.r#match.as_ref().expect("explained");
                let first = why.fields.iter().find(|f| f.field == "first_name").expect("compared");
                assert!(first.weight < 0.0, "the first names disagree: {why:?}");
            }
        }
    }
    let health = about(agency(&results, "health"), subject_id).expect("Ella is registered with a GP");
    assert_eq!(health.items.len(), 1, "her own GP registration");
    assert_eq!(health.items[0].category, "health/gp-registration");
    let education = about(agency(&results, "education"), subject_id).expect("Ella is missing education");
    assert!(education.items.iter().all(|i| i.category != "education/attendance"), "Evie's attendance is Evie's");
    h.stop().await
}
