//! Faults and misuse of run directories and plans that once lost data or results silently
//! (issue "Reliability, round two"): a user's own `latest`, resuming through the `latest` link,
//! two processes on one run directory, the same population or codec twice, empty and exploding
//! sweeps, a damaged results line, a damaged or re-planned run on resume. Each test failed on the build before the fix.

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

/// A damaged line of results.jsonl is named by its line in the file (it always said "line 1")
/// by the commands that read results (`compare`, `hypotheses`); `--resume` measures its unit
/// again instead (see below).
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
    let p = path.to_str().unwrap();
    for args in [vec!["compare", p, p], vec!["hypotheses", p]] {
        let err = refused(dir.path(), &args);
        assert!(err.contains("line 5,"), "{args:?}: {err}");
        assert!(!err.contains("line 1 "), "{args:?}: {err}");
    }
}

/// A complete two-codec run without probes (cells and an instrument block), in `dir/o`.
fn two_codec_run(dir: &Path) -> std::path::PathBuf {
    let o = run_bin(
        dir,
        &quick_args(&[
            "--no-progress",
            "-p",
            "gaussian:n=300,d=16",
            "-c",
            "int8",
            "-c",
            "int4",
            "--out",
            "o",
        ]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::canonicalize(dir.join("o/latest")).unwrap()
}

/// Resume keeps only the units whose lines match their digests: a results.jsonl with its last
/// lines dropped, a line cut short, a value edited or rows duplicated is finished to exactly
/// the uninterrupted run's file (the damaged cells measured again, with a warning naming
/// them). Before digests, each damage was kept and mixed into the "resumed" results.
#[test]
fn resume_measures_damaged_cells_again_and_never_mixes_them_in() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = two_codec_run(dir.path());
    let path = run_dir.join("results.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    assert!(lines.len() > 30, "{}", lines.len());
    let joined = |v: &[&str]| v.iter().map(|l| format!("{l}\n")).collect::<String>();
    // The first row's value, edited (a plausible number, still valid JSON).
    let edited_first = {
        let mut v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        let x = v["value"].as_f64().unwrap();
        v["value"] = serde_json::json!(x * 0.5 + 0.25);
        v.to_string()
    };
    let mut edited = lines.clone();
    edited[0] = &edited_first;
    let cases: Vec<(&str, String)> = vec![
        ("last 10 lines dropped", joined(&lines[..lines.len() - 10])),
        (
            "last line cut short",
            good[..good.len() - lines[lines.len() - 1].len() / 2 - 1].to_string(),
        ),
        ("a value edited", joined(&edited)),
        (
            "rows duplicated",
            joined(&[&lines[..], &lines[..5]].concat()),
        ),
    ];
    for (what, damaged) in cases {
        std::fs::write(&path, damaged).unwrap();
        let o = run_bin(dir.path(), &resume_args(&run_dir));
        assert!(o.status.success(), "{what}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("did not match their digests"),
            "{what}: {}",
            stderr(&o)
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            good,
            "{what}: the resumed file is not the uninterrupted run's"
        );
    }
    // An undamaged run resumes to itself without a warning.
    let o = run_bin(dir.path(), &resume_args(&run_dir));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("digests"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
}

/// A run.json whose plan was edited (here its seed) is refused: its rows were measured under
/// another plan, and resuming once mixed rows of two seeds.
#[test]
fn resume_refuses_a_run_whose_plan_was_edited() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = two_codec_run(dir.path());
    let meta_path = run_dir.join("run.json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    let seed = meta["plan"]["seed"].as_u64().unwrap();
    meta["plan"]["seed"] = serde_json::json!(seed + 1);
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let before = std::fs::read(run_dir.join("results.jsonl")).unwrap();
    let err = refused(dir.path(), &resume_args(&run_dir));
    assert!(
        err.contains("run.json") && err.contains("plan") && err.contains("edited"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(run_dir.join("results.jsonl")).unwrap(),
        before
    );
}

/// `--queries` beyond what a split can give is reported where the number is (stderr, report.md,
/// report.html), with the reason; the header once said 600 while 250 were scored.
#[test]
fn fewer_queries_than_asked_are_reported_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let want = "Fewer queries than the 600 asked for: gaussian:n=500,d=16 has 250 (a held-out \
                split takes at most half of its 500 rows as queries)";
    // 600 asked of 500 rows: said everywhere; 200 (enough rows): said nowhere.
    for (queries, out, said) in [("600", "o", true), ("200", "p", false)] {
        let o = run_bin(
            dir.path(),
            &quick_args(&[
                "--no-progress",
                "-p",
                "gaussian:n=500,d=16",
                "-c",
                "int8",
                "--queries",
                queries,
                "--out",
                out,
            ]),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stderr(&o).contains(want), said, "{}", stderr(&o));
        assert_eq!(stderr(&o).contains("Fewer queries"), said, "{}", stderr(&o));
        for f in ["report.md", "report.html"] {
            let text = std::fs::read_to_string(dir.path().join(out).join("latest").join(f));
            assert_eq!(text.unwrap().contains("Fewer queries"), said, "{f}");
        }
    }
}

/// A population parameter given twice is refused (the last one silently won).
#[test]
fn a_population_parameter_given_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (spec, key) in [
        ("gaussian:n=500,n=600,d=16", "'n'"),
        ("clustered:d=8,n=300,d=9", "'d'"),
        ("minilm-k:layer=1,layer=2", "'layer'"),
    ] {
        let err = refused(dir.path(), &quick_args(&["-p", spec, "-c", "int8"]));
        assert!(
            err.contains(spec) && err.contains(key) && err.contains("twice"),
            "{spec}: {err}"
        );
    }
}
