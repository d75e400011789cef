//! Reading Kubernetes manifests into [`Workload`]s.
//!
//! Secrets and ConfigMaps are collected from every file first, so a reference is resolved
//! wherever in the directory its target is defined (Kubernetes itself does not care about
//! file boundaries). Namespaces are not compared: the manifests of one deployment share one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::codes;
use crate::workload::{EnvValue, EnvVar, ManifestSet, Probe, ProbePort, Workload};
use crate::yaml::Node;
use crate::{DeployCheckError, Finding};

/// The annotation that lists the queues a workload consumes.
pub(crate) const QUEUES_ANNOTATION: &str = "specline.dev/queues";

/// Kubernetes' default `terminationGracePeriodSeconds`.
const DEFAULT_GRACE_SECS: u64 = 30;

/// Every `*.yaml`/`*.yml` file below `dir`, sorted, so reports are stable.
pub(crate) fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, DeployCheckError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let io = |source| DeployCheckError::Io {
            path: current.clone(),
            source,
        };
        for entry in std::fs::read_dir(&current).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Keys defined by the Secrets and data of the ConfigMaps, by object name.
#[derive(Default)]
struct Objects {
    secrets: BTreeMap<String, Vec<String>>,
    config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

impl Objects {
    fn collect(docs: &[(PathBuf, Vec<Node>)]) -> Objects {
        let mut objects = Objects::default();
        for doc in docs.iter().flat_map(|(_, d)| d) {
            let Some(name) = doc.text_at(&["metadata", "name"]) else {
                continue;
            };
            let keys_of = |field: &str| {
                doc.get(field)
                    .map(Node::entries)
                    .unwrap_or_default()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.text().unwrap_or_default().to_string()))
                    .collect::<Vec<_>>()
            };
            match doc.text_at(&["kind"]) {
                Some("Secret") => {
                    let keys = keys_of("data").into_iter().chain(keys_of("stringData"));
                    objects
                        .secrets
                        .entry(name.to_string())
                        .or_default()
                        .extend(keys.map(|(k, _)| k));
                }
                Some("ConfigMap") => {
                    objects
                        .config_maps
                        .entry(name.to_string())
                        .or_default()
                        .extend(keys_of("data"));
                }
                _ => {}
            }
        }
        objects
    }
}

/// Reads the workloads of every document.
pub(crate) fn read(dir: &Path, docs: &[(PathBuf, Vec<Node>)]) -> ManifestSet {
    let objects = Objects::collect(docs);
    let mut set = ManifestSet {
        origin: dir.to_path_buf(),
        workloads: Vec::new(),
        findings: Vec::new(),
    };
    for (file, doc) in docs.iter().flat_map(|(f, d)| d.iter().map(move |n| (f, n))) {
        let Some((pod, template_meta)) = pod_spec(doc) else {
            continue;
        };
        let kind = doc.text_at(&["kind"]).unwrap_or_default();
        let object = doc.text_at(&["metadata", "name"]).unwrap_or_default();
        let queues = doc
            .at(&["metadata", "annotations", QUEUES_ANNOTATION])
            .or_else(|| template_meta.and_then(|m| m.at(&["annotations", QUEUES_ANNOTATION])))
            .map(|n| n.text().unwrap_or_default().to_string());
        let grace = match pod.get("terminationGracePeriodSeconds") {
            None => Some(DEFAULT_GRACE_SECS),
            Some(n) => n.text().and_then(|t| t.parse().ok()),
        };
        let containers = ["initContainers", "containers"]
            .iter()
            .flat_map(|k| pod.get(k).map(Node::items).unwrap_or_default());
        for container in containers {
            let cname = container.text_at(&["name"]).unwrap_or_default();
            let mut w = Workload {
                file: file.clone(),
                name: format!("{kind}/{object}[{cname}]"),
                queues: queues.clone(),
                queues_field: "annotation specline.dev/queues",
                grace_secs: grace,
                grace_field: "terminationGracePeriodSeconds",
                ..Workload::default()
            };
            if grace.is_none() {
                set.findings.push(w.finding(
                    codes::MALFORMED,
                    "terminationGracePeriodSeconds is not a whole number of seconds".to_string(),
                ));
            }
            read_container(container, &objects, &mut w, &mut set.findings);
            set.workloads.push(w);
        }
    }
    set
}

/// The pod spec of a workload object and its template's metadata (where annotations may
/// also be).
fn pod_spec(doc: &Node) -> Option<(&Node, Option<&Node>)> {
    let template = match doc.text_at(&["kind"])? {
        "Pod" => return doc.get("spec").map(|s| (s, None)),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            doc.at(&["spec", "template"])?
        }
        "CronJob" => doc.at(&["spec", "jobTemplate", "spec", "template"])?,
        _ => return None,
    };
    Some((template.get("spec")?, template.get("metadata")))
}

fn read_container(c: &Node, objects: &Objects, w: &mut Workload, findings: &mut Vec<Finding>) {
    for key in ["command", "args"] {
        if let Some(node) = c.get(key) {
            w.argv.extend(node.words());
        }
    }
    let named_ports: Vec<(String, u16)> = c
        .get("ports")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let number = p.text_at(&["containerPort"])?.parse().ok()?;
            Some((p.text_at(&["name"]).unwrap_or_default().to_string(), number))
        })
        .collect();
    w.container_ports = named_ports.iter().map(|(_, n)| *n).collect();

    for what in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = c.get(what) else { continue };
        let port = ["httpGet", "tcpSocket", "grpc"]
            .iter()
            .find_map(|h| probe.text_at(&[h, "port"]))
            .map_or(ProbePort::Unknown, |p| resolve_port(p, &named_ports));
        w.probes.push(Probe { what, port });
    }

    for var in c.get("env").map(Node::items).unwrap_or_default() {
        let Some(name) = var.text_at(&["name"]) else {
            findings.push(w.finding(codes::MALFORMED, "an env entry has no name".to_string()));
            continue;
        };
        let value = env_value(var, name, objects, w, findings);
        w.env.push(EnvVar {
            name: name.to_string(),
            value,
        });
    }
    for source in c.get("envFrom").map(Node::items).unwrap_or_default() {
        env_from(source, objects, w, findings);
    }
}

/// A probe's `port`: a number, or the name of one of the container's ports.
fn resolve_port(port: &str, named: &[(String, u16)]) -> ProbePort {
    if let Ok(n) = port.parse() {
        return ProbePort::Number(n);
    }
    named.iter().find(|(name, _)| name == port).map_or_else(
        || ProbePort::UnresolvedName(port.to_string()),
        |(_, n)| ProbePort::Number(*n),
    )
}

/// A reference (`secretKeyRef`, `configMapRef`, ...) as name, key and whether it may dangle.
struct Ref<'a> {
    name: &'a str,
    key: Option<&'a str>,
    optional: bool,
}

impl<'a> Ref<'a> {
    fn of(node: &'a Node) -> Ref<'a> {
        Ref {
            name: node.text_at(&["name"]).unwrap_or_default(),
            key: node.text_at(&["key"]),
            optional: node.text_at(&["optional"]) == Some("true"),
        }
    }

    /// The finding for a reference whose target is not defined, unless it may dangle.
    fn dangling(&self, w: &Workload, code: &'static str, kind: &str, var: &str) -> Option<Finding> {
        if self.optional {
            return None;
        }
        let target = match self.key {
            Some(key) => format!("key `{key}` of {kind} `{}`", self.name),
            None => format!("{kind} `{}`", self.name),
        };
        Some(w.finding(
            code,
            format!("{var} refers to {target}, which no manifest here defines"),
        ))
    }
}

fn env_value(
    var: &Node,
    name: &str,
    objects: &Objects,
    w: &Workload,
    findings: &mut Vec<Finding>,
) -> EnvValue {
    if let Some(text) = var.text_at(&["value"]) {
        // `$(OTHER)` is expanded by the kubelet from the container's other variables.
        return if text.contains("$(") {
            EnvValue::Hidden
        } else {
            EnvValue::Literal(text.to_string())
        };
    }
    if let Some(r) = var.at(&["valueFrom", "secretKeyRef"]).map(Ref::of) {
        let defined = objects
            .secrets
            .get(r.name)
            .is_some_and(|keys| r.key.is_some_and(|k| keys.iter().any(|x| x == k)));
        if !defined {
            findings.extend(r.dangling(w, codes::MISSING_SECRET, "Secret", name));
        }
        return EnvValue::Hidden;
    }
    if let Some(r) = var.at(&["valueFrom", "configMapKeyRef"]).map(Ref::of) {
        let found = objects
            .config_maps
            .get(r.name)
            .and_then(|data| r.key.and_then(|k| data.get(k)));
        return match found {
            Some(v) => EnvValue::Literal(v.clone()),
            None => {
                findings.extend(r.dangling(w, codes::MISSING_CONFIG, "ConfigMap", name));
                EnvValue::Hidden
            }
        };
    }
    // fieldRef, resourceFieldRef, or an entry with neither: known only at run time.
    EnvValue::Hidden
}

/// `envFrom`: every key of a ConfigMap (as literals) or a Secret, with an optional prefix.
fn env_from(source: &Node, objects: &Objects, w: &mut Workload, findings: &mut Vec<Finding>) {
    let prefix = source.text_at(&["prefix"]).unwrap_or_default();
    let vars: Option<Vec<EnvVar>> = if let Some(r) = source.get("configMapRef").map(Ref::of) {
        let data = objects.config_maps.get(r.name);
        if data.is_none() {
            findings.extend(r.dangling(w, codes::MISSING_CONFIG, "ConfigMap", "envFrom"));
        }
        data.map(|d| {
            d.iter()
                .map(|(k, v)| EnvVar {
                    name: format!("{prefix}{k}"),
                    value: EnvValue::Literal(v.clone()),
                })
                .collect()
        })
    } else if let Some(r) = source.get("secretRef").map(Ref::of) {
        let keys = objects.secrets.get(r.name);
        if keys.is_none() {
            findings.extend(r.dangling(w, codes::MISSING_SECRET, "Secret", "envFrom"));
        }
        keys.map(|ks| {
            ks.iter()
                .map(|k| EnvVar {
                    name: format!("{prefix}{k}"),
                    value: EnvValue::Hidden,
                })
                .collect()
        })
    } else {
        None
    };
    match vars {
        Some(vars) => w.env.extend(vars),
        None => w.env_incomplete = true,
    }
}
