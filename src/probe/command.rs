//! The library entry point of `codecbench probe chain|family|spiral|identity|all`: options
//! (and their clap flags), running the probes into tidy [`ResultRow`]s plus a Markdown section
//! each, evaluating the hypotheses registry on what was measured, and writing a run-style
//! directory (`results.jsonl`, `results.csv`, `report.md`, `probe.json`, the `latest` link).
//! [`probe_rows`] is the same without I/O, for `codecbench run` to include the probes.

use std::fmt::Write;
use std::path::PathBuf;

use super::chain::attention::{AttentionSetup, Biases};
use super::chain::score::{self, ScoreMatrix};
use super::chain::{self, ChainOptions, ChainSetup, Sentences, WeightKind};
use super::family::{self, PartitionMethod};
use super::identity::row_identity;
use super::spiral;
use crate::codec::{Codec, CodecSpec};
use crate::data::catalog::{LoadOptions, PopulationSpec, stable_hash};
use crate::data::population::NonFinitePolicy;
use crate::data::{Population, RowSelection, Rows};
use crate::error::{Error, Result};
use crate::hypothesis::{self, Registry};
use crate::metric::suite::MetricValue;
use crate::report::{fmt_ci, fmt_num};
use crate::run::ResultRow;
use crate::run::output::{create_run_dir, update_latest, write_atomic};
use crate::run::result::bits_per_dim;
use crate::run::runner::VERSION;

/// Which probe to run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// P5: weights replaced in the real MiniLM forward pass, attention-score fidelity, and the
    /// origin's score chain as a diagnostic.
    Chain,
    /// P7: within-family nearest-neighbour recall of several partitions, with chance Σp².
    Family,
    /// P1: spiral coordinate sampling against equal-byte random-coordinate and JL controls.
    Spiral,
    /// Row identity (gate 2 of index tensors): is a row's estimated nearest neighbour itself?
    Identity,
    /// P9: the palette + leaf hybrid at six bit layouts against baselines at equal bits.
    Resolution,
    /// All of the above.
    All,
}

impl ProbeKind {
    /// Every single probe, in the order `all` runs them.
    pub fn each() -> Vec<ProbeKind> {
        vec![
            ProbeKind::Chain,
            ProbeKind::Family,
            ProbeKind::Spiral,
            ProbeKind::Identity,
            ProbeKind::Resolution,
        ]
    }

    /// The probes a run includes by default: chain, family, spiral and identity. `--quick`
    /// leaves out the chain (it fits every codec on all 36 MiniLM weight matrices: minutes, not
    /// seconds); resolution is opt-in everywhere (it fits 1024-entry palettes and 8-bit PQ on
    /// ≥ 4096 rows per population: about a minute each).
    pub fn run_defaults(quick: bool) -> Vec<ProbeKind> {
        let mut v = ProbeKind::each();
        v.retain(|&k| k != ProbeKind::Resolution && !(quick && k == ProbeKind::Chain));
        v
    }

    /// `all` replaced by every probe; duplicates dropped; order of first mention kept.
    pub fn expand(kinds: &[ProbeKind]) -> Vec<ProbeKind> {
        let mut out = Vec::new();
        for &k in kinds {
            let items = if k == ProbeKind::All {
                ProbeKind::each()
            } else {
                vec![k]
            };
            for i in items {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// The probe's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Chain => "chain",
            ProbeKind::Family => "family",
            ProbeKind::Spiral => "spiral",
            ProbeKind::Identity => "identity",
            ProbeKind::Resolution => "resolution",
            ProbeKind::All => "all",
        }
    }
}

/// Flags of `codecbench probe` (clap derive; wire as `Command::Probe(ProbeArgs)`).
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// Which probe.
    #[arg(value_enum)]
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
    #[arg(long, default_value_t = DEFAULT_SENTENCES)]
    pub sentences: usize,
    /// Chain: further sentences whose keys fit the attention-fidelity codecs.
    #[arg(long, default_value_t = DEFAULT_TRAIN_SENTENCES)]
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
    #[arg(long, default_value_t = DEFAULT_ROWS)]
    pub rows: usize,
    /// Spiral / identity: query rows per population.
    #[arg(long, default_value_t = DEFAULT_QUERIES)]
    pub queries: usize,
    /// Spiral: K values (repeatable) [default: 4, 8, 16].
    #[arg(long = "spiral-k", value_name = "K")]
    pub spiral_k: Vec<usize>,
    /// Seed of all randomness.
    #[arg(long, default_value_t = crate::run::plan::DEFAULT_SEED)]
    pub seed: u64,
    /// Bootstrap resamples per CI.
    #[arg(long, default_value_t = crate::run::plan::DEFAULT_RESAMPLES)]
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
}

/// Default evaluation sentences of the chain probe.
pub const DEFAULT_SENTENCES: usize = 48;
/// Default training sentences of the attention-fidelity codecs.
pub const DEFAULT_TRAIN_SENTENCES: usize = 16;
/// Default row cap of family / spiral / identity.
pub const DEFAULT_ROWS: usize = 1024;
/// Default query rows of spiral / identity.
pub const DEFAULT_QUERIES: usize = 256;

/// Validated probe options (every spec parsed; nothing read yet).
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Codecs.
    pub codecs: Vec<CodecSpec>,
    /// Populations for family / spiral / identity (empty = each probe's defaults).
    pub populations: Vec<PopulationSpec>,
    /// Chain weight kinds.
    pub weights: Vec<WeightKind>,
    /// Chain evaluation sentences.
    pub sentences: usize,
    /// Attention-fidelity training sentences.
    pub train_sentences: usize,
    /// Attention fidelity per head too.
    pub per_head: bool,
    /// Score-chain population.
    pub score_population: PopulationSpec,
    /// Chain retrieval recall@k.
    pub k: usize,
    /// Families.
    pub families: usize,
    /// Row cap.
    pub rows: usize,
    /// Query rows.
    pub queries: usize,
    /// Spiral K values.
    pub spiral_k: Vec<usize>,
    /// Seed.
    pub seed: u64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Parent of the run directory.
    pub out: PathBuf,
    /// MiniLM directory (None = fetched source).
    pub model: Option<PathBuf>,
    /// Threads.
    pub threads: Option<usize>,
    /// Chain: also attention fidelity and the score-chain diagnostic (false = weight chain only).
    pub chain_diagnostics: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            codecs: CodecSpec::defaults(),
            populations: Vec::new(),
            weights: vec![WeightKind::K, WeightKind::Up, WeightKind::All],
            sentences: DEFAULT_SENTENCES,
            train_sentences: DEFAULT_TRAIN_SENTENCES,
            per_head: false,
            score_population: PopulationSpec::Real {
                entry: crate::data::real::RealPopulation::find("minilm-k").unwrap_or(0),
                layer: Some(0),
            },
            k: 10,
            families: 16,
            rows: DEFAULT_ROWS,
            queries: DEFAULT_QUERIES,
            spiral_k: spiral::DEFAULT_KS.to_vec(),
            seed: crate::run::plan::DEFAULT_SEED,
            resamples: crate::run::plan::DEFAULT_RESAMPLES,
            out: PathBuf::from("reports/probes"),
            model: None,
            threads: None,
            chain_diagnostics: true,
        }
    }
}

impl ProbeOptions {
    /// Smaller samples for smoke runs and `codecbench run --quick`: 16 sentences, weights k and
    /// all, 512 rows, 128 queries, 200 resamples.
    pub fn quick() -> Self {
        ProbeOptions {
            sentences: 16,
            train_sentences: 8,
            weights: vec![WeightKind::K, WeightKind::All],
            rows: 512,
            queries: 128,
            resamples: crate::run::plan::QUICK_RESAMPLES,
            ..ProbeOptions::default()
        }
    }
}

impl ProbeArgs {
    /// Parse every spec into options.
    pub fn into_options(self) -> Result<(ProbeKind, ProbeOptions)> {
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
            out: self.out,
            model: self.model,
            threads: self.threads,
            chain_diagnostics: true,
        };
        Ok((self.probe, opts))
    }
}

/// What `probe_command` produced.
#[derive(Debug, Clone)]
pub struct ProbeOutput {
    /// The run directory.
    pub dir: PathBuf,
    /// Every result row (measurements, then verdict rows).
    pub rows: Vec<ResultRow>,
    /// The Markdown report (`report.md`).
    pub markdown: String,
}

/// Run a probe and write its run directory under `opts.out`.
pub fn probe_command(kind: ProbeKind, opts: &ProbeOptions) -> Result<ProbeOutput> {
    let pool = pool(opts.threads)?;
    let (mut rows, sections) = pool.install(|| probe_rows(kind, opts))?;
    let reg = Registry::builtin();
    let matrix = hypothesis::evaluate(&reg, &rows);
    let via = hypothesis::viability(&reg, &rows);
    let mut md = format!(
        "# codecbench probe {}\n\ncodecbench {VERSION} · seed {} · {} bootstrap resamples · started {}\n\n",
        kind.name(),
        opts.seed,
        opts.resamples,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    md.push_str(&sections);
    md.push('\n');
    md.push_str(&hypothesis::render_markdown(&reg, &matrix, &via));
    rows.extend(hypothesis::to_rows(&matrix, &via, opts.seed));

    let now = chrono::Utc::now();
    let dir = create_run_dir(
        &opts.out,
        &format!("{}-{}", now.format("%Y%m%d-%H%M%S"), kind.name()),
    )?;
    let csv = crate::report::csv::render(&rows).map_err(|e| Error::Write {
        path: dir.join("results.csv"),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&dir.join("results.csv"), csv.as_bytes())?;
    write_atomic(
        &dir.join("results.jsonl"),
        crate::report::jsonl::render(&rows).as_bytes(),
    )?;
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
    });
    write_atomic(
        &dir.join("probe.json"),
        serde_json::to_string_pretty(&meta)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    update_latest(&opts.out, &dir)?;
    Ok(ProbeOutput {
        dir,
        rows,
        markdown: md,
    })
}

fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        b = b.num_threads(t);
    }
    b.build().map_err(|e| Error::InvalidPlan {
        field: "--threads",
        reason: e.to_string(),
    })
}

/// Run a probe without writing anything: result rows and the Markdown sections.
pub fn probe_rows(kind: ProbeKind, opts: &ProbeOptions) -> Result<(Vec<ResultRow>, String)> {
    let mut rows = Vec::new();
    let mut md = String::new();
    let run = |k: ProbeKind| kind == k || kind == ProbeKind::All;
    if run(ProbeKind::Chain) {
        chain_probe(opts, &mut rows, &mut md)?;
    }
    if run(ProbeKind::Family) {
        family_probe(opts, &mut rows, &mut md)?;
    }
    if run(ProbeKind::Spiral) {
        spiral_probe(opts, &mut rows, &mut md)?;
    }
    if run(ProbeKind::Identity) {
        identity_probe(opts, &mut rows, &mut md)?;
    }
    if run(ProbeKind::Resolution) {
        super::resolution::resolution_probe(opts, &mut rows, &mut md)?;
    }
    Ok((rows, md))
}

/// The context columns of a result row.
#[derive(Debug, Clone, Default)]
pub struct RowContext {
    /// Population.
    pub population: String,
    /// Codec spec or probe method.
    pub codec: String,
    /// Bytes per row.
    pub bytes_per_row: usize,
    /// Shared bytes.
    pub model_bytes: usize,
    /// Bits per dimension.
    pub bits_per_dim: f64,
    /// Codec grade.
    pub grade: String,
    /// Codec family.
    pub family: String,
    /// Row dimension.
    pub dim: usize,
    /// Rows encoded / compared.
    pub base_rows: usize,
    /// Queries (sentences, rows).
    pub queries: usize,
    /// Which probe.
    pub split: String,
    /// Run seed.
    pub seed: u64,
}

impl RowContext {
    /// Context of a fitted codec that encoded `rows` rows of a population of `population_rows`
    /// rows before sampling ([`Provenance::source_rows`]): bits/dim amortises the codec's shared
    /// state over the population, so it does not depend on how many rows were sampled.
    ///
    /// [`Provenance::source_rows`]: crate::data::Provenance::source_rows
    pub fn for_codec(
        codec: &dyn Codec,
        population: &str,
        rows: usize,
        population_rows: usize,
        split: &str,
        seed: u64,
    ) -> Self {
        RowContext {
            population: population.to_string(),
            codec: codec.spec().to_string(),
            bytes_per_row: codec.code_bytes(),
            model_bytes: codec.model_bytes(),
            bits_per_dim: bits_per_dim(
                codec.code_bytes(),
                codec.model_bytes(),
                population_rows.max(rows),
                codec.dim(),
            ),
            grade: codec.grade().to_string(),
            family: codec.family().to_string(),
            dim: codec.dim(),
            base_rows: rows,
            queries: 0,
            split: split.to_string(),
            seed,
        }
    }

    /// One result row of this context.
    pub fn row(&self, m: MetricValue) -> ResultRow {
        ResultRow {
            population: self.population.clone(),
            codec: self.codec.clone(),
            metric: m.name,
            value: m.estimate.value,
            ci_lo: m.estimate.ci_lo,
            ci_hi: m.estimate.ci_hi,
            n: m.estimate.n,
            draws: 1,
            chance: m.chance,
            bytes_per_row: self.bytes_per_row,
            model_bytes: self.model_bytes,
            bits_per_dim: self.bits_per_dim,
            grade: self.grade.clone(),
            family: self.family.clone(),
            dim: self.dim,
            base_rows: self.base_rows,
            queries: self.queries,
            split: self.split.clone(),
            seed: self.seed,
            codecbench_version: VERSION.to_string(),
            note: m.note,
        }
    }
}

fn load_population(
    spec: &PopulationSpec,
    max_rows: Option<usize>,
    seed: u64,
) -> Result<Population> {
    spec.load(
        spec.default_kind(),
        &LoadOptions {
            max_rows,
            seed,
            nonfinite: NonFinitePolicy::Error,
        },
    )
}

fn populations_or(opts: &ProbeOptions, defaults: &[&str]) -> Result<Vec<PopulationSpec>> {
    if opts.populations.is_empty() {
        defaults.iter().map(|s| PopulationSpec::parse(s)).collect()
    } else {
        Ok(opts.populations.clone())
    }
}

fn find<'a>(rows: &'a [ResultRow], pop: &str, codec: &str, metric: &str) -> Option<&'a ResultRow> {
    rows.iter()
        .find(|r| r.population == pop && r.codec == codec && r.metric == metric)
}

fn cell(r: Option<&ResultRow>) -> String {
    r.map_or("—".to_string(), |r| fmt_ci(r.value, r.ci_lo, r.ci_hi))
}

/// P5: the chain, attention fidelity and the score chain.
fn chain_probe(opts: &ProbeOptions, rows: &mut Vec<ResultRow>, md: &mut String) -> Result<()> {
    // Codecs a section cannot fit (e.g. a palette larger than the rows it is fitted on) are
    // listed at the end with the reason; the other codecs are still measured.
    let mut not_measured: Vec<String> = Vec::new();
    let dir = opts.model.clone().unwrap_or_else(crate::model::minilm_dir);
    if !dir.join("model.safetensors").is_file() {
        return Err(Error::NotFetched {
            what: "codecbench probe chain".to_string(),
            source_name: "minilm".to_string(),
            path: dir,
        });
    }
    let (tok, model) = crate::model::load_dir(&dir)?;
    let data = crate::data::real::data_dir();
    let texts = chain::load_texts(&data)?;
    let corpus_path = data.join(chain::CORPUS_FILE);
    let corpus = if corpus_path.is_file() {
        Some(crate::data::npy::load(&corpus_path, &RowSelection::All)?.rows)
    } else {
        None
    };
    let eval = Sentences::sample(
        &texts,
        &tok,
        opts.sentences,
        opts.seed ^ stable_hash("chain:eval"),
        &[],
    );
    let train = Sentences::sample(
        &texts,
        &tok,
        opts.train_sentences,
        opts.seed ^ stable_hash("chain:train"),
        &eval.lines,
    );
    let n_sent = eval.len();
    let tokens = eval.tokens();
    let setup = ChainSetup::new(
        model,
        eval,
        corpus,
        ChainOptions {
            sentences: opts.sentences,
            k: opts.k,
            resamples: opts.resamples,
            seed: opts.seed,
        },
    )?;
    let hidden = setup.model.hidden_size();
    let _ = writeln!(
        md,
        "## P5 — chain: codec reconstructions inside the real MiniLM forward pass\n\n{n_sent} sentences ({tokens} tokens) sampled from data/{} with seed {}; L0 = embedding output, Ll = output of block l. Cosine = mean token cosine of the hidden state to the exact run (CI over sentences); recall@{} = the modified model's sentence embedding searched among the {} committed exact embeddings.{}\n",
        chain::TEXTS_FILE,
        opts.seed,
        opts.k,
        if setup.has_retrieval() {
            "4096"
        } else {
            "(missing)"
        },
        if setup.has_retrieval() {
            ""
        } else {
            " The retrieval corpus is missing or does not match the model: no recall."
        }
    );
    // Decodability is known from the spec (`CodecSpec::decodes`), so no fit is spent on it.
    let (decodable, skipped): (Vec<&CodecSpec>, Vec<&CodecSpec>) =
        opts.codecs.iter().partition(|spec| spec.decodes());
    let skipped: Vec<String> = skipped.iter().map(ToString::to_string).collect();
    let n_layers = setup.model.config().num_hidden_layers + 1;
    let _ = write!(md, "| weights | codec | bits/weight |");
    for l in 0..n_layers {
        let _ = write!(md, " cos L{l} |");
    }
    let _ = writeln!(
        md,
        " rel. err L{} | sentence cos | recall@{} |",
        n_layers - 1,
        opts.k
    );
    let _ = write!(md, "|---|---|---|");
    for _ in 0..n_layers {
        let _ = write!(md, "---|");
    }
    let _ = writeln!(md, "---|---|---|");
    for &kind in &opts.weights {
        let population = format!("minilm-chain:kind={kind}");
        for spec in &decodable {
            let out = match setup.run_codec(spec, kind) {
                Ok(out) => out,
                Err(e) => {
                    not_measured.push(format!("{spec} (weights {kind}): {e}"));
                    continue;
                }
            };
            let ctx = RowContext {
                population: population.clone(),
                codec: spec.to_string(),
                bytes_per_row: out.code_bytes,
                model_bytes: out.model_bytes,
                bits_per_dim: out.bits_per_weight,
                grade: "reconstruction".to_string(),
                family: CodecSpec::to_string(spec)
                    .split(':')
                    .next()
                    .map(codec_family)
                    .unwrap_or_default(),
                dim: hidden,
                base_rows: out.replaced.len(),
                queries: n_sent,
                split: "chain".to_string(),
                seed: opts.seed,
            };
            let seed = opts.seed ^ stable_hash(&format!("{population}{spec}"));
            let new: Vec<ResultRow> = out
                .metrics(opts.resamples, seed)
                .into_iter()
                .map(|m| ctx.row(m))
                .collect();
            let _ = write!(
                md,
                "| {kind} ({}) | {spec} | {} |",
                out.replaced.len(),
                fmt_num(out.bits_per_weight)
            );
            for l in 0..n_layers {
                let _ = write!(
                    md,
                    " {} |",
                    cell(find(
                        &new,
                        &population,
                        &ctx.codec,
                        &format!("chain.cos@L{l}")
                    ))
                );
            }
            let _ = writeln!(
                md,
                " {} | {} | {} |",
                cell(find(
                    &new,
                    &population,
                    &ctx.codec,
                    &format!("chain.rel_err@L{}", n_layers - 1)
                )),
                cell(find(&new, &population, &ctx.codec, "chain.sentence_cos")),
                cell(find(
                    &new,
                    &population,
                    &ctx.codec,
                    &format!("chain.recall@{}", opts.k)
                )),
            );
            rows.extend(new);
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            md,
            "\nNot in the weight chain (cannot decode, so cannot feed a forward pass): {}. They are measured by attention fidelity below.",
            skipped.join(", ")
        );
    }

    if !opts.chain_diagnostics {
        not_measured_section(md, &not_measured);
        return Ok(());
    }

    // Attention-score fidelity, every codec.
    let train_states = chain::forward_all(&setup.model, &train.ids)?;
    let c = setup.model.config();
    let biases = Biases::load(&dir, c.num_hidden_layers, c.hidden_size)?;
    let attn = AttentionSetup::new(&setup.model, &biases, setup.exact_states(), &train_states)?;
    let _ = writeln!(
        md,
        "\n### Attention-score fidelity (keys encoded per head, d = {}; {} key rows per head; codecs fitted on {} other sentences)\n\n| codec | grade | bytes/key | top-1 (chance) | KL nats | output error | worst block top-1 |\n|---|---|---|---|---|---|---|",
        attn.head_dim(),
        attn.key_rows(),
        train.len()
    );
    for spec in &opts.codecs {
        let fit = |rows: &Rows, seed: u64| spec.fit(rows, seed);
        let out = match attn.run(&fit, opts.seed ^ stable_hash(&format!("attn:{spec}"))) {
            Ok(out) => out,
            Err(e) => {
                not_measured.push(format!("{spec} (attention fidelity): {e}"));
                continue;
            }
        };
        let ctx = RowContext {
            population: "minilm-attention".to_string(),
            codec: spec.to_string(),
            bytes_per_row: out.code_bytes,
            model_bytes: out.model_bytes,
            bits_per_dim: bits_per_dim(
                out.code_bytes,
                out.model_bytes,
                attn.key_rows(),
                attn.head_dim(),
            ),
            grade: out.grade.clone(),
            family: out.family.clone(),
            dim: attn.head_dim(),
            base_rows: attn.key_rows(),
            queries: n_sent,
            split: "attention".to_string(),
            seed: opts.seed,
        };
        let new: Vec<ResultRow> = out
            .metrics(
                opts.resamples,
                opts.seed ^ stable_hash(&format!("attnm:{spec}")),
                opts.per_head,
            )
            .into_iter()
            .map(|m| ctx.row(m))
            .collect();
        let top1 = find(&new, "minilm-attention", &ctx.codec, "attn.top1");
        let worst = (1..=out.n_layers())
            .filter_map(|l| {
                find(
                    &new,
                    "minilm-attention",
                    &ctx.codec,
                    &format!("attn.top1@L{l}"),
                )
            })
            .filter(|r| r.value.is_some())
            .min_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)));
        let _ = writeln!(
            md,
            "| {spec} | {} | {} | {} ({}) | {} | {} | {} |",
            ctx.grade,
            ctx.bytes_per_row,
            cell(top1),
            top1.and_then(|r| r.chance).map_or("—".to_string(), fmt_num),
            cell(find(&new, "minilm-attention", &ctx.codec, "attn.kl")),
            cell(find(&new, "minilm-attention", &ctx.codec, "attn.out_err")),
            worst.map_or("—".to_string(), |r| format!(
                "{} ({})",
                fmt_ci(r.value, r.ci_lo, r.ci_hi),
                r.metric.trim_start_matches("attn.top1@")
            ))
        );
        rows.extend(new);
    }

    // The origin's score chain, as a diagnostic.
    let pop = load_population(&opts.score_population, None, opts.seed)?;
    let nonzero: Vec<usize> = (0..pop.rows.len())
        .filter(|&i| pop.rows.row(i).iter().any(|&v| v != 0.0))
        .collect();
    let pick = RowSelection::Sample {
        count: score::DEFAULT_ROWS,
        seed: opts.seed ^ stable_hash("scorechain"),
    }
    .resolve(nonzero.len());
    let sample = pop
        .rows
        .select(&pick.iter().map(|&p| nonzero[p]).collect::<Vec<_>>());
    let truth = ScoreMatrix::exact(&sample);
    let _ = writeln!(
        md,
        "\n### The origin's score chain (diagnostic): M ← S·M·Sᵀ, S = rowwise softmax(M), {} rows of {}\n\nSpearman of the chained estimate vs the chained exact matrix; `undefined` once the exact matrix is constant to rounding (the origin printed its zero-variance fallback, ρ = 0.000).\n",
        sample.len(),
        pop.name
    );
    let depths = score::DEFAULT_DEPTHS;
    let _ = write!(md, "| method |");
    for d in depths {
        let _ = write!(md, " L{d} |");
    }
    let _ = write!(md, "\n|---|");
    for _ in depths {
        let _ = write!(md, "---|");
    }
    let _ = writeln!(md);
    let mut methods: Vec<(String, ScoreMatrix, RowContext)> = Vec::new();
    for spec in &opts.codecs {
        let codec = match spec.fit(&pop.rows, opts.seed ^ stable_hash(&format!("score:{spec}"))) {
            Ok(c) => c,
            Err(e) => {
                not_measured.push(format!("{spec} (score chain): {e}"));
                continue;
            }
        };
        let mut ctx = RowContext::for_codec(
            codec.as_ref(),
            &pop.name,
            sample.len(),
            pop.provenance.source_rows,
            "scorechain",
            opts.seed,
        );
        ctx.queries = sample.len();
        methods.push((
            spec.to_string(),
            ScoreMatrix::codec(codec.as_ref(), &sample),
            ctx,
        ));
    }
    methods.push((
        "origin:i8-scalar".to_string(),
        truth.origin_i8(),
        RowContext {
            population: pop.name.clone(),
            codec: "origin:i8-scalar".to_string(),
            bytes_per_row: sample.len(),
            grade: "signature".to_string(),
            family: "scalar".to_string(),
            dim: sample.dim(),
            base_rows: sample.len(),
            queries: sample.len(),
            split: "scorechain".to_string(),
            seed: opts.seed,
            ..RowContext::default()
        },
    ));
    let mut truth_line = String::from("| *truth variance* |");
    for (i, (name, est, ctx)) in methods.iter().enumerate() {
        let reports = score::run(
            &truth,
            est,
            depths,
            opts.resamples.min(200),
            opts.seed ^ stable_hash(name),
        );
        if i == 0 {
            for r in &reports {
                let _ = write!(
                    truth_line,
                    " {:.2e}{} |",
                    r.truth_variance,
                    if r.note
                        .as_deref()
                        .is_some_and(|n| n.contains("truth constant"))
                    {
                        " (collapsed)"
                    } else {
                        ""
                    }
                );
            }
        }
        let _ = write!(md, "| {name} |");
        for r in &reports {
            let _ = write!(
                md,
                " {} |",
                if r.spearman.value.is_none() {
                    "undefined".to_string()
                } else {
                    fmt_ci(r.spearman.value, r.spearman.ci_lo, r.spearman.ci_hi)
                }
            );
        }
        let _ = writeln!(md);
        rows.extend(score::metrics(&reports).into_iter().map(|m| ctx.row(m)));
    }
    let _ = writeln!(md, "{truth_line}");
    not_measured_section(md, &not_measured);
    Ok(())
}

/// The chain probe's list of codecs it could not fit or run, with the reasons.
fn not_measured_section(md: &mut String, not_measured: &[String]) {
    if !not_measured.is_empty() {
        let _ = writeln!(md, "\nNot measured by the chain probe:\n");
        for n in not_measured {
            let _ = writeln!(md, "- {n}");
        }
    }
}

/// The family of a codec by spec name, from the registry of codecs.
fn codec_family(name: &str) -> String {
    crate::codec::spec::CODECS
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.family.to_string())
        .unwrap_or_default()
}

/// P7: family recall of every partition method on each population.
fn family_probe(opts: &ProbeOptions, rows: &mut Vec<ResultRow>, md: &mut String) -> Result<()> {
    let specs = populations_or(
        opts,
        &[
            "minilm-k:layer=0",
            "minilm-up",
            "minilm-vocab",
            "minilm-sentences",
            "clustered",
            "gaussian",
        ],
    )?;
    let _ = writeln!(
        md,
        "\n## P7 — family recall: does a row's exact nearest neighbour share its family? ({} families)\n\nLabels are attached to row ids; chance = Σ n_f(n_f−1)/(n(n−1)) (Σp² without replacement); κ = (recall − chance)/(1 − chance). CIs over rows.\n",
        opts.families
    );
    for spec in &specs {
        let pop = load_population(spec, Some(opts.rows), opts.seed)?;
        let seed = opts.seed ^ stable_hash(&format!("family:{}", pop.name));
        let measured = family::family_metrics(
            &pop.rows,
            opts.families,
            &PartitionMethod::ALL,
            opts.resamples,
            seed,
        )?;
        let _ = writeln!(
            md,
            "**{}** ({} rows × {})\n\n| method | recall | chance | κ |\n|---|---|---|---|",
            pop.name,
            pop.rows.len(),
            pop.rows.dim()
        );
        let base = RowContext {
            population: pop.name.clone(),
            dim: pop.rows.dim(),
            base_rows: pop.rows.len(),
            queries: pop.rows.len(),
            split: "family".to_string(),
            seed: opts.seed,
            ..RowContext::default()
        };
        let new: Vec<ResultRow> = measured
            .into_iter()
            .map(|(method, m)| {
                RowContext {
                    codec: method,
                    ..base.clone()
                }
                .row(m)
            })
            .collect();
        for m in PartitionMethod::ALL {
            let r = find(&new, &pop.name, m.name(), "family.recall");
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                m.name(),
                cell(r),
                r.and_then(|r| r.chance).map_or("—".to_string(), fmt_num),
                cell(find(&new, &pop.name, m.name(), "family.kappa"))
            );
        }
        let extras: Vec<String> = new
            .iter()
            .filter(|r| r.codec == "(population)")
            .map(|r| {
                format!(
                    "{} = {}{}",
                    r.metric,
                    fmt_ci(r.value, r.ci_lo, r.ci_hi),
                    r.chance
                        .map_or(String::new(), |c| format!(" (chance {})", fmt_num(c)))
                )
            })
            .collect();
        let _ = writeln!(md, "\n{}\n", extras.join(" · "));
        rows.extend(new);
    }
    Ok(())
}

/// P1: spiral vs equal-byte controls on each population.
fn spiral_probe(opts: &ProbeOptions, rows: &mut Vec<ResultRow>, md: &mut String) -> Result<()> {
    let specs = populations_or(
        opts,
        &["minilm-k:layer=0", "minilm-up", "gaussian:n=1024,d=384"],
    )?;
    let _ = writeln!(
        md,
        "\n## P1 — spiral sampling vs equal-byte controls\n\nTop-1 = exact NN is the signature's NN; top-5 = exact NN within the signature's top 5; rank agreement = (1 + τ_b)/2 of signature vs exact cosines over all other rows (the origin's G2/G3). CIs over query rows.\n"
    );
    for spec in &specs {
        let pop = load_population(spec, Some(opts.rows), opts.seed)?;
        let seed = opts.seed ^ stable_hash(&format!("spiral:{}", pop.name));
        let measured = spiral::spiral_metrics(
            &pop.rows,
            &opts.spiral_k,
            opts.queries,
            opts.resamples,
            seed,
        );
        let nq = opts.queries.min(pop.rows.len());
        let new: Vec<ResultRow> = measured
            .into_iter()
            .map(|(name, bytes, m)| {
                RowContext {
                    population: pop.name.clone(),
                    codec: name,
                    bytes_per_row: bytes,
                    bits_per_dim: 8.0 * bytes as f64 / pop.rows.dim() as f64,
                    grade: "signature".to_string(),
                    family: "signature".to_string(),
                    dim: pop.rows.dim(),
                    base_rows: pop.rows.len(),
                    queries: nq,
                    split: "spiral".to_string(),
                    seed: opts.seed,
                    ..RowContext::default()
                }
                .row(m)
            })
            .collect();
        let _ = writeln!(
            md,
            "**{}** ({} rows × {}, {nq} queries)\n\n| sketch | bytes/row | top-1 | top-5 | rank agreement |\n|---|---|---|---|---|",
            pop.name,
            pop.rows.len(),
            pop.rows.dim()
        );
        let mut names: Vec<(String, usize)> = Vec::new();
        for r in &new {
            if r.metric == "spiral.top1" && !names.iter().any(|(n, _)| n == &r.codec) {
                names.push((r.codec.clone(), r.bytes_per_row));
            }
        }
        for (name, bytes) in &names {
            let _ = writeln!(
                md,
                "| {name} | {bytes} | {} | {} | {} |",
                cell(find(&new, &pop.name, name, "spiral.top1")),
                cell(find(&new, &pop.name, name, "spiral.top5")),
                cell(find(&new, &pop.name, name, "spiral.rank_agree"))
            );
        }
        let diffs: Vec<String> = new
            .iter()
            .filter(|r| r.metric.starts_with("spiral.diff_"))
            .map(|r| {
                format!(
                    "{} {} = {}",
                    r.codec,
                    r.metric.trim_start_matches("spiral."),
                    fmt_ci(r.value, r.ci_lo, r.ci_hi)
                )
            })
            .collect();
        let _ = writeln!(
            md,
            "\nPaired differences (spiral − control): {}\n",
            diffs.join(" · ")
        );
        rows.extend(new);
    }
    Ok(())
}

/// Row identity of every codec on each population (each codec fitted on all the population's
/// rows it encodes).
fn identity_probe(opts: &ProbeOptions, rows: &mut Vec<ResultRow>, md: &mut String) -> Result<()> {
    let specs = if opts.populations.is_empty() {
        PopulationSpec::defaults()
    } else {
        opts.populations.clone()
    };
    md.push_str(IDENTITY_HEADER);
    for spec in &specs {
        let pop = load_population(spec, Some(opts.rows), opts.seed)?;
        for cspec in &opts.codecs {
            let seed = identity_seed(opts, &pop.name, cspec);
            let codec = cspec.fit(&pop.rows, seed)?;
            let (r, line) = identity_row(opts, &pop.name, &pop.rows, cspec, codec.as_ref());
            md.push_str(&line);
            rows.push(r);
        }
    }
    Ok(())
}

/// The Markdown table header of the identity probe's section.
pub const IDENTITY_HEADER: &str = "\n## Row identity (gate 2 of index tensors): is a row's top candidate by estimated cosine the row itself?\n\n| population | codec | bytes/row | identity top-1 |\n|---|---|---|---|\n";

/// The seed of the identity probe's query sample and bootstrap for one population × codec.
pub fn identity_seed(opts: &ProbeOptions, population: &str, cspec: &CodecSpec) -> u64 {
    opts.seed ^ stable_hash(&format!("identity:{population}:{cspec}"))
}

/// `identity.top1` of one fitted codec over `rows` (every row encoded, up to `opts.queries`
/// sampled rows as queries): the result row and its Markdown table line. `codecbench run`
/// calls it with each cell's fitted codec, the standalone probe with a codec fitted on `rows`.
pub fn identity_row(
    opts: &ProbeOptions,
    population: &str,
    rows: &Rows,
    cspec: &CodecSpec,
    codec: &dyn Codec,
) -> (ResultRow, String) {
    let seed = identity_seed(opts, population, cspec);
    let m = row_identity(codec, rows, opts.queries, opts.resamples, seed);
    // Only the (sampled) rows are known here: their count stands in for the population's.
    let mut ctx = RowContext::for_codec(
        codec,
        population,
        rows.len(),
        rows.len(),
        "identity",
        opts.seed,
    );
    ctx.queries = opts.queries.min(rows.len());
    let r = ctx.row(m);
    let line = format!(
        "| {} | {} | {} | {} |\n",
        population,
        r.codec,
        r.bytes_per_row,
        fmt_ci(r.value, r.ci_lo, r.ci_hi)
    );
    (r, line)
}
