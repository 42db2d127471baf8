//! The rotation family across its codecs (issue 4): unit slope of tq-prod, QJL and RaBitQ,
//! unbiasedness over random rotations, distortion falling as bits rise in every family, every
//! byte counted, every parameter printed and bad values refused. Each codec's own checks against
//! its paper are in `codec_turbo`, `codec_qjl`, `codec_polar`, `codec_rabitq` and `codec_sign`;
//! the helpers here (plain references, Pearson/slope, reconstruction error) serve them.
//!
//! Standard errors below are computed from the data (sd/√n); "4 SE" bounds have a two-sided
//! normal false-failure probability of 6e-5 for one fixed seed, and the seeds are fixed, so the
//! tests are deterministic.

use crate::util::{dot, dot64, gaussian_rows, spec, unit_rows};
use codecbench::codec::{Codec, CodecSpec, TqParams};
use codecbench::data::Rows;
use codecbench::linalg::RotationKind;

pub(crate) fn to64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

pub(crate) fn mean_sd(v: &[f64]) -> (f64, f64) {
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
pub(crate) fn pearson_slope(est: &[f64], exact: &[f64]) -> (f64, f64, f64) {
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
pub(crate) fn paired(codec: &dyn Codec, rows: &Rows, queries: &Rows) -> (Vec<f64>, Vec<f64>) {
    let codes = codec.encode_all(rows);
    (0..rows.len())
        .map(|i| {
            let est = codec.scorer(queries.row(i)).estimate(codes.get(i));
            (est, dot(rows.row(i), queries.row(i)))
        })
        .unzip()
}

/// Σ‖x − x̂‖² / Σ‖x‖² over `rows` (decode).
pub(crate) fn recon_error(codec: &dyn Codec, rows: &Rows) -> f64 {
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
        energy += dot(x, x);
    }
    err / energy
}

pub(crate) fn tq(bits: u8, rot: RotationKind) -> TqParams {
    TqParams { bits, rot }
}

/// The Gaussian Lloyd–Max distortions (Max 1960; algorithms.md T1), to 4 decimals.
pub(crate) const GAUSS_D: [f64; 4] = [0.3634, 0.1175, 0.0345, 0.0095];

// ---------------------------------------------------------------------------------------------
// Plain reference implementations, element-wise against production (same rotation, same seed)

/// y = M·x for a p×d row-major matrix.
pub(crate) fn matvec(m: &[f64], p: usize, x: &[f64]) -> Vec<f64> {
    let d = x.len();
    (0..p).map(|i| dot64(&m[i * d..(i + 1) * d], x)).collect()
}

/// x = Mᵀ·y.
pub(crate) fn matvec_t(m: &[f64], d: usize, y: &[f64]) -> Vec<f64> {
    let mut x = vec![0f64; d];
    for (i, &yi) in y.iter().enumerate() {
        for j in 0..d {
            x[j] += m[i * d + j] * yi;
        }
    }
    x
}

pub(crate) fn nearest(c: &[f64], t: f64) -> usize {
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
pub(crate) fn reference_tq_mse(
    m: &[f64],
    p: usize,
    c: &[f64],
    x: &[f32],
) -> (Vec<usize>, Vec<f64>) {
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
pub(crate) fn assert_close(prod: &[f32], reference: &[f64], scale: f64, ctx: &str) {
    for (i, (&a, &b)) in prod.iter().zip(reference).enumerate() {
        assert!(
            (a as f64 - b).abs() <= 1e-6 * scale + 1e-30,
            "{ctx}: coord {i}: {a} vs {b}"
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
    let exact = dot(&x, &q);
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
        ("tq-mse:rot=random", "haar | hadamard | fht-kac | none"),
        ("qjl:proj=sparse", "gauss | orth"),
        ("qjl:m=0", "`dim` or an integer"),
        ("polar:levels=9", "1..=8"),
        ("rabitq:bits=10", "1..=9"),
        ("rabitq:enc=slow", "fast | optimal"),
        ("rabitq:centroid=median", "mean | zero"),
        ("sign:rot=x", "haar | hadamard | fht-kac | none"),
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
