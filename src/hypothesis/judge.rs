//! One gate against the rows: pick the row a gate speaks about (the best qualifying codec, or
//! the one it names), judge its 95% CI against the threshold, and combine two gates into a
//! verdict. Shared by the hypothesis matrix and codec viability (`matrix`).

use super::{Gate, HYPOTHESIS_CODEC, Op, VIABILITY_CODEC};
use crate::results::ResultRow;

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

/// Rows that are measurements (not verdicts written back by an earlier evaluation).
pub(super) fn measured(rows: &[ResultRow]) -> impl Iterator<Item = &ResultRow> {
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
