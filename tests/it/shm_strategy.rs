//! The strategy segment end to end: the daemon side (`StrategySegment`) and the Rust client
//! (`ilinkd::client::Client`) in one process, plus a "malicious" client writing raw bytes.

use ilinkd::client::{Client, ClientError, IdleStrategy, Idler};
use ilinkd::shm::strategy::{
    request_offsets, AttachError, DeathCause, Event, EventKind, LinkStatus, Liveness, MassScope,
    OrdType, Order, Problem, PushError, RecordError, RejectReason, Request, RequestBody,
    SegmentError, SegmentOptions, Side, StrategySegment, Text, TimeInForce, FLAG_CLOSED,
    FLAG_FAULTED, HEADER_LEN, PRICE_NULL, REQUEST_RECORD_SIZE, RING_INDEX_LEN,
};
use proptest::prelude::*;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Header offsets used to play a misbehaving peer.
const ABI_OFFSET: u64 = 8;
const MAGIC_OFFSET: u64 = 0;
const DAEMON_PID_OFFSET: u64 = 60;
const STRATEGY_PID_OFFSET: u64 = 136;

fn opts(request_capacity: u32, event_capacity: u32) -> SegmentOptions {
    SegmentOptions {
        name: "alpha".into(),
        sessions: 2,
        request_capacity,
        event_capacity,
        group: None,
    }
}

fn segment(dir: &tempfile::TempDir, req: u32, ev: u32) -> (StrategySegment, PathBuf) {
    let path = dir.path().join("seg");
    let seg = StrategySegment::create(&path, &opts(req, ev)).expect("create segment");
    (seg, path)
}

fn poke(path: &Path, off: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, off).unwrap();
}

fn limit(session: u16, security_id: i32, side: Side, qty: u32, price: i64) -> Order {
    Order {
        session,
        security_id,
        side,
        qty,
        price: Some(price),
        ord_type: OrdType::Limit,
        tif: TimeInForce::Day,
        stop_px: None,
        min_qty: None,
        display_qty: None,
        expire_date: None,
    }
}

fn next_ok(seg: &mut StrategySegment) -> Request {
    match seg.poll_request() {
        Some(Ok(r)) => r,
        other => panic!("expected a valid request, got {other:?}"),
    }
}

#[test]
fn every_request_kind_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 16, 16);
    let mut c = Client::attach(&path).unwrap();
    assert_eq!(c.sessions(), 2);
    assert_eq!(c.name(), "alpha");
    let buy = limit(1, 42, Side::Buy, 3, 4_500_250_000_000);
    let market = Order {
        price: None,
        ord_type: OrdType::Market,
        tif: TimeInForce::Fak,
        side: Side::Sell,
        ..buy
    };
    let neg = limit(0, 7, Side::Sell, 1, -1_500_000_000);
    let id1 = c.new_order(&buy).unwrap();
    let id2 = c.new_order(&market).unwrap();
    let id3 = c.new_order(&neg).unwrap();
    let id4 = c.cancel(1, id1).unwrap();
    let replaced = Order {
        qty: 5,
        tif: TimeInForce::Gtc,
        ..buy
    };
    let id5 = c.replace(id3, &replaced).unwrap();
    let id6 = c.mass_cancel(0, None, None).unwrap();
    let id7 = c.mass_cancel(1, Some(42), Some(Side::Buy)).unwrap();
    assert_eq!([id1, id2, id3, id4, id5, id6, id7], [1, 2, 3, 4, 5, 6, 7]);
    let expected = [
        (id1, RequestBody::NewOrder(buy)),
        (id2, RequestBody::NewOrder(market)),
        (id3, RequestBody::NewOrder(neg)),
        (
            id4,
            RequestBody::Cancel {
                session: 1,
                order_id: id1,
            },
        ),
        (
            id5,
            RequestBody::Replace {
                order_id: id3,
                order: replaced,
            },
        ),
        (
            id6,
            RequestBody::MassCancel {
                session: 0,
                security_id: None,
                side: None,
                scope: MassScope::Default,
                ord_type: None,
                tif: None,
            },
        ),
        (
            id7,
            RequestBody::MassCancel {
                session: 1,
                security_id: Some(42),
                side: Some(Side::Buy),
                scope: MassScope::Default,
                ord_type: None,
                tif: None,
            },
        ),
    ];
    let before = ilinkd::client::now_ns();
    for (id, body) in expected {
        let r = next_ok(&mut seg);
        assert_eq!(r.request_id, id);
        assert_eq!(r.body, body);
        assert!(
            r.enqueue_ns > 0 && r.enqueue_ns <= before,
            "enqueue stamp {r:?}"
        );
    }
    assert!(seg.poll_request().is_none());
}

fn sample_events() -> Vec<Event> {
    let base = Event {
        session: 1,
        request_id: 9,
        order_id: 9,
        security_id: 42,
        side: Some(Side::Buy),
        qty: 10,
        price: Some(4_500_000_000_000),
        exchange_order_id: 777_000_111,
        exchange_ns: 1_700_000_000_000_000_000,
        daemon_ns: 1_700_000_000_000_001_000,
        request_enqueue_ns: 1_700_000_000_000_000_500,
        ..Event::new(EventKind::Ack)
    };
    vec![
        base,
        Event {
            kind: EventKind::Reject,
            reason: Some(RejectReason::PriceNotOnTick),
            text: Text::new("price not on tick 0.25"),
            exchange_order_id: 0,
            ..base
        },
        Event {
            kind: EventKind::Fill,
            request_id: 0,
            last_px: Some(4_499_750_000_000),
            last_qty: 4,
            leaves_qty: 6,
            cum_qty: 4,
            ..base
        },
        Event {
            kind: EventKind::Cancelled,
            leaves_qty: 0,
            cum_qty: 4,
            ..base
        },
        Event {
            kind: EventKind::Replaced,
            qty: 12,
            price: Some(4_500_250_000_000),
            leaves_qty: 8,
            ..base
        },
        Event {
            kind: EventKind::CancelReject,
            reason: Some(RejectReason::UnknownOrder),
            text: Text::new("too late to cancel"),
            ..base
        },
        Event {
            kind: EventKind::SessionState,
            session_state: LinkStatus::Up,
            session: 1,
            ..Event::new(EventKind::SessionState)
        },
        Event {
            kind: EventKind::NotApplied,
            ..base
        },
        Event {
            kind: EventKind::MassCancelAck,
            order_id: 0,
            count: 17,
            ..base
        },
    ]
}

#[test]
fn every_event_kind_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 16, 16);
    let mut c = Client::attach(&path).unwrap();
    let events = sample_events();
    for e in &events {
        seg.push_event(e).unwrap();
    }
    assert_eq!(seg.pending_events(), events.len() as u64);
    for e in &events {
        let got = c.poll_event().expect("an event").expect("decodes");
        assert_eq!(&got, e);
    }
    assert!(c.poll_event().is_none());
    assert_eq!(seg.pending_events(), 0);
    assert_eq!(events[1].text.as_str(), Some("price not on tick 0.25"));
}

#[test]
fn request_ring_full_then_drains_and_wraps() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 4, 4);
    let mut c = Client::attach(&path).unwrap();
    let o = limit(0, 1, Side::Buy, 1, 100);
    let mut next_id = 1;
    for round in 0..25u32 {
        for _ in 0..4 {
            assert_eq!(c.new_order(&o).unwrap(), next_id);
            next_id += 1;
        }
        match c.new_order(&o) {
            Err(ClientError::Full { capacity: 4 }) => {}
            other => panic!("round {round}: expected Full, got {other:?}"),
        }
        assert_eq!(seg.pending_requests(), Some(4));
        for k in 0..4 {
            assert_eq!(next_ok(&mut seg).request_id, next_id - 4 + k);
        }
        assert!(seg.poll_request().is_none(), "empty after draining");
    }
    // The failed sends did not consume ids.
    assert_eq!(c.next_request_id(), 101);
}

#[test]
fn event_ring_full_is_reported_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 4, 8);
    let mut c = Client::attach(&path).unwrap();
    let mut e = Event::new(EventKind::Fill);
    for i in 0..8 {
        e.order_id = i;
        seg.push_event(&e).unwrap();
    }
    e.order_id = 8;
    assert_eq!(seg.push_event(&e), Err(PushError::Full { capacity: 8 }));
    assert_eq!(c.poll_event().unwrap().unwrap().order_id, 0);
    seg.push_event(&e).unwrap();
    let ids: Vec<u64> = std::iter::from_fn(|| c.poll_event())
        .map(|r| r.unwrap().order_id)
        .collect();
    assert_eq!(
        ids,
        (1..=8).collect::<Vec<_>>(),
        "in order, the dropped one absent"
    );
}

/// A valid new-order record to corrupt field by field.
fn good_record() -> [u8; REQUEST_RECORD_SIZE] {
    Request {
        request_id: 1,
        enqueue_ns: 5,
        body: RequestBody::NewOrder(limit(1, 42, Side::Buy, 2, 1_000_000_000)),
    }
    .encode()
}

fn with(off: usize, bytes: &[u8]) -> [u8; REQUEST_RECORD_SIZE] {
    let mut r = good_record();
    r[off..off + bytes.len()].copy_from_slice(bytes);
    r
}

#[test]
fn invalid_requests_are_consumed_and_rejected_with_reasons() {
    use request_offsets as o;
    let cancel = |f: &dyn Fn(&mut [u8; 64])| {
        let mut r = Request {
            request_id: 1,
            enqueue_ns: 5,
            body: RequestBody::Cancel {
                session: 0,
                order_id: 3,
            },
        }
        .encode();
        f(&mut r);
        r
    };
    let cases: Vec<([u8; REQUEST_RECORD_SIZE], Problem, RejectReason)> = vec![
        (
            with(o::KIND, &[9]),
            Problem::UnknownKind(9),
            RejectReason::Malformed,
        ),
        (
            with(o::SIDE, &[3]),
            Problem::BadSide(3),
            RejectReason::InvalidSide,
        ),
        (
            with(o::QTY, &0u32.to_ne_bytes()),
            Problem::ZeroQty,
            RejectReason::InvalidQuantity,
        ),
        (
            with(o::SESSION, &2u16.to_ne_bytes()),
            Problem::SessionOutOfRange {
                session: 2,
                sessions: 2,
            },
            RejectReason::UnknownSession,
        ),
        (
            with(o::PRICE, &PRICE_NULL.to_ne_bytes()),
            Problem::MissingPrice,
            RejectReason::InvalidPrice,
        ),
        (
            with(o::ORD_TYPE, &[1]),
            Problem::PriceOnMarketOrder(1_000_000_000),
            RejectReason::InvalidPrice,
        ),
        (
            with(o::ORD_TYPE, &[7]),
            Problem::BadOrdType(7),
            RejectReason::InvalidOrderType,
        ),
        (
            with(o::TIF, &[2]),
            Problem::BadTif(2),
            RejectReason::InvalidTimeInForce,
        ),
        (
            with(o::SECURITY_ID, &(-5i32).to_ne_bytes()),
            Problem::BadSecurityId(-5),
            RejectReason::UnknownInstrument,
        ),
        (
            with(o::REQUEST_ID, &0u64.to_ne_bytes()),
            Problem::ZeroRequestId,
            RejectReason::Malformed,
        ),
        (
            with(o::STOP_PX, &9i64.to_ne_bytes()),
            Problem::StopPxOnNonStopOrder(9),
            RejectReason::InvalidPrice,
        ),
        (
            with(o::ORD_TYPE, &[4]),
            Problem::MissingStopPx,
            RejectReason::InvalidPrice,
        ),
        (
            with(o::ORDER_ID, &7u64.to_ne_bytes()),
            Problem::UnusedNotZero { field: "order_id" },
            RejectReason::Malformed,
        ),
        (
            cancel(&|r| r[o::ORDER_ID..o::ORDER_ID + 8].fill(0)),
            Problem::ZeroOrderId,
            RejectReason::Malformed,
        ),
        (
            cancel(&|r| r[o::QTY] = 1),
            Problem::UnusedNotZero { field: "qty" },
            RejectReason::Malformed,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 64, 64);
    let mut c = Client::attach(&path).unwrap();
    for (record, _, _) in &cases {
        c.send_raw(record).unwrap();
    }
    for (index, (record, problem, reason)) in cases.iter().enumerate() {
        let err = match seg.poll_request() {
            Some(Err(e)) => e,
            other => panic!("case {index}: expected an error, got {other:?}"),
        };
        let raw_id = u64::from_ne_bytes(record[8..16].try_into().unwrap());
        match err {
            RecordError::Invalid {
                index: i,
                request_id,
                session,
                problem: p,
                ..
            } => {
                assert_eq!(i, index as u64);
                assert_eq!(
                    session,
                    u16::from_ne_bytes(record[4..6].try_into().unwrap())
                );
                assert_eq!(request_id, raw_id);
                assert_eq!(p, *problem, "case {index}");
            }
            other => panic!("case {index}: {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&format!("request record {index}")), "{msg}");
        let reject = err.reject_event(99).expect("a reject event");
        assert_eq!(reject.kind, EventKind::Reject);
        assert_eq!(reject.reason, Some(*reason), "case {index}");
        assert_eq!(reject.request_id, raw_id);
        assert_eq!(reject.daemon_ns, 99);
        let text = reject.text.as_str().unwrap();
        assert!(
            !text.is_empty() && problem.to_string().starts_with(text),
            "case {index}: {text:?}"
        );
        seg.push_event(&reject).unwrap();
    }
    assert!(seg.poll_request().is_none());
    // The strategy sees every reject, with its reason.
    for (index, (_, _, reason)) in cases.iter().enumerate() {
        let e = c.poll_event().unwrap().unwrap();
        assert_eq!(e.reason, Some(*reason), "case {index}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A malicious client writing arbitrary bytes (and arbitrary bytes under a valid kind)
    /// never makes the daemon panic or stall: every record is consumed, exactly once, and a
    /// valid record after the garbage still comes through.
    #[test]
    fn garbage_records_are_consumed_never_panic_or_stall(
        records in prop::collection::vec(
            (prop::array::uniform32(any::<u8>()), prop::array::uniform32(any::<u8>()),
             prop::option::of(1u8..=4)),
            1..12,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (mut seg, path) = segment(&dir, 16, 16);
        let mut c = Client::attach(&path).unwrap();
        for (a, b, kind) in &records {
            let mut r = [0u8; REQUEST_RECORD_SIZE];
            r[..32].copy_from_slice(a);
            r[32..].copy_from_slice(b);
            if let Some(k) = kind {
                r[0] = *k;
            }
            c.send_raw(&r).unwrap();
        }
        let good = c.new_order(&limit(0, 1, Side::Sell, 1, 5)).unwrap();
        for index in 0..records.len() as u64 {
            match seg.poll_request() {
                Some(Ok(_)) => {}
                Some(Err(RecordError::Invalid { index: i, .. })) => prop_assert_eq!(i, index),
                other => prop_assert!(false, "record {index}: {other:?}"),
            }
        }
        let last = seg.poll_request();
        prop_assert!(matches!(last, Some(Ok(r)) if r.request_id == good));
        prop_assert!(seg.poll_request().is_none());
    }
}

#[test]
fn impossible_producer_index_faults_the_segment_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 8, 8);
    let mut c = Client::attach(&path).unwrap();
    c.new_order(&limit(0, 1, Side::Buy, 1, 5)).unwrap();
    assert!(matches!(seg.poll_request(), Some(Ok(_))));
    // The strategy claims 1000 records in an 8-record ring.
    poke(&path, HEADER_LEN as u64, &1001u64.to_ne_bytes());
    match seg.poll_request() {
        Some(Err(RecordError::RingCorrupt {
            producer: 1001,
            consumer: 1,
            capacity: 8,
        })) => {}
        other => panic!("expected RingCorrupt, got {other:?}"),
    }
    assert!(
        seg.poll_request().is_none(),
        "a faulted segment is not read"
    );
    assert_eq!(seg.fault(), Some((1001, 1)));
    assert_ne!(c.state_flags() & FLAG_FAULTED, 0);
    // Events still flow to the strategy (e.g. the cancels of its orders).
    seg.push_event(&Event::new(EventKind::Cancelled)).unwrap();
    assert_eq!(c.poll_event().unwrap().unwrap().kind, EventKind::Cancelled);
}

#[test]
fn consumer_index_ahead_of_producer_is_a_push_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 4, 4);
    let ev_ring = (HEADER_LEN + RING_INDEX_LEN + 4 * REQUEST_RECORD_SIZE) as u64;
    for _ in 0..4 {
        seg.push_event(&Event::new(EventKind::Fill)).unwrap();
    }
    poke(&path, ev_ring + 64, &u64::MAX.to_ne_bytes());
    assert!(matches!(
        seg.push_event(&Event::new(EventKind::Fill)),
        Err(PushError::Corrupt { producer: 4, .. })
    ));
}

#[test]
fn client_reports_an_impossible_daemon_index() {
    let dir = tempfile::tempdir().unwrap();
    let (_seg, path) = segment(&dir, 2, 2);
    let mut c = Client::attach(&path).unwrap();
    let o = limit(0, 1, Side::Buy, 1, 5);
    c.new_order(&o).unwrap();
    c.new_order(&o).unwrap();
    let req_consumer = (HEADER_LEN + 64) as u64;
    poke(&path, req_consumer, &1000u64.to_ne_bytes());
    match c.new_order(&o) {
        Err(ClientError::Corrupt {
            ring: "request",
            producer: 2,
            consumer: 1000,
        }) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Backs off without burning a shared core.
fn backoff(idle: &mut u32) {
    *idle += 1;
    if *idle < 64 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(50));
    }
}

#[test]
fn two_threads_pass_1e5_requests_and_acks_in_order() {
    let _g = crate::heavy();
    const N: u64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 256, 256);
    let mut c = Client::attach(&path).unwrap();
    let daemon = std::thread::spawn(move || {
        let mut expect = 1u64;
        let mut idle = 0;
        while expect <= N {
            match seg.poll_request() {
                Some(Ok(r)) => {
                    assert_eq!(r.request_id, expect, "requests in order");
                    let RequestBody::NewOrder(o) = r.body else {
                        panic!("unexpected {r:?}")
                    };
                    assert_eq!(u64::from(o.qty), expect);
                    let ack = Event {
                        request_id: r.request_id,
                        order_id: r.request_id,
                        qty: o.qty,
                        ..Event::new(EventKind::Ack)
                    };
                    while let Err(PushError::Full { .. }) = seg.push_event(&ack) {
                        backoff(&mut idle);
                    }
                    expect += 1;
                    idle = 0;
                }
                Some(Err(e)) => panic!("{e}"),
                None => backoff(&mut idle),
            }
        }
        seg
    });
    let mut sent = 0u64;
    let mut acked = 0u64;
    let mut idle = 0;
    while acked < N {
        let mut progress = false;
        if sent < N {
            let o = limit(0, 1, Side::Buy, (sent + 1) as u32, 100);
            match c.new_order(&o) {
                Ok(id) => {
                    sent += 1;
                    assert_eq!(id, sent);
                    progress = true;
                }
                Err(ClientError::Full { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        while let Some(ev) = c.poll_event() {
            let ev = ev.unwrap();
            acked += 1;
            assert_eq!(
                (ev.kind, ev.request_id, u64::from(ev.qty)),
                (EventKind::Ack, acked, acked)
            );
            progress = true;
        }
        if progress {
            idle = 0;
        } else {
            backoff(&mut idle);
        }
    }
    let mut seg = daemon.join().unwrap();
    assert!(seg.poll_request().is_none());
    assert!(c.poll_event().is_none());
}

#[test]
fn dead_strategy_pid_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 4, 4);
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap(); // reaped: /proc/<pid> is gone
    poke(&path, STRATEGY_PID_OFFSET, &pid.to_ne_bytes());
    assert_eq!(seg.strategy_pid(), Some(pid));
    assert_eq!(
        seg.check_strategy(0, 1_000_000),
        Some(Liveness::Died {
            pid,
            cause: DeathCause::ProcessGone
        })
    );
    assert_eq!(seg.check_strategy(1, 1_000_000), None, "reported once");
    // A new strategy may take the dead one's place.
    let c = Client::attach(&path).unwrap();
    let me = std::process::id();
    assert_eq!(seg.strategy_pid(), Some(me));
    assert_eq!(
        seg.check_strategy(2, 1_000_000),
        Some(Liveness::Attached { pid: me })
    );
    drop(c);
}

#[test]
fn stale_heartbeat_is_detected_on_the_daemon_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 4, 4);
    let timeout = 1_000_000_000;
    assert_eq!(seg.check_strategy(0, timeout), None, "nobody attached");
    let c = Client::attach(&path).unwrap();
    let me = std::process::id();
    assert_eq!(
        seg.check_strategy(10, timeout),
        Some(Liveness::Attached { pid: me })
    );
    // The strategy's clock is its own business: only changes count.
    c.heartbeat(5);
    assert_eq!(seg.check_strategy(600_000_000, timeout), None);
    c.heartbeat(6);
    assert_eq!(seg.check_strategy(1_500_000_000, timeout), None);
    assert_eq!(
        seg.check_strategy(2_500_000_000, timeout),
        None,
        "exactly the timeout"
    );
    assert_eq!(
        seg.check_strategy(2_500_000_001, timeout),
        Some(Liveness::Died {
            pid: me,
            cause: DeathCause::HeartbeatStale {
                silent_ns: 1_000_000_001
            }
        })
    );
    assert_eq!(
        seg.check_strategy(3_000_000_000, timeout),
        None,
        "reported once"
    );
    c.heartbeat(7);
    assert_eq!(
        seg.check_strategy(3_100_000_000, timeout),
        Some(Liveness::Attached { pid: me }),
        "a stalled strategy that resumes is reported again"
    );
    drop(c);
    assert_eq!(
        seg.check_strategy(3_200_000_000, timeout),
        Some(Liveness::Died {
            pid: me,
            cause: DeathCause::Detached
        })
    );
    assert_eq!(seg.strategy_pid(), None);
}

#[test]
fn one_client_at_a_time_and_reattach_continues() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 8, 8);
    let mut c = Client::attach(&path).unwrap();
    match Client::attach(&path) {
        Err(ClientError::Attach(AttachError::InUse { pid, .. })) => {
            assert_eq!(pid, std::process::id())
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    let o = limit(0, 1, Side::Buy, 1, 5);
    assert_eq!(c.new_order(&o).unwrap(), 1);
    assert_eq!(c.new_order(&o).unwrap(), 2);
    drop(c);
    // Events pushed while no strategy is attached wait for the next one.
    seg.push_event(&Event {
        order_id: 1,
        ..Event::new(EventKind::Fill)
    })
    .unwrap();
    let mut c = Client::attach(&path).unwrap();
    assert_eq!(c.next_request_id(), 3, "ids stay unique across restarts");
    assert_eq!(c.new_order(&o).unwrap(), 3);
    assert_eq!(c.poll_event().unwrap().unwrap().order_id, 1);
    let ids: Vec<u64> = std::iter::from_fn(|| seg.poll_request())
        .map(|r| r.unwrap().request_id)
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

/// Segment ABI 2: the request id is the request ring's sequence word. A request whose id is
/// in its slot is taken even before the producer index shows it (as when the index store has
/// not reached the daemon's core yet, or the strategy died between the two stores); the slot's
/// id word is zeroed once taken; the index one behind is neither corrupt nor a reason to
/// reuse an id on re-attach, nor for a segment created in its place.
#[test]
fn a_request_is_taken_by_its_sequence_word_before_the_producer_index() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seg, path) = segment(&dir, 4, 4);
    let producer_at = HEADER_LEN as u64;
    let slot_id_at = |index: u64| {
        (HEADER_LEN + RING_INDEX_LEN + request_offsets::REQUEST_ID) as u64
            + index * REQUEST_RECORD_SIZE as u64
    };
    let read = |off: u64| {
        let mut b = [0u8; 8];
        std::fs::File::open(&path)
            .unwrap()
            .read_exact_at(&mut b, off)
            .unwrap();
        u64::from_ne_bytes(b)
    };
    let mut c = Client::attach(&path).unwrap();
    let o = limit(0, 1, Side::Buy, 1, 5);
    assert_eq!(c.new_order(&o).unwrap(), 1);
    assert_eq!(read(slot_id_at(0)), 1);
    // Roll the producer index back: only the slot says the record is there.
    poke(&path, producer_at, &0u64.to_ne_bytes());
    assert_eq!(next_ok(&mut seg).request_id, 1);
    assert_eq!(
        read(slot_id_at(0)),
        0,
        "the sequence word is zeroed once taken"
    );
    assert!(
        seg.poll_request().is_none(),
        "index one behind: empty, not corrupt"
    );
    assert_eq!(seg.pending_requests(), Some(0));
    assert_eq!(seg.fault(), None);
    // The strategy "dies" there; its successor continues after the request taken.
    drop(c);
    let mut c = Client::attach(&path).unwrap();
    assert_eq!(c.next_request_id(), 2);
    assert_eq!(c.new_order(&o).unwrap(), 2);
    assert_eq!(next_ok(&mut seg).request_id, 2);
    // A raw record under another id waits for the producer index, then comes through as is.
    let mut raw = Request {
        request_id: 77,
        enqueue_ns: 1,
        body: RequestBody::NewOrder(o),
    }
    .encode();
    c.send_raw(&raw).unwrap();
    assert_eq!(next_ok(&mut seg).request_id, 77);
    // Ids keep going past the ring's wrap, by sequence word.
    for _ in 0..9 {
        let id = c.next_request_id();
        raw[request_offsets::REQUEST_ID..request_offsets::REQUEST_ID + 8]
            .copy_from_slice(&id.to_ne_bytes());
        c.send_raw(&raw).unwrap();
        assert_eq!(next_ok(&mut seg).request_id, id);
    }
    // A daemon restart creating the segment anew continues after the last id taken, even
    // with the producer index one behind.
    let last = c.next_request_id() - 1;
    drop(c);
    poke(&path, producer_at, &(last - 1).to_ne_bytes());
    drop(seg);
    let _seg = StrategySegment::create(&path, &opts(4, 4)).unwrap();
    let c = Client::attach(&path).unwrap();
    assert_eq!(c.next_request_id(), last + 1);
}

#[test]
fn file_mode_is_0600_by_default_and_0660_for_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let (_seg, path) = segment(&dir, 4, 4);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    // Our own group (the one new files get) is always allowed.
    let gid = meta.gid();
    let grouped = dir.path().join("grouped");
    let _seg2 = StrategySegment::create(
        &grouped,
        &SegmentOptions {
            group: Some(gid.to_string()),
            ..opts(4, 4)
        },
    )
    .unwrap();
    let meta = std::fs::metadata(&grouped).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o660);
    assert_eq!(meta.gid(), gid);
    match StrategySegment::create(
        dir.path().join("nogroup"),
        &SegmentOptions {
            group: Some("no-such-group-ilinkd".into()),
            ..opts(4, 4)
        },
    ) {
        Err(SegmentError::UnknownGroup { group }) => assert_eq!(group, "no-such-group-ilinkd"),
        other => panic!("expected UnknownGroup, got {other:?}"),
    }
    assert!(!dir.path().join("nogroup").exists());
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s");
    for (o, what) in [
        (opts(3, 4), "request capacity 3"),
        (opts(4, 1), "event capacity 1"),
        (opts(4, 1 << 21), "event capacity 2097152"),
        (
            SegmentOptions {
                name: "../x".into(),
                ..opts(4, 4)
            },
            "strategy name",
        ),
    ] {
        let err = StrategySegment::create(&p, &o).unwrap_err().to_string();
        assert!(err.contains(what), "{err}");
    }
    assert!(!p.exists());
}

#[test]
fn client_refuses_wrong_abi_magic_and_closed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (seg, path) = segment(&dir, 4, 4);
    poke(&path, ABI_OFFSET, &999u32.to_ne_bytes());
    let err = Client::attach(&path).unwrap_err();
    assert!(matches!(
        err,
        ClientError::Attach(AttachError::Abi {
            found: 999,
            expected: 2,
            ..
        })
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("ABI version 999") && msg.contains("version 2") && msg.contains("seg"),
        "{msg}"
    );
    poke(&path, ABI_OFFSET, &2u32.to_ne_bytes());
    poke(&path, MAGIC_OFFSET, b"NOTMAGIC");
    assert!(matches!(
        Client::attach(&path),
        Err(ClientError::Attach(AttachError::BadMagic { .. }))
    ));
    poke(&path, MAGIC_OFFSET, b"ILKDSTRT");
    drop(seg); // the daemon closes the segment
    assert!(matches!(
        Client::attach(&path),
        Err(ClientError::Attach(AttachError::Closed { .. }))
    ));
    let short = dir.path().join("short");
    std::fs::write(&short, [0u8; 100]).unwrap();
    assert!(matches!(
        Client::attach(&short),
        Err(ClientError::Attach(AttachError::Layout { .. }))
    ));
    assert!(matches!(
        Client::attach(dir.path().join("missing")),
        Err(ClientError::Attach(AttachError::Io { op: "open", .. }))
    ));
}

#[test]
fn closed_segment_is_reported_to_a_blocked_sender() {
    let dir = tempfile::tempdir().unwrap();
    let (seg, path) = segment(&dir, 2, 2);
    let mut c = Client::attach(&path).unwrap();
    let o = limit(0, 1, Side::Buy, 1, 5);
    c.new_order(&o).unwrap();
    c.new_order(&o).unwrap();
    drop(seg);
    assert_ne!(c.state_flags() & FLAG_CLOSED, 0);
    assert!(matches!(c.new_order(&o), Err(ClientError::Closed)));
}

#[test]
fn create_refuses_a_segment_of_another_live_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let (seg, path) = segment(&dir, 4, 4);
    drop(seg);
    // Our own (or a dead) daemon's segment is replaced...
    let again = StrategySegment::create(&path, &opts(4, 4)).unwrap();
    drop(again);
    // ...a live foreign one is not. Our parent (the test harness's) is alive.
    let parent = std::os::unix::process::parent_id();
    poke(&path, DAEMON_PID_OFFSET, &parent.to_ne_bytes());
    let err = StrategySegment::create(&path, &opts(4, 4)).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("live producer pid {parent}")),
        "{err}"
    );
}

#[test]
fn segment_from_config_and_wait_event_helper() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ilinkd::config::StrategyConfig {
        name: "beta".into(),
        sessions: vec!["A".into(), "B".into(), "C".into()],
        request_capacity: 8,
        event_capacity: 16,
        cancel_on_exit: true,
        heartbeat_timeout_ms: 500,
        group: None,
        party: None,
    };
    let mut seg = StrategySegment::create_for(dir.path(), &cfg.segment_options().unwrap()).unwrap();
    assert_eq!(seg.path(), dir.path().join("ilinkd-strategy-beta"));
    assert_eq!((seg.sessions(), seg.capacities()), (3, (8, 16)));
    let mut c = Client::attach(seg.path()).unwrap();
    assert_eq!(c.name(), "beta");
    assert_eq!(
        ilinkd::client::segment_path("beta"),
        Path::new("/dev/shm/ilinkd-strategy-beta")
    );
    for strategy in [
        IdleStrategy::Spin,
        IdleStrategy::SpinThenYield,
        IdleStrategy::Park,
    ] {
        let mut idler = Idler::new(strategy);
        assert!(c.wait_event(&mut idler, Duration::from_millis(2)).is_none());
        seg.push_event(&Event::new(EventKind::SessionState))
            .unwrap();
        let e = c
            .wait_event(&mut idler, Duration::from_secs(5))
            .unwrap()
            .unwrap();
        assert_eq!(e.kind, EventKind::SessionState);
    }
    seg.heartbeat(1234);
    assert_eq!(c.daemon_heartbeat_ns(), 1234);
    assert_eq!(c.daemon_pid(), std::process::id());
    assert_eq!(c.daemon_alive(), Some(true));
}
