//! The documented JSON schema (docs/inventory-schema.md) and the model agree.
#![allow(clippy::unwrap_used)]

mod common;

use specline_inventory::model::{Inventory, Status, SCHEMA_VERSION};

const DOC: &str = include_str!("../../../docs/inventory-schema.md");

#[test]
fn the_documented_example_parses_into_the_model() {
    let start = DOC.find("```json").unwrap() + "```json".len();
    let end = start + DOC[start..].find("```").unwrap();
    let inv: Inventory = serde_json::from_str(&DOC[start..end]).unwrap();
    assert_eq!(inv.schema_version, SCHEMA_VERSION);
    let t = &inv.files[0].suites[0].tests[1];
    assert_eq!(t.status, Status::Skipped);
    assert_eq!(t.modifier.as_deref(), Some(".skip"));
    assert!(inv.files[0].suites[0].tests[0].dynamic);
    let cases = inv.files[0].suites[0].tests[0].cases.as_ref().unwrap();
    assert_eq!((cases.count, cases.names.len()), (3, 0));
    assert_eq!(inv.files[0].runner_count(), 4);
    assert_eq!(inv.stats.runner_tests, 4);
    assert_eq!(t.doc.as_deref(), Some("Totals are rounded to cents."));
    assert_eq!(inv.files[0].suites[0].tests[0].doc, None);
}

#[test]
fn a_scan_writes_exactly_the_documented_fields() {
    let inv = common::scan_fixture("js-jest-repo");
    let json = serde_json::to_value(&inv).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&json),
        [
            "errors",
            "files",
            "parser_version",
            "schema_version",
            "source",
            "stats"
        ]
    );
    let file = &json["files"][0];
    assert_eq!(
        keys(file),
        [
            "domain_hints",
            "framework",
            "language",
            "path",
            "suites",
            "tests"
        ]
    );
    assert_eq!(
        keys(&json["stats"]),
        [
            "duration_ms",
            "errored",
            "files_seen",
            "runner_tests",
            "skipped_binary",
            "skipped_too_large",
            "suites",
            "test_files",
            "tests",
            "truncated"
        ]
    );
    // Every documented framework id that a fixture produces is one the doc lists.
    for f in &inv.files {
        assert!(
            DOC.contains(&format!("`{}`", f.framework)),
            "{}",
            f.framework
        );
    }
}
