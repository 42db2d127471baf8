//! The binary end to end: the quick default run writes its three files, results are
//! deterministic across thread counts, and every kind of bad input exits 2 with a clear message.

use crate::util::{latest_rows, quick_args, refused, run_bin, run_ok, stderr, stdout};
use codecbench::data::Rows;
use codecbench::data::npy::write_f32;
use std::collections::BTreeSet;
use std::path::Path;

fn write_safetensors(path: &Path, tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, dt, shape, data)| {
            (
                n.to_string(),
                safetensors::tensor::TensorView::new(*dt, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn seq(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
        .collect()
}

#[test]
fn quick_default_run_writes_results_for_every_cell() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_ok(dir.path(), &["run", "--quick", "--out", "out"]);
    let latest = dir.path().join("out/latest");
    for f in ["results.jsonl", "results.csv", "report.md", "run.json"] {
        assert!(latest.join(f).is_file(), "missing {f}");
    }
    assert!(stdout(&o).contains("report:"), "{}", stdout(&o));
    let all_rows = latest_rows(dir.path(), "out");
    let rows: Vec<_> = all_rows.iter().filter(|r| !r.is_probe()).cloned().collect();
    let pops: BTreeSet<&str> = rows.iter().map(|r| r.population.as_str()).collect();
    let codecs: BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r.is_instrument())
        .map(|r| r.codec.as_str())
        .collect();
    assert!(pops.len() >= 3, "{pops:?}");
    assert_eq!(
        codecs.len(),
        codecbench::codec::CodecSpec::defaults().len(),
        "{codecs:?}"
    );
    let metrics: BTreeSet<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
    for m in [
        "pearson",
        "spearman",
        "kendall",
        "recall@10",
        "mae",
        "rmse",
        "bias",
        "slope",
        "intercept",
        "recon_mse",
        "pearson.sym",
        "recall@10.sym",
    ] {
        assert!(metrics.contains(m), "metric {m} missing: {metrics:?}");
    }
    // The oracle row is perfect; int4 is measurably worse than int8.
    let get = |pop: &str, codec: &str, metric: &str| {
        rows.iter()
            .find(|r| r.population == pop && r.codec == codec && r.metric == metric)
            .and_then(|r| r.value)
            .unwrap()
    };
    let pop = rows[0].population.clone();
    assert!(get(&pop, "exact", "pearson") > 1.0 - 1e-9);
    assert_eq!(get(&pop, "exact", "recall@10"), 1.0);
    assert_eq!(get(&pop, "exact", "recon_mse"), 0.0);
    assert!(get(&pop, "int4:group=32", "recon_mse") > get(&pop, "int8", "recon_mse"));
    for r in &rows {
        if let (Some(v), Some(lo), Some(hi)) = (r.value, r.ci_lo, r.ci_hi) {
            assert!(lo <= v + 1e-12 && v <= hi + 1e-12, "{r:?}");
        }
        if r.metric.starts_with("recall@") {
            // Chance k/n over the candidates: self-pairs exclude the query's own row.
            let candidates = r.base_rows - usize::from(r.split == "self-pairs");
            assert_eq!(r.chance, Some(10.0 / candidates as f64), "{r:?}");
        }
    }
    let csv = std::fs::read_to_string(latest.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), all_rows.len() + 1);
    let md = std::fs::read_to_string(latest.join("report.md")).unwrap();
    assert!(md.contains("## gaussian") && md.contains("seed 42"), "{md}");

    // The quick default run includes the probes except the chain (minutes; the full default
    // run has it, see `run_with_the_chain_probe_fills_its_hypotheses`) and the hypothesis
    // matrix, whose every testable cell carries a number.
    let splits: BTreeSet<&str> = all_rows.iter().map(|r| r.split.as_str()).collect();
    for s in ["family", "spiral", "identity", "verdict"] {
        assert!(splits.contains(s), "no {s} rows: {splits:?}");
    }
    assert!(!splits.contains("chain"), "{splits:?}");
    let verdicts: Vec<_> = all_rows
        .iter()
        .filter(|r| r.metric.starts_with("hypothesis."))
        .collect();
    let decided = |r: &&codecbench::results::ResultRow| {
        let n = r.note.as_deref().unwrap_or("");
        ["confirmed", "refuted", "inconclusive"]
            .iter()
            .any(|v| n.starts_with(v))
    };
    for r in verdicts.iter().filter(|r| decided(r)) {
        assert!(r.value.is_some(), "testable cell without a number: {r:?}");
    }
    let testable: BTreeSet<&str> = verdicts
        .iter()
        .filter(|r| decided(r))
        .map(|r| r.metric.as_str())
        .collect();
    for h in [
        "hypothesis.I2",
        "hypothesis.I6",
        "hypothesis.I7",
        "hypothesis.P1",
        "hypothesis.P7",
    ] {
        assert!(testable.contains(h), "{h} has no verdict: {testable:?}");
    }
    // Viability names both gates.
    let via = all_rows
        .iter()
        .find(|r| r.metric.starts_with("viability."))
        .expect("viability rows");
    let note = via.note.as_deref().unwrap_or("");
    assert!(note.contains("gate 1") && note.contains("gate 2"), "{note}");
    assert!(
        md.contains("# Probes and hypotheses") && md.contains("P7 — family"),
        "{md}"
    );
    let html = std::fs::read_to_string(latest.join("report.html")).unwrap();
    assert!(html.contains("Hypotheses × populations") && html.contains("Codec viability"));
    // Probe rows stay out of the per-population codec tables and the stdout summary.
    assert!(!stdout(&o).contains("(hypothesis)"), "{}", stdout(&o));
}

#[test]
fn results_are_identical_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let args = |t: &'static str, out: &'static str| {
        quick_args(&[
            "-p",
            // Enough rows for every default codec (palette:k=256 needs 256 training rows).
            "clustered:n=320,d=17",
            "-p",
            "anisotropic:n=320,d=9",
            "--threads",
            t,
            "--out",
            out,
        ])
    };
    let a = run_bin(dir.path(), &args("1", "a"));
    let b = run_bin(dir.path(), &args("2", "b"));
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        stderr(&a),
        stderr(&b)
    );
    let ra = std::fs::read(dir.path().join("a/latest/results.jsonl")).unwrap();
    let rb = std::fs::read(dir.path().join("b/latest/results.jsonl")).unwrap();
    assert!(!ra.is_empty());
    assert_eq!(ra, rb, "results.jsonl differs between --threads 1 and 2");
    // Another seed gives other samples, so other numbers.
    run_ok(
        dir.path(),
        &quick_args(&[
            "-p",
            "clustered:n=320,d=17",
            "-p",
            "anisotropic:n=320,d=9",
            "--seed",
            "7",
            "--out",
            "c",
        ]),
    );
    assert_ne!(
        ra,
        std::fs::read(dir.path().join("c/latest/results.jsonl")).unwrap()
    );
}

#[test]
fn file_populations_run_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("m.safetensors");
    write_safetensors(
        &st,
        &[(
            "layer.0.key.weight",
            safetensors::Dtype::F32,
            vec![64, 24],
            f32_bytes(&seq(64 * 24)),
        )],
    );
    write_f32(&dir.path().join("e.npy"), &Rows::new(24, seq(80 * 24))).unwrap();
    write_f32(
        &dir.path().join("q.npy"),
        &Rows::new(24, seq(10 * 24).into_iter().rev().collect()),
    )
    .unwrap();
    run_ok(
        dir.path(),
        &quick_args(&[
            "-p",
            "m.safetensors:layer.0.key.weight",
            "-p",
            "e.npy",
            "-c",
            "int8",
            "--out",
            "o",
        ]),
    );
    let rows = latest_rows(dir.path(), "o");
    let w = rows
        .iter()
        .find(|r| r.population.contains("safetensors"))
        .unwrap();
    assert_eq!(w.split, "self-pairs");
    assert_eq!(w.base_rows, 64);
    let e = rows.iter().find(|r| r.population == "e.npy").unwrap();
    assert_eq!(e.split, "held-out");
    // --query-file: base = all rows, queries from the file.
    run_ok(
        dir.path(),
        &quick_args(&[
            "-p",
            "e.npy",
            "-c",
            "int8",
            "--query-file",
            "q.npy",
            "--out",
            "q",
        ]),
    );
    let rows = latest_rows(dir.path(), "q");
    assert!(
        rows.iter()
            .all(|r| r.split == "query-file" && r.base_rows == 80 && r.queries == 10)
    );
}

fn run<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = quick_args(&["--out", "o", "-c", "int8"]);
    v.extend_from_slice(extra);
    v
}

/// Each bad input: exit code 2 and a one-line message containing `needles`.
fn expect_exit2(dir: &Path, args: &[&str], needles: &[&str]) {
    let err = refused(dir, args);
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected {n:?} in: {err}");
    }
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("garbage.npy"), b"this is not an npy file at all").unwrap();
    let mut nan = seq(20 * 4);
    nan[13 * 4 + 2] = f32::NAN;
    write_f32(&d.join("nan.npy"), &Rows::new(4, nan)).unwrap();
    let mut zeros = seq(30 * 4);
    zeros[..4 * 5].fill(0.0);
    write_f32(&d.join("zeros.npy"), &Rows::new(4, zeros)).unwrap();
    write_safetensors(
        &d.join("m.safetensors"),
        &[
            (
                "encoder.layer.0.attention.self.key.weight",
                safetensors::Dtype::F32,
                vec![8, 4],
                f32_bytes(&seq(32)),
            ),
            ("ids", safetensors::Dtype::I64, vec![4, 2], vec![0u8; 64]),
            ("bias", safetensors::Dtype::F32, vec![8], f32_bytes(&seq(8))),
            (
                "cube",
                safetensors::Dtype::F32,
                vec![2, 2, 2],
                f32_bytes(&seq(8)),
            ),
        ],
    );
    expect_exit2(
        d,
        &run(&["-p", "missing.npy"]),
        &["missing.npy", "cannot read"],
    );
    expect_exit2(d, &run(&["-p", "garbage.npy"]), &["garbage.npy", "npy"]);
    expect_exit2(
        d,
        &run(&[
            "-p",
            "m.safetensors:encoder.layer.0.attention.self.kye.weight",
        ]),
        &[
            "no tensor named",
            "encoder.layer.0.attention.self.key.weight",
        ],
    );
    expect_exit2(d, &run(&["-p", "m.safetensors:ids"]), &["I64", "F32"]);
    expect_exit2(d, &run(&["-p", "m.safetensors:bias"]), &["bias", "2-D"]);
    expect_exit2(d, &run(&["-p", "m.safetensors:cube"]), &["cube", "2-D"]);
    expect_exit2(d, &run(&["-p", "m.safetensors"]), &["needs a tensor name"]);
    expect_exit2(
        d,
        &run(&["-p", "nan.npy"]),
        &["row 13", "column 2", "--nonfinite skip"],
    );
    expect_exit2(
        d,
        &run(&["-p", "gaussian:n=30,d=4", "--k", "500"]),
        &["--k 500", "15 base rows"],
    );
    expect_exit2(
        d,
        &run(&["-p", "nosuchpop"]),
        &["unknown population 'nosuchpop'", "gaussian"],
    );
    expect_exit2(
        d,
        &quick_args(&["-c", "int9"]),
        &["unknown codec 'int9'", "int4"],
    );
    expect_exit2(
        d,
        &quick_args(&["-c", "int4:bits=2"]),
        &["unknown parameter 'bits'", "group"],
    );
    expect_exit2(d, &quick_args(&["-c", "int4:group=x"]), &["group=x"]);
    expect_exit2(
        d,
        &run(&["-p", "gaussian:n=30,d=5", "--query-file", "zeros.npy"]),
        &["query rows have 4 dims", "5"],
    );
    expect_exit2(d, &run(&["--queries", "0"]), &["--queries"]);

    // --nonfinite skip drops the row and says so.
    run_ok(
        d,
        &quick_args(&[
            "-c",
            "int8",
            "-p",
            "nan.npy",
            "--nonfinite",
            "skip",
            "--out",
            "skip",
        ]),
    );
    let md = std::fs::read_to_string(d.join("skip/latest/report.md")).unwrap();
    assert!(md.contains("1 non-finite rows dropped"), "{md}");
    // All-zero rows are measured without NaN: values are finite or explicitly undefined.
    run_ok(
        d,
        &quick_args(&["-c", "int8", "-p", "zeros.npy", "--out", "z"]),
    );
    let text = std::fs::read_to_string(d.join("z/latest/results.jsonl")).unwrap();
    assert!(!text.contains("NaN") && !text.contains("nan"));
}

#[test]
fn list_and_inspect_describe_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let s = stdout(&run_ok(dir.path(), &["list", "codecs"]));
    for c in [
        "exact",
        "f16",
        "bf16",
        "int8",
        "int4",
        "group=row | integer ≥ 1 (default 32)",
        "qb=none | 1..=8 (default none)",
        "qround=nearest | random (default nearest)",
    ] {
        assert!(s.contains(c), "{c}: {s}");
    }
    let s = stdout(&run_bin(dir.path(), &["list", "populations"]));
    assert!(s.contains("gaussian") && s.contains("clustered"), "{s}");
    let s = stdout(&run_bin(dir.path(), &["list", "metrics"]));
    assert!(s.contains("kendall") && s.contains("recall@k"), "{s}");

    write_safetensors(
        &dir.path().join("m.safetensors"),
        &[(
            "w",
            safetensors::Dtype::F32,
            vec![8, 4],
            f32_bytes(&seq(32)),
        )],
    );
    let s = stdout(&run_ok(dir.path(), &["inspect", "m.safetensors"]));
    assert!(
        s.contains("F32") && s.contains("[8, 4]") && s.contains("128 bytes"),
        "{s}"
    );
}

#[test]
fn stats_fetch_and_embed_commands_report_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Shrout & Fleiss (1979) table through the binary.
    std::fs::write(
        d.join("sf.csv"),
        "j1,j2,j3,j4\n9,2,5,8\n6,1,3,2\n8,4,6,8\n7,1,2,6\n10,5,6,9\n6,2,4,7\n",
    )
    .unwrap();
    let o = run_ok(d, &["stats", "sf.csv", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let icc = |k: &str| v["icc"][k]["value"].as_f64().unwrap();
    assert!((icc("ICC1") - 0.17).abs() < 0.005 && (icc("ICC3k") - 0.91).abs() < 0.005);
    std::fs::write(d.join("bad.csv"), "a,b\n1,2\n3,x\n").unwrap();
    expect_exit2(d, &["stats", "bad.csv"], &["bad.csv", "row", "column"]);
    expect_exit2(
        d,
        &["fetch", "nosuchsource"],
        &["unknown source 'nosuchsource'", "minilm"],
    );
    // `args` with an empty cache: exit code 2, and the message (stderr).
    let uncached = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_codecbench"))
            .args(args)
            .current_dir(d)
            .env("CODECBENCH_CACHE", d.join("empty-cache"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        stderr(&o)
    };
    // Without a fetched model, embed says how to fetch it.
    std::fs::write(d.join("t.txt"), "hello world\n").unwrap();
    let err = uncached(&["embed", "t.txt", "out.npy"]);
    assert!(err.contains("codecbench fetch minilm"), "{err}");
    // A catalog population whose source is not fetched names the fetch command.
    let err = uncached(&quick_args(&["-p", "gemma-k", "-c", "int8"]));
    assert!(err.contains("codecbench fetch embeddinggemma"), "{err}");
}

/// The chain probe inside `codecbench run`: per-layer rows, the verdicts of the chain's
/// hypotheses with their numbers, and the drift curves in report.html.
#[test]
fn run_with_the_chain_probe_fills_its_hypotheses() {
    crate::util::minilm_dir(); // the chain probe needs MiniLM
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        dir.path(),
        &[
            "run",
            "--quick",
            "--no-progress",
            "-p",
            "minilm-k",
            "-c",
            "int8",
            "-c",
            "int4:group=32",
            "--probe",
            "chain",
            "--out",
            "out",
        ],
    );
    let latest = dir.path().join("out/latest");
    let rows = latest_rows(dir.path(), "out");
    for layer in 0..=6 {
        let metric = format!("chain.cos@L{layer}");
        assert!(
            rows.iter()
                .any(|r| r.population == "minilm-chain:kind=all" && r.metric == metric),
            "{metric}"
        );
    }
    for h in ["hypothesis.I1", "hypothesis.P5.chain"] {
        let r = rows.iter().find(|r| r.metric == h).expect(h);
        assert!(r.value.is_some(), "{r:?}");
        let note = r.note.as_deref().unwrap_or("");
        assert!(
            ["confirmed", "refuted", "inconclusive"]
                .iter()
                .any(|v| note.starts_with(v)),
            "{note}"
        );
    }
    let html = std::fs::read_to_string(latest.join("report.html")).unwrap();
    assert!(
        html.contains("minilm-chain:kind=all: drift through depth"),
        "no chain curves"
    );
}
