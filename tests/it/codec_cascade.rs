//! The origin's cascade table, Matryoshka bands and "PolarQuantGain" done right
//! (`../shared/reference/origin.md` §1.3, §1.10, §1.11, §1.13): `cascade`, `matryoshka`,
//! `gain-shape`, each checked against a plain reference or hand-worked values.

use crate::util::gaussian_rows;
use codecbench::codec::cascade::{CascadeCodec, FisherZ};
use codecbench::codec::gain_shape::GainShapeCodec;
use codecbench::codec::matryoshka::{MatryoshkaCodec, bf16_round_up};
use codecbench::codec::{Codec, CodecSpec};
use codecbench::data::Rows;

fn spec(s: &str) -> CodecSpec {
    s.parse().unwrap()
}

fn fit(s: &str, rows: &Rows) -> Box<dyn Codec> {
    spec(s).fit(rows, 1).unwrap()
}

/// Rows with a cluster structure: 6 random centres, each row a centre plus 0.3× noise.
fn clustered(n: usize, d: usize, seed: u64) -> Rows {
    let centres = gaussian_rows(6, d, seed);
    let noise = gaussian_rows(n, d, seed + 1);
    let mut data = Vec::with_capacity(n * d);
    for i in 0..n {
        let c = centres.row(i % 6);
        data.extend(noise.row(i).iter().zip(c).map(|(&e, &c)| c + 0.3 * e));
    }
    Rows::new(d, data)
}

fn cascade(s: &str, rows: &Rows) -> CascadeCodec {
    let CodecSpec::Cascade(p) = spec(s) else {
        panic!("{s}")
    };
    CascadeCodec::fit(&p, rows, 1).unwrap()
}

/// Plain reference: cos of two f32 vectors, f64, sequential sums.
fn ref_cos(a: &[f32], b: &[f32]) -> f64 {
    let mut ab = 0f64;
    let mut aa = 0f64;
    let mut bb = 0f64;
    for (&x, &y) in a.iter().zip(b) {
        ab += x as f64 * y as f64;
        aa += x as f64 * x as f64;
        bb += y as f64 * y as f64;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

#[test]
fn cascade_table_is_the_fisher_z_i8_of_the_exact_centroid_cosines() {
    let rows = clustered(300, 33, 5);
    for s in ["cascade:k=16", "cascade:k=16,fit=fps", "cascade:k=1"] {
        let c = cascade(s, &rows);
        let (k, d) = (c.k(), 33);
        let pal = c.palette();
        // Reference: exact cosines, z = atanh(clamp(cos, ±0.9999)), calibrated on the
        // off-diagonal entries (k = 1: on the single entry).
        let cos = |a: usize, b: usize| ref_cos(&pal[a * d..(a + 1) * d], &pal[b * d..(b + 1) * d]);
        let z = |v: f64| v.clamp(-0.9999, 0.9999).atanh();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for a in 0..k {
            for b in 0..k {
                if a != b || k == 1 {
                    lo = lo.min(z(cos(a, b)));
                    hi = hi.max(z(cos(a, b)));
                }
            }
        }
        let fz = c.fisher_z();
        // The calibration is stored as f32: relative error ≤ 2^-24 each.
        assert!(
            (fz.z_min as f64 - lo).abs() <= 1e-6 * lo.abs().max(1.0),
            "{s}"
        );
        assert!(
            (fz.z_range as f64 - (hi - lo)).abs() <= 1e-6 * (hi - lo).max(1.0),
            "{s}"
        );
        for a in 0..k {
            for b in 0..k {
                let q = c.table()[a * k + b] as f64;
                if k == 1 || hi - lo == 0.0 {
                    assert_eq!(q, 0.0, "{s}");
                    continue;
                }
                // Continuous code t = (z − z_min)/z_range·254 − 127; the table holds round(t)
                // clamped to ±127, so |q − clamp(t)| ≤ 1/2 (half an i8 step). The codec's t
                // uses the f32-stored z_min/z_range: |Δt| ≤ 254·(|Δz_min| + |t-part|·|Δrange|)
                // /range ≈ 254·2·2^-24·max(|z|,1)/range, below 1e-4 here; 1e-3 covers it.
                let t = (z(cos(a, b)) - lo) / (hi - lo) * 254.0 - 127.0;
                let tc = t.clamp(-127.0, 127.0);
                assert!((q - tc).abs() <= 0.5 + 1e-3, "{s} [{a},{b}]: {q} vs {t}");
                if a == b {
                    assert_eq!(q, 127.0, "{s}: the diagonal saturates");
                }
            }
        }
    }
}

#[test]
fn cascade_pair_is_the_table_lookup_and_the_scorer_is_query_dot_centroid() {
    let rows = clustered(200, 20, 8);
    for s in ["cascade:k=12", "cascade:k=12,norm=bf16"] {
        let c = cascade(s, &rows);
        let codes = c.encode_all(&rows);
        let fz = c.fisher_z();
        let k = c.k();
        let norm = |r: &[f32]| r.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        for i in 0..20 {
            let (a, b) = (codes.get(i), codes.get(i + 37));
            let (ia, ib) = (c.index(a), c.index(b));
            let want = fz.decode(c.table()[ia * k + ib]);
            let got = c.pair(a, b).unwrap();
            if s.ends_with("bf16") {
                // Gains are bf16 of the norms: relative error ≤ 2^-8 each (half-ulp 2^-9 plus
                // the f32 step), so the product is within 2·2^-8 of want·‖a‖·‖b‖.
                let g = norm(rows.row(i)) * norm(rows.row(i + 37));
                assert!((got - want * g).abs() <= 2.0 * 2f64.powi(-8) * (want * g).abs() + 1e-12);
            } else {
                assert_eq!(got, want, "{s}: pair {i}");
            }
            // Index = the centroid of largest cosine (plain reference, ties lowest).
            let row = rows.row(i);
            let best = (0..k)
                .map(|j| ref_cos(row, &c.palette()[j * 20..(j + 1) * 20]))
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |acc, (j, v)| if v > acc.1 { (j, v) } else { acc },
                );
            assert_eq!(ia, best.0, "{s}: row {i}");
            // Asymmetric: ⟨q, c_idx⟩ (× stored gain).
            let q = rows.row(i + 1);
            let centroid = &c.palette()[ia * 20..(ia + 1) * 20];
            let dot: f64 = q
                .iter()
                .zip(centroid)
                .map(|(&x, &y)| x as f64 * y as f64)
                .sum();
            let est = c.scorer(q).estimate(a);
            let g = if s.ends_with("bf16") {
                half::bf16::from_f32(norm(row) as f32).to_f64()
            } else {
                1.0
            };
            assert!(
                (est - dot * g).abs() <= 1e-12 * (dot * g).abs().max(1e-300),
                "{s}"
            );
        }
    }
}

#[test]
fn cascade_clusters_well_on_clustered_rows() {
    // Six well-separated clusters and k = 6: every pair in the same cluster shares an index
    // (the noise, 0.3 per coordinate, is far smaller than the centre distances).
    let rows = clustered(120, 64, 3);
    let c = cascade("cascade:k=6", &rows);
    let codes = c.encode_all(&rows);
    for i in 0..120 {
        assert_eq!(
            c.index(codes.get(i)),
            c.index(codes.get(i % 6)),
            "row {i} and its cluster's first row"
        );
    }
    // The farthest-point palette also separates them.
    let f = cascade("cascade:k=6,fit=fps", &rows);
    let codes = f.encode_all(&rows);
    let distinct: std::collections::BTreeSet<usize> =
        (0..6).map(|i| f.index(codes.get(i))).collect();
    assert_eq!(distinct.len(), 6);
}

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
    let b = |s: &str| fit(s, &rows).code_bytes();
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
    assert_eq!(fit("matryoshka", &rows).model_bytes(), 4 * 130 * 130);
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
    let c = fit("matryoshka:profile=i16x3", &rows);
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

#[test]
fn gain_shape_norm_is_within_a_bf16_half_ulp_and_bytes_match_by_hand() {
    let rows = gaussian_rows(60, 65, 3);
    let scaled = Rows::new(65, rows.as_slice().iter().map(|&v| v * 0.013).collect());
    for s in [
        "gain-shape",
        "gain-shape:shape=i2",
        "gain-shape:shape=i4",
        "gain-shape:shape=bf16,rot=none",
    ] {
        for rows in [&rows, &scaled] {
            let c = fit(s, rows);
            let codes = c.encode_all(rows);
            for (i, row) in rows.iter().enumerate() {
                let mut x = vec![0f32; 65];
                c.decode(codes.get(i), &mut x).unwrap();
                let n = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
                let nh = x.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
                // Stored gain g = bf16(f32(‖x‖)): |g − ‖x‖| ≤ half a bf16 ulp at ‖x‖ (2^(e−8))
                // plus half an f32 ulp (2^(e−24)), e = ⌊log2 ‖x‖⌋. ‖x̂‖ = g·‖ŝ‖ with ‖ŝ‖ = 1 to
                // f64 rounding and each output coordinate rounded to f32 (2^-24 relative):
                // a further 1e-7·‖x‖.
                let e = n.log2().floor();
                let tol = 2f64.powf(e - 8.0) + 2f64.powf(e - 24.0) + 1e-7 * n;
                assert!((nh - n).abs() <= tol, "{s} row {i}: {nh} vs {n}");
            }
        }
    }
    let b = |s: &str| fit(s, &rows).code_bytes();
    // d = 65: i8 ⇒ 65 bytes + 2; i4 ⇒ ⌈260/8⌉ = 33 + 2; i2 ⇒ ⌈130/8⌉ = 17 + 2;
    // hadamard pads to 128: i4 ⇒ 64 + 2; bf16 ⇒ 130 + 2 (the origin's 2 + 2·n).
    assert_eq!(b("gain-shape"), 67);
    assert_eq!(b("gain-shape:shape=i4"), 35);
    assert_eq!(b("gain-shape:shape=i2"), 19);
    assert_eq!(b("gain-shape:shape=i4,rot=hadamard"), 66);
    assert_eq!(b("gain-shape:shape=bf16,rot=none"), 132);
    assert_eq!(fit("gain-shape", &rows).model_bytes(), 8);
    assert_eq!(fit("gain-shape:rot=none", &rows).model_bytes(), 0);
    // cascade: 1 byte (+2 bf16 norm); model 4·k·d + k² + 8 with k = min(k, rows) = 60.
    assert_eq!(b("cascade"), 1);
    assert_eq!(b("cascade:norm=bf16"), 3);
    assert_eq!(
        fit("cascade", &rows).model_bytes(),
        4 * 60 * 65 + 60 * 60 + 8
    );
    assert_eq!(fit("cascade:k=7", &rows).model_bytes(), 4 * 7 * 65 + 49 + 8);
}

#[test]
fn gain_shape_shape_is_scale_free_and_the_hand_worked_code_decodes() {
    // d = 2, rot=none, i2: x = (3, −0.5): u = (0.986, −0.164), q = round(1·u/0.986) = (1, 0)
    // ⇒ ŝ = (1, 0), x̂ = bf16(‖x‖)·(1, 0); ‖x‖ = √9.25 = 3.0414; bf16 spacing in [2, 4) is
    // 2^-6: 3.0414·64 = 194.65 → 195/64 = 3.046875.
    let rows = Rows::new(2, vec![3.0, -0.5, 1.0, 1.0]);
    let c = fit("gain-shape:shape=i2,rot=none", &rows);
    let codes = c.encode_all(&rows);
    let mut x = vec![0f32; 2];
    c.decode(codes.get(0), &mut x).unwrap();
    assert_eq!(x, vec![3.046875, 0.0]);
    let CodecSpec::GainShape(p) = spec("gain-shape:shape=i8,rot=none") else {
        panic!()
    };
    let g = GainShapeCodec::fit(&p, 2, 0);
    // (1, 1) and (5, 5) share the shape code.
    let (mut a, mut b) = (vec![0u8; 4], vec![0u8; 4]);
    g.encode(&[1.0, 1.0], &mut a);
    g.encode(&[5.0, 5.0], &mut b);
    assert_eq!(a[2..], b[2..]);
    // q = (127, 127) ⇒ ŝ = q/‖q‖ = (1/√2, 1/√2) to f64 rounding.
    for v in g.shape(&a) {
        assert!((v - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
    }
}

#[test]
fn degenerate_rows_give_finite_outputs_or_clear_errors() {
    for d in [1usize, 2, 3, 17] {
        // All-zero and constant training sets (every row identical).
        for base in [vec![0.0f32; d], vec![0.5; d]] {
            let rows = Rows::new(d, base.iter().cycle().take(5 * d).copied().collect());
            for s in [
                "cascade",
                "cascade:fit=fps,norm=bf16",
                "matryoshka",
                "matryoshka:profile=aggressive",
                "gain-shape:shape=i2",
                "gain-shape:shape=bf16,rot=hadamard",
            ] {
                let c = fit(s, &rows);
                let codes = c.encode_all(&rows);
                let q = vec![0.25f32; d];
                for i in 0..rows.len() {
                    let e = c.scorer(&q).estimate(codes.get(i));
                    assert!(e.is_finite(), "{s} d={d}");
                    if c.can_pair() {
                        assert!(c.pair(codes.get(i), codes.get(0)).unwrap().is_finite());
                    }
                    if c.can_decode() {
                        let mut x = vec![0f32; d];
                        c.decode(codes.get(i), &mut x).unwrap();
                        assert!(x.iter().all(|v| v.is_finite()), "{s} d={d}");
                    }
                }
            }
        }
    }
    // Huge finite rows: the norm overflows f32/bf16 and is clamped, never infinite.
    let rows = Rows::new(4, vec![3.0e38; 8]);
    for s in ["gain-shape", "matryoshka", "cascade:norm=bf16"] {
        let c = fit(s, &rows);
        let codes = c.encode_all(&rows);
        let e = c.scorer(&[1.0, 0.0, 0.0, 0.0]).estimate(codes.get(0));
        assert!(e.is_finite(), "{s}: {e}");
    }
    // Bad parameters are typed errors with the valid values.
    for (s, want) in [
        ("cascade:k=0", "1..=256"),
        ("cascade:k=257", "1..=256"),
        ("cascade:fit=tree", "kmeans | fps"),
        ("gain-shape:shape=i1", "bf16 | i2 .. i8"),
        ("gain-shape:shape=i9", "bf16 | i2 .. i8"),
        ("gain-shape:rot=dct", "haar"),
    ] {
        let e = s.parse::<CodecSpec>().unwrap_err().to_string();
        assert!(e.contains(want), "{s}: {e}");
    }
    let fz = FisherZ::calibrate([0.5]);
    assert_eq!(fz.z_range, 0.0);
    assert_eq!(fz.encode(0.9), 0);
}
