//! Blockwise encode, decode and query rotation for codecs whose code is a function of a row's
//! rotation Π x (`sign`, `polar`, `gain-shape`): a block of rows is rotated by one blocked
//! product ([`Rotation::apply_rows_f64`], bit-identical to one row at a time), so `encode_all`,
//! `decode_all` and `scorers` read the rotation's matrix once per block instead of once per row.
//! `tq-mse`, `tq-prod` and `rabitq` normalise or centre the rows first and write their blocks
//! themselves.

use super::map_rows;
use crate::data::Rows;
use crate::linalg::Rotation;

/// Codes of a block of rows (`stride` bytes each): `f(row, Π row, code)` for each row, the
/// block rotated at once.
pub(crate) fn encode_block(
    rot: &Rotation,
    rows: &[f32],
    out: &mut [u8],
    stride: usize,
    f: impl Fn(&[f32], &[f64], &mut [u8]),
) {
    let (d, p) = (rot.dim(), rot.out_dim());
    let x: Vec<f64> = rows.iter().map(|&v| v as f64).collect();
    let mut y = vec![0f64; rows.len() / d * p];
    rot.apply_rows_f64(&x, &mut y);
    for ((row, yr), code) in rows
        .chunks_exact(d)
        .zip(y.chunks_exact(p))
        .zip(out.chunks_exact_mut(stride))
    {
        f(row, yr, code);
    }
}

/// Rows of a block of codes (`stride` bytes each): `levels(code, ỹ)` writes a code's vector in
/// the rotated frame (p values), the block is rotated back at once (Πᵀ, padded coordinates
/// dropped), and `finish(code, x, row)` writes the row from it.
pub(crate) fn decode_block(
    rot: &Rotation,
    codes: &[u8],
    stride: usize,
    out: &mut [f32],
    levels: impl Fn(&[u8], &mut [f64]),
    finish: impl Fn(&[u8], &[f64], &mut [f32]),
) {
    let (d, p) = (rot.dim(), rot.out_dim());
    let n = codes.len() / stride;
    let mut y = vec![0f64; n * p];
    for (code, yr) in codes.chunks_exact(stride).zip(y.chunks_exact_mut(p)) {
        levels(code, yr);
    }
    let mut x = vec![0f64; n * d];
    rot.apply_transpose_rows(&y, &mut x);
    for ((code, xr), row) in codes
        .chunks_exact(stride)
        .zip(x.chunks_exact(d))
        .zip(out.chunks_exact_mut(d))
    {
        finish(code, xr, row);
    }
}

/// Π q for every query (n × p, row-major), in blocks in parallel.
pub(crate) fn rotate_queries(rot: &Rotation, queries: &Rows) -> Vec<f64> {
    map_rows(queries, rot.out_dim(), |x, y| rot.apply_rows_f64(x, y))
}
