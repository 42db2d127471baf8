//! The AVX2 paths of the scan kernels, compiled for AVX2 at run time (`target_feature`) and
//! used only when the CPU has it; each sums its terms in exactly the order of its scalar
//! reference in the parent module, so the results are bit-identical.

use super::{DOT_LANES, LUT_LANES, reduce8, reduce32};
use std::arch::x86_64::*;

/// Horizontal sum of the four accumulators in the documented order.
#[target_feature(enable = "avx2")]
fn finish(acc: [__m256; 4]) -> f32 {
    let mut l = [0f32; DOT_LANES];
    for (k, a) in acc.iter().enumerate() {
        // SAFETY: l has 32 floats; each store writes 8 of them.
        unsafe { _mm256_storeu_ps(l.as_mut_ptr().add(8 * k), *a) };
    }
    reduce32(&l)
}

/// Four little-endian bytes from `code[at..]`, zero-filled past the end.
#[inline]
fn load_u32(code: &[u8], at: usize) -> u32 {
    if at + 4 <= code.len() {
        u32::from_le_bytes([code[at], code[at + 1], code[at + 2], code[at + 3]])
    } else {
        let mut b = [0u8; 4];
        let n = code.len().saturating_sub(at).min(4);
        b[..n].copy_from_slice(&code[at..at + n]);
        u32::from_le_bytes(b)
    }
}

/// Eight consecutive `bits`-bit values (bits ≤ 4) starting at value `8·g`, as i32 lanes.
#[target_feature(enable = "avx2")]
fn eight_values(code: &[u8], bits: u32, g: usize, shifts: __m256i, mask: __m256i) -> __m256i {
    let x = load_u32(code, g * bits as usize) as i32;
    _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(x), shifts), mask)
}

/// The 32 nibbles of `code[at..at + 16]` in element order (LSB-first), as four registers
/// of eight i32.
#[target_feature(enable = "avx2")]
fn nibbles32(code: &[u8], at: usize) -> [__m256i; 4] {
    assert!(at + 16 <= code.len());
    // SAFETY: at + 16 <= code.len(); unaligned load.
    let b = unsafe { _mm_loadu_si128(code.as_ptr().add(at) as *const __m128i) };
    let m = _mm_set1_epi8(0x0f);
    let lo = _mm_and_si128(b, m);
    let hi = _mm_and_si128(_mm_srli_epi16::<4>(b), m);
    let (e0, e1) = (_mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi));
    [
        _mm256_cvtepu8_epi32(e0),
        _mm256_cvtepu8_epi32(_mm_srli_si128::<8>(e0)),
        _mm256_cvtepu8_epi32(e1),
        _mm256_cvtepu8_epi32(_mm_srli_si128::<8>(e1)),
    ]
}

/// # Safety
/// AVX2 must be available and `code.len() >= q.len().div_ceil(2)`.
#[target_feature(enable = "avx2")]
pub unsafe fn dot_u4(q: &[f32], code: &[u8]) -> f32 {
    let n = q.len();
    let body = n - n % DOT_LANES;
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i < body {
        let idx = nibbles32(code, i / 2);
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8k + 8 <= body <= q.len().
            let qv = unsafe { _mm256_loadu_ps(q.as_ptr().add(i + 8 * k)) };
            *a = _mm256_add_ps(*a, _mm256_mul_ps(qv, _mm256_cvtepi32_ps(idx[k])));
        }
        i += DOT_LANES;
    }
    let mut s = finish(acc);
    for (j, &qj) in q.iter().enumerate().skip(body) {
        s += qj * super::packed(code, 4, j) as f32;
    }
    s
}

fn shifts(bits: u32) -> [i32; 8] {
    std::array::from_fn(|k| (k as u32 * bits) as i32)
}

/// # Safety
/// AVX2 must be available and `c.len() >= q.len()`.
#[target_feature(enable = "avx2")]
pub unsafe fn dot_int8<const SIGNED: bool>(q: &[f32], c: &[u8]) -> f32 {
    let n = q.len();
    let body = n - n % DOT_LANES;
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i < body {
        for (k, a) in acc.iter_mut().enumerate() {
            let at = i + 8 * k;
            // SAFETY: at + 8 <= body <= q.len() <= c.len(); unaligned loads.
            let (qv, cv) = unsafe {
                (
                    _mm256_loadu_ps(q.as_ptr().add(at)),
                    (c.as_ptr().add(at) as *const i64).read_unaligned(),
                )
            };
            let bytes = _mm_cvtsi64_si128(cv);
            let ints = if SIGNED {
                _mm256_cvtepi8_epi32(bytes)
            } else {
                _mm256_cvtepu8_epi32(bytes)
            };
            *a = _mm256_add_ps(*a, _mm256_mul_ps(qv, _mm256_cvtepi32_ps(ints)));
        }
        i += DOT_LANES;
    }
    let mut s = finish(acc);
    for j in body..n {
        let level = if SIGNED {
            (c[j] as i8) as f32
        } else {
            c[j] as f32
        };
        s += q[j] * level;
    }
    s
}

/// # Safety
/// AVX2 must be available, `bits` in 1..=4 and `code` at least `packed_len(q.len(), bits)`.
#[target_feature(enable = "avx2")]
pub unsafe fn dot_lut(q: &[f32], lut: &[f32; 16], code: &[u8], bits: u32) -> f32 {
    let n = q.len();
    let body = n - n % DOT_LANES;
    // SAFETY: lut has 16 floats.
    let (lo, hi) = unsafe {
        (
            _mm256_loadu_ps(lut.as_ptr()),
            _mm256_loadu_ps(lut.as_ptr().add(8)),
        )
    };
    let sh = shifts(bits);
    // SAFETY: sh has 8 i32.
    let sh = unsafe { _mm256_loadu_si256(sh.as_ptr() as *const __m256i) };
    let mask = _mm256_set1_epi32((1 << bits) - 1);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i < body {
        let nib = if bits == 4 {
            nibbles32(code, i / 2)
        } else {
            [_mm256_setzero_si256(); 4]
        };
        for (k, a) in acc.iter_mut().enumerate() {
            let at = i + 8 * k;
            let idx = if bits == 4 {
                nib[k]
            } else {
                eight_values(code, bits, at / 8, sh, mask)
            };
            let mut vals = _mm256_permutevar8x32_ps(lo, idx);
            if bits == 4 {
                let upper = _mm256_permutevar8x32_ps(hi, idx);
                let sel = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx));
                vals = _mm256_blendv_ps(vals, upper, sel);
            }
            // SAFETY: at + 8 <= body <= q.len().
            let qv = unsafe { _mm256_loadu_ps(q.as_ptr().add(at)) };
            *a = _mm256_add_ps(*a, _mm256_mul_ps(qv, vals));
        }
        i += DOT_LANES;
    }
    let mut s = finish(acc);
    for j in body..n {
        s += q[j] * lut[super::packed(code, bits, j) as usize];
    }
    s
}

/// # Safety
/// AVX2 must be available, `ex_bits` ≤ 4, and `signs`/`ex` long enough for `q.len()` values.
#[target_feature(enable = "avx2")]
pub unsafe fn dot_signed_levels(q: &[f32], signs: &[u8], ex: &[u8], ex_bits: u32) -> f32 {
    let n = q.len();
    let body = n - n % DOT_LANES;
    let bitsel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    let signbit = _mm256_set1_epi32(i32::MIN);
    let half = _mm256_set1_ps(0.5);
    let (sh, mask) = if ex_bits > 0 {
        let s = shifts(ex_bits);
        // SAFETY: s has 8 i32.
        (
            unsafe { _mm256_loadu_si256(s.as_ptr() as *const __m256i) },
            _mm256_set1_epi32((1 << ex_bits) - 1),
        )
    } else {
        (_mm256_setzero_si256(), _mm256_setzero_si256())
    };
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i < body {
        for (k, a) in acc.iter_mut().enumerate() {
            let at = i + 8 * k;
            let level = if ex_bits > 0 {
                let idx = eight_values(ex, ex_bits, at / 8, sh, mask);
                _mm256_add_ps(_mm256_cvtepi32_ps(idx), half)
            } else {
                half
            };
            let byte = _mm256_set1_epi32(signs[at / 8] as i32);
            let set = _mm256_cmpeq_epi32(_mm256_and_si256(byte, bitsel), bitsel);
            let flip = _mm256_castsi256_ps(_mm256_andnot_si256(set, signbit));
            let signed = _mm256_xor_ps(level, flip);
            // SAFETY: at + 8 <= body <= q.len().
            let qv = unsafe { _mm256_loadu_ps(q.as_ptr().add(at)) };
            *a = _mm256_add_ps(*a, _mm256_mul_ps(qv, signed));
        }
        i += DOT_LANES;
    }
    let mut s = finish(acc);
    for (j, &qj) in q.iter().enumerate().skip(body) {
        let k = if ex_bits == 0 {
            0.0
        } else {
            super::packed(ex, ex_bits, j) as f32
        };
        let level = k + 0.5;
        s += qj
            * if super::super::bits::bit(signs, j) {
                level
            } else {
                -level
            };
    }
    s
}

/// Table sums with `BITS` = 8 (byte indices, 256-entry tables) or 4 (nibbles, 16 entries).
///
/// # Safety
/// AVX2 must be available and `table`/`code` long enough for `m` tables.
#[target_feature(enable = "avx2")]
pub unsafe fn lut_sum<const BITS: u32>(table: &[f32], code: &[u8], m: usize) -> f32 {
    let k = 1i32 << BITS;
    let body = m - m % LUT_LANES;
    let step = _mm256_set1_epi32(8 * k);
    let mut offs = _mm256_mullo_epi32(
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        _mm256_set1_epi32(k),
    );
    let sh = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    let mask = _mm256_set1_epi32(15);
    let mut acc = _mm256_setzero_ps();
    let mut j = 0;
    while j < body {
        let idx = if BITS == 8 {
            // SAFETY: j + 8 <= body <= m <= code.len().
            let b = unsafe { (code.as_ptr().add(j) as *const i64).read_unaligned() };
            _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(b))
        } else {
            eight_values(code, 4, j / 8, sh, mask)
        };
        // SAFETY: every index 16·j' + k_j' (or 256·j' + byte) with j' < m is < table.len().
        let v = unsafe { _mm256_i32gather_ps::<4>(table.as_ptr(), _mm256_add_epi32(idx, offs)) };
        acc = _mm256_add_ps(acc, v);
        offs = _mm256_add_epi32(offs, step);
        j += LUT_LANES;
    }
    let mut l = [0f32; LUT_LANES];
    // SAFETY: l has 8 floats.
    unsafe { _mm256_storeu_ps(l.as_mut_ptr(), acc) };
    let mut s = reduce8(&l);
    for jj in body..m {
        s += if BITS == 8 {
            table[256 * jj + code[jj] as usize]
        } else {
            table[16 * jj + ((code[jj / 2] >> (4 * (jj % 2))) & 15) as usize]
        };
    }
    s
}
