//! The home page's submit form, the runs list and the run page, in a real browser: a
//! repository made by the test is submitted and its run page goes live to "succeeded"
//! without a reload; a failing one shows its code; the owner cancels and resumes a held run;
//! another owner gets "not found"; the run page stays under its weight budget.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use specline_app::policy::RepositoryPolicy;
use support::browser::{Browser, WAIT};
use support::git_repo::GitRepo;
use support::{page, ui_options, Backend, Options, Server};

/// A UI server whose policy admits local repositories (the test's own git repository).
async fn server() -> Server {
    server_on(Backend::Sqlite).await
}

async fn server_on(backend: Backend) -> Server {
    let options = Options {
        policy: RepositoryPolicy {
            allow_local_paths: true,
            ..RepositoryPolicy::default()
        },
        ..ui_options()
    };
    Server::start(backend, options).await
}

/// The id in a `/runs/{id}` URL.
fn run_id_of(url: &str) -> i64 {
    url.rsplit("/runs/")
        .next()
        .and_then(|s| s.split(['?', '#']).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a run page: {url}"))
}

async fn submit_on_home(b: &Browser, base: &str, repository: &str) {
    b.goto(&format!("{base}/")).await;
    b.fill("#submit-repository", repository).await;
    b.click("#submit button[type=submit]").await;
}

async fn wait_for_run_page(b: &Browser) -> i64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = b.url().await;
        if url.contains("/runs/") {
            b.find("#run").await;
            return run_id_of(&url);
        }
        assert!(Instant::now() < deadline, "never reached a run page: {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the run is done, as the API answers.
async fn wait_done(server: &Server, token: &str, id: i64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, run) = server.get(token, &format!("/api/v1/runs/{id}")).await;
        if run["state"] == "done" {
            return;
        }
        assert!(Instant::now() < deadline, "run {id} never finished: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The seqs of the events in the page's timeline, top to bottom.
async fn timeline_seqs(b: &Browser) -> Vec<i64> {
    serde_json::from_value(
        b.eval(
            "return Array.from(document.querySelectorAll('#run-events [data-seq]'))\
                 .map(li => Number(li.getAttribute('data-seq')))",
        )
        .await,
    )
    .unwrap()
}

async fn marker(b: &Browser) -> serde_json::Value {
    b.eval("return window.__marker === undefined ? null : window.__marker")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_repository_goes_live_to_succeeded_without_a_reload() {
    live_to_succeeded(Backend::Sqlite, true).await;
}

/// The same on PostgreSQL, whose live events come through LISTEN/NOTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_repository_goes_live_to_succeeded_on_postgres() {
    live_to_succeeded(Backend::Postgres, false).await;
}

/// Submits a repository made by the test on the home page and follows its run page to
/// "succeeded" without a reload; `screenshots` saves the home and run pages.
async fn live_to_succeeded(backend: Backend, screenshots: bool) {
    let server = server_on(backend).await;
    let token = server.token("alice", false).await;
    let repo = GitRepo::new("shop");
    server.hold();
    let b = Browser::start(1280).await;
    b.sign_in(&server.base, &token).await;

    submit_on_home(&b, &server.base, &repo.url()).await;
    let id = wait_for_run_page(&b).await;
    b.eval("window.__marker = 1").await;
    // Held in the analysis step: running, its progress events shown live.
    b.wait_text("#run-state", |t| t == "running").await;
    b.wait_text(
        "#run-steps [data-step=analyze_repository] .step-state",
        |t| t == "running",
    )
    .await;
    b.wait_text("#run-live", |t| t == "Live.").await;
    b.wait_text("#run-events", |t| t.contains("progress")).await;
    if screenshots {
        b.screenshot("run-running").await;
    }

    server.release(1);
    b.wait_text("#run-state", |t| t == "succeeded").await;
    b.wait_text("#run-percent", |t| t == "100%").await;
    b.wait_text("#run-events", |t| t.contains("done")).await;
    for step in [
        "analyze_repository",
        "classify_tests",
        "list_features",
        "convert_behaviors",
        "summarize_document",
        "generate_spec_document",
    ] {
        let css = format!("#run-steps [data-step={step}] .step-state");
        b.wait_text(&css, |t| t == "completed").await;
    }
    let link = b.find("#run-analysis-link").await;
    b.wait_text("#run-result-summary", |t| t.starts_with("Behaviors: 1"))
        .await;
    assert!(link
        .attr("href")
        .await
        .unwrap()
        .unwrap()
        .starts_with("/analyses/"));
    assert_eq!(
        marker(&b).await,
        serde_json::json!(1),
        "the run page reloaded or navigated"
    );
    assert_eq!(run_id_of(&b.url().await), id);
    // The timeline has each event once, newest first, as stored.
    let seqs = timeline_seqs(&b).await;
    let mut stored = server.stored_seqs(id).await;
    stored.reverse();
    assert_eq!(seqs, stored);
    b.wait_text("#run-live", |t| t == "Finished.").await;
    if screenshots {
        b.screenshot("run-done").await;
    }

    // Home lists the run and the repository the analysis stored.
    b.goto(&server.url("/")).await;
    b.wait_text("table.runs", |t| {
        t.contains(&format!("#{id}")) && t.contains("succeeded")
    })
    .await;
    b.wait_text("#repository-list", |t| {
        t.contains("shop") && t.contains("complete")
    })
    .await;
    if screenshots {
        b.screenshot("home").await;
    }

    // The same run page at 360 px wide.
    b.client.set_window_size(360, 900).await.unwrap();
    b.goto(&server.url(&format!("/runs/{id}"))).await;
    b.wait_text("#run-state", |t| t == "succeeded").await;
    if screenshots {
        b.screenshot("run-360").await;
    }
    b.close().await;
    if screenshots {
        // Dark, for the screenshots (the colours are app.css's dark variables).
        let dark = Browser::start_dark(1280).await;
        dark.sign_in(&server.base, &token).await;
        dark.goto(&server.url(&format!("/runs/{id}"))).await;
        dark.wait_text("#run-state", |t| t == "succeeded").await;
        let background = dark
            .eval("return getComputedStyle(document.body).backgroundColor")
            .await;
        assert_eq!(background, serde_json::json!("rgb(13, 17, 23)"));
        dark.screenshot("run-dark").await;
        dark.close().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_show_their_code_and_a_failing_run_its_failure() {
    let server = server().await;
    let token = server.token("alice", false).await;
    let b = Browser::start(1280).await;
    b.sign_in(&server.base, &token).await;

    // The repository policy's refusal, beside the field, with its code; nothing submitted.
    submit_on_home(&b, &server.base, "http://git.example/o/r.git").await;
    b.wait_text("#submit-repository-error", |t| t.contains("POLICY_SCHEME"))
        .await;
    let value = b
        .find("#submit-repository")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(value.as_deref(), Some("http://git.example/o/r.git"));
    b.fill("#submit-language", "not a language").await;
    b.fill("#submit-repository", "https://git.example/o/r.git")
        .await;
    b.click("#submit button[type=submit]").await;
    b.wait_text("#submit-language-error", |t| t.contains("INVALID_REQUEST"))
        .await;
    let (_, runs) = server.get(&token, "/api/v1/runs").await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 0);

    // The fixture fails a repository whose path holds `fail`: the run page shows its code.
    b.fill("#submit-language", "en").await;
    b.fill("#submit-repository", "https://git.example/o/fail.git")
        .await;
    b.click("#submit button[type=submit]").await;
    wait_for_run_page(&b).await;
    b.wait_text("#run-state", |t| t == "failed").await;
    b.wait_text("#run-failure-code", |t| t == "TARGET_NOT_FOUND")
        .await;
    b.wait_text("#run-failure-message", |t| t.contains("does not exist"))
        .await;
    b.wait_text(
        "#run-steps [data-step=analyze_repository] .step-state",
        |t| t == "failed",
    )
    .await;
    assert!(b.find("#run-resume").await.is_displayed().await.unwrap());
    b.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_cancels_and_resumes_a_held_run_and_another_owner_finds_nothing() {
    let server = server().await;
    let alice = server.token("alice", false).await;
    let bob = server.token("bob", false).await;
    server.hold();
    let (status, body) = server
        .submit(
            &alice,
            serde_json::json!({"repository": "https://git.example/o/held.git"}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["run_id"].as_i64().unwrap();
    let b = Browser::start(1280).await;
    b.sign_in(&server.base, &alice).await;
    b.goto(&server.url(&format!("/runs/{id}"))).await;
    b.wait_text("#run-events", |t| t.contains("progress")).await;
    b.click("#run-cancel button").await;
    b.client.accept_alert().await.unwrap();
    b.wait_text("#run-state", |t| t == "cancelled").await;
    b.wait_text("#run-failure-code", |t| t == "CANCELLED").await;
    let (_, run) = server.get(&alice, &format!("/api/v1/runs/{id}")).await;
    assert_eq!(run["error"]["code"], "CANCELLED");

    // Resume starts it again from its last checkpoint; released, it finishes live.
    b.click("#run-resume button").await;
    b.wait_text("#run-state", |t| t == "running").await;
    server.release(2);
    b.wait_text("#run-state", |t| t == "succeeded").await;

    // Bob gets "not found" for Alice's run, and cannot cancel it.
    b.sign_in(&server.base, &bob).await;
    b.goto(&server.url(&format!("/runs/{id}"))).await;
    b.wait_text("h1", |t| t == "Not Found").await;
    b.wait_text("p.error", |t| t.contains("not yours")).await;
    b.close().await;
    let (status, _) = page(&server, &bob, &format!("/runs/{id}")).await;
    assert_eq!(status, 404);
    let (_, home) = page(&server, &bob, "/").await;
    let csrf = home
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let r = server
        .http
        .post(server.url(&format!("/runs/{id}/cancel")))
        .header("Cookie", format!("specline_session={bob}"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.stop().await;
}

/// The page's stream is refused (the owner's one stream slot is taken) and retried; the run
/// finishes meanwhile. Once a stream is allowed, the page resumes after the last event it
/// showed and ends on the final state with every event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_stream_is_retried_and_resumes_after_the_last_event_shown() {
    let mut options = Options {
        policy: RepositoryPolicy::default(),
        ..ui_options()
    };
    options.config.max_streams_per_owner = 1;
    let server = Server::start(Backend::Sqlite, options).await;
    let token = server.token("alice", false).await;
    server.hold();
    let (status, body) = server
        .submit(
            &token,
            serde_json::json!({"repository": "https://git.example/o/r.git"}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["run_id"].as_i64().unwrap();
    // Wait for the held step's progress, then take the only stream slot.
    let deadline = Instant::now() + WAIT;
    while server.stored_seqs(id).await.len() < 3 {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let holder = server
        .http
        .get(server.url(&format!("/api/v1/runs/{id}/events")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(holder.status(), 200);

    let b = Browser::start(1280).await;
    b.sign_in(&server.base, &token).await;
    b.goto(&server.url(&format!("/runs/{id}"))).await;
    b.eval("window.__marker = 1").await;
    b.wait_text("#run-live", |t| t.starts_with("Disconnected"))
        .await;
    assert_eq!(b.find("#run-state").await.text().await.unwrap(), "running");

    // The run ends while the page has no stream; then the slot is freed.
    server.release(1);
    wait_done(&server, &token, id).await;
    drop(holder);

    b.wait_text("#run-state", |t| t == "succeeded").await;
    b.wait_text("#run-live", |t| t == "Finished.").await;
    let seqs = timeline_seqs(&b).await;
    let mut stored = server.stored_seqs(id).await;
    stored.reverse();
    assert_eq!(seqs, stored);
    assert_eq!(marker(&b).await, serde_json::json!(1));
    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn the_submit_form_needs_its_csrf_token() {
    let server = server().await;
    let token = server.token("alice", false).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(server.url("/"))
        .header("Cookie", format!("specline_session={token}"))
        .form(&[
            ("csrf", "forged"),
            ("idempotency_key", "k1"),
            ("repository", "https://git.example/o/r.git"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, runs) = server.get(&token, "/api/v1/runs").await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 0);
    server.stop().await;
}

#[tokio::test]
async fn the_runs_list_pages_with_a_cursor() {
    let server = Server::start(
        Backend::Sqlite,
        Options {
            workers: false,
            ..ui_options()
        },
    )
    .await;
    let token = server.token("alice", false).await;
    let mut ids = Vec::new();
    for i in 0..51 {
        let repository = format!("https://git.example/o/r{i}.git");
        let (status, body) = server
            .submit(
                &token,
                serde_json::json!({ "repository": repository }),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["run_id"].as_i64().unwrap());
    }
    let rows = |html: &str| html.matches("<tr data-run=").count();
    let (_, first) = page(&server, &token, "/runs").await;
    assert_eq!(rows(&first), 50);
    assert!(first.contains(&format!("href=\"/runs/{}\"", ids[50])));
    let next = first
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let (_, second) = page(&server, &token, &next).await;
    assert_eq!(rows(&second), 1);
    assert!(second.contains(&format!("href=\"/runs/{}\"", ids[0])));
    assert!(!second.contains("rel=\"next\""));
    server.stop().await;
}

#[tokio::test]
async fn the_home_page_pages_the_repositories_with_their_latest_analysis() {
    let server = server().await;
    let token = server.token("alice", false).await;
    let mut ids = Vec::new();
    for i in 0..21 {
        let repository = format!("https://git.example/o/r{i:02}.git");
        let (status, body) = server
            .submit(
                &token,
                serde_json::json!({ "repository": repository }),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["run_id"].as_i64().unwrap());
    }
    for id in ids {
        wait_done(&server, &token, id).await;
    }
    let repositories = |html: &str| -> Vec<String> {
        let list = html
            .split("id=\"repository-list\"")
            .nth(1)
            .and_then(|s| s.split("</table>").next())
            .unwrap_or("");
        list.split("<td class=\"mono\">")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .map(str::to_string)
            .collect()
    };
    let (_, first) = page(&server, &token, "/").await;
    let names = repositories(&first);
    assert_eq!(names.len(), 20);
    assert_eq!(names[0], "https://git.example/o/r00.git");
    assert_eq!(first.matches("complete</span>").count(), 20);
    let more = first
        .split("href=\"/?repos_after=")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let (_, second) = page(&server, &token, &format!("/?repos_after={more}")).await;
    assert_eq!(
        repositories(&second),
        vec!["https://git.example/o/r20.git".to_string()]
    );
    assert!(!second.contains("repos_after="));
    server.stop().await;
}

/// The run page's HTML, and every script and style sheet it links, fetched as a browser
/// would: under 200 KB together.
#[tokio::test]
async fn the_run_page_weighs_under_200_kb() {
    const BUDGET: usize = 200 * 1024;
    let server = server().await;
    let token = server.token("alice", false).await;
    let (status, body) = server
        .submit(
            &token,
            serde_json::json!({"repository": "https://git.example/o/r.git"}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["run_id"].as_i64().unwrap();
    wait_done(&server, &token, id).await;
    let (status, html) = page(&server, &token, &format!("/runs/{id}")).await;
    assert_eq!(status, 200);
    let assets: Vec<&str> = html
        .split("=\"/assets/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(
        assets
            .iter()
            .any(|a| a.starts_with("run.") && a.ends_with(".js"))
            && assets.iter().any(|a| a.ends_with(".css")),
        "{assets:?}"
    );
    let mut total = html.len();
    for a in &assets {
        let (status, body) = page(&server, &token, &format!("/assets/{a}")).await;
        assert_eq!(status, 200, "{a}");
        total += body.len();
    }
    println!("run page: {total} bytes ({} assets)", assets.len());
    assert!(total < BUDGET, "the run page weighs {total} bytes");
    server.stop().await;
}
