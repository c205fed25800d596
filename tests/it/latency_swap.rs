//! A histogram set swapped under concurrent recording loses no sample: a recording thread and
//! a housekeeping thread, bounded, with backing-off waits (no bare spinning on 2 shared cores).

use ilinkd::latency::{channel, Clock, Hop, RecorderConfig, Stamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn run(spare_sets: usize, samples: u64, swap_every: u64) {
    let mut cfg = RecorderConfig::new(vec!["sim-eq".into(), "sim-fx".into()]);
    cfg.spare_sets = spare_sets;
    let clock = Clock::monotonic();
    let (mut rec, mut col) = channel(clock, &cfg, Stamp(0)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(60);

    let d = Arc::clone(&done);
    let housekeeping = std::thread::spawn(move || {
        let (mut counted, mut sets, mut missed) = (0u64, 0u64, 0u64);
        let mut idle = 0u32;
        loop {
            // Read the flag before draining: when it is set, the final set is already queued.
            let finished = d.load(Ordering::Acquire);
            let n = col.drain(|set, tags| {
                for (i, h) in set.iter() {
                    assert!(tags[i].starts_with("sim-"), "{}", tags[i]);
                    counted += h.len();
                }
                missed += set.missed_swaps();
                assert!(set.end() >= set.start());
            });
            sets += n as u64;
            if finished && n == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "housekeeping did not finish");
            if n == 0 {
                // Back off: yield a few times, then sleep, growing to 1 ms.
                idle = (idle + 1).min(10);
                if idle < 3 {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(Duration::from_micros(100 * u64::from(idle)));
                }
            } else {
                idle = 0;
            }
        }
        (counted, sets, missed, col.stats())
    });

    let slots = [
        rec.slot(0, Hop::ExchangeRtt).unwrap(),
        rec.slot(0, Hop::OrderPath).unwrap(),
        rec.slot(1, Hop::HmacSign).unwrap(),
    ];
    let mut handed = 0u64;
    for i in 0..samples {
        rec.record(slots[(i % 3) as usize], 100 + (i % 50_000));
        if i % swap_every == swap_every - 1 {
            if rec.swap(Stamp(i + 1)) {
                handed += 1;
            }
            // Give the housekeeping thread a chance on a shared core, now and then.
            if i % (swap_every * 8) == swap_every * 8 - 1 {
                std::thread::yield_now();
            }
        }
    }
    let misses = rec.handover_misses();
    let last = rec.finish(Stamp(samples + 1));
    done.store(true, Ordering::Release);
    let (counted, sets, missed, stats) = housekeeping.join().unwrap();

    eprintln!("{samples} samples, {handed} handed over, {misses} handover misses");
    assert_eq!(counted, samples, "samples lost or duplicated");
    assert_eq!(sets, handed + u64::from(last));
    assert_eq!(stats.handed_over, handed);
    assert_eq!(stats.handover_misses, misses);
    assert_eq!(
        missed, misses,
        "every miss is accounted for in a longer interval"
    );
    assert_eq!(handed + misses, samples / swap_every);
}

#[test]
fn concurrent_swaps_lose_no_sample() {
    let _g = crate::heavy();
    run(3, 600_000, 1_000);
}

#[test]
fn a_single_spare_set_misses_handovers_but_still_loses_nothing() {
    let _g = crate::heavy();
    // Swapping every 50 samples with one spare outruns the housekeeping thread: misses happen
    // (the assertion on counts holds either way; the miss count is checked for consistency).
    run(1, 300_000, 50);
}
