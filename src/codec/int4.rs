//! `int4`: symmetric absmax 4-bit quantization with one scale per group of coordinates (GGML
//! Q4_0-style) or per row (`../shared/reference/algorithms.md` §1.6).
//!
//! Code layout: `[scale_g: f32 LE] × n_groups` then the nibbles, two per byte (coordinate `2j`
//! in the low nibble), each `q + 8` with `q = round(x/scale_g)` in −7..7 and
//! `scale_g = max_{i∈g}|x_i|/7`. The scales are f32 (4 bytes each), counted in `code_bytes`.

use super::decl::{Capabilities, CodecDecl, CodecInfo, ParamInfo};
use super::elementwise::{Elementwise, decode_into};
use super::fields::{absmax, f32_at, put_f32};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Family, Grade, Scorer};
use crate::data::Rows;
use crate::error::Result;
use std::fmt;

/// How many coordinates share a scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Int4Group {
    /// One scale for the whole row.
    Row,
    /// One scale per `n` consecutive coordinates (the last group may be shorter).
    Size(usize),
}

impl fmt::Display for Int4Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Int4Group::Row => f.write_str("row"),
            Int4Group::Size(n) => write!(f, "{n}"),
        }
    }
}

/// Parameters of [`Int4Codec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Int4Params {
    /// Scale sharing.
    pub group: Int4Group,
}

impl Default for Int4Params {
    fn default() -> Self {
        Int4Params {
            group: Int4Group::Size(32),
        }
    }
}

impl Int4Params {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = Int4Params::default();
        if let Some(v) = raw.take("group") {
            p.group = if v == "row" {
                Int4Group::Row
            } else {
                match v.parse::<usize>() {
                    Ok(n) if n >= 1 => Int4Group::Size(n),
                    _ => return Err(raw.bad("group", &v, "`row` or an integer ≥ 1")),
                }
            };
        }
        Ok(p)
    }
}

impl fmt::Display for Int4Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "group={}", self.group)
    }
}

/// Group absmax int4.
#[derive(Debug, Clone)]
pub struct Int4Codec {
    params: Int4Params,
    dim: usize,
    group: usize,
    n_groups: usize,
}

impl Int4Codec {
    /// An int4 codec for rows of `dim` values.
    pub fn new(params: Int4Params, dim: usize) -> Self {
        let group = match params.group {
            Int4Group::Row => dim,
            Int4Group::Size(n) => n.min(dim),
        };
        Int4Codec {
            params,
            dim,
            group,
            n_groups: dim.div_ceil(group),
        }
    }

    fn scale(&self, code: &[u8], g: usize) -> f32 {
        f32_at(code, 4 * g)
    }

    /// The signed level of coordinate `i`, in −7..7 (−8 never occurs).
    fn level(&self, code: &[u8], i: usize) -> i32 {
        let byte = code[4 * self.n_groups + i / 2];
        let nib = if i.is_multiple_of(2) {
            byte & 0x0f
        } else {
            byte >> 4
        };
        nib as i32 - 8
    }
}

impl Elementwise for Int4Codec {
    /// scale_g·q_i for coordinate i in group g.
    fn values<'c>(&'c self, code: &'c [u8]) -> impl Iterator<Item = f32> + 'c {
        (0..self.dim).map(|i| self.scale(code, i / self.group) * self.level(code, i) as f32)
    }
}

struct Int4Scorer<'a> {
    codec: &'a Int4Codec,
    query: Vec<f32>,
}

impl Scorer for Int4Scorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        let c = self.codec;
        let mut total = 0f64;
        for g in 0..c.n_groups {
            let lo = g * c.group;
            let hi = (lo + c.group).min(c.dim);
            let s: f64 = (lo..hi)
                .map(|i| self.query[i] as f64 * c.level(code, i) as f64)
                .sum();
            total += s * c.scale(code, g) as f64;
        }
        total
    }
}

/// The `int4` declaration (see [`CodecDecl`]).
pub struct Int4Decl;

impl CodecDecl for Int4Decl {
    type Params = Int4Params;
    const INFO: CodecInfo = CodecInfo {
        name: "int4",
        summary: "symmetric absmax int4 (q in -7..7) per row or per group; ⌈d/2⌉ bytes + 4-byte f32 scale per group (GGML Q4_0 stores an f16 scale: 2 bytes less per 32-group, 18 vs 20)",
        reference: "GGML Q4_0-style group absmax (algorithms.md §1.6)",
        grade: Grade::Reconstruction,
        family: Family::Scalar,
        params: &[ParamInfo {
            key: "group",
            values: "row | integer ≥ 1",
            default: "32",
            doc: "coordinates sharing one scale; `row` = one scale for the whole row",
        }],
    };
    fn parse(raw: &mut RawParams) -> Result<Int4Params> {
        Int4Params::from_raw(raw)
    }
    fn fit(p: &Int4Params, train: &Rows, _seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(Int4Codec::new(*p, train.dim())))
    }
    fn capabilities(_: &Int4Params) -> Capabilities {
        Capabilities::RECONSTRUCTION
    }
}

impl Codec for Int4Codec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Int4(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        4 * self.n_groups + self.dim.div_ceil(2)
    }
    fn model_bytes(&self) -> usize {
        0
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        out.fill(0);
        let (scales, nibbles) = out.split_at_mut(4 * self.n_groups);
        for g in 0..self.n_groups {
            let lo = g * self.group;
            let hi = (lo + self.group).min(self.dim);
            let scale = absmax(&row[lo..hi]) / 7.0;
            put_f32(scales, 4 * g, scale);
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            for (i, &x) in row.iter().enumerate().take(hi).skip(lo) {
                let q = (x * inv).round().clamp(-7.0, 7.0) as i32;
                let nib = (q + 8) as u8;
                nibbles[i / 2] |= if i % 2 == 0 { nib } else { nib << 4 };
            }
        }
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        decode_into(self, code, out);
        Ok(())
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        Box::new(Int4Scorer {
            codec: self,
            query: query.to_vec(),
        })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        let mut total = 0f64;
        for g in 0..self.n_groups {
            let lo = g * self.group;
            let hi = (lo + self.group).min(self.dim);
            let dot: i64 = (lo..hi)
                .map(|i| (self.level(a, i) * self.level(b, i)) as i64)
                .sum();
            total += dot as f64 * self.scale(a, g) as f64 * self.scale(b, g) as f64;
        }
        Ok(total)
    }
}
