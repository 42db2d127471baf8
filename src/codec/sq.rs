// Method: FAISS `ScalarQuantizer` QT_8bit / QT_4bit (per-dimension affine min/max trained on
// the data; `faiss/impl/ScalarQuantizer.cpp`), and qdrant's scalar quantization with a
// quantile clip (`quantile: 0.99`). See `../shared/reference/algorithms.md` §1.6.

//! `sq`: trained per-dimension affine scalar quantizer.
//!
//! Fit: for every dimension j, `lo_j`/`hi_j` = min/max of the training rows (`clip=none`), or
//! the `(1−c)/2` and `(1+c)/2` quantiles of that dimension (`clip=c`, both tails cut equally,
//! values outside are clamped). `step_j = (hi_j − lo_j)/(2^b − 1)`.
//! Encode: `q_j = clamp(round((x_j − lo_j)/step_j), 0, 2^b − 1)`; decode `x̂_j = lo_j + q_j·step_j`.
//! For an in-range value the error is at most `step_j/2 = (hi_j − lo_j)/(2·(2^b−1))`, i.e.
//! range/510 at 8 bits (FAISS's SQ8 bound). A dimension that is constant on the training rows
//! has step 0 and decodes to that constant.
//!
//! Bytes: code = ⌈b·d/8⌉ (no per-row side scalar); model = 8·d (lo and step as f32).
//! The zero row decodes to the nearest grid point of each dimension, not to exactly zero.

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, ZeroRow, bytes, total,
};
use super::elementwise::{Elementwise, decode_into, decoded_pair};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Codes, Family, Grade, Scorer, encode_blocks};
use crate::data::Rows;
use crate::error::Result;
use crate::linalg::{bits, scan};
use std::fmt;

/// Quantile clip of [`SqParams`] in units of 1e-4 (`None` = min/max).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SqParams {
    /// Bits per dimension (1..=8).
    pub bits: u32,
    /// Central fraction kept per dimension, in 1e-4 units (e.g. 9900 = 0.99); `None` = min/max.
    pub clip: Option<u32>,
}

impl SqParams {
    /// `bits` per dimension, min/max range.
    pub fn new(bits: u32) -> Self {
        SqParams { bits, clip: None }
    }

    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = SqParams::new(8);
        if let Some(v) = raw.take("bits") {
            p.bits = match v.parse::<u32>() {
                Ok(b) if (1..=8).contains(&b) => b,
                _ => return Err(raw.bad("bits", &v, "an integer in 1..=8")),
            };
        }
        if let Some(v) = raw.take("clip") {
            p.clip = if v == "none" {
                None
            } else {
                let units = v.parse::<f64>().ok().map(|c| (c * 1e4).round());
                match units {
                    Some(u)
                        if (5000.0..=10000.0).contains(&u)
                            && (u / 1e4 - v.parse::<f64>().unwrap()).abs() < 1e-9 =>
                    {
                        Some(u as u32)
                    }
                    _ => {
                        return Err(raw.bad(
                            "clip",
                            &v,
                            "`none` or a kept fraction in [0.5, 1] with at most 4 decimals",
                        ));
                    }
                }
            };
        }
        Ok(p)
    }
}

impl fmt::Display for SqParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bits={},clip=", self.bits)?;
        match self.clip {
            None => f.write_str("none"),
            Some(u) => write!(f, "{}", u as f64 / 1e4),
        }
    }
}

/// Trained per-dimension affine scalar quantizer.
#[derive(Debug, Clone)]
pub struct SqCodec {
    params: SqParams,
    dim: usize,
    lo: Vec<f32>,
    step: Vec<f32>,
}

/// Value at fraction `t ∈ [0, 1]` of sorted `v` (linear interpolation between order statistics).
fn quantile(v: &[f32], t: f64) -> f32 {
    let pos = t * (v.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    let j = (i + 1).min(v.len() - 1);
    (v[i] as f64 * (1.0 - frac) + v[j] as f64 * frac) as f32
}

impl SqCodec {
    /// Fit the per-dimension ranges on `train` (an empty training set gives range [0, 0]).
    pub fn fit(params: &SqParams, train: &Rows) -> Self {
        let d = train.dim();
        let levels = ((1u32 << params.bits) - 1) as f64;
        let mut lo = vec![0f32; d];
        let mut step = vec![0f32; d];
        let mut col = Vec::with_capacity(train.len());
        for j in 0..d {
            col.clear();
            col.extend(train.iter().map(|r| r[j]).filter(|v| v.is_finite()));
            if col.is_empty() {
                continue;
            }
            col.sort_by(f32::total_cmp);
            let (a, b) = match params.clip {
                None => (col[0], col[col.len() - 1]),
                Some(u) => {
                    let c = u as f64 / 1e4;
                    (
                        quantile(&col, (1.0 - c) / 2.0),
                        quantile(&col, (1.0 + c) / 2.0),
                    )
                }
            };
            lo[j] = a;
            step[j] = ((b as f64 - a as f64) / levels) as f32;
        }
        SqCodec {
            params: *params,
            dim: d,
            lo,
            step,
        }
    }

    /// Lower end of each dimension's range.
    pub fn lo(&self) -> &[f32] {
        &self.lo
    }

    /// Quantization step of each dimension.
    pub fn step(&self) -> &[f32] {
        &self.step
    }

    #[inline]
    fn value(&self, j: usize, q: u8) -> f32 {
        self.lo[j] + q as f32 * self.step[j]
    }

    fn levels(&self, code: &[u8]) -> Vec<u8> {
        let mut q = vec![0u8; self.dim];
        bits::unpack(code, self.params.bits, &mut q);
        q
    }
}

impl Elementwise for SqCodec {
    /// lo_j + q_j·step_j.
    fn values<'c>(&'c self, code: &'c [u8]) -> impl Iterator<Item = f32> + 'c {
        let q = self.levels(code);
        (0..self.dim).map(move |j| self.value(j, q[j]))
    }
}

struct SqScorer<'a> {
    codec: &'a SqCodec,
    /// y_j·step_j in f32 (the level weights).
    qstep: Vec<f32>,
    /// Σ_j y_j·lo_j in f64 (the offset every code shares).
    offset: f64,
}

impl SqScorer<'_> {
    /// ⟨y, x̂⟩ with x̂_j = lo_j + k_j·step_j, folded per query as Σ_j y_j·lo_j (f64, once) +
    /// Σ_j (y_j·step_j)·k_j — one f32 weight and one code byte per dimension, as the int8 scan
    /// reads them: [`scan::dot_u8`] for 8 bits, [`scan::dot_u4`] for 4 (AVX2 when available,
    /// bit-identical to their scalar references), the same fixed order with [`bits::get`] for
    /// other widths. Against the f64 ⟨y, decode(code)⟩ this errs by at most
    /// (d + 3)·2⁻²⁴·Σ_j |y_j|·(|lo_j| + |x̂_j − lo_j|) (the f32 sum of d level terms, the f32
    /// rounding of y_j·step_j, and the f32 rounding of x̂_j in decode).
    #[inline]
    fn estimate_one(&self, code: &[u8]) -> f64 {
        let w = &self.qstep;
        let s = match self.codec.params.bits {
            8 => scan::dot_u8(w, code),
            4 => scan::dot_u4(w, code),
            b => scan::lanes32_sum(w.len(), |j| w[j] * bits::get(code, b, j) as f32),
        };
        self.offset + s as f64
    }
}

impl Scorer for SqScorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        self.estimate_one(code)
    }
}

/// `q_j = clamp(round((x_j − lo_j)/step_j), 0, 2^b − 1)` (0 where step_j = 0), with `round`
/// half away from zero as [`f32::round`] — computed as floor(t) + [t − floor(t) ≥ ½] for t ≥ 0
/// (the fraction is exact in f32) and 0 for t < 0 (which rounds to ≤ 0 and clamps to 0), so it
/// vectorises (AVX2 when available: the same IEEE operations, so the same codes;
/// [`quantize_scalar`] is the reference).
pub fn quantize(row: &[f32], lo: &[f32], step: &[f32], bits: u32, q: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if crate::linalg::simd::avx2_available() {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { quantize_avx2(row, lo, step, bits, q) };
    }
    quantize_body(row, lo, step, bits, q)
}

/// The plain formula [`quantize`] must reproduce code for code.
pub fn quantize_scalar(row: &[f32], lo: &[f32], step: &[f32], bits: u32, q: &mut [u8]) {
    let top = ((1u32 << bits) - 1) as f32;
    for (((o, &x), &l), &s) in q.iter_mut().zip(row).zip(lo).zip(step) {
        *o = if s > 0.0 {
            ((x - l) / s).round().clamp(0.0, top) as u8
        } else {
            0
        };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn quantize_avx2(row: &[f32], lo: &[f32], step: &[f32], bits: u32, q: &mut [u8]) {
    quantize_body(row, lo, step, bits, q)
}

#[inline(always)]
fn quantize_body(row: &[f32], lo: &[f32], step: &[f32], bits: u32, q: &mut [u8]) {
    let top = ((1u32 << bits) - 1) as f32;
    for (((o, &x), &l), &s) in q.iter_mut().zip(row).zip(lo).zip(step) {
        let t = (x - l) / s;
        let f = t.floor();
        let r = f + if t - f >= 0.5 { 1.0 } else { 0.0 };
        let v = if s > 0.0 && t >= 0.0 { r.min(top) } else { 0.0 };
        // v is an integer in [0, 255]: through i32 (a vector conversion) rather than a
        // saturating cast to u8 (which does not vectorise).
        *o = v as i32 as u8;
    }
}

/// The `sq` declaration (see [`CodecDecl`]).
pub struct SqDecl;

impl CodecDecl for SqDecl {
    type Params = SqParams;
    const INFO: CodecInfo = CodecInfo {
        name: "sq",
        summary: "trained per-dimension affine scalar quantizer: lo/step per dimension from the training rows' min/max or a central quantile range; ⌈b·d/8⌉ bytes, no per-row scalar; model 8·d bytes (bits=8 / 4 = FAISS SQ8 / SQ4 byte for byte, per row and in the 8·d trained ranges)",
        reference: "FAISS ScalarQuantizer QT_8bit/QT_4bit; qdrant scalar quantization quantile (algorithms.md §1.6)",
        grade: Grade::Reconstruction,
        family: Family::Scalar,
        params: &[
            ParamInfo {
                key: "bits",
                values: "1..=8",
                default: "8",
                doc: "bits per dimension",
            },
            ParamInfo {
                key: "clip",
                values: "none | fraction in [0.5, 1]",
                default: "none",
                doc: "per-dimension range: min/max, or the central quantile range keeping this fraction (values outside clamp)",
            },
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<SqParams> {
        SqParams::from_raw(raw)
    }
    fn fit(p: &SqParams, train: &Rows, _seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(SqCodec::fit(p, train)))
    }
    fn capabilities(_: &SqParams) -> Capabilities {
        Capabilities {
            zero_row: ZeroRow::Trained,
            ..Capabilities::RECONSTRUCTION
        }
    }
    /// Two f32 values per dimension and one sorted column of the training rows at a time.
    fn fit_bytes(_: &SqParams, train_rows: usize, dim: usize) -> u64 {
        total(&[FIT_BYTES_FIXED, bytes(dim, 16), bytes(train_rows, 4)])
    }
}

impl Codec for SqCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Sq(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        bits::packed_len(self.dim, self.params.bits).max(1)
    }
    fn model_bytes(&self) -> usize {
        8 * self.dim
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        let mut q = vec![0u8; self.dim];
        quantize(row, &self.lo, &self.step, self.params.bits, &mut q);
        bits::pack(&q, self.params.bits, out);
    }
    fn encode_all(&self, rows: &Rows) -> Codes {
        encode_blocks(rows, self.code_bytes(), |block, out| {
            let mut q = vec![0u8; self.dim];
            for (row, code) in block
                .chunks_exact(self.dim.max(1))
                .zip(out.chunks_exact_mut(self.code_bytes()))
            {
                quantize(row, &self.lo, &self.step, self.params.bits, &mut q);
                bits::pack(&q, self.params.bits, code);
            }
        })
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        decode_into(self, code, out);
        Ok(())
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        Box::new(SqScorer {
            codec: self,
            qstep: query.iter().zip(&self.step).map(|(&y, &s)| y * s).collect(),
            offset: query
                .iter()
                .zip(&self.lo)
                .map(|(&y, &l)| y as f64 * l as f64)
                .sum(),
        })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        Ok(decoded_pair(self, a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn the_vectorised_quantizer_equals_the_plain_formula_code_for_code() {
        let mut rng = crate::linalg::seeded_rng(31, 1);
        for bits in [1u32, 2, 4, 7, 8] {
            let d = 203;
            let lo: Vec<f32> = (0..d).map(|_| rng.random_range(-2.0f32..0.0)).collect();
            let mut step: Vec<f32> = (0..d)
                .map(|_| rng.random_range(0.0f32..0.1) / ((1u32 << bits) as f32))
                .collect();
            step[0] = 0.0;
            step[1] = f32::MIN_POSITIVE / 4.0; // subnormal step: huge quotients
            for _ in 0..50 {
                let mut row: Vec<f32> = (0..d).map(|_| rng.random_range(-3.0f32..3.0)).collect();
                // Exact ties: t = k + ½ and t = −½, and values far outside the range.
                row[2] = lo[2] + 2.5 * step[2];
                row[3] = lo[3] - 0.5 * step[3];
                row[4] = lo[4] + 0.49999997 * step[4];
                row[5] = 1e30;
                row[6] = -1e30;
                row[7] = -0.0;
                let (mut a, mut b) = (vec![0u8; d], vec![9u8; d]);
                quantize_scalar(&row, &lo, &step, bits, &mut a);
                quantize(&row, &lo, &step, bits, &mut b);
                assert_eq!(a, b, "bits={bits}");
                b.fill(9);
                quantize_body(&row, &lo, &step, bits, &mut b);
                assert_eq!(a, b, "bits={bits} (unvectorised body)");
            }
        }
    }
}
