//! The contract between measuring and reporting: the tidy [`ResultRow`] (what produced it:
//! [`RowKind`]), the [`RowContext`] every producer builds rows with, and the run metadata a
//! report needs besides the rows ([`RunMeta`], the [`Plan`], [`ProbeNote`]s). It sits below
//! `run/`, the probes, the hypotheses and `report/`: they all speak rows, and `report/` reads
//! nothing else.

pub mod context;
pub mod fmt;
pub mod meta;
pub mod plan;
pub mod plan_toml;
pub mod probe_kind;
pub mod row;
pub mod units;

pub use context::RowContext;
pub use meta::{PopulationInfo, ProbeNote, RESULTS_FORMAT, RunMeta, StepTiming, VERSION};
pub use plan::{Plan, SplitChoice};
pub use probe_kind::ProbeKind;
pub use row::{INSTRUMENT, ResultRow, RowKind, VERDICT_SPLIT, bits_per_dim};
