//! `codecbench compare-peers`: parsing of the peers file, the ratio and verdict arithmetic, our
//! measurement on the exported split (same numbers as `run`), and clear errors. Timing values
//! are never asserted.

use crate::util::{latest_rows, run_bin, run_ok, stderr, stdout};
use codecbench::report::peers::{
    self as rp, Num, Ours, Side, Verdict, behind_lines, compare, ratio_text, speed_ratio,
};
use std::collections::BTreeMap;
use std::path::Path;

fn peer_line(pop: &str, codec: &str, ours: &str, metric: &str, v: f64, lo: f64, hi: f64) -> String {
    serde_json::json!({
        "population": pop, "codec": codec, "ours": ours, "metric": metric,
        "value": v, "ci_lo": lo, "ci_hi": hi, "n": 20, "chance": null,
        "bytes_per_row": 16, "bits_per_dim": 8.0, "dim": 16, "base_rows": 380,
        "queries": 20, "split": "held-out", "seed": 42, "note": null,
    })
    .to_string()
}

fn fixture(pop: &str) -> String {
    let mut lines = Vec::new();
    for (codec, ours) in [("faiss:SQ8", "sq"), ("faiss:other", "int8")] {
        lines.push(peer_line(pop, codec, ours, "pearson", 0.99, 0.98, 0.995));
        lines.push(peer_line(pop, codec, ours, "spearman", 0.5, 0.45, 0.55));
        lines.push(peer_line(pop, codec, ours, "recall@10", 0.8, 0.7, 0.9));
        lines.push(peer_line(pop, codec, ours, "slope", 1.0, 0.99, 1.01));
        lines.push(peer_line(
            pop,
            codec,
            ours,
            "encode_rows_per_s.t1",
            1000.0,
            900.0,
            1100.0,
        ));
        lines.push(peer_line(
            pop,
            codec,
            ours,
            "scan_codes_per_s.t1",
            4.0e6,
            3.0e6,
            5.0e6,
        ));
    }
    lines.join("\n") + "\n\n"
}

fn num(v: f64, lo: f64, hi: f64) -> Num {
    Num {
        value: Some(v),
        lo: Some(lo),
        hi: Some(hi),
    }
}

#[test]
fn ratios_are_ours_over_peer_and_verdicts_follow_the_cis() {
    let rows = rp::parse(Path::new("peers.jsonl"), &fixture("pop")).unwrap();
    assert_eq!(rows.len(), 12);
    let mut metrics = BTreeMap::new();
    metrics.insert("pearson".to_string(), num(0.999, 0.998, 0.9995)); // better beyond CIs
    metrics.insert("spearman".to_string(), num(0.52, 0.5, 0.54)); // overlaps
    metrics.insert("recall@10".to_string(), num(0.5, 0.45, 0.55)); // behind by 0.3
    metrics.insert("slope".to_string(), num(0.9, 0.89, 0.91));
    metrics.insert(
        "encode_rows_per_s.t1".to_string(),
        num(2500.0, 2000.0, 3000.0),
    );
    metrics.insert("scan_codes_per_s.t1".to_string(), num(2.0e6, 1.0e6, 3.0e6));
    let ours = vec![Ours {
        population: "pop".to_string(),
        dim: 16,
        side: Side {
            codec: "sq"
                .parse::<codecbench::codec::CodecSpec>()
                .unwrap()
                .to_string(),
            bytes_per_row: 16,
            metrics,
        },
    }];
    let cmp = compare(&rows, &ours);
    // Only the peer whose `ours` we measured is compared.
    assert_eq!(cmp.len(), 1);
    let c = &cmp[0];
    assert_eq!(c.peer.codec, "faiss:SQ8");
    let verdict = |m: &str| c.quality.iter().find(|q| q.metric == m).unwrap().verdict;
    match verdict("pearson") {
        Verdict::Better(d) => assert!((d - 0.009).abs() < 1e-12, "{d}"),
        v @ (Verdict::EqualWithinCi | Verdict::Behind(_) | Verdict::NotJudged) => panic!("{v:?}"),
    }
    assert_eq!(verdict("spearman"), Verdict::EqualWithinCi);
    match verdict("recall@10") {
        Verdict::Behind(d) => assert!((d - 0.3).abs() < 1e-12, "{d}"),
        v @ (Verdict::EqualWithinCi | Verdict::Better(_) | Verdict::NotJudged) => panic!("{v:?}"),
    }
    assert_eq!(verdict("slope"), Verdict::NotJudged);
    let ratio = |m: &str| c.speed.iter().find(|s| s.metric == m).unwrap().ratio;
    assert_eq!(ratio("encode_rows_per_s.t1"), Some(2.5));
    assert_eq!(ratio("scan_codes_per_s.t1"), Some(0.5));
    assert_eq!(
        ratio("scan_codes_per_s.tall"),
        None,
        "peer has no all-threads timing"
    );
    assert_eq!(ratio_text(Some(2.5)), "2.50×");
    assert_eq!(ratio_text(Some(0.5)), "**behind by 2.00×**");
    assert_eq!(ratio_text(None), "—");
    assert_eq!(speed_ratio(Some(1.0), Some(0.0)), None);
    let behind = behind_lines(&cmp);
    assert_eq!(behind.len(), 2, "{behind:?}");
    assert!(
        behind[0].contains("recall@10 behind by 0.3000"),
        "{behind:?}"
    );
    assert!(
        behind[1].contains("scan_codes_per_s.t1 behind by 2.00×"),
        "{behind:?}"
    );
    let md = rp::render_markdown(&cmp, "");
    assert!(md.contains("## pop (d = 16)"), "{md}");
    assert!(md.contains("**behind by 2.00×**"), "{md}");
    let csv = rp::render_csv(&cmp);
    assert_eq!(csv.lines().count(), 1 + 4 + 4, "{csv}");
    assert!(
        csv.contains(",scan_codes_per_s.t1,2000000,1000000,3000000,4000000,3000000,5000000,,,0.5"),
        "{csv}"
    );
}

#[test]
fn compare_peers_measures_ours_on_the_exported_split_like_run() {
    let dir = tempfile::tempdir().unwrap();
    let pop_spec = "gaussian:n=400,d=16";
    run_ok(
        dir.path(),
        &[
            "export",
            pop_spec,
            "--out",
            "out/split-g",
            "--queries",
            "20",
        ],
    );
    let split: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/split-g/split.json")).unwrap(),
    )
    .unwrap();
    let pop = split["population"].as_str().unwrap().to_string();
    std::fs::write(dir.path().join("out/peers.jsonl"), fixture(&pop)).unwrap();
    let o = run_ok(
        dir.path(),
        &[
            "compare-peers",
            "out/peers.jsonl",
            "--repeats",
            "1",
            "--resamples",
            "50",
            "--threads",
            "2",
            "--no-progress",
        ],
    );
    let md = stdout(&o);
    assert!(
        md.contains("`faiss:SQ8`") && md.contains("`faiss:other`"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/compare-peers/compare-peers.json")).unwrap(),
    )
    .unwrap();
    assert!(
        dir.path()
            .join("out/compare-peers/compare-peers.md")
            .is_file()
    );
    assert!(
        dir.path()
            .join("out/compare-peers/compare-peers.csv")
            .is_file()
    );
    let cmps = json["comparisons"].as_array().unwrap();
    assert_eq!(cmps.len(), 2);
    for c in cmps {
        for s in c["speed"].as_array().unwrap() {
            match (s["ours"].as_f64(), s["peer"].as_f64()) {
                (Some(a), Some(b)) => {
                    assert!(a > 0.0, "{s}");
                    let r = s["ratio"].as_f64().unwrap();
                    assert!((r - a / b).abs() <= 1e-12 * r.abs(), "{s}");
                }
                // Ours is always timed; the fixture has no all-threads peer timings.
                (Some(_), None) => assert!(s["ratio"].is_null(), "{s}"),
                _ => panic!("ours not timed: {s}"),
            }
        }
    }
    // Our quality equals `codecbench run` with the export's flags (same split, same cell seed).
    run_ok(
        dir.path(),
        &[
            "run",
            "-p",
            pop_spec,
            "-c",
            "sq",
            "-c",
            "int8",
            "--queries",
            "20",
            "--out",
            "runs",
            "--no-progress",
        ],
    );
    let rows = latest_rows(dir.path(), "runs");
    for c in cmps {
        let codec = c["ours"]["codec"].as_str().unwrap();
        let q = c["quality"].as_array().unwrap();
        for m in ["pearson", "spearman", "recall@10", "slope"] {
            let ours = q.iter().find(|x| x["metric"] == m).unwrap()["ours"]["value"]
                .as_f64()
                .unwrap();
            let run = rows
                .iter()
                .find(|r| r.codec == codec && r.metric == m)
                .unwrap()
                .value
                .unwrap();
            assert_eq!(ours, run, "{codec} {m}");
        }
    }
    // --run takes the quality from the run instead and gives the same values.
    run_ok(
        dir.path(),
        &[
            "compare-peers",
            "out/peers.jsonl",
            "--run",
            "runs/latest",
            "--repeats",
            "1",
            "--out",
            "cmp2",
            "--no-progress",
        ],
    );
    assert!(dir.path().join("cmp2/compare-peers.csv").is_file());
}

#[test]
fn malformed_peers_files_exit_2_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = peer_line("p", "faiss:SQ8", "sq", "pearson", 0.9, 0.8, 0.95);
    let cases: [(&str, String, &str); 4] = [
        ("broken.jsonl", format!("{good}\n{{not json\n"), "line 2"),
        (
            "missing.jsonl",
            format!("{good}\n{{\"population\": \"p\", \"codec\": \"x\"}}\n"),
            "line 2",
        ),
        (
            "badspec.jsonl",
            peer_line("p", "faiss:SQ8", "nosuchcodec", "pearson", 0.9, 0.8, 0.95),
            "line 1",
        ),
        ("empty.jsonl", "\n\n".to_string(), "no peer rows"),
    ];
    for (name, body, want) in cases {
        std::fs::write(dir.path().join(name), body).unwrap();
        let o = run_bin(dir.path(), &["compare-peers", name, "--no-progress"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(name) && e.contains(want), "{name}: {e}");
        assert_eq!(e.lines().count(), 1, "{name}: one line: {e}");
    }
    let o = run_bin(dir.path(), &["compare-peers", "absent.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("absent.jsonl"), "{}", stderr(&o));
}
