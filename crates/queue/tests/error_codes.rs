//! The engine's codes are listed once (`specline_queue::error::CODES`); `docs/queue-errors.md`
//! is generated from that list, and every code the engine's source writes is in it.
//! `SPECLINE_WRITE_DOCS=1 cargo test -p specline-queue --test error_codes` rewrites the file.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use specline_queue::error::{CodeUse, CODES};
use specline_queue::Error;

fn table() -> String {
    let mut out = String::from(
        "# specline-queue: error codes\n\n\
         Generated from `specline_queue::error::CODES` by `crates/queue/tests/error_codes.rs`\n\
         (`SPECLINE_WRITE_DOCS=1 cargo test -p specline-queue --test error_codes`); do not edit by hand.\n\n\
         An API error's message starts with its code (`CODE: …`); a job's error history and a\n\
         failed run carry the code in their `code` field. Handlers add their own codes.\n\n\
         | code | where | meaning |\n|---|---|---|\n",
    );
    for (code, used, meaning) in CODES {
        let used = match used {
            CodeUse::Api => "API error",
            CodeUse::Attempt => "job or run history",
            CodeUse::Both => "both",
        };
        out.push_str(&format!("| `{code}` | {used} | {meaning} |\n"));
    }
    out
}

#[test]
fn the_docs_table_is_generated_from_the_list() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/queue-errors.md");
    if std::env::var_os("SPECLINE_WRITE_DOCS").is_some() {
        std::fs::write(&path, table()).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed,
        table(),
        "docs/queue-errors.md is stale: rerun with SPECLINE_WRITE_DOCS=1"
    );
}

#[test]
fn every_code_in_the_engine_source_is_listed() {
    let listed: Vec<&str> = CODES.iter().map(|c| c.0).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, listed, "keep CODES sorted and without repeats");
    // Errors' own codes.
    for e in [
        Error::InvalidConfig(String::new()),
        Error::InvalidArgs(String::new()),
        Error::JobNotFound(1),
        Error::RunNotFound(1),
        Error::Pool(String::new()),
        Error::Corrupt(String::new()),
        Error::Runtime(String::new()),
        Error::InvalidState(String::new()),
        Error::UniqueConflict(String::new()),
        Error::SchemaMismatch(String::new()),
        Error::WorkerState(String::new()),
    ] {
        assert!(listed.contains(&e.code()), "{} is not listed", e.code());
    }
    // Codes the engine writes into histories: the string literals passed as codes.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in [
        "executor.rs",
        "completer.rs",
        "pipeline.rs",
        "rescuer.rs",
        "run.rs",
    ] {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        for part in text.split('"').skip(1).step_by(2) {
            let is_code = part.len() >= 4
                && part.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                && part.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            if is_code {
                assert!(
                    listed.contains(&part),
                    "{file} writes code {part}, which is not listed"
                );
            }
        }
    }
}
