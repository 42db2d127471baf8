//! Criterion benches of the scan kernels (fast path and scalar reference side by side), the
//! FWHT, and the blocked f64 truth kernel, at d = 384 and 768; the reliability statistics that
//! `codecbench stats` computes on wide and tall tables.

use codecbench::linalg::{bits, gemm, rotation, scan};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Codes scanned per iteration.
const CODES: usize = 1024;

fn pseudo(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn bytes(n: usize, seed: u32) -> Vec<u8> {
    pseudo(n, seed)
        .iter()
        .map(|v| ((v + 1.0) * 127.0) as u8)
        .collect()
}

fn bench_scan(c: &mut Criterion) {
    for d in [384usize, 768] {
        let q = pseudo(d, 1);
        let lut16: [f32; 16] = std::array::from_fn(|i| i as f32 * 0.1 - 0.8);
        let codes8 = bytes(CODES * d, 2);
        let packed4 = bytes(CODES * bits::packed_len(d, 4), 3);
        let signs = bytes(CODES * d.div_ceil(8), 4);
        let t8 = pseudo(256 * d.div_ceil(8), 5);
        let t4 = pseudo(16 * d / 2, 6);
        let mut g = c.benchmark_group(format!("scan/d{d}"));
        g.throughput(Throughput::Elements(CODES as u64));
        g.sample_size(20);
        let stride4 = bits::packed_len(d, 4);
        let sb = d.div_ceil(8);
        let mut run = |name: &str, f: &dyn Fn() -> f32| {
            g.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| black_box(f()))
            });
        };
        run("dot_i8", &|| {
            (0..CODES)
                .map(|i| scan::dot_i8(&q, &codes8[i * d..(i + 1) * d]))
                .sum()
        });
        run("dot_i8_scalar", &|| {
            (0..CODES)
                .map(|i| scan::dot_i8_scalar(&q, &codes8[i * d..(i + 1) * d]))
                .sum()
        });
        run("dot_u8", &|| {
            (0..CODES)
                .map(|i| scan::dot_u8(&q, &codes8[i * d..(i + 1) * d]))
                .sum()
        });
        run("dot_lut4", &|| {
            (0..CODES)
                .map(|i| scan::dot_lut(&q, &lut16, &packed4[i * stride4..(i + 1) * stride4], 4))
                .sum()
        });
        run("dot_lut4_scalar", &|| {
            (0..CODES)
                .map(|i| {
                    scan::dot_lut_scalar(&q, &lut16, &packed4[i * stride4..(i + 1) * stride4], 4)
                })
                .sum()
        });
        run("signs_lut_sum8", &|| {
            (0..CODES)
                .map(|i| scan::lut_sum8(&t8, &signs[i * sb..(i + 1) * sb], sb))
                .sum()
        });
        run("signs_lut_sum8_scalar", &|| {
            (0..CODES)
                .map(|i| scan::lut_sum8_scalar(&t8, &signs[i * sb..(i + 1) * sb], sb))
                .sum()
        });
        run("pq_lut_sum4_m=d/2", &|| {
            (0..CODES)
                .map(|i| scan::lut_sum4(&t4, &packed4[i * stride4..(i + 1) * stride4], d / 2))
                .sum()
        });
        run("pq_lut_sum4_m=d/2_scalar", &|| {
            (0..CODES)
                .map(|i| {
                    scan::lut_sum4_scalar(&t4, &packed4[i * stride4..(i + 1) * stride4], d / 2)
                })
                .sum()
        });
        g.finish();
    }
}

fn bench_fwht_and_truth(c: &mut Criterion) {
    let mut g = c.benchmark_group("fwht");
    for n in [512usize, 1024] {
        let x: Vec<f64> = pseudo(n, 7).iter().map(|&v| v as f64).collect();
        g.bench_function(BenchmarkId::new("avx2", n), |b| {
            b.iter(|| {
                let mut y = x.clone();
                rotation::fwht_normalized(&mut y);
                black_box(y)
            })
        });
        g.bench_function(BenchmarkId::new("scalar", n), |b| {
            b.iter(|| {
                let mut y = x.clone();
                rotation::fwht_scalar(&mut y);
                black_box(y)
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("truth");
    g.sample_size(10);
    for d in [384usize, 768] {
        let (nq, n) = (16, 2048);
        let q = pseudo(nq * d, 8);
        let x = pseudo(n * d, 9);
        let mut out = vec![0f64; nq * n];
        g.throughput(Throughput::Elements((nq * n) as u64));
        g.bench_function(BenchmarkId::new("blocked", d), |b| {
            b.iter(|| gemm::inner_products(&q, &x, d, &mut out))
        });
        g.bench_function(BenchmarkId::new("plain", d), |b| {
            b.iter(|| gemm::inner_products_scalar(&q, &x, d, &mut out))
        });
    }
    g.finish();
}

/// `codecbench stats`' costly step: Horn's parallel analysis (200 simulated matrices) for a wide
/// table (5 subjects × 200 items: the n × n Gram path) and a tall one (500 × 30: Bartlett's
/// Wishart draws), plus the item statistics of a 200-item covariance matrix.
fn bench_stats(c: &mut Criterion) {
    use codecbench::metric::reliability::alpha::{alpha_if_deleted, item_total};
    use codecbench::metric::reliability::factor::{ParallelOptions, parallel_analysis};
    use codecbench::metric::reliability::{Moments, SquareMatrix};
    let mut g = c.benchmark_group("stats");
    g.sample_size(10);
    for (n, k) in [(5usize, 200usize), (500, 30)] {
        let observed = vec![0.0; k];
        g.bench_function(
            BenchmarkId::new("parallel_analysis", format!("{n}x{k}")),
            |b| b.iter(|| black_box(parallel_analysis(&observed, n, ParallelOptions::default()))),
        );
    }
    let k = 200;
    let cols: Vec<Vec<f64>> = (0..k as u32)
        .map(|j| pseudo(50, j + 1).iter().map(|&v| v as f64).collect())
        .collect();
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let cov: SquareMatrix = Moments::from_columns(&refs).covariance().unwrap();
    g.bench_function(BenchmarkId::new("alpha_if_deleted_item_total", k), |b| {
        b.iter(|| black_box((alpha_if_deleted(&cov), item_total(&cov))))
    });
    g.finish();
}

criterion_group!(benches, bench_scan, bench_fwht_and_truth, bench_stats);
criterion_main!(benches);
