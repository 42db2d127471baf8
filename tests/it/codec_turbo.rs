//! TurboQuant (`tq-mse`, `tq-prod`, arXiv:2504.19874) against its paper: the Lloyd–Max
//! codebooks of the rotated-coordinate law (tending to the Gaussian table; centroids are
//! conditional means by independent quadrature), tq-mse distortion and its Pearson/slope laws,
//! plain reference implementations element-wise against production, and tq-prod sharing its
//! rotation and sketch with tq-mse and qjl.

use crate::codec_rotation::{
    GAUSS_D, assert_close, matvec, matvec_t, nearest, paired, pearson_slope, recon_error,
    reference_tq_mse, to64, tq,
};
use crate::util::{dot, dot64, gaussian_rows, spec, unit_rows};
use codecbench::codec::{Codec, TqMseCodec, TqProdCodec};
use codecbench::data::Rows;
use codecbench::linalg::lloyd_max::{angle_codebook, beta_codebook};
use codecbench::linalg::{RotationKind, bits};
use std::f64::consts::{FRAC_PI_2, PI};

// ---------------------------------------------------------------------------------------------
// Lloyd–Max codebooks

#[test]
fn lloyd_max_distortion_tends_to_the_gaussian_table() {
    for b in 1..=4u8 {
        let at = |d: usize| beta_codebook(b, d).distortion * d as f64;
        let big = at(1_000_000);
        // The table is rounded to 4 decimals (±5e-5); at d = 10⁶ the Beta law differs from the
        // Gaussian by O(1/d) relative (≤ 1e-6 here).
        assert!(
            (big - GAUSS_D[b as usize - 1]).abs() <= 5e-5 + 1e-6,
            "b={b}: {big}"
        );
        // Finite d approaches the limit from below: the Beta law has lighter tails.
        let (d130, d768) = (at(130), at(768));
        assert!(d130 < d768 && d768 < big, "b={b}: {d130} {d768} {big}");
    }
}

/// Conditional means and distortion by an independent plain quadrature: a midpoint rule in t on
/// the density itself, 200 000 points per cell (cells split exactly at the solver's boundaries).
/// Its error is O(h²·f''/f) ≤ (1e-5)²·d² ≈ 1e-6 relative at worst for d = 130 and far less for
/// the cell means' shift, so the solver's centroids must agree to 1e-9 and its distortion to
/// 1e-6 relative.
#[test]
fn lloyd_max_centroids_are_conditional_means_by_independent_quadrature() {
    let check = |book: &codecbench::linalg::lloyd_max::Codebook,
                 lo: f64,
                 hi: f64,
                 f: &dyn Fn(f64) -> f64,
                 ctx: &str| {
        let n = 200_000;
        let l = book.levels();
        let (mut z, mut dist) = (0f64, 0f64);
        for i in 0..l {
            let a = if i == 0 { lo } else { book.boundaries[i - 1] };
            let b = if i + 1 == l { hi } else { book.boundaries[i] };
            let h = (b - a) / n as f64;
            let (mut m0, mut m1, mut m2) = (0f64, 0f64, 0f64);
            for k in 0..n {
                let t = a + (k as f64 + 0.5) * h;
                let w = f(t) * h;
                m0 += w;
                m1 += w * t;
                m2 += w * (t - book.centroids[i]).powi(2);
            }
            let mean = m1 / m0;
            assert!(
                (mean - book.centroids[i]).abs() < 1e-9,
                "{ctx}: cell {i}: {mean} vs {}",
                book.centroids[i]
            );
            z += m0;
            dist += m2;
        }
        let dist = dist / z;
        assert!(
            (dist / book.distortion - 1.0).abs() < 1e-6,
            "{ctx}: {dist} vs {}",
            book.distortion
        );
    };
    for (d, b) in [(7usize, 2u8), (130, 3), (65, 4)] {
        let e = (d as f64 - 3.0) / 2.0;
        check(
            &beta_codebook(b, d),
            -1.0,
            1.0,
            &|t: f64| (1.0 - t * t).max(0.0).powf(e),
            &format!("beta d={d} b={b}"),
        );
    }
    // PolarQuant level ℓ: density ∝ sin^(2^(ℓ−1)−1)(2ψ) on [0, π/2] (Lemma 2).
    for (level, b) in [(2u8, 2u8), (3, 2), (4, 2), (4, 3)] {
        let n = (1i32 << (level - 1)) - 1;
        check(
            &angle_codebook(level, b),
            0.0,
            FRAC_PI_2,
            &|t: f64| (2.0 * t).sin().powi(n),
            &format!("angle level={level} b={b}"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// TurboQuant_mse: distortion, Pearson, slope

/// E‖u − ũ‖² over unit rows equals p·C(f_p, b) exactly under a Haar rotation (each rotated
/// coordinate has the law f_p). Sampling error: the n·d squared coordinate errors are nearly
/// independent with coefficient of variation ≤ 1.5 (b = 1; smaller at higher b), so the relative
/// standard error is ≤ 1.5/√(n·d) = 0.5% (d = 768, n = 100) and 0.65% (d = 130, n = 400); the
/// issue's 3% is > 4.5 SE.
#[test]
fn tq_mse_distortion_matches_the_finite_d_lloyd_max_values() {
    for (d, n) in [(768usize, 100usize), (130, 400)] {
        let rows = unit_rows(n, d, 11);
        for b in 1..=4u8 {
            let codec = TqMseCodec::fit(&tq(b, RotationKind::Haar), d, 3);
            let want = codec.codebook().distortion * d as f64;
            let got = recon_error(&codec, &rows);
            assert!(
                (got / want - 1.0).abs() <= 0.03,
                "d={d} b={b}: measured {got:.5}, Lloyd–Max {want:.5}"
            );
        }
    }
    // Randomized Hadamard at a power-of-two d (no padding) mixes well enough for the same 3%.
    let rows = unit_rows(400, 256, 12);
    for b in 1..=4u8 {
        let codec = TqMseCodec::fit(&tq(b, RotationKind::Hadamard), 256, 3);
        let want = codec.codebook().distortion * 256.0;
        let got = recon_error(&codec, &rows);
        assert!(
            (got / want - 1.0).abs() <= 0.03,
            "hadamard b={b}: {got} vs {want}"
        );
    }
}

/// Spiky unit rows a structured rotation must spread: one-hot e_i for every i, two-hot
/// (e_i + e_j)/√2, and flat blocks 1/√k on k consecutive coordinates (k = 2, 3, 5, 8, …).
fn spiky_rows(d: usize) -> Rows {
    let mut data = Vec::new();
    for i in 0..d {
        let mut r = vec![0f32; d];
        r[i] = 1.0;
        data.extend_from_slice(&r);
    }
    for i in 0..d {
        let mut r = vec![0f32; d];
        let j = (7 * i + 3) % d;
        if j == i {
            continue;
        }
        r[i] = std::f32::consts::FRAC_1_SQRT_2;
        r[j] = std::f32::consts::FRAC_1_SQRT_2;
        data.extend_from_slice(&r);
    }
    for (t, k) in [2usize, 3, 5, 8, 13, 21, 34, 55, 89]
        .into_iter()
        .enumerate()
    {
        for start in (0..d.saturating_sub(k)).step_by(d / 8 + t + 1) {
            let mut r = vec![0f32; d];
            r[start..start + k].fill(1.0 / (k as f32).sqrt());
            data.extend_from_slice(&r);
        }
    }
    Rows::new(d, data)
}

/// `rot=fht-kac` (no padding, O(d log d)) against the closed form a Haar rotation gives,
/// p·C(f_p, b), on rows that an unrotated or badly mixed code quantizes poorly (one-hot,
/// two-hot, flat blocks; `rot=none` misses by far more than 2% on them, checked below) and on
/// isotropic unit rows, at widths with small, large and almost full block overlap (257: blocks
/// [0, 256) and [1, 257)) and a power of two (512: one block, no Kac step), for three rotation
/// seeds: within 2% (issue #17's bar). Sampling
/// error of the measured mean over ≥ 2d rows × d coordinates (800 × d isotropic), were the
/// rotated coordinates Haar-distributed: relative SE ≤ 1.5/√(2d·d) ≤ 0.4% at d ≥ 257
/// (coefficient of variation of a squared coordinate error ≤ 1.5, b = 1), so 2% is ≥ 5 SE,
/// while rotations that mixed visibly worse failed it: without the per-round permutation and
/// second sign diagonal, one-hot coordinates had kurtosis 3.4–6.6 (Haar: 3.0) and the spiky
/// rows missed by up to +82% (d = 768). Haar itself is held to the same 2% as a check of the bar.
#[test]
fn fht_kac_keeps_tq_mse_distortion_within_two_percent_of_haar() {
    for d in [257usize, 384, 512, 768, 1000] {
        let spiky = spiky_rows(d);
        let iso = unit_rows(800, d, 31);
        for seed in [3u64, 4, 5] {
            for b in 1..=4u8 {
                for (name, rows) in [("spiky", &spiky), ("isotropic", &iso)] {
                    for rot in [RotationKind::FhtKac, RotationKind::Haar] {
                        if rot == RotationKind::Haar && (seed != 3 || d > 800) {
                            continue;
                        }
                        let codec = TqMseCodec::fit(&tq(b, rot), d, seed);
                        assert_eq!(codec.code_bytes(), 4 + (b as usize * d).div_ceil(8));
                        let want = codec.codebook().distortion * d as f64;
                        let got = recon_error(&codec, rows);
                        assert!(
                            (got / want - 1.0).abs() <= 0.02,
                            "{rot} d={d} seed={seed} b={b} {name}: measured {got:.5}, \
                             closed form {want:.5} ({:+.2}%)",
                            100.0 * (got / want - 1.0)
                        );
                    }
                }
            }
        }
        // The bar separates: unrotated, the spiky rows are far off the closed form.
        let none = TqMseCodec::fit(&tq(2, RotationKind::None), d, 3);
        let want = none.codebook().distortion * d as f64;
        let got = recon_error(&none, &spiky);
        assert!(
            (got / want - 1.0).abs() > 0.2,
            "none d={d}: {got} vs {want}"
        );
    }
}

/// Unit x, Gaussian q independent: est = ⟨q, x̃⟩ with x̃ = Πᵀ c_idx. The centroid condition gives
/// E⟨x̃, x⟩ = E‖x̃‖² = 1 − D, so Cov(est, exact) = Var(est) = 1 − D and Var(exact) = 1: slope
/// 1 − D and Pearson √(1 − D) (population values). Standard errors: the slope's from the
/// regression residuals; Pearson's (1 − r²)/√n = D/√n. Bounds are 4 SE.
#[test]
fn tq_mse_pearson_and_slope_follow_one_minus_d() {
    let (d, n) = (256usize, 4000usize);
    let rows = unit_rows(n, d, 21);
    let queries = gaussian_rows(n, d, 22);
    for b in 1..=4u8 {
        let codec = TqMseCodec::fit(&tq(b, RotationKind::Haar), d, 5);
        let dist = codec.codebook().distortion * d as f64;
        let (est, exact) = paired(&codec, &rows, &queries);
        let (r, slope, se) = pearson_slope(&est, &exact);
        let r_se = dist / (n as f64).sqrt();
        assert!(
            (slope - (1.0 - dist)).abs() <= 4.0 * se,
            "b={b}: slope {slope:.4} vs {:.4} (SE {se:.4})",
            1.0 - dist
        );
        assert!(
            (r - (1.0 - dist).sqrt()).abs() <= 4.0 * r_se,
            "b={b}: r {r:.4} vs {:.4} (SE {r_se:.4})",
            (1.0 - dist).sqrt()
        );
    }
}

#[test]
fn tq_mse_matches_a_plain_reference() {
    for (d, rot) in [
        (130usize, RotationKind::Haar),
        (130, RotationKind::Hadamard),
        (33, RotationKind::None),
    ] {
        let rows = gaussian_rows(30, d, 81);
        for b in [1u8, 3] {
            let codec = TqMseCodec::fit(&tq(b, rot), d, 13);
            let (m, p) = (codec.rotation().matrix(), codec.rotation().out_dim());
            let c = &codec.codebook().centroids;
            let q = gaussian_rows(1, d, 82);
            for x in rows.iter() {
                let (idx, xt) = reference_tq_mse(&m, p, c, x);
                let mut code = vec![0u8; codec.code_bytes()];
                codec.encode(x, &mut code);
                let mut prod_idx = vec![0u8; p];
                bits::unpack(&code[4..], b as u32, &mut prod_idx);
                let prod_idx: Vec<usize> = prod_idx.iter().map(|&i| i as usize).collect();
                assert_eq!(prod_idx, idx, "{rot} d={d} b={b}: indices");
                let mut dec = vec![0f32; d];
                codec.decode(&code, &mut dec).unwrap();
                let ctx = format!("tq-mse {rot} d={d} b={b}");
                assert_close(&dec, &xt, dot(x, x).sqrt(), &ctx);
                // Estimate = ⟨q, x̃⟩ to f64 rounding of two different summation orders.
                let est = codec.scorer(q.row(0)).estimate(&code);
                let want = dot64(&to64(q.row(0)), &xt);
                let scale: f64 = q
                    .row(0)
                    .iter()
                    .zip(&xt)
                    .map(|(&a, b)| (a as f64 * b).abs())
                    .sum();
                assert!((est - want).abs() <= 1e-6 * scale, "{ctx}: {est} vs {want}");
            }
        }
    }
}

/// TurboQuant Algorithm 2, literally: tq-mse at b−1 bits, r = u − x̃_mse, sign(S r), γ = ‖r‖,
/// x̃ = ν(x̃_mse + √(π/2)/d·γ·Sᵀ sign(S r)), with the codec's own Π and S.
#[test]
fn tq_prod_matches_a_plain_reference() {
    let d = 65;
    let rows = gaussian_rows(20, d, 91);
    let q = to64(gaussian_rows(1, d, 92).row(0));
    for (b, rot) in [
        (1u8, RotationKind::Haar),
        (3, RotationKind::Haar),
        (2, RotationKind::Hadamard),
    ] {
        let codec = TqProdCodec::fit(&tq(b, rot), d, 17);
        let s = codec.sketch().matrix();
        for x in rows.iter() {
            let nu = dot(x, x).sqrt();
            let u: Vec<f64> = to64(x).iter().map(|v| v / nu).collect();
            let xmse = match codec.mse_stage() {
                Some(m) => {
                    let (mm, p) = (m.rotation().matrix(), m.rotation().out_dim());
                    let y = matvec(&mm, p, &u);
                    let c = &m.codebook().centroids;
                    let yt: Vec<f64> = y.iter().map(|&t| c[nearest(c, t)]).collect();
                    matvec_t(&mm, d, &yt)
                }
                None => vec![0f64; d],
            };
            let r: Vec<f64> = u.iter().zip(&xmse).map(|(a, b)| a - b).collect();
            let gamma = dot64(&r, &r).sqrt();
            let z: Vec<f64> = matvec(s, d, &r)
                .iter()
                .map(|&v| if v > 0.0 { 1.0 } else { -1.0 })
                .collect();
            let qjl = matvec_t(s, d, &z);
            let k = (PI / 2.0).sqrt() / d as f64 * gamma;
            let xt: Vec<f64> = xmse
                .iter()
                .zip(&qjl)
                .map(|(a, b)| nu * (a + k * b))
                .collect();
            let mut code = vec![0u8; codec.code_bytes()];
            codec.encode(x, &mut code);
            let mut dec = vec![0f32; d];
            codec.decode(&code, &mut dec).unwrap();
            // The QJL term has norm ≈ √(π/2)·γ·ν ≤ 1.3ν; γ is stored as f32 (6e-8 relative):
            // same 1e-6·ν bound per coordinate.
            assert_close(&dec, &xt, nu, &format!("tq-prod b={b} {rot}"));
            let est = codec
                .scorer(&q.iter().map(|&v| v as f32).collect::<Vec<_>>())
                .estimate(&code);
            let want = dot64(&q, &xt);
            let scale: f64 = q.iter().zip(&xt).map(|(a, b)| (a * b).abs()).sum();
            assert!(
                (est - want).abs() <= 2e-6 * scale,
                "tq-prod b={b}: {est} vs {want}"
            );
        }
    }
}

/// Same seed, same randomness: tq-prod at 1 bit is QJL (m = d, iid S), and tq-prod's MSE stage
/// is tq-mse at b − 1 bits.
#[test]
fn tq_prod_shares_its_randomness_with_qjl_and_tq_mse() {
    let d = 50;
    let rows = gaussian_rows(20, d, 151);
    let q = gaussian_rows(1, d, 152);
    let prod = spec("tq-prod:bits=1").fit(&rows, 77).unwrap();
    let qjl = spec("qjl:m=dim,proj=gauss").fit(&rows, 77).unwrap();
    let (a, b) = (prod.encode_all(&rows), qjl.encode_all(&rows));
    assert_eq!(a.as_bytes(), b.as_bytes());
    for i in 0..rows.len() {
        // Same terms, different multiplication order: equal to f64 rounding.
        let (x, y) = (
            prod.scorer(q.row(0)).estimate(a.get(i)),
            qjl.scorer(q.row(0)).estimate(b.get(i)),
        );
        assert!((x - y).abs() <= 1e-12 * x.abs().max(y.abs()), "{x} vs {y}");
    }
    let prod3 = TqProdCodec::fit(&tq(3, RotationKind::Haar), d, 77);
    let mse2 = TqMseCodec::fit(&tq(2, RotationKind::Haar), d, 77);
    for x in rows.iter() {
        let mut cp = vec![0u8; prod3.code_bytes()];
        let mut cm = vec![0u8; mse2.code_bytes()];
        prod3.encode(x, &mut cp);
        mse2.encode(x, &mut cm);
        // Prod layout: ν, γ, MSE indices…; MSE layout: ν, indices.
        assert_eq!(&cp[8..8 + cm.len() - 4], &cm[4..]);
    }
}
