//! The shared agency feed.
//!
//! An agency's feed owns that agency's records: agency systems push them in
//! (bulk and idempotent), and the broker, and only the broker, searches
//! them. Records are classified into items by the agency's
//! [`RecordAdapter`], sealed with the agency's key, and found again by keyed
//! blind indexes of the subject's identifiers. The four feed services are
//! each an adapter plus [`FeedSettings`]; everything else is here. An agency
//! without an adapter of its own is described by configuration: a mapping
//! file and its proto ([`mapped`]), served by the generic `feed` binary.
//!
//! Modules: `item` (what a record becomes), `store` (SQL and sealing),
//! `service` (the gRPC edge), `error` (the one mapping to gRPC status).

pub mod cli;
mod error;
mod item;
pub mod mapped;
mod service;
mod store;

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc};

pub use error::FeedError;
use futures::FutureExt;
pub use item::{ItemContent, ItemField, RecordAdapter, item_date, required, wrong_body};
use mash_db::Migrations;
use mash_policy::LivePolicy;
use mash_proto::v1::{feed_ingest_server::FeedIngestServer, feed_search_server::FeedSearchServer};
use mash_seal::KeyRing;
use mash_transport::{Services, TlsMaterial};
pub use service::{MAX_RECORD_BYTES, ServeFuture, person_input};
pub use store::index_key;

/// Everything a feed needs to start.
#[derive(Clone, Debug)]
pub struct FeedSettings {
    pub listen: SocketAddr,
    /// A second listener for `FeedIngest` (Push and Delete); `listen` then
    /// serves `FeedSearch` only, so that a NetworkPolicy per port is a
    /// firewall per audience. Without it, `listen` serves both.
    pub push_listen: Option<SocketAddr>,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub key_file: PathBuf,
    pub tls: TlsMaterial,
    /// The policy in force; reloaded by its owner while the feed runs.
    pub policy: Arc<LivePolicy>,
}

/// A feed bound to its port and ready to serve.
pub struct BoundFeed {
    pub local_addr: SocketAddr,
    /// Where Push and Delete are served, when they have a port of their own.
    pub push_addr: Option<SocketAddr>,
    pub serve: ServeFuture,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] mash_db::DbError),
    #[error(transparent)]
    Keys(#[from] mash_seal::SealError),
    #[error(transparent)]
    Transport(#[from] mash_transport::TransportError),
}

fn migrations() -> Migrations {
    Migrations { sqlite: sqlx::migrate!("./migrations/sqlite"), postgres: sqlx::migrate!("./migrations/postgres") }
}

/// Connects storage, loads keys and binds the port; the returned future serves
/// until `shutdown` resolves.
pub async fn build(
    adapter: Arc<dyn RecordAdapter>,
    settings: FeedSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<BoundFeed, StartError> {
    let agency = adapter.agency();
    let db = mash_db::connect(&settings.database_url, &migrations(), 8).await?;
    let keys = KeyRing::load(&settings.key_file)?;
    let store = Arc::new(store::FeedStore::new(db, keys, agency));
    let search =
        FeedSearchServer::new(service::FeedSearchApi { agency, store: store.clone(), policy: settings.policy.clone() })
            .max_decoding_message_size(mash_transport::MAX_MESSAGE_BYTES);
    let ingest = FeedIngestServer::new(service::FeedIngestApi { adapter, store, policy: settings.policy });
    let shutdown = shutdown.shared();
    let (incoming, local_addr) = mash_transport::bind(settings.listen)?;
    tracing::info!(%agency, %local_addr, "feed listening");
    let mut serving = Vec::new();
    let mut push_addr = None;
    if let Some(push_listen) = settings.push_listen {
        let (push_incoming, addr) = mash_transport::bind(push_listen)?;
        tracing::info!(%agency, push_addr = %addr, "feed push listening");
        serving.push(serve(Services::default().with_service(search), settings.tls.clone(), incoming, shutdown.clone()));
        serving.push(serve(Services::default().with_service(ingest), settings.tls, push_incoming, shutdown));
        push_addr = Some(addr);
    } else {
        serving.push(serve(
            Services::default().with_service(search).with_service(ingest),
            settings.tls,
            incoming,
            shutdown,
        ));
    }
    let serve = Box::pin(async move { futures::future::try_join_all(serving).await.map(|_| ()) });
    Ok(BoundFeed { local_addr, push_addr, serve })
}

fn serve(
    services: Services,
    tls: TlsMaterial,
    incoming: tonic::transport::server::TcpIncoming,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> ServeFuture {
    Box::pin(
        async move { mash_transport::serve(services, mash_proto::FILE_DESCRIPTOR_SET, &tls, incoming, shutdown).await },
    )
}
