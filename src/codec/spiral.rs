// Source: the origin's SpiralEncoding / SpiralWalk, `crates/highheelbgz/src/lib.rs` and
// `rehydrate.rs` in lance-graph PR #189 (`../shared/reference/origin.md` §1.8). Controls:
// uniform random coordinate sampling, and a Gaussian Johnson–Lindenstrauss sketch
// (W. B. Johnson, J. Lindenstrauss, Contemp. Math. 26, 1984).

//! `spiral`: the origin's spiral walk (deterministic coordinate subsampling) and two controls
//! at exactly the same bytes per row.
//!
//! `mode=walk` (faithful): for base dim b = 0..16 and sample s = 0..K−1,
//! `octave = start + b + s·stride`; the walk for b stops at octave ≥ ⌈d/17⌉; the position is
//! `pos = ⌊frac((b + octave)·φ)·17⌋` and the sample is `w[octave·17 + pos]` (a position ≥ d in
//! the last, partial octave counts as missing). Missing samples are stored as 0. The row keeps
//! the 6-byte address (start, stride, K as u16, as the origin stores it) plus 17·K BF16 values
//! made by truncation (`bits >> 16`, the origin's conversion).
//!
//! Controls with the same 6 + 34·K bytes: `mode=subset` stores 17·K + 3 coordinates at
//! positions drawn once without replacement from the fit seed (all d when 17·K + 3 ≥ d, the
//! rest zero); `mode=jl` stores the 17·K + 3 coordinates of S·x, S iid N(0, 1) from the seed.
//!
//! Scoring (signature grade, no decode): the cosine between the query's sampled vector (taken
//! the same way, exact f32) and the row's stored vector; `pair` uses two codes. A cosine, not
//! an inner product: only rank metrics are meaningful.
//!
//! Bytes: code = 6 + 34·K; model = 0 (walk) or 8 (seed of the positions / sketch).

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, RandomFit, bytes, total,
};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Family, Grade, Scorer};
use crate::data::Rows;
use crate::error::Result;
use crate::linalg::seeded_rng;
use rand::Rng;
use rand::seq::index::sample;
use std::fmt;

const STREAM_SPIRAL: u64 = 0x5350_0000;
const PHI: f64 = 1.618_033_988_749_895;

/// What a spiral code samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpiralMode {
    /// The origin's golden-ratio walk.
    Walk,
    /// Random coordinate subset (control).
    Subset,
    /// Gaussian JL sketch (control).
    Jl,
}

/// Parameters of [`SpiralCodec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpiralParams {
    /// Samples per base dim (K).
    pub k: usize,
    /// Octave stride.
    pub stride: usize,
    /// First octave.
    pub start: usize,
    /// Walk or control.
    pub mode: SpiralMode,
}

impl Default for SpiralParams {
    fn default() -> Self {
        SpiralParams {
            k: 8,
            stride: 3,
            start: 0,
            mode: SpiralMode::Walk,
        }
    }
}

impl SpiralParams {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = SpiralParams::default();
        for (key, slot, lo) in [
            ("k", &mut p.k, 1usize),
            ("stride", &mut p.stride, 1),
            ("start", &mut p.start, 0),
        ] {
            if let Some(v) = raw.take(key) {
                *slot = match v.parse::<usize>() {
                    Ok(x) if (lo..=65535).contains(&x) => x,
                    _ => return Err(raw.bad(key, &v, &format!("an integer in {lo}..=65535"))),
                };
            }
        }
        if let Some(v) = raw.take("mode") {
            p.mode = match v.as_str() {
                "walk" => SpiralMode::Walk,
                "subset" => SpiralMode::Subset,
                "jl" => SpiralMode::Jl,
                _ => return Err(raw.bad("mode", &v, "walk | subset | jl")),
            };
        }
        Ok(p)
    }
}

impl fmt::Display for SpiralParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            SpiralMode::Walk => "walk",
            SpiralMode::Subset => "subset",
            SpiralMode::Jl => "jl",
        };
        write!(
            f,
            "k={},stride={},start={},mode={mode}",
            self.k, self.stride, self.start
        )
    }
}

/// The walk's coordinate index for every (b, s) slot (b-major, `None` = missing).
pub fn walk_positions(d: usize, k: usize, stride: usize, start: usize) -> Vec<Option<usize>> {
    let octaves = d.div_ceil(17);
    let mut out = Vec::with_capacity(17 * k);
    for b in 0..17 {
        for s in 0..k {
            let octave = start + b + s * stride;
            if octave >= octaves {
                out.push(None);
                continue;
            }
            let x = (b + octave) as f64 * PHI;
            let pos = ((x - x.floor()) * 17.0).floor() as usize;
            let i = octave * 17 + pos.min(16);
            out.push((i < d).then_some(i));
        }
    }
    out
}

fn bf16_trunc(x: f32) -> u16 {
    (x.to_bits() >> 16) as u16
}

fn bf16_value(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

/// The spiral walk or a control.
#[derive(Debug, Clone)]
pub struct SpiralCodec {
    params: SpiralParams,
    dim: usize,
    /// Sampled positions (walk, subset).
    positions: Vec<Option<usize>>,
    /// Sketch rows (jl), `slots × d`.
    sketch: Vec<f32>,
}

impl SpiralCodec {
    /// Build for rows of `dim` values (controls draw from `seed`).
    pub fn fit(params: &SpiralParams, dim: usize, seed: u64) -> Self {
        let slots = 17 * params.k + 3;
        let mut rng = seeded_rng(seed, STREAM_SPIRAL);
        let (positions, sketch) = match params.mode {
            SpiralMode::Walk => (
                walk_positions(dim, params.k, params.stride, params.start),
                Vec::new(),
            ),
            SpiralMode::Subset => {
                let take = slots.min(dim);
                let mut p: Vec<Option<usize>> =
                    sample(&mut rng, dim, take).into_iter().map(Some).collect();
                p.resize(slots, None);
                (p, Vec::new())
            }
            SpiralMode::Jl => (
                Vec::new(),
                (0..slots * dim)
                    .map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal) as f32)
                    .collect(),
            ),
        };
        SpiralCodec {
            params: *params,
            dim,
            positions,
            sketch,
        }
    }

    /// The walk's (or subset's) positions; empty for `jl`.
    pub fn positions(&self) -> &[Option<usize>] {
        &self.positions
    }

    fn slots(&self) -> usize {
        match self.params.mode {
            SpiralMode::Walk => 17 * self.params.k,
            SpiralMode::Subset | SpiralMode::Jl => 17 * self.params.k + 3,
        }
    }

    /// The sampled vector of a row (exact f32).
    pub fn sample_row(&self, row: &[f32]) -> Vec<f32> {
        match self.params.mode {
            SpiralMode::Walk | SpiralMode::Subset => self
                .positions
                .iter()
                .map(|p| p.map_or(0.0, |i| row[i]))
                .collect(),
            SpiralMode::Jl => self
                .sketch
                .chunks_exact(self.dim)
                .map(|s| super::dot_f64(s, row) as f32)
                .collect(),
        }
    }

    fn head(&self) -> usize {
        match self.params.mode {
            SpiralMode::Walk => 6,
            SpiralMode::Subset | SpiralMode::Jl => 0,
        }
    }

    fn stored(&self, code: &[u8]) -> Vec<f32> {
        code[self.head()..]
            .chunks_exact(2)
            .map(|c| bf16_value(u16::from_le_bytes([c[0], c[1]])))
            .collect()
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot = super::dot_f64(a, b);
    let na = super::dot_f64(a, a).sqrt();
    let nb = super::dot_f64(b, b).sqrt();
    if na > 0.0 && nb > 0.0 {
        dot / (na * nb)
    } else {
        0.0
    }
}

struct SpiralScorer<'a> {
    codec: &'a SpiralCodec,
    query: Vec<f32>,
    /// ‖query‖ (f64), computed once.
    query_norm: f64,
}

impl Scorer for SpiralScorer<'_> {
    /// [`cosine`] of the sampled query and the stored values, without decoding into a buffer:
    /// ⟨q, s⟩ and ‖s‖² accumulate in index order exactly as `cosine`'s two sums do, so the
    /// value is identical.
    fn estimate(&self, code: &[u8]) -> f64 {
        let (mut dot, mut ss) = (0f64, 0f64);
        let stored = code[self.codec.head()..].chunks_exact(2);
        for (&q, c) in self.query.iter().zip(stored) {
            let v = bf16_value(u16::from_le_bytes([c[0], c[1]])) as f64;
            dot += q as f64 * v;
            ss += v * v;
        }
        let nb = ss.sqrt();
        if self.query_norm > 0.0 && nb > 0.0 {
            dot / (self.query_norm * nb)
        } else {
            0.0
        }
    }
}

/// The `spiral` declaration (see [`CodecDecl`]).
pub struct SpiralDecl;

impl CodecDecl for SpiralDecl {
    type Params = SpiralParams;
    const INFO: CodecInfo = CodecInfo {
        name: "spiral",
        summary: "the origin's spiral walk: 17·K coordinates sampled along a golden-ratio walk, BF16 by truncation, 6-byte address; controls at equal bytes: random subset, Gaussian JL sketch; cosine score; 6 + 34·K bytes",
        reference: "origin lance-graph PR #189 crates/highheelbgz/src/lib.rs (origin.md §1.8); Johnson–Lindenstrauss 1984",
        grade: Grade::Signature,
        family: Family::Signature,
        params: &[
            ParamInfo {
                key: "k",
                values: "1..=65535",
                default: "8",
                doc: "samples per base dim K",
            },
            ParamInfo {
                key: "stride",
                values: "1..=65535",
                default: "3",
                doc: "octave stride of the walk",
            },
            ParamInfo {
                key: "start",
                values: "0..=65535",
                default: "0",
                doc: "first octave of the walk",
            },
            ParamInfo {
                key: "mode",
                values: "walk | subset | jl",
                default: "walk",
                doc: "the origin's walk, or an equal-byte control (random coordinates, Gaussian sketch)",
            },
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<SpiralParams> {
        SpiralParams::from_raw(raw)
    }
    fn fit(p: &SpiralParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(SpiralCodec::fit(p, train.dim(), seed)))
    }
    fn capabilities(p: &SpiralParams) -> Capabilities {
        Capabilities::SIGNATURE.with_random_fit(RandomFit::when(p.mode != SpiralMode::Walk))
    }
    /// The 17·k (+3) slots' positions, the subset draw over d coordinates, or the jl sketch
    /// (slots × d f32).
    fn fit_bytes(p: &SpiralParams, _train_rows: usize, dim: usize) -> u64 {
        let slots = p.k.saturating_mul(17).saturating_add(3);
        let state = match p.mode {
            SpiralMode::Walk => bytes(slots, 16),
            SpiralMode::Subset => total(&[bytes(slots, 16), bytes(dim, 8)]),
            SpiralMode::Jl => bytes(slots, 4).saturating_mul(dim as u64),
        };
        total(&[FIT_BYTES_FIXED, state])
    }
}

impl Codec for SpiralCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Spiral(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        6 + 34 * self.params.k
    }
    fn model_bytes(&self) -> usize {
        match self.params.mode {
            SpiralMode::Walk => 0,
            SpiralMode::Subset | SpiralMode::Jl => 8,
        }
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        if self.params.mode == SpiralMode::Walk {
            for (i, v) in [self.params.start, self.params.stride, self.params.k]
                .into_iter()
                .enumerate()
            {
                out[2 * i..2 * i + 2].copy_from_slice(&(v as u16).to_le_bytes());
            }
        }
        let h = self.head();
        for (i, x) in self.sample_row(row).into_iter().enumerate() {
            out[h + 2 * i..h + 2 * i + 2].copy_from_slice(&bf16_trunc(x).to_le_bytes());
        }
        debug_assert_eq!(h + 2 * self.slots(), self.code_bytes());
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        let query = self.sample_row(query);
        Box::new(SpiralScorer {
            codec: self,
            query_norm: super::dot_f64(&query, &query).sqrt(),
            query,
        })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        Ok(cosine(&self.stored(a), &self.stored(b)))
    }
}
