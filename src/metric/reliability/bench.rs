//! The reliability statistics as the bench uses them: pure functions over per-query score
//! vectors (no codec knowledge). The pooled statistics come with a seeded bootstrap over
//! queries — the independent unit, since pairs that share a query are not independent; the
//! per-query building blocks (tables, ICC) carry no interval, for callers that pool and
//! bootstrap over their own units.
//!
//! - [`query_icc`]: ICC(2,1) and ICC(3,1) of estimate vs truth over one query's pairs;
//!   [`validity_icc`]: the pooled form over all (query, base row) pairs, where differences
//!   between queries count as subject variance.
//! - [`topk_kappa`]: Cohen's kappa of top-k membership (is base row j in the query's top-k),
//!   as the expected table under uniformly random tie-breaking, so it does not depend on row
//!   order; per query [`topk_confusion`].
//! - [`decile_kappa_quadratic`]: quadratic-weighted kappa of per-query score deciles; per query
//!   [`decile_confusion`].
//! - [`pooled_kappa_of`]: kappa of pooled per-query tables, for callers that bootstrap over
//!   their own units.
//! - [`instrument`]: reliability among codecs (standardized alpha, alpha-if-deleted, item–total,
//!   eigenvalues, parallel analysis), without and with the truth as a criterion item, and the
//!   origin's decision rules evaluated with the numbers behind them.
//!
//! Speed: every statistic is computed from per-query summaries made in one pass over the pairs
//! (moments for ICC and alpha, confusion matrices for kappa), so a bootstrap resample only merges
//! the summaries of the drawn queries. Nothing is subsampled except the row count of the
//! parallel-analysis simulation (see [`InstrumentOptions::pa_max_rows`]).

mod instrument_analysis;

pub use instrument_analysis::{
    DIFFERENT_ALPHA, InstrumentOptions, InstrumentReport, ItemAnalysis, REDUNDANT_ALPHA,
    RELIABILITY_IS_NOT_VALIDITY, Rule, RuleFiring, instrument,
};

use super::icc::{IccForm, MeanSquares};
use super::kappa::{Confusion, KappaWeights};
use super::table::Moments;
use crate::metric::bootstrap::{Estimate, bootstrap};
use crate::metric::correlation::ranks;
use crate::metric::recall::expected_overlap;

fn pair_moments(truth: &[f64], est: &[f64]) -> Moments {
    assert_eq!(
        truth.len(),
        est.len(),
        "truth and estimate differ in length"
    );
    let (t, e): (Vec<f64>, Vec<f64>) = truth
        .iter()
        .zip(est)
        .filter(|(t, e)| t.is_finite() && e.is_finite())
        .map(|(&t, &e)| (t, e))
        .unzip();
    Moments::from_columns(&[&t, &e])
}

/// `summary(truth, estimate)` of every query, in query order, after checking that the two
/// sides have the same queries and each query the same length.
fn per_query<T>(truth: &[&[f64]], est: &[&[f64]], summary: impl Fn(&[f64], &[f64]) -> T) -> Vec<T> {
    assert_eq!(
        truth.len(),
        est.len(),
        "truth and estimate have different numbers of queries"
    );
    for (t, e) in truth.iter().zip(est) {
        assert_eq!(
            t.len(),
            e.len(),
            "a query's truth and estimate differ in length"
        );
    }
    truth.iter().zip(est).map(|(t, e)| summary(t, e)).collect()
}

/// Validity as intraclass correlation: the truth and the estimate are two raters of every
/// (query, base row) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidityIcc {
    /// ICC(2,1), absolute agreement: punished by bias and by a wrong scale.
    pub agreement: Estimate,
    /// ICC(3,1), consistency: blind to a constant offset between the raters.
    pub consistency: Estimate,
}

/// ICC(2,1) and ICC(3,1) of one query: the truth and the estimate are two raters of each base
/// row. Pairs where either score is not finite are dropped. Each is `None` when undefined (fewer
/// than 2 pairs left, or every value equal). Unlike the pooled [`validity_icc`], differences
/// between queries play no part, so it ranks codecs as the other per-query metrics do. Does not
/// depend on the order of the rows (up to rounding).
///
/// # Panics
/// If the slices differ in length.
pub fn query_icc(truth: &[f64], est: &[f64]) -> (Option<f64>, Option<f64>) {
    match MeanSquares::from_moments(&pair_moments(truth, est)) {
        Some(ms) => (ms.icc(IccForm::Icc2), ms.icc(IccForm::Icc3)),
        None => (None, None),
    }
}

/// The pooled form: ICC(2,1) and ICC(3,1) of estimate vs truth over all pairs of all queries
/// taken as one table, with percentile bootstrap intervals over queries (`resamples`, `seed`;
/// see `metric::bootstrap`). Each estimate's `n` is the number of queries. Pairs where either
/// score is not finite are dropped. Because the (query, row) pairs are pooled, differences
/// between queries (a query whose scores all sit high) count as subject variance, which the
/// estimate "agrees" on for free; [`query_icc`] is the per-query form.
///
/// # Panics
/// If the two slices have different numbers of queries or a query's slices differ in length.
pub fn validity_icc(
    truth_per_query: &[&[f64]],
    est_per_query: &[&[f64]],
    resamples: usize,
    seed: u64,
) -> ValidityIcc {
    let parts = per_query(truth_per_query, est_per_query, pair_moments);
    let stat = |form: IccForm| {
        let parts = &parts;
        move |idx: &[usize]| {
            let m = Moments::merged(2, idx.iter().map(|&i| &parts[i]));
            MeanSquares::from_moments(&m)?.icc(form)
        }
    };
    ValidityIcc {
        agreement: bootstrap(parts.len(), stat(IccForm::Icc2), resamples, seed),
        consistency: bootstrap(parts.len(), stat(IccForm::Icc3), resamples, seed),
    }
}

/// Kappa of the pooled (summed) tables of `parts`, with the given disagreement weights. The
/// caller picks the units and resamples them (repeat a part to count it twice); no bootstrap
/// here. `None` when there are no parts, or as [`Confusion::kappa`].
///
/// # Panics
/// If the parts differ in size.
pub fn pooled_kappa_of<'a, I>(parts: I, weights: KappaWeights) -> Option<f64>
where
    I: IntoIterator<Item = &'a Confusion>,
{
    let mut parts = parts.into_iter();
    let mut m = parts.next()?.clone();
    for p in parts {
        m.merge(p);
    }
    m.kappa(weights)
}

fn pooled_kappa(
    parts: &[Confusion],
    weights: KappaWeights,
    resamples: usize,
    seed: u64,
) -> Estimate {
    bootstrap(
        parts.len(),
        |idx| pooled_kappa_of(idx.iter().map(|&i| &parts[i]), weights),
        resamples,
        seed,
    )
}

/// The 2 × 2 top-`k` membership table of one query (category 1 = in the top `k`, 0 = out;
/// truth = rater A, estimate = rater B), as expected counts when ties are broken uniformly at
/// random, independently in the truth and the estimate. With `p_t`, `p_e` the membership
/// probabilities of `recall::topk_membership`: (1,1) = `Σ p_t p_e` (the expected overlap),
/// (1,0) = `Σ p_t (1 − p_e)`, (0,1) = `Σ (1 − p_t) p_e`, (0,0) = the rest. Both marginals are
/// exactly `k`, so (1,0) = (0,1) = `k − (1,1)` and (0,0) = `n − 2k + (1,1)`. Without ties this
/// is the table of the two top-`k` sets; with ties it does not depend on row order. `k` is cut
/// to the length. A query whose truth is all tied gives a table at exactly chance agreement
/// (its recall is undefined).
///
/// # Panics
/// If the slices differ in length.
pub fn topk_confusion(truth: &[f64], est: &[f64], k: usize) -> Confusion {
    let n = truth.len();
    let k = k.min(n);
    let both = expected_overlap(truth, est, k);
    let kf = k as f64;
    let one_side = kf - both;
    let neither = (n as f64 - 2.0 * kf) + both;
    Confusion::from_expected(2, &[neither, one_side, one_side, both])
}

/// Cohen's kappa of top-`k` membership: for every (query, base row) pair, "is the row in the
/// query's top-`k`" by the truth and by the estimate, as the expected table under uniformly
/// random tie-breaking ([`topk_confusion`]; independent of row order). The 2 × 2 tables of all
/// queries are pooled; the interval is a bootstrap over queries, `n` the number of queries.
/// Undefined (`None`) when every query has at most `k` rows (everything is in the top-k).
///
/// Because both raters mark (in expectation) exactly `k` rows per query, the marginals are equal
/// and `κ = (recall − k/n) / (1 − k/n)` for a single query of `n` rows: recall@k corrected for
/// chance.
///
/// # Panics
/// As [`validity_icc`].
pub fn topk_kappa(
    truth_per_query: &[&[f64]],
    est_per_query: &[&[f64]],
    k: usize,
    resamples: usize,
    seed: u64,
) -> Estimate {
    let parts = per_query(truth_per_query, est_per_query, |t, e| {
        topk_confusion(t, e, k)
    });
    pooled_kappa(&parts, KappaWeights::Nominal, resamples, seed)
}

/// Decile (0–9) of each score within its own vector: with `r` the average rank (1-based, ties
/// share it) of `n` scores, `⌊10 (r − ½) / n⌋`. Tied scores share a decile; NaN ranks last.
pub fn deciles(scores: &[f64]) -> Vec<usize> {
    deciles_of_ranks(&ranks(scores))
}

/// [`deciles`] from the average ranks of the scores (when the ranks are already at hand).
pub fn deciles_of_ranks(ranks: &[f64]) -> Vec<usize> {
    let n = ranks.len() as f64;
    ranks
        .iter()
        .map(|&r| (((r - 0.5) * 10.0 / n).floor() as usize).min(9))
        .collect()
}

/// The 10 × 10 table of one query's score deciles ([`deciles`] of the truth = rater A, of the
/// estimate = rater B). Tied scores share a decile, so it does not depend on row order.
///
/// # Panics
/// If the slices differ in length.
pub fn decile_confusion(truth: &[f64], est: &[f64]) -> Confusion {
    Confusion::from_labels(&deciles(truth), &deciles(est), 10)
}

/// Quadratic-weighted kappa of score deciles: within each query the truth and the estimate are
/// each cut into deciles of their own ranks ([`deciles`]), so only the ordering matters, not
/// bias or scale. The 10 × 10 tables of all queries are pooled; the interval is a bootstrap
/// over queries.
///
/// # Panics
/// As [`validity_icc`].
pub fn decile_kappa_quadratic(
    truth_per_query: &[&[f64]],
    est_per_query: &[&[f64]],
    resamples: usize,
    seed: u64,
) -> Estimate {
    let parts = per_query(truth_per_query, est_per_query, decile_confusion);
    pooled_kappa(&parts, KappaWeights::Quadratic, resamples, seed)
}
