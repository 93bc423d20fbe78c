//! The whole system in one process, the way `mashctl up`, the end-to-end
//! tests and the benchmark all start it: a development PKI, a key file per
//! agency and for the broker, a database per service (SQLite files, or
//! PostgreSQL schemas), the four feeds and the broker, each on its own port
//! with its own certificate, talking mutual TLS exactly as separate
//! processes would.

mod clients;
pub mod demo;

pub use clients::BrokerClients;

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use mash_domain::{Agency, Identity};
use mash_feed::{FeedSettings, RecordAdapter};
use mash_pki::{CertPaths, DevPki};
use mash_policy::LivePolicy;
use mash_proto::v1::{feed_ingest_client::FeedIngestClient, feed_search_client::FeedSearchClient};
use mash_transport::TlsMaterial;
use serde::Serialize;
use tokio::{sync::watch, task::JoinHandle};
use tonic::transport::Channel;

/// Where each service keeps its data.
#[derive(Clone, Debug)]
pub enum Databases {
    /// A SQLite file per service in the system's directory.
    Sqlite,
    /// A fresh schema per service in this PostgreSQL database, named with the
    /// given prefix so that concurrent systems do not collide.
    Postgres { url: String, schema_prefix: String },
}

#[derive(Clone, Debug)]
pub struct SystemConfig {
    /// Certificates, keys, SQLite files and `endpoints.json` go here.
    pub dir: PathBuf,
    pub databases: Databases,
    /// `Some(p)`: the broker on p and the feeds on p+1, p+2…; `None`: ephemeral ports.
    pub base_port: Option<u16>,
    pub policy_dir: PathBuf,
    pub check_deadline: Duration,
    /// Point the broker at a different address for one agency (e.g. a dead port).
    pub feed_override: Option<(Agency, String)>,
    pub checkpoints: mash_disclosure_log::CheckpointPolicy,
    pub content_retention: Duration,
    /// The broker's today, for items' ages.
    pub clock: mash_broker::Clock,
    /// Give each feed a push port of its own (as deployed), instead of one port for all.
    pub split_feed_ports: bool,
    /// Feeds of agencies described by configuration (`mash_feed::mapped`),
    /// after the four built in. Their agencies must be in the policy's registry.
    pub mapped_feeds: Vec<Arc<dyn RecordAdapter>>,
}

impl SystemConfig {
    /// SQLite, ephemeral ports, the shipped policy.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            databases: Databases::Sqlite,
            base_port: None,
            policy_dir: shipped_policy_dir(),
            check_deadline: Duration::from_secs(2),
            feed_override: None,
            checkpoints: mash_disclosure_log::CheckpointPolicy { every_entries: 1000, every: Duration::from_secs(10) },
            // Six years, a common retention period for safeguarding records.
            content_retention: Duration::from_secs(6 * 365 * 24 * 3600),
            clock: mash_broker::Clock::System,
            split_feed_ports: false,
            mapped_feeds: Vec::new(),
        }
    }
}

/// The `policy/` directory of this source tree.
pub fn shipped_policy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy")
}

/// What a client needs to find and reach the system; written as JSON.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Endpoints {
    pub broker: String,
    pub feeds: std::collections::BTreeMap<String, String>,
    pub ca: PathBuf,
    /// Certificate and key for every demo principal, by name.
    pub identities: std::collections::BTreeMap<String, CertPaths>,
    /// The public key (hex) that verifies the disclosure log's checkpoints.
    pub log_key: PathBuf,
}

/// A running system. Dropping it without [`System::stop`] leaves the tasks running.
pub struct System {
    pub broker: SocketAddr,
    pub feeds: Vec<(Agency, SocketAddr)>,
    /// Where each feed takes pushes: its own port, or the same as `feeds`.
    pub feed_push: Vec<(Agency, SocketAddr)>,
    /// What each feed was started with: a second replica of a feed is
    /// `mash_feed::build` with the same settings on other ports.
    pub feed_settings: Vec<(Agency, FeedSettings)>,
    pub pki: DevPki,
    pub broker_log: mash_disclosure_log::DisclosureLog,
    pub database_urls: Vec<(String, String)>,
    /// The policy every service decides with; watched for changes.
    pub policy: Arc<LivePolicy>,
    pub endpoints: Endpoints,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Reloads the policy when its files change, until the system stops.
    policy_watch: JoinHandle<()>,
}

fn adapters() -> Vec<Arc<dyn RecordAdapter>> {
    vec![
        Arc::new(mash_feed_police::Adapter),
        Arc::new(mash_feed_health::Adapter),
        Arc::new(mash_feed_education::Adapter),
        Arc::new(mash_feed_social_care::Adapter),
    ]
}

impl System {
    pub async fn start(mut config: SystemConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.dir).with_context(|| format!("creating {}", config.dir.display()))?;
        // Absolute, so that endpoints.json and every path in it work from any directory.
        config.dir = std::path::absolute(&config.dir).with_context(|| format!("resolving {}", config.dir.display()))?;
        // The policy first: it puts the agency registry in force, and the PKI
        // issues a certificate to each registered agency's systems.
        let policy = LivePolicy::load(&config.policy_dir).await?;
        let pki = DevPki::generate(&config.dir.join("pki"), "MASH development CA", &mash_pki::demo_principals())?;
        let policy_watch = policy.clone().watch(Duration::from_secs(2));
        let policy_in_force = policy.clone();
        let (shutdown, watcher) = watch::channel(false);
        let port = |offset: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, config.base_port.map_or(0, |p| p + offset)));
        let mut tasks = Vec::new();
        let mut feeds = Vec::new();
        let mut feed_push = Vec::new();
        let mut feed_settings = Vec::new();
        let mut database_urls = Vec::new();
        for (offset, adapter) in (1..).zip(adapters().into_iter().chain(config.mapped_feeds.iter().cloned())) {
            let agency = adapter.agency();
            let name = format!("feed-{agency}");
            let database_url = database_url(&config, &name).await?;
            database_urls.push((name.clone(), database_url.clone()));
            let settings = FeedSettings {
                listen: port(offset),
                push_listen: config.split_feed_ports.then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
                database_url,
                key_file: key_file(&config.dir, &name)?,
                tls: tls_for(&pki, &name)?,
                policy: policy.clone(),
            };
            feed_settings.push((agency, settings.clone()));
            let feed = mash_feed::build(adapter, settings, stopped(watcher.clone())).await?;
            feeds.push((agency, feed.local_addr));
            feed_push.push((agency, feed.push_addr.unwrap_or(feed.local_addr)));
            tasks.push(spawn_server(name, feed.serve));
        }
        let broker_db = database_url(&config, "broker").await?;
        let signing_key = signing_key_file(&config.dir)?;
        database_urls.push(("broker".into(), broker_db.clone()));
        let feed_uris = feeds
            .iter()
            .map(|(agency, addr)| match &config.feed_override {
                Some((over, uri)) if over == agency => (*agency, uri.clone()),
                _ => (*agency, format!("https://{addr}")),
            })
            .collect();
        let settings = mash_broker::BrokerSettings {
            listen: port(0),
            database_url: broker_db,
            key_file: key_file(&config.dir, "broker")?,
            tls: tls_for(&pki, "broker")?,
            policy,
            feeds: feed_uris,
            check_deadline: config.check_deadline,
            signing_key_file: signing_key.clone(),
            checkpoints: config.checkpoints,
            content_retention: config.content_retention,
            clock: config.clock,
        };
        let broker = mash_broker::build(settings, stopped(watcher)).await?;
        tasks.push(spawn_server("broker".into(), broker.serve));
        let endpoints = endpoints(&pki, broker.local_addr, &feeds, signing_key.with_extension("pub"))?;
        let path = config.dir.join("endpoints.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&endpoints)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Self {
            broker: broker.local_addr,
            feeds,
            feed_push,
            feed_settings,
            pki,
            broker_log: broker.log,
            database_urls,
            endpoints,
            shutdown,
            tasks,
            policy_watch,
            policy: policy_in_force,
        })
    }

    /// Signals every server to stop and waits for them.
    pub async fn stop(self) {
        self.policy_watch.abort();
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    pub fn tls_as(&self, principal: &str) -> anyhow::Result<TlsMaterial> {
        tls_for(&self.pki, principal)
    }

    /// Clients of the broker's services presenting `principal`'s certificate.
    pub async fn broker_as(&self, principal: &str) -> anyhow::Result<BrokerClients> {
        let channel =
            mash_transport::connect(&format!("https://{}", self.broker), &self.tls_as(principal)?, &Identity::broker())
                .await?;
        Ok(BrokerClients::new(channel))
    }

    /// A `FeedSearch` client of `agency`'s feed (its search port) presenting `principal`'s certificate.
    pub async fn feed_search_as(&self, agency: Agency, principal: &str) -> anyhow::Result<FeedSearchClient<Channel>> {
        Ok(FeedSearchClient::new(self.feed_at(&self.feeds, agency, principal).await?))
    }

    /// A `FeedIngest` client of `agency`'s feed (its push port) presenting `principal`'s certificate.
    pub async fn feed_ingest_as(&self, agency: Agency, principal: &str) -> anyhow::Result<FeedIngestClient<Channel>> {
        Ok(FeedIngestClient::new(self.feed_at(&self.feed_push, agency, principal).await?))
    }

    async fn feed_at(
        &self,
        ports: &[(Agency, SocketAddr)],
        agency: Agency,
        principal: &str,
    ) -> anyhow::Result<Channel> {
        let addr = ports.iter().find(|(a, _)| *a == agency).map(|(_, addr)| *addr).context("no such feed")?;
        Ok(mash_transport::connect(&format!("https://{addr}"), &self.tls_as(principal)?, &Identity::feed(agency))
            .await?)
    }
}

async fn stopped(mut watcher: watch::Receiver<bool>) {
    let _ = watcher.wait_for(|stop| *stop).await;
}

fn spawn_server(name: String, serve: mash_feed::ServeFuture) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = serve.await {
            tracing::error!(service = %name, %error, "server stopped with an error");
        }
    })
}

fn tls_for(pki: &DevPki, principal: &str) -> anyhow::Result<TlsMaterial> {
    let paths = pki.paths(principal)?;
    Ok(TlsMaterial::load(&paths.ca, &paths.cert, &paths.key)?)
}

/// A fresh key file per service, generated on first start and kept after.
fn key_file(dir: &Path, service: &str) -> anyhow::Result<PathBuf> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    let path = keys.join(format!("{service}.json"));
    if !path.exists() {
        mash_seal::KeyRing::write_new(&path, &format!("{service}-1"))?;
    }
    Ok(path)
}

/// The broker's checkpoint signing key, generated on first start and kept
/// after, with its public half beside it (`broker-signing.pub`) for auditors.
pub fn signing_key_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    let path = keys.join("broker-signing.json");
    if !path.exists() {
        mash_disclosure_log::write_new_signing_key(&path, "broker-signing-1")?;
    }
    Ok(path)
}

async fn database_url(config: &SystemConfig, service: &str) -> anyhow::Result<String> {
    match &config.databases {
        Databases::Sqlite => Ok(mash_db::sqlite_url(&config.dir.join(format!("{service}.db")))),
        Databases::Postgres { url, schema_prefix } => {
            let schema = format!("{schema_prefix}_{}", service.replace('-', "_"));
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(url).await.context("connecting to PostgreSQL")?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&pool).await?;
            pool.close().await;
            let separator = if url.contains('?') { '&' } else { '?' };
            Ok(format!("{url}{separator}options=-c%20search_path%3D{schema}"))
        }
    }
}

fn endpoints(
    pki: &DevPki,
    broker: SocketAddr,
    feeds: &[(Agency, SocketAddr)],
    log_key: PathBuf,
) -> anyhow::Result<Endpoints> {
    let identities = mash_pki::demo_principals()
        .iter()
        .map(|p| Ok((p.name.clone(), pki.paths(&p.name)?)))
        .collect::<anyhow::Result<_>>()?;
    Ok(Endpoints {
        broker: format!("https://{broker}"),
        feeds: feeds.iter().map(|(a, addr)| (a.as_str().to_owned(), format!("https://{addr}"))).collect(),
        ca: pki.dir.join("ca.pem"),
        identities,
        log_key,
    })
}
