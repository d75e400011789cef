//! Checks Specline's deployment manifests against the code.
//!
//! The manifests in `deploy/` are written by hand, and nothing starts a binary from them in a
//! test: a misspelled variable, a queue renamed in the code but not in a label, or the
//! encryption key handed to the spec generator would only show in production, some of them
//! never (a variable nobody reads fails silently). This crate reads the manifests the way an
//! orchestrator would and compares them with the two sources of truth: the settings registry
//! of `specline-settings` (variable names, which binary loads which, what is required, what a
//! value may be) and the queues each binary consumes, which the caller (`specline doctor`)
//! passes in from the code as [`ServiceSpec`]s.
//!
//! ```no_run
//! use std::path::Path;
//! use specline_deploy_check::{check_deploy, ServiceSpec};
//! use specline_settings::Binary;
//!
//! let services = [
//!     ServiceSpec::new(Binary::Analyzer, ["analyze"]),
//!     ServiceSpec::new(Binary::SpecGenerator, ["spec"]),
//!     ServiceSpec::new(Binary::Scheduler, [""; 0]),
//! ];
//! let report = check_deploy(Path::new("deploy"), &services)?;
//! for finding in &report.findings {
//!     println!("{finding}");
//! }
//! # Ok::<(), specline_deploy_check::DeployCheckError>(())
//! ```
//!
//! What is read: `deploy/compose.yaml` (or `compose.yml`, `docker-compose.yml`,
//! `docker-compose.yaml`) and every `*.yaml`/`*.yml` below `deploy/k8s/`, each possibly holding
//! several documents. Each compose service and each Kubernetes container is matched to a
//! binary by its command (entrypoint, command, args); containers that run no Specline binary
//! and carry no `SPECLINE_*` variable (PostgreSQL) are left alone. Every problem is a
//! [`Finding`] with a stable code from [`codes`]; only a file that cannot be read or parsed is
//! an error.
//!
//! Values are validated by the settings crate itself: each binary's profile is loaded with the
//! manifest's literal values and, for values the manifest cannot show (secrets, `${VAR}`
//! interpolation, `$(VAR)` expansion), a valid placeholder of the key's type. So a check here
//! cannot drift from what the binary accepts at start.
//!
//! YAML library: [`saphyr`]. `serde_yaml` is deprecated and unmaintained, and its forks
//! (`serde_yaml_ng`, `serde_norway`) still sit on a machine translation of libyaml in unsafe
//! Rust. saphyr is the actively maintained successor of `yaml-rust2` by the same maintainers:
//! pure safe Rust, YAML 1.2 compliant (tested against the YAML test suite), loads multi-document
//! streams natively, reports errors with line and column, and bounds alias expansion. It has no
//! serde layer, which suits this crate: manifests are walked as a tree, not deserialized into
//! fixed types (compose and Kubernetes both allow several shapes for the same field).

mod check;
mod compose;
mod k8s;
mod scaler;
mod workload;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use specline_settings::Binary;
use thiserror::Error;

specline_error_codes::codes! {
    /// Every code of the deployment check, once: the findings' and the errors'. A finding is
    /// permanent in the sense of the error classes: the manifest has to change.
    pub enum DeployCode in "specline-deploy-check" {
        QueueMismatch = ("DEPLOY_QUEUE_MISMATCH", Permanent, "a queue label or annotation differs from the queues the code gives the binary, or a long-running binary's is missing"),
        UnknownVariable = ("DEPLOY_UNKNOWN_VARIABLE", Permanent, "a `SPECLINE_*` variable (or a near miss of one) that no settings key has"),
        ForeignVariable = ("DEPLOY_FOREIGN_VARIABLE", Permanent, "a known variable that this binary does not load: dead configuration, or a secret leak"),
        MissingRequired = ("DEPLOY_MISSING_REQUIRED", Permanent, "a key the binary requires (always, or because of another key's value) is not given"),
        InvalidValue = ("DEPLOY_INVALID_VALUE", Permanent, "a literal value the settings crate rejects"),
        LiteralSecret = ("DEPLOY_LITERAL_SECRET", Permanent, "a secret value written into a manifest or ConfigMap instead of a Secret or interpolation"),
        MissingSecret = ("DEPLOY_MISSING_SECRET", Permanent, "a reference to a Secret (or key) no manifest defines, or an undeclared compose secret"),
        MissingConfig = ("DEPLOY_MISSING_CONFIG", Permanent, "a reference to a ConfigMap (or key) no manifest defines"),
        ProbePort = ("DEPLOY_PROBE_PORT", Permanent, "a probe, healthcheck or container port that is not the port the binary listens on"),
        MissingProbe = ("DEPLOY_MISSING_PROBE", Permanent, "a long-running binary without a healthcheck or liveness/readiness probe"),
        GracePeriod = ("DEPLOY_GRACE_PERIOD", Permanent, "a stop grace period shorter than the binary's shutdown deadline"),
        MissingService = ("DEPLOY_MISSING_SERVICE", Permanent, "a long-running binary of the code absent from a manifest set"),
        UnknownBinary = ("DEPLOY_UNKNOWN_BINARY", Permanent, "a Specline container whose command names no known binary"),
        AllInOne = ("DEPLOY_ALL_IN_ONE", Permanent, "the all-in-one `specline` deployed for anything but `specline migrate`"),
        Malformed = ("DEPLOY_MALFORMED", Permanent, "a manifest field of an unexpected shape, so it could not be checked"),
        Io = ("DEPLOY_IO", Permanent, "a manifest file or directory could not be read"),
        Yaml = ("DEPLOY_YAML", Permanent, "a manifest is not valid YAML"),
        ScalerMismatch = ("DEPLOY_SCALER_MISMATCH", Permanent, "an autoscaler (KEDA ScaledObject or HorizontalPodAutoscaler) that scales no queue-consuming Deployment of the manifests, or scales one on other queues than the code gives it"),
        NoManifests = ("DEPLOY_NO_MANIFESTS", Permanent, "neither a compose file nor a `k8s/` directory is in the directory"),
    }
}

/// Stable finding codes (each [`DeployCode`]'s string). Scripts and tests match on these; the
/// messages may change.
pub mod codes {
    use super::DeployCode as C;

    pub const QUEUE_MISMATCH: &str = C::QueueMismatch.as_str();
    pub const UNKNOWN_VARIABLE: &str = C::UnknownVariable.as_str();
    pub const FOREIGN_VARIABLE: &str = C::ForeignVariable.as_str();
    pub const MISSING_REQUIRED: &str = C::MissingRequired.as_str();
    pub const INVALID_VALUE: &str = C::InvalidValue.as_str();
    pub const LITERAL_SECRET: &str = C::LiteralSecret.as_str();
    pub const MISSING_SECRET: &str = C::MissingSecret.as_str();
    pub const MISSING_CONFIG: &str = C::MissingConfig.as_str();
    pub const PROBE_PORT: &str = C::ProbePort.as_str();
    pub const MISSING_PROBE: &str = C::MissingProbe.as_str();
    pub const GRACE_PERIOD: &str = C::GracePeriod.as_str();
    pub const MISSING_SERVICE: &str = C::MissingService.as_str();
    pub const UNKNOWN_BINARY: &str = C::UnknownBinary.as_str();
    pub const ALL_IN_ONE: &str = C::AllInOne.as_str();
    pub const MALFORMED: &str = C::Malformed.as_str();
    pub const SCALER_MISMATCH: &str = C::ScalerMismatch.as_str();
}

/// What the code says one binary consumes: the truth the manifests' labels are compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub binary: Binary,
    /// Queue names the binary's workers consume; empty for the scheduler.
    pub queues: Vec<String>,
}

impl ServiceSpec {
    /// A spec from a binary and its queue names.
    pub fn new<I, S>(binary: Binary, queues: I) -> ServiceSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ServiceSpec {
            binary,
            queues: queues.into_iter().map(Into::into).collect(),
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every manifest file read, in the order read.
    pub files_checked: Vec<PathBuf>,
    /// Problems, sorted by file, service and code.
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings with `code`.
    pub fn with_code(&self, code: &str) -> impl Iterator<Item = &Finding> + '_ {
        let code = code.to_string();
        self.findings.iter().filter(move |f| f.code == code)
    }
}

/// One problem in one manifest. Messages never contain a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A constant of [`codes`].
    pub code: &'static str,
    pub file: PathBuf,
    /// The compose service (`analyzer`) or Kubernetes object and container
    /// (`Deployment/specline-analyzer[analyzer]`); empty for a whole manifest set.
    pub service: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.file.display())?;
        if !self.service.is_empty() {
            write!(f, " ({})", self.service)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why no report could be made. Display starts with the code.
#[derive(Debug, Error)]
pub enum DeployCheckError {
    /// A manifest file or directory could not be read.
    #[error("DEPLOY_IO: {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A manifest is not valid YAML.
    #[error("DEPLOY_YAML: {}:{line}:{column}: not valid YAML: {problem}", path.display())]
    Yaml {
        path: PathBuf,
        line: usize,
        column: usize,
        problem: String,
    },
    /// Neither a compose file nor a `k8s/` directory is in the directory.
    #[error("DEPLOY_NO_MANIFESTS: {} has no compose.yaml and no k8s/ directory", dir.display())]
    NoManifests { dir: PathBuf },
}

impl DeployCheckError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The error's code in the list.
    pub fn kind(&self) -> DeployCode {
        match self {
            DeployCheckError::Io { .. } => DeployCode::Io,
            DeployCheckError::Yaml { .. } => DeployCode::Yaml,
            DeployCheckError::NoManifests { .. } => DeployCode::NoManifests,
        }
    }
}

impl specline_error_codes::ErrorCode for DeployCheckError {
    fn code(&self) -> &'static str {
        DeployCheckError::code(self)
    }

    /// The manifests have to change before the check can pass.
    fn class(&self) -> specline_error_codes::ErrorClass {
        specline_error_codes::ErrorClass::Permanent
    }
}

/// Compose file names, in the order Docker Compose itself prefers them.
const COMPOSE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// Checks the manifests in `dir` (the `deploy/` directory) against the settings registry and
/// `services`. The compose file and the Kubernetes directory are separate manifest sets: each
/// must run every long-running binary of `services` on its own.
pub fn check_deploy(dir: &Path, services: &[ServiceSpec]) -> Result<Report, DeployCheckError> {
    let compose_file = COMPOSE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file());
    let k8s_dir = dir.join("k8s");
    if compose_file.is_none() && !k8s_dir.is_dir() {
        return Err(DeployCheckError::NoManifests {
            dir: dir.to_path_buf(),
        });
    }

    let mut report = Report::default();
    if let Some(path) = compose_file {
        let docs = yaml::load_file(&path)?;
        report.files_checked.push(path.clone());
        let set = compose::read(&path, &docs);
        check::check_set(&set, services, &mut report.findings);
    }
    if k8s_dir.is_dir() {
        let files = k8s::yaml_files(&k8s_dir)?;
        let mut docs = Vec::new();
        for path in &files {
            docs.push((path.clone(), yaml::load_file(path)?));
        }
        report.files_checked.extend(files);
        let set = k8s::read(&k8s_dir, &docs);
        check::check_set(&set, services, &mut report.findings);
        scaler::check_scalers(&docs, &set, services, &mut report.findings);
    }
    report.findings.sort_by(|a, b| {
        (&a.file, &a.service, a.code, &a.message).cmp(&(&b.file, &b.service, b.code, &b.message))
    });
    Ok(report)
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_spelled_screaming_snake() {
        assert_eq!(specline_error_codes::check_codes::<DeployCode>(), Ok(()));
    }
}
