//! Every route answers within `api.request_timeout_secs`: a handler that takes longer gets
//! 503 `TIMEOUT` in the API's JSON error shape (the layer the API's router applies).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::routing::get;
use axum::Router;

#[tokio::test]
async fn a_route_slower_than_its_limit_answers_503_timeout() {
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route("/fast", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_millis(100),
            specline_api::limits::timeout,
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let fast = http.get(format!("{base}/fast")).send().await.unwrap();
    assert_eq!(fast.status(), 200);
    let started = std::time::Instant::now();
    let slow = http.get(format!("{base}/slow")).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(slow.status(), 503);
    let body: serde_json::Value = slow.json().await.unwrap();
    assert_eq!(body["code"], "TIMEOUT");
}
