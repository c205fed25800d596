//! Crash-safety tests of `ilinkd::store`: torn tails at every offset, flipped bits, state slot
//! fallback, the outbound reservation rule, file modes, clean-close exactness.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ilinkd::config::FsyncPolicy;
use ilinkd::store::journal::{self, kind, Journal, FILE_HEADER_LEN, RECORD_HEADER_LEN};
use ilinkd::store::session::{journal_file_name, SLOT_OFFSETS};
use ilinkd::store::{CorruptReason, SessionStore, StoreError, StoreOptions};

fn payload(i: u64) -> Vec<u8> {
    // Varying sizes, content depends on i.
    let len = (i * 37 % 300) as usize + 1;
    (0..len)
        .map(|k| (i as u8).wrapping_mul(31) ^ k as u8)
        .collect()
}

/// Writes `n` records with seq 1..=n and returns the byte offset of every record plus the end.
fn build_journal(path: &Path, n: u64) -> Vec<u64> {
    let (mut j, rec) = Journal::open(path, FsyncPolicy::Never).unwrap();
    assert!(rec.created);
    let mut offsets = Vec::new();
    for i in 1..=n {
        offsets.push(j.append(kind::OUTBOUND, i, &payload(i)).unwrap());
    }
    offsets.push(j.len_bytes());
    offsets
}

fn file_len(p: &Path) -> u64 {
    fs::metadata(p).unwrap().len()
}

fn flip(p: &Path, at: u64, mask: u8) {
    let f = OpenOptions::new().read(true).write(true).open(p).unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).unwrap();
    b[0] ^= mask;
    f.write_all_at(&b, at).unwrap();
}

fn read_all(j: &Journal) -> Vec<(u8, u64, Vec<u8>)> {
    j.iter()
        .map(|r| {
            let r = r.unwrap();
            (r.kind, r.seq, r.payload)
        })
        .collect()
}

#[test]
fn journal_round_trip_and_iter_from() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let n = 3000; // ~450 KB: several sparse index entries
    let offsets = build_journal(&path, n);
    let (j, rec) = Journal::open(&path, FsyncPolicy::Never).unwrap();
    assert!(!rec.created);
    assert_eq!(rec.records, n);
    assert_eq!(rec.last_seq, Some(n));
    assert_eq!(rec.truncated_bytes, 0);
    assert_eq!(rec.valid_len, *offsets.last().unwrap());
    let all = read_all(&j);
    assert_eq!(all.len() as u64, n);
    for (i, (k, seq, p)) in all.iter().enumerate() {
        assert_eq!(*k, kind::OUTBOUND);
        assert_eq!(*seq, i as u64 + 1);
        assert_eq!(*p, payload(i as u64 + 1));
    }
    for from in [0, 1, 2, 500, 1234, 2999, 3000] {
        let first = j.iter_from(from).next().unwrap().unwrap();
        assert_eq!(first.seq, from.max(1));
        assert_eq!(first.offset, offsets[(from.max(1) - 1) as usize]);
        assert_eq!(j.iter_from(from).count() as u64, n - from.max(1) + 1);
    }
    assert!(j.iter_from(n + 1).next().is_none());
}

#[test]
fn truncation_at_every_offset_of_last_record_recovers_to_last_complete_record() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master");
    let n = 40;
    let offsets = build_journal(&master, n);
    let last_start = offsets[n as usize - 1];
    let end = offsets[n as usize];
    assert_eq!(file_len(&master), end);
    let work = dir.path().join("work");
    for cut in last_start..end {
        fs::copy(&master, &work).unwrap();
        OpenOptions::new()
            .write(true)
            .open(&work)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let (mut j, rec) = Journal::open(&work, FsyncPolicy::Never).unwrap();
        assert_eq!(rec.records, n - 1, "cut at {cut}");
        assert_eq!(rec.last_seq, Some(n - 1), "cut at {cut}");
        assert_eq!(rec.valid_len, last_start, "cut at {cut}");
        assert_eq!(rec.truncated_bytes, cut - last_start, "cut at {cut}");
        assert_eq!(rec.torn.is_some(), cut > last_start, "cut at {cut}");
        assert_eq!(file_len(&work), last_start, "cut at {cut}");
        // Appending after recovery works and survives a reopen.
        j.append(kind::OUTBOUND, n, b"after recovery").unwrap();
        drop(j);
        let (j, rec) = Journal::open(&work, FsyncPolicy::Never).unwrap();
        assert_eq!(rec.records, n);
        assert_eq!(rec.truncated_bytes, 0);
        let all = read_all(&j);
        assert_eq!(all[n as usize - 2].2, payload(n - 1));
        assert_eq!(
            all[n as usize - 1],
            (kind::OUTBOUND, n, b"after recovery".to_vec())
        );
    }
}

#[test]
fn zero_filled_tail_is_torn_not_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let offsets = build_journal(&path, 10);
    let end = *offsets.last().unwrap();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(end + 4096)
        .unwrap();
    let (_, rec) = Journal::open(&path, FsyncPolicy::Never).unwrap();
    assert_eq!(rec.records, 10);
    assert_eq!(rec.truncated_bytes, 4096);
    assert_eq!(rec.torn, Some(CorruptReason::BadMagic));
    assert_eq!(file_len(&path), end);
}

#[test]
fn flipped_bit_in_any_byte_of_a_middle_record_is_a_typed_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master");
    let offsets = build_journal(&master, 12);
    let (start, end) = (offsets[5], offsets[6]);
    let work = dir.path().join("work");
    for at in start..end {
        for mask in [0x01u8, 0x80] {
            fs::copy(&master, &work).unwrap();
            flip(&work, at, mask);
            let before = fs::read(&work).unwrap();
            match Journal::open(&work, FsyncPolicy::Never) {
                Err(
                    ref e @ StoreError::CorruptRecord {
                        ref path, offset, ..
                    },
                ) => {
                    assert_eq!(path, &work);
                    assert_eq!(offset, start, "byte {at} mask {mask:#x}");
                    let msg = e.to_string();
                    assert!(msg.contains(&work.display().to_string()), "{msg}");
                    assert!(msg.contains(&format!("offset {start}")), "{msg}");
                }
                other => panic!("byte {at} mask {mask:#x}: expected CorruptRecord, got {other:?}"),
            }
            // Nothing was cut off.
            assert_eq!(fs::read(&work).unwrap(), before);
        }
    }
}

#[test]
fn flipped_bit_in_last_record_is_detected_and_cut_as_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master");
    let offsets = build_journal(&master, 8);
    let (start, end) = (offsets[7], offsets[8]);
    let work = dir.path().join("work");
    for at in start..end {
        fs::copy(&master, &work).unwrap();
        flip(&work, at, 0x10);
        let (_, rec) = Journal::open(&work, FsyncPolicy::Never).unwrap();
        assert_eq!(rec.records, 7, "byte {at}");
        assert_eq!(rec.truncated_bytes, end - start, "byte {at}");
        assert!(rec.torn.is_some());
    }
}

#[test]
fn read_only_open_reports_torn_tail_without_modifying() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let offsets = build_journal(&path, 5);
    let end = offsets[5];
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(end - 3)
        .unwrap();
    let (mut j, rec) = Journal::open_read_only(&path).unwrap();
    assert_eq!(rec.records, 4);
    assert_eq!(rec.truncated_bytes, end - 3 - offsets[4]);
    assert_eq!(file_len(&path), end - 3);
    assert_eq!(read_all(&j).len(), 4);
    assert!(matches!(
        j.append(kind::OUTBOUND, 9, b"x"),
        Err(StoreError::ReadOnly { .. })
    ));
}

#[test]
fn corruption_followed_by_more_than_one_record_of_data_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let big = vec![7u8; journal::MAX_PAYLOAD as usize];
    {
        let (mut j, _) = Journal::open(&path, FsyncPolicy::Never).unwrap();
        for i in 1..=3 {
            j.append(kind::INBOUND, i, &big).unwrap();
        }
    }
    // Zero out the header of record 1: the remaining bytes are more than a torn tail can be.
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&[0u8; RECORD_HEADER_LEN], FILE_HEADER_LEN)
        .unwrap();
    match Journal::open(&path, FsyncPolicy::Never) {
        Err(StoreError::CorruptRecord { offset, reason, .. }) => {
            assert_eq!(offset, FILE_HEADER_LEN);
            assert_eq!(reason, CorruptReason::BadMagic);
        }
        other => panic!("expected CorruptRecord, got {other:?}"),
    }
}

#[test]
fn torn_and_foreign_file_headers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    fs::write(&path, b"ILKD").unwrap(); // crash while writing the file header
    let (mut j, rec) = Journal::open(&path, FsyncPolicy::Never).unwrap();
    assert!(rec.created);
    j.append(kind::INBOUND, 1, b"a").unwrap();
    drop(j);
    assert_eq!(
        Journal::open(&path, FsyncPolicy::Never).unwrap().1.records,
        1
    );

    let other = dir.path().join("other");
    fs::write(&other, b"hello world, not a journal").unwrap();
    assert!(matches!(
        Journal::open(&other, FsyncPolicy::Never),
        Err(StoreError::BadFileHeader { .. })
    ));
}

#[test]
fn oversized_payload_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(&dir.path().join("j"), FsyncPolicy::Never).unwrap();
    let big = vec![0u8; journal::MAX_PAYLOAD as usize + 1];
    assert!(matches!(
        j.append(kind::INBOUND, 1, &big),
        Err(StoreError::PayloadTooLarge { .. })
    ));
    assert_eq!(j.records(), 0);
}

// ---------------------------------------------------------------------------------------------
// Session store

fn opts(block: u64, low: u64) -> StoreOptions {
    StoreOptions {
        fsync: FsyncPolicy::Never,
        reserve_block: block,
        reserve_low_water: low,
    }
}

fn mode_of(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn files_are_0600_and_directories_0700() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("state");
    let (mut s, rec) = SessionStore::open(&root, "ABC", FsyncPolicy::Batch).unwrap();
    assert!(rec.fresh);
    s.new_uuid(1000).unwrap();
    let sd: PathBuf = root.join("ABC");
    assert_eq!(mode_of(&root), 0o700);
    assert_eq!(mode_of(&sd), 0o700);
    assert_eq!(mode_of(&sd.join("state")), 0o600);
    assert_eq!(mode_of(&sd.join(journal_file_name(1000))), 0o600);
}

#[test]
fn reopen_after_clean_close_gives_exact_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = SessionStore::open(dir.path(), "S1", FsyncPolicy::Always).unwrap();
    s.new_uuid(5).unwrap();
    for _ in 0..10 {
        let seq = s.take_outbound().unwrap();
        s.append_outbound(seq, &payload(seq)).unwrap();
    }
    s.set_next_inbound(42);
    s.close().unwrap();

    let (s, rec) = SessionStore::open(dir.path(), "S1", FsyncPolicy::Always).unwrap();
    assert!(rec.clean_shutdown);
    assert!(!rec.fresh);
    assert_eq!(rec.uuid, 5);
    assert_eq!(rec.next_outbound, 11);
    assert_eq!(rec.next_inbound, 42);
    assert_eq!(rec.last_journaled_outbound, Some(10));
    assert!(rec.unjournaled_outbound.is_empty());
    assert_eq!(s.next_outbound(), 11);
    assert_eq!(s.next_inbound(), 42);
    let msgs = s.read_outbound(5, 1, 100).unwrap();
    assert_eq!(msgs.len(), 10);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.seq, i as u64 + 1);
        assert_eq!(m.uuid, 5);
        assert_eq!(m.bytes, payload(m.seq));
    }
}

#[test]
fn hot_handle_never_passes_the_durable_reservation() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = SessionStore::open_with(dir.path(), "S", opts(8, 4)).unwrap();
    s.new_uuid(1).unwrap();
    let h = s.handle();
    assert_eq!(h.reserved(), 9);
    for want in 1..9 {
        assert_eq!(h.try_next_outbound().unwrap(), want);
    }
    let e = h.try_next_outbound().unwrap_err();
    assert_eq!((e.next, e.reserved), (9, 9));
    let m = s.maintain().unwrap();
    assert_eq!(m.reserved_to, Some(17));
    assert_eq!(h.try_next_outbound().unwrap(), 9);
    // Plenty of headroom: maintain does not extend.
    let m = s.maintain().unwrap();
    assert_eq!(m.reserved_to, None);
}

/// Simulated crashes at many points: whatever was taken (sent) before the crash, the recovered
/// next outbound is above it.
#[test]
fn reservation_rule_never_reuses_an_outbound_sequence_after_a_crash() {
    for taken in 0..40u64 {
        for journal_every in [1u64, 2, 3, 1000] {
            for maintain_every in [1u64, 5, 1000] {
                let dir = tempfile::tempdir().unwrap();
                let (mut s, _) = SessionStore::open_with(dir.path(), "S", opts(8, 3)).unwrap();
                s.new_uuid(77).unwrap();
                let h = s.handle();
                let mut max_used = 0;
                for i in 0..taken {
                    let seq = match h.try_next_outbound() {
                        Ok(seq) => seq,
                        Err(_) => {
                            s.maintain().unwrap();
                            h.try_next_outbound().unwrap()
                        }
                    };
                    max_used = seq;
                    if i % journal_every == 0 {
                        s.append_outbound(seq, b"m").unwrap();
                    }
                    if i % maintain_every == 0 {
                        s.maintain().unwrap();
                    }
                }
                drop(h);
                drop(s); // crash: no close
                let (s, rec) = SessionStore::open_with(dir.path(), "S", opts(8, 3)).unwrap();
                assert!(!rec.clean_shutdown);
                assert!(
                    rec.next_outbound > max_used,
                    "taken {taken}: next {} <= used {max_used}",
                    rec.next_outbound
                );
                assert_eq!(s.next_outbound(), rec.next_outbound);
                assert_eq!(
                    rec.unjournaled_outbound.start,
                    rec.last_journaled_outbound.map_or(1, |l| l + 1)
                );
                assert_eq!(rec.unjournaled_outbound.end, rec.next_outbound);
                // And the new run has a fresh reservation above it.
                assert!(s.reserved_outbound() > s.next_outbound());
                // A second crash right after recovery still never goes back.
                drop(s);
                let (s2, rec2) = SessionStore::open_with(dir.path(), "S", opts(8, 3)).unwrap();
                assert!(rec2.next_outbound >= rec.next_outbound);
                drop(s2);
            }
        }
    }
}

#[test]
fn inbound_next_expected_lags_until_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = SessionStore::open_with(dir.path(), "S", opts(1024, 8)).unwrap();
    s.new_uuid(3).unwrap();
    s.set_next_inbound(7);
    drop(s); // crash before persisting
    let (mut s, rec) = SessionStore::open_with(dir.path(), "S", opts(1024, 8)).unwrap();
    assert_eq!(
        rec.next_inbound, 1,
        "lags behind (safe: causes a retransmit request)"
    );
    s.set_next_inbound(9);
    assert!(s.maintain().unwrap().state_written);
    drop(s);
    let (_, rec) = SessionStore::open_with(dir.path(), "S", opts(1024, 8)).unwrap();
    assert_eq!(rec.next_inbound, 9);
}

fn slot_generation(state: &Path, slot: usize) -> u64 {
    let b = fs::read(state).unwrap();
    let o = SLOT_OFFSETS[slot] as usize;
    u64::from_le_bytes(b[o + 8..o + 16].try_into().unwrap())
}

#[test]
fn corrupt_newest_state_slot_falls_back_to_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = SessionStore::open_with(dir.path(), "S", opts(1024, 8)).unwrap();
    s.new_uuid(100).unwrap();
    for _ in 0..5 {
        let seq = s.take_outbound().unwrap();
        s.append_outbound(seq, b"x").unwrap();
    }
    s.close().unwrap();
    let state = dir.path().join("S").join("state");
    let newest = if slot_generation(&state, 0) > slot_generation(&state, 1) {
        0
    } else {
        1
    };
    // Torn write of the newest slot: its tail (including the checksum) is garbage.
    let f = OpenOptions::new().write(true).open(&state).unwrap();
    f.write_all_at(&[0xEE; 20], SLOT_OFFSETS[newest] + 50)
        .unwrap();

    let (s, rec) = SessionStore::open_with(dir.path(), "S", opts(1024, 8)).unwrap();
    let err = rec.slot_error.clone().expect("slot error reported");
    assert_eq!(err.offset, SLOT_OFFSETS[newest]);
    // The older slot is the running state written by new_uuid (not clean): the reservation
    // rule applies and no number is reused.
    assert_eq!(rec.uuid, 100);
    assert!(!rec.clean_shutdown);
    assert_eq!(rec.last_journaled_outbound, Some(5));
    assert_eq!(rec.next_outbound, 1025);
    assert_eq!(rec.unjournaled_outbound, 6..1025);
    drop(s);

    // Both slots bad: refuse rather than restart at 1.
    for o in SLOT_OFFSETS {
        f.write_all_at(&[0xEE; 20], o + 50).unwrap();
    }
    match SessionStore::open_with(dir.path(), "S", opts(1024, 8)) {
        Err(ref e @ StoreError::StateCorrupt { ref path, .. }) => {
            assert_eq!(path, &state);
            assert!(e.to_string().contains("byte offset"), "{e}");
        }
        other => panic!("expected StateCorrupt, got {other:?}"),
    }
}

#[test]
fn empty_state_with_existing_journals_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = SessionStore::open_with(dir.path(), "S", opts(16, 4)).unwrap();
    s.new_uuid(9).unwrap();
    s.close().unwrap();
    let state = dir.path().join("S").join("state");
    OpenOptions::new()
        .write(true)
        .open(&state)
        .unwrap()
        .set_len(0)
        .unwrap();
    assert!(matches!(
        SessionStore::open_with(dir.path(), "S", opts(16, 4)),
        Err(StoreError::StateCorrupt { .. })
    ));
}

#[test]
fn new_uuid_resets_sequences_and_keeps_previous_journal_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, rec) = SessionStore::open_with(dir.path(), "S", opts(64, 8)).unwrap();
    assert_eq!(rec.uuid, 0);
    assert!(matches!(s.take_outbound(), Err(StoreError::NoUuid { .. })));
    s.new_uuid(1_000).unwrap();
    for _ in 0..20 {
        let seq = s.take_outbound().unwrap();
        s.append_outbound(seq, &payload(seq)).unwrap();
    }
    s.set_next_inbound(33);
    assert!(matches!(
        s.new_uuid(1_000),
        Err(StoreError::UuidNotIncreasing { .. })
    ));
    s.new_uuid(2_000).unwrap();
    assert_eq!(s.uuid(), 2_000);
    assert_eq!(s.previous_uuid(), 1_000);
    assert_eq!(s.previous_next_inbound(), 33);
    assert_eq!(s.next_outbound(), 1);
    assert_eq!(s.next_inbound(), 1);
    let seq = s.take_outbound().unwrap();
    assert_eq!(seq, 1);
    s.append_outbound(seq, b"week two").unwrap();

    let old = s.read_outbound(1_000, 5, 3).unwrap();
    assert_eq!(old.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![5, 6, 7]);
    assert_eq!(old[0].bytes, payload(5));
    let new = s.read_outbound(2_000, 1, 10).unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].bytes, b"week two");
    assert!(matches!(
        s.read_outbound(1_500, 1, 1),
        Err(StoreError::UnknownUuid { .. })
    ));
    s.close().unwrap();

    let (_, rec) = SessionStore::open_with(dir.path(), "S", opts(64, 8)).unwrap();
    assert_eq!((rec.uuid, rec.previous_uuid), (2_000, 1_000));
    assert_eq!(rec.next_outbound, 2);
    assert_eq!(rec.previous_next_inbound, 33);
}

#[test]
fn new_uuid_refuses_a_uuid_whose_journal_has_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = SessionStore::open_with(dir.path(), "S", opts(64, 8)).unwrap();
    s.new_uuid(10).unwrap();
    let path = dir.path().join("S").join(journal_file_name(20));
    {
        let (mut j, _) = Journal::open(&path, FsyncPolicy::Never).unwrap();
        let mut m = [0u8; 16];
        m[..8].copy_from_slice(&20u64.to_le_bytes());
        j.append(kind::UUID_MARKER, 0, &m).unwrap();
        j.append(kind::OUTBOUND, 1, b"sent last time").unwrap();
    }
    assert!(matches!(
        s.new_uuid(20),
        Err(StoreError::UuidAlreadyUsed { uuid: 20, .. })
    ));
    assert_eq!(s.uuid(), 10);
}

#[test]
fn read_outbound_by_range_uses_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = SessionStore::open_with(dir.path(), "S", opts(1024, 256)).unwrap();
    s.new_uuid(1).unwrap();
    for _ in 0..3000 {
        let seq = s.take_outbound().unwrap();
        s.append_outbound(seq, &payload(seq)).unwrap();
    }
    let got = s.read_outbound(1, 2500, 100).unwrap();
    assert_eq!(got.len(), 100);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, m)| m.seq == 2500 + i as u64 && m.bytes == payload(m.seq)));
    assert!(s.read_outbound(1, 3001, 10).unwrap().is_empty());
}

#[test]
fn session_names_are_single_safe_path_components() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", ".", "..", "a/b", "../x", "a b", "x\0"] {
        assert!(
            matches!(
                SessionStore::open(dir.path(), bad, FsyncPolicy::Never),
                Err(StoreError::InvalidSessionName { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(SessionStore::open(dir.path(), "DC_01-a.b", FsyncPolicy::Never).is_ok());
}

#[test]
fn corrupt_outbound_journal_fails_session_open_with_path() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = SessionStore::open_with(dir.path(), "S", opts(64, 8)).unwrap();
    s.new_uuid(4).unwrap();
    for _ in 0..6 {
        let seq = s.take_outbound().unwrap();
        s.append_outbound(seq, &payload(seq)).unwrap();
    }
    let jpath = s.journal().unwrap().path().to_path_buf();
    drop(s);
    // Flip a payload byte of the 3rd record (marker is record 0).
    let (j, _) = Journal::open_read_only(&jpath).unwrap();
    let third = j.iter().nth(3).unwrap().unwrap().offset;
    drop(j);
    flip(&jpath, third + RECORD_HEADER_LEN as u64, 0x04);
    match SessionStore::open_with(dir.path(), "S", opts(64, 8)) {
        Err(StoreError::CorruptRecord { path, offset, .. }) => {
            assert_eq!(path, jpath);
            assert_eq!(offset, third);
        }
        other => panic!("expected CorruptRecord, got {other:?}"),
    }
}

#[test]
fn a_second_opener_of_the_same_session_is_refused_until_the_first_closes() {
    use ilinkd::config::FsyncPolicy;
    use ilinkd::store::session::SessionStore;
    use ilinkd::store::StoreError;
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = SessionStore::open(dir.path(), "cme-eq", FsyncPolicy::Never).unwrap();
    let err = SessionStore::open(dir.path(), "cme-eq", FsyncPolicy::Never).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("second ilinkd"), "{err}");
    // Another session in the same state_dir is independent.
    SessionStore::open(dir.path(), "cme-fx", FsyncPolicy::Never).unwrap();
    first.close().unwrap();
    SessionStore::open(dir.path(), "cme-eq", FsyncPolicy::Never).unwrap();
}
