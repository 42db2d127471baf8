//! Run metadata: what a report says besides the rows (the plan, the populations, when, how long,
//! and the notes probes leave about what they could not measure). Written to `run.json`; with
//! the rows it is everything a report is rendered from.

use super::plan::Plan;
use super::probe_kind::ProbeKind;
use crate::data::Provenance;
use crate::data::population::PopulationKind;

/// The crate version written into every result.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How this build seeds and measures cells (written to run.json as `results_format`):
/// `--resume` finishes only runs of the same format, since cells of another would be mixed with
/// cells seeded and pooled differently. 2 = codec draws seeded from the codec's identity and
/// `--codec-seed`, crossed bootstrap over draws, tie-aware rank metrics, per-query ICC (no
/// `results_format` in run.json = 1).
pub const RESULTS_FORMAT: u32 = 2;

/// What a report says about one population.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PopulationInfo {
    /// Name used in results.
    pub name: String,
    /// Weight rows or embeddings.
    pub kind: PopulationKind,
    /// Rows after validation.
    pub rows: usize,
    /// Dimension.
    pub dim: usize,
    /// Split used by the pair probe.
    pub split: String,
    /// Base rows.
    pub base_rows: usize,
    /// Queries.
    pub queries: usize,
    /// Where the rows came from.
    pub provenance: Provenance,
}

/// Facts about a run that every report header shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunMeta {
    /// codecbench version.
    pub codecbench_version: String,
    /// [`RESULTS_FORMAT`] of the build that wrote the run.
    pub results_format: u32,
    /// The plan as run.
    pub plan: Plan,
    /// UTC start time (RFC 3339); not part of results.jsonl, which stays byte-identical.
    pub started: String,
    /// Populations.
    pub populations: Vec<PopulationInfo>,
    /// `running`, or `complete` once every cell is done.
    pub status: String,
    /// Wall-clock seconds of the whole run (this invocation; a resumed run counts only the
    /// resumed part).
    pub wall_seconds: f64,
    /// Where the time went: every cell and probe call this invocation computed.
    pub timings: Vec<StepTiming>,
    /// What the probes could not measure, and facts their report sections state that no row
    /// holds (kept so a report can be rendered again from the run directory alone).
    pub probe_notes: Vec<ProbeNote>,
}

/// Wall-clock time of one step of a run (a codec cell, a probe call), kept in run.json so a
/// user can see where a run's time went. Timings never enter results.jsonl.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepTiming {
    /// What ran: `cell POPULATION × CODEC`, `probe …`, `instrument POPULATION`.
    pub step: String,
    /// Seconds of wall-clock time (concurrent steps overlap).
    pub seconds: f64,
    /// Of which fitting the codec (cells only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit_seconds: Option<f64>,
    /// Of which encoding the base rows (cells only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encode_seconds: Option<f64>,
}

impl StepTiming {
    /// The time since `clock` started, for `step`.
    pub fn of(step: String, clock: std::time::Instant) -> Self {
        StepTiming {
            step,
            seconds: clock.elapsed().as_secs_f64(),
            fit_seconds: None,
            encode_seconds: None,
        }
    }
}

/// A probe's note for its report section: what it could not measure (and why), or a fact its
/// section states that the rows do not hold.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "note", rename_all = "kebab-case")]
pub enum ProbeNote {
    /// A codec a probe section could not fit or run.
    NotMeasured {
        /// The probe.
        probe: ProbeKind,
        /// `SPEC (section): reason`.
        what: String,
    },
    /// A whole probe call that failed (its other calls still ran).
    NotRun {
        /// `probe NAME on POPULATION: skipped: reason`.
        what: String,
    },
    /// Codecs a run's probe call left out on purpose, and why.
    LeftOut {
        /// The probe.
        probe: ProbeKind,
        /// The sentence the report prints.
        what: String,
    },
    /// Chain: the sample and settings its section states.
    ChainSetup {
        /// The committed text file the sentences were sampled from (under `data/`).
        texts: String,
        /// Codecs left out of the weight chain because they cannot decode.
        not_decodable: Vec<String>,
        /// Tokens in the evaluation sentences (special tokens included).
        tokens: usize,
        /// k of the retrieval check.
        k: usize,
        /// Whether the committed retrieval corpus matched the model (else no recall).
        retrieval: bool,
        /// Sentences whose keys fitted the attention-fidelity codecs.
        train_sentences: usize,
        /// Whether attention fidelity and the score chain ran (false: weight chain only).
        diagnostics: bool,
    },
    /// Resolution: how one population's table is laid out (which codec is which layout or
    /// baseline); every number comes from the rows.
    ResolutionTable {
        /// Population.
        population: String,
        /// How its queries were drawn (`self-pairs`, `held-out queries`).
        split: String,
        /// k of its recall column.
        k: usize,
        /// The palette + leaf layouts, in table order.
        layouts: Vec<ResolutionLayout>,
        /// The other codecs (hybrid, baselines) with their budget label, in table order.
        others: Vec<(String, String)>,
    },
    /// Family: the number of families the partitions cut the rows into.
    FamilySetup {
        /// Families.
        families: usize,
    },
}

impl ProbeNote {
    /// The probe whose report section shows this note (`None`: a whole call that did not run).
    pub fn probe(&self) -> Option<ProbeKind> {
        match self {
            ProbeNote::NotMeasured { probe, .. } | ProbeNote::LeftOut { probe, .. } => Some(*probe),
            ProbeNote::ChainSetup { .. } => Some(ProbeKind::Chain),
            ProbeNote::FamilySetup { .. } => Some(ProbeKind::Family),
            ProbeNote::ResolutionTable { .. } => Some(ProbeKind::Resolution),
            ProbeNote::NotRun { .. } => None,
        }
    }
}

/// One palette + leaf layout of the resolution table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResolutionLayout {
    /// Its codec spec (as the rows name it).
    pub codec: String,
    /// Layout name.
    pub name: String,
    /// One of the origin's six (false: an equal-bits control).
    pub origin: bool,
    /// Address bits as the origin writes them (HEEL+HIP).
    pub address: String,
    /// Leaf lanes.
    pub leaf: String,
    /// Declared bits per row.
    pub declared_bits: usize,
}
