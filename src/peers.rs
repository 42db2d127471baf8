//! `codecbench compare-peers`: our codecs against the peers that `peers/peers.py` ran (FAISS,
//! turbovec, rabitqlib, pyturboquant-cpu) on splits exported by `codecbench export`.
//!
//! For every peer cell (population × peer codec) the peers file names the codecbench codec it is
//! the peer of (`ours`). We load the same exported split (base.npy, queries.npy, train.npy,
//! split.json), fit ours on train with the runner's cell seed, score every query against every
//! code and compute the runner's metric suite (so the quality numbers equal a `codecbench run`
//! with the export's flags; `--run DIR` takes them from such a run instead), then time ours like
//! the peers were timed:
//!
//! - encode: `encode_all(base)` plus `prepare_scan` (PQ FastScan's 32-row blocks; fitting is not
//!   timed, as FAISS's `train` is not);
//! - scan: per query, build the scorer (rotation, LUTs), estimate every code and keep the top k
//!   in a small sorted buffer (`Scorer::top_k`; PQ FastScan fuses it into its u16 block scan) — what a FAISS `search(queries, k)` does; queries are split over
//!   the threads as FAISS splits them over OpenMP threads.
//!
//! Each rate is the median over `repeats` repetitions (min and max kept), on a rayon pool of one
//! thread (`.t1`) and of all threads (`.tall`). Timings are never asserted in tests.

use crate::codec::{Codec, CodecSpec, Codes, TopK};
use crate::data::{RowSelection, Rows};
use crate::error::{Error, Result};
use crate::metric::suite::{PairInputs, pair_metrics};
use crate::probe::pairs::run_pairs;
use crate::probe::{Split, SplitMode, Truth};
use crate::report::peers::{self as rp, Comparison, Num, Ours, PeerRow, Side};
use crate::results::ResultRow;
use crate::run::seeds;
use crate::speed::Stat;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Timed repetitions by default.
pub const DEFAULT_REPEATS: usize = 5;
/// Bootstrap resamples by default (as `run`).
pub const DEFAULT_RESAMPLES: usize = 500;

/// What `compare-peers` does.
#[derive(Debug, Clone)]
pub struct ComparePeersOptions {
    /// The peers JSONL file.
    pub peers: PathBuf,
    /// Exported split directories; empty = every directory beside the peers file that holds a
    /// split.json.
    pub splits: Vec<PathBuf>,
    /// Take our quality metrics from this run (directory or results.jsonl) when it has the cell.
    pub run: Option<PathBuf>,
    /// Timed repetitions.
    pub repeats: usize,
    /// Bootstrap resamples for our CIs.
    pub resamples: usize,
    /// Threads of the "all threads" measurement (None = all cores).
    pub threads: Option<usize>,
    /// The most one codec fit (or its codes of a split) may take.
    pub memory_budget: crate::budget::MemoryBudget,
    /// Output directory (None = `compare-peers/` beside the peers file).
    pub out: Option<PathBuf>,
    /// Progress lines on stderr.
    pub progress: bool,
}

/// split.json, the fields we need.
#[derive(Debug, Clone, serde::Deserialize)]
struct SplitJson {
    population: String,
    split: String,
    /// The plan's seed (split.json of older exports lacks it: the codec seed then falls back
    /// to the split seed).
    #[serde(default)]
    seed: Option<u64>,
    split_seed: u64,
    dim: usize,
    query_self: Vec<Option<usize>>,
}

/// An exported split, loaded.
#[derive(Debug, Clone)]
pub struct LoadedSplit {
    /// Directory it came from.
    pub dir: PathBuf,
    /// Population name.
    pub population: String,
    /// The split's own seed (the runner's per-population seed).
    pub split_seed: u64,
    /// The plan's seed: the base of the codec draws, as in the runner.
    pub seed: u64,
    /// The rows.
    pub split: Split,
}

fn bad_dir(dir: &Path, reason: String) -> Error {
    Error::BadRunDir {
        path: dir.to_path_buf(),
        reason,
    }
}

/// Load a directory written by `codecbench export`.
pub fn load_split(dir: &Path) -> Result<LoadedSplit> {
    let meta_path = dir.join("split.json");
    let text = crate::input::read_to_string(&meta_path)?;
    let meta: SplitJson = serde_json::from_str(&text).map_err(|e| {
        bad_dir(
            &meta_path,
            format!("not a codecbench export split.json: {e}"),
        )
    })?;
    let load = |name: &str| -> Result<Rows> {
        Ok(crate::data::npy::load(&dir.join(name), &RowSelection::All)?.rows)
    };
    let (base, queries, train) = (load("base.npy")?, load("queries.npy")?, load("train.npy")?);
    let mode = match meta.split.as_str() {
        "self-pairs" => SplitMode::SelfPairs,
        "held-out" => SplitMode::HeldOut,
        "query-file" => SplitMode::QueryFile,
        other => {
            return Err(bad_dir(&meta_path, format!("unknown split `{other}`")));
        }
    };
    if base.dim() != meta.dim || queries.dim() != meta.dim || train.dim() != meta.dim {
        return Err(bad_dir(
            dir,
            format!(
                "base/queries/train dims {}/{}/{} do not match split.json dim {}",
                base.dim(),
                queries.dim(),
                train.dim(),
                meta.dim
            ),
        ));
    }
    if meta.query_self.len() != queries.len()
        || meta
            .query_self
            .iter()
            .any(|s| s.is_some_and(|b| b >= base.len()))
    {
        return Err(bad_dir(
            &meta_path,
            "query_self does not match queries.npy / base.npy".to_string(),
        ));
    }
    if base.is_empty() || queries.is_empty() || train.is_empty() {
        return Err(bad_dir(dir, "empty base, queries or train".to_string()));
    }
    Ok(LoadedSplit {
        dir: dir.to_path_buf(),
        population: meta.population,
        split_seed: meta.split_seed,
        seed: meta.seed.unwrap_or(meta.split_seed),
        split: Split {
            mode,
            train,
            base,
            queries,
            query_self: meta.query_self,
        },
    })
}

/// The runner's seeds for one cell's first codec draw (`measure_cell`): (fit, bootstrap).
pub fn cell_seeds(ls: &LoadedSplit, spec: &CodecSpec) -> (u64, u64) {
    (
        seeds::codec_draw_seed(ls.seed, &ls.population, spec, 0),
        seeds::cell_bootstrap_seed(ls.split_seed, spec),
    )
}

/// Keep the k largest of `scores` (ids), as a k-heap search does; returns them best first.
pub fn top_k(scores: &[f64], k: usize) -> Vec<(f64, u32)> {
    let mut top = TopK::new(k.min(scores.len()));
    for (i, &s) in scores.iter().enumerate() {
        top.push(s, i as u32);
    }
    top.into_vec()
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64().max(1e-9)
}

/// Time encode (rows/s) and a top-k scan (codes/s) of `codec` on the current rayon pool: medians
/// (min, max) over `repeats` after one warm-up each.
pub fn time_codec(
    codec: &dyn Codec,
    base: &Rows,
    queries: &Rows,
    k: usize,
    repeats: usize,
) -> (Stat, Stat) {
    let n = base.len();
    let repeats = repeats.max(1);
    let mut codes: Codes = codec.encode_all(base);
    let mut enc = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        codes = black_box(codec.encode_all(black_box(base)));
        codec.prepare_scan(&codes); // a scan layout (PQ FastScan's blocks) counts as encode
        enc.push(n as f64 / secs(t));
    }
    let dim = queries.dim();
    let pass = || {
        let tops: Vec<Vec<(f64, u32)>> = queries
            .as_slice()
            .par_chunks(dim)
            .map(|q| {
                let sc = codec.scorer(black_box(q));
                let mut scratch = Vec::new();
                sc.top_k(&codes, k, &mut scratch)
            })
            .collect();
        black_box(tops);
    };
    pass();
    let mut scan = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        pass();
        scan.push((n * queries.len()) as f64 / secs(t));
    }
    (Stat::of(&enc), Stat::of(&scan))
}

/// All cores (or `threads`).
pub fn all_threads(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn num(value: Option<f64>, lo: Option<f64>, hi: Option<f64>) -> Num {
    Num { value, lo, hi }
}

/// Measure ours (quality unless `prior` has it, and timings) on a loaded split.
#[allow(clippy::too_many_arguments)]
pub fn measure_ours(
    ls: &LoadedSplit,
    spec: &CodecSpec,
    k: usize,
    resamples: usize,
    repeats: usize,
    threads_all: usize,
    prior: &[ResultRow],
    budget: &crate::budget::MemoryBudget,
) -> Result<Ours> {
    let (fit_seed, seed) = cell_seeds(ls, spec);
    let codec = budget.fit(spec, &ls.split.train, fit_seed, ls.split.base.len())?;
    let mut metrics: BTreeMap<String, Num> = BTreeMap::new();
    let canonical = codec.spec().to_string();
    let from_run: Vec<&ResultRow> = prior
        .iter()
        .filter(|r| r.population == ls.population && r.codec == canonical)
        .collect();
    if from_run.is_empty() {
        let truth = Truth::compute(&ls.split);
        let codes = codec.encode_all(&ls.split.base);
        let outcome = run_pairs(codec.as_ref(), &ls.split, &codes)?;
        for m in pair_metrics(&PairInputs {
            truth: &truth.scores,
            prepared: None,
            estimates: &[&outcome.asym],
            n_base: outcome.n_base,
            skip: &ls.split.query_self,
            k,
            resamples,
            seed,
            suffix: "",
        }) {
            metrics.insert(
                m.name,
                num(m.estimate.value, m.estimate.ci_lo, m.estimate.ci_hi),
            );
        }
    } else {
        for r in from_run {
            metrics.insert(r.metric.clone(), num(r.value, r.ci_lo, r.ci_hi));
        }
    }
    for (label, threads) in [("t1", 1), ("tall", threads_all)] {
        let (enc, scan) = crate::pool::thread_pool(Some(threads))?.install(|| {
            time_codec(
                codec.as_ref(),
                &ls.split.base,
                &ls.split.queries,
                k,
                repeats,
            )
        });
        for (name, s) in [("encode_rows_per_s", enc), ("scan_codes_per_s", scan)] {
            metrics.insert(
                format!("{name}.{label}"),
                num(Some(s.median), Some(s.min), Some(s.max)),
            );
        }
    }
    Ok(Ours {
        population: ls.population.clone(),
        dim: codec.dim(),
        side: Side {
            codec: canonical,
            bytes_per_row: codec.code_bytes(),
            metrics,
        },
    })
}

/// What `compare-peers` produced.
#[derive(Debug, Clone)]
pub struct ComparePeersOutcome {
    /// The comparisons.
    pub comparisons: Vec<Comparison>,
    /// Our measurements.
    pub ours: Vec<Ours>,
    /// Peer cells not compared, with the reason.
    pub skipped: Vec<String>,
    /// The Markdown report.
    pub markdown: String,
    /// Where compare-peers.{md,csv,json} were written.
    pub out: PathBuf,
}

/// Directories beside `peers` that hold a split.json, sorted.
fn default_splits(peers: &Path) -> Vec<PathBuf> {
    let parent = peers
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(parent)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("split.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// recall@k's k from the peers' metric names (10 when none).
fn recall_k(rows: &[PeerRow]) -> usize {
    rows.iter()
        .find_map(|r| r.metric.strip_prefix("recall@")?.parse().ok())
        .unwrap_or(10)
}

/// Run the whole comparison and write compare-peers.md, .csv and .json.
pub fn compare_peers(opts: &ComparePeersOptions) -> Result<ComparePeersOutcome> {
    let text = crate::input::read_to_string(&opts.peers)?;
    let peer_rows = rp::parse(&opts.peers, &text)?;
    let prior: Vec<ResultRow> = match &opts.run {
        None => Vec::new(),
        Some(p) => {
            let file = if p.is_dir() {
                p.join("results.jsonl")
            } else {
                p.clone()
            };
            let t = crate::input::read_to_string(&file)?;
            crate::report::jsonl::parse(&t).map_err(|e| Error::BadRunDir {
                path: file.clone(),
                reason: format!("not a codecbench results.jsonl: {e}"),
            })?
        }
    };
    let split_dirs = if opts.splits.is_empty() {
        default_splits(&opts.peers)
    } else {
        opts.splits.clone()
    };
    let splits: Vec<LoadedSplit> = split_dirs
        .iter()
        .map(|d| load_split(d))
        .collect::<Result<_>>()?;
    let k = recall_k(&peer_rows);
    let threads_all = all_threads(opts.threads);
    let cells = rp::peer_cells(&peer_rows);
    let mut ours: Vec<Ours> = Vec::new();
    let mut skipped = Vec::new();
    for (pop, spec_text, dim, peer) in &cells {
        if ours
            .iter()
            .any(|o| o.population == *pop && o.side.codec == *spec_text)
        {
            continue;
        }
        let Some(ls) = splits.iter().find(|s| s.population == *pop) else {
            skipped.push(format!(
                "{pop} `{}`: no exported split for this population (give --split DIR)",
                peer.codec
            ));
            continue;
        };
        if ls.split.base.dim() != *dim {
            return Err(Error::BadRunDir {
                path: opts.peers.clone(),
                reason: format!(
                    "{pop} `{}` has dim {dim}, the split in {} has {}",
                    peer.codec,
                    ls.dir.display(),
                    ls.split.base.dim()
                ),
            });
        }
        let spec: CodecSpec = spec_text.parse()?;
        if opts.progress {
            eprintln!("compare-peers: {pop} × {spec} (quality, then timings)…");
        }
        ours.push(measure_ours(
            ls,
            &spec,
            k,
            opts.resamples,
            opts.repeats,
            threads_all,
            &prior,
            &opts.memory_budget,
        )?);
    }
    let comparisons = rp::compare(&peer_rows, &ours);
    let header = format!(
        "Peers: `{}`. Ours: codecbench {} timed on the same exported split (base × queries), \
         median of {} repeats, 1 thread and {} threads; scan = score every code + keep the top {} \
         per query (as a FAISS search with k = {}); encode = encode_all(base), fitting not timed. \
         Quality: ours with its 95% bootstrap CI over queries; the peer's CI from peers.py's \
         bootstrap. Ratios are ours / peer: ≥ 1 means ours is at least as fast.\n{}",
        opts.peers.display(),
        crate::results::VERSION,
        opts.repeats,
        threads_all,
        k,
        k,
        if skipped.is_empty() {
            String::new()
        } else {
            format!("\nNot compared:\n\n- {}\n", skipped.join("\n- "))
        }
    );
    let markdown = rp::render_markdown(&comparisons, &header);
    let out = match &opts.out {
        Some(o) => o.clone(),
        None => opts
            .peers
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("compare-peers"),
    };
    std::fs::create_dir_all(&out).map_err(|e| Error::Write {
        path: out.clone(),
        source: e,
    })?;
    let write = |name: &str, body: &str| -> Result<()> {
        crate::run::output::write_atomic(&out.join(name), body.as_bytes())
    };
    write("compare-peers.md", &markdown)?;
    write("compare-peers.csv", &rp::render_csv(&comparisons))?;
    let json = serde_json::json!({
        "codecbench_version": crate::results::VERSION,
        "peers_file": opts.peers.display().to_string(),
        "repeats": opts.repeats,
        "threads_all": threads_all,
        "k": k,
        "comparisons": comparisons,
        "ours": ours,
        "skipped": skipped,
    });
    write(
        "compare-peers.json",
        &(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"),
    )?;
    Ok(ComparePeersOutcome {
        comparisons,
        ours,
        skipped,
        markdown,
        out,
    })
}
