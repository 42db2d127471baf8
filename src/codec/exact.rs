//! `exact`: the row itself as little-endian f32, the oracle every other codec is compared with.
//! Scores accumulate in f64, so it reproduces the f64 truth up to rounding of the f32 inputs.

use super::decl::{Capabilities, CodecDecl, CodecInfo, NoParams};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Family, Grade, Scorer, dot_f64};
use crate::data::Rows;
use crate::error::Result;

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

fn read_f32(code: &[u8], i: usize) -> f32 {
    f32::from_le_bytes([
        code[4 * i],
        code[4 * i + 1],
        code[4 * i + 2],
        code[4 * i + 3],
    ])
}

struct ExactScorer {
    query: Vec<f32>,
}

impl Scorer for ExactScorer {
    fn estimate(&self, code: &[u8]) -> f64 {
        self.query
            .iter()
            .enumerate()
            .map(|(i, &q)| q as f64 * read_f32(code, i) as f64)
            .sum()
    }
}

/// The `exact` declaration (see [`CodecDecl`]).
pub struct ExactDecl;

impl CodecDecl for ExactDecl {
    type Params = NoParams;
    const INFO: CodecInfo = CodecInfo {
        name: "exact",
        summary: "f32 passthrough, the oracle row; 4·d bytes (= FAISS IndexFlat)",
        reference: "IEEE 754 binary32",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    };
    fn parse(_: &mut RawParams) -> Result<NoParams> {
        Ok(NoParams)
    }
    fn fit(_: &NoParams, train: &Rows, _seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(ExactCodec::new(train.dim())))
    }
    fn capabilities(_: &NoParams) -> Capabilities {
        Capabilities {
            pair_is_decoded_dot: true,
            ..Capabilities::RECONSTRUCTION
        }
    }
}

impl Codec for ExactCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Exact
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        4 * self.dim
    }
    fn model_bytes(&self) -> usize {
        0
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        for (o, &x) in out.chunks_exact_mut(4).zip(row) {
            o.copy_from_slice(&x.to_le_bytes());
        }
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        for (i, o) in out.iter_mut().enumerate() {
            *o = read_f32(code, i);
        }
        Ok(())
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        Box::new(ExactScorer {
            query: query.to_vec(),
        })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        let mut x = vec![0f32; self.dim];
        let mut y = vec![0f32; self.dim];
        self.decode(a, &mut x)?;
        self.decode(b, &mut y)?;
        Ok(dot_f64(&x, &y))
    }
}
