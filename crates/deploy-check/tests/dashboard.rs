//! The Grafana dashboard in `deploy/grafana/` queries only metrics the code exports: every
//! `specline_*` name in every panel's expression is one of the engine's or the model
//! client's metrics (a histogram also as the exporter renders it: `_sum`, `_count`).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

/// Every expression in the dashboard (any `expr` field, at any depth).
fn expressions(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                    _ => expressions(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| expressions(v, out)),
        _ => {}
    }
}

/// The `specline_…` identifiers of an expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let word_start = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        if word_start && expr[expr.char_indices().nth(i).unwrap().0..].starts_with("specline_") {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == '_') {
                j += 1;
            }
            out.push(bytes[i..j].iter().collect());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// What the code exports, as Prometheus series names.
fn exported() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let all = specline_queue::metrics::ALL
        .iter()
        .chain(specline_specdoc::model_metrics::ALL);
    for (name, kind) in all {
        names.insert(name.to_string());
        if *kind == "histogram" {
            names.insert(format!("{name}_sum"));
            names.insert(format!("{name}_count"));
        }
    }
    names
}

#[test]
fn every_metric_the_dashboard_queries_is_exported_by_the_code() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/specline-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    expressions(&dashboard, &mut exprs);
    assert!(exprs.len() >= 10, "{exprs:?}");
    let exported = exported();
    let mut queried = BTreeSet::new();
    for e in &exprs {
        let names = metric_names(e);
        assert!(
            !names.is_empty(),
            "an expression that queries no Specline metric: {e}"
        );
        for n in names {
            assert!(
                exported.contains(&n),
                "{n} (in `{e}`) is not exported by the code"
            );
            queried.insert(n);
        }
    }
    // The dashboard covers the engine's queue gauges and the model cost.
    for must in [
        "specline_queue_jobs",
        "specline_model_tokens_total",
        "specline_jobs_rescued_total",
    ] {
        assert!(queried.contains(must), "the dashboard does not show {must}");
    }
}

#[test]
fn names_are_read_whole_from_an_expression() {
    assert_eq!(
        metric_names(
            r#"sum(rate(specline_jobs_total[5m])) / x_specline_no + specline_a_b{q="specline_not_a_metric"}"#
        ),
        [
            "specline_jobs_total",
            "specline_a_b",
            "specline_not_a_metric"
        ]
    );
}
