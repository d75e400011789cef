//! The offline generator writes a behavior from the test's own documentation (its docstring
//! or the comment above it) when that reads as a sentence, and from its name otherwise; each
//! sentence stays traceable to its test. End to end with the real binaries on a git
//! repository made here: on SQLite with `specline analyze`, on PostgreSQL with
//! `specline-analyzer`, an offline `specline-spec-generator` and `specline-enqueue` (the
//! documentation crosses both backends' inventory tables). A second commit that changes only
//! a comment changes only that sentence.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::{enqueue_json, git, git_repo, Binaries, PgSchema};

const PYTHON: &str = r#"def test_empty_cart():
    """When the cart is empty, checkout is refused.

    The button stays disabled too.
    """
    assert True

# TODO: split this one
def test_rounds_totals():
    assert True
"#;

const JS: &str = r#"describe('Login', () => {
  // It should lock the account after three wrong passwords.
  it('locks', () => {});

  // expect(session).toBeNull();
  it('forgets the session on logout', () => {});
});
"#;

const GO: &str = r#"package billing

import "testing"

// TestInvoice_Total checks that an invoice totals its lines in the invoice currency.
func TestInvoice_Total(t *testing.T) {}
"#;

const RUST: &str = r#"#[cfg(test)]
mod tests {
    /// Refunds never exceed the amount paid.
    #[test]
    fn refund_is_capped() {}
}
"#;

fn repo() -> tempfile::TempDir {
    git_repo(&[
        ("tests/test_cart.py".into(), PYTHON.into()),
        ("web/login.test.js".into(), JS.into()),
        ("billing/invoice_test.go".into(), GO.into()),
        ("src/refund.rs".into(), RUST.into()),
    ])
}

/// Written by hand from the sources above: the documented tests read as their comment says;
/// a note (`TODO`) and a commented-out statement are not documentation, so those tests read
/// as their names.
fn expected_first() -> BTreeMap<String, String> {
    [
        (
            "tests/test_cart.py",
            "test_empty_cart",
            "When the cart is empty, checkout is refused",
        ),
        ("tests/test_cart.py", "test_rounds_totals", "Rounds totals"),
        (
            "web/login.test.js",
            "locks",
            "Locks the account after three wrong passwords",
        ),
        (
            "web/login.test.js",
            "forgets the session on logout",
            "Forgets the session on logout",
        ),
        (
            "billing/invoice_test.go",
            "TestInvoice_Total",
            "An invoice totals its lines in the invoice currency",
        ),
        (
            "src/refund.rs",
            "refund_is_capped",
            "Refunds never exceed the amount paid",
        ),
    ]
    .into_iter()
    .map(|(f, t, s)| (format!("{f}: {t}"), s.to_string()))
    .collect()
}

/// A second commit that rewords one docstring and touches no test name.
fn reword(repo: &Path) {
    let p = repo.join("tests/test_cart.py");
    let body = std::fs::read_to_string(&p).unwrap().replace(
        "When the cart is empty, checkout is refused.",
        "An empty cart cannot be checked out.",
    );
    std::fs::write(&p, body).unwrap();
    git(repo, &["commit", "-q", "-a", "-m", "reword a docstring"]);
}

fn expected_second() -> BTreeMap<String, String> {
    let mut e = expected_first();
    e.insert(
        "tests/test_cart.py: test_empty_cart".into(),
        "An empty cart cannot be checked out".into(),
    );
    e
}

/// `file: test` → sentence of a document, after checking that every behavior points at its
/// test's line and that the offline generator that writes from documentation made it.
fn sentences(doc: &Value, repo: &Path) -> BTreeMap<String, String> {
    assert_eq!(doc["generator"]["kind"], "offline", "{}", doc["generator"]);
    assert_eq!(
        doc["generator"]["model"], "offline-2",
        "{}",
        doc["generator"]
    );
    let mut out = BTreeMap::new();
    for (_, _, b) in support::behaviors(doc) {
        let file = b["file"].as_str().unwrap();
        let name = b["test_name"].as_str().unwrap();
        // Traceable: the line named holds the test's name (or, for Rust and Go, its
        // function).
        let line = b["line"].as_u64().unwrap() as usize;
        let source = std::fs::read_to_string(repo.join(file)).unwrap();
        let text = source.lines().nth(line - 1).unwrap();
        assert!(text.contains(name), "{file}:{line} is {text:?}, not {name}");
        out.insert(
            format!("{file}: {name}"),
            b["sentence"].as_str().unwrap().to_string(),
        );
    }
    out
}

#[test]
fn sqlite_offline_sentences_come_from_documentation() {
    let data = tempfile::tempdir().unwrap();
    let repo = repo();
    let bins = Binaries::locate();
    let env = vec![(
        "SPECLINE_LOCAL__DATA_DIR".to_string(),
        data.path().display().to_string(),
    )];
    let generate = |n: usize| -> Value {
        let out = data.path().join(format!("spec-{n}.json"));
        support::analyze_to_json(&bins, &env, repo.path(), &out)
    };
    assert_eq!(sentences(&generate(1), repo.path()), expected_first());
    reword(repo.path());
    assert_eq!(sentences(&generate(2), repo.path()), expected_second());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_offline_sentences_come_from_documentation() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let repo = repo();
    let env = schema.env();
    bins.migrate(&env);
    let analyzer_env = support::analyzer_env(&env);
    let _analyzer = bins.start("specline-analyzer", &analyzer_env).await;
    // No provider: the offline generator.
    let _generator = bins.start("specline-spec-generator", &env).await;
    let url = format!("file://{}", repo.path().display());
    let generate = || {
        let done = enqueue_json(&bins, &env, &["analyze", &url, "--lang", "en", "--wait"]);
        let id = done["document_id"].as_i64().unwrap().to_string();
        enqueue_json(&bins, &env, &["document", "show", &id])
    };
    assert_eq!(sentences(&generate(), repo.path()), expected_first());
    reword(repo.path());
    assert_eq!(sentences(&generate(), repo.path()), expected_second());
}
