//! The shape every MASH server shares: its services over mutual TLS, behind
//! the call layer, with gRPC health and reflection beside them.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use tonic::body::Body;
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::{TlsMaterial, TransportError, call::CallLayer};

/// Binds a TCP listener (port 0 picks a free port) with TCP_NODELAY and
/// returns it with the address it got. The option is set here because
/// `Server::tcp_nodelay` is ignored for a listener passed in by the caller.
pub fn bind(addr: SocketAddr) -> Result<(TcpIncoming, SocketAddr), TransportError> {
    let bind_error = |reason| TransportError::Bind { addr, reason };
    let incoming = TcpIncoming::bind(addr).map_err(bind_error)?.with_nodelay(Some(true));
    let local = incoming.local_addr().map_err(bind_error)?;
    Ok((incoming, local))
}

/// The gRPC services one server registers, with their names, which health
/// and reflection report and nothing else.
#[derive(Default)]
pub struct Services {
    routes: tonic::service::RoutesBuilder,
    names: Vec<&'static str>,
}

impl Services {
    pub fn with_service<S>(mut self, service: S) -> Self
    where
        S: NamedService
            + tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.names.push(S::NAME);
        self
    }

    /// The fully qualified names of the services added, e.g. `mash.v1.HoldService`.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// Serves `services` over mutual TLS until `shutdown` resolves, together with
/// `grpc.health.v1.Health` (reporting each of them as SERVING) and server
/// reflection (v1 and v1alpha) that lists exactly these services, health and
/// reflection, described by `reflection_descriptor` (an encoded
/// FileDescriptorSet). Every call passes the [`CallLayer`] first.
pub async fn serve(
    services: Services,
    reflection_descriptor: &'static [u8],
    tls: &TlsMaterial,
    incoming: TcpIncoming,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), TransportError> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    for name in &services.names {
        health_reporter.set_service_status(*name, tonic_health::ServingStatus::Serving).await;
    }
    let descriptors = [
        reflection_descriptor,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let reflection = || {
        let mut builder = tonic_reflection::server::Builder::configure();
        for descriptor in descriptors {
            builder = builder.register_encoded_file_descriptor_set(descriptor);
        }
        for name in services.names.iter().copied().chain(SHARED) {
            builder = builder.with_service_name(name);
        }
        builder
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let layer = CallLayer::new(&descriptors)?;
    tracing::info!(services = ?services.names, "serving over mutual TLS");
    let mut routes = services.routes.routes();
    routes = routes.add_service(health).add_service(reflection_v1).add_service(reflection_v1alpha);
    // The handshake is done by `accept`, so tonic is given TLS streams and
    // no TLS configuration of its own.
    let (connections, _accepting) = crate::accept::accept(incoming, tls.server_config(), tls.limits);
    Server::builder()
        .layer(layer)
        .add_routes(routes)
        .serve_with_incoming_shutdown(connections, shutdown)
        .await
        .map_err(TransportError::Serve)
}

/// The services every server has beside its own.
const SHARED: [&str; 3] =
    ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/// Serves only `grpc.health.v1.Health`, in plaintext, until `shutdown`
/// resolves: for probes that cannot present a client certificate, such as
/// the kubelet's native gRPC probes. It reports the server as a whole (`""`)
/// SERVING and answers nothing else, so it gives away no data and needs no
/// identity. Start it once the service itself is bound and ready.
pub async fn serve_health(
    incoming: TcpIncoming,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), TransportError> {
    let (_reporter, health) = tonic_health::server::health_reporter();
    Server::builder()
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(TransportError::Serve)
}

/// Resolves when the process is asked to stop: SIGTERM (what Kubernetes and
/// process supervisors send) or Ctrl-C.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                tokio::select! {
                    _ = sigterm.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops this process"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
