//! Headers and values that older builds accepted or misreported: a safetensors header length
//! over the reference cap, the same key twice in a safetensors or npy header (last one used to
//! win), unsupported or inconsistent dtypes whose errors did not name the tensor, f64 values
//! beyond f32's range called "non-finite (inf)", a huge header parsed with memory many times
//! its size, and a checkpoint truncated between opening and reading it (SIGBUS under a
//! memory map).

use crate::util::{quick_args, refused, run_ok};
use codecbench::data::safetensors::{self as st, Checkpoint};
use codecbench::data::{RowSelection, npy};
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A raw safetensors file: length prefix, header, `data_len` zero bytes.
fn safetensors_raw(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(vec![0u8; data_len]);
    out
}

/// A version-1.0 `.npy` with the dict `dict` (padded as numpy pads) and `data`.
fn npy_raw(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.as_bytes().to_vec();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header);
    out.extend(data);
    out
}

#[test]
fn a_safetensors_header_over_the_reference_cap_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cap.safetensors");
    let claimed: u64 = 100_000_001;
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&claimed.to_le_bytes()).unwrap();
    f.write_all(b"{").unwrap();
    // Sparse: long enough to hold the claimed header, so only the cap refuses it.
    f.set_len(8 + claimed + 64).unwrap();
    drop(f);
    let err = st::list(&path).unwrap_err().to_string();
    for part in ["cap.safetensors", "100000001", "100000000"] {
        assert!(err.contains(part), "{part}: {err}");
    }
    let err = refused(
        dir.path(),
        &quick_args(&["-c", "int8", "-p", "cap.safetensors:w"]),
    );
    assert!(err.contains("100000000"), "{err}");
}

#[test]
fn the_same_key_twice_in_a_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Both entries describe the data consistently, so a last-wins parser accepts the file.
    let path = write(
        dir.path(),
        "dup.safetensors",
        &safetensors_raw(
            r#"{"w":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]},"w":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}}"#,
            32,
        ),
    );
    for err in [
        st::list(&path).unwrap_err(),
        st::load(&path, "w", &RowSelection::All).unwrap_err(),
    ] {
        let err = err.to_string();
        assert!(
            err.contains("dup.safetensors") && err.contains("'w' appears twice"),
            "{err}"
        );
    }
    let path = write(
        dir.path(),
        "meta.safetensors",
        &safetensors_raw(
            r#"{"__metadata__":{"a":"1"},"w":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"__metadata__":{"a":"2"}}"#,
            4,
        ),
    );
    let err = st::list(&path).unwrap_err().to_string();
    assert!(err.contains("'__metadata__' appears twice"), "{err}");

    let data: Vec<u8> = (0..8).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let path = write(
        dir.path(),
        "dup.npy",
        &npy_raw(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), 'shape': (2, 4), }",
            &data,
        ),
    );
    let err = npy::load(&path, &RowSelection::All)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("dup.npy") && err.contains("'shape' appears twice"),
        "{err}"
    );
    let err = refused(dir.path(), &quick_args(&["-c", "int8", "-p", "dup.npy"]));
    assert!(err.contains("appears twice"), "{err}");
}

#[test]
fn dtype_errors_name_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    // F4 packs two elements per byte: 3 elements are not a whole number of bytes; 8 need 4
    // bytes, not 8. A valid F4 tensor is read-refused as unsupported. Each names the tensor,
    // also when another tensor of the file is the one asked for.
    let cases = [
        (
            r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"packed":{"dtype":"F4","shape":[3,1],"data_offsets":[16,18]}}"#,
            18,
            "'packed'",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"packed":{"dtype":"F4","shape":[4,2],"data_offsets":[16,24]}}"#,
            24,
            "'packed'",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"odd":{"dtype":"Q4_K","shape":[4,2],"data_offsets":[16,20]}}"#,
            20,
            "'odd'",
        ),
    ];
    for (i, (header, len, tensor)) in cases.into_iter().enumerate() {
        let name = format!("bad{i}.safetensors");
        let path = write(dir.path(), &name, &safetensors_raw(header, len));
        for asked in ["a", &tensor[1..tensor.len() - 1]] {
            let err = st::load(&path, asked, &RowSelection::All)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&name) && err.contains(tensor),
                "{asked}: {err}"
            );
        }
    }
    let path = write(
        dir.path(),
        "f4.safetensors",
        &safetensors_raw(
            r#"{"packed":{"dtype":"F4","shape":[4,2],"data_offsets":[0,4]}}"#,
            4,
        ),
    );
    let err = st::load(&path, "packed", &RowSelection::All)
        .unwrap_err()
        .to_string();
    assert!(err.contains("'packed'") && err.contains("F4"), "{err}");
}

#[test]
fn an_f64_value_beyond_f32_is_called_an_overflow_not_inf() {
    let dir = tempfile::tempdir().unwrap();
    let mut values: Vec<f64> = (0..50 * 8).map(|i| (i % 13) as f64 - 6.0).collect();
    values[7 * 8 + 3] = 1e300;
    values[9 * 8 + 1] = -1e39;
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write(
        dir.path(),
        "wide.npy",
        &npy_raw(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (50, 8), }",
            &data,
        ),
    );
    let err = refused(dir.path(), &quick_args(&["-c", "int8", "-p", "wide.npy"]));
    assert!(
        err.contains("wide.npy")
            && err.contains("1e300")
            && err.contains("row 7, column 3")
            && err.contains("overflows f32"),
        "{err}"
    );
    assert!(!err.contains("non-finite"), "{err}");
    // A real inf is still called non-finite.
    values[7 * 8 + 3] = f64::INFINITY;
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write(
        dir.path(),
        "inf.npy",
        &npy_raw(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (50, 8), }",
            &data,
        ),
    );
    let err = refused(dir.path(), &quick_args(&["-c", "int8", "-p", "inf.npy"]));
    assert!(err.contains("non-finite value (inf)"), "{err}");
    // Skipping drops the overflowing rows like non-finite ones.
    run_ok(
        dir.path(),
        &quick_args(&[
            "--no-progress",
            "-c",
            "int8",
            "-p",
            "wide.npy",
            "--nonfinite",
            "skip",
            "--k",
            "5",
            "--out",
            "o",
        ]),
    );
}

/// Peak RSS of the child `pid` (Linux reports KiB), reaping it.
#[cfg(target_os = "linux")]
fn wait_rss(child: std::process::Child) -> (i32, u64) {
    let mut status = 0;
    // SAFETY: wait4 writes only into the two out-parameters we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(rc, pid);
    (status, ru.ru_maxrss as u64 * 1024)
}

#[cfg(target_os = "linux")]
#[test]
fn a_big_header_is_parsed_in_memory_near_its_size() {
    // 600,000 tensors in a 45 MB header (under the cap). Parsed into a JSON tree and then
    // again by the safetensors crate it took 18× its size; read once into compact entries, 4×.
    let dir = tempfile::tempdir().unwrap();
    let n = 600_000usize;
    let mut header = String::with_capacity(n * 80);
    // Tensor 0 holds 300 rows to run on; the others are 2 × 2.
    let first = 300 * 4 * 4;
    header.push_str(&format!(
        r#"{{"t0000000":{{"dtype":"F32","shape":[300,4],"data_offsets":[0,{first}]}}"#
    ));
    for i in 1..n {
        let at = first + (i - 1) * 16;
        header.push_str(&format!(
            r#","t{i:07}":{{"dtype":"F32","shape":[2,2],"data_offsets":[{at},{}]}}"#,
            at + 16
        ));
    }
    header.push('}');
    let data_len = (first + (n - 1) * 16) as u64;
    let path = dir.path().join("many.safetensors");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    let rows: Vec<u8> = (0..1200)
        .flat_map(|i| (((i * 37) % 101) as f32 - 50.0).to_le_bytes())
        .collect();
    f.write_all(&rows).unwrap();
    f.set_len(8 + header.len() as u64 + data_len).unwrap();
    drop(f);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args(quick_args(&[
            "--no-progress",
            "-c",
            "int8",
            "--k",
            "5",
            "--out",
            "o",
            "-p",
            "many.safetensors:t0000000",
        ]))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (status, peak) = wait_rss(child);
    assert_eq!(status, 0, "the run failed");
    let limit = 8 * header.len() as u64;
    assert!(
        peak < limit,
        "peak RSS {} MB for a {} MB header",
        peak >> 20,
        header.len() >> 20
    );
}

#[test]
fn a_checkpoint_truncated_after_opening_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, cols) = (4096usize, 64usize);
    let header = format!(
        r#"{{"w":{{"dtype":"F32","shape":[{rows},{cols}],"data_offsets":[0,{}]}}}}"#,
        rows * cols * 4
    );
    let path = write(
        dir.path(),
        "cut.safetensors",
        &safetensors_raw(&header, rows * cols * 4),
    );
    let checkpoint = Checkpoint::open(&path).unwrap();
    // Another program truncates the file between our opening and reading it.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let err = checkpoint.tensor_f32("w").unwrap_err().to_string();
    assert!(
        err.contains("cut.safetensors") && err.contains("changed while it was read"),
        "{err}"
    );
    // Opened afresh, the header's claim is checked against the file: refused up front.
    let err = st::load(&path, "w", &RowSelection::All)
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated"), "{err}");
}
