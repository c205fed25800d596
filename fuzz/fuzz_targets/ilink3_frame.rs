//! Feeds arbitrary bytes to the iLink 3 frame splitter and decoder: they must return Ok or
//! Err, never panic or read out of bounds. Decoded messages are read in full (every group
//! entry), and each input is also decoded as one frame directly.
#![no_main]

use ilinkd::ilink3::{decode, Frames, Message};
use libfuzzer_sys::fuzz_target;

fn touch(m: &Message<'_>) {
    let _ = m.header();
    match m {
        Message::ExecutionReportTradeOutright(m) => {
            for f in m.fills() {
                let _ = (f.fill_px(), f.fill_qty(), f.fill_exec_id().as_str());
            }
            for e in m.order_events() {
                let _ = (
                    e.order_event_px(),
                    e.order_event_text().len(),
                    e.contra_gross_trade_amt(),
                );
            }
        }
        Message::OrderMassActionReport(m) => {
            for e in m.affected_orders() {
                let _ = (e.orig_ci_ord_id().as_bytes(), e.affected_order_id());
            }
        }
        Message::Negotiate(m) => {
            let _ = (m.credentials(), m.access_key_id().as_str());
        }
        Message::NegotiationResponse(m) => {
            let _ = (m.credentials(), m.environment_indicator());
        }
        Message::EstablishmentAck(m) => {
            let _ = m.environment_indicator();
        }
        Message::ExecutionReportNew(m) => {
            let _ = (m.cl_ord_id().as_str(), m.price(), m.priority_indicator());
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = decode(data) {
        touch(&m);
    }
    let mut frames = Frames::new(data);
    for f in frames.by_ref() {
        match f {
            Ok(frame) => {
                if let Ok(m) = decode(frame) {
                    touch(&m);
                }
            }
            Err(_) => break,
        }
    }
    assert!(frames.consumed() + frames.remainder().len() == data.len());
});
