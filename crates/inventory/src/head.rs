//! The commit, branch and commit time of a repository, read without running `git` in it.
//!
//! `git log` inside a repository honours that repository's configuration, and some of it
//! runs programs (`log.showSignature` with `gpg.program`, `core.fsmonitor`, …). So `HEAD`
//! and the refs are read here as plain files (bounded, never through a symlink, never out
//! of the `.git` directory), and the commit object is read by a hardened `git` in a scratch
//! repository of ours that borrows the repository's object directory as data only.

use std::path::{Path, PathBuf};

use crate::git::{self, Limits};
use crate::model::target::check_ref;
use crate::untrusted_file::read_regular_file;

/// Largest `HEAD` or loose ref file read.
const MAX_REF_FILE: u64 = 4096;
/// Largest `packed-refs` file read.
const MAX_PACKED_REFS: u64 = 16 << 20;

/// What a repository's `HEAD` says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Head {
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub commit_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads the head of the repository whose git directory is `git_dir` (a real directory,
/// not a symlink or a `gitdir:` file pointing elsewhere). Anything unusual (a symlink, an
/// alternate object store, a reftable, an oversized file) yields less information, never
/// an error: the commit is metadata of the scan, not its subject.
pub fn read_head(program: &Path, git_dir: &Path, limits: &Limits) -> Head {
    if !is_real_dir(git_dir) {
        return Head::default();
    }
    let Some(head) = read_regular(git_dir, &["HEAD"], MAX_REF_FILE) else {
        return Head::default();
    };
    let head = head.trim();
    let (commit, branch) = match head.strip_prefix("ref:") {
        Some(name) => {
            let name = name.trim();
            let commit = resolve_ref(git_dir, name);
            (commit, name.strip_prefix("refs/heads/").map(str::to_string))
        }
        None => (is_object_id(head).then(|| head.to_string()), None),
    };
    let commit_time = commit
        .as_deref()
        .and_then(|sha| commit_time(program, git_dir, sha, limits));
    Head {
        commit,
        branch,
        commit_time,
    }
}

/// A full object id (SHA-1 or SHA-256), lower-case hex.
fn is_object_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The commit `name` (`refs/heads/main`) points at: its loose file, else `packed-refs`.
fn resolve_ref(git_dir: &Path, name: &str) -> Option<String> {
    let rest = name.strip_prefix("refs/")?;
    check_ref(rest).ok()?;
    let mut parts = vec!["refs"];
    parts.extend(rest.split('/'));
    if let Some(text) = read_regular(git_dir, &parts, MAX_REF_FILE) {
        let sha = text.trim();
        return is_object_id(sha).then(|| sha.to_string());
    }
    let packed = read_regular(git_dir, &["packed-refs"], MAX_PACKED_REFS)?;
    packed.lines().find_map(|line| {
        let (sha, ref_name) = line.split_once(' ')?;
        (ref_name.trim() == name && is_object_id(sha)).then(|| sha.to_string())
    })
}

fn is_real_dir(path: &Path) -> bool {
    path.symlink_metadata().is_ok_and(|m| m.is_dir())
}

/// Reads `root/parts…` when every directory on the way is a real directory and the file a
/// regular file of at most `max` bytes (a FIFO would block, a symlink could leave the tree).
pub(crate) fn read_regular(root: &Path, parts: &[&str], max: u64) -> Option<String> {
    let (file, dirs) = parts.split_last()?;
    let mut path = root.to_path_buf();
    for d in dirs {
        path.push(d);
        if !is_real_dir(&path) {
            return None;
        }
    }
    path.push(file);
    let bytes = read_regular_file(&path, max)?;
    String::from_utf8(bytes).ok()
}

/// The committer time of `sha`, read by a hardened `git` in a scratch repository whose
/// object directory is the repository's (data only: none of its configuration, hooks or
/// attributes is read). Skipped when the object store points at others (`alternates`):
/// that would read objects outside the tree.
fn commit_time(
    program: &Path,
    git_dir: &Path,
    sha: &str,
    limits: &Limits,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let objects = git_dir.join("objects");
    if !is_real_dir(&objects) {
        return None;
    }
    if objects
        .join("info")
        .join("alternates")
        .symlink_metadata()
        .is_ok()
    {
        return None;
    }
    let scratch = tempfile::Builder::new()
        .prefix("specline-head-")
        .tempdir()
        .ok()?;
    let scratch_git = scratch.path().join("g");
    let mut init = git::command(program, None);
    init.args(["init", "--quiet", "--bare", "--template="])
        .arg(&scratch_git);
    let done = git::run(init, limits, "init").ok()?;
    if !done.status.success() {
        return None;
    }
    let mut log = git::command(program, None);
    log.arg("--git-dir")
        .arg(&scratch_git)
        .env("GIT_OBJECT_DIRECTORY", &objects)
        .args(["cat-file", "commit", sha]);
    let limits = Limits {
        max_stdout: Some(64 * 1024),
        ..limits.clone()
    };
    let done = git::run(log, &limits, "cat-file").ok()?;
    if !done.status.success() {
        return None;
    }
    committer_time(&done.stdout)
}

/// The committer line's time of a raw commit object (`committer N <e> 1715000000 +0200`).
fn committer_time(raw: &[u8]) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("committer "))?;
    let mut tail = line.rsplitn(3, ' ');
    let _zone = tail.next()?;
    let secs: i64 = tail.next()?.parse().ok()?;
    chrono::DateTime::from_timestamp(secs, 0)
}

/// The git directory of a work tree `dir` (its `.git` directory), if it has one.
pub(crate) fn git_dir_of(dir: &Path) -> PathBuf {
    dir.join(".git")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committer_time_is_read_from_the_raw_commit() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1714979289 +0200\n\nmsg committer X <x> 5 +0000\n";
        let t = committer_time(raw).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-06T07:08:09+00:00");
        assert_eq!(committer_time(b"tree x\n\ncommitter C <c> 5 +0000\n"), None);
    }

    #[test]
    fn object_ids_are_full_lower_case_hex() {
        assert!(is_object_id(&"a".repeat(40)));
        assert!(is_object_id(&"0".repeat(64)));
        assert!(!is_object_id(&"A".repeat(40)));
        assert!(!is_object_id("abc"));
        assert!(!is_object_id(&format!("--{}", "a".repeat(38))));
    }
}
