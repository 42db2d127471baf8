//! Extended RaBitQ's grid encoder: the cosine of a grid point with a rotated unit row, the
//! exhaustive critical-point scan for the optimal levels (`enc=optimal`) and the one-factor
//! rule with its precomputed constant (`enc=fast`). Pure functions of magnitudes and levels.

use crate::linalg::{dot, seeded_rng};
use rand_distr::{Distribution, StandardNormal};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Mutex, OnceLock};

/// f64 ordered by `total_cmp`, for the event heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ord64(f64);
impl Eq for Ord64 {}
impl PartialOrd for Ord64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ord64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// cos(x̂, a) for magnitudes `a ≥ 0` and levels k (x̂_i = k_i + ½).
pub fn grid_cosine(a: &[f64], k: &[u8]) -> f64 {
    let ip: f64 = a
        .iter()
        .zip(k)
        .map(|(&ai, &ki)| ai * (ki as f64 + 0.5))
        .sum();
    let sq: f64 = k.iter().map(|&ki| (ki as f64 + 0.5).powi(2)).sum();
    ip / sq.sqrt()
}

/// The optimal levels k ∈ 0..=kmax for magnitudes `a` (Extended RaBitQ's critical-point scan):
/// returns the levels and the midpoint of the rescaling interval that produces them.
pub fn optimal_levels(a: &[f64], kmax: u32) -> (Vec<u8>, f64) {
    let n = a.len();
    let mut k = vec![0u8; n];
    if kmax == 0 {
        return (k, 0.0);
    }
    let mut ip: f64 = 0.5 * a.iter().sum::<f64>();
    let mut sq = 0.25 * n as f64;
    let mut best = ip / sq.sqrt();
    let mut best_n = 0usize;
    let mut heap: BinaryHeap<Reverse<(Ord64, usize)>> = a
        .iter()
        .enumerate()
        .filter(|(_, ai)| **ai > 0.0)
        .map(|(i, &ai)| Reverse((Ord64(1.0 / ai), i)))
        .collect();
    let mut order: Vec<(u32, f64)> = Vec::new();
    let mut cur = vec![0u32; n];
    while let Some(Reverse((Ord64(t), i))) = heap.pop() {
        cur[i] += 1;
        ip += a[i];
        sq += 2.0 * cur[i] as f64;
        order.push((i as u32, t));
        let c = ip / sq.sqrt();
        if c > best {
            best = c;
            best_n = order.len();
        }
        if cur[i] < kmax {
            heap.push(Reverse((Ord64((cur[i] + 1) as f64 / a[i]), i)));
        }
    }
    for &(i, _) in &order[..best_n] {
        k[i as usize] += 1;
    }
    let t_lo = if best_n == 0 {
        0.0
    } else {
        order[best_n - 1].1
    };
    let t = match order.get(best_n) {
        Some(&(_, t_hi)) => 0.5 * (t_lo + t_hi),
        None => t_lo,
    };
    (k, t)
}

/// Levels from one rescaling factor: k_i = min(⌊t·a_i⌋, kmax).
pub fn levels_at(a: &[f64], t: f64, kmax: u32) -> Vec<u8> {
    a.iter()
        .map(|&ai| ((t * ai).floor().max(0.0) as u32).min(kmax) as u8)
        .collect()
}

/// Samples behind the fast encoder's constant.
const FAST_SAMPLES: usize = 64;

/// The fast encoder's rescaling factor for unit vectors in R^p at B bits: the mean of the
/// optimal factor over [`FAST_SAMPLES`] Gaussian directions (fixed seed), cached.
pub fn fast_rescale(p: usize, bits: u8) -> f64 {
    static CACHE: OnceLock<Mutex<HashMap<(usize, u8), f64>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(&t) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(p, bits))
    {
        return t;
    }
    let kmax = (1u32 << (bits - 1)) - 1;
    let mut rng = seeded_rng(0x5241_4249_5451, ((p as u64) << 4) | bits as u64);
    let mut total = 0f64;
    for _ in 0..FAST_SAMPLES {
        let g: Vec<f64> = (0..p).map(|_| StandardNormal.sample(&mut rng)).collect();
        let n = dot(&g, &g).sqrt().max(f64::MIN_POSITIVE);
        let a: Vec<f64> = g.iter().map(|v| v.abs() / n).collect();
        total += optimal_levels(&a, kmax).1;
    }
    let t = total / FAST_SAMPLES as f64;
    *cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((p, bits))
        .or_insert(t)
}
