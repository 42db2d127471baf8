//! `codecbench compare RUN_A RUN_B`: a paired test of every metric two runs share, with a
//! multiple-comparison correction, so that `--fail-on-regression` has a stated run-level
//! false-alarm rate.
//!
//! - **Paired** (the metric has per-query values in both runs' `units/` and both scored the same
//!   queries): per query `q`, the difference `d_q` of the metric averaged over each run's codec
//!   draws (on the Fisher-z scale for correlations, as they are pooled). The effect is the mean
//!   `D` of `d_q`; its variance `s_d²/Q + s_A²/R_A + s_B²/R_B` adds each run's variance between
//!   its draws' means (`s_A²` over `R_A ≥ 2` draws), which also re-counts part of the
//!   query-level noise (conservative). Degrees of freedom by Welch–Satterthwaite, a two-sided
//!   Student-t p-value. A random codec measured with one draw in each run cannot separate a
//!   real change from its draw: it is tested only when both runs used the same codec seed (the
//!   same draw), and otherwise listed as untestable.
//! - **Pooled metrics** (kappa tables, `recon_mse`: one value per draw in `units/`): with two or
//!   more draws in each run, Welch's test between the two runs' draw values (the queries are the
//!   same, so what differs is the draws and any real change); otherwise from the intervals.
//! - **From the intervals** (no per-query values: probe rows, runs made before `units/`
//!   existed, runs whose split differs): a normal test of `b − a` with standard errors read from
//!   the two 95% intervals (half-width / 1.96).
//! - Two cells pair only when their split fingerprints (split, its seed, sizes, k, the
//!   population's sha256) are equal: runs with another `--seed` scored other queries.
//! - **Correction**: Holm's step-down over all tested metrics (family-wise error ≤ `alpha`), or
//!   Benjamini–Hochberg (false discovery rate ≤ `alpha`). A regression is a significant change
//!   in the worse direction whose size is at least `min_effect` (in the metric's own units).

use super::fmt_num;
use crate::codec::CodecSpec;
use crate::results::ResultRow;
use crate::results::units::CellUnits;
use std::collections::HashMap;
use std::fmt::Write;

mod significance;

pub use significance::{adjusted_p, welch_t};
use significance::{paired_p, unpaired_p, welch_p};

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

/// The target of a metric with one (1 for slope, 0 for bias and intercept; 0 otherwise).
fn target(d: Direction) -> f64 {
    match d {
        Direction::TowardOne => 1.0,
        Direction::Higher | Direction::Lower | Direction::TowardZero => 0.0,
    }
}

/// Metrics pooled by the Fisher-z mean (tested on that scale).
fn is_correlation(metric: &str) -> bool {
    let base = metric.strip_suffix(".sym").unwrap_or(metric);
    matches!(
        base,
        "pearson" | "spearman" | "kendall" | "icc2_1" | "icc3_1"
    )
}

/// Multiple-comparison correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Correction {
    /// Holm's step-down: family-wise error rate ≤ alpha.
    #[default]
    Holm,
    /// Benjamini–Hochberg: false discovery rate ≤ alpha.
    Bh,
}

impl crate::choice::Choice for Correction {
    const ALL: &'static [Self] = &[Correction::Holm, Correction::Bh];

    fn name(self) -> &'static str {
        match self {
            Correction::Holm => "holm",
            Correction::Bh => "bh",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Correction::Holm => "Holm's step-down: family-wise error rate ≤ alpha",
            Correction::Bh => "Benjamini–Hochberg: false discovery rate ≤ alpha",
        }
    }
}

/// Settings of [`compare`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareOptions {
    /// Run-level error rate of the correction.
    pub alpha: f64,
    /// Smallest change (in the metric's units) that counts as a regression or improvement.
    pub min_effect: f64,
    /// The correction.
    pub correction: Correction,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            alpha: 0.05,
            min_effect: 0.0,
            correction: Correction::Holm,
        }
    }
}

/// One side of a comparison: its rows, per-query values and codec seed base.
pub struct RunSide<'a> {
    /// Result rows.
    pub rows: &'a [ResultRow],
    /// Per-query values (`units/`; empty for runs without them).
    pub units: &'a [CellUnits],
    /// Base seed of the codec draws (`None` if unknown).
    pub codec_seed: Option<u64>,
}

/// How a metric was tested.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Paired over queries (and codec draws), or Welch between the draws of a pooled metric on
    /// the same queries.
    Paired,
    /// From the two intervals.
    Unpaired,
    /// Not tested, and why.
    Untested(String),
}

/// One compared metric.
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
    /// How it was tested.
    pub method: Method,
    /// Queries paired (paired tests).
    pub queries: usize,
    /// Two-sided p-value before the correction.
    pub p: Option<f64>,
    /// p-value after the correction (Holm or BH adjusted).
    pub p_adjusted: Option<f64>,
    /// Significant after the correction.
    pub significant: bool,
    /// Significant, worse, and at least `min_effect`.
    pub regression: bool,
    /// Significant, better, and at least `min_effect`.
    pub improvement: bool,
}

/// All compared metrics and what could not be matched.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Every metric present in both runs with a value in each.
    pub changes: Vec<Change>,
    /// Metrics present in only one run.
    pub unmatched: Vec<String>,
    /// Metrics tested (the family the correction covers).
    pub tested: usize,
    /// Distinct (population, codec) cells among the changes.
    pub cells: usize,
    /// The correction and its rate.
    pub correction: Correction,
    /// Its alpha.
    pub alpha: f64,
    /// The smallest change that counts.
    pub min_effect: f64,
}

impl Comparison {
    /// Whether any metric regressed.
    pub fn regressed(&self) -> bool {
        self.changes.iter().any(|c| c.regression)
    }
}

type Key = (String, String, String);

fn key(r: &ResultRow) -> Key {
    (r.population.clone(), r.codec.clone(), r.metric.clone())
}

/// Per-query values of a metric: `values[draw][query]` and the cell's split and draws.
fn unit_index(units: &[CellUnits]) -> HashMap<Key, (&CellUnits, &Vec<Vec<f64>>)> {
    let mut m = HashMap::new();
    for c in units {
        for u in &c.metrics {
            m.insert(
                (c.population.clone(), c.codec.clone(), u.name.clone()),
                (c, &u.values),
            );
        }
    }
    m
}

const SINGLE_DRAW: &str =
    "one draw of a random codec in a run, with different codec seeds: rerun with --replicates ≥ 2";

/// Whether a random codec was measured with a single draw on either side, with different codec
/// seeds (its draw differs between the runs and its variance is unknown). `random` is what the
/// cell recorded (`CellUnits::random_fit`); without it, what the spec declares for any row count.
fn single_different_draws(
    codec: &str,
    random: Option<bool>,
    da: usize,
    db: usize,
    same_seed: bool,
) -> bool {
    let random = random.unwrap_or_else(|| {
        codec
            .parse::<CodecSpec>()
            .map(|s| s.random_fit())
            .unwrap_or(false)
    });
    random && (da < 2 || db < 2) && !same_seed
}

/// Compare run A (baseline) with run B.
pub fn compare(a: &RunSide<'_>, b: &RunSide<'_>, opts: &CompareOptions) -> Comparison {
    let ua = unit_index(a.units);
    let ub = unit_index(b.units);
    let by_b: HashMap<Key, &ResultRow> = b.rows.iter().map(|r| (key(r), r)).collect();
    let in_a: std::collections::HashSet<Key> = a.rows.iter().map(key).collect();
    let same_seed = a.codec_seed.is_some() && a.codec_seed == b.codec_seed;
    let mut changes = Vec::new();
    let mut unmatched = Vec::new();
    for ra in a.rows {
        let k = key(ra);
        let Some(&rb) = by_b.get(&k) else {
            unmatched.push(format!(
                "only in A: {} · {} · {}",
                ra.population, ra.codec, ra.metric
            ));
            continue;
        };
        let (Some(va), Some(vb)) = (ra.value, rb.value) else {
            continue;
        };
        let untested = |why: &str| (Method::Untested(why.to_string()), None, 0);
        let instrument = ra.codec == "(instrument)" || ra.metric.starts_with("instrument.");
        let draw_level = |g: &Vec<Vec<f64>>| g.first().is_some_and(|d| d.len() == 1);
        let single = |ca: &CellUnits, cb: &CellUnits, da: usize, db: usize| {
            single_different_draws(
                &ra.codec,
                Some(ca.random_fit || cb.random_fit),
                da,
                db,
                same_seed,
            )
        };
        let (method, p, queries) = match (ua.get(&k), ub.get(&k)) {
            _ if instrument && !same_seed => untested(
                "the instrument block uses each codec's first draw, which differs between codec seeds",
            ),
            (Some((ca, ga)), Some((cb, gb)))
                if ca.fingerprint == cb.fingerprint && draw_level(ga) && draw_level(gb) =>
            {
                // A metric pooled over all queries: one value per draw, the same queries in
                // both runs. Several draws on each side: Welch's test between the draws.
                if ga.len() >= 2 && gb.len() >= 2 {
                    match welch_p(ga, gb) {
                        Some(p) => (Method::Paired, Some(p), ca.queries),
                        None => untested("undefined in some draw"),
                    }
                } else if single(ca, cb, ga.len(), gb.len()) {
                    untested(SINGLE_DRAW)
                } else {
                    match unpaired_p(ra, rb, va, vb) {
                        Ok(p) => (Method::Unpaired, Some(p), 0),
                        Err(why) => untested(&why),
                    }
                }
            }
            (Some((ca, ga)), Some((cb, gb))) if ca.fingerprint == cb.fingerprint => {
                if single(ca, cb, ga.len(), gb.len()) {
                    untested(SINGLE_DRAW)
                } else {
                    match paired_p(ga, gb, is_correlation(&ra.metric)) {
                        Ok((p, n)) => (Method::Paired, Some(p), n),
                        Err(why) => untested(&why),
                    }
                }
            }
            _ => {
                if !ra.is_probe()
                    && single_different_draws(&ra.codec, None, ra.draws, rb.draws, same_seed)
                {
                    untested(SINGLE_DRAW)
                } else {
                    match unpaired_p(ra, rb, va, vb) {
                        Ok(p) => (Method::Unpaired, Some(p), 0),
                        Err(why) => untested(&why),
                    }
                }
            }
        };
        changes.push(Change {
            population: ra.population.clone(),
            codec: ra.codec.clone(),
            metric: ra.metric.clone(),
            a: va,
            b: vb,
            delta: vb - va,
            method,
            queries,
            p,
            p_adjusted: None,
            significant: false,
            regression: false,
            improvement: false,
        });
    }
    for rb in b.rows {
        if !in_a.contains(&key(rb)) {
            unmatched.push(format!(
                "only in B: {} · {} · {}",
                rb.population, rb.codec, rb.metric
            ));
        }
    }
    let tested = adjust(&mut changes, opts);
    for c in &mut changes {
        let d = direction(&c.metric);
        let (ba, bb) = (badness(d, c.a), badness(d, c.b));
        // Metrics with a target (slope → 1, bias and intercept → 0) are tested on their signed
        // value. On one side of the target the change in distance is the change tested; when
        // the value crosses the target, the distance changed by less than the tested move, so
        // the change counts only if the distance changed by at least half of it (e.g. bias
        // −0.010 → +0.0105 is significant but no regression; −0.001 → +0.5 is one).
        let crossed = matches!(d, Direction::TowardOne | Direction::TowardZero)
            && (c.a - target(d)).signum() * (c.b - target(d)).signum() < 0.0;
        let moved = (bb - ba).abs();
        let big =
            moved >= opts.min_effect && bb != ba && (!crossed || moved >= 0.5 * c.delta.abs());
        c.regression = c.significant && big && bb > ba;
        c.improvement = c.significant && big && bb < ba;
    }
    let cells = changes
        .iter()
        .map(|c| (&c.population, &c.codec))
        .collect::<std::collections::HashSet<_>>()
        .len();
    Comparison {
        changes,
        unmatched,
        tested,
        cells,
        correction: opts.correction,
        alpha: opts.alpha,
        min_effect: opts.min_effect,
    }
}

/// Adjust the p-values of the tested changes and mark the significant ones; returns how many
/// were tested.
fn adjust(changes: &mut [Change], opts: &CompareOptions) -> usize {
    let mut idx: Vec<usize> = (0..changes.len())
        .filter(|&i| changes[i].p.is_some())
        .collect();
    let m = idx.len();
    idx.sort_by(|&x, &y| {
        changes[x]
            .p
            .unwrap_or(1.0)
            .total_cmp(&changes[y].p.unwrap_or(1.0))
    });
    let adjusted = adjusted_p(
        &idx.iter()
            .map(|&i| changes[i].p.unwrap_or(1.0))
            .collect::<Vec<_>>(),
        opts.correction,
    );
    for (&i, q) in idx.iter().zip(adjusted) {
        changes[i].p_adjusted = Some(q);
        changes[i].significant = q <= opts.alpha;
    }
    m
}

/// Text report: the counts, the significant changes (every change with `all`), what was not
/// tested and what was unmatched.
pub fn render(c: &Comparison, all: bool) -> String {
    let mut s = String::new();
    let regressions = c.changes.iter().filter(|x| x.regression).count();
    let improvements = c.changes.iter().filter(|x| x.improvement).count();
    let paired = c
        .changes
        .iter()
        .filter(|x| x.method == Method::Paired)
        .count();
    let untested = c
        .changes
        .iter()
        .filter(|x| matches!(x.method, Method::Untested(_)))
        .count();
    let rate = match c.correction {
        Correction::Holm => format!("Holm, family-wise error ≤ {}", c.alpha),
        Correction::Bh => format!("Benjamini–Hochberg, false discovery rate ≤ {}", c.alpha),
    };
    let _ = writeln!(
        s,
        "{} metrics compared in {} cells ({} tested: {paired} paired over queries, {} from intervals; {untested} not tested)",
        c.changes.len(),
        c.cells,
        c.tested,
        c.tested - paired,
    );
    let _ = writeln!(
        s,
        "{regressions} regression(s), {improvements} improvement(s) ({rate}; smallest change that counts: {})",
        fmt_num(c.min_effect)
    );
    for x in c.changes.iter().filter(|x| all || x.significant) {
        let tag = if x.regression {
            "REGRESSION"
        } else if x.improvement {
            "improved"
        } else if x.significant {
            "below --min-effect"
        } else {
            ""
        };
        let p = x
            .p_adjusted
            .map_or_else(|| "—".to_string(), |p| format!("{p:.2e}"));
        let _ = writeln!(
            s,
            "  {:<28} {:<24} {:<14} {:>12} → {:>12}  Δ {:>11}  p_adj {:>8}  {tag}",
            x.population,
            x.codec,
            x.metric,
            fmt_num(x.a),
            fmt_num(x.b),
            fmt_num(x.delta),
            p
        );
    }
    let mut reasons: Vec<&str> = c
        .changes
        .iter()
        .filter_map(|x| match &x.method {
            Method::Untested(r) => Some(r.as_str()),
            Method::Paired | Method::Unpaired => None,
        })
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    for r in reasons {
        let n = c
            .changes
            .iter()
            .filter(|x| matches!(&x.method, Method::Untested(y) if y == r))
            .count();
        let _ = writeln!(s, "  not tested ({n}): {r}");
    }
    for u in &c.unmatched {
        let _ = writeln!(s, "  {u}");
    }
    s
}
