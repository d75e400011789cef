//! The paths a local repository tracks, read from its index file (`.git/index`) as data.
//!
//! `.gitignore` only concerns untracked files: a file that is committed stays part of the
//! repository (and of its test suite) even when an ignore rule matches it, as generated
//! fixtures often are. The walker honours ignore rules, so the scan asks this module which
//! files are tracked and adds those the rules hid. `git ls-files` would run `git` inside a
//! directory we did not create (its configuration can run programs, see [`crate::git`]),
//! so the index is parsed here: bounded, never through a symlink, never out of `.git`.
//!
//! Versions 2, 3 and 4 of the format are read (4 compresses each path against the
//! previous one), with SHA-1 or SHA-256 object names; extensions after the entries are
//! not needed and not read. Only regular files count (mode `100644`/`100755`): symlinks,
//! submodules and the directory entries of a sparse index are left out.

use std::path::Path;

use crate::untrusted_file::{read_regular, Refused};

/// Largest index read (a repository of a million files has an index of about 100 MB).
pub const MAX_INDEX_BYTES: u64 = 256 << 20;

/// Why an index could not be read; the scan then falls back to the ignore rules alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexError(pub String);

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The tracked regular files of the repository whose work tree is `root`, as
/// `/`-separated byte paths; `Ok(None)` when `root/.git` is not a directory with an index
/// (a plain directory, a fresh `git init`, a worktree whose `.git` file points elsewhere).
pub fn tracked_files(root: &Path) -> Result<Option<Vec<Vec<u8>>>, IndexError> {
    let git_dir = root.join(".git");
    match git_dir.symlink_metadata() {
        Ok(m) if m.is_dir() => {}
        _ => return Ok(None),
    }
    let bytes = match read_regular(&git_dir.join("index"), MAX_INDEX_BYTES) {
        Ok(b) => b,
        Err(Refused::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(Refused::TooLarge(n)) => {
            return Err(IndexError(format!(
                ".git/index is {n} bytes, over the limit of {MAX_INDEX_BYTES}"
            )))
        }
        Err(e) => return Err(IndexError(format!(".git/index: {e}"))),
    };
    let hash_len = if sha256_repository(&git_dir) { 32 } else { 20 };
    parse(&bytes, hash_len).map(Some)
}

/// Whether the repository's `config` says `objectformat = sha256`.
fn sha256_repository(git_dir: &Path) -> bool {
    crate::untrusted_file::read_regular_file(&git_dir.join("config"), 1 << 20).is_some_and(|c| {
        String::from_utf8_lossy(&c).lines().any(|l| {
            let l = l.trim().to_ascii_lowercase();
            l.starts_with("objectformat") && l.ends_with("sha256")
        })
    })
}

/// A cursor over the index bytes that fails instead of panicking at the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| IndexError("the index ends inside an entry".into()))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, IndexError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, IndexError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Bytes up to the next NUL, which is consumed.
    fn until_nul(&mut self) -> Result<&'a [u8], IndexError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| IndexError("a path in the index has no end".into()))?;
        let s = &rest[..len];
        self.pos += len + 1;
        Ok(s)
    }

    /// Version 4's offset: big-endian base-128 with an added one per continuation byte.
    fn varint(&mut self) -> Result<usize, IndexError> {
        let mut b = self.take(1)?[0];
        let mut value = usize::from(b & 0x7f);
        while b & 0x80 != 0 {
            b = self.take(1)?[0];
            value = value
                .checked_add(1)
                .and_then(|v| v.checked_mul(128))
                .map(|v| v | usize::from(b & 0x7f))
                .ok_or_else(|| IndexError("a path offset in the index overflows".into()))?;
        }
        Ok(value)
    }
}

/// Parses an index; `hash_len` is 20 (SHA-1) or 32 (SHA-256).
pub fn parse(bytes: &[u8], hash_len: usize) -> Result<Vec<Vec<u8>>, IndexError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4).ok() != Some(b"DIRC".as_slice()) {
        return Err(IndexError(
            ".git/index is not an index (no DIRC signature)".into(),
        ));
    }
    let version = r.u32()?;
    if !(2..=4).contains(&version) {
        return Err(IndexError(format!(
            "index version {version} is not supported"
        )));
    }
    let count = r.u32()? as usize;
    // Each entry takes at least 62 bytes: a count beyond that is a lie, not an allocation.
    let mut paths: Vec<Vec<u8>> = Vec::with_capacity(count.min(bytes.len() / 62));
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = r.pos;
        r.take(24)?; // ctime, mtime, dev, ino
        let mode = r.u32()?;
        r.take(12)?; // uid, gid, size
        r.take(hash_len)?;
        let flags = r.u16()?;
        if version >= 3 && flags & 0x4000 != 0 {
            r.u16()?;
        }
        let path = if version == 4 {
            let strip = r.varint()?;
            let keep = previous
                .len()
                .checked_sub(strip)
                .ok_or_else(|| IndexError("a path offset in the index is too long".into()))?;
            let mut p = previous[..keep].to_vec();
            p.extend_from_slice(r.until_nul()?);
            p
        } else {
            let p = r.until_nul()?.to_vec();
            // Entries are padded with NULs to a multiple of 8 bytes (1 to 8 of them, the
            // path's own terminator included).
            let consumed = r.pos - start;
            r.take((8 - consumed % 8) % 8)?;
            p
        };
        if mode & 0o170000 == 0o100000 {
            paths.push(path.clone());
        }
        previous = path;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry as git writes it, for version 2 or 3.
    fn entry(path: &[u8], mode: u32) -> Vec<u8> {
        let mut e = vec![0u8; 24];
        e.extend_from_slice(&mode.to_be_bytes());
        e.extend_from_slice(&[0u8; 12]);
        e.extend_from_slice(&[7u8; 20]);
        e.extend_from_slice(&(path.len() as u16).to_be_bytes());
        e.extend_from_slice(path);
        let pad = 8 - e.len() % 8;
        e.extend(std::iter::repeat_n(0u8, pad));
        e
    }

    fn index(version: u32, entries: &[Vec<u8>]) -> Vec<u8> {
        let mut b = b"DIRC".to_vec();
        b.extend_from_slice(&version.to_be_bytes());
        b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            b.extend_from_slice(e);
        }
        b
    }

    #[test]
    fn version_2_regular_files_only() {
        let b = index(
            2,
            &[
                entry(b"a/b.test.js", 0o100644),
                entry(b"link", 0o120000),
                entry(b"sub", 0o160000),
                entry(b"run.sh", 0o100755),
            ],
        );
        assert_eq!(
            parse(&b, 20).unwrap(),
            vec![b"a/b.test.js".to_vec(), b"run.sh".to_vec()]
        );
    }

    #[test]
    fn version_4_prefix_compression() {
        let mut b = b"DIRC".to_vec();
        b.extend_from_slice(&4u32.to_be_bytes());
        b.extend_from_slice(&2u32.to_be_bytes());
        for (strip, suffix) in [(0u8, b"gen/a.test.js".as_slice()), (9, b"b.test.js")] {
            b.extend_from_slice(&[0u8; 24]);
            b.extend_from_slice(&0o100644u32.to_be_bytes());
            b.extend_from_slice(&[0u8; 12]);
            b.extend_from_slice(&[1u8; 20]);
            b.extend_from_slice(&0u16.to_be_bytes());
            b.push(strip);
            b.extend_from_slice(suffix);
            b.push(0);
        }
        assert_eq!(
            parse(&b, 20).unwrap(),
            vec![b"gen/a.test.js".to_vec(), b"gen/b.test.js".to_vec()]
        );
    }

    #[test]
    fn malformed_indexes_are_errors_not_panics() {
        assert!(parse(b"", 20).is_err());
        assert!(parse(b"XXXX\0\0\0\x02\0\0\0\x01", 20).is_err());
        // A count of four billion entries with none present.
        assert!(parse(b"DIRC\0\0\0\x02\xff\xff\xff\xff", 20).is_err());
        let mut cut = index(2, &[entry(b"a.test.js", 0o100644)]);
        cut.truncate(cut.len() - 5);
        assert!(parse(&cut, 20).is_err());
        // Version 4 stripping more than the previous path holds.
        let mut b = b"DIRC\0\0\0\x04\0\0\0\x01".to_vec();
        b.extend_from_slice(&[0u8; 62]);
        b.extend_from_slice(&[0x05, b'x', 0]);
        assert!(parse(&b, 20).is_err());
    }
}
