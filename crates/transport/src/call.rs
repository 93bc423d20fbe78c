//! One tower layer in front of every service a MASH server registers: it reads
//! the caller from the verified client certificate, and times and counts
//! every call, refused ones included.
//!
//! Doing this once, before routing, means no handler can forget it, and a
//! call refused for want of an identity is traced and counted like any other
//! (in a handler it would have been refused before its span began).

use std::{
    collections::HashSet,
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use mash_domain::Identity;
use prost::Message;
use tonic::{
    Request, Status,
    body::Body,
    metadata::MetadataMap,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};
use tracing::Instrument;

use crate::{MAX_MESSAGE_BYTES, identity::identity_of};

/// The label of a call to a path no service of this server declares: paths
/// are chosen by the caller, and a metric label per path would let any
/// caller grow the metrics without bound.
const UNKNOWN: &str = "unknown";

/// The verified caller of `request`, as the call layer found it.
///
/// Only the certificate chain that rustls verified against the CA counts;
/// metadata is never consulted, since any client can set it.
pub fn caller<T>(request: &Request<T>) -> Result<Identity, Status> {
    request.extensions().get::<Identity>().cloned().ok_or_else(|| Status::unauthenticated("no verified caller"))
}

/// Puts the caller's [`Identity`] in each request's extensions, or answers
/// UNAUTHENTICATED itself; in both cases inside a span (with the caller's
/// W3C trace context as parent) and counted in `mash_grpc_requests_total`.
#[derive(Clone)]
pub struct CallLayer {
    /// Every `/package.Service/Method` path the server declares.
    methods: Arc<HashSet<String>>,
}

impl CallLayer {
    /// A layer for a server whose services are described in
    /// `descriptor_sets` (encoded FileDescriptorSets).
    pub fn new(descriptor_sets: &[&[u8]]) -> Result<Self, crate::TransportError> {
        let mut methods = HashSet::new();
        for encoded in descriptor_sets {
            let set =
                prost_types::FileDescriptorSet::decode(*encoded).map_err(|_| crate::TransportError::Descriptor)?;
            for file in set.file {
                for service in &file.service {
                    let full = format!("{}.{}", file.package(), service.name());
                    methods.extend(service.method.iter().map(|m| format!("/{full}/{}", m.name())));
                }
            }
        }
        Ok(Self { methods: Arc::new(methods) })
    }
}

impl<S> tower::Layer<S> for CallLayer {
    type Service = CallService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallService { inner, methods: self.methods.clone() }
    }
}

#[derive(Clone)]
pub struct CallService<S> {
    inner: S,
    methods: Arc<HashSet<String>>,
}

impl<S> CallService<S> {
    /// The service and method of a path this server declares, or "unknown".
    fn names(&self, path: &str) -> (String, String) {
        match path.trim_start_matches('/').split_once('/') {
            Some((service, method)) if self.methods.contains(path) => (service.to_owned(), method.to_owned()),
            _ => (UNKNOWN.to_owned(), UNKNOWN.to_owned()),
        }
    }
}

impl<S> tower::Service<http::Request<Body>> for CallService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let (service, method) = self.names(request.uri().path());
        let span = tracing::info_span!("grpc.call", rpc.service = %service, rpc.method = %method, trace_id = tracing::field::Empty);
        mash_telemetry::adopt_remote_parent(&span, &MetadataMap::from_headers(request.headers().clone()));
        let identity = verified_caller(&request);
        // The clone that was made ready is the one to call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(
            async move {
                let started = Instant::now();
                let response = match identity {
                    Ok(identity) => {
                        request.extensions_mut().insert(identity);
                        inner.call(request).await?
                    }
                    Err(status) => status.into_http(),
                };
                let response = oversized_is_invalid_argument(response);
                let code = code_of(&response);
                if code != tonic::Code::Ok {
                    tracing::debug!(code = ?code, "call refused or failed");
                }
                mash_telemetry::metrics::metrics().grpc(&service, &method, code, started.elapsed());
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// The caller named by the client certificate that the TLS handshake verified.
fn verified_caller(request: &http::Request<Body>) -> Result<Identity, Status> {
    let certs = request
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .and_then(TlsConnectInfo::peer_certs)
        .ok_or_else(|| Status::unauthenticated("no verified client certificate"))?;
    let leaf = certs.first().ok_or_else(|| Status::unauthenticated("no verified client certificate"))?;
    identity_of(leaf).map_err(|error| {
        tracing::debug!(%error, "rejected peer certificate");
        Status::unauthenticated(error.to_string())
    })
}

/// tonic refuses a request over `max_decoding_message_size` with OUT_OF_RANGE
/// before any handler runs (no MASH handler answers OUT_OF_RANGE). To the
/// caller that is bad input like any other: INVALID_ARGUMENT, naming the
/// field as the handlers do, with the limit.
fn oversized_is_invalid_argument(response: http::Response<Body>) -> http::Response<Body> {
    if code_of(&response) != tonic::Code::OutOfRange {
        return response;
    }
    let message = format!("request: is larger than the server accepts; the limit is {MAX_MESSAGE_BYTES} bytes");
    let violation = tonic_types::FieldViolation::new("request", message.clone());
    let details = tonic_types::ErrorDetails::with_bad_request(vec![violation]);
    <Status as tonic_types::StatusExt>::with_error_details(tonic::Code::InvalidArgument, message, details).into_http()
}

/// The call's status as far as the response head tells it: an error known
/// before the first message comes in the head (trailers-only); a call whose
/// head carries no status has begun to answer, and counts as OK.
fn code_of(response: &http::Response<Body>) -> tonic::Code {
    Status::from_header_map(response.headers()).map_or(tonic::Code::Ok, |status| status.code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, Service, ServiceExt};

    fn layer() -> CallLayer {
        CallLayer::new(&[tonic_health::pb::FILE_DESCRIPTOR_SET]).expect("the health descriptor decodes")
    }

    /// A service that would answer OK; the layer must not let an anonymous call reach it.
    fn ok_service()
    -> impl tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible, Future = impl Send>
    + Clone
    + Send
    + 'static {
        tower::service_fn(|request: http::Request<Body>| async move {
            assert!(request.extensions().get::<Identity>().is_some(), "reached without an identity");
            Ok::<_, Infallible>(http::Response::new(Body::empty()))
        })
    }

    fn count(scrape: &str, labels: &str) -> u64 {
        let prefix = format!("mash_grpc_requests_total{{{labels}}} ");
        scrape.lines().find_map(|line| line.strip_prefix(&prefix)).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    }

    #[tokio::test]
    async fn an_unauthenticated_call_is_refused_and_counted() {
        let labels = r#"service="grpc.health.v1.Health",method="Check",code="Unauthenticated""#;
        let before = count(&mash_telemetry::metrics::metrics().encode(), labels);
        let request =
            http::Request::builder().uri("/grpc.health.v1.Health/Check").body(Body::empty()).expect("request");
        let response = layer().layer(ok_service()).oneshot(request).await.expect("infallible");
        assert_eq!(code_of(&response), tonic::Code::Unauthenticated);
        let after = count(&mash_telemetry::metrics::metrics().encode(), labels);
        assert_eq!(after, before + 1, "{labels}");
    }

    #[tokio::test]
    async fn a_path_no_service_declares_is_counted_as_unknown() {
        let labels = r#"service="unknown",method="unknown",code="Unauthenticated""#;
        let before = count(&mash_telemetry::metrics::metrics().encode(), labels);
        let request = http::Request::builder().uri("/x.Y/AnyNameAtAll").body(Body::empty()).expect("request");
        let mut service = layer().layer(ok_service());
        let response = service.ready().await.expect("infallible").call(request).await.expect("infallible");
        assert_eq!(code_of(&response), tonic::Code::Unauthenticated);
        assert_eq!(count(&mash_telemetry::metrics::metrics().encode(), labels), before + 1);
    }
}
