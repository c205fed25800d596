//! Drop Copy 4.0 initiator session (FIX 4.2), sans-IO.
//!
//! The caller owns the socket and the clock. Time comes in as [`Now`]: heartbeats, TestRequest,
//! resend and logon/logout timeouts run on the monotonic `now.mono` (a wall-clock step neither
//! silences nor lapses the session); SendingTime (52) is stamped from the wall clock `now.wall`.
//! Every timestamp the session keeps is monotonic nanoseconds.
//! * [`DropCopySession::connect`] when TCP is up (queues the signed Logon),
//! * [`DropCopySession::handle_input`] with every chunk read, [`DropCopySession::handle_timeout`] when
//!   [`DropCopySession::next_deadline`] passes,
//! * then drains [`DropCopySession::poll_transmit`] (bytes to write) and [`DropCopySession::poll_event`].
//!   After [`DropCopyEvent::Disconnect`] the caller writes what `poll_transmit` still returns and closes.
//!
//! Sequence numbers are input ([`SeqNums`] at construction: 1/1 at the beginning of the week,
//! the persisted values mid-week) and exposed by [`DropCopySession::seq_nums`] for the caller to persist.
//! Both restart at 1 on CME's weekly start-up ([`DropCopyEvent::WeeklyReset`]): at connect when
//! a start-up passed since the last message received ([`DropCopySession::set_last_activity`]),
//! or when CME answers the Logon at 34=1 after that boundary.
//!
//! Inbound sequence handling follows FIX 4.2 and CME: a gap is requested with ResendRequest in
//! ranges of at most [`MAX_RESEND_RANGE`], one request in flight; live messages received
//! meanwhile are held and delivered in order once the gap is filled. PossDup messages already
//! seen are dropped; a lower sequence without PossDup ends the session with a Logout. A
//! ResendRequest CME leaves unanswered for [`RESEND_TIMEOUT_HEARTBEATS`] heartbeat intervals
//! (no message of the range arrived meanwhile) is sent again for what is still missing.
//!
//! CME closes the port at the fifth invalid Logon within 60 s. A Logon counts as invalid when
//! CME answers it with a Logout or Reject, or the connection ends before CME's Logon; after
//! [`MAX_INVALID_LOGONS`] of them within [`INVALID_LOGON_WINDOW_S`] (plus a second of margin),
//! [`DropCopySession::connect`] refuses with [`SessionError::LogonThrottled`] and an [`DropCopyEvent::Alert`]
//! until the oldest leaves the window ([`DropCopySession::logon_allowed_at`] says when).

use super::codec::{frame, parse, EncodeError, Encoder, FieldIndex, FixError, Frame, Message};
use super::time::{format_sending_time, SENDING_TIME_LEN};
use crate::auth::{AccessKeyId, FixLogonCanonical, HmacSigner};
use crate::types::{Nanos, Now};
use std::collections::VecDeque;

/// Largest ResendRequest range CME accepts.
pub const MAX_RESEND_RANGE: u64 = 2500;
/// A ResendRequest without progress for this many heartbeat intervals is sent again.
pub const RESEND_TIMEOUT_HEARTBEATS: u64 = 2;
/// Invalid Logons allowed within [`INVALID_LOGON_WINDOW_S`]: CME closes the port at the next.
pub const MAX_INVALID_LOGONS: usize = 4;
/// CME's window for counting invalid Logons, seconds.
pub const INVALID_LOGON_WINDOW_S: u64 = 60;
/// Our window: CME's plus a second for clock and network skew.
const INVALID_LOGON_WINDOW_NS: u64 = (INVALID_LOGON_WINDOW_S + 1) * 1_000_000_000;
/// Room reserved in the transmit buffer per admin message.
const TX_SLOT: usize = 1024;
/// Longest Logout/Reject text we send.
const MAX_TEXT: usize = 200;

/// DropCopySession settings (tags and timers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// 49: session id + fault-tolerance indicator.
    pub sender_comp_id: String,
    /// 50: operator id.
    pub sender_sub_id: String,
    /// 56 (CME).
    pub target_comp_id: String,
    /// 57: `G` or the market segment.
    pub target_sub_id: String,
    /// 142.
    pub sender_location_id: String,
    /// 108, seconds.
    pub heartbeat_s: u32,
    /// 1603/1604/1605.
    pub app_system_name: String,
    pub app_system_version: String,
    pub app_system_vendor: String,
    /// Seconds to wait for the Logon answer.
    pub logon_timeout_s: u32,
    /// Seconds to wait for the Logout answer.
    pub logout_timeout_s: u32,
}

impl SessionConfig {
    fn validate(&self) -> Result<(), SessionError> {
        let fields = [
            ("sender_comp_id", &self.sender_comp_id),
            ("sender_sub_id", &self.sender_sub_id),
            ("target_comp_id", &self.target_comp_id),
            ("target_sub_id", &self.target_sub_id),
            ("sender_location_id", &self.sender_location_id),
            ("app_system_name", &self.app_system_name),
            ("app_system_version", &self.app_system_version),
            ("app_system_vendor", &self.app_system_vendor),
        ];
        for (field, v) in fields {
            if v.is_empty() || v.len() > 64 || v.bytes().any(|b| b.is_ascii_control()) {
                return Err(SessionError::BadConfig {
                    field,
                    why: "must be 1-64 printable characters",
                });
            }
        }
        if self.heartbeat_s == 0 || self.heartbeat_s > 3600 {
            return Err(SessionError::BadConfig {
                field: "heartbeat_s",
                why: "must be 1-3600 seconds (CME accepts 5-60)",
            });
        }
        Ok(())
    }
}

/// Next sequence numbers: persisted by the caller, given back at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqNums {
    /// Our next outbound 34.
    pub next_out: u64,
    /// The next inbound 34 we expect.
    pub next_in: u64,
}

impl SeqNums {
    /// Weekly start: both streams at 1.
    pub const BEGINNING_OF_WEEK: SeqNums = SeqNums {
        next_out: 1,
        next_in: 1,
    };
}

/// DropCopySession state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropCopyState {
    /// No connection (initial, or after a disconnect).
    Disconnected,
    /// Logon sent, waiting for CME's Logon.
    LogonSent,
    /// Logged on.
    Active,
    /// Our Logout sent, waiting for CME's.
    LogoutSent,
}

/// Why the session asks the caller to close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisconnectReason {
    #[error("no Logon answer within {0} s")]
    LogonTimeout(u32),
    #[error("our TestRequest went unanswered")]
    TestRequestUnanswered,
    #[error("Logout exchange complete")]
    LogoutComplete,
    #[error("no Logout answer within {0} s")]
    LogoutTimeout(u32),
    #[error("MsgSeqNum too low: expected {expected}, received {received} without PossDupFlag")]
    SeqTooLow { expected: u64, received: u64 },
    #[error("first message was not a Logon (35={0})")]
    NotLogon(String),
    #[error("counterparty logged out: {0}")]
    PeerLogout(String),
    #[error("CompID problem: {0}")]
    CompIdMismatch(String),
    #[error("connection lost")]
    ConnectionLost,
}

/// Misuse of the session API or a bad configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("session config {field}: {why}")]
    BadConfig {
        field: &'static str,
        why: &'static str,
    },
    #[error("cannot {action} in state {state:?}")]
    WrongState {
        action: &'static str,
        state: DropCopyState,
    },
    #[error("encoding: {0}")]
    Encode(#[from] EncodeError),
    /// [`MAX_INVALID_LOGONS`] invalid Logons within the window: a fifth would make CME close
    /// the port. Retry at `retry_at` (nanoseconds, the caller's clock).
    #[error("{count} invalid Logons within {INVALID_LOGON_WINDOW_S} s: not sending another before {retry_at} (CME closes the port at the fifth)")]
    LogonThrottled { count: usize, retry_at: u64 },
}

/// What happened, for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropCopyEvent<'a> {
    /// CME answered our Logon.
    LoggedOn { next_out: u64, next_in: u64 },
    /// An in-sequence business message (35=8, 35=n, ...): parse `raw` with
    /// [`ReportParser`](super::report::ReportParser).
    Application {
        seq: u64,
        poss_dup: bool,
        raw: &'a [u8],
    },
    /// A ResendRequest was sent for `from..=to`.
    ResendRequested { from: u64, to: u64 },
    /// Every gap is filled and held messages delivered.
    GapFilled { next_in: u64 },
    /// CME rejected one of our messages (35=3).
    RejectReceived {
        ref_seq: Option<u64>,
        reason: Option<u64>,
        text: String,
    },
    /// CME's Logout (with 789 NextExpectedMsgSeqNum when present; already applied to
    /// `next_out`).
    LoggedOut {
        text: String,
        next_expected: Option<u64>,
    },
    /// CME's weekly start-up passed: both sequence numbers start again from 1 (`previous`: the
    /// numbers of the week that ended). Seen at [`DropCopySession::connect`] from the schedule
    /// (a start-up since the last message received, see [`super::week`]; `by_logon` false), or
    /// from CME's Logon answer at 34=1 after the boundary (`by_logon` true; our Logon already
    /// went out, so only the inbound side restarts). The caller rotates its journal.
    WeeklyReset { previous: SeqNums, by_logon: bool },
    /// Something operations must look at (sequence too low, CompID mismatch, ...).
    Alert { text: String },
    /// Garbled bytes or a message that failed validation; ignored.
    Garbled { error: FixError },
    /// Close the connection (after writing what `poll_transmit` returns).
    Disconnect { reason: DisconnectReason },
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    pub received: u64,
    pub sent: u64,
    pub garbled: u64,
    pub rejects_received: u64,
    pub rejects_sent: u64,
    pub duplicates_dropped: u64,
    pub resend_requests_sent: u64,
    pub test_requests_sent: u64,
    pub heartbeats_sent: u64,
}

enum Queued {
    App {
        seq: u64,
        poss_dup: bool,
        start: usize,
        end: usize,
    },
    Other(DropCopyEvent<'static>),
}

#[derive(Debug, Clone, Copy)]
struct Held {
    seq: u64,
    start: usize,
    end: usize,
    /// Already acted on when it arrived (TestRequest answered, Logon accepted).
    handled: bool,
}

/// Transmit side: pending bytes plus the precomputed header block.
struct Outbox {
    tx: Vec<u8>,
    taken: bool,
    /// `49=..|56=..|50=..|57=..|142=..|`
    header: Vec<u8>,
    last_sent: u64,
}

impl Outbox {
    /// Encodes `35=msg_type|<header>|34=seq|52=time|<body>` at the end of the pending bytes.
    fn send(
        &mut self,
        now: Now,
        msg_type: &[u8],
        time: &[u8; SENDING_TIME_LEN],
        seq: u64,
        body: impl FnOnce(&mut Encoder<'_>),
    ) -> Result<(), EncodeError> {
        if self.taken {
            self.tx.clear();
            self.taken = false;
        }
        let old = self.tx.len();
        self.tx.resize(old + TX_SLOT, 0);
        let dst = self.tx.get_mut(old..).unwrap_or_default();
        let mut e = Encoder::new(dst, msg_type);
        e.raw_fields(&self.header).u64(34, seq).str(52, time);
        body(&mut e);
        match e.finish_compact() {
            Ok(n) => {
                self.tx.truncate(old + n);
                self.last_sent = now.mono.0;
                Ok(())
            }
            Err(err) => {
                self.tx.truncate(old);
                Err(err)
            }
        }
    }
}

/// Text for a FIX field: control characters replaced, cut to [`MAX_TEXT`] bytes, on the stack.
fn clean_text(s: &str) -> ([u8; MAX_TEXT], usize) {
    let mut out = [b' '; MAX_TEXT];
    let mut n = 0;
    for (o, b) in out.iter_mut().zip(s.bytes()) {
        *o = if b.is_ascii_control() { b' ' } else { b };
        n += 1;
    }
    (out, n)
}

fn lossy(v: Option<&[u8]>) -> String {
    String::from_utf8_lossy(v.unwrap_or_default()).into_owned()
}

/// The Drop Copy initiator.
pub struct DropCopySession {
    cfg: SessionConfig,
    access_key_id: AccessKeyId,
    signer: HmacSigner,
    state: DropCopyState,
    seq: SeqNums,
    out: Outbox,
    rx: Vec<u8>,
    index: FieldIndex,
    held_index: FieldIndex,
    events: VecDeque<Queued>,
    ev_arena: Vec<u8>,
    held: VecDeque<Held>,
    held_arena: Vec<u8>,
    resend: Option<(u64, u64)>,
    /// When the ResendRequest in flight was sent or last made progress, and `next_in` then.
    resend_since: u64,
    resend_mark: u64,
    /// Wall-clock time (ns) of the last message received; 0: unknown.
    last_wall: u64,
    /// Send times of recent invalid Logons (oldest first, at most `MAX_INVALID_LOGONS`).
    invalid_logons: VecDeque<u64>,
    last_recv: u64,
    state_since: u64,
    test_request: Option<u64>,
    test_req_counter: u64,
    stats: SessionStats,
}

impl std::fmt::Debug for DropCopySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropCopySession")
            .field("sender_comp_id", &self.cfg.sender_comp_id)
            .field("state", &self.state)
            .field("seq", &self.seq)
            .field("resend", &self.resend)
            .field("held", &self.held.len())
            .finish_non_exhaustive()
    }
}

impl DropCopySession {
    /// `seqs` is [`SeqNums::BEGINNING_OF_WEEK`] for the weekly start, or the persisted numbers
    /// for a mid-week logon.
    pub fn new(
        cfg: SessionConfig,
        access_key_id: AccessKeyId,
        signer: HmacSigner,
        seqs: SeqNums,
    ) -> Result<Self, SessionError> {
        cfg.validate()?;
        if seqs.next_out == 0 || seqs.next_in == 0 {
            return Err(SessionError::BadConfig {
                field: "seqs",
                why: "sequence numbers start at 1",
            });
        }
        let mut header = Vec::with_capacity(128);
        for (tag, v) in [
            ("49=", &cfg.sender_comp_id),
            ("56=", &cfg.target_comp_id),
            ("50=", &cfg.sender_sub_id),
            ("57=", &cfg.target_sub_id),
            ("142=", &cfg.sender_location_id),
        ] {
            header.extend_from_slice(tag.as_bytes());
            header.extend_from_slice(v.as_bytes());
            header.push(super::codec::SOH);
        }
        Ok(DropCopySession {
            cfg,
            access_key_id,
            signer,
            state: DropCopyState::Disconnected,
            seq: seqs,
            out: Outbox {
                tx: Vec::with_capacity(4 * TX_SLOT),
                taken: false,
                header,
                last_sent: 0,
            },
            rx: Vec::with_capacity(64 * 1024),
            index: FieldIndex::new(),
            held_index: FieldIndex::new(),
            events: VecDeque::with_capacity(64),
            ev_arena: Vec::with_capacity(64 * 1024),
            held: VecDeque::new(),
            held_arena: Vec::new(),
            resend: None,
            resend_since: 0,
            resend_mark: 0,
            invalid_logons: VecDeque::with_capacity(MAX_INVALID_LOGONS + 1),
            last_wall: 0,
            last_recv: 0,
            state_since: 0,
            test_request: None,
            test_req_counter: 0,
            stats: SessionStats::default(),
        })
    }

    pub fn state(&self) -> DropCopyState {
        self.state
    }

    /// Wall-clock time (ns since the epoch) of the last message received from CME, 0 when
    /// unknown: the caller persists it with the sequence numbers.
    pub fn last_activity(&self) -> u64 {
        self.last_wall
    }

    /// The wall-clock time of the last message of the week the sequence numbers given at
    /// construction belong to (from the caller's journal; 0: unknown). [`DropCopySession::connect`]
    /// restarts both numbers at 1 when a weekly start-up lies between it and the connect.
    pub fn set_last_activity(&mut self, wall_ns: u64) {
        self.last_wall = wall_ns;
    }

    fn weekly_reset(&mut self, now: Now, by_logon: bool) {
        let previous = self.seq;
        if by_logon {
            self.seq.next_in = 1;
        } else {
            self.seq = SeqNums::BEGINNING_OF_WEEK;
        }
        self.last_wall = now.wall.0;
        self.event(DropCopyEvent::WeeklyReset { previous, by_logon });
    }

    /// Current next-out / next-in, for the caller to persist.
    pub fn seq_nums(&self) -> SeqNums {
        self.seq
    }

    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// The ResendRequest range in flight.
    pub fn resend_in_flight(&self) -> Option<(u64, u64)> {
        self.resend
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Earliest time (caller's clock) [`DropCopySession::connect`] accepts a Logon: `now` unless
    /// [`MAX_INVALID_LOGONS`] invalid Logons are within the window.
    pub fn logon_allowed_at(&self, now: Nanos) -> Nanos {
        let now = now.0;
        let live = self
            .invalid_logons
            .iter()
            .filter(|&&t| t.saturating_add(INVALID_LOGON_WINDOW_NS) > now);
        let count = live.clone().count();
        if count < MAX_INVALID_LOGONS {
            return Nanos(now);
        }
        // The oldest that must age out so that one fewer than the limit remains.
        Nanos(
            live.copied()
                .nth(count - MAX_INVALID_LOGONS)
                .map_or(now, |t| t.saturating_add(INVALID_LOGON_WINDOW_NS)),
        )
    }

    /// Invalid Logons within the window at `now`.
    pub fn recent_invalid_logons(&self, now: Nanos) -> usize {
        let now = now.0;
        self.invalid_logons
            .iter()
            .filter(|&&t| t.saturating_add(INVALID_LOGON_WINDOW_NS) > now)
            .count()
    }

    /// TCP is connected: queue the signed Logon (34 = next_out). Refused with
    /// [`SessionError::LogonThrottled`] (and an [`DropCopyEvent::Alert`]) while a Logon would be the
    /// fifth invalid one within the window: check [`DropCopySession::logon_allowed_at`] before dialling.
    pub fn connect(&mut self, now: Now) -> Result<(), SessionError> {
        if self.state != DropCopyState::Disconnected {
            return Err(SessionError::WrongState {
                action: "connect",
                state: self.state,
            });
        }
        let retry_at = self.logon_allowed_at(now.mono);
        if retry_at > now.mono {
            let count = self.recent_invalid_logons(now.mono);
            let err = SessionError::LogonThrottled {
                count,
                retry_at: retry_at.0,
            };
            self.event(DropCopyEvent::Alert {
                text: format!(
                    "Logon refused locally: {err}; retry in {} ms",
                    retry_at.since(now.mono) / 1_000_000
                ),
            });
            return Err(err);
        }
        self.reset_connection_state();
        if self.last_wall != 0
            && self.seq != SeqNums::BEGINNING_OF_WEEK
            && crate::week::new_week_between(self.last_wall, now.wall.0)
        {
            self.weekly_reset(now, false);
        }
        let seq = self.seq.next_out;
        let time = format_sending_time(now.wall.0);
        let last_processed = self.seq.next_in.saturating_sub(1);
        let cfg = &self.cfg;
        let canonical = FixLogonCanonical {
            msg_seq_num: seq,
            sender_comp_id: &cfg.sender_comp_id,
            sender_sub_id: &cfg.sender_sub_id,
            sending_time: std::str::from_utf8(&time).unwrap_or_default(),
            target_sub_id: &cfg.target_sub_id,
            heart_bt_int: cfg.heartbeat_s,
            sender_location_id: &cfg.sender_location_id,
            last_msg_seq_num_processed: last_processed,
            app_system_name: &cfg.app_system_name,
            app_system_version: &cfg.app_system_version,
            app_system_vendor: &cfg.app_system_vendor,
        };
        let sig = self.signer.sign_fix_logon(&canonical);
        let akid = self.access_key_id.as_str().as_bytes();
        self.out.send(now, b"A", &time, seq, |e| {
            e.u64(369, last_processed)
                .u64(98, 0)
                .u64(108, u64::from(cfg.heartbeat_s))
                .raw_data(354, 355, akid)
                .str(1400, b"CME-1-SHA-256")
                .raw_data(1401, 1402, sig.as_bytes())
                .str(1603, cfg.app_system_name.as_bytes())
                .str(1604, cfg.app_system_version.as_bytes())
                .str(1605, cfg.app_system_vendor.as_bytes());
        })?;
        self.seq.next_out += 1;
        self.stats.sent += 1;
        self.state = DropCopyState::LogonSent;
        self.state_since = now.mono.0;
        self.last_recv = now.mono.0;
        Ok(())
    }

    /// Queues our Logout; the session disconnects on CME's answer or after `logout_timeout_s`.
    pub fn logout(&mut self, now: Now, reason: &str) -> Result<(), SessionError> {
        match self.state {
            DropCopyState::Active | DropCopyState::LogonSent => {
                self.send_logout(now, reason);
                self.state = DropCopyState::LogoutSent;
                self.state_since = now.mono.0;
                Ok(())
            }
            state => Err(SessionError::WrongState {
                action: "log out",
                state,
            }),
        }
    }

    /// The connection dropped (reported by the caller).
    pub fn connection_lost(&mut self) {
        if self.state != DropCopyState::Disconnected {
            self.disconnect(DisconnectReason::ConnectionLost);
        }
    }

    /// Bytes to write, if any (all pending messages, concatenated).
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        if self.out.taken || self.out.tx.is_empty() {
            return None;
        }
        self.out.taken = true;
        Some(&self.out.tx)
    }

    /// Next event, if any. Application payloads stay valid until the next `handle_*` call.
    pub fn poll_event(&mut self) -> Option<DropCopyEvent<'_>> {
        Some(match self.events.pop_front()? {
            Queued::App {
                seq,
                poss_dup,
                start,
                end,
            } => DropCopyEvent::Application {
                seq,
                poss_dup,
                raw: self.ev_arena.get(start..end).unwrap_or_default(),
            },
            Queued::Other(e) => e,
        })
    }

    /// When `handle_timeout` must be called next.
    pub fn next_deadline(&self) -> Option<Nanos> {
        let s = 1_000_000_000u64;
        match self.state {
            DropCopyState::Disconnected => None,
            DropCopyState::LogonSent => Some(Nanos(
                self.state_since + u64::from(self.cfg.logon_timeout_s) * s,
            )),
            DropCopyState::LogoutSent => Some(Nanos(
                self.state_since + u64::from(self.cfg.logout_timeout_s) * s,
            )),
            DropCopyState::Active => {
                let hb = self.hb_ns();
                let probe = match self.test_request {
                    Some(t) => t + hb,
                    None => self.last_recv + hb + hb / 5,
                };
                let resend = match self.resend {
                    Some(_) => self.resend_since + RESEND_TIMEOUT_HEARTBEATS * hb,
                    None => u64::MAX,
                };
                let beat = self.out.last_sent + self.hb_send_ns();
                Some(Nanos(probe.min(beat).min(resend)))
            }
        }
    }

    fn hb_ns(&self) -> u64 {
        u64::from(self.cfg.heartbeat_s) * 1_000_000_000
    }

    /// Our Heartbeat leaves after 90% of HeartBtInt without a message sent (network delay
    /// must not make CME see a silent interval).
    fn hb_send_ns(&self) -> u64 {
        let hb = self.hb_ns();
        hb - hb / 10
    }

    /// Timers: heartbeat, TestRequest, logon/logout timeouts.
    pub fn handle_timeout(&mut self, now: Now) {
        self.recycle_event_arena();
        let s = 1_000_000_000u64;
        match self.state {
            DropCopyState::Disconnected => {}
            DropCopyState::LogonSent => {
                if now.mono.0 >= self.state_since + u64::from(self.cfg.logon_timeout_s) * s {
                    self.disconnect(DisconnectReason::LogonTimeout(self.cfg.logon_timeout_s));
                }
            }
            DropCopyState::LogoutSent => {
                if now.mono.0 >= self.state_since + u64::from(self.cfg.logout_timeout_s) * s {
                    self.disconnect(DisconnectReason::LogoutTimeout(self.cfg.logout_timeout_s));
                }
            }
            DropCopyState::Active => {
                let hb = self.hb_ns();
                match self.test_request {
                    Some(t) if now.mono.0 >= t + hb => {
                        self.disconnect(DisconnectReason::TestRequestUnanswered);
                        return;
                    }
                    None if now.mono.0 >= self.last_recv + hb + hb / 5 => {
                        self.test_req_counter += 1;
                        let mut b = itoa::Buffer::new();
                        let id = b.format(self.test_req_counter);
                        let mut idbuf = [0u8; 24];
                        let n = id.len().min(20);
                        idbuf[..4].copy_from_slice(b"TEST");
                        idbuf[4..4 + n].copy_from_slice(&id.as_bytes()[..n]);
                        let idv = &idbuf[..4 + n];
                        self.send_admin(now, b"1", |e| {
                            e.str(112, idv);
                        });
                        self.stats.test_requests_sent += 1;
                        self.test_request = Some(now.mono.0);
                    }
                    _ => {}
                }
                if let Some((from, end)) = self.resend {
                    if now.mono.0 >= self.resend_since + RESEND_TIMEOUT_HEARTBEATS * hb {
                        let next_in = self.seq.next_in;
                        self.event(DropCopyEvent::Alert {
                            text: format!(
                                "ResendRequest {from}-{end} unanswered for {} s: requesting {next_in}-{end} again",
                                now.mono.0.saturating_sub(self.resend_since) / 1_000_000_000
                            ),
                        });
                        self.send_resend_request(now, next_in, end);
                    }
                }
                if now.mono.0 >= self.out.last_sent + self.hb_send_ns() {
                    self.send_heartbeat(now, None);
                }
            }
        }
    }

    /// Bytes read from the connection.
    pub fn handle_input(&mut self, now: Now, data: &[u8]) {
        self.recycle_event_arena();
        if self.state == DropCopyState::Disconnected {
            return;
        }
        let mut rx = std::mem::take(&mut self.rx);
        let mut index = std::mem::replace(&mut self.index, FieldIndex::empty());
        rx.extend_from_slice(data);
        let mut off = 0;
        while self.state != DropCopyState::Disconnected {
            let buf = rx.get(off..).unwrap_or_default();
            match frame(buf) {
                Frame::NeedMore => break,
                Frame::Garbled { skip, error } => {
                    off += skip.max(1);
                    self.garbled(error);
                }
                Frame::Complete(n) => {
                    let raw = buf.get(..n).unwrap_or_default();
                    off += n;
                    self.on_frame(now, raw, &mut index);
                    self.drain_held(now);
                    self.progress_resend(now);
                }
            }
        }
        if self.state == DropCopyState::Disconnected {
            rx.clear();
        } else {
            rx.drain(..off.min(rx.len()));
        }
        self.rx = rx;
        self.index = index;
    }

    fn recycle_event_arena(&mut self) {
        if self.events.is_empty() {
            self.ev_arena.clear();
        }
    }

    fn reset_connection_state(&mut self) {
        self.rx.clear();
        self.held.clear();
        self.held_arena.clear();
        self.resend = None;
        self.test_request = None;
        self.out.tx.clear();
        self.out.taken = false;
    }

    fn event(&mut self, e: DropCopyEvent<'static>) {
        self.events.push_back(Queued::Other(e));
    }

    fn garbled(&mut self, error: FixError) {
        self.stats.garbled += 1;
        self.event(DropCopyEvent::Garbled { error });
    }

    fn disconnect(&mut self, reason: DisconnectReason) {
        if self.state == DropCopyState::LogonSent {
            // CME answered our Logon with a Logout/Reject, or the connection ended first.
            if self.invalid_logons.len() >= MAX_INVALID_LOGONS {
                self.invalid_logons.pop_front();
            }
            self.invalid_logons.push_back(self.state_since);
        }
        self.state = DropCopyState::Disconnected;
        self.held.clear();
        self.held_arena.clear();
        self.resend = None;
        self.test_request = None;
        self.event(DropCopyEvent::Disconnect { reason });
    }

    /// Sends an admin message with the next outbound sequence number.
    fn send_admin(&mut self, now: Now, msg_type: &[u8], body: impl FnOnce(&mut Encoder<'_>)) {
        let time = format_sending_time(now.wall.0);
        match self.out.send(now, msg_type, &time, self.seq.next_out, body) {
            Ok(()) => {
                self.seq.next_out += 1;
                self.stats.sent += 1;
            }
            Err(e) => self.event(DropCopyEvent::Alert {
                text: format!("could not encode 35={}: {e}", lossy(Some(msg_type))),
            }),
        }
    }

    fn send_heartbeat(&mut self, now: Now, test_req_id: Option<&[u8]>) {
        self.send_admin(now, b"0", |e| {
            if let Some(id) = test_req_id {
                e.str(112, id);
            }
        });
        self.stats.heartbeats_sent += 1;
    }

    fn send_logout(&mut self, now: Now, reason: &str) {
        let (text, n) = clean_text(reason);
        let text = text.get(..n).unwrap_or_default();
        self.send_admin(now, b"5", |e| {
            if !text.is_empty() {
                e.str(58, text);
            }
        });
    }

    fn send_reject(
        &mut self,
        now: Now,
        ref_seq: u64,
        ref_tag: Option<u32>,
        reason: u64,
        text: &str,
    ) {
        let (t, n) = clean_text(text);
        let t = t.get(..n).unwrap_or_default();
        self.send_admin(now, b"3", |e| {
            e.u64(45, ref_seq);
            if let Some(tag) = ref_tag {
                e.u64(371, u64::from(tag));
            }
            e.u64(373, reason).str(58, t);
        });
        self.stats.rejects_sent += 1;
    }

    fn send_resend_request(&mut self, now: Now, from: u64, to: u64) {
        self.send_admin(now, b"2", |e| {
            e.u64(7, from).u64(16, to);
        });
        self.resend = Some((from, to));
        self.resend_since = now.mono.0;
        self.resend_mark = self.seq.next_in;
        self.stats.resend_requests_sent += 1;
        self.event(DropCopyEvent::ResendRequested { from, to });
    }

    /// One framed message from the wire.
    fn on_frame(&mut self, now: Now, raw: &[u8], index: &mut FieldIndex) {
        let msg = match parse(raw, index) {
            Ok(m) => m,
            Err(e) => return self.garbled(e),
        };
        let seq = match msg.seq_num() {
            Ok(s) if s > 0 => s,
            Ok(_) => return self.garbled(FixError::BadValue { tag: 34 }),
            Err(e) => return self.garbled(e),
        };
        self.stats.received += 1;
        self.last_recv = now.mono.0;
        let prev_wall = std::mem::replace(&mut self.last_wall, now.wall.0);
        self.test_request = None;
        let mt = msg.msg_type();

        let sender_ok = msg.get(49) == Some(self.cfg.target_comp_id.as_bytes());
        // CME's XMLnonFIX (35=n) carries two 56 values in its header: ours must be one of them.
        let ours = self.cfg.sender_comp_id.as_bytes();
        let target_ok = msg.iter().any(|f| f.tag == 56 && f.value == ours);
        if !(sender_ok && target_ok) {
            let text = format!(
                "CompID problem: 49={} 56={} (expected 49={} 56={})",
                lossy(msg.get(49)),
                lossy(msg.get(56)),
                self.cfg.target_comp_id,
                self.cfg.sender_comp_id
            );
            self.send_reject(now, seq, Some(if sender_ok { 56 } else { 49 }), 9, &text);
            self.send_logout(now, &text);
            self.event(DropCopyEvent::Alert { text: text.clone() });
            return self.disconnect(DisconnectReason::CompIdMismatch(text));
        }

        if mt == b"5" {
            return self.on_logout(now, &msg, seq);
        }
        if self.state == DropCopyState::LogonSent && mt != b"A" {
            self.send_logout(now, "first message must be a Logon");
            return self.disconnect(DisconnectReason::NotLogon(lossy(Some(mt))));
        }
        if mt == b"4" && !msg.flag(123) {
            return self.on_sequence_reset(now, &msg, seq);
        }

        if seq == 1
            && seq < self.seq.next_in
            && mt == b"A"
            && self.state == DropCopyState::LogonSent
            && !msg.poss_dup()
            && (prev_wall == 0 || crate::week::new_week_between(prev_wall, now.wall.0))
        {
            // CME's Logon at 34=1 after the weekly boundary: its new week began.
            self.weekly_reset(now, true);
        }
        let expected = self.seq.next_in;
        if seq < expected {
            if msg.poss_dup() {
                self.stats.duplicates_dropped += 1;
                return;
            }
            let text = format!("MsgSeqNum too low, expecting {expected} but received {seq}");
            self.send_logout(now, &text);
            self.event(DropCopyEvent::Alert { text });
            return self.disconnect(DisconnectReason::SeqTooLow {
                expected,
                received: seq,
            });
        }
        if seq > expected {
            let handled = match mt {
                b"1" => {
                    self.send_heartbeat(now, msg.get(112));
                    true
                }
                // FIX: a ResendRequest ahead of a gap is served first, so that two
                // ResendRequests crossing each other cannot wait on one another.
                b"2" => {
                    self.on_resend_request(now, &msg, seq);
                    true
                }
                b"A" if self.state == DropCopyState::LogonSent => {
                    self.logged_on();
                    true
                }
                _ => false,
            };
            self.hold(seq, raw, handled);
            return;
        }
        self.process_in_order(now, &msg, seq, false);
    }

    /// A message whose sequence number is the expected one.
    fn process_in_order(&mut self, now: Now, msg: &Message<'_, '_>, seq: u64, handled: bool) {
        let mt = msg.msg_type();
        self.seq.next_in = seq + 1;
        if mt == b"4" {
            // SequenceReset-GapFill (Reset mode is handled on arrival).
            match msg.get_u64(36) {
                Ok(new) if new > seq => self.seq.next_in = new,
                _ => self.send_reject(
                    now,
                    seq,
                    Some(36),
                    5,
                    "GapFill NewSeqNo (36) missing or not greater than MsgSeqNum",
                ),
            }
            return;
        }
        if handled {
            return;
        }
        match mt {
            b"0" => {}
            b"1" => self.send_heartbeat(now, msg.get(112)),
            b"2" => self.on_resend_request(now, msg, seq),
            b"3" => {
                self.stats.rejects_received += 1;
                let e = DropCopyEvent::RejectReceived {
                    ref_seq: msg.opt_u64(45).ok().flatten(),
                    reason: msg.opt_u64(373).ok().flatten(),
                    text: lossy(msg.get(58)),
                };
                self.event(e);
            }
            b"A" => {
                if self.state == DropCopyState::LogonSent {
                    self.logged_on();
                }
            }
            _ => {
                let raw = msg.raw();
                let start = self.ev_arena.len();
                self.ev_arena.extend_from_slice(raw);
                self.events.push_back(Queued::App {
                    seq,
                    poss_dup: msg.poss_dup(),
                    start,
                    end: start + raw.len(),
                });
            }
        }
    }

    fn logged_on(&mut self) {
        self.state = DropCopyState::Active;
        let e = DropCopyEvent::LoggedOn {
            next_out: self.seq.next_out,
            next_in: self.seq.next_in,
        };
        self.event(e);
    }

    /// CME asks for our messages again: all of ours are admin, so one GapFill covers them.
    fn on_resend_request(&mut self, now: Now, msg: &Message<'_, '_>, seq: u64) {
        let Ok(begin) = msg.get_u64(7) else {
            return self.send_reject(now, seq, Some(7), 1, "BeginSeqNo (7) missing or invalid");
        };
        if begin == 0 || begin >= self.seq.next_out {
            return;
        }
        let time = format_sending_time(now.wall.0);
        let next_out = self.seq.next_out;
        let r = self.out.send(now, b"4", &time, begin, |e| {
            e.char(43, b'Y')
                .str(122, &time)
                .char(123, b'Y')
                .u64(36, next_out);
        });
        if r.is_ok() {
            self.stats.sent += 1;
        }
    }

    fn on_logout(&mut self, now: Now, msg: &Message<'_, '_>, seq: u64) {
        if seq == self.seq.next_in {
            self.seq.next_in += 1;
        }
        let next_expected = msg.opt_u64(789).ok().flatten().filter(|&n| n > 0);
        if let Some(n) = next_expected {
            self.seq.next_out = n;
        }
        let text = lossy(msg.get(58));
        self.event(DropCopyEvent::LoggedOut {
            text: text.clone(),
            next_expected,
        });
        if self.state == DropCopyState::LogoutSent {
            self.disconnect(DisconnectReason::LogoutComplete);
        } else {
            if next_expected.is_none() {
                self.send_logout(now, "");
            }
            self.disconnect(DisconnectReason::PeerLogout(text));
        }
    }

    /// SequenceReset-Reset (no GapFill): applies whatever its MsgSeqNum.
    fn on_sequence_reset(&mut self, now: Now, msg: &Message<'_, '_>, seq: u64) {
        let expected = self.seq.next_in;
        match msg.get_u64(36) {
            Ok(new) if new > expected => {
                self.seq.next_in = new;
                if self.state == DropCopyState::LogonSent {
                    self.logged_on();
                }
            }
            Ok(new) if new == expected => {}
            Ok(new) => self.send_reject(
                now,
                seq,
                Some(36),
                5,
                &format!("NewSeqNo {new} is lower than the expected {expected}"),
            ),
            Err(_) => self.send_reject(now, seq, Some(36), 1, "NewSeqNo (36) missing or invalid"),
        }
    }

    /// Keeps a message that arrived ahead of a gap (sorted by sequence, duplicates dropped).
    fn hold(&mut self, seq: u64, raw: &[u8], handled: bool) {
        let at = match self.held.binary_search_by_key(&seq, |h| h.seq) {
            Ok(_) => {
                self.stats.duplicates_dropped += 1;
                return;
            }
            Err(at) => at,
        };
        let start = self.held_arena.len();
        self.held_arena.extend_from_slice(raw);
        self.held.insert(
            at,
            Held {
                seq,
                start,
                end: start + raw.len(),
                handled,
            },
        );
    }

    /// Delivers held messages that are now in sequence.
    fn drain_held(&mut self, now: Now) {
        if self.held.is_empty() {
            return;
        }
        let mut arena = std::mem::take(&mut self.held_arena);
        let mut index = std::mem::replace(&mut self.held_index, FieldIndex::empty());
        while let Some(h) = self.held.front().copied() {
            if self.state == DropCopyState::Disconnected || h.seq > self.seq.next_in {
                break;
            }
            self.held.pop_front();
            if h.seq < self.seq.next_in {
                continue;
            }
            match parse(arena.get(h.start..h.end).unwrap_or_default(), &mut index) {
                Ok(msg) => self.process_in_order(now, &msg, h.seq, h.handled),
                Err(e) => {
                    self.seq.next_in = h.seq + 1;
                    self.garbled(e);
                }
            }
        }
        if self.held.is_empty() {
            arena.clear();
        }
        self.held_arena = arena;
        self.held_index = index;
    }

    /// Completes the ResendRequest in flight and requests the next range of a gap.
    fn progress_resend(&mut self, now: Now) {
        if !matches!(self.state, DropCopyState::Active | DropCopyState::LogonSent) {
            return;
        }
        if let Some((_, end)) = self.resend {
            if self.seq.next_in <= end {
                if self.seq.next_in != self.resend_mark {
                    // Part of the range arrived: CME is answering.
                    self.resend_mark = self.seq.next_in;
                    self.resend_since = now.mono.0;
                }
                return;
            }
            self.resend = None;
            if self.held.is_empty() {
                let next_in = self.seq.next_in;
                self.event(DropCopyEvent::GapFilled { next_in });
            }
        }
        if let Some(first) = self.held.front() {
            let from = self.seq.next_in;
            if first.seq > from {
                let to = (first.seq - 1).min(from + MAX_RESEND_RANGE - 1);
                self.send_resend_request(now, from, to);
            }
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
