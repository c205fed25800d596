//! One vector pass over a framed FIX message: where every SOH is (a bitmap) and the byte sum
//! (for CheckSum), 16 bytes per step. The field walk then pops SOH positions from the bitmap
//! instead of searching for each delimiter.
//!
//! x86-64 uses SSE2 (every x86-64 CPU has it, so no runtime detection) through `safe_arch`, which
//! wraps the intrinsics in safe functions and keeps `unsafe` out of this module. Other targets use
//! a plain byte loop with the same results (a test compares both on every length).

/// Longest prefix [`scan`] accepts. Anything longer takes the general indexed parser. A
/// Drop Copy ExecutionReport is 250-600 bytes.
pub(crate) const SCAN_MAX: usize = SCAN_WORDS * 64;
const SCAN_WORDS: usize = 16;

/// SOH bitmap (bit `i % 64` of word `i / 64` is set where `buf[i] == SOH`) and byte sum of the
/// scanned prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub soh: [u64; SCAN_WORDS],
    pub sum: u8,
}

/// Scans `buf[..end]`. `None` when `end` is below 16, above [`SCAN_MAX`] or past `buf`.
#[inline]
pub(crate) fn scan(buf: &[u8], end: usize) -> Option<Scan> {
    if !(16..=SCAN_MAX).contains(&end) {
        return None;
    }
    imp::scan(buf.get(..end)?)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod imp {
    use super::{Scan, SCAN_WORDS};
    use crate::fix::codec::SOH;
    use safe_arch::{
        add_i64_m128i, bitand_m128i, cmp_eq_mask_i8_m128i, get_i64_from_m128i_s,
        load_unaligned_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
        sum_of_u8_abs_diff_m128i, unpack_high_i64_m128i, zeroed_m128i,
    };

    /// `TAIL[r..r + 16]` keeps the last `r` of 16 bytes.
    const TAIL: [u8; 32] = {
        let mut t = [0u8; 32];
        let mut i = 16;
        while i < 32 {
            t[i] = 0xff;
            i += 1;
        }
        t
    };

    /// 16 bytes at `at`.
    #[inline(always)]
    fn load(buf: &[u8], at: usize) -> Option<m128i> {
        Some(load_unaligned_m128i(buf.get(at..at + 16)?.try_into().ok()?))
    }

    /// SOH mask and byte sums (two 64-bit lanes) of 16 bytes.
    #[inline(always)]
    fn chunk(c: m128i) -> (u64, m128i) {
        let soh = set_splat_i8_m128i(SOH as i8);
        let m = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(c, soh)) as u32 as u64;
        (m, sum_of_u8_abs_diff_m128i(c, zeroed_m128i()))
    }

    /// SOH bitmap of the first 64 bytes of `hay` (`None` when shorter).
    #[inline(always)]
    pub(super) fn soh_mask64(hay: &[u8]) -> Option<u64> {
        let block = hay.get(..64)?;
        let (m0, _) = chunk(load(block, 0)?);
        let (m1, _) = chunk(load(block, 16)?);
        let (m2, _) = chunk(load(block, 32)?);
        let (m3, _) = chunk(load(block, 48)?);
        Some(m0 | m1 << 16 | m2 << 32 | m3 << 48)
    }

    /// Requires `16 <= body.len() <= SCAN_MAX` (checked by the caller).
    #[inline]
    pub(super) fn scan(body: &[u8]) -> Option<Scan> {
        let end = body.len();
        let mut acc = zeroed_m128i();
        let mut words = [0u64; SCAN_WORDS];
        // Whole 64-byte blocks: one bitmap word each.
        let blocks = body.chunks_exact(64);
        let rest = blocks.remainder().len();
        for (word, block) in words.iter_mut().zip(blocks) {
            let (m0, s0) = chunk(load(block, 0)?);
            let (m1, s1) = chunk(load(block, 16)?);
            let (m2, s2) = chunk(load(block, 32)?);
            let (m3, s3) = chunk(load(block, 48)?);
            *word = m0 | m1 << 16 | m2 << 32 | m3 << 48;
            acc = add_i64_m128i(
                add_i64_m128i(acc, add_i64_m128i(s0, s1)),
                add_i64_m128i(s2, s3),
            );
        }
        // The last 0-63 bytes: whole 16-byte chunks, then the final 16 bytes with the already
        // counted ones cleared.
        let base = end - rest;
        let mut tail = 0u64;
        let mut at = base;
        while at + 16 <= end {
            let (m, s) = chunk(load(body, at)?);
            tail |= m << (at - base);
            acc = add_i64_m128i(acc, s);
            at += 16;
        }
        if at < end {
            let r = end - at;
            let (m, s) = chunk(bitand_m128i(load(body, end - 16)?, load(&TAIL, r)?));
            tail |= (m >> (16 - r)) << (at - base);
            acc = add_i64_m128i(acc, s);
        }
        if rest != 0 {
            *words.get_mut(base / 64)? = tail;
        }
        let high = unpack_high_i64_m128i(acc, acc);
        let sum = get_i64_from_m128i_s(acc).wrapping_add(get_i64_from_m128i_s(high));
        Some(Scan {
            soh: words,
            sum: sum as u8,
        })
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
mod imp {
    pub(super) use super::portable::scan;

    /// No vector unit: the caller's word-at-a-time code handles every window.
    #[inline(always)]
    pub(super) fn soh_mask64(_hay: &[u8]) -> Option<u64> {
        None
    }
}

/// SOH bitmap of the first 64 bytes of `hay` with vector compares, when `hay` has 64 bytes and
/// the target has a vector unit; `None` otherwise (the caller then uses its own loop).
#[inline(always)]
pub(crate) fn soh_mask64(hay: &[u8]) -> Option<u64> {
    imp::soh_mask64(hay)
}

/// The reference implementation: one byte at a time.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
mod portable {
    use super::{Scan, SCAN_WORDS};
    use crate::fix::codec::SOH;

    pub(crate) fn scan(body: &[u8]) -> Option<Scan> {
        let mut words = [0u64; SCAN_WORDS];
        let mut sum = 0u8;
        for (i, &b) in body.iter().enumerate() {
            sum = sum.wrapping_add(b);
            if b == SOH {
                *words.get_mut(i / 64)? |= 1 << (i % 64);
            }
        }
        Some(Scan { soh: words, sum })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds() {
        assert_eq!(scan(&[1u8; 15], 15), None);
        assert_eq!(scan(&[1u8; 20], 21), None);
        assert_eq!(scan(&vec![1u8; SCAN_MAX + 1], SCAN_MAX + 1), None);
        let all = scan(&vec![1u8; SCAN_MAX], SCAN_MAX).unwrap();
        assert_eq!(all.soh, [u64::MAX; SCAN_WORDS]);
        assert_eq!(all.sum, (SCAN_MAX % 256) as u8);
        // Only the prefix counts.
        let mut m = vec![1u8; 17];
        m.extend_from_slice(&[1, 200, 1]);
        let s = scan(&m, 17).unwrap();
        assert_eq!(s.soh[0], (1 << 17) - 1);
        assert_eq!(s.sum, 17);
    }

    proptest! {
        #[test]
        fn vector_scan_matches_byte_loop(
            bytes in prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0x3d, 0x7f, 0x80, 0xff]), 16..1100),
            cut in any::<prop::sample::Index>(),
        ) {
            let end = 16 + cut.index(bytes.len() - 15);
            let expected = if end <= SCAN_MAX { portable::scan(&bytes[..end]) } else { None };
            prop_assert_eq!(scan(&bytes, end), expected);
        }
    }
}
