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

use super::alpha::{alpha_from_matrix, alpha_if_deleted, cronbach_alpha, item_total};
use super::factor::{ParallelAnalysis, ParallelOptions, factor_structure};
use super::icc::{IccForm, MeanSquares};
use super::kappa::{Confusion, KappaWeights};
use super::table::{Moments, SquareMatrix};
use crate::metric::bootstrap::{DEFAULT_RESAMPLES, Estimate, bootstrap};
use crate::metric::correlation::ranks;
use crate::metric::recall::expected_overlap;

/// Why a high alpha among codecs does not make them right, for the report's reliability section.
pub const RELIABILITY_IS_NOT_VALIDITY: &str = "Alpha measures how much the codecs agree with \
each other, not with the exact scores. Codecs that share a flaw (the same rotation, the same \
quantization grid, the same bias) agree closely while all being wrong in the same way, so a high \
alpha among codecs can coexist with low validity. Validity is the agreement of each codec with \
the truth (the ICC and kappa sections); the alpha with the truth included as an item, and the \
truth's item–total correlation, show whether the shared construct is the true score.";

/// Standardized alpha at or above which the origin calls items redundant (keep the cheapest).
pub const REDUNDANT_ALPHA: f64 = 0.85;
/// Standardized alpha below which the origin calls two items different constructs.
pub const DIFFERENT_ALPHA: f64 = 0.70;

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

fn check_queries(truth: &[&[f64]], est: &[&[f64]]) {
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
    check_queries(truth_per_query, est_per_query);
    let parts: Vec<Moments> = truth_per_query
        .iter()
        .zip(est_per_query)
        .map(|(t, e)| pair_moments(t, e))
        .collect();
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
    check_queries(truth_per_query, est_per_query);
    let parts: Vec<Confusion> = truth_per_query
        .iter()
        .zip(est_per_query)
        .map(|(t, e)| topk_confusion(t, e, k))
        .collect();
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
    check_queries(truth_per_query, est_per_query);
    let parts: Vec<Confusion> = truth_per_query
        .iter()
        .zip(est_per_query)
        .map(|(t, e)| decile_confusion(t, e))
        .collect();
    pooled_kappa(&parts, KappaWeights::Quadratic, resamples, seed)
}

/// Settings of [`instrument`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstrumentOptions {
    /// Consecutive units (pairs) that share a query: the bootstrap resamples blocks of this many
    /// units. 1 if every unit is independent.
    pub group_len: usize,
    /// Bootstrap resamples for the alpha intervals.
    pub resamples: usize,
    /// Seed of the bootstrap and of the parallel analysis.
    pub seed: u64,
    /// Random data sets of the parallel analysis.
    pub pa_matrices: usize,
    /// Quantile of the parallel analysis.
    pub pa_quantile: f64,
    /// Rows of each simulated parallel-analysis data set: the number of units, capped at this.
    /// A cap below the true count raises the thresholds (fewer factors, the conservative side);
    /// the true effective count is lower than the unit count anyway, since pairs that share a
    /// query are correlated.
    pub pa_max_rows: usize,
}

impl InstrumentOptions {
    /// Defaults: bootstrap `DEFAULT_RESAMPLES`, parallel analysis with 200 data sets, 95th
    /// percentile, at most 5000 rows.
    pub fn new(group_len: usize, seed: u64) -> Self {
        Self {
            group_len,
            resamples: DEFAULT_RESAMPLES,
            seed,
            pa_matrices: 200,
            pa_quantile: 0.95,
            pa_max_rows: 5000,
        }
    }
}

/// Item analysis of one set of items (standardized scale: every item z-scored).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemAnalysis {
    /// Item names, in the order of every per-item vector here.
    pub names: Vec<String>,
    /// Standardized alpha with a bootstrap interval over groups (`n` = groups).
    pub alpha_std: Estimate,
    /// Raw alpha (covariances; depends on each item's scale), for reference.
    pub alpha_raw: Option<f64>,
    /// Standardized alpha without each item; `None` with fewer than 3 items.
    pub alpha_if_deleted: Vec<Option<f64>>,
    /// Corrected item–total correlation (with the sum of the other z-scored items).
    pub item_total: Vec<Option<f64>>,
    /// Inter-item correlation matrix.
    pub correlation: SquareMatrix,
    /// Eigenvalues of the correlation matrix, largest first.
    pub eigenvalues: Vec<f64>,
    /// First-factor loadings, in item order.
    pub loadings: Vec<f64>,
    /// Parallel analysis; `None` with fewer than 3 units.
    pub parallel: Option<ParallelAnalysis>,
}

/// Which of the origin's decision rules fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Alpha ≥ 0.85: the items measure the same thing; the origin keeps the cheapest.
    Redundant,
    /// Alpha < 0.70: the items measure different things; the origin keeps both.
    DifferentConstructs,
    /// Deleting the item raises alpha: the item is noisy; investigate.
    Noisy,
}

impl Rule {
    /// Short name.
    pub fn label(self) -> &'static str {
        match self {
            Rule::Redundant => "redundant",
            Rule::DifferentConstructs => "different constructs",
            Rule::Noisy => "noisy",
        }
    }
}

/// One firing of a decision rule, with the numbers behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFiring {
    /// The rule.
    pub rule: Rule,
    /// The items it fired for: all items (set level), two (a pair), or one (noisy).
    pub items: Vec<String>,
    /// The statistic compared: standardized alpha of the set or pair, or for `Noisy` the
    /// standardized alpha with the item deleted.
    pub value: f64,
    /// What it was compared with: 0.85, 0.70, or for `Noisy` the alpha of all items.
    pub threshold: f64,
    /// The firing in words, with the numbers.
    pub statement: String,
}

/// Reliability of the codecs as an instrument (one population).
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentReport {
    /// Units (pairs) used: those where every item (and the truth, if given) is finite.
    pub n_units: usize,
    /// Bootstrap groups (queries) among them.
    pub n_groups: usize,
    /// Items left out because their scores are constant (no correlation is defined).
    pub excluded: Vec<String>,
    /// The codecs alone, the truth kept out; `None` with fewer than 2 usable items.
    pub without_truth: Option<ItemAnalysis>,
    /// The codecs plus the truth as a criterion item (named `truth`, last); `None` without a
    /// usable truth.
    pub with_truth: Option<ItemAnalysis>,
    /// The origin's rules, evaluated on `without_truth`: set level (all codecs), each pair
    /// (when there are 3 or more codecs), and each item's deletion.
    pub rules: Vec<RuleFiring>,
}

/// Two-item standardized alpha `2r / (1 + r)` of items `i` and `j`.
fn pair_alpha(r: &SquareMatrix, i: usize, j: usize) -> Option<f64> {
    alpha_from_matrix(&r.submatrix(&[i, j]))
}

fn analyse(
    names: Vec<String>,
    groups: &[Moments],
    keep: &[usize],
    n_units: usize,
    opts: &InstrumentOptions,
) -> Option<ItemAnalysis> {
    if keep.len() < 2 {
        return None;
    }
    let parts: Vec<Moments> = groups.iter().map(|g| g.select(keep)).collect();
    let all = Moments::merged(keep.len(), &parts);
    let r = all.correlation()?;
    let alpha_std = bootstrap(
        parts.len(),
        |idx| {
            let m = Moments::merged(keep.len(), idx.iter().map(|&i| &parts[i]));
            alpha_from_matrix(&m.correlation()?)
        },
        opts.resamples,
        opts.seed,
    );
    let pa = ParallelOptions {
        matrices: opts.pa_matrices,
        quantile: opts.pa_quantile,
        seed: opts.seed,
    };
    let factors = factor_structure(&r, n_units.min(opts.pa_max_rows), pa);
    Some(ItemAnalysis {
        names,
        alpha_std,
        alpha_raw: cronbach_alpha(&all),
        alpha_if_deleted: alpha_if_deleted(&r),
        item_total: item_total(&r),
        correlation: r,
        eigenvalues: factors.eigenvalues,
        loadings: factors.loadings,
        parallel: factors.parallel,
    })
}

fn evaluate_rules(a: &ItemAnalysis) -> Vec<RuleFiring> {
    let mut out = Vec::new();
    let Some(alpha) = a.alpha_std.value else {
        return out;
    };
    let k = a.names.len();
    let all = a.names.join(", ");
    if alpha >= REDUNDANT_ALPHA {
        out.push(RuleFiring {
            rule: Rule::Redundant,
            items: a.names.clone(),
            value: alpha,
            threshold: REDUNDANT_ALPHA,
            statement: format!(
                "standardized alpha of all {k} codecs ({all}) is {alpha:.3} ≥ {REDUNDANT_ALPHA}: \
                 as measures of each other they are redundant (the origin keeps the cheapest); \
                 this is agreement among codecs, not with the truth"
            ),
        });
    } else if alpha < DIFFERENT_ALPHA {
        out.push(RuleFiring {
            rule: Rule::DifferentConstructs,
            items: a.names.clone(),
            value: alpha,
            threshold: DIFFERENT_ALPHA,
            statement: format!(
                "standardized alpha of all {k} codecs ({all}) is {alpha:.3} < {DIFFERENT_ALPHA}: \
                 they do not measure one construct"
            ),
        });
    }
    if k >= 3 {
        for i in 0..k {
            for j in i + 1..k {
                let Some(pa) = pair_alpha(&a.correlation, i, j) else {
                    continue;
                };
                let r = a.correlation.get(i, j);
                let (ni, nj) = (&a.names[i], &a.names[j]);
                if pa >= REDUNDANT_ALPHA {
                    out.push(RuleFiring {
                        rule: Rule::Redundant,
                        items: vec![ni.clone(), nj.clone()],
                        value: pa,
                        threshold: REDUNDANT_ALPHA,
                        statement: format!(
                            "{ni} and {nj}: two-item standardized alpha 2r/(1+r) = {pa:.3} \
                             (r = {r:.3}) ≥ {REDUNDANT_ALPHA}: redundant, the origin keeps the \
                             cheaper"
                        ),
                    });
                } else if pa < DIFFERENT_ALPHA {
                    out.push(RuleFiring {
                        rule: Rule::DifferentConstructs,
                        items: vec![ni.clone(), nj.clone()],
                        value: pa,
                        threshold: DIFFERENT_ALPHA,
                        statement: format!(
                            "{ni} and {nj}: two-item standardized alpha 2r/(1+r) = {pa:.3} \
                             (r = {r:.3}) < {DIFFERENT_ALPHA}: different constructs, the origin \
                             keeps both"
                        ),
                    });
                }
            }
        }
    }
    for (name, deleted) in a.names.iter().zip(&a.alpha_if_deleted) {
        if let Some(d) = *deleted {
            if d > alpha {
                out.push(RuleFiring {
                    rule: Rule::Noisy,
                    items: vec![name.clone()],
                    value: d,
                    threshold: alpha,
                    statement: format!(
                        "deleting {name} raises standardized alpha from {alpha:.3} to {d:.3}: \
                         the item is noisy relative to the others; investigate"
                    ),
                });
            }
        }
    }
    out
}

/// Reliability analysis of codecs as items of one instrument.
///
/// `items[c]` holds codec `c`'s estimated scores over the same units (e.g. all (query, base row)
/// pairs, query-major), `names[c]` its name, and `truth` (if given) the exact scores of the same
/// units. Units where any value is not finite are dropped (listwise). Constant items are listed
/// in `excluded` and left out. The statistics use all units; consecutive blocks of
/// `opts.group_len` units (one query each) are the bootstrap unit for the alpha intervals, and
/// the parallel analysis simulates `min(units, opts.pa_max_rows)` rows.
///
/// # Panics
/// If `names.len() != items.len()`, the items (or truth) differ in length, or `group_len` is 0.
pub fn instrument(
    items: &[Vec<f64>],
    names: &[String],
    truth: Option<&[f64]>,
    opts: &InstrumentOptions,
) -> InstrumentReport {
    assert_eq!(items.len(), names.len(), "instrument: one name per item");
    assert!(
        opts.group_len > 0,
        "instrument: group_len must be at least 1"
    );
    let n = items.first().map_or(0, Vec::len);
    let mut cols: Vec<&[f64]> = items.iter().map(Vec::as_slice).collect();
    if let Some(t) = truth {
        cols.push(t);
    }
    assert!(
        cols.iter().all(|c| c.len() == n),
        "instrument: items and truth differ in length"
    );
    let k_all = cols.len();
    if k_all == 0 {
        return InstrumentReport {
            n_units: 0,
            n_groups: 0,
            excluded: Vec::new(),
            without_truth: None,
            with_truth: None,
            rules: Vec::new(),
        };
    }
    let mut groups = Vec::new();
    let mut buf: Vec<Vec<f64>> = vec![Vec::with_capacity(opts.group_len); k_all];
    let mut n_units = 0;
    let mut start = 0;
    while start < n {
        let end = (start + opts.group_len).min(n);
        for b in &mut buf {
            b.clear();
        }
        for u in start..end {
            if cols.iter().all(|c| c[u].is_finite()) {
                for (b, c) in buf.iter_mut().zip(&cols) {
                    b.push(c[u]);
                }
            }
        }
        if !buf[0].is_empty() {
            n_units += buf[0].len();
            let refs: Vec<&[f64]> = buf.iter().map(Vec::as_slice).collect();
            groups.push(Moments::from_columns(&refs));
        }
        start = end;
    }
    let merged = Moments::merged(k_all, &groups);
    let constant = merged.constant_items();
    let n_codecs = items.len();
    let keep: Vec<usize> = (0..n_codecs).filter(|j| !constant.contains(j)).collect();
    let excluded = (0..n_codecs)
        .filter(|j| constant.contains(j))
        .map(|j| names[j].clone())
        .collect();
    let kept_names: Vec<String> = keep.iter().map(|&j| names[j].clone()).collect();
    let without_truth = analyse(kept_names.clone(), &groups, &keep, n_units, opts);
    let with_truth = (truth.is_some() && !constant.contains(&n_codecs))
        .then(|| {
            let mut keep_t = keep.clone();
            keep_t.push(n_codecs);
            let mut names_t = kept_names;
            names_t.push("truth".to_owned());
            analyse(names_t, &groups, &keep_t, n_units, opts)
        })
        .flatten();
    let rules = without_truth
        .as_ref()
        .map(evaluate_rules)
        .unwrap_or_default();
    InstrumentReport {
        n_units,
        n_groups: groups.len(),
        excluded,
        without_truth,
        with_truth,
        rules,
    }
}
