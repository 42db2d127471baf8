//! The Haar rotation: drawing a Haar-random orthogonal matrix (faer's QR of a Gaussian matrix
//! with the sign fix) and applying it one row at a time (the reference that the block product
//! [`crate::linalg::dense`] equals bit for bit).

use crate::linalg::{axpy, dot};
use rand::Rng;
use rand_distr::StandardNormal;

/// A p×p Haar-random orthogonal matrix, row-major (see [`super::RotationKind::Haar`]).
pub fn haar_orthogonal(p: usize, rng: &mut impl Rng) -> Vec<f64> {
    haar_rows(p, p, rng)
}

/// The first `cols` columns of the rows of a p×p Haar-random orthogonal matrix.
///
/// The rows g_i of a p×p iid N(0,1) matrix G (drawn row by row) are orthonormalised in order:
/// the Q of the QR decomposition Gᵀ = Q·R with R's diagonal made positive, whose columns are the
/// output's rows — exactly the sign-fixed QR that makes Q Haar-distributed (Mezzadri 2007), and
/// the same matrix, up to rounding, as modified Gram–Schmidt on the rows. The QR is faer's
/// (Householder, blocked), run in place on G's storage and Q formed from its Householder
/// factors — the same calls, block size and parallelism as faer's `Mat::qr()` +
/// `Qr::compute_Q()`, so the same matrix bit for bit (tested), without their copies of G, of the
/// basis and of R: at most two p×p matrices are alive (8 GiB of 6 at p = 16384 before; 1 GiB at
/// p = 8192). A (probability-zero) rank-deficient draw falls back to Gram–Schmidt on a fresh
/// draw, with redraws.
pub(super) fn haar_rows(p: usize, cols: usize, rng: &mut impl Rng) -> Vec<f64> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::householder;
    use faer::linalg::qr::no_pivoting::factor;
    use faer::reborrow::{Reborrow, ReborrowMut};
    let mut g: Vec<f64> = (0..p * p).map(|_| rng.sample(StandardNormal)).collect();
    // G row-major is Gᵀ column-major: faer factors it in place.
    let mut gt = faer::MatMut::from_column_major_slice_mut(&mut g, p, p);
    let par = faer::get_global_parallelism();
    let block = factor::recommended_block_size::<f64>(p, p);
    let mut coeff = faer::Mat::<f64>::zeros(block, p);
    factor::qr_in_place(
        gt.rb_mut(),
        coeff.as_mut(),
        par,
        MemStack::new(&mut MemBuffer::new(factor::qr_in_place_scratch::<f64>(
            p,
            p,
            block,
            par,
            Default::default(),
        ))),
        Default::default(),
    );
    // R's diagonal is G's factored diagonal.
    let diag: Vec<f64> = (0..p).map(|i| gt[(i, i)]).collect();
    let scale = diag.iter().fold(0.0f64, |m, r| m.max(r.abs()));
    if !(scale > 0.0 && diag.iter().all(|r| r.abs() > 1e-8 * scale)) {
        drop(g);
        let fresh: Vec<f64> = (0..p * p).map(|_| rng.sample(StandardNormal)).collect();
        let q = gram_schmidt_rows(fresh, p, rng);
        return q
            .chunks_exact(p)
            .flat_map(|row| row[..cols].iter().copied())
            .collect();
    }
    // The Householder basis as faer's `Qr` holds it: unit diagonal, zeros above.
    for j in 0..p {
        for i in 0..j {
            gt[(i, j)] = 0.0;
        }
        gt[(j, j)] = 1.0;
    }
    let mut q = faer::Mat::<f64>::identity(p, p);
    householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        gt.rb(),
        coeff.as_ref(),
        faer::Conj::No,
        q.as_mut(),
        par,
        MemStack::new(&mut MemBuffer::new(
            householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
                p, block, p,
            ),
        )),
    );
    drop(g);
    sign_fixed_rows(q.as_ref(), |i| diag[i], cols)
}

/// Row i of the result is column i of Q (contiguous in faer's column-major storage), its first
/// `cols` entries, with the sign of R_ii.
fn sign_fixed_rows(
    q: faer::MatRef<'_, f64>,
    r_diag: impl Fn(usize) -> f64,
    cols: usize,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(q.ncols() * cols);
    for i in 0..q.ncols() {
        let sign = if r_diag(i) < 0.0 { -1.0 } else { 1.0 };
        let col = q.col(i);
        out.extend((0..cols).map(|j| sign * col[j]));
    }
    out
}

/// [`haar_rows`] by faer's high-level `Mat::qr()` + `Qr::compute_Q()` (the reference the
/// in-place path is tested against; it holds six p×p matrices at its peak).
#[cfg(test)]
pub(super) fn haar_rows_by_faer_qr(p: usize, cols: usize, rng: &mut impl Rng) -> Vec<f64> {
    let g: Vec<f64> = (0..p * p).map(|_| rng.sample(StandardNormal)).collect();
    let gt = faer::MatRef::from_column_major_slice(&g, p, p);
    let qr = gt.qr();
    let (q_mat, r_mat) = (qr.compute_Q(), qr.R());
    sign_fixed_rows(q_mat.as_ref(), |i| r_mat[(i, i)], cols)
}

/// Modified Gram–Schmidt on the rows of `g` (p × p), redrawing a row that is (numerically) in
/// the span of the ones before it.
fn gram_schmidt_rows(mut g: Vec<f64>, p: usize, rng: &mut impl Rng) -> Vec<f64> {
    for i in 0..p {
        loop {
            let mut v = g[i * p..(i + 1) * p].to_vec();
            let before = dot(&v, &v).sqrt();
            for k in 0..i {
                let qk = &g[k * p..(k + 1) * p];
                let r = dot(qk, &v);
                axpy(-r, qk, &mut v);
            }
            let n = dot(&v, &v).sqrt();
            if n > 1e-8 * before && n > 0.0 {
                for (dst, &x) in g[i * p..(i + 1) * p].iter_mut().zip(&v) {
                    *dst = x / n;
                }
                break;
            }
            for x in g[i * p..(i + 1) * p].iter_mut() {
                *x = rng.sample(StandardNormal);
            }
        }
    }
    g
}

/// `out_i = ⟨row_i, x⟩` for the rows of a dense p×d matrix, each by [`crate::linalg::dot`]'s
/// four-accumulator order; AVX2 when available (the same code compiled with AVX2: bit-identical).
pub(super) fn dense_apply(m: &[f64], dim: usize, x: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if crate::linalg::simd::avx2_available() {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { dense_apply_avx2(m, dim, x, out) };
    }
    dense_apply_scalar(m, dim, x, out)
}

/// `out = Σ_i y_i · row_i` (Mᵀy) for the rows of a dense p×d matrix, row by row in order;
/// AVX2 when available (the same code compiled with AVX2: elementwise multiplies and adds,
/// never fused, so bit-identical).
pub(super) fn dense_apply_transpose(m: &[f64], dim: usize, y: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if crate::linalg::simd::avx2_available() {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { dense_apply_transpose_avx2(m, dim, y, out) };
    }
    dense_apply_transpose_scalar(m, dim, y, out)
}

/// [`dense_apply_transpose`]'s scalar reference.
pub fn dense_apply_transpose_scalar(m: &[f64], dim: usize, y: &[f64], out: &mut [f64]) {
    dense_apply_transpose_body(m, dim, y, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dense_apply_transpose_avx2(m: &[f64], dim: usize, y: &[f64], out: &mut [f64]) {
    dense_apply_transpose_body(m, dim, y, out)
}

#[inline(always)]
fn dense_apply_transpose_body(m: &[f64], dim: usize, y: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    for (&yi, row) in y.iter().zip(m.chunks_exact(dim)) {
        for (o, &r) in out.iter_mut().zip(row) {
            *o += yi * r;
        }
    }
}

/// [`dense_apply`]'s scalar reference.
pub fn dense_apply_scalar(m: &[f64], dim: usize, x: &[f64], out: &mut [f64]) {
    dense_apply_body(m, dim, x, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dense_apply_avx2(m: &[f64], dim: usize, x: &[f64], out: &mut [f64]) {
    dense_apply_body(m, dim, x, out)
}

#[inline(always)]
fn dense_apply_body(m: &[f64], dim: usize, x: &[f64], out: &mut [f64]) {
    for (o, row) in out.iter_mut().zip(m.chunks_exact(dim)) {
        *o = crate::linalg::dot_body(row, x);
    }
}
