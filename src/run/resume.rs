//! `--resume`: finish an interrupted run from its directory alone — the plan from run.json, the
//! finished cells from results.jsonl (those that match their digests, see `journal`), the
//! probes' notes from run.json — after checking that the run was written by a build of the same
//! results format under the same plan, and that its populations still load the same rows.

use super::journal::verify;
use super::output::lock_run_dir;
use super::prepare::load_all;
use super::runner::{RunOutcome, Target, run_in_pool};
use crate::budget::MemoryBudget;
use crate::data::Provenance;
use crate::data::file::FileIdentity;
use crate::error::{Error, Result};
use crate::pool::thread_pool;
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
    let text = crate::input::read_to_string(&meta_path)?;
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
    // The rows of every unit that matches its digest; the rest is measured again.
    let mut prior = verify(dir, &plan)?;
    if let Some(w) = prior.warning(dir) {
        eprintln!("{w}");
    }
    let pool = thread_pool(plan.threads)?;
    // Probe notes are absent in run.json of builds before they existed: such a run's probes are
    // measured again (the same rows) so their report sections have their notes.
    if stored.probe_notes.is_none() {
        prior = prior.without(|r| matches!(r.kind(), RowKind::Probe(_)));
    }
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
            if let Some(change) = changed(&p.pop.provenance, &old.provenance) {
                return Err(bad(format!(
                    "population '{}' changed since the run started: {} {change}; resuming would \
                     mix cells of two different files, so rerun its plan (plan.toml) instead",
                    p.pop.name, p.pop.provenance.source
                )));
            }
            if p.pop.name != old.name {
                return Err(bad(format!(
                    "population '{}' is now '{}'",
                    old.name, p.pop.name
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
    /// Absent for small files and in run.json of builds before it existed (big files then
    /// resume unchecked, as they did).
    #[serde(default)]
    identity: Option<FileIdentity>,
}

/// How the population's file differs from the one the run started with, if it does: its
/// sha256 (files up to 512 MiB), else its size, modification time or sampled blocks.
fn changed(now: &Provenance, then: &StoredProvenance) -> Option<String> {
    if now.sha256 != then.sha256 {
        let show = |h: &Option<String>| h.clone().unwrap_or_else(|| "none".to_string());
        return Some(format!(
            "has sha256 {}, not {}",
            show(&now.sha256),
            show(&then.sha256)
        ));
    }
    let (Some(a), Some(b)) = (&now.identity, &then.identity) else {
        return None;
    };
    if a.size != b.size {
        Some(format!("has {} bytes, not {}", a.size, b.size))
    } else if a.modified_ns != b.modified_ns {
        Some("has another modification time".to_string())
    } else if a.sampled_sha256 != b.sampled_sha256 {
        Some("has other bytes in its sampled blocks (same size and modification time)".to_string())
    } else {
        None
    }
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
