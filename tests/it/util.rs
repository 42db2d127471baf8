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
