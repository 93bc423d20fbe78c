//! The gatekeeper's and the manager's decisions on held items, at the gRPC
//! edge. Each decision is appended to the disclosure log before it takes
//! effect, so a released item is never readable before its release is
//! durable.

use std::sync::Arc;

use mash_disclosure_log::{DisclosureLog, EntryBuilder, NewEntry, Outcome, Recipient};
use mash_domain::{DomainError, EnquiryId, Level, Tier};
use mash_policy::{Action, access::Scope};
use mash_proto::v1 as pb;
use prost::Message;

use tonic::{Request, Response, Status};

use crate::{
    BrokerError,
    authz::{Authz, Call},
    check::{digest, shown_content},
    enquiry::Enquiry,
    error::{Conflict, Missing},
    hold::{Hold, HoldDecision, HoldState, HoldStore},
    wire,
};

pub(crate) struct HoldApi {
    pub(crate) authz: Authz,
    pub(crate) holds: Arc<HoldStore>,
    /// A decision is logged before the hold's state changes.
    pub(crate) log: DisclosureLog,
}

const MAX_REASON_CHARS: usize = 1000;

/// A decision's reason: required, bounded, trimmed.
pub(crate) fn reason(raw: &str) -> Result<&str, DomainError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DomainError::invalid("reason", "is required: say why, for the record"));
    }
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(DomainError::invalid("reason", format!("is longer than {MAX_REASON_CHARS} characters")));
    }
    Ok(text)
}

/// Who sees how much of a hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Viewer {
    /// The owning agency's gatekeeper: everything (it is their record).
    Gatekeeper,
    /// The enquiry: that something is held, and the item once released.
    Enquiry,
}

impl HoldApi {
    async fn hold(&self, raw_id: &str) -> Result<Hold, BrokerError> {
        let id = raw_id.trim();
        if id.is_empty() {
            return Err(DomainError::invalid("hold_id", "is required").into());
        }
        self.holds
            .get(id)
            .await?
            .ok_or_else(|| BrokerError::NotFound(Missing::Hold, format!("no hold {}", mash_domain::echo(id))))
    }

    async fn list_holds(
        &self,
        call: &Call<'_>,
        request: pb::ListHoldsRequest,
    ) -> Result<pb::ListHoldsResponse, BrokerError> {
        let state = wire::hold_state("state", request.state)?;
        let wanted = |hold: &Hold| state.is_none_or(|s| s == hold.state);
        let holds = if let Some(agency) = call.own_agency(Action::HoldReview) {
            let enquiry = match request.enquiry_id.trim() {
                "" => None,
                raw => Some(EnquiryId::parse("enquiry_id", raw)?),
            };
            let mut out = Vec::new();
            for hold in self.holds.for_agency(agency).await? {
                if wanted(&hold) && enquiry.is_none_or(|id| id == hold.enquiry_id) {
                    let enquiry = self.authz.load_enquiry(&hold.enquiry_id.to_string()).await?;
                    out.push(hold_to_wire(&hold, Some(&enquiry), Viewer::Gatekeeper));
                }
            }
            out
        } else {
            let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
            call.require_on(Action::EnquiryRead, &enquiry).await?;
            let holds = self.holds.for_enquiry(enquiry.enquiry_id).await?;
            holds.iter().filter(|h| wanted(h)).map(|h| hold_to_wire(h, None, Viewer::Enquiry)).collect()
        };
        Ok(pb::ListHoldsResponse { holds })
    }

    async fn decide_hold(&self, call: &Call<'_>, request: pb::DecideHoldRequest) -> Result<pb::Hold, BrokerError> {
        let decision = match pb::HoldDecision::try_from(request.decision) {
            Ok(pb::HoldDecision::Release) => HoldState::Released,
            Ok(pb::HoldDecision::Withhold) => HoldState::Withheld,
            _ => return Err(DomainError::invalid("decision", "must be release or withhold").into()),
        };
        let reason = reason(&request.reason)?;
        let hold = self.hold(&request.hold_id).await?;
        let enquiry = self.authz.load_enquiry(&hold.enquiry_id.to_string()).await?;
        call.require(Action::HoldReview, Scope::Feed(hold.agency), Some(enquiry.as_ref())).await?;
        let decision = HoldDecision { state: decision, by: &call.caller, reason, break_glass: false };
        let hold = self.apply(hold, &enquiry, call, decision).await?;
        Ok(hold_to_wire(&hold, Some(&enquiry), Viewer::Gatekeeper))
    }

    async fn break_glass(&self, call: &Call<'_>, request: pb::BreakGlassRequest) -> Result<pb::Hold, BrokerError> {
        let reason = reason(&request.reason)?;
        let hold = self.hold(&request.hold_id).await?;
        let enquiry = self.authz.load_enquiry(&hold.enquiry_id.to_string()).await?;
        call.require_on(Action::HoldBreakGlass, &enquiry).await?;
        if enquiry.level != Level::ChildProtection {
            return Err(BrokerError::FailedPrecondition(
                Conflict::BreakGlassNotAllowed,
                format!(
                    "break-glass is only for level 3 (child protection) enquiries; this one is level {}",
                    enquiry.level
                ),
            ));
        }
        let decision = HoldDecision { state: HoldState::Released, by: &call.caller, reason, break_glass: true };
        let hold = self.apply(hold, &enquiry, call, decision).await?;
        tracing::warn!(agency = %hold.agency, enquiry_id = %enquiry.enquiry_id, "break-glass release; agency alerted");
        Ok(hold_to_wire(&hold, None, Viewer::Enquiry))
    }

    async fn list_alerts(&self, call: &Call<'_>) -> Result<pb::ListAlertsResponse, BrokerError> {
        let Some(agency) = call.own_agency(Action::AlertRead) else {
            return Err(call.refuse(Action::AlertRead, None).await);
        };
        Ok(pb::ListAlertsResponse { alerts: self.holds.alerts(agency).await? })
    }

    /// Logs the decision, then records it: a release is durable in the log
    /// before the item can be read.
    async fn apply(
        &self,
        hold: Hold,
        enquiry: &Enquiry,
        call: &Call<'_>,
        decision: HoldDecision<'_>,
    ) -> Result<Hold, BrokerError> {
        if hold.state != HoldState::Held {
            return Err(already_decided(&hold));
        }
        let logged = decision_entry(&hold, enquiry, call, &decision)?;
        self.log.append(vec![logged.clone()]).await?;
        if !self.holds.decide(&hold, &decision).await? {
            // Another decision won the race after this one was logged: the log
            // says so too, so that it never shows a release that did not happen.
            let now = self.hold(&hold.hold_id).await?;
            let reason = format!(
                "the decision just logged for hold {} was not applied: it was already {} by {}",
                hold.hold_id,
                now.state.as_str(),
                now.decided_by
            );
            let not_applied = hold_entry(&hold, enquiry, call)?.build(Outcome::Refused, Tier::None, reason);
            self.log.append(vec![not_applied.into()]).await?;
            return Err(already_decided(&now));
        }
        self.hold(&hold.hold_id).await
    }
}

/// A log entry about a hold's item, by the call's caller.
fn hold_entry(hold: &Hold, enquiry: &Enquiry, call: &Call<'_>) -> Result<EntryBuilder, BrokerError> {
    let entry = call.subject_entry(enquiry, &hold.subject_id, hold.agency);
    Ok(entry.record(&hold.record_ref, &hold.category)?)
}

fn decision_entry(
    hold: &Hold,
    enquiry: &Enquiry,
    call: &Call<'_>,
    decision: &HoldDecision<'_>,
) -> Result<NewEntry, BrokerError> {
    let who = if decision.break_glass { "break-glass by a manager" } else { "the agency gatekeeper" };
    // The reason's text is kept with the hold; the log holds its digest,
    // so the chain stays free of narrative and still proves the text.
    let reason_digest = digest(decision.reason.as_bytes());
    let entry = hold_entry(hold, enquiry, call)?;
    if decision.state == HoldState::Released {
        let shown = released_item(&hold.item);
        let reason = format!("hold {} released by {who}; reason sha256:{reason_digest}", hold.hold_id);
        let fields = entry.shown_to(Recipient::Researcher, digest(&shown.encode_to_vec())).build(
            Outcome::Disclosed,
            Tier::Detail,
            reason,
        );
        return Ok(NewEntry::from(fields).showing(shown_content(pb::disclosed_content::Shown::Item(shown))));
    }
    let reason = format!("hold {} withheld by {who}; reason sha256:{reason_digest}", hold.hold_id);
    Ok(entry.build(Outcome::Refused, Tier::None, reason).into())
}

fn already_decided(hold: &Hold) -> BrokerError {
    BrokerError::FailedPrecondition(
        Conflict::HoldAlreadyDecided,
        format!(
            "hold {} was already {} by {} at {}",
            hold.hold_id,
            hold.state.as_str(),
            hold.decided_by,
            hold.decided_at
        ),
    )
}

/// A released item in full: the gatekeeper's decision covers its
/// restricted fields too (a refuge address is the point of some releases).
fn released_item(item: &pb::Item) -> pb::DisclosedItem {
    pb::DisclosedItem {
        tier: wire::tier_to_wire(Tier::Detail).into(),
        kind: item.kind,
        category: item.category.clone(),
        date: item.date.clone(),
        fields: item.fields.clone(),
        r#match: item.r#match.clone(),
    }
}

fn hold_to_wire(hold: &Hold, enquiry: Option<&Enquiry>, viewer: Viewer) -> pb::Hold {
    let released = hold.state == HoldState::Released;
    let sees_item = viewer == Viewer::Gatekeeper || released;
    let relation = enquiry
        .and_then(|e| e.subjects.iter().find(|s| s.subject_id.to_string() == hold.subject_id))
        .map(|s| wire::relation_to_wire(s.relation));
    pb::Hold {
        hold_id: hold.hold_id.clone(),
        enquiry_id: hold.enquiry_id.to_string(),
        subject_id: hold.subject_id.clone(),
        agency: hold.agency.as_str().into(),
        state: wire::hold_state_to_wire(hold.state).into(),
        held_at: hold.held_at.clone(),
        decided_by: hold.decided_by.clone(),
        decided_at: hold.decided_at.clone(),
        reason: hold.reason.clone(),
        break_glass: hold.break_glass,
        record_ref: if sees_item { hold.record_ref.clone() } else { String::new() },
        category: if sees_item { hold.category.clone() } else { String::new() },
        item: released.then(|| released_item(&hold.item)),
        level: enquiry.map(|e| wire::level_to_wire(e.level).into()).unwrap_or_default(),
        purpose: enquiry.map(|e| e.purpose.as_str().to_owned()).unwrap_or_default(),
        lawful_basis: enquiry.map(|e| e.lawful_basis.as_str().to_owned()).unwrap_or_default(),
        relation: relation.map(Into::into).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl pb::hold_service_server::HoldService for HoldApi {
    async fn list_holds(
        &self,
        request: Request<pb::ListHoldsRequest>,
    ) -> Result<Response<pb::ListHoldsResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.list_holds(&call, request.into_inner()).await?))
    }

    async fn decide_hold(&self, request: Request<pb::DecideHoldRequest>) -> Result<Response<pb::Hold>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.decide_hold(&call, request.into_inner()).await?))
    }

    async fn break_glass(&self, request: Request<pb::BreakGlassRequest>) -> Result<Response<pb::Hold>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.break_glass(&call, request.into_inner()).await?))
    }

    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.list_alerts(&call).await?))
    }
}
