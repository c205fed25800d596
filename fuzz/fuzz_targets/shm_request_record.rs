//! The shared-memory record readers fed arbitrary records: `Request::decode` (what the hot
//! thread reads from a strategy's request ring) and `Event::decode` (what a client reads from its
//! event ring) return Ok or a `Problem`, never panic; an accepted record is canonical, i.e. it
//! encodes back to the same bytes (reserved and unused fields are checked zero).
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
        assert_eq!(
            r.encode(),
            req,
            "an accepted request {r:?} does not encode back"
        );
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
