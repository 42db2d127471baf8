//! The hypotheses registry and the verdicts that fill it. The origin stated its invariants and
//! probe results in prose and commit messages, and declared success after one gate (its
//! anti-pattern AP1). Here each claim lives in a data file ([`REGISTRY_TOML`], `hypotheses.toml`)
//! with the populations it speaks about, the origin's expectation and two gates; the verdict of
//! every (hypothesis × population) cell — confirmed, refuted, inconclusive or not testable, with
//! the numbers and CIs behind it — is computed from the bench's result rows and nothing else.
//!
//! The same file holds the codec-viability thresholds: a codec is viable for a population only if
//! it passes gate 1 (score fidelity, per regime) *and* gate 2 (the regime's end-to-end check).
//!
//! A gate passes when the metric's 95% CI lies entirely on the predicted side of its threshold,
//! fails when it lies entirely on the other side, and is inconclusive when it straddles it; a
//! number without a CI (a descriptive quantity) is compared as is.

pub mod render;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::results::ResultRow;

pub use render::{render_markdown, to_rows};

/// The built-in registry (`src/hypothesis/hypotheses.toml`).
pub const REGISTRY_TOML: &str = include_str!("hypotheses.toml");

/// Codec column of verdict rows written back into results.
pub const HYPOTHESIS_CODEC: &str = "(hypothesis)";
/// Codec column of viability rows written back into results.
pub const VIABILITY_CODEC: &str = "(viability)";

/// Comparison of a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Op {
    /// value ≥ threshold.
    #[serde(rename = ">=")]
    Ge,
    /// value > threshold.
    #[serde(rename = ">")]
    Gt,
    /// value ≤ threshold.
    #[serde(rename = "<=")]
    Le,
    /// value < threshold.
    #[serde(rename = "<")]
    Lt,
    /// |value| ≤ threshold.
    #[serde(rename = "within")]
    Within,
}

impl Op {
    /// The operator as written in the registry.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Ge => "≥",
            Op::Gt => ">",
            Op::Le => "≤",
            Op::Lt => "<",
            Op::Within => "|x| ≤",
        }
    }

    /// Pass / fail / inconclusive of an interval `[lo, hi]` (a point when both are equal).
    pub fn judge(self, lo: f64, hi: f64, t: f64) -> Outcome {
        let (pass, fail) = match self {
            Op::Ge => (lo >= t, hi < t),
            Op::Gt => (lo > t, hi <= t),
            Op::Le => (hi <= t, lo > t),
            Op::Lt => (hi < t, lo >= t),
            Op::Within => (lo >= -t && hi <= t, lo > t || hi < -t),
        };
        if pass {
            Outcome::Pass
        } else if fail {
            Outcome::Fail
        } else {
            Outcome::Inconclusive
        }
    }

    /// Whether larger values are better for this comparison (which row a "best" pick takes).
    fn prefers_large(self) -> bool {
        matches!(self, Op::Ge | Op::Gt)
    }
}

/// One measurement with a threshold.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// What it measures, in words.
    #[serde(default)]
    pub what: String,
    /// Metric name in the result rows.
    pub metric: String,
    /// Comparison.
    pub op: Op,
    /// Threshold.
    pub threshold: f64,
    /// Exact codec (canonical spec or probe method name); without it the best row among those
    /// passing the filters is taken.
    #[serde(default)]
    pub codec: Option<String>,
    /// Fixed population (instead of the cell's), e.g. the chain population of a weight tensor.
    #[serde(default)]
    pub population: Option<String>,
    /// Filter: codec family (`rotation`, `palette-leaf`, …).
    #[serde(default)]
    pub codec_family: Option<String>,
    /// Filter: at most this many bytes per row.
    #[serde(default)]
    pub max_bytes_per_row: Option<usize>,
    /// Filter: at most this many bits per dimension.
    #[serde(default)]
    pub max_bits_per_dim: Option<f64>,
}

/// One claim of the origin.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hypothesis {
    /// I1…I9, P1…P9 (and sub-claims such as `P5.chain`).
    pub id: String,
    /// The claim in one sentence.
    pub claim: String,
    /// What the origin expected or reported.
    pub origin: String,
    /// Population prefixes the claim speaks about (`*` = every column).
    pub populations: Vec<String>,
    /// Why the claim has no measurement here, if it has none.
    #[serde(default)]
    pub not_testable: Option<String>,
    /// Statistical gate.
    #[serde(default)]
    pub gate1: Option<Gate>,
    /// Second (practical or independent) gate.
    #[serde(default)]
    pub gate2: Option<Gate>,
}

/// Gate 1 of one regime.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeGate {
    /// All must pass.
    pub conditions: Vec<Gate>,
}

/// Regime and gate 2 of populations matching a prefix.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ViabilityPopulation {
    /// Population prefix.
    #[serde(default)]
    pub prefix: String,
    /// `argmax` or `index`.
    pub regime: String,
    /// The end-to-end check; all must pass.
    pub gate2: Vec<Gate>,
}

/// The viability thresholds.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Viability {
    /// Gate 1 per regime.
    pub gate1: BTreeMap<String, RegimeGate>,
    /// Regime and gate 2 of populations no prefix matches.
    pub default: ViabilityPopulation,
    /// Per population prefix (first match wins).
    #[serde(default)]
    pub population: Vec<ViabilityPopulation>,
}

/// The registry: hypotheses and viability thresholds.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Every claim, in report order.
    pub hypothesis: Vec<Hypothesis>,
    /// Codec viability.
    pub viability: Viability,
}

impl Registry {
    /// The built-in registry.
    pub fn builtin() -> Registry {
        Registry::parse(REGISTRY_TOML).expect("the built-in hypotheses.toml is valid (tested)")
    }

    /// Parse and check a registry: ids unique, and every claim either has both gates or says
    /// why it is not testable (never one gate alone: AP1); every regime of a population has a
    /// gate 1.
    pub fn parse(text: &str) -> Result<Registry> {
        let bad = |reason: String| Error::InvalidPlan {
            field: "hypotheses registry",
            reason,
        };
        let reg: Registry = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut ids: Vec<&str> = reg.hypothesis.iter().map(|h| h.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad(format!("hypothesis id '{}' appears twice", w[0])));
        }
        for h in &reg.hypothesis {
            let gates = usize::from(h.gate1.is_some()) + usize::from(h.gate2.is_some());
            match (&h.not_testable, gates) {
                (Some(_), 0) | (None, 2) => {}
                (Some(_), _) => {
                    return Err(bad(format!(
                        "{}: a claim marked not_testable must not have gates",
                        h.id
                    )));
                }
                (None, _) => {
                    return Err(bad(format!(
                        "{}: a testable claim needs two gates (AP1: never one gate alone)",
                        h.id
                    )));
                }
            }
            if h.populations.is_empty() {
                return Err(bad(format!("{}: no populations", h.id)));
            }
        }
        let v = &reg.viability;
        for p in v.population.iter().chain(std::iter::once(&v.default)) {
            if !v.gate1.contains_key(&p.regime) {
                return Err(bad(format!(
                    "viability: regime '{}' (population '{}') has no gate1",
                    p.regime, p.prefix
                )));
            }
            if p.gate2.is_empty() {
                return Err(bad(format!(
                    "viability: population '{}' has no gate2",
                    p.prefix
                )));
            }
        }
        Ok(reg)
    }

    /// Regime and gate 2 for a population name: the first matching prefix; otherwise the
    /// default gate 2 with the regime the catalog gives the population (if it is a named one).
    pub fn viability_for(&self, population: &str) -> ViabilityPopulation {
        if let Some(p) = self
            .viability
            .population
            .iter()
            .find(|p| matches_prefix(&p.prefix, population))
        {
            return p.clone();
        }
        let mut d = self.viability.default.clone();
        let name = population.split(':').next().unwrap_or(population);
        if let Some(r) = crate::data::real::REAL.iter().find(|r| r.name == name) {
            let regime = match r.regime {
                crate::data::real::Regime::Argmax => "argmax",
                crate::data::real::Regime::Index => "index",
            };
            if self.viability.gate1.contains_key(regime) {
                d.regime = regime.to_string();
            }
        }
        d
    }
}

/// `population` is `prefix` or `prefix:…`; `*` matches everything.
pub fn matches_prefix(prefix: &str, population: &str) -> bool {
    prefix == "*"
        || population == prefix
        || population
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with(':'))
}

/// What one gate (or condition) found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Outcome {
    /// CI entirely on the predicted side.
    Pass,
    /// CI entirely on the other side.
    Fail,
    /// CI straddles the threshold.
    Inconclusive,
    /// No row to judge (why).
    Missing(String),
    /// The row exists but its value is undefined (its note).
    Undefined(String),
}

/// One gate applied to one population.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateResult {
    /// The gate.
    pub gate: Gate,
    /// Population the rows came from.
    pub population: String,
    /// Codec (or method) of the row judged.
    pub codec: Option<String>,
    /// Value, CI and n of that row.
    pub value: Option<f64>,
    /// CI low.
    pub ci_lo: Option<f64>,
    /// CI high.
    pub ci_hi: Option<f64>,
    /// Units.
    pub n: usize,
    /// Judgement.
    pub outcome: Outcome,
}

/// The verdict of a cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Verdict {
    /// Both gates pass.
    Confirmed,
    /// A gate fails.
    Refuted,
    /// No gate fails; some straddles its threshold.
    Inconclusive,
    /// Missing or undefined measurement, or no measurement exists (why).
    NotTestable(String),
}

impl Verdict {
    /// Short label.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Refuted => "refuted",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotTestable(_) => "not testable",
        }
    }
}

/// One (hypothesis × population) cell.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    /// Hypothesis id.
    pub id: String,
    /// Matrix column (population).
    pub population: String,
    /// Verdict.
    pub verdict: Verdict,
    /// The gates behind it (empty when not testable by registry).
    pub gates: Vec<GateResult>,
}

/// The hypothesis × population matrix.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Matrix {
    /// Columns, in order.
    pub columns: Vec<String>,
    /// Cells, hypothesis-major in registry order; a hypothesis has a cell in every column its
    /// populations match.
    pub cells: Vec<Cell>,
}

/// One codec's viability for one population.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ViabilityCell {
    /// Population.
    pub population: String,
    /// Codec spec.
    pub codec: String,
    /// argmax / index.
    pub regime: String,
    /// Gate 1 conditions.
    pub gate1: Vec<GateResult>,
    /// Gate 2 conditions.
    pub gate2: Vec<GateResult>,
    /// Verdict (`Confirmed` = viable, `Refuted` = not viable).
    pub verdict: Verdict,
}

/// Rows that are measurements (not verdicts written back by an earlier evaluation).
fn measured(rows: &[ResultRow]) -> impl Iterator<Item = &ResultRow> {
    rows.iter()
        .filter(|r| r.codec != HYPOTHESIS_CODEC && r.codec != VIABILITY_CODEC)
}

/// Judge one gate on rows of `population`, for `codec` when the gate names none.
pub fn judge_gate(
    gate: &Gate,
    population: &str,
    codec: Option<&str>,
    rows: &[ResultRow],
) -> GateResult {
    let pop = gate.population.as_deref().unwrap_or(population);
    let want_codec = gate.codec.as_deref().or(codec);
    let candidates: Vec<&ResultRow> = measured(rows)
        .filter(|r| r.population == pop && r.metric == gate.metric)
        .filter(|r| want_codec.is_none_or(|c| r.codec == c))
        .filter(|r| gate.codec_family.as_deref().is_none_or(|f| r.family == f))
        .filter(|r| gate.max_bytes_per_row.is_none_or(|b| r.bytes_per_row <= b))
        .filter(|r| {
            gate.max_bits_per_dim
                .is_none_or(|b| r.bits_per_dim <= b + 1e-9)
        })
        .collect();
    let key = |r: &ResultRow| -> f64 {
        let v = r.value.unwrap_or(f64::NAN);
        if gate.op == Op::Within {
            -v.abs()
        } else if gate.op.prefers_large() {
            v
        } else {
            -v
        }
    };
    // The best defined row (the claim is about the best codec that qualifies); an undefined row
    // only when no row is defined.
    let pick = candidates
        .iter()
        .filter(|r| r.value.is_some())
        .max_by(|a, b| key(a).total_cmp(&key(b)))
        .or_else(|| candidates.first())
        .copied();
    let Some(r) = pick else {
        let mut what = format!("no `{}` rows for {pop}", gate.metric);
        if let Some(c) = want_codec {
            what.push_str(&format!(" × {c}"));
        }
        let mut filters = Vec::new();
        if let Some(f) = &gate.codec_family {
            filters.push(format!("family {f}"));
        }
        if let Some(b) = gate.max_bytes_per_row {
            filters.push(format!("≤ {b} B/row"));
        }
        if let Some(b) = gate.max_bits_per_dim {
            filters.push(format!("≤ {b} bits/dim"));
        }
        if !filters.is_empty() {
            what.push_str(&format!(" among codecs with {}", filters.join(", ")));
        }
        what.push_str(&format!(" (produced by {})", producer(&gate.metric)));
        return GateResult {
            gate: gate.clone(),
            population: pop.to_string(),
            codec: want_codec.map(str::to_string),
            value: None,
            ci_lo: None,
            ci_hi: None,
            n: 0,
            outcome: Outcome::Missing(what),
        };
    };
    let outcome = match r.value {
        None => Outcome::Undefined(
            r.note
                .clone()
                .unwrap_or_else(|| "the value is undefined".to_string()),
        ),
        Some(v) => {
            let (lo, hi) = match (r.ci_lo, r.ci_hi) {
                (Some(l), Some(h)) => (l.min(v), h.max(v)),
                _ => (v, v),
            };
            gate.op.judge(lo, hi, gate.threshold)
        }
    };
    GateResult {
        gate: gate.clone(),
        population: pop.to_string(),
        codec: Some(r.codec.clone()),
        value: r.value,
        ci_lo: r.ci_lo,
        ci_hi: r.ci_hi,
        n: r.n,
        outcome,
    }
}

/// Which command produces a metric (for "not testable" messages).
fn producer(metric: &str) -> &'static str {
    if metric.starts_with("chain.")
        || metric.starts_with("attn.")
        || metric.starts_with("scorechain.")
    {
        "`codecbench probe chain`"
    } else if metric.starts_with("family.") || metric.starts_with("geometry.") {
        "`codecbench probe family`"
    } else if metric.starts_with("spiral.") {
        "`codecbench probe spiral`"
    } else if metric.starts_with("identity.") {
        "`codecbench probe identity`"
    } else if metric.starts_with("p9.") || metric.starts_with("resolution.") {
        "`codecbench probe resolution`"
    } else {
        "`codecbench run`"
    }
}

/// Combine gate outcomes: any failure refutes; otherwise an undefined or missing measurement
/// makes the cell not testable; both passing confirms; anything else is inconclusive.
pub fn combine(gates: &[GateResult]) -> Verdict {
    if gates.is_empty() {
        return Verdict::NotTestable("no gates".to_string());
    }
    if gates.iter().any(|g| g.outcome == Outcome::Fail) {
        return Verdict::Refuted;
    }
    for g in gates {
        match &g.outcome {
            Outcome::Undefined(why) => {
                return Verdict::NotTestable(format!("`{}`: {why}", g.gate.metric));
            }
            Outcome::Missing(why) => return Verdict::NotTestable(why.clone()),
            Outcome::Pass | Outcome::Fail | Outcome::Inconclusive => {}
        }
    }
    if gates.iter().all(|g| g.outcome == Outcome::Pass) {
        Verdict::Confirmed
    } else {
        Verdict::Inconclusive
    }
}

/// Columns: every measured population that some hypothesis speaks about, then the prefixes
/// with no rows at all (so a missing probe shows as not-testable cells, not as silence).
fn columns(reg: &Registry, rows: &[ResultRow]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for r in measured(rows) {
        if !cols.contains(&r.population)
            && reg.hypothesis.iter().any(|h| {
                h.populations
                    .iter()
                    .any(|p| p != "*" && matches_prefix(p, &r.population))
            })
        {
            cols.push(r.population.clone());
        }
    }
    for h in &reg.hypothesis {
        for p in &h.populations {
            if p != "*" && !cols.iter().any(|c| matches_prefix(p, c)) && !cols.contains(p) {
                cols.push(p.clone());
            }
        }
    }
    cols
}

/// Fill the hypothesis × population matrix from measured rows.
pub fn evaluate(reg: &Registry, rows: &[ResultRow]) -> Matrix {
    let cols = columns(reg, rows);
    let mut cells = Vec::new();
    for h in &reg.hypothesis {
        for col in &cols {
            if !h.populations.iter().any(|p| matches_prefix(p, col)) {
                continue;
            }
            let (verdict, gates) = match (&h.not_testable, &h.gate1, &h.gate2) {
                (Some(why), _, _) => (Verdict::NotTestable(why.clone()), Vec::new()),
                (None, Some(g1), Some(g2)) => {
                    let gates = vec![
                        judge_gate(g1, col, None, rows),
                        judge_gate(g2, col, None, rows),
                    ];
                    (combine(&gates), gates)
                }
                (None, _, _) => (
                    Verdict::NotTestable("the registry gives it fewer than two gates".to_string()),
                    Vec::new(),
                ),
            };
            cells.push(Cell {
                id: h.id.clone(),
                population: col.clone(),
                verdict,
                gates,
            });
        }
    }
    Matrix {
        columns: cols,
        cells,
    }
}

/// Codec viability for every (population, codec) with pair-probe rows (`spearman`).
pub fn viability(reg: &Registry, rows: &[ResultRow]) -> Vec<ViabilityCell> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for r in measured(rows) {
        if r.metric == "spearman" && !r.codec.starts_with('(') {
            let key = (r.population.clone(), r.codec.clone());
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
    }
    seen.into_iter()
        .map(|(pop, codec)| {
            let v = reg.viability_for(&pop);
            let g1: Vec<GateResult> = reg
                .viability
                .gate1
                .get(&v.regime)
                .map(|g| &g.conditions[..])
                .unwrap_or_default()
                .iter()
                .map(|g| judge_gate(g, &pop, Some(&codec), rows))
                .collect();
            let g2: Vec<GateResult> = v
                .gate2
                .iter()
                .map(|g| judge_gate(g, &pop, Some(&codec), rows))
                .collect();
            let grade = measured(rows)
                .find(|r| r.population == pop && r.codec == codec)
                .map(|r| r.grade.clone())
                .unwrap_or_default();
            let verdict = viability_verdict(&g1, &g2, &grade);
            ViabilityCell {
                population: pop,
                codec,
                regime: v.regime.clone(),
                gate1: g1,
                gate2: g2,
                verdict,
            }
        })
        .collect()
}

fn gate_outcome(conds: &[GateResult]) -> Outcome {
    if conds.iter().any(|c| c.outcome == Outcome::Fail) {
        return Outcome::Fail;
    }
    for c in conds {
        match &c.outcome {
            Outcome::Missing(w) => return Outcome::Missing(w.clone()),
            Outcome::Undefined(w) => return Outcome::Undefined(w.clone()),
            Outcome::Pass | Outcome::Fail | Outcome::Inconclusive => {}
        }
    }
    if conds.iter().all(|c| c.outcome == Outcome::Pass) {
        Outcome::Pass
    } else {
        Outcome::Inconclusive
    }
}

/// Viable only when both gates pass; one failing gate is enough to reject; a gate that cannot
/// be measured leaves the codec not testable (never viable on gate 1 alone).
fn viability_verdict(g1: &[GateResult], g2: &[GateResult], grade: &str) -> Verdict {
    let (o1, o2) = (gate_outcome(g1), gate_outcome(g2));
    if o1 == Outcome::Fail || o2 == Outcome::Fail {
        return Verdict::Refuted;
    }
    let why = |n: usize, o: &Outcome| -> Option<String> {
        match o {
            Outcome::Missing(w) | Outcome::Undefined(w) => {
                let mut s = format!("gate {n}: {w}");
                if n == 2
                    && grade == "signature"
                    && g2.iter().any(|g| g.gate.metric.starts_with("chain."))
                {
                    s.push_str(
                        "; a signature-grade codec cannot rebuild weights for the forward pass",
                    );
                }
                Some(s)
            }
            Outcome::Pass | Outcome::Fail | Outcome::Inconclusive => None,
        }
    };
    if let Some(w) = why(1, &o1).or_else(|| why(2, &o2)) {
        return Verdict::NotTestable(w);
    }
    if o1 == Outcome::Pass && o2 == Outcome::Pass {
        Verdict::Confirmed
    } else {
        Verdict::Inconclusive
    }
}
