//! Blocked f64 inner products of f32 rows (`queries × base`), bit-identical to the plain loop.
//!
//! The reference is the plain `Σ_k q_k·x_k` with each f32 × f32 product formed exactly in f64
//! and summed sequentially in k order by `Iterator::sum` ([`inner_products_scalar`]). The fast
//! path keeps that order for every output element, so it reproduces the reference **bit for
//! bit**: it only changes which elements are computed together. Base rows are packed four at a
//! time into k-major f64 panels (one AVX2 register holds one k of four rows), and a 4-query ×
//! 2-panel tile keeps eight independent accumulator chains in flight, so the cost is bound by
//! arithmetic instead of by the latency of one long chain of additions. The exact codec's
//! estimates use the same sequential order, so its rank metrics stay exactly 1.

/// `out[i·n + j] = Σ_k q_i[k]·x_j[k]` in f64, sequential in k (the reference); `queries` and
/// `base` are row-major with rows of `dim` values, `n = base.len() / dim`.
pub fn inner_products_scalar(queries: &[f32], base: &[f32], dim: usize, out: &mut [f64]) {
    let n = check(queries, base, dim, out);
    if n == 0 {
        return;
    }
    for (o, q) in out
        .chunks_exact_mut(n)
        .zip(queries.chunks_exact(dim.max(1)))
    {
        for (oj, x) in o.iter_mut().zip(base.chunks_exact(dim.max(1))) {
            *oj = dot_sequential(q, x);
        }
    }
}

#[inline]
fn dot_sequential(q: &[f32], x: &[f32]) -> f64 {
    q.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum()
}

fn check(queries: &[f32], base: &[f32], dim: usize, out: &[f64]) -> usize {
    let d = dim.max(1);
    assert!(
        queries.len().is_multiple_of(d) && base.len().is_multiple_of(d),
        "inner_products: ragged rows"
    );
    let n = if dim == 0 { 0 } else { base.len() / d };
    let nq = if dim == 0 { 0 } else { queries.len() / d };
    assert_eq!(out.len(), nq * n, "inner_products: output size");
    n
}

/// The same products as [`inner_products_scalar`], bit for bit (AVX2 when available).
pub fn inner_products(queries: &[f32], base: &[f32], dim: usize, out: &mut [f64]) {
    let n = check(queries, base, dim, out);
    if n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2_available() {
        // SAFETY: AVX2 was detected at run time; sizes were checked above.
        unsafe { avx2::inner_products(queries, base, dim, n, out) };
        return;
    }
    inner_products_scalar(queries, base, dim, out);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::dot_sequential;
    use std::arch::x86_64::*;

    const QB: usize = 4;
    const RB: usize = 8;

    /// # Safety
    /// AVX2 must be available; `queries`, `base` are whole rows of `dim`, `out` is nq × n.
    #[target_feature(enable = "avx2")]
    pub unsafe fn inner_products(
        queries: &[f32],
        base: &[f32],
        dim: usize,
        n: usize,
        out: &mut [f64],
    ) {
        let nq = queries.len() / dim;
        // The start value of `Iterator::sum` for f64, so sums of only −0 products agree too.
        let init = _mm256_set1_pd(std::iter::empty::<f64>().sum::<f64>());
        let q64: Vec<f64> = queries.iter().map(|&v| v as f64).collect();
        let mut panel = vec![0f64; RB * dim];
        let full_q = nq - nq % QB;
        let mut j0 = 0;
        while j0 + RB <= n {
            // Pack rows j0..j0+8 as two k-major panels of four rows: panel[p·4d + 4k + r].
            for p in 0..2 {
                for r in 0..4 {
                    let row = &base[(j0 + 4 * p + r) * dim..(j0 + 4 * p + r + 1) * dim];
                    for (k, &v) in row.iter().enumerate() {
                        panel[p * 4 * dim + 4 * k + r] = v as f64;
                    }
                }
            }
            let mut i = 0;
            while i < full_q {
                let mut acc = [[init; 2]; QB];
                let pp = panel.as_ptr();
                for k in 0..dim {
                    // SAFETY: 4k + 3 < 4·dim and 4·dim + 4k + 3 < 8·dim = panel.len().
                    let (b0, b1) = unsafe {
                        (
                            _mm256_loadu_pd(pp.add(4 * k)),
                            _mm256_loadu_pd(pp.add(4 * dim + 4 * k)),
                        )
                    };
                    for (r, a) in acc.iter_mut().enumerate() {
                        let qv = _mm256_set1_pd(q64[(i + r) * dim + k]);
                        a[0] = _mm256_add_pd(a[0], _mm256_mul_pd(qv, b0));
                        a[1] = _mm256_add_pd(a[1], _mm256_mul_pd(qv, b1));
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    let o = &mut out[(i + r) * n + j0..(i + r) * n + j0 + RB];
                    // SAFETY: o has 8 f64.
                    unsafe {
                        _mm256_storeu_pd(o.as_mut_ptr(), a[0]);
                        _mm256_storeu_pd(o.as_mut_ptr().add(4), a[1]);
                    }
                }
                i += QB;
            }
            for i in full_q..nq {
                let q = &queries[i * dim..(i + 1) * dim];
                for j in j0..j0 + RB {
                    out[i * n + j] = dot_sequential(q, &base[j * dim..(j + 1) * dim]);
                }
            }
            j0 += RB;
        }
        for i in 0..nq {
            let q = &queries[i * dim..(i + 1) * dim];
            for j in j0..n {
                out[i * n + j] = dot_sequential(q, &base[j * dim..(j + 1) * dim]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::seeded_rng;
    use rand::Rng;

    #[test]
    fn the_blocked_kernel_equals_the_plain_loop_bit_for_bit() {
        let mut rng = seeded_rng(3, 1);
        for &(nq, n, d) in &[
            (1, 1, 1),
            (5, 9, 7),
            (4, 8, 384),
            (7, 21, 65),
            (9, 17, 130),
            (3, 0, 4),
        ] {
            let q: Vec<f32> = (0..nq * d)
                .map(|_| rng.random_range(-2.0f32..2.0))
                .collect();
            let mut x: Vec<f32> = (0..n * d).map(|_| rng.random_range(-2.0f32..2.0)).collect();
            if n > 2 {
                // Rows of −0 and of tiny values: sign of zero and denormal behaviour too.
                x[..d].iter_mut().for_each(|v| *v = -0.0);
                x[d..2 * d].iter_mut().for_each(|v| *v = 1e-30);
            }
            let mut a = vec![0f64; nq * n];
            let mut b = vec![1f64; nq * n];
            inner_products_scalar(&q, &x, d, &mut a);
            inner_products(&q, &x, d, &mut b);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "nq={nq} n={n} d={d}");
        }
    }
}
