//! A dense p×d matrix M applied to many rows at once, bit-identical to the per-row order.
//!
//! The rotation codecs rotate every row by a dense Haar matrix (`y = M·x`) and rotate codes
//! back (`x = Mᵀ·y`). Row by row that is a matrix–vector product that reads all of M from memory
//! for each row (134 MB per row at d = 4096): memory-bound, ~10 ms a row. Here a block of rows
//! is multiplied by M as one blocked product (M read once per block, tiles kept in registers),
//! so the cost is bound by arithmetic instead.
//!
//! Why not faer's or matrixmultiply's GEMM: those reorder each output's sum (and pick their
//! kernels by the CPU's features), so a row's rotation would depend on whether it was encoded
//! alone or in a batch, and on the machine. These kernels keep, for every output, exactly the
//! order of the per-row references, so `encode_all` equals `encode` row by row, bit for bit, on
//! every machine (the contract test checks it), at about half of a fused-multiply-add GEMM's
//! peak (separate multiplies and adds, four f64 lanes):
//!
//! - [`apply_rows`]: `y_r[i] = ⟨M_i, x_r⟩` summed as [`super::dot`] does (four accumulators,
//!   lane l summing k ≡ l (mod 4) in order, reduced as (l0 + l1) + (l2 + l3), then the tail of
//!   d mod 4 products in order). The lane accumulators of a block live in a state buffer between
//!   k-blocks of [`KC`] values, so k-blocking changes no operation.
//! - [`apply_transpose_rows`]: `x_r[j] = Σ_i y_r[i]·M_i[j]` summed sequentially in i from 0
//!   (the order of the per-row `Mᵀy` loop); the partial sums are the output itself.
//!
//! Each has a scalar reference (`*_scalar`, the per-row loops) and an AVX2 path (4 rows × 2
//! matrix rows, or 4 rows × 8 columns, in registers) that equals it bit for bit: the same IEEE
//! multiplies and adds on the same operands in the same order, never fused.

use super::dot_body;

/// Values of k per block of the forward product: a 4-row × 2-matrix-row tile then reads
/// 6 × 4 KiB per block (L1/L2-resident) and the block's lane state is touched once per block.
pub const KC: usize = 512;
/// The most bytes of lane state one forward call keeps (rows are taken in chunks below it).
const STATE_BYTES: usize = 32 << 20;
/// Matrix rows per block of the transposed product.
const IC: usize = 256;

/// `y[r·p + i] = ⟨m_i, x_r⟩` (the reference: [`super::dot`]'s order, row by row). `m` is p×d,
/// `x` is n×d, `y` is n×p, all row-major.
pub fn apply_rows_scalar(m: &[f64], d: usize, x: &[f64], y: &mut [f64]) {
    let (p, n) = dims(m, d, x, y);
    for (yr, xr) in y.chunks_exact_mut(p.max(1)).zip(x.chunks_exact(d)).take(n) {
        for (o, mi) in yr.iter_mut().zip(m.chunks_exact(d)) {
            *o = dot_body(mi, xr);
        }
    }
}

/// [`apply_rows_scalar`], bit for bit, blocked (AVX2 when available).
pub fn apply_rows(m: &[f64], d: usize, x: &[f64], y: &mut [f64]) {
    let (p, n) = dims(m, d, x, y);
    if p == 0 || n == 0 {
        return;
    }
    // The kernels keep four lane accumulators per output of the rows they are given (32·p
    // bytes a row): give them at most STATE_BYTES' worth of rows at a time (a multiple of 4,
    // at least 4). Outputs do not depend on the split.
    let chunk = (STATE_BYTES / (32 * p)).max(4) / 4 * 4;
    for (xc, yc) in x.chunks(chunk * d).zip(y.chunks_mut(chunk * p)) {
        let nc = xc.len() / d;
        #[cfg(target_arch = "x86_64")]
        {
            if super::simd::avx512_available() {
                // SAFETY: AVX-512F was detected at run time; sizes were checked by `dims`.
                unsafe { avx512::forward(m, p, d, xc, nc, yc) };
                continue;
            }
            if super::simd::avx2_available() {
                // SAFETY: AVX2 was detected at run time; sizes were checked by `dims`.
                unsafe { avx2::forward(m, p, d, xc, nc, yc) };
                continue;
            }
        }
        apply_rows_scalar(m, d, xc, yc)
    }
}

/// `out[r·d + j] = Σ_i y[r·p + i]·m_i[j]`, sequential in i from 0 (the reference, row by row).
/// `m` is p×d, `y` is n×p, `out` is n×d.
pub fn apply_transpose_rows_scalar(m: &[f64], d: usize, y: &[f64], out: &mut [f64]) {
    let (p, n) = dims(m, d, out, y);
    for (o, yr) in out
        .chunks_exact_mut(d)
        .zip(y.chunks_exact(p.max(1)))
        .take(n)
    {
        o.fill(0.0);
        for (&yi, mi) in yr.iter().zip(m.chunks_exact(d)) {
            for (oj, &mij) in o.iter_mut().zip(mi) {
                *oj += yi * mij;
            }
        }
    }
}

/// [`apply_transpose_rows_scalar`], bit for bit, blocked (AVX2 when available).
pub fn apply_transpose_rows(m: &[f64], d: usize, y: &[f64], out: &mut [f64]) {
    let (p, n) = dims(m, d, out, y);
    if n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if super::simd::avx512_available() {
            // SAFETY: AVX-512F was detected at run time; sizes were checked by `dims`.
            unsafe { avx512::transpose(m, p, d, y, n, out) };
            return;
        }
        if super::simd::avx2_available() {
            // SAFETY: AVX2 was detected at run time; sizes were checked by `dims`.
            unsafe { avx2::transpose(m, p, d, y, n, out) };
            return;
        }
    }
    apply_transpose_rows_scalar(m, d, y, out)
}

/// (p, n) from a p×d matrix, n rows of d values and n rows of p values; panics on ragged input.
fn dims(m: &[f64], d: usize, rows_d: &[f64], rows_p: &[f64]) -> (usize, usize) {
    assert!(
        d > 0 && m.len().is_multiple_of(d),
        "dense: matrix is not p × d"
    );
    let p = m.len() / d;
    assert!(
        rows_d.len().is_multiple_of(d),
        "dense: ragged rows of d values"
    );
    let n = rows_d.len() / d;
    assert_eq!(rows_p.len(), n * p, "dense: rows of p values");
    (p, n)
}

/// The lane update of one (row, matrix row) pair over `k0..k1` (multiples of 4 apart), in
/// scalar: what one AVX2 accumulator does.
#[inline(always)]
fn lanes_scalar(mi: &[f64], xr: &[f64], k0: usize, k1: usize, acc: &mut [f64]) {
    let mut k = k0;
    while k < k1 {
        for l in 0..4 {
            acc[l] += mi[k + l] * xr[k + l];
        }
        k += 4;
    }
}

/// `(l0 + l1) + (l2 + l3) + tail`, the tail summed as [`super::dot`] sums it.
#[inline(always)]
fn reduce(lanes: &[f64], mi: &[f64], xr: &[f64], d4: usize) -> f64 {
    let tail: f64 = mi[d4..].iter().zip(&xr[d4..]).map(|(a, b)| a * b).sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{IC, KC, lanes_scalar, reduce};
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2 must be available; `m` is p×d, `x` is n×d, `y` is n×p.
    #[target_feature(enable = "avx2")]
    pub unsafe fn forward(m: &[f64], p: usize, d: usize, x: &[f64], n: usize, y: &mut [f64]) {
        let d4 = d - d % 4;
        // Four lane accumulators per output, starting at 0 as `dot`'s do.
        let mut state = vec![0f64; n * p * 4];
        let (full_r, full_i) = (n - n % 4, p - p % TC);
        // The k-block of every full quad of rows packed k-major per quad (once per k-block):
        // xq[(r/4)·4·KC + 4·(k − k0) + 4·rr + l] = x_{r+rr}[k + l] — one contiguous stream per
        // quad instead of four rows 8·d bytes apart, which at power-of-two d share L1 sets.
        let mut xq = vec![0f64; full_r * KC];
        let mut k0 = 0;
        while k0 < d4 {
            let k1 = (k0 + KC).min(d4);
            for r in (0..full_r).step_by(4) {
                let q = &mut xq[r * KC..(r + 4) * KC];
                for k in (k0..k1).step_by(4) {
                    for rr in 0..4 {
                        let at = 4 * (k - k0) + 4 * rr;
                        q[at..at + 4].copy_from_slice(&x[(r + rr) * d + k..(r + rr) * d + k + 4]);
                    }
                }
            }
            // Matrix rows in blocks of IB (kept in L2) and, inside, one 4-row quad at a time
            // (kept in L1) against every pair of the block.
            let mut i0 = 0;
            while i0 < full_i {
                let i1 = (i0 + IB).min(full_i);
                let mut r = 0;
                while r < full_r {
                    let q = &xq[r * KC..(r + 4) * KC];
                    let mut i = i0;
                    while i < i1 {
                        // SAFETY: rows r..r+4 ≤ n, matrix rows i..i+TC ≤ p, k1 ≤ d4 ≤ d,
                        // q holds 4·(k1 − k0) values.
                        unsafe { tile(m, d, i, q, r, k0, k1, &mut state, p) };
                        i += TC;
                    }
                    r += 4;
                }
                for r in full_r..n {
                    for c in i0..i1 {
                        let s = &mut state[(r * p + c) * 4..(r * p + c) * 4 + 4];
                        lanes_scalar(&m[c * d..], &x[r * d..], k0, k1, s);
                    }
                }
                i0 = i1;
            }
            for c in full_i..p {
                for r in 0..n {
                    let s = &mut state[(r * p + c) * 4..(r * p + c) * 4 + 4];
                    lanes_scalar(&m[c * d..], &x[r * d..], k0, k1, s);
                }
            }
            k0 = k1;
        }
        for r in 0..n {
            let xr = &x[r * d..(r + 1) * d];
            for i in 0..p {
                let s = &state[(r * p + i) * 4..(r * p + i) * 4 + 4];
                y[r * p + i] = reduce(s, &m[i * d..(i + 1) * d], xr, d4);
            }
        }
    }

    /// Matrix rows per forward tile: 4 rows × 2 matrix rows keep eight lane accumulators, two
    /// matrix vectors, a row vector and a product in 12 of the 16 AVX2 registers (4 × 3 needs
    /// 17 and spills one accumulator, whose chain through memory then sets the pace).
    const TC: usize = 2;
    /// Matrix rows per block of the forward product (IB × KC values, 256 KiB, stay in L2 while
    /// each row quad, in L1, meets them all).
    const IB: usize = 64;

    /// 4 rows × [`TC`] matrix rows over `k0..k1`: eight lane accumulators in registers; `xq`
    /// holds the four rows' values k0..k1 packed as `xq[4·(k − k0) + 4·rr + l] = x_{r+rr}[k + l]`.
    ///
    /// # Safety
    /// AVX2; `r + 4 ≤ n`, `i + TC ≤ p`, `k1 ≤ d`, `k1 − k0` a multiple of 4,
    /// `xq.len() ≥ 4·(k1 − k0)`.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        m: &[f64],
        d: usize,
        i: usize,
        x: &[f64],
        r: usize,
        k0: usize,
        k1: usize,
        state: &mut [f64],
        p: usize,
    ) {
        let (mp, xp, sp) = (m.as_ptr(), x.as_ptr(), state.as_mut_ptr());
        let at = |rr: usize, c: usize| ((r + rr) * p + i + c) * 4;
        let mut acc = [[_mm256_setzero_pd(); TC]; 4];
        for (rr, a) in acc.iter_mut().enumerate() {
            for (c, v) in a.iter_mut().enumerate() {
                // SAFETY: the state holds n·p·4 values and (r+rr, i+c) is in range.
                *v = unsafe { _mm256_loadu_pd(sp.add(at(rr, c))) };
            }
        }
        let mut k = k0;
        while k < k1 {
            // SAFETY: k + 4 ≤ k1 ≤ d, so every load stays inside its row.
            unsafe {
                let m0 = _mm256_loadu_pd(mp.add(i * d + k));
                let m1 = _mm256_loadu_pd(mp.add((i + 1) * d + k));
                for (rr, a) in acc.iter_mut().enumerate() {
                    let xv = _mm256_loadu_pd(xp.add(4 * (k - k0) + 4 * rr));
                    a[0] = _mm256_add_pd(a[0], _mm256_mul_pd(m0, xv));
                    a[1] = _mm256_add_pd(a[1], _mm256_mul_pd(m1, xv));
                }
            }
            k += 4;
        }
        for (rr, a) in acc.iter().enumerate() {
            for (c, v) in a.iter().enumerate() {
                // SAFETY: as for the loads.
                unsafe { _mm256_storeu_pd(sp.add(at(rr, c)), *v) };
            }
        }
    }

    /// Columns per transposed tile: 4 rows × 8 columns keep eight accumulators, two matrix
    /// vectors, a broadcast and a product in registers (4 × 12 spills, as in [`TC`]'s note).
    const JC: usize = 8;

    /// # Safety
    /// AVX2 must be available; `m` is p×d, `y` is n×p, `out` is n×d.
    #[target_feature(enable = "avx2")]
    pub unsafe fn transpose(m: &[f64], p: usize, d: usize, y: &[f64], n: usize, out: &mut [f64]) {
        // SAFETY: AVX2 is enabled here, so the inlined driver may call `Tile::tile`.
        unsafe { super::transpose_blocks::<Tile>(m, p, d, y, n, out) }
    }

    /// The AVX2 tile of the transposed product: 4 rows × [`JC`] columns.
    pub struct Tile;

    impl super::TransposeTile for Tile {
        const JC: usize = JC;
        const IC: usize = IC;

        #[inline(always)]
        unsafe fn tile(t: super::TileAt<'_>) {
            // SAFETY: the driver runs inside `transpose`, where AVX2 is enabled.
            unsafe { tile_avx2(t) }
        }
    }

    /// # Safety
    /// AVX2; the driver's guarantees for `t` (see [`super::TileAt`]).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn tile_avx2(t: super::TileAt<'_>) {
        let super::TileAt {
            panel,
            y,
            p,
            out,
            d,
            r,
            j,
            i0,
            i1,
        } = t;
        let (qp, yp, op) = (panel.as_ptr(), y.as_ptr(), out.as_mut_ptr());
        // SAFETY: rows r..r+4 ≤ n, columns j..j+JC ≤ d, the panel holds (i1 − i0) × JC values.
        unsafe {
            let mut acc = [[_mm256_setzero_pd(); JC / 4]; 4];
            for (rr, a) in acc.iter_mut().enumerate() {
                for (c, v) in a.iter_mut().enumerate() {
                    *v = _mm256_loadu_pd(op.add((r + rr) * d + j + 4 * c));
                }
            }
            for i in i0..i1 {
                let m0 = _mm256_loadu_pd(qp.add((i - i0) * JC));
                let m1 = _mm256_loadu_pd(qp.add((i - i0) * JC + 4));
                for (rr, a) in acc.iter_mut().enumerate() {
                    let yv = _mm256_set1_pd(*yp.add((r + rr) * p + i));
                    a[0] = _mm256_add_pd(a[0], _mm256_mul_pd(yv, m0));
                    a[1] = _mm256_add_pd(a[1], _mm256_mul_pd(yv, m1));
                }
            }
            for (rr, a) in acc.iter().enumerate() {
                for (c, v) in a.iter().enumerate() {
                    _mm256_storeu_pd(op.add((r + rr) * d + j + 4 * c), *v);
                }
            }
        }
    }
}

/// Where a transposed-product tile works: output rows r..r+4, columns j..j+JC, summed over
/// matrix rows i0..i1 in order; `panel` holds those matrix rows' columns j..j+JC packed
/// contiguously ((i1 − i0) × JC values). The driver guarantees r + 4 ≤ n and j + JC ≤ d.
struct TileAt<'a> {
    panel: &'a [f64],
    y: &'a [f64],
    p: usize,
    out: &'a mut [f64],
    d: usize,
    r: usize,
    j: usize,
    i0: usize,
    i1: usize,
}

/// One SIMD path's tile of the transposed product and its block sizes.
trait TransposeTile {
    /// Columns per tile.
    const JC: usize;
    /// Matrix rows per block (the packed panel, IC × JC values, stays in L1).
    const IC: usize;
    /// Accumulate `out[r..r+4][j..j+JC] += Σ_{i0 ≤ i < i1} y[·][i]·M_i[j..j+JC]`, sequential in i.
    ///
    /// # Safety
    /// The path's CPU feature is enabled in the caller; `t` as [`TileAt`] describes.
    unsafe fn tile(t: TileAt<'_>);
}

/// The transposed product's loops, shared by the SIMD paths (inlined into each path's
/// `#[target_feature]` function, so its tile inlines there too): matrix rows in blocks of
/// `T::IC`, columns in panels of `T::JC` packed contiguously (their rows are 8·d bytes apart in
/// `m`, the same L1 sets at power-of-two d), output rows four at a time through the tile; the
/// remainder rows and columns in scalar, in the same order.
///
/// # Safety
/// The CPU feature `T::tile` needs is enabled; `m` is p×d, `y` is n×p, `out` is n×d.
#[inline(always)]
unsafe fn transpose_blocks<T: TransposeTile>(
    m: &[f64],
    p: usize,
    d: usize,
    y: &[f64],
    n: usize,
    out: &mut [f64],
) {
    out.fill(0.0);
    let (jc, ic) = (T::JC, T::IC);
    let (full_r, full_j) = (n - n % 4, d - d % jc);
    let mut panel = vec![0f64; ic * jc];
    let mut i0 = 0;
    while i0 < p {
        let i1 = (i0 + ic).min(p);
        let mut j = 0;
        while j < full_j {
            for i in i0..i1 {
                panel[(i - i0) * jc..(i - i0 + 1) * jc]
                    .copy_from_slice(&m[i * d + j..i * d + j + jc]);
            }
            let mut r = 0;
            while r < full_r {
                let t = TileAt {
                    panel: &panel,
                    y,
                    p,
                    out: &mut *out,
                    d,
                    r,
                    j,
                    i0,
                    i1,
                };
                // SAFETY: r + 4 ≤ n and j + JC ≤ d; the caller enabled the feature.
                unsafe { T::tile(t) };
                r += 4;
            }
            for r in full_r..n {
                transpose_scalar_block(m, p, d, y, out, r, i0, i1, j, j + jc);
            }
            j += jc;
        }
        for r in 0..n {
            transpose_scalar_block(m, p, d, y, out, r, i0, i1, full_j, d);
        }
        i0 = i1;
    }
}

/// Row r, matrix rows i0..i1, columns j0..j1 of the transposed product, in scalar (the
/// same order as the tiles: sequential in i, each column on its own).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn transpose_scalar_block(
    m: &[f64],
    p: usize,
    d: usize,
    y: &[f64],
    out: &mut [f64],
    r: usize,
    i0: usize,
    i1: usize,
    j0: usize,
    j1: usize,
) {
    for i in i0..i1 {
        let yi = y[r * p + i];
        let (mi, o) = (&m[i * d + j0..i * d + j1], &mut out[r * d + j0..r * d + j1]);
        for (oj, &mij) in o.iter_mut().zip(mi) {
            *oj += yi * mij;
        }
    }
}

/// The AVX-512 paths: the same per-lane operations as [`avx2`], eight f64 lanes per register.
/// Forward: one register holds the four lane accumulators of two outputs (matrix rows i and
/// i + 1), so a 4-row × 8-matrix-row tile keeps 16 registers of accumulators; transposed: a
/// 4-row × 24-column tile. On a CPU with full-width 512-bit units (AMD Zen 5, Intel server
/// cores) this doubles the AVX2 rate.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{KC, lanes_scalar, reduce};
    use std::arch::x86_64::*;

    /// Matrix rows per forward tile (four pairs).
    const TC: usize = 8;
    /// Matrix rows per L2 block of the forward product.
    const IB: usize = 64;
    /// Columns per transposed tile (three registers).
    const JC: usize = 24;
    /// Matrix rows per block of the transposed product (the packed panel, IC × JC values,
    /// 24 KiB, stays in L1).
    const IC: usize = 128;

    /// # Safety
    /// AVX-512F must be available; `m` is p×d, `x` is n×d, `y` is n×p.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn forward(m: &[f64], p: usize, d: usize, x: &[f64], n: usize, y: &mut [f64]) {
        let d4 = d - d % 4;
        let mut state = vec![0f64; n * p * 4];
        let (full_r, full_i) = (n - n % 4, p - p % TC);
        // The k-block of every full quad of rows, packed k-major per quad:
        // xq[(r/4)·4·KC + 16·s + 4·rr + l] = x_{r+rr}[k0 + 4s + l] (once per k-block).
        let mut xq = vec![0f64; full_r * KC];
        // A block of matrix rows packed by pairs: mq[((c/2)·(KC/4) + (k − k0)/4)·8 + 4·(c%2) + l].
        let mut mq = vec![0f64; IB * KC];
        let mut k0 = 0;
        while k0 < d4 {
            let k1 = (k0 + KC).min(d4);
            let steps = (k1 - k0) / 4;
            for r in (0..full_r).step_by(4) {
                let q = &mut xq[r * KC..(r + 4) * KC];
                for s in 0..steps {
                    let k = k0 + 4 * s;
                    for rr in 0..4 {
                        q[16 * s + 4 * rr..16 * s + 4 * rr + 4]
                            .copy_from_slice(&x[(r + rr) * d + k..(r + rr) * d + k + 4]);
                    }
                }
            }
            let mut i0 = 0;
            while i0 < full_i {
                let i1 = (i0 + IB).min(full_i);
                for c in 0..i1 - i0 {
                    let row = &m[(i0 + c) * d..(i0 + c + 1) * d];
                    for s in 0..steps {
                        let at = ((c / 2) * steps + s) * 8 + 4 * (c % 2);
                        mq[at..at + 4].copy_from_slice(&row[k0 + 4 * s..k0 + 4 * s + 4]);
                    }
                }
                let mut r = 0;
                while r < full_r {
                    let q = &xq[r * KC..(r + 4) * KC];
                    let mut i = i0;
                    while i < i1 {
                        // SAFETY: rows r..r+4 ≤ n, matrix rows i..i+TC ≤ i1 ≤ p; mq holds the
                        // pairs of i0..i1 over `steps` steps and q the quad's.
                        unsafe { tile(&mq, (i - i0) / 2, steps, q, r, i, &mut state, p) };
                        i += TC;
                    }
                    r += 4;
                }
                for r in full_r..n {
                    for c in i0..i1 {
                        let s = &mut state[(r * p + c) * 4..(r * p + c) * 4 + 4];
                        lanes_scalar(&m[c * d..], &x[r * d..], k0, k1, s);
                    }
                }
                i0 = i1;
            }
            for c in full_i..p {
                for r in 0..n {
                    let s = &mut state[(r * p + c) * 4..(r * p + c) * 4 + 4];
                    lanes_scalar(&m[c * d..], &x[r * d..], k0, k1, s);
                }
            }
            k0 = k1;
        }
        for r in 0..n {
            let xr = &x[r * d..(r + 1) * d];
            for i in 0..p {
                let s = &state[(r * p + i) * 4..(r * p + i) * 4 + 4];
                y[r * p + i] = reduce(s, &m[i * d..(i + 1) * d], xr, d4);
            }
        }
    }

    /// 4 rows × 8 matrix rows (pairs `pair0..pair0+4` of the packed block) over `steps` steps
    /// of 4 values: sixteen registers, each the lanes of two outputs.
    ///
    /// # Safety
    /// AVX-512F; `r + 4 ≤ n`, `i + 8 ≤ p`, `mq` holds pairs `pair0..pair0+4` and `xq` `steps`
    /// steps.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        mq: &[f64],
        pair0: usize,
        steps: usize,
        xq: &[f64],
        r: usize,
        i: usize,
        state: &mut [f64],
        p: usize,
    ) {
        let (mp, xp, sp) = (mq.as_ptr(), xq.as_ptr(), state.as_mut_ptr());
        // State of outputs (r+rr, i+2pp) and (r+rr, i+2pp+1): eight consecutive values.
        let at = |rr: usize, pp: usize| ((r + rr) * p + i + 2 * pp) * 4;
        let mut acc = [[_mm512_setzero_pd(); 4]; 4];
        for (rr, a) in acc.iter_mut().enumerate() {
            for (pp, v) in a.iter_mut().enumerate() {
                // SAFETY: (r+rr, i+2pp+1) < (n, p), so eight values from `at` are in the state.
                *v = unsafe { _mm512_loadu_pd(sp.add(at(rr, pp))) };
            }
        }
        for s in 0..steps {
            // SAFETY: pair pair0+pp < the block's pairs, step s < steps, quad step s in xq.
            unsafe {
                let m0 = _mm512_loadu_pd(mp.add(((pair0) * steps + s) * 8));
                let m1 = _mm512_loadu_pd(mp.add(((pair0 + 1) * steps + s) * 8));
                let m2 = _mm512_loadu_pd(mp.add(((pair0 + 2) * steps + s) * 8));
                let m3 = _mm512_loadu_pd(mp.add(((pair0 + 3) * steps + s) * 8));
                for (rr, a) in acc.iter_mut().enumerate() {
                    let xv = _mm512_broadcast_f64x4(_mm256_loadu_pd(xp.add(16 * s + 4 * rr)));
                    a[0] = _mm512_add_pd(a[0], _mm512_mul_pd(m0, xv));
                    a[1] = _mm512_add_pd(a[1], _mm512_mul_pd(m1, xv));
                    a[2] = _mm512_add_pd(a[2], _mm512_mul_pd(m2, xv));
                    a[3] = _mm512_add_pd(a[3], _mm512_mul_pd(m3, xv));
                }
            }
        }
        for (rr, a) in acc.iter().enumerate() {
            for (pp, v) in a.iter().enumerate() {
                // SAFETY: as for the loads.
                unsafe { _mm512_storeu_pd(sp.add(at(rr, pp)), *v) };
            }
        }
    }

    /// # Safety
    /// AVX-512F must be available; `m` is p×d, `y` is n×p, `out` is n×d.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn transpose(m: &[f64], p: usize, d: usize, y: &[f64], n: usize, out: &mut [f64]) {
        // SAFETY: AVX-512F is enabled here, so the inlined driver may call `Tile::tile`.
        unsafe { super::transpose_blocks::<Tile>(m, p, d, y, n, out) }
    }

    /// The AVX-512 tile of the transposed product: 4 rows × [`JC`] columns.
    pub struct Tile;

    impl super::TransposeTile for Tile {
        const JC: usize = JC;
        const IC: usize = IC;

        #[inline(always)]
        unsafe fn tile(t: super::TileAt<'_>) {
            // SAFETY: the driver runs inside `transpose`, where AVX-512F is enabled.
            unsafe { tile_avx512(t) }
        }
    }

    /// # Safety
    /// AVX-512F; the driver's guarantees for `t` (see [`super::TileAt`]).
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn tile_avx512(t: super::TileAt<'_>) {
        let super::TileAt {
            panel,
            y,
            p,
            out,
            d,
            r,
            j,
            i0,
            i1,
        } = t;
        let (qp, yp, op) = (panel.as_ptr(), y.as_ptr(), out.as_mut_ptr());
        // SAFETY: rows r..r+4 ≤ n, columns j..j+JC ≤ d, the panel holds (i1 − i0) × JC values.
        unsafe {
            let mut acc = [[_mm512_setzero_pd(); JC / 8]; 4];
            for (rr, a) in acc.iter_mut().enumerate() {
                for (c, v) in a.iter_mut().enumerate() {
                    *v = _mm512_loadu_pd(op.add((r + rr) * d + j + 8 * c));
                }
            }
            for i in i0..i1 {
                let m0 = _mm512_loadu_pd(qp.add((i - i0) * JC));
                let m1 = _mm512_loadu_pd(qp.add((i - i0) * JC + 8));
                let m2 = _mm512_loadu_pd(qp.add((i - i0) * JC + 16));
                for (rr, a) in acc.iter_mut().enumerate() {
                    let yv = _mm512_set1_pd(*yp.add((r + rr) * p + i));
                    a[0] = _mm512_add_pd(a[0], _mm512_mul_pd(yv, m0));
                    a[1] = _mm512_add_pd(a[1], _mm512_mul_pd(yv, m1));
                    a[2] = _mm512_add_pd(a[2], _mm512_mul_pd(yv, m2));
                }
            }
            for (rr, a) in acc.iter().enumerate() {
                for (c, v) in a.iter().enumerate() {
                    _mm512_storeu_pd(op.add((r + rr) * d + j + 8 * c), *v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::seeded_rng;
    use rand::Rng;
    use rand_distr::StandardNormal;

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn blocked_products_equal_the_per_row_references_bit_for_bit() {
        let mut rng = seeded_rng(17, 1);
        // Odd sizes, tile remainders (n mod 4, p mod 3, d mod 12, d mod 4), more than one
        // k-block (d > KC) and more than one i-block (p > 256).
        for &(n, p, d) in &[
            (1, 1, 1),
            (3, 2, 5),
            (4, 3, 4),
            (9, 7, 13),
            (8, 12, 24),
            (5, 65, 65),
            (6, 300, 37),
            (7, 14, 1031),
            (11, 19, 50),
            (8, 16, 1100),
            (13, 130, 97),
            // p so large that the forward product takes its rows 4 at a time (STATE_BYTES).
            (9, 262_147, 6),
        ] {
            let m: Vec<f64> = (0..p * d).map(|_| rng.sample(StandardNormal)).collect();
            let mut x: Vec<f64> = (0..n * d).map(|_| rng.sample(StandardNormal)).collect();
            if n > 2 {
                // A row of −0 and a row of tiny values: signs of zero and subnormals too.
                x[..d].iter_mut().for_each(|v| *v = -0.0);
                x[d..2 * d].iter_mut().for_each(|v| *v = 1e-300);
            }
            let (mut a, mut b) = (vec![0f64; n * p], vec![1f64; n * p]);
            apply_rows_scalar(&m, d, &x, &mut a);
            apply_rows(&m, d, &x, &mut b);
            assert_eq!(bits(&a), bits(&b), "forward n={n} p={p} d={d}");
            // Each SIMD path this CPU has, not only the one the dispatch picks.
            #[cfg(target_arch = "x86_64")]
            {
                if crate::linalg::simd::avx2_available() {
                    b.fill(1.0);
                    // SAFETY: AVX2 detected; sizes as above.
                    unsafe { avx2::forward(&m, p, d, &x, n, &mut b) };
                    assert_eq!(bits(&a), bits(&b), "avx2 forward n={n} p={p} d={d}");
                }
                if crate::linalg::simd::avx512_available() {
                    b.fill(1.0);
                    // SAFETY: AVX-512F detected; sizes as above.
                    unsafe { avx512::forward(&m, p, d, &x, n, &mut b) };
                    assert_eq!(bits(&a), bits(&b), "avx512 forward n={n} p={p} d={d}");
                }
            }
            // The reference is `dot` row by row.
            for r in 0..n {
                for i in 0..p {
                    let want = crate::linalg::dot(&m[i * d..(i + 1) * d], &x[r * d..(r + 1) * d]);
                    assert_eq!(a[r * p + i].to_bits(), want.to_bits());
                }
            }
            let mut yv: Vec<f64> = (0..n * p).map(|_| rng.sample(StandardNormal)).collect();
            if n > 2 {
                yv[..p].iter_mut().for_each(|v| *v = -0.0);
            }
            let (mut c, mut e) = (vec![0f64; n * d], vec![1f64; n * d]);
            apply_transpose_rows_scalar(&m, d, &yv, &mut c);
            apply_transpose_rows(&m, d, &yv, &mut e);
            assert_eq!(bits(&c), bits(&e), "transpose n={n} p={p} d={d}");
            #[cfg(target_arch = "x86_64")]
            {
                if crate::linalg::simd::avx2_available() {
                    e.fill(1.0);
                    // SAFETY: AVX2 detected; sizes as above.
                    unsafe { avx2::transpose(&m, p, d, &yv, n, &mut e) };
                    assert_eq!(bits(&c), bits(&e), "avx2 transpose n={n} p={p} d={d}");
                }
                if crate::linalg::simd::avx512_available() {
                    e.fill(1.0);
                    // SAFETY: AVX-512F detected; sizes as above.
                    unsafe { avx512::transpose(&m, p, d, &yv, n, &mut e) };
                    assert_eq!(bits(&c), bits(&e), "avx512 transpose n={n} p={p} d={d}");
                }
            }
        }
    }
}
