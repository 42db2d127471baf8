//! Top-k recall: whether a codec's estimated scores pick the same best candidates as the exact
//! scores, which is what a nearest-neighbour search built on the codec would return.
//!
//! Rank metrics here do not depend on the order of the rows. A codec that emits many equal
//! estimates (palette, cascade, base17, sign) leaves ties across rank `k`; breaking them by row
//! index would make recall depend on file order. Instead every tie is broken uniformly at
//! random, independently in the truth and in the estimate, and the metrics are the expected
//! values over those tie-breaks, computed in closed form ([`topk_membership`],
//! [`expected_overlap`], [`recall_at_k`]). [`top_k_indices`] is the index-based top-k of a
//! search, not a rank metric.

use std::cmp::Ordering;

/// Descending score order, NaN lowest (all NaNs equal); `-0.0` equals `0.0`.
fn score_desc(sa: f64, sb: f64) -> Ordering {
    match (sa.is_nan(), sb.is_nan()) {
        (false, false) => sb.partial_cmp(&sa).unwrap_or(Ordering::Equal),
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (true, true) => Ordering::Equal,
    }
}

/// Orders indices by descending score, NaN lowest (all NaNs equal), ties by lower index first.
/// A strict total order on indices, so selection and sorting are well defined.
fn by_score_desc(scores: &[f64], a: usize, b: usize) -> Ordering {
    score_desc(scores[a], scores[b]).then(a.cmp(&b))
}

/// Indices of the `k` largest scores, best first. Equal scores (including `-0.0` vs `0.0`) are
/// broken by lower index first; NaN counts as smaller than every number. If `k` exceeds the
/// length, all indices are returned. O(n + k log k).
///
/// This is the top-k a search returns, so it depends on row order where scores tie. Rank
/// metrics (recall, top-k kappa) use [`topk_membership`] instead, which averages over every
/// tie-break.
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

/// Which rows are in the top `k` of one score vector when ties are broken uniformly at random:
/// rows scoring strictly above the tied group that straddles rank `k` are in for sure, rows of
/// that group are in with probability `taken / group`, rows below are out.
#[derive(Debug, Clone, Copy)]
struct Cut {
    /// The score of the straddling group (NaN when the NaNs straddle rank `k`).
    threshold: f64,
    /// Rows of the straddling group.
    group: u64,
    /// How many of them the top `k` takes: `k − #above`, in `1..=group`.
    taken: u64,
}

/// Where a row falls relative to a [`Cut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Above,
    Tied,
    Below,
}

impl Cut {
    /// The cut of `scores` at `k`, for `1 <= k <= scores.len()`. O(n): one selection on a copy
    /// and one counting pass.
    fn new(scores: &[f64], k: usize) -> Self {
        debug_assert!(k >= 1 && k <= scores.len());
        let mut sorted = scores.to_vec();
        let (_, &mut threshold, _) =
            sorted.select_nth_unstable_by(k - 1, |&a, &b| score_desc(a, b));
        let (mut above, mut group) = (0_u64, 0_u64);
        for &s in scores {
            match score_desc(s, threshold) {
                Ordering::Less => above += 1,
                Ordering::Equal => group += 1,
                Ordering::Greater => {}
            }
        }
        Self {
            threshold,
            group,
            taken: k as u64 - above,
        }
    }

    fn side(&self, s: f64) -> Side {
        match score_desc(s, self.threshold) {
            Ordering::Less => Side::Above,
            Ordering::Equal => Side::Tied,
            Ordering::Greater => Side::Below,
        }
    }

    /// The membership probability of a row on `side`.
    fn probability(&self, side: Side) -> f64 {
        match side {
            Side::Above => 1.0,
            Side::Tied => self.taken as f64 / self.group as f64,
            Side::Below => 0.0,
        }
    }
}

/// Per row, the probability of being in the top `k` when tied scores are ordered uniformly at
/// random: 1 for rows scoring strictly above the tied group that straddles rank `k`,
/// `(k − #above) / (group size)` for rows of that group, 0 below. NaN ranks lowest (all NaNs tie
/// with each other); `-0.0` ties with `0.0`. `k` is cut to the length; `k == 0` gives all zeros.
/// The probabilities sum to `k` (after the cut). Each is one correctly rounded division, so
/// exact for the common cases (1, 0, 1/2, …).
///
/// Without ties this is the indicator of [`top_k_indices`]. O(n).
pub fn topk_membership(scores: &[f64], k: usize) -> Vec<f64> {
    let k = k.min(scores.len());
    if k == 0 {
        return vec![0.0; scores.len()];
    }
    let cut = Cut::new(scores, k);
    scores
        .iter()
        .map(|&s| cut.probability(cut.side(s)))
        .collect()
}

/// The expected overlap as an exact fraction `num / den` (the two cuts' counts are integers).
/// `k` must already be cut to `1..=len`.
fn overlap_fraction(truth: &[f64], estimate: &[f64], k: usize) -> (u128, u128) {
    let (ct, ce) = (Cut::new(truth, k), Cut::new(estimate, k));
    // counts[side in truth][side in estimate] over Above / Tied only (Below contributes 0).
    let mut counts = [[0_u128; 2]; 2];
    for (&t, &e) in truth.iter().zip(estimate) {
        let st = ct.side(t);
        let se = ce.side(e);
        if st != Side::Below && se != Side::Below {
            counts[usize::from(st == Side::Tied)][usize::from(se == Side::Tied)] += 1;
        }
    }
    // Σ_j p_t(j) p_e(j) with p = 1 (above) or taken/group (tied), over the common denominator
    // g_t g_e.
    let (rt, gt) = (u128::from(ct.taken), u128::from(ct.group));
    let (re, ge) = (u128::from(ce.taken), u128::from(ce.group));
    let num = counts[0][0] * gt * ge
        + counts[0][1] * re * gt
        + counts[1][0] * rt * ge
        + counts[1][1] * rt * re;
    (num, gt * ge)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `num / den` with the fraction reduced first, so that results such as `k / n` come out
/// correctly rounded whenever the reduced terms fit in 53 bits.
fn ratio(num: u128, den: u128) -> f64 {
    let g = gcd(num, den).max(1);
    (num / g) as f64 / (den / g) as f64
}

fn all_tied(scores: &[f64]) -> bool {
    scores
        .iter()
        .all(|&s| score_desc(s, scores[0]) == Ordering::Equal)
}

/// Expected size of `topk(truth) ∩ topk(estimate)` when ties are broken uniformly at random,
/// independently in the two vectors: `Σ_j p_t(j) · p_e(j)` with `p` from [`topk_membership`]
/// (independence makes the expected overlap the sum of products). `k` is cut to the length;
/// `k == 0` gives 0. Computed from integer counts, so it does not depend on row order at all.
///
/// # Panics
/// If `truth.len() != estimate.len()`.
pub fn expected_overlap(truth: &[f64], estimate: &[f64], k: usize) -> f64 {
    assert_eq!(
        truth.len(),
        estimate.len(),
        "expected_overlap: slices differ in length"
    );
    let k = k.min(truth.len());
    if k == 0 {
        return 0.0;
    }
    let (num, den) = overlap_fraction(truth, estimate, k);
    ratio(num, den)
}

/// Recall at `k`: the expected fraction of the exact top-`k` that the estimate's top-`k`
/// recovers, `Σ_j p_t(j) · p_e(j) / k`, where `p_t`, `p_e` are the top-`k` membership
/// probabilities of [`topk_membership`] (ties broken uniformly at random, independently in the
/// truth and the estimate). Without ties it is `|topk(truth) ∩ topk(estimate)| / k`; with ties
/// it does not depend on the order of the rows. In `[0, 1]`.
///
/// Conventions outside `1 <= k < len`:
/// - `k` above the length is cut to the length: the whole set is recovered, recall `1.0`;
/// - `k == 0` (or an empty input) gives `0.0`;
/// - when every truth score is tied (including all NaN) and `k < len`, the truth has no top-`k`
///   and recall is undefined: `NaN`.
///
/// An estimate with every score equal gets exactly `k / n` ([`recall_chance`]).
///
/// # Panics
/// If `truth.len() != estimate.len()`.
pub fn recall_at_k(truth: &[f64], estimate: &[f64], k: usize) -> f64 {
    assert_eq!(
        truth.len(),
        estimate.len(),
        "recall_at_k: slices differ in length"
    );
    let n = truth.len();
    let k = k.min(n);
    if k == 0 {
        return 0.0;
    }
    if k == n {
        return 1.0;
    }
    if all_tied(truth) {
        return f64::NAN;
    }
    let (num, den) = overlap_fraction(truth, estimate, k);
    ratio(num, den * k as u128)
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
