//! The probes of a run: which probe calls a plan implies (the population probes once per
//! population, the chain twice), running them (the identity probe with the cells' own fitted
//! codecs), and gathering their rows and notes — a call that fails is noted and skipped without
//! losing the others.

use super::cells::fit_cell_codec;
use super::prepare::Prepared;
use crate::codec::{Codec, CodecSpec};
use crate::data::RowSelection;
use crate::data::catalog::stable_hash;
use crate::error::Result;
use crate::probe::chain::WeightKind;
use crate::probe::steps::identity_row;
use crate::probe::{ProbeOptions, ProbeOutput, probe_rows};
use crate::results::{Plan, ProbeKind, ProbeNote, StepTiming};
use indicatif::ProgressBar;
use std::sync::Arc;

/// Codecs (by name) the run's chain leaves out: their fits on the 12 k and up matrices took about
/// 40% of the chain's time (the standalone `codecbench probe chain` measures them).
const RUN_CHAIN_SLOW_FITS: &[&str] = &["itq"];

/// Codecs (by name) the run's chain also measures with every linear weight replaced.
const WHOLE_MODEL_CODECS: &[&str] = &[
    "exact", "f16", "bf16", "fp8", "int8", "int4", "sq", "tq-mse",
];

/// The probe options a plan implies: the plan's codecs, populations, seed and resamples, at the
/// probe defaults' sample sizes (or `ProbeOptions::quick` with `--quick`).
pub fn probe_options(plan: &Plan) -> ProbeOptions {
    let base = if plan.quick {
        ProbeOptions::quick()
    } else {
        ProbeOptions::default()
    };
    ProbeOptions {
        codecs: plan.codecs.clone(),
        populations: plan.populations.clone(),
        seed: plan.seed,
        resamples: plan.resamples,
        memory_budget: plan.memory_budget,
        ..base
    }
}

/// One probe call of a run.
pub struct ProbeCall {
    /// Which probe.
    pub kind: ProbeKind,
    /// What it is, for the progress bar, warnings and timings.
    what: String,
    opts: ProbeOptions,
    /// The population it measures (population probes) in the plan's order.
    population: usize,
    /// Plan codecs this call leaves out, with the reason.
    left_out: Option<String>,
}

/// A probe call's output (or why it could not run) and its time.
pub type ProbeOutcome = (Result<ProbeOutput>, StepTiming);

/// The plan's probe calls: the population probes once per population, so one population a
/// probe cannot measure (too few rows, MiniLM not fetched) is reported and skipped without
/// losing the rest; the chain twice — every codec with the k and up weights replaced (plus
/// attention fidelity and the score chain), then the whole model (every linear weight) for the
/// float, absmax, SQ and TurboQuant-MSE codecs only (fitting trained or palette codecs on all
/// 36 matrices, the 1536-wide down projections included, takes minutes each).
pub fn probe_calls(plan: &Plan) -> Vec<ProbeCall> {
    let opts = probe_options(plan);
    let mut calls = Vec::new();
    for &kind in &plan.probes {
        if kind == ProbeKind::Chain {
            let mut o = opts.clone();
            o.weights = vec![WeightKind::K, WeightKind::Up];
            let (kept, slow): (Vec<CodecSpec>, Vec<CodecSpec>) = plan
                .codecs
                .iter()
                .cloned()
                .partition(|c| !RUN_CHAIN_SLOW_FITS.contains(&c.name()));
            o.codecs = kept;
            let left_out = (!slow.is_empty()).then(|| {
                let names: Vec<String> = slow.iter().map(ToString::to_string).collect();
                format!(
                    "Left out of the run's chain to keep the default run within 3 minutes (fitting ITQ on the 12 k and up matrices, 50 Procrustes iterations at c = d each, took about 40% of the chain's time); `codecbench probe chain --weights k --weights up -c SPEC` measures them: {}",
                    names.join(", ")
                )
            });
            calls.push(ProbeCall {
                kind,
                what: "probe chain (weights k, up)".to_string(),
                opts: o,
                population: 0,
                left_out,
            });
            let whole: Vec<CodecSpec> = plan
                .codecs
                .iter()
                .filter(|c| WHOLE_MODEL_CODECS.contains(&c.name()))
                .cloned()
                .collect();
            if !whole.is_empty() {
                let mut o = opts.clone();
                o.weights = vec![WeightKind::All];
                o.codecs = whole;
                o.chain_diagnostics = false;
                calls.push(ProbeCall {
                    kind,
                    what: "probe chain (all weights)".to_string(),
                    opts: o,
                    population: 0,
                    left_out: None,
                });
            }
        } else {
            for (i, spec) in plan.populations.iter().enumerate() {
                let mut o = opts.clone();
                o.populations = vec![spec.clone()];
                calls.push(ProbeCall {
                    kind,
                    what: format!("probe {} on {spec}", kind.name()),
                    opts: o,
                    population: i,
                    left_out: None,
                });
            }
        }
    }
    calls
}

/// Run one probe call (the identity probe with the cells' fitted codecs in `fitted`).
pub fn run_probe_call(
    plan: &Plan,
    call: &ProbeCall,
    bar: &ProgressBar,
    prepared: &[Prepared],
    fitted: &[Vec<Option<Arc<dyn Codec>>>],
) -> ProbeOutcome {
    bar.set_message(call.what.clone());
    let clock = std::time::Instant::now();
    let out = match (call.kind, prepared.get(call.population)) {
        (ProbeKind::Identity, Some(p)) => identity_in_run(
            plan,
            &call.opts,
            p,
            fitted.get(call.population).map_or(&[], Vec::as_slice),
        ),
        _ => probe_rows(call.kind, &call.opts).map(|mut out| {
            if let Some(what) = &call.left_out {
                out.notes.push(ProbeNote::LeftOut {
                    probe: call.kind,
                    what: what.clone(),
                });
            }
            out
        }),
    };
    (out, StepTiming::of(call.what.clone(), clock))
}

/// The probes' rows and notes (in the calls' order; a call that failed becomes a `NotRun` note
/// and a warning, except a step over the memory budget, which stops the run) and timings.
pub fn assemble_probes(
    calls: &[ProbeCall],
    outcomes: Vec<ProbeOutcome>,
    bar: &ProgressBar,
) -> Result<(ProbeOutput, Vec<StepTiming>)> {
    let mut all = ProbeOutput::default();
    let mut timings = Vec::new();
    for (call, (out, timing)) in calls.iter().zip(outcomes) {
        match out {
            Ok(o) => all.extend(o),
            Err(e) if e.is_over_budget() => return Err(e),
            Err(e) => {
                let what = format!("{}: skipped: {e}", call.what);
                bar.suspend(|| eprintln!("warning: {what}"));
                all.notes.push(ProbeNote::NotRun { what });
            }
        }
        timings.push(timing);
    }
    Ok((all, timings))
}

/// The identity probe of a run on one population: each cell's own fitted codec (fitted again,
/// identically, where a resumed run reused the cell's rows), the population's rows (a seeded
/// sample of the probe's `rows` when there are more) encoded, the probe's query sample.
fn identity_in_run(
    plan: &Plan,
    opts: &ProbeOptions,
    p: &Prepared,
    fitted: &[Option<Arc<dyn Codec>>],
) -> Result<ProbeOutput> {
    // At most the probe's row count (a seeded sample, in population order), as the standalone
    // probe loads it: the identity search is all rows × the query sample per codec.
    let sampled;
    let pool = if p.pop.rows.len() > opts.rows {
        let mut idx = RowSelection::Sample {
            count: opts.rows,
            seed: opts.seed ^ stable_hash(&format!("identity rows:{}", p.pop.name)),
        }
        .resolve(p.pop.rows.len());
        idx.sort_unstable();
        sampled = p.pop.rows.select(&idx);
        &sampled
    } else {
        &p.pop.rows
    };
    let mut out = ProbeOutput::default();
    for (i, spec) in plan.codecs.iter().enumerate() {
        let codec = match fitted.get(i).cloned().flatten() {
            Some(c) => c,
            None => fit_cell_codec(plan, p, spec)?,
        };
        out.rows
            .push(identity_row(opts, &p.pop.name, pool, spec, codec.as_ref()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::MemoryBudget;
    use crate::error::Error;

    /// A probe call that failed for the memory budget stops the run; any other failure becomes
    /// a "not run" note (the budget must never silently decide which rows a run has).
    #[test]
    fn a_probe_over_the_budget_stops_the_run_and_others_become_notes() {
        let plan = Plan {
            populations: vec![
                crate::data::catalog::PopulationSpec::parse("gaussian:n=300,d=8").unwrap(),
            ],
            probes: vec![ProbeKind::Family, ProbeKind::Spiral],
            ..Plan::default()
        };
        let calls = probe_calls(&plan);
        assert_eq!(calls.len(), 2);
        let timing = || StepTiming::of("t".to_string(), std::time::Instant::now());
        let over = || Error::FitOverBudget {
            codec: "tq-mse".to_string(),
            rows: 10,
            dim: 8,
            needed: 1 << 40,
            budget: MemoryBudget::bytes(1 << 20),
            hint: String::new(),
        };
        let other = || Error::Unsupported {
            codec: "x".to_string(),
            operation: "decode",
        };
        let bar = ProgressBar::hidden();
        let outcomes: Vec<ProbeOutcome> = vec![(Err(other()), timing()), (Err(over()), timing())];
        assert!(matches!(
            assemble_probes(&calls, outcomes, &bar),
            Err(Error::FitOverBudget { .. })
        ));
        let outcomes: Vec<ProbeOutcome> = vec![
            (Err(other()), timing()),
            (Ok(ProbeOutput::default()), timing()),
        ];
        let (out, _) = assemble_probes(&calls, outcomes, &bar).unwrap();
        assert!(matches!(out.notes.as_slice(), [ProbeNote::NotRun { .. }]));
    }
}
