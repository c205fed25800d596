use super::*;
use proptest::prelude::*;
use std::fs;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

// Header field offsets (see the layout in mod.rs).
const OFF_VERSION: u64 = 8;
const OFF_CAPACITY: u64 = 16;
const OFF_PID: u64 = 24;
const OFF_TAIL_INTENT: u64 = 64;
const OFF_TAIL: u64 = 128;
const OFF_LATEST: u64 = 192;
const DATA: u64 = 512;

fn ring(dir: &tempfile::TempDir, capacity: usize) -> (BroadcastProducer, PathBuf) {
    let path = dir.path().join("ring");
    let opts = RingOptions {
        capacity,
        mode: 0o600,
    };
    (BroadcastProducer::create(&path, opts).unwrap(), path)
}

/// Payload length and bytes derived from `seq`, so any record can be checked on its own.
fn payload(seq: u64, max: usize) -> Vec<u8> {
    let len = (seq.wrapping_mul(2_654_435_761) % (max as u64 + 1)) as usize;
    (0..len)
        .map(|i| (seq.wrapping_mul(31).wrapping_add(i as u64 * 7) >> 3) as u8 ^ i as u8)
        .collect()
}

fn poke(path: &Path, off: u64, bytes: &[u8]) {
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, off).unwrap();
}

#[test]
fn round_trip_single_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 1 << 16);
    let mut r = BroadcastReader::open(&path).unwrap();
    let mut buf = Vec::new();
    assert_eq!(r.poll(&mut buf), Ok(None));
    let msgs: [&[u8]; 4] = [b"", b"8=FIX.4.2\x019=5\x0135=8\x01", b"x", &[0xAB; 64]];
    for (i, m) in msgs.iter().enumerate() {
        p.publish(i as u32 + 1, 100 + i as u64, m).unwrap();
    }
    for (i, m) in msgs.iter().enumerate() {
        let rec = r.poll(&mut buf).unwrap().unwrap();
        assert_eq!(
            (rec.kind, rec.seq, rec.payload),
            (i as u32 + 1, 100 + i as u64, *m)
        );
    }
    assert_eq!(r.poll(&mut buf), Ok(None));
    assert_eq!(r.position(), p.position());
    assert_eq!(r.lag_bytes(), 0);
}

#[test]
fn wrap_around_with_padding_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 4096);
    let mut r = BroadcastReader::open(&path).unwrap();
    let mut buf = Vec::new();
    let mut prev_end = 0u64;
    let mut paddings = 0;
    for seq in 0..2000u64 {
        let msg = payload(seq, p.max_payload());
        let pos = p.publish(7, seq, &msg).unwrap();
        let rec = r.poll(&mut buf).unwrap().unwrap();
        assert_eq!(
            (rec.kind, rec.seq, rec.payload, rec.pos),
            (7, seq, &msg[..], pos)
        );
        assert!(pos % 4096 + 16 + msg.len() as u64 <= 4096, "record wraps");
        if pos != prev_end {
            assert_eq!(pos % 4096, 0, "gap only before a lap start");
            paddings += 1;
        }
        prev_end = pos + 16 + msg.len().div_ceil(8) as u64 * 8;
        assert_eq!(r.poll(&mut buf), Ok(None));
    }
    assert!(p.position() > 100 * 4096);
    assert!(paddings > 50, "only {paddings} padded wraps");
}

#[test]
fn eight_byte_remainder_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 4096);
    let mut r = BroadcastReader::open(&path).unwrap();
    // 7 records of 16 + 512 and one of 16 + 376: 4088 bytes, leaving 8 at the end.
    let mut sizes = vec![512usize; 7];
    sizes.push(376);
    sizes.push(40);
    let mut buf = Vec::new();
    let mut pos = Vec::new();
    for (seq, &n) in sizes.iter().enumerate() {
        pos.push(p.publish(1, seq as u64, &vec![seq as u8; n]).unwrap());
        let rec = r.poll(&mut buf).unwrap().unwrap();
        assert_eq!(
            (rec.seq, rec.payload),
            (seq as u64, &vec![seq as u8; n][..])
        );
    }
    assert_eq!(pos[7], 4088 - 392);
    assert_eq!(
        pos[8], 4096,
        "record after an 8-byte remainder starts the next lap"
    );
    assert_eq!(r.poll(&mut buf), Ok(None));
    // Open after the wrap: seek_start goes to the lap start, the last record.
    r.seek_start();
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().seq, 8);
}

#[test]
fn publish_rejects_oversized_and_reserved_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 8192);
    assert_eq!(p.max_payload(), 1024);
    assert_eq!(
        p.publish(1, 1, &[0; 1025]),
        Err(PublishError::TooLarge {
            len: 1025,
            max: 1024
        })
    );
    assert_eq!(
        p.publish(PADDING_KIND, 1, b"x"),
        Err(PublishError::ReservedKind(PADDING_KIND))
    );
    assert_eq!(p.position(), 0);
    p.publish(1, 1, &[9; 1024]).unwrap();
    let mut r = BroadcastReader::open(&path).unwrap();
    r.seek_start();
    let mut buf = Vec::new();
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().payload, &[9; 1024][..]);
}

#[test]
fn bad_options_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r");
    for capacity in [0, 1000, 2048, 4097, MAX_CAPACITY * 2] {
        let e = BroadcastProducer::create(
            &path,
            RingOptions {
                capacity,
                mode: 0o600,
            },
        );
        assert!(matches!(e, Err(ShmError::BadCapacity { .. })), "{capacity}");
    }
    let e = BroadcastProducer::create(
        &path,
        RingOptions {
            capacity: 4096,
            mode: 0o4600,
        },
    );
    assert!(matches!(e, Err(ShmError::BadMode { .. })));
    assert!(!path.exists());
}

#[test]
fn slow_reader_is_lapped_then_resumes_at_latest() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 4096);
    let mut r = BroadcastReader::open(&path).unwrap();
    let mut buf = Vec::new();
    p.publish(1, 0, b"first").unwrap();
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().seq, 0);
    let from = r.position();
    let mut latest = 0;
    for seq in 1..100u64 {
        latest = p.publish(1, seq, &payload(seq, 200)).unwrap();
    }
    assert_eq!(
        r.poll(&mut buf),
        Err(ReadError::Lapped {
            lost_from: from,
            resumed_at: latest,
            last_seq: Some(0)
        })
    );
    let rec = r.poll(&mut buf).unwrap().unwrap();
    assert_eq!((rec.seq, rec.payload), (99, &payload(99, 200)[..]));
    assert_eq!(r.poll(&mut buf), Ok(None));
    // A fresh reader positioned at 0 far behind is lapped too, without a last seq.
    let mut r2 = BroadcastReader::open(&path).unwrap();
    r2.seek_start();
    let first = r2.poll(&mut buf).unwrap().unwrap().seq;
    assert!(first > 1 && first <= 99);
}

#[test]
fn seek_start_replays_retained_history() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 8192);
    let mut r = BroadcastReader::open(&path).unwrap();
    let mut buf = Vec::new();
    for seq in 0..10u64 {
        p.publish(2, seq, &payload(seq, 100)).unwrap();
    }
    r.seek_start();
    for seq in 0..10u64 {
        assert_eq!(r.poll(&mut buf).unwrap().unwrap().seq, seq);
    }
    for seq in 10..500u64 {
        p.publish(2, seq, &payload(seq, 100)).unwrap();
    }
    r.seek_start();
    let rec = r.poll(&mut buf).unwrap().unwrap();
    assert_eq!(rec.pos % 8192, 0, "starts at a lap start");
    let mut expect = rec.seq + 1;
    while let Some(rec) = r.poll(&mut buf).unwrap() {
        assert_eq!((rec.seq, rec.payload), (expect, &payload(expect, 100)[..]));
        expect += 1;
    }
    assert_eq!(expect, 500);
}

#[test]
fn seek_seq_scans_from_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 8192);
    let mut r = BroadcastReader::open(&path).unwrap();
    let mut buf = Vec::new();
    for seq in (0..100u64).step_by(2) {
        p.publish(3, seq, &payload(seq, 60)).unwrap();
    }
    assert_eq!(r.seek_seq(10), Ok(Some(10)));
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().seq, 10);
    assert_eq!(r.seek_seq(11), Ok(Some(12)));
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().seq, 12);
    assert_eq!(r.seek_seq(1000), Ok(None));
    assert_eq!(r.poll(&mut buf), Ok(None));
    p.publish(3, 1000, b"late").unwrap();
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().payload, b"late");
    // After wraps, seq 0 is gone: the oldest retained record is found instead.
    for seq in 1001..2000u64 {
        p.publish(3, seq, &payload(seq, 60)).unwrap();
    }
    let oldest = r.seek_seq(0).unwrap().unwrap();
    assert!(oldest > 1000 && oldest < 1999);
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().seq, oldest);
}

#[test]
fn open_starts_at_live_end() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 4096);
    p.publish(1, 1, b"old").unwrap();
    let mut r = BroadcastReader::open(&path).unwrap();
    let mut buf = Vec::new();
    assert_eq!(r.poll(&mut buf), Ok(None));
    p.publish(1, 2, b"new").unwrap();
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().payload, b"new");
    r.seek_start();
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().payload, b"old");
    r.seek_end();
    assert_eq!(r.poll(&mut buf), Ok(None));
}

#[test]
fn garbage_files_are_typed_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage");
    fs::write(&path, b"").unwrap();
    assert!(matches!(
        BroadcastReader::open(&path),
        Err(ShmError::BadLength { .. })
    ));
    let junk: Vec<u8> = (0..8192u32).map(|i| (i * 37 % 251) as u8).collect();
    fs::write(&path, &junk).unwrap();
    let e = BroadcastReader::open(&path).unwrap_err();
    assert!(matches!(e, ShmError::BadMagic { .. }), "{e}");
    assert!(e.to_string().contains("garbage"), "{e}");
    assert!(matches!(
        BroadcastReader::open(dir.path().join("missing")),
        Err(ShmError::Io { op: "open", .. })
    ));

    let (_p, ring_path) = ring(&dir, 4096);
    poke(&ring_path, OFF_VERSION, &2u32.to_ne_bytes());
    let e = BroadcastReader::open(&ring_path).unwrap_err();
    assert!(
        matches!(
            e,
            ShmError::Version {
                found: 2,
                expected: ABI_VERSION,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("ring"), "{e}");
    poke(&ring_path, OFF_VERSION, &ABI_VERSION.to_ne_bytes());
    poke(&ring_path, OFF_CAPACITY, &8192u64.to_ne_bytes());
    assert!(matches!(
        BroadcastReader::open(&ring_path),
        Err(ShmError::BadLength { .. })
    ));
    poke(&ring_path, OFF_CAPACITY, &3000u64.to_ne_bytes());
    assert!(matches!(
        BroadcastReader::open(&ring_path),
        Err(ShmError::BadCapacity { capacity: 3000, .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the counters and data say, the reader returns records within bounds or typed
    /// errors, and never panics.
    #[test]
    fn corrupt_ring_never_panics(
        tail in prop_oneof![0u64..20_000, any::<u64>()],
        intent_delta in prop_oneof![0u64..9000, any::<u64>()],
        latest in prop_oneof![0u64..20_000, any::<u64>()],
        data in proptest::collection::vec(any::<u8>(), 0..4096),
        data_off in 0u64..4096,
        seek in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (mut p, path) = ring(&dir, 4096);
        for seq in 0..20u64 {
            p.publish(1, seq, &payload(seq, 512)).unwrap();
        }
        poke(&path, OFF_TAIL, &tail.to_ne_bytes());
        poke(&path, OFF_TAIL_INTENT, &tail.wrapping_add(intent_delta).to_ne_bytes());
        poke(&path, OFF_LATEST, &latest.to_ne_bytes());
        let n = data.len().min((4096 - data_off) as usize);
        poke(&path, DATA + data_off, &data[..n]);
        let mut r = BroadcastReader::open(&path).unwrap();
        let mut buf = Vec::new();
        for round in 0..3 {
            match round {
                0 => r.seek_start(),
                1 => { let _ = r.seek_seq(seek); }
                _ => r.seek_end(),
            }
            for _ in 0..40 {
                match r.poll(&mut buf) {
                    Ok(Some(rec)) => prop_assert!(rec.payload.len() <= r.max_payload()),
                    Ok(None) | Err(ReadError::Corrupt { .. }) => break,
                    Err(ReadError::Lapped { .. }) => {}
                }
            }
        }
    }
}

#[test]
fn file_mode_is_set_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o600, 0o640] {
        let path = dir.path().join(format!("ring{mode:o}"));
        BroadcastProducer::create(
            &path,
            RingOptions {
                capacity: 4096,
                mode,
            },
        )
        .unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, mode);
        assert_eq!(meta.len(), DATA + 4096);
    }
    // No temporary file is left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn heartbeat_and_pid_reach_readers() {
    let dir = tempfile::tempdir().unwrap();
    let (p, path) = ring(&dir, 4096);
    let r = BroadcastReader::open(&path).unwrap();
    assert_eq!(r.producer_pid(), u64::from(std::process::id()));
    assert_eq!(r.heartbeat_ns(), 0);
    p.heartbeat(1_763_769_600_000_000_123);
    assert_eq!(r.heartbeat_ns(), 1_763_769_600_000_000_123);
    if Path::new("/proc/self").exists() {
        assert_eq!(r.producer_alive(), Some(true));
    }
    assert_eq!((r.capacity(), r.max_payload()), (4096, 512));
}

#[test]
fn create_replaces_dead_ring_and_refuses_live_foreign_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, path) = ring(&dir, 4096);
    p.publish(1, 1, b"old ring").unwrap();
    let old = BroadcastReader::open(&path).unwrap();
    assert!(!old.replaced());
    // A producer pid that cannot exist (above any pid_max): the ring is free to replace.
    poke(&path, OFF_PID, &(u64::from(u32::MAX) + 7).to_ne_bytes());
    if Path::new("/proc/self").exists() {
        assert_eq!(old.producer_alive(), Some(false));
    }
    let mut p2 = BroadcastProducer::create(&path, RingOptions::default()).unwrap();
    assert!(old.replaced());
    p2.publish(1, 2, b"new ring").unwrap();
    let mut r = BroadcastReader::open(&path).unwrap();
    r.seek_start();
    let mut buf = Vec::new();
    assert_eq!(r.poll(&mut buf).unwrap().unwrap().payload, b"new ring");
    assert_eq!(r.capacity(), RingOptions::default().capacity);
    // pid 1 always exists: a ring owned by it is in use.
    if Path::new("/proc/1").exists() {
        poke(&path, OFF_PID, &1u64.to_ne_bytes());
        let e = BroadcastProducer::create(&path, RingOptions::default()).unwrap_err();
        assert!(matches!(e, ShmError::InUse { pid: 1, .. }), "{e}");
    }
}
