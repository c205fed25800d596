//! CME Globex's weekly cycle on the wall clock (sans-IO: times in, times out).
//!
//! CME's "CME Globex Start-up Processing" page (24/5 services): client systems can connect from
//! **Sunday 10:30 CT** to prepare for the weekly start-up, must be disconnected by **Friday
//! 17:00 CT** (weekend internal test data), and at start-up the iLink sequence numbers reset to 1
//! (so the first Negotiate of the week carries a new UUID). CT is US Central time: CST (UTC-6),
//! or CDT (UTC-5) from the second Sunday of March 02:00 to the first Sunday of November 02:00
//! local (the US rule since 2007).
//!
//! All times are nanoseconds since the Unix epoch (UTC). Both iLink 3 (a new UUID each week) and
//! Drop Copy (sequence numbers restart at 1) use it.

use time::{Date, Month};

const NS_PER_MIN: i64 = 60_000_000_000;
const NS_PER_HOUR: i64 = 60 * NS_PER_MIN;
const NS_PER_DAY: i64 = 24 * NS_PER_HOUR;
const NS_PER_WEEK: i64 = 7 * NS_PER_DAY;
/// Julian day number of 1970-01-01.
const EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Weekly open: Sunday 10:30 CT, as minutes after Sunday 00:00 local.
const OPEN_MIN_OF_WEEK: i64 = 10 * 60 + 30;
/// Weekly close: Friday 17:00 CT, as minutes after Sunday 00:00 local.
const CLOSE_MIN_OF_WEEK: i64 = 5 * 24 * 60 + 17 * 60;

/// Days since the epoch of the `n`th (1-based) Sunday of `month` in `year`.
fn nth_sunday(year: i32, month: Month, n: i64) -> i64 {
    let first = Date::from_calendar_date(year, month, 1)
        .map(|d| i64::from(d.to_julian_day()) - EPOCH_JULIAN_DAY)
        .unwrap_or(0);
    // 1970-01-01 was a Thursday: (days + 4) % 7 is 0 on Sundays.
    let to_sunday = (7 - (first + 4).rem_euclid(7)) % 7;
    first + to_sunday + 7 * (n - 1)
}

/// The offset of US Central time from UTC at `utc_ns` (-5 h in daylight time, else -6 h).
pub fn central_offset_ns(utc_ns: i64) -> i64 {
    let days = utc_ns.div_euclid(NS_PER_DAY);
    let year = Date::from_julian_day((days + EPOCH_JULIAN_DAY) as i32)
        .map(|d| d.year())
        .unwrap_or(1970);
    // 02:00 CST = 08:00 UTC; 02:00 CDT = 07:00 UTC.
    let dst_start = nth_sunday(year, Month::March, 2) * NS_PER_DAY + 8 * NS_PER_HOUR;
    let dst_end = nth_sunday(year, Month::November, 1) * NS_PER_DAY + 7 * NS_PER_HOUR;
    if (dst_start..dst_end).contains(&utc_ns) {
        -5 * NS_PER_HOUR
    } else {
        -6 * NS_PER_HOUR
    }
}

/// The UTC time of `min_of_week` minutes into the local (CT) week that starts on the Sunday
/// `sunday_days` days after the epoch. (The offset is the one in force at that local time; no
/// weekly event falls inside a daylight-saving change, which happens Sundays at 02:00.)
fn utc_of_local(sunday_days: i64, min_of_week: i64) -> i64 {
    let local = sunday_days * NS_PER_DAY + min_of_week * NS_PER_MIN;
    let guess = local + 6 * NS_PER_HOUR;
    local - central_offset_ns(guess)
}

/// Days since the epoch of the local (CT) Sunday that starts the week containing `utc_ns`.
fn local_sunday(utc_ns: i64) -> i64 {
    let local_days = (utc_ns + central_offset_ns(utc_ns)).div_euclid(NS_PER_DAY);
    local_days - (local_days + 4).rem_euclid(7)
}

/// The most recent weekly open (Sunday 10:30 CT) at or before `now_ns`.
pub fn last_open(now_ns: u64) -> u64 {
    let now = now_ns as i64;
    let sunday = local_sunday(now);
    let mut open = utc_of_local(sunday, OPEN_MIN_OF_WEEK);
    if open > now {
        open = utc_of_local(sunday - 7, OPEN_MIN_OF_WEEK);
    }
    open.max(0) as u64
}

/// The next weekly open (Sunday 10:30 CT) strictly after `now_ns`.
pub fn next_open(now_ns: u64) -> u64 {
    let now = now_ns as i64;
    let sunday = local_sunday(now);
    let mut open = utc_of_local(sunday, OPEN_MIN_OF_WEEK);
    if open <= now {
        open = utc_of_local(sunday + 7, OPEN_MIN_OF_WEEK);
    }
    open.max(0) as u64
}

/// The next weekly close (Friday 17:00 CT) strictly after `now_ns`.
pub fn next_close(now_ns: u64) -> u64 {
    let now = now_ns as i64;
    let sunday = local_sunday(now);
    let mut close = utc_of_local(sunday, CLOSE_MIN_OF_WEEK);
    if close <= now {
        close = utc_of_local(sunday + 7, CLOSE_MIN_OF_WEEK);
    }
    close.max(0) as u64
}

/// `Some(next open)` while the week is closed (from Friday 17:00 CT to Sunday 10:30 CT).
pub fn closed_until(now_ns: u64) -> Option<u64> {
    let open = next_open(now_ns);
    let close = next_close(now_ns);
    // Open comes before the next close only while closed.
    (open < close).then_some(open)
}

/// Whether a UUID (microseconds since the epoch, as ilinkd makes them) was made before the
/// most recent weekly start-up: CME has reset its sequences since, so the next connect must
/// Negotiate a new UUID with both sequences at 1.
pub fn week_boundary_passed(uuid_us: u64, now_ns: u64) -> bool {
    uuid_us.saturating_mul(1000) < last_open(now_ns)
}

/// Whether a weekly start-up lies in `(earlier, later]`: Drop Copy sequence numbers restart at 1
/// then (CERTIFICATION.md 2.5 and 7).
pub fn new_week_between(earlier_ns: u64, later_ns: u64) -> bool {
    later_ns > earlier_ns && last_open(later_ns) > earlier_ns
}

/// One week in nanoseconds.
pub const WEEK_NS: u64 = NS_PER_WEEK as u64;

#[cfg(test)]
mod tests {
    use super::*;

    /// UTC nanoseconds of a calendar date and time.
    fn utc(y: i32, m: Month, d: u8, h: u8, min: u8) -> u64 {
        let date = Date::from_calendar_date(y, m, d).unwrap();
        let days = i64::from(date.to_julian_day()) - EPOCH_JULIAN_DAY;
        (days * NS_PER_DAY + i64::from(h) * NS_PER_HOUR + i64::from(min) * NS_PER_MIN) as u64
    }

    #[test]
    fn central_time_follows_the_us_daylight_saving_rule() {
        // 2026: CDT from Sunday 8 March 08:00 UTC to Sunday 1 November 07:00 UTC.
        let h = NS_PER_HOUR;
        assert_eq!(
            central_offset_ns(utc(2026, Month::March, 8, 7, 59) as i64),
            -6 * h
        );
        assert_eq!(
            central_offset_ns(utc(2026, Month::March, 8, 8, 0) as i64),
            -5 * h
        );
        assert_eq!(
            central_offset_ns(utc(2026, Month::July, 1, 12, 0) as i64),
            -5 * h
        );
        assert_eq!(
            central_offset_ns(utc(2026, Month::November, 1, 6, 59) as i64),
            -5 * h
        );
        assert_eq!(
            central_offset_ns(utc(2026, Month::November, 1, 7, 0) as i64),
            -6 * h
        );
        assert_eq!(
            central_offset_ns(utc(2026, Month::December, 25, 0, 0) as i64),
            -6 * h
        );
    }

    #[test]
    fn globex_start_up_page_open_sunday_1030_ct_close_friday_1700_ct() {
        // Winter (CST): Friday 2026-11-20 17:00 CT = 23:00 UTC; Sunday 11-22 10:30 CT = 16:30 UTC.
        let fri_close = utc(2026, Month::November, 20, 23, 0);
        let sun_open = utc(2026, Month::November, 22, 16, 30);
        assert_eq!(next_close(fri_close - 1), fri_close);
        assert_eq!(closed_until(fri_close - 1), None);
        assert_eq!(closed_until(fri_close), Some(sun_open));
        assert_eq!(closed_until(sun_open - 1), Some(sun_open));
        assert_eq!(closed_until(sun_open), None);
        assert_eq!(last_open(sun_open), sun_open);
        assert_eq!(last_open(sun_open - 1), sun_open - WEEK_NS);
        assert_eq!(next_open(fri_close), sun_open);
        // Summer (CDT): Friday 2026-07-10 17:00 CT = 22:00 UTC; Sunday 07-12 10:30 CT = 15:30 UTC.
        let fri_close = utc(2026, Month::July, 10, 22, 0);
        let sun_open = utc(2026, Month::July, 12, 15, 30);
        assert_eq!(closed_until(fri_close - 1), None);
        assert_eq!(closed_until(fri_close), Some(sun_open));
        assert_eq!(closed_until(sun_open), None);
        // The Sunday daylight time starts: 2026-03-08 10:30 CDT = 15:30 UTC.
        let dst_open = utc(2026, Month::March, 8, 15, 30);
        assert_eq!(next_open(utc(2026, Month::March, 7, 12, 0)), dst_open);
        // The Sunday it ends: 2026-11-01 10:30 CST = 16:30 UTC.
        let std_open = utc(2026, Month::November, 1, 16, 30);
        assert_eq!(next_open(utc(2026, Month::October, 31, 12, 0)), std_open);
    }

    #[test]
    fn a_uuid_from_before_the_sunday_open_belongs_to_last_week() {
        let sun_open = utc(2026, Month::November, 22, 16, 30);
        let us = |ns: u64| ns / 1000;
        // Friday's UUID is still this week's all weekend, until the open.
        let friday = utc(2026, Month::November, 20, 15, 0);
        assert!(!week_boundary_passed(us(friday), sun_open - 1));
        assert!(week_boundary_passed(us(friday), sun_open));
        // A UUID made after the open is current all week.
        assert!(!week_boundary_passed(
            us(sun_open),
            sun_open + 5 * 86_400_000_000_000
        ));
    }
}

#[cfg(test)]
mod drop_copy_week_tests {
    use super::*;
    use time::macros::datetime;
    use time::OffsetDateTime;

    fn ns(t: OffsetDateTime) -> u64 {
        t.unix_timestamp_nanos() as u64
    }

    #[test]
    fn startup_is_sunday_1030_chicago_in_cst_and_cdt() {
        // CDT (UTC-5): Sunday 2024-06-16 10:30 CT = 15:30 UTC.
        let w = last_open(ns(datetime!(2024-06-19 12:00 UTC)));
        assert_eq!(w, ns(datetime!(2024-06-16 15:30 UTC)));
        // CST (UTC-6): Sunday 2024-01-14 10:30 CT = 16:30 UTC.
        let w = last_open(ns(datetime!(2024-01-19 21:59 UTC)));
        assert_eq!(w, ns(datetime!(2024-01-14 16:30 UTC)));
        // The DST Sundays themselves: 2024-03-10 (CDT from 02:00) and 2024-11-03 (CST from 02:00).
        assert_eq!(
            last_open(ns(datetime!(2024-03-10 15:30 UTC))),
            ns(datetime!(2024-03-10 15:30 UTC))
        );
        assert_eq!(
            last_open(ns(datetime!(2024-11-03 16:29:59 UTC))),
            ns(datetime!(2024-10-27 15:30 UTC))
        );
        assert_eq!(
            last_open(ns(datetime!(2024-11-03 16:30 UTC))),
            ns(datetime!(2024-11-03 16:30 UTC))
        );
    }

    #[test]
    fn friday_close_to_sunday_open_is_one_boundary() {
        let fri_close = ns(datetime!(2024-06-14 21:59 UTC)); // Friday 16:59 CDT
        let sat = ns(datetime!(2024-06-15 12:00 UTC));
        let sun_before = ns(datetime!(2024-06-16 15:29:59 UTC));
        let sun_open = ns(datetime!(2024-06-16 15:30 UTC));
        let mon = ns(datetime!(2024-06-17 13:00 UTC));
        assert!(!new_week_between(fri_close, sat));
        assert!(!new_week_between(fri_close, sun_before));
        assert!(new_week_between(fri_close, sun_open));
        assert!(new_week_between(fri_close, mon));
        assert!(!new_week_between(sun_open, mon));
        assert!(!new_week_between(mon, fri_close), "time going backwards");
    }
}
