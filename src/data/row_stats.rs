//! Summary statistics of a set of rows (moments, range, row norms, zero and non-finite rows):
//! what `codecbench inspect` shows per tensor. Below the loaders, which compute them over a
//! sample of their rows, and the dispatch in `inspect`, which reports them.

use super::rows::Rows;

/// Summary statistics over a set of rows. Moments and the range cover finite values only;
/// norms cover rows whose values are all finite. Every field is 0 when it covers nothing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RowStats {
    /// Rows summarised.
    pub rows: usize,
    /// Columns per row.
    pub dims: usize,
    /// Mean of the finite values.
    pub mean: f64,
    /// Population standard deviation of the finite values.
    pub std: f64,
    /// Smallest finite value.
    pub min: f64,
    /// Largest finite value.
    pub max: f64,
    /// Largest finite |value|.
    pub abs_max: f64,
    /// Mean L2 norm of the all-finite rows.
    pub norm_mean: f64,
    /// Smallest L2 norm of the all-finite rows.
    pub norm_min: f64,
    /// Largest L2 norm of the all-finite rows.
    pub norm_max: f64,
    /// Rows whose values are all zero.
    pub zero_rows: usize,
    /// Rows holding at least one NaN or ±Inf.
    pub nonfinite_rows: usize,
}

/// Statistics of `rows`, accumulated in f64.
pub fn row_stats(rows: &Rows) -> RowStats {
    let mut count = 0u64;
    let mut sum = 0.0f64;
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut zero_rows = 0;
    let mut nonfinite_rows = 0;
    let mut norm_count = 0u64;
    let mut norm_sum = 0.0f64;
    let mut norm_min = f64::INFINITY;
    let mut norm_max = f64::NEG_INFINITY;
    for row in rows.iter() {
        let mut finite = true;
        let mut sq = 0.0f64;
        for &v in row {
            if !v.is_finite() {
                finite = false;
                continue;
            }
            let v = f64::from(v);
            count += 1;
            sum += v;
            sq += v * v;
            min = min.min(v);
            max = max.max(v);
        }
        if row.iter().all(|&v| v == 0.0) {
            zero_rows += 1;
        }
        if finite {
            let norm = sq.sqrt();
            norm_count += 1;
            norm_sum += norm;
            norm_min = norm_min.min(norm);
            norm_max = norm_max.max(norm);
        } else {
            nonfinite_rows += 1;
        }
    }
    let mean = if count > 0 { sum / count as f64 } else { 0.0 };
    // Second pass about the mean: no cancellation when |mean| >> std.
    let var = if count > 0 {
        rows.as_slice()
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / count as f64
    } else {
        0.0
    };
    let (min, max) = if count > 0 { (min, max) } else { (0.0, 0.0) };
    let (norm_mean, norm_min, norm_max) = if norm_count > 0 {
        (norm_sum / norm_count as f64, norm_min, norm_max)
    } else {
        (0.0, 0.0, 0.0)
    };
    RowStats {
        rows: rows.len(),
        dims: rows.dim(),
        mean,
        std: var.sqrt(),
        min,
        max,
        abs_max: min.abs().max(max.abs()),
        norm_mean,
        norm_min,
        norm_max,
        zero_rows,
        nonfinite_rows,
    }
}
