//! The numeric containers the reliability statistics share: a subjects × items [`Table`], a
//! small dense [`SquareMatrix`] (covariances, correlations), and [`Moments`] — the count, column
//! means and centered cross-products of a table.
//!
//! Every statistic in this module (ICC, alpha, item–total, eigenvalues) is a function of the
//! moments alone, and moments of disjoint blocks merge exactly (Chan, Golub & LeVeque 1979).
//! That is what makes the bench's bootstrap over queries cheap: moments are computed once per
//! query, and a resample only merges them (no pass over the pairs).

use crate::metric::correlation::is_negligible_ss;

/// A dense `k × k` matrix, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct SquareMatrix {
    k: usize,
    data: Vec<f64>,
}

impl SquareMatrix {
    /// The `k × k` zero matrix.
    pub fn zeros(k: usize) -> Self {
        Self {
            k,
            data: vec![0.0; k * k],
        }
    }

    /// A matrix from `k * k` row-major values.
    ///
    /// # Panics
    /// If `data.len() != k * k`.
    pub fn from_row_major(k: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), k * k, "SquareMatrix: need k*k values");
        Self { k, data }
    }

    /// Order of the matrix.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Entry `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.k + j]
    }

    /// Sets entry `(i, j)`.
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.k + j] = v;
    }

    /// Row-major values.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Sum of the diagonal.
    pub fn trace(&self) -> f64 {
        (0..self.k).map(|i| self.get(i, i)).sum()
    }

    /// Sum of all entries.
    pub fn sum(&self) -> f64 {
        self.data.iter().sum()
    }

    /// Sum of all entries outside row and column `skip`: the same additions in the same order
    /// as `submatrix(all but skip).sum()`, so bit-identical, without building the submatrix
    /// (alpha-if-deleted and item–total call it once per item: O(k²) each, no allocation).
    pub fn sum_without(&self, skip: usize) -> f64 {
        let k = self.k;
        (0..k)
            .filter(|&i| i != skip)
            .flat_map(|i| {
                (0..k)
                    .filter(move |&j| j != skip)
                    .map(move |j| self.data[i * k + j])
            })
            .sum()
    }

    /// Sum of the diagonal without entry `skip` (as `submatrix(all but skip).trace()`).
    pub fn trace_without(&self, skip: usize) -> f64 {
        (0..self.k)
            .filter(|&i| i != skip)
            .map(|i| self.get(i, i))
            .sum()
    }

    /// The principal submatrix on the indices `keep` (in that order).
    pub fn submatrix(&self, keep: &[usize]) -> Self {
        let k = keep.len();
        let mut data = Vec::with_capacity(k * k);
        for &i in keep {
            for &j in keep {
                data.push(self.get(i, j));
            }
        }
        Self { k, data }
    }
}

/// A subjects × items table of finite numbers with item (column) names, stored by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    names: Vec<String>,
    n_rows: usize,
    columns: Vec<Vec<f64>>,
}

impl Table {
    /// A table from its columns (items) and their names.
    ///
    /// # Panics
    /// If `names.len() != columns.len()` or the columns differ in length (caller bugs; the CSV
    /// reader in `stats` reports such input as errors before it builds a table).
    pub fn from_columns(names: Vec<String>, columns: Vec<Vec<f64>>) -> Self {
        assert_eq!(names.len(), columns.len(), "Table: one name per column");
        let n_rows = columns.first().map_or(0, Vec::len);
        assert!(
            columns.iter().all(|c| c.len() == n_rows),
            "Table: columns differ in length"
        );
        Self {
            names,
            n_rows,
            columns,
        }
    }

    /// A table from rows of equal length, with columns named `item1`, `item2`, ….
    ///
    /// # Panics
    /// If the rows differ in length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Self {
        let k = rows.first().map_or(0, Vec::len);
        assert!(
            rows.iter().all(|r| r.len() == k),
            "Table: rows differ in length"
        );
        let columns = (0..k)
            .map(|j| rows.iter().map(|r| r[j]).collect())
            .collect();
        let names = (1..=k).map(|j| format!("item{j}")).collect();
        Self::from_columns(names, columns)
    }

    /// Number of subjects (rows).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of items (columns).
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Column `j`.
    pub fn column(&self, j: usize) -> &[f64] {
        &self.columns[j]
    }

    /// Moments of the whole table.
    pub fn moments(&self) -> Moments {
        let cols: Vec<&[f64]> = self.columns.iter().map(Vec::as_slice).collect();
        Moments::from_columns(&cols)
    }
}

/// Count, column means and centered cross-products `C[i][j] = Σ_r (x_ri − x̄_i)(x_rj − x̄_j)` of
/// `n` rows of `k` items, plus each column's largest magnitude (to tell a constant column from
/// rounding noise).
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    n: usize,
    mean: Vec<f64>,
    cross: SquareMatrix,
    max_abs: Vec<f64>,
}

impl Moments {
    /// Moments of zero rows of `k` items (the identity of [`merge`](Self::merge)).
    pub fn empty(k: usize) -> Self {
        Self {
            n: 0,
            mean: vec![0.0; k],
            cross: SquareMatrix::zeros(k),
            max_abs: vec![0.0; k],
        }
    }

    /// Moments of the columns `cols` (items), by two passes (means, then centered products).
    ///
    /// # Panics
    /// If the columns differ in length.
    pub fn from_columns(cols: &[&[f64]]) -> Self {
        let k = cols.len();
        let n = cols.first().map_or(0, |c| c.len());
        assert!(
            cols.iter().all(|c| c.len() == n),
            "Moments: columns differ in length"
        );
        if n == 0 {
            return Self::empty(k);
        }
        let mean: Vec<f64> = cols
            .iter()
            .map(|c| c.iter().sum::<f64>() / n as f64)
            .collect();
        let max_abs = cols
            .iter()
            .map(|c| c.iter().fold(0.0_f64, |m, v| m.max(v.abs())))
            .collect();
        let mut cross = SquareMatrix::zeros(k);
        let mut dev = vec![0.0; k];
        for r in 0..n {
            for ((d, col), m) in dev.iter_mut().zip(cols).zip(&mean) {
                *d = col[r] - m;
            }
            for i in 0..k {
                let di = dev[i];
                let row = &mut cross.data[i * k..i * k + k];
                for (c, &dj) in row[i..].iter_mut().zip(&dev[i..]) {
                    *c += di * dj;
                }
            }
        }
        for i in 0..k {
            for j in 0..i {
                cross.data[i * k + j] = cross.data[j * k + i];
            }
        }
        Self {
            n,
            mean,
            cross,
            max_abs,
        }
    }

    /// Adds the rows summarised by `other` (same items) to `self`: the pairwise update of
    /// Chan, Golub & LeVeque, `C = C_a + C_b + δδᵀ · n_a n_b / n` with `δ = x̄_b − x̄_a`.
    ///
    /// # Panics
    /// If the two have different numbers of items.
    pub fn merge(&mut self, other: &Moments) {
        let k = self.k();
        assert_eq!(k, other.k(), "Moments::merge: different numbers of items");
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            self.clone_from(other);
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta: Vec<f64> = (0..k).map(|j| other.mean[j] - self.mean[j]).collect();
        let w = na * nb / n;
        for i in 0..k {
            for j in 0..k {
                self.cross.data[i * k + j] += other.cross.data[i * k + j] + delta[i] * delta[j] * w;
            }
        }
        for ((mean, d), (ma, mb)) in self
            .mean
            .iter_mut()
            .zip(&delta)
            .zip(self.max_abs.iter_mut().zip(&other.max_abs))
        {
            *mean += d * nb / n;
            *ma = ma.max(*mb);
        }
        self.n += other.n;
    }

    /// Moments of the rows of several blocks, merged in the order given.
    pub fn merged<'a>(k: usize, parts: impl IntoIterator<Item = &'a Moments>) -> Moments {
        let mut m = Moments::empty(k);
        for p in parts {
            m.merge(p);
        }
        m
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of items.
    pub fn k(&self) -> usize {
        self.mean.len()
    }

    /// Column means.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Centered cross-products (sums of squares on the diagonal).
    pub fn cross(&self) -> &SquareMatrix {
        &self.cross
    }

    /// Sample covariance matrix (divisor `n − 1`); `None` if `n < 2`.
    pub fn covariance(&self) -> Option<SquareMatrix> {
        (self.n >= 2).then(|| {
            let d = (self.n - 1) as f64;
            SquareMatrix::from_row_major(self.k(), self.cross.data.iter().map(|v| v / d).collect())
        })
    }

    /// Indices of the items whose values are constant: a sum of squares at or below the rounding
    /// noise a constant column can leave (the bound of `correlation::is_negligible_ss`).
    pub fn constant_items(&self) -> Vec<usize> {
        (0..self.k())
            .filter(|&j| {
                self.max_abs[j] == 0.0
                    || is_negligible_ss(self.cross.get(j, j), self.n, self.max_abs[j])
            })
            .collect()
    }

    /// Pearson correlation matrix (unit diagonal, off-diagonal clamped to `[-1, 1]`); `None` if
    /// `n < 2` or any item is constant.
    pub fn correlation(&self) -> Option<SquareMatrix> {
        if self.n < 2 || !self.constant_items().is_empty() {
            return None;
        }
        let k = self.k();
        let sd: Vec<f64> = (0..k).map(|j| self.cross.get(j, j).sqrt()).collect();
        let mut r = SquareMatrix::zeros(k);
        for i in 0..k {
            for j in 0..k {
                let v = if i == j {
                    1.0
                } else {
                    (self.cross.get(i, j) / (sd[i] * sd[j])).clamp(-1.0, 1.0)
                };
                r.set(i, j, v);
            }
        }
        Some(r)
    }

    /// The moments of the items `keep` (in that order) of the same rows.
    pub fn select(&self, keep: &[usize]) -> Moments {
        Moments {
            n: self.n,
            mean: keep.iter().map(|&j| self.mean[j]).collect(),
            cross: self.cross.submatrix(keep),
            max_abs: keep.iter().map(|&j| self.max_abs[j]).collect(),
        }
    }
}
