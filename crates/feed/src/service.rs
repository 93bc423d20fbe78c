//! The feed's gRPC services over a [`FeedStore`]: `mash.v1.FeedIngest` for
//! the agency's system, `mash.v1.FeedSearch` for the broker.

use std::{collections::VecDeque, pin::Pin, sync::Arc};

use futures::StreamExt;
use mash_domain::{Agency, DomainError, Person, PersonInput, today};
use mash_matching::{Field, Scored, Verdict};
use mash_policy::{Action, LivePolicy, access::Scope};
use mash_proto::v1 as pb;
use prost::Message;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use crate::{
    FeedError,
    item::{NewRecord, RecordAdapter},
    store::{FeedStore, Found, Prepared, Upserted},
};

/// The largest single pushed record, in encoded bytes. A push is one stream
/// of records (tonic's decoding limit, per message, stays at its 4 MiB
/// default on the ingest service): a record over this limit is rejected and
/// reported by index like any other bad row, and the rest of the push stands.
pub const MAX_RECORD_BYTES: usize = mash_transport::MAX_MESSAGE_BYTES;
/// The most subjects one search may ask about.
const MAX_SUBJECTS: usize = 50;
/// Records stored per transaction during a push. Each commit writes back the pages of the
/// blind-key index's newest epoch that it touched; larger batches share those pages between more
/// keys. 20,000 records are ~40 MiB of memory; two batches are held, one written, one gathered.
const PUSH_BATCH: usize = 20_000;
/// Pushed rows checked, sealed and blind-indexed by one blocking task. This work, about a third
/// of the feed's CPU in a push, ran on the one task reading the stream, so that task was the
/// push's bottleneck however many cores were free; in chunks, it spreads over the cores while
/// the stream is read.
const PREPARE_CHUNK: usize = 1_000;
/// Chunks being prepared at once, beyond the one just read: enough for the cores to take a
/// chunk each, few enough to bound the rows held (~1 MiB a chunk).
const PREPARING: usize = 4;

/// `mash.v1.FeedIngest`: the agency's own system pushes and deletes its records.
#[derive(Clone)]
pub(crate) struct FeedIngestApi {
    pub(crate) adapter: Arc<dyn RecordAdapter>,
    pub(crate) store: Arc<FeedStore>,
    pub(crate) policy: Arc<LivePolicy>,
}

/// `mash.v1.FeedSearch`: the broker searches the agency's records.
pub(crate) struct FeedSearchApi {
    pub(crate) agency: Agency,
    pub(crate) store: Arc<FeedStore>,
    pub(crate) policy: Arc<LivePolicy>,
}

/// Allows the caller `action` on `agency`'s feed, or refuses it.
fn authorise<T>(policy: &LivePolicy, agency: Agency, request: &Request<T>, action: Action) -> Result<(), Status> {
    let caller = mash_transport::caller(request)?;
    let scope = match action {
        Action::FeedSearch => Scope::Any,
        _ => Scope::Feed(agency),
    };
    if policy.current().access.allows(&caller, action, scope) {
        Ok(())
    } else {
        tracing::warn!(action = action.as_str(), "refused: caller not permitted");
        Err(FeedError::PermissionDenied {
            identity: caller.to_string(),
            action: action.as_str(),
            agency: agency.as_str(),
        }
        .into())
    }
}

impl FeedIngestApi {
    fn agency(&self) -> Agency {
        self.adapter.agency()
    }

    /// Validates one pushed row into a record, naming the field at fault.
    fn parse_record(&self, row: &pb::PushRecord) -> Result<NewRecord, DomainError> {
        if row.encoded_len() > MAX_RECORD_BYTES {
            return Err(DomainError::invalid(
                "record",
                format!("is {} bytes; the limit is {MAX_RECORD_BYTES}", row.encoded_len()),
            ));
        }
        let record_id = row.record_id.trim();
        if record_id.is_empty() || record_id.len() > 128 {
            return Err(DomainError::invalid("record_id", "must be 1 to 128 characters"));
        }
        if row.version == 0 || i64::try_from(row.version).is_err() {
            return Err(DomainError::invalid("version", "must be a positive integer below 2^63"));
        }
        let subject = row.subject.as_ref().ok_or_else(|| DomainError::invalid("subject", "is missing"))?;
        let subject = Person::parse("subject", person_input(subject), today())?;
        let body = row.body.as_ref().ok_or_else(|| DomainError::invalid("body", "is missing"))?;
        let content = self.adapter.to_item(body)?;
        let record = NewRecord { record_id: record_id.to_owned(), version: row.version, subject, content };
        record.check_text()?;
        Ok(record)
    }

    /// Reads up to a chunk of pushed rows, each with its index in the stream; true if the stream
    /// ended.
    async fn receive(
        &self,
        stream: &mut Streaming<pb::PushRecord>,
        summary: &mut pb::PushResponse,
    ) -> Result<(Vec<(u64, pb::PushRecord)>, bool), Status> {
        let mut rows = Vec::with_capacity(PREPARE_CHUNK);
        while rows.len() < PREPARE_CHUNK {
            let Some(row) = stream.next().await else { return Ok((rows, true)) };
            rows.push((summary.received, row?));
            summary.received += 1;
        }
        Ok((rows, false))
    }

    /// Checks and prepares rows on a blocking thread: each one ready to store, or why not.
    fn prepare(&self, rows: Vec<(u64, pb::PushRecord)>) -> JoinHandle<Result<Vec<Checked>, FeedError>> {
        let service = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut sealer = service.store.sealer(rows.len());
            rows.into_iter()
                .map(|(index, row)| match service.parse_record(&row) {
                    Ok(record) => Ok(Checked::Ready(index, service.store.prepare(&mut sealer, record)?)),
                    Err(e) => Ok(Checked::Rejected(pb::Rejection {
                        index,
                        record_id: row.record_id,
                        field: e.field,
                        reason: e.problem,
                    })),
                })
                .collect()
        })
    }

    /// Writes a batch in its own task, so that the next one is received and prepared meanwhile.
    fn store_batch(&self, batch: Vec<(u64, Prepared)>) -> JoinHandle<Result<Stored, FeedError>> {
        let store = Arc::clone(&self.store);
        tokio::spawn(
            async move {
                let (indexes, records): (Vec<u64>, Vec<Prepared>) = batch.into_iter().unzip();
                let outcomes = store.upsert(&records).await?;
                Ok(Stored { indexes, records, outcomes })
            }
            .in_current_span(),
        )
    }
}

/// A pushed row, checked.
enum Checked {
    Ready(u64, Prepared),
    Rejected(pb::Rejection),
}

/// A batch written, and what happened to each of its records.
struct Stored {
    indexes: Vec<u64>,
    records: Vec<Prepared>,
    outcomes: Vec<Upserted>,
}

async fn account(writing: JoinHandle<Result<Stored, FeedError>>, summary: &mut pb::PushResponse) -> Result<(), Status> {
    let Stored { indexes, records, outcomes } =
        writing.await.map_err(|e| FeedError::Internal(format!("storing a batch: {e}")))??;
    for ((index, record), outcome) in indexes.into_iter().zip(&records).zip(outcomes) {
        match outcome {
            Upserted::Stored => summary.stored += 1,
            Upserted::Unchanged => summary.unchanged += 1,
            Upserted::Stale { stored_version } => summary.rejected.push(pb::Rejection {
                index,
                record_id: record.record_id().to_owned(),
                field: "version".into(),
                reason: format!("version {} is older than the stored version {stored_version}", record.version()),
            }),
            Upserted::Conflict => summary.rejected.push(pb::Rejection {
                index,
                record_id: record.record_id().to_owned(),
                field: "version".into(),
                reason: format!(
                    "version {} is stored with other contents; a change needs a new version",
                    record.version()
                ),
            }),
        }
    }
    Ok(())
}

pub fn person_input(p: &pb::Person) -> PersonInput<'_> {
    PersonInput {
        given_name: &p.given_name,
        family_name: &p.family_name,
        date_of_birth: &p.date_of_birth,
        nhs_number: &p.nhs_number,
        upn: &p.upn,
        postcode: &p.postcode,
        sex: &p.sex,
        previous_family_names: &p.previous_family_names,
    }
}

#[tonic::async_trait]
impl pb::feed_ingest_server::FeedIngest for FeedIngestApi {
    async fn push(&self, request: Request<Streaming<pb::PushRecord>>) -> Result<Response<pb::PushResponse>, Status> {
        self.push_records(request).await
    }

    async fn delete(&self, request: Request<pb::DeleteRequest>) -> Result<Response<pb::DeleteResponse>, Status> {
        self.delete_record(request).await
    }
}

#[tonic::async_trait]
impl pb::feed_search_server::FeedSearch for FeedSearchApi {
    async fn search(&self, request: Request<pb::SearchRequest>) -> Result<Response<pb::SearchResponse>, Status> {
        self.search_people(request).await
    }
}

impl FeedIngestApi {
    async fn push_records(
        &self,
        request: Request<Streaming<pb::PushRecord>>,
    ) -> Result<Response<pb::PushResponse>, Status> {
        authorise(&self.policy, self.agency(), &request, Action::FeedPush)?;
        let span = tracing::info_span!(
            "feed.push",
            agency = %self.agency(),
            received = tracing::field::Empty,
        );
        let mut stream = request.into_inner();
        let mut summary = pb::PushResponse::default();
        async {
            // Rows are read in chunks, each chunk prepared on a blocking thread, and prepared
            // rows gathered, in stream order, into batches; at most one batch is being written
            // while the next is gathered.
            let mut preparing = VecDeque::new();
            let mut batch = Vec::with_capacity(PUSH_BATCH);
            let mut writing = None;
            loop {
                let (rows, ended) = self.receive(&mut stream, &mut summary).await?;
                if !rows.is_empty() {
                    preparing.push_back(self.prepare(rows));
                }
                while preparing.len() > PREPARING || (ended && !preparing.is_empty()) {
                    let Some(chunk) = preparing.pop_front() else { break };
                    let chunk = chunk.await.map_err(|e| FeedError::Internal(format!("preparing records: {e}")))??;
                    for checked in chunk {
                        match checked {
                            Checked::Ready(index, record) => batch.push((index, record)),
                            Checked::Rejected(rejection) => summary.rejected.push(rejection),
                        }
                    }
                    if batch.len() >= PUSH_BATCH {
                        if let Some(previous) = writing.take() {
                            account(previous, &mut summary).await?;
                        }
                        writing = Some(self.store_batch(std::mem::replace(&mut batch, Vec::with_capacity(PUSH_BATCH))));
                    }
                }
                if ended {
                    break;
                }
            }
            if let Some(previous) = writing.take() {
                account(previous, &mut summary).await?;
            }
            if !batch.is_empty() {
                account(self.store_batch(batch), &mut summary).await?;
            }
            summary.rejected.sort_by_key(|r| r.index);
            let metrics = mash_telemetry::metrics::metrics();
            let agency = self.agency().as_str();
            metrics.feed_pushed(agency, "stored", summary.stored);
            metrics.feed_pushed(agency, "unchanged", summary.unchanged);
            metrics.feed_pushed(agency, "rejected", summary.rejected.len() as u64);
            tracing::Span::current().record("received", summary.received);
            tracing::info!(
                stored = summary.stored,
                unchanged = summary.unchanged,
                rejected = summary.rejected.len(),
                "push complete"
            );
            Ok::<_, Status>(())
        }
        .instrument(span)
        .await?;
        Ok(Response::new(summary))
    }

    async fn delete_record(&self, request: Request<pb::DeleteRequest>) -> Result<Response<pb::DeleteResponse>, Status> {
        authorise(&self.policy, self.agency(), &request, Action::FeedDelete)?;
        let record_id = request.get_ref().record_id.trim();
        if record_id.is_empty() {
            return Err(FeedError::Invalid(DomainError::invalid("record_id", "is empty")).into());
        }
        let deleted = self.store.delete(record_id).await?;
        Ok(Response::new(pb::DeleteResponse { deleted }))
    }
}

impl FeedSearchApi {
    fn agency(&self) -> Agency {
        self.agency
    }

    async fn search_people(&self, request: Request<pb::SearchRequest>) -> Result<Response<pb::SearchResponse>, Status> {
        authorise(&self.policy, self.agency, &request, Action::FeedSearch)?;
        let span = tracing::info_span!(
            "feed.search",
            agency = %self.agency(),
            subjects = request.get_ref().subjects.len(),
        );
        let queries = parse_queries(request.get_ref()).map_err(FeedError::from)?;
        async {
            let (refs, people): (Vec<String>, Vec<Person>) = queries.into_iter().unzip();
            let matches = self.store.search(&people).await?;
            let results: Vec<pb::SubjectResult> = refs
                .into_iter()
                .zip(matches)
                .filter(|(_, found)| !found.is_empty())
                .map(|(subject_ref, found)| pb::SubjectResult {
                    subject_ref,
                    matched_on: matched_on(&found).into(),
                    items: found.into_iter().map(to_wire).collect(),
                })
                .collect();
            tracing::debug!(matched = results.len(), "search complete");
            Ok(Response::new(pb::SearchResponse { results }))
        }
        .instrument(span)
        .await
        .map_err(|e: FeedError| e.into())
    }
}

fn parse_queries(request: &pb::SearchRequest) -> Result<Vec<(String, Person)>, DomainError> {
    if request.subjects.is_empty() || request.subjects.len() > MAX_SUBJECTS {
        return Err(DomainError::invalid("subjects", format!("must hold 1 to {MAX_SUBJECTS} subjects")));
    }
    let today = today();
    request
        .subjects
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let field = format!("subjects[{i}].person");
            let person = q.person.as_ref().ok_or_else(|| DomainError::invalid(&field, "is missing"))?;
            Ok((q.subject_ref.clone(), Person::parse(&field, person_input(person), today)?))
        })
        .collect()
}

/// The strongest way any record matched: an identifier, else probabilistically.
fn matched_on(found: &[Found]) -> pb::MatchedOn {
    let by = |field: Field| {
        found.iter().any(|f| f.scored.probability >= 1.0 && f.scored.breakdown.iter().any(|row| row.field == field))
    };
    if by(Field::NhsNumber) {
        pb::MatchedOn::NhsNumber
    } else if by(Field::Upn) {
        pb::MatchedOn::Upn
    } else {
        pb::MatchedOn::Probabilistic
    }
}

fn explanation(scored: Scored) -> pb::MatchExplanation {
    pb::MatchExplanation {
        verdict: match scored.verdict {
            Verdict::Match => pb::MatchVerdict::Match,
            Verdict::PossibleMatch => pb::MatchVerdict::PossibleMatch,
            // The store drops non-matches before they reach the wire.
            Verdict::NoMatch => pb::MatchVerdict::Unspecified,
        }
        .into(),
        probability: scored.probability,
        weight: scored.weight,
        fields: scored
            .breakdown
            .into_iter()
            .map(|row| pb::MatchField { field: row.field.as_str().into(), level: row.level.into(), weight: row.weight })
            .collect(),
    }
}

fn to_wire(found: Found) -> pb::Item {
    let Found { item, scored } = found;
    let kind = match item.kind {
        mash_domain::ItemKind::Involvement => pb::ItemKind::Involvement,
        mash_domain::ItemKind::State => pb::ItemKind::State,
        mash_domain::ItemKind::Event => pb::ItemKind::Event,
    };
    let sensitivity = match item.sensitivity {
        mash_domain::Sensitivity::Standard => pb::Sensitivity::Standard,
        mash_domain::Sensitivity::Sensitive => pb::Sensitivity::Sensitive,
        mash_domain::Sensitivity::Restricted => pb::Sensitivity::Restricted,
    };
    pb::Item {
        record_id: item.record_id,
        version: item.version,
        kind: kind.into(),
        category: item.category.as_str().into(),
        sensitivity: sensitivity.into(),
        date: item.date.to_string(),
        fields: item
            .fields
            .into_iter()
            .map(|f| pb::Field { name: f.name, value: f.value, restricted: f.restricted })
            .collect(),
        r#match: Some(explanation(scored)),
    }
}

/// A boxed future, for the server task.
pub type ServeFuture = Pin<Box<dyn std::future::Future<Output = Result<(), mash_transport::TransportError>> + Send>>;
