//! The instrument analysis of [`super`]: the codecs of one population as items of one
//! measurement instrument (standardized alpha with a bootstrap over queries, alpha-if-deleted,
//! item–total correlations, eigenvalues and parallel analysis), without and with the truth as a
//! criterion item, and the origin's decision rules with the numbers behind them. Kept apart from
//! the validity statistics (ICC and kappa against the truth) because it compares codecs with
//! each other, not with the truth, and shares none of their code.

use crate::metric::bootstrap::{DEFAULT_RESAMPLES, Estimate, bootstrap};
use crate::metric::reliability::alpha::{
    alpha_from_matrix, alpha_if_deleted, cronbach_alpha, item_total,
};
use crate::metric::reliability::factor::{ParallelAnalysis, ParallelOptions, factor_structure};
use crate::metric::reliability::table::{Moments, SquareMatrix};

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
        if let Some(d) = *deleted
            && d > alpha
        {
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
