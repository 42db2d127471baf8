//! The origin's spiral walk (`spiral`, origin.md §1.8) and its equal-byte controls: positions
//! by the definition, the same bytes for every mode, sensible ranking.

use crate::util::{fit, gaussian_rows};
use codecbench::codec::spiral::walk_positions;

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
        let c = fit(s, &rows, 1);
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
