//! Trained baselines: `sq` (FAISS SQ8/SQ4), `pq` (k-means + ADC), `itq`, `fp8`.

use crate::util::gaussian_rows;
use codecbench::codec::{Codec, CodecSpec, ItqCodec, PqCodec};
use codecbench::data::Rows;
use codecbench::error::Error;
use codecbench::linalg::kmeans::{KMeans, nearest};
use codecbench::linalg::seeded_rng;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn fit(spec: &str, rows: &Rows, seed: u64) -> Box<dyn Codec> {
    spec.parse::<CodecSpec>().unwrap().fit(rows, seed).unwrap()
}

/// Mean squared reconstruction error per coordinate over `rows`.
fn mse(codec: &dyn Codec, rows: &Rows) -> f64 {
    let codes = codec.encode_all(rows);
    let mut xhat = vec![0f32; rows.dim()];
    let mut s = 0f64;
    for (i, r) in rows.iter().enumerate() {
        codec.decode(codes.get(i), &mut xhat).unwrap();
        s += r
            .iter()
            .zip(&xhat)
            .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
            .sum::<f64>();
    }
    s / (rows.len() * rows.dim()) as f64
}

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
fn sq8_error_is_at_most_half_a_step_per_dimension() {
    // Scale the columns differently so that per-dimension ranges matter.
    let mut rows = gaussian_rows(500, 33, 3);
    let d = rows.dim();
    let scaled: Vec<f32> = rows
        .as_slice()
        .iter()
        .enumerate()
        .map(|(i, &v)| v * (1.0 + (i % d) as f32))
        .collect();
    rows = Rows::new(d, scaled);
    let codec = fit("sq:bits=8", &rows, 1);
    let codes = codec.encode_all(&rows);
    let mut lo = vec![f32::INFINITY; d];
    let mut hi = vec![f32::NEG_INFINITY; d];
    for r in rows.iter() {
        for j in 0..d {
            lo[j] = lo[j].min(r[j]);
            hi[j] = hi[j].max(r[j]);
        }
    }
    let mut xhat = vec![0f32; d];
    for (i, r) in rows.iter().enumerate() {
        codec.decode(codes.get(i), &mut xhat).unwrap();
        for j in 0..d {
            // FAISS SQ8 bound: range/510 = half of the 8-bit step range/255. The f32 step and
            // lo + q·step add a few ulps of the range (relative 1e-6 covers them, 250× margin).
            let range = (hi[j] - lo[j]) as f64;
            let bound = range / 510.0 + 1e-6 * range;
            let err = (r[j] as f64 - xhat[j] as f64).abs();
            assert!(err <= bound, "row {i} dim {j}: {err} > {bound}");
        }
    }
}

#[test]
fn sq_clip_clamps_outliers_and_helps_the_bulk_at_four_bits() {
    // Gaussian bulk plus rare huge outliers: min/max wastes the 16 levels on the outliers.
    let mut rows = gaussian_rows(2000, 8, 5);
    let d = rows.dim();
    let mut data = rows.as_slice().to_vec();
    for i in (0..2000).step_by(400) {
        for j in 0..d {
            data[i * d + j] = 200.0;
        }
    }
    rows = Rows::new(d, data);
    let bulk = gaussian_rows(500, 8, 6);
    let plain = mse(fit("sq:bits=4", &rows, 1).as_ref(), &bulk);
    let clipped = mse(fit("sq:bits=4,clip=0.99", &rows, 1).as_ref(), &bulk);
    // Min/max step ≈ 204/15 ≈ 13.6 ⇒ MSE ≈ N(0,1) mass near one level ≈ 1; the 0.99 range
    // ≈ 5.2 gives step ≈ 0.35, MSE ≈ 0.35²/12 ≈ 0.01 plus clipped tails. A 10× gap is safe.
    assert!(
        clipped * 10.0 < plain,
        "clipped {clipped} vs min/max {plain}"
    );
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

/// Rows with a decaying spectrum: coordinate j has std 3·0.8^j (so PCA/ITQ has structure).
fn anisotropic(n: usize, d: usize, seed: u64) -> Rows {
    let g = gaussian_rows(n, d, seed);
    let data = g
        .as_slice()
        .iter()
        .enumerate()
        .map(|(i, &v)| v * 3.0 * 0.8f32.powi((i % d) as i32))
        .collect();
    Rows::new(d, data)
}

#[test]
fn itq_loss_decreases_rotation_stays_orthogonal_and_beats_random() {
    let rows = anisotropic(800, 24, 21);
    let Ok(CodecSpec::Itq(params)) = "itq:bits=16".parse::<CodecSpec>() else {
        panic!("itq spec")
    };
    let itq = ItqCodec::fit(&params, &rows, 5).unwrap();
    let loss = itq.loss_history();
    for w in loss.windows(2) {
        // Alternating minimisation: each half-step is optimal ⇒ non-increasing (1e-9 relative
        // for the SVD/Procrustes rounding).
        assert!(w[1] <= w[0] * (1.0 + 1e-9), "{loss:?}");
    }
    // The learned rotation beats the random one it starts from (ITQ paper Fig. 2: 10–30 %).
    assert!(
        *loss.last().unwrap() < 0.95 * loss[0],
        "{} vs {}",
        loss.last().unwrap(),
        loss[0]
    );
    let r = itq.rotation();
    let c = itq.bits();
    for a in 0..c {
        for b in 0..c {
            let dot: f64 = (0..c).map(|k| r[k * c + a] * r[k * c + b]).sum();
            let want = if a == b { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-9, "RᵀR[{a}][{b}] = {dot}");
        }
    }
}

#[test]
fn distortion_falls_as_bits_rise() {
    let rows = anisotropic(1500, 16, 31);
    let test = anisotropic(300, 16, 32);
    let ladder = |specs: &[&str]| -> Vec<f64> {
        specs
            .iter()
            .map(|s| mse(fit(s, &rows, 3).as_ref(), &test))
            .collect()
    };
    for specs in [
        &["sq:bits=2", "sq:bits=4", "sq:bits=8"][..],
        &["pq:m=4,nbits=2", "pq:m=4,nbits=4", "pq:m=4,nbits=8"][..],
        &["pq:m=2,nbits=6", "pq:m=4,nbits=6", "pq:m=8,nbits=6"][..],
        &["itq:bits=2", "itq:bits=8", "itq:bits=16"][..],
        &["fp8:scale=row", "bf16", "exact"][..],
    ] {
        let m = ladder(specs);
        for w in m.windows(2) {
            assert!(w[1] < w[0], "{specs:?}: {m:?}");
        }
    }
}

#[test]
fn fp8_relative_error_is_within_half_an_ulp_of_e4m3() {
    let rows = gaussian_rows(50, 64, 9);
    let codec = fit("fp8", &rows, 1);
    let codes = codec.encode_all(&rows);
    let mut xhat = vec![0f32; 64];
    for (i, r) in rows.iter().enumerate() {
        codec.decode(codes.get(i), &mut xhat).unwrap();
        let amax = r.iter().fold(0f32, |m, &x| m.max(x.abs())) as f64;
        for (&a, &b) in r.iter().zip(&xhat) {
            // 3 mantissa bits: relative error ≤ 2^-4 for normals; subnormals (below 2^-6 of
            // the 448 full scale) have absolute error ≤ 2^-10·s with s = max|x|/448.
            let err = (a as f64 - b as f64).abs();
            let bound = (a as f64).abs() / 16.0 + amax / 448.0 * 2f64.powi(-10) * 1.01;
            assert!(err <= bound * (1.0 + 1e-6), "row {i}: {a} → {b}");
        }
    }
}
