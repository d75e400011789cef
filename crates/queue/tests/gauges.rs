//! Queue gauges on both stores: what the leader measures and stores matches the jobs table
//! (counted here from the jobs themselves), within one interval of a change; a deposed
//! leader stores nothing; the exporter zeroes a drained queue.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde::{Deserialize, Serialize};
use specline_queue::gauges::{self, GaugeExporter, QueueGauge};
use specline_queue::job::{AttemptError, Completion, Outcome};
use specline_queue::maintenance::RoundTimers;
use specline_queue::{
    Client, InsertOpts, JobFilter, JobKind, JobState, Maintenance, MaintenanceConfig,
};

use common::Harness;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Scan;
impl JobKind for Scan {
    const KIND: &'static str = "scan";
    const QUEUE: &'static str = "gauge_a";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Index;
impl JobKind for Index {
    const KIND: &'static str = "index";
    const QUEUE: &'static str = "gauge_a";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Write;
impl JobKind for Write {
    const KIND: &'static str = "write";
    const QUEUE: &'static str = "gauge_b";
}

/// (queue, kind) -> [available, scheduled, retryable, running] and the oldest ready time,
/// from every job in the table: ready = available, or scheduled/retryable and due.
type Expected = BTreeMap<(String, String), ([i64; 4], Option<DateTime<Utc>>)>;

async fn expected_from_table(h: &Harness, now: DateTime<Utc>) -> Expected {
    let jobs = h
        .store
        .list_jobs(&JobFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out = Expected::new();
    for j in jobs {
        let due = j.scheduled_at <= now;
        let slot = match j.state {
            JobState::Available => 0,
            JobState::Scheduled | JobState::Retryable if due => 0,
            JobState::Scheduled => 1,
            JobState::Retryable => 2,
            JobState::Running => 3,
            _ => continue,
        };
        let e = out.entry((j.queue, j.kind)).or_default();
        e.0[slot] += 1;
        if slot == 0 {
            e.1 = Some(e.1.map_or(j.scheduled_at, |t: DateTime<Utc>| t.min(j.scheduled_at)));
        }
    }
    out
}

fn as_expected(gauges: &[QueueGauge]) -> BTreeMap<(String, String), [i64; 4]> {
    gauges
        .iter()
        .map(|g| {
            (
                (g.queue.clone(), g.kind.clone()),
                g.counts().map(|(_, n)| n),
            )
        })
        .collect()
}

fn counts_only(e: &Expected) -> BTreeMap<(String, String), [i64; 4]> {
    e.iter().map(|(k, v)| (k.clone(), v.0)).collect()
}

fn error() -> AttemptError {
    AttemptError {
        attempt: 1,
        at: Utc::now(),
        code: "TEST".into(),
        message: "on purpose".into(),
        worker: "w".into(),
    }
}

/// Jobs in every live state: available, scheduled (due and not), retryable (due and not),
/// running, plus finished ones that must not count.
async fn fill(h: &Harness) {
    let client = Client::new(h.store.clone());
    let later = Utc::now() + chrono::Duration::hours(1);
    for _ in 0..3 {
        client.insert(&Scan).await.unwrap();
    }
    client
        .insert_with(&Scan, InsertOpts::default().scheduled_at(later))
        .await
        .unwrap();
    for _ in 0..6 {
        client.insert(&Index).await.unwrap();
    }
    client.insert(&Write).await.unwrap();
    // Index jobs: two run on, one retries later, one retries now, one is snoozed until now
    // (scheduled and due), one completes.
    // A live worker holds them (a worker without a row would be rescued by the leader).
    h.store
        .register_worker("w", &["gauge_a".into()])
        .await
        .unwrap();
    let taken = h.store.fetch("gauge_a", 10, "w").await.unwrap();
    let index: Vec<_> = taken.iter().filter(|f| f.kind == "index").collect();
    assert_eq!(index.len(), 6);
    let past = Utc::now() - chrono::Duration::seconds(30);
    let outcomes = [
        Outcome::Retry {
            at: later,
            error: error(),
        },
        Outcome::Retry {
            at: past,
            error: error(),
        },
        Outcome::Snooze {
            at: past,
            error: None,
        },
        Outcome::Completed,
    ];
    let batch: Vec<Completion> = index
        .iter()
        .zip(outcomes)
        .map(|(f, outcome)| Completion {
            id: f.id,
            attempt: f.attempt,
            outcome,
        })
        .collect();
    h.store.complete(&batch).await.unwrap();
    // The scan jobs fetched with them go back to available (a retry due now), so the
    // scan kind keeps ready jobs.
    let scans: Vec<Completion> = taken
        .iter()
        .filter(|f| f.kind == "scan")
        .map(|f| Completion {
            id: f.id,
            attempt: f.attempt,
            outcome: Outcome::Retry {
                at: past,
                error: error(),
            },
        })
        .collect();
    h.store.complete(&scans).await.unwrap();
}

fn maintenance(h: &Harness, id: &str, interval: Duration) -> Maintenance {
    Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            id: id.into(),
            tick: Duration::from_millis(50),
            gauge_interval: Some(interval),
            ..MaintenanceConfig::default()
        },
    )
}

async fn gauges_match_the_table(h: Harness) {
    fill(&h).await;
    // One round of the leader measures and stores.
    let m = maintenance(&h, "gauge-leader", Duration::from_secs(3600));
    let mut timers = RoundTimers::default();
    let before = Utc::now();
    let lease = m.run_once(&mut timers).await.unwrap().unwrap();
    let after = Utc::now();
    let stored = h.store.gauges().read_gauges().await.unwrap();
    let expected = expected_from_table(&h, Utc::now()).await;
    assert_eq!(as_expected(&stored), counts_only(&expected), "{stored:#?}");
    // Every live state is present somewhere (the fill is what the test says it is).
    let index = &expected[&("gauge_a".to_string(), "index".to_string())].0;
    assert_eq!(
        index,
        &[2, 0, 1, 2],
        "index: ready 2 (retry and snooze due), 1 retry later, 2 running"
    );
    assert_eq!(
        expected[&("gauge_a".to_string(), "scan".to_string())].0,
        [3, 1, 0, 0]
    );
    // The age of the oldest ready job, as of the measurement.
    for g in &stored {
        assert!(
            g.measured_at >= before - chrono::Duration::microseconds(1) && g.measured_at <= after
        );
        let oldest = expected[&(g.queue.clone(), g.kind.clone())].1.unwrap();
        let age = (g.measured_at - oldest).to_std().unwrap();
        assert_eq!(g.oldest_available_age, age, "{g:?}");
    }
    let index = stored.iter().find(|g| g.kind == "index").unwrap();
    assert!(index.oldest_available_age >= Duration::from_secs(30));

    // A running loop keeps them within one interval of the table: drain queue b and add
    // work to queue a, then wait for the stored gauges to agree (allowing a loaded test
    // machine a few intervals).
    h.store.resign(&lease).await.unwrap();
    let interval = Duration::from_millis(300);
    let started = Utc::now();
    let running = maintenance(&h, "gauge-loop", interval).start();
    let deadline = Instant::now() + interval * 10;
    // The loop's first measurement (the change below then lands between two of them).
    while !h
        .store
        .gauges()
        .read_gauges()
        .await
        .unwrap()
        .iter()
        .any(|g| g.measured_at > started)
    {
        assert!(Instant::now() < deadline, "the loop never measured");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = Client::new(h.store.clone());
    let b = h.store.fetch("gauge_b", 10, "w").await.unwrap();
    h.store
        .complete(&[Completion {
            id: b[0].id,
            attempt: b[0].attempt,
            outcome: Outcome::Completed,
        }])
        .await
        .unwrap();
    client.insert(&Scan).await.unwrap();
    let stored = wait_for_match(&h, Instant::now() + interval * 10).await;
    assert!(
        !stored.iter().any(|g| g.queue == "gauge_b"),
        "the drained queue's row is gone"
    );
    running.shutdown().await;
}

/// Poll the stored gauges until they match the table; panic at `deadline`.
async fn wait_for_match(h: &Harness, deadline: Instant) -> Vec<QueueGauge> {
    loop {
        let stored = h.store.gauges().read_gauges().await.unwrap();
        let expected = expected_from_table(h, Utc::now()).await;
        if as_expected(&stored) == counts_only(&expected) {
            return stored;
        }
        assert!(
            Instant::now() < deadline,
            "gauges never matched: {stored:#?} vs {expected:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_deposed_leader_stores_nothing(h: Harness) {
    fill(&h).await;
    let lease = h
        .store
        .try_lead("old", Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    // The lease runs out and another node takes it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h
        .store
        .try_lead("new", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the new node never led");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gauges::measure(&*h.store, &lease).await.unwrap(), None);
    assert!(h.store.gauges().read_gauges().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_gauges_match_the_table_within_one_interval() {
    gauges_match_the_table(Harness::pg().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_gauges_match_the_table_within_one_interval() {
    gauges_match_the_table(Harness::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_deposed_leader_stores_no_gauges() {
    a_deposed_leader_stores_nothing(Harness::pg().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_deposed_leader_stores_no_gauges() {
    a_deposed_leader_stores_nothing(Harness::sqlite().await).await;
}

/// The exporter sets one gauge per queue, kind and state, and zeroes a pair whose row went.
#[test]
fn the_exporter_sets_gauges_and_zeroes_a_drained_queue() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let now = Utc::now();
    let gauge = |queue: &str, available| QueueGauge {
        queue: queue.into(),
        kind: "k".into(),
        available,
        scheduled: 1,
        retryable: 2,
        running: 3,
        oldest_available_age: Duration::from_millis(1500),
        measured_at: now,
    };
    let mut exporter = GaugeExporter::new();
    metrics::with_local_recorder(&recorder, || {
        exporter.export(&[gauge("a", 7), gauge("b", 9)]);
        exporter.export(&[gauge("a", 8)]);
    });
    let values: BTreeMap<String, f64> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let DebugValue::Gauge(v) = value else {
                return None;
            };
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            Some((format!("{}{{{}}}", key.key().name(), labels.join(",")), v.0))
        })
        .collect();
    let get = |k: &str| {
        values
            .get(k)
            .copied()
            .unwrap_or_else(|| panic!("{k} in {values:#?}"))
    };
    assert_eq!(
        get("specline_queue_jobs{queue=a,kind=k,state=available}"),
        8.0
    );
    assert_eq!(
        get("specline_queue_jobs{queue=a,kind=k,state=running}"),
        3.0
    );
    assert_eq!(
        get("specline_queue_jobs{queue=b,kind=k,state=available}"),
        0.0
    );
    assert_eq!(
        get("specline_queue_oldest_available_age_seconds{queue=a,kind=k}"),
        1.5
    );
    assert_eq!(
        get("specline_queue_oldest_available_age_seconds{queue=b,kind=k}"),
        0.0
    );
    let measured = get("specline_queue_gauges_measured_timestamp_seconds{}");
    assert!((measured - now.timestamp_micros() as f64 / 1e6).abs() < 1e-3);
}
