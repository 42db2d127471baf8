//! The real-model path: a BERT WordPiece tokenizer and encoder forward pass in plain Rust, so a
//! codec can be judged by what it does to a real model's outputs — the sentence embeddings of
//! all-MiniLM-L6-v2 and its hidden states layer by layer — after its weights are replaced by the
//! codec's reconstructions. Model files live in the cache directory (see [`minilm_dir`]).

pub mod bert;
mod ops;
pub mod tokenizer;

use std::path::{Path, PathBuf};

pub use bert::{BertConfig, BertModel, Projection, SelfAttention};
pub use tokenizer::{MAX_SEQ_LEN, WordPiece};

use crate::error::Result;

/// The all-MiniLM-L6-v2 directory of the fetched `minilm` source (`codecbench fetch minilm`):
/// `model.safetensors`, `vocab.txt` and `config.json`, flat.
pub fn minilm_dir() -> PathBuf {
    crate::data::cache::source_dir("minilm")
}

/// The tokenizer (`dir/vocab.txt`) and model (`dir/config.json`, `dir/model.safetensors`).
pub fn load_dir(dir: &Path) -> Result<(WordPiece, BertModel)> {
    Ok((
        WordPiece::from_vocab_file(&dir.join("vocab.txt"))?,
        BertModel::load(dir)?,
    ))
}
