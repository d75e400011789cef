//! Reading one file of an untrusted tree: only a regular file, never through a symlink,
//! never blocking, never more than a bound.
//!
//! A repository can hold a symlink to a FIFO, a device or a file outside the tree. Opening
//! it would block a scan thread forever (`/dev/stdin`, a FIFO), read endless bytes
//! (`/dev/zero`) or read what is not the repository's. The walker never follows symlinks;
//! every other read of the tree (config files for framework detection, `.git/HEAD`, the
//! test files themselves) goes through [`read_regular_file`], which checks the path and
//! then what was actually opened, so a file swapped in between is caught too.

use std::io::Read;
use std::path::Path;

/// Why a file of the tree was not read.
#[derive(Debug)]
pub enum Refused {
    /// Not a regular file (a symlink, FIFO, device, socket or directory).
    NotRegular,
    /// Larger than the bound.
    TooLarge(u64),
    Io(std::io::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotRegular => f.write_str("not a regular file"),
            Refused::TooLarge(n) => write!(f, "{n} bytes, over the limit"),
            Refused::Io(e) => e.fmt(f),
        }
    }
}

/// The bytes of `path` when it is a regular file (not a symlink) of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, Refused> {
    let meta = path.symlink_metadata().map_err(Refused::Io)?;
    if !meta.is_file() {
        return Err(Refused::NotRegular);
    }
    if meta.len() > max {
        return Err(Refused::TooLarge(meta.len()));
    }
    let file = open_no_follow(path).map_err(|e| match e.raw_os_error() {
        // ELOOP: the last component became a symlink after the check.
        Some(code) if code == libc_eloop() => Refused::NotRegular,
        _ => Refused::Io(e),
    })?;
    let opened = file.metadata().map_err(Refused::Io)?;
    if !opened.is_file() {
        return Err(Refused::NotRegular);
    }
    let mut buf = Vec::with_capacity(usize::try_from(opened.len().min(max)).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(Refused::Io)?;
    if buf.len() as u64 > max {
        return Err(Refused::TooLarge(buf.len() as u64));
    }
    Ok(buf)
}

/// The size of `abs` when it is a regular file reached from `root` through real
/// directories only: a path read from the tree's own data (an index entry, an import)
/// must not lead through a symlinked directory out of the tree.
pub fn size_in_tree(root: &Path, abs: &Path) -> Option<u64> {
    let rel = abs.strip_prefix(root).ok()?;
    let mut cur = root.to_path_buf();
    let mut parts = rel.components().peekable();
    while let Some(part) = parts.next() {
        if !matches!(part, std::path::Component::Normal(_)) {
            return None;
        }
        cur.push(part);
        let meta = cur.symlink_metadata().ok()?;
        if parts.peek().is_some() {
            if !meta.is_dir() {
                return None;
            }
        } else if meta.is_file() {
            return Some(meta.len());
        }
    }
    None
}

/// [`read_regular`], as an `Option`.
pub(crate) fn read_regular_file(path: &Path, max: u64) -> Option<Vec<u8>> {
    read_regular(path, max).ok()
}

/// Opens without following a symlink in the last component, and without blocking on a
/// FIFO swapped in after the check.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(unix)]
fn libc_eloop() -> i32 {
    libc::ELOOP
}

#[cfg(not(unix))]
fn libc_eloop() -> i32 {
    -1
}
