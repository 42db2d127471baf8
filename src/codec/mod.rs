//! The codec interface: a codec is fitted on training rows, encodes each row into a fixed number
//! of bytes, and scores queries against codes. Codecs know nothing about files, metrics or reports.
//!
//! Built only through [`CodecSpec::fit`]. Each codec lives in its own file named after it and
//! declares itself there (description, parameters, grade, family, capabilities, parse, fit:
//! [`decl::CodecDecl`]); the registry below is one line per codec.
//!
//! Adding a codec: write `newcodec.rs` (the codec, its parameters type and its declaration),
//! add `mod newcodec;` and one registry line here, and test it (the contract test covers every
//! registered codec by its bare name on its own).

pub mod base17;
pub mod cascade;
pub mod decl;
mod elementwise;
mod exact;
mod fields;
pub mod fp8;
pub mod gain_shape;
mod half;
mod int4;
mod int8;
pub mod itq;
pub mod matryoshka;
pub mod palette;
pub mod polar;
pub mod pq;
pub mod qjl;
pub mod rabitq;
mod rotated;
pub mod sign;
pub mod spec;
pub mod spiral;
pub mod sq;
pub mod turbo;

pub use base17::{Base17Codec, Base17Params};
pub use cascade::{CascadeCodec, CascadeParams, PaletteFit};
pub use decl::{Capabilities, CodecDecl, CodecInfo, ParamInfo, RandomFit, ZeroRow};
pub use exact::ExactCodec;
pub use fp8::{Fp8Codec, Fp8Params};
pub use gain_shape::{GainShapeCodec, GainShapeParams, Shape};
pub use half::{HalfCodec, HalfKind};
pub use int4::{Int4Codec, Int4Group, Int4Params};
pub use int8::Int8Codec;
pub use itq::{ItqBits, ItqCodec, ItqParams};
pub use matryoshka::{MatryoshkaCodec, MatryoshkaParams, Profile};
pub use palette::{LeafKind, PaletteCodec, PaletteInit, PaletteParams};
pub use polar::{PolarCodec, PolarParams};
pub use pq::{PqCodec, PqM, PqParams, PqScan};
pub use qjl::{Projection, QjlCodec, QjlParams, SketchLen};
pub use rabitq::{Centroid, DecodeScale, Encoder, RabitqCodec, RabitqParams};
pub use sign::{SignCodec, SignParams};
pub use spiral::{SpiralCodec, SpiralMode, SpiralParams};
pub use sq::{SqCodec, SqParams};
pub use turbo::{TqMseCodec, TqParams, TqProdCodec};

use crate::data::Rows;
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::any::Any;
use std::sync::{Arc, OnceLock};

// The registry: one line per codec, `Variant(Params) => Declaration`, in the order `list codecs`
// prints them. It makes the closed `CodecSpec` enum and `CODECS`; see `decl.rs`.
decl::registry! {
    Exact => exact::ExactDecl,
    F16 => half::F16Decl,
    Bf16 => half::Bf16Decl,
    Int8 => int8::Int8Decl,
    Int4(Int4Params) => int4::Int4Decl,
    TqMse(TqParams) => turbo::TqMseDecl,
    TqProd(TqParams) => turbo::TqProdDecl,
    Qjl(QjlParams) => qjl::QjlDecl,
    Polar(PolarParams) => polar::PolarDecl,
    Rabitq(RabitqParams) => rabitq::RabitqDecl,
    Sign(SignParams) => sign::SignDecl,
    Sq(SqParams) => sq::SqDecl,
    Pq(PqParams) => pq::PqDecl,
    Itq(ItqParams) => itq::ItqDecl,
    Fp8(Fp8Params) => fp8::Fp8Decl,
    Base17(Base17Params) => base17::Base17Decl,
    Spiral(SpiralParams) => spiral::SpiralDecl,
    Cascade(CascadeParams) => cascade::CascadeDecl,
    Matryoshka(MatryoshkaParams) => matryoshka::MatryoshkaDecl,
    GainShape(GainShapeParams) => gain_shape::GainShapeDecl,
    Palette(PaletteParams) => palette::PaletteDecl,
}

/// What a code keeps (the origin's second axis): a reconstruction of the row, only a signature
/// that supports scoring, or both in part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    /// `decode` returns an approximation of the row.
    Reconstruction,
    /// Scores can be estimated but the row cannot be rebuilt.
    Signature,
    /// A coarse address plus a partial leaf.
    Hybrid,
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grade::Reconstruction => "reconstruction",
            Grade::Signature => "signature",
            Grade::Hybrid => "hybrid",
        })
    }
}

/// How a codec is built (the origin's first axis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Stores the values themselves at some float precision.
    Passthrough,
    /// Scalar quantization of each coordinate with per-row or per-group scales.
    Scalar,
    /// Random rotation, then per-coordinate or sign quantization.
    Rotation,
    /// A palette (codebook) address plus a residual leaf.
    PaletteLeaf,
    /// Hash-like signatures (signs, sketches, subsamples).
    Signature,
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Passthrough => "passthrough",
            Family::Scalar => "scalar",
            Family::Rotation => "rotation",
            Family::PaletteLeaf => "palette-leaf",
            Family::Signature => "signature",
        })
    }
}

/// Codes of many rows, stored contiguously with a fixed stride of `code_bytes`.
///
/// A scorer may attach one **auxiliary scan layout** (e.g. PQ FastScan's 32-row transposed
/// blocks) with [`Codes::scan_layout`]: built once on first use and kept beside the codes. It is
/// derived state: equality, `Debug` and the bytes ignore it; a clone shares it.
pub struct Codes {
    code_bytes: usize,
    data: Vec<u8>,
    layout: OnceLock<(u64, Arc<dyn Any + Send + Sync>)>,
}

impl Clone for Codes {
    fn clone(&self) -> Self {
        Codes {
            code_bytes: self.code_bytes,
            data: self.data.clone(),
            layout: self.layout.clone(),
        }
    }
}

impl PartialEq for Codes {
    fn eq(&self, other: &Self) -> bool {
        self.code_bytes == other.code_bytes && self.data == other.data
    }
}

impl Eq for Codes {}

impl std::fmt::Debug for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codes")
            .field("code_bytes", &self.code_bytes)
            .field("len", &self.len())
            .field("scan_layout", &self.layout.get().map(|(k, _)| *k))
            .finish()
    }
}

impl Codes {
    /// Wrap contiguous codes; `data.len()` must be a multiple of `code_bytes`.
    pub fn new(code_bytes: usize, data: Vec<u8>) -> Self {
        assert!(
            code_bytes > 0 && data.len().is_multiple_of(code_bytes),
            "Codes::new: bad stride"
        );
        Codes {
            code_bytes,
            data,
            layout: OnceLock::new(),
        }
    }
    /// Number of codes.
    pub fn len(&self) -> usize {
        self.data.len() / self.code_bytes
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// Bytes per code.
    pub fn code_bytes(&self) -> usize {
        self.code_bytes
    }
    /// Code `i`.
    pub fn get(&self, i: usize) -> &[u8] {
        &self.data[i * self.code_bytes..(i + 1) * self.code_bytes]
    }
    /// All codes in order.
    pub fn iter(&self) -> std::slice::ChunksExact<'_, u8> {
        self.data.chunks_exact(self.code_bytes)
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }
    /// The auxiliary scan layout named `key`, built by `build` from these codes on first use and
    /// cached (thread-safe; concurrent first callers may both build, one result is kept). A
    /// `Codes` caches one layout: asking for another key (or another type) builds it afresh,
    /// uncached. `key` must determine the layout completely (same key ⇒ same `T` and bytes).
    pub fn scan_layout<T: Any + Send + Sync>(
        &self,
        key: u64,
        build: impl FnOnce(&Codes) -> T,
    ) -> Arc<T> {
        if let Some((k, any)) = self.layout.get() {
            if *k == key
                && let Ok(t) = Arc::clone(any).downcast::<T>()
            {
                return t;
            }
            return Arc::new(build(self));
        }
        let built: Arc<T> = Arc::new(build(self));
        let any: Arc<dyn Any + Send + Sync> = built.clone();
        let _ = self.layout.set((key, any));
        built
    }
    /// True when a scan layout is cached.
    pub fn has_scan_layout(&self) -> bool {
        self.layout.get().is_some()
    }
}

/// Per-query state (a rotated query, lookup tables…) that estimates the inner product
/// `⟨query, row⟩` from a row's code.
///
/// Estimates are f64 so that the `exact` oracle reproduces the f64 truth to rounding and its
/// rank metrics are exactly 1; fast kernels may compute in f32 and widen.
pub trait Scorer: Send + Sync {
    /// Estimate `⟨query, row⟩` from `code`.
    fn estimate(&self, code: &[u8]) -> f64;

    /// Estimate against every code; `out.len() == codes.len()`.
    fn estimate_all(&self, codes: &Codes, out: &mut [f64]) {
        for (o, c) in out.iter_mut().zip(codes.iter()) {
            *o = self.estimate(c);
        }
    }

    /// The k best rows by estimate (a search): by default [`Scorer::estimate_all`] into
    /// `scratch` (resized to `codes.len()`) then a [`TopK`] pass; a scorer may fuse the two but
    /// must return exactly the same pairs.
    fn top_k(&self, codes: &Codes, k: usize, scratch: &mut Vec<f64>) -> Vec<(f64, u32)> {
        scratch.resize(codes.len(), 0.0);
        self.estimate_all(codes, scratch);
        let mut top = TopK::new(k.min(codes.len()));
        for (i, &s) in scratch.iter().enumerate() {
            top.push(s, i as u32);
        }
        top.into_vec()
    }
}

/// The k best (score, row) pairs, best first, kept in a small sorted buffer as a FAISS search
/// keeps its heap: a row enters only when its score is strictly above the current k-th, so
/// among equal scores the earlier row wins.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    best: Vec<(f64, u32)>,
}

impl TopK {
    /// An empty buffer for `k` entries.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            best: Vec::with_capacity(k + 1),
        }
    }
    /// True when `score` would enter the buffer now.
    #[inline]
    pub fn admits(&self, score: f64) -> bool {
        self.best.len() < self.k || (self.k > 0 && score > self.best[self.k - 1].0)
    }
    /// Offer row `i` with `score`.
    #[inline]
    pub fn push(&mut self, score: f64, i: u32) {
        if !self.admits(score) {
            return;
        }
        if self.best.len() == self.k {
            self.best.pop();
        }
        let pos = self.best.partition_point(|&(b, _)| b >= score);
        self.best.insert(pos, (score, i));
    }
    /// True when full.
    pub fn is_full(&self) -> bool {
        self.best.len() == self.k
    }
    /// The current k-th score (None until full).
    pub fn kth(&self) -> Option<f64> {
        if self.k > 0 && self.is_full() {
            Some(self.best[self.k - 1].0)
        } else {
            None
        }
    }
    /// The pairs, best first.
    pub fn into_vec(self) -> Vec<(f64, u32)> {
        self.best
    }
}

/// A fitted vector codec. See `../shared/DESIGN.md` ("The Codec trait").
pub trait Codec: Send + Sync {
    /// The spec that builds this codec; its text form round-trips.
    fn spec(&self) -> CodecSpec;
    /// Row dimension.
    fn dim(&self) -> usize;
    /// What the code keeps: the spec's declared grade.
    fn grade(&self) -> Grade {
        self.spec().grade()
    }
    /// How the codec is built: the spec's declared family.
    fn family(&self) -> Family {
        self.spec().family()
    }
    /// Bytes per row, including per-row side scalars (scales, norms, correction factors): what
    /// the scorer reads, plus a decode-only scalar only where a parameter makes reconstruction
    /// part of the codec's use (`rabitq:dec=mse`).
    fn code_bytes(&self) -> usize;
    /// Bytes of shared state (codebooks, bases, rotation seeds), counted once per population
    /// (bits/dim amortises them over the population's rows before sampling).
    fn model_bytes(&self) -> usize;
    /// Encode one row (`row.len() == dim`) into `out` (`out.len() == code_bytes`).
    fn encode(&self, row: &[f32], out: &mut [u8]);

    /// Encode every row, in parallel; the result does not depend on the thread count and
    /// equals [`Codec::encode`] row by row (rotation codecs override it to rotate a block of
    /// rows at once, bit-identically).
    fn encode_all(&self, rows: &Rows) -> Codes {
        let stride = self.code_bytes();
        let mut data = vec![0u8; stride * rows.len()];
        data.par_chunks_mut(stride)
            .zip(rows.as_slice().par_chunks(rows.dim()))
            .for_each(|(out, row)| self.encode(row, out));
        Codes::new(stride, data)
    }

    /// Build whatever auxiliary scan layout this codec's scorers use on `codes` (e.g. PQ
    /// FastScan's transposed 32-row blocks) now rather than on the first scan; `codecbench speed`
    /// and `compare-peers` count it as encode time. Default: nothing to build.
    fn prepare_scan(&self, _codes: &Codes) {}

    /// Reconstruct a row; signature codecs return `Unsupported`.
    fn decode(&self, _code: &[u8], _out: &mut [f32]) -> Result<()> {
        Err(self.unsupported("decode"))
    }

    /// Reconstruct every code into one row-major `codes.len() × dim` buffer, in parallel; the
    /// same values as [`Codec::decode`] row by row (rotation codecs override it to rotate a
    /// block of rows back at once).
    fn decode_all(&self, codes: &Codes) -> Result<Vec<f32>> {
        decode_blocks(codes, self.dim(), |block, out| {
            for (code, row) in block
                .chunks_exact(codes.code_bytes())
                .zip(out.chunks_exact_mut(self.dim().max(1)))
            {
                self.decode(code, row)?;
            }
            Ok(())
        })
    }

    /// True when [`Codec::decode`] is supported: the spec's declared capability.
    fn can_decode(&self) -> bool {
        self.spec().capabilities().decodes
    }

    /// Per-query scorer for asymmetric estimates (exact query vs code).
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a>;

    /// The scorers of many queries (row-major, `dim` values each), in order: the same as
    /// [`Codec::scorer`] query by query (rotation codecs override it to rotate the queries as
    /// one block).
    fn scorers<'a>(&'a self, queries: &Rows) -> Vec<Box<dyn Scorer + 'a>> {
        queries.iter().map(|q| self.scorer(q)).collect()
    }

    /// Symmetric estimate of `⟨a, b⟩` with both rows encoded; default Unsupported.
    fn pair(&self, _a: &[u8], _b: &[u8]) -> Result<f64> {
        Err(self.unsupported("symmetric (code-vs-code) scoring"))
    }

    /// [`Codec::pair`] of `a` against every code: `out[j] = pair(a, codes[j])`, the same
    /// numbers (a codec may prepare `a` once and interleave codes).
    fn pair_all(&self, a: &[u8], codes: &Codes, out: &mut [f64]) -> Result<()> {
        for (o, b) in out.iter_mut().zip(codes.iter()) {
            *o = self.pair(a, b)?;
        }
        Ok(())
    }

    /// True when [`Codec::pair`] is supported: the spec's declared capability.
    fn can_pair(&self) -> bool {
        self.spec().capabilities().pairs
    }

    /// True when [`Codec::pair`] is exactly `dot_f64(decode(a), decode(b))`: the pair probe then
    /// decodes every code once instead of twice per pair (same numbers, n + q decodes instead of
    /// 2·n·q). The spec's declared capability.
    fn pair_is_decoded_dot(&self) -> bool {
        self.spec().capabilities().pair_is_decoded_dot
    }

    /// The error for an unsupported operation.
    fn unsupported(&self, operation: &'static str) -> Error {
        Error::Unsupported {
            codec: self.spec().to_string(),
            operation,
        }
    }
}

/// Rows per block of a blockwise encode or decode ([`encode_blocks`], [`decode_blocks`]): a
/// rotation codec multiplies a block by its dense matrix at once ([`crate::linalg::dense`]).
/// Fixed, so the blocks never depend on the thread count (the kernels are bit-identical to the
/// per-row products anyway).
pub const BLOCK_ROWS: usize = 256;

/// Encode `rows` in blocks of [`BLOCK_ROWS`], in parallel: `encode_block(rows, codes)` writes
/// the codes (`stride` bytes each) of a block's rows (row-major).
pub(crate) fn encode_blocks(
    rows: &Rows,
    stride: usize,
    encode_block: impl Fn(&[f32], &mut [u8]) + Sync,
) -> Codes {
    let dim = rows.dim().max(1);
    let mut data = vec![0u8; stride * rows.len()];
    data.par_chunks_mut(stride * BLOCK_ROWS)
        .zip(rows.as_slice().par_chunks(dim * BLOCK_ROWS))
        .for_each(|(out, block)| encode_block(block, out));
    Codes::new(stride, data)
}

/// Decode `codes` in blocks of [`BLOCK_ROWS`], in parallel, into one row-major buffer:
/// `decode_block(codes, rows)` writes a block's rows of `dim` values.
pub(crate) fn decode_blocks(
    codes: &Codes,
    dim: usize,
    decode_block: impl Fn(&[u8], &mut [f32]) -> Result<()> + Sync,
) -> Result<Vec<f32>> {
    let mut out = vec![0f32; codes.len() * dim];
    out.par_chunks_mut(dim.max(1) * BLOCK_ROWS)
        .zip(codes.as_bytes().par_chunks(codes.code_bytes() * BLOCK_ROWS))
        .try_for_each(|(rows, block)| decode_block(block, rows))?;
    Ok(out)
}

/// `f` (a linear map of rows of `d_in` values to rows of `d_out`, bit-identical row by row,
/// such as [`crate::linalg::Rotation::apply_rows_f64`]) applied to the f64 copies of `rows`, in
/// blocks of [`BLOCK_ROWS`] in parallel: n × `d_out` values.
pub(crate) fn map_rows(
    rows: &Rows,
    d_out: usize,
    f: impl Fn(&[f64], &mut [f64]) + Sync,
) -> Vec<f64> {
    let d_in = rows.dim().max(1);
    let mut out = vec![0f64; rows.len() * d_out];
    out.par_chunks_mut((d_out * BLOCK_ROWS).max(1))
        .zip(rows.as_slice().par_chunks(d_in * BLOCK_ROWS))
        .for_each(|(y, x)| {
            let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            f(&x64, y);
        });
    out
}

/// `Σ a_i b_i` accumulated in f64 (the plain reference every fast path is checked against).
pub(crate) fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}
