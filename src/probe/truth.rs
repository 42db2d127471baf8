//! Exact inner products ⟨query, base row⟩ in f64, computed once per population and shared by
//! every codec.

use super::Split;
use rayon::prelude::*;

/// A queries × base matrix of exact scores, row-major.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Number of base rows (columns).
    pub n_base: usize,
    /// Scores, `queries × n_base`.
    pub scores: Vec<f64>,
}

impl Truth {
    /// Compute in f64 (each product of two f32 is exact in f64; sums round in f64).
    pub fn compute(split: &Split) -> Truth {
        let n_base = split.base.len();
        let mut scores = vec![0f64; split.queries.len() * n_base];
        scores
            .par_chunks_mut(n_base.max(1))
            .zip(split.queries.as_slice().par_chunks(split.queries.dim()))
            .for_each(|(out, q)| {
                for (o, x) in out.iter_mut().zip(split.base.iter()) {
                    *o = q.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum();
                }
            });
        Truth { n_base, scores }
    }

    /// Scores of query `q`.
    pub fn row(&self, q: usize) -> &[f64] {
        &self.scores[q * self.n_base..(q + 1) * self.n_base]
    }
}
