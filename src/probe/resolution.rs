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

use super::pairs::{run_pairs, run_recon};
use super::{ProbeOptions, ProbeOutput};
use super::{Split, Truth};
use crate::codec::palette::{Lanes, LeafKind, PaletteParams};
use crate::codec::{Codec, CodecSpec};
use crate::data::PopulationKind;
use crate::data::catalog::{LoadOptions, PopulationSpec, stable_hash};
use crate::data::population::NonFinitePolicy;
use crate::error::Result;
use crate::metric::bootstrap::{self, Estimate};
use crate::metric::correlation::spearman;
use crate::metric::recall::recall_at_k;
use crate::metric::suite::{MetricValue, PairInputs, pair_metrics, recon_metric};
use crate::results::ResultRow;
use crate::results::meta::ResolutionLayout;
use crate::results::{ProbeNote, RowContext};

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

/// What was measured for one codec on one population.
struct Measured {
    spec: String,
    rows: Vec<ResultRow>,
    /// Asymmetric estimates (queries × base), when the codec could be fitted.
    asym: Option<Vec<f64>>,
    why: Option<String>,
}

/// Run the resolution study on each population (`opts.populations`, else
/// [`DEFAULT_POPULATIONS`]): result rows, and per population a note of its table's layout
/// (which codec is which layout or baseline) for the report.
pub fn resolution_probe(opts: &ProbeOptions) -> Result<ProbeOutput> {
    let specs: Vec<PopulationSpec> = if opts.populations.is_empty() {
        DEFAULT_POPULATIONS
            .iter()
            .map(|s| PopulationSpec::parse(s))
            .collect::<Result<_>>()?
    } else {
        opts.populations.clone()
    };
    let mut out = ProbeOutput::default();
    for spec in &specs {
        let pop = spec.load(
            spec.default_kind(),
            &LoadOptions {
                max_rows: Some(opts.rows.max(MIN_ROWS)),
                seed: opts.seed,
                nonfinite: NonFinitePolicy::Error,
                budget: opts.memory_budget,
            },
        )?;
        let seed = opts.seed ^ stable_hash(&format!("resolution:{}", pop.name));
        let split = match spec.default_kind() {
            PopulationKind::Weight => Split::self_pairs(&pop.rows, opts.queries, seed),
            PopulationKind::Embedding => Split::held_out(&pop.rows, opts.queries, seed),
        };
        let (rows, note) =
            measure_population(&pop.name, pop.provenance.source_rows, &split, opts, seed)?;
        out.rows.extend(rows);
        out.notes.push(note);
    }
    Ok(out)
}

/// The study on one prepared split of a population of `population_rows` rows (before
/// sampling; shared state is amortised over them): result rows and the population's table note.
pub fn measure_population(
    population: &str,
    population_rows: usize,
    split: &Split,
    opts: &ProbeOptions,
    seed: u64,
) -> Result<(Vec<ResultRow>, ProbeNote)> {
    let truth = Truth::compute(split);
    let candidates = split.candidates();
    let k = opts.k.min(candidates.max(1));
    let split_name = "resolution";
    let mut out: Vec<ResultRow> = Vec::new();
    let measure = |spec: &CodecSpec, note: Option<String>| -> Result<Measured> {
        measure_codec(
            spec,
            split,
            &truth,
            k,
            opts,
            seed,
            (population, population_rows),
            note,
        )
    };

    // Layouts.
    let mut layouts: Vec<(&Layout, Measured)> = Vec::new();
    for l in &LAYOUTS {
        let note = format!(
            "layout {}: address {} bits ({} entries) + leaf {}; declared {} bits",
            l.name, l.address, l.k, l.lanes, l.declared_bits
        );
        layouts.push((l, measure(&l.spec(), Some(note))?));
    }
    let hybrid = measure(
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
            baselines.push((format!("{b}"), measure(&spec, Some(note))?));
        }
    }
    for spec in floor_baselines() {
        let note = "smallest configuration (1 bit per coordinate)".to_string();
        baselines.push(("floor".to_string(), measure(&spec, Some(note))?));
    }

    // P9: paired per-query differences wide − narrow at equal bits.
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
            (Some(a), Some(b)) => Some(paired_differences(&truth, a, b, &split.query_self, k)),
            _ => None,
        };
        for (which, idx) in [("spearman", 0usize), ("recall", 1)] {
            let name = format!("p9.{which}_diff@{budget}");
            let mv = match &diffs {
                Some(d) => {
                    let vals: Vec<f64> = d[idx].iter().copied().filter(|v| v.is_finite()).collect();
                    let est = bootstrap::mean_ci(&vals, opts.resamples, seed ^ stable_hash(&name));
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
                None => MetricValue {
                    name: name.clone(),
                    estimate: Estimate::undefined(0),
                    chance: None,
                    note: Some(format!(
                        "undefined: {}",
                        [wm, nm]
                            .iter()
                            .filter_map(|m| m.why.as_ref().map(|w| format!("{}: {w}", m.spec)))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )),
                },
            };
            let row = ctx.row(mv);
            out.push(row);
        }
    }

    let note = ProbeNote::ResolutionTable {
        population: population.to_string(),
        split: match split.mode {
            super::SplitMode::SelfPairs => "self-pairs",
            super::SplitMode::HeldOut => "held-out queries",
            super::SplitMode::QueryFile => "query file",
        }
        .to_string(),
        k,
        layouts: layouts
            .iter()
            .map(|(l, m)| ResolutionLayout {
                codec: m.spec.clone(),
                name: l.name.to_string(),
                origin: l.origin,
                address: l.address.to_string(),
                leaf: l.lanes.to_string(),
                declared_bits: l.declared_bits,
            })
            .collect(),
        others: std::iter::once((hybrid.spec.clone(), "I8Hybrid (jl)".to_string()))
            .chain(baselines.iter().map(|(b, m)| (m.spec.clone(), b.clone())))
            .collect(),
    };
    for (_, m) in layouts {
        out.extend(m.rows);
    }
    out.extend(hybrid.rows);
    for (_, m) in baselines {
        out.extend(m.rows);
    }
    Ok((out, note))
}

/// Per query: [Spearman(a) − Spearman(b), recall@k(a) − recall@k(b)] against the truth, the
/// self-pair left out (NaN where a correlation is undefined).
fn paired_differences(
    truth: &Truth,
    a: &[f64],
    b: &[f64],
    skip: &[Option<usize>],
    k: usize,
) -> [Vec<f64>; 2] {
    let n = truth.n_base;
    let keep = |v: &[f64], s: Option<usize>| -> Vec<f64> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != s)
            .map(|(_, &x)| x)
            .collect()
    };
    let mut sp = Vec::with_capacity(skip.len());
    let mut rc = Vec::with_capacity(skip.len());
    for (q, &s) in skip.iter().enumerate() {
        let t = keep(truth.row(q), s);
        let ea = keep(&a[q * n..(q + 1) * n], s);
        let eb = keep(&b[q * n..(q + 1) * n], s);
        let kk = k.min(t.len());
        sp.push(match (spearman(&t, &ea), spearman(&t, &eb)) {
            (Some(x), Some(y)) => x - y,
            _ => f64::NAN,
        });
        rc.push(recall_at_k(&t, &ea, kk) - recall_at_k(&t, &eb, kk));
    }
    [sp, rc]
}

#[allow(clippy::too_many_arguments)]
fn measure_codec(
    spec: &CodecSpec,
    split: &Split,
    truth: &Truth,
    k: usize,
    opts: &ProbeOptions,
    seed: u64,
    (population, population_rows): (&str, usize),
    note: Option<String>,
) -> Result<Measured> {
    let cell_seed = seed ^ stable_hash(&spec.identity()).rotate_left(17);
    // A palette refuses fewer training rows than k (a typed `BadParam`): that layout's rows
    // are then undefined, with the reason.
    let fitted = opts
        .memory_budget
        .fit(spec, &split.train, cell_seed, split.base.len());
    let codec: Box<dyn Codec> = match fitted {
        Ok(c) => c,
        Err(e @ crate::error::Error::BadParam { .. }) => {
            let why = e.to_string();
            let row = RowContext {
                population: population.to_string(),
                codec: spec.to_string(),
                dim: split.base.dim(),
                base_rows: split.base.len(),
                queries: split.queries.len(),
                split: "resolution".to_string(),
                seed: opts.seed,
                family: String::new(),
                ..RowContext::default()
            }
            .row(MetricValue {
                name: "spearman".to_string(),
                estimate: Estimate::undefined(0),
                chance: None,
                note: Some(format!("not measurable: {why}")),
            });
            return Ok(Measured {
                spec: spec.to_string(),
                rows: vec![row],
                asym: None,
                why: Some(why),
            });
        }
        Err(e) => return Err(e),
    };
    let codes = codec.encode_all(&split.base);
    let outcome = run_pairs(codec.as_ref(), split, &codes)?;
    let mut ctx = RowContext::for_codec(
        codec.as_ref(),
        population,
        split.base.len(),
        population_rows,
        "resolution",
        opts.seed,
    );
    ctx.queries = split.queries.len();
    let inp = PairInputs {
        truth: &truth.scores,
        prepared: None,
        estimates: &[&outcome.asym],
        n_base: outcome.n_base,
        skip: &split.query_self,
        k,
        resamples: opts.resamples,
        seed: cell_seed,
        suffix: "",
    };
    let mut metrics = pair_metrics(&inp);
    if let Some(r) = run_recon(codec.as_ref(), split, &codes)? {
        metrics.push(recon_metric(
            &[r.err],
            &[r.energy],
            opts.resamples,
            cell_seed ^ 0x5245_434f,
        ));
    }
    let bits = if let CodecSpec::Palette(p) = spec {
        p.code_bits(codec.dim())
    } else {
        8 * codec.code_bytes()
    };
    metrics.push(MetricValue {
        name: "resolution.code_bits".to_string(),
        estimate: Estimate {
            value: Some(bits as f64),
            ci_lo: None,
            ci_hi: None,
            n: 1,
        },
        chance: None,
        note,
    });
    Ok(Measured {
        spec: spec.to_string(),
        rows: metrics.into_iter().map(|m| ctx.row(m)).collect(),
        asym: Some(outcome.asym),
        why: None,
    })
}
