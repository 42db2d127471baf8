//! Population specs and the catalog of named populations. A spec is a catalog name with optional
//! parameters (`gaussian:n=2000,d=65`) or a file (`rows.npy`, `rows.fvecs`,
//! `model.safetensors:tensor.name`). Parsing is separate from loading so that a plan is
//! validated before any data is read.

use super::file::{self, FileSpec};
use super::population::{NonFinitePolicy, PopulationKind, Provenance};
use super::synthetic::{self, SyntheticKind};
use super::{Loaded, Population, RowSelection, TensorInfo};
use crate::error::{Error, Result};
use std::fmt;

/// Default rows of a synthetic population.
pub const SYNTHETIC_ROWS: usize = 4000;
/// Default dimension of a synthetic population.
pub const SYNTHETIC_DIM: usize = 128;
/// Files smaller than this get a sha256 in their provenance.
const SHA256_MAX_BYTES: u64 = 512 << 20;

/// A seeded synthetic population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyntheticSpec {
    /// Law.
    pub kind: SyntheticKind,
    /// Rows.
    pub n: usize,
    /// Dimension.
    pub d: usize,
}

/// How a population is named by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PopulationSpec {
    /// Seeded synthetic control.
    Synthetic(SyntheticSpec),
    /// Rows from a file.
    File(FileSpec),
}

/// Options that apply when loading any population.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// At most this many rows (a seeded sample when the source has more).
    pub max_rows: Option<usize>,
    /// Seed for sampling and generation.
    pub seed: u64,
    /// Non-finite rows: refuse or drop.
    pub nonfinite: NonFinitePolicy,
}

/// One catalog entry, for `list populations`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CatalogEntry {
    /// Name to pass to `--population`.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Parameters and defaults.
    pub params: String,
}

/// Every named population this build knows.
pub fn catalog() -> Vec<CatalogEntry> {
    SyntheticKind::ALL
        .iter()
        .map(|k| CatalogEntry {
            name: k.name().to_string(),
            description: format!("synthetic: {}", k.describe()),
            params: format!(
                "n (rows, default {SYNTHETIC_ROWS}), d (dims, default {SYNTHETIC_DIM})"
            ),
        })
        .collect()
}

impl PopulationSpec {
    /// The populations `codecbench run` uses when none are named.
    pub fn defaults() -> Vec<PopulationSpec> {
        [
            SyntheticKind::Gaussian,
            SyntheticKind::Anisotropic,
            SyntheticKind::Clustered,
        ]
        .into_iter()
        .map(|kind| {
            PopulationSpec::Synthetic(SyntheticSpec {
                kind,
                n: SYNTHETIC_ROWS,
                d: SYNTHETIC_DIM,
            })
        })
        .collect()
    }

    /// Parse a spec: a file if it has a known extension, else a catalog name.
    pub fn parse(s: &str) -> Result<Self> {
        if let Some(f) = FileSpec::parse(s) {
            return Ok(PopulationSpec::File(f));
        }
        let (name, rest) = match s.split_once(':') {
            Some((n, r)) => (n, r),
            None => (s, ""),
        };
        let Some(kind) = SyntheticKind::ALL.into_iter().find(|k| k.name() == name) else {
            let valid: Vec<String> = catalog().into_iter().map(|e| e.name).collect();
            return Err(Error::UnknownPopulation {
                name: s.to_string(),
                valid: valid.join(", "),
            });
        };
        let mut spec = SyntheticSpec {
            kind,
            n: SYNTHETIC_ROWS,
            d: SYNTHETIC_DIM,
        };
        for item in rest.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let bad = |reason: String| Error::BadPopulationSpec {
                name: s.to_string(),
                reason,
            };
            let Some((k, v)) = item.split_once('=') else {
                return Err(bad(format!("'{item}' is not key=value")));
            };
            let value: usize = v
                .trim()
                .parse()
                .map_err(|_| bad(format!("{k}={v}: expected a positive integer")))?;
            match k.trim() {
                "n" if value >= 2 => spec.n = value,
                "d" if value >= 1 => spec.d = value,
                "n" => return Err(bad(format!("n={value}: need at least 2 rows"))),
                "d" => return Err(bad(format!("d={value}: need at least 1 dim"))),
                other => return Err(bad(format!("unknown parameter '{other}'; valid: n, d"))),
            }
        }
        Ok(PopulationSpec::Synthetic(spec))
    }

    /// Which split the pair probe uses by default for this population.
    pub fn default_kind(&self) -> PopulationKind {
        match self {
            PopulationSpec::Synthetic(_) => PopulationKind::Embedding,
            PopulationSpec::File(FileSpec::Safetensors { tensor, .. }) => {
                let t = tensor.as_deref().unwrap_or("").to_ascii_lowercase();
                if t.contains("embed") {
                    PopulationKind::Embedding
                } else {
                    PopulationKind::Weight
                }
            }
            PopulationSpec::File(FileSpec::Npy(_) | FileSpec::Fvecs(_) | FileSpec::Bvecs(_)) => {
                PopulationKind::Embedding
            }
        }
    }

    /// Load and validate the rows.
    pub fn load(&self, kind: PopulationKind, opts: &LoadOptions) -> Result<Population> {
        let name = self.to_string();
        match self {
            PopulationSpec::Synthetic(s) => {
                let seed = opts.seed ^ stable_hash(&name);
                let n = opts.max_rows.map_or(s.n, |m| m.min(s.n));
                let rows = synthetic::generate(s.kind, n, s.d, seed);
                let loaded = Loaded {
                    indices: (0..rows.len()).collect(),
                    info: TensorInfo {
                        name: name.clone(),
                        dtype: "F32".to_string(),
                        shape: vec![rows.len(), s.d],
                        bytes: (rows.len() * s.d * 4) as u64,
                    },
                    rows,
                };
                let prov = Provenance {
                    source: format!("synthetic:{name}"),
                    sha256: None,
                    tensor: None,
                    dtype: "F32".to_string(),
                    shape: vec![n, s.d],
                    selection: format!("{n} rows generated"),
                    seed: Some(seed),
                    dropped_nonfinite: 0,
                    zero_rows: 0,
                    note: Some(s.kind.describe().to_string()),
                };
                Population::from_loaded(name, kind, loaded, prov, opts.nonfinite)
            }
            PopulationSpec::File(f) => {
                let selection = match opts.max_rows {
                    Some(count) => RowSelection::Sample {
                        count,
                        seed: opts.seed ^ stable_hash(&name),
                    },
                    None => RowSelection::All,
                };
                let loaded = file::load(f, &selection)?;
                let path = f.path();
                let sha256 = match std::fs::metadata(path) {
                    Ok(m) if m.len() <= SHA256_MAX_BYTES => Some(file::sha256_file(path)?),
                    _ => None,
                };
                let n_source = loaded.info.shape.first().copied().unwrap_or(0);
                let prov = Provenance {
                    source: path.display().to_string(),
                    sha256,
                    tensor: match f {
                        FileSpec::Safetensors { tensor, .. } => tensor.clone(),
                        FileSpec::Npy(_) | FileSpec::Fvecs(_) | FileSpec::Bvecs(_) => None,
                    },
                    dtype: loaded.info.dtype.clone(),
                    shape: loaded.info.shape.clone(),
                    selection: selection_text(&selection, n_source),
                    seed: match selection {
                        RowSelection::Sample { seed, .. } if n_source > loaded.rows.len() => {
                            Some(seed)
                        }
                        RowSelection::Sample { .. }
                        | RowSelection::All
                        | RowSelection::First(_) => None,
                    },
                    dropped_nonfinite: 0,
                    zero_rows: 0,
                    note: None,
                };
                Population::from_loaded(name, kind, loaded, prov, opts.nonfinite)
            }
        }
    }
}

fn selection_text(selection: &RowSelection, n_source: usize) -> String {
    match selection {
        RowSelection::Sample { count, .. } if *count >= n_source => "all rows".to_string(),
        RowSelection::Sample { .. } | RowSelection::All | RowSelection::First(_) => {
            selection.describe()
        }
    }
}

impl fmt::Display for PopulationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopulationSpec::Synthetic(s) => {
                if s.n == SYNTHETIC_ROWS && s.d == SYNTHETIC_DIM {
                    f.write_str(s.kind.name())
                } else {
                    write!(f, "{}:n={},d={}", s.kind.name(), s.n, s.d)
                }
            }
            PopulationSpec::File(fs) => write!(f, "{fs}"),
        }
    }
}

/// FNV-1a of a string: a seed mixer that is stable across platforms and Rust versions
/// (std's hashers promise neither).
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
