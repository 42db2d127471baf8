//! Report formats: pure functions from result rows (and run metadata) to text. No I/O here; the
//! runner writes what these return.

pub mod compare;
pub mod csv;
pub mod html;
pub mod jsonl;
pub mod markdown;
pub mod peers;
pub mod probes;
pub mod probes_html;
pub mod summary;
pub mod svg;

pub use crate::results::fmt::{fmt_ci, fmt_num};

use crate::results::{ResultRow, RunMeta};

/// `report.md` of a run: the codec cells (and their instrument blocks), then — when the plan has
/// probes — the probes' sections and the hypothesis matrix, all from the rows and run.json.
pub fn run_markdown(meta: &RunMeta, rows: &[ResultRow]) -> String {
    let cells: Vec<ResultRow> = rows.iter().filter(|r| !r.is_probe()).cloned().collect();
    let mut md = markdown::render(meta, &cells);
    if !meta.plan.probes.is_empty() {
        md.push_str("\n# Probes and hypotheses\n\n");
        md.push_str(&probes_and_hypotheses(rows, &meta.probe_notes));
    }
    md
}

/// The probes' sections, then the hypothesis matrix and codec viability evaluated on `rows`
/// (verdict rows in `rows` are ignored: the verdicts are recomputed from the measurements).
pub fn probes_and_hypotheses(rows: &[ResultRow], notes: &[crate::results::ProbeNote]) -> String {
    let measured: Vec<ResultRow> = rows
        .iter()
        .filter(|r| r.kind() != crate::results::RowKind::Verdict)
        .cloned()
        .collect();
    let mut md = probes::render(&measured, notes);
    let reg = crate::hypothesis::Registry::builtin();
    let matrix = crate::hypothesis::evaluate(&reg, &measured);
    let via = crate::hypothesis::viability(&reg, &measured);
    md.push('\n');
    md.push_str(&crate::hypothesis::render_markdown(&reg, &matrix, &via));
    md
}

/// A sentence naming the populations that got fewer queries than the plan asked for, and why
/// (a held-out split takes at most half the rows; a population or query file may hold fewer);
/// `None` when every population got them all.
pub fn fewer_queries_sentence(meta: &crate::results::RunMeta) -> Option<String> {
    let asked = meta.plan.queries;
    let short: Vec<String> = meta
        .populations
        .iter()
        .filter(|p| p.queries < asked)
        .map(|p| {
            let why = match p.split.as_str() {
                "held-out" if p.queries == (p.rows / 2).max(1) => format!(
                    "a held-out split takes at most half of its {} rows as queries",
                    p.rows
                ),
                "query-file" => "the query file holds no more".to_string(),
                "self-pairs" if p.queries == p.rows => format!("it has {} rows", p.rows),
                _ => "its split gave no more".to_string(),
            };
            format!("{} has {} ({why})", p.name, p.queries)
        })
        .collect();
    (!short.is_empty()).then(|| {
        format!(
            "Fewer queries than the {asked} asked for: {}.",
            short.join("; ")
        )
    })
}

/// One sentence saying what every interval of a run covers (report.md and report.html).
pub fn intervals_sentence(plan: &crate::results::Plan) -> String {
    let units = "the queries (the base rows for recon_mse)";
    if plan.replicates > 1 {
        format!(
            "Intervals are 95% percentile bootstrap CIs over {units} and, for codecs whose fit \
             is random (rotations, sketches, k-means starts, sampled training rows), over their \
             {} independent codec draws as well (a crossed bootstrap: draws and queries \
             resampled together); deterministic codecs are fitted once and their intervals \
             cover the queries only. The `.sym` metrics and the instrument block stand on each \
             codec's first draw.",
            plan.replicates
        )
    } else {
        format!(
            "Intervals are 95% percentile bootstrap CIs over {units} only: each codec was fitted \
             once (`--replicates 1`), so for codecs whose fit is random the intervals do not \
             cover another draw of the rotation, sketch or k-means start."
        )
    }
}
