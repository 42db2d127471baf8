//! Random rotations Π: R^d → R^p (p ≥ d), orthogonal on the zero-padded input.
//!
//! - **Haar**: Π is the orthogonal factor of the QR decomposition of a p×p matrix of iid N(0, 1)
//!   entries, with the signs fixed so that R has a positive diagonal (the fix that makes Q exactly
//!   Haar-distributed; modified Gram–Schmidt produces it directly). Stored dense in f64 (only the
//!   p×d block that touches the un-padded input); O(p·d) per row, O(p³) to draw (≈ 0.3 s at
//!   p = 768, ≈ 3.6 s at p = 4096 on one core; prefer FHT–Kac for d in the thousands).
//! - **Hadamard**: three rounds of `x ← H·D_r·x` with D_r a random ±1 diagonal and H the
//!   normalised Walsh–Hadamard matrix; O(p log p) per row. Non-power-of-two d is handled by
//!   **zero padding** to p = the next power of two: the rotated vector has p coordinates and a
//!   code that quantizes them all spends its bits on p − d padded coordinates too; codecs count
//!   them in `code_bytes` (for example d = 130 → p = 256, d = 768 → p = 1024).
//! - **FHT–Kac** (`fht-kac`): a structured rotation of p = d coordinates, **no padding** (beyond
//!   a codec's block multiple, as for Haar), for any d; O(d log d) per row, O(d) state. Four rounds of: a random permutation, a random ±1
//!   diagonal, the normalised Walsh–Hadamard transform of the first m = 2^⌊log₂ d⌋
//!   coordinates, and — unless d = m — a second ±1 diagonal, the transform of the last m (the
//!   two blocks overlap and cover all d, since m > d/2) and one layer of Kac butterflies
//!   pairing coordinate i with i + ⌊d/2⌋. After RaBitQ-Library's `FhtKacRotator` (J. Gao,
//!   C. Long et al.: sign flips, FHT on a leading or trailing power-of-two block, Kac
//!   butterflies; it pads d to a multiple of 64, this does not), written here from that
//!   description; Kac's walk: M. Kac 1956, mixing: N. Pillai and A. Smith, Ann. Appl. Probab.
//!   2017; the randomized Hadamard step is the fast Johnson–Lindenstrauss transform's (N. Ailon
//!   and B. Chazelle, SIAM J. Comput. 2009). The permutation and the second diagonal are ours:
//!   without them the blocks' transforms half cancel where they overlap (H·H = I) and rotated
//!   one-hot rows kept kurtosis 3.4–6.6 at d = 257…1000 (Haar: 3.0); with them 2.96–3.01. It is
//!   not Haar-distributed: what a codec needs is that each rotated coordinate of a fixed unit
//!   vector follows a Haar rotation's coordinate law, and the tests hold tq-mse's distortion on
//!   spiky rows (one-hot, two-hot, flat blocks) and isotropic rows to within 2% of the Haar
//!   closed form (`tests/it/codec_turbo.rs`). For a power-of-two d it is four rounds of
//!   permuted randomized Hadamard.
//! - **None**: the identity (an ablation; zero padding only where a codec needs blocks).
//!
//! `multiple` lets a codec ask for p to be a multiple of its block size (PolarQuant's 2^L): Haar
//! FHT–Kac and None round d up to it (Haar and FHT–Kac then act on the padded space, so every
//! block is a generic rotated block); Hadamard rounds up to a power of two at least that large.
//!
//! Storage: a rotation is a deterministic function of (kind, d, p, seed), so its shared state is
//! counted as the 8-byte seed ([`Rotation::model_bytes`]); the identity costs nothing.

mod haar;
mod hadamard;

use haar::{dense_apply, dense_apply_transpose, haar_rows};
pub use haar::{dense_apply_scalar, dense_apply_transpose_scalar, haar_orthogonal};
pub use hadamard::{FHT_KAC_ROUNDS, HADAMARD_ROUNDS, fwht_normalized, fwht_scalar};
use rand::Rng;
use rand::seq::SliceRandom;
use std::fmt;

/// Which random rotation a codec applies before quantizing (`rot=haar|hadamard|fht-kac|none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RotationKind {
    /// Haar-random orthogonal matrix (QR of a Gaussian matrix with the sign fix).
    #[default]
    Haar,
    /// Randomized Hadamard, 3 rounds, zero-padded to a power of two.
    Hadamard,
    /// FHT on two overlapping power-of-two blocks + Kac butterflies, 4 rounds, no padding
    /// (beyond a codec's block multiple).
    FhtKac,
    /// No rotation.
    None,
}

impl RotationKind {
    /// The values a spec accepts, for error messages and `list codecs`.
    pub const VALUES: &'static str = "haar | hadamard | fht-kac | none";

    /// Parse a spec value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "haar" => Some(RotationKind::Haar),
            "hadamard" => Some(RotationKind::Hadamard),
            "fht-kac" => Some(RotationKind::FhtKac),
            "none" => Some(RotationKind::None),
            _ => None,
        }
    }
}

impl fmt::Display for RotationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RotationKind::Haar => "haar",
            RotationKind::Hadamard => "hadamard",
            RotationKind::FhtKac => "fht-kac",
            RotationKind::None => "none",
        })
    }
}

#[derive(Debug, Clone)]
enum Imp {
    /// Rows of Π restricted to the first d columns: p × d, row-major.
    Dense(Vec<f64>),
    /// The ±1 diagonals of the randomized Hadamard rounds, each of length p.
    Hadamard(Vec<Vec<f64>>),
    /// The ±1 diagonals and the permutations of the FHT–Kac rounds, each of length p.
    FhtKac(Vec<Vec<f64>>, Vec<Vec<u32>>),
    Identity,
}

/// A seeded random rotation from R^d (zero-padded) to R^p.
#[derive(Debug, Clone)]
pub struct Rotation {
    kind: RotationKind,
    dim: usize,
    out_dim: usize,
    imp: Imp,
}

impl Rotation {
    /// A rotation of `kind` for rows of `dim` values whose output dimension is a multiple of
    /// `multiple` (1 for codecs without blocks; a power of two otherwise), drawn from `rng`.
    pub fn new(kind: RotationKind, dim: usize, multiple: usize, rng: &mut impl Rng) -> Self {
        let dim = dim.max(1);
        let out_dim = Self::out_dim_of(kind, dim, multiple)
            .expect("rotation output dimension overflows usize (the memory budget refuses it)");
        let imp = match kind {
            RotationKind::Haar => Imp::Dense(haar_rows(out_dim, dim, rng)),
            RotationKind::Hadamard => Imp::Hadamard(random_signs(HADAMARD_ROUNDS, out_dim, rng)),
            RotationKind::FhtKac => {
                let signs = random_signs(2 * FHT_KAC_ROUNDS, out_dim, rng);
                let perms = (0..FHT_KAC_ROUNDS)
                    .map(|_| {
                        let p = u32::try_from(out_dim).expect(
                            "FHT–Kac: over 2^32 coordinates (the memory budget refuses it)",
                        );
                        let mut pi: Vec<u32> = (0..p).collect();
                        pi.shuffle(rng);
                        pi
                    })
                    .collect();
                Imp::FhtKac(signs, perms)
            }
            RotationKind::None => Imp::Identity,
        };
        Rotation {
            kind,
            dim,
            out_dim,
            imp,
        }
    }

    /// The output dimension p of a rotation of `kind` for rows of `dim` values whose output is a
    /// multiple of `multiple` (what [`Rotation::new`] builds); `None` when p overflows.
    pub fn out_dim_of(kind: RotationKind, dim: usize, multiple: usize) -> Option<usize> {
        let (dim, multiple) = (dim.max(1), multiple.max(1));
        match kind {
            RotationKind::Haar | RotationKind::FhtKac | RotationKind::None => {
                dim.div_ceil(multiple).checked_mul(multiple)
            }
            RotationKind::Hadamard => dim.max(multiple).checked_next_power_of_two(),
        }
    }

    /// Peak bytes of drawing a rotation of `kind` for rows of `dim` values (output a multiple of
    /// `multiple`), the rotation itself included; saturating. Haar draws a p×p Gaussian matrix
    /// and orthogonalises it in place by faer's QR: at most two p×p matrices are alive at once
    /// (the factored G and Q, then Q and the sign-fixed rows; 2 · 8·p² bytes) next to faer's
    /// workspace (about 4 KiB per row plus a few MiB); Hadamard and FHT–Kac keep their ±1
    /// diagonals (and permutations) of p values; none keeps nothing. The memory budget checks it
    /// ([`crate::budget`]).
    pub fn fit_bytes(kind: RotationKind, dim: usize, multiple: usize) -> u64 {
        let Some(p) = Self::out_dim_of(kind, dim, multiple) else {
            return u64::MAX;
        };
        match kind {
            RotationKind::Haar => super::square_f64_bytes(p, 2),
            RotationKind::Hadamard => (p as u64).saturating_mul(8 * (HADAMARD_ROUNDS as u64 + 1)),
            RotationKind::FhtKac => (p as u64).saturating_mul(20 * FHT_KAC_ROUNDS as u64 + 16),
            RotationKind::None => 0,
        }
    }

    /// Which rotation.
    pub fn kind(&self) -> RotationKind {
        self.kind
    }
    /// Input dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Output dimension p ≥ d (the number of coordinates a codec quantizes).
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }
    /// p − d zero-padded coordinates.
    pub fn padded(&self) -> usize {
        self.out_dim - self.dim
    }
    /// Shared-state bytes: the 8-byte seed that regenerates Π (0 for the identity).
    pub fn model_bytes(&self) -> usize {
        match self.kind {
            RotationKind::None => 0,
            RotationKind::Haar | RotationKind::Hadamard | RotationKind::FhtKac => 8,
        }
    }

    /// `out = Π·[x; 0]` (`x.len() == d`, `out.len() == p`).
    pub fn apply(&self, x: &[f32], out: &mut [f64]) {
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        self.apply_f64(&x64, out);
    }

    /// `out = Π·[x; 0]` for an f64 input.
    pub fn apply_f64(&self, x: &[f64], out: &mut [f64]) {
        debug_assert_eq!(x.len(), self.dim);
        debug_assert_eq!(out.len(), self.out_dim);
        match &self.imp {
            Imp::Dense(m) => dense_apply(m, self.dim, x, out),
            Imp::Hadamard(signs) => {
                out[..self.dim].copy_from_slice(x);
                out[self.dim..].fill(0.0);
                hadamard::hadamard_forward(signs, out);
            }
            Imp::FhtKac(signs, perms) => {
                out[..self.dim].copy_from_slice(x);
                out[self.dim..].fill(0.0);
                hadamard::fht_kac_forward(signs, perms, out);
            }
            Imp::Identity => {
                out[..self.dim].copy_from_slice(x);
                out[self.dim..].fill(0.0);
            }
        }
    }

    /// `out = (Πᵀ·y)[..d]`: the inverse rotation followed by dropping the padded coordinates
    /// (`y.len() == p`, `out.len() == d`). For y = Π·[x; 0] this returns x.
    pub fn apply_transpose(&self, y: &[f64], out: &mut [f64]) {
        debug_assert_eq!(y.len(), self.out_dim);
        debug_assert_eq!(out.len(), self.dim);
        match &self.imp {
            Imp::Dense(m) => dense_apply_transpose(m, self.dim, y, out),
            Imp::Hadamard(signs) => {
                let mut buf = y.to_vec();
                hadamard::hadamard_inverse(signs, &mut buf);
                out.copy_from_slice(&buf[..self.dim]);
            }
            Imp::FhtKac(signs, perms) => {
                let mut buf = y.to_vec();
                hadamard::fht_kac_inverse(signs, perms, &mut buf);
                out.copy_from_slice(&buf[..self.dim]);
            }
            Imp::Identity => out.copy_from_slice(&y[..self.dim]),
        }
    }

    /// `apply_f64` for a block of rows: `x` holds n rows of d values, `y` n rows of p. Equal to
    /// [`Rotation::apply_f64`] row by row, bit for bit (a Haar rotation is one blocked product,
    /// [`super::dense::apply_rows`]).
    pub fn apply_rows_f64(&self, x: &[f64], y: &mut [f64]) {
        let (d, p) = (self.dim, self.out_dim);
        assert!(
            x.len().is_multiple_of(d) && y.len() == x.len() / d * p,
            "apply_rows_f64: sizes"
        );
        match &self.imp {
            // A single row (or two, three) gains nothing from blocking: the per-row product.
            Imp::Dense(m) if x.len() >= 4 * d => super::dense::apply_rows(m, d, x, y),
            Imp::Dense(_) | Imp::Hadamard(_) | Imp::FhtKac(..) | Imp::Identity => {
                for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(p)) {
                    self.apply_f64(xr, yr);
                }
            }
        }
    }

    /// `apply_transpose` for a block of rows: `y` holds n rows of p values, `out` n rows of d.
    /// Equal to [`Rotation::apply_transpose`] row by row, bit for bit.
    pub fn apply_transpose_rows(&self, y: &[f64], out: &mut [f64]) {
        let (d, p) = (self.dim, self.out_dim);
        assert!(
            y.len().is_multiple_of(p) && out.len() == y.len() / p * d,
            "apply_transpose_rows: sizes"
        );
        match &self.imp {
            Imp::Dense(m) if y.len() >= 4 * p => super::dense::apply_transpose_rows(m, d, y, out),
            Imp::Dense(_) | Imp::Hadamard(_) | Imp::FhtKac(..) | Imp::Identity => {
                for (yr, o) in y.chunks_exact(p).zip(out.chunks_exact_mut(d)) {
                    self.apply_transpose(yr, o);
                }
            }
        }
    }

    /// Π restricted to the un-padded input, as a dense p × d row-major matrix (for reference
    /// implementations in tests; O(p·d) memory).
    pub fn matrix(&self) -> Vec<f64> {
        match &self.imp {
            Imp::Dense(m) => m.clone(),
            Imp::Hadamard(_) | Imp::FhtKac(..) | Imp::Identity => {
                let (p, d) = (self.out_dim, self.dim);
                let mut m = vec![0f64; p * d];
                let mut e = vec![0f64; d];
                let mut col = vec![0f64; p];
                for j in 0..d {
                    e.fill(0.0);
                    e[j] = 1.0;
                    self.apply_f64(&e, &mut col);
                    for i in 0..p {
                        m[i * d + j] = col[i];
                    }
                }
                m
            }
        }
    }
}

/// `rounds` random ±1 diagonals of length `p`, drawn in order from `rng`.
fn random_signs(rounds: usize, p: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    (0..rounds)
        .map(|_| {
            (0..p)
                .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::seeded_rng;
    use rand_distr::StandardNormal;

    #[test]
    fn simd_fwht_and_dense_apply_equal_their_scalar_references_bit_for_bit() {
        let mut rng = seeded_rng(11, 1);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for n in [1usize, 2, 4, 8, 64, 512, 1024] {
            let x: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
            let (mut a, mut b) = (x.clone(), x.clone());
            fwht_normalized(&mut a);
            fwht_scalar(&mut b);
            assert_eq!(bits(&a), bits(&b), "fwht n={n}");
        }
        for d in [1usize, 7, 65, 384] {
            let rot = Rotation::new(RotationKind::Haar, d, 1, &mut rng);
            let x: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
            let (mut a, mut b) = (vec![0f64; rot.out_dim()], vec![0f64; rot.out_dim()]);
            rot.apply_f64(&x, &mut a);
            dense_apply_scalar(&rot.matrix(), d, &x, &mut b);
            assert_eq!(bits(&a), bits(&b), "dense d={d}");
            let (mut c, mut e) = (vec![0f64; d], vec![0f64; d]);
            rot.apply_transpose(&a, &mut c);
            dense_apply_transpose_scalar(&rot.matrix(), d, &a, &mut e);
            assert_eq!(bits(&c), bits(&e), "dense transpose d={d}");
        }
    }

    #[test]
    fn in_place_haar_draw_equals_faers_qr_bit_for_bit() {
        // Sizes across faer's block-size steps (recommended_block_size: ≤128², ≤512², …).
        for (p, cols) in [
            (1usize, 1usize),
            (2, 2),
            (7, 5),
            (64, 64),
            (130, 130),
            (600, 599),
            // Column strides that are not multiples of 8, and faer's block sizes 64 and 128 (the
            // one the d = 4096 and 8192 draws use).
            (1030, 1030),
            (2100, 2100),
        ] {
            let a = haar::haar_rows(p, cols, &mut seeded_rng(7, 1));
            let b = haar::haar_rows_by_faer_qr(p, cols, &mut seeded_rng(7, 1));
            assert_eq!(a.len(), p * cols);
            let same = a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "p={p} cols={cols}");
        }
    }

    #[test]
    fn block_rotations_equal_row_by_row_bit_for_bit() {
        let mut rng = seeded_rng(23, 1);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for kind in [
            RotationKind::Haar,
            RotationKind::Hadamard,
            RotationKind::FhtKac,
            RotationKind::None,
        ] {
            for (d, n) in [(1usize, 5usize), (7, 3), (65, 9), (130, 17)] {
                let rot = Rotation::new(kind, d, 1, &mut rng);
                let p = rot.out_dim();
                let x: Vec<f64> = (0..n * d).map(|_| rng.sample(StandardNormal)).collect();
                let mut y = vec![0f64; n * p];
                rot.apply_rows_f64(&x, &mut y);
                let mut back = vec![0f64; n * d];
                rot.apply_transpose_rows(&y, &mut back);
                for r in 0..n {
                    let mut yr = vec![0f64; p];
                    rot.apply_f64(&x[r * d..(r + 1) * d], &mut yr);
                    assert_eq!(
                        bits(&yr),
                        bits(&y[r * p..(r + 1) * p]),
                        "{kind} d={d} row {r}"
                    );
                    let mut br = vec![0f64; d];
                    rot.apply_transpose(&yr, &mut br);
                    assert_eq!(
                        bits(&br),
                        bits(&back[r * d..(r + 1) * d]),
                        "{kind} d={d} row {r}"
                    );
                }
            }
        }
    }

    fn check_orthogonal(rot: &Rotation) {
        let (p, d) = (rot.out_dim(), rot.dim());
        let m = rot.matrix();
        // Columns of the p×d block are orthonormal (Πᵀ·Π = I_d).
        for a in 0..d {
            for b in 0..d {
                let s: f64 = (0..p).map(|i| m[i * d + a] * m[i * d + b]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!(
                    (s - want).abs() < 1e-12,
                    "{:?} d={d}: ({a},{b}) = {s}",
                    rot.kind()
                );
            }
        }
        // apply_transpose inverts apply.
        let x: Vec<f64> = (0..d).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut y = vec![0f64; p];
        rot.apply_f64(&x, &mut y);
        let mut back = vec![0f64; d];
        rot.apply_transpose(&y, &mut back);
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn rotations_are_orthogonal_for_odd_and_even_dims() {
        for kind in [
            RotationKind::Haar,
            RotationKind::Hadamard,
            RotationKind::FhtKac,
            RotationKind::None,
        ] {
            for (d, mult) in [(1, 1), (7, 1), (16, 1), (33, 16), (65, 1)] {
                let rot = Rotation::new(kind, d, mult, &mut seeded_rng(5, 1));
                assert_eq!(rot.out_dim() % mult, 0);
                check_orthogonal(&rot);
            }
        }
        let h = Rotation::new(RotationKind::Hadamard, 130, 1, &mut seeded_rng(1, 1));
        assert_eq!((h.out_dim(), h.padded()), (256, 126));
        let k = Rotation::new(RotationKind::FhtKac, 130, 1, &mut seeded_rng(1, 1));
        assert_eq!((k.out_dim(), k.padded()), (130, 0));
    }
}
