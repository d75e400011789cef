//! The fair order on real SQLite files: the tags given at insert, and jobs queued before
//! migration 0012 (the behaviour both drivers share is checked in `limit_checks`).
#![allow(clippy::unwrap_used)]

use serde::{Deserialize, Serialize};

use super::migrate::MIGRATIONS;
use super::*;
use crate::job::{Completion, Outcome};
use crate::limited_claim::tags::TAG_UNIT;
use crate::limits::Declared;
use crate::store::Store;
use crate::{InsertOpts, JobKind, KindOptions, Limits, NewJob, PartitionBy};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Owned {
    owner: String,
}
impl JobKind for Owned {
    const KIND: &'static str = "owned";
    const QUEUE: &'static str = "owned";
    fn options() -> KindOptions {
        KindOptions {
            limits: Limits::new()
                .partition(PartitionBy::Arg("owner"))
                .per_partition(1),
            ..KindOptions::default()
        }
    }
}

fn job(owner: &str) -> NewJob {
    NewJob::new(
        &Owned {
            owner: owner.into(),
        },
        InsertOpts::default(),
    )
    .unwrap()
}

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(SqliteConfig::new(dir.path().join("jobs.sqlite")))
        .await
        .unwrap()
}

async fn declare(store: &SqliteStore) {
    store
        .declare_limits(&[Declared {
            kind: Owned::KIND.into(),
            queues: vec![Owned::QUEUE.into()],
            values: Owned::options().limits.values,
        }])
        .await
        .unwrap();
}

async fn insert(store: &SqliteStore, owners: &[&str]) -> Vec<i64> {
    let jobs = owners.iter().map(|o| job(o)).collect();
    let ids = store.insert_many(jobs).await.unwrap();
    ids.iter().map(|i| i.id).collect()
}

async fn complete(store: &SqliteStore, id: i64, attempt: i32) {
    let done = store
        .complete(&[Completion {
            id,
            attempt,
            outcome: Outcome::Completed,
        }])
        .await
        .unwrap();
    assert_eq!(done, 1);
}

/// Claim one job at a time, completing each before the next claim, `n` times: the owners
/// in the order they started.
async fn one_at_a_time(store: &SqliteStore, n: usize) -> Vec<String> {
    let mut order = Vec::new();
    for _ in 0..n {
        let got = store.fetch(Owned::QUEUE, 1, "w").await.unwrap();
        assert_eq!(got.len(), 1, "after {order:?}");
        let args: serde_json::Value = serde_json::from_str(&got[0].args).unwrap();
        order.push(args["owner"].as_str().unwrap().to_string());
        complete(store, got[0].id, got[0].attempt).await;
    }
    order
}

async fn tag_of(store: &SqliteStore, id: i64) -> Option<i64> {
    store
        .read(move |c| -> Result<Option<i64>> {
            Ok(c.query_row(
                "SELECT fair_tag FROM specline_jobs WHERE id = ?1",
                [id],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn jobs_queued_before_migration_12_are_served_round_robin() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    // The schema at version 11, with jobs queued and one finished.
    let ids: Vec<i64> = store
        .with_conn(|c| {
            let tx = c.transaction()?;
            tx.execute_batch(
                "CREATE TABLE specline_migrations (
                   version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
            )?;
            for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 11) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO specline_migrations (version, name, applied_at) VALUES (?1, ?2, 0)",
                    params![version, name],
                )?;
            }
            let mut ids = Vec::new();
            for (owner, state) in [
                ("a", "completed"),
                ("a", "available"),
                ("a", "available"),
                ("a", "available"),
                ("b", "available"),
                ("b", "available"),
            ] {
                ids.push(tx.query_row(
                    "INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts,
                       created_at, scheduled_at, partition_key)
                     VALUES ('owned', 'owned', json_object('owner', ?1), ?2, 1, 3, 0, 0, ?1)
                     RETURNING id",
                    params![owner, state],
                    |r| r.get(0),
                )?);
            }
            tx.commit()?;
            Ok(ids)
        })
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        tag_of(&store, ids[0]).await,
        None,
        "a finished job needs no tag"
    );
    assert_eq!(tag_of(&store, ids[1]).await, Some(TAG_UNIT));
    assert_eq!(tag_of(&store, ids[5]).await, Some(2 * TAG_UNIT));
    declare(&store).await;
    assert_eq!(
        one_at_a_time(&store, 5).await,
        ["a", "b", "a", "b", "a"],
        "each partition's n-th job has tag n"
    );
    // A job inserted now follows its partition's last tag from before the migration.
    let c = insert(&store, &["a"]).await;
    assert_eq!(tag_of(&store, c[0]).await, Some(4 * TAG_UNIT));
}

#[tokio::test]
async fn tags_follow_the_partitions_last_tag_or_the_kinds_virtual_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.migrate().await.unwrap();
    declare(&store).await;
    let a = insert(&store, &["a"; 5]).await;
    assert_eq!(tag_of(&store, a[0]).await, Some(TAG_UNIT));
    assert_eq!(tag_of(&store, a[4]).await, Some(5 * TAG_UNIT));
    assert_eq!(one_at_a_time(&store, 3).await, ["a", "a", "a"]);
    // The clock is at a's third tag: b starts there, a goes on from its last.
    let b = insert(&store, &["b", "b"]).await;
    let a6 = insert(&store, &["a"]).await;
    assert_eq!(tag_of(&store, b[0]).await, Some(4 * TAG_UNIT));
    assert_eq!(tag_of(&store, b[1]).await, Some(5 * TAG_UNIT));
    assert_eq!(tag_of(&store, a6[0]).await, Some(6 * TAG_UNIT));
}
