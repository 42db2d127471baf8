//! Runs a validated plan: loads populations, splits, computes truth, fits and measures every
//! codec, and writes results after every cell. The only module that sees codecs, probes, metrics
//! and reports together.

pub mod output;
pub mod plan;
pub mod result;
pub mod runner;
pub mod seeds;
pub mod units;

pub use plan::{Plan, SplitChoice};
pub use result::ResultRow;
pub use runner::{PopulationInfo, RunMeta, RunOutcome, run};
