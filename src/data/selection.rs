//! Which rows of a tensor to read: all, the first N, or a seeded sample. Loaders resolve the
//! selection against the declared row count *before* touching data, so only selected rows are read.

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

/// A row selection, resolved against a tensor's row count by [`RowSelection::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RowSelection {
    /// Every row.
    All,
    /// Rows `0..n` (or all, if fewer).
    First(usize),
    /// `count` distinct rows drawn uniformly with `seed` (or all, if fewer), returned ascending.
    Sample { count: usize, seed: u64 },
}

impl RowSelection {
    /// The ascending row indices this selection picks out of `n_rows`.
    pub fn resolve(&self, n_rows: usize) -> Vec<usize> {
        match *self {
            RowSelection::All => (0..n_rows).collect(),
            RowSelection::First(n) => (0..n.min(n_rows)).collect(),
            RowSelection::Sample { count, seed } => {
                if count >= n_rows {
                    return (0..n_rows).collect();
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut idx = sample(&mut rng, n_rows, count).into_vec();
                idx.sort_unstable();
                idx
            }
        }
    }

    /// Short human description, for provenance.
    pub fn describe(&self) -> String {
        match *self {
            RowSelection::All => "all rows".to_string(),
            RowSelection::First(n) => format!("first {n} rows"),
            RowSelection::Sample { count, seed } => {
                format!("{count} rows sampled with seed {seed}")
            }
        }
    }
}
