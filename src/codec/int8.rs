//! `int8`: per-row symmetric absmax quantization, the honest scalar baseline
//! (`../shared/reference/algorithms.md` §1.6; the scale is per row, never a fixed ×127 of a
//! normalised row, which would waste most of the code range).
//!
//! Code layout: `[scale: f32 LE][q_0 … q_{d-1}: i8]` with `scale = max|x|/127`,
//! `q_i = round(x_i/scale)` clamped to ±127, and `x̂_i = scale·q_i`. A zero row stores scale 0.

use super::decl::{Capabilities, CodecInfo, PlainDecl};
use super::elementwise::{Elementwise, decode_into};
use super::fields::{absmax, f32_at, put_f32};
use super::{Codec, CodecSpec, Family, Grade, Scorer};
use crate::error::Result;
use crate::linalg::scan;

/// Per-row absmax int8.
#[derive(Debug, Clone)]
pub struct Int8Codec {
    dim: usize,
}

impl Int8Codec {
    /// An int8 codec for rows of `dim` values.
    pub fn new(dim: usize) -> Self {
        Int8Codec { dim }
    }
}

fn scale_of(code: &[u8]) -> f32 {
    f32_at(code, 0)
}

impl Elementwise for Int8Codec {
    /// scale·q_i.
    fn values<'c>(&'c self, code: &'c [u8]) -> impl Iterator<Item = f32> + 'c {
        let scale = scale_of(code);
        code[4..].iter().map(move |&c| scale * (c as i8) as f32)
    }
}

struct Int8Scorer {
    query: Vec<f32>,
}

impl Scorer for Int8Scorer {
    /// `scale · Σ q_i c_i` with the sum in f32 by [`scan::dot_i8`] (fixed lane order, AVX2 when
    /// available, bit-identical to its scalar reference); within
    /// [`crate::linalg::scan`]'s stated bound of the f64 sum.
    fn estimate(&self, code: &[u8]) -> f64 {
        scan::dot_i8(&self.query, &code[4..]) as f64 * scale_of(code) as f64
    }
}

/// The `int8` declaration (see [`PlainDecl`]).
pub struct Int8Decl;

impl PlainDecl for Int8Decl {
    const INFO: CodecInfo = CodecInfo {
        name: "int8",
        summary: "per-row symmetric absmax int8 (q = round(127·x/max|x|)); d bytes + 4-byte f32 scale (no FAISS peer: its SQ8 is the per-dimension `sq`)",
        reference: "LLM.int8 / Q8 per-row absmax (algorithms.md §1.6)",
        grade: Grade::Reconstruction,
        family: Family::Scalar,
        params: &[],
    };
    const CAPABILITIES: Capabilities = Capabilities::RECONSTRUCTION;
    fn build(dim: usize) -> Box<dyn Codec> {
        Box::new(Int8Codec::new(dim))
    }
}

impl Codec for Int8Codec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Int8
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        4 + self.dim
    }
    fn model_bytes(&self) -> usize {
        0
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        let scale = absmax(row) / 127.0;
        put_f32(out, 0, scale);
        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        for (o, &x) in out[4..].iter_mut().zip(row) {
            *o = ((x * inv).round().clamp(-127.0, 127.0) as i8) as u8;
        }
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        decode_into(self, code, out);
        Ok(())
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        Box::new(Int8Scorer {
            query: query.to_vec(),
        })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        let dot: i64 = a[4..]
            .iter()
            .zip(&b[4..])
            .map(|(&x, &y)| (x as i8) as i64 * (y as i8) as i64)
            .sum();
        Ok(dot as f64 * scale_of(a) as f64 * scale_of(b) as f64)
    }
}
