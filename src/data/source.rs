//! The one way loaders read a data file: opened through [`crate::input::open`] (regular files
//! only), then read at offsets with positioned reads — never memory-mapped. A mapped file that
//! another program truncates kills the process with SIGBUS on the next touch of a lost page; a
//! positioned read of it ends early instead, which becomes [`Error::ChangedWhileReading`]
//! naming the file. Selected rows are read in blocks: rows close together (a dense selection,
//! a column of a Fortran-order array) share one read, rows far apart are read one by one, so
//! sampling a few rows of a multi-GB file reads only those rows.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Rows closer than this many bytes share one read (the bytes between are read and dropped).
const MAX_GAP: u64 = 32 << 10;
/// At most this many bytes per coalesced read (a single larger row is read alone).
const MAX_BLOCK: u64 = 8 << 20;

/// A regular file opened for positioned reads, with its length when opened.
pub(crate) struct Source {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Source {
    /// Open `path` (regular files only; see [`crate::input::open`]).
    pub(crate) fn open(path: &Path) -> Result<Source> {
        let file = crate::input::open(path)?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Ok(Source {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length when it was opened.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Fill `buf` from byte `offset`. A file now shorter than that is
    /// [`Error::ChangedWhileReading`].
    pub(crate) fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        pread(&self.file, buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::ChangedWhileReading {
                    path: self.path.clone(),
                    len_at_open: self.len,
                    needed: offset.saturating_add(buf.len() as u64),
                }
            } else {
                Error::io(&self.path, e)
            }
        })
    }

    /// `len` bytes from `offset`. Refuses ranges past the length the file had when opened
    /// (callers check declared sizes first, so this guards allocation, not a code path).
    pub(crate) fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let end = offset.checked_add(len as u64).filter(|&e| e <= self.len);
        if end.is_none() {
            return Err(Error::Truncated {
                path: self.path.clone(),
                format: "input",
                expected: offset.saturating_add(len as u64),
                actual: self.len,
            });
        }
        let mut buf = vec![0u8; len];
        self.read_into(offset, &mut buf)?;
        Ok(buf)
    }

    /// The first `n` bytes, or the whole file when it is shorter.
    pub(crate) fn head(&self, n: usize) -> Result<Vec<u8>> {
        let n = usize::try_from(self.len).map_or(n, |len| len.min(n));
        self.read_at(0, n)
    }

    /// [`Error::Gguf`] when `head` (the file's first bytes) starts with the GGUF magic: a
    /// clear refusal instead of a confusing header error of the format the name claims.
    pub(crate) fn refuse_foreign(&self, head: &[u8]) -> Result<()> {
        if head.starts_with(b"GGUF") {
            return Err(Error::Gguf {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// For the `k`-th of `indices`, call `f(k, bytes)` with the `row_len` bytes at
    /// `base + indices[k] · stride`, in order. Ascending indices close together are read in one
    /// block (see [`MAX_GAP`], [`MAX_BLOCK`]); offsets are checked, never wrapped.
    pub(crate) fn for_each_row(
        &self,
        base: u64,
        stride: u64,
        row_len: usize,
        indices: &[usize],
        mut f: impl FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let len = row_len as u64;
        let offset = |i: usize| {
            (i as u64)
                .checked_mul(stride)
                .and_then(|o| o.checked_add(base))
                .filter(|o| o.checked_add(len).is_some_and(|e| e <= self.len))
                .ok_or_else(|| Error::Truncated {
                    path: self.path.clone(),
                    format: "input",
                    expected: (i as u64)
                        .saturating_mul(stride)
                        .saturating_add(base.saturating_add(len)),
                    actual: self.len,
                })
        };
        let mut buf = Vec::new();
        let mut k = 0;
        while k < indices.len() {
            let start = offset(indices[k])?;
            let mut end = start + len;
            let mut j = k + 1;
            while let Some(&next) = indices.get(j) {
                let at = offset(next)?;
                if at < end || at - end > MAX_GAP || at + len - start > MAX_BLOCK {
                    break;
                }
                end = at + len;
                j += 1;
            }
            let block = usize::try_from(end - start).map_err(|_| Error::Truncated {
                path: self.path.clone(),
                format: "input",
                expected: end,
                actual: self.len,
            })?;
            buf.resize(block, 0);
            self.read_into(start, &mut buf)?;
            for (t, &i) in indices.iter().enumerate().take(j).skip(k) {
                let at = (offset(i)? - start) as usize;
                f(t, &buf[at..at + row_len])?;
            }
            k = j;
        }
        Ok(())
    }
}

/// A cursor over a [`Source`] that reads through a window of up to 1 MiB, for walking many
/// small records in order (fvecs dimension prefixes) without one read per record.
pub(crate) struct Window<'a> {
    source: &'a Source,
    start: u64,
    bytes: Vec<u8>,
}

/// Bytes per window refill.
const WINDOW: u64 = 1 << 20;

impl<'a> Window<'a> {
    pub(crate) fn new(source: &'a Source) -> Self {
        Window {
            source,
            start: 0,
            bytes: Vec::new(),
        }
    }

    /// The `n` bytes at `offset`, or `None` when the file (as opened) ends before them.
    pub(crate) fn get(&mut self, offset: u64, n: usize) -> Result<Option<&[u8]>> {
        let Some(end) = offset
            .checked_add(n as u64)
            .filter(|&e| e <= self.source.len)
        else {
            return Ok(None);
        };
        let held = self.start + self.bytes.len() as u64;
        if offset < self.start || end > held {
            let want = WINDOW.max(n as u64).min(self.source.len - offset);
            self.bytes = self.source.read_at(offset, want as usize)?;
            self.start = offset;
        }
        let at = (offset - self.start) as usize;
        Ok(self.bytes.get(at..at + n))
    }
}

#[cfg(unix)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.bin");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        (dir, path)
    }

    #[test]
    fn rows_are_read_in_order_across_blocks() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        let (_dir, path) = file_with(&bytes);
        let src = Source::open(&path).unwrap();
        // Close rows (one block), far rows (separate reads), a non-ascending one.
        let indices = [0, 1, 2, 40, 19_000, 19_001, 3, 49_999];
        let mut seen = Vec::new();
        src.for_each_row(0, 4, 3, &indices, |k, b| {
            seen.push((k, b.to_vec()));
            Ok(())
        })
        .unwrap();
        for (k, b) in seen {
            let at = indices[k] * 4;
            assert_eq!(b, bytes[at..at + 3], "row {}", indices[k]);
        }
        // Past the end: refused, not read.
        assert!(src.for_each_row(0, 4, 4, &[50_000], |_, _| Ok(())).is_err());
    }

    #[test]
    fn a_file_truncated_after_open_is_a_changed_file_error() {
        let (_dir, path) = file_with(&[7u8; 4096]);
        let src = Source::open(&path).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(100)
            .unwrap();
        let err = src
            .for_each_row(0, 16, 16, &[0, 200], |_, _| Ok(()))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::ChangedWhileReading {
                    len_at_open: 4096,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("rows.bin"), "{err}");
    }
}
