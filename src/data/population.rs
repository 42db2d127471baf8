//! `Population`: the rows a benchmark measures, with where they came from. Built from loaded
//! rows after validation (non-finite values refused or dropped, emptiness refused), so everything
//! downstream may assume finite rows.

use super::{Loaded, Rows};
use crate::error::{Error, Result};

/// How queries relate to base rows, which decides the pair probe's split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PopulationKind {
    /// Rows of a weight matrix: queries are a sample of the rows themselves, scored against all
    /// other rows (self-pair excluded), as the origin measured row–row similarity.
    Weight,
    /// Embeddings (vectors one searches among): queries are held-out rows.
    Embedding,
}

/// What to do with rows holding NaN or ±Inf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NonFinitePolicy {
    /// Refuse the population, naming the first bad row.
    #[default]
    Error,
    /// Drop such rows and report how many were dropped.
    Skip,
}

impl crate::choice::Choice for NonFinitePolicy {
    const ALL: &'static [Self] = &[NonFinitePolicy::Error, NonFinitePolicy::Skip];

    fn name(self) -> &'static str {
        match self {
            NonFinitePolicy::Error => "error",
            NonFinitePolicy::Skip => "skip",
        }
    }

    fn help(self) -> &'static str {
        match self {
            NonFinitePolicy::Error => "Refuse the population, naming the first bad row",
            NonFinitePolicy::Skip => "Drop such rows and report how many were dropped",
        }
    }
}

/// Where a population's rows came from, recorded in every report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Provenance {
    /// File path or `synthetic:<spec>`.
    pub source: String,
    /// sha256 of the source file, where it was cheap to compute.
    pub sha256: Option<String>,
    /// Size, modification time and sampled-block hash of a file too big for `sha256`
    /// (absent otherwise, and in run.json of builds before it existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<super::file::FileIdentity>,
    /// Tensor name inside the file, if the format has names.
    pub tensor: Option<String>,
    /// Element type in the source.
    pub dtype: String,
    /// Declared shape in the source.
    pub shape: Vec<usize>,
    /// Rows of the population before any sampling (`--max-rows`): the source tensor's or
    /// file's row count, or a synthetic spec's `n`. Shared state (`model_bytes`) is amortised
    /// over these rows in bits/dim, so a codec's rate does not move with the sample size.
    pub source_rows: usize,
    /// Which rows were taken.
    pub selection: String,
    /// Seed used for sampling or generation, if any.
    pub seed: Option<u64>,
    /// Rows dropped for non-finite values (`--nonfinite skip`).
    pub dropped_nonfinite: usize,
    /// Rows that are entirely zero (kept; codecs and metrics must handle them).
    pub zero_rows: usize,
    /// Licence and origin note for embedded or catalog data.
    pub note: Option<String>,
}

/// Rows to benchmark, with their provenance.
#[derive(Debug, Clone)]
pub struct Population {
    /// Name used in results (a catalog name or the file spec).
    pub name: String,
    /// Weight rows or embeddings.
    pub kind: PopulationKind,
    /// The rows, finite f32.
    pub rows: Rows,
    /// Where they came from.
    pub provenance: Provenance,
}

impl Population {
    /// Validate loaded rows: refuse or drop non-finite rows (row numbers are those of the source
    /// tensor), count zero rows, refuse populations with fewer than 2 rows.
    pub fn from_loaded(
        name: String,
        kind: PopulationKind,
        loaded: Loaded,
        mut provenance: Provenance,
        policy: NonFinitePolicy,
    ) -> Result<Self> {
        let Loaded {
            rows,
            indices,
            overflows,
            ..
        } = loaded;
        let mut kept = Rows::empty(rows.dim());
        let mut dropped = 0;
        let mut zero_rows = 0;
        for (i, row) in rows.iter().enumerate() {
            if let Some((col, &value)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                match policy {
                    NonFinitePolicy::Error => {
                        let row = indices.get(i).copied().unwrap_or(i);
                        // A finite f64 that became inf: name the value, not "inf".
                        if let Some(o) = overflows.iter().find(|o| o.row == i && o.col == col) {
                            return Err(Error::Overflow {
                                source_name: name,
                                row,
                                col,
                                value: o.value,
                            });
                        }
                        return Err(Error::NonFinite {
                            source_name: name,
                            row,
                            col,
                            value,
                        });
                    }
                    NonFinitePolicy::Skip => {
                        dropped += 1;
                        continue;
                    }
                }
            }
            if row.iter().all(|&v| v == 0.0) {
                zero_rows += 1;
            }
            kept.push(row);
        }
        if kept.len() < 2 {
            return Err(Error::Empty {
                source_name: name,
                rows: kept.len(),
                dims: kept.dim(),
            });
        }
        provenance.dropped_nonfinite = dropped;
        provenance.zero_rows = zero_rows;
        Ok(Population {
            name,
            kind,
            rows: kept,
            provenance,
        })
    }
}
