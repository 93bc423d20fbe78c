//! The gRPC handlers of what flows back to agencies: information products
//! sent from an enquiry, and each agency's queue (poll, subscribe, ack).
//! The queue itself is `outbox`.

use std::{collections::HashSet, pin::Pin, sync::Arc, time::Duration};

use futures::Stream;
use mash_disclosure_log::{Delivery, DisclosureLog, NewEntry, Outcome, Recipient};
use mash_domain::{Agency, ConsentState, DomainError, Level, Relation, Tier};
use mash_policy::Action;
use mash_proto::v1 as pb;
use prost::Message;
use tonic::Status;

use tonic::{Request, Response};

use crate::{
    BrokerError,
    authz::{Authz, Call},
    check::{digest, shown_content},
    error::Conflict,
    frontdoor::FrontDoorStore,
    outbox::{MAX_BATCH, Outbox},
    wire::person_to_wire,
};

pub(crate) struct QueueApi {
    pub(crate) authz: Authz,
    pub(crate) outbox: Outbox,
    /// A closed enquiry shares nothing; Operation Encompass waits for a school day.
    pub(crate) frontdoor: Arc<FrontDoorStore>,
    /// A share is logged, and queued, in one transaction.
    pub(crate) log: DisclosureLog,
}

const MAX_PRODUCT_CHARS: usize = 2000;
/// How often a subscription looks for messages that no commit in this
/// process announced: queued by another replica, or just become due.
const SUBSCRIPTION_POLL: Duration = Duration::from_secs(2);

pub(crate) type MessageStream = Pin<Box<dyn Stream<Item = Result<pb::AgencyMessage, Status>> + Send>>;

impl QueueApi {
    async fn share_with_agency(
        &self,
        call: &Call<'_>,
        request: pb::ShareWithAgencyRequest,
    ) -> Result<pb::AgencyMessage, BrokerError> {
        let enquiry = self.authz.load_enquiry(&request.enquiry_id).await?;
        call.require_on(Action::EnquiryShare, &enquiry).await?;
        let agency = match request.agency.trim() {
            "" => return Err(DomainError::invalid("agency", "is required, e.g. education").into()),
            raw => Agency::parse("agency", raw)?,
        };
        let kind = product_kind(request.kind, agency)?;
        let text = request.text.trim();
        if text.is_empty() || text.chars().count() > MAX_PRODUCT_CHARS {
            return Err(DomainError::invalid("text", format!("must hold 1 to {MAX_PRODUCT_CHARS} characters")).into());
        }
        // Early help works with the family's agreement: nothing is passed on without it.
        if enquiry.level == Level::EarlyHelp && enquiry.consent != ConsentState::Given {
            return Err(BrokerError::FailedPrecondition(
                Conflict::ConsentRequired,
                "a level 1 (early help) enquiry shares with agencies only with the family's consent".into(),
            ));
        }
        if self.frontdoor.state(enquiry.enquiry_id).await? == Some(mash_frontdoor::EnquiryState::Closed) {
            return Err(BrokerError::FailedPrecondition(
                Conflict::EnquiryClosed,
                format!("enquiry {} is closed", enquiry.enquiry_id),
            ));
        }
        let child = enquiry.subjects.iter().find(|s| s.relation == Relation::Child);
        let product = pb::InformationProduct {
            enquiry_id: enquiry.enquiry_id.to_string(),
            kind: kind.into(),
            text: text.to_owned(),
            child: child.map(|c| person_to_wire(&c.person)),
            shared_by: call.caller.to_string(),
            seq: 0,
        };
        let now = time::OffsetDateTime::now_utc();
        let deliver_after = match kind {
            pb::InformationProductKind::OperationEncompass => self.frontdoor.calendar().start_of_next_school_day(now),
            _ => now,
        };
        let message_id = format!("p-{}", uuid::Uuid::new_v4());
        let shown = shown_content(pb::disclosed_content::Shown::Notice(text.to_owned()));
        let child_id = child.map(|c| c.subject_id.to_string()).unwrap_or_default();
        let fields = call
            .subject_entry(&enquiry, &child_id, agency)
            .record("", &format!("information-product/{}", kind_code(kind)))?
            .shown_to(Recipient::Agency(agency.as_str().into()), digest(text.as_bytes()))
            .build(Outcome::Shared, Tier::Detail, format!("information product {message_id} sent to {agency}"));
        let entry = NewEntry::from(fields).showing(shown).delivering(Delivery {
            agency,
            message_id: message_id.clone(),
            deliver_after: crate::timestamp(deliver_after),
            payload: product.encode_to_vec(),
        });
        // The log entry and the queued message are one transaction.
        self.log.append(vec![entry]).await?;
        tracing::info!(enquiry_id = %enquiry.enquiry_id, %agency, kind = kind_code(kind), "information product queued");
        self.outbox
            .get(agency, &message_id)
            .await?
            .ok_or_else(|| BrokerError::Internal("queued message missing".into()))
    }

    async fn poll_messages(
        &self,
        call: &Call<'_>,
        request: pb::PollMessagesRequest,
    ) -> Result<pb::PollMessagesResponse, BrokerError> {
        let agency = queue_of(call, &request.agency).await?;
        let max = if request.max == 0 { MAX_BATCH } else { request.max.min(MAX_BATCH) };
        Ok(pb::PollMessagesResponse { messages: self.outbox.due(agency, max).await? })
    }

    async fn ack_messages(
        &self,
        call: &Call<'_>,
        request: pb::AckMessagesRequest,
    ) -> Result<pb::AckMessagesResponse, BrokerError> {
        let agency = queue_of(call, "").await?;
        if request.message_ids.is_empty() || request.message_ids.len() > MAX_BATCH as usize {
            return Err(DomainError::invalid("message_ids", format!("must name 1 to {MAX_BATCH} messages")).into());
        }
        if let Some(i) = request.message_ids.iter().position(|id| id.trim().is_empty()) {
            return Err(DomainError::invalid(format!("message_ids[{i}]"), "is empty").into());
        }
        let acknowledged = self.outbox.ack(agency, &request.message_ids, &call.caller).await?;
        tracing::info!(%agency, acknowledged, "messages acknowledged");
        Ok(pb::AckMessagesResponse { acknowledged })
    }

    async fn subscribe_messages(
        &self,
        call: &Call<'_>,
        request: pb::SubscribeMessagesRequest,
    ) -> Result<MessageStream, BrokerError> {
        let agency = queue_of(call, &request.agency).await?;
        tracing::info!(%agency, "queue subscribed");
        Ok(Box::pin(subscription(self.outbox.clone(), agency)))
    }
}

/// The caller's own agency, whose queue it may read; a request that names
/// another agency is refused.
async fn queue_of(call: &Call<'_>, requested: &str) -> Result<Agency, BrokerError> {
    let Some(agency) = call.own_agency(Action::QueueRead) else {
        return Err(call.refuse(Action::QueueRead, None).await);
    };
    match requested.trim() {
        "" => Ok(agency),
        raw if Agency::parse("agency", raw)? == agency => Ok(agency),
        _ => Err(call.refuse(Action::QueueRead, None).await),
    }
}

fn product_kind(raw: i32, agency: Agency) -> Result<pb::InformationProductKind, DomainError> {
    match pb::InformationProductKind::try_from(raw) {
        Ok(pb::InformationProductKind::Unspecified) => {
            Err(DomainError::invalid("kind", "is required: operation encompass or notification"))
        }
        Ok(pb::InformationProductKind::OperationEncompass) if agency != Agency::EDUCATION => Err(DomainError::invalid(
            "agency",
            "an Operation Encompass notification goes to the child's school (education)",
        )),
        Ok(kind) => Ok(kind),
        Err(_) => Err(DomainError::invalid("kind", "unknown information product kind")),
    }
}

fn kind_code(kind: pb::InformationProductKind) -> &'static str {
    match kind {
        pb::InformationProductKind::OperationEncompass => "operation-encompass",
        _ => "notification",
    }
}

/// Every due, unacknowledged message once, then each new one as it becomes
/// due, until the client hangs up or the broker stops. What this stream sent
/// but the agency did not acknowledge is sent again by the next subscription.
fn subscription(outbox: Outbox, agency: Agency) -> impl Stream<Item = Result<pb::AgencyMessage, Status>> + Send {
    struct State {
        outbox: Outbox,
        agency: Agency,
        sent: HashSet<String>,
        ready: std::collections::VecDeque<pb::AgencyMessage>,
    }
    let state = State { outbox, agency, sent: HashSet::new(), ready: Default::default() };
    futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(message) = s.ready.pop_front() {
                return Some((Ok(message), s));
            }
            if s.outbox.stopping() {
                return None;
            }
            // Registered before the query, so that a commit during it still wakes us.
            let outbox = s.outbox.clone();
            let commit = outbox.next_commit();
            match outbox.due(s.agency, MAX_BATCH).await {
                Ok(due) => {
                    let sent = &mut s.sent;
                    sent.retain(|id| due.iter().any(|m| &m.message_id == id));
                    let fresh: Vec<_> = due.into_iter().filter(|m| !sent.contains(&m.message_id)).collect();
                    sent.extend(fresh.iter().map(|m| m.message_id.clone()));
                    s.ready.extend(fresh);
                }
                Err(error) => return Some((Err(Status::from(error)), s)),
            }
            if s.ready.is_empty() {
                tokio::select! {
                    () = commit => {}
                    () = tokio::time::sleep(SUBSCRIPTION_POLL) => {}
                    () = outbox.stopped() => return None,
                }
            }
        }
    })
}

#[tonic::async_trait]
impl pb::agency_queue_service_server::AgencyQueueService for QueueApi {
    async fn share_with_agency(
        &self,
        request: Request<pb::ShareWithAgencyRequest>,
    ) -> Result<Response<pb::AgencyMessage>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.share_with_agency(&call, request.into_inner()).await?))
    }

    async fn poll_messages(
        &self,
        request: Request<pb::PollMessagesRequest>,
    ) -> Result<Response<pb::PollMessagesResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.poll_messages(&call, request.into_inner()).await?))
    }

    type SubscribeMessagesStream = MessageStream;

    async fn subscribe_messages(
        &self,
        request: Request<pb::SubscribeMessagesRequest>,
    ) -> Result<Response<MessageStream>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.subscribe_messages(&call, request.into_inner()).await?))
    }

    async fn ack_messages(
        &self,
        request: Request<pb::AckMessagesRequest>,
    ) -> Result<Response<pb::AckMessagesResponse>, Status> {
        let call = self.authz.call(&request)?;
        Ok(Response::new(self.ack_messages(&call, request.into_inner()).await?))
    }
}
