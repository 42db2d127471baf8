//! `report.md`: what a person reads. A header with the run's seed, versions and the populations'
//! provenance, then one table per population: codecs as rows sorted by bytes, metrics as columns,
//! each cell `value ± CI half-width`.

use super::fmt_ci;
use super::summary::unique;
use crate::run::{ResultRow, RunMeta};
use std::fmt::Write;

/// Metric columns of the asymmetric table, in order (`recall@` matches the run's k).
const ASYM: &[&str] = &[
    "pearson",
    "spearman",
    "kendall",
    "recall@",
    "mae",
    "rmse",
    "bias",
    "slope",
    "recon_mse",
];
/// Metric columns of the symmetric table.
const SYM: &[&str] = &[
    "pearson.sym",
    "spearman.sym",
    "kendall.sym",
    "recall@.sym",
    "rmse.sym",
    "bias.sym",
];

fn matches(metric: &str, col: &str) -> bool {
    match col.strip_prefix("recall@") {
        Some(rest) => {
            metric.starts_with("recall@") && (metric.ends_with(".sym") == rest.ends_with(".sym"))
        }
        None => metric == col,
    }
}

/// Render the Markdown report.
pub fn render(meta: &RunMeta, rows: &[ResultRow]) -> String {
    let mut s = String::new();
    let p = &meta.plan;
    let _ = writeln!(s, "# codecbench report\n");
    let _ = writeln!(
        s,
        "codecbench {} · started {} · seed {} · status {}\n",
        meta.codecbench_version, meta.started, p.seed, meta.status
    );
    let _ = writeln!(
        s,
        "Queries per population: {} · recall@{} · row cap: {} · bootstrap resamples: {} · split: {}{}\n",
        p.queries,
        p.k,
        p.max_rows.map_or("none".to_string(), |m| m.to_string()),
        p.resamples,
        serde_json::to_value(p.split)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        if p.quick { " · quick" } else { "" }
    );
    let _ = writeln!(
        s,
        "Scores are inner products ⟨query, row⟩; truth is computed in f64. Each cell is the value \
         pooled over queries (correlations by Fisher-z averaging) ± half the width of its 95% \
         bootstrap CI over queries (rows for recon_mse). `.sym` = both sides encoded. \
         bits/dim counts per-row side scalars and amortised shared state.\n"
    );
    let _ = writeln!(s, "## Populations\n");
    let _ = writeln!(
        s,
        "| population | rows × dim | split | base / queries | source | tensor | dtype · shape | selection | sha256 |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for pi in &meta.populations {
        let pr = &pi.provenance;
        let _ = writeln!(
            s,
            "| {} | {} × {} | {} | {} / {} | {} | {} | {} {:?} | {}{}{} | {} |",
            esc(&pi.name),
            pi.rows,
            pi.dim,
            pi.split,
            pi.base_rows,
            pi.queries,
            esc(&pr.source),
            pr.tensor.as_deref().map_or("—".to_string(), esc),
            pr.dtype,
            pr.shape,
            pr.selection,
            pr.seed.map_or(String::new(), |s| format!(" (seed {s})")),
            if pr.dropped_nonfinite > 0 || pr.zero_rows > 0 {
                format!(
                    "; {} non-finite rows dropped, {} zero rows",
                    pr.dropped_nonfinite, pr.zero_rows
                )
            } else {
                String::new()
            },
            pr.sha256.as_deref().map_or("—", |h| &h[..h.len().min(16)]),
        );
    }
    for pop in unique(rows.iter().map(|r| r.population.as_str())) {
        let prow: Vec<&ResultRow> = rows.iter().filter(|r| r.population == pop).collect();
        let _ = writeln!(s, "\n## {}\n", esc(pop));
        if let Some(r) = prow.iter().find(|r| r.metric.starts_with("recall@")) {
            let _ = writeln!(
                s,
                "{} base rows × {} dims, {} queries ({}); chance {} = {}\n",
                r.base_rows,
                r.dim,
                r.queries,
                r.split,
                r.metric,
                r.chance.map_or("—".to_string(), super::fmt_num)
            );
        }
        table(&mut s, &prow, ASYM);
        if prow.iter().any(|r| r.metric.ends_with(".sym")) {
            let _ = writeln!(s, "\nSymmetric (both sides encoded):\n");
            table(&mut s, &prow, SYM);
        }
        let notes: Vec<String> = prow
            .iter()
            .filter_map(|r| {
                r.note
                    .as_ref()
                    .map(|n| format!("- {} · {}: {}", r.codec, r.metric, n))
            })
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(s, "\nNotes:\n\n{}", notes.join("\n"));
        }
    }
    s
}

fn table(s: &mut String, prow: &[&ResultRow], cols: &[&str]) {
    let mut codecs: Vec<(&str, usize, f64, &str)> = Vec::new();
    for r in prow {
        if !codecs.iter().any(|c| c.0 == r.codec) {
            codecs.push((&r.codec, r.bytes_per_row, r.bits_per_dim, &r.grade));
        }
    }
    codecs.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    let names: Vec<String> = cols
        .iter()
        .map(|c| {
            prow.iter()
                .find(|r| matches(&r.metric, c))
                .map_or(c.to_string(), |r| r.metric.clone())
        })
        .collect();
    let _ = writeln!(
        s,
        "| codec | B/row | bits/dim | grade | {} |",
        names.join(" | ")
    );
    let _ = writeln!(s, "|---|---:|---:|---|{}", "---:|".repeat(cols.len()));
    for (codec, bytes, bits, grade) in codecs {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| {
                prow.iter()
                    .find(|r| r.codec == codec && matches(&r.metric, c))
                    .map_or("n/a".to_string(), |r| fmt_ci(r.value, r.ci_lo, r.ci_hi))
            })
            .collect();
        let _ = writeln!(
            s,
            "| `{}` | {} | {:.3} | {} | {} |",
            codec,
            bytes,
            bits,
            grade,
            cells.join(" | ")
        );
    }
}

fn esc(s: &str) -> String {
    s.replace('|', "\\|")
}
