//! The score-fidelity metric suite: per-query metrics of estimates against truth, then pooled over
//! queries (the independent unit) with a seeded 95% bootstrap CI. Correlations are pooled by
//! Fisher-z averaging; the other metrics by their mean. Pure numbers: no codec knowledge.

use super::bootstrap::{self, Estimate};
use super::correlation::{RankedSide, kendall_tau_b_prepared, pearson, ranks, spearman_prepared};
use super::deviation::deviation;
use super::recall::{recall_at_k, recall_chance};
use super::reliability::bench::{deciles_of_ranks, pooled_kappa_of, query_icc, topk_confusion};
use super::reliability::kappa::{Confusion, KappaWeights};

/// One metric's pooled value.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    /// Metric name, e.g. `pearson`, `recall@10`, `spearman.sym`.
    pub name: String,
    /// Value with CI and n.
    pub estimate: Estimate,
    /// What a random estimate would score, where defined.
    pub chance: Option<f64>,
    /// Why a value is missing or what limits it.
    pub note: Option<String>,
}

/// One metric, for `list metrics`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MetricInfo {
    /// Name as it appears in results (`recall@k` stands for `recall@10` etc.).
    pub name: &'static str,
    /// Definition.
    pub definition: &'static str,
    /// How it is pooled over queries.
    pub pooling: &'static str,
}

/// Every metric the pair and reconstruction probes report.
pub static METRICS: &[MetricInfo] = &[
    MetricInfo {
        name: "pearson",
        definition: "Pearson correlation of estimated vs exact scores of one query over all base rows",
        pooling: "Fisher-z mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "spearman",
        definition: "Spearman rank correlation (average ranks for ties), per query",
        pooling: "Fisher-z mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "kendall",
        definition: "Kendall tau-b (tie-corrected), per query, O(n log n) (Knight 1966)",
        pooling: "Fisher-z mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "recall@k",
        definition: "expected |exact top-k ∩ estimated top-k| / k per query when tied scores are ordered uniformly at random (independently for truth and estimate), so it does not depend on row order; undefined for a query whose exact scores are all equal; chance = k/n",
        pooling: "mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "mae",
        definition: "mean |estimate − exact| per query",
        pooling: "mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "rmse",
        definition: "sqrt(mean (estimate − exact)²) per query",
        pooling: "mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "bias",
        definition: "mean signed error (estimate − exact) per query",
        pooling: "mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "slope",
        definition: "least-squares slope of estimate on exact score per query (1 = no shrinkage)",
        pooling: "mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "intercept",
        definition: "least-squares intercept of estimate on exact score per query",
        pooling: "mean over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "icc2_1",
        definition: "ICC(2,1), absolute agreement of estimate and exact score over one query's rows: punished by bias and wrong scale",
        pooling: "per query, then Fisher-z mean over (draw, query) like the correlations; bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "icc3_1",
        definition: "ICC(3,1), consistency of estimate and exact score over one query's rows: blind to a constant offset",
        pooling: "per query, then Fisher-z mean over (draw, query) like the correlations; bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "kappa@k",
        definition: "Cohen's kappa of top-k membership (row in the query's top-k, codec vs truth), expected 2×2 table under random tie-breaking as recall@k = recall@k corrected for chance",
        pooling: "2×2 tables pooled over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "kappa.decile_q",
        definition: "quadratic-weighted kappa of score deciles (within each query, truth and estimate cut into deciles of their own ranks)",
        pooling: "10×10 tables pooled over (draw, query); bootstrap CI over queries and codec draws",
    },
    MetricInfo {
        name: "alpha_std",
        definition: "population level: standardized Cronbach's alpha of the codecs as items (truth left out), plus alpha_if_deleted and item_total per codec, alpha_std.with_truth, factors (parallel analysis)",
        pooling: "over a fixed subsample of (query, row) pairs; bootstrap CI over queries",
    },
    MetricInfo {
        name: "recon_mse",
        definition: "Σ‖x − x̂‖² / Σ‖x‖² over base rows (decodable codecs only)",
        pooling: "ratio of sums over (draw, row); bootstrap CI over rows and codec draws",
    },
];

/// The `.sym` suffix marks metrics of symmetric (both-encoded) estimates.
pub const SYM_SUFFIX: &str = ".sym";

/// One query's exact scores (self-pair left out), prepared once per population and shared by
/// every codec and codec draw: the rank side of Spearman, Kendall and the deciles.
#[derive(Debug, Clone)]
pub struct QueryTruth {
    scores: Vec<f64>,
    ranked: RankedSide,
    deciles: Vec<usize>,
}

/// Prepare every query's truth (`truth` is `queries × n_base`; `skip[q]` the column to leave
/// out of query `q`).
pub fn prepare_truth(truth: &[f64], n_base: usize, skip: &[Option<usize>]) -> Vec<QueryTruth> {
    use rayon::prelude::*;
    (0..skip.len())
        .into_par_iter()
        .map(|q| {
            let scores = without(&truth[q * n_base..(q + 1) * n_base], skip[q]).into_owned();
            let ranked = RankedSide::new(&scores);
            let deciles = deciles_of_ranks(&ranked.ranks);
            QueryTruth {
                scores,
                ranked,
                deciles,
            }
        })
        .collect()
}

/// `row` without column `skip` (borrowed when there is nothing to leave out).
fn without(row: &[f64], skip: Option<usize>) -> std::borrow::Cow<'_, [f64]> {
    match skip {
        Some(s) => row
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != s)
            .map(|(_, &v)| v)
            .collect::<Vec<f64>>()
            .into(),
        None => row.into(),
    }
}

/// Per-query values of every metric of one (draw, query) (NaN = undefined for that query).
struct PerQuery {
    pearson: f64,
    spearman: f64,
    kendall: f64,
    recall: f64,
    mae: f64,
    rmse: f64,
    bias: f64,
    slope: f64,
    intercept: f64,
    /// Validity (asymmetric estimates only): per-query ICC(2,1) and ICC(3,1), the expected
    /// top-k membership table and the decile table.
    icc2: f64,
    icc3: f64,
    topk: Option<Confusion>,
    decile: Option<Confusion>,
    nonfinite: bool,
}

fn per_query(
    truth: &QueryTruth,
    est_row: &[f64],
    skip: Option<usize>,
    k: usize,
    validity: bool,
) -> PerQuery {
    let e = without(est_row, skip);
    let t = &truth.scores;
    if e.iter().any(|v| !v.is_finite()) {
        return PerQuery {
            pearson: f64::NAN,
            spearman: f64::NAN,
            kendall: f64::NAN,
            recall: f64::NAN,
            mae: f64::NAN,
            rmse: f64::NAN,
            bias: f64::NAN,
            slope: f64::NAN,
            intercept: f64::NAN,
            icc2: f64::NAN,
            icc3: f64::NAN,
            topk: None,
            decile: None,
            nonfinite: true,
        };
    }
    let d = deviation(t, &e);
    let e_ranks = ranks(&e);
    let recall = recall_at_k(t, &e, k.min(t.len()));
    let recall_defined = !recall.is_nan();
    let (icc2, icc3, topk, decile) = if validity {
        let (a, c) = query_icc(t, &e);
        (
            a.unwrap_or(f64::NAN),
            c.unwrap_or(f64::NAN),
            // A query whose exact scores are all tied has no top-k (recall is undefined
            // there); it is left out of the pooled table too, so kappa@k and recall@k agree.
            recall_defined.then(|| topk_confusion(t, &e, k.min(t.len()))),
            Some(Confusion::from_labels(
                &truth.deciles,
                &deciles_of_ranks(&e_ranks),
                10,
            )),
        )
    } else {
        (f64::NAN, f64::NAN, None, None)
    };
    PerQuery {
        pearson: pearson(t, &e).unwrap_or(f64::NAN),
        spearman: spearman_prepared(&truth.ranked, &e, &e_ranks).unwrap_or(f64::NAN),
        kendall: kendall_tau_b_prepared(&truth.ranked, &e).unwrap_or(f64::NAN),
        recall,
        mae: d.mae,
        rmse: d.rmse,
        bias: d.bias,
        slope: d.slope.unwrap_or(f64::NAN),
        intercept: d.intercept.unwrap_or(f64::NAN),
        icc2,
        icc3,
        topk,
        decile,
        nonfinite: false,
    }
}

/// Inputs of [`pair_metrics`].
#[derive(Clone, Copy)]
pub struct PairInputs<'a> {
    /// Exact scores, `queries × n_base`.
    pub truth: &'a [f64],
    /// The truth prepared by [`prepare_truth`] (from the same `truth` and `skip`); `None` =
    /// prepare it here.
    pub prepared: Option<&'a [QueryTruth]>,
    /// Estimates, same layout, one slice per independent codec draw (one for a codec whose fit
    /// is deterministic).
    pub estimates: &'a [&'a [f64]],
    /// Columns.
    pub n_base: usize,
    /// Per query: a column to leave out (the self-pair).
    pub skip: &'a [Option<usize>],
    /// recall@k.
    pub k: usize,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
    /// Appended to every metric name (`""` or [`SYM_SUFFIX`]).
    pub suffix: &'a str,
}

/// One metric's per-unit values under each codec draw (`values[draw][query]`, NaN where
/// undefined): what a paired comparison of two runs needs (`units/` in a run directory). For a
/// metric pooled over all queries at once (the kappas, `recon_mse`) each draw has one value,
/// the draw's pooled value.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitValues {
    /// Metric name, as in [`MetricValue::name`].
    pub name: String,
    /// `values[draw][query]`.
    pub values: Vec<Vec<f64>>,
}

/// What [`pair_metrics_with_units`] computes: the pooled metrics in report order and the
/// per-query values behind the per-query ones.
pub struct PairMetrics {
    /// Pooled pair metrics.
    pub metrics: Vec<MetricValue>,
    /// Pooled validity metrics (empty unless asked for).
    pub validity: Vec<MetricValue>,
    /// Per-query values (not for the pooled-table kappas).
    pub units: Vec<UnitValues>,
}

/// Per-query metrics pooled over queries. Queries where a metric is undefined (e.g. a constant
/// truth vector for a zero query row) are left out of that metric, and the note says how many.
pub fn pair_metrics(inp: &PairInputs<'_>) -> Vec<MetricValue> {
    pair_metrics_with_units(inp, false).metrics
}

/// [`pair_metrics`] and the per-query values behind each metric; with `validity`, also the
/// validity metrics against the truth (appended after the pair metrics, in this order):
/// `icc2_1` and `icc3_1` (per query, pooled like the correlations), `kappa@k` of top-k
/// membership and `kappa.decile_q` of score deciles (tables pooled over queries). Validity
/// needs every estimate finite; otherwise it is left out.
///
/// With several codec draws every pooled value is over every (draw, query) pair and the
/// interval is the crossed bootstrap over draws and queries
/// ([`bootstrap::bootstrap_crossed`]); with one draw it is the bootstrap over queries.
pub fn pair_metrics_with_units(inp: &PairInputs<'_>, validity: bool) -> PairMetrics {
    use rayon::prelude::*;
    let nq = inp.skip.len();
    let draws = inp.estimates.len();
    let own;
    let prepared = match inp.prepared {
        Some(p) => p,
        None => {
            own = prepare_truth(inp.truth, inp.n_base, inp.skip);
            &own
        }
    };
    let validity = validity
        && inp
            .estimates
            .iter()
            .all(|e| e.iter().all(|v| v.is_finite()));
    let per: Vec<Vec<PerQuery>> = inp
        .estimates
        .iter()
        .map(|est| {
            (0..nq)
                .into_par_iter()
                .map(|q| {
                    let r = q * inp.n_base..(q + 1) * inp.n_base;
                    per_query(&prepared[q], &est[r], inp.skip[q], inp.k, validity)
                })
                .collect()
        })
        .collect();
    let nonfinite = per.iter().flatten().filter(|p| p.nonfinite).count();
    let candidates = inp.n_base - usize::from(inp.skip.first().is_some_and(|s| s.is_some()));
    let k = inp.k.min(candidates);

    type Pick = fn(&PerQuery) -> f64;
    let mut table: Vec<(String, Pick, bool, Option<f64>)> = vec![
        ("pearson".into(), |p| p.pearson, true, None),
        ("spearman".into(), |p| p.spearman, true, None),
        ("kendall".into(), |p| p.kendall, true, None),
        (
            format!("recall@{k}"),
            |p| p.recall,
            false,
            Some(recall_chance(k, candidates.max(1))),
        ),
        ("mae".into(), |p| p.mae, false, None),
        ("rmse".into(), |p| p.rmse, false, None),
        ("bias".into(), |p| p.bias, false, None),
        ("slope".into(), |p| p.slope, false, None),
        ("intercept".into(), |p| p.intercept, false, None),
    ];
    let pair_count = table.len();
    if validity {
        table.push(("icc2_1".into(), |p| p.icc2, true, None));
        table.push(("icc3_1".into(), |p| p.icc3, true, None));
    }
    let of = if draws > 1 {
        format!("{} (query, draw) pairs", nq * draws)
    } else {
        format!("{nq} queries")
    };
    let mut units = Vec::with_capacity(table.len());
    let mut metrics: Vec<MetricValue> = table
        .into_iter()
        .enumerate()
        .map(|(mi, (base_name, pick, is_corr, chance))| {
            let name = format!("{base_name}{}", inp.suffix);
            let grid: Vec<Vec<f64>> = per
                .iter()
                .map(|d| d.iter().map(pick).map(finite_or_nan).collect())
                .collect();
            // The validity ICCs keep the seeds they had as pooled statistics.
            let seed = if mi < pair_count {
                inp.seed
                    .wrapping_add(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(mi as u64 + 1))
            } else {
                inp.seed ^ 0x4943_4332 ^ (mi - pair_count) as u64
            };
            let estimate = pooled(&grid, is_corr, inp.resamples, seed);
            let defined = grid.iter().flatten().filter(|v| v.is_finite()).count();
            let undefined = nq * draws - defined;
            let note = if nonfinite > 0 {
                Some(format!(
                    "{nonfinite} of {of} had non-finite estimates (overflow)"
                ))
            } else if undefined > 0 {
                Some(format!(
                    "undefined for {undefined} of {of} (constant exact or estimated scores)"
                ))
            } else {
                None
            };
            units.push(UnitValues {
                name: name.clone(),
                values: grid,
            });
            MetricValue {
                name,
                estimate,
                chance,
                note,
            }
        })
        .collect();
    let mut validity_rows = metrics.split_off(pair_count);
    if validity {
        let tables = |pick: fn(&PerQuery) -> Option<&Confusion>| -> Vec<Vec<&Confusion>> {
            per.iter()
                .map(|d| d.iter().filter_map(pick).collect())
                .collect()
        };
        let kappas: [(String, Vec<Vec<&Confusion>>, KappaWeights, u64); 2] = [
            (
                format!("kappa@{k}"),
                tables(|p| p.topk.as_ref()),
                KappaWeights::Nominal,
                0x4b41_5050,
            ),
            (
                "kappa.decile_q".to_string(),
                tables(|p| p.decile.as_ref()),
                KappaWeights::Quadratic,
                0x4445_4349,
            ),
        ];
        for (name, parts, weights, salt) in kappas {
            let estimate = pooled_kappa(&parts, weights, inp.resamples, inp.seed ^ salt);
            // Per draw, the kappa of that draw's pooled table (a draw-level unit: `compare`
            // tests differences between runs' draws with it, the queries being the same).
            units.push(UnitValues {
                name: format!("{name}{}", inp.suffix),
                values: parts
                    .iter()
                    .map(|d| vec![pooled_kappa_of(d.iter().copied(), weights).unwrap_or(f64::NAN)])
                    .collect(),
            });
            validity_rows.push(MetricValue {
                note: estimate
                    .value
                    .is_none()
                    .then(|| "undefined (constant scores)".to_string()),
                name: format!("{name}{}", inp.suffix),
                estimate,
                chance: Some(0.0),
            });
        }
    }
    PairMetrics {
        metrics,
        validity: validity_rows,
        units,
    }
}

/// Kappa of the tables `parts[draw][query]` pooled over the drawn (draw, query) pairs, with the
/// crossed bootstrap.
fn pooled_kappa(
    parts: &[Vec<&Confusion>],
    weights: KappaWeights,
    resamples: usize,
    seed: u64,
) -> Estimate {
    let n = parts.first().map_or(0, Vec::len);
    bootstrap::bootstrap_crossed(
        parts.len(),
        n,
        |reps, units| {
            pooled_kappa_of(
                reps.iter()
                    .flat_map(|&r| units.iter().map(move |&q| parts[r][q])),
                weights,
            )
        },
        resamples,
        seed,
    )
}

fn finite_or_nan(v: f64) -> f64 {
    if v.is_finite() { v } else { f64::NAN }
}

/// Pool a per-(draw, unit) grid: the Fisher-z mean for correlations, the mean otherwise.
fn pooled(grid: &[Vec<f64>], is_corr: bool, resamples: usize, seed: u64) -> Estimate {
    let mut finite = grid.iter().flatten().copied().filter(|v| v.is_finite());
    let first = finite.next();
    if is_corr
        && let Some(v0) = first
        && finite.all(|v| v == v0)
    {
        // Every (draw, query) gave the same correlation (e.g. exactly 1 for the oracle): the
        // pooled value is that number; no clamp inside atanh should move it.
        let n = (0..grid[0].len())
            .filter(|&q| grid.iter().any(|g| g[q].is_finite()))
            .count();
        return Estimate {
            value: Some(v0),
            ci_lo: Some(v0),
            ci_hi: Some(v0),
            n,
        };
    }
    if is_corr {
        bootstrap::fisher_z_mean_ci_grid(grid, resamples, seed)
    } else {
        bootstrap::mean_ci_grid(grid, resamples, seed)
    }
}

/// `recon_mse` = Σ‖x − x̂‖² / Σ‖x‖² with a bootstrap CI over rows (crossed with the draws when
/// there are several); see [`recon_metric_with_units`].
pub fn recon_metric(
    err: &[Vec<f64>],
    energy: &[Vec<f64>],
    resamples: usize,
    seed: u64,
) -> MetricValue {
    recon_metric_with_units(err, energy, resamples, seed).0
}

/// `recon_mse` = Σ‖x − x̂‖² / Σ‖x‖² with a bootstrap CI over rows: `err[draw][row]` and
/// `energy[draw][row]`, one draw per independent codec fit (the crossed bootstrap over draws
/// and rows when there are several).
pub fn recon_metric_with_units(
    err: &[Vec<f64>],
    energy: &[Vec<f64>],
    resamples: usize,
    seed: u64,
) -> (MetricValue, UnitValues) {
    let rows = err.first().map_or(0, Vec::len);
    // Per draw, that draw's ratio (a draw-level unit for `compare`).
    let units = UnitValues {
        name: "recon_mse".to_string(),
        values: err
            .iter()
            .zip(energy)
            .map(|(e, w)| {
                let den: f64 = w.iter().sum();
                vec![if den != 0.0 {
                    e.iter().sum::<f64>() / den
                } else {
                    f64::NAN
                }]
            })
            .collect(),
    };
    let bad = err.iter().flatten().filter(|e| !e.is_finite()).count();
    if bad > 0 {
        return (
            MetricValue {
                name: "recon_mse".to_string(),
                estimate: Estimate {
                    value: None,
                    ci_lo: None,
                    ci_hi: None,
                    n: rows,
                },
                chance: None,
                note: Some(format!(
                    "undefined: {bad} rows decoded to non-finite values (overflow)"
                )),
            },
            units,
        );
    }
    let estimate = bootstrap::ratio_ci_grid(err, energy, resamples, seed);
    let note = estimate
        .value
        .is_none()
        .then(|| "undefined: all base rows are zero".to_string());
    (
        MetricValue {
            name: "recon_mse".to_string(),
            estimate,
            chance: None,
            note,
        },
        units,
    )
}
