//! The float ladder and the scalar quantizers (`exact`, `f16`, `bf16`, `fp8`, `int8`, `int4`,
//! `sq`): closed-form per-coordinate rounding bounds, bytes with their side scalars, per-group
//! scales against outlier rows, the FP8 E4M3 half-ulp bound, and the trained `sq` ranges.

use crate::codec_contract::contract_rows;
use crate::util::{fit, gaussian_rows, mse};
use codecbench::codec::{Codec, CodecSpec};
use codecbench::data::Rows;

fn decode_all(codec: &dyn Codec, rows: &Rows) -> Vec<Vec<f32>> {
    let codes = codec.encode_all(rows);
    (0..rows.len())
        .map(|i| {
            let mut x = vec![0f32; rows.dim()];
            codec.decode(codes.get(i), &mut x).unwrap();
            x
        })
        .collect()
}

/// Closed-form per-coordinate bounds: absmax rounding errs by at most half a step.
#[test]
fn scalar_codecs_meet_their_rounding_bounds() {
    let rows = contract_rows(65, 7);
    // exact: bit-identical.
    let exact = CodecSpec::Exact.fit(&rows, 0).unwrap();
    for (x, y) in rows.iter().zip(decode_all(exact.as_ref(), &rows)) {
        assert_eq!(x, &y[..]);
    }
    // int8: |x − x̂| ≤ step/2 = max|x|/254 (plus f32 rounding of the scale product, 1e-6 rel).
    let int8 = CodecSpec::Int8.fit(&rows, 0).unwrap();
    for (x, y) in rows.iter().zip(decode_all(int8.as_ref(), &rows)) {
        let m = x.iter().fold(0f32, |a, &v| a.max(v.abs())) as f64;
        for (&a, &b) in x.iter().zip(&y) {
            assert!((a as f64 - b as f64).abs() <= m / 254.0 * (1.0 + 1e-6) + 1e-30);
        }
    }
    // int4 per group of 7: |x − x̂| ≤ group max/14.
    let spec: CodecSpec = "int4:group=7".parse().unwrap();
    let int4 = spec.fit(&rows, 0).unwrap();
    for (x, y) in rows.iter().zip(decode_all(int4.as_ref(), &rows)) {
        for (g, (xs, ys)) in x.chunks(7).zip(y.chunks(7)).enumerate() {
            let m = xs.iter().fold(0f32, |a, &v| a.max(v.abs())) as f64;
            for (&a, &b) in xs.iter().zip(ys) {
                assert!(
                    (a as f64 - b as f64).abs() <= m / 14.0 * (1.0 + 1e-6) + 1e-30,
                    "group {g}: {a} vs {b}"
                );
            }
        }
    }
    // f16 / bf16: relative error ≤ 2^-11 / 2^-8 for normal values (round to nearest).
    for (spec, rel) in [
        (CodecSpec::F16, 2f64.powi(-11)),
        (CodecSpec::Bf16, 2f64.powi(-8)),
    ] {
        let c = spec.fit(&rows, 0).unwrap();
        for (x, y) in rows.iter().zip(decode_all(c.as_ref(), &rows)) {
            for (&a, &b) in x.iter().zip(&y) {
                if a.abs() > 1e-4 {
                    assert!(
                        ((a - b) as f64).abs() <= rel * a.abs() as f64,
                        "{spec}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

/// Bytes are honest: side scalars are counted.
#[test]
fn code_bytes_count_side_scalars() {
    let rows = gaussian_rows(4, 130, 3);
    let b = |s: &str| {
        s.parse::<CodecSpec>()
            .unwrap()
            .fit(&rows, 0)
            .unwrap()
            .code_bytes()
    };
    assert_eq!(b("exact"), 520);
    assert_eq!(b("f16"), 260);
    assert_eq!(b("bf16"), 260);
    assert_eq!(b("int8"), 130 + 4);
    assert_eq!(b("int4:group=32"), 65 + 4 * 5); // ⌈130/32⌉ = 5 scales
    assert_eq!(b("int4:group=row"), 65 + 4);
}

/// int4 with per-group scales beats one scale per row on rows with one large coordinate.
#[test]
fn int4_groups_help_on_outlier_rows() {
    let mut rows = gaussian_rows(200, 128, 9);
    let mut data = rows.as_slice().to_vec();
    for r in 0..200 {
        data[r * 128 + (r % 128)] *= 30.0;
    }
    rows = Rows::new(128, data);
    let err = |s: &str| {
        let c = s.parse::<CodecSpec>().unwrap().fit(&rows, 0).unwrap();
        rows.iter()
            .zip(decode_all(c.as_ref(), &rows))
            .map(|(x, y)| {
                x.iter()
                    .zip(&y)
                    .map(|(&a, &b)| ((a - b) as f64).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
    };
    assert!(err("int4:group=32") < 0.5 * err("int4:group=row"));
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
