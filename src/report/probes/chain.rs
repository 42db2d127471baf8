//! The P5 section: the weight chain's per-layer table, attention-score fidelity and the origin's
//! score chain, from the chain probe's rows and its setup note.

use super::{cell, find, populations};
use crate::report::{fmt_ci, fmt_num, summary::unique};
use crate::results::probe_kind::{ATTENTION_SPLIT, CHAIN_SPLIT, SCORECHAIN_SPLIT};
use crate::results::{ProbeNote, ResultRow};
use std::fmt::Write;

/// Layer indices of metrics `PREFIX{l}` present in `rows`, ascending.
fn layers(rows: &[ResultRow], prefix: &str) -> Vec<usize> {
    let mut v: Vec<usize> = rows
        .iter()
        .filter_map(|r| r.metric.strip_prefix(prefix)?.parse().ok())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Render the chain section.
pub fn render(md: &mut String, rows: &[ResultRow], notes: &[&ProbeNote]) {
    let split =
        |s: &str| -> Vec<ResultRow> { rows.iter().filter(|r| r.split == s).cloned().collect() };
    let (chain, attention, scorechain) = (
        split(CHAIN_SPLIT),
        split(ATTENTION_SPLIT),
        split(SCORECHAIN_SPLIT),
    );
    let setup = notes.iter().find_map(|n| {
        if let ProbeNote::ChainSetup {
            texts,
            not_decodable,
            tokens,
            k,
            retrieval,
            train_sentences,
            ..
        } = n
        {
            Some((
                texts,
                not_decodable,
                *tokens,
                *k,
                *retrieval,
                *train_sentences,
            ))
        } else {
            None
        }
    });
    let Some((texts, not_decodable, tokens, k, retrieval, train_sentences)) = setup else {
        return;
    };
    let first = chain.first().or(attention.first());
    let n_sent = first.map_or(0, |r| r.queries);
    let seed = first.map_or(0, |r| r.seed);
    let _ = writeln!(
        md,
        "## P5 — chain: codec reconstructions inside the real MiniLM forward pass\n\n{n_sent} sentences ({tokens} tokens) sampled from data/{texts} with seed {seed}; L0 = embedding output, Ll = output of block l. Cosine = mean token cosine of the hidden state to the exact run (CI over sentences); recall@{k} = the modified model's sentence embedding searched among the {} committed exact embeddings.{}\n",
        if retrieval { "4096" } else { "(missing)" },
        if retrieval {
            ""
        } else {
            " The retrieval corpus is missing or does not match the model: no recall."
        }
    );
    let cos_layers = layers(&chain, "chain.cos@L");
    let n_layers = cos_layers.len();
    let _ = write!(md, "| weights | codec | bits/weight |");
    for l in &cos_layers {
        let _ = write!(md, " cos L{l} |");
    }
    let _ = writeln!(
        md,
        " rel. err L{} | sentence cos | recall@{k} |",
        n_layers.saturating_sub(1)
    );
    let _ = write!(md, "|---|---|---|");
    for _ in 0..n_layers {
        let _ = write!(md, "---|");
    }
    let _ = writeln!(md, "---|---|---|");
    for population in populations(&chain) {
        let kind = population.rsplit('=').next().unwrap_or(population);
        let of: Vec<&ResultRow> = chain
            .iter()
            .filter(|r| r.population == population)
            .collect();
        for codec in unique(of.iter().map(|r| r.codec.as_str())) {
            let Some(r0) = of.iter().find(|r| r.codec == codec) else {
                continue;
            };
            let get = |m: &str| cell(find(&chain, population, codec, m));
            let _ = write!(
                md,
                "| {kind} ({}) | {codec} | {} |",
                r0.base_rows,
                fmt_num(r0.bits_per_dim)
            );
            for l in &cos_layers {
                let _ = write!(md, " {} |", get(&format!("chain.cos@L{l}")));
            }
            let _ = writeln!(
                md,
                " {} | {} | {} |",
                get(&format!("chain.rel_err@L{}", n_layers.saturating_sub(1))),
                get("chain.sentence_cos"),
                get(&format!("chain.recall@{k}")),
            );
        }
    }
    if !not_decodable.is_empty() {
        let _ = writeln!(
            md,
            "\nNot in the weight chain (cannot decode, so cannot feed a forward pass): {}. They are measured by attention fidelity below.",
            not_decodable.join(", ")
        );
    }
    if !attention.is_empty() {
        attention_table(md, &attention, train_sentences);
    }
    if !scorechain.is_empty() {
        score_chain_table(md, &scorechain);
    }
    let not_measured: Vec<&str> = notes
        .iter()
        .filter_map(|n| {
            if let ProbeNote::NotMeasured { what, .. } = n {
                Some(what.as_str())
            } else {
                None
            }
        })
        .collect();
    if !not_measured.is_empty() {
        let _ = writeln!(md, "\nNot measured by the chain probe:\n");
        for n in not_measured {
            let _ = writeln!(md, "- {n}");
        }
    }
    for n in notes {
        if let ProbeNote::LeftOut { what, .. } = n {
            let _ = writeln!(md, "\n{what}");
        }
    }
}

fn attention_table(md: &mut String, rows: &[ResultRow], train_sentences: usize) {
    let head = &rows[0];
    let _ = writeln!(
        md,
        "\n### Attention-score fidelity (keys encoded per head, d = {}; {} key rows per head; codecs fitted on {train_sentences} other sentences)\n\n| codec | grade | bytes/key | top-1 (chance) | KL nats | output error | worst block top-1 |\n|---|---|---|---|---|---|---|",
        head.dim, head.base_rows
    );
    let blocks = layers(rows, "attn.top1@L");
    for codec in unique(rows.iter().map(|r| r.codec.as_str())) {
        let pop = head.population.as_str();
        let Some(r0) = rows.iter().find(|r| r.codec == codec) else {
            continue;
        };
        let top1 = find(rows, pop, codec, "attn.top1");
        let worst = blocks
            .iter()
            .filter_map(|l| find(rows, pop, codec, &format!("attn.top1@L{l}")))
            .filter(|r| r.value.is_some())
            .min_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)));
        let _ = writeln!(
            md,
            "| {codec} | {} | {} | {} ({}) | {} | {} | {} |",
            r0.grade,
            r0.bytes_per_row,
            cell(top1),
            top1.and_then(|r| r.chance).map_or("—".to_string(), fmt_num),
            cell(find(rows, pop, codec, "attn.kl")),
            cell(find(rows, pop, codec, "attn.out_err")),
            worst.map_or("—".to_string(), |r| format!(
                "{} ({})",
                fmt_ci(r.value, r.ci_lo, r.ci_hi),
                r.metric.trim_start_matches("attn.top1@")
            ))
        );
    }
}

fn score_chain_table(md: &mut String, rows: &[ResultRow]) {
    let head = &rows[0];
    let pop = head.population.as_str();
    let _ = writeln!(
        md,
        "\n### The origin's score chain (diagnostic): M ← S·M·Sᵀ, S = rowwise softmax(M), {} rows of {pop}\n\nSpearman of the chained estimate vs the chained exact matrix; `undefined` once the exact matrix is constant to rounding (the origin printed its zero-variance fallback, ρ = 0.000).\n",
        head.base_rows
    );
    let methods = unique(rows.iter().map(|r| r.codec.as_str()));
    let depths: Vec<usize> = rows
        .iter()
        .filter(|r| r.codec == head.codec)
        .filter_map(|r| r.metric.strip_prefix("scorechain.spearman@L")?.parse().ok())
        .collect();
    let _ = write!(md, "| method |");
    for d in &depths {
        let _ = write!(md, " L{d} |");
    }
    let _ = write!(md, "\n|---|");
    for _ in &depths {
        let _ = write!(md, "---|");
    }
    let _ = writeln!(md);
    let mut truth_line = String::from("| *truth variance* |");
    for d in &depths {
        let var = find(
            rows,
            pop,
            &head.codec,
            &format!("scorechain.truth_var@L{d}"),
        )
        .and_then(|r| r.value)
        .unwrap_or(f64::NAN);
        let collapsed = find(rows, pop, &head.codec, &format!("scorechain.spearman@L{d}"))
            .and_then(|r| r.note.as_deref())
            .is_some_and(|n| n.contains("truth constant"));
        let _ = write!(
            truth_line,
            " {var:.2e}{} |",
            if collapsed { " (collapsed)" } else { "" }
        );
    }
    for name in methods {
        let _ = write!(md, "| {name} |");
        for d in &depths {
            let r = find(rows, pop, name, &format!("scorechain.spearman@L{d}"));
            let _ = write!(
                md,
                " {} |",
                match r {
                    Some(r) if r.value.is_some() => fmt_ci(r.value, r.ci_lo, r.ci_hi),
                    _ => "undefined".to_string(),
                }
            );
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md, "{truth_line}");
}
