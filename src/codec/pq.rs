// Method: H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest neighbor search",
// IEEE TPAMI 33(1), 2011 (asymmetric distance computation, ADC); as FAISS `IndexPQ`
// (`PQ{M}x{nbits}`). `scan=fast`: F. André, A.-M. Kermarrec, N. Le Scouarnec, "Cache locality is
// not enough: high-performance nearest neighbor search with product quantization fast scan",
// VLDB 2015; as FAISS `IndexPQFastScan` (`PQ{M}x4fs`). See `../shared/reference/algorithms.md`
// §1.7.

//! `pq`: product quantization with per-subspace k-means and ADC lookup tables.
//!
//! The d coordinates are split into m contiguous sub-vectors; sub-vector j covers
//! `[⌊j·d/m⌋, ⌊(j+1)·d/m⌋)` (a documented **uneven split** when m does not divide d: sizes
//! differ by at most one). `m=d/N` asks for ⌈d/N⌉ sub-vectors of about N dims, so one spec
//! fits every population dimension. m > d is a `BadParam` error.
//!
//! Each subspace gets its own k-means (K = 2^nbits centroids, k-means++ seeding, ≤ 25 Lloyd
//! iterations, ChaCha8 streams from the fit seed) on at most 64·K training rows (a seeded
//! subsample; FAISS subsamples at 256·K and warns below 39·K). **Fewer training rows than K is
//! an error** (`BadParam` on `nbits`), never a silently degenerate codebook. (If the training
//! rows themselves hold fewer than K distinct sub-vectors, k-means++ must repeat points; the
//! repeated centroids are never the unique nearest one, so they only waste code space.)
//!
//! Scoring is ADC: per query an m × K table of ⟨q_j, c_{j,k}⟩ (f64), summed over the m codes;
//! it equals ⟨q, decode(code)⟩ up to rounding. Decode concatenates the chosen centroids.
//!
//! `scan=fast` (nbits = 4 only; `BadParam` otherwise) keeps the same codebooks and codes and
//! changes only the scorer, as FAISS's `PQ{M}x4fs`: per query the f32 ADC table is quantized to
//! u8 (one shared scale a, a per-sub-quantizer bias; u16 row sums that cannot overflow) and
//! `estimate_all` sums it with AVX2 `vpshufb` over 32-row transposed blocks built once per
//! [`Codes`] ([`Codes::scan_layout`], [`Codec::prepare_scan`]). The estimate is within m/(2a)
//! of the f32-table ADC sum; `estimate` (scalar, row-major code) and `estimate_all` give
//! identical values. The rule, the bound and the layout are in [`crate::linalg::fastscan`].
//!
//! Bytes: code = ⌈m·nbits/8⌉; model = 4·K·d (all centroids as f32).

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, RandomFit, ZeroRow, bytes,
    total,
};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Codes, Family, Grade, Scorer, TopK, encode_blocks};
use crate::data::Rows;
use crate::error::{Error, Result};
use crate::linalg::kmeans::{KMeans, nearest_cols};
use crate::linalg::{bits, fastscan, sample_indices, scan, seeded_rng};

use rayon::prelude::*;
use std::fmt;
use std::sync::Arc;

/// ChaCha8 stream of the training subsample; subspace j uses stream `STREAM_PQ_SUB + j`.
const STREAM_PQ_SAMPLE: u64 = 0x5051_0000;
const STREAM_PQ_SUB: u64 = 0x5051_0001;
/// Lloyd iterations per subspace.
pub const PQ_ITERS: usize = 25;
/// Training rows used per centroid at most.
pub const PQ_MAX_PER_CENTROID: usize = 64;

/// How many sub-vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PqM {
    /// Exactly m sub-vectors.
    Fixed(usize),
    /// ⌈d/N⌉ sub-vectors of about N dims (`m=d/N`).
    PerDims(usize),
}

impl PqM {
    /// m for rows of `dim` values.
    pub fn resolve(self, dim: usize) -> usize {
        match self {
            PqM::Fixed(m) => m,
            PqM::PerDims(n) => dim.div_ceil(n),
        }
    }
}

impl fmt::Display for PqM {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PqM::Fixed(m) => write!(f, "{m}"),
            PqM::PerDims(n) => write!(f, "d/{n}"),
        }
    }
}

/// How queries are scored against codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PqScan {
    /// ADC with f32 tables (`scan=adc`, the default).
    #[default]
    Adc,
    /// FastScan: u8 tables, u16 sums, SIMD shuffles over 32-row blocks (`scan=fast`, nbits = 4).
    Fast,
}

impl fmt::Display for PqScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PqScan::Adc => "adc",
            PqScan::Fast => "fast",
        })
    }
}

/// Parameters of [`PqCodec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PqParams {
    /// Sub-vectors.
    pub m: PqM,
    /// Bits per sub-vector code (K = 2^nbits centroids).
    pub nbits: u32,
    /// The scorer (same codebooks and codes either way).
    pub scan: PqScan,
}

impl Default for PqParams {
    fn default() -> Self {
        PqParams {
            m: PqM::PerDims(2),
            nbits: 4,
            scan: PqScan::Adc,
        }
    }
}

impl PqParams {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = PqParams::default();
        if let Some(v) = raw.take("m") {
            let parsed = match v.strip_prefix("d/") {
                Some(n) => n
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .map(PqM::PerDims),
                None => v.parse::<usize>().ok().filter(|&m| m >= 1).map(PqM::Fixed),
            };
            p.m = parsed.ok_or_else(|| raw.bad("m", &v, "an integer ≥ 1 or d/N (N ≥ 1)"))?;
        }
        if let Some(v) = raw.take("nbits") {
            p.nbits = match v.parse::<u32>() {
                Ok(b) if (1..=8).contains(&b) => b,
                _ => return Err(raw.bad("nbits", &v, "an integer in 1..=8")),
            };
        }
        if let Some(v) = raw.take("scan") {
            p.scan = match v.as_str() {
                "adc" => PqScan::Adc,
                "fast" => PqScan::Fast,
                _ => return Err(raw.bad("scan", &v, "adc or fast")),
            };
        }
        if p.scan == PqScan::Fast && p.nbits != 4 {
            return Err(raw.bad(
                "scan",
                "fast",
                "scan=fast only with nbits=4 (FastScan looks up 4-bit codes in 16-entry tables)",
            ));
        }
        Ok(p)
    }
}

impl fmt::Display for PqParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={},nbits={}", self.m, self.nbits)?;
        if self.scan != PqScan::Adc {
            write!(f, ",scan={}", self.scan)?;
        }
        Ok(())
    }
}

/// A fitted product quantizer.
#[derive(Debug, Clone)]
pub struct PqCodec {
    params: PqParams,
    dim: usize,
    /// Sub-vector boundaries, m + 1 entries.
    bounds: Vec<usize>,
    /// One codebook per subspace (`K × dsub_j`).
    books: Vec<KMeans>,
    /// The same codebooks by coordinate (`dsub_j × K`), for the encoder's side-by-side
    /// distances ([`nearest_cols`]).
    cols: Vec<Vec<f32>>,
}

impl PqCodec {
    /// Fit the m codebooks on `train` with randomness from `seed`.
    pub fn fit(params: &PqParams, train: &Rows, seed: u64) -> Result<Self> {
        let d = train.dim();
        let m = params.m.resolve(d);
        let k = 1usize << params.nbits;
        let bad = |key: &str, value: String, expected: String| Error::BadParam {
            codec: "pq".to_string(),
            key: key.to_string(),
            value,
            expected,
        };
        if m > d {
            return Err(bad(
                "m",
                params.m.to_string(),
                format!("at most d = {d} sub-vectors"),
            ));
        }
        if params.scan == PqScan::Fast && (params.nbits != 4 || m >= 65535) {
            return Err(bad(
                "scan",
                "fast".to_string(),
                "scan=fast only with nbits=4 and m < 65535".to_string(),
            ));
        }
        if train.len() < k {
            return Err(bad(
                "nbits",
                params.nbits.to_string(),
                format!(
                    "2^nbits ≤ the {} training rows (k-means needs at least K points)",
                    train.len()
                ),
            ));
        }
        let cap = PQ_MAX_PER_CENTROID * k;
        let idx = sample_indices(train.len(), cap, &mut seeded_rng(seed, STREAM_PQ_SAMPLE));
        let bounds: Vec<usize> = (0..=m).map(|j| j * d / m).collect();
        let books: Vec<KMeans> = (0..m)
            .into_par_iter()
            .map(|j| {
                let (a, b) = (bounds[j], bounds[j + 1]);
                let mut pts = Vec::with_capacity(idx.len() * (b - a));
                for &i in &idx {
                    pts.extend_from_slice(&train.row(i)[a..b]);
                }
                KMeans::fit(
                    &pts,
                    b - a,
                    k,
                    PQ_ITERS,
                    &mut seeded_rng(seed, STREAM_PQ_SUB + j as u64),
                )
            })
            .collect();
        let cols = books
            .iter()
            .map(|b| {
                let k = b.k();
                (0..b.dim * k)
                    .map(|i| b.centroids[(i % k) * b.dim + i / k])
                    .collect()
            })
            .collect();
        Ok(PqCodec {
            params: *params,
            dim: d,
            bounds,
            books,
            cols,
        })
    }

    /// Codes of a block of rows: per subspace the nearest centroid ([`nearest`]'s index,
    /// computed against all centroids side by side).
    fn encode_block(&self, rows: &[f32], out: &mut [u8]) {
        let stride = self.code_bytes();
        let k = self.books.iter().map(KMeans::k).max().unwrap_or(1);
        let mut scratch = vec![0f64; 9 * k];
        let mut c = vec![0u8; self.books.len()];
        for (row, code) in rows
            .chunks_exact(self.dim.max(1))
            .zip(out.chunks_exact_mut(stride))
        {
            for (j, (ci, (book, cols))) in c
                .iter_mut()
                .zip(self.books.iter().zip(&self.cols))
                .enumerate()
            {
                let sub = &row[self.bounds[j]..self.bounds[j + 1]];
                *ci = nearest_cols(sub, cols, book.k(), &mut scratch).0 as u8;
            }
            bits::pack(&c, self.params.nbits, code);
        }
    }

    /// Number of sub-vectors.
    pub fn m(&self) -> usize {
        self.books.len()
    }

    /// Sub-vector boundaries (m + 1 offsets).
    pub fn bounds(&self) -> &[usize] {
        &self.bounds
    }

    /// The codebook of subspace `j`.
    pub fn codebook(&self, j: usize) -> &KMeans {
        &self.books[j]
    }

    /// The m sub-codes of a code.
    pub fn sub_codes(&self, code: &[u8]) -> Vec<u8> {
        let mut c = vec![0u8; self.m()];
        bits::unpack(code, self.params.nbits, &mut c);
        c
    }

    /// The ADC table for `query`: entry `j·K + c` = ⟨q_j, centroid c of subspace j⟩.
    pub fn adc_table(&self, query: &[f32]) -> Vec<f64> {
        let k = 1usize << self.params.nbits;
        let mut t = vec![0f64; self.m() * k];
        for (j, book) in self.books.iter().enumerate() {
            let q = &query[self.bounds[j]..self.bounds[j + 1]];
            for c in 0..k {
                t[j * k + c] = super::dot_f64(q, book.centroid(c));
            }
        }
        t
    }

    /// The ADC table as the scorers hold it (f64 entries rounded to f32).
    pub fn adc_table_f32(&self, query: &[f32]) -> Vec<f32> {
        let mut t = Vec::with_capacity(self.m() << self.params.nbits);
        for (j, book) in self.books.iter().enumerate() {
            let q = &query[self.bounds[j]..self.bounds[j + 1]];
            t.extend(
                book.centroids
                    .chunks_exact(book.dim)
                    .map(|c| super::dot_f64(q, c) as f32),
            );
        }
        debug_assert_eq!(t.len(), self.m() << self.params.nbits);
        t
    }

    /// The FastScan u8 tables of `query` (`scan=fast`; nbits must be 4): the f32 ADC table
    /// quantized by [`fastscan::quantize_lut`].
    pub fn fast_lut(&self, query: &[f32]) -> fastscan::QuantLut {
        assert_eq!(self.params.nbits, 4, "fast_lut: nbits must be 4");
        fastscan::quantize_lut(&self.adc_table_f32(query), self.m())
    }

    /// The FastScan blocks of `codes`, built once per `Codes` and cached beside them.
    fn fast_blocks(&self, codes: &Codes) -> Arc<fastscan::Blocks> {
        let m = self.m();
        codes.scan_layout(FAST_LAYOUT_KEY ^ m as u64, |c| {
            fastscan::pack_blocks(c.as_bytes(), c.code_bytes(), m)
        })
    }
}

/// Key of the FastScan layout in [`Codes::scan_layout`] (xor m).
const FAST_LAYOUT_KEY: u64 = 0x5051_3446_5300_0000;

/// `scan=fast`: the quantized tables of one query; `estimate_all` runs the SIMD block scan over
/// the cached layout, `estimate` the scalar sum of the same u8 table (identical u16 sums).
struct PqFastScorer<'a> {
    codec: &'a PqCodec,
    lut: fastscan::QuantLut,
}

impl Scorer for PqFastScorer<'_> {
    /// `Σ_j q_j[k_j] / a + Σ_j min_j`: within m/(2a) of the f32-table ADC sum (see
    /// [`fastscan`]).
    fn estimate(&self, code: &[u8]) -> f64 {
        self.lut.value(fastscan::sum_code(&self.lut, code))
    }

    fn estimate_all(&self, codes: &Codes, out: &mut [f64]) {
        let blocks = self.codec.fast_blocks(codes);
        fastscan::scan(&self.lut, &blocks, out);
    }

    /// Fused with the block scan: a row's f64 estimate is formed only when its u16 sum is above
    /// the largest sum whose value does not beat the current k-th (`value` is non-decreasing in
    /// the sum, so such rows cannot enter), then offered to the same [`TopK`] as the default:
    /// identical result.
    fn top_k(&self, codes: &Codes, k: usize, _scratch: &mut Vec<f64>) -> Vec<(f64, u32)> {
        let blocks = self.codec.fast_blocks(codes);
        let mut top = TopK::new(k.min(codes.len()));
        // Once full: the largest sum whose value does not beat the k-th (rows at or below it
        // cannot enter).
        let mut floor: Option<u16> = None;
        let mut sums = [0u16; fastscan::BLOCK];
        for b in 0..blocks.blocks() {
            fastscan::block_sums(&self.lut.lut, blocks.block(b), &mut sums);
            let r0 = b * fastscan::BLOCK;
            let rows = (blocks.n - r0).min(fastscan::BLOCK);
            for (i, &s) in sums[..rows].iter().enumerate() {
                if floor.is_some_and(|f| s <= f) {
                    continue;
                }
                top.push(self.lut.value(s), (r0 + i) as u32);
                if let Some(t) = top.kth() {
                    floor = Some(self.lut.sum_floor(t));
                }
            }
        }
        top.into_vec()
    }
}

struct PqScorer {
    k: usize,
    nbits: u32,
    m: usize,
    /// The ADC table ⟨q_j, c_{j,k}⟩ (computed in f64, stored as f32), `m × k`.
    table: Vec<f32>,
}

impl PqScorer {
    /// Σ_j table[j][k_j] in f32 in the fixed 8-lane order of [`scan::lut_sum8`] (AVX2 gathers
    /// for nbits = 8 and 4, bit-identical to the scalar references; the same order with
    /// [`bits::get`] for other widths).
    #[inline]
    fn sum(&self, code: &[u8]) -> f32 {
        match self.nbits {
            8 => scan::lut_sum8(&self.table, code, self.m),
            4 => scan::lut_sum4(&self.table, code, self.m),
            b => scan::lanes8_sum(self.m, |j| {
                self.table[j * self.k + bits::get(code, b, j) as usize]
            }),
        }
    }
}

impl Scorer for PqScorer {
    /// Asymmetric distance computation: one table lookup per sub-quantizer, summed in f32
    /// (within [`crate::linalg::scan`]'s stated bound of the f64 sum of the f64 table).
    fn estimate(&self, code: &[u8]) -> f64 {
        self.sum(code) as f64
    }
}

/// The `pq` declaration (see [`CodecDecl`]).
pub struct PqDecl;

impl CodecDecl for PqDecl {
    type Params = PqParams;
    const INFO: CodecInfo = CodecInfo {
        name: "pq",
        summary: "product quantization: m sub-vectors (uneven split when m ∤ d), k-means++ codebook of 2^nbits per subspace, ADC lookup tables; ⌈m·nbits/8⌉ bytes; model 4·2^nbits·d bytes; error if training rows < 2^nbits (= FAISS IndexPQ PQ{m}x{nbits} byte for byte, per row and in the codebooks; scan=fast = PQ{m}x4fs, whose 32-row blocks only pad the row count)",
        reference: "Jégou, Douze, Schmid, Product quantization, TPAMI 2011; FAISS IndexPQ (algorithms.md §1.7)",
        grade: Grade::Reconstruction,
        family: Family::PaletteLeaf,
        params: &[
            ParamInfo {
                key: "m",
                values: "integer ≥ 1 | d/N",
                default: "d/2",
                doc: "number of sub-vectors, or d/N for ⌈d/N⌉ sub-vectors of about N dims",
            },
            ParamInfo {
                key: "nbits",
                values: "1..=8",
                default: "4",
                doc: "bits per sub-vector code (2^nbits centroids)",
            },
            ParamInfo {
                key: "scan",
                values: "adc | fast",
                default: "adc",
                doc: "scorer: adc = f32 tables; fast = FastScan (FAISS PQ{m}x4fs: u8 tables, u16 sums, AVX2 shuffles over 32-row blocks; nbits=4 only; same codes)",
            },
        ],
    };
    fn parse(raw: &mut RawParams) -> Result<PqParams> {
        PqParams::from_raw(raw)
    }
    fn fit(p: &PqParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(PqCodec::fit(p, train, seed)?))
    }
    /// Every sub-vector's k-means at once (they run in parallel): its training points (at most
    /// 64·2^nbits rows of ⌈d/m⌉ values) and workspace, the codebooks included, plus the
    /// codebooks' by-coordinate copy the encoder reads (2^nbits × ⌈d/m⌉ f32 per sub-vector).
    fn fit_bytes(p: &PqParams, train_rows: usize, dim: usize) -> u64 {
        let m = p.m.resolve(dim).max(1);
        let k = 1usize << p.nbits;
        let rows = train_rows.min(PQ_MAX_PER_CENTROID.saturating_mul(k));
        let width = dim.div_ceil(m).max(1);
        let sub = total(&[
            bytes(rows, 4).saturating_mul(width as u64),
            KMeans::fit_bytes(rows, width, k, PQ_ITERS),
        ]);
        total(&[
            FIT_BYTES_FIXED,
            bytes(rows, 8),
            sub.saturating_mul(m as u64),
            bytes(m, 64),
            bytes(k, 4)
                .saturating_mul(width as u64)
                .saturating_mul(m as u64),
        ])
    }
    fn capabilities(p: &PqParams) -> Capabilities {
        Capabilities {
            zero_row: ZeroRow::Trained,
            random_fit: RandomFit::Always,
            min_train_rows: 1 << p.nbits,
            ..Capabilities::RECONSTRUCTION
        }
    }
}

impl Codec for PqCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Pq(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        bits::packed_len(self.m(), self.params.nbits)
    }
    fn model_bytes(&self) -> usize {
        4 * (1usize << self.params.nbits) * self.dim
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        self.encode_block(row, out);
    }
    fn encode_all(&self, rows: &Rows) -> Codes {
        encode_blocks(rows, self.code_bytes(), |r, o| self.encode_block(r, o))
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) -> Result<()> {
        for (j, &c) in self.sub_codes(code).iter().enumerate() {
            out[self.bounds[j]..self.bounds[j + 1]]
                .copy_from_slice(self.books[j].centroid(c as usize));
        }
        Ok(())
    }
    fn prepare_scan(&self, codes: &Codes) {
        if self.params.scan == PqScan::Fast {
            self.fast_blocks(codes);
        }
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        if self.params.scan == PqScan::Fast {
            return Box::new(PqFastScorer {
                codec: self,
                lut: self.fast_lut(query),
            });
        }
        Box::new(PqScorer {
            k: 1usize << self.params.nbits,
            nbits: self.params.nbits,
            m: self.m(),
            table: self.adc_table(query).iter().map(|&v| v as f32).collect(),
        })
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        let (ca, cb) = (self.sub_codes(a), self.sub_codes(b));
        Ok((0..self.m())
            .map(|j| {
                super::dot_f64(
                    self.books[j].centroid(ca[j] as usize),
                    self.books[j].centroid(cb[j] as usize),
                )
            })
            .sum())
    }
}
