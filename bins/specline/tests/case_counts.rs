//! A parameterised test's literal cases reach the stored spec document, end to end with the
//! real binaries on a git repository made here: on SQLite with `specline analyze`, on
//! PostgreSQL with `specline-analyzer`, an offline `specline-spec-generator` and
//! `specline-enqueue` (the cases cross both backends' inventory tables, app migration 8).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{enqueue_json, git_repo, Binaries, PgSchema};

const PYTHON: &str = r#"import pytest

@pytest.mark.parametrize("currency", ["eur", "usd", "jpy"])
def test_rounds_each_currency(currency):
    assert currency

def test_sends_the_invoice():
    assert True
"#;

const JS: &str = r#"describe('Cart', () => {
  it.each([[1], [2]])('adds %i items', (n) => {});
});
"#;

fn repo() -> tempfile::TempDir {
    git_repo(&[
        ("tests/test_invoice.py".into(), PYTHON.into()),
        ("web/cart.test.js".into(), JS.into()),
    ])
}

/// `test name` → its behavior's `cases`, and the document's runner count.
fn cases(doc: &Value) -> (BTreeMap<String, Value>, Value) {
    let out = support::behaviors(doc)
        .into_iter()
        .map(|(_, _, b)| {
            (
                b["test_name"].as_str().unwrap().to_string(),
                b.get("cases").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    (out, doc["stats"]["runner_tests"].clone())
}

/// Hand-counted from the sources above: 3 definitions, 3 + 1 + 2 runner cases (a
/// parameterised test's name says it is dynamic, as the inventory names it).
fn expected() -> (BTreeMap<String, Value>, Value) {
    let cases = [
        ("test_rounds_each_currency (dynamic)", Value::from(3)),
        ("test_sends_the_invoice", Value::Null),
        ("adds %i items (dynamic)", Value::from(2)),
    ]
    .into_iter()
    .map(|(n, c)| (n.to_string(), c))
    .collect();
    (cases, Value::from(6))
}

#[test]
fn sqlite_documents_carry_the_case_counts() {
    let data = tempfile::tempdir().unwrap();
    let repo = repo();
    let bins = Binaries::locate();
    let env = vec![(
        "SPECLINE_LOCAL__DATA_DIR".to_string(),
        data.path().display().to_string(),
    )];
    let doc = support::analyze_to_json(&bins, &env, repo.path(), &data.path().join("spec.json"));
    assert_eq!(cases(&doc), expected(), "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_documents_carry_the_case_counts() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let repo = repo();
    let env = schema.env();
    bins.migrate(&env);
    let _analyzer = bins
        .start("specline-analyzer", &support::analyzer_env(&env))
        .await;
    // No provider: the offline generator.
    let _generator = bins.start("specline-spec-generator", &env).await;
    let url = format!("file://{}", repo.path().display());
    let done = enqueue_json(&bins, &env, &["analyze", &url, "--lang", "en", "--wait"]);
    let id = done["document_id"].as_i64().unwrap().to_string();
    let doc = enqueue_json(&bins, &env, &["document", "show", &id]);
    assert_eq!(cases(&doc), expected(), "{doc}");
}
