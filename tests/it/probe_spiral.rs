//! The spiral probe (P1) and the row-identity check against closed forms: the walk's coordinates
//! and byte counts as origin.md §1.8 derives them, controls that see every coordinate recover
//! the exact neighbours, JL agreement grows with its width, and the exact codec is its own
//! nearest row.

use codecbench::codec::CodecSpec;
use codecbench::data::synthetic::{SyntheticKind, generate};
use codecbench::probe::identity::row_identity;
use codecbench::probe::spiral::{
    Sketch, distinct_coords, score, signatures, spiral_coords, spiral_metrics,
};

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn spiral_walk_by_hand() {
    let s = spiral_coords(1024, 16, 0, 3);
    assert_eq!(s.len(), 16 * 17);
    // bi = 0, s = 0: octave 0, pos ⌊frac(0)·17⌋ = 0.
    assert_eq!(s[0], Some(0));
    // bi = 1, s = 0 (slot 16): octave 1, frac(2φ) = 0.2360…, ⌊4.01⌋ = 4 → 17 + 4.
    assert_eq!(s[16], Some(21));
    // ⌈1024/17⌉ = 61 octaves: stride 3 runs out, so fewer than 272 coordinates are read.
    let distinct = distinct_coords(&s);
    assert!(distinct < 272, "{distinct}");
    assert!(s.iter().flatten().all(|&i| i < 1024));
    // bi = 16, s = 15: octave 16 + 45 = 61 ≥ 61 → stopped.
    assert_eq!(s[16 * 16 + 15], None);
    // Bytes as the origin counts them.
    for (k, b) in [(4, 142), (8, 278), (16, 550)] {
        assert_eq!(Sketch::Spiral { k }.bytes(), b);
        assert_eq!(Sketch::RandomCoords { m: 17 * k }.bytes(), b - 6);
    }
}

#[test]
fn a_control_that_reads_every_coordinate_recovers_the_neighbours() {
    let rows = generate(SyntheticKind::Gaussian, 64, 32, 1);
    let q: Vec<usize> = (0..64).collect();
    let all = score(&rows, &q, Sketch::RandomCoords { m: 32 }, 0);
    // BF16 truncation moves cosines by ~2⁻⁸ relative; the NN gaps of 64 Gaussian rows are wider.
    assert!(mean(&all.top1) > 0.95, "{}", mean(&all.top1));
    assert!(mean(&all.rank_agree) > 0.99, "{}", mean(&all.rank_agree));
    let sig = signatures(&rows, Sketch::RandomCoords { m: 32 }, 0);
    assert_eq!(sig.dim(), 32);
}

#[test]
fn jl_agreement_grows_with_width() {
    let rows = generate(SyntheticKind::Gaussian, 200, 64, 2);
    let q: Vec<usize> = (0..100).collect();
    let narrow = mean(&score(&rows, &q, Sketch::Jl { m: 8 }, 3).rank_agree);
    let wide = mean(&score(&rows, &q, Sketch::Jl { m: 256 }, 3).rank_agree);
    assert!(narrow > 0.5 && wide > narrow + 0.1, "{narrow} → {wide}");
}

#[test]
fn spiral_metrics_report_controls_at_equal_bytes() {
    let rows = generate(SyntheticKind::Gaussian, 120, 96, 3);
    let m = spiral_metrics(&rows, &[4], 40, 50, 1);
    let names: Vec<String> = m
        .iter()
        .map(|(c, _, v)| format!("{c} {}", v.name))
        .collect();
    for want in [
        "spiral:K=4 spiral.top1",
        "random-coords:m=68 spiral.rank_agree",
        "jl:m=68 spiral.top5",
        "spiral:K=4 spiral.diff_random.top1",
        "spiral:K=4 spiral.diff_jl.rank_agree",
    ] {
        assert!(names.iter().any(|n| n == want), "missing {want}: {names:?}");
    }
    let top1 = m
        .iter()
        .find(|(c, _, v)| c == "spiral:K=4" && v.name == "spiral.top1")
        .unwrap();
    assert_eq!(top1.1, 142);
    assert!((top1.2.chance.unwrap() - 1.0 / 119.0).abs() < 1e-15);
    assert_eq!(top1.2.estimate.n, 40);
}

#[test]
fn row_identity_of_exact_is_one_and_int4_a_fraction() {
    let rows = generate(SyntheticKind::Gaussian, 300, 16, 4);
    let exact = CodecSpec::Exact.fit(&rows, 0).unwrap();
    let m = row_identity(exact.as_ref(), &rows, 100, 50, 1);
    assert_eq!(m.estimate.value, Some(1.0));
    assert!((m.chance.unwrap() - 1.0 / 300.0).abs() < 1e-15);
    // int4 per row on 16 dims still keeps rows apart most of the time, but not always better
    // than exact: the value is a fraction in [0, 1].
    let i4 = "int4:group=row"
        .parse::<CodecSpec>()
        .unwrap()
        .fit(&rows, 0)
        .unwrap();
    let v = row_identity(i4.as_ref(), &rows, 100, 50, 1)
        .estimate
        .value
        .unwrap();
    assert!((0.0..=1.0).contains(&v) && v > 0.5, "{v}");
}
