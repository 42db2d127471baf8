//! `ResultRow`: the tidy result record, one per population × codec × metric, and [`RowKind`],
//! what produced it. Every report format is a view over a list of these.

use super::probe_kind::ProbeKind;
use serde::{Deserialize, Serialize};

/// One measured number with its context. Field order is the CSV column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Population name (catalog name or file spec).
    pub population: String,
    /// Canonical codec spec.
    pub codec: String,
    /// Metric name (`pearson`, `recall@10`, `spearman.sym`, `recon_mse`, …).
    pub metric: String,
    /// Pooled value; null when undefined (see `note`).
    pub value: Option<f64>,
    /// 95% CI low end.
    pub ci_lo: Option<f64>,
    /// 95% CI high end.
    pub ci_hi: Option<f64>,
    /// Independent units behind the value (queries, or rows for `recon_mse`).
    pub n: usize,
    /// Independent codec draws behind the value (fits with different seeds; 1 for a codec
    /// whose fit is deterministic, and for probe and instrument rows). With more than one the
    /// interval covers the draws as well as the units.
    #[serde(default = "one_draw")]
    pub draws: usize,
    /// Score of a random estimate, where defined.
    pub chance: Option<f64>,
    /// Bytes per row, side scalars included.
    pub bytes_per_row: usize,
    /// Shared state in bytes.
    pub model_bytes: usize,
    /// (8·bytes_per_row + 8·model_bytes / N) / dim, N = the population's rows before sampling
    /// (its provenance `source_rows` in run.json), so it does not move with `--max-rows`;
    /// `model_bytes` beside it gives the shared state's part.
    pub bits_per_dim: f64,
    /// reconstruction / signature / hybrid.
    pub grade: String,
    /// Codec family.
    pub family: String,
    /// Row dimension.
    pub dim: usize,
    /// Base rows encoded.
    pub base_rows: usize,
    /// Queries scored.
    pub queries: usize,
    /// self-pairs / held-out / query-file.
    pub split: String,
    /// The run's seed.
    pub seed: u64,
    /// codecbench version that produced the row.
    pub codecbench_version: String,
    /// Why a value is missing or what limits it.
    pub note: Option<String>,
}

fn one_draw() -> usize {
    1
}

/// Bits per dimension with shared state amortised over `rows` (for a codec cell: the
/// population's rows before sampling, not the sample that was encoded).
pub fn bits_per_dim(bytes_per_row: usize, model_bytes: usize, rows: usize, dim: usize) -> f64 {
    let per_row = 8.0 * bytes_per_row as f64 + 8.0 * model_bytes as f64 / rows.max(1) as f64;
    per_row / dim.max(1) as f64
}

/// `split` values of the pair probe's codec cells (and their instrument block); every other
/// `split` names a probe section (see [`ProbeKind::of_split`]) or the hypothesis verdicts
/// ([`VERDICT_SPLIT`]).
pub const CELL_SPLITS: &[&str] = &["self-pairs", "held-out", "query-file"];

/// `split` of the hypothesis verdict rows.
pub const VERDICT_SPLIT: &str = "verdict";

/// `codec` of the population-level rows of a cell block's instrument analysis.
pub const INSTRUMENT: &str = "(instrument)";

/// Prefix of the per-codec metrics of the instrument analysis (`instrument.r:<spec>`, …).
pub const INSTRUMENT_METRIC_PREFIX: &str = "instrument.";

/// What produced a result row. Rows carry it as text (`split`, `codec`, `metric`) so the tidy
/// files stay flat; this is the one place that reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A codec cell of the pair probe (score fidelity, recall, reconstruction).
    Cell,
    /// The reliability of a population's codecs as an instrument (population level, or
    /// per-codec `instrument.*` metrics).
    Instrument,
    /// A probe's measurement.
    Probe(ProbeKind),
    /// A hypothesis verdict or codec viability (recomputed from the other rows).
    Verdict,
}

impl ResultRow {
    /// What produced this row.
    pub fn kind(&self) -> RowKind {
        if CELL_SPLITS.contains(&self.split.as_str()) {
            if self.codec == INSTRUMENT || self.metric.starts_with(INSTRUMENT_METRIC_PREFIX) {
                RowKind::Instrument
            } else {
                RowKind::Cell
            }
        } else if self.split == VERDICT_SPLIT {
            RowKind::Verdict
        } else {
            // An unknown section name (a newer build's probe) still reads as a probe row.
            RowKind::Probe(ProbeKind::of_split(&self.split).unwrap_or(ProbeKind::All))
        }
    }

    /// True for rows written by a probe or the hypothesis matrix, not by a codec cell or its
    /// instrument block.
    pub fn is_probe(&self) -> bool {
        matches!(self.kind(), RowKind::Probe(_) | RowKind::Verdict)
    }

    /// True for the rows of a cell block's instrument analysis.
    pub fn is_instrument(&self) -> bool {
        self.kind() == RowKind::Instrument
    }
}
