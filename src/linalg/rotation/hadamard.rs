//! Walsh–Hadamard transforms: the normalised fast transform and the structured random rotations
//! built from it (randomized Hadamard with zero padding; FHT–Kac without padding).

/// In-place Walsh–Hadamard transform scaled by 1/√n (orthogonal and symmetric);
/// `x.len()` must be a power of two.
pub fn fwht_normalized(x: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if crate::linalg::simd::avx2_available() {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { fwht_avx2(x) };
    }
    fwht_body(x)
}

/// [`fwht_normalized`]'s scalar reference: butterflies in place, then the 1/√n scaling. The
/// AVX2 path is this same code compiled with AVX2 enabled: the same IEEE additions,
/// subtractions and multiplications in the same order (floating-point operations are never
/// reassociated or fused), so the result is bit-identical, four lanes at a time.
pub fn fwht_scalar(x: &mut [f64]) {
    fwht_body(x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fwht_avx2(x: &mut [f64]) {
    fwht_body(x)
}

#[inline(always)]
fn fwht_body(x: &mut [f64]) {
    let n = x.len();
    debug_assert!(n.is_power_of_two());
    let mut h = 1;
    while h < n {
        for block in x.chunks_exact_mut(2 * h) {
            let (a, b) = block.split_at_mut(h);
            for (u, v) in a.iter_mut().zip(b.iter_mut()) {
                let (s, t) = (*u + *v, *u - *v);
                *u = s;
                *v = t;
            }
        }
        h *= 2;
    }
    let s = 1.0 / (n as f64).sqrt();
    for v in x.iter_mut() {
        *v *= s;
    }
}

/// Number of randomized Hadamard rounds (`rot=hadamard`).
pub const HADAMARD_ROUNDS: usize = 3;

/// Number of FHT–Kac rounds (`rot=fht-kac`): four, as RaBitQ-Library's `FhtKacRotator`.
pub const FHT_KAC_ROUNDS: usize = 4;

/// Randomized Hadamard in place on a power-of-two `x` (zero-padded by the caller): per round,
/// `x ← H·D_r·x`.
pub(super) fn hadamard_forward(signs: &[Vec<f64>], x: &mut [f64]) {
    for s in signs {
        flip(x, s);
        fwht_normalized(x);
    }
}

/// The inverse of [`hadamard_forward`] (H and D_r are symmetric involutions).
pub(super) fn hadamard_inverse(signs: &[Vec<f64>], x: &mut [f64]) {
    for s in signs.iter().rev() {
        fwht_normalized(x);
        flip(x, s);
    }
}

/// The largest power of two ≤ `p` (the FHT block of an FHT–Kac rotation of `p` coordinates).
pub(super) fn fht_block(p: usize) -> usize {
    if p == 0 { 0 } else { 1 << p.ilog2() }
}

/// FHT–Kac in place on `x` (any length p ≥ 1, no padding; the module doc of
/// [`super`] says why each step is there). Round r, with m the largest power of two ≤ p:
/// x ← P_r·x, x ← D_{2r}·x, H_m on x[..m]; unless p = m: x ← D_{2r+1}·x, H_m on x[p−m..], then the
/// Kac butterflies (x_i, x_{i+h}) ← ((x_i + x_{i+h})/√2, (x_i − x_{i+h})/√2), i < h = ⌊p/2⌋.
/// Every step is orthogonal. `signs` holds 2 diagonals per round, `perms` one permutation
/// (P_r·x)_i = x_{π_r(i)}.
pub(super) fn fht_kac_forward(signs: &[Vec<f64>], perms: &[Vec<u32>], x: &mut [f64]) {
    let (p, m) = (x.len(), fht_block(x.len()));
    let mut buf = vec![0f64; p];
    for (s, pi) in signs.chunks_exact(2).zip(perms) {
        for (b, &j) in buf.iter_mut().zip(pi) {
            *b = x[j as usize];
        }
        for ((v, &b), &si) in x.iter_mut().zip(&buf).zip(&s[0]) {
            *v = b * si;
        }
        fwht_normalized(&mut x[..m]);
        if m < p {
            flip(x, &s[1]);
            fwht_normalized(&mut x[p - m..]);
            kac_butterflies(x);
        }
    }
}

/// The inverse of [`fht_kac_forward`]: the rounds backwards, each step its own inverse (the
/// butterfly matrix [[1, 1], [1, −1]]/√2, H_m and the sign diagonals are symmetric involutions;
/// the permutation is undone by scattering).
pub(super) fn fht_kac_inverse(signs: &[Vec<f64>], perms: &[Vec<u32>], x: &mut [f64]) {
    let (p, m) = (x.len(), fht_block(x.len()));
    let mut buf = vec![0f64; p];
    for (s, pi) in signs.chunks_exact(2).zip(perms).rev() {
        if m < p {
            kac_butterflies(x);
            fwht_normalized(&mut x[p - m..]);
            flip(x, &s[1]);
        }
        fwht_normalized(&mut x[..m]);
        for ((b, &v), &si) in buf.iter_mut().zip(x.iter()).zip(&s[0]) {
            *b = v * si;
        }
        for (&b, &j) in buf.iter().zip(pi) {
            x[j as usize] = b;
        }
    }
}

fn flip(x: &mut [f64], signs: &[f64]) {
    for (v, &s) in x.iter_mut().zip(signs) {
        *v *= s;
    }
}

fn kac_butterflies(x: &mut [f64]) {
    let h = x.len() / 2;
    let (lo, hi) = x.split_at_mut(h);
    for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
        let (s, t) = (*a + *b, *a - *b);
        *a = s * std::f64::consts::FRAC_1_SQRT_2;
        *b = t * std::f64::consts::FRAC_1_SQRT_2;
    }
}
