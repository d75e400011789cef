//! Running the real binaries as child processes: a PostgreSQL schema per test, free ports,
//! readiness by `/readyz`, SIGKILL and SIGTERM, and `specline-enqueue --json`.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A valid `security.encryption_key` (32 bytes, base64) for tests only.
pub const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub use specline_testkit::database_url;

/// Assert that a child process exited 0, showing its stderr otherwise.
pub fn assert_succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh schema (created now, so even a binary that refuses to migrate finds it), dropped
/// afterwards by the testkit's guard.
pub struct PgSchema {
    guard: specline_testkit::PgSchema,
}

impl PgSchema {
    pub async fn new() -> PgSchema {
        let guard = specline_testkit::PgSchema::new();
        let (c, conn) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| specline_testkit::pg_unreachable(e));
        tokio::spawn(conn);
        c.batch_execute(&format!("CREATE SCHEMA {}", guard.name()))
            .await
            .unwrap();
        PgSchema { guard }
    }

    /// The settings every binary shares.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SPECLINE_DATABASE__URL".into(), database_url()),
            (
                "SPECLINE_DATABASE__SCHEMA".into(),
                self.guard.name().to_string(),
            ),
            ("SPECLINE_DATABASE__POOL_SIZE".into(), "4".into()),
        ]
    }
}

/// The workspace's built binaries (next to `specline`).
pub struct Binaries {
    dir: PathBuf,
    logs: tempfile::TempDir,
}

impl Binaries {
    pub fn locate() -> Binaries {
        let specline = PathBuf::from(env!("CARGO_BIN_EXE_specline"));
        let dir = specline.parent().unwrap().to_path_buf();
        for name in [
            "specline-analyzer",
            "specline-spec-generator",
            "specline-scheduler",
            "specline-enqueue",
            "specline-api",
        ] {
            assert!(
                dir.join(name).exists(),
                "{} is not built; run the tests of the whole workspace (scripts/test)",
                dir.join(name).display()
            );
        }
        Binaries {
            dir,
            logs: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A command with exactly `env` (plus PATH and HOME): nothing leaks in from the test
    /// runner's environment.
    pub fn command(&self, name: &str, env: &[(String, String)]) -> Command {
        let mut cmd = Command::new(self.path(name));
        cmd.env_clear();
        for var in ["PATH", "HOME"] {
            if let Ok(v) = std::env::var(var) {
                cmd.env(var, v);
            }
        }
        cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    pub fn migrate(&self, env: &[(String, String)]) {
        let out = self
            .command("specline", env)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "migrate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start a long-running binary on a free port and wait for `/readyz` to answer 200.
    pub async fn start(&self, name: &str, env: &[(String, String)]) -> Running {
        self.start_with(name, &[], env).await
    }

    /// [`Binaries::start`] with arguments.
    pub async fn start_with(&self, name: &str, args: &[&str], env: &[(String, String)]) -> Running {
        let port = free_port();
        let log = self
            .logs
            .path()
            .join(format!("{name}-{}.log", rand::random::<u32>()));
        let mut cmd = self.command(name, env);
        cmd.args(args)
            .env("SPECLINE_HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .env("SPECLINE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
        let child = cmd.spawn().unwrap();
        let mut running = Running {
            name: name.to_string(),
            child,
            port,
            log,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = running.child.try_wait().unwrap() {
                panic!("{name} exited at start ({status}): {}", running.logs());
            }
            if running.get("/readyz").map(|(s, _)| s) == Some(200) {
                return running;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} never became ready: {}",
                running.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A running binary; killed when dropped.
pub struct Running {
    pub name: String,
    pub child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Running {
    /// `GET path` → (status, body), or `None` if nothing answers.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.port, path)
    }

    pub fn logs(&self) -> String {
        let out = std::fs::read_to_string(&self.log).unwrap_or_default();
        let err = std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default();
        format!("--- stdout\n{out}\n--- stderr\n{err}")
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit within `deadline`.
    pub async fn terminate(mut self, deadline: Duration) -> String {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "could not signal {}", self.name);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "{} exited with {status} on SIGTERM: {}",
                    self.name,
                    self.logs()
                );
                return self.logs();
            }
            assert!(
                started.elapsed() < deadline,
                "{} did not stop within {deadline:?} of SIGTERM: {}",
                self.name,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Some((status, body))
}

/// `specline-enqueue --json ARGS`, which must succeed; its JSON output.
pub fn enqueue_json(bins: &Binaries, env: &[(String, String)], args: &[&str]) -> serde_json::Value {
    let out = bins
        .command("specline-enqueue", env)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "specline-enqueue {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "specline-enqueue {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Poll `run show` until the run is done (panics with the run if it fails or times out).
pub async fn wait_run_done(
    bins: &Binaries,
    env: &[(String, String)],
    run_id: i64,
    timeout: Duration,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let shown = enqueue_json(bins, env, &["run", "show", &run_id.to_string()]);
        match shown["run"]["state"].as_str() {
            Some("done") => return shown,
            Some("failed") => panic!("run {run_id} failed: {shown}"),
            _ => {}
        }
        assert!(
            started.elapsed() < timeout,
            "run {run_id} is not done: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `env` with the encryption key the analyzer needs.
pub fn analyzer_env(env: &[(String, String)]) -> Vec<(String, String)> {
    env.iter()
        .cloned()
        .chain([("SPECLINE_SECURITY__ENCRYPTION_KEY".into(), KEY.into())])
        .collect()
}

/// Twelve features (one per file) of three tests each: with a slow model, the conversion
/// phase lasts long enough to kill a spec generator in the middle of it.
pub fn twelve_features() -> tempfile::TempDir {
    features(12, 3)
}

/// A git repository of `n` test files (`tests/test_areaNN.py`) of `tests` tests each, which
/// the fake model classifies as one feature per file.
pub fn features(n: usize, tests: usize) -> tempfile::TempDir {
    let files: Vec<(String, String)> = (0..n)
        .map(|f| {
            let body: String = (0..tests)
                .map(|t| format!("def test_feature_{f}_case_{t}():\n    assert True\n\n"))
                .collect();
            (format!("tests/test_area{f:02}.py"), body)
        })
        .collect();
    git_repo(&files)
}

/// Every behavior of a stored document (its JSON) with its domain and feature, in order.
pub fn behaviors(
    doc: &serde_json::Value,
) -> Vec<(&serde_json::Value, &serde_json::Value, &serde_json::Value)> {
    let mut out = Vec::new();
    for d in doc["domains"].as_array().unwrap() {
        for f in d["features"].as_array().unwrap() {
            for b in f["behaviors"].as_array().unwrap() {
                out.push((d, f, b));
            }
        }
    }
    out
}

/// `specline analyze REPO --lang en --format json --out OUT` on the local (SQLite) data
/// directory of `env`, which must succeed; the document it wrote.
pub fn analyze_to_json(
    bins: &Binaries,
    env: &[(String, String)],
    repo: &Path,
    out: &Path,
) -> serde_json::Value {
    let done = bins
        .command("specline", env)
        .arg("analyze")
        .arg(repo)
        .args(["--lang", "en", "--no-progress", "--format", "json", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert_succeeded(&done);
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// A git repository with `files` committed on `main`.
pub fn git_repo(files: &[(String, String)]) -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    for (path, body) in files {
        let p = repo.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "tests"]);
    repo
}

pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
