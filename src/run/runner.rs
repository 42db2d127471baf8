//! The runner: plan → populations → cells (and probes, concurrently) → result rows, appended to
//! the run's journal as each cell finishes → run.json and the reports. All randomness comes from the plan's seed
//! through stable per-population and per-cell seeds, so results do not depend on thread count.

use super::cells::{PopulationDone, check_fits, population_cells};
use super::journal::{Journal, Verified};
use super::output::{create_run_dir, lock_run_dir, update_latest, write_atomic, write_meta};
use super::prepare::{Prepared, info, load_all};
use super::probes::{ProbeOutcome, assemble_probes, probe_calls, run_probe_call};
use crate::codec::Codec;
use crate::error::Result;
use crate::hypothesis;
use crate::pool::thread_pool;
use crate::report;
use crate::results::{
    Plan, ProbeKind, ProbeNote, RESULTS_FORMAT, ResultRow, RowKind, RunMeta, StepTiming, VERSION,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run directory.
    pub dir: PathBuf,
    /// Every result row.
    pub rows: Vec<ResultRow>,
    /// The run's metadata.
    pub meta: RunMeta,
}

/// Run a plan to completion.
pub fn run(plan: &Plan) -> Result<RunOutcome> {
    plan.validate()?;
    thread_pool(plan.threads)?.install(|| run_in_pool(plan, load_all(plan)?, None))
}

/// Where a run writes and what it already has (for `--resume`).
pub struct Target {
    /// The run directory.
    pub dir: PathBuf,
    /// When the run first started.
    pub started: String,
    /// Rows already in results.jsonl that matched their digests (and their lines).
    pub prior: Verified,
    /// Probe notes already in run.json.
    pub prior_notes: Vec<ProbeNote>,
}

/// Run (or finish) the cells, probes and hypotheses of `plan` into a run directory.
pub fn run_in_pool(
    plan: &Plan,
    prepared: Vec<Prepared>,
    resume: Option<Target>,
) -> Result<RunOutcome> {
    check_fits(plan, &prepared)?;
    let mut _lock = None;
    let target = match resume {
        // `resume` holds the directory's lock already.
        Some(t) => t,
        None => {
            let now = chrono::Utc::now();
            let dir = create_run_dir(&plan.out, &now.format("%Y%m%d-%H%M%S").to_string())?;
            _lock = Some(lock_run_dir(&dir)?);
            Target {
                dir,
                started: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                prior: Verified::default(),
                prior_notes: Vec::new(),
            }
        }
    };
    let dir = target.dir;
    // Probes and the hypothesis matrix come after the codec cells. Probe rows are written all
    // at once when every probe call has finished, so a resumed run that has any probe row has
    // all of them (and their notes in run.json): it reuses them, else it runs every probe.
    let prior_probe: Vec<ResultRow> = target
        .prior
        .rows
        .iter()
        .filter(|r| matches!(r.kind(), RowKind::Probe(_)))
        .cloned()
        .collect();
    let reuse_probes = !prior_probe.is_empty();
    let mut meta = RunMeta {
        codecbench_version: VERSION.to_string(),
        results_format: RESULTS_FORMAT,
        plan: plan.clone(),
        started: target.started,
        populations: prepared.iter().map(info).collect(),
        status: "running".to_string(),
        wall_seconds: 0.0,
        timings: Vec::new(),
        // A resume that reuses the probe rows keeps their notes from the first write on, so a
        // resume killed before its end leaves run.json with rows and notes together.
        probe_notes: if reuse_probes {
            target.prior_notes
        } else {
            Vec::new()
        },
    };
    if let Some(fewer) = report::fewer_queries_sentence(&meta) {
        eprintln!("note: {fewer}");
    }
    let run_clock = std::time::Instant::now();
    let mut timings: Vec<StepTiming> = Vec::new();
    write_meta(&dir, &meta)?;
    write_atomic(&dir.join("plan.toml"), plan.to_toml().as_bytes())?;
    let journal = Journal::start(&dir, plan, &target.prior)?;
    let prior = target.prior.rows;

    let total = (prepared.len() * plan.codecs.len()) as u64;
    let bar = if plan.progress {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} cells  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let calls = if plan.probes.is_empty() || reuse_probes {
        Vec::new()
    } else {
        probe_calls(plan)
    };
    // The codec cells of every population and the probes that need no fitted codec run
    // concurrently (every seed derives from names, so results do not depend on scheduling).
    let (cells, early) = rayon::join(
        || -> Result<Vec<PopulationDone>> {
            prepared
                .par_iter()
                .map(|p| population_cells(plan, p, &prior, &journal, &dir, &bar))
                .collect()
        },
        || -> Vec<Option<ProbeOutcome>> {
            calls
                .par_iter()
                .map(|c| {
                    (c.kind != ProbeKind::Identity).then(|| run_probe_call(plan, c, &bar, &[], &[]))
                })
                .collect()
        },
    );
    let cells = cells?;
    let mut rows: Vec<ResultRow> = Vec::new();
    let mut fitted: Vec<Vec<Option<Arc<dyn Codec>>>> = Vec::with_capacity(cells.len());
    for c in cells {
        rows.extend(c.rows);
        timings.extend(c.timings);
        fitted.push(c.fitted);
    }

    if !plan.probes.is_empty() {
        if reuse_probes {
            rows.extend(prior_probe);
        } else {
            // The identity probe uses the cells' fitted codecs: it runs now.
            let outcomes: Vec<ProbeOutcome> = calls
                .par_iter()
                .zip(early)
                .map(|(c, e)| {
                    e.unwrap_or_else(|| run_probe_call(plan, c, &bar, &prepared, &fitted))
                })
                .collect();
            let (probed, probe_timings) = assemble_probes(&calls, outcomes, &bar)?;
            timings.extend(probe_timings);
            meta.probe_notes = probed.notes;
            // The notes first: results.jsonl with probe rows always has them beside it.
            write_meta(&dir, &meta)?;
            journal.append(&probed.rows)?;
            rows.extend(probed.rows);
        }
        bar.set_message("hypothesis matrix");
        let reg = hypothesis::Registry::builtin();
        let matrix = hypothesis::evaluate(&reg, &rows);
        let via = hypothesis::viability(&reg, &rows);
        rows.extend(hypothesis::to_rows(&matrix, &via, plan.seed));
    }
    // The whole run in plan order (each unit's lines unchanged, so the digests still hold).
    journal.rewrite(&rows)?;
    bar.finish_and_clear();
    meta.status = "complete".to_string();
    meta.wall_seconds = run_clock.elapsed().as_secs_f64();
    meta.timings = timings;
    write_meta(&dir, &meta)?;
    write_atomic(
        &dir.join("report.md"),
        report::run_markdown(&meta, &rows).as_bytes(),
    )?;
    let html = report::html::render(&meta, &rows);
    write_atomic(&dir.join("report.html"), html.as_bytes())?;
    if !update_latest(&plan.out, &dir)? {
        eprintln!(
            "warning: {} is not a link codecbench made: left as it is (the run is in {})",
            plan.out.join("latest").display(),
            dir.display()
        );
    }
    Ok(RunOutcome { dir, rows, meta })
}
