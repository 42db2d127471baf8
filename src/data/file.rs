//! Population files: recognise a spec string (`x.npy`, `x.fvecs`, `x.bvecs`,
//! `x.safetensors:tensor`) by its extension, dispatch to the format's loader, and hash files for
//! provenance. Also holds what the loaders share: the read-only memory map and the conversion of
//! selected rows from raw bytes to f32, so each format only has to validate its header.

use std::fs::File;
use std::io::{BufReader, ErrorKind};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use sha2::{Digest, Sha256};

use super::rows::Rows;
use super::selection::RowSelection;
use super::{Loaded, fvecs, npy, safetensors};
use crate::error::{Error, Result};

/// A file population, recognised by extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSpec {
    /// A 2-D `.npy` array.
    Npy(PathBuf),
    /// A `.fvecs` file (per row: i32 dim, then dim f32).
    Fvecs(PathBuf),
    /// A `.bvecs` file (per row: i32 dim, then dim u8).
    Bvecs(PathBuf),
    /// One tensor of a `.safetensors` file; `tensor` is `None` when the spec named none.
    Safetensors {
        path: PathBuf,
        tensor: Option<String>,
    },
}

const SAFETENSORS_EXT: &str = ".safetensors";

impl FileSpec {
    /// Recognise a population spec by extension. Safetensors specs take the form
    /// `path.safetensors:tensor.name` (split at the first `:` right after `.safetensors`; the
    /// tensor name may itself contain `:`). Returns `None` when there is no known extension, so
    /// the caller can treat the string as a catalog name.
    pub fn parse(spec: &str) -> Option<FileSpec> {
        // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `spec`.
        let lower = spec.to_ascii_lowercase();
        let mut from = 0;
        while let Some(pos) = lower.get(from..).and_then(|s| s.find(SAFETENSORS_EXT)) {
            let end = from + pos + SAFETENSORS_EXT.len();
            let (path, rest) = spec.split_at_checked(end)?;
            if rest.is_empty() {
                return Some(FileSpec::Safetensors {
                    path: PathBuf::from(path),
                    tensor: None,
                });
            }
            if let Some(tensor) = rest.strip_prefix(':') {
                return Some(FileSpec::Safetensors {
                    path: PathBuf::from(path),
                    tensor: (!tensor.is_empty()).then(|| tensor.to_string()),
                });
            }
            from = end;
        }
        FileSpec::from_path(Path::new(spec))
    }

    /// Recognise a plain path by its extension (no `:tensor` suffix handling).
    pub fn from_path(path: &Path) -> Option<FileSpec> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        let path = path.to_path_buf();
        match ext.as_str() {
            "npy" => Some(FileSpec::Npy(path)),
            "fvecs" => Some(FileSpec::Fvecs(path)),
            "bvecs" => Some(FileSpec::Bvecs(path)),
            "safetensors" => Some(FileSpec::Safetensors { path, tensor: None }),
            _ => None,
        }
    }

    /// The file this spec reads.
    pub fn path(&self) -> &Path {
        match self {
            FileSpec::Npy(p) | FileSpec::Fvecs(p) | FileSpec::Bvecs(p) => p,
            FileSpec::Safetensors { path, .. } => path,
        }
    }
}

impl std::fmt::Display for FileSpec {
    /// The spec as a user writes it (parses back to an equal `FileSpec`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileSpec::Safetensors {
                path,
                tensor: Some(t),
            } => write!(f, "{}:{t}", path.display()),
            FileSpec::Npy(p)
            | FileSpec::Fvecs(p)
            | FileSpec::Bvecs(p)
            | FileSpec::Safetensors { path: p, .. } => write!(f, "{}", p.display()),
        }
    }
}

/// How many tensor names a [`Error::MissingTensorName`] lists before summarising.
const LIST_AT_MOST: usize = 10;

/// Load the selected rows of the population a spec names.
pub fn load(spec: &FileSpec, selection: &RowSelection) -> Result<Loaded> {
    match spec {
        FileSpec::Npy(path) => npy::load(path, selection),
        FileSpec::Fvecs(path) | FileSpec::Bvecs(path) => fvecs::load(path, selection),
        FileSpec::Safetensors {
            path,
            tensor: Some(tensor),
        } => safetensors::load(path, tensor, selection),
        FileSpec::Safetensors { path, tensor: None } => {
            let names: Vec<String> = safetensors::list(path)?
                .into_iter()
                .map(|t| t.name)
                .collect();
            let mut available = names
                .iter()
                .take(LIST_AT_MOST)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if names.is_empty() {
                available = "none".to_string();
            } else if names.len() > LIST_AT_MOST {
                available.push_str(&format!(" … and {} more", names.len() - LIST_AT_MOST));
            }
            Err(Error::MissingTensorName {
                path: path.clone(),
                available,
            })
        }
    }
}

/// SHA-256 of a file's contents as lowercase hex, read in a stream (constant memory).
pub fn sha256_file(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

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
        match elem {
            Elem::F32 { big_endian: false } => convert(bytes, &mut out, f32::from_le_bytes),
            Elem::F32 { big_endian: true } => convert(bytes, &mut out, f32::from_be_bytes),
            Elem::F64 { big_endian: false } => {
                convert(bytes, &mut out, |b| f64::from_le_bytes(b) as f32);
            }
            Elem::F64 { big_endian: true } => {
                convert(bytes, &mut out, |b| f64::from_be_bytes(b) as f32);
            }
            Elem::F16 { big_endian: false } => {
                convert(bytes, &mut out, |b| half::f16::from_le_bytes(b).to_f32());
            }
            Elem::F16 { big_endian: true } => {
                convert(bytes, &mut out, |b| half::f16::from_be_bytes(b).to_f32());
            }
            Elem::Bf16 => convert(bytes, &mut out, |b| half::bf16::from_le_bytes(b).to_f32()),
            Elem::U8 => out.extend(bytes.iter().map(|&b| f32::from(b))),
        }
    }
    Some(Rows::new(dims, out))
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
