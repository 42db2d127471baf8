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
//! columns) are [`Error::BadHeader`] with a reason that names the row and column, which `main`
//! maps to exit code 2. Rows are counted from 1 after the header; the file line is given too.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::metric::correlation::{kendall_tau_b, pearson, spearman};
use crate::metric::reliability::alpha::{
    alpha_from_matrix, alpha_if_deleted, feldt_interval, item_total,
};
use crate::metric::reliability::factor::{FactorStructure, ParallelOptions, factor_structure};
use crate::metric::reliability::icc::{IccForm, IccTable, icc_from_moments};
use crate::metric::reliability::kappa::{Confusion, KappaWeights, LabelOrder, code_labels};
use crate::metric::reliability::table::Table;

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

/// Tables with at most this many cells (rows × columns) also get a parallel analysis in the
/// text output (200 simulated data sets of the same size; about a second at the limit).
const PARALLEL_MAX_CELLS: usize = 250_000;

/// Runs `codecbench stats` on `path` and returns what to print (no trailing newline): text, or
/// with `json` one JSON object as the issue specifies for the mode.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::BadHeader`] (format `csv`) for a bad table,
/// the reason naming the row and column.
pub fn stats_command(path: &Path, mode: StatsMode, json: bool) -> Result<String> {
    let csv = read_csv(path)?;
    match mode {
        StatsMode::Table => {
            let report = table_report(&numeric_table(&csv)?);
            Ok(if json {
                to_json(&report.json())
            } else {
                report.text(path)
            })
        }
        StatsMode::Agreement => {
            let report = agreement_report(&csv)?;
            Ok(if json {
                to_json(&report.json())
            } else {
                report.text(path)
            })
        }
        StatsMode::Correlation => {
            let report = correlation_report(&csv)?;
            Ok(if json {
                to_json(&report.json())
            } else {
                report.text(path)
            })
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("plain structs of numbers serialize")
}

// ------------------------------------------------------------------------------ reading

/// A CSV file as text cells: header names, data rows, and each row's line in the file.
struct RawCsv {
    path: PathBuf,
    names: Vec<String>,
    rows: Vec<Vec<String>>,
    lines: Vec<u64>,
}

impl RawCsv {
    fn bad(&self, reason: String) -> Error {
        bad(&self.path, reason)
    }

    /// `row 3 (line 4), column 2 'judge2'` for data row index `r` and column index `c`.
    fn at(&self, r: usize, c: usize) -> String {
        format!("row {} (line {}), {}", r + 1, self.lines[r], self.col(c))
    }

    fn col(&self, c: usize) -> String {
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

fn read_csv(path: &Path) -> Result<RawCsv> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
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

fn require_subjects(csv: &RawCsv) -> Result<()> {
    if csv.rows.len() < 2 {
        return Err(csv.bad(format!(
            "need at least 2 subjects (data rows after the header), found {}",
            csv.rows.len()
        )));
    }
    Ok(())
}

fn require_two_columns(csv: &RawCsv, what: &str) -> Result<()> {
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
fn numeric_columns(csv: &RawCsv) -> Result<Vec<Vec<f64>>> {
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
/// As [`stats_command`].
pub fn read_numeric_table(path: &Path) -> Result<Table> {
    numeric_table(&read_csv(path)?)
}

fn numeric_table(csv: &RawCsv) -> Result<Table> {
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

// ------------------------------------------------------------------------------ table mode

/// A value with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ValueCi {
    /// Point value (`null` when undefined).
    pub value: Option<f64>,
    /// Lower 95% bound.
    pub ci_lo: Option<f64>,
    /// Upper 95% bound.
    pub ci_hi: Option<f64>,
}

impl ValueCi {
    fn new(value: Option<f64>, ci: Option<(f64, f64)>) -> Self {
        let (ci_lo, ci_hi) = ci.unzip();
        Self {
            value,
            ci_lo,
            ci_hi,
        }
    }
}

/// Everything [`StatsMode::Table`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    /// Column names.
    pub names: Vec<String>,
    /// Subjects.
    pub n: usize,
    /// The six ICC forms.
    pub icc: IccTable,
    /// Raw alpha with the Feldt interval.
    pub alpha: ValueCi,
    /// Standardized alpha with the Feldt formula applied to it.
    pub alpha_std: ValueCi,
    /// Raw alpha without each column (`None` with 2 columns).
    pub alpha_if_deleted: Vec<Option<f64>>,
    /// Corrected item–total correlation of each column (with the raw sum of the others).
    pub item_total: Vec<Option<f64>>,
    /// Eigenvalues, loadings and (for small tables) parallel analysis of the correlations.
    pub factors: FactorStructure,
}

/// The statistics of [`StatsMode::Table`] for a table (at least 2 rows and 2 non-constant
/// columns, as [`read_numeric_table`] guarantees).
///
/// # Panics
/// If the table has fewer than 2 rows or columns or a constant column.
pub fn table_report(table: &Table) -> TableReport {
    let m = table.moments();
    let (n, k) = (m.n(), m.k());
    let icc = icc_from_moments(&m).expect("at least 2 rows and 2 columns");
    let cov = m.covariance().expect("at least 2 rows");
    let r = m.correlation().expect("no constant column");
    let raw = alpha_from_matrix(&cov);
    let std = alpha_from_matrix(&r);
    let pa_n = if n * k <= PARALLEL_MAX_CELLS { n } else { 0 };
    TableReport {
        names: table.names().to_vec(),
        n,
        icc,
        alpha: ValueCi::new(raw, raw.and_then(|a| feldt_interval(a, n, k))),
        alpha_std: ValueCi::new(std, std.and_then(|a| feldt_interval(a, n, k))),
        alpha_if_deleted: alpha_if_deleted(&cov),
        item_total: item_total(&cov),
        factors: factor_structure(&r, pa_n, ParallelOptions::default()),
    }
}

#[derive(Serialize)]
struct IccJson {
    #[serde(rename = "ICC1")]
    icc1: ValueCi,
    #[serde(rename = "ICC2")]
    icc2: ValueCi,
    #[serde(rename = "ICC3")]
    icc3: ValueCi,
    #[serde(rename = "ICC1k")]
    icc1k: ValueCi,
    #[serde(rename = "ICC2k")]
    icc2k: ValueCi,
    #[serde(rename = "ICC3k")]
    icc3k: ValueCi,
}

#[derive(Serialize)]
struct TableJson {
    icc: IccJson,
    alpha: ValueCi,
    alpha_std: ValueCi,
    alpha_if_deleted: Vec<Option<f64>>,
    item_total: Vec<Option<f64>>,
    eigenvalues: Vec<f64>,
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.4}"))
}

fn fmt_ci(lo: Option<f64>, hi: Option<f64>) -> String {
    match (lo, hi) {
        (Some(l), Some(h)) => format!("[{l:.4}, {h:.4}]"),
        _ => "n/a".to_owned(),
    }
}

impl TableReport {
    fn json(&self) -> TableJson {
        let f = |form| {
            let v = self.icc.get(form);
            ValueCi {
                value: v.value,
                ci_lo: v.ci_lo,
                ci_hi: v.ci_hi,
            }
        };
        TableJson {
            icc: IccJson {
                icc1: f(IccForm::Icc1),
                icc2: f(IccForm::Icc2),
                icc3: f(IccForm::Icc3),
                icc1k: f(IccForm::Icc1k),
                icc2k: f(IccForm::Icc2k),
                icc3k: f(IccForm::Icc3k),
            },
            alpha: self.alpha,
            alpha_std: self.alpha_std,
            alpha_if_deleted: self.alpha_if_deleted.clone(),
            item_total: self.item_total.clone(),
            eigenvalues: self.factors.eigenvalues.clone(),
        }
    }

    fn text(&self, path: &Path) -> String {
        let k = self.names.len();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: {} subjects × {k} items ({})",
            path.display(),
            self.n,
            self.names.join(", ")
        );
        let _ = writeln!(
            s,
            "\nIntraclass correlation (Shrout & Fleiss 1979; 95% CI from the F distribution)"
        );
        let _ = writeln!(s, "  {:<7}{:>8}  {:<18}  model", "form", "value", "95% CI");
        for v in &self.icc.values {
            let _ = writeln!(
                s,
                "  {:<7}{:>8}  {:<18}  {}",
                v.form.label(),
                fmt(v.value),
                fmt_ci(v.ci_lo, v.ci_hi),
                v.form.description().replace(" k ", &format!(" {k} "))
            );
        }
        let _ = writeln!(s, "\nCronbach's alpha (95% CI: Feldt)");
        for (label, a) in [("raw", self.alpha), ("standardized", self.alpha_std)] {
            let _ = writeln!(
                s,
                "  {label:<14}{:>8}  {}",
                fmt(a.value),
                fmt_ci(a.ci_lo, a.ci_hi)
            );
        }
        let width = self
            .names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        let _ = writeln!(
            s,
            "\nItems (raw scale)\n  {:<width$}  {:>16}  {:>18}  {:>15}",
            "item", "alpha if deleted", "item-total r (cor)", "factor-1 loading"
        );
        for (j, name) in self.names.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {name:<width$}  {:>16}  {:>18}  {:>15}",
                fmt(self.alpha_if_deleted[j]),
                fmt(self.item_total[j]),
                fmt(self.factors.loadings.get(j).copied())
            );
        }
        let eig: Vec<String> = self
            .factors
            .eigenvalues
            .iter()
            .map(|v| format!("{v:.4}"))
            .collect();
        let _ = write!(
            s,
            "\nEigenvalues of the item correlation matrix: {}",
            eig.join("  ")
        );
        match &self.factors.parallel {
            Some(pa) => {
                let th: Vec<String> = pa.thresholds.iter().map(|v| format!("{v:.4}")).collect();
                let _ = write!(
                    s,
                    "\nParallel analysis ({} random normal data sets of the same size, {}th percentile, seed {}): {} factor{} (thresholds: {})",
                    pa.options.matrices,
                    (pa.options.quantile * 100.0).round(),
                    pa.options.seed,
                    pa.factors,
                    if pa.factors == 1 { "" } else { "s" },
                    th.join("  ")
                );
            }
            None if self.n * k > PARALLEL_MAX_CELLS => {
                let _ = write!(
                    s,
                    "\nParallel analysis: skipped (more than {PARALLEL_MAX_CELLS} cells)"
                );
            }
            None => {
                let _ = write!(s, "\nParallel analysis: needs at least 3 subjects");
            }
        }
        s
    }
}

// ------------------------------------------------------------------------------ agreement

/// What [`StatsMode::Agreement`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementReport {
    /// The two column names.
    pub names: Vec<String>,
    /// Subjects.
    pub n: usize,
    /// Categories in order (the union of both columns' labels).
    pub categories: Vec<String>,
    /// How they were ordered (weighted kappa depends on it).
    pub order: LabelOrder,
    /// Proportion of rows where the two labels agree.
    pub observed: f64,
    /// Cohen's kappa.
    pub kappa: f64,
    /// Linearly weighted kappa.
    pub kappa_linear: f64,
    /// Quadratically weighted kappa.
    pub kappa_quadratic: f64,
}

#[derive(Serialize)]
struct AgreementJson {
    kappa: f64,
    kappa_linear: f64,
    kappa_quadratic: f64,
    n: usize,
}

fn agreement_report(csv: &RawCsv) -> Result<AgreementReport> {
    require_two_columns(csv, "--agreement")?;
    require_subjects(csv)?;
    for (r, row) in csv.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if cell.is_empty() {
                return Err(csv.bad(format!("{}: empty label", csv.at(r, c))));
            }
        }
    }
    let a: Vec<&str> = csv.rows.iter().map(|r| r[0].as_str()).collect();
    let b: Vec<&str> = csv.rows.iter().map(|r| r[1].as_str()).collect();
    let coding = code_labels(&a, &b);
    let conf = Confusion::from_labels(&coding.a, &coding.b, coding.categories.len());
    let undefined = || {
        csv.bad(format!(
            "kappa is undefined: {} and {} hold the same single label '{}' in every row",
            csv.col(0),
            csv.col(1),
            coding.categories[0]
        ))
    };
    let kappa = conf.kappa(KappaWeights::Nominal).ok_or_else(undefined)?;
    let kappa_linear = conf.kappa(KappaWeights::Linear).ok_or_else(undefined)?;
    let kappa_quadratic = conf.kappa(KappaWeights::Quadratic).ok_or_else(undefined)?;
    let agree = (0..conf.categories())
        .map(|i| conf.count(i, i))
        .sum::<f64>();
    Ok(AgreementReport {
        names: csv.names.clone(),
        n: csv.rows.len(),
        observed: agree / csv.rows.len() as f64,
        categories: coding.categories,
        order: coding.order,
        kappa,
        kappa_linear,
        kappa_quadratic,
    })
}

impl AgreementReport {
    fn json(&self) -> AgreementJson {
        AgreementJson {
            kappa: self.kappa,
            kappa_linear: self.kappa_linear,
            kappa_quadratic: self.kappa_quadratic,
            n: self.n,
        }
    }

    fn text(&self, path: &Path) -> String {
        let order = match self.order {
            LabelOrder::Numeric => "numeric order",
            LabelOrder::Text => "text order; weighted kappa assumes it is meaningful",
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: agreement of {} and {}, {} subjects, {} categories: {} ({order})",
            path.display(),
            self.names[0],
            self.names[1],
            self.n,
            self.categories.len(),
            self.categories.join(" < ")
        );
        let _ = writeln!(s, "  observed agreement          {:.4}", self.observed);
        let _ = writeln!(s, "  Cohen's kappa (nominal)     {:.4}", self.kappa);
        let _ = writeln!(s, "  weighted kappa, linear      {:.4}", self.kappa_linear);
        let _ = write!(
            s,
            "  weighted kappa, quadratic   {:.4}",
            self.kappa_quadratic
        );
        s
    }
}

// ------------------------------------------------------------------------------ correlation

/// What [`StatsMode::Correlation`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationReport {
    /// The two column names.
    pub names: Vec<String>,
    /// Pairs.
    pub n: usize,
    /// Pearson's r.
    pub pearson: f64,
    /// Spearman's rho (average ranks for ties).
    pub spearman: f64,
    /// Kendall's tau-b (tie-corrected).
    pub kendall: f64,
}

#[derive(Serialize)]
struct CorrelationJson {
    pearson: f64,
    spearman: f64,
    kendall: f64,
    n: usize,
}

fn correlation_report(csv: &RawCsv) -> Result<CorrelationReport> {
    require_two_columns(csv, "--correlation")?;
    require_subjects(csv)?;
    let cols = numeric_columns(csv)?;
    let (x, y) = (&cols[0], &cols[1]);
    // Defined: at least 2 finite rows, neither column constant (checked above).
    let defined = |v: Option<f64>| v.ok_or_else(|| csv.bad("a correlation is undefined".into()));
    Ok(CorrelationReport {
        names: csv.names.clone(),
        n: x.len(),
        pearson: defined(pearson(x, y))?,
        spearman: defined(spearman(x, y))?,
        kendall: defined(kendall_tau_b(x, y))?,
    })
}

impl CorrelationReport {
    fn json(&self) -> CorrelationJson {
        CorrelationJson {
            pearson: self.pearson,
            spearman: self.spearman,
            kendall: self.kendall,
            n: self.n,
        }
    }

    fn text(&self, path: &Path) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: {} vs {}, n = {}",
            path.display(),
            self.names[0],
            self.names[1],
            self.n
        );
        let _ = writeln!(s, "  Pearson r                {:.4}", self.pearson);
        let _ = writeln!(s, "  Spearman rho             {:.4}", self.spearman);
        let _ = write!(s, "  Kendall tau-b (ties)     {:.4}", self.kendall);
        s
    }
}
