//! The simulator's exchange side: every logon/session rule with the exact CME code, and full
//! client `Session` ⇄ `Exchange` loops over an in-memory pipe with a fake clock.

use std::collections::HashMap;

use ilinkd::auth::{EstablishCanonical, HmacSigner, NegotiateCanonical};
use ilinkd::config::{FsyncPolicy, NotAppliedPolicy};
use ilinkd::ilink3::session::{
    ConnectMode, Credentials, FixpEvent, FixpSession, FixpState, NotAppliedAction, SessionConfig,
    SessionSeqState,
};
use ilinkd::ilink3::{
    decode, EstablishWriter, Frames, Message, NegotiateWriter, NewOrderSingleWriter,
    RetransmitRequestWriter, SequenceWriter, TerminateWriter,
};
use ilinkd::sim::{
    ConnId, EngineMode, Exchange, GatewayConfig, GatewayEvent, Instrument, LogonAnswer,
    MatchingEngine, SessionAccount, SessionKey, SessionRegistry, SkipOutbound,
};
use ilinkd::types::{Nanos, Now, WallNanos};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const KEY_ID: &str = "AKIDAAAAAAAAAAAAAAA1";
const KEY2: &[u8] = b"another secret key, for session B";
const KEY_ID2: &str = "AKIDBBBBBBBBBBBBBBB2";
const KA_MS: u16 = 5000;
const KA: u64 = KA_MS as u64 * 1_000_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
/// Wednesday 2026-11-18 14:00:00 UTC.
const T0: u64 = 1_795_010_400_000_000_000;
const ES: i32 = 42;
const TICK: i64 = 250_000_000;

fn gateway_config() -> GatewayConfig {
    let mut keys = HashMap::new();
    keys.insert(KEY_ID.to_string(), HmacSigner::new(KEY));
    keys.insert(KEY_ID2.to_string(), HmacSigner::new(KEY2));
    GatewayConfig::new(
        vec![
            SessionAccount {
                session_id: "ABC".into(),
                firm_id: "007".into(),
                access_key_ids: vec![KEY_ID.into()],
            },
            SessionAccount {
                session_id: "XYZ".into(),
                firm_id: "008".into(),
                access_key_ids: vec![KEY_ID2.into()],
            },
            // Another session of ABC's firm (Cancel on Behalf).
            SessionAccount {
                session_id: "DEF".into(),
                firm_id: "007".into(),
                access_key_ids: vec![KEY_ID.into()],
            },
        ],
        keys,
    )
}

fn exchange_with(reg: SessionRegistry) -> Exchange {
    Exchange::new(
        reg,
        MatchingEngine::new(
            EngineMode::Book,
            &[Instrument {
                security_id: ES,
                tick: TICK,
            }],
        ),
    )
}

fn exchange() -> Exchange {
    exchange_with(SessionRegistry::new(gateway_config()))
}

// ---- hand-built client frames -------------------------------------------------------------

fn frame(f: impl FnOnce(&mut [u8]) -> usize) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let n = f(&mut buf);
    buf.truncate(n);
    buf
}

#[derive(Clone, Copy)]
struct Logon {
    ts: u64,
    uuid: u64,
    session: &'static str,
    firm: &'static str,
    key_id: &'static str,
    key: &'static [u8],
    next_seq: u32,
    ka: u16,
    corrupt_sig: bool,
}

fn logon(ts: u64, uuid: u64) -> Logon {
    Logon {
        ts,
        uuid,
        session: "ABC",
        firm: "007",
        key_id: KEY_ID,
        key: KEY,
        next_seq: 1,
        ka: KA_MS,
        corrupt_sig: false,
    }
}

fn negotiate(l: Logon) -> Vec<u8> {
    let mut sig = HmacSigner::new(l.key).sign(&NegotiateCanonical {
        request_timestamp: l.ts,
        uuid: l.uuid,
        session: l.session,
        firm: l.firm,
    });
    if l.corrupt_sig {
        sig[0] ^= 1;
    }
    frame(|b| {
        let mut w = NegotiateWriter::new(b).unwrap();
        w.set_hmac_signature(sig)
            .unwrap()
            .set_access_key_id(l.key_id)
            .unwrap()
            .set_session(l.session)
            .unwrap()
            .set_firm(l.firm)
            .unwrap();
        w.set_uuid(l.uuid).set_request_timestamp(l.ts);
        w.finish()
    })
}

fn establish(l: Logon) -> Vec<u8> {
    let mut sig = HmacSigner::new(l.key).sign(&EstablishCanonical {
        request_timestamp: l.ts,
        uuid: l.uuid,
        session: l.session,
        firm: l.firm,
        trading_system_name: "test",
        trading_system_version: "1",
        trading_system_vendor: "ACME",
        next_seq_no: l.next_seq,
        keep_alive_interval: l.ka,
    });
    if l.corrupt_sig {
        sig[0] ^= 1;
    }
    frame(|b| {
        let mut w = EstablishWriter::new(b).unwrap();
        w.set_hmac_signature(sig)
            .unwrap()
            .set_access_key_id(l.key_id)
            .unwrap()
            .set_trading_system_name("test")
            .unwrap()
            .set_trading_system_version("1")
            .unwrap()
            .set_trading_system_vendor("ACME")
            .unwrap()
            .set_session(l.session)
            .unwrap()
            .set_firm(l.firm)
            .unwrap();
        w.set_uuid(l.uuid)
            .set_request_timestamp(l.ts)
            .set_next_seq_no(l.next_seq)
            .set_keep_alive_interval(l.ka);
        w.finish()
    })
}

fn order(seq: u32, cl: &str, side: u8, price: i64, qty: u32) -> Vec<u8> {
    frame(|b| {
        let mut w = NewOrderSingleWriter::new(b).unwrap();
        w.set_cl_ord_id(cl).unwrap();
        w.set_seq_num(seq)
            .set_price(Some(price))
            .set_order_qty(qty)
            .set_security_id(ES)
            .set_side(side)
            .set_ord_type(b'2')
            .set_order_request_id(u64::from(seq));
        w.finish()
    })
}

fn sequence(uuid: u64, next: u32) -> Vec<u8> {
    frame(|b| {
        let mut w = SequenceWriter::new(b).unwrap();
        w.set_uuid(uuid).set_next_seq_no(next);
        w.finish()
    })
}

fn retransmit_request(
    ts: u64,
    uuid: u64,
    last_uuid: Option<u64>,
    from: u32,
    count: u16,
) -> Vec<u8> {
    frame(|b| {
        let mut w = RetransmitRequestWriter::new(b).unwrap();
        w.set_uuid(uuid)
            .set_last_uuid(last_uuid)
            .set_request_timestamp(ts)
            .set_from_seq_no(from)
            .set_msg_count(count);
        w.finish()
    })
}

/// Feeds one frame; returns what the gateway sent, as owned frames.
fn feed(ex: &mut Exchange, c: ConnId, now: u64, bytes: &[u8]) -> Vec<Vec<u8>> {
    ex.handle_input(c, now, bytes);
    out(ex, c)
}

fn out(ex: &mut Exchange, c: ConnId) -> Vec<Vec<u8>> {
    let Some(bytes) = ex.poll_transmit(c) else {
        return Vec::new();
    };
    let bytes = bytes.to_vec();
    Frames::new(&bytes)
        .map(|f| f.expect("gateway sent a malformed frame").to_vec())
        .collect()
}

fn events(ex: &mut Exchange, c: ConnId) -> Vec<GatewayEvent> {
    std::iter::from_fn(|| ex.poll_event(c)).collect()
}

fn templates(frames: &[Vec<u8>]) -> Vec<u16> {
    frames
        .iter()
        .map(|f| decode(f).unwrap().template_id())
        .collect()
}

/// `(template, ErrorCodes)` of a single reject/terminate answer.
fn answer(frames: &[Vec<u8>]) -> (u16, u16) {
    assert_eq!(
        frames.len(),
        1,
        "expected one answer, got {:?}",
        templates(frames)
    );
    match decode(&frames[0]).unwrap() {
        Message::NegotiationReject(m) => (502, m.error_codes()),
        Message::EstablishmentReject(m) => (505, m.error_codes()),
        Message::Terminate(m) => (507, m.error_codes()),
        Message::RetransmitReject(m) => (510, m.error_codes()),
        m => panic!("not a reject: {}", m.name()),
    }
}

fn disconnected(evs: &[GatewayEvent]) -> bool {
    evs.contains(&GatewayEvent::Disconnect)
}

/// Negotiate + Establish on a fresh connection; returns it.
fn logged_on(ex: &mut Exchange, now: u64, uuid: u64) -> ConnId {
    let c = ex.accept(now);
    let o = feed(ex, c, now, &negotiate(logon(now, uuid)));
    assert_eq!(templates(&o), vec![501]);
    let o = feed(ex, c, now + MS, &establish(logon(now + MS, uuid)));
    assert_eq!(templates(&o), vec![504]);
    events(ex, c);
    c
}

// ---- logon rules ----------------------------------------------------------------------------

#[test]
fn valid_negotiate_and_establish_are_acknowledged_with_sequence_numbers() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    let uuid = T0 / 1000;
    let o = feed(&mut ex, c, T0, &negotiate(logon(T0 - 100 * MS, uuid)));
    let Message::NegotiationResponse(r) = decode(&o[0]).unwrap() else {
        panic!("expected 501")
    };
    assert_eq!(r.uuid(), uuid);
    assert_eq!(r.request_timestamp(), T0 - 100 * MS);
    assert_eq!(r.previous_uuid(), 0);
    let o = feed(&mut ex, c, T0 + MS, &establish(logon(T0 + MS, uuid)));
    let Message::EstablishmentAck(a) = decode(&o[0]).unwrap() else {
        panic!("expected 504")
    };
    assert_eq!(
        (a.uuid(), a.next_seq_no(), a.keep_alive_interval()),
        (uuid, 1, KA_MS)
    );
    let key = ex.registry().key("ABC").unwrap();
    assert_eq!(
        events(&mut ex, c),
        vec![
            GatewayEvent::Negotiated {
                session: key,
                uuid,
                previous_uuid: 0
            },
            GatewayEvent::Established {
                session: key,
                uuid,
                next_inbound: 1,
                next_outbound: 1,
                keepalive_ms: KA_MS
            }
        ]
    );
    // An order is acknowledged with the exchange's sequence number 1.
    let o = feed(
        &mut ex,
        c,
        T0 + 2 * MS,
        &order(1, "C1", 1, 100 * SEC as i64, 1),
    );
    let Message::ExecutionReportNew(n) = decode(&o[0]).unwrap() else {
        panic!("expected 522")
    };
    assert_eq!((n.seq_num(), n.uuid()), (1, uuid));
    assert_eq!(n.cl_ord_id().as_bytes(), b"C1");
}

#[test]
fn stale_or_future_timestamp_is_rejected_with_3() {
    for ts in [T0 - 5 * SEC - 1, T0 + 6 * SEC] {
        let mut ex = exchange();
        let c = ex.accept(T0);
        let o = feed(&mut ex, c, T0, &negotiate(logon(ts, T0 / 1000)));
        assert_eq!(answer(&o), (502, 3));
        let evs = events(&mut ex, c);
        assert!(disconnected(&evs));
    }
    // Establish too.
    let mut ex = exchange();
    let c = ex.accept(T0);
    feed(&mut ex, c, T0, &negotiate(logon(T0, T0 / 1000)));
    let o = feed(&mut ex, c, T0 + 7 * SEC, &establish(logon(T0, T0 / 1000)));
    assert_eq!(answer(&o), (505, 3));
}

#[test]
fn bad_hmac_is_rejected_with_0() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    let mut l = logon(T0, T0 / 1000);
    l.corrupt_sig = true;
    assert_eq!(answer(&feed(&mut ex, c, T0, &negotiate(l))), (502, 0));
    // Signed with another session's key.
    let c = ex.accept(T0);
    let mut l = logon(T0, T0 / 1000);
    l.key = KEY2;
    assert_eq!(answer(&feed(&mut ex, c, T0, &negotiate(l))), (502, 0));
    // Establish with a bad signature after a good Negotiate.
    let c = ex.accept(T0);
    feed(&mut ex, c, T0, &negotiate(logon(T0, T0 / 1000)));
    let mut l = logon(T0 + MS, T0 / 1000);
    l.corrupt_sig = true;
    assert_eq!(answer(&feed(&mut ex, c, T0 + MS, &establish(l))), (505, 0));
}

#[test]
fn unknown_key_session_firm_and_missing_fields_get_their_codes() {
    let cases: Vec<(Logon, u16)> = vec![
        (
            Logon {
                key_id: "AKIDUNKNOWNUNKNOWN00",
                ..logon(T0, 1)
            },
            12,
        ),
        // Another session's key is not valid for this session.
        (
            Logon {
                key_id: KEY_ID2,
                key: KEY2,
                ..logon(T0, 1)
            },
            12,
        ),
        (
            Logon {
                session: "QQQ",
                ..logon(T0, 1)
            },
            13,
        ),
        (
            Logon {
                firm: "999",
                ..logon(T0, 1)
            },
            14,
        ),
        (
            Logon {
                key_id: "",
                ..logon(T0, 1)
            },
            5,
        ),
        (
            Logon {
                session: "",
                ..logon(T0, 1)
            },
            6,
        ),
        (
            Logon {
                firm: "",
                ..logon(T0, 1)
            },
            7,
        ),
        (logon(0, 1), 9),
    ];
    for (l, code) in cases {
        let mut ex = exchange();
        let c = ex.accept(T0);
        assert_eq!(answer(&feed(&mut ex, c, T0, &negotiate(l))), (502, code));
    }
    // A Negotiate without a signature: 4.
    let mut ex = exchange();
    let c = ex.accept(T0);
    let f = frame(|b| {
        let mut w = NegotiateWriter::new(b).unwrap();
        w.set_access_key_id(KEY_ID).unwrap();
        w.set_session("ABC").unwrap().set_firm("007").unwrap();
        w.set_uuid(1).set_request_timestamp(T0);
        w.finish()
    });
    assert_eq!(answer(&feed(&mut ex, c, T0, &f)), (502, 4));
}

#[test]
fn keepalive_interval_out_of_range_is_rejected_with_11() {
    for ka in [0u16, 4999, 60001] {
        let mut ex = exchange();
        let c = ex.accept(T0);
        feed(&mut ex, c, T0, &negotiate(logon(T0, 7)));
        let l = Logon {
            ka,
            ..logon(T0 + MS, 7)
        };
        assert_eq!(answer(&feed(&mut ex, c, T0 + MS, &establish(l))), (505, 11));
    }
}

#[test]
fn reused_or_lower_uuid_is_terminated_with_13() {
    let mut ex = exchange();
    let uuid = T0 / 1000;
    let c = logged_on(&mut ex, T0, uuid);
    ex.close(c);
    for bad in [uuid, uuid - 1] {
        let c = ex.accept(T0 + SEC);
        let o = feed(&mut ex, c, T0 + SEC, &negotiate(logon(T0 + SEC, bad)));
        assert_eq!(answer(&o), (507, 13));
        let evs = events(&mut ex, c);
        assert!(matches!(
            evs[0],
            GatewayEvent::LogonRejected {
                answer: LogonAnswer::Terminate(_),
                ..
            }
        ));
        assert!(disconnected(&evs));
    }
    // Establish of an older UUID after a newer one was negotiated: 13 too.
    let c = ex.accept(T0 + 2 * SEC);
    feed(
        &mut ex,
        c,
        T0 + 2 * SEC,
        &negotiate(logon(T0 + 2 * SEC, uuid + 5)),
    );
    ex.close(c);
    let c = ex.accept(T0 + 3 * SEC);
    let o = feed(
        &mut ex,
        c,
        T0 + 3 * SEC,
        &establish(logon(T0 + 3 * SEC, uuid)),
    );
    assert_eq!(answer(&o), (507, 13));
}

#[test]
fn establish_without_negotiate_is_terminated_with_2() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    let o = feed(&mut ex, c, T0, &establish(logon(T0, T0 / 1000)));
    assert_eq!(answer(&o), (507, 2));
    // A UUID above the negotiated one was never negotiated either.
    let c = ex.accept(T0);
    feed(&mut ex, c, T0, &negotiate(logon(T0, 100)));
    let o = feed(&mut ex, c, T0 + MS, &establish(logon(T0 + MS, 101)));
    assert_eq!(answer(&o), (507, 2));
}

#[test]
fn establish_later_than_60s_after_negotiate_is_terminated_with_1() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    feed(&mut ex, c, T0, &negotiate(logon(T0, 100)));
    ex.close(c);
    let now = T0 + 61 * SEC;
    let c = ex.accept(now);
    assert_eq!(
        answer(&feed(&mut ex, c, now, &establish(logon(now, 100)))),
        (507, 1)
    );
    // A connection that never logs on is terminated with 1 after 60 s as well.
    let c = ex.accept(T0);
    assert_eq!(ex.next_deadline(c), Some(T0 + 60 * SEC));
    ex.handle_timeout(c, T0 + 60 * SEC);
    assert_eq!(answer(&out(&mut ex, c)), (507, 1));
}

#[test]
fn second_negotiate_gets_4_and_logon_on_an_established_connection_gets_6() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    feed(&mut ex, c, T0, &negotiate(logon(T0, 100)));
    let o = feed(&mut ex, c, T0 + MS, &negotiate(logon(T0 + MS, 101)));
    assert_eq!(answer(&o), (507, 4));
    let c = logged_on(&mut ex, T0 + SEC, 200);
    let o = feed(
        &mut ex,
        c,
        T0 + SEC + 5 * MS,
        &establish(logon(T0 + SEC, 200)),
    );
    assert_eq!(answer(&o), (507, 6));
    // The session is free again; a second connection cannot establish while one is up.
    let c1 = logged_on(&mut ex, T0 + 2 * SEC, 300);
    let c2 = ex.accept(T0 + 2 * SEC);
    let o = feed(
        &mut ex,
        c2,
        T0 + 2 * SEC,
        &establish(logon(T0 + 2 * SEC, 300)),
    );
    assert_eq!(answer(&o), (507, 6));
    assert_eq!(
        ex.connection(c1).map(|c| c.state()),
        Some(ilinkd::sim::ConnState::Established)
    );
}

#[test]
fn business_before_establish_is_terminated() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    assert_eq!(
        answer(&feed(&mut ex, c, T0, &order(1, "X", 1, 0, 1))),
        (507, 2)
    );
    let c = ex.accept(T0);
    feed(&mut ex, c, T0, &negotiate(logon(T0, 100)));
    assert_eq!(
        answer(&feed(&mut ex, c, T0 + MS, &order(1, "X", 1, 0, 1))),
        (507, 3)
    );
}

#[test]
fn fifth_bad_logon_within_60s_closes_the_port_with_8() {
    let mut ex = exchange();
    let key = ex.registry().key("ABC").unwrap();
    let mut bad = logon(T0, 100);
    bad.corrupt_sig = true;
    for i in 0..4u64 {
        let now = T0 + i * SEC;
        let c = ex.accept(now);
        let l = Logon { ts: now, ..bad };
        assert_eq!(answer(&feed(&mut ex, c, now, &negotiate(l))), (502, 0));
    }
    let now = T0 + 4 * SEC;
    let c = ex.accept(now);
    let l = Logon { ts: now, ..bad };
    assert_eq!(answer(&feed(&mut ex, c, now, &negotiate(l))), (507, 8));
    assert!(events(&mut ex, c).contains(&GatewayEvent::PortClosed { session: key }));
    assert!(ex.registry().port_closed(key));
    // Every later logon, even a valid one and even minutes later, gets 8.
    let now = T0 + 300 * SEC;
    let c = ex.accept(now);
    assert_eq!(
        answer(&feed(&mut ex, c, now, &negotiate(logon(now, 100)))),
        (507, 8)
    );
    let c = ex.accept(now);
    assert_eq!(
        answer(&feed(&mut ex, c, now, &establish(logon(now, 100)))),
        (507, 8)
    );
    // The other session is not affected.
    let c = ex.accept(now);
    let l = Logon {
        session: "XYZ",
        firm: "008",
        key_id: KEY_ID2,
        key: KEY2,
        ..logon(now, 100)
    };
    assert_eq!(templates(&feed(&mut ex, c, now, &negotiate(l))), vec![501]);
    // Until the port is reopened.
    ex.registry_mut().reopen_port(key);
    let c = ex.accept(now);
    assert_eq!(
        templates(&feed(&mut ex, c, now, &negotiate(logon(now, 100)))),
        vec![501]
    );
}

#[test]
fn bad_logons_spread_over_more_than_60s_do_not_close_the_port() {
    let mut ex = exchange();
    let key = ex.registry().key("ABC").unwrap();
    for i in 0..8u64 {
        let now = T0 + i * 20 * SEC;
        let c = ex.accept(now);
        let l = Logon {
            corrupt_sig: true,
            ..logon(now, 100)
        };
        assert_eq!(answer(&feed(&mut ex, c, now, &negotiate(l))), (502, 0));
    }
    assert!(!ex.registry().port_closed(key));
}

#[test]
fn lower_sequence_is_terminated_with_11_and_higher_gets_not_applied() {
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    let key = ex.registry().key("ABC").unwrap();
    let px = 100 * SEC as i64;
    assert_eq!(
        templates(&feed(&mut ex, c, T0 + SEC, &order(1, "A", 1, px, 1))),
        vec![522]
    );
    // Seq 4 when 2 is expected: NotApplied(2, 2), then the order is accepted.
    let o = feed(&mut ex, c, T0 + SEC, &order(4, "B", 1, px, 1));
    assert_eq!(templates(&o), vec![513, 522]);
    let Message::NotApplied(n) = decode(&o[0]).unwrap() else {
        panic!()
    };
    assert_eq!((n.uuid(), n.from_seq_no(), n.msg_count()), (100, 2, 2));
    assert_eq!(ex.registry().sequences(key).unwrap().next_inbound, 5);
    let evs = events(&mut ex, c);
    assert!(evs.contains(&GatewayEvent::NotAppliedSent {
        session: key,
        from_seq: 2,
        count: 2
    }));
    // Seq 3 now is below the expected 5.
    let o = feed(&mut ex, c, T0 + SEC, &order(3, "C", 1, px, 1));
    assert_eq!(answer(&o), (507, 11));
    assert!(disconnected(&events(&mut ex, c)));
}

#[test]
fn client_sequence_gap_fill_is_adopted_and_a_lower_one_terminates() {
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    let key = ex.registry().key("ABC").unwrap();
    assert!(feed(&mut ex, c, T0 + SEC, &sequence(100, 9)).is_empty());
    assert_eq!(ex.registry().sequences(key).unwrap().next_inbound, 9);
    assert_eq!(
        answer(&feed(&mut ex, c, T0 + SEC, &sequence(100, 3))),
        (507, 11)
    );
}

#[test]
fn higher_next_seq_no_on_establish_after_renegotiation_is_adopted_after_not_applied() {
    // Seed 004: after a new UUID mid-week, a higher NextSeqNo establishes, then NotApplied.
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    ex.close(c);
    let now = T0 + SEC;
    let c = ex.accept(now);
    feed(&mut ex, c, now, &negotiate(logon(now, 200)));
    let l = Logon {
        next_seq: 6,
        ..logon(now, 200)
    };
    let o = feed(&mut ex, c, now, &establish(l));
    assert_eq!(templates(&o), vec![504, 513]);
    let Message::NotApplied(n) = decode(&o[1]).unwrap() else {
        panic!()
    };
    assert_eq!((n.from_seq_no(), n.msg_count()), (1, 5));
    let key = ex.registry().key("ABC").unwrap();
    assert_eq!(ex.registry().sequences(key).unwrap().next_inbound, 6);
    assert_eq!(
        templates(&feed(
            &mut ex,
            c,
            now,
            &order(6, "A", 1, 100 * SEC as i64, 1)
        )),
        vec![522]
    );
}

#[test]
fn first_uuid_of_the_week_must_start_at_1_and_next_seq_no_may_not_go_back() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    feed(&mut ex, c, T0, &negotiate(logon(T0, 100)));
    let l = Logon {
        next_seq: 5,
        ..logon(T0, 100)
    };
    assert_eq!(answer(&feed(&mut ex, c, T0, &establish(l))), (507, 10));
    // Mid-week re-establish of the same UUID below what was received: 10.
    let c = ex.accept(T0 + SEC);
    feed(&mut ex, c, T0 + SEC, &negotiate(logon(T0 + SEC, 101)));
    feed(&mut ex, c, T0 + SEC, &establish(logon(T0 + SEC, 101)));
    feed(&mut ex, c, T0 + SEC, &order(1, "A", 1, 100 * SEC as i64, 1));
    feed(&mut ex, c, T0 + SEC, &order(2, "B", 1, 100 * SEC as i64, 1));
    ex.close(c);
    let c = ex.accept(T0 + 2 * SEC);
    let l = Logon {
        next_seq: 2,
        ..logon(T0 + 2 * SEC, 101)
    };
    assert_eq!(
        answer(&feed(&mut ex, c, T0 + 2 * SEC, &establish(l))),
        (507, 10)
    );
    // With the right number it establishes and reports the exchange's next sequence (3).
    let c = ex.accept(T0 + 2 * SEC);
    let l = Logon {
        next_seq: 3,
        ..logon(T0 + 2 * SEC, 101)
    };
    let o = feed(&mut ex, c, T0 + 2 * SEC, &establish(l));
    let Message::EstablishmentAck(a) = decode(&o[0]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (a.next_seq_no(), a.previous_uuid(), a.previous_seq_no()),
        (3, 101, 2)
    );
}

#[test]
fn garbage_is_terminated_with_a_decoding_code() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    let o = feed(&mut ex, c, T0, &[8, 0, 0xBE, 0xBA, 0, 0, 0, 0]);
    assert_eq!(answer(&o), (507, 18));
    let c = ex.accept(T0);
    let mut f = negotiate(logon(T0, 1));
    f[6] = 0x99; // unknown template id
    assert_eq!(answer(&feed(&mut ex, c, T0, &f)), (507, 19));
    // A message only the exchange sends.
    let c = logged_on(&mut ex, T0, 5);
    let f = frame(|b| {
        let mut w = ilinkd::ilink3::NotAppliedWriter::new(b).unwrap();
        w.set_uuid(5);
        w.finish()
    });
    assert_eq!(answer(&feed(&mut ex, c, T0 + SEC, &f)), (507, 19));
}

/// CME may end an established session with Terminate at any time (soak fault): the gateway
/// sends it, unbinds the session and disconnects; the same UUID re-establishes.
#[test]
fn terminate_on_demand_ends_the_connection_and_frees_the_session() {
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    ex.terminate(c, T0 + SEC, ilinkd::ilink3::TerminateCode::Other);
    assert_eq!(answer(&out(&mut ex, c)), (507, 23));
    let key = ex.registry().key("ABC").unwrap();
    assert!(!ex.registry().is_bound(key));
    let evs = events(&mut ex, c);
    assert!(disconnected(&evs));
    assert!(evs.contains(&GatewayEvent::Terminated {
        session: Some(key),
        code: 23,
        name: "Other",
        by_client: false
    }));
    let c = ex.accept(T0 + 2 * SEC);
    let o = feed(
        &mut ex,
        c,
        T0 + 2 * SEC,
        &establish(logon(T0 + 2 * SEC, 100)),
    );
    assert_eq!(templates(&o), vec![504]);
}

#[test]
fn client_terminate_is_answered_and_frees_the_session() {
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    let t = frame(|b| {
        let mut w = TerminateWriter::new(b).unwrap();
        w.set_uuid(100).set_error_codes(0);
        w.finish()
    });
    assert_eq!(answer(&feed(&mut ex, c, T0 + SEC, &t)), (507, 0));
    let key = ex.registry().key("ABC").unwrap();
    assert!(!ex.registry().is_bound(key));
    let evs = events(&mut ex, c);
    assert!(evs.contains(&GatewayEvent::Terminated {
        session: Some(key),
        code: 0,
        name: "Finished",
        by_client: true
    }));
    // Mid-week re-establish of the same UUID on a new connection.
    let c = ex.accept(T0 + 2 * SEC);
    let o = feed(
        &mut ex,
        c,
        T0 + 2 * SEC,
        &establish(logon(T0 + 2 * SEC, 100)),
    );
    assert_eq!(templates(&o), vec![504]);
}

#[test]
fn keepalive_sequence_then_lapse_then_terminate_20() {
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    let est = T0 + MS;
    assert_eq!(ex.next_deadline(c), Some(est + KA));
    // Client keeps sending; the gateway sent nothing for one interval: plain Sequence.
    ex.handle_input(c, est + KA - MS, &sequence(100, 1));
    ex.handle_timeout(c, est + KA);
    let o = out(&mut ex, c);
    let Message::Sequence(s) = decode(&o[0]).unwrap() else {
        panic!()
    };
    assert_eq!((s.keep_alive_interval_lapsed(), s.next_seq_no()), (0, 1));
    // Silence from the client for one interval: lapsed Sequence; for two: Terminate 20.
    let last_rx = est + KA - MS;
    ex.handle_timeout(c, last_rx + KA);
    let o = out(&mut ex, c);
    let Message::Sequence(s) = decode(&o[0]).unwrap() else {
        panic!()
    };
    assert_eq!(s.keep_alive_interval_lapsed(), 1);
    assert_eq!(ex.next_deadline(c), Some(last_rx + 2 * KA));
    ex.handle_timeout(c, last_rx + 2 * KA);
    assert_eq!(answer(&out(&mut ex, c)), (507, 20));
    let evs = events(&mut ex, c);
    assert!(evs
        .iter()
        .any(|e| matches!(e, GatewayEvent::KeepAliveLapsed { .. })));
    assert!(disconnected(&evs));
    // A lapsed Sequence from the client is answered at once.
    let c = logged_on(&mut ex, T0 + 100 * SEC, 200);
    let f = frame(|b| {
        let mut w = SequenceWriter::new(b).unwrap();
        w.set_uuid(200)
            .set_next_seq_no(1)
            .set_keep_alive_interval_lapsed(1);
        w.finish()
    });
    let o = feed(&mut ex, c, T0 + 101 * SEC, &f);
    assert_eq!(templates(&o), vec![506]);
}

#[test]
fn retransmit_requests_are_served_or_rejected_with_their_codes() {
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    let px = 100 * SEC as i64;
    for seq in 1..=5 {
        feed(&mut ex, c, T0 + SEC, &order(seq, "A", 1, px, 1));
    }
    let now = T0 + 2 * SEC;
    let cases = [
        (retransmit_request(now, 100, None, 1, 2501), 2),
        (retransmit_request(now, 100, None, 0, 1), 5),
        (retransmit_request(now, 100, None, 4, 3), 0),
        (retransmit_request(now, 100, None, 1, 0), 0),
        (retransmit_request(now, 99, None, 1, 1), 1),
        (retransmit_request(now, 100, Some(42), 1, 1), 1),
        (retransmit_request(now - 6 * SEC, 100, None, 1, 1), 4),
    ];
    for (f, code) in cases {
        assert_eq!(answer(&feed(&mut ex, c, now, &f)), (510, code));
    }
    // Two requests in one read: the second is refused while the first is served.
    let mut two = retransmit_request(now, 100, None, 2, 3);
    two.extend_from_slice(&retransmit_request(now, 100, None, 1, 1));
    let o = feed(&mut ex, c, now, &two);
    assert_eq!(templates(&o), vec![509, 510, 522, 522, 522]);
    let Message::RetransmitReject(r) = decode(&o[1]).unwrap() else {
        panic!()
    };
    assert_eq!(r.error_codes(), 3);
    let Message::Retransmission(r) = decode(&o[0]).unwrap() else {
        panic!()
    };
    assert_eq!((r.uuid(), r.from_seq_no(), r.msg_count()), (100, 2, 3));
    for (i, f) in o[2..].iter().enumerate() {
        let Message::ExecutionReportNew(m) = decode(f).unwrap() else {
            panic!()
        };
        assert_eq!((m.seq_num(), m.poss_retrans_flag()), (2 + i as u32, 1));
        // Identical to the journaled original apart from the flag.
        let key = ex.registry().key("ABC").unwrap();
        let orig = ex.registry().journaled(key, 100, m.seq_num()).unwrap();
        let diff: Vec<usize> = (0..f.len()).filter(|&k| f[k] != orig[k]).collect();
        assert_eq!(diff.len(), 1);
    }
    // The connection is still up and serves the next request.
    let o = feed(&mut ex, c, now, &retransmit_request(now, 100, None, 1, 1));
    assert_eq!(templates(&o), vec![509, 522]);
}

#[test]
fn state_survives_a_gateway_restart() {
    let dir = tempfile::tempdir().unwrap();
    let px = 100 * SEC as i64;
    {
        let reg = SessionRegistry::open(gateway_config(), dir.path(), FsyncPolicy::Never).unwrap();
        let mut ex = exchange_with(reg);
        let c = logged_on(&mut ex, T0, 100);
        for seq in 1..=3 {
            feed(&mut ex, c, T0 + SEC, &order(seq, "A", 1, px, 1));
        }
        // A new UUID then one more message on it.
        ex.close(c);
        let c = ex.accept(T0 + 2 * SEC);
        feed(
            &mut ex,
            c,
            T0 + 2 * SEC,
            &negotiate(logon(T0 + 2 * SEC, 200)),
        );
        feed(
            &mut ex,
            c,
            T0 + 2 * SEC,
            &establish(logon(T0 + 2 * SEC, 200)),
        );
        feed(&mut ex, c, T0 + 2 * SEC, &order(1, "B", 1, px, 1));
        assert!(ex.registry().store_error().is_none());
    }
    let reg = SessionRegistry::open(gateway_config(), dir.path(), FsyncPolicy::Never).unwrap();
    let key = reg.key("ABC").unwrap();
    let s = reg.sequences(key).unwrap();
    assert_eq!(
        (s.uuid, s.previous_uuid, s.next_inbound, s.next_outbound),
        (200, 100, 2, 2)
    );
    assert_eq!(s.previous_last_outbound, 3);
    assert!(s.established_once);
    let mut ex = exchange_with(reg);
    let now = T0 + 3 * SEC;
    let c = ex.accept(now);
    // Re-establish mid-week with the stored sequence.
    let l = Logon {
        next_seq: 2,
        ..logon(now, 200)
    };
    let o = feed(&mut ex, c, now, &establish(l));
    let Message::EstablishmentAck(a) = decode(&o[0]).unwrap() else {
        panic!("expected 504, got {:?}", templates(&o))
    };
    assert_eq!(a.next_seq_no(), 2);
    // The previous UUID's messages are still served (LastUUID).
    let o = feed(
        &mut ex,
        c,
        now,
        &retransmit_request(now, 200, Some(100), 1, 3),
    );
    assert_eq!(templates(&o), vec![509, 522, 522, 522]);
    let Message::ExecutionReportNew(m) = decode(&o[3]).unwrap() else {
        panic!()
    };
    assert_eq!((m.uuid(), m.seq_num(), m.poss_retrans_flag()), (100, 3, 1));
    // A reused UUID is still refused after the restart.
    ex.close(c);
    let c = ex.accept(now);
    assert_eq!(
        answer(&feed(&mut ex, c, now, &negotiate(logon(now, 150)))),
        (507, 13)
    );
}

#[test]
fn reject_signatures_fault_rejects_a_valid_logon() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    ex.connection_mut(c).unwrap().faults_mut().reject_signatures = true;
    assert_eq!(
        answer(&feed(&mut ex, c, T0, &negotiate(logon(T0, 100)))),
        (502, 0)
    );
}

#[test]
fn input_split_at_every_byte_is_reassembled() {
    let mut ex = exchange();
    let c = ex.accept(T0);
    let mut bytes = negotiate(logon(T0, 100));
    bytes.extend_from_slice(&establish(logon(T0, 100)));
    bytes.extend_from_slice(&order(1, "A", 1, 100 * SEC as i64, 1));
    for b in &bytes {
        ex.handle_input(c, T0, std::slice::from_ref(b));
    }
    assert_eq!(templates(&out(&mut ex, c)), vec![501, 504, 522]);
}

// ---- client FixpSession ⇄ Exchange ---------------------------------------------------------------

fn client_config(session: &str, firm: &str) -> SessionConfig {
    SessionConfig {
        session_id: session.into(),
        firm_id: firm.into(),
        trading_system_name: "ilinkd".into(),
        trading_system_version: "0.1.0".into(),
        trading_system_vendor: "ACME".into(),
        keepalive_ms: KA_MS,
        not_applied: NotAppliedPolicy::GapFill,
    }
}

struct Client {
    s: FixpSession,
    conn: ConnId,
    events: Vec<FixpEvent>,
    /// `(seq, template, retransmitted)` of delivered business messages.
    delivered: Vec<(u32, u16, bool)>,
    /// Frames of delivered business messages.
    frames: Vec<Vec<u8>>,
    /// Drop what the client sends (it "went silent" or the packets were lost).
    mute: bool,
}

/// The client's clocks at fake time `t` (monotonic and wall read the same here).
fn at(t: u64) -> Now {
    Now {
        mono: Nanos(t),
        wall: WallNanos(t),
    }
}

struct Harness {
    ex: Exchange,
    clients: Vec<Client>,
    now: u64,
    gw_events: Vec<GatewayEvent>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            ex: exchange(),
            clients: Vec::new(),
            now: T0,
            gw_events: Vec::new(),
        }
    }

    fn add(&mut self, session: &str, firm: &str, key_id: &str, key: &[u8]) -> usize {
        let creds = Credentials {
            access_key_id: key_id.into(),
            signer: HmacSigner::new(key),
        };
        let s = FixpSession::new(
            client_config(session, firm),
            creds,
            SessionSeqState::default(),
        );
        let conn = self.ex.accept(self.now);
        self.clients.push(Client {
            s,
            conn,
            events: Vec::new(),
            delivered: Vec::new(),
            frames: Vec::new(),
            mute: false,
        });
        self.clients.len() - 1
    }

    fn connect(&mut self, i: usize) {
        let now = self.now;
        self.clients[i]
            .s
            .connect(at(now), ConnectMode::Auto)
            .unwrap();
        if let Some(uuid) = self.clients[i].s.pending_uuid() {
            self.clients[i]
                .s
                .uuid_persisted(at(now), uuid, true)
                .unwrap();
        }
        self.pump();
        assert_eq!(self.clients[i].s.state(), FixpState::Established);
    }

    /// Moves bytes both ways until nothing moves.
    fn pump(&mut self) {
        let now = self.now;
        loop {
            let mut moved = false;
            for c in &mut self.clients {
                if let Some(b) = c.s.poll_transmit() {
                    let b = b.to_vec();
                    if !c.mute {
                        self.ex.handle_input(c.conn, now, &b);
                    }
                    moved = true;
                }
            }
            for c in &mut self.clients {
                if let Some(b) = self.ex.poll_transmit(c.conn) {
                    let b = b.to_vec();
                    c.s.handle_input(at(now), &b);
                    moved = true;
                }
                while let Some(e) = c.s.poll_event() {
                    if let FixpEvent::Business(b) = e {
                        c.delivered.push((b.seq, b.template_id, b.retransmitted));
                        c.frames.push(c.s.business_frame(&b).to_vec());
                    }
                    c.events.push(e);
                }
                while let Some(e) = self.ex.poll_event(c.conn) {
                    self.gw_events.push(e);
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Advances the clock to `until`, firing every timer on the way (muted clients' timers
    /// do not run: they are silent).
    fn advance(&mut self, until: u64) {
        loop {
            let mut next = until;
            for c in &self.clients {
                if !c.mute {
                    if let Some(d) = c.s.next_deadline().map(|d| d.0) {
                        next = next.min(d);
                    }
                }
                if let Some(d) = self.ex.next_deadline(c.conn) {
                    next = next.min(d);
                }
            }
            self.now = next.max(self.now);
            let now = self.now;
            // What a side sends when its timer fires reaches the other side at the same
            // instant, before the other side's timers run.
            for c in &mut self.clients {
                if !c.mute && c.s.next_deadline().map(|d| d.0).is_some_and(|d| d <= now) {
                    c.s.handle_timeout(at(now));
                }
            }
            self.pump();
            for c in &mut self.clients {
                if self.ex.next_deadline(c.conn).is_some_and(|d| d <= now) {
                    self.ex.handle_timeout(c.conn, now);
                }
            }
            self.pump();
            if now >= until {
                break;
            }
        }
    }

    fn send_order(&mut self, i: usize, cl: &str, side: u8, price: i64, qty: u32) -> u32 {
        let now = self.now;
        self.clients[i]
            .s
            .send_business(at(now), |seq, _uuid, buf| {
                let mut w = NewOrderSingleWriter::new(buf)?;
                w.set_cl_ord_id(cl)?;
                w.set_seq_num(seq)
                    .set_price(Some(price))
                    .set_order_qty(qty)
                    .set_security_id(ES)
                    .set_side(side)
                    .set_ord_type(b'2')
                    .set_order_request_id(u64::from(seq) + 1000);
                Ok(w.finish())
            })
            .unwrap()
    }
}

fn px(p: i64) -> i64 {
    p * SEC as i64
}

#[test]
fn client_and_gateway_negotiate_establish_trade_and_fill_across_sessions() {
    let mut h = Harness::new();
    let a = h.add("ABC", "007", KEY_ID, KEY);
    let b = h.add("XYZ", "008", KEY_ID2, KEY2);
    h.connect(a);
    h.connect(b);
    assert!(matches!(
        h.clients[a].events[..],
        [
            FixpEvent::NewUuid { .. },
            FixpEvent::Negotiated { .. },
            FixpEvent::Established {
                next_inbound_seq: 1,
                ..
            }
        ]
    ));
    h.now += MS;
    h.send_order(a, "SELL-1", 2, px(100), 5);
    h.pump();
    h.now += MS;
    h.send_order(b, "BUY-1", 1, px(101), 3);
    h.pump();
    // A: ack (1), then the passive fill (2). B: ack (1), aggressive fill (2).
    assert_eq!(
        h.clients[a].delivered,
        vec![(1, 522, false), (2, 525, false)]
    );
    assert_eq!(
        h.clients[b].delivered,
        vec![(1, 522, false), (2, 525, false)]
    );
    let Message::ExecutionReportTradeOutright(fa) = decode(&h.clients[a].frames[1]).unwrap() else {
        panic!()
    };
    let Message::ExecutionReportTradeOutright(fb) = decode(&h.clients[b].frames[1]).unwrap() else {
        panic!()
    };
    assert_eq!(fa.cl_ord_id().as_bytes(), b"SELL-1");
    assert_eq!(fb.cl_ord_id().as_bytes(), b"BUY-1");
    assert_eq!(
        (fa.last_px(), fa.last_qty(), fa.leaves_qty()),
        (px(100), 3, 2)
    );
    assert_eq!(
        (fb.last_px(), fb.last_qty(), fb.leaves_qty()),
        (px(100), 3, 0)
    );
    assert_eq!((fa.aggressor_indicator(), fb.aggressor_indicator()), (0, 1));
    assert_eq!(fa.sec_exec_id(), fb.sec_exec_id());
    assert_eq!(fb.order_request_id(), 1001);
    // Each report carries its own session's UUID.
    let ua = h.clients[a].s.stored_state().uuid;
    let ub = h.clients[b].s.stored_state().uuid;
    assert_eq!((fa.uuid(), fb.uuid()), (ua, ub));
    let key_a = SessionKey(0);
    assert!(h.gw_events.contains(&GatewayEvent::BusinessReceived {
        session: key_a,
        seq: 1,
        template_id: 514
    }));
}

#[test]
fn client_recovers_skipped_gateway_messages_by_retransmission() {
    let mut h = Harness::new();
    let a = h.add("ABC", "007", KEY_ID, KEY);
    h.connect(a);
    let conn = h.clients[a].conn;
    h.ex.connection_mut(conn)
        .unwrap()
        .faults_mut()
        .skip_outbound = Some(SkipOutbound { after: 1, count: 2 });
    for i in 0..4 {
        h.now += MS;
        h.send_order(a, &format!("C{i}"), 1, px(90 + i), 1);
        h.pump();
    }
    // Acks 2 and 3 were skipped on the wire: the client asked for them and got them, in order.
    assert_eq!(
        h.clients[a].delivered,
        vec![
            (1, 522, false),
            (2, 522, true),
            (3, 522, true),
            (4, 522, false)
        ]
    );
    assert!(h.clients[a].events.iter().any(|e| matches!(
        e,
        FixpEvent::RetransmitRequested {
            from_seq: 2,
            count: 2,
            last_uuid: None,
            ..
        }
    )));
    assert!(h.gw_events.iter().any(|e| matches!(
        e,
        GatewayEvent::RetransmitServed {
            from_seq: 2,
            count: 2,
            ..
        }
    )));
    let Message::ExecutionReportNew(m) = decode(&h.clients[a].frames[2]).unwrap() else {
        panic!()
    };
    assert_eq!(m.cl_ord_id().as_bytes(), b"C2");
}

#[test]
fn client_skipping_a_sequence_gets_not_applied_and_gap_fills() {
    let mut h = Harness::new();
    let a = h.add("ABC", "007", KEY_ID, KEY);
    h.connect(a);
    h.send_order(a, "A", 1, px(90), 1);
    h.pump();
    // Order 2 is lost on the way.
    h.clients[a].mute = true;
    h.send_order(a, "B", 1, px(90), 1);
    h.pump();
    h.clients[a].mute = false;
    h.send_order(a, "C", 1, px(90), 1);
    h.pump();
    assert!(h.gw_events.contains(&GatewayEvent::NotAppliedSent {
        session: SessionKey(0),
        from_seq: 2,
        count: 1
    }));
    assert!(h.clients[a].events.contains(&FixpEvent::NotApplied {
        from_seq: 2,
        count: 1,
        action: NotAppliedAction::GapFilled
    }));
    // Order 3 was still accepted; the gap-fill Sequence kept the session consistent.
    assert_eq!(
        h.clients[a].delivered,
        vec![(1, 522, false), (2, 522, false)]
    );
    let Message::ExecutionReportNew(m) = decode(&h.clients[a].frames[1]).unwrap() else {
        panic!()
    };
    assert_eq!(m.cl_ord_id().as_bytes(), b"C");
    assert_eq!(
        h.ex.registry()
            .sequences(SessionKey(0))
            .unwrap()
            .next_inbound,
        4
    );
    h.send_order(a, "D", 1, px(90), 1);
    h.pump();
    assert_eq!(h.clients[a].delivered.len(), 3);
    assert_eq!(h.clients[a].s.state(), FixpState::Established);
}

#[test]
fn silent_client_lapses_to_terminate_20() {
    let mut h = Harness::new();
    let a = h.add("ABC", "007", KEY_ID, KEY);
    h.connect(a);
    let start = h.now;
    // Both sides keep each other alive for a while.
    h.advance(start + 3 * KA);
    assert_eq!(h.clients[a].s.state(), FixpState::Established);
    assert!(!h
        .gw_events
        .iter()
        .any(|e| matches!(e, GatewayEvent::Terminated { .. })));
    assert!(!h
        .gw_events
        .iter()
        .any(|e| matches!(e, GatewayEvent::KeepAliveLapsed { .. })));
    // The client goes silent.
    h.clients[a].mute = true;
    let silent_from = h.now;
    h.advance(silent_from + 3 * KA);
    let gw: Vec<&GatewayEvent> = h
        .gw_events
        .iter()
        .filter(|e| {
            matches!(
                e,
                GatewayEvent::KeepAliveLapsed { .. } | GatewayEvent::Terminated { .. }
            )
        })
        .collect();
    assert!(matches!(
        gw[..],
        [
            GatewayEvent::KeepAliveLapsed { .. },
            GatewayEvent::Terminated {
                code: 20,
                by_client: false,
                ..
            }
        ]
    ));
    // The client heard the Terminate.
    assert!(h.clients[a].events.iter().any(|e| matches!(
        e,
        FixpEvent::Terminated {
            code: 20,
            by_exchange: true,
            ..
        }
    )));
}

#[test]
fn client_reconnects_and_recovers_reports_sent_while_it_was_away() {
    let mut h = Harness::new();
    let a = h.add("ABC", "007", KEY_ID, KEY);
    let b = h.add("XYZ", "008", KEY_ID2, KEY2);
    h.connect(a);
    h.connect(b);
    h.send_order(a, "REST", 2, px(100), 2);
    h.pump();
    // A's connection drops; B trades against A's order meanwhile.
    let old = h.clients[a].conn;
    h.ex.close(old);
    h.clients[a].s.on_disconnected();
    h.now += SEC;
    h.send_order(b, "HIT", 1, px(100), 2);
    h.pump();
    assert_eq!(h.clients[a].delivered, vec![(1, 522, false)]);
    // A reconnects mid-week: Establish only, then the fill is retransmitted.
    h.clients[a].conn = h.ex.accept(h.now);
    h.connect(a);
    assert_eq!(
        h.clients[a].delivered,
        vec![(1, 522, false), (2, 525, true)]
    );
}

// ---- faults, retention, robustness ----------------------------------------------------------

#[test]
fn duplicate_fault_sends_a_poss_retrans_copy_the_client_ignores() {
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    ex.connection_mut(c)
        .unwrap()
        .faults_mut()
        .duplicate_poss_retrans = true;
    let o = feed(&mut ex, c, T0 + SEC, &order(1, "A", 1, 100 * SEC as i64, 1));
    let flags: Vec<(u32, u8)> = o
        .iter()
        .map(|f| match decode(f).unwrap() {
            Message::ExecutionReportNew(m) => (m.seq_num(), m.poss_retrans_flag()),
            m => panic!("unexpected {}", m.name()),
        })
        .collect();
    assert_eq!(flags, vec![(1, 0), (1, 1)]);

    let mut h = Harness::new();
    let a = h.add("ABC", "007", KEY_ID, KEY);
    h.connect(a);
    let conn = h.clients[a].conn;
    h.ex.connection_mut(conn)
        .unwrap()
        .faults_mut()
        .duplicate_poss_retrans = true;
    h.send_order(a, "A", 1, px(90), 1);
    h.send_order(a, "B", 1, px(90), 1);
    h.pump();
    assert_eq!(
        h.clients[a].delivered,
        vec![(1, 522, false), (2, 522, false)]
    );
    assert_eq!(h.clients[a].s.state(), FixpState::Established);
}

#[test]
fn silent_and_disconnect_faults() {
    let mut ex = exchange();
    let c = logged_on(&mut ex, T0, 100);
    ex.connection_mut(c).unwrap().faults_mut().silent = true;
    assert!(feed(&mut ex, c, T0 + SEC, &order(1, "A", 1, 100 * SEC as i64, 1)).is_empty());
    // The ack is journaled all the same: a retransmission after the fault is lifted gets it.
    ex.connection_mut(c).unwrap().faults_mut().silent = false;
    let now = T0 + 2 * SEC;
    let o = feed(&mut ex, c, now, &retransmit_request(now, 100, None, 1, 1));
    assert_eq!(templates(&o), vec![509, 522]);

    let c = {
        ex.close(c);
        let c = ex.accept(now);
        feed(
            &mut ex,
            c,
            now,
            &establish(Logon {
                next_seq: 2,
                ..logon(now, 100)
            }),
        );
        events(&mut ex, c);
        c
    };
    ex.connection_mut(c)
        .unwrap()
        .faults_mut()
        .disconnect_after_inbound = Some(2);
    feed(&mut ex, c, now, &order(2, "B", 1, 100 * SEC as i64, 1));
    assert!(!disconnected(&events(&mut ex, c)));
    let o = feed(&mut ex, c, now, &order(3, "C", 1, 100 * SEC as i64, 1));
    assert_eq!(templates(&o), vec![522], "dropped without a Terminate");
    assert!(disconnected(&events(&mut ex, c)));
    assert!(!ex.registry().is_bound(SessionKey(0)));
}

#[test]
fn injected_not_applied_is_answered_by_the_client_with_a_gap_fill() {
    let mut h = Harness::new();
    let a = h.add("ABC", "007", KEY_ID, KEY);
    h.connect(a);
    h.send_order(a, "A", 1, px(90), 1);
    h.pump();
    let conn = h.clients[a].conn;
    h.ex.inject_not_applied(conn, 1, 1);
    h.pump();
    assert!(h.clients[a].events.contains(&FixpEvent::NotApplied {
        from_seq: 1,
        count: 1,
        action: NotAppliedAction::GapFilled
    }));
    assert_eq!(h.clients[a].s.state(), FixpState::Established);
}

#[test]
fn messages_aged_out_of_the_journal_are_out_of_range() {
    let mut cfg = gateway_config();
    cfg.journal_retention = 4;
    let mut ex = exchange_with(SessionRegistry::new(cfg));
    let c = logged_on(&mut ex, T0, 100);
    for seq in 1..=10 {
        feed(
            &mut ex,
            c,
            T0 + SEC,
            &order(seq, "A", 1, 100 * SEC as i64, 1),
        );
    }
    let now = T0 + 2 * SEC;
    let o = feed(&mut ex, c, now, &retransmit_request(now, 100, None, 1, 2));
    assert_eq!(answer(&o), (510, 0));
    let o = feed(&mut ex, c, now, &retransmit_request(now, 100, None, 9, 2));
    assert_eq!(templates(&o), vec![509, 522, 522]);
}

#[test]
fn large_retransmissions_are_paced_over_several_polls() {
    let mut cfg = gateway_config();
    cfg.replay_bytes_per_poll = 1000;
    let mut ex = exchange_with(SessionRegistry::new(cfg));
    let c = logged_on(&mut ex, T0, 100);
    for seq in 1..=10 {
        feed(
            &mut ex,
            c,
            T0 + SEC,
            &order(seq, "A", 1, 100 * SEC as i64, 1),
        );
    }
    let now = T0 + 2 * SEC;
    let first = feed(&mut ex, c, now, &retransmit_request(now, 100, None, 1, 10));
    assert!(
        first.len() < 11,
        "not paced: {} frames at once",
        first.len()
    );
    // A second request while the first is being served: 3.
    let o = feed(&mut ex, c, now, &retransmit_request(now, 100, None, 1, 1));
    assert_eq!(templates(&o)[0], 510);
    let mut all = first;
    all.extend(o.into_iter().skip(1));
    loop {
        let more = out(&mut ex, c);
        if more.is_empty() {
            break;
        }
        all.extend(more);
    }
    let seqs: Vec<u32> = all
        .iter()
        .filter_map(|f| match decode(f).unwrap() {
            Message::ExecutionReportNew(m) => Some(m.seq_num()),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<u32>>());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_input_never_panics(chunks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
            let mut ex = exchange();
            let c = logged_on(&mut ex, T0, 100);
            let mut now = T0 + SEC;
            for ch in &chunks {
                ex.handle_input(c, now, ch);
                let _ = out(&mut ex, c);
                let _ = events(&mut ex, c);
                now += MS;
                ex.handle_timeout(c, now);
            }
        }

        #[test]
        fn arbitrary_input_before_logon_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut ex = exchange();
            let c = ex.accept(T0);
            ex.handle_input(c, T0, &bytes);
            let _ = out(&mut ex, c);
        }
    }
}

// ---- messaging controls (CERTIFICATION.md 5.1, 5.4) ------------------------------------------

fn cancel(seq: u32, order_id: u64) -> Vec<u8> {
    frame(|b| {
        let mut w = ilinkd::ilink3::OrderCancelRequestWriter::new(b).unwrap();
        w.set_cl_ord_id("X").unwrap();
        w.set_seq_num(seq)
            .set_order_id(Some(order_id))
            .set_security_id(ES)
            .set_side(1)
            .set_order_request_id(u64::from(seq));
        w.finish()
    })
}

#[test]
fn messaging_controls_reject_cancels_then_terminate_9_and_cancel_on_disconnect_378_100() {
    let mut ex = exchange();
    // CME's thresholds are 1000 / 1500 per second; smaller ones keep the test short.
    ex.set_messaging_controls(ilinkd::sim::MessagingControls {
        reject_per_s: 5,
        logout_per_s: 8,
    });
    let uuid = T0 / 1000;
    let c = logged_on(&mut ex, T0, uuid);
    let now = T0 + 2 * MS;
    for seq in 1..=3 {
        let o = feed(&mut ex, c, now, &order(seq, "R", 1, 100 * TICK, 1));
        assert_eq!(templates(&o), vec![522]);
    }
    let mut seen = Vec::new();
    for seq in 4..=11 {
        seen.extend(templates(&feed(&mut ex, c, now, &cancel(seq, 999_999))));
    }
    // 5 cancels pass (unknown order: 535), 3 more are throttled with BusinessReject 521.
    assert_eq!(seen, vec![535, 535, 535, 535, 535, 521, 521, 521]);
    let o = feed(&mut ex, c, now, &cancel(12, 999_999));
    let Message::Terminate(t) = decode(o.last().unwrap()).unwrap() else {
        panic!("expected Terminate, got {:?}", templates(&o))
    };
    assert_eq!(t.error_codes(), 9);
    // Cancel on Disconnect: every resting order of the session, ExecRestatementReason 100.
    assert_eq!(ex.engine().live_orders(), 0);
    let key = ex.registry().key("ABC").unwrap();
    let next = ex.registry().sequences(key).unwrap().next_outbound;
    let cods: Vec<u8> = (1..next)
        .filter_map(|s| ex.registry().journaled(key, uuid, s))
        .filter_map(|f| match decode(f).ok()? {
            Message::ExecutionReportCancel(m) => m.exec_restatement_reason(),
            _ => None,
        })
        .collect();
    assert_eq!(cods, vec![100, 100, 100]);
    // A new second starts a new count (after reconnecting).
    let c = logged_on(&mut ex, T0 + 3 * SEC, uuid + 1);
    let o = feed(&mut ex, c, T0 + 3 * SEC + 2 * MS, &cancel(1, 999_999));
    assert_eq!(templates(&o), vec![535]);
}

// ---- primary/backup gateways, Cancel on Behalf ---------------------------------------------

fn fault_tolerance(f: &[u8]) -> Option<u8> {
    match decode(f).unwrap() {
        Message::NegotiationResponse(m) => m.fault_tolerance_indicator(),
        Message::NegotiationReject(m) => m.fault_tolerance_indicator(),
        Message::EstablishmentAck(m) => m.fault_tolerance_indicator(),
        Message::EstablishmentReject(m) => m.fault_tolerance_indicator(),
        m => panic!("no FaultToleranceIndicator on {}", m.name()),
    }
}

/// AutoCert+ "Primary Gateway Connection Enforcement Test" and "MSGW Failover from Primary to
/// Backup Components (Binding without Initialization)".
#[test]
fn primary_gateway_connection_enforcement_backup_refuses_with_27_until_fail_over() {
    let mut ex = exchange();
    let uuid = T0 / 1000;
    let c = logged_on(&mut ex, T0, uuid);
    // The designated backup refuses Negotiate and Establish (27 DesignatedBackup, FTI 0),
    // and its refusals are not bad logons: five in a row do not close the port.
    for i in 0..5 {
        let now = T0 + (i + 1) * SEC;
        let b = ex.accept_backup(now);
        let o = feed(&mut ex, b, now, &establish(logon(now, uuid)));
        assert_eq!(answer(&o), (505, 27));
        assert_eq!(fault_tolerance(&o[0]), Some(0));
        assert!(disconnected(&events(&mut ex, b)));
    }
    let now = T0 + 6 * SEC;
    let b = ex.accept_backup(now);
    let o = feed(&mut ex, b, now, &negotiate(logon(now, uuid + 1)));
    assert_eq!(answer(&o), (502, 27));
    // A connection already open to the backup when the primary is lost.
    let waiting = ex.accept_backup(now);
    // Fail-over: the primary's connection drops; the backup is promoted.
    assert_eq!(ex.fail_over(), vec![c]);
    assert!(ex.failed_over());
    assert!(ex.connection(c).is_none());
    // Binding without initialization: the same UUID is established on the new primary.
    let now = T0 + 8 * SEC;
    let o = feed(&mut ex, waiting, now, &establish(logon(now, uuid)));
    assert_eq!(templates(&o), vec![504]);
    assert_eq!(fault_tolerance(&o[0]), Some(1));
    // The old primary, back as the backup, refuses.
    let old = ex.accept_backup(now);
    let o = feed(&mut ex, old, now, &negotiate(logon(now, uuid + 2)));
    assert_eq!(answer(&o), (502, 27));
}

fn cancel_frame(seq: u32, order_id: u64, orig_order_user: &str) -> Vec<u8> {
    frame(|b| {
        let mut w = ilinkd::ilink3::OrderCancelRequestWriter::new(b).unwrap();
        w.set_cl_ord_id("C1")
            .unwrap()
            .set_orig_order_user(orig_order_user)
            .unwrap();
        w.set_seq_num(seq)
            .set_order_id(Some(order_id))
            .set_security_id(ES)
            .set_side(1)
            .set_order_request_id(9);
        w.finish()
    })
}

/// AutoCert+ "Cancel on Behalf (COB) using Order Cancel Request": both sessions receive the
/// cancel, carrying OrigOrderUser (the original session) and CancelText (the on-behalf one);
/// a session of another firm cannot cancel on behalf.
#[test]
fn cancel_on_behalf_reaches_both_sessions_of_the_firm_and_no_other_firm() {
    let mut ex = exchange();
    let abc = logged_on(&mut ex, T0, T0 / 1000);
    let now = T0 + 2 * MS;
    let def = ex.accept(now);
    let mut l = logon(now, T0 / 1000 + 1);
    l.session = "DEF";
    assert_eq!(
        templates(&feed(&mut ex, def, now, &negotiate(l))),
        vec![501]
    );
    assert_eq!(
        templates(&feed(&mut ex, def, now, &establish(l))),
        vec![504]
    );
    let now = T0 + 3 * MS;
    let xyz = ex.accept(now);
    let mut l = logon(now, T0 / 1000 + 2);
    (l.session, l.firm, l.key_id, l.key) = ("XYZ", "008", KEY_ID2, KEY2);
    assert_eq!(
        templates(&feed(&mut ex, xyz, now, &negotiate(l))),
        vec![501]
    );
    assert_eq!(
        templates(&feed(&mut ex, xyz, now, &establish(l))),
        vec![504]
    );
    let o = feed(&mut ex, abc, now, &order(1, "C1", 1, 4500 * TICK, 1));
    let Message::ExecutionReportNew(ack) = decode(&o[0]).unwrap() else {
        panic!("no ack: {:?}", templates(&o));
    };
    let id = ack.order_id();
    // Another firm's session naming ABC: refused as an unknown order, to XYZ only.
    let o = feed(&mut ex, xyz, now, &cancel_frame(1, id, "ABC007"));
    assert_eq!(templates(&o), vec![535]);
    assert!(out(&mut ex, abc).is_empty());
    // DEF (same firm) cancels ABC's order on its behalf.
    let o = feed(&mut ex, def, now, &cancel_frame(1, id, "ABC007"));
    assert_eq!(templates(&o), vec![534]);
    let Message::ExecutionReportCancel(c) = decode(&o[0]).unwrap() else {
        unreachable!()
    };
    assert_eq!(c.orig_order_user().as_bytes(), b"ABC007");
    assert_eq!(c.cancel_text().as_bytes(), b"DEF007");
    assert_eq!(c.order_id(), id);
    let o = out(&mut ex, abc);
    assert_eq!(templates(&o), vec![534]);
    let Message::ExecutionReportCancel(c) = decode(&o[0]).unwrap() else {
        unreachable!()
    };
    assert_eq!(c.orig_order_user().as_bytes(), b"ABC007");
    assert_eq!(ex.engine().live_orders(), 0);
}
