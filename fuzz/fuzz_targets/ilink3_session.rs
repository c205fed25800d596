//! An iLink 3 FIXP session driven to Established with valid frames (Negotiate /
//! NegotiationResponse, Establish / EstablishmentAck), then fed arbitrary frames under a fake
//! clock.
//!
//! The input is a sequence of operations (read with `arbitrary::Unstructured`): raw inbound
//! bytes; a frame of any supported template built here from fuzzer bytes, with a correct SOFH and
//! SBE header and, most of the time, the session's UUID and a sequence number near the expected
//! one patched in (so that it passes the session's checks and reaches gap handling,
//! retransmission, NotApplied, Terminate...), delivered whole or split; the clock moving by an
//! input-derived step with the timers run when due; an order sent; a Terminate; the connection
//! lost and re-established. The session must never panic, everything it queues for sending must
//! frame and decode, and every business message it delivers carries the header and the
//! SeqNum/UUID it was delivered under.
#![no_main]

use arbitrary::{Result, Unstructured};
use ilinkd::auth::HmacSigner;
use ilinkd::ilink3::session::{
    ConnectMode, Credentials, FixpEvent, FixpSession, FixpState, NotAppliedPolicy, SessionConfig,
    SessionSeqState,
};
use ilinkd::ilink3::{
    decode, decode_header, EstablishmentAckWriter, Frames, Message, MessageDesc,
    NegotiationResponseWriter, NewOrderSingleWriter, MESSAGES, SBE_ENCODING_TYPE, SCHEMA_ID,
};
use ilinkd::types::{Nanos, Now, WallNanos};
use libfuzzer_sys::fuzz_target;

const KA_MS: u16 = 5000;
const MS: u64 = 1_000_000;
/// Wednesday 2026-11-18 14:00:00 UTC.
const T0: u64 = 1_795_010_400_000_000_000;

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
    fn step(&mut self, ns: u64) {
        self.mono += ns;
        self.wall += ns;
    }
}

fn new_session(not_applied: NotAppliedPolicy) -> FixpSession {
    FixpSession::new(
        SessionConfig {
            session_id: "ABC".into(),
            firm_id: "007".into(),
            trading_system_name: "ilinkd".into(),
            trading_system_version: "0.1.0".into(),
            trading_system_vendor: "ACME".into(),
            keepalive_ms: KA_MS,
            not_applied,
        },
        Credentials {
            access_key_id: "AKIDAAAAAAAAAAAAAAA1".into(),
            signer: HmacSigner::new(b"0123456789abcdef0123456789abcdef"),
        },
        SessionSeqState::default(),
    )
}

/// What the harness tracks of the session's traffic.
#[derive(Default)]
struct Seen {
    /// UUID of the last Negotiate / Establish the session sent.
    logon_uuid: Option<(u16, u64)>,
}

/// Takes what the session queued for sending (every frame must decode) and its events.
fn drain(s: &mut FixpSession, clock: &Clock, seen: &mut Seen, durable: bool) {
    for _ in 0..8 {
        if let Some(tx) = s.poll_transmit() {
            let mut frames = Frames::new(tx);
            for f in frames.by_ref() {
                let f = f.expect("the session queued a malformed frame");
                match decode(f).expect("the session queued a frame that does not decode") {
                    Message::Negotiate(n) => seen.logon_uuid = Some((500, n.uuid())),
                    Message::Establish(e) => seen.logon_uuid = Some((503, e.uuid())),
                    _ => {}
                }
            }
            assert!(
                frames.remainder().is_empty(),
                "the session queued a partial frame"
            );
        }
        let mut new_uuid = None;
        while let Some(e) = s.poll_event() {
            match e {
                FixpEvent::Business(b) => {
                    // The session sequences business messages by their header and first 12
                    // bytes (templates it cannot decode included); the reader decodes the rest.
                    let f = s.business_frame(&b);
                    let (h, body) = decode_header(f).expect("a delivered frame has no header");
                    assert_eq!(h.template_id, b.template_id);
                    assert_eq!(body.get(0..4), Some(&b.seq.to_le_bytes()[..]));
                    assert_eq!(body.get(4..12), Some(&b.uuid.to_le_bytes()[..]));
                    let _ = decode(f);
                }
                FixpEvent::NewUuid { uuid, .. } => new_uuid = Some(uuid),
                _ => {}
            }
        }
        match new_uuid {
            Some(uuid) => {
                let _ = s.uuid_persisted(clock.now(), uuid, durable);
            }
            None => return,
        }
    }
}

fn negotiation_response(uuid: u64) -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let mut w = NegotiationResponseWriter::new(&mut buf).expect("room");
    w.set_uuid(uuid)
        .set_request_timestamp(T0)
        .set_previous_seq_no(0);
    let n = w.finish();
    buf.truncate(n);
    buf
}

fn establishment_ack(uuid: u64, next_seq: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let mut w = EstablishmentAckWriter::new(&mut buf).expect("room");
    w.set_uuid(uuid)
        .set_request_timestamp(T0)
        .set_next_seq_no(next_seq)
        .set_previous_uuid(0)
        .set_previous_seq_no(0)
        .set_keep_alive_interval(KA_MS);
    let n = w.finish();
    buf.truncate(n);
    buf
}

/// Answers the session's pending Negotiate / Establish, if any.
fn answer_logon(s: &mut FixpSession, clock: &mut Clock, seen: &mut Seen, next_seq: u32) {
    for _ in 0..2 {
        let frame = match (s.state(), seen.logon_uuid) {
            (FixpState::Negotiating, Some((500, uuid))) => negotiation_response(uuid),
            (FixpState::Establishing, Some((503, uuid))) => establishment_ack(uuid, next_seq),
            _ => return,
        };
        clock.step(MS);
        s.handle_input(clock.now(), &frame);
        drain(s, clock, seen, true);
    }
}

/// A frame of `desc`'s template from fuzzer bytes, with a right header and, mostly, the
/// session's UUID and sequence numbers near the expected ones.
fn frame(
    u: &mut Unstructured<'_>,
    desc: &MessageDesc,
    st: SessionSeqState,
    out: &mut Vec<u8>,
) -> Result<()> {
    let block_len = if u.ratio(7, 8)? {
        desc.block_length
    } else {
        u.int_in_range(0..=desc.block_length + 16)?
    };
    let version: u16 = match u.int_in_range(0..=15)? {
        0 => u.arbitrary()?,
        1 => 8,
        _ => 9,
    };
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&SBE_ENCODING_TYPE.to_le_bytes());
    out.extend_from_slice(&(block_len as u16).to_le_bytes());
    out.extend_from_slice(&desc.template_id.to_le_bytes());
    out.extend_from_slice(&SCHEMA_ID.to_le_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    let block_at = out.len();
    let taken = u.bytes(block_len.min(u.len()))?;
    out.extend_from_slice(taken);
    out.resize(block_at + block_len, 0);
    let patch = u.ratio(7, 8)?;
    for f in desc.fields {
        if !patch || f.offset + f.size > block_len {
            continue;
        }
        let at = block_at + f.offset;
        let seq = |u: &mut Unstructured<'_>| -> Result<u32> {
            Ok(match u.int_in_range(0..=7)? {
                0 => u.arbitrary()?,
                1 => u32::MAX - u32::from(u.int_in_range(0u8..=2)?),
                _ => st
                    .next_inbound_seq
                    .saturating_add_signed(i32::from(u.int_in_range(-3i8..=6)?)),
            })
        };
        match (f.name, f.size) {
            ("UUID", 8) => out[at..at + 8].copy_from_slice(&st.uuid.to_le_bytes()),
            ("LastUUID" | "PreviousUUID", 8) => {
                let v = if u.ratio(1, 2)? {
                    st.uuid
                } else {
                    st.previous_uuid
                };
                out[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            ("SeqNum" | "NextSeqNo" | "FromSeqNo" | "PreviousSeqNo", 4) => {
                let v = seq(u)?;
                out[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            ("MsgCount", 4) => {
                let v: u32 = u.int_in_range(0..=3000)?;
                out[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            ("MsgCount", 2) => {
                let v: u16 = u.int_in_range(0..=3000)?;
                out[at..at + 2].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
    // Groups and var data: raw bytes.
    let tail = u.int_in_range(0..=96)?;
    out.extend_from_slice(u.bytes(tail.min(u.len()))?);
    let size = (out.len() - start).min(usize::from(u16::MAX)) as u16;
    out[start..start + 2].copy_from_slice(&size.to_le_bytes());
    out.truncate(start + usize::from(size));
    Ok(())
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let policy = if u.ratio(1, 2)? {
        NotAppliedPolicy::GapFill
    } else {
        NotAppliedPolicy::Resend
    };
    let mut s = new_session(policy);
    let mut clock = Clock {
        mono: 1_000_000 * MS,
        wall: T0,
    };
    let mut seen = Seen::default();
    s.connect(clock.now(), ConnectMode::Auto)
        .expect("a new session connects");
    drain(&mut s, &clock, &mut seen, true);
    answer_logon(&mut s, &mut clock, &mut seen, 1);
    assert_eq!(
        s.state(),
        FixpState::Established,
        "the handshake did not establish"
    );

    let mut buf = Vec::with_capacity(4096);
    let mut ops = 0;
    while !u.is_empty() && ops < 128 {
        ops += 1;
        match u.int_in_range(0..=11)? {
            0 => {
                let n = u.int_in_range(0..=256)?;
                s.handle_input(clock.now(), u.bytes(n)?);
            }
            1..=5 => {
                buf.clear();
                let count = u.int_in_range(1..=3)?;
                for _ in 0..count {
                    let desc = u.choose(MESSAGES)?;
                    frame(u, desc, s.stored_state(), &mut buf)?;
                }
                if u.ratio(1, 4)? {
                    let cut = u.int_in_range(0..=buf.len())?;
                    s.handle_input(clock.now(), &buf[..cut]);
                    drain(&mut s, &clock, &mut seen, true);
                    s.handle_input(clock.now(), &buf[cut..]);
                } else {
                    s.handle_input(clock.now(), &buf);
                }
            }
            6 | 7 => {
                let step = if u.ratio(1, 2)? {
                    u64::from(u.int_in_range(0u32..=2_000)?) * MS
                } else {
                    u64::from(u.int_in_range(0u32..=30_000)?) * MS
                };
                clock.step(step);
                for _ in 0..4 {
                    if s.next_deadline().is_none_or(|d| d.0 > clock.mono) {
                        break;
                    }
                    s.handle_timeout(clock.now());
                    drain(&mut s, &clock, &mut seen, true);
                }
            }
            8 => {
                let qty = u.int_in_range(1..=100)?;
                let _ = s.send_business(clock.now(), |seq, _uuid, out| {
                    let mut w = NewOrderSingleWriter::new(out)?;
                    w.set_seq_num(seq).set_order_qty(qty).set_security_id(42);
                    w.set_cl_ord_id(format!("C{seq}"))?;
                    Ok(w.finish())
                });
            }
            9 => {
                let code = u.arbitrary()?;
                let _ = s.terminate(clock.now(), code);
            }
            _ => {
                // The connection drops; reconnect and log on again (new UUID or the same).
                s.on_disconnected();
                drain(&mut s, &clock, &mut seen, true);
                clock.step(u64::from(u.int_in_range(0u32..=5_000)?) * MS);
                let mode = if u.ratio(1, 4)? {
                    ConnectMode::NewUuid
                } else {
                    ConnectMode::Auto
                };
                if s.connect(clock.now(), mode).is_ok() {
                    let durable = u.ratio(15, 16)?;
                    drain(&mut s, &clock, &mut seen, durable);
                    let next = s.stored_state().next_inbound_seq;
                    answer_logon(&mut s, &mut clock, &mut seen, next);
                }
            }
        }
        drain(&mut s, &clock, &mut seen, true);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
