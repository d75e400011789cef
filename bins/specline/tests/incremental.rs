//! Issue 15, end to end with the real binaries and a fake OpenAI-compatible model server on
//! 127.0.0.1 (the only fake; every model call is counted there):
//!
//! - the caches are in the database: a spec generator process started after another one
//!   regenerates the same commit (`--fresh`, so nothing is reused as a document) with no
//!   model call at all;
//! - incremental placement: for a second commit that adds 3 tests and removes 1, the model
//!   sees only the 3 new tests, and every other behavior keeps its domain, feature and
//!   sentence.
//!
//! On PostgreSQL with `specline-analyzer`, two `specline-spec-generator` processes one after
//! the other, and `specline-enqueue`; on SQLite with three `specline analyze` processes.
#![allow(clippy::unwrap_used)]

#[path = "../../../crates/specdoc/tests/common/fake.rs"]
#[allow(dead_code)]
mod fake;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fake::{good_answer, FakeServer, Reply, Wire};
use serde_json::Value;
use support::{enqueue_json, git, git_repo, Binaries, PgSchema};

/// Four files of five tests each (20 tests).
fn first_commit() -> tempfile::TempDir {
    let files: Vec<(String, String)> = ["cart", "login", "search", "orders"]
        .iter()
        .map(|area| {
            let body: String = (0..5)
                .map(|t| format!("def test_{area}_case_{t}():\n    assert True\n\n"))
                .collect();
            (format!("tests/test_{area}.py"), body)
        })
        .collect();
    git_repo(&files)
}

/// The names the second commit adds.
const ADDED: [&str; 3] = [
    "test_cart_new_discount",
    "test_login_new_lockout",
    "test_search_new_typo",
];
/// The name it removes.
const REMOVED: &str = "test_orders_case_4";

/// Adds three tests to existing files and removes one, in a new commit.
fn second_commit(repo: &Path) {
    for (file, name) in [
        ("tests/test_cart.py", ADDED[0]),
        ("tests/test_login.py", ADDED[1]),
        ("tests/test_search.py", ADDED[2]),
    ] {
        let p = repo.join(file);
        let mut body = std::fs::read_to_string(&p).unwrap();
        body.push_str(&format!("def {name}():\n    assert True\n\n"));
        std::fs::write(&p, body).unwrap();
    }
    let p = repo.join("tests/test_orders.py");
    let body = std::fs::read_to_string(&p).unwrap();
    let body = body.replace(&format!("def {REMOVED}():\n    assert True\n\n"), "");
    std::fs::write(&p, body).unwrap();
    git(
        repo,
        &["commit", "-q", "-a", "-m", "three new tests, one removed"],
    );
}

/// The fake model: well-behaved answers in the OpenAI wire format.
async fn model() -> FakeServer {
    FakeServer::start(|_, req| Reply::ok(Wire::OpenAi, &good_answer(req))).await
}

fn provider_env(model: &FakeServer) -> Vec<(String, String)> {
    vec![
        ("SPECLINE_PROVIDER__KIND".into(), "openai".into()),
        ("SPECLINE_PROVIDER__MODEL".into(), "fake-model".into()),
        ("SPECLINE_PROVIDER__BASE_URL".into(), model.base_url.clone()),
    ]
}

/// Every behavior of a document with its domain and feature names.
fn behaviors(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut out = Vec::new();
    for d in doc["domains"].as_array().unwrap() {
        for f in d["features"].as_array().unwrap() {
            for b in f["behaviors"].as_array().unwrap() {
                out.push((d["name"].as_str().unwrap(), f["name"].as_str().unwrap(), b));
            }
        }
    }
    out
}

/// Test name → (domain, feature, sentence) of a document.
fn placements(doc: &Value) -> BTreeMap<String, (String, String, String)> {
    behaviors(doc)
        .into_iter()
        .map(|(d, f, b)| {
            let sentence = b["sentence"].as_str().unwrap().to_string();
            (
                b["test_name"].as_str().unwrap().to_string(),
                (d.into(), f.into(), sentence),
            )
        })
        .collect()
}

/// Test name → index in a document.
fn indices(doc: &Value) -> BTreeMap<String, usize> {
    behaviors(doc)
        .into_iter()
        .map(|(_, _, b)| {
            let i = b["test_index"].as_u64().unwrap() as usize;
            (b["test_name"].as_str().unwrap().to_string(), i)
        })
        .collect()
}

/// Where documents are made: `generate(fresh)` makes one document of the repository's
/// current commit, in whatever processes the backend uses.
trait Backend {
    async fn generate(&mut self, fresh: bool) -> Value;
    /// The operator tool (`specline-enqueue` or `specline admin`) with `--json ARGS`.
    fn tool(&self, args: &[&str]) -> Value;
}

/// What the three generations of one backend must show.
async fn three_generations(model: &FakeServer, repo: &Path, backend: &mut impl Backend) {
    // 1. The first commit: every test costs.
    let first = backend.generate(false).await;
    assert_eq!(first["stats"]["behaviors"], 20, "{first}");
    assert_eq!(first["generator"]["kind"], "openai", "{first}");
    let after_first = model.requests().len();
    assert!(
        model.count("classify") >= 1 && model.count("convert") >= 4,
        "the first document was not written by the model: {after_first} calls"
    );

    // 2. The same commit again, in another process, classified from scratch (`--fresh`):
    //    every answer comes from the database's caches.
    let again = backend.generate(true).await;
    assert_eq!(again["stats"]["behaviors"], 20, "{again}");
    assert_eq!(
        model.requests().len(),
        after_first,
        "a restarted generator called the model for a commit it had already paid for: {:?}",
        model.requests()[after_first..]
            .iter()
            .map(|r| r.phase())
            .collect::<Vec<_>>()
    );
    assert_eq!(placements(&again), placements(&first));

    // 3. A commit that adds 3 tests and removes 1: only the new tests reach the model.
    second_commit(repo);
    let second = backend.generate(false).await;
    assert_eq!(second["stats"]["behaviors"], 22, "{second}");
    let new_index: BTreeSet<usize> = {
        let idx = indices(&second);
        ADDED.iter().map(|n| idx[*n]).collect()
    };
    let calls = &model.requests()[after_first..];
    assert!(
        !calls.is_empty(),
        "the new tests were never sent to the model"
    );
    let mut sent = BTreeSet::new();
    for call in calls {
        let phase = call.phase();
        assert!(
            phase == "classify" || phase == "convert",
            "a {phase} call for a version whose domains and features did not change"
        );
        for (i, _) in call.lines() {
            assert!(
                new_index.contains(&i),
                "a {phase} call sent test {i}, which is not new (new: {new_index:?})"
            );
            sent.insert((phase, i));
        }
    }
    for i in &new_index {
        assert!(
            sent.contains(&("classify", *i)),
            "test {i} was not classified"
        );
        assert!(
            sent.contains(&("convert", *i)),
            "test {i} was not converted"
        );
    }
    let before = placements(&first);
    let now = placements(&second);
    for (name, place) in &before {
        if name == REMOVED {
            assert!(!now.contains_key(name), "the removed test is still there");
        } else {
            assert_eq!(now.get(name), Some(place), "{name} moved or was reworded");
        }
    }
    for name in ADDED {
        assert!(now.contains_key(name), "{name} is missing: {second}");
    }

    // 4. The stored diff of the newest version says exactly that.
    let listed = backend.tool(&["document", "list", "--limit", "1"]);
    let id = listed[0]["id"].as_i64().unwrap().to_string();
    let diff = backend.tool(&["document", "diff", &id]);
    assert_eq!(
        diff["counts"],
        serde_json::json!({"added": 3, "removed": 1, "reworded": 0, "moved": 0, "unchanged": 19}),
        "{diff}"
    );
    let added: BTreeSet<&str> = diff["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["test_name"].as_str().unwrap())
        .collect();
    assert_eq!(added, ADDED.into_iter().collect());
    assert_eq!(diff["removed"][0]["test_name"], REMOVED);

    // Its cost is stored per phase: what the fake server counted for it, and no summary.
    let cost = backend.tool(&["document", "cost", &id]);
    let by_phase: BTreeMap<&str, i64> = cost
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["phase"].as_str().unwrap(), r["calls"].as_i64().unwrap()))
        .collect();
    let counted = |p: &str| calls.iter().filter(|r| r.phase() == p).count() as i64;
    assert_eq!(
        by_phase,
        BTreeMap::from([
            ("classify", counted("classify")),
            ("convert", counted("convert")),
            ("summarize", 0),
        ]),
        "{cost}"
    );
}

/// PostgreSQL: the analyzer and the spec generator as separate processes; the spec generator
/// is killed after the first document and a new one makes the others.
struct Postgres {
    bins: Binaries,
    env: Vec<(String, String)>,
    spec_env: Vec<(String, String)>,
    url: String,
    generator: Option<support::Running>,
    made: usize,
}

impl Backend for Postgres {
    async fn generate(&mut self, fresh: bool) -> Value {
        self.made += 1;
        if self.made == 2 {
            // The first process is gone (SIGKILL), its memory with it.
            if let Some(mut old) = self.generator.take() {
                old.kill();
            }
            self.generator = Some(
                self.bins
                    .start("specline-spec-generator", &self.spec_env)
                    .await,
            );
        }
        let mut args = vec!["analyze", self.url.as_str(), "--lang", "en", "--wait"];
        if fresh {
            args.push("--fresh");
        }
        let done = enqueue_json(&self.bins, &self.env, &args);
        let id = done["document_id"].as_i64().unwrap().to_string();
        enqueue_json(&self.bins, &self.env, &["document", "show", &id])
    }

    fn tool(&self, args: &[&str]) -> Value {
        enqueue_json(&self.bins, &self.env, args)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_generator_processes_pay_only_for_new_tests() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let repo = first_commit();
    let model = model().await;
    let env = schema.env();
    bins.migrate(&env);
    let spec_env: Vec<(String, String)> = env.iter().cloned().chain(provider_env(&model)).collect();
    let analyzer_env = support::analyzer_env(&env);
    let _analyzer = bins.start("specline-analyzer", &analyzer_env).await;
    let generator = Some(bins.start("specline-spec-generator", &spec_env).await);
    let mut backend = Postgres {
        url: format!("file://{}", repo.path().display()),
        bins,
        env,
        spec_env,
        generator,
        made: 0,
    };
    three_generations(&model, repo.path(), &mut backend).await;
}

/// SQLite: each document is one `specline analyze` process.
struct Sqlite {
    bins: Binaries,
    env: Vec<(String, String)>,
    repo: std::path::PathBuf,
    data: std::path::PathBuf,
    made: usize,
}

impl Backend for Sqlite {
    async fn generate(&mut self, fresh: bool) -> Value {
        self.made += 1;
        let out = self.data.join(format!("spec-{}.json", self.made));
        let mut cmd = self.bins.command("specline", &self.env);
        cmd.arg("analyze")
            .arg(&self.repo)
            .args(["--lang", "en", "--no-progress", "--format", "json", "--out"])
            .arg(&out);
        if fresh {
            cmd.arg("--fresh");
        }
        let done = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        assert!(
            done.status.success(),
            "specline analyze: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    }

    fn tool(&self, args: &[&str]) -> Value {
        let out = self
            .bins
            .command("specline", &self.env)
            .args(["admin", "--json"])
            .args(args)
            .output()
            .unwrap();
        support::assert_succeeded(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_three_analyze_processes_pay_only_for_new_tests() {
    let data = tempfile::tempdir().unwrap();
    let repo = first_commit();
    let model = model().await;
    let env: Vec<(String, String)> = provider_env(&model)
        .into_iter()
        .chain([(
            "SPECLINE_LOCAL__DATA_DIR".to_string(),
            data.path().display().to_string(),
        )])
        .collect();
    let mut backend = Sqlite {
        bins: Binaries::locate(),
        env,
        repo: repo.path().to_path_buf(),
        data: data.path().to_path_buf(),
        made: 0,
    };
    three_generations(&model, repo.path(), &mut backend).await;
}
