// Method: the symmetric eigenproblem by Householder tridiagonalisation and implicit symmetric
// QR steps (Golub & Van Loan, "Matrix Computations", 4th ed., §8.3), as nalgebra's
// `SymmetricEigen` implements it; orthogonal Procrustes by P. H. Schönemann (1966),
// R = U·Wᵀ from the SVD of M = U·Σ·Wᵀ, computed here as the polar factor M·(MᵀM)^(−1/2).

//! Dense symmetric eigen-decomposition (nalgebra), PCA bases and the orthogonal Procrustes
//! solution, in f64, with the conventions the codecs rely on: eigenvalues descending,
//! eigenvectors as columns, each eigenvector's sign fixed (largest-magnitude entry positive) so
//! fitted bases do not depend on the solver's sign choices.

/// Eigen-decomposition of a symmetric `n × n` matrix (row-major): eigenvalues in descending
/// order and the matching unit eigenvectors as the *columns* of the returned row-major matrix.
pub fn sym_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n);
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    // Symmetrise exactly so rounding in the caller's accumulation cannot bias the solver.
    let m = nalgebra::DMatrix::from_fn(n, n, |i, j| 0.5 * (a[i * n + j] + a[j * n + i]));
    let eig = nalgebra::SymmetricEigen::new(m);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| eig.eigenvalues[j].total_cmp(&eig.eigenvalues[i]));
    let vals = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    let mut vecs = vec![0f64; n * n];
    for (col, &i) in order.iter().enumerate() {
        let v = eig.eigenvectors.column(i);
        let lead = (0..n)
            .max_by(|&x, &y| v[x].abs().total_cmp(&v[y].abs()))
            .unwrap_or(0);
        let sign = if v[lead] < 0.0 { -1.0 } else { 1.0 };
        for k in 0..n {
            vecs[k * n + col] = sign * v[k];
        }
    }
    (vals, vecs)
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

/// The orthogonal `R (n × n)` maximising `trace(Rᵀ M)`, i.e. the polar factor `M (MᵀM)^(−1/2)`
/// (= U·Wᵀ for M = UΣWᵀ). Directions with a singular value below 1e-12·σ_max are completed
/// from an eigenbasis so that R stays orthogonal when M is rank-deficient.
pub fn procrustes(m: &[f64], n: usize) -> Vec<f64> {
    procrustes_warm(m, n, None).0
}

/// [`procrustes`] warm-started from the eigenvectors `prev` (columns, row-major `n × n`) of a
/// previous, similar `MᵀM`: the solver then works on the nearly diagonal `prevᵀ MᵀM prev`. Returns R and the new eigenvectors (to pass to the next call).
pub fn procrustes_warm(m: &[f64], n: usize, prev: Option<&[f64]>) -> (Vec<f64>, Vec<f64>) {
    let mtm = matmul_tn(m, m, n, n, n);
    let (vals, w) = match prev {
        None => sym_eigen(&mtm, n),
        Some(p) => {
            let a = matmul(&matmul_tn(p, &mtm, n, n, n), p, n, n, n);
            // Symmetrise away rounding before the solver.
            let mut a2 = a.clone();
            for i in 0..n {
                for j in 0..n {
                    a2[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
                }
            }
            let (vals, v) = sym_eigen(&a2, n);
            (vals, matmul(p, &v, n, n, n))
        }
    };
    let smax = vals.first().copied().unwrap_or(0.0).max(0.0).sqrt();
    let sigma: Vec<f64> = vals.iter().map(|&l| l.max(0.0).sqrt()).collect();
    // U_i = M w_i / σ_i (all columns at once: one GEMM).
    let mw = matmul(m, &w, n, n, n);
    let col = |i: usize| -> Vec<f64> { (0..n).map(|k| mw[k * n + i] / sigma[i]).collect() };
    // Well-conditioned directions (σ > 1e-6·σ_max, descending so they come first) are taken as
    // they are when they are orthonormal to 1e-10 (checked with one more GEMM); otherwise, and
    // for the weaker directions, each column is re-orthogonalised against the ones before it.
    let strong = if smax > 0.0 {
        sigma.iter().take_while(|&&s| s > 1e-6 * smax).count()
    } else {
        0
    };
    let mut u_cols: Vec<Vec<f64>> = (0..strong).map(col).collect();
    let block: Vec<f64> = (0..n)
        .flat_map(|k| u_cols.iter().map(move |u| u[k]))
        .collect();
    let gram = matmul_tn(&block, &block, n, strong, strong);
    let clean = (0..strong).all(|i| {
        (0..strong).all(|j| (gram[i * strong + j] - f64::from(u8::from(i == j))).abs() <= 1e-10)
    });
    if !clean {
        u_cols.clear();
    }
    let mut w_cols: Vec<Vec<f64>> = Vec::with_capacity(n);
    for i in 0..n {
        let wi: Vec<f64> = (0..n).map(|k| w[k * n + i]).collect();
        if i < strong && clean {
            w_cols.push(wi);
            continue;
        }
        if sigma[i] > 1e-12 * smax && smax > 0.0 {
            let mut ui = col(i);
            // Re-orthogonalise against the previous U columns (rounding).
            for prev in &u_cols {
                let d: f64 = prev.iter().zip(&ui).map(|(a, b)| a * b).sum();
                for (x, p) in ui.iter_mut().zip(prev) {
                    *x -= d * p;
                }
            }
            let nn = ui.iter().map(|x| x * x).sum::<f64>().sqrt();
            if nn > 1e-9 {
                ui.iter_mut().for_each(|x| *x /= nn);
                u_cols.push(ui);
                w_cols.push(wi);
                continue;
            }
        }
        w_cols.push(wi);
    }
    // Complete U with unit vectors orthogonal to the ones found (Gram–Schmidt on e_k).
    let mut k = 0;
    while u_cols.len() < n {
        let mut e = vec![0f64; n];
        e[k % n] = 1.0;
        k += 1;
        for prev in &u_cols {
            let d: f64 = prev.iter().zip(&e).map(|(a, b)| a * b).sum();
            for (x, p) in e.iter_mut().zip(prev) {
                *x -= d * p;
            }
        }
        let nn = e.iter().map(|x| x * x).sum::<f64>().sqrt();
        if nn > 1e-6 {
            e.iter_mut().for_each(|x| *x /= nn);
            u_cols.push(e);
        }
    }
    // R = Σ U_i w_iᵀ = U·Wᵀ (one GEMM; U row-major from its columns, Wᵀ from the w columns).
    let u_rm: Vec<f64> = (0..n)
        .flat_map(|r| u_cols.iter().map(move |u| u[r]))
        .collect();
    let wt: Vec<f64> = w_cols.iter().flatten().copied().collect();
    (matmul(&u_rm, &wt, n, n, n), w)
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
    fn jacobi_reconstructs_a_symmetric_matrix() {
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
