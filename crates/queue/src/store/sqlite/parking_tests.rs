//! Parking (migration 0010) on real SQLite files: finished jobs of limited kinds stay in the
//! partition-ordered fetch index until parked, are skipped by claims meanwhile, and a parked
//! job that becomes pending again (by any path: the `specline_jobs_unpark` trigger) is claimed.
#![allow(clippy::unwrap_used)]

use serde::{Deserialize, Serialize};

use super::claim::park_finished;
use super::migrate::MIGRATIONS;
use super::*;
use crate::job::{Completion, Outcome};
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

async fn fetch_ids(store: &SqliteStore) -> Vec<i64> {
    let mut ids: Vec<i64> = store
        .fetch(Owned::QUEUE, 10, "w")
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    ids.sort();
    ids
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

async fn parked(store: &SqliteStore, id: i64) -> Option<i64> {
    store
        .read(move |c| -> Result<Option<i64>> {
            Ok(c.query_row(
                "SELECT parked FROM specline_jobs WHERE id = ?1",
                [id],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap()
}

async fn park(store: &SqliteStore) -> usize {
    store.with_conn(|c| park_finished(c)).await.unwrap()
}

#[tokio::test]
async fn a_parked_job_retried_by_hand_is_claimed_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.migrate().await.unwrap();
    declare(&store).await;
    let ids = insert(&store, &["a"]).await;
    assert_eq!(fetch_ids(&store).await, ids);
    complete(&store, ids[0], 1).await;
    // Finished but not parked: still in the index, and skipped.
    assert_eq!(parked(&store, ids[0]).await, None);
    assert!(fetch_ids(&store).await.is_empty());
    assert_eq!(park(&store).await, 1);
    assert_eq!(parked(&store, ids[0]).await, Some(1));
    assert_eq!(park(&store).await, 0, "parked jobs are not parked again");

    let job = store.retry(ids[0]).await.unwrap();
    assert_eq!(job.state, crate::JobState::Available);
    assert_eq!(parked(&store, ids[0]).await, None, "the trigger unparks");
    let again = store.fetch(Owned::QUEUE, 10, "w").await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempt), (ids[0], 2));
}

#[tokio::test]
async fn a_parked_job_made_pending_by_any_statement_is_claimed_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.migrate().await.unwrap();
    declare(&store).await;
    let ids = insert(&store, &["a", "b"]).await;
    assert_eq!(fetch_ids(&store).await, ids);
    complete(&store, ids[0], 1).await;
    complete(&store, ids[1], 1).await;
    assert_eq!(park(&store).await, 2);
    let second = ids[1];
    // Another path to a pending state (as a resume or a rescue writes it): the trigger
    // guards every statement that changes the state, not only the retry's.
    store
        .with_conn(move |c| {
            c.execute(
                "UPDATE specline_jobs SET state = 'retryable', scheduled_at = 0 WHERE id = ?1",
                [second],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(parked(&store, ids[0]).await, Some(1));
    assert_eq!(parked(&store, ids[1]).await, None);
    assert_eq!(fetch_ids(&store).await, vec![ids[1]]);
}

#[tokio::test]
async fn jobs_inserted_before_migration_10_are_claimed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    // The schema at version 9, with jobs queued and one finished.
    store
        .with_conn(|c| {
            let tx = c.transaction()?;
            tx.execute_batch(
                "CREATE TABLE specline_migrations (
                   version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
            )?;
            for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 9) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO specline_migrations (version, name, applied_at) VALUES (?1, ?2, 0)",
                    params![version, name],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
        .unwrap();
    let ids = insert(&store, &["a", "a", "a", "b"]).await;
    let first = ids[0];
    store
        .with_conn(move |c| {
            c.execute(
                "UPDATE specline_jobs SET state = 'completed', attempt = 1, finalized_at = 1
                 WHERE id = ?1",
                [first],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    store.migrate().await.unwrap();
    // The backfill parked the finished job, and only it.
    assert_eq!(parked(&store, ids[0]).await, Some(1));
    for id in &ids[1..] {
        assert_eq!(parked(&store, *id).await, None);
    }
    declare(&store).await;
    // One per partition, each partition's first pending job.
    assert_eq!(fetch_ids(&store).await, vec![ids[1], ids[3]]);
    complete(&store, ids[1], 1).await;
    assert_eq!(fetch_ids(&store).await, vec![ids[2]]);
}
