//! A database password, an API key or an encryption key never reaches what the binaries
//! print: not at start, not in an error, not in `--help`. Each case runs the real binary.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use support::{assert_succeeded, Binaries, PgSchema};

/// A password with the characters that broke the old URL describer (`/`, `?`).
const PASSWORD: &str = "Leak3d/Pass?word";
/// The parts a partial leak would show.
const PIECES: &[&str] = &["Leak3d", "Pass?word", "word"];

/// `url` with `user:PASSWORD@` as its credentials (the test server trusts local connections,
/// so the password is carried but not checked).
fn with_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user, host) = match rest.split_once('@') {
        Some((creds, host)) => (creds.split(':').next().unwrap().to_string(), host),
        None => ("postgres".to_string(), rest),
    };
    format!("{scheme}://{user}:{PASSWORD}@{host}")
}

fn assert_no_secret(out: &Output, what: &str) {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for piece in PIECES {
        assert!(!text.contains(piece), "{what} printed {piece:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_describes_the_database_without_its_password() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let mut env = schema.env();
    for (k, v) in env.iter_mut() {
        if k == "SPECLINE_DATABASE__URL" {
            *v = with_password(v);
        }
    }
    let out = bins
        .command("specline", &env)
        .arg("migrate")
        .output()
        .unwrap();
    assert_succeeded(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("127.0.0.1")
            || String::from_utf8_lossy(&out.stdout).contains("localhost"),
        "the host is still named: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_no_secret(&out, "specline migrate");
}

#[test]
fn bench_never_prints_the_url_it_cannot_reach() {
    let bins = Binaries::locate();
    let url = format!("postgres://bench:{PASSWORD}@127.0.0.1:1/none");
    let out = bins
        .command("specline", &[])
        .args([
            "bench",
            "--backend",
            "postgres",
            "--jobs",
            "1",
            "--database-url",
        ])
        .arg(&url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_no_secret(&out, "specline bench");
    let out = bins
        .command("specline", &[("DATABASE_URL".to_string(), url)])
        .args(["bench", "--help"])
        .output()
        .unwrap();
    assert_succeeded(&out);
    assert_no_secret(&out, "specline bench --help");
}

/// The usual mistake: an unquoted value in the settings file. Each binary refuses it (exit 2)
/// without echoing the line.
#[test]
fn a_malformed_settings_file_is_refused_without_echoing_its_secrets() {
    let bins = Binaries::locate();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("specline.toml");
    std::fs::write(
        &file,
        format!(
            "[database]\nurl = postgres://specline:{PASSWORD}@db.internal/specline\n\
             [provider]\napi_key = sk-{PASSWORD}\n"
        ),
    )
    .unwrap();
    for name in [
        "specline-analyzer",
        "specline-spec-generator",
        "specline-scheduler",
        "specline-enqueue",
    ] {
        let mut cmd = bins.command(name, &[]);
        cmd.arg("--config").arg(&file);
        if name == "specline-enqueue" {
            cmd.args(["job", "list"]);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains("SETTINGS_FILE"), "{name}: {err}");
        assert_no_secret(&out, name);
    }
    let out = bins
        .command("specline", &[])
        .arg("migrate")
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_no_secret(&out, "specline migrate");
}

/// A long-running binary logs where its database is at start: host and port only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_logs_its_database_without_the_password() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let mut env = schema.env();
    for (k, v) in env.iter_mut() {
        if k == "SPECLINE_DATABASE__URL" {
            *v = with_password(v);
        }
    }
    bins.migrate(&env);
    let scheduler = bins.start("specline-scheduler", &env).await;
    let logs = scheduler
        .terminate(std::time::Duration::from_secs(20))
        .await;
    assert!(logs.contains("specline-scheduler started"), "{logs}");
    for piece in PIECES {
        assert!(!logs.contains(piece), "the log shows {piece:?}:\n{logs}");
    }
}
