//! Bit packing: b-bit unsigned values (b in 1..=8) packed LSB-first into a little-endian bit
//! stream (value i occupies bits [i·b, (i+1)·b)), sign bits (bit i set ⇔ coordinate i > 0), and
//! Hamming distance by 64-bit popcount.

/// Bytes needed for `n` values of `bits` bits.
pub fn packed_len(n: usize, bits: u32) -> usize {
    (n * bits as usize).div_ceil(8)
}

/// Pack `values` (each < 2^bits) into `out`, which is zeroed first.
pub fn pack(values: &[u8], bits: u32, out: &mut [u8]) {
    debug_assert!((1..=8).contains(&bits));
    debug_assert!(out.len() >= packed_len(values.len(), bits));
    out.fill(0);
    match bits {
        // The same layout as the writer (value k of a byte at bit k·bits), a byte at a time;
        // values are masked to their width as the writer masks them.
        8 => out[..values.len()].copy_from_slice(values),
        4 => {
            let pairs = values.chunks_exact(2);
            let tail = pairs.remainder();
            for (o, pr) in out.iter_mut().zip(pairs) {
                *o = (pr[0] & 0x0f) | ((pr[1] & 0x0f) << 4);
            }
            if let [last] = tail {
                out[values.len() / 2] = last & 0x0f;
            }
        }
        1 | 2 => {
            let per = (8 / bits) as usize;
            let mask = ((1u32 << bits) - 1) as u8;
            for (chunk, o) in values.chunks(per).zip(out.iter_mut()) {
                *o = chunk
                    .iter()
                    .enumerate()
                    .fold(0u8, |b, (k, &v)| b | ((v & mask) << (k as u32 * bits)));
            }
        }
        _ => {
            let mut w = BitWriter::new(out);
            for &v in values {
                w.write(v as u32, bits);
            }
        }
    }
}

/// Value `i` of a stream of `bits`-bit values.
#[inline]
pub fn get(code: &[u8], bits: u32, i: usize) -> u8 {
    let pos = i * bits as usize;
    let (byte, shift) = (pos / 8, pos % 8);
    let lo = code[byte] as u32;
    let hi = if shift + bits as usize > 8 {
        code[byte + 1] as u32
    } else {
        0
    };
    (((lo | (hi << 8)) >> shift) & ((1u32 << bits) - 1)) as u8
}

/// Unpack the first `out.len()` values (byte-wise paths for 1, 2, 4 and 8 bits, word-wise
/// groups of eight values for the other widths).
pub fn unpack(code: &[u8], bits: u32, out: &mut [u8]) {
    debug_assert!((1..=8).contains(&bits), "unpack: bits must be 1..=8");
    match bits {
        8 => out.copy_from_slice(&code[..out.len()]),
        1 => unpack_fixed::<1, 8>(code, out),
        2 => unpack_fixed::<2, 4>(code, out),
        4 => unpack_fixed::<4, 2>(code, out),
        _ => {
            // Eight values fill exactly `bits` bytes: read each such group as one little-endian
            // word, then the values of a last partial group one by one.
            let (gb, mask) = (bits as usize, (1u64 << bits) - 1);
            let whole = out.len() / 8;
            let mut chunks = out.chunks_exact_mut(8);
            for (chunk, src) in (&mut chunks).zip(code.chunks_exact(gb)) {
                let mut w = [0u8; 8];
                w[..gb].copy_from_slice(src);
                let w = u64::from_le_bytes(w);
                for (k, o) in chunk.iter_mut().enumerate() {
                    *o = ((w >> (k * gb)) & mask) as u8;
                }
            }
            for (i, o) in chunks.into_remainder().iter_mut().enumerate() {
                *o = get(code, bits, 8 * whole + i);
            }
        }
    }
}

/// [`unpack`] for `BITS` ∈ {1, 2, 4} (`PER` = 8 / `BITS` values per byte): whole bytes in a
/// loop of constant trip count the compiler vectorises, then the tail byte.
#[inline]
fn unpack_fixed<const BITS: u32, const PER: usize>(code: &[u8], out: &mut [u8]) {
    let mask = ((1u32 << BITS) - 1) as u8;
    let whole = out.len() / PER;
    let mut chunks = out.chunks_exact_mut(PER);
    for (chunk, &byte) in (&mut chunks).zip(code) {
        for (k, o) in chunk.iter_mut().enumerate() {
            *o = (byte >> (k as u32 * BITS)) & mask;
        }
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let byte = code[whole];
        for (k, o) in tail.iter_mut().enumerate() {
            *o = (byte >> (k as u32 * BITS)) & mask;
        }
    }
}

/// Bit `i` of a sign stream.
#[inline]
pub fn bit(code: &[u8], i: usize) -> bool {
    code[i / 8] >> (i % 8) & 1 == 1
}

/// Pack sign bits (`true` ⇔ set) into `out`, which is zeroed first.
pub fn pack_signs(signs: impl IntoIterator<Item = bool>, out: &mut [u8]) {
    out.fill(0);
    for (i, s) in signs.into_iter().enumerate() {
        if s {
            out[i / 8] |= 1 << (i % 8);
        }
    }
}

/// Number of differing bits between two equally long streams.
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    debug_assert_eq!(a.len(), b.len());
    let mut h = 0u32;
    let (ca, ra) = a.split_at(a.len() - a.len() % 8);
    let (cb, rb) = b.split_at(ca.len());
    for (x, y) in ca.chunks_exact(8).zip(cb.chunks_exact(8)) {
        let x = u64::from_le_bytes(x.try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(y.try_into().expect("8 bytes"));
        h += (x ^ y).count_ones();
    }
    h + ra
        .iter()
        .zip(rb)
        .map(|(x, y)| (x ^ y).count_ones())
        .sum::<u32>()
}

/// Sequential writer of variable-width fields into a zeroed byte buffer.
pub struct BitWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl<'a> BitWriter<'a> {
    /// Start at bit 0 of `out` (which must be zeroed).
    pub fn new(out: &'a mut [u8]) -> Self {
        BitWriter { out, pos: 0 }
    }
    /// Append the low `bits` bits of `v` (bits ≤ 24).
    pub fn write(&mut self, v: u32, bits: u32) {
        let mut v = v & ((1u32 << bits) - 1);
        let mut left = bits as usize;
        while left > 0 {
            let (byte, shift) = (self.pos / 8, self.pos % 8);
            let take = left.min(8 - shift);
            self.out[byte] |= ((v & ((1 << take) - 1)) << shift) as u8;
            v >>= take;
            left -= take;
            self.pos += take;
        }
    }
}

/// Sequential reader matching [`BitWriter`].
pub struct BitReader<'a> {
    code: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// Start at bit 0.
    pub fn new(code: &'a [u8]) -> Self {
        BitReader { code, pos: 0 }
    }
    /// Read the next `bits` bits (bits ≤ 24).
    pub fn read(&mut self, bits: u32) -> u32 {
        let mut v = 0u32;
        let mut got = 0usize;
        while got < bits as usize {
            let (byte, shift) = (self.pos / 8, self.pos % 8);
            let take = (bits as usize - got).min(8 - shift);
            let chunk = (self.code[byte] as u32 >> shift) & ((1 << take) - 1);
            v |= chunk << got;
            got += take;
            self.pos += take;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_fast_paths_write_what_the_bit_writer_writes() {
        for bits in 1..=8u32 {
            for n in [0usize, 1, 7, 8, 9, 33] {
                // Values wider than `bits` too: both paths keep the low bits only.
                let values: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(37) ^ 0x5a).collect();
                let len = packed_len(n, bits).max(1);
                let (mut a, mut b) = (vec![0xffu8; len], vec![0u8; len]);
                pack(&values, bits, &mut a);
                let mut w = BitWriter::new(&mut b);
                for &v in &values {
                    w.write(v as u32, bits);
                }
                assert_eq!(a, b, "bits={bits} n={n}");
            }
        }
    }

    #[test]
    fn pack_round_trips_every_width() {
        // Every remainder of a byte for the whole-byte unpack paths (1, 2, 4 bits).
        for bits in 1..=8u32 {
            for n in [0usize, 1, 2, 3, 5, 7, 8, 9, 37] {
                let vals: Vec<u8> = (0..n).map(|i| ((i * 7 + 3) % (1 << bits)) as u8).collect();
                let mut buf = vec![0xffu8; packed_len(vals.len(), bits)];
                pack(&vals, bits, &mut buf);
                let mut back = vec![0u8; vals.len()];
                unpack(&buf, bits, &mut back);
                assert_eq!(back, vals, "bits={bits} n={n}");
                for (i, &v) in vals.iter().enumerate() {
                    assert_eq!(get(&buf, bits, i), v);
                }
            }
        }
    }

    #[test]
    fn hamming_counts_differing_bits() {
        let a: Vec<u8> = (0..19).map(|i| (i * 37) as u8).collect();
        let b: Vec<u8> = (0..19).map(|i| (i * 91 + 5) as u8).collect();
        let plain: u32 = (0..19 * 8).map(|i| (bit(&a, i) != bit(&b, i)) as u32).sum();
        assert_eq!(hamming(&a, &b), plain);
    }
}
