//! Continuous 1-D Lloyd–Max scalar quantizers (Lloyd 1957/1982, Max 1960) for known densities:
//! boundaries are the midpoints of neighbouring centroids and each centroid is the conditional
//! mean of its cell, iterated to a fixed point.
//!
//! Two laws are needed:
//! - [`beta_codebook`]: the exact law of one coordinate of a uniformly random unit vector in R^d,
//!   f_d(t) ∝ (1−t²)^((d−3)/2) on [−1, 1] (TurboQuant, arXiv:2504.19874, Lemma 1). Integrals are
//!   taken in θ = asin t, where the weight is cos^(d−2) θ — smooth for every d ≥ 2, including the
//!   arcsine law at d = 2. d = 1 is the two-point law ±1 (exact codebook, zero distortion). For
//!   large d the centroids tend to the Gaussian Lloyd–Max ones times 1/√d.
//! - [`angle_codebook`]: PolarQuant's level-ℓ ≥ 2 angle law ∝ sin^(2^(ℓ−1)−1)(2ψ) on [0, π/2]
//!   (arXiv:2502.02617, Lemma 2); level 1 is uniform on [0, 2π) and its optimal codebook is the
//!   uniform grid ([`uniform_circle_codebook`]).
//!
//! Integrals use composite 8-point Gauss–Legendre on panels a quarter of the law's width wide, so
//! cell masses and moments are accurate to ~1e-12 relative. Codebooks are solved once per
//! (law, levels) and cached process-wide behind a mutex (solved outside the lock; the solution is
//! deterministic, so a race only duplicates work).

use std::collections::HashMap;
use std::f64::consts::{FRAC_PI_2, PI};
use std::sync::{Arc, Mutex, OnceLock};

/// A scalar quantizer: sorted centroids, the midpoints between them, and its distortion.
#[derive(Debug, Clone, PartialEq)]
pub struct Codebook {
    /// Reconstruction levels, ascending.
    pub centroids: Vec<f64>,
    /// Cell boundaries, ascending; `boundaries[i]` separates centroid i and i+1.
    pub boundaries: Vec<f64>,
    /// E[(T − Q(T))²] under the law the codebook was solved for.
    pub distortion: f64,
    /// Lloyd iterations used (0 for closed forms).
    pub iterations: usize,
}

impl Codebook {
    /// Number of levels (2^bits).
    pub fn levels(&self) -> usize {
        self.centroids.len()
    }

    /// Index of the nearest centroid (ties go to the lower cell).
    pub fn index(&self, t: f64) -> usize {
        self.boundaries.partition_point(|&b| b < t)
    }

    /// Shared-state bytes if stored as f32 centroids.
    pub fn model_bytes(&self) -> usize {
        4 * self.centroids.len()
    }

    fn from_centroids(centroids: Vec<f64>, distortion: f64, iterations: usize) -> Self {
        let boundaries = centroids.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        Codebook {
            centroids,
            boundaries,
            distortion,
            iterations,
        }
    }
}

/// A law on the t axis written through a smooth substitution t = g(s): integrals
/// ∫ h(t) f(t) dt are computed as ∫ h(g(s)) w(s) ds with w = f∘g · g'.
trait Law {
    /// Integration range in s.
    fn s_range(&self) -> (f64, f64);
    /// Panel width in s (a fraction of the law's scale).
    fn panel(&self) -> f64;
    /// t = g(s).
    fn t(&self, s: f64) -> f64;
    /// s = g⁻¹(t), clamped into the range.
    fn s(&self, t: f64) -> f64;
    /// dt/ds.
    fn dt_ds(&self, s: f64) -> f64;
    /// Unnormalised weight w(s) = f(g(s)) g'(s).
    fn weight(&self, s: f64) -> f64;
}

/// One coordinate of a uniform unit vector in R^d (d ≥ 2), in θ = asin t.
struct BetaLaw {
    d: usize,
}

impl BetaLaw {
    fn theta_max(&self) -> f64 {
        // cos^(d−2) θ ≤ exp(−(d−2)θ²/2): beyond 14/√d the tail mass is below e^-90.
        (14.0 / (self.d as f64).sqrt()).min(FRAC_PI_2)
    }
}

impl Law for BetaLaw {
    fn s_range(&self) -> (f64, f64) {
        let m = self.theta_max();
        (-m, m)
    }
    fn panel(&self) -> f64 {
        0.25 / (self.d.max(4) as f64).sqrt()
    }
    fn t(&self, s: f64) -> f64 {
        s.sin()
    }
    fn s(&self, t: f64) -> f64 {
        let m = self.theta_max();
        t.clamp(-1.0, 1.0).asin().clamp(-m, m)
    }
    fn dt_ds(&self, s: f64) -> f64 {
        s.cos()
    }
    fn weight(&self, s: f64) -> f64 {
        s.cos().max(0.0).powi(self.d as i32 - 2)
    }
}

/// PolarQuant's angle law ∝ sin^n(2ψ) on [0, π/2] (n = 2^(ℓ−1) − 1 at level ℓ ≥ 2).
struct SinPowerLaw {
    n: u32,
}

impl Law for SinPowerLaw {
    fn s_range(&self) -> (f64, f64) {
        (0.0, FRAC_PI_2)
    }
    fn panel(&self) -> f64 {
        (0.25 / (self.n.max(1) as f64).sqrt()).min(0.1)
    }
    fn t(&self, s: f64) -> f64 {
        s
    }
    fn s(&self, t: f64) -> f64 {
        t.clamp(0.0, FRAC_PI_2)
    }
    fn dt_ds(&self, _s: f64) -> f64 {
        1.0
    }
    fn weight(&self, s: f64) -> f64 {
        (2.0 * s).sin().max(0.0).powi(self.n as i32)
    }
}

/// 8-point Gauss–Legendre nodes and weights on [−1, 1].
const GL_X: [f64; 4] = [
    0.183_434_642_495_649_8,
    0.525_532_409_916_329,
    0.796_666_477_413_626_7,
    0.960_289_856_497_536_3,
];
const GL_W: [f64; 4] = [
    0.362_683_783_378_362,
    0.313_706_645_877_887_3,
    0.222_381_034_453_374_5,
    0.101_228_536_290_376_3,
];

/// ∫_{s0}^{s1} h(g(s)) w(s) ds for h = 1, t, and (t − c)², by composite Gauss–Legendre.
fn moments(law: &dyn Law, s0: f64, s1: f64, c: f64) -> [f64; 3] {
    let mut out = [0f64; 3];
    if s1 <= s0 {
        return out;
    }
    let panels = ((s1 - s0) / law.panel()).ceil().max(1.0) as usize;
    let h = (s1 - s0) / panels as f64;
    for p in 0..panels {
        let mid = s0 + (p as f64 + 0.5) * h;
        let half = 0.5 * h;
        for k in 0..4 {
            for sgn in [-1.0, 1.0] {
                let s = mid + sgn * half * GL_X[k];
                let w = law.weight(s) * GL_W[k] * half;
                let t = law.t(s);
                out[0] += w;
                out[1] += w * t;
                out[2] += w * (t - c) * (t - c);
            }
        }
    }
    out
}

/// Lloyd–Max for `levels` cells of `law`: companding initialisation (centroids at quantiles of
/// f^(1/3), the Panter–Dite point density), a few Lloyd iterations, then Newton steps on the
/// Lloyd fixed-point equations (falling back to a Lloyd step whenever a Newton step would break
/// the ordering), until every centroid equals its cell's conditional mean to 1e-13 of the law's
/// range.
fn solve(law: &dyn Law, levels: usize) -> Codebook {
    let (lo, hi) = law.s_range();
    let z = moments(law, lo, hi, 0.0)[0];
    // Companding init: cumulative of f(t)^(1/3) dt = w^(1/3) g'^(2/3) ds on a fine grid.
    let grid = 4096;
    let ds = (hi - lo) / grid as f64;
    let dens = |s: f64| law.weight(s).powf(1.0 / 3.0) * law.dt_ds(s).abs().powf(2.0 / 3.0);
    let mut cum = vec![0f64; grid + 1];
    for i in 0..grid {
        let (a, b) = (lo + i as f64 * ds, lo + (i + 1) as f64 * ds);
        cum[i + 1] = cum[i] + 0.5 * (dens(a) + dens(b)) * ds;
    }
    let total = cum[grid];
    let mut c: Vec<f64> = (0..levels)
        .map(|i| {
            let target = (i as f64 + 0.5) / levels as f64 * total;
            let j = cum.partition_point(|&v| v < target).clamp(1, grid);
            let frac = (target - cum[j - 1]) / (cum[j] - cum[j - 1]).max(f64::MIN_POSITIVE);
            law.t(lo + (j as f64 - 1.0 + frac.clamp(0.0, 1.0)) * ds)
        })
        .collect();
    let (t_lo, t_hi) = (law.t(lo), law.t(hi));
    let tol = 1e-13 * (t_hi - t_lo);
    let edge = |c: &[f64], i: usize| -> f64 {
        // Lower edge (in s) of cell i.
        if i == 0 {
            lo
        } else if i == c.len() {
            hi
        } else {
            law.s(0.5 * (c[i - 1] + c[i]))
        }
    };
    let mut iterations = 0;
    loop {
        iterations += 1;
        // Lloyd map T(c): conditional means of the cells; mass of each cell.
        let mut t_map = c.clone();
        let mut mass = vec![0f64; levels];
        for i in 0..levels {
            let m = moments(law, edge(&c, i), edge(&c, i + 1), 0.0);
            mass[i] = m[0];
            if m[0] > 1e-300 * z {
                t_map[i] = m[1] / m[0];
            }
        }
        let residual = c
            .iter()
            .zip(&t_map)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        if residual <= tol || iterations >= 1000 {
            break;
        }
        // Newton on F(c) = c − T(c) once Lloyd has brought c close (plain Lloyd converges
        // linearly with a rate → 1 as the levels grow: ~10⁵ iterations at 8 bits). F's Jacobian
        // is tridiagonal: ∂T_i/∂(upper edge) = f(b)(b − T_i)/M_i, ∂T_i/∂(lower edge) =
        // f(a)(T_i − a)/M_i, and each edge is the midpoint of two centroids.
        let newton = if iterations > 8 && mass.iter().all(|&m| m > 1e-300 * z) {
            let f_at = |t: f64| {
                let s = law.s(t);
                law.weight(s) / law.dt_ds(s).abs().max(f64::MIN_POSITIVE)
            };
            let (mut sub, mut diag, mut sup) =
                (vec![0f64; levels], vec![1f64; levels], vec![0f64; levels]);
            for i in 0..levels {
                if i > 0 {
                    let a = 0.5 * (c[i - 1] + c[i]);
                    let g = f_at(a) * (t_map[i] - a) / mass[i];
                    sub[i] = -0.5 * g;
                    diag[i] -= 0.5 * g;
                }
                if i + 1 < levels {
                    let b = 0.5 * (c[i] + c[i + 1]);
                    let g = f_at(b) * (b - t_map[i]) / mass[i];
                    sup[i] = -0.5 * g;
                    diag[i] -= 0.5 * g;
                }
            }
            let rhs: Vec<f64> = t_map.iter().zip(&c).map(|(t, ci)| t - ci).collect();
            solve_tridiagonal(&sub, &diag, &sup, &rhs).map(|delta| {
                c.iter()
                    .zip(&delta)
                    .map(|(ci, di)| ci + di)
                    .collect::<Vec<f64>>()
            })
        } else {
            None
        };
        c = match newton {
            Some(cand)
                if cand.windows(2).all(|w| w[0] < w[1])
                    && cand[0] > t_lo
                    && cand[levels - 1] < t_hi
                    && cand.iter().all(|v| v.is_finite()) =>
            {
                cand
            }
            _ => t_map,
        };
    }
    // Distortion with the final boundaries, integrating (t − c_i)² directly (no cancellation).
    let mut dist = 0f64;
    for i in 0..levels {
        let a = if i == 0 {
            lo
        } else {
            law.s(0.5 * (c[i - 1] + c[i]))
        };
        let b = if i + 1 == levels {
            hi
        } else {
            law.s(0.5 * (c[i] + c[i + 1]))
        };
        dist += moments(law, a, b, c[i])[2];
    }
    Codebook::from_centroids(c, dist / z, iterations)
}

/// Thomas algorithm for a tridiagonal system (`sub[0]` and `sup[n−1]` unused); `None` if a
/// pivot vanishes.
fn solve_tridiagonal(sub: &[f64], diag: &[f64], sup: &[f64], rhs: &[f64]) -> Option<Vec<f64>> {
    let n = diag.len();
    let mut cp = vec![0f64; n];
    let mut dp = vec![0f64; n];
    let mut denom = diag[0];
    if denom.abs() < 1e-300 {
        return None;
    }
    cp[0] = sup[0] / denom;
    dp[0] = rhs[0] / denom;
    for i in 1..n {
        denom = diag[i] - sub[i] * cp[i - 1];
        if denom.abs() < 1e-300 {
            return None;
        }
        cp[i] = sup[i] / denom;
        dp[i] = (rhs[i] - sub[i] * dp[i - 1]) / denom;
    }
    let mut x = vec![0f64; n];
    x[n - 1] = dp[n - 1];
    for i in (0..n - 1).rev() {
        x[i] = dp[i] - cp[i] * x[i + 1];
    }
    Some(x)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Beta { bits: u8, dim: usize },
    Angle { level: u8, bits: u8 },
}

fn cached(key: Key, make: impl FnOnce() -> Codebook) -> Arc<Codebook> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<Codebook>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(cb) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return cb.clone();
    }
    let cb = Arc::new(make());
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_insert(cb)
        .clone()
}

/// The `2^bits`-level Lloyd–Max codebook for one coordinate of a uniformly random unit vector
/// in R^dim (`bits` in 1..=8, any `dim` ≥ 1), cached. `dim · distortion` is TurboQuant's
/// normalised D_mse(b) at this finite d.
pub fn beta_codebook(bits: u8, dim: usize) -> Arc<Codebook> {
    assert!((1..=8).contains(&bits), "beta_codebook: bits in 1..=8");
    let dim = dim.max(1);
    cached(Key::Beta { bits, dim }, || {
        let levels = 1usize << bits;
        if dim == 1 {
            // The law is ±1 with probability ½ each: any codebook containing ±1 is exact.
            let c = (0..levels)
                .map(|i| -1.0 + 2.0 * i as f64 / (levels - 1) as f64)
                .collect();
            return Codebook::from_centroids(c, 0.0, 0);
        }
        solve(&BetaLaw { d: dim }, levels)
    })
}

/// The `2^bits`-level Lloyd–Max codebook for PolarQuant's level-`level` angle (level ≥ 2:
/// density ∝ sin^(2^(level−1)−1)(2ψ) on [0, π/2]), cached.
pub fn angle_codebook(level: u8, bits: u8) -> Arc<Codebook> {
    assert!((2..=16).contains(&level) && (1..=8).contains(&bits));
    cached(Key::Angle { level, bits }, || {
        let n = (1u32 << (level - 1)) - 1;
        solve(&SinPowerLaw { n }, 1usize << bits)
    })
}

/// The optimal `2^bits`-level codebook for an angle uniform on [0, 2π) (PolarQuant level 1):
/// centroids (i + ½)·2π/L, distortion (2π/L)²/12.
pub fn uniform_circle_codebook(bits: u8) -> Codebook {
    let levels = 1usize << bits;
    let step = 2.0 * PI / levels as f64;
    let c = (0..levels).map(|i| (i as f64 + 0.5) * step).collect();
    Codebook::from_centroids(c, step * step / 12.0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_integrates_degree_15_exactly() {
        // ∫_{-1}^{1} t^14 dt = 2/15.
        let s: f64 = (0..4)
            .map(|k| 2.0 * GL_W[k] * GL_X[k].powi(14))
            .sum::<f64>();
        assert!((s - 2.0 / 15.0).abs() < 1e-14, "{s}");
        let w: f64 = GL_W.iter().sum::<f64>() * 2.0;
        assert!((w - 2.0).abs() < 1e-14);
    }

    #[test]
    fn large_d_matches_the_gaussian_lloyd_max_table() {
        // Max (1960) centroids for N(0,1), positive half (algorithms.md §1.4).
        let table: [&[f64]; 4] = [
            &[0.7979],
            &[0.4528, 1.5104],
            &[0.2451, 0.7560, 1.3439, 2.1519],
            &[
                0.1284, 0.3880, 0.6568, 0.9423, 1.2562, 1.6180, 2.0690, 2.7326,
            ],
        ];
        let d = 1_000_000usize;
        for (b, want) in table.iter().enumerate() {
            let cb = beta_codebook(b as u8 + 1, d);
            let half = &cb.centroids[cb.levels() / 2..];
            for (c, w) in half.iter().zip(want.iter()) {
                // Table rounded to 4 decimals; finite d shifts by O(1/d).
                assert!(
                    (c * (d as f64).sqrt() - w).abs() < 1e-3,
                    "b={} {c} {w}",
                    b + 1
                );
            }
        }
    }

    #[test]
    fn uniform_law_at_d3_gives_the_uniform_grid() {
        // d = 3: t is uniform on [−1, 1]; the optimal 4-level quantizer is the uniform grid.
        let cb = beta_codebook(2, 3);
        for (c, w) in cb.centroids.iter().zip([-0.75, -0.25, 0.25, 0.75]) {
            assert!((c - w).abs() < 1e-9, "{c}");
        }
        assert!((cb.distortion - 0.5f64.powi(2) / 12.0).abs() < 1e-12);
    }
}
