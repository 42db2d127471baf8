//! QJL (`qjl`, arXiv:2406.03482): the normalised variance π/2 (iid Gaussian) and ≈ π/2 − 1
//! (orthogonal rows), and a plain reference implementation element-wise against production.

use crate::codec_rotation::{matvec, mean_sd, paired, to64};
use crate::util::{dot, dot64, gaussian_rows, spec, unit_rows};
use codecbench::codec::{Codec, CodecSpec, QjlCodec};
use std::f64::consts::{FRAC_PI_2, PI};

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
                let want = scale * dot(k, k).sqrt() * corr;
                let got = codec.scorer(qrow).estimate(codes.get(i));
                // ‖k‖ is stored as f32 (6e-8 relative) and E|θ₁| agrees to ~1e-12.
                let tol = 1e-6 * scale * dot(k, k).sqrt() * sq.iter().map(|v| v.abs()).sum::<f64>();
                assert!((got - want).abs() <= tol, "{s}: {got} vs {want}");
            }
        }
    }
}
