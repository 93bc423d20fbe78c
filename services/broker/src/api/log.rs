//! `mash.v1.DisclosureLogService`: information governance searches the log,
//! reads what a disclosure showed, purges expired content, reviews signals,
//! and checks the log's tamper evidence. Every read is itself logged.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use mash_disclosure_log::{DisclosureLog, Entry, LogFilter, Outcome};
use mash_domain::{Agency, DomainError, Tier};
use mash_policy::{Action, access::Scope};
use mash_proto::v1 as pb;
use prost::Message;
use tonic::{Request, Response, Status};

use crate::{
    BrokerError,
    authz::{Authz, Call},
    enquiry::EnquiryStore,
    error::Missing,
    wire,
};

pub(crate) struct LogApi {
    pub(crate) authz: Authz,
    pub(crate) log: DisclosureLog,
    /// A search for a person finds them by the pseudonyms the enquiries give them.
    pub(crate) enquiries: Arc<EnquiryStore>,
    /// How long exactly-what-was-shown is kept.
    pub(crate) content_retention: Duration,
}

impl LogApi {
    async fn search_log_entries(
        &self,
        call: &Call<'_>,
        request: pb::SearchLogEntriesRequest,
    ) -> Result<pb::SearchLogEntriesResponse, BrokerError> {
        let mut filter = self.log_filter(&request)?;
        // Information governance reads everything; an agency system only the
        // entries about its own agency's records; anyone else nothing.
        if !call.allows(Action::LogSearch, Scope::Any) {
            let own = Agency::all().iter().copied().find(|a| call.allows(Action::LogSearch, Scope::Feed(*a)));
            let Some(own) = own else {
                return Err(call.refuse(Action::LogSearch, None).await);
            };
            filter.agency = Some(own.as_str().to_owned());
        }
        let after = token_after(&request)?;
        let page_size = if request.page_size == 0 { 100 } else { request.page_size.min(1000) };
        log_the_search(&self.log, call, &filter).await?;
        let entries = self.log.search(&filter, after, page_size).await?;
        let next_page_token = if entries.len() == page_size as usize {
            entries.last().map(|e| page_token(e.seq, &request)).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::SearchLogEntriesResponse { entries: entries.into_iter().map(entry_to_wire).collect(), next_page_token })
    }

    fn log_filter(&self, request: &pb::SearchLogEntriesRequest) -> Result<LogFilter, BrokerError> {
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

    async fn get_checkpoint(
        &self,
        call: &Call<'_>,
        request: pb::GetCheckpointRequest,
    ) -> Result<pb::SignedCheckpoint, BrokerError> {
        require_ig(call).await?;
        let ledger = self.log.checkpointer();
        let signed = ledger.checkpoint_of(request.size).await?;
        let signed = signed.ok_or_else(|| {
            BrokerError::NotFound(Missing::Checkpoint, format!("no checkpoint of size {}", request.size))
        })?;
        Ok(checkpoint_to_wire(signed, ledger.verifying_key()))
    }

    async fn get_inclusion_proof(
        &self,
        call: &Call<'_>,
        request: pb::GetInclusionProofRequest,
    ) -> Result<pb::InclusionProof, BrokerError> {
        require_ig(call).await?;
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

    async fn get_consistency_proof(
        &self,
        call: &Call<'_>,
        request: pb::GetConsistencyProofRequest,
    ) -> Result<pb::ConsistencyProof, BrokerError> {
        require_ig(call).await?;
        let path = self.log.checkpointer().consistency_proof(request.old_size, request.new_size).await?;
        Ok(pb::ConsistencyProof {
            old_size: request.old_size,
            new_size: request.new_size,
            path: path.iter().map(|h| h.to_vec()).collect(),
        })
    }

    async fn verify_log(&self, call: &Call<'_>) -> Result<pb::VerifyLogResponse, BrokerError> {
        require_ig(call).await?;
        Ok(match self.log.verify().await? {
            Ok(verified) => pb::VerifyLogResponse {
                intact: true,
                entries: verified.entries,
                checkpoints: verified.checkpoints,
                ..Default::default()
            },
            Err(finding) => pb::VerifyLogResponse {
                intact: false,
                finding: finding.message,
                first_bad_seq: finding.seq.unwrap_or(0),
                ..Default::default()
            },
        })
    }

    /// IG reads what a disclosure showed; the reading is itself logged.
    async fn get_disclosed_content(&self, call: &Call<'_>, seq: u64) -> Result<pb::DisclosedContent, BrokerError> {
        require_ig(call).await?;
        let bytes = self.log.shown(seq).await?;
        let bytes = bytes.ok_or_else(|| {
            BrokerError::NotFound(
                Missing::DisclosedContent,
                format!("entry {seq} showed nothing, or its content was purged"),
            )
        })?;
        let content = pb::DisclosedContent::decode(bytes.as_slice())
            .map_err(|_| BrokerError::Internal("stored disclosed content does not decode".into()))?;
        log_ig_action(&self.log, call, format!("disclosed content of entry {seq} viewed")).await?;
        Ok(pb::DisclosedContent { seq, ..content })
    }

    /// Purges disclosed content past the retention period; logged.
    async fn purge_expired_content(&self, call: &Call<'_>) -> Result<pb::PurgeExpiredContentResponse, BrokerError> {
        require_ig(call).await?;
        let cutoff = time::OffsetDateTime::now_utc() - self.content_retention;
        let cutoff = crate::timestamp(cutoff);
        let purged = self.log.purge_content(&cutoff).await?;
        log_ig_action(&self.log, call, format!("disclosed content recorded before {cutoff} purged: {purged} items"))
            .await?;
        Ok(pb::PurgeExpiredContentResponse { purged, cutoff })
    }

    async fn list_review_signals(
        &self,
        call: &Call<'_>,
        request: pb::ListReviewSignalsRequest,
    ) -> Result<pb::ListReviewSignalsResponse, BrokerError> {
        require_ig(call).await?;
        let optional =
            |field: &str, raw: &str| (!raw.trim().is_empty()).then(|| crate::parse_timestamp(field, raw)).transpose();
        let filter = LogFilter {
            recorded_from: optional("recorded_from", &request.recorded_from)?,
            recorded_to: optional("recorded_to", &request.recorded_to)?,
            ..LogFilter::default()
        };
        log_the_search(&self.log, call, &filter).await?;
        let entries = self.log.search_all(&filter).await?;
        let signals = crate::review::signals(&entries)
            .into_iter()
            .map(|s| pb::ReviewSignal {
                kind: review_signal_kind(s.kind).into(),
                requester: s.requester,
                detail: s.detail,
                seqs: s.seqs,
            })
            .collect();
        Ok(pb::ListReviewSignalsResponse { signals })
    }

    async fn export_log(&self, call: &Call<'_>) -> Result<ExportChunks, BrokerError> {
        require_ig(call).await?;
        // An export takes every entry out of the broker: it is on the record
        // too, logged before the first page is read, so the export holds it.
        log_ig_action(&self.log, call, "disclosure log exported".into()).await?;
        let chunks = self.log.export().map(|chunk| {
            chunk.map(|lines| pb::ExportLogResponse { lines }).map_err(|error| Status::from(BrokerError::from(error)))
        });
        Ok(Box::pin(chunks))
    }
}

/// An export as it is read: a chunk of lines a page of the log, whatever the log's size.
type ExportChunks = std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::ExportLogResponse, Status>> + Send>>;

impl LogApi {}

#[tonic::async_trait]
impl pb::disclosure_log_service_server::DisclosureLogService for LogApi {
    async fn search_log_entries(
        &self,
        request: Request<pb::SearchLogEntriesRequest>,
    ) -> Result<Response<pb::SearchLogEntriesResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::search_log_entries(self, &call, request.into_inner()).await?))
    }

    async fn get_disclosed_content(
        &self,
        request: Request<pb::GetDisclosedContentRequest>,
    ) -> Result<Response<pb::DisclosedContent>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::get_disclosed_content(self, &call, request.get_ref().seq).await?))
    }

    async fn purge_expired_content(
        &self,
        request: Request<pb::PurgeExpiredContentRequest>,
    ) -> Result<Response<pb::PurgeExpiredContentResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::purge_expired_content(self, &call).await?))
    }

    async fn list_review_signals(
        &self,
        request: Request<pb::ListReviewSignalsRequest>,
    ) -> Result<Response<pb::ListReviewSignalsResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::list_review_signals(self, &call, request.into_inner()).await?))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::SignedCheckpoint>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::get_checkpoint(self, &call, request.into_inner()).await?))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::get_inclusion_proof(self, &call, request.into_inner()).await?))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::get_consistency_proof(self, &call, request.into_inner()).await?))
    }

    async fn verify_log(
        &self,
        request: Request<pb::VerifyLogRequest>,
    ) -> Result<Response<pb::VerifyLogResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::verify_log(self, &call).await?))
    }

    type ExportLogStream = ExportChunks;

    async fn export_log(
        &self,
        request: Request<pb::ExportLogRequest>,
    ) -> Result<Response<Self::ExportLogStream>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(LogApi::export_log(self, &call).await?))
    }
}

/// Every search of the log is itself an entry, recording its filters
/// (a person only by pseudonym).
async fn log_the_search(log: &DisclosureLog, call: &Call<'_>, filter: &LogFilter) -> Result<(), BrokerError> {
    let filters = [
        ("enquiry", filter.enquiry_id.as_deref()),
        ("requester", filter.requester.as_deref()),
        ("agency", filter.agency.as_deref()),
        ("outcome", filter.outcome.map(Outcome::as_str)),
        ("from", filter.recorded_from.as_deref()),
        ("to", filter.recorded_to.as_deref()),
    ];
    let person_ref = filter.person_refs.as_ref().and_then(|refs| refs.first()).map(String::as_str);
    let entry = call
        .caller_entry()
        .enquiry_filter(filter.enquiry_id.as_deref().unwrap_or_default())?
        .agency(filter.agency.as_deref().unwrap_or_default())
        .search(&filters, person_ref)
        .map_err(|e| DomainError::invalid(search_field(&e.field), e.problem))?
        .build(Outcome::LogSearched, Tier::None, "");
    Ok(log.append(vec![entry.into()]).await?)
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

/// The log's tamper evidence is for information governance.
async fn require_ig(call: &Call<'_>) -> Result<(), BrokerError> {
    call.require(Action::LogSearch, Scope::Any, None).await
}

async fn log_ig_action(log: &DisclosureLog, call: &Call<'_>, reason: String) -> Result<(), BrokerError> {
    let entry = call.caller_entry().build(Outcome::LogSearched, Tier::None, reason);
    Ok(log.append(vec![entry.into()]).await?)
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

/// A review signal's kind as the wire names it.
fn review_signal_kind(kind: &str) -> pb::ReviewSignalKind {
    match kind {
        "high-volume" => pb::ReviewSignalKind::HighVolume,
        "out-of-hours" => pb::ReviewSignalKind::OutOfHours,
        "same-person-new-enquiry" => pb::ReviewSignalKind::SamePersonNewEnquiry,
        "break-glass-or-override" => pb::ReviewSignalKind::BreakGlassOrOverride,
        _ => pb::ReviewSignalKind::Unspecified,
    }
}

/// A page token (AIP-158): opaque to the caller, and bound to the filter it
/// was issued for: the last sequence number sent, then a digest of the
/// request without its paging fields (`page_size` may change between pages).
fn page_token(after: u64, request: &pb::SearchLogEntriesRequest) -> String {
    format!("{}{}", hex::encode(after.to_be_bytes()), filter_digest(request))
}

fn filter_digest(request: &pb::SearchLogEntriesRequest) -> String {
    let filter = pb::SearchLogEntriesRequest { page_size: 0, page_token: String::new(), ..request.clone() };
    hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(filter.encode_to_vec())[..8])
}

/// Where the page a request asks for starts: after the sequence number in its
/// token, which must have been issued for this same filter.
fn token_after(request: &pb::SearchLogEntriesRequest) -> Result<u64, DomainError> {
    let token = request.page_token.trim();
    if token.is_empty() {
        return Ok(0);
    }
    let invalid = || DomainError::invalid("page_token", "is not a token this API issued for this filter");
    let (seq, digest) = token.split_at_checked(16).ok_or_else(invalid)?;
    if digest != filter_digest(request) {
        return Err(invalid());
    }
    let bytes: [u8; 8] = hex::decode(seq).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(invalid)?;
    Ok(u64::from_be_bytes(bytes))
}
