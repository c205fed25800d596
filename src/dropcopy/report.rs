//! Drop Copy business messages: ExecutionReport (35=8) and XMLnonFIX (35=n, whose 213 XMLData
//! carries the original FIX message) decoded into a typed [`DropCopyReport`] that borrows from
//! the input, with [`OwnedDropCopyReport`] for publishing.

use super::codec::{
    digits3, digits_swar, find_byte, header_fast, load8, low_bytes, parse, parse_fields, parse_u64,
    FieldIndex, Fields, FixError, HI, LO, MAX_FIELDS, SOH, TRAILER_START,
};
use super::scan::{BlockScan, SCAN_MAX};
use super::time::parse_utc_timestamp;
use std::fmt;

/// Fixed-point decimal: mantissa with exponent -9 (the iLink 3 PRICE9 convention). Parsed from
/// the decimal text exactly, never through `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal9(pub i64);

impl Decimal9 {
    pub const SCALE: i64 = 1_000_000_000;

    /// Parses `[-]digits[.digits]` with at most 9 fractional digits.
    pub fn parse(tag: u32, s: &[u8]) -> Result<Self, FixError> {
        let bad = FixError::BadValue { tag };
        let (neg, digits) = match s.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, s),
        };
        let (int, frac) = match digits.iter().position(|&b| b == b'.') {
            Some(i) => (
                digits.get(..i).unwrap_or_default(),
                digits.get(i + 1..).unwrap_or_default(),
            ),
            None => (digits, &[][..]),
        };
        if (int.is_empty() && frac.is_empty()) || frac.len() > 9 || int.len() > 18 {
            return Err(bad);
        }
        let mut m: i64 = 0;
        let mut bad_digit = false;
        for &b in int {
            let d = b.wrapping_sub(b'0');
            bad_digit |= d > 9;
            m = m.wrapping_mul(10).wrapping_add(i64::from(d));
        }
        // Up to 18 digits cannot overflow an i64 (checked on the scaled value below).
        if bad_digit {
            return Err(bad);
        }
        let mut f: i64 = 0;
        for &b in frac {
            let d = b.wrapping_sub(b'0');
            bad_digit |= d > 9;
            f = f * 10 + i64::from(d);
        }
        if bad_digit {
            return Err(bad);
        }
        let scale = DIGIT_WEIGHT.get(frac.len()).copied().ok_or(bad)?;
        let v = m
            .checked_mul(Self::SCALE)
            .and_then(|v| v.checked_add(f * scale))
            .ok_or(bad)?;
        Ok(Decimal9(if neg { -v } else { v }))
    }
}

impl fmt::Display for Decimal9 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let (int, mut frac) = (a / Self::SCALE as u64, a % Self::SCALE as u64);
        if frac == 0 {
            return write!(f, "{sign}{int}");
        }
        let mut width = 9;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        write!(f, "{sign}{int}.{frac:0width$}")
    }
}

/// A FIX MsgType (35) of one or two characters (`8`, `G`, `BZ`), held inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsgType {
    bytes: [u8; 2],
    len: u8,
}

impl MsgType {
    /// 35=8.
    pub const EXECUTION_REPORT: MsgType = MsgType {
        bytes: [b'8', 0],
        len: 1,
    };

    /// 35=9.
    pub const ORDER_CANCEL_REJECT: MsgType = MsgType {
        bytes: [b'9', 0],
        len: 1,
    };

    /// `None` unless `v` is one or two printable ASCII characters.
    pub fn new(v: &[u8]) -> Option<MsgType> {
        match v {
            [a] if a.is_ascii_graphic() => Some(MsgType {
                bytes: [*a, 0],
                len: 1,
            }),
            [a, b] if a.is_ascii_graphic() && b.is_ascii_graphic() => Some(MsgType {
                bytes: [*a, *b],
                len: 2,
            }),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        // Printable ASCII by construction.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl fmt::Display for MsgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which message carried the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportSource {
    /// 35=8.
    ExecutionReport,
    /// 35=n whose 213 XMLData holds a FIX message (CME wraps it in `<RTRF>...</RTRF>`; the bare
    /// form is accepted too); `inner_msg_type` is the embedded message's 35 (`8`, `BZ`, `G`...).
    XmlNonFix { inner_msg_type: MsgType },
    /// 35=n whose 213 XMLData holds an original iLink 3 (SBE) message: only its template id is
    /// decoded; the bytes are in [`DropCopyReport::inner`].
    IlinkBinary { template_id: u16 },
    /// 35=9 OrderCancelReject (a rejected cancel or cancel/replace); its own fields are in
    /// [`DropCopyReport::reject`].
    CancelReject,
}

impl ReportSource {
    /// The `source` of a tail line: `execution_report` for a 35=8, bare or embedded in a 35=n;
    /// `cancel_reject` for a 35=9, bare or embedded in a 35=n; `xml_non_fix` for a 35=n
    /// embedding another FIX message; `ilink_binary` for a 35=n embedding an iLink 3 (SBE)
    /// message.
    pub fn name(&self) -> &'static str {
        match self {
            ReportSource::ExecutionReport => "execution_report",
            ReportSource::CancelReject => "cancel_reject",
            ReportSource::XmlNonFix { inner_msg_type }
                if *inner_msg_type == MsgType::EXECUTION_REPORT =>
            {
                "execution_report"
            }
            ReportSource::XmlNonFix { inner_msg_type }
                if *inner_msg_type == MsgType::ORDER_CANCEL_REJECT =>
            {
                "cancel_reject"
            }
            ReportSource::XmlNonFix { .. } => "xml_non_fix",
            ReportSource::IlinkBinary { .. } => "ilink_binary",
        }
    }
}

/// A Drop Copy execution report, borrowing its strings from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropCopyReport<'a> {
    pub source: ReportSource,
    /// Outer 34.
    pub seq_num: u64,
    /// 43=Y on the outer message or (35=n) on the embedded one.
    pub poss_dup: bool,
    /// 97=Y on the outer message or (35=n) on the embedded one.
    pub poss_resend: bool,
    /// Outer 52 (as sent).
    pub sending_time: &'a str,
    /// 37.
    pub order_id: Option<&'a str>,
    /// 11.
    pub cl_ord_id: Option<&'a str>,
    /// 17.
    pub exec_id: Option<&'a str>,
    /// 150.
    pub exec_type: Option<u8>,
    /// 39.
    pub ord_status: Option<u8>,
    /// 55.
    pub symbol: Option<&'a str>,
    /// 48.
    pub security_id: Option<&'a str>,
    /// 54.
    pub side: Option<u8>,
    /// 38.
    pub order_qty: Option<Decimal9>,
    /// 44.
    pub price: Option<Decimal9>,
    /// 32.
    pub last_qty: Option<Decimal9>,
    /// 31.
    pub last_px: Option<Decimal9>,
    /// 14.
    pub cum_qty: Option<Decimal9>,
    /// 151.
    pub leaves_qty: Option<Decimal9>,
    /// 60 (as sent); see [`DropCopyReport::transact_time_ns`].
    pub transact_time: Option<&'a str>,
    /// The whole outer message.
    pub raw: &'a [u8],
    /// For 35=n: the embedded message (213, without the `<RTRF>` element around it).
    pub inner: Option<&'a [u8]>,
    /// The OrderCancelReject fields of a 35=9 (bare or embedded in a 35=n); `None` for every
    /// other message.
    pub reject: Option<CancelReject<'a>>,
}

/// The fields of an OrderCancelReject (35=9) beyond those of [`DropCopyReport`] (CME's
/// "Order Cancel and Order Cancel-Replace Reject": 11 ClOrdID, 17 ExecID, 37 OrderID,
/// 39 OrdStatus, 48 SecurityID and 60 TransactTime are read into the report's own fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CancelReject<'a> {
    /// 41 OrigClOrdID: the last accepted ClOrdID of the order chain (`0` when the request did
    /// not name one).
    pub orig_cl_ord_id: Option<&'a str>,
    /// 434 CxlRejResponseTo: `1` a cancel request was rejected, `2` a cancel/replace request.
    pub response_to: Option<u8>,
    /// 102 CxlRejReason (CME's reject code, e.g. 2045 "This order is not in the book").
    pub reason: Option<u32>,
    /// 58 Text: why, in words.
    pub text: Option<&'a str>,
    /// 1 Account.
    pub account: Option<&'a str>,
}

impl<'a> CancelReject<'a> {
    /// Reads field `tag` if it is one of the reject's own; `text` gives the value as a string.
    fn set(
        &mut self,
        tag: u32,
        v: &[u8],
        text: impl FnOnce() -> Result<&'a str, FixError>,
    ) -> Result<(), FixError> {
        match tag {
            41 if self.orig_cl_ord_id.is_none() => self.orig_cl_ord_id = Some(text()?),
            434 if self.response_to.is_none() => self.response_to = Some(one_char(tag, v)?),
            102 if self.reason.is_none() => {
                let n = parse_u64(tag, v)?;
                self.reason = Some(u32::try_from(n).map_err(|_| FixError::BadValue { tag })?);
            }
            58 if self.text.is_none() => self.text = Some(text()?),
            1 if self.account.is_none() => self.account = Some(text()?),
            _ => {}
        }
        Ok(())
    }
}

#[inline(always)]
fn one_char(tag: u32, v: &[u8]) -> Result<u8, FixError> {
    match v {
        [c] => Ok(*c),
        _ => Err(FixError::BadValue { tag }),
    }
}

/// Why a message is not a usable Drop Copy report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("outer message: {0}")]
    Outer(FixError),
    #[error("embedded message in 213: {0}")]
    Inner(FixError),
    #[error("213 XMLData: {0}")]
    Envelope(&'static str),
    #[error("MsgType {0:?} is not an ExecutionReport (8), OrderCancelReject (9) or XMLnonFIX (n)")]
    NotAReport(u8),
}

/// Reusable parser (two field indexes: outer message and embedded message); never allocates
/// after construction.
#[derive(Debug, Default)]
pub struct ReportParser {
    outer: FieldIndex,
    inner: FieldIndex,
}

impl ReportParser {
    pub fn new() -> Self {
        ReportParser {
            outer: FieldIndex::new(),
            inner: FieldIndex::new(),
        }
    }

    /// Parses and verifies a whole framed message (BeginString, BodyLength, CheckSum, every
    /// tag) and extracts the report fields.
    ///
    /// A plain, valid ExecutionReport (35=8 without raw-data fields) takes a single fused pass
    /// (verify, scan, extract; no field index); anything else, errors included, goes through the
    /// indexed path, so both give the same result for every input (a property test checks it).
    pub fn parse<'a>(&mut self, raw: &'a [u8]) -> Result<DropCopyReport<'a>, ReportError> {
        match exec_report_fast(raw) {
            Some(r) => Ok(r),
            None => self.parse_indexed(raw),
        }
    }

    /// The general path: index every field, then extract.
    #[inline(never)]
    fn parse_indexed<'a>(&mut self, raw: &'a [u8]) -> Result<DropCopyReport<'a>, ReportError> {
        let msg = parse(raw, &mut self.outer).map_err(ReportError::Outer)?;
        let mut r = DropCopyReport::empty(ReportSource::ExecutionReport, raw);
        let xml_data = match msg.msg_type() {
            b"8" => r.fill(&msg.fields(), true).map_err(ReportError::Outer)?,
            b"9" => {
                r.source = ReportSource::CancelReject;
                r.reject = Some(CancelReject::default());
                r.fill(&msg.fields(), true).map_err(ReportError::Outer)?
            }
            b"n" => r.fill(&msg.fields(), true).map_err(ReportError::Outer)?,
            other => return Err(ReportError::NotAReport(other.first().copied().unwrap_or(0))),
        };
        if r.seq_num == 0 {
            return Err(ReportError::Outer(FixError::MissingField { tag: 34 }));
        }
        if r.sending_time.is_empty() {
            return Err(ReportError::Outer(FixError::MissingField { tag: 52 }));
        }
        if msg.msg_type() == b"n" {
            let data = xml_data.ok_or(ReportError::Outer(FixError::MissingField { tag: 213 }))?;
            let data = unwrap_rtrf(data)?;
            r.inner = Some(data);
            if let Some(template_id) = sbe_template_id(data) {
                r.source = ReportSource::IlinkBinary { template_id };
                return Ok(r);
            }
            let inner = if data.starts_with(b"8=") {
                let m = parse(data, &mut self.inner).map_err(ReportError::Inner)?;
                m.fields()
            } else {
                parse_fields(data, &mut self.inner).map_err(ReportError::Inner)?
            };
            let inner_msg_type = match inner.field(0) {
                Some(f) if f.tag == 35 => MsgType::new(f.value)
                    .ok_or(ReportError::Inner(FixError::BadValue { tag: 35 }))?,
                _ => return Err(ReportError::Inner(FixError::MissingMsgType)),
            };
            r.source = ReportSource::XmlNonFix { inner_msg_type };
            if inner_msg_type == MsgType::ORDER_CANCEL_REJECT {
                r.reject = Some(CancelReject::default());
            }
            r.fill(&inner, false).map_err(ReportError::Inner)?;
            // PossDup / PossResend may be set on either header (CME: 43=Y on resent business
            // messages, 97=Y on in-flight ones passed on after a fail-over).
            r.poss_dup |= inner.flag(43);
            r.poss_resend |= inner.flag(97);
        }
        Ok(r)
    }
}

/// CME's XML element around the embedded message in 213.
const RTRF_OPEN: &[u8] = b"<RTRF>";
const RTRF_CLOSE: &[u8] = b"</RTRF>";

/// The payload of 213 XMLData: CME's form `<RTRF>message</RTRF>` (ASCII whitespace around the
/// element tolerated), or the bare message.
fn unwrap_rtrf(data: &[u8]) -> Result<&[u8], ReportError> {
    let trimmed = data.trim_ascii();
    if !trimmed.starts_with(b"<") {
        return Ok(data);
    }
    let inner = trimmed
        .strip_prefix(RTRF_OPEN)
        .ok_or(ReportError::Envelope("XML element other than <RTRF>"))?;
    inner
        .strip_suffix(RTRF_CLOSE)
        .ok_or(ReportError::Envelope("<RTRF> without its closing </RTRF>"))
}

/// The template id of an iLink 3 SBE message (with its Simple Open Framing Header, EncodingType
/// 0xCAFE, or from the SBE message header alone), recognised by schema id 8: a FIX message
/// cannot hold the NUL byte of that header.
fn sbe_template_id(data: &[u8]) -> Option<u16> {
    use crate::ilink3::{SBE_ENCODING_TYPE, SCHEMA_ID, SOFH_LEN};
    let le16 = |b: &[u8], at: usize| {
        b.get(at..)
            .and_then(|x| x.first_chunk::<2>())
            .map(|a| u16::from_le_bytes(*a))
    };
    let header = if le16(data, 2) == Some(SBE_ENCODING_TYPE) {
        data.get(SOFH_LEN..)?
    } else {
        data
    };
    // blockLength u16, templateId u16, schemaId u16, version u16.
    (le16(header, 4)? == SCHEMA_ID && header.len() >= 8).then(|| le16(header, 2))?
}

/// `10^(9 - f)`: the Decimal9 weight of the last digit of a value with `f` fraction digits.
const DIGIT_WEIGHT: [i64; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// A decimal of 1-8 bytes (`digits[.digits]`, no sign) held in the low bytes of `word`, without
/// per-byte branches. `None` for anything else (the caller then uses [`Decimal9::parse`], which
/// accepts exactly the same texts plus longer and negative ones).
#[inline(always)]
fn decimal_word(word: u64, len: usize) -> Option<Decimal9> {
    if !(1..=8).contains(&len) {
        return None;
    }
    // Quantities are mostly one or two digits: no point search, no multiply chain.
    if len <= 2 {
        let d0 = (word as u8).wrapping_sub(b'0');
        let d1 = ((word >> 8) as u8).wrapping_sub(b'0');
        let v = if len == 1 {
            (d0 <= 9).then_some(i64::from(d0))
        } else {
            (d0 <= 9 && d1 <= 9).then_some(i64::from(d0) * 10 + i64::from(d1))
        };
        if let Some(v) = v {
            return Some(Decimal9(v * Decimal9::SCALE));
        }
    }
    let w = low_bytes(word, len);
    let (digits, ndig, frac) = match find_byte(w, b'.') {
        None => (w, len, 0),
        Some(p) => {
            // Close the gap left by the point; a second point then fails the digit check.
            let int = low_bytes(w, p);
            let rest = (w >> (8 * p)) >> 8;
            (int | (rest << (8 * p)), len - 1, len - 1 - p)
        }
    };
    let m = digits_swar(digits, ndig)?;
    Some(Decimal9(m as i64 * DIGIT_WEIGHT.get(frac)?))
}

/// Decimal value of `raw[vstart..soh]` (the word at `vstart` is in bounds: a trailer follows).
#[inline(always)]
fn decimal_at(raw: &[u8], vstart: usize, soh: usize) -> Option<Decimal9> {
    match load8(raw, vstart).and_then(|w| decimal_word(w, soh - vstart)) {
        Some(d) => Some(d),
        None => decimal_slow(raw.get(vstart..soh)?),
    }
}

/// MsgSeqNum of 9+ digits, or malformed.
#[cold]
#[inline(never)]
fn seq_slow(v: &[u8]) -> Option<u64> {
    parse_u64(34, v).ok()
}

/// Signed, long or malformed decimals: out of line, so the fused pass stays small.
#[cold]
#[inline(never)]
fn decimal_slow(v: &[u8]) -> Option<Decimal9> {
    Decimal9::parse(0, v).ok()
}

/// What the field walk found, by slot: where each kept field starts (its tag) and ends (its
/// SOH; 0 while not seen, which no field can end at). The getters give `Some(None)` for an absent
/// field, `Some(Some(value))` for a good one and `None` for a malformed one (the message then
/// goes to the indexed path, which reports the error).
struct Kept<'a> {
    raw: &'a [u8],
    body_str: &'a str,
    starts: [u16; SLOTS],
    ends: [u16; SLOTS],
    /// Where the next field starts.
    next: usize,
}

impl<'a> Kept<'a> {
    /// Value span of a kept slot, if seen.
    #[inline(always)]
    fn span(&self, slot: usize) -> Option<(usize, usize)> {
        let end = usize::from(*self.ends.get(slot)?);
        let start = usize::from(*self.starts.get(slot)?) + usize::from(*SLOT_KEY_LEN.get(slot)?);
        (end != 0).then_some((start, end))
    }

    #[inline(always)]
    fn text(&self, slot: usize) -> Option<Option<&'a str>> {
        match self.span(slot) {
            None => Some(None),
            // (Two one-sided splits: each checks one boundary inline, where `get(s..e)` is an
            // out-of-line call.)
            Some((s, e)) => {
                let (head, _) = self.body_str.split_at_checked(e)?;
                Some(Some(head.split_at_checked(s)?.1))
            }
        }
    }

    #[inline(always)]
    fn byte(&self, slot: usize) -> Option<Option<u8>> {
        match self.span(slot) {
            None => Some(None),
            Some((s, e)) => match self.raw.get(s..e) {
                Some([c]) => Some(Some(*c)),
                _ => None,
            },
        }
    }

    #[inline(always)]
    fn decimal(&self, slot: usize) -> Option<Option<Decimal9>> {
        match self.span(slot) {
            None => Some(None),
            Some((s, e)) => decimal_at(self.raw, s, e).map(Some),
        }
    }

    /// Walks the fields that end in one 64-byte block (`bits`: its SOH bitmap, `base`: its
    /// offset). Each field's `tag=` is taken as raw bytes from one word and looked up in
    /// [`KEY_TABLE`]; a hit proves the tag well formed, a miss is validated byte-wise.
    #[inline(always)]
    fn walk(&mut self, mut bits: u64, base: usize) -> Option<()> {
        let raw = self.raw;
        // Positions are below SCAN_MAX; as u32 they spare an overflow check per load.
        let mut next = self.next as u32;
        let base = base as u32;
        while bits != 0 {
            let soh = base + bits.trailing_zeros();
            bits &= bits - 1;
            let start = next;
            let word = load8(raw, start as usize)?;
            if let Some(e) = lookup(word) {
                // The key holds no SOH, so the value starts at or before `soh`. The first
                // occurrence wins (43, 97: the last, as in `fill`).
                let slot = usize::from(e.slot) % SLOTS;
                if self.ends[slot] == 0 || e.last_wins {
                    self.starts[slot] = start as u16;
                    self.ends[slot] = soh as u16;
                }
            } else {
                // Any other tag: 1-7 digits without a leading zero, then '=' before the SOH (8+
                // digit tags go to the indexed path; raw-data lengths are all in the table).
                let x = word ^ (LO * u64::from(b'='));
                let eq = x.wrapping_sub(LO) & !x & HI;
                let n = eq.trailing_zeros() / 8;
                let d = word.wrapping_sub(LO * u64::from(b'0'));
                let tag_bytes = (eq ^ eq.wrapping_sub(1)) >> 8;
                if eq == 0
                    || n == 0
                    || start + n + 1 > soh
                    || (d | d.wrapping_add(LO * 0x76)) & HI & tag_bytes != 0
                    || word as u8 == b'0'
                {
                    return None;
                }
            }
            next = soh + 1;
        }
        self.next = next as usize;
        Some(())
    }
}

/// `tag=` of a tag number as the low bytes of a little-endian word (how the fused pass matches
/// tags: no number conversion).
const fn tag_key(tag: u32) -> u64 {
    let mut digits = [0u8; 10];
    let mut n = 0;
    let mut t = tag;
    while t > 0 {
        digits[n] = b'0' + (t % 10) as u8;
        t /= 10;
        n += 1;
    }
    let mut k = 0u64;
    let mut i = 0;
    while i < n {
        k |= (digits[n - 1 - i] as u64) << (8 * i);
        i += 1;
    }
    k | ((b'=' as u64) << (8 * n))
}

/// Tags the fused pass keeps, by slot: the report's fields plus 34, 43, 52 and 97.
const SLOT_TAGS: [u32; 19] = [
    34, 43, 52, 37, 11, 17, 150, 39, 55, 48, 54, 38, 44, 32, 31, 14, 151, 60, 97,
];
const S34: usize = 0;
const S43: usize = 1;
const S52: usize = 2;
const S37: usize = 3;
const S11: usize = 4;
const S17: usize = 5;
const S150: usize = 6;
const S39: usize = 7;
const S55: usize = 8;
const S48: usize = 9;
const S54: usize = 10;
const S38: usize = 11;
const S44: usize = 12;
const S32: usize = 13;
const S31: usize = 14;
const S14: usize = 15;
const S151: usize = 16;
const S60: usize = 17;
const S97: usize = 18;
/// Raw-data length tags (as in [`raw_data_tag`]): their data may hold SOH, so the fused pass
/// leaves such messages to the indexed path.
const RAW_LENGTH_TAGS: [u32; 17] = [
    90, 93, 95, 212, 348, 350, 352, 354, 356, 358, 360, 362, 364, 445, 618, 621, 1401,
];
/// Tags the fused pass knows but does not keep: the standard header and what CME Drop Copy
/// execution reports usually carry. A table hit proves a tag well formed, so these skip the
/// byte-wise tag check. (One-digit tags cannot be in the table: their first three bytes hold
/// value bytes.)
const KNOWN_TAGS: [u32; 30] = [
    15, 18, 20, 40, 41, 49, 50, 56, 57, 58, 59, 75, 99, 107, 110, 111, 122, 142, 143, 167, 369,
    432, 442, 527, 1028, 1031, 1057, 1091, 5979, 9717,
];
/// Span slots: the kept tags, then sinks for the others.
const SLOTS: usize = 32;
/// Slot of the raw-data length tags (seen: the message goes to the indexed path).
const RAW_SLOT: u8 = 19;
/// Slot of the known tags (written, never read).
const KNOWN_SLOT: u8 = 20;
/// Length of each kept slot's `tag=`.
const SLOT_KEY_LEN: [u8; SLOTS] = {
    let mut t = [0u8; SLOTS];
    let mut i = 0;
    while i < SLOT_TAGS.len() {
        t[i] = key_len(tag_key(SLOT_TAGS[i]));
        i += 1;
    }
    t
};

/// Bytes in a `tag=` key.
const fn key_len(key: u64) -> u8 {
    let mut len = 1;
    while (key >> (8 * (len - 1))) as u8 != b'=' {
        len += 1;
    }
    len as u8
}

/// Perfect hash of the table tags' first three bytes into 256 entries (multiplier found by
/// search; a compile-time check below refuses any collision).
const HASH_MUL: u64 = 0x139f_7111;

#[inline(always)]
const fn key_hash(word: u64) -> usize {
    (((word & 0xff_ffff).wrapping_mul(HASH_MUL)) >> 24) as u8 as usize
}

/// The table entry of the `tag=` that starts `word`, if any. The lookup goes by the first three
/// bytes (`tag=` of a 2-digit tag, or a longer tag's first digits); the entry then compares the
/// whole `tag=`. A hit proves the tag well formed: digits, no leading zero, then '='.
#[inline(always)]
fn lookup(word: u64) -> Option<&'static Entry> {
    let e = &KEY_TABLE[key_hash(word)];
    (word & e.mask == e.key).then_some(e)
}

/// One table entry: the `tag=` key and its byte mask, and the span slot (32 bytes: the lookup
/// is a shift).
#[derive(Clone, Copy)]
#[repr(align(32))]
struct Entry {
    key: u64,
    mask: u64,
    slot: u8,
    /// Every occurrence overwrites the span (43 PossDupFlag, 97 PossResend, as in `fill`), not
    /// just the first.
    last_wins: bool,
}

const KEY_TABLE: [Entry; 256] = {
    // An empty entry never matches: no masked word (`word & 0`) equals 1.
    let empty = Entry {
        key: 1,
        mask: 0,
        slot: KNOWN_SLOT,
        last_wins: false,
    };
    let mut t = [empty; 256];
    let kept = SLOT_TAGS.len();
    let raw = RAW_LENGTH_TAGS.len();
    let mut i = 0;
    while i < kept + raw + KNOWN_TAGS.len() {
        let (tag, slot) = if i < kept {
            (SLOT_TAGS[i], i as u8)
        } else if i < kept + raw {
            (RAW_LENGTH_TAGS[i - kept], RAW_SLOT)
        } else {
            (KNOWN_TAGS[i - kept - raw], KNOWN_SLOT)
        };
        assert!(
            tag >= 10 && tag < 10_000_000,
            "KEY_TABLE: tags of 2-7 digits only"
        );
        let key = tag_key(tag);
        let h = key_hash(key);
        assert!(
            t[h].key == 1,
            "KEY_TABLE: hash collision, choose another HASH_MUL"
        );
        let len = key_len(key);
        t[h] = Entry {
            key,
            mask: u64::MAX >> (64 - 8 * len as u32),
            slot,
            last_wins: tag == 43 || tag == 97,
        };
        i += 1;
    }
    t
};

/// One fused pass over a plain ExecutionReport with the same results as the indexed path
/// (a property test checks it): frame and CheckSum check, tag validation and field extraction
/// with the same first-occurrence rules as [`DropCopyReport::fill`].
///
/// 1. The header and trailer are checked as words.
/// 2. The body is scanned 64 bytes at a time ([`BlockScan`]: SOH bitmap and byte sum), and the
///    fields ending in each block are walked at once ([`Kept::walk`]): a kept tag records where
///    its value is (first occurrence; last for 43, as in `fill`), any other is only validated.
/// 3. The kept values are converted once, after the walk.
///
/// `None` for anything else (other message types, raw-data fields, tags of 8+ digits, messages
/// over [`SCAN_MAX`] bytes, any error): the indexed path then decides.
#[inline(always)]
fn exec_report_fast(raw: &[u8]) -> Option<DropCopyReport<'_>> {
    /// `35=8<SOH>` (the body's first field).
    const TYPE8: u64 = u64::from_le_bytes(*b"35=8\x01\0\0\0");
    // Every field is at least 3 bytes, so the scan limit keeps the field count legal.
    const _: () = assert!(SCAN_MAX / 3 < MAX_FIELDS);
    // Positions are kept as u16.
    const _: () = assert!(SCAN_MAX <= u16::MAX as usize);

    // Header: `8=FIX.4.2<SOH>9=` then 1-6 digits (leading zeros allowed) and SOH.
    let (start, body_len) = header_fast(raw)?;
    let end = start + body_len;
    // Trailer: `10=ddd<SOH>` right after the body and ending the buffer.
    if raw.len() != end + 7 || end > SCAN_MAX {
        return None;
    }
    let trailer = load8(raw, end - 1)?;
    if low_bytes(trailer, 4) != TRAILER_START || (trailer >> 56) as u8 != SOH {
        return None;
    }
    let declared = digits3(trailer >> 32)?;
    // First field `35=8`.
    if low_bytes(load8(raw, start)?, 5) != TYPE8 {
        return None;
    }

    let body = raw.get(..end)?;
    let mut kept = Kept {
        raw,
        body_str: "",
        starts: [0; SLOTS],
        ends: [0; SLOTS],
        next: start + 5,
    };
    let mut scan = BlockScan::new();
    // The first block's SOHs up to `35=8<SOH>` are the header's.
    let mut skip = u64::MAX << (start + 5);
    let mut base = 0;
    let blocks = body.chunks_exact(64);
    let rest = blocks.remainder();
    for block in blocks {
        let bits = scan.block(block.try_into().ok()?) & skip;
        kept.walk(bits, base)?;
        skip = u64::MAX;
        base += 64;
    }
    if !rest.is_empty() {
        let bits = scan.tail(body, base)? & skip;
        kept.walk(bits, base)?;
    }
    if kept.next != end
        || declared != u64::from(scan.sum())
        || kept.ends[usize::from(RAW_SLOT)] != 0
    {
        return None;
    }

    // Conversions of the kept values. One UTF-8 check for the body (vector code: ASCII text
    // costs a few instructions per 32 bytes); fields are then sliced at ASCII boundaries.
    kept.body_str = simdutf8::basic::from_utf8(body).ok()?;
    let (s, e) = kept.span(S34)?;
    let seq = load8(raw, s).and_then(|w| digits_swar(w, e - s));
    let seq_num = match seq {
        Some(n) => n,
        None => seq_slow(raw.get(s..e)?)?,
    };
    if seq_num == 0 {
        return None;
    }
    let poss_dup = kept
        .span(S43)
        .is_some_and(|(s, e)| raw.get(s..e) == Some(b"Y"));
    let poss_resend = kept
        .span(S97)
        .is_some_and(|(s, e)| raw.get(s..e) == Some(b"Y"));
    let sending_time = kept.text(S52)??;
    Some(DropCopyReport {
        source: ReportSource::ExecutionReport,
        seq_num,
        poss_dup,
        poss_resend,
        sending_time,
        order_id: kept.text(S37)?,
        cl_ord_id: kept.text(S11)?,
        exec_id: kept.text(S17)?,
        exec_type: kept.byte(S150)?,
        ord_status: kept.byte(S39)?,
        symbol: kept.text(S55)?,
        security_id: kept.text(S48)?,
        side: kept.byte(S54)?,
        order_qty: kept.decimal(S38)?,
        price: kept.decimal(S44)?,
        last_qty: kept.decimal(S32)?,
        last_px: kept.decimal(S31)?,
        cum_qty: kept.decimal(S14)?,
        leaves_qty: kept.decimal(S151)?,
        transact_time: kept.text(S60)?,
        raw,
        inner: None,
        reject: None,
    })
}

impl<'a> DropCopyReport<'a> {
    fn empty(source: ReportSource, raw: &'a [u8]) -> Self {
        DropCopyReport {
            source,
            seq_num: 0,
            poss_dup: false,
            poss_resend: false,
            sending_time: "",
            order_id: None,
            cl_ord_id: None,
            exec_id: None,
            exec_type: None,
            ord_status: None,
            symbol: None,
            security_id: None,
            side: None,
            order_qty: None,
            price: None,
            last_qty: None,
            last_px: None,
            cum_qty: None,
            leaves_qty: None,
            transact_time: None,
            raw,
            inner: None,
            reject: None,
        }
    }

    /// One pass over the fields; the first occurrence of each tag wins (later ones belong to
    /// repeating groups such as fills or legs). On the outer message also reads 34, 43, 52 and
    /// returns 213 XMLData.
    fn fill(&mut self, f: &Fields<'a, '_>, outer: bool) -> Result<Option<&'a [u8]>, FixError> {
        let buf = f.buf();
        // One UTF-8 check for the whole message (ASCII in practice); raw data that is not
        // UTF-8 falls back to per-field checks.
        let all = std::str::from_utf8(buf).ok();
        let text = |tag: u32, s: usize, e: usize| -> Result<&'a str, FixError> {
            match all.and_then(|a| a.get(s..e)) {
                Some(t) => Ok(t),
                None => std::str::from_utf8(buf.get(s..e).unwrap_or_default())
                    .map_err(|_| FixError::BadValue { tag }),
            }
        };
        let mut xml_data = None;
        for (tag, s, e) in f.spans() {
            let v = buf.get(s..e).unwrap_or_default();
            match tag {
                34 if outer && self.seq_num == 0 => {
                    self.seq_num = parse_u64(tag, v)?;
                    if self.seq_num == 0 {
                        return Err(FixError::BadValue { tag });
                    }
                }
                43 if outer => self.poss_dup = v == b"Y",
                97 if outer => self.poss_resend = v == b"Y",
                52 if outer && self.sending_time.is_empty() => self.sending_time = text(tag, s, e)?,
                213 if outer && xml_data.is_none() => xml_data = Some(v),
                37 if self.order_id.is_none() => self.order_id = Some(text(tag, s, e)?),
                11 if self.cl_ord_id.is_none() => self.cl_ord_id = Some(text(tag, s, e)?),
                17 if self.exec_id.is_none() => self.exec_id = Some(text(tag, s, e)?),
                150 if self.exec_type.is_none() => self.exec_type = Some(one_char(tag, v)?),
                39 if self.ord_status.is_none() => self.ord_status = Some(one_char(tag, v)?),
                55 if self.symbol.is_none() => self.symbol = Some(text(tag, s, e)?),
                48 if self.security_id.is_none() => self.security_id = Some(text(tag, s, e)?),
                54 if self.side.is_none() => self.side = Some(one_char(tag, v)?),
                38 if self.order_qty.is_none() => self.order_qty = Some(Decimal9::parse(tag, v)?),
                44 if self.price.is_none() => self.price = Some(Decimal9::parse(tag, v)?),
                32 if self.last_qty.is_none() => self.last_qty = Some(Decimal9::parse(tag, v)?),
                31 if self.last_px.is_none() => self.last_px = Some(Decimal9::parse(tag, v)?),
                14 if self.cum_qty.is_none() => self.cum_qty = Some(Decimal9::parse(tag, v)?),
                151 if self.leaves_qty.is_none() => {
                    self.leaves_qty = Some(Decimal9::parse(tag, v)?)
                }
                60 if self.transact_time.is_none() => self.transact_time = Some(text(tag, s, e)?),
                1 | 41 | 58 | 102 | 434 => {
                    if let Some(rj) = &mut self.reject {
                        rj.set(tag, v, || text(tag, s, e))?;
                    }
                }
                _ => {}
            }
        }
        Ok(xml_data)
    }

    /// TransactTime (60) as nanoseconds since the epoch.
    pub fn transact_time_ns(&self) -> Option<Result<u64, FixError>> {
        self.transact_time
            .map(|t| parse_utc_timestamp(60, t.as_bytes()))
    }

    /// SendingTime (52) as nanoseconds since the epoch.
    pub fn sending_time_ns(&self) -> Result<u64, FixError> {
        parse_utc_timestamp(52, self.sending_time.as_bytes())
    }

    /// Copies into an owned report (for publishing off the hot path).
    pub fn to_owned_report(&self) -> OwnedDropCopyReport {
        let s = |v: Option<&str>| v.map(str::to_owned);
        OwnedDropCopyReport {
            source: self.source,
            seq_num: self.seq_num,
            poss_dup: self.poss_dup,
            poss_resend: self.poss_resend,
            sending_time: self.sending_time.to_owned(),
            order_id: s(self.order_id),
            cl_ord_id: s(self.cl_ord_id),
            exec_id: s(self.exec_id),
            exec_type: self.exec_type,
            ord_status: self.ord_status,
            symbol: s(self.symbol),
            security_id: s(self.security_id),
            side: self.side,
            order_qty: self.order_qty,
            price: self.price,
            last_qty: self.last_qty,
            last_px: self.last_px,
            cum_qty: self.cum_qty,
            leaves_qty: self.leaves_qty,
            transact_time: s(self.transact_time),
            raw: self.raw.to_vec(),
            inner: self.inner.map(<[u8]>::to_vec),
            reject: self.reject.map(|r| OwnedCancelReject {
                orig_cl_ord_id: s(r.orig_cl_ord_id),
                response_to: r.response_to,
                reason: r.reason,
                text: s(r.text),
                account: s(r.account),
            }),
        }
    }
}

/// Owned copy of a [`DropCopyReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedDropCopyReport {
    pub source: ReportSource,
    pub seq_num: u64,
    pub poss_dup: bool,
    pub poss_resend: bool,
    pub sending_time: String,
    pub order_id: Option<String>,
    pub cl_ord_id: Option<String>,
    pub exec_id: Option<String>,
    pub exec_type: Option<u8>,
    pub ord_status: Option<u8>,
    pub symbol: Option<String>,
    pub security_id: Option<String>,
    pub side: Option<u8>,
    pub order_qty: Option<Decimal9>,
    pub price: Option<Decimal9>,
    pub last_qty: Option<Decimal9>,
    pub last_px: Option<Decimal9>,
    pub cum_qty: Option<Decimal9>,
    pub leaves_qty: Option<Decimal9>,
    pub transact_time: Option<String>,
    pub raw: Vec<u8>,
    pub inner: Option<Vec<u8>>,
    pub reject: Option<OwnedCancelReject>,
}

/// Owned copy of a [`CancelReject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedCancelReject {
    pub orig_cl_ord_id: Option<String>,
    pub response_to: Option<u8>,
    pub reason: Option<u32>,
    pub text: Option<String>,
    pub account: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropcopy::codec::checksum;
    use proptest::prelude::*;

    fn framed(body: &str) -> Vec<u8> {
        let body = body.replace('|', "\x01");
        let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
        let sum = checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        m
    }

    #[test]
    fn key_table_finds_exactly_its_tags() {
        use crate::dropcopy::codec::raw_data_tag;
        assert_eq!(tag_key(150), u64::from_le_bytes(*b"150=\0\0\0\0"));
        assert_eq!(tag_key(1401), u64::from_le_bytes(*b"1401=\0\0\0"));
        assert_eq!((key_len(tag_key(34)), key_len(tag_key(1401))), (3, 5));
        assert_eq!(SLOT_KEY_LEN[S151], 4);
        // Expected slot by tag (every table tag is below 10^4).
        let mut slot_of = vec![None; 10_000];
        for (i, &tag) in SLOT_TAGS.iter().enumerate() {
            slot_of[tag as usize] = Some(i as u8);
        }
        for &tag in &RAW_LENGTH_TAGS {
            slot_of[tag as usize] = Some(RAW_SLOT);
        }
        for &tag in &KNOWN_TAGS {
            slot_of[tag as usize] = Some(KNOWN_SLOT);
        }
        // RAW_LENGTH_TAGS is exactly the set raw_data_tag() knows.
        for tag in 1..10_000_000u32 {
            assert_eq!(
                raw_data_tag(tag).is_some(),
                RAW_LENGTH_TAGS.contains(&tag),
                "tag {tag}"
            );
        }
        // Every tag up to 5 digits, followed by value bytes (only a one-digit tag has value bytes
        // among the hashed ones: those get every byte). Longer tags cannot hit: every key has
        // its '=' within the first five bytes (filling `slot_of` above fails otherwise), where
        // such a tag has digits.
        let every_byte: Vec<u8> = (0..=255).collect();
        for tag in 1..100_000u32 {
            let key = tag_key(tag);
            let len = u32::from(key_len(key));
            let expected = slot_of.get(tag as usize).copied().flatten();
            let fills = if tag < 10 { &every_byte[..] } else { b"=" };
            for &fill in fills {
                let word = key
                    | u64::from_le_bytes([fill; 8])
                        .checked_shl(8 * len)
                        .unwrap_or(0);
                let hit = lookup(word);
                assert_eq!(hit.map(|e| e.slot), expected, "tag {tag}");
                assert_eq!(
                    hit.map(|e| e.last_wins),
                    expected.map(|_| tag == 43 || tag == 97)
                );
            }
        }
        // Words that are not `tag=`: a leading zero, no '=', a lone '='.
        for text in [
            b"034=1\x01\x01\x01",
            b"34\x01=1\x01\x01\x01",
            b"=34=1\x01\x01\x01",
            b"3434343\x01",
        ] {
            assert!(lookup(u64::from_le_bytes(*text)).is_none(), "{text:?}");
        }
        let used = KEY_TABLE.iter().filter(|e| e.mask != 0).count();
        assert_eq!(
            used,
            SLOT_TAGS.len() + RAW_LENGTH_TAGS.len() + KNOWN_TAGS.len()
        );
    }

    #[test]
    fn decimal_word_agrees_with_decimal9_parse() {
        // Every text of 1-8 bytes over an alphabet that reaches every branch.
        let alphabet = b"09.-5a";
        let mut text = Vec::new();
        for len in 1..=6usize {
            let count = alphabet.len().pow(len as u32);
            for mut i in 0..count {
                text.clear();
                for _ in 0..len {
                    text.push(alphabet[i % alphabet.len()]);
                    i /= alphabet.len();
                }
                let mut word = [b'|'; 8];
                word[..len].copy_from_slice(&text);
                let fast = decimal_word(u64::from_le_bytes(word), len);
                let full = Decimal9::parse(44, &text).ok();
                if fast.is_some() {
                    assert_eq!(fast, full, "{:?}", String::from_utf8_lossy(&text));
                } else {
                    // Only signed texts fall through while being valid.
                    assert!(
                        full.is_none() || text[0] == b'-',
                        "{:?}",
                        String::from_utf8_lossy(&text)
                    );
                }
            }
        }
        let d = |s: &[u8]| decimal_word(u64::from_le_bytes(s.try_into().unwrap()), 8);
        assert_eq!(d(b"99999999"), Some(Decimal9(99_999_999_000_000_000)));
        assert_eq!(d(b"1234.567"), Some(Decimal9(1_234_567_000_000)));
        assert_eq!(d(b".1234567"), Some(Decimal9(123_456_700)));
        assert_eq!(d(b"1.2.3456"), None);
    }

    #[test]
    fn decimal9_parses_exactly() {
        let d = |s: &str| Decimal9::parse(44, s.as_bytes());
        assert_eq!(d("4500.25"), Ok(Decimal9(4_500_250_000_000)));
        assert_eq!(d("-0.000000001"), Ok(Decimal9(-1)));
        // 0.1 + 0.2 style values that f64 cannot hold exactly.
        assert_eq!(d("0.3"), Ok(Decimal9(300_000_000)));
        assert_eq!(d("12"), Ok(Decimal9(12_000_000_000)));
        assert_eq!(d(".5"), Ok(Decimal9(500_000_000)));
        assert_eq!(d("7."), Ok(Decimal9(7_000_000_000)));
        for bad in [
            "",
            "-",
            ".",
            "1.0000000001",
            "1e5",
            "1,5",
            "9999999999.5",
            "--1",
        ] {
            assert_eq!(d(bad), Err(FixError::BadValue { tag: 44 }), "{bad:?}");
        }
        assert_eq!(Decimal9(4_500_250_000_000).to_string(), "4500.25");
        assert_eq!(Decimal9(-1).to_string(), "-0.000000001");
        assert_eq!(Decimal9(3_000_000_000).to_string(), "3");
    }

    #[test]
    fn execution_report_fields() {
        let m = framed(
            "35=8|34=1234|49=CME|56=ABC123N|50=G|52=20240315-13:30:00.125|369=17|37=7364212|11=ORD-1|17=64533:12|150=1|39=1|55=ESM4|48=5602|54=1|38=10|44=5250.75|32=4|31=5250.5|14=4|151=6|60=20240315-13:30:00.120123456|1362=1|1363=F1|1364=5250.5|1365=4|",
        );
        let mut p = ReportParser::new();
        let r = p.parse(&m).unwrap();
        assert_eq!(
            exec_report_fast(&m),
            Some(r),
            "a plain 35=8 takes the fused pass"
        );
        assert_eq!(p.parse_indexed(&m), Ok(r));
        assert_eq!(r.source, ReportSource::ExecutionReport);
        assert_eq!(r.seq_num, 1234);
        assert!(!r.poss_dup);
        assert_eq!(r.sending_time, "20240315-13:30:00.125");
        assert_eq!(r.order_id, Some("7364212"));
        assert_eq!(r.cl_ord_id, Some("ORD-1"));
        assert_eq!(r.exec_id, Some("64533:12"));
        assert_eq!(
            (r.exec_type, r.ord_status, r.side),
            (Some(b'1'), Some(b'1'), Some(b'1'))
        );
        assert_eq!((r.symbol, r.security_id), (Some("ESM4"), Some("5602")));
        assert_eq!(r.order_qty, Some(Decimal9(10_000_000_000)));
        assert_eq!(r.price, Some(Decimal9(5_250_750_000_000)));
        assert_eq!(r.last_qty, Some(Decimal9(4_000_000_000)));
        assert_eq!(r.last_px, Some(Decimal9(5_250_500_000_000)));
        assert_eq!(r.cum_qty, Some(Decimal9(4_000_000_000)));
        assert_eq!(r.leaves_qty, Some(Decimal9(6_000_000_000)));
        assert_eq!(r.transact_time_ns(), Some(Ok(1_710_509_400_120_123_456)));
        assert_eq!(r.sending_time_ns(), Ok(1_710_509_400_125_000_000));
        assert_eq!(r.inner, None);
        assert_eq!(r.raw, &m[..]);
        let owned = r.to_owned_report();
        assert_eq!(owned.exec_id.as_deref(), Some("64533:12"));
        assert_eq!(owned.raw, m);
    }

    #[test]
    fn xml_non_fix_with_bare_fields_and_errors() {
        let inner = "35=8\x0137=A1\x0117=E1\x0144=1.5\x01";
        let body = format!(
            "35=n|34=5|49=CME|56=X|52=20240315-13:30:00.125|43=Y|212={}|213=",
            inner.len()
        ) + inner
            + "|";
        let m = framed(&body);
        let mut p = ReportParser::new();
        let r = p.parse(&m).unwrap();
        assert_eq!(
            r.source,
            ReportSource::XmlNonFix {
                inner_msg_type: MsgType::EXECUTION_REPORT
            }
        );
        assert!(r.poss_dup);
        assert_eq!((r.order_id, r.exec_id), (Some("A1"), Some("E1")));
        assert_eq!(r.price, Some(Decimal9(1_500_000_000)));

        let m = framed("35=0|34=5|49=CME|56=X|52=20240315-13:30:00.125|");
        assert_eq!(p.parse(&m).err(), Some(ReportError::NotAReport(b'0')));
        let m = framed("35=8|34=5|49=CME|56=X|52=20240315-13:30:00.125|44=abc|");
        assert_eq!(
            p.parse(&m).err(),
            Some(ReportError::Outer(FixError::BadValue { tag: 44 }))
        );
        let m = framed("35=n|34=5|49=CME|56=X|52=20240315-13:30:00.125|212=4|213=8=FI|");
        assert!(matches!(p.parse(&m), Err(ReportError::Inner(_))));
    }

    /// A 35=n with 212/213 around `data` (raw bytes).
    fn xml_n(header: &str, data: &[u8]) -> Vec<u8> {
        let mut body = format!(
            "35=n|34=5|49=CME|{header}|52=20240315-13:30:00.125|212={}|213=",
            data.len()
        )
        .replace('|', "\x01")
        .into_bytes();
        body.extend_from_slice(data);
        body.push(1);
        let mut m = format!("8=FIX.4.2\x019={}\x01", body.len()).into_bytes();
        m.extend_from_slice(&body);
        let sum = checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        m
    }

    fn rtrf(inner: &[u8]) -> Vec<u8> {
        [&b"<RTRF>"[..], inner, b"</RTRF>"].concat()
    }

    /// CME "Drop Copy 4.0 Encapsulated XML Message": 213 = original iLink or processed FIX
    /// message "embedded in an XML field RTRF"; two 56 values in the header.
    #[test]
    fn xml_non_fix_in_cme_rtrf_element() {
        let inner =
            framed("35=8|34=77|49=CME|56=SRC|52=20240315-13:30:00.120|97=Y|37=A1|17=E1|44=1.5|");
        let m = xml_n("56=ABC123N|56=SRC", &rtrf(&inner));
        let mut p = ReportParser::new();
        let r = p.parse(&m).unwrap();
        assert_eq!(
            r.source,
            ReportSource::XmlNonFix {
                inner_msg_type: MsgType::EXECUTION_REPORT
            }
        );
        assert_eq!(r.source.name(), "execution_report");
        assert_eq!(r.seq_num, 5);
        assert_eq!((r.order_id, r.exec_id), (Some("A1"), Some("E1")));
        assert!(r.poss_resend && !r.poss_dup, "97=Y on the inner header");
        assert_eq!(r.inner, Some(&inner[..]));

        // Bare fields inside RTRF, and a two-character inner MsgType (OrderMassActionReport).
        let m = xml_n(
            "56=ABC123N|56=SRC|43=Y",
            &rtrf(b"35=BZ\x011369=M1\x01533=0\x01"),
        );
        let r = p.parse(&m).unwrap();
        assert_eq!(r.source.name(), "xml_non_fix");
        let ReportSource::XmlNonFix { inner_msg_type } = r.source else {
            panic!("{:?}", r.source)
        };
        assert_eq!(inner_msg_type.as_str(), "BZ");
        assert!(r.poss_dup);

        // A damaged inner checksum is still an inner error; a broken element says so.
        let mut bad = inner.clone();
        let n = bad.len();
        bad[n - 2] = if bad[n - 2] == b'0' { b'1' } else { b'0' };
        assert!(matches!(
            p.parse(&xml_n("56=X", &rtrf(&bad))),
            Err(ReportError::Inner(_))
        ));
        let open_only = [&b"<RTRF>"[..], &inner].concat();
        assert_eq!(
            p.parse(&xml_n("56=X", &open_only)).err(),
            Some(ReportError::Envelope("<RTRF> without its closing </RTRF>"))
        );
        assert!(matches!(
            p.parse(&xml_n("56=X", b"<XYZ>a</XYZ>")),
            Err(ReportError::Envelope(_))
        ));
    }

    /// 213 may hold the original iLink message: an iLink 3 SBE frame is reported as
    /// `ilink_binary` with its template id, with or without the framing header.
    #[test]
    fn xml_non_fix_with_an_embedded_ilink3_message() {
        // SOFH (size 20, 0xCAFE) + SBE header (block 8, template 522, schema 8, version 9).
        let mut sbe = vec![20, 0, 0xFE, 0xCA, 8, 0, 0x0A, 0x02, 8, 0, 9, 0];
        sbe.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        let mut p = ReportParser::new();
        for data in [rtrf(&sbe), rtrf(&sbe[4..]), sbe.clone()] {
            let m = xml_n("56=X", &data);
            let r = p.parse(&m).unwrap();
            assert_eq!(r.source, ReportSource::IlinkBinary { template_id: 522 });
            assert_eq!(r.source.name(), "ilink_binary");
            assert_eq!(r.exec_id, None);
        }
    }

    /// CME "iLink 2 Order Cancel and Order Cancel-Replace Reject" (35=9), as Drop Copy copies
    /// it: 1, 11, 17, 37, 39=U, 41, 48, 58, 60, 102 CxlRejReason, 434 CxlRejResponseTo.
    #[test]
    fn order_cancel_reject_35_9() {
        let m = framed(
            "35=9|34=88|49=CME|56=ABC123N|52=20240315-13:30:00.125|1=ACCT1|11=CXL-7|17=91000:3|37=7364212|39=U|41=ORD-1|48=5602|58=This order is not in the book|60=20240315-13:30:00.120|102=2045|434=1|",
        );
        let mut p = ReportParser::new();
        let r = p.parse(&m).unwrap();
        assert_eq!(r.source, ReportSource::CancelReject);
        assert_eq!(r.source.name(), "cancel_reject");
        assert_eq!(r.seq_num, 88);
        assert_eq!(r.cl_ord_id, Some("CXL-7"));
        assert_eq!(r.order_id, Some("7364212"));
        assert_eq!(r.exec_id, Some("91000:3"));
        assert_eq!(r.ord_status, Some(b'U'));
        assert_eq!(r.security_id, Some("5602"));
        assert_eq!(r.exec_type, None);
        assert_eq!(r.transact_time_ns(), Some(Ok(1_710_509_400_120_000_000)));
        let j = r.reject.expect("a 35=9 has its reject fields");
        assert_eq!(
            j,
            CancelReject {
                orig_cl_ord_id: Some("ORD-1"),
                response_to: Some(b'1'),
                reason: Some(2045),
                text: Some("This order is not in the book"),
                account: Some("ACCT1"),
            }
        );
        let owned = r.to_owned_report();
        let oj = owned.reject.expect("owned reject");
        assert_eq!(oj.orig_cl_ord_id.as_deref(), Some("ORD-1"));
        assert_eq!((oj.response_to, oj.reason), (Some(b'1'), Some(2045)));
        assert_eq!(oj.text.as_deref(), Some("This order is not in the book"));

        // The same reject embedded in a 35=n (CME's <RTRF> form): same fields, same name.
        let inner = framed(
            "35=9|34=9|49=CME|56=SRC|52=20240315-13:30:00.120|11=CXL-8|37=NONE|39=U|41=0|102=1003|434=2|58=closed|",
        );
        let m = xml_n("56=ABC123N|56=SRC", &rtrf(&inner));
        let r = p.parse(&m).unwrap();
        assert_eq!(
            r.source,
            ReportSource::XmlNonFix {
                inner_msg_type: MsgType::ORDER_CANCEL_REJECT
            }
        );
        assert_eq!(r.source.name(), "cancel_reject");
        assert_eq!(r.cl_ord_id, Some("CXL-8"));
        let j = r.reject.expect("an embedded 35=9 has its reject fields");
        assert_eq!(j.orig_cl_ord_id, Some("0"));
        assert_eq!((j.response_to, j.reason), (Some(b'2'), Some(1003)));
        assert_eq!((j.text, j.account), (Some("closed"), None));

        // Not a reject: an ExecutionReport's 58 and 41 stay out of it.
        let m = framed("35=8|34=5|49=CME|56=X|52=20240315-13:30:00.125|17=E|41=O|58=t|");
        assert_eq!(p.parse(&m).unwrap().reject, None);

        // Malformed reject fields are located errors.
        for (field, tag) in [
            ("102=20x45", 102),
            ("102=99999999999", 102),
            ("434=12", 434),
        ] {
            let m = framed(&format!(
                "35=9|34=5|49=CME|56=X|52=20240315-13:30:00.125|11=C|{field}|"
            ));
            assert_eq!(
                p.parse(&m).err(),
                Some(ReportError::Outer(FixError::BadValue { tag })),
                "{field}"
            );
        }
    }

    proptest! {
        #[test]
        fn decimal9_display_round_trips(v in any::<i64>()) {
            let d = Decimal9(v);
            prop_assert_eq!(Decimal9::parse(44, d.to_string().as_bytes()), Ok(d));
        }

        /// The fused fast path agrees with the indexed path on every message it accepts, and
        /// `parse` (fast or fallback) always equals the indexed path.
        #[test]
        fn fast_path_matches_indexed_path(
            fields in prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "35", "34", "43", "52", "37", "11", "17", "150", "39", "55", "48", "54",
                        "38", "44", "32", "31", "14", "151", "60", "49", "56", "212", "213", "95",
                        "90", "1", "20", "9999999", "12345678", "0", "035", "x", "", "10", "3a",
                        // Table neighbours: known tags, shared prefixes, a raw-data length.
                        "15", "1505", "152", "369", "1028", "1401", "4", "3434", "97",
                    ]),
                    prop::collection::vec(prop::sample::select(b"0123456789.-YN8F=\x01a".to_vec()), 0..12),
                ),
                0..30,
            ),
            first_is_8 in any::<bool>(),
        ) {
            let mut body = if first_is_8 { b"35=8\x01".to_vec() } else { Vec::new() };
            for (tag, value) in &fields {
                body.extend_from_slice(tag.as_bytes());
                body.push(b'=');
                body.extend_from_slice(value);
                body.push(1);
            }
            let mut m = format!("8=FIX.4.2\x019={}\x01", body.len()).into_bytes();
            m.extend_from_slice(&body);
            let sum = checksum(&m);
            m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
            let mut p = ReportParser::new();
            let indexed = p.parse_indexed(&m);
            if let Some(fast) = exec_report_fast(&m) {
                prop_assert_eq!(Ok(fast), indexed);
            }
            prop_assert_eq!(p.parse(&m), p.parse_indexed(&m));
        }

        /// One byte of a valid ExecutionReport changed (checksum fixed up, so the fields are
        /// what is tested): both paths still agree.
        #[test]
        fn fast_path_matches_indexed_path_on_mutations(
            at in any::<prop::sample::Index>(),
            b in prop::sample::select(b"0123456789=.\x01Y8an".to_vec()),
        ) {
            let mut m = framed(
                "35=8|34=1234|49=CME|56=ABC123N|50=G|52=20240315-13:30:00.125|43=N|37=7364212|11=ORD-1|17=64533:12|150=1|39=1|55=ESM4|48=5602|54=1|38=10|44=5250.75|32=4|31=5250.5|14=4|151=6|60=20240315-13:30:00.120123456|",
            );
            let trailer = m.len() - 7;
            let i = at.index(trailer);
            m[i] = b;
            let sum = checksum(&m[..trailer]);
            m.truncate(trailer);
            m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
            let mut p = ReportParser::new();
            let indexed = p.parse_indexed(&m);
            if let Some(fast) = exec_report_fast(&m) {
                prop_assert_eq!(Ok(fast), indexed);
            }
        }

        #[test]
        fn report_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut p = ReportParser::new();
            let _ = p.parse(&bytes);
        }
    }
}
