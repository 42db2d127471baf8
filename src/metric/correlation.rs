//! Correlation coefficients between exact and estimated scores.
//!
//! A codec that keeps the *order* of scores is what search needs, so besides Pearson we report
//! rank correlations (Spearman, Kendall tau-b) and pool per-query correlations with Fisher's z.
//!
//! Conventions shared by every function here:
//! - the two slices must have the same length (mismatched lengths are a caller bug and panic);
//! - an undefined coefficient (fewer than two points, a constant side, or any NaN input) is
//!   `None`, never NaN;
//! - returned coefficients are clamped to `[-1, 1]`.

use std::cmp::Ordering;

/// Orders floats by value, treating `-0.0 == 0.0` (exact-equality ties) and putting every NaN
/// after all numbers, NaNs equal to each other. This is a total order, so sorts never panic.
pub(crate) fn cmp_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (true, true) => Ordering::Equal,
    }
}

/// A `u64` whose order is [`cmp_f64`]'s: `-0.0` maps like `0.0`, every NaN to the largest key,
/// other values by the usual sign-flip of their bits. Sorting keys compares integers, which is
/// what makes the rank sorts of every (query, codec draw) cheap.
pub(crate) fn order_key(v: f64) -> u64 {
    if v.is_nan() {
        return u64::MAX;
    }
    let bits = if v == 0.0 { 0 } else { v.to_bits() };
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Whether a sum of squared deviations `ss` over `n` values whose largest magnitude is
/// `max_abs` is indistinguishable from rounding noise, i.e. the data are constant.
///
/// Derivation: for constant data `x_i = c`, the sequential sum has error at most
/// `(n - 1) u Σ|x_i| <= n² u max_abs` (with `u = ε / 2` the unit roundoff), so the computed
/// mean is off by at most about `n u max_abs`. Each deviation `x_i - mean` (exact by
/// Sterbenz's lemma when the two are that close) is then at most `n u max_abs`, and the sum of
/// the `n` squares at most `n (n u max_abs)²`. We use `n (n ε max_abs)²`, four times that bound,
/// so no constant input slips through, while for real data it only rejects a relative spread
/// below `n ε` (about 2e-10 for a million values).
pub(crate) fn is_negligible_ss(ss: f64, n: usize, max_abs: f64) -> bool {
    let n = n as f64;
    let noise = n * f64::EPSILON * max_abs;
    ss == 0.0 || ss <= n * noise * noise
}

fn max_abs(x: &[f64]) -> f64 {
    x.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
}

/// Pearson's product-moment correlation.
///
/// Computed with centered two-pass sums on inputs rescaled by their largest magnitude (the
/// coefficient is scale-invariant; rescaling keeps the squares from overflowing or
/// underflowing). `None` if `x.len() < 2`, if either side has zero variance, or if any value
/// is not finite. Zero variance means a sum of squared deviations at or below the rounding
/// noise a constant input can leave, `n (n ε)²` after rescaling (derivation at
/// `is_negligible_ss` in the source).
///
/// # Panics
/// If `x.len() != y.len()`.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "pearson: slices differ in length");
    let n = x.len();
    if n < 2 || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let (ax, ay) = (max_abs(x), max_abs(y));
    if ax == 0.0 || ay == 0.0 {
        return None;
    }
    let inv_n = 1.0 / n as f64;
    let mx = x.iter().map(|v| v / ax).sum::<f64>() * inv_n;
    let my = y.iter().map(|v| v / ay).sum::<f64>() * inv_n;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let dx = a / ax - mx;
        let dy = b / ay - my;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    // After rescaling the largest magnitude is 1.
    if is_negligible_ss(sxx, n, 1.0) || is_negligible_ss(syy, n, 1.0) {
        return None;
    }
    let r = sxy / (sxx.sqrt() * syy.sqrt());
    Some(r.clamp(-1.0, 1.0))
}

/// 1-based ranks, with exactly equal values sharing the average of the ranks they span
/// (so `[10, 20, 20, 30]` ranks as `[1, 2.5, 2.5, 4]`). `-0.0` ties with `0.0`; NaNs rank
/// after every number and tie with each other.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let keyed = sorted_keys(x);
    let mut out = vec![0.0; x.len()];
    for_tie_runs(&keyed, |start, end, rank| {
        for &(_, i) in &keyed[start..end] {
            out[i as usize] = rank;
        }
    });
    out
}

/// Calls `f(start, end, average rank)` for each run `start..end` of equal keys in `keyed`
/// (sorted), whose 1-based ranks `start + 1 ..= end` average to `(start + 1 + end) / 2`.
fn for_tie_runs(keyed: &[(u64, u32)], mut f: impl FnMut(usize, usize, f64)) {
    let mut start = 0;
    while start < keyed.len() {
        let mut end = start + 1;
        while end < keyed.len() && keyed[end].0 == keyed[start].0 {
            end += 1;
        }
        f(start, end, (start + 1 + end) as f64 / 2.0);
        start = end;
    }
}

/// `(order_key(x[i]), i)` sorted: the values in [`cmp_f64`] order, equal values by index.
fn sorted_keys(x: &[f64]) -> Vec<(u64, u32)> {
    assert!(
        u32::try_from(x.len()).is_ok(),
        "ranks: more than 2^32 values"
    );
    let mut keyed: Vec<(u64, u32)> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| (order_key(v), i as u32))
        .collect();
    keyed.sort_unstable();
    keyed
}

/// Spearman's rank correlation: Pearson's correlation of the average ranks.
///
/// `None` if fewer than two points, either side is constant, or any value is NaN.
///
/// # Panics
/// If `x.len() != y.len()`.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "spearman: slices differ in length");
    if x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    pearson(&ranks(x), &ranks(y))
}

/// Number of unordered pairs within runs of equal adjacent values, `Σ t (t - 1) / 2` over the
/// runs of `sorted` (which must be sorted so that equal values are adjacent).
fn tied_pairs<T>(sorted: &[T], eq: impl Fn(&T, &T) -> bool) -> u64 {
    let mut total = 0_u64;
    let mut run = 1_u64;
    for w in sorted.windows(2) {
        if eq(&w[0], &w[1]) {
            run += 1;
        } else {
            total += run * (run - 1) / 2;
            run = 1;
        }
    }
    total + run * (run - 1) / 2
}

fn tau_b_from_counts(n0: u64, n1: u64, n2: u64, n3: u64, swaps: u64) -> Option<f64> {
    if n1 >= n0 || n2 >= n0 {
        return None; // one side is constant
    }
    let num = n0 as i128 - n1 as i128 - n2 as i128 + n3 as i128 - 2 * swaps as i128;
    let den = ((n0 - n1) as f64).sqrt() * ((n0 - n2) as f64).sqrt();
    Some((num as f64 / den).clamp(-1.0, 1.0))
}

/// Kendall's tau-b (tie-corrected), by Knight's O(n log n) algorithm.
///
/// Sort the pairs by `x` then `y`; count pairs tied in `x` (`n1`) and tied in both (`n3`);
/// merge-sort the `y` sequence counting swaps (discordant pairs); count pairs tied in `y`
/// (`n2`). With `n0 = n (n - 1) / 2`,
/// `tau_b = (n0 - n1 - n2 + n3 - 2 swaps) / sqrt((n0 - n1)(n0 - n2))`.
///
/// `None` if fewer than two points, either side is constant, or any value is NaN.
///
/// # Panics
/// If `x.len() != y.len()`.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "kendall_tau_b: slices differ in length");
    if x.len() < 2 || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    kendall_tau_b_prepared(&RankedSide::new(x), y)
}

/// One side of the rank correlations prepared once for many partners: the exact scores of one
/// query, which every codec and every codec draw of a population is compared with. Holds the
/// average ranks (Spearman, deciles) and the order by value with its tie runs (Kendall), so a
/// comparison sorts only the partner. [`spearman_prepared`] and [`kendall_tau_b_prepared`] give
/// bit-identical results to [`spearman`] and [`kendall_tau_b`].
#[derive(Debug, Clone)]
pub struct RankedSide {
    /// Average ranks, as [`ranks`].
    pub ranks: Vec<f64>,
    /// Indices sorted by value ([`cmp_f64`]).
    order: Vec<usize>,
    /// Runs of equal values in `order` longer than one, as `start..end` ranges of `order`.
    ties: Vec<(usize, usize)>,
    /// Pairs tied in value, `Σ t (t − 1) / 2`.
    tied_pairs: u64,
    /// Whether any value is NaN.
    has_nan: bool,
}

impl RankedSide {
    /// Prepare `x`.
    pub fn new(x: &[f64]) -> Self {
        let keyed = sorted_keys(x);
        let order: Vec<usize> = keyed.iter().map(|&(_, i)| i as usize).collect();
        let mut ranks = vec![0.0; x.len()];
        let mut ties = Vec::new();
        let mut tied = 0_u64;
        for_tie_runs(&keyed, |start, end, rank| {
            for &i in &order[start..end] {
                ranks[i] = rank;
            }
            if end - start > 1 {
                ties.push((start, end));
                let t = (end - start) as u64;
                tied += t * (t - 1) / 2;
            }
        });
        RankedSide {
            ranks,
            order,
            ties,
            tied_pairs: tied,
            has_nan: x.iter().any(|v| v.is_nan()),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.ranks.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.ranks.is_empty()
    }
}

/// [`spearman`] of a prepared side `x` and `y` whose average ranks are `y_ranks` (from
/// [`ranks`]): the same number, bit for bit.
///
/// # Panics
/// If the lengths differ.
pub fn spearman_prepared(x: &RankedSide, y: &[f64], y_ranks: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "spearman: slices differ in length");
    if x.has_nan || y.iter().any(|v| v.is_nan()) {
        return None;
    }
    pearson(&x.ranks, y_ranks)
}

/// [`kendall_tau_b`] of a prepared side `x` and `y`: the same counts, so the same number bit
/// for bit; sorts only `y` (within `x`'s tie runs, then the merge sort that counts swaps).
///
/// # Panics
/// If the lengths differ.
pub fn kendall_tau_b_prepared(x: &RankedSide, y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "kendall_tau_b: slices differ in length");
    let n = x.len();
    if n < 2 || x.has_nan || y.iter().any(|v| v.is_nan()) {
        return None;
    }
    // y in the order of (x, y): x's order, each run of tied x sorted by y (as order keys:
    // integer comparisons, the same order as `cmp_f64`).
    let mut ys: Vec<u64> = x.order.iter().map(|&i| order_key(y[i])).collect();
    let mut n3 = 0_u64;
    for &(a, b) in &x.ties {
        let run = &mut ys[a..b];
        run.sort_unstable();
        n3 += tied_pairs(run, |p, q| p == q);
    }
    let swaps = sort_keys_counting_swaps(&mut ys);
    let n2 = tied_pairs(&ys, |a, b| a == b);
    let n = n as u64;
    tau_b_from_counts(n * (n - 1) / 2, x.tied_pairs, n2, n3, swaps)
}

/// Stable bottom-up merge sort of order keys returning the number of swaps, i.e. of pairs
/// `i < j` with `v[i] > v[j]` strictly (discordant pairs).
fn sort_keys_counting_swaps(v: &mut Vec<u64>) -> u64 {
    let n = v.len();
    let mut buf = vec![0_u64; n];
    let mut swaps = 0_u64;
    let mut width = 1;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j, mut k) = (lo, mid, lo);
            while i < mid && j < hi {
                if v[j] < v[i] {
                    swaps += (mid - i) as u64;
                    buf[k] = v[j];
                    j += 1;
                } else {
                    buf[k] = v[i];
                    i += 1;
                }
                k += 1;
            }
            buf[k..k + (mid - i)].copy_from_slice(&v[i..mid]);
            k += mid - i;
            buf[k..k + (hi - j)].copy_from_slice(&v[j..hi]);
            lo = hi;
        }
        std::mem::swap(v, &mut buf);
        width *= 2;
    }
    swaps
}

/// Kendall's tau-b by direct O(n²) pair counting: the reference that tests check
/// [`kendall_tau_b`] against. Same `None` and panic rules.
#[doc(hidden)]
pub fn kendall_tau_b_naive(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(
        x.len(),
        y.len(),
        "kendall_tau_b_naive: slices differ in length"
    );
    let n = x.len();
    if n < 2 || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let (mut concordant, mut discordant) = (0_i64, 0_i64);
    let (mut untied_x, mut untied_y) = (0_u64, 0_u64);
    for i in 0..n {
        for j in i + 1..n {
            let sx = cmp_f64(x[i], x[j]);
            let sy = cmp_f64(y[i], y[j]);
            untied_x += u64::from(sx != Ordering::Equal);
            untied_y += u64::from(sy != Ordering::Equal);
            if sx != Ordering::Equal && sy != Ordering::Equal {
                if sx == sy {
                    concordant += 1;
                } else {
                    discordant += 1;
                }
            }
        }
    }
    if untied_x == 0 || untied_y == 0 {
        return None;
    }
    let den = (untied_x as f64).sqrt() * (untied_y as f64).sqrt();
    Some(((concordant - discordant) as f64 / den).clamp(-1.0, 1.0))
}

/// Largest magnitude a correlation is clamped to before `atanh`: keeps the transform finite
/// for perfect correlations (`atanh(±1)` is infinite). The clamp moves a reported value by at
/// most 1e-12.
const FISHER_CLAMP: f64 = 1.0 - 1e-12;

/// `atanh` computed as `sign(x) · ½ ln(1 + 2|x| / (1 - |x|))`, which is exactly odd.
///
/// `f64::atanh` evaluates `½ ln_1p(2x / (1 - x))` for either sign; near `x = -1` that feeds
/// `ln_1p` an argument close to -1 and is off by about 6e-5 at `x = -(1 - 1e-12)`, so
/// `atanh(r) + atanh(-r)` would not cancel. Working on `|x|` keeps `1 - |x|` exact (Sterbenz)
/// and the `ln_1p` argument positive.
fn atanh_odd(x: f64) -> f64 {
    let a = x.abs();
    (0.5 * (2.0 * a / (1.0 - a)).ln_1p()).copysign(x)
}

/// Fisher's z of one correlation, clamped to `±(1 - 1e-12)` first (see [`fisher_z_mean`]).
pub(crate) fn fisher_z(r: f64) -> f64 {
    atanh_odd(r.clamp(-FISHER_CLAMP, FISHER_CLAMP))
}

/// Pools correlations through Fisher's z: `tanh(mean(atanh(clamp(r, -R, R))))` with
/// `R = 1 - 1e-12`. The clamp keeps `atanh` finite for perfect correlations (so one `±1`
/// does not swamp the mean, and `+1` with `-1` does not give NaN); it moves a value by at
/// most 1e-12.
///
/// NaN entries are skipped; `None` if nothing is left (including an empty slice).
pub fn fisher_z_mean(rs: &[f64]) -> Option<f64> {
    let count = rs.iter().filter(|r| !r.is_nan()).count();
    let sum: f64 = rs
        .iter()
        .filter(|r| !r.is_nan())
        .map(|&r| fisher_z(r))
        .sum();
    (count > 0).then(|| (sum / count as f64).tanh())
}
