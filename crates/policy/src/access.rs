//! Who may call what: casbin RBAC over identities from certificates.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Mutex, RwLock},
};

use casbin::{CoreApi, RbacApi};
use mash_domain::{Agency, Identity};

use crate::PolicyError;

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
#[derive(Clone, Copy, Debug)]
pub enum Scope {
    /// Not narrowed.
    Any,
    /// An enquiry action; whether the caller is the enquiry's assigned researcher.
    Enquiry { assigned_to_caller: bool },
    /// A feed action on this agency's feed.
    Feed(Agency),
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Any => "any",
            Scope::Enquiry { assigned_to_caller: true } => "assigned",
            Scope::Enquiry { assigned_to_caller: false } => "unassigned",
            Scope::Feed(agency) => agency.as_str(),
        }
    }
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

/// The live access enforcer. casbin's enforcer is not `Sync`; the lock is
/// held only for one synchronous enforce, never across an await.
pub struct AccessPolicy {
    enforcer: Mutex<casbin::Enforcer>,
    /// Decisions already made. A loaded policy never changes (a reload builds
    /// a new one), so they never go stale; identities come only from
    /// verified certificates, so the map stays small.
    decided: RwLock<HashMap<(String, &'static str, &'static str), bool>>,
}

impl std::fmt::Debug for AccessPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessPolicy")
    }
}

impl AccessPolicy {
    pub(crate) async fn load(model: &Path, policy: &Path) -> Result<Self, PolicyError> {
        Ok(Self { enforcer: Mutex::new(crate::enforcer(model, policy).await?), decided: RwLock::default() })
    }

    /// Whether `who` may perform `action` in `scope`. Errors count as refusals.
    pub fn allows(&self, who: &Identity, action: Action, scope: Scope) -> bool {
        let key = (who.as_str().to_owned(), action.as_str(), scope.as_str());
        if let Some(allowed) = self.decided.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key) {
            return *allowed;
        }
        let enforcer = self.enforcer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let allowed = match enforcer.enforce((who.as_str(), action.as_str(), scope.as_str())) {
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
