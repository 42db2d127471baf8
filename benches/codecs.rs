//! Criterion benches: encode and estimate throughput of each default codec (plus RaBitQ `qb=4`
//! and PQ `scan=fast`) at d = 384 and 768.

use codecbench::codec::CodecSpec;
use codecbench::data::synthetic::{SyntheticKind, generate};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const ROWS: usize = 2048;

fn bench_codecs(c: &mut Criterion) {
    for d in [384usize, 768] {
        let rows = generate(SyntheticKind::Gaussian, ROWS, d, 1);
        let query = generate(SyntheticKind::Gaussian, 1, d, 2);
        // The defaults plus the two scan variants that exist for speed: RaBitQ's quantized-query
        // popcount scan and PQ FastScan (its 32-row block layout is built on the first scan
        // and cached with the codes).
        let extra = ["rabitq:bits=1,qb=4", "pq:m=d/2,nbits=4,scan=fast"]
            .map(|s| s.parse::<CodecSpec>().expect("bench spec"));
        for spec in CodecSpec::defaults().into_iter().chain(extra) {
            let codec = spec.fit(&rows, 0).expect("fit");
            let mut g = c.benchmark_group(format!("encode/d{d}"));
            g.throughput(Throughput::Elements(ROWS as u64));
            g.sample_size(20);
            g.bench_function(BenchmarkId::from_parameter(spec.to_string()), |b| {
                let mut out = vec![0u8; codec.code_bytes()];
                b.iter(|| {
                    for row in rows.iter() {
                        codec.encode(black_box(row), &mut out);
                    }
                    black_box(&out);
                })
            });
            g.finish();

            let codes = codec.encode_all(&rows);
            let scorer = codec.scorer(query.row(0));
            let mut est = vec![0f64; ROWS];
            let mut g = c.benchmark_group(format!("estimate/d{d}"));
            g.throughput(Throughput::Elements(ROWS as u64));
            g.sample_size(20);
            g.bench_function(BenchmarkId::from_parameter(spec.to_string()), |b| {
                b.iter(|| {
                    scorer.estimate_all(black_box(&codes), &mut est);
                    black_box(&est);
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench_codecs);
criterion_main!(benches);
