//! The origin's Base17 fold (`base17`, `../shared/reference/origin.md` §1.1), faithful and
//! repaired: the hand-worked example, and what the fixed ×256 scale loses on small rows.

use crate::util::{fit, gaussian_rows};
use codecbench::codec::base17::{GOLDEN_POS, fold};
use codecbench::codec::{Base17Codec, Codec, CodecSpec};
use codecbench::data::Rows;

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
    let faithful = fit("base17:scale=fixed,score=cos", &rows, 1);
    let repaired = fit("base17:scale=row,score=cos", &rows, 1);
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
