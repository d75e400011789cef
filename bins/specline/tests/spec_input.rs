//! `specline spec FILE` reads a bounded amount of its input, whatever the file is.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use specline_specdoc::inventory_file::MAX_INVENTORY_BYTES;

/// Runs `specline spec PATH` and returns its status and stderr; the child is killed if it
/// outlives `limit` (an unbounded read of `/dev/zero` never ends by itself).
async fn spec(path: &str, limit: Duration) -> (Option<i32>, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_specline"))
        .args(["spec", path])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("specline spec {path} still running after {limit:?}"))
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn dev_zero_is_refused_with_a_code() {
    let (code, err) = spec("/dev/zero", Duration::from_secs(60)).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("INPUT_TOO_LARGE"), "{err}");
}

#[tokio::test]
async fn an_oversize_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    // Sparse: no disk is used, but the size says it is one byte over the bound.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(MAX_INVENTORY_BYTES + 1)
        .unwrap();
    let (code, err) = spec(path.to_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("INPUT_TOO_LARGE"), "{err}");
}
