//! How a measured value reads: `value ± half-width` at four significant digits. Rows' notes
//! (verdicts) and every report format use it, so a number reads the same everywhere.

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
