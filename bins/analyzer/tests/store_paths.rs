//! What the analyzer writes, a real SQLite store keeps: two files whose non-UTF-8 names a
//! lossy conversion maps to one path both land in the store (its unique index on the path
//! once failed the whole analysis), each with its name problem as a per-file error.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use specline_app::store::{AppStore, NewAnalysis, SqliteAppStore};
use specline_inventory::scan::{scan_each, ScanOptions};
use specline_queue::store::{SqliteConfig, SqliteStore};
use specline_testkit::TempSqlite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_utf8_names_that_collide_when_lossy_are_both_stored() {
    let dir = tempfile::tempdir().unwrap();
    for name in [&b"caf\xe9.test.js"[..], b"caf\xe8.test.js"] {
        std::fs::write(
            dir.path().join(std::ffi::OsStr::from_bytes(name)),
            b"test('works', () => {});\n",
        )
        .unwrap();
    }
    let file = TempSqlite::new("app.sqlite");
    let engine = SqliteStore::open(SqliteConfig::new(file.path()))
        .await
        .unwrap();
    let store: Arc<dyn AppStore> = Arc::new(SqliteAppStore::new(&engine));
    store.migrate().await.unwrap();
    let analysis = store
        .begin_analysis(&NewAnalysis {
            repository: dir.path().display().to_string(),
            commit: None,
            branch: None,
            commit_time: None,
            parser_version: specline_inventory::PARSER_VERSION.to_string(),
            run_id: None,
        })
        .await
        .unwrap();
    let mut files = Vec::new();
    let inventory = scan_each(dir.path(), &ScanOptions::default(), |f| files.push(f)).unwrap();
    store.insert_files(analysis.id, &files).await.unwrap();
    store
        .insert_file_errors(analysis.id, &inventory.errors)
        .await
        .unwrap();
    store
        .finish_analysis(analysis.id, &inventory.stats)
        .await
        .unwrap();
    let stored = store.load_inventory(analysis.id).await.unwrap();
    let paths: Vec<&str> = stored.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["caf\\xE8.test.js", "caf\\xE9.test.js"]);
    let codes: Vec<(&str, &str)> = stored
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("caf\\xE8.test.js", "PATH_NOT_UTF8"),
            ("caf\\xE9.test.js", "PATH_NOT_UTF8")
        ]
    );
}
