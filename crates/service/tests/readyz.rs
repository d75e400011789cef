//! `/readyz` checks both schemas a binary uses: a database whose engine tables are current
//! but whose application tables were never migrated is not ready. Real SQLite file, real
//! HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use metrics_exporter_prometheus::PrometheusBuilder;
use specline_service::{db, http};
use specline_settings::DatabaseTarget;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[tokio::test]
async fn readyz_needs_the_application_schema_too() {
    let file = specline_testkit::TempSqlite::new("ready.sqlite3");
    let dbs = db::open(&DatabaseTarget::Sqlite {
        path: file.path().to_path_buf(),
    })
    .await
    .unwrap();
    dbs.jobs.migrate().await.unwrap();
    let metrics = PrometheusBuilder::new().build_recorder().handle();
    let server = http::serve("127.0.0.1:0".parse().unwrap(), dbs.clone(), metrics, vec![])
        .await
        .unwrap();

    let (status, body) = get(server.addr, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    let error = ready["checks"]["database"]["error"].as_str().unwrap();
    assert!(error.contains("application schema at version 0"), "{error}");

    dbs.app.migrate().await.unwrap();
    let (status, body) = get(server.addr, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    server.stop();
}
