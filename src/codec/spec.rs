//! `CodecSpec`'s text form `name[:key=value,...]` (parsed at the edge by [`RawParams`], printed
//! back canonically so that it round-trips), its identity, what it can do before it is fitted,
//! and the codec sets a run uses by default. The enum itself and [`CODECS`] come from the
//! one-line-per-codec registry in `codec/mod.rs`; each codec's declaration (description,
//! parameters, grade, family, capabilities, parse, fit) lives in its own file
//! ([`super::decl`]), so this file names no codec but in the default sets.

pub use super::decl::{CodecInfo, ParamInfo};
pub use super::{CODECS, CodecSpec};

use super::decl::Capabilities;
use super::{Codec, Family, Grade};
use crate::data::Rows;
use crate::error::{Error, Result, close_names};
use crate::linalg::RotationKind;
use std::fmt;
use std::str::FromStr;

impl CodecSpec {
    /// The spec's codec name.
    pub fn name(&self) -> &'static str {
        self.declared(|d| d.info().name)
    }

    /// The codec's declared description, parameters, grade and family (`list codecs`).
    pub fn info(&self) -> CodecInfo {
        self.declared(|d| d.info())
    }

    /// What the codec keeps with these parameters; every fit reports the same
    /// (`Codec::grade`).
    pub fn grade(&self) -> Grade {
        self.declared(|d| d.grade())
    }

    /// How the codec is built; every fit reports the same (`Codec::family`).
    pub fn family(&self) -> Family {
        self.info().family
    }

    /// What the codec can do with these parameters, known without fitting it: what
    /// `Codec::can_decode`, `can_pair` and `pair_is_decoded_dot` of every fit report (the
    /// contract test checks the fits against it).
    pub fn capabilities(&self) -> Capabilities {
        self.declared(|d| d.capabilities())
    }

    /// Whether the fitted codec can decode (reconstruct) rows, known without fitting it, so a
    /// probe can choose its codecs before paying for fits.
    pub fn decodes(&self) -> bool {
        self.capabilities().decodes
    }

    /// The codec's identity: its name and the parameters whose values differ from the declared
    /// defaults, sorted by key (`tq-mse:bits=4,rot=haar` → `tq-mse:bits=4`). Codec seeds derive
    /// from this, not from how the spec prints, so a new parameter added with a default (which
    /// changes every printed spec) re-draws no rotation.
    pub fn identity(&self) -> String {
        let text = self.to_string();
        let Ok(raw) = RawParams::parse(&text) else {
            return text;
        };
        let defaults = self.info().params;
        let mut kept: Vec<(String, String)> = raw
            .pairs
            .into_iter()
            .filter(|(k, v)| !defaults.iter().any(|p| p.key == k && p.default == v))
            .collect();
        kept.sort();
        if kept.is_empty() {
            return self.name().to_string();
        }
        let params: Vec<String> = kept.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}:{}", self.name(), params.join(","))
    }

    /// Whether fitting may draw random numbers from its seed (a rotation, a sketch, a k-means
    /// initialisation, a random subset or a seeded training sample): such a codec's numbers can
    /// vary from draw to draw, and a run with `--replicates R` fits it R times. Known without
    /// fitting. A codec that only samples its training rows above a cap (matryoshka: 4096
    /// rows) is random here and deterministic below the cap ([`CodecSpec::random_fit_on`]).
    /// The contract test checks both against fits with two seeds.
    pub fn random_fit(&self) -> bool {
        self.random_fit_on(usize::MAX)
    }

    /// [`CodecSpec::random_fit`] for a fit on `train_rows` rows: a codec that draws only a
    /// sample of its training rows above a cap and is otherwise deterministic (matryoshka,
    /// above 4096 rows) fits the same codec from every seed below it, so one draw is all there
    /// is.
    pub fn random_fit_on(&self, train_rows: usize) -> bool {
        self.capabilities().random_fit.on(train_rows)
    }

    /// Peak bytes of fitting this codec on `train_rows` rows of `dim` values, its fitted state
    /// included: the declaration's honest upper estimate (saturating), known without fitting,
    /// which the memory budget checks before a fit ([`crate::budget::MemoryBudget`]).
    pub fn fit_bytes(&self, train_rows: usize, dim: usize) -> u64 {
        self.declared(|d| d.fit_bytes(train_rows, dim))
    }

    /// Fit the codec on `train` (all randomness from `seed`), through its declaration.
    pub fn fit(&self, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        self.declared(|d| d.fit(train, seed))
    }

    /// The codecs `codecbench run` uses when none are named.
    pub fn defaults() -> Vec<CodecSpec> {
        let mut v = Self::scalar_defaults();
        v.extend(Self::rotation_defaults());
        v.extend(Self::baseline_defaults());
        v.extend(Self::origin_defaults());
        v
    }

    /// ITQ and the origin's families done right, meant to join [`CodecSpec::defaults`]: Base17
    /// faithful and repaired, the spiral walk with its two equal-byte controls, the three
    /// palette hybrids (HhtlF32, +SlotL, I8Hybrid), cascade, Matryoshka bands, gain–shape.
    pub fn origin_defaults() -> Vec<CodecSpec> {
        parse_all(&[
            "itq",
            "base17:scale=fixed",
            "base17:scale=row",
            "spiral",
            "spiral:mode=subset",
            "spiral:mode=jl",
            "palette:k=256",
            "palette:k=256,leaf=svd",
            "palette:k=64,leaf=jl",
            "cascade",
            "matryoshka",
            "gain-shape",
        ])
    }

    /// The cheap trained baselines (FAISS SQ8 / SQ4, PQ at 2 bits per dimension with 16
    /// centroids per 2-dim subspace), meant to join [`CodecSpec::defaults`].
    pub fn baseline_defaults() -> Vec<CodecSpec> {
        parse_all(&["sq:bits=8", "sq:bits=4", "pq"])
    }

    /// The float ladder and the absmax scalar codecs.
    pub fn scalar_defaults() -> Vec<CodecSpec> {
        parse_all(&["exact", "f16", "bf16", "int8", "int4"])
    }

    /// The rotation-family codecs at 1, 2 and 4 bits where defined (plus QJL, sign and
    /// PolarQuant at their papers' budgets), meant to join [`CodecSpec::defaults`].
    pub fn rotation_defaults() -> Vec<CodecSpec> {
        parse_all(&[
            "tq-mse:bits=1",
            "tq-mse:bits=2",
            "tq-mse:bits=4",
            "tq-prod:bits=2",
            "tq-prod:bits=4",
            "qjl",
            "rabitq:bits=1",
            "rabitq:bits=2",
            "rabitq:bits=4",
            "polar",
            "sign",
        ])
    }
}

/// Built-in spec strings, parsed (they always parse: the contract test parses every default).
fn parse_all(specs: &[&str]) -> Vec<CodecSpec> {
    specs
        .iter()
        .map(|s| s.parse().expect("built-in default specs parse"))
        .collect()
}

impl fmt::Display for CodecSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.declared(|d| d.write(f))
    }
}

impl FromStr for CodecSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let mut raw = RawParams::parse(s)?;
        let Some(spec) = CodecSpec::parse_declared(&mut raw) else {
            return Err(Error::UnknownCodec {
                name: raw.codec.clone(),
                close: close_names(&raw.codec, CODECS.iter().map(|c| c.name)),
                valid: CODECS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
            });
        };
        let spec = spec?;
        raw.finish()?;
        Ok(spec)
    }
}

/// `name:key=value,...` split into its parts; codecs `take` their keys and `finish` rejects the
/// rest, naming the valid ones.
#[derive(Debug)]
pub struct RawParams {
    /// Codec name.
    pub codec: String,
    pairs: Vec<(String, String)>,
}

impl RawParams {
    /// Split a spec string; rejects empty names, missing `=`, and repeated keys.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let (name, rest) = match s.split_once(':') {
            Some((n, r)) => (n.trim(), Some(r)),
            None => (s, None),
        };
        if name.is_empty() {
            return Err(Error::UnknownCodec {
                name: s.to_string(),
                close: Vec::new(),
                valid: CODECS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
            });
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for item in rest.into_iter().flat_map(|r| r.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let Some((k, v)) = item.split_once('=') else {
                return Err(Error::BadParam {
                    codec: name.to_string(),
                    key: item.to_string(),
                    value: String::new(),
                    expected: "key=value".to_string(),
                });
            };
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if pairs.iter().any(|(pk, _)| *pk == k) {
                return Err(Error::BadParam {
                    codec: name.to_string(),
                    key: k,
                    value: v,
                    expected: "each parameter at most once".to_string(),
                });
            }
            pairs.push((k, v));
        }
        Ok(RawParams {
            codec: name.to_string(),
            pairs,
        })
    }

    /// Remove and return the value of `key`, if given.
    pub fn take(&mut self, key: &str) -> Option<String> {
        let i = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(i).1)
    }

    /// Error if any key was not taken.
    pub fn finish(self) -> Result<()> {
        if let Some((key, _)) = self.pairs.into_iter().next() {
            let valid = CODECS
                .iter()
                .find(|c| c.name == self.codec)
                .map(|c| c.params.iter().map(|p| p.key).collect::<Vec<_>>())
                .unwrap_or_default();
            return Err(Error::UnknownParam {
                close: close_names(&key, valid.iter().copied()),
                codec: self.codec,
                key,
                valid: if valid.is_empty() {
                    "(none)".to_string()
                } else {
                    valid.join(", ")
                },
            });
        }
        Ok(())
    }

    /// Take `rot` (default `haar`).
    pub fn take_rotation(&mut self) -> Result<RotationKind> {
        match self.take("rot") {
            None => Ok(RotationKind::default()),
            Some(v) => {
                RotationKind::parse(&v).ok_or_else(|| self.bad("rot", &v, RotationKind::VALUES))
            }
        }
    }

    /// The error for a bad value of `key`.
    pub fn bad(&self, key: &str, value: &str, expected: &str) -> Error {
        Error::BadParam {
            codec: self.codec.clone(),
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }
}
