//! Atomic file writes (temp file + rename, so a reader or an interrupted run never sees half a
//! file): run directories, per-cell units, exports and peer results all write through here.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Write `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}
