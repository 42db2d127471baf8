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
//! - Fewer training rows than k: the palette holds every training row (`entries()` says how
//!   many) and the address keeps its declared ⌈log₂ k⌉ bits; `probe resolution` refuses such
//!   populations itself, so its layouts are always what they declare.
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

use super::decl::{Capabilities, CodecDecl, CodecInfo, ParamInfo, RandomFit, ZeroRow};
use super::fields::bf16_round_up;
use super::spec::RawParams;
use super::{Codec, CodecSpec, Family, Grade, Scorer, dot_f64};
use crate::data::Rows;
use crate::error::{Error, Result};
use crate::linalg::bits::{BitReader, BitWriter};
use crate::linalg::farthest::{self, Stop};
use crate::linalg::kmeans::{self, KMeans, nearest};
use crate::linalg::subspace::top_eigenvectors;
use crate::linalg::{Rotation, RotationKind, sample_indices, seeded_rng};
use half::bf16;

use rayon::prelude::*;
use std::fmt;

const STREAM_PAL_SAMPLE: u64 = 0x5041_0000;
const STREAM_PAL_KMEANS: u64 = 0x5041_0001;
const STREAM_PAL_BASIS: u64 = 0x5041_0002;
const STREAM_PAL_ROT: u64 = 0x5041_0003;
/// Lloyd iterations of `init=kmeans`.
pub const KMEANS_ITERS: usize = 25;
/// k-means trains on at most this many rows per entry.
pub const KMEANS_MAX_PER_ENTRY: usize = 64;
/// The leaf basis and scales are fitted on at most this many training residuals.
pub const LEAF_MAX_ROWS: usize = 16384;
/// Subspace-iteration steps for the leaf basis.
pub const BASIS_ITERS: usize = 120;
/// Largest palette.
pub const MAX_K: usize = 65536;
/// Most leaf lanes.
pub const MAX_LANES: usize = 64;
/// Clip levels tried per integer lane.
const CLIP_LEVELS: usize = 64;

/// How the palette is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaletteInit {
    /// Farthest-point sampling (the origin's CLAM).
    Fp,
    /// k-means++ / Lloyd.
    Kmeans,
}

/// What the leaf keeps of the residual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafKind {
    /// No leaf (HhtlF32).
    None,
    /// Coefficients on a shared SVD basis (SlotL, the P9 layouts).
    Svd,
    /// Largest rotated coordinates with stored positions and a per-row magnitude (I8Hybrid).
    Jl,
}

/// Storage type of one leaf lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaneType {
    /// 16-bit integer.
    I16,
    /// 8-bit integer.
    I8,
    /// 4-bit integer.
    I4,
    /// 2-bit integer ({−1, 0, 1}).
    I2,
    /// bfloat16 value.
    Bf16,
}

impl LaneType {
    /// Stored bits.
    pub fn bits(self) -> u32 {
        match self {
            LaneType::I16 | LaneType::Bf16 => 16,
            LaneType::I8 => 8,
            LaneType::I4 => 4,
            LaneType::I2 => 2,
        }
    }
    /// Largest integer level Q = 2^(b−1) − 1 (None for bf16).
    pub fn qmax(self) -> Option<i32> {
        match self {
            LaneType::Bf16 => None,
            t @ (LaneType::I16 | LaneType::I8 | LaneType::I4 | LaneType::I2) => {
                Some((1i32 << (t.bits() - 1)) - 1)
            }
        }
    }
    fn name(self) -> &'static str {
        match self {
            LaneType::I16 => "i16",
            LaneType::I8 => "i8",
            LaneType::I4 => "i4",
            LaneType::I2 => "i2",
            LaneType::Bf16 => "bf16",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "i16" => LaneType::I16,
            "i8" => LaneType::I8,
            "i4" => LaneType::I4,
            "i2" => LaneType::I2,
            "bf16" => LaneType::Bf16,
            _ => return None,
        })
    }
}

/// The leaf's lanes in order, written `NxT+NxT…` (e.g. `4xi16+4xi8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lanes(pub Vec<LaneType>);

impl Lanes {
    /// Parse `NxT(+NxT)*`; 1..=64 lanes in total.
    pub fn parse(s: &str) -> Option<Lanes> {
        let mut v = Vec::new();
        for group in s.split('+') {
            let (n, t) = group.trim().split_once('x')?;
            let n: usize = n.trim().parse().ok().filter(|&n| n >= 1)?;
            let t = LaneType::parse(t.trim())?;
            if n > MAX_LANES - v.len() {
                return None;
            }
            v.extend(std::iter::repeat_n(t, n));
        }
        (!v.is_empty()).then_some(Lanes(v))
    }
    /// Number of lanes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are no lanes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Σ lane bits.
    pub fn bits(&self) -> usize {
        self.0.iter().map(|t| t.bits() as usize).sum()
    }
}

impl fmt::Display for Lanes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut i = 0;
        while i < self.0.len() {
            let t = self.0[i];
            let n = self.0[i..].iter().take_while(|&&u| u == t).count();
            if !first {
                f.write_str("+")?;
            }
            write!(f, "{n}x{}", t.name())?;
            first = false;
            i += n;
        }
        Ok(())
    }
}

/// The origin's six P9 resolution layouts (origin.md §4): name, palette entries (2^address
/// bits), leaf lanes.
pub const LAYOUTS: [(&str, usize, &str); 6] = [
    ("i8-baseline", 64, "8xi8"),
    ("wide-hip", 1024, "8xi8"),
    ("mixed-leaf", 64, "4xi16+4xi8"),
    ("compact-leaf", 64, "4xi8"),
    ("bf16-leaf", 64, "2xbf16"),
    ("stacked", 64, "2xi16+2xi8+2xi4+2xi2"),
];

/// Parameters of [`PaletteCodec`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaletteParams {
    /// Palette entries.
    pub k: usize,
    /// Palette construction.
    pub init: PaletteInit,
    /// Residual leaf.
    pub leaf: LeafKind,
    /// Leaf lanes (ignored for `leaf=none`).
    pub lanes: Lanes,
    /// Rotation of the `jl` leaf.
    pub rot: RotationKind,
}

impl Default for PaletteParams {
    fn default() -> Self {
        PaletteParams {
            k: 256,
            init: PaletteInit::Fp,
            leaf: LeafKind::None,
            lanes: Lanes(vec![LaneType::I8; 8]),
            rot: RotationKind::Hadamard,
        }
    }
}

impl PaletteParams {
    /// A P9 layout by name (`i8-baseline`, `wide-hip`, …): farthest-point palette, svd leaf.
    pub fn layout(name: &str) -> Option<PaletteParams> {
        let &(_, k, lanes) = LAYOUTS.iter().find(|l| l.0 == name)?;
        Some(PaletteParams {
            k,
            leaf: LeafKind::Svd,
            lanes: Lanes::parse(lanes)?,
            ..PaletteParams::default()
        })
    }

    /// Exact bits of one code for rows of `dim` values (address + leaf; see the module doc).
    pub fn code_bits(&self, dim: usize) -> usize {
        let lanes = &self.lanes;
        let has_int = lanes.0.iter().any(|t| t.qmax().is_some());
        index_bits(self.k) as usize
            + match self.leaf {
                LeafKind::None => 0,
                LeafKind::Svd => lanes.bits(),
                LeafKind::Jl => {
                    let p = match self.rot {
                        RotationKind::Hadamard => dim.max(1).next_power_of_two(),
                        RotationKind::Haar | RotationKind::None => dim.max(1),
                    };
                    16 * usize::from(has_int) + lanes.len() * index_bits(p) as usize + lanes.bits()
                }
            }
    }

    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = PaletteParams::default();
        let layout = raw.take("layout");
        if let Some(name) = &layout {
            let names: Vec<&str> = LAYOUTS.iter().map(|l| l.0).collect();
            p = PaletteParams::layout(name)
                .ok_or_else(|| raw.bad("layout", name, &names.join(" | ")))?;
        }
        let lanes_given = raw.take("lanes");
        let rot_given = raw.take("rot");
        if let Some(v) = raw.take("k") {
            if layout.is_some() {
                return Err(raw.bad("k", &v, "no k together with layout= (the layout fixes k)"));
            }
            p.k = match v.parse::<usize>() {
                Ok(k) if (1..=MAX_K).contains(&k) => k,
                _ => return Err(raw.bad("k", &v, "an integer in 1..=65536")),
            };
        }
        if let Some(v) = raw.take("init") {
            p.init = match v.as_str() {
                "fp" => PaletteInit::Fp,
                "kmeans" => PaletteInit::Kmeans,
                _ => return Err(raw.bad("init", &v, "fp | kmeans")),
            };
        }
        if let Some(v) = raw.take("leaf") {
            let leaf = match v.as_str() {
                "none" => LeafKind::None,
                "svd" => LeafKind::Svd,
                "jl" => LeafKind::Jl,
                _ => return Err(raw.bad("leaf", &v, "none | svd | jl")),
            };
            if layout.is_some() && leaf != LeafKind::Svd {
                return Err(raw.bad("leaf", &v, "svd (the layouts are svd leaves)"));
            }
            p.leaf = leaf;
        }
        if let Some(v) = lanes_given {
            if layout.is_some() {
                return Err(raw.bad("lanes", &v, "no lanes together with layout="));
            }
            if p.leaf == LeafKind::None {
                return Err(raw.bad("lanes", &v, "lanes only with leaf=svd or leaf=jl"));
            }
            p.lanes = Lanes::parse(&v).ok_or_else(|| {
                raw.bad(
                    "lanes",
                    &v,
                    "NxT(+NxT)* with T in i16|i8|i4|i2|bf16, 1..=64 lanes",
                )
            })?;
        }
        if let Some(v) = rot_given {
            if p.leaf != LeafKind::Jl {
                return Err(raw.bad("rot", &v, "rot only with leaf=jl"));
            }
            p.rot =
                RotationKind::parse(&v).ok_or_else(|| raw.bad("rot", &v, RotationKind::VALUES))?;
        }
        Ok(p)
    }
}

impl fmt::Display for PaletteParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let init = match self.init {
            PaletteInit::Fp => "fp",
            PaletteInit::Kmeans => "kmeans",
        };
        let leaf = match self.leaf {
            LeafKind::None => "none",
            LeafKind::Svd => "svd",
            LeafKind::Jl => "jl",
        };
        write!(f, "k={},init={init},leaf={leaf}", self.k)?;
        if self.leaf != LeafKind::None {
            write!(f, ",lanes={}", self.lanes)?;
        }
        if self.leaf == LeafKind::Jl {
            write!(f, ",rot={}", self.rot)?;
        }
        Ok(())
    }
}

/// ⌈log₂ n⌉ (0 for n ≤ 1).
pub fn index_bits(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

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

/// Quantize `a` to a lane of type `t` with scale `s` (integer lanes): the stored field.
fn quantize(t: LaneType, a: f64, s: f64) -> u32 {
    match t.qmax() {
        None => bf16::from_f64(a).to_bits() as u32,
        Some(q) => {
            let v = if s > 0.0 {
                (a / s * q as f64).round().clamp(-(q as f64), q as f64) as i32
            } else {
                0
            };
            (v as u32) & ((1u32 << t.bits()) - 1)
        }
    }
}

/// The value a stored field stands for.
fn dequantize(t: LaneType, field: u32, s: f64) -> f64 {
    match t.qmax() {
        None => bf16::from_bits(field as u16).to_f64(),
        Some(q) => {
            let b = t.bits();
            // Sign-extend the b-bit two's complement field.
            let v = ((field << (32 - b)) as i32) >> (32 - b);
            v as f64 * s / q as f64
        }
    }
}

/// Per-lane scale minimising Σ (a − Q(a))² over the training coefficients among 64 clip levels
/// s = max|a|·j/64, j = 1..=64 (largest j wins ties, so s = max|a| when nothing is better).
fn best_scale(t: LaneType, coeffs: &[f64]) -> f64 {
    let max = coeffs.iter().fold(0f64, |m, &a| m.max(a.abs()));
    if max == 0.0 || t.qmax().is_none() {
        return max;
    }
    let mut best = (f64::INFINITY, max);
    for j in (1..=CLIP_LEVELS).rev() {
        // Round the candidate to f32 first: the stored scale is what encode and decode use.
        let s = (max * j as f64 / CLIP_LEVELS as f64) as f32 as f64;
        let err: f64 = coeffs
            .iter()
            .map(|&a| {
                let e = a - dequantize(t, quantize(t, a, s), s);
                e * e
            })
            .sum();
        if err < best.0 {
            best = (err, s);
        }
    }
    best.1
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

#[derive(Debug, Clone)]
enum Leaf {
    None,
    Svd {
        /// lanes × d, row-major (zero rows for lanes beyond d).
        basis: Vec<f32>,
        /// Per-lane scale (integer lanes; unused for bf16).
        scales: Vec<f32>,
        /// Gram matrix of the stored basis, lanes × lanes (for `pair`).
        gram: Vec<f64>,
        /// ⟨c_j, b_l⟩, entries × lanes (for `pair`).
        cb: Vec<f64>,
    },
    Jl {
        rot: Rotation,
        pos_bits: u32,
        has_int: bool,
    },
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
        // Fewer training rows than k: the palette holds every training row (documented
        // fallback, as cascade does); the address keeps its declared ⌈log₂ k⌉ bits.
        let k_fit = k.min(train.len());
        let palette: Vec<f32> = match params.init {
            PaletteInit::Fp => {
                let idx = farthest_point(train, k_fit);
                let mut p = Vec::with_capacity(idx.len() * d);
                for &i in &idx {
                    p.extend_from_slice(train.row(i));
                }
                p
            }
            PaletteInit::Kmeans => {
                let cap = KMEANS_MAX_PER_ENTRY.saturating_mul(k_fit);
                let sub = subsample(train, cap, seed, STREAM_PAL_SAMPLE);
                KMeans::fit(
                    sub.as_slice(),
                    d,
                    k_fit,
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
        codec.leaf = match params.leaf {
            LeafKind::None => Leaf::None,
            LeafKind::Svd => codec.fit_svd(train, seed),
            LeafKind::Jl => {
                let rot = Rotation::new(params.rot, d, 1, &mut seeded_rng(seed, STREAM_PAL_ROT));
                Leaf::Jl {
                    pos_bits: index_bits(rot.out_dim()),
                    has_int: params.lanes.0.iter().any(|t| t.qmax().is_some()),
                    rot,
                }
            }
        };
        Ok(codec)
    }

    fn fit_svd(&self, train: &Rows, seed: u64) -> Leaf {
        let d = self.dim;
        let lanes = &self.params.lanes.0;
        let sub = subsample(train, LEAF_MAX_ROWS, seed, STREAM_PAL_SAMPLE + 1);
        let residuals: Vec<Vec<f64>> = sub
            .as_slice()
            .par_chunks(d)
            .map(|x| {
                let c = self.entry(self.nearest(x));
                x.iter()
                    .zip(c)
                    .map(|(&a, &b)| a as f64 - b as f64)
                    .collect()
            })
            .collect();
        // Second moment RᵀR / n (upper triangle, then mirrored).
        let n = residuals.len().max(1) as f64;
        let mut m2 = vec![0f64; d * d];
        m2.par_chunks_mut(d).enumerate().for_each(|(i, row)| {
            for r in &residuals {
                if r[i] != 0.0 {
                    let ri = r[i] / n;
                    for j in i..d {
                        row[j] += ri * r[j];
                    }
                }
            }
        });
        for i in 0..d {
            for j in 0..i {
                m2[i * d + j] = m2[j * d + i];
            }
        }
        let top = top_eigenvectors(
            &m2,
            d,
            lanes.len(),
            BASIS_ITERS,
            &mut seeded_rng(seed, STREAM_PAL_BASIS),
        );
        let mut basis = vec![0f32; lanes.len() * d];
        for (b, t) in basis.iter_mut().zip(&top) {
            *b = *t as f32;
        }
        let scales: Vec<f32> = lanes
            .iter()
            .enumerate()
            .map(|(l, &t)| {
                let b = &basis[l * d..(l + 1) * d];
                let coeffs: Vec<f64> = residuals
                    .iter()
                    .map(|r| b.iter().zip(r).map(|(&x, &y)| x as f64 * y).sum())
                    .collect();
                best_scale(t, &coeffs) as f32
            })
            .collect();
        let nl = lanes.len();
        let mut gram = vec![0f64; nl * nl];
        for i in 0..nl {
            for j in 0..nl {
                gram[i * nl + j] = dot_f64(&basis[i * d..(i + 1) * d], &basis[j * d..(j + 1) * d]);
            }
        }
        let mut cb = vec![0f64; self.entries * nl];
        cb.par_chunks_mut(nl.max(1))
            .enumerate()
            .for_each(|(j, row)| {
                for (l, o) in row.iter_mut().enumerate() {
                    *o = dot_f64(self.entry(j), &basis[l * d..(l + 1) * d]);
                }
            });
        Leaf::Svd {
            basis,
            scales,
            gram,
            cb,
        }
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
                values: "haar | hadamard | none",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_print_canonically() {
        let l = Lanes::parse("1xi8+1xi8+2xi4").unwrap();
        assert_eq!(l.to_string(), "2xi8+2xi4");
        assert_eq!(l.bits(), 24);
        assert!(Lanes::parse("0xi8").is_none());
        assert!(Lanes::parse("65xi2").is_none());
        assert!(Lanes::parse("2xi3").is_none());
    }

    #[test]
    fn lane_fields_round_trip() {
        for t in [LaneType::I16, LaneType::I8, LaneType::I4, LaneType::I2] {
            let q = t.qmax().unwrap();
            for v in [-q, -1, 0, 1, q] {
                let s = q as f64; // scale = Q ⇒ the value is the integer itself
                let f = quantize(t, v as f64, s);
                assert!(f < (1 << t.bits()));
                assert_eq!(dequantize(t, f, s), v as f64, "{t:?} {v}");
            }
        }
        let f = quantize(LaneType::Bf16, 1.5, 0.0);
        assert_eq!(dequantize(LaneType::Bf16, f, 0.0), 1.5);
    }

    #[test]
    fn index_bits_are_ceil_log2() {
        assert_eq!(index_bits(1), 0);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(64), 6);
        assert_eq!(index_bits(65), 7);
        assert_eq!(index_bits(256), 8);
        assert_eq!(index_bits(1024), 10);
    }
}
