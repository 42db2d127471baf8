//! The palette's parameters as a spec writes them: palette construction, leaf kind, the leaf's
//! lanes (`NxT+NxT…`) and the origin's six P9 layouts, with their parsing, canonical printing
//! and exact code size.

use crate::codec::spec::RawParams;
use crate::error::Result;
use crate::linalg::{Rotation, RotationKind};
use std::fmt;

/// Largest palette.
pub const MAX_K: usize = 65536;
/// Most leaf lanes.
pub const MAX_LANES: usize = 64;
/// How the palette is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaletteInit {
    /// Farthest-point sampling (the origin's CLAM).
    Fp,
    /// k-means++ / Lloyd.
    Kmeans,
}

/// What the leaf keeps of the residual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafKind {
    /// No leaf (HhtlF32).
    None,
    /// Coefficients on a shared SVD basis (SlotL, the P9 layouts).
    Svd,
    /// Largest rotated coordinates with stored positions and a per-row magnitude (I8Hybrid).
    Jl,
}

/// Storage type of one leaf lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaneType {
    /// 16-bit integer.
    I16,
    /// 8-bit integer.
    I8,
    /// 4-bit integer.
    I4,
    /// 2-bit integer ({−1, 0, 1}).
    I2,
    /// bfloat16 value.
    Bf16,
}

impl LaneType {
    /// Stored bits.
    pub fn bits(self) -> u32 {
        match self {
            LaneType::I16 | LaneType::Bf16 => 16,
            LaneType::I8 => 8,
            LaneType::I4 => 4,
            LaneType::I2 => 2,
        }
    }
    /// Largest integer level Q = 2^(b−1) − 1 (None for bf16).
    pub fn qmax(self) -> Option<i32> {
        match self {
            LaneType::Bf16 => None,
            t @ (LaneType::I16 | LaneType::I8 | LaneType::I4 | LaneType::I2) => {
                Some((1i32 << (t.bits() - 1)) - 1)
            }
        }
    }
    fn name(self) -> &'static str {
        match self {
            LaneType::I16 => "i16",
            LaneType::I8 => "i8",
            LaneType::I4 => "i4",
            LaneType::I2 => "i2",
            LaneType::Bf16 => "bf16",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "i16" => LaneType::I16,
            "i8" => LaneType::I8,
            "i4" => LaneType::I4,
            "i2" => LaneType::I2,
            "bf16" => LaneType::Bf16,
            _ => return None,
        })
    }
}

/// The leaf's lanes in order, written `NxT+NxT…` (e.g. `4xi16+4xi8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lanes(pub Vec<LaneType>);

impl Lanes {
    /// Parse `NxT(+NxT)*`; 1..=64 lanes in total.
    pub fn parse(s: &str) -> Option<Lanes> {
        let mut v = Vec::new();
        for group in s.split('+') {
            let (n, t) = group.trim().split_once('x')?;
            let n: usize = n.trim().parse().ok().filter(|&n| n >= 1)?;
            let t = LaneType::parse(t.trim())?;
            if n > MAX_LANES - v.len() {
                return None;
            }
            v.extend(std::iter::repeat_n(t, n));
        }
        (!v.is_empty()).then_some(Lanes(v))
    }
    /// Number of lanes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are no lanes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Σ lane bits.
    pub fn bits(&self) -> usize {
        self.0.iter().map(|t| t.bits() as usize).sum()
    }
}

impl fmt::Display for Lanes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut i = 0;
        while i < self.0.len() {
            let t = self.0[i];
            let n = self.0[i..].iter().take_while(|&&u| u == t).count();
            if !first {
                f.write_str("+")?;
            }
            write!(f, "{n}x{}", t.name())?;
            first = false;
            i += n;
        }
        Ok(())
    }
}

/// The origin's six P9 resolution layouts (origin.md §4): name, palette entries (2^address
/// bits), leaf lanes.
pub const LAYOUTS: [(&str, usize, &str); 6] = [
    ("i8-baseline", 64, "8xi8"),
    ("wide-hip", 1024, "8xi8"),
    ("mixed-leaf", 64, "4xi16+4xi8"),
    ("compact-leaf", 64, "4xi8"),
    ("bf16-leaf", 64, "2xbf16"),
    ("stacked", 64, "2xi16+2xi8+2xi4+2xi2"),
];

/// Parameters of [`PaletteCodec`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaletteParams {
    /// Palette entries.
    pub k: usize,
    /// Palette construction.
    pub init: PaletteInit,
    /// Residual leaf.
    pub leaf: LeafKind,
    /// Leaf lanes (ignored for `leaf=none`).
    pub lanes: Lanes,
    /// Rotation of the `jl` leaf.
    pub rot: RotationKind,
}

impl Default for PaletteParams {
    fn default() -> Self {
        PaletteParams {
            k: 256,
            init: PaletteInit::Fp,
            leaf: LeafKind::None,
            lanes: Lanes(vec![LaneType::I8; 8]),
            rot: RotationKind::Hadamard,
        }
    }
}

impl PaletteParams {
    /// A P9 layout by name (`i8-baseline`, `wide-hip`, …): farthest-point palette, svd leaf.
    pub fn layout(name: &str) -> Option<PaletteParams> {
        let &(_, k, lanes) = LAYOUTS.iter().find(|l| l.0 == name)?;
        Some(PaletteParams {
            k,
            leaf: LeafKind::Svd,
            lanes: Lanes::parse(lanes)?,
            ..PaletteParams::default()
        })
    }

    /// Exact bits of one code for rows of `dim` values (address + leaf; see the module doc).
    pub fn code_bits(&self, dim: usize) -> usize {
        let lanes = &self.lanes;
        let has_int = lanes.0.iter().any(|t| t.qmax().is_some());
        index_bits(self.k) as usize
            + match self.leaf {
                LeafKind::None => 0,
                LeafKind::Svd => lanes.bits(),
                LeafKind::Jl => {
                    let p = Rotation::out_dim_of(self.rot, dim, 1).unwrap_or(usize::MAX);
                    16 * usize::from(has_int) + lanes.len() * index_bits(p) as usize + lanes.bits()
                }
            }
    }

    pub(super) fn from_raw(raw: &mut RawParams) -> Result<Self> {
        let mut p = PaletteParams::default();
        let layout = raw.take("layout");
        if let Some(name) = &layout {
            let names: Vec<&str> = LAYOUTS.iter().map(|l| l.0).collect();
            p = PaletteParams::layout(name)
                .ok_or_else(|| raw.bad("layout", name, &names.join(" | ")))?;
        }
        let lanes_given = raw.take("lanes");
        let rot_given = raw.take("rot");
        if let Some(v) = raw.take("k") {
            if layout.is_some() {
                return Err(raw.bad("k", &v, "no k together with layout= (the layout fixes k)"));
            }
            p.k = match v.parse::<usize>() {
                Ok(k) if (1..=MAX_K).contains(&k) => k,
                _ => return Err(raw.bad("k", &v, "an integer in 1..=65536")),
            };
        }
        if let Some(v) = raw.take("init") {
            p.init = match v.as_str() {
                "fp" => PaletteInit::Fp,
                "kmeans" => PaletteInit::Kmeans,
                _ => return Err(raw.bad("init", &v, "fp | kmeans")),
            };
        }
        if let Some(v) = raw.take("leaf") {
            let leaf = match v.as_str() {
                "none" => LeafKind::None,
                "svd" => LeafKind::Svd,
                "jl" => LeafKind::Jl,
                _ => return Err(raw.bad("leaf", &v, "none | svd | jl")),
            };
            if layout.is_some() && leaf != LeafKind::Svd {
                return Err(raw.bad("leaf", &v, "svd (the layouts are svd leaves)"));
            }
            p.leaf = leaf;
        }
        if let Some(v) = lanes_given {
            if layout.is_some() {
                return Err(raw.bad("lanes", &v, "no lanes together with layout="));
            }
            if p.leaf == LeafKind::None {
                return Err(raw.bad("lanes", &v, "lanes only with leaf=svd or leaf=jl"));
            }
            p.lanes = Lanes::parse(&v).ok_or_else(|| {
                raw.bad(
                    "lanes",
                    &v,
                    "NxT(+NxT)* with T in i16|i8|i4|i2|bf16, 1..=64 lanes",
                )
            })?;
        }
        if let Some(v) = rot_given {
            if p.leaf != LeafKind::Jl {
                return Err(raw.bad("rot", &v, "rot only with leaf=jl"));
            }
            p.rot =
                RotationKind::parse(&v).ok_or_else(|| raw.bad("rot", &v, RotationKind::VALUES))?;
        }
        Ok(p)
    }
}

impl fmt::Display for PaletteParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let init = match self.init {
            PaletteInit::Fp => "fp",
            PaletteInit::Kmeans => "kmeans",
        };
        let leaf = match self.leaf {
            LeafKind::None => "none",
            LeafKind::Svd => "svd",
            LeafKind::Jl => "jl",
        };
        write!(f, "k={},init={init},leaf={leaf}", self.k)?;
        if self.leaf != LeafKind::None {
            write!(f, ",lanes={}", self.lanes)?;
        }
        if self.leaf == LeafKind::Jl {
            write!(f, ",rot={}", self.rot)?;
        }
        Ok(())
    }
}

/// ⌈log₂ n⌉ (0 for n ≤ 1).
pub fn index_bits(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_print_canonically() {
        let l = Lanes::parse("1xi8+1xi8+2xi4").unwrap();
        assert_eq!(l.to_string(), "2xi8+2xi4");
        assert_eq!(l.bits(), 24);
        assert!(Lanes::parse("0xi8").is_none());
        assert!(Lanes::parse("65xi2").is_none());
        assert!(Lanes::parse("2xi3").is_none());
    }

    #[test]
    fn index_bits_are_ceil_log2() {
        assert_eq!(index_bits(1), 0);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(64), 6);
        assert_eq!(index_bits(65), 7);
        assert_eq!(index_bits(256), 8);
        assert_eq!(index_bits(1024), 10);
    }
}
