//! The MASH broker: the only service MASH users talk to, and the only
//! identity the feeds answer searches from.
//!
//! Modules:
//! - `enquiry`: enquiries and their subjects, sealed at rest.
//! - `check`: one agency check: fan out, decide with the policy, redact.
//! - `log_hook`: what the disclosure log (`mash-disclosure-log`) writes
//!   beside each group: the agencies' messages its entries cause.
//! - `outbox`: each agency's queue.
//! - `authz`: one policy snapshot per call; authorisation and refusals.
//! - `api`: the gRPC edge, one service per audience (`api/mod.rs` lists
//!   them); `wire`: wire enums to domain codes; `error`: the one mapping to
//!   gRPC status codes.

mod api;
mod authz;
mod candidate;
mod check;
pub mod cli;
mod enquiry;
mod error;
mod frontdoor;
mod hold;
mod log_hook;
mod outbox;
mod review;
mod search_batch;
mod wire;

use std::{collections::HashMap, future::Future, net::SocketAddr, path::PathBuf, pin::Pin, sync::Arc, time::Duration};

pub use error::BrokerError;
use mash_db::Migrations;
use mash_disclosure_log::{CheckpointPolicy, Checkpointer, DisclosureLog, load_signer};
use mash_domain::{Agency, Identity};
use mash_policy::LivePolicy;
use mash_proto::v1::{
    agency_queue_service_server::AgencyQueueServiceServer, disclosure_log_service_server::DisclosureLogServiceServer,
    enquiry_service_server::EnquiryServiceServer, feed_search_client::FeedSearchClient,
    front_door_service_server::FrontDoorServiceServer, hold_service_server::HoldServiceServer,
};
use mash_seal::KeyRing;
use mash_telemetry::TracePropagation;
use mash_transport::TlsMaterial;
use search_batch::FeedSearches;

/// Everything the broker needs to start.
#[derive(Clone, Debug)]
pub struct BrokerSettings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub key_file: PathBuf,
    pub tls: TlsMaterial,
    /// The policy in force; reloaded by its owner while the broker runs.
    pub policy: Arc<LivePolicy>,
    /// Each agency's feed, e.g. `https://127.0.0.1:7401`.
    pub feeds: Vec<(Agency, String)>,
    /// How long a check waits for each feed.
    pub check_deadline: Duration,
    /// The Ed25519 key that signs the log's checkpoints.
    pub signing_key_file: PathBuf,
    pub checkpoints: mash_disclosure_log::CheckpointPolicy,
    /// How long exactly-what-was-shown is kept; the log itself is kept for ever.
    pub content_retention: Duration,
    /// The day items' ages are judged on.
    pub clock: Clock,
}

/// Today, for judging how old an item is: the system's date, or a fixed one
/// (for golden tests and demos, whose items must not age).
#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(time::Date),
}

impl Clock {
    pub fn today(self) -> time::Date {
        match self {
            Clock::System => mash_domain::today(),
            Clock::Fixed(date) => date,
        }
    }
}

pub type ServeFuture = Pin<Box<dyn Future<Output = Result<(), mash_transport::TransportError>> + Send>>;

/// A broker bound to its port and ready to serve.
pub struct BoundBroker {
    pub local_addr: SocketAddr,
    pub serve: ServeFuture,
    /// The disclosure log, for verification by tools and tests.
    pub log: DisclosureLog,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] mash_db::DbError),
    #[error(transparent)]
    Keys(#[from] mash_seal::SealError),
    #[error(transparent)]
    Transport(#[from] mash_transport::TransportError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Log(#[from] mash_disclosure_log::LogError),
}

fn migrations() -> Migrations {
    Migrations { sqlite: sqlx::migrate!("./migrations/sqlite"), postgres: sqlx::migrate!("./migrations/postgres") }
}

/// Connects storage, opens (lazy) channels to the feeds and binds the port;
/// the returned future serves until `shutdown` resolves.
pub async fn build(
    settings: BrokerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<BoundBroker, StartError> {
    let db = mash_db::connect(&settings.database_url, &migrations(), 8).await?;
    let keys = std::sync::Arc::new(KeyRing::load(&settings.key_file)?);
    let mut feeds = HashMap::new();
    for (agency, uri) in &settings.feeds {
        // Lazy: a feed that starts after the broker, or restarts, is picked up
        // without restarting the broker; until then it reports "unavailable".
        let channel = mash_transport::connect_lazy(uri, &settings.tls, &Identity::feed(*agency))?;
        feeds.insert(
            *agency,
            FeedSearches::start(*agency, FeedSearchClient::with_interceptor(channel, TracePropagation)),
        );
    }
    let checkpointer = Checkpointer::new(db.clone(), load_signer(&settings.signing_key_file)?);
    // Subscriptions end when the broker stops, so that shutdown need not wait for them.
    let (stopping, stopping_watch) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let outbox = outbox::Outbox::new(db.clone(), keys.clone(), stopping_watch);
    let messages = log_hook::AgencyMessages { outbox: outbox.clone(), policy: Some(settings.policy.clone()) };
    let log = DisclosureLog::start(db.clone(), checkpointer, settings.checkpoints, keys.clone(), Arc::new(messages));
    let enquiries = Arc::new(enquiry::EnquiryStore::new(db.clone(), keys.clone()));
    let frontdoor = Arc::new(frontdoor::FrontDoorStore::new(db.clone(), keys.clone(), outbox.clone()));
    let authz = authz::Authz { live: settings.policy, log: log.clone(), enquiries: enquiries.clone() };
    let enquiry_api = api::enquiries::EnquiryApi {
        authz: authz.clone(),
        enquiries: enquiries.clone(),
        frontdoor: frontdoor.clone(),
        holds: Arc::new(hold::HoldStore::new(db.clone(), keys, outbox.clone())),
        candidates: Arc::new(candidate::CandidateStore::new(db)),
        log: log.clone(),
        feeds,
        check_deadline: settings.check_deadline,
        clock: settings.clock,
    };
    let hold_api = api::holds::HoldApi { authz: authz.clone(), holds: enquiry_api.holds.clone(), log: log.clone() };
    let log_api = api::log::LogApi {
        authz: authz.clone(),
        log: log.clone(),
        enquiries: enquiries.clone(),
        content_retention: settings.content_retention,
    };
    let queue_api =
        api::queue::QueueApi { authz: authz.clone(), outbox, frontdoor: frontdoor.clone(), log: log.clone() };
    let frontdoor_api = api::frontdoor::FrontDoorApi { authz, frontdoor, enquiries };
    let limit = mash_transport::MAX_MESSAGE_BYTES;
    let services = mash_transport::Services::default()
        .with_service(EnquiryServiceServer::new(enquiry_api).max_decoding_message_size(limit))
        .with_service(FrontDoorServiceServer::new(frontdoor_api).max_decoding_message_size(limit))
        .with_service(HoldServiceServer::new(hold_api).max_decoding_message_size(limit))
        .with_service(DisclosureLogServiceServer::new(log_api).max_decoding_message_size(limit))
        .with_service(AgencyQueueServiceServer::new(queue_api).max_decoding_message_size(limit));
    let (incoming, local_addr) = mash_transport::bind(settings.listen)?;
    tracing::info!(%local_addr, "broker listening");
    let tls = settings.tls;
    let serve: ServeFuture = Box::pin(async move {
        mash_transport::serve(services, mash_proto::FILE_DESCRIPTOR_SET, &tls, incoming, shutdown).await
    });
    Ok(BoundBroker { local_addr, serve, log })
}

/// The disclosure log of a broker database, without the rest of the broker:
/// for tools that verify the log, and for a second writer in tests.
pub async fn open_log(
    database_url: &str,
    key_file: &std::path::Path,
    signing_key_file: &std::path::Path,
    checkpoints: CheckpointPolicy,
) -> Result<DisclosureLog, StartError> {
    let db = mash_db::connect(database_url, &migrations(), 4).await?;
    let checkpointer = Checkpointer::new(db.clone(), load_signer(signing_key_file)?);
    let keys = std::sync::Arc::new(KeyRing::load(key_file)?);
    // A tool's log writes no notifications and serves no subscriptions.
    let (_, never) = tokio::sync::watch::channel(false);
    let messages =
        log_hook::AgencyMessages { outbox: outbox::Outbox::new(db.clone(), keys.clone(), never), policy: None };
    Ok(DisclosureLog::start(db, checkpointer, checkpoints, keys, Arc::new(messages)))
}

/// Timestamps are stored in one fixed-width UTC form, e.g.
/// `2026-11-23T12:15:03.398018Z`, so that text order is time order.
const TIMESTAMP: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Now, in UTC, in the stored form.
pub(crate) fn now_rfc3339() -> String {
    timestamp(time::OffsetDateTime::now_utc())
}

/// A time in the stored form.
pub(crate) fn timestamp(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(TIMESTAMP).unwrap_or_default()
}

/// Parses an RFC 3339 timestamp from a caller into the stored form.
pub(crate) fn parse_timestamp(field: &str, raw: &str) -> Result<String, mash_domain::DomainError> {
    let invalid =
        || mash_domain::DomainError::invalid(field, "must be an RFC 3339 timestamp, e.g. 2026-11-23T09:00:00Z");
    let parsed = time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| invalid())?;
    parsed.to_offset(time::UtcOffset::UTC).format(TIMESTAMP).map_err(|_| invalid())
}
