//! The origin's families done right (`../shared/reference/origin.md` §1): base17 (faithful and
//! repaired) and the spiral walk with its equal-byte controls.

use crate::util::gaussian_rows;
use codecbench::codec::base17::{GOLDEN_POS, fold};
use codecbench::codec::spiral::walk_positions;
use codecbench::codec::{Base17Codec, Codec, CodecSpec};
use codecbench::data::Rows;

fn fit(spec: &str, rows: &Rows) -> Box<dyn Codec> {
    spec.parse::<CodecSpec>().unwrap().fit(rows, 1).unwrap()
}

#[test]
fn base17_faithful_reproduces_the_hand_worked_example() {
    // w[i] = 0.01·i, d = 34 (two full octaves). Base dim b averages w[g] and w[17+g] with
    // g = 11·b mod 17, i.e. 0.01·(g + 8.5); stored as round(256·mean).
    assert_eq!(&GOLDEN_POS[..4], &[0, 11, 5, 16]);
    let row: Vec<f32> = (0..34).map(|i| 0.01 * i as f32).collect();
    let rows = Rows::new(34, row.clone());
    let Ok(CodecSpec::Base17(p)) = "base17".parse::<CodecSpec>() else {
        panic!()
    };
    let codec = Base17Codec::new(&p, 34);
    let mut code = vec![0u8; codec.code_bytes()];
    assert_eq!(codec.code_bytes(), 34);
    codec.encode(&row, &mut code);
    let dims = codec.dims(&code);
    // b=0: 0.085·256 = 21.76 → 22; b=1 (g=11): 0.195·256 = 49.92 → 50; b=2 (g=5): 0.135·256
    // = 34.56 → 35; b=3 (g=16): 0.245·256 = 62.72 → 63.
    assert_eq!(&dims[..4], &[22, 50, 35, 63]);
    for (b, &v) in dims.iter().enumerate() {
        let g = (11 * b) % 17;
        assert_eq!(v as f64, (0.01 * (g as f64 + 8.5) * 256.0).round(), "b={b}");
    }
    // Partial last octave (d = 20): buckets 0..2 average two values, the rest one.
    let m = fold(&row[..20]);
    assert!(
        (m[0] - 0.085).abs() < 1e-7 && (m[3] - 0.16).abs() < 1e-7,
        "{m:?}"
    );
    drop(rows);
}

/// Pearson correlation.
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt().max(1e-300)
}

#[test]
fn base17_fixed_scale_loses_small_magnitude_rows_and_the_repair_keeps_them() {
    // Weight-like rows: std 0.01, d = 512 (≈30 coordinates per bucket ⇒ bucket-mean std
    // ≈ 0.0018, ×256 ≈ 0.47: the faithful integers are mostly 0 and ±1).
    let g = gaussian_rows(60, 512, 77);
    let rows = Rows::new(512, g.as_slice().iter().map(|&v| 0.01 * v).collect());
    let faithful = fit("base17:scale=fixed,score=cos", &rows);
    let repaired = fit("base17:scale=row,score=cos", &rows);
    let (cf, cr) = (faithful.encode_all(&rows), repaired.encode_all(&rows));
    let (mut exact, mut sf, mut sr) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            let (a, b) = (fold(rows.row(i)), fold(rows.row(j)));
            let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let n = |v: &[f64; 17]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            exact.push(dot / (n(&a) * n(&b)));
            sf.push(faithful.pair(cf.get(i), cf.get(j)).unwrap());
            sr.push(repaired.pair(cr.get(i), cr.get(j)).unwrap());
        }
    }
    let (rf, rr) = (pearson(&exact, &sf), pearson(&exact, &sr));
    // Repaired: 15-bit resolution of the largest bucket ⇒ cosine error ~1e-4, r > 0.9999.
    // Faithful: rounding noise (var 1/12) against a signal of var ≈ 0.22 per bucket
    // ⇒ r ≈ 0.8 in a simulation; 0.95 leaves margin while still showing the loss.
    assert!(rr > 0.9999, "repaired r = {rr}");
    assert!(rf < 0.95, "faithful r = {rf} (repaired {rr})");
    // Honest bytes: the repair costs the 4-byte scale.
    assert_eq!(faithful.code_bytes(), 34);
    assert_eq!(repaired.code_bytes(), 38);
}

#[test]
fn spiral_positions_match_the_definition() {
    // d = 1024 ⇒ 61 octaves. Slot (b, s) sits at index b·K + s.
    let k = 16;
    let p = walk_positions(1024, k, 3, 0);
    assert_eq!(p.len(), 17 * k);
    let phi = (1.0 + 5f64.sqrt()) / 2.0;
    for b in 0..17 {
        for s in 0..k {
            let octave = b + 3 * s;
            // A position past d in the last, partial octave (60·17 + pos ≥ 1024) is missing.
            let want = (octave < 61)
                .then(|| {
                    let x = (b + octave) as f64 * phi;
                    octave * 17 + ((x - x.floor()) * 17.0).floor() as usize
                })
                .filter(|&i| i < 1024);
            assert_eq!(p[b * k + s], want, "b={b} s={s}");
        }
    }
    // Hand-worked: (0,0) → 0; (1,0): 2φ = 3.236, frac·17 = 4.01 → 17 + 4; (0,1): octave 3,
    // 3φ = 4.854, frac·17 = 14.52 → 51 + 14; (16, 15): octave 61 ≥ 61 → missing.
    assert_eq!(p[0], Some(0));
    assert_eq!(p[k], Some(21));
    assert_eq!(p[1], Some(65));
    assert_eq!(p[16 * k + 15], None);
}

#[test]
fn spiral_controls_cost_the_same_bytes_and_rank_sensibly() {
    let rows = gaussian_rows(200, 256, 12);
    let mut bytes = Vec::new();
    for s in [
        "spiral:k=4,stride=1",
        "spiral:k=4,stride=1,mode=subset",
        "spiral:k=4,stride=1,mode=jl",
    ] {
        let c = fit(s, &rows);
        bytes.push(c.code_bytes());
        // The row's own score is the maximum (cosine 1 up to BF16 truncation, 2^-7 relative).
        let codes = c.encode_all(&rows);
        let sc = c.scorer(rows.row(0));
        let own = sc.estimate(codes.get(0));
        assert!(own > 0.98, "{s}: {own}");
        for i in 1..rows.len() {
            assert!(sc.estimate(codes.get(i)) < own, "{s}: row {i}");
        }
    }
    assert_eq!(bytes, vec![6 + 34 * 4; 3]);
}
