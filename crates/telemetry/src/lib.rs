//! Traces of the Specline binaries, exported with OpenTelemetry.
//!
//! Every binary's work is `tracing` spans: an API request, a run's submission, each job
//! attempt (see `specline_queue::trace_context` for how a job carries its trace from the
//! process that submitted it to the one that runs it). With `[telemetry] otlp_endpoint`
//! set, [`Telemetry::init`] turns them into OpenTelemetry spans and sends them to an
//! OTLP/HTTP receiver (protobuf, `<endpoint>/v1/traces`); unset, nothing here runs and spans
//! are only the context of log lines.
//!
//! Why a crate of its own: the SDK and the exporter (with an HTTP client) are needed only
//! where spans leave the process, in the binaries; the engine and the API speak only the
//! small OpenTelemetry API.
//!
//! - Propagation is W3C Trace Context (`traceparent`, `tracestate`), installed as the
//!   process's propagator.
//! - Sampling is parent-based: a trace continued from a caller follows the caller's
//!   decision; a new one is kept with `sample_percent` probability.
//! - Export never holds up the work: spans wait in a bounded queue ([`queue`]), a full
//!   queue drops new spans and counts them, and the export runs on its own thread with a
//!   time limit.

mod queue;

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;
use specline_settings::TelemetrySettings;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::Layer;

/// The path OTLP/HTTP receivers take traces on, below the configured base URL.
pub const TRACES_PATH: &str = "/v1/traces";

/// Metric names (Prometheus, on each binary's `/metrics`).
pub mod metric {
    /// Spans handed to the exporter and accepted by the receiver.
    pub const EXPORTED: &str = "specline_trace_spans_exported_total";
    /// Spans lost because the receiver refused them or could not be reached in time.
    pub const FAILED: &str = "specline_trace_spans_failed_total";
    /// Spans dropped before export because the queue was full (`telemetry.max_queue_spans`).
    pub const DROPPED: &str = "specline_trace_spans_dropped_total";
}

/// Why the exporter could not be set up (a settings problem: the binary exits 2).
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry.otlp_endpoint: {0}")]
    Exporter(String),
}

/// The installed trace pipeline of a binary. Call [`Telemetry::shutdown`] before exit to
/// send what is queued (within `telemetry.export_timeout_secs`).
pub struct Telemetry {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    timeout: Duration,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `<base>/v1/traces`, unless the base names that path already.
pub fn traces_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with(TRACES_PATH) {
        base.to_string()
    } else {
        format!("{base}{TRACES_PATH}")
    }
}

impl Telemetry {
    /// The pipeline `settings` describe, or `None` when `otlp_endpoint` is unset. Installs
    /// the W3C propagator for the process. Call it before the async runtime starts or from
    /// any thread: the exporter's HTTP client lives on its own threads.
    pub fn init(settings: &TelemetrySettings) -> Result<Option<Telemetry>, TelemetryError> {
        let Some(endpoint) = &settings.otlp_endpoint else {
            return Ok(None);
        };
        let headers: HashMap<String, String> = settings
            .otlp_headers
            .iter()
            .map(|(name, value)| (name.clone(), value.expose().to_string()))
            .collect();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .with_timeout(settings.export_timeout())
            .with_headers(headers)
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        let (processor, exporter) = queue::bounded(exporter, settings.max_queue_spans);
        let batch = BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    // Room for every span the gate lets through: the gate, not this queue,
                    // decides what is dropped, so every drop is counted.
                    .with_max_queue_size(settings.max_queue_spans.saturating_add(1))
                    .build(),
            )
            .build();
        let ratio = f64::from(settings.sample_percent.min(100)) / 100.0;
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor.wrap(batch))
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name(settings.service_name.clone())
                    .build(),
            )
            .build();
        let tracer = provider.tracer("specline");
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        Ok(Some(Telemetry {
            provider,
            tracer,
            timeout: settings.export_timeout(),
        }))
    }

    /// The `tracing` layer that records Specline's spans (info and above, from Specline's
    /// own crates: a dependency's spans would only be noise in a trace) as OpenTelemetry
    /// spans; log events inside them become span events.
    pub fn layer<S>(&self) -> impl Layer<S>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let filter = Targets::new()
            .with_default(LevelFilter::OFF)
            .with_target("specline", LevelFilter::INFO);
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer.clone())
            .with_filter(filter)
    }

    /// Send what is queued and stop the export thread, within the export time limit (a
    /// receiver that is down costs at most that at exit).
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown_with_timeout(self.timeout) {
            eprintln!("warning: traces not all exported at exit: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(traces_url("https://c/otlp"), "https://c/otlp/v1/traces");
    }
}
