//! Authorisation of every call to the broker, shared by its services.
//!
//! A call takes one snapshot of the policy when it starts ([`Authz::call`])
//! and decides everything with it: whether the caller may act, the role and
//! policy version its log entries record, and (for a check) what may be
//! disclosed. A policy reloaded meanwhile applies from the next call.

use std::sync::Arc;

use mash_disclosure_log::{Caller, DisclosureLog, EntryBuilder, Outcome, Role};
use mash_domain::{Agency, EnquiryId, Identity, Tier};
use mash_policy::{Action, LivePolicy, Policy, access::Scope};
use tonic::{Request, Status};

use crate::{
    BrokerError,
    enquiry::{Enquiry, EnquiryStore},
    error::Missing,
};

/// What every service needs to authorise a call and to log a refusal.
#[derive(Clone)]
pub(crate) struct Authz {
    /// The policy in force; each call takes one snapshot of it.
    pub(crate) live: Arc<LivePolicy>,
    /// Refusals are log entries, so IG sees attempts.
    pub(crate) log: DisclosureLog,
    /// Scopes are judged on enquiries, and entries name their subjects by pseudonym.
    pub(crate) enquiries: Arc<EnquiryStore>,
}

/// One call: its verified caller and the one policy snapshot it decides with.
pub(crate) struct Call<'a> {
    pub(crate) caller: Identity,
    pub(crate) policy: Arc<Policy>,
    authz: &'a Authz,
}

impl Authz {
    /// Starts a call of `request`, whose caller the transport's call layer verified.
    pub(crate) fn call<T>(&self, request: &Request<T>) -> Result<Call<'_>, Status> {
        Ok(Call { caller: mash_transport::caller(request)?, policy: self.live.current(), authz: self })
    }

    pub(crate) async fn load_enquiry(&self, raw_id: &str) -> Result<Arc<Enquiry>, BrokerError> {
        let id = EnquiryId::parse("enquiry_id", raw_id)?;
        self.enquiries.get(id).await?.ok_or_else(|| BrokerError::NotFound(Missing::Enquiry, format!("no enquiry {id}")))
    }
}

impl Call<'_> {
    pub(crate) fn allows(&self, action: Action, scope: Scope) -> bool {
        self.policy.access.allows(&self.caller, action, scope)
    }

    /// The scope of `enquiry` for this caller: assigned to them or not.
    pub(crate) fn scope_of(&self, enquiry: &Enquiry) -> Scope {
        Scope::Enquiry { assigned_to_caller: enquiry.assigned_researcher == self.caller }
    }

    /// The agency whose system or gatekeeper the caller is, if the policy
    /// allows it `action` on that agency's things.
    pub(crate) fn own_agency(&self, action: Action) -> Option<Agency> {
        let agency = Agency::parse("caller", self.caller.organisation()).ok()?;
        self.allows(action, Scope::Feed(agency)).then_some(agency)
    }

    /// Allows the call, or logs the refusal and refuses it.
    pub(crate) async fn require(
        &self,
        action: Action,
        scope: Scope,
        enquiry: Option<&Enquiry>,
    ) -> Result<(), BrokerError> {
        if self.allows(action, scope) {
            return Ok(());
        }
        Err(self.refuse(action, enquiry).await)
    }

    /// `require` on `enquiry`, in the caller's scope of it.
    pub(crate) async fn require_on(&self, action: Action, enquiry: &Enquiry) -> Result<(), BrokerError> {
        self.require(action, self.scope_of(enquiry), Some(enquiry)).await
    }

    /// A refused call is a log entry too, so IG can see attempts; the error
    /// to return is PERMISSION_DENIED. If even the refusal cannot be logged,
    /// the call is still refused.
    pub(crate) async fn refuse(&self, action: Action, enquiry: Option<&Enquiry>) -> BrokerError {
        tracing::warn!(action = action.as_str(), "refused: caller not permitted");
        let base = match enquiry {
            Some(enquiry) => self.enquiry_entry(enquiry),
            None => self.caller_entry(),
        };
        let entry = base.build(Outcome::Refused, Tier::None, format!("permission denied: {}", action.as_str()));
        if let Err(error) = self.authz.log.append(vec![entry.into()]).await {
            tracing::error!(%error, "a refusal could not be logged");
        }
        BrokerError::PermissionDenied(format!("{} may not {} ({})", self.caller, action.describe(), action.as_str()))
    }

    /// A log entry's caller and policy version, for an action on no enquiry.
    pub(crate) fn caller_entry(&self) -> EntryBuilder {
        let logged = Caller {
            identity: self.caller.to_string(),
            role: log_role(self.policy.access.roles_of(&self.caller)),
            organisation: self.caller.organisation().into(),
        };
        EntryBuilder::new(&logged, self.policy.version())
    }

    /// A log entry's caller and `enquiry`'s context, made for the enquiry's researcher.
    pub(crate) fn enquiry_entry(&self, enquiry: &Enquiry) -> EntryBuilder {
        self.caller_entry().enquiry(&enquiry.log_context())
    }

    /// A log entry about one subject of `enquiry` and what `agency` holds on
    /// it, made by the caller for the enquiry's researcher.
    pub(crate) fn subject_entry(&self, enquiry: &Enquiry, subject_id: &str, agency: Agency) -> EntryBuilder {
        let person_ref = enquiry
            .subjects
            .iter()
            .find(|s| s.subject_id.to_string() == subject_id)
            .and_then(|s| self.authz.enquiries.person_refs(&s.person).into_iter().next())
            .unwrap_or_default();
        self.enquiry_entry(enquiry).subject(subject_id, &person_ref).agency(agency.as_str())
    }
}

/// The role the log records for an identity: the one the access policy gives
/// it (the first, should it give several; none if the policy names a role the
/// log does not know).
fn log_role(roles: Vec<String>) -> Option<Role> {
    roles.first().and_then(|role| Role::parse("role", role).ok())
}
