//! Opening the files a user hands us (populations, query files, plans, `stats` tables, results
//! files, run directories' records): every reader goes through [`open`] (or [`read`] /
//! [`read_to_string`] built on it), which refuses anything that is not a regular file *before*
//! reading it. Without that check a FIFO blocks forever in `open`, `/dev/zero` is read until
//! memory runs out, and a directory or a dangling symbolic link gives an OS message that does
//! not say what is wrong. Binary files are then read at offsets (`data::source::Source`), never
//! memory-mapped, so a file truncated under a run is an error rather than a SIGBUS.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The metadata of `path` (symbolic links followed) if it is a regular file; otherwise
/// [`Error::NotAFile`] saying what it is (a directory, a FIFO, a device, a socket, a dangling
/// link), or [`Error::Io`] when it cannot be looked up. Nothing is opened.
pub fn check_file(path: &Path) -> Result<Metadata> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A link whose target is missing: say so instead of "No such file".
            if let Ok(target) = std::fs::read_link(path) {
                return Err(Error::NotAFile {
                    path: path.to_path_buf(),
                    kind: format!(
                        "a symbolic link to '{}', which does not exist",
                        target.display()
                    ),
                });
            }
            return Err(Error::io(path, e));
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    refuse_special(path, &meta)?;
    Ok(meta)
}

/// Open `path` for reading after [`check_file`]. On Unix the file is opened non-blocking and
/// checked again on the opened handle, so a file swapped for a FIFO between the two steps is
/// refused as well rather than blocking.
pub fn open(path: &Path) -> Result<File> {
    check_file(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // No effect on reads of regular files; makes `open` of a FIFO return at once.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    refuse_special(path, &meta)?;
    Ok(file)
}

/// The whole of the regular file `path`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let mut file = open(path)?;
    let hint = file
        .metadata()
        .ok()
        .and_then(|m| usize::try_from(m.len()).ok())
        .unwrap_or(0);
    // A sparse or huge file's size is only a hint: reserving it may fail, which is an error
    // naming the file, never an abort.
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(hint).map_err(|_| {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!("the file is {hint} bytes, more than can be held in memory"),
            ),
        )
    })?;
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// The whole of the regular file `path` as UTF-8 text.
pub fn read_to_string(path: &Path) -> Result<String> {
    String::from_utf8(read(path)?).map_err(|e| {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            ),
        )
    })
}

/// Why a regular file of 0 bytes cannot be read as data: files under `/proc` and `/sys` report
/// size 0 whatever they hold, so for those the reason says so.
pub fn empty_reason(path: &Path) -> String {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if canonical.starts_with("/proc") || canonical.starts_with("/sys") {
        format!(
            "reports size 0 ({} is a /proc or sysfs file, generated as it is read; copy what \
             it holds into a regular file)",
            canonical.display()
        )
    } else {
        "file is empty (0 bytes)".to_string()
    }
}

/// [`Error::NotAFile`] unless `meta` is a regular file's.
fn refuse_special(path: &Path, meta: &Metadata) -> Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    Err(Error::NotAFile {
        path: path.to_path_buf(),
        kind: kind_of(meta).to_string(),
    })
}

/// What a non-regular file is, in words.
fn kind_of(meta: &Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe), which would block until something writes to it";
        }
        if ft.is_char_device() {
            return "a character device (like /dev/zero or a terminal), which may never end";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}
