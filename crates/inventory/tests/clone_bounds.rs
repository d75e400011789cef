//! What bounds a clone: the per-file size limit (with a blob filter where the server has
//! one), the disk budget, the timeout (a server that never answers), stale directories
//! swept, and a missing ref classed as permanent. Real repositories served over file://
//! and real TCP listeners on 127.0.0.1.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

#[path = "common/git_repos.rs"]
mod git_repos;

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use git_repos::served;
use rand::{Rng, SeedableRng};
use specline_error_codes::{ErrorClass, ErrorCode};
use specline_inventory::materialize::OmitReason;
use specline_inventory::scan::record_omitted;
use specline_inventory::source::{prepare_opts, remote_head, GitOptions, SourceSpec};
use specline_inventory::workdir::{sweep_stale, CLONE_PREFIX};
use specline_inventory::{scan, ScanOptions};

const SMALL_TEST: &str = "package calc\nimport \"testing\"\nfunc TestAdd(t *testing.T) {}\n";

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random::<u8>()).collect()
}

fn options(max_file: u64, budget: u64, root: &Path) -> GitOptions {
    GitOptions {
        timeout: Some(Duration::from_secs(60)),
        max_file_bytes: max_file,
        disk_budget: Some(budget),
        work_root: root.to_path_buf(),
        ..GitOptions::default()
    }
}

#[test]
fn a_file_over_the_limit_is_neither_fetched_nor_written_and_is_recorded() {
    for allow_filter in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let big = random_bytes(3 << 20, 1);
        let (url, _) = served(
            tmp.path(),
            &[
                ("calc_test.go", SMALL_TEST.as_bytes().to_vec()),
                ("big_test.go", big),
                ("assets/blob.bin", random_bytes(2 << 20, 2)),
            ],
            allow_filter,
        );
        let root = tmp.path().join("clones");
        let opts = options(1 << 20, 64 << 20, &root);
        let spec = SourceSpec::parse(&url, None, None).unwrap();
        let checkout = prepare_opts(&spec, &opts).unwrap();
        assert!(!checkout.path().join("big_test.go").exists());
        assert!(!checkout.path().join("assets/blob.bin").exists());
        let omitted: Vec<(&str, OmitReason)> = checkout
            .omitted()
            .iter()
            .map(|o| (o.path.as_str(), o.reason))
            .collect();
        let expect_size = |n: u64| if allow_filter { None } else { Some(n) };
        assert_eq!(
            omitted,
            vec![
                (
                    "assets/blob.bin",
                    OmitReason::TooLarge {
                        size: expect_size(2 << 20)
                    }
                ),
                (
                    "big_test.go",
                    OmitReason::TooLarge {
                        size: expect_size(3 << 20)
                    }
                ),
            ],
            "allow_filter {allow_filter}"
        );
        if allow_filter {
            // The server left the large blobs out: the whole clone is far below them.
            let size = dir_size(checkout.path());
            assert!(size < 1 << 20, "clone holds {size} bytes");
        }
        let mut inv = scan(checkout.path(), &ScanOptions::default()).unwrap();
        record_omitted(&mut inv, checkout.omitted(), 1 << 20).unwrap();
        assert_eq!(inv.stats.tests, 1);
        // The test file is an error with its path and a code; the asset is no test file.
        let errors: Vec<(&str, &str)> = inv
            .errors
            .iter()
            .map(|e| (e.path.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(errors, vec![("big_test.go", "FILE_TOO_LARGE")]);
        assert_eq!(inv.stats.skipped_too_large, 1);
    }
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.path().symlink_metadata().unwrap();
        total += if meta.is_dir() {
            dir_size(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

#[test]
fn a_clone_of_many_files_writes_every_one() {
    // A tree listing of several MiB: nothing of it may be cut off.
    let tmp = tempfile::tempdir().unwrap();
    let long = "n".repeat(100);
    let names: Vec<String> = (0..12_000)
        .map(|i| format!("d{}/{long}_{i}_test.go", i % 40))
        .collect();
    let files: Vec<(&str, Vec<u8>)> = names
        .iter()
        .map(|n| (n.as_str(), SMALL_TEST.as_bytes().to_vec()))
        .collect();
    let (url, _) = served(tmp.path(), &files, false);
    let opts = options(1 << 20, 256 << 20, &tmp.path().join("clones"));
    let checkout = prepare_opts(&SourceSpec::parse(&url, None, None).unwrap(), &opts).unwrap();
    assert!(checkout.omitted().is_empty());
    let inv = scan(checkout.path(), &ScanOptions::default()).unwrap();
    assert_eq!(inv.stats.test_files, 12_000);
}

#[test]
fn a_clone_over_its_disk_budget_stops_with_clone_too_large() {
    let tmp = tempfile::tempdir().unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| (format!("data/f{i}.bin"), random_bytes(512 << 10, 10 + i)))
        .collect();
    let borrowed: Vec<(&str, Vec<u8>)> =
        files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    let (url, _) = served(tmp.path(), &borrowed, false);
    let root = tmp.path().join("clones");
    // Every file is under the per-file limit; together they are 4 MiB, twice the budget.
    let opts = options(1 << 20, 2 << 20, &root);
    let spec = SourceSpec::parse(&url, None, None).unwrap();
    let err = prepare_opts(&spec, &opts).unwrap_err();
    assert_eq!(err.code(), "CLONE_TOO_LARGE", "{err}");
    assert_eq!(ErrorCode::class(&err), ErrorClass::Permanent);
    // The stopped clone's directory is gone.
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    // Under a larger budget the same clone succeeds.
    let ok = prepare_opts(&spec, &options(1 << 20, 64 << 20, &root)).unwrap();
    assert!(ok.path().join("data/f7.bin").exists());
}

#[test]
fn stale_clone_directories_are_swept_and_live_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dead = root.join(format!("{CLONE_PREFIX}4000000000-abc"));
    let own = root.join(format!("{CLONE_PREFIX}{}-def", std::process::id()));
    // PID 1 runs as long as the machine does.
    let alive = root.join(format!("{CLONE_PREFIX}1-ghi"));
    let foreign = root.join("someone-elses-dir");
    for d in [&dead, &own, &alive, &foreign] {
        std::fs::create_dir_all(d.join("repo/.git")).unwrap();
        std::fs::write(d.join("repo/file"), b"x").unwrap();
    }
    let not_a_dir = root.join(format!("{CLONE_PREFIX}4000000001-file"));
    std::fs::write(&not_a_dir, b"x").unwrap();
    // Everything above is older than this "start".
    let started = SystemTime::now() + Duration::from_secs(5);
    let removed = sweep_stale(root, started).unwrap();
    assert_eq!(removed, 2);
    assert!(!dead.exists());
    assert!(!own.exists());
    assert!(alive.exists());
    assert!(foreign.exists());
    assert!(not_a_dir.exists());
    // A directory changed after the start is never swept (a clone of this run).
    let fresh = root.join(format!("{CLONE_PREFIX}4000000002-jkl"));
    std::fs::create_dir_all(&fresh).unwrap();
    assert_eq!(
        sweep_stale(root, SystemTime::now() - Duration::from_secs(60)).unwrap(),
        0
    );
    assert!(fresh.exists());
    assert_eq!(sweep_stale(&root.join("missing"), started).unwrap(), 0);
}

/// A server that accepts connections and never answers.
fn silent_server() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    (format!("http://{addr}/r.git"), handle)
}

/// Runs the `specline inventory` command on `args`, failing the test (instead of hanging
/// it) when the command does not return within a minute.
fn run_cli(args: Vec<String>) -> Result<String, String> {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: specline_inventory::cli::InventoryArgs,
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let cli = Cli::try_parse_from(args).unwrap();
        let mut out = Vec::new();
        let result = specline_inventory::cli::run_to(cli.args, &mut out)
            .map(|()| String::from_utf8_lossy(&out).into_owned())
            .map_err(|e| format!("{e:#}"));
        let _ = tx.send(result);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the inventory command hung on a server that never answers")
}

#[test]
fn the_inventory_command_stops_a_clone_from_a_server_that_never_answers() {
    let (url, _server) = silent_server();
    for limit in [["--timeout-secs", "2"], ["--clone-timeout-secs", "2"]] {
        let started = Instant::now();
        let mut args = vec!["specline-inventory".to_string(), url.clone()];
        args.extend(limit.iter().map(|s| s.to_string()));
        let err = run_cli(args).unwrap_err();
        assert!(err.contains("GIT_TIMEOUT"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(30), "{limit:?}");
    }
}

#[test]
fn a_missing_ref_is_a_permanent_error_with_a_code() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = served(
        tmp.path(),
        &[("calc_test.go", SMALL_TEST.as_bytes().to_vec())],
        false,
    );
    let opts = options(1 << 20, 64 << 20, &tmp.path().join("clones"));
    let spec = SourceSpec::parse(&url, Some("no-such-branch".into()), None).unwrap();
    let err = remote_head(&spec, &opts).unwrap_err();
    assert_eq!(err.code(), "REF_NOT_FOUND", "{err}");
    assert_eq!(ErrorCode::class(&err), ErrorClass::Permanent);
    let err = prepare_opts(&spec, &opts).unwrap_err();
    assert_eq!(err.code(), "REF_NOT_FOUND", "{err}");
    assert_eq!(ErrorCode::class(&err), ErrorClass::Permanent);
    // A server that is down is not permanent: it may come back.
    let down = SourceSpec::parse("http://127.0.0.1:1/r.git", None, None).unwrap();
    let err = remote_head(&down, &opts).unwrap_err();
    assert_eq!(ErrorCode::class(&err), ErrorClass::Retryable, "{err}");
}
