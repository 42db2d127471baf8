//! The `.safetensors` header, parsed and checked here rather than by the `safetensors` crate, so
//! that every refusal names the file and the tensor: the length prefix is capped (the reference
//! implementation's 100,000,000 bytes) before anything is read; the JSON is read once, straight
//! into compact entries (no `serde_json::Value` tree, no second parse), with the same tensor
//! name twice refused — JSON parsers disagree on which duplicate wins; every tensor's dtype,
//! shape and byte span must agree; and the tensors must tile the data section exactly, as the
//! reference requires.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use super::source::Source;
use crate::error::{Error, Result};

const FORMAT: &str = "safetensors";

/// The reference implementation's cap on the header length (`safetensors::tensor`
/// `MAX_HEADER_SIZE`); checked before the header is read.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The key of the free-form metadata entry, which is not a tensor.
const METADATA_KEY: &str = "__metadata__";

/// Every dtype the format defines (safetensors 0.6) with its size in bits.
const DTYPES: &[(&str, u64)] = &[
    ("BOOL", 8),
    ("F4", 4),
    ("F6_E2M3", 6),
    ("F6_E3M2", 6),
    ("U8", 8),
    ("I8", 8),
    ("F8_E5M2", 8),
    ("F8_E4M3", 8),
    ("F8_E8M0", 8),
    ("I16", 16),
    ("U16", 16),
    ("F16", 16),
    ("BF16", 16),
    ("I32", 32),
    ("U32", 32),
    ("F32", 32),
    ("F64", 64),
    ("I64", 64),
    ("U64", 64),
];

/// One tensor's header entry, checked: its bytes are `data_start + start .. data_start + end`.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: String,
    /// One of [`DTYPES`]' names.
    pub(crate) dtype: &'static str,
    pub(crate) shape: Vec<usize>,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// A checked header: tensors sorted by name (unique), and where the data section starts.
#[derive(Debug)]
pub(crate) struct Header {
    /// Offset of the data section in the file (8 + header length).
    pub(crate) data_start: u64,
    pub(crate) tensors: Vec<Entry>,
}

impl Header {
    /// Read and check the header of `src`.
    pub(crate) fn read(src: &Source) -> Result<Header> {
        let path = src.path();
        let bad = |reason: String| bad(path, reason);
        let head = src.head(8)?;
        src.refuse_foreign(&head)?;
        let Ok(prefix) = <[u8; 8]>::try_from(head.as_slice()) else {
            return Err(bad(if head.is_empty() {
                crate::input::empty_reason(path)
            } else {
                format!(
                    "file has {} bytes, less than the 8-byte header length",
                    head.len()
                )
            }));
        };
        let header_len = u64::from_le_bytes(prefix);
        if header_len > MAX_HEADER_BYTES {
            return Err(bad(format!(
                "header length {header_len} exceeds the cap of {MAX_HEADER_BYTES} bytes (the \
                 safetensors reference implementation's limit)"
            )));
        }
        let after_prefix = src.len() - 8;
        if header_len > after_prefix {
            return Err(bad(format!(
                "header length {header_len} runs past the end of the file ({after_prefix} bytes \
                 follow the length prefix)"
            )));
        }
        // header_len <= MAX_HEADER_BYTES, so it fits in usize and the read is bounded.
        let text = src.read_at(8, header_len as usize)?;
        let text = std::str::from_utf8(&text).map_err(|e| {
            bad(format!(
                "header is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        let Entries(raw) = serde_json::from_str(text)
            .map_err(|e| bad(format!("cannot parse the header JSON: {e}")))?;
        let mut tensors = Vec::with_capacity(raw.len());
        let mut metadata = 0;
        for (name, value) in raw {
            match value {
                Value::Metadata => metadata += 1,
                Value::Tensor(info) => tensors.push(info.check(path, name)?),
            }
        }
        if metadata > 1 {
            return Err(duplicate(path, METADATA_KEY));
        }
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = tensors.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(duplicate(path, &w[0].name));
        }
        let data_len = after_prefix - header_len;
        check_tiling(path, &tensors, data_len)?;
        Ok(Header {
            data_start: 8 + header_len,
            tensors,
        })
    }

    /// The entry of tensor `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        self.tensors
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tensors[i])
    }
}

/// The tensors' spans must lie inside the data section (else the file was cut short), and
/// tile it exactly: back to back from byte 0, no gaps, no overlaps, nothing after.
fn check_tiling(path: &std::path::Path, tensors: &[Entry], data_len: u64) -> Result<()> {
    let declared_end = tensors.iter().map(|e| e.end).max().unwrap_or(0);
    if declared_end > data_len {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            format: FORMAT,
            expected: declared_end,
            actual: data_len,
        });
    }
    let mut order: Vec<&Entry> = tensors.iter().collect();
    order.sort_by_key(|e| (e.start, e.end));
    let mut at = 0u64;
    let mut previous: Option<&str> = None;
    for e in order {
        if e.start != at {
            let after = previous.map_or("the start of the data".to_string(), |p| {
                format!("tensor '{p}', which ends at byte {at}")
            });
            let how = if e.start > at { "a gap" } else { "an overlap" };
            return Err(bad(
                path,
                format!(
                    "tensor '{}' starts at data byte {}, after {after}: {how} (tensors must be \
                     stored back to back)",
                    e.name, e.start
                ),
            ));
        }
        at = e.end;
        previous = Some(&e.name);
    }
    if at != data_len {
        return Err(bad(
            path,
            format!(
                "the data section has {data_len} bytes but the tensors cover {at}; {} bytes \
                 belong to no tensor",
                data_len - at
            ),
        ));
    }
    Ok(())
}

/// A tensor entry as the JSON gives it.
#[derive(Deserialize)]
struct RawInfo {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (u64, u64),
}

impl RawInfo {
    /// Check that the dtype is known and the span holds exactly `shape` of it.
    fn check(self, path: &std::path::Path, name: String) -> Result<Entry> {
        let bad_tensor = |reason: String| bad(path, format!("tensor '{name}' {reason}"));
        let Some(&(dtype, bits)) = DTYPES.iter().find(|(d, _)| *d == self.dtype) else {
            return Err(bad_tensor(format!(
                "has unknown dtype '{}'; the format defines {}",
                self.dtype,
                DTYPES
                    .iter()
                    .map(|(d, _)| *d)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let (start, end) = self.data_offsets;
        if end < start {
            return Err(bad_tensor(format!(
                "has data_offsets [{start}, {end}], which end before they start"
            )));
        }
        let elements = self
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        let Some(size_bits) = elements.and_then(|n| n.checked_mul(bits)) else {
            return Err(bad_tensor(format!(
                "has shape {:?} of {dtype}, whose size overflows a 64-bit count",
                self.shape
            )));
        };
        if size_bits % 8 != 0 {
            return Err(bad_tensor(format!(
                "has shape {:?} of {dtype} ({bits}-bit elements): {size_bits} bits is not a whole \
                 number of bytes",
                self.shape
            )));
        }
        if end - start != size_bits / 8 {
            return Err(bad_tensor(format!(
                "has shape {:?} of {dtype}, which needs {} bytes, but its data_offsets [{start}, \
                 {end}] span {}",
                self.shape,
                size_bits / 8,
                end - start
            )));
        }
        Ok(Entry {
            name,
            dtype,
            shape: self.shape,
            start,
            end,
        })
    }
}

/// A top-level header value: the metadata entry or a tensor.
enum Value {
    Metadata,
    Tensor(RawInfo),
}

/// The header object's entries in file order, duplicates kept (a map would keep only one).
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of tensor entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Entries, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = if key == METADATA_KEY {
                map.next_value::<IgnoredAny>()?;
                Value::Metadata
            } else {
                let info = map
                    .next_value::<RawInfo>()
                    .map_err(|e| de::Error::custom(format_args!("tensor '{key}': {e}")))?;
                Value::Tensor(info)
            };
            out.push((key, value));
        }
        Ok(Entries(out))
    }
}

fn duplicate(path: &std::path::Path, key: &str) -> Error {
    Error::DuplicateKey {
        path: path.to_path_buf(),
        format: FORMAT,
        key: key.to_string(),
    }
}

fn bad(path: &std::path::Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: FORMAT,
        reason,
    }
}
