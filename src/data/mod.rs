//! Populations: loading rows from files (safetensors, npy, fvecs/bvecs), seeded synthetic
//! controls, and the catalog of named populations. Nothing here knows about codecs or metrics.
//!
//! Inside, imports point one way: `catalog` → `file` / `inspect` (dispatch by format) → the
//! format loaders `npy`, `fvecs`, `safetensors` → `raw` (element conversion) and
//! `row_stats`, reading through `source` (positioned reads of regular files, never a map);
//! `cache` (where fetched sources live) stands alone. `data` never imports
//! `fetch`: the fetch pipeline sits above and fills the cache.

pub mod cache;
pub mod catalog;
pub mod file;
pub mod fvecs;
pub mod inspect;
pub mod npy;
pub mod population;
pub(crate) mod raw;
pub mod real;
pub mod row_stats;
pub mod rows;
pub mod safetensors;
pub(crate) mod safetensors_header;
pub mod selection;
pub(crate) mod source;
pub mod static_table;
pub mod synthetic;

pub use population::{Population, PopulationKind, Provenance};
pub use rows::Rows;
pub use selection::RowSelection;

/// What a file says about one tensor, before any data is read.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TensorInfo {
    /// Tensor name (the file name for single-array formats).
    pub name: String,
    /// Element type as the file names it (e.g. `F32`, `BF16`, `<f4`).
    pub dtype: String,
    /// Shape as declared.
    pub shape: Vec<usize>,
    /// Bytes of data the tensor occupies in the file.
    pub bytes: u64,
}

/// Rows read from a file, with what was read.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The selected rows, converted to f32.
    pub rows: Rows,
    /// Header facts about the tensor they came from.
    pub info: TensorInfo,
    /// Indices (into the tensor's first axis) of the rows in `rows`, in order.
    pub indices: Vec<usize>,
    /// Finite f64 values that overflowed f32 (they are ±inf in `rows`), the first of each row.
    pub overflows: Vec<Overflow>,
}

/// A finite value of an f64 file beyond f32's range, found while converting: it is ±inf in
/// the loaded rows, and validation names the value instead of calling it non-finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overflow {
    /// Position of the row in [`Loaded::rows`].
    pub row: usize,
    /// Column.
    pub col: usize,
    /// The value in the file.
    pub value: f64,
}
