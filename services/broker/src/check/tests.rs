//! `disclose`, the pure heart of a check, as a table: one feed answer per
//! case, decided with the shipped casbin policy, against what the researcher
//! sees, what the log records and what is held or kept as a candidate.

use std::collections::{HashMap, HashSet};

use mash_domain::{Agency, ConsentState, Identity, Level, PersonInput, Relation, Tier};
use mash_policy::{Policy, PolicyFiles, Role};
use mash_proto::v1 as pb;
use prost::Message;

use super::{CheckContext, Disclosed, Requester, digest, disclose};
use crate::{enquiry::Enquiry, enquiry::EnquiryInput, search_batch::FeedAnswer};

const TODAY: time::Date = time::macros::date!(2026 - 11 - 23);

async fn shipped_policy() -> Policy {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy");
    Policy::load(&PolicyFiles::in_dir(&dir)).await.expect("the shipped policy loads")
}

fn researcher() -> Identity {
    Identity::parse("spiffe://mash.local/user/rita-researcher").expect("an identity")
}

/// A level 3 enquiry about one child.
fn enquiry() -> Enquiry {
    let child = PersonInput {
        given_name: "Amy",
        family_name: "Example",
        date_of_birth: "2016-04-02",
        nhs_number: "",
        upn: "",
        postcode: "",
        sex: "",
        previous_family_names: &[],
    };
    let input = EnquiryInput {
        level: Some(Level::ChildProtection),
        purpose: "front-door-decision",
        lawful_basis: "children-act-1989-s47",
        consent: Some(ConsentState::NotSought),
        assigned_researcher: "",
        subjects: vec![(Some(Relation::Child), Some(child))],
    };
    Enquiry::parse(input, &researcher()).expect("a valid enquiry")
}

/// One case: the item a feed returns, and what must come of it.
struct Case {
    name: &'static str,
    category: &'static str,
    sensitivity: pb::Sensitivity,
    verdict: pb::MatchVerdict,
    /// The researcher has confirmed the possible match.
    confirmed: bool,
    /// The feed answers about a subject the check did not ask about.
    stranger: bool,
    expected: Expected,
}

#[derive(Debug, PartialEq)]
struct Expected {
    /// The tier logged for the item; `None` for no entry at all.
    tier: Option<Tier>,
    holds: usize,
    candidates: usize,
    status: pb::AgencyStatus,
}

/// The tier the policy gives this item when nothing caps it.
const POLICY: Option<Tier> = None;

fn expect(tier: Option<Tier>, holds: usize, candidates: usize, status: pb::AgencyStatus) -> Expected {
    Expected { tier, holds, candidates, status }
}

fn cases() -> Vec<Case> {
    use pb::AgencyStatus::{Found, NotKnown};
    let case = |name, category, sensitivity, verdict, expected| Case {
        name,
        category,
        sensitivity,
        verdict,
        confirmed: false,
        stranger: false,
        expected,
    };
    vec![
        case(
            "restricted category: held for the gatekeeper",
            "police/covert-intelligence",
            pb::Sensitivity::Unspecified,
            pb::MatchVerdict::Match,
            expect(Some(Tier::None), 1, 0, Found),
        ),
        case(
            "restricted by the agency's marking: held",
            "police/domestic-abuse",
            pb::Sensitivity::Restricted,
            pb::MatchVerdict::Match,
            expect(Some(Tier::None), 1, 0, Found),
        ),
        case(
            "possible match: existence and a candidate",
            "police/domestic-abuse",
            pb::Sensitivity::Unspecified,
            pb::MatchVerdict::PossibleMatch,
            expect(Some(Tier::Existence), 0, 1, Found),
        ),
        Case {
            confirmed: true,
            ..case(
                "confirmed possible match: the policy's tier",
                "police/domestic-abuse",
                pb::Sensitivity::Unspecified,
                pb::MatchVerdict::PossibleMatch,
                expect(POLICY, 0, 0, Found),
            )
        },
        case(
            "match: the policy's tier",
            "police/domestic-abuse",
            pb::Sensitivity::Unspecified,
            pb::MatchVerdict::Match,
            expect(POLICY, 0, 0, Found),
        ),
        case(
            "unknown category: nothing shown, refusal logged",
            "police/parking",
            pb::Sensitivity::Unspecified,
            pb::MatchVerdict::Match,
            expect(Some(Tier::None), 0, 0, NotKnown),
        ),
        case(
            "category of another agency: nothing shown",
            "health/mental-health",
            pb::Sensitivity::Unspecified,
            pb::MatchVerdict::Match,
            expect(Some(Tier::None), 0, 0, NotKnown),
        ),
        Case {
            stranger: true,
            ..case(
                "answer about a subject not asked about: ignored",
                "police/domestic-abuse",
                pb::Sensitivity::Unspecified,
                pb::MatchVerdict::Match,
                expect(None, 0, 0, NotKnown),
            )
        },
    ]
}

fn item(case: &Case) -> pb::Item {
    pb::Item {
        record_id: "P-1".into(),
        version: 1,
        kind: pb::ItemKind::Event.into(),
        category: case.category.into(),
        sensitivity: case.sensitivity.into(),
        date: "2026-10-01".into(),
        fields: vec![
            pb::Field { name: "summary".into(), value: "an incident".into(), restricted: false },
            pb::Field { name: "officer_in_case".into(), value: "PC 1".into(), restricted: true },
        ],
        r#match: Some(pb::MatchExplanation { verdict: case.verdict.into(), probability: 0.5, ..Default::default() }),
    }
}

/// The tier the shipped policy gives a matched `police/domestic-abuse` item
/// about the child of `enquiry`, as the policy itself decides it.
fn policy_tier(policy: &Policy, enquiry: &Enquiry, role: Role) -> Tier {
    let category =
        mash_domain::Category::parse_for("category", "police/domestic-abuse", Agency::POLICE).expect("known");
    let context = mash_policy::Context {
        role,
        level: enquiry.level,
        purpose: enquiry.purpose,
        basis: enquiry.lawful_basis,
        consent: enquiry.consent,
        relation: Relation::Child,
        category,
        sensitivity: category.sensitivity(),
        age: mash_domain::AgeBand::of(time::macros::date!(2026 - 10 - 01), TODAY),
    };
    policy.disclosure.decide(&context).tier
}

fn run(case: &Case, policy: &Policy, enquiry: &Enquiry) -> Disclosed {
    let subject_ref = if case.stranger {
        "00000000-0000-4000-8000-000000000000".to_owned()
    } else {
        enquiry.subjects[0].subject_id.to_string()
    };
    let candidate =
        crate::candidate::NewCandidate::new(enquiry.enquiry_id, &enquiry.subjects[0].subject_id, Agency::POLICE, "P-1")
            .candidate_id;
    let confirmed: HashSet<String> = if case.confirmed { HashSet::from([candidate]) } else { HashSet::new() };
    let requester = Requester {
        identity: researcher().to_string(),
        organisation: researcher().organisation().into(),
        role: Role::Researcher,
    };
    let cx = CheckContext {
        enquiry,
        requester: &requester,
        policy,
        person_refs: &HashMap::new(),
        today: TODAY,
        confirmed: &confirmed,
    };
    let answer =
        pb::SubjectResult { subject_ref, matched_on: pb::MatchedOn::Probabilistic.into(), items: vec![item(case)] };
    disclose(&cx, vec![(Agency::POLICE, FeedAnswer::Results(vec![answer]))])
}

#[tokio::test]
async fn disclose_decides_each_kind_of_answer() {
    let policy = shipped_policy().await;
    let enquiry = enquiry();
    let policy_tier = policy_tier(&policy, &enquiry, Role::Researcher);
    assert!(policy_tier > Tier::Existence, "the table needs a policy that shows more than existence");
    let mut failures = Vec::new();
    for case in cases() {
        let disclosed = run(&case, &policy, &enquiry);
        let expected = Expected { tier: case.expected.tier.or(Some(policy_tier)), ..case.expected };
        let expected = if case.stranger { Expected { tier: None, ..expected } } else { expected };
        let actual = Expected {
            tier: disclosed.entries.first().map(|e| e.fields.tier),
            holds: disclosed.holds.len(),
            candidates: disclosed.candidates.len(),
            status: disclosed.results.agencies[0].status(),
        };
        if actual != expected {
            failures.push(format!("{}: expected {expected:?}, got {actual:?}", case.name));
        }
        if case.stranger && !disclosed.results.agencies[0].subjects.is_empty() {
            failures.push(format!("{}: a stranger's answer was shown", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The log records the SHA-256 of exactly what was shown, and the sealed
/// copy of it: the redacted item (restricted fields gone) or the notice.
#[tokio::test]
async fn each_entry_digests_exactly_what_was_shown() {
    let policy = shipped_policy().await;
    let enquiry = enquiry();
    for case in cases().into_iter().filter(|c| !c.stranger) {
        let disclosed = run(&case, &policy, &enquiry);
        let entry = &disclosed.entries[0];
        match &entry.shown {
            None => assert!(entry.fields.content_digest.is_empty(), "{}: a digest of nothing", case.name),
            Some(bytes) => {
                let content = pb::DisclosedContent::decode(bytes.as_slice()).expect("shown content decodes");
                let shown_bytes = match content.shown.expect("something shown") {
                    pb::disclosed_content::Shown::Item(item) => {
                        assert!(item.fields.iter().all(|f| !f.restricted), "{}: a restricted field", case.name);
                        let on_screen = &disclosed.results.agencies[0].subjects[0].items;
                        assert_eq!(on_screen, &vec![item.clone()], "{}: logged what was shown", case.name);
                        item.encode_to_vec()
                    }
                    pb::disclosed_content::Shown::Notice(notice) => notice.into_bytes(),
                };
                assert_eq!(entry.fields.content_digest, digest(&shown_bytes), "{}", case.name);
            }
        }
    }
}
