//! What the hot engines and the housekeeping thread share: atomics they publish (states,
//! counters, heartbeats) and the fixed-size messages that cross the [`Link`] queues.
//!
//! Everything an engine sends is `Sized`, allocation-free to build and (except the rare
//! oversized Drop Copy message) `Copy`-like: journal records carry the frame inline, log events
//! are small enums with inline text, formatted only on the housekeeping side.

use crate::auth::{AccessKeyId, HmacSigner};
use crate::config::RiskConfig;
use crate::ilink3::session::{Alert, Credentials, DisconnectReason, Reason, Stage};
use crate::store::JournaledMessage;
use arrayvec::{ArrayString, ArrayVec};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

/// Daemon lifecycle phase ([`DaemonShared::phase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Running = 0,
    /// Stop taking orders, terminate sessions, then stop.
    Draining = 1,
    /// Engines are gone; housekeeping flushes and closes.
    Stopped = 2,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Running,
            1 => Phase::Draining,
            _ => Phase::Stopped,
        }
    }
}

/// Session state as published for status, metrics and strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LinkState {
    /// No connection; waiting to reconnect.
    Down = 0,
    /// TCP connecting.
    Connecting = 1,
    /// Logon in progress (Negotiate/Establish, or the FIX Logon).
    LoggingOn = 2,
    /// Established / logged on.
    Up = 3,
    /// Terminate / Logout sent.
    Closing = 4,
    /// Stopped for good (shutdown).
    Stopped = 5,
}

impl LinkState {
    pub fn from_u8(v: u8) -> LinkState {
        match v {
            1 => LinkState::Connecting,
            2 => LinkState::LoggingOn,
            3 => LinkState::Up,
            4 => LinkState::Closing,
            5 => LinkState::Stopped,
            _ => LinkState::Down,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LinkState::Down => "down",
            LinkState::Connecting => "connecting",
            LinkState::LoggingOn => "logging-on",
            LinkState::Up => "established",
            LinkState::Closing => "closing",
            LinkState::Stopped => "stopped",
        }
    }
}

/// Which protocol a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Ilink3,
    DropCopy,
}

impl SessionKind {
    pub fn name(self) -> &'static str {
        match self {
            SessionKind::Ilink3 => "ilink3",
            SessionKind::DropCopy => "dropcopy",
        }
    }
}

/// Inbound iLink 3 business messages the router does not act on, per template, and frames that
/// failed to decode: counted by the engine (lock-free, no allocation), read by housekeeping,
/// which logs the first of each template and every rise of the error count, and exports both.
#[derive(Debug)]
pub struct InboundCounters {
    /// Index `template_id - FIRST_TEMPLATE`.
    unhandled: [AtomicU64; INBOUND_TEMPLATE_SLOTS],
    decode_errors: AtomicU64,
    /// Template id of the last frame that failed to decode.
    last_error_template: AtomicU32,
}

/// Lowest iLink 3 template id (500, Negotiate).
pub const FIRST_TEMPLATE: u16 = 500;
/// Template ids 500..=571 (the highest in schema version 9).
pub const INBOUND_TEMPLATE_SLOTS: usize = 72;

impl Default for InboundCounters {
    fn default() -> Self {
        InboundCounters {
            unhandled: [const { AtomicU64::new(0) }; INBOUND_TEMPLATE_SLOTS],
            decode_errors: AtomicU64::new(0),
            last_error_template: AtomicU32::new(0),
        }
    }
}

impl InboundCounters {
    /// One decoded business message of `template_id` that the router does not act on (a
    /// template outside the known range counts as a decode error).
    #[inline]
    pub fn count_unhandled(&self, template_id: u16) {
        match self
            .unhandled
            .get(usize::from(template_id.wrapping_sub(FIRST_TEMPLATE)))
        {
            Some(c) => {
                c.fetch_add(1, Ordering::Relaxed);
            }
            None => self.count_decode_error(template_id),
        }
    }

    /// One business frame of `template_id` that failed to decode.
    #[inline]
    pub fn count_decode_error(&self, template_id: u16) {
        self.last_error_template
            .store(u32::from(template_id), Ordering::Relaxed);
        self.decode_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// `(template_id, count)` of every template counted at least once.
    pub fn unhandled(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.unhandled.iter().enumerate().filter_map(|(i, c)| {
            let n = c.load(Ordering::Relaxed);
            (n > 0).then_some((FIRST_TEMPLATE + i as u16, n))
        })
    }

    /// Frames that failed to decode, and the template id of the last one.
    pub fn decode_errors(&self) -> (u64, u16) {
        (
            self.decode_errors.load(Ordering::Relaxed),
            self.last_error_template.load(Ordering::Relaxed) as u16,
        )
    }
}

/// One session's published state (engine writes, housekeeping reads).
#[derive(Debug)]
pub struct SessionShared {
    pub name: String,
    pub kind: SessionKind,
    pub state: AtomicU8,
    pub uuid: AtomicU64,
    /// Drop Copy: next outbound/inbound MsgSeqNum (iLink 3 uses the store's `SeqHandle`).
    pub next_out: AtomicU64,
    pub next_in: AtomicU64,
    pub reconnects: AtomicU64,
    pub orders_sent: AtomicU64,
    pub events_received: AtomicU64,
    /// iLink 3 exchange messages given up by recovery (reported to the strategies).
    pub messages_lost: AtomicU64,
    /// Days to key expiry as the exchange last reported it (iLink 3 NegotiationResponse);
    /// `i64::MIN` when unknown.
    pub exchange_key_days: AtomicI64,
    /// Wall-clock ns until which no logon may be tried (four bad logons within 60 s); 0: not
    /// throttled.
    pub throttled_until_wall: AtomicU64,
    /// Wall-clock ns of the next connection attempt while down; 0: none scheduled.
    pub next_attempt_wall: AtomicU64,
    /// CME code of the last refused logon (or permanent Terminate); -1: none or no code.
    pub last_reject_code: AtomicI64,
    /// iLink 3: inbound business messages not acted on / not decodable.
    pub inbound: InboundCounters,
    /// iLink 3: requests refused by the session's messaging-control limiter, per
    /// `router::MC_KINDS` (cancels and mass actions; new orders and modifies).
    pub messaging_control_rejects: [AtomicU64; 2],
    /// A kill switch on this session (set by housekeeping, read by its engine).
    pub killed: AtomicBool,
    /// iLink 3: orders the exchange's mass status after a restart reported open that this
    /// daemon did not know.
    pub restart_unknown_orders: AtomicU64,
    /// iLink 3: the session's `[[ilink3.party]]` registrations (written by its engine).
    pub parties: Vec<super::party::PartyShared>,
}

impl SessionShared {
    pub fn new(name: &str, kind: SessionKind) -> Self {
        SessionShared {
            name: name.to_string(),
            kind,
            state: AtomicU8::new(LinkState::Down as u8),
            uuid: AtomicU64::new(0),
            next_out: AtomicU64::new(0),
            next_in: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            orders_sent: AtomicU64::new(0),
            events_received: AtomicU64::new(0),
            messages_lost: AtomicU64::new(0),
            exchange_key_days: AtomicI64::new(i64::MIN),
            throttled_until_wall: AtomicU64::new(0),
            next_attempt_wall: AtomicU64::new(0),
            last_reject_code: AtomicI64::new(-1),
            inbound: InboundCounters::default(),
            messaging_control_rejects: [const { AtomicU64::new(0) }; 2],
            killed: AtomicBool::new(false),
            restart_unknown_orders: AtomicU64::new(0),
            parties: Vec::new(),
        }
    }

    pub fn state(&self) -> LinkState {
        LinkState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub fn set_state(&self, s: LinkState) {
        self.state.store(s as u8, Ordering::Release);
    }
}

/// One strategy's published state.
#[derive(Debug)]
pub struct StrategyShared {
    pub name: String,
    /// Attached strategy pid as the engine last read it from the segment (0: none).
    pub pid: AtomicU32,
    /// The strategy's heartbeat value as the engine last read it.
    pub heartbeat: AtomicU64,
    pub orders_in: AtomicU64,
    pub risk_rejects: AtomicU64,
    pub events_out: AtomicU64,
    pub events_dropped: AtomicU64,
    pub open_orders: AtomicU64,
    /// A kill switch on this strategy (set by housekeeping, read by its engine).
    pub killed: AtomicBool,
}

impl StrategyShared {
    pub fn new(name: &str) -> Self {
        StrategyShared {
            name: name.to_string(),
            pid: AtomicU32::new(0),
            heartbeat: AtomicU64::new(0),
            orders_in: AtomicU64::new(0),
            risk_rejects: AtomicU64::new(0),
            events_out: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            open_orders: AtomicU64::new(0),
            killed: AtomicBool::new(false),
        }
    }
}

/// One engine's published counters.
#[derive(Debug, Default)]
pub struct EngineShared {
    /// Loop turns (the watchdog only pets systemd while this advances).
    pub heartbeat: AtomicU64,
    /// Heap allocations made by the engine thread so far, published every few thousand turns
    /// (only counted when `runtime::alloc_count::CountingAlloc` is the global allocator).
    pub allocations: AtomicU64,
    /// Orders sent so far (for tests that wait for the steady state).
    pub orders_sent: AtomicU64,
    /// The engine thread returned.
    pub done: AtomicBool,
    /// Journal records dropped because the housekeeping queue was full.
    pub journal_dropped: AtomicU64,
    /// Log events dropped because the queue was full.
    pub logs_dropped: AtomicU64,
    /// iLink 3 execution copies (reconciliation) dropped because the queue was full.
    pub exec_copies_dropped: AtomicU64,
    /// Order-journal records dropped because the queue was full: a restart would restore
    /// those orders as of their previous record (the mass status then corrects them).
    pub order_changes_dropped: AtomicU64,
}

/// Everything shared, daemon-wide.
#[derive(Debug)]
pub struct DaemonShared {
    phase: AtomicU8,
    pub engines: Vec<EngineShared>,
    /// iLink 3 sessions first (config order), then Drop Copy sessions.
    pub sessions: Vec<SessionShared>,
    pub strategies: Vec<StrategyShared>,
    /// Set by SIGHUP (or [`super::Daemon::reload`]); cleared by housekeeping.
    pub reload: Arc<AtomicBool>,
    /// Set by SIGTERM/SIGINT (or [`super::Daemon::shutdown`]); the housekeeping thread starts
    /// the drain.
    pub terminate: Arc<AtomicBool>,
    /// The kill switch on everything (set by housekeeping).
    pub kill_all: AtomicBool,
    /// Bumped (Release) by housekeeping after any kill flag changes; an engine compares it
    /// with the value it last applied (one Acquire load per request, no lock).
    pub kill_gen: AtomicU64,
    /// Bumped by housekeeping for `ilinkd status --parties`: each engine sends a
    /// PartyDetailsListRequest (537) on its established sessions with parties.
    pub party_list_gen: AtomicU64,
    /// Bumped by an engine when a party's registration state changes; housekeeping saves the
    /// accepted ones (`parties.json`) and stores the value it saved in `party_saved_gen`.
    pub party_gen: AtomicU64,
    pub party_saved_gen: AtomicU64,
}

impl DaemonShared {
    pub fn new(
        engines: usize,
        sessions: Vec<SessionShared>,
        strategies: Vec<StrategyShared>,
    ) -> Self {
        DaemonShared {
            phase: AtomicU8::new(Phase::Running as u8),
            engines: (0..engines).map(|_| EngineShared::default()).collect(),
            sessions,
            strategies,
            reload: Arc::new(AtomicBool::new(false)),
            terminate: Arc::new(AtomicBool::new(false)),
            kill_all: AtomicBool::new(false),
            kill_gen: AtomicU64::new(0),
            party_list_gen: AtomicU64::new(0),
            party_gen: AtomicU64::new(0),
            party_saved_gen: AtomicU64::new(0),
        }
    }

    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Moves the phase forward (never back).
    pub fn advance(&self, to: Phase) {
        self.phase.fetch_max(to as u8, Ordering::AcqRel);
    }
}

/// Bytes of frame a [`JournalRec`] holds inline (every order message fits).
pub const JOURNAL_BYTES: usize = 160;

/// An outbound business message to journal (engine → housekeeping).
#[derive(Clone, Copy)]
pub struct JournalRec {
    /// Global iLink 3 session index.
    pub session: u16,
    pub uuid: u64,
    pub seq: u32,
    pub len: u16,
    pub bytes: [u8; JOURNAL_BYTES],
}

impl JournalRec {
    pub fn frame(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Keeps a copy of `frame`, sent as `seq` under `uuid` (an empty copy if the frame does
    /// not fit, which no iLink 3 message does).
    #[inline]
    pub fn capture(&mut self, frame: &[u8], seq: u32, uuid: u64) {
        if let Some(dst) = self.bytes.get_mut(..frame.len()) {
            dst.copy_from_slice(frame);
            self.len = frame.len() as u16;
        } else {
            self.len = 0;
        }
        self.seq = seq;
        self.uuid = uuid;
    }
}

/// Drop Copy message bytes kept inline.
pub const DC_INLINE: usize = 1536;

/// A Drop Copy business message (engine → housekeeping, which journals and publishes it).
/// `seq` 0 with no bytes marks CME's weekly reset: housekeeping rotates the journal.
pub struct DcRec {
    /// Global Drop Copy session index (0-based among Drop Copy sessions).
    pub dc: u16,
    pub seq: u64,
    pub data: DcData,
}

/// The raw FIX message: inline (the common case, no allocation) or, when longer, on the heap.
/// Deliberately not boxed: the inline variant is what keeps the hot path allocation-free.
#[allow(clippy::large_enum_variant)]
pub enum DcData {
    Inline(ArrayVec<u8, DC_INLINE>),
    Heap(Vec<u8>),
}

impl DcRec {
    pub fn new(dc: u16, seq: u64, raw: &[u8]) -> Self {
        let data = match ArrayVec::try_from(raw) {
            Ok(inline) => DcData::Inline(inline),
            Err(_) => DcData::Heap(raw.to_vec()),
        };
        DcRec { dc, seq, data }
    }

    pub fn raw(&self) -> &[u8] {
        match &self.data {
            DcData::Inline(v) => v,
            DcData::Heap(v) => v,
        }
    }
}

/// Inline text of a log event (cut at 120 bytes, on a character boundary).
#[derive(Clone, Copy, Default)]
pub struct Note(ArrayString<120>);

impl Note {
    pub fn new(s: &str) -> Note {
        let mut n = Note::default();
        let _ = fmt::Write::write_str(&mut n, s);
        n
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Write for Note {
    /// Appends what fits and drops the rest: never fails.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut n = s.len().min(self.0.remaining_capacity());
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        if let Some(head) = s.get(..n) {
            self.0.push_str(head);
        }
        Ok(())
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// Something worth logging, from an engine (formatted by the housekeeping thread). `session` is
/// the global session index ([`DaemonShared::sessions`]); `strategy` the global strategy index.
#[derive(Debug, Clone, Copy)]
pub enum LogEvent {
    /// A party details registration step (518 sent, 519 accepted or refused).
    Party {
        session: usize,
        /// Index among the session's parties.
        party: usize,
        what: Note,
        /// A refusal (logged as a warning, kept as the session's last error).
        refused: bool,
    },
    EngineStarted {
        engine: usize,
        backend: &'static str,
        pinned: Option<usize>,
        realtime: bool,
    },
    Connecting {
        session: usize,
        addr: SocketAddr,
    },
    Connected {
        session: usize,
        addr: SocketAddr,
    },
    ConnectFailed {
        session: usize,
        addr: SocketAddr,
        errno: i32,
        retry_in_ms: u64,
    },
    ConnectionLost {
        session: usize,
        errno: Option<i32>,
        /// `None` while shutting down (no reconnect).
        retry_in_ms: Option<u64>,
    },
    NewUuid {
        session: usize,
        uuid: u64,
        previous: u64,
    },
    UuidNotPersisted {
        session: usize,
        uuid: u64,
        why: Note,
    },
    Negotiated {
        session: usize,
        uuid: u64,
        key_days: Option<u16>,
    },
    Established {
        session: usize,
        uuid: u64,
        next_in: u32,
        next_out: u32,
        keepalive_ms: u16,
    },
    LogonRejected {
        session: usize,
        stage: Stage,
        code: u16,
        name: &'static str,
        reason: Reason,
    },
    Terminated {
        session: usize,
        code: u16,
        name: &'static str,
        by_exchange: bool,
        reason: Reason,
    },
    RetransmitRequested {
        session: usize,
        from: u32,
        count: u32,
    },
    RetransmitRejected {
        session: usize,
        code: u16,
        name: &'static str,
        reason: Reason,
    },
    MessagesLost {
        session: usize,
        from: u32,
        count: u32,
        cause: crate::ilink3::session::LossCause,
        /// Strategies told (those on the session).
        strategies_told: u32,
    },
    NotApplied {
        session: usize,
        from: u32,
        count: u32,
        owners_told: u32,
        resend: bool,
    },
    KeepAliveLapsed {
        session: usize,
    },
    Alert {
        session: usize,
        alert: Alert,
    },
    Disconnect {
        session: usize,
        reason: DisconnectReason,
    },
    SequenceMismatch {
        session: usize,
        session_seq: u32,
        store_seq: u64,
    },
    SendFailed {
        session: usize,
        why: Note,
    },
    /// The logon-failure policy changed mode (backing off, throttled, ...): once per change.
    LogonPolicy {
        session: usize,
        say: super::logon::Say,
    },
    DcLoggedOn {
        session: usize,
        next_out: u64,
        next_in: u64,
    },
    DcNote {
        session: usize,
        level: Level,
        what: &'static str,
        text: Note,
    },
    /// The `on_restart` request went out after the first Establish of this run.
    RestartAction {
        session: usize,
        action: super::order_journal::OnRestart,
        /// Messages sent (530s or 529s).
        requests: u32,
        /// Orders restored from the order journal still open on the session.
        restored: u32,
    },
    /// The mass status after a restart was answered in full.
    MassStatusReconciled {
        session: usize,
        outcome: super::router::MassStatusOutcome,
    },
    /// A re-attached strategy was sent a `Recovered` event per order it owned.
    OrdersRecovered {
        strategy: usize,
        orders: u32,
    },
    StrategyAttached {
        strategy: usize,
        pid: u32,
    },
    StrategyFaulted {
        strategy: usize,
        why: Note,
    },
    CancelOnExit {
        strategy: usize,
        orders: u32,
    },
    Draining {
        engine: usize,
    },
    EngineStopped {
        engine: usize,
        clean: bool,
    },
}

/// Severity of a [`LogEvent::DcNote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// Housekeeping → engine.
pub enum Control {
    /// Engine-local strategy index whose process is gone.
    StrategyDied { strategy: usize },
    /// New signing key for an engine-local iLink 3 session (used from the next logon).
    Credentials { session: usize, creds: Credentials },
    /// New key for an engine-local Drop Copy session (used from the next logon).
    DcCredentials {
        session: usize,
        key_id: AccessKeyId,
        signer: HmacSigner,
    },
    /// New risk limits (SIGHUP).
    Risk(RiskConfig),
    /// The answer to [`StoreReq::NewUuid`]: `Ok` once the UUID is durable (the Negotiate may
    /// leave), or why it is not.
    UuidPersisted {
        session: usize,
        uuid: u64,
        result: Result<(), Note>,
    },
    /// The answer to [`StoreReq::ReadOutbound`]: the journaled frames found (in sequence
    /// order; requests not journaled are missing), or why none could be read.
    Resend {
        session: usize,
        uuid: u64,
        from: u32,
        count: u32,
        frames: Result<Vec<JournaledMessage>, Note>,
    },
}

/// Engine → housekeeping: work on a session store the hot thread must not do itself (it takes
/// no lock and never waits for fsync). Answered with a [`Control`] message.
#[derive(Debug, Clone, Copy)]
pub enum StoreReq {
    /// Persist a new UUID (synced); answered with [`Control::UuidPersisted`].
    NewUuid {
        /// Global iLink 3 session index (the store).
        session: u16,
        /// Engine-local session index (for the answer).
        local: u16,
        uuid: u64,
        /// The UUID gaps on the new one refer back to, and its next inbound number.
        previous_uuid: u64,
        previous_next_inbound: u64,
    },
    /// Read journaled outbound frames `from..from + count` of `uuid` (NotApplied, resend
    /// policy); answered with [`Control::Resend`].
    ReadOutbound {
        session: u16,
        local: u16,
        uuid: u64,
        from: u32,
        count: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn a_note_keeps_what_fits_and_cuts_on_a_character_boundary() {
        let mut n = Note::new("abc");
        let _ = write!(n, " {}", 42);
        assert_eq!(n.as_str(), "abc 42");
        // 114 more ASCII bytes leave 0 free; then nothing more fits.
        let _ = n.write_str(&"x".repeat(114));
        assert_eq!(n.as_str().len(), 120);
        let _ = n.write_str("more");
        assert_eq!(n.as_str().len(), 120);

        // "é" is 2 bytes: 59 fit in 118, the 60th would straddle the end and is dropped.
        let mut n = Note::new("ab");
        let _ = n.write_str(&"é".repeat(61));
        assert_eq!(n.as_str(), format!("ab{}", "é".repeat(59)));
    }

    #[test]
    fn dc_records_are_inline_up_to_the_limit_then_on_the_heap() {
        let small = vec![b'8'; DC_INLINE];
        let rec = DcRec::new(1, 2, &small);
        assert!(matches!(rec.data, DcData::Inline(_)));
        assert_eq!(rec.raw(), small.as_slice());
        let big = vec![b'9'; DC_INLINE + 1];
        let rec = DcRec::new(1, 3, &big);
        assert!(matches!(rec.data, DcData::Heap(_)));
        assert_eq!(rec.raw(), big.as_slice());
    }
}
