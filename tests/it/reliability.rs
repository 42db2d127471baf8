//! Known-answer and invariant tests of `codecbench::metric::reliability`: the Shrout & Fleiss
//! (1979) published ICCs, reference-library values (pingouin, scikit-learn, SciPy, NumPy) to 1e-6
//! on other tables, and the properties the bench relies on (moments merge exactly, ICC(3,1)
//! ignores a rater offset, parallel analysis finds planted factors, the decision rules fire,
//! top-k kappa and per-query ICC do not depend on row order under ties).
//!
//! Reference values were produced with Python 3 in a venv holding pingouin 0.7.0, scipy 1.17.1,
//! scikit-learn 1.9.1, numpy 2.4.6, pandas 3.1.1. For ICCs: long format
//! (`t` = row, `r` = column, `x` = value) and
//! `pg.options['round.column.CI95'] = None; pg.intraclass_corr(data=df, targets="t",
//! raters="r", ratings="x")` (the option only switches off pingouin's display rounding of CI95).
//! For alpha: `pg.cronbach_alpha(pd.DataFrame(a))`, run with `numpy.round` patched to the
//! identity (pingouin 0.7.0 rounds the Feldt bounds to 3 decimals with `np.round`, nothing else);
//! standardized alpha = the same call on `scipy.stats.zscore(a, axis=0, ddof=1)`.

use codecbench::metric::bootstrap::Estimate;
use codecbench::metric::recall::recall_at_k;
use codecbench::metric::reliability::alpha::{
    alpha_from_matrix, alpha_if_deleted, cronbach_alpha, feldt_interval, item_total,
    standardized_alpha,
};
use codecbench::metric::reliability::bench::{
    DIFFERENT_ALPHA, InstrumentOptions, REDUNDANT_ALPHA, Rule, decile_confusion,
    decile_kappa_quadratic, deciles, instrument, pooled_kappa_of, query_icc, topk_confusion,
    topk_kappa, validity_icc,
};
use codecbench::metric::reliability::factor::{
    JACOBI_MAX, ParallelOptions, first_factor_loadings, gram_eigenvalues, parallel_analysis,
    symmetric_eigen,
};
use codecbench::metric::reliability::icc::{IccForm, IccTable, icc};
use codecbench::metric::reliability::kappa::{
    Confusion, KappaWeights, LabelOrder, code_labels, cohen_kappa,
};
use codecbench::metric::reliability::{Moments, SquareMatrix, Table};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (tol {tol})"
    );
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn some(v: Option<f64>, what: &str) -> f64 {
    v.unwrap_or_else(|| panic!("{what}: undefined"))
}

/// Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
fn shrout_fleiss() -> Table {
    Table::from_rows(&[
        vec![9.0, 2.0, 5.0, 8.0],
        vec![6.0, 1.0, 3.0, 2.0],
        vec![8.0, 4.0, 6.0, 8.0],
        vec![7.0, 1.0, 2.0, 6.0],
        vec![10.0, 5.0, 6.0, 9.0],
        vec![6.0, 2.0, 4.0, 7.0],
    ])
}

/// 10 subjects × 3 raters with decimals (made up for the cross-check).
fn table_t2() -> Table {
    Table::from_rows(&[
        vec![3.1, 2.8, 4.0],
        vec![5.2, 4.9, 5.5],
        vec![1.0, 1.7, 2.2],
        vec![4.4, 3.9, 4.1],
        vec![2.5, 3.0, 3.6],
        vec![6.1, 5.2, 6.3],
        vec![3.3, 3.8, 3.0],
        vec![4.9, 4.2, 5.6],
        vec![2.2, 1.9, 2.9],
        vec![5.5, 5.9, 6.4],
    ])
}

/// 8 subjects × 5 Likert items; item 4 runs against the others (a noisy item).
fn table_t3() -> Table {
    Table::from_rows(&[
        vec![4.0, 5.0, 4.0, 2.0, 3.0],
        vec![2.0, 2.0, 3.0, 4.0, 2.0],
        vec![5.0, 4.0, 5.0, 3.0, 5.0],
        vec![3.0, 3.0, 2.0, 1.0, 3.0],
        vec![1.0, 2.0, 1.0, 5.0, 2.0],
        vec![4.0, 4.0, 5.0, 2.0, 4.0],
        vec![2.0, 3.0, 2.0, 3.0, 1.0],
        vec![5.0, 5.0, 4.0, 4.0, 5.0],
    ])
}

/// (value, ci_lo, ci_hi) per form in `IccForm::ALL` order, from pingouin (see the module doc).
type IccRef = [(f64, f64, f64); 6];

const SF_ICC: IccRef = [
    (0.1657417684054755, -0.13293232487475096, 0.722560062328121),
    (
        0.28976377952755916,
        0.018786513374712058,
        0.7610843696489527,
    ),
    (0.7148407148407154, 0.34246476503392614, 0.9458582599553597),
    (0.44279713367926876, -0.8844421552381196, 0.9124154203407755),
    (0.6200505475989893, 0.07113681530250353, 0.9272320401677219),
    (0.9093155423770697, 0.6756747138163055, 0.9858916781690623),
];

const T2_ICC: IccRef = [
    (0.8869862477492758, 0.7183967222331632, 0.9673933657157734),
    (0.8885457521385998, 0.6502048461852945, 0.9702292853505929),
    (0.9269180586652921, 0.8043259527337363, 0.9795280723702788),
    (0.9592592383543397, 0.8844369520090736, 0.9888896068886336),
    (0.9598665554628856, 0.8479422361265401, 0.9898754857674095),
    (0.9743916825178219, 0.9249903573350854, 0.9930816021635452),
];

const T3_ICC: IccRef = [
    (0.41824507151140305, 0.12162959904168712, 0.7915167913553911),
    (0.41095890410958885, 0.10063321110132738, 0.7913304869174624),
    (0.38674033149171255, 0.08973205047049346, 0.7745766358724528),
    (0.7823571945046999, 0.40910896008865627, 0.9499568296989969),
    (0.7772020725388601, 0.358755274440639, 0.9499031489752501),
    (0.7592190889370931, 0.3301574371119237, 0.9449959729133406),
];

fn check_icc(t: &IccTable, want: &IccRef, name: &str) {
    for (v, &(value, lo, hi)) in t.values.iter().zip(want) {
        let what = format!("{name} {}", v.form.label());
        close(some(v.value, &what), value, 1e-6, &what);
        close(some(v.ci_lo, &what), lo, 1e-6, &format!("{what} ci_lo"));
        close(some(v.ci_hi, &what), hi, 1e-6, &format!("{what} ci_hi"));
    }
}

// ---------------------------------------------------------------- ICC

#[test]
fn icc_reproduces_shrout_fleiss_published_values() {
    // Shrout & Fleiss (1979), Table 4: ICC(1,1)=.17, ICC(2,1)=.29, ICC(3,1)=.71,
    // ICC(1,4)=.44, ICC(2,4)=.62, ICC(3,4)=.91.
    let t = icc(&shrout_fleiss()).expect("defined");
    let published = [0.17, 0.29, 0.71, 0.44, 0.62, 0.91];
    for (v, want) in t.values.iter().zip(published) {
        let got = some(v.value, v.form.label());
        assert_eq!(
            format!("{got:.2}"),
            format!("{want:.2}"),
            "{} rounds to the published value",
            v.form.label()
        );
    }
}

#[test]
fn icc_matches_pingouin_on_three_tables() {
    check_icc(&icc(&shrout_fleiss()).unwrap(), &SF_ICC, "Shrout-Fleiss");
    check_icc(&icc(&table_t2()).unwrap(), &T2_ICC, "T2");
    check_icc(&icc(&table_t3()).unwrap(), &T3_ICC, "T3");
}

#[test]
fn icc_anova_of_shrout_fleiss() {
    // Shrout & Fleiss (1979), Table 3: BMS = 11.24, WMS = 6.26, JMS = 32.49, EMS = 1.02.
    let a = icc(&shrout_fleiss()).unwrap().anova;
    close(a.msr, 11.24, 0.005, "BMS");
    close(a.msw, 6.26, 0.005, "WMS");
    close(a.msc, 32.49, 0.005, "JMS");
    close(a.mse, 1.02, 0.005, "EMS");
}

#[test]
fn icc3_ignores_a_rater_offset_and_icc2_does_not() {
    let base = table_t2();
    let shifted_col: Vec<f64> = base.column(1).iter().map(|v| v + 2.0).collect();
    let shifted = Table::from_columns(
        base.names().to_vec(),
        vec![
            base.column(0).to_vec(),
            shifted_col,
            base.column(2).to_vec(),
        ],
    );
    let (a, b) = (icc(&base).unwrap(), icc(&shifted).unwrap());
    for form in [IccForm::Icc3, IccForm::Icc3k] {
        close(
            b.get(form).value.unwrap(),
            a.get(form).value.unwrap(),
            1e-12,
            form.label(),
        );
    }
    for form in [IccForm::Icc1, IccForm::Icc2] {
        assert!(
            b.get(form).value.unwrap() < a.get(form).value.unwrap() - 0.1,
            "{} must drop when one rater is biased",
            form.label()
        );
    }
    // The interval brackets the value.
    for v in &a.values {
        assert!(v.ci_lo.unwrap() <= v.value.unwrap() && v.value.unwrap() <= v.ci_hi.unwrap());
    }
}

#[test]
fn icc_of_identical_raters_is_one_and_undefined_cases_are_none() {
    let t = Table::from_rows(&[vec![1.0, 1.0], vec![2.0, 2.0], vec![4.0, 4.0]]);
    let r = icc(&t).unwrap();
    for v in &r.values {
        close(v.value.unwrap(), 1.0, 1e-12, v.form.label());
    }
    // ICC1/ICC3 bounds stay defined (F = ∞ maps to 1); ICC2's Satterthwaite df does not.
    close(r.get(IccForm::Icc3).ci_hi.unwrap(), 1.0, 1e-12, "ICC3 hi");
    assert!(r.get(IccForm::Icc2).ci_lo.is_none());
    // One subject, or one rater: no ICC.
    assert!(icc(&Table::from_rows(&[vec![1.0, 2.0]])).is_none());
    assert!(icc(&Table::from_rows(&[vec![1.0], vec![2.0]])).is_none());
    // Every value equal: 0/0.
    let flat = icc(&Table::from_rows(&[vec![3.0, 3.0], vec![3.0, 3.0]])).unwrap();
    assert!(flat.values.iter().all(|v| v.value.is_none()));
}

// ---------------------------------------------------------------- moments

#[test]
fn merged_moments_equal_moments_of_the_whole() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let cols: Vec<Vec<f64>> = (0..3)
        .map(|j| {
            (0..101)
                .map(|_| 1e3 * f64::from(j) + normal(&mut rng))
                .collect()
        })
        .collect();
    let whole = Moments::from_columns(&[&cols[0], &cols[1], &cols[2]]);
    let mut merged = Moments::empty(3);
    for (lo, hi) in [(0, 7), (7, 8), (8, 60), (60, 101)] {
        merged.merge(&Moments::from_columns(&[
            &cols[0][lo..hi],
            &cols[1][lo..hi],
            &cols[2][lo..hi],
        ]));
    }
    assert_eq!(merged.n(), 101);
    for (a, b) in whole.mean().iter().zip(merged.mean()) {
        close(*b, *a, 1e-9, "mean");
    }
    for (a, b) in whole
        .cross()
        .as_slice()
        .iter()
        .zip(merged.cross().as_slice())
    {
        close(*b, *a, 1e-9 * a.abs().max(1.0), "cross");
    }
    assert!(whole.constant_items().is_empty());
    let c = Moments::from_columns(&[&[0.1, 0.1, 0.1], &[1.0, 2.0, 3.0]]);
    assert_eq!(c.constant_items(), vec![0]);
    assert!(c.correlation().is_none());
}

// ---------------------------------------------------------------- alpha

/// (alpha, lo, hi, alpha_std, std_lo, std_hi) from pingouin (see the module doc).
const SF_ALPHA: [f64; 6] = [
    0.9093155423770694,
    0.6756747138163043,
    0.9858916781690623,
    0.9269436462587374,
    0.7387201351173875,
    0.9886341874077005,
];
const T2_ALPHA: [f64; 6] = [
    0.9743916825178219,
    0.9249903573350853,
    0.9930816021635452,
    0.9765770619868599,
    0.9313915796400595,
    0.993672008956219,
];
const T3_ALPHA: [f64; 6] = [
    0.7592190889370933,
    0.33015743711192425,
    0.9449959729133406,
    0.7442506176801267,
    0.28851576749192887,
    0.941576573116116,
];

#[test]
fn alpha_and_feldt_interval_match_pingouin() {
    for (t, want, name) in [
        (shrout_fleiss(), SF_ALPHA, "SF"),
        (table_t2(), T2_ALPHA, "T2"),
        (table_t3(), T3_ALPHA, "T3"),
    ] {
        let m = t.moments();
        let (n, k) = (m.n(), m.k());
        let a = cronbach_alpha(&m).unwrap();
        let (lo, hi) = feldt_interval(a, n, k).unwrap();
        close(a, want[0], 1e-6, &format!("{name} alpha"));
        close(lo, want[1], 1e-6, &format!("{name} alpha lo"));
        close(hi, want[2], 1e-6, &format!("{name} alpha hi"));
        let s = standardized_alpha(&m).unwrap();
        let (slo, shi) = feldt_interval(s, n, k).unwrap();
        close(s, want[3], 1e-6, &format!("{name} alpha_std"));
        close(slo, want[4], 1e-6, &format!("{name} alpha_std lo"));
        close(shi, want[5], 1e-6, &format!("{name} alpha_std hi"));
    }
    // Raw alpha equals ICC(3,k) (Shrout & Fleiss's note; pingouin agrees above too).
    let t = shrout_fleiss();
    close(
        cronbach_alpha(&t.moments()).unwrap(),
        icc(&t).unwrap().get(IccForm::Icc3k).value.unwrap(),
        1e-12,
        "alpha = ICC(3,k)",
    );
}

/// A table with its raw and standardized alpha-if-deleted and item–total references.
type ItemCase = (Table, Vec<f64>, Vec<f64>, Vec<f64>);

#[test]
fn alpha_if_deleted_and_item_total_match_reference() {
    // alpha_if_deleted: pg.cronbach_alpha(df.drop(columns=i)) (raw) and on the z-scored frame
    // (standardized); item_total: scipy.stats.pearsonr(a[:, i], a.sum(1) - a[:, i]).statistic.
    let cases: [ItemCase; 2] = [
        (
            shrout_fleiss(),
            vec![
                0.8833922261484098,
                0.866504854368932,
                0.8715486194477791,
                0.9178743961352654,
            ],
            vec![
                0.9142627838183064,
                0.8906960364237706,
                0.8959501654420603,
                0.9178198638396943,
            ],
            vec![
                0.80578737035218,
                0.8593040509596616,
                0.8444792822226258,
                0.7902036646570129,
            ],
        ),
        (
            table_t3(),
            vec![
                0.564878496102705,
                0.6556897182583242,
                0.6124731182795699,
                0.9430255402750491,
                0.5815602836879432,
            ],
            vec![
                0.5456643669398719,
                0.620459498706206,
                0.5935281224451401,
                0.944249451568939,
                0.5609117224704285,
            ],
            vec![
                0.8859385275449163,
                0.7260255247362903,
                0.7806451612903225,
                -0.3134195704036114,
                0.8557709982409776,
            ],
        ),
    ];
    for (t, raw, std, it) in cases {
        let m = t.moments();
        let cov = m.covariance().unwrap();
        let r = m.correlation().unwrap();
        for (j, ((got_raw, got_std), got_it)) in alpha_if_deleted(&cov)
            .iter()
            .zip(alpha_if_deleted(&r))
            .zip(item_total(&cov))
            .enumerate()
        {
            close(got_raw.unwrap(), raw[j], 1e-6, "alpha if deleted (raw)");
            close(got_std.unwrap(), std[j], 1e-6, "alpha if deleted (std)");
            close(got_it.unwrap(), it[j], 1e-6, "item-total");
        }
    }
    // T2: scipy item-total values, 3 items.
    let cov = table_t2().moments().covariance().unwrap();
    let want = [0.9676125748237719, 0.9404311921740726, 0.9413458414951579];
    for (g, w) in item_total(&cov).iter().zip(want) {
        close(g.unwrap(), w, 1e-6, "T2 item-total");
    }
    // Two items: alpha without one is undefined.
    let two = Table::from_rows(&[vec![1.0, 2.0], vec![2.0, 2.5], vec![3.0, 4.0]]);
    assert!(
        alpha_if_deleted(&two.moments().covariance().unwrap())
            .iter()
            .all(Option::is_none)
    );
}

#[test]
fn standardized_alpha_is_the_spearman_brown_of_the_mean_correlation() {
    let m = table_t3().moments();
    let r = m.correlation().unwrap();
    let k = r.k() as f64;
    let mean_r = (r.sum() - k) / (k * (k - 1.0));
    close(
        standardized_alpha(&m).unwrap(),
        k * mean_r / (1.0 + (k - 1.0) * mean_r),
        1e-12,
        "k r̄ / (1 + (k-1) r̄)",
    );
    // alpha_from_matrix refuses a non-positive total.
    assert!(
        alpha_from_matrix(&SquareMatrix::from_row_major(2, vec![1.0, -1.0, -1.0, 1.0])).is_none()
    );
}

// ---------------------------------------------------------------- factor

#[test]
fn eigenvalues_and_loadings_match_numpy() {
    // np.linalg.eigh(np.corrcoef(a, rowvar=False)), descending; loadings sqrt(λ1)·v1 with the
    // sign that makes v1 sum to a non-negative number.
    let cases = [
        (
            shrout_fleiss(),
            vec![
                3.2827677517283202,
                0.36297635251905874,
                0.24939648587224023,
                0.10485940988038207,
            ],
            vec![
                0.886860692549054,
                0.9324761266017525,
                0.9235369845255736,
                0.8796667410280643,
            ],
        ),
        (
            table_t2(),
            vec![2.865858702964038, 0.09174328410603068, 0.042398012929930375],
            vec![0.9858910120586314, 0.9730441851172964, 0.9731714284315292],
        ),
        (
            table_t3(),
            vec![
                3.568023217955267,
                0.9080228328372528,
                0.28673774556289816,
                0.21702185530550838,
                0.020194348339075248,
            ],
            vec![
                0.988890394627266,
                0.8962005299092881,
                0.9039440513917973,
                -0.4236696491706593,
                0.8890066343309841,
            ],
        ),
    ];
    for (t, eig, load) in cases {
        let e = symmetric_eigen(&t.moments().correlation().unwrap());
        for (g, w) in e.values.iter().zip(&eig) {
            close(*g, *w, 1e-9, "eigenvalue");
        }
        for (g, w) in first_factor_loadings(&e).iter().zip(&load) {
            close(*g, *w, 1e-9, "loading");
        }
    }
}

#[test]
fn jacobi_decomposes_a_random_symmetric_matrix() {
    // 17 items by Jacobi, 80 (above JACOBI_MAX) by faer: the same contract.
    for k in [17, JACOBI_MAX + 16] {
        decomposes_a_random_symmetric_matrix(k);
    }
}

/// Tolerances: entries are N(0, 1), so |λ| ≲ 2√k ≈ 18 at k = 80; a backward-stable solver leaves
/// residuals of a few ε‖A‖ per entry, far below 1e-10.
fn decomposes_a_random_symmetric_matrix(k: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut a = SquareMatrix::zeros(k);
    for i in 0..k {
        for j in i..k {
            let v = normal(&mut rng);
            a.set(i, j, v);
            a.set(j, i, v);
        }
    }
    let e = symmetric_eigen(&a);
    assert!(e.values.windows(2).all(|w| w[0] >= w[1]), "descending");
    close(e.values.iter().sum(), a.trace(), 1e-10, "trace");
    for c in 0..k {
        for i in 0..k {
            let av: f64 = (0..k).map(|j| a.get(i, j) * e.vectors.get(j, c)).sum();
            close(av, e.values[c] * e.vectors.get(i, c), 1e-10, "A v = λ v");
        }
        for d in 0..k {
            let dot: f64 = (0..k)
                .map(|i| e.vectors.get(i, c) * e.vectors.get(i, d))
                .sum();
            close(dot, f64::from(u8::from(c == d)), 1e-10, "orthonormal");
        }
    }
}

/// `n` rows of `k_per` noisy copies of each of `factors` independent latent variables.
fn planted(n: usize, factors: usize, k_per: usize, noise: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let latent: Vec<Vec<f64>> = (0..factors)
        .map(|_| (0..n).map(|_| normal(&mut rng)).collect())
        .collect();
    let mut cols = Vec::new();
    for l in &latent {
        for _ in 0..k_per {
            cols.push(l.iter().map(|x| x + noise * normal(&mut rng)).collect());
        }
    }
    cols
}

fn eigenvalues_of(cols: &[Vec<f64>]) -> Vec<f64> {
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    symmetric_eigen(&Moments::from_columns(&refs).correlation().unwrap()).values
}

#[test]
fn bartlett_thresholds_match_simulated_data() {
    // parallel_analysis draws Wishart(I_k, n − 1) scatter matrices by Bartlett's decomposition
    // instead of simulating data. The same distribution must come out: per eigenvalue position,
    // the median and 90th percentile over 3000 Bartlett matrices against 3000 correlation
    // matrices of simulated n × k normal data (computed here, independently). Each quantile's
    // sampling SE is about √(p(1−p)/m)/f(x_p) ≤ 1.6·σ/√m for these near-normal spreads, so the
    // difference of two independent estimates has SE ≤ 2.3·σ/√m; the tolerance is 5 of those.
    let (k, n, m) = (4usize, 40usize, 3000usize);
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let mut sims: Vec<Vec<f64>> = vec![Vec::new(); k];
    for _ in 0..m {
        let cols: Vec<Vec<f64>> = (0..k)
            .map(|_| (0..n).map(|_| normal(&mut rng)).collect())
            .collect();
        for (slot, v) in sims.iter_mut().zip(eigenvalues_of(&cols)) {
            slot.push(v);
        }
    }
    for p in [0.5, 0.9] {
        let opts = ParallelOptions {
            matrices: m,
            quantile: p,
            seed: 5,
        };
        let pa = parallel_analysis(&vec![0.0; k], n, opts).unwrap();
        for (pos, sim) in sims.iter_mut().enumerate() {
            sim.sort_unstable_by(f64::total_cmp);
            let want = sim[((m - 1) as f64 * p).round() as usize];
            let mean = sim.iter().sum::<f64>() / m as f64;
            let sd = (sim.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / m as f64).sqrt();
            let tol = 5.0 * 2.3 * sd / (m as f64).sqrt();
            close(
                pa.thresholds[pos],
                want,
                tol,
                &format!("position {pos}, quantile {p}"),
            );
        }
    }
}

#[test]
fn parallel_analysis_finds_planted_factors_and_none_in_noise() {
    let opts = ParallelOptions {
        matrices: 100,
        ..ParallelOptions::default()
    };
    let two = planted(300, 2, 3, 0.7, 1);
    let pa = parallel_analysis(&eigenvalues_of(&two), 300, opts).unwrap();
    assert_eq!(pa.factors, 2, "thresholds {:?}", pa.thresholds);
    let one = planted(300, 1, 5, 0.7, 2);
    assert_eq!(
        parallel_analysis(&eigenvalues_of(&one), 300, opts)
            .unwrap()
            .factors,
        1
    );
    let noise = planted(300, 6, 1, 0.0, 3);
    assert_eq!(
        parallel_analysis(&eigenvalues_of(&noise), 300, opts)
            .unwrap()
            .factors,
        0
    );
    // Thresholds: first above 1, last below 1, reproducible from the seed alone.
    assert!(pa.thresholds[0] > 1.0 && pa.thresholds[5] < 1.0);
    let again = parallel_analysis(&eigenvalues_of(&two), 300, opts).unwrap();
    assert_eq!(pa, again);
    let other = parallel_analysis(
        &eigenvalues_of(&two),
        300,
        ParallelOptions { seed: 9, ..opts },
    );
    assert_ne!(pa.thresholds, other.unwrap().thresholds);
    assert!(parallel_analysis(&[2.0, 1.0], 2, opts).is_none());
}

/// With fewer rows than items, parallel analysis takes each simulated correlation matrix's
/// eigenvalues from the n × n Gram matrix: they equal the full k × k matrix's (Jacobi), the
/// rest zero. Tolerance: entries of ZᵀZ are correlations (|r| ≤ 1), eigenvalues ≤ k = 12, and
/// both solvers are backward stable: 1e-10 absolute is thousands of ε·k.
#[test]
fn gram_eigenvalues_equal_the_full_correlation_matrix_s() {
    let (n, k) = (5, 12);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let cols: Vec<Vec<f64>> = (0..k)
        .map(|_| (0..n).map(|_| normal(&mut rng)).collect())
        .collect();
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let full = symmetric_eigen(&Moments::from_columns(&refs).correlation().unwrap()).values;
    // Z: each column centred and scaled to unit norm, row-major n × k.
    let mut z = vec![0.0; n * k];
    for (j, c) in cols.iter().enumerate() {
        let mean = c.iter().sum::<f64>() / n as f64;
        let norm = c
            .iter()
            .map(|x| (x - mean) * (x - mean))
            .sum::<f64>()
            .sqrt();
        for (i, x) in c.iter().enumerate() {
            z[i * k + j] = (x - mean) / norm;
        }
    }
    let mut g = vec![0.0; n * n];
    let gram = gram_eigenvalues(&z, n, k, &mut g);
    assert_eq!(gram.len(), k);
    for (i, (a, b)) in gram.iter().zip(&full).enumerate() {
        close(*a, *b, 1e-10, &format!("eigenvalue {i}"));
    }
    // Rank n − 1: the centring removes one dimension.
    assert!(full[n - 1].abs() < 1e-10 && gram[n..].iter().all(|&v| v == 0.0));
    let pa = parallel_analysis(&full, n, ParallelOptions::default()).unwrap();
    assert_eq!(pa.thresholds.len(), k);
    // Zero to rounding (12 items: the Jacobi path; above JACOBI_MAX the Gram path, exactly 0):
    // Jacobi stops when the off-diagonal mass is below (kε)² of the total (k = 12, total ≤ k²),
    // so a zero eigenvalue is left at ~1e-13 at most; 1e-9 separates it from a real one (> 0.1).
    assert!(pa.thresholds[0] > 1.0 && pa.thresholds[n..].iter().all(|&t| t.abs() < 1e-9));
}

/// Alpha-if-deleted and item–total no longer build a submatrix per item; they must still give
/// exactly (bit for bit) what the submatrix formulas give.
#[test]
fn alpha_if_deleted_and_item_total_equal_the_submatrix_formulas_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let k = 9;
    let cols: Vec<Vec<f64>> = (0..k)
        .map(|j| (0..40).map(|_| normal(&mut rng) + j as f64 * 0.1).collect())
        .collect();
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let c = Moments::from_columns(&refs).covariance().unwrap();
    let aid = alpha_if_deleted(&c);
    let it = item_total(&c);
    for i in 0..k {
        let keep: Vec<usize> = (0..k).filter(|&j| j != i).collect();
        let sub = c.submatrix(&keep);
        let want = alpha_from_matrix(&sub).unwrap();
        assert_eq!(
            aid[i].unwrap().to_bits(),
            want.to_bits(),
            "alpha without {i}"
        );
        let cov: f64 = (0..k).filter(|&j| j != i).map(|j| c.get(i, j)).sum();
        let r = cov / (c.get(i, i).sqrt() * sub.sum().sqrt());
        assert_eq!(it[i].unwrap().to_bits(), r.to_bits(), "item-total {i}");
    }
}

// ---------------------------------------------------------------- kappa

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn kappas(a: &[&str], b: &[&str]) -> (LabelOrder, [f64; 3]) {
    let c = code_labels(a, b);
    let conf = Confusion::from_labels(&c.a, &c.b, c.categories.len());
    let k = [
        KappaWeights::Nominal,
        KappaWeights::Linear,
        KappaWeights::Quadratic,
    ]
    .map(|w| conf.kappa(w).unwrap());
    (c.order, k)
}

#[test]
fn kappa_matches_scikit_learn() {
    // sklearn.metrics.cohen_kappa_score(a, b, weights=None / 'linear' / 'quadratic').
    let strs = |v: &[i32]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let a1 = strs(&[1, 2, 3, 5, 2, 1, 3, 3, 5, 2, 1, 2, 5, 3, 2, 1, 3, 5, 2, 3]);
    let b1 = strs(&[1, 2, 2, 5, 3, 1, 3, 5, 5, 2, 2, 2, 3, 3, 1, 1, 3, 5, 2, 2]);
    let (order, k) = kappas(&as_strs(&a1), &as_strs(&b1));
    assert_eq!(order, LabelOrder::Numeric);
    for (g, w) in k
        .iter()
        .zip([0.527027027027027, 0.6929824561403508, 0.8333333333333334])
    {
        close(*g, w, 1e-6, "K1 (labels 1,2,3,5: weights use positions)");
    }
    let a2 = [
        "cat", "dog", "bird", "cat", "dog", "dog", "bird", "cat", "cat", "bird", "dog", "cat",
    ];
    let b2 = [
        "cat", "dog", "cat", "cat", "bird", "dog", "bird", "dog", "cat", "bird", "dog", "bird",
    ];
    let (order, k) = kappas(&a2, &b2);
    assert_eq!(order, LabelOrder::Text);
    for (g, w) in k.iter().zip([0.5, 0.5161290322580645, 0.5333333333333333]) {
        close(*g, w, 1e-6, "K2 (text labels, sorted as text)");
    }
    // Numeric order, not text order: 2 < 9 < 10.
    let a3 = strs(&[2, 10, 9, 2, 10, 9, 2, 10]);
    let b3 = strs(&[2, 9, 9, 10, 10, 2, 2, 10]);
    let (_, k) = kappas(&as_strs(&a3), &as_strs(&b3));
    for (g, w) in k.iter().zip([0.4285714285714286, 0.4666666666666667, 0.5]) {
        close(*g, w, 1e-6, "K3 (numeric order)");
    }
}

#[test]
fn kappa_edge_cases() {
    // Perfect agreement is 1 for every weighting; "1" and "1.0" are one category.
    let c = code_labels(&["1", "2.0", "3"], &["1.0", "2", "3"]);
    assert_eq!(c.categories.len(), 3);
    for w in [
        KappaWeights::Nominal,
        KappaWeights::Linear,
        KappaWeights::Quadratic,
    ] {
        close(
            cohen_kappa(&c.a, &c.b, 3, w).unwrap(),
            1.0,
            1e-15,
            "perfect",
        );
    }
    // One shared label everywhere: p_e = 1, undefined. No subjects: undefined.
    assert!(cohen_kappa(&[0, 0, 0], &[0, 0, 0], 1, KappaWeights::Nominal).is_none());
    assert!(Confusion::new(3).kappa(KappaWeights::Quadratic).is_none());
    // Systematic disagreement is negative.
    assert!(cohen_kappa(&[0, 1, 0, 1], &[1, 0, 1, 0], 2, KappaWeights::Nominal).unwrap() < 0.0);
}

// ---------------------------------------------------------------- in-bench helpers

const Q1T: [f64; 8] = [0.9, 0.1, 0.5, 0.7, 0.3, 0.2, 0.8, 0.4];
const Q1E: [f64; 8] = [0.85, 0.2, 0.75, 0.6, 0.1, 0.3, 0.7, 0.5];
const Q2T: [f64; 10] = [1.0, 5.0, 3.0, 2.0, 4.0, 6.0, 0.5, 2.5, 3.5, 4.5];
const Q2E: [f64; 10] = [1.2, 4.1, 3.3, 2.4, 5.2, 5.9, 0.1, 2.0, 3.0, 4.4];
const Q3T: [f64; 5] = [0.3, -0.2, 0.1, 0.0, 0.4];
const Q3E: [f64; 5] = [0.5, -0.1, 0.3, 0.1, 0.45];

fn assert_ci_brackets(e: &Estimate, what: &str) {
    let (v, lo, hi) = (e.value.unwrap(), e.ci_lo.unwrap(), e.ci_hi.unwrap());
    assert!(
        lo <= v + 1e-12 && v <= hi + 1e-12,
        "{what}: {lo} <= {v} <= {hi}"
    );
}

#[test]
fn topk_kappa_matches_scikit_learn_on_membership() {
    // Membership m[argsort(-x)[:3]] = 1 per query, concatenated;
    // sklearn cohen_kappa_score(m_truth, m_est): pooled 0.5, query 1 alone 0.4666666666666667.
    let t: [&[f64]; 2] = [&Q1T, &Q2T];
    let e: [&[f64]; 2] = [&Q1E, &Q2E];
    let k = topk_kappa(&t, &e, 3, 200, 7);
    close(k.value.unwrap(), 0.5, 1e-12, "pooled top-3 kappa");
    assert_eq!(k.n, 2);
    assert_ci_brackets(&k, "top-k kappa");
    let one = topk_kappa(&t[..1], &e[..1], 3, 0, 7).value.unwrap();
    close(one, 0.4666666666666667, 1e-12, "query 1");
    // = (recall − k/n) / (1 − k/n) with recall 2/3, k/n = 3/8.
    close(
        one,
        (2.0 / 3.0 - 3.0 / 8.0) / (1.0 - 3.0 / 8.0),
        1e-12,
        "chance-corrected recall",
    );
    // Everything in the top-k: undefined.
    assert!(topk_kappa(&t, &e, 10, 10, 7).value.is_none());
}

/// Two queries (30 and 20 rows) of exact and estimated scores, the fixture of the decile-kappa
/// references (scikit-learn values computed on exactly these numbers).
fn decile_queries() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let q1t: Vec<f64> = (0..30).map(|i| (1.3 * f64::from(i)).sin()).collect();
    let q1e: Vec<f64> = (0..30)
        .map(|i| (1.3 * f64::from(i)).sin() + 0.3 * (2.1 * f64::from(i)).cos())
        .collect();
    let q2t: Vec<f64> = (0..20).map(|i| (0.7 * f64::from(i)).cos()).collect();
    let q2e: Vec<f64> = (0..20)
        .map(|i| (0.7 * f64::from(i)).cos() + 0.5 * (3.3 * f64::from(i)).sin())
        .collect();
    (q1t, q1e, q2t, q2e)
}

#[test]
fn decile_kappa_matches_scikit_learn() {
    // Deciles floor(10 (scipy.stats.rankdata(x) − 0.5) / n), then sklearn
    // cohen_kappa_score(d_truth, d_est, weights='quadratic') on the concatenated queries.
    let (q1t, q1e, q2t, q2e) = decile_queries();
    let one = decile_kappa_quadratic(&[&q1t], &[&q1e], 0, 1);
    close(one.value.unwrap(), 0.9393939393939393, 1e-12, "query 1");
    let both = decile_kappa_quadratic(&[&q1t, &q2t], &[&q1e, &q2e], 200, 1);
    close(both.value.unwrap(), 0.9030303030303031, 1e-12, "pooled");
    assert_ci_brackets(&both, "decile kappa");
    // Deciles: ranks spread evenly; ties share one.
    assert_eq!(deciles(&[5.0, 1.0, 3.0, 2.0, 4.0]), vec![9, 1, 5, 3, 7]);
    // All tied: average rank 2.5 of 4, decile ⌊10 · 2 / 4⌋ = 5.
    assert_eq!(deciles(&[1.0, 1.0, 1.0, 1.0]), vec![5, 5, 5, 5]);
}

#[test]
fn validity_icc_matches_pingouin_on_pooled_pairs() {
    // pg.intraclass_corr on the 23 pooled (truth, estimate) pairs of the three queries:
    // ICC(A,1) = 0.9775078900986797, ICC(C,1) = 0.9765446711525303.
    let t: [&[f64]; 3] = [&Q1T, &Q2T, &Q3T];
    let e: [&[f64]; 3] = [&Q1E, &Q2E, &Q3E];
    let v = validity_icc(&t, &e, 300, 3);
    close(
        v.agreement.value.unwrap(),
        0.9775078900986797,
        1e-9,
        "ICC(2,1)",
    );
    close(
        v.consistency.value.unwrap(),
        0.9765446711525303,
        1e-9,
        "ICC(3,1)",
    );
    assert_eq!(v.agreement.n, 3);
    assert_ci_brackets(&v.agreement, "ICC(2,1)");
    assert_ci_brackets(&v.consistency, "ICC(3,1)");
    assert_eq!(v, validity_icc(&t, &e, 300, 3), "deterministic");
}

#[test]
fn validity_icc_agreement_punishes_scale_and_consistency_does_not() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let truth: Vec<Vec<f64>> = (0..40)
        .map(|_| (0..50).map(|_| normal(&mut rng)).collect())
        .collect();
    // A biased, shrunk estimate that keeps the order and spacing exactly.
    let est: Vec<Vec<f64>> = truth
        .iter()
        .map(|q| q.iter().map(|x| 0.5 * x + 0.3).collect())
        .collect();
    let t: Vec<&[f64]> = truth.iter().map(Vec::as_slice).collect();
    let e: Vec<&[f64]> = est.iter().map(Vec::as_slice).collect();
    let v = validity_icc(&t, &e, 100, 1);
    let (agree, cons) = (v.agreement.value.unwrap(), v.consistency.value.unwrap());
    assert!(agree < 0.8, "absolute agreement {agree} must suffer");
    // ICC(3,1) of y = a x + b with k = 2: 2a / (1 + a²) = 0.8 for a = 0.5.
    close(cons, 0.8, 1e-9, "consistency");
    let same = validity_icc(&t, &t, 100, 1);
    close(
        same.agreement.value.unwrap(),
        1.0,
        1e-12,
        "perfect estimate",
    );
}

// ---------------------------------------------------------------- ties, per-query pieces

#[test]
fn topk_confusion_holds_expected_counts_under_ties() {
    // truth [5,4,4,4,1], k = 2: p_t = [1, 1/3, 1/3, 1/3, 0]; estimate [2,1,1,0,0]:
    // p_e = [1, 1/2, 1/2, 0, 0]. Cells (category 1 = in the top-k, truth = rater A):
    //   (1,1) = Σ p_t p_e           = 1 + 2·(1/3)(1/2)           = 4/3
    //   (1,0) = Σ p_t (1 − p_e)     = 2·(1/3)(1/2) + 1/3         = 2/3
    //   (0,1) = Σ (1 − p_t) p_e     = 2·(2/3)(1/2)               = 2/3
    //   (0,0) = Σ (1 − p_t)(1 − p_e) = 2·(2/3)(1/2) + 2/3 + 1    = 7/3
    // Marginals (3, 2) both ways, n = 5: p_o = (4/3 + 7/3)/5 = 11/15, p_e = (9 + 4)/25 = 13/25,
    // κ = (11/15 − 13/25)/(1 − 13/25) = (16/75)/(36/75) = 4/9 = (recall − k/n)/(1 − k/n) with
    // recall = (4/3)/2 = 2/3, k/n = 2/5. Each cell is 1–2 roundings of a value ≤ 5 (≤ 2e-15);
    // kappa adds a handful of O(1) operations: 1e-12 is generous.
    let (t, e) = ([5.0, 4.0, 4.0, 4.0, 1.0], [2.0, 1.0, 1.0, 0.0, 0.0]);
    let m = topk_confusion(&t, &e, 2);
    close(m.count(1, 1), 4.0 / 3.0, 1e-15, "(1,1)");
    close(m.count(1, 0), 2.0 / 3.0, 1e-15, "(1,0)");
    close(m.count(0, 1), 2.0 / 3.0, 1e-15, "(0,1)");
    close(m.count(0, 0), 7.0 / 3.0, 1e-15, "(0,0)");
    close(m.n(), 5.0, 1e-15, "n");
    let kappa = some(m.kappa(KappaWeights::Nominal), "kappa");
    close(kappa, 4.0 / 9.0, 1e-12, "kappa");
    let recall = recall_at_k(&t, &e, 2);
    close(
        kappa,
        (recall - 0.4) / (1.0 - 0.4),
        1e-12,
        "chance-corrected recall",
    );
    // The same table built by hand, cell by cell and through the fractional constructor.
    let mut by_hand = Confusion::new(2);
    for (a, b, w) in [(1, 1, 4.0), (1, 0, 2.0), (0, 1, 2.0), (0, 0, 7.0)] {
        by_hand.add_weighted(a, b, w / 3.0);
    }
    let cells = Confusion::from_expected(2, &[7.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 4.0 / 3.0]);
    for other in [&by_hand, &cells] {
        close(
            some(other.kappa(KappaWeights::Nominal), "kappa"),
            4.0 / 9.0,
            1e-12,
            "hand-built kappa",
        );
    }
    // Pooling copies of one table leaves kappa as it is; no parts: undefined.
    close(
        some(
            pooled_kappa_of([&m, &m, &m], KappaWeights::Nominal),
            "pooled",
        ),
        kappa,
        1e-12,
        "pooled copies",
    );
    assert!(pooled_kappa_of(std::iter::empty(), KappaWeights::Nominal).is_none());
    // A constant estimate: every row is in with probability k/n, so the table is exactly at
    // chance (observed = expected agreement) and kappa is 0.
    let flat = topk_confusion(&t, &[1.0; 5], 2);
    close(
        some(flat.kappa(KappaWeights::Nominal), "flat"),
        0.0,
        1e-12,
        "flat estimate",
    );
    // k = 0: everything out; k ≥ n: everything in; both undefined as kappa.
    assert_eq!(topk_confusion(&t, &e, 0).count(0, 0), 5.0);
    assert_eq!(topk_confusion(&t, &e, 9).count(1, 1), 5.0);
    assert!(
        topk_confusion(&t, &e, 9)
            .kappa(KappaWeights::Nominal)
            .is_none()
    );
}

#[test]
fn per_query_tables_pool_to_the_scikit_learn_values() {
    // The per-query building blocks pooled by the caller give the values of the pooled helpers
    // (and scikit-learn's, quoted in the two tests above).
    let top = [topk_confusion(&Q1T, &Q1E, 3), topk_confusion(&Q2T, &Q2E, 3)];
    close(
        some(pooled_kappa_of(&top, KappaWeights::Nominal), "top-3"),
        0.5,
        1e-12,
        "pooled top-3 kappa",
    );
    let (q1t, q1e, q2t, q2e) = decile_queries();
    let dec = [decile_confusion(&q1t, &q1e), decile_confusion(&q2t, &q2e)];
    close(
        some(pooled_kappa_of(&dec[..1], KappaWeights::Quadratic), "q1"),
        0.9393939393939393,
        1e-12,
        "decile query 1",
    );
    close(
        some(pooled_kappa_of(&dec, KappaWeights::Quadratic), "both"),
        0.9030303030303031,
        1e-12,
        "decile pooled",
    );
}

/// ICC(2,1) and ICC(3,1) of a subjects × raters table (given as rater columns) from the
/// two-way ANOVA written out by definition (Shrout & Fleiss 1979, Table 3): grand, row and
/// column means; SSR = k Σ (row mean − grand)², SSC = n Σ (column mean − grand)²,
/// SSE = Σ (x − grand)² − SSR − SSC.
fn icc23_reference(cols: &[&[f64]]) -> (f64, f64) {
    let (k, n) = (cols.len(), cols[0].len());
    let (kf, nf) = (k as f64, n as f64);
    let grand = cols.iter().flat_map(|c| c.iter()).sum::<f64>() / (nf * kf);
    let ssr = kf
        * (0..n)
            .map(|i| (cols.iter().map(|c| c[i]).sum::<f64>() / kf - grand).powi(2))
            .sum::<f64>();
    let ssc = nf
        * cols
            .iter()
            .map(|c| (c.iter().sum::<f64>() / nf - grand).powi(2))
            .sum::<f64>();
    let sst = cols
        .iter()
        .flat_map(|c| c.iter())
        .map(|x| (x - grand).powi(2))
        .sum::<f64>();
    let sse = sst - ssr - ssc;
    let (msr, msc, mse) = (
        ssr / (nf - 1.0),
        ssc / (kf - 1.0),
        sse / ((nf - 1.0) * (kf - 1.0)),
    );
    (
        (msr - mse) / (msr + (kf - 1.0) * mse + kf * (msc - mse) / nf),
        (msr - mse) / (msr + (kf - 1.0) * mse),
    )
}

#[test]
fn query_icc_matches_the_two_way_anova_written_out() {
    // The reference first reproduces Shrout & Fleiss (4 raters; pingouin's values above).
    let sf = shrout_fleiss();
    let cols: Vec<&[f64]> = (0..sf.n_cols()).map(|j| sf.column(j)).collect();
    let (i2, i3) = icc23_reference(&cols);
    close(
        i2,
        SF_ICC[1].0,
        1e-12,
        "reference ICC(2,1) on Shrout-Fleiss",
    );
    close(
        i3,
        SF_ICC[2].0,
        1e-12,
        "reference ICC(3,1) on Shrout-Fleiss",
    );
    // One query: truth and estimate are the two raters. Both sides sum ≤ 23 terms of O(1)
    // values (rounding ~1e-15 on each mean square) and the ICCs here are far from 0/0: 1e-12.
    let pooled_t: Vec<f64> = [&Q1T[..], &Q2T, &Q3T].concat();
    let pooled_e: Vec<f64> = [&Q1E[..], &Q2E, &Q3E].concat();
    let cases: [(&[f64], &[f64]); 4] = [
        (&Q1T, &Q1E),
        (&Q2T, &Q2E),
        (&Q3T, &Q3E),
        (&pooled_t, &pooled_e),
    ];
    for (q, (t, e)) in cases.iter().enumerate() {
        let (want2, want3) = icc23_reference(&[t, e]);
        let (got2, got3) = query_icc(t, e);
        close(
            some(got2, "ICC(2,1)"),
            want2,
            1e-12,
            &format!("case {q} ICC(2,1)"),
        );
        close(
            some(got3, "ICC(3,1)"),
            want3,
            1e-12,
            &format!("case {q} ICC(3,1)"),
        );
    }
    // The concatenated pairs are the pooled form: pingouin's values of the pooled test above.
    let (a, c) = query_icc(&pooled_t, &pooled_e);
    close(
        some(a, "pooled ICC(2,1)"),
        0.9775078900986797,
        1e-9,
        "pingouin ICC(A,1)",
    );
    close(
        some(c, "pooled ICC(3,1)"),
        0.9765446711525303,
        1e-9,
        "pingouin ICC(C,1)",
    );
    // One query alone: the pooled helper over that query agrees (same moments, merged once).
    let v = validity_icc(&[&Q1T], &[&Q1E], 0, 1);
    let (a, c) = query_icc(&Q1T, &Q1E);
    close(
        some(a, "a"),
        some(v.agreement.value, "a"),
        1e-12,
        "one-query pooled ICC(2,1)",
    );
    close(
        some(c, "c"),
        some(v.consistency.value, "c"),
        1e-12,
        "one-query pooled ICC(3,1)",
    );
    // Non-finite pairs are dropped.
    let (t, e) = (
        [0.3, f64::NAN, -0.2, 0.1, 0.0, 0.4],
        [0.5, 9.0, -0.1, f64::INFINITY, 0.1, 0.45],
    );
    let (got2, got3) = query_icc(&t, &e);
    let (want2, want3) = icc23_reference(&[&[0.3, -0.2, 0.0, 0.4], &[0.5, -0.1, 0.1, 0.45]]);
    close(
        some(got2, "dropped"),
        want2,
        1e-12,
        "ICC(2,1) without non-finite pairs",
    );
    close(
        some(got3, "dropped"),
        want3,
        1e-12,
        "ICC(3,1) without non-finite pairs",
    );
    // Undefined: fewer than 2 pairs, or every value equal.
    assert_eq!(query_icc(&[1.0], &[2.0]), (None, None));
    assert_eq!(query_icc(&[1.0, f64::NAN], &[2.0, 3.0]), (None, None));
    assert_eq!(query_icc(&[2.0; 4], &[2.0; 4]), (None, None));
}

#[test]
fn per_query_icc_ignores_what_separates_queries() {
    // Each query's scores sit at their own level (sd 10 across queries); within a query truth
    // and estimate are independent noise (sd 1) around it. Pooled, the levels are shared
    // "subject" variance: ICC(3,1) ≈ 100/101. Per query there is no agreement at all: ICC(3,1)
    // has mean ≈ 0 with sd ≈ 1/√50 per query, so the mean of 40 is within ±0.1 (≈ 4 sd).
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let mut truth = Vec::new();
    let mut est = Vec::new();
    for _ in 0..40 {
        let level = 10.0 * normal(&mut rng);
        truth.push(
            (0..50)
                .map(|_| level + normal(&mut rng))
                .collect::<Vec<f64>>(),
        );
        est.push(
            (0..50)
                .map(|_| level + normal(&mut rng))
                .collect::<Vec<f64>>(),
        );
    }
    let t: Vec<&[f64]> = truth.iter().map(Vec::as_slice).collect();
    let e: Vec<&[f64]> = est.iter().map(Vec::as_slice).collect();
    let pooled = some(validity_icc(&t, &e, 0, 1).consistency.value, "pooled");
    assert!(pooled > 0.95, "pooled ICC(3,1) {pooled}");
    let per_query: Vec<f64> = t
        .iter()
        .zip(&e)
        .map(|(t, e)| some(query_icc(t, e).1, "per query"))
        .collect();
    let mean = per_query.iter().sum::<f64>() / per_query.len() as f64;
    assert!(mean.abs() < 0.1, "mean per-query ICC(3,1) {mean}");
}

#[test]
fn kappa_and_query_icc_do_not_depend_on_row_order() {
    // 40 queries × 500 rows of a 3-level estimate (`util::codec_like_queries`); the same
    // reordering of a query's truth and estimate rows (reversed, a seeded shuffle) must leave
    // top-k kappa (value and bootstrap interval: the queries, hence the resamples, are
    // unchanged), each query's table, and each query's ICC unchanged. The tables come from
    // integer counts of tied groups; the ICC's sums change order (≤ 1000 terms of O(1):
    // ~1e-13 at worst): 1e-12 for all.
    let (truth, est) = crate::util::codec_like_queries(40, 500, 43);
    let reversed: Vec<usize> = (0..500).rev().collect();
    let mut shuffled: Vec<usize> = (0..500).collect();
    shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(44));
    let (t, e) = (slices(&truth), slices(&est));
    for order in [&reversed, &shuffled] {
        let (t2v, e2v) = (
            crate::util::reorder(&truth, order),
            crate::util::reorder(&est, order),
        );
        let (t2, e2) = (slices(&t2v), slices(&e2v));
        for k in [1, 10, 37] {
            let (a, b) = (
                topk_kappa(&t, &e, k, 200, 5),
                topk_kappa(&t2, &e2, k, 200, 5),
            );
            for (x, y, what) in [
                (a.value, b.value, "value"),
                (a.ci_lo, b.ci_lo, "ci_lo"),
                (a.ci_hi, b.ci_hi, "ci_hi"),
            ] {
                close(
                    some(y, what),
                    some(x, what),
                    1e-12,
                    &format!("k {k} kappa {what}"),
                );
            }
            for q in 0..t.len() {
                let (m1, m2) = (
                    topk_confusion(t[q], e[q], k),
                    topk_confusion(t2[q], e2[q], k),
                );
                for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    close(
                        m2.count(i, j),
                        m1.count(i, j),
                        1e-12,
                        &format!("q {q} k {k} cell"),
                    );
                }
                // Chance-corrected recall holds per query with fractional tables too.
                let r = recall_at_k(t[q], e[q], k);
                let c = k as f64 / 500.0;
                close(
                    some(m1.kappa(KappaWeights::Nominal), "query kappa"),
                    (r - c) / (1.0 - c),
                    1e-12,
                    &format!("q {q} k {k} kappa vs recall"),
                );
            }
        }
        for q in 0..t.len() {
            let ((a2, a3), (b2, b3)) = (query_icc(t[q], e[q]), query_icc(t2[q], e2[q]));
            close(
                some(b2, "icc2"),
                some(a2, "icc2"),
                1e-12,
                &format!("q {q} ICC(2,1)"),
            );
            close(
                some(b3, "icc3"),
                some(a3, "icc3"),
                1e-12,
                &format!("q {q} ICC(3,1)"),
            );
        }
        let d1 = decile_kappa_quadratic(&t, &e, 0, 1).value;
        let d2 = decile_kappa_quadratic(&t2, &e2, 0, 1).value;
        close(
            some(d2, "decile"),
            some(d1, "decile"),
            1e-12,
            "decile kappa",
        );
    }
}

fn slices(v: &[Vec<f64>]) -> Vec<&[f64]> {
    v.iter().map(Vec::as_slice).collect()
}

/// Per-query blocks of `n_base` units: codec scores = truth + noise of the given level.
fn instrument_data(
    queries: usize,
    n_base: usize,
    noise: &[f64],
    seed: u64,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let truth: Vec<f64> = (0..queries * n_base).map(|_| normal(&mut rng)).collect();
    let items = noise
        .iter()
        .map(|&s| truth.iter().map(|t| t + s * normal(&mut rng)).collect())
        .collect();
    (truth, items)
}

#[test]
fn instrument_evaluates_the_decision_rules() {
    // Three good codecs, one very noisy, one unrelated to the truth, one constant.
    let (truth, mut items) = instrument_data(30, 40, &[0.1, 0.12, 0.15, 3.0], 8);
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    items.push((0..truth.len()).map(|_| normal(&mut rng)).collect());
    items.push(vec![0.5; truth.len()]);
    let names: Vec<String> = ["a", "b", "c", "noisy", "unrelated", "flat"]
        .map(String::from)
        .to_vec();
    let opts = InstrumentOptions {
        resamples: 200,
        pa_matrices: 50,
        ..InstrumentOptions::new(40, 4)
    };
    let rep = instrument(&items, &names, Some(&truth), &opts);
    assert_eq!((rep.n_units, rep.n_groups), (1200, 30));
    assert_eq!(rep.excluded, vec!["flat".to_owned()]);
    let w = rep.without_truth.as_ref().unwrap();
    assert_eq!(w.names, ["a", "b", "c", "noisy", "unrelated"]);
    assert_eq!(w.alpha_std.n, 30);
    assert_ci_brackets(&w.alpha_std, "alpha_std");
    let alpha = w.alpha_std.value.unwrap();
    // Standardized alpha from the correlation matrix, recomputed by hand.
    let r = &w.correlation;
    let mean_r = (r.sum() - 5.0) / 20.0;
    close(
        alpha,
        5.0 * mean_r / (1.0 + 4.0 * mean_r),
        1e-12,
        "alpha_std",
    );
    let fired = |rule: Rule, items: &[&str]| {
        rep.rules
            .iter()
            .any(|f| f.rule == rule && f.items.iter().map(String::as_str).eq(items.iter().copied()))
    };
    assert!(fired(Rule::Redundant, &["a", "b"]));
    assert!(fired(Rule::Redundant, &["b", "c"]));
    assert!(fired(Rule::DifferentConstructs, &["a", "unrelated"]));
    assert!(fired(Rule::DifferentConstructs, &["a", "noisy"]));
    assert!(fired(Rule::Noisy, &["unrelated"]));
    assert!(!fired(Rule::Noisy, &["a"]));
    for f in &rep.rules {
        match f.rule {
            Rule::Redundant => assert!(f.value >= REDUNDANT_ALPHA),
            Rule::DifferentConstructs => assert!(f.value < DIFFERENT_ALPHA),
            Rule::Noisy => assert!(f.value > f.threshold),
        }
        assert!(!f.statement.is_empty());
    }
    // Parallel analysis: the good codecs share one factor; the unrelated one is alone.
    assert_eq!(w.parallel.as_ref().unwrap().factors, 1);
    // With the truth as a criterion item: it is last and correlates best with the rest.
    let t = rep.with_truth.as_ref().unwrap();
    assert_eq!(t.names.last().unwrap(), "truth");
    let it: Vec<f64> = t.item_total.iter().map(|v| v.unwrap()).collect();
    assert!(it[5] > it[3] && it[5] > it[4]);
    // Deterministic.
    assert_eq!(rep, instrument(&items, &names, Some(&truth), &opts));
}

#[test]
fn instrument_without_truth_and_with_non_finite_units() {
    let (_, mut items) = instrument_data(10, 20, &[0.2, 0.3], 3);
    items[1][5] = f64::NAN;
    let names = vec!["x".to_owned(), "y".to_owned()];
    let rep = instrument(&items, &names, None, &InstrumentOptions::new(20, 1));
    assert_eq!(rep.n_units, 199);
    assert!(rep.with_truth.is_none());
    let w = rep.without_truth.unwrap();
    // Two items: the set-level rule only, no pair rules; no alpha-if-deleted.
    assert!(w.alpha_if_deleted.iter().all(Option::is_none));
    assert_eq!(rep.rules.len(), 1);
    assert_eq!(rep.rules[0].items, names);
}

#[test]
fn instrument_of_nothing_is_empty() {
    let rep = instrument(&[], &[], None, &InstrumentOptions::new(1, 0));
    assert_eq!(rep.n_units, 0);
    assert!(rep.without_truth.is_none() && rep.with_truth.is_none() && rep.rules.is_empty());
}

#[test]
fn in_bench_helpers_give_defined_values_at_the_default_run_scale() {
    // 200 queries × 2000 base rows × 8 codecs: the size of a default run's population. How long
    // this takes is measured by benchmarks, never asserted here (a timed test fails on a
    // loaded machine); this checks that every statistic is defined and in range at that size.
    let (queries, n_base) = (200, 2000);
    let (truth, items) = instrument_data(
        queries,
        n_base,
        &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
        2,
    );
    let names: Vec<String> = (0..items.len()).map(|i| format!("c{i}")).collect();
    let rep = instrument(
        &items,
        &names,
        Some(&truth),
        &InstrumentOptions::new(n_base, 0),
    );
    assert!(rep.without_truth.is_some());
    let t: Vec<&[f64]> = truth.chunks(n_base).collect();
    let e: Vec<&[f64]> = items[0].chunks(n_base).collect();
    let in_range = |e: codecbench::metric::bootstrap::Estimate| {
        let (v, lo, hi) = (e.value.unwrap(), e.ci_lo.unwrap(), e.ci_hi.unwrap());
        assert!((-1.0..=1.0).contains(&v) && lo <= v && v <= hi, "{e:?}");
    };
    let icc = validity_icc(&t, &e, 1000, 0);
    in_range(icc.agreement);
    in_range(icc.consistency);
    in_range(topk_kappa(&t, &e, 10, 1000, 0));
    in_range(decile_kappa_quadratic(&t, &e, 1000, 0));
}
