//! The API over real HTTP on 127.0.0.1, on PostgreSQL and SQLite: submit, follow, read,
//! owners, idempotency, the repository policy and the limits.
#![allow(clippy::unwrap_used)]

use specline_api_testkit as support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use specline_app::store::{NewAnalysis, NewDocument, NewDocumentDiff};
use specline_specdoc_model::{export, LanguageTag};
use support::{read_events, Backend, Options, Server};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
    };
}

on_both_backends!(
    an_admin_reads_and_overrides_a_kinds_limits_and_bad_overrides_get_their_codes,
    a_run_is_followed_live_to_done_and_a_reconnect_gets_exactly_the_missing_events,
    another_owner_gets_404_on_every_route_and_no_token_gets_401,
    concurrent_submissions_with_one_key_make_one_run_and_a_changed_request_conflicts,
    a_failed_run_answers_its_code_and_its_stream_ends_with_failed,
    the_policy_refuses_hostile_repositories_with_422_and_stores_nothing,
    limits_answer_413_and_429_with_retry_after,
    admin_routes_need_an_admin_and_act_on_every_matching_job,
    admin_job_filters_are_exact_and_a_bulk_action_touches_only_matches,
    a_narrow_job_filter_searches_a_bounded_window_and_continues_below_it,
    gateway_mode_believes_the_owner_header_only_from_trusted_proxies,
    the_diff_of_two_analyses_names_what_changed_and_is_the_owners_only,
    a_badge_is_served_without_credentials_only_once_its_owner_marks_it_public,
    an_access_token_is_stored_encrypted_for_its_repository_and_never_echoed,
    many_subscribers_with_a_one_event_buffer_each_get_every_event_once,
    paging_through_a_repositorys_analyses_repeats_and_skips_none,
    paging_through_the_repositories_names_each_once_in_order,
    a_document_exports_as_the_cli_renders_it_and_only_to_its_owner,
    a_versions_diff_is_served_to_its_owner_only,
);

const REPO: &str = "https://git.example/acme/shop.git";

/// Submit `repo` as `token`, follow it to its end; the run id and every event received.
async fn run_to_end(s: &Server, token: &str, repo: &str) -> (i64, Vec<support::Sse>) {
    let (status, body) = s.submit(token, json!({"repository": repo}), None).await;
    assert_eq!(status, 202, "{body}");
    let id = body["run_id"].as_i64().unwrap();
    let events = s
        .http
        .get(s.url(body["events_url"].as_str().unwrap()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    (id, read_events(events, None).await)
}

async fn a_run_is_followed_live_to_done_and_a_reconnect_gets_exactly_the_missing_events(
    b: Backend,
) {
    let s = Server::start(b, Options::new()).await;
    let alice = s.token("alice", false).await;
    s.hold();
    let (status, submitted) = s
        .submit(&alice, json!({"repository": REPO, "ref": "main"}), None)
        .await;
    assert_eq!(status, 202, "{submitted}");
    let id = submitted["run_id"].as_i64().unwrap();
    assert_eq!(submitted["events_url"], format!("/api/v1/runs/{id}/events"));
    assert_eq!(submitted["result_url"], format!("/api/v1/runs/{id}/result"));

    // First connection: queued, started, the first progress event; then the client drops.
    let first = s
        .http
        .get(s.url(&format!("/api/v1/runs/{id}/events")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let head = read_events(first, Some(3)).await;
    assert_eq!(
        head.iter().map(|e| e.id).collect::<Vec<_>>(),
        [1, 2, 3],
        "{head:?}"
    );
    assert_eq!(head[0].event, "queued");
    assert_eq!(head[1].event, "started");
    let (_, running) = s.get(&alice, &format!("/api/v1/runs/{id}/result")).await;
    assert_eq!(running["state"], "running", "{running}");

    // While the client is away the run goes on; it reconnects with the last id it saw.
    s.release(1);
    let again = s
        .http
        .get(s.url(&format!("/api/v1/runs/{id}/events")))
        .bearer_auth(&alice)
        .header("Last-Event-ID", "3")
        .send()
        .await
        .unwrap();
    let rest = read_events(again, None).await;
    let stored = s.stored_seqs(id).await;
    let received: Vec<i64> = head.iter().chain(&rest).map(|e| e.id).collect();
    assert_eq!(received, stored, "gapless, no duplicates, nothing missing");
    assert_eq!(rest.first().map(|e| e.id), Some(4));
    assert_eq!(rest.last().map(|e| e.event.as_str()), Some("done"));
    assert_eq!(rest.last().unwrap().data["run_id"], id);

    // The result and what it points to.
    let (status, result) = s.get(&alice, &format!("/api/v1/runs/{id}/result")).await;
    assert_eq!(status, 200, "{result}");
    let doc = result["document_id"].as_i64().unwrap();
    let analysis = result["analysis_id"].as_i64().unwrap();
    let (status, document) = s.get(&alice, &format!("/api/v1/documents/{doc}")).await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["content"]["domains"][0]["name"], "Cart");
    let (status, latest) = s
        .get(
            &alice,
            &format!("/api/v1/documents/latest?repository={REPO}&language=en"),
        )
        .await;
    assert_eq!((status, &latest["id"]), (200, &json!(doc)), "{latest}");
    let (_, repos) = s.get(&alice, "/api/v1/repositories").await;
    assert_eq!(repos["repositories"], json!([REPO]));

    // The analysis: counts, and the tree filtered and paged.
    let (status, detail) = s.get(&alice, &format!("/api/v1/analyses/{analysis}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["counts"]["tests"], 6);
    // The fixture's parametrized pytest test has 3 literal cases: 6 - 1 + 3 runner items.
    assert_eq!(detail["counts"]["runner_tests"], 8);
    assert_eq!(detail["analysis"]["runner_tests"], 8);
    assert_eq!(
        detail["counts"]["by_status"],
        json!({"active": 4, "skipped": 1, "todo": 1})
    );
    assert_eq!(
        detail["counts"]["by_framework"],
        json!({"jest": 4, "pytest": 2})
    );
    let (_, page1) = s
        .get(&alice, &format!("/api/v1/analyses/{analysis}/tree?limit=2"))
        .await;
    let paths: Vec<&str> = page1["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["src/cart.test.ts", "src/user.test.ts"]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = s
        .get(
            &alice,
            &format!("/api/v1/analyses/{analysis}/tree?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(page2["files"][0]["path"], "tests/test_billing.py");
    assert_eq!(page2["next_cursor"], Value::Null);
    let (_, tax) = s
        .get(&alice, &format!("/api/v1/analyses/{analysis}/tree?q=TAX"))
        .await;
    assert_eq!(
        tax["files"],
        json!([{"path": "src/cart.test.ts", "language": "typescript", "framework": "jest",
            "test_count": 3, "runner_count": 3, "tests": [],
            "suites": [{"name": "Cart", "line": 1, "status": "active", "tests": [],
                "suites": [{"name": "totals", "line": 2, "status": "active", "suites": [],
                    "tests": [{"name": "adds tax", "line": 3, "status": "active", "modifier": null}]}]}]}])
    );
    let (_, skipped) = s
        .get(
            &alice,
            &format!("/api/v1/analyses/{analysis}/tree?status=skipped"),
        )
        .await;
    assert_eq!(
        skipped["files"][0]["suites"][0]["tests"][0]["name"],
        "removes an item"
    );
    let (_, py) = s
        .get(
            &alice,
            &format!("/api/v1/analyses/{analysis}/tree?framework=pytest"),
        )
        .await;
    assert_eq!(py["files"].as_array().unwrap().len(), 1);
    // The file's counts, and the parametrized test's cases with pytest's ids.
    assert_eq!(
        (
            &py["files"][0]["test_count"],
            &py["files"][0]["runner_count"]
        ),
        (&json!(2), &json!(4))
    );
    assert_eq!(
        py["files"][0]["tests"][0]["cases"],
        json!({"count": 3, "names": ["test_invoice_total[eur]", "test_invoice_total[usd]", "test_invoice_total[jpy]"]})
    );
    assert!(py["files"][0]["tests"][1].get("cases").is_none(), "{py}");

    // The owner's runs, newest first.
    let (_, runs) = s.get(&alice, "/api/v1/runs").await;
    assert_eq!(runs["runs"][0]["run_id"], id);
    assert_eq!(runs["runs"][0]["run"]["state"], "done");
    s.stop().await;
}

async fn another_owner_gets_404_on_every_route_and_no_token_gets_401(b: Backend) {
    let s = Server::start(b, Options::new()).await;
    let (alice, bob, admin) = (
        s.token("alice", false).await,
        s.token("bob", false).await,
        s.token("ops", true).await,
    );
    let (id, events) = run_to_end(&s, &alice, REPO).await;
    assert_eq!(events.last().unwrap().event, "done");
    let (_, result) = s.get(&alice, &format!("/api/v1/runs/{id}/result")).await;
    let (doc, analysis) = (result["document_id"].clone(), result["analysis_id"].clone());
    let routes = [
        format!("/api/v1/runs/{id}"),
        format!("/api/v1/runs/{id}/events"),
        format!("/api/v1/runs/{id}/result"),
        format!("/api/v1/analyses/{analysis}"),
        format!("/api/v1/analyses/{analysis}/tree"),
        format!("/api/v1/analyses?repository={REPO}"),
        format!("/api/v1/documents/{doc}"),
        format!("/api/v1/documents/{doc}/export"),
        format!("/api/v1/documents?repository={REPO}"),
        format!("/api/v1/documents/latest?repository={REPO}"),
    ];
    for route in &routes {
        let (status, body) = s.get(&alice, route).await;
        assert!(status == 200, "alice {route}: {status} {body}");
        let (status, body) = s.get(&bob, route).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "bob {route}: {body}"
        );
        let (status, _) = s.get(&admin, route).await;
        assert_eq!(status, 200, "admin {route}");
        let anonymous = s.http.get(s.url(route)).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{route}");
        let body: Value = anonymous.json().await.unwrap();
        assert_eq!(body["code"], "UNAUTHENTICATED");
        let (status, body) = s.get("spl_not_a_real_token", route).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("UNAUTHENTICATED"))
        );
    }
    let (_, bobs) = s.get(&bob, "/api/v1/runs").await;
    assert_eq!(bobs["runs"], json!([]));
    let (_, repos) = s.get(&bob, "/api/v1/repositories").await;
    assert_eq!(repos["repositories"], json!([]));

    // A revoked token stops working at once.
    let tokens = s.dbs.api.list_tokens().await.unwrap();
    let alices = tokens.iter().find(|t| t.owner == "alice").unwrap();
    s.dbs.api.revoke_token(alices.id).await.unwrap();
    let (status, _) = s.get(&alice, &format!("/api/v1/runs/{id}")).await;
    assert_eq!(status, 401);
    s.stop().await;
}

async fn concurrent_submissions_with_one_key_make_one_run_and_a_changed_request_conflicts(
    b: Backend,
) {
    let s = std::sync::Arc::new(Server::start(b, Options::without_workers()).await);
    let alice = s.token("alice", false).await;
    let body = json!({"repository": REPO, "language": "pt-BR"});
    let mut tasks = Vec::new();
    for _ in 0..500 {
        let (s, alice, body) = (s.clone(), alice.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            s.submit(&alice, body, Some("order-7")).await
        }));
    }
    let mut ids = BTreeSet::new();
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(status == 200 || status == 202, "{status} {body}");
        if status == 202 {
            created += 1;
        }
        ids.insert(body["run_id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 1, "every caller gets the one run: {ids:?}");
    assert_eq!(created, 1, "exactly one caller created it");
    let listed = s.dbs.api.owner_runs("alice", None, 100).await.unwrap();
    assert_eq!(listed.len(), 1);

    let (status, conflict) = s
        .submit(
            &alice,
            json!({"repository": REPO, "language": "en"}),
            Some("order-7"),
        )
        .await;
    assert_eq!(
        (status, conflict["code"].as_str()),
        (409, Some("IDEMPOTENCY_CONFLICT"))
    );
    // The key is the owner's own: bob's same key is another run.
    let bob = s.token("bob", false).await;
    let (status, bobs) = s.submit(&bob, body, Some("order-7")).await;
    assert_eq!(status, 202);
    assert!(!ids.contains(&bobs["run_id"].as_i64().unwrap()));
}

async fn a_failed_run_answers_its_code_and_its_stream_ends_with_failed(b: Backend) {
    let s = Server::start(b, Options::new()).await;
    let alice = s.token("alice", false).await;
    let (id, events) = run_to_end(&s, &alice, "https://git.example/acme/fail.git").await;
    let last = events.last().unwrap();
    assert_eq!(last.event, "failed", "{events:?}");
    assert_eq!(events.iter().filter(|e| e.event == "failed").count(), 1);
    let (status, body) = s.get(&alice, &format!("/api/v1/runs/{id}/result")).await;
    assert_eq!(status, 422, "a failed run never answers 202: {body}");
    assert_eq!(body["code"], "TARGET_NOT_FOUND");
    let (_, run) = s.get(&alice, &format!("/api/v1/runs/{id}")).await;
    assert_eq!(run["state"], "failed");
    assert_eq!(run["error"]["code"], "TARGET_NOT_FOUND");
    // The graph shows where it stopped: the first step failed, the others never started.
    let graph = run["graph"].as_array().expect("the run's graph");
    assert_eq!(graph[0]["state"], "failed", "{run}");
    assert!(graph[1..].iter().all(|n| n["state"] == "waiting"), "{run}");
    assert_eq!(graph[1]["after"], json!([0]), "{run}");
    // Connecting after the end replays the history and ends with the same `failed`.
    let replay = s
        .http
        .get(s.url(&format!("/api/v1/runs/{id}/events?after=0")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(read_events(replay, None).await, events);
    s.stop().await;
}

async fn the_policy_refuses_hostile_repositories_with_422_and_stores_nothing(b: Backend) {
    let s = Server::start(b, Options::without_workers()).await;
    let alice = s.token("alice", false).await;
    for (body, code) in [
        (json!({"repository": "file:///etc"}), "POLICY_LOCAL_PATH"),
        (json!({"repository": "/srv/git/repo"}), "POLICY_LOCAL_PATH"),
        (
            json!({"repository": "http://127.0.0.1/r.git"}),
            "POLICY_SCHEME",
        ),
        (
            json!({"repository": "https://127.0.0.1/r.git"}),
            "POLICY_ADDRESS",
        ),
        (
            json!({"repository": "https://TOKEN@git.example/r.git"}),
            "POLICY_CREDENTIALS",
        ),
        (
            json!({"repository": "https://intranet.example/r.git"}),
            "POLICY_ADDRESS",
        ),
        (
            json!({"repository": "-uhttps://git.example/r.git"}),
            "POLICY_OPTION_LIKE",
        ),
        (
            json!({"repository": REPO, "ref": "--upload-pack=touch /tmp/pwned"}),
            "POLICY_OPTION_LIKE",
        ),
    ] {
        let (status, answer) = s.submit(&alice, body.clone(), Some("k")).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some(code)),
            "{body}: {answer}"
        );
    }
    assert!(s
        .dbs
        .api
        .owner_runs("alice", None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.dbs.jobs.get_run(1).await.unwrap(),
        None,
        "no run was created"
    );
    // The key was never reserved: a good request with it goes through.
    let (status, _) = s
        .submit(&alice, json!({"repository": REPO}), Some("k"))
        .await;
    assert_eq!(status, 202);
}

async fn limits_answer_413_and_429_with_retry_after(b: Backend) {
    let mut options = Options::new();
    options.config.submissions_per_minute = 2;
    options.config.max_streams_per_owner = 1;
    options.config.max_body_bytes = 1024;
    let s = Server::start(b, options).await;
    let alice = s.token("alice", false).await;
    let big = json!({"repository": REPO, "ref": "x".repeat(2000)});
    let (status, body) = s.submit(&alice, big, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("BODY_TOO_LARGE"))
    );

    s.hold();
    let (status, first) = s.submit(&alice, json!({"repository": REPO}), None).await;
    assert_eq!(status, 202);
    let (status, _) = s
        .submit(&alice, json!({"repository": REPO, "ref": "dev"}), None)
        .await;
    assert_eq!(status, 202);
    let third = s
        .http
        .post(s.url("/api/v1/analyses"))
        .bearer_auth(&alice)
        .json(&json!({"repository": REPO, "ref": "v3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 429);
    let wait: u64 = third.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(third.json::<Value>().await.unwrap()["code"], "RATE_LIMITED");
    // Another owner has a budget of its own.
    let bob = s.token("bob", false).await;
    let (status, _) = s.submit(&bob, json!({"repository": REPO}), None).await;
    assert_eq!(status, 202);

    let events = format!("/api/v1/runs/{}/events", first["run_id"]);
    let open = s
        .http
        .get(s.url(&events))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let second = s
        .http
        .get(s.url(&events))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    assert!(second.headers().contains_key("retry-after"));
    assert_eq!(
        second.json::<Value>().await.unwrap()["code"],
        "TOO_MANY_STREAMS"
    );
    drop(open);
    s.release(10);
}

async fn admin_routes_need_an_admin_and_act_on_every_matching_job(b: Backend) {
    let s = Server::start(b, Options::without_workers()).await;
    let (alice, ops) = (s.token("alice", false).await, s.token("ops", true).await);
    let mut runs = Vec::new();
    for r in ["main", "dev", "v1"] {
        let (status, body) = s
            .submit(&alice, json!({"repository": REPO, "ref": r}), None)
            .await;
        assert_eq!(status, 202);
        runs.push(body["run_id"].as_i64().unwrap());
    }
    for route in [
        "/api/v1/admin/jobs",
        "/api/v1/admin/queues",
        "/api/v1/admin/watched",
    ] {
        let (status, body) = s.get(&alice, route).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("ADMIN_ONLY")),
            "{route}"
        );
    }
    let (_, jobs) = s
        .get(&ops, "/api/v1/admin/jobs?queue=analyze&state=available")
        .await;
    let jobs = jobs["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 3);
    let (status, one) = s
        .get(&ops, &format!("/api/v1/admin/jobs/{}", jobs[0]["id"]))
        .await;
    assert_eq!((status, &one["kind"]), (200, &json!("analyze_repository")));

    let cancel = |body: Value| {
        s.http
            .post(s.url("/api/v1/admin/jobs/actions"))
            .bearer_auth(&ops)
            .json(&body)
            .send()
    };
    let done: Value =
        cancel(json!({"action": "cancel", "matching": {"queue": "analyze", "state": "available"}}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(done["affected"], 3, "{done}");
    assert_eq!(done["more"], false);
    let (_, left) = s
        .get(&ops, "/api/v1/admin/jobs?queue=analyze&state=available")
        .await;
    assert_eq!(left["jobs"], json!([]));
    for id in runs {
        let (_, run) = s.get(&alice, &format!("/api/v1/runs/{id}")).await;
        assert_eq!(
            run["state"], "failed",
            "a cancelled step fails its run: {run}"
        );
    }
    let again: Value = cancel(json!({"action": "cancel", "ids": [jobs[0]["id"]]}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["affected"], 0);
    assert_eq!(
        again["refused"],
        json!([{"id": jobs[0]["id"], "code": "INVALID_STATE"}])
    );

    let paused: Value = s
        .http
        .post(s.url("/api/v1/admin/queues/analyze"))
        .bearer_auth(&ops)
        .json(&json!({"paused": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paused["paused"], true);
    let (_, queues) = s.get(&ops, "/api/v1/admin/queues").await;
    let analyze = queues["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "analyze")
        .unwrap()
        .clone();
    assert_eq!(analyze["paused"], true);
    assert_eq!(analyze["counts"]["cancelled"], 3, "{analyze}");
}

/// A job kind of its own queue, so the admin filters see only these jobs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Probe {
    repo: String,
    n: i64,
}
impl specline_queue::JobKind for Probe {
    const KIND: &'static str = "probe";
    const QUEUE: &'static str = "probe";
}

async fn admin_job_filters_are_exact_and_a_bulk_action_touches_only_matches(b: Backend) {
    let s = Server::start(b, Options::without_workers()).await;
    let ops = s.token("ops", true).await;
    let client = specline_queue::Client::new(s.dbs.jobs.clone());
    let insert = |repo: &str, n: i64, tags: &[&str]| {
        let opts = tags
            .iter()
            .fold(specline_queue::InsertOpts::default(), |o, t| o.tag(*t));
        let probe = Probe {
            repo: repo.into(),
            n,
        };
        let client = &client;
        async move { client.insert_with(&probe, opts).await.unwrap().id }
    };
    let a = insert("x", 1, &["red", "big"]).await;
    let b_ = insert("x", 2, &["red"]).await;
    let c = insert("y", 3, &["blue"]).await;
    let ids = |body: &Value| -> Vec<i64> {
        body["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_i64().unwrap())
            .collect()
    };
    let list = |query: &str| {
        let path = format!("/api/v1/admin/jobs?queue=probe&{query}");
        let s = &s;
        let ops = &ops;
        async move { s.get(ops, &path).await }
    };
    // A page holds matching jobs only, even when newer jobs do not match.
    let (status, body) = list("tag=red&limit=1").await;
    assert_eq!((status, ids(&body)), (200, vec![b_]), "{body}");
    assert_eq!(body["next"], b_);
    let (_, body) = list(&format!("tag=red&limit=1&before={b_}")).await;
    assert_eq!(ids(&body), vec![a]);
    let (_, body) = list(&format!("tag=red&limit=1&before={a}")).await;
    assert_eq!((ids(&body), &body["next"]), (vec![], &Value::Null));
    for query in ["tag=red&tag=big", "tag=red,big", "tag=big"] {
        assert_eq!(ids(&list(query).await.1), vec![a], "{query}");
    }
    // args={"repo":"x"} and {"n":3}
    let (_, body) = list("args=%7B%22repo%22%3A%22x%22%7D").await;
    assert_eq!(ids(&body), vec![b_, a]);
    let (_, body) = list("args=%7B%22n%22%3A3%7D").await;
    assert_eq!(ids(&body), vec![c]);
    let (_, body) = list("limit=2").await;
    assert_eq!((ids(&body), &body["next"]), (vec![c, b_], &json!(b_)));
    for bad in ["args=%7Bnope", "args=%5B1%5D", "metadata=3"] {
        let (status, body) = list(bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("INVALID_FILTER")),
            "{bad}: {body}"
        );
    }

    let act = |body: Value| {
        let (s, ops) = (&s, &ops);
        async move {
            let r = s
                .http
                .post(s.url("/api/v1/admin/jobs/actions"))
                .bearer_auth(ops)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = act(json!({"action": "cancel",
        "matching": {"queue": "probe", "args": "[]"}}))
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("INVALID_FILTER"))
    );
    let (status, done) = act(json!({"action": "cancel",
        "matching": {"queue": "probe", "tag": "red", "args": "{\"repo\":\"x\",\"n\":2}"}}))
    .await;
    assert_eq!(
        (status, &done["affected"], &done["more"]),
        (200, &json!(1), &json!(false)),
        "{done}"
    );
    let (status, done) =
        act(json!({"action": "cancel", "matching": {"queue": "probe", "tag": "red"}})).await;
    assert_eq!((status, &done["affected"]), (200, &json!(1)), "{done}");
    assert_eq!(
        done["refused"],
        json!([{"id": b_, "code": "INVALID_STATE"}])
    );
    let (_, cancelled) = list("state=cancelled").await;
    assert_eq!(ids(&cancelled), vec![b_, a]);
    let (_, available) = list("state=available").await;
    assert_eq!(ids(&available), vec![c], "the unmatched job is untouched");
}

async fn gateway_mode_believes_the_owner_header_only_from_trusted_proxies(b: Backend) {
    use specline_api::config::AuthMode;
    let gateway = |trusted: &str| {
        let mut o = Options::new();
        o.workers = false;
        o.config.auth = AuthMode::Gateway {
            owner_header: "x-user-id".into(),
            trusted: vec![trusted.parse().unwrap()],
        };
        o
    };
    let s = Server::start(b, gateway("127.0.0.1/32")).await;
    let as_user = |user: Option<&str>| {
        let mut req = s.http.get(s.url("/api/v1/runs"));
        if let Some(u) = user {
            req = req.header("X-User-ID", u);
        }
        req.send()
    };
    let ok = as_user(Some("carol")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let none = as_user(None).await.unwrap();
    assert_eq!(none.status(), 401);
    let system = as_user(Some("system")).await.unwrap();
    assert_eq!(
        system.status(),
        401,
        "the operator tools' owner is not reachable"
    );
    // A submission acts as the header's owner.
    let submitted: Value = s
        .http
        .post(s.url("/api/v1/analyses"))
        .header("X-User-ID", "carol")
        .json(&json!({"repository": REPO}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = submitted["run_id"].as_i64().unwrap();
    assert_eq!(
        s.dbs.jobs.get_run(id).await.unwrap().unwrap().owner,
        "carol"
    );
    let dave = s
        .http
        .get(s.url(&format!("/api/v1/runs/{id}")))
        .header("X-User-ID", "dave")
        .send()
        .await
        .unwrap();
    assert_eq!(dave.status(), 404);
    s.stop().await;

    // From a peer that is not a trusted proxy, the header is not believed.
    let s = Server::start(b, gateway("10.0.0.0/8")).await;
    let refused = s
        .http
        .get(s.url("/api/v1/runs"))
        .header("X-User-ID", "carol")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "UNTRUSTED_PROXY"
    );
    s.stop().await;
}

async fn the_diff_of_two_analyses_names_what_changed_and_is_the_owners_only(b: Backend) {
    let s = Server::start(b, Options::new()).await;
    let (alice, bob) = (s.token("alice", false).await, s.token("bob", false).await);
    let mut analyses = Vec::new();
    for r in ["v1", "v2"] {
        let (status, body) = s
            .submit(&alice, json!({"repository": REPO, "ref": r}), None)
            .await;
        assert_eq!(status, 202);
        let events = s
            .http
            .get(s.url(body["events_url"].as_str().unwrap()))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(
            read_events(events, None).await.last().unwrap().event,
            "done"
        );
        let (_, result) = s.get(&alice, body["result_url"].as_str().unwrap()).await;
        analyses.push(result["analysis_id"].as_i64().unwrap());
    }
    let route = format!("/api/v1/analyses/{}/diff?base={}", analyses[1], analyses[0]);
    let (status, d) = s.get(&alice, &route).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        d["counts"],
        json!({"added": 1, "removed": 1, "moved": 0, "status_changed": 1})
    );
    assert_eq!(d["added"][0]["name"], "test_credit_note");
    assert_eq!(d["removed"][0]["name"], "signs up");
    assert_eq!(
        (
            &d["status_changed"][0]["from"],
            &d["status_changed"][0]["to"]
        ),
        (&json!("skipped"), &json!("active"))
    );
    assert_eq!(d["base_totals"], json!({"jest": 4, "pytest": 2}));
    assert_eq!(d["head_totals"], json!({"jest": 3, "pytest": 3}));
    let (status, _) = s.get(&bob, &route).await;
    assert_eq!(status, 404);
    s.stop().await;
}

async fn a_badge_is_served_without_credentials_only_once_its_owner_marks_it_public(b: Backend) {
    let s = Server::start(b, Options::new()).await;
    let (alice, bob) = (s.token("alice", false).await, s.token("bob", false).await);
    run_to_end(&s, &alice, REPO).await;
    let badge = || {
        s.http
            .get(s.url("/api/v1/badge.svg"))
            .query(&[("repository", REPO)])
            .send()
    };
    let mark = |token: &str, public: bool| {
        s.http
            .put(s.url("/api/v1/badges"))
            .bearer_auth(token)
            .json(&json!({"repository": REPO, "public": public}))
            .send()
    };
    assert_eq!(badge().await.unwrap().status(), 404);
    assert_eq!(
        mark(&bob, true).await.unwrap().status(),
        404,
        "not bob's to mark"
    );
    assert_eq!(badge().await.unwrap().status(), 404);
    let marked: Value = mark(&alice, true).await.unwrap().json().await.unwrap();
    assert_eq!(marked["public"], true);
    let served = badge().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/svg+xml");
    let svg = served.text().await.unwrap();
    assert!(svg.contains("<title>tests: 6</title>"), "{svg}");
    assert_eq!(mark(&alice, false).await.unwrap().status(), 200);
    assert_eq!(badge().await.unwrap().status(), 404);
    s.stop().await;
}

async fn an_access_token_is_stored_encrypted_for_its_repository_and_never_echoed(b: Backend) {
    let s = Server::start(b, Options::without_workers()).await;
    let alice = s.token("alice", false).await;
    let secret = "ghp_this_is_a_private_repo_token";
    let body = json!({"repository": REPO, "access_token": secret});
    let (status, submitted) = s.submit(&alice, body.clone(), Some("private-1")).await;
    assert_eq!(status, 202);
    assert!(!submitted.to_string().contains(secret));
    let id = submitted["run_id"].as_i64().unwrap();
    let run = s.dbs.jobs.get_run(id).await.unwrap().unwrap();
    assert!(!run.input.to_string().contains(secret), "{}", run.input);
    let stored = run.input["encrypted_token"].as_str().unwrap();
    let token = s.cipher.decrypt(stored, REPO).unwrap();
    assert_eq!(token.expose(), secret);
    assert!(s
        .cipher
        .decrypt(stored, "https://git.example/other.git")
        .is_err());
    // The same request again is the same run, although the ciphertext would differ.
    let (status, again) = s.submit(&alice, body, Some("private-1")).await;
    assert_eq!((status, again["run_id"].as_i64()), (200, Some(id)));
    let (_, shown) = s.get(&alice, &format!("/api/v1/runs/{id}")).await;
    assert!(!shown.to_string().contains(secret));
}

async fn many_subscribers_with_a_one_event_buffer_each_get_every_event_once(b: Backend) {
    let mut options = Options::new();
    // One event of slack per run: subscribers that fall behind must read back from the
    // database instead of missing events.
    options.config.stream_buffer = 1;
    let s = std::sync::Arc::new(Server::start(b, options).await);
    let alice = s.token("alice", false).await;
    s.hold();
    let (_, submitted) = s.submit(&alice, json!({"repository": REPO}), None).await;
    let id = submitted["run_id"].as_i64().unwrap();
    let mut subscribers = Vec::new();
    for _ in 0..20 {
        let response = s
            .http
            .get(s.url(&format!("/api/v1/runs/{id}/events")))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        subscribers.push(tokio::spawn(read_events(response, None)));
    }
    s.release(1);
    let stored: Vec<i64> = s.stored_seqs(id).await;
    for sub in subscribers {
        let got: Vec<i64> = sub.await.unwrap().iter().map(|e| e.id).collect();
        let stored_now: Vec<i64> = s.stored_seqs(id).await;
        assert_eq!(
            got, stored_now,
            "gapless and complete (before release: {stored:?})"
        );
    }
}

async fn paging_through_a_repositorys_analyses_repeats_and_skips_none(b: Backend) {
    let s = Server::start(b, Options::new()).await;
    let (alice, bob) = (s.token("alice", false).await, s.token("bob", false).await);
    let (id, _) = run_to_end(&s, &alice, REPO).await;
    let (_, result) = s.get(&alice, &format!("/api/v1/runs/{id}/result")).await;
    let mut expected = vec![result["analysis_id"].as_i64().unwrap()];
    for i in 0..4 {
        for repository in [REPO, "https://git.example/acme/other.git"] {
            let a = s
                .dbs
                .app
                .begin_analysis(&NewAnalysis {
                    repository: repository.into(),
                    commit: Some(format!("c{i}")),
                    branch: None,
                    commit_time: None,
                    parser_version: "1".into(),
                    run_id: None,
                })
                .await
                .unwrap();
            if repository == REPO {
                expected.push(a.id);
            }
        }
    }
    expected.reverse();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    // Bounded, so a cursor the route ignores fails the test instead of paging forever.
    for _ in 0..10 {
        let route = match &cursor {
            None => format!("/api/v1/analyses?repository={REPO}&limit=2"),
            Some(c) => format!("/api/v1/analyses?repository={REPO}&limit=2&cursor={c}"),
        };
        let (status, page) = s.get(&alice, &route).await;
        assert_eq!(status, 200, "{page}");
        let rows = page["analyses"].as_array().unwrap();
        assert!(rows.len() <= 2);
        assert!(rows.iter().all(|a| a["repository"] == REPO));
        seen.extend(rows.iter().map(|a| a["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, expected, "every analysis once, newest first");

    // The cursor does not open another owner's repository, and a forged cursor is refused.
    let c = expected[1];
    let (status, _) = s
        .get(
            &bob,
            &format!("/api/v1/analyses?repository={REPO}&cursor={c}"),
        )
        .await;
    assert_eq!(status, 404);
    for bad in ["abc", "-1", "0"] {
        let (status, body) = s
            .get(
                &alice,
                &format!("/api/v1/analyses?repository={REPO}&cursor={bad}"),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_REQUEST")),
            "{bad}"
        );
    }
    s.stop().await;
}

/// The owner's repositories, two a page: each once (however many runs analysed it), in name
/// order, never another owner's or a run's without a repository; a forged cursor is refused.
async fn paging_through_the_repositories_names_each_once_in_order(b: Backend) {
    let s = Server::start(b, Options::new()).await;
    let (alice, bob) = (s.token("alice", false).await, s.token("bob", false).await);
    let name = |n: &str| format!("https://git.example/acme/{n}.git");
    let runs = [
        ("alice", Some("delta")),
        ("alice", Some("alpha")),
        ("alice", Some("charlie")),
        ("alice", Some("alpha")),
        ("alice", None),
        ("bob", Some("bravo")),
        ("alice", Some("echo")),
        ("alice", Some("charlie")),
        ("alice", Some("alpha")),
    ];
    for (id, (owner, repository)) in (1000..).zip(runs) {
        s.dbs.api.record_run(owner, id, "t").await.unwrap();
        let repository = repository.map(name);
        s.dbs
            .api
            .resolve_run(id, repository.as_deref())
            .await
            .unwrap();
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    // Bounded, so a cursor the route ignores fails the test instead of paging forever.
    for _ in 0..10 {
        let route = match &cursor {
            None => "/api/v1/repositories?limit=2".to_string(),
            Some(c) => format!("/api/v1/repositories?limit=2&cursor={c}"),
        };
        let (status, page) = s.get(&alice, &route).await;
        assert_eq!(status, 200, "{page}");
        let names = page["repositories"].as_array().unwrap();
        assert!(names.len() <= 2, "{page}");
        seen.extend(names.iter().map(|n| n.as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let expected: Vec<String> = ["alpha", "charlie", "delta", "echo"]
        .into_iter()
        .map(name)
        .collect();
    assert_eq!(seen, expected);
    let (_, all) = s.get(&alice, "/api/v1/repositories").await;
    assert_eq!(all["repositories"], json!(expected));
    assert_eq!(all["next_cursor"], Value::Null, "{all}");
    let (_, bobs) = s.get(&bob, "/api/v1/repositories").await;
    assert_eq!(bobs["repositories"], json!([name("bravo")]));
    for bad in ["cursor=zz", "cursor=ff", "limit=0", "limit=101"] {
        let (status, body) = s.get(&alice, &format!("/api/v1/repositories?{bad}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_REQUEST")),
            "{bad}: {body}"
        );
    }
    s.stop().await;
}

async fn a_document_exports_as_the_cli_renders_it_and_only_to_its_owner(b: Backend) {
    let s = Server::start(b, Options::new()).await;
    let (alice, bob) = (s.token("alice", false).await, s.token("bob", false).await);
    let (id, _) = run_to_end(&s, &alice, REPO).await;
    let (_, result) = s.get(&alice, &format!("/api/v1/runs/{id}/result")).await;

    // A document whose names try to break out of the Markdown, in Korean (its own labels).
    let mut doc = support::spec_document(REPO, "Cart *bold* </sub>");
    doc.language = LanguageTag::parse("ko").unwrap();
    doc.content_language = doc.language.clone();
    let behavior = &mut doc.domains[0].features[0].behaviors[0];
    behavior.test_name = "adds ``tax``\n</sub><script>".into();
    behavior.sentence = "세금을 더한다 [link](javascript:x)".into();
    let stored = s
        .dbs
        .app
        .store_document(&NewDocument {
            analysis_id: result["analysis_id"].as_i64().unwrap(),
            repository: REPO.into(),
            language: "ko".into(),
            generator_kind: "offline".into(),
            model: "offline-1".into(),
            prompt_version: "test".into(),
            content: serde_json::to_value(&doc).unwrap(),
            behaviors: 1,
            run_id: None,
        })
        .await
        .unwrap();
    // The store assigns the version and writes it into the JSON.
    doc.version = u32::try_from(stored.head.version).unwrap();

    let export = |token: String, query: &'static str| {
        let url = s.url(&format!(
            "/api/v1/documents/{}/export{query}",
            stored.head.id
        ));
        let request = s.http.get(url).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string());
            (status, content_type, response.text().await.unwrap())
        }
    };
    let markdown = export::to_markdown(&doc);
    assert!(markdown.contains("세금을 더한다"), "{markdown}");
    for query in ["", "?format=md"] {
        assert_eq!(
            export(alice.clone(), query).await,
            (
                200,
                Some("text/markdown; charset=utf-8".into()),
                markdown.clone()
            ),
            "{query}"
        );
    }
    assert_eq!(
        export(alice.clone(), "?format=json").await,
        (200, Some("application/json".into()), export::to_json(&doc))
    );

    for query in ["", "?format=json"] {
        let (status, _, body) = export(bob.clone(), query).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["code"],
            "NOT_FOUND"
        );
    }
    for format in ["pdf", "MD", ""] {
        let (status, body) = s
            .get(
                &alice,
                &format!(
                    "/api/v1/documents/{}/export?format={format}",
                    stored.head.id
                ),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("UNKNOWN_FORMAT")),
            "{format:?}"
        );
    }
    s.stop().await;
}

async fn a_versions_diff_is_served_to_its_owner_only(b: Backend) {
    let s = Server::start(b, Options::new()).await;
    let (alice, bob) = (s.token("alice", false).await, s.token("bob", false).await);
    let (id, _) = run_to_end(&s, &alice, REPO).await;
    let (_, result) = s.get(&alice, &format!("/api/v1/runs/{id}/result")).await;
    let first = result["document_id"].as_i64().unwrap();
    // The run's document is a first version: no diff.
    let (status, body) = s
        .get(&alice, &format!("/api/v1/documents/{first}/diff"))
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let second = s
        .dbs
        .app
        .store_document(&NewDocument {
            analysis_id: result["analysis_id"].as_i64().unwrap(),
            repository: REPO.into(),
            language: "en".into(),
            generator_kind: "offline".into(),
            model: "offline-1".into(),
            prompt_version: "test".into(),
            content: serde_json::to_value(support::spec_document(REPO, "Cart")).unwrap(),
            behaviors: 1,
            run_id: None,
        })
        .await
        .unwrap();
    let content = json!({"from_version": 1, "to_version": 2, "counts": {"added": 3, "removed": 1}});
    s.dbs
        .app
        .store_document_diff(&NewDocumentDiff {
            document_id: second.head.id,
            base_document_id: first,
            added: 3,
            removed: 1,
            reworded: 0,
            moved: 0,
            content: content.clone(),
        })
        .await
        .unwrap();
    let route = format!("/api/v1/documents/{}/diff", second.head.id);
    assert_eq!(s.get(&alice, &route).await, (200, content));
    let (status, body) = s.get(&bob, &route).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    s.stop().await;
}

async fn a_narrow_job_filter_searches_a_bounded_window_and_continues_below_it(b: Backend) {
    use specline_api::routes::admin::{list_jobs_within, JobQuery};
    let s = Server::start(b, Options::without_workers()).await;
    let client = specline_queue::Client::new(s.dbs.jobs.clone());
    let probe = |n| Probe {
        repo: "r".into(),
        n,
    };
    // One tagged job, then 25 newer ones without the tag.
    let first = client
        .insert_with(&probe(0), specline_queue::InsertOpts::default().tag("rare"))
        .await
        .unwrap()
        .id;
    for n in 1..=25 {
        client.insert(&probe(n)).await.unwrap();
    }
    let q = |before: Option<i64>| JobQuery {
        tag: Some("rare".into()),
        before,
        limit: Some(5),
        ..JobQuery::default()
    };
    // A window of 10 ids: the first pages find nothing, say how far they searched, and
    // hand on a cursor below it; following the cursors reaches the job.
    let mut before = None;
    let mut seen = Vec::new();
    let mut floors = Vec::new();
    for _ in 0..10 {
        let page = list_jobs_within(&s.state, &q(before), 10).await.unwrap();
        seen.extend(page.jobs.iter().map(|j| j.id));
        floors.extend(page.searched_down_to);
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec![first]);
    assert!(floors.len() >= 2, "the window never ran out: {floors:?}");
    assert!(floors.windows(2).all(|w| w[1] < w[0]), "{floors:?}");
    // Unfiltered pages read no window.
    let all = list_jobs_within(
        &s.state,
        &JobQuery {
            limit: Some(5),
            ..JobQuery::default()
        },
        10,
    )
    .await
    .unwrap();
    assert_eq!(all.jobs.len(), 5);
    assert_eq!(all.searched_down_to, None);
    s.stop().await;
}

async fn an_admin_reads_and_overrides_a_kinds_limits_and_bad_overrides_get_their_codes(b: Backend) {
    let s = Server::start(b, Options::without_workers()).await;
    let ops = s.token("ops", true).await;
    let alice = s.token("alice", false).await;
    // What a worker that runs the kind declares when it starts.
    s.dbs
        .jobs
        .declare_limits(&[specline_queue::limits::Declared {
            kind: "probe".into(),
            queues: vec!["probe".into()],
            values: specline_queue::LimitValues {
                concurrency: Some(4),
                ..Default::default()
            },
        }])
        .await
        .unwrap();
    let put = |token: &str, kind: &str, body: Value| {
        s.http
            .put(s.url(&format!("/api/v1/admin/limits/{kind}")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    let (status, list) = s.get(&alice, "/api/v1/admin/limits").await;
    assert_eq!(status, 403, "{list}");
    assert_eq!(list["code"], "ADMIN_ONLY");
    let (_, list) = s.get(&ops, "/api/v1/admin/limits").await;
    let probe = &list["limits"][0];
    assert_eq!(probe["kind"], "probe", "{list}");
    assert_eq!(probe["declared"]["concurrency"], 4);
    assert_eq!(probe["effective"]["concurrency"], 4);
    assert_eq!(probe["overrides"], json!({}));

    let r = put(&ops, "probe", json!({"concurrency": 1, "per_partition": 2}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["effective"]["concurrency"], 1, "{view}");
    assert_eq!(view["effective"]["per_partition"], 2, "{view}");
    assert_eq!(view["declared"]["concurrency"], 4, "{view}");
    // The override is what the engine reads: the client sees it too.
    let client = specline_queue::Client::new(s.dbs.jobs.clone());
    let stored = client.limits().await.unwrap();
    assert_eq!(stored[0].effective.concurrency, Some(1));

    for (body, code) in [
        (json!({"concurrency": "many"}), "INVALID_LIMITS"),
        (json!({"no_such_limit": 1}), "INVALID_LIMITS"),
        (json!([1, 2]), "INVALID_LIMITS"),
        (json!({"weights": {"acme": 0}}), "INVALID_LIMITS"),
        (json!({"weights": {"acme": 5000}}), "INVALID_LIMITS"),
    ] {
        let r = put(&ops, "probe", body.clone()).await.unwrap();
        assert_eq!(r.status(), 422, "{body}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["code"], code, "{body}: {err}");
    }
    let view: Value = put(&ops, "probe", json!({"weights": {"acme": 3}}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["effective"]["weights"]["acme"], 3, "{view}");
    assert_eq!(
        client.limits().await.unwrap()[0]
            .effective
            .weight_of("acme"),
        3
    );
    let r = put(&ops, "no_such_kind", json!({})).await.unwrap();
    assert_eq!(r.status(), 404);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["code"], "LIMIT_NOT_FOUND");
    let r = put(&alice, "probe", json!({})).await.unwrap();
    assert_eq!(r.status(), 403);
    // `{}` goes back to the code's values.
    let view: Value = put(&ops, "probe", json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["effective"]["concurrency"], 4, "{view}");
    assert_eq!(
        client.limits().await.unwrap()[0].effective.concurrency,
        Some(4)
    );
}
