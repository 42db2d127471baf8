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

//!
//! The parts: `config` (`config.json`), `load` (weights from a checkpoint), `forward` (the
//! encoder pass, sentence embeddings); this file holds the model's state and its accessors.

mod config;
mod forward;
mod load;

pub use config::BertConfig;

use crate::data::Rows;
use crate::data::safetensors::close_names;
use crate::error::{Error, Result};

/// `y = x Wᵀ + b` with `W` in PyTorch's `[out, in]` layout (one row per output).
#[derive(Clone)]
struct Linear {
    weight: Rows,
    bias: Vec<f32>,
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

/// One linear projection as the model holds it: `y = x Wᵀ + b`.
#[derive(Debug, Clone, Copy)]
pub struct Projection<'a> {
    /// `W` in PyTorch's `[out, in]` layout: one row per output unit.
    pub weight: &'a Rows,
    /// `b`, one value per output unit.
    pub bias: &'a [f32],
}

impl<'a> Projection<'a> {
    fn of(linear: &'a Linear) -> Self {
        Projection {
            weight: &linear.weight,
            bias: &linear.bias,
        }
    }
}

/// One block's self-attention as the forward pass runs it: per head `h` (columns
/// `h·head_dim..(h+1)·head_dim` of the projections), `softmax(q_h k_hᵀ / √head_dim) v_h`.
#[derive(Debug, Clone, Copy)]
pub struct SelfAttention<'a> {
    /// The query projection.
    pub query: Projection<'a>,
    /// The key projection.
    pub key: Projection<'a>,
    /// The value projection.
    pub value: Projection<'a>,
    /// Attention heads.
    pub heads: usize,
    /// Width of one head.
    pub head_dim: usize,
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

    /// Block `layer`'s self-attention, replaced weights included (`None` past the last block):
    /// what a probe of attention scores needs from the model, biases included.
    pub fn self_attention(&self, layer: usize) -> Option<SelfAttention<'_>> {
        let block = self.layers.get(layer)?;
        Some(SelfAttention {
            query: Projection::of(&block.query),
            key: Projection::of(&block.key),
            value: Projection::of(&block.value),
            heads: self.config.num_attention_heads,
            head_dim: self.config.head_dim(),
        })
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
}
