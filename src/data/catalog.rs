//! Population specs and the catalog of named populations. A spec is a catalog name with optional
//! parameters (`gaussian:n=2000,d=65`) or a file (`rows.npy`, `rows.fvecs`,
//! `model.safetensors:tensor.name`). Parsing is separate from loading so that a plan is
//! validated before any data is read.

use super::file::{self, FileSpec};
use super::population::{NonFinitePolicy, PopulationKind, Provenance};
use super::real::{Location, REAL, RealPopulation, data_dir};
use super::synthetic::{self, SyntheticKind};
use super::{Loaded, Population, RowSelection, TensorInfo};
use crate::budget::MemoryBudget;
use crate::error::{Error, Result, close_names};
use std::fmt;

/// Default rows of a synthetic population.
pub const SYNTHETIC_ROWS: usize = 4000;
/// Default dimension of a synthetic population.
pub const SYNTHETIC_DIM: usize = 128;
/// Files up to this size get a sha256 in their provenance; bigger ones a
/// [`file::FileIdentity`].
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
    /// A named real population (index into [`REAL`]) and, for layered tensors, the layer.
    Real {
        /// Index into [`REAL`].
        entry: usize,
        /// Layer, for entries whose tensor name has one (None = the entry's default).
        layer: Option<usize>,
    },
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
    /// The most the loaded rows may take, checked from the declared shape before they are
    /// read or generated.
    pub budget: MemoryBudget,
}

/// One catalog entry, for `list populations`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CatalogEntry {
    /// Name to pass to `--population`.
    pub name: String,
    /// Role in a model (or `synthetic control`).
    pub role: String,
    /// argmax / index / control.
    pub regime: String,
    /// Rows × dims of the source.
    pub shape: String,
    /// Element type of the source.
    pub dtype: String,
    /// embedded / on demand (fetched or not) / generated.
    pub availability: String,
    /// Default pair-probe split: `self` (weight rows) or `holdout`.
    pub split: String,
    /// Parameters and defaults.
    pub params: String,
    /// Provenance and licence, or the law of a synthetic control.
    pub description: String,
}

/// Every named population this build knows: real ones first, then synthetic controls.
pub fn catalog() -> Vec<CatalogEntry> {
    let real = REAL.iter().map(|r| CatalogEntry {
        name: r.name.to_string(),
        role: r.role.to_string(),
        regime: serde_json::to_value(r.regime)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        shape: format!("{} × {}", r.shape[0], r.shape[1]),
        dtype: r.dtype.to_string(),
        availability: match r.location {
            Location::Embedded(_) => "embedded".to_string(),
            Location::OnDemand { source, .. } if super::cache::is_fetched(source) => {
                format!("fetched ({source})")
            }
            Location::OnDemand { source, .. } => format!("on demand: fetch {source}"),
        },
        split: match r.kind {
            PopulationKind::Weight => "self".to_string(),
            PopulationKind::Embedding => "holdout".to_string(),
        },
        params: match r.layers {
            Some((n, d)) => format!("layer=0..{} (default {d})", n - 1),
            None => String::new(),
        },
        description: r.provenance.to_string(),
    });
    let synthetic = SyntheticKind::ALL.iter().map(|k| CatalogEntry {
        name: k.name().to_string(),
        role: "synthetic control".to_string(),
        regime: "control".to_string(),
        shape: format!("{SYNTHETIC_ROWS} × {SYNTHETIC_DIM}"),
        dtype: "F32".to_string(),
        availability: "generated (seeded)".to_string(),
        split: "holdout".to_string(),
        params: format!("n (rows, default {SYNTHETIC_ROWS}), d (dims, default {SYNTHETIC_DIM})"),
        description: k.describe().to_string(),
    });
    real.chain(synthetic).collect()
}

impl PopulationSpec {
    /// The populations `codecbench run` uses when none are named: every embedded real
    /// population plus the Gaussian control.
    pub fn defaults() -> Vec<PopulationSpec> {
        let mut v: Vec<PopulationSpec> = REAL
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_embedded())
            .map(|(entry, _)| PopulationSpec::Real { entry, layer: None })
            .collect();
        v.push(PopulationSpec::Synthetic(SyntheticSpec {
            kind: SyntheticKind::Gaussian,
            n: SYNTHETIC_ROWS,
            d: SYNTHETIC_DIM,
        }));
        v
    }

    /// The synthetic controls only (fast; for tests and smoke runs).
    pub fn synthetic_defaults() -> Vec<PopulationSpec> {
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
        file::refuse_gguf(s)?;
        let (name, rest) = match s.split_once(':') {
            Some((n, r)) => (n, r),
            None => (s, ""),
        };
        if let Some(entry) = RealPopulation::find(name) {
            return parse_real(s, entry, rest);
        }
        let Some(kind) = SyntheticKind::ALL.into_iter().find(|k| k.name() == name) else {
            let valid: Vec<String> = catalog().into_iter().map(|e| e.name).collect();
            return Err(Error::UnknownPopulation {
                name: s.to_string(),
                close: close_names(name, valid.iter().map(String::as_str)),
                valid: valid.join(", "),
            });
        };
        let mut spec = SyntheticSpec {
            kind,
            n: SYNTHETIC_ROWS,
            d: SYNTHETIC_DIM,
        };
        for (k, v) in key_values(s, rest)? {
            let bad = |reason: String| Error::BadPopulationSpec {
                name: s.to_string(),
                reason,
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
            PopulationSpec::Real { entry, .. } => REAL[*entry].kind,
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
                let needed = synthetic::generate_bytes(s.kind, n, s.d);
                opts.budget.check_rows(&name, n, s.d, needed)?;
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
                    overflows: Vec::new(),
                };
                let prov = Provenance {
                    source: format!("synthetic:{name}"),
                    sha256: None,
                    identity: None,
                    tensor: None,
                    dtype: "F32".to_string(),
                    shape: vec![n, s.d],
                    source_rows: s.n,
                    selection: format!("{n} rows generated"),
                    seed: Some(seed),
                    dropped_nonfinite: 0,
                    zero_rows: 0,
                    note: Some(s.kind.describe().to_string()),
                };
                Population::from_loaded(name, kind, loaded, prov, opts.nonfinite)
            }
            PopulationSpec::Real { entry, layer } => {
                let r = &REAL[*entry];
                let path = match r.location {
                    Location::Embedded(f) => data_dir().join(f),
                    Location::OnDemand { source, file } => {
                        super::cache::require(source, file, &format!("population '{name}'"))?
                    }
                };
                let fspec = match r.tensor_name(*layer) {
                    Some(tensor) => FileSpec::Safetensors {
                        path,
                        tensor: Some(tensor),
                    },
                    None => FileSpec::Npy(path),
                };
                let mut pop = load_file(&name, &fspec, kind, opts)?;
                pop.provenance.note = Some(format!("{} — {}", r.role, r.provenance));
                Ok(pop)
            }
            PopulationSpec::File(f) => load_file(&name, f, kind, opts),
        }
    }
}

/// Parse `name[:layer=L]` of a real population.
/// The `key=value` items of a population spec's parameter list `rest` (of spec `s`), trimmed;
/// an item without `=` or a key given twice (`n=500,n=600`, which once meant "the last one")
/// is an error.
fn key_values<'a>(s: &str, rest: &'a str) -> Result<Vec<(&'a str, &'a str)>> {
    let bad = |reason: String| Error::BadPopulationSpec {
        name: s.to_string(),
        reason,
    };
    let mut out: Vec<(&str, &str)> = Vec::new();
    for item in rest.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(bad(format!("'{item}' is not key=value")));
        };
        let k = k.trim();
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(bad(format!(
                "parameter '{k}' is given twice; give each parameter once"
            )));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn parse_real(s: &str, entry: usize, rest: &str) -> Result<PopulationSpec> {
    let r = &REAL[entry];
    let bad = |reason: String| Error::BadPopulationSpec {
        name: s.to_string(),
        reason,
    };
    let mut layer = None;
    for (k, v) in key_values(s, rest)? {
        match (k, r.layers) {
            ("layer", Some((n, _))) => {
                let l: usize = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&l| l < n)
                    .ok_or_else(|| bad(format!("layer={v}: expected 0..{}", n - 1)))?;
                layer = Some(l);
            }
            (other, Some(_)) => {
                return Err(bad(format!("unknown parameter '{other}'; valid: layer")));
            }
            (other, None) => {
                return Err(bad(format!(
                    "unknown parameter '{other}'; this population has none"
                )));
            }
        }
    }
    Ok(PopulationSpec::Real {
        entry,
        layer: layer.or(r.layers.map(|(_, d)| d)),
    })
}

/// Load a file population and record where it came from.
fn load_file(
    name: &str,
    f: &FileSpec,
    kind: PopulationKind,
    opts: &LoadOptions,
) -> Result<Population> {
    let name = name.to_string();
    let selection = match opts.max_rows {
        Some(count) => RowSelection::Sample {
            count,
            seed: opts.seed ^ stable_hash(&name),
        },
        None => RowSelection::All,
    };
    // The declared shape bounds the sample before any row is read.
    if let Some([n_source, dims]) = file::declared_rows_dims(f)? {
        let rows = match selection {
            RowSelection::Sample { count, .. } | RowSelection::First(count) => count.min(n_source),
            RowSelection::All => n_source,
        };
        opts.budget
            .check_rows(&name, rows, dims, MemoryBudget::rows_bytes(rows, dims))?;
    }
    let loaded = file::load(f, &selection)?;
    let path = f.path();
    let size = crate::input::check_file(path)?.len();
    let (sha256, identity) = if size <= SHA256_MAX_BYTES {
        (Some(file::sha256_file(path)?), None)
    } else {
        (None, Some(file::identity(f)?))
    };
    let n_source = loaded.info.shape.first().copied().unwrap_or(0);
    let prov = Provenance {
        source: path.display().to_string(),
        sha256,
        identity,
        tensor: match f {
            FileSpec::Safetensors { tensor, .. } => tensor.clone(),
            FileSpec::Npy(_) | FileSpec::Fvecs(_) | FileSpec::Bvecs(_) => None,
        },
        dtype: loaded.info.dtype.clone(),
        shape: loaded.info.shape.clone(),
        source_rows: n_source,
        selection: selection_text(&selection, n_source),
        seed: match selection {
            RowSelection::Sample { seed, .. } if n_source > loaded.rows.len() => Some(seed),
            RowSelection::Sample { .. } | RowSelection::All | RowSelection::First(_) => None,
        },
        dropped_nonfinite: 0,
        zero_rows: 0,
        note: None,
    };
    Population::from_loaded(name, kind, loaded, prov, opts.nonfinite)
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
            PopulationSpec::Real { entry, layer } => {
                let r = &REAL[*entry];
                match (r.layers, layer) {
                    (Some(_), Some(l)) => write!(f, "{}:layer={l}", r.name),
                    (Some((_, d)), None) => write!(f, "{}:layer={d}", r.name),
                    (None, _) => f.write_str(r.name),
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
