//! The shared-memory record readers fed arbitrary records: `Request::decode` (what the hot
//! thread reads from a strategy's request ring) and `Event::decode` (what a client reads from its
//! event ring) return Ok or a `Problem`, never panic; an accepted record is canonical, i.e. it
//! encodes back to the same bytes (reserved and unused fields are checked zero), except that
//! "no StopPx" has the two spellings `include/ilinkd.h` documents (0 and `ILKD_PRICE_NULL`).
#![no_main]

use ilinkd::shm::strategy::{Event, Request, EVENT_RECORD_SIZE, REQUEST_RECORD_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (sessions, rest) = match data {
        [a, rest @ ..] => (u16::from(*a), rest),
        _ => return,
    };
    let mut req = [0u8; REQUEST_RECORD_SIZE];
    let n = rest.len().min(REQUEST_RECORD_SIZE);
    req[..n].copy_from_slice(&rest[..n]);
    if let Ok(r) = Request::decode(&req, sessions) {
        assert!(r.session() < sessions);
        let _ = r.kind();
        let back = r.encode();
        let mut canon = req;
        // `stop_px` at offset 48 (include/ilinkd.h): 0 and PRICE_NULL both mean none.
        const STOP_PX: std::ops::Range<usize> = 48..56;
        let none = |b: &[u8]| b == [0u8; 8] || b == i64::MAX.to_le_bytes();
        if none(&req[STOP_PX]) && none(&back[STOP_PX]) {
            canon[STOP_PX].copy_from_slice(&back[STOP_PX]);
        }
        assert_eq!(
            back, canon,
            "an accepted request {r:?} does not encode back"
        );
        assert_eq!(Request::decode(&back, sessions).ok(), Some(r));
    }

    let mut ev = [0u8; EVENT_RECORD_SIZE];
    let n = rest.len().min(EVENT_RECORD_SIZE);
    ev[..n].copy_from_slice(&rest[..n]);
    if let Ok(e) = Event::decode(&ev) {
        let _ = e.text.as_str();
        assert_eq!(
            e.encode(),
            ev,
            "an accepted event {e:?} does not encode back"
        );
    }
});
