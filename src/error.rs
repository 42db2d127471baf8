//! One error type for the library. Every variant carries the fields a user needs to find the
//! problem (file, tensor, row, what was expected); `main` maps all of them to exit code 2.

use crate::budget::{MemoryBudget, size_exact};
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
    /// The path is not a regular file (a directory, FIFO, device, socket or dangling link):
    /// refused before it is opened for reading.
    #[error("{path}: is {kind}; expected a regular file")]
    NotAFile { path: PathBuf, kind: String },
    /// The file got shorter (or was replaced) between opening it and reading from it.
    #[error(
        "{path}: the file changed while it was read: it had {len_at_open} bytes when opened but now ends before byte {needed} (truncated or rewritten by another program?)"
    )]
    ChangedWhileReading {
        path: PathBuf,
        len_at_open: u64,
        needed: u64,
    },
    /// A GGUF file (llama.cpp's format), which this build cannot read.
    #[error(
        "{path}: GGUF is not supported yet (issue #18); convert the tensor to .safetensors or .npy (e.g. read it with the `gguf` Python package and numpy.save it) and pass that file"
    )]
    Gguf { path: PathBuf },
    /// The same key twice in a header (JSON object or Python dict): readers disagree on which
    /// one counts, so the file is refused.
    #[error(
        "{path}: not a valid {format} file: key '{key}' appears twice in the header (readers disagree on which one counts)"
    )]
    DuplicateKey {
        path: PathBuf,
        format: &'static str,
        key: String,
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
    #[error("{path}: no tensor named '{tensor}'{}", did_you_mean(close))]
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
    /// A finite f64 value beyond f32's range (it would become ±inf).
    #[error(
        "{source_name}: value {value:e} at row {row}, column {col} overflows f32 (max 3.4e38); rescale the data or pass --nonfinite skip to drop such rows"
    )]
    Overflow {
        source_name: String,
        row: usize,
        col: usize,
        value: f64,
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
    /// Unknown population catalog name; `close` lists the nearest names.
    #[error(
        "unknown population '{name}'{}; valid names: {valid} (or a file: path.npy, path.fvecs, path.safetensors:TENSOR)",
        did_you_mean(close)
    )]
    UnknownPopulation {
        name: String,
        close: Vec<String>,
        valid: String,
    },
    /// A population spec with a bad parameter.
    #[error("population '{name}': {reason}")]
    BadPopulationSpec { name: String, reason: String },
    /// Unknown codec name; `close` lists the nearest names.
    #[error("unknown codec '{name}'{}; valid codecs: {valid}", did_you_mean(close))]
    UnknownCodec {
        name: String,
        close: Vec<String>,
        valid: String,
    },
    /// A codec parameter the codec does not have; `close` lists the nearest keys.
    #[error(
        "codec '{codec}': unknown parameter '{key}'{}; valid parameters: {valid}",
        did_you_mean(close)
    )]
    UnknownParam {
        codec: String,
        key: String,
        close: Vec<String>,
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
    /// A population has fewer training rows than a codec of the plan needs (checked before
    /// any work starts; the codec's own fit refuses them too).
    #[error(
        "population '{population}' has {rows} training rows but codec '{codec}' needs at least {needed}; take more rows (--max-rows, n=) or a smaller setting (palette k, pq nbits)"
    )]
    TooFewTrainingRows {
        population: String,
        codec: String,
        rows: usize,
        needed: usize,
    },
    /// A codec's declared fit bytes exceed the memory budget (checked before fitting).
    #[error(
        "codec '{codec}' on {rows} training rows × {dim} dims would need {} to fit, more than the memory budget of {budget}; {hint}",
        size_exact(*needed)
    )]
    FitOverBudget {
        codec: String,
        rows: usize,
        dim: usize,
        needed: u64,
        budget: MemoryBudget,
        hint: String,
    },
    /// A population's rows (loaded, generated or sampled) exceed the memory budget (checked
    /// before they are allocated).
    #[error(
        "population '{population}': {rows} rows × {dim} dims would need {} in memory, more than the memory budget of {budget}; {hint}",
        size_exact(*needed)
    )]
    RowsOverBudget {
        population: String,
        rows: usize,
        dim: usize,
        needed: u64,
        budget: MemoryBudget,
        /// Which flags take fewer rows or dims.
        hint: &'static str,
    },
    /// A codec's codes of a population exceed the memory budget (checked after fitting, before
    /// encoding).
    #[error(
        "codec '{codec}': the codes of {rows} rows at {code_bytes} bytes each would need {}, more than the memory budget of {budget}; choose a smaller setting (`codecbench list codecs`), fewer rows (--max-rows), or raise --memory-budget",
        size_exact(*needed)
    )]
    CodesOverBudget {
        codec: String,
        rows: usize,
        code_bytes: usize,
        needed: u64,
        budget: MemoryBudget,
    },
    /// A line of a peers results file (`peers/peers.py` output) is not a valid row.
    #[error("{path}: line {line}: {reason}")]
    BadPeersFile {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// At most this many suggestions in a "did you mean" hint.
const CLOSE_NAMES: usize = 5;

/// Names among `candidates` close to `query`, best first, at most 5: names containing the query
/// (case-insensitive) rank first, then names whose Jaro–Winkler similarity is at least 0.8
/// (`int9` → `int4`, `int8`; `glove-20` → `glove-20k`; `bit` → `bits`).
pub fn close_names<'a>(query: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let q = query.to_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let contains = !q.is_empty() && lower.contains(&q);
            let score = strsim::jaro_winkler(&q, &lower);
            (contains || score >= 0.8).then_some((score + if contains { 1.0 } else { 0.0 }, name))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(CLOSE_NAMES)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// ` (did you mean 'a', 'b' or 'c'?)` for the nearest names, or nothing when there are none.
fn did_you_mean(close: &[String]) -> String {
    let names: Vec<String> = close.iter().map(|n| format!("'{n}'")).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => format!(" (did you mean {last}?)"),
        Some((last, rest)) => format!(" (did you mean {} or {last}?)", rest.join(", ")),
    }
}

impl Error {
    /// A step refused by the memory budget: it stops the command wherever it happens (a probe
    /// or a codec inside a probe does not become a "not run" note), so whether a result exists
    /// never depends silently on the machine's memory.
    pub fn is_over_budget(&self) -> bool {
        matches!(
            self,
            Error::FitOverBudget { .. }
                | Error::RowsOverBudget { .. }
                | Error::CodesOverBudget { .. }
        )
    }

    /// Wrap an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
