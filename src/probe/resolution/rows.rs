//! What the resolution study shows of its measurements: the Markdown tables of one population
//! and the P9 rows (paired per-query differences wide − narrow at equal bits, with bootstrap
//! CIs over queries) built from the layouts' estimates. The measuring itself is in `measure`.

use std::fmt::Write;

use super::measure::{Measured, Study, paired_differences, undefined};
use super::{Layout, P9_PAIRS};
use crate::data::catalog::stable_hash;
use crate::metric::bootstrap;
use crate::metric::suite::MetricValue;
use crate::probe::command::RowContext;
use crate::report::fmt_ci;
use crate::run::ResultRow;

/// The Markdown tables of one population: the layouts, then the I8Hybrid and the baselines,
/// then the codecs that could not be measured.
pub(super) fn tables(
    layouts: &[(&Layout, Measured)],
    hybrid: &Measured,
    baselines: &[(String, Measured)],
    k: usize,
) -> String {
    let mut md = String::new();
    let metric = |m: &Measured, name: &str| -> String {
        m.rows
            .iter()
            .find(|r| r.metric == name)
            .map_or("—".to_string(), |r| {
                if r.value.is_none() {
                    "—".to_string()
                } else {
                    fmt_ci(r.value, r.ci_lo, r.ci_hi)
                }
            })
    };
    let amortised = |m: &Measured| -> String {
        m.rows
            .first()
            .filter(|r| r.bytes_per_row > 0)
            .map_or("—".to_string(), |r| format!("{:.3}", r.bits_per_dim))
    };
    let recall_name = format!("recall@{k}");
    let _ = writeln!(
        md,
        "| layout | address | leaf | declared bits | code bits | B/row | bits/dim amortised | spearman | {recall_name} | pearson | recon_mse |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    // The columns every table ends with: code bits, bytes, amortised bits/dim and the metrics.
    let measured = |m: &Measured| -> String {
        format!(
            "{} | {} | {} | {} | {} | {} | {}",
            m.bits.map_or("—".to_string(), |b| b.to_string()),
            m.bytes,
            amortised(m),
            metric(m, "spearman"),
            metric(m, &recall_name),
            metric(m, "pearson"),
            metric(m, "recon_mse"),
        )
    };
    for (l, m) in layouts {
        let _ = writeln!(
            md,
            "| {}{} | {} | {} | {} | {} |",
            l.name,
            if l.origin { "" } else { " (control)" },
            l.address,
            l.lanes,
            l.declared_bits,
            measured(m),
        );
    }
    let _ = writeln!(
        md,
        "\n| codec | budget | bits/row (actual) | B/row | bits/dim amortised | spearman | {recall_name} | pearson | recon_mse |\n|---|---|---|---|---|---|---|---|---|"
    );
    let all_others = std::iter::once(("I8Hybrid (jl)".to_string(), hybrid))
        .chain(baselines.iter().map(|(b, m)| (b.clone(), m)));
    for (budget, m) in all_others {
        let _ = writeln!(md, "| {} | {budget} | {} |", m.spec, measured(m));
    }
    let unfit: Vec<String> = layouts
        .iter()
        .map(|(_, m)| m)
        .chain(std::iter::once(hybrid))
        .chain(baselines.iter().map(|(_, m)| m))
        .filter_map(|m| m.why.as_ref().map(|w| format!("{}: {w}", m.spec)))
        .collect();
    if !unfit.is_empty() {
        let _ = writeln!(md, "\nNot measurable here: {}", unfit.join("; "));
    }
    md
}

impl Study<'_> {
    /// The P9 rows of one population (paired per-query differences wide − narrow at equal bits,
    /// from the layouts' estimates) and their one-line summaries for the Markdown.
    pub(super) fn p9_rows(&self, layouts: &[(&Layout, Measured)]) -> (Vec<ResultRow>, Vec<String>) {
        let (population, split, truth, opts) = (self.population, self.split, self.truth, self.opts);
        let (population_rows, k, seed) = (self.population_rows, self.k, self.seed);
        let split_name = "resolution";
        let mut out: Vec<ResultRow> = Vec::new();
        let mut p9_lines = Vec::new();
        for (budget, wide, narrow) in P9_PAIRS {
            let get = |name: &str| layouts.iter().find(|(l, _)| l.name == name);
            let (Some((wl, wm)), Some((_, nm))) = (get(wide), get(narrow)) else {
                continue;
            };
            // Equal bits per row; the shared palettes are not equal: the row carries the wide
            // codec's model bytes and amortised bits/dim, and the note gives both.
            let shared = |m: &Measured| m.rows.first().map(|r| (r.model_bytes, r.bits_per_dim));
            let cost = match (shared(wm), shared(nm)) {
                (Some((wb, wd)), Some((nb, nd))) if wm.asym.is_some() && nm.asym.is_some() => {
                    format!(
                        "; shared state {wb} vs {nb} bytes, i.e. {wd:.3} vs {nd:.3} bits/dim amortised over the population's {} rows",
                        population_rows.max(split.base.len())
                    )
                }
                _ => String::new(),
            };
            let ctx = RowContext {
                population: population.to_string(),
                codec: format!("p9:{wide}-minus-{narrow}"),
                bytes_per_row: budget.div_ceil(8),
                model_bytes: shared(wm).map_or(0, |s| s.0),
                bits_per_dim: shared(wm)
                    .filter(|_| wm.asym.is_some())
                    .map_or(budget as f64 / split.base.dim().max(1) as f64, |s| s.1),
                grade: "reconstruction".to_string(),
                family: "palette-leaf".to_string(),
                dim: split.base.dim(),
                base_rows: split.base.len(),
                queries: split.queries.len(),
                split: split_name.to_string(),
                seed: opts.seed,
            };
            debug_assert_eq!(wl.declared_bits, budget);
            let diffs = match (&wm.asym, &nm.asym) {
                (Some(a), Some(b)) => Some(paired_differences(truth, a, b, &split.query_self, k)),
                _ => None,
            };
            for (which, idx) in [("spearman", 0usize), ("recall", 1)] {
                let name = format!("p9.{which}_diff@{budget}");
                let mv = match &diffs {
                    Some(d) => {
                        let vals: Vec<f64> =
                            d[idx].iter().copied().filter(|v| v.is_finite()).collect();
                        let est =
                            bootstrap::mean_ci(&vals, opts.resamples, seed ^ stable_hash(&name));
                        let undefined = d[idx].len() - vals.len();
                        MetricValue {
                            name: name.clone(),
                            estimate: est,
                            chance: Some(0.0),
                            note: Some(format!(
                                "paired per-query difference {wide} − {narrow} at {budget} bits per row ({which}{}); positive = the wider address wins{}{cost}",
                                if idx == 1 {
                                    format!("@{k}")
                                } else {
                                    String::new()
                                },
                                if undefined > 0 {
                                    format!("; undefined for {undefined} queries")
                                } else {
                                    String::new()
                                }
                            )),
                        }
                    }
                    None => undefined(
                        name.clone(),
                        format!(
                            "undefined: {}",
                            [wm, nm]
                                .iter()
                                .filter_map(|m| m.why.as_ref().map(|w| format!("{}: {w}", m.spec)))
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                    ),
                };
                let row = ctx.row(mv);
                p9_lines.push(format!(
                    "{} at {budget} bits, {wide} − {narrow}: {}",
                    which,
                    if row.value.is_some() {
                        fmt_ci(row.value, row.ci_lo, row.ci_hi)
                    } else {
                        row.note.clone().unwrap_or_default()
                    }
                ));
                out.push(row);
            }
            if !cost.is_empty() {
                p9_lines.push(format!(
                    "({wide} vs {narrow}: {})",
                    cost.trim_start_matches("; ")
                ));
            }
        }
        (out, p9_lines)
    }
}
