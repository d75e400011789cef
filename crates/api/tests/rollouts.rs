//! `GET/PUT /api/v1/admin/rollouts`: admins list rollouts, change a mode (recorded with their
//! owner name, read back by the engine) and read a report; others get 403; a mode that does
//! not parse gets 422 `INVALID_ROLLOUT`. On both backends.
#![allow(clippy::unwrap_used)]

use specline_api_testkit as support;

use serde_json::{json, Value};
use specline_queue::RolloutMode;
use support::{Backend, Options, Server};

async fn an_admin_lists_sets_and_reports_rollouts(b: Backend) {
    let s = Server::start(b, Options::without_workers()).await;
    let ops = s.token("ops", true).await;
    let alice = s.token("alice", false).await;
    let put = |token: &str, name: &str, body: Value| {
        s.http
            .put(s.url(&format!("/api/v1/admin/rollouts/{name}")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let (status, body) = s.get(&alice, "/api/v1/admin/rollouts").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "ADMIN_ONLY");
    let (status, body) = s.get(&ops, "/api/v1/admin/rollouts").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"rollouts": []}));

    let r = put(
        &ops,
        "analyze_repository.extract",
        json!({"mode": "shadow 0.5"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let change: Value = r.json().await.unwrap();
    assert_eq!(
        (&change["from"], &change["to"], &change["actor"]),
        (&json!("off"), &json!("shadow 0.5"), &json!("ops"))
    );
    // What the engine's workers read.
    let stored = s
        .dbs
        .jobs
        .rollouts()
        .rollout("analyze_repository.extract")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.mode, RolloutMode::Shadow { sample: 0.5 });

    for bad in [json!({"mode": "percent 101"}), json!({"mode": "sometimes"})] {
        let r = put(&ops, "analyze_repository.extract", bad.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{bad}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["code"], "INVALID_ROLLOUT", "{bad}: {err}");
    }
    let r = put(
        &alice,
        "analyze_repository.extract",
        json!({"mode": "full"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);

    let (_, list) = s.get(&ops, "/api/v1/admin/rollouts").await;
    assert_eq!(list["rollouts"][0]["name"], "analyze_repository.extract");
    assert_eq!(list["rollouts"][0]["mode"], "shadow 0.5");
    assert_eq!(list["rollouts"][0]["updated_by"], "ops");
    let (status, report) = s
        .get(&ops, "/api/v1/admin/rollouts/analyze_repository.extract")
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rollout"], "analyze_repository.extract");
    assert_eq!(report["state"]["mode"], "shadow 0.5");
    assert_eq!(report["results"], 0);
    assert_eq!(report["changes"][0]["to"], "shadow 0.5");
    assert_eq!(report["changes"][0]["actor"], "ops");
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_admin_lists_sets_and_reports_rollouts() {
        super::an_admin_lists_sets_and_reports_rollouts(super::Backend::Postgres).await
    }
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_admin_lists_sets_and_reports_rollouts() {
        super::an_admin_lists_sets_and_reports_rollouts(super::Backend::Sqlite).await
    }
}
