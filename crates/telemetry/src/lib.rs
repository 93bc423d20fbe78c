//! Tracing initialised once: silent by default, OTLP export when configured, W3C trace context in gRPC metadata.
