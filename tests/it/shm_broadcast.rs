//! A producer thread and a reader thread on two mappings of the same ring file (as the daemon
//! and `ilinkd dropcopy tail` would be): every record the reader reports must be intact and in
//! order, and a reader that falls behind must be told it was lapped.

use ilinkd::shm::{BroadcastProducer, BroadcastReader, ReadError, RingOptions};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RECORDS: u64 = 120_000;
const CAPACITY: usize = 16 * 1024;
/// The reader pauses at this record until the producer is far enough ahead to lap it.
const PAUSE_AT: u64 = 20_000;

/// Length and bytes of record `seq`'s payload (0..=2048 bytes, each 8-byte word a function of
/// `seq` and its index, so a copy mixing two records or shifted bytes cannot match), plus a kind.
fn expected(seq: u64, out: &mut Vec<u8>) -> u32 {
    let len = (seq.wrapping_mul(0x9E37_79B9) >> 7) as usize % 2049;
    out.clear();
    let mut x = seq.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    (seq % 5) as u32 + 1
}

/// Waits politely: yields first, then sleeps (2 shared cores, never a bare spin).
fn backoff(idle: &mut u32) {
    *idle += 1;
    if *idle < 32 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(50));
    }
}

#[test]
fn concurrent_reader_sees_intact_records_or_lapped() {
    let _g = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropcopy.ring");
    let mut producer = BroadcastProducer::create(
        &path,
        RingOptions {
            capacity: CAPACITY,
            mode: 0o600,
        },
    )
    .unwrap();
    assert_eq!(producer.max_payload(), 2048);
    let published = Arc::new(AtomicU64::new(0));
    let reader_pos = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut reader = BroadcastReader::open(&path).unwrap();

    let reader_thread = {
        let published = Arc::clone(&published);
        let reader_pos = Arc::clone(&reader_pos);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut want = Vec::new();
            let (mut delivered, mut laps, mut last) = (0u64, 0u64, None::<u64>);
            let mut idle = 0u32;
            let mut paused = false;
            // Bounded: the producer is always making progress or done; at most this many polls.
            for _ in 0..50_000_000u64 {
                let polled = reader.poll(&mut buf);
                reader_pos.store(reader.position(), Ordering::Release);
                match polled {
                    Ok(Some(rec)) => {
                        idle = 0;
                        let kind = expected(rec.seq, &mut want);
                        assert_eq!(rec.kind, kind, "kind of seq {}", rec.seq);
                        assert!(rec.payload == want.as_slice(), "payload of seq {}", rec.seq);
                        if let Some(prev) = last {
                            assert!(rec.seq > prev, "seq {} after {prev}", rec.seq);
                        }
                        last = Some(rec.seq);
                        delivered += 1;
                        if rec.seq == RECORDS - 1 {
                            break;
                        }
                        if !paused && rec.seq >= PAUSE_AT {
                            // Fall behind on purpose: wait until the producer has published
                            // far more than a ring's worth past this record.
                            paused = true;
                            let target = (rec.seq + 200).min(RECORDS);
                            while published.load(Ordering::Acquire) < target {
                                backoff(&mut idle);
                            }
                        }
                    }
                    Ok(None) => {
                        if done.load(Ordering::Acquire) && reader.lag_bytes() == 0 {
                            break;
                        }
                        backoff(&mut idle);
                    }
                    Err(ReadError::Lapped {
                        lost_from,
                        resumed_at,
                        last_seq,
                    }) => {
                        assert!(resumed_at > lost_from);
                        assert_eq!(last_seq, last);
                        laps += 1;
                    }
                    Err(e) => panic!("reader error: {e}"),
                }
            }
            (delivered, laps, last)
        })
    };

    let mut msg = Vec::new();
    for seq in 0..RECORDS {
        let kind = expected(seq, &mut msg);
        producer.publish(kind, seq, &msg).unwrap();
        published.store(seq + 1, Ordering::Release);
        if seq % 1024 == 0 {
            producer.heartbeat(seq);
        }
        // Test-side pacing (the ring itself never waits for readers): stay about one ring ahead
        // of the reader, so that most records are read while the producer is overwriting the
        // bytes just behind them (the race the intent check exists for) and some are lapped.
        let mut tries = 0;
        while tries < 8
            && producer.position() - reader_pos.load(Ordering::Acquire) > CAPACITY as u64 - 512
        {
            tries += 1;
            std::thread::yield_now();
        }
    }
    done.store(true, Ordering::Release);
    let (delivered, laps, last) = reader_thread.join().unwrap();
    assert_eq!(last, Some(RECORDS - 1), "reader reached the last record");
    assert!(laps >= 1, "the paused reader was lapped");
    eprintln!("{delivered} of {RECORDS} records delivered intact, {laps} laps reported");
    assert!(delivered <= RECORDS);
}
