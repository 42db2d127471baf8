//! Where on-demand sources live once fetched: the cache directory, each source's directory in
//! it, and the one check that a source is complete (its `FETCHED.json`). The catalog asks here
//! for the files of on-demand populations; `fetch` (above `data`) fills the cache and re-exports
//! these, so `data` never imports `fetch`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that overrides the cache directory.
pub const CACHE_ENV: &str = "CODECBENCH_CACHE";

/// The record a finished fetch leaves in its source directory.
pub const FETCHED_FILE: &str = "FETCHED.json";

/// The cache directory: `$CODECBENCH_CACHE` when set and not empty, else
/// `$HOME/.cache/codecbench` (`.cache/codecbench` relative to the working directory when
/// `HOME` is not set either).
pub fn cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => match std::env::var_os("HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home).join(".cache/codecbench"),
            _ => PathBuf::from(".cache/codecbench"),
        },
    }
}

/// Where source `name` lives (or would live) in the cache.
pub fn source_dir(name: &str) -> PathBuf {
    cache_dir().join(name)
}

/// Whether source `name` has been fetched into the cache.
pub fn is_fetched(name: &str) -> bool {
    source_dir(name).join(FETCHED_FILE).is_file()
}

/// The path of `file` of the fetched source `source_name`, or [`Error::NotFetched`] telling
/// `what` needs it and which `codecbench fetch` command brings it.
pub fn require(source_name: &str, file: &str, what: &str) -> Result<PathBuf> {
    require_in(&cache_dir(), source_name, file, what)
}

/// [`require`] in an explicit cache directory.
pub fn require_in(cache: &Path, source_name: &str, file: &str, what: &str) -> Result<PathBuf> {
    let dir = cache.join(source_name);
    let path = dir.join(file);
    if dir.join(FETCHED_FILE).is_file() && path.is_file() {
        Ok(path)
    } else {
        Err(Error::NotFetched {
            what: what.to_string(),
            source_name: source_name.to_string(),
            path,
        })
    }
}
