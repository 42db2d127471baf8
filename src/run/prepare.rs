//! Loading and splitting a run's populations: the one recipe every run (and `export`) uses, so
//! exported splits are exactly what runs measure.

use crate::data::catalog::{LoadOptions, PopulationSpec, stable_hash};
use crate::data::population::PopulationKind;
use crate::data::{Population, Rows};
use crate::error::{Error, Result};
use crate::probe::Split;
use crate::results::{Plan, PopulationInfo, SplitChoice};

/// A population loaded and split, as every cell and probe of a run sees it.
pub struct Prepared {
    /// The rows and their provenance.
    pub pop: Population,
    /// Base, queries and training rows.
    pub split: Split,
    /// The population's seed (plan seed ^ name hash).
    pub seed: u64,
    /// `split_label(&split)`, computed once.
    pub split_name: String,
}

/// What loading options a plan implies.
pub fn load_options(plan: &Plan) -> LoadOptions {
    LoadOptions {
        max_rows: plan.max_rows,
        seed: plan.seed,
        nonfinite: plan.nonfinite,
        budget: plan.memory_budget,
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

pub fn load_all(plan: &Plan) -> Result<Vec<Prepared>> {
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

/// What run.json says about a prepared population.
pub fn info(p: &Prepared) -> PopulationInfo {
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
