//! How far estimated scores stray from exact ones in absolute terms: error size (MAE, RMSE),
//! systematic offset (bias), and the affine distortion (slope, intercept) a codec applies.
//! Correlation ignores scale and shift; these do not.

use super::correlation::is_negligible_ss;

/// Error summary of estimates against exact values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deviation {
    /// Mean absolute error, `mean(|estimate - truth|)`.
    pub mae: f64,
    /// Root mean squared error, `sqrt(mean((estimate - truth)²))`.
    pub rmse: f64,
    /// Mean signed error, `mean(estimate - truth)`; positive means overestimation.
    pub bias: f64,
    /// Least-squares slope of estimate on truth; `None` if truth has zero variance.
    pub slope: Option<f64>,
    /// Least-squares intercept of estimate on truth; `None` when `slope` is.
    pub intercept: Option<f64>,
}

/// Error statistics of `estimate` against `truth`, with errors `e = estimate - truth`.
///
/// Pairs where either value is not finite are skipped. With no pair left, `mae`, `rmse` and
/// `bias` are NaN and `slope`/`intercept` are `None`. Zero variance of truth is judged as in
/// [`super::correlation::pearson`].
///
/// # Panics
/// If `truth.len() != estimate.len()`.
pub fn deviation(truth: &[f64], estimate: &[f64]) -> Deviation {
    assert_eq!(
        truth.len(),
        estimate.len(),
        "deviation: slices differ in length"
    );
    let pairs = || {
        truth
            .iter()
            .zip(estimate)
            .filter(|(t, e)| t.is_finite() && e.is_finite())
            .map(|(&t, &e)| (t, e))
    };
    let (mut n, mut sum_t, mut sum_e, mut abs, mut sq, mut signed, mut max_t) =
        (0_usize, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0_f64);
    for (t, e) in pairs() {
        let err = e - t;
        n += 1;
        sum_t += t;
        sum_e += e;
        abs += err.abs();
        sq += err * err;
        signed += err;
        max_t = max_t.max(t.abs());
    }
    if n == 0 {
        return Deviation {
            mae: f64::NAN,
            rmse: f64::NAN,
            bias: f64::NAN,
            slope: None,
            intercept: None,
        };
    }
    let nf = n as f64;
    let (mean_t, mean_e) = (sum_t / nf, sum_e / nf);
    let (mut stt, mut ste) = (0.0, 0.0);
    for (t, e) in pairs() {
        let dt = t - mean_t;
        stt += dt * dt;
        ste += dt * (e - mean_e);
    }
    let slope = (n >= 2 && !is_negligible_ss(stt, n, max_t)).then(|| ste / stt);
    Deviation {
        mae: abs / nf,
        rmse: (sq / nf).sqrt(),
        bias: signed / nf,
        slope,
        intercept: slope.map(|s| mean_e - s * mean_t),
    }
}
