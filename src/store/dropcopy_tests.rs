//! Journal-then-publish, ExecID de-duplication across restarts, and gapless tails.

use super::*;
use crate::dropcopy::codec::checksum;
use crate::shm::MIN_CAPACITY;

fn framed(body: &str) -> Vec<u8> {
    let body = body.replace('|', "\x01");
    let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
    let sum = checksum(&m);
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

/// An ExecutionReport as CME sends it on Drop Copy.
fn exec(seq: u64, exec_id: &str, poss_dup: bool) -> Vec<u8> {
    let dup = if poss_dup {
        "43=Y|122=20240315-13:29:00.000|"
    } else {
        ""
    };
    framed(&format!(
        "35=8|34={seq}|49=CME|56=ABC123N|50=G|52=20240315-13:30:00.125|{dup}37=7364212|\
         11=ORD-1|17={exec_id}|150=F|39=1|55=ESM4|48=5602|54=1|38=10|44=5250.75|32=4|\
         31=5250.5|14=4|151=6|60=20240315-13:30:00.120123456|"
    ))
}

fn small_ring() -> RecorderOptions {
    RecorderOptions {
        fsync: FsyncPolicy::Never,
        ring: RingOptions {
            capacity: MIN_CAPACITY,
            mode: 0o600,
        },
    }
}

fn setup() -> (tempfile::TempDir, DropCopyPaths) {
    let dir = tempfile::tempdir().unwrap();
    let paths = DropCopyPaths::new(dir.path(), "dc-main").unwrap();
    (dir, paths)
}

fn journal_seqs(paths: &DropCopyPaths) -> Vec<u64> {
    let (j, _) = Journal::open_read_only(&paths.journal).unwrap();
    j.iter()
        .map(Result::unwrap)
        .filter(|r| r.kind == kind::INBOUND)
        .map(|r| r.seq)
        .collect()
}

fn drain(t: &mut DropCopyTail) -> Vec<TailRecord> {
    let mut out = Vec::new();
    while let Some(r) = t.poll().unwrap() {
        out.push(r);
    }
    out
}

#[test]
fn paths_derive_from_state_dir_and_refuse_bad_names() {
    let p = DropCopyPaths::new(Path::new("/var/lib/ilinkd"), "dc1").unwrap();
    assert_eq!(
        p.journal,
        Path::new("/var/lib/ilinkd/dc1/dropcopy-inbound.journal")
    );
    assert_eq!(p.ring, Path::new("/var/lib/ilinkd/dc1/dropcopy.ring"));
    for bad in ["", ".", "..", "a/b", "x y"] {
        assert!(
            matches!(
                DropCopyPaths::new(Path::new("/s"), bad),
                Err(DropCopyStoreError::InvalidSessionName { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn accepted_message_is_journaled_then_published() {
    let (_d, paths) = setup();
    let (mut rec, recovery) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    assert_eq!(recovery.seqs, SeqNums::BEGINNING_OF_WEEK);
    let mut reader = BroadcastReader::open(&paths.ring).unwrap();
    reader.seek_start();
    let m = exec(7, "E1", false);
    assert!(matches!(
        rec.record(7, &m).unwrap(),
        Recorded::Published {
            seq: 7,
            unparsed: None,
            ..
        }
    ));
    let mut buf = Vec::new();
    let r = reader.poll(&mut buf).unwrap().unwrap();
    assert_eq!((r.kind, r.seq, r.payload), (RING_KIND_FIX, 7, &m[..]));
    assert_eq!(journal_seqs(&paths), vec![7]);

    // A message the ring cannot take (larger than capacity / 8) is still journaled first: the
    // error comes from the publish step and the journal holds the message.
    let big = framed(&format!(
        "35=8|34=8|49=CME|56=ABC123N|52=20240315-13:30:00.125|17=E2|58={}|",
        "x".repeat(600)
    ));
    assert!(matches!(
        rec.record(8, &big),
        Err(DropCopyStoreError::Publish { seq: 8, .. })
    ));
    assert_eq!(journal_seqs(&paths), vec![7, 8]);
    assert_eq!(reader.poll(&mut buf).unwrap(), None);
}

#[test]
fn every_record_seen_on_the_ring_is_already_in_the_journal() {
    let (_d, paths) = setup();
    let (mut rec, _) =
        DropCopyRecorder::open(&paths, RecorderOptions::new(FsyncPolicy::Never)).unwrap();
    let ring_path = paths.ring.clone();
    let jpath = paths.journal.clone();
    let watcher = std::thread::spawn(move || {
        let mut reader = BroadcastReader::open(&ring_path).unwrap();
        reader.seek_start();
        let mut buf = Vec::new();
        let mut checked = 0u64;
        while checked < 200 {
            match reader.poll(&mut buf) {
                Ok(Some(r)) => {
                    let seq = r.seq;
                    let (j, _) = Journal::open_read_only(&jpath).unwrap();
                    assert!(
                        j.last_seq().is_some_and(|l| l >= seq),
                        "seq {seq} visible on the ring before it was journaled"
                    );
                    checked += 1;
                }
                Ok(None) => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        checked
    });
    for seq in 1..=200 {
        rec.record(seq, &exec(seq, &format!("E{seq}"), false))
            .unwrap();
    }
    assert_eq!(watcher.join().unwrap(), 200);
}

#[test]
fn poss_dup_resend_with_a_known_exec_id_is_dropped() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    rec.record(10, &exec(10, "64533:1", false)).unwrap();
    rec.record(11, &exec(11, "64533:2", false)).unwrap();
    // After a failover CME resends the same execution under a new MsgSeqNum with 43=Y.
    assert_eq!(
        rec.record(4012, &exec(4012, "64533:1", true)).unwrap(),
        Recorded::DuplicateExecId {
            seq: 4012,
            exec_id: "64533:1".into(),
            first_seq: 10
        }
    );
    // A message at or below the last recorded MsgSeqNum is a duplicate by sequence.
    assert_eq!(
        rec.record(11, &exec(11, "64533:9", true)).unwrap(),
        Recorded::DuplicateSeq {
            seq: 11,
            last_seq: 11
        }
    );
    // A PossDup resend of an execution we never got is new.
    assert!(matches!(
        rec.record(4013, &exec(4013, "64533:3", true)).unwrap(),
        Recorded::Published { seq: 4013, .. }
    ));
    assert_eq!(journal_seqs(&paths), vec![10, 11, 4013]);
    assert_eq!(rec.stats().duplicate_exec_ids, 1);
    assert_eq!(rec.stats().duplicate_seqs, 1);
    assert_eq!(rec.exec_id_count(), 3);
}

#[test]
fn exec_ids_and_sequence_numbers_survive_a_restart() {
    let (_d, paths) = setup();
    {
        let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
        rec.record(1, &exec(1, "A", false)).unwrap();
        rec.record(2, &exec(2, "B", false)).unwrap();
        rec.save_seqs(
            SeqNums {
                next_out: 9,
                next_in: 3,
            },
            0,
        )
        .unwrap();
        rec.record(5, &exec(5, "C", false)).unwrap();
        // Second recorder on the same session: refused while the first holds the lock.
        assert!(matches!(
            DropCopyRecorder::open(&paths, small_ring()),
            Err(DropCopyStoreError::Locked { .. })
        ));
    } // dropped without any close: a crash looks the same to the journal
    let (mut rec, recovery) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    assert_eq!(recovery.messages, 3);
    assert_eq!(recovery.exec_ids, 3);
    assert_eq!(recovery.last_inbound_seq, Some(5));
    assert_eq!(
        recovery.saved,
        Some(SeqNums {
            next_out: 9,
            next_in: 3
        })
    );
    // next_in from the journal (5 + 1) beats the older saved state; next_out from the state.
    assert_eq!(
        rec.restored_seqs(),
        SeqNums {
            next_out: 9,
            next_in: 6
        }
    );
    assert!(matches!(
        rec.record(7, &exec(7, "B", true)).unwrap(),
        Recorded::DuplicateExecId { first_seq: 2, .. }
    ));
    assert!(matches!(
        rec.record(8, &exec(8, "D", false)).unwrap(),
        Recorded::Published { seq: 8, .. }
    ));
    assert_eq!(journal_seqs(&paths), vec![1, 2, 5, 8]);
}

#[test]
fn a_hash_collision_never_drops_a_different_exec_id() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    rec.record(1, &exec(1, "FIRST", false)).unwrap();
    // Pretend "OTHER" hashes like "FIRST" (its bucket points at FIRST's record).
    rec.exec_ids.by_hash.insert(exec_id_hash("OTHER"), 1);
    assert!(matches!(
        rec.record(2, &exec(2, "OTHER", false)).unwrap(),
        Recorded::Published { seq: 2, .. }
    ));
    assert_eq!(rec.stats().hash_collisions, 1);
    // ... and "OTHER" is now known exactly (overflow map), so its resend is dropped.
    assert!(matches!(
        rec.record(3, &exec(3, "OTHER", true)).unwrap(),
        Recorded::DuplicateExecId { first_seq: 2, .. }
    ));
}

#[test]
fn unparsable_business_messages_are_recorded_without_dedup() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    let m = framed("35=j|34=3|49=CME|56=ABC123N|52=20240315-13:30:00.125|58=no|");
    assert!(matches!(
        rec.record(3, &m).unwrap(),
        Recorded::Published {
            seq: 3,
            unparsed: Some(ReportError::NotAReport(b'j')),
            ..
        }
    ));
    let mut p = ReportParser::new();
    let v: serde_json::Value = serde_json::from_str(&json_line(&mut p, 3, &m)).unwrap();
    assert_eq!(v["seq"], 3);
    assert_eq!(v["source"], "unparsed");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("not an ExecutionReport"));
}

#[test]
fn tail_from_a_seq_older_than_the_ring_reads_journal_then_ring_without_gap_or_duplicate() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    // Odd numbers only: MsgSeqNums of business messages have holes (admin messages).
    let seqs: Vec<u64> = (1..=120).map(|i| 2 * i - 1).collect();
    for &s in &seqs {
        rec.record(s, &exec(s, &format!("X{s}"), false)).unwrap();
    }
    // A 4 KiB ring holds only the last dozen of these ~270-byte messages.
    let mut ring = BroadcastReader::open(&paths.ring).unwrap();
    assert!(ring.seek_seq(1).unwrap().unwrap() > 200);

    let mut t = DropCopyTail::open(&paths, TailStart::From(10)).unwrap();
    let got = drain(&mut t);
    let want: Vec<u64> = seqs.iter().copied().filter(|&s| s >= 10).collect();
    assert_eq!(got.iter().map(|r| r.seq).collect::<Vec<_>>(), want);
    assert!(got.first().unwrap().from_journal);
    assert!(
        got.iter().all(|r| r.from_journal),
        "all history: journal snapshot"
    );
    for r in &got {
        assert_eq!(r.raw, exec(r.seq, &format!("X{}", r.seq), false));
    }
    assert!(t.following_ring());

    // The tail is lapped (the producer writes far more than the ring holds in between): it
    // goes back to the journal and still misses nothing.
    let more: Vec<u64> = (241..=400).collect();
    rec.record(241, &exec(241, "X241", false)).unwrap();
    let live = t.poll().unwrap().unwrap();
    assert_eq!(
        (live.seq, live.from_journal),
        (241, false),
        "live records come from the ring"
    );
    for &s in &more[1..] {
        rec.record(s, &exec(s, &format!("X{s}"), false)).unwrap();
    }
    let got = drain(&mut t);
    assert_eq!(
        got.iter().map(|r| r.seq).collect::<Vec<_>>(),
        more[1..].to_vec()
    );
    assert!(t.journal_fallbacks >= 1);
}

#[test]
fn tail_follows_a_restarted_daemon_and_live_starts_at_the_end() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    for s in 1..=3 {
        rec.record(s, &exec(s, &format!("R{s}"), false)).unwrap();
    }
    let mut from = DropCopyTail::open(&paths, TailStart::From(1)).unwrap();
    let mut live = DropCopyTail::open(&paths, TailStart::Live).unwrap();
    assert_eq!(drain(&mut from).len(), 3);
    assert!(drain(&mut live).is_empty());
    rec.record(4, &exec(4, "R4", false)).unwrap();
    drop(rec);
    // The restarted daemon creates a new, empty ring; messages 5.. go there.
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    for s in 5..=6 {
        rec.record(s, &exec(s, &format!("R{s}"), false)).unwrap();
    }
    let seqs = |v: Vec<TailRecord>| v.into_iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(drain(&mut from)), vec![4, 5, 6]);
    assert_eq!(seqs(drain(&mut live)), vec![4, 5, 6]);
}

#[test]
fn tail_without_a_running_daemon_reads_the_journal() {
    let (_d, paths) = setup();
    let mut t = DropCopyTail::open(&paths, TailStart::From(1)).unwrap();
    assert_eq!(t.poll().unwrap(), None, "nothing at all yet");
    {
        let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
        rec.record(1, &exec(1, "J1", false)).unwrap();
        rec.record(2, &exec(2, "J2", false)).unwrap();
    }
    std::fs::remove_file(&paths.ring).unwrap();
    let mut t = DropCopyTail::open(&paths, TailStart::From(2)).unwrap();
    let got = drain(&mut t);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].seq, got[0].from_journal), (2, true));
    assert!(!t.following_ring());
}

/// A 35=9 OrderCancelReject is its own record kind (`cancel_reject`), not `unparsed`.
#[test]
fn order_cancel_reject_is_recorded_and_tailed_as_cancel_reject() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    let m = framed(
        "35=9|34=4|49=CME|56=ABC123N|52=20240315-13:30:00.125|37=7364212|11=CXL-2|41=ORD-1|\
         39=U|1=ACCT1|434=2|102=2045|58=This order is not in the book|60=20240315-13:30:00.120|",
    );
    assert!(matches!(
        rec.record(4, &m).unwrap(),
        Recorded::Published {
            seq: 4,
            unparsed: None,
            ..
        }
    ));
    assert_eq!(rec.stats().unparsed, 0);
    let mut p = ReportParser::new();
    let v: serde_json::Value = serde_json::from_str(&json_line(&mut p, 4, &m)).unwrap();
    let want = serde_json::json!({
        "seq": 4,
        "poss_dup": false,
        "poss_resend": false,
        "source": "cancel_reject",
        "encapsulated": false,
        "msg_type": "9",
        "order_id": "7364212",
        "cl_ord_id": "CXL-2",
        "exec_id": null,
        "exec_type": null,
        "ord_status": "U",
        "symbol": null,
        "security_id": null,
        "side": null,
        "order_qty": null,
        "price": null,
        "last_qty": null,
        "last_px": null,
        "cum_qty": null,
        "leaves_qty": null,
        "transact_time": "20240315-13:30:00.120",
        "sending_time": "20240315-13:30:00.125",
        "orig_cl_ord_id": "ORD-1",
        "cxl_rej_response_to": "2",
        "cxl_rej_reason": 2045,
        "text": "This order is not in the book",
        "account": "ACCT1",
    });
    assert_eq!(v, want);
}

#[test]
fn json_line_has_the_documented_shape() {
    let mut p = ReportParser::new();
    let m = exec(1234, "64533:12", true);
    let line = json_line(&mut p, 1234, &m);
    assert!(!line.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let want = serde_json::json!({
        "seq": 1234,
        "poss_dup": true,
        "poss_resend": false,
        "source": "execution_report",
        "encapsulated": false,
        "msg_type": "8",
        "order_id": "7364212",
        "cl_ord_id": "ORD-1",
        "exec_id": "64533:12",
        "exec_type": "F",
        "ord_status": "1",
        "symbol": "ESM4",
        "security_id": "5602",
        "side": "1",
        "order_qty": "10",
        "price": "5250.75",
        "last_qty": "4",
        "last_px": "5250.5",
        "cum_qty": "4",
        "leaves_qty": "6",
        "transact_time": "20240315-13:30:00.120123456",
        "sending_time": "20240315-13:30:00.125",
    });
    assert_eq!(v, want);
}

#[test]
fn records_journaled_after_the_tail_snapshot_and_gone_from_the_ring_are_not_lost() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    for s in 1..=5 {
        rec.record(s, &exec(s, &format!("S{s}"), false)).unwrap();
    }
    // The tail takes its journal snapshot now (1..=5) ...
    let mut t = DropCopyTail::open(&paths, TailStart::From(1)).unwrap();
    // ... then 100 more are journaled and published, most of them already overwritten in the
    // 4 KiB ring by the time the tail gets there.
    for s in 6..=105 {
        rec.record(s, &exec(s, &format!("S{s}"), false)).unwrap();
    }
    let got = drain(&mut t);
    assert_eq!(
        got.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=105).collect::<Vec<_>>()
    );
    // The middle part came from a second journal read, the end from the ring.
    assert!(got[50].from_journal);
    assert!(!got[104].from_journal);
}

/// CME's XMLnonFIX as sent ("Drop Copy 4.0 Encapsulated XML Message"): 213 =
/// `<RTRF>ExecutionReport</RTRF>`, two 56 in the header.
fn xml_rtrf(seq: u64, exec_id: &str) -> Vec<u8> {
    let inner = framed(&format!(
        "35=8|34=9{seq}|49=CME|56=SRC01|52=20240315-13:30:00.120|37=7364212|11=ORD-1|\
         17={exec_id}|150=F|39=1|55=ESM4|48=5602|54=1|38=10|44=5250.75|32=4|31=5250.5|14=4|\
         151=6|60=20240315-13:30:00.120123456|"
    ));
    let data = [&b"<RTRF>"[..], &inner, b"</RTRF>"].concat();
    let mut body = format!(
        "35=n|34={seq}|49=CME|56=ABC123N|56=SRC01|50=G|52=20240315-13:30:00.125|212={}|213=",
        data.len()
    )
    .replace('|', "\x01")
    .into_bytes();
    body.extend_from_slice(&data);
    body.push(1);
    let mut m = format!("8=FIX.4.2\x019={}\x01", body.len()).into_bytes();
    m.extend_from_slice(&body);
    let sum = checksum(&m);
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

#[test]
fn cme_35n_rtrf_reports_are_execution_reports_deduplicated_with_35_8() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    let first = xml_rtrf(2, "E-1");
    assert!(matches!(
        rec.record(2, &first).unwrap(),
        Recorded::Published { unparsed: None, .. }
    ));
    // The same execution as a bare 35=8, and again as a 35=n: both dropped by ExecID.
    assert!(matches!(
        rec.record(3, &exec(3, "E-1", true)).unwrap(),
        Recorded::DuplicateExecId { first_seq: 2, .. }
    ));
    assert!(matches!(
        rec.record(4, &xml_rtrf(4, "E-1")).unwrap(),
        Recorded::DuplicateExecId { first_seq: 2, .. }
    ));
    // A 35=8 first, then its 35=n copy.
    rec.record(5, &exec(5, "E-2", false)).unwrap();
    assert!(matches!(
        rec.record(6, &xml_rtrf(6, "E-2")).unwrap(),
        Recorded::DuplicateExecId { first_seq: 5, .. }
    ));
    assert_eq!(journal_seqs(&paths), [2, 5]);
    drop(rec);
    // The ExecID set rebuilt from the journal knows the 35=n one.
    let (mut rec, recovery) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    assert_eq!(recovery.exec_ids, 2);
    assert!(matches!(
        rec.record(7, &exec(7, "E-1", true)).unwrap(),
        Recorded::DuplicateExecId { first_seq: 2, .. }
    ));
    let mut p = ReportParser::new();
    let v: serde_json::Value = serde_json::from_str(&json_line(&mut p, 2, &first)).unwrap();
    assert_eq!(v["source"], "execution_report");
    assert_eq!(v["exec_id"], "E-1");
    assert_eq!(v["encapsulated"], true);
    assert_eq!(v["msg_type"], "8");
    assert!(v.get("error").is_none());
}

/// An ExecutionReport sent at `when` (SendingTime 52).
fn exec_at(seq: u64, exec_id: &str, when: &str) -> Vec<u8> {
    framed(&format!(
        "35=8|34={seq}|49=CME|56=ABC123N|50=G|52={when}|37=1|11=C|17={exec_id}|150=F|39=2|\
         55=ESM4|48=5602|54=1|38=1|44=5250|32=1|31=5250|14=1|151=0|60={when}|"
    ))
}

fn wall(t: time::OffsetDateTime) -> u64 {
    t.unix_timestamp_nanos() as u64
}

/// CERTIFICATION.md 7 (sequence numbers restart at the Sunday start-up): a journal whose last
/// message was sent on Friday is archived, not deleted, when the daemon starts on Sunday after
/// 10:30 CT; the session restarts at 1/1 and last week's ExecIDs are not held against the new one.
#[test]
fn weekly_startup_rotates_the_journal_at_open_and_restarts_at_1() {
    let (_d, paths) = setup();
    {
        let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
        rec.record(499, &exec_at(499, "W1-A", "20240614-21:58:00.000"))
            .unwrap();
        rec.record(501, &exec_at(501, "W1-B", "20240614-21:59:00.000"))
            .unwrap();
        rec.save_seqs(
            SeqNums {
                next_out: 41,
                next_in: 502,
            },
            0,
        )
        .unwrap();
    }
    let fri = wall(time::macros::datetime!(2024-06-14 21:59 UTC));
    // Saturday: still last week.
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    assert_eq!(rec.last_activity_wall(), fri);
    let sat = wall(time::macros::datetime!(2024-06-15 12:00 UTC));
    assert_eq!(rec.roll_week_if_due(sat).unwrap(), None);
    assert_eq!(
        rec.restored_seqs(),
        SeqNums {
            next_out: 41,
            next_in: 502
        }
    );
    drop(rec);
    // Sunday 10:31 CT.
    let sun = wall(time::macros::datetime!(2024-06-16 15:31 UTC));
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    let archived = rec.roll_week_if_due(sun).unwrap().expect("rotated");
    assert_eq!(
        archived.file_name().unwrap(),
        "dropcopy-inbound-20240609.journal",
        "named after the ended week's start-up"
    );
    let (old, _) = Journal::open_read_only(&archived).unwrap();
    let old_seqs: Vec<u64> = old
        .iter()
        .map(Result::unwrap)
        .filter(|r| r.kind == kind::INBOUND)
        .map(|r| r.seq)
        .collect();
    assert_eq!(old_seqs, [499, 501]);
    assert_eq!(rec.restored_seqs(), SeqNums::BEGINNING_OF_WEEK);
    assert_eq!(rec.exec_id_count(), 0);
    assert!(matches!(
        rec.record(2, &exec_at(2, "W2-A", "20240616-15:32:00.000"))
            .unwrap(),
        Recorded::Published { seq: 2, .. }
    ));
    drop(rec);
    // A restart later on Sunday: the new week stays.
    let (mut rec, rec2) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    assert_eq!(
        rec.roll_week_if_due(sun + 3600 * 1_000_000_000).unwrap(),
        None
    );
    assert_eq!(
        rec2.seqs,
        SeqNums {
            next_out: 1,
            next_in: 3
        }
    );
    assert_eq!(journal_seqs(&paths), [2]);
}

/// The session's weekly-reset marker, or a lower MsgSeqNum sent after the start-up, starts a new
/// journal instead of dropping the new week's messages as duplicates by sequence.
#[test]
fn new_week_detected_while_running_rotates_the_journal() {
    let (_d, paths) = setup();
    let (mut rec, _) = DropCopyRecorder::open(&paths, small_ring()).unwrap();
    rec.record(700, &exec_at(700, "W1-A", "20240614-21:58:00.000"))
        .unwrap();
    // No marker came first: the SendingTime after Sunday's start-up tells.
    assert!(matches!(
        rec.record(2, &exec_at(2, "W2-A", "20240616-15:31:00.000"))
            .unwrap(),
        Recorded::Published { seq: 2, .. }
    ));
    // A real duplicate of this week is still one.
    assert!(matches!(
        rec.record(2, &exec_at(2, "W2-A", "20240616-15:31:00.000"))
            .unwrap(),
        Recorded::DuplicateSeq {
            seq: 2,
            last_seq: 2
        }
    ));
    assert_eq!(journal_seqs(&paths), [2]);
    // The next week, by the session's marker (what housekeeping does on seq 0).
    let next_sun = wall(time::macros::datetime!(2024-06-23 15:31 UTC));
    let archived = rec.start_new_week(next_sun).unwrap();
    assert_eq!(
        archived.file_name().unwrap(),
        "dropcopy-inbound-20240616.journal"
    );
    assert!(paths.dir.join("dropcopy-inbound-20240609.journal").exists());
    assert_eq!(rec.restored_seqs(), SeqNums::BEGINNING_OF_WEEK);
    assert!(journal_seqs(&paths).is_empty());
}
