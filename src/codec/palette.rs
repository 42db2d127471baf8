// Source: the origin's palette + residual hybrids (`../shared/reference/origin.md`):
// HhtlF32Tensor (§1.7: farthest-point "CLAM" palette in f32 L2², seeded at the row of largest
// norm, 1-byte twig index), SlotL (§1.6: 8 × i8 residual coefficients on a shared SVD basis of
// the residuals), I8Hybrid (§1.12: 64-bin location + i8 leaf of the rotated residual with a
// BF16 per-row magnitude; the origin's decoder dropped the leaf positions, §7.7) and the P9
// resolution variants (§3, §4: address bits + leaf lanes). k-means palettes: S. Lloyd (1982)
// with k-means++ seeding (Arthur & Vassilvitskii 2007), via `linalg::kmeans`.

//! `palette`: a palette (codebook) address plus an optional residual leaf.
//!
//! **Palette** (`k` entries, `init`):
//! - `init=fp` (the origin's CLAM, §1.7): farthest-point sampling in squared L2 over the
//!   training rows. The first entry is the row of largest norm (ties: lowest index); each next
//!   entry is the row whose squared distance to its nearest chosen entry is largest (ties:
//!   lowest index). Entries are actual rows. When every training row already coincides with an
//!   entry (fewer than k distinct rows), sampling stops: the palette keeps fewer entries and
//!   the unused index values are never emitted (see [`PaletteCodec::entries`]).
//! - `init=kmeans`: k-means++ seeding and ≤ 25 Lloyd iterations (seeded) on at most 64·k
//!   training rows.
//! - Fewer training rows than k is an error: such a palette would hold every training row, code
//!   them exactly and report its ⌈log₂ k⌉-bit address as the row's cost (Pearson 1.0 at 2
//!   bytes per row) — a number no codec earns. With duplicates among k or more rows, `init=fp`
//!   may still keep fewer entries (above).
//! - A row's address is its nearest entry in squared L2 (ties: lowest index), stored in
//!   ⌈log₂ k⌉ bits (k = 256 → one byte; the origin's "2+4" HEEL+HIP address is a flat
//!   64-entry palette, as its I8Hybrid bench implemented it, §1.12).
//!
//! **Leaf** (what is kept of the residual r = x − c):
//! - `leaf=none` — **HhtlF32**: the index alone; decode = the entry.
//! - `leaf=svd` — **HhtlF32+SlotL** and the **P9 layouts**: the coefficients a_l = ⟨b_l, r⟩ on
//!   the top `lanes` eigenvectors b_l of the training residuals' second-moment matrix RᵀR/n
//!   (not mean-centred, as SlotL; subspace iteration with Rayleigh–Ritz ordering, so lane 0 is
//!   the direction of largest residual energy). Each lane is stored at its own width
//!   (`lanes=4xi16+4xi8`, …): an integer lane of b bits stores q = clamp(round(a·Q/s), ±Q),
//!   Q = 2^(b−1) − 1, with a per-lane shared scale s chosen on the training coefficients to
//!   minimise squared error over 64 clip levels (SlotL used one max-abs scale for all lanes);
//!   a `bf16` lane stores the coefficient itself. Positions are implicit (lane l = basis
//!   vector l), so the code is exactly address + lane bits.
//! - `leaf=jl` — **I8Hybrid, fixed**: the residual is rotated (`rot`, default a seeded
//!   randomized Hadamard, zero-padded to p = 2^⌈log₂ d⌉), the `lanes` largest |coordinates| are
//!   kept in descending order, and **each lane stores its position** (⌈log₂ p⌉ bits) next to
//!   its value. Integer lanes are scaled by the row's magnitude M = max |kept coordinate|,
//!   stored once per row as BF16 (rounded up, so no lane clips); `bf16` lanes store the value.
//!   Decode scatters the values to their stored positions and rotates back.
//!
//! **Scoring.** Asymmetric: per query a table ⟨q, c_j⟩ over the entries plus ⟨q, b_l⟩ (svd) or
//! the rotated query Πq (jl); estimate = table[index] + Σ_l value_l·(⟨q, b_l⟩ or (Πq)[pos_l]),
//! which equals ⟨q, decode(code)⟩ up to rounding. Symmetric (`pair`, none and svd):
//! ⟨c_a, c_b⟩ + Σ a_l⟨b_l, c_b⟩ + Σ b_l⟨b_l, c_a⟩ + aᵀGb with G the Gram matrix of the stored
//! basis; `leaf=jl` has no pair (with padding, the truncated inverse rotation does not
//! preserve inner products of the sparse residuals).
//!
//! **Bytes.** code bits = ⌈log₂ k⌉ + Σ lane bits (svd) or + 16 (magnitude, when some lane is
//! an integer) + lanes·(⌈log₂ p⌉ + lane bits) (jl); code bytes = ⌈bits/8⌉ (at least 1).
//! Model bytes = 4·entries·d (f32 palette) + 4·lanes·d + 4·lanes (svd basis and scales) or the
//! rotation's 8-byte seed (jl).

mod leaf;
mod params;

pub use leaf::{BASIS_ITERS, LEAF_MAX_ROWS};
pub use params::{
    LAYOUTS, LaneType, Lanes, LeafKind, MAX_K, MAX_LANES, PaletteInit, PaletteParams, index_bits,
};

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, RandomFit, ZeroRow, bytes,
    total,
};
use super::fields::bf16_round_up;
use super::spec::RawParams;
use super::{Codec, CodecSpec, Family, Grade, Scorer, dot_f64};
use crate::data::Rows;
use crate::error::{Error, Result};
use crate::linalg::bits::{BitReader, BitWriter};
use crate::linalg::farthest::{self, Stop};
use crate::linalg::kmeans::{self, KMeans, nearest};
use crate::linalg::{RotationKind, sample_indices, seeded_rng};
use half::bf16;
use leaf::{Leaf, dequantize, quantize};

const STREAM_PAL_SAMPLE: u64 = 0x5041_0000;
const STREAM_PAL_KMEANS: u64 = 0x5041_0001;
/// Lloyd iterations of `init=kmeans`.
pub const KMEANS_ITERS: usize = 25;
/// k-means trains on at most this many rows per entry.
pub const KMEANS_MAX_PER_ENTRY: usize = 64;

/// Farthest-point sampling (the origin's CLAM palette): indices of up to `k` rows. The first is
/// the row of largest norm; each next one maximises the squared L2 distance to its nearest
/// chosen row (ties: lowest index). Stops early once every row coincides with a chosen one.
pub fn farthest_point(rows: &Rows, k: usize) -> Vec<usize> {
    let norms: Vec<f64> = rows.iter().map(|r| dot_f64(r, r)).collect();
    farthest::farthest_point(
        rows.len(),
        k,
        farthest::first_max(&norms),
        |i, c| kmeans::sq_dist(rows.row(i), rows.row(c)),
        Stop::WhenCovered,
    )
}

/// The decoded fields of one code (for inspection and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFields {
    /// Palette index.
    pub index: u32,
    /// BF16 bits of the per-row magnitude (`leaf=jl` with an integer lane).
    pub magnitude: Option<u16>,
    /// Stored position of each lane (`leaf=jl`; empty otherwise).
    pub positions: Vec<u32>,
    /// Stored field of each lane (two's complement integer or BF16 bits).
    pub values: Vec<u32>,
}

/// A fitted palette (+ leaf) codec.
#[derive(Debug, Clone)]
pub struct PaletteCodec {
    params: PaletteParams,
    dim: usize,
    /// entries × d, row-major.
    palette: Vec<f32>,
    entries: usize,
    k_bits: u32,
    leaf: Leaf,
}

impl PaletteCodec {
    /// Fit the palette and the leaf on `train` (randomness from `seed`).
    pub fn fit(params: &PaletteParams, train: &Rows, seed: u64) -> Result<Self> {
        let d = train.dim().max(1);
        let k = params.k;
        if train.is_empty() {
            return Err(Error::BadParam {
                codec: "palette".to_string(),
                key: "k".to_string(),
                value: k.to_string(),
                expected: "at least one training row".to_string(),
            });
        }
        // Fewer training rows than k: the palette would be the training rows themselves.
        if train.len() < k {
            return Err(Error::BadParam {
                codec: "palette".to_string(),
                key: "k".to_string(),
                value: k.to_string(),
                expected: format!(
                    "k ≤ the {} training rows (a palette of k entries needs at least k rows)",
                    train.len()
                ),
            });
        }
        let palette: Vec<f32> = match params.init {
            PaletteInit::Fp => {
                let idx = farthest_point(train, k);
                let mut p = Vec::with_capacity(idx.len() * d);
                for &i in &idx {
                    p.extend_from_slice(train.row(i));
                }
                p
            }
            PaletteInit::Kmeans => {
                let cap = KMEANS_MAX_PER_ENTRY.saturating_mul(k);
                let sub = subsample(train, cap, seed, STREAM_PAL_SAMPLE);
                KMeans::fit(
                    sub.as_slice(),
                    d,
                    k,
                    KMEANS_ITERS,
                    &mut seeded_rng(seed, STREAM_PAL_KMEANS),
                )
                .centroids
            }
        };
        let entries = palette.len() / d;
        let mut codec = PaletteCodec {
            params: params.clone(),
            dim: d,
            palette,
            entries,
            k_bits: index_bits(k),
            leaf: Leaf::None,
        };
        codec.leaf = Leaf::fit(&codec, train, seed);
        Ok(codec)
    }

    /// Palette entries actually stored (≤ k; fewer only when the training rows hold fewer than
    /// k distinct rows under `init=fp`).
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Palette entry `j`.
    pub fn entry(&self, j: usize) -> &[f32] {
        &self.palette[j * self.dim..(j + 1) * self.dim]
    }

    /// Index of the nearest entry (squared L2, ties: lowest index).
    pub fn nearest(&self, x: &[f32]) -> usize {
        nearest(x, &self.palette, self.dim).0
    }

    /// Exact bits of one code (before rounding up to bytes).
    pub fn code_bits(&self) -> usize {
        self.params.code_bits(self.dim)
    }

    /// The leaf basis (`leaf=svd`): lanes × d, row-major.
    pub fn basis(&self) -> Option<&[f32]> {
        match &self.leaf {
            Leaf::Svd { basis, .. } => Some(basis),
            Leaf::None | Leaf::Jl { .. } => None,
        }
    }

    /// Read the fields of a code.
    pub fn fields(&self, code: &[u8]) -> CodeFields {
        let mut r = BitReader::new(code);
        let index = r.read(self.k_bits);
        let lanes = &self.params.lanes.0;
        let mut f = CodeFields {
            index,
            magnitude: None,
            positions: Vec::new(),
            values: Vec::new(),
        };
        match &self.leaf {
            Leaf::None => {}
            Leaf::Svd { .. } => {
                f.values = lanes.iter().map(|t| r.read(t.bits())).collect();
            }
            Leaf::Jl {
                pos_bits, has_int, ..
            } => {
                if *has_int {
                    f.magnitude = Some(r.read(16) as u16);
                }
                for t in lanes {
                    f.positions.push(r.read(*pos_bits));
                    f.values.push(r.read(t.bits()));
                }
            }
        }
        f
    }

    /// Write fields into a code (`out.len() == code_bytes`); the inverse of [`Self::fields`].
    pub fn write_fields(&self, f: &CodeFields, out: &mut [u8]) {
        out.fill(0);
        let mut w = BitWriter::new(out);
        w.write(f.index, self.k_bits);
        let lanes = &self.params.lanes.0;
        match &self.leaf {
            Leaf::None => {}
            Leaf::Svd { .. } => {
                for (t, &v) in lanes.iter().zip(&f.values) {
                    w.write(v, t.bits());
                }
            }
            Leaf::Jl {
                pos_bits, has_int, ..
            } => {
                if *has_int {
                    w.write(f.magnitude.unwrap_or(0) as u32, 16);
                }
                for ((t, &p), &v) in lanes.iter().zip(&f.positions).zip(&f.values) {
                    w.write(p, *pos_bits);
                    w.write(v, t.bits());
                }
            }
        }
    }

    /// The palette index (clamped to the stored entries) and each lane's (position, value):
    /// position = basis lane (svd) or rotated coordinate (jl, clamped to p − 1).
    fn walk(&self, code: &[u8], mut lane: impl FnMut(usize, f64)) -> usize {
        let mut r = BitReader::new(code);
        let index = (r.read(self.k_bits) as usize).min(self.entries - 1);
        let lanes = &self.params.lanes.0;
        match &self.leaf {
            Leaf::None => {}
            Leaf::Svd { scales, .. } => {
                for (l, (&t, &s)) in lanes.iter().zip(scales).enumerate() {
                    let v = dequantize(t, r.read(t.bits()), s as f64);
                    lane(l, v);
                }
            }
            Leaf::Jl {
                rot,
                pos_bits,
                has_int,
            } => {
                let m = if *has_int {
                    bf16::from_bits(r.read(16) as u16).to_f64()
                } else {
                    0.0
                };
                for &t in lanes {
                    let p = (r.read(*pos_bits) as usize).min(rot.out_dim() - 1);
                    let v = dequantize(t, r.read(t.bits()), m);
                    lane(p, v);
                }
            }
        }
        index
    }

    fn encode_fields(&self, row: &[f32]) -> CodeFields {
        let d = self.dim;
        let index = self.nearest(row);
        let c = self.entry(index);
        let resid: Vec<f64> = row
            .iter()
            .zip(c)
            .map(|(&a, &b)| a as f64 - b as f64)
            .collect();
        let lanes = &self.params.lanes.0;
        let mut f = CodeFields {
            index: index as u32,
            magnitude: None,
            positions: Vec::new(),
            values: Vec::new(),
        };
        match &self.leaf {
            Leaf::None => {}
            Leaf::Svd { basis, scales, .. } => {
                f.values = lanes
                    .iter()
                    .enumerate()
                    .map(|(l, &t)| {
                        let a: f64 = basis[l * d..(l + 1) * d]
                            .iter()
                            .zip(&resid)
                            .map(|(&b, &r)| b as f64 * r)
                            .sum();
                        quantize(t, a, scales[l] as f64)
                    })
                    .collect();
            }
            Leaf::Jl { rot, has_int, .. } => {
                let p = rot.out_dim();
                let mut y = vec![0f64; p];
                rot.apply_f64(&resid, &mut y);
                let mut order: Vec<usize> = (0..p).collect();
                // Descending |y|, ties by lower index (stable sort keeps index order).
                order.sort_by(|&a, &b| y[b].abs().total_cmp(&y[a].abs()));
                let kept = lanes.len().min(p);
                let mag = y[order[0]].abs();
                let m = if *has_int {
                    let b = bf16_round_up(mag);
                    f.magnitude = Some(b.to_bits());
                    b.to_f64()
                } else {
                    0.0
                };
                for (l, &t) in lanes.iter().enumerate() {
                    if l < kept {
                        let pos = order[l];
                        f.positions.push(pos as u32);
                        f.values.push(quantize(t, y[pos], m));
                    } else {
                        f.positions.push(0);
                        f.values.push(quantize(t, 0.0, m));
                    }
                }
            }
        }
        f
    }
}

/// At most `cap` rows of `rows` (a seeded sample, kept in order), or all of them.
fn subsample(rows: &Rows, cap: usize, seed: u64, stream: u64) -> Rows {
    rows.select(&sample_indices(
        rows.len(),
        cap,
        &mut seeded_rng(seed, stream),
    ))
}

struct PaletteScorer<'a> {
    codec: &'a PaletteCodec,
    /// ⟨q, c_j⟩ per entry.
    table: Vec<f64>,
    /// ⟨q, b_l⟩ (svd) or Πq (jl).
    lane_q: Vec<f64>,
}

impl Scorer for PaletteScorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        let mut leaf = 0f64;
        let i = self.codec.walk(code, |p, v| leaf += v * self.lane_q[p]);
        self.table[i] + leaf
    }
}

/// The `palette` declaration (see [`CodecDecl`]).
pub struct PaletteDecl;

impl CodecDecl for PaletteDecl {
    type Params = PaletteParams;
    const INFO: CodecInfo = CodecInfo {
        name: "palette",
        summary: "the origin's palette + residual hybrids done right: farthest-point (or k-means) palette address in ⌈log₂ k⌉ bits; leaf=none is HhtlF32, leaf=svd adds lanes on a shared SVD basis of the residuals (SlotL; the P9 layouts), leaf=jl is I8Hybrid with the kept positions stored and a BF16 per-row magnitude; ⌈bits/8⌉ bytes; model 4·k·d (+4·lanes·(d+1) svd, +8 seed jl); error if training rows < k",
        reference: "origin lance-graph PR #189 hhtl_f32.rs, slot_l.rs, I8Hybrid (origin.md §1.6, §1.7, §1.12, P9 §4)",
        grade: Grade::Reconstruction,
        family: Family::PaletteLeaf,
        params: &[
            ParamInfo {
                key: "k",
                values: "1..=65536",
                default: "256",
                doc: "palette entries (address bits = ⌈log₂ k⌉; the origin's 2+4 HEEL+HIP = 64, 2+8 = 1024)",
            },
            ParamInfo {
                key: "init",
                values: "fp | kmeans",
                default: "fp",
                doc: "farthest-point sampling from the largest-norm row (the origin's CLAM) or k-means++ / 25 Lloyd iterations",
            },
            ParamInfo {
                key: "leaf",
                values: "none | svd | jl",
                default: "none",
                doc: "no leaf (HhtlF32), lanes on the residuals' SVD basis (SlotL, P9 layouts), or the largest rotated residual coordinates with stored positions (I8Hybrid, grade hybrid)",
            },
            ParamInfo {
                key: "lanes",
                values: "NxT(+NxT)*, T in i16|i8|i4|i2|bf16",
                default: "8xi8",
                doc: "leaf lanes in order (leaf=svd|jl); integer lanes use per-lane fitted scales (svd) or the row magnitude (jl)",
            },
            ParamInfo {
                key: "rot",
                values: RotationKind::VALUES,
                default: "hadamard",
                doc: "rotation of the jl leaf (seed-regenerated, 8 model bytes); positions take ⌈log₂ p⌉ bits",
            },
            ParamInfo {
                key: "layout",
                values: "i8-baseline | wide-hip | mixed-leaf | compact-leaf | bf16-leaf | stacked",
                default: "(none)",
                doc: "a P9 resolution layout: sets k and lanes with leaf=svd (prints as its k/lanes form)",
            },
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<PaletteParams> {
        PaletteParams::from_raw(raw)
    }
    fn fit(p: &PaletteParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(PaletteCodec::fit(p, train, seed)?))
    }
    /// The palette fit (farthest-point over every training row, or k-means on at most 64·k
    /// rows) and the palette; the leaf: svd — at most 16384 rows' residuals in f64, the d×d
    /// second moment and the subspace iteration's lanes × d blocks; jl — the rotation.
    fn fit_bytes(p: &PaletteParams, train_rows: usize, dim: usize) -> u64 {
        let d = dim.max(1);
        let k = p.k.min(train_rows).max(1);
        let fit = match p.init {
            PaletteInit::Fp => total(&[bytes(train_rows, 8), farthest::fit_bytes(train_rows, k)]),
            PaletteInit::Kmeans => {
                let rows = train_rows.min(KMEANS_MAX_PER_ENTRY.saturating_mul(k));
                KMeans::sampled_fit_bytes(rows, d, k, KMEANS_ITERS)
            }
        };
        let leaf = Leaf::fit_bytes(p, train_rows, d, k);
        total(&[
            FIT_BYTES_FIXED,
            fit,
            bytes(k, 4).saturating_mul(d as u64),
            leaf,
        ])
    }
    fn capabilities(p: &PaletteParams) -> Capabilities {
        Capabilities {
            // With padding, the truncated inverse rotation does not preserve inner products
            // of the sparse jl residuals.
            pairs: p.leaf != LeafKind::Jl,
            zero_row: ZeroRow::Trained,
            random_fit: RandomFit::when(
                p.init == PaletteInit::Kmeans
                    || p.leaf == LeafKind::Svd
                    || (p.leaf == LeafKind::Jl && p.rot != RotationKind::None),
            ),
            palette_of_rows: true,
            min_train_rows: p.k,
            ..Capabilities::RECONSTRUCTION
        }
    }
    fn grade(p: &PaletteParams) -> Grade {
        match p.leaf {
            LeafKind::Jl => Grade::Hybrid,
            LeafKind::None | LeafKind::Svd => Grade::Reconstruction,
        }
    }
}

impl Codec for PaletteCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Palette(self.params.clone())
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        self.code_bits().div_ceil(8).max(1)
    }
    fn model_bytes(&self) -> usize {
        4 * self.entries * self.dim
            + match &self.leaf {
                Leaf::None => 0,
                Leaf::Svd { basis, scales, .. } => 4 * basis.len() + 4 * scales.len(),
                Leaf::Jl { rot, .. } => rot.model_bytes(),
            }
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        let f = self.encode_fields(row);
        self.write_fields(&f, out);
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        let d = self.dim;
        let mut acc = vec![0f64; d];
        let index = match &self.leaf {
            Leaf::None => self.walk(code, |_, _| {}),
            Leaf::Svd { basis, .. } => self.walk(code, |l, v| {
                for (a, &b) in acc.iter_mut().zip(&basis[l * d..(l + 1) * d]) {
                    *a += v * b as f64;
                }
            }),
            Leaf::Jl { rot, .. } => {
                let mut y = vec![0f64; rot.out_dim()];
                let i = self.walk(code, |p, v| y[p] += v);
                rot.apply_transpose(&y, &mut acc);
                i
            }
        };
        for ((o, &c), a) in out.iter_mut().zip(self.entry(index)).zip(&acc) {
            *o = (c as f64 + a) as f32;
        }
        Ok(())
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        let d = self.dim;
        let table: Vec<f64> = (0..self.entries)
            .map(|j| dot_f64(query, self.entry(j)))
            .collect();
        let lane_q = match &self.leaf {
            Leaf::None => Vec::new(),
            Leaf::Svd { basis, .. } => basis.chunks_exact(d).map(|b| dot_f64(query, b)).collect(),
            Leaf::Jl { rot, .. } => {
                let mut y = vec![0f64; rot.out_dim()];
                rot.apply(query, &mut y);
                y
            }
        };
        Box::new(PaletteScorer {
            codec: self,
            table,
            lane_q,
        })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        match &self.leaf {
            Leaf::None => {
                let (i, j) = (self.walk(a, |_, _| {}), self.walk(b, |_, _| {}));
                Ok(dot_f64(self.entry(i), self.entry(j)))
            }
            Leaf::Svd { gram, cb, .. } => {
                let nl = self.params.lanes.len();
                let (mut va, mut vb) = (vec![0f64; nl], vec![0f64; nl]);
                let i = self.walk(a, |l, v| va[l] = v);
                let j = self.walk(b, |l, v| vb[l] = v);
                let mut s = dot_f64(self.entry(i), self.entry(j));
                for l in 0..nl {
                    s += va[l] * cb[j * nl + l] + vb[l] * cb[i * nl + l];
                    for m in 0..nl {
                        s += va[l] * gram[l * nl + m] * vb[m];
                    }
                }
                Ok(s)
            }
            Leaf::Jl { .. } => Err(self.unsupported("symmetric (code-vs-code) scoring")),
        }
    }
}
