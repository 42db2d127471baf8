//! Population files: recognise a spec string (`x.npy`, `x.fvecs`, `x.bvecs`,
//! `x.safetensors:tensor`) by its extension, dispatch to the format's loader, and hash files for
//! provenance (the whole file, or for big files a cheap [`FileIdentity`] that `--resume`
//! checks). This module sits above the loaders; what they share (the read-only map, element
//! conversion) is below them in `raw`.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::selection::RowSelection;
use super::source::Source;
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

/// [`Error::Gguf`] when `spec` names a `.gguf` file (optionally with a `:tensor` suffix):
/// recognised by name so that a GGUF population is refused as such, not as an unknown
/// catalog name or an unsupported extension.
pub fn refuse_gguf(spec: &str) -> Result<()> {
    let lower = spec.to_ascii_lowercase();
    let end = match lower.find(".gguf:") {
        Some(at) => Some(at + ".gguf".len()),
        None => lower.ends_with(".gguf").then_some(lower.len()),
    };
    match end.and_then(|e| spec.get(..e)) {
        Some(path) => Err(Error::Gguf {
            path: PathBuf::from(path),
        }),
        None => Ok(()),
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

/// The `[rows, dims]` a spec's header declares, read without loading any row; `None` when the
/// spec names no tensor or the tensor is not 2-D (loading then says why). Header errors are the
/// ones loading reports.
pub fn declared_rows_dims(spec: &FileSpec) -> Result<Option<[usize; 2]>> {
    let shape = match spec {
        FileSpec::Npy(path) => npy::info(path)?.shape,
        FileSpec::Fvecs(path) | FileSpec::Bvecs(path) => fvecs::info(path)?.shape,
        FileSpec::Safetensors {
            path,
            tensor: Some(tensor),
        } => match safetensors::list(path)?
            .into_iter()
            .find(|t| &t.name == tensor)
        {
            Some(info) => info.shape,
            None => return Ok(None),
        },
        FileSpec::Safetensors { tensor: None, .. } => return Ok(None),
    };
    Ok(match shape[..] {
        [rows, dims] => Some([rows, dims]),
        _ => None,
    })
}

/// SHA-256 of a file's contents as lowercase hex, read in a stream (constant memory).
pub fn sha256_file(path: &Path) -> Result<String> {
    let file = crate::input::open(path)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hex(&hasher.finalize()))
}

/// What identifies a file too big to hash whole (`run` hashes files up to 512 MiB): its size,
/// modification time and a SHA-256 over sampled blocks — the header (at least the first MiB),
/// 64 evenly spaced 64 KiB blocks and the last MiB, about 6 MiB read whatever the size. A file
/// rewritten between an interrupted run and `--resume` changes its modification time, and a
/// rewrite that kept even that is caught if it touched a sampled block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileIdentity {
    /// Bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch, where the platform reports one.
    pub modified_ns: Option<u64>,
    /// SHA-256 (hex) of the sampled blocks, each prefixed by its offset, after the size.
    pub sampled_sha256: String,
}

/// Bytes of each end of the file in [`FileIdentity::sampled_sha256`].
const IDENTITY_END_BYTES: u64 = 1 << 20;
/// Evenly spaced blocks between the ends.
const IDENTITY_BLOCKS: u64 = 64;
/// Bytes per evenly spaced block.
const IDENTITY_BLOCK_BYTES: u64 = 64 << 10;

/// The [`FileIdentity`] of the file `spec` reads. Its header is hashed whole (a safetensors
/// header may exceed the first MiB).
pub fn identity(spec: &FileSpec) -> Result<FileIdentity> {
    let path = spec.path();
    let src = Source::open(path)?;
    let size = src.len();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| u64::try_from(d.as_nanos()).ok());
    let header_end = match spec {
        FileSpec::Safetensors { .. } => src
            .head(8)?
            .try_into()
            .map(|b: [u8; 8]| u64::from_le_bytes(b).min(safetensors::MAX_HEADER_BYTES) + 8)
            .unwrap_or(0),
        FileSpec::Npy(_) | FileSpec::Fvecs(_) | FileSpec::Bvecs(_) => 0,
    };
    let head = header_end.max(IDENTITY_END_BYTES).min(size);
    let mut blocks = vec![(0, head)];
    let span = size.saturating_sub(IDENTITY_BLOCK_BYTES);
    for i in 0..IDENTITY_BLOCKS {
        let at = (u128::from(span) * u128::from(i) / u128::from(IDENTITY_BLOCKS - 1)) as u64;
        blocks.push((at, IDENTITY_BLOCK_BYTES.min(size - at)));
    }
    let tail = IDENTITY_END_BYTES.min(size);
    blocks.push((size - tail, tail));
    let mut hasher = Sha256::new();
    hasher.update(size.to_le_bytes());
    for (offset, len) in blocks {
        hasher.update(offset.to_le_bytes());
        // Every block lies within the file; a header length beyond it reads to the end.
        let len = len.min(size - offset);
        hasher.update(src.read_at(offset, len as usize)?);
    }
    Ok(FileIdentity {
        size,
        modified_ns,
        sampled_sha256: hex(&hasher.finalize()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
