//! P7, family (partition) recall: split rows into F families and ask how often a row's exact
//! nearest neighbour (raw cosine) lands in the row's own family. The origin's version compared a
//! joint Base17 palette with a "PolarQuant" (direction-only) palette and concluded the latter was
//! worse — but its direction labels were looked up by *palette position* while the families were
//! built by *row index*, a permutation that puts them at chance (`origin.md` §3 P7, §7.3).
//!
//! Here a [`Partition`] is a label per row id and nothing else: every method returns its labels
//! indexed by the row they describe, and recall reads them by row id. Each recall is reported
//! with its chance level — the probability that a random *other* row shares the label,
//! `Σ_f n_f (n_f − 1) / (n (n − 1))` (Σ p_f² without replacement) — and with the chance-corrected
//! `κ = (recall − chance) / (1 − chance)`, which makes partitions of different balance
//! comparable. CIs bootstrap over rows.
//!
//! Methods: k-means (k-means++ init, Lloyd), the same on unit-normalised rows (direction only),
//! the origin's Base17 farthest-point palette with its recursive binary split (joint, and on unit
//! rows with index-consistent labels), the origin's own mapping reproduced (labels through the
//! wrong index), and uniform random labels.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::data::Rows;
use crate::data::catalog::stable_hash;
use crate::error::{Error, Result};
use crate::metric::bootstrap::mean_ci;
use crate::metric::suite::MetricValue;

/// How rows are split into families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionMethod {
    /// k-means (L2) on the raw rows.
    KMeans,
    /// k-means on unit-normalised rows: direction only.
    KMeansDirection,
    /// Base17 of the raw rows, farthest-point palette (L1), recursive binary split; a row's
    /// family is its nearest palette entry's (origin method A).
    Base17Palette,
    /// The same on unit-normalised rows, labels by row id (origin method B done right).
    Base17PaletteDirection,
    /// Origin method B as written: direction families indexed by row, looked up by the joint
    /// palette's position — a permutation of the labels.
    Base17OriginMapping,
    /// Uniform random labels.
    Random,
}

impl PartitionMethod {
    /// Every method, in report order.
    pub const ALL: [PartitionMethod; 6] = [
        PartitionMethod::KMeans,
        PartitionMethod::KMeansDirection,
        PartitionMethod::Base17Palette,
        PartitionMethod::Base17PaletteDirection,
        PartitionMethod::Base17OriginMapping,
        PartitionMethod::Random,
    ];

    /// Name in results (the `codec` column).
    pub fn name(self) -> &'static str {
        match self {
            PartitionMethod::KMeans => "kmeans",
            PartitionMethod::KMeansDirection => "kmeans-direction",
            PartitionMethod::Base17Palette => "base17-palette",
            PartitionMethod::Base17PaletteDirection => "base17-palette-direction",
            PartitionMethod::Base17OriginMapping => "base17-origin-mapping",
            PartitionMethod::Random => "random",
        }
    }

    /// One-line description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            PartitionMethod::KMeans => "k-means (k-means++ init, Lloyd, L2) on raw rows",
            PartitionMethod::KMeansDirection => "k-means on unit-normalised rows (direction only)",
            PartitionMethod::Base17Palette => {
                "origin A: Base17, farthest-point palette (L1), binary split; label of nearest entry"
            }
            PartitionMethod::Base17PaletteDirection => {
                "origin B done right: the same on unit rows, labels by row id"
            }
            PartitionMethod::Base17OriginMapping => {
                "origin B as written: direction families looked up by joint palette position (index mismatch)"
            }
            PartitionMethod::Random => "uniform random labels",
        }
    }
}

/// Family labels indexed by row id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    labels: Vec<usize>,
}

impl Partition {
    /// Labels of rows `0..n`, in row order.
    pub fn from_labels(labels: Vec<usize>) -> Self {
        Partition { labels }
    }

    /// The label of row `i`.
    pub fn label(&self, i: usize) -> usize {
        self.labels[i]
    }

    /// All labels, by row id.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Families with at least one row.
    pub fn families_used(&self) -> usize {
        let mut l = self.labels.clone();
        l.sort_unstable();
        l.dedup();
        l.len()
    }

    /// Probability that a uniformly random *other* row shares a row's label:
    /// `Σ_f n_f (n_f − 1) / (n (n − 1))`.
    pub fn chance(&self) -> f64 {
        let n = self.labels.len();
        if n < 2 {
            return 0.0;
        }
        let mut sizes = std::collections::BTreeMap::<usize, usize>::new();
        for &l in &self.labels {
            *sizes.entry(l).or_default() += 1;
        }
        let same: f64 = sizes.values().map(|&c| (c * (c - 1)) as f64).sum();
        same / (n * (n - 1)) as f64
    }
}

/// Split `rows` into (at most) `families` families; `families` must be a power of two ≥ 2 for
/// the Base17 methods (their binary split), any value ≥ 1 otherwise.
pub fn partition(
    method: PartitionMethod,
    rows: &Rows,
    families: usize,
    seed: u64,
) -> Result<Partition> {
    let n = rows.len();
    let depth = || -> Result<u32> {
        if families >= 2 && families.is_power_of_two() {
            Ok(families.trailing_zeros())
        } else {
            Err(Error::InvalidPlan {
                field: "--families",
                reason: format!(
                    "{families}: the Base17 binary split needs a power of two ≥ 2 (e.g. 16)"
                ),
            })
        }
    };
    let seed = seed ^ stable_hash(method.name());
    Ok(Partition::from_labels(match method {
        PartitionMethod::KMeans => kmeans(rows, families, seed),
        PartitionMethod::KMeansDirection => kmeans(&unit_rows(rows), families, seed),
        PartitionMethod::Base17Palette => {
            let b = base17_all(rows);
            let pal = farthest_point_palette(&b, PALETTE_MAX);
            let fam = hip_families(&b, &pal, depth()?);
            (0..n)
                .map(|i| fam[nearest_entry(&b[i], &b, &pal)])
                .collect()
        }
        PartitionMethod::Base17PaletteDirection => {
            let b = base17_all(&unit_rows(rows));
            let pal = farthest_point_palette(&b, PALETTE_MAX);
            let fam = hip_families(&b, &pal, depth()?);
            (0..n)
                .map(|i| fam[nearest_entry(&b[i], &b, &pal)])
                .collect()
        }
        PartitionMethod::Base17OriginMapping => {
            // The joint palette decides each row's palette *position* ci …
            let joint = base17_all(rows);
            let pal = farthest_point_palette(&joint, PALETTE_MAX);
            // … while the direction families are built over rows 0..k *by row index* …
            let unit = base17_all(&unit_rows(rows));
            let by_row: Vec<usize> = (0..pal.len()).collect();
            let fam = hip_families(&unit, &by_row, depth()?);
            // … and looked up with ci: hip_polar[ci] (`polarquant_hip_probe.rs`).
            (0..n)
                .map(|i| fam[nearest_entry(&joint[i], &joint, &pal)])
                .collect()
        }
        PartitionMethod::Random => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..n).map(|_| rng.random_range(0..families)).collect()
        }
    }))
}

/// Index of each row's exact nearest neighbour by raw cosine among the other rows (ties to the
/// lower index). Zero rows have no defined cosine; their neighbour is `None` and nobody picks them.
pub fn nearest_neighbours(rows: &Rows) -> Vec<Option<usize>> {
    let norms: Vec<f64> = rows
        .iter()
        .map(|r| crate::codec::dot_f64(r, r).sqrt())
        .collect();
    (0..rows.len())
        .into_par_iter()
        .map(|i| {
            if norms[i] == 0.0 {
                return None;
            }
            let mut best: Option<(usize, f64)> = None;
            for (j, r) in rows.iter().enumerate() {
                if j == i || norms[j] == 0.0 {
                    continue;
                }
                let c = crate::codec::dot_f64(rows.row(i), r) / norms[j];
                if best.is_none_or(|(_, b)| c > b) {
                    best = Some((j, c));
                }
            }
            best.map(|(j, _)| j)
        })
        .collect()
}

/// Per row: 1 if its nearest neighbour shares its label, 0 if not, NaN without a neighbour.
pub fn hits(nn: &[Option<usize>], p: &Partition) -> Vec<f64> {
    nn.iter()
        .enumerate()
        .map(|(i, j)| match j {
            Some(j) => f64::from(u8::from(p.label(i) == p.label(*j))),
            None => f64::NAN,
        })
        .collect()
}

/// Mean |cosine| over all pairs of distinct nonzero rows, per row (the row's mean over its
/// pairs), and the expectation for uniformly random directions in `d` dimensions,
/// `Γ(d/2) / (√π Γ((d+1)/2))`.
pub fn abs_cos_per_row(rows: &Rows) -> (Vec<f64>, f64) {
    let norms: Vec<f64> = rows
        .iter()
        .map(|r| crate::codec::dot_f64(r, r).sqrt())
        .collect();
    let per: Vec<f64> = (0..rows.len())
        .into_par_iter()
        .map(|i| {
            if norms[i] == 0.0 {
                return f64::NAN;
            }
            let (mut s, mut c) = (0.0, 0.0);
            for (j, r) in rows.iter().enumerate() {
                if j != i && norms[j] > 0.0 {
                    s += (crate::codec::dot_f64(rows.row(i), r) / (norms[i] * norms[j])).abs();
                    c += 1.0;
                }
            }
            if c > 0.0 { s / c } else { f64::NAN }
        })
        .collect();
    let d = rows.dim() as f64;
    let ln_gamma = statrs::function::gamma::ln_gamma;
    let iso = (ln_gamma(d / 2.0) - ln_gamma((d + 1.0) / 2.0)).exp() / std::f64::consts::PI.sqrt();
    (per, iso)
}

/// Family-probe metrics for one population: per method `family.recall` (chance = Σp²),
/// `family.kappa`, `family.used`; the paired differences of κ that the hypotheses read
/// (`family.diff:A−B`); and the geometry row `geometry.abs_cos`. Returns (method name or
/// `(population)`, metric) pairs.
pub fn family_metrics(
    rows: &Rows,
    families: usize,
    methods: &[PartitionMethod],
    resamples: usize,
    seed: u64,
) -> Result<Vec<(String, MetricValue)>> {
    let nn = nearest_neighbours(rows);
    let mut out = Vec::new();
    let mut kappas: Vec<(PartitionMethod, Vec<f64>)> = Vec::new();
    for &m in methods {
        let p = partition(m, rows, families, seed)?;
        let h = hits(&nn, &p);
        let chance = p.chance();
        let kappa: Vec<f64> = h.iter().map(|x| (x - chance) / (1.0 - chance)).collect();
        let s = seed ^ stable_hash(m.name());
        out.push((
            m.name().to_string(),
            MetricValue {
                name: "family.recall".to_string(),
                estimate: mean_ci(&h, resamples, s),
                chance: Some(chance),
                note: Some(format!(
                    "fraction of rows whose exact NN (raw cosine) shares their family; chance = Σ n_f(n_f−1)/(n(n−1)); {} of {families} families used; {}",
                    p.families_used(),
                    m.describe()
                )),
            },
        ));
        out.push((
            m.name().to_string(),
            MetricValue {
                name: "family.kappa".to_string(),
                estimate: mean_ci(&kappa, resamples, s),
                chance: Some(0.0),
                note: Some("(recall − chance) / (1 − chance)".to_string()),
            },
        ));
        kappas.push((m, kappa));
    }
    let pairs = [
        (PartitionMethod::KMeans, PartitionMethod::KMeansDirection),
        (
            PartitionMethod::Base17Palette,
            PartitionMethod::Base17PaletteDirection,
        ),
        (
            PartitionMethod::Base17PaletteDirection,
            PartitionMethod::Base17OriginMapping,
        ),
    ];
    for (a, b) in pairs {
        let (Some(ka), Some(kb)) = (
            kappas.iter().find(|(m, _)| *m == a),
            kappas.iter().find(|(m, _)| *m == b),
        ) else {
            continue;
        };
        let d: Vec<f64> = ka.1.iter().zip(&kb.1).map(|(x, y)| x - y).collect();
        out.push((
            "(population)".to_string(),
            MetricValue {
                name: format!("family.diff:{}-{}", a.name(), b.name()),
                estimate: mean_ci(&d, resamples, seed ^ stable_hash(&format!("{a:?}{b:?}"))),
                chance: Some(0.0),
                note: Some(format!(
                    "κ({}) − κ({}), paired over rows",
                    a.name(),
                    b.name()
                )),
            },
        ));
    }
    // Locality alone puts a row's NN in its own k-means cell even without clusters: the same
    // k-means on isotropic Gaussian rows of the same shape is the baseline of "no clustering".
    if methods.contains(&PartitionMethod::KMeans) && rows.len() >= 2 {
        let control = crate::data::synthetic::generate(
            crate::data::synthetic::SyntheticKind::Gaussian,
            rows.len(),
            rows.dim(),
            seed ^ 0x6761_7573,
        );
        let cp = partition(PartitionMethod::KMeans, &control, families, seed)?;
        let ch = hits(&nearest_neighbours(&control), &cp);
        let cc = cp.chance();
        let ck: Vec<f64> = ch.iter().map(|x| (x - cc) / (1.0 - cc)).collect();
        if let Some((_, k)) = kappas.iter().find(|(m, _)| *m == PartitionMethod::KMeans) {
            // Two independent samples of equal size: resampling both with the same indices is
            // a valid bootstrap of the difference of means (the pairing carries no information).
            let d: Vec<f64> = k.iter().zip(&ck).map(|(a, b)| a - b).collect();
            out.push((
                PartitionMethod::KMeans.name().to_string(),
                MetricValue {
                    name: "family.kappa_vs_gaussian".to_string(),
                    estimate: mean_ci(&d, resamples, seed ^ 0x6b76_6773),
                    chance: Some(0.0),
                    note: Some(format!(
                        "κ(k-means) here minus κ(k-means) on {} isotropic Gaussian rows of dim {} (κ there {:.3}): NN structure beyond what locality alone gives",
                        rows.len(),
                        rows.dim(),
                        ck.iter().filter(|v| v.is_finite()).sum::<f64>() / ck.len() as f64
                    )),
                },
            ));
        }
    }
    let (per, iso) = abs_cos_per_row(rows);
    out.push((
        "(population)".to_string(),
        MetricValue {
            name: "geometry.abs_cos".to_string(),
            estimate: mean_ci(&per, resamples, seed ^ 0x6765_6f6d),
            chance: Some(iso),
            note: Some(
                "mean |cos| of pairs of distinct rows (CI over rows); chance = E|cos| of random directions in d dims"
                    .to_string(),
            ),
        },
    ));
    Ok(out)
}

/// Palette size cap of the origin's `HhtlCache` (`k ≤ 256`).
pub const PALETTE_MAX: usize = 256;

/// The origin's golden-step order of the 17 base dims: `(i · 11) mod 17`.
const GOLDEN_POS: [usize; 17] = {
    let mut p = [0; 17];
    let mut i = 0;
    while i < 17 {
        p[i] = (i * 11) % 17;
        i += 1;
    }
    p
};

/// Base17 of one row (`origin.md` §1.1): base dim `bi` is the mean of the coordinates
/// `oct·17 + GOLDEN_POS[bi]` over the octaves that have it, stored as `round(mean · 256)`
/// clamped to i16.
pub fn base17(row: &[f32]) -> [i16; 17] {
    let mut out = [0i16; 17];
    for (bi, o) in out.iter_mut().enumerate() {
        let (mut sum, mut count) = (0.0f64, 0usize);
        for idx in (GOLDEN_POS[bi]..row.len()).step_by(17) {
            sum += f64::from(row[idx]);
            count += 1;
        }
        let mean = if count > 0 { sum / count as f64 } else { 0.0 };
        *o = (mean * 256.0)
            .round()
            .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
    }
    out
}

fn base17_all(rows: &Rows) -> Vec<[i16; 17]> {
    rows.iter().map(base17).collect()
}

fn l1(a: &[i16; 17], b: &[i16; 17]) -> u32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (i32::from(x) - i32::from(y)).unsigned_abs())
        .sum()
}

/// Farthest-point palette under L1 (origin `HhtlCache::from_base17_rows`): start at row 0, then
/// repeatedly add the row farthest from the chosen set; `min(n, max_k)` entries, as row ids.
fn farthest_point_palette(b: &[[i16; 17]], max_k: usize) -> Vec<usize> {
    use crate::linalg::farthest::{Stop, farthest_point};
    farthest_point(b.len(), max_k, 0, |i, c| l1(&b[i], &b[c]), Stop::AtK)
}

/// Position (in `palette`) of the palette entry nearest to `x` under L1, ties to the first.
fn nearest_entry(x: &[i16; 17], b: &[[i16; 17]], palette: &[usize]) -> usize {
    let mut best = (0, u32::MAX);
    for (pos, &r) in palette.iter().enumerate() {
        let d = l1(x, &b[r]);
        if d < best.1 {
            best = (pos, d);
        }
    }
    best.0
}

/// The origin's `build_hip_families`: a recursive binary split `depth` levels deep over the
/// palette entries; each node finds its farthest pair (L1) and sends every member to the nearer
/// pole (ties left); the family id adds `2^(depth−1−level)` for a right turn. Returns, per
/// palette position, its family.
fn hip_families(b: &[[i16; 17]], palette: &[usize], depth: u32) -> Vec<usize> {
    let mut fam = vec![0usize; palette.len()];
    fn split(
        b: &[[i16; 17]],
        palette: &[usize],
        members: Vec<usize>,
        level: u32,
        depth: u32,
        base: usize,
        fam: &mut [usize],
    ) {
        if level == depth || members.len() <= 1 {
            for m in members {
                fam[m] = base;
            }
            return;
        }
        let (mut pa, mut pb, mut far) = (members[0], members[0], 0u32);
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let d = l1(&b[palette[i]], &b[palette[j]]);
                if d > far {
                    (pa, pb, far) = (i, j, d);
                }
            }
        }
        let (mut left, mut right) = (Vec::new(), Vec::new());
        for m in members {
            let (da, db) = (
                l1(&b[palette[m]], &b[palette[pa]]),
                l1(&b[palette[m]], &b[palette[pb]]),
            );
            if da <= db {
                left.push(m);
            } else {
                right.push(m);
            }
        }
        let bit = 1usize << (depth - 1 - level);
        split(b, palette, left, level + 1, depth, base, fam);
        split(b, palette, right, level + 1, depth, base + bit, fam);
    }
    split(
        b,
        palette,
        (0..palette.len()).collect(),
        0,
        depth,
        0,
        &mut fam,
    );
    fam
}

/// Rows scaled to unit length (zero rows stay zero).
pub fn unit_rows(rows: &Rows) -> Rows {
    let mut data = Vec::with_capacity(rows.len() * rows.dim());
    for r in rows.iter() {
        let n = crate::codec::dot_f64(r, r).sqrt();
        data.extend(r.iter().map(|&v| {
            if n > 0.0 {
                (f64::from(v) / n) as f32
            } else {
                0.0
            }
        }));
    }
    Rows::new(rows.dim(), data)
}

/// Lloyd's k-means with k-means++ seeding (Arthur & Vassilvitskii 2007); at most 50 rounds or
/// until no label changes. Empty clusters keep their previous centre.
pub fn kmeans(rows: &Rows, k: usize, seed: u64) -> Vec<usize> {
    let (n, d) = (rows.len(), rows.dim());
    let k = k.clamp(1, n.max(1));
    if n == 0 {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dist2 = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| {
                let t = f64::from(x) - f64::from(y);
                t * t
            })
            .sum()
    };
    let mut centres: Vec<Vec<f32>> = vec![rows.row(rng.random_range(0..n)).to_vec()];
    let mut best: Vec<f64> = rows.iter().map(|r| dist2(r, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = best.iter().sum();
        let next = if total > 0.0 {
            let mut u = rng.random::<f64>() * total;
            let mut pick = n - 1;
            for (i, &b) in best.iter().enumerate() {
                if u < b {
                    pick = i;
                    break;
                }
                u -= b;
            }
            pick
        } else {
            rng.random_range(0..n)
        };
        centres.push(rows.row(next).to_vec());
        let c = centres.last().cloned().unwrap_or_default();
        for (b, r) in best.iter_mut().zip(rows.iter()) {
            *b = b.min(dist2(r, &c));
        }
    }
    let mut labels = vec![usize::MAX; n];
    for _ in 0..50 {
        let new: Vec<usize> = (0..n)
            .into_par_iter()
            .map(|i| {
                let r = rows.row(i);
                let mut bi = 0;
                let mut bd = f64::INFINITY;
                for (c, centre) in centres.iter().enumerate() {
                    let dd = dist2(r, centre);
                    if dd < bd {
                        (bi, bd) = (c, dd);
                    }
                }
                bi
            })
            .collect();
        if new == labels {
            break;
        }
        labels = new;
        let mut sums = vec![vec![0.0f64; d]; k];
        let mut counts = vec![0usize; k];
        for (r, &l) in rows.iter().zip(&labels) {
            counts[l] += 1;
            for (s, &v) in sums[l].iter_mut().zip(r) {
                *s += f64::from(v);
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                centres[c] = sums[c]
                    .iter()
                    .map(|s| (s / counts[c] as f64) as f32)
                    .collect();
            }
        }
    }
    labels
}
