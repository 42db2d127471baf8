//! `exact`: the row itself as little-endian f32, the oracle every other codec is compared with.
//! Scores accumulate in f64, so it reproduces the f64 truth up to rounding of the f32 inputs.

use super::decl::{Capabilities, CodecInfo, PlainDecl};
use super::elementwise::{Elementwise, Passthrough};
use super::fields::f32_at;
use super::{Codec, CodecSpec, Family, Grade};

/// f32 passthrough.
#[derive(Debug, Clone)]
pub struct ExactCodec {
    dim: usize,
}

impl ExactCodec {
    /// A passthrough codec for rows of `dim` values.
    pub fn new(dim: usize) -> Self {
        ExactCodec { dim }
    }
}

impl Elementwise for ExactCodec {
    fn values<'c>(&'c self, code: &'c [u8]) -> impl Iterator<Item = f32> + 'c {
        (0..self.dim).map(|i| f32_at(code, 4 * i))
    }
}

/// The `exact` declaration (see [`PlainDecl`]).
pub struct ExactDecl;

impl PlainDecl for ExactDecl {
    const INFO: CodecInfo = CodecInfo {
        name: "exact",
        summary: "f32 passthrough, the oracle row; 4·d bytes (= FAISS IndexFlat)",
        reference: "IEEE 754 binary32",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    };
    const CAPABILITIES: Capabilities = Capabilities {
        pair_is_decoded_dot: true,
        ..Capabilities::RECONSTRUCTION
    };
    fn build(dim: usize) -> Box<dyn Codec> {
        Box::new(ExactCodec::new(dim))
    }
}

impl Passthrough for ExactCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Exact
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        4 * self.dim
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        for (o, &x) in out.chunks_exact_mut(4).zip(row) {
            o.copy_from_slice(&x.to_le_bytes());
        }
    }
}
