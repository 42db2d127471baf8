//! The run directory on disk: atomic file writes (temp file + rename, so a reader or an
//! interrupted run never sees half a file), run-directory naming, and the `latest` link.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

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
