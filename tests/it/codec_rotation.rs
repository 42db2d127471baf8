//! The rotation-family codecs against their papers (issue 4): TurboQuant_mse distortion against
//! the exact finite-d Lloyd–Max values (which tend to 0.3634, 0.1175, 0.0345, 0.0095), the
//! Pearson/slope laws √(1−D) and 1−D, unbiasedness of tq-prod/QJL/RaBitQ, QJL's normalised
//! variance π/2 (iid) vs ≈ π/2 − 1 (orthogonal), RaBitQ 1-bit Pearson ≈ 0.80, plain reference
//! implementations agreeing element-wise with the production code under the same rotation, and
//! distortion falling as bits rise. Every tolerance carries its derivation.
//!
//! Standard errors below are computed from the data (sd/√n); "4 SE" bounds have a two-sided
//! normal false-failure probability of 6e-5 for one fixed seed, and the seeds are fixed, so the
//! tests are deterministic.

use crate::util::gaussian_rows;
use codecbench::codec::{
    Codec, CodecSpec, DecodeScale, PolarCodec, QjlCodec, RabitqCodec, SignCodec, SignParams,
    TqMseCodec, TqParams, TqProdCodec,
};
use codecbench::data::Rows;
use codecbench::linalg::lloyd_max::{angle_codebook, beta_codebook};
use codecbench::linalg::{RotationKind, bits};
use std::f64::consts::{FRAC_PI_2, PI};

// ---------------------------------------------------------------------------------------------
// Helpers

/// `n` rows uniform on the unit sphere of R^d.
fn unit_rows(n: usize, d: usize, seed: u64) -> Rows {
    let g = gaussian_rows(n, d, seed);
    let mut data = Vec::with_capacity(n * d);
    for row in g.iter() {
        let norm = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        data.extend(row.iter().map(|&v| (v as f64 / norm) as f32));
    }
    Rows::new(d, data)
}

fn dot32(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

fn dot64(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn to64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

/// Pearson r, regression slope of `est` on `exact`, and the slope's standard error.
///
/// The SE is the heteroscedasticity-consistent (White/HC0) one, Σ(x_i − x̄)²e_i² / Sxx²: the
/// estimators' error variance grows with ‖q‖, which also drives |exact|, so the textbook
/// homoscedastic SE would be too small.
fn pearson_slope(est: &[f64], exact: &[f64]) -> (f64, f64, f64) {
    let n = est.len() as f64;
    let (me, mx) = (est.iter().sum::<f64>() / n, exact.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (e, x) in est.iter().zip(exact) {
        sxy += (e - me) * (x - mx);
        sxx += (x - mx) * (x - mx);
        syy += (e - me) * (e - me);
    }
    let slope = sxy / sxx;
    let sandwich: f64 = est
        .iter()
        .zip(exact)
        .map(|(e, x)| {
            let resid = (e - me) - slope * (x - mx);
            (x - mx).powi(2) * resid * resid
        })
        .sum();
    (sxy / (sxx * syy).sqrt(), slope, sandwich.sqrt() / sxx)
}

/// Estimates and exact inner products over independent pairs (row i, query i).
fn paired(codec: &dyn Codec, rows: &Rows, queries: &Rows) -> (Vec<f64>, Vec<f64>) {
    let codes = codec.encode_all(rows);
    (0..rows.len())
        .map(|i| {
            let est = codec.scorer(queries.row(i)).estimate(codes.get(i));
            (est, dot32(rows.row(i), queries.row(i)))
        })
        .unzip()
}

/// Σ‖x − x̂‖² / Σ‖x‖² over `rows` (decode).
fn recon_error(codec: &dyn Codec, rows: &Rows) -> f64 {
    let codes = codec.encode_all(rows);
    let (mut err, mut energy) = (0.0, 0.0);
    let mut xhat = vec![0f32; rows.dim()];
    for (i, x) in rows.iter().enumerate() {
        codec.decode(codes.get(i), &mut xhat).unwrap();
        err += x
            .iter()
            .zip(&xhat)
            .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
            .sum::<f64>();
        energy += dot32(x, x);
    }
    err / energy
}

fn spec(s: &str) -> CodecSpec {
    s.parse().unwrap()
}

fn tq(bits: u8, rot: RotationKind) -> TqParams {
    TqParams { bits, rot }
}

/// The Gaussian Lloyd–Max distortions (Max 1960; algorithms.md T1), to 4 decimals.
const GAUSS_D: [f64; 4] = [0.3634, 0.1175, 0.0345, 0.0095];

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

// ---------------------------------------------------------------------------------------------
// Unbiased estimators

/// Over independent isotropic pairs the regression slope of an unbiased estimator is 1 (its
/// error is uncorrelated with the exact score); `tq-mse` would give 1 − D. Bound: 4 regression
/// SE. The mean error must also be within 4 of its standard errors (sd/√n) of 0.
#[test]
fn tq_prod_qjl_and_rabitq_have_unit_slope() {
    let (d, n) = (128usize, 16000usize);
    let rows = unit_rows(n, d, 31);
    let queries = gaussian_rows(n, d, 32);
    for s in [
        "tq-prod:bits=1",
        "tq-prod:bits=2",
        "tq-prod:bits=3",
        "tq-prod:bits=4",
        "qjl:m=dim,proj=gauss",
        "qjl:m=dim,proj=orth",
        "rabitq:bits=1",
        "rabitq:bits=2",
        "rabitq:bits=4",
        "rabitq:bits=3,enc=optimal",
        "rabitq:bits=2,rot=hadamard",
    ] {
        let codec = spec(s).fit(&rows, 7).unwrap();
        let (est, exact) = paired(codec.as_ref(), &rows, &queries);
        let (_, slope, se) = pearson_slope(&est, &exact);
        assert!(
            (slope - 1.0).abs() <= 4.0 * se,
            "{s}: slope {slope:.4} (SE {se:.4})"
        );
        let err: Vec<f64> = est.iter().zip(&exact).map(|(e, x)| e - x).collect();
        let (bias, sd) = mean_sd(&err);
        let bias_se = sd / (n as f64).sqrt();
        assert!(
            bias.abs() <= 4.0 * bias_se,
            "{s}: bias {bias:.5} (SE {bias_se:.5})"
        );
    }
}

/// The strong form: for one fixed pair (x, q) with cos = 0.6, the mean estimate over K = 400
/// independent seeds (rotations, sketches) must be within 4 SE (sd/√K) of ⟨x, q⟩. A biased
/// codec fails this: tq-mse at 1 bit shrinks by ≈ 1 − D = 0.64 and lands ≫ 4 SE away (checked,
/// so the test has power).
#[test]
fn estimates_are_unbiased_over_random_rotations() {
    let d = 64;
    let g = gaussian_rows(2, d, 41);
    let (a, b) = (to64(g.row(0)), to64(g.row(1)));
    let na = dot64(&a, &a).sqrt();
    let ua: Vec<f64> = a.iter().map(|v| v / na).collect();
    // Component of b orthogonal to a, normalised; q = 0.6·â + 0.8·b̂⊥, x = 3·â.
    let proj = dot64(&b, &ua);
    let perp: Vec<f64> = b.iter().zip(&ua).map(|(v, u)| v - proj * u).collect();
    let np = dot64(&perp, &perp).sqrt();
    let x: Vec<f32> = ua.iter().map(|u| (3.0 * u) as f32).collect();
    let q: Vec<f32> = ua
        .iter()
        .zip(&perp)
        .map(|(u, p)| (0.6 * u + 0.8 * p / np) as f32)
        .collect();
    let exact = dot32(&x, &q);
    let train = gaussian_rows(50, d, 42);
    let mean_est = |s: &str| -> (f64, f64) {
        let sp = spec(s);
        let est: Vec<f64> = (0..400u64)
            .map(|seed| {
                let c = sp.fit(&train, 1000 + seed).unwrap();
                let mut code = vec![0u8; c.code_bytes()];
                c.encode(&x, &mut code);
                c.scorer(&q).estimate(&code)
            })
            .collect();
        let (m, sd) = mean_sd(&est);
        (m, sd / (est.len() as f64).sqrt())
    };
    for s in [
        "tq-prod:bits=1",
        "tq-prod:bits=2",
        "tq-prod:bits=3",
        "qjl:m=dim,proj=gauss",
        "qjl:m=dim,proj=orth",
        "qjl:m=16,proj=orth",
        "rabitq:bits=1",
        "rabitq:bits=3",
        "rabitq:bits=2,enc=optimal,centroid=zero",
    ] {
        let (m, se) = mean_est(s);
        assert!(
            (m - exact).abs() <= 4.0 * se,
            "{s}: mean {m:.4} vs exact {exact:.4} (SE {se:.4})"
        );
    }
    let (m, se) = mean_est("tq-mse:bits=1");
    assert!(
        (m - exact).abs() > 10.0 * se,
        "tq-mse:bits=1 should be visibly biased: {m} vs {exact}"
    );
}

/// QJL with m = d, unit k and unit q independent. iid S (Lemma 3.2): E[err²] =
/// ((π/2)‖q‖²‖k‖² − ⟨q,k⟩²)/m, so d·E[err²] = π/2 − E⟨q,k⟩² = π/2 − 1/d exactly. Orthogonal S:
/// est = ⟨v, sign(o)⟩/(d·μ) with o = Qk, v = Qq, μ = E|θ₁|; writing v = ρo + √(1−ρ²)w (w ⊥ o
/// uniform) gives d·E[err²] ≈ (1 − dμ²)/((d−1)μ²) → π/2 − 1, up to terms O(ρ²) = O(1/d) and
/// Var‖o‖₁/(dμ)² = O(1/d) relative. Bounds: 4 SE of the mean of d·err² plus 1/d for the
/// neglected O(1/d) terms (orth only).
#[test]
fn qjl_normalised_variance_is_pi_over_2_iid_and_pi_over_2_minus_1_orthogonal() {
    let (d, n) = (256usize, 1500usize);
    let mu = codecbench::linalg::sphere_abs_mean(d);
    for (proj, target, slack) in [
        ("gauss", FRAC_PI_2 - 1.0 / d as f64, 0.0),
        (
            "orth",
            (1.0 - d as f64 * mu * mu) / ((d as f64 - 1.0) * mu * mu),
            1.0 / d as f64,
        ),
    ] {
        let mut v = Vec::new();
        for seed in 0..4u64 {
            let rows = unit_rows(n, d, 50 + seed);
            let queries = unit_rows(n, d, 60 + seed);
            let codec = spec(&format!("qjl:m=dim,proj={proj}"))
                .fit(&rows, seed)
                .unwrap();
            let (est, exact) = paired(codec.as_ref(), &rows, &queries);
            v.extend(
                est.iter()
                    .zip(&exact)
                    .map(|(e, x)| d as f64 * (e - x).powi(2)),
            );
        }
        let (m, sd) = mean_sd(&v);
        let se = sd / (v.len() as f64).sqrt();
        assert!(
            (m - target).abs() <= 4.0 * se + slack,
            "{proj}: d·E[err²] = {m:.4} vs {target:.4} (SE {se:.4})"
        );
    }
    // The orthogonal target is π/2 − 1 to within 1/d at this d.
    let orth = (1.0 - d as f64 * mu * mu) / ((d as f64 - 1.0) * mu * mu);
    assert!((orth - (FRAC_PI_2 - 1.0)).abs() < 1.0 / d as f64, "{orth}");
}

/// RaBitQ 1-bit on isotropic Gaussian rows and queries: error variance κ‖q‖²ν²/d with
/// κ = E[(1 − ⟨ō,o⟩²)/⟨ō,o⟩²] ≈ π/2 − 1, hence r = 1/√(1 + κ) ≈ 0.79–0.80 (FAISS measured
/// 0.7984 at d = 128). Band [0.77, 0.83] (the bar) is ≥ 5 SE of r ((1 − r²)/√n =
/// 0.005) from the expected value.
#[test]
fn rabitq_one_bit_pearson_is_about_0_80() {
    let (d, n) = (128usize, 6000usize);
    let rows = gaussian_rows(n, d, 71);
    let queries = gaussian_rows(n, d, 72);
    let codec = spec("rabitq:bits=1").fit(&rows, 9).unwrap();
    let (est, exact) = paired(codec.as_ref(), &rows, &queries);
    let (r, _, _) = pearson_slope(&est, &exact);
    assert!((0.77..=0.83).contains(&r), "r = {r:.4}");
}

// ---------------------------------------------------------------------------------------------
// Plain reference implementations, element-wise against production (same rotation, same seed)

/// y = M·x for a p×d row-major matrix.
fn matvec(m: &[f64], p: usize, x: &[f64]) -> Vec<f64> {
    let d = x.len();
    (0..p).map(|i| dot64(&m[i * d..(i + 1) * d], x)).collect()
}

/// x = Mᵀ·y.
fn matvec_t(m: &[f64], d: usize, y: &[f64]) -> Vec<f64> {
    let mut x = vec![0f64; d];
    for (i, &yi) in y.iter().enumerate() {
        for j in 0..d {
            x[j] += m[i * d + j] * yi;
        }
    }
    x
}

fn nearest(c: &[f64], t: f64) -> usize {
    let mut best = 0;
    for k in 1..c.len() {
        if (t - c[k]).abs() < (t - c[best]).abs() {
            best = k;
        }
    }
    best
}

/// TurboQuant Algorithm 1, literally: y = Π u, idx_j = argmin_k |y_j − c_k| (linear scan),
/// x̃ = ν·Πᵀ c_idx.
fn reference_tq_mse(m: &[f64], p: usize, c: &[f64], x: &[f32]) -> (Vec<usize>, Vec<f64>) {
    let x = to64(x);
    let nu = dot64(&x, &x).sqrt();
    let u: Vec<f64> = x
        .iter()
        .map(|v| if nu > 0.0 { v / nu } else { 0.0 })
        .collect();
    let idx: Vec<usize> = matvec(m, p, &u).iter().map(|&t| nearest(c, t)).collect();
    let yt: Vec<f64> = idx.iter().map(|&i| c[i]).collect();
    let xt = matvec_t(m, x.len(), &yt).iter().map(|v| nu * v).collect();
    (idx, xt)
}

/// Production decode and reference agree to 1e-6·‖x‖ per coordinate: both compute in f64; the
/// production output is f32 (rounding 6e-8·|x̂_i| ≤ 6e-8·‖x‖) and stores ν as f32 (6e-8 relative).
fn assert_close(prod: &[f32], reference: &[f64], scale: f64, ctx: &str) {
    for (i, (&a, &b)) in prod.iter().zip(reference).enumerate() {
        assert!(
            (a as f64 - b).abs() <= 1e-6 * scale + 1e-30,
            "{ctx}: coord {i}: {a} vs {b}"
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
                assert_close(&dec, &xt, dot32(x, x).sqrt(), &ctx);
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
            let nu = dot32(x, x).sqrt();
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

/// QJL, literally: est = c·‖k‖·Σ_i (S q)_i·sign((S k)_i), with c = √(π/2)/m (iid) or
/// 1/(m·√d·E|θ₁|) (orthogonal rows of norm √d), E|θ₁| computed here by an independent
/// quadrature (Simpson in θ, 2·10⁵ panels: error ≪ 1e-12).
#[test]
fn qjl_matches_a_plain_reference() {
    let d = 40;
    let abs_mean = {
        // E|t| = ∫ sin θ cos^(d−2) θ dθ / ∫ cos^(d−2) θ dθ over [0, π/2].
        let n = 200_000;
        let h = FRAC_PI_2 / n as f64;
        let simpson = |f: &dyn Fn(f64) -> f64| {
            let mut s = f(0.0) + f(FRAC_PI_2);
            for k in 1..n {
                s += f(k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
            }
            s * h / 3.0
        };
        let p = d as i32 - 2;
        simpson(&|t: f64| t.sin() * t.cos().powi(p)) / simpson(&|t: f64| t.cos().powi(p))
    };
    let rows = gaussian_rows(10, d, 101);
    let queries = gaussian_rows(3, d, 102);
    for (s, m) in [
        ("qjl:m=dim,proj=gauss", d),
        ("qjl:m=100,proj=orth", 100),
        ("qjl:m=25,proj=orth", 25),
    ] {
        let CodecSpec::Qjl(p) = spec(s) else {
            unreachable!()
        };
        let codec = QjlCodec::fit(&p, d, 23);
        let sm = codec.sketch().matrix();
        let scale = if s.contains("orth") {
            // Rows within each d-block are orthogonal with norm √d.
            for blk in sm.chunks(d * d) {
                let rowsn = blk.len() / d;
                for i in 0..rowsn {
                    for j in 0..rowsn {
                        let v = dot64(&blk[i * d..(i + 1) * d], &blk[j * d..(j + 1) * d]);
                        let want = if i == j { d as f64 } else { 0.0 };
                        assert!((v - want).abs() < 1e-9, "{s}: S·Sᵀ[{i},{j}] = {v}");
                    }
                }
            }
            1.0 / (m as f64 * (d as f64).sqrt() * abs_mean)
        } else {
            (PI / 2.0).sqrt() / m as f64
        };
        let codes = codec.encode_all(&rows);
        for (i, k) in rows.iter().enumerate() {
            let sk = matvec(sm, m, &to64(k));
            for qrow in queries.iter() {
                let sq = matvec(sm, m, &to64(qrow));
                let corr: f64 = sq
                    .iter()
                    .zip(&sk)
                    .map(|(a, b)| if *b > 0.0 { *a } else { -*a })
                    .sum();
                let want = scale * dot32(k, k).sqrt() * corr;
                let got = codec.scorer(qrow).estimate(codes.get(i));
                // ‖k‖ is stored as f32 (6e-8 relative) and E|θ₁| agrees to ~1e-12.
                let tol =
                    1e-6 * scale * dot32(k, k).sqrt() * sq.iter().map(|v| v.abs()).sum::<f64>();
                assert!((got - want).abs() <= tol, "{s}: {got} vs {want}");
            }
        }
    }
}

/// PolarQuant, literally: recursive polar transform of the rotated row (level 1 atan2 on
/// [0, 2π), deeper levels atan of radius ratios), nearest-centroid by linear scan in each
/// level's codebook, fp16 block radius, then a recursive top-down decode and Πᵀ.
#[test]
fn polar_matches_a_plain_reference() {
    fn encode_block(v: &[f64], books: &[Vec<f64>], level: usize, out: &mut Vec<Vec<usize>>) -> f64 {
        // Returns the radius of v; pushes angle indices per level (0-based level index).
        if v.len() == 1 {
            return v[0];
        }
        if level == 0 {
            let mut radii = Vec::new();
            for pair in v.chunks(2) {
                let mut psi = pair[1].atan2(pair[0]);
                if psi < 0.0 {
                    psi += 2.0 * PI;
                }
                out[0].push(nearest(&books[0], psi));
                radii.push(pair[0].hypot(pair[1]));
            }
            return encode_block(&radii, books, 1, out);
        }
        let mut radii = Vec::new();
        for pair in v.chunks(2) {
            out[level].push(nearest(&books[level], pair[1].atan2(pair[0])));
            radii.push(pair[0].hypot(pair[1]));
        }
        encode_block(&radii, books, level + 1, out)
    }
    fn decode_block(
        r: f64,
        level: usize,
        j: usize,
        books: &[Vec<f64>],
        idx: &[Vec<usize>],
        out: &mut Vec<f64>,
    ) {
        // Level `level` (0-based) angle j splits radius r into two children.
        let theta = books[level][idx[level][j]];
        let (a, b) = (r * theta.cos(), r * theta.sin());
        if level == 0 {
            out.push(a);
            out.push(b);
        } else {
            decode_block(a, level - 1, 2 * j, books, idx, out);
            decode_block(b, level - 1, 2 * j + 1, books, idx, out);
        }
    }
    for (d, s) in [
        (130usize, "polar"),
        (128, "polar:levels=3,bits1=3,bits2=3,rot=hadamard"),
        (20, "polar:levels=2,bits1=5,bits2=1,rot=none"),
    ] {
        let CodecSpec::Polar(params) = spec(s) else {
            unreachable!()
        };
        let codec = PolarCodec::fit(&params, d, 29);
        let (m, p) = (codec.rotation().matrix(), codec.rotation().out_dim());
        let nlev = params.levels as usize;
        let books: Vec<Vec<f64>> = (1..=nlev)
            .map(|l| codec.codebook(l).centroids.clone())
            .collect();
        let block = 1usize << nlev;
        let rows = gaussian_rows(10, d, 111);
        let q = gaussian_rows(1, d, 112);
        for x in rows.iter() {
            let y = matvec(&m, p, &to64(x));
            let mut yt = Vec::new();
            for blk in y.chunks(block) {
                let mut idx = vec![Vec::new(); nlev];
                let r = encode_block(blk, &books, 0, &mut idx);
                let r16 = half::f16::from_f64(r).to_f64();
                decode_block(r16, nlev - 1, 0, &books, &idx, &mut yt);
            }
            let xt = matvec_t(&m, d, &yt);
            let mut code = vec![0u8; codec.code_bytes()];
            codec.encode(x, &mut code);
            let mut dec = vec![0f32; d];
            codec.decode(&code, &mut dec).unwrap();
            assert_close(&dec, &xt, dot32(x, x).sqrt(), s);
            let est = codec.scorer(q.row(0)).estimate(&code);
            let want = dot64(&to64(q.row(0)), &xt);
            let scale: f64 = q
                .row(0)
                .iter()
                .zip(&xt)
                .map(|(&a, b)| (a as f64 * b).abs())
                .sum();
            assert!((est - want).abs() <= 1e-6 * scale, "{s}: {est} vs {want}");
        }
    }
}

/// RaBitQ, literally: o = (x − c)/‖x − c‖, o' = P o, x̄ = sign(o')/√p,
/// ⟨ō,o⟩ = ‖o'‖₁/√p, est = ⟨c,q⟩ + ⟨x−c, c⟩ + ‖x−c‖·⟨x̄, P(q−c)⟩/⟨ō,o⟩ (1 bit); for B bits the
/// levels must equal ⌊t·|o'|⌋ (fast, the codec's t) or the exhaustive scan (optimal).
#[test]
fn rabitq_matches_a_plain_reference() {
    let d = 70;
    let train = gaussian_rows(60, d, 121);
    let q = gaussian_rows(1, d, 122);
    for s in [
        "rabitq:bits=1",
        "rabitq:bits=1,centroid=zero,rot=hadamard",
        "rabitq:bits=3",
        "rabitq:bits=4,enc=optimal",
        "rabitq:bits=1,dec=mse",
        "rabitq:bits=3,dec=mse",
    ] {
        let CodecSpec::Rabitq(params) = spec(s) else {
            unreachable!()
        };
        let codec = RabitqCodec::fit(&params, &train, 31);
        let (m, p) = (codec.rotation().matrix(), codec.rotation().out_dim());
        let c = codec.centroid().to_vec();
        let kmax = (1u32 << (params.bits - 1)) - 1;
        for x in train.iter().take(15) {
            let diff: Vec<f64> = x.iter().zip(&c).map(|(&v, c)| v as f64 - c).collect();
            let nu = dot64(&diff, &diff).sqrt();
            let o: Vec<f64> = matvec(&m, p, &diff.iter().map(|v| v / nu).collect::<Vec<_>>());
            let a: Vec<f64> = o.iter().map(|v| v.abs()).collect();
            let k: Vec<u8> = if kmax == 0 {
                vec![0; p]
            } else if s.contains("optimal") {
                // Exhaustive check at this size is too large; the scan itself is checked
                // against brute force below. Here: production = the scan's levels.
                codecbench::codec::rabitq::optimal_levels(&a, kmax).0
            } else {
                a.iter()
                    .map(|&ai| ((codec.fast_factor() * ai).floor() as u32).min(kmax) as u8)
                    .collect()
            };
            let xhat: Vec<f64> = o
                .iter()
                .zip(&k)
                .map(|(&v, &ki)| {
                    if v > 0.0 {
                        ki as f64 + 0.5
                    } else {
                        -(ki as f64 + 0.5)
                    }
                })
                .collect();
            let nx = dot64(&xhat, &xhat).sqrt();
            let cos = dot64(&xhat, &o) / nx;
            let qc: Vec<f64> = q
                .row(0)
                .iter()
                .zip(&c)
                .map(|(&v, c)| v as f64 - c)
                .collect();
            let qrot = matvec(&m, p, &qc);
            let cq = dot64(&to64(q.row(0)), &c);
            let want = cq + dot64(&diff, &c) + nu * dot64(&xhat, &qrot) / nx / cos;
            let mut code = vec![0u8; codec.code_bytes()];
            codec.encode(x, &mut code);
            let got = codec.scorer(q.row(0)).estimate(&code);
            // Scales and f_add are stored as f32 (6e-8 relative each): bound by 1e-6 of the
            // magnitudes of the three terms.
            let scale = cq.abs() + dot64(&diff, &c).abs() + nu * dot64(&qrot, &qrot).sqrt() / cos;
            assert!((got - want).abs() <= 1e-6 * scale, "{s}: {got} vs {want}");
            // Decode = c + ν/cos·Pᵀx̂/‖x̂‖ (dec=ip: the estimator's scale, FAISS sa_decode) or
            // c + ν·cos·Pᵀx̂/‖x̂‖ (dec=mse: the least-squares reconstruction).
            let back = matvec_t(&m, d, &xhat);
            let scale = match params.dec {
                DecodeScale::Ip => nu / cos,
                DecodeScale::Mse => nu * cos,
            };
            let xt: Vec<f64> = c
                .iter()
                .zip(&back)
                .map(|(ci, b)| ci + scale * b / nx)
                .collect();
            let mut dec = vec![0f32; d];
            codec.decode(&code, &mut dec).unwrap();
            assert_close(&dec, &xt, dot32(x, x).sqrt().max(nu), s);
        }
    }
}

/// Extended RaBitQ's critical-point scan finds the global optimum of cos(x̂, a) over the whole
/// grid {0..=kmax}^p (checked exhaustively at p = 6), and the fast encoder's code is never
/// better than it.
#[test]
fn rabitq_optimal_scan_is_the_exhaustive_optimum() {
    use codecbench::codec::rabitq::{grid_cosine, levels_at, optimal_levels};
    let g = gaussian_rows(40, 6, 131);
    for kmax in [1u32, 3] {
        for row in g.iter() {
            let a: Vec<f64> = row.iter().map(|v| v.abs() as f64).collect();
            let (k, t) = optimal_levels(&a, kmax);
            let best = grid_cosine(&a, &k);
            // The returned t reproduces the levels.
            assert_eq!(levels_at(&a, t, kmax), k);
            let mut brute = 0f64;
            let base = (kmax + 1) as usize;
            for code in 0..base.pow(6) {
                let ks: Vec<u8> = (0..6)
                    .map(|i| ((code / base.pow(i)) % base) as u8)
                    .collect();
                brute = brute.max(grid_cosine(&a, &ks));
            }
            assert!(
                (best - brute).abs() < 1e-12,
                "kmax={kmax}: scan {best} vs brute {brute}"
            );
            let fast = levels_at(&a, 1.7 * (kmax as f64 + 1.0), kmax);
            assert!(grid_cosine(&a, &fast) <= best + 1e-15);
        }
    }
}

/// Plain sign codes, literally: bits [(Π x)_j > 0], h = Hamming distance, estimate
/// ‖x‖‖q‖cos(π h/p).
#[test]
fn sign_matches_a_plain_reference() {
    for (d, rot) in [
        (65usize, RotationKind::Haar),
        (65, RotationKind::Hadamard),
        (9, RotationKind::None),
    ] {
        let codec = SignCodec::fit(&SignParams { rot }, d, 37);
        let (m, p) = (codec.rotation().matrix(), codec.rotation().out_dim());
        let rows = gaussian_rows(12, d, 141);
        let q = gaussian_rows(1, d, 142);
        let sq: Vec<bool> = matvec(&m, p, &to64(q.row(0)))
            .iter()
            .map(|&v| v > 0.0)
            .collect();
        let codes = codec.encode_all(&rows);
        for (i, x) in rows.iter().enumerate() {
            let sx: Vec<bool> = matvec(&m, p, &to64(x)).iter().map(|&v| v > 0.0).collect();
            let h = sx.iter().zip(&sq).filter(|(a, b)| a != b).count() as f64;
            let want =
                dot32(x, x).sqrt() * dot32(q.row(0), q.row(0)).sqrt() * (PI * h / p as f64).cos();
            let got = codec.scorer(q.row(0)).estimate(codes.get(i));
            // Norms stored as f32: 1e-6 relative.
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1e-3),
                "{rot}: {got} vs {want}"
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

// ---------------------------------------------------------------------------------------------
// Rate–distortion within each family

#[test]
fn distortion_falls_as_bits_rise_in_every_family() {
    let (d, n) = (128usize, 400usize);
    let rows = gaussian_rows(n, d, 161);
    let queries = gaussian_rows(n, d, 162);
    let ip_err = |s: &str| {
        let c = spec(s).fit(&rows, 3).unwrap();
        let (est, exact) = paired(c.as_ref(), &rows, &queries);
        est.iter()
            .zip(&exact)
            .map(|(e, x)| (e - x).powi(2))
            .sum::<f64>()
            / n as f64
    };
    let recon = |s: &str| recon_error(spec(s).fit(&rows, 3).unwrap().as_ref(), &rows);
    let falls = |name: &str, v: &[f64]| {
        for w in v.windows(2) {
            assert!(w[1] < w[0], "{name}: {v:?}");
        }
    };
    let ladder = |f: &dyn Fn(&str) -> f64, specs: &[&str]| -> Vec<f64> {
        specs.iter().map(|s| f(s)).collect()
    };
    falls(
        "tq-mse recon",
        &ladder(
            &recon,
            &[
                "tq-mse:bits=1",
                "tq-mse:bits=2",
                "tq-mse:bits=3",
                "tq-mse:bits=4",
            ],
        ),
    );
    falls(
        "tq-prod ip",
        &ladder(
            &ip_err,
            &[
                "tq-prod:bits=1",
                "tq-prod:bits=2",
                "tq-prod:bits=3",
                "tq-prod:bits=4",
            ],
        ),
    );
    falls(
        "rabitq ip",
        &ladder(
            &ip_err,
            &[
                "rabitq:bits=1",
                "rabitq:bits=2",
                "rabitq:bits=3",
                "rabitq:bits=4",
            ],
        ),
    );
    falls(
        "rabitq recon",
        &ladder(
            &recon,
            &[
                "rabitq:bits=1",
                "rabitq:bits=2",
                "rabitq:bits=3",
                "rabitq:bits=4",
            ],
        ),
    );
    falls(
        "qjl ip",
        &ladder(&ip_err, &["qjl:m=64", "qjl:m=128", "qjl:m=256"]),
    );
    falls(
        "polar recon",
        &ladder(
            &recon,
            &[
                "polar:bits1=2,bits2=1",
                "polar:bits1=4,bits2=2",
                "polar:bits1=6,bits2=3",
            ],
        ),
    );
    // The optimal Extended-RaBitQ encoder maximises cos(x̂, o') per row, and the fast code is
    // one of the codes it scans, so its reconstruction error is never larger.
    for b in [2, 3, 4] {
        let fast = recon(&format!("rabitq:bits={b}"));
        let opt = recon(&format!("rabitq:bits={b},enc=optimal"));
        assert!(opt <= fast, "bits={b}: optimal {opt} vs fast {fast}");
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes and specs

/// Honest bytes at d = 130 (p = 256 under Hadamard padding; 144 for PolarQuant's 16-blocks).
#[test]
fn rotation_codecs_count_every_byte() {
    let rows = gaussian_rows(4, 130, 171);
    let bytes = |s: &str| {
        let c = spec(s).fit(&rows, 0).unwrap();
        (c.code_bytes(), c.model_bytes())
    };
    assert_eq!(bytes("tq-mse:bits=3"), (4 + 49, 8 + 4 * 8)); // ⌈390/8⌉, seed + 8 f32 centroids
    assert_eq!(bytes("tq-mse:bits=3,rot=hadamard"), (4 + 96, 8 + 32)); // 256·3/8
    assert_eq!(bytes("tq-mse:bits=2,rot=none"), (4 + 33, 16));
    assert_eq!(bytes("tq-prod:bits=3"), (8 + 33 + 17, 8 + 8 + 16)); // ν, γ, ⌈260/8⌉, ⌈130/8⌉
    assert_eq!(bytes("tq-prod:bits=1"), (4 + 17, 8));
    assert_eq!(bytes("qjl"), (4 + 17, 8));
    assert_eq!(bytes("qjl:m=100,proj=orth"), (4 + 13, 8));
    assert_eq!(bytes("polar"), (18 + 52, 8 + 4 * (16 + 3 * 4))); // 9 blocks: 9·46 bits
    // s_ip + f_add (centroid=mean) + signs + ex-bits; + the decode scale with dec=mse.
    assert_eq!(bytes("rabitq"), (8 + 17, 8 + 520));
    assert_eq!(bytes("rabitq:dec=mse"), (12 + 17, 8 + 520));
    assert_eq!(bytes("rabitq:bits=4,centroid=zero"), (4 + 17 + 49, 8 + 4));
    assert_eq!(
        bytes("rabitq:bits=2,enc=optimal,rot=none"),
        (8 + 17 + 17, 520)
    );
    assert_eq!(bytes("sign"), (4 + 17, 8));
    assert_eq!(bytes("sign:rot=hadamard"), (4 + 32, 8));
    // PolarQuant's practical budget: 62 bits per 16 coordinates = 3.875 bits/coordinate.
    let rows = gaussian_rows(4, 128, 172);
    let c = spec("polar").fit(&rows, 0).unwrap();
    assert_eq!(8 * c.code_bytes(), 128 * 3875 / 1000);
}

#[test]
fn rotation_specs_print_every_parameter_and_refuse_bad_values() {
    for (text, canonical) in [
        ("tq-mse", "tq-mse:bits=2,rot=haar"),
        ("tq-prod:bits=4", "tq-prod:bits=4,rot=haar"),
        ("qjl", "qjl:m=dim,proj=gauss"),
        ("qjl: proj = orth , m = 256", "qjl:m=256,proj=orth"),
        ("polar", "polar:levels=4,bits1=4,bits2=2,rot=haar"),
        ("rabitq", "rabitq:bits=1,enc=fast,centroid=mean,rot=haar"),
        (
            "rabitq:bits=9,enc=optimal",
            "rabitq:bits=9,enc=optimal,centroid=mean,rot=haar",
        ),
        ("sign:rot=none", "sign:rot=none"),
    ] {
        let s = spec(text);
        assert_eq!(s.to_string(), canonical);
        assert_eq!(spec(canonical), s);
    }
    for (text, expected) in [
        ("tq-mse:bits=9", "1..=8"),
        ("tq-mse:bits=0", "1..=8"),
        ("tq-prod:bits=10", "1..=9"),
        ("tq-mse:rot=random", "haar | hadamard | none"),
        ("qjl:proj=sparse", "gauss | orth"),
        ("qjl:m=0", "`dim` or an integer"),
        ("polar:levels=9", "1..=8"),
        ("rabitq:bits=10", "1..=9"),
        ("rabitq:enc=slow", "fast | optimal"),
        ("rabitq:centroid=median", "mean | zero"),
        ("sign:rot=x", "haar | hadamard | none"),
    ] {
        let e = text.parse::<CodecSpec>().unwrap_err().to_string();
        assert!(e.contains(expected), "{text}: {e}");
    }
    let e = "sign:bits=1".parse::<CodecSpec>().unwrap_err().to_string();
    assert!(
        e.contains("unknown parameter 'bits'") && e.contains("rot"),
        "{e}"
    );
}
