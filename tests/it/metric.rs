//! Numerical checks of `codecbench::metric`: hand-computed and SciPy reference values, the
//! O(n log n) Kendall against its O(n²) reference, invariants of the coefficients, the chance
//! level of recall, recall under ties (closed forms, a brute force over every tie-break, row-order
//! invariance), and the determinism and coverage of the bootstrap.

use codecbench::metric::bootstrap::{
    DEFAULT_RESAMPLES, Estimate, bootstrap, fisher_z_mean_ci, mean_ci, ratio_ci,
};
use codecbench::metric::correlation::{
    fisher_z_mean, kendall_tau_b, kendall_tau_b_naive, pearson, ranks, spearman,
};
use codecbench::metric::deviation::deviation;
use codecbench::metric::recall::{
    expected_overlap, recall_at_k, recall_chance, top_k_indices, topk_membership,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

fn assert_close(got: Option<f64>, want: f64, tol: f64) {
    let got = got.expect("expected a defined value");
    assert!(
        (got - want).abs() <= tol,
        "got {got}, want {want} (tol {tol})"
    );
}

fn uniform(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect()
}

fn small_ints(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| f64::from(rng.random_range(0_u8..5)))
        .collect()
}

/// Standard normal draws by Box–Muller (keeps the crate free of a distributions dependency).
fn normal(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
            let u2: f64 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        })
        .collect()
}

// ---------------------------------------------------------------- correlation: known values

#[test]
fn pearson_hand_computed() {
    // x = [1,2,3,4,5], y = [2,4,5,4,5]: means 3 and 4; deviations dx = [-2,-1,0,1,2],
    // dy = [-2,0,1,0,1]; Sxy = 4+0+0+0+2 = 6, Sxx = 10, Syy = 4+0+1+0+1 = 6;
    // r = 6 / sqrt(60) = 0.7745966692414834 (scipy.stats.pearsonr agrees).
    let r = pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 5.0, 4.0, 5.0]);
    assert_close(r, 6.0 / 60.0_f64.sqrt(), 1e-14);
    // Scale and shift do not matter, even at magnitudes whose squares would overflow.
    let big: Vec<f64> = [1.0, 2.0, 3.0, 4.0, 5.0]
        .iter()
        .map(|v| v * 1e200)
        .collect();
    let r = pearson(&big, &[2.0, 4.0, 5.0, 4.0, 5.0]);
    assert_close(r, 6.0 / 60.0_f64.sqrt(), 1e-14);
}

#[test]
fn ranks_average_ties() {
    assert_eq!(ranks(&[10.0, 20.0, 20.0, 30.0]), vec![1.0, 2.5, 2.5, 4.0]);
    assert_eq!(
        ranks(&[3.0, 1.0, 3.0, 3.0, 0.0]),
        vec![4.0, 2.0, 4.0, 4.0, 1.0]
    );
    assert_eq!(ranks(&[0.0, -0.0]), vec![1.5, 1.5]);
    assert_eq!(ranks(&[f64::NAN, 1.0]), vec![2.0, 1.0]);
    assert!(ranks(&[]).is_empty());
}

#[test]
fn spearman_with_ties_hand_computed() {
    // x = [1,2,2,3] ranks [1,2.5,2.5,4]; y = [1,3,2,4] ranks [1,3,2,4]; both means 2.5;
    // dx = [-1.5,0,0,1.5], dy = [-1.5,0.5,-0.5,1.5]; Sxy = 4.5, Sxx = 4.5, Syy = 5;
    // rho = 4.5 / sqrt(22.5) = 0.9486832980505138.
    // scipy 1.17.1: stats.spearmanr([1,2,2,3], [1,3,2,4])[0] == 0.9486832980505139
    let rho = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
    assert_close(rho, 4.5 / 22.5_f64.sqrt(), 1e-14);
}

#[test]
fn kendall_with_ties_matches_scipy() {
    // x = [1,2,2,3,4,4,5], y = [1,3,2,3,5,4,4]: n0 = 21 pairs, 2 tied in x, 2 tied in y, none
    // in both; 16 concordant, 1 discordant; tau_b = 15 / sqrt(19 * 19) = 15/19.
    // scipy 1.17.1: stats.kendalltau(x, y)[0] == 0.7894736842105262,
    //               stats.spearmanr(x, y)[0] == 0.8888888888888891
    let x = [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0];
    let y = [1.0, 3.0, 2.0, 3.0, 5.0, 4.0, 4.0];
    assert_close(kendall_tau_b(&x, &y), 15.0 / 19.0, 1e-14);
    assert_close(kendall_tau_b(&x, &y), 0.7894736842105262, 1e-14);
    assert_close(spearman(&x, &y), 0.8888888888888891, 1e-14);

    // Heavy ties: x_i = (7i + 3) mod 5, y_i = (i² + i/3) mod 4 for i in 0..20.
    // scipy 1.17.1: stats.kendalltau(x, y)[0] == 0.2100902925755561,
    //               stats.spearmanr(x, y)[0] == 0.30666075119997116
    let x: Vec<f64> = (0..20_u32).map(|i| f64::from((7 * i + 3) % 5)).collect();
    let y: Vec<f64> = (0..20_u32)
        .map(|i| f64::from((i * i + i / 3) % 4))
        .collect();
    assert_close(kendall_tau_b(&x, &y), 0.2100902925755561, 1e-14);
    assert_close(spearman(&x, &y), 0.30666075119997116, 1e-14);
}

#[test]
fn kendall_knight_matches_naive() {
    let lengths = [1, 2, 7, 65, 130, 1001];
    let mut rng = ChaCha8Rng::seed_from_u64(0x6b65_6e64);
    let mut defined = 0;
    for case in 0..50 {
        let n = lengths[case % lengths.len()];
        // Cycle through continuous/continuous, tied/tied and mixed sides.
        let (x, y) = match case % 4 {
            0 => (uniform(&mut rng, n), uniform(&mut rng, n)),
            1 => (small_ints(&mut rng, n), small_ints(&mut rng, n)),
            2 => (small_ints(&mut rng, n), uniform(&mut rng, n)),
            _ => {
                // Correlated with ties: y is a coarsened noisy copy of x.
                let x = small_ints(&mut rng, n);
                let y = x
                    .iter()
                    .map(|v| (v + rng.random_range(0.0..2.0)).floor())
                    .collect();
                (x, y)
            }
        };
        let fast = kendall_tau_b(&x, &y);
        let slow = kendall_tau_b_naive(&x, &y);
        match (fast, slow) {
            (Some(a), Some(b)) => {
                assert!((a - b).abs() <= 1e-12, "case {case} n {n}: {a} vs {b}");
                defined += 1;
            }
            (None, None) => assert!(n < 3 || x.iter().all(|&v| v == x[0])),
            (a, b) => panic!("case {case} n {n}: knight {a:?} vs naive {b:?}"),
        }
    }
    assert!(defined >= 40, "too few defined cases: {defined}");
}

// ---------------------------------------------------------------- correlation: invariants

#[test]
fn perfect_and_reversed_agreement() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = uniform(&mut rng, 101);
    let rev: Vec<f64> = x.iter().map(|v| -3.0 * v + 7.0).collect();
    for f in [pearson, spearman, kendall_tau_b] {
        assert_close(f(&x, &x), 1.0, 1e-12);
        assert_close(f(&x, &rev), -1.0, 1e-12);
    }
}

#[test]
fn rank_correlations_invariant_under_monotone_transforms() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = uniform(&mut rng, 257);
    let y: Vec<f64> = x.iter().map(|v| v + 0.5 * rng.random::<f64>()).collect();
    let exp_y: Vec<f64> = y.iter().map(|v| v.exp()).collect();
    let cube_y: Vec<f64> = y.iter().map(|v| v * v * v).collect();
    for f in [spearman, kendall_tau_b] {
        let base = f(&x, &y).unwrap();
        assert!(
            base > 0.3,
            "expected a clear positive association, got {base}"
        );
        assert_close(f(&x, &exp_y), base, 1e-12);
        assert_close(f(&x, &cube_y), base, 1e-12);
    }
    // Pearson is not rank-based, so the cube does change it.
    let p = pearson(&x, &y).unwrap();
    let p_cube = pearson(&x, &cube_y).unwrap();
    assert!((p - p_cube).abs() > 1e-3);
}

#[test]
fn coefficients_stay_in_range() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for case in 0..60 {
        let n = 2 + case;
        let x = if case % 2 == 0 {
            uniform(&mut rng, n)
        } else {
            small_ints(&mut rng, n)
        };
        let y = small_ints(&mut rng, n);
        for f in [pearson, spearman, kendall_tau_b] {
            if let Some(r) = f(&x, &y) {
                assert!((-1.0..=1.0).contains(&r), "case {case}: {r}");
            }
        }
    }
}

#[test]
fn undefined_inputs_give_none() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let constant = [2.5; 4];
    let near_constant = [0.1 + 0.2, 0.3, 0.30000000000000004, 0.3]; // rounding-level spread
    for f in [pearson, spearman, kendall_tau_b, kendall_tau_b_naive] {
        assert_eq!(f(&x, &constant), None);
        assert_eq!(f(&constant, &x), None);
        assert_eq!(f(&[], &[]), None);
        assert_eq!(f(&[1.0], &[2.0]), None);
        assert_eq!(f(&x, &[1.0, f64::NAN, 3.0, 4.0]), None);
    }
    assert_eq!(pearson(&x, &near_constant), None);
    assert_eq!(pearson(&x, &[1.0, f64::INFINITY, 3.0, 4.0]), None);
}

#[test]
fn fisher_z_pooling() {
    assert_close(fisher_z_mean(&[0.5, 0.5]), 0.5, 1e-12);
    let perfect = fisher_z_mean(&[1.0, 1.0]).unwrap();
    assert!(
        perfect.is_finite() && (perfect - 1.0).abs() <= 1e-12,
        "{perfect}"
    );
    // Symmetric inputs pool to zero; NaN entries are skipped.
    assert_close(fisher_z_mean(&[0.3, -0.3, f64::NAN]), 0.0, 1e-15);
    // tanh((atanh 0.2 + atanh 0.8) / 2): atanh 0.2 = 0.2027325540540822,
    // atanh 0.8 = 1.0986122886681098, mean 0.650672421361096, tanh = 0.5721224617320373.
    assert_close(fisher_z_mean(&[0.2, 0.8]), 0.5721224617320373, 1e-12);
    // Opposite perfect correlations: without the clamp this would be tanh(inf - inf) = NaN.
    assert_close(fisher_z_mean(&[1.0, -1.0]), 0.0, 1e-15);
    // A single correlation round-trips, including near ±1 where atanh is steep.
    for r in [-0.999_999, -0.8, 0.8, 0.999_999] {
        assert_close(fisher_z_mean(&[r]), r, 1e-12);
    }
    assert_eq!(fisher_z_mean(&[]), None);
    assert_eq!(fisher_z_mean(&[f64::NAN]), None);
}

// ---------------------------------------------------------------- recall

#[test]
fn top_k_order_ties_and_nan() {
    let s = [0.5, f64::NAN, 0.9, 0.5, -1.0, 0.9];
    assert_eq!(top_k_indices(&s, 3), vec![2, 5, 0]);
    assert_eq!(top_k_indices(&s, 6), vec![2, 5, 0, 3, 4, 1]);
    assert_eq!(top_k_indices(&s, 60), vec![2, 5, 0, 3, 4, 1]);
    assert!(top_k_indices(&s, 0).is_empty());
    assert!(top_k_indices(&[], 3).is_empty());
}

#[test]
fn recall_identical_and_edge_cases() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let t = uniform(&mut rng, 100);
    for k in [1, 10, 99, 100, 1000] {
        assert_eq!(recall_at_k(&t, &t, k), 1.0);
    }
    assert_eq!(recall_at_k(&t, &t, 0), 0.0);
    assert_eq!(recall_at_k(&[], &[], 5), 0.0);
    // Negated estimate: the top 10 becomes the bottom 10, overlap 0.
    let neg: Vec<f64> = t.iter().map(|v| -v).collect();
    assert_eq!(recall_at_k(&t, &neg, 10), 0.0);
    // Hand-made: truth top-2 = {0, 1}; estimate top-2 = {1, 3} -> 1/2.
    assert_eq!(
        recall_at_k(&[4.0, 3.0, 2.0, 1.0], &[0.0, 5.0, 1.0, 6.0], 2),
        0.5
    );
    assert_eq!(recall_chance(10, 100), 0.1);
    assert_eq!(recall_chance(10, 0), 0.0);
    assert_eq!(recall_chance(200, 100), 1.0);
}

#[test]
fn recall_of_random_ranking_is_chance() {
    // The estimate's top-k of a shuffled copy is a uniformly random k-subset, so the overlap X
    // with the true top-k is hypergeometric (population n, k successes, k draws):
    //   E[X] = k·k/n,  Var[X] = k (k/n) ((n-k)/n) ((n-k)/(n-1)).
    // Recall R = X/k: E[R] = k/n, Var[R] = (k/n)((n-k)/n)((n-k)/(n-1)) / k.
    // n = 100, k = 10: Var[R] = 0.1 · 0.9 · (90/99) / 10 = 0.0081818...; the mean of 2000
    // independent queries has standard error sqrt(0.0081818 / 2000) = 0.002023; we allow 4.
    let (n, k, queries) = (100_usize, 10_usize, 2000_usize);
    let (nf, kf) = (n as f64, k as f64);
    let var_r = (kf / nf) * ((nf - kf) / nf) * ((nf - kf) / (nf - 1.0)) / kf;
    let tol = 4.0 * (var_r / queries as f64).sqrt();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut total = 0.0;
    for _ in 0..queries {
        let truth = uniform(&mut rng, n);
        let mut est = truth.clone();
        est.shuffle(&mut rng);
        total += recall_at_k(&truth, &est, k);
    }
    let mean = total / queries as f64;
    let chance = recall_chance(k, n);
    assert!(
        (mean - chance).abs() <= tol,
        "mean recall {mean}, chance {chance}, tol {tol}"
    );
}

// ---------------------------------------------------------------- recall under ties

#[test]
fn topk_membership_closed_forms() {
    // 5 is above; the group {4, 4, 4} straddles rank 2 and fills the 1 slot left: 1/3 each.
    assert_eq!(
        topk_membership(&[5.0, 4.0, 4.0, 4.0, 1.0], 2),
        vec![1.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0]
    );
    // k at a group boundary: nothing straddles.
    assert_eq!(
        topk_membership(&[5.0, 4.0, 4.0, 4.0, 1.0], 4),
        vec![1.0, 1.0, 1.0, 1.0, 0.0]
    );
    // NaN ranks lowest and all NaNs tie: the two NaNs share the one slot below 2 and 1.
    assert_eq!(
        topk_membership(&[f64::NAN, 1.0, f64::NAN, 2.0], 3),
        vec![0.5, 1.0, 0.5, 1.0]
    );
    // -0.0 ties with 0.0.
    assert_eq!(topk_membership(&[0.0, -0.0, 1.0], 2), vec![0.5, 0.5, 1.0]);
    // k = 0: nothing; k at or above the length: everything.
    assert_eq!(topk_membership(&[3.0, 1.0, 3.0], 0), vec![0.0; 3]);
    assert_eq!(topk_membership(&[3.0, 1.0, 3.0], 3), vec![1.0; 3]);
    assert_eq!(topk_membership(&[3.0, 1.0, 3.0], 30), vec![1.0; 3]);
    assert!(topk_membership(&[], 3).is_empty());
    // Without ties it is the indicator of the index-based top-k.
    let mut rng = ChaCha8Rng::seed_from_u64(40);
    let t = uniform(&mut rng, 50);
    let mut want = vec![0.0; 50];
    for i in top_k_indices(&t, 7) {
        want[i] = 1.0;
    }
    assert_eq!(topk_membership(&t, 7), want);
    // With heavy ties the probabilities still sum to k: #above + group · (k − #above)/group,
    // n ≤ 200 terms each a multiple of 1/group, so the sum is within 200 ulp of k (1e-12).
    for k in [1, 5, 60, 199] {
        let s = small_ints(&mut rng, 200);
        let total: f64 = topk_membership(&s, k).iter().sum();
        assert!((total - k as f64).abs() <= 1e-12, "k {k}: sum {total}");
    }
}

#[test]
fn recall_under_ties_closed_forms() {
    // truth [5,4,4,4,1], k = 2: p_t = [1, 1/3, 1/3, 1/3, 0]; estimate [2,1,1,0,0]:
    // p_e = [1, 1/2, 1/2, 0, 0]. Σ p_t p_e = 1 + 2 · (1/3)(1/2) = 4/3; recall = 4/3 / 2 = 2/3.
    // Both come from one division of reduced integers (8/6 and 8/12), so correctly rounded.
    let (t, e) = ([5.0, 4.0, 4.0, 4.0, 1.0], [2.0, 1.0, 1.0, 0.0, 0.0]);
    assert_eq!(expected_overlap(&t, &e, 2), 4.0 / 3.0);
    assert_eq!(recall_at_k(&t, &e, 2), 2.0 / 3.0);
    // A constant estimate (every row tied) is chance, exactly: k/n, correctly rounded, for any
    // truth; an all-NaN estimate is one tied group too.
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    for n in [7, 100, 501] {
        let truth = uniform(&mut rng, n);
        let tied_truth = small_ints(&mut rng, n);
        for k in [1, 3, 10, 37, n - 1] {
            for est in [vec![0.25; n], vec![f64::NAN; n]] {
                assert_eq!(
                    recall_at_k(&truth, &est, k),
                    recall_chance(k, n),
                    "n {n} k {k}"
                );
                assert_eq!(
                    recall_at_k(&tied_truth, &est, k),
                    recall_chance(k, n),
                    "n {n} k {k}"
                );
            }
        }
    }
    // Every truth score tied (all NaN included): no top-k exists, recall is undefined (NaN)
    // for 0 < k < n; k ≥ n still recovers everything (1) and k = 0 is 0.
    let x = [0.3, 0.1, 0.2, 0.4];
    for flat in [[2.0; 4], [f64::NAN; 4], [0.0, -0.0, 0.0, -0.0]] {
        for k in 1..4 {
            assert!(recall_at_k(&flat, &x, k).is_nan(), "{flat:?} k {k}");
        }
        assert_eq!(recall_at_k(&flat, &x, 4), 1.0);
        assert_eq!(recall_at_k(&flat, &x, 9), 1.0);
        assert_eq!(recall_at_k(&flat, &x, 0), 0.0);
    }
    // A single NaN in the truth only ranks last.
    assert_eq!(recall_at_k(&[f64::NAN, 1.0, 2.0], &[0.0, 1.0, 2.0], 2), 1.0);
}

/// Lexicographic next permutation in place; `false` after the last one.
fn next_permutation(p: &mut [usize]) -> bool {
    let Some(i) = (1..p.len()).rev().find(|&i| p[i - 1] < p[i]) else {
        return false;
    };
    let j = (i..p.len()).rev().find(|&j| p[j] > p[i - 1]).unwrap();
    p.swap(i - 1, j);
    p[i..].reverse();
    true
}

/// The index-based top-k set (a bit mask of row ids) of every one of the n! orders the rows
/// can be put in before `top_k_indices` breaks ties by position: a uniformly random order is a
/// uniformly random tie-break. Mask → how many orders give it.
fn topk_sets_over_all_orders(scores: &[f64], k: usize) -> BTreeMap<u32, u128> {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut sets = BTreeMap::new();
    loop {
        let placed: Vec<f64> = order.iter().map(|&i| scores[i]).collect();
        let mask = top_k_indices(&placed, k)
            .iter()
            .fold(0_u32, |m, &pos| m | 1 << order[pos]);
        *sets.entry(mask).or_insert(0) += 1;
        if !next_permutation(&mut order) {
            return sets;
        }
    }
}

#[test]
fn recall_is_the_average_of_index_recall_over_every_tie_break() {
    // For n ≤ 8, every order of the rows in the truth and, independently, in the estimate:
    // the mean of index-based recall |T ∩ E| / k over all (n!)² pairs of orders, as an exact
    // integer ratio Σ c_T c_E |T ∩ E| / ((n!)² k). recall_at_k must equal it to 1e-12 (both
    // are ratios of exact integers rounded once or twice: a few ulp of a value ≤ 1). The
    // memberships must equal the share of orders that put the row in the top-k.
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut checked = 0;
    for n in 1..=8_usize {
        let orders: u128 = (1..=n as u128).product();
        for case in 0..4 {
            // Few levels, so that groups straddle k; sometimes a NaN or a signed zero.
            let mut draw = || -> Vec<f64> {
                (0..n)
                    .map(|_| match rng.random_range(0..10) {
                        0 if case % 2 == 1 => f64::NAN,
                        1 if case >= 2 => -0.0,
                        v => f64::from(v % 3),
                    })
                    .collect()
            };
            let (t, e) = (draw(), draw());
            for k in 0..=n + 1 {
                let (st, se) = (
                    topk_sets_over_all_orders(&t, k),
                    topk_sets_over_all_orders(&e, k),
                );
                for (scores, sets) in [(&t, &st), (&e, &se)] {
                    let p = topk_membership(scores, k);
                    for (j, &pj) in p.iter().enumerate() {
                        let hits: u128 = sets
                            .iter()
                            .filter(|(m, _)| *m & (1 << j) != 0)
                            .map(|(_, c)| c)
                            .sum();
                        let want = hits as f64 / orders as f64;
                        assert!((pj - want).abs() <= 1e-12, "{scores:?} k {k} row {j}");
                    }
                }
                let kk = k.min(n);
                let got = recall_at_k(&t, &e, k);
                let truth_tied = t
                    .iter()
                    .all(|x| x == &t[0] || (x.is_nan() && t[0].is_nan()));
                if kk == 0 {
                    assert_eq!(got, 0.0);
                    continue;
                }
                if truth_tied && kk < n {
                    // The average over orders is defined (k/n) but the truth has no top-k.
                    assert!(got.is_nan(), "{t:?} k {k}: {got}");
                    continue;
                }
                let mut overlap = 0_u128;
                for (mt, ct) in &st {
                    for (me, ce) in &se {
                        overlap += ct * ce * u128::from((mt & me).count_ones());
                    }
                }
                let want = overlap as f64 / (orders * orders * kk as u128) as f64;
                assert!(
                    (got - want).abs() <= 1e-12,
                    "t {t:?} e {e:?} k {k}: {got} vs brute force {want}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "too few defined cases: {checked}");
}

/// Index-based recall (the old definition): ties broken by lower row index.
fn index_recall(t: &[f64], e: &[f64], k: usize) -> f64 {
    let in_t = top_k_indices(t, k);
    let hits = top_k_indices(e, k)
        .iter()
        .filter(|i| in_t.contains(i))
        .count();
    hits as f64 / k as f64
}

#[test]
fn recall_does_not_depend_on_row_order() {
    // 40 queries × 500 rows of a 3-level estimate; the same reordering applied to a query's
    // truth and estimate (reversed, and a seeded shuffle) must leave recall@k unchanged. The
    // value comes from integer counts of tied groups, so it is the same up to the final
    // division's rounding; 1e-12 leaves room for any summation order.
    let (truth, est) = crate::util::codec_like_queries(40, 500, 43);
    let reversed: Vec<usize> = (0..500).rev().collect();
    let mut shuffled: Vec<usize> = (0..500).collect();
    shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(44));
    let mut index_recall_moved = false;
    for order in [&reversed, &shuffled] {
        let (t2, e2) = (
            crate::util::reorder(&truth, order),
            crate::util::reorder(&est, order),
        );
        for k in [1, 10, 37] {
            for q in 0..truth.len() {
                let (a, b) = (
                    recall_at_k(&truth[q], &est[q], k),
                    recall_at_k(&t2[q], &e2[q], k),
                );
                assert!(
                    a.is_finite() && (a - b).abs() <= 1e-12,
                    "q {q} k {k}: {a} vs {b}"
                );
                index_recall_moved |=
                    index_recall(&truth[q], &est[q], k) != index_recall(&t2[q], &e2[q], k);
            }
        }
    }
    // The data has teeth: breaking ties by row index does move recall.
    assert!(index_recall_moved);
}

// ---------------------------------------------------------------- deviation

#[test]
fn deviation_of_linear_transform() {
    // est = 2 t + 1 on t = [0,1,2,3]: errors e = t + 1 = [1,2,3,4];
    // bias = mae = 10/4 = 2.5, rmse = sqrt((1+4+9+16)/4) = sqrt(7.5).
    let t = [0.0, 1.0, 2.0, 3.0];
    let e: Vec<f64> = t.iter().map(|v| 2.0 * v + 1.0).collect();
    let d = deviation(&t, &e);
    assert!((d.bias - 2.5).abs() <= 1e-15);
    assert!((d.mae - 2.5).abs() <= 1e-15);
    assert!((d.rmse - 7.5_f64.sqrt()).abs() <= 1e-15);
    assert_close(d.slope, 2.0, 1e-14);
    assert_close(d.intercept, 1.0, 1e-14);
}

#[test]
fn deviation_edge_cases() {
    // Constant truth: no regression line, but errors are still defined. e = [-1, 1].
    let d = deviation(&[3.0, 3.0], &[2.0, 4.0]);
    assert_eq!((d.slope, d.intercept), (None, None));
    assert_eq!((d.bias, d.mae, d.rmse), (0.0, 1.0, 1.0));
    // Non-finite pairs are skipped.
    let d = deviation(&[0.0, f64::NAN, 1.0, 2.0], &[1.0, 5.0, f64::INFINITY, 3.0]);
    assert_eq!((d.bias, d.mae, d.rmse), (1.0, 1.0, 1.0));
    assert_close(d.slope, 1.0, 1e-15);
    // Nothing left: NaN errors, no line.
    let d = deviation(&[], &[]);
    assert!(d.mae.is_nan() && d.rmse.is_nan() && d.bias.is_nan());
    assert_eq!(d.slope, None);
}

// ---------------------------------------------------------------- bootstrap

#[test]
fn bootstrap_is_deterministic_per_seed() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let v = normal(&mut rng, 200);
    let a = mean_ci(&v, DEFAULT_RESAMPLES, 42);
    let b = mean_ci(&v, DEFAULT_RESAMPLES, 42);
    let c = mean_ci(&v, DEFAULT_RESAMPLES, 43);
    assert_eq!(a, b);
    assert_eq!(a.value, c.value);
    assert_ne!((a.ci_lo, a.ci_hi), (c.ci_lo, c.ci_hi));
}

#[test]
fn mean_ci_of_standard_normal() {
    let n = 400;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let v = normal(&mut rng, n);
    let e = mean_ci(&v, DEFAULT_RESAMPLES, 8);
    assert_eq!(e.n, n);
    let (lo, hi) = (e.ci_lo.unwrap(), e.ci_hi.unwrap());
    let value = e.value.unwrap();
    assert!(lo < value && value < hi, "{e:?}");
    assert!(lo < 0.0 && 0.0 < hi, "{e:?}");
    let half = (hi - lo) / 2.0;
    let want = 1.96 / (n as f64).sqrt();
    assert!(
        (half - want).abs() <= 0.25 * want,
        "half-width {half}, want ≈ {want}"
    );
}

#[test]
fn bootstrap_interval_is_type7_percentiles() {
    // A statistic that returns how many times it has been called: 0 for the full sample, then
    // 1, 2, ..., 101 for the resamples. Type-7 quantiles of 1..=101 (m = 101 values):
    // h = (m - 1) p; p = 0.025 gives h = 2.5, halfway between the 3rd and 4th values = 3.5;
    // p = 0.975 gives h = 97.5, halfway between 98 and 99 = 98.5.
    let calls = std::cell::Cell::new(0.0);
    let e = bootstrap(
        3,
        |_| {
            let c = calls.get();
            calls.set(c + 1.0);
            Some(c)
        },
        101,
        1,
    );
    assert_eq!(
        e,
        Estimate {
            value: Some(0.0),
            ci_lo: Some(3.5),
            ci_hi: Some(98.5),
            n: 3
        }
    );
}

#[test]
fn mean_ci_drops_non_finite() {
    let e = mean_ci(&[1.0, f64::NAN, 3.0, f64::INFINITY], 200, 1);
    assert_eq!(e.n, 2);
    assert_eq!(e.value, Some(2.0));
    let (lo, hi) = (e.ci_lo.unwrap(), e.ci_hi.unwrap());
    assert!(
        (1.0..=2.0).contains(&lo) && (2.0..=3.0).contains(&hi),
        "{e:?}"
    );
}

#[test]
fn bootstrap_degenerate_sizes() {
    let none = Estimate {
        value: None,
        ci_lo: None,
        ci_hi: None,
        n: 0,
    };
    assert_eq!(mean_ci(&[], 100, 1), none);
    assert_eq!(bootstrap(0, |_| Some(1.0), 100, 1), none);
    let one = mean_ci(&[4.0], 100, 1);
    assert_eq!(
        one,
        Estimate {
            value: Some(4.0),
            ci_lo: Some(4.0),
            ci_hi: Some(4.0),
            n: 1
        }
    );
    // Undefined statistic: no value, no interval, n kept.
    let undef = bootstrap(5, |_| None, 100, 1);
    assert_eq!(
        undef,
        Estimate {
            value: None,
            ci_lo: None,
            ci_hi: None,
            n: 5
        }
    );
    // Zero resamples: a value but no interval.
    let e = mean_ci(&[1.0, 2.0], 0, 1);
    assert_eq!((e.value, e.ci_lo, e.ci_hi), (Some(1.5), None, None));
}

#[test]
fn bootstrap_skips_undefined_resamples() {
    // Statistic defined only when the resample contains unit 0: intervals come from the rest.
    let vals = [10.0, 1.0, 2.0, 3.0];
    let e = bootstrap(
        vals.len(),
        |idx| {
            idx.contains(&0)
                .then(|| idx.iter().map(|&i| vals[i]).sum::<f64>())
        },
        500,
        9,
    );
    assert_eq!(e.value, Some(16.0));
    let (lo, hi) = (e.ci_lo.unwrap(), e.ci_hi.unwrap());
    assert!(10.0 + 3.0 <= lo && lo <= hi && hi <= 40.0, "{e:?}");
}

#[test]
fn ratio_ci_of_totals() {
    // Hits / relevant per query: Σ = 12 / 20 = 0.6, not the mean of per-query ratios (0.625).
    let num = [1.0, 2.0, 4.0, 5.0];
    let den = [2.0, 4.0, 4.0, 10.0];
    let e = ratio_ci(&num, &den, DEFAULT_RESAMPLES, 10);
    assert_eq!(e.n, 4);
    assert_close(e.value, 0.6, 1e-15);
    let (lo, hi) = (e.ci_lo.unwrap(), e.ci_hi.unwrap());
    // Every unit's own ratio is 0.5 or 1.0, so every resampled ratio lies in [0.5, 1].
    assert!((0.5 - 1e-12..0.6).contains(&lo), "{e:?}");
    assert!(hi > 0.6 && hi <= 1.0 + 1e-12, "{e:?}");
    assert_eq!(ratio_ci(&[1.0, 2.0], &[0.0, 0.0], 100, 1).value, None);
    assert_eq!(ratio_ci(&[1.0, f64::NAN], &[2.0, 1.0], 100, 1).n, 1);
}

#[test]
fn fisher_z_mean_ci_pools_and_brackets() {
    let e = fisher_z_mean_ci(&[0.5, 0.5, f64::NAN], 100, 11);
    assert_eq!(e.n, 2);
    assert_close(e.value, 0.5, 1e-12);
    assert_close(e.ci_lo, 0.5, 1e-12);
    assert_close(e.ci_hi, 0.5, 1e-12);
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let rs: Vec<f64> = (0..200).map(|_| rng.random_range(0.3..0.9)).collect();
    let e = fisher_z_mean_ci(&rs, DEFAULT_RESAMPLES, 13);
    let (v, lo, hi) = (e.value.unwrap(), e.ci_lo.unwrap(), e.ci_hi.unwrap());
    assert_eq!(fisher_z_mean(&rs), Some(v));
    assert!(0.3 < lo && lo < v && v < hi && hi < 0.9, "{e:?}");
}

#[test]
fn bootstrap_at_the_default_size_brackets_the_mean() {
    // 1000 resamples × 200 units, the size of a default run's metric. How long it takes is
    // measured by benchmarks, never asserted here (a timed test fails on a loaded machine).
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let v = normal(&mut rng, 200);
    let e = mean_ci(&v, DEFAULT_RESAMPLES, 15);
    assert_eq!(e.n, 200);
    let (value, lo, hi) = (e.value.unwrap(), e.ci_lo.unwrap(), e.ci_hi.unwrap());
    // The plain mean; 1e-12 leaves room for any summation order (200 terms of |x| < 5).
    assert!(
        (value - v.iter().sum::<f64>() / 200.0).abs() <= 1e-12,
        "{e:?}"
    );
    // Every resampled mean lies between the smallest and largest unit.
    let (min, max) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(min <= lo && lo < value && value < hi && hi <= max, "{e:?}");
}
