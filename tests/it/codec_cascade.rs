//! The origin's cascade done right (`cascade`, `../shared/reference/origin.md` §1.3, §1.10,
//! §1.13): the k×k Fisher-z i8 table of centroid cosines, pair = table lookup, scorer = query ·
//! centroid, and clustering on clustered rows.

use crate::util::{gaussian_rows, spec};
use codecbench::codec::cascade::CascadeCodec;
use codecbench::codec::{Codec, CodecSpec};
use codecbench::data::Rows;

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
