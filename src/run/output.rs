//! The run directory on disk: atomic file writes (temp file + rename, so a reader or an
//! interrupted run never sees half a file), run-directory naming, and the `latest` link.

use crate::error::{Error, Result};
use crate::report;
use crate::results::{ResultRow, RunMeta};
use std::path::{Path, PathBuf};

pub use crate::atomic::write_atomic;

/// Create a fresh run directory `parent/<timestamp>` (suffixed `-2`, `-3`… if taken).
pub fn create_run_dir(parent: &Path, stamp: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(parent).map_err(|source| Error::Write {
        path: parent.to_path_buf(),
        source,
    })?;
    for i in 1.. {
        let name = if i == 1 {
            stamp.to_string()
        } else {
            format!("{stamp}-{i}")
        };
        let dir = parent.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(Error::Write { path: dir, source }),
        }
    }
    unreachable!("unbounded loop returns")
}

/// Point `parent/latest` at `dir`: a relative symlink on Unix, a copy elsewhere.
pub fn update_latest(parent: &Path, dir: &Path) -> Result<()> {
    let latest = parent.join("latest");
    let werr = |source| Error::Write {
        path: latest.clone(),
        source,
    };
    match std::fs::symlink_metadata(&latest) {
        Ok(m) if m.is_dir() && !m.file_type().is_symlink() => {
            std::fs::remove_dir_all(&latest).map_err(werr)?
        }
        Ok(_) => std::fs::remove_file(&latest).map_err(werr)?,
        Err(_) => {}
    }
    #[cfg(unix)]
    {
        let target = dir
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.to_path_buf());
        std::os::unix::fs::symlink(target, &latest).map_err(werr)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(&latest).map_err(werr)?;
        for entry in std::fs::read_dir(dir).map_err(werr)? {
            let entry = entry.map_err(werr)?;
            std::fs::copy(entry.path(), latest.join(entry.file_name())).map_err(werr)?;
        }
        Ok(())
    }
}

/// Write run.json.
pub fn write_meta(dir: &std::path::Path, meta: &RunMeta) -> Result<()> {
    let json = serde_json::to_string_pretty(meta).map_err(|e| Error::Write {
        path: dir.join("run.json"),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&dir.join("run.json"), json.as_bytes())
}

/// Rewrite both result files. The CSV goes first, so whenever results.jsonl (what `--resume`
/// reads) holds N cells, results.csv holds at least those N.
pub fn write_results(dir: &std::path::Path, rows: &[ResultRow]) -> Result<()> {
    let csv = report::csv::render(rows).map_err(|e| Error::Write {
        path: dir.join("results.csv"),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&dir.join("results.csv"), csv.as_bytes())?;
    write_atomic(
        &dir.join("results.jsonl"),
        report::jsonl::render(rows).as_bytes(),
    )
}
