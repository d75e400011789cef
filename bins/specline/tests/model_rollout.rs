//! Issue 18, the spec generator's model as a rollout (`classify_tests.model`), end to end:
//! `specline analyze` as a real child process, the primary and the candidate model as two
//! fake OpenAI-compatible servers on 127.0.0.1 (the candidate answers one known different
//! classification: `test_login_case_2` in a feature of its own). In shadow:
//!
//! - the analysis succeeds, and the stored document is the primary's (every test where the
//!   primary put it, its generator the primary's model);
//! - the report shows one mismatch whose diff names exactly the moved test, with its place
//!   under each model, the feature only the candidate made, and the tokens of both sides;
//! - the candidate was asked to classify only (once), and its call is not in the owner's
//!   cost of the document.
//!
//! Then in `full`, the candidate's classification builds the document and is billed.
//!
//! On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

#[path = "../../../crates/specdoc/tests/common/fake.rs"]
#[allow(dead_code)]
mod fake;
mod support;

use std::collections::BTreeMap;

use fake::{good_answer, FakeServer, Recorded, Reply, Wire};
use serde_json::{json, Value};
use support::{assert_succeeded, git_repo, Binaries, PgSchema};

const AREAS: [&str; 4] = ["cart", "login", "search", "orders"];
/// The test the candidate places elsewhere.
const MOVED: &str = "test_login_case_2";

/// The candidate model: the well-behaved answer, except that [`MOVED`] goes to a feature
/// "Feature Moved" of the same domain.
fn candidate_answer(req: &Recorded) -> Value {
    let mut answer = good_answer(req);
    if req.phase() != "classify" {
        return answer;
    }
    let Some(moved) = req
        .lines()
        .into_iter()
        .find(|(_, fields)| fields.last().map(String::as_str) == Some(MOVED))
        .map(|(i, _)| i)
    else {
        return answer;
    };
    for d in answer["domains"].as_array_mut().unwrap() {
        let ours = d["name"] == "Domain tests";
        let features = d["features"].as_array_mut().unwrap();
        for f in features.iter_mut() {
            f["tests"]
                .as_array_mut()
                .unwrap()
                .retain(|t| t.as_u64() != Some(moved as u64));
        }
        if ours {
            features.push(json!({"name": "Feature Moved", "tests": [moved]}));
        }
    }
    answer
}

fn run(bins: &Binaries, env: &[(String, String)], args: &[&str]) -> Value {
    let out = bins
        .command("specline", env)
        .args(["admin", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert_succeeded(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Test name → `Domain / Feature` in a stored document.
fn placements(doc: &Value) -> BTreeMap<String, String> {
    support::behaviors(doc)
        .into_iter()
        .map(|(d, f, b)| {
            (
                b["test_name"].as_str().unwrap().to_string(),
                format!(
                    "{} / {}",
                    d["name"].as_str().unwrap(),
                    f["name"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

fn shadow_of_the_model(
    bins: &Binaries,
    env: &[(String, String)],
    primary: &FakeServer,
    candidate: &FakeServer,
) {
    let files: Vec<(String, String)> = AREAS
        .iter()
        .map(|area| {
            let body: String = (0..5)
                .map(|t| format!("def test_{area}_case_{t}():\n    assert True\n\n"))
                .collect();
            (format!("tests/test_{area}.py"), body)
        })
        .collect();
    let repo = git_repo(&files);
    let mut env = env.to_vec();
    env.extend([
        ("SPECLINE_PROVIDER__KIND".into(), "openai".into()),
        ("SPECLINE_PROVIDER__MODEL".into(), "fake-model".into()),
        (
            "SPECLINE_PROVIDER__BASE_URL".into(),
            primary.base_url.clone(),
        ),
        (
            "SPECLINE_PROVIDER__CANDIDATE_MODEL".into(),
            "fake-candidate".into(),
        ),
        (
            "SPECLINE_PROVIDER__CANDIDATE_BASE_URL".into(),
            candidate.base_url.clone(),
        ),
    ]);
    run(
        bins,
        &env,
        &[
            "rollout",
            "set",
            "classify_tests.model",
            "shadow",
            "--by",
            "alice",
        ],
    );

    let out_file = tempfile::NamedTempFile::new().unwrap();
    let out = bins
        .command("specline", &env)
        .arg("analyze")
        .arg(repo.path())
        .args(["--lang", "en", "--no-progress", "--format", "json", "--out"])
        .arg(out_file.path())
        .output()
        .unwrap();
    assert_succeeded(&out);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(out_file.path()).unwrap()).unwrap();

    // The document is the primary's: every test where the primary put it.
    assert_eq!(doc["generator"]["model"], "fake-model", "{doc}");
    let expected: BTreeMap<String, String> = AREAS
        .iter()
        .flat_map(|area| {
            (0..5).map(move |t| {
                (
                    format!("test_{area}_case_{t}"),
                    format!("Domain tests / Feature test_{area}.py"),
                )
            })
        })
        .collect();
    assert_eq!(placements(&doc), expected);
    let listed = run(bins, &env, &["document", "list", "--limit", "1"]);
    let id = listed[0]["id"].as_i64().unwrap().to_string();
    let stored = run(bins, &env, &["document", "show", &id]);
    assert_eq!(placements(&stored), expected, "{stored}");
    assert_eq!(stored["generator"]["model"], "fake-model");

    // The candidate classified (once) and did nothing else.
    let phases: Vec<&str> = candidate.requests().iter().map(|r| r.phase()).collect();
    assert_eq!(phases, ["classify"]);
    assert_eq!(candidate.requests()[0].body["model"], "fake-candidate");
    assert_eq!(primary.count("classify"), 1);

    // The report: one mismatch, exactly the moved test, and both sides' tokens.
    let report = run(bins, &env, &["rollout", "report", "classify_tests.model"]);
    assert_eq!(report["results"], 1, "{report}");
    assert_eq!(report["match_rate"], 0.0, "{report}");
    assert_eq!(report["failures"], json!([]), "{report}");
    let top = &report["top_mismatches"];
    assert_eq!(top.as_array().unwrap().len(), 1, "{report}");
    assert_eq!(top[0]["count"], 1);
    assert_eq!(
        top[0]["diff"],
        json!({
            "moved": [{
                "test": format!("tests/test_login.py › {MOVED}"),
                "primary": "Domain tests / Feature test_login.py",
                "candidate": "Domain tests / Feature Moved",
            }],
            "domains": {"only_primary": [], "only_candidate": []},
            "features": {"only_primary": [], "only_candidate": ["Domain tests / Feature Moved"]},
            "cost": {
                "primary": {"calls": 1, "prompt_tokens": 100, "output_tokens": 20},
                "candidate": {"calls": 1, "prompt_tokens": 100, "output_tokens": 20},
            },
        }),
        "{report}"
    );
    assert!(
        (top[0]["similarity"].as_f64().unwrap() - 19.0 / 20.0).abs() < 1e-9,
        "{report}"
    );

    // The owner pays for the primary's calls only.
    let cost = run(bins, &env, &["document", "cost", &id]);
    let classify: Vec<&Value> = cost
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["phase"] == "classify")
        .collect();
    assert_eq!(classify.len(), 1, "{cost}");
    assert_eq!(classify[0]["calls"], 1, "{cost}");

    // `full`: the candidate's classification builds the document and is the owner's cost.
    // It is asked again: its shadow run left nothing in the database's cache.
    run(
        bins,
        &env,
        &[
            "rollout",
            "set",
            "classify_tests.model",
            "full",
            "--by",
            "alice",
        ],
    );
    let out = bins
        .command("specline", &env)
        .arg("analyze")
        .arg(repo.path())
        .args([
            "--lang",
            "en",
            "--no-progress",
            "--fresh",
            "--format",
            "json",
            "--out",
        ])
        .arg(out_file.path())
        .output()
        .unwrap();
    assert_succeeded(&out);
    assert_eq!(candidate.count("classify"), 2);
    assert_eq!(primary.count("classify"), 1, "the primary classified again");
    let listed = run(bins, &env, &["document", "list", "--limit", "1"]);
    let id = listed[0]["id"].as_i64().unwrap().to_string();
    let stored = run(bins, &env, &["document", "show", &id]);
    let mut moved = expected.clone();
    moved.insert(MOVED.into(), "Domain tests / Feature Moved".into());
    assert_eq!(placements(&stored), moved, "{stored}");
    let cost = run(bins, &env, &["document", "cost", &id]);
    let classify: Vec<&Value> = cost
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["phase"] == "classify")
        .collect();
    assert_eq!(classify.len(), 1, "{cost}");
    assert_eq!(classify[0]["calls"], 1, "{cost}");
}

async fn servers() -> (FakeServer, FakeServer) {
    (
        FakeServer::start(|_, req| Reply::ok(Wire::OpenAi, &good_answer(req))).await,
        FakeServer::start(|_, req| Reply::ok(Wire::OpenAi, &candidate_answer(req))).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_candidate_model_in_shadow_reports_the_moved_test_then_serves_in_full() {
    let bins = Binaries::locate();
    let (primary, candidate) = servers().await;
    let data = tempfile::tempdir().unwrap();
    let env = vec![(
        "SPECLINE_LOCAL__DATA_DIR".to_string(),
        data.path().display().to_string(),
    )];
    tokio::task::block_in_place(|| shadow_of_the_model(&bins, &env, &primary, &candidate));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_candidate_model_in_shadow_reports_the_moved_test_then_serves_in_full() {
    let bins = Binaries::locate();
    let (primary, candidate) = servers().await;
    let schema = PgSchema::new().await;
    let mut env = schema.env();
    env.push((
        "SPECLINE_SECURITY__ENCRYPTION_KEY".into(),
        support::KEY.into(),
    ));
    bins.migrate(&env);
    tokio::task::block_in_place(|| shadow_of_the_model(&bins, &env, &primary, &candidate));
}
