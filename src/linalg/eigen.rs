// Method: the symmetric eigenproblem and the SVD by faer (Householder tridiagonalisation /
// bidiagonalisation and divide-and-conquer, Golub & Van Loan, "Matrix Computations", 4th ed.,
// §8.3 and §8.6), sequential so results do not depend on the thread count; orthogonal
// Procrustes by P. H. Schönemann (1966): R = U·Wᵀ from the SVD M = U·Σ·Wᵀ.

//! Dense symmetric eigen-decomposition and SVD (faer), PCA bases and the orthogonal Procrustes
//! solution, in f64, with the conventions the codecs rely on: eigenvalues descending,
//! eigenvectors as columns, each eigenvector's sign fixed (largest-magnitude entry positive) so
//! fitted bases do not depend on the solver's sign choices.

use faer::{Mat, Side};

/// Row-major `r × c` slice as a faer matrix.
fn to_mat(a: &[f64], r: usize, c: usize) -> Mat<f64> {
    Mat::from_fn(r, c, |i, j| a[i * c + j])
}

/// Declared peak bytes of [`sym_eigen`] on an n×n matrix, its input not included: faer's
/// symmetrised copy, eigenvectors and workspace, the owned U and the sorted output (measured
/// about 5 · 8·n²; declared 6 · 8·n² plus workspace), saturating.
pub fn sym_eigen_bytes(n: usize) -> u64 {
    super::square_f64_bytes(n, 6)
}

/// Declared peak bytes of [`procrustes`] on an n×n matrix, its input not included: faer's copy,
/// the SVD's U, V and workspace, the product and the output, saturating.
pub fn procrustes_bytes(n: usize) -> u64 {
    super::square_f64_bytes(n, 8)
}

/// Eigen-decomposition of a symmetric `n × n` matrix (row-major): eigenvalues in descending
/// order and the matching unit eigenvectors as the *columns* of the returned row-major matrix.
pub fn sym_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n);
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    // Symmetrise exactly so rounding in the caller's accumulation cannot bias the solver.
    let m = Mat::from_fn(n, n, |i, j| 0.5 * (a[i * n + j] + a[j * n + i]));
    let (vals, v) = match m.as_ref().self_adjoint_eigen(Side::Lower) {
        Ok(eig) => {
            let s = eig.S().column_vector();
            let vals: Vec<f64> = (0..n).map(|i| s[i]).collect();
            (vals, eig.U().to_owned())
        }
        // faer reports non-convergence only for non-finite input; NaN eigenpairs then make the
        // caller's checks fail loudly instead of a silent basis.
        Err(_) => (vec![f64::NAN; n], Mat::from_fn(n, n, |_, _| f64::NAN)),
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| vals[j].total_cmp(&vals[i]));
    let sorted = order.iter().map(|&i| vals[i]).collect();
    let mut vecs = vec![0f64; n * n];
    for (col, &i) in order.iter().enumerate() {
        let lead = (0..n)
            .max_by(|&x, &y| v[(x, i)].abs().total_cmp(&v[(y, i)].abs()))
            .unwrap_or(0);
        let sign = if v[(lead, i)] < 0.0 { -1.0 } else { 1.0 };
        for k in 0..n {
            vecs[k * n + col] = sign * v[(k, i)];
        }
    }
    (sorted, vecs)
}

/// Eigenvalues only of a symmetric `n × n` matrix (row-major), descending (NaN for
/// non-finite input). Cheaper than [`sym_eigen`]: no eigenvectors are accumulated.
pub fn sym_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * n);
    if n == 0 {
        return Vec::new();
    }
    let m = Mat::from_fn(n, n, |i, j| 0.5 * (a[i * n + j] + a[j * n + i]));
    let mut vals = m
        .as_ref()
        .self_adjoint_eigenvalues(Side::Lower)
        .unwrap_or_else(|_| vec![f64::NAN; n]);
    vals.sort_by(|x, y| y.total_cmp(x));
    vals
}

/// Rows of the output per parallel GEMM task (each task is one matrixmultiply call).
const GEMM_ROWS: usize = 256;

/// `C = op(A)·B` into row-major `out (r × c)`, where `op(A)` is `r × k` with strides
/// `(rsa, csa)`, parallel over blocks of output rows. Every output element is computed by one
/// matrixmultiply call whatever the thread count, so results do not depend on it.
fn gemm_rows(
    a: &[f64],
    (rsa, csa): (usize, usize),
    b: &[f64],
    (r, k, c): (usize, usize, usize),
    out: &mut [f64],
) {
    use rayon::prelude::*;
    if r * c == 0 {
        return;
    }
    out.par_chunks_mut(GEMM_ROWS * c)
        .enumerate()
        .for_each(|(blk, o)| {
            let r0 = blk * GEMM_ROWS;
            let rows = o.len() / c;
            // SAFETY: op(A) rows r0..r0+rows lie in `a` (the callers assert its length for
            // the whole r × k view with these strides), B is k × c with strides (c, 1) and `o`
            // is rows × c with strides (c, 1).
            unsafe {
                matrixmultiply::dgemm(
                    rows,
                    k,
                    c,
                    1.0,
                    a.as_ptr().add(r0 * rsa),
                    rsa as isize,
                    csa as isize,
                    b.as_ptr(),
                    c as isize,
                    1,
                    0.0,
                    o.as_mut_ptr(),
                    c as isize,
                    1,
                );
            }
        });
}

/// `C = A·B` for row-major `A (r × k)` and `B (k × c)` (blocked f64 GEMM by matrixmultiply,
/// parallel over row blocks).
pub fn matmul(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    assert!(a.len() == r * k && b.len() == k * c, "matmul: shapes");
    let mut out = vec![0f64; r * c];
    gemm_rows(a, (k, 1), b, (r, k, c), &mut out);
    out
}

/// `Aᵀ·B` for row-major `A (n × r)` and `B (n × c)`: an `r × c` matrix.
pub fn matmul_tn(a: &[f64], b: &[f64], n: usize, r: usize, c: usize) -> Vec<f64> {
    assert!(a.len() == n * r && b.len() == n * c, "matmul_tn: shapes");
    let mut out = vec![0f64; r * c];
    // Aᵀ is the r × n view of A with strides (1, r).
    gemm_rows(a, (1, r), b, (r, n, c), &mut out);
    out
}

/// The orthogonal `R (n × n)` maximising `trace(Rᵀ M)`: `R = U·Wᵀ` for the full SVD
/// `M = U·Σ·Wᵀ` (= the polar factor `M (MᵀM)^(−1/2)` when M has full rank). U and W are
/// orthogonal whatever M's rank, so R is orthogonal for rank-deficient M too.
pub fn procrustes(m: &[f64], n: usize) -> Vec<f64> {
    assert_eq!(m.len(), n * n);
    if n == 0 {
        return Vec::new();
    }
    match to_mat(m, n, n).as_ref().svd() {
        Ok(svd) => {
            let r = svd.U() * svd.V().transpose();
            (0..n * n).map(|k| r[(k / n, k % n)]).collect()
        }
        Err(_) => vec![f64::NAN; n * n],
    }
}

/// Mean row and the top `c` principal directions (columns of a row-major `d × c` matrix) of
/// `rows` (`n × d`, f32), from the symmetric eigen-decomposition of the covariance.
pub fn pca(rows: &[f32], d: usize, c: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len() / d.max(1);
    let mut mean = vec![0f64; d];
    for r in rows.chunks_exact(d) {
        for (m, &v) in mean.iter_mut().zip(r) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    let mut cov = vec![0f64; d * d];
    let mut x = vec![0f64; d];
    for r in rows.chunks_exact(d) {
        for ((xi, &v), m) in x.iter_mut().zip(r).zip(&mean) {
            *xi = v as f64 - m;
        }
        for i in 0..d {
            if x[i] != 0.0 {
                super::axpy(x[i], &x, &mut cov[i * d..(i + 1) * d]);
            }
        }
    }
    let (_, vecs) = sym_eigen(&cov, d);
    let mut w = vec![0f64; d * c];
    for k in 0..d {
        w[k * c..(k + 1) * c].copy_from_slice(&vecs[k * d..k * d + c]);
    }
    (mean, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sym_eigen_reconstructs_a_symmetric_matrix() {
        let a = [4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 1.0];
        let (vals, v) = sym_eigen(&a, 3);
        assert!(vals[0] >= vals[1] && vals[1] >= vals[2]);
        // V diag(λ) Vᵀ = A and trace preserved.
        for i in 0..3 {
            for j in 0..3 {
                let s: f64 = (0..3).map(|k| v[i * 3 + k] * vals[k] * v[j * 3 + k]).sum();
                assert!((s - a[i * 3 + j]).abs() < 1e-12, "{i},{j}");
            }
        }
        assert!((vals.iter().sum::<f64>() - 8.0).abs() < 1e-12);
    }

    #[test]
    fn procrustes_recovers_a_rotation() {
        // M = a known rotation times a positive diagonal ⇒ the polar factor is the rotation.
        let (c, s) = (0.6f64, 0.8f64);
        let q = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0];
        let dg = [2.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 3.0];
        let m = matmul(&q, &dg, 3, 3, 3);
        let r = procrustes(&m, 3);
        for (x, y) in r.iter().zip(&q) {
            assert!((x - y).abs() < 1e-10);
        }
    }
}
