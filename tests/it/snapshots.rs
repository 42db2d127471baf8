//! Snapshot tests of every pure exporter, over one fixed, hand-written set of result rows
//! ([`fixture_rows`]) and a fixed [`RunMeta`] ([`fixture_meta`]).
//!
//! Two kinds of check live here:
//!
//! - **Oracles**: `report::jsonl::render` and `report::csv::render` are compared with text
//!   written by hand from the formats (field order of `ResultRow`, JSON and CSV quoting rules),
//!   not pasted from the code's output. These say what the output must be.
//! - **Regression guards**: Markdown, HTML, the SVG charts, `compare` (text and JSON) and the
//!   hypothesis Markdown are compared with files under `tests/it/snapshots/`, written from the
//!   code's own output. They are not correctness oracles: they only say that the output did not
//!   change. When a change is meant to alter a report, rewrite them with
//!   `CODECBENCH_UPDATE_SNAPSHOTS=1 cargo test --release --test it snapshots` and review the
//!   diff of `tests/it/snapshots/` before committing it.
//!
//! Nothing in the fixture varies between machines or runs: the start time and the version
//! string are fixed, no path or timestamp reaches the renderers.

use codecbench::codec::CodecSpec;
use codecbench::data::{PopulationKind, Provenance};
use codecbench::hypothesis::{self, Registry};
use codecbench::metric::suite::UnitValues;
use codecbench::report::compare::{self, CompareOptions, Correction, RunSide};
use codecbench::report::svg::{self, GridCell, Plot, Point, Scale, Series};
use codecbench::report::{csv, html, jsonl, markdown, summary};
use codecbench::results::RESULTS_FORMAT;
use codecbench::results::units::CellUnits;
use codecbench::results::{Plan, PopulationInfo, ResultRow, RunMeta};
use std::path::PathBuf;

/// The version string every fixture row and the fixture's `RunMeta` carry (not the crate's, so
/// a version bump does not touch the snapshots).
const VERSION: &str = "0.0.0-snapshot";
const POP: &str = "gaussian:n=400,d=32";
const TQ: &str = "tq-mse:bits=4,rot=hadamard";

/// A codec-cell row of `POP` with a CI; the other fields are set by the caller where they
/// differ.
fn cell(codec: &str, metric: &str, value: f64, lo: f64, hi: f64) -> ResultRow {
    ResultRow {
        population: POP.to_string(),
        codec: codec.to_string(),
        metric: metric.to_string(),
        value: Some(value),
        ci_lo: Some(lo),
        ci_hi: Some(hi),
        n: 50,
        draws: 1,
        chance: None,
        bytes_per_row: 36,
        model_bytes: 0,
        bits_per_dim: 9.0,
        grade: "reconstruction".to_string(),
        family: "scalar".to_string(),
        dim: 32,
        base_rows: 350,
        queries: 50,
        split: "held-out".to_string(),
        seed: 42,
        codecbench_version: VERSION.to_string(),
        note: None,
    }
}

/// The same row for the random-fit codec `TQ` (three draws, 4.5 bits/dim).
fn tq(metric: &str, value: f64, lo: f64, hi: f64) -> ResultRow {
    ResultRow {
        draws: 3,
        bytes_per_row: 18,
        bits_per_dim: 4.5,
        family: "rotation".to_string(),
        ..cell(TQ, metric, value, lo, hi)
    }
}

/// A population-level or per-codec instrument row (no bytes, no grade, one draw).
fn instrument(codec: &str, metric: &str, value: f64, note: Option<&str>) -> ResultRow {
    ResultRow {
        ci_lo: None,
        ci_hi: None,
        bytes_per_row: 0,
        bits_per_dim: 0.0,
        grade: String::new(),
        family: String::new(),
        note: note.map(str::to_string),
        ..cell(codec, metric, value, 0.0, 0.0)
    }
}

/// The fixed rows every exporter is tested on. Covers: a codec cell with a CI, a null value
/// with a note (unicode, a comma and a quote in it), draws > 1, the instrument block (codec
/// `(instrument)` and `instrument.r:<spec>` rows), a probe row (split `family`) and verdict rows
/// (split `verdict`).
pub fn fixture_rows() -> Vec<ResultRow> {
    let mut rows = vec![
        cell("int8", "pearson", 0.9991, 0.9987, 0.9994),
        cell("int8", "spearman", 0.998, 0.997, 0.999),
        ResultRow {
            chance: Some(0.025),
            ..cell("int8", "recall@10", 0.94, 0.91, 0.97)
        },
        ResultRow {
            n: 350,
            ..cell("int8", "recon_mse", 0.000125, 0.000118, 0.000131)
        },
        ResultRow {
            value: None,
            ci_lo: None,
            ci_hi: None,
            note: Some("κ undefined: the \"pairs\" path, as decoded — n/a".to_string()),
            ..cell("int8", "spearman.sym", 0.0, 0.0, 0.0)
        },
        tq("pearson", 0.99, 0.985, 0.994),
        tq("spearman", 0.985, 0.98, 0.99),
        ResultRow {
            chance: Some(0.025),
            ..tq("recall@10", 0.82, 0.78, 0.86)
        },
        ResultRow {
            n: 350,
            ..tq("recon_mse", 0.0021, 0.0019, 0.0023)
        },
        tq("icc2_1", 0.989, 0.984, 0.993),
    ];
    rows.push(ResultRow {
        ci_lo: Some(0.96),
        ci_hi: Some(0.98),
        ..instrument(
            "(instrument)",
            "alpha_std",
            0.97,
            Some("5000 (query, row) pairs: 50 queries × 100 rows; CI by bootstrap over queries"),
        )
    });
    rows.push(instrument(
        "int8",
        &format!("instrument.r:{TQ}"),
        0.995,
        None,
    ));
    rows.push(instrument(TQ, "instrument.r:int8", 0.995, None));
    rows.push(ResultRow {
        chance: Some(0.125),
        bytes_per_row: 2,
        model_bytes: 4096,
        bits_per_dim: 0.5,
        grade: "hybrid".to_string(),
        family: "palette-leaf".to_string(),
        split: "family".to_string(),
        note: Some("chance = Σp² over 8 families".to_string()),
        ..cell("palette:k=16", "family.recall@1", 0.61, 0.55, 0.67)
    });
    rows.push(verdict(
        "(hypothesis)",
        "hypothesis.I1",
        0.998,
        "confirmed. gate 1: spearman 0.998 ± 0.001 ≥ 0.95 (pass) | gate 2: recall@10 0.94 ± 0.03 ≥ 0.8 (pass)",
    ));
    rows.push(verdict(
        "(viability)",
        &format!("viability.{TQ}"),
        0.985,
        "not viable [index regime]. gate 1: spearman 0.985 (fail) || gate 2: recall@10 0.82 (fail)",
    ));
    rows
}

/// A verdict row (split `verdict`, no sizes) with its note.
fn verdict(codec: &str, metric: &str, value: f64, note: &str) -> ResultRow {
    ResultRow {
        dim: 0,
        base_rows: 0,
        queries: 0,
        split: "verdict".to_string(),
        ..instrument(codec, metric, value, Some(note))
    }
}

/// A fixed `RunMeta`: the default plan, a fixed start time and one population.
pub fn fixture_meta() -> RunMeta {
    RunMeta {
        codecbench_version: VERSION.to_string(),
        results_format: RESULTS_FORMAT,
        plan: Plan::default(),
        started: "2026-01-01T00:00:00Z".to_string(),
        populations: vec![PopulationInfo {
            name: POP.to_string(),
            kind: PopulationKind::Embedding,
            rows: 400,
            dim: 32,
            split: "held-out".to_string(),
            base_rows: 350,
            queries: 50,
            provenance: Provenance {
                source: format!("synthetic:{POP}"),
                sha256: None,
                identity: None,
                tensor: None,
                dtype: "f32".to_string(),
                shape: vec![400, 32],
                source_rows: 400,
                selection: "all rows".to_string(),
                seed: Some(42),
                dropped_nonfinite: 0,
                zero_rows: 0,
                note: None,
            },
        }],
        status: "complete".to_string(),
        wall_seconds: 1.5,
        timings: Vec::new(),
        probe_notes: vec![codecbench::results::ProbeNote::FamilySetup { families: 16 }],
    }
}

/// Compare `actual` with the snapshot file `tests/it/snapshots/<name>`, or rewrite the file when
/// `CODECBENCH_UPDATE_SNAPSHOTS=1`.
fn check_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/snapshots")
        .join(name);
    if std::env::var("CODECBENCH_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with CODECBENCH_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its snapshot at line {}:\n  snapshot: {:?}\n  output:   {:?}\n\
             (if the change is intended: CODECBENCH_UPDATE_SNAPSHOTS=1 and review the diff)",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// The rows the hand-written jsonl / csv oracles cover: a cell with a CI, the null value with
/// its note, and the population-level instrument row.
fn oracle_rows() -> Vec<ResultRow> {
    let rows = fixture_rows();
    vec![rows[0].clone(), rows[4].clone(), rows[10].clone()]
}

#[test]
fn jsonl_matches_the_hand_written_lines() {
    let expected = concat!(
        r#"{"population":"gaussian:n=400,d=32","codec":"int8","metric":"pearson","value":0.9991,"ci_lo":0.9987,"ci_hi":0.9994,"n":50,"draws":1,"chance":null,"bytes_per_row":36,"model_bytes":0,"bits_per_dim":9.0,"grade":"reconstruction","family":"scalar","dim":32,"base_rows":350,"queries":50,"split":"held-out","seed":42,"codecbench_version":"0.0.0-snapshot","note":null}"#,
        "\n",
        r#"{"population":"gaussian:n=400,d=32","codec":"int8","metric":"spearman.sym","value":null,"ci_lo":null,"ci_hi":null,"n":50,"draws":1,"chance":null,"bytes_per_row":36,"model_bytes":0,"bits_per_dim":9.0,"grade":"reconstruction","family":"scalar","dim":32,"base_rows":350,"queries":50,"split":"held-out","seed":42,"codecbench_version":"0.0.0-snapshot","note":"κ undefined: the \"pairs\" path, as decoded — n/a"}"#,
        "\n",
        r#"{"population":"gaussian:n=400,d=32","codec":"(instrument)","metric":"alpha_std","value":0.97,"ci_lo":0.96,"ci_hi":0.98,"n":50,"draws":1,"chance":null,"bytes_per_row":0,"model_bytes":0,"bits_per_dim":0.0,"grade":"","family":"","dim":32,"base_rows":350,"queries":50,"split":"held-out","seed":42,"codecbench_version":"0.0.0-snapshot","note":"5000 (query, row) pairs: 50 queries × 100 rows; CI by bootstrap over queries"}"#,
        "\n",
    );
    let rows = oracle_rows();
    assert_eq!(jsonl::render(&rows), expected);
    // And back: parsing the lines gives the rows.
    assert_eq!(jsonl::parse(expected).unwrap(), rows);
    assert_eq!(jsonl::render(&[]), "");
}

#[test]
fn csv_matches_the_hand_written_table() {
    let expected = concat!(
        "population,codec,metric,value,ci_lo,ci_hi,n,draws,chance,bytes_per_row,model_bytes,bits_per_dim,grade,family,dim,base_rows,queries,split,seed,codecbench_version,note\n",
        "\"gaussian:n=400,d=32\",int8,pearson,0.9991,0.9987,0.9994,50,1,,36,0,9.0,reconstruction,scalar,32,350,50,held-out,42,0.0.0-snapshot,\n",
        "\"gaussian:n=400,d=32\",int8,spearman.sym,,,,50,1,,36,0,9.0,reconstruction,scalar,32,350,50,held-out,42,0.0.0-snapshot,\"κ undefined: the \"\"pairs\"\" path, as decoded — n/a\"\n",
        "\"gaussian:n=400,d=32\",(instrument),alpha_std,0.97,0.96,0.98,50,1,,0,0,0.0,,,32,350,50,held-out,42,0.0.0-snapshot,\"5000 (query, row) pairs: 50 queries × 100 rows; CI by bootstrap over queries\"\n",
    );
    assert_eq!(csv::render(&oracle_rows()).unwrap(), expected);
    // A comma inside a codec spec is quoted too.
    let tq_line = csv::render(&fixture_rows()[5..6]).unwrap();
    assert!(
        tq_line.contains("\"gaussian:n=400,d=32\",\"tq-mse:bits=4,rot=hadamard\",pearson,0.99,"),
        "{tq_line}"
    );
}

#[test]
fn markdown_report_matches_its_snapshot() {
    // As the runner calls it: the codec cells only (probe and verdict rows go to probes.md).
    let cells: Vec<ResultRow> = fixture_rows()
        .into_iter()
        .filter(|r| !r.is_probe())
        .collect();
    check_snapshot("report.md", &markdown::render(&fixture_meta(), &cells));
}

#[test]
fn html_report_matches_its_snapshot() {
    let html = html::render(&fixture_meta(), &fixture_rows());
    // Nothing that varies between machines reaches the page.
    assert!(!html.contains(env!("CARGO_MANIFEST_DIR")));
    check_snapshot("report.html", &html);
}

#[test]
fn summary_matches_its_snapshot() {
    check_snapshot("summary.txt", &summary::render(&fixture_rows()));
}

#[test]
fn svg_charts_match_their_snapshots() {
    let pt = |x: f64, y: f64, ci: Option<(f64, f64)>| Point {
        x,
        y,
        lo: ci.map(|c| c.0),
        hi: ci.map(|c| c.1),
    };
    let plot = Plot {
        title: "gaussian: recon_mse vs bits/dim <&>".to_string(),
        x_label: "bits per dimension".to_string(),
        y_label: "recon_mse".to_string(),
        x_scale: Scale::Log2,
        y_scale: Scale::Log10,
        series: vec![
            Series {
                name: "int8".to_string(),
                points: vec![
                    pt(9.0, 1.25e-4, Some((1.18e-4, 1.31e-4))),
                    pt(5.0, 2.1e-3, Some((1.9e-3, 2.3e-3))),
                ],
                dashed: false,
            },
            Series {
                name: "tq-mse:bits=4,rot=hadamard".to_string(),
                // A point at 0 cannot be drawn on the log axis: the footnote counts it.
                points: vec![pt(4.5, 2.1e-3, None), pt(2.0, 0.0, None)],
                dashed: false,
            },
            Series {
                name: "Shannon bound 4^-b".to_string(),
                points: (1..=8).map(|b| pt(b as f64, 4f64.powi(-b), None)).collect(),
                dashed: true,
            },
        ],
        frontier: vec![(4.5, 2.1e-3), (9.0, 1.25e-4)],
    };
    check_snapshot("line_plot.svg", &svg::line_plot(&plot));
    let empty = Plot {
        series: Vec::new(),
        frontier: Vec::new(),
        ..plot.clone()
    };
    check_snapshot("line_plot_empty.svg", &svg::line_plot(&empty));
    let linear = Plot {
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        series: vec![Series {
            name: "layers".to_string(),
            points: (0..6)
                .map(|l| pt(l as f64, 0.01 * l as f64, None))
                .collect(),
            dashed: false,
        }],
        frontier: Vec::new(),
        ..plot
    };
    check_snapshot("line_plot_linear.svg", &svg::line_plot(&linear));

    let names = vec!["int8".to_string(), TQ.to_string()];
    check_snapshot(
        "heatmap.svg",
        &svg::heatmap(
            "agreement",
            &names,
            &names,
            &[vec![Some(1.0), Some(0.995)], vec![Some(0.995), None]],
            0.99,
            1.0,
        ),
    );
    let g = |fill: &'static str, label: &str| {
        Some(GridCell {
            fill,
            label: label.to_string(),
            tip: format!("{label}: \"why\" <here>"),
        })
    };
    check_snapshot(
        "category_grid.svg",
        &svg::category_grid(
            "hypotheses",
            &["I1".to_string(), "P7.family".to_string()],
            &[POP.to_string(), "minilm".to_string()],
            &[
                vec![g("#7fc97f", "✓ 0.998"), None],
                vec![g("#f28e8e", "✗ 0.61"), g("#e4e4e4", "–")],
            ],
            &[("#7fc97f", "confirmed"), ("#f28e8e", "refuted")],
        ),
    );
}

/// Run B of the compare snapshots: the fixture with TQ's recall down, int8's pearson up, one
/// row removed and one added.
fn changed_rows() -> Vec<ResultRow> {
    let mut rows: Vec<ResultRow> = fixture_rows()
        .into_iter()
        .filter(|r| r.metric != "icc2_1")
        .map(|mut r| {
            match (r.codec.as_str(), r.metric.as_str()) {
                (TQ, "recall@10") => {
                    r.value = Some(0.7);
                    r.ci_lo = Some(0.66);
                    r.ci_hi = Some(0.74);
                }
                ("int8", "pearson") => {
                    r.value = Some(0.9995);
                    r.ci_lo = Some(0.9993);
                    r.ci_hi = Some(0.9997);
                }
                _ => {}
            }
            r
        })
        .collect();
    rows.push(cell("int8", "kendall", 0.97, 0.96, 0.98));
    rows
}

/// Per-query spearman values of int8 (one draw, deterministic codec) for both runs.
fn int8_units(shift: f64) -> Vec<CellUnits> {
    let spec: CodecSpec = "int8".parse().unwrap();
    vec![CellUnits {
        population: POP.to_string(),
        codec: spec.to_string(),
        split: "held-out".to_string(),
        fingerprint: "held-out/42/350/50/300/10/-".to_string(),
        random_fit: false,
        queries: 6,
        draws: 1,
        metrics: vec![UnitValues {
            name: "spearman".to_string(),
            values: vec![
                [0.997, 0.998, 0.999, 0.996, 0.998, 0.999]
                    .iter()
                    .map(|v| v - shift)
                    .collect(),
            ],
        }],
    }]
}

#[test]
fn compare_text_and_json_match_their_snapshots() {
    let (a, b) = (fixture_rows(), changed_rows());
    let (ua, ub) = (int8_units(0.0), int8_units(0.001));
    let side = |rows, units, seed| RunSide {
        rows,
        units,
        codec_seed: seed,
    };
    let holm = compare::compare(
        &side(&a, &ua, Some(42)),
        &side(&b, &ub, Some(7)),
        &CompareOptions::default(),
    );
    check_snapshot("compare.txt", &compare::render(&holm, false));
    check_snapshot("compare_all.txt", &compare::render(&holm, true));
    check_snapshot(
        "compare.json",
        &serde_json::to_string_pretty(&holm).unwrap(),
    );
    let bh = compare::compare(
        &side(&a, &ua, Some(42)),
        &side(&b, &ub, Some(42)),
        &CompareOptions {
            alpha: 0.1,
            min_effect: 0.01,
            correction: Correction::Bh,
        },
    );
    check_snapshot("compare_bh_all.txt", &compare::render(&bh, true));
}

#[test]
fn hypothesis_markdown_matches_its_snapshot() {
    let reg = Registry::builtin();
    let rows = fixture_rows();
    let matrix = hypothesis::evaluate(&reg, &rows);
    let via = hypothesis::viability(&reg, &rows);
    check_snapshot(
        "hypotheses.md",
        &hypothesis::render_markdown(&reg, &matrix, &via),
    );
    check_snapshot(
        "hypotheses.jsonl",
        &jsonl::render(&hypothesis::to_rows(&matrix, &via, 42)).replace(
            &format!(
                "\"codecbench_version\":\"{}\"",
                codecbench::results::VERSION
            ),
            "\"codecbench_version\":\"VERSION\"",
        ),
    );
}
