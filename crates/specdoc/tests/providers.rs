//! The providers against a real HTTP server on 127.0.0.1 that speaks the Gemini and OpenAI
//! wire formats (tests/common/fake.rs): success, chunking, 429 with Retry-After, 500 then
//! success, permanent 401, malformed JSON, truncated output, timeouts, safety blocks, the
//! circuit breaker, feature-level fallback, resuming a failed conversion, and the caches.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fake::{good_answer, FakeServer, Recorded, Reply, Wire};
use serde_json::json;
use specline_specdoc::cache::{Cache, CacheMode, MemoryCache};
use specline_specdoc::phases::{self, Behaviors, GenerateOptions, Generator};
use specline_specdoc::provider::gemini::{Gemini, GeminiConfig};
use specline_specdoc::provider::openai::{JsonMode, OpenAi, OpenAiConfig, TokenLimitField};
use specline_specdoc::provider::ApiKey;
use specline_specdoc::reliability::{BreakerConfig, ClientConfig, ModelClient, RetryPolicy};
use specline_specdoc::{LanguageTag, ProviderErrorCode, SpecError, SpecInput};

const KEY: &str = "test-key-4f1c";

fn config() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::fast(4),
        breaker: BreakerConfig::default(),
        requests_per_minute: 0,
    }
}

fn gemini(server: &FakeServer, cfg: ClientConfig, cache: Arc<dyn Cache>) -> Generator {
    gemini_with(server, cfg, cache, |_| {})
}

/// A Gemini generator whose provider settings `tweak` may change.
fn gemini_with(
    server: &FakeServer,
    cfg: ClientConfig,
    cache: Arc<dyn Cache>,
    tweak: impl FnOnce(&mut GeminiConfig),
) -> Generator {
    let mut g = GeminiConfig::new("gemini-test", ApiKey::new(KEY));
    g.base_url = server.base_url.clone();
    tweak(&mut g);
    let p = Gemini::new(g).unwrap();
    Generator::with_model(ModelClient::new(Arc::new(p), cfg), cache)
}

fn openai(server: &FakeServer, cfg: ClientConfig, cache: Arc<dyn Cache>) -> Generator {
    openai_with(server, cfg, cache, |_| {})
}

/// An OpenAI-compatible generator whose provider settings `tweak` may change.
fn openai_with(
    server: &FakeServer,
    cfg: ClientConfig,
    cache: Arc<dyn Cache>,
    tweak: impl FnOnce(&mut OpenAiConfig),
) -> Generator {
    let mut o = OpenAiConfig::new("local-model", Some(ApiKey::new(KEY)));
    o.base_url = format!("{}/v1", server.base_url);
    tweak(&mut o);
    let p = OpenAi::new(o).unwrap();
    Generator::with_model(ModelClient::new(Arc::new(p), cfg), cache)
}

fn opts(lang: &str) -> GenerateOptions {
    GenerateOptions::new(LanguageTag::parse(lang).unwrap())
}

fn shop() -> SpecInput {
    SpecInput::from_inventory(&common::shop(), None).unwrap()
}

/// One file, two tests: a run is exactly classify + convert + summarize.
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

/// Generates `tiny()` through Gemini with the default test settings.
async fn tiny_via_gemini(server: &FakeServer) -> specline_specdoc::SpecDocument {
    let gen = gemini(server, config(), Arc::new(MemoryCache::new()));
    phases::generate(&gen, &tiny(), &opts("en"), 1)
        .await
        .unwrap()
}

/// Generates `tiny()` expecting a failure; returns the provider error's code.
async fn fails_with(gen: &Generator) -> ProviderErrorCode {
    let err = phases::generate(gen, &tiny(), &opts("en"), 1)
        .await
        .unwrap_err();
    err.provider_error().unwrap().code
}

fn good(_: usize, r: &Recorded) -> Reply {
    Reply::ok(r.wire(), &good_answer(r))
}

#[tokio::test]
async fn gemini_success_speaks_the_wire_format_and_records_usage() {
    let server = FakeServer::start(good).await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    let doc = phases::generate(&gen, &shop(), &opts("ko"), 1)
        .await
        .unwrap();

    let reqs = server.requests();
    assert_eq!(
        reqs.len(),
        1 + 4 + 1,
        "one classify, one convert per feature (4 files), one summary"
    );
    for r in &reqs {
        assert_eq!(r.path, "/v1beta/models/gemini-test:generateContent");
        assert_eq!(r.header("x-goog-api-key"), Some(KEY));
        assert!(!r.path.contains(KEY));
        assert_eq!(
            r.body["generationConfig"]["responseMimeType"],
            "application/json"
        );
        assert_eq!(
            r.body["generationConfig"]["responseSchema"]["type"],
            "OBJECT"
        );
        assert!(r.body["generationConfig"].get("thinkingConfig").is_none());
        assert!(r.system().contains("Korean (ko)"), "{}", r.system());
    }
    assert_eq!(doc.generator.kind, "gemini");
    assert_eq!(doc.generator.model, "gemini-test");
    assert_eq!(doc.content_language.as_str(), "ko");
    assert_eq!(doc.summary, "A fake summary.");
    let names: Vec<&str> = doc.domains.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["Domain auth", "Domain src", "Domain web", "Domain tests"]
    );
    let first = doc.behaviors().next().unwrap();
    assert_eq!(first.sentence, "S0: TestLogin_ExpiredPassword");
    assert_eq!(doc.behaviors().count(), 13);
    assert_eq!(doc.usage.calls, 6);
    assert_eq!(doc.usage.prompt_tokens, 600);
    assert_eq!(doc.usage.output_tokens, 120);
    assert_eq!(doc.usage.total_tokens, 720);
    assert!(doc.notes.is_empty(), "{:?}", doc.notes);
    // Korean sentences get Korean headings and labels.
    let md = specline_specdoc::export::to_markdown(&doc);
    assert!(md.starts_with("# 명세: shop\n"), "{md}");
    assert!(md.contains("| 언어 | ko |\n"));
    assert!(md.contains("| 동작 | 동작 13개 · 도메인 4개 · 기능 4개 |\n"));
    assert!(md.contains("| 모델 사용량 | 호출: 6 · 토큰: 720 (입력: 600, 출력: 120) |\n"));
    assert!(md.contains("\n## 요약\n\nA fake summary.\n"));
    assert!(md.contains("\n## 목차\n\n1. Domain auth — 동작 3개\n"));
}

/// A model-written document carries the case counts too: they come from the inventory, not
/// from the model's answer.
#[tokio::test]
async fn a_model_written_document_carries_the_case_counts() {
    let server = FakeServer::start(good).await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    let input = SpecInput::from_inventory(&common::with_literal_cases(), None).unwrap();
    let doc = phases::generate(&gen, &input, &opts("en"), 1)
        .await
        .unwrap();
    assert_eq!(doc.generator.kind, "gemini");
    let counted: Vec<(&str, Option<u64>)> = doc
        .behaviors()
        .map(|b| (b.test_name.as_str(), b.cases))
        .collect();
    assert_eq!(counted.len(), 5);
    for (name, cases) in counted {
        let expected = match name {
            "test_rounds_each_currency" => Some(4),
            "adds %s" => Some(2),
            _ => None,
        };
        assert_eq!(cases, expected, "{name}");
    }
    assert_eq!(doc.stats.runner_tests, Some(9));
}

#[tokio::test]
async fn a_gemini_thinking_budget_is_sent_when_set() {
    let server = FakeServer::start(good).await;
    let gen = gemini_with(&server, config(), Arc::new(MemoryCache::new()), |g| {
        g.thinking_budget = Some(0)
    });
    phases::generate(&gen, &tiny(), &opts("en"), 1)
        .await
        .unwrap();
    for r in server.requests() {
        assert_eq!(
            r.body["generationConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 0})
        );
    }
}

#[tokio::test]
async fn openai_compatible_success_uses_base_url_bearer_and_json_mode() {
    let server = FakeServer::start(good).await;
    let gen = openai(&server, config(), Arc::new(MemoryCache::new()));
    let doc = phases::generate(&gen, &tiny(), &opts("pt-BR"), 1)
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(r.body["model"], "local-model");
        assert_eq!(r.body["response_format"], json!({"type": "json_object"}));
        assert_eq!(r.body["temperature"], json!(0.2f32));
        assert!(
            r.body["max_tokens"].as_u64().is_some_and(|t| t > 0),
            "local servers read max_tokens"
        );
        assert!(r.body.get("max_completion_tokens").is_none());
        assert!(r.system().contains("Portuguese (pt-BR)"));
    }
    let sentences: Vec<&str> = doc.behaviors().map(|b| b.sentence.as_str()).collect();
    assert_eq!(
        sentences,
        ["S0: TestLogin_ExpiredPassword", "S1: TestLogin_Ok"]
    );
    assert_eq!(doc.generator.kind, "openai");
}

#[tokio::test]
async fn openai_json_schema_mode_sends_the_schema() {
    let server = FakeServer::start(good).await;
    let gen = openai_with(&server, config(), Arc::new(MemoryCache::new()), |o| {
        o.api_key = None;
        o.json_mode = JsonMode::JsonSchema;
        o.token_limit_field = TokenLimitField::MaxCompletionTokens;
        o.temperature = None;
    });
    phases::generate(&gen, &tiny(), &opts("en"), 1)
        .await
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!(
        r.header("authorization"),
        None,
        "no key configured, none sent"
    );
    assert_eq!(r.body["response_format"]["type"], "json_schema");
    assert!(r.body.get("temperature").is_none());
    assert!(r.body.get("max_tokens").is_none());
    assert!(r.body["max_completion_tokens"].as_u64().is_some());
    assert_eq!(
        r.body["response_format"]["json_schema"]["name"],
        "classification"
    );
    assert_eq!(
        r.body["response_format"]["json_schema"]["schema"]["type"],
        "object"
    );
}

#[tokio::test]
async fn classification_is_chunked_by_whole_files_and_reuses_domains() {
    // The shop has files of 3, 3, 4 and 3 tests; chunks of at most 4 tests keep files whole.
    let server = FakeServer::start(|_, r: &Recorded| {
        if r.phase() == "classify" {
            // One domain name for every chunk; one stray index from outside the chunk and one
            // that does not exist; the last test of each chunk left out.
            let lines = r.lines();
            let mut ids: Vec<i64> = lines.iter().map(|(i, _)| *i as i64).collect();
            ids.pop();
            ids.push(999);
            ids.push(-1);
            if lines[0].0 != 0 {
                ids.push(0);
            }
            return Reply::ok(
                r.wire(),
                &json!({"domains": [{"name": "Shop", "features": [{"name": "Everything", "tests": ids}]}]}),
            );
        }
        Reply::ok(r.wire(), &good_answer(r))
    })
    .await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    let mut o = opts("en");
    o.classify_chunk_tests = 4;
    let input = shop();
    let c = phases::classify(&gen, &input, &o).await.unwrap();

    let reqs: Vec<Recorded> = server
        .requests()
        .into_iter()
        .filter(|r| r.phase() == "classify")
        .collect();
    let chunks: Vec<Vec<usize>> = reqs
        .iter()
        .map(|r| r.lines().iter().map(|(i, _)| *i).collect())
        .collect();
    assert_eq!(
        chunks,
        vec![
            vec![0, 1, 2],
            vec![3, 4, 5],
            vec![6, 7, 8, 9],
            vec![10, 11, 12]
        ]
    );
    assert!(!reqs[0].system().contains("found so far"));
    for r in &reqs[1..] {
        assert!(r.system().contains("- Shop: Everything"), "{}", r.system());
    }
    let names: Vec<&str> = c.domains.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Shop", "Uncategorized"]);
    assert_eq!(
        c.domains[0].features[0].tests,
        vec![0, 1, 3, 4, 6, 7, 8, 10, 11]
    );
    assert_eq!(c.domains[1].features[0].tests, vec![2, 5, 9, 12]);
    assert!(
        c.warnings.iter().any(|w| w.starts_with("UNKNOWN_INDEX")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("MISSING_INDEX: 4 tests")),
        "{:?}",
        c.warnings
    );
}

#[tokio::test]
async fn rate_limit_429_honors_retry_after() {
    let server = FakeServer::start(|n, r: &Recorded| {
        if n == 0 {
            Reply::status(
                429,
                r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"slow down"}}"#,
            )
            .with_header("retry-after", "1")
        } else {
            good(n, r)
        }
    })
    .await;
    let doc = tiny_via_gemini(&server).await;
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4, "the rate-limited call was repeated once");
    let gap = reqs[1].at - reqs[0].at;
    // The backoff alone would be about a millisecond: the wait is the server's second.
    assert!(gap >= Duration::from_millis(990), "{gap:?}");
    assert_eq!(doc.usage.calls, 4);
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = FakeServer::start(|n, r: &Recorded| {
        if n == 0 {
            Reply::status(500, r#"{"error":{"message":"boom"}}"#)
        } else {
            good(n, r)
        }
    })
    .await;
    let gen = openai(&server, config(), Arc::new(MemoryCache::new()));
    let doc = phases::generate(&gen, &tiny(), &opts("en"), 1)
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 4);
    assert_eq!(doc.domains[0].name, "Domain auth");
    assert_eq!(doc.usage.calls, 4);
    assert_eq!(doc.usage.total_tokens, 3 * 120, "the 500 carried no usage");
}

#[tokio::test]
async fn permanent_401_fails_at_once_with_its_code() {
    for wire in [Wire::Gemini, Wire::OpenAi] {
        let server = FakeServer::start(|_, _: &Recorded| {
            Reply::status(
                401,
                r#"{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}"#,
            )
        })
        .await;
        let gen = match wire {
            Wire::Gemini => gemini(&server, config(), Arc::new(MemoryCache::new())),
            Wire::OpenAi => openai(&server, config(), Arc::new(MemoryCache::new())),
        };
        let err = phases::generate(&gen, &tiny(), &opts("en"), 1)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "CLASSIFY_FAILED");
        let pe = err.provider_error().unwrap();
        assert_eq!(pe.code, ProviderErrorCode::Unauthorized);
        assert_eq!(pe.status, Some(401));
        assert_eq!(server.requests().len(), 1, "{wire:?}: never retried");
        assert!(!err.to_string().contains(KEY));
    }
}

#[tokio::test]
async fn malformed_json_is_retried() {
    let server = FakeServer::start(|n, r: &Recorded| match n {
        // A body cut in the middle: not even the provider's envelope parses.
        0 => Reply::status(200, r#"{"candidates": [{"content": {"parts": [{"te"#),
        // The envelope is fine but the model's text is prose, not JSON.
        1 => Reply::model_text(
            r.wire(),
            "Sure! Here are the domains you asked for.",
            "STOP",
        ),
        _ => good(n, r),
    })
    .await;
    let doc = tiny_via_gemini(&server).await;
    assert_eq!(server.requests().len(), 5);
    assert_eq!(doc.domains[0].name, "Domain auth");
}

#[tokio::test]
async fn truncated_output_is_retried_in_both_formats() {
    for wire in [Wire::Gemini, Wire::OpenAi] {
        let server = FakeServer::start(|n, r: &Recorded| {
            if n == 0 {
                let cut = if r.wire() == Wire::Gemini {
                    "MAX_TOKENS"
                } else {
                    "length"
                };
                Reply::model_text(r.wire(), r#"{"domains":[{"name":"Au"#, cut)
            } else {
                good(n, r)
            }
        })
        .await;
        let gen = match wire {
            Wire::Gemini => gemini(&server, config(), Arc::new(MemoryCache::new())),
            Wire::OpenAi => openai(&server, config(), Arc::new(MemoryCache::new())),
        };
        let doc = phases::generate(&gen, &tiny(), &opts("en"), 1)
            .await
            .unwrap();
        assert_eq!(server.requests().len(), 4, "{wire:?}");
        assert_eq!(doc.usage.calls, 4);
        assert_eq!(
            doc.usage.total_tokens,
            4 * 120,
            "the truncated answer's tokens count too"
        );
    }
}

#[tokio::test]
async fn retries_stop_after_the_budget_with_the_last_code() {
    let server = FakeServer::start(|_, _: &Recorded| Reply::status(503, "{}")).await;
    let mut cfg = config();
    cfg.retry = RetryPolicy::fast(3);
    let gen = gemini(&server, cfg, Arc::new(MemoryCache::new()));
    assert_eq!(fails_with(&gen).await, ProviderErrorCode::ServerError);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let server = FakeServer::start(|n, r: &Recorded| {
        let reply = good(n, r);
        if n == 0 {
            reply.delayed(Duration::from_secs(3))
        } else {
            reply
        }
    })
    .await;
    let mut cfg = config();
    cfg.timeout = Duration::from_millis(300);
    let gen = gemini(&server, cfg, Arc::new(MemoryCache::new()));
    let started = std::time::Instant::now();
    let doc = phases::generate(&gen, &tiny(), &opts("en"), 1)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not wait for the slow answer"
    );
    assert_eq!(server.requests().len(), 4);
    assert_eq!(doc.usage.calls, 4);
}

#[tokio::test]
async fn a_safety_block_is_permanent() {
    let server = FakeServer::start(|_, _: &Recorded| {
        Reply::status(
            200,
            r#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":5}}"#,
        )
    })
    .await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    assert_eq!(fails_with(&gen).await, ProviderErrorCode::SafetyBlocked);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_circuit_breaker_stops_calling_a_dead_provider() {
    let server = FakeServer::start(|_, _: &Recorded| Reply::status(503, "{}")).await;
    let mut cfg = config();
    cfg.retry = RetryPolicy::fast(10);
    cfg.breaker = BreakerConfig {
        failure_threshold: 3,
        cooldown: Duration::from_secs(60),
    };
    let gen = gemini(&server, cfg, Arc::new(MemoryCache::new()));
    assert_eq!(fails_with(&gen).await, ProviderErrorCode::CircuitOpen);
    assert_eq!(
        server.requests().len(),
        3,
        "the fourth attempt was refused without a call"
    );
}

#[tokio::test]
async fn the_rate_limit_spaces_calls() {
    let server = FakeServer::start(good).await;
    let mut cfg = config();
    cfg.requests_per_minute = 600; // one call per 100 ms
    let gen = gemini(&server, cfg, Arc::new(MemoryCache::new()));
    phases::generate(&gen, &tiny(), &opts("en"), 1)
        .await
        .unwrap();
    let reqs = server.requests();
    assert!(reqs.len() >= 3, "{}", reqs.len());
    // Spacing is measured where requests arrive, so each gap carries the difference of two
    // requests' latencies: no gap may look like a burst, and the whole span must be the
    // limit's (a few milliseconds of latency noise aside).
    for w in reqs.windows(2) {
        assert!(
            w[1].at - w[0].at >= Duration::from_millis(60),
            "{:?}",
            w[1].at - w[0].at
        );
    }
    let span = reqs[reqs.len() - 1].at - reqs[0].at;
    let expected = Duration::from_millis(100) * u32::try_from(reqs.len() - 1).unwrap();
    assert!(
        span + Duration::from_millis(20) >= expected,
        "{span:?} for {} calls",
        reqs.len()
    );
}

/// Converting `Feature login_test.go` always fails; everything else works.
fn failing_login(n: usize, r: &Recorded) -> Reply {
    if r.phase() == "convert" && r.system().contains("Feature login_test.go") {
        return Reply::status(500, "{}");
    }
    good(n, r)
}

#[tokio::test]
async fn a_failing_feature_falls_back_to_test_names() {
    let server = FakeServer::start(failing_login).await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    let doc = phases::generate(&gen, &shop(), &opts("en"), 1)
        .await
        .unwrap();
    let login = &doc.domains[0].features[0];
    assert_eq!(login.name, "Feature login_test.go");
    assert_eq!(login.fallback.as_deref(), Some("SERVER_ERROR"));
    let s: Vec<&str> = login
        .behaviors
        .iter()
        .map(|b| b.sentence.as_str())
        .collect();
    assert_eq!(
        s,
        [
            "TestLogin_ExpiredPassword",
            "TestLogin_ValidCredentials",
            "TestLogout_ClearsSession"
        ]
    );
    let other = &doc.domains[1].features[0];
    assert_eq!(other.fallback, None);
    assert_eq!(
        other.behaviors[0].sentence,
        "S3: shouldRejectNegativeAmounts"
    );
    assert_eq!(doc.stats.fallback_features, 1);
    let md = specline_specdoc::export::to_markdown(&doc);
    assert!(md.contains(
        "### 1.1 Feature login\\_test.go\n\n_These are the original test names: converting this feature failed (SERVER\\_ERROR)._\n"
    ), "{md}");
    assert!(doc
        .notes
        .iter()
        .any(|n| n.contains("1 features show the original test names")));
    assert_eq!(
        server.count("convert"),
        3 + 4,
        "the failing feature used its retry budget of 4"
    );
}

#[tokio::test]
async fn more_than_half_failing_fails_the_step_after_saving_and_resumes() {
    let broken = Arc::new(Mutex::new(true));
    let b2 = broken.clone();
    let server = FakeServer::start(move |n, r: &Recorded| {
        let fail = *b2.lock().unwrap()
            && r.phase() == "convert"
            && !r.system().contains("Feature login_test.go");
        if fail {
            Reply::status(502, "{}")
        } else {
            good(n, r)
        }
    })
    .await;
    // A breaker that never opens here: this test is about the step's own failure rule.
    let mut cfg = config();
    cfg.breaker.failure_threshold = 1000;
    let gen = gemini(&server, cfg, Arc::new(MemoryCache::new()));
    let o = opts("en");
    let input = shop();
    let c = phases::classify(&gen, &input, &o).await.unwrap();
    let mut saved: Vec<Behaviors> = Vec::new();
    let mut hook = |b: &Behaviors| saved.push(b.clone());
    let err = phases::convert(&gen, &input, &c, &o, None, Some(&mut hook))
        .await
        .unwrap_err();
    let SpecError::ConvertFailed {
        failed,
        total,
        partial,
        last_error,
    } = err
    else {
        panic!("expected CONVERT_FAILED");
    };
    assert_eq!((failed, total), (3, 4));
    assert_eq!(last_error.code, ProviderErrorCode::ServerError);
    let ok: Vec<(usize, usize)> = partial
        .features
        .iter()
        .map(|f| (f.domain, f.feature))
        .collect();
    assert_eq!(ok, [(0, 0)]);
    assert_eq!(saved.len(), 1, "the hook saw the success");
    assert_eq!(saved[0].features.len(), 1);

    // The provider recovers; a retry of the step resumes from the checkpoint.
    *broken.lock().unwrap() = false;
    let before = server.count("convert");
    let resumed = phases::convert(&gen, &input, &c, &o, Some(saved.pop().unwrap()), None)
        .await
        .unwrap();
    assert_eq!(
        server.count("convert") - before,
        3,
        "only the three missing features were requested"
    );
    assert_eq!(resumed.features.len(), 4);
    assert!(resumed.features.iter().all(|f| f.fallback.is_none()));
}

#[tokio::test]
async fn a_stale_checkpoint_is_refused() {
    let server = FakeServer::start(good).await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    let o = opts("en");
    let c = phases::classify(&gen, &shop(), &o).await.unwrap();
    let err = phases::convert(&gen, &tiny(), &c, &o, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INCONSISTENT_INPUT");
    let err = phases::convert(&gen, &shop(), &c, &opts("de"), None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INCONSISTENT_INPUT");
    // A checkpoint taken against another classification of the same inventory.
    let mut b = phases::convert(&gen, &shop(), &c, &o, None, None)
        .await
        .unwrap();
    let mut other = c.clone();
    other.domains.swap(0, 1);
    b.features.truncate(1);
    let err = phases::convert(&gen, &shop(), &other, &o, Some(b.clone()), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INCONSISTENT_INPUT");
    b.classification = other.fingerprint();
    assert!(phases::convert(&gen, &shop(), &other, &o, Some(b), None)
        .await
        .is_ok());
}

#[tokio::test]
async fn caches_are_used_bypassed_and_scoped_to_the_repository() {
    let server = FakeServer::start(good).await;
    let cache = Arc::new(MemoryCache::new());
    let gen = gemini(&server, config(), cache.clone());
    let input = shop();
    let mut o = opts("en");
    let first = phases::generate(&gen, &input, &o, 1).await.unwrap();
    assert_eq!((server.count("classify"), server.count("convert")), (1, 4));

    // Regenerate using the caches: no call at all (the summary is cached as well).
    let second = phases::generate(&gen, &input, &o, 2).await.unwrap();
    assert_eq!(
        (
            server.count("classify"),
            server.count("convert"),
            server.count("summarize")
        ),
        (1, 4, 1)
    );
    assert_eq!(first.domains, second.domains);
    assert_eq!(first.summary, second.summary);
    assert_eq!(second.usage.calls, 0, "nothing was paid for");

    // Bypass: everything asked again.
    o.cache_mode = CacheMode::Bypass;
    phases::generate(&gen, &input, &o, 3).await.unwrap();
    assert_eq!((server.count("classify"), server.count("convert")), (2, 8));

    // The same files in another repository: classified afresh (domain names never leak), while
    // sentences of identical tests in identical files may be shared.
    o.cache_mode = CacheMode::Use;
    let other =
        SpecInput::from_inventory(&common::shop(), Some("https://git.example/other/shop")).unwrap();
    phases::generate(&gen, &other, &o, 1).await.unwrap();
    assert_eq!((server.count("classify"), server.count("convert")), (3, 8));

    // Another language is another cache entry.
    phases::generate(&gen, &input, &opts("fr"), 1)
        .await
        .unwrap();
    assert_eq!((server.count("classify"), server.count("convert")), (4, 12));
}

#[tokio::test]
async fn conversion_runs_features_concurrently_but_bounded() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (f2, p2) = (in_flight.clone(), peak.clone());
    let server = FakeServer::start(move |n, r: &Recorded| {
        if r.phase() == "convert" {
            let now = f2.fetch_add(1, Ordering::SeqCst) + 1;
            p2.fetch_max(now, Ordering::SeqCst);
            // Count down just before the delayed reply is sent, so a request that the client
            // sends after receiving it can never be counted as overlapping.
            let f3 = f2.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(390)).await;
                f3.fetch_sub(1, Ordering::SeqCst);
            });
            return good(n, r).delayed(Duration::from_millis(400));
        }
        good(n, r)
    })
    .await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    let mut o = opts("en");
    o.concurrency = 2;
    phases::generate(&gen, &shop(), &o, 1).await.unwrap();
    let peak = peak.load(Ordering::SeqCst);
    assert_eq!(peak, 2, "at most two features at a time, and more than one");
}

#[test]
fn configs_never_print_the_key() {
    let g = GeminiConfig::new("m", ApiKey::new("AIza-secret-value"));
    assert!(!format!("{g:?}").contains("secret"));
    let o = OpenAiConfig::new("m", Some(ApiKey::new("sk-secret-value")));
    assert!(!format!("{o:?}").contains("secret"));
}

/// A cache whose backing store is down.
struct BrokenCache;

impl Cache for BrokenCache {
    fn get<'a>(
        &'a self,
        _: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<serde_json::Value>, SpecError>> {
        Box::pin(async { Err(SpecError::Cache("store unreachable".into())) })
    }

    fn put<'a>(
        &'a self,
        _: &'a str,
        _: serde_json::Value,
    ) -> futures::future::BoxFuture<'a, Result<(), SpecError>> {
        Box::pin(async { Err(SpecError::Cache("store unreachable".into())) })
    }
}

#[tokio::test]
async fn a_broken_cache_costs_calls_not_the_document() {
    let server = FakeServer::start(good).await;
    let gen = gemini(&server, config(), Arc::new(BrokenCache));
    for _ in 0..2 {
        let doc = phases::generate(&gen, &tiny(), &opts("en"), 1)
            .await
            .unwrap();
        assert_eq!(doc.behaviors().count(), 2);
    }
    assert_eq!(
        server.requests().len(),
        6,
        "nothing was served from the cache"
    );
}

#[tokio::test]
async fn a_sentence_the_model_left_out_shows_the_test_name_and_is_noted() {
    // The answer covers only the first test of each batch, and names one index that was
    // never asked for.
    let server = FakeServer::start(|n, r: &Recorded| {
        if r.phase() == "convert" {
            let first = r.lines()[0].0;
            return Reply::ok(
                r.wire(),
                &json!({"behaviors": [{"i": first, "sentence": "Rejects an expired password"}, {"i": 77, "sentence": "Invented"}]}),
            );
        }
        good(n, r)
    })
    .await;
    let doc = tiny_via_gemini(&server).await;
    let s: Vec<&str> = doc.behaviors().map(|b| b.sentence.as_str()).collect();
    assert_eq!(s, ["Rejects an expired password", "TestLogin_Ok"]);
    assert_eq!(
        server.count("convert"),
        1,
        "a partial answer is used, not retried"
    );
    assert!(
        doc.notes
            .iter()
            .any(|n| n.starts_with("MISSING_SENTENCE: the model gave no sentence for 1 tests")),
        "{:?}",
        doc.notes
    );
    assert_eq!(doc.domains[0].features[0].fallback, None);
}

#[tokio::test]
async fn a_failed_classification_resumes_after_the_chunks_it_saved() {
    // Chunks of at most 4 tests: [0..3], [3..6], [6..10], [10..13]. The third fails until the
    // provider recovers.
    let broken = Arc::new(Mutex::new(true));
    let b2 = broken.clone();
    let server = FakeServer::start(move |n, r: &Recorded| {
        let third = r.phase() == "classify" && r.lines().first().is_some_and(|(i, _)| *i == 6);
        if third && *b2.lock().unwrap() {
            return Reply::status(503, "{}");
        }
        good(n, r)
    })
    .await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    let mut o = opts("en");
    o.classify_chunk_tests = 4;
    let input = shop();
    let mut saved: Vec<phases::ClassifyProgress> = Vec::new();
    let mut hook = |p: &phases::ClassifyProgress| saved.push(p.clone());
    let err = phases::classify_resumable(&gen, &input, &o, None, Some(&mut hook))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "CLASSIFY_FAILED");
    assert_eq!(saved.len(), 2);
    let checkpoint = saved.pop().unwrap();
    assert_eq!(checkpoint.chunks_done, 2);

    // The same checkpoint with another chunk size would cut other chunks: refused.
    let mut other = o.clone();
    other.classify_chunk_tests = 5;
    let err = phases::classify_resumable(&gen, &input, &other, Some(checkpoint.clone()), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "INCONSISTENT_INPUT");

    // Through JSON, as a pipeline would store it.
    let stored = serde_json::to_string(&checkpoint).unwrap();
    let checkpoint: phases::ClassifyProgress = serde_json::from_str(&stored).unwrap();
    *broken.lock().unwrap() = false;
    let before = server.count("classify");
    let c = phases::classify_resumable(&gen, &input, &o, Some(checkpoint), None)
        .await
        .unwrap();
    let after: Vec<Recorded> = server
        .requests()
        .into_iter()
        .filter(|r| r.phase() == "classify")
        .skip(before)
        .collect();
    assert_eq!(
        after.len(),
        2,
        "only the third and fourth chunks were asked for"
    );
    assert!(after[0]
        .system()
        .contains("- Domain auth: Feature login_test.go"));
    assert!(after[0]
        .system()
        .contains("- Domain src: Feature InvoiceServiceTest.java"));
    let names: Vec<&str> = c.domains.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["Domain auth", "Domain src", "Domain web", "Domain tests"]
    );
    let mut all: Vec<usize> = c
        .domains
        .iter()
        .flat_map(|d| &d.features)
        .flat_map(|f| f.tests.iter().copied())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..13).collect::<Vec<_>>());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[tokio::test]
async fn the_cli_drives_a_local_openai_compatible_server() {
    let server = FakeServer::start(good).await;
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory.json");
    std::fs::write(&inv, serde_json::to_string(&common::shop()).unwrap()).unwrap();
    let out = dir.path().join("spec.md");
    let args = specline_specdoc::cli::SpecArgs {
        input: inv,
        lang: "es".into(),
        format: specline_specdoc::export::Format::Markdown,
        out: Some(out.clone()),
        provider: specline_specdoc::cli::ProviderKind::Openai,
        model: Some("llama3.1".into()),
        base_url: Some(format!("{}/v1", server.base_url)),
        // A local server needs no key: an unset variable is fine.
        api_key_env: Some("SPECLINE_TEST_SURELY_UNSET_KEY".into()),
        repository: None,
        doc_version: 2,
        concurrency: 2,
        timeout_secs: 5,
        requests_per_minute: 0,
        json_schema: true,
        thinking_budget: None,
    };
    specline_specdoc::cli::run(args).await.unwrap();
    let md = std::fs::read_to_string(out).unwrap();
    assert!(md.starts_with("# Especificación: shop\n"), "{md}");
    assert!(md.contains("| Versión | 2 |\n"));
    assert!(md.contains("- S0: TestLogin\\_ExpiredPassword\n"));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 6);
    assert!(reqs.iter().all(|r| r.body["model"] == "llama3.1"
        && r.body["response_format"]["type"] == "json_schema"
        && r.header("authorization").is_none()));
}

#[tokio::test]
async fn a_large_inventory_is_chunked_and_batched_end_to_end() {
    // 20 files of 100 tests: classification in chunks of three whole files (300 tests),
    // conversion in batches of at most 60 tests per request.
    let files = (0..20)
        .map(|f| {
            let tests = (0..100)
                .map(|t| common::test(&format!("case {t} works"), t + 1))
                .collect();
            common::file(
                &format!("pkg{f}/all_test.go"),
                "go",
                "go-testing",
                vec![],
                tests,
            )
        })
        .collect();
    let input =
        SpecInput::from_inventory(&common::inventory("https://h/o/large", files), None).unwrap();
    let server = FakeServer::start(good).await;
    let gen = gemini(&server, config(), Arc::new(MemoryCache::new()));
    let doc = phases::generate(&gen, &input, &opts("en"), 1)
        .await
        .unwrap();

    assert_eq!(server.count("classify"), 7, "ceil(20 files / 3 per chunk)");
    assert_eq!(
        server.count("convert"),
        20 * 2,
        "100 tests = batches of 60 and 40"
    );
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .filter(|r| r.phase() == "convert")
        .map(|r| r.lines().len())
        .collect();
    assert!(sizes.iter().all(|n| *n == 60 || *n == 40), "{sizes:?}");
    assert_eq!(doc.stats.behaviors, 2000);
    let mut idx: Vec<usize> = doc.behaviors().map(|b| b.test_index).collect();
    idx.sort_unstable();
    assert_eq!(idx, (0..2000).collect::<Vec<_>>());
    assert!(doc
        .behaviors()
        .all(|b| b.sentence.starts_with(&format!("S{}: ", b.test_index))));
}

#[tokio::test]
async fn a_failed_summary_is_not_fatal() {
    let server = FakeServer::start(|n, r: &Recorded| {
        if r.phase() == "summarize" {
            return Reply::status(500, "{}");
        }
        good(n, r)
    })
    .await;
    let doc = tiny_via_gemini(&server).await;
    assert_eq!(doc.summary_fallback.as_deref(), Some("SERVER_ERROR"));
    assert_eq!(
        doc.summary,
        "This specification describes 2 behaviors of tiny, in 1 domain and 1 feature. \
         Every behavior is proven by an active test."
    );
    assert!(doc
        .notes
        .iter()
        .any(|n| n.contains("summary was written by the offline generator")));
    assert_eq!(doc.behaviors().count(), 2);
    assert_eq!(
        server.count("summarize"),
        4,
        "retried within its budget, then given up"
    );
}
