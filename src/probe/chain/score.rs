//! The origin's "score chain" (P5, `origin.md` §3 P5 step 6), reproduced as a diagnostic of why
//! it could not show what it claimed. One "layer" is `S = rowwise softmax(M)` (temperature 1,
//! no scaling), then `M ← S·M·Sᵀ`. Cosines in [−1, 1] make every row of S nearly uniform, so
//! the chain averages even the *exact* matrix into a constant within a few layers (pure
//! attention without residuals loses rank doubly exponentially: Dong, Cordonnier & Loukas,
//! "Attention is not all you need", ICML 2021). The origin's Pearson then hit its zero-variance
//! fallback and printed ρ = 0.000 for every method.
//!
//! This version reports the variance of the exact matrix at every depth and refuses a
//! correlation once the truth is constant to rounding: the value is undefined and the note says
//! "undefined: truth constant". The rounding floor: each entry of `S·M·Sᵀ` is two chained sums of
//! n products, so f64 rounding moves it by at most about `2 n ε max|M|`; a standard deviation
//! below `64 n ε max|M|` (a 32× margin) is indistinguishable from rounding noise, and any rank
//! order among such values is arbitrary.

use crate::codec::Codec;
use crate::data::Rows;
use crate::metric::bootstrap::{Estimate, bootstrap};
use crate::metric::correlation::{pearson, spearman};
use crate::metric::suite::MetricValue;

/// Depths reported by default: the origin's progressive table (1, 5, 10, 20, 33) plus the
/// first few layers, where the collapse happens.
pub const DEFAULT_DEPTHS: &[usize] = &[0, 1, 2, 3, 4, 5, 10, 20, 33];
/// Rows of the chained matrix (the origin's 50×50 submatrix).
pub const DEFAULT_ROWS: usize = 50;

/// The Euclidean norm of every row, in f64.
fn row_norms(rows: &Rows) -> Vec<f64> {
    rows.iter()
        .map(|r| crate::codec::dot_f64(r, r).sqrt())
        .collect()
}

/// A symmetric `n × n` score matrix, row-major, f64.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMatrix {
    /// Side.
    pub n: usize,
    /// Entries, row-major.
    pub m: Vec<f64>,
}

impl ScoreMatrix {
    /// Exact cosines of the rows (diagonal 1). Rows must be nonzero.
    pub fn exact(rows: &Rows) -> ScoreMatrix {
        let norms = row_norms(rows);
        ScoreMatrix::unit_diagonal(rows.len(), |i, j| {
            crate::codec::dot_f64(rows.row(i), rows.row(j)) / (norms[i] * norms[j])
        })
    }

    /// Cosines estimated by a codec: `est(x_i, code_j) / (‖x_i‖ ‖x_j‖)` with the rows' exact
    /// norms, symmetrized `(M̂ + M̂ᵀ)/2`, diagonal 1 (as the origin's matrices).
    pub fn codec(codec: &dyn Codec, rows: &Rows) -> ScoreMatrix {
        let n = rows.len();
        let codes = codec.encode_all(rows);
        let norms = row_norms(rows);
        let mut raw = vec![0.0; n * n];
        for i in 0..n {
            let scorer = codec.scorer(rows.row(i));
            for j in 0..n {
                raw[i * n + j] = scorer.estimate(codes.get(j)) / (norms[i] * norms[j]);
            }
        }
        ScoreMatrix::unit_diagonal(n, |i, j| 0.5 * (raw[i * n + j] + raw[j * n + i]))
    }

    /// The `n × n` matrix with 1 on the diagonal and `off(i, j)` everywhere else.
    fn unit_diagonal(n: usize, off: impl Fn(usize, usize) -> f64) -> ScoreMatrix {
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] = if i == j { 1.0 } else { off(i, j) };
            }
        }
        ScoreMatrix { n, m }
    }

    /// The origin's "direct i8" method: every cosine scalar rounded to `round(c·127)/127`.
    pub fn origin_i8(&self) -> ScoreMatrix {
        ScoreMatrix {
            n: self.n,
            m: self.m.iter().map(|c| (c * 127.0).round() / 127.0).collect(),
        }
    }

    /// One chain layer: `S = rowwise softmax(M)`, `M ← S·M·Sᵀ`.
    pub fn step(&self) -> ScoreMatrix {
        let n = self.n;
        let mut s = self.m.clone();
        for row in s.chunks_exact_mut(n) {
            let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for v in row.iter_mut() {
                *v = (*v - mx).exp();
                sum += *v;
            }
            for v in row.iter_mut() {
                *v /= sum;
            }
        }
        // t = S·M, then M' = t·Sᵀ.
        let mut t = vec![0.0; n * n];
        for i in 0..n {
            for k in 0..n {
                let a = s[i * n + k];
                for j in 0..n {
                    t[i * n + j] += a * self.m[k * n + j];
                }
            }
        }
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] = (0..n).map(|k| t[i * n + k] * s[j * n + k]).sum();
            }
        }
        ScoreMatrix { n, m }
    }

    /// Upper-triangle entries (`i < j`), row-major.
    pub fn upper(&self) -> Vec<f64> {
        let n = self.n;
        (0..n)
            .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
            .map(|(i, j)| self.m[i * n + j])
            .collect()
    }

    /// Population variance of the upper triangle.
    pub fn upper_variance(&self) -> f64 {
        let u = self.upper();
        let mean = u.iter().sum::<f64>() / u.len().max(1) as f64;
        u.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / u.len().max(1) as f64
    }

    /// The standard deviation below which the upper triangle is constant to rounding:
    /// `64 n ε max|M|` (see the module docs).
    pub fn rounding_floor(&self) -> f64 {
        let max = self.m.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        64.0 * self.n as f64 * f64::EPSILON * max
    }

    /// True when the upper triangle's standard deviation is at or below the rounding floor.
    pub fn is_constant(&self) -> bool {
        self.upper_variance().sqrt() <= self.rounding_floor()
    }
}

/// The chain at one depth, exact vs one method.
#[derive(Debug, Clone)]
pub struct DepthReport {
    /// Chain layers applied.
    pub depth: usize,
    /// Variance of the exact matrix's upper triangle.
    pub truth_variance: f64,
    /// Its rounding floor (as a standard deviation).
    pub floor: f64,
    /// Spearman of estimate vs exact upper triangle (undefined once either is constant).
    pub spearman: Estimate,
    /// Pearson, likewise.
    pub pearson: Estimate,
    /// Why the correlations are undefined, if they are.
    pub note: Option<String>,
}

/// Chain the exact and the estimated matrix side by side and report at each of `depths`.
/// CIs bootstrap over rows (a resample keeps the pairs of distinct drawn rows).
pub fn run(
    truth: &ScoreMatrix,
    estimate: &ScoreMatrix,
    depths: &[usize],
    resamples: usize,
    seed: u64,
) -> Vec<DepthReport> {
    let max_depth = depths.iter().copied().max().unwrap_or(0);
    let (mut t, mut e) = (truth.clone(), estimate.clone());
    let mut out = Vec::new();
    for depth in 0..=max_depth {
        if depth > 0 {
            t = t.step();
            e = e.step();
        }
        if !depths.contains(&depth) {
            continue;
        }
        let truth_variance = t.upper_variance();
        let floor = t.rounding_floor();
        let note = if t.is_constant() {
            Some(format!(
                "undefined: truth constant (sd {:.3e} ≤ rounding floor {:.3e}); the exact matrix has collapsed, so no correlation can be measured",
                truth_variance.sqrt(),
                floor
            ))
        } else if e.is_constant() {
            Some(format!(
                "undefined: estimate constant (sd {:.3e} ≤ rounding floor {:.3e})",
                e.upper_variance().sqrt(),
                e.rounding_floor()
            ))
        } else {
            None
        };
        let (spearman_e, pearson_e) = if note.is_some() {
            let undefined = Estimate {
                value: None,
                ci_lo: None,
                ci_hi: None,
                n: t.n,
            };
            (undefined, undefined)
        } else {
            (
                row_bootstrap(&t, &e, spearman, resamples, seed ^ depth as u64),
                row_bootstrap(&t, &e, pearson, resamples, seed ^ 0x50 ^ depth as u64),
            )
        };
        out.push(DepthReport {
            depth,
            truth_variance,
            floor,
            spearman: spearman_e,
            pearson: pearson_e,
            note,
        });
    }
    out
}

/// A correlation of the upper triangles with a bootstrap over rows.
fn row_bootstrap(
    t: &ScoreMatrix,
    e: &ScoreMatrix,
    corr: fn(&[f64], &[f64]) -> Option<f64>,
    resamples: usize,
    seed: u64,
) -> Estimate {
    let n = t.n;
    bootstrap(
        n,
        |idx| {
            let mut rows: Vec<usize> = idx.to_vec();
            rows.sort_unstable();
            rows.dedup();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for (x, &i) in rows.iter().enumerate() {
                for &j in &rows[x + 1..] {
                    a.push(t.m[i * n + j]);
                    b.push(e.m[i * n + j]);
                }
            }
            corr(&a, &b)
        },
        resamples,
        seed,
    )
}

/// Result metrics: `scorechain.truth_var@Ld`, `scorechain.spearman@Ld`, `scorechain.pearson@Ld`.
pub fn metrics(reports: &[DepthReport]) -> Vec<MetricValue> {
    let mut out = Vec::new();
    for r in reports {
        out.push(MetricValue {
            name: format!("scorechain.truth_var@L{}", r.depth),
            estimate: Estimate {
                value: Some(r.truth_variance),
                ci_lo: None,
                ci_hi: None,
                n: r.spearman.n,
            },
            chance: None,
            note: Some(format!(
                "variance of the exact matrix's upper triangle after {} chain layers (descriptive, no sampling CI); rounding floor sd {:.3e}",
                r.depth, r.floor
            )),
        });
        for (name, est) in [("spearman", r.spearman), ("pearson", r.pearson)] {
            out.push(MetricValue {
                name: format!("scorechain.{name}@L{}", r.depth),
                estimate: est,
                chance: Some(0.0),
                note: r.note.clone(),
            });
        }
    }
    out
}
