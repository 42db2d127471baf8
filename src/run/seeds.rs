//! Where every seed of a codec cell comes from, in one place, so the runner, the probes that
//! reuse a cell's codec and `compare-peers` draw the same codecs.
//!
//! - A codec draw's seed comes from the codec seed base (`--codec-seed`, default `--seed`), the
//!   population's name, the codec's *identity* (`CodecSpec::identity`: name and non-default
//!   parameter values, not the printed spec) and the draw's index. Changing `--codec-seed`
//!   re-draws rotations, sketches and k-means starts and nothing else.
//! - A cell's bootstrap seed comes from the split seed and the codec's identity, never from the
//!   codec seed, so two runs that differ only in `--codec-seed` resample the same queries.

use crate::codec::CodecSpec;
use crate::data::catalog::stable_hash;

/// The seed of codec draw `draw` (0-based) of `spec` on `population`.
pub fn codec_draw_seed(codec_seed: u64, population: &str, spec: &CodecSpec, draw: usize) -> u64 {
    // FNV-1a of the parts with separators that occur in none of them, then a SplitMix64
    // finaliser so that neighbouring draws get unrelated seeds.
    let h = stable_hash(&format!(
        "codec-draw\u{1f}{codec_seed}\u{1f}{population}\u{1f}{}\u{1f}{draw}",
        spec.identity()
    ));
    splitmix(h)
}

/// The bootstrap seed of a cell (`split_seed` = the population's split seed).
pub fn cell_bootstrap_seed(split_seed: u64, spec: &CodecSpec) -> u64 {
    split_seed ^ stable_hash(&spec.identity()).rotate_left(17)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
