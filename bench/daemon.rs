//! The daemon's hot-thread handlers, without the network, against the SBE codec in the same run:
//!
//! - **send**: a strategy request taken off its shared-memory ring (validated) → router
//!   (checks, risk, throttle, order table, ClOrdID) → NewOrderSingle SBE frame written into a
//!   send buffer → sequence number recorded → the order's journal record taken and queued (as
//!   `core.rs` does after every send). Against `sbe.encode.new_order_single_ns`, the bare
//!   encode of the same message.
//! - **recv**: an execution report frame → decoded → routed to its order → event written to the
//!   strategy's ring. Against `sbe.decode.exec_report_new_ns`, the bare decode of an
//!   ExecutionReportNew.
//!
//! Not included: the FIXP session layer (sequence checks, transmit bookkeeping), latency stamps
//! and the journal copy. Run with `cargo bench --bench daemon`. Each figure is the median (and
//! best) of batches of 256 calls, nanoseconds per call.

use ilinkd::client::Client;
use ilinkd::config::RiskConfig;
use ilinkd::daemon::order_journal::OrderChange;
use ilinkd::daemon::router::OrderSnapshot;
use ilinkd::daemon::router::{
    cl_ord_id_prefix, ClOrdId, Reply, Routed, Router, RouterConfig, StrategyRoute,
};
use ilinkd::daemon::wire::{encode, FirmFields};
use ilinkd::ilink3::{
    decode, ExecutionReportCancelWriter, ExecutionReportNew, ExecutionReportNewWriter,
    NewOrderSingleWriter,
};
use ilinkd::latency::Stamp;
use ilinkd::shm::strategy::{OrdType, Order, SegmentOptions, Side, StrategySegment, TimeInForce};
use std::hint::black_box;
use std::time::Instant;

/// Calls per timed batch.
const BATCH: usize = 256;
/// Timed batches per figure (after warm-up); `BENCH_ROUNDS` overrides it (e.g. a short run under
/// `valgrind --tool=callgrind`, whose per-call instruction counts are read off
/// [`handle_send`] and [`handle_recv`], kept out of line for that).
const ROUNDS: usize = 2000;

fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROUNDS)
}
const WARMUP: usize = 50;
/// Frame offset of a body field: SOFH (4) + SBE header (8).
const BODY: usize = 12;
/// Send buffer the frames are appended to (as the session's transmit buffer).
const TX: usize = 64 * 1024;

/// Median and best of per-batch nanoseconds per call.
struct Figures {
    samples: Vec<f64>,
}

impl Figures {
    fn new() -> Self {
        Figures {
            samples: Vec::with_capacity(ROUNDS),
        }
    }
    fn add(&mut self, ns_per_call: f64) {
        self.samples.push(ns_per_call);
    }
    fn median(&mut self) -> f64 {
        self.samples.sort_by(f64::total_cmp);
        self.samples[self.samples.len() / 2]
    }
    fn best(&self) -> f64 {
        self.samples.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

fn result(name: &str, value: f64, unit: &str) {
    println!("RESULT {name} {value:.1} {unit}");
}

/// Runs `f` in `ROUNDS` timed batches of `BATCH` calls (after warm-up).
fn batches(mut f: impl FnMut(u64)) -> Figures {
    let mut fig = Figures::new();
    let mut i = 0u64;
    for round in 0..WARMUP + rounds() {
        let t = Instant::now();
        for _ in 0..BATCH {
            f(i);
            i += 1;
        }
        let ns = t.elapsed().as_nanos() as f64 / BATCH as f64;
        if round >= WARMUP {
            fig.add(ns);
        }
    }
    fig
}

/// The bare SBE encode of a NewOrderSingle (as `bench/sbe.rs`). Out of line only so that
/// callgrind can count it as a whole (the encode itself stays inlined in the batch loop, as it
/// was timed before).
#[inline(never)]
fn sbe_encode() -> Figures {
    let mut buf = [0u8; 512];
    let sender = *b"TRADER1";
    let cl = *b"ORD-000000000001ABCD";
    let location = *b"US,IL";
    batches(|i| {
        let buf = black_box(&mut buf[..]);
        let Ok(mut w) = NewOrderSingleWriter::new(buf) else {
            return;
        };
        w.set_price(Some(black_box(4_512_250_000_000)))
            .set_order_qty(black_box(3))
            .set_security_id(black_box(42))
            .set_side(1)
            .set_seq_num(i as u32)
            .set_party_details_list_req_id(99)
            .set_order_request_id(i)
            .set_sending_time_epoch(1_700_000_000_000_000_000)
            .set_ord_type(b'2')
            .set_time_in_force(Some(0))
            .set_manual_order_indicator(0);
        let _ = w.set_sender_id(black_box(sender));
        let _ = w.set_cl_ord_id(black_box(cl));
        let _ = w.set_location(black_box(location));
        black_box(w.finish());
    })
}

/// The bare SBE decode of an ExecutionReportNew (as `bench/sbe.rs`); out of line as
/// [`sbe_encode`].
#[inline(never)]
fn sbe_decode() -> Figures {
    let mut frame = [0u8; 512];
    let len = {
        let mut w = ExecutionReportNewWriter::new(&mut frame).expect("buffer fits");
        w.set_seq_num(11)
            .set_uuid(0xABCD)
            .set_order_id(777)
            .set_price(4_512_250_000_000)
            .set_order_qty(3)
            .set_security_id(42_424)
            .set_side(1)
            .set_transact_time(1_700_000_000_000_000_000);
        w.set_cl_ord_id("ORD-000000000001ABCD").expect("fits");
        w.set_exec_id("EXEC-1").expect("fits");
        w.finish()
    };
    let frame = &frame[..len];
    batches(|_| {
        if let Ok(m) = ExecutionReportNew::decode(black_box(frame)) {
            black_box(m.seq_num());
            black_box(m.uuid());
            black_box(m.cl_ord_id().as_bytes());
            black_box(m.order_id());
            black_box(m.price());
            black_box(m.order_qty());
            black_box(m.security_id());
            black_box(m.side());
            black_box(m.transact_time());
            black_box(m.poss_retrans_flag());
        }
    })
}

/// Where the order-journal records of one batch go (the engine's bounded queue to
/// housekeeping; preallocated, no allocation while timed).
struct ChangeSink {
    /// Global index of each engine strategy and session (as the engine's `Globals`).
    strategies: Vec<u16>,
    sessions: Vec<u16>,
    changes: Vec<(OrderChange, OrderSnapshot)>,
    dropped: u64,
}

impl ChangeSink {
    /// What `core.rs`'s `journal_orders` does after every send: takes the router's
    /// order-journal records, maps their indices to global ones and queues them.
    #[inline]
    fn drain(&mut self, router: &mut Router) {
        let (strategies, sessions, changes) = (&self.strategies, &self.sessions, &mut self.changes);
        let lost = router.take_changes(|c, snap| {
            snap.strategy = strategies
                .get(usize::from(snap.strategy))
                .copied()
                .unwrap_or(u16::MAX);
            snap.session = sessions
                .get(usize::from(snap.session))
                .copied()
                .unwrap_or(u16::MAX);
            if changes.len() < changes.capacity() {
                changes.push((c, *snap));
            }
        });
        self.dropped += lost;
    }
}

/// One send: request off the ring → router → NewOrderSingle encoded into `tx` → sequence number
/// recorded → the order's journal record queued (as the daemon does per order). Returns what
/// went out and the frame's length.
#[inline(never)]
fn handle_send(
    seg: &mut StrategySegment,
    router: &mut Router,
    firm: &FirmFields,
    seq: u32,
    now: u64,
    tx: &mut [u8],
    journal: &mut ChangeSink,
) -> (ClOrdId, u64, usize) {
    let Some(Ok(req)) = seg.poll_request() else {
        panic!("a valid request");
    };
    let routed = router.on_request(0, &req, now, |_| true);
    let Routed::Send(out) = &routed else {
        panic!("refused");
    };
    let n = encode(out, firm, seq, now, tx).expect("encodes");
    router.sent(out, seq, Stamp(now));
    journal.drain(router);
    (out.cl_ord_id, out.order_request_id, n)
}

/// One receive: frame → decoded → routed → event onto the strategy's ring.
#[inline(never)]
fn handle_recv(seg: &mut StrategySegment, router: &mut Router, frame: &[u8]) {
    let m = decode(frame).expect("decodes");
    router.on_message(0, &m, &mut |r: &Reply| {
        seg.push_event(&r.event).expect("room in the event ring");
    });
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ilinkd-daemon-bench");
    let mut seg = StrategySegment::create(
        &path,
        &SegmentOptions {
            name: "bench".into(),
            sessions: 1,
            request_capacity: BATCH as u32,
            event_capacity: 2 * BATCH as u32,
            group: None,
        },
    )
    .expect("create strategy segment");
    let mut client = Client::attach(&path).expect("attach");
    let mut router = Router::new(RouterConfig {
        prefix: cl_ord_id_prefix(1_772_461_800_123_456, 0),
        strategies: vec![StrategyRoute {
            sessions: vec![0],
            cancel_on_exit: true,
        }],
        sessions: 1,
        instruments: vec![(42, 250_000_000)],
        risk: RiskConfig {
            max_order_qty: 100,
            max_open_orders: BATCH as u32,
            max_orders_per_second: u32::MAX,
            session_cancels_per_second: 0,
            session_orders_per_second: 0,
            certification: false,
        },
        seq_memory: 65_536,
        scopes: Vec::new(),
    });
    let firm = FirmFields::new("TRADER1", "US,IL", 7);
    // Report templates; ClOrdID (@72) and OrderRequestID (@140) are patched per order.
    let mut ack = [0u8; 512];
    let ack_len = {
        let mut w = ExecutionReportNewWriter::new(&mut ack).unwrap();
        w.set_exec_id("1")
            .unwrap()
            .set_sender_id("TRADER1")
            .unwrap();
        w.set_seq_num(1)
            .set_uuid(1)
            .set_order_id(77)
            .set_price(4_500_000_000_000)
            .set_security_id(42)
            .set_order_qty(1)
            .set_side(1);
        w.finish()
    };
    let mut cxl = [0u8; 512];
    let cxl_len = {
        let mut w = ExecutionReportCancelWriter::new(&mut cxl).unwrap();
        w.set_exec_id("2")
            .unwrap()
            .set_sender_id("TRADER1")
            .unwrap();
        w.set_seq_num(2)
            .set_uuid(1)
            .set_order_id(77)
            .set_price(4_500_000_000_000)
            .set_security_id(42)
            .set_order_qty(1)
            .set_side(1);
        w.finish()
    };
    let order = Order {
        session: 0,
        security_id: 42,
        side: Side::Buy,
        qty: 1,
        price: Some(4_500_000_000_000),
        ord_type: OrdType::Limit,
        tif: TimeInForce::Day,
        stop_px: None,
        min_qty: None,
        display_qty: None,
        expire_date: None,
    };
    // Each order's ack and cancel frames, written after it is sent.
    let mut frames = vec![[0u8; 512]; 2 * BATCH];
    let mut tx = vec![0u8; TX];
    let mut tx_len = 0usize;
    let mut seq = 1u32;
    let mut now = 1u64;
    let mut events = 0u64;
    let mut journal = ChangeSink {
        strategies: vec![3],
        sessions: vec![5],
        changes: Vec::with_capacity(4 * BATCH),
        dropped: 0,
    };
    let mut opened = 0u64;
    let (mut send, mut recv) = (Figures::new(), Figures::new());
    let rounds = rounds();
    for round in 0..WARMUP + rounds {
        for _ in 0..BATCH {
            client.new_order(&order).expect("room in the request ring");
        }
        // Send: dequeue → route → encode into the send buffer → record the sequence number.
        let t = Instant::now();
        for i in 0..BATCH {
            now += 1;
            if tx_len + 256 > TX {
                tx_len = 0;
            }
            let (cl_ord_id, orid, n) = handle_send(
                &mut seg,
                &mut router,
                &firm,
                seq,
                now,
                &mut tx[tx_len..],
                &mut journal,
            );
            tx_len += n;
            seq += 1;
            // Bookkeeping for the reports (two 20-byte copies; not part of the handler).
            let id = cl_ord_id.as_bytes();
            let f = &mut frames[2 * i];
            f[..ack_len].copy_from_slice(&ack[..ack_len]);
            f[BODY + 72..BODY + 92].copy_from_slice(id);
            f[BODY + 140..BODY + 148].copy_from_slice(&orid.to_le_bytes());
            let f = &mut frames[2 * i + 1];
            f[..cxl_len].copy_from_slice(&cxl[..cxl_len]);
            f[BODY + 72..BODY + 92].copy_from_slice(id);
        }
        let send_ns = t.elapsed().as_nanos() as f64 / BATCH as f64;
        // Housekeeping's side of the queue (not timed): one Open record per order sent.
        for (c, s) in journal.changes.drain(..) {
            assert!(c == OrderChange::Open && s.strategy == 3 && s.session == 5);
            opened += 1;
        }
        black_box(&tx);
        // Receive: the ack then an unsolicited cancel of each order (which frees it): decode →
        // route → event onto the strategy's ring.
        let t = Instant::now();
        for (i, f) in frames.iter().enumerate() {
            let len = if i % 2 == 0 { ack_len } else { cxl_len };
            handle_recv(&mut seg, &mut router, &f[..len]);
        }
        let recv_ns = t.elapsed().as_nanos() as f64 / (2 * BATCH) as f64;
        // The reports' records (each order's close), taken untimed: `handle_recv` measures the
        // receive path without its journal drain.
        journal.drain(&mut router);
        journal.changes.clear();
        while let Some(e) = client.poll_event() {
            black_box(e.expect("event decodes"));
            events += 1;
        }
        assert_eq!(router.open_orders(0), 0, "every order finished");
        if round >= WARMUP {
            send.add(send_ns);
            recv.add(recv_ns);
        }
    }
    assert_eq!(events, (2 * BATCH * (WARMUP + rounds)) as u64);
    assert_eq!(
        opened,
        (BATCH * (WARMUP + rounds)) as u64,
        "an Open record per order"
    );
    assert_eq!(journal.dropped, 0);
    assert_eq!(router.stats().unknown_reports, 0);
    let (mut enc, mut dec) = (sbe_encode(), sbe_decode());

    println!(
        "# median (and best) of {ROUNDS} batches of {BATCH}; send: request ring → router → \
         SBE NewOrderSingle into the send buffer; recv: frame → decode → router → event ring"
    );
    let (send_med, recv_med) = (send.median(), recv.median());
    let (enc_med, dec_med) = (enc.median(), dec.median());
    result("daemon.handler_send_ns", send_med, "ns");
    result("daemon.handler_recv_ns", recv_med, "ns");
    result("sbe.encode.new_order_single_ns", enc_med, "ns");
    result("sbe.decode.exec_report_new_ns", dec_med, "ns");
    result("daemon.handler_send_vs_encode", send_med / enc_med, "x");
    result("daemon.handler_recv_vs_decode", recv_med / dec_med, "x");
    result("daemon.handler_send_best_ns", send.best(), "ns");
    result("daemon.handler_recv_best_ns", recv.best(), "ns");
    result("sbe.encode.new_order_single_best_ns", enc.best(), "ns");
    result("sbe.decode.exec_report_new_best_ns", dec.best(), "ns");
}
