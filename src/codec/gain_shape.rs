// Source: the origin's "PolarQuantGain" (`../shared/reference/origin.md` §1.11 and the P6
// candidate list in §3): a BF16 gain ‖w‖ plus the BF16 unit direction w/‖w‖, 2 + 2·n bytes per
// row, taken from `crates/bgz-tensor/src/matryoshka.rs` `encode_row` of lance-graph PR #189.
// Method: gain–shape vector quantization, M. J. Sabin and R. M. Gray, "Product code vector
// quantizers for waveforms and voice coding", IEEE Trans. ASSP 32(3), 1984: the gain and the
// shape (a point on the unit sphere) are quantized separately and the decoder multiplies them.

//! `gain-shape`: a bf16 gain plus a quantized unit direction (the origin's "PolarQuantGain",
//! named for what it is: it has nothing to do with PolarQuant, arXiv:2502.02617).
//!
//! The origin's flaw: its direction quantizer was BF16 per coordinate, so the code cost
//! 2 + 2·d bytes — two bytes *more* than the BF16 row itself — and the gain bought nothing.
//! Here the shape is quantized for real:
//!
//! - `u = x/‖x‖`, optionally rotated (`rot=haar|hadamard|fht-kac|none`, as the rotation codecs) so
//!   that no coordinate dominates: `y = Π·u` (p coordinates, p = d or the next power of two).
//! - `shape=iB` (B in 2..=8): `q_i = round(L·y_i / max_j |y_j|)` with `L = 2^(B−1) − 1`
//!   (symmetric, `q ∈ [−L, L]`, stored offset by L in B bits). **No per-row scale is stored**:
//!   the decoder re-projects onto the sphere, `ŝ = q/‖q‖`, so the scale cancels — the point of
//!   a gain–shape split. `i2` is ternary {−1, 0, 1}.
//! - `shape=bf16`: the origin's BF16 direction (2·p bytes), kept as the faithful control; its
//!   decoded shape is re-projected onto the sphere too.
//! - The gain is `bf16(‖x‖)` (the norm in f64, rounded to f32, then to bf16, nearest even;
//!   clamped to the largest finite bf16). Decode is `x̂ = g·Πᵀ·ŝ`, so `‖x̂‖ = g`: the norm
//!   error is at most a bf16 half-ulp (plus one f32 rounding). Exception: with `rot=hadamard`
//!   and d not a power of two, the part of ŝ that the inverse rotation puts on the zero-padded
//!   coordinates is dropped, so `‖x̂‖ ≤ g`.
//! - The zero row stores g = 0 and q = 0 and decodes to exactly zero.
//!
//! Scoring: asymmetric `g·⟨Π·q_query, ŝ⟩` (equals ⟨query, decode(code)⟩ up to rounding);
//! symmetric `g_a·g_b·⟨ŝ_a, ŝ_b⟩` (with Hadamard zero padding: the inner product of the two
//! decoded rows, as `tq-mse` does).
//!
//! Bytes: code = 2 (bf16 gain) + ⌈B·p/8⌉ (or 2·p for bf16); model = the rotation's 8-byte seed
//! (0 with `rot=none`).

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, ROT_PARAM, RandomFit, total,
};
use super::spec::RawParams;
use super::{
    Codec, CodecSpec, Codes, Family, Grade, Scorer, decode_blocks, encode_blocks, rotated,
};
use crate::data::Rows;
use crate::error::Result;
use crate::linalg::{Rotation, RotationKind, STREAM_ROTATION, bits, norm_f32, seeded_rng};
use half::bf16;
use std::fmt;

/// How the unit direction is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// BF16 per coordinate (the origin's "PolarQuantGain").
    Bf16,
    /// Symmetric integers of this many bits (2..=8), scale-free (re-projected on decode).
    Int(u32),
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Bf16 => f.write_str("bf16"),
            Shape::Int(b) => write!(f, "i{b}"),
        }
    }
}

/// Parameters of [`GainShapeCodec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GainShapeParams {
    /// Direction quantizer.
    pub shape: Shape,
    /// Rotation applied to the unit direction before quantizing.
    pub rot: RotationKind,
}

impl Default for GainShapeParams {
    fn default() -> Self {
        GainShapeParams {
            shape: Shape::Int(8),
            rot: RotationKind::Haar,
        }
    }
}

impl GainShapeParams {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = GainShapeParams::default();
        if let Some(v) = raw.take("shape") {
            p.shape = match v.as_str() {
                "bf16" => Shape::Bf16,
                s => match s.strip_prefix('i').and_then(|b| b.parse::<u32>().ok()) {
                    Some(b) if (2..=8).contains(&b) => Shape::Int(b),
                    _ => return Err(raw.bad("shape", &v, "bf16 | i2 .. i8")),
                },
            };
        }
        p.rot = raw.take_rotation()?;
        Ok(p)
    }
}

impl fmt::Display for GainShapeParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shape={},rot={}", self.shape, self.rot)
    }
}

/// ChaCha8 stream of the rotation (the shared rotation stream, as the rotation codecs).
const STREAM_GS_ROTATION: u64 = STREAM_ROTATION;

/// `bf16(‖x‖)`: the f64 norm rounded to f32, then to bf16 (nearest even), clamped finite.
pub fn gain_bf16(norm: f64) -> bf16 {
    let n32 = (norm as f32).min(bf16::MAX.to_f32());
    let g = bf16::from_f32(n32);
    if g.is_infinite() { bf16::MAX } else { g }
}

/// A fitted gain–shape codec.
#[derive(Debug, Clone)]
pub struct GainShapeCodec {
    params: GainShapeParams,
    dim: usize,
    rot: Rotation,
}

impl GainShapeCodec {
    /// A codec for rows of `dim` values; the rotation is drawn from `seed`.
    pub fn fit(params: &GainShapeParams, dim: usize, seed: u64) -> Self {
        GainShapeCodec {
            params: *params,
            dim,
            rot: Rotation::new(
                params.rot,
                dim,
                1,
                &mut seeded_rng(seed, STREAM_GS_ROTATION),
            ),
        }
    }

    /// Number of coded shape coordinates p.
    pub fn out_dim(&self) -> usize {
        self.rot.out_dim()
    }

    /// The stored gain of a code.
    pub fn gain(&self, code: &[u8]) -> f64 {
        bf16::from_le_bytes([code[0], code[1]]).to_f64()
    }

    /// The decoded unit shape ŝ in the rotated frame (all zero for the zero row).
    pub fn shape(&self, code: &[u8]) -> Vec<f64> {
        let p = self.out_dim();
        let body = &code[2..];
        let mut s: Vec<f64> = match self.params.shape {
            Shape::Bf16 => (0..p)
                .map(|i| bf16::from_le_bytes([body[2 * i], body[2 * i + 1]]).to_f64())
                .collect(),
            Shape::Int(b) => {
                let l = ((1u32 << (b - 1)) - 1) as f64;
                let mut q = vec![0u8; p];
                bits::unpack(body, b, &mut q);
                q.iter().map(|&v| v as f64 - l).collect()
            }
        };
        let n = s.iter().map(|v| v * v).sum::<f64>().sqrt();
        if n > 0.0 {
            s.iter_mut().for_each(|v| *v /= n);
        }
        s
    }

    /// Codes of a block of rows: the bf16 gain, then the quantized rotated direction
    /// Π(x/‖x‖) (all zero for the zero row), the block rotated at once.
    fn encode_block(&self, rows: &[f32], out: &mut [u8]) {
        let (d, p, stride) = (self.dim.max(1), self.out_dim(), self.code_bytes());
        let n = rows.len() / d;
        let mut units = vec![0f64; n * d];
        let mut norms = Vec::with_capacity(n);
        for (row, u) in rows.chunks_exact(d).zip(units.chunks_exact_mut(d)) {
            let norm = norm_f32(row);
            if norm > 0.0 {
                for (ui, &v) in u.iter_mut().zip(row) {
                    *ui = v as f64 / norm;
                }
            }
            norms.push(norm);
        }
        let mut ys = vec![0f64; n * p];
        self.rot.apply_rows_f64(&units, &mut ys);
        for ((&norm, y), out) in norms
            .iter()
            .zip(ys.chunks_exact_mut(p))
            .zip(out.chunks_exact_mut(stride))
        {
            out.fill(0);
            out[..2].copy_from_slice(&gain_bf16(norm).to_le_bytes());
            let positive = norm > 0.0;
            if !positive {
                // The zero (or non-finite) row's direction is all +0, as row by row (not the
                // rotation of zeros, whose signs of zero follow the matrix).
                y.fill(0.0);
            }
            let y = &*y;
            let body = &mut out[2..];
            match self.params.shape {
                Shape::Bf16 => {
                    for (i, &v) in y.iter().enumerate() {
                        body[2 * i..2 * i + 2].copy_from_slice(&bf16::from_f64(v).to_le_bytes());
                    }
                }
                Shape::Int(b) => {
                    let l = ((1u32 << (b - 1)) - 1) as f64;
                    let m = y.iter().fold(0f64, |a, v| a.max(v.abs()));
                    let q: Vec<u8> = y
                        .iter()
                        .map(|&v| {
                            let qi = if m > 0.0 {
                                (l * v / m).round().clamp(-l, l)
                            } else {
                                0.0
                            };
                            (qi + l) as u8
                        })
                        .collect();
                    bits::pack(&q, b, body);
                }
            }
        }
    }

    /// Rows of a block of codes: g·Πᵀŝ (the block rotated back at once).
    fn decode_block(&self, codes: &[u8], out: &mut [f32]) {
        rotated::decode_block(
            &self.rot,
            codes,
            self.code_bytes(),
            out,
            |code, s| s.copy_from_slice(&self.shape(code)),
            |code, x, row| {
                let g = self.gain(code);
                for (o, v) in row.iter_mut().zip(x) {
                    *o = (g * v) as f32;
                }
            },
        );
    }
}

struct GainShapeScorer<'a> {
    codec: &'a GainShapeCodec,
    rotated: Vec<f64>,
}

impl Scorer for GainShapeScorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        let g = self.codec.gain(code);
        if g == 0.0 {
            return 0.0;
        }
        let s = self.codec.shape(code);
        g * crate::linalg::dot(&self.rotated, &s)
    }
}

/// The `gain-shape` declaration (see [`CodecDecl`]).
pub struct GainShapeDecl;

impl CodecDecl for GainShapeDecl {
    type Params = GainShapeParams;
    const INFO: CodecInfo = CodecInfo {
        name: "gain-shape",
        summary: "gain–shape split (the origin's \"PolarQuantGain\", renamed): bf16 norm + unit direction, optionally rotated, as scale-free symmetric B-bit integers re-projected on the sphere (or the origin's BF16 direction); 2 + ⌈B·p/8⌉ bytes (2 + 2·p for bf16)",
        reference: "origin lance-graph PR #189 matryoshka.rs encode_row, P6 PolarQuantGain (origin.md §1.11); Sabin & Gray, IEEE Trans. ASSP 1984",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[
            ParamInfo {
                key: "shape",
                values: "bf16 | i2..i8",
                default: "i8",
                doc: "direction quantizer: the origin's BF16 per coordinate, or B-bit symmetric integers (no stored scale)",
            },
            ROT_PARAM,
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<GainShapeParams> {
        GainShapeParams::from_raw(raw)
    }
    fn fit(p: &GainShapeParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(GainShapeCodec::fit(p, train.dim(), seed)))
    }
    fn capabilities(p: &GainShapeParams) -> Capabilities {
        Capabilities::RECONSTRUCTION.with_random_fit(RandomFit::rotation(p.rot))
    }
    /// The rotation (Haar: O(d²); Hadamard: O(d)).
    fn fit_bytes(p: &GainShapeParams, _train_rows: usize, dim: usize) -> u64 {
        total(&[Rotation::fit_bytes(p.rot, dim, 1), FIT_BYTES_FIXED])
    }
}

impl Codec for GainShapeCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::GainShape(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        let p = self.out_dim();
        2 + match self.params.shape {
            Shape::Bf16 => 2 * p,
            Shape::Int(b) => bits::packed_len(p, b),
        }
    }
    fn model_bytes(&self) -> usize {
        self.rot.model_bytes()
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        self.encode_block(row, out);
    }
    fn encode_all(&self, rows: &Rows) -> Codes {
        encode_blocks(rows, self.code_bytes(), |r, o| self.encode_block(r, o))
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        self.decode_block(code, out);
        Ok(())
    }
    fn decode_all(&self, codes: &Codes) -> Result<Vec<f32>> {
        decode_blocks(codes, self.dim, |c, o| {
            self.decode_block(c, o);
            Ok(())
        })
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        let mut rotated = vec![0f64; self.out_dim()];
        self.rot.apply(query, &mut rotated);
        Box::new(GainShapeScorer {
            codec: self,
            rotated,
        })
    }
    fn scorers<'a>(&'a self, queries: &Rows) -> Vec<Box<dyn Scorer + 'a>> {
        rotated::rotate_queries(&self.rot, queries)
            .chunks_exact(self.out_dim())
            .map(|q| {
                Box::new(GainShapeScorer {
                    codec: self,
                    rotated: q.to_vec(),
                }) as Box<dyn Scorer + 'a>
            })
            .collect()
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        let g = self.gain(a) * self.gain(b);
        if g == 0.0 {
            return Ok(0.0);
        }
        if self.rot.padded() == 0 {
            // Π is orthogonal on all of R^p, so ⟨Πᵀŝ_a, Πᵀŝ_b⟩ = ⟨ŝ_a, ŝ_b⟩.
            Ok(g * crate::linalg::dot(&self.shape(a), &self.shape(b)))
        } else {
            // Dropping the padded coordinates breaks that identity: use the decoded rows.
            let unit = |c: &[u8]| {
                let mut x = vec![0f64; self.dim];
                self.rot.apply_transpose(&self.shape(c), &mut x);
                x
            };
            Ok(g * crate::linalg::dot(&unit(a), &unit(b)))
        }
    }
}
