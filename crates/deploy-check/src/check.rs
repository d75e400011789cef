//! The checks, over the orchestrator-neutral [`Workload`]s.
//!
//! Every rule about names, requiredness and values is asked of `specline-settings` rather than
//! restated here, so the check and the binaries cannot disagree.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use specline_settings::keys::{self, KeyDef, KeyType};
use specline_settings::{
    AllInOneSettings, AnalyzerSettings, ApiSettings, Binary, EnqueueSettings, Env, LoadOptions,
    SchedulerSettings, Section, Settings, SettingsError, SettingsWarning, SpecGeneratorSettings,
};

use crate::workload::{basename, EnvValue, ManifestSet, ProbePort, Workload};
use crate::{codes, Finding, ServiceSpec};

/// True for the binaries that run until stopped and serve `/healthz`: those with a listener,
/// except the one-machine command, whose only place in these manifests is `specline migrate`.
fn long_running(binary: Binary) -> bool {
    binary != Binary::AllInOne && binary.loads(Section::Http)
}

/// Checks one manifest set and appends the findings (the reader's included) to `out`.
pub(crate) fn check_set(set: &ManifestSet, services: &[ServiceSpec], out: &mut Vec<Finding>) {
    out.extend(set.findings.iter().cloned());
    let mut seen = BTreeSet::new();
    for w in &set.workloads {
        match identify(w) {
            Some(binary) => {
                seen.insert(binary);
                check_workload(w, binary, services, out);
            }
            None if w.looks_like_specline() => out.push(w.finding(
                codes::UNKNOWN_BINARY,
                format!(
                    "its command `{}` runs none of Specline's binaries ({})",
                    w.argv.join(" "),
                    Binary::ALL
                        .iter()
                        .map(|b| b.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            None => {}
        }
    }
    for spec in services {
        if long_running(spec.binary) && !seen.contains(&spec.binary) {
            out.push(Finding {
                code: codes::MISSING_SERVICE,
                file: set.origin.clone(),
                service: String::new(),
                message: format!("no service or container runs {}", spec.binary),
            });
        }
    }
}

/// The binary a workload runs: the first command word that is a binary's name.
pub(crate) fn identify(w: &Workload) -> Option<Binary> {
    w.argv.iter().find_map(|word| {
        let name = basename(word);
        Binary::ALL.iter().copied().find(|b| b.name() == name)
    })
}

fn check_workload(w: &Workload, binary: Binary, services: &[ServiceSpec], out: &mut Vec<Finding>) {
    if binary == Binary::AllInOne && !w.argv.iter().any(|a| a == "migrate") {
        out.push(
            w.finding(
                codes::ALL_IN_ONE,
                "runs the one-machine `specline` command; a multi-machine deployment runs the \
             separate binaries and uses `specline` only for `specline migrate`"
                    .to_string(),
            ),
        );
    }
    check_variables(w, binary, out);
    check_queues(w, binary, services, out);
    if long_running(binary) {
        check_probes(w, binary, out);
        check_grace(w, binary, out);
    }
}

/// Unknown, foreign, literal-secret, missing and invalid variables.
fn check_variables(w: &Workload, binary: Binary, out: &mut Vec<Finding>) {
    for warning in unknown_names(w.env.iter().map(|v| v.name.as_str())) {
        out.push(w.finding(codes::UNKNOWN_VARIABLE, warning.describe()));
    }

    // What the binary would be started with: literal values as written, a valid placeholder
    // where the manifest cannot show the value.
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut literal: BTreeSet<String> = BTreeSet::new();
    for var in &w.env {
        let Some(key) = keys::find_env(&var.name) else {
            continue;
        };
        if !key.binaries().contains(&binary) {
            out.push(w.finding(codes::FOREIGN_VARIABLE, foreign_message(key, binary)));
            continue;
        }
        match &var.value {
            EnvValue::Literal(text) => {
                if is_literal_secret(key.ty, text) {
                    out.push(w.finding(
                        codes::LITERAL_SECRET,
                        format!(
                            "{} is a secret but its value is written in the manifest; take it \
                             from a Secret or `${{VAR}}` interpolation",
                            var.name
                        ),
                    ));
                }
                literal.insert(var.name.clone());
                env.insert(var.name.clone(), text.clone());
            }
            EnvValue::Hidden => {
                env.insert(var.name.clone(), placeholder(key, binary));
            }
        }
    }

    // A settings file may supply anything: its values are not ours to see.
    let incomplete = w.env_incomplete || w.env.iter().any(|v| v.name == "SPECLINE_CONFIG");
    for key in keys::KEYS
        .iter()
        .filter(|k| k.required_by.contains(&binary))
    {
        let name = key.env_name();
        if env.contains_key(&name) {
            continue;
        }
        if !incomplete {
            out.push(w.finding(
                codes::MISSING_REQUIRED,
                format!(
                    "{name} ({}) is required by {binary} and not given",
                    key.path()
                ),
            ));
        }
        env.insert(name, placeholder(key, binary));
    }

    validate(w, binary, env, &literal, incomplete, out);
}

/// Loads the binary's profile until it passes, reporting each rejected literal and each
/// conditional requirement (`provider.model` when `provider.kind = "gemini"`) on the way. The
/// loader stops at the first error, so each round replaces the culprit with a placeholder;
/// there are at most as many rounds as keys.
fn validate(
    w: &Workload,
    binary: Binary,
    mut env: BTreeMap<String, String>,
    literal: &BTreeSet<String>,
    incomplete: bool,
    out: &mut Vec<Finding>,
) {
    let mut replaced = BTreeSet::new();
    for _ in 0..=keys::KEYS.len() {
        let error = match load(binary, &env) {
            Ok(()) => return,
            Err(e) => e,
        };
        let (code, name) = match &error {
            SettingsError::Invalid { env: name, .. } if literal.contains(name) => {
                (codes::INVALID_VALUE, name.clone())
            }
            SettingsError::Missing { env: name, .. } => (codes::MISSING_REQUIRED, name.clone()),
            // A placeholder rejected, or an error of another kind: a bug here, not in the
            // manifest. Say so once rather than loop.
            _ => {
                out.push(w.finding(codes::INVALID_VALUE, settings_message(&error)));
                return;
            }
        };
        let Some(key) = keys::find_env(&name) else {
            return;
        };
        if !replaced.insert(name.clone()) {
            return;
        }
        if code != codes::MISSING_REQUIRED || !incomplete {
            out.push(w.finding(code, settings_message(&error)));
        }
        env.insert(name, placeholder(key, binary));
    }
}

/// Loads `binary`'s profile from `env` alone (no settings file: `SPECLINE_CONFIG` never
/// reaches here with a value).
fn load(binary: Binary, env: &BTreeMap<String, String>) -> Result<(), SettingsError> {
    let mut env = env.clone();
    env.remove("SPECLINE_CONFIG");
    let options = LoadOptions::new(Env::from_map(env));
    match binary {
        Binary::Analyzer => Settings::load::<AnalyzerSettings>(&options).map(drop),
        Binary::SpecGenerator => Settings::load::<SpecGeneratorSettings>(&options).map(drop),
        Binary::Scheduler => Settings::load::<SchedulerSettings>(&options).map(drop),
        Binary::Enqueue => Settings::load::<EnqueueSettings>(&options).map(drop),
        Binary::Api => Settings::load::<ApiSettings>(&options).map(drop),
        Binary::AllInOne => Settings::load::<AllInOneSettings>(&options).map(drop),
    }
}

/// The names the settings crate calls unknown, with its own near-miss suggestions: a strict
/// load reports them before reading any value (values are empty here, so no file is read).
fn unknown_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<SettingsWarning> {
    let env = Env::from_map(names.map(|n| (n.to_string(), String::new())));
    match Settings::load::<EnqueueSettings>(&LoadOptions::new(env).strict(true)) {
        Err(SettingsError::Unknown { warnings }) => warnings,
        _ => Vec::new(),
    }
}

/// A settings error's message without its `SETTINGS_*` code (the finding has its own).
fn settings_message(error: &SettingsError) -> String {
    let text = error.to_string();
    match text.split_once(": ") {
        Some((code, rest)) if code == error.code() => rest.to_string(),
        _ => text,
    }
}

fn foreign_message(key: &KeyDef, binary: Binary) -> String {
    let users: Vec<&str> = key.binaries().iter().map(|b| b.name()).collect();
    let why = if key.ty.is_secret() {
        "a secret handed to a binary that must not have it"
    } else {
        "it has no effect here"
    };
    format!(
        "{} ({}) is not read by {binary}: {why} (read by {})",
        key.env_name(),
        key.path(),
        users.join(", ")
    )
}

/// A secret value in plain text. A database URL counts only with a password in it.
fn is_literal_secret(ty: KeyType, text: &str) -> bool {
    if !ty.is_secret() || text.trim().is_empty() {
        return false;
    }
    match ty {
        KeyType::PostgresUrl => text
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .is_some_and(|(userinfo, _)| userinfo.contains(':')),
        _ => true,
    }
}

/// A value of `key`'s type that the settings crate accepts, standing in for one the manifest
/// does not show.
pub(crate) fn placeholder(key: &KeyDef, binary: Binary) -> String {
    match key.ty {
        // A string with a default may be a list the section checks (allowed schemes): the
        // default is valid by construction.
        KeyType::String => key
            .default
            .for_binary(binary)
            .unwrap_or("placeholder")
            .to_string(),
        // Also a valid `name=value` list, for the secret that is one (`telemetry.otlp_headers`).
        KeyType::Secret => "placeholder=placeholder".to_string(),
        KeyType::Integer { min, .. } => min.to_string(),
        KeyType::Choice(options) => options.first().copied().unwrap_or_default().to_string(),
        // 32 zero bytes, base64.
        KeyType::Key32 => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_string(),
        KeyType::Path => "/placeholder".to_string(),
        KeyType::SocketAddr => key
            .default
            .for_binary(binary)
            .unwrap_or("0.0.0.0:9100")
            .to_string(),
        KeyType::PostgresUrl => "postgres://placeholder@localhost/placeholder".to_string(),
        KeyType::Identifier => "public".to_string(),
        KeyType::Language => "en".to_string(),
        KeyType::HttpUrl => "https://placeholder.invalid".to_string(),
        KeyType::OwnerWeights => "placeholder=1".to_string(),
    }
}

/// The queue list, order and spacing aside.
pub(crate) fn queue_set<S: AsRef<str>>(queues: &[S]) -> BTreeSet<String> {
    queues
        .iter()
        .flat_map(|q| q.as_ref().split(','))
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_queues(w: &Workload, binary: Binary, services: &[ServiceSpec], out: &mut Vec<Finding>) {
    let Some(spec) = services.iter().find(|s| s.binary == binary) else {
        return;
    };
    let expected = queue_set(&spec.queues);
    let shown = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(",");
    match &w.queues {
        Some(label) => {
            let given = queue_set(&[label]);
            if given != expected {
                out.push(w.finding(
                    codes::QUEUE_MISMATCH,
                    format!(
                        "{} is `{}`, but {binary} consumes `{}` in the code",
                        w.queues_field,
                        shown(&given),
                        shown(&expected)
                    ),
                ));
            }
        }
        None if long_running(binary) => out.push(w.finding(
            codes::QUEUE_MISMATCH,
            format!(
                "{} is missing; {binary} consumes `{}` (write it even when empty)",
                w.queues_field,
                shown(&expected)
            ),
        )),
        None => {}
    }
}

/// The value of a key for this workload: its literal, `None` when hidden, else the default.
fn literal_or_default<'a>(w: &'a Workload, key: &KeyDef, binary: Binary) -> Option<&'a str> {
    let name = key.env_name();
    match w.env.iter().find(|v| v.name == name).map(|v| &v.value) {
        Some(EnvValue::Literal(text)) => Some(text.as_str()),
        Some(EnvValue::Hidden) => None,
        None => key.default.for_binary(binary),
    }
}

fn check_probes(w: &Workload, binary: Binary, out: &mut Vec<Finding>) {
    if w.probes.is_empty() {
        out.push(w.finding(
            codes::MISSING_PROBE,
            format!("{binary} serves /healthz and /readyz, but nothing probes them"),
        ));
    }
    // An invalid or hidden address is reported (or unknowable) elsewhere.
    let Some(port) = literal_or_default(w, &keys::HTTP_LISTEN, binary)
        .and_then(|text| text.parse::<SocketAddr>().ok())
        .map(|addr| addr.port())
    else {
        return;
    };
    let listens = format!("{binary} listens on port {port} (SPECLINE_HTTP__LISTEN)");
    for probe in &w.probes {
        let problem = match &probe.port {
            ProbePort::Number(p) if *p != port => format!("{} reaches port {p}", probe.what),
            ProbePort::UnresolvedName(name) => format!(
                "{} names port `{name}`, which the container does not declare",
                probe.what
            ),
            _ => continue,
        };
        out.push(w.finding(codes::PROBE_PORT, format!("{problem}, but {listens}")));
    }
    if !w.container_ports.is_empty() && !w.container_ports.contains(&port) {
        out.push(w.finding(
            codes::PROBE_PORT,
            format!("no containerPort is {port}, but {listens}"),
        ));
    }
}

fn check_grace(w: &Workload, binary: Binary, out: &mut Vec<Finding>) {
    let Some(key) = keys::KEYS
        .iter()
        .find(|k| k.key == "shutdown_deadline_secs" && k.binaries().contains(&binary))
    else {
        return;
    };
    let deadline = literal_or_default(w, key, binary).and_then(|t| t.trim().parse::<u64>().ok());
    if let (Some(deadline), Some(grace)) = (deadline, w.grace_secs) {
        if grace < deadline {
            out.push(w.finding(
                codes::GRACE_PERIOD,
                format!(
                    "{} is {grace}s, shorter than {} ({deadline}s): running jobs would be \
                     killed before their shutdown deadline",
                    w.grace_field,
                    key.env_name()
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every placeholder must pass the settings crate for every binary, or hidden values would
    /// be reported as invalid.
    #[test]
    fn placeholders_are_valid_for_every_binary() {
        for &binary in Binary::ALL {
            let env: BTreeMap<String, String> = keys::KEYS
                .iter()
                .filter(|k| k.binaries().contains(&binary))
                .map(|k| (k.env_name(), placeholder(k, binary)))
                .collect();
            load(binary, &env).unwrap_or_else(|e| panic!("{binary}: {e}"));
        }
    }

    #[test]
    fn literal_secrets() {
        assert!(is_literal_secret(KeyType::Secret, "sk-123"));
        assert!(!is_literal_secret(KeyType::Secret, ""));
        assert!(is_literal_secret(
            KeyType::PostgresUrl,
            "postgres://u:pw@h/db"
        ));
        assert!(!is_literal_secret(
            KeyType::PostgresUrl,
            "postgres://u@h/db"
        ));
        assert!(!is_literal_secret(KeyType::Integer { min: 1, max: 2 }, "1"));
    }

    #[test]
    fn queue_lists_ignore_order_and_spaces() {
        assert_eq!(
            queue_set(&["spec, analyze"]),
            queue_set(&["analyze", "spec"])
        );
        assert!(queue_set(&[""]).is_empty());
    }
}
