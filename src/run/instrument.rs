//! The instrument block of a population: its codecs treated as items of one instrument (their
//! estimates over fixed (query, row) units), with alpha, factors, item statistics and the rules
//! (redundant, different constructs, noisy) as result rows.

use super::prepare::Prepared;
use crate::metric::bootstrap::Estimate;
use crate::metric::reliability::bench::{InstrumentOptions, Rule, instrument};
use crate::metric::suite::MetricValue;
use crate::probe::Truth;
use crate::results::{INSTRUMENT, Plan, ResultRow, RowContext};

/// Queries used by the instrument analysis (the first of the split's queries).
const INSTRUMENT_QUERIES: usize = 100;
/// Base rows per query used by the instrument analysis (an even stride over the candidates).
const INSTRUMENT_ROWS: usize = 1000;

/// The (query, base row) units every codec is scored on for the instrument analysis: fixed by
/// the split, so all codecs are items over the same units; query-major, equal count per query.
pub fn units(p: &Prepared) -> Vec<(usize, usize)> {
    let nq = p.split.queries.len().min(INSTRUMENT_QUERIES);
    let n = p.split.base.len();
    let mut out = Vec::new();
    for q in 0..nq {
        let cands: Vec<usize> = (0..n)
            .filter(|&j| Some(j) != p.split.query_self[q])
            .collect();
        let m = cands.len().min(INSTRUMENT_ROWS);
        for t in 0..m {
            out.push((q, cands[t * cands.len() / m]));
        }
    }
    out
}

/// Reliability of the codecs as an instrument for one population, as result rows.
pub fn rows(
    plan: &Plan,
    p: &Prepared,
    truth: &Truth,
    items: &[Vec<f64>],
    done: &[ResultRow],
) -> Vec<ResultRow> {
    let units = units(p);
    let n_queries = units.last().map_or(0, |u| u.0 + 1);
    let group_len = units.len() / n_queries.max(1);
    let truth_items: Vec<f64> = units.iter().map(|&(q, j)| truth.row(q)[j]).collect();
    let names: Vec<String> = plan.codecs.iter().map(|c| c.to_string()).collect();
    let seed = p.seed ^ 0x494e_5354;
    let mut opts = InstrumentOptions::new(group_len.max(1), seed);
    opts.resamples = plan.resamples;
    let rep = instrument(items, &names, Some(&truth_items), &opts);
    let ctx = RowContext {
        population: p.pop.name.clone(),
        dim: p.pop.rows.dim(),
        base_rows: p.split.base.len(),
        queries: p.split.queries.len(),
        split: p.split_name.clone(),
        seed: plan.seed,
        ..RowContext::default()
    };
    let row = |codec: &str,
               metric: &str,
               value: Option<f64>,
               lo: Option<f64>,
               hi: Option<f64>,
               n: usize,
               note: Option<String>| {
        ctx.with_codec(codec).row(MetricValue {
            name: metric.to_string(),
            estimate: Estimate {
                value,
                ci_lo: lo,
                ci_hi: hi,
                n,
            },
            chance: None,
            note,
        })
    };
    let mut out = Vec::new();
    let units_note = format!(
        "{} (query, row) pairs: {} queries × {} rows; CI by bootstrap over queries",
        rep.n_units, rep.n_groups, group_len
    );
    if !rep.excluded.is_empty() {
        out.push(row(
            INSTRUMENT,
            "excluded_items",
            None,
            None,
            None,
            rep.n_groups,
            Some(format!(
                "constant scores, left out: {}",
                rep.excluded.join(", ")
            )),
        ));
    }
    if let Some(a) = &rep.without_truth {
        out.push(row(
            INSTRUMENT,
            "alpha_std",
            a.alpha_std.value,
            a.alpha_std.ci_lo,
            a.alpha_std.ci_hi,
            a.alpha_std.n,
            Some(units_note.clone()),
        ));
        out.push(row(
            INSTRUMENT,
            "alpha_raw",
            a.alpha_raw,
            None,
            None,
            rep.n_groups,
            None,
        ));
        if let Some(pa) = &a.parallel {
            out.push(row(INSTRUMENT, "factors", Some(pa.factors as f64), None, None, rep.n_groups, Some(format!(
                "parallel analysis (95th percentile of {} random data sets of {} rows); eigenvalues {}",
                pa.options.matrices, pa.n,
                a.eigenvalues.iter().take(4).map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", ")
            ))));
        }
        out.push(row(
            INSTRUMENT,
            "eigenvalue_1_share",
            a.eigenvalues.first().map(|e| e / a.names.len() as f64),
            None,
            None,
            rep.n_groups,
            None,
        ));
        // Codec × codec agreement (Pearson r of the estimates over the instrument units).
        for (i, name) in a.names.iter().enumerate() {
            for (j, other) in a.names.iter().enumerate() {
                if i != j {
                    out.push(row(
                        name,
                        &format!("instrument.r:{other}"),
                        Some(a.correlation.get(i, j)),
                        None,
                        None,
                        rep.n_groups,
                        None,
                    ));
                }
            }
        }
        for (i, name) in a.names.iter().enumerate() {
            out.push(row(
                name,
                "instrument.alpha_if_deleted",
                a.alpha_if_deleted[i],
                None,
                None,
                rep.n_groups,
                None,
            ));
            out.push(row(
                name,
                "instrument.item_total",
                a.item_total[i],
                None,
                None,
                rep.n_groups,
                None,
            ));
        }
    }
    if let Some(a) = &rep.with_truth {
        out.push(row(
            INSTRUMENT,
            "alpha_std.with_truth",
            a.alpha_std.value,
            a.alpha_std.ci_lo,
            a.alpha_std.ci_hi,
            a.alpha_std.n,
            None,
        ));
        if let Some(i) = a.names.iter().position(|n| n == "truth") {
            out.push(row(
                INSTRUMENT,
                "truth_item_total",
                a.item_total[i],
                None,
                None,
                rep.n_groups,
                Some("correlation of the truth with the sum of the codecs".to_string()),
            ));
        }
    }
    for f in &rep.rules {
        let metric = match f.rule {
            Rule::Redundant => "rule.redundant",
            Rule::DifferentConstructs => "rule.different_constructs",
            Rule::Noisy => "rule.noisy",
        };
        let mut statement = f.statement.clone();
        if f.rule == Rule::Redundant && f.items.len() >= 2 {
            // "Keep the cheapest": name it, by bytes per row on this population.
            let cheapest = f
                .items
                .iter()
                .filter_map(|it| {
                    done.iter()
                        .find(|r| r.population == p.pop.name && r.codec == *it)
                        .map(|r| (r.bytes_per_row, it.clone()))
                })
                .min();
            if let Some((b, name)) = cheapest {
                statement.push_str(&format!(". Cheapest: {name} ({b} B/row)."));
            }
        }
        out.push(row(
            INSTRUMENT,
            metric,
            Some(f.value),
            None,
            None,
            rep.n_groups,
            Some(format!("{} — {}", f.items.join(" + "), statement)),
        ));
    }
    out
}
