//! `Plan`: everything a run needs, typed and validated before any work starts. The CLI builds it
//! from flags or a plan file; `run.json` stores it; nothing downstream parses strings. It lives
//! with the rows because run metadata (and so every report header) carries it.

use super::probe_kind::ProbeKind;
use crate::budget::MemoryBudget;
use crate::choice::Choice;
use crate::codec::CodecSpec;
use crate::data::catalog::PopulationSpec;
use crate::data::population::NonFinitePolicy;
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Which pair-probe split to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitChoice {
    /// Self-pairs for weight tensors, held-out queries for embeddings and synthetic rows.
    #[default]
    Auto,
    /// Queries are rows of the population, scored against all other rows.
    #[serde(rename = "self")]
    SelfPairs,
    /// Queries are held-out rows.
    #[serde(rename = "holdout")]
    HeldOut,
}

impl Choice for SplitChoice {
    const ALL: &'static [Self] = &[
        SplitChoice::Auto,
        SplitChoice::SelfPairs,
        SplitChoice::HeldOut,
    ];

    fn name(self) -> &'static str {
        match self {
            SplitChoice::Auto => "auto",
            SplitChoice::SelfPairs => "self",
            SplitChoice::HeldOut => "holdout",
        }
    }

    fn help(self) -> &'static str {
        match self {
            SplitChoice::Auto => {
                "Self-pairs for weight tensors, held-out queries for embeddings and synthetic rows"
            }
            SplitChoice::SelfPairs => {
                "Queries are rows of the population, scored against all other rows"
            }
            SplitChoice::HeldOut => "Queries are held-out rows",
        }
    }
}

/// A validated benchmark plan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// Populations, in order.
    #[serde(serialize_with = "ser_display_vec")]
    pub populations: Vec<PopulationSpec>,
    /// Codecs, in order.
    #[serde(serialize_with = "ser_display_vec")]
    pub codecs: Vec<CodecSpec>,
    /// Queries per population.
    pub queries: usize,
    /// recall@k.
    pub k: usize,
    /// Root of all randomness.
    pub seed: u64,
    /// Base seed of the codecs' own random draws (rotations, sketches, k-means starts); `None`
    /// = the plan's seed. Split, base and queries do not depend on it.
    pub codec_seed: Option<u64>,
    /// Independent codec draws per cell for codecs whose fit is random (deterministic codecs
    /// run once); the intervals then cover the draws as well as the queries.
    pub replicates: usize,
    /// Parent directory of run directories.
    pub out: PathBuf,
    /// Worker threads (None = all cores).
    pub threads: Option<usize>,
    /// Smaller samples for smoke runs.
    pub quick: bool,
    /// Score base rows against these query rows instead of a split.
    #[serde(serialize_with = "ser_display_opt")]
    pub query_file: Option<PopulationSpec>,
    /// Non-finite rows: refuse or drop.
    pub nonfinite: NonFinitePolicy,
    /// Cap on rows per population (seeded sample beyond it).
    pub max_rows: Option<usize>,
    /// Pair-probe split.
    pub split: SplitChoice,
    /// Bootstrap resamples per CI.
    pub resamples: usize,
    /// Probes run after the codec cells (chain, family, spiral, identity; never `all`), then
    /// the hypothesis matrix. Empty = no probes and no matrix.
    pub probes: Vec<ProbeKind>,
    /// Show a progress bar (only drawn when stderr is a terminal).
    #[serde(skip)]
    pub progress: bool,
    /// The most one population sample, codec fit or set of codes may take (checked before
    /// allocating). A property of the machine, like `threads`: not stored in run.json, so a
    /// resumed run takes the budget it is given.
    #[serde(skip)]
    pub memory_budget: MemoryBudget,
}

/// Defaults of a full run.
pub const DEFAULT_QUERIES: usize = 100;
/// Default recall@k.
pub const DEFAULT_K: usize = 10;
/// Default seed.
pub const DEFAULT_SEED: u64 = 42;
/// Default row cap.
pub const DEFAULT_MAX_ROWS: usize = 20_000;
/// Default bootstrap resamples.
pub const DEFAULT_RESAMPLES: usize = 500;
/// Default codec draws per cell (codecs whose fit is random).
pub const DEFAULT_REPLICATES: usize = 3;
/// `--quick`: codec draws per cell.
pub const QUICK_REPLICATES: usize = 1;
/// Most codec draws per cell a plan may ask for.
pub const MAX_REPLICATES: usize = 100;
/// `--quick`: queries.
pub const QUICK_QUERIES: usize = 50;
/// `--quick`: row cap.
pub const QUICK_MAX_ROWS: usize = 1000;
/// `--quick`: bootstrap resamples.
pub const QUICK_RESAMPLES: usize = 200;

impl Default for Plan {
    fn default() -> Self {
        Plan {
            populations: PopulationSpec::defaults(),
            codecs: CodecSpec::defaults(),
            queries: DEFAULT_QUERIES,
            k: DEFAULT_K,
            seed: DEFAULT_SEED,
            codec_seed: None,
            replicates: DEFAULT_REPLICATES,
            out: PathBuf::from("reports"),
            threads: None,
            quick: false,
            query_file: None,
            nonfinite: NonFinitePolicy::Error,
            max_rows: Some(DEFAULT_MAX_ROWS),
            split: SplitChoice::Auto,
            resamples: DEFAULT_RESAMPLES,
            probes: ProbeKind::run_defaults(false),
            progress: true,
            memory_budget: MemoryBudget::default(),
        }
    }
}

impl Plan {
    /// The base seed of codec draws: `codec_seed`, or the plan's seed.
    pub fn codec_seed_base(&self) -> u64 {
        self.codec_seed.unwrap_or(self.seed)
    }

    /// Codec draws of one cell fitted on `train_rows` rows: `replicates` for a codec whose fit
    /// is random there, else one.
    pub fn draws_of(&self, spec: &CodecSpec, train_rows: usize) -> usize {
        if spec.random_fit_on(train_rows) {
            self.replicates
        } else {
            1
        }
    }

    /// Check the plan's own fields (population-dependent checks such as k ≤ base happen after
    /// loading, still before any codec runs).
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: &str| {
            Err(Error::InvalidPlan {
                field,
                reason: reason.to_string(),
            })
        };
        if self.populations.is_empty() {
            return bad("--population", "at least one population is needed");
        }
        if self.codecs.is_empty() {
            return bad("--codec", "at least one codec is needed");
        }
        if self.queries == 0 {
            return bad("--queries", "must be at least 1");
        }
        if self.k == 0 {
            return bad("--k", "must be at least 1");
        }
        if self.threads == Some(0) {
            return bad("--threads", "must be at least 1");
        }
        if self.max_rows.is_some_and(|m| m < 2) {
            return bad("--max-rows", "must be at least 2");
        }
        if self.resamples == 0 {
            return bad("--resamples", "must be at least 1");
        }
        if !(1..=MAX_REPLICATES).contains(&self.replicates) {
            return bad("--replicates", "must be between 1 and 100");
        }
        // The same population or codec twice would measure (and on resume, keep) the same cells
        // twice under one name.
        let mut seen = std::collections::HashSet::new();
        for p in &self.populations {
            let name = p.to_string();
            if !seen.insert(name.clone()) {
                return Err(Error::InvalidPlan {
                    field: "--population",
                    reason: format!("'{name}' is named twice; name each population once"),
                });
            }
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.codecs {
            let name = c.to_string();
            if !seen.insert(name.clone()) {
                return Err(Error::InvalidPlan {
                    field: "--codec",
                    reason: format!(
                        "'{name}' is named twice (perhaps spelled two ways with the same \
                         parameters); name each codec once"
                    ),
                });
            }
        }
        if let Some(q) = &self.query_file
            && matches!(q, PopulationSpec::Synthetic(_))
        {
            return bad(
                "--query-file",
                "must be a file (path.npy, path.fvecs, path.safetensors:TENSOR)",
            );
        }
        Ok(())
    }
}

/// A plan as stored in `run.json` (specs as text), for `--resume` and plan files.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PlanFile {
    /// Population specs.
    pub populations: Vec<String>,
    /// Codec specs.
    pub codecs: Vec<String>,
    /// Queries per population.
    pub queries: usize,
    /// recall@k.
    pub k: usize,
    /// Seed.
    pub seed: u64,
    /// Codec seed base (absent in run.json of older runs: the plan's seed).
    #[serde(default)]
    pub codec_seed: Option<u64>,
    /// Codec draws per cell (absent in run.json of older runs: one).
    #[serde(default = "one")]
    pub replicates: usize,
    /// Output parent directory.
    pub out: PathBuf,
    /// Threads.
    pub threads: Option<usize>,
    /// Quick mode.
    pub quick: bool,
    /// Query file spec.
    pub query_file: Option<String>,
    /// Non-finite policy.
    pub nonfinite: NonFinitePolicy,
    /// Row cap.
    pub max_rows: Option<usize>,
    /// Split.
    pub split: SplitChoice,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Probes (absent in run.json of runs without probes).
    #[serde(default)]
    pub probes: Vec<ProbeKind>,
}

impl PlanFile {
    /// Parse every spec and validate.
    pub fn into_plan(self) -> Result<Plan> {
        let plan = Plan {
            populations: self
                .populations
                .iter()
                .map(|s| PopulationSpec::parse(s))
                .collect::<Result<_>>()?,
            codecs: self
                .codecs
                .iter()
                .map(|s| s.parse::<CodecSpec>())
                .collect::<Result<_>>()?,
            queries: self.queries,
            k: self.k,
            seed: self.seed,
            codec_seed: self.codec_seed,
            replicates: self.replicates,
            out: self.out,
            threads: self.threads,
            quick: self.quick,
            query_file: self
                .query_file
                .as_deref()
                .map(PopulationSpec::parse)
                .transpose()?,
            nonfinite: self.nonfinite,
            max_rows: self.max_rows,
            split: self.split,
            resamples: self.resamples,
            probes: ProbeKind::expand(&self.probes),
            progress: true,
            memory_budget: MemoryBudget::default(),
        };
        plan.validate()?;
        Ok(plan)
    }
}

fn one() -> usize {
    1
}

fn ser_display_vec<T: std::fmt::Display, S: serde::Serializer>(
    v: &[T],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|x| x.to_string()))
}

fn ser_display_opt<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_some(&x.to_string()),
        None => s.serialize_none(),
    }
}

pub use super::plan_toml::{MAX_PLAN_CODECS, PlanToml, Sweep};
