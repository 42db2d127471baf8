//! `codecbench stats` on two columns: agreement of two label columns (Cohen's kappa, nominal,
//! linear and quadratic; [`super::StatsMode::Agreement`]) and correlation of two numeric columns
//! (Pearson, Spearman, Kendall tau-b; [`super::StatsMode::Correlation`]).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::input::{RawCsv, numeric_columns, require_subjects, require_two_columns};
use super::render::Report;
use crate::error::Result;
use crate::metric::correlation::{kendall_tau_b, pearson, spearman};
use crate::metric::reliability::kappa::{Confusion, KappaWeights, LabelOrder, code_labels};

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
pub(super) struct AgreementJson {
    kappa: f64,
    kappa_linear: f64,
    kappa_quadratic: f64,
    n: usize,
}

pub(super) fn agreement_report(csv: &RawCsv) -> Result<AgreementReport> {
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

impl Report for AgreementReport {
    type Json = AgreementJson;

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
pub(super) struct CorrelationJson {
    pearson: f64,
    spearman: f64,
    kendall: f64,
    n: usize,
}

pub(super) fn correlation_report(csv: &RawCsv) -> Result<CorrelationReport> {
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

impl Report for CorrelationReport {
    type Json = CorrelationJson;

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
