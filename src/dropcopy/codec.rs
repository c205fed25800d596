//! FIX 4.2 tag=value codec: framer, zero-copy parser and in-place encoder.
//!
//! * [`frame`] splits a byte stream into messages using BeginString and BodyLength, and tells how
//!   many bytes to skip to resynchronise on the next `8=FIX` when the stream is garbled.
//! * [`parse`] checks BeginString (`FIX.4.2`), BodyLength (9), MsgType (35) position and CheckSum
//!   (10), and indexes every body field into a caller-owned [`FieldIndex`] (allocated once, never
//!   grown), so parsing does not allocate. Raw data fields (length tag immediately followed by its
//!   data tag: 95/96, 212/213, 354/355, 1401/1402, ...) are taken by length and may contain SOH.
//! * [`Encoder`] writes a message straight into a caller buffer, leaving room in front for
//!   `8=FIX.4.2|9=` and filling BodyLength and CheckSum at the end.

use super::time::{format_sending_time, SENDING_TIME_LEN};
use thiserror::Error;

/// Field delimiter.
pub const SOH: u8 = 0x01;
/// `8=FIX.4.2<SOH>9=`: every message starts with these 12 bytes.
pub const MSG_PREFIX: &[u8] = b"8=FIX.4.2\x019=";
/// Longest body accepted (a 35=n carries up to 8000 bytes of XMLData plus its header).
pub const MAX_BODY_LEN: usize = 32 * 1024;
/// Most body fields one message may have.
pub const MAX_FIELDS: usize = 512;
/// `10=ddd<SOH>`.
const TRAILER_LEN: usize = 7;
/// Bytes the encoder reserves in front of the body: `8=FIX.4.2<SOH>9=` + 5 digits + SOH.
pub const HEADER_RESERVE: usize = MSG_PREFIX.len() + 6;
/// Longest BodyLength the encoder can write (5 digits).
const MAX_ENCODED_BODY: usize = 99_999;

/// Why a message or a stream position is garbled. Offsets are from the start of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FixError {
    #[error("BeginString: message does not start with `8=FIX.4.2<SOH>`")]
    BadBeginString,
    #[error("BodyLength (9) missing: it must be the second field")]
    MissingBodyLength,
    #[error("BodyLength (9) is not a number of at most {} bytes", MAX_BODY_LEN)]
    BadBodyLength,
    #[error("BodyLength (9) = {declared} does not end right before CheckSum (10)")]
    BodyLengthMismatch { declared: usize },
    #[error("message truncated: {have} bytes, BodyLength needs {need}")]
    Truncated { have: usize, need: usize },
    #[error("CheckSum (10) field is not three digits followed by SOH")]
    BadChecksumField,
    #[error("CheckSum (10) = {declared:03} but the message sums to {computed:03}")]
    ChecksumMismatch { declared: u8, computed: u8 },
    #[error("MsgType (35) missing: it must be the third field")]
    MissingMsgType,
    #[error("field at byte {offset}: tag is not a positive integer followed by '='")]
    BadTag { offset: usize },
    #[error("field at byte {offset}: value is not terminated by SOH inside the body")]
    UnterminatedField { offset: usize },
    #[error("raw data length tag {tag} at byte {offset}: value is not a length")]
    BadRawDataLength { tag: u32, offset: usize },
    #[error("raw data tag {tag} at byte {offset}: {len} bytes run past the body or lack a SOH")]
    RawDataOverrun { tag: u32, offset: usize, len: usize },
    #[error("more than {} fields in one message", MAX_FIELDS)]
    TooManyFields,
    #[error("required tag {tag} missing")]
    MissingField { tag: u32 },
    #[error("tag {tag}: value malformed or out of range")]
    BadValue { tag: u32 },
    #[error("repeating group {count_tag}: declares {declared} entries, found {found}")]
    GroupCountMismatch {
        count_tag: u32,
        declared: usize,
        found: usize,
    },
}

/// Data tag that a raw-data length tag announces (FIX 4.2 `Length` + `data` pairs and CME's
/// 1401/1402).
#[inline(always)]
pub fn raw_data_tag(len_tag: u32) -> Option<u32> {
    Some(match len_tag {
        90 => 91,
        93 => 89,
        95 => 96,
        212 => 213,
        348 => 349,
        350 => 351,
        352 => 353,
        354 => 355,
        356 => 357,
        358 => 359,
        360 => 361,
        362 => 363,
        364 => 365,
        445 => 446,
        618 => 619,
        621 => 622,
        1401 => 1402,
        _ => return None,
    })
}

/// FIX checksum: sum of all bytes modulo 256.
#[inline]
pub fn checksum(bytes: &[u8]) -> u8 {
    // Summing into u32 lanes lets the compiler vectorise.
    let mut sum = 0u32;
    for &b in bytes {
        sum = sum.wrapping_add(u32::from(b));
    }
    sum as u8
}

/// One indexed field: positions into the message buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FieldPos {
    tag: u32,
    start: u32,
    end: u32,
}

/// A tag and its value (borrowed from the message buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub tag: u32,
    pub value: &'a [u8],
}

/// Reusable field index: allocated once with room for [`MAX_FIELDS`] fields and never grown.
#[derive(Debug)]
pub struct FieldIndex {
    fields: Box<[FieldPos]>,
    len: usize,
}

impl Default for FieldIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl FieldIndex {
    pub fn new() -> Self {
        FieldIndex {
            fields: vec![FieldPos::default(); MAX_FIELDS].into_boxed_slice(),
            len: 0,
        }
    }

    /// A placeholder without storage (every parse into it fails with `TooManyFields`), for
    /// swapping an index out of a struct without allocating.
    pub(crate) fn empty() -> Self {
        FieldIndex {
            fields: Box::default(),
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, f: FieldPos) -> Result<(), FixError> {
        let slot = self
            .fields
            .get_mut(self.len)
            .ok_or(FixError::TooManyFields)?;
        *slot = f;
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn clear(&mut self) {
        self.len = 0;
    }

    #[inline]
    fn as_slice(&self) -> &[FieldPos] {
        self.fields.get(..self.len).unwrap_or_default()
    }
}

#[inline]
fn parse_uint(s: &[u8], max_digits: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_digits {
        return None;
    }
    let mut v = 0u64;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

/// Parses a non-negative integer field value (at most 18 digits).
#[inline]
pub fn parse_u64(tag: u32, s: &[u8]) -> Result<u64, FixError> {
    parse_uint(s, 18).ok_or(FixError::BadValue { tag })
}

pub(crate) const LO: u64 = 0x0101_0101_0101_0101;
pub(crate) const HI: u64 = 0x8080_8080_8080_8080;

/// The number written by the low `n` (1-8) bytes of a little-endian word when they are all
/// ASCII digits (leading zeros allowed), without per-byte branches. Bytes above `n` are ignored.
#[inline(always)]
pub(crate) fn digits_swar(word: u64, n: usize) -> Option<u64> {
    if !(1..=8).contains(&n) {
        return None;
    }
    let mask = u64::MAX >> (64 - 8 * n);
    // Borrows only travel upwards, so the lowest non-digit byte is always flagged exactly.
    let d = word.wrapping_sub(LO * u64::from(b'0'));
    if (d | d.wrapping_add(LO * 0x76)) & HI & mask != 0 {
        return None;
    }
    // Digits to the top bytes (leading zeros below), then pairwise combine.
    let mut v = d << (8 * (8 - n));
    v = (v.wrapping_mul(10).wrapping_add(v >> 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100).wrapping_add(v >> 16)) & 0x0000_ffff_0000_ffff;
    v = (v.wrapping_mul(10_000).wrapping_add(v >> 32)) & 0xffff_ffff;
    Some(v)
}

/// [`digits_swar`] for exactly three digits (a body length or a CheckSum), with three small
/// multiplies instead of the pairwise combine.
#[inline(always)]
pub(crate) fn digits3(word: u64) -> Option<u64> {
    let d = (word as u32 & 0x00ff_ffff).wrapping_sub(0x0030_3030);
    if (d | d.wrapping_add(0x0076_7676)) & 0x0080_8080 != 0 {
        return None;
    }
    Some(u64::from(
        (d & 0xff) * 100 + (d >> 8 & 0xff) * 10 + (d >> 16),
    ))
}

/// Position of the lowest byte equal to `b` in `word` (exact for the lowest match; bytes above
/// it may be misreported, which callers never look at).
#[inline(always)]
pub(crate) fn find_byte(word: u64, b: u8) -> Option<usize> {
    let x = word ^ (LO * u64::from(b));
    let z = x.wrapping_sub(LO) & !x & HI;
    (z != 0).then(|| (z.trailing_zeros() / 8) as usize)
}

/// Tag of up to 7 digits followed by '=' in a little-endian word, without per-byte branches.
/// `None` sends the caller to [`tag_slow`] (longer tag, or an error to report).
#[inline(always)]
pub(crate) fn tag_swar(word: u64) -> Option<(u32, usize)> {
    let n = find_byte(word, b'=')?;
    if n == 0 || (word & 0xff) as u8 == b'0' {
        return None;
    }
    digits_swar(word, n).map(|v| (v as u32, n))
}

/// Byte-by-byte tag parse: 1-9 digits, no leading zero, then '='.
fn tag_slow(rest: &[u8]) -> Option<(u32, usize)> {
    let mut tag: u32 = 0;
    let mut n = 0usize;
    for &b in rest {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        tag = tag.wrapping_mul(10).wrapping_add(u32::from(d));
        n += 1;
    }
    if n == 0 || n > 9 || rest.first() == Some(&b'0') || rest.get(n) != Some(&b'=') {
        return None;
    }
    Some((tag, n))
}

/// Bit `i` set where `hay[i] == SOH`, for the first 64 bytes of `hay`: four vector compares when
/// 64 bytes are there (x86-64), else eight independent word computations. The field loop then
/// walks set bits instead of searching byte by byte, which keeps the per-field dependency chain
/// short.
#[inline]
fn soh_mask(hay: &[u8]) -> u64 {
    if let Some(mask) = super::scan::soh_mask64(hay) {
        return mask;
    }
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pattern = LO * u64::from(SOH);
    let mut mask = 0u64;
    let mut chunks = hay.chunks_exact(8);
    for (i, c) in (&mut chunks).take(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let x = u64::from_le_bytes(word) ^ pattern;
        // Exact zero-byte detector: high bit set only in bytes that are zero.
        let z = !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
        // Gather the eight high bits into one byte (byte k -> bit k).
        let bits = (z.wrapping_mul(0x0002_0408_1020_4081) >> 56) & 0xff;
        mask |= bits << (8 * i);
    }
    let full = hay.len().min(64) / 8 * 8;
    if full < 64 {
        for (i, &b) in hay.iter().enumerate().skip(full).take(64 - full) {
            if b == SOH {
                mask |= 1 << i;
            }
        }
    }
    mask
}

/// Indexes the fields of `buf[start..end]` (each `tag=value<SOH>`). Offsets in errors are relative
/// to `buf`.
fn scan_fields(buf: &[u8], start: usize, end: usize, idx: &mut FieldIndex) -> Result<(), FixError> {
    let body = buf.get(..end).ok_or(FixError::Truncated {
        have: buf.len(),
        need: end,
    })?;
    let mut field_start = start;
    // Data tag announced by the previous field (0: none), and its length.
    let mut raw_tag: u32 = 0;
    let mut raw_len: usize = 0;
    // Base of the 64-byte window whose SOH positions are in `mask`.
    let mut block = start;
    'blocks: while block < end {
        let mut mask = soh_mask(body.get(block..).unwrap_or_default());
        while mask != 0 {
            let soh = block + mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let bad_tag = FixError::BadTag {
                offset: field_start,
            };
            // Tag: 1-9 digits, no leading zero, then '='. Fast path: one 8-byte word (the
            // trailer after the body guarantees the bytes exist for all but tiny inputs).
            let word = buf
                .get(field_start..field_start + 8)
                .and_then(|w| <[u8; 8]>::try_from(w).ok())
                .map(u64::from_le_bytes);
            let (tag, n) = match word.and_then(tag_swar) {
                Some(t) => t,
                None => tag_slow(body.get(field_start..).unwrap_or_default()).ok_or(bad_tag)?,
            };
            let vstart = field_start + n + 1;
            if raw_tag != 0 {
                let (data_tag, len) = (raw_tag, raw_len);
                raw_tag = 0;
                if data_tag == tag {
                    let vend = vstart.saturating_add(len);
                    if vend >= end || body.get(vend) != Some(&SOH) {
                        return Err(FixError::RawDataOverrun {
                            tag,
                            offset: field_start,
                            len,
                        });
                    }
                    idx.push(FieldPos {
                        tag,
                        start: vstart as u32,
                        end: vend as u32,
                    })?;
                    field_start = vend + 1;
                    // The data may contain SOH: restart the window after it.
                    block = field_start;
                    continue 'blocks;
                }
            }
            if vstart > soh {
                // '=' missing before this SOH, or the tag ran past it.
                return Err(bad_tag);
            }
            if tag >= 90 {
                if let Some(data_tag) = raw_data_tag(tag) {
                    let v = body.get(vstart..soh).unwrap_or_default();
                    let len = parse_uint(v, 6).ok_or(FixError::BadRawDataLength {
                        tag,
                        offset: field_start,
                    })?;
                    raw_tag = data_tag;
                    raw_len = len as usize;
                }
            }
            idx.push(FieldPos {
                tag,
                start: vstart as u32,
                end: soh as u32,
            })?;
            field_start = soh + 1;
        }
        block += 64;
    }
    if field_start < end {
        return Err(FixError::UnterminatedField {
            offset: field_start,
        });
    }
    if raw_tag != 0 {
        // A length field as the last field: its data field is missing.
        return Err(FixError::MissingField { tag: raw_tag });
    }
    Ok(())
}

/// A read-only view of indexed fields (a whole message or one repeating-group entry).
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a, 'i> {
    buf: &'a [u8],
    fields: &'i [FieldPos],
}

impl<'a, 'i> Fields<'a, 'i> {
    #[inline]
    fn value(&self, f: &FieldPos) -> &'a [u8] {
        self.buf
            .get(f.start as usize..f.end as usize)
            .unwrap_or_default()
    }

    /// (tag, value start, value end) with positions into [`Fields::buf`].
    pub(crate) fn spans(&self) -> impl Iterator<Item = (u32, usize, usize)> + '_ {
        self.fields
            .iter()
            .map(|f| (f.tag, f.start as usize, f.end as usize))
    }

    /// The buffer the positions refer to.
    pub(crate) fn buf(&self) -> &'a [u8] {
        self.buf
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The `i`-th field.
    pub fn field(&self, i: usize) -> Option<Field<'a>> {
        self.fields.get(i).map(|f| Field {
            tag: f.tag,
            value: self.value(f),
        })
    }

    /// Fields in wire order.
    pub fn iter(&self) -> impl Iterator<Item = Field<'a>> + '_ {
        self.fields.iter().map(|f| Field {
            tag: f.tag,
            value: self.value(f),
        })
    }

    /// Value of the first occurrence of `tag`.
    #[inline]
    pub fn get(&self, tag: u32) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .find(|f| f.tag == tag)
            .map(|f| self.value(f))
    }

    /// Required field.
    pub fn require(&self, tag: u32) -> Result<&'a [u8], FixError> {
        self.get(tag).ok_or(FixError::MissingField { tag })
    }

    /// Required non-negative integer.
    pub fn get_u64(&self, tag: u32) -> Result<u64, FixError> {
        parse_u64(tag, self.require(tag)?)
    }

    /// Optional non-negative integer (present but malformed is an error).
    pub fn opt_u64(&self, tag: u32) -> Result<Option<u64>, FixError> {
        self.get(tag).map(|v| parse_u64(tag, v)).transpose()
    }

    /// `tag=Y`.
    pub fn flag(&self, tag: u32) -> bool {
        self.get(tag) == Some(b"Y")
    }

    /// Entries of the repeating group counted by `count_tag`. Every entry starts with
    /// `delimiter`; an entry runs while tags belong to `members` (the delimiter need not be
    /// listed). A missing count tag is an empty group; a count that disagrees with the entries
    /// found is [`FixError::GroupCountMismatch`].
    pub fn group(
        &self,
        count_tag: u32,
        delimiter: u32,
        members: &'i [u32],
    ) -> Result<Group<'a, 'i>, FixError> {
        let Some(at) = self.fields.iter().position(|f| f.tag == count_tag) else {
            return Ok(Group {
                buf: self.buf,
                rest: &[],
                delimiter,
                members,
                remaining: 0,
            });
        };
        let count = self
            .fields
            .get(at)
            .map(|f| self.value(f))
            .unwrap_or_default();
        let declared = parse_uint(count, 6).ok_or(FixError::BadValue { tag: count_tag })? as usize;
        let rest = self.fields.get(at + 1..).unwrap_or_default();
        let group = Group {
            buf: self.buf,
            rest,
            delimiter,
            members,
            remaining: declared,
        };
        let found = Group {
            remaining: usize::MAX,
            ..group
        }
        .count();
        if found != declared {
            return Err(FixError::GroupCountMismatch {
                count_tag,
                declared,
                found,
            });
        }
        Ok(group)
    }
}

/// Iterator over the entries of a repeating group.
#[derive(Debug, Clone, Copy)]
pub struct Group<'a, 'i> {
    buf: &'a [u8],
    rest: &'i [FieldPos],
    delimiter: u32,
    members: &'i [u32],
    remaining: usize,
}

impl<'a, 'i> Iterator for Group<'a, 'i> {
    type Item = Fields<'a, 'i>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let first = self.rest.first()?;
        if first.tag != self.delimiter {
            return None;
        }
        let len = 1 + self
            .rest
            .iter()
            .skip(1)
            .take_while(|f| f.tag != self.delimiter && self.members.contains(&f.tag))
            .count();
        let (entry, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        self.remaining -= 1;
        Some(Fields {
            buf: self.buf,
            fields: entry,
        })
    }
}

/// A parsed, checksum-verified message. Body fields only (8, 9 and 10 are checked, not indexed).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a, 'i> {
    raw: &'a [u8],
    fields: Fields<'a, 'i>,
    msg_type: &'a [u8],
}

impl<'a, 'i> Message<'a, 'i> {
    /// The whole message, `8=` to the trailer's SOH.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Tag 35.
    pub fn msg_type(&self) -> &'a [u8] {
        self.msg_type
    }

    /// Body fields (35 first).
    pub fn fields(&self) -> Fields<'a, 'i> {
        self.fields
    }

    /// Tag 34.
    pub fn seq_num(&self) -> Result<u64, FixError> {
        self.fields.get_u64(34)
    }

    /// Tag 43 PossDupFlag = Y.
    pub fn poss_dup(&self) -> bool {
        self.fields.flag(43)
    }
}

impl<'a, 'i> std::ops::Deref for Message<'a, 'i> {
    type Target = Fields<'a, 'i>;
    fn deref(&self) -> &Self::Target {
        &self.fields
    }
}

/// Parses exactly one message (as delimited by [`frame`]), verifying BeginString, BodyLength and
/// CheckSum. Fields are indexed into `index` (cleared first).
pub fn parse<'a, 'i>(
    buf: &'a [u8],
    index: &'i mut FieldIndex,
) -> Result<Message<'a, 'i>, FixError> {
    index.clear();
    let (body_start, body_end) = verify_frame(buf)?;
    scan_fields(buf, body_start, body_end, index)?;
    let fields = Fields {
        buf,
        fields: index.as_slice(),
    };
    let msg_type = match fields.fields.first() {
        Some(f) if f.tag == 35 && f.end > f.start => fields.value(f),
        _ => return Err(FixError::MissingMsgType),
    };
    Ok(Message {
        raw: buf,
        fields,
        msg_type,
    })
}

/// Verifies BeginString, BodyLength (the trailer starts right after the body and ends the
/// buffer) and CheckSum; returns the body's (start, end).
pub(crate) fn verify_frame(buf: &[u8]) -> Result<(usize, usize), FixError> {
    let (body_start, body_len) = header(buf)?;
    let body_end = body_start + body_len;
    let need = body_end + TRAILER_LEN;
    if buf.len() < need {
        return Err(FixError::Truncated {
            have: buf.len(),
            need,
        });
    }
    let trailer = buf.get(body_end..).unwrap_or_default();
    if buf.len() > need || !trailer.starts_with(b"10=") || body_len == 0 {
        return Err(FixError::BodyLengthMismatch { declared: body_len });
    }
    if trailer.get(6) != Some(&SOH) {
        return Err(FixError::BadChecksumField);
    }
    let declared = trailer
        .get(3..6)
        .and_then(|d| parse_uint(d, 3))
        .filter(|&v| v <= 255)
        .ok_or(FixError::BadChecksumField)? as u8;
    let computed = checksum(buf.get(..body_end).unwrap_or_default());
    if declared != computed {
        return Err(FixError::ChecksumMismatch { declared, computed });
    }
    Ok((body_start, body_end))
}

/// Indexes a bare field list (`tag=value<SOH>...`, no header or trailer): for embedded messages
/// that were stripped of their framing.
pub fn parse_fields<'a, 'i>(
    buf: &'a [u8],
    index: &'i mut FieldIndex,
) -> Result<Fields<'a, 'i>, FixError> {
    index.clear();
    scan_fields(buf, 0, buf.len(), index)?;
    Ok(Fields {
        buf,
        fields: index.as_slice(),
    })
}

/// Checks `8=FIX.4.2<SOH>9=N<SOH>`; returns (body start, body length).
fn header(buf: &[u8]) -> Result<(usize, usize), FixError> {
    if let Some((start, len)) = header_fast(buf).filter(|&(_, len)| len <= MAX_BODY_LEN) {
        return Ok((start, len));
    }
    let begin = MSG_PREFIX.len() - 2;
    if buf.get(..begin) != MSG_PREFIX.get(..begin) {
        return Err(FixError::BadBeginString);
    }
    if buf.get(begin..MSG_PREFIX.len()) != Some(b"9=") {
        return Err(FixError::MissingBodyLength);
    }
    let rest = buf.get(MSG_PREFIX.len()..).unwrap_or_default();
    let n = rest
        .iter()
        .take(7)
        .position(|&b| b == SOH)
        .ok_or(FixError::BadBodyLength)?;
    let len = parse_uint(rest.get(..n).unwrap_or_default(), 6)
        .filter(|&l| l as usize <= MAX_BODY_LEN)
        .ok_or(FixError::BadBodyLength)? as usize;
    Ok((MSG_PREFIX.len() + n + 1, len))
}

/// What [`frame`] found at the start of a stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A message occupies the first `n` bytes (checksum not yet verified: see [`parse`]).
    Complete(usize),
    /// The buffer holds the beginning of a message; read more.
    NeedMore,
    /// The buffer does not start with a well-framed message: drop `skip` bytes (up to the next
    /// `8=FIX`, or all but a possible partial `8=FIX` at the end).
    Garbled { skip: usize, error: FixError },
}

/// Little-endian word of the 8 bytes at `at`.
#[inline(always)]
pub(crate) fn load8(buf: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(buf.get(at..at + 8)?.try_into().ok()?))
}

/// Low `n` (0-8) bytes of a word.
#[inline(always)]
pub(crate) fn low_bytes(word: u64, n: usize) -> u64 {
    if n >= 8 {
        word
    } else {
        word & ((1u64 << (8 * n)) - 1)
    }
}

/// `8=FIX.4.` as a word.
pub(crate) const HEAD0: u64 = u64::from_le_bytes(*b"8=FIX.4.");
/// `2<SOH>9=` as the low half of a word.
pub(crate) const HEAD1: u64 = u32::from_le_bytes(*b"2\x019=") as u64;
/// `<SOH>10=` (the body's last byte, then the trailer) as the low half of a word.
pub(crate) const TRAILER_START: u64 = u32::from_le_bytes(*b"\x0110=") as u64;

/// The common case of [`frame`] (and of [`verify_frame`]'s header) in a few word operations:
/// `8=FIX.4.2<SOH>9=` and 1-6 digits then SOH. Returns (body start, body length); `None` leaves
/// the decision to the byte-wise code.
#[inline(always)]
pub(crate) fn header_fast(buf: &[u8]) -> Option<(usize, usize)> {
    if load8(buf, 0)? != HEAD0 || low_bytes(load8(buf, 8)?, 4) != HEAD1 {
        return None;
    }
    let len_word = load8(buf, MSG_PREFIX.len())?;
    // Three digits (100-999 bytes) is the common case.
    if (len_word >> 24) as u8 == SOH {
        if let Some(n) = digits3(len_word) {
            return Some((MSG_PREFIX.len() + 4, n as usize));
        }
    }
    let digits = find_byte(len_word, SOH).filter(|&n| n <= 6)?;
    let body_len = digits_swar(len_word, digits)? as usize;
    Some((MSG_PREFIX.len() + digits + 1, body_len))
}

/// Splits the next message off a stream buffer.
pub fn frame(buf: &[u8]) -> Frame {
    // Common case: a whole, well-framed message (or the start of one) in a few word checks.
    if let Some((body_start, body_len)) = header_fast(buf) {
        if body_len > 0 && body_len <= MAX_BODY_LEN {
            let total = body_start + body_len + TRAILER_LEN;
            if buf.len() < total {
                return Frame::NeedMore;
            }
            // `<SOH>10=???<SOH>` from the body's last byte to the end of the trailer.
            if let Some(t) = load8(buf, total - 8) {
                if low_bytes(t, 4) == TRAILER_START && (t >> 56) as u8 == SOH {
                    return Frame::Complete(total);
                }
            }
        }
    }
    frame_bytewise(buf)
}

/// [`frame`] for every case, byte by byte.
fn frame_bytewise(buf: &[u8]) -> Frame {
    if buf.is_empty() {
        return Frame::NeedMore;
    }
    let n = buf.len().min(MSG_PREFIX.len());
    if buf.get(..n) != MSG_PREFIX.get(..n) {
        let error = if buf.get(..n.min(10)) == MSG_PREFIX.get(..n.min(10)) {
            FixError::MissingBodyLength
        } else {
            FixError::BadBeginString
        };
        return garbled(buf, error);
    }
    if n < MSG_PREFIX.len() {
        return Frame::NeedMore;
    }
    let rest = buf.get(MSG_PREFIX.len()..).unwrap_or_default();
    let Some(digits) = rest.iter().take(7).position(|&b| b == SOH) else {
        if rest.len() < 7 && rest.iter().all(u8::is_ascii_digit) {
            return Frame::NeedMore;
        }
        return garbled(buf, FixError::BadBodyLength);
    };
    let Some(body_len) = parse_uint(rest.get(..digits).unwrap_or_default(), 6)
        .map(|l| l as usize)
        .filter(|&l| l > 0 && l <= MAX_BODY_LEN)
    else {
        return garbled(buf, FixError::BadBodyLength);
    };
    let body_start = MSG_PREFIX.len() + digits + 1;
    let body_end = body_start + body_len;
    let total = body_end + TRAILER_LEN;
    if buf.len() < total {
        return Frame::NeedMore;
    }
    let framed = buf.get(body_end - 1) == Some(&SOH)
        && buf.get(body_end..body_end + 3) == Some(b"10=")
        && buf.get(total - 1) == Some(&SOH);
    if !framed {
        return garbled(buf, FixError::BodyLengthMismatch { declared: body_len });
    }
    Frame::Complete(total)
}

fn garbled(buf: &[u8], error: FixError) -> Frame {
    const START: &[u8] = b"8=FIX";
    let skip = match buf
        .get(1..)
        .unwrap_or_default()
        .windows(START.len())
        .position(|w| w == START)
    {
        Some(i) => i + 1,
        None => {
            // Keep a tail that could be the start of the next message.
            let keep = (1..START.len().min(buf.len()))
                .rev()
                .find(|&k| buf.get(buf.len() - k..) == START.get(..k))
                .unwrap_or(0);
            buf.len() - keep
        }
    };
    Frame::Garbled { skip, error }
}

/// Why encoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("buffer of {capacity} bytes is too small for the message")]
    BufferTooSmall { capacity: usize },
    #[error("tag {tag}: value contains SOH (use a raw data field)")]
    SohInValue { tag: u32 },
    #[error("body of {len} bytes exceeds BodyLength's 5 digits")]
    BodyTooLong { len: usize },
}

/// Writes one message into a caller buffer. The body starts at [`HEADER_RESERVE`]; `finish`
/// writes `8=FIX.4.2|9=N|` right-aligned in front of it and appends `10=ddd|`.
pub struct Encoder<'b> {
    buf: &'b mut [u8],
    pos: usize,
    error: Option<EncodeError>,
}

impl<'b> Encoder<'b> {
    /// Starts a message of type `msg_type` (tag 35 is written first).
    pub fn new(buf: &'b mut [u8], msg_type: &[u8]) -> Self {
        let mut e = Encoder {
            buf,
            pos: HEADER_RESERVE,
            error: None,
        };
        e.put(b"35=");
        e.put(msg_type);
        e.put(&[SOH]);
        e
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos = end;
            }
            None => {
                self.error.get_or_insert(EncodeError::BufferTooSmall {
                    capacity: self.buf.len(),
                });
            }
        }
    }

    #[inline]
    fn tag(&mut self, tag: u32) {
        let mut b = itoa::Buffer::new();
        self.put(b.format(tag).as_bytes());
        self.put(b"=");
    }

    /// Appends preformatted `tag=value<SOH>` bytes (a precomputed header block).
    #[inline]
    pub fn raw_fields(&mut self, bytes: &[u8]) -> &mut Self {
        self.put(bytes);
        self
    }

    /// `tag=value`; the value must not contain SOH.
    pub fn str(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        if value.contains(&SOH) {
            self.error.get_or_insert(EncodeError::SohInValue { tag });
        }
        self.tag(tag);
        self.put(value);
        self.put(&[SOH]);
        self
    }

    /// Integer field.
    pub fn u64(&mut self, tag: u32, v: u64) -> &mut Self {
        let mut b = itoa::Buffer::new();
        self.tag(tag);
        self.put(b.format(v).as_bytes());
        self.put(&[SOH]);
        self
    }

    /// Single character field.
    pub fn char(&mut self, tag: u32, c: u8) -> &mut Self {
        self.str(tag, &[c])
    }

    /// UTCTimestamp `YYYYMMDD-HH:MM:SS.sss` from nanoseconds since the epoch; returns the text.
    pub fn timestamp(&mut self, tag: u32, ns: u64) -> [u8; SENDING_TIME_LEN] {
        let t = format_sending_time(ns);
        self.str(tag, &t);
        t
    }

    /// Raw data pair: `len_tag=<len>` then `data_tag=<data>` (data may contain SOH).
    pub fn raw_data(&mut self, len_tag: u32, data_tag: u32, data: &[u8]) -> &mut Self {
        self.u64(len_tag, data.len() as u64);
        self.tag(data_tag);
        self.put(data);
        self.put(&[SOH]);
        self
    }

    /// Fills BodyLength and CheckSum; returns where the message lies in the buffer.
    pub fn finish(self) -> Result<std::ops::Range<usize>, EncodeError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let body_len = self.pos - HEADER_RESERVE;
        if body_len > MAX_ENCODED_BODY {
            return Err(EncodeError::BodyTooLong { len: body_len });
        }
        let mut b = itoa::Buffer::new();
        let digits = b.format(body_len).as_bytes();
        let start = HEADER_RESERVE - MSG_PREFIX.len() - digits.len() - 1;
        let capacity = self.buf.len();
        let too_small = EncodeError::BufferTooSmall { capacity };
        let head = self.buf.get_mut(start..HEADER_RESERVE).ok_or(too_small)?;
        let (prefix, rest) = head.split_at_mut(MSG_PREFIX.len());
        prefix.copy_from_slice(MSG_PREFIX);
        let (d, soh) = rest.split_at_mut(digits.len());
        d.copy_from_slice(digits);
        soh.copy_from_slice(&[SOH]);
        let sum = checksum(self.buf.get(start..self.pos).ok_or(too_small)?);
        let end = self.pos + TRAILER_LEN;
        let trailer = self.buf.get_mut(self.pos..end).ok_or(too_small)?;
        trailer.copy_from_slice(&[
            b'1',
            b'0',
            b'=',
            b'0' + sum / 100,
            b'0' + (sum / 10) % 10,
            b'0' + sum % 10,
            SOH,
        ]);
        Ok(start..end)
    }

    /// Like [`finish`](Self::finish) but moves the message to the start of the buffer; returns
    /// its length.
    pub fn finish_compact(self) -> Result<usize, EncodeError> {
        let Encoder { buf, pos, error } = self;
        let range = Encoder {
            buf: &mut *buf,
            pos,
            error,
        }
        .finish()?;
        let len = range.len();
        buf.copy_within(range, 0);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits3_reads_three_digits_only() {
        // Every byte triple over the digits and their neighbours (borrows and carries between
        // lanes), and every value.
        let alphabet = [0u8, 1, b'/', b'0', b'5', b'9', b':', 0x7f, 0x80, 0xc6, 0xff];
        for &a in &alphabet {
            for &b in &alphabet {
                for &c in &alphabet {
                    for high in [0u64, u64::MAX << 24] {
                        let word = u64::from(u32::from_le_bytes([a, b, c, 0])) | high;
                        assert_eq!(digits3(word), digits_swar(word, 3), "{a:?} {b:?} {c:?}");
                    }
                }
            }
        }
        for n in 0..1000u64 {
            let word =
                u64::from_le_bytes(*format!("{n:03}=xxxx").as_bytes().first_chunk().unwrap());
            assert_eq!(digits3(word), Some(n));
        }
    }

    /// Builds a framed message from a body given with `|` for SOH.
    pub(crate) fn msg(body: &str) -> Vec<u8> {
        let body = body.replace('|', "\x01");
        let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
        let sum = checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        m
    }

    #[test]
    fn parses_and_indexes_fields() {
        let m = msg("35=8|34=7|49=CME|56=ABC123N|55=ESZ4|44=5000.25|");
        let mut idx = FieldIndex::new();
        let p = parse(&m, &mut idx).unwrap();
        assert_eq!(p.msg_type(), b"8");
        assert_eq!(p.seq_num(), Ok(7));
        assert_eq!(p.get(55), Some(&b"ESZ4"[..]));
        assert_eq!(p.get(999), None);
        assert_eq!(p.len(), 6);
        assert_eq!(p.get_u64(49), Err(FixError::BadValue { tag: 49 }));
        assert_eq!(p.get_u64(11), Err(FixError::MissingField { tag: 11 }));
    }

    #[test]
    fn raw_data_may_contain_soh() {
        let m = msg("35=n|34=2|212=9|213=a=1|b=2|x|58=t|");
        let mut idx = FieldIndex::new();
        let p = parse(&m, &mut idx).unwrap();
        assert_eq!(p.get(213), Some(&b"a=1\x01b=2\x01x"[..]));
        assert_eq!(p.get(58), Some(&b"t"[..]));
        let bad = msg("35=n|34=2|212=50|213=short|");
        assert!(matches!(
            parse(&bad, &mut idx),
            Err(FixError::RawDataOverrun { tag: 213, .. })
        ));
        let bad = msg("35=n|34=2|212=x|213=short|");
        assert!(matches!(
            parse(&bad, &mut idx),
            Err(FixError::BadRawDataLength { tag: 212, .. })
        ));
    }

    #[test]
    fn rejects_bad_checksum_length_and_begin_string() {
        let mut idx = FieldIndex::new();
        let mut m = msg("35=0|34=1|");
        let n = m.len();
        m[n - 2] = if m[n - 2] == b'9' { b'0' } else { m[n - 2] + 1 };
        assert!(matches!(
            parse(&m, &mut idx),
            Err(FixError::ChecksumMismatch { .. })
        ));
        let m = msg("35=0|34=1|");
        let s = String::from_utf8(m).unwrap().replace("9=10", "9=11");
        assert!(matches!(
            parse(s.as_bytes(), &mut idx),
            Err(FixError::Truncated { .. }) | Err(FixError::BodyLengthMismatch { .. })
        ));
        let s = String::from_utf8(msg("35=0|34=1|"))
            .unwrap()
            .replace("FIX.4.2", "FIX.4.4");
        assert_eq!(
            parse(s.as_bytes(), &mut idx).err(),
            Some(FixError::BadBeginString)
        );
        let m = msg("34=1|35=0|");
        assert_eq!(parse(&m, &mut idx).err(), Some(FixError::MissingMsgType));
        let m = msg("35=0|034=1|");
        assert!(matches!(parse(&m, &mut idx), Err(FixError::BadTag { .. })));
    }

    #[test]
    fn repeating_groups() {
        let m = msg("35=8|34=3|1362=2|1363=F1|1364=1.5|1365=2|1363=F2|1364=1.75|1365=3|58=x|");
        let mut idx = FieldIndex::new();
        let p = parse(&m, &mut idx).unwrap();
        let fills: Vec<_> = p
            .group(1362, 1363, &[1364, 1365])
            .unwrap()
            .map(|e| (e.get(1363).unwrap(), e.get_u64(1365).unwrap()))
            .collect();
        assert_eq!(fills, vec![(&b"F1"[..], 2), (&b"F2"[..], 3)]);
        assert_eq!(p.group(382, 375, &[337]).unwrap().count(), 0);
        let m = msg("35=8|34=3|1362=3|1363=F1|1364=1.5|1363=F2|58=x|");
        let p = parse(&m, &mut idx).unwrap();
        assert_eq!(
            p.group(1362, 1363, &[1364, 1365]).err(),
            Some(FixError::GroupCountMismatch {
                count_tag: 1362,
                declared: 3,
                found: 2
            })
        );
    }

    #[test]
    fn framer_splits_waits_and_resyncs() {
        let a = msg("35=0|34=1|");
        let b = msg("35=n|34=2|212=5|213=8=FIX|");
        let mut stream = a.clone();
        stream.extend_from_slice(&b);
        assert_eq!(frame(&stream), Frame::Complete(a.len()));
        assert_eq!(frame(&stream[a.len()..]), Frame::Complete(b.len()));
        for cut in 0..a.len() {
            assert_eq!(frame(&a[..cut]), Frame::NeedMore, "cut at {cut}");
        }
        let mut junk = b"xx8=FIY".to_vec();
        junk.extend_from_slice(&a);
        match frame(&junk) {
            Frame::Garbled { skip, error } => {
                assert_eq!(skip, 7);
                assert_eq!(error, FixError::BadBeginString);
                assert_eq!(frame(&junk[skip..]), Frame::Complete(a.len()));
            }
            other => panic!("{other:?}"),
        }
        // Tail that may start the next message is kept.
        assert_eq!(
            frame(b"garbage8=F"),
            Frame::Garbled {
                skip: 7,
                error: FixError::BadBeginString
            }
        );
        // Wrong BodyLength: skip to the next message.
        let bad = String::from_utf8(a.clone()).unwrap().replace("9=10", "9=8");
        let mut s = bad.into_bytes();
        s.extend_from_slice(&a);
        match frame(&s) {
            Frame::Garbled { skip, error } => {
                assert_eq!(error, FixError::BodyLengthMismatch { declared: 8 });
                assert_eq!(frame(&s[skip..]), Frame::Complete(a.len()));
                assert_eq!(skip, a.len() - 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encoder_fills_body_length_and_checksum() {
        let mut buf = [0u8; 256];
        let mut e = Encoder::new(&mut buf, b"0");
        e.u64(34, 12).str(49, b"ABC").raw_data(212, 213, b"a\x01b");
        let r = e.finish().unwrap();
        let m = &buf[r];
        let mut idx = FieldIndex::new();
        let p = parse(m, &mut idx).unwrap();
        assert_eq!(p.msg_type(), b"0");
        assert_eq!(p.get(213), Some(&b"a\x01b"[..]));
        assert_eq!(m, &msg("35=0|34=12|49=ABC|212=3|213=a|b|")[..]);

        let mut small = [0u8; 30];
        let mut e = Encoder::new(&mut small, b"0");
        e.str(58, b"this is far too long for thirty bytes");
        assert_eq!(
            e.finish(),
            Err(EncodeError::BufferTooSmall { capacity: 30 })
        );
        let mut buf = [0u8; 64];
        let mut e = Encoder::new(&mut buf, b"0");
        e.str(58, b"a\x01b");
        assert_eq!(e.finish(), Err(EncodeError::SohInValue { tag: 58 }));
        let mut buf = [0u8; 64];
        let mut e = Encoder::new(&mut buf, b"0");
        e.u64(34, 1);
        let n = e.finish_compact().unwrap();
        assert_eq!(&buf[..n], &msg("35=0|34=1|")[..]);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn field() -> impl Strategy<Value = (u32, Vec<u8>)> {
        (
            (11u32..100_000).prop_filter("not a raw data tag", |t| {
                raw_data_tag(*t).is_none()
                    && !matches!(t, 91 | 89 | 96 | 213 | 349 | 351 | 353 | 355 | 357 | 359)
                    && !matches!(t, 361 | 363 | 365 | 446 | 619 | 622 | 1402)
            }),
            prop::collection::vec(0x20u8..0x7f, 1..24),
        )
    }

    proptest! {
        /// Encode then parse gives back the same fields, raw data included.
        #[test]
        fn encode_parse_round_trip(
            msg_type in "[0-9A-Za-z]{1,2}",
            fields in prop::collection::vec(field(), 0..30),
            data in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut buf = vec![0u8; 4096];
            let mut e = Encoder::new(&mut buf, msg_type.as_bytes());
            for (t, v) in &fields {
                e.str(*t, v);
            }
            e.raw_data(212, 213, &data);
            let r = e.finish().unwrap();
            let mut idx = FieldIndex::new();
            let m = &buf[r];
            prop_assert_eq!(frame(m), Frame::Complete(m.len()));
            let p = parse(m, &mut idx).unwrap();
            prop_assert_eq!(p.msg_type(), msg_type.as_bytes());
            let got: Vec<(u32, Vec<u8>)> = p.iter().skip(1).map(|f| (f.tag, f.value.to_vec())).collect();
            let mut want = fields.clone();
            want.push((212, data.len().to_string().into_bytes()));
            want.push((213, data.clone()));
            prop_assert_eq!(got, want);
        }

        /// Arbitrary bytes never panic the framer or the parser, and the framer always makes
        /// progress on garbage.
        #[test]
        fn framer_and_parser_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let mut idx = FieldIndex::new();
            let _ = parse(&bytes, &mut idx);
            let _ = parse_fields(&bytes, &mut idx);
            let mut rest = &bytes[..];
            loop {
                match frame(rest) {
                    Frame::NeedMore => break,
                    Frame::Complete(n) | Frame::Garbled { skip: n, .. } => {
                        prop_assert!(n >= 1 && n <= rest.len());
                        if let Frame::Complete(_) = frame(rest) {
                            let _ = parse(&rest[..n], &mut idx);
                        }
                        rest = &rest[n..];
                    }
                }
            }
        }

        #[test]
    fn soh_mask_matches_naive(hay in prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0x80, 0x81, 0xff, b'=']), 0..80)) {
        let mut want = 0u64;
        for (i, &b) in hay.iter().enumerate().take(64) {
            if b == SOH {
                want |= 1 << i;
            }
        }
        prop_assert_eq!(soh_mask(&hay), want);
    }

    /// The word-check framer gives the byte-wise framer's answer on valid messages, their
    /// prefixes and one-byte mutations of them.
    #[test]
    fn frame_matches_bytewise(
        body_len in 1usize..40,
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        b in prop::sample::select(b"0189=\x01F.X".to_vec()),
        mutate in any::<bool>(),
        extra in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        let body: Vec<u8> = (0..body_len).map(|i| if i % 5 == 4 { SOH } else { b'1' }).collect();
        let mut m = format!("8=FIX.4.2\x019={}\x01", body.len()).into_bytes();
        m.extend_from_slice(&body);
        let sum = checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        if mutate {
            let i = at.index(m.len());
            m[i] = b;
        }
        m.extend_from_slice(&extra);
        let m = &m[..cut.index(m.len() + 1)];
        prop_assert_eq!(frame(m), frame_bytewise(m));
        let mut idx = FieldIndex::new();
        let _ = parse(m, &mut idx);
    }

    /// The three-digit reader agrees with the general one on any word.
    #[test]
    fn digits3_agrees_with_digits_swar(bytes in prop::collection::vec(any::<u8>(), 8)) {
        let word = u64::from_le_bytes(bytes.try_into().unwrap());
        prop_assert_eq!(digits3(word), digits_swar(word, 3));
    }

    /// The word-at-a-time tag parser agrees with the byte-by-byte one.
    #[test]
    fn tag_swar_matches_slow(bytes in prop::collection::vec(prop::sample::select(b"0123456789=x\x01".to_vec()), 8)) {
        let word = u64::from_le_bytes(bytes.clone().try_into().unwrap());
        if let Some(fast) = tag_swar(word) {
            prop_assert_eq!(Some(fast), tag_slow(&bytes));
        }
    }

    #[test]
    fn tag_swar_all_lengths(tag in 1u32..10_000_000) {
        let mut s = format!("{tag}=").into_bytes();
        s.resize(8, b'x');
        let word = u64::from_le_bytes(s.clone().try_into().unwrap());
        prop_assert_eq!(tag_swar(word), Some((tag, tag.to_string().len())));
    }

    /// A valid message with one byte changed is either still framed and parsed, or reported
        /// as an error; never a panic.
        #[test]
        fn mutated_messages_never_panic(i in any::<prop::sample::Index>(), b in any::<u8>()) {
            let mut buf = vec![0u8; 512];
            let mut e = Encoder::new(&mut buf, b"8");
            e.u64(34, 9).str(49, b"CME").raw_data(212, 213, b"8=FIX.4.2\x019=3\x01").str(55, b"ESZ4");
            let r = e.finish().unwrap();
            let mut m = buf[r].to_vec();
            let n = m.len();
            m[i.index(n)] = b;
            let mut idx = FieldIndex::new();
            let _ = parse(&m, &mut idx);
            let _ = frame(&m);
        }
    }
}
