//! Bit-plane popcount kernels: ⟨x, u⟩ for a bit vector x (a 1-bit code) and a vector u of
//! B-bit unsigned integers (a quantized query) stored as B bit planes, the inner loop of
//! RaBitQ's quantized-query scorer (Gao & Long 2024, §3.3):
//!
//! ⟨x, u⟩ = Σ_j 2^j · popcount(x AND u^(j)),  together with popcount(x) = Σ_i x_i.
//!
//! Bit i of a stream is bit i % 8 of byte i / 8 (as [`super::bits::pack_signs`] writes them);
//! the planes are kept as little-endian u64 words, so word w holds bits 64w..64w+63 and a code's
//! bytes are read 8 at a time with an unaligned little-endian load (the last, partial word is
//! zero-padded). Query bits past the code's length are zero, so padding never counts.
//!
//! Both results are integers, so every path agrees with the plain per-byte reference
//! [`and_planes_scalar`] **exactly**. [`and_planes_many`] picks a `popcnt`-enabled copy at run
//! time (`is_x86_feature_detected!("popcnt")`; the generic copy compiles `count_ones` to a
//! bit-twiddling sequence when the target does not promise POPCNT). There is no AVX2
//! (pshufb nibble-count / Harley–Seal) copy yet: at these lengths (6–12 words per code at
//! d = 384–768) the POPCNT loop does one count per word per plane and already scans faster than
//! FAISS 1.15.1's qb = 4 on one thread; whether a vector count pays was not measured.
//!
//! Exactness bound: the weighted count is at most (2^B − 1)·8·n_bytes, far below 2^32 for
//! every code length this crate can hold (B ≤ 8, n_bytes < 2^23).

/// A vector of B-bit unsigned integers stored as B bit planes of u64 words, interleaved by word:
/// `words[w·B + j]` is word w of plane j (bit j of every element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitPlanes {
    bits: u32,
    n_bytes: usize,
    words: Vec<u64>,
}

impl BitPlanes {
    /// Planes of `levels` (each < 2^bits, `1 ≤ bits ≤ 8`), for codes of `n_bytes` bytes
    /// (`levels.len() ≤ 8·n_bytes`; missing elements are 0).
    pub fn new(levels: &[u8], bits: u32, n_bytes: usize) -> Self {
        assert!((1..=8).contains(&bits), "BitPlanes: bits must be 1..=8");
        assert!(levels.len() <= 8 * n_bytes, "BitPlanes: too many levels");
        let b = bits as usize;
        let n_words = n_bytes.div_ceil(8);
        let mut words = vec![0u64; n_words * b];
        for (i, &v) in levels.iter().enumerate() {
            debug_assert!(bits == 8 || (v as u32) < (1 << bits));
            for j in 0..b {
                if v >> j & 1 == 1 {
                    words[(i / 64) * b + j] |= 1u64 << (i % 64);
                }
            }
        }
        BitPlanes {
            bits,
            n_bytes,
            words,
        }
    }
    /// Bits per element B.
    pub fn bits(&self) -> u32 {
        self.bits
    }
    /// Code length in bytes.
    pub fn n_bytes(&self) -> usize {
        self.n_bytes
    }
    /// Byte `k` of plane `j` (bits 8k..8k+7 of plane j).
    pub fn plane_byte(&self, j: u32, k: usize) -> u8 {
        let b = self.bits as usize;
        (self.words[(k / 8) * b + j as usize] >> (8 * (k % 8))) as u8
    }
}

/// (⟨x, u⟩, popcount(x)) for one code `x` (`x.len() == planes.n_bytes()`): the plain per-byte
/// reference, Σ_j 2^j Σ_k popcount(x_k AND u^(j)_k).
pub fn and_planes_scalar(planes: &BitPlanes, x: &[u8]) -> (u32, u32) {
    assert_eq!(x.len(), planes.n_bytes, "and_planes: length mismatch");
    let mut dot = 0u32;
    for j in 0..planes.bits {
        let c: u32 = x
            .iter()
            .enumerate()
            .map(|(k, &xb)| (xb & planes.plane_byte(j, k)).count_ones())
            .sum();
        dot += c << j;
    }
    (dot, x.iter().map(|v| v.count_ones()).sum())
}

/// The buffer shape [`and_planes_many`] and its portable copy require.
fn check_many(planes: &BitPlanes, data: &[u8], stride: usize, offset: usize, codes: usize) {
    assert!(
        stride > 0 && offset + planes.n_bytes <= stride,
        "and_planes: bad stride"
    );
    assert_eq!(data.len(), stride * codes, "and_planes: bad buffer");
}

/// (⟨x, u⟩, popcount(x)) for every code of a strided buffer: code i is
/// `data[i·stride + offset ..][..planes.n_bytes()]`; `out[i]` receives its pair. Exactly equal
/// to [`and_planes_scalar`] on each code.
pub fn and_planes_many(
    planes: &BitPlanes,
    data: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [(u32, u32)],
) {
    check_many(planes, data, stride, offset, out.len());
    #[cfg(target_arch = "x86_64")]
    if popcnt_available() {
        // SAFETY: POPCNT was detected at run time.
        unsafe { many_popcnt(planes, data, stride, offset, out) };
        return;
    }
    many_generic(planes, data, stride, offset, out);
}

/// True when the POPCNT copy of [`and_planes_many`] is used on this machine.
pub fn popcnt_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One code with B planes known at compile time: full 8-byte words, then the zero-padded tail.
#[inline(always)]
fn one<const B: usize>(words: &[u64], x: &[u8]) -> (u32, u32) {
    let full = x.len() / 8;
    let (body, tail) = x.split_at(8 * full);
    let (wbody, wtail) = words.split_at(B * full);
    let mut acc = [0u32; B];
    let mut pop = 0u32;
    let mut step = |xw: u64, q: &[u64]| {
        pop += xw.count_ones();
        for j in 0..B {
            acc[j] += (xw & q[j]).count_ones();
        }
    };
    for (xb, q) in body.chunks_exact(8).zip(wbody.chunks_exact(B)) {
        step(u64::from_le_bytes(xb.try_into().expect("8 bytes")), q);
    }
    if !tail.is_empty() {
        let mut buf = [0u8; 8];
        buf[..tail.len()].copy_from_slice(tail);
        step(u64::from_le_bytes(buf), &wtail[..B]);
    }
    let mut dot = 0u32;
    for (j, a) in acc.iter().enumerate() {
        dot += a << j;
    }
    (dot, pop)
}

#[inline(always)]
fn many_body<const B: usize>(
    planes: &BitPlanes,
    data: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [(u32, u32)],
) {
    let n = planes.n_bytes;
    for (o, code) in out.iter_mut().zip(data.chunks_exact(stride)) {
        *o = one::<B>(&planes.words, &code[offset..offset + n]);
    }
}

macro_rules! by_bits {
    ($planes:expr, $data:expr, $stride:expr, $offset:expr, $out:expr) => {
        match $planes.bits {
            1 => many_body::<1>($planes, $data, $stride, $offset, $out),
            2 => many_body::<2>($planes, $data, $stride, $offset, $out),
            3 => many_body::<3>($planes, $data, $stride, $offset, $out),
            4 => many_body::<4>($planes, $data, $stride, $offset, $out),
            5 => many_body::<5>($planes, $data, $stride, $offset, $out),
            6 => many_body::<6>($planes, $data, $stride, $offset, $out),
            7 => many_body::<7>($planes, $data, $stride, $offset, $out),
            _ => many_body::<8>($planes, $data, $stride, $offset, $out),
        }
    };
}

/// [`and_planes_many`] without run-time dispatch: the copy used where POPCNT is absent (tests
/// compare both copies with the reference on any machine).
pub fn and_planes_many_portable(
    planes: &BitPlanes,
    data: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [(u32, u32)],
) {
    check_many(planes, data, stride, offset, out.len());
    many_generic(planes, data, stride, offset, out);
}

fn many_generic(
    planes: &BitPlanes,
    data: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [(u32, u32)],
) {
    by_bits!(planes, data, stride, offset, out)
}

/// # Safety
/// The CPU must support POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn many_popcnt(
    planes: &BitPlanes,
    data: &[u8],
    stride: usize,
    offset: usize,
    out: &mut [(u32, u32)],
) {
    by_bits!(planes, data, stride, offset, out)
}
