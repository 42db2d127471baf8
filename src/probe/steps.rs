//! The population probes as run steps — family (P7), spiral (P1), row identity — each loading its
//! populations and returning result rows. The measuring lives in `family`, `spiral` and
//! `identity`; the report sections are rendered from the rows (`report::probes`).

use super::family::{self, PartitionMethod};
use super::identity::row_identity;
use super::spiral;
use super::{ProbeOptions, ProbeOutput, load_population};
use crate::codec::{Codec, CodecSpec};
use crate::data::Rows;
use crate::data::catalog::{PopulationSpec, stable_hash};
use crate::error::Result;
use crate::results::{ProbeNote, ResultRow, RowContext};

/// `split` of the family probe's rows.
pub const FAMILY_SPLIT: &str = "family";
/// `split` of the spiral probe's rows.
pub const SPIRAL_SPLIT: &str = "spiral";
/// `split` of the identity probe's rows.
pub const IDENTITY_SPLIT: &str = "identity";

fn populations_or(opts: &ProbeOptions, defaults: &[&str]) -> Result<Vec<PopulationSpec>> {
    if opts.populations.is_empty() {
        defaults.iter().map(|s| PopulationSpec::parse(s)).collect()
    } else {
        Ok(opts.populations.clone())
    }
}

/// P7: family recall of every partition method on each population.
pub fn family_probe(opts: &ProbeOptions) -> Result<ProbeOutput> {
    let specs = populations_or(
        opts,
        &[
            "minilm-k:layer=0",
            "minilm-up",
            "minilm-vocab",
            "minilm-sentences",
            "clustered",
            "gaussian",
        ],
    )?;
    let mut out = ProbeOutput::default();
    out.notes.push(ProbeNote::FamilySetup {
        families: opts.families,
    });
    for spec in &specs {
        let pop = load_population(spec, Some(opts.rows), opts)?;
        let seed = opts.seed ^ stable_hash(&format!("family:{}", pop.name));
        let measured = family::family_metrics(
            &pop.rows,
            opts.families,
            &PartitionMethod::ALL,
            opts.resamples,
            seed,
        )?;
        let base = RowContext {
            population: pop.name.clone(),
            dim: pop.rows.dim(),
            base_rows: pop.rows.len(),
            queries: pop.rows.len(),
            split: FAMILY_SPLIT.to_string(),
            seed: opts.seed,
            ..RowContext::default()
        };
        out.rows.extend(
            measured
                .into_iter()
                .map(|(method, m)| base.with_codec(&method).row(m)),
        );
    }
    Ok(out)
}

/// P1: spiral vs equal-byte controls on each population.
pub fn spiral_probe(opts: &ProbeOptions) -> Result<ProbeOutput> {
    let specs = populations_or(
        opts,
        &["minilm-k:layer=0", "minilm-up", "gaussian:n=1024,d=384"],
    )?;
    let mut out = ProbeOutput::default();
    for spec in &specs {
        let pop = load_population(spec, Some(opts.rows), opts)?;
        let seed = opts.seed ^ stable_hash(&format!("spiral:{}", pop.name));
        let measured = spiral::spiral_metrics(
            &pop.rows,
            &opts.spiral_k,
            opts.queries,
            opts.resamples,
            seed,
        );
        let nq = opts.queries.min(pop.rows.len());
        out.rows
            .extend(measured.into_iter().map(|(name, bytes, m)| {
                RowContext {
                    population: pop.name.clone(),
                    codec: name,
                    bytes_per_row: bytes,
                    bits_per_dim: 8.0 * bytes as f64 / pop.rows.dim() as f64,
                    grade: "signature".to_string(),
                    family: "signature".to_string(),
                    dim: pop.rows.dim(),
                    base_rows: pop.rows.len(),
                    queries: nq,
                    split: SPIRAL_SPLIT.to_string(),
                    seed: opts.seed,
                    ..RowContext::default()
                }
                .row(m)
            }));
    }
    Ok(out)
}

/// Row identity of every codec on each population (each codec fitted on all the population's
/// rows it encodes).
pub fn identity_probe(opts: &ProbeOptions) -> Result<ProbeOutput> {
    let specs = if opts.populations.is_empty() {
        PopulationSpec::defaults()
    } else {
        opts.populations.clone()
    };
    let mut out = ProbeOutput::default();
    for spec in &specs {
        let pop = load_population(spec, Some(opts.rows), opts)?;
        for cspec in &opts.codecs {
            let seed = identity_seed(opts, &pop.name, cspec);
            let codec = opts
                .memory_budget
                .fit(cspec, &pop.rows, seed, pop.rows.len())?;
            out.rows.push(identity_row(
                opts,
                &pop.name,
                &pop.rows,
                cspec,
                codec.as_ref(),
            ));
        }
    }
    Ok(out)
}

/// The seed of the identity probe's query sample and bootstrap for one population × codec.
pub fn identity_seed(opts: &ProbeOptions, population: &str, cspec: &CodecSpec) -> u64 {
    opts.seed ^ stable_hash(&format!("identity:{population}:{cspec}"))
}

/// `identity.top1` of one fitted codec over `rows` (every row encoded, up to `opts.queries`
/// sampled rows as queries). `codecbench run` calls it with each cell's fitted codec, the
/// standalone probe with a codec fitted on `rows`.
pub fn identity_row(
    opts: &ProbeOptions,
    population: &str,
    rows: &Rows,
    cspec: &CodecSpec,
    codec: &dyn Codec,
) -> ResultRow {
    let seed = identity_seed(opts, population, cspec);
    let m = row_identity(codec, rows, opts.queries, opts.resamples, seed);
    // Only the (sampled) rows are known here: their count stands in for the population's.
    let mut ctx = RowContext::for_codec(
        codec,
        population,
        rows.len(),
        rows.len(),
        IDENTITY_SPLIT,
        opts.seed,
    );
    ctx.queries = opts.queries.min(rows.len());
    ctx.row(m)
}
