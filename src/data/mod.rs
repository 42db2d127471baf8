//! Populations: loading rows from files (safetensors, npy, fvecs/bvecs), seeded synthetic
//! controls, and the catalog of named populations. Nothing here knows about codecs or metrics.
//!
//! Inside, imports point one way: `catalog` → `file` / `inspect` (dispatch by format) → the
//! format loaders `npy`, `fvecs`, `safetensors` → `raw` (file map, element conversion) and
//! `row_stats`; `cache` (where fetched sources live) stands alone. `data` never imports
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
pub mod selection;
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
}
