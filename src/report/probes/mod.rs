//! The probe sections of `report.md`, rendered from the probes' rows and notes alone (so a
//! resumed run, or a report rebuilt from a run directory, shows the same sections): P5 chain, P7
//! family, P1 spiral, row identity, P9 resolution, then the probe calls that did not run.

mod chain;
mod populations;
mod resolution;

use super::{fmt_ci, summary::unique};
use crate::results::{ProbeKind, ProbeNote, ResultRow, RowKind};

/// Every probe section present in `rows` / `notes`, in the order `all` runs the probes.
pub fn render(rows: &[ResultRow], notes: &[ProbeNote]) -> String {
    let mut md = String::new();
    for kind in ProbeKind::each() {
        let of: Vec<ResultRow> = rows
            .iter()
            .filter(|r| r.kind() == RowKind::Probe(kind))
            .cloned()
            .collect();
        let mine: Vec<&ProbeNote> = notes.iter().filter(|n| n.probe() == Some(kind)).collect();
        if of.is_empty() && mine.is_empty() {
            continue;
        }
        match kind {
            ProbeKind::Chain => chain::render(&mut md, &of, &mine),
            ProbeKind::Family => populations::family(&mut md, &of, &mine),
            ProbeKind::Spiral => populations::spiral(&mut md, &of),
            ProbeKind::Identity => populations::identity(&mut md, &of),
            ProbeKind::Resolution => resolution::render(&mut md, &of, &mine),
            ProbeKind::All => {}
        }
    }
    let not_run: Vec<&str> = notes
        .iter()
        .filter_map(|n| {
            if let ProbeNote::NotRun { what } = n {
                Some(what.as_str())
            } else {
                None
            }
        })
        .collect();
    if !not_run.is_empty() {
        md.push_str("\n## Probes not run\n\n");
        for s in not_run {
            md.push_str(&format!("- {s}\n"));
        }
    }
    md
}

/// The row of `rows` for this population, codec and metric.
fn find<'a>(rows: &'a [ResultRow], pop: &str, codec: &str, metric: &str) -> Option<&'a ResultRow> {
    rows.iter()
        .find(|r| r.population == pop && r.codec == codec && r.metric == metric)
}

/// A table cell: `value ± half-width`, or `—`.
fn cell(r: Option<&ResultRow>) -> String {
    r.map_or("—".to_string(), |r| fmt_ci(r.value, r.ci_lo, r.ci_hi))
}

/// The rows of each population, populations in order of first appearance.
fn by_population(rows: &[ResultRow]) -> Vec<(&str, Vec<ResultRow>)> {
    populations(rows)
        .into_iter()
        .map(|pop| {
            let of = rows
                .iter()
                .filter(|r| r.population == pop)
                .cloned()
                .collect();
            (pop, of)
        })
        .collect()
}

/// Distinct populations of `rows`, in order.
fn populations(rows: &[ResultRow]) -> Vec<&str> {
    unique(rows.iter().map(|r| r.population.as_str()))
}
