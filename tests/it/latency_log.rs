//! Interval logs: written by the housekeeping path, read back with the same percentiles, one
//! file per UTC day.

use hdrhistogram::Histogram;
use ilinkd::latency::log::{read_log, IntervalLog};
use ilinkd::latency::{channel, Clock, Hop, RecorderConfig, Stamp};
use std::time::{Duration, UNIX_EPOCH};

const QS: [f64; 8] = [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0];

#[test]
fn a_written_log_reads_back_with_the_same_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    // 1 tick = 1 ns; stamp 1_000 is 2026-03-02T14:30:00Z.
    let t0 = 1_772_461_800_000_000_000u64;
    let clock = Clock::fixed(1e9, Stamp(1_000), t0);
    let cfg = RecorderConfig::new(vec!["cme-eq".into(), "cme fx".into()]);
    let (mut rec, mut col) = channel(clock, &cfg, Stamp(1_000)).unwrap();
    let mut expected: Vec<(String, Histogram<u64>)> = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for interval in 0..3u64 {
        for (session, hop) in [
            (0, Hop::ExchangeRtt),
            (1, Hop::RiskEncode),
            (1, Hop::HmacSign),
        ] {
            let slot = rec.slot(session, hop).unwrap();
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
            for _ in 0..(1_000 + interval * 500) {
                // xorshift: a wide, skewed spread of values (ns to tens of ms).
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = 1 + (x % 1_000) * (x >> 54);
                rec.record(slot, v);
                h.record(v).unwrap();
            }
            let tag = ilinkd::latency::tag(&cfg.sessions[session], hop);
            expected.push((tag, h));
        }
        assert!(rec.swap(Stamp(1_000 + (interval + 1) * 1_000_000_000)));
    }
    let mut log = IntervalLog::new(
        dir.path(),
        "ilinkd-latency",
        UNIX_EPOCH + Duration::from_nanos(t0),
        "test",
    )
    .unwrap();
    assert_eq!(
        col.drain(|set, tags| log.write_set(set, tags, &clock).unwrap()),
        3
    );
    let path = dir.path().join("ilinkd-latency-2026-03-02.hlog");
    assert_eq!(log.current_path(), Some(path.as_path()));

    let back = read_log(&path).unwrap();
    assert_eq!(back.len(), expected.len());
    for (i, (got, (tag, want))) in back.iter().zip(&expected).enumerate() {
        assert_eq!(&got.tag, tag);
        let interval = (i / 3) as f64;
        assert!(
            (got.start_unix_s - (t0 as f64 / 1e9 + interval)).abs() < 0.002,
            "{}",
            got.start_unix_s
        );
        assert!((got.duration_s - 1.0).abs() < 0.002);
        assert_eq!(got.histogram.len(), want.len(), "{tag}");
        assert_eq!(got.histogram.max(), want.max(), "{tag}");
        assert_eq!(got.histogram.min(), want.min(), "{tag}");
        for q in QS {
            assert_eq!(
                got.histogram.value_at_quantile(q),
                want.value_at_quantile(q),
                "{tag} q={q}"
            );
        }
    }
    assert!(back.iter().any(|i| i.tag == "cme_fx.hmac_sign"));
}

#[test]
fn a_new_utc_day_opens_a_new_file_and_restarts_append() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).unwrap();
    h.record(42).unwrap();
    let before_midnight = 1_772_495_999_000_000_000u64; // 2026-03-02T23:59:59Z
    let start = UNIX_EPOCH + Duration::from_nanos(before_midnight);
    {
        let mut log = IntervalLog::new(dir.path(), "lat", start, "x").unwrap();
        log.write_interval(before_midnight, 1_000_000_000, [("a.submit", &h)])
            .unwrap();
        log.write_interval(
            before_midnight + 1_000_000_000,
            1_000_000_000,
            [("a.submit", &h)],
        )
        .unwrap();
        assert!(log
            .write_interval(before_midnight, 1, [("bad tag", &h)])
            .is_err());
    }
    // A restart on the same day appends, with a new header.
    let mut log = IntervalLog::new(dir.path(), "lat", start, "x").unwrap();
    log.write_interval(
        before_midnight + 5_000_000_000,
        1_000_000_000,
        [("a.submit", &h)],
    )
    .unwrap();
    let day1 = read_log(&dir.path().join("lat-2026-03-02.hlog")).unwrap();
    let day2 = read_log(&dir.path().join("lat-2026-03-03.hlog")).unwrap();
    assert_eq!(day1.len(), 1);
    assert_eq!(day2.len(), 2);
    assert!((day1[0].start_unix_s - 1_772_495_999.0).abs() < 1e-3);
    assert!((day2[0].start_unix_s - 1_772_496_000.0).abs() < 1e-3);
    assert!((day2[1].start_unix_s - 1_772_496_004.0).abs() < 1e-3);
    assert_eq!(day2[1].histogram.max(), 42);
}

/// The golden log (read by tests/latency_report.rs) is exactly what the writer produces for the
/// intervals it describes: the `hdrhistogram` crate's writer keeps the format of the log files
/// written before it (Java `HistogramLogWriter` lines, one header per file, column legend).
#[test]
fn the_writer_reproduces_the_golden_log_byte_for_byte() {
    let golden_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/latency_data/golden-2026-03-02.hlog");
    let golden = std::fs::read_to_string(&golden_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = 1_772_461_800_000_000_000u64; // 2026-03-02T14:30:00Z
    let start = UNIX_EPOCH + Duration::from_secs(1_772_461_795);
    let mut log = IntervalLog::new(dir.path(), "golden", start, "ilinkd golden test log").unwrap();
    for i in 0..3u64 {
        let mut ring = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        let mut rtt = ring.clone();
        let mut hmac = ring.clone();
        for v in 1..=1_000 {
            ring.record(v).unwrap();
        }
        for k in 0..1_000 {
            rtt.record(20_000 + 5_000 * i + 30 * k).unwrap();
        }
        hmac.record(180 + i).unwrap();
        log.write_interval(
            base + i * 1_000_000_000,
            1_000_000_000,
            [
                ("sim-eq.request_ring", &ring),
                ("sim-eq.exchange_rtt", &rtt),
                ("sim-fx.hmac_sign", &hmac),
            ],
        )
        .unwrap();
    }
    let written = std::fs::read_to_string(dir.path().join("golden-2026-03-02.hlog")).unwrap();
    assert_eq!(written, golden);
}
