//! `CodecSpec`: the closed enum users pick codecs from, its text form `name[:key=value,...]`
//! (parsed at the edge, printed back canonically so that it round-trips), the descriptions that
//! `codecbench list codecs` prints, and the one registry `match` that fits a codec.

use super::{
    Codec, ExactCodec, Family, Grade, HalfCodec, HalfKind, Int4Codec, Int4Params, Int8Codec,
};
use crate::data::Rows;
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// One codec parameter, for `list codecs` and error messages.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ParamInfo {
    /// Key as written in a spec.
    pub key: &'static str,
    /// The values it takes.
    pub values: &'static str,
    /// Default value (as written in a spec).
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// One codec, for `list codecs`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct CodecInfo {
    /// Spec name.
    pub name: &'static str,
    /// One-line description, including what the bytes per row are made of.
    pub summary: &'static str,
    /// Where the method comes from.
    pub reference: &'static str,
    /// What the code keeps.
    pub grade: Grade,
    /// How it is built.
    pub family: Family,
    /// Parameters with defaults.
    pub params: &'static [ParamInfo],
}

/// Every codec this build knows, in the order `list codecs` prints them.
pub static CODECS: &[CodecInfo] = &[
    CodecInfo {
        name: "exact",
        summary: "f32 passthrough, the oracle row; 4·d bytes",
        reference: "IEEE 754 binary32",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    },
    CodecInfo {
        name: "f16",
        summary: "IEEE half precision, round to nearest even; 2·d bytes",
        reference: "IEEE 754 binary16",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    },
    CodecInfo {
        name: "bf16",
        summary: "bfloat16 (top 16 bits of f32, round to nearest even); 2·d bytes",
        reference: "Google Brain bfloat16",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    },
    CodecInfo {
        name: "int8",
        summary: "per-row symmetric absmax int8 (q = round(127·x/max|x|)); d bytes + 4-byte f32 scale",
        reference: "LLM.int8 / Q8 per-row absmax (algorithms.md §1.6)",
        grade: Grade::Reconstruction,
        family: Family::Scalar,
        params: &[],
    },
    CodecInfo {
        name: "int4",
        summary: "symmetric absmax int4 (q in -7..7) per row or per group; ⌈d/2⌉ bytes + 4-byte f32 scale per group",
        reference: "GGML Q4_0-style group absmax (algorithms.md §1.6)",
        grade: Grade::Reconstruction,
        family: Family::Scalar,
        params: &[ParamInfo {
            key: "group",
            values: "row | integer ≥ 1",
            default: "32",
            doc: "coordinates sharing one scale; `row` = one scale for the whole row",
        }],
    },
];

/// A codec and its parameters, as a user names it. `Display` prints the canonical form, which
/// always parses back to an equal spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CodecSpec {
    /// f32 passthrough.
    Exact,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
    /// Per-row absmax int8.
    Int8,
    /// Per-row or per-group absmax int4.
    Int4(Int4Params),
}

impl CodecSpec {
    /// The spec's codec name.
    pub fn name(&self) -> &'static str {
        match self {
            CodecSpec::Exact => "exact",
            CodecSpec::F16 => "f16",
            CodecSpec::Bf16 => "bf16",
            CodecSpec::Int8 => "int8",
            CodecSpec::Int4(_) => "int4",
        }
    }

    /// The codecs `codecbench run` uses when none are named.
    pub fn defaults() -> Vec<CodecSpec> {
        vec![
            CodecSpec::Exact,
            CodecSpec::F16,
            CodecSpec::Bf16,
            CodecSpec::Int8,
            CodecSpec::Int4(Int4Params::default()),
        ]
    }

    /// Fit the codec on `train` (all randomness from `seed`). The one registry `match`.
    pub fn fit(&self, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        let _ = seed; // none of the codecs so far is randomized
        let dim = train.dim();
        Ok(match self {
            CodecSpec::Exact => Box::new(ExactCodec::new(dim)),
            CodecSpec::F16 => Box::new(HalfCodec::new(HalfKind::F16, dim)),
            CodecSpec::Bf16 => Box::new(HalfCodec::new(HalfKind::Bf16, dim)),
            CodecSpec::Int8 => Box::new(Int8Codec::new(dim)),
            CodecSpec::Int4(p) => Box::new(Int4Codec::new(*p, dim)),
        })
    }
}

impl fmt::Display for CodecSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecSpec::Exact | CodecSpec::F16 | CodecSpec::Bf16 | CodecSpec::Int8 => {
                f.write_str(self.name())
            }
            CodecSpec::Int4(p) => write!(f, "int4:group={}", p.group),
        }
    }
}

impl FromStr for CodecSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let mut raw = RawParams::parse(s)?;
        let spec = match raw.codec.as_str() {
            "exact" => CodecSpec::Exact,
            "f16" => CodecSpec::F16,
            "bf16" => CodecSpec::Bf16,
            "int8" => CodecSpec::Int8,
            "int4" => CodecSpec::Int4(Int4Params::from_raw(&mut raw)?),
            _ => {
                return Err(Error::UnknownCodec {
                    name: raw.codec.clone(),
                    valid: CODECS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
                });
            }
        };
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
