//! Reports as views of the results: the HTML page holds well-formed SVG plots with the expected
//! series, the Pareto frontier is right, `compare` flags an injected regression, and a plan file
//! reproduces a run.

use crate::util::{latest_rows, quick_args, run_bin, run_ok, stderr, stdout};
use codecbench::report::html::series_key;
use codecbench::report::jsonl;
use codecbench::report::svg::pareto;

/// Every `<svg>…</svg>` chunk of a page.
fn svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(a) = rest.find("<svg") {
        let b = rest[a..].find("</svg>").expect("unclosed svg") + a + 6;
        out.push(&rest[a..b]);
        rest = &rest[b..];
    }
    out
}

fn well_formed(xml: &str) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut depth = 0i32;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if depth == 0 {
        Ok(())
    } else {
        Err(format!("unbalanced tags ({depth})"))
    }
}

#[test]
fn html_report_has_well_formed_plots_with_every_series() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        dir.path(),
        &quick_args(&[
            "-p",
            "gaussian:n=400,d=32",
            "-p",
            "clustered:n=300,d=17",
            "-c",
            "exact",
            "-c",
            "int8",
            "-c",
            "int4:group=8",
            "-c",
            "int4:group=row",
            "--out",
            "o",
        ]),
    );
    let html = std::fs::read_to_string(dir.path().join("o/latest/report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(!html.contains("http://") || html.matches("http://").all(|_| true));
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "must be self-contained"
    );
    let plots = svgs(&html);
    // 3 heat maps across populations + per population 3 rate–distortion plots and the codec ×
    // codec agreement map.
    assert_eq!(plots.len(), 3 + 4 * 2, "{} svgs", plots.len());
    let agreement = plots
        .iter()
        .find(|p| p.contains("gaussian:n=400,d=32: codec × codec agreement"))
        .unwrap();
    assert!(agreement.contains("int4:group=row"));
    for p in &plots {
        well_formed(p).unwrap_or_else(|e| panic!("{e}: {p}"));
    }
    let recon = plots
        .iter()
        .find(|p| p.contains("gaussian:n=400,d=32: recon_mse vs bits/dim"))
        .unwrap();
    for series in ["exact", "int8", "int4:group=8", "int4:group=row"] {
        assert!(
            recon.contains(&format!("data-series=\"{series}\"")),
            "{series}"
        );
    }
    // The Gaussian control carries the reference curves; the clustered one does not.
    assert!(recon.contains("Shannon bound") && recon.contains("TurboQuant bound"));
    let other = plots
        .iter()
        .find(|p| p.contains("clustered:n=300,d=17: recon_mse"))
        .unwrap();
    assert!(!other.contains("Shannon bound"));
    assert!(recon.contains("class=\"frontier\""));
}

#[test]
fn pareto_frontier_keeps_only_undominated_points() {
    // (bits, error): lower error is better.
    let pts = [
        (4.0, 0.01),
        (8.0, 0.001),
        (8.0, 0.002),
        (16.0, 0.005),
        (32.0, 0.0),
    ];
    assert_eq!(
        pareto(&pts, false),
        vec![(4.0, 0.01), (8.0, 0.001), (32.0, 0.0)]
    );
    // (bits, recall): higher is better.
    let pts = [
        (4.0, 0.9),
        (5.0, 0.85),
        (8.0, 0.99),
        (16.0, 0.99),
        (32.0, 1.0),
    ];
    assert_eq!(
        pareto(&pts, true),
        vec![(4.0, 0.9), (8.0, 0.99), (32.0, 1.0)]
    );
}

#[test]
fn series_group_a_codec_across_bit_widths() {
    assert_eq!(
        series_key("tq-mse:bits=2,rot=hadamard"),
        "tq-mse:rot=hadamard"
    );
    assert_eq!(series_key("rabitq:bits=1"), "rabitq");
    assert_eq!(series_key("int4:group=32"), "int4:group=32");
    assert_eq!(series_key("int8"), "int8");
}

#[test]
fn compare_flags_an_injected_regression_from_the_intervals() {
    // Runs without per-query values (as made before `units/` existed) are compared from their
    // intervals.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = |out: &'static str| {
        quick_args(&[
            "-p",
            "gaussian:n=400,d=32",
            "-c",
            "int8",
            "-c",
            "int4",
            "--out",
            out,
        ])
    };
    run_ok(d, &args("a"));
    run_ok(d, &args("b"));
    for run in ["a", "b"] {
        std::fs::remove_dir_all(d.join(run).join("latest/units")).unwrap();
    }
    let o = run_bin(
        d,
        &["compare", "a/latest", "b/latest", "--fail-on-regression"],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 regression(s)"), "{}", stdout(&o));

    // Make int8's recall@10 in run B clearly worse, CI included.
    let path = d.join("b/latest/results.jsonl");
    let mut rows = jsonl::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for r in rows
        .iter_mut()
        .filter(|r| r.codec == "int8" && r.metric == "recall@10")
    {
        r.value = Some(0.5);
        r.ci_lo = Some(0.45);
        r.ci_hi = Some(0.55);
    }
    std::fs::write(&path, jsonl::render(&rows)).unwrap();
    let o = run_bin(
        d,
        &["compare", "a/latest", "b/latest", "--fail-on-regression"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("1 regression(s)") && out.contains("REGRESSION") && out.contains("recall@10"),
        "{out}"
    );
    // A --min-effect larger than the change keeps it from failing the build.
    let o = run_bin(
        d,
        &[
            "compare",
            "a/latest",
            "b/latest",
            "--fail-on-regression",
            "--min-effect",
            "0.6",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // Without the flag, the regression is reported but the exit code stays 0.
    assert_eq!(
        run_bin(d, &["compare", "a/latest", "b/latest"])
            .status
            .code(),
        Some(0)
    );
    // An improvement is not a regression: swap the runs.
    let o = run_bin(
        d,
        &["compare", "b/latest", "a/latest", "--fail-on-regression"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("1 improvement(s)"));
}

/// A small run with random and deterministic codecs, three codec draws each.
fn seeded_run(d: &std::path::Path, out: &str, codec_seed: &str, codecs: &[&str]) {
    let mut args = vec![
        "run",
        "--no-probes",
        "--no-progress",
        "-p",
        "gaussian:n=1500,d=48",
        "-p",
        "clustered:n=1500,d=48",
        "--queries",
        "60",
        "--resamples",
        "200",
        "--replicates",
        "3",
        "--codec-seed",
        codec_seed,
        "--out",
        out,
    ];
    for c in codecs {
        args.extend(["-c", c]);
    }
    run_ok(d, &args);
}

const RANDOM_AND_FIXED: &[&str] = &[
    "int8",
    "int4",
    "tq-mse:bits=2",
    "rabitq:bits=1",
    "qjl",
    "pq",
];

#[test]
fn compare_of_two_codec_seeds_finds_no_regression() {
    // The same plan with other codec draws: differences are draws, which the paired test
    // covers with each run's three draws; at a family-wise error of 5% nothing may fail.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    seeded_run(d, "a", "1", RANDOM_AND_FIXED);
    seeded_run(d, "b", "2", RANDOM_AND_FIXED);
    let o = run_bin(
        d,
        &[
            "compare",
            "a/latest",
            "b/latest",
            "--fail-on-regression",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let changes = v["changes"].as_array().unwrap();
    // Every per-query metric of every cell was paired; the deterministic codecs' numbers are
    // identical (their fit does not depend on the codec seed).
    let paired = changes.iter().filter(|c| c["method"] == "paired").count();
    assert!(paired >= 2 * RANDOM_AND_FIXED.len() * 9, "{paired} paired");
    // (Instrument rows relate a codec to the others, random ones included: left out.)
    for c in changes.iter().filter(|c| {
        (c["codec"] == "int8" || c["codec"] == "int4:group=32")
            && !c["metric"].as_str().unwrap().starts_with("instrument.")
    }) {
        assert_eq!(c["delta"].as_f64(), Some(0.0), "{c}");
    }
    // The random codecs did move (other draws), yet nothing is significant.
    assert!(
        changes
            .iter()
            .any(|c| c["codec"] == "tq-mse:bits=2,rot=haar" && c["delta"].as_f64() != Some(0.0))
    );
    assert!(changes.iter().all(|c| c["significant"] == false), "{v}");
}

#[test]
fn compare_flags_int4_posing_as_int8() {
    // A real quality loss under an unchanged name: run B's "int8" is int4.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    seeded_run(d, "a", "1", &["int8", "tq-mse:bits=2"]);
    seeded_run(d, "b", "1", &["int4:group=row", "tq-mse:bits=2"]);
    let run_b = std::fs::canonicalize(d.join("b/latest")).unwrap();
    let results = run_b.join("results.jsonl");
    let text = std::fs::read_to_string(&results)
        .unwrap()
        .replace("\"int4:group=row\"", "\"int8\"");
    std::fs::write(&results, text).unwrap();
    for e in std::fs::read_dir(run_b.join("units")).unwrap() {
        let p = e.unwrap().path();
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"int4:group=row\"", "\"int8\"");
        std::fs::write(&p, t).unwrap();
    }
    let o = run_bin(
        d,
        &["compare", "a/latest", "b/latest", "--fail-on-regression"],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("REGRESSION"), "{out}");
    // tq-mse is the same codec with the same codec seed: the same draws, no change at all.
    assert!(
        !out.lines()
            .any(|l| l.contains("tq-mse") && l.contains("REGRESSION")),
        "{out}"
    );
}

#[test]
fn a_value_that_crosses_its_target_regresses_only_if_its_distance_grew() {
    use codecbench::report::compare::{CompareOptions, RunSide, compare};
    // Rows without per-query values are tested from their intervals (half-width 1e-4 here, so
    // every change below is significant); bias and slope have targets 0 and 1.
    let row = |codec: &str, metric: &str, v: f64| {
        let line = serde_json::json!({
            "population": "p", "codec": codec, "metric": metric, "value": v,
            "ci_lo": v - 1e-4, "ci_hi": v + 1e-4, "n": 100, "chance": null,
            "bytes_per_row": 8, "model_bytes": 0, "bits_per_dim": 8.0, "grade": "reconstruction",
            "family": "scalar", "dim": 8, "base_rows": 100, "queries": 100, "split": "held-out",
            "seed": 42, "codecbench_version": "0", "note": null
        });
        jsonl::parse(&line.to_string()).unwrap().remove(0)
    };
    let a = vec![
        row("int8", "bias", -0.010),
        row("int4:group=32", "bias", -0.001),
        row("f16", "slope", 0.999),
        row("bf16", "bias", 0.002),
    ];
    let b = vec![
        // Crosses 0, distance 0.010 → 0.0105: significant, no regression.
        row("int8", "bias", 0.0105),
        // Crosses 0, distance 0.001 → 0.5: a regression.
        row("int4:group=32", "bias", 0.5),
        // Crosses 1, distance 0.001 → 0.0011: no regression.
        row("f16", "slope", 1.0011),
        // Same side, distance 0.002 → 0.004: a regression.
        row("bf16", "bias", 0.004),
    ];
    let side = |rows| RunSide {
        rows,
        units: &[],
        codec_seed: Some(1),
    };
    let c = compare(&side(&a), &side(&b), &CompareOptions::default());
    let flagged: Vec<(&str, bool)> = c
        .changes
        .iter()
        .map(|x| (x.codec.as_str(), x.regression))
        .collect();
    assert!(c.changes.iter().all(|x| x.significant), "{c:?}");
    assert_eq!(
        flagged,
        vec![
            ("int8", false),
            ("int4:group=32", true),
            ("f16", false),
            ("bf16", true)
        ]
    );
}

#[test]
fn compare_refuses_a_damaged_per_query_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let units = crate::util::tiny_int8_run(d, "a").join("units");
    let file = std::fs::read_dir(&units)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // A ragged draw: one value more than the queries.
    let text = std::fs::read_to_string(&file).unwrap();
    let damaged = text.replacen("[[", "[[0.5,", 1);
    assert_ne!(damaged, text);
    std::fs::write(&file, damaged).unwrap();
    let o = run_bin(d, &["compare", "a/latest", "a/latest"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("units"), "{}", stderr(&o));
}

#[test]
fn welch_statistic_matches_its_closed_form() {
    use codecbench::report::compare::welch_t;
    // a = [1, 2, 3]: mean 2, s² = 1; b = [4, 5, 7]: mean 16/3, s² = 7/3.
    // s²/n: 1/3 and 7/9; se² = 10/9; t = (16/3 − 2)/√(10/9) = (10/3)·(3/√10) = √10.
    // df = (10/9)² / ((1/3)²/2 + (7/9)²/2) = (100/81) / (9/162 + 49/162) = (100/81)·(162/58)
    //    = 200/58 = 100/29. Tolerance: a few ulps of these O(1) numbers.
    let (t, df) = welch_t(&[1.0, 2.0, 3.0], &[4.0, 5.0, 7.0]).unwrap();
    assert!((t - 10f64.sqrt()).abs() < 1e-12, "{t}");
    assert!((df.unwrap() - 100.0 / 29.0).abs() < 1e-12, "{df:?}");
    // Zero variance on both sides: an exact difference, no test.
    assert_eq!(welch_t(&[1.0, 1.0], &[2.0, 2.0]), Some((1.0, None)));
    // Fewer than two values, or a NaN: no statistic.
    assert_eq!(welch_t(&[1.0], &[2.0, 3.0]), None);
    assert_eq!(welch_t(&[1.0, f64::NAN], &[2.0, 3.0]), None);
}

#[test]
fn compare_pairs_only_runs_that_scored_the_same_queries() {
    // Another --seed draws other queries: nothing may be paired query by query.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (out, seed) in [("a", "1"), ("b", "2")] {
        run_ok(
            d,
            &[
                "run",
                "--no-probes",
                "--no-progress",
                "-p",
                "gaussian:n=800,d=24",
                "--queries",
                "40",
                "--resamples",
                "100",
                "--seed",
                seed,
                "-c",
                "int8",
                "--out",
                out,
            ],
        );
    }
    let o = run_bin(d, &["compare", "a/latest", "b/latest", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    assert!(
        changes.iter().all(|c| c["method"] != "paired"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn adjusted_p_values_match_holm_and_benjamini_hochberg() {
    use codecbench::report::compare::{Correction, adjusted_p};
    // Ascending p = 0.01, 0.02, 0.03, 0.04 (m = 4).
    // Holm: max over j ≤ i of (m − j)·p_j: 0.04, max(0.04, 0.06), max(·, 0.06), max(·, 0.04).
    let p = [0.01, 0.02, 0.03, 0.04];
    let holm = adjusted_p(&p, Correction::Holm);
    for (x, y) in holm.iter().zip([0.04, 0.06, 0.06, 0.06]) {
        assert!((x - y).abs() < 1e-15, "{holm:?}");
    }
    // BH: min over j ≥ i of m·p_j / j: 0.04 for every i (4·0.04/4 = 0.04 is the minimum).
    let bh = adjusted_p(&p, Correction::Bh);
    for (x, y) in bh.iter().zip([0.04, 0.04, 0.04, 0.04]) {
        assert!((x - y).abs() < 1e-15, "{bh:?}");
    }
    // Caps at 1, and an empty family.
    assert_eq!(adjusted_p(&[0.5, 0.9], Correction::Holm), vec![1.0, 1.0]);
    assert!(adjusted_p(&[], Correction::Bh).is_empty());
}

#[test]
fn plan_file_runs_and_its_resolved_copy_reproduces_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("plan.toml"),
        "seed = 9\nquick = true\nprobes = [\"family\", \"identity\"]\npopulations = [\"gaussian:n=300,d=9\"]\ncodecs = [\"int8\"]\n\n[[sweep]]\ncodec = \"int4\"\nparams = { group = [4, \"row\"] }\n",
    )
    .unwrap();
    run_ok(d, &["run", "--plan", "plan.toml", "--out", "a"]);
    let resolved = std::fs::read_to_string(d.join("a/latest/plan.toml")).unwrap();
    for c in [
        "\"int8\"",
        "\"int4:group=4\"",
        "\"int4:group=row\"",
        "seed = 9",
        "probes = [\"family\", \"identity\"]",
    ] {
        assert!(resolved.contains(c), "{c}: {resolved}");
    }
    run_ok(d, &["run", "--plan", "a/latest/plan.toml", "--out", "b"]);
    assert_eq!(
        std::fs::read(d.join("a/latest/results.jsonl")).unwrap(),
        std::fs::read(d.join("b/latest/results.jsonl")).unwrap()
    );
    // Bad plans: unknown key, flags that the plan owns.
    std::fs::write(d.join("bad.toml"), "sede = 1\n").unwrap();
    let o = run_bin(d, &["run", "--plan", "bad.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.toml") && stderr(&o).contains("sede"),
        "{}",
        stderr(&o)
    );
    let o = run_bin(d, &["run", "--plan", "plan.toml", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Honest bytes: a codec whose shared state outweighs its codes is flagged in report.md, with
/// both sizes; one that does not is not.
#[test]
fn report_flags_shared_state_larger_than_the_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(
        d,
        &quick_args(&[
            "-p",
            "gaussian:n=320,d=9",
            "-c",
            "int8",
            "-c",
            "palette:k=256",
            "--out",
            "o",
        ]),
    );
    let md = std::fs::read_to_string(d.join("o/latest/report.md")).unwrap();
    let flags: Vec<&str> = md.lines().filter(|l| l.starts_with("- ⚠")).collect();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert!(flags[0].contains("palette:k=256,"), "{}", flags[0]);
    // The flagged size is the run's own model_bytes (≤ 256 entries × 9 dims × 4 bytes: the
    // palette holds at most the training rows).
    let rows = latest_rows(d, "o");
    let r = rows
        .iter()
        .find(|r| r.codec.starts_with("palette:k=256,"))
        .unwrap();
    assert!(r.model_bytes > r.bytes_per_row * r.base_rows && r.model_bytes <= 9216);
    assert!(
        flags[0].contains(&format!("shared state {} B", r.model_bytes)),
        "{}",
        flags[0]
    );
}

/// The CSV header written for an empty file (the journal starts every run's results.csv with
/// it, then appends rows) is exactly the header serde writes above a row: same names, same
/// order (it once lacked `draws`, so every appended column sat under the wrong name).
#[test]
fn the_empty_csv_header_is_the_rows_header() {
    let row: codecbench::results::ResultRow = serde_json::from_str(
        r#"{"population":"p","codec":"int8","metric":"pearson","value":0.5,"ci_lo":null,"ci_hi":null,"n":3,"draws":1,"chance":null,"bytes_per_row":1,"model_bytes":0,"bits_per_dim":8.0,"grade":"reconstruction","family":"scalar","dim":1,"base_rows":3,"queries":3,"split":"held-out","seed":1,"codecbench_version":"x","note":null}"#,
    )
    .unwrap();
    let empty = codecbench::report::csv::render(&[]).unwrap();
    let full = codecbench::report::csv::render(std::slice::from_ref(&row)).unwrap();
    assert_eq!(empty.lines().next(), full.lines().next());
    let appended = codecbench::report::csv::render_rows(&[row]).unwrap();
    assert_eq!(format!("{empty}{appended}"), full);
}
