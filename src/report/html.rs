//! `report.html`: one self-contained page (inline SVG, CSS and a few lines of JavaScript for
//! sorting; no network) with, per population, rate–distortion plots — honest bits/dim against
//! recon_mse and against recall@k and Spearman, one line per codec series with CI bands and the
//! Pareto frontier, plus the Shannon and TurboQuant reference curves for Gaussian controls —
//! heat maps across populations, and sortable tables of every result row.

use super::summary::unique;
use super::svg::{self, Plot, Point, Scale, Series, esc};
use super::{fmt_ci, fmt_num};
use crate::results::{ResultRow, RunMeta};
use std::fmt::Write;

/// The series a codec spec belongs to: the spec without its `bits=` parameter, so one codec
/// across its bit widths is one line.
pub fn series_key(codec: &str) -> String {
    match codec.split_once(':') {
        None => codec.to_string(),
        Some((name, params)) => {
            let kept: Vec<&str> = params
                .split(',')
                .filter(|p| !p.starts_with("bits="))
                .collect();
            if kept.is_empty() {
                name.to_string()
            } else {
                format!("{name}:{}", kept.join(","))
            }
        }
    }
}

fn is_gaussian_control(pop: &str) -> bool {
    pop.starts_with("gaussian") || pop.starts_with("unit")
}

/// Build the rate–distortion plot of one metric for one population.
fn rd_plot(
    pop: &str,
    prow: &[&ResultRow],
    metric: &str,
    y_scale: Scale,
    higher_is_better: bool,
    one_minus: bool,
) -> Option<String> {
    let rows: Vec<&&ResultRow> = prow.iter().filter(|r| r.metric == metric).collect();
    if rows.is_empty() {
        return None;
    }
    let mut series: Vec<Series> = Vec::new();
    for r in &rows {
        let Some(y) = r.value else { continue };
        let key = series_key(&r.codec);
        // For correlations near 1, plot 1 − ρ on a log axis (the CI flips ends).
        let pt = if one_minus {
            Point {
                x: r.bits_per_dim,
                y: 1.0 - y,
                lo: r.ci_hi.map(|v| 1.0 - v),
                hi: r.ci_lo.map(|v| 1.0 - v),
            }
        } else {
            Point {
                x: r.bits_per_dim,
                y,
                lo: r.ci_lo,
                hi: r.ci_hi,
            }
        };
        match series.iter_mut().find(|s| s.name == key) {
            Some(s) => s.points.push(pt),
            None => series.push(Series {
                name: key,
                points: vec![pt],
                dashed: false,
            }),
        }
    }
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| (p.x, p.y)))
        .filter(|&(_, y)| y_scale != Scale::Log10 || y > 0.0)
        .collect();
    let frontier = svg::pareto(&all, higher_is_better);
    if metric == "recon_mse" && is_gaussian_control(pop) {
        // Reference curves in bits per coordinate b: Shannon's lower bound for a Gaussian source
        // D(b) = 4^-b, and TurboQuant's upper bound D ≤ (√3·π/2)·4^-b (arXiv 2504.19874, Thm 1).
        let xs: Vec<f64> = (2..=12).map(|i| 0.25 * i as f64).collect();
        let curve = |name: &str, c: f64| Series {
            name: name.to_string(),
            points: xs
                .iter()
                .map(|&b| Point {
                    x: b,
                    y: c * 4f64.powf(-b),
                    lo: None,
                    hi: None,
                })
                .collect(),
            dashed: true,
        };
        series.push(curve("Shannon bound 4^-b", 1.0));
        series.push(curve(
            "TurboQuant bound (√3π/2)·4^-b",
            3f64.sqrt() * std::f64::consts::PI / 2.0,
        ));
    }
    let label = if one_minus {
        format!("1 − {metric}")
    } else {
        metric.to_string()
    };
    Some(svg::line_plot(&Plot {
        title: format!("{pop}: {label} vs bits/dim"),
        x_label: "bits per dimension (side scalars and shared state included)".to_string(),
        y_label: label,
        x_scale: Scale::Log2,
        y_scale,
        series,
        frontier,
    }))
}

/// Render the HTML report: the codec cells per population, then the probes and the
/// hypothesis matrix (`probes_html`).
pub fn render(meta: &RunMeta, all_rows: &[ResultRow]) -> String {
    let cells: Vec<ResultRow> = all_rows.iter().filter(|r| !r.is_probe()).cloned().collect();
    let rows = cells.as_slice();
    let mut s = String::new();
    let p = &meta.plan;
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>codecbench report</title>");
    s.push_str(STYLE);
    s.push_str("</head><body>");
    let _ = write!(
        s,
        "<h1>codecbench report</h1><p class=\"meta\">codecbench {} · started {} · seed {} · status {} · {} queries per population · recall@{} · {} bootstrap resamples{}</p>",
        esc(&meta.codecbench_version),
        esc(&meta.started),
        p.seed,
        esc(&meta.status),
        p.queries,
        p.k,
        p.resamples,
        if p.quick { " · quick" } else { "" }
    );
    if let Some(fewer) = super::fewer_queries_sentence(meta) {
        let _ = write!(s, "<p class=\"meta\">{}</p>", esc(&fewer));
    }
    s.push_str(&format!("<p>Scores are inner products ⟨query, row⟩, truth in f64. Values are pooled over queries and codec draws (correlations by Fisher-z averaging); bands and ± are 95% intervals. {} Bits per dimension include per-row side scalars and shared state amortised over the population's rows before sampling. The grey band marks the Pareto frontier (nothing cheaper is better).</p>", super::svg::esc(&super::intervals_sentence(&meta.plan))));

    // Populations.
    s.push_str("<h2>Populations</h2><table class=\"sortable\"><thead><tr><th>population</th><th>rows × dim</th><th>split</th><th>base / queries</th><th>source</th><th>tensor</th><th>dtype · shape</th><th>selection</th><th>sha256</th><th>note</th></tr></thead><tbody>");
    for pi in &meta.populations {
        let pr = &pi.provenance;
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{} × {}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{} {:?}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&pi.name),
            pi.rows,
            pi.dim,
            esc(&pi.split),
            pi.base_rows,
            pi.queries,
            esc(&pr.source),
            esc(pr.tensor.as_deref().unwrap_or("—")),
            esc(&pr.dtype),
            pr.shape,
            esc(&pr.selection),
            esc(pr.sha256.as_deref().map_or("—", |h| &h[..h.len().min(16)])),
            esc(pr.note.as_deref().unwrap_or(""))
        );
    }
    s.push_str("</tbody></table>");

    // Across populations.
    let pops = unique(rows.iter().map(|r| r.population.as_str()));
    let codecs = unique(
        rows.iter()
            .filter(|r| !r.is_instrument())
            .map(|r| r.codec.as_str()),
    );
    let recall = rows
        .iter()
        .find(|r| r.metric.starts_with("recall@") && !r.metric.ends_with(".sym"))
        .map(|r| r.metric.clone());
    s.push_str("<h2>Across populations</h2>");
    for metric in [
        "icc2_1",
        "spearman",
        recall.as_deref().unwrap_or("recall@10"),
    ] {
        let values: Vec<Vec<Option<f64>>> = codecs
            .iter()
            .map(|c| {
                pops.iter()
                    .map(|p| {
                        rows.iter()
                            .find(|r| r.codec == *c && r.population == *p && r.metric == metric)
                            .and_then(|r| r.value)
                    })
                    .collect()
            })
            .collect();
        let present = values.iter().flatten().flatten().copied();
        let (lo, hi) = present.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (0.0, 1.0)
        };
        let names: Vec<String> = codecs.iter().map(|c| c.to_string()).collect();
        let cols: Vec<String> = pops.iter().map(|c| c.to_string()).collect();
        s.push_str(&svg::heatmap(
            &format!("{metric}: codec × population"),
            &names,
            &cols,
            &values,
            lo,
            hi,
        ));
    }

    for pop in &pops {
        let prow: Vec<&ResultRow> = rows.iter().filter(|r| r.population == *pop).collect();
        let _ = write!(s, "<h2 id=\"{}\">{}</h2>", esc(pop), esc(pop));
        if let Some(r) = prow.iter().find(|r| r.metric.starts_with("recall@")) {
            let _ = write!(
                s,
                "<p>{} base rows × {} dims, {} queries ({}); chance {} = {}</p>",
                r.base_rows,
                r.dim,
                r.queries,
                esc(&r.split),
                esc(&r.metric),
                r.chance.map_or("—".to_string(), fmt_num)
            );
        }
        s.push_str("<div class=\"plots\">");
        if let Some(svg) = rd_plot(pop, &prow, "recon_mse", Scale::Log10, false, false) {
            s.push_str(&svg);
        }
        if let Some(m) = &recall
            && let Some(svg) = rd_plot(pop, &prow, m, Scale::Linear, true, false)
        {
            s.push_str(&svg);
        }
        if let Some(svg) = rd_plot(pop, &prow, "spearman", Scale::Log10, false, true) {
            s.push_str(&svg);
        }
        s.push_str("</div>");
        // Codec × codec agreement from the instrument block.
        let agree: Vec<&ResultRow> = rows
            .iter()
            .filter(|r| r.population == *pop && r.metric.starts_with("instrument.r:"))
            .collect();
        if !agree.is_empty() {
            let names: Vec<String> = unique(agree.iter().map(|r| r.codec.as_str()))
                .into_iter()
                .map(str::to_string)
                .collect();
            let values: Vec<Vec<Option<f64>>> = names
                .iter()
                .map(|a| {
                    names
                        .iter()
                        .map(|b| {
                            if a == b {
                                Some(1.0)
                            } else {
                                agree
                                    .iter()
                                    .find(|r| {
                                        r.codec == *a && r.metric == format!("instrument.r:{b}")
                                    })
                                    .and_then(|r| r.value)
                            }
                        })
                        .collect()
                })
                .collect();
            let lo = values
                .iter()
                .flatten()
                .flatten()
                .copied()
                .fold(1.0f64, f64::min);
            s.push_str(&svg::heatmap(
                &format!("{pop}: codec × codec agreement (Pearson r of estimates)"),
                &names,
                &names,
                &values,
                lo.min(0.999),
                1.0,
            ));
        }
        s.push_str("<table class=\"sortable\"><thead><tr><th>codec</th><th>metric</th><th>value ± CI</th><th>ci_lo</th><th>ci_hi</th><th>n</th><th>chance</th><th>B/row</th><th>bits/dim</th><th>grade</th><th>note</th></tr></thead><tbody>");
        for r in &prow {
            let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td data-v=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.codec),
                esc(&r.metric),
                num(r.value),
                esc(&fmt_ci(r.value, r.ci_lo, r.ci_hi)),
                num(r.ci_lo),
                num(r.ci_hi),
                r.n,
                num(r.chance),
                r.bytes_per_row,
                r.bits_per_dim,
                esc(&r.grade),
                esc(r.note.as_deref().unwrap_or(""))
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str(&super::probes_html::section(all_rows));
    s.push_str(SCRIPT);
    s.push_str("</body></html>\n");
    s
}

const STYLE: &str = "<style>body{font-family:sans-serif;margin:24px;max-width:1400px;color:#222}\
table{border-collapse:collapse;font-size:12px;margin:8px 0 24px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left}\
th{background:#f3f3f3;cursor:pointer}td[data-v]{text-align:right}.meta{color:#555}.plots{display:flex;flex-wrap:wrap;gap:8px}\
svg{background:#fff;border:1px solid #eee;margin:4px}code{font-size:11px}</style>";

/// Click a header to sort its table (numbers numerically, text alphabetically).
const SCRIPT: &str = "<script>document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){\
var t=th.closest('table'),b=t.tBodies[0],rows=Array.from(b.rows),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';\
rows.sort(function(a,c){var x=a.cells[i],y=c.cells[i];var u=x.dataset.v!==undefined?x.dataset.v:x.textContent,v=y.dataset.v!==undefined?y.dataset.v:y.textContent;\
var p=parseFloat(u),q=parseFloat(v);var r=(!isNaN(p)&&!isNaN(q))?p-q:u.localeCompare(v);return asc?r:-r;});rows.forEach(function(r){b.appendChild(r);});});});</script>";
