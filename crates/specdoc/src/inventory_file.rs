//! Reading an inventory file from disk, with a size bound.
//!
//! `specline spec FILE` used to read its input whole, whatever it was: `/dev/zero` grew the
//! process by gigabytes in seconds. The path is the user's to choose, so it is input like any
//! other: a regular file larger than the bound is refused from its metadata, and anything
//! else (a device, a FIFO, a file growing while read) is read only up to the bound plus one
//! byte, which is enough to know it is too large.

use std::io::Read;
use std::path::Path;

use crate::error::SpecError;

/// The largest inventory file read: an inventory of [`crate::input::MAX_TESTS`] tests with
/// short names fits well below it.
pub const MAX_INVENTORY_BYTES: u64 = 256 * 1024 * 1024;

/// The file's text. `INPUT_TOO_LARGE` past `limit` bytes, `INVALID_INVENTORY` when it cannot
/// be read or is not UTF-8.
pub fn read_inventory_file(path: &Path, limit: u64) -> Result<String, SpecError> {
    let unreadable = |e: std::io::Error| {
        SpecError::InvalidInventory(format!("cannot read {}: {e}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if meta.is_file() && meta.len() > limit {
        return Err(SpecError::InputTooLarge { limit });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(SpecError::InputTooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|e| {
        SpecError::InvalidInventory(format!(
            "{} is not UTF-8 (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_read_and_large_ones_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("inv.json");
        std::fs::write(&path, "{}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_inventory_file(&path, 2).ok().as_deref(), Some("{}"));
        let err = read_inventory_file(&path, 1).unwrap_err();
        assert_eq!(err.code(), "INPUT_TOO_LARGE");
    }
}
