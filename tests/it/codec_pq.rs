//! Product quantization (`pq`): k-means never increases its objective, PQ beats a random
//! codebook, ADC equals a plain slow reference, too few rows or too many sub-vectors are typed
//! errors. PQ FastScan (`pq:…,scan=fast`): the u8-LUT / u16-sum scorer against its scalar
//! references (exact integer equality), against float ADC (within the LUT-quantization bound
//! m/(2a) of `linalg::fastscan`), and in quality against `scan=adc` on a real population within
//! a band derived from that bound.

use crate::util::{fit, gaussian_rows, mse};
use codecbench::codec::{Codec, CodecSpec, Codes, PqCodec, PqScan};
use codecbench::data::Rows;
use codecbench::data::catalog::{LoadOptions, PopulationSpec};
use codecbench::data::population::NonFinitePolicy;
use codecbench::error::Error;
use codecbench::linalg::fastscan::{self, BLOCK};
use codecbench::linalg::kmeans::{KMeans, nearest};
use codecbench::linalg::seeded_rng;
use codecbench::metric::correlation::pearson;
use codecbench::metric::recall::recall_at_k;
use codecbench::report::peers::fast_scan_pair;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` rows around `k` well-separated centres in `d` dims (centres N(0, 25), noise N(0, 0.01)).
fn clustered(n: usize, d: usize, k: usize, seed: u64) -> Rows {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<f32> = (0..k * d)
        .map(|_| 5.0 * rng.sample::<f64, _>(rand_distr::StandardNormal) as f32)
        .collect();
    let mut data = Vec::with_capacity(n * d);
    for i in 0..n {
        let c = &centres[(i % k) * d..(i % k + 1) * d];
        data.extend(
            c.iter()
                .map(|&v| v + 0.1 * rng.sample::<f64, _>(rand_distr::StandardNormal) as f32),
        );
    }
    Rows::new(d, data)
}

#[test]
fn kmeans_objective_never_increases() {
    let rows = clustered(600, 6, 12, 7);
    let km = KMeans::fit(rows.as_slice(), 6, 12, 50, &mut seeded_rng(3, 5));
    for w in km.objective.windows(2) {
        // Lloyd steps cannot increase the objective; 1e-12 relative allows summation order.
        assert!(w[1] <= w[0] * (1.0 + 1e-12), "{:?}", km.objective);
    }
    // Lloyd moves away from the k-means++ seeding (not a local-optimum claim: with 12
    // clusters k-means++ may merge two, which only the single-run objective shows).
    assert!(
        km.objective.last().unwrap() < &km.objective[0],
        "{:?}",
        km.objective
    );
}

#[test]
fn pq_beats_a_random_codebook_on_clustered_data() {
    let rows = clustered(2000, 16, 16, 11);
    let codec = fit("pq:m=4,nbits=4", &rows, 2);
    let trained = mse(codec.as_ref(), &rows);
    // Random codebook: 16 random training sub-vectors per subspace, nearest assignment.
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut random = 0f64;
    for j in 0..4 {
        let book: Vec<f32> = (0..16)
            .flat_map(|_| rows.row(rng.random_range(0..rows.len()))[4 * j..4 * j + 4].to_vec())
            .collect();
        random += rows
            .iter()
            .map(|r| nearest(&r[4 * j..4 * j + 4], &book, 4).1)
            .sum::<f64>();
    }
    random /= (rows.len() * 16) as f64;
    // Each subspace holds ≤ 16 distinct cluster centres, so trained PQ reaches the noise floor
    // (0.01); 16 random rows miss ~1/e of the centres (error ~ 50). 5× is a wide margin.
    assert!(
        trained * 5.0 < random,
        "trained {trained} vs random {random}"
    );
    assert!(trained < 0.05, "trained {trained}");
}

#[test]
fn pq_adc_matches_a_plain_slow_reference() {
    let rows = gaussian_rows(300, 23, 4); // 23 = uneven split into m = 5
    let Ok(CodecSpec::Pq(params)) = "pq:m=5,nbits=5".parse::<CodecSpec>() else {
        panic!("pq spec")
    };
    let pq = PqCodec::fit(&params, &rows, 8).unwrap();
    assert_eq!(pq.bounds(), &[0, 4, 9, 13, 18, 23]);
    let codes = pq.encode_all(&rows);
    let queries = gaussian_rows(5, 23, 40);
    for q in queries.iter() {
        let scorer = pq.scorer(q);
        for (i, code) in codes.iter().enumerate() {
            let sub = pq.sub_codes(code);
            let mut reference = 0f64;
            let mut mag = 0f64;
            for (j, &sj) in sub.iter().enumerate() {
                let c = pq.codebook(j).centroid(sj as usize);
                for (t, dim) in (pq.bounds()[j]..pq.bounds()[j + 1]).enumerate() {
                    reference += q[dim] as f64 * c[t] as f64;
                    mag += (q[dim] as f64 * c[t] as f64).abs();
                }
            }
            let est = scorer.estimate(code);
            // The table entries ⟨q_j, c_j⟩ are rounded to f32 and summed in f32 over the m
            // sub-quantizers (linalg::scan): ≤ (m + 8)·2^-24 of Σ|terms|.
            let tol = (sub.len() + 8) as f64 * f64::powi(2.0, -24) * mag + 1e-300;
            assert!((est - reference).abs() <= tol, "row {i}");
            // And the sub-code is the nearest centroid of each sub-vector.
            for (j, &sj) in sub.iter().enumerate() {
                let b = pq.codebook(j);
                let sv = &rows.row(i)[pq.bounds()[j]..pq.bounds()[j + 1]];
                assert_eq!(nearest(sv, &b.centroids, b.dim).0, sj as usize);
            }
        }
    }
}

#[test]
fn pq_refuses_too_few_rows_and_too_many_subvectors() {
    let rows = gaussian_rows(100, 8, 1);
    let e = "pq:m=2,nbits=8".parse::<CodecSpec>().unwrap().fit(&rows, 1);
    assert!(
        matches!(e, Err(Error::BadParam { ref key, .. }) if key == "nbits"),
        "{:?}",
        e.err()
    );
    let e = "pq:m=9,nbits=2".parse::<CodecSpec>().unwrap().fit(&rows, 1);
    assert!(
        matches!(e, Err(Error::BadParam { ref key, .. }) if key == "m"),
        "{:?}",
        e.err()
    );
    // d/N resolves per dimension and prints canonically.
    let s: CodecSpec = "pq:m=d/4".parse().unwrap();
    assert_eq!(s.to_string(), "pq:m=d/4,nbits=4");
    assert_eq!(s.fit(&rows, 1).unwrap().code_bytes(), 1);
}

const U: f64 = 1.0 / (1u64 << 24) as f64;

fn pq(spec: &str, train: &Rows, seed: u64) -> PqCodec {
    let Ok(CodecSpec::Pq(p)) = spec.parse::<CodecSpec>() else {
        panic!("{spec}: not a pq spec")
    };
    PqCodec::fit(&p, train, seed).unwrap()
}

fn sub_rows(rows: &Rows, range: std::ops::Range<usize>) -> Rows {
    rows.select(&range.collect::<Vec<_>>())
}

/// Random row-major 4-bit codes of m sub-quantizers.
fn random_codes(n: usize, m: usize, rng: &mut ChaCha8Rng) -> Codes {
    let cb = m.div_ceil(2);
    let mut data = vec![0u8; n * cb];
    for (i, b) in data.iter_mut().enumerate() {
        *b = rng.random();
        // An odd m leaves the last high nibble unused: keep it nonzero to check it is ignored.
        if m % 2 == 1 && i % cb == cb - 1 {
            *b |= 0xf0;
        }
    }
    Codes::new(cb, data)
}

#[test]
fn fastscan_simd_block_sums_equal_the_scalar_references_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut near_ceiling = 0u16;
    // m odd and even; n not a multiple of 32; tables where the u16 headroom rule binds
    // (equal spans, m = 385 > 257) and where the u8 rule binds (one wide table).
    for &(m, n, equal_spans) in &[
        (1, 5, false),
        (7, 33, false),
        (192, 1001, false),
        (385, 97, true),
        (384, 64, true),
        (33, 31, true),
    ] {
        let table: Vec<f32> = (0..16 * m)
            .map(|i| {
                if equal_spans {
                    // Spans exactly 1 in every table: entries 0 and 15 are the extremes.
                    (i % 16) as f32 / 15.0 + (i / 16) as f32 * 0.25 - 3.0
                } else {
                    rng.random_range(-2.0f32..2.0) * if i < 16 { 4.0 } else { 1.0 }
                }
            })
            .collect();
        let lut = fastscan::quantize_lut(&table, m);
        assert_eq!(lut.m_padded(), m + m % 2);
        let codes = random_codes(n, m, &mut rng);
        let blocks = fastscan::pack_blocks(codes.as_bytes(), codes.code_bytes(), m);
        assert_eq!(blocks.blocks(), n.div_ceil(BLOCK));
        let (mut simd, mut scalar) = ([0u16; BLOCK], [0u16; BLOCK]);
        for b in 0..blocks.blocks() {
            fastscan::block_sums(&lut.lut, blocks.block(b), &mut simd);
            fastscan::block_sums_scalar(&lut.lut, blocks.block(b), &mut scalar);
            assert_eq!(simd, scalar, "m={m} n={n} block {b}: SIMD vs scalar");
            for (i, &s) in simd.iter().enumerate() {
                let row = b * BLOCK + i;
                if row < n {
                    let want = fastscan::sum_code(&lut, codes.get(row));
                    assert_eq!(s, want, "m={m} row {row}: block sum vs row-major sum");
                    near_ceiling = near_ceiling.max(s);
                } else {
                    assert_eq!(s, fastscan::sum_code(&lut, &vec![0u8; codes.code_bytes()]));
                }
            }
        }
        // All-15 codes reach the largest sums the rule allows: they must not wrap.
        let top = Codes::new(codes.code_bytes(), vec![0xff; 3 * codes.code_bytes()]);
        let tb = fastscan::pack_blocks(top.as_bytes(), top.code_bytes(), m);
        fastscan::block_sums(&lut.lut, tb.block(0), &mut simd);
        let want = fastscan::sum_code(&lut, top.get(0));
        let exact: u32 = (0..m).map(|j| lut.lut[16 * j + 15] as u32).sum();
        assert_eq!(want as u32, exact, "m={m}: row sum fits a u16");
        assert_eq!(&simd[..3], &[want; 3]);
        near_ceiling = near_ceiling.max(simd[0]);
    }
    // The high-bit accumulation trick was exercised close to the u16 ceiling.
    assert!(near_ceiling > 60_000, "max sum {near_ceiling}");
    if cfg!(target_arch = "x86_64") {
        assert!(
            codecbench::linalg::scan::avx2_available(),
            "this test is meant to run the AVX2 kernel"
        );
    }
}

#[test]
fn pq_fast_estimates_agree_exactly_and_stay_within_the_lut_bound() {
    // d odd, m odd (uneven split), rows not a multiple of 32.
    for &(d, m, n) in &[(37usize, 19usize, 301usize), (24, 12, 64), (9, 9, 33)] {
        let rows = gaussian_rows(n, d, 3 + d as u64);
        let queries = gaussian_rows(5, d, 4);
        let fast = pq(&format!("pq:m={m},nbits=4,scan=fast"), &rows, 5);
        let adc = pq(&format!("pq:m={m},nbits=4"), &rows, 5);
        let codes = fast.encode_all(&rows);
        assert_eq!(codes, adc.encode_all(&rows), "same codes for both scorers");
        assert!(!codes.has_scan_layout());
        fast.prepare_scan(&codes);
        assert!(codes.has_scan_layout());
        for q in queries.iter() {
            let sc = fast.scorer(q);
            let sa = adc.scorer(q);
            let mut all = vec![0f64; n];
            sc.estimate_all(&codes, &mut all);
            // Chunks (as `codecbench speed` splits them) build their own layout, same numbers.
            let cut = 2 * n / 3;
            let cb = codes.code_bytes();
            let (a, b) = (
                Codes::new(cb, codes.as_bytes()[..cut * cb].to_vec()),
                Codes::new(cb, codes.as_bytes()[cut * cb..].to_vec()),
            );
            let mut parts = vec![0f64; n];
            sc.estimate_all(&a, &mut parts[..cut]);
            sc.estimate_all(&b, &mut parts[cut..]);
            let lut = fast.fast_lut(q);
            let table = fast.adc_table_f32(q);
            let bound = lut.error_bound();
            for (i, c) in codes.iter().enumerate() {
                let one = sc.estimate(c);
                assert_eq!(
                    one.to_bits(),
                    all[i].to_bits(),
                    "d={d} row {i}: estimate_all"
                );
                assert_eq!(one.to_bits(), parts[i].to_bits(), "d={d} row {i}: chunked");
                let sub = fast.sub_codes(c);
                let float: f64 = sub
                    .iter()
                    .enumerate()
                    .map(|(j, &k)| table[16 * j + k as usize] as f64)
                    .sum();
                assert!(
                    (one - float).abs() <= bound,
                    "d={d} row {i}: fast {one} vs f32-table sum {float} (bound {bound})"
                );
                // Against the adc scorer: add its f32 summation bound.
                let abs: f64 = sub
                    .iter()
                    .enumerate()
                    .map(|(j, &k)| (table[16 * j + k as usize] as f64).abs())
                    .sum();
                let tol = bound + (m as f64 + 8.0) * U * abs;
                assert!((one - sa.estimate(c)).abs() <= tol, "d={d} row {i}: vs adc");
            }
            // The bound is not vacuous: it is small against the spread of the estimates.
            let spread = all.iter().cloned().fold(f64::MIN, f64::max)
                - all.iter().cloned().fold(f64::MAX, f64::min);
            assert!(
                bound < 0.05 * spread,
                "d={d}: bound {bound} vs spread {spread}"
            );
        }
    }
}

#[test]
fn pq_scan_parameter_round_trips_and_fast_needs_four_bits() {
    let s: CodecSpec = "pq:m=d/2,nbits=4,scan=fast".parse().unwrap();
    assert_eq!(s.to_string(), "pq:m=d/2,nbits=4,scan=fast");
    let Ok(CodecSpec::Pq(p)) = "pq:scan=fast".parse::<CodecSpec>() else {
        panic!()
    };
    assert_eq!(p.scan, PqScan::Fast);
    // The default spec string does not change.
    assert_eq!(
        "pq".parse::<CodecSpec>().unwrap().to_string(),
        "pq:m=d/2,nbits=4"
    );
    assert_eq!(
        "pq:scan=adc".parse::<CodecSpec>().unwrap().to_string(),
        "pq:m=d/2,nbits=4"
    );
    for bad in [
        "pq:nbits=8,scan=fast",
        "pq:nbits=2,scan=fast",
        "pq:scan=simd",
    ] {
        let e = bad.parse::<CodecSpec>().unwrap_err().to_string();
        assert!(e.contains("scan"), "{bad}: {e}");
    }
    // compare-peers pairs FAISS's fast-scan PQ with scan=fast, plain IndexPQ with adc.
    let pq: CodecSpec = "pq".parse().unwrap();
    assert_eq!(
        fast_scan_pair("faiss:PQ192x4fs", pq.clone()).to_string(),
        "pq:m=d/2,nbits=4,scan=fast"
    );
    assert_eq!(
        fast_scan_pair("faiss:PQ192x4", pq).to_string(),
        "pq:m=d/2,nbits=4"
    );
}

#[test]
fn codes_scan_layout_is_cached_per_key() {
    let codes = Codes::new(2, vec![1, 2, 3, 4]);
    let a = codes.scan_layout(7, |c| c.len() * 10);
    assert_eq!(*a, 20);
    let b = codes.scan_layout(7, |_| 99usize);
    assert_eq!(*b, 20, "cached");
    let c = codes.scan_layout(8, |_| 99usize);
    assert_eq!(*c, 99, "another key builds afresh");
    assert_eq!(codes.clone(), Codes::new(2, vec![1, 2, 3, 4]));
}

/// Quality on MiniLM sentence embeddings (d = 384, m = 192). Per query the fast estimates are
/// within B = m/(2a) of the adc ones (plus the adc scorer's f32 rounding), and with e = fast − adc
/// (ẽ, ỹ centred; ỹ the adc estimates):
/// - Pearson with the truth moves by at most 2‖ẽ‖/‖ỹ‖ (the unit vector ỹ/‖ỹ‖ moves by at most
///   that); worst case ‖ẽ‖ ≤ √n·B, but each table entry's rounding error is ≈ uniform on
///   ±1/(2a) and independent across sub-quantizers, so the typical per-row error has RMS
///   σ = √(m/12)/a (a factor √(3/m) ≈ 0.125 below B for m = 192): the band used for the pooled
///   Pearson is 3 × 2√n·σ/‖ỹ‖, and the measured RMS must stay within 1.5σ (a wrong scale or
///   bias would break it);
/// - recall@10 moves by at most c/10, c = #{adc top-10 items within 2·max|e| of the 11th adc
///   estimate}: only those can be displaced.
#[test]
fn pq_fast_quality_on_minilm_sentences_is_within_the_derived_band_of_adc() {
    let spec = PopulationSpec::parse("minilm-sentences").unwrap();
    let opts = LoadOptions {
        max_rows: None,
        seed: 0,
        nonfinite: NonFinitePolicy::Error,
        budget: codecbench::budget::MemoryBudget::bytes(1 << 30),
    };
    let rows = spec.load(spec.default_kind(), &opts).unwrap().rows;
    let (train, base, queries) = (
        sub_rows(&rows, 0..3000),
        sub_rows(&rows, 0..4001),
        sub_rows(&rows, 4010..4050),
    );
    let fast = pq("pq:m=d/2,nbits=4,scan=fast", &train, 21);
    let adc = pq("pq:m=d/2,nbits=4", &train, 21);
    assert_eq!(fast.m(), 192);
    let codes = fast.encode_all(&base);
    let n = base.len();
    let k = 10;
    let (mut r_fast, mut r_adc, mut r_band) = (0.0, 0.0, 0.0);
    let (mut rec_fast, mut rec_adc, mut rec_band) = (0.0, 0.0, 0.0);
    let nq = queries.len() as f64;
    for q in queries.iter() {
        let truth: Vec<f64> = base
            .iter()
            .map(|x| x.iter().zip(q).map(|(&a, &b)| a as f64 * b as f64).sum())
            .collect();
        let (mut ef, mut ea) = (vec![0f64; n], vec![0f64; n]);
        fast.scorer(q).estimate_all(&codes, &mut ef);
        adc.scorer(q).estimate_all(&codes, &mut ea);
        let lut = fast.fast_lut(q);
        let table = fast.adc_table_f32(q);
        let abs_max: f64 = table
            .chunks_exact(16)
            .map(|t| t.iter().fold(0f64, |a, &v| a.max((v as f64).abs())))
            .sum();
        let b = lut.error_bound() + (fast.m() as f64 + 8.0) * U * abs_max;
        for i in 0..n {
            assert!((ef[i] - ea[i]).abs() <= b, "row {i}: |fast − adc| > {b}");
        }
        let (pf, pa) = (pearson(&truth, &ef).unwrap(), pearson(&truth, &ea).unwrap());
        let centre = |v: &[f64]| {
            let mean = v.iter().sum::<f64>() / n as f64;
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>().sqrt()
        };
        let diff: Vec<f64> = ef.iter().zip(&ea).map(|(f, a)| f - a).collect();
        let (ny, ne) = (centre(&ea), centre(&diff));
        assert!(
            (pf - pa).abs() <= 2.0 * ne / ny + 1e-12,
            "Pearson {pf} vs adc {pa}"
        );
        let sigma = (fast.m() as f64 / 12.0).sqrt() / lut.scale;
        let rms = (diff.iter().map(|e| e * e).sum::<f64>() / n as f64).sqrt();
        assert!(
            rms <= 1.5 * sigma,
            "RMS error {rms} vs rounding model σ {sigma}"
        );
        assert!(
            rms >= 0.5 * sigma,
            "RMS error {rms} ≪ σ {sigma}: is the LUT quantized?"
        );
        let e_max = diff.iter().fold(0f64, |a, e| a.max(e.abs()));
        let mut sorted = ea.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let c = sorted[..k]
            .iter()
            .filter(|&&v| v <= sorted[k] + 2.0 * e_max)
            .count();
        let (rf, ra) = (recall_at_k(&truth, &ef, k), recall_at_k(&truth, &ea, k));
        assert!(
            (rf - ra).abs() <= c as f64 / k as f64 + 1e-12,
            "recall {rf} vs {ra}, c {c}"
        );
        r_fast += pf / nq;
        r_adc += pa / nq;
        r_band += 3.0 * 2.0 * (n as f64).sqrt() * sigma / ny / nq;
        rec_fast += rf / nq;
        rec_adc += ra / nq;
        rec_band += c as f64 / k as f64 / nq;
    }
    eprintln!(
        "minilm-sentences pq d/2×4: Pearson fast {r_fast:.5} adc {r_adc:.5} (band ±{r_band:.5}); \
         recall@10 fast {rec_fast:.4} adc {rec_adc:.4} (band ±{rec_band:.4})"
    );
    assert!(
        (r_fast - r_adc).abs() <= r_band,
        "pooled Pearson fast {r_fast} vs adc {r_adc}: outside ±{r_band}"
    );
    assert!((rec_fast - rec_adc).abs() <= rec_band + 1e-12);
    // The bands are informative (not vacuous) and PQ itself is good on this population.
    assert!(r_band < 0.05 && rec_band < 0.5, "bands {r_band} {rec_band}");
    assert!(r_adc > 0.9 && r_fast > 0.9, "Pearson {r_adc} {r_fast}");
}

#[test]
fn pq_fast_fused_top_k_equals_estimate_all_then_top_k() {
    // Few distinct sums (2-dim rows, 16 centroids each): many ties, which the fused scan must
    // break exactly as the plain top-k does (earlier row first).
    for &(d, m, n) in &[(2usize, 1usize, 301usize), (37, 19, 333), (64, 32, 1000)] {
        let rows = gaussian_rows(n, d, 40 + d as u64);
        let fast = pq(&format!("pq:m={m},nbits=4,scan=fast"), &rows, 2);
        let codes = fast.encode_all(&rows);
        for q in gaussian_rows(4, d, 41).iter() {
            let sc = fast.scorer(q);
            let mut all = vec![0f64; n];
            sc.estimate_all(&codes, &mut all);
            for k in [0, 1, 10, 100, n, n + 5] {
                let want = codecbench::peers::top_k(&all, k);
                let got = sc.top_k(&codes, k, &mut Vec::new());
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!((g.0.to_bits(), g.1), (w.0.to_bits(), w.1), "d={d} k={k}");
                }
            }
        }
    }
}
