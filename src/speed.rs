//! `codecbench speed`: how fast each codec encodes, scans (estimates inner products against
//! codes) and decodes, on seeded Gaussian rows, with the machine's measured memory bandwidth so
//! scan throughput can be read as a fraction of the physical limit.
//!
//! Every rate is the median over `repeats` timed repetitions, with their min and max. Scan
//! throughput counts the bytes of codes read per query (`rows × code_bytes`); the codes of a
//! population may fit in the last-level cache, so a fraction above 1 of DRAM bandwidth is
//! possible and means "cache-resident", not an error. Timings are never asserted in tests.
//!
//! Parallelism: encode and decode split rows over the rayon pool; a scan splits the codes into
//! one contiguous chunk per thread and scores every chunk with the same per-query scorer.

use crate::budget::MemoryBudget;
use crate::codec::{Codec, CodecSpec, Codes};
use crate::data::Rows;
use crate::data::synthetic::{SyntheticKind, generate};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Instant;

/// Codecs `codecbench speed` measures when none are named: the set issue #8 compares with FAISS
/// (SQ8, SQ4, PQ, RaBitQ 1-bit with the float query and with the 4-bit quantized query of FAISS's
/// default `qb = 4`, TurboQuant-MSE 4-bit; `peers/speed_faiss.py`), plus the per-row int8 / int4
/// baselines.
pub const DEFAULT_CODECS: &[&str] = &[
    "int8",
    "int4",
    "sq:bits=8",
    "sq:bits=4",
    "pq",
    "rabitq:bits=1",
    "rabitq:bits=1,qb=4",
    "tq-mse:bits=4",
];
/// Dimensions measured when none are named.
pub const DEFAULT_DIMS: &[usize] = &[384, 768];
/// Rows encoded (and scanned per query) by default.
pub const DEFAULT_ROWS: usize = 20_000;
/// Timed repetitions by default.
pub const DEFAULT_REPEATS: usize = 5;
/// Queries scanned per repetition.
pub const SCAN_QUERIES: usize = 8;
/// Bytes of the bandwidth kernel's buffer by default (well beyond any last-level cache).
pub const DEFAULT_BANDWIDTH_BYTES: usize = 256 << 20;

/// What to measure.
#[derive(Debug, Clone)]
pub struct SpeedOptions {
    /// Codecs, in order.
    pub codecs: Vec<CodecSpec>,
    /// Row dimensions.
    pub dims: Vec<usize>,
    /// Rows encoded, scanned per query and decoded.
    pub rows: usize,
    /// Worker threads (None = all cores).
    pub threads: Option<usize>,
    /// Timed repetitions (median, min, max over them).
    pub repeats: usize,
    /// Seed of the synthetic rows and codec fitting.
    pub seed: u64,
    /// Bytes of the bandwidth kernel's buffer.
    pub bandwidth_bytes: usize,
    /// Progress lines on stderr.
    pub progress: bool,
    /// The most the rows (with their decoded copy), one codec fit or its codes, and the
    /// bandwidth buffers may take; checked before anything is allocated.
    pub memory_budget: MemoryBudget,
}

impl Default for SpeedOptions {
    fn default() -> Self {
        SpeedOptions {
            codecs: DEFAULT_CODECS
                .iter()
                .map(|s| s.parse().expect("default codec spec parses"))
                .collect(),
            dims: DEFAULT_DIMS.to_vec(),
            rows: DEFAULT_ROWS,
            threads: None,
            repeats: DEFAULT_REPEATS,
            seed: 42,
            bandwidth_bytes: DEFAULT_BANDWIDTH_BYTES,
            progress: true,
            memory_budget: MemoryBudget::default(),
        }
    }
}

/// Median, min and max of a rate over repetitions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stat {
    /// Median over repetitions.
    pub median: f64,
    /// Slowest repetition.
    pub min: f64,
    /// Fastest repetition.
    pub max: f64,
}

impl Stat {
    /// Summarise samples (at least one).
    pub fn of(samples: &[f64]) -> Stat {
        assert!(!samples.is_empty(), "Stat::of: no samples");
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            0.5 * (s[n / 2 - 1] + s[n / 2])
        };
        Stat {
            median,
            min: s[0],
            max: s[n - 1],
        }
    }

    fn scaled(self, k: f64) -> Stat {
        Stat {
            median: self.median * k,
            min: self.min * k,
            max: self.max * k,
        }
    }
}

/// The machine's memory bandwidth as measured by two simple kernels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bandwidth {
    /// Sum of a buffer's u64 words (bytes read per second / 1e9).
    pub read_gb_per_s: Stat,
    /// Copy of one buffer into another, counting bytes read plus bytes written (STREAM's
    /// convention) per second / 1e9.
    pub copy_gb_per_s: Stat,
    /// Buffer size in bytes.
    pub bytes: usize,
    /// Threads the kernels ran on.
    pub threads: usize,
}

/// Speed of one codec at one dimension.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpeedRow {
    /// Canonical codec spec.
    pub codec: String,
    /// Row dimension.
    pub dim: usize,
    /// Rows encoded / scanned per query / decoded.
    pub rows: usize,
    /// Threads.
    pub threads: usize,
    /// Bytes per code.
    pub code_bytes: usize,
    /// Seconds to fit the codec on the rows (one measurement).
    pub fit_s: f64,
    /// Rows encoded per second.
    pub encode_rows_per_s: Stat,
    /// Codes scored per second (per query, summed over queries).
    pub scan_codes_per_s: Stat,
    /// Gigabytes (1e9) of codes read per second while scanning.
    pub scan_gb_per_s: Stat,
    /// Median scan GB/s divided by the median read bandwidth.
    pub scan_bandwidth_fraction: f64,
    /// Rows decoded per second (`decode_all` into a fresh buffer, its allocation included);
    /// None when the codec cannot decode.
    pub decode_rows_per_s: Option<Stat>,
    /// The process's peak resident memory while this codec was fitted and measured (its rows,
    /// codes, decoded copy and fit included, with the process's own baseline): the kernel's
    /// high-water mark (`VmHWM`), reset before the codec (`/proc/self/clear_refs`) to the
    /// resident memory of that moment, which includes what the allocator kept from the codecs
    /// before it (so an upper bound, order-dependent). None where the system does not offer
    /// both (non-Linux), or the reset was refused.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
}

/// Reset the kernel's peak-resident-memory mark of this process; true when it was reset.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak resident memory (`VmHWM` of `/proc/self/status`), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Everything `codecbench speed` measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpeedReport {
    /// codecbench version.
    pub codecbench_version: String,
    /// Threads used.
    pub threads: usize,
    /// Timed repetitions per number.
    pub repeats: usize,
    /// Queries scanned per repetition.
    pub scan_queries: usize,
    /// Seed of rows and fitting.
    pub seed: u64,
    /// Measured bandwidth.
    pub bandwidth: Bandwidth,
    /// One row per codec × dimension.
    pub results: Vec<SpeedRow>,
}

/// Sum the u64 words of `buf` (four independent accumulators so it vectorises); the read
/// kernel's body.
pub fn read_kernel(buf: &[u64]) -> u64 {
    let mut acc = [0u64; 4];
    let chunks = buf.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        acc[0] = acc[0].wrapping_add(c[0]);
        acc[1] = acc[1].wrapping_add(c[1]);
        acc[2] = acc[2].wrapping_add(c[2]);
        acc[3] = acc[3].wrapping_add(c[3]);
    }
    let mut s = acc[0]
        .wrapping_add(acc[1])
        .wrapping_add(acc[2])
        .wrapping_add(acc[3]);
    for &x in rest {
        s = s.wrapping_add(x);
    }
    s
}

/// Measure read and copy bandwidth over `bytes`-sized buffers on the current rayon pool.
pub fn measure_bandwidth_in_pool(bytes: usize, repeats: usize) -> Bandwidth {
    let words = (bytes / 8).max(1024);
    let threads = rayon::current_num_threads();
    let chunk = words.div_ceil(threads);
    let src: Vec<u64> = (0..words as u64).collect();
    let mut dst = vec![0u64; words];
    // Warm up: touch both buffers once so page faults are not timed.
    dst.par_chunks_mut(chunk)
        .zip(src.par_chunks(chunk))
        .for_each(|(d, s)| d.copy_from_slice(s));
    let gb = (words * 8) as f64 / 1e9;
    let mut read = Vec::with_capacity(repeats);
    let mut copy = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let s: u64 = src
            .par_chunks(chunk)
            .map(|c| read_kernel(black_box(c)))
            .reduce(|| 0, u64::wrapping_add);
        black_box(s);
        read.push(gb / t.elapsed().as_secs_f64().max(1e-9));
        let t = Instant::now();
        dst.par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(d, s)| d.copy_from_slice(black_box(s)));
        black_box(&dst);
        copy.push(2.0 * gb / t.elapsed().as_secs_f64().max(1e-9));
    }
    Bandwidth {
        read_gb_per_s: Stat::of(&read),
        copy_gb_per_s: Stat::of(&copy),
        bytes: words * 8,
        threads,
    }
}

/// Measure bandwidth on a pool of `threads` threads (None = all cores).
pub fn measure_bandwidth(
    bytes: usize,
    repeats: usize,
    threads: Option<usize>,
) -> Result<Bandwidth> {
    Ok(crate::pool::thread_pool(threads)?.install(|| measure_bandwidth_in_pool(bytes, repeats)))
}

/// Split `codes` into `parts` contiguous chunks (copies), for a parallel scan.
fn split_codes(codes: &Codes, parts: usize) -> Vec<Codes> {
    let per = codes.len().div_ceil(parts.max(1)).max(1);
    codes
        .as_bytes()
        .chunks(per * codes.code_bytes())
        .map(|b| Codes::new(codes.code_bytes(), b.to_vec()))
        .collect()
}

fn time<F: FnMut()>(mut f: F) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64().max(1e-9)
}

/// Measure one codec on `rows` (already generated) with `queries`, on the current pool.
pub fn measure_codec(
    codec: &dyn Codec,
    fit_s: f64,
    rows: &Rows,
    queries: &Rows,
    repeats: usize,
    read_gb_per_s: f64,
) -> SpeedRow {
    let n = rows.len();
    let threads = rayon::current_num_threads();
    let repeats = repeats.max(1);
    let mut enc = Vec::with_capacity(repeats);
    let mut codes = codec.encode_all(rows); // warm-up, and the codes scanned below
    let mut chunks = split_codes(&codes, threads);
    chunks.par_iter().for_each(|c| codec.prepare_scan(c));
    for _ in 0..repeats {
        let s = time(|| codes = black_box(codec.encode_all(rows)));
        // A scan layout (PQ FastScan's blocks) is built per scanned chunk and counts as encode.
        chunks = split_codes(&codes, threads);
        let p = time(|| {
            chunks
                .par_iter()
                .for_each(|c| codec.prepare_scan(black_box(c)))
        });
        enc.push(n as f64 / (s + p));
    }
    let scorers: Vec<_> = queries.iter().map(|q| codec.scorer(q)).collect();
    let mut outs: Vec<Vec<f64>> = chunks.iter().map(|c| vec![0.0; c.len()]).collect();
    let mut scan_pass = || {
        for sc in &scorers {
            outs.par_iter_mut()
                .zip(chunks.par_iter())
                .for_each(|(o, c)| sc.estimate_all(black_box(c), o));
            black_box(&outs);
        }
    };
    scan_pass(); // warm-up
    let mut scan = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let s = time(&mut scan_pass);
        scan.push((n * scorers.len()) as f64 / s);
    }
    let scan_codes = Stat::of(&scan);
    let scan_gb = scan_codes.scaled(codec.code_bytes() as f64 / 1e9);
    let decode = codec.can_decode().then(|| {
        let mut pass = || {
            let _ = black_box(codec.decode_all(black_box(&codes)));
        };
        pass();
        let v: Vec<f64> = (0..repeats).map(|_| n as f64 / time(&mut pass)).collect();
        Stat::of(&v)
    });
    SpeedRow {
        codec: codec.spec().to_string(),
        dim: rows.dim(),
        rows: n,
        threads,
        code_bytes: codec.code_bytes(),
        fit_s,
        encode_rows_per_s: Stat::of(&enc),
        scan_codes_per_s: scan_codes,
        scan_gb_per_s: scan_gb,
        scan_bandwidth_fraction: scan_gb.median / read_gb_per_s.max(1e-12),
        decode_rows_per_s: decode,
        peak_rss_bytes: None,
    }
}

/// Everything the measurement will allocate, against the budget, before any of it is: the
/// bandwidth kernel's two buffers, each dimension's rows with their decoded copy and the scan
/// queries, and every codec's declared fit.
fn check_budget(opts: &SpeedOptions) -> Result<()> {
    let budget = &opts.memory_budget;
    let buffers = (opts.bandwidth_bytes as u64).saturating_mul(2);
    if !budget.allows(buffers) {
        return Err(Error::InvalidPlan {
            field: "--bandwidth-mib",
            reason: format!(
                "its two buffers would need {}, more than the memory budget of {budget}",
                crate::budget::size_text(buffers)
            ),
        });
    }
    for &d in &opts.dims {
        let rows = MemoryBudget::rows_bytes(opts.rows, d);
        let needed = rows
            .saturating_mul(2)
            .saturating_add(MemoryBudget::rows_bytes(SCAN_QUERIES, d));
        budget.check_rows_with(
            &format!("speed gaussian d={d}"),
            opts.rows,
            d,
            needed,
            "pass fewer --rows or a smaller --dim, or raise --memory-budget",
        )?;
        for spec in &opts.codecs {
            budget.check_fit(spec, opts.rows, d)?;
        }
    }
    Ok(())
}

/// Run the whole speed measurement.
pub fn run(opts: &SpeedOptions) -> Result<SpeedReport> {
    if opts.rows < 2 {
        return Err(Error::InvalidPlan {
            field: "--rows",
            reason: "must be at least 2".to_string(),
        });
    }
    if opts.dims.contains(&0) {
        return Err(Error::InvalidPlan {
            field: "--dim",
            reason: "must be at least 1".to_string(),
        });
    }
    check_budget(opts)?;
    let pool = crate::pool::thread_pool(opts.threads)?;
    pool.install(|| {
        let threads = rayon::current_num_threads();
        if opts.progress {
            eprintln!(
                "speed: memory bandwidth ({} MiB buffer, {threads} threads)…",
                opts.bandwidth_bytes >> 20
            );
        }
        let bandwidth = measure_bandwidth_in_pool(opts.bandwidth_bytes, opts.repeats);
        let mut results = Vec::new();
        let total = opts.dims.len() * opts.codecs.len();
        for &d in &opts.dims {
            let rows = generate(SyntheticKind::Gaussian, opts.rows, d, opts.seed);
            let queries = generate(SyntheticKind::Gaussian, SCAN_QUERIES, d, opts.seed ^ 1);
            for spec in &opts.codecs {
                if opts.progress {
                    eprintln!(
                        "speed: [{}/{total}] {spec} d={d} ({} rows)…",
                        results.len() + 1,
                        opts.rows
                    );
                }
                let reset = reset_peak_rss();
                let t = Instant::now();
                let codec = opts.memory_budget.fit(spec, &rows, opts.seed, rows.len())?;
                let fit_s = t.elapsed().as_secs_f64();
                let mut row = measure_codec(
                    codec.as_ref(),
                    fit_s,
                    &rows,
                    &queries,
                    opts.repeats,
                    bandwidth.read_gb_per_s.median,
                );
                drop(codec);
                row.peak_rss_bytes = peak_rss().filter(|_| reset);
                results.push(row);
            }
        }
        Ok(SpeedReport {
            codecbench_version: crate::results::VERSION.to_string(),
            threads,
            repeats: opts.repeats,
            scan_queries: SCAN_QUERIES,
            seed: opts.seed,
            bandwidth,
            results,
        })
    })
}

fn si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.1}")
    }
}

fn stat_cell(s: &Stat) -> String {
    format!("{} [{}–{}]", si(s.median), si(s.min), si(s.max))
}

/// The table `codecbench speed` prints: medians with [min–max] over repetitions.
pub fn render(report: &SpeedReport) -> String {
    let bw = &report.bandwidth;
    let mut s = format!(
        "memory bandwidth ({} threads, {} MiB): read {:.2} GB/s [{:.2}–{:.2}], copy {:.2} GB/s [{:.2}–{:.2}]\n",
        bw.threads,
        bw.bytes >> 20,
        bw.read_gb_per_s.median,
        bw.read_gb_per_s.min,
        bw.read_gb_per_s.max,
        bw.copy_gb_per_s.median,
        bw.copy_gb_per_s.min,
        bw.copy_gb_per_s.max,
    );
    s.push_str(&format!(
        "median [min–max] over {} repeats; scan = {} queries × rows codes per repeat\n\n",
        report.repeats, report.scan_queries
    ));
    let header = [
        "codec",
        "d",
        "B/row",
        "fit s",
        "encode rows/s",
        "scan codes/s",
        "scan GB/s",
        "of read bw",
        "decode rows/s",
        "peak RSS",
    ];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for r in &report.results {
        table.push(vec![
            r.codec.clone(),
            r.dim.to_string(),
            r.code_bytes.to_string(),
            format!("{:.3}", r.fit_s),
            stat_cell(&r.encode_rows_per_s),
            stat_cell(&r.scan_codes_per_s),
            format!(
                "{:.2} [{:.2}–{:.2}]",
                r.scan_gb_per_s.median, r.scan_gb_per_s.min, r.scan_gb_per_s.max
            ),
            format!("{:.0}%", 100.0 * r.scan_bandwidth_fraction),
            r.decode_rows_per_s
                .as_ref()
                .map_or_else(|| "—".to_string(), stat_cell),
            r.peak_rss_bytes
                .map_or_else(|| "—".to_string(), crate::budget::size_text),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &table {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                let pad = w - cell.chars().count();
                if i == 0 {
                    format!("{cell}{}", " ".repeat(pad))
                } else {
                    format!("{}{cell}", " ".repeat(pad))
                }
            })
            .collect();
        s.push_str(line.join("  ").trim_end());
        s.push('\n');
    }
    s
}
