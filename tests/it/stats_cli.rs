//! Tests of `codecbench::stats::stats_command`, the library side of `codecbench stats`: the JSON
//! shape the issue specifies, reference values through the CSV path (Shrout & Fleiss published
//! ICCs, pingouin / scikit-learn / SciPy values), the text output, and errors that name the row
//! and column of a bad table.
//!
//! Reference values come from the same venv as `reliability.rs` (pingouin 0.7.0, scipy 1.17.1,
//! scikit-learn 1.9.1); each literal names its call.

use codecbench::Error;
use codecbench::stats::{StatsMode, stats_command};
use serde_json::Value;
use std::path::PathBuf;

fn write_csv(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `codecbench stats` in `mode` on the CSV file `path`, as JSON.
fn stats_json(path: &std::path::Path, mode: StatsMode) -> Value {
    serde_json::from_str(&stats_command(path, mode, true).unwrap()).unwrap()
}

/// A CSV of two columns named by `header`, one `x,y` row per pair.
fn two_columns<X: std::fmt::Display, Y: std::fmt::Display>(
    header: &str,
    x: &[X],
    y: &[Y],
) -> String {
    let mut text = format!("{header}\n");
    for (a, b) in x.iter().zip(y) {
        text.push_str(&format!("{a},{b}\n"));
    }
    text
}

fn close(got: &Value, want: f64, tol: f64, what: &str) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!((g - want).abs() <= tol, "{what}: got {g}, want {want}");
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

const SHROUT_FLEISS_CSV: &str = "judge1,judge2,judge3,judge4
9,2,5,8
6,1,3,2
8,4,6,8
7,1,2,6
10,5,6,9
6,2,4,7
";

fn bad_reason(r: codecbench::Result<String>) -> String {
    match r {
        Err(Error::BadHeader { format, reason, .. }) => {
            assert_eq!(format, "csv");
            reason
        }
        other => panic!("expected a bad-table error, got {other:?}"),
    }
}

#[test]
fn table_json_has_the_specified_shape_and_reference_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_csv(&dir, "sf.csv", SHROUT_FLEISS_CSV);
    let out = stats_command(&p, StatsMode::Table, true).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        keys(&v),
        [
            "alpha",
            "alpha_if_deleted",
            "alpha_std",
            "eigenvalues",
            "icc",
            "item_total"
        ]
    );
    assert_eq!(
        keys(&v["icc"]),
        ["ICC1", "ICC1k", "ICC2", "ICC2k", "ICC3", "ICC3k"]
    );
    // Published (Shrout & Fleiss 1979, Table 4), to 2 decimals; then pingouin 0.7.0
    // intraclass_corr (CI95 unrounded) to 1e-6.
    let forms = [
        (
            "ICC1",
            0.17,
            0.1657417684054755,
            -0.13293232487475096,
            0.722560062328121,
        ),
        (
            "ICC2",
            0.29,
            0.28976377952755916,
            0.018786513374712058,
            0.7610843696489527,
        ),
        (
            "ICC3",
            0.71,
            0.7148407148407154,
            0.34246476503392614,
            0.9458582599553597,
        ),
        (
            "ICC1k",
            0.44,
            0.44279713367926876,
            -0.8844421552381196,
            0.9124154203407755,
        ),
        (
            "ICC2k",
            0.62,
            0.6200505475989893,
            0.07113681530250353,
            0.9272320401677219,
        ),
        (
            "ICC3k",
            0.91,
            0.9093155423770697,
            0.6756747138163055,
            0.9858916781690623,
        ),
    ];
    for (form, published, value, lo, hi) in forms {
        let e = &v["icc"][form];
        assert_eq!(keys(e), ["ci_hi", "ci_lo", "value"]);
        let got = e["value"].as_f64().unwrap();
        assert_eq!(
            format!("{got:.2}"),
            format!("{published:.2}"),
            "{form} published"
        );
        close(&e["value"], value, 1e-6, form);
        close(&e["ci_lo"], lo, 1e-6, form);
        close(&e["ci_hi"], hi, 1e-6, form);
    }
    // pg.cronbach_alpha (np.round patched out) on the frame and on its z-scores.
    close(&v["alpha"]["value"], 0.9093155423770694, 1e-6, "alpha");
    close(&v["alpha"]["ci_lo"], 0.6756747138163043, 1e-6, "alpha lo");
    close(&v["alpha"]["ci_hi"], 0.9858916781690623, 1e-6, "alpha hi");
    close(
        &v["alpha_std"]["value"],
        0.9269436462587374,
        1e-6,
        "alpha_std",
    );
    close(
        &v["alpha_std"]["ci_lo"],
        0.7387201351173875,
        1e-6,
        "alpha_std lo",
    );
    close(
        &v["alpha_std"]["ci_hi"],
        0.9886341874077005,
        1e-6,
        "alpha_std hi",
    );
    let aid = [
        0.8833922261484098,
        0.866504854368932,
        0.8715486194477791,
        0.9178743961352654,
    ];
    let it = [
        0.80578737035218,
        0.8593040509596616,
        0.8444792822226258,
        0.7902036646570129,
    ];
    let eig = [
        3.2827677517283202,
        0.36297635251905874,
        0.24939648587224023,
        0.10485940988038207,
    ];
    for j in 0..4 {
        close(&v["alpha_if_deleted"][j], aid[j], 1e-6, "alpha if deleted");
        close(
            &v["item_total"][j],
            it[j],
            1e-6,
            "item-total (scipy pearsonr with rest sum)",
        );
        close(
            &v["eigenvalues"][j],
            eig[j],
            1e-6,
            "eigenvalue (numpy eigh)",
        );
    }
}

#[test]
fn table_text_names_every_statistic() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_csv(&dir, "sf.csv", SHROUT_FLEISS_CSV);
    let out = stats_command(&p, StatsMode::Table, false).unwrap();
    for needle in [
        "6 subjects × 4 items (judge1, judge2, judge3, judge4)",
        "ICC1     0.1657  [-0.1329, 0.7226]",
        "ICC3k    0.9093",
        "mean of 4 raters",
        "raw             0.9093  [0.6757, 0.9859]",
        "standardized    0.9269",
        "judge4",
        "0.9179",
        "Eigenvalues of the item correlation matrix: 3.2828  0.3630  0.2494  0.1049",
        "Parallel analysis (200 random normal data sets",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    assert!(!out.ends_with('\n'));
}

#[test]
fn agreement_matches_scikit_learn() {
    // sklearn.metrics.cohen_kappa_score(a, b, weights=None / 'linear' / 'quadratic') on
    // a = [1,2,3,5,2,1,3,3,5,2,1,2,5,3,2,1,3,5,2,3], b = [1,2,2,5,3,1,3,5,5,2,2,2,3,3,1,1,3,5,2,2].
    let a = [1, 2, 3, 5, 2, 1, 3, 3, 5, 2, 1, 2, 5, 3, 2, 1, 3, 5, 2, 3];
    let b = [1, 2, 2, 5, 3, 1, 3, 5, 5, 2, 2, 2, 3, 3, 1, 1, 3, 5, 2, 2];
    let dir = tempfile::tempdir().unwrap();
    let p = write_csv(&dir, "k.csv", &two_columns("rater_a, rater_b", &a, &b));
    let v = stats_json(&p, StatsMode::Agreement);
    assert_eq!(keys(&v), ["kappa", "kappa_linear", "kappa_quadratic", "n"]);
    close(&v["kappa"], 0.527027027027027, 1e-6, "kappa");
    close(&v["kappa_linear"], 0.6929824561403508, 1e-6, "linear");
    close(&v["kappa_quadratic"], 0.8333333333333334, 1e-6, "quadratic");
    assert_eq!(v["n"], 20);
    let t = stats_command(&p, StatsMode::Agreement, false).unwrap();
    assert!(
        t.contains("4 categories: 1 < 2 < 3 < 5 (numeric order)"),
        "{t}"
    );
    assert!(t.contains("Cohen's kappa (nominal)     0.5270"), "{t}");
}

#[test]
fn correlation_matches_scipy() {
    // scipy.stats.pearsonr / spearmanr / kendalltau (tau-b) on these columns (ties in both).
    let dir = tempfile::tempdir().unwrap();
    let x = [1.5, 2.0, 2.0, 3.1, 4.7, 4.7, 5.0, 6.2, 7.7, 8.0, 8.0, 9.9];
    let y = [2.1, 1.9, 2.5, 3.3, 4.0, 5.1, 5.1, 5.0, 8.2, 7.1, 9.0, 9.0];
    let p = write_csv(&dir, "c.csv", &two_columns("exact,estimate", &x, &y));
    let v = stats_json(&p, StatsMode::Correlation);
    assert_eq!(keys(&v), ["kendall", "n", "pearson", "spearman"]);
    close(&v["pearson"], 0.9664396463790577, 1e-6, "pearson");
    close(&v["spearman"], 0.9418004065475628, 1e-6, "spearman");
    close(&v["kendall"], 0.8346715445620434, 1e-6, "kendall tau-b");
    assert_eq!(v["n"], 12);
    let t = stats_command(&p, StatsMode::Correlation, false).unwrap();
    assert!(
        t.contains("exact vs estimate, n = 12") && t.contains("Kendall tau-b"),
        "{t}"
    );
}

#[test]
fn bad_tables_name_the_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, StatsMode, &str, &[&str]); 12] = [
        ("empty.csv", StatsMode::Table, "", &["no header row"]),
        (
            "header_only.csv",
            StatsMode::Correlation,
            "a,b\n",
            &["at least 2 subjects", "found 0"],
        ),
        (
            "ragged.csv",
            StatsMode::Table,
            "a,b,c\n1,2,3\n4,5\n",
            &["row 2 (line 3)", "2 cells", "3 columns", "column 3 'c'"],
        ),
        (
            "long.csv",
            StatsMode::Table,
            "a,b\n1,2\n4,5,6\n",
            &["row 2 (line 3)", "3 cells", "column 3 has no header"],
        ),
        (
            "text.csv",
            StatsMode::Table,
            "a,b,c\n1,2,3\n4,x5,6\n7,8,9\n",
            &["row 2 (line 3), column 2 'b'", "'x5' is not a number"],
        ),
        (
            "empty_cell.csv",
            StatsMode::Table,
            "a,b\n1,2\n3,\n",
            &["row 2 (line 3), column 2 'b'", "empty cell"],
        ),
        (
            "inf.csv",
            StatsMode::Correlation,
            "a,b\n1,2\n3,inf\n",
            &["row 2 (line 3), column 2 'b'", "not a finite number"],
        ),
        (
            "one_subject.csv",
            StatsMode::Table,
            "a,b\n1,2\n",
            &["at least 2 subjects", "found 1"],
        ),
        (
            "one_item.csv",
            StatsMode::Table,
            "a\n1\n2\n",
            &["at least 2 items", "has 1 (a)"],
        ),
        (
            "constant.csv",
            StatsMode::Table,
            "a,b,c\n1,5,3\n2,5,1\n3,5,2\n",
            &["column 2 'b' is constant", "every row is 5"],
        ),
        (
            "three.csv",
            StatsMode::Agreement,
            "a,b,c\n1,2,3\n1,2,3\n",
            &["--agreement needs exactly 2 columns", "has 3 (a, b, c)"],
        ),
        (
            "same_label.csv",
            StatsMode::Agreement,
            "a,b\nyes,yes\nyes,yes\n",
            &["kappa is undefined", "'yes'"],
        ),
    ];
    for (name, mode, text, needles) in cases {
        let p = write_csv(&dir, name, text);
        let reason = bad_reason(stats_command(&p, mode, false));
        for n in needles {
            assert!(reason.contains(n), "{name}: {n:?} not in {reason:?}");
        }
        // JSON mode fails the same way (errors are not rendered as JSON).
        assert!(stats_command(&p, mode, true).is_err());
    }
    let missing = stats_command(&dir.path().join("nope.csv"), StatsMode::Table, false);
    assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
    // The message a user sees names the file and the format.
    let p = write_csv(&dir, "bad.csv", "a,b\n1,2\n3,q\n");
    let msg = stats_command(&p, StatsMode::Table, false)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("bad.csv") && msg.contains("not a valid csv file"),
        "{msg}"
    );
}

#[test]
fn agreement_allows_a_one_label_rater_and_text_labels() {
    // A rater who always says "yes" is legal (kappa 0 against a varying rater):
    // sklearn cohen_kappa_score(['yes']*4, ['yes','no','yes','no']) = 0.0.
    let dir = tempfile::tempdir().unwrap();
    let p = write_csv(&dir, "k.csv", "a,b\nyes,yes\nyes,no\nyes,yes\nyes,no\n");
    let v = stats_json(&p, StatsMode::Agreement);
    close(&v["kappa"], 0.0, 1e-12, "kappa");
    let t = stats_command(&p, StatsMode::Agreement, false).unwrap();
    assert!(t.contains("no < yes (text order"), "{t}");
}

#[test]
fn a_two_subject_table_reports_but_skips_parallel_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_csv(&dir, "two.csv", "x,y,z\n1,2,4\n3,3,5\n");
    let out = stats_command(&p, StatsMode::Table, false).unwrap();
    assert!(
        out.contains("Parallel analysis: needs at least 3 subjects"),
        "{out}"
    );
    let v = stats_json(&p, StatsMode::Table);
    // Perfectly correlated columns: standardized alpha 1.
    close(&v["alpha_std"]["value"], 1.0, 1e-12, "alpha_std");
}

/// Values whose squares overflow f64 are named as such (a column of ±1e308 was once called
/// "constant (rounding noise)").
#[test]
fn values_too_large_to_square_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_csv(&dir, "big.csv", "a,b\n1e308,1\n1e308,2\n-1e308,3\n");
    for mode in [StatsMode::Table, StatsMode::Correlation] {
        let why = bad_reason(stats_command(&p, mode, false));
        assert!(
            why.contains("'a'") && why.contains("overflow") && !why.contains("constant"),
            "{why}"
        );
    }
}

/// A wide table (5 subjects × 300 items, fewer subjects than items) is analysed in full:
/// eigenvalues from rank n − 1 = 4, parallel analysis with 300 thresholds. (It took minutes
/// when each simulated 300 × 300 matrix went through Jacobi; the time is watched by the
/// `stats` benchmark, not here.)
#[test]
fn a_wide_table_is_analysed_with_every_statistic() {
    let dir = tempfile::tempdir().unwrap();
    let k = 300;
    let mut text: String = (0..k)
        .map(|j| format!("c{j}"))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    let mut x: u64 = 7;
    for _ in 0..5 {
        let row: Vec<String> = (0..k)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("{:.4}", (x >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    let p = write_csv(&dir, "wide.csv", &text);
    let v = stats_json(&p, StatsMode::Table);
    let eig = v["eigenvalues"].as_array().unwrap();
    assert_eq!(eig.len(), k);
    // The correlation matrix has trace k and rank n − 1 = 4. Tolerances: a backward-stable
    // solver (faer, k = 300 > JACOBI_MAX) perturbs each eigenvalue by a few ε·‖R‖ with
    // ‖R‖ ≤ k = 300, i.e. ~1e-13; summed over 300 values ~1e-11, so 1e-6 (and 1e-9 for a zero
    // eigenvalue) leave orders of margin while a wrong rank or trace misses by ≥ 0.1.
    let sum: f64 = eig.iter().map(|e| e.as_f64().unwrap()).sum();
    assert!((sum - k as f64).abs() < 1e-6, "{sum}");
    assert!(eig[4].as_f64().unwrap().abs() < 1e-9);
    let text = stats_command(&p, StatsMode::Table, false).unwrap();
    let pa = text
        .lines()
        .find(|l| l.starts_with("Parallel analysis"))
        .unwrap();
    let thresholds = pa.split("thresholds:").nth(1).unwrap();
    assert_eq!(thresholds.split_whitespace().count(), k, "{pa}");
}
