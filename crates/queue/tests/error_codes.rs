//! The engine's codes are listed once ([`specline_queue::QueueCode`]), each spelled
//! `SCREAMING_SNAKE` with a class that its errors keep; every code the engine's source writes
//! is in the list. `docs/error-codes.md` is generated from the list by `specline errors`
//! (checked in `bins/specline/tests/error_codes.rs`).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use specline_error_codes::{check_codes, CodeSet};
use specline_queue::{Error, ErrorClass, ErrorCode, JobError, QueueCode};

fn samples() -> Vec<Error> {
    vec![
        Error::WrongQueue {
            kind: "k".into(),
            queue: "q".into(),
            allowed: vec![],
        },
        Error::UnhandledKind {
            kind: "k".into(),
            queue: "q".into(),
        },
        Error::DuplicateHandler { kind: "k".into() },
        Error::InvalidConfig(String::new()),
        Error::InvalidGraph(String::new()),
        Error::InvalidArgs(String::new()),
        Error::InvalidSchedule {
            expr: "x".into(),
            message: String::new(),
        },
        Error::JobNotFound(1),
        Error::RunNotFound(1),
        Error::Pool(String::new()),
        Error::Corrupt(String::new()),
        Error::Runtime(String::new()),
        Error::InvalidState(String::new()),
        Error::UniqueConflict(String::new()),
        Error::IdempotencyConflict {
            owner: "o".into(),
            key: "k".into(),
        },
        Error::SchemaMismatch(String::new()),
        Error::WorkerState(String::new()),
    ]
}

#[test]
fn every_code_is_listed_once_and_spelled_screaming_snake() {
    check_codes::<QueueCode>().unwrap();
}

#[test]
fn every_error_has_a_listed_code_whose_class_it_keeps() {
    for e in samples() {
        let kind = e.kind();
        assert!(QueueCode::ALL.contains(&kind));
        assert_eq!(ErrorCode::code(&e), kind.as_str());
        assert!(
            e.to_string().starts_with(&format!("{}: ", kind.as_str())),
            "the message of {e:?} starts with its code"
        );
        assert!(
            kind.rule().admits(ErrorCode::class(&e)),
            "{e:?} is {} but {} is declared {}",
            ErrorCode::class(&e),
            kind,
            kind.rule()
        );
    }
}

#[test]
fn an_engine_error_in_a_handler_is_retried_only_when_the_database_was_out_of_reach() {
    let busy = Error::Pool("timed out waiting for a connection".into());
    assert_eq!(busy.class(), ErrorClass::Retryable);
    assert_eq!(
        JobError::from(busy),
        JobError::retryable(
            "DATABASE",
            "DATABASE: postgres pool: timed out waiting for a connection"
        )
    );
    let corrupt = Error::Corrupt("checkpoint `x`: expected a map".into());
    assert_eq!(
        JobError::from(corrupt),
        JobError::permanent("CORRUPT_ROW", "CORRUPT_ROW: checkpoint `x`: expected a map")
    );
}

/// A coded error of some other crate, in each of the four classes.
struct Coded(ErrorClass);

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SOME_CODE: what happened")
    }
}

impl ErrorCode for Coded {
    fn code(&self) -> &'static str {
        "SOME_CODE"
    }
    fn class(&self) -> ErrorClass {
        self.0
    }
}

#[test]
fn the_one_conversion_keeps_the_code_the_class_and_the_message() {
    let from = |class| JobError::from(Coded(class));
    assert_eq!(
        from(ErrorClass::Retryable),
        JobError::retryable("SOME_CODE", "SOME_CODE: what happened")
    );
    assert_eq!(
        from(ErrorClass::Permanent),
        JobError::permanent("SOME_CODE", "SOME_CODE: what happened")
    );
    assert_eq!(
        from(ErrorClass::Cancel),
        JobError::cancel("SOME_CODE: what happened")
    );
    let wait = std::time::Duration::from_secs(42);
    assert_eq!(from(ErrorClass::Snooze(wait)), JobError::snooze(wait));
    // `?` in a handler is the same conversion.
    fn step() -> Result<(), JobError> {
        Err(Coded(ErrorClass::Permanent))?
    }
    assert!(matches!(step(), Err(JobError::Permanent { .. })));
}

#[test]
fn every_code_in_the_engine_source_is_listed() {
    let listed: Vec<&str> = QueueCode::ALL.iter().map(|c| c.as_str()).collect();
    // Codes the engine writes into histories: the string literals passed as codes.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Every engine file but the drivers (whose literals are SQL) and the drivers' test suite.
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "store") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "driver_tests.rs")
            {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 10, "the engine's files were not found");
    for path in files {
        let file = path.strip_prefix(&src).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        // A file's own unit tests make up codes of their own.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
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
