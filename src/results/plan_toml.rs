//! The plan-file view of a [`Plan`] (`codecbench run --plan plan.toml`: the flags' fields plus
//! codec sweeps) and the resolved plan written back as TOML (`plan.toml` in every run directory).

use super::plan::*;
use super::probe_kind::ProbeKind;
use crate::codec::CodecSpec;
use crate::data::catalog::PopulationSpec;
use crate::data::population::NonFinitePolicy;
use crate::error::{Error, Result};
use std::path::PathBuf;

/// A plan file (`codecbench run --plan plan.toml`): the same typed plan as the flags, plus
/// codec parameter sweeps, so a study is one file under version control.
///
/// ```toml
/// seed = 42
/// queries = 200
/// populations = ["minilm-k:layer=0", "glove-20k", "gaussian"]
/// codecs = ["exact", "int8"]
///
/// [[sweep]]            # every combination of the listed values
/// codec = "int4"
/// params = { group = ["8", "32", "row"] }
/// ```
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanToml {
    /// Population specs (default: the default populations).
    pub populations: Option<Vec<String>>,
    /// Codec specs.
    pub codecs: Option<Vec<String>>,
    /// Codec sweeps, appended after `codecs`.
    #[serde(default)]
    pub sweep: Vec<Sweep>,
    /// Queries per population.
    pub queries: Option<usize>,
    /// recall@k.
    pub k: Option<usize>,
    /// Seed.
    pub seed: Option<u64>,
    /// Base seed of the codecs' random draws (default: `seed`).
    pub codec_seed: Option<u64>,
    /// Codec draws per cell for codecs whose fit is random (default 3; 1 when quick).
    pub replicates: Option<usize>,
    /// Quick mode (changes the defaults of queries, max_rows, resamples, replicates).
    pub quick: Option<bool>,
    /// Query file spec.
    pub query_file: Option<String>,
    /// Non-finite policy.
    pub nonfinite: Option<NonFinitePolicy>,
    /// Row cap.
    pub max_rows: Option<usize>,
    /// Split.
    pub split: Option<SplitChoice>,
    /// Bootstrap resamples.
    pub resamples: Option<usize>,
    /// Probes after the codec cells: any of chain, family, spiral, identity, resolution, all
    /// (default chain, family, spiral, identity; without chain when quick; `[]` for none).
    pub probes: Option<Vec<ProbeKind>>,
    /// The most codec specs the plan may name, sweeps expanded (default [`MAX_PLAN_CODECS`]):
    /// checked before any spec is built; raise it for a study that really is that large.
    pub max_codecs: Option<usize>,
}

/// One codec with lists of parameter values; expands to their Cartesian product.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Codec name.
    pub codec: String,
    /// Parameter → values (numbers or strings).
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, Vec<toml::Value>>,
}

/// Most codec specs one plan file may expand to (sweeps included): a larger study is split into
/// several plans (a 1.3 KB plan once asked for 10⁸ and ran out of memory building them).
pub const MAX_PLAN_CODECS: usize = 10_000;

impl Sweep {
    /// How many specs [`Sweep::expand`] gives, refused before building any: a parameter with
    /// no values (an empty sweep would silently run nothing of it), or more than
    /// [`MAX_PLAN_CODECS`] combinations.
    pub fn count(&self, cap: usize) -> Result<usize> {
        let mut n: usize = 1;
        for (key, values) in &self.params {
            if values.is_empty() {
                return Err(Error::InvalidPlan {
                    field: "sweep",
                    reason: format!(
                        "sweep of '{}': parameter '{key}' lists no values (give at least one, or \
                         leave the parameter out)",
                        self.codec
                    ),
                });
            }
            n = n.saturating_mul(values.len());
        }
        if n > cap {
            return Err(Error::InvalidPlan {
                field: "sweep",
                reason: format!(
                    "sweep of '{}' expands to {n} codec specs (the most this plan may hold is \
                     {cap}); split the study into several plans, or raise the cap with \
                     `max_codecs = N` in the plan if it really is that large",
                    self.codec
                ),
            });
        }
        Ok(n)
    }

    /// Every spec string of the sweep, in a stable order (parameters sorted by name, values in
    /// the order given).
    pub fn expand(&self) -> Vec<String> {
        let mut specs = vec![Vec::<String>::new()];
        for (key, values) in &self.params {
            let mut next = Vec::new();
            for prefix in &specs {
                for v in values {
                    let text = match v.as_str() {
                        Some(s) => s.to_string(),
                        None => v.to_string(),
                    };
                    let mut p = prefix.clone();
                    p.push(format!("{key}={text}"));
                    next.push(p);
                }
            }
            specs = next;
        }
        specs
            .into_iter()
            .map(|p| {
                if p.is_empty() {
                    self.codec.clone()
                } else {
                    format!("{}:{}", self.codec, p.join(","))
                }
            })
            .collect()
    }
}

impl PlanToml {
    /// Read and parse a plan file.
    pub fn read(path: &std::path::Path) -> Result<PlanToml> {
        let text = crate::input::read_to_string(path)?;
        toml::from_str(&text).map_err(|e| Error::BadHeader {
            path: path.to_path_buf(),
            format: "plan (TOML)",
            reason: e.to_string().replace('\n', " "),
        })
    }

    /// Resolve into a validated plan (defaults for what the file leaves out).
    pub fn into_plan(self, out: PathBuf, threads: Option<usize>, progress: bool) -> Result<Plan> {
        let quick = self.quick.unwrap_or(false);
        let (q, rows, res) = if quick {
            (QUICK_QUERIES, QUICK_MAX_ROWS, QUICK_RESAMPLES)
        } else {
            (DEFAULT_QUERIES, DEFAULT_MAX_ROWS, DEFAULT_RESAMPLES)
        };
        let mut codec_texts: Vec<String> = self.codecs.unwrap_or_default();
        let cap = self.max_codecs.unwrap_or(MAX_PLAN_CODECS);
        let mut total = codec_texts.len();
        for s in &self.sweep {
            total = total.saturating_add(s.count(cap)?);
        }
        if total > cap {
            return Err(Error::InvalidPlan {
                field: "codecs",
                reason: format!(
                    "the plan names {total} codec specs (the most this plan may hold is {cap}); \
                     split the study into several plans, or raise the cap with \
                     `max_codecs = N` in the plan if it really is that large"
                ),
            });
        }
        for s in &self.sweep {
            codec_texts.extend(s.expand());
        }
        let codecs: Vec<CodecSpec> = if codec_texts.is_empty() {
            CodecSpec::defaults()
        } else {
            // A sweep may repeat a listed codec: each spec is kept once, in first-seen order
            // (a set, so large sweeps stay linear).
            let mut v: Vec<CodecSpec> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for t in &codec_texts {
                let c: CodecSpec = t.parse()?;
                if seen.insert(c.to_string()) {
                    v.push(c);
                }
            }
            v
        };
        let populations = match self.populations {
            Some(p) => p
                .iter()
                .map(|s| PopulationSpec::parse(s))
                .collect::<Result<_>>()?,
            None => PopulationSpec::defaults(),
        };
        let plan = Plan {
            populations,
            codecs,
            queries: self.queries.unwrap_or(q),
            k: self.k.unwrap_or(DEFAULT_K),
            seed: self.seed.unwrap_or(DEFAULT_SEED),
            codec_seed: self.codec_seed,
            replicates: self.replicates.unwrap_or(if quick {
                QUICK_REPLICATES
            } else {
                DEFAULT_REPLICATES
            }),
            out,
            threads,
            quick,
            query_file: self
                .query_file
                .as_deref()
                .map(PopulationSpec::parse)
                .transpose()?,
            nonfinite: self.nonfinite.unwrap_or_default(),
            max_rows: Some(self.max_rows.unwrap_or(rows)),
            split: self.split.unwrap_or_default(),
            resamples: self.resamples.unwrap_or(res),
            probes: self
                .probes
                .map_or_else(|| ProbeKind::run_defaults(quick), |p| ProbeKind::expand(&p)),
            progress,
            memory_budget: crate::budget::MemoryBudget::default(),
        };
        plan.validate()?;
        Ok(plan)
    }
}

impl Plan {
    /// The resolved plan as TOML (every spec explicit, sweeps expanded); reading it back with
    /// `--plan` reproduces the run.
    pub fn to_toml(&self) -> String {
        let mut s = String::from(
            "# Resolved plan of this run: `codecbench run --plan plan.toml` repeats it.\n",
        );
        let list = |v: Vec<String>| {
            let items: Vec<String> = v.iter().map(|x| format!("  {},", toml_str(x))).collect();
            format!("[\n{}\n]", items.join("\n"))
        };
        s.push_str(&format!("seed = {}\n", self.seed));
        if let Some(c) = self.codec_seed {
            s.push_str(&format!("codec_seed = {c}\n"));
        }
        s.push_str(&format!("replicates = {}\n", self.replicates));
        s.push_str(&format!("queries = {}\n", self.queries));
        s.push_str(&format!("k = {}\n", self.k));
        s.push_str(&format!("quick = {}\n", self.quick));
        if let Some(m) = self.max_rows {
            s.push_str(&format!("max_rows = {m}\n"));
        }
        s.push_str(&format!("resamples = {}\n", self.resamples));
        s.push_str(&format!("split = {}\n", toml_str(&enum_text(self.split))));
        s.push_str(&format!(
            "nonfinite = {}\n",
            toml_str(&enum_text(self.nonfinite))
        ));
        if let Some(q) = &self.query_file {
            s.push_str(&format!("query_file = {}\n", toml_str(&q.to_string())));
        }
        s.push_str(&format!(
            "populations = {}\n",
            list(self.populations.iter().map(|p| p.to_string()).collect())
        ));
        s.push_str(&format!(
            "probes = [{}]\n",
            self.probes
                .iter()
                .map(|p| toml_str(&enum_text(p)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if self.codecs.len() > MAX_PLAN_CODECS {
            s.push_str(&format!("max_codecs = {}\n", self.codecs.len()));
        }
        s.push_str(&format!(
            "codecs = {}\n",
            list(self.codecs.iter().map(|c| c.to_string()).collect())
        ));
        s
    }
}

fn enum_text<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
