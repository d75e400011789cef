//! Migration 12 on a real PostgreSQL schema: jobs queued before it are tagged by their rank in
//! their partition and served round-robin (the fair order itself is checked for both drivers
//! in `limit_checks`).
#![allow(clippy::unwrap_used)]

use super::migrate::MIGRATIONS;
use super::*;
use crate::job::{Completion, Outcome};
use crate::limits::{Declared, LimitValues};
use crate::store::Store;
use specline_testkit::{database_url, PgSchema};

/// A job of kind `owned` for `owner`, partitioned by it.
fn owned(owner: &str) -> crate::NewJob {
    crate::NewJob {
        kind: "owned".into(),
        queue: "owned".into(),
        args: serde_json::json!({ "owner": owner }),
        priority: 1,
        max_attempts: 3,
        scheduled_at: None,
        unique_key: None,
        unique_states: 0,
        metadata: serde_json::json!({}),
        tags: Vec::new(),
        partition_key: Some(owner.into()),
    }
}

#[tokio::test]
async fn jobs_queued_before_migration_12_are_served_round_robin() {
    let schema = PgSchema::new();
    let store = PgStore::connect(PgConfig::new(database_url()).schema(schema.name()))
        .await
        .unwrap();
    // The schema at version 11, with jobs queued and one finished.
    {
        let mut c = store.client().await.unwrap();
        let tx = c.transaction().await.unwrap();
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{0}\";
             CREATE TABLE \"{0}\".specline_migrations (
               version integer PRIMARY KEY, name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())",
            schema.name()
        ))
        .await
        .unwrap_or_else(|e| specline_testkit::pg_unreachable(e));
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 11) {
            tx.batch_execute(sql).await.unwrap();
            tx.execute(
                "INSERT INTO specline_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await
            .unwrap();
        }
        for (owner, state) in [
            ("a", "completed"),
            ("a", "available"),
            ("a", "available"),
            ("a", "available"),
            ("b", "available"),
            ("b", "available"),
        ] {
            tx.execute(
                "INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts,
                   partition_key)
                 VALUES ('owned', 'owned', jsonb_build_object('owner', $1::text),
                         $2::text, 1, 3, $1)",
                &[&owner, &state],
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    store.migrate().await.unwrap();
    let c = store.client().await.unwrap();
    let tags: Vec<(String, Option<i64>)> = c
        .query(
            "SELECT args->>'owner', fair_tag FROM specline_jobs ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let unit = crate::limited_claim::tags::TAG_UNIT;
    let want: Vec<(String, Option<i64>)> = [
        ("a", None),
        ("a", Some(unit)),
        ("a", Some(2 * unit)),
        ("a", Some(3 * unit)),
        ("b", Some(unit)),
        ("b", Some(2 * unit)),
    ]
    .iter()
    .map(|(o, t)| (o.to_string(), *t))
    .collect();
    assert_eq!(tags, want, "each partition's n-th queued job has tag n");
    store
        .declare_limits(&[Declared {
            kind: "owned".into(),
            queues: vec!["owned".into()],
            values: LimitValues {
                per_partition: Some(1),
                ..Default::default()
            },
        }])
        .await
        .unwrap();
    let mut order = Vec::new();
    for _ in 0..5 {
        let got = store.fetch("owned", 1, "w").await.unwrap();
        assert_eq!(got.len(), 1, "after {order:?}");
        let args: serde_json::Value = serde_json::from_str(&got[0].args).unwrap();
        order.push(args["owner"].as_str().unwrap().to_string());
        let done = Completion {
            id: got[0].id,
            attempt: got[0].attempt,
            outcome: Outcome::Completed,
        };
        store.complete(&[done]).await.unwrap();
    }
    assert_eq!(order, ["a", "b", "a", "b", "a"]);
    // A job inserted now follows its partition's last tag from before the migration.
    let id = store.insert_many(vec![owned("a")]).await.unwrap()[0].id;
    let tag: Option<i64> = c
        .query_one("SELECT fair_tag FROM specline_jobs WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tag, Some(4 * unit));
}

/// Each form of the fair window's statement reads `specline_jobs_fair` in its order, with no
/// sort, on a table whose statistics know nothing of the kind (no ANALYZE since its jobs came),
/// inside a transaction set up as the claim's is. (Selecting `priority::int` once made
/// `ORDER BY priority` name that expression, and the plan read and sorted every queued job of
/// the kind through another index, at every claim.)
#[tokio::test]
async fn the_fair_window_reads_the_fair_index_in_order_without_a_sort() {
    let schema = PgSchema::new();
    let store = PgStore::connect(PgConfig::new(database_url()).schema(schema.name()))
        .await
        .unwrap();
    store
        .migrate()
        .await
        .unwrap_or_else(|e| specline_testkit::pg_unreachable(e));
    let jobs: Vec<crate::NewJob> = (0..2000).map(|i| owned(&format!("o{}", i % 100))).collect();
    store.insert_many(jobs).await.unwrap();
    let mut c = store.client().await.unwrap();
    let tx = c.transaction().await.unwrap();
    tx.batch_execute("SET LOCAL enable_sort = off; SET LOCAL jit = off")
        .await
        .unwrap();
    // Plans are collected first and the transaction ended before any assertion: a panic
    // with the transaction open would leave the schema's drop waiting on its locks.
    let mut plans = Vec::new();
    for (n, (after, run)) in [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .enumerate()
    {
        let sql = super::limits::fair_window_sql(after, run);
        tx.batch_execute(&format!("PREPARE w{n} AS {sql}"))
            .await
            .unwrap();
        let args = format!(
            "'owned', 'owned', now(), {}, 100{}",
            if run { "7" } else { "NULL" },
            if after { ", 1, 5000000, 10" } else { "" }
        );
        let plan: Vec<String> = tx
            .query(&format!("EXPLAIN EXECUTE w{n}({args})"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        plans.push((after, run, plan.join("\n")));
    }
    tx.rollback().await.unwrap();
    drop(c);
    for (after, run, text) in plans {
        assert!(
            text.contains("specline_jobs_fair") && !text.contains("Sort"),
            "after {after}, run {run}:\n{text}"
        );
    }
}
