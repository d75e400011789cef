//! The HTTP API as shipped: `specline serve` on SQLite and the separate `specline-api`
//! with the separate workers on PostgreSQL, each a real process on 127.0.0.1, analysing a
//! git repository made by the test, followed over Server-Sent Events.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use support::{Binaries, PgSchema, Running, KEY};

/// `specline admin token create --owner OWNER` (or `specline-enqueue token create`):
/// the token printed once.
fn token(bins: &Binaries, program: &str, env: &[(String, String)], owner: &str) -> String {
    let mut cmd = bins.command(program, env);
    if program == "specline" {
        cmd.arg("admin");
    }
    let token = stdout_of(cmd.args(["token", "create", "--owner", owner]))
        .trim()
        .to_string();
    assert!(token.starts_with("spl_"), "{token}");
    token
}

/// Run a command that must succeed; its standard output.
fn stdout_of(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn repo() -> tempfile::TempDir {
    support::git_repo(&[(
        "tests/test_cart.py".into(),
        "def test_adds_an_item():\n    assert True\n\ndef test_removes_an_item():\n    assert True\n"
            .into(),
    )])
}

/// Events of a stream as (seq, status): all of them, or the first `stop_after` (then the
/// connection is dropped, as a client that goes away would).
async fn read_stream(
    api: &Running,
    response: reqwest::Response,
    stop_after: Option<usize>,
) -> Vec<(i64, String)> {
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), body.next())
        .await
        .unwrap_or_else(|_| panic!("the stream stalled: {text}\n{}", api.logs()))
    {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            if let (Some(id), Some(event)) = (field("id:"), field("event:")) {
                events.push((id.parse().unwrap(), event));
                if stop_after.is_some_and(|n| events.len() >= n) {
                    return events;
                }
            }
        }
    }
    events
}

/// Submit `target`; follow its events for `first` events, drop the connection, reconnect
/// with `Last-Event-ID` and follow to the end. The run id and every event received.
async fn submit_and_follow(
    api: &Running,
    token: &str,
    target: &str,
    first: usize,
) -> (i64, Vec<(i64, String)>) {
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", api.port);
    let submitted: Value = http
        .post(format!("{base}/api/v1/analyses"))
        .bearer_auth(token)
        .json(&json!({"repository": target}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = submitted["run_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{submitted}"));
    let events_url = format!("{base}{}", submitted["events_url"].as_str().unwrap());
    let open = |last: Option<i64>| {
        let mut req = http.get(&events_url).bearer_auth(token);
        if let Some(last) = last {
            req = req.header("Last-Event-ID", last.to_string());
        }
        req.send()
    };
    let mut events = read_stream(api, open(None).await.unwrap(), Some(first)).await;
    let last = events.last().map(|e| e.0);
    assert_eq!(last, Some(first as i64), "{events:?}");
    events.extend(read_stream(api, open(last).await.unwrap(), None).await);
    (id, events)
}

async fn get(api: &Running, token: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}{path}", api.port))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The first connection's events and the reconnection's are, together, every seq from 1
/// once, ending with `done`.
fn assert_gapless_to_done(events: &[(i64, String)]) {
    let seqs: Vec<i64> = events.iter().map(|e| e.0).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(|e| e.1.as_str()),
        Some("done"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_mounts_the_api_beside_the_workers_and_the_analyzer_enforces_the_policy_again() {
    let bins = Binaries::locate();
    let data = tempfile::tempdir().unwrap();
    let env = vec![
        (
            "SPECLINE_LOCAL__DATA_DIR".to_string(),
            data.path().display().to_string(),
        ),
        (
            "SPECLINE_REPOSITORY_POLICY__ALLOW_LOCAL_PATHS".to_string(),
            "true".to_string(),
        ),
    ];
    let serve = bins.start_with("specline", &["serve"], &env).await;
    let alice = token(&bins, "specline", &env, "alice");
    let repo = repo();
    let (id, events) =
        submit_and_follow(&serve, &alice, &repo.path().display().to_string(), 3).await;
    assert_gapless_to_done(&events);
    let (status, result) = get(&serve, &alice, &format!("/api/v1/runs/{id}/result")).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["behaviors"], 2, "{result}");
    let (status, doc) = get(
        &serve,
        &alice,
        &format!("/api/v1/documents/{}", result["document_id"]),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["generator_kind"], "offline");

    // `token list` shows the token (never the token itself); `token revoke` ends it.
    let admin = |args: &[&str]| stdout_of(bins.command("specline", &env).arg("admin").args(args));
    let listed = admin(&["token", "list"]);
    assert!(listed.contains("1 alice active"), "{listed}");
    assert!(!listed.contains(&alice), "{listed}");
    admin(&["token", "revoke", "1"]);
    assert!(admin(&["token", "list"]).contains("1 alice revoked"));
    let (status, _) = get(&serve, &alice, &format!("/api/v1/runs/{id}")).await;
    assert_eq!(status, 401);

    // A run put on the queue without the API (the operator tool) still meets the policy
    // in the analyzer: plain http is not an allowed scheme here.
    let out = bins
        .command("specline", &env)
        .args(["admin", "--json", "analyze", "http://127.0.0.1:9/x.git"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let submitted: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = submitted["run_id"].to_string();
    // `run events --follow` returns once the run has ended (non-zero: it failed).
    let followed = bins
        .command("specline", &env)
        .args(["admin", "run", "events", &run_id, "--follow"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&followed.stderr);
    assert!(!followed.status.success(), "{stderr}");
    assert!(stderr.contains("POLICY_SCHEME"), "{stderr}");
    let shown = bins
        .command("specline", &env)
        .args(["admin", "--json", "run", "show", &run_id])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["run"]["state"], "failed", "{shown}");
    assert_eq!(shown["run"]["error_code"], "POLICY_SCHEME", "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_binary_serves_submissions_on_postgres_with_the_separate_workers() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let env = schema.env();
    bins.migrate(&env);
    let mut analyzer_env = env.clone();
    analyzer_env.push(("SPECLINE_SECURITY__ENCRYPTION_KEY".into(), KEY.into()));
    analyzer_env.push((
        "SPECLINE_REPOSITORY_POLICY__ALLOW_LOCAL_PATHS".into(),
        "true".into(),
    ));
    let mut api_env = env.clone();
    api_env.push((
        "SPECLINE_REPOSITORY_POLICY__ALLOW_LOCAL_PATHS".into(),
        "true".into(),
    ));
    let _analyzer = bins.start("specline-analyzer", &analyzer_env).await;
    let _generator = bins.start("specline-spec-generator", &env).await;
    let api = bins.start("specline-api", &api_env).await;
    let (status, metrics) = api.get("/metrics").unwrap();
    assert_eq!(status, 200, "{metrics}");
    let alice = token(&bins, "specline-enqueue", &env, "alice");
    let repo = repo();
    let (id, events) = submit_and_follow(&api, &alice, &repo.path().display().to_string(), 2).await;
    assert_gapless_to_done(&events);
    let (status, result) = get(&api, &alice, &format!("/api/v1/runs/{id}/result")).await;
    assert_eq!(status, 200, "{result}");
    let bob = token(&bins, "specline-enqueue", &env, "bob");
    let (status, _) = get(&api, &bob, &format!("/api/v1/runs/{id}/result")).await;
    assert_eq!(status, 404);
    api.terminate(Duration::from_secs(20)).await;
}
