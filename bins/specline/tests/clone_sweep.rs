//! The analyzer sweeps the clone directories that a killed analyzer left behind when it
//! starts (issue 11): a real `specline-analyzer` process with its own temporary directory.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{Binaries, PgSchema, KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analyzer_sweeps_stale_clone_directories_at_start() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let tmp = tempfile::tempdir().unwrap();
    // A process id above the kernel's maximum: no such process runs.
    let stale = tmp.path().join("specline-clone-4000000000-abc");
    std::fs::create_dir_all(stale.join("repo/.git/objects")).unwrap();
    std::fs::write(stale.join("repo/big.pack"), vec![0u8; 4096]).unwrap();
    // PID 1 runs: its directory is not ours to remove.
    let live = tmp.path().join("specline-clone-1-def");
    std::fs::create_dir_all(&live).unwrap();
    let mut env = schema.env();
    bins.migrate(&env);
    env.push(("SPECLINE_SECURITY__ENCRYPTION_KEY".into(), KEY.into()));
    env.push(("TMPDIR".into(), tmp.path().display().to_string()));
    let analyzer = bins.start("specline-analyzer", &env).await;
    assert!(!stale.exists(), "{}", analyzer.logs());
    assert!(live.exists());
    analyzer.terminate(Duration::from_secs(20)).await;
}
