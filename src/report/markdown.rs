//! `report.md`: what a person reads. A header with the run's seed, versions and the populations'
//! provenance, then one table per population: codecs as rows sorted by bytes, metrics as columns,
//! each cell `value ± CI half-width`.

use super::fmt_ci;
use super::summary::unique;
use crate::metric::reliability::bench::RELIABILITY_IS_NOT_VALIDITY;
use crate::results::INSTRUMENT;
use crate::results::{ResultRow, RunMeta};
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
/// Validity and agreement with the truth.
const VALIDITY: &[&str] = &["icc2_1", "icc3_1", "kappa@", "kappa.decile_q"];
/// Symmetric table.
const SYM: &[&str] = &[
    "pearson.sym",
    "spearman.sym",
    "kendall.sym",
    "recall@.sym",
    "rmse.sym",
    "bias.sym",
];

fn matches(metric: &str, col: &str) -> bool {
    if col == "kappa@" {
        return metric.starts_with("kappa@");
    }
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
    if let Some(fewer) = super::fewer_queries_sentence(meta) {
        let _ = writeln!(s, "{}\n", esc(&fewer));
    }
    let _ = writeln!(
        s,
        "Codec draws per cell: {} (codecs whose fit is random) · codec seed: {}\n",
        p.replicates,
        p.codec_seed_base()
    );
    let _ = writeln!(
        s,
        "Scores are inner products ⟨query, row⟩; truth is computed in f64. Each cell is the value \
         pooled over queries and codec draws (correlations by Fisher-z averaging) ± half the \
         width of its 95% interval. {} `.sym` = both sides encoded. \
         bits/dim counts per-row side scalars and shared state amortised over the population's \
         rows before sampling (`--max-rows` does not move it).\n",
        super::intervals_sentence(p)
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
    cross_population(&mut s, rows);
    for pop in unique(rows.iter().map(|r| r.population.as_str())) {
        let all: Vec<&ResultRow> = rows.iter().filter(|r| r.population == pop).collect();
        let prow: Vec<&ResultRow> = all.iter().copied().filter(|r| !r.is_instrument()).collect();
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
        let _ = writeln!(
            s,
            "\nValidity (agreement with the truth): ICC(2,1) absolute agreement — punished by bias \
             and scale —, ICC(3,1) consistency, kappa of top-k membership (recall corrected for \
             chance; chance = 0), quadratic-weighted kappa of score deciles:\n"
        );
        table(&mut s, &prow, VALIDITY);
        if prow.iter().any(|r| r.metric.ends_with(".sym")) {
            let _ = writeln!(s, "\nSymmetric (both sides encoded):\n");
            table(&mut s, &prow, SYM);
        }
        rate_distortion(&mut s, pop, &prow);
        shared_state_flags(&mut s, &prow);
        instrument_section(&mut s, &all);
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

/// Flag every codec whose shared state (palettes, bases, tables, codebooks), amortised over the
/// population's rows, outweighs its codes: its bits/dim then mostly pay for the model. The
/// split is read off the row itself: codes are 8·bytes_per_row/dim of its bits/dim, the rest
/// is shared state.
fn shared_state_flags(s: &mut String, prow: &[&ResultRow]) {
    let mut seen: Vec<&str> = Vec::new();
    let mut lines = Vec::new();
    for r in prow {
        if seen.contains(&r.codec.as_str()) {
            continue;
        }
        seen.push(&r.codec);
        let code_bits = 8.0 * r.bytes_per_row as f64 / r.dim.max(1) as f64;
        let shared_bits = r.bits_per_dim - code_bits;
        if r.model_bytes > 0 && shared_bits > code_bits {
            lines.push(format!(
                "- ⚠ {}: shared state {} B is {:.3} of its {:.3} bits/dim, more than its codes' {:.3}",
                esc(&r.codec),
                r.model_bytes,
                shared_bits,
                r.bits_per_dim,
                code_bits
            ));
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(
            s,
            "\nShared state larger than the codes of the population's rows (honest bytes: it is counted in bits/dim):\n\n{}",
            lines.join("\n")
        );
    }
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

fn get<'a>(rows: &[&'a ResultRow], codec: &str, metric: &str) -> Option<&'a ResultRow> {
    rows.iter()
        .copied()
        .find(|r| r.codec == codec && r.metric == metric)
}

/// Reliability of the codecs as an instrument, kept apart from validity.
fn instrument_section(s: &mut String, all: &[&ResultRow]) {
    let Some(alpha) = get(all, INSTRUMENT, "alpha_std") else {
        return;
    };
    let _ = writeln!(
        s,
        "\nReliability of the codecs as an instrument (agreement among codecs):\n"
    );
    let _ = writeln!(s, "> {RELIABILITY_IS_NOT_VALIDITY}\n");
    let v = |m: &str| {
        get(all, INSTRUMENT, m).map_or("—".to_string(), |r| fmt_ci(r.value, r.ci_lo, r.ci_hi))
    };
    let _ = writeln!(
        s,
        "- standardized alpha over the codecs (truth left out): {} ({})",
        v("alpha_std"),
        alpha.note.as_deref().unwrap_or("")
    );
    let _ = writeln!(
        s,
        "- standardized alpha with the truth as a criterion item: {}",
        v("alpha_std.with_truth")
    );
    let _ = writeln!(
        s,
        "- item–total correlation of the truth: {}",
        v("truth_item_total")
    );
    if let Some(f) = get(all, INSTRUMENT, "factors") {
        let _ = writeln!(
            s,
            "- factors the codecs measure: {} ({})",
            f.value.map_or("—".to_string(), |v| format!("{v}")),
            f.note.as_deref().unwrap_or("")
        );
    }
    if let Some(e) = get(all, INSTRUMENT, "excluded_items") {
        let _ = writeln!(s, "- {}", e.note.as_deref().unwrap_or(""));
    }
    let items: Vec<&&ResultRow> = all
        .iter()
        .filter(|r| r.metric == "instrument.alpha_if_deleted")
        .collect();
    if !items.is_empty() {
        let _ = writeln!(
            s,
            "\n| codec | alpha if deleted | item–total r |\n|---|---:|---:|"
        );
        for r in items {
            let it = get(all, &r.codec, "instrument.item_total");
            let _ = writeln!(
                s,
                "| `{}` | {} | {} |",
                r.codec,
                fmt_ci(r.value, None, None),
                fmt_ci(it.and_then(|x| x.value), None, None)
            );
        }
    }
    // The origin's decision rules, with the numbers behind each firing.
    let rules: Vec<&&ResultRow> = all
        .iter()
        .filter(|r| r.metric.starts_with("rule."))
        .collect();
    if !rules.is_empty() {
        let _ = writeln!(
            s,
            "\nThe origin's decision rules (alpha ≥ 0.85 → redundant, keep the cheapest; < 0.70 → different constructs; removal raises alpha → noisy):\n"
        );
        // Pairwise "redundant" firings are many (k(k−1)/2): summarise them in one line.
        let is_pair = |r: &ResultRow| {
            r.metric == "rule.redundant"
                && r.note.as_deref().is_some_and(|n| {
                    n.split(" — ")
                        .next()
                        .is_some_and(|items| items.matches(" + ").count() == 1)
                })
        };
        let pairs: Vec<String> = rules
            .iter()
            .filter(|r| is_pair(r))
            .filter_map(|r| {
                let items = r.note.as_deref()?.split(" — ").next()?;
                Some(format!(
                    "{items} ({})",
                    r.value.map_or("—".to_string(), super::fmt_num)
                ))
            })
            .collect();
        if !pairs.is_empty() {
            let _ = writeln!(
                s,
                "- **redundant pairs** (two-item alpha ≥ 0.85): {} — {}",
                pairs.len(),
                pairs.join("; ")
            );
        }
        for r in rules.iter().filter(|r| !is_pair(r)) {
            let _ = writeln!(
                s,
                "- **{}** (value {}): {}",
                r.metric.trim_start_matches("rule.").replace('_', " "),
                r.value.map_or("—".to_string(), super::fmt_num),
                r.note.as_deref().unwrap_or("")
            );
        }
    }
}

/// Codec × population validity (ICC(2,1)) and each population's alpha.
fn cross_population(s: &mut String, rows: &[ResultRow]) {
    let pops = unique(rows.iter().map(|r| r.population.as_str()));
    let codecs = unique(
        rows.iter()
            .filter(|r| !r.is_instrument())
            .map(|r| r.codec.as_str()),
    );
    if !rows.iter().any(|r| r.metric == "icc2_1") {
        return;
    }
    let _ = writeln!(
        s,
        "\n## Across populations: validity ICC(2,1) and reliability\n"
    );
    let _ = writeln!(
        s,
        "| codec | {} |",
        pops.iter().map(|p| esc(p)).collect::<Vec<_>>().join(" | ")
    );
    let _ = writeln!(s, "|---|{}", "---:|".repeat(pops.len()));
    for c in &codecs {
        let cells: Vec<String> = pops
            .iter()
            .map(|p| {
                rows.iter()
                    .find(|r| r.population == *p && r.codec == *c && r.metric == "icc2_1")
                    .map_or("—".to_string(), |r| fmt_ci(r.value, r.ci_lo, r.ci_hi))
            })
            .collect();
        let _ = writeln!(s, "| `{c}` | {} |", cells.join(" | "));
    }
    let cells: Vec<String> = pops
        .iter()
        .map(|p| {
            rows.iter()
                .find(|r| r.population == *p && r.codec == INSTRUMENT && r.metric == "alpha_std")
                .map_or("—".to_string(), |r| fmt_ci(r.value, r.ci_lo, r.ci_hi))
        })
        .collect();
    let _ = writeln!(s, "| *alpha among codecs* | {} |", cells.join(" | "));
}

/// Rate–distortion view: codecs by honest bits/dim with recon_mse and recall@k; for Gaussian
/// controls also the Shannon lower bound 4^-b and TurboQuant's upper bound (√3π/2)·4^-b
/// (arXiv 2504.19874, Thm 1) at b = the codec's bits/dim.
fn rate_distortion(s: &mut String, pop: &str, prow: &[&ResultRow]) {
    let gaussian = pop.starts_with("gaussian") || pop.starts_with("unit");
    let recall = prow
        .iter()
        .find(|r| r.metric.starts_with("recall@") && !r.metric.ends_with(".sym"))
        .map(|r| r.metric.clone());
    let mut codecs: Vec<(&str, f64)> = Vec::new();
    for r in prow {
        if !codecs.iter().any(|c| c.0 == r.codec) {
            codecs.push((&r.codec, r.bits_per_dim));
        }
    }
    codecs.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
    let _ = writeln!(
        s,
        "\nRate–distortion (bits/dim include side scalars and shared state):\n"
    );
    let rec = recall.clone().unwrap_or_else(|| "recall@k".to_string());
    if gaussian {
        let _ = writeln!(
            s,
            "| codec | bits/dim | recon_mse | {rec} | Shannon 4^-b | TurboQuant bound |\n|---|---:|---:|---:|---:|---:|"
        );
    } else {
        let _ = writeln!(
            s,
            "| codec | bits/dim | recon_mse | {rec} |\n|---|---:|---:|---:|"
        );
    }
    for (codec, bits) in codecs {
        let cell = |m: &str| {
            prow.iter()
                .find(|r| r.codec == codec && r.metric == m)
                .map_or("n/a".to_string(), |r| fmt_ci(r.value, r.ci_lo, r.ci_hi))
        };
        let rc = recall.as_deref().map_or("n/a".to_string(), cell);
        if gaussian {
            let shannon = 4f64.powf(-bits);
            let tq = 3f64.sqrt() * std::f64::consts::PI / 2.0 * shannon;
            let _ = writeln!(
                s,
                "| `{codec}` | {bits:.3} | {} | {rc} | {} | {} |",
                cell("recon_mse"),
                super::fmt_num(shannon),
                super::fmt_num(tq)
            );
        } else {
            let _ = writeln!(
                s,
                "| `{codec}` | {bits:.3} | {} | {rc} |",
                cell("recon_mse")
            );
        }
    }
}
