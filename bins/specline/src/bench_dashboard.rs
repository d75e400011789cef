//! `specline bench --dashboard --jobs N`: the admin dashboard's pages over HTTP on a jobs
//! table of N rows.
//!
//! The table is filled in SQL in batches (far faster than the engine's insert for millions
//! of rows), shaped like a busy system's history: seven days of jobs in three queues and
//! five kinds, mostly completed, one in 1,000 discarded, some available or retryable, with
//! their scheduled, attempted and finished times (the last hour holds N/168 of them). Then
//! `ANALYZE` (and `VACUUM` on PostgreSQL, as autovacuum would), and each page is requested
//! [`ROUNDS`] times after one warm-up; the median, fastest and slowest are printed.
//! With `--keep`, a table that already holds N jobs is measured again without refilling.

use std::time::{Duration, Instant};

use anyhow::Context;
use specline_app::store::NewApiToken;
use specline_service::db::Databases;

use crate::bench::BenchArgs;
use crate::db::{BackendArg, DbArgs};

/// Timed requests per page.
const ROUNDS: usize = 7;
/// Rows per filling statement.
const BATCH: u64 = 250_000;
/// The history spans a week.
const SPAN_SECS: f64 = 7.0 * 24.0 * 3600.0;

/// One job per `g` (1..=N): its kind, queue, state and times are functions of `g`; `g = N`
/// is now, `g = 1` a week ago.
const PG_FILL: &str = "
INSERT INTO specline_jobs (kind, queue, args, state, attempt, max_attempts, created_at,
  scheduled_at, attempted_at, finalized_at, tags, metadata, errors)
SELECT 'bench_kind_' || (g % 5), 'bench_q' || (g % 3),
  jsonb_build_object('n', g, 'repository', 'https://example.com/r' || (g % 1000) || '.git'),
  st, CASE WHEN st = 'available' THEN 0 ELSE 1 END, 3, t, t,
  CASE WHEN st = 'available' THEN NULL ELSE t + make_interval(secs => (g % 97) / 10.0) END,
  CASE WHEN st IN ('completed', 'discarded') THEN t + make_interval(secs => 1 + (g % 97) / 10.0) END,
  CASE WHEN g % 7 = 0 THEN ARRAY['red'] ELSE ARRAY[]::text[] END,
  jsonb_build_object('owner', 'o' || (g % 50)),
  CASE WHEN st IN ('discarded', 'retryable') THEN
    jsonb_build_array(jsonb_build_object('attempt', 1, 'at', t, 'code', 'BENCH', 'message', 'failed on purpose', 'worker', 'w1'))
  ELSE '[]'::jsonb END
FROM (SELECT g, now() - make_interval(secs => ($2 - g) * $3 / $2) AS t,
        CASE WHEN g % 1000 = 0 THEN 'discarded' WHEN g % 1000 = 1 THEN 'retryable'
             WHEN g > $2 - 2000 AND g % 4 = 0 THEN 'available' ELSE 'completed' END AS st
      FROM generate_series($1::bigint, least($1 + $4 - 1, $2)) g) s";

const SQLITE_FILL: &str = "
WITH RECURSIVE gs(g) AS (SELECT ?1 UNION ALL SELECT g + 1 FROM gs WHERE g < min(?1 + ?4 - 1, ?2)),
s AS (SELECT g, ?5 - CAST((?2 - g) * ?3 / ?2 * 1000000 AS INTEGER) AS t,
        CASE WHEN g % 1000 = 0 THEN 'discarded' WHEN g % 1000 = 1 THEN 'retryable'
             WHEN g > ?2 - 2000 AND g % 4 = 0 THEN 'available' ELSE 'completed' END AS st FROM gs)
INSERT INTO specline_jobs (kind, queue, args, state, attempt, max_attempts, created_at,
  scheduled_at, attempted_at, finalized_at, tags, metadata, errors)
SELECT 'bench_kind_' || (g % 5), 'bench_q' || (g % 3),
  json_object('n', g, 'repository', 'https://example.com/r' || (g % 1000) || '.git'),
  st, CASE WHEN st = 'available' THEN 0 ELSE 1 END, 3, t, t,
  CASE WHEN st = 'available' THEN NULL ELSE t + (g % 97) * 100000 END,
  CASE WHEN st IN ('completed', 'discarded') THEN t + 1000000 + (g % 97) * 100000 END,
  CASE WHEN g % 7 = 0 THEN '[\"red\"]' ELSE '[]' END,
  json_object('owner', 'o' || (g % 50)),
  CASE WHEN st IN ('discarded', 'retryable') THEN
    json_array(json_object('attempt', 1, 'at', strftime('%Y-%m-%dT%H:%M:%SZ', t / 1000000, 'unixepoch'), 'code', 'BENCH', 'message', 'failed on purpose', 'worker', 'w1'))
  ELSE '[]' END
FROM s";

pub async fn run(args: &BenchArgs, db: &DbArgs, dbs: Databases) -> anyhow::Result<()> {
    fill_unless_full(args.jobs, db, &dbs).await?;

    let state = crate::bench_api::api_state(&dbs);
    let (base, server) = crate::bench_api::serve(specline_web::with_api(state)).await?;
    let token = specline_app::tokens::generate();
    dbs.api
        .create_token(&NewApiToken {
            owner: "bench-admin".into(),
            admin: true,
            hash: token.hash.clone(),
            label: None,
            expires_at: None,
        })
        .await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = format!("specline_session={}", token.plaintext);

    // Ids to page from and to open: a job in the middle of the table, a discarded one.
    let some = dbs
        .jobs
        .list_jobs(&specline_queue::JobFilter {
            limit: 1,
            state: Some(specline_queue::JobState::Discarded),
            ..Default::default()
        })
        .await?;
    let discarded = some.first().map_or(1, |j| j.id);
    let max_id = dbs
        .jobs
        .list_jobs(&specline_queue::JobFilter {
            limit: 1,
            ..Default::default()
        })
        .await?
        .first()
        .map_or(1, |j| j.id);
    let pages = [
        (
            "jobs dashboard (counts, charts, newest 50)",
            "/admin/jobs".to_string(),
        ),
        (
            "jobs filtered by kind",
            "/admin/jobs?kind=bench_kind_3".to_string(),
        ),
        (
            "jobs filtered by queue+state",
            "/admin/jobs?queue=bench_q1&state=discarded".to_string(),
        ),
        ("jobs filtered by tag", "/admin/jobs?tag=red".to_string()),
        (
            "jobs filtered by args",
            "/admin/jobs?args=%7B%22repository%22%3A%22https%3A%2F%2Fexample.com%2Fr7.git%22%7D"
                .to_string(),
        ),
        (
            "jobs page in the middle (keyset)",
            format!("/admin/jobs?before={}", max_id / 2),
        ),
        ("job detail", format!("/admin/jobs/{discarded}")),
        ("queues", "/admin/queues".to_string()),
        ("runs", "/admin/runs".to_string()),
    ];
    println!("page                                          median    min      max   (ms, {ROUNDS} requests after 1 warm-up)");
    for (name, path) in pages {
        let mut times = Vec::new();
        for round in 0..=ROUNDS {
            let started = Instant::now();
            let r = http
                .get(format!("{base}{path}"))
                .header("Cookie", &cookie)
                .send()
                .await?;
            let status = r.status();
            let body = r.bytes().await?;
            let took = started.elapsed();
            if !status.is_success() {
                anyhow::bail!("{path}: HTTP {status}");
            }
            if round > 0 {
                times.push(took);
            }
            let _ = body;
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name:<44} {:>7.1} {:>7.1} {:>8.1}",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    }
    server.abort();
    Ok(())
}

/// Fill the table with `n` jobs, unless it holds about that many already (`--keep`).
pub(crate) async fn fill_unless_full(n: u64, db: &DbArgs, dbs: &Databases) -> anyhow::Result<()> {
    let have = dbs
        .jobs
        .stats()
        .job_counts()
        .await
        .map(|c| c.total_estimate)?;
    if have >= n as i64 * 9 / 10 {
        println!("reusing the table: ≈{have} jobs");
    } else {
        let started = Instant::now();
        fill(db, n).await?;
        println!(
            "filled {n} jobs in {:.1}s (with ANALYZE/VACUUM)",
            started.elapsed().as_secs_f64()
        );
    }

    Ok(())
}

async fn fill(db: &DbArgs, n: u64) -> anyhow::Result<()> {
    match db.backend {
        BackendArg::Postgres => {
            let (client, conn) = tokio_postgres::connect(&db.database_url, tokio_postgres::NoTls)
                .await
                .context("connecting to PostgreSQL")?;
            let conn = tokio::spawn(conn);
            let schema = db.schema.clone().unwrap_or_else(|| "public".into());
            crate::scratch_schema::check_name(&schema)?;
            client
                .batch_execute(&format!("SET search_path TO \"{schema}\""))
                .await?;
            let mut from = 1i64;
            while from <= n as i64 {
                client
                    .execute(PG_FILL, &[&from, &(n as i64), &SPAN_SECS, &(BATCH as i64)])
                    .await?;
                from += BATCH as i64;
                eprint!("\rfilled {} of {n}", (from - 1).min(n as i64));
            }
            eprintln!();
            client.batch_execute("VACUUM ANALYZE specline_jobs").await?;
            drop(client);
            let _ = conn.await;
        }
        BackendArg::Sqlite => {
            let path = db.sqlite_path.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let conn = rusqlite::Connection::open(&path)?;
                conn.busy_timeout(Duration::from_secs(30))?;
                let now = chrono::Utc::now().timestamp_micros();
                let mut from = 1i64;
                while from <= n as i64 {
                    conn.execute(
                        SQLITE_FILL,
                        rusqlite::params![from, n as i64, SPAN_SECS, BATCH as i64, now],
                    )?;
                    from += BATCH as i64;
                    eprint!("\rfilled {} of {n}", (from - 1).min(n as i64));
                }
                eprintln!();
                conn.execute_batch("ANALYZE")?;
                Ok(())
            })
            .await??;
        }
    }
    Ok(())
}
