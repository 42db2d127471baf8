//! `--resume`: finish an interrupted run from its directory alone — the plan from run.json, the
//! finished cells from results.jsonl, the probes' notes from run.json — after checking that the
//! run was written by a build of the same results format and that its populations still load
//! the same rows.

use super::output::lock_run_dir;
use super::prepare::load_all;
use super::runner::{RunOutcome, Target, run_in_pool};
use crate::budget::MemoryBudget;
use crate::error::{Error, Result};
use crate::pool::thread_pool;
use crate::report;
use crate::results::plan::PlanFile;
use crate::results::{ProbeNote, RESULTS_FORMAT, RowKind};
use std::path::Path;

/// Continue an interrupted run in `dir`: the plan comes from its `run.json`, finished cells
/// from its `results.jsonl`; only missing cells are computed. Because every cell's seeds derive
/// from the plan seed and the cell's names, the final results equal an uninterrupted run's.
pub fn resume(
    dir: &Path,
    threads: Option<usize>,
    memory_budget: MemoryBudget,
    progress: bool,
) -> Result<RunOutcome> {
    // `OUT/latest` names the run it points at: its parent (where `latest` is rewritten) is the
    // run's real parent, never the link's own directory.
    let dir = &std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    let bad = |reason: String| Error::BadRunDir {
        path: dir.to_path_buf(),
        reason,
    };
    let meta_path = dir.join("run.json");
    let text = std::fs::read_to_string(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
    let stored: StoredMeta = serde_json::from_str(&text)
        .map_err(|e| bad(format!("run.json is not a codecbench run: {e}")))?;
    let _lock = lock_run_dir(dir)?;
    // Temp files a killed writer left (unique names, so nothing overwrites them): with the lock
    // held no other process is writing here.
    for d in [dir.to_path_buf(), dir.join("units")] {
        remove_stale_temp_files(&d);
    }
    if stored.results_format != RESULTS_FORMAT {
        return Err(bad(format!(
            "it was written by a codecbench whose results format is {} (this one writes {}): its \
             cells were seeded and measured differently and cannot be mixed with new ones; rerun \
             its plan (plan.toml) instead of resuming",
            stored.results_format, RESULTS_FORMAT
        )));
    }
    let mut plan = stored
        .plan
        .into_plan()
        .map_err(|e| bad(format!("run.json plan: {e}")))?;
    if threads.is_some() {
        plan.threads = threads;
    }
    plan.progress = progress;
    plan.memory_budget = memory_budget;
    // The run directory's parent is where `latest` lives.
    plan.out = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    let results = dir.join("results.jsonl");
    let prior = match std::fs::read_to_string(&results) {
        Ok(t) => report::jsonl::parse(&t).map_err(|e| bad(format!("results.jsonl: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&results, e)),
    };
    let pool = thread_pool(plan.threads)?;
    // Probe notes are absent in run.json of builds before they existed: such a run's probes are
    // measured again (the same rows) so their report sections have their notes.
    let prior = match stored.probe_notes {
        Some(_) => prior,
        None => prior
            .into_iter()
            .filter(|r| !matches!(r.kind(), RowKind::Probe(_)))
            .collect(),
    };
    let target = Target {
        dir: dir.to_path_buf(),
        started: stored.started,
        prior,
        prior_notes: stored.probe_notes.unwrap_or_default(),
    };
    pool.install(|| {
        // The same populations must load as before: compare their provenance.
        let prepared = load_all(&plan)?;
        for (p, old) in prepared.iter().zip(&stored.populations) {
            if p.pop.provenance.sha256 != old.provenance.sha256 || p.pop.name != old.name {
                return Err(bad(format!(
                    "population '{}' changed since the run started (sha256 {:?} vs {:?})",
                    p.pop.name, p.pop.provenance.sha256, old.provenance.sha256
                )));
            }
        }
        run_in_pool(&plan, prepared, Some(target))
    })
}

fn format_one() -> u32 {
    1
}

/// What `resume` reads back from `run.json`.
#[derive(serde::Deserialize)]
struct StoredMeta {
    /// Absent in runs written before it existed (format 1).
    #[serde(default = "format_one")]
    results_format: u32,
    plan: PlanFile,
    /// Absent in run.json of builds before probe notes.
    #[serde(default)]
    probe_notes: Option<Vec<ProbeNote>>,
    started: String,
    populations: Vec<StoredPopulation>,
}

#[derive(serde::Deserialize)]
struct StoredPopulation {
    name: String,
    #[serde(default)]
    provenance: StoredProvenance,
}

#[derive(serde::Deserialize, Default)]
struct StoredProvenance {
    sha256: Option<String>,
}

/// Remove `.NAME.PID.N.tmp` files (see `atomic::unique_name`) from `dir`, if any.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") && e.path().is_file() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
