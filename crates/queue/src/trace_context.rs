//! Distributed-trace context carried by jobs, so the spans of a job run by another process
//! (or after a retry, a rescue, or a step that follows another on a different binary) join
//! the trace of whoever submitted it.
//!
//! The context is the W3C Trace Context (`traceparent`, `tracestate`) of the span current
//! where a job is built ([`crate::NewJob::from_spec`]) or a run submitted
//! ([`crate::Client::submit`]), written into the job's metadata under [`METADATA_KEY`]; each
//! step of a run carries the context of its submission. The executor makes the job's span a
//! child of it.
//!
//! The engine only speaks the OpenTelemetry *API*: which propagator (and so which format) is
//! used, and whether spans are recorded and exported at all, is the application's choice
//! (`specline-telemetry` installs the W3C propagator and an OTLP exporter when configured).
//! Without one, nothing is written into metadata and job spans are plain `tracing` spans.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The metadata key holding a job's trace context: an object of propagation fields
/// (`{"traceparent": "00-…-…-01", "tracestate": "…"}`).
pub const METADATA_KEY: &str = "trace";

/// The longest propagation field kept (a `tracestate` may carry up to 32 vendor entries;
/// anything longer is not a context worth storing with every job).
const MAX_FIELD_BYTES: usize = 512;

struct Fields(HashMap<String, String>);

impl Injector for Fields {
    fn set(&mut self, key: &str, value: String) {
        if value.len() <= MAX_FIELD_BYTES {
            self.0.insert(key.to_string(), value);
        }
    }
}

struct Stored<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl Extractor for Stored<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The context of the current span as propagation fields, or `None` when there is none to
/// carry (no current span, no propagator installed, or a span that is not recorded).
pub fn current() -> Option<serde_json::Value> {
    let span = tracing::Span::current();
    if span.is_none() {
        return None;
    }
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut fields = Fields(HashMap::new());
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut fields));
    if fields.0.is_empty() {
        return None;
    }
    Some(serde_json::Value::Object(
        fields
            .0
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect(),
    ))
}

/// `metadata` with the current context under [`METADATA_KEY`], unless it has one already
/// (a caller that carries a context of its own keeps it) or is not an object.
pub fn with_current(mut metadata: serde_json::Value) -> serde_json::Value {
    if let Some(map) = metadata.as_object_mut() {
        if !map.contains_key(METADATA_KEY) {
            if let Some(cx) = current() {
                map.insert(METADATA_KEY.to_string(), cx);
            }
        }
    }
    metadata
}

/// Make `span` a child of the context stored in a job's `metadata` (its JSON text). A
/// missing or malformed context (metadata is input: anyone may insert a job) leaves the span
/// where it is.
pub fn attach(span: &tracing::Span, metadata: &str) {
    // Most jobs carry no context: skip parsing their metadata.
    if span.is_disabled() || !metadata.contains(METADATA_KEY) {
        return;
    }
    let Ok(metadata) = serde_json::from_str::<serde_json::Value>(metadata) else {
        return;
    };
    let Some(fields) = metadata.get(METADATA_KEY).and_then(|v| v.as_object()) else {
        return;
    };
    attach_from(span, &Stored(fields));
}

/// Make `span` a child of the context in `carrier` (HTTP headers, say), read by the
/// installed propagator, which validates it: a malformed `traceparent` is no context, and
/// the span stays where it is (a root, or under the current span).
pub fn attach_from(span: &tracing::Span, carrier: &dyn Extractor) {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier));
    if cx.span().span_context().is_valid() {
        // Fails only without an OpenTelemetry layer, when there is nothing to attach to.
        let _ = span.set_parent(cx);
    }
}
