//! The codec cells of one population: fit every codec (R draws where its fit is random), encode,
//! run the pair probe, pool the metrics into rows, then the population's instrument block. Cells
//! run concurrently; every seed derives from names, so results do not depend on scheduling.

use super::instrument;
use super::journal::Journal;
use super::prepare::Prepared;
use super::seeds;
use crate::codec::{Codec, CodecSpec};
use crate::error::{Error, Result};
use crate::metric::suite::{
    MetricValue, PairInputs, QueryTruth, SYM_SUFFIX, pair_metrics_with_units, prepare_truth,
    recon_metric_with_units,
};
use crate::probe::Truth;
use crate::probe::pairs::{run_pairs, run_pairs_with, run_recon};
use crate::results::units::CellUnits;
use crate::results::{Plan, ProbeKind, ResultRow, RowContext, RowKind, StepTiming};
use indicatif::ProgressBar;
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// One population's finished cells and instrument block.
pub struct PopulationDone {
    /// Rows of its cells and instrument block, in plan order.
    pub rows: Vec<ResultRow>,
    /// Each cell's first-draw codec where a probe of the run uses it.
    pub fitted: Vec<Option<Arc<dyn Codec>>>,
    /// Time of each cell computed.
    pub timings: Vec<StepTiming>,
}

/// The codec cells of one population (those `prior` lacks, concurrently), then its instrument
/// block (reliability of the codecs as items).
pub fn population_cells(
    plan: &Plan,
    p: &Prepared,
    prior: &[ResultRow],
    journal: &Journal,
    dir: &Path,
    bar: &ProgressBar,
) -> Result<PopulationDone> {
    let done = |spec: &CodecSpec| -> Vec<ResultRow> {
        let codec = spec.to_string();
        prior
            .iter()
            .filter(|r| r.population == p.pop.name && r.codec == codec && r.kind() == RowKind::Cell)
            .cloned()
            .collect()
    };
    let finished: Vec<Vec<ResultRow>> = plan.codecs.iter().map(done).collect();
    bar.inc(finished.iter().filter(|f| !f.is_empty()).count() as u64);
    let mut truth: Option<Truth> = None;
    if finished.iter().any(Vec::is_empty) {
        bar.set_message(format!("{}: exact scores", p.pop.name));
        truth = Some(Truth::compute(&p.split));
    }
    // The truth's rank side, once for every codec and draw of this population.
    let prepared: Vec<QueryTruth> = truth.as_ref().map_or_else(Vec::new, |t| {
        prepare_truth(&t.scores, p.split.base.len(), &p.split.query_self)
    });
    let computed: Vec<Option<Cell>> = match truth.as_ref() {
        Some(t) => (0..plan.codecs.len())
            .into_par_iter()
            .map(|ci| -> Result<Option<Cell>> {
                if !finished[ci].is_empty() {
                    return Ok(None);
                }
                let spec = &plan.codecs[ci];
                bar.set_message(format!("{} × {spec}", p.pop.name));
                let cell = measure_cell(plan, p, t, &prepared, spec)?;
                // The per-query values first: a cell in results.jsonl always has its file.
                cell.units.write(dir)?;
                journal.append(&cell.rows)?;
                bar.inc(1);
                Ok(Some(cell))
            })
            .collect::<Result<_>>()?,
        None => (0..plan.codecs.len()).map(|_| None).collect(),
    };
    let mut rows: Vec<ResultRow> = Vec::new();
    let mut items: Vec<Option<Vec<f64>>> = Vec::with_capacity(plan.codecs.len());
    let mut fitted: Vec<Option<Arc<dyn Codec>>> = Vec::with_capacity(plan.codecs.len());
    let mut timings: Vec<StepTiming> = Vec::new();
    for (f, c) in finished.into_iter().zip(computed) {
        match c {
            Some(c) => {
                rows.extend(c.rows);
                items.push(Some(c.items));
                fitted.push(c.codec);
                timings.push(c.timing);
            }
            None => {
                rows.extend(f);
                items.push(None);
                fitted.push(None);
            }
        }
    }
    let prior_block: Vec<ResultRow> = prior
        .iter()
        .filter(|r| r.population == p.pop.name && r.kind() == RowKind::Instrument)
        .cloned()
        .collect();
    if !prior_block.is_empty() {
        rows.extend(prior_block);
    } else if plan.codecs.len() >= 2 {
        bar.set_message(format!("{}: reliability of the codecs", p.pop.name));
        let clock = std::time::Instant::now();
        let t = match truth.take() {
            Some(t) => t,
            None => Truth::compute(&p.split),
        };
        let mut full: Vec<Vec<f64>> = Vec::with_capacity(plan.codecs.len());
        for (spec, it) in plan.codecs.iter().zip(items) {
            full.push(match it {
                Some(v) => v,
                None => cell_items(plan, p, spec)?,
            });
        }
        let block = instrument::rows(plan, p, &t, &full, &rows);
        journal.append(&block)?;
        rows.extend(block);
        timings.push(StepTiming::of(format!("instrument {}", p.pop.name), clock));
    }
    Ok(PopulationDone {
        rows,
        fitted,
        timings,
    })
}

/// Every cell's fit, from the codecs' declarations and the populations' shapes: enough
/// training rows ([`crate::codec::Capabilities::min_train_rows`]) and declared fit bytes
/// within the memory budget. A run that cannot fit a cell stops before any work starts.
pub fn check_fits(plan: &Plan, prepared: &[Prepared]) -> Result<()> {
    for p in prepared {
        let (rows, dim) = (p.split.train.len(), p.split.train.dim());
        for spec in &plan.codecs {
            let needed = spec.capabilities().min_train_rows;
            if rows < needed {
                return Err(Error::TooFewTrainingRows {
                    population: p.pop.name.clone(),
                    codec: spec.to_string(),
                    rows,
                    needed,
                });
            }
            plan.memory_budget.check_fit(spec, rows, dim)?;
        }
    }
    Ok(())
}

/// The codec of one cell's first draw: fitted on the split's training rows with that draw's
/// seed (the same codec whenever it is fitted again, e.g. for a resumed run's probes).
pub fn fit_cell_codec(plan: &Plan, p: &Prepared, spec: &CodecSpec) -> Result<Arc<dyn Codec>> {
    fit_draw(plan, p, spec, 0)
}

/// Draw `draw` of a cell's codec.
fn fit_draw(plan: &Plan, p: &Prepared, spec: &CodecSpec, draw: usize) -> Result<Arc<dyn Codec>> {
    let seed = seeds::codec_draw_seed(plan.codec_seed_base(), &p.pop.name, spec, draw);
    let codec = plan
        .memory_budget
        .fit(spec, &p.split.train, seed, p.split.base.len())?;
    Ok(Arc::from(codec))
}

/// A cell's instrument items (its first draw's estimates at the instrument units), for a
/// resumed run whose cell rows were reused but whose instrument block was not written.
fn cell_items(plan: &Plan, p: &Prepared, spec: &CodecSpec) -> Result<Vec<f64>> {
    let codec = fit_cell_codec(plan, p, spec)?;
    let codes = codec.encode_all(&p.split.base);
    let outcome = run_pairs(codec.as_ref(), &p.split, &codes)?;
    Ok(instrument::units(p)
        .iter()
        .map(|&(q, j)| outcome.asym[q * outcome.n_base + j])
        .collect())
}

/// Fit, encode and measure one codec on one prepared population: `plan.draws_of(spec)`
/// independent fits (one for a deterministic codec), pooled over draws and queries.
fn measure_cell(
    plan: &Plan,
    p: &Prepared,
    truth: &Truth,
    prepared: &[QueryTruth],
    spec: &CodecSpec,
) -> Result<Cell> {
    let boot_seed = seeds::cell_bootstrap_seed(p.seed, spec);
    let clock = std::time::Instant::now();
    let draws = plan.draws_of(spec, p.split.train.len());
    let (mut fit_s, mut encode_s) = (0.0, 0.0);
    let mut first: Option<Arc<dyn Codec>> = None;
    let mut asym: Vec<Vec<f64>> = Vec::with_capacity(draws);
    let mut sym: Vec<Vec<f64>> = Vec::with_capacity(draws);
    let (mut err, mut energy) = (Vec::with_capacity(draws), Vec::with_capacity(draws));
    let mut n_base = p.split.base.len();
    for d in 0..draws {
        let t0 = std::time::Instant::now();
        let codec = fit_draw(plan, p, spec, d)?;
        fit_s += t0.elapsed().as_secs_f64();
        let t1 = std::time::Instant::now();
        let codes = codec.encode_all(&p.split.base);
        encode_s += t1.elapsed().as_secs_f64();
        // The symmetric estimates of the first draw only: code-vs-code scoring costs as much
        // as the rest of a draw, and `.sym` rows say they stand on one draw.
        let outcome = run_pairs_with(codec.as_ref(), &p.split, &codes, d == 0)?;
        n_base = outcome.n_base;
        asym.push(outcome.asym);
        if let Some(s) = outcome.sym {
            sym.push(s);
        }
        if let Some(r) = run_recon(codec.as_ref(), &p.split, &codes)? {
            err.push(r.err);
            energy.push(r.energy);
        }
        if first.is_none() {
            first = Some(codec);
        }
    }
    let codec = first.ok_or_else(|| Error::InvalidPlan {
        field: "--replicates",
        reason: "must be at least 1".to_string(),
    })?;
    let asym_refs: Vec<&[f64]> = asym.iter().map(Vec::as_slice).collect();
    let inputs = PairInputs {
        truth: &truth.scores,
        prepared: Some(prepared),
        estimates: &asym_refs,
        n_base,
        skip: &p.split.query_self,
        k: plan.k,
        resamples: plan.resamples,
        seed: boot_seed,
        suffix: "",
    };
    let asym_m = pair_metrics_with_units(&inputs, true);
    // Each metric with the number of codec draws behind it.
    let mut metrics: Vec<(MetricValue, usize)> =
        asym_m.metrics.into_iter().map(|m| (m, draws)).collect();
    let mut units = asym_m.units;
    if !sym.is_empty() {
        let sym_refs: Vec<&[f64]> = sym.iter().map(Vec::as_slice).collect();
        let sym_m = pair_metrics_with_units(
            &PairInputs {
                estimates: &sym_refs,
                seed: boot_seed ^ 0x5359_4d4d,
                suffix: SYM_SUFFIX,
                ..inputs
            },
            false,
        );
        metrics.extend(sym_m.metrics.into_iter().map(|m| (m, sym.len())));
        units.extend(sym_m.units);
    }
    metrics.extend(asym_m.validity.into_iter().map(|m| (m, draws)));
    if !err.is_empty() && err.len() == draws {
        let (m, u) =
            recon_metric_with_units(&err, &energy, plan.resamples, boot_seed ^ 0x5245_434f);
        metrics.push((m, draws));
        units.push(u);
    }

    let items: Vec<f64> = instrument::units(p)
        .iter()
        .map(|&(q, j)| asym[0][q * n_base + j])
        .collect();
    // The same row context the probes use (one place builds a ResultRow from a codec).
    let ctx = RowContext {
        queries: p.split.queries.len(),
        ..RowContext::for_codec(
            codec.as_ref(),
            &p.pop.name,
            p.split.base.len(),
            p.pop.provenance.source_rows,
            &p.split_name,
            plan.seed,
        )
    };
    let rows = metrics
        .into_iter()
        .map(|(m, n)| {
            let mut r = ctx.row(m);
            r.draws = n;
            r
        })
        .collect();
    let total = clock.elapsed().as_secs_f64();
    Ok(Cell {
        codec: plan.probes.contains(&ProbeKind::Identity).then_some(codec),
        units: CellUnits {
            population: p.pop.name.clone(),
            codec: spec.to_string(),
            split: p.split_name.clone(),
            fingerprint: format!(
                "{} seed={} base={} queries={} train={} k={} sha256={}",
                p.split_name,
                p.seed,
                p.split.base.len(),
                p.split.queries.len(),
                p.split.train.len(),
                plan.k,
                p.pop.provenance.sha256.as_deref().unwrap_or("none")
            ),
            random_fit: spec.random_fit_on(p.split.train.len()),
            queries: p.split.queries.len(),
            draws,
            metrics: units,
        },
        rows,
        items,
        timing: StepTiming {
            step: format!("cell {} × {spec}", p.pop.name),
            seconds: total,
            fit_seconds: Some(fit_s),
            encode_seconds: Some(encode_s),
        },
    })
}

/// One codec cell computed by this invocation: its rows, its instrument items and how long it
/// took.
struct Cell {
    rows: Vec<ResultRow>,
    /// Per-query values behind the rows (`units/` in the run directory).
    units: CellUnits,
    items: Vec<f64>,
    timing: StepTiming,
    /// The fitted codec, kept when a probe of the run uses it (the identity probe).
    codec: Option<Arc<dyn Codec>>,
}
