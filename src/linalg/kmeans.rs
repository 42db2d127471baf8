// Method: S. Lloyd, "Least squares quantization in PCM" (IEEE Trans. IT 1982); seeding by
// D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful seeding" (SODA 2007).

//! Seeded k-means++ followed by Lloyd iterations, on f32 points in f64 arithmetic.
//!
//! Used by `pq` (one k-means per subspace). All randomness comes from the caller's ChaCha8
//! generator. An empty cluster after an assignment step is re-seeded with the point farthest
//! from its centroid (deterministic), so a codebook never silently keeps duplicate centroids
//! while distinct points exist. The objective (mean squared distance to the nearest centroid)
//! is recorded after every assignment; with this update rule it never increases.

use rand::Rng;

/// A fitted k-means codebook.
#[derive(Debug, Clone)]
pub struct KMeans {
    /// Point dimension.
    pub dim: usize,
    /// `k × dim` centroids, row-major.
    pub centroids: Vec<f32>,
    /// Mean squared distance to the nearest centroid after each assignment step.
    pub objective: Vec<f64>,
}

/// Squared Euclidean distance in f64: eight independent partial sums (element i goes to
/// lane i mod 8 of the body), added pairwise, then the tail in order — a fixed order, so the
/// result is deterministic, and one the compiler turns into vector code (a single running sum
/// is a chain of dependent additions).
pub fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let body = n - n % 8;
    let mut lanes = [0f64; 8];
    for (ca, cb) in a[..body].chunks_exact(8).zip(b[..body].chunks_exact(8)) {
        for ((l, &x), &y) in lanes.iter_mut().zip(ca).zip(cb) {
            let t = x as f64 - y as f64;
            *l += t * t;
        }
    }
    let mut s = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6]))
        + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
    for (&x, &y) in a[body..n].iter().zip(&b[body..n]) {
        let t = x as f64 - y as f64;
        s += t * t;
    }
    s
}

/// [`nearest`] with the k centroids stored by coordinate (`cols[t·k + j]` is coordinate t of
/// centroid j): every distance is computed in [`sq_dist`]'s order (lane t mod 8 of the body,
/// the lanes added pairwise, then the tail in order), only for all centroids side by side, so
/// the index and distance are [`nearest`]'s; `scratch` holds at least 9·k values. AVX2
/// when available (the same IEEE operations across centroids).
pub fn nearest_cols(point: &[f32], cols: &[f32], k: usize, scratch: &mut [f64]) -> (usize, f64) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2_available() {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { nearest_cols_avx2(point, cols, k, scratch) };
    }
    nearest_cols_body(point, cols, k, scratch)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn nearest_cols_avx2(point: &[f32], cols: &[f32], k: usize, scratch: &mut [f64]) -> (usize, f64) {
    nearest_cols_body(point, cols, k, scratch)
}

#[inline(always)]
fn nearest_cols_body(point: &[f32], cols: &[f32], k: usize, scratch: &mut [f64]) -> (usize, f64) {
    let n = point.len();
    let body = n - n % 8;
    let (dist, lanes) = scratch[..9 * k].split_at_mut(k);
    if body == 0 {
        // No body: sq_dist's lanes are all 0, so s starts at ((0+0)+(0+0))+((0+0)+(0+0)).
        dist.fill(0.0);
    } else {
        lanes.fill(0.0);
        for (t, &x) in point[..body].iter().enumerate() {
            let lane = &mut lanes[(t % 8) * k..(t % 8 + 1) * k];
            for (l, &c) in lane.iter_mut().zip(&cols[t * k..(t + 1) * k]) {
                let d = x as f64 - c as f64;
                *l += d * d;
            }
        }
        for (j, s) in dist.iter_mut().enumerate() {
            let l = |i: usize| lanes[i * k + j];
            *s = ((l(0) + l(4)) + (l(2) + l(6))) + ((l(1) + l(5)) + (l(3) + l(7)));
        }
    }
    for (t, &x) in point.iter().enumerate().skip(body) {
        for (s, &c) in dist.iter_mut().zip(&cols[t * k..(t + 1) * k]) {
            let d = x as f64 - c as f64;
            *s += d * d;
        }
    }
    let mut best = (0usize, f64::INFINITY);
    for (j, &d) in dist.iter().enumerate() {
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

/// Index of the nearest centroid and its squared distance (ties: lowest index).
pub fn nearest(point: &[f32], centroids: &[f32], dim: usize) -> (usize, f64) {
    let mut best = (0usize, f64::INFINITY);
    for (j, c) in centroids.chunks_exact(dim.max(1)).enumerate() {
        let d = sq_dist(point, c);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

impl KMeans {
    /// Number of centroids.
    pub fn k(&self) -> usize {
        self.centroids.len() / self.dim.max(1)
    }

    /// Centroid `j`.
    pub fn centroid(&self, j: usize) -> &[f32] {
        &self.centroids[j * self.dim..(j + 1) * self.dim]
    }

    /// Declared peak bytes of [`KMeans::fit`] on `n` points of `dim` values with `k` centroids
    /// and up to `iters` iterations, the points not included: the centroids (f32) and the
    /// per-iteration sums (f64), the seeding weights, assignments and distances of every point,
    /// counts and the objective trace; saturating.
    pub fn fit_bytes(n: usize, dim: usize, k: usize, iters: usize) -> u64 {
        let kd = (k as u64).saturating_mul(dim as u64);
        kd.saturating_mul(12)
            .saturating_add((n as u64).saturating_mul(24))
            .saturating_add((k as u64).saturating_mul(16))
            .saturating_add((iters as u64 + 1).saturating_mul(8))
    }

    /// [`KMeans::fit_bytes`] plus the `n` sampled training points themselves (f32) and their
    /// sample indices (8 bytes each): the peak of a fit on a training sample copied out of the
    /// rows (the palettes of `palette` and `cascade`).
    pub fn sampled_fit_bytes(n: usize, dim: usize, k: usize, iters: usize) -> u64 {
        (n as u64)
            .saturating_mul(8)
            .saturating_add((n as u64).saturating_mul(4).saturating_mul(dim as u64))
            .saturating_add(Self::fit_bytes(n, dim, k, iters))
    }

    /// Fit `k` centroids to `points` (`n × dim`, row-major, `n ≥ k ≥ 1`) with k-means++
    /// seeding and up to `iters` Lloyd iterations (stops early when no assignment changes).
    pub fn fit(points: &[f32], dim: usize, k: usize, iters: usize, rng: &mut impl Rng) -> KMeans {
        assert!(dim > 0 && k > 0);
        let n = points.len() / dim;
        assert!(n >= k, "k-means: {n} points for {k} centroids");
        let pt = |i: usize| &points[i * dim..(i + 1) * dim];

        // k-means++: first centre uniform, then each next one with probability ∝ D(x)².
        let mut centroids: Vec<f32> = Vec::with_capacity(k * dim);
        centroids.extend_from_slice(pt(rng.random_range(0..n)));
        let mut d2: Vec<f64> = (0..n).map(|i| sq_dist(pt(i), &centroids[..dim])).collect();
        while centroids.len() < k * dim {
            let total: f64 = d2.iter().sum();
            let pick = if total > 0.0 {
                let mut r = rng.random::<f64>() * total;
                let mut pick = n - 1;
                for (i, &w) in d2.iter().enumerate() {
                    if r < w {
                        pick = i;
                        break;
                    }
                    r -= w;
                }
                // Guard against rounding landing on a zero-weight point.
                if d2[pick] == 0.0 {
                    pick = (0..n).max_by(|&a, &b| d2[a].total_cmp(&d2[b])).unwrap();
                }
                pick
            } else {
                // Every point coincides with a chosen centre: duplicates are unavoidable.
                rng.random_range(0..n)
            };
            let start = centroids.len();
            centroids.extend_from_slice(pt(pick));
            for (i, di) in d2.iter_mut().enumerate() {
                *di = di.min(sq_dist(pt(i), &centroids[start..start + dim]));
            }
        }

        let mut assign = vec![usize::MAX; n];
        let mut dist = vec![0f64; n];
        let mut objective = Vec::new();
        for _ in 0..iters.max(1) {
            // Assignment.
            let mut changed = false;
            for i in 0..n {
                let (j, d) = nearest(pt(i), &centroids, dim);
                if assign[i] != j {
                    changed = true;
                    assign[i] = j;
                }
                dist[i] = d;
            }
            objective.push(dist.iter().sum::<f64>() / n as f64);
            if !changed && objective.len() > 1 {
                break;
            }
            // Update: means of the assigned points (f64 sums).
            let mut sums = vec![0f64; k * dim];
            let mut counts = vec![0usize; k];
            for i in 0..n {
                counts[assign[i]] += 1;
                for (s, &v) in sums[assign[i] * dim..(assign[i] + 1) * dim]
                    .iter_mut()
                    .zip(pt(i))
                {
                    *s += v as f64;
                }
            }
            for j in 0..k {
                if counts[j] > 0 {
                    for (c, s) in centroids[j * dim..(j + 1) * dim]
                        .iter_mut()
                        .zip(&sums[j * dim..(j + 1) * dim])
                    {
                        *c = (s / counts[j] as f64) as f32;
                    }
                } else {
                    // Empty cluster: move it onto the point farthest from its centroid
                    // (that point's own distance drops to 0, so the objective cannot rise).
                    let far = (0..n).max_by(|&a, &b| dist[a].total_cmp(&dist[b])).unwrap();
                    if dist[far] > 0.0 {
                        centroids[j * dim..(j + 1) * dim].copy_from_slice(pt(far));
                        dist[far] = 0.0;
                    }
                }
            }
        }
        // Final objective with the last centroids (the update never raises it).
        let last: f64 = (0..n)
            .map(|i| nearest(pt(i), &centroids, dim).1)
            .sum::<f64>()
            / n as f64;
        objective.push(last);
        KMeans {
            dim,
            centroids,
            objective,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_by_columns_equals_nearest_exactly() {
        let mut rng = crate::linalg::seeded_rng(41, 1);
        use rand::Rng;
        for (dim, k) in [
            (1usize, 1usize),
            (2, 16),
            (3, 7),
            (8, 16),
            (13, 256),
            (17, 5),
        ] {
            let mut centroids: Vec<f32> = (0..k * dim)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect();
            if k > 2 {
                // A duplicated centroid: the tie goes to the lower index on both paths.
                let (a, b) = centroids.split_at_mut(dim);
                b[..dim].copy_from_slice(a);
            }
            let cols: Vec<f32> = (0..dim * k)
                .map(|i| centroids[(i % k) * dim + i / k])
                .collect();
            let mut scratch = vec![0f64; 9 * k];
            for _ in 0..50 {
                let p: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.5f32..1.5)).collect();
                let (a, b) = (
                    nearest(&p, &centroids, dim),
                    nearest_cols(&p, &cols, k, &mut scratch),
                );
                assert_eq!(
                    (a.0, a.1.to_bits()),
                    (b.0, b.1.to_bits()),
                    "dim={dim} k={k}"
                );
                let c = nearest_cols_body(&p, &cols, k, &mut scratch);
                assert_eq!(
                    (a.0, a.1.to_bits()),
                    (c.0, c.1.to_bits()),
                    "dim={dim} k={k}"
                );
            }
            // The first centroid itself: distance 0 at index 0 (its duplicate ties).
            let p = centroids[..dim].to_vec();
            assert_eq!(nearest_cols(&p, &cols, k, &mut scratch).0, 0);
        }
    }
    use crate::linalg::seeded_rng;

    #[test]
    fn two_obvious_clusters_are_found() {
        let pts = [0.0f32, 0.1, -0.1, 10.0, 10.1, 9.9];
        let km = KMeans::fit(&pts, 1, 2, 20, &mut seeded_rng(1, 9));
        let mut c: Vec<f32> = km.centroids.clone();
        c.sort_by(f32::total_cmp);
        assert!(
            (c[0] - 0.0).abs() < 1e-6 && (c[1] - 10.0).abs() < 1e-5,
            "{c:?}"
        );
    }
}
