//! Reading a Docker Compose file into [`Workload`]s.

use std::path::Path;

use crate::codes;
use crate::workload::{EnvValue, EnvVar, ManifestSet, Probe, ProbePort, Workload};
use crate::yaml::Node;
use crate::Finding;

/// The label that lists the queues a compose service consumes.
pub(crate) const QUEUES_LABEL: &str = "dev.specline.queues";

/// Compose's default `stop_grace_period`.
const DEFAULT_GRACE_SECS: u64 = 10;

/// Reads the compose file's services. Only the first document counts, as in Compose.
pub(crate) fn read(path: &Path, docs: &[Node]) -> ManifestSet {
    let mut set = ManifestSet {
        origin: path.to_path_buf(),
        workloads: Vec::new(),
        findings: Vec::new(),
    };
    let Some(doc) = docs.first() else {
        return set;
    };
    let declared_secrets: Vec<&str> = doc
        .get("secrets")
        .map(|s| s.entries().iter().map(|(k, _)| k.as_str()).collect())
        .unwrap_or_default();
    for (name, service) in doc.get("services").map(Node::entries).unwrap_or_default() {
        let w = service_workload(path, name, service, &mut set.findings);
        for secret in service.get("secrets").map(Node::items).unwrap_or_default() {
            let source = secret.text().or_else(|| secret.text_at(&["source"]));
            match source {
                Some(s) if declared_secrets.contains(&s) => {}
                Some(s) => set.findings.push(w.finding(
                    codes::MISSING_SECRET,
                    format!("uses secret `{s}`, which the top-level `secrets:` does not declare"),
                )),
                None => set.findings.push(w.finding(
                    codes::MALFORMED,
                    "a `secrets:` entry names no secret".to_string(),
                )),
            }
        }
        set.workloads.push(w);
    }
    set
}

fn service_workload(
    path: &Path,
    name: &str,
    service: &Node,
    findings: &mut Vec<Finding>,
) -> Workload {
    let mut w = Workload {
        file: path.to_path_buf(),
        name: name.to_string(),
        queues_field: "label dev.specline.queues",
        grace_field: "stop_grace_period",
        env_incomplete: service.get("env_file").is_some(),
        ..Workload::default()
    };
    for key in ["entrypoint", "command"] {
        if let Some(node) = service.get(key) {
            w.argv.extend(node.words());
        }
    }
    w.env = environment(service.get("environment"));
    w.queues = label(service.get("labels"), QUEUES_LABEL);
    w.probes = healthcheck(service.get("healthcheck"));
    w.grace_secs = match service.text_at(&["stop_grace_period"]) {
        None => Some(DEFAULT_GRACE_SECS),
        Some(text) => {
            let secs = parse_duration_secs(text);
            if secs.is_none() {
                findings.push(w.finding(
                    codes::MALFORMED,
                    format!("stop_grace_period `{text}` is not a duration such as `45s` or `2m`"),
                ));
            }
            secs
        }
    };
    w
}

/// `environment:` as a mapping or as a list of `NAME=value` / `NAME` (taken from the host).
fn environment(node: Option<&Node>) -> Vec<EnvVar> {
    let Some(node) = node else {
        return Vec::new();
    };
    let pairs: Vec<(String, Option<String>)> = match node {
        Node::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), v.text().map(str::to_string)))
            .collect(),
        _ => node
            .items()
            .iter()
            .filter_map(Node::text)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (item.to_string(), None),
            })
            .collect(),
    };
    pairs
        .into_iter()
        .map(|(name, value)| EnvVar {
            name,
            value: match value {
                Some(v) if !interpolates(&v) => EnvValue::Literal(v.replace("$$", "$")),
                _ => EnvValue::Hidden,
            },
        })
        .collect()
}

/// True when compose substitutes something into `value` (`${VAR}`, `$VAR`; `$$` is a literal
/// dollar sign).
fn interpolates(value: &str) -> bool {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            continue;
        }
        match chars.peek() {
            Some('$') => {
                chars.next();
            }
            Some(n) if *n == '{' || *n == '_' || n.is_ascii_alphabetic() => return true,
            _ => {}
        }
    }
    false
}

/// A label from `labels:` as a mapping or a list of `key=value`.
fn label(node: Option<&Node>, key: &str) -> Option<String> {
    let node = node?;
    if let Some(v) = node.get(key) {
        return Some(v.text().unwrap_or_default().to_string());
    }
    node.items()
        .iter()
        .filter_map(Node::text)
        .find_map(|item| match item.split_once('=') {
            Some((k, v)) if k == key => Some(v.to_string()),
            None if item == key => Some(String::new()),
            _ => None,
        })
}

/// The healthcheck as a probe, unless absent or disabled.
fn healthcheck(node: Option<&Node>) -> Vec<Probe> {
    let Some(node) = node else {
        return Vec::new();
    };
    if node.text_at(&["disable"]) == Some("true") {
        return Vec::new();
    }
    let words = node.get("test").map(Node::words).unwrap_or_default();
    if words.first().map(String::as_str) == Some("NONE") || words.is_empty() {
        return Vec::new();
    }
    let port = words
        .iter()
        .find_map(|w| port_in_word(w))
        .map_or(ProbePort::Unknown, ProbePort::Number);
    vec![Probe {
        what: "healthcheck",
        port,
    }]
}

/// The port an HTTP URL (`http://127.0.0.1:9101/healthz`) or a bash `/dev/tcp/host/port` path
/// in a healthcheck command reaches.
fn port_in_word(word: &str) -> Option<u16> {
    if let Some((scheme, rest)) = word.split_once("://") {
        let authority = rest.split('/').next().unwrap_or(rest);
        let scheme = scheme.rsplit(|c: char| !c.is_ascii_alphanumeric()).next()?;
        return match authority.rsplit_once(':') {
            Some((_, port)) if !port.ends_with(']') => leading_number(port),
            _ => match scheme {
                "http" => Some(80),
                "https" => Some(443),
                _ => None,
            },
        };
    }
    let (_, rest) = word.split_once("/dev/tcp/")?;
    leading_number(rest.split('/').nth(1)?)
}

/// The number at the start of `text` (`9101'` from a quoted shell word).
fn leading_number(text: &str) -> Option<u16> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A compose duration (`45s`, `1m30s`, `2m`, `1h`, `500ms`, or bare seconds) in whole seconds,
/// rounded down.
pub(crate) fn parse_duration_secs(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(secs);
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let ms_per_unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return None,
        };
        total_ms = total_ms.checked_add(n.checked_mul(ms_per_unit)?)?;
        rest = &rest[unit_len..];
    }
    Some(total_ms / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("45s"), Some(45));
        assert_eq!(parse_duration_secs("1m30s"), Some(90));
        assert_eq!(parse_duration_secs("2m"), Some(120));
        assert_eq!(parse_duration_secs("1500ms"), Some(1));
        assert_eq!(parse_duration_secs("30"), Some(30));
        assert_eq!(parse_duration_secs("soon"), None);
        assert_eq!(parse_duration_secs("5x"), None);
    }

    #[test]
    fn healthcheck_ports() {
        assert_eq!(port_in_word("http://127.0.0.1:9101/healthz"), Some(9101));
        assert_eq!(port_in_word("http://localhost/healthz"), Some(80));
        assert_eq!(port_in_word("'http://[::1]:9102/healthz'"), Some(9102));
        assert_eq!(port_in_word("3<>/dev/tcp/127.0.0.1/9103"), Some(9103));
        assert_eq!(port_in_word("pg_isready"), None);
    }

    #[test]
    fn interpolation_is_seen_and_escaped_dollars_are_not() {
        assert!(interpolates("${A:?x}"));
        assert!(interpolates("pre$NAME"));
        assert!(!interpolates("cost $$5"));
        assert!(!interpolates("plain"));
    }
}
