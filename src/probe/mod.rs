//! Probes turn populations and fitted codecs into result rows: the pair probe (score fidelity,
//! recall, reconstruction) that every codec cell runs, and the study probes — chain (P5), family
//! (P7), spiral (P1), identity, resolution (P9). Probes take prepared options and return rows and
//! notes; they write no files and render no text (`report/` renders their sections from rows).

pub mod chain;
pub mod family;
pub mod identity;
pub mod options;
pub mod pairs;
pub mod resolution;
pub mod spiral;
pub mod split;
pub mod steps;
pub mod truth;

pub use options::ProbeOptions;
pub use pairs::{PairOutcome, ReconOutcome};
pub use split::{Split, SplitMode};
pub use truth::Truth;

use crate::data::Population;
use crate::data::catalog::{LoadOptions, PopulationSpec};
use crate::data::population::NonFinitePolicy;
use crate::error::Result;
use crate::results::{ProbeKind, ProbeNote, ResultRow};

/// What a probe measured: its rows, and notes for its report section (what it could not measure,
/// facts no row holds).
#[derive(Debug, Clone, Default)]
pub struct ProbeOutput {
    /// Result rows, in the order the probe measured them.
    pub rows: Vec<ResultRow>,
    /// Notes for the report.
    pub notes: Vec<ProbeNote>,
}

impl ProbeOutput {
    /// Append another probe's output.
    pub fn extend(&mut self, other: ProbeOutput) {
        self.rows.extend(other.rows);
        self.notes.extend(other.notes);
    }
}

/// Run a probe (`all`: every probe in turn): result rows and notes, nothing written.
pub fn probe_rows(kind: ProbeKind, opts: &ProbeOptions) -> Result<ProbeOutput> {
    let mut out = ProbeOutput::default();
    let run = |k: ProbeKind| kind == k || kind == ProbeKind::All;
    if run(ProbeKind::Chain) {
        out.extend(chain::run::chain_probe(opts)?);
    }
    if run(ProbeKind::Family) {
        out.extend(steps::family_probe(opts)?);
    }
    if run(ProbeKind::Spiral) {
        out.extend(steps::spiral_probe(opts)?);
    }
    if run(ProbeKind::Identity) {
        out.extend(steps::identity_probe(opts)?);
    }
    if run(ProbeKind::Resolution) {
        out.extend(resolution::resolution_probe(opts)?);
    }
    Ok(out)
}

/// Load a population the way every probe does (its default kind, non-finite rows refused).
pub fn load_population(
    spec: &PopulationSpec,
    max_rows: Option<usize>,
    opts: &ProbeOptions,
) -> Result<Population> {
    spec.load(
        spec.default_kind(),
        &LoadOptions {
            max_rows,
            seed: opts.seed,
            nonfinite: NonFinitePolicy::Error,
            budget: opts.memory_budget,
        },
    )
}
