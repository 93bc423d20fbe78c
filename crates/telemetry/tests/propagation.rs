//! Both tests share one process, so both install the capturing subscriber (it is global and can
//! only be set once); `capture_for_tests` returns the same handle to whichever runs second.

use mash_telemetry::{TracePropagation, adopt_remote_parent, capture_for_tests, trace_id};
use tonic::service::Interceptor as _;

#[test]
fn trace_context_crosses_grpc_metadata() {
    let _output = capture_for_tests();

    let client_span = tracing::info_span!("client.call");
    let request = client_span
        .in_scope(|| TracePropagation.call(tonic::Request::new(())))
        .expect("the interceptor never rejects a request");
    let metadata = request.metadata();
    assert!(metadata.get("traceparent").is_some(), "traceparent was not injected");

    let server_span = tracing::info_span!("server.handle");
    adopt_remote_parent(&server_span, metadata);

    let client_trace = trace_id(&client_span).expect("client span has a trace id");
    let server_trace = trace_id(&server_span).expect("server span has a trace id");
    assert_eq!(client_trace, server_trace);
    assert_eq!(client_trace.len(), 32);
    assert!(client_trace.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(client_trace, "0".repeat(32));

    // Without metadata the handler span starts its own trace, so the equality above is real.
    let unrelated = tracing::info_span!("server.handle");
    adopt_remote_parent(&unrelated, &tonic::metadata::MetadataMap::new());
    assert_ne!(trace_id(&unrelated), Some(client_trace));
}

#[test]
fn capture_records_events_and_span_fields() {
    let output = capture_for_tests();

    tracing::info_span!("capture.span", marker_field = "span-field-3c1e").in_scope(|| {
        tracing::info!("capture-event-7f3a");
    });

    let text = capture_for_tests().contents();
    // The other test writes to the same global buffer concurrently, so compare
    // what both handles see, not the whole text at two moments.
    assert!(output.contents().contains("capture-event-7f3a"), "later calls return the same handle");
    assert!(text.contains("capture-event-7f3a"), "event missing from: {text}");
    assert!(text.contains("span-field-3c1e"), "span field missing from: {text}");
    assert!(text.contains("close"), "span close event missing from: {text}");
}
