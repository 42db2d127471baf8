//! Exact inner products ⟨query, base row⟩ in f64, computed once per population and shared by
//! every codec.

use super::Split;
use crate::linalg::gemm;
use rayon::prelude::*;

/// Queries per parallel task (a multiple of the kernel's 4-query tile).
const QUERY_CHUNK: usize = 8;

/// A queries × base matrix of exact scores, row-major.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Number of base rows (columns).
    pub n_base: usize,
    /// Scores, `queries × n_base`.
    pub scores: Vec<f64>,
}

impl Truth {
    /// Compute in f64 (each product of two f32 is exact in f64; sums run sequentially over the
    /// coordinates). Blocked and vectorised by [`gemm::inner_products`], which is bit-identical
    /// to the plain loop; parallel over fixed chunks of queries, so the result does not depend
    /// on the thread count.
    pub fn compute(split: &Split) -> Truth {
        let n_base = split.base.len();
        let d = split.queries.dim();
        let mut scores = vec![0f64; split.queries.len() * n_base];
        if n_base == 0 || d == 0 {
            return Truth { n_base, scores };
        }
        scores
            .par_chunks_mut(n_base * QUERY_CHUNK)
            .zip(split.queries.as_slice().par_chunks(d * QUERY_CHUNK))
            .for_each(|(out, q)| gemm::inner_products(q, split.base.as_slice(), d, out));
        Truth { n_base, scores }
    }

    /// Scores of query `q`.
    pub fn row(&self, q: usize) -> &[f64] {
        &self.scores[q * self.n_base..(q + 1) * self.n_base]
    }
}
