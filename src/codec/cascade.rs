// Source: the origin's CodecCascade / CascadeBackend and FisherZTable (`../shared/reference/
// origin.md` §1.3, §1.10, §1.13; `crates/bgz-tensor/src/{hhtl_cache,cascade,fisher_z}.rs` of
// lance-graph PR #189): a 1-byte palette index per row (k ≤ 256, farthest-point palette) and a
// shared k×k table of centroid similarities, `q = (z − z_min)/z_range·254 − 127` in i8 with
// `z = atanh(clamp(cos, ±0.9999))`, scored by table lookup.
// Method: R. A. Fisher, "On the 'probable error' of a coefficient of correlation deduced from a
// small sample", Metron 1, 1921 (z = atanh r); Lloyd 1982 / k-means++ (Arthur & Vassilvitskii
// 2007) or farthest-point sampling (T. F. Gonzalez, "Clustering to minimize the maximum
// intercluster distance", TCS 38, 1985) for the palette.

//! `cascade`: a palette index per row plus a Fisher-z i8 table of centroid cosines.
//!
//! What the origin got wrong and this fixes (origin.md §1.3, §1.10, §7.4):
//! - its palette and distances lived in Base17 (17 coarse integers, L1 floor-divided by 17), so
//!   the table held a handful of distinct values; here the palette is fitted on the **unit
//!   training rows** in full dimension and the table holds their exact cosines;
//! - `FamilyGamma::encode` truncated with `as i8`; here the Fisher-z code is **rounded**;
//! - its z-range was calibrated on a set that includes the diagonal (cos = 1 ⇒ z = atanh 0.9999
//!   ≈ 4.95), which spends most of the i8 range on one value; here `z_min`, `z_range` come from
//!   the **off-diagonal** cosines (the diagonal saturates at +127 and decodes to the largest
//!   off-diagonal cosine, still the top value of its row);
//! - `k > 256` wrapped the u8 index (invariant I4); here k ≤ 256 is a parse-time rule.
//!
//! Fit: `k_eff = min(k, training rows)` centroids. `fit=kmeans` (default): k-means++ and up to
//! 15 Lloyd iterations (`linalg::kmeans`) on a seeded sample of at most 16·k unit rows, then
//! each centroid normalised to a direction (a zero centroid stays zero). `fit=fps`: the origin's
//! farthest-point sampling — start at the training row of largest norm, repeatedly add the
//! unit row with the largest cosine distance 1 − cos to the chosen set (actual rows, no seed).
//!
//! Encode: the index of the centroid with the largest cosine to the row (ties: lowest index;
//! the zero row gets index 0); `norm=bf16` also stores bf16(‖x‖).
//!
//! Scores (signature grade: no decode):
//! - symmetric (`pair`, the origin's lookup): `fz(T[a][b])`, times `g_a·g_b` with `norm=bf16`,
//!   where `fz(q) = tanh(z_min + (q + 127)/254·z_range)`;
//! - asymmetric (`scorer`), the honest thing — the query is exact, so it is not snapped to its
//!   own cell: `⟨query, c_idx⟩` with c the unit centroid direction, times g with `norm=bf16`.
//!   (Without the norm this ranks rows by their cell only, which is what a 1-byte code holds.)
//!
//! Bytes: code = 1 (+2 with `norm=bf16`); model = 4·k·d (f32 unit palette) + k² (i8 table)
//! + 8 (f32 z_min, z_range).

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, RandomFit, bytes, total,
};
use super::gain_shape::gain_bf16;
use super::spec::RawParams;
use super::{Codec, CodecSpec, Family, Grade, Scorer};
use crate::data::Rows;
use crate::error::{Error, Result};
use crate::linalg::farthest::{self, Stop, farthest_point, first_max};
use crate::linalg::kmeans::KMeans;
use crate::linalg::{norm_f32, sample_indices, seeded_rng};
use half::bf16;

use std::fmt;

/// ChaCha8 streams: the k-means training sample and the k-means++ seeding.
const STREAM_CASCADE_SAMPLE: u64 = 0x4341_0000;
const STREAM_CASCADE_KMEANS: u64 = 0x4341_0001;
/// Lloyd iterations.
pub const CASCADE_ITERS: usize = 15;
/// Training rows per centroid used by k-means at most.
pub const CASCADE_MAX_PER_CENTROID: usize = 16;
/// The Fisher-z clamp of the origin: |cos| ≤ 0.9999 before atanh.
pub const FZ_CLAMP: f64 = 0.9999;

/// How the palette is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaletteFit {
    /// k-means++ + Lloyd on unit rows, centroids normalised.
    Kmeans,
    /// The origin's farthest-point sampling (actual rows).
    Fps,
}

/// Parameters of [`CascadeCodec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CascadeParams {
    /// Palette size (1..=256).
    pub k: usize,
    /// Palette fitting.
    pub fit: PaletteFit,
    /// Store a bf16 per-row norm.
    pub norm: bool,
}

impl Default for CascadeParams {
    fn default() -> Self {
        CascadeParams {
            k: 256,
            fit: PaletteFit::Kmeans,
            norm: false,
        }
    }
}

impl CascadeParams {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = CascadeParams::default();
        if let Some(v) = raw.take("k") {
            p.k = match v.parse::<usize>() {
                Ok(k) if (1..=256).contains(&k) => k,
                _ => return Err(raw.bad("k", &v, "an integer in 1..=256 (one-byte index)")),
            };
        }
        if let Some(v) = raw.take("fit") {
            p.fit = match v.as_str() {
                "kmeans" => PaletteFit::Kmeans,
                "fps" => PaletteFit::Fps,
                _ => return Err(raw.bad("fit", &v, "kmeans | fps")),
            };
        }
        if let Some(v) = raw.take("norm") {
            p.norm = match v.as_str() {
                "none" => false,
                "bf16" => true,
                _ => return Err(raw.bad("norm", &v, "none | bf16")),
            };
        }
        Ok(p)
    }
}

impl fmt::Display for CascadeParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "k={},fit={},norm={}",
            self.k,
            match self.fit {
                PaletteFit::Kmeans => "kmeans",
                PaletteFit::Fps => "fps",
            },
            if self.norm { "bf16" } else { "none" }
        )
    }
}

/// `cos(a, b)` in f64; 0 when either is the zero vector.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (na, nb) = (norm_f32(a), norm_f32(b));
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    super::dot_f64(a, b) / (na * nb)
}

/// The Fisher-z calibration `(z_min, z_range)` (stored as f32) and the i8 quantizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FisherZ {
    /// Smallest calibrated z.
    pub z_min: f32,
    /// `z_max − z_min` (0 when all calibrated values coincide).
    pub z_range: f32,
}

impl FisherZ {
    /// `atanh(clamp(cos, ±0.9999))`.
    pub fn z(cos: f64) -> f64 {
        cos.clamp(-FZ_CLAMP, FZ_CLAMP).atanh()
    }

    /// Calibrate on these cosines (min/max of their z); an empty set gives (0, 0).
    pub fn calibrate(cosines: impl IntoIterator<Item = f64>) -> FisherZ {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for c in cosines {
            let z = Self::z(c);
            lo = lo.min(z);
            hi = hi.max(z);
        }
        if lo > hi {
            return FisherZ {
                z_min: 0.0,
                z_range: 0.0,
            };
        }
        FisherZ {
            z_min: lo as f32,
            z_range: (hi - lo) as f32,
        }
    }

    /// `clamp(round((z − z_min)/z_range·254 − 127), −127, 127)`; 0 when z_range = 0.
    pub fn encode(&self, cos: f64) -> i8 {
        if self.z_range <= 0.0 {
            return 0;
        }
        let t = (Self::z(cos) - self.z_min as f64) / self.z_range as f64 * 254.0 - 127.0;
        t.round().clamp(-127.0, 127.0) as i8
    }

    /// `tanh(z_min + (q + 127)/254·z_range)`.
    pub fn decode(&self, q: i8) -> f64 {
        (self.z_min as f64 + (q as f64 + 127.0) / 254.0 * self.z_range as f64).tanh()
    }
}

/// A fitted cascade codec.
#[derive(Debug, Clone)]
pub struct CascadeCodec {
    params: CascadeParams,
    dim: usize,
    k: usize,
    /// `k × d` unit centroid directions (f32).
    palette: Vec<f32>,
    /// `k × k` Fisher-z i8 codes of the centroid cosines.
    table: Vec<i8>,
    fz: FisherZ,
    /// `fz.decode` of every table entry (what `pair` looks up).
    decoded: Vec<f64>,
}

impl CascadeCodec {
    /// Fit the palette on `train` and build the table.
    pub fn fit(params: &CascadeParams, train: &Rows, seed: u64) -> Result<Self> {
        let d = train.dim();
        if train.is_empty() {
            return Err(Error::BadParam {
                codec: "cascade".to_string(),
                key: "k".to_string(),
                value: params.k.to_string(),
                expected: "at least one training row".to_string(),
            });
        }
        let k = params.k.min(train.len());
        let unit = |i: usize| -> Vec<f32> {
            let r = train.row(i);
            let n = norm_f32(r);
            if n == 0.0 {
                vec![0.0; d]
            } else {
                r.iter().map(|&v| (v as f64 / n) as f32).collect()
            }
        };
        let mut palette: Vec<f32> = match params.fit {
            PaletteFit::Kmeans => {
                let cap = CASCADE_MAX_PER_CENTROID * k;
                let idx = sample_indices(
                    train.len(),
                    cap,
                    &mut seeded_rng(seed, STREAM_CASCADE_SAMPLE),
                );
                let pts: Vec<f32> = idx.iter().flat_map(|&i| unit(i)).collect();
                KMeans::fit(
                    &pts,
                    d,
                    k,
                    CASCADE_ITERS,
                    &mut seeded_rng(seed, STREAM_CASCADE_KMEANS),
                )
                .centroids
            }
            PaletteFit::Fps => {
                let units: Vec<Vec<f32>> = (0..train.len()).map(unit).collect();
                let norms: Vec<f64> = train.iter().map(norm_f32).collect();
                let chosen = farthest_point(
                    train.len(),
                    k,
                    first_max(&norms),
                    |i, c| 1.0 - super::dot_f64(&units[i], &units[c]),
                    Stop::AtKDistinct,
                );
                chosen.iter().flat_map(|&i| units[i].clone()).collect()
            }
        };
        for c in palette.chunks_exact_mut(d.max(1)) {
            let n = norm_f32(c);
            if n > 0.0 {
                c.iter_mut().for_each(|v| *v = (*v as f64 / n) as f32);
            }
        }
        Ok(Self::with_palette(params, d, palette))
    }

    /// A codec with a given palette (`k × d`, rows used as directions); builds the table.
    pub fn with_palette(params: &CascadeParams, dim: usize, palette: Vec<f32>) -> Self {
        let k = palette.len() / dim.max(1);
        let c = |a: usize| &palette[a * dim..(a + 1) * dim];
        let cos: Vec<f64> = (0..k * k).map(|i| cosine(c(i / k), c(i % k))).collect();
        let fz = FisherZ::calibrate(
            (0..k * k)
                .filter(|&i| i / k != i % k)
                .map(|i| cos[i])
                .chain((k == 1).then(|| cos[0])),
        );
        let table: Vec<i8> = cos.iter().map(|&v| fz.encode(v)).collect();
        let decoded = table.iter().map(|&q| fz.decode(q)).collect();
        CascadeCodec {
            params: *params,
            dim,
            k,
            palette,
            table,
            fz,
            decoded,
        }
    }

    /// Palette size actually fitted (min(k, training rows)).
    pub fn k(&self) -> usize {
        self.k
    }
    /// The unit centroid directions, `k × d`.
    pub fn palette(&self) -> &[f32] {
        &self.palette
    }
    /// The `k × k` i8 table.
    pub fn table(&self) -> &[i8] {
        &self.table
    }
    /// The Fisher-z calibration.
    pub fn fisher_z(&self) -> FisherZ {
        self.fz
    }
    /// Palette index of a code.
    pub fn index(&self, code: &[u8]) -> usize {
        code[0] as usize
    }
    fn gain(&self, code: &[u8]) -> f64 {
        if self.params.norm {
            bf16::from_le_bytes([code[1], code[2]]).to_f64()
        } else {
            1.0
        }
    }
}

struct CascadeScorer<'a> {
    codec: &'a CascadeCodec,
    /// ⟨query, c_j⟩ for every centroid.
    sims: Vec<f64>,
}

impl Scorer for CascadeScorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        self.sims[self.codec.index(code)] * self.codec.gain(code)
    }
}

/// The `cascade` declaration (see [`CodecDecl`]).
pub struct CascadeDecl;

impl CodecDecl for CascadeDecl {
    type Params = CascadeParams;
    const INFO: CodecInfo = CodecInfo {
        name: "cascade",
        summary: "the origin's cascade done right: 1-byte palette index (k-means or farthest-point on unit rows) + k×k Fisher-z i8 table of centroid cosines (rounded, off-diagonal calibration); pair = table lookup, asymmetric = ⟨q, centroid⟩; 1 byte (+2 bf16 norm); model 4·k·d + k² + 8 bytes; no decode",
        reference: "origin lance-graph PR #189 hhtl_cache.rs / fisher_z.rs / CascadeBackend (origin.md §1.3, §1.10, §1.13); Fisher 1921; Gonzalez 1985",
        grade: Grade::Signature,
        family: Family::PaletteLeaf,
        params: &[
            ParamInfo {
                key: "k",
                values: "1..=256",
                default: "256",
                doc: "palette size (one-byte index); fewer training rows ⇒ k = the number of training rows",
            },
            ParamInfo {
                key: "fit",
                values: "kmeans | fps",
                default: "kmeans",
                doc: "k-means++ + Lloyd on unit rows (centroids normalised), or the origin's farthest-point sampling",
            },
            ParamInfo {
                key: "norm",
                values: "none | bf16",
                default: "none",
                doc: "1-byte code (scores are cosines of cells), or +2 bytes of bf16 norm (inner products)",
            },
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<CascadeParams> {
        CascadeParams::from_raw(raw)
    }
    fn fit(p: &CascadeParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(CascadeCodec::fit(p, train, seed)?))
    }
    /// The palette fit (k-means on at most 16·k unit rows, or farthest-point over every unit
    /// training row), the k×k cosine table in f64, i8 and decoded f64, the palette.
    fn fit_bytes(p: &CascadeParams, train_rows: usize, dim: usize) -> u64 {
        let k = p.k.min(train_rows).max(1);
        let fit = match p.fit {
            PaletteFit::Kmeans => {
                let rows = train_rows.min(CASCADE_MAX_PER_CENTROID.saturating_mul(k));
                KMeans::sampled_fit_bytes(rows, dim, k, CASCADE_ITERS)
            }
            PaletteFit::Fps => total(&[
                bytes(train_rows, 4).saturating_mul(dim as u64),
                bytes(train_rows, 40),
                farthest::fit_bytes(train_rows, k),
            ]),
        };
        total(&[
            FIT_BYTES_FIXED,
            fit,
            bytes(k, 4).saturating_mul(dim as u64),
            bytes(k, 24).saturating_mul(k as u64),
        ])
    }
    fn capabilities(p: &CascadeParams) -> Capabilities {
        Capabilities {
            random_fit: RandomFit::when(p.fit == PaletteFit::Kmeans),
            palette_of_rows: true,
            min_train_rows: 1,
            ..Capabilities::SIGNATURE
        }
    }
}

impl Codec for CascadeCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Cascade(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        1 + if self.params.norm { 2 } else { 0 }
    }
    fn model_bytes(&self) -> usize {
        4 * self.k * self.dim + self.k * self.k + 8
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        let d = self.dim;
        let mut best = (0usize, f64::NEG_INFINITY);
        for j in 0..self.k {
            let s = super::dot_f64(row, &self.palette[j * d..(j + 1) * d]);
            if s > best.1 {
                best = (j, s);
            }
        }
        out[0] = best.0 as u8;
        if self.params.norm {
            out[1..3].copy_from_slice(&gain_bf16(norm_f32(row)).to_le_bytes());
        }
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        let d = self.dim;
        let sims = (0..self.k)
            .map(|j| super::dot_f64(query, &self.palette[j * d..(j + 1) * d]))
            .collect();
        Box::new(CascadeScorer { codec: self, sims })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        let v = self.decoded[self.index(a) * self.k + self.index(b)];
        Ok(v * self.gain(a) * self.gain(b))
    }
}
