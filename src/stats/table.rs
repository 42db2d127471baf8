//! `codecbench stats` on a subjects × items table ([`super::StatsMode::Table`]): the six ICC
//! forms with F intervals, Cronbach's alpha (raw with Feldt interval, standardized),
//! alpha-if-deleted and corrected item–total correlations, the eigenvalues of the item
//! correlations and, for small tables, a parallel analysis.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::render::Report;
use crate::metric::reliability::alpha::{
    alpha_from_matrix, alpha_if_deleted, feldt_interval, item_total,
};
use crate::metric::reliability::factor::{FactorStructure, ParallelOptions, factor_structure};
use crate::metric::reliability::icc::{IccForm, IccTable, icc_from_moments};
use crate::metric::reliability::table::Table;

/// Tables with at most this many cells (rows × columns) also get a parallel analysis in the
/// text output (200 simulated data sets of the same size; about a second at the limit).
const PARALLEL_MAX_CELLS: usize = 250_000;

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
/// columns, as [`super::read_numeric_table`] guarantees).
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
pub(super) struct IccJson {
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
pub(super) struct TableJson {
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

impl Report for TableReport {
    type Json = TableJson;

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
