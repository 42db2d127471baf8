//! The memory budget (issue #22): every codec's declared fit bytes hold against what its fits
//! really allocate.

use crate::alloc_meter::peak_bytes;
use crate::codec_contract::specs;
use crate::util::gaussian_rows;

/// Every contract spec at a few shapes: the declared peak is at least the measured one.
#[test]
fn declared_fit_bytes_cover_what_fits_allocate() {
    let verbose = std::env::var("CODECBENCH_BUDGET_TABLE").is_ok();
    let mut low = Vec::new();
    for (n, d) in [
        (43usize, 7usize),
        (300, 65),
        (600, 130),
        (300, 257),
        (2500, 40),
        (280, 513),
    ] {
        let rows = gaussian_rows(n, d, 5);
        for spec in specs() {
            let declared = spec.fit_bytes(n, d);
            let (fitted, peak) = peak_bytes(|| spec.fit(&rows, 3));
            let Ok(codec) = fitted else { continue };
            let model = codec.model_bytes() as u64;
            drop(codec);
            if verbose {
                eprintln!(
                    "{spec:60} n={n:4} d={d:4} peak={peak:>10} declared={declared:>10} ratio={:.2}",
                    declared as f64 / peak.max(1) as f64
                );
            }
            if declared < peak.max(model) {
                low.push(format!(
                    "{spec} on {n} × {d}: declared {declared}, measured peak {peak}, model {model}"
                ));
            }
        }
    }
    assert!(
        low.is_empty(),
        "declared fit bytes below the fits' peaks:\n{}",
        low.join("\n")
    );
}
