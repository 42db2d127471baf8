//! `ProbeOptions`: what a probe measures and at what sample sizes, validated and typed (every
//! spec parsed, nothing read yet). The binary builds it from `codecbench probe` flags, the runner
//! from a plan ([`ProbeOptions::quick`] for `--quick`).

use std::path::PathBuf;

use super::chain::WeightKind;
use super::spiral;
use crate::budget::MemoryBudget;
use crate::codec::CodecSpec;
use crate::data::catalog::PopulationSpec;

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
    /// MiniLM directory (None = fetched source).
    pub model: Option<PathBuf>,
    /// Chain: also attention fidelity and the score-chain diagnostic (false = weight chain only).
    pub chain_diagnostics: bool,
    /// The most one population sample, codec fit or set of codes may take (checked before
    /// allocating).
    pub memory_budget: MemoryBudget,
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
            seed: crate::results::plan::DEFAULT_SEED,
            resamples: crate::results::plan::DEFAULT_RESAMPLES,
            model: None,
            chain_diagnostics: true,
            memory_budget: MemoryBudget::default(),
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
            resamples: crate::results::plan::QUICK_RESAMPLES,
            ..ProbeOptions::default()
        }
    }
}
