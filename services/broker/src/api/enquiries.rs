//! `mash.v1.EnquiryService`: researchers and managers open enquiries, request
//! agency checks, confirm possible matches and read the family summary.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use mash_disclosure_log::DisclosureLog;
use mash_domain::{Agency, DomainError, SubjectId};
use mash_policy::Action;
use mash_proto::v1 as pb;
use mash_telemetry::metrics::CheckPhase;
use tonic::{Request, Response, Status};

use crate::{
    BrokerError, Clock,
    authz::{Authz, Call},
    candidate::CandidateStore,
    check::{self, Requester},
    enquiry::{Enquiry, EnquiryInput, EnquiryStore},
    frontdoor::{self, FrontDoorStore},
    hold::HoldStore,
    search_batch::FeedSearches,
    wire,
};

pub(crate) struct EnquiryApi {
    pub(crate) authz: Authz,
    pub(crate) enquiries: Arc<EnquiryStore>,
    /// A check moves the enquiry's workflow before any agency is asked.
    pub(crate) frontdoor: Arc<FrontDoorStore>,
    /// A check's holds are written with its log entries.
    pub(crate) holds: Arc<HoldStore>,
    pub(crate) candidates: Arc<CandidateStore>,
    pub(crate) log: DisclosureLog,
    pub(crate) feeds: HashMap<Agency, FeedSearches>,
    pub(crate) check_deadline: Duration,
    /// The day items' ages are judged on.
    pub(crate) clock: Clock,
}

impl EnquiryApi {
    async fn create_enquiry(
        &self,
        call: &Call<'_>,
        request: pb::CreateEnquiryRequest,
    ) -> Result<pb::Enquiry, BrokerError> {
        let subjects = request
            .subjects
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Ok((
                    wire::relation(&format!("subjects[{i}].relation"), s.relation)?,
                    s.person.as_ref().map(wire::person_input),
                ))
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        let input = EnquiryInput {
            level: wire::level("level", request.level)?,
            purpose: &request.purpose,
            lawful_basis: &request.lawful_basis,
            consent: wire::consent("consent", request.consent)?,
            assigned_researcher: &request.assigned_researcher,
            subjects,
        };
        let enquiry = Enquiry::parse(input, &call.caller)?;
        call.require(Action::EnquiryOpen, call.scope_of(&enquiry), None).await?;
        self.enquiries.insert(&enquiry).await?;
        tracing::info!(enquiry_id = %enquiry.enquiry_id, level = enquiry.level.as_str(), "enquiry opened");
        Ok(wire::enquiry_to_wire(&enquiry))
    }

    async fn get_enquiry(&self, call: &Call<'_>, request: pb::GetEnquiryRequest) -> Result<pb::Enquiry, BrokerError> {
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        call.require_on(Action::EnquiryRead, &enquiry).await?;
        Ok(wire::enquiry_to_wire(&enquiry))
    }

    async fn request_checks(
        &self,
        call: &Call<'_>,
        request: pb::RequestChecksRequest,
    ) -> Result<pb::RequestChecksResponse, BrokerError> {
        let mut phases = PhaseClock::start();
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        let role = call.policy.access.mash_role(&call.caller);
        let permitted = call.allows(Action::EnquiryCheck, call.scope_of(&enquiry));
        let Some(role) = role.filter(|_| permitted) else {
            return Err(call.refuse(Action::EnquiryCheck, Some(enquiry.as_ref())).await);
        };
        let agencies = parse_agencies(&request.agencies)?;
        let subject_ids = request
            .subject_ids
            .iter()
            .enumerate()
            .map(|(i, raw)| SubjectId::parse(&format!("subject_ids[{i}]"), raw))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(unknown) = subject_ids.iter().position(|id| !enquiry.subjects.iter().any(|s| s.subject_id == *id)) {
            return Err(
                DomainError::invalid(format!("subject_ids[{unknown}]"), "is not a subject of this enquiry").into()
            );
        }
        // The workflow moves (or refuses, once decided) before any agency is asked.
        frontdoor::record_checks_requested(&self.frontdoor, &enquiry, &call.caller).await?;
        let subjects: Vec<_> =
            enquiry.subjects.iter().filter(|s| subject_ids.is_empty() || subject_ids.contains(&s.subject_id)).collect();
        phases.end(CheckPhase::Prepare);
        let answers = check::fan_out(&self.feeds, &agencies, &subjects, self.check_deadline).await;
        phases.end(CheckPhase::FanOut);
        let requester =
            Requester { identity: call.caller.to_string(), organisation: call.caller.organisation().into(), role };
        let person_refs: HashMap<String, String> = enquiry
            .subjects
            .iter()
            .map(|s| {
                (s.subject_id.to_string(), self.enquiries.person_refs(&s.person).into_iter().next().unwrap_or_default())
            })
            .collect();
        // Most checks meet no possible match; only those ask for confirmations.
        let confirmed = if check::any_possible_match(&answers) {
            self.candidates.confirmed(enquiry.enquiry_id).await?
        } else {
            HashSet::new()
        };
        let cx = check::CheckContext {
            enquiry: &enquiry,
            requester: &requester,
            policy: &call.policy,
            person_refs: &person_refs,
            today: self.clock.today(),
            confirmed: &confirmed,
        };
        let disclosed = check::disclose(&cx, answers);
        // The invariant: nothing leaves the broker before its log entry is
        // durable. Held items and possible matches are written in the same
        // transaction as the entries that announce them.
        let companions = vec![self.holds.rows(&disclosed.holds), CandidateStore::rows(&disclosed.candidates)];
        phases.end(CheckPhase::Decide);
        self.log.append_with(disclosed.entries, companions).await?;
        phases.end(CheckPhase::Log);
        Ok(disclosed.results)
    }
}

fn parse_agencies(raw: &[String]) -> Result<Vec<Agency>, DomainError> {
    if raw.is_empty() {
        return Ok(Agency::all().to_vec());
    }
    let mut agencies = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        let agency = Agency::parse(&format!("agencies[{i}]"), name)?;
        if !agencies.contains(&agency) {
            agencies.push(agency);
        }
    }
    Ok(agencies)
}

#[tonic::async_trait]
impl pb::enquiry_service_server::EnquiryService for EnquiryApi {
    async fn create_enquiry(
        &self,
        request: Request<pb::CreateEnquiryRequest>,
    ) -> Result<Response<pb::Enquiry>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.create_enquiry(&call, request.into_inner()).await?))
    }

    async fn get_enquiry(&self, request: Request<pb::GetEnquiryRequest>) -> Result<Response<pb::Enquiry>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.get_enquiry(&call, request.into_inner()).await?))
    }

    async fn request_checks(
        &self,
        request: Request<pb::RequestChecksRequest>,
    ) -> Result<Response<pb::RequestChecksResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.request_checks(&call, request.into_inner()).await?))
    }

    async fn confirm_match(
        &self,
        request: Request<pb::ConfirmMatchRequest>,
    ) -> Result<Response<pb::ConfirmMatchResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.confirm_match(&call, request.into_inner()).await?))
    }

    async fn get_family_summary(
        &self,
        request: Request<pb::GetFamilySummaryRequest>,
    ) -> Result<Response<pb::FamilySummary>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.family_summary(&call, request.into_inner()).await?))
    }
}

/// Times a check's phases one after another, into the process's metrics. A check refused or
/// failed part-way records only the phases it finished.
struct PhaseClock(std::time::Instant);

impl PhaseClock {
    fn start() -> Self {
        Self(std::time::Instant::now())
    }

    fn end(&mut self, phase: CheckPhase) {
        let now = std::time::Instant::now();
        mash_telemetry::metrics::metrics().check_phase(phase, now - self.0);
        self.0 = now;
    }
}
