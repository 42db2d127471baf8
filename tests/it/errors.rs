//! What the binary says when it refuses: a missing file is named with its OS error said once,
//! and an unknown codec, codec parameter or population name is answered with the nearest valid
//! ones ("did you mean …?"), always with exit code 2.

use crate::util::{quick_args, refused};

#[test]
fn a_missing_file_is_named_and_its_os_error_said_once() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        quick_args(&["-c", "int8", "-p", "missing.npy"]),
        vec!["inspect", "missing.npy"],
    ] {
        let err = refused(dir.path(), &args);
        assert!(err.contains("missing.npy"), "{args:?}: {err}");
        assert_eq!(err.matches("os error 2").count(), 1, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn unknown_names_suggest_the_nearest_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = quick_args(&["--out", "o"]);
        v.extend_from_slice(extra);
        v
    };
    for (args, needles) in [
        (
            run(&["-c", "int9"]),
            &[
                "unknown codec 'int9'",
                "did you mean",
                "'int8'",
                "valid codecs",
            ][..],
        ),
        (
            run(&["-c", "rabitq:bit=2"]),
            &["unknown parameter 'bit'", "(did you mean 'bits'?)"][..],
        ),
        (
            run(&["-c", "pq:nbit=4"]),
            &["unknown parameter 'nbit'", "did you mean 'nbits'"][..],
        ),
        (
            run(&["-c", "int8", "-p", "glove-20"]),
            &[
                "unknown population 'glove-20'",
                "did you mean 'glove-20k'",
                "gaussian",
            ][..],
        ),
    ] {
        let err = refused(dir.path(), &args);
        for n in needles {
            assert!(err.contains(n), "{args:?}: expected {n:?} in: {err}");
        }
    }
    // Nothing close: no suggestion, only the valid names.
    let err = refused(dir.path(), &run(&["-c", "zzzzqqq"]));
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains("valid codecs: exact"), "{err}");
}

/// `--threads` is bounded (1 to 4 × cores) in every command that takes it, before any thread or
/// data is made: `--threads 100000000` once spawned over a thousand threads.
#[test]
fn thread_counts_beyond_four_per_core_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "run",
            "--no-probes",
            "--quick",
            "-c",
            "int8",
            "-p",
            "gaussian:n=200,d=8",
            "--threads",
            "100000000",
        ][..],
        &[
            "probe",
            "family",
            "-p",
            "gaussian:n=64,d=8",
            "--threads",
            "100000000",
        ][..],
        &[
            "speed",
            "--rows",
            "64",
            "--dim",
            "8",
            "--threads",
            "100000000",
        ][..],
    ] {
        let err = refused(dir.path(), args);
        assert!(
            err.contains("--threads") && err.contains("100000000") && err.contains("cores"),
            "{args:?}: {err}"
        );
    }
    // `--threads 0` too: it used to mean "all cores" in `probe` and "at least 1" in `run`.
    let err = refused(
        dir.path(),
        &[
            "probe",
            "family",
            "-p",
            "gaussian:n=64,d=8",
            "--threads",
            "0",
        ],
    );
    assert!(err.contains("--threads"), "{err}");
}
