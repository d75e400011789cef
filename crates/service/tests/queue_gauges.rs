//! A binary's `/metrics` exports the queue gauges the maintenance leader stored: real SQLite
//! file, the real maintenance round, the real Prometheus exporter over HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use specline_queue::maintenance::RoundTimers;
use specline_queue::{Client, JobKind, Maintenance, MaintenanceConfig};
use specline_service::{db, http};
use specline_settings::DatabaseTarget;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Gauged;
impl JobKind for Gauged {
    const KIND: &'static str = "gauged";
    const QUEUE: &'static str = "gauge_q";
}

async fn metrics_text(addr: SocketAddr) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_stored_queue_gauges() {
    let file = specline_testkit::TempSqlite::new("gauges.sqlite3");
    let dbs = db::open(&DatabaseTarget::Sqlite {
        path: file.path().to_path_buf(),
    })
    .await
    .unwrap();
    dbs.migrate().await.unwrap();
    let client = Client::new(dbs.jobs.clone());
    client.insert(&Gauged).await.unwrap();
    client.insert(&Gauged).await.unwrap();
    // The leader's round measures and stores them.
    let leader = Maintenance::new(dbs.jobs.clone(), MaintenanceConfig::default());
    assert!(leader
        .run_once(&mut RoundTimers::default())
        .await
        .unwrap()
        .is_some());

    let metrics = http::install_metrics().unwrap();
    let server = http::serve("127.0.0.1:0".parse().unwrap(), dbs.clone(), metrics, vec![])
        .await
        .unwrap();
    let want = r#"specline_queue_jobs{queue="gauge_q",kind="gauged",state="available"} 2"#;
    let deadline = Instant::now() + http::GAUGE_READ_INTERVAL * 4;
    loop {
        let text = metrics_text(server.addr).await;
        if text.contains(want) {
            assert!(
                text.contains(
                    r#"specline_queue_jobs{queue="gauge_q",kind="gauged",state="running"} 0"#
                ),
                "{text}"
            );
            assert!(
                text.contains(
                    r#"specline_queue_oldest_available_age_seconds{queue="gauge_q",kind="gauged"}"#
                ),
                "{text}"
            );
            assert!(
                text.contains("specline_queue_gauges_measured_timestamp_seconds"),
                "{text}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{want} never appeared in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();
}
