//! Codecs whose code stands for one value per coordinate, read in order (`exact`, `f16`/`bf16`,
//! `fp8`, `int8`, `int4`, `sq`): the decode, the decoded-dot scorer and the decoded-dot pair are
//! written once here over [`Elementwise::values`]. A codec with a faster scan keeps its own
//! scorer; every sum here is the plain f64 reference in coordinate order. The passthrough
//! codecs (`exact`, `f16`/`bf16`, `fp8`) use all three, so their `Codec` impl is written once
//! too ([`Passthrough`]).

use super::{Codec, CodecSpec, Scorer};
use crate::error::Result;

/// A code that decodes coordinate by coordinate.
pub(super) trait Elementwise: Send + Sync {
    /// x̂_0, x̂_1, … of `code`, in order (one per coordinate).
    fn values<'c>(&'c self, code: &'c [u8]) -> impl Iterator<Item = f32> + 'c;
}

/// `out_i = x̂_i`.
pub(super) fn decode_into(codec: &impl Elementwise, code: &[u8], out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(codec.values(code)) {
        *o = v;
    }
}

/// Σ_i x̂_i(a)·x̂_i(b) in f64, in order: exactly `dot_f64(decode(a), decode(b))`.
pub(super) fn decoded_pair(codec: &impl Elementwise, a: &[u8], b: &[u8]) -> f64 {
    codec
        .values(a)
        .zip(codec.values(b))
        .map(|(x, y)| x as f64 * y as f64)
        .sum()
}

/// The scorer Σ_i q_i·x̂_i in f64, in order: ⟨q, decode(code)⟩ with no rounding but the f64
/// sum's.
pub(super) fn decoded_scorer<'a, C: Elementwise>(
    codec: &'a C,
    query: &[f32],
) -> Box<dyn Scorer + 'a> {
    Box::new(DecodedScorer {
        codec,
        query: query.to_vec(),
    })
}

struct DecodedScorer<'a, C> {
    codec: &'a C,
    query: Vec<f32>,
}

impl<C: Elementwise> Scorer for DecodedScorer<'_, C> {
    fn estimate(&self, code: &[u8]) -> f64 {
        self.query
            .iter()
            .zip(self.codec.values(code))
            .map(|(&q, x)| q as f64 * x as f64)
            .sum()
    }
}

/// A passthrough codec (the row at some float precision, no shared state): its layout is its
/// own; decode, scoring and pairs are the decoded values' ([`decode_into`],
/// [`decoded_scorer`], [`decoded_pair`]).
pub(super) trait Passthrough: Elementwise {
    /// The spec that builds it.
    fn spec(&self) -> CodecSpec;
    /// Row dimension.
    fn dim(&self) -> usize;
    /// Bytes per row.
    fn code_bytes(&self) -> usize;
    /// Encode one row.
    fn encode(&self, row: &[f32], out: &mut [u8]);
}

impl<T: Passthrough> Codec for T {
    fn spec(&self) -> CodecSpec {
        Passthrough::spec(self)
    }
    fn dim(&self) -> usize {
        Passthrough::dim(self)
    }
    fn code_bytes(&self) -> usize {
        Passthrough::code_bytes(self)
    }
    fn model_bytes(&self) -> usize {
        0
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        Passthrough::encode(self, row, out)
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        decode_into(self, code, out);
        Ok(())
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        decoded_scorer(self, query)
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        Ok(decoded_pair(self, a, b))
    }
}
