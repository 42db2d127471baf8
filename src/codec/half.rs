//! `f16` and `bf16`: the row stored at 16-bit float precision (the `half` crate's
//! round-to-nearest-even conversions). Scores use the decoded values with f64 accumulation.

use super::decl::{Capabilities, CodecInfo, PlainDecl};
use super::elementwise::{Elementwise, Passthrough};
use super::{Codec, CodecSpec, Family, Grade};
use half::{bf16, f16};

/// Which 16-bit float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HalfKind {
    /// IEEE binary16 (5-bit exponent, 10-bit mantissa).
    F16,
    /// bfloat16 (8-bit exponent, 7-bit mantissa).
    Bf16,
}

/// 16-bit float passthrough.
#[derive(Debug, Clone)]
pub struct HalfCodec {
    kind: HalfKind,
    dim: usize,
}

impl HalfCodec {
    /// A 16-bit codec of the given kind for rows of `dim` values.
    pub fn new(kind: HalfKind, dim: usize) -> Self {
        HalfCodec { kind, dim }
    }

    fn get(&self, code: &[u8], i: usize) -> f32 {
        let b = [code[2 * i], code[2 * i + 1]];
        match self.kind {
            HalfKind::F16 => f16::from_le_bytes(b).to_f32(),
            HalfKind::Bf16 => bf16::from_le_bytes(b).to_f32(),
        }
    }
}

impl Elementwise for HalfCodec {
    fn values<'c>(&'c self, code: &'c [u8]) -> impl Iterator<Item = f32> + 'c {
        (0..self.dim).map(|i| self.get(code, i))
    }
}

/// Both 16-bit kinds: reconstruction codecs whose `pair` is Σ f64(get(a, i))·f64(get(b, i)) in
/// order, the dot of the decoded rows.
const HALF_CAPABILITIES: Capabilities = Capabilities {
    pair_is_decoded_dot: true,
    ..Capabilities::RECONSTRUCTION
};

/// The `f16` declaration (see [`PlainDecl`]).
pub struct F16Decl;

impl PlainDecl for F16Decl {
    const INFO: CodecInfo = CodecInfo {
        name: "f16",
        summary: "IEEE half precision, round to nearest even; 2·d bytes (= FAISS SQfp16)",
        reference: "IEEE 754 binary16",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    };
    const CAPABILITIES: Capabilities = HALF_CAPABILITIES;
    fn build(dim: usize) -> Box<dyn Codec> {
        Box::new(HalfCodec::new(HalfKind::F16, dim))
    }
}

/// The `bf16` declaration (see [`PlainDecl`]).
pub struct Bf16Decl;

impl PlainDecl for Bf16Decl {
    const INFO: CodecInfo = CodecInfo {
        name: "bf16",
        summary: "bfloat16 (top 16 bits of f32, round to nearest even); 2·d bytes (= FAISS SQbf16)",
        reference: "Google Brain bfloat16",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    };
    const CAPABILITIES: Capabilities = HALF_CAPABILITIES;
    fn build(dim: usize) -> Box<dyn Codec> {
        Box::new(HalfCodec::new(HalfKind::Bf16, dim))
    }
}

impl Passthrough for HalfCodec {
    fn spec(&self) -> CodecSpec {
        match self.kind {
            HalfKind::F16 => CodecSpec::F16,
            HalfKind::Bf16 => CodecSpec::Bf16,
        }
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        2 * self.dim
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        for (o, &x) in out.chunks_exact_mut(2).zip(row) {
            let b = match self.kind {
                HalfKind::F16 => f16::from_f32(x).to_le_bytes(),
                HalfKind::Bf16 => bf16::from_f32(x).to_le_bytes(),
            };
            o.copy_from_slice(&b);
        }
    }
}
