//! Crash safety with real processes: a worker process is SIGKILLed while jobs run, a second
//! worker process finishes every job, and no job is lost or completed twice.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use specline_queue::maintenance::RoundTimers;
use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use specline_queue::{
    Client, InsertOpts, JobContext, JobFilter, JobKind, JobState, Maintenance, MaintenanceConfig,
    NewJob, Registry, Worker,
};

use common::{Guard, Harness};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Work {
    ms: u64,
}
impl JobKind for Work {
    const KIND: &'static str = "crash_work";
    const QUEUE: &'static str = "crash";
}

const JOBS: i64 = 300;

/// The worker process. Not a test on its own: the crash tests start it as a child.
#[test]
#[ignore = "run as a child process by the crash tests"]
fn crash_child_worker() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store: Arc<dyn Store> = match std::env::var("CRASH_BACKEND").unwrap().as_str() {
            "postgres" => Arc::new(
                PgStore::connect(
                    PgConfig::new(std::env::var("CRASH_URL").unwrap())
                        .schema(std::env::var("CRASH_SCHEMA").unwrap()),
                )
                .await
                .unwrap(),
            ),
            _ => Arc::new(
                SqliteStore::open(SqliteConfig::new(std::env::var("CRASH_PATH").unwrap()))
                    .await
                    .unwrap(),
            ),
        };
        let worker = Worker::builder(store)
            .registry(
                Registry::new().register(|_c: JobContext, w: Work| async move {
                    tokio::time::sleep(Duration::from_millis(w.ms)).await;
                    Ok(())
                }),
            )
            .queue("crash", 16)
            .poll_interval(Duration::from_millis(100))
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .unwrap();
        println!("worker-id {}", worker.id());
        let _handle = worker.start().await.unwrap();
        // Run until killed.
        std::future::pending::<()>().await;
    });
}

fn spawn_child(h: &Harness) -> (Child, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        "crash_child_worker",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    match &h.guard {
        Guard::Pg { schema } => {
            cmd.env("CRASH_BACKEND", "postgres")
                .env("CRASH_URL", common::database_url())
                .env("CRASH_SCHEMA", schema);
        }
        Guard::Sqlite { path, .. } => {
            cmd.env("CRASH_BACKEND", "sqlite").env("CRASH_PATH", path);
        }
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let id = loop {
        let line = lines.next().expect("child printed its worker id").unwrap();
        // libtest prints `test name ... ` before the child's own output on the same line.
        if let Some((_, id)) = line.split_once("worker-id ") {
            break id.trim().to_string();
        }
    };
    // Keep draining the child's output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, id)
}

async fn crash(h: Harness) {
    let client = Client::new(h.store.clone());
    let jobs: Vec<NewJob> = (0..JOBS)
        .map(|_| NewJob::new(&Work { ms: 25 }, InsertOpts::default()).unwrap())
        .collect();
    client.insert_many(jobs).await.unwrap();

    let (mut first, first_id) = spawn_child(&h);
    let until = Instant::now() + Duration::from_secs(60);
    while h.count(JobState::Completed).await < JOBS / 4 {
        assert!(Instant::now() < until, "first worker made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let running_at_kill = h.count(JobState::Running).await;
    assert!(running_at_kill > 0, "the kill should catch jobs mid-run");

    let (mut second, second_id) = spawn_child(&h);
    let m = Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            rescue_after: Duration::from_secs(1),
            ..MaintenanceConfig::default()
        },
    );
    let mut timers = RoundTimers::default();
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        m.run_once(&mut timers).await.unwrap();
        if h.count(JobState::Completed).await == JOBS {
            break;
        }
        assert!(
            Instant::now() < until,
            "jobs were lost: {:?}",
            h.store.count_by_state(None).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();

    let all = h
        .store
        .list_jobs(&JobFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.len() as i64,
        JOBS,
        "no job vanished and none was duplicated"
    );
    let mut rescued = 0;
    for job in &all {
        assert_eq!(job.state, JobState::Completed);
        assert_eq!(
            job.attempt as usize,
            job.attempted_by.len(),
            "one attempt per claim: {job:?}"
        );
        match job.attempt {
            1 => assert!(job.errors.is_empty()),
            2 => {
                rescued += 1;
                assert_eq!(job.attempted_by, vec![first_id.clone(), second_id.clone()]);
                assert_eq!(job.errors.len(), 1);
                assert_eq!(job.errors[0].code, "RESCUED");
                assert_eq!(job.errors[0].worker, first_id);
            }
            n => panic!("job {} ran {n} times", job.id),
        }
    }
    assert_eq!(
        rescued, running_at_kill,
        "exactly the jobs running at the kill were rescued"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkilled_worker_loses_no_job() {
    crash(Harness::pg().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkilled_worker_loses_no_job() {
    crash(Harness::sqlite().await).await
}
