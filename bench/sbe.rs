//! SBE codec benchmarks: encode NewOrderSingle (514), decode ExecutionReportNew (522).
//!
//! Run with `cargo bench --bench sbe`. Prints the median of 5 batch averages as `RESULT` lines
//! (the best batch as `.best`).

#[path = "common.rs"]
mod common;

use common::{result_median, Batches};
use ilinkd::ilink3::{ExecutionReportNew, ExecutionReportNewWriter, NewOrderSingleWriter};
use std::hint::black_box;
use std::time::Instant;

const N: u64 = 2_000_000;
const BATCHES: usize = 5;

fn batches<F: FnMut(u64)>(mut f: F) -> Batches {
    for i in 0..N / 4 {
        f(i); // warm-up
    }
    let mut v = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let t = Instant::now();
        for i in 0..N {
            f(i);
        }
        v.push(t.elapsed().as_nanos() as f64 / N as f64);
    }
    Batches::of(v)
}

fn main() {
    /// What a strategy hands the gateway; the encoder reads it from memory.
    struct Order {
        price: i64,
        qty: u32,
        security_id: i32,
        side: u8,
        party_details_list_req_id: u64,
        sending_time: u64,
        sender_id: [u8; 7],
        cl_ord_id: [u8; 16],
        location: [u8; 5],
    }
    let order = Order {
        price: 4_512_250_000_000,
        qty: 3,
        security_id: 42_424,
        side: 1,
        party_details_list_req_id: 99,
        sending_time: 1_700_000_000_000_000_000,
        sender_id: *b"TRADER1",
        cl_ord_id: *b"ORD-000000000001",
        location: *b"US,IL",
    };
    let mut buf = [0u8; 512];
    let encode = batches(|i| {
        let o = black_box(&order);
        let buf = black_box(&mut buf[..]);
        let mut w = match NewOrderSingleWriter::new(buf) {
            Ok(w) => w,
            Err(_) => return,
        };
        w.set_price(Some(o.price))
            .set_order_qty(o.qty)
            .set_security_id(o.security_id)
            .set_side(o.side)
            .set_seq_num(i as u32)
            .set_party_details_list_req_id(o.party_details_list_req_id)
            .set_order_request_id(i)
            .set_sending_time_epoch(o.sending_time)
            .set_ord_type(b'2')
            .set_time_in_force(Some(0))
            .set_manual_order_indicator(0);
        let _ = w.set_sender_id(o.sender_id);
        let _ = w.set_cl_ord_id(o.cl_ord_id);
        let _ = w.set_location(o.location);
        black_box(w.finish());
    });

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
        w.set_cl_ord_id("ORD-000000000001").expect("fits");
        w.set_exec_id("EXEC-1").expect("fits");
        w.finish()
    };
    let frame = &frame[..len];
    let decode = batches(|_| {
        let f = black_box(frame);
        if let Ok(m) = ExecutionReportNew::decode(f) {
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
    });

    result_median("sbe.encode.new_order_single_ns", encode, "ns");
    result_median("sbe.decode.exec_report_new_ns", decode, "ns");
}
