//! The registry of every setting Specline knows: section, key, type, default, who needs it.
//!
//! One table drives everything else: the loader (what to read, how to parse it, what is
//! required), the unknown-name report ("known to Specline" means "in this table"), and the
//! generated reference in `docs/settings.md`. Keeping it as data means a new key cannot be
//! loaded without also being documented, and the document cannot describe a key that does
//! not exist.

use std::fmt;

/// Prefix of every Specline environment variable.
pub const ENV_PREFIX: &str = "SPECLINE_";

/// Separator between section and key in an environment variable name. Double, because keys
/// themselves contain single underscores (`SPECLINE_DATABASE__POOL_SIZE`).
pub const ENV_SEPARATOR: &str = "__";

/// Variables with the Specline prefix that are not settings keys but are still Specline's own,
/// so they are never reported as unknown.
pub const RESERVED_ENV: &[(&str, &str)] = &[
    (
        "SPECLINE_CONFIG",
        "Path of the TOML settings file, used when the binary is given no file explicitly.",
    ),
    (
        "SPECLINE_LOG",
        "Log filter (tracing `EnvFilter` syntax, e.g. `info,specline_queue=debug`).",
    ),
    (
        "SPECLINE_LOG_FORMAT",
        "Log format: `text` (default) or `json` (one object per line, with the fields of the event's spans: a job's `job_id`, `run_id`, `kind`, `attempt`).",
    ),
];

/// The programs that load settings. Each loads only the sections it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Binary {
    Analyzer,
    SpecGenerator,
    Scheduler,
    Enqueue,
    /// `specline-api`: the HTTP API.
    Api,
    /// `specline`: every workload in one process, SQLite by default.
    AllInOne,
}

impl Binary {
    /// Every binary, in the order the reference lists them.
    pub const ALL: &'static [Binary] = &[
        Binary::Analyzer,
        Binary::SpecGenerator,
        Binary::Scheduler,
        Binary::Enqueue,
        Binary::Api,
        Binary::AllInOne,
    ];

    /// The executable's name, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Binary::Analyzer => "specline-analyzer",
            Binary::SpecGenerator => "specline-spec-generator",
            Binary::Scheduler => "specline-scheduler",
            Binary::Enqueue => "specline-enqueue",
            Binary::Api => "specline-api",
            Binary::AllInOne => "specline",
        }
    }

    /// The sections this binary loads. Nothing outside these is read, not even from the
    /// environment: this is what keeps, say, the encryption key out of the spec generator.
    pub fn sections(self) -> &'static [Section] {
        match self {
            Binary::Analyzer => &[
                Section::Database,
                Section::Analyzer,
                Section::Security,
                Section::Http,
                Section::RepositoryPolicy,
                Section::Telemetry,
            ],
            Binary::SpecGenerator => &[
                Section::Database,
                Section::SpecGenerator,
                Section::Provider,
                Section::Http,
                Section::Telemetry,
            ],
            Binary::Scheduler => &[
                Section::Database,
                Section::Scheduler,
                Section::Http,
                Section::Telemetry,
            ],
            Binary::Enqueue => &[Section::Database, Section::Security, Section::Telemetry],
            Binary::Api => &[
                Section::Database,
                Section::Security,
                Section::Http,
                Section::Api,
                Section::RepositoryPolicy,
                Section::Telemetry,
            ],
            Binary::AllInOne => Section::ALL,
        }
    }

    /// The environment variables this binary reads: the keys it uses. A deployment manifest
    /// should give a binary these and no other `SPECLINE_*` key (`doctor` checks that the spec
    /// generator's service is not handed the encryption key, for one).
    pub fn env_names(self) -> Vec<String> {
        KEYS.iter()
            .filter(|k| k.binaries().contains(&self))
            .map(KeyDef::env_name)
            .collect()
    }

    /// True when this binary loads `section`.
    pub fn loads(self, section: Section) -> bool {
        self.sections().contains(&section)
    }
}

impl fmt::Display for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A settings section: one component's keys, `[name]` in the file, `SPECLINE_NAME__` in the
/// environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Database,
    Analyzer,
    SpecGenerator,
    Provider,
    Scheduler,
    Security,
    Http,
    Local,
    Api,
    RepositoryPolicy,
    Telemetry,
}

impl Section {
    /// Every section, in the order the reference lists them.
    pub const ALL: &'static [Section] = &[
        Section::Database,
        Section::Analyzer,
        Section::SpecGenerator,
        Section::Provider,
        Section::Scheduler,
        Section::Security,
        Section::Http,
        Section::Local,
        Section::Api,
        Section::RepositoryPolicy,
        Section::Telemetry,
    ];

    /// The name in the file (`[spec_generator]`).
    pub fn name(self) -> &'static str {
        match self {
            Section::Database => "database",
            Section::Analyzer => "analyzer",
            Section::SpecGenerator => "spec_generator",
            Section::Provider => "provider",
            Section::Scheduler => "scheduler",
            Section::Security => "security",
            Section::Http => "http",
            Section::Local => "local",
            Section::Api => "api",
            Section::RepositoryPolicy => "repository_policy",
            Section::Telemetry => "telemetry",
        }
    }

    /// The section by its file name.
    pub fn from_name(name: &str) -> Option<Section> {
        Section::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// What the section configures, for the reference.
    pub fn description(self) -> &'static str {
        match self {
            Section::Database => "Where the job engine and the application tables live.",
            Section::Analyzer => "The analyzer worker (queue `analyze`): CPU-bound, short jobs.",
            Section::SpecGenerator => {
                "The spec generator worker (queue `spec`): I/O-bound, long jobs."
            }
            Section::Provider => {
                "The AI model provider of the spec generator; `none` uses the offline generator."
            }
            Section::Scheduler => {
                "Leader-elected maintenance: rescue, pruning, retention, re-analysis."
            }
            Section::Security => {
                "The key that encrypts stored repository access tokens: the analyzer decrypts them; `specline-enqueue` needs it only to store one."
            }
            Section::Http => "The listener for `/healthz`, `/readyz` and `/metrics` (for `specline-api` and `specline serve`, the API too).",
            Section::Local => "The one-machine command `specline`.",
            Section::Api => "The HTTP API (`specline-api`, and `specline serve` on its one port): authentication and limits.",
            Section::RepositoryPolicy => {
                "Which repositories may be analysed: checked when the API accepts a submission and again when the analyzer runs it."
            }
            Section::Telemetry => {
                "Traces: OpenTelemetry spans sent to an OTLP/HTTP receiver (off unless `otlp_endpoint` is set); see docs/observability.md."
            }
        }
    }

    /// The binaries that load this section.
    pub fn binaries(self) -> Vec<Binary> {
        Binary::ALL
            .iter()
            .copied()
            .filter(|b| b.loads(self))
            .collect()
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a key's value is written and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// A non-empty string.
    String,
    /// An unsigned integer within `min..=max`.
    Integer { min: u64, max: u64 },
    /// One of a fixed set of lowercase words.
    Choice(&'static [&'static str]),
    /// A secret string (never printed).
    Secret,
    /// A secret: exactly 32 bytes, standard base64.
    Key32,
    /// A filesystem path.
    Path,
    /// A socket address, `host:port` with a literal IP (`0.0.0.0:9101`).
    SocketAddr,
    /// A PostgreSQL connection URL. Treated as a secret: it usually carries a password.
    PostgresUrl,
    /// A PostgreSQL identifier (schema name).
    Identifier,
    /// A BCP-47 language tag (`en`, `pt-BR`).
    Language,
    /// An `http://` or `https://` URL.
    HttpUrl,
    /// Owners' fairness weights: `owner=weight` pairs separated by commas (`gold=3,silver=2`),
    /// a weight 1 to [`crate::OWNER_WEIGHT_MAX`], at most [`crate::OWNER_WEIGHTS_MAX`] owners.
    OwnerWeights,
}

impl KeyType {
    /// The type as the reference and type errors describe it.
    pub fn describe(self) -> String {
        match self {
            KeyType::String => "string".to_string(),
            KeyType::Integer { min, max } => format!("integer {min}..={max}"),
            KeyType::Choice(options) => format!("one of {}", options.join(", ")),
            KeyType::Secret => "secret string".to_string(),
            KeyType::Key32 => "secret: 32 bytes, base64".to_string(),
            KeyType::Path => "path".to_string(),
            KeyType::SocketAddr => "socket address (ip:port)".to_string(),
            KeyType::PostgresUrl => "secret URL (postgres:// or postgresql://)".to_string(),
            KeyType::Identifier => "identifier (`[a-z_][a-z0-9_]*`)".to_string(),
            KeyType::Language => "language tag (BCP 47)".to_string(),
            KeyType::HttpUrl => "URL (http:// or https://)".to_string(),
            KeyType::OwnerWeights => "`owner=weight` list (weights 1..=1000)".to_string(),
        }
    }

    /// True for types whose values must never appear in a message.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            KeyType::Secret | KeyType::Key32 | KeyType::PostgresUrl
        )
    }
}

/// A key's default, as text in the key's own syntax (parsed by the same code as a value from
/// the environment, so the documented default and the applied default cannot disagree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// Unset unless given; optional for binaries not in `required_by`.
    Unset,
    /// The same default for every binary.
    Value(&'static str),
    /// A default per binary (listen ports, so binaries on one machine do not collide); a
    /// binary not listed has the key unset.
    PerBinary(&'static [(Binary, &'static str)]),
}

impl DefaultValue {
    /// The default text for `binary`, if any.
    pub fn for_binary(self, binary: Binary) -> Option<&'static str> {
        match self {
            DefaultValue::Unset => None,
            DefaultValue::Value(v) => Some(v),
            DefaultValue::PerBinary(list) => {
                list.iter().find(|(b, _)| *b == binary).map(|(_, v)| *v)
            }
        }
    }
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    pub section: Section,
    pub key: &'static str,
    pub ty: KeyType,
    pub default: DefaultValue,
    /// Binaries that refuse to start without it.
    pub required_by: &'static [Binary],
    /// Binaries that use it; `None` means every binary that loads the section.
    pub used_by: Option<&'static [Binary]>,
    pub description: &'static str,
}

impl KeyDef {
    /// `section.key`, the name in messages and the file.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section.name(), self.key)
    }

    /// `SPECLINE_SECTION__KEY`.
    pub fn env_name(&self) -> String {
        format!(
            "{ENV_PREFIX}{}{ENV_SEPARATOR}{}",
            self.section.name().to_ascii_uppercase(),
            self.key.to_ascii_uppercase()
        )
    }

    /// The binaries that use this key.
    pub fn binaries(&self) -> Vec<Binary> {
        match self.used_by {
            Some(list) => list.to_vec(),
            None => self.section.binaries(),
        }
    }
}

/// Listen address per binary: all interfaces for the separate binaries (orchestrators probe
/// the pod or container address), loopback for the one-machine command (a laptop should not
/// expose metrics). Different ports so several binaries can share one host.
const LISTEN_DEFAULTS: &[(Binary, &str)] = &[
    (Binary::Analyzer, "0.0.0.0:9101"),
    (Binary::SpecGenerator, "0.0.0.0:9102"),
    (Binary::Scheduler, "0.0.0.0:9103"),
    (Binary::Api, "0.0.0.0:8080"),
    (Binary::AllInOne, "127.0.0.1:9100"),
];

/// Binaries that talk to a shared PostgreSQL database and so cannot start without its URL.
const NEEDS_POSTGRES: &[Binary] = &[
    Binary::Analyzer,
    Binary::SpecGenerator,
    Binary::Scheduler,
    Binary::Enqueue,
    Binary::Api,
];

macro_rules! key {
    ($name:ident, $section:ident, $key:literal, $ty:expr, $default:expr, $required:expr, $used:expr, $desc:literal) => {
        #[doc = $desc]
        pub const $name: KeyDef = KeyDef {
            section: Section::$section,
            key: $key,
            ty: $ty,
            default: $default,
            required_by: $required,
            used_by: $used,
            description: $desc,
        };
    };
}

const NONE: &[Binary] = &[];
const SECS_DAY: u64 = 86_400;

// database
key!(
    DATABASE_URL,
    Database,
    "url",
    KeyType::PostgresUrl,
    DefaultValue::Unset,
    NEEDS_POSTGRES,
    None,
    "PostgreSQL URL shared by the separate binaries. For `specline`, unset means the SQLite file."
);
key!(
    DATABASE_SCHEMA,
    Database,
    "schema",
    KeyType::Identifier,
    DefaultValue::Value("public"),
    NONE,
    None,
    "PostgreSQL schema holding the engine's and the application's tables."
);
key!(DATABASE_CA_FILE, Database, "ca_file", KeyType::Path, DefaultValue::Unset, NONE, None,
    "PEM file of certificate authorities trusted for TLS (`sslmode=require` in the URL; the certificate and host name are verified) besides the public web roots, e.g. a managed database's CA.");
key!(DATABASE_SQLITE_PATH, Database, "sqlite_path", KeyType::Path, DefaultValue::Unset, NONE, Some(&[Binary::AllInOne]),
    "SQLite database file of `specline` when no URL is set; unset means `<local.data_dir>/specline.sqlite3`.");
key!(
    DATABASE_POOL_SIZE,
    Database,
    "pool_size",
    KeyType::Integer { min: 1, max: 1000 },
    DefaultValue::Value("16"),
    NONE,
    None,
    "Connections in the PostgreSQL pool (the LISTEN connection is extra)."
);

// analyzer
key!(
    ANALYZER_CONCURRENCY,
    Analyzer,
    "concurrency",
    KeyType::Integer { min: 1, max: 1024 },
    DefaultValue::Value("4"),
    NONE,
    None,
    "Analyses run at once. Parsing is CPU-bound: about one per core."
);
key!(
    ANALYZER_JOB_TIMEOUT_SECS,
    Analyzer,
    "job_timeout_secs",
    KeyType::Integer {
        min: 1,
        max: SECS_DAY
    },
    DefaultValue::Value("900"),
    NONE,
    None,
    "Time limit of one analysis, clone included."
);
key!(
    ANALYZER_SHUTDOWN_DEADLINE_SECS,
    Analyzer,
    "shutdown_deadline_secs",
    KeyType::Integer { min: 0, max: 3600 },
    DefaultValue::Value("30"),
    NONE,
    None,
    "On SIGTERM, how long running analyses may finish before they are abandoned to the rescuer."
);
key!(
    ANALYZER_MAX_FILE_BYTES,
    Analyzer,
    "max_file_bytes",
    KeyType::Integer {
        min: 1,
        max: 1 << 30
    },
    DefaultValue::Value("2097152"),
    NONE,
    None,
    "Test files larger than this are skipped and recorded as a per-file error."
);
key!(
    ANALYZER_CLONE_TIMEOUT_SECS,
    Analyzer,
    "clone_timeout_secs",
    KeyType::Integer {
        min: 1,
        max: SECS_DAY
    },
    DefaultValue::Value("300"),
    NONE,
    None,
    "Time limit of cloning or fetching the repository."
);
key!(
    ANALYZER_CLONE_MAX_BYTES,
    Analyzer,
    "clone_max_bytes",
    KeyType::Integer {
        min: 1 << 20,
        max: 1 << 40
    },
    DefaultValue::Value("1073741824"),
    NONE,
    None,
    "Disk budget of one clone (objects and written files); past it the clone stops with `CLONE_TOO_LARGE` (a permanent error)."
);

key!(
    ANALYZER_ANALYSES_PER_OWNER,
    Analyzer,
    "analyses_per_owner",
    KeyType::Integer { min: 1, max: 1_000_000 },
    DefaultValue::Value("2"),
    NONE,
    None,
    "Analyses of one run owner running at once over every analyzer on the database (the engine's per-partition limit of `analyze_repository`, declared by each analyzer at start). An operator's override (`specline-enqueue limits set`, `PUT /api/v1/admin/limits/analyze_repository`) wins over it."
);

key!(ANALYZER_OWNER_WEIGHTS, Analyzer, "owner_weights", KeyType::OwnerWeights, DefaultValue::Unset, NONE, None,
    "Fairness weights of run owners among the analyses waiting for a start, as `owner=weight` pairs separated by commas (`acme=3,beta=2`; a weight is 1 to 1000, at most 10,000 owners): when several owners have analyses waiting, an owner of weight 3 gets three starts in each round-robin pass where an unnamed owner gets one. Unset means every owner weighs 1. Declared by each analyzer at start for `analyze_repository`; an operator's override of `weights` wins over it."
);

// spec_generator
key!(
    SPEC_GENERATOR_CONCURRENCY,
    SpecGenerator,
    "concurrency",
    KeyType::Integer { min: 1, max: 1024 },
    DefaultValue::Value("8"),
    NONE,
    None,
    "Spec jobs run at once: mostly features converted at once, each feature's conversion being a job of its own (of any document; one owner's at most 12 over all generators). Model calls are I/O-bound, so more than the core count."
);
key!(
    SPEC_GENERATOR_JOB_TIMEOUT_SECS,
    SpecGenerator,
    "job_timeout_secs",
    KeyType::Integer {
        min: 1,
        max: SECS_DAY
    },
    DefaultValue::Value("3600"),
    NONE,
    None,
    "Time limit of one document generation (many model calls)."
);
key!(SPEC_GENERATOR_SHUTDOWN_DEADLINE_SECS, SpecGenerator, "shutdown_deadline_secs", KeyType::Integer { min: 0, max: 3600 }, DefaultValue::Value("120"), NONE, None,
    "On SIGTERM, how long running generations may finish; unfinished ones resume from their checkpoint.");
key!(
    SPEC_GENERATOR_DEFAULT_LANGUAGE,
    SpecGenerator,
    "default_language",
    KeyType::Language,
    DefaultValue::Value("en"),
    NONE,
    None,
    "Document language when a request names none."
);
key!(
    SPEC_GENERATOR_MAX_CHANGED_PERCENT,
    SpecGenerator,
    "max_changed_percent",
    KeyType::Integer { min: 0, max: 100 },
    DefaultValue::Value("30"),
    NONE,
    None,
    "A new document version starts from the previous one and sends only new tests to the model, unless more than this percentage of the previous version's tests were added or removed; then every test is classified again (as with `--fresh`)."
);
key!(
    SPEC_GENERATOR_STEPS_PER_OWNER,
    SpecGenerator,
    "steps_per_owner",
    KeyType::Integer { min: 1, max: 1_000_000 },
    DefaultValue::Value("2"),
    NONE,
    None,
    "Jobs of each spec step other than the per-feature conversion (classify, list features, summarize, assemble) of one run owner running at once over every spec generator on the database (the engine's per-partition limit of each step kind, declared by each spec generator at start). An operator's override (`specline-enqueue limits set`, `PUT /api/v1/admin/limits/{kind}`) wins over it."
);
key!(
    SPEC_GENERATOR_FEATURES_PER_OWNER,
    SpecGenerator,
    "features_per_owner",
    KeyType::Integer { min: 1, max: 1_000_000 },
    DefaultValue::Value("12"),
    NONE,
    None,
    "Features of one run owner's documents converted at once over every spec generator on the database (`convert_behaviors` runs one job per feature; the engine's per-partition limit of that kind). Keep it above one generator's `concurrency` so a second generator shares a large document, and below the sum of all generators' so other owners' features start in between. An operator's override (`specline-enqueue limits set convert_behaviors`, `PUT /api/v1/admin/limits/convert_behaviors`) wins over it."
);
key!(SPEC_GENERATOR_OWNER_WEIGHTS, SpecGenerator, "owner_weights", KeyType::OwnerWeights, DefaultValue::Unset, NONE, None,
    "Fairness weights of run owners among the spec jobs waiting for a start, as `owner=weight` pairs separated by commas (`acme=3,beta=2`; a weight is 1 to 1000, at most 10,000 owners), for every spec step including the per-feature conversion. Unset means every owner weighs 1. Declared by each spec generator at start; an operator's override of `weights` wins over it."
);
key!(SPEC_GENERATOR_OWNER_CALLS_PER_DAY, SpecGenerator, "owner_calls_per_day", KeyType::Integer { min: 0, max: 1_000_000_000 }, DefaultValue::Unset, NONE, None,
    "Budget of model calls per owner over the last 24 hours; a generation whose estimate would exceed it is refused with `BUDGET_EXCEEDED` before any call. Unset means no budget.");

// provider
key!(PROVIDER_KIND, Provider, "kind", KeyType::Choice(&["none", "gemini", "openai"]), DefaultValue::Value("none"), NONE, None,
    "Model provider; `none` is the deterministic offline generator. `openai` is any OpenAI-compatible server.");
key!(
    PROVIDER_MODEL,
    Provider,
    "model",
    KeyType::String,
    DefaultValue::Unset,
    NONE,
    None,
    "Model name; required when `kind` is not `none`."
);
key!(
    PROVIDER_BASE_URL,
    Provider,
    "base_url",
    KeyType::HttpUrl,
    DefaultValue::Unset,
    NONE,
    None,
    "API base URL; unset means the provider's public endpoint."
);
key!(PROVIDER_API_KEY, Provider, "api_key", KeyType::Secret, DefaultValue::Unset, NONE, None,
    "API key; required for `gemini`, and for `openai` unless `base_url` points at a server without keys.");
key!(
    PROVIDER_TIMEOUT_SECS,
    Provider,
    "timeout_secs",
    KeyType::Integer { min: 1, max: 3600 },
    DefaultValue::Value("120"),
    NONE,
    None,
    "Time limit of one model call."
);
key!(
    PROVIDER_MAX_RETRIES,
    Provider,
    "max_retries",
    KeyType::Integer { min: 0, max: 20 },
    DefaultValue::Value("3"),
    NONE,
    None,
    "Retries of a failed model call (429, 5xx, timeout) before the phase fails."
);
key!(
    PROVIDER_REQUESTS_PER_MINUTE,
    Provider,
    "requests_per_minute",
    KeyType::Integer {
        min: 1,
        max: 1_000_000
    },
    DefaultValue::Unset,
    NONE,
    None,
    "Model calls per minute per provider key, across every spec generator on the database (the engine's rate gate) and within each process; unset means no limit."
);

key!(PROVIDER_CANDIDATE_MODEL, Provider, "candidate_model", KeyType::String, DefaultValue::Unset, NONE, None,
    "A candidate model for the classification (rollout `classify_tests.model`, see docs/rollouts.md), at the same provider kind; unset means no candidate (the rollout has no effect).");
key!(
    PROVIDER_CANDIDATE_BASE_URL,
    Provider,
    "candidate_base_url",
    KeyType::HttpUrl,
    DefaultValue::Unset,
    NONE,
    None,
    "The candidate model's API base URL; unset means `base_url`."
);
key!(
    PROVIDER_CANDIDATE_API_KEY,
    Provider,
    "candidate_api_key",
    KeyType::Secret,
    DefaultValue::Unset,
    NONE,
    None,
    "The candidate model's API key; unset means `api_key`."
);

// scheduler
key!(
    SCHEDULER_RESCUE_AFTER_SECS,
    Scheduler,
    "rescue_after_secs",
    KeyType::Integer {
        min: 5,
        max: SECS_DAY
    },
    DefaultValue::Value("300"),
    NONE,
    None,
    "A running job whose heartbeat is older than this is returned to its queue."
);
key!(
    SCHEDULER_PRUNE_INTERVAL_SECS,
    Scheduler,
    "prune_interval_secs",
    KeyType::Integer {
        min: 1,
        max: SECS_DAY
    },
    DefaultValue::Value("3600"),
    NONE,
    None,
    "How often finished jobs past retention are deleted."
);
key!(
    SCHEDULER_RETAIN_COMPLETED_HOURS,
    Scheduler,
    "retain_completed_hours",
    KeyType::Integer {
        min: 1,
        max: 24 * 3650
    },
    DefaultValue::Value("168"),
    NONE,
    None,
    "How long completed jobs, old analyses and old document versions are kept."
);
key!(
    SCHEDULER_SPEC_CACHE_RETAIN_DAYS,
    Scheduler,
    "spec_cache_retain_days",
    KeyType::Integer { min: 1, max: 3650 },
    DefaultValue::Value("90"),
    NONE,
    None,
    "How long a cached model answer (classification, behavior sentence, summary) is kept; an expired one costs one model call when next needed."
);
key!(
    SCHEDULER_SPEC_CACHE_MAX_ENTRIES,
    Scheduler,
    "spec_cache_max_entries",
    KeyType::Integer {
        min: 1000,
        max: 1_000_000_000
    },
    DefaultValue::Value("2000000"),
    NONE,
    None,
    "Most cached model answers kept; past it retention deletes the oldest first."
);
key!(SCHEDULER_REANALYZE_INTERVAL_SECS, Scheduler, "reanalyze_interval_secs", KeyType::Integer { min: 60, max: 365 * SECS_DAY }, DefaultValue::Unset, NONE, None,
    "Period of re-analysing watched repositories (only when the commit or parser version changed); unset means off.");

// security
key!(SECURITY_ENCRYPTION_KEY, Security, "encryption_key", KeyType::Key32, DefaultValue::Unset, &[Binary::Analyzer], None,
    "Key of the stored repository access tokens (XChaCha20-Poly1305). Make one with `head -c 32 /dev/urandom | base64`. `specline-enqueue` needs it only for `--token-env`, `specline-api` only to store access tokens sent with a submission.");

// http
key!(HTTP_LISTEN, Http, "listen", KeyType::SocketAddr, DefaultValue::PerBinary(LISTEN_DEFAULTS), NONE, None,
    "Address of `/healthz`, `/readyz` and `/metrics` (and of the API, for `specline-api` and `specline serve`). Each binary has its own port so they can share a machine.");

// local
key!(LOCAL_DATA_DIR, Local, "data_dir", KeyType::Path, DefaultValue::Value(".specline"), NONE, None,
    "Directory of `specline`'s SQLite database and working copies; relative paths are from the working directory.");

// api
key!(API_AUTH, Api, "auth", KeyType::Choice(&["tokens", "gateway"]), DefaultValue::Value("tokens"), NONE, None,
    "How a request names its owner: `tokens` (`Authorization: Bearer`, made with `specline-enqueue token create`) or `gateway` (a trusted proxy sets `gateway_owner_header`).");
key!(
    API_GATEWAY_OWNER_HEADER,
    Api,
    "gateway_owner_header",
    KeyType::String,
    DefaultValue::Value("x-user-id"),
    NONE,
    None,
    "With `auth = \"gateway\"`: the header carrying the owner, set by the proxy."
);
key!(API_GATEWAY_TRUSTED_PROXIES, Api, "gateway_trusted_proxies", KeyType::String, DefaultValue::Unset, NONE, None,
    "With `auth = \"gateway\"` (then required): comma-separated addresses or CIDR ranges of the proxies; a request from any other peer is refused.");
key!(
    API_MAX_BODY_BYTES,
    Api,
    "max_body_bytes",
    KeyType::Integer {
        min: 1024,
        max: 16 << 20
    },
    DefaultValue::Value("65536"),
    NONE,
    None,
    "Largest request body accepted; larger ones get 413 `BODY_TOO_LARGE`."
);
key!(API_SUBMISSIONS_PER_MINUTE, Api, "submissions_per_minute", KeyType::Integer { min: 1, max: 1_000_000 }, DefaultValue::Value("60"), NONE, None,
    "Submissions per owner per minute (a burst of this many, refilled evenly); more get 429 with `Retry-After`.");
key!(
    API_MAX_STREAMS_PER_OWNER,
    Api,
    "max_streams_per_owner",
    KeyType::Integer {
        min: 1,
        max: 100_000
    },
    DefaultValue::Value("32"),
    NONE,
    None,
    "Event streams one owner may hold open at once; more get 429 with `Retry-After`."
);
key!(
    API_REQUEST_TIMEOUT_SECS,
    Api,
    "request_timeout_secs",
    KeyType::Integer { min: 1, max: 600 },
    DefaultValue::Value("30"),
    NONE,
    None,
    "Time limit of every route until its response starts (an event stream then stays open)."
);
key!(
    API_HEARTBEAT_SECS,
    Api,
    "heartbeat_secs",
    KeyType::Integer { min: 1, max: 300 },
    DefaultValue::Value("15"),
    NONE,
    None,
    "Interval of the comment lines an idle event stream sends, so proxies keep it open."
);

// repository_policy
key!(
    REPOSITORY_POLICY_ALLOWED_SCHEMES,
    RepositoryPolicy,
    "allowed_schemes",
    KeyType::String,
    DefaultValue::Value("https"),
    NONE,
    None,
    "Comma-separated URL schemes a repository may use, of `https`, `http`, `ssh`, `git`."
);
key!(REPOSITORY_POLICY_ALLOWED_HOSTS, RepositoryPolicy, "allowed_hosts", KeyType::String, DefaultValue::Unset, NONE, None,
    "Comma-separated host names a repository may be on (`.example.org` also admits its subdomains); unset means any public host.");
key!(REPOSITORY_POLICY_ALLOW_LOCAL_PATHS, RepositoryPolicy, "allow_local_paths", KeyType::Choice(&["false", "true"]), DefaultValue::Value("false"), NONE, None,
    "Accept a directory on the analyzer's machine (or a `file://` URL) as the repository. For tests and single-user machines only.");
key!(REPOSITORY_POLICY_ALLOW_PRIVATE_ADDRESSES, RepositoryPolicy, "allow_private_addresses", KeyType::Choice(&["false", "true"]), DefaultValue::Value("false"), NONE, None,
    "Accept hosts that resolve to loopback, private, link-local, CGNAT or other non-public addresses (cloud metadata addresses stay refused).");

// telemetry
/// The binaries that export traces: every separate binary. `specline` (one process, one
/// machine) loads the section with the others but does not export.
const TRACING_BINARIES: &[Binary] = &[
    Binary::Analyzer,
    Binary::SpecGenerator,
    Binary::Scheduler,
    Binary::Enqueue,
    Binary::Api,
];
const SERVICE_NAMES: &[(Binary, &str)] = &[
    (Binary::Analyzer, "specline-analyzer"),
    (Binary::SpecGenerator, "specline-spec-generator"),
    (Binary::Scheduler, "specline-scheduler"),
    (Binary::Enqueue, "specline-enqueue"),
    (Binary::Api, "specline-api"),
];
key!(TELEMETRY_OTLP_ENDPOINT, Telemetry, "otlp_endpoint", KeyType::HttpUrl, DefaultValue::Unset, NONE, Some(TRACING_BINARIES),
    "Base URL of an OTLP/HTTP receiver (an OpenTelemetry Collector, Jaeger or Tempo, usually port 4318): spans are sent to `<url>/v1/traces` as protobuf. Unset means no trace is exported (spans stay log context only).");
key!(TELEMETRY_OTLP_HEADERS, Telemetry, "otlp_headers", KeyType::Secret, DefaultValue::Unset, NONE, Some(TRACING_BINARIES),
    "Headers sent with every export, as comma-separated `name=value` pairs (e.g. `authorization=Bearer …` for a hosted receiver). A secret: never printed.");
key!(
    TELEMETRY_SERVICE_NAME,
    Telemetry,
    "service_name",
    KeyType::String,
    DefaultValue::PerBinary(SERVICE_NAMES),
    NONE,
    Some(TRACING_BINARIES),
    "The `service.name` of the exported spans."
);
key!(TELEMETRY_SAMPLE_PERCENT, Telemetry, "sample_percent", KeyType::Integer { min: 0, max: 100 }, DefaultValue::Value("100"), NONE, Some(TRACING_BINARIES),
    "Share of new traces recorded. A trace continued from a caller (a `traceparent` header, a job's stored context) follows the caller's decision, so a run is recorded whole or not at all.");
key!(TELEMETRY_MAX_QUEUE_SPANS, Telemetry, "max_queue_spans", KeyType::Integer { min: 16, max: 1_000_000 }, DefaultValue::Value("2048"), NONE, Some(TRACING_BINARIES),
    "Finished spans waiting for export. When the receiver is slow or down, spans past this are dropped and counted (`specline_trace_spans_dropped_total`); jobs never wait for the export.");
key!(
    TELEMETRY_EXPORT_TIMEOUT_SECS,
    Telemetry,
    "export_timeout_secs",
    KeyType::Integer { min: 1, max: 300 },
    DefaultValue::Value("10"),
    NONE,
    Some(TRACING_BINARIES),
    "Time limit of one export request (and of the flush at shutdown)."
);

/// Every key, in reference order.
pub const KEYS: &[KeyDef] = &[
    DATABASE_URL,
    DATABASE_SCHEMA,
    DATABASE_SQLITE_PATH,
    DATABASE_POOL_SIZE,
    DATABASE_CA_FILE,
    ANALYZER_CONCURRENCY,
    ANALYZER_JOB_TIMEOUT_SECS,
    ANALYZER_SHUTDOWN_DEADLINE_SECS,
    ANALYZER_MAX_FILE_BYTES,
    ANALYZER_CLONE_TIMEOUT_SECS,
    ANALYZER_CLONE_MAX_BYTES,
    ANALYZER_ANALYSES_PER_OWNER,
    ANALYZER_OWNER_WEIGHTS,
    SPEC_GENERATOR_CONCURRENCY,
    SPEC_GENERATOR_JOB_TIMEOUT_SECS,
    SPEC_GENERATOR_SHUTDOWN_DEADLINE_SECS,
    SPEC_GENERATOR_DEFAULT_LANGUAGE,
    SPEC_GENERATOR_MAX_CHANGED_PERCENT,
    SPEC_GENERATOR_OWNER_CALLS_PER_DAY,
    SPEC_GENERATOR_STEPS_PER_OWNER,
    SPEC_GENERATOR_FEATURES_PER_OWNER,
    SPEC_GENERATOR_OWNER_WEIGHTS,
    PROVIDER_KIND,
    PROVIDER_MODEL,
    PROVIDER_BASE_URL,
    PROVIDER_API_KEY,
    PROVIDER_TIMEOUT_SECS,
    PROVIDER_MAX_RETRIES,
    PROVIDER_REQUESTS_PER_MINUTE,
    PROVIDER_CANDIDATE_MODEL,
    PROVIDER_CANDIDATE_BASE_URL,
    PROVIDER_CANDIDATE_API_KEY,
    SCHEDULER_RESCUE_AFTER_SECS,
    SCHEDULER_PRUNE_INTERVAL_SECS,
    SCHEDULER_RETAIN_COMPLETED_HOURS,
    SCHEDULER_REANALYZE_INTERVAL_SECS,
    SCHEDULER_SPEC_CACHE_RETAIN_DAYS,
    SCHEDULER_SPEC_CACHE_MAX_ENTRIES,
    SECURITY_ENCRYPTION_KEY,
    HTTP_LISTEN,
    LOCAL_DATA_DIR,
    API_AUTH,
    API_GATEWAY_OWNER_HEADER,
    API_GATEWAY_TRUSTED_PROXIES,
    API_MAX_BODY_BYTES,
    API_SUBMISSIONS_PER_MINUTE,
    API_MAX_STREAMS_PER_OWNER,
    API_REQUEST_TIMEOUT_SECS,
    API_HEARTBEAT_SECS,
    REPOSITORY_POLICY_ALLOWED_SCHEMES,
    REPOSITORY_POLICY_ALLOWED_HOSTS,
    REPOSITORY_POLICY_ALLOW_LOCAL_PATHS,
    REPOSITORY_POLICY_ALLOW_PRIVATE_ADDRESSES,
    TELEMETRY_OTLP_ENDPOINT,
    TELEMETRY_OTLP_HEADERS,
    TELEMETRY_SERVICE_NAME,
    TELEMETRY_SAMPLE_PERCENT,
    TELEMETRY_MAX_QUEUE_SPANS,
    TELEMETRY_EXPORT_TIMEOUT_SECS,
];

/// The key by section and name.
pub fn find(section: Section, key: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|k| k.section == section && k.key == key)
}

/// True for a name Specline knows: a key's variable or a reserved one (`SPECLINE_LOG`, ...).
pub fn is_known_env(name: &str) -> bool {
    find_env(name).is_some() || RESERVED_ENV.iter().any(|(n, _)| *n == name)
}

/// The key by environment variable name (exact).
pub fn find_env(name: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|k| k.env_name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_text;

    #[test]
    fn registry_is_consistent() {
        let mut env_names: Vec<String> = KEYS.iter().map(KeyDef::env_name).collect();
        env_names.sort();
        env_names.dedup();
        assert_eq!(env_names.len(), KEYS.len(), "duplicate variable names");
        for key in KEYS {
            let users = key.section.binaries();
            for b in key.binaries() {
                assert!(
                    users.contains(&b),
                    "{}: {b} does not load the section",
                    key.path()
                );
                if let Some(text) = key.default.for_binary(b) {
                    assert!(
                        parse_text(key.ty, text).is_ok(),
                        "{}: bad default",
                        key.path()
                    );
                }
            }
            for b in key.required_by {
                assert!(
                    key.binaries().contains(b),
                    "{}: required by a non-user",
                    key.path()
                );
                assert!(
                    key.default.for_binary(*b).is_none(),
                    "{}: required with a default",
                    key.path()
                );
            }
            assert!(!key.key.contains("__") && !key.section.name().contains("__"));
        }
        assert_eq!(Binary::AllInOne.sections(), Section::ALL);
        for section in Section::ALL {
            assert!(
                KEYS.iter().any(|k| k.section == *section),
                "{section} has no keys"
            );
        }
    }

    #[test]
    fn all_in_one_requires_nothing() {
        assert!(!KEYS
            .iter()
            .any(|k| k.required_by.contains(&Binary::AllInOne)));
    }
}
