//! Git sources: real repositories made by the test with the git CLI, cloned through
//! file:// URLs; the access token never reaches argv, errors or the recorded location.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use specline_inventory::source::{
    prepare, prepare_opts, prepare_with, remote_head, GitOptions, SourceSpec,
};
use specline_inventory::{scan, ScanOptions};

const SECRET: &str = "tok-SECRET-4242";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:09Z")
        .env("GIT_COMMITTER_DATE", "2024-05-06T07:08:09Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare repository with one commit holding one Go test file; returns its file:// URL.
fn bare_repo(tmp: &Path) -> (String, String) {
    let work = tmp.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(
        work.join("calc_test.go"),
        "package calc\nimport \"testing\"\nfunc TestAdd(t *testing.T) {}\n",
    )
    .unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "first"]);
    let sha = git(&work, &["rev-parse", "HEAD"]);
    let bare = tmp.join("origin.git");
    git(
        tmp,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    (format!("file://{}", bare.display()), sha)
}

#[test]
fn clones_shallowly_and_records_commit_branch_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, sha) = bare_repo(tmp.path());
    let spec = SourceSpec::parse(&url, None, None);
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
    let spec = SourceSpec::parse(&url, Some("main".into()), Some(SECRET.into()));
    let checkout = prepare_with(&spec, &wrapper).unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("ARGV -c credential.helper="), "{logged}");
    assert!(logged.contains("ENV token-set"), "{logged}");
    assert!(!logged.contains(SECRET), "token in argv: {logged}");
    assert!(!format!("{spec:?}").contains(SECRET));
    assert!(!format!("{:?}", checkout.source()).contains(SECRET));
}

#[test]
fn a_failed_clone_names_no_credentials() {
    // Credentials in the URL and as a token; no network involved (a missing local path).
    let url = format!("file://user:{SECRET}@localhost/nonexistent/specline/repo.git");
    let spec = SourceSpec::parse(&url, None, Some(SECRET.into()));
    let err = prepare(&spec).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("user:"), "{shown}");

    let tmp = tempfile::tempdir().unwrap();
    let missing = format!("file://{}/nope.git", tmp.path().display());
    let err = prepare(&SourceSpec::parse(&missing, None, Some(SECRET.into()))).unwrap_err();
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
    assert_eq!(inv.parser_version, env!("CARGO_PKG_VERSION"));
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
    let head = remote_head(&SourceSpec::parse(&url, None, None), &opts).unwrap();
    assert_eq!(head.as_deref(), Some(sha.as_str()));
    let on_main = remote_head(&SourceSpec::parse(&url, Some("main".into()), None), &opts).unwrap();
    assert_eq!(on_main.as_deref(), Some(sha.as_str()));
    let err = remote_head(
        &SourceSpec::parse(&url, Some("no-such-branch".into()), None),
        &opts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no-such-branch"), "{err}");
    // A local directory has no remote head: its working tree may differ from any commit.
    let local = remote_head(
        &SourceSpec::parse(tmp.path().to_str().unwrap(), None, None),
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
    };
    let started = std::time::Instant::now();
    let err = prepare_opts(
        &SourceSpec::parse("https://example.invalid/r.git", None, None),
        &opts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("GIT_TIMEOUT"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
