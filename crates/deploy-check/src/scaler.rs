//! Autoscalers (KEDA `ScaledObject`s and `HorizontalPodAutoscaler`s) against the code: each
//! must scale a Deployment of the manifests that runs a queue-consuming binary, on the depth
//! of exactly the queues the code gives that binary. A scaler left on a renamed queue, or
//! pointed at the wrong deployment, would scale on a gauge that never moves.
//!
//! The queues a scaler reads are the `queue="…"` matchers of its Prometheus queries (KEDA's
//! `prometheus` trigger), the `queue` label of its external metrics' selectors (an HPA
//! through an external-metrics adapter), and its `specline.dev/queues` annotation when it
//! has one; every one found must be the target's queue set, and at least one must be found.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::check::{identify, queue_set};
use crate::workload::ManifestSet;
use crate::yaml::Node;
use crate::{codes, Finding, ServiceSpec};

/// The Deployment name of a workload named `Deployment/NAME[container]`.
fn deployment_of(workload_name: &str) -> Option<&str> {
    workload_name
        .strip_prefix("Deployment/")
        .and_then(|rest| rest.split('[').next())
}

/// The values of every `queue="…"` (or `queue=~"…"` without regex characters) in a query.
fn queues_in_query(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = query;
    while let Some(at) = rest.find("queue") {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = rest[at + "queue".len()..].trim_start();
        rest = &rest[at + "queue".len()..];
        if !before_ok {
            continue;
        }
        let Some(value) = after.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        if let Some(quoted) = value.strip_prefix('"') {
            if let Some(end) = quoted.find('"') {
                out.push(quoted[..end].to_string());
            }
        }
    }
    out
}

/// Every queue a scaler document names.
fn scaler_queues(doc: &Node) -> Vec<String> {
    let mut queues = Vec::new();
    for trigger in doc
        .at(&["spec", "triggers"])
        .map(Node::items)
        .unwrap_or_default()
    {
        if let Some(query) = trigger.text_at(&["metadata", "query"]) {
            queues.extend(queues_in_query(query));
        }
    }
    for metric in doc
        .at(&["spec", "metrics"])
        .map(Node::items)
        .unwrap_or_default()
    {
        if let Some(q) = metric.text_at(&["external", "metric", "selector", "matchLabels", "queue"])
        {
            queues.push(q.to_string());
        }
    }
    queues
}

/// Checks every scaler in `docs` against the workloads of `set` and appends the findings.
pub(crate) fn check_scalers(
    docs: &[(PathBuf, Vec<Node>)],
    set: &ManifestSet,
    services: &[ServiceSpec],
    out: &mut Vec<Finding>,
) {
    for (file, doc) in docs.iter().flat_map(|(f, d)| d.iter().map(move |n| (f, n))) {
        let kind = doc.text_at(&["kind"]).unwrap_or_default();
        if !matches!(kind, "ScaledObject" | "HorizontalPodAutoscaler") {
            continue;
        }
        let name = doc.text_at(&["metadata", "name"]).unwrap_or_default();
        let finding = |message: String| Finding {
            code: codes::SCALER_MISMATCH,
            file: file.clone(),
            service: format!("{kind}/{name}"),
            message,
        };
        let target = doc
            .text_at(&["spec", "scaleTargetRef", "name"])
            .unwrap_or_default();
        let target_kind = doc
            .text_at(&["spec", "scaleTargetRef", "kind"])
            .unwrap_or("Deployment");
        if target_kind != "Deployment" {
            out.push(finding(format!(
                "scales a {target_kind}; Specline's workers are Deployments"
            )));
            continue;
        }
        let Some(binary) = set
            .workloads
            .iter()
            .filter(|w| deployment_of(&w.name) == Some(target))
            .find_map(identify)
        else {
            out.push(finding(format!(
                "scales Deployment {target:?}, which no manifest here defines with a Specline binary"
            )));
            continue;
        };
        let code_queues = services
            .iter()
            .find(|s| s.binary == binary)
            .map(|s| queue_set(&s.queues))
            .unwrap_or_default();
        if code_queues.is_empty() {
            out.push(finding(format!(
                "scales {binary}, which consumes no queue: nothing to scale on"
            )));
            continue;
        }
        let mut named: Vec<BTreeSet<String>> = scaler_queues(doc)
            .iter()
            .map(|q| queue_set(&[q.as_str()]))
            .collect();
        if let Some(annotation) =
            doc.text_at(&["metadata", "annotations", crate::k8s::QUEUES_ANNOTATION])
        {
            named.push(queue_set(&[annotation]));
        }
        if named.is_empty() {
            out.push(finding(format!(
                "names no queue (no `queue=\"…\"` in a query, no `queue` label, no {} annotation); \
                 {binary} consumes {}",
                crate::k8s::QUEUES_ANNOTATION,
                code_queues.iter().cloned().collect::<Vec<_>>().join(",")
            )));
            continue;
        }
        // Every query names one queue; together they must cover the binary's queues.
        let union: BTreeSet<String> = named.iter().flatten().cloned().collect();
        if union != code_queues {
            out.push(finding(format!(
                "scales {binary} on queue(s) {}, but the code gives it {}",
                union.into_iter().collect::<Vec<_>>().join(","),
                code_queues.iter().cloned().collect::<Vec<_>>().join(",")
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_matchers_are_read_from_a_query() {
        assert_eq!(
            queues_in_query(
                r#"sum(max by (kind, state) (specline_queue_jobs{queue="spec", state=~"available|running"}))"#
            ),
            ["spec"]
        );
        assert_eq!(
            queues_in_query(r#"a{queue = "x"} + b{myqueue="y"} + c{queue="z"}"#),
            ["x", "z"]
        );
        assert!(queues_in_query("specline_queue_jobs").is_empty());
    }
}
