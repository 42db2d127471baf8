//! The pair probe's split of a population into training rows (codec fitting), base rows (what
//! gets encoded) and queries. Seeded; the same seed gives the same split on any machine.
//!
//! - Weight rows (`SelfPairs`): queries are a sample of the rows themselves, each scored against
//!   every *other* row (its own row is excluded), as the origin measured row–row similarity.
//! - Embeddings (`HeldOut`): queries are held-out rows, never encoded, never used for fitting.
//! - `QueryFile`: queries come from the user's file (their own queries, or activations x for a
//!   weight W so that x·Wᵀ is measured); all population rows are base rows.
//!
//! Codecs are fitted on the base rows (index-time training, as FAISS trains on the database).

use crate::data::{RowSelection, Rows};

/// How queries were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitMode {
    /// Queries are base rows; the self-pair is excluded.
    SelfPairs,
    /// Queries are held-out rows.
    HeldOut,
    /// Queries come from a separate file.
    QueryFile,
}

/// Train / base / query rows for one population.
#[derive(Debug, Clone)]
pub struct Split {
    /// How queries were chosen.
    pub mode: SplitMode,
    /// Rows the codec is fitted on.
    pub train: Rows,
    /// Rows that get encoded and scored.
    pub base: Rows,
    /// Query rows (exact, never encoded for asymmetric scores).
    pub queries: Rows,
    /// For `SelfPairs`, the base index of each query's own row (excluded from its scores).
    pub query_self: Vec<Option<usize>>,
}

impl Split {
    /// Candidates per query: base rows minus the self-pair, if any.
    pub fn candidates(&self) -> usize {
        match self.mode {
            SplitMode::SelfPairs => self.base.len().saturating_sub(1),
            SplitMode::HeldOut | SplitMode::QueryFile => self.base.len(),
        }
    }

    /// Self-pairs: `n_queries` sampled rows scored against all others.
    pub fn self_pairs(rows: &Rows, n_queries: usize, seed: u64) -> Split {
        let idx = RowSelection::Sample {
            count: n_queries,
            seed,
        }
        .resolve(rows.len());
        Split {
            mode: SplitMode::SelfPairs,
            train: rows.clone(),
            base: rows.clone(),
            queries: rows.select(&idx),
            query_self: idx.into_iter().map(Some).collect(),
        }
    }

    /// Held-out: up to `n_queries` rows (at most half the population) become queries.
    pub fn held_out(rows: &Rows, n_queries: usize, seed: u64) -> Split {
        let q = n_queries.min(rows.len() / 2).max(1);
        let qidx = RowSelection::Sample { count: q, seed }.resolve(rows.len());
        let mut is_query = vec![false; rows.len()];
        for &i in &qidx {
            is_query[i] = true;
        }
        let bidx: Vec<usize> = (0..rows.len()).filter(|&i| !is_query[i]).collect();
        let base = rows.select(&bidx);
        Split {
            mode: SplitMode::HeldOut,
            train: base.clone(),
            base,
            queries: rows.select(&qidx),
            query_self: vec![None; qidx.len()],
        }
    }

    /// Queries from a file: up to `n_queries` of its rows (seeded sample); all rows are base.
    pub fn query_file(rows: &Rows, queries: &Rows, n_queries: usize, seed: u64) -> Split {
        let qidx = RowSelection::Sample {
            count: n_queries,
            seed,
        }
        .resolve(queries.len());
        Split {
            mode: SplitMode::QueryFile,
            train: rows.clone(),
            base: rows.clone(),
            queries: queries.select(&qidx),
            query_self: vec![None; qidx.len()],
        }
    }
}
