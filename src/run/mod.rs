//! Runs a validated plan: loads populations, splits, computes truth, fits and measures every
//! codec, runs the plan's probes, and writes results after every cell. It schedules and writes;
//! what a cell or a probe measures lives in `probe/` and `metric/`, what a report says in
//! `report/`.

pub mod board;
pub mod cells;
pub mod instrument;
pub mod output;
pub mod prepare;
pub mod probes;
pub mod resume;
pub mod runner;
pub mod seeds;

pub use resume::resume;
pub use runner::{RunOutcome, run};
