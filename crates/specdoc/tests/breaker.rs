//! The circuit breaker against a real HTTP server on 127.0.0.1: a half-open trial whose call
//! is dropped frees the breaker, and a refusal says when the next trial may go.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake::{FakeServer, Reply, Wire};
use common::model_request;
use serde_json::Value;
use specline_specdoc::provider::gemini::{Gemini, GeminiConfig};
use specline_specdoc::provider::ApiKey;
use specline_specdoc::reliability::{BreakerConfig, ClientConfig, ModelClient, RetryPolicy};
use specline_specdoc::ProviderErrorCode;

fn client(server: &FakeServer, cooldown: Duration) -> ModelClient {
    let mut g = GeminiConfig::new("gemini-test", ApiKey::new("k"));
    g.base_url = server.base_url.clone();
    ModelClient::new(
        Arc::new(Gemini::new(g).unwrap()),
        ClientConfig {
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::fast(1),
            breaker: BreakerConfig {
                failure_threshold: 1,
                cooldown,
            },
            requests_per_minute: 0,
        },
    )
}

async fn call(c: &ModelClient) -> Result<Value, ProviderErrorCode> {
    c.call_json::<Value>(&model_request(), |_| Ok(()))
        .await
        .map(|(v, _)| v)
        .map_err(|f| f.error.code)
}

/// The trial call is dropped mid-flight (as a job timeout, a cancel or a shutdown drops it);
/// the next call must become the new trial instead of being refused until a restart.
#[tokio::test]
async fn a_dropped_trial_releases_the_breaker() {
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let server = FakeServer::start(move |n, _| {
        let _ = arrived.send(n);
        match n {
            0 => Reply::status(503, "{}"),
            // The trial: it would answer much later, but its caller is gone by then.
            1 => Reply::model_text(Wire::Gemini, "{}", "STOP").delayed(Duration::from_secs(600)),
            _ => Reply::model_text(Wire::Gemini, "{\"ok\": true}", "STOP"),
        }
    })
    .await;
    let c = client(&server, Duration::ZERO);
    assert_eq!(call(&c).await, Err(ProviderErrorCode::ServerError));
    assert_eq!(arrivals.recv().await, Some(0));

    let trial = tokio::spawn({
        let c = c.clone();
        async move { call(&c).await }
    });
    assert_eq!(
        arrivals.recv().await,
        Some(1),
        "the trial reached the server"
    );
    trial.abort();
    assert!(trial.await.unwrap_err().is_cancelled());

    assert_eq!(call(&c).await, Ok(serde_json::json!({"ok": true})));
    assert!(!c.breaker().is_open());
}

/// A refused call carries the time until the next trial, which a job snoozes for.
#[tokio::test]
async fn a_refusal_carries_the_time_until_the_next_trial() {
    let server = FakeServer::start(|_, _| Reply::status(503, "{}")).await;
    let c = client(&server, Duration::from_secs(60));
    assert_eq!(call(&c).await, Err(ProviderErrorCode::ServerError));
    let refused = c
        .call_json::<Value>(&model_request(), |_| Ok(()))
        .await
        .unwrap_err()
        .error;
    assert_eq!(refused.code, ProviderErrorCode::CircuitOpen);
    let wait = refused.snooze_for().unwrap();
    assert!(
        wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "the refused call made no request"
    );
}
