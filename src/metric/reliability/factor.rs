//! Factor structure of a set of items: eigenvalues of their correlation matrix, first-factor
//! (first principal component) loadings, and Horn's parallel analysis to say how many factors
//! rise above what uncorrelated data of the same size would show.
//!
//! It exists to test the origin's claim of a two-factor "location vs sparse signal" structure
//! among codecs (`reference/origin.md` §4) instead of asserting it. The eigen decomposition is a
//! cyclic Jacobi method (exact to rounding for the small symmetric matrices here — tens of
//! items), so no linear-algebra dependency is needed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};

use super::table::{Moments, SquareMatrix};
use crate::linalg::eigen::sym_eigenvalues;

/// Eigen decomposition of a symmetric matrix, eigenvalues in descending order.
#[derive(Debug, Clone, PartialEq)]
pub struct Eigen {
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// Column `j` is the unit eigenvector of `values[j]`.
    pub vectors: SquareMatrix,
}

/// Above this many items the decomposition is faer's (Householder tridiagonalisation and
/// divide-and-conquer, `linalg::eigen`): Jacobi's sweeps cost O(k³) each with the vectors, which
/// took 2.9 s at k = 500 and grows as k³; faer takes milliseconds. At or below it (every table
/// the bench builds: its codecs as items) the Jacobi method keeps its digits.
pub const JACOBI_MAX: usize = 64;

/// [`symmetric_eigen`] by faer, for large matrices.
fn faer_eigen(a: &SquareMatrix) -> Eigen {
    let k = a.k();
    let mut m = vec![0.0f64; k * k];
    for i in 0..k {
        for j in 0..k {
            m[i * k + j] = if i <= j { a.get(i, j) } else { a.get(j, i) };
        }
    }
    let (values, vecs) = crate::linalg::eigen::sym_eigen(&m, k);
    let mut vectors = SquareMatrix::zeros(k);
    for r in 0..k {
        for c in 0..k {
            vectors.set(r, c, vecs[r * k + c]);
        }
    }
    Eigen { values, vectors }
}

/// Eigenvalues (descending) of a simulated `k × k` correlation matrix (row-major): by Jacobi
/// at or below [`JACOBI_MAX`] items, as every earlier build computed them, by faer (values
/// only) above.
fn simulated_eigenvalues(r: &[f64], k: usize) -> Vec<f64> {
    if k <= JACOBI_MAX {
        symmetric_eigen(&SquareMatrix::from_row_major(k, r.to_vec())).values
    } else {
        sym_eigenvalues(r, k)
    }
}

/// The `k` eigenvalues (descending) of `ZᵀZ` for a row-major `n × k` matrix `z` with `n ≤ k`:
/// the eigenvalues of the `n × n` Gram matrix `Z·Zᵀ` (into `g`), then `k − n` zeros — the
/// non-zero eigenvalues of `ZᵀZ` and `Z·Zᵀ` are the same (both are the squared singular values
/// of `Z`).
pub fn gram_eigenvalues(z: &[f64], n: usize, k: usize, g: &mut [f64]) -> Vec<f64> {
    for i in 0..n {
        for j in 0..=i {
            let v: f64 = (0..k).map(|t| z[i * k + t] * z[j * k + t]).sum();
            g[i * n + j] = v;
            g[j * n + i] = v;
        }
    }
    let mut values = sym_eigenvalues(&g[..n * n], n);
    values.resize(k, 0.0);
    values
}

/// Eigenvalues and eigenvectors of the symmetric matrix `a` by the cyclic Jacobi method (by
/// faer above [`JACOBI_MAX`] items).
///
/// Each sweep rotates every off-diagonal pair `(p, q)` to zero with `t = tan φ` the smaller root
/// of `t² + 2θt − 1 = 0`, `θ = (a_qq − a_pp) / (2 a_pq)` (Golub & Van Loan §8.5). Sweeps stop
/// when the off-diagonal sum of squares is below `(k ε)²` times the total, or after 100 sweeps
/// (convergence is quadratic; a few sweeps suffice in practice). Only the upper triangle of `a`
/// is read.
pub fn symmetric_eigen(a: &SquareMatrix) -> Eigen {
    let k = a.k();
    if k > JACOBI_MAX {
        return faer_eigen(a);
    }
    let mut m = vec![vec![0.0; k]; k];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = if i <= j { a.get(i, j) } else { a.get(j, i) };
        }
    }
    let mut v = vec![vec![0.0; k]; k];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    let tol = (k as f64 * f64::EPSILON).powi(2);
    for _sweep in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        let diag: f64 = (0..k).map(|i| m[i][i] * m[i][i]).sum();
        if off == 0.0 || off <= tol * (diag + 2.0 * off) {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = m[p][q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * apq);
                let t = if theta.is_infinite() {
                    0.0
                } else {
                    1.0_f64.copysign(theta) / (theta.abs() + theta.hypot(1.0))
                };
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                for row in &mut m {
                    let (rp, rq) = (row[p], row[q]);
                    row[p] = c * rp - s * rq;
                    row[q] = s * rp + c * rq;
                }
                let (head, tail) = m.split_at_mut(q);
                for (x, y) in head[p].iter_mut().zip(tail[0].iter_mut()) {
                    let (pr, qr) = (*x, *y);
                    *x = c * pr - s * qr;
                    *y = s * pr + c * qr;
                }
                for row in &mut v {
                    let (rp, rq) = (row[p], row[q]);
                    row[p] = c * rp - s * rq;
                    row[q] = s * rp + c * rq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&x, &y| m[y][y].total_cmp(&m[x][x]));
    let values = order.iter().map(|&i| m[i][i]).collect();
    let mut vectors = SquareMatrix::zeros(k);
    for (col, &i) in order.iter().enumerate() {
        for (r, row) in v.iter().enumerate() {
            vectors.set(r, col, row[i]);
        }
    }
    Eigen { values, vectors }
}

/// First-factor loadings of a correlation matrix's decomposition: the first principal
/// component scaled to correlations with the items, `sqrt(λ₁) · v₁`, signed so that the
/// loadings sum to a non-negative number. Empty for an empty matrix.
pub fn first_factor_loadings(e: &Eigen) -> Vec<f64> {
    let k = e.vectors.k();
    if k == 0 {
        return Vec::new();
    }
    let scale = e.values[0].max(0.0).sqrt();
    let v1: Vec<f64> = (0..k).map(|r| e.vectors.get(r, 0)).collect();
    let sign = if v1.iter().sum::<f64>() < 0.0 {
        -1.0
    } else {
        1.0
    };
    v1.iter().map(|x| sign * scale * x).collect()
}

/// Settings of a parallel analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParallelOptions {
    /// Random data sets simulated.
    pub matrices: usize,
    /// Quantile of the simulated eigenvalues an observed one must exceed.
    pub quantile: f64,
    /// Seed of the `ChaCha8Rng` that draws the random data.
    pub seed: u64,
}

impl Default for ParallelOptions {
    /// 200 data sets, 95th percentile, seed 0.
    fn default() -> Self {
        Self {
            matrices: 200,
            quantile: 0.95,
            seed: 0,
        }
    }
}

/// Result of Horn's parallel analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelAnalysis {
    /// Per position, the `quantile` of the eigenvalues of the random correlation matrices.
    pub thresholds: Vec<f64>,
    /// Number of leading observed eigenvalues above their thresholds (counting stops at the
    /// first one that is not).
    pub factors: usize,
    /// Rows of each simulated data set.
    pub n: usize,
    /// The options used.
    pub options: ParallelOptions,
}

/// Type-7 quantile of sorted data.
fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let frac = h - lo as f64;
    match sorted.get(lo + 1) {
        Some(&next) if frac > 0.0 => sorted[lo] + frac * (next - sorted[lo]),
        Some(_) | None => sorted[lo],
    }
}

/// Horn's (1965) parallel analysis: simulate `options.matrices` correlation matrices of `n`
/// rows × `k = observed.len()` independent standard-normal items, take each position's
/// `options.quantile` of their eigenvalues, and count the leading observed eigenvalues
/// (descending) that exceed them.
///
/// The matrices are drawn without the data: for centred iid N(0, I_k) rows the scatter matrix
/// is Wishart(I_k, n − 1), which by Bartlett's decomposition (Bartlett 1933; Anderson, *An
/// Introduction to Multivariate Statistical Analysis*, 3rd ed., Thm 7.2.1) is A·Aᵀ with A lower
/// triangular, A_ii = √χ²(n − 1 − i) and A_ij ~ N(0, 1) for i > j, all independent; its
/// correlation matrix has exactly the distribution of the simulated data's. That costs O(k³)
/// per matrix instead of O(n·k²) (a `ChaCha8Rng` seeded with `options.seed`, matrix by matrix,
/// row by row). With n ≤ k the scatter matrix is singular: the data are simulated directly
/// (column by column) and the eigenvalues taken from the n × n Gram matrix, O(n²k). The
/// simulated matrices' eigenvalues come from faer (`linalg::eigen`), which computes no
/// eigenvectors; the cyclic Jacobi method below, O(k³) per sweep with vectors, took 16 s for
/// 200 matrices of 200 items.
///
/// `None` if `n < 3`, fewer than 2 items, no matrices, or a quantile outside `[0, 1]`.
pub fn parallel_analysis(
    observed: &[f64],
    n: usize,
    options: ParallelOptions,
) -> Option<ParallelAnalysis> {
    let k = observed.len();
    if n < 3 || k < 2 || options.matrices == 0 || !(0.0..=1.0).contains(&options.quantile) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut per_position: Vec<Vec<f64>> = vec![Vec::with_capacity(options.matrices); k];
    let mut push = |values: Vec<f64>| {
        for (slot, v) in per_position.iter_mut().zip(values) {
            slot.push(v);
        }
    };
    if n > k {
        let chi: Vec<ChiSquared<f64>> = (0..k)
            .map(|i| ChiSquared::new((n - 1 - i) as f64))
            .collect::<Result<_, _>>()
            .ok()?;
        let mut a = vec![0.0f64; k * k];
        let mut w = vec![0.0f64; k * k];
        let mut r = vec![0.0f64; k * k];
        for _ in 0..options.matrices {
            for i in 0..k {
                for j in 0..i {
                    a[i * k + j] = StandardNormal.sample(&mut rng);
                }
                a[i * k + i] = chi[i].sample(&mut rng).sqrt();
            }
            // W = A Aᵀ (lower triangular A: row i has entries 0..=i).
            for i in 0..k {
                for j in 0..=i {
                    let v: f64 = (0..=j).map(|t| a[i * k + t] * a[j * k + t]).sum();
                    w[i * k + j] = v;
                    w[j * k + i] = v;
                }
            }
            for i in 0..k {
                for j in 0..k {
                    r[i * k + j] = w[i * k + j] / (w[i * k + i] * w[j * k + j]).sqrt();
                }
            }
            push(simulated_eigenvalues(&r, k));
        }
    } else {
        // n ≤ k rows: R = ZᵀZ with Z (n × k) the columns centred and scaled to unit norm has
        // rank ≤ n − 1, and its non-zero eigenvalues are those of the n × n Gram matrix Z·Zᵀ
        // (the SVD of Z), the rest zero: O(n²k) per matrix instead of O(k³).
        let mut z = vec![0.0f64; n * k];
        let mut g = vec![0.0f64; n * n];
        let mut columns = vec![vec![0.0f64; n]; k];
        for _ in 0..options.matrices {
            for col in &mut columns {
                for x in col.iter_mut() {
                    *x = StandardNormal.sample(&mut rng);
                }
            }
            if k <= JACOBI_MAX {
                // Small tables keep the digits of earlier builds (a bench run is resumed across
                // builds): the full k × k correlation matrix, by Jacobi.
                let cols: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
                // Continuous draws are never constant, so the correlation exists.
                let r = Moments::from_columns(&cols).correlation()?;
                push(symmetric_eigen(&r).values);
                continue;
            }
            for (j, col) in columns.iter().enumerate() {
                let mean = col.iter().sum::<f64>() / n as f64;
                let ss: f64 = col.iter().map(|x| (x - mean) * (x - mean)).sum();
                // Continuous draws are never constant, so ss > 0.
                let scale = 1.0 / ss.sqrt();
                for (i, x) in col.iter().enumerate() {
                    z[i * k + j] = (x - mean) * scale;
                }
            }
            push(gram_eigenvalues(&z, n, k, &mut g));
        }
    }
    let thresholds: Vec<f64> = per_position
        .iter_mut()
        .map(|vals| {
            vals.sort_unstable_by(f64::total_cmp);
            quantile_sorted(vals, options.quantile)
        })
        .collect();
    let factors = observed
        .iter()
        .zip(&thresholds)
        .take_while(|(o, t)| o > t)
        .count();
    Some(ParallelAnalysis {
        thresholds,
        factors,
        n,
        options,
    })
}

/// Eigenvalues, first-factor loadings and (where defined) parallel analysis of a correlation
/// matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorStructure {
    /// Eigenvalues of the correlation matrix, largest first (they sum to the number of items).
    pub eigenvalues: Vec<f64>,
    /// First-factor loadings, in item order.
    pub loadings: Vec<f64>,
    /// Parallel analysis; `None` where [`parallel_analysis`] is.
    pub parallel: Option<ParallelAnalysis>,
}

/// The factor structure of the correlation matrix `r` of data with `n_parallel` rows (the `n`
/// of the parallel analysis; pass 0 to skip it).
pub fn factor_structure(
    r: &SquareMatrix,
    n_parallel: usize,
    options: ParallelOptions,
) -> FactorStructure {
    let e = symmetric_eigen(r);
    let loadings = first_factor_loadings(&e);
    let parallel = parallel_analysis(&e.values, n_parallel, options);
    FactorStructure {
        eigenvalues: e.values,
        loadings,
        parallel,
    }
}
