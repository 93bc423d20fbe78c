//! Tracing initialised once: silent by default, OTLP export when configured, W3C trace context in gRPC metadata.
//!
//! This crate owns the process-wide tracing subscriber, the OpenTelemetry tracer provider and the
//! global text-map propagator, plus the two halves of trace propagation over tonic: an interceptor
//! that writes `traceparent`/`tracestate` on outgoing calls and [`adopt_remote_parent`] for
//! handlers. It never logs request contents itself; callers must keep personal data out of span
//! and event fields, because everything recorded there may be exported.

pub mod metrics;

use std::io;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use opentelemetry::global;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::{Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Env var holding an `EnvFilter` for the human-readable stderr output.
const LOG_ENV: &str = "MASH_LOG";
/// Standard OTLP variable; its presence is what switches span export on.
const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// What was installed as the process-wide subscriber. Kept so that `init` and
/// `capture_for_tests` can each become a no-op after the other (tests start several services in
/// one process, and a global subscriber can only be set once).
enum Installed {
    Service,
    Capture(CapturedOutput),
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Why telemetry could not be initialised.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid {LOG_ENV} filter: {0}")]
    LogFilter(#[from] tracing_subscriber::filter::FromEnvError),
    #[error("{OTLP_ENDPOINT_ENV} is set but init was called outside a Tokio runtime (the gRPC exporter needs one)")]
    NoTokioRuntime,
    #[error("cannot build the OTLP span exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("another global tracing subscriber or logger was installed by other code: {0}")]
    SubscriberInstall(#[from] tracing_subscriber::util::TryInitError),
}

/// Flushes and shuts down span export on drop. Keep it alive for the life of the service and drop
/// it inside the Tokio runtime, because the exporter's gRPC channel runs on that runtime.
#[derive(Debug)]
#[must_use = "dropping the guard immediately shuts down span export"]
pub struct TelemetryGuard {
    /// Only set when spans are exported: without an exporter there is nothing to flush, and
    /// shutting the provider down would stop spans getting trace ids.
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "span exporter did not shut down cleanly");
        }
    }
}

/// Initialises the global tracing subscriber once per process.
///
/// - `MASH_LOG` (EnvFilter syntax) controls a human-readable stderr layer; unset or empty means
///   `warn`.
/// - When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans at INFO and above are exported over
///   OTLP/gRPC with a batch exporter, with resource `service.name = service_name`; this must then
///   be called inside a Tokio runtime. Otherwise nothing is exported, but a tracer provider is
///   still installed so spans get real W3C trace/span ids that can be propagated.
/// - Sets the global text-map propagator to W3C TraceContext.
///
/// Later calls, or a call after [`capture_for_tests`], do nothing and return an inert guard.
pub fn init(service_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    let inert = || TelemetryGuard { provider: None };
    if INSTALLED.get().is_some() {
        return Ok(inert());
    }

    let stderr_filter =
        EnvFilter::builder().with_default_directive(LevelFilter::WARN.into()).with_env_var(LOG_ENV).from_env()?;

    let exporter = if std::env::var_os(OTLP_ENDPOINT_ENV).is_some_and(|v| !v.is_empty()) {
        // The tonic exporter connects lazily on the current runtime and panics without one;
        // report that as an error instead. The builder reads the endpoint from the env itself.
        tokio::runtime::Handle::try_current().map_err(|_| TelemetryError::NoTokioRuntime)?;
        Some(opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?)
    } else {
        None
    };
    let exporting = exporter.is_some();

    let mut builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service_name.to_owned()).build());
    if let Some(exporter) = exporter {
        // The SDK's batch processor exports from its own thread; the tonic client it calls runs
        // on the Tokio runtime captured above.
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();

    let mut outcome = Ok(inert());
    INSTALLED.get_or_init(|| {
        // Colour only on a terminal: redirected to a file, escape codes are noise in every line.
        let stderr = tracing_subscriber::fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
            .with_filter(stderr_filter);
        outcome = tracing_subscriber::registry()
            .with(stderr)
            .with(otel_layer(&provider))
            .try_init()
            .map(|()| {
                install_otel_globals(&provider);
                TelemetryGuard { provider: exporting.then_some(provider) }
            })
            .map_err(TelemetryError::from);
        Installed::Service
    });
    outcome
}

/// Installs (once per process, instead of [`init`]) a global subscriber that writes everything at
/// TRACE level, including span open/close events with their fields, into an in-memory buffer,
/// plus the same OpenTelemetry layer as [`init`] without an exporter, so propagation works.
/// Subsequent calls return the same handle.
///
/// If [`init`] (or other code) installed the global subscriber first, the returned handle is not
/// connected to anything and stays empty.
pub fn capture_for_tests() -> CapturedOutput {
    let installed = INSTALLED.get_or_init(|| {
        let output = CapturedOutput::default();
        let provider = SdkTracerProvider::builder()
            .with_resource(Resource::builder().with_service_name("mash-tests").build())
            .build();
        let captured = tracing_subscriber::fmt::layer()
            .with_writer(output.clone())
            .with_ansi(false)
            .with_span_events(FmtSpan::FULL)
            .with_filter(LevelFilter::TRACE);
        let installed = tracing_subscriber::registry().with(captured).with(otel_layer(&provider)).try_init();
        if installed.is_ok() {
            install_otel_globals(&provider);
        }
        Installed::Capture(output)
    });
    match installed {
        Installed::Capture(output) => output.clone(),
        Installed::Service => CapturedOutput::default(),
    }
}

/// Everything written by the subscriber installed by [`capture_for_tests`].
#[derive(Clone, Debug, Default)]
pub struct CapturedOutput {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedOutput {
    /// The captured text so far (lossy UTF-8).
    pub fn contents(&self) -> String {
        // A test thread that panicked mid-write must not hide what other tests captured.
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

/// Appends to the shared buffer; one `write` per formatted line, so lines never interleave.
#[derive(Debug)]
pub struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedOutput {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(Arc::clone(&self.buffer))
    }
}

/// The OpenTelemetry layer shared by both modes. Spans below INFO and spans from the transport
/// and telemetry stacks are left out: the exporter itself runs on tonic/h2/hyper, so exporting
/// their spans would feed back into itself, and their volume would swamp the service's spans.
fn otel_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let filter = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_targets(["h2", "hyper", "tonic", "tower", "opentelemetry"].map(|t| (t, LevelFilter::OFF)));
    tracing_opentelemetry::layer().with_tracer(provider.tracer("mash")).with_filter(filter)
}

fn install_otel_globals(provider: &SdkTracerProvider) {
    global::set_text_map_propagator(TraceContextPropagator::new());
    // Not needed by the tracing bridge, but lets code using the OpenTelemetry API directly share
    // the same provider.
    global::set_tracer_provider(provider.clone());
}

/// Client side: a tonic interceptor that injects the current tracing span's OpenTelemetry context
/// into the request metadata as `traceparent`/`tracestate`.
/// Use as `FeedClient::with_interceptor(channel, TracePropagation)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracePropagation;

impl tonic::service::Interceptor for TracePropagation {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let context = tracing::Span::current().context();
        global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut MetadataInjector(request.metadata_mut()));
        });
        Ok(request)
    }
}

/// Server side: makes the remote parent carried in `traceparent` metadata (if any, and valid) the
/// parent of `span`. Call it right after creating the span and before entering it or asking for
/// its [`trace_id`]: the OpenTelemetry span is started at that point and its parent is then fixed.
///
/// If the span declares a `trace_id` field (as `tracing::field::Empty`), the trace id is recorded
/// in it, so that log lines can be joined to the distributed trace.
pub fn adopt_remote_parent(span: &tracing::Span, metadata: &MetadataMap) {
    let parent = global::get_text_map_propagator(|propagator| propagator.extract(&MetadataExtractor(metadata)));
    if parent.span().span_context().is_valid() {
        // Fails only when the span is disabled or already started; a request must never fail
        // over telemetry, and the span then simply keeps its local parent.
        let _ = span.set_parent(parent);
    }
    if let Some(id) = trace_id(span) {
        span.record("trace_id", id.as_str());
    }
}

/// Links `span` to `other`: for work done once on behalf of several traced requests (the
/// broker's batched feed searches), so that each request's trace can be followed to it.
pub fn link(span: &tracing::Span, other: &tracing::Span) {
    let context = other.context().span().span_context().clone();
    if context.is_valid() {
        span.add_link(context);
    }
}

/// The W3C trace id (32 lowercase hex chars) of `span`, or `None` if it has no valid
/// OpenTelemetry context (disabled, filtered out, or no subscriber installed).
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The W3C propagator only emits ASCII names and values; anything else is skipped rather
        // than failing the call over telemetry.
        if let (Ok(key), Ok(value)) = (MetadataKey::from_bytes(key.as_bytes()), MetadataValue::try_from(value.as_str()))
        {
            self.0.insert(key, value);
        }
    }
}

struct MetadataExtractor<'a>(&'a MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|key| match key {
                KeyRef::Ascii(key) => Some(key.as_str()),
                KeyRef::Binary(_) => None,
            })
            .collect()
    }
}
