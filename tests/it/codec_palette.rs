//! The origin's palette + leaf hybrids (`palette`): the farthest-point definition on hand-worked
//! examples, exact bytes, the I8Hybrid leaf really using its stored positions, degenerate rows,
//! spec errors; and the P9 resolution probe on a small synthetic population.

use crate::util::{decoded, gaussian_rows};
use codecbench::codec::palette::farthest_point;
use codecbench::codec::{Codec, CodecSpec, PaletteCodec, PaletteParams};
use codecbench::data::Rows;
use codecbench::data::catalog::PopulationSpec;
use codecbench::hypothesis::{self, Registry, Verdict};
use codecbench::probe::resolution::{self, LAYOUTS};
use codecbench::probe::{ProbeOptions, probe_rows};
use codecbench::results::ProbeKind;

fn params(s: &str) -> PaletteParams {
    let spec = s.parse::<CodecSpec>().unwrap();
    let CodecSpec::Palette(p) = spec else {
        panic!("{spec} is not a palette spec")
    };
    p
}

fn fit(s: &str, rows: &Rows, seed: u64) -> PaletteCodec {
    PaletteCodec::fit(&params(s), rows, seed).unwrap()
}

fn sq_err(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum()
}

/// 1-D points 0, 1, 5, −3, 4.5. Largest norm: 5 (index 2). Squared distances to 5:
/// 25, 16, 0, 64, 0.25 → next −3 (index 3). Min distances to {5, −3}: 9, 16, 0, 0, 0.25 →
/// next 1 (index 1). Then min(9, 1) = 1 for 0 and 0.25 for 4.5 → 0 (index 0), then 4.5.
#[test]
fn farthest_point_follows_the_definition_by_hand() {
    let rows = Rows::new(1, vec![0.0, 1.0, 5.0, -3.0, 4.5]);
    assert_eq!(farthest_point(&rows, 5), vec![2, 3, 1, 0, 4]);
    assert_eq!(farthest_point(&rows, 3), vec![2, 3, 1]);
    // The codec's palette is exactly these rows, in this order.
    let c = fit("palette:k=3", &rows, 0);
    assert_eq!(c.entries(), 3);
    assert_eq!(c.entry(0), &[5.0]);
    assert_eq!(c.entry(1), &[-3.0]);
    assert_eq!(c.entry(2), &[1.0]);
    // Addresses: nearest entry in L2 (4.5 → 5, 0 → 1).
    assert_eq!(c.nearest(&[4.5]), 0);
    assert_eq!(c.nearest(&[0.0]), 2);

    // Ties go to the lowest index: three unit rows tie on norm (first = row 0); from (1,0)
    // the squared distances are 0, 2, 4 → row 2; then row 1 (distance 2 to both).
    let rows = Rows::new(2, vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.0]);
    assert_eq!(farthest_point(&rows, 3), vec![0, 2, 1]);
}

/// Issue #22: fewer training rows than k are refused (as `list codecs` says), never a palette
/// of the training rows themselves that codes them exactly at ⌈log₂ k⌉ bits (it reported
/// Pearson 1.0 at 2 bytes per row for k = 4096 on 450 rows).
#[test]
fn too_few_training_rows_are_refused_and_duplicates_shrink_the_palette() {
    let rows = gaussian_rows(10, 7, 1);
    for s in [
        "palette:k=16",
        "palette:k=16,init=kmeans",
        "palette:k=11,leaf=svd",
    ] {
        let e = PaletteCodec::fit(&params(s), &rows, 0).err();
        let Some(e @ codecbench::Error::BadParam { .. }) = e else {
            panic!("{s}: {e:?}")
        };
        assert!(e.to_string().contains("the 10 training rows"), "{s}: {e}");
    }
    // k = rows fits: the palette is every row, as declared (k entries, ⌈log₂ k⌉ bits).
    let c = PaletteCodec::fit(&params("palette:k=10"), &rows, 0).unwrap();
    assert_eq!((c.entries(), c.code_bytes()), (10, 1));
    let empty = Rows::new(7, Vec::new());
    let e = PaletteCodec::fit(&params("palette:k=16"), &empty, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("at least one training row"), "{e}");

    // Five copies of one row hold one distinct row: farthest-point stops at one entry, and
    // every code decodes to the row exactly (residual 0 ⇒ every lane 0).
    // Model bytes count the one stored entry (4·1·3), plus the 8 × 3 basis and 8 scales (svd)
    // or the Hadamard seed (jl).
    let rows = Rows::new(3, [0.25f32, -1.0, 2.0].repeat(5));
    for (s, model) in [
        ("palette:k=4", 12),
        ("palette:k=4,leaf=svd", 12 + 8 * 3 * 4 + 8 * 4),
        ("palette:k=4,leaf=jl", 12 + 8),
    ] {
        let c = fit(s, &rows, 3);
        assert_eq!(c.entries(), 1, "{s}");
        assert_eq!(c.model_bytes(), model, "{s}");
        let codes = c.encode_all(&rows);
        assert_eq!(decoded(&c, codes.get(0)), vec![0.25, -1.0, 2.0], "{s}");
    }
}

/// Bytes by hand at d = 130 (Hadamard pads to p = 256, so a position takes 8 bits).
#[test]
fn code_and_model_bytes_match_hand_computed_values() {
    let rows = gaussian_rows(300, 130, 4);
    let cases: [(&str, usize, usize, usize); 7] = [
        // spec, code bits, code bytes, model bytes
        ("palette:k=16", 4, 1, 16 * 130 * 4),
        ("palette:k=256", 8, 1, 256 * 130 * 4),
        // +SlotL: 4 + 8·8 = 68 bits; basis 8·130 f32 + 8 f32 scales.
        (
            "palette:k=16,leaf=svd",
            68,
            9,
            16 * 130 * 4 + 8 * 130 * 4 + 8 * 4,
        ),
        // I8Hybrid: 4 + 16 (BF16 magnitude) + 8·(8 position + 8 value) = 148 bits; 8-byte seed.
        ("palette:k=16,leaf=jl", 148, 19, 16 * 130 * 4 + 8),
        // bf16 lanes need no magnitude; rot=none keeps p = 130 (8 position bits), no seed.
        (
            "palette:k=16,leaf=jl,lanes=2xbf16,rot=none",
            4 + 2 * (8 + 16),
            7,
            16 * 130 * 4,
        ),
        // Stacked: 6 + 2·16 + 2·8 + 2·4 + 2·2 = 66 bits.
        (
            "palette:layout=stacked",
            66,
            9,
            64 * 130 * 4 + 8 * 130 * 4 + 8 * 4,
        ),
        // Mixed-leaf: 6 + 4·16 + 4·8 = 102 bits.
        (
            "palette:layout=mixed-leaf",
            102,
            13,
            64 * 130 * 4 + 8 * 130 * 4 + 8 * 4,
        ),
    ];
    for (s, bits, bytes, model) in cases {
        let c = fit(s, &rows, 2);
        assert_eq!(c.code_bits(), bits, "{s}");
        assert_eq!(params(s).code_bits(130), bits, "{s}");
        assert_eq!(c.code_bytes(), bytes, "{s}");
        assert_eq!(c.model_bytes(), model, "{s}");
        assert_eq!(c.encode_all(&rows).code_bytes(), bytes, "{s}");
    }
}

/// Rows around 8 well-separated centres, so that the residual is what is left to code.
fn clustered(n: usize, d: usize, seed: u64) -> Rows {
    let centres = gaussian_rows(8, d, seed + 1000);
    let noise = gaussian_rows(n, d, seed);
    let mut data = Vec::with_capacity(n * d);
    for i in 0..n {
        let c = centres.row(i % 8);
        data.extend(c.iter().zip(noise.row(i)).map(|(&a, &b)| 4.0 * a + b));
    }
    Rows::new(d, data)
}

/// The I8Hybrid decode uses the positions it stores: moving them to 0..7 (what the origin's
/// decoder did, origin.md §1.12) makes the reconstruction worse than no leaf at all, while the
/// stored positions make it better.
#[test]
fn i8_hybrid_decode_uses_its_stored_positions() {
    let rows = clustered(400, 64, 5);
    let c = fit("palette:k=8,leaf=jl", &rows, 9);
    let codes = c.encode_all(&rows);
    let (mut e_palette, mut e_leaf, mut e_dropped) = (0f64, 0f64, 0f64);
    let mut moved = 0;
    for (i, x) in rows.iter().enumerate() {
        let code = codes.get(i);
        let f = c.fields(code);
        // Fields read back and write back to the same bytes.
        let mut again = vec![0u8; c.code_bytes()];
        c.write_fields(&f, &mut again);
        assert_eq!(again, code, "row {i}");
        assert_eq!(f.positions.len(), 8);
        // Positions are distinct rotated coordinates (< p = 64).
        let mut p = f.positions.clone();
        p.sort_unstable();
        p.dedup();
        assert_eq!(p.len(), 8, "row {i}: {:?}", f.positions);
        assert!(f.positions.iter().all(|&p| p < 64));

        e_palette += sq_err(x, c.entry(f.index as usize));
        e_leaf += sq_err(x, &decoded(&c, code));
        let mut dropped = f.clone();
        dropped.positions = (0..8).collect();
        moved += usize::from(dropped.positions != f.positions);
        let mut bad = vec![0u8; c.code_bytes()];
        c.write_fields(&dropped, &mut bad);
        e_dropped += sq_err(x, &decoded(&c, &bad));
    }
    assert!(moved > 390, "{moved}");
    // Expected: top-8 of 64 rotated Gaussian residual coordinates hold ≈ 40% of the residual
    // energy, so the stored leaf removes a clear fraction of the palette error; the same values
    // at the wrong coordinates add their energy instead (‖r − ŷ‖² ≈ ‖r‖² + ‖ŷ‖²). The margins
    // below (15% each way) are far from both.
    assert!(
        e_leaf < 0.85 * e_palette,
        "leaf {e_leaf} vs palette {e_palette}"
    );
    assert!(
        e_dropped > 1.15 * e_palette,
        "dropped {e_dropped} vs palette {e_palette}"
    );
}

/// Each leaf lowers the reconstruction error of the palette alone, and k-means beats the
/// farthest-point palette on its own objective (mean squared distance to the nearest entry).
#[test]
fn leaves_and_kmeans_reduce_reconstruction_error() {
    let rows = clustered(600, 48, 6);
    let err = |s: &str| {
        let c = fit(s, &rows, 1);
        let codes = c.encode_all(&rows);
        rows.iter()
            .enumerate()
            .map(|(i, x)| sq_err(x, &decoded(&c, codes.get(i))))
            .sum::<f64>()
    };
    let none = err("palette:k=16");
    let svd = err("palette:k=16,leaf=svd");
    let jl = err("palette:k=16,leaf=jl");
    let mixed = err("palette:k=16,leaf=svd,lanes=4xi16+4xi8");
    assert!(svd < 0.95 * none, "svd {svd} vs none {none}");
    assert!(jl < 0.95 * none, "jl {jl} vs none {none}");
    // Wider lanes on the same basis can only quantize more finely.
    assert!(mixed <= svd * 1.0001, "mixed {mixed} vs svd {svd}");
    let km = err("palette:k=16,init=kmeans");
    assert!(km < none, "kmeans {km} vs fp {none}");
}

/// Zero rows, constant rows and d = 1 through every leaf: finite, and the all-zero population
/// decodes to zero exactly.
#[test]
fn zero_constant_and_one_dimensional_rows() {
    let zeros = Rows::new(5, vec![0.0; 5 * 20]);
    let constant = Rows::new(7, vec![0.25; 7 * 20]);
    let one_d = Rows::new(1, (0..20).map(|i| i as f32 * 0.3 - 2.0).collect());
    for s in [
        "palette:k=2",
        "palette:k=2,leaf=svd",
        "palette:k=2,leaf=svd,lanes=2xbf16",
        "palette:k=2,leaf=jl",
        "palette:k=2,init=kmeans,leaf=jl,rot=haar",
    ] {
        for rows in [&zeros, &constant, &one_d] {
            let c = fit(s, rows, 7);
            let codes = c.encode_all(rows);
            for (i, x) in rows.iter().enumerate() {
                let y = decoded(&c, codes.get(i));
                assert!(y.iter().all(|v| v.is_finite()), "{s} row {i}");
                let est = c.scorer(x).estimate(codes.get(i));
                assert!(est.is_finite(), "{s} row {i}");
                if rows.dim() > 1 {
                    // Zero and constant populations are one distinct row: decoded exactly.
                    assert_eq!(&y[..], x, "{s} row {i}");
                }
            }
        }
    }
}

#[test]
fn specs_round_trip_and_bad_ones_are_refused() {
    let s: CodecSpec = "palette".parse().unwrap();
    assert_eq!(s.to_string(), "palette:k=256,init=fp,leaf=none");
    let s: CodecSpec = "palette:layout=wide-hip".parse().unwrap();
    assert_eq!(s.to_string(), "palette:k=1024,init=fp,leaf=svd,lanes=8xi8");
    let s: CodecSpec = "palette:k=64,leaf=jl".parse().unwrap();
    assert_eq!(
        s.to_string(),
        "palette:k=64,init=fp,leaf=jl,lanes=8xi8,rot=hadamard"
    );
    for l in &LAYOUTS {
        let text = l.spec().to_string();
        assert_eq!(text.parse::<CodecSpec>().unwrap(), l.spec(), "{text}");
    }
    for (bad, needle) in [
        ("palette:k=0", "1..=65536"),
        ("palette:k=65537", "1..=65536"),
        ("palette:init=random", "fp | kmeans"),
        ("palette:leaf=pq", "none | svd | jl"),
        ("palette:lanes=8xi8", "lanes only with leaf=svd or leaf=jl"),
        ("palette:leaf=svd,lanes=8xi3", "i16|i8|i4|i2|bf16"),
        ("palette:leaf=svd,rot=haar", "rot only with leaf=jl"),
        ("palette:layout=huge", "i8-baseline"),
        ("palette:layout=wide-hip,k=64", "layout"),
        ("palette:foo=1", "unknown parameter 'foo'"),
    ] {
        let e = bad.parse::<CodecSpec>().unwrap_err().to_string();
        assert!(e.contains(needle), "{bad}: {e}");
    }
}

/// The resolution probe on small synthetic populations: every layout's code has exactly its
/// declared bits, the baselines report their real bytes, the P9 rows carry CIs and decide
/// hypothesis P9; on a population too small for a 1024-entry palette, P9 is not testable and
/// says why.
#[test]
fn resolution_probe_measures_every_layout_at_its_declared_bits() {
    let opts = ProbeOptions {
        populations: vec![
            PopulationSpec::parse("gaussian:n=1100,d=16").unwrap(),
            PopulationSpec::parse("gaussian:n=600,d=16").unwrap(),
        ],
        queries: 24,
        resamples: 100,
        ..ProbeOptions::default()
    };
    let probed = probe_rows(ProbeKind::Resolution, &opts).unwrap();
    let md = codecbench::report::probes_and_hypotheses(&probed.rows, &probed.notes);
    let rows = probed.rows;
    assert!(md.contains("P9 — resolution"), "{md}");
    let big = "gaussian:n=1100,d=16";
    let small = "gaussian:n=600,d=16";
    let find = |pop: &str, codec: &str, metric: &str| {
        rows.iter()
            .find(|r| r.population == pop && r.codec == codec && r.metric == metric)
            .unwrap_or_else(|| panic!("no {metric} row for {pop} × {codec}"))
    };
    for l in &LAYOUTS {
        let spec = l.spec().to_string();
        let r = find(big, &spec, "resolution.code_bits");
        assert_eq!(r.value, Some(l.declared_bits as f64), "{}", l.name);
        assert_eq!(r.bytes_per_row, l.declared_bits.div_ceil(8), "{}", l.name);
        let sp = find(big, &spec, "spearman");
        assert!(
            sp.value.is_some() && sp.ci_lo.is_some() && sp.n == 24,
            "{}",
            l.name
        );
        assert!(find(big, &spec, "recon_mse").value.is_some(), "{}", l.name);
    }
    // The declared budgets are the origin's table, Stacked corrected to its lane sum (66).
    let declared: Vec<usize> = LAYOUTS[..6].iter().map(|l| l.declared_bits).collect();
    assert_eq!(declared, vec![70, 74, 102, 38, 38, 66]);
    // Baselines: pq at 8 bits per sub-vector, m = round(70/8) = 9 → 9 bytes; qjl 38 bits + norm.
    assert_eq!(find(big, "pq:m=9,nbits=8", "spearman").bytes_per_row, 9);
    assert_eq!(
        find(big, "qjl:m=38,proj=gauss", "spearman").bytes_per_row,
        4 + 5
    );
    // I8Hybrid at its real size: 6 + 16 + 8·(4 + 8) = 118 bits at d = 16.
    let hyb = resolution::i8_hybrid().to_string();
    assert_eq!(find(big, &hyb, "resolution.code_bits").value, Some(118.0));
    // P9 rows: defined with CIs on the big population, undefined with a reason on the small.
    for budget in [74, 38] {
        for which in ["spearman", "recall"] {
            let metric = format!("p9.{which}_diff@{budget}");
            let r = rows
                .iter()
                .find(|r| r.population == big && r.metric == metric)
                .unwrap();
            assert!(
                r.value.is_some() && r.ci_lo.is_some() && r.ci_hi.is_some(),
                "{metric}"
            );
            let r = rows
                .iter()
                .find(|r| r.population == small && r.metric == metric)
                .unwrap();
            assert!(r.value.is_none(), "{metric}");
            assert!(
                r.note.as_deref().unwrap_or("").contains("training rows"),
                "{:?}",
                r.note
            );
        }
    }
    let reg = Registry::builtin();
    let m = hypothesis::evaluate(&reg, &rows);
    let cell = |pop: &str| {
        m.cells
            .iter()
            .find(|c| c.id == "P9" && c.population == pop)
            .unwrap_or_else(|| panic!("no P9 cell for {pop}"))
    };
    assert!(
        !matches!(cell(big).verdict, Verdict::NotTestable(_)),
        "{:?}",
        cell(big).verdict
    );
    let Verdict::NotTestable(why) = &cell(small).verdict else {
        panic!("{:?}", cell(small).verdict)
    };
    assert!(why.contains("training rows"), "{why}");
}
