//! Robustness beyond the loaders' own hostile-file suite: a multi-GB (sparse) safetensors file is
//! memory-mapped and only the selected rows are read (peak memory stays far below the file
//! size), and the spec and plan parsers survive seeded random mutations without panicking.

use crate::util::stderr;
use codecbench::codec::CodecSpec;
use codecbench::data::catalog::PopulationSpec;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{Seek, SeekFrom, Write};

/// Peak resident set size of all waited-for children, in bytes (Linux reports KiB).
#[cfg(target_os = "linux")]
fn children_max_rss() -> u64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(rc, 0);
    ru.ru_maxrss as u64 * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn a_4_gb_tensor_is_sampled_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    let (rows, cols) = (1_048_576usize, 1024usize); // 4 GiB of f32
    let header = format!(
        "{{\"w\":{{\"dtype\":\"F32\",\"shape\":[{rows},{cols}],\"data_offsets\":[0,{}]}}}}",
        rows * cols * 4
    );
    let mut header = header.into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(&header).unwrap();
    let data_start = 8 + header.len() as u64;
    // Sparse: set the length, then write a few non-zero rows spread over the file.
    f.set_len(data_start + (rows * cols * 4) as u64).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for r in (0..rows).step_by(4099) {
        let row: Vec<u8> = (0..cols)
            .flat_map(|_| (rng.random::<f32>() - 0.5).to_le_bytes())
            .collect();
        f.seek(SeekFrom::Start(data_start + (r * cols * 4) as u64))
            .unwrap();
        f.write_all(&row).unwrap();
    }
    drop(f);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args([
            "run",
            "--no-probes",
            "--quick",
            "--no-progress",
            "-c",
            "int8",
            "--max-rows",
            "800",
            "--queries",
            "20",
            "--out",
            "o",
            "-p",
        ])
        .arg(format!("{}:w", path.display()))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let peak = children_max_rss();
    // 800 sampled rows × 1024 × 4 B = 3.3 MB of data; the run's own state is tens of MB. A
    // loader that read the tensor would need 4 GiB. 1 GiB separates the two with margin.
    assert!(peak < 1 << 30, "peak RSS {} MB", peak >> 20);
}

const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789:,=._-/ \t\xc3\xa9\0[]{}\"'#\n";

fn mutate(rng: &mut ChaCha8Rng, s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..4) {
        let op = rng.random_range(0..3);
        let at = if b.is_empty() {
            0
        } else {
            rng.random_range(0..=b.len())
        };
        match op {
            0 => b.insert(at.min(b.len()), CHARS[rng.random_range(0..CHARS.len())]),
            1 if !b.is_empty() => {
                b.remove(at.min(b.len() - 1));
            }
            _ => {
                let n = rng.random_range(0..b.len().max(1));
                b.truncate(n);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn spec_parsers_survive_random_mutations() {
    let seeds: Vec<String> = CodecSpec::defaults()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let pops = [
        "gaussian:n=100,d=7",
        "minilm-k:layer=3",
        "glove-20k",
        "x.safetensors:layer.0.w",
        "a.npy",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut parsed = 0;
    for i in 0..20_000 * crate::util::fuzz_scale() {
        let base = if i % 2 == 0 {
            &seeds[rng.random_range(0..seeds.len())]
        } else {
            pops[rng.random_range(0..pops.len())]
        };
        let m = mutate(&mut rng, base);
        // Never a panic; whatever parses prints back canonically and re-parses to itself.
        if let Ok(c) = m.parse::<CodecSpec>() {
            parsed += 1;
            assert_eq!(c.to_string().parse::<CodecSpec>().unwrap(), c, "{m:?}");
        }
        if let Ok(p) = PopulationSpec::parse(&m) {
            assert_eq!(PopulationSpec::parse(&p.to_string()).unwrap(), p, "{m:?}");
        }
    }
    assert!(
        parsed > 100,
        "the mutations should still parse sometimes ({parsed})"
    );
}

#[test]
fn plan_parser_survives_random_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let plan = "seed = 9\nquick = true\npopulations = [\"gaussian:n=300,d=9\"]\ncodecs = [\"int8\"]\n[[sweep]]\ncodec = \"int4\"\nparams = { group = [4, \"row\"] }\n";
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for i in 0..3000 * crate::util::fuzz_scale() {
        let m = mutate(&mut rng, plan);
        let path = dir.path().join(format!("p{}.toml", i % 8));
        std::fs::write(&path, &m).unwrap();
        if let Ok(p) = codecbench::results::plan::PlanToml::read(&path) {
            let _ = p.into_plan(dir.path().join("out"), None, false);
        }
    }
}

/// Plan bombs: seeded random sweeps (1–4 sweeps of 1–6 parameters with 0–300 values each,
/// known and unknown keys) are refused before a single spec is built whenever they expand past
/// the cap (or list no values), with the count in the message; those under it parse. A plan
/// that really is that large passes with `max_codecs`. Counting is saturating, so even
/// 300⁶ × 4 specs is refused in microseconds (building them once took gigabytes).
#[test]
fn plan_bombs_are_refused_before_any_spec_is_built() {
    use codecbench::results::plan::{MAX_PLAN_CODECS, PlanToml};
    let dir = tempfile::tempdir().unwrap();
    let keys = ["group", "bits", "a", "b", "rot", "zz"];
    // int4's group takes any positive integer or "row"; the values below are 1.. + sweep index,
    // all valid.
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (mut refused_big, mut refused_empty, mut parsed) = (0, 0, 0);
    for i in 0..400 * crate::util::fuzz_scale() {
        let mut text = String::from("populations = [\"gaussian:n=300,d=9\"]\n");
        let mut total: u128 = 0;
        let mut empty = false;
        let max_codecs = (i % 7 == 0).then(|| rng.random_range(1..200_000usize));
        if let Some(m) = max_codecs {
            text.push_str(&format!("max_codecs = {m}\n"));
        }
        for s in 0..rng.random_range(1..=4) {
            text.push_str("[[sweep]]\ncodec = \"int4\"\nparams = { ");
            let mut n: u128 = 1;
            // Half the sweeps use int4's one parameter (so some plans parse), the rest
            // unknown ones as well.
            let used = if rng.random_range(0..2) == 0 {
                1
            } else {
                rng.random_range(1..=keys.len())
            };
            let params: Vec<String> = keys[..used]
                .iter()
                .map(|k| {
                    // Mostly small lists (so some plans stay under the cap), sometimes huge,
                    // sometimes empty.
                    let len = match rng.random_range(0..20) {
                        0 => 0,
                        1..=5 => rng.random_range(1..=300usize),
                        _ => rng.random_range(1..=4usize),
                    };
                    empty |= len == 0;
                    n *= len as u128;
                    let values: Vec<String> = (0..len).map(|v| (v + s + 1).to_string()).collect();
                    format!("{k} = [{}]", values.join(", "))
                })
                .collect();
            total += n;
            text.push_str(&params.join(", "));
            text.push_str(" }\n");
        }
        let path = dir.path().join("bomb.toml");
        std::fs::write(&path, &text).unwrap();
        let cap = max_codecs.unwrap_or(MAX_PLAN_CODECS) as u128;
        let result =
            PlanToml::read(&path).and_then(|p| p.into_plan(dir.path().join("out"), None, false));
        match result {
            // An empty list, unless an earlier sweep already exceeded the cap.
            Err(e) if empty && e.to_string().contains("no values") => refused_empty += 1,
            Err(e) if total > cap => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&cap.to_string()) && msg.contains("max_codecs"),
                    "{msg}"
                );
                refused_big += 1;
            }
            // Under the cap: unknown parameters are refused by the codec parser, after
            // counting; known ones parse.
            Err(e) => assert!(e.to_string().contains("int4"), "{e}"),
            Ok(_) => {
                assert!(total <= cap && !empty);
                parsed += 1;
            }
        }
    }
    assert!(
        refused_big > 20 && refused_empty > 5 && parsed > 0,
        "{refused_big} {refused_empty} {parsed}"
    );
}
