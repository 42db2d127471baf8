//! RaBitQ and Extended RaBitQ (`rabitq`, arXiv:2405.12497, arXiv:2409.09913): 1-bit Pearson
//! ≈ 0.80, a plain reference implementation element-wise against production, the critical-point
//! scan against the exhaustive optimum. The quantized-query scorer (`qb=B`): the bit-plane
//! popcount kernel against its references (exact), the scorer against a plain f64
//! implementation of the paper's formula, qb = 8 against the float query (bound from the
//! quantization step), and quality on a real population against the float query (band derived
//! from the added error variance).

use crate::codec_rotation::{assert_close, matvec, matvec_t, paired, pearson_slope, to64};
use crate::util::{dot, dot64, gaussian_rows, spec};
use codecbench::codec::rabitq::{Centroid, QueryRounding, RabitqCodec};
use codecbench::codec::{Codec, CodecSpec, Codes, DecodeScale};
use codecbench::data::Rows;
use codecbench::linalg::popcount::{
    BitPlanes, and_planes_many, and_planes_many_portable, and_planes_paths, and_planes_scalar,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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
            assert_close(&dec, &xt, dot(x, x).sqrt().max(nu), s);
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

const EPS: f64 = f64::EPSILON;

fn f32_at(code: &[u8], at: usize) -> f64 {
    f32::from_le_bytes(code[at..at + 4].try_into().unwrap()) as f64
}

/// Rows with a zero row and a constant row appended.
fn with_edge_rows(rows: &Rows, c: f32) -> Rows {
    let d = rows.dim();
    let mut data = rows.as_slice().to_vec();
    data.extend(std::iter::repeat_n(0f32, d));
    data.extend(std::iter::repeat_n(c, d));
    Rows::new(d, data)
}

// ---------------------------------------------------------------------------------------------
// The kernel

/// and_planes_many (each copy: generic, POPCNT, AVX-512) equals the per-byte reference and the definition
/// Σ_i x_i·u_i, Σ_i x_i, exactly, for every B, odd byte lengths, strides and offsets, and for
/// zero / all-ones codes and queries.
#[test]
fn popcount_planes_equal_the_scalar_reference_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for bits in 1u32..=8 {
        for n_bytes in [1usize, 3, 7, 8, 9, 15, 16, 17, 48, 49, 96, 101] {
            let top = (1u32 << bits) - 1;
            let n = 8 * n_bytes - rng.random_range(0..8);
            let queries: Vec<Vec<u8>> = vec![
                (0..n).map(|_| rng.random_range(0..=top) as u8).collect(),
                vec![0; n],
                vec![top as u8; n],
            ];
            for levels in &queries {
                let planes = BitPlanes::new(levels, bits, n_bytes);
                let offset = rng.random_range(0..5);
                let stride = offset + n_bytes + rng.random_range(0..4);
                // Odd: the AVX-512 copy counts two codes per step and the last one alone.
                let rows = 21;
                let mut data: Vec<u8> = (0..stride * rows).map(|_| rng.random()).collect();
                // Bits past n are zero in real codes (the encoder zeroes them); keep that.
                for r in 0..rows {
                    let code = &mut data[r * stride + offset..r * stride + offset + n_bytes];
                    for i in n..8 * n_bytes {
                        code[i / 8] &= !(1u8 << (i % 8));
                    }
                }
                // Row 0 all zero bits, row 1 all ones (within n).
                data[offset..offset + n_bytes].fill(0);
                for i in 0..n {
                    data[stride + offset + i / 8] |= 1 << (i % 8);
                }
                let mut out = vec![(0u32, 0u32); rows];
                and_planes_many(&planes, &data, stride, offset, &mut out);
                let mut portable = vec![(0u32, 0u32); rows];
                and_planes_many_portable(&planes, &data, stride, offset, &mut portable);
                assert_eq!(
                    out, portable,
                    "B={bits} n={n_bytes}: dispatched vs portable copy"
                );
                // Every copy this CPU runs (POPCNT, AVX-512 VPOPCNTDQ), called directly.
                for (name, path) in and_planes_paths() {
                    let mut got = vec![(0u32, 0u32); rows];
                    path(&planes, &data, stride, offset, &mut got);
                    assert_eq!(got, portable, "B={bits} n={n_bytes}: {name}");
                }
                for (r, &got) in out.iter().enumerate() {
                    let x = &data[r * stride + offset..r * stride + offset + n_bytes];
                    assert_eq!(got, and_planes_scalar(&planes, x), "B={bits} n={n_bytes}");
                    let bit = |i: usize| (x[i / 8] >> (i % 8) & 1) as u32;
                    let def: u32 = (0..n).map(|i| bit(i) * levels[i] as u32).sum();
                    let pop: u32 = (0..n).map(bit).sum();
                    assert_eq!(got, (def, pop), "B={bits} n={n_bytes} row {r}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scorer against the paper's formula

/// The paper's quantized query (§3.3), written out: lo = min q', Δ = (max q' − lo)/(2^B − 1),
/// u_i = round((q'_i − lo)/Δ) (nearest, FAISS) — the randomized levels are taken from the codec
/// and checked to be ⌊t⌋ or ⌈t⌉ — and q̄_i = lo + Δ·u_i. The reference estimate is
/// ⟨c, q⟩ + f_add + s_ip·Σ_i x̂_i·q̄_i with x̂_i = ±½ read bit by bit from the code and the
/// code's own stored f32 factors (encoding is checked in codec_rotation.rs).
///
/// Tolerance: both sides are f64. The reference sums p terms (error ≤ p·ε·Σ|x̂_i q̄_i|); the
/// scorer forms Δ·A + lo·P − ½(Δ·Σu + p·lo) with exact integers A, P (≤ 4 roundings of terms
/// bounded by (Δ·(2^B−1) + |lo|)·p); the test's rotation (a plain mat-vec) and the codec's differ
/// by ≤ p·ε·‖q − c‖ per coordinate, which moves lo, Δ and q̄_i by as much. So
/// |got − want| ≤ 8·p·ε·S with S = |⟨c,q⟩| + |f_add| + |s_ip|·(Δ·(2^B−1) + |lo|)·p·(1 + ‖q−c‖).
#[test]
fn qb_scorer_matches_the_paper_formula_in_f64() {
    for d in [7usize, 65, 130] {
        let train = with_edge_rows(&gaussian_rows(80, d, 200 + d as u64), 0.75);
        let mut qdata = gaussian_rows(5, d, 300 + d as u64).as_slice().to_vec();
        qdata.extend(std::iter::repeat_n(0f32, d)); // zero query
        qdata.extend(std::iter::repeat_n(-1.25f32, d)); // constant query
        let queries = Rows::new(d, qdata);
        for s in [
            "rabitq:bits=1,qb=4",
            "rabitq:bits=1,qb=1,centroid=zero",
            "rabitq:bits=1,qb=8,rot=hadamard",
            "rabitq:bits=1,qb=3,qround=random",
            "rabitq:bits=1,qb=4,qround=random,centroid=zero,rot=hadamard",
        ] {
            let CodecSpec::Rabitq(params) = spec(s) else {
                unreachable!()
            };
            let qb = params.qb.unwrap();
            let top = ((1u32 << qb) - 1) as f64;
            let codec = RabitqCodec::fit(&params, &train, 41);
            let (m, p) = (codec.rotation().matrix(), codec.rotation().out_dim());
            let c = codec.centroid().to_vec();
            let codes = codec.encode_all(&train);
            for q in queries.iter() {
                let qc: Vec<f64> = q.iter().zip(&c).map(|(&v, c)| v as f64 - c).collect();
                let qrot: Vec<f64> = (0..p).map(|i| dot64(&m[i * d..(i + 1) * d], &qc)).collect();
                let qn = dot64(&qc, &qc).sqrt();
                let lo = qrot.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = qrot.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let delta = if hi > lo { (hi - lo) / top } else { 0.0 };
                let qq = codec.quantized_query(q).unwrap();
                let tol_q = 8.0 * p as f64 * EPS * (qn + 1.0);
                assert!((qq.lo - lo).abs() <= tol_q, "{s}: lo {} vs {lo}", qq.lo);
                assert!(
                    (qq.delta - delta).abs() <= tol_q,
                    "{s}: Δ {} vs {delta}",
                    qq.delta
                );
                for (i, &u) in qq.levels.iter().enumerate() {
                    let t = if delta > 0.0 {
                        (qrot[i] - lo) / delta
                    } else {
                        0.0
                    };
                    let ok = match params.qround {
                        QueryRounding::Nearest => u as f64 == t.round().clamp(0.0, top),
                        QueryRounding::Random => {
                            (u as f64 - t).abs() < 1.0 + 1e-9 && u as f64 <= top
                        }
                    };
                    assert!(ok, "{s}: level {i} = {u}, t = {t}");
                }
                let qbar: Vec<f64> = qq.levels.iter().map(|&u| lo + delta * u as f64).collect();
                let cq: f64 = q.iter().zip(&c).map(|(&v, c)| v as f64 * c).sum();
                let scorer = codec.scorer(q);
                let mut all = vec![0f64; codes.len()];
                scorer.estimate_all(&codes, &mut all);
                for (r, code) in codes.iter().enumerate() {
                    // Header: s_ip, and f_add with centroid = mean only (FAISS's 8 bytes).
                    let mean = params.centroid == Centroid::Mean;
                    let s_ip = f32_at(code, 0);
                    let f_add = if mean { f32_at(code, 4) } else { 0.0 };
                    let signs = &code[if mean { 8 } else { 4 }..];
                    let grid: f64 = (0..p)
                        .map(|i| {
                            let xh = if signs[i / 8] >> (i % 8) & 1 == 1 {
                                0.5
                            } else {
                                -0.5
                            };
                            xh * qbar[i]
                        })
                        .sum();
                    let want = cq + f_add + s_ip * grid;
                    let scale = cq.abs()
                        + f_add.abs()
                        + s_ip.abs() * (delta * top + lo.abs()) * p as f64 * (1.0 + qn);
                    let tol = 8.0 * p as f64 * EPS * scale;
                    let got = scorer.estimate(code);
                    assert!(
                        (got - want).abs() <= tol,
                        "{s} d={d} row {r}: {got} vs {want}"
                    );
                    assert_eq!(
                        got.to_bits(),
                        all[r].to_bits(),
                        "{s}: estimate vs estimate_all"
                    );
                }
                // With centroid = zero the zero row's code is all zero: the estimate is
                // ⟨c, q⟩ = 0 exactly.
                if s.contains("centroid=zero") {
                    let zero = codes.get(train.len() - 2);
                    assert!(zero.iter().all(|&b| b == 0), "{s}: zero row's code");
                    assert_eq!(scorer.estimate(zero), 0.0, "{s}: zero row");
                }
            }
        }
    }
}

/// `qb` needs bits = 1; `qround` needs `qb`; the spec round-trips and the default is unchanged.
#[test]
fn qb_spec_round_trips_and_refuses_multibit() {
    for s in [
        "rabitq:bits=2,qb=4",
        "rabitq:qb=0",
        "rabitq:qb=9",
        "rabitq:qround=random",
    ] {
        let e = s.parse::<CodecSpec>().unwrap_err().to_string();
        assert!(e.contains("qb") || e.contains("qround"), "{s}: {e}");
    }
    assert_eq!(
        spec("rabitq").to_string(),
        "rabitq:bits=1,enc=fast,centroid=mean,rot=haar"
    );
    assert_eq!(spec("rabitq:qb=none"), spec("rabitq"));
    for s in ["rabitq:qb=4", "rabitq:qb=1,qround=random,rot=hadamard"] {
        let a = spec(s);
        assert_eq!(spec(&a.to_string()), a, "{s}");
    }
    assert_eq!(
        spec("rabitq:qb=4").to_string(),
        "rabitq:bits=1,enc=fast,centroid=mean,rot=haar,qb=4,qround=nearest"
    );
    // Same bytes per row as the float-query codec: the code layout is unchanged.
    let rows = gaussian_rows(20, 33, 1);
    let a = spec("rabitq").fit(&rows, 1).unwrap();
    let b = spec("rabitq:qb=4").fit(&rows, 1).unwrap();
    assert_eq!(a.code_bytes(), b.code_bytes());
    assert_eq!(a.encode_all(&rows), b.encode_all(&rows));
}

// ---------------------------------------------------------------------------------------------
// qb = 8 against the float query

/// With nearest rounding |q̄_i − q'_i| ≤ Δ/2, so the grid dots differ by
/// |Σ x̂_i (q̄_i − q'_i)| ≤ ½·p·Δ/2 (worst case), and the float path's f32 table sums add at most
/// (p/8 + 16)·u·Σ|q'_i| (u = 2⁻²⁴, `linalg::scan`'s bound); ⟨c,q⟩ + f_add is the same f64 on
/// both sides, so the final additions add ≤ 4ε of the estimates: |est_qb − est_float| ≤
/// |s_ip|·(p·Δ/4 + (p/8 + 16)·u·‖q'‖₁) + 4ε·(|est_qb| + |est_float|). Typical errors are far smaller:
/// with e_i roughly uniform on ±Δ/2 the difference has RMS |s_ip|·½·Δ·√(p/12); we check the
/// RMS over all pairs against 1.5× that (a qb = 4 grid, Δ 17× larger, would fail it).
#[test]
fn qb8_is_close_to_the_float_query() {
    for d in [65usize, 384] {
        let rows = with_edge_rows(&gaussian_rows(400, d, 11), -0.5);
        let queries = gaussian_rows(8, d, 12);
        let float = spec("rabitq:bits=1").fit(&rows, 5).unwrap();
        let CodecSpec::Rabitq(params) = spec("rabitq:bits=1,qb=8") else {
            unreachable!()
        };
        let qb8 = RabitqCodec::fit(&params, &rows, 5);
        let codes: Codes = float.encode_all(&rows);
        assert_eq!(codes, qb8.encode_all(&rows));
        let p = qb8.rotation().out_dim();
        let (mut sq, mut sq_pred, mut n) = (0f64, 0f64, 0usize);
        for q in queries.iter() {
            let qq = qb8.quantized_query(q).unwrap();
            let qrot = qb8.rotate_query(q);
            let l1: f64 = qrot.iter().map(|v| v.abs()).sum();
            let (sf, s8) = (float.scorer(q), qb8.scorer(q));
            let (mut ef, mut e8) = (vec![0f64; codes.len()], vec![0f64; codes.len()]);
            sf.estimate_all(&codes, &mut ef);
            s8.estimate_all(&codes, &mut e8);
            for (r, code) in codes.iter().enumerate() {
                let s_ip = f32_at(code, 0).abs();
                let bound = s_ip
                    * (p as f64 * qq.delta / 4.0
                        + (p as f64 / 8.0 + 16.0) * (1.0 / (1u64 << 24) as f64) * l1)
                    + 4.0 * EPS * (e8[r].abs() + ef[r].abs());
                let diff = e8[r] - ef[r];
                assert!(diff.abs() <= bound, "d={d} row {r}: |{diff}| > {bound}");
                sq += diff * diff;
                sq_pred += (s_ip * 0.5 * qq.delta).powi(2) * p as f64 / 12.0;
                n += 1;
            }
        }
        let (rms, pred) = ((sq / n as f64).sqrt(), (sq_pred / n as f64).sqrt());
        assert!(rms <= 1.5 * pred, "d={d}: RMS {rms} vs predicted {pred}");
    }
}

// ---------------------------------------------------------------------------------------------
// Quality on a real population

/// Mean per-query Pearson (Fisher-z pooled) of `codec` on minilm-sentences: the first 2000
/// rows are the base (and the training rows), the last 100 rows the queries.
fn pooled_pearson(s: &str, rows: &Rows, queries: &Rows) -> f64 {
    let codec = spec(s).fit(rows, 3).unwrap();
    let codes = codec.encode_all(rows);
    let mut z = 0f64;
    for q in queries.iter() {
        let exact: Vec<f64> = rows
            .iter()
            .map(|r| r.iter().zip(q).map(|(&a, &b)| a as f64 * b as f64).sum())
            .collect();
        let mut est = vec![0f64; codes.len()];
        codec.scorer(q).estimate_all(&codes, &mut est);
        let n = est.len() as f64;
        let (me, mx) = (est.iter().sum::<f64>() / n, exact.iter().sum::<f64>() / n);
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (e, x) in est.iter().zip(&exact) {
            sxy += (e - me) * (x - mx);
            sxx += (x - mx) * (x - mx);
            syy += (e - me) * (e - me);
        }
        z += (sxy / (sxx * syy).sqrt()).atanh();
    }
    (z / queries.len() as f64).tanh()
}

/// Quantizing the query to B_q bits with step Δ adds, per estimate, error variance
/// ν²/⟨ō,o⟩²·Δ²/12 (⟨x̂, e⟩ with e_i ≈ U(±Δ/2), scaled by s_ip = ν/(⟨ō,o⟩·√p/2)), against the
/// 1-bit error variance ν²·‖q'‖²·κ/p (κ = (1 − ⟨ō,o⟩²)/⟨ō,o⟩² ≈ 0.57). With q' roughly Gaussian
/// (range ≈ 6·‖q'‖/√p at p = 384) and ⟨ō,o⟩ ≈ 0.8, B_q = 4 gives Δ ≈ 0.4·‖q'‖/√p and a relative
/// increase ρ ≈ (0.4²/12)/(0.64·0.57) ≈ 0.037 of the noise, so r = 1/√(1 + κ_r) drops to
/// 1/√(1 + κ_r·(1 + ρ)): 0.80 → 0.795 (FAISS measured 0.7984 → 0.7946). Band for qb = 4:
/// r_float − 0.015 ≤ r_qb4 ≤ r_float + 0.003 (3× the predicted drop; the two scorers share
/// codes and queries, so sampling noise in the difference is far below that). B_q = 1 has
/// Δ ≈ 6·‖q'‖/√p, ρ ≈ 8: r must fall by more than 0.1, which shows the band can fail.
#[test]
fn qb4_quality_on_minilm_sentences_is_within_the_band_of_the_float_query() {
    use codecbench::data::catalog::{LoadOptions, PopulationSpec};
    use codecbench::data::population::NonFinitePolicy;
    let pspec = PopulationSpec::parse("minilm-sentences").unwrap();
    let opts = LoadOptions {
        max_rows: None,
        seed: 0,
        nonfinite: NonFinitePolicy::Error,
        budget: codecbench::budget::MemoryBudget::bytes(1 << 30),
    };
    let pop = pspec.load(pspec.default_kind(), &opts).unwrap();
    let (n, d) = (pop.rows.len(), pop.rows.dim());
    assert!(n >= 2100);
    let all = pop.rows.as_slice();
    let rows = Rows::new(d, all[..2000 * d].to_vec());
    let queries = Rows::new(d, all[(n - 100) * d..].to_vec());
    let r0 = pooled_pearson("rabitq:bits=1", &rows, &queries);
    let r4 = pooled_pearson("rabitq:bits=1,qb=4", &rows, &queries);
    let r1 = pooled_pearson("rabitq:bits=1,qb=1", &rows, &queries);
    eprintln!("minilm-sentences Pearson: float {r0:.4}, qb=4 {r4:.4}, qb=1 {r1:.4}");
    assert!(
        r4 >= r0 - 0.015 && r4 <= r0 + 0.003,
        "qb=4 {r4} vs float {r0}"
    );
    assert!(r1 < r0 - 0.1, "qb=1 {r1} vs float {r0}");
}
