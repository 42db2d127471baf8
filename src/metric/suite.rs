//! The score-fidelity metric suite: per-query metrics of estimates against truth, then pooled over
//! queries (the independent unit) with a seeded 95% bootstrap CI. Correlations are pooled by
//! Fisher-z averaging; the other metrics by their mean. Pure numbers: no codec knowledge.

use super::bootstrap::{self, Estimate};
use super::correlation::{kendall_tau_b, pearson, spearman};
use super::deviation::deviation;
use super::recall::{recall_at_k, recall_chance};

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
        pooling: "Fisher-z mean over queries; bootstrap CI over queries",
    },
    MetricInfo {
        name: "spearman",
        definition: "Spearman rank correlation (average ranks for ties), per query",
        pooling: "Fisher-z mean over queries; bootstrap CI over queries",
    },
    MetricInfo {
        name: "kendall",
        definition: "Kendall tau-b (tie-corrected), per query, O(n log n) (Knight 1966)",
        pooling: "Fisher-z mean over queries; bootstrap CI over queries",
    },
    MetricInfo {
        name: "recall@k",
        definition: "|exact top-k ∩ estimated top-k| / k per query (ties broken by lower row index); chance = k/n",
        pooling: "mean over queries; bootstrap CI",
    },
    MetricInfo {
        name: "mae",
        definition: "mean |estimate − exact| per query",
        pooling: "mean over queries; bootstrap CI",
    },
    MetricInfo {
        name: "rmse",
        definition: "sqrt(mean (estimate − exact)²) per query",
        pooling: "mean over queries; bootstrap CI",
    },
    MetricInfo {
        name: "bias",
        definition: "mean signed error (estimate − exact) per query",
        pooling: "mean over queries; bootstrap CI",
    },
    MetricInfo {
        name: "slope",
        definition: "least-squares slope of estimate on exact score per query (1 = no shrinkage)",
        pooling: "mean over queries; bootstrap CI",
    },
    MetricInfo {
        name: "intercept",
        definition: "least-squares intercept of estimate on exact score per query",
        pooling: "mean over queries; bootstrap CI",
    },
    MetricInfo {
        name: "icc2_1",
        definition: "ICC(2,1), absolute agreement of estimate and exact score over all (query, row) pairs: punished by bias and wrong scale",
        pooling: "pairs pooled; bootstrap CI over queries",
    },
    MetricInfo {
        name: "icc3_1",
        definition: "ICC(3,1), consistency of estimate and exact score: blind to a constant offset",
        pooling: "pairs pooled; bootstrap CI over queries",
    },
    MetricInfo {
        name: "kappa@k",
        definition: "Cohen's kappa of top-k membership (row in the query's top-k, codec vs truth) = recall@k corrected for chance",
        pooling: "2×2 tables pooled over queries; bootstrap CI over queries",
    },
    MetricInfo {
        name: "kappa.decile_q",
        definition: "quadratic-weighted kappa of score deciles (within each query, truth and estimate cut into deciles of their own ranks)",
        pooling: "10×10 tables pooled over queries; bootstrap CI over queries",
    },
    MetricInfo {
        name: "alpha_std",
        definition: "population level: standardized Cronbach's alpha of the codecs as items (truth left out), plus alpha_if_deleted and item_total per codec, alpha_std.with_truth, factors (parallel analysis)",
        pooling: "over a fixed subsample of (query, row) pairs; bootstrap CI over queries",
    },
    MetricInfo {
        name: "recon_mse",
        definition: "Σ‖x − x̂‖² / Σ‖x‖² over base rows (decodable codecs only)",
        pooling: "ratio of sums; bootstrap CI over rows",
    },
];

/// The `.sym` suffix marks metrics of symmetric (both-encoded) estimates.
pub const SYM_SUFFIX: &str = ".sym";

/// Per-query values of every pair metric (NaN = undefined for that query).
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
    nonfinite: bool,
}

fn per_query(truth: &[f64], est: &[f64], skip: Option<usize>, k: usize) -> PerQuery {
    let (t, e): (Vec<f64>, Vec<f64>) = match skip {
        Some(s) => truth
            .iter()
            .zip(est)
            .enumerate()
            .filter(|(i, _)| *i != s)
            .map(|(_, (&a, &b))| (a, b))
            .unzip(),
        None => (truth.to_vec(), est.to_vec()),
    };
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
            nonfinite: true,
        };
    }
    let d = deviation(&t, &e);
    PerQuery {
        pearson: pearson(&t, &e).unwrap_or(f64::NAN),
        spearman: spearman(&t, &e).unwrap_or(f64::NAN),
        kendall: kendall_tau_b(&t, &e).unwrap_or(f64::NAN),
        recall: recall_at_k(&t, &e, k.min(t.len())),
        mae: d.mae,
        rmse: d.rmse,
        bias: d.bias,
        slope: d.slope.unwrap_or(f64::NAN),
        intercept: d.intercept.unwrap_or(f64::NAN),
        nonfinite: false,
    }
}

/// Inputs of [`pair_metrics`].
pub struct PairInputs<'a> {
    /// Exact scores, `queries × n_base`.
    pub truth: &'a [f64],
    /// Estimates, same layout.
    pub estimate: &'a [f64],
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

/// Per-query metrics pooled over queries. Queries where a metric is undefined (e.g. a constant
/// truth vector for a zero query row) are left out of that metric, and the note says how many.
pub fn pair_metrics(inp: &PairInputs<'_>) -> Vec<MetricValue> {
    use rayon::prelude::*;
    let nq = inp.skip.len();
    let per: Vec<PerQuery> = (0..nq)
        .into_par_iter()
        .map(|q| {
            let r = q * inp.n_base..(q + 1) * inp.n_base;
            per_query(&inp.truth[r.clone()], &inp.estimate[r], inp.skip[q], inp.k)
        })
        .collect();
    let nonfinite = per.iter().filter(|p| p.nonfinite).count();
    let candidates = inp.n_base - usize::from(inp.skip.first().is_some_and(|s| s.is_some()));
    let k = inp.k.min(candidates);

    type Pick = fn(&PerQuery) -> f64;
    let table: [(&str, Pick, bool, Option<f64>); 9] = [
        ("pearson", |p| p.pearson, true, None),
        ("spearman", |p| p.spearman, true, None),
        ("kendall", |p| p.kendall, true, None),
        (
            "recall",
            |p| p.recall,
            false,
            Some(recall_chance(k, candidates.max(1))),
        ),
        ("mae", |p| p.mae, false, None),
        ("rmse", |p| p.rmse, false, None),
        ("bias", |p| p.bias, false, None),
        ("slope", |p| p.slope, false, None),
        ("intercept", |p| p.intercept, false, None),
    ];
    table
        .iter()
        .enumerate()
        .map(|(mi, &(base_name, pick, is_corr, chance))| {
            let name = if base_name == "recall" {
                format!("recall@{k}{}", inp.suffix)
            } else {
                format!("{base_name}{}", inp.suffix)
            };
            let vals: Vec<f64> = per.iter().map(pick).filter(|v| v.is_finite()).collect();
            let seed = inp
                .seed
                .wrapping_add(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(mi as u64 + 1));
            let estimate = if is_corr && !vals.is_empty() && vals.iter().all(|&v| v == vals[0]) {
                // Every query gave the same correlation (e.g. exactly 1 for the oracle): the
                // pooled value is that number; no clamp inside atanh should move it.
                Estimate {
                    value: Some(vals[0]),
                    ci_lo: Some(vals[0]),
                    ci_hi: Some(vals[0]),
                    n: vals.len(),
                }
            } else if is_corr {
                bootstrap::fisher_z_mean_ci(&vals, inp.resamples, seed)
            } else {
                bootstrap::mean_ci(&vals, inp.resamples, seed)
            };
            let undefined = nq - vals.len();
            let note = if nonfinite > 0 {
                Some(format!(
                    "{nonfinite} of {nq} queries had non-finite estimates (overflow)"
                ))
            } else if undefined > 0 {
                Some(format!(
                    "undefined for {undefined} of {nq} queries (constant exact or estimated scores)"
                ))
            } else {
                None
            };
            MetricValue {
                name,
                estimate,
                chance,
                note,
            }
        })
        .collect()
}

/// `recon_mse` = Σ‖x − x̂‖² / Σ‖x‖² with a bootstrap CI over rows.
pub fn recon_metric(err: &[f64], energy: &[f64], resamples: usize, seed: u64) -> MetricValue {
    let bad = err.iter().filter(|e| !e.is_finite()).count();
    if bad > 0 {
        return MetricValue {
            name: "recon_mse".to_string(),
            estimate: Estimate {
                value: None,
                ci_lo: None,
                ci_hi: None,
                n: err.len(),
            },
            chance: None,
            note: Some(format!(
                "undefined: {bad} rows decoded to non-finite values (overflow)"
            )),
        };
    }
    let estimate = bootstrap::ratio_ci(err, energy, resamples, seed);
    let note = estimate
        .value
        .is_none()
        .then(|| "undefined: all base rows are zero".to_string());
    MetricValue {
        name: "recon_mse".to_string(),
        estimate,
        chance: None,
        note,
    }
}

/// Per query, the scores with the self-pair (if any) left out.
fn per_query_vectors(data: &[f64], n_base: usize, skip: &[Option<usize>]) -> Vec<Vec<f64>> {
    skip.iter()
        .enumerate()
        .map(|(q, s)| {
            let row = &data[q * n_base..(q + 1) * n_base];
            match s {
                Some(s) => row
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i != s)
                    .map(|(_, &v)| v)
                    .collect(),
                None => row.to_vec(),
            }
        })
        .collect()
}

/// Validity and agreement against the truth (`metric::reliability::bench`): ICC(2,1) (absolute
/// agreement, punished by bias and scale) and ICC(3,1) (consistency) of estimate vs truth,
/// Cohen's kappa of top-k membership, and the quadratic-weighted kappa of score deciles; all
/// with bootstrap CIs over queries.
pub fn validity_metrics(inp: &PairInputs<'_>) -> Vec<MetricValue> {
    use super::reliability::bench::{decile_kappa_quadratic, topk_kappa, validity_icc};
    if inp.estimate.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let t = per_query_vectors(inp.truth, inp.n_base, inp.skip);
    let e = per_query_vectors(inp.estimate, inp.n_base, inp.skip);
    let tr: Vec<&[f64]> = t.iter().map(Vec::as_slice).collect();
    let er: Vec<&[f64]> = e.iter().map(Vec::as_slice).collect();
    let k = inp.k.min(t.first().map_or(0, Vec::len));
    let icc = validity_icc(&tr, &er, inp.resamples, inp.seed ^ 0x4943_4332);
    let mv = |name: String, estimate: Estimate, chance: Option<f64>| MetricValue {
        note: estimate
            .value
            .is_none()
            .then(|| "undefined (constant scores)".to_string()),
        name,
        estimate,
        chance,
    };
    vec![
        mv("icc2_1".to_string(), icc.agreement, None),
        mv("icc3_1".to_string(), icc.consistency, None),
        mv(
            format!("kappa@{k}"),
            topk_kappa(&tr, &er, k, inp.resamples, inp.seed ^ 0x4b41_5050),
            Some(0.0),
        ),
        mv(
            "kappa.decile_q".to_string(),
            decile_kappa_quadratic(&tr, &er, inp.resamples, inp.seed ^ 0x4445_4349),
            Some(0.0),
        ),
    ]
}
