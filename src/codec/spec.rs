//! `CodecSpec`: the closed enum users pick codecs from, its text form `name[:key=value,...]`
//! (parsed at the edge, printed back canonically so that it round-trips), the descriptions that
//! `codecbench list codecs` prints, and the one registry `match` that fits a codec.

use super::{
    Base17Codec, Base17Params, Codec, ExactCodec, Family, Fp8Codec, Fp8Params, Grade, HalfCodec,
    HalfKind, Int4Codec, Int4Params, Int8Codec, ItqCodec, ItqParams, PaletteCodec, PaletteParams,
    PolarCodec, PolarParams, PqCodec, PqParams, QjlCodec, QjlParams, RabitqCodec, RabitqParams,
    SignCodec, SignParams, SpiralCodec, SpiralParams, SqCodec, SqParams, TqMseCodec, TqParams,
    TqProdCodec,
};
use super::{
    CascadeCodec, CascadeParams, GainShapeCodec, GainShapeParams, MatryoshkaCodec, MatryoshkaParams,
};
use crate::data::Rows;
use crate::error::{Error, Result, close_names};
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
        summary: "f32 passthrough, the oracle row; 4·d bytes (= FAISS IndexFlat)",
        reference: "IEEE 754 binary32",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    },
    CodecInfo {
        name: "f16",
        summary: "IEEE half precision, round to nearest even; 2·d bytes (= FAISS SQfp16)",
        reference: "IEEE 754 binary16",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    },
    CodecInfo {
        name: "bf16",
        summary: "bfloat16 (top 16 bits of f32, round to nearest even); 2·d bytes (= FAISS SQbf16)",
        reference: "Google Brain bfloat16",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[],
    },
    CodecInfo {
        name: "int8",
        summary: "per-row symmetric absmax int8 (q = round(127·x/max|x|)); d bytes + 4-byte f32 scale (no FAISS peer: its SQ8 is the per-dimension `sq`)",
        reference: "LLM.int8 / Q8 per-row absmax (algorithms.md §1.6)",
        grade: Grade::Reconstruction,
        family: Family::Scalar,
        params: &[],
    },
    CodecInfo {
        name: "int4",
        summary: "symmetric absmax int4 (q in -7..7) per row or per group; ⌈d/2⌉ bytes + 4-byte f32 scale per group (GGML Q4_0 stores an f16 scale: 2 bytes less per 32-group, 18 vs 20)",
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
        summary: "TurboQuant_mse: rotate x/‖x‖, b-bit Lloyd–Max codebook of the exact rotated-coordinate law per coordinate; 4-byte f32 norm + ⌈b·p/8⌉ bytes (p = d, or the next power of two with rot=hadamard). Peers: rot=haar = FAISS RR{d},SQtqmse{b} + the 4-byte norm it needs byte for byte, and turbovec (⌈b·d/8⌉ + 4, d a multiple of 8); rot=hadamard pads, so it stores more than turbovec unless d is a power of two",
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
        summary: "TurboQuant_prod: tq-mse at b−1 bits + 1-bit QJL (iid Gaussian d×d) of the residual, unbiased inner products; 4-byte norm + 4-byte residual norm (b ≥ 2) + ⌈(b−1)·p/8⌉ + ⌈d/8⌉ bytes (FAISS's full-TurboQuant SQ, b = 2..5, sizes the MSE part as b−1 planes of ⌈d/8⌉ bytes plus the same two f32 norms: equal when 8 | d, ours up to b−2 bytes fewer otherwise; not run by compare-peers)",
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
        summary: "RaBitQ (1 bit) / Extended RaBitQ (2..9 bits): centred, rotated, nearest grid direction, unbiased ⟨ō,q⟩/⟨ō,o⟩ estimator; ⌈B·p/8⌉ bytes + 4-byte estimate scale + 4-byte f_add (centroid=mean) + 4-byte least-squares decode scale (dec=mse only). Peers: 1 bit = FAISS IndexRaBitQ byte for byte (⌈d/8⌉ + 8); B ≥ 2 is 12 bytes under FAISS (its two-stage search's 1-bit factors and error bound, which our full-estimate scorer does not read)",
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
                doc: "one precomputed rescaling factor (RaBitQ-Library's faster_config idea), or the exhaustive critical-point scan per row (what FAISS does); fast is the default because it scores the same within 0.001 Pearson at B = 2, 4 and encodes 5–7× (B = 4) to 80–190× (B = 8) faster; its recon_mse is 4–25% higher at B = 4",
            },
            ParamInfo {
                key: "centroid",
                values: "mean | zero",
                default: "mean",
                doc: "normalisation centre: mean of the training rows (4·d model bytes) or the origin",
            },
            ROT_PARAM,
            ParamInfo {
                key: "qb",
                values: "none | 1..=8",
                default: "none",
                doc: "query bits (bits=1 only): quantize the rotated, centred query to B_q bits between its min and max and score by AND + popcount over its bit planes (FAISS IndexRaBitQ qb); none = float query, the default because it measures the codes without query-quantization error (FAISS's default is qb=4: ask for it to match FAISS's search; bytes are the same)",
            },
            ParamInfo {
                key: "qround",
                values: "nearest | random",
                default: "nearest",
                doc: "with qb: round the query to the nearest level (FAISS) or randomized rounding (the RaBitQ paper, unbiased; seeded by the fit seed and the query)",
            },
            ParamInfo {
                key: "dec",
                values: "ip | mse",
                default: "ip",
                doc: "decode (recon_mse): ip = with the estimator's scale ν/⟨ō,o⟩, FAISS's sa_decode, no extra byte (the code is exactly what the scorer reads); mse = store the least-squares scale ν·⟨ō,o⟩ too, +4 bytes per row, counted (squared error ν²(1−⟨ō,o⟩²) instead of ν²(1/⟨ō,o⟩²−1))",
            },
        ],
    },
    CodecInfo {
        name: "sign",
        summary: "plain sign / binary quantization of the rotated row plus norm; symmetric Hamming angle estimate ‖a‖‖b‖·cos(π·h/p) (the query is binarised too); 4-byte norm + ⌈p/8⌉ bytes (FAISS IndexLSH stores the ⌈d/8⌉ bits only: 4 bytes less, no norm, it ranks by Hamming distance and estimates no inner product)",
        reference: "Charikar, SimHash (STOC 2002); binary quantization",
        grade: Grade::Signature,
        family: Family::Signature,
        params: &[ROT_PARAM],
    },
    CodecInfo {
        name: "sq",
        summary: "trained per-dimension affine scalar quantizer: lo/step per dimension from the training rows' min/max or a central quantile range; ⌈b·d/8⌉ bytes, no per-row scalar; model 8·d bytes (bits=8 / 4 = FAISS SQ8 / SQ4 byte for byte, per row and in the 8·d trained ranges)",
        reference: "FAISS ScalarQuantizer QT_8bit/QT_4bit; qdrant scalar quantization quantile (algorithms.md §1.6)",
        grade: Grade::Reconstruction,
        family: Family::Scalar,
        params: &[
            ParamInfo {
                key: "bits",
                values: "1..=8",
                default: "8",
                doc: "bits per dimension",
            },
            ParamInfo {
                key: "clip",
                values: "none | fraction in [0.5, 1]",
                default: "none",
                doc: "per-dimension range: min/max, or the central quantile range keeping this fraction (values outside clamp)",
            },
        ],
    },
    CodecInfo {
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
    },
    CodecInfo {
        name: "itq",
        summary: "ITQ: centre, PCA to c dims, learned orthogonal rotation (Procrustes, 50 iterations), sign bits + f32 scale; 4 + ⌈c/8⌉ bytes; model 4·d·(c+1) bytes",
        reference: "Gong, Lazebnik, Gordo, Perronnin, Iterative Quantization, TPAMI 2013 (algorithms.md §1.8)",
        grade: Grade::Reconstruction,
        family: Family::Signature,
        params: &[ParamInfo {
            key: "bits",
            values: "dim | 1..=4096 (≤ d)",
            default: "dim",
            doc: "code bits c (PCA components)",
        }],
    },
    CodecInfo {
        name: "fp8",
        summary: "OCP FP8 E4M3 per coordinate (round to nearest even, saturating ±448); d bytes, +4 for the f32 per-row absmax scale with scale=row",
        reference: "Micikevicius et al., FP8 Formats for Deep Learning, arXiv:2209.05433; OCP OFP8 spec",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[ParamInfo {
            key: "scale",
            values: "row | none",
            default: "row",
            doc: "per-row absmax scale to ±448 before the cast, or raw values",
        }],
    },
    CodecInfo {
        name: "base17",
        summary: "the origin's golden-step fold to 17 bucket means; scale=fixed: i16 of ×256 (faithful, 34 bytes), scale=row: per-row f32 scale + i16 (repaired, 38 bytes); L1 or 17-d cosine of two codes; no decode",
        reference: "origin lance-graph PR #189 crates/bgz-tensor/src/projection.rs (origin.md §1.1)",
        grade: Grade::Signature,
        family: Family::Signature,
        params: &[
            ParamInfo {
                key: "scale",
                values: "fixed | row",
                default: "fixed",
                doc: "fixed FP_SCALE 256 (the origin) or a per-row adaptive scale",
            },
            ParamInfo {
                key: "score",
                values: "l1 | cos",
                default: "l1",
                doc: "negated L1 between codes, or their 17-d cosine (rank metrics only)",
            },
        ],
    },
    CodecInfo {
        name: "spiral",
        summary: "the origin's spiral walk: 17·K coordinates sampled along a golden-ratio walk, BF16 by truncation, 6-byte address; controls at equal bytes: random subset, Gaussian JL sketch; cosine score; 6 + 34·K bytes",
        reference: "origin lance-graph PR #189 crates/highheelbgz/src/lib.rs (origin.md §1.8); Johnson–Lindenstrauss 1984",
        grade: Grade::Signature,
        family: Family::Signature,
        params: &[
            ParamInfo {
                key: "k",
                values: "1..=65535",
                default: "8",
                doc: "samples per base dim K",
            },
            ParamInfo {
                key: "stride",
                values: "1..=65535",
                default: "3",
                doc: "octave stride of the walk",
            },
            ParamInfo {
                key: "start",
                values: "0..=65535",
                default: "0",
                doc: "first octave of the walk",
            },
            ParamInfo {
                key: "mode",
                values: "walk | subset | jl",
                default: "walk",
                doc: "the origin's walk, or an equal-byte control (random coordinates, Gaussian sketch)",
            },
        ],
    },
    CodecInfo {
        name: "cascade",
        summary: "the origin's cascade done right: 1-byte palette index (k-means or farthest-point on unit rows) + k×k Fisher-z i8 table of centroid cosines (rounded, off-diagonal calibration); pair = table lookup, asymmetric = ⟨q, centroid⟩; 1 byte (+2 bf16 norm); model 4·k·d + k² + 8 bytes; no decode",
        reference: "origin lance-graph PR #189 hhtl_cache.rs / fisher_z.rs / CascadeBackend (origin.md §1.3, §1.10, §1.13); Fisher 1921; Gonzalez 1985",
        grade: Grade::Signature,
        family: Family::PaletteLeaf,
        params: &[
            ParamInfo {
                key: "k",
                values: "1..=256",
                default: "256",
                doc: "palette size (one-byte index); fewer training rows ⇒ k = the number of training rows",
            },
            ParamInfo {
                key: "fit",
                values: "kmeans | fps",
                default: "kmeans",
                doc: "k-means++ + Lloyd on unit rows (centroids normalised), or the origin's farthest-point sampling",
            },
            ParamInfo {
                key: "norm",
                values: "none | bf16",
                default: "none",
                doc: "1-byte code (scores are cosines of cells), or +2 bytes of bf16 norm (inner products)",
            },
        ],
    },
    CodecInfo {
        name: "matryoshka",
        summary: "the origin's Matryoshka bands done right: unit row in a fitted SVD basis (symmetric eigen, f32, orthonormal), bands of i16/i8/i4/i2 (or dropped) with a bf16 max-abs header rounded up; 4-byte f32 norm + 2 per band + ⌈Σ bits/8⌉ bytes; model 4·d² bytes",
        reference: "origin lance-graph PR #189 matryoshka.rs (origin.md §1.11); Kusupati et al., Matryoshka Representation Learning, NeurIPS 2022",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[ParamInfo {
            key: "profile",
            values: "standard | conservative | aggressive | iBxN+…",
            default: "standard",
            doc: "band layout: standard = 1/16 i16, 2/16 i8, 3/16 i4, rest i2 (the origin's); conservative = 4/16 i16, 4/16 i8, rest i4; aggressive = 1/16 i8, 3/16 i4, 4/16 i2, rest dropped; or explicit bands iBxN joined by + (B in 0, 2..=16, N components or * for the rest), e.g. i16x64+i8x*",
        }],
    },
    CodecInfo {
        name: "gain-shape",
        summary: "gain–shape split (the origin's \"PolarQuantGain\", renamed): bf16 norm + unit direction, optionally rotated, as scale-free symmetric B-bit integers re-projected on the sphere (or the origin's BF16 direction); 2 + ⌈B·p/8⌉ bytes (2 + 2·p for bf16)",
        reference: "origin lance-graph PR #189 matryoshka.rs encode_row, P6 PolarQuantGain (origin.md §1.11); Sabin & Gray, IEEE Trans. ASSP 1984",
        grade: Grade::Reconstruction,
        family: Family::Rotation,
        params: &[
            ParamInfo {
                key: "shape",
                values: "bf16 | i2..i8",
                default: "i8",
                doc: "direction quantizer: the origin's BF16 per coordinate, or B-bit symmetric integers (no stored scale)",
            },
            ROT_PARAM,
        ],
    },
    CodecInfo {
        name: "palette",
        summary: "the origin's palette + residual hybrids done right: farthest-point (or k-means) palette address in ⌈log₂ k⌉ bits; leaf=none is HhtlF32, leaf=svd adds lanes on a shared SVD basis of the residuals (SlotL; the P9 layouts), leaf=jl is I8Hybrid with the kept positions stored and a BF16 per-row magnitude; ⌈bits/8⌉ bytes; model 4·k·d (+4·lanes·(d+1) svd, +8 seed jl); error if training rows < k",
        reference: "origin lance-graph PR #189 hhtl_f32.rs, slot_l.rs, I8Hybrid (origin.md §1.6, §1.7, §1.12, P9 §4)",
        grade: Grade::Reconstruction,
        family: Family::PaletteLeaf,
        params: &[
            ParamInfo {
                key: "k",
                values: "1..=65536",
                default: "256",
                doc: "palette entries (address bits = ⌈log₂ k⌉; the origin's 2+4 HEEL+HIP = 64, 2+8 = 1024)",
            },
            ParamInfo {
                key: "init",
                values: "fp | kmeans",
                default: "fp",
                doc: "farthest-point sampling from the largest-norm row (the origin's CLAM) or k-means++ / 25 Lloyd iterations",
            },
            ParamInfo {
                key: "leaf",
                values: "none | svd | jl",
                default: "none",
                doc: "no leaf (HhtlF32), lanes on the residuals' SVD basis (SlotL, P9 layouts), or the largest rotated residual coordinates with stored positions (I8Hybrid, grade hybrid)",
            },
            ParamInfo {
                key: "lanes",
                values: "NxT(+NxT)*, T in i16|i8|i4|i2|bf16",
                default: "8xi8",
                doc: "leaf lanes in order (leaf=svd|jl); integer lanes use per-lane fitted scales (svd) or the row magnitude (jl)",
            },
            ParamInfo {
                key: "rot",
                values: "haar | hadamard | none",
                default: "hadamard",
                doc: "rotation of the jl leaf (seed-regenerated, 8 model bytes); positions take ⌈log₂ p⌉ bits",
            },
            ParamInfo {
                key: "layout",
                values: "i8-baseline | wide-hip | mixed-leaf | compact-leaf | bf16-leaf | stacked",
                default: "(none)",
                doc: "a P9 resolution layout: sets k and lanes with leaf=svd (prints as its k/lanes form)",
            },
        ],
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
    /// Trained per-dimension affine scalar quantizer.
    Sq(SqParams),
    /// Product quantization.
    Pq(PqParams),
    /// ITQ sign codes.
    Itq(ItqParams),
    /// FP8 E4M3.
    Fp8(Fp8Params),
    /// The origin's Base17 fold.
    Base17(Base17Params),
    /// The origin's spiral walk and its controls.
    Spiral(SpiralParams),
    /// The origin's palette + residual hybrids (HhtlF32, +SlotL, I8Hybrid, P9 layouts).
    Palette(PaletteParams),
    /// The origin's cascade: palette index + Fisher-z table.
    Cascade(CascadeParams),
    /// The origin's Matryoshka SVD bands.
    Matryoshka(MatryoshkaParams),
    /// Gain–shape (the origin's "PolarQuantGain").
    GainShape(GainShapeParams),
}

impl CodecSpec {
    /// Whether the fitted codec can decode (reconstruct) rows, known without fitting it: the
    /// same as `Codec::can_decode` of every fit (the contract test checks both agree), so a
    /// probe can choose its codecs before paying for fits.
    pub fn decodes(&self) -> bool {
        !matches!(
            self,
            CodecSpec::Qjl(_)
                | CodecSpec::Sign(_)
                | CodecSpec::Base17(_)
                | CodecSpec::Spiral(_)
                | CodecSpec::Cascade(_)
        )
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
        let defaults = CODECS
            .iter()
            .find(|c| c.name == self.name())
            .map_or(&[][..], |c| c.params);
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
        use super::matryoshka::MATRYOSHKA_MAX_TRAIN;
        if let CodecSpec::Matryoshka(_) = self {
            return train_rows > MATRYOSHKA_MAX_TRAIN;
        }
        self.random_fit_any()
    }

    fn random_fit_any(&self) -> bool {
        use super::{LeafKind, PaletteFit, PaletteInit, SpiralMode};
        let rotates = |r: RotationKind| r != RotationKind::None;
        match self {
            CodecSpec::Exact
            | CodecSpec::F16
            | CodecSpec::Bf16
            | CodecSpec::Int8
            | CodecSpec::Int4(_)
            | CodecSpec::Sq(_)
            | CodecSpec::Fp8(_)
            | CodecSpec::Base17(_) => false,
            CodecSpec::TqMse(p) => rotates(p.rot),
            CodecSpec::Polar(p) => rotates(p.rot),
            CodecSpec::Rabitq(p) => rotates(p.rot),
            CodecSpec::Sign(p) => rotates(p.rot),
            CodecSpec::GainShape(p) => rotates(p.rot),
            CodecSpec::Spiral(p) => p.mode != SpiralMode::Walk,
            CodecSpec::Palette(p) => {
                p.init == PaletteInit::Kmeans
                    || p.leaf == LeafKind::Svd
                    || (p.leaf == LeafKind::Jl && rotates(p.rot))
            }
            CodecSpec::Cascade(p) => p.fit == PaletteFit::Kmeans,
            CodecSpec::TqProd(_)
            | CodecSpec::Qjl(_)
            | CodecSpec::Pq(_)
            | CodecSpec::Itq(_)
            | CodecSpec::Matryoshka(_) => true,
        }
    }

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
            CodecSpec::Sq(_) => "sq",
            CodecSpec::Pq(_) => "pq",
            CodecSpec::Itq(_) => "itq",
            CodecSpec::Fp8(_) => "fp8",
            CodecSpec::Base17(_) => "base17",
            CodecSpec::Spiral(_) => "spiral",
            CodecSpec::Palette(_) => "palette",
            CodecSpec::Cascade(_) => "cascade",
            CodecSpec::Matryoshka(_) => "matryoshka",
            CodecSpec::GainShape(_) => "gain-shape",
        }
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
        [
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
        ]
        .iter()
        .map(|s| s.parse().expect("built-in default specs parse"))
        .collect()
    }

    /// The cheap trained baselines (FAISS SQ8 / SQ4, PQ at 2 bits per dimension with 16
    /// centroids per 2-dim subspace), meant to join [`CodecSpec::defaults`].
    pub fn baseline_defaults() -> Vec<CodecSpec> {
        vec![
            CodecSpec::Sq(SqParams::new(8)),
            CodecSpec::Sq(SqParams::new(4)),
            CodecSpec::Pq(PqParams::default()),
        ]
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
            CodecSpec::Sq(p) => Box::new(SqCodec::fit(p, train)),
            CodecSpec::Pq(p) => Box::new(PqCodec::fit(p, train, seed)?),
            CodecSpec::Itq(p) => Box::new(ItqCodec::fit(p, train, seed)?),
            CodecSpec::Fp8(p) => Box::new(Fp8Codec::new(p, dim)),
            CodecSpec::Base17(p) => Box::new(Base17Codec::new(p, dim)),
            CodecSpec::Spiral(p) => Box::new(SpiralCodec::fit(p, dim, seed)),
            CodecSpec::Palette(p) => Box::new(PaletteCodec::fit(p, train, seed)?),
            CodecSpec::Cascade(p) => Box::new(CascadeCodec::fit(p, train, seed)?),
            CodecSpec::Matryoshka(p) => Box::new(MatryoshkaCodec::fit(p, train, seed)),
            CodecSpec::GainShape(p) => Box::new(GainShapeCodec::fit(p, dim, seed)),
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
            CodecSpec::Sq(p) => write!(f, "sq:{p}"),
            CodecSpec::Pq(p) => write!(f, "pq:{p}"),
            CodecSpec::Itq(p) => write!(f, "itq:{p}"),
            CodecSpec::Fp8(p) => write!(f, "fp8:{p}"),
            CodecSpec::Base17(p) => write!(f, "base17:{p}"),
            CodecSpec::Spiral(p) => write!(f, "spiral:{p}"),
            CodecSpec::Palette(p) => write!(f, "palette:{p}"),
            CodecSpec::Cascade(p) => write!(f, "cascade:{p}"),
            CodecSpec::Matryoshka(p) => write!(f, "matryoshka:{p}"),
            CodecSpec::GainShape(p) => write!(f, "gain-shape:{p}"),
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
            "sq" => CodecSpec::Sq(SqParams::from_raw(&mut raw)?),
            "pq" => CodecSpec::Pq(PqParams::from_raw(&mut raw)?),
            "itq" => CodecSpec::Itq(ItqParams::from_raw(&mut raw)?),
            "fp8" => CodecSpec::Fp8(Fp8Params::from_raw(&mut raw)?),
            "base17" => CodecSpec::Base17(Base17Params::from_raw(&mut raw)?),
            "spiral" => CodecSpec::Spiral(SpiralParams::from_raw(&mut raw)?),
            "palette" => CodecSpec::Palette(PaletteParams::from_raw(&mut raw)?),
            "cascade" => CodecSpec::Cascade(CascadeParams::from_raw(&mut raw)?),
            "matryoshka" => CodecSpec::Matryoshka(MatryoshkaParams::from_raw(&mut raw)?),
            "gain-shape" => CodecSpec::GainShape(GainShapeParams::from_raw(&mut raw)?),
            _ => {
                return Err(Error::UnknownCodec {
                    name: raw.codec.clone(),
                    close: close_names(&raw.codec, CODECS.iter().map(|c| c.name)),
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
