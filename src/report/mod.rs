//! Report formats: pure functions from result rows (and run metadata) to text. No I/O here; the
//! runner writes what these return.

pub mod compare;
pub mod csv;
pub mod html;
pub mod jsonl;
pub mod markdown;
pub mod peers;
pub mod probes_html;
pub mod summary;
pub mod svg;

/// `value ± half-width` with 4 significant digits, or `—` when undefined.
pub fn fmt_ci(value: Option<f64>, lo: Option<f64>, hi: Option<f64>) -> String {
    match value {
        None => "—".to_string(),
        Some(v) => match (lo, hi) {
            (Some(l), Some(h)) if h > l => {
                format!("{} ± {}", fmt_num(v), fmt_num((h - l) / 2.0))
            }
            _ => fmt_num(v),
        },
    }
}

/// A number with 4 significant digits, switching to scientific notation when small or large.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if a > 0.99 && a < 1.0 {
        // Near-perfect correlations and recalls: keep two significant digits of 1 − |v|, so
        // 0.99996 does not print as 1.0000.
        let digits = ((-(1.0 - a).log10()).ceil() as usize + 1).clamp(4, 10);
        return format!("{v:.digits$}");
    }
    if !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        let digits = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    }
}

/// One sentence saying what every interval of a run covers (report.md and report.html).
pub fn intervals_sentence(plan: &crate::run::Plan) -> String {
    let units = "the queries (the base rows for recon_mse)";
    if plan.replicates > 1 {
        format!(
            "Intervals are 95% percentile bootstrap CIs over {units} and, for codecs whose fit \
             is random (rotations, sketches, k-means starts, sampled training rows), over their \
             {} independent codec draws as well (a crossed bootstrap: draws and queries \
             resampled together); deterministic codecs are fitted once and their intervals \
             cover the queries only. The `.sym` metrics and the instrument block stand on each \
             codec's first draw.",
            plan.replicates
        )
    } else {
        format!(
            "Intervals are 95% percentile bootstrap CIs over {units} only: each codec was fitted \
             once (`--replicates 1`), so for codecs whose fit is random the intervals do not \
             cover another draw of the rotation, sketch or k-means start."
        )
    }
}
