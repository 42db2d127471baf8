//! Input paths that are not what their name says, handed to every command that reads a file:
//! a FIFO, `/dev/zero`, a directory, a `/proc` file, a dangling symbolic link, and GGUF files
//! (seeded mutations of a GGUF header). Each must be refused with exit code 2 and a message
//! naming the path — never a hang, a panic, or a read that never ends. The spawned commands run
//! under a hang guard: a child still running after 60 s is killed and the test fails (a guard
//! against a regression hanging the suite, not a timing assertion).

use crate::util::stderr;
use codecbench::data::catalog::PopulationSpec;
use codecbench::data::file::{self, FileSpec};
use codecbench::data::{RowSelection, inspect::inspect_file};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a refused command may take before the guard calls it a hang.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Run the binary with `args` in `dir`, killing it (and failing) if it is still running after
/// [`HANG_GUARD`]. Output goes to files, so a chatty child never blocks on a full pipe.
fn run_guarded(dir: &Path, args: &[&str]) -> Output {
    let out_path = dir.join(".guard.stdout");
    let err_path = dir.join(".guard.stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn codecbench");
    let deadline = Instant::now() + HANG_GUARD;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after {HANG_GUARD:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

/// `args` is refused: exit code 2, no panic, the message names `name`. Returns the message.
fn refused_naming(dir: &Path, args: &[&str], name: &str) -> String {
    let o = run_guarded(dir, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(err.contains(name), "{args:?} does not name {name}: {err}");
    err
}

/// Every command that reads a file, reading `p`.
fn commands(p: &str) -> Vec<(&'static str, Vec<&str>)> {
    let run = |extra: &[&'static str]| -> Vec<&str> {
        let mut v = vec![
            "run",
            "--quick",
            "--no-probes",
            "--no-progress",
            "-c",
            "int8",
        ];
        v.extend_from_slice(extra);
        v.push(p);
        v
    };
    vec![
        ("population", run(&["--out", "o", "-p"])),
        (
            "query file",
            run(&["--out", "o", "-p", "gaussian:n=300,d=16", "--query-file"]),
        ),
        ("plan", vec!["run", "--plan", p, "--out", "o"]),
        ("inspect", vec!["inspect", p]),
        ("stats", vec!["stats", p]),
        ("compare", vec!["compare", p, p]),
        ("hypotheses", vec!["hypotheses", p]),
    ]
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[cfg(target_os = "linux")]
#[test]
fn special_files_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mkfifo(&d.join("fifo.npy"));
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.npy")).unwrap();
    std::os::unix::fs::symlink("/proc/self/status", d.join("proc.npy")).unwrap();
    std::os::unix::fs::symlink("nowhere.npy", d.join("dangling.npy")).unwrap();
    std::fs::create_dir(d.join("dir.npy")).unwrap();
    // What each is called where its kind is refused before reading (every command but those
    // reading a /proc file's text, which ends; those are refused by the parser, still naming
    // the path).
    let kinds = [
        ("fifo.npy", "FIFO"),
        ("zero.npy", "character device"),
        ("dir.npy", "directory"),
        ("dangling.npy", "does not exist"),
        ("proc.npy", "reports size 0"),
    ];
    for (name, what) in kinds {
        for (role, args) in commands(name) {
            let err = refused_naming(d, &args, name);
            let text_reader = matches!(role, "plan" | "stats" | "compare" | "hypotheses");
            // A directory is a run directory to compare / hypotheses: they look inside.
            let looks_inside = name == "dir.npy" && matches!(role, "compare" | "hypotheses");
            let parsed_as_text = name == "proc.npy" && text_reader;
            if !(parsed_as_text || looks_inside) {
                assert!(err.contains(what), "{name} as {role}: {err}");
            }
        }
    }
    // The devices themselves, by their own names.
    for args in [
        vec!["stats", "/dev/zero"],
        vec!["run", "--plan", "/dev/zero", "--out", "o"],
        vec!["compare", "/dev/zero", "/dev/zero"],
    ] {
        let err = refused_naming(d, &args, "/dev/zero");
        assert!(err.contains("character device"), "{args:?}: {err}");
    }
}

/// A GGUF header: magic, version 3, tensor count, metadata count, one key-value pair.
fn gguf_bytes() -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    let key = b"general.architecture";
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key);
    b.extend(8u32.to_le_bytes()); // string
    b.extend(5u64.to_le_bytes());
    b.extend(b"llama");
    b.extend([0u8; 64]);
    b
}

#[test]
fn mutated_gguf_files_are_refused_as_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = gguf_bytes();
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    for round in 0..150 * crate::util::fuzz_scale() {
        let mut bytes = original.clone();
        match round % 3 {
            0 => bytes.truncate(rng.random_range(4..=bytes.len())),
            1 => {
                for _ in 0..rng.random_range(1..8) {
                    let i = rng.random_range(4..bytes.len());
                    bytes[i] = rng.random();
                }
            }
            _ => {
                // The version and the counts.
                let i = rng.random_range(4..24);
                bytes[i] = rng.random();
            }
        }
        // Under its own extension (refused by name) and under the extensions we read (refused
        // by the magic, before the header of the claimed format is parsed).
        for name in ["m.gguf", "m.npy", "m.fvecs", "m.safetensors"] {
            let path = d.join(name);
            std::fs::write(&path, &bytes).unwrap();
            let spec = if name == "m.safetensors" {
                "m.safetensors:w".to_string()
            } else {
                path.display().to_string()
            };
            let err = match PopulationSpec::parse(&spec) {
                Err(e) => e,
                Ok(_) => {
                    let f = FileSpec::parse(&path.display().to_string()).unwrap();
                    let f = match f {
                        FileSpec::Safetensors { path, .. } => FileSpec::Safetensors {
                            path,
                            tensor: Some("w".into()),
                        },
                        other @ (FileSpec::Npy(_) | FileSpec::Fvecs(_) | FileSpec::Bvecs(_)) => {
                            other
                        }
                    };
                    file::load(&f, &RowSelection::All).unwrap_err()
                }
            };
            let msg = err.to_string();
            assert!(msg.contains("GGUF is not supported yet"), "{name}: {msg}");
            assert!(msg.contains(name), "{name}: {msg}");
            assert!(msg.contains("safetensors") && msg.contains("npy"), "{msg}");
            let err = inspect_file(&path, 4).unwrap_err().to_string();
            assert!(err.contains("GGUF is not supported yet"), "{name}: {err}");
        }
        // Through the binary, now and then.
        if round % 25 == 0 {
            for p in ["m.gguf", "m.npy", "m.safetensors:w"] {
                let args = ["run", "--quick", "--no-probes", "-c", "int8", "-p", p];
                let err = refused_naming(d, &args, p.trim_end_matches(":w"));
                assert!(err.contains("GGUF is not supported yet"), "{p}: {err}");
            }
            refused_naming(d, &["inspect", "m.gguf"], "m.gguf");
        }
    }
}
