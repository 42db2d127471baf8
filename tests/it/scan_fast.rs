//! The fast scan paths (`Scorer::estimate_all` on the f32 kernels of `linalg::scan`) against the
//! f64 estimators they replaced, within the derived bound of `linalg::scan`'s module docs:
//! summing n f32 terms in any order errs by at most γ_n·Σ|v_i| (γ_n = n·u/(1 − n·u),
//! u = 2⁻²⁴), and forming each term, the f32 query / weights / tables and the f32 decode used
//! by the reference add a few more u·Σ|v_i|. So the bound below is (n + 8)·u·S, with S a
//! computable upper bound of Σ|v_i| (Cauchy–Schwarz ‖q‖·‖x̂‖ in any orthonormal basis, or the
//! explicit sum). estimate and estimate_all must also agree bit for bit.

use crate::util::{decoded, dot, gaussian_rows, norm};
use codecbench::codec::{Codec, CodecSpec};

const U: f64 = 1.0 / (1u64 << 24) as f64;

fn f32_at(code: &[u8], at: usize) -> f64 {
    f32::from_le_bytes(code[at..at + 4].try_into().unwrap()) as f64
}

/// Fit `spec`, encode, and check every (query, row) estimate against `reference`, which returns
/// (f64 reference value, S = bound on Σ|terms|, n = terms summed in f32).
fn check(spec: &str, d: usize, reference: impl Fn(&dyn Codec, &[f32], &[u8]) -> (f64, f64, usize)) {
    let spec: CodecSpec = spec.parse().unwrap();
    let rows = gaussian_rows(300, d, 5);
    let queries = gaussian_rows(6, d, 6);
    let codec = spec.fit(&rows, 9).unwrap();
    let codes = codec.encode_all(&rows);
    for q in queries.iter() {
        let scorer = codec.scorer(q);
        let mut all = vec![0f64; codes.len()];
        scorer.estimate_all(&codes, &mut all);
        for (i, c) in codes.iter().enumerate() {
            let one = scorer.estimate(c);
            assert_eq!(
                one.to_bits(),
                all[i].to_bits(),
                "{spec} d={d}: estimate vs estimate_all"
            );
            let (want, s, n) = reference(codec.as_ref(), q, c);
            let tol = (n as f64 + 8.0) * U * s + 1e-12;
            assert!(
                (one - want).abs() <= tol,
                "{spec} d={d} row {i}: fast {one} vs f64 {want} (|diff| {} > bound {tol})",
                (one - want).abs()
            );
        }
    }
}

#[test]
fn int8_scan_is_within_the_f32_bound_of_the_f64_sum() {
    for d in [1, 7, 65, 384] {
        check("int8", d, |_, q, c| {
            let s = f32_at(c, 0);
            let levels: Vec<f32> = c[4..].iter().map(|&b| (b as i8) as f32).collect();
            let sum_abs: f64 = q
                .iter()
                .zip(&levels)
                .map(|(&a, &b)| (a as f64 * b as f64).abs())
                .sum();
            (s * dot(q, &levels), s * sum_abs, d)
        });
    }
}

#[test]
fn sq_scan_is_within_the_f32_bound_of_the_f64_sum() {
    for bits in [8, 6, 4, 3, 1] {
        for d in [7, 65, 384] {
            check(&format!("sq:bits={bits}"), d, |codec, q, c| {
                let x = decoded(codec, c);
                // Σ|y_j|·(|lo_j| + |x̂_j − lo_j|) bounds both the offset and the level terms;
                // lo is recovered as x̂ at level 0 (decode of a zero code).
                let lo = decoded(codec, &vec![0u8; codec.code_bytes()]);
                let s: f64 = (0..d)
                    .map(|j| {
                        (q[j] as f64).abs()
                            * ((lo[j] as f64).abs() + (x[j] as f64 - lo[j] as f64).abs())
                    })
                    .sum();
                (dot(q, &x), 2.0 * s, d)
            });
        }
    }
}

#[test]
fn pq_scan_is_within_the_f32_bound_of_the_f64_sum() {
    for spec in ["pq", "pq:m=d/8,nbits=8", "pq:m=d/4,nbits=5"] {
        for d in [16, 64] {
            check(spec, d, |codec, q, c| {
                let x = decoded(codec, c);
                (dot(q, &x), norm(q) * norm(&x), d)
            });
        }
    }
}

#[test]
fn tq_mse_scan_is_within_the_f32_bound_of_the_f64_sum() {
    for bits in [1, 2, 3, 4, 5, 8] {
        for d in [7, 64, 384] {
            check(&format!("tq-mse:bits={bits},rot=haar"), d, |codec, q, c| {
                let x = decoded(codec, c);
                // Haar without padding: ⟨Πq, ν·c⟩ = ⟨q, x̂⟩ and Σ|(Πq)_i·ν·c_i| ≤ ‖q‖·‖x̂‖.
                (dot(q, &x), norm(q) * norm(&x), d)
            });
        }
    }
}

#[test]
fn rabitq_scan_is_within_the_f32_bound_of_the_f64_sum() {
    for bits in [1, 2, 4, 6] {
        for d in [7, 64, 384] {
            check(
                &format!("rabitq:bits={bits},centroid=zero,rot=haar"),
                d,
                |codec, q, c| {
                    // centroid = zero, dec = ip: decode = s_ip·Pᵀx̂ and estimate = s_ip·⟨Pq, x̂⟩,
                    // so the f64 estimate is ⟨q, decode⟩; Σ|q'_i x̂_i| ≤ ‖q‖·‖x̂‖ and the 1-bit path
                    // sums Σ|q'_i| = 2·Σ|q'_i x̂_i| of subset sums.
                    if f32_at(c, 0) == 0.0 {
                        return (0.0, 0.0, d);
                    }
                    let x = decoded(codec, c);
                    (dot(q, &x), 2.0 * norm(q) * norm(&x), d)
                },
            );
        }
    }
}
