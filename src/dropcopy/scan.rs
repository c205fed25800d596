//! Vector scan of a framed FIX message, 64 bytes at a time: where every SOH is (a bitmap per
//! block) and the byte sum (for CheckSum). The Drop Copy report walk pops SOH positions from each
//! block's bitmap as soon as it is known instead of searching for each delimiter; the general
//! field indexer takes the same compares for its 64-byte windows ([`soh_mask64`]).
//!
//! x86-64 uses SSE2 (every x86-64 CPU has it, so no runtime detection) through `safe_arch`, which
//! wraps the intrinsics in safe functions and keeps `unsafe` out of this module. Other targets use
//! a plain byte loop with the same results (a test compares both on every length).

/// Longest body the Drop Copy report walk scans (its positions fit in `u16`). Anything longer
/// takes the general indexed parser. A Drop Copy ExecutionReport is 250-600 bytes.
pub(crate) const SCAN_MAX: usize = 1024;

/// The scan one 64-byte block at a time, for a caller that walks each block's fields as soon as
/// its SOH bitmap is known (no bitmap array): the CheckSum byte sum accumulates across blocks.
pub(crate) struct BlockScan(imp::Acc);

impl BlockScan {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        BlockScan(imp::acc_new())
    }

    /// SOH bitmap of `block` (bit `i` set where `block[i] == SOH`); its bytes join the sum.
    #[inline(always)]
    pub(crate) fn block(&mut self, block: &[u8; 64]) -> u64 {
        imp::block(&mut self.0, block)
    }

    /// SOH bitmap of the last, partial block `body[base..]` (1-63 bytes, `body` at least 16
    /// bytes; `None` otherwise); its bytes join the sum.
    #[inline(always)]
    pub(crate) fn tail(&mut self, body: &[u8], base: usize) -> Option<u64> {
        if !(1..64).contains(&body.len().checked_sub(base)?) || body.len() < 16 {
            return None;
        }
        imp::tail(&mut self.0, body, base)
    }

    /// Byte sum (mod 256) of every byte scanned so far.
    #[inline(always)]
    pub(crate) fn sum(&self) -> u8 {
        imp::acc_sum(&self.0)
    }
}

/// SOH bitmap of the first 64 bytes of `hay` with vector compares, when `hay` has 64 bytes and
/// the target has a vector unit; `None` otherwise (the caller then uses its own loop).
#[inline(always)]
pub(crate) fn soh_mask64(hay: &[u8]) -> Option<u64> {
    imp::soh_mask64(hay)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod imp {
    use crate::dropcopy::codec::SOH;
    use safe_arch::{
        add_i64_m128i, bitand_m128i, cmp_eq_mask_i8_m128i, get_i64_from_m128i_s,
        load_unaligned_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
        sum_of_u8_abs_diff_m128i, unpack_high_i64_m128i, zeroed_m128i,
    };

    /// Running byte sums (two 64-bit lanes).
    pub(super) type Acc = m128i;

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

    /// The four 16-byte chunks of a 64-byte block.
    #[inline(always)]
    fn chunks(block: &[u8; 64]) -> [m128i; 4] {
        let (c, _) = block.as_chunks::<16>();
        [c[0], c[1], c[2], c[3]].map(|c| load_unaligned_m128i(&c))
    }

    #[inline(always)]
    pub(super) fn soh_mask64(hay: &[u8]) -> Option<u64> {
        let [c0, c1, c2, c3] = chunks(hay.first_chunk::<64>()?);
        let (m0, _) = chunk(c0);
        let (m1, _) = chunk(c1);
        let (m2, _) = chunk(c2);
        let (m3, _) = chunk(c3);
        Some(m0 | m1 << 16 | m2 << 32 | m3 << 48)
    }

    #[inline(always)]
    pub(super) fn acc_new() -> Acc {
        zeroed_m128i()
    }

    #[inline(always)]
    pub(super) fn block(acc: &mut Acc, block: &[u8; 64]) -> u64 {
        let [c0, c1, c2, c3] = chunks(block);
        let (m0, s0) = chunk(c0);
        let (m1, s1) = chunk(c1);
        let (m2, s2) = chunk(c2);
        let (m3, s3) = chunk(c3);
        *acc = add_i64_m128i(
            add_i64_m128i(*acc, add_i64_m128i(s0, s1)),
            add_i64_m128i(s2, s3),
        );
        m0 | m1 << 16 | m2 << 32 | m3 << 48
    }

    /// Whole 16-byte chunks, then the last 16 bytes of `body` with the already counted ones
    /// cleared (the caller checked `1 <= body.len() - base < 64` and `body.len() >= 16`).
    #[inline(always)]
    pub(super) fn tail(acc: &mut Acc, body: &[u8], base: usize) -> Option<u64> {
        let end = body.len();
        let mut bits = 0u64;
        let mut at = base;
        while at + 16 <= end {
            let (m, s) = chunk(load(body, at)?);
            bits |= m << (at - base);
            *acc = add_i64_m128i(*acc, s);
            at += 16;
        }
        if at < end {
            let r = end - at;
            let last = bitand_m128i(load(body, end.checked_sub(16)?)?, load(&TAIL, r)?);
            let (m, s) = chunk(last);
            bits |= (m >> (16 - r)) << (at - base);
            *acc = add_i64_m128i(*acc, s);
        }
        Some(bits)
    }

    #[inline(always)]
    pub(super) fn acc_sum(acc: &Acc) -> u8 {
        let high = unpack_high_i64_m128i(*acc, *acc);
        get_i64_from_m128i_s(*acc).wrapping_add(get_i64_from_m128i_s(high)) as u8
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
mod imp {
    pub(super) use super::portable::{acc_new, acc_sum, block, tail, Acc};

    /// No vector unit: the caller's word-at-a-time code handles every window.
    #[inline(always)]
    pub(super) fn soh_mask64(_hay: &[u8]) -> Option<u64> {
        None
    }
}

/// The reference implementation: one byte at a time.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
mod portable {
    use crate::dropcopy::codec::SOH;

    pub(crate) type Acc = u8;

    pub(crate) fn acc_new() -> Acc {
        0
    }

    fn bits(acc: &mut Acc, bytes: &[u8]) -> u64 {
        let mut soh = 0u64;
        for (i, &b) in bytes.iter().enumerate().take(64) {
            *acc = acc.wrapping_add(b);
            soh |= u64::from(b == SOH) << i;
        }
        soh
    }

    pub(crate) fn block(acc: &mut Acc, block: &[u8; 64]) -> u64 {
        bits(acc, block)
    }

    pub(crate) fn tail(acc: &mut Acc, body: &[u8], base: usize) -> Option<u64> {
        Some(bits(acc, body.get(base..)?))
    }

    pub(crate) fn acc_sum(acc: &Acc) -> u8 {
        *acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bitmap words and sum of `body` through [`BlockScan`], as the report walk drives it.
    fn block_scan(body: &[u8]) -> Option<(Vec<u64>, u8)> {
        let mut scan = BlockScan::new();
        let blocks = body.chunks_exact(64);
        let rest = blocks.remainder().len();
        let mut words: Vec<u64> = blocks.map(|b| scan.block(b.try_into().unwrap())).collect();
        if rest != 0 {
            words.push(scan.tail(body, body.len() - rest)?);
        }
        Some((words, scan.sum()))
    }

    /// The same through the byte loop.
    fn byte_scan(body: &[u8]) -> (Vec<u64>, u8) {
        let mut acc = portable::acc_new();
        let words = body
            .chunks(64)
            .map(|c| portable::tail(&mut acc, c, 0).unwrap())
            .collect();
        (words, portable::acc_sum(&acc))
    }

    #[test]
    fn bounds() {
        let mut scan = BlockScan::new();
        // A tail needs 1-63 bytes and a body of at least 16.
        assert_eq!(scan.tail(&[1u8; 15], 0), None);
        assert_eq!(scan.tail(&[1u8; 64], 0), None);
        assert_eq!(scan.tail(&[1u8; 20], 20), None);
        assert_eq!(scan.tail(&[1u8; 20], 21), None);
        assert_eq!(scan.sum(), 0);
        // Only the tail's bytes count.
        let mut m = vec![200u8; 3];
        m.extend_from_slice(&[1u8; 17]);
        assert_eq!(scan.tail(&m, 3), Some((1 << 17) - 1));
        assert_eq!(scan.sum(), 17);
        let (words, sum) = block_scan(&[1u8; SCAN_MAX]).unwrap();
        assert_eq!(words, vec![u64::MAX; SCAN_MAX / 64]);
        assert_eq!(sum, (SCAN_MAX % 256) as u8);
    }

    #[test]
    fn soh_mask64_finds_every_soh() {
        let mut hay = vec![b'a'; 70];
        for i in [0, 15, 16, 40, 63, 64] {
            hay[i] = 1;
        }
        let expected = 1 | 1 << 15 | 1 << 16 | 1 << 40 | 1 << 63;
        if let Some(mask) = soh_mask64(&hay) {
            assert_eq!(mask, expected);
        }
        assert_eq!(soh_mask64(&hay[..63]), None);
    }

    proptest! {
        #[test]
        fn vector_scan_matches_byte_loop(
            bytes in prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0x3d, 0x7f, 0x80, 0xff]), 16..1100),
        ) {
            prop_assert_eq!(block_scan(&bytes), Some(byte_scan(&bytes)));
        }
    }
}
