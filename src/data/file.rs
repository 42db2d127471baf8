//! Population files: recognise a spec string (`x.npy`, `x.fvecs`, `x.bvecs`,
//! `x.safetensors:tensor`) by its extension, dispatch to the format's loader, and hash files for
//! provenance. This module sits above the loaders; what they share (the read-only map, element
//! conversion) is below them in `raw`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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
