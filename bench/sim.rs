//! Simulator throughput, in memory, benchmark mode (no book): NewOrderSingle frames in through
//! the gateway (framing, decode, sequence check, engine), ExecutionReportNew frames out (encode,
//! journal, stream).
//! - `sim.order_ns`: one order per `handle_input`, its ack taken with `poll_transmit`;
//! - `sim.acks_per_s`: 64 orders per read (what a server sees under load);
//! - `sim.order_fill_ns`: one order per read answered with an ack and a fill.
//!
//! The journal keeps 65536 messages (it compacts in place), so after the warm-up batch the
//! loop runs on preallocated buffers.

#[path = "common.rs"]
mod common;

use common::{median_ns_per_iter, result_median, Batches};
use ilinkd::auth::{EstablishCanonical, HmacSigner, NegotiateCanonical};
use ilinkd::ilink3::{EstablishWriter, NegotiateWriter, NewOrderSingleWriter, FRAME_HEADER_LEN};
use ilinkd::sim::{
    ConnId, EngineMode, Exchange, GatewayConfig, MatchingEngine, SessionAccount, SessionRegistry,
};
use std::collections::HashMap;
use std::hint::black_box;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const KEY_ID: &str = "AKIDAAAAAAAAAAAAAAA1";
const T0: u64 = 1_795_010_400_000_000_000;
/// Offset of NewOrderSingle's SeqNum in the frame.
const SEQ_AT: usize = FRAME_HEADER_LEN + 17;

fn exchange(fill: bool) -> (Exchange, ConnId) {
    let mut keys = HashMap::new();
    keys.insert(KEY_ID.to_string(), HmacSigner::new(KEY));
    let mut cfg = GatewayConfig::new(
        vec![SessionAccount {
            session_id: "ABC".into(),
            firm_id: "007".into(),
            access_key_ids: Vec::new(),
        }],
        keys,
    );
    cfg.journal_retention = 1 << 16;
    let mut ex = Exchange::new(
        SessionRegistry::new(cfg),
        MatchingEngine::new(EngineMode::Benchmark { fill }, &[]),
    );
    let c = ex.accept(T0);
    let signer = HmacSigner::new(KEY);
    let uuid = T0 / 1000;
    let mut buf = [0u8; 512];
    let sig = signer.sign(&NegotiateCanonical {
        request_timestamp: T0,
        uuid,
        session: "ABC",
        firm: "007",
    });
    let mut w = NegotiateWriter::new(&mut buf).unwrap();
    w.set_hmac_signature(sig).unwrap();
    w.set_access_key_id(KEY_ID).unwrap();
    w.set_session("ABC").unwrap().set_firm("007").unwrap();
    w.set_uuid(uuid).set_request_timestamp(T0);
    let n = w.finish();
    ex.handle_input(c, T0, &buf[..n]);
    let sig = signer.sign(&EstablishCanonical {
        request_timestamp: T0,
        uuid,
        session: "ABC",
        firm: "007",
        trading_system_name: "bench",
        trading_system_version: "1",
        trading_system_vendor: "ACME",
        next_seq_no: 1,
        keep_alive_interval: 30_000,
    });
    let mut w = EstablishWriter::new(&mut buf).unwrap();
    w.set_hmac_signature(sig).unwrap();
    w.set_access_key_id(KEY_ID).unwrap();
    w.set_trading_system_name("bench").unwrap();
    w.set_trading_system_version("1").unwrap();
    w.set_trading_system_vendor("ACME").unwrap();
    w.set_session("ABC").unwrap().set_firm("007").unwrap();
    w.set_uuid(uuid)
        .set_request_timestamp(T0)
        .set_next_seq_no(1)
        .set_keep_alive_interval(30_000);
    let n = w.finish();
    ex.handle_input(c, T0, &buf[..n]);
    let out = ex.poll_transmit(c).map_or(0, <[u8]>::len);
    assert!(out > 0, "logon produced no answer");
    while ex.poll_event(c).is_some() {}
    let st = ex.registry().sequences(ilinkd::sim::SessionKey(0)).unwrap();
    assert_eq!(st.next_inbound, 1, "bench session did not establish");
    (ex, c)
}

fn order_frame() -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let mut w = NewOrderSingleWriter::new(&mut buf).unwrap();
    w.set_cl_ord_id("BENCH-ORDER-000001").unwrap();
    w.set_sender_id("TRADER").unwrap();
    w.set_price(Some(4_500_250_000_000))
        .set_order_qty(1)
        .set_security_id(42)
        .set_side(1)
        .set_ord_type(b'2')
        .set_order_request_id(1);
    let n = w.finish();
    buf.truncate(n);
    buf
}

/// Runs `orders_per_read` orders per `handle_input`; returns ns per order.
fn run(fill: bool, orders_per_read: usize, iters: u64) -> Batches {
    let (mut ex, c) = exchange(fill);
    let one = order_frame();
    let mut batch = Vec::with_capacity(one.len() * orders_per_read);
    for _ in 0..orders_per_read {
        batch.extend_from_slice(&one);
    }
    let mut seq: u32 = 1;
    let mut now = T0 + 1_000;
    let mut step = |ex: &mut Exchange| {
        for k in 0..orders_per_read {
            let at = k * one.len() + SEQ_AT;
            batch[at..at + 4].copy_from_slice(&seq.to_le_bytes());
            seq += 1;
        }
        now += 100;
        ex.handle_input(c, now, black_box(&batch));
        let sent = ex.poll_transmit(c).map_or(0, <[u8]>::len);
        black_box(sent);
        while let Some(e) = ex.poll_event(c) {
            black_box(e);
        }
    };
    let ns = median_ns_per_iter(5, iters, |_| step(&mut ex));
    let st = ex.registry().sequences(ilinkd::sim::SessionKey(0)).unwrap();
    assert_eq!(
        u64::from(st.next_inbound),
        6 * iters * orders_per_read as u64 + 1,
        "orders were not all accepted"
    );
    ns.map(|x| x / orders_per_read as f64)
}

fn main() {
    let order_ns = run(false, 1, 200_000);
    let batched_ns = run(false, 64, 4_000);
    let fill_ns = run(true, 1, 200_000);
    result_median("sim.order_ns", order_ns, "ns");
    result_median("sim.acks_per_s", batched_ns.map(|ns| 1e9 / ns), "acks/s");
    result_median("sim.order_fill_ns", fill_ns, "ns");
}
