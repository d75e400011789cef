//! The driver conformance suite (`specline_queue::driver_tests`) and the limits' checks
//! (`specline_queue::limit_checks`) on both drivers.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::Harness;
use specline_queue::store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_driver_meets_the_statement_contracts() {
    let failures = specline_queue::driver_tests::run(|| async {
        let h = Harness::pg().await;
        (h.store.clone() as Arc<dyn Store>, h)
    })
    .await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_driver_meets_the_statement_contracts() {
    let failures = specline_queue::driver_tests::run(|| async {
        let h = Harness::sqlite().await;
        (h.store.clone() as Arc<dyn Store>, h)
    })
    .await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_driver_meets_the_limit_contracts() {
    let failures = specline_queue::limit_checks::run(|| async {
        let h = Harness::pg().await;
        (h.store.clone() as Arc<dyn Store>, h)
    })
    .await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_driver_meets_the_limit_contracts() {
    let failures = specline_queue::limit_checks::run(|| async {
        let h = Harness::sqlite().await;
        (h.store.clone() as Arc<dyn Store>, h)
    })
    .await;
    assert!(failures.is_empty(), "{failures:#?}");
}
