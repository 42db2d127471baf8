//! `FETCHED.json`, the record a finished fetch leaves in its source directory: the packages,
//! the licence line, every kept and checked file with its size and sha256, when and how long.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::cache::FETCHED_FILE;
use crate::error::{Error, Result};

/// What `FETCHED.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRecord {
    /// The source's name.
    pub source: String,
    /// The packages, as `name==version (Registry)`.
    pub packages: Vec<String>,
    /// The source's licence line.
    pub licence: String,
    /// Kept files (path relative to the source directory) with size and sha256.
    pub files: BTreeMap<String, FileRecord>,
    /// Checked files that were not kept (e.g. a reassembled archive).
    pub intermediates: BTreeMap<String, FileRecord>,
    /// When the fetch finished (RFC 3339, UTC).
    pub fetched_at: String,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// The codecbench version that fetched it.
    pub codecbench_version: String,
}

/// Size and hash of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub bytes: u64,
    pub sha256: String,
    /// Whether the hash was checked against a value pinned in the source table.
    pub pinned: bool,
}

/// Read `FETCHED.json` of a source directory.
pub fn read_record(dir: &Path) -> Result<FetchRecord> {
    let path = dir.join(FETCHED_FILE);
    let text = crate::input::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| Error::BadHeader {
        path,
        format: "FETCHED.json",
        reason: e.to_string(),
    })
}
