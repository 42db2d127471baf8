//! Cronbach's alpha (raw and standardized) with the Feldt interval, alpha-if-item-deleted and
//! corrected item–total correlations.
//!
//! It exists because the origin's alpha mixed raw score scales (so a codec with a larger score
//! scale weighed more) and left the truth out (`reference/origin.md` §4, §7.8). Here the raw
//! form (from covariances) and the standardized form (from correlations, scale-free) are both
//! available; the bench uses the standardized one.
//!
//! Every function takes a `k × k` matrix `C` of covariances *or* correlations. For a covariance
//! matrix the result is the raw statistic; for a correlation matrix it is the standardized one,
//! because alpha of z-scored items is `k r̄ / (1 + (k−1) r̄)` exactly:
//!
//! - alpha: `k/(k−1) · (1 − tr C / 1ᵀC1)`;
//! - alpha if item `i` is deleted: the same on `C` without row and column `i` (needs `k ≥ 3`);
//! - corrected item–total correlation of item `i` (with the sum of the *other* items):
//!   `Σ_{j≠i} C_ij / sqrt(C_ii · 1ᵀC_{−i}1)`.

use super::f_quantile;
use super::table::{Moments, SquareMatrix};

/// Confidence level of the Feldt interval.
pub const CONFIDENCE: f64 = 0.95;

/// Alpha from a covariance (raw) or correlation (standardized) matrix. `None` if `k < 2` or the
/// total `1ᵀC1` is not positive.
pub fn alpha_from_matrix(c: &SquareMatrix) -> Option<f64> {
    alpha_of(c.k(), c.sum(), c.trace())
}

/// Alpha of `k` items whose covariance matrix sums to `total` with trace `trace`.
fn alpha_of(items: usize, total: f64, trace: f64) -> Option<f64> {
    let k = items as f64;
    if items < 2 || total.is_nan() || total <= 0.0 {
        return None;
    }
    let a = k / (k - 1.0) * (1.0 - trace / total);
    a.is_finite().then_some(a)
}

/// Raw Cronbach's alpha of the items summarised by `m` (sample covariances). `None` if `n < 2`,
/// `k < 2`, or the total score does not vary.
pub fn cronbach_alpha(m: &Moments) -> Option<f64> {
    alpha_from_matrix(&m.covariance()?)
}

/// Standardized alpha `k r̄ / (1 + (k−1) r̄)`, `r̄` the mean inter-item correlation. `None` if
/// `n < 2`, `k < 2`, or an item is constant.
pub fn standardized_alpha(m: &Moments) -> Option<f64> {
    alpha_from_matrix(&m.correlation()?)
}

/// Feldt's 95% interval for an alpha from `n` subjects and `k` items:
/// `1 − (1 − α) F_{.975}(n−1, (n−1)(k−1))` to `1 − (1 − α) F_{.025}(n−1, (n−1)(k−1))`
/// (Feldt, Woodruff & Salih 1987; the interval pingouin's `cronbach_alpha` reports). `None` if
/// `n < 2` or `k < 2`. For a standardized alpha this is the same formula applied to the
/// standardized value (exact only for known item variances; the usual approximation).
pub fn feldt_interval(alpha: f64, n: usize, k: usize) -> Option<(f64, f64)> {
    if n < 2 || k < 2 || !alpha.is_finite() {
        return None;
    }
    let df1 = (n - 1) as f64;
    let df2 = df1 * (k - 1) as f64;
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let lo = 1.0 - (1.0 - alpha) * f_quantile(1.0 - tail, df1, df2)?;
    let hi = 1.0 - (1.0 - alpha) * f_quantile(tail, df1, df2)?;
    Some((lo, hi))
}

/// Alpha of the remaining items when each item in turn is deleted, from a covariance (raw) or
/// correlation (standardized) matrix. All `None` when `k < 3` (one item left has no alpha).
pub fn alpha_if_deleted(c: &SquareMatrix) -> Vec<Option<f64>> {
    let k = c.k();
    (0..k)
        .map(|i| {
            if k < 3 {
                return None;
            }
            alpha_of(k - 1, c.sum_without(i), c.trace_without(i))
        })
        .collect()
}

/// Corrected item–total correlation of each item: its correlation with the sum of the other
/// items, from a covariance (raw sums) or correlation (sums of z-scores) matrix. `None` for an
/// item with zero variance or when the rest of the items sum to a constant.
pub fn item_total(c: &SquareMatrix) -> Vec<Option<f64>> {
    let k = c.k();
    (0..k)
        .map(|i| {
            if k < 2 {
                return None;
            }
            let cov: f64 = (0..k).filter(|&j| j != i).map(|j| c.get(i, j)).sum();
            let var_rest = c.sum_without(i);
            let var_i = c.get(i, i);
            if var_i <= 0.0 || var_rest <= 0.0 {
                return None;
            }
            let r = cov / (var_i.sqrt() * var_rest.sqrt());
            r.is_finite().then(|| r.clamp(-1.0, 1.0))
        })
        .collect()
}
