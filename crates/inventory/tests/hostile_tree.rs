//! Trees that try to hang or mislead the scan through special files: a FIFO and symlinks
//! to it where framework detection reads config files, and where the scan reads tests.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use specline_inventory::{scan, ScanOptions};

const JEST_TEST: &[u8] = b"test('works', () => {});\n";

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Scans `dir` on another thread; fails the test instead of hanging it.
fn scan_or_hang(dir: &Path) -> specline_inventory::model::Inventory {
    let dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let opts = ScanOptions {
            threads: 2,
            ..ScanOptions::default()
        };
        let _ = tx.send(scan(&dir, &opts).unwrap());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the scan blocked on a FIFO")
}

#[test]
fn config_files_that_are_fifos_or_symlinks_are_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let fifo = root.join("fifo");
    mkfifo(&fifo);
    // Read for their content by detection: package.json (contains "vitest") and a
    // Playwright config (scope). Each is a symlink to the FIFO, in its own package.
    for (pkg, config) in [
        ("a", "package.json"),
        ("b", "playwright.config.ts"),
        ("c", "pyproject.toml"),
    ] {
        std::fs::create_dir_all(root.join(pkg)).unwrap();
        std::os::unix::fs::symlink(&fifo, root.join(pkg).join(config)).unwrap();
    }
    // A FIFO itself named like a config file.
    std::fs::create_dir_all(root.join("d")).unwrap();
    mkfifo(&root.join("d/package.json"));
    for pkg in ["a", "b", "d"] {
        std::fs::write(root.join(pkg).join("x.test.js"), JEST_TEST).unwrap();
    }
    std::fs::write(root.join("c/test_x.py"), b"def test_x():\n    pass\n").unwrap();
    let inv = scan_or_hang(root);
    assert_eq!(inv.stats.test_files, 4);
    assert_eq!(inv.stats.tests, 4);
}

#[test]
fn a_symlinked_config_does_not_choose_the_framework() {
    // A real vitest package.json outside the tree, linked in: the walker's rule (no
    // symlinks) holds for detection too, so the file falls back to the default runner.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("package.json"),
        br#"{"devDependencies": {"vitest": "1"}}"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("package.json"),
        dir.path().join("package.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("x.test.js"), JEST_TEST).unwrap();
    let inv = scan_or_hang(dir.path());
    assert_eq!(inv.files.len(), 1);
    assert_eq!(inv.files[0].framework, "jest");
    // The same file, not linked, is read.
    std::fs::remove_file(dir.path().join("package.json")).unwrap();
    std::fs::copy(
        outside.path().join("package.json"),
        dir.path().join("package.json"),
    )
    .unwrap();
    let inv = scan_or_hang(dir.path());
    assert_eq!(inv.files[0].framework, "vitest");
}
