// Source: the origin's Base17 "golden-step fold", `crates/bgz-tensor/src/projection.rs` in
// lance-graph PR #189 (`../shared/reference/origin.md` §1.1): GOLDEN_POS[i] = 11·i mod 17,
// bucket means over the ⌈n/17⌉ octaves, fixed-point i16 with FP_SCALE = 256, L1 / 17-d cosine.

//! `base17`: the origin's 17-dim fold, faithful and repaired.
//!
//! Base dim `b` (b = 0..16) is the mean of the row's coordinates at positions
//! `oct·17 + GOLDEN_POS[b]` over every octave `oct` that has such a position (< d); the mean
//! divides by the number of coordinates actually summed. Because GOLDEN_POS is a permutation,
//! this is a fixed 0/1 averaging projection R^d → R^17 (origin.md §1.1, [INFERRED]).
//!
//! - `scale=fixed` (faithful): `dims[b] = clamp(round(256·mean_b), i16)`; 34 bytes per row.
//!   For weight rows (std ≈ 0.02–0.05, ~60 coordinates per bucket) most integers fall in
//!   −3..3, so the code is very coarse: this is the flaw the report should show.
//! - `scale=row` (repaired): per-row scale `s = max_b |mean_b| / 32767` stored as f32;
//!   `dims[b] = round(mean_b / s)`; 4 + 34 = 38 bytes per row.
//!
//! Scoring (signature grade, no decode): the query is folded and coded the same way and
//! compared to the row's code, as the origin compared two codes.
//! - `score=l1`: the estimate is `−Σ_b |a_b − b_b|` in stored integer units (fixed) or in
//!   value units (row); larger means more similar, so only rank metrics are meaningful.
//! - `score=cos`: the 17-d cosine of the two codes (a score in [−1, 1], not an inner product).
//!
//! Bytes: code = 34 (fixed) or 38 (row); model = 0.

use super::decl::{Capabilities, CodecDecl, CodecInfo, ParamInfo};
use super::fields::{f32_at, put_f32};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Family, Grade, Scorer};
use crate::data::Rows;
use crate::error::Result;
use std::fmt;

/// `GOLDEN_POS[i] = (11·i) mod 17`.
pub const GOLDEN_POS: [usize; 17] = {
    let mut p = [0usize; 17];
    let mut i = 0;
    while i < 17 {
        p[i] = (i * 11) % 17;
        i += 1;
    }
    p
};

/// The origin's fixed-point scale.
pub const FP_SCALE: f64 = 256.0;

/// Parameters of [`Base17Codec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Base17Params {
    /// Per-row adaptive scale (repaired) instead of the fixed ×256.
    pub row_scale: bool,
    /// Cosine instead of L1.
    pub cosine: bool,
}

impl Base17Params {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = Base17Params::default();
        if let Some(v) = raw.take("scale") {
            p.row_scale = match v.as_str() {
                "fixed" => false,
                "row" => true,
                _ => return Err(raw.bad("scale", &v, "fixed | row")),
            };
        }
        if let Some(v) = raw.take("score") {
            p.cosine = match v.as_str() {
                "l1" => false,
                "cos" => true,
                _ => return Err(raw.bad("score", &v, "l1 | cos")),
            };
        }
        Ok(p)
    }
}

impl fmt::Display for Base17Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scale={},score={}",
            if self.row_scale { "row" } else { "fixed" },
            if self.cosine { "cos" } else { "l1" }
        )
    }
}

/// The 17 bucket means of a row (f64).
pub fn fold(row: &[f32]) -> [f64; 17] {
    let mut sum = [0f64; 17];
    let mut cnt = [0usize; 17];
    for oct in 0..row.len().div_ceil(17) {
        for (b, &g) in GOLDEN_POS.iter().enumerate() {
            if let Some(&x) = row.get(oct * 17 + g) {
                sum[b] += x as f64;
                cnt[b] += 1;
            }
        }
    }
    let mut out = [0f64; 17];
    for b in 0..17 {
        if cnt[b] > 0 {
            out[b] = sum[b] / cnt[b] as f64;
        }
    }
    out
}

/// Base17, faithful or repaired.
#[derive(Debug, Clone)]
pub struct Base17Codec {
    params: Base17Params,
    dim: usize,
}

impl Base17Codec {
    /// A codec for rows of `dim` values.
    pub fn new(params: &Base17Params, dim: usize) -> Self {
        Base17Codec {
            params: *params,
            dim,
        }
    }

    fn head(&self) -> usize {
        if self.params.row_scale { 4 } else { 0 }
    }

    /// The stored integers of a code.
    pub fn dims(&self, code: &[u8]) -> [i16; 17] {
        let mut d = [0i16; 17];
        for (b, v) in d.iter_mut().enumerate() {
            let o = self.head() + 2 * b;
            *v = i16::from_le_bytes([code[o], code[o + 1]]);
        }
        d
    }

    /// The code's 17 values in value units (integer × scale; fixed: /256).
    pub fn values(&self, code: &[u8]) -> [f64; 17] {
        let s = if self.params.row_scale {
            f32_at(code, 0) as f64
        } else {
            1.0 / FP_SCALE
        };
        self.dims(code).map(|v| v as f64 * s)
    }

    fn score(&self, a: &[u8], b: &[u8]) -> f64 {
        // L1 in stored units for the faithful mode (the origin's u32 L1), value units otherwise.
        let (va, vb) = if self.params.row_scale || self.params.cosine {
            (self.values(a), self.values(b))
        } else {
            (
                self.dims(a).map(|v| v as f64),
                self.dims(b).map(|v| v as f64),
            )
        };
        if self.params.cosine {
            let dot: f64 = va.iter().zip(&vb).map(|(x, y)| x * y).sum();
            let na: f64 = va.iter().map(|x| x * x).sum::<f64>().sqrt();
            let nb: f64 = vb.iter().map(|x| x * x).sum::<f64>().sqrt();
            if na > 0.0 && nb > 0.0 {
                dot / (na * nb)
            } else {
                0.0
            }
        } else {
            -va.iter().zip(&vb).map(|(x, y)| (x - y).abs()).sum::<f64>()
        }
    }
}

struct Base17Scorer<'a> {
    codec: &'a Base17Codec,
    query: Vec<u8>,
}

impl Scorer for Base17Scorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        self.codec.score(&self.query, code)
    }
}

/// The `base17` declaration (see [`CodecDecl`]).
pub struct Base17Decl;

impl CodecDecl for Base17Decl {
    type Params = Base17Params;
    const INFO: CodecInfo = CodecInfo {
        name: "base17",
        summary: "the origin's golden-step fold to 17 bucket means; scale=fixed: i16 of ×256 (faithful, 34 bytes), scale=row: per-row f32 scale + i16 (repaired, 38 bytes); L1 or 17-d cosine of two codes; no decode",
        reference: "origin lance-graph PR #189 crates/bgz-tensor/src/projection.rs (origin.md §1.1)",
        grade: Grade::Signature,
        family: Family::Signature,
        params: &[
            ParamInfo {
                key: "scale",
                values: "fixed | row",
                default: "fixed",
                doc: "fixed FP_SCALE 256 (the origin) or a per-row adaptive scale",
            },
            ParamInfo {
                key: "score",
                values: "l1 | cos",
                default: "l1",
                doc: "negated L1 between codes, or their 17-d cosine (rank metrics only)",
            },
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<Base17Params> {
        Base17Params::from_raw(raw)
    }
    fn fit(p: &Base17Params, train: &Rows, _seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(Base17Codec::new(p, train.dim())))
    }
    fn capabilities(_: &Base17Params) -> Capabilities {
        Capabilities::SIGNATURE
    }
}

impl Codec for Base17Codec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Base17(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        self.head() + 34
    }
    fn model_bytes(&self) -> usize {
        0
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        let m = fold(row);
        let inv = if self.params.row_scale {
            let amax = m.iter().fold(0f64, |a, &x| a.max(x.abs()));
            let s = (amax / 32767.0) as f32;
            put_f32(out, 0, s);
            if s > 0.0 { 1.0 / s as f64 } else { 0.0 }
        } else {
            FP_SCALE
        };
        let h = self.head();
        for (b, &x) in m.iter().enumerate() {
            let q = (x * inv).round().clamp(i16::MIN as f64, i16::MAX as f64) as i16;
            out[h + 2 * b..h + 2 * b + 2].copy_from_slice(&q.to_le_bytes());
        }
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        let mut q = vec![0u8; self.code_bytes()];
        self.encode(query, &mut q);
        Box::new(Base17Scorer {
            codec: self,
            query: q,
        })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        Ok(self.score(a, b))
    }
}
