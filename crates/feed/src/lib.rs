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
use mash_proto::v1::feed_server::FeedServer;
use mash_seal::KeyRing;
use mash_transport::TlsMaterial;
use service::Methods;
pub use service::{MAX_MESSAGE_BYTES, ServeFuture, person_input};
pub use store::index_key;

/// Everything a feed needs to start.
#[derive(Clone, Debug)]
pub struct FeedSettings {
    pub listen: SocketAddr,
    /// A second listener for Push and Delete; `listen` then serves Search only.
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
    let methods = if settings.push_listen.is_some() { Methods::Search } else { Methods::All };
    let service = service::FeedService { adapter, store, policy: settings.policy, methods };
    let shutdown = shutdown.shared();
    let (incoming, local_addr) = mash_transport::bind(settings.listen)?;
    tracing::info!(%agency, %local_addr, "feed listening");
    let mut serving = vec![serve(service.clone(), settings.tls.clone(), incoming, shutdown.clone())];
    let mut push_addr = None;
    if let Some(push_listen) = settings.push_listen {
        let (incoming, addr) = mash_transport::bind(push_listen)?;
        tracing::info!(%agency, push_addr = %addr, "feed push listening");
        let push = service::FeedService { methods: Methods::PushAndDelete, ..service };
        serving.push(serve(push, settings.tls, incoming, shutdown));
        push_addr = Some(addr);
    }
    let serve = Box::pin(async move { futures::future::try_join_all(serving).await.map(|_| ()) });
    Ok(BoundFeed { local_addr, push_addr, serve })
}

fn serve(
    service: service::FeedService,
    tls: TlsMaterial,
    incoming: tonic::transport::server::TcpIncoming,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> ServeFuture {
    let server = FeedServer::new(service);
    Box::pin(
        async move { mash_transport::serve(server, mash_proto::FILE_DESCRIPTOR_SET, &tls, incoming, shutdown).await },
    )
}
