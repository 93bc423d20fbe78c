//! The `mash.v1.Broker` gRPC service: the edge where wire types become
//! domain types, and where every call is authorised.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use futures::StreamExt;
use mash_disclosure_log::{Caller, DisclosureLog, Entry, EntryBuilder, LogFilter, Outcome, Role};
use mash_domain::{Agency, DomainError, EnquiryId, Identity, SubjectId, Tier};
use mash_policy::{Action, LivePolicy, Policy, access::Scope};
use mash_proto::v1 as pb;
use mash_telemetry::metrics::CheckPhase;
use prost::Message;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::{
    BrokerError,
    candidate::CandidateStore,
    check::{self, Requester},
    enquiry::{Enquiry, EnquiryInput, EnquiryStore},
    hold::HoldStore,
    search_batch::FeedSearches,
    wire,
};

/// The largest request accepted, in encoded bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

pub struct BrokerService {
    pub(crate) enquiries: EnquiryStore,
    pub(crate) frontdoor: crate::frontdoor::FrontDoorStore,
    pub(crate) holds: HoldStore,
    pub(crate) outbox: crate::outbox::Outbox,
    pub(crate) candidates: crate::candidate::CandidateStore,
    pub(crate) clock: crate::Clock,
    pub(crate) log: DisclosureLog,
    pub(crate) policy: Arc<LivePolicy>,
    pub(crate) feeds: HashMap<Agency, FeedSearches>,
    pub(crate) check_deadline: Duration,
    pub(crate) content_retention: Duration,
}

fn within_limit<T: Message>(request: &T) -> Result<(), BrokerError> {
    let size = request.encoded_len();
    if size > MAX_MESSAGE_BYTES {
        return Err(
            DomainError::invalid("request", format!("is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")).into()
        );
    }
    Ok(())
}

impl BrokerService {
    /// The policy in force for this decision.
    pub(crate) fn policy(&self) -> Arc<Policy> {
        self.policy.current()
    }

    /// Allows the call, or logs the refusal and refuses it.
    pub(crate) async fn require(
        &self,
        caller: &Identity,
        action: Action,
        scope: Scope,
        enquiry: Option<&Enquiry>,
    ) -> Result<(), BrokerError> {
        if self.policy().access.allows(caller, action, scope) {
            return Ok(());
        }
        Err(self.refuse(caller, action, enquiry).await)
    }

    /// A refused call is a log entry too, so IG can see attempts; the error
    /// to return is PERMISSION_DENIED. If even the refusal cannot be logged,
    /// the call is still refused.
    pub(crate) async fn refuse(&self, caller: &Identity, action: Action, enquiry: Option<&Enquiry>) -> BrokerError {
        tracing::warn!(action = action.as_str(), "refused: caller not permitted");
        let base = match enquiry {
            Some(enquiry) => self.enquiry_entry(caller, enquiry),
            None => self.caller_entry(caller),
        };
        let entry = base.build(Outcome::Refused, Tier::None, format!("permission denied: {}", action.as_str()));
        if let Err(error) = self.log.append(vec![entry.into()]).await {
            tracing::error!(%error, "a refusal could not be logged");
        }
        BrokerError::PermissionDenied(format!("{caller} may not {} ({})", action.describe(), action.as_str()))
    }

    /// A log entry's caller and policy version, for an action on no enquiry.
    pub(crate) fn caller_entry(&self, caller: &Identity) -> EntryBuilder {
        let policy = self.policy();
        let logged = Caller {
            identity: caller.to_string(),
            role: log_role(policy.access.roles_of(caller)),
            organisation: caller.organisation().into(),
        };
        EntryBuilder::new(&logged, policy.version())
    }

    /// A log entry's caller and `enquiry`'s context, made for the enquiry's researcher.
    pub(crate) fn enquiry_entry(&self, caller: &Identity, enquiry: &Enquiry) -> EntryBuilder {
        self.caller_entry(caller).enquiry(&enquiry.log_context())
    }

    /// A log entry about one subject of `enquiry` and what `agency` holds on it, made by
    /// `caller` for the enquiry's researcher.
    pub(crate) fn subject_entry(
        &self,
        caller: &Identity,
        enquiry: &Enquiry,
        subject_id: &str,
        agency: Agency,
    ) -> EntryBuilder {
        let person_ref = enquiry
            .subjects
            .iter()
            .find(|s| s.subject_id.to_string() == subject_id)
            .and_then(|s| self.enquiries.person_refs(&s.person).into_iter().next())
            .unwrap_or_default();
        self.enquiry_entry(caller, enquiry).subject(subject_id, &person_ref).agency(agency.as_str())
    }

    pub(crate) async fn load_enquiry(&self, raw_id: &str) -> Result<Arc<Enquiry>, BrokerError> {
        let id = EnquiryId::parse("enquiry_id", raw_id)?;
        self.enquiries.get(id).await?.ok_or_else(|| BrokerError::NotFound(format!("no enquiry {id}")))
    }

    async fn open_enquiry(
        &self,
        caller: Identity,
        request: pb::OpenEnquiryRequest,
    ) -> Result<pb::Enquiry, BrokerError> {
        within_limit(&request)?;
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
        let enquiry = Enquiry::parse(input, &caller)?;
        let scope = Scope::Enquiry { assigned_to_caller: enquiry.assigned_researcher == caller };
        self.require(&caller, Action::EnquiryOpen, scope, None).await?;
        self.enquiries.insert(&enquiry).await?;
        tracing::info!(enquiry_id = %enquiry.enquiry_id, level = enquiry.level.as_str(), "enquiry opened");
        Ok(enquiry_to_wire(&enquiry))
    }

    async fn request_checks(
        &self,
        caller: Identity,
        request: pb::RequestChecksRequest,
    ) -> Result<pb::CheckResults, BrokerError> {
        let mut phases = PhaseClock::start();
        within_limit(&request)?;
        let enquiry = self.load_enquiry(&request.enquiry_id).await?;
        let assigned = enquiry.assigned_researcher == caller;
        let role = self.policy().access.mash_role(&caller);
        let permitted =
            self.policy().access.allows(&caller, Action::EnquiryCheck, Scope::Enquiry { assigned_to_caller: assigned });
        let Some(role) = role.filter(|_| permitted) else {
            return Err(self.refuse(&caller, Action::EnquiryCheck, Some(enquiry.as_ref())).await);
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
        self.record_checks_requested(&enquiry, &caller).await?;
        let subjects: Vec<_> =
            enquiry.subjects.iter().filter(|s| subject_ids.is_empty() || subject_ids.contains(&s.subject_id)).collect();
        phases.end(CheckPhase::Prepare);
        let answers = check::fan_out(&self.feeds, &agencies, &subjects, self.check_deadline).await;
        phases.end(CheckPhase::FanOut);
        let requester = Requester { identity: caller.to_string(), organisation: caller.organisation().into(), role };
        let person_refs: HashMap<String, String> = enquiry
            .subjects
            .iter()
            .map(|s| {
                (s.subject_id.to_string(), self.enquiries.person_refs(&s.person).into_iter().next().unwrap_or_default())
            })
            .collect();
        let policy = self.policy();
        // Most checks meet no possible match; only those ask for confirmations.
        let confirmed = if check::any_possible_match(&answers) {
            self.candidates.confirmed(enquiry.enquiry_id).await?
        } else {
            HashSet::new()
        };
        let cx = check::CheckContext {
            enquiry: &enquiry,
            requester: &requester,
            policy: &policy,
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

    async fn search_log(
        &self,
        caller: Identity,
        request: pb::SearchLogRequest,
    ) -> Result<pb::SearchLogResponse, BrokerError> {
        within_limit(&request)?;
        let mut filter = self.log_filter(&request)?;
        // Information governance reads everything; an agency system only the
        // entries about its own agency's records; anyone else nothing.
        if !self.policy().access.allows(&caller, Action::LogSearch, Scope::Any) {
            let own = Agency::all()
                .iter()
                .copied()
                .find(|a| self.policy().access.allows(&caller, Action::LogSearch, Scope::Feed(*a)));
            let Some(own) = own else {
                return Err(self.refuse(&caller, Action::LogSearch, None).await);
            };
            filter.agency = Some(own.as_str().to_owned());
        }
        let after = match request.page_token.trim() {
            "" => 0,
            token => token.parse().map_err(|_| DomainError::invalid("page_token", "is not a token this API issued"))?,
        };
        let page_size = if request.page_size == 0 { 100 } else { request.page_size.min(1000) };
        self.log_the_search(&caller, &filter).await?;
        let entries = self.log.search(&filter, after, page_size).await?;
        let next_page_token = if entries.len() == page_size as usize {
            entries.last().map(|e| e.seq.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::SearchLogResponse { entries: entries.into_iter().map(entry_to_wire).collect(), next_page_token })
    }

    fn log_filter(&self, request: &pb::SearchLogRequest) -> Result<LogFilter, BrokerError> {
        let optional = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let outcome = wire::outcome("outcome", request.outcome)?;
        let agency = optional(&request.agency).map(|a| Agency::parse("agency", &a)).transpose()?;
        let person_refs = match &request.person {
            Some(person) => {
                let person = mash_domain::Person::parse("person", wire::person_input(person), mash_domain::today())?;
                Some(self.enquiries.person_refs(&person))
            }
            None => None,
        };
        let timestamp =
            |field: &str, raw: &str| optional(raw).map(|raw| crate::parse_timestamp(field, &raw)).transpose();
        Ok(LogFilter {
            enquiry_id: optional(&request.enquiry_id),
            requester: optional(&request.requester),
            agency: agency.map(|a| a.as_str().to_owned()),
            outcome,
            person_refs,
            recorded_from: timestamp("recorded_from", &request.recorded_from)?,
            recorded_to: timestamp("recorded_to", &request.recorded_to)?,
        })
    }

    /// Every search of the log is itself an entry, recording its filters
    /// (a person only by pseudonym).
    async fn log_the_search(&self, caller: &Identity, filter: &LogFilter) -> Result<(), BrokerError> {
        let filters = [
            ("enquiry", filter.enquiry_id.as_deref()),
            ("requester", filter.requester.as_deref()),
            ("agency", filter.agency.as_deref()),
            ("outcome", filter.outcome.map(Outcome::as_str)),
            ("from", filter.recorded_from.as_deref()),
            ("to", filter.recorded_to.as_deref()),
        ];
        let person_ref = filter.person_refs.as_ref().and_then(|refs| refs.first()).map(String::as_str);
        let entry = self
            .caller_entry(caller)
            .enquiry_filter(filter.enquiry_id.as_deref().unwrap_or_default())?
            .agency(filter.agency.as_deref().unwrap_or_default())
            .search(&filters, person_ref)
            .map_err(|e| DomainError::invalid(search_field(&e.field), e.problem))?
            .build(Outcome::LogSearched, Tier::None, "");
        Ok(self.log.append(vec![entry.into()]).await?)
    }
}

/// The request field a logged search filter came from.
fn search_field(logged: &str) -> String {
    match logged {
        "enquiry" => "enquiry_id",
        "from" => "recorded_from",
        "to" => "recorded_to",
        other => other,
    }
    .to_owned()
}

/// The role the log records for an identity: the one the access policy gives it (the first, should
/// it give several; none if the policy names a role the log does not know).
fn log_role(roles: Vec<String>) -> Option<Role> {
    roles.first().and_then(|role| Role::parse("role", role).ok())
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

pub(crate) fn enquiry_to_wire(e: &Enquiry) -> pb::Enquiry {
    pb::Enquiry {
        enquiry_id: e.enquiry_id.to_string(),
        level: wire::level_to_wire(e.level).into(),
        purpose: e.purpose.as_str().into(),
        lawful_basis: e.lawful_basis.as_str().into(),
        consent: wire::consent_to_wire(e.consent).into(),
        assigned_researcher: e.assigned_researcher.to_string(),
        opened_by: e.opened_by.to_string(),
        opened_at: e.opened_at.clone(),
        subjects: e
            .subjects
            .iter()
            .map(|s| pb::EnquirySubject {
                subject_id: s.subject_id.to_string(),
                relation: wire::relation_to_wire(s.relation).into(),
                person: Some(wire::person_to_wire(&s.person)),
            })
            .collect(),
    }
}

fn entry_to_wire(e: Entry) -> pb::LogEntry {
    let f = e.fields;
    pb::LogEntry {
        seq: e.seq,
        recorded_at: e.recorded_at,
        level: f.level.map(wire::level_to_wire).unwrap_or_default().into(),
        consent: f.consent.map(wire::consent_to_wire).unwrap_or_default().into(),
        outcome: wire::outcome_to_wire(f.outcome).into(),
        tier: wire::tier_to_wire(f.tier).into(),
        requester: f.requester,
        role: f.role.map(|r| r.as_str().into_owned()).unwrap_or_default(),
        enquiry_id: f.enquiry_id,
        purpose: f.purpose.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        lawful_basis: f.lawful_basis.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        subject_id: f.subject_id,
        agency: f.agency,
        record_ref: f.record_ref,
        category: f.category,
        reason: f.reason,
        policy_version: f.policy_version,
        content_digest: f.content_digest,
        prev_hash: e.prev_hash,
        entry_hash: e.entry_hash,
        person_ref: f.person_ref,
        requester_agency: f.requester_agency,
        on_behalf_of: f.on_behalf_of,
        recipient: f.recipient,
    }
}

fn checkpoint_to_wire(signed: mash_ledger::SignedCheckpoint, verifying_key: [u8; 32]) -> pb::SignedCheckpoint {
    pb::SignedCheckpoint {
        origin: signed.checkpoint.origin,
        size: signed.checkpoint.size,
        root: signed.checkpoint.root.to_vec(),
        timestamp_unix: signed.checkpoint.timestamp_unix,
        key_id: signed.key_id,
        signature: signed.signature.to_vec(),
        verifying_key: verifying_key.to_vec(),
    }
}

impl BrokerService {
    /// The log's tamper evidence is for information governance.
    async fn require_ig(&self, caller: &Identity) -> Result<(), BrokerError> {
        self.require(caller, Action::LogSearch, Scope::Any, None).await
    }

    async fn checkpoint(
        &self,
        caller: Identity,
        request: pb::GetCheckpointRequest,
    ) -> Result<pb::SignedCheckpoint, BrokerError> {
        self.require_ig(&caller).await?;
        let ledger = self.log.checkpointer();
        let signed = ledger.checkpoint_of(request.size).await?;
        let signed = signed.ok_or_else(|| BrokerError::NotFound(format!("no checkpoint of size {}", request.size)))?;
        Ok(checkpoint_to_wire(signed, ledger.verifying_key()))
    }

    async fn inclusion(
        &self,
        caller: Identity,
        request: pb::InclusionProofRequest,
    ) -> Result<pb::InclusionProof, BrokerError> {
        self.require_ig(&caller).await?;
        let ledger = self.log.checkpointer();
        let size = match request.tree_size {
            0 => ledger.checkpoint_of(0).await?.map(|c| c.checkpoint.size).unwrap_or(0),
            size => size,
        };
        let (leaf, path) = ledger.inclusion_proof(request.seq, size).await?;
        Ok(pb::InclusionProof {
            seq: request.seq,
            tree_size: size,
            leaf_hash: leaf.to_vec(),
            path: path.iter().map(|h| h.to_vec()).collect(),
        })
    }

    async fn consistency(
        &self,
        caller: Identity,
        request: pb::ConsistencyProofRequest,
    ) -> Result<pb::ConsistencyProof, BrokerError> {
        self.require_ig(&caller).await?;
        let path = self.log.checkpointer().consistency_proof(request.old_size, request.new_size).await?;
        Ok(pb::ConsistencyProof {
            old_size: request.old_size,
            new_size: request.new_size,
            path: path.iter().map(|h| h.to_vec()).collect(),
        })
    }

    async fn verify(&self, caller: Identity) -> Result<pb::VerifyLogReport, BrokerError> {
        self.require_ig(&caller).await?;
        Ok(match self.log.verify().await? {
            Ok(verified) => pb::VerifyLogReport {
                intact: true,
                entries: verified.entries,
                checkpoints: verified.checkpoints,
                ..Default::default()
            },
            Err(finding) => pb::VerifyLogReport {
                intact: false,
                finding: finding.message,
                first_bad_seq: finding.seq.unwrap_or(0),
                ..Default::default()
            },
        })
    }

    /// IG reads what a disclosure showed; the reading is itself logged.
    async fn disclosed_content(&self, caller: Identity, seq: u64) -> Result<pb::DisclosedContent, BrokerError> {
        self.require_ig(&caller).await?;
        let bytes = self.log.shown(seq).await?;
        let bytes = bytes
            .ok_or_else(|| BrokerError::NotFound(format!("entry {seq} showed nothing, or its content was purged")))?;
        let content = pb::DisclosedContent::decode(bytes.as_slice())
            .map_err(|_| BrokerError::Internal("stored disclosed content does not decode".into()))?;
        self.log_ig_action(&caller, format!("disclosed content of entry {seq} viewed")).await?;
        Ok(pb::DisclosedContent { seq, ..content })
    }

    /// Purges disclosed content past the retention period; logged.
    async fn purge(&self, caller: Identity) -> Result<pb::PurgeResponse, BrokerError> {
        self.require_ig(&caller).await?;
        let cutoff = time::OffsetDateTime::now_utc() - self.content_retention;
        let cutoff = crate::timestamp(cutoff);
        let purged = self.log.purge_content(&cutoff).await?;
        self.log_ig_action(&caller, format!("disclosed content recorded before {cutoff} purged: {purged} items"))
            .await?;
        Ok(pb::PurgeResponse { purged, cutoff })
    }

    async fn review(
        &self,
        caller: Identity,
        request: pb::ReviewSignalsRequest,
    ) -> Result<pb::ReviewSignalsReport, BrokerError> {
        self.require_ig(&caller).await?;
        let optional =
            |field: &str, raw: &str| (!raw.trim().is_empty()).then(|| crate::parse_timestamp(field, raw)).transpose();
        let filter = LogFilter {
            recorded_from: optional("recorded_from", &request.recorded_from)?,
            recorded_to: optional("recorded_to", &request.recorded_to)?,
            ..LogFilter::default()
        };
        self.log_the_search(&caller, &filter).await?;
        let entries = self.log.search_all(&filter).await?;
        let signals = crate::review::signals(&entries)
            .into_iter()
            .map(|s| pb::ReviewSignal { kind: s.kind.into(), requester: s.requester, detail: s.detail, seqs: s.seqs })
            .collect();
        Ok(pb::ReviewSignalsReport { signals })
    }

    async fn log_ig_action(&self, caller: &Identity, reason: String) -> Result<(), BrokerError> {
        let entry = self.caller_entry(caller).build(Outcome::LogSearched, Tier::None, reason);
        Ok(self.log.append(vec![entry.into()]).await?)
    }

    async fn export(&self, caller: Identity) -> Result<ExportChunks, BrokerError> {
        self.require_ig(&caller).await?;
        let chunks = self.log.export().map(|chunk| {
            chunk.map(|lines| pb::ExportChunk { lines }).map_err(|error| Status::from(BrokerError::from(error)))
        });
        Ok(Box::pin(chunks))
    }
}

/// An export as it is read: a chunk of lines a page of the log.
type ExportChunks = std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::ExportChunk, Status>> + Send>>;

/// Runs one handler inside a span that carries no personal data, and maps
/// its error to a status in the one place that does so.
async fn handle<T>(
    name: &'static str,
    metadata: &tonic::metadata::MetadataMap,
    work: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> Result<Response<T>, Status> {
    let span = tracing::info_span!("broker.call", rpc = name, trace_id = tracing::field::Empty);
    mash_telemetry::adopt_remote_parent(&span, metadata);
    let started = std::time::Instant::now();
    let result = work.instrument(span).await.map(Response::new).map_err(Status::from);
    let code = result.as_ref().map_or_else(Status::code, |_| tonic::Code::Ok);
    mash_telemetry::metrics::metrics().grpc("broker", name, code, started.elapsed());
    result
}

#[tonic::async_trait]
impl pb::broker_server::Broker for BrokerService {
    async fn open_enquiry(&self, request: Request<pb::OpenEnquiryRequest>) -> Result<Response<pb::Enquiry>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("OpenEnquiry", &metadata, self.open_enquiry(caller, request.into_inner())).await
    }

    async fn get_enquiry(&self, request: Request<pb::GetEnquiryRequest>) -> Result<Response<pb::Enquiry>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetEnquiry", &metadata, async {
            let enquiry = self.load_enquiry(&request.get_ref().enquiry_id).await?;
            let scope = Scope::Enquiry { assigned_to_caller: enquiry.assigned_researcher == caller };
            self.require(&caller, Action::EnquiryRead, scope, Some(enquiry.as_ref())).await?;
            Ok(enquiry_to_wire(&enquiry))
        })
        .await
    }

    async fn request_checks(
        &self,
        request: Request<pb::RequestChecksRequest>,
    ) -> Result<Response<pb::CheckResults>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("RequestChecks", &metadata, self.request_checks(caller, request.into_inner())).await
    }

    async fn search_log(
        &self,
        request: Request<pb::SearchLogRequest>,
    ) -> Result<Response<pb::SearchLogResponse>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("SearchLog", &metadata, self.search_log(caller, request.into_inner())).await
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::SignedCheckpoint>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetCheckpoint", &metadata, self.checkpoint(caller, request.into_inner())).await
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::InclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetInclusionProof", &metadata, self.inclusion(caller, request.into_inner())).await
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::ConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetConsistencyProof", &metadata, self.consistency(caller, request.into_inner())).await
    }

    type ExportLogStream = ExportChunks;

    async fn export_log(
        &self,
        request: Request<pb::ExportLogRequest>,
    ) -> Result<Response<Self::ExportLogStream>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("ExportLog", &metadata, self.export(caller)).await
    }

    async fn verify_log(
        &self,
        request: Request<pb::VerifyLogRequest>,
    ) -> Result<Response<pb::VerifyLogReport>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("VerifyLog", &metadata, self.verify(caller)).await
    }

    async fn get_disclosed_content(
        &self,
        request: Request<pb::DisclosedContentRequest>,
    ) -> Result<Response<pb::DisclosedContent>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetDisclosedContent", &metadata, self.disclosed_content(caller, request.get_ref().seq)).await
    }

    async fn purge_expired_content(
        &self,
        request: Request<pb::PurgeRequest>,
    ) -> Result<Response<pb::PurgeResponse>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("PurgeExpiredContent", &metadata, self.purge(caller)).await
    }

    async fn review_signals(
        &self,
        request: Request<pb::ReviewSignalsRequest>,
    ) -> Result<Response<pb::ReviewSignalsReport>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("ReviewSignals", &metadata, self.review(caller, request.into_inner())).await
    }

    async fn list_holds(
        &self,
        request: Request<pb::ListHoldsRequest>,
    ) -> Result<Response<pb::ListHoldsResponse>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("ListHolds", &metadata, self.list_holds(caller, request.into_inner())).await
    }

    async fn decide_hold(&self, request: Request<pb::DecideHoldRequest>) -> Result<Response<pb::Hold>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("DecideHold", &metadata, self.decide_hold(caller, request.into_inner())).await
    }

    async fn break_glass(&self, request: Request<pb::BreakGlassRequest>) -> Result<Response<pb::Hold>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("BreakGlass", &metadata, self.break_glass(caller, request.into_inner())).await
    }

    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("ListAlerts", &metadata, self.list_alerts(caller)).await
    }

    async fn create_contact(
        &self,
        request: Request<pb::CreateContactRequest>,
    ) -> Result<Response<pb::Contact>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("CreateContact", &metadata, BrokerService::create_contact(self, caller, request.into_inner())).await
    }

    async fn triage_contact(
        &self,
        request: Request<pb::TriageContactRequest>,
    ) -> Result<Response<pb::Contact>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("TriageContact", &metadata, BrokerService::triage_contact(self, caller, request.into_inner())).await
    }

    async fn get_contact(&self, request: Request<pb::GetContactRequest>) -> Result<Response<pb::Contact>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetContact", &metadata, BrokerService::get_contact(self, caller, request.into_inner())).await
    }

    async fn open_enquiry_from_contact(
        &self,
        request: Request<pb::OpenEnquiryFromContactRequest>,
    ) -> Result<Response<pb::Enquiry>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle(
            "OpenEnquiryFromContact",
            &metadata,
            BrokerService::open_enquiry_from_contact(self, caller, request.into_inner()),
        )
        .await
    }

    async fn get_enquiry_workflow(
        &self,
        request: Request<pb::GetEnquiryWorkflowRequest>,
    ) -> Result<Response<pb::EnquiryWorkflow>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetEnquiryWorkflow", &metadata, BrokerService::get_enquiry_workflow(self, caller, request.into_inner()))
            .await
    }

    async fn transition_enquiry(
        &self,
        request: Request<pb::TransitionEnquiryRequest>,
    ) -> Result<Response<pb::EnquiryWorkflow>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("TransitionEnquiry", &metadata, BrokerService::transition_enquiry(self, caller, request.into_inner()))
            .await
    }

    async fn record_decision(
        &self,
        request: Request<pb::RecordDecisionRequest>,
    ) -> Result<Response<pb::EnquiryWorkflow>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("RecordDecision", &metadata, BrokerService::record_decision(self, caller, request.into_inner())).await
    }

    async fn close_enquiry(
        &self,
        request: Request<pb::CloseEnquiryRequest>,
    ) -> Result<Response<pb::EnquiryWorkflow>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("CloseEnquiry", &metadata, BrokerService::close_enquiry(self, caller, request.into_inner())).await
    }

    async fn get_report(
        &self,
        request: Request<pb::GetReportRequest>,
    ) -> Result<Response<pb::PerformanceReport>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetReport", &metadata, BrokerService::get_report(self, caller, request.into_inner())).await
    }

    async fn confirm_match(
        &self,
        request: Request<pb::ConfirmMatchRequest>,
    ) -> Result<Response<pb::ConfirmMatchResponse>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("ConfirmMatch", &metadata, self.confirm_match(caller, request.into_inner())).await
    }

    async fn get_family_summary(
        &self,
        request: Request<pb::GetFamilySummaryRequest>,
    ) -> Result<Response<pb::FamilySummary>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("GetFamilySummary", &metadata, self.family_summary(caller, request.into_inner())).await
    }

    async fn share_with_agency(
        &self,
        request: Request<pb::ShareWithAgencyRequest>,
    ) -> Result<Response<pb::AgencyMessage>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("ShareWithAgency", &metadata, self.share_with_agency(caller, request.into_inner())).await
    }

    async fn poll_messages(
        &self,
        request: Request<pb::PollMessagesRequest>,
    ) -> Result<Response<pb::PollMessagesResponse>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("PollMessages", &metadata, self.poll_messages(caller, request.into_inner())).await
    }

    type SubscribeMessagesStream = crate::messages::MessageStream;

    async fn subscribe_messages(
        &self,
        request: Request<pb::SubscribeMessagesRequest>,
    ) -> Result<Response<Self::SubscribeMessagesStream>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("SubscribeMessages", &metadata, self.subscribe_messages(caller, request.into_inner())).await
    }

    async fn ack_messages(
        &self,
        request: Request<pb::AckMessagesRequest>,
    ) -> Result<Response<pb::AckMessagesResponse>, Status> {
        let caller = mash_transport::peer_identity(&request)?;
        let metadata = request.metadata().clone();
        handle("AckMessages", &metadata, self.ack_messages(caller, request.into_inner())).await
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
