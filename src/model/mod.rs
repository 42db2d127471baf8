//! The real-model path: a BERT WordPiece tokenizer and encoder forward pass in plain Rust, so a
//! codec can be judged by what it does to a real model's outputs — the sentence embeddings of
//! all-MiniLM-L6-v2 and its hidden states layer by layer — after its weights are replaced by the
//! codec's reconstructions. Model files live in the cache directory (see [`minilm_dir`]).

pub mod bert;
mod ops;
pub mod tokenizer;

use std::path::{Path, PathBuf};

pub use bert::{BertConfig, BertModel};
pub use tokenizer::{MAX_SEQ_LEN, WordPiece};

use crate::error::Result;

/// Environment variable that overrides the cache directory.
pub const CACHE_ENV: &str = "CODECBENCH_CACHE";

/// Where fetched sources live: `$CODECBENCH_CACHE` when set and non-empty, else
/// `$HOME/.cache/codecbench` (`.cache/codecbench` under the working directory without `HOME`).
pub fn default_cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        Some(_) | None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map_or_else(
                || PathBuf::from(".cache"),
                |h| PathBuf::from(h).join(".cache"),
            )
            .join("codecbench"),
    }
}

/// The all-MiniLM-L6-v2 directory: `model.safetensors`, `vocab.txt` and `config.json`, flat.
pub fn minilm_dir() -> PathBuf {
    default_cache_dir().join("minilm")
}

/// The tokenizer (`dir/vocab.txt`) and model (`dir/config.json`, `dir/model.safetensors`).
pub fn load_dir(dir: &Path) -> Result<(WordPiece, BertModel)> {
    Ok((
        WordPiece::from_vocab_file(&dir.join("vocab.txt"))?,
        BertModel::load(dir)?,
    ))
}
