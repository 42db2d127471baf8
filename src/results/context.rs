//! `RowContext`: the columns a set of result rows share (population, codec, bytes, dimension,
//! split, seed). Every producer of rows — codec cells, the instrument block, probes, verdicts —
//! builds its rows through one context, so the row's fields are filled in one place.

use super::meta::VERSION;
use super::row::{ResultRow, bits_per_dim};
use crate::codec::Codec;
use crate::metric::suite::MetricValue;

/// The context columns of a result row.
#[derive(Debug, Clone, Default)]
pub struct RowContext {
    /// Population.
    pub population: String,
    /// Codec spec or probe method.
    pub codec: String,
    /// Bytes per row.
    pub bytes_per_row: usize,
    /// Shared bytes.
    pub model_bytes: usize,
    /// Bits per dimension.
    pub bits_per_dim: f64,
    /// Codec grade.
    pub grade: String,
    /// Codec family.
    pub family: String,
    /// Row dimension.
    pub dim: usize,
    /// Rows encoded / compared.
    pub base_rows: usize,
    /// Queries (sentences, rows).
    pub queries: usize,
    /// Which split or probe section.
    pub split: String,
    /// Run seed.
    pub seed: u64,
}

impl RowContext {
    /// Context of a fitted codec that encoded `rows` rows of a population of `population_rows`
    /// rows before sampling ([`Provenance::source_rows`]): bits/dim amortises the codec's shared
    /// state over the population, so it does not depend on how many rows were sampled.
    ///
    /// [`Provenance::source_rows`]: crate::data::Provenance::source_rows
    pub fn for_codec(
        codec: &dyn Codec,
        population: &str,
        rows: usize,
        population_rows: usize,
        split: &str,
        seed: u64,
    ) -> Self {
        RowContext {
            population: population.to_string(),
            codec: codec.spec().to_string(),
            bytes_per_row: codec.code_bytes(),
            model_bytes: codec.model_bytes(),
            bits_per_dim: bits_per_dim(
                codec.code_bytes(),
                codec.model_bytes(),
                population_rows.max(rows),
                codec.dim(),
            ),
            grade: codec.grade().to_string(),
            family: codec.family().to_string(),
            dim: codec.dim(),
            base_rows: rows,
            queries: 0,
            split: split.to_string(),
            seed,
        }
    }

    /// One result row of this context.
    pub fn row(&self, m: MetricValue) -> ResultRow {
        ResultRow {
            population: self.population.clone(),
            codec: self.codec.clone(),
            metric: m.name,
            value: m.estimate.value,
            ci_lo: m.estimate.ci_lo,
            ci_hi: m.estimate.ci_hi,
            n: m.estimate.n,
            draws: 1,
            chance: m.chance,
            bytes_per_row: self.bytes_per_row,
            model_bytes: self.model_bytes,
            bits_per_dim: self.bits_per_dim,
            grade: self.grade.clone(),
            family: self.family.clone(),
            dim: self.dim,
            base_rows: self.base_rows,
            queries: self.queries,
            split: self.split.clone(),
            seed: self.seed,
            codecbench_version: VERSION.to_string(),
            note: m.note,
        }
    }

    /// This context with another codec (or method) column.
    pub fn with_codec(&self, codec: &str) -> Self {
        RowContext {
            codec: codec.to_string(),
            ..self.clone()
        }
    }
}
