// Papers: Jianyang Gao, Cheng Long, "RaBitQ: Quantizing High-Dimensional Vectors with a
// Theoretical Error Bound for Approximate Nearest Neighbor Search", arXiv:2405.12497 (SIGMOD 2024);
// Jianyang Gao, Yutong Gou, Yuexuan Xu, Yongyi Yang, Cheng Long, Raymond Chi-Wing Wong, "Practical
// and Asymptotically Optimal Quantization of High-Dimensional Vectors in Euclidean Space for
// Approximate Nearest Neighbor Search", arXiv:2409.09913 (SIGMOD 2025; Extended RaBitQ).

//! `rabitq`: RaBitQ (1 bit) and Extended RaBitQ (`bits=2..9`)
//! (`../shared/reference/algorithms.md` §1.5).
//!
//! Normalise against a centroid c (`centroid=mean`: the mean of the training rows, the default;
//! `centroid=zero`): o = (x − c)/ν with ν = ‖x − c‖, rotate o' = P·o (`rot=`). The codebook is
//! the B-bit grid of half-integers ±(k + ½), k ∈ 0..2^(B−1), on every rotated axis, projected to
//! the unit sphere, and the code is the grid point x̂ whose direction is closest to o':
//! sign bits sign(o'_i) (the 1-bit RaBitQ code, stored first, so the code refines
//! incrementally) plus B−1 "ex-bits" k_i. For B = 1 all k_i = 0 and x̂ = sign(o')/2, i.e. the
//! rotated-hypercube vertex of the RaBitQ paper. Encoders (`enc=`):
//! - `optimal`: scan every critical rescaling factor t at which some k_i = ⌊t·|o'_i|⌋ (clipped
//!   to 2^(B−1) − 1) changes, and keep the code maximising cos(x̂, o') (O(2^B·p·log p)).
//! - `fast` (default): one rescaling factor per (p, B), the mean optimal t over 64 random unit
//!   vectors (a fixed internal seed: it is a constant of (p, B), like a table, not fit
//!   randomness), then k_i = min(⌊t·|o'_i|⌋, 2^(B−1) − 1) in O(p) — the constant-t idea of
//!   RaBitQ-Library's `faster_config`. FAISS (`RaBitQuantizerMultiBit.cpp`) always searches t
//!   per row, as `optimal` does (within a range it narrows first). Why `fast` stays the default:
//!   measured (`codecbench run` on minilm-sentences, d = 384, and glove-20k, d = 50), at B = 2
//!   and 4 Pearson differs by at most 0.0009 (within the CIs but for glove-20k at B = 4,
//!   0.9971 vs 0.9977) and the recall@10 CIs overlap; recon_mse is 4% (d = 384) and 25%
//!   (d = 50) higher at B = 4; encoding is 5.5–7× faster at B = 4 and 80–190× at B = 8, which
//!   keeps the default run's multi-bit cells cheap on two cores. Ask for `enc=optimal` to match
//!   FAISS's encoder.
//!
//! Estimator (asymmetric, query exact): with ō = Pᵀx̂/‖x̂‖ and ⟨ō, o⟩ = cos(x̂, o'),
//! ⟨x, q⟩ = ⟨c, q⟩ + ⟨x − c, c⟩ + ν·⟨o, q − c⟩ ≈ ⟨c, q⟩ + f_add + ν·⟨ō, q − c⟩/⟨ō, o⟩,
//! unbiased for any deterministic grid rule because P is random (the RaBitQ paper's estimator;
//! proof idea: for fixed o, ō's law is invariant under rotations fixing o); the
//! error is ∝ ‖q − c‖·√(1 − ⟨ō,o⟩²)/⟨ō,o⟩/√(p−1). By default the query is not quantized
//! (FAISS `qb=0`): 1-bit codes are scored by a per-byte subset-sum table of q' = P·(q − c)
//! ([`scan::lut_sum8`]). There is no error-bound factor and no `pair`.
//!
//! Decode (`dec=`). The scorer reads ν and ⟨ō,o⟩ only as their ratio, s_ip = ν/(⟨ō,o⟩·‖x̂‖).
//! - `ip` (default): decode with that ratio, c + ν/⟨ō,o⟩·ō = c + s_ip·Pᵀx̂ — FAISS's
//!   `IndexRaBitQ::sa_decode`. It is the estimator's own reconstruction (unbiased over the
//!   rotation) and costs no byte, but it is not least-squares: its squared error is
//!   ν²·(1/⟨ō,o⟩² − 1), about 0.56·ν² at 1 bit (⟨ō,o⟩ ≈ 0.80), against ν²·(1 − ⟨ō,o⟩²) ≈ 0.36·ν².
//! - `mse`: also store the least-squares scale ν·⟨ō,o⟩/‖x̂‖ (4 bytes per row, counted) and
//!   decode c + ν·⟨ō,o⟩·ō, Extended RaBitQ's reconstruction.
//!
//! Why the decode scale is not always stored: a cell reports one `bytes_per_row` for all its
//! metrics, and RaBitQ is a search codec; charging every score metric for a scalar the scorer
//! never reads made it 4 bytes per row dearer than FAISS's `IndexRaBitQ` for the same scores
//! (19 vs 15 at d = 50). So `code_bytes` is what the measured use reads: the scorer's bytes,
//! plus the decode scale only when `dec=mse` makes least-squares reconstruction part of it. The
//! cells' `recon_mse` is then that of the decode the bytes pay for. Either way the estimate is
//! *not* ⟨q, decode⟩: `ip` adds the exact f_add only in the estimate, `mse` rescales by ⟨ō,o⟩
//! instead of 1/⟨ō,o⟩.
//!
//! Quantized query (`qb=1..8`, `bits=1` only; the RaBitQ paper §3.3, FAISS `IndexRaBitQ.qb`):
//! q' is quantized uniformly between its min lo and max to B_q bits, q̄_i = lo + Δ·u_i with
//! Δ = (max − lo)/(2^B_q − 1), and with x_i ∈ {0, 1} the sign bits (x̂_i = x_i − ½)
//! ⟨x̂, q̄⟩ = Δ·⟨x, u⟩ + lo·Σx_i − ½·(Δ·Σu_i + p·lo), where
//! ⟨x, u⟩ = Σ_j 2^j·popcount(x AND u^(j)) over the B_q bit planes of u and Σx_i = popcount(x)
//! ([`popcount::and_planes_many`], exact integers). Everything but the two counts is computed
//! once per query in `scorer`, so a code costs (B_q + 1)·⌈p/64⌉ AND+POPCNTs (⌈p/512⌉ each with
//! AVX-512 VPOPCNTDQ) and a few flops.
//! Rounding (`qround=`): `nearest` (default; what FAISS 1.15.1 does, deterministic, and what
//! compare-peers pairs with FAISS's qb = 4) or `random`, the paper's randomized rounding
//! ⌊(q'_i − lo)/Δ + r_i⌋, r_i ~ U[0,1), which makes q̄ unbiased for q' (so the estimator stays
//! unbiased; nearest rounding adds a tiny deterministic error instead), seeded by the fit seed
//! and the query's bits so results do not depend on scoring order or threads. Quantizing adds
//! error variance ≈ ν²/⟨ō,o⟩²·Δ²/12 per estimate — about 4% of the 1-bit error at B_q = 4
//! (Pearson 0.80 → 0.795). The code layout and bytes are the float-query codec's: `qb` only
//! changes the scorer. Multi-bit codes refuse `qb` (FAISS applies qb to the sign-bit part only,
//! in its 1-bit pre-filter, and re-scores the ex-bits with the float query). The default stays
//! the float query (FAISS's default is `qb=4`): it is the estimator without the query's
//! quantization error, the quantity the paper's bound is about; `qb=4` is FAISS's default
//! search, and compare-peers pairs each with its FAISS counterpart.
//!
//! Bytes (p = d for haar/none, next power of two for hadamard), in code order:
//! code = 4 (s_ip = ν/(⟨ō,o⟩·‖x̂‖), estimate scale) + 4 (f_add = ⟨x − c, c⟩; only with
//! `centroid=mean`) + 4 (ν·⟨ō,o⟩/‖x̂‖, least-squares decode scale; only with `dec=mse`) +
//! ⌈p/8⌉ (signs) + ⌈(B−1)·p/8⌉ (ex-bits);
//! model = 8 (rotation seed; 0 for none) + 4·d (f32 centroid, `mean` only) + 4 (fast t, B ≥ 2).
//!
//! Against FAISS (`faiss/impl/RaBitQuantizer.cpp`, `compute_code_size`; per row, rot = haar or
//! none so p = d; FAISS keeps the factors after the bits, we keep them before):
//! - 1 bit, `centroid=mean`: ⌈d/8⌉ + 8 = `IndexRaBitQ` byte for byte (its `SignBitFactors`:
//!   or_minus_c_l2sqr and dp_multiplier, the same two scalars as f_add and s_ip for inner
//!   products). 15 bytes at d = 50, 56 at d = 384. `qb` does not change the bytes (as in FAISS).
//! - `centroid=zero`: 4 fewer (f_add is 0 and not stored; FAISS keeps both factors).
//! - `dec=mse`: 4 more (the decode scale FAISS does not store).
//! - B ≥ 2: FAISS stores ⌈d/8⌉ + 12 + ⌈(B−1)·d/8⌉ + 8: besides the full estimate's two factors
//!   (`ExtraBitsFactors`) it keeps the 1-bit estimate's two and an error bound
//!   (`SignBitFactorsWithError`) for its two-stage search (a 1-bit estimate, refined only when
//!   the error bound says the candidate may enter the top k). Our scorer computes the full B-bit
//!   estimate for every code, so it stores only what that reads: 12 bytes fewer than FAISS at
//!   every d (34 vs 46 bytes at d = 50, B = 4; 200 vs 212 at d = 384).
//! - `rot=hadamard` pads p to a power of two (coded and counted), so it stores more than FAISS
//!   when d is not one.

mod grid;
mod query;

pub use grid::{fast_rescale, grid_cosine, levels_at, optimal_levels};
pub use query::{QuantizedQuery, quantize_query};

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, ROT_PARAM, RandomFit, ZeroRow,
    bytes, total,
};
use super::fields::{f32_at, put_f32};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Codes, Family, Grade, Scorer, decode_blocks, encode_blocks};
use crate::data::Rows;
use crate::error::Result;
use crate::linalg::{Rotation, RotationKind, STREAM_ROTATION, bits, dot, seeded_rng};
use std::fmt;

/// Extended-RaBitQ encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoder {
    /// One precomputed rescaling factor per (p, B).
    #[default]
    Fast,
    /// Exhaustive scan of the critical rescaling factors per row.
    Optimal,
}

impl fmt::Display for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoder::Fast => "fast",
            Encoder::Optimal => "optimal",
        })
    }
}

/// Normalisation centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Centroid {
    /// Mean of the training rows.
    #[default]
    Mean,
    /// The origin.
    Zero,
}

impl fmt::Display for Centroid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Centroid::Mean => "mean",
            Centroid::Zero => "zero",
        })
    }
}

/// How the quantized query's coordinates are rounded to the B_q-bit grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QueryRounding {
    /// Round to the nearest level (FAISS `IndexRaBitQ`, deterministic).
    #[default]
    Nearest,
    /// Randomized rounding ⌊(q_i − lo)/Δ + r_i⌋, r_i ~ U[0, 1) (the RaBitQ paper, §3.3:
    /// unbiased, E[q̄] = q'), seeded by the fit seed and the query's bits.
    Random,
}

impl fmt::Display for QueryRounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueryRounding::Nearest => "nearest",
            QueryRounding::Random => "random",
        })
    }
}

/// What a code stores for [`Codec::decode`] beyond what the scorer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DecodeScale {
    /// Nothing: decode with the estimator's own scale, c + ν/⟨ō,o⟩·ō (FAISS `sa_decode`;
    /// unbiased, not least-squares). The code is exactly the scorer's bytes.
    #[default]
    Ip,
    /// 4 more bytes per row: the least-squares scale, decode c + ν·⟨ō,o⟩·ō (Extended RaBitQ).
    Mse,
}

impl fmt::Display for DecodeScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeScale::Ip => "ip",
            DecodeScale::Mse => "mse",
        })
    }
}

/// Parameters of [`RabitqCodec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RabitqParams {
    /// Total bits per rotated coordinate B, 1..=9.
    pub bits: u8,
    /// Encoder for B ≥ 2.
    pub enc: Encoder,
    /// Normalisation centre.
    pub centroid: Centroid,
    /// Random rotation P.
    pub rot: RotationKind,
    /// Query bits B_q of the quantized-query (popcount) scorer; `None` keeps the float query.
    /// Only for `bits = 1`.
    pub qb: Option<u8>,
    /// Rounding of the quantized query (used only with `qb`).
    pub qround: QueryRounding,
    /// Whether codes also store the least-squares decode scale.
    pub dec: DecodeScale,
}

impl RabitqParams {
    /// Defaults at `bits`.
    pub fn new(bits: u8) -> Self {
        RabitqParams {
            bits,
            enc: Encoder::Fast,
            centroid: Centroid::Mean,
            rot: RotationKind::Haar,
            qb: None,
            qround: QueryRounding::Nearest,
            dec: DecodeScale::Ip,
        }
    }

    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = RabitqParams::new(1);
        if let Some(v) = raw.take("bits") {
            p.bits = match v.parse::<u8>() {
                Ok(b) if (1..=9).contains(&b) => b,
                _ => return Err(raw.bad("bits", &v, "an integer in 1..=9")),
            };
        }
        if let Some(v) = raw.take("enc") {
            p.enc = match v.as_str() {
                "fast" => Encoder::Fast,
                "optimal" => Encoder::Optimal,
                _ => return Err(raw.bad("enc", &v, "fast | optimal")),
            };
        }
        if let Some(v) = raw.take("centroid") {
            p.centroid = match v.as_str() {
                "mean" => Centroid::Mean,
                "zero" => Centroid::Zero,
                _ => return Err(raw.bad("centroid", &v, "mean | zero")),
            };
        }
        p.rot = raw.take_rotation()?;
        if let Some(v) = raw.take("qb") {
            p.qb = match v.parse::<u8>() {
                _ if v == "none" => None,
                Ok(b) if (1..=8).contains(&b) => Some(b),
                _ => return Err(raw.bad("qb", &v, "none | an integer in 1..=8")),
            };
            if p.qb.is_some() && p.bits != 1 {
                return Err(raw.bad(
                    "qb",
                    &v,
                    "none with bits ≥ 2 (the quantized-query scorer is implemented for bits=1 only)",
                ));
            }
        }
        if let Some(v) = raw.take("qround") {
            p.qround = match v.as_str() {
                "nearest" => QueryRounding::Nearest,
                "random" => QueryRounding::Random,
                _ => return Err(raw.bad("qround", &v, "nearest | random")),
            };
            if p.qb.is_none() {
                return Err(raw.bad("qround", &v, "no qround without qb=1..8"));
            }
        }
        if let Some(v) = raw.take("dec") {
            p.dec = match v.as_str() {
                "ip" => DecodeScale::Ip,
                "mse" => DecodeScale::Mse,
                _ => return Err(raw.bad("dec", &v, "ip | mse")),
            };
        }
        Ok(p)
    }
}

impl fmt::Display for RabitqParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bits={},enc={},centroid={},rot={}",
            self.bits, self.enc, self.centroid, self.rot
        )?;
        if let Some(qb) = self.qb {
            write!(f, ",qb={qb},qround={}", self.qround)?;
        }
        if self.dec != DecodeScale::Ip {
            write!(f, ",dec={}", self.dec)?;
        }
        Ok(())
    }
}

/// RaBitQ / Extended RaBitQ.
#[derive(Debug, Clone)]
pub struct RabitqCodec {
    params: RabitqParams,
    dim: usize,
    rot: Rotation,
    centroid: Vec<f64>,
    t_fast: f64,
    seed: u64,
}

impl RabitqCodec {
    /// Centroid from `train`, rotation from `seed` (ChaCha8 stream [`STREAM_ROTATION`]).
    pub fn fit(params: &RabitqParams, train: &Rows, seed: u64) -> Self {
        let dim = train.dim();
        let mut centroid = vec![0f64; dim];
        if params.centroid == Centroid::Mean && !train.is_empty() {
            for row in train.iter() {
                for (c, &v) in centroid.iter_mut().zip(row) {
                    *c += v as f64;
                }
            }
            let n = train.len() as f64;
            // Stored as f32 (counted in model_bytes): round now so encode and score agree.
            centroid
                .iter_mut()
                .for_each(|c| *c = (*c / n) as f32 as f64);
        }
        let rot = Rotation::new(params.rot, dim, 1, &mut seeded_rng(seed, STREAM_ROTATION));
        let t_fast = if params.bits >= 2 && params.enc == Encoder::Fast {
            fast_rescale(rot.out_dim(), params.bits)
        } else {
            0.0
        };
        RabitqCodec {
            params: *params,
            dim,
            rot,
            centroid,
            t_fast,
            seed,
        }
    }

    /// The rotation P.
    pub fn rotation(&self) -> &Rotation {
        &self.rot
    }
    /// The centroid c.
    pub fn centroid(&self) -> &[f64] {
        &self.centroid
    }
    /// The fast encoder's rescaling factor (0 when unused).
    pub fn fast_factor(&self) -> f64 {
        self.t_fast
    }
    fn kmax(&self) -> u32 {
        (1u32 << (self.params.bits - 1)) - 1
    }
    /// Bytes of per-row factors before the sign bits: the estimate scale (4), f_add (4,
    /// `centroid=mean`), the least-squares decode scale (4, `dec=mse`).
    fn header(&self) -> usize {
        4 + self.f_add_bytes() + self.dec_bytes()
    }
    fn f_add_bytes(&self) -> usize {
        match self.params.centroid {
            Centroid::Mean => 4,
            Centroid::Zero => 0,
        }
    }
    fn dec_bytes(&self) -> usize {
        match self.params.dec {
            DecodeScale::Mse => 4,
            DecodeScale::Ip => 0,
        }
    }
    fn sign_bytes(&self) -> usize {
        self.rot.out_dim().div_ceil(8)
    }
    fn ex_bits(&self) -> u32 {
        self.params.bits as u32 - 1
    }

    /// Signed grid coordinates x̂_i = ±(k_i + ½) of a code.
    fn grid(&self, code: &[u8]) -> Vec<f64> {
        let p = self.rot.out_dim();
        let body = &code[self.header()..];
        let (signs, ex) = body.split_at(self.sign_bytes());
        let mut s = vec![0u8; p];
        bits::unpack(signs, 1, &mut s);
        let mut k = vec![0u8; p];
        if self.ex_bits() > 0 {
            bits::unpack(ex, self.ex_bits(), &mut k);
        }
        s.iter()
            .zip(&k)
            .map(|(&si, &ki)| {
                let m = ki as f64 + 0.5;
                if si == 1 { m } else { -m }
            })
            .collect()
    }

    /// The rotated, centred query P·(q − c) in f64.
    pub fn rotate_query(&self, query: &[f32]) -> Vec<f64> {
        let qc: Vec<f64> = query
            .iter()
            .zip(&self.centroid)
            .map(|(&q, &c)| q as f64 - c)
            .collect();
        let mut qrot = vec![0f64; self.rot.out_dim()];
        self.rot.apply_f64(&qc, &mut qrot);
        qrot
    }

    fn f_add(&self, code: &[u8]) -> f64 {
        match self.params.centroid {
            Centroid::Mean => f32_at(code, 4) as f64,
            Centroid::Zero => 0.0,
        }
    }
}

impl RabitqCodec {
    /// Codes of a block of rows: each row centred and normalised, the block rotated at once
    /// ([`Rotation::apply_rows_f64`], bit-identical to one row at a time), then each rotated
    /// unit vector rounded to its grid direction ([`RabitqCodec::finish_code`]).
    fn encode_block(&self, rows: &[f32], out: &mut [u8]) {
        let (d, stride) = (self.dim.max(1), self.code_bytes());
        let n = rows.len() / d;
        let mut units = vec![0f64; n * d];
        let mut scalars = Vec::with_capacity(n);
        for (row, unit) in rows.chunks_exact(d).zip(units.chunks_exact_mut(d)) {
            let diff: Vec<f64> = row
                .iter()
                .zip(&self.centroid)
                .map(|(&x, &c)| x as f64 - c)
                .collect();
            let nu = dot(&diff, &diff).sqrt();
            if nu == 0.0 {
                scalars.push((0.0, 0.0));
                continue;
            }
            let f_add = dot(&diff, &self.centroid);
            for (u, v) in unit.iter_mut().zip(&diff) {
                *u = v / nu;
            }
            scalars.push((nu, f_add));
        }
        let p = self.rot.out_dim();
        let mut o = vec![0f64; n * p];
        self.rot.apply_rows_f64(&units, &mut o);
        for ((&(nu, f_add), or), code) in scalars
            .iter()
            .zip(o.chunks_exact(p))
            .zip(out.chunks_exact_mut(stride))
        {
            self.finish_code(nu, f_add, or, code);
        }
    }

    /// The code of a row from ‖x − c‖, ⟨x − c, c⟩ and its rotated unit vector `o`; a row equal
    /// to the centroid (ν = 0) gets the zero code (scales 0, f_add 0: the estimate is ⟨c, q⟩
    /// and the decode is c).
    fn finish_code(&self, nu: f64, f_add: f64, o: &[f64], out: &mut [u8]) {
        out.fill(0);
        if nu == 0.0 {
            return;
        }
        let a: Vec<f64> = o.iter().map(|v| v.abs()).collect();
        let k = match (self.kmax(), self.params.enc) {
            (0, _) => vec![0u8; a.len()],
            (kmax, Encoder::Fast) => levels_at(&a, self.t_fast, kmax),
            (kmax, Encoder::Optimal) => optimal_levels(&a, kmax).0,
        };
        let norm_xhat = k
            .iter()
            .map(|&ki| (ki as f64 + 0.5).powi(2))
            .sum::<f64>()
            .sqrt();
        let cos = grid_cosine(&a, &k);
        let (s_dec, s_ip) = if cos > 0.0 {
            (nu * cos / norm_xhat, nu / (cos * norm_xhat))
        } else {
            (0.0, 0.0)
        };
        put_f32(out, 0, s_ip as f32);
        let f = self.f_add_bytes();
        if f > 0 {
            put_f32(out, 4, f_add as f32);
        }
        if self.params.dec == DecodeScale::Mse {
            put_f32(out, 4 + f, s_dec as f32);
        }
        let header = self.header();
        let (signs, ex) = out[header..].split_at_mut(self.sign_bytes());
        bits::pack_signs(o.iter().map(|&v| v > 0.0), signs);
        if self.ex_bits() > 0 {
            bits::pack(&k, self.ex_bits(), ex);
        }
    }

    /// Rows of a block of codes: c + s·Pᵀ x̂ (the block rotated back at once).
    fn decode_block(&self, codes: &[u8], out: &mut [f32]) {
        let (d, p, stride) = (self.dim.max(1), self.rot.out_dim(), self.code_bytes());
        let n = codes.len() / stride;
        let mut grid = Vec::with_capacity(n * p);
        for code in codes.chunks_exact(stride) {
            grid.extend(self.grid(code));
        }
        let mut x = vec![0f64; n * d];
        self.rot.apply_transpose_rows(&grid, &mut x);
        for ((o, xr), code) in out
            .chunks_exact_mut(d)
            .zip(x.chunks_exact(d))
            .zip(codes.chunks_exact(stride))
        {
            let s_dec = match self.params.dec {
                DecodeScale::Mse => f32_at(code, 4 + self.f_add_bytes()) as f64,
                DecodeScale::Ip => f32_at(code, 0) as f64,
            };
            for ((oj, v), c) in o.iter_mut().zip(xr).zip(&self.centroid) {
                *oj = (c + s_dec * v) as f32;
            }
        }
    }
}

/// The `rabitq` declaration (see [`CodecDecl`]).
pub struct RabitqDecl;

impl CodecDecl for RabitqDecl {
    type Params = RabitqParams;
    const INFO: CodecInfo = CodecInfo {
        name: "rabitq",
        summary: "RaBitQ (1 bit) / Extended RaBitQ (2..9 bits): centred, rotated, nearest grid direction, unbiased ⟨ō,q⟩/⟨ō,o⟩ estimator; ⌈B·p/8⌉ bytes + 4-byte estimate scale + 4-byte f_add (centroid=mean) + 4-byte least-squares decode scale (dec=mse only). Peers: 1 bit = FAISS IndexRaBitQ byte for byte (⌈d/8⌉ + 8); B ≥ 2 is 12 bytes under FAISS (its two-stage search's 1-bit factors and error bound, which our full-estimate scorer does not read)",
        reference: "Gao & Long, RaBitQ, arXiv:2405.12497; Gao et al., Extended RaBitQ, arXiv:2409.09913",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[
            ParamInfo {
                key: "bits",
                values: "1..=9",
                default: "1",
                doc: "bits per rotated coordinate (1 sign bit + B−1 ex-bits)",
            },
            ParamInfo {
                key: "enc",
                values: "fast | optimal",
                default: "fast",
                doc: "one precomputed rescaling factor (RaBitQ-Library's faster_config idea), or the exhaustive critical-point scan per row (what FAISS does); fast is the default because it scores the same within 0.001 Pearson at B = 2, 4 and encodes 5–7× (B = 4) to 80–190× (B = 8) faster; its recon_mse is 4–25% higher at B = 4",
            },
            ParamInfo {
                key: "centroid",
                values: "mean | zero",
                default: "mean",
                doc: "normalisation centre: mean of the training rows (4·d model bytes) or the origin",
            },
            ROT_PARAM,
            ParamInfo {
                key: "qb",
                values: "none | 1..=8",
                default: "none",
                doc: "query bits (bits=1 only): quantize the rotated, centred query to B_q bits between its min and max and score by AND + popcount over its bit planes (FAISS IndexRaBitQ qb); none = float query, the default because it measures the codes without query-quantization error (FAISS's default is qb=4: ask for it to match FAISS's search; bytes are the same)",
            },
            ParamInfo {
                key: "qround",
                values: "nearest | random",
                default: "nearest",
                doc: "with qb: round the query to the nearest level (FAISS) or randomized rounding (the RaBitQ paper, unbiased; seeded by the fit seed and the query)",
            },
            ParamInfo {
                key: "dec",
                values: "ip | mse",
                default: "ip",
                doc: "decode (recon_mse): ip = with the estimator's scale ν/⟨ō,o⟩, FAISS's sa_decode, no extra byte (the code is exactly what the scorer reads); mse = store the least-squares scale ν·⟨ō,o⟩ too, +4 bytes per row, counted (squared error ν²(1−⟨ō,o⟩²) instead of ν²(1/⟨ō,o⟩²−1))",
            },
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<RabitqParams> {
        RabitqParams::from_raw(raw)
    }
    fn fit(p: &RabitqParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(RabitqCodec::fit(p, train, seed)))
    }
    /// The rotation (Haar: O(d²); Hadamard: O(d)), the centroid, and for the fast encoder at
    /// B ≥ 2 bits the cached rescaling factor's critical-point scan over p·(2^(B−1) − 1) events.
    fn fit_bytes(p: &RabitqParams, _train_rows: usize, dim: usize) -> u64 {
        let scan = match Rotation::out_dim_of(p.rot, dim, 1) {
            Some(out) if p.bits >= 2 && p.enc == Encoder::Fast => {
                let kmax = (1usize << (p.bits - 1)) - 1;
                total(&[bytes(out, 64), bytes(out, 32).saturating_mul(kmax as u64)])
            }
            Some(_) => 0,
            None => u64::MAX,
        };
        total(&[
            Rotation::fit_bytes(p.rot, dim, 1),
            bytes(dim, 8),
            scan,
            FIT_BYTES_FIXED,
        ])
    }
    fn capabilities(p: &RabitqParams) -> Capabilities {
        let zero_row = match (p.centroid, p.dec) {
            (Centroid::Zero, _) => ZeroRow::Zero,
            (Centroid::Mean, DecodeScale::Mse) => ZeroRow::NearCentre,
            (Centroid::Mean, DecodeScale::Ip) => ZeroRow::OrthogonalToCentre,
        };
        Capabilities {
            // The paper defines only the asymmetric estimator.
            pairs: false,
            // The estimate adds the exact f_add (dec=ip) or rescales by 1/⟨ō,o⟩ where the
            // decode rescales by ⟨ō,o⟩ (dec=mse): neither is ⟨q, decode⟩.
            estimate_is_decoded_dot: false,
            zero_row,
            ..Capabilities::RECONSTRUCTION.with_random_fit(RandomFit::rotation(p.rot))
        }
    }
}

impl Codec for RabitqCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Rabitq(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        self.header() + self.sign_bytes() + bits::packed_len(self.rot.out_dim(), self.ex_bits())
    }
    fn model_bytes(&self) -> usize {
        let centroid = match self.params.centroid {
            Centroid::Mean => 4 * self.dim,
            Centroid::Zero => 0,
        };
        let fast = if self.t_fast > 0.0 { 4 } else { 0 };
        self.rot.model_bytes() + centroid + fast
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
        Box::new(self.query_scorer(query))
    }
    fn scorers<'a>(&'a self, queries: &Rows) -> Vec<Box<dyn Scorer + 'a>> {
        self.query_scorers(queries)
            .into_iter()
            .map(|s| Box::new(s) as Box<dyn Scorer + 'a>)
            .collect()
    }
}
