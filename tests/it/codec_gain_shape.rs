//! Gain–shape (`gain-shape`, the origin's "PolarQuantGain", origin.md §1.11): the bf16 gain
//! within half an ulp, bytes by hand, a scale-free shape and a hand-worked code.

use crate::util::{fit, gaussian_rows, spec};
use codecbench::codec::gain_shape::GainShapeCodec;
use codecbench::codec::{Codec, CodecSpec};
use codecbench::data::Rows;

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
            let c = fit(s, rows, 1);
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
    let b = |s: &str| fit(s, &rows, 1).code_bytes();
    // d = 65: i8 ⇒ 65 bytes + 2; i4 ⇒ ⌈260/8⌉ = 33 + 2; i2 ⇒ ⌈130/8⌉ = 17 + 2;
    // hadamard pads to 128: i4 ⇒ 64 + 2; bf16 ⇒ 130 + 2 (the origin's 2 + 2·n).
    assert_eq!(b("gain-shape"), 67);
    assert_eq!(b("gain-shape:shape=i4"), 35);
    assert_eq!(b("gain-shape:shape=i2"), 19);
    assert_eq!(b("gain-shape:shape=i4,rot=hadamard"), 66);
    assert_eq!(b("gain-shape:shape=bf16,rot=none"), 132);
    assert_eq!(fit("gain-shape", &rows, 1).model_bytes(), 8);
    assert_eq!(fit("gain-shape:rot=none", &rows, 1).model_bytes(), 0);
    // cascade: 1 byte (+2 bf16 norm); model 4·k·d + k² + 8 with k = min(k, rows) = 60.
    assert_eq!(b("cascade"), 1);
    assert_eq!(b("cascade:norm=bf16"), 3);
    assert_eq!(
        fit("cascade", &rows, 1).model_bytes(),
        4 * 60 * 65 + 60 * 60 + 8
    );
    assert_eq!(
        fit("cascade:k=7", &rows, 1).model_bytes(),
        4 * 7 * 65 + 49 + 8
    );
}

#[test]
fn gain_shape_shape_is_scale_free_and_the_hand_worked_code_decodes() {
    // d = 2, rot=none, i2: x = (3, −0.5): u = (0.986, −0.164), q = round(1·u/0.986) = (1, 0)
    // ⇒ ŝ = (1, 0), x̂ = bf16(‖x‖)·(1, 0); ‖x‖ = √9.25 = 3.0414; bf16 spacing in [2, 4) is
    // 2^-6: 3.0414·64 = 194.65 → 195/64 = 3.046875.
    let rows = Rows::new(2, vec![3.0, -0.5, 1.0, 1.0]);
    let c = fit("gain-shape:shape=i2,rot=none", &rows, 1);
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
