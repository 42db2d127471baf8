//! The runner: plan → populations → split → truth → (fit, encode, probe, metrics) per codec →
//! result rows, rewritten to disk after every cell. All randomness comes from the plan's seed
//! through stable per-population and per-cell seeds, so results do not depend on thread count.

use super::output::{create_run_dir, update_latest, write_atomic};
use super::plan::{Plan, SplitChoice};
use super::result::ResultRow;
use super::seeds;
use super::units::CellUnits;
use crate::codec::{Codec, CodecSpec};
use crate::data::catalog::{LoadOptions, PopulationSpec, stable_hash};
use crate::data::population::PopulationKind;
use crate::data::{Population, Provenance, RowSelection, Rows};
use crate::error::{Error, Result};
use crate::hypothesis;
use crate::metric::reliability::bench::{InstrumentOptions, Rule, instrument};
use crate::metric::suite::{
    MetricValue, PairInputs, QueryTruth, SYM_SUFFIX, pair_metrics_with_units, prepare_truth,
    recon_metric_with_units,
};
use crate::probe::chain::WeightKind;
use crate::probe::command::{
    IDENTITY_HEADER, ProbeKind, ProbeOptions, RowContext, identity_row, probe_rows,
};
use crate::probe::pairs::{run_pairs, run_pairs_with, run_recon};
use crate::probe::{Split, Truth};
use crate::report;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The crate version written into every result.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a report says about one population.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PopulationInfo {
    /// Name used in results.
    pub name: String,
    /// Weight rows or embeddings.
    pub kind: PopulationKind,
    /// Rows after validation.
    pub rows: usize,
    /// Dimension.
    pub dim: usize,
    /// Split used by the pair probe.
    pub split: String,
    /// Base rows.
    pub base_rows: usize,
    /// Queries.
    pub queries: usize,
    /// Where the rows came from.
    pub provenance: Provenance,
}

/// How this build seeds and measures cells (written to run.json as `results_format`):
/// `--resume` finishes only runs of the same format, since cells of another would be mixed with
/// cells seeded and pooled differently. 2 = codec draws seeded from the codec's identity and
/// `--codec-seed`, crossed bootstrap over draws, tie-aware rank metrics, per-query ICC (no
/// `results_format` in run.json = 1).
pub const RESULTS_FORMAT: u32 = 2;

/// Facts about a run that every report header shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunMeta {
    /// codecbench version.
    pub codecbench_version: String,
    /// [`RESULTS_FORMAT`] of the build that wrote the run.
    pub results_format: u32,
    /// The plan as run.
    pub plan: Plan,
    /// UTC start time (RFC 3339); not part of results.jsonl, which stays byte-identical.
    pub started: String,
    /// Populations.
    pub populations: Vec<PopulationInfo>,
    /// `running`, or `complete` once every cell is done.
    pub status: String,
    /// Wall-clock seconds of the whole run (this invocation; a resumed run counts only the
    /// resumed part).
    pub wall_seconds: f64,
    /// Where the time went: every cell and probe call this invocation computed.
    pub timings: Vec<StepTiming>,
}

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

struct Prepared {
    pop: Population,
    split: Split,
    seed: u64,
    /// `split_label(&split)`, computed once.
    split_name: String,
}

/// Run a plan to completion.
pub fn run(plan: &Plan) -> Result<RunOutcome> {
    plan.validate()?;
    pool(plan.threads)?.install(|| run_in_pool(plan, load_all(plan)?, None))
}

fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    builder.build().map_err(|e| Error::InvalidPlan {
        field: "--threads",
        reason: e.to_string(),
    })
}

/// What loading options a plan implies.
pub fn load_options(plan: &Plan) -> LoadOptions {
    LoadOptions {
        max_rows: plan.max_rows,
        seed: plan.seed,
        nonfinite: plan.nonfinite,
    }
}

/// Load one population and split it as every run does: the one recipe (`export` uses it too,
/// so exported splits are exactly what runs measure). `queries` = the loaded `--query-file`.
pub fn prepare_population(
    plan: &Plan,
    spec: &PopulationSpec,
    queries: Option<(&str, &Rows)>,
) -> Result<(Population, Split, u64)> {
    let kind = match plan.split {
        SplitChoice::Auto => spec.default_kind(),
        SplitChoice::SelfPairs => PopulationKind::Weight,
        SplitChoice::HeldOut => PopulationKind::Embedding,
    };
    let pop = spec.load(kind, &load_options(plan))?;
    let seed = plan.seed ^ stable_hash(&pop.name);
    let split = match (queries, kind) {
        (Some((qname, q)), _) => {
            if q.dim() != pop.rows.dim() {
                return Err(Error::DimensionMismatch {
                    source_name: qname.to_string(),
                    population: pop.name.clone(),
                    query_dims: q.dim(),
                    dims: pop.rows.dim(),
                });
            }
            Split::query_file(&pop.rows, q, plan.queries, seed)
        }
        (None, PopulationKind::Weight) => Split::self_pairs(&pop.rows, plan.queries, seed),
        (None, PopulationKind::Embedding) => Split::held_out(&pop.rows, plan.queries, seed),
    };
    Ok((pop, split, seed))
}

fn load_all(plan: &Plan) -> Result<Vec<Prepared>> {
    let queries: Option<(String, Rows)> = match &plan.query_file {
        Some(spec) => {
            let q = spec.load(PopulationKind::Embedding, &load_options(plan))?;
            Some((q.name, q.rows))
        }
        None => None,
    };
    let mut out = Vec::with_capacity(plan.populations.len());
    for spec in &plan.populations {
        let q = queries.as_ref().map(|(n, r)| (n.as_str(), r));
        let (pop, split, seed) = prepare_population(plan, spec, q)?;
        if plan.k > split.candidates() {
            return Err(Error::KTooLarge {
                k: plan.k,
                base: split.candidates(),
                population: pop.name.clone(),
            });
        }
        let split_name = split_label(&split);
        out.push(Prepared {
            pop,
            split,
            seed,
            split_name,
        });
    }
    Ok(out)
}

/// The split's name as results record it (`self-pairs`, `held-out`, `query-file`).
fn split_label(split: &Split) -> String {
    serde_json::to_value(split.mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn info(p: &Prepared) -> PopulationInfo {
    PopulationInfo {
        name: p.pop.name.clone(),
        kind: p.pop.kind,
        rows: p.pop.rows.len(),
        dim: p.pop.rows.dim(),
        split: p.split_name.clone(),
        base_rows: p.split.base.len(),
        queries: p.split.queries.len(),
        provenance: p.pop.provenance.clone(),
    }
}

/// Where a run writes and what it already has (for `--resume`).
struct Target {
    dir: PathBuf,
    started: String,
    prior: Vec<ResultRow>,
}

fn run_in_pool(plan: &Plan, prepared: Vec<Prepared>, resume: Option<Target>) -> Result<RunOutcome> {
    let target = match resume {
        Some(t) => t,
        None => {
            let now = chrono::Utc::now();
            Target {
                dir: create_run_dir(&plan.out, &now.format("%Y%m%d-%H%M%S").to_string())?,
                started: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                prior: Vec::new(),
            }
        }
    };
    let dir = target.dir;
    let mut meta = RunMeta {
        codecbench_version: VERSION.to_string(),
        results_format: RESULTS_FORMAT,
        plan: plan.clone(),
        started: target.started,
        populations: prepared.iter().map(info).collect(),
        status: "running".to_string(),
        wall_seconds: 0.0,
        timings: Vec::new(),
    };
    let run_clock = std::time::Instant::now();
    let mut timings: Vec<StepTiming> = Vec::new();
    write_meta(&dir, &meta)?;
    write_atomic(&dir.join("plan.toml"), plan.to_toml().as_bytes())?;

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

    // Probes and the hypothesis matrix come after the codec cells; their rows carry the
    // probe's name in `split`, so the per-population tables and `--resume` tell them apart. A
    // resumed run reuses finished probes (with their Markdown) or recomputes all of them.
    let prior_probe: Vec<ResultRow> = target
        .prior
        .iter()
        .filter(|r| r.is_probe() && r.split != VERDICT_SPLIT)
        .cloned()
        .collect();
    let stored_md = std::fs::read_to_string(dir.join(PROBES_MD)).ok();
    let reuse_probes = stored_md.is_some() && !prior_probe.is_empty();
    let calls = if plan.probes.is_empty() || reuse_probes {
        Vec::new()
    } else {
        probe_calls(plan)
    };
    // The codec cells of every population and the probes that need no fitted codec run
    // concurrently (every seed derives from names, so results do not depend on scheduling).
    let board = Board::new(prepared.len(), plan.codecs.len());
    let (cells, early) = rayon::join(
        || -> Result<Vec<PopulationDone>> {
            prepared
                .par_iter()
                .enumerate()
                .map(|(pi, p)| population_cells(plan, p, pi, &target.prior, &board, &dir, &bar))
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
    write_results(&dir, &rows)?;

    let mut probe_md = String::new();
    if !plan.probes.is_empty() {
        if reuse_probes {
            rows.extend(prior_probe);
            probe_md = stored_md.unwrap_or_default();
        } else {
            // The identity probe uses the cells' fitted codecs: it runs now.
            let outcomes: Vec<ProbeOutcome> = calls
                .par_iter()
                .zip(early)
                .map(|(c, e)| {
                    e.unwrap_or_else(|| run_probe_call(plan, c, &bar, &prepared, &fitted))
                })
                .collect();
            let (probe_rows, text, probe_timings) = assemble_probes(&calls, outcomes, &bar);
            timings.extend(probe_timings);
            rows.extend(probe_rows);
            probe_md = text;
            write_results(&dir, &rows)?;
            write_atomic(&dir.join(PROBES_MD), probe_md.as_bytes())?;
        }
        bar.set_message("hypothesis matrix");
        let reg = hypothesis::Registry::builtin();
        let matrix = hypothesis::evaluate(&reg, &rows);
        let via = hypothesis::viability(&reg, &rows);
        probe_md.push('\n');
        probe_md.push_str(&hypothesis::render_markdown(&reg, &matrix, &via));
        rows.extend(hypothesis::to_rows(&matrix, &via, plan.seed));
        write_results(&dir, &rows)?;
    }
    bar.finish_and_clear();
    meta.status = "complete".to_string();
    meta.wall_seconds = run_clock.elapsed().as_secs_f64();
    meta.timings = timings;
    write_meta(&dir, &meta)?;
    let cells: Vec<ResultRow> = rows.iter().filter(|r| !r.is_probe()).cloned().collect();
    let mut md = report::markdown::render(&meta, &cells);
    if !probe_md.is_empty() {
        md.push_str("\n# Probes and hypotheses\n\n");
        md.push_str(&probe_md);
    }
    write_atomic(&dir.join("report.md"), md.as_bytes())?;
    let html = report::html::render(&meta, &rows);
    write_atomic(&dir.join("report.html"), html.as_bytes())?;
    update_latest(&plan.out, &dir)?;
    Ok(RunOutcome { dir, rows, meta })
}

/// Continue an interrupted run in `dir`: the plan comes from its `run.json`, finished cells
/// from its `results.jsonl`; only missing cells are computed. Because every cell's seeds derive
/// from the plan seed and the cell's names, the final results equal an uninterrupted run's.
pub fn resume(dir: &Path, threads: Option<usize>, progress: bool) -> Result<RunOutcome> {
    let bad = |reason: String| Error::BadRunDir {
        path: dir.to_path_buf(),
        reason,
    };
    let meta_path = dir.join("run.json");
    let text = std::fs::read_to_string(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
    let stored: StoredMeta = serde_json::from_str(&text)
        .map_err(|e| bad(format!("run.json is not a codecbench run: {e}")))?;
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
    // The run directory's parent is where `latest` lives.
    plan.out = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    let results = dir.join("results.jsonl");
    let prior = match std::fs::read_to_string(&results) {
        Ok(t) => report::jsonl::parse(&t).map_err(|e| bad(format!("results.jsonl: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&results, e)),
    };
    let pool = pool(plan.threads)?;
    let target = Target {
        dir: dir.to_path_buf(),
        started: stored.started,
        prior,
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
    plan: super::plan::PlanFile,
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

fn write_meta(dir: &std::path::Path, meta: &RunMeta) -> Result<()> {
    let json = serde_json::to_string_pretty(meta).map_err(|e| Error::Write {
        path: dir.join("run.json"),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&dir.join("run.json"), json.as_bytes())
}

/// Rewrite both result files. The CSV goes first, so whenever results.jsonl (what `--resume`
/// reads) holds N cells, results.csv holds at least those N.
fn write_results(dir: &std::path::Path, rows: &[ResultRow]) -> Result<()> {
    let csv = report::csv::render(rows).map_err(|e| Error::Write {
        path: dir.join("results.csv"),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&dir.join("results.csv"), csv.as_bytes())?;
    write_atomic(
        &dir.join("results.jsonl"),
        report::jsonl::render(rows).as_bytes(),
    )
}

/// What has finished so far, so the result files can be rewritten after every cell with every
/// finished cell in plan order (populations in order, each one's cells then its instrument
/// block), whichever order concurrent cells finish in.
struct Board {
    cells: Vec<Vec<Mutex<Option<Vec<ResultRow>>>>>,
    instruments: Vec<Mutex<Option<Vec<ResultRow>>>>,
    write: Mutex<()>,
}

impl Board {
    fn new(populations: usize, codecs: usize) -> Self {
        Board {
            cells: (0..populations)
                .map(|_| (0..codecs).map(|_| Mutex::new(None)).collect())
                .collect(),
            instruments: (0..populations).map(|_| Mutex::new(None)).collect(),
            write: Mutex::new(()),
        }
    }

    fn set_cell(&self, pop: usize, codec: usize, rows: &[ResultRow]) {
        if let Ok(mut g) = self.cells[pop][codec].lock() {
            *g = Some(rows.to_vec());
        }
    }

    fn set_instrument(&self, pop: usize, rows: &[ResultRow]) {
        if let Ok(mut g) = self.instruments[pop].lock() {
            *g = Some(rows.to_vec());
        }
    }

    /// Rewrite the result files with everything finished.
    fn write(&self, dir: &Path) -> Result<()> {
        let _guard = self.write.lock();
        let mut all = Vec::new();
        let take = |m: &Mutex<Option<Vec<ResultRow>>>, all: &mut Vec<ResultRow>| {
            if let Ok(g) = m.lock()
                && let Some(r) = g.as_ref()
            {
                all.extend(r.iter().cloned());
            }
        };
        for (cells, instrument) in self.cells.iter().zip(&self.instruments) {
            for c in cells {
                take(c, &mut all);
            }
            take(instrument, &mut all);
        }
        write_results(dir, &all)
    }
}

/// One population's finished cells and instrument block.
struct PopulationDone {
    rows: Vec<ResultRow>,
    fitted: Vec<Option<Arc<dyn Codec>>>,
    timings: Vec<StepTiming>,
}

/// The codec cells of one population (those `prior` lacks, concurrently), then its instrument
/// block (reliability of the codecs as items).
fn population_cells(
    plan: &Plan,
    p: &Prepared,
    pi: usize,
    prior: &[ResultRow],
    board: &Board,
    dir: &Path,
    bar: &ProgressBar,
) -> Result<PopulationDone> {
    let done = |spec: &CodecSpec| -> Vec<ResultRow> {
        let codec = spec.to_string();
        prior
            .iter()
            .filter(|r| {
                r.population == p.pop.name
                    && r.codec == codec
                    && !is_instrument_row(r)
                    && !r.is_probe()
            })
            .cloned()
            .collect()
    };
    let finished: Vec<Vec<ResultRow>> = plan.codecs.iter().map(done).collect();
    for (ci, f) in finished.iter().enumerate() {
        if !f.is_empty() {
            board.set_cell(pi, ci, f);
            bar.inc(1);
        }
    }
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
                board.set_cell(pi, ci, &cell.rows);
                board.write(dir)?;
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
        .filter(|r| r.population == p.pop.name && is_instrument_row(r) && !r.is_probe())
        .cloned()
        .collect();
    if !prior_block.is_empty() {
        board.set_instrument(pi, &prior_block);
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
        let block = instrument_rows(plan, p, &t, &full, &rows);
        board.set_instrument(pi, &block);
        board.write(dir)?;
        rows.extend(block);
        timings.push(StepTiming::of(format!("instrument {}", p.pop.name), clock));
    }
    Ok(PopulationDone {
        rows,
        fitted,
        timings,
    })
}

/// The codec of one cell's first draw: fitted on the split's training rows with that draw's
/// seed (the same codec whenever it is fitted again, e.g. for a resumed run's probes).
fn fit_cell_codec(plan: &Plan, p: &Prepared, spec: &CodecSpec) -> Result<Arc<dyn Codec>> {
    fit_draw(plan, p, spec, 0)
}

/// Draw `draw` of a cell's codec.
fn fit_draw(plan: &Plan, p: &Prepared, spec: &CodecSpec, draw: usize) -> Result<Arc<dyn Codec>> {
    let seed = seeds::codec_draw_seed(plan.codec_seed_base(), &p.pop.name, spec, draw);
    Ok(Arc::from(spec.fit(&p.split.train, seed)?))
}

/// A cell's instrument items (its first draw's estimates at the instrument units), for a
/// resumed run whose cell rows were reused but whose instrument block was not written.
fn cell_items(plan: &Plan, p: &Prepared, spec: &CodecSpec) -> Result<Vec<f64>> {
    let codec = fit_cell_codec(plan, p, spec)?;
    let codes = codec.encode_all(&p.split.base);
    let outcome = run_pairs(codec.as_ref(), &p.split, &codes)?;
    Ok(instrument_units(p)
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

    let items: Vec<f64> = instrument_units(p)
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

/// Wall-clock time of one step of a run (a codec cell, a probe call), kept in run.json so a
/// user can see where a run's time went. Timings never enter results.jsonl.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepTiming {
    /// What ran: `cell POPULATION × CODEC`, `probe …`, `instrument POPULATION`.
    pub step: String,
    /// Seconds of wall-clock time (concurrent steps overlap).
    pub seconds: f64,
    /// Of which fitting the codec (cells only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit_seconds: Option<f64>,
    /// Of which encoding the base rows (cells only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encode_seconds: Option<f64>,
}

impl StepTiming {
    fn of(step: String, clock: std::time::Instant) -> Self {
        StepTiming {
            step,
            seconds: clock.elapsed().as_secs_f64(),
            fit_seconds: None,
            encode_seconds: None,
        }
    }
}

/// The Markdown sections of a run's probes, kept beside results.jsonl so `--resume` can reuse
/// finished probes with their text.
const PROBES_MD: &str = "probes.md";

/// `split` of the hypothesis verdict rows (recomputed from the rows on every completion).
const VERDICT_SPLIT: &str = "verdict";

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
        threads: plan.threads,
        ..base
    }
}

/// One probe call of a run.
struct ProbeCall {
    kind: ProbeKind,
    /// What it is, for the progress bar, warnings and timings.
    what: String,
    opts: ProbeOptions,
    /// The population it measures (population probes) in the plan's order.
    population: usize,
    /// Plan codecs this call leaves out, with the reason (added to its Markdown).
    left_out: Option<String>,
}

/// A probe call's rows and Markdown (or why it could not run) and its time.
type ProbeOutcome = (Result<(Vec<ResultRow>, String)>, StepTiming);

/// The plan's probe calls: the population probes once per population, so one population a
/// probe cannot measure (too few rows, MiniLM not fetched) is reported and skipped without
/// losing the rest; the chain twice — every codec with the k and up weights replaced (plus
/// attention fidelity and the score chain), then the whole model (every linear weight) for the
/// float, absmax, SQ and TurboQuant-MSE codecs only (fitting trained or palette codecs on all
/// 36 matrices, the 1536-wide down projections included, takes minutes each).
fn probe_calls(plan: &Plan) -> Vec<ProbeCall> {
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
                    "\nLeft out of the run's chain to keep the default run within 3 minutes (fitting ITQ on the 12 k and up matrices, 50 Procrustes iterations at c = d each, took about 40% of the chain's time); `codecbench probe chain --weights k --weights up -c SPEC` measures them: {}\n",
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
fn run_probe_call(
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
        _ => probe_rows(call.kind, &call.opts).map(|(rows, mut md)| {
            if let Some(note) = &call.left_out {
                md.push_str(note);
            }
            (rows, md)
        }),
    };
    (out, StepTiming::of(call.what.clone(), clock))
}

/// The probes' rows, Markdown sections (in the calls' order, with "Probes not run" listing the
/// calls that failed and why) and timings.
fn assemble_probes(
    calls: &[ProbeCall],
    outcomes: Vec<ProbeOutcome>,
    bar: &ProgressBar,
) -> (Vec<ResultRow>, String, Vec<StepTiming>) {
    let mut rows = Vec::new();
    let mut md = String::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut timings = Vec::new();
    for (call, (out, timing)) in calls.iter().zip(outcomes) {
        match out {
            Ok((r, text)) => {
                rows.extend(r);
                md.push_str(&text);
            }
            Err(e) => {
                let line = format!("{}: skipped: {e}", call.what);
                bar.suspend(|| eprintln!("warning: {line}"));
                skipped.push(line);
            }
        }
        timings.push(timing);
    }
    if !skipped.is_empty() {
        md.push_str("\n## Probes not run\n\n");
        for s in &skipped {
            md.push_str(&format!("- {s}\n"));
        }
    }
    (rows, md, timings)
}

/// The identity probe of a run on one population: each cell's own fitted codec (fitted again,
/// identically, where a resumed run reused the cell's rows), the population's rows (a seeded
/// sample of the probe's `rows` when there are more) encoded, the probe's query sample.
fn identity_in_run(
    plan: &Plan,
    opts: &ProbeOptions,
    p: &Prepared,
    fitted: &[Option<Arc<dyn Codec>>],
) -> Result<(Vec<ResultRow>, String)> {
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
    let mut rows = Vec::new();
    let mut md = IDENTITY_HEADER.to_string();
    for (i, spec) in plan.codecs.iter().enumerate() {
        let codec = match fitted.get(i).cloned().flatten() {
            Some(c) => c,
            None => fit_cell_codec(plan, p, spec)?,
        };
        let (r, line) = identity_row(opts, &p.pop.name, pool, spec, codec.as_ref());
        rows.push(r);
        md.push_str(&line);
    }
    Ok((rows, md))
}

/// Name of the population-level rows of the instrument analysis.
pub const INSTRUMENT: &str = "(instrument)";

/// Rows of the instrument block (population level, or per-codec `instrument.*` metrics).
pub fn is_instrument_row(r: &ResultRow) -> bool {
    r.codec == INSTRUMENT || r.metric.starts_with("instrument.")
}

/// Queries used by the instrument analysis (the first of the split's queries).
const INSTRUMENT_QUERIES: usize = 100;
/// Base rows per query used by the instrument analysis (an even stride over the candidates).
const INSTRUMENT_ROWS: usize = 1000;

/// The (query, base row) units every codec is scored on for the instrument analysis: fixed by
/// the split, so all codecs are items over the same units; query-major, equal count per query.
fn instrument_units(p: &Prepared) -> Vec<(usize, usize)> {
    let nq = p.split.queries.len().min(INSTRUMENT_QUERIES);
    let n = p.split.base.len();
    let mut out = Vec::new();
    for q in 0..nq {
        let cands: Vec<usize> = (0..n)
            .filter(|&j| Some(j) != p.split.query_self[q])
            .collect();
        let m = cands.len().min(INSTRUMENT_ROWS);
        for t in 0..m {
            out.push((q, cands[t * cands.len() / m]));
        }
    }
    out
}

/// Reliability of the codecs as an instrument for one population, as result rows.
fn instrument_rows(
    plan: &Plan,
    p: &Prepared,
    truth: &Truth,
    items: &[Vec<f64>],
    done: &[ResultRow],
) -> Vec<ResultRow> {
    let units = instrument_units(p);
    let n_queries = units.last().map_or(0, |u| u.0 + 1);
    let group_len = units.len() / n_queries.max(1);
    let truth_items: Vec<f64> = units.iter().map(|&(q, j)| truth.row(q)[j]).collect();
    let names: Vec<String> = plan.codecs.iter().map(|c| c.to_string()).collect();
    let seed = p.seed ^ 0x494e_5354;
    let mut opts = InstrumentOptions::new(group_len.max(1), seed);
    opts.resamples = plan.resamples;
    let rep = instrument(items, &names, Some(&truth_items), &opts);
    let row = |codec: &str,
               metric: &str,
               value: Option<f64>,
               lo: Option<f64>,
               hi: Option<f64>,
               n: usize,
               note: Option<String>| ResultRow {
        population: p.pop.name.clone(),
        codec: codec.to_string(),
        metric: metric.to_string(),
        value,
        ci_lo: lo,
        ci_hi: hi,
        n,
        chance: None,
        draws: 1,
        bytes_per_row: 0,
        model_bytes: 0,
        bits_per_dim: 0.0,
        grade: String::new(),
        family: String::new(),
        dim: p.pop.rows.dim(),
        base_rows: p.split.base.len(),
        queries: p.split.queries.len(),
        split: p.split_name.clone(),
        seed: plan.seed,
        codecbench_version: VERSION.to_string(),
        note,
    };
    let mut out = Vec::new();
    let units_note = format!(
        "{} (query, row) pairs: {} queries × {} rows; CI by bootstrap over queries",
        rep.n_units, rep.n_groups, group_len
    );
    if !rep.excluded.is_empty() {
        out.push(row(
            INSTRUMENT,
            "excluded_items",
            None,
            None,
            None,
            rep.n_groups,
            Some(format!(
                "constant scores, left out: {}",
                rep.excluded.join(", ")
            )),
        ));
    }
    if let Some(a) = &rep.without_truth {
        out.push(row(
            INSTRUMENT,
            "alpha_std",
            a.alpha_std.value,
            a.alpha_std.ci_lo,
            a.alpha_std.ci_hi,
            a.alpha_std.n,
            Some(units_note.clone()),
        ));
        out.push(row(
            INSTRUMENT,
            "alpha_raw",
            a.alpha_raw,
            None,
            None,
            rep.n_groups,
            None,
        ));
        if let Some(pa) = &a.parallel {
            out.push(row(INSTRUMENT, "factors", Some(pa.factors as f64), None, None, rep.n_groups, Some(format!(
                "parallel analysis (95th percentile of {} random data sets of {} rows); eigenvalues {}",
                pa.options.matrices, pa.n,
                a.eigenvalues.iter().take(4).map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", ")
            ))));
        }
        out.push(row(
            INSTRUMENT,
            "eigenvalue_1_share",
            a.eigenvalues.first().map(|e| e / a.names.len() as f64),
            None,
            None,
            rep.n_groups,
            None,
        ));
        // Codec × codec agreement (Pearson r of the estimates over the instrument units).
        for (i, name) in a.names.iter().enumerate() {
            for (j, other) in a.names.iter().enumerate() {
                if i != j {
                    out.push(row(
                        name,
                        &format!("instrument.r:{other}"),
                        Some(a.correlation.get(i, j)),
                        None,
                        None,
                        rep.n_groups,
                        None,
                    ));
                }
            }
        }
        for (i, name) in a.names.iter().enumerate() {
            out.push(row(
                name,
                "instrument.alpha_if_deleted",
                a.alpha_if_deleted[i],
                None,
                None,
                rep.n_groups,
                None,
            ));
            out.push(row(
                name,
                "instrument.item_total",
                a.item_total[i],
                None,
                None,
                rep.n_groups,
                None,
            ));
        }
    }
    if let Some(a) = &rep.with_truth {
        out.push(row(
            INSTRUMENT,
            "alpha_std.with_truth",
            a.alpha_std.value,
            a.alpha_std.ci_lo,
            a.alpha_std.ci_hi,
            a.alpha_std.n,
            None,
        ));
        if let Some(i) = a.names.iter().position(|n| n == "truth") {
            out.push(row(
                INSTRUMENT,
                "truth_item_total",
                a.item_total[i],
                None,
                None,
                rep.n_groups,
                Some("correlation of the truth with the sum of the codecs".to_string()),
            ));
        }
    }
    for f in &rep.rules {
        let metric = match f.rule {
            Rule::Redundant => "rule.redundant",
            Rule::DifferentConstructs => "rule.different_constructs",
            Rule::Noisy => "rule.noisy",
        };
        let mut statement = f.statement.clone();
        if f.rule == Rule::Redundant && f.items.len() >= 2 {
            // "Keep the cheapest": name it, by bytes per row on this population.
            let cheapest = f
                .items
                .iter()
                .filter_map(|it| {
                    done.iter()
                        .find(|r| r.population == p.pop.name && r.codec == *it)
                        .map(|r| (r.bytes_per_row, it.clone()))
                })
                .min();
            if let Some((b, name)) = cheapest {
                statement.push_str(&format!(". Cheapest: {name} ({b} B/row)."));
            }
        }
        out.push(row(
            INSTRUMENT,
            metric,
            Some(f.value),
            None,
            None,
            rep.n_groups,
            Some(format!("{} — {}", f.items.join(" + "), statement)),
        ));
    }
    out
}
