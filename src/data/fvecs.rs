//! Reads the `.fvecs` / `.bvecs` files of the classic ANN benchmarks (SIFT, GIST, Deep): each
//! row is a little-endian i32 dimension followed by that many f32 (`fvecs`) or u8 (`bvecs`)
//! values. Row 0's dimension fixes the record size; the file length must be a whole number of
//! records, and every row we read must repeat that dimension. When the length is off, the file
//! is scanned record by record to name the row where the dimension changes or the data ends.
//! Only selected rows are converted.

use std::io::Write;
use std::path::Path;

use super::raw::{Elem, file_tensor_name, gather_rows, map_readonly, write_file};
use super::row_stats::{RowStats, row_stats};
use super::rows::Rows;
use super::selection::RowSelection;
use super::{Loaded, TensorInfo};
use crate::error::{Error, Result};

/// Header facts: name = file name, dtype `f32` (fvecs) or `u8` (bvecs), shape `[rows, dim]`,
/// bytes = file length (dimension prefixes included).
pub fn info(path: &Path) -> Result<TensorInfo> {
    let kind = Kind::of(path)?;
    let mapped = map_readonly(path)?;
    let layout = Layout::read(path, kind, mapped.bytes())?;
    Ok(layout.info(path, kind))
}

/// The selected rows, converted to f32. The format (`fvecs` or `bvecs`) follows the extension.
pub fn load(path: &Path, selection: &RowSelection) -> Result<Loaded> {
    let kind = Kind::of(path)?;
    let mapped = map_readonly(path)?;
    let bytes = mapped.bytes();
    let layout = Layout::read(path, kind, bytes)?;
    let indices = selection.resolve(layout.rows);
    let rows = layout.gather(path, kind, bytes, &indices)?;
    Ok(Loaded {
        rows,
        info: layout.info(path, kind),
        indices,
    })
}

/// Write `rows` as an `.fvecs` file.
pub fn write_fvecs(path: &Path, rows: &Rows) -> Result<()> {
    let dim = i32::try_from(rows.dim()).map_err(|_| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "dimension does not fit the fvecs i32 prefix",
        ),
    })?;
    write_file(path, |w| {
        for row in rows.iter() {
            w.write_all(&dim.to_le_bytes())?;
            for &v in row {
                w.write_all(&v.to_le_bytes())?;
            }
        }
        Ok(())
    })
}

/// Stats over the first `sample_rows` rows.
pub(crate) fn inspect(
    path: &Path,
    sample_rows: usize,
) -> Result<Vec<(TensorInfo, Option<RowStats>)>> {
    let kind = Kind::of(path)?;
    let mapped = map_readonly(path)?;
    let bytes = mapped.bytes();
    let layout = Layout::read(path, kind, bytes)?;
    let indices = RowSelection::First(sample_rows).resolve(layout.rows);
    let stats = row_stats(&layout.gather(path, kind, bytes, &indices)?);
    Ok(vec![(layout.info(path, kind), Some(stats))])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fvecs,
    Bvecs,
}

impl Kind {
    fn of(path: &Path) -> Result<Kind> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("fvecs") => Ok(Kind::Fvecs),
            Some("bvecs") => Ok(Kind::Bvecs),
            _ => Err(Error::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    fn format(self) -> &'static str {
        match self {
            Kind::Fvecs => "fvecs",
            Kind::Bvecs => "bvecs",
        }
    }

    fn elem(self) -> Elem {
        match self {
            Kind::Fvecs => Elem::F32 { big_endian: false },
            Kind::Bvecs => Elem::U8,
        }
    }

    fn dtype(self) -> &'static str {
        match self {
            Kind::Fvecs => "f32",
            Kind::Bvecs => "u8",
        }
    }
}

/// A validated record layout: `rows` records of `record` bytes, each `4 + dim * elem`.
#[derive(Debug)]
struct Layout {
    dim: usize,
    record: usize,
    rows: usize,
    file_len: u64,
}

impl Layout {
    fn read(path: &Path, kind: Kind, bytes: &[u8]) -> Result<Layout> {
        let bad = |reason: String| bad(path, kind, reason);
        let Some(first) = read_dim(bytes, 0) else {
            return Err(bad(if bytes.is_empty() {
                "file is empty (no rows)".to_string()
            } else {
                format!(
                    "file has only {} bytes; row 0's dimension prefix is cut short",
                    bytes.len()
                )
            }));
        };
        let dim = usize::try_from(first)
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(|| {
                bad(format!(
                    "row 0 declares dimension {first}; must be positive"
                ))
            })?;
        let record = dim
            .checked_mul(kind.elem().size())
            .and_then(|b| b.checked_add(4))
            .ok_or_else(|| bad(format!("row 0 dimension {dim} overflows the record size")))?;
        if bytes.len() % record != 0 {
            return Err(diagnose(path, kind, bytes, dim, record));
        }
        Ok(Layout {
            dim,
            record,
            rows: bytes.len() / record,
            file_len: bytes.len() as u64,
        })
    }

    fn info(&self, path: &Path, kind: Kind) -> TensorInfo {
        TensorInfo {
            name: file_tensor_name(path),
            dtype: kind.dtype().to_string(),
            shape: vec![self.rows, self.dim],
            bytes: self.file_len,
        }
    }

    /// Convert rows `indices`, checking each one repeats row 0's dimension.
    fn gather(&self, path: &Path, kind: Kind, bytes: &[u8], indices: &[usize]) -> Result<Rows> {
        for &i in indices {
            let declared = i
                .checked_mul(self.record)
                .and_then(|off| read_dim(bytes, off));
            if declared.and_then(|d| usize::try_from(d).ok()) != Some(self.dim) {
                return Err(changed_dim(path, kind, i, declared, self.dim));
            }
        }
        gather_rows(bytes, self.record, 4, self.dim, kind.elem(), indices).ok_or_else(|| {
            bad(
                path,
                kind,
                "row data runs past the end of the file".to_string(),
            )
        })
    }
}

/// The i32 dimension prefix at `offset`, if the file holds all 4 bytes.
fn read_dim(bytes: &[u8], offset: usize) -> Option<i32> {
    let end = offset.checked_add(4)?;
    let prefix = <[u8; 4]>::try_from(bytes.get(offset..end)?).ok()?;
    Some(i32::from_le_bytes(prefix))
}

/// Why the file length is not a whole number of records: walk the records to find the first row
/// whose dimension differs from row 0's, or the row the file ends inside.
fn diagnose(path: &Path, kind: Kind, bytes: &[u8], dim: usize, record: usize) -> Error {
    let mut offset = 0usize;
    let mut row = 0usize;
    while offset < bytes.len() {
        let declared = read_dim(bytes, offset);
        if declared.and_then(|d| usize::try_from(d).ok()) != Some(dim) {
            if declared.is_none() {
                break;
            }
            return changed_dim(path, kind, row, declared, dim);
        }
        let Some(end) = offset.checked_add(record).filter(|&e| e <= bytes.len()) else {
            break;
        };
        offset = end;
        row += 1;
    }
    let have = bytes.len() - offset.min(bytes.len());
    bad(
        path,
        kind,
        format!(
            "truncated: the file ends inside row {row} ({have} of its {record} bytes; \
             {} bytes is not a whole number of {record}-byte records of dimension {dim})",
            bytes.len()
        ),
    )
}

fn changed_dim(path: &Path, kind: Kind, row: usize, declared: Option<i32>, dim: usize) -> Error {
    let what = match declared {
        Some(d) => format!("row {row} declares dimension {d}"),
        None => format!("row {row} is cut short inside its dimension prefix"),
    };
    bad(
        path,
        kind,
        format!("{what} but row 0 declares {dim}; all rows must share one dimension"),
    )
}

fn bad(path: &Path, kind: Kind, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: kind.format(),
        reason,
    }
}
