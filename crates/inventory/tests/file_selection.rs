//! Which files are test files: tracked files whatever `.gitignore` says (ignore rules are
//! for untracked files), dot-directories, C# test classes wherever they live.
#![allow(clippy::unwrap_used)]

mod common;
use std::path::Path;

use common::{assert_file, scan_fixture};
use specline_inventory::source::GitOptions;
use specline_inventory::{scan, ScanOptions};
use specline_testkit::git;

const ONE_TEST: &[u8] = b"test('works', () => { expect(1).toBe(1); });\n";

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn paths(inv: &specline_inventory::model::Inventory) -> Vec<&str> {
    inv.files.iter().map(|f| f.path.as_str()).collect()
}

/// A tree whose `.gitignore` matches two test files, one of them committed anyway
/// (`git add -f`, as generated fixtures often are).
fn tree_with_ignored_tests(root: &Path) {
    write(root, ".gitignore", b"generated/\n*.local.test.js\n");
    write(root, "src/a.test.js", ONE_TEST);
    write(root, "generated/api.test.js", ONE_TEST);
    write(root, "generated/scratch.test.js", ONE_TEST);
    write(root, "src/mine.local.test.js", ONE_TEST);
}

#[test]
fn tracked_files_are_analysed_even_when_gitignore_matches_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree_with_ignored_tests(root);
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", ".gitignore", "src/a.test.js"]);
    git(root, &["add", "-f", "generated/api.test.js"]);
    git(root, &["commit", "-q", "-m", "tests"]);
    // A test file inside .git itself is never read.
    write(root, ".git/hooks/x.test.js", ONE_TEST);

    let inv = scan(root, &ScanOptions::default()).unwrap();
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    // The committed generated/api.test.js is in; the untracked ignored ones stay out.
    assert_eq!(paths(&inv), vec!["generated/api.test.js", "src/a.test.js"]);
    assert_eq!(inv.stats.tests, 2);

    // Index format 4 (paths compressed against each other) reads the same.
    git(root, &["update-index", "--index-version", "4"]);
    let inv = scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(paths(&inv), vec!["generated/api.test.js", "src/a.test.js"]);
}

#[test]
fn in_a_plain_directory_the_ignore_rules_still_apply() {
    let dir = tempfile::tempdir().unwrap();
    tree_with_ignored_tests(dir.path());
    let inv = scan(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(paths(&inv), vec!["src/a.test.js"]);
}

#[test]
fn a_clone_analyses_every_committed_file() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    tree_with_ignored_tests(&work);
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", ".gitignore", "src/a.test.js"]);
    git(&work, &["add", "-f", "generated/api.test.js"]);
    git(&work, &["commit", "-q", "-m", "tests"]);
    let url = format!("file://{}", work.display());
    let git_opts = GitOptions {
        work_root: dir.path().join("clones"),
        ..GitOptions::default()
    };
    let inv =
        specline_inventory::cli::inventory_of(&url, None, None, &ScanOptions::default(), &git_opts)
            .unwrap();
    assert_eq!(paths(&inv), vec!["generated/api.test.js", "src/a.test.js"]);
}

#[cfg(unix)]
#[test]
fn index_entries_never_lead_out_of_the_tree() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.test.js", ONE_TEST);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, ".gitignore", b"linked/\n");
    write(root, "linked/secret.test.js", ONE_TEST);
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-f", ".gitignore", "linked/secret.test.js"]);
    git(root, &["commit", "-q", "-m", "x"]);
    // The tracked directory becomes a symlink to a directory outside the tree.
    std::fs::remove_dir_all(root.join("linked")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
    let inv = scan(root, &ScanOptions::default()).unwrap();
    assert!(paths(&inv).is_empty(), "{:?}", paths(&inv));
}

#[test]
fn an_unreadable_index_is_an_error_and_the_ignore_rules_apply() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree_with_ignored_tests(root);
    git(root, &["init", "-q", "-b", "main"]);
    write(root, ".git/index", b"DIRC\0\0\0\x02\0\0\0\x05truncated");
    let inv = scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(paths(&inv), vec!["src/a.test.js"]);
    let codes: Vec<(&str, &str)> = inv
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(codes, vec![(".git/index", "GIT_INDEX_UNREADABLE")]);
}

#[test]
fn test_files_in_dot_directories_are_found() {
    let inv = scan_fixture("dot-dirs");
    assert_eq!(
        paths(&inv),
        vec![
            ".config/checks/test_settings.py",
            ".storybook/__tests__/preview.test.js",
            "src/app.test.js"
        ]
    );
    assert_file(
        &inv,
        ".storybook/__tests__/preview.test.js",
        "jest",
        &[
            "S storybook preview",
            "T storybook preview :: registers the theme decorator",
        ],
    );
    assert_file(
        &inv,
        ".config/checks/test_settings.py",
        "pytest",
        &["T test_settings_are_valid_json"],
    );
}

#[test]
fn csharp_test_classes_are_found_by_their_attributes_wherever_they_live() {
    let inv = scan_fixture("dotnet-anywhere");
    // Invoice.cs mentions [Fact] only in a comment: no test, not listed.
    assert_eq!(
        paths(&inv),
        vec![
            "Shop.Specs/CheckoutSpecs.cs",
            "src/Billing/InvoiceChecks.cs",
            "tools/lexer_tests.cs"
        ]
    );
    assert_file(
        &inv,
        "src/Billing/InvoiceChecks.cs",
        "xunit",
        &[
            "S InvoiceChecks",
            "T InvoiceChecks :: TotalsIncludeTax",
            "T InvoiceChecks :: RoundsHalfUp | skipped [Xunit.Fact(Skip = \"rounding rules pending\")]",
        ],
    );
    assert_file(
        &inv,
        "Shop.Specs/CheckoutSpecs.cs",
        "nunit",
        &[
            "S CheckoutSpecs",
            "T CheckoutSpecs :: PlacesAnOrder",
            "T CheckoutSpecs :: AcceptsQuantities (dynamic) | dynamic",
        ],
    );
    assert_file(
        &inv,
        "tools/lexer_tests.cs",
        "mstest",
        &["S LexerTests", "T LexerTests :: SplitsWords"],
    );
}
