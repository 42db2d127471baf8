//! One error type for the library. Every variant carries the fields a user needs to find the
//! problem (file, tensor, row, what was expected); `main` maps all of them to exit code 2.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong before or during a benchmark, as data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written (reports, results).
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid file of the format its name or header claims.
    #[error("{path}: not a valid {format} file: {reason}")]
    BadHeader {
        path: PathBuf,
        format: &'static str,
        reason: String,
    },
    /// The file ends before the data its header declares.
    #[error(
        "{path}: truncated {format} file: header declares {expected} bytes of data, file has {actual}"
    )]
    Truncated {
        path: PathBuf,
        format: &'static str,
        expected: u64,
        actual: u64,
    },
    /// The file extension is not one we can read.
    #[error("{path}: unsupported file type; expected .npy, .fvecs, .bvecs or .safetensors:TENSOR")]
    UnknownFormat { path: PathBuf },
    /// A safetensors file needs `path.safetensors:tensor.name`.
    #[error(
        "{path}: a safetensors population needs a tensor name: {path}:TENSOR (tensors: {available})"
    )]
    MissingTensorName { path: PathBuf, available: String },
    /// No tensor by that name; `close` lists the nearest names.
    #[error("{path}: no tensor named '{tensor}'{}", close_names(close))]
    UnknownTensor {
        path: PathBuf,
        tensor: String,
        close: Vec<String>,
    },
    /// The element type is not one we read.
    #[error("{path}: tensor '{tensor}' has dtype {dtype}; supported: {supported}")]
    UnsupportedDtype {
        path: PathBuf,
        tensor: String,
        dtype: String,
        supported: &'static str,
    },
    /// Rows are the first axis of a 2-D tensor; anything else is refused.
    #[error("{path}: tensor '{tensor}' has shape {shape:?}; expected a 2-D tensor [rows, dims]")]
    BadShape {
        path: PathBuf,
        tensor: String,
        shape: Vec<usize>,
    },
    /// A population with no rows or no columns.
    #[error(
        "{source_name}: population is empty ({rows} rows × {dims} dims); need at least 2 rows and 1 dim"
    )]
    Empty {
        source_name: String,
        rows: usize,
        dims: usize,
    },
    /// NaN or ±Inf inside a row.
    #[error(
        "{source_name}: row {row} has a non-finite value ({value}) at column {col}; fix the data or pass --nonfinite skip to drop such rows"
    )]
    NonFinite {
        source_name: String,
        row: usize,
        col: usize,
        value: f32,
    },
    /// Query rows and base rows must share a dimension.
    #[error(
        "{source_name}: query rows have {query_dims} dims but population '{population}' has {dims}"
    )]
    DimensionMismatch {
        source_name: String,
        population: String,
        query_dims: usize,
        dims: usize,
    },
    /// Unknown population catalog name.
    #[error(
        "unknown population '{name}'; valid names: {valid} (or a file: path.npy, path.fvecs, path.safetensors:TENSOR)"
    )]
    UnknownPopulation { name: String, valid: String },
    /// A population spec with a bad parameter.
    #[error("population '{name}': {reason}")]
    BadPopulationSpec { name: String, reason: String },
    /// Unknown codec name.
    #[error("unknown codec '{name}'; valid codecs: {valid}")]
    UnknownCodec { name: String, valid: String },
    /// A codec parameter the codec does not have.
    #[error("codec '{codec}': unknown parameter '{key}'; valid parameters: {valid}")]
    UnknownParam {
        codec: String,
        key: String,
        valid: String,
    },
    /// A codec parameter with a value outside its domain.
    #[error("codec '{codec}': parameter {key}={value} is invalid: expected {expected}")]
    BadParam {
        codec: String,
        key: String,
        value: String,
        expected: String,
    },
    /// The codec cannot do this (e.g. decode a signature code).
    #[error("codec '{codec}' does not support {operation}")]
    Unsupported {
        codec: String,
        operation: &'static str,
    },
    /// recall@k needs at least k candidates.
    #[error("--k {k} is larger than the {base} base rows of population '{population}'")]
    KTooLarge {
        k: usize,
        base: usize,
        population: String,
    },
    /// A flag or plan field outside its domain.
    #[error("invalid {field}: {reason}")]
    InvalidPlan { field: &'static str, reason: String },
    /// An on-demand source is not in the cache yet.
    #[error(
        "{what} needs the on-demand source '{source_name}', which is not fetched yet (looked in {path}); run `codecbench fetch {source_name}`"
    )]
    NotFetched {
        what: String,
        source_name: String,
        path: PathBuf,
    },
    /// A fetch step failed (download, unpack, convert).
    #[error("fetch {source_name}: {step} failed: {reason}")]
    FetchFailed {
        source_name: String,
        step: &'static str,
        reason: String,
    },
    /// A downloaded or converted file does not have the pinned sha256.
    #[error(
        "{path}: sha256 {actual} does not match the pinned {expected}; the upstream package changed or the download is corrupt"
    )]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A run directory given to a command does not hold what it should.
    #[error("{path}: {reason}")]
    BadRunDir { path: PathBuf, reason: String },
    /// A line of a peers results file (`peers/peers.py` output) is not a valid row.
    #[error("{path}: line {line}: {reason}")]
    BadPeersFile {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

fn close_names(close: &[String]) -> String {
    if close.is_empty() {
        String::new()
    } else {
        format!("; did you mean: {}", close.join(", "))
    }
}

impl Error {
    /// Wrap an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
