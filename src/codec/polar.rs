// Paper: Insu Han, Praneeth Kacham, Amin Karbasi, Vahab Mirrokni, Amir Zandieh, "PolarQuant:
// Quantizing KV Caches with Polar Transformation", arXiv:2502.02617 (AISTATS 2026).

//! `polar`: PolarQuant (`../shared/reference/algorithms.md` §1.3) — random preconditioning, a
//! recursive polar transform per block, and per-level angle codebooks fitted to the analytic
//! angle laws. Not the gain–shape split that the origin system called "PolarQuant".
//!
//! Encode: y = Π x (`rot=`; x is not normalised). Each block of 2^L coordinates (`levels=L`)
//! becomes 2^L − 1 angles and one radius:
//! - level 1 pairs (y_{2j}, y_{2j+1}) → ψ = atan2(y_{2j+1}, y_{2j}) ∈ [0, 2π) and the pair norm;
//! - level ℓ ≥ 2 pairs the previous radii → ψ = atan(r_{2j+1}/r_{2j}) ∈ [0, π/2] and their norm;
//! - after L levels one radius remains (the block norm), stored as fp16.
//!
//! For Gaussian input the angles are independent (Lemma 2): level 1 uniform on [0, 2π), level
//! ℓ ≥ 2 ∝ sin^(2^(ℓ−1)−1)(2ψ). Level-1 angles get the optimal uniform `bits1`-bit grid, deeper
//! levels the `bits2`-bit Lloyd–Max codebook of their density
//! ([`crate::linalg::lloyd_max::angle_codebook`]; the paper's offline variant). Decode is
//! top-down: r_{2j} = r cos θ, r_{2j+1} = r sin θ, then Πᵀ. The estimate is ⟨q, x̃⟩, computed as
//! ⟨Π q, ỹ⟩; `pair` is ⟨x̃_a, x̃_b⟩.
//!
//! Default = the paper's practical budget: L = 4 (16-coordinate blocks), 4-bit level-1 angles,
//! 2-bit deeper angles, fp16 radius: 8·4 + (4+2+1)·2 + 16 = 62 bits per 16 coordinates =
//! 3.875 bits/coordinate.
//!
//! Dimensions: p = d rounded up to a multiple of 2^L (haar: Π acts on the zero-padded space, so
//! every block is a generic rotated block; none: zero padding), or the next power of two ≥
//! max(d, 2^L) (hadamard). Padded coordinates cost bits like the others.
//!
//! Bytes: code = 2·(p/2^L) (fp16 radii) + ⌈(p/2^L)·(2^(L−1)·bits1 + (2^(L−1)−1)·bits2)/8⌉;
//! model = 8 (rotation seed; 0 for none) + 4·(2^bits1 + (L−1)·2^bits2) (f32 codebooks).
//! Radii above the fp16 range (65504) saturate rather than becoming infinite.

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, ROT_PARAM, RandomFit, total,
};
use super::spec::RawParams;
use super::{
    Codec, CodecSpec, Codes, Family, Grade, Scorer, decode_blocks, encode_blocks, rotated,
};
use crate::data::Rows;
use crate::error::Result;
use crate::linalg::lloyd_max::{Codebook, angle_codebook, uniform_circle_codebook};
use crate::linalg::{Rotation, RotationKind, STREAM_ROTATION, bits, dot, seeded_rng};
use half::f16;
use std::f64::consts::TAU;
use std::fmt;
use std::sync::Arc;

/// Parameters of [`PolarCodec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolarParams {
    /// Recursion levels L per block (block = 2^L coordinates), 1..=8.
    pub levels: u8,
    /// Bits of each level-1 angle, 1..=8.
    pub bits1: u8,
    /// Bits of each angle at levels ≥ 2, 1..=8.
    pub bits2: u8,
    /// Random preconditioning.
    pub rot: RotationKind,
}

impl Default for PolarParams {
    fn default() -> Self {
        PolarParams {
            levels: 4,
            bits1: 4,
            bits2: 2,
            rot: RotationKind::Haar,
        }
    }
}

impl PolarParams {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = PolarParams::default();
        for (key, slot) in [
            ("levels", &mut p.levels),
            ("bits1", &mut p.bits1),
            ("bits2", &mut p.bits2),
        ] {
            if let Some(v) = raw.take(key) {
                *slot = match v.parse::<u8>() {
                    Ok(b) if (1..=8).contains(&b) => b,
                    _ => return Err(raw.bad(key, &v, "an integer in 1..=8")),
                };
            }
        }
        p.rot = raw.take_rotation()?;
        Ok(p)
    }

    /// Coordinates per block.
    pub fn block(&self) -> usize {
        1 << self.levels
    }

    /// Angle bits per block (radius excluded).
    pub fn angle_bits_per_block(&self) -> usize {
        let half = self.block() / 2;
        half * self.bits1 as usize + (half - 1) * self.bits2 as usize
    }
}

impl fmt::Display for PolarParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "levels={},bits1={},bits2={},rot={}",
            self.levels, self.bits1, self.bits2, self.rot
        )
    }
}

/// One level's codebook with cos/sin of its centroids.
#[derive(Debug, Clone)]
struct Level {
    book: Arc<Codebook>,
    bits: u32,
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl Level {
    fn new(book: Arc<Codebook>, bits: u8) -> Self {
        let cos = book.centroids.iter().map(|c| c.cos()).collect();
        let sin = book.centroids.iter().map(|c| c.sin()).collect();
        Level {
            book,
            bits: bits as u32,
            cos,
            sin,
        }
    }
}

/// PolarQuant.
#[derive(Debug, Clone)]
pub struct PolarCodec {
    params: PolarParams,
    dim: usize,
    rot: Rotation,
    /// levels[0] is level 1 (uniform on the circle); levels[ℓ−1] is level ℓ.
    levels: Vec<Level>,
}

impl PolarCodec {
    /// Rotation from `seed` (ChaCha8 stream [`STREAM_ROTATION`]) and the cached codebooks.
    pub fn fit(params: &PolarParams, dim: usize, seed: u64) -> Self {
        let rot = Rotation::new(
            params.rot,
            dim,
            params.block(),
            &mut seeded_rng(seed, STREAM_ROTATION),
        );
        let mut levels = vec![Level::new(
            Arc::new(uniform_circle_codebook(params.bits1)),
            params.bits1,
        )];
        for l in 2..=params.levels {
            levels.push(Level::new(angle_codebook(l, params.bits2), params.bits2));
        }
        PolarCodec {
            params: *params,
            dim,
            rot,
            levels,
        }
    }

    /// The preconditioning rotation Π.
    pub fn rotation(&self) -> &Rotation {
        &self.rot
    }
    /// The codebook of level ℓ (1-based).
    pub fn codebook(&self, level: usize) -> &Codebook {
        &self.levels[level - 1].book
    }
    fn blocks(&self) -> usize {
        self.rot.out_dim() / self.params.block()
    }
    fn radii_bytes(&self) -> usize {
        2 * self.blocks()
    }

    /// Calls `f(b, ỹ_b)` for every block b of the rotated reconstruction: fp16 radius, then the
    /// angles top-down (stack buffers; a block has at most 256 coordinates).
    fn for_each_block(&self, code: &[u8], mut f: impl FnMut(usize, &[f64])) {
        let block = self.params.block();
        let nlev = self.params.levels as usize;
        let (radii, angles) = code.split_at(self.radii_bytes());
        let mut reader = bits::BitReader::new(angles);
        // Stored order per block: level 1 (block/2 indices), level 2 (block/4), …, level L (1).
        let mut start = [0usize; 9];
        for l in 1..=nlev {
            start[l] = start[l - 1] + (block >> l);
        }
        let mut idx = [0u16; 256];
        let (mut ra, mut rb) = ([0f64; 256], [0f64; 256]);
        let mut y = [0f64; 256];
        for b in 0..self.blocks() {
            for (l, level) in self.levels.iter().enumerate() {
                for slot in &mut idx[start[l]..start[l + 1]] {
                    *slot = reader.read(level.bits) as u16;
                }
            }
            // Radii of the current level in `r`, the next level's written to `next`, then the
            // two swap (no copy between levels).
            let (mut r, mut next) = (&mut ra, &mut rb);
            r[0] = f16::from_le_bytes([radii[2 * b], radii[2 * b + 1]]).to_f64();
            let mut width = 1;
            for l in (1..nlev).rev() {
                let level = &self.levels[l];
                for j in 0..width {
                    let k = idx[start[l] + j] as usize;
                    next[2 * j] = r[j] * level.cos[k];
                    next[2 * j + 1] = r[j] * level.sin[k];
                }
                width *= 2;
                std::mem::swap(&mut r, &mut next);
            }
            let level = &self.levels[0];
            for j in 0..width {
                let k = idx[j] as usize;
                y[2 * j] = r[j] * level.cos[k];
                y[2 * j + 1] = r[j] * level.sin[k];
            }
            f(b, &y[..block]);
        }
    }

    /// ỹ (length p) from a code.
    fn rotated_reconstruction(&self, code: &[u8]) -> Vec<f64> {
        let block = self.params.block();
        let mut out = vec![0f64; self.rot.out_dim()];
        self.for_each_block(code, |b, y| {
            out[b * block..(b + 1) * block].copy_from_slice(y)
        });
        out
    }

    /// The code of a row from its rotation y = Π x: per block, the angle tree's indices and
    /// the f16 block radius.
    fn encode_rotated(&self, y: &[f64], out: &mut [u8]) {
        let block = self.params.block();
        out.fill(0);
        let (radii, angles) = out.split_at_mut(self.radii_bytes());
        let mut writer = bits::BitWriter::new(angles);
        let mut r = vec![0f64; block / 2];
        for (b, chunk) in y.chunks_exact(block).enumerate() {
            let level = &self.levels[0];
            for (j, pair) in chunk.chunks_exact(2).enumerate() {
                let mut psi = pair[1].atan2(pair[0]);
                if psi < 0.0 {
                    psi += TAU;
                }
                writer.write(level.book.index(psi) as u32, level.bits);
                r[j] = pair[0].hypot(pair[1]);
            }
            let mut width = block / 2;
            for level in &self.levels[1..] {
                width /= 2;
                for j in 0..width {
                    let psi = r[2 * j + 1].atan2(r[2 * j]);
                    writer.write(level.book.index(psi) as u32, level.bits);
                    r[j] = r[2 * j].hypot(r[2 * j + 1]);
                }
            }
            let radius = f16::from_f64(r[0].min(f16::MAX.to_f64()));
            radii[2 * b..2 * b + 2].copy_from_slice(&radius.to_le_bytes());
        }
    }

    /// Codes of a block of rows (the block rotated at once).
    fn encode_block(&self, rows: &[f32], out: &mut [u8]) {
        rotated::encode_block(&self.rot, rows, out, self.code_bytes(), |_, y, code| {
            self.encode_rotated(y, code)
        });
    }

    /// Rows of a block of codes: Πᵀ ỹ (the block rotated back at once).
    fn decode_block(&self, codes: &[u8], out: &mut [f32]) {
        rotated::decode_block(
            &self.rot,
            codes,
            self.code_bytes(),
            out,
            |code, y| y.copy_from_slice(&self.rotated_reconstruction(code)),
            |_, x, row| {
                for (o, &v) in row.iter_mut().zip(x) {
                    *o = v as f32;
                }
            },
        );
    }

    fn unit_decode(&self, code: &[u8]) -> Vec<f64> {
        let y = self.rotated_reconstruction(code);
        let mut x = vec![0f64; self.dim];
        self.rot.apply_transpose(&y, &mut x);
        x
    }
}

struct PolarScorer<'a> {
    codec: &'a PolarCodec,
    qrot: Vec<f64>,
}

impl Scorer for PolarScorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        let block = self.codec.params.block();
        let mut total = 0f64;
        self.codec.for_each_block(code, |b, y| {
            total += dot(&self.qrot[b * block..(b + 1) * block], y)
        });
        total
    }
}

/// The `polar` declaration (see [`CodecDecl`]).
pub struct PolarDecl;

impl CodecDecl for PolarDecl {
    type Params = PolarParams;
    const INFO: CodecInfo = CodecInfo {
        name: "polar",
        summary: "PolarQuant: rotate, recursive polar transform per 2^L-coordinate block, per-level angle codebooks from the analytic angle laws, fp16 block radius; default 3.875 bits/coordinate",
        reference: "Han, Kacham, Karbasi, Mirrokni, Zandieh, PolarQuant, arXiv:2502.02617",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[
            ParamInfo {
                key: "levels",
                values: "1..=8",
                default: "4",
                doc: "recursion levels L per block of 2^L coordinates",
            },
            ParamInfo {
                key: "bits1",
                values: "1..=8",
                default: "4",
                doc: "bits per level-1 angle (uniform on [0, 2π))",
            },
            ParamInfo {
                key: "bits2",
                values: "1..=8",
                default: "2",
                doc: "bits per angle at levels ≥ 2 (Lloyd–Max for sin^(2^(ℓ−1)−1)(2ψ))",
            },
            ROT_PARAM,
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<PolarParams> {
        PolarParams::from_raw(raw)
    }
    fn fit(p: &PolarParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(PolarCodec::fit(p, train.dim(), seed)))
    }
    fn capabilities(p: &PolarParams) -> Capabilities {
        Capabilities::RECONSTRUCTION.with_random_fit(RandomFit::rotation(p.rot))
    }
    /// The rotation onto a multiple of the block (Haar: O(d²); Hadamard: O(d)) and the cached
    /// codebooks.
    fn fit_bytes(p: &PolarParams, _train_rows: usize, dim: usize) -> u64 {
        total(&[Rotation::fit_bytes(p.rot, dim, p.block()), FIT_BYTES_FIXED])
    }
}

impl Codec for PolarCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Polar(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        self.radii_bytes() + (self.blocks() * self.params.angle_bits_per_block()).div_ceil(8)
    }
    fn model_bytes(&self) -> usize {
        self.rot.model_bytes()
            + self
                .levels
                .iter()
                .map(|l| l.book.model_bytes())
                .sum::<usize>()
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
        let mut qrot = vec![0f64; self.rot.out_dim()];
        self.rot.apply(query, &mut qrot);
        Box::new(PolarScorer { codec: self, qrot })
    }
    fn scorers<'a>(&'a self, queries: &Rows) -> Vec<Box<dyn Scorer + 'a>> {
        rotated::rotate_queries(&self.rot, queries)
            .chunks_exact(self.rot.out_dim())
            .map(|q| {
                Box::new(PolarScorer {
                    codec: self,
                    qrot: q.to_vec(),
                }) as Box<dyn Scorer + 'a>
            })
            .collect()
    }
    /// `pair` against every code with a's reconstruction made once (the same sums).
    fn pair_all(&self, a: &[u8], codes: &Codes, out: &mut [f64]) -> Result<()> {
        if self.rot.padded() != 0 {
            for (o, b) in out.iter_mut().zip(codes.iter()) {
                *o = self.pair(a, b)?;
            }
            return Ok(());
        }
        let ya = self.rotated_reconstruction(a);
        let block = self.params.block();
        for (o, b) in out.iter_mut().zip(codes.iter()) {
            let mut total = 0f64;
            self.for_each_block(b, |k, yb| total += dot(&ya[k * block..(k + 1) * block], yb));
            *o = total;
        }
        Ok(())
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        if self.rot.padded() == 0 {
            // Π is orthogonal on all of R^p, so ⟨Πᵀỹ_a, Πᵀỹ_b⟩ = ⟨ỹ_a, ỹ_b⟩.
            let ya = self.rotated_reconstruction(a);
            let block = self.params.block();
            let mut total = 0f64;
            self.for_each_block(b, |k, yb| total += dot(&ya[k * block..(k + 1) * block], yb));
            Ok(total)
        } else {
            Ok(dot(&self.unit_decode(a), &self.unit_decode(b)))
        }
    }
}
