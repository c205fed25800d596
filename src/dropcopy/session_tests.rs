//! DropCopySession scenarios with a fake clock, named after the QuickFIX acceptance cases they mirror.

use super::*;
use crate::auth::keys::decode_secret;
use crate::dropcopy::codec::{checksum, frame, parse, FieldIndex, Frame};
use crate::dropcopy::report::{MsgType, ReportParser, ReportSource};
use crate::dropcopy::time::parse_utc_timestamp;
use proptest::prelude::*;

const SENDER: &str = "ABC123N";
const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;
const HB: u64 = 30 * S;
/// Our Heartbeat leaves at 90% of HeartBtInt (network delay must not look like silence).
const HB_SEND: u64 = HB - HB / 10;

/// The fake clock: both clocks read `t` (tests that step the wall clock build [`Now`] by hand).
fn at(t: u64) -> Now {
    Now {
        mono: Nanos(t),
        wall: crate::types::WallNanos(t),
    }
}

fn cfg() -> SessionConfig {
    SessionConfig {
        sender_comp_id: SENDER.into(),
        sender_sub_id: "OPS".into(),
        target_comp_id: "CME".into(),
        target_sub_id: "G".into(),
        sender_location_id: "US,IL".into(),
        heartbeat_s: 30,
        app_system_name: "ilinkd".into(),
        app_system_version: "0.1.0".into(),
        app_system_vendor: "ACME".into(),
        logon_timeout_s: 10,
        logout_timeout_s: 5,
    }
}

fn akid() -> AccessKeyId {
    AccessKeyId::parse("ABCDEFGHIJ0123456789").unwrap()
}

fn new_session(seqs: SeqNums) -> DropCopySession {
    DropCopySession::new(cfg(), akid(), HmacSigner::new(b"test key"), seqs).unwrap()
}

/// Frames a body given with `|` for SOH.
fn framed(body: &str) -> Vec<u8> {
    let body = body.replace('|', "\x01");
    let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
    let sum = checksum(&m);
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    m
}

/// A message from CME.
fn cme(seq: u64, mt: &str, extra: &str) -> Vec<u8> {
    framed(&format!(
        "35={mt}|49=CME|56={SENDER}|50=G|34={seq}|52=20231114-22:13:20.000|{extra}"
    ))
}

fn exec(seq: u64, exec_id: &str) -> Vec<u8> {
    cme(
        seq,
        "8",
        &format!("37=1|11=C1|17={exec_id}|150=0|39=0|55=ESZ4|54=1|38=1|44=4500.25|"),
    )
}

type Fields = Vec<(u32, String)>;

fn get(m: &Fields, tag: u32) -> Option<&str> {
    m.iter().find(|(t, _)| *t == tag).map(|(_, v)| v.as_str())
}

/// Everything the session queued for sending, one field list per message.
fn sent(s: &mut DropCopySession) -> Vec<Fields> {
    let mut out = Vec::new();
    let Some(mut buf) = s.poll_transmit().map(<[u8]>::to_vec) else {
        return out;
    };
    let mut idx = FieldIndex::new();
    while !buf.is_empty() {
        let Frame::Complete(n) = frame(&buf) else {
            panic!("session sent a malformed frame: {:?}", frame(&buf));
        };
        let m = parse(&buf[..n], &mut idx).expect("session sent a message that does not parse");
        out.push(
            m.iter()
                .map(|f| (f.tag, String::from_utf8_lossy(f.value).into_owned()))
                .collect(),
        );
        buf.drain(..n);
    }
    out
}

fn types(msgs: &[Fields]) -> Vec<String> {
    msgs.iter()
        .map(|m| get(m, 35).unwrap().to_owned())
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    LoggedOn(u64, u64),
    App(u64, bool, Vec<u8>),
    Resend(u64, u64),
    GapFilled(u64),
    Reject(Option<u64>),
    LoggedOut(Option<u64>),
    Alert(String),
    Garbled(FixError),
    Disc(DisconnectReason),
    Weekly(SeqNums, bool),
}

fn events(s: &mut DropCopySession) -> Vec<Ev> {
    let mut v = Vec::new();
    while let Some(e) = s.poll_event() {
        v.push(match e {
            DropCopyEvent::LoggedOn { next_out, next_in } => Ev::LoggedOn(next_out, next_in),
            DropCopyEvent::Application { seq, poss_dup, raw } => {
                Ev::App(seq, poss_dup, raw.to_vec())
            }
            DropCopyEvent::ResendRequested { from, to } => Ev::Resend(from, to),
            DropCopyEvent::GapFilled { next_in } => Ev::GapFilled(next_in),
            DropCopyEvent::RejectReceived { ref_seq, .. } => Ev::Reject(ref_seq),
            DropCopyEvent::LoggedOut { next_expected, .. } => Ev::LoggedOut(next_expected),
            DropCopyEvent::Alert { text } => Ev::Alert(text),
            DropCopyEvent::Garbled { error } => Ev::Garbled(error),
            DropCopyEvent::Disconnect { reason } => Ev::Disc(reason),
            DropCopyEvent::WeeklyReset { previous, by_logon } => Ev::Weekly(previous, by_logon),
        });
    }
    v
}

fn app_seqs(evs: &[Ev]) -> Vec<u64> {
    evs.iter()
        .filter_map(|e| match e {
            Ev::App(seq, _, _) => Some(*seq),
            _ => None,
        })
        .collect()
}

/// DropCopySession logged on with CME's Logon at `next_in`.
fn logged_on(seqs: SeqNums) -> DropCopySession {
    let mut s = new_session(seqs);
    s.connect(at(T0)).unwrap();
    s.handle_input(at(T0 + S / 10), &cme(seqs.next_in, "A", "98=0|108=30|"));
    assert_eq!(s.state(), DropCopyState::Active);
    sent(&mut s);
    events(&mut s);
    s
}

fn gap_fill(seq: u64, new: u64) -> Vec<u8> {
    cme(
        seq,
        "4",
        &format!("43=Y|122=20231114-22:13:19.000|123=Y|36={new}|"),
    )
}

#[test]
fn t_1a_valid_logon() {
    // Build a Logon with the first PROTOCOL.md vector's values and check 1402.
    let cfg = SessionConfig {
        sender_comp_id: "B08004N".into(),
        sender_sub_id: "MSG".into(),
        target_comp_id: "CME".into(),
        target_sub_id: "92".into(),
        sender_location_id: "US,NY".into(),
        heartbeat_s: 60,
        app_system_name: "BRIO".into(),
        app_system_version: "8.0".into(),
        app_system_vendor: "ABC".into(),
        logon_timeout_s: 10,
        logout_timeout_s: 5,
    };
    let key = decode_secret("2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4").unwrap();
    let mut s = DropCopySession::new(
        cfg,
        akid(),
        HmacSigner::new(key.expose()),
        SeqNums::BEGINNING_OF_WEEK,
    )
    .unwrap();
    let now = parse_utc_timestamp(52, b"20170623-14:48:42.855").unwrap();
    s.connect(at(now)).unwrap();
    let msgs = sent(&mut s);
    assert_eq!(msgs.len(), 1);
    let l = &msgs[0];
    assert_eq!(get(l, 35), Some("A"));
    assert_eq!(get(l, 34), Some("1"));
    assert_eq!(get(l, 49), Some("B08004N"));
    assert_eq!(get(l, 50), Some("MSG"));
    assert_eq!(get(l, 52), Some("20170623-14:48:42.855"));
    assert_eq!(get(l, 56), Some("CME"));
    assert_eq!(get(l, 57), Some("92"));
    assert_eq!(get(l, 108), Some("60"));
    assert_eq!(get(l, 142), Some("US,NY"));
    assert_eq!(get(l, 369), Some("0"));
    assert_eq!(get(l, 1603), Some("BRIO"));
    assert_eq!(get(l, 1604), Some("8.0"));
    assert_eq!(get(l, 1605), Some("ABC"));
    assert_eq!(get(l, 354), Some("20"));
    assert_eq!(get(l, 355), Some("ABCDEFGHIJ0123456789"));
    assert_eq!(get(l, 1400), Some("CME-1-SHA-256"));
    assert_eq!(get(l, 1401), Some("43"));
    assert_eq!(
        get(l, 1402),
        Some("oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s")
    );
    assert_eq!(get(l, 122), None, "a Logon carrying 122 is refused by CME");
    assert_eq!(s.state(), DropCopyState::LogonSent);

    s.handle_input(
        at(now + S),
        &framed("35=A|49=CME|56=B08004N|34=1|52=20170623-14:48:43.000|108=60|"),
    );
    assert_eq!(s.state(), DropCopyState::Active);
    assert_eq!(events(&mut s), vec![Ev::LoggedOn(2, 2)]);
    assert_eq!(
        s.seq_nums(),
        SeqNums {
            next_out: 2,
            next_in: 2
        }
    );
}

#[test]
fn t_1a_valid_logon_second_vector() {
    let cfg = SessionConfig {
        sender_comp_id: "U89004N".into(),
        sender_sub_id: "0J4L".into(),
        target_comp_id: "CME".into(),
        target_sub_id: "G".into(),
        sender_location_id: "US".into(),
        heartbeat_s: 30,
        app_system_name: "FIXAntenna .NET Core".into(),
        app_system_version: "2.18.1".into(),
        app_system_vendor: "B2BITS".into(),
        logon_timeout_s: 10,
        logout_timeout_s: 5,
    };
    let key = decode_secret("gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8").unwrap();
    let mut s = DropCopySession::new(
        cfg,
        akid(),
        HmacSigner::new(key.expose()),
        SeqNums::BEGINNING_OF_WEEK,
    )
    .unwrap();
    s.connect(at(
        parse_utc_timestamp(52, b"20180420-14:21:52.697").unwrap()
    ))
    .unwrap();
    let l = &sent(&mut s)[0];
    assert_eq!(
        get(l, 1402),
        Some("V9Xf6SV45lT0-x2fGs7aKJXk5j4SKEkXWmrLAVFNgGA")
    );
}

/// The canonical is rebuilt from the Logon's own fields: the signature verifies mid-week too.
#[test]
fn t_1a_mid_week_logon_signs_the_values_it_sends() {
    let seqs = SeqNums {
        next_out: 812,
        next_in: 4711,
    };
    let mut s = new_session(seqs);
    s.connect(at(T0 + 123_456_789)).unwrap();
    let l = &sent(&mut s)[0];
    assert_eq!(get(l, 34), Some("812"));
    assert_eq!(get(l, 369), Some("4710"));
    let c = FixLogonCanonical {
        msg_seq_num: get(l, 34).unwrap().parse().unwrap(),
        sender_comp_id: get(l, 49).unwrap(),
        sender_sub_id: get(l, 50).unwrap(),
        sending_time: get(l, 52).unwrap(),
        target_sub_id: get(l, 57).unwrap(),
        heart_bt_int: get(l, 108).unwrap().parse().unwrap(),
        sender_location_id: get(l, 142).unwrap(),
        last_msg_seq_num_processed: get(l, 369).unwrap().parse().unwrap(),
        app_system_name: get(l, 1603).unwrap(),
        app_system_version: get(l, 1604).unwrap(),
        app_system_vendor: get(l, 1605).unwrap(),
    };
    let sig = HmacSigner::new(b"test key").sign_fix_logon(&c);
    assert_eq!(get(l, 1402), Some(sig.as_str()));
    // CME's Logon at the expected 4711: no gap.
    s.handle_input(at(T0 + S), &cme(4711, "A", "108=30|"));
    assert_eq!(events(&mut s), vec![Ev::LoggedOn(813, 4712)]);
    assert!(sent(&mut s).is_empty());
}

#[test]
fn t_1a_logon_msg_seq_num_too_high_requests_resend() {
    let mut s = new_session(SeqNums::BEGINNING_OF_WEEK);
    s.connect(at(T0)).unwrap();
    sent(&mut s);
    s.handle_input(at(T0 + S), &cme(5, "A", "108=30|"));
    assert_eq!(s.state(), DropCopyState::Active);
    let out = sent(&mut s);
    assert_eq!(types(&out), ["2"]);
    assert_eq!((get(&out[0], 7), get(&out[0], 16)), (Some("1"), Some("4")));
    for seq in 1..=4 {
        s.handle_input(at(T0 + 2 * S), &exec(seq, &format!("E{seq}")));
    }
    let evs = events(&mut s);
    assert_eq!(evs[0], Ev::LoggedOn(2, 1));
    assert_eq!(app_seqs(&evs), [1, 2, 3, 4]);
    assert_eq!(*evs.last().unwrap(), Ev::GapFilled(6));
    assert_eq!(s.seq_nums().next_in, 6);
}

#[test]
fn t_1e_not_logon_message_disconnects() {
    let mut s = new_session(SeqNums::BEGINNING_OF_WEEK);
    s.connect(at(T0)).unwrap();
    sent(&mut s);
    s.handle_input(at(T0 + S), &cme(1, "0", ""));
    assert_eq!(s.state(), DropCopyState::Disconnected);
    assert_eq!(types(&sent(&mut s)), ["5"]);
    assert!(matches!(
        events(&mut s).last(),
        Some(Ev::Disc(DisconnectReason::NotLogon(t))) if t == "0"
    ));
}

#[test]
fn t_1_logon_timeout_disconnects() {
    let mut s = new_session(SeqNums::BEGINNING_OF_WEEK);
    s.connect(at(T0)).unwrap();
    assert_eq!(s.next_deadline().map(|t| t.0), Some(T0 + 10 * S));
    s.handle_timeout(at(T0 + 9 * S));
    assert_eq!(s.state(), DropCopyState::LogonSent);
    s.handle_timeout(at(T0 + 10 * S));
    assert_eq!(s.state(), DropCopyState::Disconnected);
    assert_eq!(
        events(&mut s),
        vec![Ev::Disc(DisconnectReason::LogonTimeout(10))]
    );
    assert_eq!(s.next_deadline().map(|t| t.0), None);
    // Connecting again is allowed and reuses the next outbound number.
    s.connect(at(T0 + 11 * S)).unwrap();
    assert_eq!(get(&sent(&mut s)[0], 34), Some("2"));
}

#[test]
fn fifth_invalid_logon_within_60_s_is_refused_locally() {
    let mut s = new_session(SeqNums::BEGINNING_OF_WEEK);
    // Four invalid Logons, each a different way: Logout answer, Reject answer, connection lost
    // before CME's Logon, no answer at all.
    let t = [T0, T0 + 5 * S, T0 + 10 * S, T0 + 20 * S];
    s.connect(at(t[0])).unwrap();
    s.handle_input(at(t[0] + S / 10), &cme(1, "5", "58=invalid signature|"));
    s.connect(at(t[1])).unwrap();
    s.handle_input(at(t[1] + S / 10), &cme(2, "3", "45=2|58=bad logon|"));
    s.connect(at(t[2])).unwrap();
    s.connection_lost();
    s.connect(at(t[3])).unwrap();
    s.handle_timeout(at(t[3] + 10 * S));
    assert_eq!(s.state(), DropCopyState::Disconnected);
    assert_eq!(s.recent_invalid_logons(Nanos(T0 + 31 * S)), 4);
    events(&mut s);
    sent(&mut s);

    // The fifth within 60 s (plus 1 s margin) of the first is not sent.
    let now = T0 + 31 * S;
    assert_eq!(s.logon_allowed_at(Nanos(now)).0, T0 + 61 * S);
    assert_eq!(
        s.connect(at(now)),
        Err(SessionError::LogonThrottled {
            count: 4,
            retry_at: T0 + 61 * S
        })
    );
    assert_eq!(s.state(), DropCopyState::Disconnected);
    assert!(sent(&mut s).is_empty(), "nothing may be sent");
    assert!(matches!(
        events(&mut s).as_slice(),
        [Ev::Alert(text)] if text.contains("Logon refused locally")
    ));
    assert!(s.connect(at(T0 + 61 * S - 1)).is_err());

    // Once the oldest has left the window a Logon goes out again, and a valid one is not
    // counted.
    s.connect(at(T0 + 61 * S)).unwrap();
    assert_eq!(types(&sent(&mut s)), ["A"]);
    s.handle_input(at(T0 + 62 * S), &cme(3, "A", "108=30|"));
    assert_eq!(s.state(), DropCopyState::Active);
    assert_eq!(s.recent_invalid_logons(Nanos(T0 + 62 * S)), 3);
}

#[test]
fn invalid_logons_spread_over_more_than_60_s_are_not_throttled() {
    let mut s = new_session(SeqNums::BEGINNING_OF_WEEK);
    for i in 0..8u64 {
        let now = T0 + i * 20 * S;
        assert_eq!(s.logon_allowed_at(Nanos(now)).0, now, "attempt {i}");
        s.connect(at(now)).unwrap();
        s.handle_input(at(now + S), &cme(i + 1, "5", "58=not yet|"));
        assert_eq!(s.state(), DropCopyState::Disconnected);
    }
    assert!(s.recent_invalid_logons(Nanos(T0 + 160 * S)) <= MAX_INVALID_LOGONS);
}

#[test]
fn unanswered_resend_request_is_sent_again_after_two_heartbeats() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &exec(10, "X10"));
    let out = sent(&mut s);
    assert_eq!((get(&out[0], 7), get(&out[0], 16)), (Some("2"), Some("9")));
    events(&mut s);
    // CME keeps the session alive with heartbeats but never answers the request.
    assert_eq!(s.next_deadline().map(|t| t.0), Some(T0 + S + HB_SEND));
    s.handle_input(at(T0 + 25 * S), &cme(11, "0", ""));
    s.handle_timeout(at(T0 + 31 * S));
    assert_eq!(
        types(&sent(&mut s)),
        ["0"],
        "only our heartbeat at one interval"
    );
    s.handle_input(at(T0 + 50 * S), &cme(12, "0", ""));
    // Our next heartbeat (31 + 27 s) comes first; the re-request is due at 61 s.
    assert_eq!(s.next_deadline().map(|t| t.0), Some(T0 + 31 * S + HB_SEND));
    s.handle_timeout(at(T0 + 61 * S));
    let out = sent(&mut s);
    assert_eq!(
        types(&out),
        ["2"],
        "the request itself stands in for the heartbeat"
    );
    assert_eq!((get(&out[0], 7), get(&out[0], 16)), (Some("2"), Some("9")));
    let evs = events(&mut s);
    assert!(
        matches!(&evs[0], Ev::Alert(t) if t.contains("unanswered")),
        "{evs:?}"
    );
    assert_eq!(evs[1], Ev::Resend(2, 9));
    assert_eq!(s.stats().resend_requests_sent, 2);

    // Part of the range arrives: progress restarts the timer and the next request covers only
    // what is still missing.
    s.handle_input(at(T0 + 70 * S), &gap_fill(2, 5));
    s.handle_input(at(T0 + 100 * S), &cme(13, "0", ""));
    s.handle_timeout(at(T0 + 129 * S));
    assert_eq!(types(&sent(&mut s)), ["0"]);
    s.handle_timeout(at(T0 + 130 * S));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["2"]);
    assert_eq!((get(&out[0], 7), get(&out[0], 16)), (Some("5"), Some("9")));
    // Answered at last: everything is delivered and no more requests follow.
    s.handle_input(at(T0 + 131 * S), &gap_fill(5, 10));
    let evs = events(&mut s);
    assert_eq!(app_seqs(&evs), [10]);
    assert_eq!(*evs.last().unwrap(), Ev::GapFilled(14));
    assert_eq!(s.resend_in_flight(), None);
    s.handle_timeout(at(T0 + 200 * S));
    assert!(!types(&sent(&mut s)).contains(&"2".to_owned()));
}

#[test]
fn t_2a_msg_seq_num_correct() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let m = exec(2, "X1");
    s.handle_input(at(T0 + S), &m);
    assert_eq!(events(&mut s), vec![Ev::App(2, false, m)]);
    assert_eq!(s.seq_nums().next_in, 3);
    assert!(sent(&mut s).is_empty());
}

#[test]
fn t_2b_msg_seq_num_higher() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &exec(5, "X5"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["2"]);
    assert_eq!((get(&out[0], 7), get(&out[0], 16)), (Some("2"), Some("4")));
    assert_eq!(events(&mut s), vec![Ev::Resend(2, 4)]);
    // A further live message while the request is in flight: held, no second request.
    s.handle_input(at(T0 + S), &exec(6, "X6"));
    assert!(sent(&mut s).is_empty());
    assert!(events(&mut s).is_empty());
    // Retransmissions arrive (PossDup), then everything is delivered in order.
    s.handle_input(
        at(T0 + S),
        &cme(2, "8", "43=Y|122=20231114-22:13:19.000|17=X2|"),
    );
    s.handle_input(at(T0 + S), &gap_fill(3, 4));
    s.handle_input(
        at(T0 + S),
        &cme(4, "8", "43=Y|122=20231114-22:13:19.000|17=X4|"),
    );
    let evs = events(&mut s);
    assert_eq!(app_seqs(&evs), [2, 4, 5, 6]);
    assert!(matches!(evs[0], Ev::App(2, true, _)));
    assert_eq!(*evs.last().unwrap(), Ev::GapFilled(7));
    assert_eq!(s.resend_in_flight(), None);
    assert_eq!(s.seq_nums().next_in, 7);
}

#[test]
fn t_2b_gap_of_6000_requested_in_three_sequential_ranges() {
    let mut s = new_session(SeqNums::BEGINNING_OF_WEEK);
    s.connect(at(T0)).unwrap();
    sent(&mut s);
    s.handle_input(at(T0 + S), &cme(6001, "A", "108=30|"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["2"]);
    assert_eq!(
        (get(&out[0], 7), get(&out[0], 16)),
        (Some("1"), Some("2500"))
    );
    // Partly filled: no new request yet.
    for seq in 1..=10 {
        s.handle_input(at(T0 + S), &exec(seq, "R"));
    }
    s.handle_input(at(T0 + S), &gap_fill(11, 2500));
    assert!(sent(&mut s).is_empty());
    assert_eq!(s.resend_in_flight(), Some((1, 2500)));
    // A live message meanwhile is held.
    s.handle_input(at(T0 + S), &exec(6002, "LIVE"));
    s.handle_input(at(T0 + S), &exec(2500, "R"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["2"]);
    assert_eq!(
        (get(&out[0], 7), get(&out[0], 16)),
        (Some("2501"), Some("5000"))
    );
    s.handle_input(at(T0 + S), &gap_fill(2501, 5001));
    let out = sent(&mut s);
    assert_eq!(
        (get(&out[0], 7), get(&out[0], 16)),
        (Some("5001"), Some("6000"))
    );
    s.handle_input(at(T0 + S), &gap_fill(5001, 6001));
    assert!(sent(&mut s).is_empty());
    let evs = events(&mut s);
    let resends: Vec<_> = evs
        .iter()
        .filter(|e| matches!(e, Ev::Resend(..)))
        .cloned()
        .collect();
    assert_eq!(
        resends,
        vec![
            Ev::Resend(1, 2500),
            Ev::Resend(2501, 5000),
            Ev::Resend(5001, 6000)
        ]
    );
    let apps = app_seqs(&evs);
    assert_eq!(apps.len(), 12);
    assert_eq!(apps[..10], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(apps[10..], [2500, 6002]);
    assert_eq!(*evs.last().unwrap(), Ev::GapFilled(6003));
    assert_eq!(s.seq_nums().next_in, 6003);
    assert_eq!(s.stats().resend_requests_sent, 3);
}

/// After a CME failover the sequence jumps by ~4000: all of it is requested, 2500 at a time.
#[test]
fn t_2b_failover_jump_requests_everything() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &exec(4102, "J"));
    assert_eq!(events(&mut s), vec![Ev::Resend(2, 2501)]);
    sent(&mut s);
    s.handle_input(at(T0 + S), &gap_fill(2, 2502));
    assert_eq!(events(&mut s), vec![Ev::Resend(2502, 4101)]);
    s.handle_input(at(T0 + S), &gap_fill(2502, 4102));
    let evs = events(&mut s);
    assert_eq!(app_seqs(&evs), [4102]);
    assert_eq!(s.seq_nums().next_in, 4103);
}

#[test]
fn t_2c_msg_seq_num_lower_logs_out() {
    let mut s = logged_on(SeqNums {
        next_out: 5,
        next_in: 10,
    });
    s.handle_input(at(T0 + S), &exec(7, "OLD"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["5"]);
    assert_eq!(
        get(&out[0], 58),
        Some("MsgSeqNum too low, expecting 11 but received 7")
    );
    let evs = events(&mut s);
    assert!(matches!(&evs[0], Ev::Alert(t) if t.contains("too low")));
    assert_eq!(
        evs[1],
        Ev::Disc(DisconnectReason::SeqTooLow {
            expected: 11,
            received: 7
        })
    );
    assert_eq!(s.state(), DropCopyState::Disconnected);
}

#[test]
fn t_2d_garbled_message_ignored() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let mut input = b"8=FIX.4.2\x019=5\x0135=0\x01garbage".to_vec();
    input.extend_from_slice(&exec(2, "OK"));
    s.handle_input(at(T0 + S), &input);
    let evs = events(&mut s);
    assert!(matches!(evs[0], Ev::Garbled(_)));
    assert_eq!(app_seqs(&evs), [2]);
    assert_eq!(s.seq_nums().next_in, 3);
    assert_eq!(s.state(), DropCopyState::Active);
}

#[test]
fn t_2e_poss_dup_already_received() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &exec(2, "A"));
    events(&mut s);
    s.handle_input(
        at(T0 + S),
        &cme(2, "8", "43=Y|122=20231114-22:13:19.000|17=A|"),
    );
    assert!(events(&mut s).is_empty());
    assert!(sent(&mut s).is_empty());
    assert_eq!(s.state(), DropCopyState::Active);
    assert_eq!(s.stats().duplicates_dropped, 1);
    assert_eq!(s.seq_nums().next_in, 3);
}

#[test]
fn t_2e_poss_dup_not_received() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let m = cme(2, "8", "43=Y|122=20231114-22:13:19.000|17=A|");
    s.handle_input(at(T0 + S), &m);
    assert_eq!(events(&mut s), vec![Ev::App(2, true, m)]);
    assert_eq!(s.seq_nums().next_in, 3);
}

#[test]
fn t_2k_comp_id_does_not_match() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(
        at(T0 + S),
        &framed(&format!(
            "35=0|49=XYZ|56={SENDER}|34=2|52=20231114-22:13:20.000|"
        )),
    );
    assert_eq!(types(&sent(&mut s)), ["3", "5"]);
    assert!(matches!(
        events(&mut s).last(),
        Some(Ev::Disc(DisconnectReason::CompIdMismatch(_)))
    ));
}

#[test]
fn t_2m_body_length_value_not_correct() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let good = exec(2, "A");
    let text = String::from_utf8(good.clone()).unwrap();
    let len: usize = text[12..text[12..].find('\x01').unwrap() + 12]
        .parse()
        .unwrap();
    let bad = text.replacen(&format!("9={len}"), &format!("9={}", len - 3), 1);
    let mut input = bad.into_bytes();
    input.extend_from_slice(&good);
    s.handle_input(at(T0 + S), &input);
    let evs = events(&mut s);
    assert!(matches!(
        evs[0],
        Ev::Garbled(FixError::BodyLengthMismatch { .. })
    ));
    assert_eq!(app_seqs(&evs), [2]);
    assert_eq!(s.seq_nums().next_in, 3);
}

#[test]
fn t_3b_invalid_checksum_ignored() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let mut bad = exec(2, "A");
    let n = bad.len();
    bad[n - 2] = if bad[n - 2] == b'0' { b'1' } else { b'0' };
    s.handle_input(at(T0 + S), &bad);
    let evs = events(&mut s);
    assert!(matches!(
        evs[..],
        [Ev::Garbled(FixError::ChecksumMismatch { .. })]
    ));
    assert_eq!(s.seq_nums().next_in, 2);
    assert_eq!(s.stats().garbled, 1);
    // The same sequence number, intact, is accepted afterwards.
    s.handle_input(at(T0 + S), &exec(2, "A"));
    assert_eq!(app_seqs(&events(&mut s)), [2]);
}

#[test]
fn t_4a_no_data_sent_during_heartbeat_interval() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    // Logon sent at T0: heartbeat due at T0 + 27 s (90% of 30 s).
    assert_eq!(s.next_deadline().map(|t| t.0), Some(T0 + HB_SEND));
    s.handle_timeout(at(T0 + HB_SEND - 1));
    assert!(sent(&mut s).is_empty());
    s.handle_input(at(T0 + 20 * S), &cme(2, "0", ""));
    s.handle_timeout(at(T0 + HB_SEND));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["0"]);
    assert_eq!(get(&out[0], 112), None);
    assert_eq!(get(&out[0], 34), Some("2"));
    // Next: our heartbeat (27 + 27 s) before the TestRequest probe (20 + 36 s).
    assert_eq!(s.next_deadline().map(|t| t.0), Some(T0 + 2 * HB_SEND));
    s.handle_timeout(at(T0 + 2 * HB_SEND));
    assert_eq!(types(&sent(&mut s)), ["0"]);
    assert_eq!(
        s.next_deadline().map(|t| t.0),
        Some(T0 + 20 * S + HB + HB / 5)
    );
}

#[test]
fn t_4b_received_test_request() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &cme(2, "1", "112=PING 42|"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["0"]);
    assert_eq!(get(&out[0], 112), Some("PING 42"));
    assert_eq!(s.seq_nums().next_in, 3);
}

#[test]
fn t_4b_test_request_during_gap_answered_at_once() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &cme(4, "1", "112=T1|"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["0", "2"]);
    assert_eq!(get(&out[0], 112), Some("T1"));
    s.handle_input(at(T0 + S), &gap_fill(2, 4));
    assert!(sent(&mut s).is_empty(), "not answered twice");
    assert_eq!(s.seq_nums().next_in, 5);
}

#[test]
fn t_6_send_test_request_and_disconnect_when_unanswered() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let last_recv = T0 + S / 10;
    s.handle_input(at(T0 + 29 * S), &cme(2, "0", ""));
    let quiet = T0 + 29 * S;
    s.handle_timeout(at(T0 + HB));
    assert_eq!(types(&sent(&mut s)), ["0"]);
    assert!(last_recv < quiet);
    s.handle_timeout(at(quiet + HB + HB / 5));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["1"]);
    let id = get(&out[0], 112).unwrap().to_owned();
    assert_eq!(id, "TEST1");
    // Our heartbeat still leaves at 90% of the interval while the TestRequest is pending.
    assert_eq!(
        s.next_deadline().map(|t| t.0),
        Some(quiet + HB + HB / 5 + HB_SEND)
    );
    s.handle_timeout(at(quiet + HB + HB / 5 + HB_SEND));
    assert_eq!(types(&sent(&mut s)), ["0"]);
    assert_eq!(s.state(), DropCopyState::Active);
    s.handle_timeout(at(quiet + HB + HB / 5 + HB));
    assert_eq!(s.state(), DropCopyState::Disconnected);
    assert_eq!(
        events(&mut s),
        vec![Ev::Disc(DisconnectReason::TestRequestUnanswered)]
    );
}

#[test]
fn t_6_test_request_answered_keeps_session() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    // Last receipt: CME's Logon at T0 + 0.1 s.
    let t1 = T0 + S / 10 + HB + HB / 5;
    s.handle_timeout(at(t1 - 1));
    assert_eq!(types(&sent(&mut s)), ["0"], "only the heartbeat is due");
    s.handle_timeout(at(t1));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["1"]);
    assert_eq!(get(&out[0], 112), Some("TEST1"));
    s.handle_input(at(t1 + S), &cme(2, "0", "112=TEST1|"));
    s.handle_timeout(at(t1 + HB));
    assert_eq!(s.state(), DropCopyState::Active);
    assert!(events(&mut s).is_empty());
    assert_eq!(types(&sent(&mut s)), ["0"]);
}

#[test]
fn t_7_receive_reject_message_counted() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &cme(2, "3", "45=1|373=5|58=bad|"));
    s.handle_input(at(T0 + S), &cme(3, "3", "45=2|58=again|"));
    assert_eq!(
        events(&mut s),
        vec![Ev::Reject(Some(1)), Ev::Reject(Some(2))]
    );
    assert_eq!(s.stats().rejects_received, 2);
    assert_eq!(s.seq_nums().next_in, 4);
    assert_eq!(s.state(), DropCopyState::Active);
}

#[test]
fn t_8_resend_request_from_cme_answered_with_gap_fill() {
    let mut s = logged_on(SeqNums {
        next_out: 10,
        next_in: 1,
    });
    s.handle_input(at(T0 + S), &cme(2, "2", "7=3|16=0|"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["4"]);
    let m = &out[0];
    assert_eq!(get(m, 34), Some("3"));
    assert_eq!(get(m, 43), Some("Y"));
    assert_eq!(get(m, 123), Some("Y"));
    assert_eq!(get(m, 36), Some("11"));
    assert_eq!(s.seq_nums().next_out, 11);
}

/// FIX: a ResendRequest ahead of a gap is served first, then ours goes out (two crossing
/// ResendRequests must not wait on each other: AutoCert+ "Bi-Directional Resend Request").
#[test]
fn t_8_resend_request_during_gap_answered_at_once() {
    let mut s = logged_on(SeqNums {
        next_out: 10,
        next_in: 1,
    });
    s.handle_input(at(T0 + S), &cme(4, "2", "7=3|16=0|"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["4", "2"]);
    assert_eq!(get(&out[0], 34), Some("3"));
    assert_eq!(get(&out[0], 123), Some("Y"));
    assert_eq!(get(&out[0], 36), Some("11"));
    assert_eq!((get(&out[1], 7), get(&out[1], 16)), (Some("2"), Some("3")));
    s.handle_input(at(T0 + S), &gap_fill(2, 4));
    assert!(sent(&mut s).is_empty(), "not answered twice");
    assert_eq!(s.seq_nums().next_in, 5);
}

#[test]
fn t_10_gap_fill_msg_seq_num_equal() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &gap_fill(2, 20));
    assert_eq!(s.seq_nums().next_in, 20);
    assert!(sent(&mut s).is_empty());
    s.handle_input(at(T0 + S), &exec(20, "A"));
    assert_eq!(app_seqs(&events(&mut s)), [20]);
}

#[test]
fn t_10_gap_fill_msg_seq_num_greater() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &gap_fill(5, 20));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["2"]);
    assert_eq!((get(&out[0], 7), get(&out[0], 16)), (Some("2"), Some("4")));
    assert_eq!(s.seq_nums().next_in, 2);
    s.handle_input(at(T0 + S), &gap_fill(2, 5));
    assert_eq!(s.seq_nums().next_in, 20);
}

#[test]
fn t_10_gap_fill_msg_seq_num_less() {
    let mut s = logged_on(SeqNums {
        next_out: 1,
        next_in: 10,
    });
    // With PossDup: ignored.
    s.handle_input(at(T0 + S), &gap_fill(5, 8));
    assert!(sent(&mut s).is_empty());
    assert_eq!(s.seq_nums().next_in, 11);
    // Without PossDup: too low, Logout.
    s.handle_input(at(T0 + S), &cme(6, "4", "123=Y|36=9|"));
    assert_eq!(types(&sent(&mut s)), ["5"]);
    assert_eq!(s.state(), DropCopyState::Disconnected);
}

#[test]
fn t_10_gap_fill_new_seq_no_not_greater_is_rejected() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &gap_fill(2, 2));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["3"]);
    assert_eq!(get(&out[0], 371), Some("36"));
    assert_eq!(s.seq_nums().next_in, 3);
}

#[test]
fn t_11a_sequence_reset_new_seq_no_greater() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    // Reset mode ignores its own MsgSeqNum.
    s.handle_input(at(T0 + S), &cme(999, "4", "36=50|"));
    assert_eq!(s.seq_nums().next_in, 50);
    assert!(sent(&mut s).is_empty());
    s.handle_input(at(T0 + S), &exec(50, "A"));
    assert_eq!(app_seqs(&events(&mut s)), [50]);
}

#[test]
fn t_11a_sequence_reset_resolves_pending_gap() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &exec(10, "A"));
    sent(&mut s);
    s.handle_input(at(T0 + S), &cme(11, "4", "123=N|36=10|"));
    let evs = events(&mut s);
    assert_eq!(app_seqs(&evs), [10]);
    assert_eq!(*evs.last().unwrap(), Ev::GapFilled(11));
    assert_eq!(s.resend_in_flight(), None);
}

#[test]
fn t_11b_sequence_reset_new_seq_no_equal() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &cme(2, "4", "36=2|"));
    assert_eq!(s.seq_nums().next_in, 2);
    assert!(sent(&mut s).is_empty());
    assert_eq!(s.state(), DropCopyState::Active);
}

#[test]
fn t_11c_sequence_reset_new_seq_no_less() {
    let mut s = logged_on(SeqNums {
        next_out: 1,
        next_in: 10,
    });
    s.handle_input(at(T0 + S), &cme(11, "4", "36=5|"));
    let out = sent(&mut s);
    assert_eq!(types(&out), ["3"]);
    assert_eq!(get(&out[0], 45), Some("11"));
    assert_eq!(get(&out[0], 371), Some("36"));
    assert_eq!(get(&out[0], 373), Some("5"));
    assert_eq!(s.seq_nums().next_in, 11);
    assert_eq!(s.state(), DropCopyState::Active);
}

#[test]
fn t_13b_unsolicited_logout_answered() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.handle_input(at(T0 + S), &cme(2, "5", "58=end of day|"));
    assert_eq!(types(&sent(&mut s)), ["5"]);
    assert_eq!(
        events(&mut s),
        vec![
            Ev::LoggedOut(None),
            Ev::Disc(DisconnectReason::PeerLogout("end of day".into()))
        ]
    );
    assert_eq!(
        s.seq_nums(),
        SeqNums {
            next_out: 3,
            next_in: 3
        }
    );
}

#[test]
fn t_13_our_logout_completes_or_times_out() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.logout(at(T0 + S), "bye").unwrap();
    let out = sent(&mut s);
    assert_eq!(
        (types(&out), get(&out[0], 58)),
        (vec!["5".into()], Some("bye"))
    );
    assert_eq!(s.state(), DropCopyState::LogoutSent);
    s.handle_input(at(T0 + 2 * S), &cme(2, "5", ""));
    assert!(
        sent(&mut s).is_empty(),
        "a Logout answer is not answered again"
    );
    assert_eq!(
        events(&mut s).last(),
        Some(&Ev::Disc(DisconnectReason::LogoutComplete))
    );

    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    s.logout(at(T0 + S), "bye").unwrap();
    s.handle_timeout(at(T0 + 6 * S));
    assert_eq!(
        events(&mut s),
        vec![Ev::Disc(DisconnectReason::LogoutTimeout(5))]
    );
    assert!(s.logout(at(T0 + 7 * S), "again").is_err());
}

#[test]
fn t_14_logout_with_next_expected_msg_seq_num() {
    // Mid-week logon with a stale outbound number: CME answers Logout 789=57.
    let mut s = new_session(SeqNums {
        next_out: 3,
        next_in: 20,
    });
    s.connect(at(T0)).unwrap();
    sent(&mut s);
    s.handle_input(
        at(T0 + S),
        &cme(
            20,
            "5",
            "58=MsgSeqNum too low, expecting 57 but received 3|789=57|",
        ),
    );
    assert_eq!(events(&mut s)[0], Ev::LoggedOut(Some(57)));
    assert_eq!(s.state(), DropCopyState::Disconnected);
    assert_eq!(s.seq_nums().next_out, 57);
    s.connect(at(T0 + 5 * S)).unwrap();
    let l = &sent(&mut s)[0];
    assert_eq!(get(l, 35), Some("A"));
    assert_eq!(get(l, 34), Some("57"));
    assert_eq!(get(l, 369), Some("20"));
}

#[test]
fn t_35n_xml_non_fix_unwrapped() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let inner = framed(
        "35=8|34=77|49=CME|56=TRADER1|52=20231114-22:13:19.123|37=OID9|11=CL9|17=EX9|150=F|39=2|55=ESZ4|48=12345|54=2|38=3|44=4500.5|32=3|31=4500.25|14=3|151=0|60=20231114-22:13:19.120|",
    );
    let mut extra = format!("212={}|213=", inner.len()).replace('|', "\x01");
    extra.push_str(std::str::from_utf8(&inner).unwrap());
    extra.push('\x01');
    let body = format!("35=n|49=CME|56={SENDER}|50=G|34=2|52=20231114-22:13:20.000|")
        .replace('|', "\x01")
        + &extra;
    let mut m = format!("8=FIX.4.2\x019={}\x01{}", body.len(), body).into_bytes();
    let sum = checksum(&m);
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    s.handle_input(at(T0 + S), &m);
    let Some(DropCopyEvent::Application { seq, raw, .. }) = s.poll_event() else {
        panic!("no application event");
    };
    assert_eq!(seq, 2);
    let mut p = ReportParser::new();
    let r = p.parse(raw).unwrap();
    assert_eq!(
        r.source,
        ReportSource::XmlNonFix {
            inner_msg_type: MsgType::EXECUTION_REPORT
        }
    );
    assert_eq!(r.seq_num, 2);
    assert_eq!(r.order_id, Some("OID9"));
    assert_eq!(r.exec_id, Some("EX9"));
    assert_eq!(r.exec_type, Some(b'F'));
    assert_eq!(r.security_id, Some("12345"));
    assert_eq!(r.last_px.map(|p| p.0), Some(4_500_250_000_000));
    assert_eq!(r.inner, Some(&inner[..]));
}

/// CME's page "Drop Copy 4.0 Encapsulated XML Message": 213 holds the original message
/// "embedded in an XML field RTRF", and "Drop Copy 4.0 Standard Header - CME Globex to Client
/// System": a 35=n carries two tag 56 values. PossDup on the inner header only.
#[test]
fn t_35n_cme_rtrf_with_two_target_comp_ids() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let inner = framed(
        "35=8|34=77|43=Y|49=CME|56=SRC01|52=20231114-22:13:19.123|37=OID9|11=CL9|17=EX9|150=F|39=2|55=ESZ4|48=12345|54=2|38=3|44=4500.5|32=3|31=4500.25|14=3|151=0|60=20231114-22:13:19.120|",
    );
    let mut wrapped = b"<RTRF>".to_vec();
    wrapped.extend_from_slice(&inner);
    wrapped.extend_from_slice(b"</RTRF>");
    // The second 56 (the source session) comes first: ours is the other one.
    let mut body = format!(
        "35=n|49=CME|56=SRC01|56={SENDER}|50=G|34=2|52=20231114-22:13:20.000|212={}|213=",
        wrapped.len()
    )
    .replace('|', "\x01")
    .into_bytes();
    body.extend_from_slice(&wrapped);
    body.push(1);
    let mut m = format!("8=FIX.4.2\x019={}\x01", body.len()).into_bytes();
    m.extend_from_slice(&body);
    let sum = checksum(&m);
    m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    s.handle_input(at(T0 + S), &m);
    let Some(DropCopyEvent::Application { seq, raw, .. }) = s.poll_event() else {
        panic!("no application event");
    };
    assert_eq!(seq, 2);
    let mut p = ReportParser::new();
    let r = p.parse(raw).unwrap();
    assert_eq!(r.source.name(), "execution_report");
    assert_eq!(r.exec_id, Some("EX9"));
    assert!(r.poss_dup, "43=Y on the embedded header");
    assert!(!r.poss_resend);
    assert_eq!(r.inner, Some(&inner[..]));
    assert_eq!(s.stats().rejects_sent, 0);
}

#[test]
fn messages_split_across_reads_are_reassembled() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    let mut stream = exec(2, "A");
    stream.extend_from_slice(&exec(3, "B"));
    for chunk in stream.chunks(7) {
        s.handle_input(at(T0 + S), chunk);
    }
    assert_eq!(app_seqs(&events(&mut s)), [2, 3]);
}

#[test]
fn connect_twice_and_bad_config_are_errors() {
    let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
    assert!(matches!(
        s.connect(at(T0)),
        Err(SessionError::WrongState { .. })
    ));
    let mut c = cfg();
    c.sender_comp_id = "A\x01B".into();
    assert!(matches!(
        DropCopySession::new(c, akid(), HmacSigner::new(b"k"), SeqNums::BEGINNING_OF_WEEK),
        Err(SessionError::BadConfig {
            field: "sender_comp_id",
            ..
        })
    ));
    s.connection_lost();
    assert_eq!(
        events(&mut s),
        vec![Ev::Disc(DisconnectReason::ConnectionLost)]
    );
}

fn any_message() -> impl Strategy<Value = Vec<u8>> {
    let types = prop::sample::select(vec!["0", "1", "2", "3", "4", "5", "8", "n", "A", "Z"]);
    let extras = prop::sample::select(vec![
        "",
        "43=Y|",
        "123=Y|36=7|",
        "123=Y|43=Y|36=3|",
        "36=0|",
        "36=9999999|",
        "112=X|",
        "7=1|16=0|",
        "789=5|",
        "45=x|",
        "212=3|213=a|b|",
    ]);
    prop_oneof![
        (0u64..30, types, extras).prop_map(|(seq, t, e)| cme(seq, t, e)),
        prop::collection::vec(any::<u8>(), 0..64),
        (0u64..30, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(seq, i, b)| {
            let mut m = exec(seq, "P");
            let n = m.len();
            m[i.index(n)] = b;
            m
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// No input sequence panics the session; sequence numbers only move forward and resend
    /// ranges stay within CME's limit.
    #[test]
    fn session_never_panics(
        msgs in prop::collection::vec((any_message(), 0u64..40_000_000_000, 1usize..4), 0..40)
    ) {
        let mut s = new_session(SeqNums::BEGINNING_OF_WEEK);
        s.connect(at(T0)).unwrap();
        s.handle_input(at(T0), &cme(1, "A", ""));
        let mut now = T0;
        let mut last_in = s.seq_nums().next_in;
        for (m, dt, split) in msgs {
            now += dt;
            if s.state() == DropCopyState::Disconnected {
                match s.connect(at(now)) {
                    Ok(()) => {}
                    Err(SessionError::LogonThrottled { retry_at, .. }) => {
                        prop_assert!(retry_at > now);
                        prop_assert!(s.recent_invalid_logons(Nanos(now)) >= MAX_INVALID_LOGONS);
                        continue;
                    }
                    Err(e) => prop_assert!(false, "connect: {e}"),
                }
            }
            for c in m.chunks(m.len().div_ceil(split).max(1)) {
                s.handle_input(at(now), c);
            }
            s.handle_timeout(at(now));
            while s.poll_event().is_some() {}
            let _ = s.poll_transmit();
            let seqs = s.seq_nums();
            prop_assert!(seqs.next_in >= last_in);
            last_in = seqs.next_in;
            if let Some((a, b)) = s.resend_in_flight() {
                prop_assert!(a <= b && b - a < MAX_RESEND_RANGE);
            }
        }
    }
}

/// Heartbeat (35=0) and TestRequest (35=1) across an NTP step: the wall clock jumps 10 minutes
/// forward or back right after Logon while the monotonic clock runs on. Our Heartbeat still
/// leaves every HeartBtInt (no silence), CME's traffic keeps us from probing with a TestRequest
/// or disconnecting, and SendingTime (52) follows the wall clock.
#[test]
fn heartbeats_are_unaffected_by_a_ten_minute_wall_clock_step_either_way() {
    const TEN_MIN: u64 = 600 * S;
    for forward in [true, false] {
        let mut s = logged_on(SeqNums::BEGINNING_OF_WEEK);
        let stepped = |mono: u64| Now {
            mono: Nanos(mono),
            wall: crate::types::WallNanos(if forward {
                mono + TEN_MIN
            } else {
                mono - TEN_MIN
            }),
        };
        for k in 1..=6u64 {
            // CME's heartbeat, a second before ours is due.
            let due = T0 + k * HB_SEND;
            s.handle_input(stepped(due - S), &cme(k + 1, "0", ""));
            assert_eq!(
                s.next_deadline(),
                Some(Nanos(due)),
                "forward={forward} k={k}"
            );
            s.handle_timeout(stepped(due - 1));
            assert!(sent(&mut s).is_empty(), "nothing before the interval");
            s.handle_timeout(stepped(due));
            let out = sent(&mut s);
            assert_eq!(types(&out), ["0"], "a Heartbeat, no TestRequest");
            let want = crate::dropcopy::time::format_sending_time(stepped(due).wall.0);
            assert_eq!(get(&out[0], 52).map(str::as_bytes), Some(&want[..]));
            assert!(events(&mut s).is_empty(), "no alert, no disconnect");
            assert_eq!(s.state(), DropCopyState::Active);
        }
    }
}

// ---- CERTIFICATION.md 2.5 / 7: the weekly cycle, Friday close to Sunday open -------------------

/// Wall-clock ns of a UTC date-time (the fake clock's wall side).
fn wall(t: time::OffsetDateTime) -> u64 {
    t.unix_timestamp_nanos() as u64
}

/// `mono` runs on from T0; `wall` is the calendar time under test.
fn at_wall(mono: u64, wall_ns: u64) -> Now {
    Now {
        mono: Nanos(mono),
        wall: crate::types::WallNanos(wall_ns),
    }
}

/// CME's Logon answer at `seq`.
fn cme_logon(seq: u64) -> Vec<u8> {
    cme(seq, "A", "98=0|108=30|")
}

/// A session mid-week: logged on Friday with high numbers, a report received at Friday 16:59 CT,
/// then the connection closed at CME's Friday close.
fn friday_session() -> DropCopySession {
    let fri = wall(time::macros::datetime!(2024-06-14 21:59 UTC));
    let mut s = new_session(SeqNums {
        next_out: 40,
        next_in: 500,
    });
    s.connect(at_wall(T0, fri)).unwrap();
    s.handle_input(at_wall(T0 + S, fri), &cme_logon(500));
    s.handle_input(at_wall(T0 + S, fri), &exec(501, "FRI-1"));
    assert_eq!(s.state(), DropCopyState::Active);
    s.connection_lost();
    events(&mut s);
    sent(&mut s);
    assert_eq!(s.last_activity(), fri);
    s
}

#[test]
fn weekly_startup_on_sunday_restarts_both_sequence_numbers_at_1() {
    let mut s = friday_session();
    assert_eq!(
        s.seq_nums(),
        SeqNums {
            next_out: 41,
            next_in: 502
        }
    );
    // Saturday (24/7 services only): still last week's numbers.
    let sat = wall(time::macros::datetime!(2024-06-15 12:00 UTC));
    s.connect(at_wall(T0 + 100 * S, sat)).unwrap();
    assert_eq!(get(&sent(&mut s)[0], 34), Some("41"));
    assert!(!events(&mut s).iter().any(|e| matches!(e, Ev::Weekly(..))));
    s.connection_lost();
    events(&mut s);
    // Sunday 10:31 CT (CDT): the week started; the Logon goes out at 34=1 expecting 1.
    let sun = wall(time::macros::datetime!(2024-06-16 15:31 UTC));
    s.connect(at_wall(T0 + 200 * S, sun)).unwrap();
    let logon = sent(&mut s);
    assert_eq!(get(&logon[0], 35), Some("A"));
    assert_eq!(get(&logon[0], 34), Some("1"));
    assert_eq!(get(&logon[0], 369), Some("0"));
    s.handle_input(at_wall(T0 + 201 * S, sun), &cme_logon(1));
    s.handle_input(at_wall(T0 + 201 * S, sun), &exec(2, "SUN-1"));
    let evs = events(&mut s);
    assert_eq!(
        evs[0],
        Ev::Weekly(
            SeqNums {
                next_out: 42,
                next_in: 502
            },
            false
        )
    );
    assert!(evs.contains(&Ev::LoggedOn(2, 2)), "{evs:?}");
    assert_eq!(app_seqs(&evs), [2]);
    assert_eq!(s.state(), DropCopyState::Active);
    assert!(sent(&mut s).is_empty(), "no Logout, no ResendRequest");
    assert_eq!(
        s.seq_nums(),
        SeqNums {
            next_out: 2,
            next_in: 3
        }
    );
}

#[test]
fn cme_logon_at_34_1_after_the_boundary_is_a_new_week_not_a_low_sequence() {
    // Our clock says 10:29 CT, before the start-up: the Logon goes out with last week's numbers.
    let mut s = friday_session();
    let early = wall(time::macros::datetime!(2024-06-16 15:29 UTC));
    s.connect(at_wall(T0 + 100 * S, early)).unwrap();
    assert_eq!(get(&sent(&mut s)[0], 34), Some("41"));
    // CME, already in its new week, answers at 34=1 at 10:30:30.
    let answer = wall(time::macros::datetime!(2024-06-16 15:30:30 UTC));
    s.handle_input(at_wall(T0 + 101 * S, answer), &cme_logon(1));
    let evs = events(&mut s);
    assert_eq!(
        evs[0],
        Ev::Weekly(
            SeqNums {
                next_out: 42,
                next_in: 502
            },
            true
        )
    );
    assert!(evs.contains(&Ev::LoggedOn(42, 2)), "{evs:?}");
    assert!(!evs.iter().any(|e| matches!(e, Ev::Disc(_))), "{evs:?}");
    assert!(sent(&mut s).is_empty(), "no Logout");
}

#[test]
fn cme_logon_at_34_1_mid_week_is_still_too_low() {
    let mut s = friday_session();
    // Back on the same Friday afternoon: no start-up in between.
    let fri = wall(time::macros::datetime!(2024-06-14 21:59:30 UTC));
    s.connect(at_wall(T0 + 100 * S, fri)).unwrap();
    sent(&mut s);
    s.handle_input(at_wall(T0 + 101 * S, fri), &cme_logon(1));
    let evs = events(&mut s);
    assert!(!evs.iter().any(|e| matches!(e, Ev::Weekly(..))), "{evs:?}");
    assert!(evs.iter().any(|e| matches!(
        e,
        Ev::Disc(DisconnectReason::SeqTooLow {
            expected: 502,
            received: 1
        })
    )));
    assert_eq!(types(&sent(&mut s)), ["5"]);
}
