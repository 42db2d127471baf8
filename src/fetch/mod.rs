//! On-demand sources (placeholder until the fetcher lands).
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Path of a fetched file, or `NotFetched`.
pub fn require(source_name: &str, file: &str, what: &str) -> Result<PathBuf> {
    let path = PathBuf::from(file);
    Err(Error::NotFetched {
        what: what.to_string(),
        source_name: source_name.to_string(),
        path,
    })
}
