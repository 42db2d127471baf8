//! The P9 section: per population, the palette + leaf layouts and the baselines at equal bits
//! (numbers from the rows, the table's layout from the probe's note), then the paired P9
//! differences.

use super::find;
use crate::report::fmt_ci;
use crate::results::{ProbeNote, ResultRow};
use std::fmt::Write;

/// The marker the P9 rows' notes put before the shared-state comparison.
const SHARED_STATE: &str = "; shared state ";

/// Render the resolution section.
pub fn render(md: &mut String, rows: &[ResultRow], notes: &[&ProbeNote]) {
    let _ = writeln!(
        md,
        "\n## P9 — resolution: address bits vs leaf bits of the palette + leaf hybrid\n\nAddress = a flat farthest-point palette of 2^bits entries (the origin's HEEL+HIP); leaf = lanes on the SVD basis of the training residuals; bits are exact per row. Equal bits are per row, as the origin budgets them: a 1024-entry palette is 16× the shared state of a 64-entry one, so compare `bits/dim amortised` (code plus shared state over the population's rows, before sampling) before buying a wider address. Baselines at the nearest achievable budget (actual bytes shown). Metrics per query, pooled over queries, 95% bootstrap CIs. The origin's table gives Stacked 58 bits; its lane list sums to 66.\n"
    );
    for note in notes {
        let ProbeNote::ResolutionTable {
            population,
            split,
            k,
            layouts,
            others,
        } = note
        else {
            continue;
        };
        let pop = population.as_str();
        let of: Vec<ResultRow> = rows
            .iter()
            .filter(|r| r.population == pop)
            .cloned()
            .collect();
        let Some(head) = of.first() else {
            continue;
        };
        let _ = writeln!(
            md,
            "**{pop}** ({} base rows × {}, {} queries, {split})\n",
            head.base_rows, head.dim, head.queries
        );
        let recall_name = format!("recall@{k}");
        let metric = |codec: &str, name: &str| -> String {
            find(&of, pop, codec, name).map_or("—".to_string(), |r| {
                if r.value.is_none() {
                    "—".to_string()
                } else {
                    fmt_ci(r.value, r.ci_lo, r.ci_hi)
                }
            })
        };
        // Code bits, bytes per row and amortised bits/dim: from the codec's code-bits row, which
        // only a fitted codec has.
        let sizes = |codec: &str| -> (String, usize, String) {
            match find(&of, pop, codec, "resolution.code_bits") {
                Some(r) => (
                    r.value.map_or("—".to_string(), |b| format!("{b}")),
                    r.bytes_per_row,
                    if r.bytes_per_row > 0 {
                        format!("{:.3}", r.bits_per_dim)
                    } else {
                        "—".to_string()
                    },
                ),
                None => ("—".to_string(), 0, "—".to_string()),
            }
        };
        let _ = writeln!(
            md,
            "| layout | address | leaf | declared bits | code bits | B/row | bits/dim amortised | spearman | {recall_name} | pearson | recon_mse |\n|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for l in layouts {
            let (bits, bytes, amortised) = sizes(&l.codec);
            let _ = writeln!(
                md,
                "| {}{} | {} | {} | {} | {bits} | {bytes} | {amortised} | {} | {} | {} | {} |",
                l.name,
                if l.origin { "" } else { " (control)" },
                l.address,
                l.leaf,
                l.declared_bits,
                metric(&l.codec, "spearman"),
                metric(&l.codec, &recall_name),
                metric(&l.codec, "pearson"),
                metric(&l.codec, "recon_mse"),
            );
        }
        let _ = writeln!(
            md,
            "\n| codec | budget | bits/row (actual) | B/row | bits/dim amortised | spearman | {recall_name} | pearson | recon_mse |\n|---|---|---|---|---|---|---|---|---|"
        );
        for (codec, budget) in others {
            let (bits, bytes, amortised) = sizes(codec);
            let _ = writeln!(
                md,
                "| {codec} | {budget} | {bits} | {bytes} | {amortised} | {} | {} | {} | {} |",
                metric(codec, "spearman"),
                metric(codec, &recall_name),
                metric(codec, "pearson"),
                metric(codec, "recon_mse"),
            );
        }
        let unfit: Vec<String> = layouts
            .iter()
            .map(|l| l.codec.as_str())
            .chain(others.iter().map(|(c, _)| c.as_str()))
            .filter_map(|c| {
                let r = find(&of, pop, c, "spearman")?;
                let why = r.note.as_deref()?.strip_prefix("not measurable: ")?;
                Some(format!("{c}: {why}"))
            })
            .collect();
        if !unfit.is_empty() {
            let _ = writeln!(md, "\nNot measurable here: {}", unfit.join("; "));
        }
        let mut p9_lines = Vec::new();
        for r in of.iter().filter(|r| r.codec.starts_with("p9:")) {
            let Some((wide, narrow)) = r.codec.trim_start_matches("p9:").split_once("-minus-")
            else {
                continue;
            };
            let Some((which, budget)) = r.metric.trim_start_matches("p9.").split_once("_diff@")
            else {
                continue;
            };
            let note = r.note.clone().unwrap_or_default();
            p9_lines.push(format!(
                "{which} at {budget} bits, {wide} − {narrow}: {}",
                if r.value.is_some() {
                    fmt_ci(r.value, r.ci_lo, r.ci_hi)
                } else {
                    note.clone()
                }
            ));
            // After the recall row of a pair: the shared-state comparison its note carries.
            if which == "recall"
                && let Some(i) = note.find(SHARED_STATE)
            {
                p9_lines.push(format!(
                    "({wide} vs {narrow}: {})",
                    &note[i + SHARED_STATE.len() - "shared state ".len()..]
                ));
            }
        }
        let _ = writeln!(
            md,
            "\nP9 (paired per query, positive = wider address wins): {}\n",
            p9_lines.join(" · ")
        );
    }
}
