//! Faults and misuse of run directories and plans that once lost data or results silently
//! (issue "Reliability, round two"): a user's own `latest`, resuming through the `latest` link,
//! two processes on one run directory, the same population or codec twice, empty and exploding
//! sweeps, a damaged results line. Each test failed on the build before the fix.

use crate::util::{quick_args, refused, run_bin, stderr, tiny_int8_run};
use std::path::Path;

/// A tiny quick run without probes, then `extra`.
fn tiny(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = vec!["--no-progress", "-p", "gaussian:n=300,d=16", "-c", "int8"];
    v.extend_from_slice(extra);
    quick_args(&v)
}

/// `run --resume DIR --no-progress`.
fn resume_args(run_dir: &Path) -> Vec<&str> {
    vec![
        "run",
        "--resume",
        run_dir.to_str().unwrap(),
        "--no-progress",
    ]
}

/// A real directory or file named `latest` is the user's: a run leaves it (and what is in it)
/// alone and says so, instead of deleting it.
#[test]
fn a_users_own_latest_is_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    std::fs::create_dir_all(out.join("latest")).unwrap();
    std::fs::write(out.join("latest").join("mine.txt"), "keep me").unwrap();
    let o = run_bin(dir.path(), &tiny(&["--out", "o"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("left as it is"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("latest").join("mine.txt")).unwrap(),
        "keep me"
    );

    let out = dir.path().join("f");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("latest"), "a file").unwrap();
    let o = run_bin(dir.path(), &tiny(&["--out", "f"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("latest")).unwrap(),
        "a file"
    );
}

/// `--resume OUT/latest` resumes the run the link points at and leaves the link pointing at
/// that run (it once became `latest -> latest`, and the next resume failed).
#[test]
fn resuming_through_the_latest_link_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = tiny_int8_run(dir.path(), "o");
    let name = run_dir.file_name().unwrap().to_owned();
    for _ in 0..2 {
        let o = run_bin(
            dir.path(),
            &["run", "--resume", "o/latest", "--no-progress"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let link = std::fs::read_link(dir.path().join("o/latest")).unwrap();
        assert_eq!(link.as_os_str(), name.as_os_str());
    }
}

/// A run directory another process holds is refused with that process's pid, before anything
/// is read or written (two resumes of one directory once shared a temp file).
#[test]
fn a_run_directory_in_use_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = tiny_int8_run(dir.path(), "o");
    let before = std::fs::read(run_dir.join("results.jsonl")).unwrap();
    let held = codecbench::run::output::lock_run_dir(&run_dir).unwrap();
    let err = refused(dir.path(), &resume_args(&run_dir));
    assert!(
        err.contains("in use") && err.contains(&std::process::id().to_string()),
        "{err}"
    );
    assert_eq!(
        std::fs::read(run_dir.join("results.jsonl")).unwrap(),
        before
    );
    drop(held);
    let o = run_bin(dir.path(), &resume_args(&run_dir));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The same population or codec twice is refused (it duplicated rows on every resume).
#[test]
fn the_same_population_or_codec_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = refused(
        dir.path(),
        &tiny(&["-p", "gaussian:n=300,d=16", "--out", "o"]),
    );
    assert!(
        err.contains("gaussian:n=300,d=16") && err.contains("twice"),
        "{err}"
    );
    let err = refused(dir.path(), &tiny(&["-c", "int8", "--out", "o"]));
    assert!(err.contains("int8") && err.contains("twice"), "{err}");
    assert!(!dir.path().join("o").exists());
}

/// A sweep parameter with no values is refused (it silently ran the default codecs), and a
/// plan whose sweeps multiply past the cap is refused before a single spec is built (a 1.3 KB
/// plan once built 10⁸ specs and ran out of memory).
#[test]
fn empty_and_exploding_sweeps_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("empty.toml");
    std::fs::write(
        &plan,
        "populations = [\"gaussian:n=300,d=16\"]\n[[sweep]]\ncodec = \"int4\"\nparams = { group = [] }\n",
    )
    .unwrap();
    let err = refused(dir.path(), &["run", "--plan", plan.to_str().unwrap()]);
    assert!(err.contains("group") && err.contains("no values"), "{err}");

    let values: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    let list = format!("[{}]", values.join(", "));
    let plan = dir.path().join("bomb.toml");
    std::fs::write(
        &plan,
        format!(
            "populations = [\"gaussian:n=300,d=16\"]\n[[sweep]]\ncodec = \"int4\"\nparams = {{ a = {list}, b = {list}, c = {list}, d = {list} }}\n"
        ),
    )
    .unwrap();
    let err = refused(dir.path(), &["run", "--plan", plan.to_str().unwrap()]);
    assert!(err.contains("100000000") && err.contains("10000"), "{err}");
}

/// A damaged line of results.jsonl is named by its line in the file (it always said "line 1").
#[test]
fn a_damaged_results_line_is_named_by_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = tiny_int8_run(dir.path(), "o");
    let path = run_dir.join("results.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 5);
    let cut = &lines[4][..lines[4].len() / 2];
    lines[4] = cut;
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = refused(dir.path(), &resume_args(&run_dir));
    assert!(err.contains("line 5,"), "{err}");
    assert!(!err.contains("line 1 "), "{err}");
}
