//! Reads rows of 2-D float tensors (F32, F16, BF16) out of `.safetensors` checkpoints, the
//! format real model weights ship in, and whole tensors by name for the model
//! ([`Checkpoint::tensor_f32`], the one dtype → f32 decoder). Only the selected rows are read
//! (positioned reads, see `source`) and converted, so sampling a few thousand rows of a
//! multi-GB checkpoint stays cheap. The header is parsed and checked in `safetensors_header`,
//! so hostile headers fail with a clear error naming the tensor.

use std::path::Path;

use super::raw::{Elem, Gathered, RowLayout, decode, gather_rows};
use super::row_stats::{RowStats, row_stats};
use super::safetensors_header::{Entry, Header};
use super::selection::RowSelection;
use super::source::Source;
use super::{Loaded, TensorInfo};
use crate::error::{Error, Result};

const FORMAT: &str = "safetensors";

/// The reference implementation's cap on the header length, checked before it is read.
pub use super::safetensors_header::MAX_HEADER_BYTES;

/// The dtypes [`load`] converts.
pub const SUPPORTED: &str = "F32, F16, BF16";

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
    let info = to_info(st);
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
    let Gathered { rows, overflows } = file.gather(st, dims, elem, &indices)?;
    Ok(Loaded {
        rows,
        info,
        indices,
        overflows,
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
    let mut out = Vec::with_capacity(file.header.tensors.len());
    for st in &file.header.tensors {
        let info = to_info(st);
        let stats = match (elem_of(st.dtype), rows_dims(&info.shape)) {
            (Some(elem), Some([n_rows, dims])) => {
                let indices = RowSelection::First(sample_rows).resolve(n_rows);
                Some(row_stats(&file.gather(st, dims, elem, &indices)?.rows))
            }
            (None, _) | (_, None) => None,
        };
        out.push((info, stats));
    }
    Ok(out)
}

/// A safetensors file opened for reading, its header parsed and every offset checked against
/// the file length. [`load`] reads rows of one tensor through it; a model reads whole tensors by
/// name ([`Checkpoint::tensor_f32`], the one safetensors dtype → f32 decoder).
pub struct Checkpoint {
    source: Source,
    header: Header,
}

impl Checkpoint {
    /// Open `path` and parse its header; hostile lengths and offsets are clear errors. Data is
    /// read later, at offsets: a file truncated after this is an error when read, not a crash.
    pub fn open(path: &Path) -> Result<Self> {
        let source = Source::open(path)?;
        let header = Header::read(&source)?;
        Ok(Checkpoint { source, header })
    }

    /// The file it reads.
    pub fn path(&self) -> &Path {
        self.source.path()
    }

    /// Every tensor name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.header.tensors.iter().map(|e| e.name.clone()).collect()
    }

    /// The declared shape of tensor `name`, if the file holds it.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.header.get(name).map(|e| e.shape.as_slice())
    }

    /// Every value of tensor `name`, converted to f32 from any [`SUPPORTED`] dtype.
    ///
    /// # Errors
    /// [`Error::UnknownTensor`] (with the closest names) when the file has no such tensor,
    /// [`Error::UnsupportedDtype`] for other dtypes, [`Error::ChangedWhileReading`] when the
    /// file was truncated since it was opened.
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>> {
        let st = self.info(name)?;
        let elem = elem_of(st.dtype).ok_or_else(|| Error::UnsupportedDtype {
            path: self.path().to_path_buf(),
            tensor: name.to_string(),
            dtype: st.dtype.to_string(),
            supported: SUPPORTED,
        })?;
        let len = usize::try_from(st.end - st.start).map_err(|_| {
            bad(
                self.path(),
                format!("tensor '{name}' does not fit in memory"),
            )
        })?;
        let bytes = self
            .source
            .read_at(self.header.data_start + st.start, len)?;
        Ok(decode(&bytes, elem))
    }

    /// The header entry of tensor `name`, or [`Error::UnknownTensor`] with the closest names.
    fn info(&self, name: &str) -> Result<&Entry> {
        self.header.get(name).ok_or_else(|| Error::UnknownTensor {
            path: self.path().to_path_buf(),
            tensor: name.to_string(),
            close: close_names(name, self.header.tensors.iter().map(|e| e.name.as_str())),
        })
    }

    fn infos(&self) -> Vec<TensorInfo> {
        self.header.tensors.iter().map(to_info).collect()
    }

    /// Convert rows `indices` of a validated 2-D tensor.
    fn gather(&self, st: &Entry, dims: usize, elem: Elem, indices: &[usize]) -> Result<Gathered> {
        let row_bytes = dims.saturating_mul(elem.size());
        let layout = RowLayout {
            base: self.header.data_start + st.start,
            stride: row_bytes,
            skip: 0,
            dims,
            elem,
        };
        gather_rows(&self.source, layout, indices, |_, _| Ok(()))
    }
}

fn to_info(st: &Entry) -> TensorInfo {
    TensorInfo {
        name: st.name.clone(),
        dtype: st.dtype.to_string(),
        shape: st.shape.clone(),
        bytes: st.end - st.start,
    }
}

fn elem_of(dtype: &str) -> Option<Elem> {
    match dtype {
        "F32" => Some(Elem::F32 { big_endian: false }),
        "F16" => Some(Elem::F16 { big_endian: false }),
        "BF16" => Some(Elem::Bf16),
        _ => None,
    }
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
