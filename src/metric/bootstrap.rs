//! Percentile-bootstrap confidence intervals over independent units (queries, rows), so every
//! reported statistic says how much it could move with a different sample of units.
//!
//! Resampling is single-threaded with a seeded `ChaCha8Rng`, so a result depends only on the
//! data and the seed, never on thread count or platform.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::correlation::fisher_z;

/// A statistic with its 95% bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// The statistic on the full sample; `None` when undefined.
    pub value: Option<f64>,
    /// 2.5% percentile of the resampled statistic; `None` when no resample was defined.
    pub ci_lo: Option<f64>,
    /// 97.5% percentile of the resampled statistic; `None` when no resample was defined.
    pub ci_hi: Option<f64>,
    /// Number of independent units the statistic used.
    pub n: usize,
}

impl Estimate {
    /// No value and no interval, over `n` units.
    pub fn undefined(n: usize) -> Self {
        Self {
            value: None,
            ci_lo: None,
            ci_hi: None,
            n,
        }
    }
}

/// Resamples used when the caller has no reason to choose otherwise.
pub const DEFAULT_RESAMPLES: usize = 1000;

/// Type-7 quantile (linear interpolation between order statistics) of sorted, NaN-free data.
fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let frac = h - lo as f64;
    match sorted.get(lo + 1) {
        // Skip the interpolation when it cannot change the value (also avoids inf - inf).
        Some(&next) if frac > 0.0 && next != sorted[lo] => sorted[lo] + frac * (next - sorted[lo]),
        Some(_) | None => sorted[lo],
    }
}

/// Percentile bootstrap of `statistic` over `n` units.
///
/// `statistic` receives unit indices: `0..n` in order for the reported value, then for each of
/// `resamples` rounds `n` indices drawn uniformly with replacement from a
/// `ChaCha8Rng::seed_from_u64(seed)`. Rounds whose statistic is `None` (or NaN) are skipped;
/// the interval is the type-7 2.5% and 97.5% quantiles of the rest.
///
/// `n == 0`, or a `None`/NaN value on the full sample, gives an undefined estimate. `n == 1`
/// gives the degenerate interval `(value, value)`. No defined resample (e.g.
/// `resamples == 0`) leaves the interval `None`.
pub fn bootstrap<F: Fn(&[usize]) -> Option<f64>>(
    n: usize,
    statistic: F,
    resamples: usize,
    seed: u64,
) -> Estimate {
    if n == 0 {
        return Estimate::undefined(0);
    }
    let mut idx: Vec<usize> = (0..n).collect();
    let Some(value) = statistic(&idx).filter(|v| !v.is_nan()) else {
        return Estimate::undefined(n);
    };
    if n == 1 {
        return Estimate {
            value: Some(value),
            ci_lo: Some(value),
            ci_hi: Some(value),
            n,
        };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for slot in &mut idx {
            *slot = rng.random_range(0..n);
        }
        if let Some(s) = statistic(&idx).filter(|s| !s.is_nan()) {
            stats.push(s);
        }
    }
    percentile_interval(value, stats, n)
}

/// The estimate of `value` with the 2.5% and 97.5% type-7 quantiles of the resampled `stats`
/// (no interval when no resample was defined).
fn percentile_interval(value: f64, mut stats: Vec<f64>, n: usize) -> Estimate {
    if stats.is_empty() {
        return Estimate {
            value: Some(value),
            ci_lo: None,
            ci_hi: None,
            n,
        };
    }
    stats.sort_unstable_by(f64::total_cmp);
    Estimate {
        value: Some(value),
        ci_lo: Some(quantile_sorted(&stats, 0.025)),
        ci_hi: Some(quantile_sorted(&stats, 0.975)),
        n,
    }
}

/// Mean of `values` with a bootstrap interval. Non-finite values are dropped first; `n` counts
/// only the finite ones.
pub fn mean_ci(values: &[f64], resamples: usize, seed: u64) -> Estimate {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    bootstrap(
        finite.len(),
        |idx| Some(idx.iter().map(|&i| finite[i]).sum::<f64>() / idx.len() as f64),
        resamples,
        seed,
    )
}

/// Correlations pooled by [`fisher_z_mean`](super::correlation::fisher_z_mean), with a bootstrap interval of the same statistic.
/// NaN correlations are dropped first; `n` counts the rest.
pub fn fisher_z_mean_ci(correlations: &[f64], resamples: usize, seed: u64) -> Estimate {
    // Transform once instead of once per resample; the sum runs in the same order over the
    // same z values as `fisher_z_mean`, so the statistic is the identical computation.
    let z: Vec<f64> = correlations
        .iter()
        .filter(|r| !r.is_nan())
        .map(|&r| fisher_z(r))
        .collect();
    bootstrap(
        z.len(),
        |idx| Some((idx.iter().map(|&i| z[i]).sum::<f64>() / idx.len() as f64).tanh()),
        resamples,
        seed,
    )
}

/// Ratio of totals `Σ num / Σ den` over units (e.g. hits over relevant items per query), with a
/// bootstrap over units. Units where either value is not finite are dropped; `n` counts the
/// rest. Undefined (`None`) when `Σ den == 0`.
///
/// # Panics
/// If `num.len() != den.len()`.
pub fn ratio_ci(num: &[f64], den: &[f64], resamples: usize, seed: u64) -> Estimate {
    assert_eq!(num.len(), den.len(), "ratio_ci: slices differ in length");
    let units: Vec<(f64, f64)> = num
        .iter()
        .zip(den)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(&a, &b)| (a, b))
        .collect();
    bootstrap(
        units.len(),
        |idx| {
            let (s_num, s_den) = idx
                .iter()
                .fold((0.0, 0.0), |(a, b), &i| (a + units[i].0, b + units[i].1));
            (s_den != 0.0).then(|| s_num / s_den)
        },
        resamples,
        seed,
    )
}

/// Percentile bootstrap over two crossed random factors: `draws` independent codec draws
/// (rotations, sketches, k-means initialisations) × `n` units (queries, or rows). Every round
/// draws `draws` draw indices and `n` unit indices with replacement, independently (Owen's
/// "pigeonhole" bootstrap for crossed designs, 2007), so the interval covers both the sample of
/// units and the codec's own randomness. For many draws it is slightly conservative; for few it
/// is not: resampling R draws shrinks their variance by (R − 1)/R, and a percentile interval
/// cannot reach past the range of the R observed draws (with R = 3 the draw part is rough).
///
/// With `draws == 1` no draw index is drawn and the rounds use exactly the random numbers of
/// [`bootstrap`]: the result equals `bootstrap(n, |u| statistic(&[0], u), …)` bit for bit, so a
/// codec whose fit is deterministic gets the same interval as before.
pub fn bootstrap_crossed<F: Fn(&[usize], &[usize]) -> Option<f64>>(
    draws: usize,
    n: usize,
    statistic: F,
    resamples: usize,
    seed: u64,
) -> Estimate {
    if draws <= 1 {
        return bootstrap(n, |u| statistic(&[0], u), resamples, seed);
    }
    if n == 0 {
        return Estimate::undefined(0);
    }
    let mut reps: Vec<usize> = (0..draws).collect();
    let mut idx: Vec<usize> = (0..n).collect();
    let Some(value) = statistic(&reps, &idx).filter(|v| !v.is_nan()) else {
        return Estimate::undefined(n);
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for slot in &mut reps {
            *slot = rng.random_range(0..draws);
        }
        for slot in &mut idx {
            *slot = rng.random_range(0..n);
        }
        if let Some(s) = statistic(&reps, &idx).filter(|s| !s.is_nan()) {
            stats.push(s);
        }
    }
    percentile_interval(value, stats, n)
}

/// Mean over a grid `grid[draw][unit]` of per-unit values under several codec draws, with the
/// crossed bootstrap of [`bootstrap_crossed`]. Non-finite cells are left out of every mean;
/// `n` counts the units with at least one finite cell. One draw is exactly [`mean_ci`].
///
/// # Panics
/// If the draws have different numbers of units.
pub fn mean_ci_grid(grid: &[Vec<f64>], resamples: usize, seed: u64) -> Estimate {
    grid_ci(grid, |v| v, |m| m, resamples, seed, mean_ci)
}

/// Correlations over a grid `grid[draw][unit]` pooled by the Fisher-z mean, with the crossed
/// bootstrap. One draw is exactly [`fisher_z_mean_ci`].
///
/// # Panics
/// As [`mean_ci_grid`].
pub fn fisher_z_mean_ci_grid(grid: &[Vec<f64>], resamples: usize, seed: u64) -> Estimate {
    grid_ci(grid, fisher_z, f64::tanh, resamples, seed, fisher_z_mean_ci)
}

/// The shared body of the grid means: transform each finite cell, average the drawn cells,
/// transform back.
fn grid_ci(
    grid: &[Vec<f64>],
    forward: fn(f64) -> f64,
    back: fn(f64) -> f64,
    resamples: usize,
    seed: u64,
    single: fn(&[f64], usize, u64) -> Estimate,
) -> Estimate {
    match grid {
        [] => Estimate::undefined(0),
        [one] => single(one, resamples, seed),
        _ => {
            let n = grid[0].len();
            assert!(
                grid.iter().all(|g| g.len() == n),
                "grid: draws differ in their number of units"
            );
            // NaN marks a missing cell after the transform (`fisher_z` clamps ±1 to a large
            // finite z, as in `fisher_z_mean_ci`).
            let t: Vec<Vec<f64>> = grid
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|&v| if v.is_nan() { f64::NAN } else { forward(v) })
                        .collect()
                })
                .collect();
            let defined = (0..n).filter(|&i| t.iter().any(|g| !g[i].is_nan())).count();
            let mut e = bootstrap_crossed(
                grid.len(),
                n,
                |reps, units| {
                    let (mut sum, mut count) = (0.0, 0_usize);
                    for &r in reps {
                        for &i in units {
                            let v = t[r][i];
                            if !v.is_nan() {
                                sum += v;
                                count += 1;
                            }
                        }
                    }
                    (count > 0).then(|| back(sum / count as f64))
                },
                resamples,
                seed,
            );
            e.n = defined;
            e
        }
    }
}

/// Ratio of totals over a grid of (numerator, denominator) per draw and unit (e.g. squared
/// reconstruction error over energy per row), with the crossed bootstrap. Cells where either
/// value is not finite are left out. One draw is exactly [`ratio_ci`].
///
/// # Panics
/// If `num` and `den` differ in shape.
pub fn ratio_ci_grid(num: &[Vec<f64>], den: &[Vec<f64>], resamples: usize, seed: u64) -> Estimate {
    assert_eq!(num.len(), den.len(), "ratio_ci_grid: draws differ");
    match (num, den) {
        ([], _) => Estimate::undefined(0),
        ([a], [b]) => ratio_ci(a, b, resamples, seed),
        _ => {
            let n = num[0].len();
            assert!(
                num.iter().chain(den).all(|g| g.len() == n),
                "ratio_ci_grid: draws differ in their number of units"
            );
            let ok = |r: usize, i: usize| num[r][i].is_finite() && den[r][i].is_finite();
            let defined = (0..n).filter(|&i| (0..num.len()).any(|r| ok(r, i))).count();
            let mut e = bootstrap_crossed(
                num.len(),
                n,
                |reps, units| {
                    let (mut a, mut b) = (0.0, 0.0);
                    for &r in reps {
                        for &i in units {
                            if ok(r, i) {
                                a += num[r][i];
                                b += den[r][i];
                            }
                        }
                    }
                    (b != 0.0).then(|| a / b)
                },
                resamples,
                seed,
            );
            e.n = defined;
            e
        }
    }
}
