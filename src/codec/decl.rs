//! A codec is declared once, next to its code: a declaration type implementing [`CodecDecl`]
//! gives the spec name, description, parameters with defaults, grade, family and
//! [`Capabilities`] (decode, pair, randomised fit, what the contract test may expect), and how
//! to parse and fit it. The registry in `codec/mod.rs` is one line per codec; the
//! [`registry!`](crate::codec::decl::registry) macro turns it into the closed
//! [`CodecSpec`](super::CodecSpec) enum and [`CODECS`](super::CODECS), so nothing else lists
//! the codecs.

use super::spec::RawParams;
use super::{Codec, Family, Grade};
use crate::data::Rows;
use crate::error::Result;
use crate::linalg::RotationKind;
use std::fmt;

/// One codec parameter, for `list codecs` and error messages.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ParamInfo {
    /// Key as written in a spec.
    pub key: &'static str,
    /// The values it takes.
    pub values: &'static str,
    /// Default value (as written in a spec).
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// One codec, for `list codecs`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct CodecInfo {
    /// Spec name.
    pub name: &'static str,
    /// One-line description, including what the bytes per row are made of.
    pub summary: &'static str,
    /// Where the method comes from.
    pub reference: &'static str,
    /// What the code keeps (a parameter may change it: [`CodecDecl::grade`]).
    pub grade: Grade,
    /// How it is built.
    pub family: Family,
    /// Parameters with defaults.
    pub params: &'static [ParamInfo],
}

/// The shared `rot` parameter (default `haar`).
pub const ROT_PARAM: ParamInfo = ParamInfo {
    key: "rot",
    values: RotationKind::VALUES,
    default: "haar",
    doc: "random rotation before quantizing: Haar QR (seed-regenerated, 8 model bytes; O(d²) per row, O(d³) to draw), randomized Hadamard (3 rounds, zero-padded to a power of two; padded coordinates are coded and counted), FHT–Kac (4 rounds of a permutation, sign flips, Hadamard on two overlapping power-of-two blocks and Kac butterflies; O(d log d), no padding to a power of two), or none",
};

/// What the all-zero row decodes to (the contract test checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeroRow {
    /// Exactly zero.
    Zero,
    /// A point within ‖c‖ of zero, c the centre the codec subtracts before coding (the zero row
    /// is coded as the direction −c/‖c‖).
    NearCentre,
    /// A point x̂ with ⟨x̂, c⟩ = 0, c the centre the codec subtracts (a decode that rescales by
    /// the estimator's 1/⟨ō,o⟩).
    OrthogonalToCentre,
    /// The nearest training-derived point (a grid level per dimension, a centroid, the mean plus
    /// a sign vector, a palette entry): not zero by design, not checked.
    Trained,
}

/// Whether fitting draws random numbers from its seed, known without fitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomFit {
    /// The same codec from every seed.
    Never,
    /// A rotation, a sketch, a k-means start or a random subset: draws differ.
    Always,
    /// A seeded sample of the training rows above this many rows, deterministic at or below it.
    AboveRows(usize),
}

impl RandomFit {
    /// [`RandomFit::Always`] when `random`, else [`RandomFit::Never`].
    pub const fn when(random: bool) -> RandomFit {
        if random {
            RandomFit::Always
        } else {
            RandomFit::Never
        }
    }

    /// Random exactly when there is a rotation to draw.
    pub fn rotation(rot: RotationKind) -> RandomFit {
        RandomFit::when(rot != RotationKind::None)
    }

    /// Whether a fit on `train_rows` rows draws from its seed.
    pub fn on(self, train_rows: usize) -> bool {
        match self {
            RandomFit::Never => false,
            RandomFit::Always => true,
            RandomFit::AboveRows(cap) => train_rows > cap,
        }
    }
}

/// What a codec with given parameters can do, known without fitting it. `Codec`'s
/// `can_decode`, `can_pair` and `pair_is_decoded_dot` read it; the contract test checks every
/// fitted codec against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `decode` reconstructs a row (else it returns `Unsupported`).
    pub decodes: bool,
    /// `pair` scores two codes (else it returns `Unsupported`).
    pub pairs: bool,
    /// `pair` is exactly `dot_f64(decode(a), decode(b))`, so the pair probe may decode each code
    /// once instead.
    pub pair_is_decoded_dot: bool,
    /// The scorer's estimate equals ⟨q, decode(code)⟩ up to rounding (where it decodes).
    pub estimate_is_decoded_dot: bool,
    /// What the zero row decodes to (where it decodes).
    pub zero_row: ZeroRow,
    /// Whether the fit draws from its seed.
    pub random_fit: RandomFit,
    /// The fit keeps a palette of training rows (or k-means centroids that become the rows
    /// when k ≥ rows): fitted on no more rows than entries it holds every training row, and its
    /// codes of those rows carry no trace of the seed. The random-fit check fits it on more.
    pub palette_of_rows: bool,
    /// The fit refuses fewer training rows than this with a typed `BadParam` (a k-entry
    /// palette needs k rows, PQ's k-means 2^nbits); the runner checks it for every cell before
    /// any work starts. 0 = no requirement.
    pub min_train_rows: usize,
}

impl Capabilities {
    /// A reconstruction codec: decodes, pairs, estimates ⟨q, decode⟩, decodes the zero row to
    /// zero, fits deterministically.
    pub const RECONSTRUCTION: Capabilities = Capabilities {
        decodes: true,
        pairs: true,
        pair_is_decoded_dot: false,
        estimate_is_decoded_dot: true,
        zero_row: ZeroRow::Zero,
        random_fit: RandomFit::Never,
        palette_of_rows: false,
        min_train_rows: 0,
    };

    /// A signature codec: scores queries and pairs of codes, rebuilds no row, fits
    /// deterministically.
    pub const SIGNATURE: Capabilities = Capabilities {
        decodes: false,
        pairs: true,
        pair_is_decoded_dot: false,
        estimate_is_decoded_dot: false,
        zero_row: ZeroRow::Zero,
        random_fit: RandomFit::Never,
        palette_of_rows: false,
        min_train_rows: 0,
    };

    /// These capabilities with another [`RandomFit`].
    pub const fn with_random_fit(self, random_fit: RandomFit) -> Capabilities {
        Capabilities { random_fit, ..self }
    }
}

/// A spec without parameters (`exact`, `f16`, `bf16`, `int8`): nothing to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NoParams;

impl fmt::Display for NoParams {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

/// A codec's declaration: everything the rest of the crate knows about it before fitting.
/// Implemented by a zero-sized type in the codec's own file and named by one registry line.
pub trait CodecDecl {
    /// The parameters a spec carries ([`NoParams`] for none); `Display` prints their canonical
    /// `key=value,…` text, which [`CodecDecl::parse`] reads back.
    type Params: fmt::Display;
    /// Name, description, parameters with defaults, grade and family (`list codecs`).
    const INFO: CodecInfo;
    /// Read the parameters from a parsed spec: take every declared key given, use the default
    /// for the rest (`raw.finish()` then refuses keys nobody took).
    fn parse(raw: &mut RawParams) -> Result<Self::Params>;
    /// Fit the codec on `train`, all randomness from `seed`.
    fn fit(params: &Self::Params, train: &Rows, seed: u64) -> Result<Box<dyn Codec>>;
    /// What the codec can do with these parameters.
    fn capabilities(params: &Self::Params) -> Capabilities;
    /// What the code keeps with these parameters (default: the declared grade).
    fn grade(params: &Self::Params) -> Grade {
        let _ = params;
        Self::INFO.grade
    }
    /// Peak bytes of fitting on `train_rows` rows of `dim` values, the fitted state included
    /// (workspace, copies, matrices): an honest upper estimate in saturating arithmetic, which
    /// the memory budget checks before anything is allocated ([`crate::budget`]). The contract
    /// test holds every declaration to the bytes its fits really allocate. Default:
    /// [`small_fit_bytes`], for codecs that keep a few values per dimension.
    fn fit_bytes(params: &Self::Params, train_rows: usize, dim: usize) -> u64 {
        let _ = (params, train_rows);
        small_fit_bytes(dim)
    }
}

/// Fixed allowance of every fit for what does not grow with the shapes (random generators,
/// cached codebooks, small tables, allocator rounding): 1 MiB.
pub const FIT_BYTES_FIXED: u64 = 1 << 20;

/// `n` values of `size` bytes each, saturating: the unit of [`CodecDecl::fit_bytes`].
pub const fn bytes(n: usize, size: usize) -> u64 {
    (n as u64).saturating_mul(size as u64)
}

/// The sum of `parts`, saturating.
pub fn total(parts: &[u64]) -> u64 {
    parts.iter().fold(0u64, |a, &b| a.saturating_add(b))
}

/// [`CodecDecl::fit_bytes`]'s default: [`FIT_BYTES_FIXED`] plus 64 bytes per dimension (a
/// codec whose state is a few f64 values per dimension).
pub fn small_fit_bytes(dim: usize) -> u64 {
    total(&[FIT_BYTES_FIXED, bytes(dim, 64)])
}

/// The declaration of a codec without parameters (`exact`, `f16`, `bf16`, `int8`): what it is,
/// what it can do, and how to build it for rows of a dimension. Every such type is a
/// [`CodecDecl`] with [`NoParams`].
pub trait PlainDecl {
    /// Name, description, grade and family (no parameters).
    const INFO: CodecInfo;
    /// What the codec can do.
    const CAPABILITIES: Capabilities;
    /// The codec for rows of `dim` values (nothing is learnt from the rows).
    fn build(dim: usize) -> Box<dyn Codec>;
}

impl<T: PlainDecl> CodecDecl for T {
    type Params = NoParams;
    const INFO: CodecInfo = T::INFO;
    fn parse(_: &mut RawParams) -> Result<NoParams> {
        Ok(NoParams)
    }
    fn fit(_: &NoParams, train: &Rows, _seed: u64) -> Result<Box<dyn Codec>> {
        Ok(T::build(train.dim()))
    }
    fn capabilities(_: &NoParams) -> Capabilities {
        T::CAPABILITIES
    }
}

/// A declaration bound to a spec's parameters, object-safe, so that `CodecSpec`'s one
/// generated `match` serves every method.
pub(crate) trait Declared {
    fn info(&self) -> CodecInfo;
    fn grade(&self) -> Grade;
    fn capabilities(&self) -> Capabilities;
    fn fit(&self, train: &Rows, seed: u64) -> Result<Box<dyn Codec>>;
    fn fit_bytes(&self, train_rows: usize, dim: usize) -> u64;
    /// `name` or `name:params` (a codec that declares no parameters prints its bare name).
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// [`Declared`] for declaration `D` and parameters `&D::Params`.
pub(crate) struct Bound<'a, D: CodecDecl>(pub(crate) &'a D::Params);

impl<D: CodecDecl> Declared for Bound<'_, D> {
    fn info(&self) -> CodecInfo {
        D::INFO
    }
    fn grade(&self) -> Grade {
        D::grade(self.0)
    }
    fn capabilities(&self) -> Capabilities {
        D::capabilities(self.0)
    }
    fn fit(&self, train: &Rows, seed: u64) -> Result<Box<dyn Codec>> {
        D::fit(self.0, train, seed)
    }
    fn fit_bytes(&self, train_rows: usize, dim: usize) -> u64 {
        D::fit_bytes(self.0, train_rows, dim)
    }
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(D::INFO.name)?;
        if D::INFO.params.is_empty() {
            Ok(())
        } else {
            write!(f, ":{}", self.0)
        }
    }
}

/// The registry: `Variant => Declaration` for a codec without parameters, `Variant(Params) =>
/// Declaration` otherwise, one line per codec, in the order `list codecs` prints them. Expands
/// to the closed `CodecSpec` enum, the `CODECS` table and the one `match` (`CodecSpec::declared`)
/// plus the parser lookup (`CodecSpec::parse_declared`) that everything else goes through.
macro_rules! registry {
    ($( $variant:ident $( ( $params:ty ) )? => $decl:ty ),+ $(,)?) => {
        /// A codec and its parameters, as a user names it (one variant per registry line).
        /// `Display` prints the canonical form, which always parses back to an equal spec.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum CodecSpec {
            $(
                #[doc = concat!("Declared by [`", stringify!($decl), "`].")]
                $variant $( ($params) )?,
            )+
        }

        /// Every codec this build knows, in registry order (the order `list codecs` prints).
        pub static CODECS: &[$crate::codec::decl::CodecInfo] =
            &[$( <$decl as $crate::codec::decl::CodecDecl>::INFO ),+];

        impl CodecSpec {
            /// This spec's declaration bound to its parameters.
            pub(crate) fn declared<R>(
                &self,
                visit: impl FnOnce(&dyn $crate::codec::decl::Declared) -> R,
            ) -> R {
                match self {
                    $(
                        $crate::codec::decl::registry!(@pattern $variant p $($params)?) => visit(
                            &$crate::codec::decl::Bound::<$decl>(
                                $crate::codec::decl::registry!(@params p $($params)?),
                            ),
                        ),
                    )+
                }
            }

            /// Parse the parameters of the codec `raw` names; `None` when no codec has that name.
            pub(crate) fn parse_declared(
                raw: &mut $crate::codec::spec::RawParams,
            ) -> Option<$crate::error::Result<CodecSpec>> {
                $(
                    if raw.codec == <$decl as $crate::codec::decl::CodecDecl>::INFO.name {
                        let parsed = <$decl as $crate::codec::decl::CodecDecl>::parse(raw);
                        return Some(parsed.map(|p| {
                            $crate::codec::decl::registry!(@build $variant p $($params)?)
                        }));
                    }
                )+
                None
            }
        }
    };
    (@pattern $variant:ident $p:ident) => { CodecSpec::$variant };
    (@pattern $variant:ident $p:ident $params:ty) => { CodecSpec::$variant($p) };
    (@params $p:ident) => { &$crate::codec::decl::NoParams };
    (@params $p:ident $params:ty) => { $p };
    (@build $variant:ident $p:ident) => {{
        let $crate::codec::decl::NoParams = $p;
        CodecSpec::$variant
    }};
    (@build $variant:ident $p:ident $params:ty) => { CodecSpec::$variant($p) };
}
pub(crate) use registry;
