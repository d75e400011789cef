//! Helpers shared by the integration tests: scan a fixture and render it as lines that
//! expected values can be written against by hand.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use specline_inventory::model::{Inventory, Status, Suite, Test, TestFile};
use specline_inventory::{scan, ScanOptions};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn scan_fixture(name: &str) -> Inventory {
    let inv = scan(&fixture(name), &ScanOptions::default()).unwrap();
    assert!(inv.errors.is_empty(), "errors: {:?}", inv.errors);
    inv
}

pub fn file<'a>(inv: &'a Inventory, path: &str) -> &'a TestFile {
    inv.files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| {
            let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
            panic!("no file {path} in {paths:?}")
        })
}

fn status(s: Status, m: &Option<String>) -> String {
    let word = match s {
        // An active item with a modifier is conditional (`skip "x" if cond`).
        Status::Active => return m.as_ref().map(|m| format!(" | {m}")).unwrap_or_default(),
        Status::Skipped => "skipped",
        Status::Todo => "todo",
        Status::Focused => "focused",
        Status::Xfail => "xfail",
    };
    match m {
        Some(m) => format!(" | {word} {m}"),
        None => format!(" | {word}"),
    }
}

fn test_line(path: &[&str], t: &Test) -> String {
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{} :: ", path.join(" > "))
    };
    format!(
        "T {prefix}{}{}{}",
        t.name,
        status(t.status, &t.modifier),
        if t.dynamic { " | dynamic" } else { "" }
    )
}

fn suite_lines<'a>(s: &'a Suite, path: &mut Vec<&'a str>, out: &mut Vec<String>) {
    path.push(&s.name);
    out.push(format!(
        "S {}{}",
        path.join(" > "),
        status(s.status, &s.modifier)
    ));
    for t in &s.tests {
        out.push(test_line(path, t));
    }
    for c in &s.suites {
        suite_lines(c, path, out);
    }
    path.pop();
}

/// `S a > b | skipped .skip` for suites, `T a > b :: name | focused .only | dynamic` for
/// tests; top-level tests first, then suites depth-first.
pub fn render(f: &TestFile) -> Vec<String> {
    let mut out = Vec::new();
    for t in &f.tests {
        out.push(test_line(&[], t));
    }
    for s in &f.suites {
        suite_lines(s, &mut Vec::new(), &mut out);
    }
    out
}

/// Asserts the framework and the rendering of one file.
pub fn assert_file(inv: &Inventory, path: &str, framework: &str, expected: &[&str]) {
    let f = file(inv, path);
    assert_eq!(f.framework, framework, "framework of {path}");
    let got = render(f);
    let want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want, "rendering of {path}");
}
