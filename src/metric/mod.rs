//! Statistics that score a codec: how closely its estimated inner products track the exact
//! ones (correlation, top-k recall, deviation) and how sure we are of each number (bootstrap
//! confidence intervals over independent units such as queries or rows).

pub mod bootstrap;
pub mod correlation;
pub mod deviation;
pub mod recall;
pub mod reliability;
pub mod suite;

pub use bootstrap::Estimate;
