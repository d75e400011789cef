//! The PostgreSQL driver: the distributed engine.
//!
//! - Fetch claims as many due jobs as there are free slots with one `UPDATE … FROM (SELECT …
//!   FOR UPDATE SKIP LOCKED)` statement.
//! - Completions are applied in batches with one `UPDATE … FROM unnest(…)` statement.
//! - Wake-ups use LISTEN/NOTIFY on one channel per schema. The NOTIFY is part of the
//!   inserting statement (so it is sent exactly when the insert commits), and is sent at most
//!   once per queue per cooldown; a suppressed wake-up is sent when the cooldown ends.
//! - Every statement that maintenance runs checks the leader lease in the same statement
//!   (fencing), so a deposed leader cannot prune or rescue.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, Row};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_util::sync::CancellationToken;

use super::{
    Backend, Lease, MigrationStatus, PruneSpec, Rescue, StaleJob, StateCounts, StepInputs, Store,
    Wakeup,
};
use crate::clock;
use crate::error::{Error, Result};
use crate::job::{
    AttemptError, CancelOutcome, Completion, Fence, FetchedJob, Inserted, Job, JobFilter, JobState,
    NewJob, Outcome,
};
use crate::run::{
    EventStatus, Run, RunCancelOutcome, RunEvent, RunState, RunSubmission, StepCompletion,
    StepSpec, Submitted, RUN_CANCELLED,
};

/// Schema migrations, in order: version, name, SQL (one file each). Never edit one that has
/// shipped; add a new one.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "jobs, queues, workers, leader",
        include_str!("sql/postgres/0001_jobs_queues_workers_leader.sql"),
    ),
    (
        2,
        "pipelines: runs, events, checkpoints, results, idempotency",
        include_str!("sql/postgres/0002_pipelines.sql"),
    ),
    (
        3,
        "complete a pipeline step in one call",
        include_str!("sql/postgres/0003_complete_step.sql"),
    ),
    (
        4,
        "rescue credits for progress; jobs by run",
        include_str!("sql/postgres/0004_rescue_credits_jobs_by_run.sql"),
    ),
    (
        5,
        "dashboard indexes",
        include_str!("sql/postgres/0005_dashboard_indexes.sql"),
    ),
];

const JOB_COLUMNS: &str = "id, kind, queue, args::text, state, priority, attempt, max_attempts, \
    created_at, scheduled_at, attempted_at, finalized_at, attempted_by, errors::text, \
    metadata::text, tags, unique_key, cancel_requested_at IS NOT NULL";

/// How to reach PostgreSQL. Its `Debug` never shows the URL (it may hold a password).
#[derive(Clone)]
pub struct PgConfig {
    /// `postgres://user@host:port/db`.
    pub url: String,
    /// Schema holding the engine's tables (created by `migrate`). `None`: `public`.
    pub schema: Option<String>,
    /// Connections in the pool (the LISTEN connection is extra).
    pub pool_size: usize,
    /// At most one insert wake-up per queue within this time.
    pub notify_cooldown: Duration,
    /// PEM file of certificate authorities trusted for `sslmode=require`, besides the
    /// public web roots (a managed database's CA, or a private one).
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("notify_cooldown", &self.notify_cooldown)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl PgConfig {
    pub fn new(url: impl Into<String>) -> Self {
        PgConfig {
            url: url.into(),
            schema: None,
            pool_size: 16,
            notify_cooldown: Duration::from_millis(2),
            ca_file: None,
        }
    }
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n.max(1);
        self
    }
}

/// The connector of every connection: TLS with certificate and host name verification when
/// the URL says `sslmode=require`, plain otherwise.
///
/// Why not libpq's meaning of `prefer`/`require` (encrypt, verify nothing): encryption that
/// accepts any certificate stops a passive eavesdropper but not an active one, and a job
/// database carries credentials and tokens. So `require` here is libpq's `verify-full`, and
/// `prefer` (the default) stays plain rather than silently unverified.
fn tls_connector(
    pg_config: &mut tokio_postgres::Config,
    ca_file: Option<&std::path::Path>,
) -> Result<MakeRustlsConnect> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    use tokio_postgres::config::SslMode;
    if pg_config.get_ssl_mode() != SslMode::Require {
        pg_config.ssl_mode(SslMode::Disable);
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<std::result::Result<_, _>>())
            .map_err(|e| {
                Error::InvalidConfig(format!(
                    "database CA file {}: not a readable PEM certificate file ({e})",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "database CA file {} holds no certificate",
                path.display()
            )));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                Error::InvalidConfig(format!(
                    "database CA file {}: a certificate is unusable ({e})",
                    path.display()
                ))
            })?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Connections with `synchronous_commit = off`, used only to claim jobs.
    fetch_pool: Pool,
    pg_config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    schema: String,
    channel: String,
    events: broadcast::Sender<Wakeup>,
    listener_started: OnceLock<()>,
    /// True while the LISTEN connection is up (readiness probes report it).
    listening: Arc<AtomicBool>,
    shutdown: CancellationToken,
    limiter: Mutex<NotifyLimiter>,
    cooldown: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

#[derive(Default)]
struct NotifyLimiter {
    last: HashMap<String, Instant>,
    trailing: HashSet<String>,
}

fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 48
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

impl PgStore {
    /// Connect (lazily: the pool opens connections on demand).
    pub async fn connect(config: PgConfig) -> Result<PgStore> {
        let mut pg_config: tokio_postgres::Config =
            // The parser's message can quote part of the URL, password included: not shown.
            config.url.parse().map_err(|_: tokio_postgres::Error| {
                Error::InvalidConfig(
                    "the database URL is not a valid PostgreSQL connection string (not shown)"
                        .into(),
                )
            })?;
        let tls = tls_connector(&mut pg_config, config.ca_file.as_deref())?;
        let schema = config
            .schema
            .clone()
            .unwrap_or_else(|| "public".to_string());
        if !valid_identifier(&schema) {
            return Err(Error::InvalidConfig(format!(
                "schema name `{schema}` must be 1-48 ASCII letters, digits or underscores"
            )));
        }
        // Keep any `options` the URL already carries; add the schema's search path.
        let mut base_options = pg_config.get_options().unwrap_or_default().to_string();
        if config.schema.is_some() {
            base_options = format!("{base_options} -c search_path={schema}")
                .trim()
                .to_string();
        }
        pg_config.options(&base_options);
        if pg_config.get_application_name().is_none() {
            pg_config.application_name("specline");
        }
        let mgr = Manager::from_config(
            pg_config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(config.pool_size)
            .build()
            .map_err(|e| Error::Pool(e.to_string()))?;
        // Claiming jobs commits without waiting for the WAL flush: if the database crashes
        // before the flush, the claim is lost and the job is simply pending again (it was
        // never recorded as done). That takes an fsync off the enqueue-to-start path.
        let mut fetch_config = pg_config.clone();
        fetch_config.options(format!("{base_options} -c synchronous_commit=off").trim());
        let fetch_pool = Pool::builder(Manager::from_config(
            fetch_config,
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        ))
        .max_size((config.pool_size / 2).max(2))
        .build()
        .map_err(|e| Error::Pool(e.to_string()))?;
        let (events, _) = broadcast::channel(4096);
        Ok(PgStore {
            inner: Arc::new(Inner {
                pool,
                fetch_pool,
                pg_config,
                tls,
                channel: format!("specline_{schema}"),
                schema,
                events,
                listener_started: OnceLock::new(),
                listening: Arc::new(AtomicBool::new(false)),
                shutdown: CancellationToken::new(),
                limiter: Mutex::new(NotifyLimiter::default()),
                cooldown: config.notify_cooldown,
            }),
        })
    }

    /// The pool, for applications that want to share it (e.g. to insert in their own transaction).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The schema of the engine's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// Insert jobs inside the caller's transaction: they become visible (and workers are woken)
    /// only when the caller commits, together with the caller's own writes.
    pub async fn insert_tx(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        jobs: Vec<NewJob>,
    ) -> Result<Vec<Inserted>> {
        let queues: Vec<String> = distinct_queues(&jobs);
        let stmt = tx.prepare(INSERT_SQL).await?;
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(INSERT_CHUNK) {
            out.extend(insert_rows(tx, &stmt, chunk, &self.inner.channel, &queues).await?);
        }
        Ok(out)
    }

    /// Whether `fence` holds: the job is still running that attempt. The job's row stays
    /// share-locked until `tx` ends, so the attempt cannot be rescued or recorded before the
    /// caller's own writes in `tx` commit: check it, then write, in one transaction.
    pub async fn holds_fence(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        fence: Fence,
    ) -> Result<bool> {
        let row = tx
            .query_opt(
                "SELECT 1 FROM specline_jobs WHERE id = $1 AND attempt = $2 AND state = 'running'
                 FOR SHARE",
                &[&fence.job_id, &fence.attempt],
            )
            .await?;
        Ok(row.is_some())
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.inner.pool.get().await?)
    }

    /// Decide which queues may be notified now; schedule a trailing wake-up for the others.
    fn queues_to_notify(&self, jobs: &[NewJob]) -> Vec<String> {
        let now = Instant::now();
        let cooldown = self.inner.cooldown;
        let mut notify = Vec::new();
        let mut trailing = Vec::new();
        {
            let Ok(mut lim) = self.inner.limiter.lock() else {
                return distinct_queues(jobs);
            };
            for q in distinct_queues(jobs) {
                match lim.last.get(&q).copied() {
                    Some(t) if now.duration_since(t) < cooldown => {
                        if lim.trailing.insert(q.clone()) {
                            trailing.push((q, cooldown - now.duration_since(t)));
                        }
                    }
                    _ => {
                        lim.last.insert(q.clone(), now);
                        notify.push(q);
                    }
                }
            }
        }
        for (q, wait) in trailing {
            let store = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                if let Ok(mut lim) = store.inner.limiter.lock() {
                    lim.trailing.remove(&q);
                    lim.last.insert(q.clone(), Instant::now());
                }
                if let Ok(c) = store.client().await {
                    let _ = c
                        .execute(
                            "SELECT pg_notify($1, $2)",
                            &[&store.inner.channel, &format!("i:{q}")],
                        )
                        .await;
                }
            });
        }
        notify
    }

    fn start_listener(&self) {
        if self.inner.listener_started.set(()).is_err() {
            return;
        }
        let cfg = self.inner.pg_config.clone();
        let tls = self.inner.tls.clone();
        let channel = self.inner.channel.clone();
        let tx = self.inner.events.clone();
        let stop = self.inner.shutdown.clone();
        let listening = self.inner.listening.clone();
        tokio::spawn(async move {
            let mut first = true;
            loop {
                if stop.is_cancelled() {
                    return;
                }
                match cfg.connect(tls.clone()).await {
                    Ok((client, mut conn)) => {
                        let mut messages =
                            futures::stream::poll_fn(move |cx| conn.poll_message(cx));
                        let listen_sql = format!("LISTEN \"{channel}\"");
                        let ok = {
                            let listen = client.batch_execute(&listen_sql);
                            // Drive the connection while LISTEN runs.
                            tokio::pin!(listen);
                            loop {
                                tokio::select! {
                                    r = &mut listen => break r.is_ok(),
                                    m = messages.next() => if m.is_none() { break false },
                                }
                            }
                        };
                        if ok {
                            if !first {
                                let _ = tx.send(Wakeup::Resync);
                            }
                            first = false;
                            listening.store(true, Ordering::Relaxed);
                            loop {
                                tokio::select! {
                                    _ = stop.cancelled() => return,
                                    m = messages.next() => match m {
                                        Some(Ok(AsyncMessage::Notification(n))) => {
                                            if let Some(ev) = parse_event(n.payload()) {
                                                let _ = tx.send(ev);
                                            }
                                        }
                                        Some(Ok(_)) => {}
                                        Some(Err(e)) => {
                                            tracing::warn!(error = %e, "specline LISTEN connection failed; reconnecting");
                                            break;
                                        }
                                        None => break,
                                    }
                                }
                            }
                        }
                        listening.store(false, Ordering::Relaxed);
                        drop(client);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "specline LISTEN connection could not connect; retrying");
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        });
    }

    async fn notify(&self, payload: String) -> Result<()> {
        let c = self.client().await?;
        c.execute("SELECT pg_notify($1, $2)", &[&self.inner.channel, &payload])
            .await?;
        Ok(())
    }
}

fn parse_event(payload: &str) -> Option<Wakeup> {
    let (tag, rest) = payload.split_once(':')?;
    match tag {
        "i" => Some(Wakeup::Inserted(rest.to_string())),
        "c" => rest.parse().ok().map(Wakeup::CancelRequested),
        "q" => Some(Wakeup::QueueChanged(rest.to_string())),
        "e" => rest.parse().ok().map(Wakeup::RunEvent),
        _ => None,
    }
}

fn distinct_queues(jobs: &[NewJob]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for j in jobs {
        if !out.contains(&j.queue) {
            out.push(j.queue.clone());
        }
    }
    out
}

/// Rows per insert statement: keeps each statement's parameter arrays to a sane size.
const INSERT_CHUNK: usize = 10_000;

const INSERT_SQL: &str = r#"
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::int[],
                       $6::timestamptz[], $7::text[], $8::int[], $9::text[], $10::text[])
    AS t(kind, queue, args, priority, max_attempts, scheduled_at, unique_key, unique_states, metadata, tags)
), ins AS (
  INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts, scheduled_at,
                             unique_key, unique_states, metadata, tags)
  SELECT kind, queue, args::jsonb,
         CASE WHEN scheduled_at > now() THEN 'scheduled' ELSE 'available' END,
         priority, max_attempts, COALESCE(scheduled_at, now()),
         unique_key, unique_states, metadata::jsonb,
         ARRAY(SELECT jsonb_array_elements_text(tags::jsonb))
  FROM input
  ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND (unique_states & specline_state_bit(state)) <> 0
  DO UPDATE SET unique_key = EXCLUDED.unique_key
  RETURNING id, unique_key, (xmax <> 0) AS duplicate, queue, state
), woke AS (
  SELECT pg_notify($11, 'i:' || q) FROM unnest($12::text[]) AS q
  WHERE q IN (SELECT queue FROM ins WHERE NOT duplicate AND state = 'available')
)
SELECT id, unique_key, duplicate, (SELECT count(*) FROM woke) FROM ins
"#;

/// Insert with one statement; the result is mapped back to input order.
async fn insert_rows<C: tokio_postgres::GenericClient>(
    client: &C,
    stmt: &tokio_postgres::Statement,
    jobs: &[NewJob],
    channel: &str,
    notify_queues: &[String],
) -> Result<Vec<Inserted>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    // Within one statement a row may be touched once: collapse repeated unique keys first.
    let mut first_of_key: HashMap<&str, usize> = HashMap::new();
    let mut send: Vec<usize> = Vec::with_capacity(jobs.len());
    let mut alias: Vec<Option<usize>> = vec![None; jobs.len()];
    for (i, j) in jobs.iter().enumerate() {
        if let Some(k) = j.unique_key.as_deref() {
            if let Some(&first) = first_of_key.get(k) {
                alias[i] = Some(first);
                continue;
            }
            first_of_key.insert(k, i);
        }
        send.push(i);
    }
    let n = send.len();
    let mut kinds = Vec::with_capacity(n);
    let mut queues = Vec::with_capacity(n);
    let mut args = Vec::with_capacity(n);
    let mut prios = Vec::with_capacity(n);
    let mut maxes = Vec::with_capacity(n);
    let mut sched: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
    let mut ukeys: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut ustates = Vec::with_capacity(n);
    let mut metas = Vec::with_capacity(n);
    let mut tags = Vec::with_capacity(n);
    for &i in &send {
        let j = &jobs[i];
        kinds.push(j.kind.as_str());
        queues.push(j.queue.as_str());
        args.push(j.args.to_string());
        prios.push(j.priority);
        maxes.push(j.max_attempts);
        sched.push(j.scheduled_at);
        ukeys.push(j.unique_key.as_deref());
        ustates.push(j.unique_states);
        metas.push(j.metadata.to_string());
        tags.push(serde_json::to_string(&j.tags).unwrap_or_else(|_| "[]".into()));
    }
    let rows = client
        .query(
            stmt,
            &[
                &kinds,
                &queues,
                &args,
                &prios,
                &maxes,
                &sched,
                &ukeys,
                &ustates,
                &metas,
                &tags,
                &channel,
                &notify_queues,
            ],
        )
        .await?;
    let mut by_key: HashMap<String, Inserted> = HashMap::new();
    let mut plain: Vec<i64> = Vec::new();
    for r in &rows {
        let id: i64 = r.get(0);
        let key: Option<String> = r.get(1);
        let duplicate: bool = r.get(2);
        match key {
            Some(k) => {
                by_key.insert(k, Inserted { id, duplicate });
            }
            None => plain.push(id),
        }
    }
    // Identity values are drawn in input order, so ascending ids map to input order.
    plain.sort_unstable();
    let mut plain = plain.into_iter();
    let mut out: Vec<Option<Inserted>> = vec![None; jobs.len()];
    for &i in &send {
        let got = match jobs[i].unique_key.as_deref() {
            Some(k) => by_key.get(k).copied(),
            None => plain.next().map(|id| Inserted {
                id,
                duplicate: false,
            }),
        };
        out[i] = got;
    }
    for i in 0..jobs.len() {
        if let Some(first) = alias[i] {
            out[i] = out[first].map(|ins| Inserted {
                id: ins.id,
                duplicate: true,
            });
        }
    }
    out.into_iter()
        .map(|o| o.ok_or_else(|| Error::Corrupt("insert returned fewer rows than sent".into())))
        .collect()
}

const FETCH_SQL: &str = r#"
WITH picked AS (
  SELECT id FROM specline_jobs
  WHERE queue = $1 AND state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= now()
    AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = $1 AND q.paused)
  ORDER BY priority, scheduled_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE specline_jobs j
SET state = 'running', attempt = j.attempt + 1, attempted_at = now(),
    attempted_by = array_append(j.attempted_by, $3)
FROM picked WHERE j.id = picked.id
RETURNING j.id, j.kind, j.args::text, j.attempt, j.max_attempts, j.priority,
          j.created_at, j.scheduled_at, j.metadata::text
"#;

const FETCH_RUN_SQL: &str = r#"
WITH picked AS (
  SELECT id FROM specline_jobs
  WHERE queue = $1 AND run_id = $4 AND state IN ('available', 'scheduled', 'retryable')
    AND scheduled_at <= now()
    AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = $1 AND q.paused)
  ORDER BY priority, scheduled_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE specline_jobs j
SET state = 'running', attempt = j.attempt + 1, attempted_at = now(),
    attempted_by = array_append(j.attempted_by, $3)
FROM picked WHERE j.id = picked.id
RETURNING j.id, j.kind, j.args::text, j.attempt, j.max_attempts, j.priority,
          j.created_at, j.scheduled_at, j.metadata::text
"#;

/// Running jobs of workers whose heartbeat is older than `$3` seconds (or that have no row).
const STALE_WORKER: &str = "NOT EXISTS (
   SELECT 1 FROM specline_workers w
   WHERE w.id = j.attempted_by[cardinality(j.attempted_by)]
     AND w.heartbeat_at > now() - make_interval(secs => $3))";

const COMPLETE_FAST_SQL: &str = r#"
UPDATE specline_jobs j SET state = 'completed', finalized_at = now()
FROM unnest($1::bigint[], $2::int[]) AS u(id, attempt)
WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running'
"#;

const COMPLETE_SQL: &str = r#"
UPDATE specline_jobs j SET
  state = u.state,
  scheduled_at = COALESCE(u.run_at, j.scheduled_at),
  finalized_at = CASE WHEN u.state IN ('completed', 'cancelled', 'discarded') THEN now() END,
  errors = CASE WHEN u.error IS NULL THEN j.errors ELSE j.errors || jsonb_build_array(u.error::jsonb) END,
  attempt = j.attempt - u.uncount
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::int[])
  AS u(id, attempt, state, run_at, error, uncount)
WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running'
RETURNING j.queue, u.state
"#;

const RUN_COLUMNS: &str = "id, pipeline, owner, state, steps::text, input::text, current_step, \
    stage, progress, last_seq, error_code, error_message, created_at, finished_at";

fn run_from_row(r: &Row) -> Result<Run> {
    Ok(Run {
        id: r.get(0),
        pipeline: r.get(1),
        owner: r.get(2),
        state: RunState::parse(r.get(3))?,
        steps: serde_json::from_str(r.get::<_, &str>(4))
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        input: serde_json::from_str(r.get::<_, &str>(5))
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        current_step: r.get(6),
        stage: r.get(7),
        progress: r.get(8),
        last_seq: r.get(9),
        error_code: r.get(10),
        error_message: r.get(11),
        created_at: r.get(12),
        finished_at: r.get(13),
    })
}

const COMPLETE_STEP_SQL: &str =
    "SELECT specline_complete_step($1, $2, $3, $4, $5::text::jsonb, $6, $7)";

/// The step completions of a batch in one transaction: one commit for all of them, the
/// calls pipelined on the connection.
async fn complete_steps(
    c: &mut deadpool_postgres::Object,
    steps: &[&Completion],
    channel: &str,
) -> Result<usize> {
    let params: Vec<(i64, i32, i64, i32, String, f64)> = steps
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::StepDone(s) => Some((
                s.job_id,
                s.attempt,
                s.run_id,
                s.step_index as i32,
                s.output.to_string(),
                clock::bounded(s.result_ttl).as_secs_f64(),
            )),
            _ => None,
        })
        .collect();
    let tx = c.transaction().await?;
    let stmt = tx.prepare_cached(COMPLETE_STEP_SQL).await?;
    type Param<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);
    let bound: Vec<[Param<'_>; 7]> = params
        .iter()
        .map(|(job, attempt, run, index, output, ttl)| {
            [job as Param<'_>, attempt, run, index, output, ttl, &channel]
        })
        .collect();
    let calls = bound.iter().map(|p| tx.query_one(&stmt, p));
    let rows = futures::future::try_join_all(calls).await?;
    tx.commit().await?;
    Ok(rows.iter().filter(|r| r.get::<_, bool>(0)).count())
}

fn fetched_from_row(r: &Row, queue: &str) -> FetchedJob {
    FetchedJob {
        id: r.get(0),
        kind: r.get(1),
        queue: queue.to_string(),
        args: r.get(2),
        attempt: r.get(3),
        max_attempts: r.get(4),
        priority: r.get(5),
        created_at: r.get(6),
        scheduled_at: r.get(7),
        metadata: r.get(8),
    }
}

fn job_from_row(r: &Row) -> Result<Job> {
    let args: String = r.get(3);
    let errors: String = r.get(13);
    let metadata: String = r.get(14);
    Ok(Job {
        id: r.get(0),
        kind: r.get(1),
        queue: r.get(2),
        args: serde_json::from_str(&args).map_err(|e| Error::Corrupt(e.to_string()))?,
        state: JobState::parse(r.get(4))?,
        priority: r.get(5),
        attempt: r.get(6),
        max_attempts: r.get(7),
        created_at: r.get(8),
        scheduled_at: r.get(9),
        attempted_at: r.get(10),
        finalized_at: r.get(11),
        attempted_by: r.get(12),
        errors: serde_json::from_str::<Vec<AttemptError>>(&errors)
            .map_err(|e| Error::Corrupt(format!("errors of job: {e}")))?,
        metadata: serde_json::from_str(&metadata).map_err(|e| Error::Corrupt(e.to_string()))?,
        tags: r.get(15),
        unique_key: r.get(16),
        cancel_requested: r.get(17),
    })
}

fn lease_cte() -> &'static str {
    "lease AS (SELECT 1 FROM specline_leader WHERE name = 'default' AND holder = $1 AND term = $2 AND expires_at > now())"
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    fn stats(&self) -> &dyn crate::stats::JobStats {
        self
    }

    fn wakeups_alive(&self) -> bool {
        self.inner.listener_started.get().is_none() || self.inner.listening.load(Ordering::Relaxed)
    }

    async fn migrate(&self) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('specline_migrate:' || $1))",
            &[&self.inner.schema],
        )
        .await?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{0}\";
             CREATE TABLE IF NOT EXISTS \"{0}\".specline_migrations (
               version integer PRIMARY KEY, name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())",
            self.inner.schema
        ))
        .await?;
        let row = tx
            .query_one(
                "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                &[],
            )
            .await?;
        let current: i32 = row.get(0);
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > latest {
            return Err(Error::SchemaMismatch(format!(
                "database schema is at version {current}, newer than this build ({latest}); upgrade specline"
            )));
        }
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO specline_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await?;
            tracing::info!(version, name, "applied migration");
        }
        tx.commit().await?;
        Ok(())
    }

    async fn migration_status(&self) -> Result<MigrationStatus> {
        let c = self.client().await?;
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        let exists: bool = c
            .query_one(
                "SELECT to_regclass(current_schema() || '.specline_migrations') IS NOT NULL",
                &[],
            )
            .await?
            .get(0);
        let current = if exists {
            c.query_one(
                "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                &[],
            )
            .await?
            .get(0)
        } else {
            0
        };
        Ok(MigrationStatus { current, latest })
    }

    async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        let notify = self.queues_to_notify(&jobs);
        let c = self.client().await?;
        let stmt = c.prepare_cached(INSERT_SQL).await?;
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(INSERT_CHUNK) {
            out.extend(insert_rows(&**c, &stmt, chunk, &self.inner.channel, &notify).await?);
        }
        Ok(out)
    }

    async fn fetch(&self, queue: &str, limit: usize, worker: &str) -> Result<Vec<FetchedJob>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let c = self.inner.fetch_pool.get().await?;
        let stmt = c.prepare_cached(FETCH_SQL).await?;
        let limit = limit as i64;
        let rows = c.query(&stmt, &[&queue, &limit, &worker]).await?;
        Ok(rows.iter().map(|r| fetched_from_row(r, queue)).collect())
    }

    async fn fetch_run(
        &self,
        queue: &str,
        limit: usize,
        worker: &str,
        run_id: i64,
    ) -> Result<Vec<FetchedJob>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let c = self.inner.fetch_pool.get().await?;
        let stmt = c.prepare_cached(FETCH_RUN_SQL).await?;
        let limit = limit as i64;
        let rows = c.query(&stmt, &[&queue, &limit, &worker, &run_id]).await?;
        Ok(rows.iter().map(|r| fetched_from_row(r, queue)).collect())
    }

    async fn complete(&self, batch: &[Completion]) -> Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut c = self.client().await?;
        let mut applied = 0;
        let (steps, rest): (Vec<&Completion>, Vec<&Completion>) = batch
            .iter()
            .partition(|c| matches!(c.outcome, Outcome::StepDone(_)));
        if !steps.is_empty() {
            applied += complete_steps(&mut c, &steps, &self.inner.channel).await?;
        }
        let (fast, slow): (Vec<&Completion>, Vec<&Completion>) = rest
            .into_iter()
            .partition(|c| matches!(c.outcome, Outcome::Completed));
        if !fast.is_empty() {
            let ids: Vec<i64> = fast.iter().map(|c| c.id).collect();
            let attempts: Vec<i32> = fast.iter().map(|c| c.attempt).collect();
            let stmt = c.prepare_cached(COMPLETE_FAST_SQL).await?;
            applied += c.execute(&stmt, &[&ids, &attempts]).await? as usize;
        }
        if !slow.is_empty() {
            let ids: Vec<i64> = slow.iter().map(|c| c.id).collect();
            let attempts: Vec<i32> = slow.iter().map(|c| c.attempt).collect();
            let states: Vec<&str> = slow.iter().map(|c| c.outcome.state().as_str()).collect();
            let run_at: Vec<Option<DateTime<Utc>>> =
                slow.iter().map(|c| c.outcome.run_at()).collect();
            let errors: Vec<Option<String>> = slow
                .iter()
                .map(|c| {
                    c.outcome
                        .error()
                        .and_then(|e| serde_json::to_string(e).ok())
                })
                .collect();
            let uncount: Vec<i32> = slow
                .iter()
                .map(|c| i32::from(c.outcome.uncounts_attempt()))
                .collect();
            let stmt = c.prepare_cached(COMPLETE_SQL).await?;
            let rows = c
                .query(
                    &stmt,
                    &[&ids, &attempts, &states, &run_at, &errors, &uncount],
                )
                .await?;
            applied += rows.len();
        }
        Ok(applied)
    }

    async fn register_worker(&self, worker: &str, queues: &[String]) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_workers (id, queues) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET queues = EXCLUDED.queues, heartbeat_at = now()",
            &[&worker, &queues],
        )
        .await?;
        Ok(())
    }

    async fn heartbeat(&self, worker: &str) -> Result<Vec<i64>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "WITH hb AS (
                   INSERT INTO specline_workers (id, queues) VALUES ($1, '{}')
                   ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
                 )
                 SELECT id FROM specline_jobs
                 WHERE state = 'running' AND cancel_requested_at IS NOT NULL
                   AND attempted_by[cardinality(attempted_by)] = $1",
                &[&worker],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn deregister_worker(&self, worker: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute("DELETE FROM specline_workers WHERE id = $1", &[&worker])
            .await?;
        Ok(())
    }

    async fn try_lead(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>> {
        let c = self.client().await?;
        let secs = clock::bounded(ttl).as_secs_f64();
        let row = c
            .query_opt(
                "INSERT INTO specline_leader (name, holder, term, elected_at, expires_at)
                 VALUES ('default', $1, 1, now(), now() + make_interval(secs => $2))
                 ON CONFLICT (name) DO UPDATE SET
                   holder = EXCLUDED.holder,
                   term = CASE WHEN specline_leader.holder = EXCLUDED.holder
                                AND specline_leader.expires_at > now()
                               THEN specline_leader.term ELSE specline_leader.term + 1 END,
                   elected_at = CASE WHEN specline_leader.holder = EXCLUDED.holder
                                      AND specline_leader.expires_at > now()
                                     THEN specline_leader.elected_at ELSE now() END,
                   expires_at = EXCLUDED.expires_at
                 WHERE specline_leader.holder = EXCLUDED.holder OR specline_leader.expires_at <= now()
                 RETURNING term",
                &[&holder, &secs],
            )
            .await?;
        Ok(row.map(|r| Lease {
            holder: holder.to_string(),
            term: r.get(0),
        }))
    }

    async fn resign(&self, lease: &Lease) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM specline_leader WHERE name = 'default' AND holder = $1 AND term = $2",
            &[&lease.holder, &lease.term],
        )
        .await?;
        Ok(())
    }

    async fn stale_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        limit: usize,
    ) -> Result<Vec<StaleJob>> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}
             SELECT j.id, j.attempt, j.max_attempts, j.cancel_requested_at IS NOT NULL,
                    COALESCE(j.attempted_by[cardinality(j.attempted_by)], ''), j.rescue_credits,
                    j.run_id IS NOT NULL AND EXISTS (
                      SELECT 1 FROM specline_checkpoints c
                      WHERE c.run_id = j.run_id AND c.step = j.kind AND c.key <> ''
                        AND c.updated_at > j.attempted_at)
             FROM specline_jobs j
             WHERE j.state = 'running' AND EXISTS (SELECT 1 FROM lease) AND {STALE_WORKER}
             ORDER BY j.id LIMIT $4",
            lease = lease_cte()
        );
        let rows = c
            .query(
                &sql,
                &[
                    &lease.holder,
                    &lease.term,
                    &clock::bounded(stale).as_secs_f64(),
                    &(limit as i64),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StaleJob {
                id: r.get(0),
                attempt: r.get(1),
                max_attempts: r.get(2),
                cancel_requested: r.get(3),
                worker: r.get(4),
                credits: r.get(5),
                progressed: r.get(6),
            })
            .collect())
    }

    async fn rescue_jobs(&self, lease: &Lease, stale: Duration, rescues: &[Rescue]) -> Result<u64> {
        if rescues.is_empty() {
            return Ok(0);
        }
        let c = self.client().await?;
        let ids: Vec<i64> = rescues.iter().map(|r| r.id).collect();
        let attempts: Vec<i32> = rescues.iter().map(|r| r.attempt).collect();
        let states: Vec<&str> = rescues.iter().map(|r| r.state.as_str()).collect();
        let credits: Vec<i32> = rescues.iter().map(|r| i32::from(r.credit)).collect();
        let errors: Vec<String> = rescues
            .iter()
            .map(|r| serde_json::to_string(&r.error).map_err(|e| Error::Corrupt(e.to_string())))
            .collect::<Result<_>>()?;
        let sql = format!(
            "WITH {lease}, moved AS (
               UPDATE specline_jobs j SET
                 state = u.state,
                 scheduled_at = now(),
                 finalized_at = CASE WHEN u.state IN ('cancelled', 'discarded') THEN now() END,
                 errors = j.errors || jsonb_build_array(u.error::jsonb),
                 max_attempts = j.max_attempts + u.credit,
                 rescue_credits = j.rescue_credits + u.credit
               FROM unnest($4::bigint[], $5::int[], $6::text[], $7::int[], $8::text[])
                 AS u(id, attempt, state, credit, error)
               WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running'
                 AND EXISTS (SELECT 1 FROM lease) AND {STALE_WORKER}
               RETURNING j.queue, j.state
             ), woke AS (
               SELECT pg_notify($9, 'i:' || q) FROM (SELECT DISTINCT queue AS q FROM moved WHERE state = 'retryable') x
             )
             SELECT count(*), (SELECT count(*) FROM woke) FROM moved",
            lease = lease_cte()
        );
        let row = c
            .query_one(
                &sql,
                &[
                    &lease.holder,
                    &lease.term,
                    &clock::bounded(stale).as_secs_f64(),
                    &ids,
                    &attempts,
                    &states,
                    &credits,
                    &errors,
                    &self.inner.channel,
                ],
            )
            .await?;
        let n: i64 = row.get(0);
        Ok(n as u64)
    }

    async fn prune_finished_runs(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, doomed AS (
               SELECT r.id FROM specline_runs r
               WHERE r.finished_at IS NOT NULL AND r.finished_at < $3 AND r.state <> 'running'
                 AND EXISTS (SELECT 1 FROM lease)
                 AND NOT EXISTS (SELECT 1 FROM specline_results x WHERE x.run_id = r.id AND x.expires_at > now())
                 AND NOT EXISTS (SELECT 1 FROM specline_idempotency i WHERE i.run_id = r.id AND i.expires_at > now())
                 AND NOT EXISTS (SELECT 1 FROM specline_jobs j WHERE j.run_id = r.id
                                   AND j.state NOT IN ('completed', 'cancelled', 'discarded'))
               LIMIT $4
             )
             DELETE FROM specline_runs WHERE id IN (SELECT id FROM doomed)",
            lease = lease_cte()
        );
        let n = c
            .execute(
                &sql,
                &[&lease.holder, &lease.term, &before, &(limit as i64)],
            )
            .await?;
        Ok(n)
    }

    async fn prune_workers(&self, lease: &Lease, before: DateTime<Utc>) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}
             DELETE FROM specline_workers w
             WHERE w.heartbeat_at < $3 AND EXISTS (SELECT 1 FROM lease)
               AND NOT EXISTS (SELECT 1 FROM specline_jobs j WHERE j.state = 'running'
                                 AND j.attempted_by[cardinality(j.attempted_by)] = w.id)",
            lease = lease_cte()
        );
        Ok(c.execute(&sql, &[&lease.holder, &lease.term, &before])
            .await?)
    }

    async fn prune(&self, lease: &Lease, spec: PruneSpec) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, doomed AS (
               SELECT id FROM specline_jobs
               WHERE finalized_at IS NOT NULL AND finalized_at < GREATEST($3::timestamptz, $4::timestamptz, $5::timestamptz)
                 AND ((state = 'completed' AND finalized_at < $3)
                   OR (state = 'cancelled' AND finalized_at < $4)
                   OR (state = 'discarded' AND finalized_at < $5))
                 AND EXISTS (SELECT 1 FROM lease)
               LIMIT $6
             )
             DELETE FROM specline_jobs WHERE id IN (SELECT id FROM doomed)",
            lease = lease_cte()
        );
        let limit = spec.limit as i64;
        let n = c
            .execute(
                &sql,
                &[
                    &lease.holder,
                    &lease.term,
                    &spec.completed_before,
                    &spec.cancelled_before,
                    &spec.discarded_before,
                    &limit,
                ],
            )
            .await?;
        Ok(n)
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM specline_jobs WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        f.validate()?;
        let c = self.client().await?;
        let limit = if f.limit == 0 { 100 } else { f.limit } as i64;
        let state = f.state.map(|s| s.as_str());
        let rows = c
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM specline_jobs
                     WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR kind = $2)
                       AND ($3::text IS NULL OR state = $3) AND tags @> $5::text[]
                       AND ($6::jsonb IS NULL OR args @> $6::jsonb)
                       AND ($7::jsonb IS NULL OR metadata @> $7::jsonb)
                       AND ($8::bigint IS NULL OR id < $8)
                     ORDER BY id DESC LIMIT $4"
                ),
                &[
                    &f.queue,
                    &f.kind,
                    &state,
                    &limit,
                    &f.tags,
                    &f.args,
                    &f.metadata,
                    &f.before_id,
                ],
            )
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn count_by_state(&self, queue: Option<&str>) -> Result<StateCounts> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT state, count(*) FROM specline_jobs WHERE ($1::text IS NULL OR queue = $1)
                 GROUP BY state ORDER BY state",
                &[&queue],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((JobState::parse(r.get(0))?, r.get::<_, i64>(1))))
            .collect()
    }

    async fn cancel(&self, id: i64) -> Result<CancelOutcome> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "WITH old AS (SELECT state FROM specline_jobs WHERE id = $1 FOR UPDATE),
                 upd AS (
                   UPDATE specline_jobs j SET
                     state = CASE WHEN j.state = 'running' THEN 'running' ELSE 'cancelled' END,
                     finalized_at = CASE WHEN j.state = 'running' THEN NULL ELSE now() END,
                     cancel_requested_at = now()
                   WHERE j.id = $1 AND j.state NOT IN ('completed', 'cancelled', 'discarded')
                   RETURNING j.state
                 ), woke AS (
                   SELECT pg_notify($2, 'c:' || $1::text) WHERE EXISTS (SELECT 1 FROM upd WHERE state = 'running')
                 )
                 SELECT (SELECT state FROM old), (SELECT state FROM upd), (SELECT count(*) FROM woke)",
                &[&id, &self.inner.channel],
            )
            .await?;
        let Some(row) = row else {
            return Err(Error::JobNotFound(id));
        };
        let old: Option<String> = row.get(0);
        let new: Option<String> = row.get(1);
        match (old, new) {
            (None, _) => Err(Error::JobNotFound(id)),
            (Some(_), Some(n)) if n == "running" => Ok(CancelOutcome::Requested),
            (Some(_), Some(_)) => Ok(CancelOutcome::Cancelled),
            (Some(o), None) => Ok(CancelOutcome::AlreadyFinal(JobState::parse(&o)?)),
        }
    }

    async fn retry(&self, id: i64) -> Result<Job> {
        let c = self.client().await?;
        let res = c
            .query_opt(
                &format!(
                    "WITH upd AS (
                       UPDATE specline_jobs SET state = 'available', scheduled_at = now(), finalized_at = NULL,
                         cancel_requested_at = NULL, max_attempts = GREATEST(max_attempts, attempt + 1)
                       WHERE id = $1 AND state <> 'running' RETURNING *
                     ), woke AS (SELECT pg_notify($2, 'i:' || queue) FROM upd)
                     SELECT {JOB_COLUMNS}, (SELECT count(*) FROM woke) FROM upd"
                ),
                &[&id, &self.inner.channel],
            )
            .await;
        match res {
            Ok(Some(row)) => job_from_row(&row),
            Ok(None) => match self.get_job(id).await? {
                None => Err(Error::JobNotFound(id)),
                Some(j) => Err(Error::InvalidState(format!(
                    "job {id} is {}; cancel it before retrying",
                    j.state
                ))),
            },
            Err(e) if is_unique_violation(&e) => Err(Error::UniqueConflict(format!(
                "job {id} cannot run again: another live job holds its unique key"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn discard(&self, id: i64) -> Result<Job> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "UPDATE specline_jobs SET state = 'discarded', finalized_at = now()
                     WHERE id = $1 AND state <> 'running' RETURNING {JOB_COLUMNS}"
                ),
                &[&id],
            )
            .await?;
        match row {
            Some(r) => job_from_row(&r),
            None => match self.get_job(id).await? {
                None => Err(Error::JobNotFound(id)),
                Some(_) => Err(Error::InvalidState(format!(
                    "job {id} is running; cancel it instead of discarding"
                ))),
            },
        }
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_queues (name, paused, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (name) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now()",
            &[&queue, &paused],
        )
        .await?;
        self.notify(format!("q:{queue}")).await?;
        if !paused {
            self.notify(format!("i:{queue}")).await?;
        }
        Ok(())
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT name FROM specline_queues WHERE paused ORDER BY name",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn wakeups(&self) -> broadcast::Receiver<Wakeup> {
        let rx = self.inner.events.subscribe();
        self.start_listener();
        rx
    }

    async fn next_due(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT min(scheduled_at) FROM specline_jobs
                 WHERE queue = $1 AND state IN ('available', 'scheduled', 'retryable')",
                &[&queue],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn submit_run(&self, sub: RunSubmission) -> Result<Submitted> {
        let first = sub.steps.first().cloned().ok_or_else(|| {
            Error::InvalidConfig(format!("pipeline `{}` has no steps", sub.pipeline))
        })?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if let Some(idem) = &sub.idempotency {
            tx.execute(
                "DELETE FROM specline_idempotency WHERE owner = $1 AND key = $2 AND expires_at <= now()",
                &[&sub.owner, &idem.key],
            )
            .await?;
            let reserved = tx
                .query_opt(
                    "INSERT INTO specline_idempotency (owner, key, fingerprint, expires_at)
                     VALUES ($1, $2, $3, now() + make_interval(secs => $4))
                     ON CONFLICT (owner, key) DO NOTHING RETURNING 1",
                    &[
                        &sub.owner,
                        &idem.key,
                        &idem.fingerprint,
                        &clock::bounded(idem.ttl).as_secs_f64(),
                    ],
                )
                .await?;
            if reserved.is_none() {
                let row = tx
                    .query_one(
                        "SELECT fingerprint, run_id FROM specline_idempotency WHERE owner = $1 AND key = $2",
                        &[&sub.owner, &idem.key],
                    )
                    .await?;
                let fingerprint: String = row.get(0);
                let run_id: Option<i64> = row.get(1);
                tx.commit().await?;
                return match run_id {
                    Some(run_id) if fingerprint == idem.fingerprint => Ok(Submitted {
                        run_id,
                        existing: true,
                    }),
                    _ => Err(Error::IdempotencyConflict {
                        owner: sub.owner.clone(),
                        key: idem.key.clone(),
                    }),
                };
            }
        }
        let steps =
            serde_json::to_value(&sub.steps).map_err(|e| Error::InvalidArgs(e.to_string()))?;
        let run_id: i64 = tx
            .query_one(
                "INSERT INTO specline_runs (pipeline, owner, state, steps, input, stage)
                 VALUES ($1, $2, 'running', $3::text::jsonb, $4::text::jsonb, $5) RETURNING id",
                &[
                    &sub.pipeline,
                    &sub.owner,
                    &steps.to_string(),
                    &sub.input.to_string(),
                    &first.kind,
                ],
            )
            .await?
            .get(0);
        insert_step_job(&*tx, run_id, 0, &first, &self.inner.channel).await?;
        if let Some(idem) = &sub.idempotency {
            tx.execute(
                "UPDATE specline_idempotency SET run_id = $3 WHERE owner = $1 AND key = $2",
                &[&sub.owner, &idem.key, &run_id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Submitted {
            run_id,
            existing: false,
        })
    }

    async fn complete_step(&self, cpl: StepCompletion) -> Result<bool> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(COMPLETE_STEP_SQL).await?;
        let res = c
            .query_one(
                &stmt,
                &[
                    &cpl.job_id,
                    &cpl.attempt,
                    &cpl.run_id,
                    &(cpl.step_index as i32),
                    &cpl.output.to_string(),
                    &clock::bounded(cpl.result_ttl).as_secs_f64(),
                    &self.inner.channel,
                ],
            )
            .await;
        match res {
            Ok(row) => Ok(row.get(0)),
            Err(e)
                if e.as_db_error()
                    .is_some_and(|d| d.message().starts_with("RUN_NOT_FOUND")) =>
            {
                Err(Error::RunNotFound(cpl.run_id))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn get_run(&self, run_id: i64) -> Result<Option<Run>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {RUN_COLUMNS} FROM specline_runs WHERE id = $1"),
                &[&run_id],
            )
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    async fn step_context(&self, run_id: i64) -> Result<Option<StepInputs>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS},
                        (SELECT COALESCE(json_object_agg(step, value), '{{}}')::text
                         FROM specline_checkpoints WHERE run_id = $1 AND key = '')
                 FROM specline_runs WHERE id = $1"
            ))
            .await?;
        let Some(row) = c.query_opt(&stmt, &[&run_id]).await? else {
            return Ok(None);
        };
        let run = run_from_row(&row)?;
        let outputs = super::outputs_from_object(row.get::<_, &str>(14))?;
        Ok(Some(StepInputs { run, outputs }))
    }

    async fn step_outputs(&self, run_id: i64) -> Result<Vec<(String, serde_json::Value)>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT step, value::text FROM specline_checkpoints WHERE run_id = $1 AND key = ''",
                &[&run_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.get::<_, String>(0),
                    serde_json::from_str(r.get::<_, &str>(1))
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }

    async fn put_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_checkpoints (run_id, step, key, value) VALUES ($1, $2, $3, $4::text::jsonb)
             ON CONFLICT (run_id, step, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            &[&run_id, &step, &key, &value.to_string()],
        )
        .await?;
        Ok(())
    }

    async fn get_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT value::text FROM specline_checkpoints WHERE run_id = $1 AND step = $2 AND key = $3",
                &[&run_id, &step, &key],
            )
            .await?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn run_progress(
        &self,
        run_id: i64,
        job_id: i64,
        stage: &str,
        progress: i16,
        payload: Option<serde_json::Value>,
    ) -> Result<()> {
        let c = self.client().await?;
        let payload = payload.map(|p| p.to_string());
        c.execute(
            "SELECT specline_run_event($1, $2, $3, 'progress', $4, $5::text::jsonb)
             WHERE EXISTS (SELECT 1 FROM specline_runs WHERE id = $1 AND state = 'running')",
            &[&run_id, &job_id, &stage, &progress.clamp(0, 100), &payload],
        )
        .await?;
        Ok(())
    }

    async fn run_events(&self, run_id: i64, after: i64, limit: usize) -> Result<Vec<RunEvent>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT run_id, seq, job_id, stage, status, at, progress, payload::text
                 FROM specline_run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&run_id, &after, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RunEvent {
                    run_id: r.get(0),
                    seq: r.get(1),
                    job_id: r.get(2),
                    stage: r.get(3),
                    status: EventStatus::parse(r.get(4))?,
                    at: r.get(5),
                    progress: r.get(6),
                    payload: r
                        .get::<_, Option<&str>>(7)
                        .map(serde_json::from_str)
                        .transpose()
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn run_result(&self, run_id: i64) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT result::text FROM specline_results WHERE run_id = $1 AND expires_at > now()",
                &[&run_id],
            )
            .await?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn resume_run(&self, run_id: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT state, steps::text FROM specline_runs WHERE id = $1 FOR UPDATE",
                &[&run_id],
            )
            .await?
            .ok_or(Error::RunNotFound(run_id))?;
        let state = RunState::parse(row.get(0))?;
        if state != RunState::Failed {
            return Err(Error::InvalidState(format!(
                "run {run_id} is {}; only a failed run can be resumed",
                state.as_str()
            )));
        }
        let steps: Vec<StepSpec> = serde_json::from_str(row.get::<_, &str>(1))
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        let done: Vec<String> = tx
            .query(
                "SELECT step FROM specline_checkpoints WHERE run_id = $1 AND key = ''",
                &[&run_id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let Some((index, step)) = steps
            .iter()
            .enumerate()
            .find(|(_, s)| !done.contains(&s.kind))
        else {
            return Err(Error::InvalidState(format!(
                "run {run_id} has a checkpoint for every step; nothing to resume"
            )));
        };
        tx.execute(
            "UPDATE specline_runs SET state = 'running', error_code = NULL, error_message = NULL,
               finished_at = NULL, current_step = $2, stage = $3 WHERE id = $1",
            &[&run_id, &(index as i32), &step.kind],
        )
        .await?;
        insert_step_job(&*tx, run_id, index, step, &self.inner.channel).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The run first: a step finishing meanwhile waits for it, then finds the run failed
        // and does not advance it.
        let row = tx
            .query_opt(
                "SELECT state, stage FROM specline_runs WHERE id = $1 FOR UPDATE",
                &[&run_id],
            )
            .await?
            .ok_or(Error::RunNotFound(run_id))?;
        let state = RunState::parse(row.get(0))?;
        if state != RunState::Running {
            tx.commit().await?;
            return Ok(RunCancelOutcome::AlreadyFinal(state));
        }
        let stage: Option<String> = row.get(1);
        let current: Option<i64> = tx
            .query_opt(
                "SELECT id FROM specline_jobs WHERE run_id = $1
                   AND state NOT IN ('completed', 'cancelled', 'discarded')
                 ORDER BY id DESC LIMIT 1",
                &[&run_id],
            )
            .await?
            .map(|r| r.get(0));
        let (code, message) = RUN_CANCELLED;
        tx.execute(
            "UPDATE specline_runs SET state = 'failed', finished_at = now(), error_code = $2,
               error_message = $3 WHERE id = $1",
            &[&run_id, &code, &message],
        )
        .await?;
        tx.execute(
            "SELECT specline_run_event($1, $2, $3, 'failed', NULL::smallint,
                                       jsonb_build_object('code', $4::text, 'message', $5::text))",
            &[&run_id, &current, &stage, &code, &message],
        )
        .await?;
        // The step's job: pending ones are cancelled, a running one is asked to stop. A row
        // locked by a claim or a completion in flight is skipped rather than waited for (that
        // transaction waits for the run's lock we hold): its step no longer advances the run,
        // and a step whose run is not running is not executed.
        let row = tx
            .query_one(
                "WITH cur AS (
                   SELECT id FROM specline_jobs WHERE run_id = $1
                     AND state NOT IN ('completed', 'cancelled', 'discarded')
                   FOR UPDATE SKIP LOCKED
                 ), upd AS (
                   UPDATE specline_jobs j SET
                     state = CASE WHEN j.state = 'running' THEN 'running' ELSE 'cancelled' END,
                     finalized_at = CASE WHEN j.state = 'running' THEN NULL ELSE now() END,
                     cancel_requested_at = now()
                   FROM cur WHERE j.id = cur.id
                   RETURNING j.id, j.state
                 ), woke AS (
                   SELECT pg_notify($2, 'c:' || id::text) FROM upd WHERE state = 'running'
                 )
                 SELECT (SELECT max(id) FROM upd), (SELECT count(*) FROM woke)",
                &[&run_id, &self.inner.channel],
            )
            .await?;
        let step_job: Option<i64> = row.get(0);
        tx.commit().await?;
        Ok(RunCancelOutcome::Cancelled {
            step_job: step_job.or(current),
        })
    }

    async fn prune_runs(&self, lease: &Lease) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, r AS (
               DELETE FROM specline_results WHERE expires_at <= now() AND EXISTS (SELECT 1 FROM lease) RETURNING 1
             ), i AS (
               DELETE FROM specline_idempotency WHERE expires_at <= now() AND EXISTS (SELECT 1 FROM lease) RETURNING 1
             )
             SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM i)",
            lease = lease_cte()
        );
        let n: i64 = c
            .query_one(&sql, &[&lease.holder, &lease.term])
            .await?
            .get(0);
        Ok(n as u64)
    }
}

/// Insert the job of step `index` of a run (its `queued` event comes from the trigger).
async fn insert_step_job<C: tokio_postgres::GenericClient>(
    c: &C,
    run_id: i64,
    index: usize,
    step: &StepSpec,
    channel: &str,
) -> Result<i64> {
    let args = serde_json::json!({ "run_id": run_id, "step": index }).to_string();
    let row = c
        .query_one(
            "WITH ins AS (
               INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts, run_id)
               VALUES ($1, $2, $3::text::jsonb, 'available', $4, $5, $6) RETURNING id
             )
             SELECT id, pg_notify($7, 'i:' || $2) FROM ins",
            &[
                &step.kind,
                &step.queue,
                &args,
                &step.priority,
                &step.max_attempts,
                &run_id,
                &channel,
            ],
        )
        .await?;
    Ok(row.get(0))
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_url() {
        let c = PgConfig::new("postgres://u:hunter2@db.internal:5432/x");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("db.internal"), "{shown}");
    }

    #[tokio::test]
    async fn an_unparseable_url_is_refused_without_quoting_it() {
        let err = match PgStore::connect(PgConfig::new("postgres://u:hun=ter2 x@h/db?sslmode=zz"))
            .await
        {
            Ok(_) => panic!("connected with a malformed URL"),
            Err(e) => e.to_string(),
        };
        assert!(err.starts_with("INVALID_CONFIG"), "{err}");
        assert!(!err.contains("hun"), "{err}");
    }
}
