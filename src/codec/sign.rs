// Method: Moses S. Charikar, "Similarity Estimation Techniques from Rounding Algorithms",
// STOC 2002 (SimHash: random-hyperplane signs, P[bits differ] = θ/π; after Goemans and
// Williamson 1995). Plain binary quantization (BQ) is its axis-aligned form without rotation.

//! `sign`: plain sign / binary quantization after an optional random rotation
//! (`../shared/reference/algorithms.md` §1.8).
//!
//! A row x is stored as the p bits [ (Π x)_j > 0 ] plus ν = ‖x‖. Both sides binarised, the
//! Hamming distance h estimates the angle θ ≈ π·h/p, and ⟨a, b⟩ ≈ ν_a ν_b cos(π h/p) (`pair`).
//! The asymmetric scorer binarises the query the same way (this codec is the symmetric-Hamming
//! baseline; the asymmetric sign estimators are `qjl` and `rabitq:bits=1`). The estimate is
//! unbiased for the angle under a Haar rotation, not for the inner product; with `rot=none` it
//! assumes centred, isotropic coordinates and is only a baseline.
//!
//! Bytes: code = 4 (ν f32) + ⌈p/8⌉ with p = d (haar/none) or the next power of two (hadamard,
//! zero padding); model = 8 (rotation seed; 0 for none). No decode: a sign code is a signature.

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ROT_PARAM, RandomFit, total,
};
use super::fields::{f32_at, put_f32};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Codes, Family, Grade, Scorer, encode_blocks, rotated};
use crate::data::Rows;
use crate::error::Result;
use crate::linalg::{Rotation, RotationKind, STREAM_ROTATION, bits, norm_f32, seeded_rng};
use std::fmt;

/// Parameters of [`SignCodec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SignParams {
    /// Rotation applied before taking signs.
    pub rot: RotationKind,
}

impl SignParams {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        Ok(SignParams {
            rot: raw.take_rotation()?,
        })
    }
}

impl fmt::Display for SignParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rot={}", self.rot)
    }
}

/// Rotated sign bits plus norm.
#[derive(Debug, Clone)]
pub struct SignCodec {
    params: SignParams,
    dim: usize,
    rot: Rotation,
}

impl SignCodec {
    /// Rotation from `seed` (ChaCha8 stream [`STREAM_ROTATION`]).
    pub fn fit(params: &SignParams, dim: usize, seed: u64) -> Self {
        SignCodec {
            params: *params,
            dim,
            rot: Rotation::new(params.rot, dim, 1, &mut seeded_rng(seed, STREAM_ROTATION)),
        }
    }

    /// The rotation Π.
    pub fn rotation(&self) -> &Rotation {
        &self.rot
    }

    fn signs_of(&self, row: &[f32], out: &mut [u8]) {
        let mut y = vec![0f64; self.rot.out_dim()];
        self.rot.apply(row, &mut y);
        bits::pack_signs(y.iter().map(|&v| v > 0.0), out);
    }

    /// Codes of a block of rows: the norm, then the signs of Π x (the block rotated at once).
    fn encode_block(&self, rows: &[f32], out: &mut [u8]) {
        rotated::encode_block(&self.rot, rows, out, self.code_bytes(), |row, y, code| {
            put_f32(code, 0, norm_f32(row) as f32);
            bits::pack_signs(y.iter().map(|&v| v > 0.0), &mut code[4..]);
        });
    }

    fn estimate_from(&self, na: f64, a: &[u8], nb: f64, b: &[u8]) -> f64 {
        let h = bits::hamming(a, b) as f64;
        na * nb * (std::f64::consts::PI * h / self.rot.out_dim() as f64).cos()
    }
}

struct SignScorer<'a> {
    codec: &'a SignCodec,
    norm: f64,
    signs: Vec<u8>,
}

impl Scorer for SignScorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        self.codec
            .estimate_from(self.norm, &self.signs, f32_at(code, 0) as f64, &code[4..])
    }
}

/// The `sign` declaration (see [`CodecDecl`]).
pub struct SignDecl;

impl CodecDecl for SignDecl {
    type Params = SignParams;
    const INFO: CodecInfo = CodecInfo {
        name: "sign",
        summary: "plain sign / binary quantization of the rotated row plus norm; symmetric Hamming angle estimate ‖a‖‖b‖·cos(π·h/p) (the query is binarised too); 4-byte norm + ⌈p/8⌉ bytes (FAISS IndexLSH stores the ⌈d/8⌉ bits only: 4 bytes less, no norm, it ranks by Hamming distance and estimates no inner product)",
        reference: "Charikar, SimHash (STOC 2002); binary quantization",
        grade: Grade::Signature,
        family: Family::Signature,
        params: &[ROT_PARAM],
    };
    fn parse(raw: &mut RawParams) -> Result<SignParams> {
        SignParams::from_raw(raw)
    }
    fn fit(p: &SignParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(SignCodec::fit(p, train.dim(), seed)))
    }
    fn capabilities(p: &SignParams) -> Capabilities {
        Capabilities::SIGNATURE.with_random_fit(RandomFit::rotation(p.rot))
    }
    /// The rotation (Haar: O(d²); Hadamard: O(d)).
    fn fit_bytes(p: &SignParams, _train_rows: usize, dim: usize) -> u64 {
        total(&[Rotation::fit_bytes(p.rot, dim, 1), FIT_BYTES_FIXED])
    }
}

impl Codec for SignCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Sign(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        4 + self.rot.out_dim().div_ceil(8)
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
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        let mut signs = vec![0u8; self.rot.out_dim().div_ceil(8)];
        self.signs_of(query, &mut signs);
        Box::new(SignScorer {
            codec: self,
            norm: norm_f32(query),
            signs,
        })
    }
    fn scorers<'a>(&'a self, queries: &Rows) -> Vec<Box<dyn Scorer + 'a>> {
        let p = self.rot.out_dim();
        let y = rotated::rotate_queries(&self.rot, queries);
        queries
            .iter()
            .zip(y.chunks_exact(p))
            .map(|(q, yr)| {
                let mut signs = vec![0u8; p.div_ceil(8)];
                bits::pack_signs(yr.iter().map(|&v| v > 0.0), &mut signs);
                Box::new(SignScorer {
                    codec: self,
                    norm: norm_f32(q),
                    signs,
                }) as Box<dyn Scorer + 'a>
            })
            .collect()
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        Ok(self.estimate_from(f32_at(a, 0) as f64, &a[4..], f32_at(b, 0) as f64, &b[4..]))
    }
}
