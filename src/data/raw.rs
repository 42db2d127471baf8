//! What every loader shares, below the formats: a file mapped read-only, the element encodings
//! files store (f32/f64/f16 in either byte order, bf16, u8) and their one conversion to f32, for
//! selected rows or a whole tensor; and, for the writers, a buffered file whose errors name it. The format modules (`npy`, `fvecs`, `safetensors`) only
//! validate their headers and call down here; nothing here knows a format.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::Path;

use memmap2::Mmap;

use super::rows::Rows;
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

/// Open and memory-map a file read-only; every failure names the path.
pub(crate) fn map_readonly(path: &Path) -> Result<Mapped> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    if meta.len() == 0 {
        return Ok(Mapped { map: None });
    }
    // SAFETY: the file is opened read-only and the map is only ever read through `&[u8]`. A
    // concurrent writer truncating or modifying the file could change the bytes under us or
    // fault the process; we treat concurrent modification of input files as out of scope.
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
}

/// Convert the rows `indices` of a row-strided byte region to f32.
///
/// Row `i` occupies `dims * elem.size()` bytes starting at `i * stride + skip`. Returns `None`
/// if any row falls outside `data` (callers validate layouts first, so this is a guard, not a
/// code path) or if `dims` is 0. Allocates only for the selected rows.
pub(crate) fn gather_rows(
    data: &[u8],
    stride: usize,
    skip: usize,
    dims: usize,
    elem: Elem,
    indices: &[usize],
) -> Option<Rows> {
    if dims == 0 {
        return None;
    }
    let row_bytes = dims.checked_mul(elem.size())?;
    let mut out = Vec::with_capacity(indices.len().checked_mul(dims)?);
    for &i in indices {
        let start = i.checked_mul(stride)?.checked_add(skip)?;
        let bytes = data.get(start..start.checked_add(row_bytes)?)?;
        decode_into(bytes, elem, &mut out);
    }
    Some(Rows::new(dims, out))
}

/// Every whole element of `bytes` converted to f32 (a trailing partial element is ignored).
pub(crate) fn decode(bytes: &[u8], elem: Elem) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / elem.size());
    decode_into(bytes, elem, &mut out);
    out
}

/// Append every whole element of `bytes`, converted to f32, to `out`: the one conversion behind
/// [`gather_rows`] and [`decode`].
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
