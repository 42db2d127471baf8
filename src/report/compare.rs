//! `codecbench compare RUN_A RUN_B`: per population × codec × metric, the change from run A to
//! run B and whether it lies beyond both confidence intervals (B's value outside A's CI and A's
//! value outside B's). A change beyond both CIs in the worse direction is a regression.

use super::fmt_num;
use crate::run::ResultRow;
use std::fmt::Write;

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Larger is better (correlations, recall).
    Higher,
    /// Smaller is better (errors).
    Lower,
    /// Closer to 1 is better (slope).
    TowardOne,
    /// Closer to 0 is better (bias, intercept).
    TowardZero,
}

/// The direction of a metric by its name (`.sym` variants like their base metric).
pub fn direction(metric: &str) -> Direction {
    let base = metric.strip_suffix(".sym").unwrap_or(metric);
    match base {
        "slope" => Direction::TowardOne,
        "bias" | "intercept" => Direction::TowardZero,
        "mae" | "rmse" | "recon_mse" => Direction::Lower,
        _ => Direction::Higher,
    }
}

fn badness(d: Direction, v: f64) -> f64 {
    match d {
        Direction::Higher => -v,
        Direction::Lower => v,
        Direction::TowardOne => (v - 1.0).abs(),
        Direction::TowardZero => v.abs(),
    }
}

/// One compared cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    /// Population.
    pub population: String,
    /// Codec.
    pub codec: String,
    /// Metric.
    pub metric: String,
    /// Value in run A.
    pub a: f64,
    /// Value in run B.
    pub b: f64,
    /// b − a.
    pub delta: f64,
    /// B outside A's CI and A outside B's CI.
    pub beyond_ci: bool,
    /// Worse beyond both CIs.
    pub regression: bool,
    /// Better beyond both CIs.
    pub improvement: bool,
}

/// Compare two runs' rows; cells present in only one run are listed in `unmatched`.
pub fn compare(a: &[ResultRow], b: &[ResultRow]) -> (Vec<Change>, Vec<String>) {
    let mut out = Vec::new();
    let mut unmatched = Vec::new();
    for ra in a {
        let Some(rb) = b.iter().find(|r| {
            r.population == ra.population && r.codec == ra.codec && r.metric == ra.metric
        }) else {
            unmatched.push(format!(
                "only in A: {} · {} · {}",
                ra.population, ra.codec, ra.metric
            ));
            continue;
        };
        let (Some(va), Some(vb)) = (ra.value, rb.value) else {
            continue;
        };
        let outside = |v: f64, lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
            (Some(lo), Some(hi)) => v < lo || v > hi,
            _ => v != va && v != vb,
        };
        let beyond = outside(vb, ra.ci_lo, ra.ci_hi) && outside(va, rb.ci_lo, rb.ci_hi);
        let d = direction(&ra.metric);
        let worse = badness(d, vb) > badness(d, va);
        out.push(Change {
            population: ra.population.clone(),
            codec: ra.codec.clone(),
            metric: ra.metric.clone(),
            a: va,
            b: vb,
            delta: vb - va,
            beyond_ci: beyond,
            regression: beyond && worse,
            improvement: beyond && !worse && vb != va,
        });
    }
    for rb in b {
        if !a
            .iter()
            .any(|r| r.population == rb.population && r.codec == rb.codec && r.metric == rb.metric)
        {
            unmatched.push(format!(
                "only in B: {} · {} · {}",
                rb.population, rb.codec, rb.metric
            ));
        }
    }
    (out, unmatched)
}

/// Text table of the changes beyond CI (all changes with `all`).
pub fn render(changes: &[Change], unmatched: &[String], all: bool) -> String {
    let mut s = String::new();
    let regressions = changes.iter().filter(|c| c.regression).count();
    let improvements = changes.iter().filter(|c| c.improvement).count();
    let _ = writeln!(
        s,
        "{} cells compared: {regressions} regression(s), {improvements} improvement(s) beyond both 95% CIs",
        changes.len()
    );
    for c in changes.iter().filter(|c| all || c.beyond_ci) {
        let tag = if c.regression {
            "REGRESSION"
        } else if c.improvement {
            "improved"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {:<28} {:<24} {:<14} {:>12} → {:>12}  Δ {:>11}  {tag}",
            c.population,
            c.codec,
            c.metric,
            fmt_num(c.a),
            fmt_num(c.b),
            fmt_num(c.delta)
        );
    }
    for u in unmatched {
        let _ = writeln!(s, "  {u}");
    }
    s
}
