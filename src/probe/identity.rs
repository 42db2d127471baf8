//! Row identity: the end-to-end check of index-regime tensors (the origin's invariant I1: token
//! embeddings, codebooks and `lm_head` rows are looked up by id, so a codec must keep every row
//! distinguishable — the exact nearest neighbour of a row is the row itself). This is gate 2 of
//! codec viability for index populations (and for populations with no forward pass behind them).
//!
//! For sampled rows `x_i`, all rows are encoded and the codec's estimated cosine
//! `est(x_i, code_j) / (‖x_i‖ ‖x_j‖)` (exact norms) picks the top candidate; a hit is `j = i`, or
//! a row that is an exact duplicate of `x_i` (cosine 1 to rounding). Zero rows have no direction
//! and are not queried. Chance = 1/n.

use rayon::prelude::*;

use crate::codec::Codec;
use crate::data::{RowSelection, Rows};
use crate::metric::bootstrap::mean_ci;
use crate::metric::suite::MetricValue;

/// `identity.top1` of `codec` (already fitted) on `rows`, over up to `queries` sampled rows.
pub fn row_identity(
    codec: &dyn Codec,
    rows: &Rows,
    queries: usize,
    resamples: usize,
    seed: u64,
) -> MetricValue {
    let codes = codec.encode_all(rows);
    let norms: Vec<f64> = rows
        .iter()
        .map(|r| crate::codec::dot_f64(r, r).sqrt())
        .collect();
    let nonzero: Vec<usize> = (0..rows.len()).filter(|&i| norms[i] > 0.0).collect();
    let picks = RowSelection::Sample {
        count: queries,
        seed,
    }
    .resolve(nonzero.len());
    let hits: Vec<f64> = picks
        .par_iter()
        .map(|&p| {
            let i = nonzero[p];
            let scorer = codec.scorer(rows.row(i));
            let mut est = vec![0f64; codes.len()];
            scorer.estimate_all(&codes, &mut est);
            let mut best = (usize::MAX, f64::NEG_INFINITY);
            for &j in &nonzero {
                let s = est[j] / norms[j];
                if s > best.1 {
                    best = (j, s);
                }
            }
            let j = best.0;
            let hit = j == i
                || (j != usize::MAX
                    && crate::codec::dot_f64(rows.row(i), rows.row(j)) / (norms[i] * norms[j])
                        >= 1.0 - 1e-9);
            f64::from(u8::from(hit))
        })
        .collect();
    MetricValue {
        name: "identity.top1".to_string(),
        estimate: mean_ci(&hits, resamples, seed ^ 0x6964),
        chance: Some(1.0 / nonzero.len().max(1) as f64),
        note: Some(format!(
            "row i's top candidate by estimated cosine (exact norms) among all {} nonzero rows is i itself (or an exact duplicate)",
            nonzero.len()
        )),
    }
}
