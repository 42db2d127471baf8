//! The scalar fields codecs store inside a code (little-endian f32 scales and norms, bf16
//! headers) and the rounding rules for them, written once for every codec that stores one.

use half::bf16;

/// The little-endian f32 at byte offset `at` of `code`.
#[inline]
pub fn f32_at(code: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([code[at], code[at + 1], code[at + 2], code[at + 3]])
}

/// Write `v` as a little-endian f32 at byte offset `at` of `code`.
#[inline]
pub fn put_f32(code: &mut [u8], at: usize, v: f32) {
    code[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// max |x_i| (0 for an empty or all-zero slice): the absmax scale's numerator.
#[inline]
pub fn absmax(x: &[f32]) -> f32 {
    x.iter().fold(0f32, |m, &v| m.max(v.abs()))
}

/// The smallest bf16 ≥ `m` (m ≥ 0 and finite): a stored magnitude or band header that no value
/// it scales can exceed, so nothing clips. Rounds to nearest, then steps up one ulp if that
/// landed below `m` (one step always suffices; past bf16::MAX it gives +∞).
pub fn bf16_round_up(m: f64) -> bf16 {
    let mut b = bf16::from_f64(m);
    while b.to_f64() < m {
        b = bf16::from_bits(b.to_bits() + 1);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_round_up_never_rounds_down() {
        for m in [0.0, 1.0, 1.0 + 1e-3, 0.3, 123.456, 3.3e38] {
            let b = bf16_round_up(m).to_f64();
            assert!(b >= m, "{m} → {b}");
            // …and it is the smallest such bf16.
            let below = bf16::from_bits(bf16_round_up(m).to_bits().saturating_sub(1)).to_f64();
            assert!(m == 0.0 || below < m, "{m}: {below}");
        }
        let mut code = [0u8; 6];
        put_f32(&mut code, 2, -1.5);
        assert_eq!(f32_at(&code, 2), -1.5);
        assert_eq!(absmax(&[1.0, -3.0, 2.0]), 3.0);
    }
}
