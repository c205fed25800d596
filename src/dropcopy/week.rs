//! CME's weekly cycle (CERTIFICATION.md 7): Globex services start up on **Sunday 10:30
//! America/Chicago** and sequence numbers start again from 1 then. A Drop Copy week runs from one
//! start-up to the next; [`new_week_between`] says whether one lies between two instants.
//!
//! Chicago time is UTC-6 (CST), or UTC-5 (CDT) from the second Sunday of March to the first
//! Sunday of November (US rule since 2007; both changes happen at 02:00 local, before 10:30, so a
//! start-up Sunday is entirely on one offset). Pure arithmetic on wall-clock nanoseconds.

use time::{Date, Month, OffsetDateTime};

const NS_PER_S: i128 = 1_000_000_000;
/// 10:30 in seconds after local midnight.
const STARTUP_LOCAL_S: i64 = 10 * 3600 + 30 * 60;

/// The `n`-th (1-based) Sunday of `month`.
fn nth_sunday(year: i32, month: Month, n: u8) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let to_sunday = first.weekday().number_days_from_sunday();
    let day = 1 + (7 - to_sunday) % 7 + 7 * (n - 1);
    Date::from_calendar_date(year, month, day).ok()
}

/// Chicago's UTC offset in hours on Sunday `d`, at 10:30 local.
fn chicago_offset_h(d: Date) -> i64 {
    let y = d.year();
    match (
        nth_sunday(y, Month::March, 2),
        nth_sunday(y, Month::November, 1),
    ) {
        (Some(start), Some(end)) if d >= start && d < end => -5,
        _ => -6,
    }
}

/// Unix seconds of the start-up on Sunday `d`.
fn startup_on(d: Date) -> i64 {
    let midnight_utc = d.midnight().assume_utc().unix_timestamp();
    midnight_utc + STARTUP_LOCAL_S - 3600 * chicago_offset_h(d)
}

/// The latest weekly start-up at or before `wall_ns` (nanoseconds since the Unix epoch), in
/// nanoseconds since the epoch.
pub fn week_start(wall_ns: u64) -> u64 {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(wall_ns)) else {
        return 0;
    };
    let s = (i128::from(wall_ns) / NS_PER_S) as i64;
    let back = i64::from(t.weekday().number_days_from_sunday());
    let sunday = t.date() - time::Duration::days(back);
    let mut start = startup_on(sunday);
    if start > s {
        start = startup_on(sunday - time::Duration::days(7));
    }
    u64::try_from(i128::from(start) * NS_PER_S).unwrap_or(0)
}

/// Whether a weekly start-up lies in `(earlier, later]`.
pub fn new_week_between(earlier_ns: u64, later_ns: u64) -> bool {
    later_ns > earlier_ns && week_start(later_ns) > earlier_ns
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ns(t: OffsetDateTime) -> u64 {
        t.unix_timestamp_nanos() as u64
    }

    #[test]
    fn startup_is_sunday_1030_chicago_in_cst_and_cdt() {
        // CDT (UTC-5): Sunday 2024-06-16 10:30 CT = 15:30 UTC.
        let w = week_start(ns(datetime!(2024-06-19 12:00 UTC)));
        assert_eq!(w, ns(datetime!(2024-06-16 15:30 UTC)));
        // CST (UTC-6): Sunday 2024-01-14 10:30 CT = 16:30 UTC.
        let w = week_start(ns(datetime!(2024-01-19 21:59 UTC)));
        assert_eq!(w, ns(datetime!(2024-01-14 16:30 UTC)));
        // The DST Sundays themselves: 2024-03-10 (CDT from 02:00) and 2024-11-03 (CST from 02:00).
        assert_eq!(
            week_start(ns(datetime!(2024-03-10 15:30 UTC))),
            ns(datetime!(2024-03-10 15:30 UTC))
        );
        assert_eq!(
            week_start(ns(datetime!(2024-11-03 16:29:59 UTC))),
            ns(datetime!(2024-10-27 15:30 UTC))
        );
        assert_eq!(
            week_start(ns(datetime!(2024-11-03 16:30 UTC))),
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
