//! The library side of `codecbench stats`: the reliability statistics on any CSV table, for users
//! who have their own ratings and for checking this crate against other tools.
//!
//! Three modes over a CSV file with a header row of names and one subject per row:
//! - [`StatsMode::Table`]: columns are items/raters → the six ICC forms with 95% F intervals,
//!   Cronbach's alpha (raw with Feldt interval, standardized), alpha-if-deleted and corrected
//!   item–total correlation per column (raw scale), eigenvalues of the item correlations;
//! - [`StatsMode::Agreement`]: two label columns → Cohen's kappa, nominal, linear and quadratic;
//! - [`StatsMode::Correlation`]: two numeric columns → Pearson, Spearman, Kendall tau-b.
//!
//! Bad tables (ragged rows, non-numeric or empty cells, fewer than 2 subjects or items, constant
//! columns) are [`crate::Error::BadHeader`] with a reason that names the row and column, which
//! `main` maps to exit code 2. Rows are counted from 1 after the header; the file line is given
//! too.
//!
//! The parts: `input` (reading and checking the CSV table), `table` (the items mode), `pairs`
//! (the two-column modes), `render` (text or JSON); this file dispatches.

mod input;
mod pairs;
mod render;
mod table;

use std::path::Path;

use crate::error::Result;
pub use input::read_numeric_table;
use input::{numeric_table, read_csv};
pub use pairs::{AgreementReport, CorrelationReport};
use pairs::{agreement_report, correlation_report};
use render::render;
pub use table::{TableReport, ValueCi, table_report};

/// What `codecbench stats` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsMode {
    /// Rows = subjects, columns = items/raters: ICC, alpha, item statistics, eigenvalues.
    Table,
    /// Two label columns: Cohen's kappa (nominal, linear, quadratic).
    Agreement,
    /// Two numeric columns: Pearson, Spearman, Kendall tau-b.
    Correlation,
}

/// Runs `codecbench stats` on `path` and returns what to print (no trailing newline): text, or
/// with `json` one JSON object as the issue specifies for the mode.
///
/// # Errors
/// [`crate::Error::Io`] if the file cannot be read; [`crate::Error::BadHeader`] (format `csv`)
/// for a bad table, the reason naming the row and column.
pub fn stats_command(path: &Path, mode: StatsMode, json: bool) -> Result<String> {
    let csv = read_csv(path)?;
    Ok(match mode {
        StatsMode::Table => render(&table_report(&numeric_table(&csv)?), path, json),
        StatsMode::Agreement => render(&agreement_report(&csv)?, path, json),
        StatsMode::Correlation => render(&correlation_report(&csv)?, path, json),
    })
}
