//! The codec contract, table-driven over every registered codec × dims {1, 7, 65, 130} × 2
//! seeds: code length, determinism, zero and constant rows, decode-consistent estimates, spec
//! round trip, identity, randomised fits and every fit against its declaration (what a codec may
//! do differently is a capability it declares, not an exception listed here). Cross-codec
//! properties: distortion falls as bits rise along each trained baseline's ladder, and
//! degenerate training sets give finite outputs or typed errors. Each codec's closed-form
//! bounds are in its own `codec_*` file.

use crate::util::{anisotropic, dot, fit, gaussian_rows, mse, norm};
use codecbench::codec::cascade::FisherZ;
use codecbench::codec::spec::CODECS;
use codecbench::codec::{CodecSpec, RandomFit, ZeroRow};
use codecbench::data::Rows;

const DIMS: [usize; 4] = [1, 7, 65, 130];
const SEEDS: [u64; 2] = [1, 2];

pub(crate) fn specs() -> Vec<CodecSpec> {
    let mut v = CodecSpec::defaults();
    for spec in CodecSpec::rotation_defaults() {
        if !v.contains(&spec) {
            v.push(spec);
        }
    }
    for s in [
        "int4:group=row",
        "int4:group=7",
        "int4:group=1",
        // Rotation family: every codec, every rotation kind, edge parameters.
        "tq-mse:bits=1",
        "tq-mse:bits=4,rot=hadamard",
        "tq-mse:bits=2,rot=none",
        "tq-mse:bits=3,rot=fht-kac",
        "tq-mse:bits=8",
        "tq-prod:bits=1",
        "tq-prod:bits=3,rot=hadamard",
        "tq-prod:bits=2,rot=none",
        "qjl",
        "qjl:m=100,proj=orth",
        "qjl:m=3,proj=gauss",
        "polar",
        "polar:levels=2,bits1=3,bits2=3,rot=hadamard",
        "polar:levels=1,bits1=2,bits2=1,rot=none",
        "polar:rot=fht-kac",
        "rabitq",
        "rabitq:bits=4,enc=optimal",
        "rabitq:bits=3,centroid=zero,rot=hadamard",
        "rabitq:bits=9,rot=none",
        "rabitq:qb=4",
        "rabitq:qb=1,qround=random,centroid=zero,rot=hadamard",
        "rabitq:bits=2,dec=mse",
        "rabitq:qb=4,rot=fht-kac",
        "rabitq:bits=3,rot=fht-kac",
        "rabitq:dec=mse,centroid=zero,rot=hadamard",
        "sign",
        "sign:rot=none",
        "sign:rot=hadamard",
        "sign:rot=fht-kac",
        // Trained baselines and the origin's families (codec_baselines.rs, codec_origin.rs).
        "sq:bits=8",
        "sq:bits=4",
        "sq:bits=3,clip=0.99",
        "pq",
        "pq:m=1,nbits=5",
        "itq",
        "itq:bits=1",
        "fp8",
        "fp8:scale=none",
        "base17",
        "base17:scale=row,score=cos",
        "spiral",
        "spiral:k=2,stride=1,start=1,mode=subset",
        "spiral:k=1,mode=jl",
        // The origin's palette + leaf hybrids (palette.rs): HhtlF32, +SlotL, I8Hybrid, P9.
        "palette:k=16",
        "palette:k=8,init=kmeans",
        "palette:k=16,leaf=svd",
        "palette:k=4,leaf=svd,lanes=2xi16+2xi8+2xi4+2xi2",
        "palette:k=8,init=kmeans,leaf=svd,lanes=2xbf16",
        "palette:k=16,leaf=jl",
        "palette:k=5,init=kmeans,leaf=jl,lanes=4xi16+4xi8,rot=haar",
        "palette:k=3,leaf=jl,lanes=2xbf16,rot=none",
        // The origin's cascade, Matryoshka bands and PolarQuantGain (codec_cascade.rs).
        "cascade",
        "cascade:k=5,fit=fps,norm=bf16",
        "matryoshka",
        "matryoshka:profile=i16x*",
        "matryoshka:profile=aggressive",
        "matryoshka:profile=i8x3+i0x2+i2x*",
        "gain-shape",
        "gain-shape:shape=bf16,rot=none",
        "gain-shape:shape=i2,rot=hadamard",
    ]
    .into_iter()
    // Every registered codec at its defaults, so a new codec is covered by its registry line.
    .chain(CODECS.iter().map(|c| c.name))
    {
        let spec: CodecSpec = s.parse().unwrap();
        if !v.contains(&spec) {
            v.push(spec);
        }
    }
    v
}

// What a codec may do differently is declared with it (`CodecSpec::capabilities`), not listed
// here: whether its estimate is ⟨q, decode(code)⟩ (RaBitQ's estimator rescales by 1/⟨ō,o⟩ and
// adds the exact ⟨x − c, c⟩ only in the estimate), and what its zero row decodes to (exactly
// zero; near, or orthogonal to, the centre it subtracts; or the nearest training-derived point,
// not zero by design).

/// Gaussian rows plus an all-zero row, a constant row and a row with one huge coordinate.
pub(crate) fn contract_rows(d: usize, seed: u64) -> Rows {
    contract_rows_n(40, d, seed)
}

/// [`contract_rows`] with enough Gaussian rows in front for `spec`'s declared minimum of
/// training rows (a k-entry palette needs k), the three special rows still last.
fn training_rows(spec: &CodecSpec, d: usize, seed: u64) -> Rows {
    let min = spec.capabilities().min_train_rows;
    contract_rows_n(min.saturating_sub(3).max(40), d, seed)
}

fn contract_rows_n(gaussian: usize, d: usize, seed: u64) -> Rows {
    let mut rows = gaussian_rows(gaussian, d, seed);
    rows.push(&vec![0.0; d]);
    rows.push(&vec![0.25; d]);
    let mut spike = vec![1e-3; d];
    spike[d / 2] = 300.0;
    rows.push(&spike);
    rows
}

fn abs_dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 * y as f64).abs())
        .sum()
}

#[test]
fn every_codec_keeps_the_contract() {
    for spec in specs() {
        for d in DIMS {
            for seed in SEEDS {
                let rows = training_rows(&spec, d, seed);
                let codec = spec.fit(&rows, seed).unwrap();
                let ctx = format!("{spec} d={d} seed={seed}");
                let caps = spec.capabilities();
                assert_eq!(codec.dim(), d, "{ctx}");
                assert_eq!(codec.spec(), spec, "{ctx}: codec reports its spec");
                assert_eq!(
                    codec.can_decode(),
                    spec.decodes(),
                    "{ctx}: CodecSpec::decodes agrees with the fitted codec"
                );

                // Code length equals code_bytes.
                let codes = codec.encode_all(&rows);
                assert_eq!(codes.code_bytes(), codec.code_bytes(), "{ctx}");
                assert_eq!(
                    codes.as_bytes().len(),
                    rows.len() * codec.code_bytes(),
                    "{ctx}"
                );

                // Same seed ⇒ same codes (a second fit, encoded row by row, not in parallel).
                let again = spec.fit(&rows, seed).unwrap();
                for (i, row) in rows.iter().enumerate() {
                    let mut buf = vec![0u8; again.code_bytes()];
                    again.encode(row, &mut buf);
                    assert_eq!(buf, codes.get(i), "{ctx}: row {i} encodes the same twice");
                }

                // Five queries: enough for the rotation codecs' blocked query path (≥ 4 rows).
                let queries = gaussian_rows(5, d, seed + 100);
                for (i, row) in rows.iter().enumerate() {
                    let code = codes.get(i);
                    for q in queries.iter().chain(std::iter::once(row)) {
                        let est = codec.scorer(q).estimate(code);
                        assert!(est.is_finite(), "{ctx}: row {i}: estimate {est}");
                        if codec.can_decode() && caps.estimate_is_decoded_dot {
                            let mut xhat = vec![0f32; d];
                            codec.decode(code, &mut xhat).unwrap();
                            assert!(xhat.iter().all(|v| v.is_finite()), "{ctx}: row {i}");
                            // Decode-based estimate ≈ estimate. Both use the same quantized
                            // values; the decoded f32 values differ from the scorer's f64
                            // products by one f32 rounding each (relative 2^-24 ≈ 6e-8), so
                            // |diff| ≤ 6e-8·Σ|q_i x̂_i|; 1e-6 leaves a 16× margin. Scorers on
                            // the f32 scan kernels (linalg::scan) add at most (p + 8)·2^-24·S,
                            // S a bound on the Σ|terms| they sum over p ≤ 2d (rotated)
                            // coordinates: Σ|q_i x̂_i|, or ‖q‖·‖x̂‖ by Cauchy–Schwarz in the
                            // rotated basis, with ‖ν·c‖ ≤ 2·max(‖x̂‖, ‖row‖) for the padded codes.
                            let via_decode = dot(q, &xhat);
                            let s = abs_dot(q, &xhat) + 2.0 * norm(q) * norm(&xhat).max(norm(row));
                            let tol = 1e-6 * abs_dot(q, &xhat)
                                + (2 * d + 8) as f64 * f64::powi(2.0, -24) * s
                                + 1e-30;
                            assert!(
                                (est - via_decode).abs() <= tol,
                                "{ctx}: row {i}: estimate {est} vs decode {via_decode}"
                            );
                        }
                    }
                    if codec.can_pair() && codec.can_decode() {
                        let j = (i + 1) % rows.len();
                        let p = codec.pair(code, codes.get(j)).unwrap();
                        let (mut a, mut b) = (vec![0f32; d], vec![0f32; d]);
                        codec.decode(code, &mut a).unwrap();
                        codec.decode(codes.get(j), &mut b).unwrap();
                        let tol = 1e-6 * abs_dot(&a, &b) + 1e-30;
                        assert!((p - dot(&a, &b)).abs() <= tol, "{ctx}: pair {i},{j}");
                    }
                }
                // Every decode is finite (checked above only for decode-based estimators).
                if codec.can_decode() {
                    for i in 0..rows.len() {
                        let mut xhat = vec![0f32; d];
                        codec.decode(codes.get(i), &mut xhat).unwrap();
                        assert!(xhat.iter().all(|v| v.is_finite()), "{ctx}: row {i}");
                    }
                }
                // The batch paths equal the one-at-a-time ones bit for bit: decode_all,
                // scorers (queries prepared as one block) and pair_all.
                let all_codes: Vec<usize> = (0..codes.len()).collect();
                assert_batches_equal_one_at_a_time(
                    &ctx,
                    codec.as_ref(),
                    &codes,
                    &queries,
                    1,
                    &all_codes,
                );
                if codec.can_pair() {
                    let mut out = vec![0f64; codes.len()];
                    for i in [0, 1, rows.len() - 1] {
                        codec.pair_all(codes.get(i), &codes, &mut out).unwrap();
                        for (j, &o) in out.iter().enumerate() {
                            let p = codec.pair(codes.get(i), codes.get(j)).unwrap();
                            assert_eq!(o.to_bits(), p.to_bits(), "{ctx}: pair_all {i},{j}");
                        }
                    }
                }
                // Zero row decodes to zero for every reconstruction codec.
                if codec.can_decode() && caps.zero_row != ZeroRow::Trained {
                    let zero = rows.len() - 3;
                    let mut xhat = vec![1f32; d];
                    codec.decode(codes.get(zero), &mut xhat).unwrap();
                    if caps.zero_row == ZeroRow::Zero {
                        assert!(xhat.iter().all(|&v| v == 0.0), "{ctx}: zero row");
                    } else {
                        let mut c = vec![0f64; d];
                        for row in rows.iter() {
                            for (ci, &v) in c.iter_mut().zip(row) {
                                *ci += v as f64 / rows.len() as f64;
                            }
                        }
                        let mean_norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
                        let n = xhat
                            .iter()
                            .map(|&v| v as f64 * v as f64)
                            .sum::<f64>()
                            .sqrt();
                        // Up to the f32 rounding of c and of the scales (1e-5 relative).
                        if caps.zero_row == ZeroRow::OrthogonalToCentre {
                            let along: f64 = xhat.iter().zip(&c).map(|(&v, c)| v as f64 * c).sum();
                            let tol = 1e-5 * mean_norm * (mean_norm + n) + 1e-30;
                            assert!(along.abs() <= tol, "{ctx}: zero row ⟨x̂, c⟩ = {along}");
                        } else {
                            assert!(n <= mean_norm * (1.0 + 1e-5) + 1e-30, "{ctx}: zero row {n}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn canonical_specs_round_trip() {
    for spec in specs() {
        let text = spec.to_string();
        let back: CodecSpec = text.parse().unwrap();
        assert_eq!(back, spec, "{text}");
        assert_eq!(back.to_string(), text);
    }
    // Non-canonical spellings print canonically.
    let s: CodecSpec = " int4 : group = 64 ".parse().unwrap();
    assert_eq!(s.to_string(), "int4:group=64");
    let s: CodecSpec = "int4".parse().unwrap();
    assert_eq!(s.to_string(), "int4:group=32");
}

#[test]
fn bad_specs_are_refused_with_the_valid_choices() {
    let e = "int9".parse::<CodecSpec>().unwrap_err().to_string();
    assert!(
        e.contains("unknown codec 'int9'") && e.contains("int8"),
        "{e}"
    );
    let e = "int4:bits=3".parse::<CodecSpec>().unwrap_err().to_string();
    assert!(
        e.contains("unknown parameter 'bits'") && e.contains("group"),
        "{e}"
    );
    let e = "int8:group=3".parse::<CodecSpec>().unwrap_err().to_string();
    assert!(
        e.contains("unknown parameter 'group'") && e.contains("(none)"),
        "{e}"
    );
    let e = "int4:group=0".parse::<CodecSpec>().unwrap_err().to_string();
    assert!(e.contains("group=0") && e.contains("integer ≥ 1"), "{e}");
    let e = "int4:group".parse::<CodecSpec>().unwrap_err().to_string();
    assert!(e.contains("key=value"), "{e}");
    let e = "int4:group=8,group=16"
        .parse::<CodecSpec>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most once"), "{e}");
}

#[test]
fn random_fit_is_declared_truthfully() {
    // A codec whose fit draws from its seed (`CodecSpec::random_fit`) gets `--replicates`
    // draws per cell; one that does not runs once. Check the declaration against fits with two
    // seeds: a deterministic codec's codes are identical, a random codec's differ (at d = 65
    // a rotation, sketch or k-means start that ignored its seed would be caught; one that used
    // it changes some code bit with probability ≈ 1). The codes are of rows the fit did not see
    // (a palette holding every training row codes its own rows with a zero residual), and
    // codecs that sample their training rows only above a cap are fitted above it.
    let d = 65;
    let small = contract_rows(d, 7);
    let big = |n: usize| gaussian_rows(n, d, 9);
    let encoded = contract_rows(d, 8);
    let mut wrong = Vec::new();
    for spec in specs() {
        let same = |train: &Rows| {
            let codes = |seed: u64| {
                let c = spec.fit(train, seed).unwrap();
                c.encode_all(&encoded).as_bytes().to_vec()
            };
            codes(11) == codes(12)
        };
        let mut check = |train: &Rows, declared: bool| {
            let same = same(train);
            if same == declared {
                wrong.push(format!(
                    "{spec} on {} rows: declared {} but fits with two seeds give {} codes",
                    train.len(),
                    if declared { "random" } else { "deterministic" },
                    if same { "identical" } else { "different" }
                ));
            }
        };
        // Below every sampling cap: `random_fit_on(rows)`. A palette gets more training rows
        // than entries (with k ≥ rows it holds every training row and its leaf sees only
        // zero residuals).
        let caps = spec.capabilities();
        let train = if caps.palette_of_rows {
            big(600)
        } else {
            small.clone()
        };
        check(&train, spec.random_fit_on(train.len()));
        // Above the caps, where `random_fit()` (any row count) must hold.
        if let RandomFit::AboveRows(cap) = caps.random_fit {
            check(&big(cap + 104), spec.random_fit());
        } else {
            assert_eq!(spec.random_fit(), spec.random_fit_on(train.len()), "{spec}");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A codec is declared once: what its spec declares (grade, family, capabilities) is what every
/// fit reports and does.
#[test]
fn fitted_codecs_do_what_their_declaration_says() {
    let mut names: Vec<&str> = CODECS.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CODECS.len(), "codec names are unique");
    for info in CODECS {
        let spec: CodecSpec = info.name.parse().unwrap();
        assert_eq!(spec.name(), info.name);
        assert_eq!(spec.family(), info.family, "{spec}");
        assert_eq!(
            spec.grade(),
            info.grade,
            "{spec}: the default grade is the listed one"
        );
    }
    for spec in specs() {
        let rows = training_rows(&spec, 7, 3);
        let codec = spec.fit(&rows, 1).unwrap();
        let caps = spec.capabilities();
        let ctx = spec.to_string();
        // The declared minimum of training rows is the fit's own: one row fewer is refused
        // with a typed error, the minimum itself fits.
        let min = caps.min_train_rows;
        if min > 0 {
            let fewer = Rows::new(7, rows.as_slice()[..(min - 1) * 7].to_vec());
            let e = spec.fit(&fewer, 1).err();
            assert!(
                matches!(e, Some(codecbench::Error::BadParam { .. })),
                "{ctx}: {} rows of a declared minimum {min}: {e:?}",
                min - 1
            );
            let exact = Rows::new(7, rows.as_slice()[..min * 7].to_vec());
            assert!(spec.fit(&exact, 1).is_ok(), "{ctx}: {min} rows");
        }
        assert_eq!(codec.grade(), spec.grade(), "{ctx}");
        assert_eq!(codec.family(), spec.family(), "{ctx}");
        assert_eq!(codec.can_decode(), caps.decodes, "{ctx}");
        assert_eq!(codec.can_pair(), caps.pairs, "{ctx}");
        assert_eq!(
            codec.pair_is_decoded_dot(),
            caps.pair_is_decoded_dot,
            "{ctx}"
        );
        assert!(caps.pairs || !caps.pair_is_decoded_dot, "{ctx}");
        let codes = codec.encode_all(&rows);
        let mut x = vec![0f32; 7];
        assert_eq!(
            codec.decode(codes.get(0), &mut x).is_ok(),
            caps.decodes,
            "{ctx}"
        );
        for i in 0..rows.len() {
            let (a, b) = (codes.get(i), codes.get((i + 1) % rows.len()));
            let p = codec.pair(a, b);
            assert_eq!(p.is_ok(), caps.pairs, "{ctx}");
            if caps.pair_is_decoded_dot {
                let (mut xa, mut xb) = (vec![0f32; 7], vec![0f32; 7]);
                codec.decode(a, &mut xa).unwrap();
                codec.decode(b, &mut xb).unwrap();
                assert_eq!(p.unwrap(), dot(&xa, &xb), "{ctx}: pair is the decoded dot");
            }
        }
    }
}

#[test]
fn codec_identity_ignores_defaults_and_parameter_order() {
    let id = |s: &str| s.parse::<CodecSpec>().unwrap().identity();
    assert_eq!(id("tq-mse"), "tq-mse");
    assert_eq!(id("tq-mse:bits=2,rot=haar"), "tq-mse");
    assert_eq!(id("tq-mse:rot=haar,bits=4"), "tq-mse:bits=4");
    assert_eq!(
        id("tq-mse:bits=4,rot=hadamard"),
        "tq-mse:bits=4,rot=hadamard"
    );
    assert_eq!(id("int8"), "int8");
    assert_eq!(id("pq:nbits=8,m=4"), id("pq:m=4,nbits=8"));
    assert_ne!(id("rabitq:bits=2"), id("rabitq:bits=1"));
    // A codec named without parameters has its bare name as identity: every declared default
    // prints as the value `Display` writes (else the identity would list it).
    for info in codecbench::codec::spec::CODECS {
        assert_eq!(id(info.name), info.name, "{}", info.name);
    }
    // Every default codec's identity parses back to the same codec.
    for spec in CodecSpec::defaults() {
        let back: CodecSpec = spec.identity().parse().unwrap();
        assert_eq!(back, spec, "{}", spec.identity());
    }
}

#[test]
fn distortion_falls_as_bits_rise() {
    let rows = anisotropic(1500, 16, 31);
    let test = anisotropic(300, 16, 32);
    let ladder = |specs: &[&str]| -> Vec<f64> {
        specs
            .iter()
            .map(|s| mse(fit(s, &rows, 3).as_ref(), &test))
            .collect()
    };
    for specs in [
        &["sq:bits=2", "sq:bits=4", "sq:bits=8"][..],
        &["pq:m=4,nbits=2", "pq:m=4,nbits=4", "pq:m=4,nbits=8"][..],
        &["pq:m=2,nbits=6", "pq:m=4,nbits=6", "pq:m=8,nbits=6"][..],
        &["itq:bits=2", "itq:bits=8", "itq:bits=16"][..],
        &["fp8:scale=row", "bf16", "exact"][..],
    ] {
        let m = ladder(specs);
        for w in m.windows(2) {
            assert!(w[1] < w[0], "{specs:?}: {m:?}");
        }
    }
}

#[test]
fn degenerate_rows_give_finite_outputs_or_clear_errors() {
    for d in [1usize, 2, 3, 17] {
        // All-zero and constant training sets (every row identical).
        for base in [vec![0.0f32; d], vec![0.5; d]] {
            let rows = Rows::new(d, base.iter().cycle().take(5 * d).copied().collect());
            for s in [
                "cascade",
                "cascade:fit=fps,norm=bf16",
                "matryoshka",
                "matryoshka:profile=aggressive",
                "gain-shape:shape=i2",
                "gain-shape:shape=bf16,rot=hadamard",
            ] {
                let c = fit(s, &rows, 1);
                let codes = c.encode_all(&rows);
                let q = vec![0.25f32; d];
                for i in 0..rows.len() {
                    let e = c.scorer(&q).estimate(codes.get(i));
                    assert!(e.is_finite(), "{s} d={d}");
                    if c.can_pair() {
                        assert!(c.pair(codes.get(i), codes.get(0)).unwrap().is_finite());
                    }
                    if c.can_decode() {
                        let mut x = vec![0f32; d];
                        c.decode(codes.get(i), &mut x).unwrap();
                        assert!(x.iter().all(|v| v.is_finite()), "{s} d={d}");
                    }
                }
            }
        }
    }
    // Huge finite rows: the norm overflows f32/bf16 and is clamped, never infinite.
    let rows = Rows::new(4, vec![3.0e38; 8]);
    for s in ["gain-shape", "matryoshka", "cascade:norm=bf16"] {
        let c = fit(s, &rows, 1);
        let codes = c.encode_all(&rows);
        let e = c.scorer(&[1.0, 0.0, 0.0, 0.0]).estimate(codes.get(0));
        assert!(e.is_finite(), "{s}: {e}");
    }
    // Bad parameters are typed errors with the valid values.
    for (s, want) in [
        ("cascade:k=0", "1..=256"),
        ("cascade:k=257", "1..=256"),
        ("cascade:fit=tree", "kmeans | fps"),
        ("gain-shape:shape=i1", "bf16 | i2 .. i8"),
        ("gain-shape:shape=i9", "bf16 | i2 .. i8"),
        ("gain-shape:rot=dct", "haar"),
    ] {
        let e = s.parse::<CodecSpec>().unwrap_err().to_string();
        assert!(e.contains(want), "{s}: {e}");
    }
    let fz = FisherZ::calibrate([0.5]);
    assert_eq!(fz.z_range, 0.0);
    assert_eq!(fz.encode(0.9), 0);
}

#[test]
fn block_paths_equal_row_by_row_across_block_boundaries() {
    // 300 rows: more than one 256-row block of encode_blocks / decode_blocks / map_rows, with
    // a partial last block; d = 37 (odd, not a multiple of 4 or 8); Haar and Hadamard.
    let d = 37;
    let rows = gaussian_rows(300, d, 5);
    for s in [
        "tq-mse:bits=3",
        "tq-mse:bits=2,rot=hadamard",
        "tq-prod:bits=3",
        "qjl",
        "qjl:m=100",
        "rabitq:bits=2",
        "rabitq:bits=1,qb=4",
        "sign",
        "polar",
        "gain-shape:shape=bf16,rot=hadamard",
        "gain-shape",
        "sq:bits=4",
        "pq:m=4,nbits=4",
    ] {
        let spec: CodecSpec = s.parse().unwrap();
        let codec = spec.fit(&rows, 3).unwrap();
        let codes = codec.encode_all(&rows);
        let mut one = vec![0u8; codec.code_bytes()];
        for (i, row) in rows.iter().enumerate() {
            codec.encode(row, &mut one);
            assert_eq!(one, codes.get(i), "{s}: row {i}");
        }
        // Queries as a block of 300 (two map_rows blocks), every 7th scored against a few codes.
        assert_batches_equal_one_at_a_time(s, codec.as_ref(), &codes, &rows, 7, &[0, 1, 150, 299]);
    }
}

/// `decode_all` equals `decode` code by code, and `scorers(queries)` equals `scorer` query by
/// query and `estimate_all` equals `estimate` code by code (every `step`-th query, against the
/// codes `probe`), bit for bit.
fn assert_batches_equal_one_at_a_time(
    ctx: &str,
    codec: &dyn codecbench::codec::Codec,
    codes: &codecbench::codec::Codes,
    queries: &Rows,
    step: usize,
    probe: &[usize],
) {
    let d = codec.dim();
    if codec.can_decode() {
        let all = codec.decode_all(codes).unwrap();
        assert_eq!(all.len(), codes.len() * d, "{ctx}");
        let mut x = vec![0f32; d];
        for i in 0..codes.len() {
            codec.decode(codes.get(i), &mut x).unwrap();
            let same = x
                .iter()
                .zip(&all[i * d..(i + 1) * d])
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{ctx}: decode_all row {i}");
        }
    }
    let scorers = codec.scorers(queries);
    assert_eq!(scorers.len(), queries.len(), "{ctx}");
    let mut all = vec![0f64; codes.len()];
    for (q, batch) in queries.iter().zip(&scorers).step_by(step) {
        let one = codec.scorer(q);
        for &j in probe {
            let (a, b) = (one.estimate(codes.get(j)), batch.estimate(codes.get(j)));
            assert_eq!(a.to_bits(), b.to_bits(), "{ctx}: scorers, row {j}");
        }
        // estimate_all (the scan over every code, grouped or blocked in some codecs) equals
        // estimate code by code.
        batch.estimate_all(codes, &mut all);
        for &j in probe {
            let a = one.estimate(codes.get(j));
            assert_eq!(
                a.to_bits(),
                all[j].to_bits(),
                "{ctx}: estimate_all, row {j}"
            );
        }
    }
}
