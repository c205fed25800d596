//! The hot path's clock: raw stamps that cost a few nanoseconds, converted to nanoseconds only
//! when a span is recorded.
//!
//! Two sources:
//! - [`ClockSource::Tsc`]: the CPU time-stamp counter (RDTSC), calibrated against
//!   `CLOCK_MONOTONIC`. Picked when the CPU says the counter is invariant (`constant_tsc` and
//!   `nonstop_tsc`) and the kernel itself uses it as its clocksource (so it has checked that the
//!   counter is synchronised across cores).
//! - [`ClockSource::Monotonic`]: `clock_gettime(CLOCK_MONOTONIC)` through the vDSO, in
//!   nanoseconds. The fallback (virtual machines on `kvm-clock`/`hyperv`, non-x86 hosts).
//!
//! `bench/record.rs` prints what each costs (`RESULT latency.clock.tsc_ns`,
//! `RESULT latency.clock.clock_gettime_ns`). Stamps are plain `u64`s so a strategy process can
//! write one into a shared-memory record; both processes must then use the same source, which
//! [`Clock::best`] guarantees on one host (the choice depends only on the host).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A raw reading of a [`Clock`]: TSC ticks or monotonic nanoseconds, depending on the source.
/// Zero means "not stamped".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Stamp(pub u64);

impl Stamp {
    /// The "not stamped" value.
    pub const NONE: Stamp = Stamp(0);

    /// Whether this stamp was taken.
    #[inline(always)]
    pub fn is_set(self) -> bool {
        self.0 != 0
    }
}

/// Where [`Clock::now`] reads time from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSource {
    /// CPU time-stamp counter (RDTSC), calibrated.
    Tsc,
    /// `clock_gettime(CLOCK_MONOTONIC)` via the vDSO, nanoseconds.
    Monotonic,
}

impl ClockSource {
    /// `"tsc"` or `"clock_gettime"`.
    pub fn name(self) -> &'static str {
        match self {
            ClockSource::Tsc => "tsc",
            ClockSource::Monotonic => "clock_gettime",
        }
    }
}

/// Why the clock could not use the time-stamp counter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// Not an x86_64 CPU.
    #[error("no time-stamp counter on this architecture")]
    NoTsc,
    /// `/proc/cpuinfo` lacks `constant_tsc` or `nonstop_tsc`.
    #[error("the time-stamp counter is not invariant (/proc/cpuinfo lacks {0})")]
    NotInvariant(&'static str),
    /// The counter did not advance, or advanced implausibly, during calibration.
    #[error("TSC calibration failed: {0}")]
    Calibration(String),
}

/// A calibrated clock. Cheap to copy; the hot thread keeps its own copy.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    source: ClockSource,
    /// `ns = ticks * mult >> 32`.
    mult: u64,
    /// Ticks per second (1e9 for the monotonic source).
    hz: f64,
    /// A stamp and the wall-clock time (Unix ns) taken together, to place intervals in time.
    anchor: Stamp,
    anchor_unix_ns: u64,
}

/// `CLOCK_MONOTONIC` in nanoseconds (vDSO, no system call on a TSC/kvm-clock clocksource).
#[inline(always)]
pub fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(t.tv_nsec as u64)
}

fn unix_ns_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Why the host's TSC is (or is not) usable: `Ok(())` when `constant_tsc`, `nonstop_tsc` are in
/// `/proc/cpuinfo` and the kernel's current clocksource is `tsc`.
pub fn tsc_usable() -> Result<(), ClockError> {
    if !crate::runtime::clock::TSC_SUPPORTED {
        return Err(ClockError::NoTsc);
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    for want in ["constant_tsc", "nonstop_tsc"] {
        if !flags.split_whitespace().any(|f| f == want) {
            return Err(ClockError::NotInvariant(want));
        }
    }
    let cs =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_default();
    if cs.trim() != "tsc" {
        return Err(ClockError::NotInvariant(
            "a kernel clocksource of tsc (the kernel does not trust it)",
        ));
    }
    Ok(())
}

impl Clock {
    /// The monotonic (`clock_gettime`) clock: stamps are nanoseconds.
    pub fn monotonic() -> Clock {
        let anchor = Stamp(monotonic_ns());
        Clock {
            source: ClockSource::Monotonic,
            mult: 1 << 32,
            hz: 1e9,
            anchor,
            anchor_unix_ns: unix_ns_now(),
        }
    }

    /// The TSC clock, calibrated against `CLOCK_MONOTONIC` over `calibration` (50 ms gives a
    /// frequency good to about 1 ppm). Refuses a counter that is not invariant.
    pub fn tsc(calibration: Duration) -> Result<Clock, ClockError> {
        tsc_usable()?;
        Self::tsc_unchecked(calibration)
    }

    /// Calibrates the TSC without checking that it is invariant (benchmarks, tests).
    pub fn tsc_unchecked(calibration: Duration) -> Result<Clock, ClockError> {
        if !crate::runtime::clock::TSC_SUPPORTED {
            return Err(ClockError::NoTsc);
        }
        let (t0, m0) = paired_reading();
        std::thread::sleep(calibration);
        let (t1, m1) = paired_reading();
        let ticks = t1.saturating_sub(t0);
        let ns = m1.saturating_sub(m0);
        if ticks == 0 || ns == 0 {
            return Err(ClockError::Calibration(format!("{ticks} ticks in {ns} ns")));
        }
        let hz = ticks as f64 * 1e9 / ns as f64;
        if !(1e7..=1e11).contains(&hz) {
            return Err(ClockError::Calibration(format!("implausible {hz:.0} Hz")));
        }
        let mult = ((ns as u128) << 32) / ticks as u128;
        let mult = u64::try_from(mult)
            .map_err(|_| ClockError::Calibration(format!("{hz:.0} Hz is too slow")))?;
        Ok(Clock {
            source: ClockSource::Tsc,
            mult,
            hz,
            anchor: Stamp(t1),
            anchor_unix_ns: unix_ns_now(),
        })
    }

    /// The TSC when the host's counter is invariant and trusted by the kernel, else
    /// `clock_gettime`; the error says why the TSC was not used.
    pub fn best(calibration: Duration) -> (Clock, Option<ClockError>) {
        match Self::tsc(calibration) {
            Ok(c) => (c, None),
            Err(e) => (Self::monotonic(), Some(e)),
        }
    }

    /// Which source this clock reads.
    pub fn source(&self) -> ClockSource {
        self.source
    }

    /// Ticks per second.
    pub fn hz(&self) -> f64 {
        self.hz
    }

    /// Reads the clock.
    #[inline(always)]
    pub fn now(&self) -> Stamp {
        match self.source {
            ClockSource::Tsc => Stamp(crate::runtime::clock::rdtsc()),
            ClockSource::Monotonic => Stamp(monotonic_ns()),
        }
    }

    /// Nanoseconds from `start` to `end` (0 when `end` is before `start`).
    #[inline(always)]
    pub fn delta_ns(&self, start: Stamp, end: Stamp) -> u64 {
        self.ticks_to_ns(end.0.saturating_sub(start.0))
    }

    /// Converts a tick count to nanoseconds.
    #[inline(always)]
    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        // Rounded to the nearest nanosecond.
        ((ticks as u128 * self.mult as u128 + (1 << 31)) >> 32) as u64
    }

    /// Converts nanoseconds to ticks (for deadlines such as the histogram interval).
    pub fn ns_to_ticks(&self, ns: u64) -> u64 {
        (((ns as u128) << 32) / self.mult.max(1) as u128).min(u64::MAX as u128) as u64
    }

    /// Wall-clock time (Unix nanoseconds) of a stamp, from the anchor taken at calibration.
    pub fn to_unix_ns(&self, s: Stamp) -> u64 {
        if s >= self.anchor {
            self.anchor_unix_ns
                .saturating_add(self.delta_ns(self.anchor, s))
        } else {
            self.anchor_unix_ns
                .saturating_sub(self.delta_ns(s, self.anchor))
        }
    }

    /// Takes a fresh stamp/wall-clock pair (the housekeeping thread may call this now and then so
    /// that interval timestamps follow NTP adjustments of the wall clock).
    pub fn reanchor(&mut self) {
        self.anchor = self.now();
        self.anchor_unix_ns = unix_ns_now();
    }

    /// A clock with a fixed rate and anchor for tests: `hz` ticks per second, stamp `anchor`
    /// at Unix time `anchor_unix_ns`. `now()` still reads the monotonic clock.
    pub fn fixed(hz: f64, anchor: Stamp, anchor_unix_ns: u64) -> Clock {
        let mult = ((1e9 / hz) * 4294967296.0).round() as u64;
        Clock {
            source: ClockSource::Monotonic,
            mult,
            hz,
            anchor,
            anchor_unix_ns,
        }
    }
}

/// A TSC reading and a monotonic reading taken as close together as possible: the best of a few
/// tries, judged by the TSC ticks around the `clock_gettime` call.
fn paired_reading() -> (u64, u64) {
    let mut best = (u64::MAX, 0, 0);
    for _ in 0..16 {
        let a = crate::runtime::clock::rdtsc();
        let m = monotonic_ns();
        let b = crate::runtime::clock::rdtsc();
        let width = b.wrapping_sub(a);
        if width < best.0 {
            best = (width, a + width / 2, m);
        }
    }
    (best.1, best.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_stamps_are_nanoseconds() {
        let c = Clock::monotonic();
        let a = c.now();
        std::thread::sleep(Duration::from_millis(2));
        let b = c.now();
        let d = c.delta_ns(a, b);
        assert!(d >= 2_000_000, "{d}");
        assert_eq!(c.delta_ns(b, a), 0);
        assert_eq!(c.ns_to_ticks(1_000), 1_000);
    }

    #[test]
    fn fixed_clock_converts_both_ways() {
        let c = Clock::fixed(3e9, Stamp(3_000_000_000), 1_700_000_000_000_000_000);
        assert_eq!(c.ticks_to_ns(3_000), 1_000);
        let t = c.ns_to_ticks(1_000_000);
        assert!((2_999_990..=3_000_010).contains(&t), "{t}");
        assert_eq!(
            c.to_unix_ns(Stamp(6_000_000_000)),
            1_700_000_001_000_000_000
        );
        assert_eq!(c.to_unix_ns(Stamp(0)), 1_699_999_999_000_000_000);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn calibrated_tsc_agrees_with_clock_gettime() {
        let c = Clock::tsc_unchecked(Duration::from_millis(20)).unwrap();
        let (t0, m0) = (c.now(), monotonic_ns());
        std::thread::sleep(Duration::from_millis(20));
        let (t1, m1) = (c.now(), monotonic_ns());
        let tsc = c.delta_ns(t0, t1) as f64;
        let mono = (m1 - m0) as f64;
        // Two readings a few hundred ns apart bracket 20 ms: 1% is generous and still catches a
        // wrong multiplier.
        assert!(
            (tsc - mono).abs() / mono < 0.01,
            "tsc {tsc} ns vs {mono} ns"
        );
    }
}
