//! Reading a `codecbench stats` table: a CSV file with a header row of names and one subject
//! per row, every problem (ragged rows, empty or non-numeric cells, too few subjects or items,
//! constant columns) an [`Error::BadHeader`] naming the row (from 1 after the header, with its
//! file line) and the column.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::metric::reliability::table::Table;

/// A CSV file as text cells: header names, data rows, and each row's line in the file.
pub(super) struct RawCsv {
    path: PathBuf,
    pub(super) names: Vec<String>,
    pub(super) rows: Vec<Vec<String>>,
    lines: Vec<u64>,
}

impl RawCsv {
    pub(super) fn bad(&self, reason: String) -> Error {
        bad(&self.path, reason)
    }

    /// `row 3 (line 4), column 2 'judge2'` for data row index `r` and column index `c`.
    pub(super) fn at(&self, r: usize, c: usize) -> String {
        format!("row {} (line {}), {}", r + 1, self.lines[r], self.col(c))
    }

    pub(super) fn col(&self, c: usize) -> String {
        format!("column {} '{}'", c + 1, self.names[c])
    }
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadHeader {
        path: path.to_path_buf(),
        format: "csv",
        reason,
    }
}

pub(super) fn read_csv(path: &Path) -> Result<RawCsv> {
    let bytes = crate::input::read(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| bad(path, format!("cannot read the header row: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    if names.is_empty() || names.iter().all(String::is_empty) {
        return Err(bad(
            path,
            "no header row: the first line must name the columns".into(),
        ));
    }
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(path, format!("row {}: {e}", i + 1)))?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != names.len() {
            let detail = if record.len() < names.len() {
                format!(
                    "missing column {} '{}'",
                    record.len() + 1,
                    names[record.len()]
                )
            } else {
                format!("column {} has no header", names.len() + 1)
            };
            return Err(bad(
                path,
                format!(
                    "row {} (line {line}) has {} cells but the header has {} columns ({detail}); rows must not be ragged",
                    i + 1,
                    record.len(),
                    names.len()
                ),
            ));
        }
        rows.push(record.iter().map(str::to_owned).collect());
        lines.push(line);
    }
    Ok(RawCsv {
        path: path.to_path_buf(),
        names,
        rows,
        lines,
    })
}

pub(super) fn require_subjects(csv: &RawCsv) -> Result<()> {
    if csv.rows.len() < 2 {
        return Err(csv.bad(format!(
            "need at least 2 subjects (data rows after the header), found {}",
            csv.rows.len()
        )));
    }
    Ok(())
}

pub(super) fn require_two_columns(csv: &RawCsv, what: &str) -> Result<()> {
    if csv.names.len() != 2 {
        return Err(csv.bad(format!(
            "{what} needs exactly 2 columns; the header has {} ({})",
            csv.names.len(),
            csv.names.join(", ")
        )));
    }
    Ok(())
}

/// Parses every cell as a finite number and checks that each column varies.
pub(super) fn numeric_columns(csv: &RawCsv) -> Result<Vec<Vec<f64>>> {
    let k = csv.names.len();
    let mut cols = vec![Vec::with_capacity(csv.rows.len()); k];
    for (r, row) in csv.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if cell.is_empty() {
                return Err(csv.bad(format!(
                    "{}: empty cell; every cell needs a number",
                    csv.at(r, c)
                )));
            }
            let v: f64 = cell
                .parse()
                .map_err(|_| csv.bad(format!("{}: '{cell}' is not a number", csv.at(r, c))))?;
            if !v.is_finite() {
                return Err(csv.bad(format!("{}: '{cell}' is not a finite number", csv.at(r, c))));
            }
            cols[c].push(v);
        }
    }
    // Sums of squared deviations must stay finite: a deviation is at most 2·max|x|, and n of
    // them squared must stay below f64::MAX. Beyond that every statistic overflows (a column
    // of ±1e308 once read as "constant").
    let limit = (f64::MAX / (4.0 * csv.rows.len().max(1) as f64)).sqrt();
    for (c, col) in cols.iter().enumerate() {
        let big = col.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if big > limit {
            return Err(csv.bad(format!(
                "{} has values up to {big:e} in magnitude: their squares overflow f64 over \
                 {} rows (keep |values| below {limit:.1e}); rescale the column",
                csv.col(c),
                csv.rows.len()
            )));
        }
    }
    let cols_ref: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let m = crate::metric::reliability::Moments::from_columns(&cols_ref);
    if let Some(&c) = m.constant_items().first() {
        let first = cols[c][0];
        let how = if cols[c].iter().all(|&v| v == first) {
            format!("every row is {first}")
        } else {
            "its values differ only by rounding noise".to_owned()
        };
        return Err(csv.bad(format!(
            "{} is constant ({how}); every column must vary",
            csv.col(c)
        )));
    }
    Ok(cols)
}

/// Reads a subjects × items table for [`StatsMode::Table`]: a header of names, at least 2 rows
/// and 2 columns, every cell a finite number, no constant column.
///
/// # Errors
/// As [`super::stats_command`].
pub fn read_numeric_table(path: &Path) -> Result<Table> {
    numeric_table(&read_csv(path)?)
}

pub(super) fn numeric_table(csv: &RawCsv) -> Result<Table> {
    if csv.names.len() < 2 {
        return Err(csv.bad(format!(
            "need at least 2 items (columns), the header has {} ({})",
            csv.names.len(),
            csv.names.join(", ")
        )));
    }
    require_subjects(csv)?;
    let cols = numeric_columns(csv)?;
    Ok(Table::from_columns(csv.names.clone(), cols))
}
