//! The private temporary directories of clones: how they are named, and how the ones a
//! killed process left behind are swept.
//!
//! A clone directory is removed when its [`crate::source::Checkout`] drops, but a process
//! killed mid-clone (SIGKILL, OOM, a power cut) leaves it on disk, and a busy analyzer
//! would slowly fill its disk. Each directory's name carries the id of the process that
//! made it (`specline-clone-<pid>-<random>`); [`sweep_stale`] removes those of processes
//! that no longer run, and never one younger than the caller's start.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::InventoryError;

/// Prefix of every clone directory.
pub const CLONE_PREFIX: &str = "specline-clone-";

/// Where no process table can be read, a directory counts as stale after this long.
const STALE_WITHOUT_PROC: Duration = Duration::from_secs(24 * 3600);

/// A new private directory under `root`, named for this process.
pub(crate) fn new_clone_dir(root: &Path) -> Result<tempfile::TempDir, InventoryError> {
    std::fs::create_dir_all(root)
        .map_err(|e| InventoryError::io("creating the clone directory's parent", e))?;
    tempfile::Builder::new()
        .prefix(&format!("{CLONE_PREFIX}{}-", std::process::id()))
        .tempdir_in(root)
        .map_err(|e| InventoryError::io("creating a temporary directory", e))
}

/// Removes the clone directories under `root` left by processes that no longer run (or by
/// an earlier process that had this one's id), when they were last changed before
/// `started`. Returns how many were removed.
pub fn sweep_stale(root: &Path, started: SystemTime) -> Result<usize, InventoryError> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(InventoryError::io("listing the clone directories", e)),
    };
    let proc_table = Path::new("/proc/self").exists();
    let own = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(CLONE_PREFIX)) else {
            continue;
        };
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        // Ours are real directories; anything else with the prefix is not ours to remove.
        if !meta.is_dir() {
            continue;
        }
        let changed = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if changed >= started {
            continue;
        }
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let stale = match pid {
            Some(pid) if proc_table => {
                pid == own || !Path::new("/proc").join(pid.to_string()).exists()
            }
            _ => SystemTime::now()
                .duration_since(changed)
                .is_ok_and(|age| age > STALE_WITHOUT_PROC),
        };
        if stale && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}
