//! Drop Copy business messages: ExecutionReport (35=8) and XMLnonFIX (35=n, whose 213 XMLData
//! carries the original FIX message) decoded into a typed [`DropCopyReport`] that borrows from
//! the input, with [`OwnedDropCopyReport`] for publishing.

use super::codec::{
    parse, parse_fields, parse_u64, raw_data_tag, verify_frame, FieldIndex, Fields, FixError, HI,
    LO, MAX_FIELDS, SOH,
};
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
        const POW10: [i64; 10] = [
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
        let scale = POW10.get(frac.len()).copied().ok_or(bad)?;
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

/// Which message carried the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportSource {
    /// 35=8.
    ExecutionReport,
    /// 35=n; `inner_msg_type` is the embedded message's 35.
    XmlNonFix { inner_msg_type: u8 },
}

/// A Drop Copy execution report, borrowing its strings from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropCopyReport<'a> {
    pub source: ReportSource,
    /// Outer 34.
    pub seq_num: u64,
    /// Outer 43=Y.
    pub poss_dup: bool,
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
    /// For 35=n: the embedded message (213).
    pub inner: Option<&'a [u8]>,
}

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
    #[error("MsgType {0:?} is not an ExecutionReport (8) or XMLnonFIX (n)")]
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
    fn parse_indexed<'a>(&mut self, raw: &'a [u8]) -> Result<DropCopyReport<'a>, ReportError> {
        let msg = parse(raw, &mut self.outer).map_err(ReportError::Outer)?;
        let mut r = DropCopyReport::empty(ReportSource::ExecutionReport, raw);
        let xml_data = match msg.msg_type() {
            b"8" => r.fill(&msg.fields(), true).map_err(ReportError::Outer)?,
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
            let inner = if data.starts_with(b"8=") {
                let m = parse(data, &mut self.inner).map_err(ReportError::Inner)?;
                m.fields()
            } else {
                parse_fields(data, &mut self.inner).map_err(ReportError::Inner)?
            };
            let inner_msg_type = match inner.field(0) {
                Some(f) if f.tag == 35 => one_char(35, f.value).map_err(ReportError::Inner)?,
                _ => return Err(ReportError::Inner(FixError::MissingMsgType)),
            };
            r.source = ReportSource::XmlNonFix { inner_msg_type };
            r.inner = Some(data);
            r.fill(&inner, false).map_err(ReportError::Inner)?;
        }
        Ok(r)
    }
}

/// `tag=` as the low bytes of a little-endian word (the key [`exec_report_fast`] matches on).
const fn key(tag: &[u8]) -> u64 {
    let mut k = 0u64;
    let mut i = 0;
    while i < tag.len() {
        k |= (tag[i] as u64) << (8 * i);
        i += 1;
    }
    k | ((b'=' as u64) << (8 * tag.len()))
}

const K8: [u64; 21] = [
    key(b"35"),
    key(b"34"),
    key(b"43"),
    key(b"52"),
    key(b"37"),
    key(b"11"),
    key(b"17"),
    key(b"150"),
    key(b"39"),
    key(b"55"),
    key(b"48"),
    key(b"54"),
    key(b"38"),
    key(b"44"),
    key(b"32"),
    key(b"31"),
    key(b"14"),
    key(b"151"),
    key(b"60"),
    key(b"49"),
    key(b"56"),
];

/// One fused pass over a plain ExecutionReport: frame check (BodyLength, CheckSum), tag
/// validation and field extraction with the same first-occurrence rules as
/// [`DropCopyReport::fill`]. Tags are matched as raw `tag=` bytes in one word instead of being
/// converted to numbers and indexed. `None` for anything else (other message types, raw-data
/// fields, tags of 8+ digits, any error): the indexed path then decides.
fn exec_report_fast(raw: &[u8]) -> Option<DropCopyReport<'_>> {
    const K35: u64 = K8[0];
    const K34: u64 = K8[1];
    const K43: u64 = K8[2];
    const K52: u64 = K8[3];
    const K37: u64 = K8[4];
    const K11: u64 = K8[5];
    const K17: u64 = K8[6];
    const K150: u64 = K8[7];
    const K39: u64 = K8[8];
    const K55: u64 = K8[9];
    const K48: u64 = K8[10];
    const K54: u64 = K8[11];
    const K38: u64 = K8[12];
    const K44: u64 = K8[13];
    const K32: u64 = K8[14];
    const K31: u64 = K8[15];
    const K14: u64 = K8[16];
    const K151: u64 = K8[17];
    const K60: u64 = K8[18];
    const K49: u64 = K8[19];
    const K56: u64 = K8[20];
    let (start, end) = verify_frame(raw).ok()?;
    let body = raw.get(..end)?;
    // One UTF-8 check for the body; fields are then sliced at ASCII boundaries.
    let body_str = std::str::from_utf8(body).ok()?;
    let text = |s: usize, e: usize| body_str.get(s..e);
    // Every body field starts at least 2 bytes before `end` and the 7-byte trailer follows, so
    // a word load at a field start (or at any position < end) stays inside `raw`.
    let load = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(raw.get(at..at + 8)?.try_into().ok()?))
    };
    // Lowest byte equal to `b` in `w` (exact for the lowest match), if any.
    let find = |w: u64, b: u8| -> Option<usize> {
        let x = w ^ (LO * u64::from(b));
        let z = x.wrapping_sub(LO) & !x & HI;
        (z != 0).then(|| (z.trailing_zeros() / 8) as usize)
    };
    let mut r = DropCopyReport::empty(ReportSource::ExecutionReport, raw);
    let mut field_start = start;
    let mut count = 0usize;
    while field_start < end {
        let word = load(field_start)?;
        // Tag: 1-7 bytes then '=' (8+ digit tags, or no '=', go to the indexed path).
        let n = find(word, b'=').filter(|&n| n > 0)?;
        // SOH: usually in the same word, else word by word.
        let soh = match find(word, SOH) {
            Some(i) if i < n => return None, // SOH inside the tag
            Some(i) => field_start + i,
            None => {
                let mut p = field_start + 8;
                loop {
                    if p >= end {
                        return None;
                    }
                    if let Some(i) = find(load(p)?, SOH) {
                        break p + i;
                    }
                    p += 8;
                }
            }
        };
        if soh >= end {
            return None;
        }
        let vstart = field_start + n + 1;
        let k = word & (u64::MAX >> (56 - 8 * n));
        let v = body.get(vstart..soh)?;
        if count == 0 && (k != K35 || v != b"8") {
            return None;
        }
        match k {
            K35 | K49 | K56 => {}
            K34 => {
                if r.seq_num == 0 {
                    r.seq_num = parse_u64(34, v).ok().filter(|&s| s > 0)?;
                }
            }
            K43 => r.poss_dup = v == b"Y",
            K52 if r.sending_time.is_empty() => r.sending_time = text(vstart, soh)?,
            K37 if r.order_id.is_none() => r.order_id = Some(text(vstart, soh)?),
            K11 if r.cl_ord_id.is_none() => r.cl_ord_id = Some(text(vstart, soh)?),
            K17 if r.exec_id.is_none() => r.exec_id = Some(text(vstart, soh)?),
            K150 if r.exec_type.is_none() => r.exec_type = Some(one_char(150, v).ok()?),
            K39 if r.ord_status.is_none() => r.ord_status = Some(one_char(39, v).ok()?),
            K55 if r.symbol.is_none() => r.symbol = Some(text(vstart, soh)?),
            K48 if r.security_id.is_none() => r.security_id = Some(text(vstart, soh)?),
            K54 if r.side.is_none() => r.side = Some(one_char(54, v).ok()?),
            K38 if r.order_qty.is_none() => r.order_qty = Some(Decimal9::parse(38, v).ok()?),
            K44 if r.price.is_none() => r.price = Some(Decimal9::parse(44, v).ok()?),
            K32 if r.last_qty.is_none() => r.last_qty = Some(Decimal9::parse(32, v).ok()?),
            K31 if r.last_px.is_none() => r.last_px = Some(Decimal9::parse(31, v).ok()?),
            K14 if r.cum_qty.is_none() => r.cum_qty = Some(Decimal9::parse(14, v).ok()?),
            K151 if r.leaves_qty.is_none() => r.leaves_qty = Some(Decimal9::parse(151, v).ok()?),
            K60 if r.transact_time.is_none() => r.transact_time = Some(text(vstart, soh)?),
            K52 | K37 | K11 | K17 | K150 | K39 | K55 | K48 | K54 | K38 | K44 | K32 | K31 | K14
            | K151 | K60 => {}
            _ => {
                // Any other tag: 1-7 digits without a leading zero, not a raw-data length.
                let d = word.wrapping_sub(LO * u64::from(b'0'));
                let digits = u64::MAX >> (64 - 8 * n);
                if (d | d.wrapping_add(LO * 0x76)) & HI & digits != 0 || (word & 0xff) as u8 == b'0'
                {
                    return None;
                }
                if n >= 2 {
                    let tag = tag_value(word, n);
                    if tag >= 90 && raw_data_tag(tag).is_some() {
                        return None;
                    }
                }
            }
        }
        count += 1;
        field_start = soh + 1;
    }
    if field_start != end || count > MAX_FIELDS || r.seq_num == 0 || r.sending_time.is_empty() {
        return None;
    }
    Some(r)
}

/// The number of an all-digit tag of `n` (1-7) bytes in the low bytes of `word`.
#[inline]
fn tag_value(word: u64, n: usize) -> u32 {
    let mut t = 0u32;
    for i in 0..n {
        t = t * 10 + u32::from(((word >> (8 * i)) as u8).wrapping_sub(b'0') % 10);
    }
    t
}

impl<'a> DropCopyReport<'a> {
    fn empty(source: ReportSource, raw: &'a [u8]) -> Self {
        DropCopyReport {
            source,
            seq_num: 0,
            poss_dup: false,
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
        }
    }
}

/// Owned copy of a [`DropCopyReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedDropCopyReport {
    pub source: ReportSource,
    pub seq_num: u64,
    pub poss_dup: bool,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::codec::checksum;
    use proptest::prelude::*;

    fn framed(body: &str) -> Vec<u8> {
        let body = body.replace('|', "\x01");
        let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
        let sum = checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        m
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
                inner_msg_type: b'8'
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
