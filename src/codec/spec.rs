//! `CodecSpec`: the closed enum users pick codecs from, its text form `name[:key=value,...]`
//! (parsed at the edge, printed back canonically so that it round-trips), the descriptions that
//! `codecbench list codecs` prints, and the one registry `match` that fits a codec.

use super::{
    Codec, ExactCodec, Family, Grade, HalfCodec, HalfKind, Int4Codec, Int4Params, Int8Codec,
    PolarCodec, PolarParams, QjlCodec, QjlParams, RabitqCodec, RabitqParams, SignCodec, SignParams,
    TqMseCodec, TqParams, TqProdCodec,
};
use crate::data::Rows;
use crate::error::{Error, Result};
use crate::linalg::RotationKind;
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
    CodecInfo {
        name: "tq-mse",
        summary: "TurboQuant_mse: rotate x/‖x‖, b-bit Lloyd–Max codebook of the exact rotated-coordinate law per coordinate; 4-byte f32 norm + ⌈b·p/8⌉ bytes (p = d, or the next power of two with rot=hadamard)",
        reference: "Zandieh, Daliri, Hadian, Mirrokni, TurboQuant, arXiv:2504.19874, Alg. 1",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[
            ParamInfo {
                key: "bits",
                values: "1..=8",
                default: "2",
                doc: "bits per rotated coordinate",
            },
            ROT_PARAM,
        ],
    },
    CodecInfo {
        name: "tq-prod",
        summary: "TurboQuant_prod: tq-mse at b−1 bits + 1-bit QJL (iid Gaussian d×d) of the residual, unbiased inner products; 4-byte norm + 4-byte residual norm (b ≥ 2) + ⌈(b−1)·p/8⌉ + ⌈d/8⌉ bytes",
        reference: "Zandieh, Daliri, Hadian, Mirrokni, TurboQuant, arXiv:2504.19874, Alg. 2",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[
            ParamInfo {
                key: "bits",
                values: "1..=9",
                default: "2",
                doc: "total bits per coordinate (b−1 for the MSE stage, 1 for QJL)",
            },
            ROT_PARAM,
        ],
    },
    CodecInfo {
        name: "qjl",
        summary: "QJL sign sketch sign(S·x) plus norm, unbiased asymmetric estimator √(π/2)/m·‖x‖·⟨Sq, sign(Sx)⟩; 4-byte norm + ⌈m/8⌉ bytes; no decode",
        reference: "Zandieh, Daliri, Han, QJL, arXiv:2406.03482",
        grade: Grade::Signature,
        family: Family::Signature,
        params: &[
            ParamInfo {
                key: "m",
                values: "dim | 1..=65536",
                default: "dim",
                doc: "sketch length (bits per row); `dim` = the row dimension",
            },
            ParamInfo {
                key: "proj",
                values: "gauss | orth",
                default: "gauss",
                doc: "iid Gaussian S (scale √(π/2)/m) or rows from Haar orthogonal blocks ×√d (exact unbiased scale)",
            },
        ],
    },
    CodecInfo {
        name: "polar",
        summary: "PolarQuant: rotate, recursive polar transform per 2^L-coordinate block, per-level angle codebooks from the analytic angle laws, fp16 block radius; default 3.875 bits/coordinate",
        reference: "Han, Kacham, Karbasi, Mirrokni, Zandieh, PolarQuant, arXiv:2502.02617",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[
            ParamInfo {
                key: "levels",
                values: "1..=8",
                default: "4",
                doc: "recursion levels L per block of 2^L coordinates",
            },
            ParamInfo {
                key: "bits1",
                values: "1..=8",
                default: "4",
                doc: "bits per level-1 angle (uniform on [0, 2π))",
            },
            ParamInfo {
                key: "bits2",
                values: "1..=8",
                default: "2",
                doc: "bits per angle at levels ≥ 2 (Lloyd–Max for sin^(2^(ℓ−1)−1)(2ψ))",
            },
            ROT_PARAM,
        ],
    },
    CodecInfo {
        name: "rabitq",
        summary: "RaBitQ (1 bit) / Extended RaBitQ (2..9 bits): centred, rotated, nearest grid direction, unbiased ⟨ō,q⟩/⟨ō,o⟩ estimator; ⌈B·p/8⌉ bytes + 8 bytes of factors (+4 for f_add with centroid=mean)",
        reference: "Gao & Long, RaBitQ, arXiv:2405.12497; Gao et al., Extended RaBitQ, arXiv:2409.09913",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[
            ParamInfo {
                key: "bits",
                values: "1..=9",
                default: "1",
                doc: "bits per rotated coordinate (1 sign bit + B−1 ex-bits)",
            },
            ParamInfo {
                key: "enc",
                values: "fast | optimal",
                default: "fast",
                doc: "one precomputed rescaling factor, or the exhaustive critical-point scan per row",
            },
            ParamInfo {
                key: "centroid",
                values: "mean | zero",
                default: "mean",
                doc: "normalisation centre: mean of the training rows (4·d model bytes) or the origin",
            },
            ROT_PARAM,
        ],
    },
    CodecInfo {
        name: "sign",
        summary: "plain sign / binary quantization of the rotated row plus norm; symmetric Hamming angle estimate ‖a‖‖b‖·cos(π·h/p) (the query is binarised too); 4-byte norm + ⌈p/8⌉ bytes",
        reference: "Charikar, SimHash (STOC 2002); binary quantization",
        grade: Grade::Signature,
        family: Family::Signature,
        params: &[ROT_PARAM],
    },
];

/// The shared `rot` parameter.
const ROT_PARAM: ParamInfo = ParamInfo {
    key: "rot",
    values: "haar | hadamard | none",
    default: "haar",
    doc: "random rotation before quantizing: Haar QR (seed-regenerated, 8 model bytes), randomized Hadamard (3 rounds, zero-padded to a power of two; padded coordinates are coded and counted), or none",
};

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
    /// TurboQuant_mse.
    TqMse(TqParams),
    /// TurboQuant_prod.
    TqProd(TqParams),
    /// QJL sign sketch.
    Qjl(QjlParams),
    /// PolarQuant.
    Polar(PolarParams),
    /// RaBitQ / Extended RaBitQ.
    Rabitq(RabitqParams),
    /// Rotated sign bits.
    Sign(SignParams),
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
            CodecSpec::TqMse(_) => "tq-mse",
            CodecSpec::TqProd(_) => "tq-prod",
            CodecSpec::Qjl(_) => "qjl",
            CodecSpec::Polar(_) => "polar",
            CodecSpec::Rabitq(_) => "rabitq",
            CodecSpec::Sign(_) => "sign",
        }
    }

    /// The codecs `codecbench run` uses when none are named.
    pub fn defaults() -> Vec<CodecSpec> {
        let mut v = Self::scalar_defaults();
        v.extend(Self::rotation_defaults());
        v
    }

    /// The float ladder and the absmax scalar codecs.
    pub fn scalar_defaults() -> Vec<CodecSpec> {
        vec![
            CodecSpec::Exact,
            CodecSpec::F16,
            CodecSpec::Bf16,
            CodecSpec::Int8,
            CodecSpec::Int4(Int4Params::default()),
        ]
    }

    /// The rotation-family codecs at 1, 2 and 4 bits where defined (plus QJL, sign and
    /// PolarQuant at their papers' budgets), meant to join [`CodecSpec::defaults`].
    pub fn rotation_defaults() -> Vec<CodecSpec> {
        vec![
            CodecSpec::TqMse(TqParams::new(1)),
            CodecSpec::TqMse(TqParams::new(2)),
            CodecSpec::TqMse(TqParams::new(4)),
            CodecSpec::TqProd(TqParams::new(2)),
            CodecSpec::TqProd(TqParams::new(4)),
            CodecSpec::Qjl(QjlParams::default()),
            CodecSpec::Rabitq(RabitqParams::new(1)),
            CodecSpec::Rabitq(RabitqParams::new(2)),
            CodecSpec::Rabitq(RabitqParams::new(4)),
            CodecSpec::Polar(PolarParams::default()),
            CodecSpec::Sign(SignParams::default()),
        ]
    }

    /// Fit the codec on `train` (all randomness from `seed`). The one registry `match`.
    pub fn fit(&self, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        let dim = train.dim();
        Ok(match self {
            CodecSpec::Exact => Box::new(ExactCodec::new(dim)),
            CodecSpec::F16 => Box::new(HalfCodec::new(HalfKind::F16, dim)),
            CodecSpec::Bf16 => Box::new(HalfCodec::new(HalfKind::Bf16, dim)),
            CodecSpec::Int8 => Box::new(Int8Codec::new(dim)),
            CodecSpec::Int4(p) => Box::new(Int4Codec::new(*p, dim)),
            CodecSpec::TqMse(p) => Box::new(TqMseCodec::fit(p, dim, seed)),
            CodecSpec::TqProd(p) => Box::new(TqProdCodec::fit(p, dim, seed)),
            CodecSpec::Qjl(p) => Box::new(QjlCodec::fit(p, dim, seed)),
            CodecSpec::Polar(p) => Box::new(PolarCodec::fit(p, dim, seed)),
            CodecSpec::Rabitq(p) => Box::new(RabitqCodec::fit(p, train, seed)),
            CodecSpec::Sign(p) => Box::new(SignCodec::fit(p, dim, seed)),
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
            CodecSpec::TqMse(p) | CodecSpec::TqProd(p) => write!(f, "{}:{p}", self.name()),
            CodecSpec::Qjl(p) => write!(f, "qjl:{p}"),
            CodecSpec::Polar(p) => write!(f, "polar:{p}"),
            CodecSpec::Rabitq(p) => write!(f, "rabitq:{p}"),
            CodecSpec::Sign(p) => write!(f, "sign:{p}"),
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
            "tq-mse" => CodecSpec::TqMse(TqParams::from_raw(&mut raw, 8)?),
            "tq-prod" => CodecSpec::TqProd(TqParams::from_raw(&mut raw, 9)?),
            "qjl" => CodecSpec::Qjl(QjlParams::from_raw(&mut raw)?),
            "polar" => CodecSpec::Polar(PolarParams::from_raw(&mut raw)?),
            "rabitq" => CodecSpec::Rabitq(RabitqParams::from_raw(&mut raw)?),
            "sign" => CodecSpec::Sign(SignParams::from_raw(&mut raw)?),
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
