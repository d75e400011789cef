//! Errors of the engine itself (as opposed to a handler's [`crate::JobError`]).

use std::fmt;

/// Everything the engine's API can fail with. Each variant has a stable [`Error::code`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kind was inserted into a queue it is not declared for.
    #[error("WRONG_QUEUE: job kind `{kind}` is bound to queue(s) {allowed:?}, not `{queue}`")]
    WrongQueue {
        kind: String,
        queue: String,
        allowed: Vec<String>,
    },
    /// A worker consumes a queue that carries a kind it has no handler for.
    #[error("UNHANDLED_KIND: queue `{queue}` carries job kind `{kind}`, but this worker has no handler for it; register one or stop consuming `{queue}`")]
    UnhandledKind { kind: String, queue: String },
    /// A handler was registered for a kind twice.
    #[error("DUPLICATE_HANDLER: job kind `{kind}` has two handlers")]
    DuplicateHandler { kind: String },
    /// A worker was configured for a queue with no consumers or zero concurrency.
    #[error("INVALID_CONFIG: {0}")]
    InvalidConfig(String),
    /// Arguments could not be serialized.
    #[error("INVALID_ARGS: {0}")]
    InvalidArgs(String),
    /// A cron expression did not parse.
    #[error("INVALID_SCHEDULE: `{expr}`: {message}")]
    InvalidSchedule { expr: String, message: String },
    /// The job does not exist.
    #[error("NOT_FOUND: job {0} does not exist")]
    JobNotFound(i64),
    /// The database schema is older or newer than this build understands.
    #[error("SCHEMA_MISMATCH: {0}")]
    SchemaMismatch(String),
    /// The job is in a state that does not allow the action.
    #[error("INVALID_STATE: {0}")]
    InvalidState(String),
    /// The action would give two live jobs the same unique key.
    #[error("UNIQUE_CONFLICT: {0}")]
    UniqueConflict(String),
    /// The run does not exist (or belongs to someone else).
    #[error("RUN_NOT_FOUND: run {0} does not exist")]
    RunNotFound(i64),
    /// An idempotency key was reused for a different request.
    #[error(
        "IDEMPOTENCY_CONFLICT: key `{key}` of owner `{owner}` was used for a different request"
    )]
    IdempotencyConflict { owner: String, key: String },
    /// The worker was already started or shut down.
    #[error("WORKER_STATE: {0}")]
    WorkerState(String),
    /// PostgreSQL failed.
    #[error("DATABASE: postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The PostgreSQL pool failed to hand out a connection.
    #[error("DATABASE: postgres pool: {0}")]
    Pool(String),
    /// SQLite failed.
    #[error("DATABASE: sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored JSON did not decode.
    #[error("CORRUPT_ROW: {0}")]
    Corrupt(String),
    /// A blocking task failed to run (runtime shutting down).
    #[error("RUNTIME: {0}")]
    Runtime(String),
}

impl Error {
    /// Stable, machine-readable code of the error (the prefix of its message).
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongQueue { .. } => "WRONG_QUEUE",
            Error::UnhandledKind { .. } => "UNHANDLED_KIND",
            Error::DuplicateHandler { .. } => "DUPLICATE_HANDLER",
            Error::InvalidConfig(_) => "INVALID_CONFIG",
            Error::InvalidArgs(_) => "INVALID_ARGS",
            Error::InvalidSchedule { .. } => "INVALID_SCHEDULE",
            Error::JobNotFound(_) => "NOT_FOUND",
            Error::SchemaMismatch(_) => "SCHEMA_MISMATCH",
            Error::WorkerState(_) => "WORKER_STATE",
            Error::InvalidState(_) => "INVALID_STATE",
            Error::RunNotFound(_) => "RUN_NOT_FOUND",
            Error::IdempotencyConflict { .. } => "IDEMPOTENCY_CONFLICT",
            Error::UniqueConflict(_) => "UNIQUE_CONFLICT",
            Error::Postgres(_) | Error::Pool(_) | Error::Sqlite(_) => "DATABASE",
            Error::Corrupt(_) => "CORRUPT_ROW",
            Error::Runtime(_) => "RUNTIME",
        }
    }
}

impl Error {
    /// Whether the failure says nothing about the request itself: the database was out of
    /// reach, busy, shutting down, or rolled the transaction back to be retried. Repeating
    /// the same request later may succeed. Anything else (a rejected value, a constraint) is
    /// about the request, and repeating it cannot help.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Pool(_) | Error::Runtime(_) => true,
            Error::Postgres(e) => match e.as_db_error() {
                // No answer from the server: the connection failed.
                None => true,
                Some(db) => {
                    let class = &db.code().code()[..2];
                    // 08 connection, 40 rollback (serialization, deadlock), 53 resources,
                    // 57 operator intervention (shutdown, cancel), 58 system error.
                    matches!(class, "08" | "40" | "53" | "57" | "58")
                }
            },
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::FileLockingProtocolFailed
                    | rusqlite::ErrorCode::OutOfMemory
            ),
            _ => false,
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    /// With the whole chain of causes: "error performing TLS handshake" alone does not say
    /// that the certificate's issuer is unknown.
    fn from(e: deadpool_postgres::PoolError) -> Self {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        Error::Pool(message)
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Runtime(e.to_string())
    }
}

/// Where a code appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeUse {
    /// The engine's API fails with an [`Error`] carrying it.
    Api,
    /// The engine writes it in a job's error history (or a run's failure).
    Attempt,
    /// Both.
    Both,
}

/// Every code of the engine, with where it appears and what it means: the source of the
/// table in `docs/queue-errors.md` (checked by `tests/error_codes.rs`).
pub const CODES: &[(&str, CodeUse, &str)] = &[
    ("CANCELLED", CodeUse::Attempt, "the job (or the run) was cancelled"),
    ("CORRUPT_ROW", CodeUse::Api, "a stored row did not decode"),
    ("DATABASE", CodeUse::Api, "PostgreSQL, its pool, or SQLite failed"),
    ("DISCARDED", CodeUse::Attempt, "a step job was discarded by hand; its run fails"),
    ("DUPLICATE_HANDLER", CodeUse::Api, "a kind was registered twice"),
    ("FAILED", CodeUse::Attempt, "a failed run that recorded no code (what `run_status` reports then)"),
    ("FENCED", CodeUse::Attempt, "the worker could not renew its heartbeat and stopped the attempt (not counted)"),
    ("IDEMPOTENCY_CONFLICT", CodeUse::Api, "an idempotency key was reused for another request"),
    ("INVALID_ARGS", CodeUse::Both, "arguments that do not serialize, or a job whose arguments do not deserialize (discarded)"),
    ("INVALID_CONFIG", CodeUse::Api, "a worker, store or pipeline is configured wrongly"),
    ("INVALID_SCHEDULE", CodeUse::Api, "a cron expression or interval is invalid"),
    ("INVALID_STATE", CodeUse::Api, "the job or run is in a state that does not allow the action"),
    ("INVALID_STEP_INPUT", CodeUse::Attempt, "the run's context does not fit the step (the run fails)"),
    ("INVALID_STEP_OUTPUT", CodeUse::Attempt, "a step's output does not serialize (the run fails)"),
    ("NOT_FOUND", CodeUse::Api, "the job does not exist"),
    ("OUTCOME_REJECTED", CodeUse::Attempt, "the database rejected the attempt's own error record or step output; its decided state was recorded with this plain record"),
    ("PANIC", CodeUse::Attempt, "the handler panicked (retryable)"),
    ("RESCUED", CodeUse::Attempt, "the attempt's worker died; the rescuer returned the job"),
    ("RUNTIME", CodeUse::Api, "a blocking task could not run (runtime shutting down)"),
    ("RUN_NOT_FOUND", CodeUse::Both, "the run does not exist or belongs to another owner"),
    ("SCHEMA_MISMATCH", CodeUse::Api, "the database schema is older or newer than this build"),
    ("SHUTDOWN", CodeUse::Attempt, "the worker shut down before the attempt finished (not counted)"),
    ("TIMEOUT", CodeUse::Attempt, "the attempt exceeded its kind's timeout (retryable)"),
    ("UNHANDLED_KIND", CodeUse::Api, "a consumed queue carries a kind without a handler in this worker"),
    ("UNIQUE_CONFLICT", CodeUse::Api, "the action would give two live jobs the same unique key"),
    ("UNKNOWN_KIND", CodeUse::Attempt, "no handler in this worker for the job's kind (retried until its attempts run out)"),
    ("WORKER_STATE", CodeUse::Api, "the worker was already started or shut down"),
    ("WRONG_QUEUE", CodeUse::Api, "a kind was inserted into a queue it is not bound to"),
];

/// Result alias of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a handler returns when a job did not succeed: the error class decides what happens next.
///
/// There is one retry budget (the job's `max_attempts`): handlers return a class, the engine
/// decides. Nothing else in the stack should retry on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Try again later with backoff, until the attempts run out; then discard.
    Retryable { code: String, message: String },
    /// Discard now: retrying cannot help (bad input, a 401, a missing repository).
    Permanent { code: String, message: String },
    /// Stop and mark the job cancelled.
    Cancel { message: String },
    /// Reschedule after the duration without using an attempt.
    Snooze(std::time::Duration),
}

impl JobError {
    pub fn retryable(code: impl Into<String>, message: impl fmt::Display) -> Self {
        JobError::Retryable {
            code: code.into(),
            message: message.to_string(),
        }
    }
    pub fn permanent(code: impl Into<String>, message: impl fmt::Display) -> Self {
        JobError::Permanent {
            code: code.into(),
            message: message.to_string(),
        }
    }
    pub fn cancel(message: impl fmt::Display) -> Self {
        JobError::Cancel {
            message: message.to_string(),
        }
    }
    pub fn snooze(d: std::time::Duration) -> Self {
        JobError::Snooze(d)
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Retryable { code, message } => write!(f, "retryable {code}: {message}"),
            JobError::Permanent { code, message } => write!(f, "permanent {code}: {message}"),
            JobError::Cancel { message } => write!(f, "cancel: {message}"),
            JobError::Snooze(d) => write!(f, "snooze {d:?}"),
        }
    }
}

impl std::error::Error for JobError {}
