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
