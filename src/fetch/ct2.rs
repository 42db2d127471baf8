//! Reads CTranslate2 `model.bin` files (format version 6, the one faster-whisper ships) and
//! rewrites them as safetensors, because the `whisper` source arrives only in that format and
//! the benchmark's loaders read safetensors. Dtypes are kept (F16 stays F16), `/` in names
//! becomes `.`, and attention `k_proj` weights, which CTranslate2 stores fused with q and v,
//! are also written ready-cut:
//!
//! - `P.self_attention.k_proj.weight` = rows `d..2d` of `P/self_attention/linear_0/weight`
//!   (`[3d, d]`, fused `[q; k; v]`);
//! - `P.cross_attention.k_proj.weight` = rows `0..d` of `P/attention/linear_1/weight`
//!   (`[2d, d]`, fused `[k; v]` of a decoder's cross-attention).
//!
//! Layout (little-endian): `u32` version, string spec name, `u32` spec revision, `u32`
//! variable count, then per variable: string name, `u8` rank, `rank` × `u32` dims, `u8` dtype
//! (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16), `u32` byte count, the bytes; then `u32` alias
//! count and pairs of strings (alias, target). A string is a `u16` length *including* a
//! trailing NUL, then that many bytes. Every length is checked against the file before it is
//! used, nothing is allocated from a declared count, and a hostile file gives
//! [`Error::BadHeader`] or [`Error::Truncated`].

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use ::safetensors::tensor::{Dtype, TensorView};

use crate::data::raw::map_readonly;
use crate::error::{Error, Result};

const FORMAT: &str = "CTranslate2 model.bin";

/// The only format version this reader knows.
pub const SUPPORTED_VERSION: u32 = 6;

/// The element types of a CTranslate2 variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl Ct2Dtype {
    fn from_id(id: u8) -> Option<Ct2Dtype> {
        match id {
            0 => Some(Ct2Dtype::F32),
            1 => Some(Ct2Dtype::I8),
            2 => Some(Ct2Dtype::I16),
            3 => Some(Ct2Dtype::I32),
            4 => Some(Ct2Dtype::F16),
            5 => Some(Ct2Dtype::BF16),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Ct2Dtype::I8 => 1,
            Ct2Dtype::I16 | Ct2Dtype::F16 | Ct2Dtype::BF16 => 2,
            Ct2Dtype::F32 | Ct2Dtype::I32 => 4,
        }
    }

    fn safetensors(self) -> Dtype {
        match self {
            Ct2Dtype::F32 => Dtype::F32,
            Ct2Dtype::I8 => Dtype::I8,
            Ct2Dtype::I16 => Dtype::I16,
            Ct2Dtype::I32 => Dtype::I32,
            Ct2Dtype::F16 => Dtype::F16,
            Ct2Dtype::BF16 => Dtype::BF16,
        }
    }
}

/// One variable: where its bytes are in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ct2Variable {
    /// Name as stored (with `/`).
    pub name: String,
    pub dtype: Ct2Dtype,
    pub shape: Vec<usize>,
    /// Byte offset of the data in the file.
    pub offset: usize,
    /// Data size in bytes (= elements × dtype size, checked).
    pub len: usize,
}

/// A parsed `model.bin` header: everything but the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ct2Model {
    pub version: u32,
    /// Model spec name, e.g. `WhisperSpec`.
    pub spec: String,
    pub revision: u32,
    pub variables: Vec<Ct2Variable>,
    /// `(alias, target)` name pairs.
    pub aliases: Vec<(String, String)>,
}

/// What [`to_safetensors`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ct2Summary {
    /// Variables copied.
    pub variables: usize,
    /// Ready-cut `k_proj` tensors added.
    pub k_proj: usize,
}

/// Parse the header of a `model.bin` held in `bytes` (read from `path`, for messages).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Ct2Model> {
    let mut c = Cursor {
        path,
        bytes,
        pos: 0,
    };
    let version = c.u32()?;
    if version != SUPPORTED_VERSION {
        return Err(c.bad(format!(
            "format version {version}; this reader knows version {SUPPORTED_VERSION}"
        )));
    }
    let spec = c.string("spec name")?;
    let revision = c.u32()?;
    let count = c.u32()?;
    let mut variables = Vec::new();
    let mut seen = BTreeSet::new();
    for i in 0..count {
        let name = c.string("variable name")?;
        let rank = c.u8()?;
        let mut shape = Vec::with_capacity(usize::from(rank));
        for _ in 0..rank {
            shape.push(c.u32()? as usize);
        }
        let dtype_id = c.u8()?;
        let dtype = Ct2Dtype::from_id(dtype_id).ok_or_else(|| {
            c.bad(format!(
                "variable '{name}' has unknown dtype id {dtype_id} (known: 0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16)"
            ))
        })?;
        let len = c.u32()? as usize;
        let expected = shape
            .iter()
            .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                c.bad(format!(
                    "variable '{name}' has shape {shape:?}, too large to address"
                ))
            })?;
        if expected != len {
            return Err(c.bad(format!(
                "variable '{name}' ({dtype:?} {shape:?}) declares {len} bytes; its shape needs {expected}"
            )));
        }
        let offset = c.pos;
        c.take(len)?;
        if !seen.insert(name.clone()) {
            return Err(c.bad(format!("variable '{name}' appears twice (variable {i})")));
        }
        variables.push(Ct2Variable {
            name,
            dtype,
            shape,
            offset,
            len,
        });
    }
    let alias_count = c.u32()?;
    let mut aliases = Vec::new();
    for _ in 0..alias_count {
        let alias = c.string("alias name")?;
        let target = c.string("alias target")?;
        aliases.push((alias, target));
    }
    if c.pos != bytes.len() {
        return Err(c.bad(format!(
            "{} bytes after the last alias, where the file should end",
            bytes.len() - c.pos
        )));
    }
    Ok(Ct2Model {
        version,
        spec,
        revision,
        variables,
        aliases,
    })
}

/// Convert the `model.bin` at `input` into a safetensors file at `output` (see the module
/// docs for names and the ready-cut `k_proj` tensors).
pub fn to_safetensors(input: &Path, output: &Path) -> Result<Ct2Summary> {
    let mapped = map_readonly(input)?;
    let bytes = mapped.bytes();
    let model = parse(input, bytes)?;
    let bad = |reason: String| Error::BadHeader {
        path: input.to_path_buf(),
        format: FORMAT,
        reason,
    };
    let mut tensors: Vec<(String, TensorView<'_>)> = Vec::with_capacity(model.variables.len());
    let mut names = BTreeSet::new();
    let mut k_proj = 0;
    for var in &model.variables {
        let data = &bytes[var.offset..var.offset + var.len];
        let name = var.name.replace('/', ".");
        push(
            &mut tensors,
            &mut names,
            name,
            var.dtype,
            var.shape.clone(),
            data,
            &bad,
        )?;
        if let Some(cut) = k_proj_cut(var).map_err(&bad)? {
            let data = &data[cut.bytes.clone()];
            push(
                &mut tensors,
                &mut names,
                cut.name,
                var.dtype,
                cut.shape,
                data,
                &bad,
            )?;
            k_proj += 1;
        }
    }
    let aliases: Vec<String> = model
        .aliases
        .iter()
        .map(|(a, t)| format!("{} -> {}", a.replace('/', "."), t.replace('/', ".")))
        .collect();
    // One metadata key only: safetensors writes metadata from a HashMap, and a single entry
    // keeps the output byte-identical from run to run (so its sha256 can be pinned).
    let note = format!(
        "converted by codecbench from a CTranslate2 model.bin (format {}, spec {} revision {}); \
         names: '/' -> '.'; *.self_attention.k_proj.weight = rows d..2d of \
         *.self_attention.linear_0.weight; *.cross_attention.k_proj.weight = rows 0..d of \
         *.attention.linear_1.weight; aliases: {}",
        model.version,
        model.spec,
        model.revision,
        if aliases.is_empty() {
            "none".to_string()
        } else {
            aliases.join(", ")
        }
    );
    let metadata = HashMap::from([("codecbench".to_string(), note)]);
    ::safetensors::tensor::serialize_to_file(tensors, Some(metadata), output).map_err(|e| {
        Error::Write {
            path: output.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        }
    })?;
    Ok(Ct2Summary {
        variables: model.variables.len(),
        k_proj,
    })
}

fn push<'a>(
    tensors: &mut Vec<(String, TensorView<'a>)>,
    names: &mut BTreeSet<String>,
    name: String,
    dtype: Ct2Dtype,
    shape: Vec<usize>,
    data: &'a [u8],
    bad: &dyn Fn(String) -> Error,
) -> Result<()> {
    if !names.insert(name.clone()) {
        return Err(bad(format!(
            "two tensors would be named '{name}' in the safetensors file"
        )));
    }
    let view = TensorView::new(dtype.safetensors(), shape, data)
        .map_err(|e| bad(format!("tensor '{name}': {e}")))?;
    tensors.push((name, view));
    Ok(())
}

/// A ready-cut `k_proj`: its name, shape and byte range inside the fused variable's data.
struct Cut {
    name: String,
    shape: Vec<usize>,
    bytes: std::ops::Range<usize>,
}

/// The `k_proj` block inside a fused attention weight, if `var` is one.
fn k_proj_cut(var: &Ct2Variable) -> std::result::Result<Option<Cut>, String> {
    const SELF: &str = "/self_attention/linear_0/weight";
    const CROSS: &str = "/attention/linear_1/weight";
    let (prefix, parts, first_row_block, label) = if let Some(prefix) = var.name.strip_suffix(SELF)
    {
        (prefix, 3, 1, "self_attention")
    } else if let Some(prefix) = var.name.strip_suffix(CROSS) {
        (prefix, 2, 0, "cross_attention")
    } else {
        return Ok(None);
    };
    let [rows, d] = *var.shape.as_slice() else {
        return Err(format!(
            "fused attention weight '{}' has shape {:?}; expected [{parts}·d, d]",
            var.name, var.shape
        ));
    };
    if d == 0 || rows != parts * d {
        return Err(format!(
            "fused attention weight '{}' has shape {:?}; expected [{parts}·d, d]",
            var.name, var.shape
        ));
    }
    // `var.len` = rows·d·size was checked by `parse`, so these products do not overflow.
    let block = d * d * var.dtype.size();
    let start = first_row_block * block;
    Ok(Some(Cut {
        name: format!("{}.{label}.k_proj.weight", prefix.replace('/', ".")),
        shape: vec![d, d],
        bytes: start..start + block,
    }))
}

/// A bounds-checked reader over the file's bytes.
struct Cursor<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn bad(&self, reason: String) -> Error {
        Error::BadHeader {
            path: self.path.to_path_buf(),
            format: FORMAT,
            reason: format!("{reason} (at byte {})", self.pos),
        }
    }

    /// The next `n` bytes, or [`Error::Truncated`] when the file ends first.
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.bytes.get(self.pos..end)) {
            Some(slice) => {
                self.pos += n;
                Ok(slice)
            }
            None => Err(Error::Truncated {
                path: self.path.to_path_buf(),
                format: FORMAT,
                expected: (self.pos as u64).saturating_add(n as u64),
                actual: self.bytes.len() as u64,
            }),
        }
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `u16`-length string whose length counts a trailing NUL.
    fn string(&mut self, what: &str) -> Result<String> {
        let len = usize::from(self.u16()?);
        let raw = self.take(len)?;
        let Some((&0, text)) = raw.split_last() else {
            return Err(self.bad(format!("{what} is not NUL-terminated")));
        };
        if text.contains(&0) {
            return Err(self.bad(format!("{what} has a NUL inside")));
        }
        String::from_utf8(text.to_vec()).map_err(|_| self.bad(format!("{what} is not UTF-8")))
    }
}
