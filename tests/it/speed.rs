//! `codecbench speed` and `codecbench export`: everything but timing values. Exports must hold
//! exactly the split the runner measures; the speed report must be complete and positive. No
//! test asserts on how fast anything is.

use crate::util::{run_bin, stderr, stdout};
use codecbench::data::catalog::{LoadOptions, PopulationSpec, stable_hash};
use codecbench::data::npy;
use codecbench::data::{RowSelection, Rows};
use codecbench::probe::Split;
use codecbench::results::Plan;
use codecbench::speed::{self, SpeedOptions, SpeedReport, Stat};
use std::path::Path;

fn read_npy(path: &Path) -> Rows {
    npy::load(path, &RowSelection::All).expect("read npy").rows
}

fn bits(rows: &Rows) -> Vec<u32> {
    rows.as_slice().iter().map(|x| x.to_bits()).collect()
}

/// The split the runner builds for `plan`'s first population, rebuilt from its recipe here
/// independently of `export::prepare`.
fn runner_recipe(plan: &Plan) -> Split {
    let spec = &plan.populations[0];
    let opts = LoadOptions {
        max_rows: plan.max_rows,
        seed: plan.seed,
        nonfinite: plan.nonfinite,
        budget: codecbench::budget::MemoryBudget::bytes(1 << 30),
    };
    let kind = spec.default_kind();
    let pop = spec.load(kind, &opts).unwrap();
    let seed = plan.seed ^ stable_hash(&pop.name);
    match kind {
        codecbench::data::PopulationKind::Weight => {
            Split::self_pairs(&pop.rows, plan.queries, seed)
        }
        codecbench::data::PopulationKind::Embedding => {
            Split::held_out(&pop.rows, plan.queries, seed)
        }
    }
}

fn check_export(plan: &Plan, dir: &Path) {
    let info = codecbench::export::export(plan, dir).unwrap();
    let want = runner_recipe(plan);
    assert_eq!(bits(&read_npy(&dir.join("base.npy"))), bits(&want.base));
    assert_eq!(
        bits(&read_npy(&dir.join("queries.npy"))),
        bits(&want.queries)
    );
    assert_eq!(bits(&read_npy(&dir.join("train.npy"))), bits(&want.train));
    assert_eq!(info.query_self, want.query_self);
    assert_eq!(info.base_rows, want.base.len());
    assert_eq!(info.queries, want.queries.len());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("split.json")).unwrap()).unwrap();
    for key in [
        "population",
        "split",
        "seed",
        "split_seed",
        "sha256",
        "provenance",
        "dim",
    ] {
        assert!(json.get(key).is_some(), "split.json lacks {key}");
    }
    assert_eq!(json["sha256"].as_object().unwrap().len(), 3);
}

#[test]
fn export_writes_the_runners_split_for_embeddings_and_weights() {
    let dir = tempfile::tempdir().unwrap();
    for (i, pop) in ["glove-20k", "minilm-k", "gaussian:n=300,d=16"]
        .iter()
        .enumerate()
    {
        let plan = Plan {
            populations: vec![PopulationSpec::parse(pop).unwrap()],
            queries: 20,
            max_rows: Some(500),
            ..Plan::default()
        };
        check_export(&plan, &dir.path().join(i.to_string()));
    }
}

#[test]
fn export_cli_matches_what_run_reports_for_the_same_flags() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--quick", "--seed", "7"];
    let mut args = vec!["export", "minilm-sentences", "--out", "exp"];
    args.extend(flags);
    let o = run_bin(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("minilm-sentences"), "{}", stdout(&o));
    let mut args = vec![
        "run",
        "--no-probes",
        "-p",
        "minilm-sentences",
        "-c",
        "exact",
        "--out",
        "out",
        "--no-progress",
    ];
    args.extend(flags);
    let o = run_bin(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let run: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/latest/run.json")).unwrap(),
    )
    .unwrap();
    let split: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("exp/split.json")).unwrap())
            .unwrap();
    let p = &run["populations"][0];
    assert_eq!(p["name"], split["population"]);
    assert_eq!(p["split"], split["split"]);
    assert_eq!(p["base_rows"], split["base_rows"]);
    assert_eq!(p["queries"], split["queries"]);
    assert_eq!(p["provenance"], split["provenance"]);
    let base = read_npy(&dir.path().join("exp/base.npy"));
    assert_eq!(base.len() as u64, split["base_rows"].as_u64().unwrap());
}

#[test]
fn bandwidth_kernels_return_positive_numbers() {
    let bw = speed::measure_bandwidth(1 << 20, 2, Some(1)).unwrap();
    for s in [bw.read_gb_per_s, bw.copy_gb_per_s] {
        assert!(
            s.min > 0.0 && s.min <= s.median && s.median <= s.max,
            "{s:?}"
        );
    }
    assert_eq!(bw.threads, 1);
    let words: Vec<u64> = (0..1003).collect();
    assert_eq!(speed::read_kernel(&words), 1002 * 1003 / 2);
}

#[test]
fn stat_is_median_min_max() {
    let s = Stat::of(&[3.0, 1.0, 2.0]);
    assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
    assert_eq!(Stat::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
}

fn check_report(r: &SpeedReport, codecs: usize, dims: usize) {
    assert_eq!(r.results.len(), codecs * dims);
    for row in &r.results {
        for s in [
            row.encode_rows_per_s,
            row.scan_codes_per_s,
            row.scan_gb_per_s,
        ] {
            assert!(
                s.min > 0.0 && s.min <= s.median && s.median <= s.max,
                "{row:?}"
            );
        }
        assert!(row.scan_bandwidth_fraction > 0.0, "{row:?}");
        assert!(row.code_bytes > 0);
        if let Some(d) = row.decode_rows_per_s {
            assert!(d.min > 0.0, "{row:?}");
        }
    }
}

#[test]
fn speed_report_has_every_field_and_positive_numbers() {
    let opts = SpeedOptions {
        codecs: ["int8", "int4", "exact"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect(),
        dims: vec![16, 33],
        rows: 200,
        threads: Some(2),
        repeats: 2,
        bandwidth_bytes: 1 << 20,
        progress: false,
        ..SpeedOptions::default()
    };
    let r = speed::run(&opts).unwrap();
    check_report(&r, 3, 2);
    assert!(r.results.iter().all(|x| x.decode_rows_per_s.is_some()));
    let table = speed::render(&r);
    assert!(
        table.contains("int4:group=32") && table.contains("of read bw"),
        "{table}"
    );
}

#[test]
fn speed_cli_json_parses_back_with_all_fields() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_bin(
        dir.path(),
        &[
            "speed",
            "-c",
            "int8",
            "-c",
            "rabitq:bits=1",
            "--dim",
            "24",
            "--rows",
            "100",
            "--repeats",
            "2",
            "--threads",
            "1",
            "--bandwidth-mib",
            "1",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: SpeedReport = serde_json::from_str(&stdout(&o)).unwrap();
    check_report(&r, 2, 1);
    assert_eq!(r.threads, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in [
        "codec",
        "dim",
        "rows",
        "threads",
        "code_bytes",
        "fit_s",
        "encode_rows_per_s",
        "scan_codes_per_s",
        "scan_gb_per_s",
        "scan_bandwidth_fraction",
        "decode_rows_per_s",
        "peak_rss_bytes",
    ] {
        assert!(v["results"][0].get(key).is_some(), "missing {key}");
    }
    assert!(stderr(&o).contains("speed:"), "progress goes to stderr");
    let o = run_bin(dir.path(), &["speed", "-c", "nope", "--rows", "10"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn simd_kernels_agree_bit_for_bit_with_their_scalar_references() {
    use codecbench::linalg::simd;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for n in [
        0usize, 1, 3, 4, 15, 16, 31, 32, 33, 48, 96, 100, 384, 767, 768, 1000,
    ] {
        let a: Vec<u8> = (0..n).map(|_| rng.random()).collect();
        let b: Vec<u8> = (0..n).map(|_| rng.random()).collect();
        assert_eq!(simd::hamming(&a, &b), simd::hamming_scalar(&a, &b), "n={n}");
        assert_eq!(
            simd::and_popcount(&a, &b),
            simd::and_popcount_scalar(&a, &b)
        );
        assert_eq!(
            simd::hamming_scalar(&a, &b),
            codecbench::linalg::bits::hamming(&a, &b)
        );
        let x: Vec<i8> = a.iter().map(|&v| v as i8).collect();
        let y: Vec<i8> = b.iter().map(|&v| v as i8).collect();
        assert_eq!(simd::dot_i8(&x, &y), simd::dot_i8_scalar(&x, &y), "n={n}");
        let extreme = vec![-128i8; n];
        assert_eq!(
            simd::dot_i8(&extreme, &extreme),
            simd::dot_i8_scalar(&extreme, &extreme)
        );
        let q: Vec<f32> = (0..n)
            .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal) * 1e3)
            .collect();
        let got = simd::dot_f32_i8(&q, &x);
        let want = simd::dot_f32_i8_scalar(&q, &x);
        assert_eq!(got.to_bits(), want.to_bits(), "n={n}: {got} vs {want}");
        let plain: f64 = q.iter().zip(&x).map(|(&a, &b)| a as f64 * b as f64).sum();
        assert!((got - plain).abs() <= 1e-9 * (1.0 + plain.abs()), "n={n}");
    }
}
