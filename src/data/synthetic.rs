//! Seeded synthetic populations. They are controls with known behaviour: isotropic Gaussian rows
//! (every rotation-based codec's design case), an axis-aligned decaying spectrum (per-row scales
//! meet coordinates of very different size), clustered rows (neighbourhood structure), and
//! unit-normalised rows (cosine = inner product).

use super::Rows;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Which synthetic law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyntheticKind {
    /// x ~ N(0, I).
    Gaussian,
    /// x_j ~ N(0, 1/(j+1)): variance decays like 1/j along the axes.
    Anisotropic,
    /// 32 centres ~ N(0, I); x = centre + 0.35·N(0, I).
    Clustered,
    /// x = g/‖g‖ with g ~ N(0, I).
    Unit,
}

impl SyntheticKind {
    /// Every kind, in catalog order.
    pub const ALL: [SyntheticKind; 4] = [
        SyntheticKind::Gaussian,
        SyntheticKind::Anisotropic,
        SyntheticKind::Clustered,
        SyntheticKind::Unit,
    ];

    /// Catalog name.
    pub fn name(self) -> &'static str {
        match self {
            SyntheticKind::Gaussian => "gaussian",
            SyntheticKind::Anisotropic => "anisotropic",
            SyntheticKind::Clustered => "clustered",
            SyntheticKind::Unit => "unit",
        }
    }

    /// One-line description for `list populations`.
    pub fn describe(self) -> &'static str {
        match self {
            SyntheticKind::Gaussian => "isotropic Gaussian rows x ~ N(0, I)",
            SyntheticKind::Anisotropic => "axis-aligned decaying spectrum x_j ~ N(0, 1/(j+1))",
            SyntheticKind::Clustered => "32 Gaussian clusters, centre ~ N(0, I), spread 0.35",
            SyntheticKind::Unit => "unit-normalised Gaussian rows (cosine = inner product)",
        }
    }
}

/// Number of clusters of [`SyntheticKind::Clustered`].
pub const CLUSTERS: usize = 32;

/// Bytes [`generate`] allocates for `n` rows of `d` values (the rows, plus the centres of
/// [`SyntheticKind::Clustered`] or one f64 row of [`SyntheticKind::Unit`]), saturating; the memory
/// budget checks it before generating.
pub fn generate_bytes(kind: SyntheticKind, n: usize, d: usize) -> u64 {
    let rows = crate::budget::MemoryBudget::rows_bytes(n, d);
    let extra = match kind {
        SyntheticKind::Gaussian | SyntheticKind::Anisotropic => 0,
        SyntheticKind::Clustered => crate::budget::MemoryBudget::rows_bytes(CLUSTERS, d),
        SyntheticKind::Unit => (d as u64).saturating_mul(8),
    };
    rows.saturating_add(extra)
}

/// Generate `n` rows of `d` values; the same arguments always give the same rows. The caller
/// checks [`generate_bytes`] against its memory budget first (an `n × d` that overflows
/// `usize` panics here).
pub fn generate(kind: SyntheticKind, n: usize, d: usize, seed: u64) -> Rows {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = |rng: &mut ChaCha8Rng| -> f32 { rng.sample::<f64, _>(StandardNormal) as f32 };
    let len = n
        .checked_mul(d)
        .expect("n × d overflows usize: check generate_bytes against the memory budget first");
    let mut data = Vec::with_capacity(len);
    match kind {
        SyntheticKind::Gaussian => {
            for _ in 0..len {
                data.push(normal(&mut rng));
            }
        }
        SyntheticKind::Anisotropic => {
            for _ in 0..n {
                for j in 0..d {
                    data.push(normal(&mut rng) / ((j + 1) as f32).sqrt());
                }
            }
        }
        SyntheticKind::Clustered => {
            let centres: Vec<f32> = (0..CLUSTERS * d).map(|_| normal(&mut rng)).collect();
            for _ in 0..n {
                let c = rng.random_range(0..CLUSTERS);
                for j in 0..d {
                    data.push(centres[c * d + j] + 0.35 * normal(&mut rng));
                }
            }
        }
        SyntheticKind::Unit => {
            for _ in 0..n {
                let g: Vec<f64> = (0..d).map(|_| normal(&mut rng) as f64).collect();
                let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
                for x in g {
                    data.push(if norm > 0.0 { (x / norm) as f32 } else { 0.0 });
                }
            }
        }
    }
    Rows::new(d, data)
}
