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

/// Point `parent/latest` at `dir` (a relative symlink, Unix only). Only a symlink is ever
/// replaced: a real file or directory named `latest` is the user's and is left alone (`Ok(false)`,
/// the caller warns). The new link is made under a unique name and renamed over the old one, so
/// concurrent runs into one parent never see a missing or half-made link.
pub fn update_latest(parent: &Path, dir: &Path) -> Result<bool> {
    let latest = parent.join("latest");
    let werr = |source| Error::Write {
        path: latest.clone(),
        source,
    };
    if let Ok(m) = std::fs::symlink_metadata(&latest)
        && !m.file_type().is_symlink()
    {
        return Ok(false);
    }
    #[cfg(unix)]
    {
        let target = dir
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.to_path_buf());
        let tmp = parent.join(crate::atomic::unique_name(".latest", "tmp"));
        std::os::unix::fs::symlink(target, &tmp).map_err(werr)?;
        std::fs::rename(&tmp, &latest).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            werr(e)
        })?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, werr);
        Ok(false)
    }
}

/// Hold the run directory for this process: an advisory lock on `DIR/.lock` (released when the
/// process ends, however it ends), so two resumes of one directory never interleave their
/// writes. A second holder gets a clear error naming the first one's pid.
pub fn lock_run_dir(dir: &Path) -> Result<RunLock> {
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    if try_lock(&file).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })? {
        use std::io::{Seek, Write};
        let mut f = &file;
        let _ = f.set_len(0);
        let _ = f.seek(std::io::SeekFrom::Start(0));
        let _ = write!(f, "{}", std::process::id());
        Ok(RunLock { _file: file })
    } else {
        let pid = crate::input::read_to_string(&path).unwrap_or_default();
        Err(Error::BadRunDir {
            path: dir.to_path_buf(),
            reason: format!(
                "in use by another codecbench process (pid {}); wait for it to finish",
                if pid.trim().is_empty() {
                    "unknown"
                } else {
                    pid.trim()
                }
            ),
        })
    }
}

/// An exclusive advisory lock without waiting: `Ok(false)` when another open file holds it.
/// (`File::try_lock` needs Rust 1.89; the crate's MSRV is 1.85, so flock(2) directly.)
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns and keeps open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Elsewhere, no lock (a run directory is not shared there).
#[cfg(not(unix))]
fn try_lock(_file: &std::fs::File) -> std::io::Result<bool> {
    Ok(true)
}

/// The lock of a run directory; dropping it (or the process ending) releases it.
pub struct RunLock {
    _file: std::fs::File,
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
