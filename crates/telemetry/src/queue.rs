//! The bounded export queue: spans wait for export in at most `max_queue_spans` places, and
//! a span past that is dropped and counted rather than held in memory or waited for.
//!
//! The SDK's batch processor already drops when its channel is full, but neither exposes
//! nor counts it. So a gate in front counts the spans between "ended" and "export
//! returned", refuses past the bound (counting [`crate::metric::DROPPED`]), and the exporter
//! behind reports each batch's fate ([`crate::metric::EXPORTED`], [`crate::metric::FAILED`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::metric;

/// Spans ended and not yet through an export (successful or not).
struct Pending {
    count: AtomicUsize,
    max: usize,
}

impl Pending {
    fn release(&self, n: usize) {
        let _ = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                Some(c.saturating_sub(n))
            });
    }
}

/// Builds the gate (the processor side) and wraps the exporter (the release side).
pub(crate) fn bounded<E: SpanExporter>(exporter: E, max: usize) -> (Gate, Counting<E>) {
    let pending = Arc::new(Pending {
        count: AtomicUsize::new(0),
        max: max.max(1),
    });
    (
        Gate {
            pending: pending.clone(),
        },
        Counting {
            inner: exporter,
            pending,
            last_warning: Mutex::new(None),
        },
    )
}

pub(crate) struct Gate {
    pending: Arc<Pending>,
}

impl Gate {
    pub(crate) fn wrap<P: SpanProcessor>(self, inner: P) -> Gated<P> {
        Gated {
            inner,
            pending: self.pending,
        }
    }
}

/// The span processor: admits a span while fewer than `max` are pending.
#[derive(Debug)]
pub(crate) struct Gated<P> {
    inner: P,
    pending: Arc<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.count.load(Ordering::Relaxed), self.max)
    }
}

impl<P: SpanProcessor> SpanProcessor for Gated<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let admitted = self
            .pending
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                (c < self.pending.max).then_some(c + 1)
            })
            .is_ok();
        if admitted {
            self.inner.on_end(span);
        } else {
            metrics::counter!(metric::DROPPED).increment(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The exporter: releases a batch's places when its export returns (or is abandoned at
/// the time limit) and counts the outcome.
#[derive(Debug)]
pub(crate) struct Counting<E> {
    inner: E,
    pending: Arc<Pending>,
    last_warning: Mutex<Option<Instant>>,
}

/// Releases places when dropped, so an export future abandoned at its time limit still
/// gives them back.
struct Release<'a> {
    pending: &'a Pending,
    n: usize,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.pending.release(self.n);
    }
}

/// At most one warning a minute about failing exports: a receiver that is down should be
/// visible in the log without filling it.
const WARN_EVERY: Duration = Duration::from_secs(60);

impl<E: SpanExporter> Counting<E> {
    fn warn(&self, n: usize, error: &dyn std::fmt::Display) {
        let Ok(mut last) = self.last_warning.lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < WARN_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        tracing::warn!(
            spans = n,
            error = %error,
            "trace export failed; these spans are lost (counted in {})",
            metric::FAILED
        );
    }
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len();
        let _release = Release {
            pending: &self.pending,
            n,
        };
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => metrics::counter!(metric::EXPORTED).increment(n as u64),
            Err(e) => {
                metrics::counter!(metric::FAILED).increment(n as u64);
                self.warn(n, e);
            }
        }
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
