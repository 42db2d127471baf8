//! Interruptions lose nothing: a run killed (SIGKILL) after some cells leaves valid results on
//! disk, and `run --resume DIR` finishes it with results byte-identical to an uninterrupted run.

use crate::util::{run_bin, run_ok, stderr};
use codecbench::report::jsonl;
use codecbench::results::ResultRow;
use codecbench::run::journal::{self, Unit};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const ARGS: &[&str] = &[
    "run",
    "--no-probes",
    "--no-progress",
    "-p",
    "gaussian:n=2500,d=64",
    "-p",
    "clustered:n=2500,d=64",
    "-p",
    "anisotropic:n=2500,d=64",
    "--queries",
    "80",
    "--resamples",
    "200",
    "-c",
    "exact",
    "-c",
    "int8",
    "-c",
    "int4",
    "-c",
    "tq-mse:bits=2",
    "-c",
    "rabitq:bits=1",
];

/// `run --resume RUN_DIR --threads 1` and `extra` in `d`, which must succeed.
fn resume_ok(d: &Path, run_dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        "--resume",
        run_dir.to_str().unwrap(),
        "--threads",
        "1",
    ];
    args.extend_from_slice(extra);
    run_ok(d, &args);
}

#[test]
fn killed_run_resumes_to_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Uninterrupted reference.
    let mut args = ARGS.to_vec();
    args.extend(["--out", "full"]);
    run_ok(d, &args);
    let full = std::fs::read(d.join("full/latest/results.jsonl")).unwrap();
    let full_rows = jsonl::parse(std::str::from_utf8(&full).unwrap()).unwrap();
    // The same run, killed as soon as its first cell is on disk.
    let mut args = ARGS.to_vec();
    args.extend(["--out", "part"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args(&args)
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let find_run = || {
        std::fs::read_dir(d.join("part")).ok().and_then(|mut it| {
            it.find_map(|e| {
                e.ok()
                    .map(|e| e.path())
                    // A unit is on disk once its digest follows the header line.
                    .filter(|p| {
                        std::fs::read_to_string(p.join(journal::DIGESTS))
                            .is_ok_and(|t| t.lines().count() >= 2)
                    })
            })
        })
    };
    // No deadline (a timed assertion fails on a loaded machine): the run either writes its
    // first cell or ends; a run that ends without a results file is a failure.
    let run_dir = loop {
        if let Some(p) = find_run() {
            break p;
        }
        if let Some(status) = child.try_wait().unwrap() {
            match find_run() {
                Some(p) => break p,
                None => panic!("the run ended ({status}) before any cell was on disk"),
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().ok();
    // The kill may land at any point, even after the last cell (then every cell is present):
    // the checks below hold wherever it lands.
    child.wait().unwrap();

    // What is on disk holds the finished units (cells, instrument blocks) in the order they
    // finished, each appended whole and then its digest; a kill may cut the last line short.
    // Every unit with a digest holds exactly the uninterrupted run's rows of that unit.
    let text = std::fs::read_to_string(run_dir.join("results.jsonl")).unwrap();
    let complete: Vec<&str> = text
        .split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
        .collect();
    let partial: Vec<ResultRow> = complete
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let digests = std::fs::read_to_string(run_dir.join(journal::DIGESTS)).unwrap();
    let digested: HashSet<Unit> = digests
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    assert!(!digested.is_empty(), "no unit was on disk with its digest");
    let of_unit = |rows: &[ResultRow], u: &Unit| -> Vec<ResultRow> {
        rows.iter()
            .filter(|r| Unit::of(r).as_ref() == Some(u))
            .cloned()
            .collect()
    };
    for u in &digested {
        assert_eq!(
            of_unit(&partial, u),
            of_unit(&full_rows, u),
            "{u:?}: the killed run's rows differ from the uninterrupted run's"
        );
    }
    // results.csv is appended before results.jsonl: it holds at least the same rows.
    let csv = std::fs::read_to_string(run_dir.join("results.csv")).unwrap();
    assert!(
        csv.lines().count() > partial.len(),
        "csv has fewer rows than jsonl"
    );

    // Resume (with another thread count) and compare byte for byte.
    resume_ok(d, &run_dir, &["--no-progress"]);
    let resumed = std::fs::read(run_dir.join("results.jsonl")).unwrap();
    assert_eq!(
        resumed, full,
        "resumed results differ from the uninterrupted run"
    );
    // Every cell's per-query values (units/, written by the killed run and by the resume)
    // equal the uninterrupted run's, file for file and byte for byte.
    let units = |dir: &std::path::Path| -> Vec<(std::ffi::OsString, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(dir.join("units"))
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let full_dir = std::fs::canonicalize(d.join("full/latest")).unwrap();
    let full_units = units(&full_dir);
    assert_eq!(full_units.len(), 3 * 5, "one file per cell");
    assert!(
        units(&run_dir) == full_units,
        "units/ after the resume differs from the uninterrupted run's"
    );
    assert!(run_dir.join("report.md").is_file());
    let meta = std::fs::read_to_string(run_dir.join("run.json")).unwrap();
    assert!(meta.contains("\"status\": \"complete\""));
}

#[test]
fn resume_refuses_a_run_of_another_results_format() {
    // A run written before codec draws were seeded from the codec's identity (no
    // `results_format` in run.json) cannot be finished by this build: its cells would be mixed
    // with cells seeded and pooled differently.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = crate::util::tiny_int8_run(d, "r");
    let meta_path = run.join("run.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    assert!(meta.contains("\"results_format\": 2"), "{meta}");
    let old = meta.replace("\"results_format\": 2,", "");
    assert_ne!(old, meta);
    std::fs::write(&meta_path, old).unwrap();
    let o = run_bin(d, &["run", "--resume", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("results format is 1"), "{}", stderr(&o));
}

#[test]
fn resume_refuses_a_directory_that_is_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.json"), "{\"hello\": 1}").unwrap();
    let o = run_bin(dir.path(), &["run", "--resume", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a codecbench run"),
        "{}",
        stderr(&o)
    );
    let o = run_bin(dir.path(), &["run", "--resume", "nowhere"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nowhere"), "{}", stderr(&o));
}

/// A run with probes, cut after its codec cells (or after its probes), resumes to the same
/// results: finished probes are reused (their report sections rendered again from their rows and
/// run.json's probe notes), missing ones recomputed, the verdicts recomputed from the rows.
#[test]
fn resume_recomputes_missing_probes_and_reuses_finished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(
        d,
        &[
            "run",
            "--quick",
            "--no-progress",
            "-p",
            "clustered:n=400,d=24",
            "-c",
            "int8",
            "-c",
            "tq-mse:bits=2",
            "--probe",
            "family",
            "--probe",
            "identity",
            "--out",
            "o",
        ],
    );
    let run_dir = std::fs::canonicalize(d.join("o/latest")).unwrap();
    let full = std::fs::read_to_string(run_dir.join("results.jsonl")).unwrap();
    let rows = jsonl::parse(&full).unwrap();
    assert!(rows.iter().any(|r| r.split == "family"));
    assert!(rows.iter().any(|r| r.split == "identity"));
    assert!(rows.iter().any(|r| r.split == "verdict"));
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();

    for keep_probes in [true, false] {
        let kept: Vec<_> = rows
            .iter()
            .filter(|r| !r.is_probe() || (keep_probes && r.split != "verdict"))
            .cloned()
            .collect();
        std::fs::write(
            run_dir.join("results.jsonl"),
            codecbench::report::jsonl::render(&kept),
        )
        .unwrap();
        // No side file holds probe text: the report is rendered from the rows and run.json.
        assert!(!run_dir.join("probes.md").exists());
        resume_ok(d, &run_dir, &[]);
        let resumed = std::fs::read_to_string(run_dir.join("results.jsonl")).unwrap();
        assert_eq!(resumed, full, "keep_probes = {keep_probes}");
        let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
        let body = |t: &str| {
            t.split_once("# Probes and hypotheses")
                .map(|x| x.1.to_string())
        };
        assert_eq!(body(&md), body(&report), "keep_probes = {keep_probes}");
    }
}

/// A file too big to hash whole (> 512 MiB; sparse here) is identified by its size,
/// modification time and sampled blocks: `--resume` refuses it once a sampled byte changed,
/// even with the modification time put back.
#[test]
fn resume_refuses_a_big_file_rewritten_since_the_run() {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("big.npy");
    let rows = 8_500_000usize; // × 16 f32 = 544 MB
    let mut f = std::fs::File::create(&path).unwrap();
    codecbench::data::npy::write_header(&mut f, "<f4", &[rows, 16]).unwrap();
    let data_start = f.stream_position().unwrap();
    f.set_len(data_start + (rows * 16 * 4) as u64).unwrap();
    drop(f);
    run_ok(
        d,
        &[
            "run",
            "--quick",
            "--no-probes",
            "--no-progress",
            "-c",
            "int8",
            "--max-rows",
            "300",
            "-p",
            "big.npy",
            "--out",
            "o",
        ],
    );
    let run_dir = std::fs::canonicalize(d.join("o/latest")).unwrap();
    let meta = std::fs::read_to_string(run_dir.join("run.json")).unwrap();
    assert!(meta.contains("\"sampled_sha256\""), "{meta}");
    // Unchanged: resumes.
    resume_ok(d, &run_dir, &[]);
    // One byte of the first MiB (always sampled) rewritten, the modification time restored.
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.seek(SeekFrom::Start(data_start + 4096)).unwrap();
    f.write_all(&[0x3f]).unwrap();
    f.set_modified(modified).unwrap();
    drop(f);
    let o = run_bin(d, &["run", "--resume", run_dir.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("big.npy") && err.contains("changed since the run started"),
        "{err}"
    );
}
