//! Errors of the engine itself, the engine's code list, and a handler's [`JobError`] with
//! the one conversion into it from any coded error ([`ErrorCode`], Specline's shared error
//! vocabulary).

use std::fmt;

pub use specline_error_codes::{
    check_codes, codes, ClassRule, CodeInfo, CodeSet, ErrorClass, ErrorCode,
};

/// Everything the engine's API can fail with. Each variant has a stable code
/// ([`ErrorCode::code`], one of [`QueueCode`]).
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
    /// A pipeline's steps do not form a graph the engine can run: a cycle, a dependency on a
    /// step that is not in the pipeline, a step declared twice, or more than one end.
    #[error("INVALID_GRAPH: {0}")]
    InvalidGraph(String),
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
    /// An operator's limit overrides are not a JSON object of limit values.
    #[error("INVALID_LIMITS: {0}")]
    InvalidLimits(String),
    /// A rollout mode that does not parse (see [`crate::rollout::RolloutMode::parse`]).
    #[error("INVALID_ROLLOUT: {0}")]
    InvalidRollout(String),
    /// No worker declared limits for the kind.
    #[error("LIMIT_NOT_FOUND: no worker declared limits for job kind `{0}`")]
    LimitNotFound(String),
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
    /// Stable, machine-readable code of the error (the prefix of its message); the same as
    /// [`ErrorCode::code`], callable without importing the trait.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The error's code in the engine's list.
    pub fn kind(&self) -> QueueCode {
        match self {
            Error::WrongQueue { .. } => QueueCode::WrongQueue,
            Error::UnhandledKind { .. } => QueueCode::UnhandledKind,
            Error::DuplicateHandler { .. } => QueueCode::DuplicateHandler,
            Error::InvalidConfig(_) => QueueCode::InvalidConfig,
            Error::InvalidGraph(_) => QueueCode::InvalidGraph,
            Error::InvalidArgs(_) => QueueCode::InvalidArgs,
            Error::InvalidSchedule { .. } => QueueCode::InvalidSchedule,
            Error::JobNotFound(_) => QueueCode::NotFound,
            Error::SchemaMismatch(_) => QueueCode::SchemaMismatch,
            Error::WorkerState(_) => QueueCode::WorkerState,
            Error::InvalidState(_) => QueueCode::InvalidState,
            Error::InvalidLimits(_) => QueueCode::InvalidLimits,
            Error::InvalidRollout(_) => QueueCode::InvalidRollout,
            Error::LimitNotFound(_) => QueueCode::LimitNotFound,
            Error::RunNotFound(_) => QueueCode::RunNotFound,
            Error::IdempotencyConflict { .. } => QueueCode::IdempotencyConflict,
            Error::UniqueConflict(_) => QueueCode::UniqueConflict,
            Error::Postgres(_) | Error::Pool(_) | Error::Sqlite(_) => QueueCode::Database,
            Error::Corrupt(_) => QueueCode::CorruptRow,
            Error::Runtime(_) => QueueCode::Runtime,
        }
    }
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        Error::code(self)
    }

    /// A handler that meets an engine error (a checkpoint that cannot be written, say) is
    /// retried when the database was only out of reach, and fails otherwise: a corrupt row
    /// or a rejected value stays so.
    fn class(&self) -> ErrorClass {
        if self.is_transient() {
            ErrorClass::Retryable
        } else {
            ErrorClass::Permanent
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

codes! {
    /// Every code of the engine, once: the codes of its API's [`Error`]s and the codes it
    /// writes into a job's error history or a run's failure. `docs/error-codes.md` is
    /// generated from this list (`specline errors`); `tests/error_codes.rs` checks that
    /// every code the engine's source writes is in it.
    pub enum QueueCode in "specline-queue" {
        Cancelled = ("CANCELLED", Cancel, "history: the job (or the run) was cancelled"),
        CorruptRow = ("CORRUPT_ROW", Permanent, "API: a stored row did not decode"),
        Database = ("DATABASE", Varies("retryable when the database was out of reach, busy or rolled back; else permanent"), "API: PostgreSQL, its pool, or SQLite failed"),
        Discarded = ("DISCARDED", Permanent, "history: a step job was discarded by hand; its run fails"),
        DuplicateHandler = ("DUPLICATE_HANDLER", Permanent, "API: a kind was registered twice"),
        Failed = ("FAILED", Permanent, "history: a failed run that recorded no code (what `run_status` reports then)"),
        Fenced = ("FENCED", Snooze, "history: the worker could not renew its heartbeat and stopped the attempt (not counted)"),
        IdempotencyConflict = ("IDEMPOTENCY_CONFLICT", Permanent, "API: an idempotency key was reused for another request"),
        InvalidArgs = ("INVALID_ARGS", Permanent, "API and history: arguments that do not serialize, or a job whose arguments do not deserialize (discarded)"),
        InvalidConfig = ("INVALID_CONFIG", Permanent, "API: a worker, store or pipeline is configured wrongly"),
        InvalidGraph = ("INVALID_GRAPH", Permanent, "API: a pipeline's steps form a cycle, depend on a step it does not have, name a step twice or have more than one end (refused when the pipeline is built or submitted)"),
        InvalidLimits = ("INVALID_LIMITS", Permanent, "API: limit overrides that are not a JSON object of limit values (concurrency, per_partition, rate, partition_rate, weights 1-1000 for at most 10,000 partitions)"),
        InvalidRollout = ("INVALID_ROLLOUT", Permanent, "API: a rollout mode that is not off, shadow [RATE], percent N (0-100) or full"),
        InvalidSchedule = ("INVALID_SCHEDULE", Permanent, "API: a cron expression or interval is invalid"),
        InvalidState = ("INVALID_STATE", Permanent, "API: the job or run is in a state that does not allow the action"),
        InvalidStepInput = ("INVALID_STEP_INPUT", Permanent, "history: the run's context does not fit the step (the run fails)"),
        InvalidStepOutput = ("INVALID_STEP_OUTPUT", Permanent, "history: a step's output does not serialize (the run fails)"),
        LimitNotFound = ("LIMIT_NOT_FOUND", Permanent, "API: no worker declared limits for the kind"),
        NotFound = ("NOT_FOUND", Permanent, "API: the job does not exist"),
        OutcomeRejected = ("OUTCOME_REJECTED", Varies("the class the attempt had"), "history: the database rejected the attempt's own error record or step output; its decided state was recorded with this plain record"),
        Panic = ("PANIC", Retryable, "history: the handler panicked"),
        Rescued = ("RESCUED", Retryable, "history: the attempt's worker died; the rescuer returned the job"),
        Runtime = ("RUNTIME", Retryable, "API: a blocking task could not run (runtime shutting down)"),
        RunNotFound = ("RUN_NOT_FOUND", Permanent, "API and history: the run does not exist or belongs to another owner"),
        SchemaMismatch = ("SCHEMA_MISMATCH", Permanent, "API: the database schema is older or newer than this build"),
        Shutdown = ("SHUTDOWN", Snooze, "history: the worker shut down before the attempt finished (not counted)"),
        Timeout = ("TIMEOUT", Retryable, "history: the attempt exceeded its kind's timeout"),
        UnhandledKind = ("UNHANDLED_KIND", Permanent, "API: a consumed queue carries a kind without a handler in this worker"),
        UniqueConflict = ("UNIQUE_CONFLICT", Permanent, "API: the action would give two live jobs the same unique key"),
        UnknownKind = ("UNKNOWN_KIND", Retryable, "history: no handler in this worker for the job's kind (retried until its attempts run out)"),
        WorkerState = ("WORKER_STATE", Permanent, "API: the worker was already started or shut down"),
        WrongQueue = ("WRONG_QUEUE", Permanent, "API: a kind was inserted into a queue it is not bound to"),
    }
}

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

impl<E: ErrorCode> From<E> for JobError {
    /// The one conversion from a coded error: its class decides the variant, its code and
    /// message are kept (a message never holds a secret: see [`ErrorCode::message`]). A step
    /// writes `?` on any Specline error.
    fn from(e: E) -> Self {
        match e.class() {
            ErrorClass::Retryable => JobError::Retryable {
                code: e.code().to_string(),
                message: e.message(),
            },
            ErrorClass::Permanent => JobError::Permanent {
                code: e.code().to_string(),
                message: e.message(),
            },
            ErrorClass::Cancel => JobError::Cancel {
                message: e.message(),
            },
            ErrorClass::Snooze(wait) => JobError::Snooze(wait),
        }
    }
}
