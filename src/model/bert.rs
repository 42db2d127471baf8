//! A BERT encoder forward pass in plain Rust, so codecs can be judged by what they do to a real
//! model's outputs (sentence embeddings, hidden states layer by layer) and not only to its
//! weight rows. Any linear weight can be swapped for a codec's reconstruction
//! ([`BertModel::replace_weight`]) and the forward pass rerun.
//!
//! The architecture is BERT's encoder (Devlin et al., "BERT: Pre-training of Deep Bidirectional
//! Transformers for Language Understanding", NAACL 2019, arXiv:1810.04805) as implemented by
//! Hugging Face `transformers`' `BertModel` (post-LayerNorm blocks, exact erf GELU, absolute
//! position embeddings). Sentence embeddings follow sentence-transformers (Reimers & Gurevych,
//! "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks", EMNLP 2019,
//! arXiv:1908.10084) as configured for `all-MiniLM-L6-v2`: mean pooling over all tokens, then L2
//! normalisation.
//!
//! Weights load from `model.safetensors` (F32, F16 or BF16, converted to f32) with the shapes
//! `config.json` implies; names are those of `BertModel` checkpoints, optionally under `bert.`.

use std::path::Path;

use rayon::prelude::*;
use serde::Deserialize;

use super::ops::{View, gelu, gemm, layer_norm, softmax_rows};
use super::tokenizer::WordPiece;
use crate::data::Rows;
use crate::data::safetensors::{Checkpoint, close_names};
use crate::error::{Error, Result};

/// The `config.json` fields the forward pass needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    #[serde(default = "default_position_embedding_type")]
    pub position_embedding_type: String,
}

fn default_type_vocab_size() -> usize {
    2
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_hidden_act() -> String {
    "gelu".to_string()
}
fn default_position_embedding_type() -> String {
    "absolute".to_string()
}

impl BertConfig {
    /// Read and check a `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let config: BertConfig = serde_json::from_slice(&bytes)
            .map_err(|e| bad_config(path, format!("cannot parse: {e}")))?;
        config.check().map_err(|reason| bad_config(path, reason))?;
        Ok(config)
    }

    fn check(&self) -> std::result::Result<(), String> {
        let sizes = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be positive"));
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps >= 0.0) {
            return Err(format!("layer_norm_eps {} is invalid", self.layer_norm_eps));
        }
        if self.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act '{}' is not supported (only exact \"gelu\")",
                self.hidden_act
            ));
        }
        if self.position_embedding_type != "absolute" {
            return Err(format!(
                "position_embedding_type '{}' is not supported (only \"absolute\")",
                self.position_embedding_type
            ));
        }
        Ok(())
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// `y = x Wᵀ + b` with `W` in PyTorch's `[out, in]` layout (one row per output).
#[derive(Clone)]
struct Linear {
    weight: Rows,
    bias: Vec<f32>,
}

impl Linear {
    /// `out[i] = x[i] Wᵀ + b` for the `n` rows of `x`; `out` is overwritten.
    fn apply(&self, x: &[f32], n: usize, out: &mut [f32]) {
        let (out_dim, in_dim) = (self.weight.len(), self.weight.dim());
        for row in out[..n * out_dim].chunks_exact_mut(out_dim) {
            row.copy_from_slice(&self.bias);
        }
        gemm(
            n,
            in_dim,
            out_dim,
            1.0,
            View::row_major(x, in_dim),
            View::row_major(self.weight.as_slice(), in_dim).t(),
            1.0,
            out,
            out_dim,
        );
    }
}

#[derive(Clone)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// One encoder block.
#[derive(Clone)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    intermediate: Linear,
    output: Linear,
    out_norm: Norm,
}

/// [`BertModel::embed`] stacks consecutive texts up to this many tokens per forward pass, so the
/// weight matrices are packed once per group instead of once per text.
const ROWS_PER_GROUP: usize = 512;

/// Consecutive runs of `seqs` of at most [`ROWS_PER_GROUP`] tokens (a longer sequence alone).
fn groups(seqs: &[Vec<u32>]) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (i, ids) in seqs.iter().enumerate() {
        if i > start && tokens + ids.len() > ROWS_PER_GROUP {
            groups.push(start..i);
            (start, tokens) = (i, 0);
        }
        tokens += ids.len();
    }
    if start < seqs.len() {
        groups.push(start..seqs.len());
    }
    groups
}

/// Checkpoint names of a layer's linear weights (without the `.weight` suffix), in forward order.
const LINEAR_PARTS: [&str; 6] = [
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

impl Layer {
    fn linear(&self, part: usize) -> Option<&Linear> {
        [
            &self.query,
            &self.key,
            &self.value,
            &self.attn_out,
            &self.intermediate,
            &self.output,
        ]
        .get(part)
        .copied()
    }

    fn linear_mut(&mut self, part: usize) -> Option<&mut Linear> {
        [
            &mut self.query,
            &mut self.key,
            &mut self.value,
            &mut self.attn_out,
            &mut self.intermediate,
            &mut self.output,
        ]
        .into_iter()
        .nth(part)
    }
}

/// A BERT encoder with all weights in memory as f32.
#[derive(Clone)]
pub struct BertModel {
    config: BertConfig,
    word: Rows,
    position: Rows,
    token_type: Rows,
    emb_norm: Norm,
    layers: Vec<Layer>,
}

/// The configuration only: the weights are tens of millions of numbers.
impl std::fmt::Debug for BertModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertModel")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl BertModel {
    /// Load `dir/config.json` and `dir/model.safetensors`.
    pub fn load(dir: &Path) -> Result<Self> {
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let checkpoint = Checkpoint::open(&dir.join("model.safetensors"))?;
        let prefix = if checkpoint
            .shape("embeddings.word_embeddings.weight")
            .is_some()
        {
            ""
        } else {
            "bert."
        };
        let loader = Loader {
            checkpoint: &checkpoint,
            prefix,
        };
        let c = &config;
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let linear = |name: &str, out_dim: usize, in_dim: usize| -> Result<Linear> {
            Ok(Linear {
                weight: loader.matrix(&format!("{name}.weight"), out_dim, in_dim)?,
                bias: loader.vector(&format!("{name}.bias"), out_dim)?,
            })
        };
        let norm = |name: &str| -> Result<Norm> {
            Ok(Norm {
                gamma: loader.vector(&format!("{name}.weight"), h)?,
                beta: loader.vector(&format!("{name}.bias"), h)?,
            })
        };
        let layers = (0..c.num_hidden_layers)
            .map(|l| {
                let p = format!("encoder.layer.{l}");
                Ok(Layer {
                    query: linear(&format!("{p}.attention.self.query"), h, h)?,
                    key: linear(&format!("{p}.attention.self.key"), h, h)?,
                    value: linear(&format!("{p}.attention.self.value"), h, h)?,
                    attn_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
                    attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                    intermediate: linear(&format!("{p}.intermediate.dense"), i, h)?,
                    output: linear(&format!("{p}.output.dense"), h, i)?,
                    out_norm: norm(&format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BertModel {
            word: loader.matrix("embeddings.word_embeddings.weight", c.vocab_size, h)?,
            position: loader.matrix(
                "embeddings.position_embeddings.weight",
                c.max_position_embeddings,
                h,
            )?,
            token_type: loader.matrix(
                "embeddings.token_type_embeddings.weight",
                c.type_vocab_size,
                h,
            )?,
            emb_norm: norm("embeddings.LayerNorm")?,
            layers,
            config,
        })
    }

    /// The configuration the model was loaded with.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Width of hidden states and sentence embeddings.
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// Checkpoint names of every linear weight (`[out, in]` matrices), in forward order:
    /// per layer query, key, value, attention output, intermediate, output.
    pub fn weight_names(&self) -> Vec<String> {
        (0..self.layers.len())
            .flat_map(|l| LINEAR_PARTS.map(|p| format!("encoder.layer.{l}.{p}.weight")))
            .collect()
    }

    /// A linear weight by checkpoint name, rows = output units (PyTorch `[out, in]`).
    pub fn weight(&self, name: &str) -> Result<&Rows> {
        let (l, p) = self.locate(name)?;
        self.layers
            .get(l)
            .and_then(|layer| layer.linear(p))
            .map(|lin| &lin.weight)
            .ok_or_else(|| self.unknown(name))
    }

    /// Replace a linear weight (e.g. by a codec's reconstruction). `rows` must have the
    /// original's shape `[out, in]`; biases are kept.
    pub fn replace_weight(&mut self, name: &str, rows: Rows) -> Result<()> {
        let (l, p) = self.locate(name)?;
        let unknown = self.unknown(name);
        let lin = self
            .layers
            .get_mut(l)
            .and_then(|layer| layer.linear_mut(p))
            .ok_or(unknown)?;
        let (want, got) = (
            [lin.weight.len(), lin.weight.dim()],
            [rows.len(), rows.dim()],
        );
        if want != got {
            return Err(Error::InvalidPlan {
                field: "replacement weight",
                reason: format!("'{name}' is {want:?} ([out, in]); the replacement is {got:?}"),
            });
        }
        lin.weight = rows;
        Ok(())
    }

    /// (layer, part) of a linear weight name.
    fn locate(&self, name: &str) -> Result<(usize, usize)> {
        let parsed = name
            .strip_prefix("encoder.layer.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(l, rest)| {
                let l: usize = l.parse().ok()?;
                let part = rest.strip_suffix(".weight")?;
                let p = LINEAR_PARTS.iter().position(|&x| x == part)?;
                (l < self.layers.len() && name == format!("encoder.layer.{l}.{part}.weight"))
                    .then_some((l, p))
            });
        parsed.ok_or_else(|| self.unknown(name))
    }

    fn unknown(&self, name: &str) -> Error {
        let names = self.weight_names();
        Error::UnknownTensor {
            path: "<BertModel linear weights>".into(),
            tensor: name.to_string(),
            close: close_names(name, names.iter().map(String::as_str)),
        }
    }

    /// Hidden states for one token sequence (token type 0, no padding): element 0 is the
    /// embedding output (after its LayerNorm), element `l` the output of layer `l`; each is
    /// `ids.len()` rows × `hidden_size`.
    pub fn forward(&self, ids: &[u32]) -> Result<Vec<Rows>> {
        self.check_ids(ids)?;
        let h = self.config.hidden_size;
        let mut states = Vec::with_capacity(self.layers.len() + 1);
        self.run(&[ids], &mut |x| states.push(Rows::new(h, x.to_vec())));
        Ok(states)
    }

    /// [`Self::forward`] of many sequences, in order: consecutive sequences are stacked into
    /// groups of about 512 tokens (as [`Self::embed`] does) so each weight matrix is packed once
    /// per group, and groups run in parallel. Bit-identical to calling `forward` on each.
    pub fn forward_many(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<Rows>>> {
        for ids in seqs {
            self.check_ids(ids)?;
        }
        let h = self.config.hidden_size;
        let per_group: Vec<Vec<Vec<Rows>>> = groups(seqs)
            .into_par_iter()
            .map(|range| {
                let group: Vec<&[u32]> = seqs[range].iter().map(Vec::as_slice).collect();
                let mut states: Vec<Vec<Rows>> = vec![Vec::new(); group.len()];
                self.run(&group, &mut |x| {
                    let mut first = 0;
                    for (ids, st) in group.iter().zip(states.iter_mut()) {
                        st.push(Rows::new(h, x[first * h..(first + ids.len()) * h].to_vec()));
                        first += ids.len();
                    }
                });
                states
            })
            .collect();
        Ok(per_group.into_iter().flatten().collect())
    }

    /// The sentence embedding of one token sequence: the last hidden state averaged over all
    /// tokens (the attention mask of one unpadded sentence is all ones), L2-normalised.
    pub fn sentence_embedding(&self, ids: &[u32]) -> Result<Vec<f32>> {
        self.check_ids(ids)?;
        Ok(self.pooled(&[ids]).concat())
    }

    /// Sentence embeddings of `texts` (one row each, in order), in parallel. Consecutive texts
    /// are stacked into groups of about 512 tokens so the linear layers run as larger matrix
    /// products (one weight packing per group, not per text); attention never crosses texts.
    /// The groups depend only on the texts, so results never depend on the thread count, and
    /// since `matrixmultiply` accumulates every output element in the same order whatever the
    /// number of rows, a text's embedding is bit-identical alone or in any group (the tests
    /// check both).
    pub fn embed(&self, tokenizer: &WordPiece, texts: &[String]) -> Result<Rows> {
        let encoded: Vec<Vec<u32>> = texts.par_iter().map(|t| tokenizer.encode(t)).collect();
        for ids in &encoded {
            self.check_ids(ids)?;
        }
        let pooled: Vec<Vec<Vec<f32>>> = groups(&encoded)
            .into_par_iter()
            .map(|range| {
                let seqs: Vec<&[u32]> = encoded[range].iter().map(Vec::as_slice).collect();
                self.pooled(&seqs)
            })
            .collect();
        let data: Vec<f32> = pooled.into_iter().flatten().flatten().collect();
        Ok(Rows::new(self.config.hidden_size, data))
    }

    /// Mean-pooled, L2-normalised last hidden state of each (checked) sequence.
    fn pooled(&self, seqs: &[&[u32]]) -> Vec<Vec<f32>> {
        let h = self.config.hidden_size;
        let total = self.layers.len() + 1;
        let mut seen = 0;
        let mut out = Vec::with_capacity(seqs.len());
        self.run(seqs, &mut |x| {
            seen += 1;
            if seen < total {
                return;
            }
            let mut rows = x.chunks_exact(h);
            for ids in seqs {
                let mut sum = vec![0.0f64; h];
                for row in rows.by_ref().take(ids.len()) {
                    for (s, &v) in sum.iter_mut().zip(row) {
                        *s += f64::from(v);
                    }
                }
                let n = ids.len() as f64;
                let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
                // sentence-transformers' Normalize: x / max(‖x‖, 1e-12).
                let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                out.push(mean.iter().map(|v| (v / norm) as f32).collect());
            }
        });
        out
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        let c = &self.config;
        let reason = if ids.is_empty() {
            Some("the sequence is empty".to_string())
        } else if ids.len() > c.max_position_embeddings {
            Some(format!(
                "{} tokens exceed max_position_embeddings {}",
                ids.len(),
                c.max_position_embeddings
            ))
        } else {
            ids.iter()
                .position(|&id| id as usize >= c.vocab_size)
                .map(|i| {
                    format!(
                        "id {} at position {i} is outside the vocabulary ({} entries)",
                        ids[i], c.vocab_size
                    )
                })
        };
        match reason {
            Some(reason) => Err(Error::InvalidPlan {
                field: "token ids",
                reason,
            }),
            None => Ok(()),
        }
    }

    /// The forward pass over independent, already checked sequences stacked row-wise; hands the
    /// stacked hidden state to `each` after the embeddings and after every layer.
    fn run(&self, seqs: &[&[u32]], each: &mut dyn FnMut(&[f32])) {
        let c = &self.config;
        let rows: usize = seqs.iter().map(|s| s.len()).sum();
        let longest = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let (h, inter) = (c.hidden_size, c.intermediate_size);
        let (heads, d) = (c.num_attention_heads, c.head_dim());
        let scale = 1.0 / (d as f32).sqrt();

        // Embeddings: (word + token type 0) + position, as transformers adds them.
        let mut x = vec![0.0f32; rows * h];
        let type0 = self.token_type.row(0);
        let positions = seqs.iter().flat_map(|s| 0..s.len());
        let ids = seqs.iter().flat_map(|s| s.iter());
        for ((row, &id), pos) in x.chunks_exact_mut(h).zip(ids).zip(positions) {
            let word = self.word.row(id as usize);
            let position = self.position.row(pos);
            for (((v, &w), &t), &p) in row.iter_mut().zip(word).zip(type0).zip(position) {
                *v = (w + t) + p;
            }
        }
        layer_norm(
            &mut x,
            &self.emb_norm.gamma,
            &self.emb_norm.beta,
            c.layer_norm_eps,
        );
        each(&x);

        let mut q = vec![0.0f32; rows * h];
        let mut k = vec![0.0f32; rows * h];
        let mut v = vec![0.0f32; rows * h];
        let mut ctx = vec![0.0f32; rows * h];
        let mut tmp = vec![0.0f32; rows * h];
        let mut scores = vec![0.0f32; longest * longest];
        let mut mid = vec![0.0f32; rows * inter];
        for layer in &self.layers {
            layer.query.apply(&x, rows, &mut q);
            layer.key.apply(&x, rows, &mut k);
            layer.value.apply(&x, rows, &mut v);
            let mut first = 0;
            for seq in seqs {
                let n = seq.len();
                for head in 0..heads {
                    let off = first * h + head * d;
                    // scores = Q_h K_hᵀ / √d
                    gemm(
                        n,
                        d,
                        n,
                        scale,
                        View::row_major(&q[off..], h),
                        View::row_major(&k[off..], h).t(),
                        0.0,
                        &mut scores,
                        n,
                    );
                    softmax_rows(&mut scores[..n * n], n);
                    // ctx_h = softmax · V_h
                    gemm(
                        n,
                        n,
                        d,
                        1.0,
                        View::row_major(&scores, n),
                        View::row_major(&v[off..], h),
                        0.0,
                        &mut ctx[off..],
                        h,
                    );
                }
                first += n;
            }
            layer.attn_out.apply(&ctx, rows, &mut tmp);
            for (t, &r) in tmp.iter_mut().zip(&x) {
                *t += r;
            }
            layer_norm(
                &mut tmp,
                &layer.attn_norm.gamma,
                &layer.attn_norm.beta,
                c.layer_norm_eps,
            );
            layer.intermediate.apply(&tmp, rows, &mut mid);
            gelu(&mut mid);
            layer.output.apply(&mid, rows, &mut x);
            for (o, &r) in x.iter_mut().zip(&tmp) {
                *o += r;
            }
            layer_norm(
                &mut x,
                &layer.out_norm.gamma,
                &layer.out_norm.beta,
                c.layer_norm_eps,
            );
            each(&x);
        }
    }
}

/// Reads named tensors of the expected shape out of a checkpoint.
struct Loader<'a> {
    checkpoint: &'a Checkpoint,
    prefix: &'a str,
}

impl Loader<'_> {
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Rows> {
        Ok(Rows::new(cols, self.tensor(name, &[rows, cols])?))
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        self.tensor(name, &[len])
    }

    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let path = self.checkpoint.path();
        if let Some(got) = self.checkpoint.shape(&full).filter(|&got| got != shape) {
            return Err(bad_weights(
                path,
                format!("tensor '{full}' has shape {got:?}; config.json implies {shape:?}"),
            ));
        }
        let values = self.checkpoint.tensor_f32(&full)?;
        if values.len() != shape.iter().product::<usize>() {
            return Err(bad_weights(
                path,
                format!("tensor '{full}' holds fewer values than its shape"),
            ));
        }
        Ok(values)
    }
}

fn bad_config(path: &Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: "BERT config.json",
        reason,
    }
}

fn bad_weights(path: &Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: "safetensors",
        reason,
    }
}
