//! A spec that imports `test` from a local fixtures module built on `@playwright/test` is
//! a Playwright spec, and its conditional `test.skip(cond, why)` calls are annotations.
#![allow(clippy::unwrap_used)]

mod common;
use std::path::Path;

use common::{assert_file, scan_fixture};
use specline_inventory::{scan, ScanOptions};

#[test]
fn specs_importing_local_playwright_fixtures_are_playwright() {
    let inv = scan_fixture("js-playwright-fixtures");
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "e2e/account/profile.spec.ts",
            "e2e/cart.spec.ts",
            "src/sum.test.ts"
        ]
    );
    // package.json names Jest, but ./fixtures extends @playwright/test's `test`.
    assert_file(
        &inv,
        "e2e/cart.spec.ts",
        "playwright",
        &[
            "T empty cart shows a hint | skipped .fixme",
            // The describe-level conditional skip is the group's annotation, not a test.
            "S cart | skipped .skip",
            "T cart :: adds an item | skipped",
            "T cart :: removes an item | skipped .skip",
        ],
    );
    // Two modules deep: ../support/test re-exports ./base, which imports @playwright/test.
    assert_file(
        &inv,
        "e2e/account/profile.spec.ts",
        "playwright",
        &["T shows the name", "T uploads an avatar | skipped .skip"],
    );
    // A local import that leads to no framework changes nothing.
    assert_file(&inv, "src/sum.test.ts", "jest", &["T adds"]);
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

const SPEC: &[u8] = b"import { test } from './fixtures';\n\
test.describe('g', () => {\n  test.skip(isMobile, 'no');\n  test('a', async () => {});\n});\n";

#[cfg(unix)]
#[test]
fn local_imports_are_not_followed_out_of_the_tree() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "fixtures.ts",
        b"import { test } from '@playwright/test';\nexport { test };\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "package.json",
        b"{ \"devDependencies\": { \"jest\": \"29\" } }",
    );
    // A symlinked module and a module reached through a symlinked directory.
    write(root, "e2e/a.spec.ts", SPEC);
    std::os::unix::fs::symlink(
        outside.path().join("fixtures.ts"),
        root.join("e2e/fixtures.ts"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
    write(
        root,
        "b/b.spec.ts",
        b"import { test } from '../linked/fixtures';\ntest.describe('g', () => {\n  test('a', async () => {});\n});\n",
    );
    let inv = scan(root, &ScanOptions::default()).unwrap();
    for f in &inv.files {
        assert_eq!(f.framework, "jest", "{}", f.path);
    }
    assert_eq!(inv.files.len(), 2);
}

#[test]
fn a_cycle_of_local_imports_ends() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "e2e/fixtures.ts",
        b"import { x } from './other';\nexport const test = x;\n",
    );
    write(
        root,
        "e2e/other.ts",
        b"import { test } from './fixtures';\nexport const x = test;\n",
    );
    write(
        root,
        "e2e/a.spec.ts",
        b"import { test } from './fixtures';\ntest('a', () => {});\n",
    );
    let inv = scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(inv.files.len(), 1);
    assert_eq!(inv.files[0].framework, "jest");
}
