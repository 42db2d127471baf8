//! Atomic file writes (temp file + rename, so a reader or an interrupted run never sees half a
//! file): run directories, per-cell units, exports and peer results all write through here. Temp
//! names are unique per process and call, so concurrent writers never share one.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Write `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(unique_name(&format!(".{name}"), "tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// `STEM.PID.N.EXT`: a name no other process, and no other call of this one, uses at the same
/// time (temp files of concurrent runs and resumes never collide).
pub fn unique_name(stem: &str, ext: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{stem}.{}.{n}.{ext}", std::process::id())
}
