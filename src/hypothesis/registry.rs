//! The registry's types: hypotheses with their two gates and the viability thresholds, as
//! `hypotheses.toml` declares them, with the checks `Registry::parse` applies (AP1: never one
//! gate alone). Data only; judging them against rows is `judge`, filling the matrix `matrix`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Outcome, REGISTRY_TOML};
use crate::error::{Error, Result};

/// Comparison of a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Op {
    /// value ≥ threshold.
    #[serde(rename = ">=")]
    Ge,
    /// value > threshold.
    #[serde(rename = ">")]
    Gt,
    /// value ≤ threshold.
    #[serde(rename = "<=")]
    Le,
    /// value < threshold.
    #[serde(rename = "<")]
    Lt,
    /// |value| ≤ threshold.
    #[serde(rename = "within")]
    Within,
}

impl Op {
    /// The operator as written in the registry.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Ge => "≥",
            Op::Gt => ">",
            Op::Le => "≤",
            Op::Lt => "<",
            Op::Within => "|x| ≤",
        }
    }

    /// Pass / fail / inconclusive of an interval `[lo, hi]` (a point when both are equal).
    pub fn judge(self, lo: f64, hi: f64, t: f64) -> Outcome {
        let (pass, fail) = match self {
            Op::Ge => (lo >= t, hi < t),
            Op::Gt => (lo > t, hi <= t),
            Op::Le => (hi <= t, lo > t),
            Op::Lt => (hi < t, lo >= t),
            Op::Within => (lo >= -t && hi <= t, lo > t || hi < -t),
        };
        if pass {
            Outcome::Pass
        } else if fail {
            Outcome::Fail
        } else {
            Outcome::Inconclusive
        }
    }

    /// Whether larger values are better for this comparison (which row a "best" pick takes).
    pub(super) fn prefers_large(self) -> bool {
        matches!(self, Op::Ge | Op::Gt)
    }
}

/// One measurement with a threshold.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// What it measures, in words.
    #[serde(default)]
    pub what: String,
    /// Metric name in the result rows.
    pub metric: String,
    /// Comparison.
    pub op: Op,
    /// Threshold.
    pub threshold: f64,
    /// Exact codec (canonical spec or probe method name); without it the best row among those
    /// passing the filters is taken.
    #[serde(default)]
    pub codec: Option<String>,
    /// Fixed population (instead of the cell's), e.g. the chain population of a weight tensor.
    #[serde(default)]
    pub population: Option<String>,
    /// Filter: codec family (`rotation`, `palette-leaf`, …).
    #[serde(default)]
    pub codec_family: Option<String>,
    /// Filter: at most this many bytes per row.
    #[serde(default)]
    pub max_bytes_per_row: Option<usize>,
    /// Filter: at most this many bits per dimension.
    #[serde(default)]
    pub max_bits_per_dim: Option<f64>,
}

/// One claim of the origin.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hypothesis {
    /// I1…I9, P1…P9 (and sub-claims such as `P5.chain`).
    pub id: String,
    /// The claim in one sentence.
    pub claim: String,
    /// What the origin expected or reported.
    pub origin: String,
    /// Population prefixes the claim speaks about (`*` = every column).
    pub populations: Vec<String>,
    /// Why the claim has no measurement here, if it has none.
    #[serde(default)]
    pub not_testable: Option<String>,
    /// Statistical gate.
    #[serde(default)]
    pub gate1: Option<Gate>,
    /// Second (practical or independent) gate.
    #[serde(default)]
    pub gate2: Option<Gate>,
}

/// Gate 1 of one regime.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeGate {
    /// All must pass.
    pub conditions: Vec<Gate>,
}

/// Regime and gate 2 of populations matching a prefix.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ViabilityPopulation {
    /// Population prefix.
    #[serde(default)]
    pub prefix: String,
    /// `argmax` or `index`.
    pub regime: String,
    /// The end-to-end check; all must pass.
    pub gate2: Vec<Gate>,
}

/// The viability thresholds.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Viability {
    /// Gate 1 per regime.
    pub gate1: BTreeMap<String, RegimeGate>,
    /// Regime and gate 2 of populations no prefix matches.
    pub default: ViabilityPopulation,
    /// Per population prefix (first match wins).
    #[serde(default)]
    pub population: Vec<ViabilityPopulation>,
}

/// The registry: hypotheses and viability thresholds.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Every claim, in report order.
    pub hypothesis: Vec<Hypothesis>,
    /// Codec viability.
    pub viability: Viability,
}

impl Registry {
    /// The built-in registry.
    pub fn builtin() -> Registry {
        Registry::parse(REGISTRY_TOML).expect("the built-in hypotheses.toml is valid (tested)")
    }

    /// Parse and check a registry: ids unique, and every claim either has both gates or says
    /// why it is not testable (never one gate alone: AP1); every regime of a population has a
    /// gate 1.
    pub fn parse(text: &str) -> Result<Registry> {
        let bad = |reason: String| Error::InvalidPlan {
            field: "hypotheses registry",
            reason,
        };
        let reg: Registry = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut ids: Vec<&str> = reg.hypothesis.iter().map(|h| h.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad(format!("hypothesis id '{}' appears twice", w[0])));
        }
        for h in &reg.hypothesis {
            let gates = usize::from(h.gate1.is_some()) + usize::from(h.gate2.is_some());
            match (&h.not_testable, gates) {
                (Some(_), 0) | (None, 2) => {}
                (Some(_), _) => {
                    return Err(bad(format!(
                        "{}: a claim marked not_testable must not have gates",
                        h.id
                    )));
                }
                (None, _) => {
                    return Err(bad(format!(
                        "{}: a testable claim needs two gates (AP1: never one gate alone)",
                        h.id
                    )));
                }
            }
            if h.populations.is_empty() {
                return Err(bad(format!("{}: no populations", h.id)));
            }
        }
        let v = &reg.viability;
        for p in v.population.iter().chain(std::iter::once(&v.default)) {
            if !v.gate1.contains_key(&p.regime) {
                return Err(bad(format!(
                    "viability: regime '{}' (population '{}') has no gate1",
                    p.regime, p.prefix
                )));
            }
            if p.gate2.is_empty() {
                return Err(bad(format!(
                    "viability: population '{}' has no gate2",
                    p.prefix
                )));
            }
        }
        Ok(reg)
    }

    /// Regime and gate 2 for a population name: the first matching prefix; otherwise the
    /// default gate 2 with the regime the catalog gives the population (if it is a named one).
    pub fn viability_for(&self, population: &str) -> ViabilityPopulation {
        if let Some(p) = self
            .viability
            .population
            .iter()
            .find(|p| matches_prefix(&p.prefix, population))
        {
            return p.clone();
        }
        let mut d = self.viability.default.clone();
        let name = population.split(':').next().unwrap_or(population);
        if let Some(r) = crate::data::real::REAL.iter().find(|r| r.name == name) {
            let regime = match r.regime {
                crate::data::real::Regime::Argmax => "argmax",
                crate::data::real::Regime::Index => "index",
            };
            if self.viability.gate1.contains_key(regime) {
                d.regime = regime.to_string();
            }
        }
        d
    }
}

/// `population` is `prefix` or `prefix:…`; `*` matches everything.
pub fn matches_prefix(prefix: &str, population: &str) -> bool {
    prefix == "*"
        || population == prefix
        || population
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with(':'))
}
