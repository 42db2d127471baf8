//! SIMD scan kernels with their scalar references: XOR/AND popcount over bit codes (sign and
//! 1-bit RaBitQ codes), int8 × int8 dot products, and f32 × int8 dot products accumulated in f64.
//!
//! Each public kernel picks the AVX2 path at run time (`is_x86_feature_detected!`) and otherwise
//! runs its `*_scalar` reference. The AVX2 paths agree with the references bit for bit: popcounts
//! and integer dots are exact, and [`dot_f32_i8`] fixes its summation order (four f64 lanes,
//! lane j summing elements i ≡ j (mod 4) in order, reduced as (l0 + l1) + (l2 + l3), then the tail
//! in order), which the scalar reference reproduces; every product f32 × i8 is exact in f64.

/// Number of differing bits between two equally long byte strings (scalar reference).
pub fn hamming_scalar(a: &[u8], b: &[u8]) -> u32 {
    assert_eq!(a.len(), b.len(), "hamming: length mismatch");
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Number of bits set in both byte strings (scalar reference); with a query bit plane this is
/// the ⟨query plane, code bits⟩ term of RaBitQ's quantized-query estimator.
pub fn and_popcount_scalar(a: &[u8], b: &[u8]) -> u32 {
    assert_eq!(a.len(), b.len(), "and_popcount: length mismatch");
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// `Σ a_i b_i` over int8 values, exact in i32 (scalar reference). Exact for lengths up to
/// 2^31 / 128² ≈ 131k.
pub fn dot_i8_scalar(a: &[i8], b: &[i8]) -> i32 {
    assert_eq!(a.len(), b.len(), "dot_i8: length mismatch");
    a.iter()
        .zip(b)
        .fold(0i32, |s, (&x, &y)| s.wrapping_add(x as i32 * y as i32))
}

/// `Σ q_i c_i` in f64 with the lane order described in the module docs (scalar reference).
pub fn dot_f32_i8_scalar(q: &[f32], c: &[i8]) -> f64 {
    assert_eq!(q.len(), c.len(), "dot_f32_i8: length mismatch");
    let body = q.len() - q.len() % 4;
    let mut lanes = [0f64; 4];
    for (qs, cs) in q[..body].chunks_exact(4).zip(c[..body].chunks_exact(4)) {
        for j in 0..4 {
            lanes[j] += qs[j] as f64 * cs[j] as f64;
        }
    }
    let mut s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (&x, &y) in q[body..].iter().zip(&c[body..]) {
        s += x as f64 * y as f64;
    }
    s
}

/// True when the CPU has AVX-512 Foundation (the dense rotation kernels' widest path).
pub fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True when the AVX2 paths are used on this machine.
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Number of differing bits (AVX2 when available).
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    assert_eq!(a.len(), b.len(), "hamming: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if avx2_available() {
        // SAFETY: AVX2 was detected at run time; lengths are equal.
        return unsafe { avx2::popcount2::<false>(a, b) };
    }
    hamming_scalar(a, b)
}

/// Number of bits set in both (AVX2 when available).
pub fn and_popcount(a: &[u8], b: &[u8]) -> u32 {
    assert_eq!(a.len(), b.len(), "and_popcount: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if avx2_available() {
        // SAFETY: AVX2 was detected at run time; lengths are equal.
        return unsafe { avx2::popcount2::<true>(a, b) };
    }
    and_popcount_scalar(a, b)
}

/// `Σ a_i b_i` over int8 values, exact (AVX2 when available).
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    assert_eq!(a.len(), b.len(), "dot_i8: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if avx2_available() {
        // SAFETY: AVX2 was detected at run time; lengths are equal.
        return unsafe { avx2::dot_i8(a, b) };
    }
    dot_i8_scalar(a, b)
}

/// `Σ q_i c_i` in f64, bit-identical to [`dot_f32_i8_scalar`] (AVX2 when available).
pub fn dot_f32_i8(q: &[f32], c: &[i8]) -> f64 {
    assert_eq!(q.len(), c.len(), "dot_f32_i8: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if avx2_available() {
        // SAFETY: AVX2 was detected at run time; lengths are equal.
        return unsafe { avx2::dot_f32_i8(q, c) };
    }
    dot_f32_i8_scalar(q, c)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// XOR (AND = false) or AND (AND = true) popcount with the nibble-LUT method.
    ///
    /// # Safety
    /// The CPU must support AVX2 and `a.len() == b.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn popcount2<const AND: bool>(a: &[u8], b: &[u8]) -> u32 {
        let n = a.len();
        let body = n - n % 32;
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let mut acc = _mm256_setzero_si256();
        let mut i = 0;
        while i < body {
            // SAFETY: i + 32 <= body <= len of both slices; unaligned loads.
            let (x, y) = unsafe {
                (
                    _mm256_loadu_si256(a.as_ptr().add(i) as *const __m256i),
                    _mm256_loadu_si256(b.as_ptr().add(i) as *const __m256i),
                )
            };
            let v = if AND {
                _mm256_and_si256(x, y)
            } else {
                _mm256_xor_si256(x, y)
            };
            let lo = _mm256_and_si256(v, low);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
            let cnt = _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
            acc = _mm256_add_epi64(acc, _mm256_sad_epu8(cnt, _mm256_setzero_si256()));
            i += 32;
        }
        let mut lanes = [0u64; 4];
        // SAFETY: lanes is 32 bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc) };
        let tail: u32 = a[body..]
            .iter()
            .zip(&b[body..])
            .map(|(x, y)| if AND { x & y } else { x ^ y }.count_ones())
            .sum();
        (lanes.iter().sum::<u64>() as u32).wrapping_add(tail)
    }

    /// Exact int8 dot product: sign-extend 16 values to i16, `madd` pairs into i32 lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2 and `a.len() == b.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len();
        let body = n - n % 16;
        let mut acc = _mm256_setzero_si256();
        let mut i = 0;
        while i < body {
            // SAFETY: i + 16 <= body <= len of both slices; unaligned loads.
            let (x, y) = unsafe {
                (
                    _mm_loadu_si128(a.as_ptr().add(i) as *const __m128i),
                    _mm_loadu_si128(b.as_ptr().add(i) as *const __m128i),
                )
            };
            let p = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x), _mm256_cvtepi8_epi16(y));
            acc = _mm256_add_epi32(acc, p);
            i += 16;
        }
        let mut lanes = [0i32; 8];
        // SAFETY: lanes is 32 bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc) };
        let mut s = lanes.iter().fold(0i32, |s, &x| s.wrapping_add(x));
        for (&x, &y) in a[body..].iter().zip(&b[body..]) {
            s = s.wrapping_add(x as i32 * y as i32);
        }
        s
    }

    /// f32 × int8 in four f64 lanes (exact products), fixed reduction order.
    ///
    /// # Safety
    /// The CPU must support AVX2 and `q.len() == c.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_f32_i8(q: &[f32], c: &[i8]) -> f64 {
        let n = q.len();
        let body = n - n % 4;
        let mut acc = _mm256_setzero_pd();
        let mut i = 0;
        while i < body {
            // SAFETY: i + 4 <= body <= len of both slices; unaligned loads.
            let (qv, cv) = unsafe {
                (
                    _mm_loadu_ps(q.as_ptr().add(i)),
                    (c.as_ptr().add(i) as *const i32).read_unaligned(),
                )
            };
            let qd = _mm256_cvtps_pd(qv);
            let cd = _mm256_cvtepi32_pd(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(cv)));
            acc = _mm256_add_pd(acc, _mm256_mul_pd(qd, cd));
            i += 4;
        }
        let mut l = [0f64; 4];
        // SAFETY: l is 32 bytes.
        unsafe { _mm256_storeu_pd(l.as_mut_ptr(), acc) };
        let mut s = (l[0] + l[1]) + (l[2] + l[3]);
        for (&x, &y) in q[body..].iter().zip(&c[body..]) {
            s += x as f64 * y as f64;
        }
        s
    }
}
