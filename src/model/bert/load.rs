//! Loading a [`BertModel`]: `config.json` for the shapes, then every weight of
//! `model.safetensors` by its `BertModel` checkpoint name (optionally under `bert.`), each
//! checked against the shape the configuration implies and converted to f32 by the data layer's
//! one safetensors decoder.

use std::path::Path;

use super::{BertConfig, BertModel, Layer, Linear, Norm};
use crate::data::Rows;
use crate::data::safetensors::Checkpoint;
use crate::error::{Error, Result};

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

fn bad_weights(path: &Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: "safetensors",
        reason,
    }
}
