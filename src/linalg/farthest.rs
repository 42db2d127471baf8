// Method: T. F. Gonzalez, "Clustering to minimize the maximum intercluster distance",
// Theoretical Computer Science 38, 1985 (farthest-point traversal, a 2-approximation of the
// k-center problem).

//! Farthest-point sampling over any distance: the origin's CLAM palette (squared L2 over rows,
//! `codec::palette`), its cascade palette (cosine distance of unit rows, `codec::cascade`) and
//! its Base17 palette (L1 over 17-d folds, `probe::family`) are the same traversal with another
//! distance, start and stop, so it is written once here.

use rayon::prelude::*;

/// When the traversal may stop before it has `k` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Always take `min(k, n)` items (once every item coincides with a chosen one, the lowest
    /// index is taken again, chosen or not).
    AtK,
    /// Always take `min(k, n)` distinct items (a chosen item is never taken again).
    AtKDistinct,
    /// Also stop once every item coincides with a chosen one (largest distance ≤ the zero of
    /// the distance type): no item is taken twice in effect.
    WhenCovered,
}

/// Index of the first largest value (ties: lowest index); 0 for an empty slice.
pub fn first_max<D: PartialOrd>(v: &[D]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// [`first_max`] among the items not `taken` (at least one is not).
fn first_max_untaken<D: PartialOrd>(v: &[D], taken: &[bool]) -> usize {
    let mut best: Option<usize> = None;
    for (i, x) in v.iter().enumerate() {
        if !taken[i] && best.is_none_or(|b| *x > v[b]) {
            best = Some(i);
        }
    }
    best.unwrap_or(0)
}

/// Declared peak bytes of [`farthest_point`] over `n` items choosing up to `k`, with 8-byte
/// distances: the distance to the nearest chosen item and the taken flag per item, the chosen
/// indices; saturating.
pub fn fit_bytes(n: usize, k: usize) -> u64 {
    (n as u64)
        .saturating_mul(9)
        .saturating_add((k.min(n) as u64).saturating_mul(16))
}

/// Farthest-point traversal of items `0..n`: start at `first`; each next item is the one whose
/// distance to its nearest chosen item is largest (ties: lowest index). At most `min(k, n)`
/// items, fewer under [`Stop::WhenCovered`]. `dist(i, c)` is the distance of item `i` to the
/// chosen item `c`; it is evaluated in parallel, each value on its own, so the result does not
/// depend on the thread count.
pub fn farthest_point<D>(
    n: usize,
    k: usize,
    first: usize,
    dist: impl Fn(usize, usize) -> D + Sync,
    stop: Stop,
) -> Vec<usize>
where
    D: Copy + PartialOrd + Default + Send + Sync,
{
    let k = k.min(n);
    if k == 0 {
        return Vec::new();
    }
    let mut chosen = vec![first];
    let mut taken = vec![false; n];
    taken[first] = true;
    let mut mind: Vec<D> = (0..n).into_par_iter().map(|i| dist(i, first)).collect();
    while chosen.len() < k {
        let next = if stop == Stop::AtKDistinct {
            first_max_untaken(&mind, &taken)
        } else {
            first_max(&mind)
        };
        if stop == Stop::WhenCovered && mind[next] <= D::default() {
            break;
        }
        chosen.push(next);
        taken[next] = true;
        mind.par_iter_mut().enumerate().for_each(|(i, m)| {
            let d = dist(i, next);
            if d < *m {
                *m = d;
            }
        });
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_by_hand_on_a_line() {
        // Points 0, 1, 5, 6, 10 on a line, |x − y|: start 0 → 10 → 5 (distance 5) → then 1 and
        // 6 tie at distance 1: the lower index (1) first.
        let x = [0i32, 1, 5, 6, 10];
        let d = |i: usize, j: usize| (x[i] - x[j]).unsigned_abs();
        assert_eq!(farthest_point(5, 5, 0, d, Stop::AtK), vec![0, 4, 2, 1, 3]);
        assert_eq!(farthest_point(5, 3, 0, d, Stop::AtK), vec![0, 4, 2]);
        // Duplicates: `AtK` takes them, `WhenCovered` stops.
        let y = [0i32, 0, 3];
        let d = |i: usize, j: usize| (y[i] - y[j]).unsigned_abs();
        assert_eq!(farthest_point(3, 3, 0, d, Stop::AtK), vec![0, 2, 0]);
        assert_eq!(farthest_point(3, 3, 0, d, Stop::WhenCovered), vec![0, 2]);
        assert_eq!(farthest_point(3, 3, 0, d, Stop::AtKDistinct), vec![0, 2, 1]);
        assert!(farthest_point(0, 3, 0, d, Stop::AtK).is_empty());
        assert_eq!(first_max(&[1.0, 3.0, 3.0, 2.0]), 1);
    }
}
