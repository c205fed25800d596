//! FIX framing and the Drop Copy report parser (35=8, 35=9 and 35=n, whatever 213 holds).
//!
//! The input is read twice:
//! * as a byte stream: cut with `frame` (Complete / NeedMore / Garbled, as the session does),
//!   each complete message parsed by `codec::parse` and by `ReportParser::parse`;
//! * as a message body (`35=...<SOH>...`): framed here with a correct BodyLength and CheckSum, so
//!   that mutations reach the field scanner and the report extraction instead of dying on the
//!   checksum, then parsed by `ReportParser::parse`.
//!
//! Everything must return Ok or Err; accepted reports are read in full (timestamps, owned copy,
//! decimals printed and parsed back).
#![no_main]

use ilinkd::dropcopy::{checksum, frame, parse, Decimal9, FieldIndex, Frame, ReportParser};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static STATE: RefCell<(ReportParser, FieldIndex, Vec<u8>)> =
        RefCell::new((ReportParser::new(), FieldIndex::new(), Vec::new()));
}

fn check_decimal(d: Option<Decimal9>) {
    if let Some(d) = d {
        let text = d.to_string();
        assert_eq!(
            Decimal9::parse(0, text.as_bytes()),
            Ok(d),
            "Decimal9 {d:?} prints as {text:?}, which does not parse back"
        );
    }
}

fn report(parser: &mut ReportParser, raw: &[u8]) {
    let Ok(r) = parser.parse(raw) else {
        return;
    };
    assert!(r.seq_num > 0, "a report was accepted with MsgSeqNum 0");
    assert_eq!(r.raw, raw);
    let _ = r.transact_time_ns();
    let _ = r.sending_time_ns();
    for d in [
        r.order_qty,
        r.price,
        r.last_qty,
        r.last_px,
        r.cum_qty,
        r.leaves_qty,
    ] {
        check_decimal(d);
    }
    // A 35=9 OrderCancelReject, bare or embedded, and only that, carries the reject fields.
    assert_eq!(
        r.reject.is_some(),
        r.source.name() == "cancel_reject",
        "reject fields on a {:?}",
        r.source
    );
    let owned = r.to_owned_report();
    assert_eq!(owned.exec_id.as_deref(), r.exec_id);
    assert_eq!(owned.raw, raw);
    if let (Some(j), Some(oj)) = (r.reject, owned.reject.as_ref()) {
        assert_eq!(oj.orig_cl_ord_id.as_deref(), j.orig_cl_ord_id);
        assert_eq!(oj.text.as_deref(), j.text);
        assert_eq!(oj.account.as_deref(), j.account);
        assert_eq!((oj.response_to, oj.reason), (j.response_to, j.reason));
    } else {
        assert_eq!(owned.reject.is_some(), r.reject.is_some());
    }
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|st| {
        let (parser, index, framed) = &mut *st.borrow_mut();

        // 1. The input as a stream.
        let mut off = 0;
        while off < data.len() {
            let buf = &data[off..];
            match frame(buf) {
                Frame::NeedMore => break,
                Frame::Garbled { skip, .. } => {
                    assert!(
                        skip <= buf.len(),
                        "Garbled skip {skip} past {} bytes",
                        buf.len()
                    );
                    off += skip.max(1);
                }
                Frame::Complete(n) => {
                    assert!(
                        n > 0 && n <= buf.len(),
                        "Complete({n}) of {} bytes",
                        buf.len()
                    );
                    let raw = &buf[..n];
                    if let Ok(m) = parse(raw, index) {
                        let _ = (m.seq_num(), m.poss_dup(), m.msg_type());
                        for f in m.iter() {
                            let _ = (f.tag, f.value.len());
                        }
                    }
                    report(parser, raw);
                    off += n;
                }
            }
        }
        report(parser, data);

        // 2. The input as a body, framed with a correct BodyLength and CheckSum.
        if data.is_empty() || data.len() > 40_000 {
            return;
        }
        framed.clear();
        framed.extend_from_slice(b"8=FIX.4.2\x019=");
        framed.extend_from_slice(data.len().to_string().as_bytes());
        framed.push(1);
        framed.extend_from_slice(data);
        let sum = checksum(framed);
        framed.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        if let Frame::Complete(n) = frame(framed) {
            assert_eq!(n, framed.len(), "a framed body was cut short");
        }
        report(parser, framed);
    });
});
