//! Writes a clone's files ourselves, instead of `git checkout`.
//!
//! A checkout runs what the repository's attributes and the configuration ask for (clean
//! and smudge filters, LFS downloads, `core.fsmonitor`, `post-checkout` hooks), follows no
//! size limit, and creates symlinks. Here the clone is made with `--no-checkout` (and a
//! blob size filter where the server supports one), the tree is listed with `git ls-tree`,
//! and each wanted blob is streamed from one `git cat-file --batch` into a regular file:
//! only regular files, no symlinks, no submodules, no filters (an LFS pointer stays the
//! small text file it is), no file over the size limit, no path that leaves the tree or
//! enters `.git`, and the disk budget checked as bytes are written. What is left out is
//! returned as [`Omitted`] and becomes a per-file error of the scan.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;

use crate::error::InventoryError;
use crate::git::{self, Limits};

/// A file of the tree that was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Omitted {
    /// Path in the tree, `/`-separated (lossy when not UTF-8).
    pub path: String,
    pub reason: OmitReason,
}

/// Why a file of the tree was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OmitReason {
    /// Over the size limit (or left out by the server's blob filter: size unknown).
    TooLarge { size: Option<u64> },
    /// A path with `..`, `.`, an empty part or a `.git` part: it would leave the tree.
    UnsafePath,
}

/// A blob to write, and where.
struct Want {
    sha: String,
    paths: Vec<Vec<u8>>,
}

/// Writes the files of `HEAD` of the clone at `work` (which holds its `.git`), returning
/// what was left out.
pub(crate) fn materialize(
    program: &Path,
    work: &Path,
    max_file: u64,
    limits: &Limits,
) -> Result<Vec<Omitted>, InventoryError> {
    let mut list = git::command(program, Some(work));
    list.args(["ls-tree", "-r", "-z", "--full-tree", "HEAD"]);
    // The whole listing: a cap would silently drop files (its size is bounded by the
    // clone's, which the disk budget bounds).
    let unbounded = Limits {
        max_stdout: None,
        ..limits.clone()
    };
    let listed = git::run(list, &unbounded, "ls-tree")?;
    if !listed.status.success() {
        return Err(InventoryError::Git {
            action: "ls-tree",
            message: String::from_utf8_lossy(&listed.stderr).trim().to_string(),
        });
    }
    let mut omitted = Vec::new();
    let mut wants: Vec<Want> = Vec::new();
    let mut by_sha: HashMap<String, usize> = HashMap::new();
    for entry in listed.stdout.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        let Some((meta, path)) = split_once(entry, b'\t') else {
            continue;
        };
        let mut fields = meta.split(|&b| b == b' ');
        let (Some(mode), Some(_kind), Some(sha)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        // Regular files only: not symlinks (120000), submodules (160000) or trees.
        if mode != b"100644" && mode != b"100755" {
            continue;
        }
        if !is_safe_path(path) {
            omitted.push(Omitted {
                path: String::from_utf8_lossy(path).into_owned(),
                reason: OmitReason::UnsafePath,
            });
            continue;
        }
        let sha = String::from_utf8_lossy(sha).into_owned();
        let idx = *by_sha.entry(sha.clone()).or_insert_with(|| {
            wants.push(Want {
                sha,
                paths: Vec::new(),
            });
            wants.len() - 1
        });
        if let Some(w) = wants.get_mut(idx) {
            w.paths.push(path.to_vec());
        }
    }
    let budget = limits
        .disk
        .as_ref()
        .map(|(dir, b)| (git::dir_size(dir), *b));
    let written = write_blobs(program, work, wants, max_file, budget, limits)?;
    omitted.extend(written);
    omitted.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(omitted)
}

fn split_once(bytes: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = bytes.iter().position(|&b| b == sep)?;
    Some((&bytes[..i], &bytes[i + 1..]))
}

/// A relative path of plain parts: none empty, `.`, `..` or `.git` (any case).
fn is_safe_path(path: &[u8]) -> bool {
    !path.is_empty()
        && path.split(|&b| b == b'/').all(|part| {
            !part.is_empty()
                && part != b"."
                && part != b".."
                && !part.eq_ignore_ascii_case(b".git")
                && !part.contains(&b'\\')
        })
}

/// Streams the wanted blobs from one `git cat-file --batch` into files under `work`.
/// `budget` is (bytes already used, bytes allowed).
fn write_blobs(
    program: &Path,
    work: &Path,
    wants: Vec<Want>,
    max_file: u64,
    budget: Option<(u64, u64)>,
    limits: &Limits,
) -> Result<Vec<Omitted>, InventoryError> {
    let mut cmd = git::command(program, Some(work));
    cmd.args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| InventoryError::io("running git (is it installed?)", e))?;
    let shas: Vec<String> = wants.iter().map(|w| w.sha.clone()).collect();
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(mut input) = stdin {
            for sha in shas {
                if writeln!(input, "{sha}").is_err() {
                    break;
                }
            }
        }
    });
    let stderr = git::drain(child.stderr.take(), Some(64 * 1024));
    let stop = git::stop_flag();
    let stdout = child.stdout.take();
    let reader = {
        let (work, stop) = (work.to_path_buf(), stop.clone());
        std::thread::spawn(move || {
            let result = match stdout {
                Some(out) => read_batch(out, &work, wants, max_file, budget),
                None => Ok(Vec::new()),
            };
            if result.is_err() {
                stop.store(true, Ordering::SeqCst);
            }
            result
        })
    };
    let supervised = git::supervise(&mut child, limits, "cat-file", &stop);
    let _ = feeder.join();
    let read = reader.join().map_err(|_| InventoryError::Git {
        action: "cat-file",
        message: "the reader panicked".into(),
    })?;
    // The reader's own error (over budget, a bad stream) explains a stop best.
    let omitted = read?;
    let status = supervised?;
    if !status.success() {
        return Err(InventoryError::Git {
            action: "cat-file",
            message: String::from_utf8_lossy(&stderr.join().unwrap_or_default())
                .trim()
                .to_string(),
        });
    }
    Ok(omitted)
}

/// Reads `cat-file --batch` output: per object a header `<sha> blob <size>` (or
/// `<sha> missing`: left out by the blob filter) and its bytes.
fn read_batch(
    out: impl Read,
    work: &Path,
    wants: Vec<Want>,
    max_file: u64,
    budget: Option<(u64, u64)>,
) -> Result<Vec<Omitted>, InventoryError> {
    let mut out = BufReader::new(out);
    let mut omitted = Vec::new();
    let mut used = budget.map_or(0, |(u, _)| u);
    let bad = |m: &str| InventoryError::Git {
        action: "cat-file",
        message: m.to_string(),
    };
    for want in wants {
        let mut header = Vec::new();
        out.by_ref()
            .take(512)
            .read_until(b'\n', &mut header)
            .map_err(|e| InventoryError::io("reading git cat-file", e))?;
        let header = String::from_utf8_lossy(&header).trim_end().to_string();
        let mut fields = header.split(' ');
        let (sha, kind, size) = (fields.next(), fields.next(), fields.next());
        if sha != Some(want.sha.as_str()) {
            return Err(bad("unexpected object in the stream"));
        }
        let mut omit = |size: Option<u64>| {
            omitted.extend(want.paths.iter().map(|p| Omitted {
                path: String::from_utf8_lossy(p).into_owned(),
                reason: OmitReason::TooLarge { size },
            }));
        };
        let size = match (kind, size.and_then(|s| s.parse::<u64>().ok())) {
            (Some("missing"), _) => {
                omit(None);
                continue;
            }
            (Some("blob"), Some(size)) => size,
            _ => return Err(bad("unexpected header in the stream")),
        };
        if size > max_file {
            std::io::copy(&mut out.by_ref().take(size + 1), &mut std::io::sink())
                .map_err(|e| InventoryError::io("reading git cat-file", e))?;
            omit(Some(size));
            continue;
        }
        used = used.saturating_add(size.saturating_mul(want.paths.len() as u64));
        if let Some((_, allowed)) = budget {
            if used > allowed {
                return Err(InventoryError::CloneTooLarge { budget: allowed });
            }
        }
        let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        out.by_ref()
            .take(size)
            .read_to_end(&mut content)
            .map_err(|e| InventoryError::io("reading git cat-file", e))?;
        let mut lf = [0u8; 1];
        out.read_exact(&mut lf)
            .map_err(|e| InventoryError::io("reading git cat-file", e))?;
        for p in &want.paths {
            write_file(work, p, &content)?;
        }
    }
    Ok(omitted)
}

/// Writes `content` to `work/rel` as a new regular file (its directories are ours: no
/// symlink can be on the way).
fn write_file(work: &Path, rel: &[u8], content: &[u8]) -> Result<(), InventoryError> {
    let path = work.join(rel_path(rel));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| InventoryError::io("writing the checkout", e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| InventoryError::io("writing the checkout", e))?;
    file.write_all(content)
        .map_err(|e| InventoryError::io("writing the checkout", e))
}

#[cfg(unix)]
fn rel_path(rel: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(rel))
}

#[cfg(not(unix))]
fn rel_path(rel: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(rel).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_written() {
        for ok in [
            &b"a"[..],
            b"a/b.txt",
            b".github/x",
            b"a/.gitignore",
            b"x/.git2/y",
        ] {
            assert!(is_safe_path(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b""[..],
            b"/a",
            b"a//b",
            b"a/",
            b"..",
            b"a/../b",
            b"./a",
            b".git/config",
            b"x/.GIT/hooks/post-checkout",
            b"a\\..\\b",
        ] {
            assert!(!is_safe_path(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
