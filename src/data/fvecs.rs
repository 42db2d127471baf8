//! Reads the `.fvecs` / `.bvecs` files of the classic ANN benchmarks (SIFT, GIST, Deep): each
//! row is a little-endian i32 dimension followed by that many f32 (`fvecs`) or u8 (`bvecs`)
//! values. Row 0's dimension fixes the record size; the file length must be a whole number of
//! records, and every row we read must repeat that dimension. When the length is off, the file
//! is scanned record by record to name the row where the dimension changes or the data ends.
//! Only selected rows are converted.

use std::io::Write;
use std::path::Path;

use super::raw::{Elem, Gathered, RowLayout, file_tensor_name, gather_rows, write_file};
use super::row_stats::{RowStats, row_stats};
use super::rows::Rows;
use super::selection::RowSelection;
use super::source::{Source, Window};
use super::{Loaded, TensorInfo};
use crate::error::{Error, Result};

/// Header facts: name = file name, dtype `f32` (fvecs) or `u8` (bvecs), shape `[rows, dim]`,
/// bytes = file length (dimension prefixes included).
pub fn info(path: &Path) -> Result<TensorInfo> {
    let kind = Kind::of(path)?;
    let src = Source::open(path)?;
    let layout = Layout::read(&src, kind)?;
    Ok(layout.info(path, kind))
}

/// The selected rows, converted to f32. The format (`fvecs` or `bvecs`) follows the extension.
pub fn load(path: &Path, selection: &RowSelection) -> Result<Loaded> {
    let kind = Kind::of(path)?;
    let src = Source::open(path)?;
    let layout = Layout::read(&src, kind)?;
    let indices = selection.resolve(layout.rows);
    let Gathered { rows, overflows } = layout.gather(&src, kind, &indices)?;
    Ok(Loaded {
        rows,
        info: layout.info(path, kind),
        indices,
        overflows,
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
    let src = Source::open(path)?;
    let layout = Layout::read(&src, kind)?;
    let indices = RowSelection::First(sample_rows).resolve(layout.rows);
    let stats = row_stats(&layout.gather(&src, kind, &indices)?.rows);
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
    fn read(src: &Source, kind: Kind) -> Result<Layout> {
        let path = src.path();
        let bad = |reason: String| bad(path, kind, reason);
        let head = src.head(4)?;
        src.refuse_foreign(&head)?;
        let Some(first) = read_dim(&head) else {
            return Err(bad(if head.is_empty() {
                crate::input::empty_reason(path)
            } else {
                format!(
                    "file has only {} bytes; row 0's dimension prefix is cut short",
                    head.len()
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
        if !src.len().is_multiple_of(record as u64) {
            return Err(diagnose(src, kind, dim, record)?);
        }
        let rows = usize::try_from(src.len() / record as u64).map_err(|_| {
            bad(format!(
                "{} rows do not fit in memory",
                src.len() / record as u64
            ))
        })?;
        Ok(Layout {
            dim,
            record,
            rows,
            file_len: src.len(),
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
    fn gather(&self, src: &Source, kind: Kind, indices: &[usize]) -> Result<Gathered> {
        let layout = RowLayout {
            base: 0,
            stride: self.record,
            skip: 4,
            dims: self.dim,
            elem: kind.elem(),
        };
        gather_rows(src, layout, indices, |k, record| {
            let declared = read_dim(record);
            if declared.and_then(|d| usize::try_from(d).ok()) != Some(self.dim) {
                return Err(changed_dim(
                    src.path(),
                    kind,
                    indices[k],
                    declared,
                    self.dim,
                ));
            }
            Ok(())
        })
    }
}

/// The i32 dimension prefix at the start of `bytes`, if it holds all 4 bytes.
fn read_dim(bytes: &[u8]) -> Option<i32> {
    let prefix = <[u8; 4]>::try_from(bytes.get(..4)?).ok()?;
    Some(i32::from_le_bytes(prefix))
}

/// Why the file length is not a whole number of records: walk the records to find the first row
/// whose dimension differs from row 0's, or the row the file ends inside.
fn diagnose(src: &Source, kind: Kind, dim: usize, record: usize) -> Result<Error> {
    let path = src.path();
    let len = src.len();
    let mut window = Window::new(src);
    let mut offset = 0u64;
    let mut row = 0usize;
    while offset < len {
        let declared = window.get(offset, 4)?.and_then(read_dim);
        if declared.and_then(|d| usize::try_from(d).ok()) != Some(dim) {
            if declared.is_none() {
                break;
            }
            return Ok(changed_dim(path, kind, row, declared, dim));
        }
        let Some(end) = offset.checked_add(record as u64).filter(|&e| e <= len) else {
            break;
        };
        offset = end;
        row += 1;
    }
    let have = len - offset.min(len);
    Ok(bad(
        path,
        kind,
        format!(
            "truncated: the file ends inside row {row} ({have} of its {record} bytes; \
             {len} bytes is not a whole number of {record}-byte records of dimension {dim})"
        ),
    ))
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
