//! `results.csv`: the result rows as a table with a header line, for spreadsheets and pandas.
//! Undefined values are empty cells.

use crate::results::ResultRow;

/// Render rows as CSV with a header.
pub fn render(rows: &[ResultRow]) -> Result<String, csv::Error> {
    render_with(rows, true)
}

/// Render rows as CSV lines without the header (to append to a file that has one).
pub fn render_rows(rows: &[ResultRow]) -> Result<String, csv::Error> {
    render_with(rows, false)
}

fn render_with(rows: &[ResultRow], header: bool) -> Result<String, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(header)
        .from_writer(Vec::new());
    if header && rows.is_empty() {
        w.write_record(HEADER)?;
    }
    for r in rows {
        w.serialize(r)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Column names, in order (the field order of [`ResultRow`]).
pub const HEADER: &[&str] = &[
    "population",
    "codec",
    "metric",
    "value",
    "ci_lo",
    "ci_hi",
    "n",
    "draws",
    "chance",
    "bytes_per_row",
    "model_bytes",
    "bits_per_dim",
    "grade",
    "family",
    "dim",
    "base_rows",
    "queries",
    "split",
    "seed",
    "codecbench_version",
    "note",
];
