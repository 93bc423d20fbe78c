//! End-to-end mutual TLS: a real server from `serve`, real clients, and
//! certificates from `mash-pki`.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use mash_pki::{CertPaths, DevPki, demo_principals};
use mash_transport::{Services, TlsMaterial, TransportError, bind, caller, connect, serve};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_prost::ProstCodec;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PROBE_PATH: &str = "/mash.test.Probe/WhoAmI";

/// A one-method service without a proto crate: `WhoAmI` answers with the
/// caller's identity as `serve`'s users would compute it.
#[derive(Clone)]
struct Probe;

impl NamedService for Probe {
    const NAME: &'static str = "mash.test.Probe";
}

impl tower::Service<http::Request<Body>> for Probe {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() != PROBE_PATH {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<String, ()>::default());
            Ok(grpc.unary(WhoAmI, request).await)
        })
    }
}

struct WhoAmI;

impl UnaryService<()> for WhoAmI {
    type Response = String;
    type Future = Ready<Result<Response<String>, Status>>;

    fn call(&mut self, request: Request<()>) -> Self::Future {
        ready(caller(&request).map(|identity| Response::new(identity.as_str().to_owned())))
    }
}

struct TestServer {
    uri: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), TransportError>>,
}

impl TestServer {
    fn start(paths: &CertPaths) -> Result<Self, Box<dyn std::error::Error>> {
        let tls = load(paths)?;
        let (incoming, addr): (_, SocketAddr) = bind(([127, 0, 0, 1], 0).into())?;
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task =
            tokio::spawn(
                async move { serve(Services::default().with_service(Probe), &[], &tls, incoming, shutdown).await },
            );
        Ok(Self { uri: format!("https://{addr}"), stop, task })
    }

    async fn stop(self) -> TestResult {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(())
    }
}

fn load(paths: &CertPaths) -> Result<TlsMaterial, TransportError> {
    TlsMaterial::load(&paths.ca, &paths.cert, &paths.key)
}

async fn health(channel: Channel, service: &str) -> Result<ServingStatus, Status> {
    let request = HealthCheckRequest { service: service.to_owned() };
    let response = HealthClient::new(channel).check(request).await?;
    Ok(response.into_inner().status())
}

async fn who_am_i(channel: Channel) -> Result<String, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|error| Status::unavailable(error.to_string()))?;
    let path = http::uri::PathAndQuery::from_static(PROBE_PATH);
    let response = grpc.unary(Request::new(()), path, ProstCodec::<(), String>::default()).await?;
    Ok(response.into_inner())
}

async fn reflected_services(channel: Channel) -> Result<Vec<String>, Status> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut client = ServerReflectionClient::new(channel);
    let mut responses = client.server_reflection_info(tokio_stream::once(request)).await?.into_inner();
    let response = responses.message().await?.ok_or_else(|| Status::internal("no response"))?;
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|service| service.name).collect())
        }
        other => Err(Status::internal(format!("unexpected reflection response {other:?}"))),
    }
}

/// Connects and makes a health call; `Err` if either fails. With TLS 1.3 the
/// server rejects a client certificate after the client has finished its
/// side of the handshake, so the refusal may show on the call, not the connect.
async fn health_over(uri: &str, tls: ClientTlsConfig) -> Result<ServingStatus, Box<dyn std::error::Error>> {
    let channel = Endpoint::from_shared(uri.to_owned())?.tls_config(tls)?.connect().await?;
    Ok(health(channel, "").await?)
}

fn dev_pki(dir: &std::path::Path) -> Result<DevPki, mash_pki::PkiError> {
    DevPki::generate(dir, "MASH test CA", &demo_principals())
}

#[tokio::test]
async fn a_client_of_the_same_ca_is_served_and_identified() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = dev_pki(dir.path())?;
    let server = TestServer::start(&pki.paths("broker")?)?;
    let rita = load(&pki.paths("rita-researcher")?)?;

    let channel = connect(&server.uri, &rita).await?;
    assert_eq!(health(channel.clone(), Probe::NAME).await?, ServingStatus::Serving);
    assert_eq!(health(channel.clone(), "").await?, ServingStatus::Serving);
    assert_eq!(who_am_i(channel.clone()).await?, "spiffe://mash.local/user/rita-researcher");
    let mut services = reflected_services(channel).await?;
    services.sort();
    let expected = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "mash.test.Probe",
    ];
    assert_eq!(services, expected, "reflection lists exactly this server's services");

    // A service certificate is also a client certificate: feeds call each other.
    let feed = load(&pki.paths("feed-police")?)?;
    let channel = mash_transport::connect_lazy(&server.uri, &feed)?;
    assert_eq!(who_am_i(channel).await?, "spiffe://mash.local/service/feed-police");
    server.stop().await
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = dev_pki(dir.path())?;
    let server = TestServer::start(&pki.paths("broker")?)?;
    let ca = Certificate::from_pem(std::fs::read(pki.paths("broker")?.ca)?);
    let no_identity = ClientTlsConfig::new().ca_certificate(ca).domain_name("localhost");

    let result = health_over(&server.uri, no_identity).await;
    assert!(result.is_err(), "served without a client certificate: {result:?}");
    assert!(format!("{result:?}").contains("CertificateRequired"), "not refused by TLS: {result:?}");
    server.stop().await
}

#[tokio::test]
async fn a_client_of_another_ca_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = dev_pki(&dir.path().join("ours"))?;
    let other = dev_pki(&dir.path().join("theirs"))?;
    let server = TestServer::start(&pki.paths("broker")?)?;
    // Trusts our CA, so the server is accepted; only the client's certificate is foreign.
    let (ours, theirs) = (pki.paths("rita-researcher")?, other.paths("rita-researcher")?);
    let impostor = TlsMaterial::load(&ours.ca, &theirs.cert, &theirs.key)?;

    let result = health_over(&server.uri, impostor.client_config()).await;
    assert!(result.is_err(), "served a certificate from another CA: {result:?}");
    assert!(format!("{result:?}").contains("fatal alert"), "not refused by TLS: {result:?}");
    server.stop().await
}

#[test]
fn load_names_the_file_and_hides_key_bytes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = dev_pki(dir.path())?;
    let paths = pki.paths("broker")?;
    let missing = dir.path().join("missing.pem");
    let error = TlsMaterial::load(&paths.ca, &missing, &paths.key).err().ok_or("loaded a missing file")?;
    assert!(error.to_string().contains("missing.pem"), "{error}");

    // A certificate where the key should be: rejected, naming the file.
    let error = TlsMaterial::load(&paths.ca, &paths.cert, &paths.cert).err().ok_or("loaded a cert as key")?;
    assert!(error.to_string().contains("broker.pem"), "{error}");

    let material = load(&paths)?;
    assert!(!format!("{material:?}").contains("PRIVATE"));
    Ok(())
}
