//! Hostile inputs the loader suite does not cover yet, and numerics through the whole runner:
//! overlapping safetensors tensors, non-UTF-8 headers, mutated CSV tables for `stats`, and
//! populations with duplicated rows, constant columns, denormals and d = 1 measured by every
//! default codec — every number finite or explicitly undefined.

use crate::util::{latest_rows, quick_args, run_bin, run_ok, stderr};
use codecbench::data::npy::write_f32;
use codecbench::data::{RowSelection, Rows, safetensors as st};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn raw_safetensors(header: &[u8], data_len: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(vec![0u8; data_len]);
    out
}

#[test]
fn overlapping_tensors_and_non_utf8_headers_are_refused_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "overlap.safetensors",
            raw_safetensors(
                br#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}}"#,
                24,
            ),
        ),
        (
            "latin1.safetensors",
            raw_safetensors(b"{\"w\xe9\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}", 4),
        ),
        (
            "dtype_size.safetensors",
            raw_safetensors(br#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}"#, 8),
        ),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for tensor in ["a", "b", "w", "w\u{e9}"] {
            if let Err(e) = st::load(&path, tensor, &RowSelection::All) {
                assert!(e.to_string().contains(name), "{name}: {e}");
            } else {
                panic!("{name}:{tensor} loaded");
            }
        }
        let o = run_bin(
            dir.path(),
            &quick_args(&["-c", "int8", "-p", &format!("{name}:w")]),
        );
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(name), "{}", stderr(&o));
    }
}

#[test]
fn mutated_csv_tables_never_panic() {
    use codecbench::stats::{StatsMode, stats_command};
    let dir = tempfile::tempdir().unwrap();
    let good = "a,b,c\n1,2,3\n4,5,6.5\n7,8,9\n2,2,1\n";
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let alphabet = b"0123456789.,-e\n\" abcNaInf\r\t";
    for i in 0..3000 * crate::util::fuzz_scale() {
        let mut b = good.as_bytes().to_vec();
        for _ in 0..rng.random_range(1..5) {
            if b.is_empty() {
                break;
            }
            let at = rng.random_range(0..b.len());
            match rng.random_range(0..3) {
                0 => b[at] = alphabet[rng.random_range(0..alphabet.len())],
                1 => {
                    b.remove(at);
                }
                _ => b.truncate(at.max(1)),
            }
        }
        let path = dir.path().join(format!("t{}.csv", i % 4));
        std::fs::write(&path, &b).unwrap();
        for mode in [
            StatsMode::Table,
            StatsMode::Agreement,
            StatsMode::Correlation,
        ] {
            if let Err(e) = stats_command(&path, mode, i % 2 == 0) {
                assert!(
                    e.to_string()
                        .contains(path.file_name().unwrap().to_str().unwrap()),
                    "{e}"
                );
            }
        }
    }
}

#[test]
fn awkward_numerics_stay_finite_or_undefined_for_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // 320 rows × 9 dims (enough training rows for every default codec: palette:k=256 needs
    // 256): duplicated rows, a constant column, denormals, a zero row, huge and tiny
    // magnitudes.
    let mut data = Vec::new();
    for r in 0..320 {
        for c in 0..9 {
            let v: f32 = match c {
                0 => 0.5,                                              // constant column
                1 => f32::from_bits(rng.random_range(1..0x0080_0000)), // denormal
                _ => rng.random::<f32>() - 0.5,
            };
            data.push(if r % 10 == 3 {
                0.0
            } else {
                v * if r % 7 == 0 { 1e4 } else { 1.0 }
            });
        }
    }
    for r in 0..10 {
        let row: Vec<f32> = data[r * 9..(r + 1) * 9].to_vec();
        data[(60 + r) * 9..(61 + r) * 9].copy_from_slice(&row); // duplicates
    }
    write_f32(&d.join("awkward.npy"), &Rows::new(9, data)).unwrap();
    write_f32(
        &d.join("one.npy"),
        &Rows::new(1, (0..320).map(|i| i as f32 - 20.0).collect()),
    )
    .unwrap();
    for pop in ["awkward.npy", "one.npy"] {
        run_ok(
            d,
            &quick_args(&["--no-progress", "-p", pop, "--k", "5", "--out", "o"]),
        );
        let rows = latest_rows(d, "o");
        assert!(!rows.is_empty());
        for r in &rows {
            for v in [r.value, r.ci_lo, r.ci_hi].into_iter().flatten() {
                assert!(v.is_finite(), "{pop}: {r:?}");
            }
            if r.value.is_none() {
                assert!(r.note.is_some(), "{pop}: undefined without a reason: {r:?}");
            }
        }
    }
}
