//! Inserting jobs inside the application's own database transaction.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use specline_queue::{InsertOpts, JobKind, JobState, NewJob};

use common::Harness;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Notify {
    order: i64,
}
impl JobKind for Notify {
    const KIND: &'static str = "notify_order";
    const QUEUE: &'static str = "default";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_job_commits_and_rolls_back_with_the_callers_transaction() {
    let h = Harness::pg().await;
    let pg = h.pg.clone().unwrap();
    let mut conn = pg.pool().get().await.unwrap();
    conn.batch_execute("CREATE TABLE orders (id bigint PRIMARY KEY)")
        .await
        .unwrap();

    // Rolled back: neither the order nor its job exist.
    {
        let tx = conn.transaction().await.unwrap();
        tx.execute("INSERT INTO orders VALUES (1)", &[])
            .await
            .unwrap();
        let ins = pg
            .insert_tx(
                &tx,
                vec![NewJob::new(&Notify { order: 1 }, InsertOpts::default()).unwrap()],
            )
            .await
            .unwrap();
        assert!(
            h.store.get_job(ins[0].id).await.unwrap().is_none(),
            "invisible before commit"
        );
        tx.rollback().await.unwrap();
        assert!(h.store.get_job(ins[0].id).await.unwrap().is_none());
    }
    // Committed: both exist, and a listening worker is woken by the commit.
    let mut events = h.store.wakeups();
    tokio::time::sleep(Duration::from_millis(200)).await; // let LISTEN start
    let tx = conn.transaction().await.unwrap();
    tx.execute("INSERT INTO orders VALUES (2)", &[])
        .await
        .unwrap();
    let ins = pg
        .insert_tx(
            &tx,
            vec![NewJob::new(&Notify { order: 2 }, InsertOpts::default()).unwrap()],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(h.job(ins[0].id).await.state, JobState::Available);
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        specline_queue::store::Wakeup::Inserted("default".into())
    );
    let orders: i64 = conn
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(orders, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_job_commits_and_rolls_back_with_the_callers_transaction() {
    let h = Harness::sqlite().await;
    let store = h.sqlite.clone().unwrap();
    store
        .transaction(|tx| {
            tx.conn()
                .execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")?;
            Ok(())
        })
        .await
        .unwrap();
    // The closure fails after inserting: everything rolls back.
    let failed = store
        .transaction(|tx| {
            tx.conn().execute("INSERT INTO orders VALUES (1)", [])?;
            tx.insert(&[NewJob::new(&Notify { order: 1 }, InsertOpts::default())?])?;
            Err::<(), _>(specline_queue::Error::InvalidArgs(
                "the order is invalid".into(),
            ))
        })
        .await;
    assert_eq!(failed.unwrap_err().code(), "INVALID_ARGS");
    assert_eq!(h.count(JobState::Available).await, 0);

    let mut events = h.store.wakeups();
    let ids = store
        .transaction(|tx| {
            tx.conn().execute("INSERT INTO orders VALUES (2)", [])?;
            tx.insert(&[NewJob::new(&Notify { order: 2 }, InsertOpts::default())?])
        })
        .await
        .unwrap();
    assert_eq!(h.job(ids[0].id).await.state, JobState::Available);
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        specline_queue::store::Wakeup::Inserted("default".into())
    );
    let orders: i64 = store
        .transaction(|tx| {
            Ok(tx
                .conn()
                .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    assert_eq!(orders, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_in_the_database_url_are_kept_alongside_the_schema() {
    let h = Harness::pg().await;
    let common::Guard::Pg { schema } = &h.guard else {
        unreachable!()
    };
    let url = format!(
        "{}{}options=-c%20statement_timeout%3D12345",
        common::database_url(),
        if common::database_url().contains('?') {
            "&"
        } else {
            "?"
        }
    );
    let store = specline_queue::store::PgStore::connect(
        specline_queue::store::PgConfig::new(url).schema(schema.name()),
    )
    .await
    .unwrap();
    let c = store.pool().get().await.unwrap();
    let row = c
        .query_one(
            "SELECT current_setting('statement_timeout'), current_schema()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "12345ms");
    assert_eq!(row.get::<_, String>(1), schema.name());
}
