//! What a hostile or broken server at the provider's base URL cannot do: redirect the API key
//! to another host, or make the client read an endless body. Real HTTP servers on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::body::{Body, Bytes};
use common::fake::{FakeServer, Reply};
use common::model_request;
use specline_specdoc::provider::gemini::{Gemini, GeminiConfig};
use specline_specdoc::provider::openai::{OpenAi, OpenAiConfig};
use specline_specdoc::provider::{ApiKey, Provider};
use specline_specdoc::{ProviderError, ProviderErrorCode};

const KEY: &str = "key-that-must-stay-home-7c1e";

fn gemini(base_url: &str) -> Gemini {
    let mut cfg = GeminiConfig::new("gemini-test", ApiKey::new(KEY));
    cfg.base_url = base_url.to_string();
    cfg.timeout = Duration::from_secs(10);
    Gemini::new(cfg).unwrap()
}

fn openai(base_url: &str) -> OpenAi {
    let mut cfg = OpenAiConfig::new("gpt-test", Some(ApiKey::new(KEY)));
    cfg.base_url = base_url.to_string();
    cfg.timeout = Duration::from_secs(10);
    OpenAi::new(cfg).unwrap()
}

async fn call(p: &dyn Provider) -> ProviderError {
    p.generate(&model_request()).await.unwrap_err()
}

/// The provider's host answers every request with a redirect to a second server, reached by
/// another name (`localhost` rather than `127.0.0.1`) and port: that server must never see
/// the key, for any redirect status, for either wire format.
#[tokio::test]
async fn a_redirect_to_another_host_never_carries_the_key() {
    let elsewhere = FakeServer::start(|_, _| Reply::status(200, "{}")).await;
    let port = elsewhere.base_url.rsplit(':').next().unwrap().to_string();
    let target = format!("http://localhost:{port}/stolen");
    for status in [301u16, 302, 303, 307, 308] {
        let t = target.clone();
        let home =
            FakeServer::start(move |_, _| Reply::status(status, "").with_header("location", &t))
                .await;
        for provider in [
            Box::new(gemini(&home.base_url)) as Box<dyn Provider>,
            Box::new(openai(&home.base_url)),
        ] {
            let err = call(provider.as_ref()).await;
            assert_eq!(
                err.code,
                ProviderErrorCode::RedirectRefused,
                "{status}: {err}"
            );
            assert!(!err.is_retryable());
            assert!(!err.to_string().contains(KEY));
        }
        assert_eq!(home.requests().len(), 2, "both providers called home once");
    }
    let leaked: Vec<_> = elsewhere
        .requests()
        .into_iter()
        .map(|r| r.headers)
        .collect();
    assert!(leaked.is_empty(), "the other host was called: {leaked:?}");
}

/// A server that never stops sending, with a success or an error status.
async fn endless(status: u16) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().fallback(move || async move {
        let chunk = Bytes::from(vec![b' '; 64 * 1024]);
        let stream = futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
        axum::response::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn an_endless_body_is_cut_with_a_code() {
    for status in [200u16, 500] {
        let (url, server) = endless(status).await;
        for provider in [
            Box::new(gemini(&url)) as Box<dyn Provider>,
            Box::new(openai(&url)),
        ] {
            let err = call(provider.as_ref()).await;
            assert_eq!(
                err.code,
                ProviderErrorCode::ResponseTooLarge,
                "HTTP {status}: {err}"
            );
        }
        server.abort();
    }
}

/// A declared length over the cap is refused before reading.
#[tokio::test]
async fn an_oversized_declared_length_is_refused() {
    let body = " ".repeat(specline_specdoc::provider::http::MAX_RESPONSE_BYTES + 1);
    let server = FakeServer::start(move |_, _| Reply::status(200, &body)).await;
    let err = call(&gemini(&server.base_url)).await;
    assert_eq!(err.code, ProviderErrorCode::ResponseTooLarge, "{err}");
}
