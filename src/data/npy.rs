//! Reads and writes NumPy `.npy` files, the simplest way to hand the benchmark an embedding
//! matrix from Python (the fetcher writes its converted u8 and f32 arrays with [`write_header`]). The header is a tiny Python dict literal, parsed here by a small
//! bounded parser; declared sizes are checked against the file length before anything is
//! allocated, and only the selected rows are converted.

use std::io::Write;
use std::path::Path;

use super::raw::{Elem, Gathered, RowLayout, file_tensor_name, gather_rows, write_file};
use super::row_stats::{RowStats, row_stats};
use super::rows::Rows;
use super::selection::RowSelection;
use super::source::Source;
use super::{Loaded, TensorInfo};
use crate::error::{Error, Result};

const FORMAT: &str = "npy";
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The dtypes [`load`] converts.
pub const SUPPORTED: &str = "<f4, <f8, <f2, |u1 (and big-endian >f4, >f8, >f2)";

/// Header facts: name = file name, dtype = the `descr` string (e.g. `<f4`), declared shape and
/// data size. Succeeds for any simple dtype and any shape, so it can describe what [`load`]
/// refuses.
pub fn info(path: &Path) -> Result<TensorInfo> {
    let src = Source::open(path)?;
    let header = Header::parse(&src)?;
    Ok(header.info(path))
}

/// The selected rows of a 2-D array (C or Fortran order) of a [`SUPPORTED`] dtype, converted to f32.
pub fn load(path: &Path, selection: &RowSelection) -> Result<Loaded> {
    let src = Source::open(path)?;
    let header = Header::parse(&src)?;
    let (elem, [n_rows, dims]) = header.loadable(path)?;
    let indices = selection.resolve(n_rows);
    let Gathered { rows, overflows } = header.gather(&src, elem, dims, &indices)?;
    Ok(Loaded {
        rows,
        info: header.info(path),
        indices,
        overflows,
    })
}

/// Write `rows` as a version-1.0, `<f4`, C-order `.npy` file.
pub fn write_f32(path: &Path, rows: &Rows) -> Result<()> {
    write_file(path, |w| {
        write_header(w, "<f4", &[rows.len(), rows.dim()])?;
        for &v in rows.as_slice() {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Write a version-1.0, C-order `.npy` header for `descr` (e.g. `|u1`, `<f4`) and `shape`;
/// the caller writes the data right after it.
pub fn write_header(w: &mut impl Write, descr: &str, shape: &[usize]) -> std::io::Result<()> {
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (6) + version (2) + header length (2) + dict + padding + '\n' ≡ 0 (mod 64).
    let unpadded = 10 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let header = format!("{dict}{}\n", " ".repeat(padding));
    let len = u16::try_from(header.len()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "npy header too long")
    })?;
    w.write_all(MAGIC)?;
    w.write_all(&[1, 0])?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(header.as_bytes())
}

/// Stats over the first `sample_rows` rows, when the array is loadable.
pub(crate) fn inspect(
    path: &Path,
    sample_rows: usize,
) -> Result<Vec<(TensorInfo, Option<RowStats>)>> {
    let src = Source::open(path)?;
    let header = Header::parse(&src)?;
    let stats = match header.loadable(path) {
        Ok((elem, [n_rows, dims])) => {
            let indices = RowSelection::First(sample_rows).resolve(n_rows);
            Some(row_stats(&header.gather(&src, elem, dims, &indices)?.rows))
        }
        Err(_) => None,
    };
    Ok(vec![(header.info(path), stats)])
}

/// A parsed, size-checked `.npy` header.
#[derive(Debug)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
    /// Offset of the first data byte.
    data_start: u64,
    /// Declared data size; `data_start + data_bytes <= file length`.
    data_bytes: u64,
}

impl Header {
    fn parse(src: &Source) -> Result<Header> {
        let path = src.path();
        let bad = |reason: String| bad(path, reason);
        let bytes = src.head(12)?;
        src.refuse_foreign(&bytes)?;
        if bytes.len() < 10 {
            return Err(bad(if bytes.is_empty() {
                crate::input::empty_reason(path)
            } else {
                format!("file has only {} bytes", bytes.len())
            }));
        }
        if bytes.get(..6) != Some(MAGIC.as_slice()) {
            return Err(bad("missing \\x93NUMPY magic; not an .npy file".to_string()));
        }
        let (major, minor) = (bytes[6], bytes[7]);
        let (header_len, header_start) = match major {
            1 => (u64::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
            2 | 3 => {
                let Some(len) = bytes.get(8..12).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
                    return Err(bad("file ends inside the header length".to_string()));
                };
                (u64::from(u32::from_le_bytes(len)), 12)
            }
            _ => return Err(bad(format!("unsupported format version {major}.{minor}"))),
        };
        if header_len > MAX_HEADER_BYTES {
            return Err(bad(format!(
                "header length {header_len} exceeds the {MAX_HEADER_BYTES}-byte cap (numpy \
                 itself refuses headers over 10000 bytes by default)"
            )));
        }
        let data_start = header_start + header_len;
        if data_start > src.len() {
            return Err(bad(format!(
                "header length {header_len} runs past the end of the file ({} bytes)",
                src.len()
            )));
        }
        // Both fit: header_len <= MAX_HEADER_BYTES and data_start <= the file length.
        let text = src.read_at(header_start, header_len as usize)?;
        let dict = match DictParser::new(&text).parse_header() {
            Ok(v) => v,
            Err(reason) => return Err(bad(format!("cannot parse header dict: {reason}"))),
        };
        let mut seen = std::collections::HashSet::new();
        if let Some((key, _)) = dict.iter().find(|(key, _)| !seen.insert(key.as_str())) {
            return Err(Error::DuplicateKey {
                path: path.to_path_buf(),
                format: FORMAT,
                key: key.clone(),
            });
        }
        let mut descr = None;
        let mut fortran_order = None;
        let mut shape = None;
        for (key, value) in dict {
            match (key.as_str(), value) {
                ("descr", Value::Str(s)) => descr = Some(s),
                ("descr", Value::List(fields)) => {
                    return Err(Error::UnsupportedDtype {
                        path: path.to_path_buf(),
                        tensor: file_tensor_name(path),
                        dtype: format!("structured dtype with {} fields", fields.len()),
                        supported: SUPPORTED,
                    });
                }
                ("fortran_order", Value::Bool(b)) => fortran_order = Some(b),
                ("shape", Value::Tuple(dims)) => {
                    let dims = dims
                        .into_iter()
                        .map(|d| match d {
                            Value::Int(n) => usize::try_from(n).ok(),
                            Value::Str(_) | Value::Bool(_) | Value::None => None,
                            Value::Tuple(_) | Value::List(_) | Value::Dict(_) => None,
                        })
                        .collect::<Option<Vec<usize>>>()
                        .ok_or_else(|| bad("'shape' must be a tuple of integers".to_string()))?;
                    shape = Some(dims);
                }
                ("descr" | "fortran_order" | "shape", other) => {
                    return Err(bad(format!("'{key}' has an unexpected value {other:?}")));
                }
                _ => {}
            }
        }
        let descr = descr.ok_or_else(|| bad("header has no 'descr'".to_string()))?;
        let fortran_order =
            fortran_order.ok_or_else(|| bad("header has no 'fortran_order'".to_string()))?;
        let shape = shape.ok_or_else(|| bad("header has no 'shape'".to_string()))?;
        let itemsize = itemsize(&descr).ok_or_else(|| Error::UnsupportedDtype {
            path: path.to_path_buf(),
            tensor: file_tensor_name(path),
            dtype: descr.clone(),
            supported: SUPPORTED,
        })?;
        let data_bytes = shape
            .iter()
            .try_fold(itemsize, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| {
                bad(format!(
                    "declared shape {shape:?} of '{descr}' overflows a 64-bit byte count"
                ))
            })?;
        let available = src.len() - data_start;
        if data_bytes > available {
            return Err(Error::Truncated {
                path: path.to_path_buf(),
                format: FORMAT,
                expected: data_bytes,
                actual: available,
            });
        }
        Ok(Header {
            descr,
            fortran_order,
            shape,
            data_start,
            data_bytes,
        })
    }

    fn info(&self, path: &Path) -> TensorInfo {
        TensorInfo {
            name: file_tensor_name(path),
            dtype: self.descr.clone(),
            shape: self.shape.clone(),
            bytes: self.data_bytes,
        }
    }

    /// The element type and `[rows, dims]`, or why [`load`] refuses the array.
    fn loadable(&self, path: &Path) -> Result<(Elem, [usize; 2])> {
        let elem = elem_of(&self.descr).ok_or_else(|| Error::UnsupportedDtype {
            path: path.to_path_buf(),
            tensor: file_tensor_name(path),
            dtype: self.descr.clone(),
            supported: SUPPORTED,
        })?;
        let shape = match *self.shape.as_slice() {
            [rows, dims] if dims > 0 => [rows, dims],
            _ => {
                return Err(Error::BadShape {
                    path: path.to_path_buf(),
                    tensor: file_tensor_name(path),
                    shape: self.shape.clone(),
                });
            }
        };
        Ok((elem, shape))
    }

    fn gather(&self, src: &Source, elem: Elem, dims: usize, indices: &[usize]) -> Result<Gathered> {
        if self.fortran_order {
            return self.gather_fortran(src, elem, dims, indices);
        }
        let layout = RowLayout {
            base: self.data_start,
            stride: dims.saturating_mul(elem.size()),
            skip: 0,
            dims,
            elem,
        };
        gather_rows(src, layout, indices, |_, _| Ok(()))
    }
}

impl Header {
    /// Fortran (column-major) order: element (i, j) of an `[n, d]` array sits at `j·n + i`.
    /// Read the selected rows' elements column by column (each column's selected elements in
    /// as few reads as their spacing allows) into C order, then convert as usual. Only the
    /// selected rows are touched; the header check already bounds every offset.
    fn gather_fortran(
        &self,
        src: &Source,
        elem: Elem,
        dims: usize,
        indices: &[usize],
    ) -> Result<Gathered> {
        let n_rows = self.shape.first().copied().unwrap_or(0) as u64;
        let size = elem.size();
        let mut buf = vec![0u8; indices.len().saturating_mul(dims).saturating_mul(size)];
        for j in 0..dims {
            let column = (j as u64)
                .checked_mul(n_rows)
                .and_then(|v| v.checked_mul(size as u64))
                .and_then(|v| v.checked_add(self.data_start))
                .ok_or_else(|| bad(src.path(), "data is smaller than the declared shape".into()))?;
            src.for_each_row(column, size as u64, size, indices, |k, b| {
                let at = (k * dims + j) * size;
                buf[at..at + size].copy_from_slice(b);
                Ok(())
            })?;
        }
        Ok(Gathered::decode_rows(&buf, dims, elem))
    }
}

/// The element encoding of a supported `descr`.
fn elem_of(descr: &str) -> Option<Elem> {
    let native_big = cfg!(target_endian = "big");
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<') => (Some(false), &descr[1..]),
        Some(b'>') => (Some(true), &descr[1..]),
        Some(b'=') => (Some(native_big), &descr[1..]),
        Some(b'|') => (None, &descr[1..]),
        _ => (Some(native_big), descr),
    };
    match (code, order) {
        ("u1", _) => Some(Elem::U8),
        ("f2", Some(big_endian)) => Some(Elem::F16 { big_endian }),
        ("f4", Some(big_endian)) => Some(Elem::F32 { big_endian }),
        ("f8", Some(big_endian)) => Some(Elem::F64 { big_endian }),
        _ => None,
    }
}

/// Bytes per element of a simple `descr` like `<f4`, `|u1`, `<c16`, `<U10`; `None` for
/// descriptors without a size (object arrays) or that do not parse.
fn itemsize(descr: &str) -> Option<u64> {
    let code = descr.strip_prefix(['<', '>', '=', '|']).unwrap_or(descr);
    let mut chars = code.chars();
    let kind = chars.next()?;
    let digits = chars.as_str();
    if !kind.is_ascii_alphabetic()
        || digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    // Unicode strings count characters of 4 bytes each.
    if kind == 'U' {
        n.checked_mul(4)
    } else {
        Some(n)
    }
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: FORMAT,
        reason,
    }
}

/// A Python literal as it appears in an `.npy` header.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    None,
    Int(u64),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(String, Value)>),
}

/// Headers longer than this are refused before they are read (numpy's own reader refuses
/// headers over 10000 bytes unless told otherwise).
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Nesting deeper than this is refused (headers nest at most a few levels).
const MAX_DEPTH: usize = 16;

/// A recursive-descent parser for the Python literals `.npy` headers use: dicts with string
/// keys, strings, ints, `True`/`False`/`None`, tuples and lists. Bounded depth, never panics.
struct DictParser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> DictParser<'a> {
    fn new(text: &'a [u8]) -> Self {
        DictParser { text, pos: 0 }
    }

    /// The header: one dict, then only padding (whitespace or NUL).
    fn parse_header(&mut self) -> std::result::Result<Vec<(String, Value)>, String> {
        self.skip_ws();
        let Value::Dict(entries) = self.value(0)? else {
            return Err("the header is not a dict".to_string());
        };
        self.skip_ws();
        match self.text.get(self.pos..) {
            Some(rest) if rest.iter().all(|b| b.is_ascii_whitespace() || *b == 0) => Ok(entries),
            _ => Err(format!(
                "unexpected text after the dict at byte {}",
                self.pos
            )),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> std::result::Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", byte as char, self.pos))
        }
    }

    fn value(&mut self, depth: usize) -> std::result::Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".to_string());
        }
        self.skip_ws();
        let Some(b) = self.peek() else {
            return Err("unexpected end of header".to_string());
        };
        match b {
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Value::Dict(entries));
                    }
                    let Value::Str(key) = self.value(depth + 1)? else {
                        return Err(format!("dict key before byte {} is not a string", self.pos));
                    };
                    self.expect(b':')?;
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                    if !self.separator(b'}')? {
                        return Ok(Value::Dict(entries));
                    }
                }
            }
            b'(' | b'[' => {
                let close = if b == b'(' { b')' } else { b']' };
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    if !self.separator(close)? {
                        break;
                    }
                }
                Ok(if b == b'(' {
                    Value::Tuple(items)
                } else {
                    Value::List(items)
                })
            }
            b'\'' | b'"' => self.string(),
            b'u' | b'b' if matches!(self.text.get(self.pos + 1), Some(b'\'' | b'"')) => {
                self.pos += 1;
                self.string()
            }
            b'0'..=b'9' => self.int(),
            b'-' => Err(format!("negative number at byte {}", self.pos)),
            _ => self.word(),
        }
    }

    /// After an item: `,` → `Ok(true)` (more may follow), the closing byte → `Ok(false)`.
    fn separator(&mut self, close: u8) -> std::result::Result<bool, String> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(format!(
                "expected ',' or '{}' at byte {}",
                close as char, self.pos
            )),
        }
    }

    fn string(&mut self) -> std::result::Result<Value, String> {
        let Some(quote) = self.peek() else {
            return Err("unexpected end of header".to_string());
        };
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string".to_string()),
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(escaped) = self.peek() else {
                        return Err("unterminated string".to_string());
                    };
                    out.push(escaped);
                    self.pos += 1;
                }
                Some(b) if b == quote => {
                    self.pos += 1;
                    return Ok(Value::Str(String::from_utf8_lossy(&out).into_owned()));
                }
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    fn int(&mut self) -> std::result::Result<Value, String> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| format!("integer at byte {start} overflows 64 bits"))?;
            self.pos += 1;
        }
        // Python 2 long suffix, as in `(3L, 4L)`.
        if matches!(self.peek(), Some(b'L' | b'l')) {
            self.pos += 1;
        }
        Ok(Value::Int(n))
    }

    fn word(&mut self) -> std::result::Result<Value, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        match self.text.get(start..self.pos) {
            Some(b"True") => Ok(Value::Bool(true)),
            Some(b"False") => Ok(Value::Bool(false)),
            Some(b"None") => Ok(Value::None),
            _ => Err(format!("unexpected token at byte {start}")),
        }
    }
}
