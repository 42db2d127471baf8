//! Runs a validated plan: loads populations, splits, computes truth, fits and measures every
//! codec, runs the plan's probes, and appends each cell's rows to the run's journal as it finishes. It schedules and writes;
//! what a cell or a probe measures lives in `probe/` and `metric/`, what a report says in
//! `report/`.

pub mod cells;
pub mod instrument;
pub mod journal;
pub mod output;
pub mod prepare;
pub mod probes;
pub mod resume;
pub mod runner;
pub mod seeds;

pub use resume::resume;
pub use runner::{RunOutcome, run};
