//! The hypotheses registry and the verdicts that fill it. The origin stated its invariants and
//! probe results in prose and commit messages, and declared success after one gate (its
//! anti-pattern AP1). Here each claim lives in a data file ([`REGISTRY_TOML`], `hypotheses.toml`)
//! with the populations it speaks about, the origin's expectation and two gates; the verdict of
//! every (hypothesis × population) cell — confirmed, refuted, inconclusive or not testable, with
//! the numbers and CIs behind it — is computed from the bench's result rows and nothing else.
//!
//! The same file holds the codec-viability thresholds: a codec is viable for a population only if
//! it passes gate 1 (score fidelity, per regime) *and* gate 2 (the regime's end-to-end check).
//!
//! A gate passes when the metric's 95% CI lies entirely on the predicted side of its threshold,
//! fails when it lies entirely on the other side, and is inconclusive when it straddles it; a
//! number without a CI (a descriptive quantity) is compared as is.

mod judge;
mod matrix;
mod registry;
pub mod render;

use judge::measured;
pub use judge::{GateResult, Outcome, Verdict, combine, judge_gate};
pub use matrix::{Cell, Matrix, ViabilityCell, evaluate, viability};
pub use registry::{
    Gate, Hypothesis, Op, RegimeGate, Registry, Viability, ViabilityPopulation, matches_prefix,
};
pub use render::{render_markdown, to_rows};

/// The built-in registry (`src/hypothesis/hypotheses.toml`).
pub const REGISTRY_TOML: &str = include_str!("hypotheses.toml");

/// Codec column of verdict rows written back into results.
pub const HYPOTHESIS_CODEC: &str = "(hypothesis)";
/// Codec column of viability rows written back into results.
pub const VIABILITY_CODEC: &str = "(viability)";
