//! The compact table `codecbench run` prints to stdout: per population, one line per codec with
//! its bytes and headline metrics.

use super::fmt_num;
use crate::results::ResultRow;
use std::fmt::Write;

/// Headline metrics in the summary (prefix match for `recall@`).
const COLUMNS: &[&str] = &["pearson", "spearman", "recall@", "recon_mse"];

/// Render the summary table.
pub fn render(rows: &[ResultRow]) -> String {
    let mut out = String::new();
    let cells: Vec<&ResultRow> = rows.iter().filter(|r| !r.is_probe()).collect();
    for pop in unique(cells.iter().map(|r| r.population.as_str())) {
        let prow: Vec<&ResultRow> = cells
            .iter()
            .copied()
            .filter(|r| r.population == pop && !r.is_instrument())
            .collect();
        let recall_name = prow
            .iter()
            .find(|r| r.metric.starts_with("recall@") && !r.metric.ends_with(".sym"))
            .map_or("recall@k", |r| r.metric.as_str());
        let _ = writeln!(out, "\n{pop}");
        let _ = writeln!(
            out,
            "  {:<44} {:>7} {:>8} {:>14} {:>14} {:>10} {:>10}",
            "codec", "B/row", "bits/dim", "pearson", "spearman", recall_name, "recon_mse"
        );
        let mut codecs: Vec<(&str, usize, f64)> = Vec::new();
        for r in &prow {
            if !codecs.iter().any(|c| c.0 == r.codec) {
                codecs.push((&r.codec, r.bytes_per_row, r.bits_per_dim));
            }
        }
        codecs.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
        for (codec, bytes, bits) in codecs {
            let get = |m: &str| {
                prow.iter()
                    .find(|r| {
                        r.codec == codec
                            && if m == "recall@" {
                                r.metric.starts_with(m) && !r.metric.ends_with(".sym")
                            } else {
                                r.metric == m
                            }
                    })
                    .and_then(|r| r.value)
                    .map_or("—".to_string(), fmt_num)
            };
            let vals: Vec<String> = COLUMNS.iter().map(|m| get(m)).collect();
            let _ = writeln!(
                out,
                "  {:<44} {:>7} {:>8.3} {:>14} {:>14} {:>10} {:>10}",
                codec, bytes, bits, vals[0], vals[1], vals[2], vals[3]
            );
        }
    }
    out
}

/// Distinct values in first-seen order.
pub fn unique<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for s in it {
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}
