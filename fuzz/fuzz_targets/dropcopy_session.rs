//! A Drop Copy session fed arbitrary inbound bytes under a fake clock.
//!
//! The input is a sequence of operations (read with `arbitrary::Unstructured`): raw inbound
//! bytes; an inbound message framed here (valid BodyLength and CheckSum, CompIDs right or wrong,
//! MsgSeqNum near the expected one or anything, fuzzer-chosen MsgType and fields) delivered
//! whole or split in two reads; the clock moving forward by an input-derived step (and the
//! timers run when due); connect, logout and connection loss. The session must never panic,
//! everything it queues for sending must frame and parse, and its deadline must not be in the
//! past after the timers ran.
#![no_main]

use arbitrary::{Result, Unstructured};
use ilinkd::auth::{AccessKeyId, HmacSigner};
use ilinkd::dropcopy::{
    checksum, frame, parse, DropCopyEvent, DropCopySession, DropCopyState, FieldIndex, Frame,
    SeqNums, SessionConfig,
};
use ilinkd::types::{Nanos, Now, WallNanos};
use libfuzzer_sys::fuzz_target;

const S: u64 = 1_000_000_000;
/// Tuesday 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000 * S;
const SENDER: &str = "ABC123N";
/// The largest sequence number FIX fields carry (`parse_u64` takes at most 18 digits).
const MAX_SEQ: u64 = 999_999_999_999_999_999;

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

struct Clock {
    mono: u64,
    wall: u64,
}

impl Clock {
    fn now(&self) -> Now {
        Now {
            mono: Nanos(self.mono),
            wall: WallNanos(self.wall),
        }
    }
}

/// MsgTypes CME sends (admin and application), then anything.
const TYPES: &[&[u8]] = &[
    b"A", b"0", b"1", b"2", b"3", b"4", b"5", b"8", b"n", b"j", b"BE",
];

/// Builds `8=FIX.4.2|9=..|35=..|49=..|56=..|34=..|52=..|<extra>10=..|`.
fn message(u: &mut Unstructured<'_>, expected: u64, out: &mut Vec<u8>) -> Result<()> {
    let mut body = Vec::with_capacity(256);
    let mt: &[u8] = if u.ratio(7, 8)? {
        u.choose(TYPES)?
    } else {
        let n = u.int_in_range(0..=3)?;
        u.bytes(n)?
    };
    body.extend_from_slice(b"35=");
    body.extend_from_slice(mt);
    body.push(1);
    let (sender, target): (&[u8], &[u8]) = match u.int_in_range(0..=15)? {
        0 => (b"XYZ", SENDER.as_bytes()),
        1 => (b"CME", b"OTHER"),
        _ => (b"CME", SENDER.as_bytes()),
    };
    body.extend_from_slice(b"49=");
    body.extend_from_slice(sender);
    body.extend_from_slice(b"\x0156=");
    body.extend_from_slice(target);
    body.push(1);
    let seq: u64 = match u.int_in_range(0..=7)? {
        0 => u.arbitrary()?,
        1 => MAX_SEQ - u64::from(u.int_in_range(0u8..=3)?),
        _ => expected.saturating_add_signed(i64::from(u.int_in_range(-3i8..=5)?)),
    };
    body.extend_from_slice(format!("34={seq}\x0152=20231114-22:13:20.000\x01").as_bytes());
    if u.ratio(1, 4)? {
        body.extend_from_slice(b"43=Y\x01");
    }
    // Fields the session reads, with fuzzer-chosen values, then raw bytes.
    let n = u.int_in_range(0..=4)?;
    for _ in 0..n {
        let tag: u32 = *u.choose(&[7, 16, 36, 45, 58, 108, 112, 123, 373, 789, 212, 213])?;
        let value: u64 = match u.int_in_range(0..=3)? {
            0 => u.arbitrary()?,
            1 => MAX_SEQ - u64::from(u.int_in_range(0u8..=3)?),
            _ => expected.saturating_add_signed(i64::from(u.int_in_range(-3i8..=8)?)),
        };
        if tag == 123 {
            body.extend_from_slice(b"123=Y\x01");
        } else {
            body.extend_from_slice(format!("{tag}={value}\x01").as_bytes());
        }
    }
    let tail_len = u.int_in_range(0..=64)?;
    body.extend_from_slice(u.bytes(tail_len)?);
    out.extend_from_slice(format!("8=FIX.4.2\x019={}\x01", body.len()).as_bytes());
    out.extend_from_slice(&body);
    let sum = checksum(out);
    out.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    Ok(())
}

/// Takes what the session queued for sending: every message must frame and parse.
fn drain(s: &mut DropCopySession, index: &mut FieldIndex) {
    if let Some(tx) = s.poll_transmit() {
        let mut buf = tx;
        while !buf.is_empty() {
            let Frame::Complete(n) = frame(buf) else {
                panic!("the session queued a malformed frame: {:?}", frame(buf));
            };
            if let Err(e) = parse(&buf[..n], index) {
                panic!("the session queued a message that does not parse: {e}");
            }
            buf = &buf[n..];
        }
    }
    while let Some(e) = s.poll_event() {
        if let DropCopyEvent::Application { raw, .. } = e {
            assert!(!raw.is_empty());
        }
    }
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let seqs = SeqNums {
        next_out: u.int_in_range(1..=3)?,
        next_in: u.int_in_range(1..=3)?,
    };
    let akid = AccessKeyId::parse("ABCDEFGHIJ0123456789").expect("valid access key id");
    let mut s = DropCopySession::new(cfg(), akid, HmacSigner::new(b"fuzz key"), seqs)
        .expect("valid session config");
    let mut clock = Clock {
        mono: 1_000 * S,
        wall: T0,
    };
    let mut index = FieldIndex::new();
    let mut msg = Vec::with_capacity(1024);
    let _ = s.connect(clock.now());
    drain(&mut s, &mut index);
    let mut ops = 0;
    while !u.is_empty() && ops < 256 {
        ops += 1;
        match u.int_in_range(0..=9)? {
            0 => {
                let n = u.int_in_range(0..=512)?;
                let bytes = u.bytes(n)?;
                s.handle_input(clock.now(), bytes);
            }
            1 => {
                // Answer a Logon.
                msg.clear();
                let expected = s.seq_nums().next_in;
                let body = format!(
                    "35=A\x0149=CME\x0156={SENDER}\x0134={expected}\x0152=20231114-22:13:20.000\x0198=0\x01108=30\x01"
                );
                msg.extend_from_slice(format!("8=FIX.4.2\x019={}\x01", body.len()).as_bytes());
                msg.extend_from_slice(body.as_bytes());
                let sum = checksum(&msg);
                msg.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
                s.handle_input(clock.now(), &msg);
            }
            2..=5 => {
                msg.clear();
                let expected = s.seq_nums().next_in;
                let count = u.int_in_range(1..=3)?;
                for _ in 0..count {
                    message(u, expected, &mut msg)?;
                }
                if u.ratio(1, 4)? {
                    let cut = u.int_in_range(0..=msg.len())?;
                    s.handle_input(clock.now(), &msg[..cut]);
                    drain(&mut s, &mut index);
                    s.handle_input(clock.now(), &msg[cut..]);
                } else {
                    s.handle_input(clock.now(), &msg);
                }
            }
            6 | 7 => {
                // The clock moves: a little (jitter) or by up to two minutes.
                let step = if u.ratio(1, 2)? {
                    u64::from(u.int_in_range(0u32..=2_000_000)?)
                } else {
                    u64::from(u.int_in_range(0u32..=120_000)?) * 1_000_000
                };
                clock.mono += step;
                clock.wall += step;
                if s.next_deadline().is_some_and(|d| d.0 <= clock.mono) {
                    s.handle_timeout(clock.now());
                    drain(&mut s, &mut index);
                    if let Some(d) = s.next_deadline() {
                        assert!(
                            d.0 > clock.mono || s.state() == DropCopyState::Disconnected,
                            "deadline {} not after now {} once the timers ran ({:?})",
                            d.0,
                            clock.mono,
                            s.state()
                        );
                    }
                }
            }
            8 => {
                if s.state() == DropCopyState::Disconnected {
                    let _ = s.connect(clock.now());
                } else {
                    s.connection_lost();
                }
            }
            _ => {
                let _ = s.logout(clock.now(), "fuzz");
            }
        }
        drain(&mut s, &mut index);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
