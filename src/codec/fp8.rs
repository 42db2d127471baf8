// Method: P. Micikevicius et al., "FP8 Formats for Deep Learning", arXiv:2209.05433 (2022);
// OCP 8-bit Floating Point Specification (OFP8) rev. 1.0, format E4M3 ("e4m3fn": bias 7,
// no infinities, max normal 448, NaN = S.1111.111).

//! `fp8`: OCP E4M3 per coordinate, round to nearest even, saturating at ±448.
//!
//! `scale=none` stores the raw values (the float ladder's next rung after bf16; values below
//! 2^−9 flush to zero, which for weight rows of std ≈ 0.02 loses most of the resolution).
//! `scale=row` (default) first divides the row by s = max|x|/448 and stores s as f32, as FP8
//! inference stacks do per tensor or per channel.
//!
//! Bytes: code = d (+4 for the f32 row scale with `scale=row`); model = 0.

use super::decl::{Capabilities, CodecDecl, CodecInfo, ParamInfo};
use super::elementwise::{Elementwise, Passthrough};
use super::fields::{absmax, f32_at, put_f32};
use super::spec::RawParams;
use super::{Codec, CodecSpec, Family, Grade};
use crate::data::Rows;
use crate::error::Result;
use std::fmt;
use std::sync::OnceLock;

/// Largest finite E4M3 value.
pub const E4M3_MAX: f32 = 448.0;

/// The value of an E4M3 byte (NaN for S.1111.111).
pub fn e4m3_to_f32(b: u8) -> f32 {
    let sign = if b & 0x80 != 0 { -1.0 } else { 1.0 };
    let e = ((b >> 3) & 0x0F) as i32;
    let m = (b & 0x07) as f32;
    if e == 15 && b & 0x07 == 7 {
        return f32::NAN;
    }
    let mag = if e == 0 {
        m * 2f32.powi(-9)
    } else {
        (1.0 + m / 8.0) * 2f32.powi(e - 7)
    };
    sign * mag
}

fn positive_table() -> &'static [f32; 127] {
    static T: OnceLock<[f32; 127]> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = [0f32; 127];
        for (i, v) in t.iter_mut().enumerate() {
            *v = e4m3_to_f32(i as u8);
        }
        t
    })
}

/// Nearest E4M3 byte to `x` (ties to the even code), saturating at ±448; NaN maps to 0.
pub fn f32_to_e4m3(x: f32) -> u8 {
    if x.is_nan() {
        return 0;
    }
    let t = positive_table();
    let a = x.abs().min(E4M3_MAX);
    // First code whose value is ≥ a.
    let hi = t.partition_point(|&v| v < a).min(126);
    let code = if hi == 0 {
        0
    } else {
        let (lo_v, hi_v) = (t[hi - 1], t[hi]);
        let (dl, dh) = (a - lo_v, hi_v - a);
        if dl < dh || (dl == dh && (hi - 1) % 2 == 0) {
            hi - 1
        } else {
            hi
        }
    } as u8;
    if x.is_sign_negative() && code != 0 {
        code | 0x80
    } else {
        code
    }
}

/// Parameters of [`Fp8Codec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fp8Params {
    /// Per-row absmax scale before the cast.
    pub row_scale: bool,
}

impl Default for Fp8Params {
    fn default() -> Self {
        Fp8Params { row_scale: true }
    }
}

impl Fp8Params {
    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = Fp8Params::default();
        if let Some(v) = raw.take("scale") {
            p.row_scale = match v.as_str() {
                "row" => true,
                "none" => false,
                _ => return Err(raw.bad("scale", &v, "row | none")),
            };
        }
        Ok(p)
    }
}

impl fmt::Display for Fp8Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scale={}", if self.row_scale { "row" } else { "none" })
    }
}

/// E4M3 per coordinate.
#[derive(Debug, Clone)]
pub struct Fp8Codec {
    params: Fp8Params,
    dim: usize,
}

impl Fp8Codec {
    /// An fp8 codec for rows of `dim` values.
    pub fn new(params: &Fp8Params, dim: usize) -> Self {
        Fp8Codec {
            params: *params,
            dim,
        }
    }

    fn head(&self) -> usize {
        if self.params.row_scale { 4 } else { 0 }
    }

    fn scale_of(&self, code: &[u8]) -> f32 {
        if self.params.row_scale {
            f32_at(code, 0)
        } else {
            1.0
        }
    }
}

impl Elementwise for Fp8Codec {
    /// s·e4m3(c_i), rounded to f32 (s = 1 without a row scale).
    fn values<'c>(&'c self, code: &'c [u8]) -> impl Iterator<Item = f32> + 'c {
        let s = self.scale_of(code);
        code[self.head()..].iter().map(move |&c| s * e4m3_to_f32(c))
    }
}

/// The `fp8` declaration (see [`CodecDecl`]).
pub struct Fp8Decl;

impl CodecDecl for Fp8Decl {
    type Params = Fp8Params;
    const INFO: CodecInfo = CodecInfo {
        name: "fp8",
        summary: "OCP FP8 E4M3 per coordinate (round to nearest even, saturating ±448); d bytes, +4 for the f32 per-row absmax scale with scale=row",
        reference: "Micikevicius et al., FP8 Formats for Deep Learning, arXiv:2209.05433; OCP OFP8 spec",
        grade: Grade::Reconstruction,
        family: Family::Passthrough,
        params: &[ParamInfo {
            key: "scale",
            values: "row | none",
            default: "row",
            doc: "per-row absmax scale to ±448 before the cast, or raw values",
        }],
    };
    fn parse(raw: &mut RawParams) -> Result<Fp8Params> {
        Fp8Params::from_raw(raw)
    }
    fn fit(p: &Fp8Params, train: &Rows, _seed: u64) -> Result<Box<dyn Codec>> {
        Ok(Box::new(Fp8Codec::new(p, train.dim())))
    }
    fn capabilities(_: &Fp8Params) -> Capabilities {
        Capabilities::RECONSTRUCTION
    }
}

impl Passthrough for Fp8Codec {
    fn spec(&self) -> CodecSpec {
        CodecSpec::Fp8(self.params)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn code_bytes(&self) -> usize {
        self.head() + self.dim
    }
    fn encode(&self, row: &[f32], out: &mut [u8]) {
        let s = if self.params.row_scale {
            let s = absmax(row) / E4M3_MAX;
            put_f32(out, 0, s);
            s
        } else {
            1.0
        };
        let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
        for (o, &x) in out[self.head()..].iter_mut().zip(row) {
            *o = f32_to_e4m3(x * inv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e4m3_known_values() {
        assert_eq!(e4m3_to_f32(0x7E), 448.0);
        assert_eq!(e4m3_to_f32(0x38), 1.0);
        assert_eq!(e4m3_to_f32(0x01), 2f32.powi(-9));
        assert!(e4m3_to_f32(0x7F).is_nan());
        assert_eq!(f32_to_e4m3(1.0), 0x38);
        assert_eq!(f32_to_e4m3(-448.0), 0xFE);
        assert_eq!(f32_to_e4m3(1e9), 0x7E);
        // 1.0625 is halfway between 1.0 (0x38, even) and 1.125 (0x39): ties to even.
        assert_eq!(f32_to_e4m3(1.0625), 0x38);
        for b in 0u8..=0x7E {
            assert_eq!(f32_to_e4m3(e4m3_to_f32(b)), b, "{b:#x}");
        }
    }
}
