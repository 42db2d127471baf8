//! The numeric kernels of the BERT forward pass, kept apart from the model's bookkeeping: a safe,
//! bounds-checked wrapper over `matrixmultiply::sgemm`, LayerNorm, exact (erf) GELU and a
//! numerically stable softmax. All work on row-major f32 slices.

/// One strided matrix operand: `data[row * row_stride + col * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix with `cols` columns, starting at `data[0]`.
    pub fn row_major(data: &'a [f32], cols: usize) -> Self {
        View {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of this view (no copy).
    pub fn t(self) -> Self {
        View {
            data: self.data,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// True when every element of a `rows` × `cols` matrix lies inside `data`.
    fn covers(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1)
                .checked_mul(self.row_stride)
                .zip((cols - 1).checked_mul(self.col_stride))
                .and_then(|(r, c)| r.checked_add(c))
                .is_some_and(|last| last < self.data.len())
    }
}

/// `C ← alpha · A · B + beta · C` with A `m`×`k`, B `k`×`n`, and C row-major `m`×`n` with row
/// stride `c_stride` (≥ `n`). Panics if an operand is too short for its shape (a bug, not input).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: View<'_>,
    b: View<'_>,
    beta: f32,
    c: &mut [f32],
    c_stride: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let c_view = View {
        data: c,
        row_stride: c_stride,
        col_stride: 1,
    };
    assert!(
        a.covers(m, k) && b.covers(k, n) && c_view.covers(m, n) && c_stride >= n,
        "gemm: operand too short for {m}x{k} · {k}x{n}"
    );
    let stride = |s: usize| isize::try_from(s).expect("gemm: stride fits isize");
    // SAFETY: `covers` checked that every element addressed through each pointer with its
    // strides lies inside its slice; C's rows are `c_stride >= n` apart and its columns are
    // contiguous, so no two elements of C alias; A and B are only read and C is exclusively
    // borrowed, so they cannot overlap it.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            stride(a.row_stride),
            stride(a.col_stride),
            b.data.as_ptr(),
            stride(b.row_stride),
            stride(b.col_stride),
            beta,
            c.as_mut_ptr(),
            stride(c_stride),
            1,
        );
    }
}

/// LayerNorm over each row of `x` (width `gamma.len()`), in place: `(x − mean) / sqrt(var + eps)
/// · gamma + beta`, with the biased variance as PyTorch uses. Mean and variance accumulate in f64.
pub(crate) fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f64) {
    let width = gamma.len();
    for row in x.chunks_exact_mut(width) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
        let var = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / width as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = ((f64::from(*v) - mean) * inv) as f32 * g + b;
        }
    }
}

/// GELU in its exact erf form, `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))` (BERT's
/// `hidden_act: "gelu"`), in place.
pub(crate) fn gelu(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf for f32: the rational minimax approximation `x · P(x²) / Q(x²)` on [−4, 4] used by Eigen
/// and XLA, with the argument clamped there (|erf(±4) ∓ 1| < 2e-8). Absolute error below 1e-6 (checked against libm's f64
/// `erf` in the tests), the same order as PyTorch's own vectorised CPU erf; branch-free, so the
/// GELU loop vectorises instead of calling libm per element.
#[inline]
fn erf(x: f32) -> f32 {
    // Published to 15 digits (f64 literals); rounded to f32 at compile time.
    const P: [f64; 7] = [
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    ];
    const Q: [f64; 5] = [
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = P.iter().fold(0.0, |acc, &c| acc * x2 + c as f32);
    let q = Q.iter().fold(0.0, |acc, &c| acc * x2 + c as f32);
    x * p / q
}

/// Softmax of each row of `x` (width `width`), in place, subtracting the row maximum first.
pub(crate) fn softmax_rows(x: &mut [f32], width: usize) {
    for row in x.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_naive_with_transposed_b() {
        // A 2x3, W 4x3 (PyTorch [out, in]); C = A · Wᵀ + 1.
        let a = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
        let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
        let mut c = vec![1.0f32; 8];
        gemm(
            2,
            3,
            4,
            1.0,
            View::row_major(&a, 3),
            View::row_major(&w, 3).t(),
            1.0,
            &mut c,
            4,
        );
        for i in 0..2 {
            for j in 0..4 {
                let want: f32 = 1.0 + (0..3).map(|k| a[i * 3 + k] * w[j * 3 + k]).sum::<f32>();
                assert!((c[i * 4 + j] - want).abs() < 1e-5, "{i},{j}");
            }
        }
    }

    #[test]
    fn erf_matches_libm() {
        let mut worst = 0.0f64;
        for i in -60_000..=60_000 {
            let x = i as f32 * 1e-4;
            let err = (f64::from(erf(x)) - libm::erf(f64::from(x))).abs();
            worst = worst.max(err);
        }
        assert!(worst < 1e-6, "max |erf error| {worst}");
        assert!((erf(50.0) - 1.0).abs() < 1e-6 && (erf(-50.0) + 1.0).abs() < 1e-6);
        assert!(erf(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_layer_norm_gelu() {
        let mut x = vec![1000.0f32, 1000.0, 0.0, 0.0];
        softmax_rows(&mut x, 2);
        assert_eq!(x, [0.5, 0.5, 0.5, 0.5]);
        let mut y = vec![1.0f32, 3.0];
        layer_norm(&mut y, &[1.0, 1.0], &[0.0, 0.0], 0.0);
        assert_eq!(y, [-1.0, 1.0]);
        let mut g = vec![0.0f32, 1.0, -1.0];
        gelu(&mut g);
        assert!(g[0] == 0.0 && (g[1] - 0.841_344_7).abs() < 1e-6);
        assert!((g[2] + 0.158_655_3).abs() < 1e-6);
    }
}
