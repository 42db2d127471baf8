//! The real populations codecbench knows by name: small ones committed under `data/` (see
//! `data/SOURCES.md` for provenance, sha256 and licences) and larger ones fetched on demand into
//! the cache (`codecbench fetch`). Each entry says which role it plays in a model and which
//! regime its scores serve (the origin's invariant I1: argmax over rows vs index lookup). The
//! entries are data, `real.toml` beside this file, compiled in and parsed once.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;

use super::population::PopulationKind;
use super::static_table::{StaticTable, leak, parse_once, parse_toml};
use crate::error::Result;

/// What the scores of a population are used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// The model takes an argmax / softmax over ⟨x, row⟩ (attention keys, MLP rows, retrieval).
    Argmax,
    /// Rows are looked up by index (token embeddings, codebooks); neighbourhoods matter.
    Index,
}

/// Where a population's file lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A file under the repository's `data/` directory.
    Embedded(&'static str),
    /// A file inside a fetched source's cache directory.
    OnDemand {
        /// Source name for `codecbench fetch`.
        source: &'static str,
        /// File inside the source directory.
        file: &'static str,
    },
}

/// A named real population.
#[derive(Debug, Clone, Copy)]
pub struct RealPopulation {
    /// Name for `--population`.
    pub name: &'static str,
    /// Its role in the model.
    pub role: &'static str,
    /// Argmax or index regime.
    pub regime: Regime,
    /// Where the file is.
    pub location: Location,
    /// Tensor name for safetensors files; `{L}` is replaced by the layer.
    pub tensor: Option<&'static str>,
    /// `(number of layers, default layer)` when the tensor name has `{L}`.
    pub layers: Option<(usize, usize)>,
    /// Pair-probe split by default.
    pub kind: PopulationKind,
    /// Shape of the source tensor (rows, dims).
    pub shape: [usize; 2],
    /// Element type of the source.
    pub dtype: &'static str,
    /// Where it comes from (package==version, registry, file) and its licence.
    pub provenance: &'static str,
}

/// Directory of the embedded populations: `$CODECBENCH_DATA`, else this crate's `data/`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("CODECBENCH_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data")),
    }
}

/// The built-in table of real populations (`src/data/real.toml`).
pub const REAL_TOML: &str = include_str!("real.toml");

/// Every named real population, in `list populations` order: [`REAL_TOML`], parsed on first use.
pub static REAL: StaticTable<RealPopulation> = StaticTable::new(|| {
    static PARSED: OnceLock<&'static [RealPopulation]> = OnceLock::new();
    parse_once(&PARSED, || {
        parse_real(REAL_TOML).expect("the built-in real.toml is valid (tested)")
    })
});

/// Parse a table of real populations in the form of `real.toml`.
///
/// # Errors
/// [`crate::Error::BadHeader`] (format `real.toml`) naming what does not parse.
pub fn parse_real(text: &str) -> Result<Vec<RealPopulation>> {
    let file: RealFile = parse_toml(text, "src/data/real.toml", "real.toml")?;
    Ok(file
        .population
        .into_iter()
        .map(RawPopulation::into_real)
        .collect())
}

/// `real.toml`: its `[[population]]` tables, with owned strings (leaked into a
/// [`RealPopulation`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RealFile {
    population: Vec<RawPopulation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    name: String,
    role: String,
    regime: Regime,
    /// The fetch source holding `file`; none for a file under `data/`.
    source: Option<String>,
    file: String,
    tensor: Option<String>,
    layers: Option<RawLayers>,
    kind: PopulationKind,
    shape: [usize; 2],
    dtype: String,
    provenance: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayers {
    count: usize,
    default: usize,
}

impl RawPopulation {
    fn into_real(self) -> RealPopulation {
        let file = leak(self.file);
        RealPopulation {
            name: leak(self.name),
            role: leak(self.role),
            regime: self.regime,
            location: match self.source {
                Some(source) => Location::OnDemand {
                    source: leak(source),
                    file,
                },
                None => Location::Embedded(file),
            },
            tensor: self.tensor.map(leak),
            layers: self.layers.map(|l| (l.count, l.default)),
            kind: self.kind,
            shape: self.shape,
            dtype: leak(self.dtype),
            provenance: leak(self.provenance),
        }
    }
}

impl RealPopulation {
    /// Look up by name.
    pub fn find(name: &str) -> Option<usize> {
        REAL.iter().position(|r| r.name == name)
    }

    /// The tensor name for `layer` (or the default layer).
    pub fn tensor_name(&self, layer: Option<usize>) -> Option<String> {
        let t = self.tensor?;
        Some(match self.layers {
            Some((_, default)) => t.replace("{L}", &layer.unwrap_or(default).to_string()),
            None => t.to_string(),
        })
    }

    /// Whether the file is embedded (always present in a checkout) or on demand.
    pub fn is_embedded(&self) -> bool {
        matches!(self.location, Location::Embedded(_))
    }
}
