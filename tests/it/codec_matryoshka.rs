//! The origin's Matryoshka bands done right (`matryoshka`, origin.md §1.11): the all-i16 step
//! bound and an orthonormal basis, profiles resolved and bytes counted by hand, truncation that
//! keeps the leading singular directions.

use crate::util::{fit, gaussian_rows, spec};
use codecbench::codec::matryoshka::{MatryoshkaCodec, bf16_round_up};
use codecbench::codec::{Codec, CodecSpec};
use codecbench::data::Rows;

#[test]
fn matryoshka_all_i16_reconstructs_within_the_step_bound_and_the_basis_is_orthonormal() {
    for d in [1usize, 7, 65] {
        let rows = gaussian_rows(80, d, 11 + d as u64);
        let s = "matryoshka:profile=i16x*";
        let CodecSpec::Matryoshka(p) = spec(s) else {
            panic!()
        };
        let c = MatryoshkaCodec::fit(&p, &rows, 1);
        let v = c.basis();
        // VᵀV = I: the Jacobi eigenvectors are orthonormal to ~1e-14; stored as f32 each entry
        // moves by ≤ 2^-24·|v|, so |(VVᵀ)_ij − δ_ij| ≤ 2·2^-24·Σ_k|v_ik||v_jk| ≤ 2^-23 ≈ 1.2e-7.
        let mut fro2 = 0f64;
        for i in 0..d {
            for j in 0..d {
                let g: f64 = (0..d)
                    .map(|k| v[i * d + k] as f64 * v[j * d + k] as f64)
                    .sum();
                let e = g - if i == j { 1.0 } else { 0.0 };
                assert!(e.abs() <= 2.5e-7, "d={d} [{i},{j}] {e}");
                fro2 += e * e;
            }
        }
        let delta = fro2.sqrt(); // ‖VVᵀ − I‖_F ≥ its spectral norm
        let codes = c.encode_all(&rows);
        let (_, start, end) = c.bands()[0];
        assert_eq!((start, end), (0, d));
        for (i, row) in rows.iter().enumerate() {
            let code = codes.get(i);
            let mut xhat = vec![0f32; d];
            c.decode(code, &mut xhat).unwrap();
            let n = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
            // c = V·u, |c_k| ≤ ‖V‖·‖u‖ ≤ 1 + δ; header h = bf16 round-up of max|c_k| ≤ (1+δ)(1+2^-7);
            // step = h/32767; |ĉ_k − c_k| ≤ step/2 ⇒ ‖ĉ − c‖ ≤ √d·step/2.
            // x̂/‖x‖ − u = Vᵀ(ĉ − c) + (VᵀV − I)u ⇒ ‖x̂ − x‖ ≤ ‖x‖·((1+δ)·√d·step/2 + δ), plus
            // the f32 norm (2^-24) and the f32 output (2^-24 per coordinate): 1e-6·‖x‖.
            let h = 1.0 + delta;
            let step = h * (1.0 + 2f64.powi(-7)) / 32767.0;
            let bound = n * ((1.0 + delta) * (d as f64).sqrt() * step / 2.0 + delta + 1e-6);
            let err = row
                .iter()
                .zip(&xhat)
                .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(err <= bound, "d={d} row {i}: {err} > {bound}");
        }
    }
}

#[test]
fn matryoshka_profiles_resolve_and_count_bytes_by_hand() {
    // The origin's standard profile at d = 1024: 64 i16 + 128 i8 + 192 i4 + 640 i2
    // = 128 + 128 + 96 + 160 = 512 bytes, + 4 headers × 2 + f32 norm 4 = 524. (Bytes do not
    // depend on the basis; an identity basis spares a 1024² Jacobi fit.)
    let CodecSpec::Matryoshka(p) = spec("matryoshka") else {
        panic!()
    };
    let mut eye = vec![0f32; 1024 * 1024];
    eye.iter_mut().step_by(1025).for_each(|v| *v = 1.0);
    let c = MatryoshkaCodec::with_basis(&p, 1024, eye);
    assert_eq!(c.code_bytes(), 524);
    assert_eq!(c.model_bytes(), 4 * 1024 * 1024);
    let rows = gaussian_rows(30, 130, 2);
    let b = |s: &str| fit(s, &rows, 1).code_bytes();
    // d = 130, standard: ⌈130/16⌉ = 9 i16, ⌈390/16⌉ = 25 ⇒ 16 i8, ⌈780/16⌉ = 49 ⇒ 24 i4,
    // rest 81 i2: bits 144 + 128 + 96 + 162 = 530 ⇒ 67 bytes + 8 + 4 = 79.
    assert_eq!(b("matryoshka"), 79);
    // Explicit: 10 i8 + 5 i2 (rest dropped): 80 + 10 = 90 bits ⇒ 12 bytes, + 2·2 + 4 = 20.
    assert_eq!(b("matryoshka:profile=i8x10+i2x5"), 20);
    // i0 bands store nothing: 3 i16 + 100 dropped + rest i4 (27): 48 + 108 = 156 bits ⇒ 20,
    // + 2 headers + norm = 28.
    assert_eq!(b("matryoshka:profile=i16x3+i0x100+i4x*"), 28);
    // aggressive, d = 130: ⌈130/16⌉ = 9 i8, ⌈520/16⌉ = 33 ⇒ 24 i4, ⌈1040/16⌉ = 65 ⇒ 32 i2,
    // rest dropped: 72 + 96 + 64 = 232 bits = 29 bytes + 6 + 4 = 39.
    assert_eq!(b("matryoshka:profile=aggressive"), 39);
    assert_eq!(fit("matryoshka", &rows, 1).model_bytes(), 4 * 130 * 130);
    // Bad profiles are refused with the syntax.
    for bad in ["i1x3", "i8x0", "i8x*+i4x2", "i17x3", "standardd", "i8x"] {
        let e = format!("matryoshka:profile={bad}")
            .parse::<CodecSpec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("profile") && e.contains("iBxN"), "{bad}: {e}");
    }
    // Header round-up: never below the value.
    for m in [0.0, 1e-30, 0.3, 0.999_999, 1.0, 1.000_001] {
        assert!(bf16_round_up(m).to_f64() >= m);
    }
}

#[test]
fn matryoshka_truncation_keeps_the_leading_singular_directions() {
    // Rows in a 3-dim subspace of R^40: the first three components carry everything, so
    // keeping only them (i16) reconstructs to the i16 step.
    let basis = gaussian_rows(3, 40, 4);
    let coef = gaussian_rows(100, 3, 5);
    let mut data = Vec::new();
    for c in coef.iter() {
        let mut r = vec![0f32; 40];
        for (j, &cj) in c.iter().enumerate() {
            for (x, &b) in r.iter_mut().zip(basis.row(j)) {
                *x += cj * b;
            }
        }
        data.extend(r);
    }
    let rows = Rows::new(40, data);
    let c = fit("matryoshka:profile=i16x3", &rows, 1);
    let codes = c.encode_all(&rows);
    for (i, row) in rows.iter().enumerate() {
        let mut x = vec![0f32; 40];
        c.decode(codes.get(i), &mut x).unwrap();
        let n = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        let err = row
            .iter()
            .zip(&x)
            .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        // √3·step/2 ≈ 2.7e-5 plus f32 rounding of the rows and basis (≈1e-6): 1e-4.
        assert!(err <= 1e-4 * n, "row {i}: {err}");
    }
}
