//! FIXP session scenarios, driven with a fake clock and hand-built exchange frames.

use super::*;
use crate::auth::Canonical as _;
use crate::ilink3::{
    decode, EstablishmentAckWriter, EstablishmentRejectWriter, ExecutionReportEliminationWriter,
    ExecutionReportNewWriter, ExecutionReportStatusWriter,
    ExecutionReportTradeAddendumOutrightWriter, Frames, Message, NegotiationRejectWriter,
    NegotiationResponseWriter, NewOrderSingleWriter, NotAppliedWriter,
    PartyDetailsDefinitionRequestAckWriter, RetransmissionWriter, RetransmitRejectWriter,
    SequenceWriter, TerminateWriter,
};
use proptest::prelude::*;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const KEY_ID: &str = "AKIDAAAAAAAAAAAAAAA1";
const KA_MS: u16 = 5000;
const KA: u64 = KA_MS as u64 * 1_000_000;
const MS: u64 = 1_000_000;
/// Wednesday 2026-11-18 14:00:00 UTC.
const T0: u64 = 1_795_010_400_000_000_000;

/// The fake clock: both clocks read `t` (tests that step the wall clock build [`Now`] by hand).
fn at(t: u64) -> Now {
    Now {
        mono: Nanos(t),
        wall: crate::types::WallNanos(t),
    }
}

/// The runtime's part of a new UUID: the store wrote it, the Negotiate may leave.
fn persist(s: &mut FixpSession, now: Now) {
    if let Some(uuid) = s.pending_uuid() {
        s.uuid_persisted(now, uuid, true).unwrap();
    }
}

fn cfg() -> SessionConfig {
    SessionConfig {
        session_id: "ABC".into(),
        firm_id: "007".into(),
        trading_system_name: "ilinkd".into(),
        trading_system_version: "0.1.0".into(),
        trading_system_vendor: "ACME".into(),
        keepalive_ms: KA_MS,
        not_applied: NotAppliedPolicy::GapFill,
    }
}

fn creds() -> Credentials {
    Credentials {
        access_key_id: KEY_ID.into(),
        signer: HmacSigner::new(KEY),
    }
}

fn session(stored: SessionSeqState) -> FixpSession {
    FixpSession::new(cfg(), creds(), stored)
}

/// Everything the session sent, as owned frames.
fn sent(s: &mut FixpSession) -> Vec<Vec<u8>> {
    let Some(bytes) = s.poll_transmit() else {
        return Vec::new();
    };
    let bytes = bytes.to_vec();
    Frames::new(&bytes)
        .map(|f| f.expect("session sent a malformed frame").to_vec())
        .collect()
}

fn template(frame: &[u8]) -> u16 {
    decode(frame).unwrap().template_id()
}

fn events(s: &mut FixpSession) -> Vec<FixpEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn business_seqs(s: &mut FixpSession) -> Vec<u32> {
    events(s)
        .into_iter()
        .filter_map(|e| match e {
            FixpEvent::Business(b) => Some(b.seq),
            _ => None,
        })
        .collect()
}

fn requests(evs: &[FixpEvent]) -> Vec<(u32, u32, Option<u64>)> {
    evs.iter()
        .filter_map(|e| match e {
            FixpEvent::RetransmitRequested {
                from_seq,
                count,
                last_uuid,
                ..
            } => Some((*from_seq, *count, *last_uuid)),
            _ => None,
        })
        .collect()
}

// ---- exchange frames ----------------------------------------------------------------------

fn frame(f: impl FnOnce(&mut [u8]) -> usize) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let n = f(&mut buf);
    buf.truncate(n);
    buf
}

fn negotiation_response(uuid: u64) -> Vec<u8> {
    frame(|b| {
        let mut w = NegotiationResponseWriter::new(b).unwrap();
        w.set_uuid(uuid)
            .set_request_timestamp(T0)
            .set_previous_seq_no(0);
        w.finish()
    })
}

fn establishment_ack(uuid: u64, next_seq: u32, previous_uuid: u64, previous_seq: u32) -> Vec<u8> {
    frame(|b| {
        let mut w = EstablishmentAckWriter::new(b).unwrap();
        w.set_uuid(uuid)
            .set_request_timestamp(T0)
            .set_next_seq_no(next_seq)
            .set_previous_uuid(previous_uuid)
            .set_previous_seq_no(previous_seq)
            .set_keep_alive_interval(KA_MS);
        w.finish()
    })
}

fn negotiation_reject(uuid: u64, code: u16, reason: &str) -> Vec<u8> {
    frame(|b| {
        let mut w = NegotiationRejectWriter::new(b).unwrap();
        w.set_reason(reason).unwrap();
        w.set_uuid(uuid).set_error_codes(code);
        w.finish()
    })
}

fn establishment_reject(uuid: u64, code: u16) -> Vec<u8> {
    frame(|b| {
        let mut w = EstablishmentRejectWriter::new(b).unwrap();
        w.set_uuid(uuid).set_error_codes(code).set_next_seq_no(1);
        w.finish()
    })
}

fn exec_new(uuid: u64, seq: u32, poss_retrans: bool) -> Vec<u8> {
    frame(|b| {
        let mut w = ExecutionReportNewWriter::new(b).unwrap();
        w.set_seq_num(seq)
            .set_uuid(uuid)
            .set_order_id(u64::from(seq) + 1000)
            .set_poss_retrans_flag(u8::from(poss_retrans));
        w.finish()
    })
}

fn sequence(uuid: u64, next: u32, lapsed: bool) -> Vec<u8> {
    frame(|b| {
        let mut w = SequenceWriter::new(b).unwrap();
        w.set_uuid(uuid)
            .set_next_seq_no(next)
            .set_keep_alive_interval_lapsed(u8::from(lapsed));
        w.finish()
    })
}

fn terminate(uuid: u64, code: u16) -> Vec<u8> {
    frame(|b| {
        let mut w = TerminateWriter::new(b).unwrap();
        w.set_uuid(uuid).set_error_codes(code);
        w.finish()
    })
}

fn retransmission(uuid: u64, last_uuid: Option<u64>, from: u32, count: u16) -> Vec<u8> {
    frame(|b| {
        let mut w = RetransmissionWriter::new(b).unwrap();
        w.set_uuid(uuid)
            .set_last_uuid(last_uuid)
            .set_from_seq_no(from)
            .set_msg_count(count);
        w.finish()
    })
}

fn retransmit_reject(uuid: u64, code: u16) -> Vec<u8> {
    frame(|b| {
        let mut w = RetransmitRejectWriter::new(b).unwrap();
        w.set_reason("out of range").unwrap();
        w.set_uuid(uuid).set_error_codes(code);
        w.finish()
    })
}

fn not_applied(uuid: u64, from: u32, count: u32) -> Vec<u8> {
    frame(|b| {
        let mut w = NotAppliedWriter::new(b).unwrap();
        w.set_uuid(uuid).set_from_seq_no(from).set_msg_count(count);
        w.finish()
    })
}

/// Negotiate + Establish from Idle; returns the UUID.
fn establish(s: &mut FixpSession, now: u64) -> u64 {
    s.connect(at(now), ConnectMode::Auto).unwrap();
    persist(s, at(now));
    let out = sent(s);
    let uuid = match decode(&out[0]).unwrap() {
        Message::Negotiate(n) => {
            let uuid = n.uuid();
            s.handle_input(at(now + MS), &negotiation_response(uuid));
            uuid
        }
        Message::Establish(e) => e.uuid(),
        m => panic!("unexpected {}", m.name()),
    };
    let out = sent(s);
    let est = out.last().expect("an Establish");
    assert_eq!(template(est), 503);
    let next_in = s.stored_state().next_inbound_seq;
    s.handle_input(at(now + 2 * MS), &establishment_ack(uuid, next_in, 0, 0));
    assert_eq!(s.state(), FixpState::Established);
    events(s);
    uuid
}

fn send_order(s: &mut FixpSession, now: u64) -> u32 {
    s.send_business(at(now), |seq, _uuid, buf| {
        let mut w = NewOrderSingleWriter::new(buf)?;
        w.set_seq_num(seq).set_order_qty(1).set_security_id(42);
        w.set_cl_ord_id(format!("C{seq}"))?;
        Ok(w.finish())
    })
    .unwrap()
}

// ---- scenarios ----------------------------------------------------------------------------

#[test]
fn happy_path_negotiate_establish_order_and_execution() {
    let mut s = session(SessionSeqState::default());
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    persist(&mut s, at(T0));
    assert_eq!(s.state(), FixpState::Negotiating);
    let evs = events(&mut s);
    let uuid = T0 / 1000;
    assert_eq!(
        evs,
        vec![FixpEvent::NewUuid {
            uuid,
            previous_uuid: 0
        }]
    );
    let out = sent(&mut s);
    assert_eq!(out.len(), 1);
    let Message::Negotiate(n) = decode(&out[0]).unwrap() else {
        panic!("expected Negotiate")
    };
    assert_eq!(n.uuid(), uuid);
    assert_eq!(n.request_timestamp(), T0);
    assert_eq!(n.access_key_id().as_bytes(), KEY_ID.as_bytes());
    assert_eq!(n.session().as_bytes(), b"ABC");
    assert_eq!(n.firm().as_bytes(), b"007");
    let canonical = NegotiateCanonical {
        request_timestamp: T0,
        uuid,
        session: "ABC",
        firm: "007",
    };
    assert!(HmacSigner::new(KEY).verify(&canonical, n.hmac_signature()));

    s.handle_input(at(T0 + MS), &negotiation_response(uuid));
    assert!(matches!(events(&mut s)[..], [FixpEvent::Negotiated { uuid: u, .. }] if u == uuid));
    let out = sent(&mut s);
    let Message::Establish(e) = decode(&out[0]).unwrap() else {
        panic!("expected Establish")
    };
    assert_eq!(
        (e.uuid(), e.next_seq_no(), e.keep_alive_interval()),
        (uuid, 1, KA_MS)
    );
    let canonical = EstablishCanonical {
        request_timestamp: T0 + MS,
        uuid,
        session: "ABC",
        firm: "007",
        trading_system_name: "ilinkd",
        trading_system_version: "0.1.0",
        trading_system_vendor: "ACME",
        next_seq_no: 1,
        keep_alive_interval: KA_MS,
    };
    assert!(HmacSigner::new(KEY).verify(&canonical, e.hmac_signature()));
    assert_eq!(
        canonical.canonical_bytes(),
        format!(
            "{}\n{uuid}\nABC\n007\nilinkd\n0.1.0\nACME\n1\n5000",
            T0 + MS
        )
        .as_bytes()
    );

    s.handle_input(at(T0 + 2 * MS), &establishment_ack(uuid, 1, 0, 0));
    assert_eq!(s.state(), FixpState::Established);
    assert!(matches!(
        events(&mut s)[..],
        [FixpEvent::Established {
            next_inbound_seq: 1,
            ..
        }]
    ));

    assert_eq!(send_order(&mut s, T0 + 3 * MS), 1);
    assert_eq!(send_order(&mut s, T0 + 3 * MS), 2);
    let out = sent(&mut s);
    assert_eq!(
        out.iter().map(|f| template(f)).collect::<Vec<_>>(),
        [514, 514]
    );

    let er = exec_new(uuid, 1, false);
    s.handle_input(at(T0 + 4 * MS), &er);
    let evs = events(&mut s);
    let [FixpEvent::Business(b)] = evs[..] else {
        panic!("{evs:?}")
    };
    assert_eq!((b.seq, b.template_id, b.retransmitted), (1, 522, false));
    assert_eq!(s.business_frame(&b), &er[..]);
    assert_eq!(
        s.stored_state(),
        SessionSeqState {
            uuid,
            previous_uuid: 0,
            next_outbound_seq: 3,
            next_inbound_seq: 2,
            previous_next_inbound_seq: 0
        }
    );
}

#[test]
fn input_split_at_every_byte_is_reassembled() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    let mut stream = Vec::new();
    for seq in 1..=3 {
        stream.extend_from_slice(&exec_new(uuid, seq, false));
    }
    for cut in 1..stream.len() {
        let mut s = session(SessionSeqState::default());
        let uuid2 = establish(&mut s, T0);
        assert_eq!(uuid2, uuid);
        s.handle_input(at(T0 + 5 * MS), &stream[..cut]);
        s.handle_input(at(T0 + 5 * MS), &stream[cut..]);
        assert_eq!(business_seqs(&mut s), [1, 2, 3], "cut at {cut}");
    }
}

#[test]
fn wrong_hmac_reject_is_reported_with_its_cme_name() {
    let mut s = session(SessionSeqState::default());
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    persist(&mut s, at(T0));
    events(&mut s);
    sent(&mut s);
    s.handle_input(
        at(T0 + MS),
        &negotiation_reject(T0 / 1000, 0, "HMAC mismatch"),
    );
    let evs = events(&mut s);
    assert!(
        matches!(
            evs[..],
            [
                FixpEvent::Rejected {
                    stage: Stage::Negotiate,
                    code: 0,
                    name: "HMACNotAuthenticated",
                    reason
                },
                FixpEvent::Disconnect(DisconnectReason::Rejected)
            ] if reason.as_str() == "HMAC mismatch"
        ),
        "{evs:?}"
    );
    assert_eq!(s.state(), FixpState::Idle);
}

#[test]
fn stale_timestamp_reject_on_establish() {
    let mut s = session(SessionSeqState {
        uuid: T0 / 1000 - 10,
        next_outbound_seq: 5,
        next_inbound_seq: 7,
        ..Default::default()
    });
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    persist(&mut s, at(T0));
    let out = sent(&mut s);
    assert_eq!(template(&out[0]), 503, "same week: Establish only");
    s.handle_input(at(T0 + MS), &establishment_reject(T0 / 1000 - 10, 3));
    let evs = events(&mut s);
    assert!(
        matches!(
            evs[0],
            FixpEvent::Rejected {
                stage: Stage::Establish,
                code: 3,
                name: "InvalidTimestamp",
                ..
            }
        ),
        "{evs:?}"
    );
}

#[test]
fn fifth_bad_logon_within_60s_is_never_attempted() {
    let mut s = session(SessionSeqState::default());
    let mut now = T0;
    for i in 0..MAX_BAD_LOGONS {
        s.connect(at(now), ConnectMode::Auto)
            .unwrap_or_else(|e| panic!("attempt {i}: {e}"));
        persist(&mut s, at(now));
        let uuid = s.stored_state().uuid;
        sent(&mut s);
        s.handle_input(at(now + MS), &negotiation_reject(uuid, 0, "bad"));
        events(&mut s);
        now += 5_000 * MS;
    }
    let err = s.connect(at(now), ConnectMode::Auto).unwrap_err();
    let SessionError::LogonThrottled {
        failures,
        retry_after_ns,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(failures, 4);
    assert_eq!(retry_after_ns, T0 + MS + BAD_LOGON_WINDOW_NS);
    assert!(sent(&mut s).is_empty(), "nothing may leave");
    assert!(matches!(
        events(&mut s)[..],
        [FixpEvent::Alert(Alert::LogonThrottled { failures: 4, .. })]
    ));
    // Once the oldest failure leaves the window, one more attempt is allowed.
    assert!(s.connect(at(retry_after_ns), ConnectMode::Auto).is_ok());
}

#[test]
fn logon_is_retried_once_after_two_intervals_then_disconnected() {
    let mut s = session(SessionSeqState::default());
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    persist(&mut s, at(T0));
    sent(&mut s);
    assert_eq!(s.next_deadline().map(|t| t.0), Some(T0 + 2 * KA));
    s.handle_timeout(at(T0 + 2 * KA - 1));
    assert!(sent(&mut s).is_empty());
    s.handle_timeout(at(T0 + 2 * KA));
    let out = sent(&mut s);
    assert_eq!(out.len(), 1);
    let Message::Negotiate(n) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(
        n.request_timestamp(),
        T0 + 2 * KA,
        "fresh timestamp on the retry"
    );
    s.handle_timeout(at(T0 + 4 * KA));
    assert!(sent(&mut s).is_empty());
    assert!(events(&mut s).contains(&FixpEvent::Disconnect(DisconnectReason::LogonTimeout)));
    assert_eq!(s.state(), FixpState::Idle);
}

#[test]
fn establishment_ack_with_previous_seq_gap_requests_with_last_uuid() {
    // Mid-Week Connection with New UUID: Tuesday's UUID, we had received up to 40; the
    // exchange sent up to 45 on it.
    let old_uuid = T0 / 1000 - 86_400_000_000;
    let mut s = session(SessionSeqState {
        uuid: old_uuid,
        next_outbound_seq: 10,
        next_inbound_seq: 41,
        ..Default::default()
    });
    s.connect(at(T0), ConnectMode::NewUuid).unwrap();
    persist(&mut s, at(T0));
    let evs = events(&mut s);
    let uuid = T0 / 1000;
    assert_eq!(
        evs,
        [FixpEvent::NewUuid {
            uuid,
            previous_uuid: old_uuid
        }],
        "mid-week new UUID"
    );
    assert_eq!(s.stored_state().previous_next_inbound_seq, 41);
    sent(&mut s);
    s.handle_input(at(T0 + MS), &negotiation_response(uuid));
    let out = sent(&mut s);
    let Message::Establish(e) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(e.next_seq_no(), 1, "new UUID: sequences restart at 1");
    s.handle_input(at(T0 + 2 * MS), &establishment_ack(uuid, 1, old_uuid, 45));
    let evs = events(&mut s);
    assert_eq!(requests(&evs), [(41, 5, Some(old_uuid))]);
    let out = sent(&mut s);
    let Message::RetransmitRequest(r) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (r.uuid(), r.last_uuid(), r.from_seq_no(), r.msg_count()),
        (uuid, Some(old_uuid), 41, 5)
    );
    // A live message on the new UUID waits until the old stream is recovered.
    s.handle_input(at(T0 + 3 * MS), &exec_new(uuid, 1, false));
    assert!(business_seqs(&mut s).is_empty());
    let mut stream = retransmission(uuid, Some(old_uuid), 41, 5);
    for seq in 41..=45 {
        stream.extend_from_slice(&exec_new(old_uuid, seq, true));
    }
    s.handle_input(at(T0 + 4 * MS), &stream);
    let evs = events(&mut s);
    let delivered: Vec<(u64, u32, bool)> = evs
        .iter()
        .filter_map(|e| match e {
            FixpEvent::Business(b) => Some((b.uuid, b.seq, b.retransmitted)),
            _ => None,
        })
        .collect();
    let mut want: Vec<_> = (41..=45).map(|q| (old_uuid, q, true)).collect();
    want.push((uuid, 1, false));
    assert_eq!(delivered, want);
    assert_eq!(s.stored_state().next_inbound_seq, 2);
}

#[test]
fn inbound_gap_of_6000_is_requested_in_three_sequential_chunks_with_live_messages_held() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    let mut now = T0 + 10 * MS;
    s.handle_input(at(now), &exec_new(uuid, 1, false));
    assert_eq!(business_seqs(&mut s), [1]);
    // 2..=6001 missing; 6002 arrives live.
    s.handle_input(at(now), &exec_new(uuid, 6002, false));
    let evs = events(&mut s);
    assert_eq!(requests(&evs), [(2, 2500, None)]);
    assert!(!evs.iter().any(|e| matches!(e, FixpEvent::Business(_))));
    let mut delivered = Vec::new();
    let mut live = 6003;
    for (from, count, next_request) in [
        (2u32, 2500u32, Some((2502, 2500))),
        (2502, 2500, Some((5002, 1000))),
        (5002, 1000, None),
    ] {
        let out = sent(&mut s);
        let Message::RetransmitRequest(r) = decode(&out[0]).unwrap() else {
            panic!()
        };
        assert_eq!((r.from_seq_no(), u32::from(r.msg_count())), (from, count));
        now += MS;
        s.handle_input(at(now), &retransmission(uuid, None, from, count as u16));
        for seq in from..from + count {
            s.handle_input(at(now), &exec_new(uuid, seq, true));
            if seq == from + 10 {
                // A live message interleaved with the retransmission is held.
                s.handle_input(at(now), &exec_new(uuid, live, false));
                live += 1;
            }
            if seq + 1 < from + count {
                assert!(requests(&events_peek(&mut s, &mut delivered)).is_empty());
            }
        }
        let evs = events_peek(&mut s, &mut delivered);
        match next_request {
            Some((f, c)) => assert_eq!(requests(&evs), [(f, c, None)], "one in flight"),
            None => assert!(requests(&evs).is_empty()),
        }
    }
    let want: Vec<u32> = (2..live).collect();
    assert_eq!(delivered, want, "every message once, in order");
    assert_eq!(s.stored_state().next_inbound_seq, live);
}

/// Drains events, appending delivered business seqs to `delivered`; returns the events.
fn events_peek(s: &mut FixpSession, delivered: &mut Vec<u32>) -> Vec<FixpEvent> {
    let evs = events(s);
    delivered.extend(evs.iter().filter_map(|e| match e {
        FixpEvent::Business(b) => Some(b.seq),
        _ => None,
    }));
    evs
}

#[test]
fn sequence_announcing_a_higher_next_seq_requests_the_gap() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    s.handle_input(at(T0 + 10 * MS), &sequence(uuid, 4, false));
    assert_eq!(requests(&events(&mut s)), [(1, 3, None)]);
}

#[test]
fn not_applied_is_gap_filled_with_a_sequence_and_reported() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    for _ in 0..3 {
        send_order(&mut s, T0 + 5 * MS);
    }
    sent(&mut s);
    s.handle_input(at(T0 + 6 * MS), &not_applied(uuid, 2, 2));
    assert_eq!(
        events(&mut s),
        [FixpEvent::NotApplied {
            from_seq: 2,
            count: 2,
            action: NotAppliedAction::GapFilled
        }]
    );
    let out = sent(&mut s);
    let Message::Sequence(q) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (q.uuid(), q.next_seq_no(), q.keep_alive_interval_lapsed()),
        (uuid, 4, 0)
    );
}

#[test]
fn not_applied_with_resend_policy_asks_the_runtime_to_resend() {
    let mut c = cfg();
    c.not_applied = NotAppliedPolicy::Resend;
    let mut s = FixpSession::new(c, creds(), SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    send_order(&mut s, T0 + 5 * MS);
    let original = sent(&mut s).remove(0);
    s.handle_input(at(T0 + 6 * MS), &not_applied(uuid, 1, 1));
    assert_eq!(
        events(&mut s),
        [FixpEvent::NotApplied {
            from_seq: 1,
            count: 1,
            action: NotAppliedAction::ResendRequired
        }]
    );
    assert!(sent(&mut s).is_empty());
    s.resend_business(at(T0 + 7 * MS), &original).unwrap();
    assert_eq!(sent(&mut s), [original]);
}

/// Our keepalive leaves at 90% of the interval: network delay must not earn a lapse warning.
const KA_SEND: u64 = KA - KA / 10;

#[test]
fn keepalive_both_ways_and_lapse_terminates_with_20() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    let est = T0 + 2 * MS;
    // We were silent for 90% of one interval: Sequence.
    assert_eq!(s.next_deadline().map(|t| t.0), Some(est + KA_SEND));
    s.handle_input(at(est + KA_SEND - MS), &sequence(uuid, 1, false)); // the exchange's keepalive
    s.handle_timeout(at(est + KA_SEND - 1));
    assert!(
        sent(&mut s).is_empty(),
        "nothing before 90% of the interval"
    );
    s.handle_timeout(at(est + KA_SEND));
    let out = sent(&mut s);
    let Message::Sequence(q) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!((q.next_seq_no(), q.keep_alive_interval_lapsed()), (1, 0));
    // The exchange says we lapsed: answer with a not-lapsed Sequence at once.
    s.handle_input(at(est + KA_SEND + MS), &sequence(uuid, 1, true));
    let out = sent(&mut s);
    let Message::Sequence(q) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(q.keep_alive_interval_lapsed(), 0);
    // Now the exchange goes silent.
    let last_rx = est + KA_SEND + MS;
    s.handle_timeout(at(last_rx + KA));
    let out = sent(&mut s);
    let Message::Sequence(q) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(q.keep_alive_interval_lapsed(), 1);
    assert_eq!(events(&mut s), [FixpEvent::KeepAliveLapsed]);
    // Our next keepalive (90% after the lapsed one) comes before the Terminate.
    assert_eq!(s.next_deadline().map(|t| t.0), Some(last_rx + KA + KA_SEND));
    s.handle_timeout(at(last_rx + 2 * KA));
    let out = sent(&mut s);
    let Message::Terminate(t) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(t.error_codes(), 20);
    let evs = events(&mut s);
    assert!(
        matches!(
            evs[..],
            [
                FixpEvent::Terminated {
                    code: 20,
                    name: "KeepAliveIntervalLapsed",
                    by_exchange: false,
                    ..
                },
                FixpEvent::Disconnect(DisconnectReason::Terminated)
            ]
        ),
        "{evs:?}"
    );
    assert_eq!(s.state(), FixpState::Idle);
}

#[test]
fn lower_sequence_than_expected_terminates() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    for seq in 1..=3 {
        s.handle_input(at(T0 + 5 * MS), &exec_new(uuid, seq, false));
    }
    events(&mut s);
    // A duplicate retransmission is dropped silently ...
    s.handle_input(at(T0 + 6 * MS), &exec_new(uuid, 2, true));
    assert!(events(&mut s).is_empty());
    assert!(sent(&mut s).is_empty());
    // ... a live message with a lower sequence ends the session.
    s.handle_input(at(T0 + 7 * MS), &exec_new(uuid, 2, false));
    let out = sent(&mut s);
    let Message::Terminate(t) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(t.error_codes(), 11);
    let evs = events(&mut s);
    assert!(
        matches!(evs[0], FixpEvent::Terminated { code: 11, name: "InvalidMsgSeqNo", reason, .. }
            if reason.as_str() == "sequence 2 lower than expected 4"),
        "{evs:?}"
    );
}

/// Issue 14: PossRetransFlag is honoured on every template, not only the first nine. A
/// retransmitted duplicate of an ExecutionReportElimination (524), ExecutionReportStatus (532),
/// trade addendum (548) or PartyDetailsDefinitionRequestAck (519) is dropped, not "sequence too
/// low" (Terminate 11); the same message without the flag still terminates.
#[test]
fn poss_retrans_duplicate_of_any_template_is_not_sequence_too_low() {
    fn dup(template: u16, uuid: u64, seq: u32, flag: bool) -> Vec<u8> {
        frame(|b| match template {
            524 => {
                let mut w = ExecutionReportEliminationWriter::new(b).unwrap();
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_poss_retrans_flag(u8::from(flag));
                w.finish()
            }
            532 => {
                let mut w = ExecutionReportStatusWriter::new(b).unwrap();
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_poss_retrans_flag(u8::from(flag));
                w.finish()
            }
            548 => {
                let mut w =
                    ExecutionReportTradeAddendumOutrightWriter::with_counts(b, [1, 1]).unwrap();
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_poss_retrans_flag(u8::from(flag));
                w.finish()
            }
            _ => {
                let mut w = PartyDetailsDefinitionRequestAckWriter::new(b).unwrap();
                w.set_seq_num(seq)
                    .set_uuid(uuid)
                    .set_poss_retrans_flag(u8::from(flag));
                w.finish()
            }
        })
    }
    for template in [524u16, 532, 548, 519] {
        let mut s = session(SessionSeqState::default());
        let uuid = establish(&mut s, T0);
        for seq in 1..=3 {
            s.handle_input(at(T0 + 5 * MS), &dup(template, uuid, seq, false));
        }
        let evs = events(&mut s);
        assert_eq!(evs.len(), 3, "{template}: {evs:?}");
        s.handle_input(at(T0 + 6 * MS), &dup(template, uuid, 2, true));
        assert!(events(&mut s).is_empty(), "{template}: duplicate dropped");
        assert!(sent(&mut s).is_empty(), "{template}: no Terminate");
        assert_eq!(s.state(), FixpState::Established, "{template}");
        s.handle_input(at(T0 + 7 * MS), &dup(template, uuid, 2, false));
        let out = sent(&mut s);
        let Message::Terminate(t) = decode(&out[0]).unwrap() else {
            panic!("{template}: expected Terminate")
        };
        assert_eq!(t.error_codes(), 11, "{template}");
    }
}

/// Found by the `ilink3_session` fuzz target: a business message at the last sequence number
/// (u32::MAX) overflowed `seq + 1`. No number can follow it, so the session terminates
/// (InvalidMsgSeqNo), live or retransmitted.
#[test]
fn business_message_at_the_last_sequence_number_terminates() {
    for poss_retrans in [false, true] {
        let mut s = session(SessionSeqState::default());
        let uuid = establish(&mut s, T0);
        s.handle_input(at(T0 + 5 * MS), &exec_new(uuid, u32::MAX, poss_retrans));
        let out = sent(&mut s);
        let Some(Message::Terminate(t)) = out.first().map(|f| decode(f).unwrap()) else {
            panic!("expected a Terminate, sent {} frames", out.len())
        };
        assert_eq!(t.error_codes(), 11);
        let evs = events(&mut s);
        assert!(
            matches!(evs[0], FixpEvent::Terminated { code: 11, reason, .. }
                if reason.as_str() == "sequence 4294967295: no number can follow it"),
            "{evs:?}"
        );
        assert!(evs.contains(&FixpEvent::Disconnect(DisconnectReason::Terminated)));
        assert_eq!(s.state(), FixpState::Idle);
    }
}

#[test]
fn restart_mid_week_establishes_the_same_uuid_with_the_stored_next_seq_no() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    for _ in 0..7 {
        send_order(&mut s, T0 + 5 * MS);
    }
    for seq in 1..=4 {
        s.handle_input(at(T0 + 6 * MS), &exec_new(uuid, seq, false));
    }
    let stored = s.stored_state();
    drop(s);
    // The process restarts an hour later, same week.
    let later = T0 + 3600 * 1_000_000_000;
    let mut s = session(stored);
    s.connect(at(later), ConnectMode::Auto).unwrap();
    persist(&mut s, at(later));
    assert!(events(&mut s).is_empty(), "no new UUID");
    let out = sent(&mut s);
    assert_eq!(out.len(), 1, "Establish only, no Negotiate");
    let Message::Establish(e) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!((e.uuid(), e.next_seq_no()), (uuid, 8));
    // The exchange sent 2 more while we were down: they are requested.
    s.handle_input(at(later + MS), &establishment_ack(uuid, 7, uuid, 6));
    let evs = events(&mut s);
    assert_eq!(requests(&evs), [(5, 2, None)]);
}

#[test]
fn weekly_reset_negotiates_a_new_uuid_and_restarts_at_1() {
    let last_week = T0 - 7 * 86_400 * 1_000_000_000;
    let mut s = session(SessionSeqState::default());
    let old = establish(&mut s, last_week);
    send_order(&mut s, last_week + 5 * MS);
    let stored = s.stored_state();
    let mut s = session(stored);
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    persist(&mut s, at(T0));
    let evs = events(&mut s);
    assert_eq!(
        evs,
        [FixpEvent::NewUuid {
            uuid: T0 / 1000,
            previous_uuid: old
        }]
    );
    let st = s.stored_state();
    assert_eq!((st.next_outbound_seq, st.next_inbound_seq), (1, 1));
    assert_eq!(template(&sent(&mut s)[0]), 500);
}

#[test]
fn new_uuid_is_strictly_greater_even_when_the_clock_went_back() {
    let stored = SessionSeqState {
        uuid: T0 / 1000 + 5_000_000,
        next_outbound_seq: 3,
        next_inbound_seq: 3,
        ..Default::default()
    };
    let mut s = session(stored);
    s.connect(at(T0), ConnectMode::NewUuid).unwrap();
    persist(&mut s, at(T0));
    assert_eq!(s.stored_state().uuid, stored.uuid + 1);
}

#[test]
fn exchange_terminate_is_answered_and_surfaced_with_its_name() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    s.handle_input(at(T0 + 5 * MS), &terminate(uuid, 8));
    let out = sent(&mut s);
    let Message::Terminate(t) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(t.error_codes(), 0);
    let evs = events(&mut s);
    assert!(
        matches!(
            evs[..],
            [
                FixpEvent::Terminated {
                    code: 8,
                    name: "CMEAdministeredPortClosure",
                    by_exchange: true,
                    ..
                },
                FixpEvent::Disconnect(DisconnectReason::Terminated)
            ]
        ),
        "{evs:?}"
    );
}

#[test]
fn our_terminate_on_shutdown_carries_the_code_and_waits_for_the_answer() {
    let mut s = session(SessionSeqState::default());
    let uuid = establish(&mut s, T0);
    s.terminate(at(T0 + 5 * MS), 0).unwrap();
    let out = sent(&mut s);
    let Message::Terminate(t) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!((t.uuid(), t.error_codes()), (uuid, 0));
    assert_eq!(s.state(), FixpState::Terminating);
    s.handle_input(at(T0 + 6 * MS), &terminate(uuid, 0));
    assert!(sent(&mut s).is_empty(), "no second Terminate");
    assert!(events(&mut s).contains(&FixpEvent::Disconnect(DisconnectReason::Terminated)));
}

#[test]
fn garbage_from_the_exchange_terminates_with_a_decoding_code() {
    let mut s = session(SessionSeqState::default());
    establish(&mut s, T0);
    s.handle_input(at(T0 + 5 * MS), &[0x10, 0x00, 0xEF, 0xBE, 0, 0, 0, 0]);
    let evs = events(&mut s);
    assert!(
        matches!(
            evs[0],
            FixpEvent::Terminated {
                code: 18,
                name: "InvalidSOFH",
                ..
            }
        ),
        "{evs:?}"
    );
    assert_eq!(s.state(), FixpState::Idle);
}

#[test]
fn business_sends_stop_at_the_durable_reservation() {
    let mut s = session(SessionSeqState::default());
    establish(&mut s, T0);
    s.set_outbound_limit(3);
    assert_eq!(send_order(&mut s, T0), 1);
    assert_eq!(send_order(&mut s, T0), 2);
    let err = s.send_business(at(T0), |_, _, _| Ok(0)).unwrap_err();
    assert_eq!(
        err,
        SessionError::SequenceNotDurable {
            next_seq: 3,
            limit: 3
        }
    );
}

#[test]
fn sending_before_established_is_refused() {
    let mut s = session(SessionSeqState::default());
    assert_eq!(
        s.send_business(at(T0), |_, _, _| Ok(0)).unwrap_err(),
        SessionError::NotEstablished(FixpState::Idle)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes, in any state, give events or nothing: never a panic.
    #[test]
    fn arbitrary_input_never_panics(chunks in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..300), 0..8),
        established in any::<bool>()) {
        let mut s = session(SessionSeqState::default());
        let uuid = if established { establish(&mut s, T0) } else {
            s.connect(at(T0), ConnectMode::Auto).unwrap();
            persist(&mut s, at(T0));
            T0 / 1000
        };
        for (i, c) in chunks.iter().enumerate() {
            s.handle_input(at(T0 + i as u64 * MS), c);
            while s.poll_event().is_some() {}
            let _ = s.poll_transmit();
        }
        s.handle_timeout(at(T0 + 100 * KA));
        // Valid frames after garbage are either processed or the session is down: no panic.
        s.handle_input(at(T0 + 101 * KA), &exec_new(uuid, 1, false));
    }

    /// Valid exchange frames in random order and random sequence numbers never panic, and
    /// delivered sequence numbers are strictly increasing.
    #[test]
    fn random_valid_frames_keep_delivery_ordered(
        msgs in proptest::collection::vec((0u8..6, 1u32..40, any::<bool>()), 0..60)) {
        let mut s = session(SessionSeqState::default());
        let uuid = establish(&mut s, T0);
        let mut last = 0u32;
        for (i, (kind, seq, flag)) in msgs.into_iter().enumerate() {
            let f = match kind {
                0 | 1 => exec_new(uuid, seq, flag),
                2 => sequence(uuid, seq, flag),
                3 => retransmission(uuid, None, seq, 3),
                4 => not_applied(uuid, seq, 2),
                _ => retransmit_reject(uuid, 0),
            };
            s.handle_input(at(T0 + i as u64 * MS), &f);
            while let Some(e) = s.poll_event() {
                if let FixpEvent::Business(b) = e {
                    prop_assert!(b.seq > last, "delivered {} after {}", b.seq, last);
                    last = b.seq;
                }
            }
            let _ = s.poll_transmit();
            if s.state() == FixpState::Idle {
                break;
            }
        }
    }
}

#[test]
fn a_rejected_negotiate_is_negotiated_again_with_the_same_uuid() {
    let mut s = session(SessionSeqState::default());
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    persist(&mut s, at(T0));
    let uuid = s.stored_state().uuid;
    sent(&mut s);
    s.handle_input(at(T0 + MS), &negotiation_reject(uuid, 0, "bad"));
    events(&mut s);
    s.connect(at(T0 + 10 * MS), ConnectMode::Auto).unwrap();
    persist(&mut s, at(T0 + 10 * MS));
    assert!(events(&mut s).is_empty(), "no second NewUuid");
    let out = sent(&mut s);
    let Message::Negotiate(n) = decode(&out[0]).unwrap() else {
        panic!("expected Negotiate again")
    };
    assert_eq!(n.uuid(), uuid);
}

/// Runs a session on top of a real [`SessionStore`] the way the runtime will: persist a new
/// UUID before Negotiate leaves, take each outbound number from the store, journal the frame,
/// record inbound progress.
fn run_on_store(dir: &std::path::Path, orders: usize, reports: u32) -> u64 {
    use crate::store::session::SessionStore;
    let (mut store, rec) =
        SessionStore::open(dir, "cme-eq", crate::types::FsyncPolicy::Never).unwrap();
    let mut s = session(SessionSeqState::from(&rec));
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    persist(&mut s, at(T0));
    for e in events(&mut s) {
        if let FixpEvent::NewUuid { uuid, .. } = e {
            store.new_uuid(uuid).unwrap();
            s.uuid_persisted(at(T0), uuid, true).unwrap();
        }
    }
    sent(&mut s);
    let uuid = s.stored_state().uuid;
    s.handle_input(at(T0 + MS), &negotiation_response(uuid));
    s.handle_input(at(T0 + 2 * MS), &establishment_ack(uuid, 1, 0, 0));
    sent(&mut s);
    events(&mut s);
    for _ in 0..orders {
        let from_store = store.take_outbound().unwrap();
        let seq = send_order(&mut s, T0 + 3 * MS);
        assert_eq!(u64::from(seq), from_store);
        let frame = sent(&mut s).remove(0);
        store.append_outbound(u64::from(seq), &frame).unwrap();
    }
    for seq in 1..=reports {
        s.handle_input(at(T0 + 4 * MS), &exec_new(uuid, seq, false));
        store.set_next_inbound(u64::from(s.stored_state().next_inbound_seq));
    }
    store.sync().unwrap();
    store.close().unwrap();
    uuid
}

#[test]
fn restart_from_the_store_establishes_the_same_uuid_with_the_correct_next_seq_no() {
    use crate::store::session::SessionStore;
    let dir = tempfile::tempdir().unwrap();
    let uuid = run_on_store(dir.path(), 5, 3);
    // The daemon restarts an hour later, same week.
    let (_store, rec) =
        SessionStore::open(dir.path(), "cme-eq", crate::types::FsyncPolicy::Never).unwrap();
    assert!(rec.clean_shutdown);
    let mut s = session(SessionSeqState::from(&rec));
    let later = T0 + 3_600_000_000_000;
    s.connect(at(later), ConnectMode::Auto).unwrap();
    persist(&mut s, at(later));
    let out = sent(&mut s);
    assert_eq!(out.len(), 1, "Establish only");
    let Message::Establish(e) = decode(&out[0]).unwrap() else {
        panic!("expected Establish")
    };
    assert_eq!((e.uuid(), e.next_seq_no()), (uuid, 6));
    s.handle_input(at(later + MS), &establishment_ack(uuid, 4, uuid, 3));
    let evs = events(&mut s);
    assert!(requests(&evs).is_empty(), "nothing missed: {evs:?}");
    assert_eq!(s.stored_state().next_inbound_seq, 4);
}

#[test]
fn restart_after_a_crash_never_reuses_an_outbound_sequence() {
    use crate::store::session::SessionStore;
    let dir = tempfile::tempdir().unwrap();
    let uuid = run_on_store(dir.path(), 5, 0);
    // Simulate kill -9 after more sends: reopen, take numbers, and drop without close.
    {
        let (mut store, _) =
            SessionStore::open(dir.path(), "cme-eq", crate::types::FsyncPolicy::Never).unwrap();
        for _ in 0..3 {
            store.take_outbound().unwrap();
        }
    }
    let (_store, rec) =
        SessionStore::open(dir.path(), "cme-eq", crate::types::FsyncPolicy::Never).unwrap();
    assert!(!rec.clean_shutdown);
    let mut s = session(SessionSeqState::from(&rec));
    s.connect(at(T0 + 60_000_000_000), ConnectMode::Auto)
        .unwrap();
    let out = sent(&mut s);
    let Message::Establish(e) = decode(&out[0]).unwrap() else {
        panic!("expected Establish")
    };
    assert_eq!(e.uuid(), uuid);
    assert!(
        e.next_seq_no() >= 9,
        "NextSeqNo {} could reuse 6..=8",
        e.next_seq_no()
    );
}

#[test]
fn reasons_keep_48_bytes_of_utf8_text() {
    assert_eq!(Reason::new(b"bad firm").as_str(), "bad firm");
    let long = [b'r'; 60];
    assert_eq!(Reason::new(&long).as_str(), "r".repeat(48));
    assert_eq!(Reason::new(b"\xff\xfe").as_str(), "<not UTF-8>");
    // Cut inside a 2-byte character: the 48 bytes kept are not UTF-8.
    let mut cut = vec![b'a'; 47];
    cut.extend_from_slice("é".as_bytes());
    assert_eq!(Reason::new(&cut).as_str(), "<not UTF-8>");
    assert_eq!(format!("{:?}", Reason::new(b"x\"y")), r#""x\"y""#);
}

/// iLink 3 "Keep Alive" across an NTP step: the wall clock jumps 10 minutes forward or back
/// right after Establishment while the monotonic clock runs on. Our Sequence still leaves one
/// KeepAliveInterval after the last send (no silence), the exchange's keepalives keep the
/// session from lapsing (no KeepAliveIntervalLapsed, no Terminate 20), and RequestTimestamp
/// follows the wall clock.
#[test]
fn keepalive_is_unaffected_by_a_ten_minute_wall_clock_step_either_way() {
    const TEN_MIN: u64 = 600_000_000_000;
    for forward in [true, false] {
        let mut s = session(SessionSeqState::default());
        let uuid = establish(&mut s, T0);
        let est = T0 + 2 * MS;
        let stepped = |mono: u64| Now {
            mono: Nanos(mono),
            wall: crate::types::WallNanos(if forward {
                mono + TEN_MIN
            } else {
                mono - TEN_MIN
            }),
        };
        for k in 1..=6u64 {
            // The exchange's keepalive, just before ours is due (90% of the interval).
            let due = est + k * KA_SEND;
            s.handle_input(stepped(due - MS), &sequence(uuid, 1, false));
            assert_eq!(
                s.next_deadline(),
                Some(Nanos(due)),
                "forward={forward} k={k}"
            );
            s.handle_timeout(stepped(due - 1));
            assert!(sent(&mut s).is_empty(), "nothing before the interval");
            s.handle_timeout(stepped(due));
            let out = sent(&mut s);
            assert_eq!(out.len(), 1, "forward={forward} k={k}");
            let Message::Sequence(q) = decode(&out[0]).unwrap() else {
                panic!("expected our keepalive Sequence")
            };
            assert_eq!(q.keep_alive_interval_lapsed(), 0);
            assert!(events(&mut s).is_empty(), "no lapse, no terminate");
            assert_eq!(s.state(), FixpState::Established);
        }
        let end = est + 6 * KA_SEND + MS;
        s.terminate(stepped(end), 0).unwrap();
        let out = sent(&mut s);
        let Message::Terminate(t) = decode(&out[0]).unwrap() else {
            panic!("expected Terminate")
        };
        assert_eq!(
            t.request_timestamp(),
            stepped(end).wall.0,
            "wire time is wall time"
        );
    }
}

/// iLink 3 "Negotiation": the Negotiate for a new UUID leaves only once the runtime reports the
/// UUID durable; until then nothing is sent.
#[test]
fn negotiate_waits_until_the_new_uuid_is_durable() {
    let mut s = session(SessionSeqState::default());
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    assert_eq!(s.state(), FixpState::PersistingUuid);
    assert!(sent(&mut s).is_empty(), "nothing before the store's answer");
    let uuid = T0 / 1000;
    assert_eq!(
        events(&mut s),
        [FixpEvent::NewUuid {
            uuid,
            previous_uuid: 0
        }]
    );
    assert_eq!(s.stored_state().uuid, 0, "not adopted before it is durable");
    s.uuid_persisted(at(T0 + MS), uuid, true).unwrap();
    assert_eq!(s.state(), FixpState::Negotiating);
    let out = sent(&mut s);
    let Message::Negotiate(n) = decode(&out[0]).unwrap() else {
        panic!("expected Negotiate")
    };
    assert_eq!(n.uuid(), uuid);
    assert_eq!(s.stored_state().uuid, uuid);
}

/// A UUID the store could not write is never negotiated: the connection goes and the next
/// connect picks a new, higher UUID.
#[test]
fn a_uuid_that_is_not_durable_is_never_negotiated() {
    let mut s = session(SessionSeqState::default());
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    let uuid = s.pending_uuid().unwrap();
    events(&mut s);
    s.uuid_persisted(at(T0 + MS), uuid, false).unwrap();
    assert_eq!(
        events(&mut s),
        [FixpEvent::Disconnect(DisconnectReason::UuidNotPersisted)]
    );
    assert!(sent(&mut s).is_empty());
    assert_eq!(s.state(), FixpState::Idle);
    assert_eq!(s.stored_state().uuid, 0);
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    assert!(
        s.pending_uuid().unwrap() > uuid,
        "never the same UUID twice"
    );
}

/// No answer from the store within 2 × KeepAliveInterval: the connection goes; a durable
/// answer that arrives later is adopted, and the next connect negotiates that UUID.
#[test]
fn a_late_durable_answer_is_adopted_for_the_next_connect() {
    let mut s = session(SessionSeqState::default());
    s.connect(at(T0), ConnectMode::Auto).unwrap();
    let uuid = s.pending_uuid().unwrap();
    events(&mut s);
    assert_eq!(s.next_deadline(), Some(Nanos(T0 + 2 * KA)));
    s.handle_timeout(at(T0 + 2 * KA));
    assert_eq!(
        events(&mut s),
        [FixpEvent::Disconnect(DisconnectReason::UuidNotPersisted)]
    );
    s.on_disconnected();
    s.uuid_persisted(at(T0 + 3 * KA), uuid, true).unwrap();
    assert!(sent(&mut s).is_empty(), "not connected: nothing leaves");
    assert_eq!(s.stored_state().uuid, uuid);
    s.connect(at(T0 + 4 * KA), ConnectMode::Auto).unwrap();
    assert!(events(&mut s).is_empty(), "no second NewUuid");
    let out = sent(&mut s);
    let Message::Negotiate(n) = decode(&out[0]).unwrap() else {
        panic!("expected Negotiate")
    };
    assert_eq!(n.uuid(), uuid);
}

/// iLink 3 "Establishment" of a UUID the exchange never negotiated (the process died between
/// persisting it and the NegotiationResponse; after the crash the store's reservation puts the
/// next outbound above 1): Establish is refused as Unnegotiated, and the next connect
/// negotiates a new, higher UUID with both sequences at 1, keeping the old previous UUID.
#[test]
fn an_unnegotiated_uuid_is_replaced_with_sequences_at_1() {
    let stored = SessionSeqState {
        uuid: T0 / 1000,
        previous_uuid: T0 / 1000 - 50,
        next_outbound_seq: 1001,
        next_inbound_seq: 1,
        previous_next_inbound_seq: 9,
    };
    let mut s = session(stored);
    s.connect(at(T0 + MS), ConnectMode::Auto).unwrap();
    let out = sent(&mut s);
    assert_eq!(template(&out[0]), 503, "the stored UUID is tried first");
    s.handle_input(at(T0 + 2 * MS), &establishment_reject(stored.uuid, 2));
    events(&mut s);
    s.connect(at(T0 + 3 * MS), ConnectMode::Auto).unwrap();
    let uuid = s.pending_uuid().expect("a new UUID");
    assert!(uuid > stored.uuid);
    assert_eq!(
        events(&mut s),
        [FixpEvent::NewUuid {
            uuid,
            previous_uuid: stored.previous_uuid
        }]
    );
    s.uuid_persisted(at(T0 + 4 * MS), uuid, true).unwrap();
    let st = s.stored_state();
    assert_eq!((st.next_outbound_seq, st.next_inbound_seq), (1, 1));
    assert_eq!(
        (st.previous_uuid, st.previous_next_inbound_seq),
        (T0 / 1000 - 50, 9)
    );
    let out = sent(&mut s);
    let Message::Negotiate(n) = decode(&out[0]).unwrap() else {
        panic!("expected Negotiate")
    };
    assert_eq!(n.uuid(), uuid);
}

// ---- recovery that cannot stall (issue 14) ------------------------------------------------

/// The recovery policy the scenarios use: 2 s of silence, `attempts` requests per range.
fn policy(attempts: u8) -> RecoveryPolicy {
    RecoveryPolicy {
        timeout_ms: 2_000,
        attempts,
        retry_delay_ms: 500,
    }
}

/// Established with a current-UUID gap 1..=4 (live 5 held) and the first request (1, 4) sent.
fn with_gap(attempts: u8) -> (FixpSession, u64) {
    let mut s = session(SessionSeqState::default());
    s.set_recovery_policy(policy(attempts));
    let uuid = establish(&mut s, T0);
    s.handle_input(at(T0 + 10 * MS), &exec_new(uuid, 5, false));
    assert_eq!(requests(&events(&mut s)), [(1, 4, None)]);
    assert_eq!(retransmit_requests(&mut s), [(1, 4, None)]);
    (s, uuid)
}

/// The RetransmitRequests the session sent: (FromSeqNo, MsgCount, LastUUID).
fn retransmit_requests(s: &mut FixpSession) -> Vec<(u32, u16, Option<u64>)> {
    sent(s)
        .iter()
        .filter_map(|f| match decode(f).unwrap() {
            Message::RetransmitRequest(r) => Some((r.from_seq_no(), r.msg_count(), r.last_uuid())),
            _ => None,
        })
        .collect()
}

fn losses(evs: &[FixpEvent]) -> Vec<(u64, u32, u32, LossCause)> {
    evs.iter()
        .filter_map(|e| match e {
            FixpEvent::MessagesLost {
                uuid,
                from_seq,
                count,
                cause,
            } => Some((*uuid, *from_seq, *count, *cause)),
            _ => None,
        })
        .collect()
}

fn delivered(evs: &[FixpEvent]) -> Vec<u32> {
    evs.iter()
        .filter_map(|e| match e {
            FixpEvent::Business(b) => Some(b.seq),
            _ => None,
        })
        .collect()
}

/// Runs the session's timers at `t` (checking the session asked for that time).
fn fire(s: &mut FixpSession, t: u64) {
    let d = s.next_deadline().expect("a deadline");
    assert!(d.0 <= t, "deadline {} after {t}", d.0);
    s.handle_timeout(at(t));
}

#[test]
fn process_real_time_messages_during_a_resend_retransmission_that_never_comes() {
    // CME "Process Real-Time Messages During a Resend Response", with the Retransmission
    // missing: each configured attempt times out, then the range is reported lost and the
    // held live message is delivered.
    for attempts in 1..=3u8 {
        let (mut s, uuid) = with_gap(attempts);
        let t0 = T0 + 10 * MS;
        let mut t = t0;
        for attempt in 2..=attempts {
            t += 2_000 * MS;
            fire(&mut s, t);
            assert_eq!(
                retransmit_requests(&mut s),
                [(1, 4, None)],
                "attempt {attempt}"
            );
            let evs = events(&mut s);
            assert!(losses(&evs).is_empty() && delivered(&evs).is_empty());
            // The exchange's keepalive: the session stays up while it waits.
            s.handle_input(at(t), &sequence(uuid, 5, false));
        }
        assert!(
            s.next_deadline().unwrap().0 <= t + 2_000 * MS,
            "the outstanding request has a timer"
        );
        t += 2_000 * MS;
        s.handle_timeout(at(t));
        let evs = events(&mut s);
        assert_eq!(
            losses(&evs),
            [(uuid, 1, 4, LossCause::TimedOut)],
            "{attempts}"
        );
        assert_eq!(delivered(&evs), [5]);
        assert!(retransmit_requests(&mut s).is_empty());
        assert_eq!(s.stored_state().next_inbound_seq, 6);
        // Live traffic flows again.
        s.handle_input(at(t + MS), &exec_new(uuid, 6, false));
        assert_eq!(business_seqs(&mut s), [6]);
    }
}

#[test]
fn retransmission_that_stalls_midway_asks_again_for_the_rest() {
    let (mut s, uuid) = with_gap(2);
    let mut stream = retransmission(uuid, None, 1, 4);
    stream.extend_from_slice(&exec_new(uuid, 1, true));
    s.handle_input(at(T0 + 20 * MS), &stream);
    assert_eq!(business_seqs(&mut s), [1]);
    // Silence: the rest (2..=4) is a new range after that progress, asked again with the
    // full budget of attempts (2); both stall and it is reported lost.
    let t = T0 + 20 * MS;
    s.handle_timeout(at(t + 2_000 * MS));
    assert_eq!(retransmit_requests(&mut s), [(2, 3, None)]);
    s.handle_input(at(t + 3_000 * MS), &sequence(uuid, 5, false));
    events(&mut s);
    s.handle_timeout(at(t + 5_000 * MS));
    assert_eq!(retransmit_requests(&mut s), [(2, 3, None)]);
    assert!(losses(&events(&mut s)).is_empty());
    s.handle_timeout(at(t + 7_000 * MS));
    let evs = events(&mut s);
    assert_eq!(losses(&evs), [(uuid, 2, 3, LossCause::TimedOut)]);
    assert_eq!(delivered(&evs), [5]);
}

#[test]
fn short_retransmission_asks_for_the_rest_then_reports_it_lost() {
    // CME's Retransmission MsgCount for the current UUID is the count that will be replayed.
    let (mut s, uuid) = with_gap(2);
    let mut stream = retransmission(uuid, None, 1, 2);
    stream.extend_from_slice(&exec_new(uuid, 1, true));
    stream.extend_from_slice(&exec_new(uuid, 2, true));
    s.handle_input(at(T0 + 20 * MS), &stream);
    let evs = events(&mut s);
    assert_eq!(delivered(&evs), [1, 2]);
    assert_eq!(
        requests(&evs),
        [(3, 2, None)],
        "progress: the rest is asked at once"
    );
    assert_eq!(retransmit_requests(&mut s), [(3, 2, None)]);
    // Twice nothing: the second attempt is the last.
    s.handle_input(at(T0 + 30 * MS), &retransmission(uuid, None, 3, 0));
    assert_eq!(requests(&events(&mut s)), [(3, 2, None)]);
    assert_eq!(retransmit_requests(&mut s), [(3, 2, None)]);
    s.handle_input(at(T0 + 40 * MS), &retransmission(uuid, None, 3, 0));
    let evs = events(&mut s);
    assert_eq!(losses(&evs), [(uuid, 3, 2, LossCause::ShortRetransmission)]);
    assert_eq!(delivered(&evs), [5]);
    assert_eq!(s.stored_state().next_inbound_seq, 6);
    assert!(retransmit_requests(&mut s).is_empty());
}

#[test]
fn retransmit_reject_every_cme_code_is_retried_fixed_or_accepted_as_lost() {
    // CME's RetransmitReject page, ErrorCodes 0-9 (10: a code CME does not document).
    for code in 0..=10u16 {
        let (mut s, uuid) = with_gap(2);
        let t = T0 + 20 * MS;
        s.handle_input(at(t), &retransmit_reject(uuid, code));
        let evs = events(&mut s);
        assert!(
            matches!(evs[0], FixpEvent::RetransmitRejected { code: c, .. } if c == code),
            "{code}: {evs:?}"
        );
        let again = retransmit_requests(&mut s);
        let lost_now = [(uuid, 1, 4, LossCause::Rejected(code))];
        match code {
            // OutOfRange: ask with MsgCount 0 ("up to 2500 messages, when available").
            0 => assert_eq!(again, [(1, 0, None)], "{code}"),
            // RequestLimitExceeded: ask for half as many.
            2 => assert_eq!(again, [(1, 2, None)], "{code}"),
            // RetransmitAlreadyInProgress: the same request after the delay.
            3 => {
                assert!(again.is_empty() && losses(&evs).is_empty());
                assert_eq!(s.next_deadline(), Some(Nanos(t + 500 * MS)));
                s.handle_timeout(at(t + 500 * MS));
                assert_eq!(retransmit_requests(&mut s), [(1, 4, None)], "{code}");
                events(&mut s);
            }
            // InvalidTimestamp, a required field missing: a fresh request at once.
            4 | 6..=9 => assert_eq!(again, [(1, 4, None)], "{code}"),
            // InvalidUUID, InvalidFromSeqNo, unknown: lost, the held message goes out.
            1 | 5 | 10 => {
                assert!(again.is_empty(), "{code}");
                assert_eq!(losses(&evs), lost_now, "{code}");
                assert_eq!(delivered(&evs), [5], "{code}");
                continue;
            }
            _ => unreachable!(),
        }
        assert!(losses(&evs).is_empty(), "{code}: {evs:?}");
        // The same answer to the last attempt: the loss is accepted and delivery goes on.
        s.handle_input(at(t + 600 * MS), &retransmit_reject(uuid, code));
        let evs = events(&mut s);
        let lost = losses(&evs);
        assert_eq!(lost.len(), 1, "{code}: {evs:?}");
        assert_eq!((lost[0].1, lost[0].3), (1, LossCause::Rejected(code)));
        if code == 2 {
            // Only the smaller range is lost; the rest is asked in smaller chunks.
            assert_eq!(lost[0].2, 2);
            assert_eq!(requests(&evs), [(3, 2, None)]);
        } else {
            assert_eq!(lost[0].2, 4, "{code}");
            assert_eq!(delivered(&evs), [5], "{code}");
        }
    }
}

#[test]
fn retransmit_reject_code_names_follow_cme() {
    let names: Vec<&str> = (0..=9).map(RetransmitRejectCode::name_of).collect();
    assert_eq!(
        names,
        [
            "OutOfRange",
            "InvalidUUID",
            "RequestLimitExceeded",
            "RetransmitAlreadyInProgress",
            "InvalidTimestamp",
            "InvalidFromSeqNo",
            "RequiredUUIDMisssing",
            "RequiredRequestTimestampMissing",
            "RequiredFromSeqNoMissing",
            "RequiredMsgCountMissing",
        ]
    );
}

/// Mid-week new UUID after Tuesday's UUID, on which we had received up to 1000 and the
/// exchange sent up to `prev_seq`: established, with the first LastUUID request sent.
fn previous_gap_session(prev_seq: u32) -> (FixpSession, u64, u64) {
    let old_uuid = T0 / 1000 - 86_400_000_000;
    let mut s = session(SessionSeqState {
        uuid: old_uuid,
        next_outbound_seq: 10,
        next_inbound_seq: 1001,
        ..Default::default()
    });
    s.set_recovery_policy(policy(2));
    s.connect(at(T0), ConnectMode::NewUuid).unwrap();
    persist(&mut s, at(T0));
    let uuid = T0 / 1000;
    s.handle_input(at(T0 + MS), &negotiation_response(uuid));
    sent(&mut s);
    s.handle_input(
        at(T0 + 2 * MS),
        &establishment_ack(uuid, 1, old_uuid, prev_seq),
    );
    events(&mut s);
    (s, uuid, old_uuid)
}

#[test]
fn mid_week_connection_with_new_uuid_previous_gap_of_6000_in_chunks_2500_2500_1000() {
    let (mut s, uuid, old) = previous_gap_session(7000);
    let mut now = T0 + 3 * MS;
    // Live messages on the new UUID wait for the old stream.
    s.handle_input(at(now), &exec_new(uuid, 1, false));
    let mut got = Vec::new();
    for (from, count) in [(1001u32, 2500u16), (3501, 2500), (6001, 1000)] {
        assert_eq!(retransmit_requests(&mut s), [(from, count, Some(old))]);
        now += MS;
        let mut stream = retransmission(uuid, Some(old), from, count);
        for seq in from..from + u32::from(count) {
            stream.extend_from_slice(&exec_new(old, seq, true));
        }
        s.handle_input(at(now), &stream);
        let evs = events(&mut s);
        got.extend(evs.iter().filter_map(|e| match e {
            FixpEvent::Business(b) => Some((b.uuid, b.seq)),
            _ => None,
        }));
        assert!(losses(&evs).is_empty());
    }
    assert!(retransmit_requests(&mut s).is_empty());
    let mut want: Vec<(u64, u32)> = (1001..=7000).map(|q| (old, q)).collect();
    want.push((uuid, 1));
    assert_eq!(
        got, want,
        "6000 old messages in order, then the held live one"
    );
    assert_eq!(s.stored_state().previous_next_inbound_seq, 7001);
}

#[test]
fn previous_uuid_chunk_that_times_out_is_lost_and_the_next_chunk_is_asked() {
    let (mut s, uuid, old) = previous_gap_session(7000);
    s.handle_input(at(T0 + 3 * MS), &exec_new(uuid, 1, false));
    assert_eq!(retransmit_requests(&mut s), [(1001, 2500, Some(old))]);
    events(&mut s);
    s.handle_timeout(at(T0 + 2 * MS + 2_000 * MS));
    assert_eq!(retransmit_requests(&mut s), [(1001, 2500, Some(old))]);
    s.handle_input(at(T0 + 3_000 * MS), &sequence(uuid, 2, false));
    events(&mut s);
    s.handle_timeout(at(T0 + 4_100 * MS));
    let evs = events(&mut s);
    assert_eq!(losses(&evs), [(old, 1001, 2500, LossCause::TimedOut)]);
    assert!(
        delivered(&evs).is_empty(),
        "the old stream still comes first"
    );
    assert_eq!(retransmit_requests(&mut s), [(3501, 2500, Some(old))]);
    assert_eq!(s.stored_state().previous_next_inbound_seq, 3501);
}

#[test]
fn previous_uuid_refused_as_invalid_reports_the_whole_remainder_lost() {
    let (mut s, uuid, old) = previous_gap_session(7000);
    s.handle_input(at(T0 + 3 * MS), &exec_new(uuid, 1, false));
    assert_eq!(retransmit_requests(&mut s), [(1001, 2500, Some(old))]);
    events(&mut s);
    s.handle_input(at(T0 + 4 * MS), &retransmit_reject(uuid, 1));
    let evs = events(&mut s);
    assert_eq!(losses(&evs), [(old, 1001, 6000, LossCause::Rejected(1))]);
    assert_eq!(delivered(&evs), [1]);
    assert!(retransmit_requests(&mut s).is_empty());
}

// ---- the weekly cycle (CME "Globex Start-up Processing") ---------------------------------

/// Friday 2026-11-20 17:00 CT (CST) = 23:00 UTC.
const FRI_CLOSE: u64 = T0 + 2 * 86_400_000_000_000 + 9 * 3_600_000_000_000;
/// Sunday 2026-11-22 10:30 CT = 16:30 UTC.
const SUN_OPEN: u64 = FRI_CLOSE + 41 * 3_600_000_000_000 + 30 * 60_000_000_000;

#[test]
fn weekly_cycle_friday_close_to_sunday_open_negotiates_a_new_uuid_at_1() {
    assert_eq!(crate::week::closed_until(FRI_CLOSE), Some(SUN_OPEN));
    let mut s = session(SessionSeqState::default());
    s.set_weekly_close(true);
    let fri = FRI_CLOSE - 3_000 * MS;
    let old = establish(&mut s, fri);
    assert_eq!(send_order(&mut s, fri + 10 * MS), 1);
    s.handle_input(at(fri + 20 * MS), &exec_new(old, 1, false));
    sent(&mut s);
    events(&mut s);
    // Friday 17:00 CT: the session terminates on its own.
    assert_eq!(s.next_deadline(), Some(Nanos(FRI_CLOSE)));
    s.handle_timeout(at(FRI_CLOSE));
    let evs = events(&mut s);
    assert_eq!(
        evs[0],
        FixpEvent::Weekly(WeeklyEvent::Close { opens_at: SUN_OPEN })
    );
    assert!(matches!(
        evs[1],
        FixpEvent::Terminated {
            code: 0,
            by_exchange: false,
            ..
        }
    ));
    let out = sent(&mut s);
    let Message::Terminate(t) = decode(&out[0]).unwrap() else {
        panic!("{out:?}")
    };
    assert_eq!((t.uuid(), t.error_codes()), (old, 0));
    s.handle_input(at(FRI_CLOSE + MS), &terminate(old, 0));
    assert_eq!(s.state(), FixpState::Idle);
    assert_eq!(
        events(&mut s).last(),
        Some(&FixpEvent::Disconnect(DisconnectReason::Terminated))
    );
    s.on_disconnected();
    // All weekend: no connect.
    for t in [FRI_CLOSE + 60_000 * MS, SUN_OPEN - 1] {
        assert_eq!(s.week_closed_until(at(t)), Some(SUN_OPEN));
        assert_eq!(
            s.connect(at(t), ConnectMode::Auto),
            Err(SessionError::WeekClosed { opens_at: SUN_OPEN })
        );
        assert!(sent(&mut s).is_empty());
    }
    // Sunday 10:30 CT: a new UUID, made durable first, both sequences at 1, nothing asked
    // with last week's UUID.
    assert_eq!(s.week_closed_until(at(SUN_OPEN)), None);
    s.connect(at(SUN_OPEN), ConnectMode::Auto).unwrap();
    let uuid = SUN_OPEN / 1000;
    assert_eq!(
        events(&mut s),
        [FixpEvent::NewUuid {
            uuid,
            previous_uuid: old
        }]
    );
    assert_eq!(s.pending_new_uuid(), Some((uuid, old, 0)));
    assert!(
        sent(&mut s).is_empty(),
        "nothing before the UUID is durable"
    );
    persist(&mut s, at(SUN_OPEN + MS));
    assert_eq!(template(&sent(&mut s)[0]), 500);
    s.handle_input(at(SUN_OPEN + 2 * MS), &negotiation_response(uuid));
    let out = sent(&mut s);
    let Message::Establish(e) = decode(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!((e.uuid(), e.next_seq_no()), (uuid, 1));
    s.handle_input(at(SUN_OPEN + 3 * MS), &establishment_ack(uuid, 1, old, 1));
    assert!(requests(&events(&mut s)).is_empty());
    assert!(retransmit_requests(&mut s).is_empty());
    assert_eq!(send_order(&mut s, SUN_OPEN + 4 * MS), 1);
    s.handle_input(at(SUN_OPEN + 5 * MS), &exec_new(uuid, 1, false));
    assert_eq!(business_seqs(&mut s), [1]);
}

#[test]
fn session_up_across_the_sunday_start_up_renegotiates_a_new_uuid() {
    // Without the weekly close (a gateway that stays up at the weekend), a session still on
    // last week's UUID at the start-up terminates and comes back with a new UUID.
    let mut s = session(SessionSeqState::default());
    let sat = SUN_OPEN - 3_000 * MS;
    let old = establish(&mut s, sat);
    sent(&mut s);
    assert_eq!(s.next_deadline(), Some(Nanos(SUN_OPEN)));
    s.handle_timeout(at(SUN_OPEN));
    let evs = events(&mut s);
    assert_eq!(evs[0], FixpEvent::Weekly(WeeklyEvent::StartUp));
    assert_eq!(template(&sent(&mut s)[0]), 507);
    s.handle_input(at(SUN_OPEN + MS), &terminate(old, 0));
    events(&mut s);
    s.on_disconnected();
    s.connect(at(SUN_OPEN + 100 * MS), ConnectMode::Auto)
        .unwrap();
    let evs = events(&mut s);
    assert!(
        matches!(evs[..], [FixpEvent::NewUuid { uuid, previous_uuid }] if uuid > old && previous_uuid == old),
        "{evs:?}"
    );
    // A UUID of this week is kept all week: the next start-up is a week away.
    let uuid = s.pending_uuid().unwrap();
    persist(&mut s, at(SUN_OPEN + 100 * MS));
    s.handle_input(at(SUN_OPEN + 101 * MS), &negotiation_response(uuid));
    s.handle_input(at(SUN_OPEN + 102 * MS), &establishment_ack(uuid, 1, 0, 0));
    assert_eq!(s.state(), FixpState::Established);
    s.handle_timeout(at(SUN_OPEN + 102 * MS + KA));
    assert!(!events(&mut s)
        .iter()
        .any(|e| matches!(e, FixpEvent::Weekly(_))));
}

#[test]
fn week_boundary_is_the_sunday_1030_ct_start_up() {
    let us = |ns: u64| ns / 1000;
    // Friday's UUID is kept through the weekend, replaced from the start-up on.
    assert!(!week_boundary_passed(us(FRI_CLOSE - 1), SUN_OPEN - 1));
    assert!(week_boundary_passed(us(FRI_CLOSE - 1), SUN_OPEN));
    assert!(!week_boundary_passed(
        us(SUN_OPEN),
        SUN_OPEN + 5 * 86_400_000_000_000
    ));
    assert!(!week_boundary_passed(us(T0), T0 + 60_000_000_000));
}
