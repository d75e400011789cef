//! Phase 2 one feature at a time (`phases::convert_one` per feature, then `phases::join`), as
//! a pipeline that fans the conversion out over jobs runs it: the joined behaviors equal the
//! single-call `phases::convert` for the offline generator and for a model (a fake Gemini
//! server on 127.0.0.1), in any order the features finish; a failed feature falls back to its
//! test names with its code; more than half failed is `FEATURES_FAILED`; results that do not
//! match the classification are refused.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake::{good_answer, FakeServer, Recorded, Reply};
use specline_specdoc::cache::MemoryCache;
use specline_specdoc::phases::{self, FeatureOutcome, GenerateOptions, Generator};
use specline_specdoc::provider::gemini::{Gemini, GeminiConfig};
use specline_specdoc::provider::ApiKey;
use specline_specdoc::reliability::{BreakerConfig, ClientConfig, ModelClient, RetryPolicy};
use specline_specdoc::{LanguageTag, SpecError, SpecInput};

fn gemini(server: &FakeServer) -> Generator {
    let mut g = GeminiConfig::new("gemini-test", ApiKey::new("test-key"));
    g.base_url = server.base_url.clone();
    let cfg = ClientConfig {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::fast(2),
        breaker: BreakerConfig {
            failure_threshold: 1000,
            ..BreakerConfig::default()
        },
        requests_per_minute: 0,
    };
    Generator::with_model(
        ModelClient::new(Arc::new(Gemini::new(g).unwrap()), cfg),
        Arc::new(MemoryCache::new()),
    )
}

fn shop() -> SpecInput {
    SpecInput::from_inventory(&common::shop(), None).unwrap()
}

fn opts() -> GenerateOptions {
    GenerateOptions::new(LanguageTag::parse("en").unwrap())
}

/// Each feature converted on its own, the last feature first (as jobs may finish), then the
/// outcomes put back in feature order and joined.
async fn one_by_one(
    gen: &Generator,
    input: &SpecInput,
    c: &phases::Classification,
) -> Vec<FeatureOutcome> {
    let features = phases::features(c);
    let mut outcomes = Vec::new();
    for at in features.iter().rev() {
        let r = phases::convert_one(gen, input, c, &opts(), at).await;
        outcomes.push(r.map_err(|e| {
            let code = e.provider_error().map(|p| p.code.as_str()).unwrap_or("X");
            (code.to_string(), e.to_string())
        }));
    }
    outcomes.reverse();
    outcomes
}

#[tokio::test]
async fn offline_features_joined_equal_the_single_call_conversion() {
    let gen = Generator::offline();
    let input = shop();
    let c = phases::classify(&gen, &input, &opts()).await.unwrap();
    assert!(phases::features(&c).len() >= 2, "{c:?}");
    let whole = phases::convert(&gen, &input, &c, &opts(), None, None)
        .await
        .unwrap();
    let joined = phases::join(&input, &c, &opts(), one_by_one(&gen, &input, &c).await).unwrap();
    assert_eq!(joined, whole);
}

#[tokio::test]
async fn model_features_joined_equal_the_single_call_conversion() {
    let server = FakeServer::start(|_, r: &Recorded| Reply::ok(r.wire(), &good_answer(r))).await;
    let input = shop();
    let c = phases::classify(&gen_of(&server), &input, &opts())
        .await
        .unwrap();
    // Separate generators (separate caches): each pays for every feature.
    let whole = phases::convert(&gen_of(&server), &input, &c, &opts(), None, None)
        .await
        .unwrap();
    let joined = phases::join(
        &input,
        &c,
        &opts(),
        one_by_one(&gen_of(&server), &input, &c).await,
    )
    .unwrap();
    assert_eq!(joined, whole);
    assert!(joined.usage.calls >= 4, "{joined:?}");
}

fn gen_of(server: &FakeServer) -> Generator {
    gemini(server)
}

#[tokio::test]
async fn a_failed_feature_falls_back_and_more_than_half_failed_fails_the_join() {
    let server = FakeServer::start(|_, r: &Recorded| {
        if r.phase() == "convert" && r.system().contains("Feature login_test.go") {
            return Reply::status(500, "{}");
        }
        Reply::ok(r.wire(), &good_answer(r))
    })
    .await;
    let gen = gemini(&server);
    let input = shop();
    let c = phases::classify(&gen, &input, &opts()).await.unwrap();
    let outcomes = one_by_one(&gen, &input, &c).await;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err().map(|(code, _)| code.as_str()))
        .collect();
    assert_eq!(failed, ["SERVER_ERROR"]);
    let joined = phases::join(&input, &c, &opts(), outcomes.clone()).unwrap();
    let login = &joined.features[0];
    assert_eq!(login.fallback.as_deref(), Some("SERVER_ERROR"));
    let names: Vec<&str> = login.sentences.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        names,
        [
            "TestLogin_ExpiredPassword",
            "TestLogin_ValidCredentials",
            "TestLogout_ClearsSession"
        ]
    );
    assert!(joined.features[1..].iter().all(|f| f.fallback.is_none()));

    // Three of four failed: the join fails as the single-call conversion would.
    let mut many = outcomes;
    for o in many.iter_mut().skip(1).take(2) {
        *o = Err(("RATE_LIMITED".into(), "slow down".into()));
    }
    match phases::join(&input, &c, &opts(), many).unwrap_err() {
        SpecError::FeaturesFailed {
            failed,
            total,
            last_code,
        } => {
            assert_eq!((failed, total), (3, 4));
            assert_eq!(last_code, "RATE_LIMITED");
        }
        other => panic!("expected FEATURES_FAILED, got {other}"),
    }
}

#[tokio::test]
async fn outcomes_that_do_not_match_the_classification_are_refused() {
    let gen = Generator::offline();
    let input = shop();
    let c = phases::classify(&gen, &input, &opts()).await.unwrap();
    let mut outcomes = one_by_one(&gen, &input, &c).await;
    let last = outcomes.pop().unwrap();
    let short = phases::join(&input, &c, &opts(), outcomes.clone()).unwrap_err();
    assert_eq!(short.code(), "INCONSISTENT_INPUT");
    outcomes.insert(0, last);
    let swapped = phases::join(&input, &c, &opts(), outcomes).unwrap_err();
    assert_eq!(swapped.code(), "INCONSISTENT_INPUT");
    let nowhere = phases::FeatureRef {
        domain: 99,
        feature: 0,
        name: "gone".into(),
    };
    let err = phases::convert_one(&gen, &input, &c, &opts(), &nowhere)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INCONSISTENT_INPUT");
}
