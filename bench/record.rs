//! The hot path's latency recording:
//! - `latency.record_ns`: one `Recorder::record` (a histogram bucket increment) with a value
//!   that changes every call;
//! - `latency.record_span_ns`: `record_span` from two TSC stamps (tick → ns conversion included);
//! - `latency.poll_ns`: `Recorder::poll` when no swap is due (called once per loop turn);
//! - `latency.clock.tsc_ns`: one calibrated RDTSC read;
//! - `latency.clock.clock_gettime_ns`: `clock_gettime(CLOCK_MONOTONIC)` through the vDSO;
//! - `latency.clock.instant_ns`: `std::time::Instant::now()` (the same call through libc).

#[path = "common.rs"]
mod common;

use common::{median_ns_per_iter, result_median};
use ilinkd::latency::clock::{monotonic_ns, tsc_usable, Clock};
use ilinkd::latency::{channel, Hop, RecorderConfig, Stamp};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    const BATCHES: usize = 7;
    const ITERS: u64 = 1_000_000;
    let (tsc, note) = match Clock::tsc_unchecked(Duration::from_millis(50)) {
        Ok(c) => (Some(c), String::new()),
        Err(e) => (None, format!(" ({e})")),
    };
    let clock = tsc.unwrap_or_else(Clock::monotonic);
    let mut cfg = RecorderConfig::new(vec!["cme-eq".into(), "cme-fx".into()]);
    cfg.interval = Duration::from_secs(3600);
    let (mut rec, _col) = channel(clock, &cfg, clock.now()).unwrap();
    let slot = rec.slot(1, Hop::ExchangeRtt).unwrap();

    // Values spread over ~4 decades so successive records hit different buckets.
    let record = median_ns_per_iter(BATCHES, ITERS, |i| {
        rec.record(
            black_box(slot),
            black_box(20 + (i.wrapping_mul(2_654_435_761) & 0xffff)),
        );
    });
    let span = median_ns_per_iter(BATCHES, ITERS, |i| {
        let a = Stamp(black_box(1_000_000 + i));
        let b = Stamp(black_box(1_000_000 + i + (i & 0xfff) * 3));
        rec.record_span(black_box(slot), a, b);
    });
    let now = clock.now();
    let poll = median_ns_per_iter(BATCHES, ITERS, |_| {
        black_box(rec.poll(black_box(now)));
    });
    let tsc_read = tsc.map(|c| {
        median_ns_per_iter(BATCHES, ITERS, |_| {
            black_box(c.now());
        })
    });
    let gettime = median_ns_per_iter(BATCHES, ITERS, |_| {
        black_box(monotonic_ns());
    });
    let instant = median_ns_per_iter(BATCHES, ITERS, |_| {
        black_box(Instant::now());
    });

    let cs =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_default();
    println!(
        "# kernel clocksource: {}; TSC {}; calibrated {:.1} MHz{note}",
        cs.trim(),
        match tsc_usable() {
            Ok(()) => "invariant, used".to_string(),
            Err(e) => format!("not used: {e}"),
        },
        clock.hz() / 1e6
    );
    println!("# median (and best) of {BATCHES} batches x {ITERS}");
    result_median("latency.record_ns", record, "ns");
    result_median("latency.record_span_ns", span, "ns");
    result_median("latency.poll_ns", poll, "ns");
    if let Some(t) = tsc_read {
        result_median("latency.clock.tsc_ns", t, "ns");
    }
    result_median("latency.clock.clock_gettime_ns", gettime, "ns");
    result_median("latency.clock.instant_ns", instant, "ns");
}
