// Paper: Amir Zandieh, Majid Daliri, Insu Han, "QJL: 1-Bit Quantized JL Transform for KV Cache
// Quantization with Zero Overhead", arXiv:2406.03482 (AAAI 2025).

//! `qjl`: the Quantized Johnson–Lindenstrauss sketch (`../shared/reference/algorithms.md` §1.2).
//!
//! A shared S ∈ R^{m×d} is drawn once; a row k is stored as the m bits sign(S·k) plus ‖k‖. The
//! asymmetric estimate of ⟨q, k⟩ (query unquantized) is the paper's unbiased estimator
//! `scale · ‖k‖ · ⟨S·q, sign(S·k)⟩` (Lemma 3.2). Two projection families (`proj=`):
//!
//! - `gauss`: iid N(0, 1) entries, `scale = √(π/2)/m` (the paper's analysis). Each term has
//!   E[z²] = (π/2)‖q‖²‖k‖², so Var = ((π/2)‖q‖²‖k‖² − ⟨q,k⟩²)/m.
//! - `orth`: rows orthogonalised by QR ("almost always improves", §4.1): blocks of ⌈m/d⌉
//!   independent Haar d×d matrices scaled by √d, so each row is uniform on the sphere of radius
//!   √d. Then E[(s·q)·sign(s·k)] = √d·E|θ₁|·⟨q, k/‖k‖⟩ with E|θ₁| = Γ(d/2)/(√π Γ((d+1)/2)), and
//!   the exact unbiased scale is `1/(m·√d·E|θ₁|)` (→ √(π/2)/m as d grows; at m = d the
//!   normalised error d·E[err²] drops from π/2 to ≈ π/2 − 1).
//!
//! There is no decode (a sign sketch is not a reconstruction). `pair` (both sides sketched) is
//! the SimHash angle estimate ‖a‖‖b‖·cos(π·h/m) with h the Hamming distance, which is biased for
//! inner products, as the paper notes.
//!
//! Bytes: code = 4 (‖k‖ as f32) + ⌈m/8⌉; model = 8 (S is regenerated from the fit seed, ChaCha8
//! stream [`STREAM_SKETCH`]; stored dense it would be m·d·4 bytes).

use super::decl::{
    Capabilities, CodecDecl, CodecInfo, FIT_BYTES_FIXED, ParamInfo, RandomFit, bytes, total,
};
use super::fields::{f32_at, put_f32};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Codes, Family, Grade, Scorer, encode_blocks, map_rows};
use crate::data::Rows;
use crate::error::Result;
use crate::linalg::rotation::haar_orthogonal;
use crate::linalg::{
    Rotation, RotationKind, STREAM_SKETCH, bits, dot, norm_f32, seeded_rng, sphere_abs_mean,
};
use rand::Rng;
use rand_distr::StandardNormal;
use std::fmt;

/// Sketch length m.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SketchLen {
    /// m = d (the row dimension; TurboQuant's setting).
    #[default]
    Dim,
    /// A fixed m ≥ 1.
    Fixed(usize),
}

impl SketchLen {
    /// m for rows of `dim` values.
    pub fn resolve(self, dim: usize) -> usize {
        match self {
            SketchLen::Dim => dim.max(1),
            SketchLen::Fixed(m) => m,
        }
    }
}

impl fmt::Display for SketchLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SketchLen::Dim => f.write_str("dim"),
            SketchLen::Fixed(m) => write!(f, "{m}"),
        }
    }
}

/// Projection family of S.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Projection {
    /// iid N(0, 1) entries.
    #[default]
    Gauss,
    /// Rows from Haar orthogonal blocks, scaled by √d.
    Orth,
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Projection::Gauss => "gauss",
            Projection::Orth => "orth",
        })
    }
}

/// Parameters of [`QjlCodec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QjlParams {
    /// Sketch length.
    pub m: SketchLen,
    /// Projection family.
    pub proj: Projection,
}

/// Largest accepted fixed m.
pub const MAX_SKETCH: usize = 1 << 16;

impl QjlParams {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = QjlParams::default();
        if let Some(v) = raw.take("m") {
            p.m = if v == "dim" {
                SketchLen::Dim
            } else {
                match v.parse::<usize>() {
                    Ok(m) if (1..=MAX_SKETCH).contains(&m) => SketchLen::Fixed(m),
                    _ => return Err(raw.bad("m", &v, "`dim` or an integer in 1..=65536")),
                }
            };
        }
        if let Some(v) = raw.take("proj") {
            p.proj = match v.as_str() {
                "gauss" => Projection::Gauss,
                "orth" => Projection::Orth,
                _ => return Err(raw.bad("proj", &v, "gauss | orth")),
            };
        }
        Ok(p)
    }
}

impl fmt::Display for QjlParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={},proj={}", self.m, self.proj)
    }
}

/// A QJL sign sketch S (m × d) with its unbiased scale; shared with `tq-prod`.
#[derive(Debug, Clone)]
pub struct Sketch {
    m: usize,
    dim: usize,
    s: Vec<f64>,
    scale: f64,
}

impl Sketch {
    /// Draw S for `proj` from `rng`.
    pub fn new(m: usize, dim: usize, proj: Projection, rng: &mut impl Rng) -> Self {
        let (m, dim) = (m.max(1), dim.max(1));
        let (s, scale) = match proj {
            Projection::Gauss => {
                let s = (0..m * dim).map(|_| rng.sample(StandardNormal)).collect();
                (s, (std::f64::consts::FRAC_PI_2).sqrt() / m as f64)
            }
            Projection::Orth => {
                let root = (dim as f64).sqrt();
                let mut s = Vec::with_capacity(m * dim);
                while s.len() < m * dim {
                    let block = haar_orthogonal(dim, rng);
                    let take = (m * dim - s.len()).min(dim * dim);
                    s.extend(block[..take].iter().map(|v| v * root));
                }
                (s, 1.0 / (m as f64 * root * sphere_abs_mean(dim)))
            }
        };
        Sketch { m, dim, s, scale }
    }

    /// Sketch length m.
    pub fn m(&self) -> usize {
        self.m
    }
    /// The constant c of `est = c·‖k‖·⟨S q, sign(S k)⟩`.
    pub fn scale(&self) -> f64 {
        self.scale
    }
    /// S as an m × d row-major matrix.
    pub fn matrix(&self) -> &[f64] {
        &self.s
    }
    /// Bytes of the packed signs.
    pub fn code_len(&self) -> usize {
        self.m.div_ceil(8)
    }

    /// `out = S·x` (`out.len() == m`).
    pub fn project(&self, x: &[f64], out: &mut [f64]) {
        for (o, row) in out.iter_mut().zip(self.s.chunks_exact(self.dim)) {
            *o = dot(row, x);
        }
    }

    /// Pack sign(S·x) (bit set ⇔ positive; a zero projection counts as negative) into `out`.
    pub fn encode_signs(&self, x: &[f64], out: &mut [u8]) {
        let mut proj = vec![0f64; self.m];
        self.project(x, &mut proj);
        bits::pack_signs(proj.iter().map(|&v| v > 0.0), out);
    }

    /// `S·x_r` for a block of rows `x` (n × d) into `out` (n × m): [`Sketch::project`] row by
    /// row, bit for bit.
    pub fn project_rows(&self, x: &[f64], out: &mut [f64]) {
        if x.len() >= 4 * self.dim {
            crate::linalg::dense::apply_rows(&self.s, self.dim, x, out);
        } else {
            for (xr, o) in x.chunks_exact(self.dim).zip(out.chunks_exact_mut(self.m)) {
                self.project(xr, o);
            }
        }
    }

    /// Pack sign(S·x_r) of a block of rows `x` (n × d) into `out[r·stride + offset..]`: the
    /// block projected at once ([`crate::linalg::dense::apply_rows`]), bit-identical to
    /// [`Sketch::encode_signs`] row by row.
    pub fn encode_signs_rows(&self, x: &[f64], out: &mut [u8], stride: usize, offset: usize) {
        // At most 8 MiB of projections at a time (m can be 65536 for a narrow row).
        let rows = ((8 << 20) / (8 * self.m)).max(4);
        let len = self.code_len();
        let mut proj = vec![0f64; rows.min(x.len() / self.dim) * self.m];
        for (xc, oc) in x.chunks(rows * self.dim).zip(out.chunks_mut(rows * stride)) {
            let proj = &mut proj[..xc.len() / self.dim * self.m];
            self.project_rows(xc, proj);
            for (pr, o) in proj.chunks_exact(self.m).zip(oc.chunks_exact_mut(stride)) {
                bits::pack_signs(pr.iter().map(|&v| v > 0.0), &mut o[offset..offset + len]);
            }
        }
    }

    /// `Sᵀ·z_r` for the packed signs at `codes[r·stride + offset..]` of a block of codes
    /// (n × d out), bit-identical to [`Sketch::transpose_signs`] code by code.
    pub fn transpose_signs_rows(&self, codes: &[u8], stride: usize, offset: usize) -> Vec<f64> {
        let n = codes.len() / stride;
        let mut z = vec![0f64; n * self.m];
        for (zr, code) in z.chunks_exact_mut(self.m).zip(codes.chunks_exact(stride)) {
            for (i, v) in zr.iter_mut().enumerate() {
                *v = if bits::bit(&code[offset..], i) {
                    1.0
                } else {
                    -1.0
                };
            }
        }
        let mut out = vec![0f64; n * self.dim];
        crate::linalg::dense::apply_transpose_rows(&self.s, self.dim, &z, &mut out);
        out
    }

    /// `⟨S·q, z⟩` for z = ±1 from the packed signs, given `sq = S·q`.
    pub fn correlate(&self, sq: &[f64], signs: &[u8]) -> f64 {
        sq.iter()
            .enumerate()
            .map(|(i, &v)| if bits::bit(signs, i) { v } else { -v })
            .sum()
    }

    /// `out = Sᵀ·z` for z = ±1 from the packed signs (`out.len() == d`).
    pub fn transpose_signs(&self, signs: &[u8], out: &mut [f64]) {
        out.fill(0.0);
        for (i, row) in self.s.chunks_exact(self.dim).enumerate() {
            let z = if bits::bit(signs, i) { 1.0 } else { -1.0 };
            crate::linalg::axpy(z, row, out);
        }
    }
}

/// QJL: sign sketch plus norm.
#[derive(Debug, Clone)]
pub struct QjlCodec {
    params: QjlParams,
    dim: usize,
    sketch: Sketch,
}

impl QjlCodec {
    /// Draw S from `seed` (ChaCha8 stream [`STREAM_SKETCH`]).
    pub fn fit(params: &QjlParams, dim: usize, seed: u64) -> Self {
        let m = params.m.resolve(dim);
        let sketch = Sketch::new(m, dim, params.proj, &mut seeded_rng(seed, STREAM_SKETCH));
        QjlCodec {
            params: *params,
            dim,
            sketch,
        }
    }

    /// The sketch.
    pub fn sketch(&self) -> &Sketch {
        &self.sketch
    }
}

impl QjlCodec {
    /// Codes of a block of rows: ‖x‖, then sign(S·x) (the block projected at once).
    fn encode_block(&self, rows: &[f32], out: &mut [u8]) {
        let stride = self.code_bytes();
        for (row, o) in rows
            .chunks_exact(self.dim)
            .zip(out.chunks_exact_mut(stride))
        {
            put_f32(o, 0, norm_f32(row) as f32);
        }
        let x: Vec<f64> = rows.iter().map(|&v| v as f64).collect();
        self.sketch.encode_signs_rows(&x, out, stride, 4);
    }
}

struct QjlScorer<'a> {
    codec: &'a QjlCodec,
    sq: Vec<f64>,
}

impl Scorer for QjlScorer<'_> {
    fn estimate(&self, code: &[u8]) -> f64 {
        let s = &self.codec.sketch;
        s.scale() * f32_at(code, 0) as f64 * s.correlate(&self.sq, &code[4..])
    }
}

/// The `qjl` declaration (see [`CodecDecl`]).
pub struct QjlDecl;

impl CodecDecl for QjlDecl {
    type Params = QjlParams;
    const INFO: CodecInfo = CodecInfo {
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
    };
    fn parse(raw: &mut RawParams) -> Result<QjlParams> {
        QjlParams::from_raw(raw)
    }
    fn fit(p: &QjlParams, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(QjlCodec::fit(p, train.dim(), seed)))
    }
    fn capabilities(_: &QjlParams) -> Capabilities {
        Capabilities::SIGNATURE.with_random_fit(RandomFit::Always)
    }
    /// S (m×d f64), and for `proj=orth` one d×d Haar block drawn at a time.
    fn fit_bytes(p: &QjlParams, _train_rows: usize, dim: usize) -> u64 {
        let d = dim.max(1);
        let m = p.m.resolve(d).max(1);
        let block = match p.proj {
            Projection::Gauss => 0,
            Projection::Orth => Rotation::fit_bytes(RotationKind::Haar, d, 1),
        };
        total(&[bytes(m, 8).saturating_mul(d as u64), block, FIT_BYTES_FIXED])
    }
}

impl Codec for QjlCodec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Qjl(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        4 + self.sketch.code_len()
    }
    fn model_bytes(&self) -> usize {
        8
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        self.encode_block(row, out);
    }
    fn encode_all(&self, rows: &Rows) -> Codes {
        encode_blocks(rows, self.code_bytes(), |r, o| self.encode_block(r, o))
    }
    fn scorer<'a>(&'a self, query: &[f32]) -> Box<dyn Scorer + 'a> {
        let q: Vec<f64> = query.iter().map(|&v| v as f64).collect();
        let mut sq = vec![0f64; self.sketch.m()];
        self.sketch.project(&q, &mut sq);
        Box::new(QjlScorer { codec: self, sq })
    }
    fn scorers<'a>(&'a self, queries: &Rows) -> Vec<Box<dyn Scorer + 'a>> {
        let m = self.sketch.m();
        map_rows(queries, m, |x, y| self.sketch.project_rows(x, y))
            .chunks_exact(m)
            .map(|sq| {
                Box::new(QjlScorer {
                    codec: self,
                    sq: sq.to_vec(),
                }) as Box<dyn Scorer + 'a>
            })
            .collect()
    }
    fn pair(&self, a: &[u8], b: &[u8]) -> Result<f64> {
        let h = bits::hamming(&a[4..], &b[4..]) as f64;
        let angle = std::f64::consts::PI * h / self.sketch.m() as f64;
        Ok(f32_at(a, 0) as f64 * f32_at(b, 0) as f64 * angle.cos())
    }
}
