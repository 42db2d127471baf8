//! Tables of `'static` rows kept in data files compiled into the binary (the real populations,
//! `real.toml`; the fetch sources, `fetch/sources.toml`) instead of pages of Rust literals. A
//! table is parsed once, on first use, and then reads like the `&'static [T]` it replaces:
//! indexing, `.iter()`, `for row in TABLE`. Rows keep their `&'static str` fields, so the parsed
//! strings are leaked, once per process (a few kilobytes).

use std::ops::Deref;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A `static` table of rows, parsed on first use by its function.
pub struct StaticTable<T: 'static> {
    rows: fn() -> &'static [T],
}

impl<T> StaticTable<T> {
    /// A table whose rows `rows` returns (parsing them once, e.g. with [`parse_once`]).
    pub const fn new(rows: fn() -> &'static [T]) -> Self {
        StaticTable { rows }
    }
}

// Manual impls: the table is a function pointer, copyable whatever `T` is.
impl<T> Clone for StaticTable<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for StaticTable<T> {}

impl<T> Deref for StaticTable<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        (self.rows)()
    }
}

impl<T> IntoIterator for StaticTable<T> {
    type Item = &'static T;
    type IntoIter = std::slice::Iter<'static, T>;

    fn into_iter(self) -> Self::IntoIter {
        (self.rows)().iter()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for StaticTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The rows in `cell`, parsed by `parse` on the first call; every later call returns the same
/// slice.
pub fn parse_once<T>(
    cell: &'static OnceLock<&'static [T]>,
    parse: impl FnOnce() -> Vec<T>,
) -> &'static [T] {
    cell.get_or_init(|| parse().leak())
}

/// `s` as a `&'static str` (leaked: for rows parsed once per process).
pub fn leak(s: String) -> &'static str {
    s.leak()
}

/// Parse a table file's `text`; a syntax error is an [`Error::BadHeader`] naming `file` (its
/// path in the repository) and `format`.
pub fn parse_toml<T: DeserializeOwned>(text: &str, file: &str, format: &'static str) -> Result<T> {
    toml::from_str(text).map_err(|e| Error::BadHeader {
        path: file.into(),
        format,
        reason: e.to_string(),
    })
}
