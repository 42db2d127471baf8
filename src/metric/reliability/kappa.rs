//! Cohen's kappa, nominal and weighted (linear, quadratic), over a confusion matrix of two
//! raters' category labels, whole counts or expected (fractional) counts.
//!
//! It exists because the origin's kappa compared argmax *row ids* (up to n categories, so
//! `p_e ≈ 1/n` and kappa ≈ top-1 accuracy; `reference/origin.md` §7.8). Here the categories are
//! few and meaningful (in/out of the top-k, score deciles), and ordinal categories get weights.
//!
//! With observed proportions `O`, expected `E_ij = row_i · col_j / N` from the two raters'
//! marginals, and disagreement weights `w_ij` (nominal: `[i ≠ j]`; linear: `|i − j|`; quadratic:
//! `(i − j)²`), `κ = 1 − Σ w O / Σ w E` — scikit-learn's `cohen_kappa_score` definition. For the
//! nominal weights this is `(p_o − p_e) / (1 − p_e)`. Categories are the positions `0..c` of an
//! ordered category list; the weights use positions, not the labels' values.

/// Disagreement weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KappaWeights {
    /// Every disagreement counts the same (Cohen 1960).
    Nominal,
    /// Weight `|i − j|` (ordinal categories, linear).
    Linear,
    /// Weight `(i − j)²` (ordinal categories; Cohen 1968, Fleiss & Cohen 1973).
    Quadratic,
}

impl KappaWeights {
    fn weight(self, i: usize, j: usize) -> f64 {
        let d = i.abs_diff(j) as f64;
        match self {
            KappaWeights::Nominal => f64::from(u8::from(i != j)),
            KappaWeights::Linear => d,
            KappaWeights::Quadratic => d * d,
        }
    }
}

/// Counts of (rater A category, rater B category) over `c` categories.
///
/// Counts are `f64` so that a table can hold expected counts (fractional subjects), e.g. the
/// top-k membership table under random tie-breaking (`bench::topk_confusion`). Tables built
/// from labels hold whole numbers, exact in `f64` up to 2^53 subjects.
#[derive(Debug, Clone, PartialEq)]
pub struct Confusion {
    c: usize,
    counts: Vec<f64>,
}

impl Confusion {
    /// An empty `c × c` matrix.
    pub fn new(c: usize) -> Self {
        Self {
            c,
            counts: vec![0.0; c * c],
        }
    }

    /// The confusion matrix of two label sequences with categories `0..c`.
    ///
    /// # Panics
    /// If the sequences differ in length or a label is `>= c`.
    pub fn from_labels(a: &[usize], b: &[usize], c: usize) -> Self {
        assert_eq!(
            a.len(),
            b.len(),
            "Confusion: label sequences differ in length"
        );
        let mut m = Self::new(c);
        for (&x, &y) in a.iter().zip(b) {
            m.add(x, y);
        }
        m
    }

    /// A matrix of expected (possibly fractional) counts, row-major: `cells[a * c + b]` is the
    /// count of (A = `a`, B = `b`).
    ///
    /// # Panics
    /// If `cells.len() != c * c` or a cell is negative or not finite.
    pub fn from_expected(c: usize, cells: &[f64]) -> Self {
        assert_eq!(cells.len(), c * c, "Confusion: need c × c cells");
        assert!(
            cells.iter().all(|v| v.is_finite() && *v >= 0.0),
            "Confusion: cells must be finite and non-negative"
        );
        Self {
            c,
            counts: cells.to_vec(),
        }
    }

    /// Counts one subject rated `a` by rater A and `b` by rater B.
    ///
    /// # Panics
    /// If a category is `>= c`.
    pub fn add(&mut self, a: usize, b: usize) {
        self.add_weighted(a, b, 1.0);
    }

    /// Adds `w` (an expected, possibly fractional number of subjects) to (A = `a`, B = `b`).
    ///
    /// # Panics
    /// If a category is `>= c`, or `w` is negative or not finite.
    pub fn add_weighted(&mut self, a: usize, b: usize, w: f64) {
        assert!(a < self.c && b < self.c, "Confusion: category out of range");
        assert!(
            w.is_finite() && w >= 0.0,
            "Confusion: weight must be finite and non-negative"
        );
        self.counts[a * self.c + b] += w;
    }

    /// Adds another matrix of the same size (pooling subjects).
    ///
    /// # Panics
    /// If the sizes differ.
    pub fn merge(&mut self, other: &Confusion) {
        assert_eq!(self.c, other.c, "Confusion::merge: different sizes");
        for (s, o) in self.counts.iter_mut().zip(&other.counts) {
            *s += o;
        }
    }

    /// Number of categories.
    pub fn categories(&self) -> usize {
        self.c
    }

    /// Count of (A = `a`, B = `b`).
    pub fn count(&self, a: usize, b: usize) -> f64 {
        self.counts[a * self.c + b]
    }

    /// Number of subjects (the sum of the counts).
    pub fn n(&self) -> f64 {
        self.counts.iter().sum()
    }

    /// Kappa with the given weights: `1 − Σ w O / Σ w E`, the same formula for whole and
    /// expected (fractional) counts. `None` when there are no subjects or the expected
    /// disagreement is zero (both raters used one and the same category).
    pub fn kappa(&self, weights: KappaWeights) -> Option<f64> {
        let nf = self.n();
        if nf <= 0.0 {
            return None;
        }
        let c = self.c;
        let rows: Vec<f64> = (0..c)
            .map(|i| (0..c).map(|j| self.count(i, j)).sum::<f64>())
            .collect();
        let cols: Vec<f64> = (0..c)
            .map(|j| (0..c).map(|i| self.count(i, j)).sum::<f64>())
            .collect();
        let (mut observed, mut expected) = (0.0, 0.0);
        for (i, &row) in rows.iter().enumerate() {
            for (j, &col) in cols.iter().enumerate() {
                let w = weights.weight(i, j);
                observed += w * self.count(i, j) / nf;
                expected += w * row * col / (nf * nf);
            }
        }
        if expected <= 0.0 {
            return None;
        }
        let k = 1.0 - observed / expected;
        k.is_finite().then_some(k)
    }
}

/// Kappa of two label sequences with categories `0..c`. `None` as for [`Confusion::kappa`].
///
/// # Panics
/// If the sequences differ in length or a label is `>= c`.
pub fn cohen_kappa(a: &[usize], b: &[usize], c: usize, weights: KappaWeights) -> Option<f64> {
    Confusion::from_labels(a, b, c).kappa(weights)
}

/// How the text labels were put in order (which matters for weighted kappa).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelOrder {
    /// Every label parsed as a number; ordered by value (`"2"` before `"10"`, `"1"` = `"1.0"`).
    Numeric,
    /// Some label is not a number; ordered as text (byte order), as scikit-learn sorts strings.
    Text,
}

/// Two raters' text labels coded as category positions `0..categories.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelCoding {
    /// The categories in order (as first spelled in the data).
    pub categories: Vec<String>,
    /// How they were ordered.
    pub order: LabelOrder,
    /// Rater A's categories.
    pub a: Vec<usize>,
    /// Rater B's categories.
    pub b: Vec<usize>,
}

/// Codes two label sequences on their joint set of categories (the union of both raters'
/// labels, as scikit-learn does), ordered numerically when every label is a finite number and
/// as text otherwise.
///
/// # Panics
/// If the sequences differ in length.
pub fn code_labels(a: &[&str], b: &[&str]) -> LabelCoding {
    assert_eq!(
        a.len(),
        b.len(),
        "code_labels: label sequences differ in length"
    );
    let all: Vec<&str> = a.iter().chain(b).copied().collect();
    // `+ 0.0` makes "-0" and "0" one category.
    let numeric: Option<Vec<f64>> = all
        .iter()
        .map(|s| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(|v| v + 0.0)
        })
        .collect();
    let (order, codes, categories) = match numeric {
        Some(values) => {
            let mut cats: Vec<(f64, &str)> =
                values.iter().copied().zip(all.iter().copied()).collect();
            // Stable sort keeps the first spelling of each value first.
            cats.sort_by(|x, y| x.0.total_cmp(&y.0));
            cats.dedup_by(|later, first| later.0 == first.0);
            let codes = values
                .iter()
                .map(|v| cats.partition_point(|c| c.0 < *v))
                .collect::<Vec<_>>();
            (
                LabelOrder::Numeric,
                codes,
                cats.into_iter().map(|c| c.1.to_owned()).collect(),
            )
        }
        None => {
            let mut cats: Vec<&str> = all.clone();
            cats.sort_unstable();
            cats.dedup();
            let codes = all
                .iter()
                .map(|s| cats.partition_point(|c| c < s))
                .collect::<Vec<_>>();
            (
                LabelOrder::Text,
                codes,
                cats.into_iter().map(str::to_owned).collect(),
            )
        }
    };
    let (ca, cb) = codes.split_at(a.len());
    LabelCoding {
        categories,
        order,
        a: ca.to_vec(),
        b: cb.to_vec(),
    }
}
