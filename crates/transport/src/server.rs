//! The shape every MASH server shares: one service over mutual TLS, with
//! gRPC health and reflection beside it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use tonic::body::Body;
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::{TlsMaterial, TransportError};

/// Binds a TCP listener (port 0 picks a free port) with TCP_NODELAY and
/// returns it with the address it got. The option is set here because
/// `Server::tcp_nodelay` is ignored for a listener passed in by the caller.
pub fn bind(addr: SocketAddr) -> Result<(TcpIncoming, SocketAddr), TransportError> {
    let bind_error = |reason| TransportError::Bind { addr, reason };
    let incoming = TcpIncoming::bind(addr).map_err(bind_error)?.with_nodelay(Some(true));
    let local = incoming.local_addr().map_err(bind_error)?;
    Ok((incoming, local))
}

/// Serves `service` over mutual TLS until `shutdown` resolves, together with
/// `grpc.health.v1.Health` (reporting `service` as SERVING) and server
/// reflection v1 built from `reflection_descriptor`, an encoded
/// FileDescriptorSet, plus the health service's own descriptor.
pub async fn serve<S>(
    service: S,
    reflection_descriptor: &'static [u8],
    tls: &TlsMaterial,
    incoming: TcpIncoming,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), TransportError>
where
    S: NamedService
        + tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<S>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(reflection_descriptor)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    tracing::info!(service = S::NAME, "serving over mutual TLS");
    // The handshake is done by `accept`, so tonic is given TLS streams and
    // no TLS configuration of its own.
    let (connections, _accepting) = crate::accept::accept(incoming, tls.server_config(), tls.limits);
    Server::builder()
        .layer(tower::util::MapResponseLayer::new(oversized_is_invalid_argument))
        .add_service(health)
        .add_service(reflection)
        .add_service(service)
        .serve_with_incoming_shutdown(connections, shutdown)
        .await
        .map_err(TransportError::Serve)
}

/// tonic refuses a message over its decoding limit with OUT_OF_RANGE before
/// any handler runs. To the caller that is bad input like any other, so it
/// becomes INVALID_ARGUMENT, naming the field as the handlers do.
fn oversized_is_invalid_argument(mut response: http::Response<Body>) -> http::Response<Body> {
    let headers = response.headers_mut();
    let oversized = headers.get("grpc-status").is_some_and(|code| code == "11")
        && headers
            .get("grpc-message")
            .and_then(|message| message.to_str().ok())
            .is_some_and(|message| message.contains("length%20too%20large") || message.contains("length too large"));
    if oversized {
        headers.insert("grpc-status", http::HeaderValue::from_static("3"));
        headers.insert(
            "grpc-message",
            http::HeaderValue::from_static("request:%20is%20larger%20than%20the%20server%20accepts%20(4%20MiB)"),
        );
    }
    response
}

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
