//! What every loader shares, below the formats: the element encodings files store
//! (f32/f64/f16 in either byte order, bf16, u8) and their one conversion to f32, for selected
//! rows (read through [`Source`]) or a whole tensor; a read-only map for the fetch pipeline's
//! conversions; and, for the writers, a buffered file whose errors name it. The format modules
//! (`npy`, `fvecs`, `safetensors`) only validate their headers and call down here; nothing here
//! knows a format.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use memmap2::Mmap;

use super::Overflow;
use super::rows::Rows;
use super::source::Source;
use crate::error::{Error, Result};

/// The name a single-array file's tensor goes by: its file name.
pub(crate) fn file_tensor_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A file mapped read-only (an empty file maps to an empty slice).
pub(crate) struct Mapped {
    map: Option<Mmap>,
}

impl Mapped {
    /// The file's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

/// Open (regular files only) and memory-map a file read-only; every failure names the path.
/// Only the fetch pipeline's conversions map files (packages it unpacked itself); population
/// loaders read through [`Source`], which cannot fault on a truncated file.
pub(crate) fn map_readonly(path: &Path) -> Result<Mapped> {
    let file = crate::input::open(path)?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.len() == 0 {
        return Ok(Mapped { map: None });
    }
    // SAFETY: the file is opened read-only and the map is only ever read through `&[u8]`. A
    // concurrent writer truncating it could fault the process; the files mapped here are the
    // fetch pipeline's own unpacked package members, which nothing else writes.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    Ok(Mapped { map: Some(map) })
}

/// Create `path` and write it through a buffer with `body`; every failure is an
/// [`Error::Write`] naming the file. The writers of `npy` and `fvecs` (and the fetcher's
/// conversions) go through here.
pub(crate) fn write_file(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let write_err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut w = BufWriter::new(File::create(path).map_err(write_err)?);
    body(&mut w).and_then(|()| w.flush()).map_err(write_err)
}

/// Element encodings the loaders convert to f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    F32 { big_endian: bool },
    F64 { big_endian: bool },
    F16 { big_endian: bool },
    Bf16,
    U8,
}

impl Elem {
    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        match self {
            Elem::F64 { .. } => 8,
            Elem::F32 { .. } => 4,
            Elem::F16 { .. } | Elem::Bf16 => 2,
            Elem::U8 => 1,
        }
    }

    /// The first element of `bytes` (one row) that is a finite f64 beyond f32's range, as
    /// (column, value); `None` for every other encoding, which cannot overflow f32.
    fn first_overflow(self, bytes: &[u8]) -> Option<(usize, f64)> {
        let Elem::F64 { big_endian } = self else {
            return None;
        };
        bytes
            .chunks_exact(8)
            .filter_map(|c| <[u8; 8]>::try_from(c).ok())
            .map(|b| {
                if big_endian {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }
            })
            .enumerate()
            .find(|(_, v)| v.is_finite() && (*v as f32).is_infinite())
    }
}

/// Rows converted to f32, with the first f64 → f32 overflow of each row that had one (so the
/// population can say "1e300 overflows f32" instead of "non-finite value inf").
pub(crate) struct Gathered {
    pub(crate) rows: Rows,
    pub(crate) overflows: Vec<Overflow>,
}

impl Gathered {
    /// Convert `bytes`, whole rows of `dims` elements in C order.
    pub(crate) fn decode_rows(bytes: &[u8], dims: usize, elem: Elem) -> Self {
        let mut g = Gathered {
            rows: Rows::empty(dims.max(1)),
            overflows: Vec::new(),
        };
        let mut data = Vec::with_capacity(bytes.len() / elem.size());
        for (k, row) in bytes.chunks_exact(dims.max(1) * elem.size()).enumerate() {
            g.note_overflow(k, row, elem);
            decode_into(row, elem, &mut data);
        }
        g.rows = Rows::new(dims.max(1), data);
        g
    }

    fn note_overflow(&mut self, row: usize, bytes: &[u8], elem: Elem) {
        if let Some((col, value)) = elem.first_overflow(bytes) {
            self.overflows.push(Overflow { row, col, value });
        }
    }
}

/// Where the rows of a row-strided region lie: row `i` occupies `dims * elem.size()` bytes
/// starting at `base + i * stride + skip`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowLayout {
    pub(crate) base: u64,
    pub(crate) stride: usize,
    pub(crate) skip: usize,
    pub(crate) dims: usize,
    pub(crate) elem: Elem,
}

/// Convert the rows `indices` of a [`RowLayout`] region of `src` to f32. Reads only the
/// selected rows (see [`Source::for_each_row`]); `check(k, record)` sees each row's whole
/// `stride`-sized record first (fvecs checks its dimension prefix there).
pub(crate) fn gather_rows(
    src: &Source,
    layout: RowLayout,
    indices: &[usize],
    mut check: impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<Gathered> {
    let RowLayout {
        base,
        stride,
        skip,
        dims,
        elem,
    } = layout;
    let row_bytes = dims.checked_mul(elem.size()).filter(|&b| b > 0);
    let Some(row_bytes) = row_bytes.filter(|&b| skip.checked_add(b).is_some_and(|e| e <= stride))
    else {
        return Err(Error::BadHeader {
            path: src.path().to_path_buf(),
            format: "input",
            reason: format!("rows of {dims} elements do not fit a {stride}-byte record"),
        });
    };
    let mut g = Gathered {
        rows: Rows::empty(dims),
        overflows: Vec::new(),
    };
    let mut data = Vec::with_capacity(indices.len().saturating_mul(dims));
    src.for_each_row(base, stride as u64, stride, indices, |k, record| {
        check(k, record)?;
        let row = &record[skip..skip + row_bytes];
        g.note_overflow(k, row, elem);
        decode_into(row, elem, &mut data);
        Ok(())
    })?;
    g.rows = Rows::new(dims, data);
    Ok(g)
}

/// Every whole element of `bytes` converted to f32 (a trailing partial element is ignored).
pub(crate) fn decode(bytes: &[u8], elem: Elem) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / elem.size());
    decode_into(bytes, elem, &mut out);
    out
}

/// Append every whole element of `bytes`, converted to f32, to `out`: the one conversion behind
/// [`gather_rows`], [`Gathered::decode_rows`] and [`decode`].
fn decode_into(bytes: &[u8], elem: Elem, out: &mut Vec<f32>) {
    match elem {
        Elem::F32 { big_endian: false } => convert(bytes, out, f32::from_le_bytes),
        Elem::F32 { big_endian: true } => convert(bytes, out, f32::from_be_bytes),
        Elem::F64 { big_endian: false } => convert(bytes, out, |b| f64::from_le_bytes(b) as f32),
        Elem::F64 { big_endian: true } => convert(bytes, out, |b| f64::from_be_bytes(b) as f32),
        Elem::F16 { big_endian: false } => {
            convert(bytes, out, |b| half::f16::from_le_bytes(b).to_f32());
        }
        Elem::F16 { big_endian: true } => {
            convert(bytes, out, |b| half::f16::from_be_bytes(b).to_f32());
        }
        Elem::Bf16 => convert(bytes, out, |b| half::bf16::from_le_bytes(b).to_f32()),
        Elem::U8 => out.extend(bytes.iter().map(|&b| f32::from(b))),
    }
}

/// Append every `N`-byte element of `bytes` (a whole number of them) converted by `f`.
fn convert<const N: usize>(bytes: &[u8], out: &mut Vec<f32>, f: impl Fn([u8; N]) -> f32) {
    out.extend(
        bytes
            .chunks_exact(N)
            .filter_map(|c| <[u8; N]>::try_from(c).ok())
            .map(f),
    );
}
