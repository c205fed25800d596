//! CME's end of an iLink 3 FIXP session, sans-IO.
//!
//! Two pieces:
//! - [`SessionRegistry`]: everything about a CME Session ID that outlives one TCP connection:
//!   the account (firm, allowed Access Key IDs), the current and previous UUID, the sequence
//!   numbers both ways, whether the current UUID was ever established, the bad-logon history and
//!   the port-closure flag, and the outbound journal retransmissions are served from. Business
//!   messages to a session are journaled here ([`SessionRegistry::send_business`]) whether or not
//!   a connection is up; a connection streams them from the journal. With a
//!   [`GatewayStore`](super::store::GatewayStore) the sequence state and journal survive a
//!   restart of the simulator.
//! - [`GatewaySession`]: one TCP connection's state machine. The server feeds it received bytes
//!   ([`GatewaySession::handle_input`]) and the time ([`GatewaySession::handle_timeout`] when
//!   [`GatewaySession::next_deadline`] passes), sends what [`GatewaySession::poll_transmit`]
//!   returns and logs what [`GatewaySession::poll_event`] returns. Accepted business messages
//!   are handed to a callback (the matching engine) in sequence order.
//!
//! Rules (PROTOCOL.md "FIXP session rules", seed 004):
//! - Negotiate/Establish: required fields present (NegotiationReject/EstablishmentReject 4, 5,
//!   6, 7, 9), known session (13) and firm (14), known Access Key ID allowed for the session
//!   (12), HMAC signature (0), RequestTimestamp not older than 5 s nor too far ahead (3),
//!   KeepAliveInterval in range (11, Establish). Negotiate needs a UUID strictly greater than the
//!   session's last (Terminate 13 InvalidUUID); Establish needs the session's current UUID
//!   (Terminate 2 Unnegotiated for one never negotiated, 13 for an older one) within 60 s of its
//!   negotiation (Terminate 1), a NextSeqNo not below the expected one (Terminate 10), and 1 on
//!   the first UUID of the week (Terminate 10). A higher NextSeqNo is accepted: EstablishmentAck,
//!   then NotApplied for the gap, and the number is adopted.
//! - A second Negotiate on a connection: Terminate 4 AlreadyNegotiated; Negotiate/Establish on
//!   an established connection, or for a session established on another connection: Terminate 6.
//! - Five bad logons of a session within 60 s close its port: the fifth and every later logon
//!   get Terminate 8 CMEAdministeredPortClosure until [`SessionRegistry::reopen_port`].
//! - Business messages before Establish: Terminate 2 (not negotiated) or 3 (not established).
//!   SeqNum below the expected one: Terminate 11 InvalidMsgSeqNo; above: NotApplied(expected,
//!   gap), then the message is accepted and its number adopted.
//! - Keepalive: a Sequence when nothing was sent for one interval; nothing received for one
//!   interval: Sequence with KeepAliveIntervalLapsed=1; a second silent interval: Terminate 20.
//!   A lapsed Sequence from the client is answered with a Sequence.
//! - RetransmitRequest: at most 2500 messages (RetransmitReject 2), one at a time (3), for the
//!   current UUID or, with LastUUID, the previous one (1), FromSeqNo ≥ 1 (5), inside what was
//!   sent and is still journaled (0), fresh RequestTimestamp (4). Answered with Retransmission,
//!   then the journaled frames with PossRetransFlag=1, paced over `poll_transmit` calls.
//! - Undecodable input: Terminate 18 (framing) or 19; templates a client may not send:
//!   Terminate 19. Every Terminate the gateway sends ends the connection.
//!
//! Fault injection for tests and the simulator's scenarios: [`Faults`] (skip outbound sequence
//! numbers, reject every signature, go silent, drop the connection after K messages, duplicate
//! every message as a PossRetrans copy) and [`GatewaySession::inject_not_applied`].

use super::matching::{Report, ReportAux};
use super::store::{FileStore, GatewayStore, RecoveredSession, RecoveredUuid};
use super::SessionKey;
use crate::auth::{EstablishCanonical, HmacSigner, NegotiateCanonical};
use crate::ilink3::codec::{next_frame, DecodeError, EncodeError, NextFrame, FRAME_HEADER_LEN};
use crate::ilink3::session::week_boundary_passed;
use crate::ilink3::{
    decode, decode_header, Establish, EstablishmentAckWriter, EstablishmentRejectWriter, Message,
    Negotiate, NegotiationRejectWriter, NegotiationResponseWriter, NotAppliedWriter, RejectCode,
    RetransmissionWriter, RetransmitRejectCode, RetransmitRejectWriter, RetransmitRequest,
    SequenceWriter, TerminateCode, TerminateWriter, MESSAGES,
};
use crate::store::StoreError;
use crate::types::FsyncPolicy;
use std::collections::{HashMap, VecDeque};
use std::path::Path;

const NS_PER_MS: u64 = 1_000_000;
/// Largest MsgCount of one RetransmitRequest.
pub const MAX_RETRANSMIT_COUNT: u16 = 2500;
/// Transmit buffer of one connection (business messages wait in the journal when it is full).
const TX_CAPACITY: usize = 1 << 18;
/// Largest encoded business frame the registry accepts from an encoder.
const SCRATCH_LEN: usize = 4096;

/// A session the gateway accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAccount {
    /// CME Session ID (3 characters).
    pub session_id: String,
    /// Firm ID the session belongs to.
    pub firm_id: String,
    /// Access Key IDs that may sign for it; empty = any known key.
    pub access_key_ids: Vec<String>,
}

/// Gateway settings; [`GatewayConfig::new`] gives CME's values.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub sessions: Vec<SessionAccount>,
    /// Access Key ID → the gateway's own copy of the secret.
    pub keys: HashMap<String, HmacSigner>,
    /// RequestTimestamp older than this is stale (5 s).
    pub max_request_age_ns: u64,
    /// RequestTimestamp further ahead of the gateway's clock than this is invalid (5 s).
    pub max_request_ahead_ns: u64,
    /// Accepted KeepAliveInterval, milliseconds (5000..=60000).
    pub keepalive_min_ms: u16,
    pub keepalive_max_ms: u16,
    /// Establish must follow the Negotiate within this (60 s); also the time a new connection
    /// has to start logging on.
    pub establish_within_ns: u64,
    /// Bad logons within `bad_logon_window_ns` that close the port (5 in 60 s).
    pub bad_logon_limit: usize,
    pub bad_logon_window_ns: u64,
    /// Business messages kept in memory per UUID for retransmission (older ones are answered
    /// with RetransmitReject OutOfRange).
    pub journal_retention: usize,
    /// Retransmitted bytes handed out per `poll_transmit` call.
    pub replay_bytes_per_poll: usize,
}

impl GatewayConfig {
    pub fn new(sessions: Vec<SessionAccount>, keys: HashMap<String, HmacSigner>) -> Self {
        GatewayConfig {
            sessions,
            keys,
            max_request_age_ns: 5_000_000_000,
            max_request_ahead_ns: 5_000_000_000,
            keepalive_min_ms: 5_000,
            keepalive_max_ms: 60_000,
            establish_within_ns: 60_000_000_000,
            bad_logon_limit: 5,
            bad_logon_window_ns: 60_000_000_000,
            journal_retention: 1 << 20,
            replay_bytes_per_poll: 1 << 16,
        }
    }
}

/// Frames of one UUID, contiguous from `first_seq`.
#[derive(Debug, Default)]
struct FrameLog {
    first_seq: u32,
    starts: Vec<usize>,
    arena: Vec<u8>,
}

impl FrameLog {
    fn new() -> Self {
        FrameLog {
            first_seq: 1,
            starts: Vec::new(),
            arena: Vec::new(),
        }
    }

    fn get(&self, seq: u32) -> Option<&[u8]> {
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).copied().unwrap_or(self.arena.len());
        self.arena.get(start..end)
    }

    fn push(&mut self, seq: u32, frame: &[u8], retention: usize) {
        if self.starts.is_empty() {
            self.first_seq = seq;
            self.arena.clear();
        }
        self.starts.push(self.arena.len());
        self.arena.extend_from_slice(frame);
        if self.starts.len() > retention.max(2) {
            // Drop the older half (amortized O(1) per message).
            let drop = self.starts.len() / 2;
            let cut = self.starts.get(drop).copied().unwrap_or(0);
            self.arena.drain(..cut);
            self.starts.drain(..drop);
            for s in &mut self.starts {
                *s -= cut;
            }
            self.first_seq += u32::try_from(drop).unwrap_or(u32::MAX);
        }
    }
}

/// The sequence state of one session, as the registry holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSequences {
    /// Current UUID (0 before the first Negotiate).
    pub uuid: u64,
    pub previous_uuid: u64,
    /// Next SeqNum expected from the client.
    pub next_inbound: u32,
    /// SeqNum of the next business message to the client.
    pub next_outbound: u32,
    /// Last SeqNum sent on the previous UUID (0 if none).
    pub previous_last_outbound: u32,
    /// The current UUID was established at least once.
    pub established_once: bool,
}

#[derive(Debug)]
struct SessionData {
    account: SessionAccount,
    seq: SessionSequences,
    negotiated_at: u64,
    first_of_week: bool,
    out: FrameLog,
    prev_out: FrameLog,
    bad_logons: VecDeque<u64>,
    port_closed: bool,
    /// Connection id the session is established on.
    bound: Option<u64>,
}

/// Which logon message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogonStage {
    Negotiate,
    Establish,
}

/// How a bad logon was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogonAnswer {
    /// NegotiationReject / EstablishmentReject with this ErrorCodes value.
    Reject(RejectCode),
    /// Terminate with this ErrorCodes value.
    Terminate(TerminateCode),
}

impl LogonAnswer {
    pub fn code(&self) -> u16 {
        match self {
            LogonAnswer::Reject(c) => c.code(),
            LogonAnswer::Terminate(c) => c.code(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            LogonAnswer::Reject(c) => c.name(),
            LogonAnswer::Terminate(c) => c.name(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct LogonFailure {
    session: Option<SessionKey>,
    answer: LogonAnswer,
    reason: &'static str,
}

fn reject(session: Option<SessionKey>, code: RejectCode, reason: &'static str) -> LogonFailure {
    LogonFailure {
        session,
        answer: LogonAnswer::Reject(code),
        reason,
    }
}

fn term(session: Option<SessionKey>, code: TerminateCode, reason: &'static str) -> LogonFailure {
    LogonFailure {
        session,
        answer: LogonAnswer::Terminate(code),
        reason,
    }
}

/// A successful Establish, as the connection needs it.
#[derive(Debug, Clone, Copy)]
struct EstablishOk {
    key: SessionKey,
    uuid: u64,
    next_outbound: u32,
    previous: (u64, u32),
    /// NextSeqNo above the expected one: `(expected, gap)`.
    not_applied: Option<(u32, u32)>,
}

/// Why a business message could not be journaled.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("no session with key {0:?}")]
    UnknownSession(SessionKey),
    #[error("session {0} has no UUID yet (never negotiated)")]
    NoUuid(String),
    #[error("encoding the business message failed: {0}")]
    Encode(#[from] EncodeError),
}

/// Sessions and their state shared by every connection. See the module documentation.
pub struct SessionRegistry {
    cfg: GatewayConfig,
    sessions: Vec<SessionData>,
    by_id: HashMap<String, SessionKey>,
    store: Option<Box<dyn GatewayStore>>,
    store_error: Option<StoreError>,
    next_conn_id: u64,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for SessionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRegistry")
            .field("sessions", &self.sessions.len())
            .field("persistent", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl SessionRegistry {
    /// An in-memory registry (state is lost when the simulator stops).
    pub fn new(cfg: GatewayConfig) -> Self {
        let sessions = cfg
            .sessions
            .iter()
            .map(|a| SessionData {
                account: a.clone(),
                seq: SessionSequences {
                    uuid: 0,
                    previous_uuid: 0,
                    next_inbound: 1,
                    next_outbound: 1,
                    previous_last_outbound: 0,
                    established_once: false,
                },
                negotiated_at: 0,
                first_of_week: true,
                out: FrameLog::new(),
                prev_out: FrameLog::new(),
                bad_logons: VecDeque::with_capacity(8),
                port_closed: false,
                bound: None,
            })
            .collect();
        let by_id = cfg
            .sessions
            .iter()
            .enumerate()
            .map(|(i, a)| (a.session_id.clone(), SessionKey(i as u32)))
            .collect();
        SessionRegistry {
            cfg,
            sessions,
            by_id,
            store: None,
            store_error: None,
            next_conn_id: 1,
            scratch: vec![0u8; SCRATCH_LEN],
        }
    }

    /// A registry whose sequence state and journals live under `state_dir` (see
    /// [`FileStore`]): what a previous run left is recovered.
    pub fn open(
        cfg: GatewayConfig,
        state_dir: &Path,
        fsync: FsyncPolicy,
    ) -> Result<Self, StoreError> {
        let ids: Vec<&str> = cfg.sessions.iter().map(|a| a.session_id.as_str()).collect();
        let (store, recovered) = FileStore::open(state_dir, fsync, &ids)?;
        Ok(Self::with_store(cfg, Box::new(store), recovered))
    }

    /// A registry persisting through `store`, starting from `recovered` (one entry per
    /// configured session, in order; missing entries start fresh).
    pub fn with_store(
        cfg: GatewayConfig,
        store: Box<dyn GatewayStore>,
        recovered: Vec<RecoveredSession>,
    ) -> Self {
        let mut reg = Self::new(cfg);
        let retention = reg.cfg.journal_retention;
        for (s, r) in reg.sessions.iter_mut().zip(recovered) {
            let fill = |log: &mut FrameLog, u: &RecoveredUuid| {
                for (seq, f) in &u.outbound {
                    log.push(*seq, f, retention);
                }
            };
            if let Some(prev) = &r.previous {
                fill(&mut s.prev_out, prev);
                s.seq.previous_last_outbound = prev.outbound.last().map_or(0, |(q, _)| *q);
            }
            if let Some(cur) = &r.current {
                fill(&mut s.out, cur);
                s.seq.uuid = cur.uuid;
                s.seq.previous_uuid = cur.previous_uuid;
                s.seq.next_inbound = cur.next_in.max(1);
                s.seq.next_outbound = cur.outbound.last().map_or(1, |(q, _)| q + 1);
                s.seq.established_once = cur.established;
                s.negotiated_at = cur.negotiated_at;
                s.first_of_week = cur.first_of_week;
            }
        }
        reg.store = Some(store);
        reg
    }

    /// Retransmitted bytes handed out per `poll_transmit` call (1: one frame per call, so
    /// live messages interleave with a replay).
    pub fn set_replay_bytes_per_poll(&mut self, bytes: usize) {
        self.cfg.replay_bytes_per_poll = bytes;
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    /// The key of a Session ID.
    pub fn key(&self, session_id: &str) -> Option<SessionKey> {
        self.by_id.get(session_id).copied()
    }

    pub fn session_id(&self, key: SessionKey) -> Option<&str> {
        self.session(key).map(|s| s.account.session_id.as_str())
    }

    /// Number of configured sessions (keys are `0..len`).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn sequences(&self, key: SessionKey) -> Option<SessionSequences> {
        self.session(key).map(|s| s.seq)
    }

    pub fn port_closed(&self, key: SessionKey) -> bool {
        self.session(key).is_some_and(|s| s.port_closed)
    }

    /// Reopens a port closed after repeated bad logons (and forgets them).
    pub fn reopen_port(&mut self, key: SessionKey) {
        if let Some(s) = self.session_mut(key) {
            s.port_closed = false;
            s.bad_logons.clear();
        }
    }

    /// Whether a connection is established on the session.
    pub fn is_bound(&self, key: SessionKey) -> bool {
        self.session(key).is_some_and(|s| s.bound.is_some())
    }

    /// The first persistence failure, if any (the registry keeps working in memory).
    pub fn store_error(&self) -> Option<&StoreError> {
        self.store_error.as_ref()
    }

    /// The journaled frame of `seq` on `uuid` (current or previous UUID), PossRetransFlag 0.
    pub fn journaled(&self, key: SessionKey, uuid: u64, seq: u32) -> Option<&[u8]> {
        let s = self.session(key)?;
        if uuid == s.seq.uuid {
            s.out.get(seq)
        } else if uuid == s.seq.previous_uuid {
            s.prev_out.get(seq)
        } else {
            None
        }
    }

    /// Journals a business message to the session: `encode(seq, uuid, buf)` writes the frame and
    /// returns its length. Connections established on the session stream it from the journal.
    /// Returns the SeqNum used.
    pub fn send_business(
        &mut self,
        key: SessionKey,
        encode: impl FnOnce(u32, u64, &mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<u32, SendError> {
        let retention = self.cfg.journal_retention;
        let mut scratch = std::mem::take(&mut self.scratch);
        let r = (|| {
            let s = self
                .sessions
                .get_mut(key.0 as usize)
                .ok_or(SendError::UnknownSession(key))?;
            if s.seq.uuid == 0 {
                return Err(SendError::NoUuid(s.account.session_id.clone()));
            }
            let (seq, uuid) = (s.seq.next_outbound, s.seq.uuid);
            let n = encode(seq, uuid, &mut scratch)?;
            let frame = scratch.get(..n).unwrap_or_default();
            s.out.push(seq, frame, retention);
            s.seq.next_outbound = seq.wrapping_add(1);
            if let Some(store) = &mut self.store {
                if let Err(e) = store.outbound(key, uuid, seq, frame) {
                    self.store_error.get_or_insert(e);
                }
            }
            Ok(seq)
        })();
        self.scratch = scratch;
        r
    }

    /// [`SessionRegistry::send_report`] with the groups the engine keeps aside.
    pub fn send_report_with(
        &mut self,
        key: SessionKey,
        now: u64,
        report: &Report,
        aux: &ReportAux,
    ) -> Result<u32, SendError> {
        self.send_business(key, |seq, uuid, buf| {
            report.encode_with(seq, uuid, now, buf, aux)
        })
    }

    /// Journals an execution report to the session (SeqNum/UUID of the session).
    pub fn send_report(
        &mut self,
        key: SessionKey,
        now: u64,
        report: &Report,
    ) -> Result<u32, SendError> {
        self.send_business(key, |seq, uuid, buf| report.encode(seq, uuid, now, buf))
    }

    // ---- internals used by GatewaySession ----------------------------------------------

    fn session(&self, key: SessionKey) -> Option<&SessionData> {
        self.sessions.get(key.0 as usize)
    }

    fn session_mut(&mut self, key: SessionKey) -> Option<&mut SessionData> {
        self.sessions.get_mut(key.0 as usize)
    }

    fn new_conn_id(&mut self) -> u64 {
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        id
    }

    fn persist(&mut self, f: impl FnOnce(&mut dyn GatewayStore) -> Result<(), StoreError>) {
        if let Some(store) = &mut self.store {
            if let Err(e) = f(store.as_mut()) {
                self.store_error.get_or_insert(e);
            }
        }
    }

    fn set_next_inbound(&mut self, key: SessionKey, next: u32) {
        let Some(s) = self.session_mut(key) else {
            return;
        };
        s.seq.next_inbound = next;
        let uuid = s.seq.uuid;
        self.persist(|st| st.inbound(key, uuid, next));
    }

    fn unbind(&mut self, key: SessionKey, conn: u64) {
        if let Some(s) = self.session_mut(key) {
            if s.bound == Some(conn) {
                s.bound = None;
            }
        }
    }

    /// Checks shared by Negotiate and Establish: fields present, session, port, firm, key,
    /// timestamp. Returns the key and the signer; the caller verifies the signature.
    #[allow(clippy::too_many_arguments)]
    fn check_common(
        &self,
        now: u64,
        sig: &[u8],
        access_key: &[u8],
        session: &[u8],
        firm: &[u8],
        ts: u64,
    ) -> Result<(SessionKey, &HmacSigner), LogonFailure> {
        if sig.is_empty() || sig.iter().all(|&b| b == 0) {
            return Err(reject(
                None,
                RejectCode::RequiredHmacSignatureMissing,
                "HMACSignature missing",
            ));
        }
        if access_key.is_empty() {
            return Err(reject(
                None,
                RejectCode::RequiredAccessKeyIdMissing,
                "AccessKeyID missing",
            ));
        }
        if session.is_empty() {
            return Err(reject(
                None,
                RejectCode::RequiredSessionMissing,
                "Session missing",
            ));
        }
        if firm.is_empty() {
            return Err(reject(
                None,
                RejectCode::RequiredFirmMissing,
                "Firm missing",
            ));
        }
        if ts == 0 {
            return Err(reject(
                None,
                RejectCode::RequiredRequestTimestampMissing,
                "RequestTimestamp missing",
            ));
        }
        let key = std::str::from_utf8(session)
            .ok()
            .and_then(|s| self.by_id.get(s).copied())
            .ok_or(reject(None, RejectCode::InvalidSession, "unknown Session"))?;
        let some = Some(key);
        let s =
            self.session(key)
                .ok_or(reject(None, RejectCode::InvalidSession, "unknown Session"))?;
        if s.port_closed {
            return Err(term(
                some,
                TerminateCode::CmeAdministeredPortClosure,
                "port closed after repeated invalid logons",
            ));
        }
        if firm != s.account.firm_id.as_bytes() {
            return Err(reject(
                some,
                RejectCode::InvalidFirm,
                "Firm does not own the Session",
            ));
        }
        let signer = std::str::from_utf8(access_key)
            .ok()
            .filter(|k| {
                s.account.access_key_ids.is_empty()
                    || s.account.access_key_ids.iter().any(|a| a == k)
            })
            .and_then(|k| self.cfg.keys.get(k))
            .ok_or(reject(
                some,
                RejectCode::InvalidAccessKeyId,
                "unknown AccessKeyID for this Session",
            ))?;
        if now.saturating_sub(ts) > self.cfg.max_request_age_ns {
            return Err(reject(
                some,
                RejectCode::InvalidTimestamp,
                "RequestTimestamp older than 5 s",
            ));
        }
        if ts.saturating_sub(now) > self.cfg.max_request_ahead_ns {
            return Err(reject(
                some,
                RejectCode::InvalidTimestamp,
                "RequestTimestamp in the future",
            ));
        }
        Ok((key, signer))
    }

    /// Counts a bad logon; the fifth within the window closes the port and turns the answer
    /// into Terminate 8. Returns the (possibly changed) failure and whether the port closed now.
    fn bad_logon(&mut self, now: u64, f: LogonFailure) -> (LogonFailure, bool) {
        let (limit, window) = (self.cfg.bad_logon_limit, self.cfg.bad_logon_window_ns);
        let Some(key) = f.session else {
            return (f, false);
        };
        let Some(s) = self.session_mut(key) else {
            return (f, false);
        };
        if s.port_closed {
            return (f, false);
        }
        while s
            .bad_logons
            .front()
            .is_some_and(|&t| now >= t.saturating_add(window))
        {
            s.bad_logons.pop_front();
        }
        s.bad_logons.push_back(now);
        if s.bad_logons.len() >= limit.max(1) {
            s.port_closed = true;
            let f = term(
                Some(key),
                TerminateCode::CmeAdministeredPortClosure,
                "fifth invalid logon within 60 s: port closed",
            );
            return (f, true);
        }
        (f, false)
    }

    fn negotiate(
        &mut self,
        now: u64,
        conn: u64,
        m: &Negotiate<'_>,
        sig: &[u8],
        reject_all: bool,
    ) -> Result<(SessionKey, u64, (u64, u32)), LogonFailure> {
        let (key, signer) = self.check_common(
            now,
            sig,
            m.access_key_id().as_bytes(),
            m.session().as_bytes(),
            m.firm().as_bytes(),
            m.request_timestamp(),
        )?;
        let some = Some(key);
        let canonical = NegotiateCanonical {
            request_timestamp: m.request_timestamp(),
            uuid: m.uuid(),
            session: m.session().as_str().unwrap_or_default(),
            firm: m.firm().as_str().unwrap_or_default(),
        };
        if reject_all || !signer.verify(&canonical, sig) {
            return Err(reject(
                some,
                RejectCode::HmacNotAuthenticated,
                "HMAC signature does not match",
            ));
        }
        let s = self.session_mut(key).ok_or(reject(
            None,
            RejectCode::InvalidSession,
            "unknown Session",
        ))?;
        if s.bound.is_some_and(|b| b != conn) {
            return Err(term(
                some,
                TerminateCode::AlreadyEstablished,
                "Session is established on another connection",
            ));
        }
        let uuid = m.uuid();
        if uuid == 0 || uuid <= s.seq.uuid {
            return Err(term(
                some,
                TerminateCode::InvalidUuid,
                "UUID not greater than the last one negotiated",
            ));
        }
        let old = s.seq;
        let previous = if old.uuid == 0 {
            (0, 0)
        } else {
            (old.uuid, old.next_outbound.saturating_sub(1))
        };
        let first_of_week = old.uuid == 0
            || s.negotiated_at == 0
            || week_boundary_passed(s.negotiated_at / 1000, now);
        s.prev_out = std::mem::replace(&mut s.out, FrameLog::new());
        s.seq = SessionSequences {
            uuid,
            previous_uuid: old.uuid,
            next_inbound: 1,
            next_outbound: 1,
            previous_last_outbound: previous.1,
            established_once: false,
        };
        s.negotiated_at = now;
        s.first_of_week = first_of_week;
        self.persist(|st| st.new_uuid(key, uuid, old.uuid, now, first_of_week));
        Ok((key, uuid, previous))
    }

    fn establish(
        &mut self,
        now: u64,
        conn: u64,
        m: &Establish<'_>,
        sig: &[u8],
        reject_all: bool,
    ) -> Result<EstablishOk, LogonFailure> {
        let (key, signer) = self.check_common(
            now,
            sig,
            m.access_key_id().as_bytes(),
            m.session().as_bytes(),
            m.firm().as_bytes(),
            m.request_timestamp(),
        )?;
        let some = Some(key);
        let canonical = EstablishCanonical {
            request_timestamp: m.request_timestamp(),
            uuid: m.uuid(),
            session: m.session().as_str().unwrap_or_default(),
            firm: m.firm().as_str().unwrap_or_default(),
            trading_system_name: m.trading_system_name().as_str().unwrap_or_default(),
            trading_system_version: m.trading_system_version().as_str().unwrap_or_default(),
            trading_system_vendor: m.trading_system_vendor().as_str().unwrap_or_default(),
            next_seq_no: m.next_seq_no(),
            keep_alive_interval: m.keep_alive_interval(),
        };
        if reject_all || !signer.verify(&canonical, sig) {
            return Err(reject(
                some,
                RejectCode::HmacNotAuthenticated,
                "HMAC signature does not match",
            ));
        }
        let ka = m.keep_alive_interval();
        if !(self.cfg.keepalive_min_ms..=self.cfg.keepalive_max_ms).contains(&ka) {
            return Err(reject(
                some,
                RejectCode::InvalidKeepAliveInterval,
                "KeepAliveInterval out of range",
            ));
        }
        let within = self.cfg.establish_within_ns;
        let s = self.session_mut(key).ok_or(reject(
            None,
            RejectCode::InvalidSession,
            "unknown Session",
        ))?;
        if s.bound.is_some_and(|b| b != conn) {
            return Err(term(
                some,
                TerminateCode::AlreadyEstablished,
                "Session is established on another connection",
            ));
        }
        let uuid = m.uuid();
        if s.seq.uuid == 0 || uuid > s.seq.uuid {
            return Err(term(
                some,
                TerminateCode::Unnegotiated,
                "UUID was not negotiated",
            ));
        }
        if uuid < s.seq.uuid {
            return Err(term(
                some,
                TerminateCode::InvalidUuid,
                "UUID is older than the session's current UUID",
            ));
        }
        if !s.seq.established_once && now > s.negotiated_at.saturating_add(within) {
            return Err(term(
                some,
                TerminateCode::EstablishmentTimeout,
                "Establish more than 60 s after the Negotiate",
            ));
        }
        let next = m.next_seq_no();
        let expected = s.seq.next_inbound;
        if next == 0 || next < expected {
            return Err(term(
                some,
                TerminateCode::InvalidNextSeqNo,
                "NextSeqNo lower than expected",
            ));
        }
        if !s.seq.established_once && s.first_of_week && next != 1 {
            return Err(term(
                some,
                TerminateCode::InvalidNextSeqNo,
                "NextSeqNo must be 1 at the start of the week",
            ));
        }
        let first = !s.seq.established_once;
        s.seq.established_once = true;
        s.bound = Some(conn);
        let not_applied = (next > expected).then(|| (expected, next - expected));
        let next_outbound = s.seq.next_outbound;
        let previous = if next_outbound > 1 {
            (uuid, next_outbound - 1)
        } else {
            (s.seq.previous_uuid, s.seq.previous_last_outbound)
        };
        if first {
            self.persist(|st| st.established(key, uuid));
        }
        if not_applied.is_some() {
            self.set_next_inbound(key, next);
        }
        Ok(EstablishOk {
            key,
            uuid,
            next_outbound,
            previous,
            not_applied,
        })
    }
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Connected; waiting for Negotiate (or Establish of a current UUID).
    AwaitingNegotiate,
    /// NegotiationResponse sent; waiting for Establish.
    Negotiated,
    Established,
    /// The gateway is done with the connection (close it after sending what is pending).
    Closed,
}

/// After streaming `after` business messages on the connection, skip the next `count` (they
/// stay journaled: the client sees a gap and must recover it by retransmission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkipOutbound {
    pub after: u64,
    pub count: u32,
}

/// Faults a test or simulator scenario injects into one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    pub skip_outbound: Option<SkipOutbound>,
    /// Every signature is "wrong" (HMACNotAuthenticated).
    pub reject_signatures: bool,
    /// Send nothing at all (no answers, no keepalives, no business).
    pub silent: bool,
    /// Drop the connection (no Terminate) after this many business messages from the client.
    pub disconnect_after_inbound: Option<u64>,
    /// Follow every streamed business message with a copy flagged PossRetransFlag=1.
    pub duplicate_poss_retrans: bool,
}

/// What happened on a connection; drain with [`GatewaySession::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayEvent {
    Negotiated {
        session: SessionKey,
        uuid: u64,
        previous_uuid: u64,
    },
    Established {
        session: SessionKey,
        uuid: u64,
        /// Next SeqNum expected from the client (after any adoption).
        next_inbound: u32,
        /// Next SeqNum the gateway sends.
        next_outbound: u32,
        keepalive_ms: u16,
    },
    LogonRejected {
        session: Option<SessionKey>,
        stage: LogonStage,
        answer: LogonAnswer,
        reason: &'static str,
    },
    /// Repeated bad logons closed the session's port.
    PortClosed { session: SessionKey },
    /// A business message from the client was accepted (and handed to the application).
    BusinessReceived {
        session: SessionKey,
        seq: u32,
        template_id: u16,
    },
    /// NotApplied sent: the client's `from_seq..from_seq+count` were never received.
    NotAppliedSent {
        session: SessionKey,
        from_seq: u32,
        count: u32,
    },
    /// The client's Sequence moved its sequence forward (gap fill after a NotApplied).
    GapFilled {
        session: SessionKey,
        from_seq: u32,
        to_seq: u32,
    },
    RetransmitServed {
        session: SessionKey,
        uuid: u64,
        last_uuid: Option<u64>,
        from_seq: u32,
        count: u16,
    },
    RetransmitRejected {
        session: SessionKey,
        code: RetransmitRejectCode,
        from_seq: u32,
        count: u16,
    },
    /// Nothing received for one interval: lapsed Sequence sent.
    KeepAliveLapsed { session: SessionKey },
    Terminated {
        session: Option<SessionKey>,
        code: u16,
        name: &'static str,
        /// The client terminated (else the gateway did).
        by_client: bool,
    },
    /// Input the gateway refused (also reported by the Terminate that follows).
    ProtocolViolation {
        session: Option<SessionKey>,
        template_id: Option<u16>,
        what: &'static str,
    },
    /// Close the TCP connection (after sending what `poll_transmit` returns).
    Disconnect,
}

/// A retransmission being served.
#[derive(Debug, Clone, Copy)]
struct Replay {
    uuid: u64,
    next: u32,
    end: u32,
}

/// One connection. See the module documentation.
pub struct GatewaySession {
    id: u64,
    state: ConnState,
    key: Option<SessionKey>,
    uuid: u64,
    keepalive_ns: u64,
    since: u64,
    clock: u64,
    last_sent: u64,
    last_received: u64,
    lapse_sent: bool,
    stream_next: u32,
    streamed: u64,
    skipped: u32,
    received: u64,
    replay: Option<Replay>,
    tx: Vec<u8>,
    tx_len: usize,
    tx_handed: usize,
    rx: Vec<u8>,
    events: VecDeque<GatewayEvent>,
    faults: Faults,
    /// The connection reached the designated backup gateway: it refuses logons.
    backup: bool,
}

impl std::fmt::Debug for GatewaySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewaySession")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("session", &self.key)
            .field("uuid", &self.uuid)
            .finish_non_exhaustive()
    }
}

/// Offset in a frame of PossRetransFlag for templates that have one.
fn poss_retrans_offset(template_id: u16) -> Option<usize> {
    MESSAGES
        .iter()
        .find(|m| m.template_id == template_id)?
        .fields
        .iter()
        .find(|f| f.name == "PossRetransFlag")
        .map(|f| FRAME_HEADER_LEN + f.offset)
}

/// A Reason text cut to the 48 bytes of the field.
fn reason48(s: &str) -> &[u8] {
    let b = s.as_bytes();
    b.get(..b.len().min(48)).unwrap_or_default()
}

/// The client's SeqNum of a business message.
pub(crate) fn client_seq(msg: &Message<'_>) -> Option<u32> {
    Some(match msg {
        Message::NewOrderSingle(m) => m.seq_num(),
        Message::OrderCancelReplaceRequest(m) => m.seq_num(),
        Message::OrderCancelRequest(m) => m.seq_num(),
        Message::OrderMassActionRequest(m) => m.seq_num(),
        Message::OrderStatusRequest(m) => m.seq_num(),
        Message::OrderMassStatusRequest(m) => m.seq_num(),
        Message::PartyDetailsDefinitionRequest(m) => m.seq_num(),
        Message::PartyDetailsListRequest(m) => m.seq_num(),
        Message::MassQuote(m) => m.seq_num(),
        Message::QuoteCancel(m) => m.seq_num(),
        Message::SecurityDefinitionRequest(m) => m.seq_num(),
        _ => return None,
    })
}

impl GatewaySession {
    /// A new connection accepted at `now`.
    pub fn new(reg: &mut SessionRegistry, now: u64) -> Self {
        GatewaySession {
            id: reg.new_conn_id(),
            state: ConnState::AwaitingNegotiate,
            key: None,
            uuid: 0,
            keepalive_ns: u64::from(reg.cfg.keepalive_max_ms) * NS_PER_MS,
            since: now,
            clock: now,
            last_sent: now,
            last_received: now,
            lapse_sent: false,
            stream_next: 1,
            streamed: 0,
            skipped: 0,
            received: 0,
            replay: None,
            tx: vec![0u8; TX_CAPACITY],
            tx_len: 0,
            tx_handed: 0,
            rx: Vec::with_capacity(1 << 16),
            events: VecDeque::with_capacity(256),
            faults: Faults::default(),
            backup: false,
        }
    }

    /// Marks the connection as one to the designated backup gateway instance (`true`) or to
    /// the primary. A backup refuses Negotiate and Establish with NegotiationReject /
    /// EstablishmentReject 27 DesignatedBackup and FaultToleranceIndicator 0 (CME's "Primary
    /// Gateway Connection Enforcement"); the refusal does not count as a bad logon.
    pub fn set_backup(&mut self, backup: bool) {
        self.backup = backup;
    }

    pub fn is_backup(&self) -> bool {
        self.backup
    }

    /// The designated backup's answer to a logon.
    fn backup_reject(
        &mut self,
        reg: &mut SessionRegistry,
        now: u64,
        stage: LogonStage,
        uuid: u64,
        ts: u64,
    ) {
        let reason = "designated backup: log on to the primary gateway";
        let code = RejectCode::DesignatedBackup;
        self.events.push_back(GatewayEvent::LogonRejected {
            session: None,
            stage,
            answer: LogonAnswer::Reject(code),
            reason,
        });
        let _ = self.write(|buf| match stage {
            LogonStage::Negotiate => {
                let mut w = NegotiationRejectWriter::new(buf)?;
                w.set_reason(reason48(reason))?;
                w.set_uuid(uuid)
                    .set_request_timestamp(ts)
                    .set_error_codes(code.code())
                    .set_fault_tolerance_indicator(Some(0));
                Ok(w.finish())
            }
            LogonStage::Establish => {
                let mut w = EstablishmentRejectWriter::new(buf)?;
                w.set_reason(reason48(reason))?;
                w.set_uuid(uuid)
                    .set_request_timestamp(ts)
                    .set_next_seq_no(1)
                    .set_error_codes(code.code())
                    .set_fault_tolerance_indicator(Some(0));
                Ok(w.finish())
            }
        });
        self.last_sent = now;
        self.close(reg);
    }

    pub fn state(&self) -> ConnState {
        self.state
    }

    /// The session this connection logged on to (after a valid Negotiate/Establish).
    pub fn session(&self) -> Option<SessionKey> {
        self.key
    }

    pub fn uuid(&self) -> u64 {
        self.uuid
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }

    pub fn poll_event(&mut self) -> Option<GatewayEvent> {
        self.events.pop_front()
    }

    /// The TCP connection is gone: the session is free for another connection.
    pub fn on_disconnected(&mut self, reg: &mut SessionRegistry) {
        if let Some(k) = self.key {
            reg.unbind(k, self.id);
        }
        self.state = ConnState::Closed;
        self.replay = None;
        self.rx.clear();
    }

    /// Feeds received bytes (any split of the stream). Every accepted business message is
    /// handed to `app(registry, session, now, message)` in sequence order; reports the
    /// application journals with [`SessionRegistry::send_business`] are streamed by
    /// `poll_transmit`.
    pub fn handle_input<F>(&mut self, reg: &mut SessionRegistry, now: u64, bytes: &[u8], mut app: F)
    where
        F: FnMut(&mut SessionRegistry, SessionKey, u64, &Message<'_>),
    {
        self.clock = now;
        if self.state == ConnState::Closed {
            return;
        }
        self.last_received = now;
        self.lapse_sent = false;
        if self.rx.is_empty() {
            let used = self.process_frames(reg, now, bytes, &mut app);
            if let Some(rest) = bytes.get(used..) {
                if !rest.is_empty() && self.state != ConnState::Closed {
                    self.rx.extend_from_slice(rest);
                }
            }
        } else {
            self.rx.extend_from_slice(bytes);
            let mut rx = std::mem::take(&mut self.rx);
            let used = self.process_frames(reg, now, &rx, &mut app);
            if self.state == ConnState::Closed {
                rx.clear();
            } else {
                rx.drain(..used.min(rx.len()));
            }
            self.rx = rx;
        }
    }

    /// Runs the timers; call when `now >= next_deadline()`.
    pub fn handle_timeout(&mut self, reg: &mut SessionRegistry, now: u64) {
        self.clock = now;
        let ka = self.keepalive_ns;
        match self.state {
            ConnState::Closed => {}
            ConnState::AwaitingNegotiate | ConnState::Negotiated => {
                if now >= self.since.saturating_add(reg.cfg.establish_within_ns) {
                    self.terminate(
                        reg,
                        now,
                        TerminateCode::EstablishmentTimeout,
                        "no Establish within 60 s",
                    );
                }
            }
            ConnState::Established => {
                if self.lapse_sent && now >= self.last_received.saturating_add(2 * ka) {
                    self.terminate(
                        reg,
                        now,
                        TerminateCode::KeepAliveIntervalLapsed,
                        "nothing received for two keepalive intervals",
                    );
                    return;
                }
                if !self.lapse_sent && now >= self.last_received.saturating_add(ka) {
                    self.lapse_sent = true;
                    self.send_sequence(reg, now, true);
                    if let Some(session) = self.key {
                        self.events
                            .push_back(GatewayEvent::KeepAliveLapsed { session });
                    }
                } else if now >= self.last_sent.saturating_add(ka) {
                    self.send_sequence(reg, now, false);
                }
            }
        }
    }

    /// When `handle_timeout` must next be called.
    pub fn next_deadline(&self, reg: &SessionRegistry) -> Option<u64> {
        let ka = self.keepalive_ns;
        match self.state {
            ConnState::Closed => None,
            ConnState::AwaitingNegotiate | ConnState::Negotiated => {
                Some(self.since.saturating_add(reg.cfg.establish_within_ns))
            }
            ConnState::Established => {
                let recv = if self.lapse_sent {
                    self.last_received.saturating_add(2 * ka)
                } else {
                    self.last_received.saturating_add(ka)
                };
                Some(recv.min(self.last_sent.saturating_add(ka)))
            }
        }
    }

    /// Bytes to send, handed over whole: the next call into the connection reuses the buffer.
    /// Streams business messages journaled for the session and paces retransmissions.
    pub fn poll_transmit(&mut self, reg: &SessionRegistry) -> Option<&[u8]> {
        self.reclaim_tx();
        if self.state == ConnState::Established {
            self.stream(reg);
            self.serve_replay(reg);
        }
        if self.faults.silent {
            self.tx_len = 0;
            return None;
        }
        if self.tx_len == 0 {
            return None;
        }
        self.tx_handed = self.tx_len;
        self.tx.get(..self.tx_len)
    }

    /// Ends the connection with Terminate 9 VolumeControls (a messaging-control logout).
    pub fn terminate_volume_controls(&mut self, reg: &mut SessionRegistry, now: u64) {
        self.terminate(
            reg,
            now,
            TerminateCode::VolumeControls,
            "messaging controls: cancel/mass action rate above the logout threshold",
        );
    }

    /// Sends a NotApplied for `from..from+count` now (fault injection: the client must answer
    /// with a Sequence or a resend).
    pub fn inject_not_applied(&mut self, reg: &SessionRegistry, from: u32, count: u32) {
        if self.state != ConnState::Established {
            return;
        }
        self.send_not_applied(reg, from, count);
    }

    // ---- input -------------------------------------------------------------------------

    fn process_frames<F>(
        &mut self,
        reg: &mut SessionRegistry,
        now: u64,
        buf: &[u8],
        app: &mut F,
    ) -> usize
    where
        F: FnMut(&mut SessionRegistry, SessionKey, u64, &Message<'_>),
    {
        let mut used = 0;
        while self.state != ConnState::Closed {
            let rest = buf.get(used..).unwrap_or_default();
            match next_frame(rest) {
                Ok(NextFrame::Frame(frame)) => {
                    used += frame.len();
                    self.on_frame(reg, now, frame, app);
                }
                Ok(NextFrame::Incomplete { .. }) => break,
                Err(e) => {
                    self.decode_error(reg, now, None, &e);
                    break;
                }
            }
        }
        used
    }

    fn decode_error(
        &mut self,
        reg: &mut SessionRegistry,
        now: u64,
        template_id: Option<u16>,
        e: &DecodeError,
    ) {
        self.events.push_back(GatewayEvent::ProtocolViolation {
            session: self.key,
            template_id,
            what: if e.is_framing() {
                "invalid SOFH"
            } else {
                "undecodable message"
            },
        });
        self.terminate(reg, now, e.terminate_code(), "undecodable message");
    }

    fn on_frame<F>(&mut self, reg: &mut SessionRegistry, now: u64, frame: &[u8], app: &mut F)
    where
        F: FnMut(&mut SessionRegistry, SessionKey, u64, &Message<'_>),
    {
        let msg = match decode(frame) {
            Ok(m) => m,
            Err(e) => {
                let t = decode_header(frame).ok().map(|(h, _)| h.template_id);
                return self.decode_error(reg, now, t, &e);
            }
        };
        match msg {
            Message::Negotiate(m) => self.on_negotiate(reg, now, &m, m.hmac_signature()),
            Message::Establish(m) => self.on_establish(reg, now, &m, m.hmac_signature()),
            Message::Sequence(m) => {
                if !self.require_established(reg, now, 506) {
                    return;
                }
                if m.uuid() != self.uuid {
                    return self.violation(
                        reg,
                        now,
                        Some(506),
                        TerminateCode::InvalidUuid,
                        "Sequence for another UUID",
                    );
                }
                self.on_sequence(
                    reg,
                    now,
                    m.next_seq_no(),
                    m.keep_alive_interval_lapsed() == 1,
                );
            }
            Message::Terminate(m) => {
                let code = m.error_codes();
                self.events.push_back(GatewayEvent::Terminated {
                    session: self.key,
                    code,
                    name: TerminateCode::name_of(code),
                    by_client: true,
                });
                if self.state != ConnState::AwaitingNegotiate {
                    self.flush_stream(reg);
                    self.send_terminate(now, TerminateCode::Finished.code());
                }
                self.close(reg);
            }
            Message::RetransmitRequest(m) => {
                if !self.require_established(reg, now, 508) {
                    return;
                }
                self.on_retransmit_request(reg, now, &m);
            }
            Message::NewOrderSingle(_)
            | Message::OrderCancelReplaceRequest(_)
            | Message::OrderCancelRequest(_)
            | Message::OrderMassActionRequest(_)
            | Message::OrderStatusRequest(_)
            | Message::OrderMassStatusRequest(_)
            | Message::PartyDetailsDefinitionRequest(_)
            | Message::PartyDetailsListRequest(_)
            | Message::MassQuote(_)
            | Message::QuoteCancel(_)
            | Message::SecurityDefinitionRequest(_) => self.on_business(reg, now, &msg, app),
            other => self.violation(
                reg,
                now,
                Some(other.template_id()),
                TerminateCode::DecodingError,
                "message a client may not send",
            ),
        }
    }

    fn require_established(&mut self, reg: &mut SessionRegistry, now: u64, template: u16) -> bool {
        match self.state {
            ConnState::Established => true,
            ConnState::AwaitingNegotiate => {
                self.violation(
                    reg,
                    now,
                    Some(template),
                    TerminateCode::Unnegotiated,
                    "message before Negotiate",
                );
                false
            }
            ConnState::Negotiated => {
                self.violation(
                    reg,
                    now,
                    Some(template),
                    TerminateCode::NotEstablished,
                    "message before Establish",
                );
                false
            }
            ConnState::Closed => false,
        }
    }

    fn violation(
        &mut self,
        reg: &mut SessionRegistry,
        now: u64,
        template_id: Option<u16>,
        code: TerminateCode,
        what: &'static str,
    ) {
        self.events.push_back(GatewayEvent::ProtocolViolation {
            session: self.key,
            template_id,
            what,
        });
        self.terminate(reg, now, code, what);
    }

    fn logon_failed(
        &mut self,
        reg: &mut SessionRegistry,
        now: u64,
        stage: LogonStage,
        uuid: u64,
        ts: u64,
        f: LogonFailure,
    ) {
        let (f, closed) = reg.bad_logon(now, f);
        self.events.push_back(GatewayEvent::LogonRejected {
            session: f.session,
            stage,
            answer: f.answer,
            reason: f.reason,
        });
        if closed {
            if let Some(session) = f.session {
                self.events.push_back(GatewayEvent::PortClosed { session });
            }
        }
        match f.answer {
            LogonAnswer::Reject(code) => {
                let code = code.code();
                let next_in = f
                    .session
                    .and_then(|k| reg.sequences(k))
                    .map_or(1, |s| s.next_inbound);
                let _ = self.write(|buf| match stage {
                    LogonStage::Negotiate => {
                        let mut w = NegotiationRejectWriter::new(buf)?;
                        w.set_reason(reason48(f.reason))?;
                        w.set_uuid(uuid)
                            .set_request_timestamp(ts)
                            .set_error_codes(code)
                            .set_fault_tolerance_indicator(Some(1));
                        Ok(w.finish())
                    }
                    LogonStage::Establish => {
                        let mut w = EstablishmentRejectWriter::new(buf)?;
                        w.set_reason(reason48(f.reason))?;
                        w.set_uuid(uuid)
                            .set_request_timestamp(ts)
                            .set_next_seq_no(next_in)
                            .set_error_codes(code)
                            .set_fault_tolerance_indicator(Some(1));
                        Ok(w.finish())
                    }
                });
                self.last_sent = now;
            }
            LogonAnswer::Terminate(code) => {
                let _ = self.write(|buf| {
                    let mut w = TerminateWriter::new(buf)?;
                    w.set_reason(reason48(f.reason))?;
                    w.set_uuid(uuid)
                        .set_request_timestamp(now)
                        .set_error_codes(code.code());
                    Ok(w.finish())
                });
                self.last_sent = now;
            }
        }
        self.close(reg);
    }

    fn on_negotiate(&mut self, reg: &mut SessionRegistry, now: u64, m: &Negotiate<'_>, sig: &[u8]) {
        match self.state {
            ConnState::Established => {
                return self.violation(
                    reg,
                    now,
                    Some(500),
                    TerminateCode::AlreadyEstablished,
                    "Negotiate on an established connection",
                )
            }
            ConnState::Negotiated => {
                return self.violation(
                    reg,
                    now,
                    Some(500),
                    TerminateCode::AlreadyNegotiated,
                    "second Negotiate on the connection",
                )
            }
            ConnState::Closed => return,
            ConnState::AwaitingNegotiate => {}
        }
        if self.backup {
            return self.backup_reject(
                reg,
                now,
                LogonStage::Negotiate,
                m.uuid(),
                m.request_timestamp(),
            );
        }
        match reg.negotiate(now, self.id, m, sig, self.faults.reject_signatures) {
            Err(f) => self.logon_failed(
                reg,
                now,
                LogonStage::Negotiate,
                m.uuid(),
                m.request_timestamp(),
                f,
            ),
            Ok((key, uuid, (prev_uuid, prev_seq))) => {
                self.key = Some(key);
                self.uuid = uuid;
                self.state = ConnState::Negotiated;
                self.since = now;
                let ts = m.request_timestamp();
                let _ = self.write(|buf| {
                    let mut w = NegotiationResponseWriter::new(buf)?;
                    w.set_uuid(uuid)
                        .set_request_timestamp(ts)
                        .set_fault_tolerance_indicator(Some(1))
                        .set_previous_seq_no(prev_seq)
                        .set_previous_uuid(prev_uuid);
                    Ok(w.finish())
                });
                self.last_sent = now;
                self.events.push_back(GatewayEvent::Negotiated {
                    session: key,
                    uuid,
                    previous_uuid: prev_uuid,
                });
            }
        }
    }

    fn on_establish(&mut self, reg: &mut SessionRegistry, now: u64, m: &Establish<'_>, sig: &[u8]) {
        match self.state {
            ConnState::Established => {
                return self.violation(
                    reg,
                    now,
                    Some(503),
                    TerminateCode::AlreadyEstablished,
                    "Establish on an established connection",
                )
            }
            ConnState::Closed => return,
            ConnState::AwaitingNegotiate | ConnState::Negotiated => {}
        }
        if self.backup {
            return self.backup_reject(
                reg,
                now,
                LogonStage::Establish,
                m.uuid(),
                m.request_timestamp(),
            );
        }
        match reg.establish(now, self.id, m, sig, self.faults.reject_signatures) {
            Err(f) => self.logon_failed(
                reg,
                now,
                LogonStage::Establish,
                m.uuid(),
                m.request_timestamp(),
                f,
            ),
            Ok(ok) => {
                self.key = Some(ok.key);
                self.uuid = ok.uuid;
                self.state = ConnState::Established;
                self.keepalive_ns = u64::from(m.keep_alive_interval()) * NS_PER_MS;
                self.stream_next = ok.next_outbound;
                self.last_received = now;
                let (ts, ka) = (m.request_timestamp(), m.keep_alive_interval());
                let _ = self.write(|buf| {
                    let mut w = EstablishmentAckWriter::new(buf)?;
                    w.set_uuid(ok.uuid)
                        .set_request_timestamp(ts)
                        .set_next_seq_no(ok.next_outbound)
                        .set_previous_seq_no(ok.previous.1)
                        .set_previous_uuid(ok.previous.0)
                        .set_keep_alive_interval(ka)
                        .set_fault_tolerance_indicator(Some(1));
                    Ok(w.finish())
                });
                self.last_sent = now;
                let next_inbound = reg.sequences(ok.key).map_or(1, |s| s.next_inbound);
                self.events.push_back(GatewayEvent::Established {
                    session: ok.key,
                    uuid: ok.uuid,
                    next_inbound,
                    next_outbound: ok.next_outbound,
                    keepalive_ms: ka,
                });
                if let Some((from, count)) = ok.not_applied {
                    self.send_not_applied(reg, from, count);
                }
            }
        }
    }

    fn on_sequence(&mut self, reg: &mut SessionRegistry, now: u64, next: u32, lapsed: bool) {
        let Some(key) = self.key else {
            return;
        };
        if lapsed {
            self.send_sequence(reg, now, false);
        }
        let expected = reg.sequences(key).map_or(1, |s| s.next_inbound);
        if next < expected {
            return self.violation(
                reg,
                now,
                Some(506),
                TerminateCode::InvalidMsgSeqNo,
                "Sequence NextSeqNo lower than expected",
            );
        }
        if next > expected {
            reg.set_next_inbound(key, next);
            self.events.push_back(GatewayEvent::GapFilled {
                session: key,
                from_seq: expected,
                to_seq: next,
            });
        }
    }

    fn on_business<F>(
        &mut self,
        reg: &mut SessionRegistry,
        now: u64,
        msg: &Message<'_>,
        app: &mut F,
    ) where
        F: FnMut(&mut SessionRegistry, SessionKey, u64, &Message<'_>),
    {
        let template = msg.template_id();
        if !self.require_established(reg, now, template) {
            return;
        }
        let (Some(key), Some(seq)) = (self.key, client_seq(msg)) else {
            return;
        };
        let expected = reg.sequences(key).map_or(1, |s| s.next_inbound);
        if seq < expected {
            return self.violation(
                reg,
                now,
                Some(template),
                TerminateCode::InvalidMsgSeqNo,
                "SeqNum lower than expected",
            );
        }
        if seq > expected {
            self.send_not_applied(reg, expected, seq - expected);
        }
        reg.set_next_inbound(key, seq.wrapping_add(1));
        self.received += 1;
        self.events.push_back(GatewayEvent::BusinessReceived {
            session: key,
            seq,
            template_id: template,
        });
        app(reg, key, now, msg);
        if self
            .faults
            .disconnect_after_inbound
            .is_some_and(|k| self.received >= k)
        {
            self.flush_stream(reg);
            self.close(reg);
        }
    }

    fn on_retransmit_request(
        &mut self,
        reg: &mut SessionRegistry,
        now: u64,
        m: &RetransmitRequest<'_>,
    ) {
        let Some(key) = self.key else {
            return;
        };
        let Some(seqs) = reg.sequences(key) else {
            return;
        };
        let (from, count) = (m.from_seq_no(), m.msg_count());
        let stream_uuid = m.last_uuid().unwrap_or(m.uuid());
        let stream_end = if stream_uuid == seqs.uuid {
            seqs.next_outbound
        } else {
            seqs.previous_last_outbound.saturating_add(1)
        };
        let age = now.saturating_sub(m.request_timestamp());
        let code = if self.replay.is_some() {
            Some(RetransmitRejectCode::RetransmitAlreadyInProgress)
        } else if m.uuid() != seqs.uuid
            || (stream_uuid != seqs.uuid
                && (stream_uuid != seqs.previous_uuid || seqs.previous_uuid == 0))
        {
            Some(RetransmitRejectCode::InvalidUuid)
        } else if from == 0 {
            Some(RetransmitRejectCode::InvalidFromSeqNo)
        } else if count > MAX_RETRANSMIT_COUNT {
            Some(RetransmitRejectCode::RequestLimitExceeded)
        } else if m.request_timestamp() == 0 || age > reg.cfg.max_request_age_ns {
            Some(RetransmitRejectCode::InvalidTimestamp)
        } else if count == 0
            || u64::from(from) + u64::from(count) > u64::from(stream_end)
            || (from..from + u32::from(count)).any(|s| reg.journaled(key, stream_uuid, s).is_none())
        {
            Some(RetransmitRejectCode::OutOfRange)
        } else {
            None
        };
        if let Some(code) = code {
            let (uuid, last_uuid, ts) = (seqs.uuid, m.last_uuid(), m.request_timestamp());
            let _ = self.write(|buf| {
                let mut w = RetransmitRejectWriter::new(buf)?;
                w.set_reason(reason48(code.name()))?;
                w.set_uuid(uuid)
                    .set_last_uuid(last_uuid)
                    .set_request_timestamp(ts)
                    .set_error_codes(code.code());
                Ok(w.finish())
            });
            self.last_sent = now;
            self.events.push_back(GatewayEvent::RetransmitRejected {
                session: key,
                code,
                from_seq: from,
                count,
            });
            return;
        }
        self.flush_stream(reg);
        let (uuid, last_uuid, ts) = (seqs.uuid, m.last_uuid(), m.request_timestamp());
        let _ = self.write(|buf| {
            let mut w = RetransmissionWriter::new(buf)?;
            w.set_uuid(uuid)
                .set_last_uuid(last_uuid)
                .set_request_timestamp(ts)
                .set_from_seq_no(from)
                .set_msg_count(count);
            Ok(w.finish())
        });
        self.last_sent = now;
        self.replay = Some(Replay {
            uuid: stream_uuid,
            next: from,
            end: from + u32::from(count),
        });
        self.events.push_back(GatewayEvent::RetransmitServed {
            session: key,
            uuid,
            last_uuid,
            from_seq: from,
            count,
        });
    }

    // ---- output ------------------------------------------------------------------------

    fn close(&mut self, reg: &mut SessionRegistry) {
        if let Some(k) = self.key {
            reg.unbind(k, self.id);
        }
        self.state = ConnState::Closed;
        self.replay = None;
        self.rx.clear();
        self.events.push_back(GatewayEvent::Disconnect);
    }

    /// Fault injection: Terminate `code` now, as CME may at any time (the connection ends).
    pub fn terminate_now(&mut self, reg: &mut SessionRegistry, now: u64, code: TerminateCode) {
        self.terminate(reg, now, code, "fault: terminated by the exchange");
    }

    fn terminate(&mut self, reg: &mut SessionRegistry, now: u64, code: TerminateCode, why: &str) {
        if self.state == ConnState::Closed {
            return;
        }
        self.flush_stream(reg);
        let uuid = self.uuid;
        let _ = self.write(|buf| {
            let mut w = TerminateWriter::new(buf)?;
            w.set_reason(reason48(why))?;
            w.set_uuid(uuid)
                .set_request_timestamp(now)
                .set_error_codes(code.code());
            Ok(w.finish())
        });
        self.last_sent = now;
        self.events.push_back(GatewayEvent::Terminated {
            session: self.key,
            code: code.code(),
            name: code.name(),
            by_client: false,
        });
        self.close(reg);
    }

    fn send_terminate(&mut self, now: u64, code: u16) {
        let uuid = self.uuid;
        let _ = self.write(|buf| {
            let mut w = TerminateWriter::new(buf)?;
            w.set_uuid(uuid)
                .set_request_timestamp(now)
                .set_error_codes(code);
            Ok(w.finish())
        });
        self.last_sent = now;
    }

    fn send_sequence(&mut self, reg: &SessionRegistry, now: u64, lapsed: bool) {
        self.flush_stream(reg);
        let uuid = self.uuid;
        let next = self
            .key
            .and_then(|k| reg.sequences(k))
            .map_or(1, |s| s.next_outbound);
        let _ = self.write(|buf| {
            let mut w = SequenceWriter::new(buf)?;
            w.set_uuid(uuid)
                .set_next_seq_no(next)
                .set_keep_alive_interval_lapsed(u8::from(lapsed));
            Ok(w.finish())
        });
        self.last_sent = now;
    }

    fn send_not_applied(&mut self, reg: &SessionRegistry, from: u32, count: u32) {
        self.flush_stream(reg);
        let uuid = self.uuid;
        let _ = self.write(|buf| {
            let mut w = NotAppliedWriter::new(buf)?;
            w.set_uuid(uuid).set_from_seq_no(from).set_msg_count(count);
            Ok(w.finish())
        });
        self.last_sent = self.clock;
        if let Some(session) = self.key {
            self.events.push_back(GatewayEvent::NotAppliedSent {
                session,
                from_seq: from,
                count,
            });
        }
    }

    /// Streams journaled business messages before a session message, so the wire order is the
    /// order things happened in.
    fn flush_stream(&mut self, reg: &SessionRegistry) {
        if self.state == ConnState::Established {
            self.reclaim_tx();
            self.stream(reg);
        }
    }

    fn stream(&mut self, reg: &SessionRegistry) {
        let Some(key) = self.key else {
            return;
        };
        let Some(seqs) = reg.sequences(key) else {
            return;
        };
        if seqs.uuid != self.uuid {
            return;
        }
        while self.stream_next < seqs.next_outbound {
            let seq = self.stream_next;
            if let Some(skip) = self.faults.skip_outbound {
                if self.streamed >= skip.after && self.skipped < skip.count {
                    self.skipped += 1;
                    self.stream_next += 1;
                    continue;
                }
            }
            let Some(frame) = reg.journaled(key, self.uuid, seq) else {
                self.stream_next += 1; // aged out of the in-memory journal
                continue;
            };
            let copies = if self.faults.duplicate_poss_retrans {
                2
            } else {
                1
            };
            if self.tx.len() - self.tx_len < copies * frame.len() {
                break; // back-pressure: the rest waits in the journal
            }
            self.push_frame(frame, false);
            if copies == 2 {
                self.push_frame(frame, true);
            }
            self.streamed += 1;
            self.stream_next += 1;
            self.last_sent = self.clock;
        }
    }

    fn serve_replay(&mut self, reg: &SessionRegistry) {
        let Some(key) = self.key else {
            return;
        };
        let budget = reg.cfg.replay_bytes_per_poll.max(1);
        let mut sent = 0;
        while let Some(mut r) = self.replay {
            if r.next >= r.end {
                self.replay = None;
                break;
            }
            let Some(frame) = reg.journaled(key, r.uuid, r.next) else {
                self.replay = None;
                break;
            };
            if sent > 0 && sent + frame.len() > budget {
                break;
            }
            if self.tx.len() - self.tx_len < frame.len() {
                break;
            }
            self.push_frame(frame, true);
            sent += frame.len();
            r.next += 1;
            self.replay = Some(r);
            self.last_sent = self.clock;
        }
    }

    fn push_frame(&mut self, frame: &[u8], poss_retrans: bool) {
        let start = self.tx_len;
        let Some(dst) = self.tx.get_mut(start..start + frame.len()) else {
            return;
        };
        dst.copy_from_slice(frame);
        if poss_retrans {
            let off = decode_header(frame)
                .ok()
                .and_then(|(h, _)| poss_retrans_offset(h.template_id));
            if let Some(b) = off.and_then(|o| dst.get_mut(o)) {
                *b = 1;
            }
        }
        self.tx_len += frame.len();
    }

    fn reclaim_tx(&mut self) {
        if self.tx_handed > 0 {
            self.tx.copy_within(self.tx_handed..self.tx_len, 0);
            self.tx_len -= self.tx_handed;
            self.tx_handed = 0;
        }
    }

    fn write(
        &mut self,
        f: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), EncodeError> {
        self.reclaim_tx();
        let start = self.tx_len;
        let n = f(self.tx.get_mut(start..).unwrap_or_default())?;
        self.tx_len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilink3::{ExecutionReportNewWriter, ExecutionReportTradeOutrightWriter};

    #[test]
    fn poss_retrans_offset_is_found_for_every_exchange_business_message() {
        for t in [521u16, 522, 523, 525, 531, 534, 535, 536, 562] {
            assert!(poss_retrans_offset(t).is_some(), "template {t}");
        }
        assert_eq!(poss_retrans_offset(514), None);
        let mut buf = [0u8; 512];
        let mut w = ExecutionReportNewWriter::new(&mut buf).unwrap();
        w.set_poss_retrans_flag(1);
        let n = w.finish();
        let at = poss_retrans_offset(522).unwrap();
        assert_eq!(buf[at], 1);
        assert_eq!(buf[..n].iter().filter(|&&b| b == 1).count(), 1);
        let mut buf = [0u8; 512];
        let mut w = ExecutionReportTradeOutrightWriter::new(&mut buf).unwrap();
        w.set_poss_retrans_flag(1);
        w.finish();
        assert_eq!(buf[poss_retrans_offset(525).unwrap()], 1);
    }

    #[test]
    fn frame_log_keeps_the_newest_messages_within_its_retention() {
        let mut log = FrameLog::new();
        for seq in 1..=10u32 {
            log.push(seq, &[seq as u8; 3], 4);
        }
        assert!(log.get(1).is_none());
        assert!(log.get(11).is_none());
        assert!(log.get(0).is_none());
        assert_eq!(log.get(10), Some(&[10u8; 3][..]));
        let kept: Vec<u32> = (1..=10).filter(|&s| log.get(s).is_some()).collect();
        assert!(kept.len() >= 4 && kept.len() <= 5, "{kept:?}");
        for s in kept {
            assert_eq!(log.get(s), Some(&[s as u8; 3][..]));
        }
    }
}
