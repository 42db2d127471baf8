//! Sign / binary quantization (`sign`, Charikar 2002): a plain reference implementation
//! element-wise against production.

use crate::codec_rotation::{matvec, to64};
use crate::util::{dot, gaussian_rows};
use codecbench::codec::{Codec, SignCodec, SignParams};
use codecbench::linalg::RotationKind;
use std::f64::consts::PI;

/// Plain sign codes, literally: bits [(Π x)_j > 0], h = Hamming distance, estimate
/// ‖x‖‖q‖cos(π h/p).
#[test]
fn sign_matches_a_plain_reference() {
    for (d, rot) in [
        (65usize, RotationKind::Haar),
        (65, RotationKind::Hadamard),
        (9, RotationKind::None),
    ] {
        let codec = SignCodec::fit(&SignParams { rot }, d, 37);
        let (m, p) = (codec.rotation().matrix(), codec.rotation().out_dim());
        let rows = gaussian_rows(12, d, 141);
        let q = gaussian_rows(1, d, 142);
        let sq: Vec<bool> = matvec(&m, p, &to64(q.row(0)))
            .iter()
            .map(|&v| v > 0.0)
            .collect();
        let codes = codec.encode_all(&rows);
        for (i, x) in rows.iter().enumerate() {
            let sx: Vec<bool> = matvec(&m, p, &to64(x)).iter().map(|&v| v > 0.0).collect();
            let h = sx.iter().zip(&sq).filter(|(a, b)| a != b).count() as f64;
            let want =
                dot(x, x).sqrt() * dot(q.row(0), q.row(0)).sqrt() * (PI * h / p as f64).cos();
            let got = codec.scorer(q.row(0)).estimate(codes.get(i));
            // Norms stored as f32: 1e-6 relative.
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1e-3),
                "{rot}: {got} vs {want}"
            );
        }
    }
}
