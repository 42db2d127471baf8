//! The probes part of `report.html`: the hypothesis × population matrix as a verdict-coloured
//! grid, the chain probe's per-layer drift curves (1 − cosine to the exact forward pass, one
//! line per codec), codec viability, and every probe row in a sortable table. A view over the
//! rows only: nothing here is typed by hand.

use super::svg::{self, GridCell, Plot, Point, Scale, Series};
use super::{fmt_ci, summary::unique};
use crate::results::ResultRow;
use std::fmt::Write;

const CONFIRMED: &str = "#7fc97f";
const REFUTED: &str = "#f28e8e";
const INCONCLUSIVE: &str = "#fdd37a";
const NOT_TESTABLE: &str = "#e4e4e4";

/// The verdict word a verdict row's note starts with, and its colour.
fn verdict_of(r: &ResultRow) -> (&'static str, &'static str) {
    let note = r.note.as_deref().unwrap_or("");
    for (word, fill) in [
        ("confirmed", CONFIRMED),
        ("refuted", REFUTED),
        ("inconclusive", INCONCLUSIVE),
        ("viable", CONFIRMED),
        ("not viable", REFUTED),
    ] {
        if note.starts_with(word) {
            return (word, fill);
        }
    }
    ("not testable", NOT_TESTABLE)
}

fn symbol(word: &str) -> &'static str {
    match word {
        "confirmed" | "viable" => "✓",
        "refuted" | "not viable" => "✗",
        "inconclusive" => "?",
        _ => "–",
    }
}

fn cell(r: &ResultRow) -> GridCell {
    let (word, fill) = verdict_of(r);
    let number = match r.value {
        Some(_) if fill != NOT_TESTABLE => format!(" {}", fmt_ci(r.value, r.ci_lo, r.ci_hi)),
        _ => String::new(),
    };
    GridCell {
        fill,
        label: format!("{}{number}", symbol(word)),
        tip: r.note.clone().unwrap_or_default(),
    }
}

/// The hypothesis matrix grid (None when the rows hold no verdicts).
pub fn hypothesis_grid(rows: &[ResultRow]) -> Option<String> {
    let verdicts: Vec<&ResultRow> = rows
        .iter()
        .filter(|r| r.metric.starts_with("hypothesis."))
        .collect();
    if verdicts.is_empty() {
        return None;
    }
    let ids = unique(verdicts.iter().map(|r| &r.metric["hypothesis.".len()..]));
    let cols = unique(
        verdicts
            .iter()
            .map(|r| r.population.as_str())
            .filter(|p| *p != "*"),
    );
    let cells: Vec<Vec<Option<GridCell>>> = ids
        .iter()
        .map(|id| {
            let metric = format!("hypothesis.{id}");
            let everywhere = verdicts
                .iter()
                .find(|r| r.metric == metric && r.population == "*");
            cols.iter()
                .map(|c| {
                    verdicts
                        .iter()
                        .find(|r| r.metric == metric && r.population == *c)
                        .or(everywhere)
                        .map(|r| cell(r))
                })
                .collect()
        })
        .collect();
    Some(svg::category_grid(
        "Hypotheses × populations (hover a cell for both gates)",
        &ids.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &cols.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &cells,
        &[
            (CONFIRMED, "confirmed"),
            (REFUTED, "refuted"),
            (INCONCLUSIVE, "inconclusive (CI straddles)"),
            (NOT_TESTABLE, "not testable here"),
        ],
    ))
}

/// Layer index of a `chain.cos@L<l>` metric.
fn layer(metric: &str) -> Option<usize> {
    metric.strip_prefix("chain.cos@L")?.parse().ok()
}

/// One plot per chain population: 1 − mean token cosine to the exact run at each layer
/// (log axis; the CI band flips ends), one line per codec.
pub fn chain_curves(rows: &[ResultRow]) -> Vec<String> {
    let chain: Vec<&ResultRow> = rows
        .iter()
        .filter(|r| r.split == "chain" && layer(&r.metric).is_some())
        .collect();
    let mut out = Vec::new();
    for pop in unique(chain.iter().map(|r| r.population.as_str())) {
        let mut series: Vec<Series> = Vec::new();
        for r in chain.iter().filter(|r| r.population == pop) {
            let (Some(l), Some(v)) = (layer(&r.metric), r.value) else {
                continue;
            };
            let pt = Point {
                x: l as f64,
                y: 1.0 - v,
                lo: r.ci_hi.map(|h| 1.0 - h),
                hi: r.ci_lo.map(|h| 1.0 - h),
            };
            match series.iter_mut().find(|s| s.name == r.codec) {
                Some(s) => s.points.push(pt),
                None => series.push(Series {
                    name: r.codec.clone(),
                    points: vec![pt],
                    dashed: false,
                }),
            }
        }
        if series.is_empty() {
            continue;
        }
        out.push(svg::line_plot(&Plot {
            title: format!("{pop}: drift through depth (1 − cosine to the exact run)"),
            x_label: "layer (L0 = embeddings, Ll = output of block l)".to_string(),
            y_label: "1 − cos".to_string(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log10,
            series,
            frontier: Vec::new(),
        }));
    }
    out
}

/// The whole probes section (empty when the run had no probes).
pub fn section(rows: &[ResultRow]) -> String {
    let probe_rows: Vec<&ResultRow> = rows.iter().filter(|r| r.is_probe()).collect();
    if probe_rows.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2 id=\"probes\">Probes and hypotheses</h2>");
    s.push_str("<p>Each testable claim of the origin has two gates; a gate passes when its 95% CI lies on the predicted side of its threshold (thresholds: <code>src/hypothesis/hypotheses.toml</code>, echoed in report.md). Cells show gate 1's value; hover for both gates and the reason a cell is not testable.</p>");
    if let Some(g) = hypothesis_grid(rows) {
        s.push_str(&g);
    }
    let curves = chain_curves(rows);
    if !curves.is_empty() {
        s.push_str("<h3>P5: error through the real MiniLM forward pass</h3><div class=\"plots\">");
        for c in curves {
            s.push_str(&c);
        }
        s.push_str("</div>");
    }
    // Viability: codec × population, both gates in the tooltip.
    let via: Vec<&ResultRow> = probe_rows
        .iter()
        .copied()
        .filter(|r| r.metric.starts_with("viability."))
        .collect();
    if !via.is_empty() {
        let codecs = unique(via.iter().map(|r| &r.metric["viability.".len()..]));
        let pops = unique(via.iter().map(|r| r.population.as_str()));
        let cells: Vec<Vec<Option<GridCell>>> = codecs
            .iter()
            .map(|c| {
                let metric = format!("viability.{c}");
                pops.iter()
                    .map(|p| {
                        via.iter()
                            .find(|r| r.metric == metric && r.population == *p)
                            .map(|r| cell(r))
                    })
                    .collect()
            })
            .collect();
        s.push_str(&svg::category_grid(
            "Codec viability (gate 1 score fidelity AND gate 2 end to end)",
            &codecs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &pops.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &cells,
            &[
                (CONFIRMED, "viable"),
                (REFUTED, "not viable"),
                (INCONCLUSIVE, "inconclusive"),
                (NOT_TESTABLE, "not testable"),
            ],
        ));
    }
    s.push_str("<h3>Probe rows</h3><table class=\"sortable\"><thead><tr><th>probe</th><th>population</th><th>codec / method</th><th>metric</th><th>value ± CI</th><th>n</th><th>chance</th><th>B/row</th><th>note</th></tr></thead><tbody>");
    for r in probe_rows {
        let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-v=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            svg::esc(&r.split),
            svg::esc(&r.population),
            svg::esc(&r.codec),
            svg::esc(&r.metric),
            num(r.value),
            svg::esc(&fmt_ci(r.value, r.ci_lo, r.ci_hi)),
            r.n,
            num(r.chance),
            r.bytes_per_row,
            svg::esc(r.note.as_deref().unwrap_or(""))
        );
    }
    s.push_str("</tbody></table>");
    s
}
