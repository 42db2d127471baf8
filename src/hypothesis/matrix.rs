//! The hypothesis × population matrix and codec viability, filled from measured rows with
//! [`super::judge_gate`]: which populations become columns, each claim's two gates per column,
//! and each (population, codec)'s gate 1 (score fidelity, per regime) and gate 2 (end to end).

use super::{
    GateResult, Outcome, Registry, Verdict, combine, judge_gate, matches_prefix, measured,
};
use crate::results::ResultRow;

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
