//! The palette's residual leaves (see the parent module's doc): which one `leaf=` asks for is
//! decided once, in [`Leaf::fit`]; the svd leaf's fit (basis, per-lane scales, pair tables) and
//! the lane quantizer that both leaves store their values with live here, apart from the
//! palette itself.

use super::params::{LaneType, LeafKind, PaletteParams, index_bits};
use super::{PaletteCodec, STREAM_PAL_SAMPLE, subsample};
use crate::codec::decl::{bytes, total};
use crate::codec::dot_f64;
use crate::data::Rows;
use crate::linalg::eigen::sym_eigen_bytes;
use crate::linalg::subspace::top_eigenvectors;
use crate::linalg::{Rotation, seeded_rng};
use half::bf16;
use rayon::prelude::*;

const STREAM_PAL_BASIS: u64 = 0x5041_0002;
const STREAM_PAL_ROT: u64 = 0x5041_0003;
/// The leaf basis and scales are fitted on at most this many training residuals.
pub const LEAF_MAX_ROWS: usize = 16384;
/// Subspace-iteration steps for the leaf basis.
pub const BASIS_ITERS: usize = 120;
/// Clip levels tried per integer lane.
const CLIP_LEVELS: usize = 64;

/// What a fitted leaf keeps, one variant per `leaf=`.
#[derive(Debug, Clone)]
pub(super) enum Leaf {
    None,
    Svd {
        /// lanes × d, row-major (zero rows for lanes beyond d).
        basis: Vec<f32>,
        /// Per-lane scale (integer lanes; unused for bf16).
        scales: Vec<f32>,
        /// Gram matrix of the stored basis, lanes × lanes (for `pair`).
        gram: Vec<f64>,
        /// ⟨c_j, b_l⟩, entries × lanes (for `pair`).
        cb: Vec<f64>,
    },
    Jl {
        rot: Rotation,
        pos_bits: u32,
        has_int: bool,
    },
}

impl Leaf {
    /// Declared peak bytes of fitting the leaf on `train_rows` rows of `d` values around a
    /// `k`-entry palette: svd — at most [`LEAF_MAX_ROWS`] rows' residuals in f64, the d×d
    /// second moment and the subspace iteration's lanes × d blocks; jl — the rotation.
    pub(super) fn fit_bytes(p: &PaletteParams, train_rows: usize, d: usize, k: usize) -> u64 {
        let lanes = p.lanes.len();
        match p.leaf {
            LeafKind::None => 0,
            LeafKind::Jl => Rotation::fit_bytes(p.rot, d, 1),
            LeafKind::Svd => {
                let rows = train_rows.min(LEAF_MAX_ROWS);
                total(&[
                    bytes(rows, 48),
                    bytes(rows, 12).saturating_mul(d as u64),
                    bytes(d, 8).saturating_mul(d as u64),
                    bytes(lanes, 40).saturating_mul(d as u64),
                    bytes(k, 8).saturating_mul(lanes as u64),
                    sym_eigen_bytes(lanes),
                ])
            }
        }
    }

    /// The leaf `leaf=` asks for, fitted on `train` around `codec`'s palette.
    pub(super) fn fit(codec: &PaletteCodec, train: &Rows, seed: u64) -> Leaf {
        let params = &codec.params;
        let d = codec.dim;
        match params.leaf {
            LeafKind::None => Leaf::None,
            LeafKind::Svd => fit_svd(codec, train, seed),
            LeafKind::Jl => {
                let rot = Rotation::new(params.rot, d, 1, &mut seeded_rng(seed, STREAM_PAL_ROT));
                Leaf::Jl {
                    pos_bits: index_bits(rot.out_dim()),
                    has_int: params.lanes.0.iter().any(|t| t.qmax().is_some()),
                    rot,
                }
            }
        }
    }
}

/// The svd leaf: the top `lanes` eigenvectors of the residuals' second moment (subspace
/// iteration), a best-clip scale per integer lane, and what `pair` needs (Gram matrix, ⟨c_j, b_l⟩).
fn fit_svd(codec: &PaletteCodec, train: &Rows, seed: u64) -> Leaf {
    let d = codec.dim;
    let lanes = &codec.params.lanes.0;
    let sub = subsample(train, LEAF_MAX_ROWS, seed, STREAM_PAL_SAMPLE + 1);
    let residuals: Vec<Vec<f64>> = sub
        .as_slice()
        .par_chunks(d)
        .map(|x| {
            let c = codec.entry(codec.nearest(x));
            x.iter()
                .zip(c)
                .map(|(&a, &b)| a as f64 - b as f64)
                .collect()
        })
        .collect();
    // Second moment RᵀR / n (upper triangle, then mirrored).
    let n = residuals.len().max(1) as f64;
    let mut m2 = vec![0f64; d * d];
    m2.par_chunks_mut(d).enumerate().for_each(|(i, row)| {
        for r in &residuals {
            if r[i] != 0.0 {
                let ri = r[i] / n;
                for j in i..d {
                    row[j] += ri * r[j];
                }
            }
        }
    });
    for i in 0..d {
        for j in 0..i {
            m2[i * d + j] = m2[j * d + i];
        }
    }
    let top = top_eigenvectors(
        &m2,
        d,
        lanes.len(),
        BASIS_ITERS,
        &mut seeded_rng(seed, STREAM_PAL_BASIS),
    );
    let mut basis = vec![0f32; lanes.len() * d];
    for (b, t) in basis.iter_mut().zip(&top) {
        *b = *t as f32;
    }
    let scales: Vec<f32> = lanes
        .iter()
        .enumerate()
        .map(|(l, &t)| {
            let b = &basis[l * d..(l + 1) * d];
            let coeffs: Vec<f64> = residuals
                .iter()
                .map(|r| b.iter().zip(r).map(|(&x, &y)| x as f64 * y).sum())
                .collect();
            best_scale(t, &coeffs) as f32
        })
        .collect();
    let nl = lanes.len();
    let mut gram = vec![0f64; nl * nl];
    for i in 0..nl {
        for j in 0..nl {
            gram[i * nl + j] = dot_f64(&basis[i * d..(i + 1) * d], &basis[j * d..(j + 1) * d]);
        }
    }
    let mut cb = vec![0f64; codec.entries * nl];
    cb.par_chunks_mut(nl.max(1))
        .enumerate()
        .for_each(|(j, row)| {
            for (l, o) in row.iter_mut().enumerate() {
                *o = dot_f64(codec.entry(j), &basis[l * d..(l + 1) * d]);
            }
        });
    Leaf::Svd {
        basis,
        scales,
        gram,
        cb,
    }
}

/// Quantize `a` to a lane of type `t` with scale `s` (integer lanes): the stored field.
pub(super) fn quantize(t: LaneType, a: f64, s: f64) -> u32 {
    match t.qmax() {
        None => bf16::from_f64(a).to_bits() as u32,
        Some(q) => {
            let v = if s > 0.0 {
                (a / s * q as f64).round().clamp(-(q as f64), q as f64) as i32
            } else {
                0
            };
            (v as u32) & ((1u32 << t.bits()) - 1)
        }
    }
}

/// The value a stored field stands for.
pub(super) fn dequantize(t: LaneType, field: u32, s: f64) -> f64 {
    match t.qmax() {
        None => bf16::from_bits(field as u16).to_f64(),
        Some(q) => {
            let b = t.bits();
            // Sign-extend the b-bit two's complement field.
            let v = ((field << (32 - b)) as i32) >> (32 - b);
            v as f64 * s / q as f64
        }
    }
}

/// Per-lane scale minimising Σ (a − Q(a))² over the training coefficients among 64 clip levels
/// s = max|a|·j/64, j = 1..=64 (largest j wins ties, so s = max|a| when nothing is better).
fn best_scale(t: LaneType, coeffs: &[f64]) -> f64 {
    let max = coeffs.iter().fold(0f64, |m, &a| m.max(a.abs()));
    if max == 0.0 || t.qmax().is_none() {
        return max;
    }
    let mut best = (f64::INFINITY, max);
    for j in (1..=CLIP_LEVELS).rev() {
        // Round the candidate to f32 first: the stored scale is what encode and decode use.
        let s = (max * j as f64 / CLIP_LEVELS as f64) as f32 as f64;
        let err: f64 = coeffs
            .iter()
            .map(|&a| {
                let e = a - dequantize(t, quantize(t, a, s), s);
                e * e
            })
            .sum();
        if err < best.0 {
            best = (err, s);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_fields_round_trip() {
        for t in [LaneType::I16, LaneType::I8, LaneType::I4, LaneType::I2] {
            let q = t.qmax().unwrap();
            for v in [-q, -1, 0, 1, q] {
                let s = q as f64; // scale = Q ⇒ the value is the integer itself
                let f = quantize(t, v as f64, s);
                assert!(f < (1 << t.bits()));
                assert_eq!(dequantize(t, f, s), v as f64, "{t:?} {v}");
            }
        }
        let f = quantize(LaneType::Bf16, 1.5, 0.0);
        assert_eq!(dequantize(LaneType::Bf16, f, 0.0), 1.5);
    }
}
