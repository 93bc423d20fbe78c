//! End-to-end mutual TLS: a real server from `serve`, real clients, and
//! certificates from `mash-pki`.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::time::{Duration, Instant};

use mash_domain::{Agency, Identity};
use mash_pki::{CertPaths, DevPki, demo_principals};
use mash_transport::{
    ConnectionLimits, Services, TlsMaterial, TransportError, bind, caller, connect, connect_lazy, serve,
};
use tokio::io::AsyncReadExt;
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
        Self::start_with(load(paths)?)
    }

    fn start_with(tls: TlsMaterial) -> Result<Self, Box<dyn std::error::Error>> {
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

/// Like `health_over`, through the crate's own client.
async fn health_as(
    uri: &str,
    tls: &TlsMaterial,
    server: &Identity,
) -> Result<ServingStatus, Box<dyn std::error::Error>> {
    let channel = connect_lazy(uri, tls, server)?;
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

    let channel = connect(&server.uri, &rita, &Identity::broker()).await?;
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
    let channel = connect_lazy(&server.uri, &feed, &Identity::broker())?;
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

    let result = health_as(&server.uri, &impostor, &Identity::broker()).await;
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

/// The whole error chain of a refusal, for asserting on its reason.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(&format!(": {error}"));
        cause = error.source();
    }
    text
}

async fn refused(uri: &str, tls: &TlsMaterial, server: &Identity) -> String {
    match health_as(uri, tls, server).await {
        Ok(status) => panic!("served ({status:?}) where it must be refused"),
        Err(error) => chain(error.as_ref()),
    }
}

#[tokio::test]
async fn a_feeds_key_cannot_stand_in_for_the_broker_or_another_feed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = dev_pki(dir.path())?;
    let impostor = TestServer::start(&pki.paths("feed-education")?)?;
    let rita = load(&pki.paths("rita-researcher")?)?;
    let broker = load(&pki.paths("broker")?)?;

    let error = refused(&impostor.uri, &rita, &Identity::broker()).await;
    assert!(error.contains("expected: Identity(spiffe://mash.local/service/broker)"), "{error}");
    let error = refused(&impostor.uri, &broker, &Identity::feed(Agency::POLICE)).await;
    assert!(error.contains("expected: Identity(spiffe://mash.local/service/feed-police)"), "{error}");
    // The control: the education feed is accepted as itself.
    assert_eq!(health_as(&impostor.uri, &broker, &Identity::feed(Agency::EDUCATION)).await?, ServingStatus::Serving);
    impostor.stop().await
}

/// A CA of the test's own, whose key stays available, for certificates the
/// development PKI never issues.
struct TestCa {
    dir: tempfile::TempDir,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::default();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.distinguished_name.push(rcgen::DnType::CommonName, "test CA");
        std::fs::write(dir.path().join("ca.pem"), params.self_signed(&key)?.pem())?;
        Ok(Self { dir, issuer: rcgen::Issuer::new(params, key) })
    }

    /// A certificate and key named `name`, for `localhost` and `127.0.0.1`,
    /// with these URI SANs, usable as client and server.
    fn issue(&self, name: &str, uris: &[&str]) -> Result<TlsMaterial, Box<dyn std::error::Error>> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::default();
        let mut sans = vec![
            rcgen::SanType::DnsName("localhost".try_into()?),
            rcgen::SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
        ];
        for uri in uris {
            sans.push(rcgen::SanType::URI((*uri).try_into()?));
        }
        params.subject_alt_names = sans;
        params.extended_key_usages =
            vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer)?;
        let (cert_path, key_path) =
            (self.dir.path().join(format!("{name}.pem")), self.dir.path().join(format!("{name}.key")));
        std::fs::write(&cert_path, cert.pem())?;
        std::fs::write(&key_path, key.serialize_pem())?;
        Ok(TlsMaterial::load(&self.dir.path().join("ca.pem"), &cert_path, &key_path)?)
    }
}

#[tokio::test]
async fn a_certificate_with_two_uri_sans_or_another_trust_domain_is_refused_on_both_sides() -> TestResult {
    let ca = TestCa::new()?;
    let broker = "spiffe://mash.local/service/broker";
    let rita = ca.issue("rita", &["spiffe://mash.local/user/rita-researcher"])?;
    let two = ca.issue("two", &["spiffe://mash.local/user/rita-researcher", "spiffe://mash.local/user/ian-ig"])?;
    let foreign = ca.issue("foreign", &["spiffe://other.example/user/rita-researcher"])?;

    let server = TestServer::start_with(ca.issue("broker", &[broker])?)?;
    for client in [&two, &foreign] {
        let error = refused(&server.uri, client, &Identity::broker()).await;
        assert!(error.contains("alert") || error.contains("reset") || error.contains("closed"), "{error}");
    }
    assert_eq!(health_as(&server.uri, &rita, &Identity::broker()).await?, ServingStatus::Serving);
    server.stop().await?;

    let two_servers = TestServer::start_with(ca.issue("broker-two", &[broker, "spiffe://mash.local/user/ian-ig"])?)?;
    let error = refused(&two_servers.uri, &rita, &Identity::broker()).await;
    assert!(error.contains("SeveralUriSans"), "{error}");
    two_servers.stop().await?;
    let other_domain = TestServer::start_with(ca.issue("broker-other", &["spiffe://other.example/service/broker"])?)?;
    let error = refused(&other_domain.uri, &rita, &Identity::broker()).await;
    assert!(error.contains("trust domain"), "{error}");
    other_domain.stop().await
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_as_client_and_as_server() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki =
        DevPki::generate_revoking(dir.path(), "MASH test CA", &demo_principals(), &["rita-researcher", "feed-police"])?;
    let with_crl = |name: &str| -> Result<TlsMaterial, Box<dyn std::error::Error>> {
        let paths = pki.paths(name)?;
        Ok(TlsMaterial::load_with_crl(&paths.ca, &paths.cert, &paths.key, Some(&pki.crl_path()))?)
    };
    let server = TestServer::start_with(with_crl("broker")?)?;
    let error = refused(&server.uri, &load(&pki.paths("rita-researcher")?)?, &Identity::broker()).await;
    assert!(error.contains("alert") || error.contains("reset") || error.contains("closed"), "{error}");
    assert_eq!(
        health_as(&server.uri, &load(&pki.paths("robin-researcher")?)?, &Identity::broker()).await?,
        ServingStatus::Serving
    );
    server.stop().await?;

    let revoked_feed = TestServer::start(&pki.paths("feed-police")?)?;
    let error = refused(&revoked_feed.uri, &with_crl("broker")?, &Identity::feed(Agency::POLICE)).await;
    assert!(error.contains("Revoked"), "{error}");
    revoked_feed.stop().await
}

/// Opens a TCP connection that never says a word and returns how long the
/// server took to close it (or `None` if it was still open after `patience`).
async fn stalled_connection_lifetime(
    uri: &str,
    patience: Duration,
) -> Result<Option<Duration>, Box<dyn std::error::Error>> {
    let addr = uri.trim_start_matches("https://");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let started = Instant::now();
    let mut buffer = [0u8; 64];
    match tokio::time::timeout(patience, stream.read(&mut buffer)).await {
        Ok(_) => Ok(Some(started.elapsed())),
        Err(_) => Ok(None),
    }
}

#[tokio::test]
async fn a_connection_that_never_completes_the_handshake_is_closed_within_the_timeout() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = dev_pki(dir.path())?;
    let limits = ConnectionLimits { handshake_timeout: Duration::from_millis(300), ..ConnectionLimits::default() };
    let server = TestServer::start_with(load(&pki.paths("broker")?)?.with_limits(limits))?;
    let lifetime = stalled_connection_lifetime(&server.uri, Duration::from_secs(5)).await?;
    let lifetime = lifetime.ok_or("a silent connection was still open after 5 s")?;
    assert!(lifetime < Duration::from_secs(2), "closed only after {lifetime:?}");
    server.stop().await
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = dev_pki(dir.path())?;
    let limits = ConnectionLimits { handshake_timeout: Duration::from_secs(3), max_connections: 2 };
    let server = TestServer::start_with(load(&pki.paths("broker")?)?.with_limits(limits))?;
    let addr = server.uri.trim_start_matches("https://").to_owned();
    let held = [tokio::net::TcpStream::connect(&addr).await?, tokio::net::TcpStream::connect(&addr).await?];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lifetime = stalled_connection_lifetime(&server.uri, Duration::from_secs(1)).await?;
    assert!(lifetime.is_some(), "a third connection was held beyond the limit of two");
    drop(held);
    // Once the held ones are gone, a client is served again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rita = load(&pki.paths("rita-researcher")?)?;
    assert_eq!(health_as(&server.uri, &rita, &Identity::broker()).await?, ServingStatus::Serving);
    server.stop().await
}
