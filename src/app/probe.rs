//! `codecbench probe`: its flags, and the run directory it writes (`<stamp>-<probe>/` with
//! results.jsonl, results.csv, report.md, probe.json and the `latest` link). The probe itself
//! returns rows and notes (`codecbench::probe::probe_rows`); the report is rendered from them.

use super::choice::choice;
use codecbench::Result;
use codecbench::data::catalog::PopulationSpec;
use codecbench::error::Error;
use codecbench::hypothesis::{self, Registry};
use codecbench::pool::thread_pool;
use codecbench::probe::chain::WeightKind;
use codecbench::probe::options::{self, ProbeOptions};
use codecbench::probe::probe_rows;
use codecbench::report;
use codecbench::results::{ProbeKind, VERSION, plan};
use codecbench::run::output::{create_run_dir, update_latest, write_atomic, write_results};
use std::path::PathBuf;

/// Flags of `codecbench probe` (clap derive; wire as `Command::Probe(ProbeArgs)`).
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// Which probe.
    #[arg(value_parser = choice::<ProbeKind>())]
    pub probe: ProbeKind,
    /// Codec: name[:key=value,...] (repeatable) [default: exact, f16, bf16, int8, int4].
    #[arg(long = "codec", short = 'c', value_name = "SPEC")]
    pub codecs: Vec<String>,
    /// Population for family / spiral / identity (repeatable) [default: per probe].
    #[arg(long = "population", short = 'p', value_name = "SPEC")]
    pub populations: Vec<String>,
    /// Chain: which linear weights to replace: q, k, v, o, up, down, attn, mlp, all
    /// (repeatable) [default: k, up, all].
    #[arg(long = "weights", value_name = "KIND")]
    pub weights: Vec<String>,
    /// Chain: evaluation sentences (seeded sample of data/debian_descriptions_4096.txt).
    #[arg(long, default_value_t = options::DEFAULT_SENTENCES)]
    pub sentences: usize,
    /// Chain: further sentences whose keys fit the attention-fidelity codecs.
    #[arg(long, default_value_t = options::DEFAULT_TRAIN_SENTENCES)]
    pub train_sentences: usize,
    /// Chain: also report attention fidelity per block and head.
    #[arg(long)]
    pub per_head: bool,
    /// Chain: population of the score-chain diagnostic [default: minilm-k:layer=0].
    #[arg(long, value_name = "SPEC")]
    pub score_population: Option<String>,
    /// recall@k of the chain's retrieval check.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Family: number of families (a power of two: the Base17 binary split).
    #[arg(long, default_value_t = 16)]
    pub families: usize,
    /// Family / spiral / identity: at most this many rows per population (seeded sample).
    #[arg(long, default_value_t = options::DEFAULT_ROWS)]
    pub rows: usize,
    /// Spiral / identity: query rows per population.
    #[arg(long, default_value_t = options::DEFAULT_QUERIES)]
    pub queries: usize,
    /// Spiral: K values (repeatable) [default: 4, 8, 16].
    #[arg(long = "spiral-k", value_name = "K")]
    pub spiral_k: Vec<usize>,
    /// Seed of all randomness.
    #[arg(long, default_value_t = plan::DEFAULT_SEED)]
    pub seed: u64,
    /// Bootstrap resamples per CI.
    #[arg(long, default_value_t = plan::DEFAULT_RESAMPLES)]
    pub resamples: usize,
    /// Directory that receives `<timestamp>-<probe>/` and the `latest` link.
    #[arg(long, default_value = "reports/probes")]
    pub out: PathBuf,
    /// MiniLM directory [default: the fetched minilm source].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, value_name = "SIZE", value_parser = super::budget::parse, help = super::budget::HELP)]
    pub memory_budget: Option<codecbench::budget::MemoryBudget>,
}

/// Where the probe writes and with how many threads.
pub struct Run {
    /// Parent of the run directory.
    pub out: PathBuf,
    /// Worker threads.
    pub threads: Option<usize>,
}

impl ProbeArgs {
    /// Parse every spec into options.
    pub fn into_options(self) -> Result<(ProbeKind, ProbeOptions, Run)> {
        let d = ProbeOptions::default();
        let bad = |field: &'static str, reason: &str| Error::InvalidPlan {
            field,
            reason: reason.to_string(),
        };
        if self.sentences == 0 {
            return Err(bad("--sentences", "must be at least 1"));
        }
        if self.train_sentences == 0 {
            return Err(bad("--train-sentences", "must be at least 1"));
        }
        if self.k == 0 {
            return Err(bad("--k", "must be at least 1"));
        }
        if self.rows < 2 || self.queries == 0 {
            return Err(bad("--rows/--queries", "need at least 2 rows and 1 query"));
        }
        if self.families < 2 || !self.families.is_power_of_two() {
            return Err(bad(
                "--families",
                "must be a power of two ≥ 2 (the Base17 binary split)",
            ));
        }
        if self.spiral_k.contains(&0) {
            return Err(bad("--spiral-k", "K must be at least 1"));
        }
        let opts = ProbeOptions {
            codecs: if self.codecs.is_empty() {
                d.codecs
            } else {
                self.codecs
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_>>()?
            },
            populations: self
                .populations
                .iter()
                .map(|s| PopulationSpec::parse(s))
                .collect::<Result<_>>()?,
            weights: if self.weights.is_empty() {
                d.weights
            } else {
                self.weights
                    .iter()
                    .flat_map(|w| w.split(','))
                    .map(WeightKind::parse)
                    .collect::<Result<_>>()?
            },
            sentences: self.sentences,
            train_sentences: self.train_sentences,
            per_head: self.per_head,
            score_population: match &self.score_population {
                Some(s) => PopulationSpec::parse(s)?,
                None => d.score_population,
            },
            k: self.k,
            families: self.families,
            rows: self.rows,
            queries: self.queries,
            spiral_k: if self.spiral_k.is_empty() {
                d.spiral_k
            } else {
                self.spiral_k
            },
            seed: self.seed,
            resamples: self.resamples,
            model: self.model,
            chain_diagnostics: true,
            memory_budget: self.memory_budget.unwrap_or_default(),
        };
        let run = Run {
            out: self.out,
            threads: self.threads,
        };
        Ok((self.probe, opts, run))
    }
}

/// Run a probe, write its run directory, print its report.
pub fn probe(args: ProbeArgs) -> anyhow::Result<()> {
    let (kind, opts, run) = args.into_options()?;
    let started = chrono::Utc::now();
    let mut out = thread_pool(run.threads)?.install(|| probe_rows(kind, &opts))?;
    let mut md = format!(
        "# codecbench probe {}\n\ncodecbench {VERSION} · seed {} · {} bootstrap resamples · started {}\n\n",
        kind.name(),
        opts.seed,
        opts.resamples,
        started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    md.push_str(&report::probes_and_hypotheses(&out.rows, &out.notes));
    let reg = Registry::builtin();
    let matrix = hypothesis::evaluate(&reg, &out.rows);
    let via = hypothesis::viability(&reg, &out.rows);
    out.rows
        .extend(hypothesis::to_rows(&matrix, &via, opts.seed));

    let dir = create_run_dir(
        &run.out,
        &format!("{}-{}", started.format("%Y%m%d-%H%M%S"), kind.name()),
    )?;
    write_results(&dir, &out.rows)?;
    write_atomic(&dir.join("report.md"), md.as_bytes())?;
    let meta = serde_json::json!({
        "codecbench_version": VERSION,
        "probe": kind,
        "codecs": opts.codecs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "populations": opts.populations.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "weights": opts.weights,
        "sentences": opts.sentences,
        "train_sentences": opts.train_sentences,
        "score_population": opts.score_population.to_string(),
        "k": opts.k,
        "families": opts.families,
        "rows": opts.rows,
        "queries": opts.queries,
        "spiral_k": opts.spiral_k,
        "seed": opts.seed,
        "resamples": opts.resamples,
        "probe_notes": out.notes,
    });
    write_atomic(
        &dir.join("probe.json"),
        serde_json::to_string_pretty(&meta)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    if !update_latest(&run.out, &dir)? {
        eprintln!(
            "warning: {} is not a link codecbench made: left as it is",
            run.out.join("latest").display()
        );
    }
    print!("{md}");
    println!(
        "\nreport: {}\nresults: {} ({} rows)",
        dir.join("report.md").display(),
        dir.join("results.jsonl").display(),
        out.rows.len()
    );
    Ok(())
}
