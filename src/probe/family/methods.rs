//! The partition methods' algorithms behind [`super::partition`]: the origin's Base17
//! projection, farthest-point palette (L1) and recursive binary split (`HhtlCache`,
//! `build_hip_families`), its index-mismatched direction mapping reproduced, and k-means on raw or
//! unit rows. Labels only; what the probe measures with them is in the parent module.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::data::Rows;

/// Base17 palette labels of `rows` (origin method A on the rows given): the farthest-point
/// palette, its binary split `depth` levels deep, and each row labelled by its nearest entry's
/// family.
pub(super) fn base17_labels(rows: &Rows, depth: u32) -> Vec<usize> {
    let b = base17_all(rows);
    let pal = farthest_point_palette(&b, PALETTE_MAX);
    let fam = hip_families(&b, &pal, depth);
    (0..rows.len())
        .map(|i| fam[nearest_entry(&b[i], &b, &pal)])
        .collect()
}

/// Origin method B as written: direction families indexed by row, looked up by the joint
/// palette's position.
pub(super) fn base17_origin_mapping(rows: &Rows, depth: u32) -> Vec<usize> {
    // The joint palette decides each row's palette *position* ci …
    let joint = base17_all(rows);
    let pal = farthest_point_palette(&joint, PALETTE_MAX);
    // … while the direction families are built over rows 0..k *by row index* …
    let unit = base17_all(&unit_rows(rows));
    let by_row: Vec<usize> = (0..pal.len()).collect();
    let fam = hip_families(&unit, &by_row, depth);
    // … and looked up with ci: hip_polar[ci] (`polarquant_hip_probe.rs`).
    (0..rows.len())
        .map(|i| fam[nearest_entry(&joint[i], &joint, &pal)])
        .collect()
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
