//! Probes turn a population and a fitted codec into outcomes (truth next to estimates) that the
//! metrics then score. So far: the pair probe (score fidelity) and reconstruction error.

pub mod chain;
pub mod command;
pub mod family;
pub mod identity;
pub mod pairs;
pub mod resolution;
pub mod spiral;
pub mod split;
pub mod truth;

pub use pairs::{PairOutcome, ReconOutcome};
pub use split::{Split, SplitMode};
pub use truth::Truth;
