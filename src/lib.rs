//! codecbench: measures how well vector codecs (quantizers) keep what matters about the rows of
//! real model tensors — score fidelity, neighbour recall, reconstruction error — with confidence
//! intervals, chance baselines and honest byte counts.
//!
//! Data flows one way (see `ARCHITECTURE.md`): `data` → `probe` (split, truth, estimates) →
//! `metric` → `run` (result rows) → `report`. Codecs (`codec`) know nothing of files or metrics.

pub mod atomic;
pub mod budget;
pub mod choice;
pub mod codec;
pub mod data;
pub mod error;
pub mod export;
pub mod fetch;
pub mod hypothesis;
pub mod input;
pub mod linalg;
pub mod metric;
pub mod model;
pub mod peers;
pub mod pool;
pub mod probe;
pub mod report;
pub mod results;
pub mod run;
pub mod speed;
pub mod stats;

pub use error::{Error, Result};
