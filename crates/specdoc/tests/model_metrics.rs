//! Model cost metrics counted against the fake model server's own count of calls and tokens:
//! calls, tokens in and out, errors by code, the latency histogram, cache hits and misses.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::fake::{good_answer, FakeServer, Recorded, Reply};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use specline_specdoc::cache::MemoryCache;
use specline_specdoc::phases::{self, GenerateOptions, Generator};
use specline_specdoc::provider::gemini::{Gemini, GeminiConfig};
use specline_specdoc::provider::ApiKey;
use specline_specdoc::reliability::{BreakerConfig, ClientConfig, ModelClient, RetryPolicy};
use specline_specdoc::{LanguageTag, SpecInput};

/// Every counter as `name{label=value,…}` → value, and each histogram's sample count, since
/// the last snapshot (a snapshot drains the recorder).
fn read(snapshotter: &Snapshotter) -> BTreeMap<String, u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let mut labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.key().name(), labels.join(","));
            match value {
                DebugValue::Counter(n) => Some((name, n)),
                DebugValue::Histogram(samples) => Some((name, samples.len() as u64)),
                DebugValue::Gauge(_) => None,
            }
        })
        .collect()
}

fn tiny() -> SpecInput {
    let inv = common::inventory(
        "https://git.example/acme/tiny",
        vec![common::file(
            "auth/login_test.go",
            "go",
            "go-testing",
            vec![],
            vec![
                common::test("TestLogin_ExpiredPassword", 3),
                common::test("TestLogin_Ok", 9),
            ],
        )],
    );
    SpecInput::from_inventory(&inv, None).unwrap()
}

#[tokio::test]
async fn model_cost_metrics_match_what_the_model_server_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // The test's runtime is single-threaded, so every model call records on this thread.
    let _local = metrics::set_default_local_recorder(&recorder);

    // A 500, then an answer that is not the JSON asked for (it still reports its tokens),
    // then good answers.
    let server = FakeServer::start(|n, r: &Recorded| match n {
        0 => Reply::status(500, r#"{"error":{"message":"boom"}}"#),
        1 => Reply::model_text(r.wire(), "not json", "STOP"),
        _ => Reply::ok(r.wire(), &good_answer(r)),
    })
    .await;
    let mut config = GeminiConfig::new("gemini-test", ApiKey::new("test-key"));
    config.base_url = server.base_url.clone();
    let client = ModelClient::new(
        Arc::new(Gemini::new(config).unwrap()),
        ClientConfig {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::fast(4),
            breaker: BreakerConfig::default(),
            requests_per_minute: 0,
        },
    );
    let gen = Generator::with_model(client, Arc::new(MemoryCache::new()));
    let opts = GenerateOptions::new(LanguageTag::parse("en").unwrap());
    phases::generate(&gen, &tiny(), &opts, 1).await.unwrap();

    let m = read(&snapshotter);
    let get = |k: &str| m.get(k).copied().unwrap_or(0);
    let labels = "model=gemini-test,provider=gemini";
    let calls = server.requests().len() as u64;
    assert!(calls >= 5, "two failures and three phases: {calls}");
    assert_eq!(
        get(&format!("specline_model_calls_total{{{labels}}}")),
        calls,
        "{m:#?}"
    );
    assert_eq!(
        get(&format!("specline_model_call_seconds{{{labels}}}")),
        calls
    );
    let sent = server.tokens_sent();
    assert!(sent.prompt > 0 && sent.output > 0);
    assert_eq!(
        get(&format!(
            "specline_model_tokens_total{{direction=in,{labels}}}"
        )),
        sent.prompt
    );
    assert_eq!(
        get(&format!(
            "specline_model_tokens_total{{direction=out,{labels}}}"
        )),
        sent.output
    );
    assert_eq!(
        get(&format!(
            "specline_model_errors_total{{code=SERVER_ERROR,{labels}}}"
        )),
        1
    );
    assert_eq!(
        get(&format!(
            "specline_model_errors_total{{code=INVALID_JSON,{labels}}}"
        )),
        1
    );
    let misses = get(&format!(
        "specline_model_cache_lookups_total{{{labels},result=miss}}"
    ));
    assert!(misses > 0, "{m:#?}");
    assert_eq!(
        get(&format!(
            "specline_model_cache_lookups_total{{{labels},result=hit}}"
        )),
        0
    );

    // The same input again: the cache answers what it holds, and only the rest is asked.
    // (A snapshot drains the recorder: what follows counts the second run only.)
    let (calls_before, sent_before) = (calls, server.tokens_sent());
    phases::generate(&gen, &tiny(), &opts, 1).await.unwrap();
    let m = read(&snapshotter);
    let get = |k: &str| m.get(k).copied().unwrap_or(0);
    let hits = get(&format!(
        "specline_model_cache_lookups_total{{{labels},result=hit}}"
    ));
    assert_eq!(
        hits, misses,
        "every lookup that missed before hits now: {m:#?}"
    );
    assert_eq!(
        get(&format!(
            "specline_model_cache_lookups_total{{{labels},result=miss}}"
        )),
        0
    );
    let calls_now = server.requests().len() as u64 - calls_before;
    assert_eq!(
        get(&format!("specline_model_calls_total{{{labels}}}")),
        calls_now
    );
    assert_eq!(
        get(&format!(
            "specline_model_tokens_total{{direction=in,{labels}}}"
        )),
        server.tokens_sent().prompt - sent_before.prompt
    );
}
