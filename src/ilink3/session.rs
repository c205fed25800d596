//! The FIXP session, client side, sans-IO.
//!
//! A [`FixpSession`] owns no socket, thread or clock. The runtime feeds it received bytes with
//! [`FixpSession::handle_input`] and the time with [`FixpSession::handle_timeout`] (when
//! [`FixpSession::next_deadline`] passes), sends what [`FixpSession::poll_transmit`] returns, and acts on
//! what [`FixpSession::poll_event`] returns. Time comes in as [`Now`]: every timer runs on the
//! monotonic `now.mono` (so a step of the wall clock neither lapses nor silences the session),
//! while `RequestTimestamp`, new UUIDs and the weekly-reset check use the wall clock `now.wall`.
//! A test drives every scenario with a fake clock.
//!
//! Rules implemented (PROTOCOL.md, "FIXP session rules"):
//! - A new UUID is not used before it is durable: [`FixpEvent::NewUuid`] asks the runtime to persist
//!   it, the session waits in [`FixpState::PersistingUuid`], and the Negotiate leaves on
//!   [`FixpSession::uuid_persisted`].
//! - Negotiate → Establish, both signed; mid-week reconnects re-Establish the same UUID; a new
//!   UUID (weekly reset, first start, or on request) is `max(now in µs, last UUID + 1)` and
//!   restarts both sequence streams at 1.
//! - A stored UUID the exchange says was never negotiated (Unnegotiated, e.g. after a crash
//!   between persisting it and the NegotiationResponse) is replaced on the next connect by a new
//!   one with both sequences at 1 (nothing was sent or received on it).
//! - No answer to Negotiate/Establish within 2 × KeepAliveInterval: retry once, then disconnect.
//! - Keepalive: a Sequence when nothing was sent for one interval; nothing received for one
//!   interval: Sequence with KeepAliveIntervalLapsed=1; a second silent interval: Terminate 20.
//!   A lapsed Sequence from the exchange is answered at once.
//! - Inbound gaps: RetransmitRequest in chunks of at most 2500, one in flight; live messages
//!   that arrive meanwhile are held and delivered in order. Messages missed on the previous UUID
//!   (EstablishmentAck's PreviousUUID/PreviousSeqNo) are requested first, with LastUUID.
//! - Recovery cannot stall: every outstanding RetransmitRequest has a timer (no Retransmission
//!   or retransmitted message for [`RecoveryPolicy::timeout_ms`]); a silent, short (fewer
//!   messages than asked, CME's Retransmission MsgCount) or refused request is asked again up to
//!   [`RecoveryPolicy::attempts`] times, then its messages are reported lost
//!   ([`FixpEvent::MessagesLost`]) and held live messages are released in order.
//! - RetransmitReject is handled per code ([`retransmit_reject_handling`]): retry after a delay
//!   (3 RetransmitAlreadyInProgress), fix the request and ask again (0 OutOfRange: MsgCount 0 =
//!   "as many as exist"; 2 RequestLimitExceeded: smaller chunks; 4 InvalidTimestamp and 6-9
//!   missing fields: a freshly stamped request), or accept the loss (1 InvalidUUID: the rest of
//!   that UUID's stream; 5 InvalidFromSeqNo and unknown codes: the range).
//! - The weekly cycle (CME "Globex Start-up Processing"; see [`super::week`]): a UUID made before
//!   the latest Sunday 10:30 CT start-up is replaced by a new one on the next connect (CME reset
//!   its sequences); a session still established on such a UUID at the start-up terminates
//!   (Finished) so the reconnect Negotiates the new week's UUID. With
//!   [`FixpSession::set_weekly_close`], the session also terminates at Friday 17:00 CT and
//!   refuses to connect until Sunday 10:30 CT.
//! - A business message below the expected sequence that is not a retransmission: Terminate.
//! - NotApplied: gap-fill with a Sequence (default) or ask the runtime to resend, and report the
//!   affected sequence numbers so their owners are told.
//! - Every reject and terminate is an event carrying the CME code and name.
//! - Bad logons are counted: after four within 60 s, [`FixpSession::connect`] refuses (and raises an
//!   alert) until the window allows another, so the fifth that would close the port never
//!   leaves.

use super::codec::{next_frame, DecodeError, EncodeError, NextFrame};
use super::codes::{RejectCode, RetransmitRejectCode, TerminateCode};
use super::{
    decode_header, EstablishWriter, Message, NegotiateWriter, RetransmitRequestWriter,
    SequenceWriter, TerminateWriter,
};
use crate::auth::{EstablishCanonical, HmacSigner, NegotiateCanonical};
use crate::types::{Nanos, Now};

/// How unanswered or refused RetransmitRequests are retried before their range is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// An outstanding RetransmitRequest that gets no Retransmission and no retransmitted
    /// message for this long has stalled.
    pub timeout_ms: u32,
    /// Requests for one range without progress (the first one included) before its messages
    /// are reported lost; at least 1.
    pub attempts: u8,
    /// Wait before asking again after RetransmitReject 3 (RetransmitAlreadyInProgress).
    pub retry_delay_ms: u32,
}

impl Default for RecoveryPolicy {
    /// 5 s of silence, one re-request, 1 s wait after "already in progress".
    fn default() -> Self {
        RecoveryPolicy {
            timeout_ms: 5_000,
            attempts: 2,
            retry_delay_ms: 1_000,
        }
    }
}

/// What a RetransmitReject code calls for (CME's RetransmitReject page, ErrorCodes 0-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectHandling {
    /// The same request later ([`RecoveryPolicy::retry_delay_ms`]): 3 RetransmitAlreadyInProgress.
    RetryLater,
    /// A corrected request at once: 0 OutOfRange (FromSeqNo + Count beyond the exchange's
    /// range: ask with MsgCount 0, "up to 2500 messages, when available"), 2
    /// RequestLimitExceeded (ask for half as many), 4 InvalidTimestamp and 6-9 a required field
    /// missing (a freshly stamped, re-encoded request).
    FixRequest,
    /// The messages cannot be had: 5 InvalidFromSeqNo and unknown codes lose the range, 1
    /// InvalidUUID the rest of that UUID's stream.
    Lost,
}

/// How a RetransmitReject `code` is handled.
pub fn retransmit_reject_handling(code: u16) -> RejectHandling {
    match RetransmitRejectCode::from_code(code) {
        Some(RetransmitRejectCode::RetransmitAlreadyInProgress) => RejectHandling::RetryLater,
        Some(
            RetransmitRejectCode::OutOfRange
            | RetransmitRejectCode::RequestLimitExceeded
            | RetransmitRejectCode::InvalidTimestamp
            | RetransmitRejectCode::RequiredUuidMissing
            | RetransmitRejectCode::RequiredRequestTimestampMissing
            | RetransmitRejectCode::RequiredFromSeqNoMissing
            | RetransmitRejectCode::RequiredMsgCountMissing,
        ) => RejectHandling::FixRequest,
        Some(RetransmitRejectCode::InvalidUuid | RetransmitRejectCode::InvalidFromSeqNo) | None => {
            RejectHandling::Lost
        }
    }
}

/// Why messages from the exchange were given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossCause {
    /// RetransmitReject with this code.
    Rejected(u16),
    /// No Retransmission or retransmitted message within the timeout, every attempt.
    TimedOut,
    /// The Retransmission announced (and delivered) fewer messages than asked, every attempt.
    ShortRetransmission,
}

/// Answer to NotApplied from the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotAppliedPolicy {
    /// Send a Sequence that skips the gap and report the lost requests to their strategies.
    #[default]
    GapFill,
    /// Resend the journaled messages.
    Resend,
}
use arrayvec::ArrayString;
use std::collections::VecDeque;

/// Largest MsgCount of one RetransmitRequest.
pub const MAX_RETRANSMIT_CHUNK: u32 = 2500;
/// Window for counting bad logons (CME closes the port at the fifth within it).
pub const BAD_LOGON_WINDOW_NS: u64 = 60_000_000_000;
/// Bad logons allowed within the window before connecting is refused.
pub const MAX_BAD_LOGONS: usize = 4;
/// Outbound and reassembly buffer sizes (a frame is at most 65535 bytes).
const TX_CAPACITY: usize = 1 << 17;
const RX_CAPACITY: usize = 1 << 17;
/// Largest business frame the session will hold while a gap is recovered (held bytes).
const HELD_LIMIT_BYTES: usize = 64 << 20;

const NS_PER_MS: u64 = 1_000_000;

/// What the session needs to know about itself.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// CME FixpSession ID (3 characters).
    pub session_id: String,
    /// CME Firm ID.
    pub firm_id: String,
    pub trading_system_name: String,
    pub trading_system_version: String,
    pub trading_system_vendor: String,
    /// KeepAliveInterval in milliseconds.
    pub keepalive_ms: u16,
    pub not_applied: NotAppliedPolicy,
}

impl SessionConfig {
    fn keepalive_ns(&self) -> u64 {
        u64::from(self.keepalive_ms) * NS_PER_MS
    }

    /// Our keepalive Sequence leaves after 90% of the interval without a message sent, so
    /// that network delay never makes CME see a lapse.
    pub fn keepalive_send_ns(&self) -> u64 {
        let ka = self.keepalive_ns();
        ka - ka / 10
    }
}

/// The signing key in force (replaced on key rotation; used from the next logon on).
pub struct Credentials {
    pub access_key_id: String,
    pub signer: HmacSigner,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("signer", &self.signer)
            .finish()
    }
}

/// The sequence state that must survive a restart (the store keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionSeqState {
    /// Current UUID; 0 before the first Negotiate.
    pub uuid: u64,
    /// The UUID before the current one; 0 if none.
    pub previous_uuid: u64,
    /// Sequence number of our next business message.
    pub next_outbound_seq: u32,
    /// Sequence number of the next business message expected from the exchange.
    pub next_inbound_seq: u32,
    /// On `previous_uuid`, the next inbound sequence we had not yet received when it was
    /// replaced: anything from here to the exchange's PreviousSeqNo was missed.
    pub previous_next_inbound_seq: u32,
}

impl From<&crate::store::session::Recovered> for SessionSeqState {
    /// The sequence state recovered from a session store (after an unclean stop the store's
    /// next outbound already includes its reservation rule, so it is never below a number
    /// that may have been sent).
    fn from(r: &crate::store::session::Recovered) -> Self {
        let seq = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        SessionSeqState {
            uuid: r.uuid,
            previous_uuid: r.previous_uuid,
            next_outbound_seq: seq(r.next_outbound),
            next_inbound_seq: seq(r.next_inbound),
            previous_next_inbound_seq: seq(r.previous_next_inbound),
        }
    }
}

/// How to start a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectMode {
    /// Re-Establish the stored UUID when it belongs to this trading week, else Negotiate a new
    /// one (weekly reset).
    Auto,
    /// Negotiate a new UUID (sequences restart at 1), e.g. to recover from a disaster.
    NewUuid,
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixpState {
    /// Not connected (the start, or after a disconnect).
    Idle,
    /// Connected with a new UUID that is not durable yet: nothing is sent until the runtime
    /// reports the store's write with [`FixpSession::uuid_persisted`] (then the Negotiate leaves).
    PersistingUuid,
    /// Negotiate sent, waiting for NegotiationResponse.
    Negotiating,
    /// Establish sent, waiting for EstablishmentAck.
    Establishing,
    /// Business messages flow.
    Established,
    /// We sent Terminate and wait for the exchange's.
    Terminating,
}

/// Logon stage, for rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Negotiate,
    Establish,
}

/// A fixed-capacity copy of a `Reason` text (no allocation): at most 48 bytes, and
/// `"<not UTF-8>"` when those are not UTF-8.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Reason(ArrayString<48>);

impl Reason {
    fn new(b: &[u8]) -> Self {
        let b = b.get(..48).unwrap_or(b);
        let s = std::str::from_utf8(b).unwrap_or("<not UTF-8>");
        // At most 48 bytes: always fits.
        Reason(ArrayString::from(s).unwrap_or_default())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// How a NotApplied was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAppliedAction {
    /// A Sequence skipped the gap: the messages are lost; tell their owners.
    GapFilled,
    /// The runtime must resend the journaled messages with [`FixpSession::resend_business`].
    ResendRequired,
}

/// Why the session wants the connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The logon got no answer after a retry.
    LogonTimeout,
    /// A new UUID could not be made durable (store error, or no answer in 2 intervals): the
    /// Negotiate never left.
    UuidNotPersisted,
    Rejected,
    Terminated,
    /// Framing lost or an undecodable message.
    ProtocolError,
}

/// A transition of CME's weekly cycle the session acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeeklyEvent {
    /// Friday 17:00 CT: the session terminates and stays down until `opens_at` (wall ns).
    Close { opens_at: u64 },
    /// Sunday 10:30 CT start-up while established on last week's UUID: the session terminates
    /// and the next connect Negotiates a new UUID.
    StartUp,
}

/// A problem worth paging someone for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// Four bad logons within 60 s: a fifth would make CME close the port. Connecting is
    /// refused until `retry_after_ns`.
    LogonThrottled {
        failures: usize,
        retry_after_ns: u64,
    },
    /// A message the session cannot use (wrong UUID, unexpected in this state).
    UnexpectedMessage { template_id: u16, state: FixpState },
    /// Outbound sequence numbers are close to the durable reservation.
    ReservationLow { next_seq: u32, limit: u32 },
}

/// A business message from the exchange, delivered in sequence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Business {
    pub uuid: u64,
    pub seq: u32,
    pub template_id: u16,
    /// Delivered by a retransmission (PossRetransFlag).
    pub retransmitted: bool,
    offset: u32,
    len: u32,
}

/// What happened; drain with [`FixpSession::poll_event`] after each call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FixpEvent {
    /// A new UUID must be persisted before it is negotiated: write it to the store, then call
    /// [`FixpSession::uuid_persisted`] (the Negotiate waits for it).
    NewUuid {
        uuid: u64,
        previous_uuid: u64,
    },
    Negotiated {
        uuid: u64,
        /// Days until the secret key expires, as CME reports it.
        secret_key_expiration_days: Option<u16>,
    },
    Established {
        uuid: u64,
        /// The exchange's next outbound (our next inbound) sequence number.
        next_inbound_seq: u32,
        keepalive_ms: u16,
    },
    Rejected {
        stage: Stage,
        code: u16,
        name: &'static str,
        reason: Reason,
    },
    Terminated {
        code: u16,
        name: &'static str,
        by_exchange: bool,
        reason: Reason,
    },
    Business(Business),
    RetransmitRequested {
        uuid: u64,
        last_uuid: Option<u64>,
        from_seq: u32,
        count: u32,
    },
    RetransmitRejected {
        code: u16,
        name: &'static str,
        reason: Reason,
    },
    /// Messages the exchange will not deliver: recovery gave them up (tell the strategies).
    MessagesLost {
        uuid: u64,
        from_seq: u32,
        count: u32,
        cause: LossCause,
    },
    /// CME's weekly cycle: the session is terminating for the weekly close or start-up.
    Weekly(WeeklyEvent),
    /// The exchange did not apply our messages `from_seq..from_seq+count`.
    NotApplied {
        from_seq: u32,
        count: u32,
        action: NotAppliedAction,
    },
    /// Nothing received for one interval: we sent a lapsed Sequence.
    KeepAliveLapsed,
    Alert(Alert),
    /// Close the TCP connection now (after sending what is pending).
    Disconnect(DisconnectReason),
}

/// Errors of the session API (not of the peer's input, which become events).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error("session is {0:?}, not established")]
    NotEstablished(FixpState),
    #[error("session is {0:?}: connect only from Idle")]
    AlreadyConnected(FixpState),
    #[error("{failures} bad logons within 60 s: a fifth would close the port; no logon until the oldest leaves the window")]
    LogonThrottled {
        failures: usize,
        retry_after_ns: u64,
    },
    #[error("outbound sequence {next_seq} is not durable yet (reserved below {limit})")]
    SequenceNotDurable { next_seq: u32, limit: u32 },
    #[error("the week is closed (Friday 17:00 CT to Sunday 10:30 CT); opens at {opens_at} ns since the epoch")]
    WeekClosed { opens_at: u64 },
    #[error("transmit buffer full: send what poll_transmit returns first")]
    TransmitFull,
    #[error("encoding failed: {0}")]
    Encode(#[from] EncodeError),
}

/// One outstanding (or scheduled) RetransmitRequest.
#[derive(Debug, Clone, Copy)]
struct Recovery {
    /// The stream being recovered (current UUID, or the previous one via LastUUID).
    stream_uuid: u64,
    last_uuid: Option<u64>,
    from: u32,
    /// Messages wanted.
    count: u32,
    received: u32,
    /// The Retransmission's MsgCount when it announced fewer than `count`.
    announced: Option<u32>,
    /// MsgCount on the wire: `count`, or 0 ("as many as exist") after OutOfRange.
    wire_count: u16,
    /// Requests for this range without progress, this one included.
    attempt: u8,
    /// Sent and waiting for the exchange (else scheduled to be sent at `deadline`).
    in_flight: bool,
    /// In flight: when it has stalled; scheduled: when to send it.
    deadline: Nanos,
}

impl Recovery {
    fn expected(&self) -> u32 {
        self.announced.unwrap_or(self.count)
    }
}

/// A live message held while an earlier gap is filled.
#[derive(Debug, Clone, Copy)]
struct Held {
    seq: u32,
    template_id: u16,
    offset: u32,
    len: u32,
}

/// Previous-UUID messages still to request (from EstablishmentAck).
#[derive(Debug, Clone, Copy)]
struct PreviousGap {
    uuid: u64,
    next: u32,
    last: u32,
}

/// The client side of one FIXP session.
pub struct FixpSession {
    cfg: SessionConfig,
    creds: Credentials,
    st: SessionSeqState,
    state: FixpState,
    /// The exchange accepted a Negotiate for `st.uuid` (else the next connect negotiates it,
    /// reusing the UUID: only a successful Negotiate/Establish raises the bar for the next).
    negotiated: bool,
    /// A new UUID's sequence state, applied once the runtime reports it durable.
    pending: Option<SessionSeqState>,
    /// The highest UUID handed out (durable or not): a new one is always above it.
    uuid_floor: u64,
    /// The exchange says it never negotiated `st.uuid` (e.g. the process died between
    /// persisting it and the NegotiationResponse): nothing was sent or received on it, so the
    /// next connect replaces it with a new UUID, restarting both sequences at 1 (the store's
    /// reservation after a crash would otherwise make NextSeqNo above 1 on a fresh UUID).
    unnegotiated: bool,
    /// Our next business seq must stay below this (durable reservation); `u32::MAX` = no limit.
    outbound_limit: u32,
    tx: Vec<u8>,
    tx_len: usize,
    tx_handed: usize,
    rx: Vec<u8>,
    events: VecDeque<FixpEvent>,
    /// Bytes of delivered business messages referenced by `FixpEvent::Business`.
    app: Vec<u8>,
    held: VecDeque<Held>,
    held_buf: Vec<u8>,
    /// One past the highest inbound sequence known to exist on the current UUID.
    known_end: u32,
    recovery: Option<Recovery>,
    previous_gap: Option<PreviousGap>,
    logon_sent_at: Nanos,
    logon_retried: bool,
    last_sent: Nanos,
    last_received: Nanos,
    lapse_sent: bool,
    terminate_sent_at: Nanos,
    bad_logons: [Nanos; MAX_BAD_LOGONS],
    bad_logon_count: usize,
    policy: RecoveryPolicy,
    /// Largest MsgCount to ask for (halved on RequestLimitExceeded, reset per connection).
    chunk_limit: u32,
    /// Terminate at Friday 17:00 CT and refuse to connect until Sunday 10:30 CT.
    weekly_close: bool,
    /// The next weekly transition while established (monotonic deadline).
    week_deadline: Option<Nanos>,
}

impl std::fmt::Debug for FixpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixpSession")
            .field("session_id", &self.cfg.session_id)
            .field("state", &self.state)
            .field("sequences", &self.st)
            .finish_non_exhaustive()
    }
}

impl FixpSession {
    /// A session resuming from stored state (`SessionSeqState::default()` for a first start).
    pub fn new(cfg: SessionConfig, creds: Credentials, stored: SessionSeqState) -> Self {
        let mut st = stored;
        st.next_outbound_seq = st.next_outbound_seq.max(1);
        st.next_inbound_seq = st.next_inbound_seq.max(1);
        FixpSession {
            cfg,
            creds,
            st,
            state: FixpState::Idle,
            negotiated: stored.uuid != 0,
            pending: None,
            uuid_floor: stored.uuid,
            unnegotiated: false,
            outbound_limit: u32::MAX,
            tx: vec![0; TX_CAPACITY],
            tx_len: 0,
            tx_handed: 0,
            rx: Vec::with_capacity(RX_CAPACITY),
            events: VecDeque::with_capacity(256),
            app: Vec::with_capacity(1 << 16),
            held: VecDeque::with_capacity(1024),
            held_buf: Vec::with_capacity(1 << 16),
            known_end: st.next_inbound_seq,
            recovery: None,
            previous_gap: None,
            logon_sent_at: Nanos(0),
            logon_retried: false,
            last_sent: Nanos(0),
            last_received: Nanos(0),
            lapse_sent: false,
            terminate_sent_at: Nanos(0),
            bad_logons: [Nanos(0); MAX_BAD_LOGONS],
            bad_logon_count: 0,
            policy: RecoveryPolicy::default(),
            chunk_limit: MAX_RETRANSMIT_CHUNK,
            weekly_close: false,
            week_deadline: None,
        }
    }

    /// How stalled or refused retransmissions are retried (from the next request on).
    pub fn set_recovery_policy(&mut self, policy: RecoveryPolicy) {
        self.policy = RecoveryPolicy {
            attempts: policy.attempts.max(1),
            ..policy
        };
    }

    pub fn recovery_policy(&self) -> RecoveryPolicy {
        self.policy
    }

    /// Observe CME's weekend: terminate at Friday 17:00 CT, refuse to connect until Sunday
    /// 10:30 CT (off by default, e.g. for a simulator that trades at weekends).
    pub fn set_weekly_close(&mut self, on: bool) {
        self.weekly_close = on;
    }

    /// `Some(wall ns of the weekly open)` while the weekly close keeps the session down.
    pub fn week_closed_until(&self, now: Now) -> Option<u64> {
        if self.weekly_close {
            crate::week::closed_until(now.wall.0)
        } else {
            None
        }
    }

    pub fn state(&self) -> FixpState {
        self.state
    }

    /// The sequence state to persist.
    pub fn stored_state(&self) -> SessionSeqState {
        self.st
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// The Access Key ID that signs the next logon.
    pub fn access_key_id(&self) -> &str {
        &self.creds.access_key_id
    }

    /// Key rotation: the next Negotiate/Establish is signed with these.
    pub fn set_credentials(&mut self, creds: Credentials) {
        self.creds = creds;
    }

    /// Outbound business sequence numbers must stay below `limit` (the store's durable
    /// reservation); the runtime raises it as the housekeeping thread extends the reservation.
    pub fn set_outbound_limit(&mut self, limit: u32) {
        self.outbound_limit = limit;
    }

    /// Starts a connection (the TCP connection is up): Negotiate or Establish.
    pub fn connect(&mut self, now: Now, mode: ConnectMode) -> Result<(), SessionError> {
        if self.state != FixpState::Idle {
            return Err(SessionError::AlreadyConnected(self.state));
        }
        if let Some(retry_after_ns) = self.throttled_until(now) {
            let failures = self.bad_logon_count;
            self.events
                .push_back(FixpEvent::Alert(Alert::LogonThrottled {
                    failures,
                    retry_after_ns,
                }));
            return Err(SessionError::LogonThrottled {
                failures,
                retry_after_ns,
            });
        }
        if let Some(opens_at) = self.week_closed_until(now) {
            return Err(SessionError::WeekClosed { opens_at });
        }
        self.reset_connection(now);
        let new_week = self.st.uuid != 0 && week_boundary_passed(self.st.uuid, now.wall.0);
        if self.st.uuid == 0 || new_week || mode == ConnectMode::NewUuid || self.unnegotiated {
            // Above every UUID handed out, even one whose persistence failed or is unanswered.
            let floor = self.uuid_floor.max(self.st.uuid);
            let uuid = (now.wall.0 / 1000).max(floor.saturating_add(1));
            self.uuid_floor = uuid;
            // A UUID the exchange never negotiated is skipped: the previous one stays previous.
            let (previous_uuid, previous_next_inbound_seq) = if self.unnegotiated {
                (self.st.previous_uuid, self.st.previous_next_inbound_seq)
            } else if self.st.uuid == 0 {
                (0, 0)
            } else if new_week && mode == ConnectMode::Auto {
                // CME started a new week: last week's stream cannot be retransmitted
                // (LastUUID must be a UUID of the current week), so there is nothing to recover.
                (self.st.uuid, 0)
            } else {
                (self.st.uuid, self.st.next_inbound_seq)
            };
            self.pending = Some(SessionSeqState {
                uuid,
                previous_uuid,
                next_outbound_seq: 1,
                next_inbound_seq: 1,
                previous_next_inbound_seq,
            });
            self.events.push_back(FixpEvent::NewUuid {
                uuid,
                previous_uuid,
            });
            self.state = FixpState::PersistingUuid;
        } else if !self.negotiated {
            self.send_negotiate(now)?;
            self.state = FixpState::Negotiating;
        } else {
            self.send_establish(now)?;
            self.state = FixpState::Establishing;
        }
        self.logon_sent_at = now.mono;
        self.logon_retried = false;
        Ok(())
    }

    /// The new UUID waiting for [`FixpSession::uuid_persisted`], if any.
    pub fn pending_uuid(&self) -> Option<u64> {
        self.pending.map(|p| p.uuid)
    }

    /// The new UUID waiting to be persisted with what the store must record as its
    /// predecessor: `(uuid, previous_uuid, previous_next_inbound_seq)`. The predecessor is not
    /// the stored UUID when that one was never negotiated (it is skipped).
    pub fn pending_new_uuid(&self) -> Option<(u64, u64, u64)> {
        self.pending.map(|p| {
            (
                p.uuid,
                p.previous_uuid,
                u64::from(p.previous_next_inbound_seq),
            )
        })
    }

    /// The store's answer to [`FixpEvent::NewUuid`]: `durable` when the UUID was written (synced),
    /// after which the Negotiate leaves. Not durable: the UUID is dropped and the connection
    /// must go ([`FixpEvent::Disconnect`] with [`DisconnectReason::UuidNotPersisted`]). A durable
    /// answer that comes after the connection went is still adopted (the store holds it now),
    /// so the next connect negotiates that UUID.
    pub fn uuid_persisted(
        &mut self,
        now: Now,
        uuid: u64,
        durable: bool,
    ) -> Result<(), SessionError> {
        let Some(p) = self.pending.filter(|p| p.uuid == uuid) else {
            return Ok(());
        };
        self.pending = None;
        if !durable {
            if self.state == FixpState::PersistingUuid {
                self.disconnect(DisconnectReason::UuidNotPersisted);
            }
            return Ok(());
        }
        self.st = p;
        self.known_end = 1;
        self.negotiated = false;
        self.unnegotiated = false;
        if self.state != FixpState::PersistingUuid {
            return Ok(());
        }
        self.send_negotiate(now)?;
        self.state = FixpState::Negotiating;
        self.logon_sent_at = now.mono;
        self.logon_retried = false;
        Ok(())
    }

    /// The TCP connection is gone (closed by either side): back to Idle, sequences kept.
    pub fn on_disconnected(&mut self) {
        self.state = FixpState::Idle;
        self.rx.clear();
        self.tx_len = 0;
        self.tx_handed = 0;
        self.recovery = None;
        self.week_deadline = None;
        self.held.clear();
        self.held_buf.clear();
    }

    /// Graceful end: Terminate with `code` (0 = Finished) and wait for the exchange's answer.
    pub fn terminate(&mut self, now: Now, code: u16) -> Result<(), SessionError> {
        match self.state {
            FixpState::Idle | FixpState::Terminating => Ok(()),
            FixpState::PersistingUuid => {
                // Nothing was sent on this connection: just close it.
                self.disconnect(DisconnectReason::Terminated);
                Ok(())
            }
            _ => {
                self.send_terminate(now, code)?;
                self.state = FixpState::Terminating;
                self.terminate_sent_at = now.mono;
                Ok(())
            }
        }
    }

    /// Sends a business message: `encode(seq, uuid, buf)` writes the frame into `buf` and
    /// returns its length. Returns the sequence number used.
    pub fn send_business(
        &mut self,
        now: Now,
        encode: impl FnOnce(u32, u64, &mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<u32, SessionError> {
        if self.state != FixpState::Established {
            return Err(SessionError::NotEstablished(self.state));
        }
        let seq = self.st.next_outbound_seq;
        if seq >= self.outbound_limit {
            return Err(SessionError::SequenceNotDurable {
                next_seq: seq,
                limit: self.outbound_limit,
            });
        }
        self.reclaim_tx();
        let uuid = self.st.uuid;
        let start = self.tx_len;
        match encode(seq, uuid, &mut self.tx[start..]) {
            Err(EncodeError::BufferTooSmall { .. }) => Err(SessionError::TransmitFull),
            Err(e) => Err(SessionError::Encode(e)),
            Ok(n) => {
                self.tx_len += n.min(self.tx.len() - start);
                self.st.next_outbound_seq = seq.wrapping_add(1);
                self.last_sent = now.mono;
                if self.outbound_limit != u32::MAX
                    && self.outbound_limit - self.st.next_outbound_seq == 64
                {
                    self.events
                        .push_back(FixpEvent::Alert(Alert::ReservationLow {
                            next_seq: self.st.next_outbound_seq,
                            limit: self.outbound_limit,
                        }));
                }
                Ok(seq)
            }
        }
    }

    /// Resends a journaled business frame unchanged (NotApplied with the resend policy).
    pub fn resend_business(&mut self, now: Now, frame: &[u8]) -> Result<(), SessionError> {
        if self.state != FixpState::Established {
            return Err(SessionError::NotEstablished(self.state));
        }
        self.push_tx(frame)?;
        self.last_sent = now.mono;
        Ok(())
    }

    /// Feeds received bytes (any split of the stream).
    pub fn handle_input(&mut self, now: Now, bytes: &[u8]) {
        self.recycle_app();
        if self.state == FixpState::Idle {
            return;
        }
        self.last_received = now.mono;
        self.lapse_sent = false;
        if self.rx.is_empty() {
            let used = self.process_frames(now, bytes);
            if let Some(rest) = bytes.get(used..) {
                if !rest.is_empty() && self.state != FixpState::Idle {
                    self.rx.extend_from_slice(rest);
                }
            }
        } else {
            self.rx.extend_from_slice(bytes);
            let rx = std::mem::take(&mut self.rx);
            let used = self.process_frames(now, &rx);
            let mut rx = rx;
            if self.state == FixpState::Idle {
                rx.clear();
            } else {
                rx.drain(..used.min(rx.len()));
            }
            self.rx = rx;
        }
    }

    /// Runs the timers; call when `now >= next_deadline()`.
    pub fn handle_timeout(&mut self, now: Now) {
        self.recycle_app();
        let ka = self.cfg.keepalive_ns();
        match self.state {
            FixpState::Idle => {}
            FixpState::PersistingUuid => {
                if now.mono >= self.logon_sent_at.add_ns(2 * ka) {
                    self.disconnect(DisconnectReason::UuidNotPersisted);
                }
            }
            FixpState::Negotiating | FixpState::Establishing => {
                if now.mono >= self.logon_sent_at.add_ns(2 * ka) {
                    if self.logon_retried {
                        self.record_bad_logon(now);
                        self.disconnect(DisconnectReason::LogonTimeout);
                    } else {
                        self.logon_retried = true;
                        self.logon_sent_at = now.mono;
                        let r = if self.state == FixpState::Negotiating {
                            self.send_negotiate(now)
                        } else {
                            self.send_establish(now)
                        };
                        if r.is_err() {
                            self.disconnect(DisconnectReason::ProtocolError);
                        }
                    }
                }
            }
            FixpState::Established => {
                if self.week_deadline.is_some_and(|d| now.mono >= d) && self.weekly_transition(now)
                {
                    return;
                }
                if self.recovery.is_some_and(|r| now.mono >= r.deadline) {
                    self.recovery_timer(now);
                    if self.state != FixpState::Established {
                        return;
                    }
                }
                if now.mono >= self.last_received.add_ns(2 * ka) && self.lapse_sent {
                    let _ = self.send_terminate(now, TerminateCode::KeepAliveIntervalLapsed.code());
                    self.events.push_back(FixpEvent::Terminated {
                        code: TerminateCode::KeepAliveIntervalLapsed.code(),
                        name: TerminateCode::KeepAliveIntervalLapsed.name(),
                        by_exchange: false,
                        reason: Reason::new(b"no message from the exchange for 2 intervals"),
                    });
                    self.disconnect(DisconnectReason::Terminated);
                    return;
                }
                if now.mono >= self.last_received.add_ns(ka) && !self.lapse_sent {
                    self.lapse_sent = true;
                    let _ = self.send_sequence(now, true);
                    self.events.push_back(FixpEvent::KeepAliveLapsed);
                } else if now.mono >= self.last_sent.add_ns(self.cfg.keepalive_send_ns()) {
                    let _ = self.send_sequence(now, false);
                }
            }
            FixpState::Terminating => {
                if now.mono >= self.terminate_sent_at.add_ns(ka) {
                    self.disconnect(DisconnectReason::Terminated);
                }
            }
        }
    }

    /// When `handle_timeout` must next be called.
    pub fn next_deadline(&self) -> Option<Nanos> {
        let ka = self.cfg.keepalive_ns();
        match self.state {
            FixpState::Idle => None,
            FixpState::PersistingUuid | FixpState::Negotiating | FixpState::Establishing => {
                Some(self.logon_sent_at.add_ns(2 * ka))
            }
            FixpState::Established => {
                let recv = if self.lapse_sent {
                    self.last_received.add_ns(2 * ka)
                } else {
                    self.last_received.add_ns(ka)
                };
                let mut d = recv.min(self.last_sent.add_ns(self.cfg.keepalive_send_ns()));
                if let Some(r) = self.recovery {
                    d = d.min(r.deadline);
                }
                if let Some(w) = self.week_deadline {
                    d = d.min(w);
                }
                Some(d)
            }
            FixpState::Terminating => Some(self.terminate_sent_at.add_ns(ka)),
        }
    }

    /// Bytes to send, handed over whole: the next call into the session reuses the buffer.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        self.reclaim_tx();
        if self.tx_len == 0 {
            return None;
        }
        self.tx_handed = self.tx_len;
        self.tx.get(..self.tx_len)
    }

    pub fn poll_event(&mut self) -> Option<FixpEvent> {
        self.events.pop_front()
    }

    /// The frame of a delivered business message (valid until the event queue is drained and
    /// the session is called again).
    pub fn business_frame(&self, b: &Business) -> &[u8] {
        let start = b.offset as usize;
        self.app
            .get(start..start + b.len as usize)
            .unwrap_or_default()
    }

    // ---- input -------------------------------------------------------------------------

    /// Handles every complete frame at the start of `buf`; returns the bytes consumed.
    fn process_frames(&mut self, now: Now, buf: &[u8]) -> usize {
        let mut used = 0;
        while self.state != FixpState::Idle {
            let rest = buf.get(used..).unwrap_or_default();
            match next_frame(rest) {
                Ok(NextFrame::Frame(frame)) => {
                    used += frame.len();
                    self.on_frame(now, frame);
                }
                Ok(NextFrame::Incomplete { .. }) => break,
                Err(e) => {
                    self.protocol_error(now, &e);
                    break;
                }
            }
        }
        used
    }

    fn on_frame(&mut self, now: Now, frame: &[u8]) {
        let header = match decode_header(frame) {
            Ok((h, _)) => h,
            Err(e) => return self.protocol_error(now, &e),
        };
        if !(500..=513).contains(&header.template_id) {
            return self.on_business(now, frame, header.template_id);
        }
        let msg = match super::decode(frame) {
            Ok(m) => m,
            Err(e) => return self.protocol_error(now, &e),
        };
        match (self.state, msg) {
            (FixpState::Negotiating, Message::NegotiationResponse(m))
                if m.uuid() == self.st.uuid =>
            {
                self.negotiated = true;
                self.events.push_back(FixpEvent::Negotiated {
                    uuid: m.uuid(),
                    secret_key_expiration_days: m.secret_key_secure_id_expiration(),
                });
                if self.send_establish(now).is_err() {
                    return self.disconnect(DisconnectReason::ProtocolError);
                }
                self.state = FixpState::Establishing;
                self.logon_sent_at = now.mono;
                self.logon_retried = false;
            }
            (FixpState::Negotiating, Message::NegotiationReject(m)) => {
                self.logon_rejected(
                    now,
                    Stage::Negotiate,
                    m.error_codes(),
                    m.reason().as_bytes(),
                );
            }
            (FixpState::Establishing, Message::EstablishmentAck(m)) if m.uuid() == self.st.uuid => {
                self.state = FixpState::Established;
                self.last_sent = now.mono;
                self.events.push_back(FixpEvent::Established {
                    uuid: m.uuid(),
                    next_inbound_seq: m.next_seq_no(),
                    keepalive_ms: m.keep_alive_interval(),
                });
                let prev_uuid = m.previous_uuid();
                let prev_seq = m.previous_seq_no();
                if prev_uuid != 0
                    && prev_uuid != self.st.uuid
                    && prev_uuid == self.st.previous_uuid
                    && self.st.previous_next_inbound_seq != 0
                    && prev_seq >= self.st.previous_next_inbound_seq
                {
                    self.previous_gap = Some(PreviousGap {
                        uuid: prev_uuid,
                        next: self.st.previous_next_inbound_seq,
                        last: prev_seq,
                    });
                }
                self.note_known_end(m.next_seq_no());
                self.arm_week(now);
                self.request_next(now);
            }
            (FixpState::Establishing, Message::EstablishmentReject(m)) => {
                if m.error_codes() == TerminateCode::Unnegotiated.code() {
                    self.negotiated = false;
                    self.unnegotiated = true;
                }
                self.logon_rejected(
                    now,
                    Stage::Establish,
                    m.error_codes(),
                    m.reason().as_bytes(),
                );
            }
            (FixpState::Negotiating | FixpState::Establishing, Message::Terminate(m)) => {
                // Since 2021 CME may answer an invalid Negotiate/Establish with Terminate.
                self.record_bad_logon(now);
                if m.error_codes() == TerminateCode::Unnegotiated.code() {
                    self.negotiated = false;
                    self.unnegotiated = true;
                }
                self.peer_terminated(m.error_codes(), m.reason().as_bytes());
                self.disconnect(DisconnectReason::Terminated);
            }
            (FixpState::Established | FixpState::Terminating, Message::Terminate(m)) => {
                if self.state == FixpState::Established {
                    let _ = self.send_terminate(now, TerminateCode::Finished.code());
                }
                self.peer_terminated(m.error_codes(), m.reason().as_bytes());
                self.disconnect(DisconnectReason::Terminated);
            }
            (FixpState::Established, Message::Sequence(m)) => {
                if m.keep_alive_interval_lapsed() == 1 {
                    let _ = self.send_sequence(now, false);
                }
                // NextSeqNo announces the exchange's next business sequence: below what we
                // already received is a broken stream; above it is a gap to request.
                let next = m.next_seq_no();
                if next < self.st.next_inbound_seq {
                    return self.lower_sequence(now, next);
                }
                self.note_known_end(next);
                self.request_next(now);
            }
            (FixpState::Established, Message::Retransmission(m)) => {
                let Some(mut r) = self.recovery.filter(|r| {
                    r.in_flight
                        && r.from == m.from_seq_no()
                        && r.stream_uuid == m.last_uuid().unwrap_or(m.uuid())
                }) else {
                    return self.unexpected(m.header().template_id);
                };
                // CME: for the current UUID MsgCount is the count that will be replayed (it
                // may be fewer than asked); for a previous UUID it matches the request.
                let announced = u32::from(m.msg_count());
                if announced < r.count {
                    r.announced = Some(announced);
                }
                r.deadline = now.mono.add_ns(self.recovery_timeout_ns());
                self.recovery = Some(r);
                if r.received >= r.expected() {
                    self.recovery_done(now);
                }
            }
            (FixpState::Established, Message::RetransmitReject(m)) => {
                self.events.push_back(FixpEvent::RetransmitRejected {
                    code: m.error_codes(),
                    name: RetransmitRejectCode::name_of(m.error_codes()),
                    reason: Reason::new(m.reason().as_bytes()),
                });
                let Some(r) = self.recovery.filter(|r| r.in_flight) else {
                    return;
                };
                self.recovery = None;
                let code = m.error_codes();
                let cause = LossCause::Rejected(code);
                match retransmit_reject_handling(code) {
                    RejectHandling::RetryLater => {
                        let delay = u64::from(self.policy.retry_delay_ms) * NS_PER_MS;
                        self.retry_or_lose(now, r, Some(delay), cause);
                    }
                    RejectHandling::FixRequest if r.attempt >= self.policy.attempts => {
                        self.lose_rest(now, r, cause);
                    }
                    RejectHandling::FixRequest => {
                        let mut r = r;
                        match RetransmitRejectCode::from_code(code) {
                            Some(RetransmitRejectCode::OutOfRange) => r.wire_count = 0,
                            Some(RetransmitRejectCode::RequestLimitExceeded) => {
                                let left = r.count - r.received;
                                self.chunk_limit = (left / 2).max(1);
                                r.count = r.received + self.chunk_limit;
                                r.wire_count = self.chunk_limit as u16;
                            }
                            _ => {}
                        }
                        self.retry_or_lose(now, r, None, cause);
                    }
                    RejectHandling::Lost => {
                        let stream_gone = code == RetransmitRejectCode::InvalidUuid.code();
                        match self.previous_gap.filter(|g| g.uuid == r.stream_uuid) {
                            Some(g) if stream_gone && r.stream_uuid != self.st.uuid => {
                                let from = r.from + r.received;
                                self.lose(now, r.stream_uuid, from, g.last + 1 - from, cause);
                            }
                            _ => self.lose_rest(now, r, cause),
                        }
                    }
                }
            }
            (FixpState::Established, Message::NotApplied(m)) => {
                let action = match self.cfg.not_applied {
                    NotAppliedPolicy::GapFill => {
                        let _ = self.send_sequence(now, false);
                        NotAppliedAction::GapFilled
                    }
                    NotAppliedPolicy::Resend => NotAppliedAction::ResendRequired,
                };
                self.events.push_back(FixpEvent::NotApplied {
                    from_seq: m.from_seq_no(),
                    count: m.msg_count(),
                    action,
                });
            }
            (_, m) => self.unexpected(m.template_id()),
        }
    }

    fn on_business(&mut self, now: Now, frame: &[u8], template_id: u16) {
        if self.state != FixpState::Established {
            return self.unexpected(template_id);
        }
        // Every exchange business message starts `SeqNum u32 @0, UUID u64 @4` in its block.
        let Some((seq, uuid, poss_retrans)) = business_seq(frame) else {
            let e = DecodeError::BlockTooShort {
                template: template_id,
                block_length: 0,
                min: 12,
            };
            return self.protocol_error(now, &e);
        };
        if seq == u32::MAX {
            // The last number of the sequence space: none can follow it (a CME week never gets
            // near), so the stream cannot go on.
            let _ = self.send_terminate(now, TerminateCode::InvalidMsgSeqNo.code());
            self.events.push_back(FixpEvent::Terminated {
                code: TerminateCode::InvalidMsgSeqNo.code(),
                name: TerminateCode::InvalidMsgSeqNo.name(),
                by_exchange: false,
                reason: Reason::new(b"sequence 4294967295: no number can follow it"),
            });
            return self.disconnect(DisconnectReason::Terminated);
        }
        // A retransmission in progress takes the messages of its stream and range.
        if let Some(mut r) = self.recovery.filter(|r| r.in_flight) {
            if uuid == r.stream_uuid && seq == r.from + r.received && r.received < r.expected() {
                r.received += 1;
                r.deadline = now.mono.add_ns(self.recovery_timeout_ns());
                self.recovery = Some(r);
                if uuid == self.st.uuid {
                    self.st.next_inbound_seq = seq + 1;
                } else if let Some(g) = &mut self.previous_gap {
                    g.next = seq + 1;
                    self.st.previous_next_inbound_seq = seq + 1;
                }
                self.deliver(uuid, seq, template_id, true, frame);
                if r.received >= r.expected() {
                    self.recovery_done(now);
                }
                return;
            }
        }
        if uuid != self.st.uuid {
            return self.unexpected(template_id);
        }
        let expected = self.st.next_inbound_seq;
        let behind_held = self.held.back().is_some_and(|h| seq <= h.seq);
        if seq < expected || behind_held {
            if poss_retrans {
                return; // a duplicate retransmission: already delivered or held
            }
            return self.lower_sequence(now, seq);
        }
        if seq == expected && self.held.is_empty() && self.recovery_blocks_current() {
            // Current-UUID delivery waits while the previous UUID is recovered first.
            self.hold(seq, template_id, frame);
            self.known_end = self.known_end.max(seq + 1);
            return;
        }
        if seq == expected && self.held.is_empty() {
            self.st.next_inbound_seq = seq + 1;
            self.known_end = self.known_end.max(seq + 1);
            self.deliver(uuid, seq, template_id, poss_retrans, frame);
            return;
        }
        // A gap: hold live messages until the missing ones arrive.
        self.hold(seq, template_id, frame);
        self.known_end = self.known_end.max(seq + 1);
        self.request_next(now);
    }

    fn recovery_blocks_current(&self) -> bool {
        self.previous_gap.is_some() || self.recovery.is_some_and(|r| r.stream_uuid != self.st.uuid)
    }

    fn hold(&mut self, seq: u32, template_id: u16, frame: &[u8]) {
        if self.held_buf.len() + frame.len() > HELD_LIMIT_BYTES {
            // Far behind a gap that is not being filled: give up on the connection rather
            // than grow without bound; re-establishing requests everything again.
            self.unexpected(template_id);
            return self.disconnect(DisconnectReason::ProtocolError);
        }
        let offset = self.held_buf.len() as u32;
        self.held_buf.extend_from_slice(frame);
        self.held.push_back(Held {
            seq,
            template_id,
            offset,
            len: frame.len() as u32,
        });
    }

    /// Delivers held messages that are now in sequence.
    fn deliver_held(&mut self) {
        if self.recovery_blocks_current() {
            return;
        }
        while let Some(h) = self.held.front().copied() {
            if h.seq < self.st.next_inbound_seq {
                self.held.pop_front(); // covered by a lost range
                continue;
            }
            if h.seq != self.st.next_inbound_seq {
                break;
            }
            self.held.pop_front();
            self.st.next_inbound_seq = h.seq + 1;
            let start = h.offset as usize;
            let held_buf = std::mem::take(&mut self.held_buf);
            if let Some(frame) = held_buf.get(start..start + h.len as usize) {
                self.deliver(self.st.uuid, h.seq, h.template_id, false, frame);
            }
            self.held_buf = held_buf;
        }
        if self.held.is_empty() {
            self.held_buf.clear();
        }
    }

    fn deliver(
        &mut self,
        uuid: u64,
        seq: u32,
        template_id: u16,
        retransmitted: bool,
        frame: &[u8],
    ) {
        let offset = self.app.len() as u32;
        self.app.extend_from_slice(frame);
        self.events.push_back(FixpEvent::Business(Business {
            uuid,
            seq,
            template_id,
            retransmitted,
            offset,
            len: frame.len() as u32,
        }));
    }

    fn note_known_end(&mut self, next_seq: u32) {
        self.known_end = self.known_end.max(next_seq).max(self.st.next_inbound_seq);
    }

    /// Issues the next RetransmitRequest when none is in flight: previous UUID first, then the
    /// first gap of the current UUID.
    fn request_next(&mut self, now: Now) {
        if self.recovery.is_some() || self.state != FixpState::Established {
            return;
        }
        let chunk = self.chunk_limit.clamp(1, MAX_RETRANSMIT_CHUNK);
        if let Some(g) = self.previous_gap {
            if g.next > g.last {
                self.previous_gap = None;
                self.deliver_held();
            } else {
                let count = (g.last - g.next + 1).min(chunk);
                return self.send_retransmit_request(now, g.uuid, Some(g.uuid), g.next, count, 1);
            }
        }
        let next = self.st.next_inbound_seq;
        let gap_end = self.held.front().map_or(self.known_end, |h| h.seq);
        if gap_end > next {
            let count = (gap_end - next).min(chunk);
            self.send_retransmit_request(now, self.st.uuid, None, next, count, 1);
        }
    }

    fn send_retransmit_request(
        &mut self,
        now: Now,
        stream_uuid: u64,
        last_uuid: Option<u64>,
        from: u32,
        count: u32,
        attempt: u8,
    ) {
        self.send_recovery(
            now,
            Recovery {
                stream_uuid,
                last_uuid,
                from,
                count,
                received: 0,
                announced: None,
                wire_count: count as u16,
                attempt,
                in_flight: true,
                deadline: now.mono,
            },
        );
    }

    /// Sends `r` (from its first message not yet received) and starts its timer.
    fn send_recovery(&mut self, now: Now, r: Recovery) {
        let uuid = self.st.uuid;
        let (from, count) = (r.from + r.received, r.count - r.received);
        let wire_count = if r.wire_count == 0 { 0 } else { count as u16 };
        let sent = self.encode(|buf| {
            let mut w = RetransmitRequestWriter::new(buf)?;
            w.set_uuid(uuid)
                .set_last_uuid(r.last_uuid)
                .set_request_timestamp(now.wall.0)
                .set_from_seq_no(from)
                .set_msg_count(wire_count);
            Ok(w.finish())
        });
        if sent.is_err() {
            return self.disconnect(DisconnectReason::ProtocolError);
        }
        self.last_sent = now.mono;
        self.recovery = Some(Recovery {
            from,
            count,
            received: 0,
            announced: None,
            wire_count,
            in_flight: true,
            deadline: now.mono.add_ns(self.recovery_timeout_ns()),
            ..r
        });
        self.events.push_back(FixpEvent::RetransmitRequested {
            uuid,
            last_uuid: r.last_uuid,
            from_seq: from,
            count,
        });
    }

    fn recovery_timeout_ns(&self) -> u64 {
        u64::from(self.policy.timeout_ms) * NS_PER_MS
    }

    /// The outstanding request delivered all it announced: done, or (announced fewer than
    /// asked) the rest is asked again.
    fn recovery_done(&mut self, now: Now) {
        let Some(r) = self.recovery.take() else {
            return;
        };
        // Fewer than asked and nothing at all: ask again (or give up). After some progress
        // the rest is a new range (first attempt), asked by request_next.
        if r.received < r.count && r.received == 0 {
            return self.retry_or_lose(now, r, None, LossCause::ShortRetransmission);
        }
        if r.stream_uuid == self.st.uuid {
            self.deliver_held();
        }
        self.request_next(now);
    }

    /// The recovery timer fired: send a scheduled request, or handle a stalled one.
    fn recovery_timer(&mut self, now: Now) {
        let Some(r) = self.recovery.take() else {
            return;
        };
        if !r.in_flight {
            return self.send_recovery(now, r);
        }
        if r.received > 0 {
            // It stalled after some progress: the rest is asked again as a first attempt.
            let rest = Recovery {
                from: r.from + r.received,
                count: r.count - r.received,
                received: 0,
                attempt: 0,
                ..r
            };
            return self.retry_or_lose(now, rest, None, LossCause::TimedOut);
        }
        self.retry_or_lose(now, r, None, LossCause::TimedOut)
    }

    /// Asks for the rest of `r` again (after `delay`, else at once) while attempts remain;
    /// else reports it lost and moves on.
    fn retry_or_lose(&mut self, now: Now, r: Recovery, delay: Option<u64>, cause: LossCause) {
        if r.attempt >= self.policy.attempts {
            return self.lose_rest(now, r, cause);
        }
        let next = Recovery {
            attempt: r.attempt + 1,
            ..r
        };
        match delay {
            None => self.send_recovery(now, next),
            Some(d) => {
                self.recovery = Some(Recovery {
                    in_flight: false,
                    deadline: now.mono.add_ns(d),
                    ..next
                });
            }
        }
    }

    /// Gives up the messages of `r` not received yet.
    fn lose_rest(&mut self, now: Now, r: Recovery, cause: LossCause) {
        let from = r.from + r.received;
        self.lose(now, r.stream_uuid, from, r.count - r.received, cause);
    }

    /// Reports `from..from+count` of `uuid`'s stream lost, skips it, releases what was held
    /// behind it and asks for the next gap.
    fn lose(&mut self, now: Now, uuid: u64, from: u32, count: u32, cause: LossCause) {
        self.recovery = None;
        if count > 0 {
            self.events.push_back(FixpEvent::MessagesLost {
                uuid,
                from_seq: from,
                count,
                cause,
            });
        }
        let end = from.saturating_add(count);
        if uuid == self.st.uuid {
            self.st.next_inbound_seq = self.st.next_inbound_seq.max(end);
            self.known_end = self.known_end.max(self.st.next_inbound_seq);
        } else if let Some(g) = &mut self.previous_gap {
            g.next = g.next.max(end);
            self.st.previous_next_inbound_seq = g.next;
            if g.next > g.last {
                self.previous_gap = None;
            }
        }
        self.deliver_held();
        self.request_next(now);
    }

    // ---- weekly cycle ------------------------------------------------------------------

    /// Arms the timer for the next weekly transition (wall-clock schedule, monotonic timer).
    fn arm_week(&mut self, now: Now) {
        let wall = now.wall.0;
        let mut at = crate::week::next_open(wall);
        if self.weekly_close {
            at = at.min(crate::week::next_close(wall));
        }
        self.week_deadline = Some(now.mono.add_ns(at.saturating_sub(wall)));
    }

    /// The weekly timer fired: terminates at the weekly close (when observed) or at the
    /// start-up when the UUID is last week's. Returns whether the session is terminating.
    fn weekly_transition(&mut self, now: Now) -> bool {
        let event = if let Some(opens_at) = self.week_closed_until(now) {
            WeeklyEvent::Close { opens_at }
        } else if week_boundary_passed(self.st.uuid, now.wall.0) {
            WeeklyEvent::StartUp
        } else {
            // Early (the wall clock was stepped) or nothing to do this time: re-arm.
            self.arm_week(now);
            return false;
        };
        self.week_deadline = None;
        let reason: &[u8] = match event {
            WeeklyEvent::Close { .. } => b"weekly close (Friday 17:00 CT)",
            WeeklyEvent::StartUp => b"weekly start-up: new UUID (Sunday 10:30 CT)",
        };
        self.events.push_back(FixpEvent::Weekly(event));
        self.events.push_back(FixpEvent::Terminated {
            code: TerminateCode::Finished.code(),
            name: TerminateCode::Finished.name(),
            by_exchange: false,
            reason: Reason::new(reason),
        });
        if self.terminate(now, TerminateCode::Finished.code()).is_err() {
            self.disconnect(DisconnectReason::Terminated);
        }
        true
    }

    fn lower_sequence(&mut self, now: Now, seq: u32) {
        let _ = self.send_terminate(now, TerminateCode::InvalidMsgSeqNo.code());
        let mut text = [0u8; 48];
        let msg = format_lower(&mut text, seq, self.st.next_inbound_seq);
        self.events.push_back(FixpEvent::Terminated {
            code: TerminateCode::InvalidMsgSeqNo.code(),
            name: TerminateCode::InvalidMsgSeqNo.name(),
            by_exchange: false,
            reason: Reason::new(msg),
        });
        self.disconnect(DisconnectReason::Terminated);
    }

    fn protocol_error(&mut self, now: Now, e: &DecodeError) {
        let code = e.terminate_code();
        if matches!(
            self.state,
            FixpState::Established | FixpState::Negotiating | FixpState::Establishing
        ) {
            let _ = self.send_terminate(now, code.code());
        }
        self.events.push_back(FixpEvent::Terminated {
            code: code.code(),
            name: code.name(),
            by_exchange: false,
            reason: Reason::new(b"undecodable frame from the exchange"),
        });
        self.disconnect(DisconnectReason::ProtocolError);
    }

    fn unexpected(&mut self, template_id: u16) {
        self.events
            .push_back(FixpEvent::Alert(Alert::UnexpectedMessage {
                template_id,
                state: self.state,
            }));
    }

    fn logon_rejected(&mut self, now: Now, stage: Stage, code: u16, reason: &[u8]) {
        self.record_bad_logon(now);
        self.events.push_back(FixpEvent::Rejected {
            stage,
            code,
            name: RejectCode::name_of(code),
            reason: Reason::new(reason),
        });
        self.disconnect(DisconnectReason::Rejected);
    }

    fn peer_terminated(&mut self, code: u16, reason: &[u8]) {
        self.events.push_back(FixpEvent::Terminated {
            code,
            name: TerminateCode::name_of(code),
            by_exchange: true,
            reason: Reason::new(reason),
        });
    }

    fn disconnect(&mut self, reason: DisconnectReason) {
        self.state = FixpState::Idle;
        self.rx.clear();
        self.recovery = None;
        self.week_deadline = None;
        self.events.push_back(FixpEvent::Disconnect(reason));
    }

    // ---- bad logon throttle ------------------------------------------------------------

    fn record_bad_logon(&mut self, now: Now) {
        self.prune_bad_logons(now);
        if self.bad_logon_count < MAX_BAD_LOGONS {
            self.bad_logons[self.bad_logon_count] = now.mono;
            self.bad_logon_count += 1;
        }
    }

    fn prune_bad_logons(&mut self, now: Now) {
        let mut kept = 0;
        for i in 0..self.bad_logon_count {
            let t = self.bad_logons[i];
            if now.mono < t.add_ns(BAD_LOGON_WINDOW_NS) {
                self.bad_logons[kept] = t;
                kept += 1;
            }
        }
        self.bad_logon_count = kept;
    }

    /// `Some(time)` when another bad logon now could be the fifth within 60 s.
    fn throttled_until(&mut self, now: Now) -> Option<u64> {
        self.prune_bad_logons(now);
        if self.bad_logon_count >= MAX_BAD_LOGONS {
            Some(self.bad_logons[0].add_ns(BAD_LOGON_WINDOW_NS).0)
        } else {
            None
        }
    }

    // ---- output ------------------------------------------------------------------------

    fn reset_connection(&mut self, now: Now) {
        self.rx.clear();
        self.tx_len = 0;
        self.tx_handed = 0;
        self.recovery = None;
        self.previous_gap = None;
        self.chunk_limit = MAX_RETRANSMIT_CHUNK;
        self.week_deadline = None;
        self.held.clear();
        self.held_buf.clear();
        self.known_end = self.st.next_inbound_seq;
        self.last_sent = now.mono;
        self.last_received = now.mono;
        self.lapse_sent = false;
    }

    fn reclaim_tx(&mut self) {
        if self.tx_handed > 0 {
            self.tx.copy_within(self.tx_handed..self.tx_len, 0);
            self.tx_len -= self.tx_handed;
            self.tx_handed = 0;
        }
    }

    fn recycle_app(&mut self) {
        if self.events.is_empty() {
            self.app.clear();
        }
    }

    fn push_tx(&mut self, frame: &[u8]) -> Result<(), SessionError> {
        self.reclaim_tx();
        let end = self.tx_len + frame.len();
        let dst = self
            .tx
            .get_mut(self.tx_len..end)
            .ok_or(SessionError::TransmitFull)?;
        dst.copy_from_slice(frame);
        self.tx_len = end;
        Ok(())
    }

    fn encode(
        &mut self,
        f: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), SessionError> {
        self.reclaim_tx();
        let start = self.tx_len;
        let n = f(&mut self.tx[start..]).map_err(|e| match e {
            EncodeError::BufferTooSmall { .. } => SessionError::TransmitFull,
            e => SessionError::Encode(e),
        })?;
        self.tx_len += n;
        Ok(())
    }

    fn send_negotiate(&mut self, now: Now) -> Result<(), SessionError> {
        let uuid = self.st.uuid;
        let sig = self.creds.signer.sign(&NegotiateCanonical {
            request_timestamp: now.wall.0,
            uuid,
            session: &self.cfg.session_id,
            firm: &self.cfg.firm_id,
        });
        let (key_id, session, firm) = (
            self.creds.access_key_id.clone(),
            self.cfg.session_id.clone(),
            self.cfg.firm_id.clone(),
        );
        self.encode(|buf| {
            let mut w = NegotiateWriter::new(buf)?;
            w.set_hmac_signature(sig)?
                .set_access_key_id(&key_id)?
                .set_session(&session)?
                .set_firm(&firm)?;
            w.set_uuid(uuid).set_request_timestamp(now.wall.0);
            Ok(w.finish())
        })?;
        self.last_sent = now.mono;
        Ok(())
    }

    fn send_establish(&mut self, now: Now) -> Result<(), SessionError> {
        let c = &self.cfg;
        let canonical = EstablishCanonical {
            request_timestamp: now.wall.0,
            uuid: self.st.uuid,
            session: &c.session_id,
            firm: &c.firm_id,
            trading_system_name: &c.trading_system_name,
            trading_system_version: &c.trading_system_version,
            trading_system_vendor: &c.trading_system_vendor,
            next_seq_no: self.st.next_outbound_seq,
            keep_alive_interval: c.keepalive_ms,
        };
        let sig = self.creds.signer.sign(&canonical);
        let c = self.cfg.clone();
        let key_id = self.creds.access_key_id.clone();
        let (uuid, next) = (self.st.uuid, self.st.next_outbound_seq);
        self.encode(|buf| {
            let mut w = EstablishWriter::new(buf)?;
            w.set_hmac_signature(sig)?
                .set_access_key_id(&key_id)?
                .set_trading_system_name(&c.trading_system_name)?
                .set_trading_system_version(&c.trading_system_version)?
                .set_trading_system_vendor(&c.trading_system_vendor)?
                .set_session(&c.session_id)?
                .set_firm(&c.firm_id)?;
            w.set_uuid(uuid)
                .set_request_timestamp(now.wall.0)
                .set_next_seq_no(next)
                .set_keep_alive_interval(c.keepalive_ms);
            Ok(w.finish())
        })?;
        self.last_sent = now.mono;
        Ok(())
    }

    fn send_sequence(&mut self, now: Now, lapsed: bool) -> Result<(), SessionError> {
        let (uuid, next) = (self.st.uuid, self.st.next_outbound_seq);
        self.encode(|buf| {
            let mut w = SequenceWriter::new(buf)?;
            w.set_uuid(uuid)
                .set_next_seq_no(next)
                .set_keep_alive_interval_lapsed(u8::from(lapsed));
            Ok(w.finish())
        })?;
        self.last_sent = now.mono;
        Ok(())
    }

    fn send_terminate(&mut self, now: Now, code: u16) -> Result<(), SessionError> {
        let uuid = self.st.uuid;
        self.encode(|buf| {
            let mut w = TerminateWriter::new(buf)?;
            w.set_uuid(uuid)
                .set_request_timestamp(now.wall.0)
                .set_error_codes(code);
            Ok(w.finish())
        })?;
        self.last_sent = now.mono;
        Ok(())
    }
}

/// SeqNum, UUID and PossRetransFlag of an exchange business frame, without decoding the rest.
fn business_seq(frame: &[u8]) -> Option<(u32, u64, bool)> {
    let (header, body) = decode_header(frame).ok()?;
    let block = body.get(..usize::from(header.block_length))?;
    let seq = u32::from_le_bytes(block.get(0..4)?.try_into().ok()?);
    let uuid = u64::from_le_bytes(block.get(4..12)?.try_into().ok()?);
    // Every template that carries a PossRetransFlag (all exchange business messages).
    let poss_retrans = super::decode(frame).is_ok_and(|m| m.poss_retrans() == Some(true));
    Some((seq, uuid, poss_retrans))
}

fn format_lower(buf: &mut [u8; 48], got: u32, expected: u32) -> &[u8] {
    use std::io::Write as _;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cur, "sequence {got} lower than expected {expected}");
    let n = cur.position() as usize;
    &buf[..n]
}

pub use crate::week::week_boundary_passed;

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
