//! What is in a file, before benchmarking it: every tensor's header facts plus summary
//! statistics (moments, range, row norms, zero and non-finite rows) over a sample of rows, so a
//! user can pick a tensor and spot broken data (all-zero padding rows, NaNs) up front.

use std::path::Path;

use super::file::FileSpec;
pub use super::row_stats::{RowStats, row_stats};
use super::{TensorInfo, fvecs, npy, safetensors};
use crate::error::{Error, Result};

/// Every tensor in the file (npy/fvecs/bvecs: the one array) with statistics over its first
/// `sample_rows` rows, or `None` where the tensor is not one we can load (not 2-D, unsupported
/// dtype, Fortran order). Safetensors tensors come sorted by name.
pub fn inspect_file(
    path: &Path,
    sample_rows: usize,
) -> Result<Vec<(TensorInfo, Option<RowStats>)>> {
    match FileSpec::from_path(path) {
        Some(FileSpec::Npy(p)) => npy::inspect(&p, sample_rows),
        Some(FileSpec::Fvecs(p) | FileSpec::Bvecs(p)) => fvecs::inspect(&p, sample_rows),
        Some(FileSpec::Safetensors { path: p, .. }) => safetensors::inspect(&p, sample_rows),
        None => {
            super::file::refuse_gguf(&path.to_string_lossy())?;
            Err(Error::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    }
}
