//! Honest bytes: each codec's bytes per row equal its documented formula and the byte count of
//! the peer implementation it is compared with (FAISS and turbovec layouts, as documented in
//! `codec::spec::CODECS` and the README's byte table), at odd and even dimensions; and
//! bits/dim amortises shared state over the population's rows before sampling, so it does not
//! move with `--max-rows`.

use crate::util::{gaussian_rows, latest_rows, quick_args, run_ok};
use codecbench::codec::CodecSpec;
use codecbench::data::npy::write_f32;

fn fit(spec: &str, d: usize) -> Box<dyn codecbench::codec::Codec> {
    let s: CodecSpec = spec.parse().unwrap();
    s.fit(&gaussian_rows(300, d, d as u64), 7).unwrap()
}

/// bits/dim of `spec` on `population` with `--max-rows max_rows` (and the population's
/// `source_rows` from run.json).
fn bits_per_dim(dir: &std::path::Path, population: &str, spec: &str, max_rows: &str) -> (f64, u64) {
    let out = format!("o{max_rows}");
    run_ok(
        dir,
        &quick_args(&[
            "-p",
            population,
            "-c",
            spec,
            "--max-rows",
            max_rows,
            "--out",
            &out,
        ]),
    );
    let latest = dir.join(&out).join("latest");
    let rows = latest_rows(dir, &out);
    let r = rows.iter().find(|r| r.metric == "pearson").unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(latest.join("run.json")).unwrap()).unwrap();
    let source_rows = meta["populations"][0]["provenance"]["source_rows"]
        .as_u64()
        .unwrap();
    (r.bits_per_dim, source_rows)
}

#[test]
fn bits_per_dim_does_not_move_with_the_sample_size() {
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (600, 16);
    write_f32(&dir.path().join("e.npy"), &gaussian_rows(n, d, 5)).unwrap();
    // pq: m = 8 sub-vectors of 4 bits = 4 bytes per row; 16 centroids × 16 dims × 4 bytes.
    let want = (8.0 * 4.0 + 8.0 * (4 * 16 * d) as f64 / n as f64) / d as f64;
    for population in ["e.npy", "gaussian:n=600,d=16"] {
        let (small, rows_small) = bits_per_dim(dir.path(), population, "pq", "200");
        let (large, rows_large) = bits_per_dim(dir.path(), population, "pq", "500");
        assert_eq!(
            (rows_small, rows_large),
            (n as u64, n as u64),
            "{population}"
        );
        assert_eq!(
            small.to_bits(),
            large.to_bits(),
            "{population}: {small} vs {large}"
        );
        assert!(
            (small - want).abs() < 1e-12,
            "{population}: {small} vs {want}"
        );
    }
}

/// One codec's bytes per row: ours by the documented formula, the peer's by its own layout,
/// and by how much they differ (0 = byte for byte).
struct ByteCase {
    spec: &'static str,
    ours: fn(usize) -> usize,
    peer: &'static str,
    peer_bytes: fn(usize) -> usize,
    /// ours − peer.
    diff: fn(usize) -> i64,
}

impl ByteCase {
    /// A codec whose layout is the peer's byte for byte: one formula for both.
    fn same(spec: &'static str, peer: &'static str, bytes: fn(usize) -> usize) -> ByteCase {
        ByteCase {
            spec,
            ours: bytes,
            peer,
            peer_bytes: bytes,
            diff: |_| 0,
        }
    }
}

fn c8(n: usize) -> usize {
    n.div_ceil(8)
}

/// FAISS IndexRaBitQ, 1 bit: ⌈d/8⌉ sign bits and 8 bytes of `SignBitFactors`.
fn faiss_rabitq_1(d: usize) -> usize {
    c8(d) + 8
}

/// FAISS IndexRaBitQ, nb_bits=4: ⌈d/8⌉ sign bits, 12 bytes (factors and error bound), ⌈3d/8⌉
/// ex-bits and 8 bytes of `ExtraBitsFactors`.
fn faiss_rabitq_4(d: usize) -> usize {
    c8(d) + 12 + c8(3 * d) + 8
}

/// The README's byte table, checked: FAISS layouts from faiss/impl/RaBitQuantizer.cpp
/// (`compute_code_size`: 1 bit = ⌈d/8⌉ + 8 bytes of `SignBitFactors`; B ≥ 2 adds 4 bytes of
/// error bound, ⌈(B−1)·d/8⌉ ex-bits and 8 bytes of `ExtraBitsFactors`),
/// faiss/impl/ScalarQuantizer.cpp (SQ8 d, SQ4 ⌈d/2⌉, fp16/bf16 2·d, tqmse ⌈b·d/8⌉, full TurboQuant
/// (b−1)·⌈d/8⌉ + ⌈d/8⌉ + 8), faiss/IndexPQ (⌈M·nbits/8⌉), faiss/IndexLSH (⌈nbits/8⌉); the SQtqmse
/// wrapper of `peers/peers.py` stores the 4-byte norm SQtqmse needs; turbovec (d a multiple of
/// 8) ⌈b·d/8⌉ + a 4-byte norm.
fn byte_cases() -> Vec<ByteCase> {
    vec![
        ByteCase {
            spec: "rabitq",
            ours: |d| 8 + c8(d),
            peer: "FAISS IndexRaBitQ (1 bit)",
            peer_bytes: faiss_rabitq_1,
            diff: |_| 0,
        },
        ByteCase {
            spec: "rabitq:qb=4",
            ours: |d| 8 + c8(d),
            peer: "FAISS IndexRaBitQ qb=4",
            peer_bytes: faiss_rabitq_1,
            diff: |_| 0,
        },
        ByteCase {
            spec: "rabitq:centroid=zero",
            ours: |d| 4 + c8(d),
            peer: "FAISS IndexRaBitQ (1 bit)",
            peer_bytes: faiss_rabitq_1,
            diff: |_| -4,
        },
        ByteCase {
            spec: "rabitq:dec=mse",
            ours: |d| 12 + c8(d),
            peer: "FAISS IndexRaBitQ (1 bit)",
            peer_bytes: faiss_rabitq_1,
            diff: |_| 4,
        },
        ByteCase {
            spec: "rabitq:bits=2",
            ours: |d| 8 + c8(d) + c8(d),
            peer: "FAISS IndexRaBitQ nb_bits=2",
            peer_bytes: |d| c8(d) + 12 + c8(d) + 8,
            diff: |_| -12,
        },
        ByteCase {
            spec: "rabitq:bits=4",
            ours: |d| 8 + c8(d) + c8(3 * d),
            peer: "FAISS IndexRaBitQ nb_bits=4",
            peer_bytes: faiss_rabitq_4,
            diff: |_| -12,
        },
        ByteCase {
            spec: "rabitq:bits=4,dec=mse",
            ours: |d| 12 + c8(d) + c8(3 * d),
            peer: "FAISS IndexRaBitQ nb_bits=4",
            peer_bytes: faiss_rabitq_4,
            diff: |_| -8,
        },
        ByteCase::same("exact", "FAISS IndexFlat", |d| 4 * d),
        ByteCase::same("f16", "FAISS SQfp16", |d| 2 * d),
        ByteCase::same("bf16", "FAISS SQbf16", |d| 2 * d),
        ByteCase::same("sq", "FAISS SQ8", |d| d),
        ByteCase::same("sq:bits=4", "FAISS SQ4", |d| d.div_ceil(2)),
        ByteCase {
            spec: "pq",
            ours: |d| d.div_ceil(2).div_ceil(2),
            peer: "FAISS IndexPQ PQ{d/2}x4 (and PQ{d/2}x4fs)",
            peer_bytes: |d| (4 * d.div_ceil(2)).div_ceil(8),
            diff: |_| 0,
        },
        ByteCase {
            spec: "tq-mse:bits=4",
            ours: |d| 4 + d.div_ceil(2),
            peer: "FAISS RR{d},SQtqmse4 + 4-byte norm",
            peer_bytes: |d| d.div_ceil(2) + 4,
            diff: |_| 0,
        },
        ByteCase {
            spec: "tq-mse:bits=2",
            ours: |d| 4 + c8(2 * d),
            peer: "FAISS RR{d},SQtqmse2 + 4-byte norm",
            peer_bytes: |d| c8(2 * d) + 4,
            diff: |_| 0,
        },
        ByteCase {
            spec: "tq-mse:bits=4,rot=hadamard",
            ours: |d| 4 + d.next_power_of_two() / 2,
            peer: "turbovec bit_width=4 (d a multiple of 8)",
            peer_bytes: |d| d.div_ceil(2) + 4,
            diff: |d| (d.next_power_of_two() / 2) as i64 - d.div_ceil(2) as i64,
        },
        ByteCase {
            spec: "tq-mse:bits=4,rot=fht-kac",
            ours: |d| 4 + d.div_ceil(2),
            peer: "turbovec bit_width=4 (d a multiple of 8)",
            peer_bytes: |d| d.div_ceil(2) + 4,
            diff: |_| 0,
        },
        ByteCase {
            spec: "tq-prod:bits=4",
            ours: |d| 8 + c8(3 * d) + c8(d),
            peer: "FAISS SQ full TurboQuant, 4 bits",
            peer_bytes: |d| 3 * c8(d) + c8(d) + 8,
            diff: |d| c8(3 * d) as i64 - 3 * c8(d) as i64,
        },
        ByteCase {
            spec: "int4",
            ours: |d| d.div_ceil(2) + 4 * d.div_ceil(32),
            peer: "GGML Q4_0 (blocks of 32: f16 scale + 16 bytes)",
            peer_bytes: |d| 18 * d.div_ceil(32),
            // 2 bytes per group (f32 scale, not f16), less the bytes Q4_0 pads a partial last
            // block of r < 32 values with.
            diff: |d| {
                let g = d.div_ceil(32);
                let r = d - 32 * (g - 1);
                2 * g as i64 - (16 - r.div_ceil(2)) as i64
            },
        },
        ByteCase {
            spec: "sign",
            ours: |d| 4 + c8(d),
            peer: "FAISS IndexLSH(d, d, rotate)",
            peer_bytes: c8,
            diff: |_| 4,
        },
    ]
}

#[test]
fn bytes_per_row_equal_the_formula_and_the_peer_layout() {
    for case in byte_cases() {
        for d in [50, 64, 384, 768, 7] {
            let codec = fit(case.spec, d);
            let ctx = format!("{} at d = {d} vs {}", case.spec, case.peer);
            assert_eq!(codec.code_bytes(), (case.ours)(d), "{ctx}: formula");
            let diff = codec.code_bytes() as i64 - (case.peer_bytes)(d) as i64;
            assert_eq!(diff, (case.diff)(d), "{ctx}: difference from the peer");
        }
    }
    // The README's numbers at d = 50 and 384 (bytes per row, ours vs FAISS).
    let at = |s: &str, d: usize| fit(s, d).code_bytes();
    assert_eq!((at("rabitq", 50), at("rabitq", 384)), (15, 56));
    assert_eq!(
        (at("rabitq:bits=4", 50), at("rabitq:bits=4", 384)),
        (34, 200)
    );
    assert_eq!(
        (at("rabitq:dec=mse", 50), at("rabitq:dec=mse", 384)),
        (19, 60)
    );
    assert_eq!(
        (at("tq-prod:bits=4", 50), at("tq-prod:bits=4", 384)),
        (34, 200)
    );
}

/// The default decode (`dec=ip`) is FAISS's `sa_decode`: the estimator's own scale, so it
/// needs no byte beyond the scorer's; `dec=mse` stores the least-squares scale (4 bytes) and
/// reconstructs with smaller squared error. Same seed, same codes otherwise: the estimates are
/// identical.
#[test]
fn rabitq_decode_scale_costs_four_bytes_and_buys_the_least_squares_decode() {
    let d = 50;
    let rows = gaussian_rows(400, d, 3);
    let queries = gaussian_rows(5, d, 4);
    for bits in [1, 4] {
        let ip = fit(&format!("rabitq:bits={bits}"), d);
        let mse = fit(&format!("rabitq:bits={bits},dec=mse"), d);
        assert_eq!(mse.code_bytes(), ip.code_bytes() + 4);
        let (ci, cm) = (ip.encode_all(&rows), mse.encode_all(&rows));
        for q in queries.iter() {
            let (si, sm) = (ip.scorer(q), mse.scorer(q));
            for (a, b) in ci.iter().zip(cm.iter()) {
                assert_eq!(
                    si.estimate(a).to_bits(),
                    sm.estimate(b).to_bits(),
                    "bits={bits}"
                );
            }
        }
        let err = |codec: &dyn codecbench::codec::Codec, codes: &codecbench::codec::Codes| {
            let mut out = vec![0f32; d];
            let mut e = 0f64;
            for (row, code) in rows.iter().zip(codes.iter()) {
                codec.decode(code, &mut out).unwrap();
                e += row
                    .iter()
                    .zip(&out)
                    .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
                    .sum::<f64>();
            }
            e
        };
        let (e_ip, e_mse) = (err(ip.as_ref(), &ci), err(mse.as_ref(), &cm));
        assert!(e_mse < e_ip, "bits={bits}: {e_mse} vs {e_ip}");
    }
}
