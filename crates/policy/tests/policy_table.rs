//! Table tests of the shipped policy files in `policy/`.

use std::path::PathBuf;

use mash_domain::{
    AgeBand, Agency, Category, ConsentState, Identity, LawfulBasis, Level, Purpose, Relation, Sensitivity, Tier,
};
use mash_policy::{Action, Context, Policy, PolicyFiles, Role, access::Scope, disclosure::contexts_for};

fn shipped() -> PolicyFiles {
    PolicyFiles::in_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy"))
}

async fn load() -> Policy {
    Policy::load(&shipped()).await.expect("the shipped policy loads")
}

fn id(uri: &str) -> Identity {
    Identity::parse(uri).expect("valid identity")
}

/// A context written as nine words: role, level, purpose (fdd = front-door
/// decision, sd = strategy discussion, eha = early-help assessment), basis
/// (s47, s17, consent), consent, relation (parent = parent-or-carer),
/// category, sensitivity, age.
fn context(words: &str) -> Context {
    let w: Vec<&str> = words.split_whitespace().collect();
    assert_eq!(w.len(), 9, "{words}");
    let role = match w[0] {
        "researcher" => Role::Researcher,
        "manager" => Role::Manager,
        other => panic!("role {other}"),
    };
    let purpose = match w[2] {
        "fdd" => Purpose::FrontDoorDecision,
        "sd" => Purpose::StrategyDiscussion,
        "eha" => Purpose::EarlyHelpAssessment,
        other => panic!("purpose {other}"),
    };
    let basis = match w[3] {
        "s47" => LawfulBasis::Section47,
        "s17" => LawfulBasis::Section17,
        "consent" => LawfulBasis::Consent,
        other => panic!("basis {other}"),
    };
    let relation = if w[5] == "parent" { "parent-or-carer" } else { w[5] };
    Context {
        role,
        level: parse("level", Level::parse("level", w[1])),
        purpose,
        basis,
        consent: parse("consent", ConsentState::parse("consent", w[4])),
        relation: parse("relation", Relation::parse("relation", relation)),
        category: parse("category", Category::parse("category", w[6])),
        sensitivity: parse("sensitivity", Sensitivity::parse("sensitivity", w[7])),
        age: parse("age", AgeBand::parse("age", w[8])),
    }
}

fn parse<T>(what: &str, r: Result<T, mash_domain::DomainError>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Each case: the context, and the highest tier the shipped policy must give.
/// Grouped by level; the comment says which rule makes the case interesting.
const CASES: &[(&str, Tier)] = {
    use Tier::*;
    &[
        // Level 3: detail from every agency, whatever the consent.
        ("researcher 3 fdd s47 not-sought child police/domestic-abuse sensitive recent", Detail),
        ("researcher 3 fdd s47 refused parent police/arrest sensitive historic", Detail),
        ("researcher 3 sd s47 not-sought sibling health/emergency-attendance sensitive recent", Detail),
        ("manager 3 sd s47 refused other-adult health/mental-health sensitive historic", Detail),
        ("researcher 3 fdd s47 given child education/exclusion standard recent", Detail),
        ("researcher 3 fdd s47 not-sought child social-care/child-protection-plan sensitive historic", Detail),
        ("researcher 3 fdd s47 given child health/gp-registration standard historic", Detail),
        ("manager 3 fdd s47 not-sought other-adult education/free-school-meals standard recent", Detail),
        ("researcher 3 sd s47 not-sought parent social-care/looked-after sensitive historic", Detail),
        ("manager 3 fdd s47 refused sibling police/missing-episode standard historic", Detail),
        ("researcher 3 sd s17 not-sought other-adult police/intelligence sensitive recent", Detail),
        ("manager 3 sd s47 not-sought child health/maternity sensitive historic", Detail),
        ("researcher 3 fdd consent given child police/violence sensitive recent", Detail),
        // Level 3, narrowed: an early help purpose never needs police; consent
        // as the basis holds only while consent is given.
        ("researcher 3 eha s47 given child police/missing-episode standard recent", Existence),
        ("manager 3 eha s47 refused sibling police/missing-episode standard historic", Existence),
        ("researcher 3 fdd consent refused child police/violence sensitive recent", Existence),
        ("researcher 3 fdd consent not-sought child education/attendance standard recent", Existence),
        // Level 3, restricted: never automatically.
        ("researcher 3 fdd s47 not-sought child health/sexual-health restricted recent", None),
        ("manager 3 sd s47 given child police/covert-intelligence restricted recent", None),
        ("manager 3 sd s47 given child police/witness-protection restricted historic", None),
        ("researcher 3 fdd s47 given child social-care/adoption restricted recent", None),
        ("researcher 3 fdd s47 given parent police/domestic-abuse restricted recent", None),
        ("researcher 3 fdd s47 given sibling education/special-educational-needs restricted recent", None),
        // Level 2: police and health in summary, education and social care in detail.
        ("researcher 2 fdd s17 not-sought child police/domestic-abuse sensitive recent", Summary),
        ("researcher 2 fdd s17 not-sought child health/emergency-attendance sensitive recent", Summary),
        ("researcher 2 fdd s17 refused child health/maternity sensitive recent", Summary),
        ("researcher 2 fdd s17 not-sought child education/exclusion standard historic", Detail),
        ("researcher 2 fdd s17 not-sought child education/free-school-meals standard historic", Detail),
        ("researcher 2 fdd s17 not-sought parent social-care/child-in-need standard recent", Detail),
        ("researcher 2 fdd s17 given child education/special-educational-needs sensitive recent", Detail),
        ("researcher 2 fdd s47 not-sought sibling social-care/child-protection-plan sensitive recent", Detail),
        ("researcher 2 sd s17 not-sought child police/intelligence sensitive recent", Summary),
        ("researcher 2 fdd consent given child social-care/looked-after sensitive historic", Detail),
        // Level 2: with consent, the child's own health detail; not a sibling's or a parent's.
        ("researcher 2 fdd s17 given child health/emergency-attendance sensitive recent", Detail),
        ("manager 2 fdd s17 given child health/mental-health sensitive recent", Detail),
        ("researcher 2 fdd s17 given sibling health/health-visitor standard recent", Summary),
        ("researcher 2 fdd s17 given parent health/mental-health sensitive recent", Summary),
        ("manager 2 fdd s17 not-sought parent health/mental-health sensitive recent", Summary),
        // Level 2: a manager sees the child's recent police detail, nothing more.
        ("manager 2 fdd s17 not-sought child police/domestic-abuse sensitive recent", Detail),
        ("manager 2 sd s17 not-sought child police/intelligence sensitive recent", Detail),
        ("manager 2 fdd s17 not-sought child police/domestic-abuse sensitive historic", Summary),
        ("manager 2 fdd s17 not-sought sibling police/domestic-abuse sensitive recent", Summary),
        ("manager 2 fdd s17 not-sought other-adult police/arrest sensitive recent", Summary),
        // Level 2: other adults in the household, summary at most.
        ("researcher 2 fdd s17 not-sought other-adult education/attendance standard recent", Summary),
        ("researcher 2 fdd s17 not-sought other-adult social-care/referral standard recent", Summary),
        ("researcher 2 sd s47 not-sought other-adult health/emergency-attendance sensitive recent", Summary),
        ("researcher 2 fdd consent given other-adult social-care/child-in-need standard recent", Summary),
        // Level 2: purpose and consent-as-basis narrow even a manager's view.
        ("researcher 2 eha s17 given child police/missing-episode standard recent", Existence),
        ("manager 2 eha s17 given child police/missing-episode standard recent", Existence),
        ("researcher 2 fdd consent refused child social-care/looked-after sensitive historic", Existence),
        ("researcher 2 fdd consent not-sought child health/school-nurse standard recent", Existence),
        ("manager 2 fdd consent refused child police/domestic-abuse sensitive recent", Existence),
        // Level 2, restricted.
        ("researcher 2 fdd s17 given child health/sexual-health restricted recent", None),
        ("manager 2 fdd s17 given child police/covert-intelligence restricted recent", None),
        ("researcher 2 fdd s17 given child police/witness-protection restricted recent", None),
        ("researcher 2 fdd s17 given child social-care/adoption restricted historic", None),
        ("researcher 2 fdd s17 given child education/attendance restricted recent", None),
        // Level 1: police and health known to exist; education and social care in summary.
        ("researcher 1 eha consent given child police/domestic-abuse sensitive recent", Existence),
        ("researcher 1 fdd consent given child police/missing-episode standard recent", Existence),
        ("researcher 1 eha consent given child health/health-visitor standard recent", Existence),
        ("researcher 1 eha consent given child education/attendance standard recent", Summary),
        ("researcher 1 eha consent given child social-care/child-in-need standard recent", Summary),
        ("researcher 1 eha consent given parent social-care/referral standard recent", Summary),
        ("researcher 1 eha consent given other-adult social-care/referral standard recent", Summary),
        ("researcher 1 eha consent given sibling education/free-school-meals standard recent", Summary),
        ("researcher 1 eha consent given child education/child-missing-education standard recent", Summary),
        ("manager 1 fdd s17 given child education/exclusion standard recent", Summary),
        ("manager 1 sd s47 given child education/school-registration standard recent", Summary),
        ("manager 1 fdd s17 given child police/arrest sensitive recent", Existence),
        // Level 1: only the last 12 months beyond existence.
        ("researcher 1 eha consent given child education/attendance standard historic", Existence),
        ("researcher 1 eha consent given sibling education/free-school-meals standard historic", Existence),
        ("researcher 1 fdd consent given parent health/gp-registration standard historic", Existence),
        ("researcher 1 eha consent given other-adult police/arrest sensitive historic", Existence),
        // Level 1: nothing sensitive beyond existence.
        ("researcher 1 eha consent given child education/special-educational-needs sensitive recent", Existence),
        ("manager 1 fdd s17 given child social-care/looked-after sensitive recent", Existence),
        ("researcher 1 sd s47 given child social-care/child-protection-plan sensitive recent", Existence),
        // Level 1: without the family's agreement, existence only.
        ("researcher 1 eha consent refused child education/attendance standard recent", Existence),
        ("researcher 1 eha consent not-sought child social-care/child-in-need standard recent", Existence),
        ("researcher 1 fdd s17 refused child education/exclusion standard recent", Existence),
        // Level 1, restricted.
        ("researcher 1 eha consent given child health/sexual-health restricted recent", None),
        ("researcher 1 eha consent given child police/covert-intelligence restricted recent", None),
        ("researcher 1 eha consent given child police/witness-protection restricted recent", None),
        ("researcher 1 eha consent given child social-care/adoption restricted recent", None),
        ("manager 3 sd s47 not-sought parent police/refuge-address restricted recent", None),
        ("researcher 3 fdd s47 not-sought child police/intelligence restricted recent", None),
        ("researcher 1 eha consent given child social-care/referral restricted recent", None),
    ]
};

#[tokio::test]
async fn disclosure_tiers() {
    let policy = load().await;
    assert!(CASES.len() >= 80, "the issue asks for at least 80 cases");
    let mut wrong = Vec::new();
    for (words, expected) in CASES {
        let decision = policy.disclosure.decide(&context(words));
        if decision.tier != *expected {
            wrong.push(format!("{words}: expected {expected}, got {} ({})", decision.tier, decision.reason));
        }
        let explained_by = if *expected == Tier::None { "deny" } else { "allow" };
        assert!(decision.reason.contains(explained_by), "{words}: {}", decision.reason);
    }
    assert!(wrong.is_empty(), "{} of {} cases wrong:\n{}", wrong.len(), CASES.len(), wrong.join("\n"));
}

#[tokio::test]
async fn the_table_spans_every_dimension() {
    let contexts: Vec<Context> = CASES.iter().map(|(words, _)| context(words)).collect();
    let covers = |name: &str, n: usize, f: &dyn Fn(&Context) -> String| {
        let seen: std::collections::HashSet<String> = contexts.iter().map(f).collect();
        assert_eq!(seen.len(), n, "{name}: {seen:?}");
    };
    covers("role", 2, &|c| c.role.as_str().into());
    covers("level", 3, &|c| c.level.as_str().into());
    covers("purpose", 3, &|c| c.purpose.as_str().into());
    covers("basis", 3, &|c| c.basis.as_str().into());
    covers("consent", 3, &|c| c.consent.as_str().into());
    covers("relation", 4, &|c| c.relation.as_str().into());
    covers("agency", 4, &|c| c.category.agency().as_str().into());
    covers("sensitivity", 3, &|c| c.sensitivity.as_str().into());
    covers("age", 2, &|c| c.age.as_str().into());
}

/// One test per restricted category: no context discloses it, not even its existence.
macro_rules! never_auto_disclosed {
    ($($test:ident => $category:literal),+ $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            let policy = load().await;
            let category = Category::parse("category", $category).expect("known");
            assert_eq!(category.sensitivity(), Sensitivity::Restricted);
            let contexts = contexts_for(category);
            assert!(contexts.len() > 1000, "every role, level, purpose, basis, consent, relation and age");
            for context in contexts {
                let decision = policy.disclosure.decide(&context);
                assert_eq!(decision.tier, Tier::None, "{context}: {}", decision.reason);
                assert!(decision.reason.contains("deny"), "{}", decision.reason);
            }
        }
    )+};
}

never_auto_disclosed! {
    sexual_health_is_never_auto_disclosed => "health/sexual-health",
    covert_intelligence_is_never_auto_disclosed => "police/covert-intelligence",
    witness_protection_is_never_auto_disclosed => "police/witness-protection",
    a_refuge_address_is_never_auto_disclosed => "police/refuge-address",
    adoption_is_never_auto_disclosed => "social-care/adoption",
}

#[tokio::test]
async fn access_rules() {
    let policy = load().await;
    let rita = id("spiffe://mash.local/user/rita-researcher");
    let maya = id("spiffe://mash.local/user/maya-manager");
    let ian = id("spiffe://mash.local/user/ian-ig");
    let broker = id("spiffe://mash.local/service/broker");
    let police = id("spiffe://mash.local/agency/police");
    let stranger = id("spiffe://mash.local/user/stranger");
    let assigned = Scope::Enquiry { assigned_to_caller: true };
    let unassigned = Scope::Enquiry { assigned_to_caller: false };
    let cases = [
        (&rita, Action::EnquiryOpen, assigned, true),
        (&rita, Action::EnquiryOpen, unassigned, false),
        (&rita, Action::EnquiryCheck, assigned, true),
        (&rita, Action::EnquiryCheck, unassigned, false),
        (&rita, Action::EnquiryRead, unassigned, false),
        (&rita, Action::FeedSearch, Scope::Any, false),
        (&rita, Action::LogSearch, Scope::Any, false),
        (&maya, Action::EnquiryCheck, unassigned, true),
        (&ian, Action::LogSearch, Scope::Any, true),
        (&ian, Action::EnquiryCheck, assigned, false),
        (&broker, Action::FeedSearch, Scope::Any, true),
        (&broker, Action::FeedPush, Scope::Feed(Agency::POLICE), false),
        (&police, Action::FeedPush, Scope::Feed(Agency::POLICE), true),
        (&police, Action::FeedPush, Scope::Feed(Agency::HEALTH), false),
        (&police, Action::FeedSearch, Scope::Any, false),
        (&police, Action::LogSearch, Scope::Feed(Agency::POLICE), true),
        (&police, Action::LogSearch, Scope::Feed(Agency::HEALTH), false),
        (&police, Action::LogSearch, Scope::Any, false),
        (&stranger, Action::EnquiryOpen, assigned, false),
        (&rita, Action::EnquiryShare, assigned, true),
        (&rita, Action::EnquiryShare, unassigned, false),
        (&maya, Action::EnquiryShare, unassigned, true),
        (&ian, Action::EnquiryShare, unassigned, false),
        (&police, Action::EnquiryShare, unassigned, false),
        (&police, Action::QueueRead, Scope::Feed(Agency::POLICE), true),
        (&police, Action::QueueRead, Scope::Feed(Agency::HEALTH), false),
        (&rita, Action::QueueRead, Scope::Feed(Agency::POLICE), false),
        (&ian, Action::QueueRead, Scope::Feed(Agency::POLICE), false),
        (&police, Action::ContactCreate, Scope::Any, true),
        (&police, Action::ContactTriage, Scope::Any, false),
        (&police, Action::ContactRead, Scope::Any, false),
    ];
    for (who, action, scope, expected) in cases {
        assert_eq!(policy.access.allows(who, action, scope), expected, "{who} {action:?} {scope:?}");
    }
    assert_eq!(policy.access.mash_role(&maya), Some(Role::Manager));
    assert_eq!(policy.access.mash_role(&ian), None);
}

#[tokio::test]
async fn a_missing_or_broken_policy_file_does_not_load() {
    let dir = std::env::temp_dir().join(format!("mash-policy-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    copy_shipped(&dir);
    std::fs::write(dir.join("disclosure_model.conf"), "[request_definition]\nr = sub\n").expect("write");
    assert!(Policy::load(&PolicyFiles::in_dir(&dir)).await.is_err());
    assert!(Policy::load(&PolicyFiles::in_dir(&dir.join("absent"))).await.is_err());
    std::fs::remove_dir_all(&dir).ok();
}

fn copy_shipped(dir: &std::path::Path) {
    let shipped = shipped();
    for (from, name) in [
        (&shipped.agencies, "agencies.csv"),
        (&shipped.access_model, "access_model.conf"),
        (&shipped.access_policy, "access_policy.csv"),
        (&shipped.disclosure_model, "disclosure_model.conf"),
        (&shipped.disclosure_policy, "disclosure_policy.csv"),
        (&shipped.notifications, "notifications.csv"),
    ] {
        std::fs::copy(from, dir.join(name)).expect("copy");
    }
}

#[tokio::test]
async fn a_reload_swaps_a_valid_policy_and_keeps_the_old_one_when_the_new_is_broken() {
    const LEVEL_1_POLICE: &str = "p, *, 1, *, *, *, *, police/*,      *, *, existence, allow";
    const SEXUAL_HEALTH_DENY: &str = "p, *, *, *, *, *, *, health/sexual-health,        *, *, existence, deny";
    const RESTRICTED_DENY: &str = "p, *, *, *, *, *, *, *, restricted, *, existence, deny";
    let dir = std::env::temp_dir().join(format!("mash-policy-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    copy_shipped(&dir);
    let live = mash_policy::LivePolicy::load(&dir).await.expect("loads");
    let first = live.current().version().to_owned();
    let missing = context("researcher 1 fdd s17 given child police/missing-episode standard recent");
    let tier = |live: &mash_policy::LivePolicy| live.current().disclosure.decide(&missing).tier;
    assert_eq!(live.reload().await.expect("unchanged"), None);
    assert_eq!(tier(&live), Tier::Existence);

    let policy_file = dir.join("disclosure_policy.csv");
    let good = std::fs::read_to_string(&policy_file).expect("read");
    assert!(
        [LEVEL_1_POLICE, SEXUAL_HEALTH_DENY, RESTRICTED_DENY].iter().all(|line| good.contains(line)),
        "the test edits these lines"
    );

    // A syntactically broken file is rejected and the old policy stays.
    std::fs::write(&policy_file, good.replace(LEVEL_1_POLICE, "p, *, 1, police/*")).expect("write");
    assert!(live.reload().await.is_err());
    assert_eq!(live.current().version(), first);
    assert_eq!(tier(&live), Tier::Existence);

    // A policy that would auto-disclose a restricted category fails validation.
    std::fs::write(
        &policy_file,
        format!("{good}\np, *, 3, *, *, *, *, health/sexual-health, *, *, detail, allow\n")
            .replace(SEXUAL_HEALTH_DENY, "")
            .replace(RESTRICTED_DENY, ""),
    )
    .expect("write");
    let rejected = live.reload().await.expect_err("restricted categories stay restricted");
    assert!(rejected.to_string().contains("health/sexual-health"), "{rejected}");
    assert_eq!(live.current().version(), first);

    // So does one that would refuse an item about a child at level 3 outright,
    // since the researcher would read that as "not known".
    const LEVEL_3_HEALTH: &str = "p, *, 3, *, *, *, *, health/*,      *, *, detail, allow";
    assert!(good.contains(LEVEL_3_HEALTH), "the test edits this line");
    std::fs::write(&policy_file, good.replace(LEVEL_3_HEALTH, "")).expect("write");
    let rejected = live.reload().await.expect_err("a refusal must not look like not known");
    assert!(rejected.to_string().contains("not known"), "{rejected}");
    assert_eq!(live.current().version(), first);

    // Agencies change only on restart: a new one in the registry is refused
    // even with every other file deciding its category.
    let agencies_file = dir.join("agencies.csv");
    let agencies = std::fs::read_to_string(&agencies_file).expect("read");
    std::fs::write(&agencies_file, format!("{agencies}probation/supervision, involvement, sensitive\n"))
        .expect("write");
    let rejected = live.reload().await.expect_err("agencies change only on restart");
    assert!(rejected.to_string().contains("restart"), "{rejected}");
    assert_eq!(live.current().version(), first);
    std::fs::write(&agencies_file, agencies).expect("write");

    // A valid change is taken up without a restart, with a new version.
    std::fs::write(&policy_file, good.replace(LEVEL_1_POLICE, "p, *, 1, *, *, *, *, police/*, *, *, summary, allow"))
        .expect("write");
    let version = live.reload().await.expect("valid").expect("changed");
    assert_ne!(version, first);
    assert_eq!(tier(&live), Tier::Summary);
    std::fs::remove_dir_all(&dir).ok();
}

/// A copy of the shipped policy in a fresh directory, with `edit` applied to
/// the file called `name`.
fn shipped_with(name: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    copy_shipped(dir.path());
    let path = dir.path().join(name);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, edit(text)).expect("write");
    dir
}

#[tokio::test]
async fn an_agency_named_like_a_scope_is_refused_at_load() {
    for reserved in ["any", "assigned", "unassigned", "mash"] {
        let dir = shipped_with("agencies.csv", |text| format!("{text}{reserved}/log-entry, record, standard\n"));
        let error = Policy::load(&PolicyFiles::in_dir(dir.path())).await.expect_err("an agency named like a scope");
        assert!(error.to_string().contains("reserved"), "{reserved}: {error}");
    }
}

#[tokio::test]
async fn an_agency_scope_written_without_its_namespace_is_refused_at_load() {
    let dir = shipped_with("access_policy.csv", |text| {
        text.replace("p, police-system, log.search, agency:police", "p, police-system, log.search, police")
    });
    let error = Policy::load(&PolicyFiles::in_dir(dir.path())).await.expect_err("a bare agency scope");
    assert!(error.to_string().contains("\"police\""), "{error}");
}

#[tokio::test]
async fn an_agency_scope_never_matches_the_scope_any() {
    let policy = load().await;
    let police = id("spiffe://mash.local/agency/police");
    assert!(policy.access.allows(&police, Action::LogSearch, Scope::Feed(Agency::POLICE)));
    assert!(!policy.access.allows(&police, Action::LogSearch, Scope::Any));
}

/// The version must name the rules in force: both come from one reading of
/// each file. A file that can be read only once (a FIFO, written once)
/// proves it: a second reading would wait for ever.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_version_is_hashed_from_the_same_reading_as_the_rules() {
    let dir = shipped_with("access_policy.csv", |text| text);
    let file = dir.path().join("access_policy.csv");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::remove_file(&file).expect("remove");
    let made = std::process::Command::new("mkfifo").arg(&file).status().expect("mkfifo");
    assert!(made.success());
    let writer = std::thread::spawn({
        let file = file.clone();
        move || std::fs::write(&file, text).expect("write the FIFO once")
    });
    let files = PolicyFiles::in_dir(dir.path());
    let loaded = tokio::time::timeout(std::time::Duration::from_secs(20), Policy::load(&files)).await;
    let policy = loaded.expect("read each file once, not twice").expect("loads");
    writer.join().expect("writer");
    assert_eq!(policy.version(), load().await.version(), "the same bytes as the shipped files");
}
