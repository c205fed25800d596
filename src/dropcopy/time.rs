//! FIX UTCTimestamp formatting and parsing without allocation (civil-from-days arithmetic,
//! H. Hinnant's algorithms), so SendingTime (52) can be written straight into a message.

use super::codec::FixError;

/// Length of `YYYYMMDD-HH:MM:SS.sss`.
pub const SENDING_TIME_LEN: usize = 21;

const NS_PER_S: u64 = 1_000_000_000;
const S_PER_DAY: u64 = 86_400;

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date (year >= 1970).
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[inline]
fn put2(out: &mut [u8], at: usize, v: u64) {
    out[at] = b'0' + (v / 10) as u8;
    out[at + 1] = b'0' + (v % 10) as u8;
}

/// Formats nanoseconds since the Unix epoch as `YYYYMMDD-HH:MM:SS.sss` (UTC, milliseconds
/// truncated). Years past 9999 cannot occur for a `u64` of nanoseconds (it ends in 2554).
pub fn format_sending_time(ns: u64) -> [u8; SENDING_TIME_LEN] {
    let secs = ns / NS_PER_S;
    let millis = (ns % NS_PER_S) / 1_000_000;
    let (y, mo, d) = civil_from_days(secs / S_PER_DAY);
    let sod = secs % S_PER_DAY;
    let mut out = *b"00000000-00:00:00.000";
    put2(&mut out, 0, y / 100);
    put2(&mut out, 2, y % 100);
    put2(&mut out, 4, mo);
    put2(&mut out, 6, d);
    put2(&mut out, 9, sod / 3600);
    put2(&mut out, 12, (sod / 60) % 60);
    put2(&mut out, 15, sod % 60);
    out[18] = b'0' + (millis / 100) as u8;
    put2(&mut out, 19, millis % 100);
    out
}

fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v = 0u64;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

/// Parses a FIX UTCTimestamp `YYYYMMDD-HH:MM:SS[.s{1..9}]` into nanoseconds since the epoch.
/// `tag` only labels the error.
pub fn parse_utc_timestamp(tag: u32, s: &[u8]) -> Result<u64, FixError> {
    let bad = FixError::BadValue { tag };
    if s.len() < 17
        || s.get(8) != Some(&b'-')
        || s.get(11) != Some(&b':')
        || s.get(14) != Some(&b':')
    {
        return Err(bad);
    }
    let num = |a: usize, b: usize| s.get(a..b).and_then(digits).ok_or(bad);
    let (y, mo, d) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (h, mi, sec) = (num(9, 11)?, num(12, 14)?, num(15, 17)?);
    if !(1970..=2500).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return Err(bad);
    }
    let mut frac_ns = 0u64;
    if s.len() > 17 {
        let frac = s.get(18..).ok_or(bad)?;
        if s.get(17) != Some(&b'.') || frac.is_empty() || frac.len() > 9 {
            return Err(bad);
        }
        frac_ns = digits(frac).ok_or(bad)? * 10u64.pow(9 - frac.len() as u32);
    }
    let days = days_from_civil(y, mo, d).ok_or(bad)?;
    // Reject dates such as February 30th that do not round-trip.
    if civil_from_days(days) != (y, mo, d) {
        return Err(bad);
    }
    Ok(((days * S_PER_DAY + h * 3600 + mi * 60 + sec) * NS_PER_S) + frac_ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(&format_sending_time(0), b"19700101-00:00:00.000");
        // The first PROTOCOL.md logon vector's SendingTime.
        let ns = parse_utc_timestamp(52, b"20170623-14:48:42.855").unwrap();
        assert_eq!(ns, 1_498_229_322_855_000_000);
        assert_eq!(&format_sending_time(ns), b"20170623-14:48:42.855");
        assert_eq!(
            &format_sending_time(951_782_400_000_000_000 + 999_999_999),
            b"20000229-00:00:00.999"
        );
    }

    #[test]
    fn parse_rejects_bad_dates_and_shapes() {
        for s in [
            &b"20170230-00:00:00"[..],
            b"2017023-00:00:00",
            b"20170623-24:00:00",
            b"20170623-14:48:42.",
            b"20170623-14:48:42.1234567890",
            b"20170623 14:48:42",
            b"",
        ] {
            assert_eq!(
                parse_utc_timestamp(60, s),
                Err(FixError::BadValue { tag: 60 }),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
        assert_eq!(
            parse_utc_timestamp(60, b"20240101-00:00:00.000000001"),
            Ok(1_704_067_200_000_000_001)
        );
    }

    proptest! {
        /// Matches the `time` crate and round-trips through the parser at millisecond precision.
        #[test]
        fn format_matches_time_crate(ns in 0u64..16_000_000_000_000_000_000) {
            let s = format_sending_time(ns);
            let dt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).unwrap();
            let expect = format!(
                "{:04}{:02}{:02}-{:02}:{:02}:{:02}.{:03}",
                dt.year(), u8::from(dt.month()), dt.day(), dt.hour(), dt.minute(), dt.second(),
                dt.millisecond()
            );
            prop_assert_eq!(std::str::from_utf8(&s).unwrap(), expect.as_str());
            prop_assert_eq!(parse_utc_timestamp(52, &s).unwrap(), ns - ns % 1_000_000);
        }
    }
}
