//! `codecbench export`: write a population's pair-probe split — exactly the rows the runner
//! measures, from the same plan fields and the same seeds — as `base.npy`, `queries.npy`,
//! `train.npy` (`<f4`, C order) plus `split.json` with provenance, so that peers (FAISS, RaBitQ
//! library, …; see `peers/`) score identical base/query rows.
//!
//! The split is rebuilt with the runner's recipe (`run::runner::load_all`): load with
//! `LoadOptions { max_rows, seed, nonfinite }`, pick the kind from `--split`, derive the split seed
//! as `plan.seed ^ stable_hash(name)`, then `Split::self_pairs` / `held_out` / `query_file`.
//! `tests/it/speed.rs` checks the exported rows against a split built that way and against the
//! runner's `run.json`.

use crate::data::catalog::PopulationSpec;
use crate::data::file::sha256_file;
use crate::data::npy::write_f32;
use crate::data::population::PopulationKind;
use crate::data::{Population, Provenance, Rows};
use crate::error::{Error, Result};
use crate::probe::Split;
use crate::results::Plan;
use crate::run::prepare::{load_options, prepare_population};
use std::path::{Path, PathBuf};

/// `split.json`: what was exported and from where.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SplitInfo {
    /// Population name as results name it.
    pub population: String,
    /// `weight` or `embedding`.
    pub kind: String,
    /// `self-pairs`, `held-out` or `query-file`.
    pub split: String,
    /// The plan's seed (what `codecbench run --seed` takes).
    pub seed: u64,
    /// The split's own seed (`seed ^ stable_hash(population)`).
    pub split_seed: u64,
    /// `--queries` as given to the plan.
    pub queries_requested: usize,
    /// `--max-rows` of the plan.
    pub max_rows: Option<usize>,
    /// Row dimension.
    pub dim: usize,
    /// Rows in `train.npy` (codecs are fitted on these).
    pub train_rows: usize,
    /// Rows in `base.npy` (encoded and scored).
    pub base_rows: usize,
    /// Rows in `queries.npy`.
    pub queries: usize,
    /// For self-pairs: per query, the base row that is the query itself (exclude it from that
    /// query's scores, as the runner does); null entries otherwise.
    pub query_self: Vec<Option<usize>>,
    /// sha256 of each written file, by file name.
    pub sha256: std::collections::BTreeMap<String, String>,
    /// Where the population's rows came from.
    pub provenance: Provenance,
    /// codecbench version that exported it.
    pub codecbench_version: String,
}

/// Load one population and split it exactly as the runner does for `plan` (the runner's own
/// recipe, `run::runner::prepare_population`).
pub fn prepare(plan: &Plan, spec: &PopulationSpec) -> Result<(Population, Split, u64)> {
    let queries = match &plan.query_file {
        Some(q) => Some(q.load(PopulationKind::Embedding, &load_options(plan))?),
        None => None,
    };
    prepare_population(
        plan,
        spec,
        queries.as_ref().map(|q| (q.name.as_str(), &q.rows)),
    )
}

fn label<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Export the first population of `plan` into `out` (created if missing). Returns the
/// `split.json` contents.
pub fn export(plan: &Plan, out: &Path) -> Result<SplitInfo> {
    let spec = plan.populations.first().ok_or_else(|| Error::InvalidPlan {
        field: "population",
        reason: "export needs one population".to_string(),
    })?;
    let (pop, split, split_seed) = prepare(plan, spec)?;
    std::fs::create_dir_all(out).map_err(|e| Error::Write {
        path: out.to_path_buf(),
        source: e,
    })?;
    let files: [(&str, &Rows); 3] = [
        ("base.npy", &split.base),
        ("queries.npy", &split.queries),
        ("train.npy", &split.train),
    ];
    let mut sha256 = std::collections::BTreeMap::new();
    for (name, rows) in files {
        let path: PathBuf = out.join(name);
        write_f32(&path, rows)?;
        sha256.insert(name.to_string(), sha256_file(&path)?);
    }
    let info = SplitInfo {
        population: pop.name.clone(),
        kind: label(pop.kind),
        split: label(split.mode),
        seed: plan.seed,
        split_seed,
        queries_requested: plan.queries,
        max_rows: plan.max_rows,
        dim: pop.rows.dim(),
        train_rows: split.train.len(),
        base_rows: split.base.len(),
        queries: split.queries.len(),
        query_self: split.query_self.clone(),
        sha256,
        provenance: pop.provenance.clone(),
        codecbench_version: crate::results::VERSION.to_string(),
    };
    let path = out.join("split.json");
    let text = serde_json::to_string_pretty(&info).expect("split info serialises");
    std::fs::write(&path, text + "\n").map_err(|e| Error::Write { path, source: e })?;
    Ok(info)
}
