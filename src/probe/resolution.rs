// Source: the origin's probe P9, "resolution as a variable" (`../shared/reference/origin.md` §3
// and the six bit layouts of §4), which the origin specified but never ran.

//! `codecbench probe resolution` (P9): the I8-hybrid layout at six resolutions, side by side
//! with rotation and PQ baselines at the nearest achievable bits per row, and the paired test of
//! the origin's question "wider address or longer leaf at equal bits?".
//!
//! **Layouts** (origin.md §4; address = HEEL+HIP bits, a flat palette of 2^bits entries as the
//! origin's I8Hybrid bench implemented it; leaf = lanes on the residuals' SVD basis, lane 0 the
//! direction of most residual energy, so the code is exactly address + leaf bits):
//!
//! | layout | address | leaf | bits |
//! |---|---|---|---|
//! | I8-baseline | 2+4 | 8×i8 | 70 |
//! | Wide-HIP | 2+8 | 8×i8 | 74 |
//! | Mixed-leaf | 2+4 | 4×i16+4×i8 | 102 |
//! | Compact-leaf | 2+4 | 4×i8 | 38 |
//! | BF16-leaf | 2+4 | 2×bf16 | 38 |
//! | Stacked | 2+4 | 2×i16+2×i8+2×i4+2×i2 | 66 |
//!
//! The origin's table gives Stacked 58 bits; its own lane list sums to 6 + 60 = 66, which is
//! what is declared and coded here.
//!
//! None of the six compares a wider address with a longer leaf at *equal* bits (Wide-HIP adds 4
//! address bits and keeps the leaf). Two controls make the trade exact: **Narrow+leaf@74**
//! (2+4 address, 8×i8+1×i4 leaf = 74 bits, against Wide-HIP) and **Wide@38** (2+8 address,
//! 3×i8+1×i4 leaf = 38 bits, against Compact-leaf). For each pair the probe reports the paired
//! per-query difference wide − narrow of Spearman and recall@k, with a bootstrap CI over queries
//! (`p9.spearman_diff@B`, `p9.recall_diff@B`): the rows hypothesis P9 is judged on. Equal
//! bits are per row, as the origin budgets them; the shared palette is not equal (1024 vs 64
//! entries of 4·d bytes), so those rows carry the wide codec's model bytes and amortised
//! bits/dim and their note gives both sides'.
//!
//! **Also measured**: the origin's I8Hybrid as fixed here (`leaf=jl`: stored positions and the
//! BF16 magnitude, at its real size), and baselines at the nearest achievable budget: `pq` with
//! 8-bit codes and m = round(B/8) sub-vectors, `qjl` with m = B − 32 sketch bits (its 4-byte
//! norm included), and the smallest `tq-mse` and `rabitq` (1 bit per coordinate, usually far
//! above these budgets: their actual bytes are reported, never hidden).
//!
//! Every codec gets the pair-probe metric suite (Pearson, Spearman, Kendall, recall@k, error,
//! bias, slope with 95% bootstrap CIs over queries) and `recon_mse`, plus a
//! `resolution.code_bits` row (exact bits of one code). A codec that cannot be fitted (a
//! 1024-entry palette on fewer than 1024 training rows) gives undefined rows whose note says
//! why. Populations are sampled to at least [`MIN_ROWS`] rows (more with `--rows`).

mod measure;
mod rows;

use std::fmt::Write;

use super::command::ProbeOptions;
use super::{Split, Truth};
use crate::codec::CodecSpec;
use crate::codec::palette::{Lanes, LeafKind, PaletteParams};
use crate::data::PopulationKind;
use crate::data::catalog::{LoadOptions, PopulationSpec, stable_hash};
use crate::data::population::NonFinitePolicy;
use crate::error::Result;
use crate::run::ResultRow;
use measure::{Measured, Study};

/// Rows sampled per population at least (Wide-HIP's 1024 entries need ≥ 1024 training rows).
pub const MIN_ROWS: usize = 4096;

/// Populations measured when none are named.
pub const DEFAULT_POPULATIONS: [&str; 6] = [
    "minilm-k:layer=0",
    "minilm-up",
    "minilm-vocab",
    "minilm-sentences",
    "glove-20k",
    "clustered",
];

/// One layout of the study.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Display name.
    pub name: &'static str,
    /// Address bits as the origin writes them (HEEL+HIP).
    pub address: &'static str,
    /// Palette entries (2^address bits).
    pub k: usize,
    /// Leaf lanes.
    pub lanes: &'static str,
    /// Declared bits per row (address + leaf).
    pub declared_bits: usize,
    /// One of the origin's six (false: an equal-bits P9 control).
    pub origin: bool,
}

impl Layout {
    /// The palette spec of this layout (farthest-point palette, svd leaf).
    pub fn params(&self) -> PaletteParams {
        PaletteParams {
            k: self.k,
            leaf: LeafKind::Svd,
            lanes: Lanes::parse(self.lanes).expect("layout lanes parse (tested)"),
            ..PaletteParams::default()
        }
    }
    /// The codec spec.
    pub fn spec(&self) -> CodecSpec {
        CodecSpec::Palette(self.params())
    }
}

/// The six origin layouts, then the two equal-bits controls.
pub const LAYOUTS: [Layout; 8] = [
    Layout {
        name: "I8-baseline",
        address: "2+4",
        k: 64,
        lanes: "8xi8",
        declared_bits: 70,
        origin: true,
    },
    Layout {
        name: "Wide-HIP",
        address: "2+8",
        k: 1024,
        lanes: "8xi8",
        declared_bits: 74,
        origin: true,
    },
    Layout {
        name: "Mixed-leaf",
        address: "2+4",
        k: 64,
        lanes: "4xi16+4xi8",
        declared_bits: 102,
        origin: true,
    },
    Layout {
        name: "Compact-leaf",
        address: "2+4",
        k: 64,
        lanes: "4xi8",
        declared_bits: 38,
        origin: true,
    },
    Layout {
        name: "BF16-leaf",
        address: "2+4",
        k: 64,
        lanes: "2xbf16",
        declared_bits: 38,
        origin: true,
    },
    Layout {
        name: "Stacked",
        address: "2+4",
        k: 64,
        lanes: "2xi16+2xi8+2xi4+2xi2",
        declared_bits: 66,
        origin: true,
    },
    Layout {
        name: "Narrow+leaf@74",
        address: "2+4",
        k: 64,
        lanes: "8xi8+1xi4",
        declared_bits: 74,
        origin: false,
    },
    Layout {
        name: "Wide@38",
        address: "2+8",
        k: 1024,
        lanes: "3xi8+1xi4",
        declared_bits: 38,
        origin: false,
    },
];

/// The equal-bits pairs (budget, wide layout, narrow layout) behind P9.
pub const P9_PAIRS: [(usize, &str, &str); 2] = [
    (74, "Wide-HIP", "Narrow+leaf@74"),
    (38, "Wide@38", "Compact-leaf"),
];

/// The origin's I8Hybrid, fixed (stored positions, BF16 magnitude), at its real size.
pub fn i8_hybrid() -> CodecSpec {
    CodecSpec::Palette(PaletteParams {
        k: 64,
        leaf: LeafKind::Jl,
        ..PaletteParams::default()
    })
}

/// Baselines nearest to a budget of `bits` per row: pq (8-bit codes) and qjl.
pub fn budget_baselines(bits: usize) -> Vec<CodecSpec> {
    let m = ((bits as f64 / 8.0).round() as usize).max(1);
    [
        format!("pq:m={m},nbits=8"),
        format!("qjl:m={}", bits.saturating_sub(32).max(1)),
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

/// The smallest configurations of the rotation baselines (independent of the budget).
pub fn floor_baselines() -> Vec<CodecSpec> {
    ["tq-mse:bits=1", "rabitq:bits=1"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Run the resolution study on each population (`opts.populations`, else
/// [`DEFAULT_POPULATIONS`]); appends result rows and a Markdown section.
pub fn resolution_probe(
    opts: &ProbeOptions,
    rows: &mut Vec<ResultRow>,
    md: &mut String,
) -> Result<()> {
    let specs: Vec<PopulationSpec> = if opts.populations.is_empty() {
        DEFAULT_POPULATIONS
            .iter()
            .map(|s| PopulationSpec::parse(s))
            .collect::<Result<_>>()?
    } else {
        opts.populations.clone()
    };
    let _ = writeln!(
        md,
        "\n## P9 — resolution: address bits vs leaf bits of the palette + leaf hybrid\n\nAddress = a flat farthest-point palette of 2^bits entries (the origin's HEEL+HIP); leaf = lanes on the SVD basis of the training residuals; bits are exact per row. Equal bits are per row, as the origin budgets them: a 1024-entry palette is 16× the shared state of a 64-entry one, so compare `bits/dim amortised` (code plus shared state over the population's rows, before sampling) before buying a wider address. Baselines at the nearest achievable budget (actual bytes shown). Metrics per query, pooled over queries, 95% bootstrap CIs. The origin's table gives Stacked 58 bits; its lane list sums to 66.\n"
    );
    for spec in &specs {
        let pop = spec.load(
            spec.default_kind(),
            &LoadOptions {
                max_rows: Some(opts.rows.max(MIN_ROWS)),
                seed: opts.seed,
                nonfinite: NonFinitePolicy::Error,
            },
        )?;
        let seed = opts.seed ^ stable_hash(&format!("resolution:{}", pop.name));
        let split = match spec.default_kind() {
            PopulationKind::Weight => Split::self_pairs(&pop.rows, opts.queries, seed),
            PopulationKind::Embedding => Split::held_out(&pop.rows, opts.queries, seed),
        };
        let (new, section) =
            measure_population(&pop.name, pop.provenance.source_rows, &split, opts, seed)?;
        md.push_str(&section);
        rows.extend(new);
    }
    Ok(())
}

/// The study on one prepared split of a population of `population_rows` rows (before
/// sampling; shared state is amortised over them): result rows and the Markdown of this
/// population.
pub fn measure_population(
    population: &str,
    population_rows: usize,
    split: &Split,
    opts: &ProbeOptions,
    seed: u64,
) -> Result<(Vec<ResultRow>, String)> {
    let truth = Truth::compute(split);
    let candidates = split.candidates();
    let study = Study {
        population,
        population_rows,
        split,
        truth: &truth,
        k: opts.k.min(candidates.max(1)),
        opts,
        seed,
    };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "**{population}** ({} base rows × {}, {} queries, {})\n",
        split.base.len(),
        split.base.dim(),
        split.queries.len(),
        match split.mode {
            super::SplitMode::SelfPairs => "self-pairs",
            super::SplitMode::HeldOut => "held-out queries",
            super::SplitMode::QueryFile => "query file",
        }
    );

    // Layouts.
    let mut layouts: Vec<(&Layout, Measured)> = Vec::new();
    for l in &LAYOUTS {
        let note = format!(
            "layout {}: address {} bits ({} entries) + leaf {}; declared {} bits",
            l.name, l.address, l.k, l.lanes, l.declared_bits
        );
        layouts.push((l, study.measure(&l.spec(), Some(note))?));
    }
    let hybrid = study.measure(
        &i8_hybrid(),
        Some("the origin's I8Hybrid, fixed: 64-entry palette, top-8 rotated residual coordinates with their positions and a BF16 per-row magnitude".to_string()),
    )?;
    let mut budgets: Vec<usize> = LAYOUTS.iter().map(|l| l.declared_bits).collect();
    budgets.sort_unstable();
    budgets.dedup();
    let mut baselines: Vec<(String, Measured)> = Vec::new();
    for &b in &budgets {
        for spec in budget_baselines(b) {
            if baselines.iter().any(|(_, m)| m.spec == spec.to_string()) {
                continue;
            }
            let note = format!("baseline nearest to the {b}-bit budget");
            baselines.push((format!("{b}"), study.measure(&spec, Some(note))?));
        }
    }
    for spec in floor_baselines() {
        let note = "smallest configuration (1 bit per coordinate)".to_string();
        baselines.push(("floor".to_string(), study.measure(&spec, Some(note))?));
    }

    md.push_str(&rows::tables(&layouts, &hybrid, &baselines, study.k));
    let (mut out, p9_lines) = study.p9_rows(&layouts);
    let _ = writeln!(
        md,
        "\nP9 (paired per query, positive = wider address wins): {}\n",
        p9_lines.join(" · ")
    );

    for (_, m) in layouts {
        out.extend(m.rows);
    }
    out.extend(hybrid.rows);
    for (_, m) in baselines {
        out.extend(m.rows);
    }
    Ok((out, md))
}
