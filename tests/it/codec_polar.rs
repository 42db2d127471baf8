//! PolarQuant (`polar`, arXiv:2502.02617): a plain reference implementation of the recursive
//! polar transform and its codebooks, element-wise against production.

use crate::codec_rotation::{assert_close, matvec, matvec_t, nearest, to64};
use crate::util::{dot, dot64, gaussian_rows, spec};
use codecbench::codec::{Codec, CodecSpec, PolarCodec};
use std::f64::consts::PI;

/// PolarQuant, literally: recursive polar transform of the rotated row (level 1 atan2 on
/// [0, 2π), deeper levels atan of radius ratios), nearest-centroid by linear scan in each
/// level's codebook, fp16 block radius, then a recursive top-down decode and Πᵀ.
#[test]
fn polar_matches_a_plain_reference() {
    fn encode_block(v: &[f64], books: &[Vec<f64>], level: usize, out: &mut Vec<Vec<usize>>) -> f64 {
        // Returns the radius of v; pushes angle indices per level (0-based level index).
        if v.len() == 1 {
            return v[0];
        }
        if level == 0 {
            let mut radii = Vec::new();
            for pair in v.chunks(2) {
                let mut psi = pair[1].atan2(pair[0]);
                if psi < 0.0 {
                    psi += 2.0 * PI;
                }
                out[0].push(nearest(&books[0], psi));
                radii.push(pair[0].hypot(pair[1]));
            }
            return encode_block(&radii, books, 1, out);
        }
        let mut radii = Vec::new();
        for pair in v.chunks(2) {
            out[level].push(nearest(&books[level], pair[1].atan2(pair[0])));
            radii.push(pair[0].hypot(pair[1]));
        }
        encode_block(&radii, books, level + 1, out)
    }
    fn decode_block(
        r: f64,
        level: usize,
        j: usize,
        books: &[Vec<f64>],
        idx: &[Vec<usize>],
        out: &mut Vec<f64>,
    ) {
        // Level `level` (0-based) angle j splits radius r into two children.
        let theta = books[level][idx[level][j]];
        let (a, b) = (r * theta.cos(), r * theta.sin());
        if level == 0 {
            out.push(a);
            out.push(b);
        } else {
            decode_block(a, level - 1, 2 * j, books, idx, out);
            decode_block(b, level - 1, 2 * j + 1, books, idx, out);
        }
    }
    for (d, s) in [
        (130usize, "polar"),
        (128, "polar:levels=3,bits1=3,bits2=3,rot=hadamard"),
        (20, "polar:levels=2,bits1=5,bits2=1,rot=none"),
    ] {
        let CodecSpec::Polar(params) = spec(s) else {
            unreachable!()
        };
        let codec = PolarCodec::fit(&params, d, 29);
        let (m, p) = (codec.rotation().matrix(), codec.rotation().out_dim());
        let nlev = params.levels as usize;
        let books: Vec<Vec<f64>> = (1..=nlev)
            .map(|l| codec.codebook(l).centroids.clone())
            .collect();
        let block = 1usize << nlev;
        let rows = gaussian_rows(10, d, 111);
        let q = gaussian_rows(1, d, 112);
        for x in rows.iter() {
            let y = matvec(&m, p, &to64(x));
            let mut yt = Vec::new();
            for blk in y.chunks(block) {
                let mut idx = vec![Vec::new(); nlev];
                let r = encode_block(blk, &books, 0, &mut idx);
                let r16 = half::f16::from_f64(r).to_f64();
                decode_block(r16, nlev - 1, 0, &books, &idx, &mut yt);
            }
            let xt = matvec_t(&m, d, &yt);
            let mut code = vec![0u8; codec.code_bytes()];
            codec.encode(x, &mut code);
            let mut dec = vec![0f32; d];
            codec.decode(&code, &mut dec).unwrap();
            assert_close(&dec, &xt, dot(x, x).sqrt(), s);
            let est = codec.scorer(q.row(0)).estimate(&code);
            let want = dot64(&to64(q.row(0)), &xt);
            let scale: f64 = q
                .row(0)
                .iter()
                .zip(&xt)
                .map(|(&a, b)| (a as f64 * b).abs())
                .sum();
            assert!((est - want).abs() <= 1e-6 * scale, "{s}: {est} vs {want}");
        }
    }
}

/// At d a multiple of the block (no padded coordinates) `pair` and `pair_all` take the rotated-
/// space path ⟨ỹ_a, ỹ_b⟩; `pair_all` (a's tree rebuilt once) equals `pair` bit for bit there,
/// for the Haar and the FHT–Kac rotation (the contract test's widths all pad).
#[test]
fn polar_pair_all_equals_pair_without_padding() {
    let (d, n) = (128usize, 37usize);
    let rows = gaussian_rows(n, d, 5);
    for s in [
        "polar",
        "polar:rot=fht-kac",
        "polar:levels=2,bits1=3,bits2=3",
    ] {
        let codec = spec(s).fit(&rows, 9).unwrap();
        let codes = codec.encode_all(&rows);
        let mut out = vec![0f64; n];
        for a in [0usize, 1, n - 1] {
            codec.pair_all(codes.get(a), &codes, &mut out).unwrap();
            for (b, &o) in out.iter().enumerate() {
                let p = codec.pair(codes.get(a), codes.get(b)).unwrap();
                assert_eq!(o.to_bits(), p.to_bits(), "{s}: pair_all {a},{b}");
            }
        }
    }
}
