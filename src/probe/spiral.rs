//! P1, spiral sampling: the origin's `SpiralEncoding` (`origin.md` §1.8) is a deterministic
//! coordinate subsample — for base dim `bi` and sample `s`, `octave = start + bi + s·stride`
//! (stop once `octave ≥ ⌈n/17⌉`), `pos = ⌊frac((bi + octave)·φ)·17⌋`, value `w[octave·17 + pos]`
//! stored as BF16 by truncation — scored by the cosine of the flattened K×17 anchor vectors.
//! Its claimed structure ("ticket-for-curve", I6) only matters if it beats plain controls at
//! the same bytes, so each spiral K is set against
//! - a random coordinate subset of the same number of BF16 values (seeded), and
//! - a Gaussian JL sketch with as many BF16 outputs,
//!
//! and scored like the origin's G2/G3 gates: top-1 NN match, exact NN within the signature's
//! top-5, and pairwise rank agreement `(1 + τ_b)/2` of the signature cosines with the exact
//! cosines, per query row (CIs over query rows), plus paired differences spiral − control.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::data::catalog::stable_hash;
use crate::data::{RowSelection, Rows};
use crate::metric::bootstrap::mean_ci;
use crate::metric::correlation::kendall_tau_b;
use crate::metric::recall::top_k_indices;
use crate::metric::suite::MetricValue;

/// The spiral's K values of the origin's P1.
pub const DEFAULT_KS: &[usize] = &[4, 8, 16];
/// The origin's defaults: start 0, stride 3 ("QK role").
pub const START: usize = 0;
/// See [`START`].
pub const STRIDE: usize = 3;
/// Bytes of a `SpiralAddress` (start, stride, length as u16).
pub const ADDRESS_BYTES: usize = 6;

/// A row signature at a byte budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sketch {
    /// The origin's spiral walk with K samples per base dim.
    Spiral {
        /// Samples per base dim.
        k: usize,
    },
    /// `m` distinct coordinates drawn uniformly (seeded), BF16-truncated.
    RandomCoords {
        /// Coordinates kept.
        m: usize,
    },
    /// `m` Gaussian projections `G x` (G ~ N(0,1), seeded), BF16-truncated.
    Jl {
        /// Projections.
        m: usize,
    },
}

impl Sketch {
    /// Name in results (the `codec` column).
    pub fn name(&self) -> String {
        match self {
            Sketch::Spiral { k } => format!("spiral:K={k}"),
            Sketch::RandomCoords { m } => format!("random-coords:m={m}"),
            Sketch::Jl { m } => format!("jl:m={m}"),
        }
    }

    /// Bytes per row: the spiral's `6 + K·17·2` (142 / 278 / 550 B for K = 4 / 8 / 16, as the
    /// origin counts them), `2m` for the controls (their seed is shared state).
    pub fn bytes(&self) -> usize {
        match self {
            Sketch::Spiral { k } => ADDRESS_BYTES + k * 17 * 2,
            Sketch::RandomCoords { m } | Sketch::Jl { m } => 2 * m,
        }
    }
}

/// The coordinates the spiral walk reads for rows of `n` values: `K × 17` slots in anchor order
/// (`bi`-major), `None` where the walk has stopped or the position falls past the row's end.
pub fn spiral_coords(n: usize, k: usize, start: usize, stride: usize) -> Vec<Option<usize>> {
    // One definition of the walk: the `spiral` codec's.
    crate::codec::spiral::walk_positions(n, k, stride, start)
}

/// Distinct coordinates among the spiral's slots.
pub fn distinct_coords(slots: &[Option<usize>]) -> usize {
    let mut c: Vec<usize> = slots.iter().flatten().copied().collect();
    c.sort_unstable();
    c.dedup();
    c.len()
}

fn bf16_trunc(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & 0xFFFF_0000)
}

/// Signatures of every row (one row each).
pub fn signatures(rows: &Rows, sketch: Sketch, seed: u64) -> Rows {
    let n = rows.dim();
    match sketch {
        Sketch::Spiral { k } => {
            let slots = spiral_coords(n, k, START, STRIDE);
            let mut data = Vec::with_capacity(rows.len() * slots.len());
            for r in rows.iter() {
                data.extend(slots.iter().map(|s| s.map_or(0.0, |i| bf16_trunc(r[i]))));
            }
            Rows::new(slots.len(), data)
        }
        Sketch::RandomCoords { m } => {
            let m = m.min(n);
            let idx = RowSelection::Sample {
                count: m,
                seed: seed ^ 0x636f_6f72,
            }
            .resolve(n);
            let mut data = Vec::with_capacity(rows.len() * m);
            for r in rows.iter() {
                data.extend(idx.iter().map(|&i| bf16_trunc(r[i])));
            }
            Rows::new(m.max(1), if m == 0 { vec![0.0; rows.len()] } else { data })
        }
        Sketch::Jl { m } => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6a6c);
            let g: Vec<f64> = (0..m * n)
                .map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal))
                .collect();
            let mut data = vec![0.0f32; rows.len() * m];
            data.par_chunks_mut(m)
                .zip(rows.as_slice().par_chunks(n))
                .for_each(|(out, r)| {
                    for (o, gr) in out.iter_mut().zip(g.chunks_exact(n)) {
                        let s: f64 = gr.iter().zip(r).map(|(a, &b)| a * f64::from(b)).sum();
                        *o = bf16_trunc(s as f32);
                    }
                });
            Rows::new(m, data)
        }
    }
}

/// Per query: top-1 match, exact NN in the signature's top-5, rank agreement.
#[derive(Debug, Clone)]
pub struct SpiralScores {
    /// 1/0 per query.
    pub top1: Vec<f64>,
    /// 1/0 per query.
    pub top5: Vec<f64>,
    /// `(1 + τ_b)/2` per query (NaN when undefined).
    pub rank_agree: Vec<f64>,
}

/// Cosine matrix rows of `queries` (indices into `rows`) against all rows, self = −∞.
fn cos_rows(rows: &Rows, queries: &[usize]) -> Vec<Vec<f64>> {
    let norms: Vec<f64> = rows
        .iter()
        .map(|r| crate::codec::dot_f64(r, r).sqrt())
        .collect();
    queries
        .par_iter()
        .map(|&i| {
            rows.iter()
                .enumerate()
                .map(|(j, r)| {
                    let den = norms[i] * norms[j];
                    if j == i {
                        f64::NEG_INFINITY
                    } else if den > 0.0 {
                        crate::codec::dot_f64(rows.row(i), r) / den
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Score one sketch on `rows` with the given query rows.
pub fn score(rows: &Rows, queries: &[usize], sketch: Sketch, seed: u64) -> SpiralScores {
    let exact = cos_rows(rows, queries);
    let sig = signatures(rows, sketch, seed);
    let est = cos_rows(&sig, queries);
    let per: Vec<(f64, f64, f64)> = exact
        .par_iter()
        .zip(&est)
        .zip(queries)
        .map(|((t, e), &q)| {
            let nn = top_k_indices(t, 1)[0];
            let top5 = top_k_indices(e, 5);
            let top1 = f64::from(u8::from(top5.first() == Some(&nn)));
            let in5 = f64::from(u8::from(top5.contains(&nn)));
            let (tt, ee): (Vec<f64>, Vec<f64>) = t
                .iter()
                .zip(e)
                .enumerate()
                .filter(|(j, _)| *j != q)
                .map(|(_, (&a, &b))| (a, b))
                .unzip();
            let tau = kendall_tau_b(&tt, &ee).map_or(f64::NAN, |t| (1.0 + t) / 2.0);
            (top1, in5, tau)
        })
        .collect();
    SpiralScores {
        top1: per.iter().map(|p| p.0).collect(),
        top5: per.iter().map(|p| p.1).collect(),
        rank_agree: per.iter().map(|p| p.2).collect(),
    }
}

/// The spiral probe on one population: every K against its equal-byte controls. Returns
/// (sketch name, bytes per row, metric) triples: `spiral.top1`, `spiral.top5`,
/// `spiral.rank_agree` per sketch, and per K the paired differences
/// `spiral.diff_random.{top1,rank_agree}`, `spiral.diff_jl.{top1,rank_agree}` (spiral − control).
pub fn spiral_metrics(
    rows: &Rows,
    ks: &[usize],
    queries: usize,
    resamples: usize,
    seed: u64,
) -> Vec<(String, usize, MetricValue)> {
    let n = rows.len();
    let q = RowSelection::Sample {
        count: queries,
        seed: seed ^ 0x7175,
    }
    .resolve(n);
    let cands = n.saturating_sub(1).max(1) as f64;
    let mut out = Vec::new();
    for &k in ks {
        let m = 17 * k;
        let spiral = Sketch::Spiral { k };
        let slots = spiral_coords(rows.dim(), k, START, STRIDE);
        let distinct = distinct_coords(&slots);
        let sketches = [spiral, Sketch::RandomCoords { m }, Sketch::Jl { m }];
        let scores: Vec<SpiralScores> = sketches
            .iter()
            .map(|s| score(rows, &q, *s, seed ^ stable_hash(&s.name())))
            .collect();
        for (s, sc) in sketches.iter().zip(&scores) {
            let note = match s {
                Sketch::Spiral { .. } => format!(
                    "{distinct} distinct coordinates of {} read ({} of {m} slots filled); start {START}, stride {STRIDE}",
                    rows.dim(),
                    slots.iter().flatten().count()
                ),
                Sketch::RandomCoords { m } => format!(
                    "{} random coordinates (BF16), equal bytes to spiral K={k} minus its 6-byte address",
                    (*m).min(rows.dim())
                ),
                Sketch::Jl { m } => format!(
                    "{m} Gaussian projections (BF16), equal bytes to spiral K={k} minus its 6-byte address"
                ),
            };
            let ss = seed ^ stable_hash(&s.name());
            for (name, vals, chance) in [
                ("spiral.top1", &sc.top1, 1.0 / cands),
                ("spiral.top5", &sc.top5, (5.0 / cands).min(1.0)),
                ("spiral.rank_agree", &sc.rank_agree, 0.5),
            ] {
                out.push((
                    s.name(),
                    s.bytes(),
                    MetricValue {
                        name: name.to_string(),
                        estimate: mean_ci(vals, resamples, ss ^ stable_hash(name)),
                        chance: Some(chance),
                        note: Some(note.clone()),
                    },
                ));
            }
        }
        for (ctrl, sc) in [("random", &scores[1]), ("jl", &scores[2])] {
            for (metric, a, b) in [
                ("top1", &scores[0].top1, &sc.top1),
                ("rank_agree", &scores[0].rank_agree, &sc.rank_agree),
            ] {
                let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
                out.push((
                    spiral.name(),
                    spiral.bytes(),
                    MetricValue {
                        name: format!("spiral.diff_{ctrl}.{metric}"),
                        estimate: mean_ci(&d, resamples, seed ^ stable_hash(&format!("{k}{ctrl}{metric}"))),
                        chance: Some(0.0),
                        note: Some(format!(
                            "spiral K={k} minus the {ctrl} control at equal bytes, paired over query rows"
                        )),
                    },
                ));
            }
        }
    }
    out
}
