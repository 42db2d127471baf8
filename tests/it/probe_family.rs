//! The family probe (P7) against closed forms and controls: the chance level Σ n_f(n_f−1)/(n(n−1))
//! by hand and as the mean over random relabellings; clustered rows recovered far above chance;
//! permuted labels (the origin's index mismatch) back at chance within a derived tolerance; the
//! Base17 projection and the isotropic |cos| expectation by hand.

use codecbench::data::Rows;
use codecbench::data::synthetic::{SyntheticKind, generate};
use codecbench::probe::family::{
    Partition, PartitionMethod, abs_cos_per_row, base17, family_metrics, hits, nearest_neighbours,
    partition,
};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

fn mean(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    f.iter().sum::<f64>() / f.len() as f64
}

#[test]
fn chance_is_sum_of_squared_shares_without_replacement() {
    let p = Partition::from_labels(vec![0, 0, 1, 1]);
    // Σ n_f (n_f − 1) / (n (n − 1)) = (2 + 2) / 12.
    assert!((p.chance() - 1.0 / 3.0).abs() < 1e-15);
    assert_eq!(Partition::from_labels(vec![5; 7]).chance(), 1.0);
    assert_eq!(Partition::from_labels(vec![0, 1, 2]).chance(), 0.0);
}

#[test]
fn chance_is_the_exact_mean_over_every_relabelling() {
    // All 6! orderings of the label multiset {0,0,0,1,1,2} against a fixed neighbour map: the
    // mean hit rate is exactly Σ n_f(n_f−1)/(n(n−1)) = (6 + 2 + 0)/30.
    let nn: Vec<Option<usize>> = (0..6).map(|i| Some((i + 1) % 6)).collect();
    let base = [0usize, 0, 0, 1, 1, 2];
    let mut total = 0.0;
    let mut count = 0.0;
    let mut idx: Vec<usize> = (0..6).collect();
    // Heap's algorithm over positions.
    fn heap(k: usize, idx: &mut Vec<usize>, f: &mut dyn FnMut(&[usize])) {
        if k == 1 {
            f(idx);
            return;
        }
        for i in 0..k {
            heap(k - 1, idx, f);
            let j = if k.is_multiple_of(2) { i } else { 0 };
            idx.swap(j, k - 1);
        }
    }
    heap(6, &mut idx, &mut |perm| {
        let p = Partition::from_labels(perm.iter().map(|&i| base[i]).collect());
        total += mean(&hits(&nn, &p));
        count += 1.0;
    });
    assert_eq!(count, 720.0);
    let want = Partition::from_labels(base.to_vec()).chance();
    assert!((want - 8.0 / 30.0).abs() < 1e-15);
    assert!(
        (total / count - want).abs() < 1e-12,
        "{} vs {want}",
        total / count
    );
}

#[test]
fn nearest_neighbours_by_cosine_by_hand() {
    let rows = Rows::new(2, vec![1.0, 0.0, 0.9, 0.1, 0.0, 1.0, 0.0, 0.0, -1.0, 0.05]);
    let nn = nearest_neighbours(&rows);
    assert_eq!(nn, vec![Some(1), Some(0), Some(1), None, Some(2)]);
}

#[test]
fn shuffled_labels_sit_at_chance() {
    let rows = generate(SyntheticKind::Clustered, 600, 24, 3);
    let nn = nearest_neighbours(&rows);
    let good = partition(PartitionMethod::KMeans, &rows, 16, 1).unwrap();
    let c = good.chance();
    // Under a uniformly random relabelling (sizes fixed), each row's hit has mean exactly
    // `chance`; averaged over n rows the spread is about sqrt(c(1−c)/n) (hits are weakly
    // dependent), so 5 of those is a safe tolerance for one shuffle …
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let n = rows.len() as f64;
    let tol = 5.0 * (c * (1.0 - c) / n).sqrt();
    let mut means = Vec::new();
    for _ in 0..200 {
        let mut labels = good.labels().to_vec();
        labels.shuffle(&mut rng);
        let shuffled = Partition::from_labels(labels);
        assert_eq!(shuffled.chance(), c, "shuffling keeps the family sizes");
        let m = mean(&hits(&nn, &shuffled));
        assert!(
            (m - c).abs() < tol,
            "shuffled recall {m} vs chance {c} ± {tol}"
        );
        means.push(m);
    }
    // … and the average over 200 shuffles pins the chance formula itself (√200 tighter).
    let avg = mean(&means);
    assert!(
        (avg - c).abs() < tol / 200f64.sqrt() * 2.0,
        "mean over shuffles {avg} vs {c}"
    );
    // The index-consistent labels are far above it.
    let m = mean(&hits(&nn, &good));
    assert!(
        m > 0.95 && m > c + 0.5,
        "k-means on clustered rows: {m} (chance {c})"
    );
}

#[test]
fn clustered_rows_are_recovered_and_isotropic_rows_are_not() {
    let methods = PartitionMethod::ALL;
    let get = |rows: &Rows, method: &str, metric: &str| -> (f64, Option<f64>) {
        let m = family_metrics(rows, 16, &methods, 100, 5).unwrap();
        let (_, v) = m
            .into_iter()
            .find(|(c, v)| c == method && v.name == metric)
            .unwrap_or_else(|| panic!("{method} {metric}"));
        (v.estimate.value.unwrap(), v.chance)
    };
    let clustered = generate(SyntheticKind::Clustered, 256, 32, 11);
    for method in [
        "kmeans",
        "kmeans-direction",
        "base17-palette",
        "base17-palette-direction",
    ] {
        let (k, _) = get(&clustered, method, "family.kappa");
        assert!(k > 0.3, "{method} on clustered rows: κ {k}");
    }
    // n = 256 = the palette size: every row is its own palette entry, so the origin's lookup by
    // palette position is a pure permutation of the labels — chance, as §7.3 says.
    let (k, _) = get(&clustered, "base17-origin-mapping", "family.kappa");
    let (kr, _) = get(&clustered, "random", "family.kappa");
    assert!(k.abs() < 0.12, "origin mapping κ {k}");
    assert!(kr.abs() < 0.12, "random κ {kr}");
    let (r, chance) = get(&clustered, "random", "family.recall");
    assert!((r - chance.unwrap()).abs() < 5.0 * (chance.unwrap() / 256.0).sqrt());
    // Structure beyond locality: clustered ≫ Gaussian control; an isotropic population ≈ 0.
    let (excess, _) = get(&clustered, "kmeans", "family.kappa_vs_gaussian");
    assert!(excess > 0.3, "clustered excess κ {excess}");
    let gaussian = generate(SyntheticKind::Gaussian, 256, 32, 12);
    let (excess, _) = get(&gaussian, "kmeans", "family.kappa_vs_gaussian");
    assert!(excess.abs() < 0.15, "isotropic excess κ {excess}");
}

#[test]
fn labels_stay_attached_to_row_ids_under_a_row_permutation() {
    // Permute the rows; the permuted rows' labels, read back through the permutation, must give
    // the same within-family recall as any valid labelling of the same rows would: recall is a
    // property of (row, label) pairs, not of positions.
    let rows = generate(SyntheticKind::Clustered, 300, 16, 21);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(4));
    let permuted = rows.select(&order);
    let p = partition(PartitionMethod::KMeans, &permuted, 16, 2).unwrap();
    let nn_perm = nearest_neighbours(&permuted);
    let on_perm = mean(&hits(&nn_perm, &p));
    // Carry the labels back to the original row ids.
    let mut back = vec![0; rows.len()];
    for (pos, &row) in order.iter().enumerate() {
        back[row] = p.label(pos);
    }
    let on_orig = mean(&hits(
        &nearest_neighbours(&rows),
        &Partition::from_labels(back),
    ));
    assert!((on_perm - on_orig).abs() < 1e-12);
    // Reading the labels by position instead (the origin's bug) destroys it.
    let wrong = Partition::from_labels(p.labels().to_vec());
    let on_wrong = mean(&hits(&nearest_neighbours(&rows), &wrong));
    assert!(
        on_orig > 0.9 && on_wrong < on_orig - 0.5,
        "{on_orig} vs {on_wrong}"
    );
}

#[test]
fn base17_by_hand() {
    // Constant rows: every bucket mean is v, stored as round(256 v).
    assert_eq!(base17(&[0.5; 34]), [128; 17]);
    // Row of 17 values x_i = i / 256: bucket bi holds coordinate (11 · bi) mod 17 only.
    let row: Vec<f32> = (0..17).map(|i| i as f32 / 256.0).collect();
    let b = base17(&row);
    for (bi, &v) in b.iter().enumerate() {
        assert_eq!(v as usize, (11 * bi) % 17);
    }
    // Clamped to i16.
    assert_eq!(base17(&[1e6; 17]), [i16::MAX; 17]);
}

#[test]
fn isotropic_abs_cos_expectation_by_hand() {
    // E|cos| of uniform directions: 2/π in 2 dims, 1/2 in 3 dims.
    let (_, iso2) = abs_cos_per_row(&Rows::new(2, vec![1.0, 0.0, 0.0, 1.0]));
    assert!((iso2 - 2.0 / std::f64::consts::PI).abs() < 1e-12);
    let (per, iso3) = abs_cos_per_row(&Rows::new(
        3,
        vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
    ));
    assert!((iso3 - 0.5).abs() < 1e-12);
    let s = std::f64::consts::FRAC_1_SQRT_2;
    assert!((per[0] - s / 2.0).abs() < 1e-12 && (per[2] - s).abs() < 1e-12);
    // Many Gaussian rows land on the expectation.
    let g = generate(SyntheticKind::Gaussian, 400, 64, 2);
    let (per, iso) = abs_cos_per_row(&g);
    assert!(
        (mean(&per) - iso).abs() < 0.05 * iso,
        "{} vs {iso}",
        mean(&per)
    );
}

#[test]
fn base17_methods_need_a_power_of_two() {
    let rows = generate(SyntheticKind::Gaussian, 40, 8, 1);
    assert!(partition(PartitionMethod::Base17Palette, &rows, 12, 0).is_err());
    let p = partition(PartitionMethod::Base17Palette, &rows, 8, 0).unwrap();
    assert!(p.labels().iter().all(|&l| l < 8));
}
