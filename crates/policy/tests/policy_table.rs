//! Table tests of the shipped policy files in `policy/`.

use std::path::PathBuf;

use mash_domain::{Agency, Category, Identity, Level, Tier};
use mash_policy::{Action, Policy, PolicyFiles, Role, access::Scope};

fn shipped() -> PolicyFiles {
    PolicyFiles::in_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy"))
}

async fn load() -> Policy {
    Policy::load(&shipped()).await.expect("the shipped policy loads")
}

fn id(uri: &str) -> Identity {
    Identity::parse(uri).expect("valid identity")
}

#[tokio::test]
async fn disclosure_tiers() {
    use Level::*;
    use Tier::*;
    let policy = load().await;
    let cases = [
        (Role::Researcher, ChildProtection, "police/domestic-abuse", Detail),
        (Role::Researcher, ChildInNeed, "police/domestic-abuse", Summary),
        (Role::Researcher, EarlyHelp, "police/domestic-abuse", Existence),
        (Role::Researcher, ChildProtection, "health/emergency-attendance", Detail),
        (Role::Researcher, ChildInNeed, "health/emergency-attendance", Summary),
        (Role::Researcher, EarlyHelp, "health/mental-health", Existence),
        (Role::Researcher, ChildInNeed, "education/exclusion", Detail),
        (Role::Researcher, EarlyHelp, "education/attendance", Summary),
        (Role::Researcher, ChildInNeed, "social-care/child-protection-plan", Detail),
        (Role::Researcher, EarlyHelp, "social-care/child-in-need", Summary),
        (Role::Manager, ChildProtection, "social-care/looked-after", Detail),
        (Role::Manager, EarlyHelp, "police/arrest", Existence),
    ];
    for (role, level, category, expected) in cases {
        let category = Category::parse("category", category).expect("known category");
        let decision = policy.disclosure.decide(role, level, category);
        assert_eq!(decision.tier, expected, "{role:?} {level:?} {category}: {}", decision.reason);
        assert!(decision.reason.contains("allow"), "{}", decision.reason);
    }
}

#[tokio::test]
async fn restricted_categories_are_never_disclosed_at_any_level() {
    let policy = load().await;
    for category in Category::all().filter(|c| c.sensitivity() == mash_domain::Sensitivity::Restricted) {
        for role in Role::ALL {
            for level in Level::ALL.iter().copied() {
                let decision = policy.disclosure.decide(role, level, category);
                assert_eq!(decision.tier, Tier::None, "{category} at {level:?}");
                assert!(decision.reason.contains("deny"), "{}", decision.reason);
            }
        }
    }
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
        (&broker, Action::FeedPush, Scope::Feed(Agency::Police), false),
        (&police, Action::FeedPush, Scope::Feed(Agency::Police), true),
        (&police, Action::FeedPush, Scope::Feed(Agency::Health), false),
        (&police, Action::FeedSearch, Scope::Any, false),
        (&police, Action::LogSearch, Scope::Feed(Agency::Police), true),
        (&police, Action::LogSearch, Scope::Feed(Agency::Health), false),
        (&police, Action::LogSearch, Scope::Any, false),
        (&stranger, Action::EnquiryOpen, assigned, false),
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
    let shipped = shipped();
    std::fs::copy(&shipped.access_model, dir.join("access_model.conf")).expect("copy");
    std::fs::copy(&shipped.access_policy, dir.join("access_policy.csv")).expect("copy");
    std::fs::write(dir.join("disclosure_model.conf"), "[request_definition]\nr = sub\n").expect("write");
    std::fs::copy(&shipped.disclosure_policy, dir.join("disclosure_policy.csv")).expect("copy");
    assert!(Policy::load(&PolicyFiles::in_dir(&dir)).await.is_err());
    assert!(Policy::load(&PolicyFiles::in_dir(&dir.join("absent"))).await.is_err());
    std::fs::remove_dir_all(&dir).ok();
}

fn copy_shipped(dir: &std::path::Path) {
    let shipped = shipped();
    for (from, name) in [
        (&shipped.access_model, "access_model.conf"),
        (&shipped.access_policy, "access_policy.csv"),
        (&shipped.disclosure_model, "disclosure_model.conf"),
        (&shipped.disclosure_policy, "disclosure_policy.csv"),
    ] {
        std::fs::copy(from, dir.join(name)).expect("copy");
    }
}

#[tokio::test]
async fn a_reload_swaps_a_valid_policy_and_keeps_the_old_one_when_the_new_is_broken() {
    let dir = std::env::temp_dir().join(format!("mash-policy-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    copy_shipped(&dir);
    let live = mash_policy::LivePolicy::load(&dir).await.expect("loads");
    let first = live.current().version().to_owned();
    let police = Category::parse("c", "police/domestic-abuse").expect("known");
    let tier = |live: &mash_policy::LivePolicy| {
        live.current().disclosure.decide(Role::Researcher, Level::EarlyHelp, police).tier
    };
    assert_eq!(live.reload().await.expect("unchanged"), None);
    assert_eq!(tier(&live), Tier::Existence);

    // A syntactically broken file is rejected and the old policy stays.
    let policy_file = dir.join("disclosure_policy.csv");
    let good = std::fs::read_to_string(&policy_file).expect("read");
    std::fs::write(&policy_file, good.replace("p, *, 1, police/*, existence, allow", "p, *, 1, police/*"))
        .expect("write");
    assert!(live.reload().await.is_err());
    assert_eq!(live.current().version(), first);

    // A policy that would auto-disclose a restricted category fails validation.
    std::fs::write(
        &policy_file,
        format!("{good}\np, *, 3, health/sexual-health, detail, allow\n")
            .replace("p, *, *, health/sexual-health, existence, deny", ""),
    )
    .expect("write");
    let rejected = live.reload().await.expect_err("restricted categories stay restricted");
    assert!(rejected.to_string().contains("health/sexual-health"), "{rejected}");
    assert_eq!(live.current().version(), first);

    // So does one that would refuse a category outright, since the researcher
    // would read that as "not known".
    std::fs::write(&policy_file, good.replace("p, *, 1, police/*, existence, allow", "")).expect("write");
    let rejected = live.reload().await.expect_err("a refusal must not look like not known");
    assert!(rejected.to_string().contains("not known"), "{rejected}");
    assert_eq!(live.current().version(), first);

    // A valid change is taken up without a restart.
    std::fs::write(
        &policy_file,
        good.replace("p, *, 1, police/*, existence, allow", "p, *, 1, police/*, summary, allow"),
    )
    .expect("write");
    let version = live.reload().await.expect("valid").expect("changed");
    assert_ne!(version, first);
    assert_eq!(tier(&live), Tier::Summary);
    std::fs::remove_dir_all(&dir).ok();
}
