//! Git sources: real repositories made by the test with the git CLI, cloned through
//! file:// URLs; the access token never reaches argv, errors or the recorded location.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use specline_inventory::source::{prepare, prepare_opts, remote_head, GitOptions, SourceSpec};
use specline_inventory::{scan, ScanOptions};

#[path = "common/git_repos.rs"]
mod git_repos;

use git_repos::{git, served};

const SECRET: &str = "tok-SECRET-4242";

/// A bare repository with one commit holding one Go test file; returns its file:// URL.
fn bare_repo(tmp: &Path) -> (String, String) {
    let test = "package calc\nimport \"testing\"\nfunc TestAdd(t *testing.T) {}\n";
    served(tmp, &[("calc_test.go", test.as_bytes().to_vec())], false)
}

#[test]
fn clones_shallowly_and_records_commit_branch_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, sha) = bare_repo(tmp.path());
    let spec = SourceSpec::parse(&url, None, None).unwrap();
    let checkout = prepare(&spec).unwrap();
    let src = checkout.source().clone();
    assert_eq!(src.location, url);
    assert_eq!(src.commit.as_deref(), Some(sha.as_str()));
    assert_eq!(src.branch.as_deref(), Some("main"));
    assert_eq!(
        src.commit_time.unwrap().to_rfc3339(),
        "2024-05-06T07:08:09+00:00"
    );
    let shallow = git(checkout.path(), &["rev-parse", "--is-shallow-repository"]);
    assert_eq!(shallow, "true");
    let inv = scan(checkout.path(), &ScanOptions::default()).unwrap();
    assert_eq!(inv.stats.tests, 1);
    assert_eq!(inv.files[0].path, "calc_test.go");
    // The clone lives in a private temporary directory removed with the checkout.
    let clone_dir = checkout.path().to_path_buf();
    drop(checkout);
    assert!(!clone_dir.exists());
}

#[cfg(unix)]
#[test]
fn the_token_reaches_git_only_through_the_environment() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = bare_repo(tmp.path());
    let log = tmp.path().join("git.log");
    let wrapper = tmp.path().join("git-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"ARGV $*\" >> '{log}'\n[ -n \"$SPECLINE_INTERNAL_GIT_TOKEN\" ] && echo 'ENV token-set' >> '{log}'\nexec git \"$@\"\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let spec = SourceSpec::parse(&url, Some("main".into()), Some(SECRET.into())).unwrap();
    let opts = GitOptions {
        program: wrapper,
        ..GitOptions::default()
    };
    let checkout = prepare_opts(&spec, &opts).unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("-c credential.helper=!f()"), "{logged}");
    assert!(logged.contains("ENV token-set"), "{logged}");
    assert!(!logged.contains(SECRET), "token in argv: {logged}");
    assert!(!format!("{spec:?}").contains(SECRET));
    assert!(!format!("{:?}", checkout.source()).contains(SECRET));
}

#[test]
fn a_failed_clone_names_no_credentials() {
    // Credentials in the URL are refused before anything runs, without repeating them.
    let url = format!("file://user:{SECRET}@localhost/nonexistent/specline/repo.git");
    let err = SourceSpec::parse(&url, None, Some(SECRET.into())).unwrap_err();
    assert_eq!(err.code(), "CREDENTIALS_IN_URL");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("user:"), "{shown}");

    let tmp = tempfile::tempdir().unwrap();
    let missing = format!("file://{}/nope.git", tmp.path().display());
    let err =
        prepare(&SourceSpec::parse(&missing, None, Some(SECRET.into())).unwrap()).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("clone"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[test]
fn cli_prints_json_tree_and_summary() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: specline_inventory::cli::InventoryArgs,
    }
    let tmp = tempfile::tempdir().unwrap();
    let (url, sha) = bare_repo(tmp.path());
    let run = |format: &str| {
        let cli =
            Cli::try_parse_from(["specline-inventory", url.as_str(), "--format", format]).unwrap();
        let mut out = Vec::new();
        specline_inventory::cli::run_to(cli.args, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let json = run("json");
    let inv: specline_inventory::model::Inventory = serde_json::from_str(&json).unwrap();
    assert_eq!(inv.source.commit.as_deref(), Some(sha.as_str()));
    assert_eq!(inv.parser_version, specline_inventory::PARSER_VERSION);
    assert!(inv
        .parser_version
        .starts_with(concat!(env!("CARGO_PKG_VERSION"), "+r")));
    assert_eq!(inv.files[0].tests[0].name, "TestAdd");
    let tree = run("tree");
    assert!(tree.contains("calc_test.go (go, go-testing)"), "{tree}");
    assert!(tree.contains("  - TestAdd :3"), "{tree}");
    let summary = run("summary");
    assert!(
        summary.contains("go           go-testing           1        1"),
        "{summary}"
    );
}

#[test]
fn remote_head_names_the_commit_a_clone_would_get_without_cloning() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, sha) = bare_repo(tmp.path());
    let opts = GitOptions::default();
    let head = remote_head(&SourceSpec::parse(&url, None, None).unwrap(), &opts).unwrap();
    assert_eq!(head.as_deref(), Some(sha.as_str()));
    let on_main = remote_head(
        &SourceSpec::parse(&url, Some("main".into()), None).unwrap(),
        &opts,
    )
    .unwrap();
    assert_eq!(on_main.as_deref(), Some(sha.as_str()));
    let err = remote_head(
        &SourceSpec::parse(&url, Some("no-such-branch".into()), None).unwrap(),
        &opts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no-such-branch"), "{err}");
    // A local directory has no remote head: its working tree may differ from any commit.
    let local = remote_head(
        &SourceSpec::parse(tmp.path().to_str().unwrap(), None, None).unwrap(),
        &opts,
    );
    assert_eq!(local.unwrap(), None);
}

#[cfg(unix)]
#[test]
fn a_stalled_clone_is_killed_at_the_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let wrapper = tmp.path().join("git-stalls");
    std::fs::write(&wrapper, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = GitOptions {
        program: wrapper,
        timeout: Some(std::time::Duration::from_millis(300)),
        ..GitOptions::default()
    };
    let started = std::time::Instant::now();
    let err = prepare_opts(
        &SourceSpec::parse("https://example.invalid/r.git", None, None).unwrap(),
        &opts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("GIT_TIMEOUT"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
