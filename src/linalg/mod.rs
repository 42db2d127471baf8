//! Linear-algebra building blocks shared by the rotation-family codecs; no codec knowledge here.
//!
//! - [`rotation`]: random rotations (Haar-orthogonal by QR with the sign fix, randomized Hadamard
//!   with three rounds and zero padding to a power of two, or none).
//! - [`lloyd_max`]: continuous 1-D Lloyd–Max codebooks for the exact coordinate law of a rotated
//!   unit vector and for PolarQuant's angle laws, solved once per parameter set and cached.
//! - [`bits`]: bit packing of b-bit indices, sign bits, popcount.
//! - [`kmeans`]: seeded k-means++ / Lloyd (PQ codebooks, palettes).
//! - [`farthest`]: farthest-point (Gonzalez) traversal under any distance (the origin's palettes).
//! - [`subspace`]: the top few eigenvectors of a symmetric matrix by subspace iteration.
//! - [`dense`]: a dense matrix (a Haar rotation) applied to a block of rows, bit-identical to
//!   the per-row products.
//! - [`gemm`]: blocked f64 inner products of f32 rows (the truth), bit-identical to the plain loop.
//! - [`eigen`]: symmetric eigen-decomposition and SVD (faer), f64 GEMM (matrixmultiply), PCA,
//!   orthogonal Procrustes.
//! - [`simd`]: AVX2 popcount and int8 dot kernels with runtime detection and scalar references.
//! - [`popcount`]: bit-plane AND-popcount (RaBitQ's quantized-query scorer), AVX-512
//!   VPOPCNTDQ or POPCNT chosen at run time, exactly equal to its per-byte reference.
//! - [`scan`]: the f32 scan kernels behind `Scorer::estimate_all` (int8/u8/4-bit LUT dots,
//!   RaBitQ grid dots, PQ table sums), AVX2 with bit-identical scalar references.
//!
//! All randomness comes from [`seeded_rng`]: ChaCha8 seeded with the codec's `seed`, one stream
//! per purpose ([`STREAM_ROTATION`], [`STREAM_SKETCH`]), so that two codecs fitted with the same
//! seed share their rotation (tq-prod's MSE stage is exactly tq-mse at b−1 bits).

pub mod bits;
pub mod dense;
pub mod eigen;
pub mod farthest;
pub mod fastscan;
pub mod gemm;
pub mod kmeans;
pub mod lloyd_max;
pub mod popcount;
pub mod rotation;
pub mod scan;
pub mod simd;
pub mod subspace;

pub use rotation::{Rotation, RotationKind};

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

/// The part of a faer factorisation's peak (QR, symmetric eigen, SVD) that does not grow with
/// the matrix: its workspace measured about 4 MiB, rounded up. For declared fit bytes.
pub const FAER_WORKSPACE_BYTES: u64 = 8 << 20;

/// `n × n` f64 values `times` over plus faer's workspace (about 4 KiB per row and
/// [`FAER_WORKSPACE_BYTES`]), saturating: the declared peak of a dense factorisation that holds
/// `times` n×n matrices at once.
pub fn square_f64_bytes(n: usize, times: u64) -> u64 {
    let n = n as u64;
    n.saturating_mul(n)
        .saturating_mul(8)
        .saturating_mul(times)
        .saturating_add(n.saturating_mul(4096))
        .saturating_add(FAER_WORKSPACE_BYTES)
}

/// ChaCha8 stream of the random rotation Π (or RaBitQ's P).
pub const STREAM_ROTATION: u64 = 1;
/// ChaCha8 stream of the QJL sketch matrix S.
pub const STREAM_SKETCH: u64 = 2;
/// ChaCha8 stream of RaBitQ's randomized query rounding (seeded per query).
pub const STREAM_QUERY_ROUNDING: u64 = 3;

/// The generator for one purpose (`stream`) of a codec fitted with `seed`.
pub fn seeded_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A training sample of at most `cap` of `n` rows: every index in order when `n ≤ cap`, else
/// `cap` indices drawn without replacement from `rng` (untouched otherwise), sorted.
pub fn sample_indices(n: usize, cap: usize, rng: &mut impl rand::Rng) -> Vec<usize> {
    if n <= cap {
        return (0..n).collect();
    }
    let mut idx = sample(rng, n, cap).into_vec();
    idx.sort_unstable();
    idx
}

/// `Σ a_i b_i` in f64 with four independent accumulators (lets the compiler vectorise; the
/// result differs from a sequential sum only by rounding).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    dot_body(a, b)
}

/// [`dot`]'s body, inlined into callers compiled with other target features (the same
/// operations in the same order, so the same result).
#[inline(always)]
pub(crate) fn dot_body(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f64; 4];
    let (ca, ra) = a.split_at(a.len() - a.len() % 4);
    let (cb, rb) = b.split_at(ca.len());
    for (x, y) in ca.chunks_exact(4).zip(cb.chunks_exact(4)) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `y += alpha · x`.
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// Euclidean norm of an f32 row, accumulated in f64.
pub fn norm_f32(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt()
}

/// `E|θ_1|` for θ uniform on the unit sphere S^{d−1}: Γ(d/2) / (√π · Γ((d+1)/2)).
///
/// Computed by the recurrence r(d+2) = r(d)·d/(d+1) from r(1) = 1 and r(2) = 2/π, exact to
/// rounding for every d ≥ 1 (no log-gamma needed). Tends to √(2/(π d)).
pub fn sphere_abs_mean(d: usize) -> f64 {
    let d = d.max(1);
    let (mut r, mut k) = if d % 2 == 1 {
        (1.0, 1usize)
    } else {
        (2.0 / std::f64::consts::PI, 2usize)
    };
    while k < d {
        r *= k as f64 / (k as f64 + 1.0);
        k += 2;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sphere_abs_mean_matches_small_cases_and_the_limit() {
        // d = 3: θ_1 is uniform on [−1, 1] (Archimedes), E|θ_1| = 1/2.
        assert!((sphere_abs_mean(3) - 0.5).abs() < 1e-15);
        // d = 4: density ∝ √(1−t²), E|t| = (2/3)/(π/4)/… = 4/(3π).
        assert!((sphere_abs_mean(4) - 4.0 / (3.0 * std::f64::consts::PI)).abs() < 1e-15);
        let d = 100_000;
        let lim = (2.0 / (std::f64::consts::PI * d as f64)).sqrt();
        assert!((sphere_abs_mean(d) / lim - 1.0).abs() < 1e-5);
    }

    #[test]
    fn dot_matches_a_plain_sum() {
        let a: Vec<f64> = (0..13).map(|i| i as f64 * 0.5 - 2.0).collect();
        let b: Vec<f64> = (0..13).map(|i| (i * i) as f64 * 0.1).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-12);
    }
}
