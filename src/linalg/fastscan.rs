//! PQ FastScan: 4-bit product-quantization codes scored with u8 look-up tables held in SIMD
//! registers (André, Kermarrec, Le Scouarnec, "Cache locality is not enough: high-performance
//! nearest neighbor search with product quantization fast scan", VLDB 2015; FAISS
//! `IndexPQFastScan`, `PQ{M}x4fs`). No codec knowledge: tables in, integer sums out.
//!
//! **LUT quantization** ([`quantize_lut`]). The m float tables t_j (16 entries each) become u8
//! with one shared scale a and a per-table bias min_j:
//! q_{j,k} = ⌊(t_{j,k} − min_j)·a + ½⌋ (computed in f64), with
//! a = min(255 / max_j s_j, (65535 − m) / Σ_j s_j), s_j = max_k t_{j,k} − min_j (FAISS's
//! `quantize_LUT_and_bias` rule, with m of headroom instead of none). Then every entry fits a u8
//! (s_j·a ≤ 255) and every row's sum fits a u16: Σ_j q_{j,k_j} ≤ Σ_j (s_j·a + ½ + ε) ≤
//! a·Σ s_j + m ≤ 65535 (ε < ½ covers the f64 rounding of (t − min)·a), so u16 accumulation never
//! wraps and the sums are exact integers. The estimate is `Σ q / a + Σ_j min_j` (f64).
//!
//! **Error bound.** Each entry is off by |q/a − (t − min)| ≤ ½/a (plus f64 rounding), so the
//! estimate differs from the exact sum Σ_j t_{j,k_j} of the f32 table by at most
//! **m / (2a)** = m·max(max_j s_j / 510, Σ_j s_j / (2·(65535 − m))), plus a few f64 ulps of
//! |Σ min_j| + 65535/a. ([`QuantLut::error_bound`].)
//!
//! **Layout** ([`pack_blocks`]). Rows go in blocks of 32 (the last one padded with code 0); m is
//! padded to even m_p with zero tables. Per block and sub-quantizer pair p (sub-quantizers 2p,
//! 2p+1), 32 bytes: byte i < 16 holds code(row i, 2p) in its low nibble and code(row 16 + i, 2p)
//! in its high nibble; byte 16 + i the same for sub-quantizer 2p + 1. The quantized tables of the
//! pair are the 32 contiguous bytes `lut[32p..32p + 32]`, so one `vpshufb` looks up 16 rows of
//! both sub-quantizers at once: low nibbles give rows 0..16, high nibbles rows 16..32.
//!
//! **Accumulation** (AVX2). The looked-up bytes are added as u16 lanes: A += r (each lane holds
//! even row + 256·odd row, wrapping mod 2¹⁶) and B += r >> 8 (odd rows); even rows are
//! A − (B << 8) mod 2¹⁶, exact because the true sums are ≤ 65535. The 128-bit halves (even /
//! odd sub-quantizers) are added at the end. [`block_sums_scalar`] is the reference: plain
//! integer sums over the same layout, **exactly** equal to the AVX2 result, and [`sum_code`]
//! sums a row-major code; all three give the same u16 for the same row.

/// Rows per packed block.
pub const BLOCK: usize = 32;

/// Quantized look-up tables of one query.
#[derive(Debug, Clone)]
pub struct QuantLut {
    /// Sub-quantizers (before padding).
    pub m: usize,
    /// `m_p × 16` u8 entries, m_p = m rounded up to even (the padding table is zero).
    pub lut: Vec<u8>,
    /// The shared scale a.
    pub scale: f64,
    /// Σ_j min_j.
    pub bias: f64,
}

impl QuantLut {
    /// Sub-quantizers after padding to even.
    pub fn m_padded(&self) -> usize {
        self.lut.len() / 16
    }
    /// The estimate for an integer sum: `sum / a + Σ min_j`.
    #[inline]
    pub fn value(&self, sum: u16) -> f64 {
        sum as f64 / self.scale + self.bias
    }
    /// The largest sum s with `value(s) ≤ v`, or 0: rows whose sum is below it score below
    /// `v` (since `value` is non-decreasing in the sum), so a top-k scan can skip them.
    pub fn sum_floor(&self, v: f64) -> u16 {
        // Start from the real-arithmetic guess and correct it against `value` itself, so the
        // answer is exact whatever the rounding of the guess.
        let guess = ((v - self.bias) * self.scale).clamp(0.0, 65535.0) as u32;
        let mut s = guess.min(65535);
        while s > 0 && self.value(s as u16) > v {
            s -= 1;
        }
        while s < 65535 && self.value((s + 1) as u16) <= v {
            s += 1;
        }
        s as u16
    }
    /// The bound m / (2a) on |value(Σ q) − Σ_j t_{j,k_j}| (see the module docs), widened by
    /// the f64 rounding of the estimate.
    pub fn error_bound(&self) -> f64 {
        self.m as f64 / (2.0 * self.scale) * (1.0 + 1e-12)
            + 1e-12 * (self.bias.abs() + 65535.0 / self.scale)
    }
}

/// Quantize the m tables `table[16·j..16·j + 16]` (see the module docs for the rule).
/// Panics when m ≥ 65535 (the u16 headroom) or an entry is not finite.
pub fn quantize_lut(table: &[f32], m: usize) -> QuantLut {
    assert!(m < 65535, "quantize_lut: m must be < 65535");
    assert!(table.len() >= 16 * m, "quantize_lut: short table");
    let mut mins = vec![0f64; m];
    let (mut max_span, mut sum_span) = (0f64, 0f64);
    for (j, t) in table.chunks_exact(16).take(m).enumerate() {
        // min / max of f32 values are exact in f32 (branch-free so the loop vectorizes).
        let (mut lo, mut hi) = (t[0], t[0]);
        for &v in &t[1..] {
            lo = if v < lo { v } else { lo };
            hi = if v > hi { v } else { hi };
        }
        assert!(
            t.iter().all(|v| v.is_finite()),
            "quantize_lut: non-finite entry"
        );
        let (lo, hi) = (lo as f64, hi as f64);
        mins[j] = lo;
        max_span = max_span.max(hi - lo);
        sum_span += hi - lo;
    }
    let scale = if max_span > 0.0 {
        (255.0 / max_span).min((65535.0 - m as f64) / sum_span)
    } else {
        1.0
    };
    let m_p = m + m % 2;
    let mut lut = vec![0u8; 16 * m_p];
    for (j, t) in table.chunks_exact(16).take(m).enumerate() {
        let lo = mins[j];
        for (q, &v) in lut[16 * j..16 * j + 16].iter_mut().zip(t) {
            // x ≥ ½ > 0, so the truncating cast is ⌊x⌋ (no libm floor call); ≤ 255 by the rule.
            *q = (((v as f64 - lo) * scale + 0.5) as u32).min(255) as u8;
        }
    }
    QuantLut {
        m,
        lut,
        scale,
        bias: mins.iter().sum(),
    }
}

/// Σ_j lut[16·j + k_j] over a row-major packed 4-bit code (sub-quantizer j in nibble j: low
/// nibble first), the scalar reference for one row.
pub fn sum_code(lut: &QuantLut, code: &[u8]) -> u16 {
    let mut s = 0u32;
    for j in 0..lut.m {
        let k = (code[j / 2] >> (4 * (j % 2))) & 15;
        s += lut.lut[16 * j + k as usize] as u32;
    }
    debug_assert!(s <= 65535);
    s as u16
}

/// Codes of n rows in FastScan blocks (see the module docs).
#[derive(Debug, Clone)]
pub struct Blocks {
    /// Rows (before padding).
    pub n: usize,
    /// Sub-quantizers after padding to even.
    pub m_padded: usize,
    /// `⌈n/32⌉ × (m_p/2) × 32` bytes.
    pub data: Vec<u8>,
}

impl Blocks {
    /// Bytes per block.
    pub fn block_bytes(&self) -> usize {
        16 * self.m_padded
    }
    /// Block `b`.
    pub fn block(&self, b: usize) -> &[u8] {
        let w = self.block_bytes();
        &self.data[b * w..(b + 1) * w]
    }
    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        self.n.div_ceil(BLOCK)
    }
}

/// Pack n row-major 4-bit codes of m sub-quantizers (`codes` has stride `code_bytes` ≥ ⌈m/2⌉)
/// into blocks.
pub fn pack_blocks(codes: &[u8], code_bytes: usize, m: usize) -> Blocks {
    assert!(code_bytes >= m.div_ceil(2), "pack_blocks: code too short");
    let n = codes.len() / code_bytes;
    let m_p = m + m % 2;
    let w = 16 * m_p;
    let mut data = vec![0u8; n.div_ceil(BLOCK) * w];
    let nib = |row: usize, j: usize| -> u8 {
        if j >= m {
            return 0;
        }
        (codes[row * code_bytes + j / 2] >> (4 * (j % 2))) & 15
    };
    for (b, blk) in data.chunks_exact_mut(w).enumerate() {
        let r0 = b * BLOCK;
        let rows = (n - r0).min(BLOCK);
        let c = |i: usize, j: usize| if i < rows { nib(r0 + i, j) } else { 0 };
        for p in 0..m_p / 2 {
            let out = &mut blk[32 * p..32 * p + 32];
            for i in 0..16 {
                out[i] = c(i, 2 * p) | (c(16 + i, 2 * p) << 4);
                out[16 + i] = c(i, 2 * p + 1) | (c(16 + i, 2 * p + 1) << 4);
            }
        }
    }
    Blocks {
        n,
        m_padded: m_p,
        data,
    }
}

/// The 32 row sums of one block, scalar reference (exactly equal to [`block_sums`]).
pub fn block_sums_scalar(lut: &[u8], block: &[u8], out: &mut [u16; BLOCK]) {
    assert!(lut.len() == block.len(), "block_sums: lut / block size");
    let mut s = [0u32; BLOCK];
    for (l, c) in lut.chunks_exact(32).zip(block.chunks_exact(32)) {
        for i in 0..16 {
            for half in 0..2 {
                let byte = c[16 * half + i];
                let t = &l[16 * half..16 * half + 16];
                s[i] += t[(byte & 15) as usize] as u32;
                s[16 + i] += t[(byte >> 4) as usize] as u32;
            }
        }
    }
    for (o, v) in out.iter_mut().zip(s) {
        *o = v as u16;
    }
}

/// The 32 row sums of one block (AVX2 when available), exactly equal to
/// [`block_sums_scalar`] provided the sums fit a u16 (which [`quantize_lut`] guarantees).
pub fn block_sums(lut: &[u8], block: &[u8], out: &mut [u16; BLOCK]) {
    assert!(lut.len() == block.len(), "block_sums: lut / block size");
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2_available() {
        // SAFETY: AVX2 was detected at run time; the lengths were checked above.
        return unsafe { avx2::block_sums(lut, block, out) };
    }
    block_sums_scalar(lut, block, out)
}

/// Scan every row of `blocks`: `out[i] = lut.value(sum of row i)` (`out.len() == blocks.n`).
pub fn scan(lut: &QuantLut, blocks: &Blocks, out: &mut [f64]) {
    assert!(
        out.len() == blocks.n && lut.m_padded() == blocks.m_padded,
        "fastscan::scan: sizes"
    );
    let mut sums = [0u16; BLOCK];
    for (b, o) in out.chunks_mut(BLOCK).enumerate() {
        block_sums(&lut.lut, blocks.block(b), &mut sums);
        for (v, &s) in o.iter_mut().zip(&sums) {
            *v = lut.value(s);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::BLOCK;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2")]
    pub unsafe fn block_sums(lut: &[u8], block: &[u8], out: &mut [u16; BLOCK]) {
        // SAFETY (whole body): every load reads 32 bytes at 32·p < lut.len() == block.len(),
        // a multiple of 32; the stores write the 64 bytes of `out`.
        unsafe {
            let mask = _mm256_set1_epi8(0x0f);
            let mut a_lo = _mm256_setzero_si256();
            let mut b_lo = _mm256_setzero_si256();
            let mut a_hi = _mm256_setzero_si256();
            let mut b_hi = _mm256_setzero_si256();
            let (lp, cp) = (lut.as_ptr(), block.as_ptr());
            for p in 0..block.len() / 32 {
                let l = _mm256_loadu_si256(lp.add(32 * p) as *const __m256i);
                let c = _mm256_loadu_si256(cp.add(32 * p) as *const __m256i);
                let clo = _mm256_and_si256(c, mask);
                let chi = _mm256_and_si256(_mm256_srli_epi16::<4>(c), mask);
                let rlo = _mm256_shuffle_epi8(l, clo);
                let rhi = _mm256_shuffle_epi8(l, chi);
                a_lo = _mm256_add_epi16(a_lo, rlo);
                b_lo = _mm256_add_epi16(b_lo, _mm256_srli_epi16::<8>(rlo));
                a_hi = _mm256_add_epi16(a_hi, rhi);
                b_hi = _mm256_add_epi16(b_hi, _mm256_srli_epi16::<8>(rhi));
            }
            let e_lo = _mm256_sub_epi16(a_lo, _mm256_slli_epi16::<8>(b_lo));
            let e_hi = _mm256_sub_epi16(a_hi, _mm256_slli_epi16::<8>(b_hi));
            macro_rules! fold {
                ($v:expr) => {
                    _mm_add_epi16(
                        _mm256_castsi256_si128($v),
                        _mm256_extracti128_si256::<1>($v),
                    )
                };
            }
            let (el, ol, eh, oh) = (fold!(e_lo), fold!(b_lo), fold!(e_hi), fold!(b_hi));
            let o = out.as_mut_ptr() as *mut __m128i;
            _mm_storeu_si128(o, _mm_unpacklo_epi16(el, ol));
            _mm_storeu_si128(o.add(1), _mm_unpackhi_epi16(el, ol));
            _mm_storeu_si128(o.add(2), _mm_unpacklo_epi16(eh, oh));
            _mm_storeu_si128(o.add(3), _mm_unpackhi_epi16(eh, oh));
        }
    }
}
