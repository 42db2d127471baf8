//! Reliability statistics: codecs treated as items (raters) of a measurement instrument.
//!
//! The origin had the right idea and the wrong numbers (`reference/origin.md` §4, §7.8): its
//! "ICC(3,1)" was ICC(1,1), its kappa compared argmax row ids, its alpha mixed raw scales and
//! left the truth out. This module computes each statistic as the literature and the reference
//! libraries (R `psych`, pingouin, scikit-learn) define it, and the integration tests check them
//! against published and library values:
//!
//! - [`icc`]: the six Shrout–Fleiss / McGraw–Wong ICC forms with F-based 95% intervals;
//! - [`alpha`]: Cronbach's alpha (raw, standardized), Feldt interval, alpha-if-deleted,
//!   corrected item–total correlations;
//! - [`kappa`]: Cohen's kappa, nominal and weighted (linear, quadratic);
//! - [`factor`]: eigenvalues, first-factor loadings, parallel analysis;
//! - [`bench`](mod@bench): the same statistics over per-query score vectors with bootstrap over queries,
//!   as the runner uses them (validity ICC, top-k and decile kappa, the instrument section);
//! - [`table`]: the numeric table, moments and matrix types they share.
//!
//! Fisher-z pooling of correlations lives in `metric::correlation::fisher_z_mean`.

pub mod alpha;
pub mod bench;
pub mod factor;
pub mod icc;
pub mod kappa;
pub mod table;

pub use table::{Moments, SquareMatrix, Table};

use statrs::distribution::{ContinuousCDF, FisherSnedecor};

/// The `p` quantile of the F distribution with `(d1, d2)` degrees of freedom (statrs: AS 109
/// inverse incomplete beta). `None` unless both df are finite and positive and `0 < p < 1`.
pub(crate) fn f_quantile(p: f64, d1: f64, d2: f64) -> Option<f64> {
    if !(d1.is_finite() && d2.is_finite() && d1 > 0.0 && d2 > 0.0 && p > 0.0 && p < 1.0) {
        return None;
    }
    let q = FisherSnedecor::new(d1, d2).ok()?.inverse_cdf(p);
    q.is_finite().then_some(q)
}
