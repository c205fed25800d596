//! The daemon's per-order work on the hot thread, without the network: routing a new order
//! (validation, risk, throttle, ClOrdID) plus its SBE encoding, and routing an execution report
//! back to its strategy (decode + order lookup + event).
//!
//! Run with `cargo bench --bench daemon`. Best of 50 batches of 4096 orders (after 2 warm-up
//! batches), printed as `RESULT` lines.

use ilinkd::config::RiskConfig;
use ilinkd::daemon::router::{
    cl_ord_id_prefix, Reply, Routed, Router, RouterConfig, StrategyRoute, CL_ORD_ID_LEN,
};
use ilinkd::daemon::wire::{encode, FirmFields};
use ilinkd::ilink3::{decode, ExecutionReportCancelWriter, ExecutionReportNewWriter};
use ilinkd::latency::Stamp;
use ilinkd::shm::strategy::{OrdType, Order, Request, RequestBody, Side, TimeInForce};
use std::hint::black_box;
use std::time::Instant;

const BATCH: usize = 4096;
const ROUNDS: usize = 50;
/// Frame offset of a body field: SOFH (4) + SBE header (8).
const BODY: usize = 12;

fn main() {
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
    let firm = FirmFields {
        sender_id: "TRADER1".into(),
        location: "US,IL".into(),
        party_details_list_req_id: 7,
    };
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
    let mut sent: Vec<([u8; CL_ORD_ID_LEN], u64)> = vec![([0; CL_ORD_ID_LEN], 0); BATCH];
    let mut buf = [0u8; 512];
    let mut next_id = 1u64;
    let mut seq = 1u32;
    let (mut best_new, mut best_report) = (f64::MAX, f64::MAX);
    let mut events = 0u64;
    for round in 0..ROUNDS + 2 {
        // New orders: route + encode + record the sequence number.
        let t = Instant::now();
        for slot in sent.iter_mut() {
            let req = Request {
                request_id: next_id,
                enqueue_ns: 1,
                body: RequestBody::NewOrder(Order {
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
                }),
            };
            next_id += 1;
            let Routed::Send(out) = router.on_request(0, black_box(&req), next_id, |_| true) else {
                panic!("refused");
            };
            let n = encode(&out, &firm, seq, 0, &mut buf).unwrap();
            black_box(&buf[..n]);
            router.sent(&out, seq, Stamp(1));
            seq += 1;
            let id = out.cl_ord_id.as_bytes();
            slot.0 = [0; CL_ORD_ID_LEN];
            slot.0[..id.len()].copy_from_slice(id);
            slot.1 = out.order_request_id;
        }
        let new_ns = t.elapsed().as_nanos() as f64 / BATCH as f64;
        // Reports: the ack and then an unsolicited cancel of each order (which frees it).
        let t = Instant::now();
        for (id, orid) in &sent {
            ack[BODY + 72..BODY + 92].copy_from_slice(id);
            ack[BODY + 140..BODY + 148].copy_from_slice(&orid.to_le_bytes());
            let m = decode(black_box(&ack[..ack_len])).unwrap();
            router.on_message(0, &m, &mut |r: Reply| {
                events += 1;
                black_box(r);
            });
            cxl[BODY + 72..BODY + 92].copy_from_slice(id);
            let m = decode(black_box(&cxl[..cxl_len])).unwrap();
            router.on_message(0, &m, &mut |r: Reply| {
                events += 1;
                black_box(r);
            });
        }
        let report_ns = t.elapsed().as_nanos() as f64 / (2 * BATCH) as f64;
        assert_eq!(router.open_orders(0), 0, "every order finished");
        if round >= 2 && round - 2 < ROUNDS {
            best_new = best_new.min(new_ns);
            best_report = best_report.min(report_ns);
        }
    }
    assert_eq!(events, 2 * (BATCH * (ROUNDS + 2)) as u64);
    assert_eq!(router.stats().unknown_reports, 0);
    println!("RESULT daemon.router.new_order_encode_ns {best_new:.1} ns");
    println!("RESULT daemon.router.report_to_event_ns {best_report:.1} ns");
}
