//! P5, the chain probe: does a codec's error compound through a real network? The origin answered
//! that with a softmax "score chain" that flattened even its exact matrix and then reported the
//! zero-variance fallback as ρ = 0 (`origin.md` §3 P5, §7.1). Here the question is asked of the
//! real all-MiniLM-L6-v2 forward pass instead:
//!
//! - **Weight chain** ([`ChainSetup::run_codec`]): every linear weight of a chosen kind (q, k, v,
//!   o, up, down, attn, mlp, all) is replaced by the codec's reconstruction (fitted and encoded
//!   per matrix), the forward pass is rerun over real sentences, and per layer the hidden states
//!   are compared with the exact run (token cosine, relative Frobenius error); at the end the
//!   sentence embeddings (cosine) and retrieval (recall@k of the sentence among the 4096
//!   committed sentence embeddings). Only codecs that can decode take part.
//! - **Attention-score fidelity** ([`attention`]): for every codec, signature-grade ones included
//!   (they cannot feed a forward pass), the exact run's key rows are encoded per head and
//!   softmax(q·K̂ᵀ/√d) is compared with softmax(q·Kᵀ/√d): top-1 agreement, KL divergence, and
//!   the attention-weighted output error — the KV-cache use case of QJL / TurboQuant.
//! - **Score chain** ([`score`]): the origin's experiment reproduced as a diagnostic that reports
//!   the exact matrix's variance at every depth and refuses a correlation once the truth has
//!   collapsed.
//!
//! The unit of every confidence interval is the sentence (tokens of one sentence are not
//! independent): token-level means are ratios of per-sentence sums, bootstrapped over sentences.
//! Layer `L0` is the embedding output, `Ll` the output of encoder block `l` (1-based).

pub mod attention;
pub mod run;
pub mod weights;

pub use weights::WeightKind;
pub mod score;

use std::path::Path;

use rayon::prelude::*;

use crate::codec::{Codec, CodecSpec};
use crate::data::catalog::stable_hash;
use crate::data::{RowSelection, Rows};
use crate::error::{Error, Result};
use crate::metric::bootstrap::{mean_ci, ratio_ci};
use crate::metric::recall::{recall_chance, top_k_indices};
use crate::metric::suite::MetricValue;
use crate::model::{BertModel, WordPiece};

/// The committed sentences (one per line) whose MiniLM embeddings form `minilm-sentences`.
pub const TEXTS_FILE: &str = "debian_descriptions_4096.txt";
/// The committed embeddings of [`TEXTS_FILE`], row `i` = line `i`.
pub const CORPUS_FILE: &str = "minilm_l6_debian_sentences_4096.npy";

/// The committed sentences, one per line, in corpus order.
pub fn load_texts(data_dir: &Path) -> Result<Vec<String>> {
    let path = data_dir.join(TEXTS_FILE);
    let text = crate::input::read_to_string(&path)?;
    Ok(text.lines().map(str::to_string).collect())
}

/// A seeded sample of sentences: corpus line numbers and their token ids.
#[derive(Debug, Clone)]
pub struct Sentences {
    /// Line numbers in the corpus (= rows of [`CORPUS_FILE`]).
    pub lines: Vec<usize>,
    /// WordPiece ids (`[CLS] … [SEP]`).
    pub ids: Vec<Vec<u32>>,
}

impl Sentences {
    /// `count` lines drawn with `seed` among those not in `exclude`, ascending.
    pub fn sample(
        texts: &[String],
        tokenizer: &WordPiece,
        count: usize,
        seed: u64,
        exclude: &[usize],
    ) -> Sentences {
        let pool: Vec<usize> = (0..texts.len())
            .filter(|i| !exclude.contains(i) && !texts[*i].trim().is_empty())
            .collect();
        let picks = RowSelection::Sample { count, seed }.resolve(pool.len());
        let lines: Vec<usize> = picks.into_iter().map(|p| pool[p]).collect();
        let ids = lines.iter().map(|&l| tokenizer.encode(&texts[l])).collect();
        Sentences { lines, ids }
    }

    /// Number of sentences.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Total tokens.
    pub fn tokens(&self) -> usize {
        self.ids.iter().map(Vec::len).sum()
    }
}

/// Sizes of a chain run.
#[derive(Debug, Clone, Copy)]
pub struct ChainOptions {
    /// Evaluation sentences.
    pub sentences: usize,
    /// recall@k of the retrieval check.
    pub k: usize,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Root seed.
    pub seed: u64,
    /// The most one codec fit (or its codes of one weight matrix) may take.
    pub memory_budget: crate::budget::MemoryBudget,
}

/// Hidden states of one sentence: `[layer][token × hidden]` (as `BertModel::forward` returns).
pub type States = Vec<Rows>;

/// The exact run every codec is compared with: model, sentences, exact hidden states and
/// sentence embeddings, and the retrieval corpus.
pub struct ChainSetup {
    /// The exact model (weights are swapped on clones).
    pub model: BertModel,
    /// Evaluation sentences.
    pub sentences: Sentences,
    exact: Vec<States>,
    exact_emb: Vec<Vec<f32>>,
    /// Retrieval: exact top-k corpus rows per sentence (self excluded), when the corpus matches.
    retrieval: Option<Retrieval>,
    opts: ChainOptions,
}

struct Retrieval {
    corpus: Rows,
    truth_topk: Vec<Vec<usize>>,
}

/// Per-sentence sums of one layer's comparison.
#[derive(Debug, Clone, Copy, Default)]
struct LayerSums {
    cos: f64,
    tokens: f64,
    err2: f64,
    norm2: f64,
}

/// What one replaced-weights forward pass did, per sentence.
#[derive(Debug, Clone)]
pub struct ChainOutcome {
    /// Weights that were replaced.
    pub replaced: Vec<String>,
    layers: Vec<Vec<LayerSums>>, // [layer][sentence]
    sentence_cos: Vec<f64>,
    recall: Option<Vec<f64>>,
    corpus_rows: usize,
    k: usize,
    /// Bytes per row of the first replaced matrix's codec (0 for hand-made replacements).
    pub code_bytes: usize,
    /// Shared bytes of all replaced matrices' codecs.
    pub model_bytes: usize,
    /// Code bits (rows and shared state) per replaced weight, over all replaced matrices.
    pub bits_per_weight: f64,
}

impl ChainSetup {
    /// Run the exact model over `sentences`; `corpus` (the committed sentence embeddings) is
    /// used for retrieval when the exact embeddings of the sampled lines reproduce its rows.
    pub fn new(
        model: BertModel,
        sentences: Sentences,
        corpus: Option<Rows>,
        opts: ChainOptions,
    ) -> Result<Self> {
        if sentences.is_empty() {
            return Err(Error::InvalidPlan {
                field: "--sentences",
                reason: "the chain probe needs at least one sentence".to_string(),
            });
        }
        let exact = forward_all(&model, &sentences.ids)?;
        let exact_emb: Vec<Vec<f32>> = exact.iter().map(|s| pooled(last(s))).collect();
        let retrieval = corpus.and_then(|corpus| {
            let matches = sentences.lines.iter().zip(&exact_emb).all(|(&l, e)| {
                l < corpus.len()
                    && corpus.dim() == e.len()
                    && cosine(corpus.row(l), e).is_some_and(|c| c > 1.0 - 1e-4)
            });
            matches.then(|| {
                let truth_topk = sentences
                    .lines
                    .iter()
                    .zip(&exact_emb)
                    .map(|(&l, e)| corpus_topk(&corpus, e, l, opts.k))
                    .collect();
                Retrieval { corpus, truth_topk }
            })
        });
        Ok(ChainSetup {
            model,
            sentences,
            exact,
            exact_emb,
            retrieval,
            opts,
        })
    }

    /// The exact run's hidden states, per sentence.
    pub fn exact_states(&self) -> &[States] {
        &self.exact
    }

    /// Whether the retrieval check runs (the corpus was given and matches the model).
    pub fn has_retrieval(&self) -> bool {
        self.retrieval.is_some()
    }

    /// Replace every weight of `kind` by `spec`'s reconstruction (fitted on that matrix, seeded
    /// per matrix) and compare with the exact run. Codecs that cannot decode are refused.
    pub fn run_codec(&self, spec: &CodecSpec, kind: WeightKind) -> Result<ChainOutcome> {
        let seed = self.opts.seed ^ stable_hash(&format!("chain:{spec}:{kind}"));
        let names = kind.weight_names(&self.model);
        let fitted: Vec<(Rows, usize, usize)> = names
            .par_iter()
            .map(|name| {
                let w = self.model.weight(name)?;
                let codec: Box<dyn Codec> =
                    self.opts
                        .memory_budget
                        .fit(spec, w, seed ^ stable_hash(name), w.len())?;
                Ok((
                    reconstruct(codec.as_ref(), w)?,
                    codec.code_bytes(),
                    codec.model_bytes(),
                ))
            })
            .collect::<Result<_>>()?;
        let (mut bits, mut weights) = (0.0f64, 0.0f64);
        for (name, (_, code_bytes, model_bytes)) in names.iter().zip(&fitted) {
            let w = self.model.weight(name)?;
            bits += 8.0 * (code_bytes * w.len() + model_bytes) as f64;
            weights += (w.len() * w.dim()) as f64;
        }
        let code_bytes = fitted.first().map_or(0, |f| f.1);
        let model_bytes = fitted.iter().map(|f| f.2).sum();
        let replacements = names
            .into_iter()
            .zip(fitted)
            .map(|(n, (rows, _, _))| (n, rows))
            .collect();
        let mut out = self.run_with(replacements)?;
        out.code_bytes = code_bytes;
        out.model_bytes = model_bytes;
        out.bits_per_weight = if weights > 0.0 { bits / weights } else { 0.0 };
        Ok(out)
    }

    /// Replace each weight of `kind` by what `replace` returns for it (`None` keeps it) and
    /// compare with the exact run. The hook for deliberately broken or noisy weights in tests.
    pub fn run_replaced(
        &self,
        kind: WeightKind,
        replace: &(dyn Fn(&str, &Rows) -> Result<Option<Rows>> + Sync),
    ) -> Result<ChainOutcome> {
        let names = kind.weight_names(&self.model);
        let new: Vec<Option<Rows>> = names
            .par_iter()
            .map(|name| replace(name, self.model.weight(name)?))
            .collect::<Result<_>>()?;
        let replacements = names
            .into_iter()
            .zip(new)
            .filter_map(|(n, r)| r.map(|r| (n, r)))
            .collect();
        self.run_with(replacements)
    }

    fn run_with(&self, replacements: Vec<(String, Rows)>) -> Result<ChainOutcome> {
        let mut model = self.model.clone();
        let mut replaced = Vec::new();
        for (name, rows) in replacements {
            model.replace_weight(&name, rows)?;
            replaced.push(name);
        }
        let states = forward_all(&model, &self.sentences.ids)?;
        Ok(self.compare(replaced, &states))
    }

    fn compare(&self, replaced: Vec<String>, states: &[States]) -> ChainOutcome {
        let n_layers = self.exact.first().map_or(0, Vec::len);
        let layers = (0..n_layers)
            .map(|l| {
                self.exact
                    .iter()
                    .zip(states)
                    .map(|(e, m)| layer_sums(&e[l], &m[l]))
                    .collect()
            })
            .collect();
        let emb: Vec<Vec<f32>> = states.iter().map(|s| pooled(last(s))).collect();
        let sentence_cos = emb
            .iter()
            .zip(&self.exact_emb)
            .map(|(a, b)| cosine(a, b).unwrap_or(f64::NAN))
            .collect();
        let recall = self.retrieval.as_ref().map(|r| {
            self.sentences
                .lines
                .iter()
                .zip(&emb)
                .zip(&r.truth_topk)
                .map(|((&l, e), truth)| {
                    let got = corpus_topk(&r.corpus, e, l, self.opts.k);
                    let hits = got.iter().filter(|g| truth.contains(g)).count();
                    hits as f64 / truth.len().max(1) as f64
                })
                .collect()
        });
        ChainOutcome {
            replaced,
            layers,
            sentence_cos,
            recall,
            corpus_rows: self.retrieval.as_ref().map_or(0, |r| r.corpus.len()),
            k: self.opts.k,
            code_bytes: 0,
            model_bytes: 0,
            bits_per_weight: 0.0,
        }
    }
}

impl ChainOutcome {
    /// Number of hidden states compared (embedding output + one per block).
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// Mean token cosine to the exact run at hidden state `layer` (no CI; see [`Self::metrics`]).
    pub fn layer_cos(&self, layer: usize) -> f64 {
        let (c, t) = self.layers[layer]
            .iter()
            .fold((0.0, 0.0), |(c, t), s| (c + s.cos, t + s.tokens));
        c / t
    }

    /// ‖H − Ĥ‖_F / ‖H‖_F over all tokens at hidden state `layer`.
    pub fn layer_rel_err(&self, layer: usize) -> f64 {
        let (e, n) = self.layers[layer]
            .iter()
            .fold((0.0, 0.0), |(e, n), s| (e + s.err2, n + s.norm2));
        (e / n).sqrt()
    }

    /// Mean cosine of the sentence embeddings to the exact ones.
    pub fn sentence_cos(&self) -> f64 {
        self.sentence_cos.iter().sum::<f64>() / self.sentence_cos.len() as f64
    }

    /// Mean retrieval recall@k, when the retrieval check ran.
    pub fn recall(&self) -> Option<f64> {
        self.recall
            .as_ref()
            .map(|r| r.iter().sum::<f64>() / r.len() as f64)
    }

    /// Metrics with bootstrap CIs over sentences: `chain.cos@Ll`, `chain.rel_err@Ll` per hidden
    /// state, `chain.sentence_cos`, and `chain.recall@k` when the retrieval check ran.
    pub fn metrics(&self, resamples: usize, seed: u64) -> Vec<MetricValue> {
        let mut out = Vec::new();
        for (l, sums) in self.layers.iter().enumerate() {
            let cos: Vec<f64> = sums.iter().map(|s| s.cos).collect();
            let tok: Vec<f64> = sums.iter().map(|s| s.tokens).collect();
            out.push(MetricValue {
                name: format!("chain.cos@L{l}"),
                estimate: ratio_ci(&cos, &tok, resamples, seed ^ (l as u64)),
                chance: None,
                note: Some(format!(
                    "mean token cosine of hidden state L{l} to the exact run; CI over sentences"
                )),
            });
            let err: Vec<f64> = sums.iter().map(|s| s.err2).collect();
            let norm: Vec<f64> = sums.iter().map(|s| s.norm2).collect();
            let mut e = ratio_ci(&err, &norm, resamples, seed ^ 0x100 ^ (l as u64));
            // sqrt is monotone, so the percentile interval maps through it.
            e.value = e.value.map(f64::sqrt);
            e.ci_lo = e.ci_lo.map(f64::sqrt);
            e.ci_hi = e.ci_hi.map(f64::sqrt);
            out.push(MetricValue {
                name: format!("chain.rel_err@L{l}"),
                estimate: e,
                chance: None,
                note: Some("‖H − Ĥ‖_F / ‖H‖_F over all tokens; CI over sentences".to_string()),
            });
        }
        out.push(MetricValue {
            name: "chain.sentence_cos".to_string(),
            estimate: mean_ci(&self.sentence_cos, resamples, seed ^ 0x200),
            chance: None,
            note: Some("cosine of the sentence embedding to the exact one".to_string()),
        });
        if let Some(r) = &self.recall {
            out.push(MetricValue {
                name: format!("chain.recall@{}", self.k),
                estimate: mean_ci(r, resamples, seed ^ 0x300),
                chance: Some(recall_chance(self.k, self.corpus_rows.saturating_sub(1))),
                note: Some(format!(
                    "sentence embedded by the modified model, searched among the exact embeddings of the {} committed sentences (self excluded); truth = the exact model's top-{}",
                    self.corpus_rows, self.k
                )),
            });
        }
        out
    }
}

/// Decode every row of `w` through `codec` (fitted on `w`).
pub fn reconstruct(codec: &dyn Codec, w: &Rows) -> Result<Rows> {
    if !codec.can_decode() {
        return Err(
            codec.unsupported("decode (the chain probe feeds reconstructions to the forward pass)")
        );
    }
    let codes = codec.encode_all(w);
    let dim = w.dim();
    let mut data = vec![0.0f32; w.len() * dim];
    data.par_chunks_mut(dim)
        .zip(codes.as_bytes().par_chunks(codes.code_bytes()))
        .try_for_each(|(out, code)| codec.decode(code, out))?;
    Ok(Rows::new(dim, data))
}

/// Hidden states of every sentence, in parallel (each forward pass is independent).
pub fn forward_all(model: &BertModel, ids: &[Vec<u32>]) -> Result<Vec<States>> {
    model.forward_many(ids)
}

fn last(states: &States) -> &Rows {
    states
        .last()
        .expect("forward returns at least the embedding output")
}

/// Mean over tokens in f64, then L2-normalised with sentence-transformers' `max(‖x‖, 1e-12)`:
/// the same arithmetic as `BertModel::embed`, so the exact run reproduces the corpus rows.
pub fn pooled(h: &Rows) -> Vec<f32> {
    let mut sum = vec![0.0f64; h.dim()];
    for row in h.iter() {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let n = h.len() as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    mean.iter().map(|v| (v / norm) as f32).collect()
}

/// Cosine in f64; `None` when either side is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (aa > 0.0 && bb > 0.0).then(|| ab / (aa.sqrt() * bb.sqrt()))
}

fn layer_sums(exact: &Rows, got: &Rows) -> LayerSums {
    let mut s = LayerSums::default();
    for (e, g) in exact.iter().zip(got.iter()) {
        // A zero hidden state cannot occur after LayerNorm with nonzero gamma; count it as 0.
        s.cos += cosine(e, g).unwrap_or(0.0);
        s.tokens += 1.0;
        for (&a, &b) in e.iter().zip(g) {
            let (a, b) = (f64::from(a), f64::from(b));
            s.err2 += (a - b) * (a - b);
            s.norm2 += a * a;
        }
    }
    s
}

/// Top-`k` corpus rows by inner product with `query`, leaving out row `skip`.
fn corpus_topk(corpus: &Rows, query: &[f32], skip: usize, k: usize) -> Vec<usize> {
    let scores: Vec<f64> = corpus
        .iter()
        .enumerate()
        .map(|(j, row)| {
            if j == skip {
                f64::NEG_INFINITY
            } else {
                crate::codec::dot_f64(query, row)
            }
        })
        .collect();
    let mut top = top_k_indices(&scores, k + 1);
    top.retain(|&j| j != skip);
    top.truncate(k);
    top
}
