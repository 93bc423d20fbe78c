//! `mash.v1.FrontDoorService`: the front door's handlers. Each authorises
//! through the access policy (a refusal is logged by `Call::refuse`), parses
//! at the edge, asks the library what is allowed, and stores it. Tracing carries contact and
//! enquiry ids and codes only.

use std::sync::Arc;

use mash_domain::{Agency, DomainError, EnquiryId, Identity};
use mash_frontdoor::{ContactId, EnquiryState, Period, Report};
use mash_policy::{Action, access::Scope};
use mash_proto::v1 as pb;
use time::{OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description};

use tonic::{Request, Response, Status};

use crate::{
    BrokerError,
    authz::{Authz, Call},
    enquiry::{Enquiry, EnquiryInput, EnquiryStore},
    error::{Conflict, Missing},
    frontdoor::{
        FrontDoorStore, Workflow, advance,
        contact::{Contact, ContactInput, NewContact, Triage, reason},
        refused, wire,
    },
    timestamp,
};

pub(crate) struct FrontDoorApi {
    pub(crate) authz: Authz,
    pub(crate) frontdoor: Arc<FrontDoorStore>,
    /// A contact's child is remembered by pseudonym, to find re-referrals.
    pub(crate) enquiries: Arc<EnquiryStore>,
}

/// An agency system recording its own contact is the referrer's agency (its
/// certificate says so); staff recording a professional's contact may name one.
fn referrer_agency(caller: &Identity, raw: &str) -> Result<Option<Agency>, DomainError> {
    if let Ok(own) = Agency::parse("caller", caller.organisation()) {
        return Ok(Some(own));
    }
    match raw.trim() {
        "" => Ok(None),
        raw => Agency::parse("referrer_agency", raw).map(Some),
    }
}

fn contact_id(raw: u64) -> Result<ContactId, DomainError> {
    if raw == 0 { Err(DomainError::invalid("contact_id", "is required")) } else { Ok(ContactId::new(raw)) }
}

impl FrontDoorApi {
    async fn create_contact(
        &self,
        call: &Call<'_>,
        request: pb::CreateContactRequest,
    ) -> Result<pb::Contact, BrokerError> {
        call.require(Action::ContactCreate, Scope::Any, None).await?;
        let concerns = request
            .concerns
            .iter()
            .enumerate()
            .map(|(i, &raw)| wire::concern(&format!("concerns[{i}]"), raw))
            .collect::<Result<Vec<_>, _>>()?;
        let subjects = request
            .subjects
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Ok((
                    crate::wire::relation(&format!("subjects[{i}].relation"), s.relation)?,
                    s.person.as_ref().map(crate::wire::person_input),
                ))
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        let input = ContactInput {
            referrer_kind: wire::referrer_kind("referrer_kind", request.referrer_kind)?,
            referrer: &request.referrer,
            concerns,
            subjects,
            received_at: &request.received_at,
            referrer_agency: referrer_agency(&call.caller, &request.referrer_agency)?,
        };
        let contact = NewContact::parse(input, OffsetDateTime::now_utc())?;
        let child = contact.child().ok_or_else(|| DomainError::invalid("subjects", "name the child"))?;
        let child_refs = self.enquiries.person_refs(child);
        let id = self.frontdoor.insert(&contact, &call.caller, &child_refs).await?;
        let stored = self.contact(id).await?;
        tracing::info!(contact_id = %id, re_referral = stored.re_referral_of.is_some(), "contact recorded");
        Ok(contact_to_wire(&stored))
    }

    async fn triage_contact(
        &self,
        call: &Call<'_>,
        request: pb::TriageContactRequest,
    ) -> Result<pb::Contact, BrokerError> {
        call.require(Action::ContactTriage, Scope::Any, None).await?;
        let id = contact_id(request.contact_id)?;
        let level = crate::wire::level("level", request.level)?
            .ok_or_else(|| DomainError::invalid("level", "is required: 1, 2 or 3"))?;
        let reason = reason(&request.reason)?;
        let contact = self.contact(id).await?;
        let triage = Triage {
            level,
            reason: reason.to_owned(),
            by: call.caller.to_string(),
            at: OffsetDateTime::now_utc(),
            deadline: self.frontdoor.calendar().deadline(level, contact.received_at),
        };
        if contact.triage.is_some() || !self.frontdoor.triage(id, &triage).await? {
            return Err(BrokerError::FailedPrecondition(
                Conflict::ContactAlreadyTriaged,
                format!("contact {id} is already triaged"),
            ));
        }
        tracing::info!(contact_id = %id, level = level.as_str(), "contact triaged");
        Ok(contact_to_wire(&self.contact(id).await?))
    }

    async fn get_contact(&self, call: &Call<'_>, request: pb::GetContactRequest) -> Result<pb::Contact, BrokerError> {
        call.require(Action::ContactRead, Scope::Any, None).await?;
        Ok(contact_to_wire(&self.contact(contact_id(request.contact_id)?).await?))
    }

    async fn contact(&self, id: ContactId) -> Result<Contact, BrokerError> {
        self.frontdoor.get(id).await?.ok_or_else(|| BrokerError::NotFound(Missing::Contact, format!("no contact {id}")))
    }

    /// Opens the enquiry of a triaged contact, at its level, about its subjects.
    async fn create_enquiry_from_contact(
        &self,
        call: &Call<'_>,
        request: pb::CreateEnquiryFromContactRequest,
    ) -> Result<pb::Enquiry, BrokerError> {
        let id = contact_id(request.contact_id)?;
        let contact = self.contact(id).await?;
        let Some(triage) = &contact.triage else {
            return Err(BrokerError::FailedPrecondition(
                Conflict::ContactNotTriaged,
                format!("contact {id} must be triaged first"),
            ));
        };
        // The enquiry's subjects are parsed again from the contact's, through
        // the same rules as any enquiry's.
        let people: Vec<pb::Person> = contact.subjects.iter().map(|s| crate::wire::person_to_wire(&s.person)).collect();
        let input = EnquiryInput {
            level: Some(triage.level),
            purpose: &request.purpose,
            lawful_basis: &request.lawful_basis,
            consent: crate::wire::consent("consent", request.consent)?,
            assigned_researcher: &request.assigned_researcher,
            subjects: contact
                .subjects
                .iter()
                .zip(&people)
                .map(|(s, person)| (Some(s.relation), Some(crate::wire::person_input(person))))
                .collect(),
        };
        let enquiry = Enquiry::parse(input, &call.caller)?;
        call.require(Action::EnquiryOpen, call.scope_of(&enquiry), None).await?;
        if let Some(existing) = contact.enquiry_id {
            return Err(already_linked(id, existing));
        }
        if !self.enquiries.insert_for_contact(&enquiry, id.get()).await? {
            // Another call linked an enquiry first; this one was not stored.
            let now = self.contact(id).await?;
            return Err(now.enquiry_id.map_or_else(
                || BrokerError::Internal(format!("contact {id} could not be linked")),
                |existing| already_linked(id, existing),
            ));
        }
        tracing::info!(contact_id = %id, enquiry_id = %enquiry.enquiry_id, "enquiry opened from contact");
        Ok(crate::wire::enquiry_to_wire(&enquiry))
    }

    async fn get_enquiry_workflow(
        &self,
        call: &Call<'_>,
        request: pb::GetEnquiryWorkflowRequest,
    ) -> Result<pb::EnquiryWorkflow, BrokerError> {
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        call.require_on(Action::EnquiryRead, &enquiry).await?;
        self.workflow(enquiry.enquiry_id).await
    }

    async fn transition_enquiry(
        &self,
        call: &Call<'_>,
        request: pb::TransitionEnquiryRequest,
    ) -> Result<pb::EnquiryWorkflow, BrokerError> {
        let to = wire::state("to", request.to)?;
        let other_rpc = match to {
            Some(EnquiryState::InformationGathered) => None,
            Some(EnquiryState::ChecksRequested) => Some("RequestChecks"),
            Some(EnquiryState::DecisionRecorded) => Some("RecordDecision"),
            Some(EnquiryState::Closed) => Some("CloseEnquiry"),
            Some(EnquiryState::Open) | None => Some("nothing: an enquiry is open only when opened"),
        };
        if let Some(rpc) = other_rpc {
            return Err(
                DomainError::invalid("to", format!("must be information-gathered; for this state use {rpc}")).into()
            );
        }
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        call.require_on(Action::EnquiryTransition, &enquiry).await?;
        advance(&self.frontdoor, &enquiry, &call.caller, EnquiryState::InformationGathered, None).await?;
        self.workflow(enquiry.enquiry_id).await
    }

    async fn record_decision(
        &self,
        call: &Call<'_>,
        request: pb::RecordDecisionRequest,
    ) -> Result<pb::EnquiryWorkflow, BrokerError> {
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        call.require_on(Action::EnquiryDecide, &enquiry).await?;
        let outcome =
            wire::outcome("outcome", request.outcome)?.ok_or_else(|| DomainError::invalid("outcome", "is required"))?;
        let reason = reason(&request.reason)?;
        advance(&self.frontdoor, &enquiry, &call.caller, EnquiryState::DecisionRecorded, Some((outcome, reason)))
            .await?;
        tracing::info!(enquiry_id = %enquiry.enquiry_id, outcome = outcome.as_str(), "decision recorded");
        self.workflow(enquiry.enquiry_id).await
    }

    async fn close_enquiry(
        &self,
        call: &Call<'_>,
        request: pb::CloseEnquiryRequest,
    ) -> Result<pb::EnquiryWorkflow, BrokerError> {
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        call.require_on(Action::EnquiryClose, &enquiry).await?;
        advance(&self.frontdoor, &enquiry, &call.caller, EnquiryState::Closed, None).await?;
        self.workflow(enquiry.enquiry_id).await
    }

    async fn workflow(&self, id: EnquiryId) -> Result<pb::EnquiryWorkflow, BrokerError> {
        let workflow = self.frontdoor.workflow(id).await?;
        workflow
            .map(|w| workflow_to_wire(&w))
            .ok_or_else(|| BrokerError::NotFound(Missing::Enquiry, format!("no enquiry {id}")))
    }

    async fn get_report(
        &self,
        call: &Call<'_>,
        request: pb::GetReportRequest,
    ) -> Result<pb::PerformanceReport, BrokerError> {
        call.require(Action::ReportRead, Scope::Any, None).await?;
        let day = format_description!("[year]-[month]-[day]");
        let date = |field: &str, raw: &str| {
            time::Date::parse(raw.trim(), day)
                .map_err(|_| DomainError::invalid(field, "must be a date like 2026-01-05"))
        };
        let period = Period::new(date("from", &request.from)?, date("to", &request.to)?).map_err(refused)?;
        let as_of = match request.as_of.trim() {
            "" => OffsetDateTime::now_utc(),
            raw => OffsetDateTime::parse(raw, &Rfc3339)
                .map_err(|_| DomainError::invalid("as_of", "must be an RFC 3339 timestamp"))?,
        };
        let (records, untriaged) = self.frontdoor.report_records(&period, as_of).await?;
        let report = Report::compute(&records, &period, as_of);
        tracing::info!(contacts = report.contacts, "report computed");
        Ok(report_to_wire(&report, untriaged))
    }
}

#[tonic::async_trait]
impl pb::front_door_service_server::FrontDoorService for FrontDoorApi {
    async fn create_contact(
        &self,
        request: Request<pb::CreateContactRequest>,
    ) -> Result<Response<pb::Contact>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::create_contact(self, &call, request.into_inner()).await?))
    }

    async fn get_contact(&self, request: Request<pb::GetContactRequest>) -> Result<Response<pb::Contact>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::get_contact(self, &call, request.into_inner()).await?))
    }

    async fn triage_contact(
        &self,
        request: Request<pb::TriageContactRequest>,
    ) -> Result<Response<pb::Contact>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::triage_contact(self, &call, request.into_inner()).await?))
    }

    async fn create_enquiry_from_contact(
        &self,
        request: Request<pb::CreateEnquiryFromContactRequest>,
    ) -> Result<Response<pb::Enquiry>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::create_enquiry_from_contact(self, &call, request.into_inner()).await?))
    }

    async fn get_enquiry_workflow(
        &self,
        request: Request<pb::GetEnquiryWorkflowRequest>,
    ) -> Result<Response<pb::EnquiryWorkflow>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::get_enquiry_workflow(self, &call, request.into_inner()).await?))
    }

    async fn transition_enquiry(
        &self,
        request: Request<pb::TransitionEnquiryRequest>,
    ) -> Result<Response<pb::EnquiryWorkflow>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::transition_enquiry(self, &call, request.into_inner()).await?))
    }

    async fn record_decision(
        &self,
        request: Request<pb::RecordDecisionRequest>,
    ) -> Result<Response<pb::EnquiryWorkflow>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::record_decision(self, &call, request.into_inner()).await?))
    }

    async fn close_enquiry(
        &self,
        request: Request<pb::CloseEnquiryRequest>,
    ) -> Result<Response<pb::EnquiryWorkflow>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::close_enquiry(self, &call, request.into_inner()).await?))
    }

    async fn get_report(
        &self,
        request: Request<pb::GetReportRequest>,
    ) -> Result<Response<pb::PerformanceReport>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(FrontDoorApi::get_report(self, &call, request.into_inner()).await?))
    }
}

fn already_linked(id: ContactId, enquiry: EnquiryId) -> BrokerError {
    BrokerError::FailedPrecondition(
        Conflict::ContactAlreadyHasEnquiry,
        format!("contact {id} already has enquiry {enquiry}"),
    )
}

fn contact_to_wire(c: &Contact) -> pb::Contact {
    let triage = c.triage.as_ref();
    let level = triage.map(|t| t.level);
    pb::Contact {
        contact_id: c.id.get(),
        received_at: timestamp(c.received_at),
        recorded_by: c.recorded_by.clone(),
        referrer_kind: wire::referrer_kind_to_wire(c.referrer_kind).into(),
        referrer: c.referrer.clone(),
        concerns: c.concerns.iter().map(|&concern| wire::concern_to_wire(concern).into()).collect(),
        subjects: c
            .subjects
            .iter()
            .map(|s| pb::EnquirySubject {
                subject_id: s.subject_id.to_string(),
                relation: crate::wire::relation_to_wire(s.relation).into(),
                person: Some(crate::wire::person_to_wire(&s.person)),
            })
            .collect(),
        re_referral: c.re_referral_of.is_some(),
        re_referral_of: c.re_referral_of.map_or(0, ContactId::get),
        level: level.map(|l| crate::wire::level_to_wire(l).into()).unwrap_or_default(),
        rag: level.map(|l| wire::rag_to_wire(l).into()).unwrap_or_default(),
        triage_reason: triage.map(|t| t.reason.clone()).unwrap_or_default(),
        triaged_by: triage.map(|t| t.by.clone()).unwrap_or_default(),
        triaged_at: triage.map(|t| timestamp(t.at)).unwrap_or_default(),
        deadline: triage.map(|t| timestamp(t.deadline)).unwrap_or_default(),
        enquiry_id: c.enquiry_id.map(|id| id.to_string()).unwrap_or_default(),
        state: c.state.map(|s| wire::state_to_wire(s).into()).unwrap_or_default(),
        outcome: c.outcome.map(|o| wire::outcome_to_wire(o).into()).unwrap_or_default(),
        decided_at: c.decided_at.map(timestamp).unwrap_or_default(),
        closed_at: c.closed_at.map(timestamp).unwrap_or_default(),
        referrer_agency: c.referrer_agency.map(|a| a.as_str().to_owned()).unwrap_or_default(),
    }
}

fn workflow_to_wire(w: &Workflow) -> pb::EnquiryWorkflow {
    let decision = w.decision.as_ref();
    pb::EnquiryWorkflow {
        enquiry_id: w.enquiry_id.to_string(),
        contact_id: w.contact_id.map_or(0, ContactId::get),
        state: wire::state_to_wire(w.state).into(),
        transitions: w
            .transitions
            .iter()
            .map(|t| pb::EnquiryTransition {
                from: wire::state_to_wire(t.from).into(),
                to: wire::state_to_wire(t.to).into(),
                actor: t.actor.to_string(),
                at: timestamp(t.at),
            })
            .collect(),
        outcome: decision.map(|d| wire::outcome_to_wire(d.outcome).into()).unwrap_or_default(),
        decision_reason: decision.map(|d| d.reason.clone()).unwrap_or_default(),
        decided_by: decision.map(|d| d.by.clone()).unwrap_or_default(),
        decided_at: decision.map(|d| timestamp(d.at)).unwrap_or_default(),
    }
}

fn report_to_wire(report: &Report, untriaged: u64) -> pb::PerformanceReport {
    pb::PerformanceReport {
        from: report.period.first().to_string(),
        to: report.period.last().to_string(),
        as_of: timestamp(report.as_of),
        contacts: report.contacts,
        weeks: report
            .weeks
            .iter()
            .map(|w| pb::WeekCount {
                week: w.week.to_string(),
                monday: w.week.monday().to_string(),
                contacts: w.contacts,
            })
            .collect(),
        timeliness: report
            .timeliness
            .iter()
            .map(|t| pb::LevelTimeliness {
                level: crate::wire::level_to_wire(t.level).into(),
                rag: wire::rag_to_wire(t.level).into(),
                due: t.due,
                in_time: t.in_time,
                percent: t.percent(),
            })
            .collect(),
        decided: report.decided,
        outcomes: report
            .outcomes
            .iter()
            .map(|o| pb::OutcomeCount {
                outcome: wire::outcome_to_wire(o.outcome).into(),
                count: o.count,
                percent: report.outcome_percent(o),
            })
            .collect(),
        re_referrals: report.re_referrals,
        re_referral_percent: report.re_referral_rate(),
        open: report.open,
        past_deadline: report.past_deadline.iter().map(|id| id.get()).collect(),
        median_to_decision_seconds: report.median_to_decision.map(|d| d.as_seconds_f64()),
        untriaged,
        table: report.to_table(),
        csv: report.to_csv(),
    }
}
