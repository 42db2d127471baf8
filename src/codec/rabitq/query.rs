//! RaBitQ's per-query scoring: the float query's byte tables (1 bit) or f32 grid dot (B ≥ 2),
//! and the quantized query of `qb` (RaBitQ §3.3) scored by AND + popcount over its bit planes.
//! What a scorer precomputes per query is built here, in [`RabitqCodec::query_scorer`].

use super::{QueryRounding, RabitqCodec};
use crate::codec::fields::f32_at;
use crate::codec::{Codes, Scorer};
use crate::linalg::popcount::{self, BitPlanes};
use crate::linalg::{STREAM_QUERY_ROUNDING, scan, seeded_rng};
use rand::Rng;

impl RabitqCodec {
    /// The quantized query the `qb` scorer uses for `query` (`None` without `qb`).
    pub fn quantized_query(&self, query: &[f32]) -> Option<QuantizedQuery> {
        self.quantize(query, &self.rotate_query(query))
    }

    pub(super) fn quantize(&self, query: &[f32], qrot: &[f64]) -> Option<QuantizedQuery> {
        let qb = self.params.qb?;
        // Randomized rounding draws from a stream seeded by the fit seed and the query's bits,
        // so a query's estimates do not depend on the order or thread queries are scored in.
        let h = query.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
            (h ^ v.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let mut rng = seeded_rng(self.seed ^ h, STREAM_QUERY_ROUNDING);
        Some(quantize_query(qrot, qb, self.params.qround, &mut rng))
    }

    /// The scorer of `query`: ⟨c, q⟩, and the rotated, centred query in the form the code's
    /// width reads (1-bit byte tables, f32 levels, or the quantized query's bit planes).
    pub(super) fn query_scorer(&self, query: &[f32]) -> RabitqScorer<'_> {
        self.query_scorer_rotated(query, self.rotate_query(query))
    }

    /// The scorers of many queries: centred, rotated as one block, then
    /// [`RabitqCodec::query_scorer_rotated`] each (the same scorers as query by query).
    pub(super) fn query_scorers(&self, queries: &crate::data::Rows) -> Vec<RabitqScorer<'_>> {
        let p = self.rot.out_dim();
        let qrot = crate::codec::map_rows(queries, p, |x, y| {
            let d = self.dim.max(1);
            let mut qc = x.to_vec();
            for row in qc.chunks_exact_mut(d) {
                for (v, c) in row.iter_mut().zip(&self.centroid) {
                    *v -= c;
                }
            }
            self.rot.apply_rows_f64(&qc, y);
        });
        queries
            .iter()
            .zip(qrot.chunks_exact(p))
            .map(|(q, r)| self.query_scorer_rotated(q, r.to_vec()))
            .collect()
    }

    /// The scorer of `query` given its rotated, centred form P·(q − c).
    fn query_scorer_rotated(&self, query: &[f32], qrot: Vec<f64>) -> RabitqScorer<'_> {
        let cq: f64 = query
            .iter()
            .zip(&self.centroid)
            .map(|(&q, &c)| q as f64 * c)
            .sum();
        let popcount = self.quantize(query, &qrot).map(|qq| {
            let sum_u: f64 = qq.levels.iter().map(|&u| u as f64).sum();
            PopcountQuery {
                planes: BitPlanes::new(
                    &qq.levels,
                    self.params.qb.unwrap_or(1) as u32,
                    self.sign_bytes(),
                ),
                delta: qq.delta,
                lo: qq.lo,
                offset: 0.5 * (qq.delta * sum_u + qrot.len() as f64 * qq.lo),
            }
        });
        let (byte_table, half_sum) = if self.ex_bits() == 0 && popcount.is_none() {
            (byte_subset_sums(&qrot), 0.5 * qrot.iter().sum::<f64>())
        } else {
            (Vec::new(), 0.0)
        };
        RabitqScorer {
            codec: self,
            cq,
            qrot: if self.ex_bits() > 0 {
                qrot.iter().map(|&v| v as f32).collect()
            } else {
                Vec::new()
            },
            byte_table,
            half_sum,
            popcount,
        }
    }
}

/// A rotated, centred query q' quantized to B_q bits: q̄_i = lo + Δ·u_i, u_i ∈ 0..2^B_q.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedQuery {
    /// The levels u_i (one per rotated coordinate).
    pub levels: Vec<u8>,
    /// lo = min_i q'_i.
    pub lo: f64,
    /// Δ = (max_i q'_i − lo)/(2^B_q − 1); 0 for a constant q' (then every u_i = 0 and q̄ = q').
    pub delta: f64,
}

/// Uniform scalar quantization of `q` to `qb` bits between its min and max (RaBitQ §3.3), with
/// nearest or randomized rounding (`rng` is used only by [`QueryRounding::Random`]).
pub fn quantize_query(
    q: &[f64],
    qb: u8,
    rounding: QueryRounding,
    rng: &mut impl Rng,
) -> QuantizedQuery {
    let lo = q.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = q.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let top = ((1u32 << qb) - 1) as f64;
    if q.is_empty() || hi <= lo {
        return QuantizedQuery {
            levels: vec![0; q.len()],
            lo: if q.is_empty() { 0.0 } else { lo },
            delta: 0.0,
        };
    }
    let delta = (hi - lo) / top;
    let levels = q
        .iter()
        .map(|&v| {
            let t = (v - lo) / delta;
            let u = match rounding {
                QueryRounding::Nearest => t.round(),
                QueryRounding::Random => (t + rng.random::<f64>()).floor(),
            };
            u.clamp(0.0, top) as u8
        })
        .collect();
    QuantizedQuery { levels, lo, delta }
}

/// The quantized-query (popcount) part of a 1-bit scorer: with x_i ∈ {0, 1} the code's bits,
/// x̂_i = x_i − ½ and q̄_i = lo + Δ·u_i,
/// ⟨x̂, q̄⟩ = Δ·⟨x, u⟩ + lo·Σx_i − ½·(Δ·Σu_i + p·lo),
/// where ⟨x, u⟩ = Σ_j 2^j·popcount(x AND u^(j)) and Σx_i = popcount(x) come from
/// [`popcount::and_planes_many`] and the last term is `offset`.
struct PopcountQuery {
    planes: BitPlanes,
    delta: f64,
    lo: f64,
    /// ½·(Δ·Σu_i + p·lo).
    offset: f64,
}

/// Codes scored per block of the popcount scan (counts kept on the stack).
const POPCOUNT_BLOCK: usize = 256;

pub(super) struct RabitqScorer<'a> {
    codec: &'a RabitqCodec,
    /// ⟨c, q⟩ in f64.
    cq: f64,
    /// The rotated, centred query P·(q − c), rounded to f32 (multi-bit path).
    qrot: Vec<f32>,
    /// 1 bit: per sign byte j, entry v = Σ_{bit b of v set} q'_{8j+b} (summed in f64, stored
    /// f32), so Σ_{s_i = +} q'_i is one table lookup per byte; empty for B ≥ 2.
    byte_table: Vec<f32>,
    /// ½·Σ_i q'_i in f64 (1 bit: ⟨x̄, q'⟩ = Σ_{s_i = +} q'_i − ½·Σ_i q'_i for x̄ = ±½).
    half_sum: f64,
    /// `qb`: the quantized query's bit planes and factors (then `byte_table` is empty).
    popcount: Option<PopcountQuery>,
}

impl RabitqScorer<'_> {
    /// ⟨x̂, q'⟩ for the grid point x̂ = s·(k + ½) of `code`, the sum in f32 by
    /// [`scan::lut_sum8`] (1 bit) or [`scan::dot_signed_levels`] (B ≥ 2), both bit-identical to
    /// their scalar references and within [`crate::linalg::scan`]'s stated bound of the f64 sum.
    #[inline]
    fn grid_dot(&self, code: &[u8]) -> f64 {
        let c = self.codec;
        let body = &code[c.header()..];
        let (signs, ex) = body.split_at(c.sign_bytes());
        if c.ex_bits() == 0 {
            scan::lut_sum8(&self.byte_table, signs, signs.len()) as f64 - self.half_sum
        } else {
            scan::dot_signed_levels(&self.qrot, signs, ex, c.ex_bits()) as f64
        }
    }

    #[inline]
    fn estimate_one(&self, code: &[u8]) -> f64 {
        if let Some(pq) = &self.popcount {
            let mut counts = [(0u32, 0u32)];
            popcount::and_planes_many(
                &pq.planes,
                code,
                code.len(),
                self.codec.header(),
                &mut counts,
            );
            return self.combine(pq, code, counts[0]);
        }
        let s_ip = f32_at(code, 0) as f64;
        self.cq + self.codec.f_add(code) + s_ip * self.grid_dot(code)
    }

    /// The estimate from a code's (⟨x, u⟩, popcount(x)).
    #[inline(always)]
    fn combine(&self, pq: &PopcountQuery, code: &[u8], (dot, pop): (u32, u32)) -> f64 {
        let s_ip = f32_at(code, 0) as f64;
        let grid = pq.delta * dot as f64 + pq.lo * pop as f64 - pq.offset;
        self.cq + self.codec.f_add(code) + s_ip * grid
    }
}

/// Per sign byte j, the 256 subset sums Σ_{bit b of v set} q_{8j+b} (f64, then f32); bits past
/// the end of `q` count as 0.
fn byte_subset_sums(q: &[f64]) -> Vec<f32> {
    let bytes = q.len().div_ceil(8);
    let mut t = vec![0f32; 256 * bytes];
    let mut sums = [0f64; 256];
    for j in 0..bytes {
        for v in 1..256usize {
            let b = v.trailing_zeros() as usize;
            let qb = q.get(8 * j + b).copied().unwrap_or(0.0);
            sums[v] = sums[v & (v - 1)] + qb;
        }
        for (dst, &x) in t[256 * j..256 * (j + 1)].iter_mut().zip(&sums) {
            *dst = x as f32;
        }
    }
    t
}

impl Scorer for RabitqScorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        self.estimate_one(code)
    }

    fn estimate_all(&self, codes: &Codes, out: &mut [f64]) {
        let Some(pq) = &self.popcount else {
            for (o, c) in out.iter_mut().zip(codes.iter()) {
                *o = self.estimate_one(c);
            }
            return;
        };
        let stride = codes.code_bytes();
        let header = self.codec.header();
        let mut counts = [(0u32, 0u32); POPCOUNT_BLOCK];
        for (block, outs) in codes
            .as_bytes()
            .chunks(stride * POPCOUNT_BLOCK)
            .zip(out.chunks_mut(POPCOUNT_BLOCK))
        {
            let n = outs.len();
            popcount::and_planes_many(&pq.planes, block, stride, header, &mut counts[..n]);
            for ((o, code), &c) in outs.iter_mut().zip(block.chunks_exact(stride)).zip(&counts) {
                *o = self.combine(pq, code, c);
            }
        }
    }
}
