//! A JavaScript runner's configuration decides which files are tests when it says so:
//! Mocha's `spec`, Jest's `testMatch`/`testRegex`/`testPathIgnorePatterns`, Vitest's
//! `include`/`exclude`. Fixture files a suite runs in a subprocess are not tests.
#![allow(clippy::unwrap_used)]

mod common;
use std::path::Path;

use common::{assert_file, scan_fixture};
use specline_inventory::{scan, ScanOptions};

fn paths(inv: &specline_inventory::model::Inventory) -> Vec<&str> {
    inv.files.iter().map(|f| f.path.as_str()).collect()
}

#[test]
fn runner_configurations_select_the_test_files() {
    let inv = scan_fixture("js-runner-config");
    // Left out: jest-app's ignored fixtures/, its helpers.js and test/pay.test.js (not
    // in testMatch); mocha-app's test/fixtures/ (not in spec); vitest-app's excluded
    // src/fixtures/.
    assert_eq!(
        paths(&inv),
        vec![
            "jest-app/src/__tests__/cart.test.js",
            "jest-app/test/checkout.e2e.js",
            "mocha-app/test/smoke.js",
            "mocha-app/test/unit/router.spec.js",
            "vitest-app/src/lib/math.test.ts",
        ]
    );
    assert_file(
        &inv,
        "jest-app/src/__tests__/cart.test.js",
        "jest",
        &["T adds"],
    );
    assert_file(
        &inv,
        "jest-app/test/checkout.e2e.js",
        "jest",
        &["S checkout", "T checkout :: pays"],
    );
    assert_file(
        &inv,
        "mocha-app/test/smoke.js",
        "mocha",
        &["S smoke", "T smoke :: boots"],
    );
    assert_file(
        &inv,
        "vitest-app/src/lib/math.test.ts",
        "vitest",
        &["S math", "T math :: adds"],
    );
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

const ONE_TEST: &[u8] = b"test('works', () => {});\n";

#[test]
fn configurations_that_cannot_be_read_statically_leave_the_conventions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Computed values: nothing is known, nothing is executed.
    write(
        root,
        "a/jest.config.js",
        b"const { execSync } = require('child_process');\nmodule.exports = { testMatch: execSync('touch pwned') };\n",
    );
    write(root, "a/x.test.js", ONE_TEST);
    // Malformed JSON and a config with `projects` (each project has its own rules).
    write(root, "b/package.json", b"{ \"jest\": { \"testMatch\": [");
    write(root, "b/x.test.js", ONE_TEST);
    write(
        root,
        "c/jest.config.json",
        b"{ \"projects\": [{ \"testMatch\": [\"**/nothing\"] }] }",
    );
    write(root, "c/x.test.js", ONE_TEST);
    // Over the size limit: an error, and the conventions apply.
    let mut big = b"{ \"spec\": \"nothing/*.js\" }".to_vec();
    big.resize(2 << 20, b' ');
    write(root, "d/.mocharc.json", &big);
    write(root, "d/x.test.js", ONE_TEST);
    let inv = scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(
        paths(&inv),
        vec!["a/x.test.js", "b/x.test.js", "c/x.test.js", "d/x.test.js"]
    );
    assert!(!root.join("pwned").exists() && !root.join("a/pwned").exists());
    let codes: Vec<(&str, &str)> = inv
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(codes, vec![("d/.mocharc.json", "CONFIG_UNREADABLE")]);
}
