//! Scan behaviour on trees made by the tests: streaming, cancellation, timeout, limits,
//! ignores, symlinks and odd paths.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::time::Duration;

use specline_inventory::{scan, scan_each, scan_with, CancelToken, ScanOptions};

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

const ONE_TEST: &[u8] = b"test('works', () => {});\n";

fn tree_with(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        write(
            dir.path(),
            &format!("src/m{}/f{i}.test.js", i % 10),
            ONE_TEST,
        );
    }
    dir
}

#[test]
fn files_stream_to_the_callback_before_the_scan_returns() {
    let dir = tree_with(30);
    let mut streamed = Vec::new();
    let inv = scan_with(dir.path(), &ScanOptions::default(), |f| {
        streamed.push(f.path.clone())
    })
    .unwrap();
    assert_eq!(streamed.len(), 30);
    streamed.sort();
    let kept: Vec<String> = inv.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(streamed, kept);
    assert_eq!(inv.stats.tests, 30);
    assert!(!inv.stats.truncated);
}

#[test]
fn scan_each_hands_over_every_file_and_keeps_none() {
    let dir = tree_with(12);
    let whole = scan(dir.path(), &ScanOptions::default()).unwrap();
    let mut handed = Vec::new();
    let inv = scan_each(dir.path(), &ScanOptions::default(), |f| handed.push(f)).unwrap();
    assert!(inv.files.is_empty());
    handed.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(handed, whole.files);
    assert_eq!(inv.stats.tests, 12);
    assert_eq!(inv.stats.test_files, whole.stats.test_files);
}

#[test]
fn a_streaming_consumer_can_drop_files_from_the_result() {
    let dir = tree_with(5);
    let opts = ScanOptions {
        keep_files: false,
        ..ScanOptions::default()
    };
    let mut n = 0;
    let inv = scan_with(dir.path(), &opts, |_| n += 1).unwrap();
    assert_eq!(n, 5);
    assert!(inv.files.is_empty());
    assert_eq!(inv.stats.test_files, 5);
}

#[test]
fn cancelling_during_the_scan_truncates_it() {
    let dir = tree_with(300);
    let cancel = CancelToken::new();
    let opts = ScanOptions {
        threads: 1,
        cancel: cancel.clone(),
        ..ScanOptions::default()
    };
    let inv = scan_with(dir.path(), &opts, |_| cancel.cancel()).unwrap();
    assert!(inv.stats.truncated);
    assert!(inv.stats.test_files < 300, "{}", inv.stats.test_files);
}

#[test]
fn a_cancelled_token_scans_nothing_and_says_truncated() {
    let dir = tree_with(3);
    let cancel = CancelToken::new();
    cancel.cancel();
    let opts = ScanOptions {
        cancel,
        ..ScanOptions::default()
    };
    let inv = scan(dir.path(), &opts).unwrap();
    assert!(inv.stats.truncated);
    assert_eq!(inv.stats.test_files, 0);
}

#[test]
fn a_timeout_reports_truncated_never_complete() {
    let dir = tree_with(200);
    let opts = ScanOptions {
        timeout: Some(Duration::ZERO),
        ..ScanOptions::default()
    };
    let inv = scan(dir.path(), &opts).unwrap();
    assert!(inv.stats.truncated);
}

/// Path and code of each per-file error.
fn error_codes(inv: &specline_inventory::model::Inventory) -> Vec<(&str, &str)> {
    inv.errors
        .iter()
        .map(|e| (e.path.as_str(), e.code.as_str()))
        .collect()
}

#[test]
fn large_and_binary_files_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.test.js", ONE_TEST);
    let mut big = ONE_TEST.to_vec();
    big.extend(std::iter::repeat_n(b' ', 4096));
    write(dir.path(), "big.test.js", &big);
    write(
        dir.path(),
        "bin.test.js",
        b"test('x', () => {});\0\0\x01\x02",
    );
    let opts = ScanOptions {
        max_file_size: 1024,
        ..ScanOptions::default()
    };
    let inv = scan(dir.path(), &opts).unwrap();
    assert_eq!(inv.stats.files_seen, 3);
    assert_eq!(inv.stats.skipped_too_large, 1);
    assert_eq!(inv.stats.skipped_binary, 1);
    assert_eq!(inv.stats.test_files, 1);
    assert_eq!(inv.files[0].path, "ok.test.js");
    // Recorded as per-file errors with their path and a code, not only counted.
    assert_eq!(
        error_codes(&inv),
        vec![
            ("big.test.js", "FILE_TOO_LARGE"),
            ("bin.test.js", "FILE_BINARY")
        ]
    );
    assert_eq!(inv.stats.errored, 2);
    assert!(
        inv.errors[0].message.contains("4"),
        "{}",
        inv.errors[0].message
    );
}

#[test]
fn default_ignores_and_gitignore_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/a.test.js", ONE_TEST);
    write(dir.path(), "node_modules/lib/b.test.js", ONE_TEST);
    write(dir.path(), "dist/c.test.js", ONE_TEST);
    write(dir.path(), "generated/d.test.js", ONE_TEST);
    write(dir.path(), ".gitignore", b"generated/\n");
    let inv = scan(dir.path(), &ScanOptions::default()).unwrap();
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["src/a.test.js"]);

    let opts = ScanOptions {
        gitignore: false,
        ..ScanOptions::default()
    };
    let inv = scan(dir.path(), &opts).unwrap();
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["generated/d.test.js", "src/a.test.js"]);
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_out_of_the_tree() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret/e.test.js", ONE_TEST);
    write(outside.path(), "f.test.js", ONE_TEST);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.test.js", ONE_TEST);
    std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("linked")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("f.test.js"),
        dir.path().join("f.test.js"),
    )
    .unwrap();
    let inv = scan(dir.path(), &ScanOptions::default()).unwrap();
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["a.test.js"]);
}

#[cfg(unix)]
#[test]
fn non_utf8_names_keep_their_own_paths_and_are_recorded() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    // Two names a lossy conversion maps to one path (`caf\u{FFFD}.test.js`), and a real
    // name spelled as the first one's escape.
    for name in [
        &b"caf\xe9.test.js"[..],
        b"caf\xe8.test.js",
        b"caf\\xE9.test.js",
    ] {
        fs::write(dir.path().join(std::ffi::OsStr::from_bytes(name)), ONE_TEST).unwrap();
    }
    let inv = scan(dir.path(), &ScanOptions::default()).unwrap();
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "caf\\xE8.test.js",
            "caf\\xE9.test.js",
            "caf\\xE9.test.js (2)"
        ]
    );
    assert!(inv.files.iter().all(|f| f.tests[0].name == "works"));
    assert_eq!(
        error_codes(&inv),
        vec![
            ("caf\\xE8.test.js", "PATH_NOT_UTF8"),
            // Walk order is sorted: the real name came first and kept its spelling.
            ("caf\\xE9.test.js (2)", "PATH_DISAMBIGUATED"),
        ]
    );
}

#[test]
fn a_missing_root_is_an_error_not_an_empty_inventory() {
    let err = scan(
        Path::new("/nonexistent/specline/root"),
        &ScanOptions::default(),
    );
    assert!(err.is_err());
}

#[test]
fn helper_files_without_tests_are_not_test_files() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "test/helpers.js",
        b"module.exports = { describeThing() {} };\n",
    );
    write(
        dir.path(),
        "test/real.js",
        b"describe('x', () => { it('y', () => {}); });\n",
    );
    let inv = scan(dir.path(), &ScanOptions::default()).unwrap();
    let paths: Vec<&str> = inv.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["test/real.js"]);
    assert_eq!(inv.stats.files_seen, 2);
}
