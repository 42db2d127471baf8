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
//! time: AVX-512 VPOPCNTDQ where the CPU has it (a code's 64 bytes per register, eight
//! 64-bit counts per instruction), else POPCNT (`is_x86_feature_detected!("popcnt")`; the
//! generic copy compiles `count_ones` to a bit-twiddling sequence when the target does not
//! promise POPCNT). There is no AVX2 (pshufb nibble-count / Harley–Seal) copy.
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
    /// The same words plane-major in chunks of eight (512 bits), for the AVX-512 copy:
    /// `chunked[(c·B + j)·8 + w]` is word 8c + w of plane j, zero past the code. Built once per
    /// query here rather than per scanned block.
    chunked: Vec<u64>,
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
        let chunks = n_bytes.div_ceil(64);
        let mut chunked = vec![0u64; chunks * b * 8];
        for w in 0..n_words {
            for j in 0..b {
                chunked[((w / 8) * b + j) * 8 + w % 8] = words[w * b + j];
            }
        }
        BitPlanes {
            bits,
            n_bytes,
            words,
            chunked,
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
    if vpopcnt_available() {
        // SAFETY: AVX-512 F, BW and VPOPCNTDQ were detected at run time.
        unsafe { avx512::many(planes, data, stride, offset, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if popcnt_available() {
        // SAFETY: POPCNT was detected at run time.
        unsafe { many_popcnt(planes, data, stride, offset, out) };
        return;
    }
    many_generic(planes, data, stride, offset, out);
}

/// A copy of [`and_planes_many`] by name, for tests: its signature.
pub type ManyFn = fn(&BitPlanes, &[u8], usize, usize, &mut [(u32, u32)]);

/// Every copy of [`and_planes_many`] this machine can run, by name (the portable copy always;
/// POPCNT and AVX-512 VPOPCNTDQ where the CPU has them), so tests hold each to the reference.
pub fn and_planes_paths() -> Vec<(&'static str, ManyFn)> {
    let mut v: Vec<(&'static str, ManyFn)> = vec![("portable", and_planes_many_portable)];
    #[cfg(target_arch = "x86_64")]
    {
        if popcnt_available() {
            v.push(("popcnt", |p, d, s, o, out| {
                check_many(p, d, s, o, out.len());
                // SAFETY: POPCNT was detected at run time.
                unsafe { many_popcnt(p, d, s, o, out) }
            }));
        }
        if vpopcnt_available() {
            v.push(("avx512-vpopcntdq", |p, d, s, o, out| {
                check_many(p, d, s, o, out.len());
                // SAFETY: AVX-512 F, BW and VPOPCNTDQ were detected at run time.
                unsafe { avx512::many(p, d, s, o, out) }
            }));
        }
    }
    v
}

/// True when the AVX-512 VPOPCNTDQ copy of [`and_planes_many`] is used on this machine.
pub fn vpopcnt_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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

/// `$body::<B>(…)` with the planes' B as a compile-time constant.
macro_rules! by_bits {
    ($body:ident, $planes:expr, $data:expr, $stride:expr, $offset:expr, $out:expr) => {
        match $planes.bits {
            1 => $body::<1>($planes, $data, $stride, $offset, $out),
            2 => $body::<2>($planes, $data, $stride, $offset, $out),
            3 => $body::<3>($planes, $data, $stride, $offset, $out),
            4 => $body::<4>($planes, $data, $stride, $offset, $out),
            5 => $body::<5>($planes, $data, $stride, $offset, $out),
            6 => $body::<6>($planes, $data, $stride, $offset, $out),
            7 => $body::<7>($planes, $data, $stride, $offset, $out),
            _ => $body::<8>($planes, $data, $stride, $offset, $out),
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
    by_bits!(many_body, planes, data, stride, offset, out)
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
    by_bits!(many_body, planes, data, stride, offset, out)
}

/// The AVX-512 copy: a code's bytes 64 at a time in one register (a last partial chunk loaded
/// whole and the bytes past the code zeroed by AND — they belong to the next code or the stride's
/// slack, inside the buffer — or, at the buffer's very end, by a byte-masked load), each plane's matching 8 words from a plane-major copy
/// of the query made once per call, VPOPCNTQ per 64-bit lane, the planes' counts weighted by
/// 2^j lane-wise and summed across lanes at the end. Integer arithmetic throughout: equal to the
/// reference exactly.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::BitPlanes;
    use std::arch::x86_64::*;

    /// How many codes ahead of the one being counted the scan prefetches.
    const PREFETCH_CODES: usize = 16;

    /// # Safety
    /// The CPU must support AVX-512 F, BW and VPOPCNTDQ; the buffer shape is checked by the
    /// caller.
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    pub unsafe fn many(
        planes: &BitPlanes,
        data: &[u8],
        stride: usize,
        offset: usize,
        out: &mut [(u32, u32)],
    ) {
        by_bits!(body, planes, data, stride, offset, out)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
    fn body<const B: usize>(
        planes: &BitPlanes,
        data: &[u8],
        stride: usize,
        offset: usize,
        out: &mut [(u32, u32)],
    ) {
        let n = planes.n_bytes;
        let pm = &planes.chunked;
        // Whole 64-byte chunks, then at most one partial chunk of `tail` bytes and its byte mask
        // (as a mask register for a masked load, and as a vector to AND a plain load with).
        let (full, tail) = (n / 64, n % 64);
        let tail_mask = (1u64 << tail).wrapping_sub(1);
        let tail_vmask = _mm512_movm_epi8(tail_mask);
        // The chunk lengths as a slice: iterating it in the per-code loop measured ~35% faster
        // than an iterator chain rebuilt per code.
        let lens: Vec<usize> = (0..full)
            .map(|_| 64)
            .chain((tail > 0).then_some(tail))
            .collect();
        // Code i's lanes of tot·2^32 + pop, tot = Σ_j 2^j·popcount(x AND u^(j)): summed across
        // lanes, Σtot·2^32 + Σpop, exact since both sums are < 2^32 (the module doc's bound).
        let lanes = |i: usize| -> __m512i {
            let start = i * stride + offset;
            // Ask for the code PREFETCH_CODES ahead now: the scan is otherwise bound by memory
            // latency once the codes stream from memory (a hint; it changes no result).
            let ahead = start + PREFETCH_CODES * stride;
            if ahead < data.len() {
                // SAFETY: a prefetch of an address inside `data`; it reads nothing.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().add(ahead) as *const i8) };
            }
            let mut pop = _mm512_setzero_si512();
            let mut acc = [_mm512_setzero_si512(); B];
            for (c, &len) in lens.iter().enumerate() {
                let at = start + 64 * c;
                // A partial chunk is read whole and the bytes past the code zeroed by AND when 64
                // bytes from its start lie inside `data` (the next code's bytes, harmless); only
                // at the buffer's end by a byte-masked load, which measured 3.5× slower once the
                // codes stream from memory.
                let xv = if len == 64 {
                    // SAFETY: bytes at..at+64 are the code's, inside `data`.
                    unsafe { _mm512_loadu_si512(data.as_ptr().add(at) as *const __m512i) }
                } else if at + 64 <= data.len() {
                    // SAFETY: bytes at..at+64 lie inside `data`.
                    let v = unsafe { _mm512_loadu_si512(data.as_ptr().add(at) as *const __m512i) };
                    _mm512_and_si512(v, tail_vmask)
                } else {
                    // SAFETY: the mask selects only bytes at..at+len, the code's, inside `data`
                    // (masked-off bytes are not read).
                    unsafe {
                        _mm512_maskz_loadu_epi8(tail_mask, data.as_ptr().add(at) as *const i8)
                    }
                };
                pop = _mm512_add_epi64(pop, _mm512_popcnt_epi64(xv));
                for (j, a) in acc.iter_mut().enumerate() {
                    // SAFETY: `pm` holds ⌈n/64⌉·B·8 words.
                    let q = unsafe {
                        _mm512_loadu_si512(pm.as_ptr().add((c * B + j) * 8) as *const __m512i)
                    };
                    *a = _mm512_add_epi64(*a, _mm512_popcnt_epi64(_mm512_and_si512(xv, q)));
                }
            }
            let mut tot = acc[0];
            for (j, a) in acc.iter().enumerate().skip(1) {
                tot = _mm512_add_epi64(tot, _mm512_sllv_epi64(*a, _mm512_set1_epi64(j as i64)));
            }
            _mm512_add_epi64(_mm512_slli_epi64::<32>(tot), pop)
        };
        let split = |both: u64| ((both >> 32) as u32, both as u32);
        let n_codes = out.len();
        // Two codes per step, their lane sums by one shared reduction tree.
        let mut pairs = out.chunks_exact_mut(2);
        for (k, o) in (&mut pairs).enumerate() {
            let (a, b) = (lanes(2 * k), lanes(2 * k + 1));
            // [a0+a1, b0+b1, a2+a3, b2+b3, …], then the 256-bit halves, then the 128-bit ones.
            let s1 = _mm512_add_epi64(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
            let s2 = _mm256_add_epi64(
                _mm512_castsi512_si256(s1),
                _mm512_extracti64x4_epi64::<1>(s1),
            );
            let s3 = _mm_add_epi64(
                _mm256_castsi256_si128(s2),
                _mm256_extracti128_si256::<1>(s2),
            );
            o[0] = split(_mm_cvtsi128_si64(s3) as u64);
            o[1] = split(_mm_extract_epi64::<1>(s3) as u64);
        }
        if let [last] = pairs.into_remainder() {
            *last = split(_mm512_reduce_add_epi64(lanes(n_codes - 1)) as u64);
        }
    }
}
