//! The memory budget and shape checks of issue #22: every codec's declared fit bytes hold
//! against what its fits really allocate; sizes that overflow or exceed `--memory-budget` are
//! refused (exit 2, a message naming what needed how much) before anything is allocated —
//! synthetic populations, `speed`, rotation codecs at large d, codes of a huge spiral — and a
//! palette refuses fewer training rows than entries. Every command passes `--memory-budget`, so
//! nothing here depends on the machine's memory.

use crate::alloc_meter::peak_bytes;
use crate::codec_contract::specs;
use crate::util::{gaussian_rows, latest_rows, quick_args, refused, run_ok};
use codecbench::budget::MemoryBudget;
use codecbench::codec::CodecSpec;
use codecbench::data::Rows;
use codecbench::data::npy::write_f32;
use std::path::Path;

/// Every contract spec at a few shapes: the declared peak (`CodecSpec::fit_bytes`) is at least
/// the peak its fit really allocates, the fitted state included, so a declaration cannot lie
/// low. `CODECBENCH_BUDGET_TABLE=1 … -- --nocapture` prints declared against measured.
#[test]
fn declared_fit_bytes_cover_what_fits_allocate() {
    let verbose = std::env::var("CODECBENCH_BUDGET_TABLE").is_ok();
    let mut low = Vec::new();
    let mut measured = std::collections::HashSet::new();
    for (n, d) in [
        (43usize, 7usize),
        (300, 65),
        (600, 130),
        (300, 257),
        (2500, 40),
        (280, 513),
    ] {
        let rows = gaussian_rows(n, d, 5);
        for spec in specs() {
            let declared = spec.fit_bytes(n, d);
            let (fitted, peak) = peak_bytes(|| spec.fit(&rows, 3));
            // Too few rows for this spec's palette: refused, measured at the larger shapes.
            let Ok(codec) = fitted else { continue };
            measured.insert(spec.to_string());
            let model = codec.model_bytes() as u64;
            drop(codec);
            if verbose {
                eprintln!(
                    "{spec:60} n={n:4} d={d:4} peak={peak:>10} declared={declared:>10} ratio={:.2}",
                    declared as f64 / peak.max(1) as f64
                );
            }
            if declared < peak.max(model) {
                low.push(format!(
                    "{spec} on {n} × {d}: declared {declared}, measured peak {peak}, model {model}"
                ));
            }
        }
    }
    assert!(
        low.is_empty(),
        "declared fit bytes below the fits' peaks:\n{}",
        low.join("\n")
    );
    for spec in specs() {
        assert!(measured.contains(&spec.to_string()), "{spec} never fitted");
    }
}

/// Declarations saturate: absurd shapes give a huge number, never an overflow panic, and the
/// rotation codecs' Haar state grows like d² while Hadamard's stays O(d).
#[test]
fn declared_fit_bytes_saturate_and_scale_with_the_rotation() {
    for spec in specs() {
        for (n, d) in [(usize::MAX, usize::MAX), (2, usize::MAX), (usize::MAX, 3)] {
            let _ = spec.fit_bytes(n, d);
        }
    }
    let s = |t: &str| t.parse::<CodecSpec>().unwrap();
    let haar = s("tq-mse").fit_bytes(12, 100_000);
    assert!(haar >= 2 * 8 * 100_000u64 * 100_000, "{haar}");
    assert!(s("tq-mse:rot=hadamard").fit_bytes(12, 100_000) < 16 << 20);
    let budget = MemoryBudget::bytes(1 << 30);
    let e = budget
        .check_fit(&s("tq-mse"), 12, 20_000)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'tq-mse:bits=2,rot=fht-kac'") && e.contains("20000 dims"),
        "{e}"
    );
    budget
        .check_fit(&s("tq-mse:rot=hadamard"), 12, 20_000)
        .unwrap();
}

/// `run` with a synthetic population whose n × d overflows or exceeds the budget: a clear
/// refusal before generating (it panicked with "capacity overflow", wrapped to "0 rows ×
/// 4611686018427387904 dims", or aborted allocating 800 GB).
#[test]
fn synthetic_populations_too_large_for_the_budget_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (pop, budget, needs) in [
        (
            "gaussian:n=1000,d=18446744073709551615",
            "none",
            "overflows",
        ),
        ("gaussian:n=1000,d=4611686018427387904", "none", "overflows"),
        ("gaussian:n=2,d=100000000000", "1G", "745.1 GiB"),
        // The 32 cluster centres count too: 80 MB of rows, 1.2 GiB of centres.
        ("clustered:n=2,d=10000000", "1G", "1.3 GiB"),
    ] {
        let err = refused(
            d,
            &quick_args(&[
                "-c",
                "int8",
                "-p",
                pop,
                "--memory-budget",
                budget,
                "--out",
                "o",
            ]),
        );
        assert!(err.contains(&format!("population '{pop}'")), "{err}");
        assert!(
            err.contains(needs) && err.contains("memory budget"),
            "{err}"
        );
        assert!(!err.contains(" 0 rows"), "{err}");
    }
}

/// `speed` checks its rows, the codecs' fits and the bandwidth buffers before allocating any.
#[test]
fn speed_refuses_sizes_over_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let speed = |extra: &[&str]| {
        let mut args = vec!["speed", "-c", "int8", "--memory-budget", "1G"];
        args.extend_from_slice(extra);
        refused(d, &args)
    };
    let err = speed(&["--dim", "100000000000", "--rows", "10"]);
    assert!(
        err.contains("d=100000000000") && err.contains("1.0 GiB"),
        "{err}"
    );
    let err = speed(&["--dim", "1000000", "--rows", "100000"]);
    assert!(err.contains("memory budget"), "{err}");
    let err = speed(&["--bandwidth-mib", "18446744073709551615"]);
    assert!(err.contains("--bandwidth-mib"), "{err}");
    let err = speed(&["--bandwidth-mib", "4096"]);
    assert!(
        err.contains("--bandwidth-mib") && err.contains("8.0 GiB"),
        "{err}"
    );
    let mut args = vec!["speed", "-c", "tq-mse", "--dim", "20000", "--rows", "10"];
    args.extend_from_slice(&["--memory-budget", "1G"]);
    let err = refused(d, &args);
    assert!(err.contains("rot=fht-kac"), "{err}");
}

/// A [12, 100000] `.npy` (4.8 MB): every rotation codec's Haar rotation (and ITQ's,
/// Matryoshka's d×d matrices, tq-prod's d×d sketch) would need hundreds of GB; each is refused
/// from its declaration before fitting, naming the spec, d, the bytes and the budget, and the
/// FHT–Kac variant (structured, unpadded) is suggested where it fits (it runs).
#[test]
fn rotation_codecs_at_large_d_are_refused_with_a_structured_alternative() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_f32(&d.join("wide.npy"), &gaussian_rows(12, 100_000, 1)).unwrap();
    let run = |codec: Option<&'static str>| {
        let mut args = quick_args(&["-p", "wide.npy", "--k", "3", "--memory-budget", "1G"]);
        if let Some(c) = codec {
            args.extend_from_slice(&["-c", c]);
        }
        args.extend_from_slice(&["--no-progress", "--out", "o"]);
        args
    };
    for codec in [
        "tq-mse",
        "itq",
        "qjl",
        "sign",
        "rabitq",
        "polar",
        "matryoshka",
        "gain-shape",
        "tq-prod",
    ] {
        let err = refused(d, &run(Some(codec)));
        assert!(
            err.contains(&format!("codec '{codec}:"))
                && err.contains("× 100000 dims")
                && err.contains("bytes)")
                && err.contains("1.0 GiB (--memory-budget)"),
            "{codec}: {err}"
        );
        if ["tq-mse", "sign", "rabitq", "polar", "gain-shape"].contains(&codec) {
            assert!(err.contains("rot=fht-kac'"), "{codec}: {err}");
        }
    }
    // The default codec set stops at its first rotation codec, before any work.
    let err = refused(d, &run(None));
    assert!(err.contains("rot=fht-kac"), "{err}");
    assert!(!d.join("o/latest").exists());
    run_ok(d, &run(Some("tq-mse:rot=fht-kac")));
    assert!(!latest_rows(d, "o").is_empty());
}

/// `spiral:k=65535` codes 2.2 MB per row: the codes of a population are refused before
/// encoding (20000 rows needed 44.5 GB and aborted).
#[test]
fn codes_larger_than_the_budget_are_refused_before_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let err = refused(
        dir.path(),
        &quick_args(&[
            "-c",
            "spiral:k=65535",
            "-p",
            "gaussian:n=2000,d=16",
            "--memory-budget",
            "1G",
            "--out",
            "o",
        ]),
    );
    assert!(
        err.contains("spiral:k=65535") && err.contains("2228196 bytes each"),
        "{err}"
    );
}

/// `palette:k=4096` on 450 rows ran and reported Pearson 1.0 at 2 bytes per row (the palette
/// was the training rows); it is refused before any work, naming population and codec.
#[test]
fn palettes_larger_than_the_training_rows_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_f32(&d.join("r450.npy"), &gaussian_rows(450, 32, 2)).unwrap();
    let err = refused(
        d,
        &quick_args(&["-c", "palette:k=4096", "-p", "r450.npy", "--out", "o"]),
    );
    assert!(
        err.contains("population 'r450.npy' has 400 training rows")
            && err.contains("'palette:k=4096,")
            && err.contains("at least 4096"),
        "{err}"
    );
    run_ok(
        d,
        &quick_args(&["-c", "palette:k=256", "-p", "r450.npy", "--out", "o"]),
    );
}

/// The flag's values: sizes, percentages and `none`; anything else is a clap error (exit 2).
/// A run that fits gives the same results under any budget.
#[test]
fn memory_budget_flag_parses_and_never_changes_results_that_fit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for bad in ["0", "8X", "=-1G", "101%", "lots"] {
        let err = refused(
            d,
            &quick_args(&[
                "-c",
                "int8",
                &format!("--memory-budget={bad}"),
                "--out",
                "o",
            ]),
        );
        assert!(err.contains("--memory-budget"), "{bad}: {err}");
    }
    let rows = |budget: &str, out: &str| {
        run_ok(
            d,
            &quick_args(&[
                "-c",
                "int8",
                "-c",
                "tq-mse",
                "-p",
                "gaussian:n=300,d=16",
                "--memory-budget",
                budget,
                "--out",
                out,
            ]),
        );
        std::fs::read(d.join(out).join("latest/results.jsonl")).unwrap()
    };
    let a = rows("64M", "a");
    assert_eq!(a, rows("none", "b"));
    assert_eq!(a, rows("90%", "c"));
}

/// A file population whose declared shape exceeds the budget is refused from its header.
#[test]
fn file_samples_over_the_budget_are_refused_from_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let d: &Path = dir.path();
    write_f32(&d.join("rows.npy"), &Rows::new(64, vec![0.5; 64 * 1000])).unwrap();
    let err = refused(
        d,
        &quick_args(&["-c", "int8", "-p", "rows.npy", "--memory-budget", "100K"]),
    );
    assert!(
        err.contains("population 'rows.npy': 1000 rows × 64 dims") && err.contains("250.0 KiB"),
        "{err}"
    );
}
