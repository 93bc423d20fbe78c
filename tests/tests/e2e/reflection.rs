//! What a `grpcurl` or Python client discovers: each server's reflection (v1
//! and v1alpha) lists exactly the services that server serves.

use anyhow::Context;
use mash_domain::{Agency, Identity};
use mash_e2e::{Backend, Harness, on_both_backends};
use tonic::transport::Channel;
use tonic_reflection::pb::{v1, v1alpha};

on_both_backends!(each_server_reflects_exactly_its_own_services);

const SHARED: [&str; 3] =
    ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

async fn listed_v1(channel: Channel) -> anyhow::Result<Vec<String>> {
    use v1::{server_reflection_request::MessageRequest, server_reflection_response::MessageResponse};
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel);
    let mut responses = client.server_reflection_info(tokio_stream::once(request)).await?.into_inner();
    match responses.message().await?.context("no reflection response")?.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => Ok(sorted(list.service.into_iter().map(|s| s.name))),
        other => anyhow::bail!("unexpected reflection response {other:?}"),
    }
}

async fn listed_v1alpha(channel: Channel) -> anyhow::Result<Vec<String>> {
    use v1alpha::{server_reflection_request::MessageRequest, server_reflection_response::MessageResponse};
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let mut responses = client.server_reflection_info(tokio_stream::once(request)).await?.into_inner();
    match responses.message().await?.context("no reflection response")?.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => Ok(sorted(list.service.into_iter().map(|s| s.name))),
        other => anyhow::bail!("unexpected reflection response {other:?}"),
    }
}

fn sorted(names: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    let mut names: Vec<String> = names.into_iter().map(Into::into).collect();
    names.sort();
    names
}

fn expected(own: &[&str]) -> Vec<String> {
    sorted(own.iter().chain(SHARED.iter()).copied())
}

async fn assert_reflects(
    h: &Harness,
    addr: std::net::SocketAddr,
    server: &mash_domain::Identity,
    own: &[&str],
) -> anyhow::Result<()> {
    let tls = h.system.tls_as("ian-ig")?;
    let channel = mash_transport::connect(&format!("https://{addr}"), &tls, server).await?;
    assert_eq!(listed_v1(channel.clone()).await?, expected(own), "v1 at {addr}");
    assert_eq!(listed_v1alpha(channel).await?, expected(own), "v1alpha at {addr}");
    Ok(())
}

async fn each_server_reflects_exactly_its_own_services(backend: Backend) -> anyhow::Result<()> {
    let h = Harness::start_with(backend, |c| c.split_feed_ports = true).await?;
    let broker = [
        "mash.v1.AgencyQueueService",
        "mash.v1.DisclosureLogService",
        "mash.v1.EnquiryService",
        "mash.v1.FrontDoorService",
        "mash.v1.HoldService",
    ];
    let police = Identity::feed(Agency::POLICE);
    assert_reflects(&h, h.system.broker, &Identity::broker(), &broker).await?;
    let port = |ports: &[(Agency, std::net::SocketAddr)]| ports.iter().find(|(a, _)| *a == Agency::POLICE).map(|p| p.1);
    assert_reflects(&h, port(&h.system.feeds).context("search port")?, &police, &["mash.v1.FeedSearch"]).await?;
    assert_reflects(&h, port(&h.system.feed_push).context("push port")?, &police, &["mash.v1.FeedIngest"]).await?;
    h.stop().await?;

    let h = Harness::start(backend).await?;
    let search = port(&h.system.feeds).context("feed port")?;
    assert_reflects(&h, search, &police, &["mash.v1.FeedIngest", "mash.v1.FeedSearch"]).await?;
    h.stop().await
}
