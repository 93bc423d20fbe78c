//! Finding the system and connecting to it as an identity.

use std::path::Path;

use anyhow::Context;
use mash_domain::{Agency, Identity};
use mash_proto::v1::feed_ingest_client::FeedIngestClient;
use mash_system::{BrokerClients, Endpoints};
use mash_transport::TlsMaterial;
use tonic::transport::Channel;

pub(crate) fn endpoints(path: &Path) -> anyhow::Result<Endpoints> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (is the system up? run `mashctl up`)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not an endpoints file", path.display()))
}

async fn channel(endpoints: &Endpoints, uri: &str, server: &Identity, principal: &str) -> anyhow::Result<Channel> {
    let paths = endpoints
        .identities
        .get(principal)
        .with_context(|| format!("no identity {principal:?} in the endpoints file"))?;
    let tls = TlsMaterial::load(&paths.ca, &paths.cert, &paths.key)?;
    Ok(mash_transport::connect(uri, &tls, server).await?)
}

pub(crate) async fn broker(path: &Path, principal: &str) -> anyhow::Result<BrokerClients> {
    let endpoints = endpoints(path)?;
    Ok(BrokerClients::new(channel(&endpoints, &endpoints.broker, &Identity::broker(), principal).await?))
}

/// A `FeedIngest` client of an agency's feed, on its push port.
pub(crate) async fn feed(path: &Path, agency: &str, principal: &str) -> anyhow::Result<FeedIngestClient<Channel>> {
    let endpoints = endpoints(path)?;
    let uri = endpoints.feeds.get(agency).with_context(|| format!("no feed for agency {agency:?}"))?;
    let server = Identity::feed(Agency::parse("agency", agency)?);
    Ok(FeedIngestClient::new(channel(&endpoints, uri, &server, principal).await?))
}
