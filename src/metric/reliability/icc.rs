//! Intraclass correlation: the six Shrout & Fleiss (1979) / McGraw & Wong (1996) forms with their
//! 95% confidence intervals from the F distribution.
//!
//! It exists because the origin's "ICC(3,1)" was ICC(1,1) (it never removed the rater effect;
//! `reference/origin.md` §4, §7.8). Here the two-way ANOVA is explicit, and the formulas — point
//! values and intervals — are those of R's `psych::ICC` and pingouin's `intraclass_corr`.
//!
//! With `n` subjects (targets), `k` raters (items) and the ANOVA mean squares
//! `MSR` (rows/subjects, df `n−1`), `MSC` (columns/raters, df `k−1`),
//! `MSE` (residual, df `(n−1)(k−1)`) and `MSW = (SSC + SSE) / (n(k−1))` (within subjects):
//!
//! | form  | model                                   | value |
//! |-------|-----------------------------------------|-------|
//! | ICC1  | one-way random, single rater            | `(MSR − MSW) / (MSR + (k−1) MSW)` |
//! | ICC2  | two-way random, absolute agreement      | `(MSR − MSE) / (MSR + (k−1) MSE + k (MSC − MSE)/n)` |
//! | ICC3  | two-way mixed, consistency              | `(MSR − MSE) / (MSR + (k−1) MSE)` |
//! | ICC1k | ICC1 for the mean of k raters           | `(MSR − MSW) / MSR` |
//! | ICC2k | ICC2 for the mean of k raters           | `(MSR − MSE) / (MSR + (MSC − MSE)/n)` |
//! | ICC3k | ICC3 for the mean of k raters           | `(MSR − MSE) / MSR` |

use super::f_quantile;
use super::table::{Moments, Table};

/// Confidence level of every interval here.
pub const CONFIDENCE: f64 = 0.95;

/// One of the six ICC forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IccForm {
    /// ICC(1,1): one-way random effects, single rater.
    Icc1,
    /// ICC(2,1) = ICC(A,1): two-way random effects, absolute agreement, single rater.
    Icc2,
    /// ICC(3,1) = ICC(C,1): two-way mixed effects, consistency, single rater.
    Icc3,
    /// ICC(1,k): one-way random, mean of the k raters.
    Icc1k,
    /// ICC(2,k) = ICC(A,k): absolute agreement, mean of the k raters.
    Icc2k,
    /// ICC(3,k) = ICC(C,k): consistency, mean of the k raters.
    Icc3k,
}

impl IccForm {
    /// All six, in the order of psych and pingouin.
    pub const ALL: [IccForm; 6] = [
        IccForm::Icc1,
        IccForm::Icc2,
        IccForm::Icc3,
        IccForm::Icc1k,
        IccForm::Icc2k,
        IccForm::Icc3k,
    ];

    /// psych's label: `ICC1`, `ICC2`, `ICC3`, `ICC1k`, `ICC2k`, `ICC3k`.
    pub fn label(self) -> &'static str {
        match self {
            IccForm::Icc1 => "ICC1",
            IccForm::Icc2 => "ICC2",
            IccForm::Icc3 => "ICC3",
            IccForm::Icc1k => "ICC1k",
            IccForm::Icc2k => "ICC2k",
            IccForm::Icc3k => "ICC3k",
        }
    }

    /// The model in words.
    pub fn description(self) -> &'static str {
        match self {
            IccForm::Icc1 => "one-way random, single rater",
            IccForm::Icc2 => "two-way random, absolute agreement, single rater",
            IccForm::Icc3 => "two-way mixed, consistency, single rater",
            IccForm::Icc1k => "one-way random, mean of k raters",
            IccForm::Icc2k => "two-way random, absolute agreement, mean of k raters",
            IccForm::Icc3k => "two-way mixed, consistency, mean of k raters",
        }
    }
}

/// The two-way ANOVA of an `n × k` table without replication.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSquares {
    /// Subjects (rows).
    pub n: usize,
    /// Raters (columns).
    pub k: usize,
    /// Between subjects, df `n − 1`.
    pub msr: f64,
    /// Between raters, df `k − 1`.
    pub msc: f64,
    /// Residual, df `(n − 1)(k − 1)`.
    pub mse: f64,
    /// Within subjects (raters + residual), df `n (k − 1)`.
    pub msw: f64,
}

impl MeanSquares {
    /// The ANOVA from moments: with `C` the centered cross-products and `x̄_j` the rater means,
    /// `SSR = 1ᵀC1 / k`, `SSC = n Σ_j (x̄_j − x̄)²`, `SSE = tr C − 1ᵀC1 / k` (clamped at 0
    /// against rounding). `None` unless `n ≥ 2` and `k ≥ 2`.
    pub fn from_moments(m: &Moments) -> Option<Self> {
        let (n, k) = (m.n(), m.k());
        if n < 2 || k < 2 {
            return None;
        }
        let (nf, kf) = (n as f64, k as f64);
        let grand = m.mean().iter().sum::<f64>() / kf;
        let ssc = nf * m.mean().iter().map(|x| (x - grand).powi(2)).sum::<f64>();
        let total = m.cross().sum();
        let ssr = total / kf;
        let sse = (m.cross().trace() - ssr).max(0.0);
        Some(Self {
            n,
            k,
            msr: ssr / (nf - 1.0),
            msc: ssc / (kf - 1.0),
            mse: sse / ((nf - 1.0) * (kf - 1.0)),
            msw: (ssc + sse) / (nf * (kf - 1.0)),
        })
    }

    /// The point value of one form (no interval; cheap enough for bootstrap loops). `None`
    /// where the denominator is zero (every value equal).
    pub fn icc(&self, form: IccForm) -> Option<f64> {
        let (n, k) = (self.n as f64, self.k as f64);
        let (msr, msc, mse, msw) = (self.msr, self.msc, self.mse, self.msw);
        let (num, den) = match form {
            IccForm::Icc1 => (msr - msw, msr + (k - 1.0) * msw),
            IccForm::Icc2 => (msr - mse, msr + (k - 1.0) * mse + k * (msc - mse) / n),
            IccForm::Icc3 => (msr - mse, msr + (k - 1.0) * mse),
            IccForm::Icc1k => (msr - msw, msr),
            IccForm::Icc2k => (msr - mse, msr + (msc - mse) / n),
            IccForm::Icc3k => (msr - mse, msr),
        };
        finite(num / den)
    }

    /// The 95% interval of one form, as in psych / pingouin:
    ///
    /// - ICC1, ICC1k: `F = MSR/MSW`, `F_L = F / F_{.975}(n−1, n(k−1))`,
    ///   `F_U = F · F_{.975}(n(k−1), n−1)`; bounds `(F_* − 1)/(F_* + k − 1)` (single) and
    ///   `1 − 1/F_*` (average).
    /// - ICC3, ICC3k: the same with `F = MSR/MSE` and df `(n−1)(k−1)`.
    /// - ICC2, ICC2k: Satterthwaite df
    ///   `v = (n−1)(k−1) (k ρ F_j + n(1 + (k−1)ρ) − kρ)² / ((n−1) k² ρ² F_j² + (n(1 + (k−1)ρ) − kρ)²)`
    ///   with `ρ = ICC2`, `F_j = MSC/MSE`; `F_U = F_{.975}(n−1, v)`, `F_L = F_{.975}(v, n−1)`;
    ///   `L = n (MSR − F_U MSE) / (F_U (k MSC + (kn − k − n) MSE) + n MSR)`,
    ///   `U = n (F_L MSR − MSE) / (k MSC + (kn − k − n) MSE + n F_L MSR)`; the average form
    ///   maps each bound `b` to `k b / (1 + (k−1) b)` (Spearman–Brown).
    ///
    /// `None` where a quantity is undefined (e.g. a zero residual makes the ICC2 df undefined).
    pub fn interval(&self, form: IccForm) -> Option<(f64, f64)> {
        let (n, k) = (self.n as f64, self.k as f64);
        let q = 1.0 - (1.0 - CONFIDENCE) / 2.0;
        let df1 = n - 1.0;
        // `(F − 1)/(F + k − 1)` written as `1 − k/(F + k − 1)` so that F = ∞ gives 1.
        let single = |f: f64| 1.0 - k / (f + k - 1.0);
        let average = |f: f64| 1.0 - 1.0 / f;
        let bounds = match form {
            IccForm::Icc1 | IccForm::Icc1k | IccForm::Icc3 | IccForm::Icc3k => {
                let (f, df2) = if matches!(form, IccForm::Icc1 | IccForm::Icc1k) {
                    (self.msr / self.msw, n * (k - 1.0))
                } else {
                    (self.msr / self.mse, (n - 1.0) * (k - 1.0))
                };
                let f_l = f / f_quantile(q, df1, df2)?;
                let f_u = f * f_quantile(q, df2, df1)?;
                if matches!(form, IccForm::Icc1 | IccForm::Icc3) {
                    (single(f_l), single(f_u))
                } else {
                    (average(f_l), average(f_u))
                }
            }
            IccForm::Icc2 | IccForm::Icc2k => {
                let (msr, msc, mse) = (self.msr, self.msc, self.mse);
                let rho = self.icc(IccForm::Icc2)?;
                let fj = msc / mse;
                let a = n * (1.0 + (k - 1.0) * rho) - k * rho;
                let vn = (n - 1.0) * (k - 1.0) * (k * rho * fj + a).powi(2);
                let vd = df1 * k * k * rho * rho * fj * fj + a * a;
                let v = vn / vd;
                let f_u = f_quantile(q, df1, v)?;
                let f_l = f_quantile(q, v, df1)?;
                let c = k * msc + (k * n - k - n) * mse;
                let lo = n * (msr - f_u * mse) / (f_u * c + n * msr);
                let hi = n * (f_l * msr - mse) / (c + n * f_l * msr);
                if form == IccForm::Icc2 {
                    (lo, hi)
                } else {
                    let sb = |b: f64| k * b / (1.0 + (k - 1.0) * b);
                    (sb(lo), sb(hi))
                }
            }
        };
        Some((finite(bounds.0)?, finite(bounds.1)?))
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// One form's value and 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IccValue {
    /// Which form.
    pub form: IccForm,
    /// Point value; `None` when undefined (every value in the table equal).
    pub value: Option<f64>,
    /// Lower 95% bound from the F distribution.
    pub ci_lo: Option<f64>,
    /// Upper 95% bound from the F distribution.
    pub ci_hi: Option<f64>,
}

/// All six forms of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct IccTable {
    /// The ANOVA behind them.
    pub anova: MeanSquares,
    /// In [`IccForm::ALL`] order.
    pub values: [IccValue; 6],
}

impl IccTable {
    /// The entry of `form`.
    pub fn get(&self, form: IccForm) -> &IccValue {
        let i = IccForm::ALL
            .iter()
            .position(|&f| f == form)
            .expect("every form is in ALL");
        &self.values[i]
    }
}

/// All six ICC forms with intervals, from moments. `None` unless there are at least 2 subjects
/// and 2 raters.
pub fn icc_from_moments(m: &Moments) -> Option<IccTable> {
    let anova = MeanSquares::from_moments(m)?;
    let values = IccForm::ALL.map(|form| {
        let (ci_lo, ci_hi) = anova.interval(form).unzip();
        IccValue {
            form,
            value: anova.icc(form),
            ci_lo,
            ci_hi,
        }
    });
    Some(IccTable { anova, values })
}

/// All six ICC forms with intervals of a subjects × raters table. `None` unless there are at
/// least 2 subjects and 2 raters.
pub fn icc(table: &Table) -> Option<IccTable> {
    icc_from_moments(&table.moments())
}
