//! The typed sections and the per-binary profiles that compose them.
//!
//! A profile is a plain struct of the sections its binary loads, so the type system says what
//! a binary can see: `SpecGeneratorSettings` has no `security` field, so no code in the spec
//! generator can reach the encryption key, and [`Binary::sections`] keeps the loader from even
//! reading its variable.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::SettingsError;
use crate::keys::{self as k, Binary};
use crate::load::{Profile, Resolver};
use crate::secret::Secret;

/// `[database]`.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseSettings {
    /// PostgreSQL URL. A [`Secret`] because it usually carries a password. Always set for
    /// the separate binaries (they refuse to start without it).
    pub url: Option<Secret>,
    pub schema: String,
    pub sqlite_path: Option<PathBuf>,
    pub pool_size: usize,
    /// Extra certificate authorities for TLS to PostgreSQL (`sslmode=require`).
    pub ca_file: Option<PathBuf>,
}

/// The database a binary opens.
#[derive(Debug, Clone, Serialize)]
pub enum DatabaseTarget {
    Postgres {
        url: Secret,
        schema: String,
        pool_size: usize,
        ca_file: Option<PathBuf>,
    },
    Sqlite {
        path: PathBuf,
    },
}

impl DatabaseSettings {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(DatabaseSettings {
            url: r.opt_secret(&k::DATABASE_URL)?,
            schema: r.string(&k::DATABASE_SCHEMA)?,
            sqlite_path: if r.binary() == Binary::AllInOne {
                r.opt_path(&k::DATABASE_SQLITE_PATH)?
            } else {
                None
            },
            pool_size: r.int(&k::DATABASE_POOL_SIZE)?,
            ca_file: r.opt_path(&k::DATABASE_CA_FILE)?,
        })
    }

    /// PostgreSQL when `url` is set; otherwise the SQLite file, `sqlite_path` or
    /// `<data_dir>/specline.sqlite3`.
    pub fn target(&self, data_dir: &Path) -> DatabaseTarget {
        match &self.url {
            Some(url) => DatabaseTarget::Postgres {
                url: url.clone(),
                schema: self.schema.clone(),
                pool_size: self.pool_size,
                ca_file: self.ca_file.clone(),
            },
            None => DatabaseTarget::Sqlite {
                path: self
                    .sqlite_path
                    .clone()
                    .unwrap_or_else(|| data_dir.join("specline.sqlite3")),
            },
        }
    }
}

/// `[analyzer]`.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzerSection {
    pub concurrency: usize,
    pub job_timeout_secs: u64,
    pub shutdown_deadline_secs: u64,
    pub max_file_bytes: u64,
    pub clone_timeout_secs: u64,
    pub clone_max_bytes: u64,
    /// See the key `analyzer.analyses_per_owner`.
    pub analyses_per_owner: u32,
    /// See the key `analyzer.owner_weights`; empty when unset.
    pub owner_weights: BTreeMap<String, u32>,
}

impl AnalyzerSection {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(AnalyzerSection {
            concurrency: r.int(&k::ANALYZER_CONCURRENCY)?,
            job_timeout_secs: r.u64(&k::ANALYZER_JOB_TIMEOUT_SECS)?,
            shutdown_deadline_secs: r.u64(&k::ANALYZER_SHUTDOWN_DEADLINE_SECS)?,
            max_file_bytes: r.u64(&k::ANALYZER_MAX_FILE_BYTES)?,
            clone_timeout_secs: r.u64(&k::ANALYZER_CLONE_TIMEOUT_SECS)?,
            clone_max_bytes: r.u64(&k::ANALYZER_CLONE_MAX_BYTES)?,
            analyses_per_owner: r.int(&k::ANALYZER_ANALYSES_PER_OWNER)?,
            owner_weights: r.owner_weights(&k::ANALYZER_OWNER_WEIGHTS)?,
        })
    }

    pub fn job_timeout(&self) -> Duration {
        Duration::from_secs(self.job_timeout_secs)
    }
    pub fn shutdown_deadline(&self) -> Duration {
        Duration::from_secs(self.shutdown_deadline_secs)
    }
    pub fn clone_timeout(&self) -> Duration {
        Duration::from_secs(self.clone_timeout_secs)
    }
}

/// `[spec_generator]`.
#[derive(Debug, Clone, Serialize)]
pub struct SpecGeneratorSection {
    pub concurrency: usize,
    pub job_timeout_secs: u64,
    pub shutdown_deadline_secs: u64,
    pub default_language: String,
    /// See the key `spec_generator.max_changed_percent`.
    pub max_changed_percent: u8,
    /// `None`: no budget.
    pub owner_calls_per_day: Option<u64>,
    /// See the key `spec_generator.steps_per_owner`.
    pub steps_per_owner: u32,
    /// See the key `spec_generator.features_per_owner`.
    pub features_per_owner: u32,
    /// See the key `spec_generator.owner_weights`; empty when unset.
    pub owner_weights: BTreeMap<String, u32>,
}

impl SpecGeneratorSection {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(SpecGeneratorSection {
            concurrency: r.int(&k::SPEC_GENERATOR_CONCURRENCY)?,
            job_timeout_secs: r.u64(&k::SPEC_GENERATOR_JOB_TIMEOUT_SECS)?,
            shutdown_deadline_secs: r.u64(&k::SPEC_GENERATOR_SHUTDOWN_DEADLINE_SECS)?,
            default_language: r.string(&k::SPEC_GENERATOR_DEFAULT_LANGUAGE)?,
            max_changed_percent: u8::try_from(r.u64(&k::SPEC_GENERATOR_MAX_CHANGED_PERCENT)?)
                .unwrap_or(100),
            owner_calls_per_day: r.opt_u64(&k::SPEC_GENERATOR_OWNER_CALLS_PER_DAY)?,
            steps_per_owner: r.int(&k::SPEC_GENERATOR_STEPS_PER_OWNER)?,
            features_per_owner: r.int(&k::SPEC_GENERATOR_FEATURES_PER_OWNER)?,
            owner_weights: r.owner_weights(&k::SPEC_GENERATOR_OWNER_WEIGHTS)?,
        })
    }

    pub fn job_timeout(&self) -> Duration {
        Duration::from_secs(self.job_timeout_secs)
    }
    pub fn shutdown_deadline(&self) -> Duration {
        Duration::from_secs(self.shutdown_deadline_secs)
    }
}

/// `provider.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The deterministic offline generator; no model, no key.
    None,
    Gemini,
    /// OpenAI or any OpenAI-compatible server.
    OpenAi,
}

/// `[provider]`.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    pub timeout_secs: u64,
    pub max_retries: u32,
    pub requests_per_minute: Option<u32>,
    /// A candidate model classifying beside or instead of `model` (the rollout
    /// `classify_tests.model`); `None`: no candidate.
    pub candidate_model: Option<String>,
    /// `None`: `base_url`.
    pub candidate_base_url: Option<String>,
    /// `None`: `api_key`.
    pub candidate_api_key: Option<Secret>,
}

impl ProviderSettings {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        let kind = match r.string(&k::PROVIDER_KIND)?.as_str() {
            "gemini" => ProviderKind::Gemini,
            "openai" => ProviderKind::OpenAi,
            _ => ProviderKind::None,
        };
        let settings = ProviderSettings {
            kind,
            model: r.opt_string(&k::PROVIDER_MODEL)?,
            base_url: r.opt_string(&k::PROVIDER_BASE_URL)?,
            api_key: r.opt_secret(&k::PROVIDER_API_KEY)?,
            timeout_secs: r.u64(&k::PROVIDER_TIMEOUT_SECS)?,
            max_retries: r.int(&k::PROVIDER_MAX_RETRIES)?,
            requests_per_minute: r
                .opt_u64(&k::PROVIDER_REQUESTS_PER_MINUTE)?
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            candidate_model: r.opt_string(&k::PROVIDER_CANDIDATE_MODEL)?,
            candidate_base_url: r.opt_string(&k::PROVIDER_CANDIDATE_BASE_URL)?,
            candidate_api_key: r.opt_secret(&k::PROVIDER_CANDIDATE_API_KEY)?,
        };
        // Requirements that depend on the kind: a hosted provider needs a model and a key;
        // an OpenAI-compatible server at an explicit base URL (a local one) may need no key.
        let when = |kind: &str| format!("provider.kind = \"{kind}\"");
        match kind {
            ProviderKind::None => {}
            ProviderKind::Gemini => {
                if settings.model.is_none() {
                    return Err(r.missing_when(&k::PROVIDER_MODEL, when("gemini")));
                }
                if settings.api_key.is_none() {
                    return Err(r.missing_when(&k::PROVIDER_API_KEY, when("gemini")));
                }
            }
            ProviderKind::OpenAi => {
                if settings.model.is_none() {
                    return Err(r.missing_when(&k::PROVIDER_MODEL, when("openai")));
                }
                if settings.api_key.is_none() && settings.base_url.is_none() {
                    return Err(r.missing_when(
                        &k::PROVIDER_API_KEY,
                        format!("{} and provider.base_url is unset", when("openai")),
                    ));
                }
            }
        }
        Ok(settings)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// `[scheduler]`.
#[derive(Debug, Clone, Serialize)]
pub struct SchedulerSection {
    pub rescue_after_secs: u64,
    pub prune_interval_secs: u64,
    pub retain_completed_hours: u64,
    /// `None`: periodic re-analysis is off.
    pub reanalyze_interval_secs: Option<u64>,
    pub spec_cache_retain_days: u64,
    pub spec_cache_max_entries: u64,
}

impl SchedulerSection {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(SchedulerSection {
            rescue_after_secs: r.u64(&k::SCHEDULER_RESCUE_AFTER_SECS)?,
            prune_interval_secs: r.u64(&k::SCHEDULER_PRUNE_INTERVAL_SECS)?,
            retain_completed_hours: r.u64(&k::SCHEDULER_RETAIN_COMPLETED_HOURS)?,
            reanalyze_interval_secs: r.opt_u64(&k::SCHEDULER_REANALYZE_INTERVAL_SECS)?,
            spec_cache_retain_days: r.u64(&k::SCHEDULER_SPEC_CACHE_RETAIN_DAYS)?,
            spec_cache_max_entries: r.u64(&k::SCHEDULER_SPEC_CACHE_MAX_ENTRIES)?,
        })
    }

    pub fn rescue_after(&self) -> Duration {
        Duration::from_secs(self.rescue_after_secs)
    }
    pub fn prune_interval(&self) -> Duration {
        Duration::from_secs(self.prune_interval_secs)
    }
    pub fn retain_completed(&self) -> Duration {
        Duration::from_secs(self.retain_completed_hours.saturating_mul(3600))
    }
    pub fn reanalyze_interval(&self) -> Option<Duration> {
        self.reanalyze_interval_secs.map(Duration::from_secs)
    }
    pub fn spec_cache_retain(&self) -> Duration {
        Duration::from_secs(self.spec_cache_retain_days.saturating_mul(86_400))
    }
}

/// `[security]`.
#[derive(Debug, Clone, Serialize)]
pub struct SecuritySettings {
    /// Validated at load: 32 bytes, base64. Always set for the analyzer.
    pub encryption_key: Option<Secret>,
}

impl SecuritySettings {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(SecuritySettings {
            encryption_key: r.opt_secret(&k::SECURITY_ENCRYPTION_KEY)?,
        })
    }
}

/// `[http]`.
#[derive(Debug, Clone, Serialize)]
pub struct HttpSettings {
    pub listen: SocketAddr,
}

impl HttpSettings {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(HttpSettings {
            listen: r.socket_addr(&k::HTTP_LISTEN)?,
        })
    }
}

/// How `[api]` identifies a request's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiAuth {
    /// `Authorization: Bearer <token>`; tokens are stored as hashes.
    Tokens,
    /// A header set by a trusted proxy, accepted only from the listed proxy addresses.
    Gateway,
}

/// `[api]`.
#[derive(Debug, Clone, Serialize)]
pub struct ApiSection {
    pub auth: ApiAuth,
    pub gateway_owner_header: String,
    /// Comma-separated addresses or CIDR ranges; parsed by the API (required for `gateway`).
    pub gateway_trusted_proxies: Option<String>,
    pub max_body_bytes: usize,
    pub submissions_per_minute: u32,
    pub max_streams_per_owner: usize,
    pub request_timeout_secs: u64,
    pub heartbeat_secs: u64,
}

impl ApiSection {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        let auth = match r.string(&k::API_AUTH)?.as_str() {
            "gateway" => ApiAuth::Gateway,
            _ => ApiAuth::Tokens,
        };
        let section = ApiSection {
            auth,
            gateway_owner_header: r.string(&k::API_GATEWAY_OWNER_HEADER)?,
            gateway_trusted_proxies: r.opt_string(&k::API_GATEWAY_TRUSTED_PROXIES)?,
            max_body_bytes: r.int(&k::API_MAX_BODY_BYTES)?,
            submissions_per_minute: r.int(&k::API_SUBMISSIONS_PER_MINUTE)?,
            max_streams_per_owner: r.int(&k::API_MAX_STREAMS_PER_OWNER)?,
            request_timeout_secs: r.u64(&k::API_REQUEST_TIMEOUT_SECS)?,
            heartbeat_secs: r.u64(&k::API_HEARTBEAT_SECS)?,
        };
        if auth == ApiAuth::Gateway && section.gateway_trusted_proxies.is_none() {
            return Err(r.missing_when(
                &k::API_GATEWAY_TRUSTED_PROXIES,
                "api.auth = \"gateway\"".to_string(),
            ));
        }
        // Checked where it is used: in gateway mode.
        if let (ApiAuth::Gateway, Some(list)) = (auth, &section.gateway_trusted_proxies) {
            let items: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(bad) = items.iter().find(|i| !is_address_or_range(i)) {
                return Err(r.invalid_value(
                    &k::API_GATEWAY_TRUSTED_PROXIES,
                    format!("`{bad}` is neither an address nor a CIDR range"),
                ));
            }
            if items.is_empty() {
                return Err(r.invalid_value(
                    &k::API_GATEWAY_TRUSTED_PROXIES,
                    "names no proxy".to_string(),
                ));
            }
        }
        Ok(section)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }
}

/// URL schemes `repository_policy.allowed_schemes` may name (local paths and `file://` are
/// `allow_local_paths`).
pub const REPOSITORY_SCHEMES: &[&str] = &["https", "http", "ssh", "git"];

/// The items of a comma-separated list, trimmed and lowercased, empty ones dropped.
pub fn list_items(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `addr` or `addr/prefix` with a prefix that fits the address family.
fn is_address_or_range(item: &str) -> bool {
    let (addr, prefix) = match item.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (item, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|n| n <= max))
}

/// `[repository_policy]`, as written; `specline_app::policy` parses and enforces it.
#[derive(Debug, Clone, Serialize)]
pub struct RepositoryPolicySettings {
    pub allowed_schemes: String,
    pub allowed_hosts: Option<String>,
    pub allow_local_paths: bool,
    pub allow_private_addresses: bool,
}

impl RepositoryPolicySettings {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        let allowed_schemes = r.string(&k::REPOSITORY_POLICY_ALLOWED_SCHEMES)?;
        let schemes = list_items(&allowed_schemes);
        if let Some(bad) = schemes
            .iter()
            .find(|s| !REPOSITORY_SCHEMES.contains(&s.as_str()))
        {
            return Err(r.invalid_value(
                &k::REPOSITORY_POLICY_ALLOWED_SCHEMES,
                format!(
                    "unknown scheme `{bad}` (known: {}; local paths are allow_local_paths)",
                    REPOSITORY_SCHEMES.join(", ")
                ),
            ));
        }
        if schemes.is_empty() {
            return Err(r.invalid_value(
                &k::REPOSITORY_POLICY_ALLOWED_SCHEMES,
                "names no scheme".to_string(),
            ));
        }
        Ok(RepositoryPolicySettings {
            allowed_schemes,
            allowed_hosts: r.opt_string(&k::REPOSITORY_POLICY_ALLOWED_HOSTS)?,
            allow_local_paths: r.string(&k::REPOSITORY_POLICY_ALLOW_LOCAL_PATHS)? == "true",
            allow_private_addresses: r.string(&k::REPOSITORY_POLICY_ALLOW_PRIVATE_ADDRESSES)?
                == "true",
        })
    }
}

/// `[local]`.
#[derive(Debug, Clone, Serialize)]
pub struct LocalSettings {
    pub data_dir: PathBuf,
}

impl LocalSettings {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(LocalSettings {
            data_dir: r.path(&k::LOCAL_DATA_DIR)?,
        })
    }
}

/// `[telemetry]`: where spans go. Off (`otlp_endpoint` unset) by default.
#[derive(Debug, Clone, Serialize)]
pub struct TelemetrySettings {
    /// Base URL of the OTLP/HTTP receiver; `None`: no export.
    pub otlp_endpoint: Option<String>,
    /// Headers of each export request (a secret: a hosted receiver's token).
    pub otlp_headers: Vec<(String, Secret)>,
    pub service_name: String,
    /// 0–100.
    pub sample_percent: u8,
    pub max_queue_spans: usize,
    pub export_timeout_secs: u64,
}

impl TelemetrySettings {
    fn load(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        let headers = match r.opt_secret(&k::TELEMETRY_OTLP_HEADERS)? {
            None => Vec::new(),
            Some(text) => parse_headers(text.expose()).ok_or_else(|| {
                r.invalid_value(
                    &k::TELEMETRY_OTLP_HEADERS,
                    "expected comma-separated `name=value` pairs with header names of \
                     letters, digits and `-`, and values of visible characters (value not shown)"
                        .to_string(),
                )
            })?,
        };
        Ok(TelemetrySettings {
            otlp_endpoint: r.opt_string(&k::TELEMETRY_OTLP_ENDPOINT)?,
            otlp_headers: headers,
            service_name: r.string(&k::TELEMETRY_SERVICE_NAME)?,
            sample_percent: u8::try_from(r.u64(&k::TELEMETRY_SAMPLE_PERCENT)?).unwrap_or(100),
            max_queue_spans: r.int(&k::TELEMETRY_MAX_QUEUE_SPANS)?,
            export_timeout_secs: r.u64(&k::TELEMETRY_EXPORT_TIMEOUT_SECS)?,
        })
    }

    pub fn export_timeout(&self) -> Duration {
        Duration::from_secs(self.export_timeout_secs)
    }
}

/// `name=value,name=value`: names are HTTP tokens (letters, digits, `-`), values visible
/// ASCII (spaces inside allowed, trimmed at the ends); `None` on anything else.
fn parse_headers(text: &str) -> Option<Vec<(String, Secret)>> {
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let (name, value) = (name.trim(), value.trim());
            let name_ok =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            let value_ok =
                !value.is_empty() && value.chars().all(|c| c == ' ' || c.is_ascii_graphic());
            (name_ok && value_ok).then(|| (name.to_ascii_lowercase(), Secret::new(value)))
        })
        .collect()
}

/// `specline-analyzer`: database + analyzer + security + http + repository_policy. No
/// provider section exists here, so no AI key can be configured for it.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzerSettings {
    pub database: DatabaseSettings,
    pub analyzer: AnalyzerSection,
    pub security: SecuritySettings,
    pub http: HttpSettings,
    pub repository_policy: RepositoryPolicySettings,
    pub telemetry: TelemetrySettings,
}

impl Profile for AnalyzerSettings {
    const BINARY: Binary = Binary::Analyzer;
    fn telemetry(&self) -> Option<&TelemetrySettings> {
        Some(&self.telemetry)
    }
    fn build(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(AnalyzerSettings {
            database: DatabaseSettings::load(r)?,
            analyzer: AnalyzerSection::load(r)?,
            security: SecuritySettings::load(r)?,
            http: HttpSettings::load(r)?,
            repository_policy: RepositoryPolicySettings::load(r)?,
            telemetry: TelemetrySettings::load(r)?,
        })
    }
}

/// `specline-spec-generator`: database + spec_generator + provider + http. No security
/// section: the encryption key is neither read nor reachable.
#[derive(Debug, Clone, Serialize)]
pub struct SpecGeneratorSettings {
    pub database: DatabaseSettings,
    pub spec_generator: SpecGeneratorSection,
    pub provider: ProviderSettings,
    pub http: HttpSettings,
    pub telemetry: TelemetrySettings,
}

impl Profile for SpecGeneratorSettings {
    const BINARY: Binary = Binary::SpecGenerator;
    fn telemetry(&self) -> Option<&TelemetrySettings> {
        Some(&self.telemetry)
    }
    fn build(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(SpecGeneratorSettings {
            database: DatabaseSettings::load(r)?,
            spec_generator: SpecGeneratorSection::load(r)?,
            provider: ProviderSettings::load(r)?,
            http: HttpSettings::load(r)?,
            telemetry: TelemetrySettings::load(r)?,
        })
    }
}

/// `specline-scheduler`: database + scheduler + http.
#[derive(Debug, Clone, Serialize)]
pub struct SchedulerSettings {
    pub database: DatabaseSettings,
    pub scheduler: SchedulerSection,
    pub http: HttpSettings,
    pub telemetry: TelemetrySettings,
}

impl Profile for SchedulerSettings {
    const BINARY: Binary = Binary::Scheduler;
    fn telemetry(&self) -> Option<&TelemetrySettings> {
        Some(&self.telemetry)
    }
    fn build(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(SchedulerSettings {
            database: DatabaseSettings::load(r)?,
            scheduler: SchedulerSection::load(r)?,
            http: HttpSettings::load(r)?,
            telemetry: TelemetrySettings::load(r)?,
        })
    }
}

/// `specline-enqueue`: the database, and the encryption key only to store an access token
/// (optional: without it, requests with a token are refused).
#[derive(Debug, Clone, Serialize)]
pub struct EnqueueSettings {
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub telemetry: TelemetrySettings,
}

impl Profile for EnqueueSettings {
    const BINARY: Binary = Binary::Enqueue;
    fn telemetry(&self) -> Option<&TelemetrySettings> {
        Some(&self.telemetry)
    }
    fn build(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(EnqueueSettings {
            database: DatabaseSettings::load(r)?,
            security: SecuritySettings::load(r)?,
            telemetry: TelemetrySettings::load(r)?,
        })
    }
}

/// `specline-api`: the database, the listener, `[api]` and the repository policy; the
/// encryption key only to store a submitted access token (optional: without it, such
/// submissions are refused).
#[derive(Debug, Clone, Serialize)]
pub struct ApiSettings {
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub http: HttpSettings,
    pub api: ApiSection,
    pub repository_policy: RepositoryPolicySettings,
    pub telemetry: TelemetrySettings,
}

impl Profile for ApiSettings {
    const BINARY: Binary = Binary::Api;
    fn telemetry(&self) -> Option<&TelemetrySettings> {
        Some(&self.telemetry)
    }
    fn build(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(ApiSettings {
            database: DatabaseSettings::load(r)?,
            security: SecuritySettings::load(r)?,
            http: HttpSettings::load(r)?,
            api: ApiSection::load(r)?,
            repository_policy: RepositoryPolicySettings::load(r)?,
            telemetry: TelemetrySettings::load(r)?,
        })
    }
}

/// `specline`, everything in one process. Nothing is required: with no settings at all it
/// uses a SQLite file in `.specline/` and the offline generator. Without an encryption key it
/// cannot store repository access tokens (the binary says so when one is given).
#[derive(Debug, Clone, Serialize)]
pub struct AllInOneSettings {
    pub database: DatabaseSettings,
    pub analyzer: AnalyzerSection,
    pub spec_generator: SpecGeneratorSection,
    pub provider: ProviderSettings,
    pub scheduler: SchedulerSection,
    pub security: SecuritySettings,
    pub http: HttpSettings,
    pub local: LocalSettings,
    pub api: ApiSection,
    pub repository_policy: RepositoryPolicySettings,
}

impl AllInOneSettings {
    /// The database to open: PostgreSQL if `database.url` is set, else the SQLite file.
    pub fn database_target(&self) -> DatabaseTarget {
        self.database.target(&self.local.data_dir)
    }
}

impl Profile for AllInOneSettings {
    const BINARY: Binary = Binary::AllInOne;
    fn build(r: &Resolver<'_>) -> Result<Self, SettingsError> {
        Ok(AllInOneSettings {
            database: DatabaseSettings::load(r)?,
            analyzer: AnalyzerSection::load(r)?,
            spec_generator: SpecGeneratorSection::load(r)?,
            provider: ProviderSettings::load(r)?,
            scheduler: SchedulerSection::load(r)?,
            security: SecuritySettings::load(r)?,
            http: HttpSettings::load(r)?,
            local: LocalSettings::load(r)?,
            api: ApiSection::load(r)?,
            repository_policy: RepositoryPolicySettings::load(r)?,
        })
    }
}
