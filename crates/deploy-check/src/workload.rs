//! The orchestrator-neutral view of a manifest: what one container is told to run and with
//! what. Compose and Kubernetes readers both produce it, so every check is written once.

use std::path::PathBuf;

use crate::Finding;

/// Everything read from one manifest set (the compose file, or the `k8s/` directory).
#[derive(Debug)]
pub(crate) struct ManifestSet {
    /// The compose file or the `k8s/` directory: where set-wide findings point.
    pub origin: PathBuf,
    pub workloads: Vec<Workload>,
    /// Problems found while reading (dangling Secret references, malformed fields).
    pub findings: Vec<Finding>,
}

/// One container (a compose service, or one container of a Kubernetes pod template).
#[derive(Debug, Default)]
pub(crate) struct Workload {
    pub file: PathBuf,
    /// `analyzer`, or `Deployment/specline-analyzer[analyzer]`.
    pub name: String,
    /// Entrypoint/command and arguments, split into words.
    pub argv: Vec<String>,
    pub env: Vec<EnvVar>,
    /// Settings may also come from somewhere this check cannot see (`env_file`, an `envFrom`
    /// that does not resolve, a settings file), so "required but missing" is not reported.
    pub env_incomplete: bool,
    /// The queue label or annotation, when present.
    pub queues: Option<String>,
    /// Which label or annotation `queues` is, for messages.
    pub queues_field: &'static str,
    pub probes: Vec<Probe>,
    /// Declared container ports (Kubernetes); empty when none are declared.
    pub container_ports: Vec<u16>,
    /// Seconds between the stop signal and the kill (the orchestrator's default when unset);
    /// `None` when the field could not be read.
    pub grace_secs: Option<u64>,
    /// The grace field's name, for messages.
    pub grace_field: &'static str,
}

impl Workload {
    /// A finding about this workload.
    pub(crate) fn finding(&self, code: &'static str, message: String) -> Finding {
        Finding {
            code,
            file: self.file.clone(),
            service: self.name.clone(),
            message,
        }
    }

    /// True when this looks like one of Specline's containers even if its command names no
    /// binary: it is given Specline settings or carries the queue label.
    pub(crate) fn looks_like_specline(&self) -> bool {
        self.queues.is_some()
            || self
                .env
                .iter()
                .any(|v| v.name.to_ascii_uppercase().starts_with("SPECLINE_"))
            || self
                .argv
                .iter()
                .any(|w| basename(w).starts_with("specline"))
    }
}

/// The last path component of a command word (`/usr/local/bin/specline-analyzer`).
pub(crate) fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// One environment variable of a container.
#[derive(Debug, Clone)]
pub(crate) struct EnvVar {
    pub name: String,
    pub value: EnvValue,
}

/// A variable's value as far as the manifest shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvValue {
    /// Written in the manifest or a ConfigMap.
    Literal(String),
    /// Known only at deploy time: a Secret, `${VAR}` interpolation, `$(VAR)` expansion, the
    /// host's environment.
    Hidden,
}

/// A health probe or healthcheck.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    /// `healthcheck`, `livenessProbe`, ...
    pub what: &'static str,
    pub port: ProbePort,
}

/// The port a probe reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProbePort {
    Number(u16),
    /// A port name the container does not declare.
    UnresolvedName(String),
    /// Not an HTTP/TCP probe, or a command whose target cannot be read.
    Unknown,
}
