//! A receiver that accepts connections and never answers: ending spans never waits for it,
//! spans past the queue bound are dropped and counted, and shutdown gives up at the time
//! limit.
#![allow(clippy::unwrap_used)]

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use specline_settings::{Env, LoadOptions, SchedulerSettings, Settings};
use specline_telemetry::{metric, Telemetry};
use tracing_subscriber::layer::SubscriberExt;

fn counter(snapshot: &[(String, u64)], name: &str) -> u64 {
    snapshot
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .sum()
}

#[test]
fn spans_past_the_bound_are_dropped_and_counted_while_the_receiver_hangs() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    // Accepts (the kernel's backlog) and never reads or answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", hole.local_addr().unwrap());
    let env = Env::from_map([
        ("SPECLINE_DATABASE__URL", "postgres://u@h/db"),
        ("SPECLINE_TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
        ("SPECLINE_TELEMETRY__MAX_QUEUE_SPANS", "16"),
        ("SPECLINE_TELEMETRY__EXPORT_TIMEOUT_SECS", "1"),
    ]);
    let settings = Settings::load::<SchedulerSettings>(&LoadOptions::new(env))
        .unwrap()
        .settings;
    let telemetry = Telemetry::init(&settings.telemetry).unwrap().unwrap();
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    const SPANS: u64 = 500;
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..SPANS {
            let span = tracing::info_span!(target: "specline_test", "work", i);
            span.in_scope(|| tracing::info!(target: "specline_test", "inside"));
        }
    });
    telemetry.shutdown();
    let snapshot: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => Some((key.key().name().to_string(), n)),
            _ => None,
        })
        .collect();
    let dropped = counter(&snapshot, metric::DROPPED);
    let failed = counter(&snapshot, metric::FAILED);
    // At most the bound can wait while the first export hangs; the rest is dropped.
    assert!(dropped >= 1, "{snapshot:?}");
    assert!(dropped + failed <= SPANS, "{snapshot:?}");
    assert_eq!(counter(&snapshot, metric::EXPORTED), 0, "{snapshot:?}");
    drop(hole);
}
