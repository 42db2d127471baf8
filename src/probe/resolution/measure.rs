//! Measuring one codec for the resolution study: fit it on the split's training rows (or say
//! why a palette cannot be the layout it declares), encode, score with the pair-probe metric
//! suite, and the per-query paired differences behind P9. The computation; the Markdown tables
//! and the P9 rows built from its results are in `rows`.

use super::super::command::{ProbeOptions, RowContext};
use super::super::pairs::{run_pairs, run_recon};
use super::super::{Split, Truth};
use crate::codec::{Codec, CodecSpec};
use crate::data::catalog::stable_hash;
use crate::error::Result;
use crate::metric::bootstrap::Estimate;
use crate::metric::correlation::spearman;
use crate::metric::recall::recall_at_k;
use crate::metric::suite::{MetricValue, PairInputs, pair_metrics, recon_metric};
use crate::run::ResultRow;

/// One population's study: the split, its truth and what every codec is measured with.
#[derive(Clone, Copy)]
pub(super) struct Study<'a> {
    /// Population name.
    pub(super) population: &'a str,
    /// Rows of the population before sampling (shared state is amortised over them).
    pub(super) population_rows: usize,
    /// The split every codec is fitted and scored on.
    pub(super) split: &'a Split,
    /// Exact scores of the split.
    pub(super) truth: &'a Truth,
    /// recall@k (cut to the candidates).
    pub(super) k: usize,
    /// The probe's options.
    pub(super) opts: &'a ProbeOptions,
    /// The population's seed.
    pub(super) seed: u64,
}

/// What was measured for one codec on one population.
pub(super) struct Measured {
    pub(super) spec: String,
    pub(super) rows: Vec<ResultRow>,
    /// Asymmetric estimates (queries × base), when the codec could be fitted.
    pub(super) asym: Option<Vec<f64>>,
    pub(super) bytes: usize,
    pub(super) bits: Option<usize>,
    pub(super) why: Option<String>,
}

impl Study<'_> {
    /// Fit, encode and score one codec: its pair-probe metrics, `recon_mse` and
    /// `resolution.code_bits` as rows, or one undefined row saying why it cannot be fitted.
    pub(super) fn measure(&self, spec: &CodecSpec, note: Option<String>) -> Result<Measured> {
        let Study {
            population,
            population_rows,
            split,
            truth,
            k,
            opts,
            seed,
        } = *self;
        let cell_seed = seed ^ stable_hash(&spec.identity()).rotate_left(17);
        // A palette needs k training rows to be the layout it declares (the codec itself falls
        // back to fewer entries): refuse here with the reason instead.
        let fitted = if let CodecSpec::Palette(p) = spec
            && split.train.len() < p.k
        {
            Err(crate::error::Error::BadParam {
                codec: "palette".to_string(),
                key: "k".to_string(),
                value: p.k.to_string(),
                expected: format!(
                    "k ≤ the {} training rows (a palette of k entries needs at least k rows)",
                    split.train.len()
                ),
            })
        } else {
            spec.fit(&split.train, cell_seed)
        };
        let codec: Box<dyn Codec> = match fitted {
            Ok(c) => c,
            Err(e @ crate::error::Error::BadParam { .. }) => {
                let why = e.to_string();
                let row = RowContext {
                    population: population.to_string(),
                    codec: spec.to_string(),
                    dim: split.base.dim(),
                    base_rows: split.base.len(),
                    queries: split.queries.len(),
                    split: "resolution".to_string(),
                    seed: opts.seed,
                    family: String::new(),
                    ..RowContext::default()
                }
                .row(undefined(
                    "spearman".to_string(),
                    format!("not measurable: {why}"),
                ));
                return Ok(Measured {
                    spec: spec.to_string(),
                    rows: vec![row],
                    asym: None,
                    bytes: 0,
                    bits: None,
                    why: Some(why),
                });
            }
            Err(e) => return Err(e),
        };
        let codes = codec.encode_all(&split.base);
        let outcome = run_pairs(codec.as_ref(), split, &codes)?;
        let mut ctx = RowContext::for_codec(
            codec.as_ref(),
            population,
            split.base.len(),
            population_rows,
            "resolution",
            opts.seed,
        );
        ctx.queries = split.queries.len();
        let inp = PairInputs {
            truth: &truth.scores,
            prepared: None,
            estimates: &[&outcome.asym],
            n_base: outcome.n_base,
            skip: &split.query_self,
            k,
            resamples: opts.resamples,
            seed: cell_seed,
            suffix: "",
        };
        let mut metrics = pair_metrics(&inp);
        if let Some(r) = run_recon(codec.as_ref(), split, &codes)? {
            metrics.push(recon_metric(
                &[r.err],
                &[r.energy],
                opts.resamples,
                cell_seed ^ 0x5245_434f,
            ));
        }
        let bits = if let CodecSpec::Palette(p) = spec {
            p.code_bits(codec.dim())
        } else {
            8 * codec.code_bytes()
        };
        metrics.push(MetricValue {
            name: "resolution.code_bits".to_string(),
            estimate: Estimate {
                value: Some(bits as f64),
                ci_lo: None,
                ci_hi: None,
                n: 1,
            },
            chance: None,
            note,
        });
        Ok(Measured {
            spec: spec.to_string(),
            rows: metrics.into_iter().map(|m| ctx.row(m)).collect(),
            asym: Some(outcome.asym),
            bytes: codec.code_bytes(),
            bits: Some(bits),
            why: None,
        })
    }
}

/// A metric without a value (no units, no chance level), and why.
pub(super) fn undefined(name: String, note: String) -> MetricValue {
    MetricValue {
        name,
        estimate: Estimate {
            value: None,
            ci_lo: None,
            ci_hi: None,
            n: 0,
        },
        chance: None,
        note: Some(note),
    }
}

/// Per query: [Spearman(a) − Spearman(b), recall@k(a) − recall@k(b)] against the truth, the
/// self-pair left out (NaN where a correlation is undefined).
pub(super) fn paired_differences(
    truth: &Truth,
    a: &[f64],
    b: &[f64],
    skip: &[Option<usize>],
    k: usize,
) -> [Vec<f64>; 2] {
    let n = truth.n_base;
    let keep = |v: &[f64], s: Option<usize>| -> Vec<f64> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != s)
            .map(|(_, &x)| x)
            .collect()
    };
    let mut sp = Vec::with_capacity(skip.len());
    let mut rc = Vec::with_capacity(skip.len());
    for (q, &s) in skip.iter().enumerate() {
        let t = keep(truth.row(q), s);
        let ea = keep(&a[q * n..(q + 1) * n], s);
        let eb = keep(&b[q * n..(q + 1) * n], s);
        let kk = k.min(t.len());
        sp.push(match (spearman(&t, &ea), spearman(&t, &eb)) {
            (Some(x), Some(y)) => x - y,
            _ => f64::NAN,
        });
        rc.push(recall_at_k(&t, &ea, kk) - recall_at_k(&t, &eb, kk));
    }
    [sp, rc]
}
