//! Views of the verdicts: the Markdown section (the hypothesis × population matrix, each cell's
//! gates with their numbers, the codec-viability table naming both gates, and the thresholds
//! echoed from the registry) and tidy result rows, so verdicts travel with the measurements.

use std::fmt::Write;

use super::{
    Cell, GateResult, HYPOTHESIS_CODEC, Matrix, Outcome, Registry, VIABILITY_CODEC, Verdict,
    ViabilityCell,
};
use crate::results::ResultRow;
use crate::results::fmt::{fmt_ci, fmt_num};

fn mark(v: &Verdict) -> &'static str {
    match v {
        Verdict::Confirmed => "✓",
        Verdict::Refuted => "✗",
        Verdict::Inconclusive => "?",
        Verdict::NotTestable(_) => "–",
    }
}

fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Inconclusive => "straddles",
        Outcome::Missing(_) => "missing",
        Outcome::Undefined(_) => "undefined",
    }
}

/// `metric [codec] = v ± h (n) vs ≥ t → pass`.
fn gate_text(g: &GateResult) -> String {
    let codec = g
        .codec
        .as_deref()
        .map_or(String::new(), |c| format!(" of {c}"));
    let value = match &g.outcome {
        Outcome::Missing(why) => return format!("`{}`{codec}: {why}", g.gate.metric),
        Outcome::Undefined(why) => format!("undefined ({why})"),
        Outcome::Pass | Outcome::Fail | Outcome::Inconclusive => {
            let ci = match (g.ci_lo, g.ci_hi) {
                (Some(l), Some(h)) => format!(" [{}, {}]", fmt_num(l), fmt_num(h)),
                _ => String::new(),
            };
            format!(
                "{}{ci} (n = {})",
                g.value.map_or("—".to_string(), fmt_num),
                g.n
            )
        }
    };
    format!(
        "`{}`{codec} on {} = {value}; needs {} {} → **{}**",
        g.gate.metric,
        g.population,
        g.gate.op.symbol(),
        fmt_num(g.gate.threshold),
        outcome_word(&g.outcome)
    )
}

/// The matrix cell: mark, verdict and gate 1's number.
fn cell_text(c: &Cell) -> String {
    let num = c
        .gates
        .first()
        .filter(|g| g.value.is_some())
        .map(|g| format!(" {}", fmt_ci(g.value, g.ci_lo, g.ci_hi)))
        .unwrap_or_default();
    if c.gates
        .iter()
        .any(|g| matches!(g.outcome, Outcome::Undefined(_)))
        && matches!(c.verdict, Verdict::NotTestable(_))
    {
        return format!("{} undefined (see below)", mark(&c.verdict));
    }
    format!("{} {}{num}", mark(&c.verdict), c.verdict.label())
}

/// The Markdown section: matrix, details, viability, thresholds.
pub fn render_markdown(reg: &Registry, m: &Matrix, via: &[ViabilityCell]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Hypotheses (verdicts computed from the rows above)\n");
    let _ = writeln!(
        s,
        "Each testable claim has two gates (the origin's AP1: never success on one gate). A gate passes when its 95% CI lies on the predicted side of the threshold, fails when it lies on the other side; a failing gate refutes, two passing gates confirm, a straddling CI is inconclusive, a missing or undefined measurement is not testable. Cells show gate 1's value. Thresholds: `src/hypothesis/hypotheses.toml`.\n"
    );
    let cols: Vec<&String> = m.columns.iter().collect();
    let _ = write!(s, "| claim |");
    for c in &cols {
        let _ = write!(s, " {c} |");
    }
    let _ = write!(s, "\n|---|");
    for _ in &cols {
        let _ = write!(s, "---|");
    }
    let _ = writeln!(s);
    for h in &reg.hypothesis {
        let _ = write!(s, "| **{}** |", h.id);
        for c in &cols {
            let cell = m.cells.iter().find(|x| x.id == h.id && &x.population == *c);
            let _ = write!(s, " {} |", cell.map_or(String::new(), cell_text));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "\n### Claims and gates\n");
    for h in &reg.hypothesis {
        let _ = writeln!(s, "- **{}** — {} *Origin: {}.*", h.id, h.claim, h.origin);
        if let Some(why) = &h.not_testable {
            let _ = writeln!(s, "  - not testable here: {why}");
            continue;
        }
        for c in m.cells.iter().filter(|c| c.id == h.id) {
            let why = match &c.verdict {
                Verdict::NotTestable(w) => format!(" ({w})"),
                Verdict::Confirmed | Verdict::Refuted | Verdict::Inconclusive => String::new(),
            };
            let _ = writeln!(
                s,
                "  - {} **{}**: {}{why}",
                mark(&c.verdict),
                c.population,
                c.verdict.label()
            );
            if c.gates
                .iter()
                .all(|g| matches!(g.outcome, Outcome::Missing(_)))
            {
                continue;
            }
            for (i, g) in c.gates.iter().enumerate() {
                let what = if g.gate.what.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", g.gate.what)
                };
                let _ = writeln!(s, "    - gate {}: {what}{}", i + 1, gate_text(g));
            }
        }
    }
    if !via.is_empty() {
        let _ = writeln!(
            s,
            "\n## Codec viability (gate 1 score fidelity AND gate 2 end-to-end)\n"
        );
        let _ = writeln!(
            s,
            "| population | codec | regime | gate 1 | gate 2 | verdict |\n|---|---|---|---|---|---|"
        );
        for v in via {
            let g = |gs: &[GateResult]| -> String {
                gs.iter()
                    .map(|g| {
                        format!(
                            "{} {} ({})",
                            g.gate.metric,
                            fmt_ci(g.value, g.ci_lo, g.ci_hi),
                            outcome_word(&g.outcome)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let verdict = match &v.verdict {
                Verdict::Confirmed => "✓ viable".to_string(),
                Verdict::Refuted => "✗ not viable".to_string(),
                Verdict::Inconclusive => "? inconclusive".to_string(),
                Verdict::NotTestable(w) => format!("– not testable: {w}"),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {verdict} |",
                v.population,
                v.codec,
                v.regime,
                g(&v.gate1),
                g(&v.gate2)
            );
        }
    }
    let _ = writeln!(s, "\n### Viability thresholds (from the registry)\n");
    for (regime, g) in &reg.viability.gate1 {
        let conds: Vec<String> = g
            .conditions
            .iter()
            .map(|c| format!("{} {} {}", c.metric, c.op.symbol(), fmt_num(c.threshold)))
            .collect();
        let _ = writeln!(s, "- gate 1, {regime}: {}", conds.join(" and "));
    }
    for p in reg
        .viability
        .population
        .iter()
        .chain(std::iter::once(&reg.viability.default))
    {
        let conds: Vec<String> = p
            .gate2
            .iter()
            .map(|c| {
                let on = c
                    .population
                    .as_deref()
                    .map_or(String::new(), |p| format!(" on {p}"));
                format!(
                    "{}{on} {} {}",
                    c.metric,
                    c.op.symbol(),
                    fmt_num(c.threshold)
                )
            })
            .collect();
        let who = if p.prefix.is_empty() {
            "any other population".to_string()
        } else {
            p.prefix.clone()
        };
        let _ = writeln!(s, "- gate 2, {who} ({}): {}", p.regime, conds.join(" and "));
    }
    s
}

/// Verdicts as result rows: metric `hypothesis.<id>` (codec `(hypothesis)`) and
/// `viability.<codec>` (codec `(viability)`); value/CI are gate 1's, the note holds the verdict
/// and both gates.
pub fn to_rows(m: &Matrix, via: &[ViabilityCell], seed: u64) -> Vec<ResultRow> {
    let row =
        |population: &str, codec: &str, metric: String, g: Option<&GateResult>, note: String| {
            ResultRow {
                population: population.to_string(),
                codec: codec.to_string(),
                metric,
                value: g.and_then(|g| g.value),
                ci_lo: g.and_then(|g| g.ci_lo),
                ci_hi: g.and_then(|g| g.ci_hi),
                n: g.map_or(0, |g| g.n),
                draws: 1,
                chance: None,
                bytes_per_row: 0,
                model_bytes: 0,
                bits_per_dim: 0.0,
                grade: String::new(),
                family: String::new(),
                dim: 0,
                base_rows: 0,
                queries: 0,
                split: "verdict".to_string(),
                seed,
                codecbench_version: crate::results::VERSION.to_string(),
                note: Some(note),
            }
        };
    let gates_note = |gs: &[GateResult]| -> String {
        gs.iter()
            .enumerate()
            .map(|(i, g)| format!("gate {}: {}", i + 1, gate_text(g).replace("**", "")))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let mut out = Vec::new();
    let mut unmeasurable: Vec<&str> = Vec::new();
    for c in &m.cells {
        // A claim with no measurement here gets one row, not one per column.
        let population = if c.gates.is_empty() {
            if unmeasurable.contains(&c.id.as_str()) {
                continue;
            }
            unmeasurable.push(&c.id);
            "*"
        } else {
            c.population.as_str()
        };
        let why = match &c.verdict {
            Verdict::NotTestable(w) => format!(" ({w})"),
            Verdict::Confirmed | Verdict::Refuted | Verdict::Inconclusive => String::new(),
        };
        out.push(row(
            population,
            HYPOTHESIS_CODEC,
            format!("hypothesis.{}", c.id),
            c.gates.first(),
            format!("{}{why}. {}", c.verdict.label(), gates_note(&c.gates)),
        ));
    }
    for v in via {
        let why = match &v.verdict {
            Verdict::NotTestable(w) => format!(" ({w})"),
            Verdict::Confirmed | Verdict::Refuted | Verdict::Inconclusive => String::new(),
        };
        let label = match v.verdict {
            Verdict::Confirmed => "viable",
            Verdict::Refuted => "not viable",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotTestable(_) => "not testable",
        };
        out.push(row(
            &v.population,
            VIABILITY_CODEC,
            format!("viability.{}", v.codec),
            v.gate1.first(),
            format!(
                "{label}{why} [{} regime]. gate 1: {} || gate 2: {}",
                v.regime,
                gates_note(&v.gate1),
                gates_note(&v.gate2)
            ),
        ));
    }
    out
}
