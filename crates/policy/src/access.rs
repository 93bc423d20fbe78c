//! Who may call what: casbin RBAC over identities from certificates.

use std::{
    borrow::Cow,
    collections::HashMap,
    path::Path,
    sync::{Mutex, RwLock},
};

use casbin::{CoreApi, MgmtApi, RbacApi};
use mash_domain::{Agency, Identity};

use crate::{PolicyError, Source};

/// The actions the services authorise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    EnquiryOpen,
    EnquiryRead,
    EnquiryCheck,
    LogSearch,
    FeedPush,
    FeedDelete,
    FeedSearch,
    HoldReview,
    HoldBreakGlass,
    AlertRead,
    ContactCreate,
    ContactTriage,
    ContactRead,
    EnquiryTransition,
    EnquiryDecide,
    EnquiryClose,
    ReportRead,
    EnquiryShare,
    QueueRead,
}

impl Action {
    /// What the action does, for messages to a refused caller.
    pub fn describe(self) -> &'static str {
        match self {
            Action::EnquiryOpen => "open an enquiry for this researcher",
            Action::EnquiryRead => "read this enquiry",
            Action::EnquiryCheck => "request checks on this enquiry",
            Action::LogSearch => "read the disclosure log",
            Action::FeedPush => "push records into this feed",
            Action::FeedDelete => "delete records from this feed",
            Action::FeedSearch => "search this feed",
            Action::HoldReview => "release or withhold this agency's held items",
            Action::HoldBreakGlass => "break the glass on a held item of this enquiry",
            Action::AlertRead => "read this agency's alerts",
            Action::ContactCreate => "record a contact",
            Action::ContactTriage => "triage a contact",
            Action::ContactRead => "read contacts",
            Action::EnquiryTransition => "move this enquiry on in its workflow",
            Action::EnquiryDecide => "record the decision on this enquiry",
            Action::EnquiryClose => "close this enquiry",
            Action::ReportRead => "read the front door's performance report",
            Action::EnquiryShare => "send an information product from this enquiry to an agency",
            Action::QueueRead => "read this agency's queue",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::EnquiryOpen => "enquiry.open",
            Action::EnquiryRead => "enquiry.read",
            Action::EnquiryCheck => "enquiry.check",
            Action::LogSearch => "log.search",
            Action::FeedPush => "feed.push",
            Action::FeedDelete => "feed.delete",
            Action::FeedSearch => "feed.search",
            Action::HoldReview => "hold.review",
            Action::HoldBreakGlass => "hold.break-glass",
            Action::AlertRead => "alert.read",
            Action::ContactCreate => "contact.create",
            Action::ContactTriage => "contact.triage",
            Action::ContactRead => "contact.read",
            Action::EnquiryTransition => "enquiry.transition",
            Action::EnquiryDecide => "enquiry.decide",
            Action::EnquiryClose => "enquiry.close",
            Action::ReportRead => "report.read",
            Action::EnquiryShare => "enquiry.share",
            Action::QueueRead => "queue.read",
        }
    }
}

/// The scope an action is asked in.
///
/// Scopes and agencies live in separate namespaces in the policy: an agency
/// scope is written `agency:police`, the others are reserved words (`any`,
/// `assigned`, `unassigned`) that no agency may be named (the registry
/// refuses them). So no agency's name can ever match another kind of scope:
/// an agency named `any` would otherwise hold IG's access to the log.
#[derive(Clone, Copy, Debug)]
pub enum Scope {
    /// Not narrowed.
    Any,
    /// An enquiry action; whether the caller is the enquiry's assigned researcher.
    Enquiry { assigned_to_caller: bool },
    /// A feed action on this agency's feed.
    Feed(Agency),
}

/// The prefix of every agency scope in the access policy.
const AGENCY_SCOPE: &str = "agency:";

/// The scopes that are not agencies, and the wildcard of the model.
const NAMED_SCOPES: [&str; 4] = ["*", "any", "assigned", "unassigned"];

impl Scope {
    fn as_policy_str(self) -> Cow<'static, str> {
        match self {
            Scope::Any => Cow::Borrowed("any"),
            Scope::Enquiry { assigned_to_caller: true } => Cow::Borrowed("assigned"),
            Scope::Enquiry { assigned_to_caller: false } => Cow::Borrowed("unassigned"),
            Scope::Feed(agency) => Cow::Owned(format!("{AGENCY_SCOPE}{agency}")),
        }
    }
}

/// Refuses a policy line whose scope is neither a named scope nor
/// `agency:` and an agency of the registry: such a line would never match
/// (an agency scope written bare, as before the namespaces were separated),
/// and silently refusing what its author meant to allow hides the mistake.
fn check_scopes(enforcer: &casbin::Enforcer, policy: &Path) -> Result<(), PolicyError> {
    for rule in enforcer.get_policy() {
        let Some(scope) = rule.get(2) else { continue };
        let agency = scope.strip_prefix(AGENCY_SCOPE).map(|name| Agency::parse("scope", name));
        if NAMED_SCOPES.contains(&scope.as_str()) || matches!(agency, Some(Ok(_))) {
            continue;
        }
        return Err(PolicyError::Casbin {
            path: policy.display().to_string(),
            message: format!(
                "scope {scope:?} of rule {rule:?} is neither one of {NAMED_SCOPES:?} nor agency:NAME for an agency of agencies.csv"
            ),
        });
    }
    Ok(())
}

/// The MASH roles whose disclosure the disclosure policy decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Researcher,
    Manager,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Researcher, Role::Manager];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Researcher => "researcher",
            Role::Manager => "manager",
        }
    }
}

/// Who asks to do what, in which scope (as the policy writes it).
type Question = (String, &'static str, Cow<'static, str>);

/// The live access enforcer. casbin's enforcer is not `Sync`; the lock is
/// held only for one synchronous enforce, never across an await.
pub struct AccessPolicy {
    enforcer: Mutex<casbin::Enforcer>,
    /// Decisions already made. A loaded policy never changes (a reload builds
    /// a new one), so they never go stale; identities come only from
    /// verified certificates, so the map stays small.
    decided: RwLock<HashMap<Question, bool>>,
}

impl std::fmt::Debug for AccessPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessPolicy")
    }
}

impl AccessPolicy {
    pub(crate) async fn load(model: Source<'_>, policy: Source<'_>) -> Result<Self, PolicyError> {
        let enforcer = crate::enforcer(model, policy).await?;
        check_scopes(&enforcer, policy.path)?;
        Ok(Self { enforcer: Mutex::new(enforcer), decided: RwLock::default() })
    }

    /// Whether `who` may perform `action` in `scope`. Errors count as refusals.
    pub fn allows(&self, who: &Identity, action: Action, scope: Scope) -> bool {
        let key = (who.as_str().to_owned(), action.as_str(), scope.as_policy_str());
        if let Some(allowed) = self.decided.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key) {
            return *allowed;
        }
        let enforcer = self.enforcer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let allowed = match enforcer.enforce((who.as_str(), action.as_str(), key.2.as_ref())) {
            Ok(allowed) => allowed,
            Err(error) => {
                // Not remembered: an evaluation error is refused every time it happens.
                tracing::error!(%error, action = action.as_str(), "access policy failed to evaluate; refusing");
                return false;
            }
        };
        self.decided.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key, allowed);
        allowed
    }

    /// The MASH role `who` acts in for disclosure: manager over researcher.
    pub fn mash_role(&self, who: &Identity) -> Option<Role> {
        let enforcer = self.enforcer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let roles = enforcer.get_roles_for_user(who.as_str(), None);
        [Role::Manager, Role::Researcher].into_iter().find(|role| roles.iter().any(|r| r == role.as_str()))
    }

    /// A name for the caller's roles, for the log: e.g. `researcher`.
    pub fn roles_of(&self, who: &Identity) -> Vec<String> {
        let enforcer = self.enforcer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        enforcer.get_roles_for_user(who.as_str(), None)
    }
}
