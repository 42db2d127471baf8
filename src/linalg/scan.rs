//! Scan kernels: the inner loops of `Scorer::estimate_all` for the quantized codecs, in f32 with
//! a fixed summation order, each with a scalar reference it matches **bit for bit**.
//!
//! Every kernel sums n per-element f32 terms v_i (a product `q_i · level_i`, or a table entry).
//! The order of that sum is part of the kernel's definition, so the AVX2 path and the scalar
//! reference (and therefore results on machines with and without AVX2) are identical:
//!
//! - **dot kernels** ([`dot_i8`], [`dot_u8`], [`dot_u4`], [`dot_lut`],
//!   [`dot_signed_levels`]):
//!   32 lanes,
//!   lane j sums the terms i ≡ j (mod 32) of the body (the first n − n mod 32 terms) in order,
//!   starting from +0; the lanes are reduced as r_j = (l_j + l_{j+8}) + (l_{j+16} + l_{j+24}) for
//!   j < 8, then ((r_0 + r_4) + (r_2 + r_6)) + ((r_1 + r_5) + (r_3 + r_7)); the tail terms are
//!   then added one by one in order. (Four 8-lane AVX2 accumulators, reduced the usual way.)
//! - **table sums** ([`lut_sum8`], [`lut_sum4`]): the same with 8 lanes (one accumulator).
//!
//! Each term is computed identically on both paths (a level is an exact small integer or a table
//! entry; `q_i · level_i` is one IEEE f32 multiply; no fused multiply–add), so bit-identity holds.
//! Against the f64 estimators these kernels replaced, the f32 sum of n terms differs by at most
//! γ_n·Σ|v_i| with γ_n = n·u/(1 − n·u), u = 2⁻²⁴ (Higham, *Accuracy and Stability of Numerical
//! Algorithms*, §3.1, for any summation order), plus one rounding u·|v_i| per term from
//! forming v_i in f32 and the rounding of the f32 inputs; the codec tests check that bound.

/// Lanes of the dot kernels' summation order.
pub const DOT_LANES: usize = 32;
/// Lanes of the table sums' summation order.
pub const LUT_LANES: usize = 8;

macro_rules! dispatch {
    ($avx:expr, $scalar:expr) => {{
        #[cfg(target_arch = "x86_64")]
        if avx2_available() {
            // SAFETY: AVX2 was detected at run time; the lengths were checked by the caller.
            return unsafe { $avx };
        }
        $scalar
    }};
}

/// True when the AVX2 paths are used on this machine.
pub fn avx2_available() -> bool {
    super::simd::avx2_available()
}

#[inline]
fn reduce8(l: &[f32]) -> f32 {
    let a = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
    (a[0] + a[2]) + (a[1] + a[3])
}

#[inline]
fn reduce32(l: &[f32; DOT_LANES]) -> f32 {
    let mut r = [0f32; 8];
    for (j, rj) in r.iter_mut().enumerate() {
        *rj = (l[j] + l[8 + j]) + (l[16 + j] + l[24 + j]);
    }
    reduce8(&r)
}

/// The reference summation order of the dot kernels over terms `term(0..n)`.
#[inline]
pub fn lanes32_sum(n: usize, term: impl Fn(usize) -> f32) -> f32 {
    let body = n - n % DOT_LANES;
    let mut l = [0f32; DOT_LANES];
    for i in 0..body {
        l[i % DOT_LANES] += term(i);
    }
    let mut s = reduce32(&l);
    for i in body..n {
        s += term(i);
    }
    s
}

/// The reference summation order of the table sums over terms `term(0..n)`.
#[inline]
pub fn lanes8_sum(n: usize, term: impl Fn(usize) -> f32) -> f32 {
    let body = n - n % LUT_LANES;
    let mut l = [0f32; LUT_LANES];
    for i in 0..body {
        l[i % LUT_LANES] += term(i);
    }
    let mut s = reduce8(&l);
    for i in body..n {
        s += term(i);
    }
    s
}

/// Value `i` of a stream of `bits`-bit values packed LSB-first (see [`super::bits`]).
#[inline]
fn packed(code: &[u8], bits: u32, i: usize) -> u32 {
    super::bits::get(code, bits, i) as u32
}

/// `Σ q_i · c_i` with `c` read as i8 (scalar reference).
pub fn dot_i8_scalar(q: &[f32], c: &[u8]) -> f32 {
    assert!(c.len() >= q.len(), "dot_i8: code too short");
    lanes32_sum(q.len(), |i| q[i] * (c[i] as i8) as f32)
}

/// `Σ q_i · c_i` with `c` read as u8 (scalar reference).
pub fn dot_u8_scalar(q: &[f32], c: &[u8]) -> f32 {
    assert!(c.len() >= q.len(), "dot_u8: code too short");
    lanes32_sum(q.len(), |i| q[i] * c[i] as f32)
}

/// `Σ q_i · k_i` with k_i the nibbles of `code` (LSB-first), i.e. [`dot_lut_scalar`] with the
/// identity table (scalar reference).
pub fn dot_u4_scalar(q: &[f32], code: &[u8]) -> f32 {
    assert!(code.len() >= q.len().div_ceil(2), "dot_u4: code too short");
    lanes32_sum(q.len(), |i| q[i] * packed(code, 4, i) as f32)
}

/// `Σ q_i · lut[k_i]` with k_i the `bits`-bit values (1..=4) packed in `code` (scalar reference).
pub fn dot_lut_scalar(q: &[f32], lut: &[f32; 16], code: &[u8], bits: u32) -> f32 {
    assert!((1..=4).contains(&bits), "dot_lut: bits must be 1..=4");
    assert!(
        code.len() >= super::bits::packed_len(q.len(), bits),
        "dot_lut: code too short"
    );
    lanes32_sum(q.len(), |i| q[i] * lut[packed(code, bits, i) as usize])
}

/// `Σ q_i · s_i·(k_i + ½)` with s_i = ±1 from the sign bit i of `signs` and k_i the
/// `ex_bits`-bit values in `ex` (RaBitQ's grid; `ex_bits` 0..=8, 0 meaning k_i = 0)
/// (scalar reference).
pub fn dot_signed_levels_scalar(q: &[f32], signs: &[u8], ex: &[u8], ex_bits: u32) -> f32 {
    assert!(ex_bits <= 8, "dot_signed_levels: ex_bits must be 0..=8");
    assert!(signs.len() >= q.len().div_ceil(8), "signs too short");
    assert!(
        ex_bits == 0 || ex.len() >= super::bits::packed_len(q.len(), ex_bits),
        "ex-bits too short"
    );
    lanes32_sum(q.len(), |i| {
        let k = if ex_bits == 0 {
            0.0
        } else {
            packed(ex, ex_bits, i) as f32
        };
        let level = k + 0.5;
        q[i] * if super::bits::bit(signs, i) {
            level
        } else {
            -level
        }
    })
}

/// `Σ_j table[256·j + code[j]]` over `m` tables of 256 entries (scalar reference).
pub fn lut_sum8_scalar(table: &[f32], code: &[u8], m: usize) -> f32 {
    assert!(table.len() >= 256 * m && code.len() >= m, "lut_sum8: short");
    lanes8_sum(m, |j| table[256 * j + code[j] as usize])
}

/// `Σ_j table[16·j + k_j]` over `m` tables of 16 entries, k_j the nibbles of `code`
/// (LSB-first) (scalar reference).
pub fn lut_sum4_scalar(table: &[f32], code: &[u8], m: usize) -> f32 {
    assert!(
        table.len() >= 16 * m && code.len() >= m.div_ceil(2),
        "lut_sum4: short"
    );
    lanes8_sum(m, |j| {
        table[16 * j + ((code[j / 2] >> (4 * (j % 2))) & 15) as usize]
    })
}

/// `Σ q_i · c_i`, `c` as i8, bit-identical to [`dot_i8_scalar`] (AVX2 when available).
pub fn dot_i8(q: &[f32], c: &[u8]) -> f32 {
    assert!(c.len() >= q.len(), "dot_i8: code too short");
    dispatch!(avx2::dot_int8::<true>(q, c), dot_i8_scalar(q, c))
}

/// `Σ q_i · c_i`, `c` as u8, bit-identical to [`dot_u8_scalar`] (AVX2 when available).
pub fn dot_u8(q: &[f32], c: &[u8]) -> f32 {
    assert!(c.len() >= q.len(), "dot_u8: code too short");
    dispatch!(avx2::dot_int8::<false>(q, c), dot_u8_scalar(q, c))
}

/// `Σ q_i · k_i` over nibbles, bit-identical to [`dot_u4_scalar`] (AVX2 when available).
pub fn dot_u4(q: &[f32], code: &[u8]) -> f32 {
    assert!(code.len() >= q.len().div_ceil(2), "dot_u4: code too short");
    dispatch!(avx2::dot_u4(q, code), dot_u4_scalar(q, code))
}

/// `Σ q_i · lut[k_i]`, bit-identical to [`dot_lut_scalar`] (AVX2 when available).
pub fn dot_lut(q: &[f32], lut: &[f32; 16], code: &[u8], bits: u32) -> f32 {
    assert!((1..=4).contains(&bits), "dot_lut: bits must be 1..=4");
    assert!(
        code.len() >= super::bits::packed_len(q.len(), bits),
        "dot_lut: code too short"
    );
    dispatch!(
        avx2::dot_lut(q, lut, code, bits),
        dot_lut_scalar(q, lut, code, bits)
    )
}

/// RaBitQ's grid dot product, bit-identical to [`dot_signed_levels_scalar`] (AVX2 when
/// available and `ex_bits` ≤ 4).
pub fn dot_signed_levels(q: &[f32], signs: &[u8], ex: &[u8], ex_bits: u32) -> f32 {
    assert!(ex_bits <= 8, "dot_signed_levels: ex_bits must be 0..=8");
    assert!(signs.len() >= q.len().div_ceil(8), "signs too short");
    assert!(
        ex_bits == 0 || ex.len() >= super::bits::packed_len(q.len(), ex_bits),
        "ex-bits too short"
    );
    if ex_bits > 4 {
        return dot_signed_levels_scalar(q, signs, ex, ex_bits);
    }
    dispatch!(
        avx2::dot_signed_levels(q, signs, ex, ex_bits),
        dot_signed_levels_scalar(q, signs, ex, ex_bits)
    )
}

/// `Σ_j table[256·j + code[j]]`, bit-identical to [`lut_sum8_scalar`] (AVX2 gathers when
/// available).
pub fn lut_sum8(table: &[f32], code: &[u8], m: usize) -> f32 {
    assert!(table.len() >= 256 * m && code.len() >= m, "lut_sum8: short");
    dispatch!(
        avx2::lut_sum::<8>(table, code, m),
        lut_sum8_scalar(table, code, m)
    )
}

/// `Σ_j table[16·j + k_j]` over nibbles, bit-identical to [`lut_sum4_scalar`] (AVX2 gathers
/// when available).
pub fn lut_sum4(table: &[f32], code: &[u8], m: usize) -> f32 {
    assert!(
        table.len() >= 16 * m && code.len() >= m.div_ceil(2),
        "lut_sum4: short"
    );
    dispatch!(
        avx2::lut_sum::<4>(table, code, m),
        lut_sum4_scalar(table, code, m)
    )
}

#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{bits, seeded_rng};
    use rand::Rng;

    const LENS: &[usize] = &[0, 1, 7, 8, 31, 32, 33, 65, 130, 384, 767, 768, 1024];

    fn floats(n: usize, rng: &mut impl Rng) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-3.0f32..3.0)).collect()
    }

    fn bytes(n: usize, rng: &mut impl Rng) -> Vec<u8> {
        (0..n).map(|_| rng.random()).collect()
    }

    #[test]
    fn dot_kernels_match_their_references_bit_for_bit() {
        let mut rng = seeded_rng(7, 1);
        for &n in LENS {
            let q = floats(n, &mut rng);
            let c = bytes(n, &mut rng);
            assert_eq!(
                dot_i8(&q, &c).to_bits(),
                dot_i8_scalar(&q, &c).to_bits(),
                "i8 n={n}"
            );
            assert_eq!(
                dot_u8(&q, &c).to_bits(),
                dot_u8_scalar(&q, &c).to_bits(),
                "u8 n={n}"
            );
            let c4 = &c[..n.div_ceil(2)];
            assert_eq!(
                dot_u4(&q, c4).to_bits(),
                dot_u4_scalar(&q, c4).to_bits(),
                "u4 n={n}"
            );
            let ident: [f32; 16] = std::array::from_fn(|k| k as f32);
            assert_eq!(
                dot_u4(&q, c4).to_bits(),
                dot_lut_scalar(&q, &ident, c4, 4).to_bits()
            );
            let lut: [f32; 16] = std::array::from_fn(|_| rng.random_range(-2.0f32..2.0));
            for b in 1..=4u32 {
                let vals: Vec<u8> = (0..n)
                    .map(|_| rng.random_range(0..1u32 << b) as u8)
                    .collect();
                let mut code = vec![0u8; bits::packed_len(n, b)];
                bits::pack(&vals, b, &mut code);
                let fast = dot_lut(&q, &lut, &code, b);
                assert_eq!(
                    fast.to_bits(),
                    dot_lut_scalar(&q, &lut, &code, b).to_bits(),
                    "lut n={n} b={b}"
                );
                // The reference itself is the documented sum of q_i · lut[k_i].
                let r = lanes32_sum(n, |i| q[i] * lut[vals[i] as usize]);
                assert_eq!(fast.to_bits(), r.to_bits());
            }
            for eb in 0..=8u32 {
                let signs = bytes(n.div_ceil(8), &mut rng);
                let ex = if eb == 0 {
                    Vec::new()
                } else {
                    let vals: Vec<u8> = (0..n)
                        .map(|_| rng.random_range(0..1u32 << eb) as u8)
                        .collect();
                    let mut code = vec![0u8; bits::packed_len(n, eb)];
                    bits::pack(&vals, eb, &mut code);
                    code
                };
                assert_eq!(
                    dot_signed_levels(&q, &signs, &ex, eb).to_bits(),
                    dot_signed_levels_scalar(&q, &signs, &ex, eb).to_bits(),
                    "signed levels n={n} ex_bits={eb}"
                );
            }
        }
    }

    #[test]
    fn table_sums_match_their_references_bit_for_bit() {
        let mut rng = seeded_rng(7, 2);
        for &m in LENS {
            let t8 = floats(256 * m, &mut rng);
            let t4 = floats(16 * m, &mut rng);
            let c = bytes(m, &mut rng);
            assert_eq!(
                lut_sum8(&t8, &c, m).to_bits(),
                lut_sum8_scalar(&t8, &c, m).to_bits(),
                "m={m}"
            );
            assert_eq!(
                lut_sum4(&t4, &c, m).to_bits(),
                lut_sum4_scalar(&t4, &c, m).to_bits(),
                "m={m}"
            );
        }
    }

    #[test]
    fn the_lane_order_is_the_documented_one() {
        // Terms 2^k for lanes that would round differently under another order: a plain check
        // that lanes32_sum adds lane j's terms in order and reduces as documented.
        let n = 70;
        let t: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 1.1f32.powi(i as i32))
            .collect();
        let mut l = [0f32; 32];
        for i in 0..64 {
            l[i % 32] += t[i];
        }
        let r: Vec<f32> = (0..8)
            .map(|j| (l[j] + l[8 + j]) + (l[16 + j] + l[24 + j]))
            .collect();
        let mut s = ((r[0] + r[4]) + (r[2] + r[6])) + ((r[1] + r[5]) + (r[3] + r[7]));
        s += t[64];
        for x in &t[65..] {
            s += x;
        }
        assert_eq!(lanes32_sum(n, |i| t[i]).to_bits(), s.to_bits());
    }

    #[test]
    fn short_codes_are_refused() {
        assert!(std::panic::catch_unwind(|| dot_i8(&[1.0, 2.0], &[1])).is_err());
        assert!(std::panic::catch_unwind(|| dot_lut(&[1.0; 9], &[0.0; 16], &[0; 4], 4)).is_err());
    }
}
