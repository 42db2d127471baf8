//! The significance tests behind [`super::compare`]: the paired test over queries (and codec
//! draws) with Welch–Satterthwaite degrees of freedom, Welch's test between draw values, the
//! normal test from two 95% intervals, and the Holm / Benjamini–Hochberg adjustment. Plain
//! statistics over numbers and rows, kept apart from the matching of two runs' cells and the
//! text report so that each can be read (and checked) on its own.

use super::Correction;
use crate::results::ResultRow;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0_usize);
    for x in v {
        s += x;
        n += 1;
    }
    (n > 0).then(|| s / n as f64)
}

fn var(v: &[f64]) -> f64 {
    let n = v.len();
    if n < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / n as f64;
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64
}

/// The paired test: (p, queries), or why it cannot be done.
pub(super) fn paired_p(
    a: &[Vec<f64>],
    b: &[Vec<f64>],
    corr: bool,
) -> std::result::Result<(f64, usize), String> {
    let f = |v: f64| {
        if corr {
            crate::metric::correlation::fisher_z(v.clamp(-1.0, 1.0))
        } else {
            v
        }
    };
    let nq = a.first().map_or(0, Vec::len);
    if b.first().map_or(0, Vec::len) != nq {
        return Err("the runs scored different numbers of queries".to_string());
    }
    // Per query, the mean over each run's draws (finite cells only).
    let qmean =
        |g: &[Vec<f64>], q: usize| mean(g.iter().map(|d| d[q]).filter(|v| v.is_finite()).map(f));
    let mut d = Vec::with_capacity(nq);
    let mut used = Vec::with_capacity(nq);
    for q in 0..nq {
        if let (Some(x), Some(y)) = (qmean(a, q), qmean(b, q))
            && x.is_finite()
            && y.is_finite()
        {
            d.push(y - x);
            used.push(q);
        }
    }
    let nd = d.len();
    if nd < 2 {
        return Err("fewer than two queries defined in both runs".to_string());
    }
    // Each run's draw means over the paired queries.
    let draw_means = |g: &[Vec<f64>]| -> Vec<f64> {
        g.iter()
            .filter_map(|dr| mean(used.iter().map(|&q| dr[q]).filter(|v| v.is_finite()).map(f)))
            .filter(|v| v.is_finite())
            .collect()
    };
    let (ma, mb) = (draw_means(a), draw_means(b));
    let terms = [
        (var(&d) / nd as f64, nd - 1),
        (
            if ma.len() >= 2 {
                var(&ma) / ma.len() as f64
            } else {
                0.0
            },
            ma.len().saturating_sub(1),
        ),
        (
            if mb.len() >= 2 {
                var(&mb) / mb.len() as f64
            } else {
                0.0
            },
            mb.len().saturating_sub(1),
        ),
    ];
    let se2: f64 = terms.iter().map(|t| t.0).sum();
    let dbar = d.iter().sum::<f64>() / nd as f64;
    if se2 <= 0.0 || !se2.is_finite() {
        return Ok((if dbar == 0.0 { 1.0 } else { 0.0 }, nd));
    }
    // Welch–Satterthwaite degrees of freedom.
    let denom: f64 = terms
        .iter()
        .filter(|t| t.1 > 0 && t.0 > 0.0)
        .map(|t| t.0 * t.0 / t.1 as f64)
        .sum();
    let df = if denom > 0.0 {
        se2 * se2 / denom
    } else {
        (nd - 1) as f64
    };
    let t = dbar / se2.sqrt();
    Ok((two_sided_t(t, df), nd))
}

fn two_sided_t(t: f64, df: f64) -> f64 {
    let p = match StudentsT::new(0.0, 1.0, df.max(1.0)) {
        Ok(dist) => 2.0 * dist.sf(t.abs()),
        Err(_) => two_sided_z(t),
    };
    p.clamp(0.0, 1.0)
}

fn two_sided_z(z: f64) -> f64 {
    (2.0 * Normal::standard().sf(z.abs())).clamp(0.0, 1.0)
}

/// The unpaired test from two 95% intervals.
pub(super) fn unpaired_p(
    ra: &ResultRow,
    rb: &ResultRow,
    va: f64,
    vb: f64,
) -> std::result::Result<f64, String> {
    let se = |r: &ResultRow| match (r.ci_lo, r.ci_hi) {
        (Some(lo), Some(hi)) if hi >= lo => Some((hi - lo) / (2.0 * 1.959_963_984_540_054)),
        _ => None,
    };
    let (Some(sa), Some(sb)) = (se(ra), se(rb)) else {
        return Err("no confidence interval".to_string());
    };
    let s = (sa * sa + sb * sb).sqrt();
    if s == 0.0 {
        return Ok(if va == vb { 1.0 } else { 0.0 });
    }
    Ok(two_sided_z((vb - va) / s))
}

/// Welch's two-sided test between the draw values of two runs (`values[draw][0]`).
pub(super) fn welch_p(a: &[Vec<f64>], b: &[Vec<f64>]) -> Option<f64> {
    let va: Vec<f64> = a.iter().map(|d| d[0]).collect();
    let vb: Vec<f64> = b.iter().map(|d| d[0]).collect();
    match welch_t(&va, &vb)? {
        (t, Some(df)) => Some(two_sided_t(t, df)),
        (t, None) => Some(if t == 0.0 { 1.0 } else { 0.0 }),
    }
}

/// Welch's statistic for `mean(b) − mean(a)`: `t = Δ / √(s_a²/n_a + s_b²/n_b)` and the
/// Welch–Satterthwaite degrees of freedom `(s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a−1) +
/// (s_b²/n_b)²/(n_b−1))`. With zero variance on both sides, `(Δ, None)`: no test, the difference
/// is exact. `None` for fewer than two values on a side or a non-finite value.
pub fn welch_t(a: &[f64], b: &[f64]) -> Option<(f64, Option<f64>)> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let (ma, mb) = (
        a.iter().sum::<f64>() / a.len() as f64,
        b.iter().sum::<f64>() / b.len() as f64,
    );
    let (sa, sb) = (var(a) / a.len() as f64, var(b) / b.len() as f64);
    let se2 = sa + sb;
    if se2 <= 0.0 {
        return Some((mb - ma, None));
    }
    let df = se2 * se2 / (sa * sa / (a.len() - 1) as f64 + sb * sb / (b.len() - 1) as f64);
    Some(((mb - ma) / se2.sqrt(), Some(df)))
}

/// Adjusted p-values of ascending p-values `p` (Holm step-down, or Benjamini–Hochberg
/// step-up), each capped at 1 and monotone in the order of `p`.
pub fn adjusted_p(p: &[f64], correction: Correction) -> Vec<f64> {
    let m = p.len();
    let mut out = vec![0.0; m];
    match correction {
        Correction::Holm => {
            let mut running: f64 = 0.0;
            for (i, &pi) in p.iter().enumerate() {
                running = running.max(((m - i) as f64 * pi).min(1.0));
                out[i] = running;
            }
        }
        Correction::Bh => {
            let mut running: f64 = 1.0;
            for i in (0..m).rev() {
                running = running.min((m as f64 / (i + 1) as f64 * p[i]).min(1.0));
                out[i] = running;
            }
        }
    }
    out
}
