//! Per-hot-thread histograms, swapped each interval through lock-free queues.
//!
//! [`channel`] builds a [`Recorder`] (moved to the hot thread) and a [`Collector`] (kept by the
//! housekeeping thread) around a pool of pre-allocated [`IntervalSet`]s: one active, the others
//! waiting empty in the return queue. At the end of an interval [`Recorder::poll`] pushes the
//! active set to the `full` queue and pops an empty one from the `empty` queue. If none is
//! there (the housekeeping thread is behind), the recorder keeps recording into the active set
//! and counts a *handover miss*: those samples land in a longer interval, never on the floor.
//! The hot thread never allocates, locks, clears a histogram or waits.

use super::clock::{Clock, Stamp};
use super::{tag, Hop};
use crossbeam::queue::ArrayQueue;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How a [`Recorder`] is built.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Sessions recorded by this thread, in the order the hot thread refers to them by index.
    pub sessions: Vec<String>,
    /// Histogram interval (the `[latency] interval_ms` setting; 1 s by default).
    pub interval: Duration,
    /// Empty sets waiting for the hot thread: how many intervals the housekeeping thread may
    /// fall behind before a handover is missed.
    pub spare_sets: usize,
    /// Highest trackable value in nanoseconds; larger values are recorded as this value.
    pub highest_ns: u64,
    /// Significant decimal digits kept (3: values within 0.1%).
    pub significant_digits: u8,
}

impl RecorderConfig {
    /// Defaults: 1 s interval, 3 spare sets, values up to 60 s with 3 significant digits.
    pub fn new(sessions: Vec<String>) -> RecorderConfig {
        RecorderConfig {
            sessions,
            interval: Duration::from_secs(1),
            spare_sets: 3,
            highest_ns: 60_000_000_000,
            significant_digits: 3,
        }
    }
}

/// Errors building a recorder.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// The histogram bounds were refused by HdrHistogram.
    #[error("latency histogram (1..={highest} ns, {digits} digits): {source}")]
    Histogram {
        highest: u64,
        digits: u8,
        source: hdrhistogram::CreationError,
    },
    /// No sessions, or zero spare sets or interval.
    #[error("latency recorder: {0}")]
    Config(&'static str),
}

/// The histograms of one interval: one per (session, hop).
#[derive(Debug, Clone)]
pub struct IntervalSet {
    start: Stamp,
    end: Stamp,
    missed_swaps: u64,
    hists: Vec<Histogram<u64>>,
}

impl IntervalSet {
    /// Stamp at which this interval began.
    pub fn start(&self) -> Stamp {
        self.start
    }
    /// Stamp at which it was handed over.
    pub fn end(&self) -> Stamp {
        self.end
    }
    /// Swaps that were due during this interval but found no empty set (the interval is longer).
    pub fn missed_swaps(&self) -> u64 {
        self.missed_swaps
    }
    /// Histogram of a slot.
    pub fn histogram(&self, slot: Slot) -> Option<&Histogram<u64>> {
        self.hists.get(slot.0 as usize)
    }
    /// (slot index, histogram) for every slot that has samples.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Histogram<u64>)> {
        self.hists.iter().enumerate().filter(|(_, h)| !h.is_empty())
    }
    /// Samples in all slots.
    pub fn total_count(&self) -> u64 {
        self.hists.iter().map(|h| h.len()).sum()
    }
    fn reset(&mut self) {
        for h in &mut self.hists {
            if !h.is_empty() {
                h.reset();
            }
        }
        self.missed_swaps = 0;
    }
}

/// A (session, hop) histogram index, from [`Recorder::slot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(u32);

impl Slot {
    /// Index into the collector's [`Collector::tags`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Counters shared by a recorder and its collector.
#[derive(Debug, Default)]
struct Shared {
    handover_misses: AtomicU64,
    handed_over: AtomicU64,
}

/// What a recorder has done, as the housekeeping thread sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecorderStats {
    /// Interval ends at which no empty set was available (samples kept, interval extended).
    pub handover_misses: u64,
    /// Sets handed to the housekeeping thread.
    pub handed_over: u64,
}

/// The hot thread's end: records spans and swaps sets. `Send`, not shared.
#[derive(Debug)]
pub struct Recorder {
    clock: Clock,
    active: Box<IntervalSet>,
    full: Arc<ArrayQueue<Box<IntervalSet>>>,
    empty: Arc<ArrayQueue<Box<IntervalSet>>>,
    interval_ticks: u64,
    next_swap: u64,
    misses: u64,
    handed_over: u64,
    sessions: usize,
    shared: Arc<Shared>,
}

/// The housekeeping thread's end: takes full sets, hands them back empty.
#[derive(Debug)]
pub struct Collector {
    clock: Clock,
    full: Arc<ArrayQueue<Box<IntervalSet>>>,
    empty: Arc<ArrayQueue<Box<IntervalSet>>>,
    tags: Vec<String>,
    shared: Arc<Shared>,
}

/// Builds a recorder/collector pair; allocates every histogram now (`sessions × hops ×
/// (spare_sets + 1)` of them), none later. `now` starts the first interval.
pub fn channel(
    clock: Clock,
    cfg: &RecorderConfig,
    now: Stamp,
) -> Result<(Recorder, Collector), RecorderError> {
    if cfg.sessions.is_empty() {
        return Err(RecorderError::Config("no sessions"));
    }
    if cfg.spare_sets == 0 {
        return Err(RecorderError::Config("spare_sets must be at least 1"));
    }
    if cfg.interval.is_zero() {
        return Err(RecorderError::Config("interval must be positive"));
    }
    let slots = cfg.sessions.len() * Hop::COUNT;
    let proto = Histogram::<u64>::new_with_bounds(1, cfg.highest_ns, cfg.significant_digits)
        .map_err(|source| RecorderError::Histogram {
            highest: cfg.highest_ns,
            digits: cfg.significant_digits,
            source,
        })?;
    let make = || {
        Box::new(IntervalSet {
            start: now,
            end: now,
            missed_swaps: 0,
            hists: vec![proto.clone(); slots],
        })
    };
    let total = cfg.spare_sets + 1;
    let full = Arc::new(ArrayQueue::new(total));
    let empty = Arc::new(ArrayQueue::new(total));
    for _ in 0..cfg.spare_sets {
        // Cannot fail: capacity is spare_sets + 1.
        let _ = empty.push(make());
    }
    let tags = cfg
        .sessions
        .iter()
        .flat_map(|s| Hop::ALL.iter().map(move |&h| tag(s, h)))
        .collect();
    let interval_ticks = clock
        .ns_to_ticks(cfg.interval.as_nanos().min(u64::MAX as u128) as u64)
        .max(1);
    let shared = Arc::new(Shared::default());
    let rec = Recorder {
        clock,
        active: make(),
        full: Arc::clone(&full),
        empty: Arc::clone(&empty),
        interval_ticks,
        next_swap: now.0.saturating_add(interval_ticks),
        misses: 0,
        handed_over: 0,
        sessions: cfg.sessions.len(),
        shared: Arc::clone(&shared),
    };
    let col = Collector {
        clock,
        full,
        empty,
        tags,
        shared,
    };
    Ok((rec, col))
}

/// The stamps one order (or response) collected on its way; unset stamps are [`Stamp::NONE`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HopStamps {
    /// Written by the strategy into the request record.
    pub strategy_enqueue: Stamp,
    /// Daemon took the request off the ring.
    pub daemon_dequeue: Stamp,
    /// SBE frame encoded.
    pub frame_encoded: Stamp,
    /// Send submitted to the kernel.
    pub send_submitted: Stamp,
    /// Send completion seen.
    pub send_completed: Stamp,
    /// Exchange response read.
    pub response_received: Stamp,
    /// Event written to the strategy's event ring.
    pub event_published: Stamp,
    /// Strategy took the event off the ring (client side).
    pub strategy_dequeue: Stamp,
}

impl Recorder {
    /// The slot of a session's hop (`session` indexes [`RecorderConfig::sessions`]).
    #[inline]
    pub fn slot(&self, session: usize, hop: Hop) -> Option<Slot> {
        (session < self.sessions).then(|| Slot((session * Hop::COUNT + hop.index()) as u32))
    }

    /// Records `ns` nanoseconds in a slot. A few nanoseconds: no allocation, lock or branch on
    /// shared state; values above the configured highest are recorded as the highest.
    #[inline]
    pub fn record(&mut self, slot: Slot, ns: u64) {
        if let Some(h) = self.active.hists.get_mut(slot.0 as usize) {
            h.saturating_record(ns);
        }
    }

    /// Records the span from `start` to `end` (both from this recorder's clock).
    #[inline]
    pub fn record_span(&mut self, slot: Slot, start: Stamp, end: Stamp) {
        let ns = self.clock.delta_ns(start, end);
        self.record(slot, ns);
    }

    /// Records `ns` for a session's hop (an unknown session index is ignored).
    #[inline]
    pub fn record_hop(&mut self, session: usize, hop: Hop, ns: u64) {
        if let Some(slot) = self.slot(session, hop) {
            self.record(slot, ns);
        }
    }

    /// Records every hop whose two stamps are set.
    #[inline]
    pub fn record_stamps(&mut self, session: usize, s: &HopStamps) {
        let spans = [
            (Hop::RequestRing, s.strategy_enqueue, s.daemon_dequeue),
            (Hop::RiskEncode, s.daemon_dequeue, s.frame_encoded),
            (Hop::Submit, s.frame_encoded, s.send_submitted),
            (Hop::SendComplete, s.send_submitted, s.send_completed),
            (Hop::OrderPath, s.strategy_enqueue, s.send_submitted),
            (Hop::ExchangeRtt, s.send_submitted, s.response_received),
            (Hop::ResponsePublish, s.response_received, s.event_published),
            (Hop::EventRing, s.event_published, s.strategy_dequeue),
        ];
        for (hop, a, b) in spans {
            if a.is_set() && b.is_set() {
                if let Some(slot) = self.slot(session, hop) {
                    self.record_span(slot, a, b);
                }
            }
        }
    }

    /// Call from the hot loop with a fresh stamp; swaps sets when the interval is over. Returns
    /// true when a full set was handed over. Cheap when no swap is due (one compare).
    #[inline]
    pub fn poll(&mut self, now: Stamp) -> bool {
        if now.0 < self.next_swap {
            return false;
        }
        self.swap(now)
    }

    /// Ends the interval now, whatever the time (tests, shutdown, a config reload).
    pub fn swap(&mut self, now: Stamp) -> bool {
        let next = self.next_swap.saturating_add(self.interval_ticks);
        self.next_swap = if next > now.0 {
            next
        } else {
            now.0.saturating_add(self.interval_ticks)
        };
        let Some(mut fresh) = self.empty.pop() else {
            self.miss();
            return false;
        };
        fresh.start = now;
        fresh.end = now;
        let mut done = std::mem::replace(&mut self.active, fresh);
        done.end = now;
        match self.full.push(done) {
            Ok(()) => {
                self.handed_over += 1;
                self.shared
                    .handed_over
                    .store(self.handed_over, Ordering::Relaxed);
                true
            }
            // Cannot happen (the full queue holds every set), but if it did: keep recording into
            // the same set rather than lose it.
            Err(done) => {
                let fresh = std::mem::replace(&mut self.active, done);
                let _ = self.empty.push(fresh);
                self.miss();
                false
            }
        }
    }

    fn miss(&mut self) {
        self.misses += 1;
        self.active.missed_swaps += 1;
        self.shared
            .handover_misses
            .store(self.misses, Ordering::Relaxed);
    }

    /// Hands the active set over one last time (shutdown). Returns whether it was handed over.
    pub fn finish(mut self, now: Stamp) -> bool {
        self.active.end = now;
        if self.active.total_count() == 0 {
            return false;
        }
        self.full.push(self.active).is_ok()
    }

    /// Handover misses so far.
    pub fn handover_misses(&self) -> u64 {
        self.misses
    }

    /// The recorder's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
}

impl Collector {
    /// Tag of each slot, indexed by [`Slot::index`] / the index [`IntervalSet::iter`] yields.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The recorder's clock (to place stamps in wall-clock time).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Hands every full set to `f`, then clears it and returns it to the recorder. Returns how
    /// many sets were drained.
    pub fn drain(&mut self, mut f: impl FnMut(&IntervalSet, &[String])) -> usize {
        let mut n = 0;
        while let Some(mut set) = self.full.pop() {
            f(&set, &self.tags);
            set.reset();
            // Cannot fail: the empty queue holds every set.
            let _ = self.empty.push(set);
            n += 1;
        }
        n
    }

    /// Counters kept by the recorder.
    pub fn stats(&self) -> RecorderStats {
        RecorderStats {
            handover_misses: self.shared.handover_misses.load(Ordering::Relaxed),
            handed_over: self.shared.handed_over.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(spare: usize) -> (Recorder, Collector) {
        let mut cfg = RecorderConfig::new(vec!["a".into(), "b".into()]);
        cfg.spare_sets = spare;
        cfg.highest_ns = 1_000_000;
        channel(Clock::monotonic(), &cfg, Stamp(1)).unwrap()
    }

    #[test]
    fn a_swap_hands_over_what_was_recorded_and_starts_empty() {
        let (mut r, mut c) = pair(1);
        let s = r.slot(1, Hop::ExchangeRtt).unwrap();
        r.record(s, 100);
        r.record(s, 5_000_000); // above highest: clamped, still counted
        assert!(r.swap(Stamp(10)));
        r.record(s, 7);
        let mut seen = Vec::new();
        assert_eq!(
            c.drain(|set, tags| {
                for (i, h) in set.iter() {
                    seen.push((tags[i].clone(), h.len(), h.max(), set.start(), set.end()));
                }
            }),
            1
        );
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "b.exchange_rtt");
        assert_eq!(seen[0].1, 2);
        assert!(
            seen[0].2 >= 1_000_000 && seen[0].2 < 1_002_000,
            "{}",
            seen[0].2
        );
        assert_eq!((seen[0].3, seen[0].4), (Stamp(1), Stamp(10)));
        assert!(r.finish(Stamp(20)));
        let mut n = 0;
        c.drain(|set, _| n += set.total_count());
        assert_eq!(n, 1);
    }

    #[test]
    fn no_empty_set_means_a_counted_miss_and_a_longer_interval() {
        let (mut r, mut c) = pair(1);
        let s = r.slot(0, Hop::Submit).unwrap();
        r.record(s, 1);
        assert!(r.poll(Stamp(u64::MAX / 2)));
        r.record(s, 2);
        // The only spare is with the housekeeping thread, which has not drained yet.
        assert!(!r.swap(Stamp(u64::MAX / 2 + 1)));
        assert_eq!(r.handover_misses(), 1);
        assert_eq!(c.stats().handover_misses, 1);
        r.record(s, 3);
        assert_eq!(c.drain(|set, _| assert_eq!(set.total_count(), 1)), 1);
        assert!(r.swap(Stamp(u64::MAX / 2 + 2)));
        c.drain(|set, _| {
            assert_eq!(set.total_count(), 2);
            assert_eq!(set.missed_swaps(), 1);
        });
        assert_eq!(
            c.stats(),
            RecorderStats {
                handover_misses: 1,
                handed_over: 2
            }
        );
    }

    #[test]
    fn poll_waits_for_the_interval() {
        let (mut r, _c) = pair(2);
        let i = r.interval_ticks;
        assert!(!r.poll(Stamp(i)));
        assert!(r.poll(Stamp(i + 1)));
        assert!(!r.poll(Stamp(i + 2)));
        assert!(r.poll(Stamp(2 * i + 1)));
    }

    #[test]
    fn stamps_record_only_complete_spans() {
        let (mut r, mut c) = pair(1);
        let st = HopStamps {
            strategy_enqueue: Stamp(100),
            daemon_dequeue: Stamp(150),
            frame_encoded: Stamp(180),
            send_submitted: Stamp(200),
            response_received: Stamp(20_200),
            ..HopStamps::default()
        };
        r.record_stamps(0, &st);
        r.record_stamps(7, &st); // unknown session: ignored
        r.swap(Stamp(5));
        let mut got = Vec::new();
        c.drain(|set, tags| {
            for (i, h) in set.iter() {
                got.push((tags[i].clone(), h.max()));
            }
        });
        got.sort();
        assert_eq!(
            got,
            vec![
                // 20 000 ns lies in a bucket 16 ns wide (3 digits): max() is its top, 20 015.
                ("a.exchange_rtt".to_string(), 20_015),
                ("a.order_path".to_string(), 100),
                ("a.request_ring".to_string(), 50),
                ("a.risk_encode".to_string(), 30),
                ("a.submit".to_string(), 20),
            ]
        );
    }

    #[test]
    fn bad_configs_are_refused() {
        let cfg = RecorderConfig::new(vec![]);
        assert!(channel(Clock::monotonic(), &cfg, Stamp(0)).is_err());
        let mut cfg = RecorderConfig::new(vec!["a".into()]);
        cfg.highest_ns = 1;
        assert!(channel(Clock::monotonic(), &cfg, Stamp(0)).is_err());
    }
}
