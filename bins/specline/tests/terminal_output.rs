//! Names from a repository cannot drive the terminal: a real git repository whose file
//! names and test names hold ESC sequences, CR, BEL and a right-to-left override is shown by
//! every human-readable printer with those characters escaped or replaced.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::assert_succeeded;

/// Clears the screen, then sets the window title (OSC 0 … BEL).
const ESC_SEQUENCES: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}";
const RLO: char = '\u{202e}';

/// What must never reach the terminal raw.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| ['\u{1b}', '\r', '\u{7}', RLO, '\u{9b}'].contains(c))
        .collect()
}

fn assert_clean(out: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_succeeded(out);
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        let found = raw_controls(text);
        assert!(found.is_empty(), "{what} {name} carries {found:?}:\n{text}");
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Jest repository with one hostile file: its name and its suite and test names.
fn hostile_repository(dir: &Path) -> String {
    std::fs::write(
        dir.join("package.json"),
        r#"{ "name": "hostile", "devDependencies": { "jest": "29" } }"#,
    )
    .unwrap();
    let file = format!("evil{ESC_SEQUENCES}\r{RLO}sj.test.js");
    std::fs::write(
        dir.join(&file),
        format!(
            "describe(\"suite {ESC_SEQUENCES}\", () => {{\n  \
             it(\"passes\\r{ESC_SEQUENCES}\u{7} {RLO}deliaf\", () => {{}});\n  \
             it.skip(\"skipped {RLO}\", () => {{}});\n  \
             it(`carriage\rreturn{ESC_SEQUENCES}`, () => {{}});\n}});\n"
        ),
    )
    .unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "hostile names"]);
    file
}

fn specline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_specline"))
        .args(args)
        .env_remove("SPECLINE_DATABASE__URL")
        .output()
        .unwrap()
}

#[test]
fn inventory_tree_and_summary_escape_hostile_names() {
    let repo = tempfile::tempdir().unwrap();
    hostile_repository(repo.path());
    let dir = repo.path().to_str().unwrap();
    for format in ["tree", "summary"] {
        let out = specline(&["inventory", dir, "--format", format]);
        assert_clean(&out, &format!("inventory --format {format}"));
    }
    let out = specline(&["inventory", dir, "--format", "tree"]);
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("\\u{1b}[2J"),
        "the escape is shown, not run:\n{tree}"
    );
    assert!(tree.contains("\\u{202e}deliaf"), "{tree}");
    assert!(tree.contains("passes\\r"), "{tree}");

    // JSON keeps the names exact (and escapes the control characters itself).
    let out = specline(&["inventory", dir, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name = json["files"][0]["suites"][0]["tests"][0]["name"]
        .as_str()
        .unwrap();
    assert!(name.contains(ESC_SEQUENCES), "{name:?}");
}

#[test]
fn the_spec_document_in_markdown_carries_no_raw_controls() {
    let repo = tempfile::tempdir().unwrap();
    hostile_repository(repo.path());
    let work = tempfile::tempdir().unwrap();
    let inventory = work.path().join("inventory.json");
    let out = specline(&[
        "inventory",
        repo.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_succeeded(&out);
    std::fs::write(&inventory, &out.stdout).unwrap();
    let out = specline(&["spec", inventory.to_str().unwrap()]);
    assert_clean(&out, "spec (Markdown to the terminal)");
    let md = work.path().join("spec.md");
    let out = specline(&[
        "spec",
        inventory.to_str().unwrap(),
        "--out",
        md.to_str().unwrap(),
    ]);
    assert_clean(&out, "spec --out");
    let text = std::fs::read_to_string(&md).unwrap();
    let found = raw_controls(&text);
    assert!(
        found.is_empty(),
        "the Markdown file carries {found:?}:\n{text}"
    );
}

/// A target with control characters is refused at the door, and the refusal does not echo it.
/// A row stored before that rule (written here straight into the SQLite file) is listed
/// escaped.
#[test]
fn operator_listings_escape_hostile_names() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let repository = format!("https://git.example/org/repo{ESC_SEQUENCES}{RLO}");
    let admin = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_specline"))
            .arg("admin")
            .args(args)
            .env_remove("SPECLINE_DATABASE__URL")
            .env("SPECLINE_LOCAL__DATA_DIR", dir)
            .output()
            .unwrap()
    };
    let out = admin(&["watch", "add", &repository]);
    assert!(!out.status.success(), "a hostile target was accepted");
    let found = raw_controls(&String::from_utf8_lossy(&out.stderr));
    assert!(found.is_empty(), "the refusal carries {found:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("INVALID_TARGET"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A legacy row, as an older version could have stored it.
    let out = admin(&["watch", "add", "https://git.example/org/plain.git"]);
    assert_succeeded(&out);
    let db = rusqlite::Connection::open(data.path().join("specline.sqlite3")).unwrap();
    db.execute(
        "UPDATE specline_watched_repositories SET repository = ?1, branch = ?2",
        rusqlite::params![repository, format!("main{ESC_SEQUENCES}")],
    )
    .unwrap();
    drop(db);
    let out = admin(&["watch", "list"]);
    assert_clean(&out, "admin watch list");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("repo\\u{1b}[2J"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A watched repository stored before targets were checked, holding a token and a forged log
/// line, is not submitted by the scheduler, and the scheduler's log names only the code: no
/// token, no raw control character.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_refuses_a_legacy_hostile_target_without_logging_it() {
    let bins = support::Binaries::locate();
    let schema = support::PgSchema::new().await;
    let mut env = schema.env();
    bins.migrate(&env);
    let out = bins
        .command("specline-enqueue", &env)
        .args(["watch", "add", "https://git.example/org/plain.git"])
        .output()
        .unwrap();
    assert_succeeded(&out);
    let hostile = format!("https://SECRETTOKEN@git.example/org/forged\rINFO all good{RLO}.git");
    let (c, conn) =
        tokio_postgres::connect(&specline_testkit::database_url(), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(conn);
    let name = env
        .iter()
        .find(|(k, _)| k == "SPECLINE_DATABASE__SCHEMA")
        .map(|(_, v)| v.clone())
        .unwrap();
    c.execute(
        &format!("UPDATE \"{name}\".specline_watched_repositories SET repository = $1"),
        &[&hostile],
    )
    .await
    .unwrap();
    env.push((
        "SPECLINE_SCHEDULER__REANALYZE_INTERVAL_SECS".into(),
        "3600".into(),
    ));
    let scheduler = bins.start("specline-scheduler", &env).await;
    let started = std::time::Instant::now();
    while !scheduler.logs().contains("refused by the target rules") {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the scheduler did not refuse the row: {}",
            scheduler.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The refusal is logged where the submission would have been made: nothing was submitted.
    let jobs = support::enqueue_json(&bins, &env, &["job", "list"]);
    assert_eq!(jobs.as_array().map(Vec::len), Some(0), "{jobs}");
    let logs = scheduler
        .terminate(std::time::Duration::from_secs(20))
        .await;
    // The control characters are found first; the token would be CREDENTIALS_IN_URL.
    assert!(logs.contains("code=\"INVALID_TARGET\""), "{logs}");
    assert!(!logs.contains("SECRETTOKEN"), "{logs}");
    assert!(!logs.contains("forged"), "{logs}");
    let found = raw_controls(&logs);
    assert!(found.is_empty(), "the log carries {found:?}:\n{logs}");
}
