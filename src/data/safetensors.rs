//! Reads rows of 2-D float tensors (F32, F16, BF16) out of `.safetensors` checkpoints, the
//! format real model weights ship in, and whole tensors by name for the model
//! ([`Checkpoint::tensor_f32`], the one dtype → f32 decoder). The file is memory-mapped and only
//! selected rows are converted, so sampling a few thousand rows of a multi-GB checkpoint stays
//! cheap. Header
//! parsing is the `safetensors` crate's; we pre-check the header length and the declared
//! offsets against the file length first, so hostile headers fail with a clear error.

use std::path::{Path, PathBuf};

use ::safetensors::SafeTensors;
use ::safetensors::tensor::{Dtype, Metadata, TensorInfo as StInfo};

use super::raw::{Elem, Mapped, decode, gather_rows, map_readonly};
use super::row_stats::{RowStats, row_stats};
use super::rows::Rows;
use super::selection::RowSelection;
use super::{Loaded, TensorInfo};
use crate::error::{Error, Result};

const FORMAT: &str = "safetensors";

/// The dtypes [`load`] converts.
pub const SUPPORTED: &str = "F32, F16, BF16";

/// Same limit the `safetensors` crate applies; checked first so we never parse a larger header.
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Every tensor in the file, sorted by name. `dtype` is the safetensors name (`F32`, `BF16`,
/// `I64`, ...); `bytes` is the tensor's data size.
pub fn list(path: &Path) -> Result<Vec<TensorInfo>> {
    let file = Checkpoint::open(path)?;
    Ok(file.infos())
}

/// The selected rows of a 2-D F32/F16/BF16 tensor, converted to f32.
pub fn load(path: &Path, tensor: &str, selection: &RowSelection) -> Result<Loaded> {
    let file = Checkpoint::open(path)?;
    let st = file.info(tensor)?;
    let info = to_info(tensor, st);
    let elem = elem_of(st.dtype).ok_or_else(|| Error::UnsupportedDtype {
        path: path.to_path_buf(),
        tensor: tensor.to_string(),
        dtype: info.dtype.clone(),
        supported: SUPPORTED,
    })?;
    let [n_rows, dims] = rows_dims(&info.shape).ok_or_else(|| Error::BadShape {
        path: path.to_path_buf(),
        tensor: tensor.to_string(),
        shape: info.shape.clone(),
    })?;
    let indices = selection.resolve(n_rows);
    let rows = file.gather(st, dims, elem, &indices)?;
    Ok(Loaded {
        rows,
        info,
        indices,
    })
}

/// Names among `candidates` close to `query` (see [`crate::error::close_names`]).
pub use crate::error::close_names;

/// Stats over the first `sample_rows` rows of every loadable tensor (None for the others).
pub(crate) fn inspect(
    path: &Path,
    sample_rows: usize,
) -> Result<Vec<(TensorInfo, Option<RowStats>)>> {
    let file = Checkpoint::open(path)?;
    let mut names = file.meta.offset_keys();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let Some(st) = file.meta.info(&name) else {
            continue;
        };
        let info = to_info(&name, st);
        let stats = match (elem_of(st.dtype), rows_dims(&info.shape)) {
            (Some(elem), Some([n_rows, dims])) => {
                let indices = RowSelection::First(sample_rows).resolve(n_rows);
                Some(row_stats(&file.gather(st, dims, elem, &indices)?))
            }
            (None, _) | (_, None) => None,
        };
        out.push((info, stats));
    }
    Ok(out)
}

/// A safetensors file mapped read-only, its header parsed and every offset checked against the
/// file length. [`load`] reads rows of one tensor through it; a model reads whole tensors by
/// name ([`Checkpoint::tensor_f32`], the one safetensors dtype → f32 decoder).
pub struct Checkpoint {
    path: PathBuf,
    mapped: Mapped,
    /// Offset of the data section (8 + header length).
    data_start: usize,
    meta: Metadata,
}

impl Checkpoint {
    /// Map `path` and parse its header; hostile lengths and offsets are clear errors.
    pub fn open(path: &Path) -> Result<Self> {
        let mapped = map_readonly(path)?;
        let bytes = mapped.bytes();
        precheck(path, bytes)?;
        let (header_len, meta) =
            SafeTensors::read_metadata(bytes).map_err(|e| bad(path, e.to_string()))?;
        let data_start = header_len
            .checked_add(8)
            .ok_or_else(|| bad(path, "header length overflows".to_string()))?;
        Ok(Checkpoint {
            path: path.to_path_buf(),
            mapped,
            data_start,
            meta,
        })
    }

    /// The file it reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every tensor name, in no particular order.
    pub fn names(&self) -> Vec<String> {
        self.meta.offset_keys()
    }

    /// The declared shape of tensor `name`, if the file holds it.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.meta.info(name).map(|st| st.shape.as_slice())
    }

    /// Every value of tensor `name`, converted to f32 from any [`SUPPORTED`] dtype.
    ///
    /// # Errors
    /// [`Error::UnknownTensor`] (with the closest names) when the file has no such tensor,
    /// [`Error::UnsupportedDtype`] for other dtypes.
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>> {
        let st = self.info(name)?;
        let elem = elem_of(st.dtype).ok_or_else(|| Error::UnsupportedDtype {
            path: self.path.clone(),
            tensor: name.to_string(),
            dtype: st.dtype.to_string(),
            supported: SUPPORTED,
        })?;
        Ok(decode(self.data(st)?, elem))
    }

    /// The header entry of tensor `name`, or [`Error::UnknownTensor`] with the closest names.
    fn info(&self, name: &str) -> Result<&StInfo> {
        self.meta.info(name).ok_or_else(|| {
            let names = self.meta.offset_keys();
            Error::UnknownTensor {
                path: self.path.clone(),
                tensor: name.to_string(),
                close: close_names(name, names.iter().map(String::as_str)),
            }
        })
    }

    /// The bytes of one tensor's data.
    fn data(&self, st: &StInfo) -> Result<&[u8]> {
        let (start, end) = st.data_offsets;
        self.data_start
            .checked_add(start)
            .zip(self.data_start.checked_add(end))
            .and_then(|(s, e)| self.mapped.bytes().get(s..e))
            .ok_or_else(|| {
                bad(
                    &self.path,
                    "tensor data offsets run past the end of the file".into(),
                )
            })
    }

    fn infos(&self) -> Vec<TensorInfo> {
        let mut infos: Vec<TensorInfo> = self
            .meta
            .tensors()
            .into_iter()
            .map(|(name, st)| to_info(&name, st))
            .collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        infos
    }

    /// Convert rows `indices` of a validated 2-D tensor.
    fn gather(&self, st: &StInfo, dims: usize, elem: Elem, indices: &[usize]) -> Result<Rows> {
        let data = self.data(st)?;
        let row_bytes = dims.saturating_mul(elem.size());
        gather_rows(data, row_bytes, 0, dims, elem, indices)
            .ok_or_else(|| bad(&self.path, "tensor data is smaller than its shape".into()))
    }
}

/// Check the length prefix and every declared data offset against the file length before the
/// `safetensors` crate sees the header: hostile lengths and offsets become clear errors, and the
/// crate's own (unchecked) offset arithmetic only ever sees offsets within the file.
fn precheck(path: &Path, bytes: &[u8]) -> Result<()> {
    let Some(prefix) = bytes.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
        let reason = if bytes.is_empty() {
            "file is empty".to_string()
        } else {
            format!(
                "file has {} bytes, less than the 8-byte header length",
                bytes.len()
            )
        };
        return Err(bad(path, reason));
    };
    let header_len = u64::from_le_bytes(prefix);
    let after_prefix = (bytes.len() - 8) as u64;
    if header_len > after_prefix {
        return Err(bad(
            path,
            format!(
                "header length {header_len} runs past the end of the file ({after_prefix} bytes follow the length prefix)"
            ),
        ));
    }
    if header_len > MAX_HEADER_BYTES {
        return Err(bad(
            path,
            format!("header length {header_len} exceeds the {MAX_HEADER_BYTES}-byte limit"),
        ));
    }
    // Both fit: header_len <= bytes.len() - 8.
    let header = bytes
        .get(8..8 + header_len as usize)
        .ok_or_else(|| bad(path, "header runs past the end of the file".to_string()))?;
    let json: serde_json::Value = serde_json::from_slice(header)
        .map_err(|e| bad(path, format!("header is not valid JSON: {e}")))?;
    let serde_json::Value::Object(entries) = json else {
        return Err(bad(path, "header is not a JSON object".to_string()));
    };
    let declared_end = entries
        .iter()
        .filter(|(name, _)| name.as_str() != "__metadata__")
        .filter_map(|(_, entry)| entry.get("data_offsets")?.as_array().cloned())
        .flatten()
        .filter_map(|offset| offset.as_u64())
        .max()
        .unwrap_or(0);
    let data_len = after_prefix - header_len;
    if declared_end > data_len {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            format: FORMAT,
            expected: declared_end,
            actual: data_len,
        });
    }
    Ok(())
}

fn to_info(name: &str, st: &StInfo) -> TensorInfo {
    let (start, end) = st.data_offsets;
    TensorInfo {
        name: name.to_string(),
        dtype: st.dtype.to_string(),
        shape: st.shape.clone(),
        bytes: end.saturating_sub(start) as u64,
    }
}

fn elem_of(dtype: Dtype) -> Option<Elem> {
    [
        (Dtype::F32, Elem::F32 { big_endian: false }),
        (Dtype::F16, Elem::F16 { big_endian: false }),
        (Dtype::BF16, Elem::Bf16),
    ]
    .into_iter()
    .find_map(|(d, e)| (d == dtype).then_some(e))
}

/// `[rows, dims]` for a 2-D shape with at least one column.
fn rows_dims(shape: &[usize]) -> Option<[usize; 2]> {
    match *shape {
        [rows, dims] if dims > 0 => Some([rows, dims]),
        _ => None,
    }
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: FORMAT,
        reason,
    }
}
