//! Top-k recall: whether a codec's estimated scores pick the same best candidates as the exact
//! scores, which is what a nearest-neighbour search built on the codec would return.

use std::cmp::Ordering;

/// Orders indices by descending score, NaN lowest (all NaNs equal), ties by lower index first.
/// A strict total order on indices, so selection and sorting are well defined.
fn by_score_desc(scores: &[f64], a: usize, b: usize) -> Ordering {
    let (sa, sb) = (scores[a], scores[b]);
    let by_score = match (sa.is_nan(), sb.is_nan()) {
        (false, false) => sb.partial_cmp(&sa).unwrap_or(Ordering::Equal),
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (true, true) => Ordering::Equal,
    };
    by_score.then(a.cmp(&b))
}

/// Indices of the `k` largest scores, best first. Equal scores (including `-0.0` vs `0.0`) are
/// broken by lower index first; NaN counts as smaller than every number. If `k` exceeds the
/// length, all indices are returned. O(n + k log k).
pub fn top_k_indices(scores: &[f64], k: usize) -> Vec<usize> {
    let k = k.min(scores.len());
    if k == 0 {
        return Vec::new();
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    if k < idx.len() {
        idx.select_nth_unstable_by(k - 1, |&a, &b| by_score_desc(scores, a, b));
        idx.truncate(k);
    }
    idx.sort_unstable_by(|&a, &b| by_score_desc(scores, a, b));
    idx
}

/// Fraction of the exact top-`k` that the estimate's top-`k` recovers:
/// `|topk(truth) ∩ topk(estimate)| / k`, in `[0, 1]`.
///
/// Meant for `1 <= k <= len`. Outside that it still returns a finite value: a `k` above the
/// length is cut to the length (so the whole set is recovered, recall 1), and `k == 0` (or an
/// empty input) gives `0.0`.
///
/// # Panics
/// If `truth.len() != estimate.len()`.
pub fn recall_at_k(truth: &[f64], estimate: &[f64], k: usize) -> f64 {
    assert_eq!(
        truth.len(),
        estimate.len(),
        "recall_at_k: slices differ in length"
    );
    let k = k.min(truth.len());
    if k == 0 {
        return 0.0;
    }
    let mut in_truth = vec![false; truth.len()];
    for i in top_k_indices(truth, k) {
        in_truth[i] = true;
    }
    let hits = top_k_indices(estimate, k)
        .into_iter()
        .filter(|&i| in_truth[i])
        .count();
    hits as f64 / k as f64
}

/// Recall at `k` of an estimate that ranks the `n` candidates at random: the expected overlap
/// of two top-`k` sets is `k · k / n`, so the expected recall is `k / n`. `k` is cut to `n`;
/// `n == 0` gives `0.0`.
pub fn recall_chance(k: usize, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    k.min(n) as f64 / n as f64
}
