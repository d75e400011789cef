//! The admin jobs dashboard in a real browser: filter by kind, retry a discarded job,
//! pause and resume a queue; and nobody else sees these pages at all.
#![allow(clippy::unwrap_used)]

mod support;

use specline_queue::{Client, InsertOpts, JobState};
use support::browser::Browser;
use support::{ui_options, Backend, Options, Server};

/// A job kind of its own queue, so the dashboard's list holds only the test's jobs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Probe {
    n: i64,
}
impl specline_queue::JobKind for Probe {
    const KIND: &'static str = "probe";
    const QUEUE: &'static str = "probe";
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Other {
    n: i64,
}
impl specline_queue::JobKind for Other {
    const KIND: &'static str = "other";
    const QUEUE: &'static str = "probe";
}

async fn server() -> Server {
    Server::start(
        Backend::Sqlite,
        Options {
            router: ui_options().router,
            ..Options::without_workers()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_filters_jobs_by_kind_and_retries_a_discarded_one() {
    let server = server().await;
    let ops = server.token("ops", true).await;
    let client = Client::new(server.dbs.jobs.clone());
    let probe = client
        .insert_with(&Probe { n: 1 }, InsertOpts::default().tag("red"))
        .await
        .unwrap()
        .id;
    let other = client.insert(&Other { n: 2 }).await.unwrap().id;
    client.discard(probe).await.unwrap();

    let b = Browser::start(1280).await;
    b.sign_in(&server.base, &ops).await;
    b.goto(&server.url("/admin/jobs")).await;
    b.wait_text("#jobs tbody", |t| {
        t.contains(&probe.to_string()) && t.contains(&other.to_string())
    })
    .await;
    b.wait_text("#counts", |t| t.contains("probe")).await;
    b.screenshot("jobs").await;

    b.fill("#f-kind", "probe").await;
    b.click("#filter button[type=submit]").await;
    b.wait_text("#jobs tbody", |t| {
        t.contains(&probe.to_string()) && !t.contains("other")
    })
    .await;
    assert!(b.url().await.contains("kind=probe"));

    // Select the discarded job and retry it.
    b.click(&format!("#sel-{probe}")).await;
    b.click("#selected button[value=retry]").await;
    b.wait_text("#notice", |t| t.contains("Changed 1 job"))
        .await;
    assert_eq!(
        client.get(probe).await.unwrap().unwrap().state,
        JobState::Available
    );
    assert_eq!(
        client.get(other).await.unwrap().unwrap().state,
        JobState::Available
    );

    b.goto(&server.url(&format!("/admin/jobs/{probe}"))).await;
    b.wait_text("#job-kind", |t| t == "probe").await;
    b.wait_text("#timeline", |t| t.contains("Created")).await;
    b.screenshot("job").await;
    b.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_pauses_and_resumes_a_queue() {
    let server = server().await;
    let ops = server.token("ops", true).await;
    let b = Browser::start(1280).await;
    b.sign_in(&server.base, &ops).await;
    b.goto(&server.url("/admin/queues")).await;
    let row = format!("tr[data-queue='{}']", specline_app::ANALYZE_QUEUE);
    b.wait_text(&format!("{row} .status"), |t| t == "running")
        .await;
    b.click(&format!("{row} button[type=submit]")).await;
    b.wait_text(&format!("{row} .status"), |t| t == "paused")
        .await;
    let paused = server.dbs.jobs.paused_queues().await.unwrap();
    assert!(paused.contains(&specline_app::ANALYZE_QUEUE.to_string()));
    b.screenshot("queues").await;

    b.click(&format!("{row} button[type=submit]")).await;
    b.wait_text(&format!("{row} .status"), |t| t == "running")
        .await;
    assert!(server.dbs.jobs.paused_queues().await.unwrap().is_empty());

    b.goto(&server.url("/admin/runs")).await;
    b.find("#runs").await;
    b.screenshot("admin-runs").await;
    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn someone_not_admin_gets_not_found_and_forms_need_the_csrf_token() {
    let server = server().await;
    let alice = server.token("alice", false).await;
    let ops = server.token("ops", true).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/admin/jobs",
        "/admin/jobs/1",
        "/admin/queues",
        "/admin/runs",
    ] {
        let r = http
            .get(server.url(path))
            .header("Cookie", format!("specline_session={alice}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
        if path.ends_with("/1") {
            continue;
        }
        let r = http
            .get(server.url(path))
            .header("Cookie", format!("specline_session={ops}"))
            .send()
            .await
            .unwrap();
        assert_ne!(r.status().as_u16(), 404, "{path} for an admin");
    }
    for (who, status) in [(&alice, 404), (&ops, 403)] {
        let r = http
            .post(server.url("/admin/queues/analyze"))
            .header("Cookie", format!("specline_session={who}"))
            .form(&[("csrf", "forged"), ("paused", "true")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
    }
    assert!(server.dbs.jobs.paused_queues().await.unwrap().is_empty());
    server.stop().await;
}
