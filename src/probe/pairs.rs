//! The pair probe: a codec's estimates of ⟨query, base row⟩ next to the truth, asymmetric
//! (exact query vs code) and, where the codec supports it, symmetric (both sides encoded);
//! plus the reconstruction outcome for decodable codecs.

use super::{Split, SplitMode};
use crate::codec::{Codec, Codes};
use crate::error::Result;
use rayon::prelude::*;

/// Estimates laid out like [`super::Truth`]: `queries × n_base`, row-major.
#[derive(Debug, Clone)]
pub struct PairOutcome {
    /// Number of base rows (columns).
    pub n_base: usize,
    /// Asymmetric estimates.
    pub asym: Vec<f64>,
    /// Symmetric estimates, if the codec has `pair`.
    pub sym: Option<Vec<f64>>,
}

/// Per-row reconstruction error terms: ‖x − x̂‖² and ‖x‖² for every base row.
#[derive(Debug, Clone)]
pub struct ReconOutcome {
    /// ‖x − x̂‖² per base row.
    pub err: Vec<f64>,
    /// ‖x‖² per base row.
    pub energy: Vec<f64>,
}

/// Score every query against every code: the asymmetric estimates and, where the codec pairs
/// codes, the symmetric ones.
pub fn run_pairs(codec: &dyn Codec, split: &Split, codes: &Codes) -> Result<PairOutcome> {
    run_pairs_with(codec, split, codes, true)
}

/// [`run_pairs`], with the symmetric estimates only when `sym` is set.
pub fn run_pairs_with(
    codec: &dyn Codec,
    split: &Split,
    codes: &Codes,
    sym: bool,
) -> Result<PairOutcome> {
    let want_sym = sym;
    let n_base = codes.len();
    let mut asym = vec![0f64; split.queries.len() * n_base];
    let scorers = codec.scorers(&split.queries);
    asym.par_chunks_mut(n_base.max(1))
        .zip(scorers.par_iter())
        .for_each(|(out, scorer)| scorer.estimate_all(codes, out));

    let sym = if want_sym && codec.can_pair() {
        // Query codes: the base row's own code for self-pairs, else the encoded query.
        let query_codes = match split.mode {
            SplitMode::SelfPairs => None,
            SplitMode::HeldOut | SplitMode::QueryFile => Some(codec.encode_all(&split.queries)),
        };
        let mut sym = vec![0f64; split.queries.len() * n_base];
        if codec.pair_is_decoded_dot() {
            // Same numbers as `pair`, each code decoded once.
            let dim = codec.dim().max(1);
            let base = codec.decode_all(codes)?;
            let queries = match &query_codes {
                Some(c) => Some(codec.decode_all(c)?),
                None => None,
            };
            sym.par_chunks_mut(n_base.max(1))
                .enumerate()
                .for_each(|(qi, out)| {
                    let q = match (&queries, split.query_self[qi]) {
                        (Some(d), _) => &d[qi * dim..(qi + 1) * dim],
                        (None, Some(b)) => &base[b * dim..(b + 1) * dim],
                        (None, None) => unreachable!("self-pair split without self index"),
                    };
                    for (o, x) in out.iter_mut().zip(base.chunks_exact(dim)) {
                        *o = crate::codec::dot_f64(q, x);
                    }
                });
            return Ok(PairOutcome {
                n_base,
                asym,
                sym: Some(sym),
            });
        }
        sym.par_chunks_mut(n_base.max(1))
            .enumerate()
            .try_for_each(|(qi, out)| -> Result<()> {
                let qc = match (&query_codes, split.query_self[qi]) {
                    (Some(c), _) => c.get(qi),
                    (None, Some(b)) => codes.get(b),
                    (None, None) => unreachable!("self-pair split without self index"),
                };
                codec.pair_all(qc, codes, out)
            })?;
        Some(sym)
    } else {
        None
    };
    Ok(PairOutcome { n_base, asym, sym })
}

/// Decode every base row and measure its error; `None` for codecs that cannot decode.
pub fn run_recon(codec: &dyn Codec, split: &Split, codes: &Codes) -> Result<Option<ReconOutcome>> {
    if !codec.can_decode() {
        return Ok(None);
    }
    let dim = split.base.dim().max(1);
    let decoded = codec.decode_all(codes)?;
    let terms: Vec<(f64, f64)> = split
        .base
        .as_slice()
        .par_chunks(dim)
        .zip(decoded.par_chunks(dim))
        .map(|(x, xhat)| {
            let err = x
                .iter()
                .zip(xhat)
                .map(|(&a, &b)| {
                    let d = a as f64 - b as f64;
                    d * d
                })
                .sum();
            let energy = x.iter().map(|&a| a as f64 * a as f64).sum();
            (err, energy)
        })
        .collect();
    let (err, energy) = terms.into_iter().unzip();
    Ok(Some(ReconOutcome { err, energy }))
}
