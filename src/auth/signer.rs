//! HMAC-SHA256 with a precomputed key schedule.
//!
//! HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). The first block of each hash depends only on
//! the key, so [`HmacSigner::new`] compresses `K ^ ipad` and `K ^ opad` once and keeps the two
//! resulting SHA-256 chaining states. Each signature then starts from copies of those states and
//! drives `sha2::compress256` (SHA-NI when the CPU has it) directly: for the 70-byte iLink 3
//! Establish canonical that is two inner blocks and one outer block, with no heap allocation and
//! no per-signature key processing.
//!
//! The saved states are as sensitive as the key (they let anyone forge signatures), so they are
//! zeroized on drop and never printed.

use sha2::digest::generic_array::GenericArray;
use zeroize::{Zeroize, ZeroizeOnDrop};

const BLOCK: usize = 64;
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// SHA-256 initial hash values (FIPS 180-4, 5.3.3).
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Something a canonical message can be written into: a running HMAC, or a byte buffer in tests.
pub trait CanonicalSink {
    /// Appends raw bytes.
    fn put(&mut self, bytes: &[u8]);

    /// Appends the decimal form of `v` (no heap: formatted on the stack).
    fn put_u64(&mut self, v: u64) {
        let mut buf = itoa::Buffer::new();
        self.put(buf.format(v).as_bytes());
    }
}

impl CanonicalSink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A keyed HMAC-SHA256 whose two key-dependent blocks are already absorbed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct HmacSigner {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl std::fmt::Debug for HmacSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSigner(<key schedule redacted>)")
    }
}

impl HmacSigner {
    /// Builds the key schedule. Keys longer than one block are hashed first (RFC 2104).
    pub fn new(key: &[u8]) -> Self {
        let mut k = [0u8; BLOCK];
        if key.len() > BLOCK {
            let mut h = Sha256Stream::from_state(H0, 0);
            h.update(key);
            k[..32].copy_from_slice(&h.finish());
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut pad = [0u8; BLOCK];
        for (p, b) in pad.iter_mut().zip(k.iter()) {
            *p = b ^ IPAD;
        }
        let mut inner = H0;
        compress(&mut inner, &pad);
        for (p, b) in pad.iter_mut().zip(k.iter()) {
            *p = b ^ OPAD;
        }
        let mut outer = H0;
        compress(&mut outer, &pad);
        k.zeroize();
        pad.zeroize();
        HmacSigner { inner, outer }
    }

    /// Starts one signature: feed the message with [`CanonicalSink::put`], then call
    /// [`Mac::finish`].
    #[inline]
    pub fn start(&self) -> Mac<'_> {
        Mac {
            signer: self,
            stream: Sha256Stream::from_state(self.inner, BLOCK as u64),
        }
    }

    /// HMAC of a contiguous message.
    #[inline]
    pub fn sign_bytes(&self, msg: &[u8]) -> [u8; 32] {
        let mut mac = self.start();
        mac.put(msg);
        mac.finish()
    }

    /// HMAC of a canonical message written field by field (no intermediate string): the
    /// fields go into a stack buffer, then through the compression function in whole blocks.
    /// A message longer than the buffer streams into the hash instead.
    #[inline]
    pub fn sign<C: super::canonical::Canonical + ?Sized>(&self, msg: &C) -> [u8; 32] {
        let mut buf = StackBuf::new();
        msg.write_canonical(&mut buf);
        if !buf.overflow {
            return self.sign_in_place(buf);
        }
        let mut mac = self.start();
        msg.write_canonical(&mut mac);
        mac.finish()
    }

    /// Pads the assembled message in its own (zero-filled) buffer and compresses it from there:
    /// no copy into a block buffer. Messages too long for that take the streaming path.
    #[inline(always)]
    fn sign_in_place(&self, mut buf: StackBuf) -> [u8; 32] {
        let len = buf.len;
        if len + 9 > STACK_BUF {
            return self.sign_bytes(buf.as_bytes());
        }
        let blocks = if len + 9 > BLOCK { 2 } else { 1 };
        let end = blocks * BLOCK;
        // Bytes after `len` are still zero: only the 0x80 marker and the bit length remain.
        buf.bytes[len] = 0x80;
        let bit_len = ((BLOCK + len) as u64) * 8;
        buf.bytes[end - 8..end].copy_from_slice(&bit_len.to_be_bytes());
        let mut state = self.inner;
        for block in buf.bytes[..end].chunks_exact(BLOCK) {
            compress(
                &mut state,
                block.try_into().expect("chunks_exact gives 64 bytes"),
            );
        }
        let inner_digest = state_bytes(&state);
        state.zeroize();
        Mac::outer(&self.outer, &inner_digest)
    }

    /// Constant-time check of a received signature (the simulator's side of a logon).
    pub fn verify<C: super::canonical::Canonical + ?Sized>(&self, msg: &C, sig: &[u8]) -> bool {
        let ours = self.sign(msg);
        if sig.len() != ours.len() {
            return false;
        }
        ours.iter().zip(sig).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// Room for the canonical messages CME signs: an Establish is at most 120 bytes (19 + 20 digits,
/// 3 + 5 + 30 + 10 + 10 characters, 10 + 5 digits, 8 newlines); longer ones stream instead.
const STACK_BUF: usize = 128;

/// A fixed stack buffer for assembling a canonical message.
struct StackBuf {
    bytes: [u8; STACK_BUF],
    len: usize,
    overflow: bool,
}

impl StackBuf {
    #[inline(always)]
    fn new() -> Self {
        StackBuf {
            bytes: [0; STACK_BUF],
            len: 0,
            overflow: false,
        }
    }

    #[inline(always)]
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl CanonicalSink for StackBuf {
    #[inline(always)]
    fn put(&mut self, data: &[u8]) {
        match self.bytes.get_mut(self.len..self.len + data.len()) {
            Some(dst) => {
                small_copy(dst, data);
                self.len += data.len();
            }
            None => self.overflow = true,
        }
    }

    /// Formats straight into the buffer (no intermediate digit buffer, no `memmove`).
    #[inline(always)]
    fn put_u64(&mut self, v: u64) {
        let n = decimal_len(v);
        match self.bytes.get_mut(self.len..self.len + n) {
            Some(dst) => {
                write_decimal(dst, v);
                self.len += n;
            }
            None => self.overflow = true,
        }
    }
}

/// Number of decimal digits of `v` (1 for 0).
#[inline(always)]
fn decimal_len(v: u64) -> usize {
    let mut n = 1;
    let mut p = 10u64;
    while n < 20 && v >= p {
        n += 1;
        p = p.wrapping_mul(10);
    }
    n
}

const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `v` in decimal into `dst` (exactly `decimal_len(v)` bytes), two digits at a time.
#[inline(always)]
fn write_decimal(dst: &mut [u8], mut v: u64) {
    let mut i = dst.len();
    while v >= 100 && i >= 2 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        dst[i] = DIGIT_PAIRS[pair];
        dst[i + 1] = DIGIT_PAIRS[pair + 1];
    }
    if v >= 10 && i >= 2 {
        let pair = v as usize * 2;
        dst[i - 2] = DIGIT_PAIRS[pair];
        dst[i - 1] = DIGIT_PAIRS[pair + 1];
    } else if i >= 1 {
        dst[i - 1] = b'0' + v as u8;
    }
}

/// One HMAC computation in progress.
pub struct Mac<'a> {
    signer: &'a HmacSigner,
    stream: Sha256Stream,
}

impl CanonicalSink for Mac<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.stream.update(bytes);
    }
}

impl Mac<'_> {
    /// Completes the inner hash and runs the single outer block.
    #[inline]
    pub fn finish(self) -> [u8; 32] {
        let inner_digest = self.stream.finish();
        Self::outer(&self.signer.outer, &inner_digest)
    }

    /// The outer hash: the 32-byte inner digest after the (K ^ opad) block is exactly one block
    /// with its padding, built in place.
    #[inline(always)]
    fn outer(outer: &[u32; 8], inner_digest: &[u8; 32]) -> [u8; 32] {
        let mut block = [0u8; BLOCK];
        block[..32].copy_from_slice(inner_digest);
        block[32] = 0x80;
        block[BLOCK - 8..].copy_from_slice(&(((BLOCK + 32) as u64) * 8).to_be_bytes());
        let mut state = *outer;
        compress(&mut state, &block);
        let out = state_bytes(&state);
        state.zeroize();
        out
    }
}

/// A SHA-256 computation resumed from a saved chaining state, with a stack block buffer.
///
/// Only the chaining state is wiped on drop: it is key-derived. The buffer holds message bytes
/// (the canonical fields are sent in clear anyway); wiping it would cost a volatile store per
/// byte on every signature.
struct Sha256Stream {
    state: [u32; 8],
    buf: [u8; BLOCK],
    buf_len: usize,
    /// Total bytes absorbed, including the blocks folded into the saved state.
    total: u64,
}

impl Drop for Sha256Stream {
    fn drop(&mut self) {
        self.state.zeroize();
    }
}

impl Sha256Stream {
    #[inline]
    fn from_state(state: [u32; 8], already: u64) -> Self {
        Sha256Stream {
            state,
            buf: [0; BLOCK],
            buf_len: 0,
            total: already,
        }
    }

    #[inline]
    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let room = BLOCK - self.buf_len;
        if data.len() < room {
            // The common case for canonical fields: a few bytes into the block buffer.
            small_copy(&mut self.buf[self.buf_len..], data);
            self.buf_len += data.len();
            return;
        }
        if self.buf_len > 0 {
            let (head, rest) = data.split_at(room);
            self.buf[self.buf_len..].copy_from_slice(head);
            compress(&mut self.state, &self.buf);
            self.buf_len = 0;
            data = rest;
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            compress(
                &mut self.state,
                block.try_into().expect("chunks_exact gives 64 bytes"),
            );
        }
        let tail = blocks.remainder();
        small_copy(&mut self.buf, tail);
        self.buf_len = tail.len();
    }

    #[inline]
    fn finish(mut self) -> [u8; 32] {
        let bit_len = self.total.wrapping_mul(8);
        let n = self.buf_len;
        self.buf[n] = 0x80;
        self.buf[n + 1..].fill(0);
        if n + 1 > BLOCK - 8 {
            compress(&mut self.state, &self.buf);
            self.buf = [0; BLOCK];
        }
        self.buf[BLOCK - 8..].copy_from_slice(&bit_len.to_be_bytes());
        compress(&mut self.state, &self.buf);
        state_bytes(&self.state)
    }
}

/// Copies `src` to the start of `dst` with fixed-size (overlapping) moves, so that the short,
/// variable-length pieces of a canonical message do not each cost a call into `memmove`.
#[inline(always)]
fn small_copy(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n > BLOCK || dst.len() < n {
        dst[..n].copy_from_slice(src);
    } else if n >= 16 {
        let mut i = 0;
        while i + 16 <= n {
            dst[i..i + 16].copy_from_slice(&src[i..i + 16]);
            i += 16;
        }
        if i < n {
            dst[n - 16..n].copy_from_slice(&src[n - 16..n]);
        }
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..n].copy_from_slice(&src[n - 8..n]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..n].copy_from_slice(&src[n - 4..n]);
    } else if n >= 2 {
        dst[..2].copy_from_slice(&src[..2]);
        dst[n - 2..n].copy_from_slice(&src[n - 2..n]);
    } else if n == 1 {
        dst[0] = src[0];
    }
}

#[inline(always)]
fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state.iter()) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[inline(always)]
fn compress(state: &mut [u32; 8], block: &[u8; BLOCK]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac as _};
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4231 section 4, HMAC-SHA256 outputs for test cases 1-7 (case 5 truncated to 128 bits).
    #[test]
    fn rfc4231_cases_1_to_7() {
        let long_key = vec![0xaa; 131];
        let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0x0c; 20],
                b"Test With Truncation".to_vec(),
                "a3b6167473100ee06e0c796c2955552b",
            ),
            (
                long_key.clone(),
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                long_key,
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (i, (key, data, want)) in cases.iter().enumerate() {
            let signer = HmacSigner::new(key);
            let got = signer.sign_bytes(data);
            let want = hex(want);
            assert_eq!(
                &got[..want.len()],
                &want[..],
                "RFC 4231 test case {}",
                i + 1
            );
        }
    }

    #[test]
    fn decimal_formatting_matches_std() {
        let mut cases = vec![
            0u64,
            1,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            u64::MAX,
            u64::MAX - 1,
        ];
        let mut p = 1u64;
        while let Some(q) = p.checked_mul(10) {
            cases.extend([p - 1, p, p + 1, q - 1]);
            p = q;
        }
        for v in cases {
            let mut b = StackBuf::new();
            b.put_u64(v);
            assert_eq!(b.as_bytes(), v.to_string().as_bytes(), "{v}");
        }
    }

    /// The in-place path (short messages), its one/two-block boundary, and the streaming
    /// fallback (long messages) all agree with the hmac crate.
    #[test]
    fn sign_agrees_with_hmac_crate_at_every_length() {
        struct Raw(Vec<u8>);
        impl crate::auth::Canonical for Raw {
            fn write_canonical<S: CanonicalSink + ?Sized>(&self, out: &mut S) {
                for chunk in self.0.chunks(7) {
                    out.put(chunk);
                }
            }
        }
        let key = b"key for every length";
        let signer = HmacSigner::new(key);
        for len in 0..300 {
            let msg: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let mut reference = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            reference.update(&msg);
            let want: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(signer.sign(&Raw(msg)), want, "length {len}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let s = format!("{:?}", HmacSigner::new(b"secret"));
        assert_eq!(s, "HmacSigner(<key schedule redacted>)");
    }

    proptest! {
        /// Any key, any message, any way of splitting it into `put` calls: same as the hmac crate.
        #[test]
        fn matches_hmac_crate(key in proptest::collection::vec(any::<u8>(), 0..200),
                              msg in proptest::collection::vec(any::<u8>(), 0..400),
                              cut in 0usize..400) {
            let signer = HmacSigner::new(&key);
            let mut reference = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            reference.update(&msg);
            let want: [u8; 32] = reference.finalize().into_bytes().into();
            let cut = cut.min(msg.len());
            let mut mac = signer.start();
            mac.put(&msg[..cut]);
            mac.put(&msg[cut..]);
            prop_assert_eq!(mac.finish(), want);
            prop_assert_eq!(signer.sign_bytes(&msg), want);
        }

        #[test]
        fn decimal_formatting_matches_std_for_any_u64(v in any::<u64>()) {
            let mut b = StackBuf::new();
            b.put(b"x");
            b.put_u64(v);
            let want = format!("x{v}");
            prop_assert_eq!(b.as_bytes(), want.as_bytes());
        }
    }
}
