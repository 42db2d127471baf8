//! The population probes' sections: P7 family recall, P1 spiral sketches, row identity — one
//! table per population, from the rows alone.

use super::{by_population, cell, find};
use crate::report::{fmt_ci, fmt_num, summary::unique};
use crate::results::{ProbeNote, ResultRow};
use std::fmt::Write;

/// `codec` of the family probe's population-level rows (not a partition method).
const POPULATION_ROW: &str = "(population)";

/// P7: one table of partition methods per population.
pub fn family(md: &mut String, rows: &[ResultRow], notes: &[&ProbeNote]) {
    let families = notes
        .iter()
        .find_map(|n| {
            if let ProbeNote::FamilySetup { families } = n {
                Some(*families)
            } else {
                None
            }
        })
        .unwrap_or(0);
    let _ = writeln!(
        md,
        "\n## P7 — family recall: does a row's exact nearest neighbour share its family? ({families} families)\n\nLabels are attached to row ids; chance = Σ n_f(n_f−1)/(n(n−1)) (Σp² without replacement); κ = (recall − chance)/(1 − chance). CIs over rows.\n"
    );
    for (pop, of) in by_population(rows) {
        let _ = writeln!(
            md,
            "**{pop}** ({} rows × {})\n\n| method | recall | chance | κ |\n|---|---|---|---|",
            of[0].base_rows, of[0].dim
        );
        let methods = unique(
            of.iter()
                .filter(|r| r.metric == "family.recall")
                .map(|r| r.codec.as_str()),
        );
        for m in methods {
            let r = find(&of, pop, m, "family.recall");
            let _ = writeln!(
                md,
                "| {m} | {} | {} | {} |",
                cell(r),
                r.and_then(|r| r.chance).map_or("—".to_string(), fmt_num),
                cell(find(&of, pop, m, "family.kappa"))
            );
        }
        let extras: Vec<String> = of
            .iter()
            .filter(|r| r.codec == POPULATION_ROW)
            .map(|r| {
                format!(
                    "{} = {}{}",
                    r.metric,
                    fmt_ci(r.value, r.ci_lo, r.ci_hi),
                    r.chance
                        .map_or(String::new(), |c| format!(" (chance {})", fmt_num(c)))
                )
            })
            .collect();
        let _ = writeln!(md, "\n{}\n", extras.join(" · "));
    }
}

/// P1: one table of sketches per population, then the paired differences.
pub fn spiral(md: &mut String, rows: &[ResultRow]) {
    let _ = writeln!(
        md,
        "\n## P1 — spiral sampling vs equal-byte controls\n\nTop-1 = exact NN is the signature's NN; top-5 = exact NN within the signature's top 5; rank agreement = (1 + τ_b)/2 of signature vs exact cosines over all other rows (the origin's G2/G3). CIs over query rows.\n"
    );
    for (pop, of) in by_population(rows) {
        let _ = writeln!(
            md,
            "**{pop}** ({} rows × {}, {} queries)\n\n| sketch | bytes/row | top-1 | top-5 | rank agreement |\n|---|---|---|---|---|",
            of[0].base_rows, of[0].dim, of[0].queries
        );
        let mut names: Vec<(String, usize)> = Vec::new();
        for r in &of {
            if r.metric == "spiral.top1" && !names.iter().any(|(n, _)| n == &r.codec) {
                names.push((r.codec.clone(), r.bytes_per_row));
            }
        }
        for (name, bytes) in &names {
            let _ = writeln!(
                md,
                "| {name} | {bytes} | {} | {} | {} |",
                cell(find(&of, pop, name, "spiral.top1")),
                cell(find(&of, pop, name, "spiral.top5")),
                cell(find(&of, pop, name, "spiral.rank_agree"))
            );
        }
        let diffs: Vec<String> = of
            .iter()
            .filter(|r| r.metric.starts_with("spiral.diff_"))
            .map(|r| {
                format!(
                    "{} {} = {}",
                    r.codec,
                    r.metric.trim_start_matches("spiral."),
                    fmt_ci(r.value, r.ci_lo, r.ci_hi)
                )
            })
            .collect();
        let _ = writeln!(
            md,
            "\nPaired differences (spiral − control): {}\n",
            diffs.join(" · ")
        );
    }
}

/// Row identity: one line per population × codec.
pub fn identity(md: &mut String, rows: &[ResultRow]) {
    md.push_str("\n## Row identity (gate 2 of index tensors): is a row's top candidate by estimated cosine the row itself?\n\n| population | codec | bytes/row | identity top-1 |\n|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            r.population,
            r.codec,
            r.bytes_per_row,
            fmt_ci(r.value, r.ci_lo, r.ci_hi)
        );
    }
}
