//! `config.json`: the fields of a BERT configuration the forward pass needs, with
//! transformers' defaults, checked once when read (only what the forward pass implements).

use std::path::Path;

use serde::Deserialize;

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
        let bytes = crate::input::read(path)?;
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
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
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

fn bad_config(path: &Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: "BERT config.json",
        reason,
    }
}
