//! The engine's protocol reactions, sans-IO: what to send, to whom, and when.
//!
//! [`Core`] owns one engine's iLink 3 and Drop Copy sessions, their connection bookkeeping
//! (up/closing, reconnect schedule to primary or backup), the [`Router`] and the drain. It holds
//! no socket, thread, clock, shared-memory mapping or queue:
//!
//! - **Input**: strategy requests ([`Core::on_request`]), connection events
//!   ([`Core::on_connected`], [`Core::on_data`], [`Core::on_closed`],
//!   [`Core::on_connect_failed`]), control messages from housekeeping ([`Core::on_control`]:
//!   store acknowledgements, dead strategies, keys, risk limits) and the time ([`Now`], read by
//!   the caller once per loop pass: `mono` for every deadline, `wall` for wire stamps).
//! - **Output**: through two small traits the caller implements: [`Wire`] (dial, close, send
//!   bytes per connection) and [`Sink`] (events to strategy rings, journal records, store
//!   requests, Drop Copy records, log events, latency hops).
//!
//! The engine ([`super::engine`]) maps these onto its network backend, rings and links; tests
//! (`core_tests.rs`) drive the same core with a fake clock and an in-memory exchange. The
//! steady state (requests in, reports out) allocates nothing.

use super::logon::{dropcopy_logout_retry, LogonPolicy, Refusal};
use super::order_journal::{OnRestart, OrderChange};
use super::party::{self, Party, PartySpec, PartyState};
use super::reconcile::ExecCopy;
use super::router::{self, MassStatusOutcome, OrderSnapshot, Outbound, Reply, Routed, Router};
use super::shared::{
    Control, DaemonShared, DcRec, JournalRec, Level, LinkState, LogEvent, Note, Phase, StoreReq,
    JOURNAL_BYTES,
};
use super::wire::{self, FirmFields};
use crate::dropcopy::session::{
    DisconnectReason as DcDisconnectReason, DropCopyEvent, DropCopySession, DropCopyState,
    SessionError as DcSessionError,
};
use crate::ilink3::codes::{RejectCode, Retry, TerminateCode};
use crate::ilink3::session::{Alert, DisconnectReason, Stage};
use crate::ilink3::session::{
    ConnectMode, FixpEvent, FixpSession, FixpState, NotAppliedAction, SessionError,
};
use crate::ilink3::{decode, Message};
use crate::latency::{Hop, Stamp};
use crate::net::CloseReason;
use crate::net::NetworkConfig;
use crate::shm::strategy::{
    Event, EventKind, LinkStatus, RecordError, RejectReason, Request, RequestBody,
};
use crate::store::{JournaledMessage, SeqHandle};
use crate::types::{
    LatencySlot, LocalSessionIdx, LocalStrategyIdx, Nanos, Now, SessionIdx, StrategyIdx,
};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Requests taken from one strategy's ring per loop turn (one strategy cannot starve another).
pub const POLL_BUDGET: usize = 16;
/// Cancels a sweep may send per loop turn.
const SWEEP_BUDGET: usize = 16;
/// How long a closing connection may take to hand its last bytes to the kernel.
pub const CLOSE_LINGER_NS: u64 = 100_000_000;
/// How long draining may take before the engine gives up waiting for Terminate answers.
pub const DRAIN_TIMEOUT_NS: u64 = 3_000_000_000;

/// One connection of this engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Ilink(LocalSessionIdx),
    DropCopy(LocalSessionIdx),
}

/// Connection-level outputs (the engine: its network backend and send-stall buffers).
pub trait Wire {
    /// Starts a TCP connect to `addr`; `Err` when refused at once (no slot, socket error).
    fn connect(&mut self, peer: Peer, addr: SocketAddr) -> Result<(), Note>;
    /// Closes the connection now.
    fn close(&mut self, peer: Peer);
    /// Every byte was handed to the kernel (a closing connection may go).
    fn flushed(&self, peer: Peer) -> bool;
    /// Nothing is held back for a full send buffer (back-pressure on strategies).
    fn can_send(&self, peer: Peer) -> bool;
    /// Hands `bytes` (or only what is held back, when `None`) to the connection: `Ok(true)`
    /// when something was submitted, `Err(why)` when the connection must go.
    fn send(&mut self, peer: Peer, bytes: Option<&[u8]>) -> Result<bool, &'static str>;
}

/// Every other output (the engine: strategy rings, housekeeping links, latency recorder).
pub trait Sink {
    /// An event for one of this engine's strategies (`rx`: when the bytes that caused it
    /// arrived, for the response hop; `lat`: latency slot).
    fn publish(&mut self, strategy: LocalStrategyIdx, ev: Event, rx: Stamp, lat: LatencySlot);
    /// An outbound business message to journal.
    fn journal(&mut self, rec: &JournalRec);
    /// Store work for housekeeping; `false` when the queue is full.
    fn store(&mut self, req: StoreReq) -> bool;
    /// An iLink 3 execution report with an ExecID, for the Drop Copy reconciliation
    /// (housekeeping; counted when the queue is full).
    fn exec_copy(&mut self, c: &ExecCopy);
    /// One change of an order's state for the order journal (global strategy and session
    /// indices), queued for housekeeping; dropped and counted when the queue is full.
    fn order_change(&mut self, change: OrderChange, s: &OrderSnapshot);
    /// A Drop Copy business message (must not be lost: the caller waits for room).
    fn dropcopy(&mut self, rec: DcRec);
    fn log(&mut self, ev: LogEvent);
    /// A latency-clock stamp (`Stamp::NONE` when not measuring).
    fn stamp(&self) -> Stamp;
    /// Latency hop `from..to`.
    fn span(&mut self, lat: LatencySlot, hop: Hop, from: Stamp, to: Stamp);
    /// Latency hop of `ns`.
    fn hop(&mut self, lat: LatencySlot, hop: Hop, ns: u64);
    /// A latency stamp as wall-clock nanoseconds (0 when not measuring).
    fn stamp_wall_ns(&self, s: Stamp) -> u64;
}

/// One connection's bookkeeping.
struct Link {
    /// A connection exists (dialing or up).
    open: bool,
    up: bool,
    /// Closing: close once every byte is with the kernel (or after a linger).
    closing_since: Option<Nanos>,
    /// The session logged on over this connection.
    logged_on: bool,
    /// Reconnect schedule and logon-failure policy (what to log, too).
    policy: LogonPolicy,
    addr: SocketAddr,
}

impl Link {
    fn new(
        primary: SocketAddr,
        backup: Option<SocketAddr>,
        net: &NetworkConfig,
        seed: u64,
    ) -> Self {
        Link {
            open: false,
            up: false,
            closing_since: None,
            logged_on: false,
            policy: LogonPolicy::new(primary, backup, net, seed),
            addr: primary,
        }
    }

    fn close_soon(&mut self, now: Now) {
        if self.open && self.closing_since.is_none() {
            self.closing_since = Some(now.mono);
        }
    }

    fn forget(&mut self) {
        self.open = false;
        self.up = false;
        self.logged_on = false;
        self.closing_since = None;
    }

    /// The session logged on over this connection.
    fn logged_on(&mut self, sh: &super::shared::SessionShared) {
        self.logged_on = true;
        self.policy.on_logged_on();
        sh.throttled_until_wall.store(0, Ordering::Relaxed);
        sh.next_attempt_wall.store(0, Ordering::Relaxed);
    }

    /// The logon on this connection was refused: tells the policy and the status; returns
    /// whether to log the refusal itself.
    fn refused(
        &mut self,
        now: Now,
        r: Refusal,
        bad_logon: bool,
        sh: &super::shared::SessionShared,
    ) -> bool {
        sh.last_reject_code
            .store(r.code.map_or(-1, i64::from), Ordering::Relaxed);
        self.policy.on_refused(now, r, bad_logon)
    }

    /// The connection is gone (or never came up): forgets it, schedules the next attempt and
    /// logs what the policy says (a state change), else the loss when not quiet.
    fn closed(
        &mut self,
        now: Now,
        running: bool,
        session: usize,
        errno: Option<i32>,
        sh: &super::shared::SessionShared,
        sink: &mut impl Sink,
    ) {
        let quiet = self.policy.quiet();
        self.forget();
        let (at, say) = self.policy.on_closed(now);
        let next = super::logon::wall_at(now, at);
        sh.next_attempt_wall.store(next.0, Ordering::Relaxed);
        sh.throttled_until_wall.store(
            self.policy
                .throttled_until(now)
                .map_or(0, |t| super::logon::wall_at(now, t).0),
            Ordering::Relaxed,
        );
        if !running {
            sink.log(LogEvent::ConnectionLost {
                session,
                errno,
                retry_in_ms: None,
            });
        } else if let Some(say) = say {
            sink.log(LogEvent::LogonPolicy { session, say });
        } else if !quiet && !self.policy.quiet() {
            sink.log(LogEvent::ConnectionLost {
                session,
                errno,
                retry_in_ms: Some(at.0.saturating_sub(now.mono.0) / 1_000_000),
            });
        }
    }

    /// Closes a closing connection once every byte is with the kernel or its linger ran out;
    /// returns whether it did.
    fn close_if_done(&mut self, peer: Peer, now: Now, wire: &mut impl Wire) -> bool {
        match (self.open, self.closing_since) {
            (true, Some(since))
                if wire.flushed(peer) || now.mono.since(since) > CLOSE_LINGER_NS =>
            {
                wire.close(peer);
                self.forget();
                true
            }
            _ => false,
        }
    }
}

/// What the core needs for one iLink 3 session.
pub struct IlinkSpec {
    pub global: SessionIdx,
    pub session: FixpSession,
    /// The store's sequence handle (atomics; housekeeping owns the store).
    pub handle: Arc<SeqHandle>,
    pub primary: SocketAddr,
    pub backup: Option<SocketAddr>,
    pub firm: FirmFields,
    /// What to do with a previous run's orders once established.
    pub on_restart: OnRestart,
    /// The session's `[[ilink3.party]]` definitions.
    pub parties: Vec<PartySpec>,
}

/// What the core needs for one Drop Copy session.
pub struct DropCopySpec {
    pub global: SessionIdx,
    /// Index among the daemon's Drop Copy sessions.
    pub dc: crate::types::DropCopyIdx,
    pub session: DropCopySession,
    pub primary: SocketAddr,
    pub backup: Option<SocketAddr>,
}

/// What the core needs for one strategy.
pub struct StrategySpec {
    pub global: StrategyIdx,
    /// Engine session of each of the strategy's sessions (the strategy's session index).
    pub sessions: Vec<LocalSessionIdx>,
}

struct Ilink {
    global: SessionIdx,
    session: FixpSession,
    handle: Arc<SeqHandle>,
    firm: FirmFields,
    /// Party details of the session and their registration state.
    parties: Vec<Party>,
    /// A 518 could not be sent: try again from `timers` while established.
    parties_due: bool,
    link: Link,
    /// When the bytes being processed arrived.
    rx_stamp: Stamp,
    /// What strategies were last told.
    told: LinkStatus,
    published: LinkState,
    lat: LatencySlot,
    on_restart: OnRestart,
    /// Established for the first time in this run: the `on_restart` request is due.
    restart_due: bool,
    /// The `on_restart` request went out (once per run; a mass status not answered in full
    /// goes out again after the next Establish).
    restart_done: bool,
    /// MassStatusReqID of the mass status being answered, and what it found so far.
    mass_status: Option<u64>,
    mass_outcome: MassStatusOutcome,
}

struct DropCopy {
    global: SessionIdx,
    dc: crate::types::DropCopyIdx,
    session: DropCopySession,
    link: Link,
    published: LinkState,
    pending_key: Option<(crate::auth::AccessKeyId, crate::auth::HmacSigner)>,
}

struct Strategy {
    global: StrategyIdx,
    sessions: Vec<LocalSessionIdx>,
    faulted: bool,
}

/// One engine's protocol state.
pub struct Core {
    engine: usize,
    ilink: Vec<Ilink>,
    dc: Vec<DropCopy>,
    strategies: Vec<Strategy>,
    router: Router,
    shared: Arc<DaemonShared>,
    draining_since: Option<Nanos>,
    journal: JournalRec,
    /// The `shared.kill_gen` last applied to the router.
    kill_seen: u64,
    /// Global index of each engine session and strategy (order-journal records).
    globals: Globals,
    /// Party (index into the session's `parties`) each strategy's orders name on each engine
    /// session: `party_of[strategy * ilink.len() + session]`, [`NO_PARTY`] for none.
    party_of: Vec<u16>,
    /// The `shared.party_list_gen` last acted on.
    party_list_seen: u64,
}

/// Engine → global indices.
struct Globals {
    sessions: Vec<u16>,
    strategies: Vec<u16>,
}

/// Hands the router's order-journal records to the sink with global indices; records the
/// router could not hold are counted as dropped.
fn journal_orders(
    router: &mut Router,
    globals: &Globals,
    eng: &super::shared::EngineShared,
    sink: &mut impl Sink,
) {
    // The snapshot's indices are rewritten where the router holds it (it is dropped after the
    // take): one copy of it, into the sink.
    let lost = router.take_changes(|c, snap| {
        snap.strategy = globals
            .strategies
            .get(usize::from(snap.strategy))
            .copied()
            .unwrap_or(u16::MAX);
        snap.session = globals
            .sessions
            .get(usize::from(snap.session))
            .copied()
            .unwrap_or(u16::MAX);
        sink.order_change(c, snap);
    });
    if lost > 0 {
        eng.order_changes_dropped.fetch_add(lost, Ordering::Relaxed);
    }
}

/// No party details: the session's own `party_details_list_req_id` goes on the order.
const NO_PARTY: u16 = u16::MAX;

fn note(args: std::fmt::Arguments<'_>) -> Note {
    let mut n = Note::default();
    let _ = n.write_fmt(args);
    n
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

fn to_strategy_state(s: LinkState) -> LinkStatus {
    match s {
        LinkState::Up => LinkStatus::Up,
        LinkState::Down | LinkState::Stopped => LinkStatus::Down,
        _ => LinkStatus::Connecting,
    }
}

impl Core {
    /// `engine`: this engine's index in `shared.engines`; `seed`: reconnect jitter.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        engine: crate::types::EngineIdx,
        ilink: Vec<IlinkSpec>,
        dropcopy: Vec<DropCopySpec>,
        strategies: Vec<StrategySpec>,
        router: Router,
        network: &NetworkConfig,
        shared: Arc<DaemonShared>,
        seed: u64,
    ) -> Core {
        let ilink: Vec<Ilink> = ilink
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                let mut session = x.session;
                session.set_outbound_limit(clamp_u32(x.handle.reserved()));
                Ilink {
                    global: x.global,
                    session,
                    handle: x.handle,
                    firm: x.firm,
                    parties: x.parties.into_iter().map(Party::new).collect(),
                    parties_due: false,
                    link: Link::new(x.primary, x.backup, network, seed ^ (i as u64 + 1)),
                    rx_stamp: Stamp::NONE,
                    told: LinkStatus::Down,
                    published: LinkState::Down,
                    lat: LatencySlot::new(i),
                    on_restart: x.on_restart,
                    restart_due: false,
                    restart_done: false,
                    mass_status: None,
                    mass_outcome: MassStatusOutcome::default(),
                }
            })
            .collect();
        let dc = dropcopy
            .into_iter()
            .enumerate()
            .map(|(i, x)| DropCopy {
                global: x.global,
                dc: x.dc,
                session: x.session,
                link: Link::new(x.primary, x.backup, network, seed ^ (0x100 + i as u64)),
                published: LinkState::Down,
                pending_key: None,
            })
            .collect();
        let globals = Globals {
            sessions: ilink.iter().map(|s| s.global.get() as u16).collect(),
            strategies: strategies.iter().map(|x| x.global.get() as u16).collect(),
        };
        let strategies: Vec<Strategy> = strategies
            .into_iter()
            .map(|x| Strategy {
                global: x.global,
                sessions: x.sessions,
                faulted: false,
            })
            .collect();
        let n_ilink = ilink.len();
        let mut party_of = vec![NO_PARTY; strategies.len() * n_ilink];
        for (e, s) in ilink.iter().enumerate() {
            for (p, party) in s.parties.iter().enumerate() {
                for g in &party.spec.strategies {
                    if let Some(si) = strategies.iter().position(|st| st.global == *g) {
                        if let Some(slot) = party_of.get_mut(si * n_ilink + e) {
                            *slot = u16::try_from(p).unwrap_or(NO_PARTY);
                        }
                    }
                }
            }
        }
        let mut router = router;
        refresh_party_blocks(&mut router, &strategies, &party_of, &ilink, None);
        Core {
            engine: engine.get(),
            ilink,
            dc,
            strategies,
            router,
            shared,
            draining_since: None,
            kill_seen: 0,
            globals,
            party_of,
            party_list_seen: 0,
            journal: JournalRec {
                session: 0,
                uuid: 0,
                seq: 0,
                len: 0,
                bytes: [0; JOURNAL_BYTES],
            },
        }
    }

    fn running(&self) -> bool {
        self.shared.phase() == Phase::Running
    }

    fn eng(&self) -> &super::shared::EngineShared {
        &self.shared.engines[self.engine]
    }

    /// Latency slot of a Drop Copy session (after the iLink 3 ones).
    pub fn dc_latency_slot(&self, d: LocalSessionIdx) -> LatencySlot {
        LatencySlot::new(self.ilink.len() + d.get())
    }

    /// Latency slot of an iLink 3 session.
    pub fn ilink_latency_slot(&self, i: LocalSessionIdx) -> LatencySlot {
        self.ilink
            .get(i.get())
            .map_or(LatencySlot::default(), |s| s.lat)
    }

    pub fn ilink_count(&self) -> usize {
        self.ilink.len()
    }

    pub fn dc_count(&self) -> usize {
        self.dc.len()
    }

    pub fn strategy_count(&self) -> usize {
        self.strategies.len()
    }

    /// The iLink 3 session (read-only: state, sequence numbers).
    pub fn fixp(&self, i: LocalSessionIdx) -> Option<&FixpSession> {
        self.ilink.get(i.get()).map(|s| &s.session)
    }

    /// The Drop Copy session (read-only).
    pub fn drop_copy(&self, d: LocalSessionIdx) -> Option<&DropCopySession> {
        self.dc.get(d.get()).map(|s| &s.session)
    }

    /// Open orders of a strategy.
    pub fn open_orders(&self, s: LocalStrategyIdx) -> u32 {
        self.router.open_orders(s.get())
    }

    /// Whether a strategy's requests are refused for good (a corrupt ring).
    pub fn faulted(&self, s: LocalStrategyIdx) -> bool {
        self.strategies.get(s.get()).is_some_and(|x| x.faulted)
    }

    /// The published state of a session's connection.
    pub fn link_state(&self, peer: Peer) -> LinkState {
        match peer {
            Peer::Ilink(i) => self
                .ilink
                .get(i.get())
                .map_or(LinkState::Down, |s| s.published),
            Peer::DropCopy(d) => self
                .dc
                .get(d.get())
                .map_or(LinkState::Down, |s| s.published),
        }
    }

    /// Every connection is closed (the drain is over).
    pub fn drained(&self) -> bool {
        self.ilink.iter().all(|s| !s.link.open) && self.dc.iter().all(|d| !d.link.open)
    }

    /// Whether the drain has run longer than [`DRAIN_TIMEOUT_NS`].
    pub fn drain_timed_out(&self, now: Now) -> bool {
        self.draining_since
            .is_some_and(|t| now.mono.since(t) > DRAIN_TIMEOUT_NS)
    }

    /// When the next timer (session deadline, reconnect, linger) is due, for an idle caller.
    pub fn next_deadline(&self) -> Option<Nanos> {
        let il = self.ilink.iter().filter_map(|s| s.session.next_deadline());
        let dc = self.dc.iter().filter_map(|d| d.session.next_deadline());
        il.chain(dc).min()
    }

    // ---- control ----------------------------------------------------------------------

    /// One message from housekeeping.
    pub fn on_control(&mut self, c: Control, now: Now, sink: &mut impl Sink) {
        match c {
            Control::StrategyDied { strategy } => {
                self.strategy_died(LocalStrategyIdx::new(strategy), sink)
            }
            Control::Credentials { session, creds } => {
                if let Some(s) = self.ilink.get_mut(session) {
                    s.session.set_credentials(creds);
                    s.link.policy.on_new_key(now);
                }
            }
            Control::DcCredentials {
                session,
                key_id,
                signer,
            } => {
                if let Some(d) = self.dc.get_mut(session) {
                    d.pending_key = Some((key_id, signer));
                    d.link.policy.on_new_key(now);
                }
            }
            Control::Risk(r) => self.router.set_risk(r),
            Control::UuidPersisted {
                session,
                uuid,
                result,
            } => self.uuid_persisted(session, uuid, result, now, sink),
            Control::Resend {
                session,
                uuid,
                from,
                count,
                frames,
            } => self.resend(session, uuid, from, count, frames, now, sink),
        }
        self.journal_orders(sink);
    }

    /// Hands the router's order-journal records to the sink.
    fn journal_orders(&mut self, sink: &mut impl Sink) {
        let eng = &self.shared.engines[self.engine];
        journal_orders(&mut self.router, &self.globals, eng, sink);
    }

    /// Applies a changed kill switch (one atomic load when nothing changed): blocks the
    /// scopes in the router and starts the sweeps that cancel their open orders.
    fn check_kill(&mut self) {
        let gen = self.shared.kill_gen.load(Ordering::Acquire);
        if gen == self.kill_seen {
            return;
        }
        self.kill_seen = gen;
        let shared = &self.shared;
        let (ilink, strategies) = (&self.ilink, &self.strategies);
        self.router.set_kill(
            shared.kill_all.load(Ordering::Acquire),
            |e| {
                ilink.get(e).is_some_and(|s| {
                    shared.sessions[s.global.get()]
                        .killed
                        .load(Ordering::Acquire)
                })
            },
            |si| {
                strategies.get(si).is_some_and(|s| {
                    shared.strategies[s.global.get()]
                        .killed
                        .load(Ordering::Acquire)
                })
            },
        );
    }

    /// A strategy is gone: its open orders are cancelled (when `cancel_on_exit`) by the
    /// sweep that [`Core::sweep`] runs.
    pub fn strategy_died(&mut self, s: LocalStrategyIdx, sink: &mut impl Sink) {
        let n = self.router.strategy_died(s.get());
        let global = self.strategies.get(s.get()).map_or(0, |x| x.global.get());
        sink.log(LogEvent::CancelOnExit {
            strategy: global,
            orders: n,
        });
    }

    /// Housekeeping's answer to a new UUID: durable → the Negotiate leaves; not → the
    /// connection goes (a UUID the store does not hold is never negotiated).
    fn uuid_persisted(
        &mut self,
        i: usize,
        uuid: u64,
        result: Result<(), Note>,
        now: Now,
        sink: &mut impl Sink,
    ) {
        let Some(s) = self.ilink.get_mut(i) else {
            return;
        };
        let global = s.global.get();
        match result {
            Ok(()) => {
                s.session.set_outbound_limit(clamp_u32(s.handle.reserved()));
                let sent = s.session.uuid_persisted(now, uuid, true);
                let previous = s.session.stored_state().previous_uuid;
                self.shared.sessions[global]
                    .uuid
                    .store(uuid, Ordering::Release);
                sink.log(LogEvent::NewUuid {
                    session: global,
                    uuid,
                    previous,
                });
                if let Err(e) = sent {
                    sink.log(LogEvent::SendFailed {
                        session: global,
                        why: note(format_args!("Negotiate not sent: {e}")),
                    });
                    s.link.close_soon(now);
                }
            }
            Err(why) => {
                let _ = s.session.uuid_persisted(now, uuid, false);
                sink.log(LogEvent::UuidNotPersisted {
                    session: global,
                    uuid,
                    why,
                });
            }
        }
    }

    /// NotApplied with the resend policy, continued: housekeeping read the journal. Resends
    /// what was found, unchanged; owners of the rest (not journaled yet, or the session left
    /// that UUID) are told their requests were not applied.
    #[allow(clippy::too_many_arguments)]
    fn resend(
        &mut self,
        i: usize,
        uuid: u64,
        from: u32,
        count: u32,
        frames: Result<Vec<JournaledMessage>, Note>,
        now: Now,
        sink: &mut impl Sink,
    ) {
        let Some(s) = self.ilink.get_mut(i) else {
            return;
        };
        let live =
            s.session.state() == FixpState::Established && s.session.stored_state().uuid == uuid;
        let frames = match frames {
            Ok(f) if live => f,
            Ok(_) => Vec::new(),
            Err(why) => {
                sink.log(LogEvent::SendFailed {
                    session: s.global.get(),
                    why,
                });
                Vec::new()
            }
        };
        let (lat, global) = (s.lat, s.global.get());
        let mut next = from;
        let mut told = 0;
        for f in &frames {
            let seq = u32::try_from(f.seq).unwrap_or(u32::MAX);
            if seq < next {
                continue;
            }
            if seq > next {
                told += not_applied(&mut self.router, sink, lat, i, next, seq - next);
            }
            if self.ilink[i]
                .session
                .resend_business(now, &f.bytes)
                .is_err()
            {
                told += not_applied(&mut self.router, sink, lat, i, seq, 1);
            }
            next = seq.saturating_add(1);
        }
        let end = from.saturating_add(count);
        if next < end {
            told += not_applied(&mut self.router, sink, lat, i, next, end - next);
        }
        sink.log(LogEvent::NotApplied {
            session: global,
            from,
            count,
            owners_told: told,
            resend: true,
        });
    }

    // ---- connection events ------------------------------------------------------------

    /// The TCP connect completed: log on (or, while draining, close at once).
    pub fn on_connected(&mut self, peer: Peer, now: Now, sink: &mut impl Sink) {
        let running = self.running();
        match peer {
            Peer::Ilink(i) => {
                let i = i.get();
                let Some(s) = self.ilink.get_mut(i) else {
                    return;
                };
                if !connected(&mut s.link, now, running, s.global.get(), sink) {
                    return;
                }
                let t0 = sink.stamp();
                let r = s.session.connect(now, ConnectMode::Auto);
                let t1 = sink.stamp();
                sink.span(s.lat, Hop::HmacSign, t0, t1);
                match r {
                    Ok(()) => {}
                    // The session's own count of bad logons: the policy holds the next
                    // connection back (the alert event says until when).
                    Err(SessionError::LogonThrottled { .. }) => s.link.close_soon(now),
                    Err(e) => {
                        sink.log(LogEvent::SendFailed {
                            session: s.global.get(),
                            why: note(format_args!("logon not sent: {e}")),
                        });
                        s.link.close_soon(now);
                    }
                }
                self.ilink_events(i, now, sink);
            }
            Peer::DropCopy(d) => {
                let lat = self.dc_latency_slot(d);
                let Some(x) = self.dc.get_mut(d.get()) else {
                    return;
                };
                if !connected(&mut x.link, now, running, x.global.get(), sink) {
                    return;
                }
                let t0 = sink.stamp();
                let r = x.session.connect(now);
                let t1 = sink.stamp();
                sink.span(lat, Hop::HmacSign, t0, t1);
                match r {
                    Ok(()) => {}
                    Err(DcSessionError::LogonThrottled { retry_at, .. }) => {
                        x.link.policy.on_session_throttled(Nanos(retry_at));
                        x.link.close_soon(now);
                    }
                    Err(e) => {
                        sink.log(LogEvent::SendFailed {
                            session: x.global.get(),
                            why: note(format_args!("logon not sent: {e}")),
                        });
                        x.link.close_soon(now);
                    }
                }
            }
        }
    }

    /// Bytes received on a connection (`rx`: when they arrived, latency clock).
    pub fn on_data(&mut self, peer: Peer, bytes: &[u8], rx: Stamp, now: Now, sink: &mut impl Sink) {
        match peer {
            Peer::Ilink(i) => {
                let i = i.get();
                let Some(s) = self.ilink.get_mut(i) else {
                    return;
                };
                if !s.rx_stamp.is_set() {
                    s.rx_stamp = rx;
                }
                s.session.handle_input(now, bytes);
                self.ilink_events(i, now, sink);
            }
            Peer::DropCopy(d) => {
                let Some(x) = self.dc.get_mut(d.get()) else {
                    return;
                };
                x.session.handle_input(now, bytes);
                dc_events(&self.shared, x, now, sink);
            }
        }
    }

    /// The connection is gone (either side closed it, or an error): schedule the reconnect.
    pub fn on_closed(&mut self, peer: Peer, reason: CloseReason, now: Now, sink: &mut impl Sink) {
        let running = self.running();
        let errno = match reason {
            CloseReason::PeerClosed => None,
            CloseReason::Error(e) => Some(errno_of(&e)),
        };
        let (link, global) = match peer {
            Peer::Ilink(i) => {
                let Some(s) = self.ilink.get_mut(i.get()) else {
                    return;
                };
                s.session.on_disconnected();
                (&mut s.link, s.global.get())
            }
            Peer::DropCopy(d) => {
                let Some(x) = self.dc.get_mut(d.get()) else {
                    return;
                };
                x.session.connection_lost();
                (&mut x.link, x.global.get())
            }
        };
        let sh = &self.shared.sessions[global];
        link.closed(now, running, global, errno, sh, sink);
        if let Peer::Ilink(i) = peer {
            self.publish_ilink_state(i.get(), sink);
        }
    }

    /// A connect attempt failed: the next one is scheduled (to the other address when there
    /// is a backup).
    pub fn on_connect_failed(
        &mut self,
        peer: Peer,
        e: &std::io::Error,
        now: Now,
        sink: &mut impl Sink,
    ) {
        let (link, global) = match peer {
            Peer::Ilink(i) => match self.ilink.get_mut(i.get()) {
                Some(s) => (&mut s.link, s.global.get()),
                None => return,
            },
            Peer::DropCopy(d) => match self.dc.get_mut(d.get()) {
                Some(x) => (&mut x.link, x.global.get()),
                None => return,
            },
        };
        link.forget();
        let (at, say) = link.policy.on_closed(now);
        match say {
            Some(say) => sink.log(LogEvent::LogonPolicy {
                session: global,
                say,
            }),
            None => sink.log(LogEvent::ConnectFailed {
                session: global,
                addr: link.addr,
                errno: errno_of(e),
                retry_in_ms: at.0.saturating_sub(now.mono.0) / 1_000_000,
            }),
        }
        if let Peer::Ilink(i) = peer {
            self.publish_ilink_state(i.get(), sink);
        }
    }

    // ---- per pass -----------------------------------------------------------------------

    /// Drains every session's events and flushes what it has to send. Returns whether there
    /// was work.
    pub fn service(&mut self, now: Now, sink: &mut impl Sink, wire: &mut impl Wire) -> bool {
        let mut work = false;
        for i in 0..self.ilink.len() {
            work |= self.ilink_events(i, now, sink);
            let s = &mut self.ilink[i];
            let peer = Peer::Ilink(LocalSessionIdx::new(i));
            let bytes = s.session.poll_transmit();
            if s.link.up {
                match wire.send(peer, bytes) {
                    Ok(sent) => work |= sent,
                    Err(why) => {
                        sink.log(LogEvent::SendFailed {
                            session: s.global.get(),
                            why: Note::new(why),
                        });
                        self.drop_ilink(i, now, wire);
                    }
                }
            }
            self.publish_ilink_state(i, sink);
        }
        for d in 0..self.dc.len() {
            let x = &mut self.dc[d];
            work |= dc_events(&self.shared, x, now, sink);
            let peer = Peer::DropCopy(LocalSessionIdx::new(d));
            let bytes = x.session.poll_transmit();
            if x.link.up {
                match wire.send(peer, bytes) {
                    Ok(sent) => work |= sent,
                    Err(why) => {
                        sink.log(LogEvent::SendFailed {
                            session: x.global.get(),
                            why: Note::new(why),
                        });
                        x.link.closing_since = Some(Nanos(0));
                    }
                }
            }
            let st = dc_link_state(x);
            if st != x.published {
                x.published = st;
                self.shared.sessions[x.global.get()].set_state(st);
            }
        }
        work
    }

    /// Closes an iLink 3 connection at once: no reconnect while draining.
    fn drop_ilink(&mut self, i: usize, now: Now, wire: &mut impl Wire) {
        let running = self.running();
        let s = &mut self.ilink[i];
        if s.link.open {
            wire.close(Peer::Ilink(LocalSessionIdx::new(i)));
        }
        s.link.forget();
        s.session.on_disconnected();
        if running {
            let _ = s.link.policy.on_closed(now);
        }
    }

    /// Session timers, lingering closes and due reconnects. Returns whether there was work.
    pub fn timers(&mut self, now: Now, sink: &mut impl Sink, wire: &mut impl Wire) -> bool {
        let running = self.running();
        let mut work = false;
        for i in 0..self.ilink.len() {
            let peer = Peer::Ilink(LocalSessionIdx::new(i));
            let s = &mut self.ilink[i];
            if s.session.next_deadline().is_some_and(|d| now.mono >= d) {
                s.session.handle_timeout(now);
                work = true;
            }
            if s.link.open && s.link.close_if_done(peer, now, wire) {
                s.session.on_disconnected();
                if running {
                    let global = s.global.get();
                    let sh = &self.shared.sessions[global];
                    s.link.closed(now, running, global, None, sh, sink);
                }
                work = true;
            }
            if !s.link.open && running && s.session.week_closed_until(now).is_none() {
                let reconnects = &self.shared.sessions[s.global.get()].reconnects;
                work |= reconnect_if_due(
                    &mut s.link,
                    peer,
                    s.global.get(),
                    now,
                    reconnects,
                    sink,
                    wire,
                );
            }
            if s.parties_due
                && s.link.up
                && s.session.state() == FixpState::Established
                && define_parties(s, &mut self.journal, &self.shared, now, sink)
            {
                work = true;
                self.shared.party_gen.fetch_add(1, Ordering::Release);
                refresh_party_blocks(
                    &mut self.router,
                    &self.strategies,
                    &self.party_of,
                    &self.ilink,
                    Some(i),
                );
            }
            self.publish_ilink_state(i, sink);
        }
        for d in 0..self.dc.len() {
            let peer = Peer::DropCopy(LocalSessionIdx::new(d));
            let x = &mut self.dc[d];
            if x.session.next_deadline().is_some_and(|t| now.mono >= t) {
                x.session.handle_timeout(now);
                work = true;
            }
            if x.link.close_if_done(peer, now, wire) {
                x.session.connection_lost();
                while x.session.poll_event().is_some() {}
                if running {
                    let global = x.global.get();
                    let sh = &self.shared.sessions[global];
                    x.link.closed(now, running, global, None, sh, sink);
                }
                work = true;
            }
            if !x.link.open && x.session.state() == DropCopyState::Disconnected {
                if let Some((key_id, signer)) = x.pending_key.take() {
                    let cfg = x.session.config().clone();
                    let seqs = x.session.seq_nums();
                    let last_activity = x.session.last_activity();
                    match DropCopySession::new(cfg, key_id, signer, seqs) {
                        Ok(mut s) => {
                            s.set_last_activity(last_activity);
                            x.session = s
                        }
                        Err(e) => sink.log(LogEvent::SendFailed {
                            session: x.global.get(),
                            why: note(format_args!("new Drop Copy key not applied: {e}")),
                        }),
                    }
                }
            }
            if !x.link.open && running {
                // The session's own count of invalid Logons (it also counts a connection that
                // ends before CME's Logon): no TCP connection before it would sign again.
                let allowed = x.session.logon_allowed_at(now.mono);
                if allowed > now.mono {
                    x.link.policy.on_session_throttled(allowed);
                }
                let reconnects = &self.shared.sessions[x.global.get()].reconnects;
                work |= reconnect_if_due(
                    &mut x.link,
                    peer,
                    x.global.get(),
                    now,
                    reconnects,
                    sink,
                    wire,
                );
            }
        }
        work
    }

    /// Back-pressure: leave a strategy's requests in its ring while one of its sessions cannot
    /// take a full batch (durable sequence numbers running out, send buffer full). Also raises
    /// the sessions' outbound limits to the store's reservation.
    pub fn strategy_blocked(&mut self, st: LocalStrategyIdx, wire: &impl Wire) -> bool {
        let Some(strategy) = self.strategies.get(st.get()) else {
            return true;
        };
        if strategy.faulted {
            return true;
        }
        let blocked = strategy.sessions.iter().any(|&e| {
            self.ilink.get(e.get()).is_some_and(|s| {
                s.session.state() == FixpState::Established
                    && (!wire.can_send(Peer::Ilink(e))
                        || s.handle.headroom() < POLL_BUDGET as u64 + SWEEP_BUDGET as u64)
            })
        });
        if !blocked {
            for s in &mut self.ilink {
                s.session.set_outbound_limit(clamp_u32(s.handle.reserved()));
            }
        }
        blocked
    }

    /// One request from a strategy's ring (`deq`: when it was taken, latency clock).
    pub fn on_request(
        &mut self,
        si: LocalStrategyIdx,
        r: Result<Request, RecordError>,
        deq: Stamp,
        now: Now,
        sink: &mut impl Sink,
        wire: &mut impl Wire,
    ) {
        let Some(strategy) = self.strategies.get(si.get()) else {
            return;
        };
        let global = strategy.global.get();
        if self.shared.kill_gen.load(Ordering::Acquire) != self.kill_seen {
            self.check_kill();
        }
        let Some(strategy) = self.strategies.get(si.get()) else {
            return;
        };
        let counters = &self.shared.strategies[global];
        counters.orders_in.fetch_add(1, Ordering::Relaxed);
        match r {
            Ok(req) => {
                let ilink = &self.ilink;
                let routed = self.router.on_request(si.get(), &req, now.mono.0, |e| {
                    ilink
                        .get(e)
                        .is_some_and(|s| s.link.up && s.session.state() == FixpState::Established)
                });
                // Matched by reference: the outbound order is read where the router wrote it
                // (moving it out of the enum was a 160-byte copy per order).
                match &routed {
                    &Routed::Reply(ev) => {
                        counters.risk_rejects.fetch_add(1, Ordering::Relaxed);
                        if ev.reason == Some(RejectReason::MessagingControl) {
                            let kind = match req.body {
                                RequestBody::Cancel { .. } | RequestBody::MassCancel { .. } => 0,
                                _ => 1,
                            };
                            if let Some(c) = strategy
                                .sessions
                                .get(usize::from(ev.session))
                                .and_then(|e| self.ilink.get(e.get()))
                                .and_then(|s| self.shared.sessions.get(s.global.get()))
                                .and_then(|sh| sh.messaging_control_rejects.get(kind))
                            {
                                c.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        let lat = strategy
                            .sessions
                            .get(usize::from(ev.session))
                            .map_or(LatencySlot::default(), |e| LatencySlot::new(e.get()));
                        sink.publish(si, ev, Stamp::NONE, lat);
                    }
                    Routed::Send(out) => self.send_out(out, deq, now, sink, wire),
                }
            }
            Err(e) => {
                counters.risk_rejects.fetch_add(1, Ordering::Relaxed);
                match e.reject_event(now.wall.0) {
                    Some(ev) => sink.publish(si, ev, Stamp::NONE, LatencySlot::default()),
                    None => {
                        self.strategies[si.get()].faulted = true;
                        sink.log(LogEvent::StrategyFaulted {
                            strategy: global,
                            why: note(format_args!("{e}")),
                        });
                        self.strategy_died(si, sink);
                    }
                }
            }
        }
    }

    /// Cancels of mass-cancel and cancel-on-exit sweeps, at most a budget per strategy.
    pub fn sweep(&mut self, now: Now, sink: &mut impl Sink, wire: &mut impl Wire) -> bool {
        self.check_kill();
        let mut work = self.restart_requests(now, sink, wire);
        let gen = self.shared.party_list_gen.load(Ordering::Acquire);
        if gen != self.party_list_seen {
            self.party_list_seen = gen;
            work |= self.list_parties(now, sink);
        }
        for si in 0..self.strategies.len() {
            if !self.router.sweeping(si) {
                continue;
            }
            for _ in 0..SWEEP_BUDGET {
                let deq = sink.stamp();
                let ilink = &self.ilink;
                let out = self.router.poll_sweep(si, 4096, now.mono.0, |e| {
                    ilink.get(e).is_some_and(|s| {
                        s.link.up
                            && wire.can_send(Peer::Ilink(LocalSessionIdx::new(e)))
                            && s.session.state() == FixpState::Established
                            && s.handle.headroom() > 0
                    })
                });
                match out {
                    Some(out) => {
                        work = true;
                        self.send_out(&out, deq, now, sink, wire);
                    }
                    None => break,
                }
            }
        }
        work
    }

    /// The `on_restart` request of each session established for the first time in this run:
    /// one OrderMassStatusRequest (`recover`) or the mass cancels covering the session
    /// (`cancel`). Returns whether any went out.
    fn restart_requests(&mut self, now: Now, sink: &mut impl Sink, wire: &mut impl Wire) -> bool {
        let mut work = false;
        for i in 0..self.ilink.len() {
            let peer = Peer::Ilink(LocalSessionIdx::new(i));
            let Some(s) = self.ilink.get_mut(i) else {
                continue;
            };
            if !s.restart_due
                || !s.link.up
                || s.session.state() != FixpState::Established
                || !wire.can_send(peer)
            {
                continue;
            }
            s.restart_due = false;
            s.restart_done = true;
            work = true;
            let global = s.global.get();
            let restored = self.router.restored_open_on(i);
            let deq = sink.stamp();
            match s.on_restart {
                OnRestart::Recover => {
                    let out = self.router.mass_status_request(i);
                    self.router.mass_status_begin(i);
                    s.mass_status = Some(out.order_request_id);
                    s.mass_outcome = MassStatusOutcome::default();
                    self.send_out(&out, deq, now, sink, wire);
                    sink.log(LogEvent::RestartAction {
                        session: global,
                        action: OnRestart::Recover,
                        requests: 1,
                        restored,
                    });
                }
                OnRestart::Cancel => {
                    let mut cursor = 0;
                    let mut requests = 0;
                    while let Some(out) = self.router.restart_mass_cancel(i, &mut cursor) {
                        self.send_out(&out, deq, now, sink, wire);
                        requests += 1;
                    }
                    sink.log(LogEvent::RestartAction {
                        session: global,
                        action: OnRestart::Cancel,
                        requests,
                        restored,
                    });
                }
            }
        }
        work
    }

    /// Encodes and sends one routed message; on failure the router undoes it and the strategy
    /// gets a reject.
    fn send_out(
        &mut self,
        out: &Outbound,
        deq: Stamp,
        now: Now,
        sink: &mut impl Sink,
        wire: &mut impl Wire,
    ) {
        let e = out.session;
        let peer = Peer::Ilink(LocalSessionIdx::new(e));
        let slot = self
            .party_of
            .get(out.strategy * self.ilink.len() + e)
            .copied()
            .unwrap_or(NO_PARTY);
        let Some(s) = self.ilink.get_mut(e) else {
            return;
        };
        let global = s.global.get();
        let result = if !s.link.up || !wire.can_send(peer) {
            Err((RejectReason::SessionDown, "session cannot send now"))
        } else {
            let firm = match s.parties.get(usize::from(slot)) {
                Some(p) => &p.spec.firm,
                None => &s.firm,
            };
            let jr = &mut self.journal;
            s.session
                .send_business(now, |seq, uuid, buf| {
                    let n = wire::encode(out, firm, seq, now.wall.0, buf)?;
                    jr.capture(buf.get(..n).unwrap_or_default(), seq, uuid);
                    Ok(n)
                })
                .map_err(|err| match err {
                    SessionError::NotEstablished(_) => {
                        (RejectReason::SessionDown, "session not established")
                    }
                    SessionError::SequenceNotDurable { .. } => {
                        (RejectReason::Throttled, "sequence reservation exhausted")
                    }
                    SessionError::TransmitFull => (RejectReason::Throttled, "transmit buffer full"),
                    _ => (RejectReason::Malformed, "encoding failed"),
                })
        };
        let seq = match result {
            Ok(seq) => seq,
            Err((reason, text)) => {
                let ev = self.router.send_failed(out, reason, text);
                self.journal_orders(sink);
                if out.strategy != router::DAEMON {
                    sink.publish(
                        LocalStrategyIdx::new(out.strategy),
                        ev,
                        Stamp::NONE,
                        LatencySlot::new(e),
                    );
                }
                return;
            }
        };
        let encoded = sink.stamp();
        let s = &mut self.ilink[e];
        sync_outbound(&mut s.session, &s.handle, global, seq, sink);
        let bytes = s.session.poll_transmit();
        if let Err(why) = wire.send(peer, bytes) {
            sink.log(LogEvent::SendFailed {
                session: global,
                why: Note::new(why),
            });
            self.drop_ilink(e, now, wire);
        }
        let submitted = sink.stamp();
        self.router.sent(out, seq, submitted);
        self.journal_orders(sink);
        let lat = self.ilink[e].lat;
        if out.enqueue_ns != 0 {
            let deq_unix = sink.stamp_wall_ns(deq);
            sink.hop(
                lat,
                Hop::RequestRing,
                deq_unix.saturating_sub(out.enqueue_ns),
            );
            let sub_unix = sink.stamp_wall_ns(submitted);
            sink.hop(lat, Hop::OrderPath, sub_unix.saturating_sub(out.enqueue_ns));
        }
        sink.span(lat, Hop::RiskEncode, deq, encoded);
        sink.span(lat, Hop::Submit, encoded, submitted);
        self.journal.session = global as u16;
        sink.journal(&self.journal);
        // Strategies' order requests only (not the daemon's own mass status or restart mass
        // cancels, nor status requests).
        if out.strategy != router::DAEMON && out.kind != router::OutKind::OrderStatus {
            self.shared.sessions[global]
                .orders_sent
                .fetch_add(1, Ordering::Relaxed);
            self.eng().orders_sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A strategy (re)attached: it learns the state of its sessions at once.
    pub fn strategy_attached(&mut self, si: LocalStrategyIdx, faulted: bool, sink: &mut impl Sink) {
        let Some(st) = self.strategies.get_mut(si.get()) else {
            return;
        };
        st.faulted = faulted;
        for (ss, e) in st.sessions.iter().enumerate() {
            let state = self.ilink.get(e.get()).map_or(LinkStatus::Down, |s| s.told);
            let ev = Event {
                session: ss as u16,
                session_state: state,
                ..Event::new(EventKind::SessionState)
            };
            sink.publish(si, ev, Stamp::NONE, LatencySlot::new(e.get()));
        }
        // Orders it owned before a restart, one `Recovered` event each.
        let global = st.global.get();
        let n = self.router.recovered(si.get(), &mut |r: &Reply| {
            sink.publish(
                LocalStrategyIdx::new(r.strategy),
                r.event,
                Stamp::NONE,
                LatencySlot::default(),
            )
        });
        if n > 0 {
            sink.log(LogEvent::OrdersRecovered {
                strategy: global,
                orders: n,
            });
        }
    }

    /// Publishes sequence numbers and UUIDs for status (every few milliseconds).
    pub fn publish_progress(&self) {
        for d in &self.dc {
            let sh = &self.shared.sessions[d.global.get()];
            let seqs = d.session.seq_nums();
            sh.next_out.store(seqs.next_out, Ordering::Release);
            sh.next_in.store(seqs.next_in, Ordering::Release);
        }
        for s in &self.ilink {
            self.shared.sessions[s.global.get()]
                .uuid
                .store(s.session.stored_state().uuid, Ordering::Release);
        }
    }

    /// Shutdown: refuse new orders, Terminate every iLink 3 session (code 0), Logout every
    /// Drop Copy session; connections without a session close.
    pub fn start_drain(&mut self, now: Now, sink: &mut impl Sink) {
        if self.draining_since.is_some() {
            return;
        }
        self.draining_since = Some(now.mono);
        self.router.shut_down();
        sink.log(LogEvent::Draining {
            engine: self.engine,
        });
        for s in &mut self.ilink {
            match s.session.state() {
                FixpState::Idle => s.link.close_soon(now),
                _ => {
                    let _ = s.session.terminate(now, 0);
                }
            }
        }
        for d in &mut self.dc {
            match d.session.state() {
                DropCopyState::Active | DropCopyState::LogonSent => {
                    let _ = d.session.logout(now, "ilinkd shutting down");
                }
                DropCopyState::LogoutSent => {}
                DropCopyState::Disconnected => d.link.close_soon(now),
            }
        }
    }

    /// Whether the drain started.
    pub fn draining(&self) -> bool {
        self.draining_since.is_some()
    }

    /// The engine stops: every connection's final state for status.
    pub fn finish(&mut self, wire: &mut impl Wire) {
        for si in 0..self.strategies.len() {
            let g = self.strategies[si].global.get();
            self.shared.strategies[g]
                .open_orders
                .store(u64::from(self.router.open_orders(si)), Ordering::Relaxed);
        }
        for i in 0..self.ilink.len() {
            if self.ilink[i].link.open {
                wire.close(Peer::Ilink(LocalSessionIdx::new(i)));
                self.ilink[i].link.forget();
            }
            self.shared.sessions[self.ilink[i].global.get()].set_state(LinkState::Stopped);
        }
        for d in 0..self.dc.len() {
            if self.dc[d].link.open {
                wire.close(Peer::DropCopy(LocalSessionIdx::new(d)));
                self.dc[d].link.forget();
            }
            let x = &self.dc[d];
            let sh = &self.shared.sessions[x.global.get()];
            let seqs = x.session.seq_nums();
            sh.next_out.store(seqs.next_out, Ordering::Release);
            sh.next_in.store(seqs.next_in, Ordering::Release);
            sh.set_state(LinkState::Stopped);
        }
    }

    // ---- iLink 3 events -----------------------------------------------------------------

    fn ilink_link_state(&self, i: usize) -> LinkState {
        let s = &self.ilink[i];
        if !s.link.open {
            return LinkState::Down;
        }
        if !s.link.up {
            return LinkState::Connecting;
        }
        match s.session.state() {
            FixpState::Idle => {
                if s.link.closing_since.is_some() {
                    LinkState::Closing
                } else {
                    LinkState::LoggingOn
                }
            }
            FixpState::PersistingUuid | FixpState::Negotiating | FixpState::Establishing => {
                LinkState::LoggingOn
            }
            FixpState::Established => LinkState::Up,
            FixpState::Terminating => LinkState::Closing,
        }
    }

    fn publish_ilink_state(&mut self, i: usize, sink: &mut impl Sink) {
        let st = self.ilink_link_state(i);
        if st == self.ilink[i].published {
            return;
        }
        self.ilink[i].published = st;
        let global = self.ilink[i].global.get();
        self.shared.sessions[global].set_state(st);
        let told = to_strategy_state(st);
        if told == self.ilink[i].told {
            return;
        }
        self.ilink[i].told = told;
        let lat = self.ilink[i].lat;
        for (si, strategy) in self.strategies.iter().enumerate() {
            let Some(ss) = strategy.sessions.iter().position(|e| e.get() == i) else {
                continue;
            };
            let ev = Event {
                session: ss as u16,
                session_state: told,
                ..Event::new(EventKind::SessionState)
            };
            sink.publish(LocalStrategyIdx::new(si), ev, Stamp::NONE, lat);
        }
    }

    /// Drains one iLink 3 session's events. Returns whether there were any.
    fn ilink_events(&mut self, i: usize, now: Now, sink: &mut impl Sink) -> bool {
        let mut work = false;
        let Core {
            ilink,
            router,
            shared,
            strategies,
            globals,
            engine,
            journal,
            party_of,
            ..
        } = self;
        let eng = &shared.engines[*engine];
        let Some(s) = ilink.get_mut(i) else {
            return false;
        };
        let global = s.global.get();
        let mut parties_changed = false;
        // `response_publish` runs per message: the first of a chunk from its arrival, each
        // further one from the previous message's publication.
        let mut publish_from = s.rx_stamp;
        while let Some(ev) = s.session.poll_event() {
            work = true;
            match ev {
                FixpEvent::NewUuid {
                    uuid,
                    previous_uuid,
                } => {
                    // Housekeeping writes it (fsync) and answers; the Negotiate waits for that.
                    let previous_next_inbound = match s.session.pending_new_uuid() {
                        Some((u, _, next)) if u == uuid => next,
                        _ => 0,
                    };
                    let req = StoreReq::NewUuid {
                        session: global as u16,
                        local: i as u16,
                        uuid,
                        previous_uuid,
                        previous_next_inbound,
                    };
                    if !sink.store(req) {
                        sink.log(LogEvent::UuidNotPersisted {
                            session: global,
                            uuid,
                            why: Note::new("store queue full"),
                        });
                        let _ = s.session.uuid_persisted(now, uuid, false);
                    }
                }
                FixpEvent::Negotiated {
                    uuid,
                    secret_key_expiration_days,
                } => {
                    if let Some(d) = secret_key_expiration_days {
                        shared.sessions[global]
                            .exchange_key_days
                            .store(i64::from(d), Ordering::Relaxed);
                    }
                    sink.log(LogEvent::Negotiated {
                        session: global,
                        uuid,
                        key_days: secret_key_expiration_days,
                    });
                }
                FixpEvent::Established {
                    uuid,
                    next_inbound_seq,
                    keepalive_ms,
                } => {
                    s.link.logged_on(&shared.sessions[global]);
                    shared.sessions[global].uuid.store(uuid, Ordering::Release);
                    // Once per run, and again when the connection went before the mass
                    // status was answered in full.
                    if !s.restart_done || s.mass_status.is_some() {
                        s.restart_due = true;
                    }
                    let next_out = s.session.stored_state().next_outbound_seq;
                    sink.log(LogEvent::Established {
                        session: global,
                        uuid,
                        next_in: next_inbound_seq,
                        next_out,
                        keepalive_ms,
                    });
                    // Party details before any order naming them (CME: once per week, i.e.
                    // per UUID; again while no accepting 519 came).
                    parties_changed |= define_parties(s, journal, shared, now, sink);
                }
                FixpEvent::Rejected {
                    stage,
                    code,
                    name,
                    reason,
                } => {
                    let r = Refusal {
                        what: match stage {
                            Stage::Negotiate => "Negotiate",
                            Stage::Establish => "Establish",
                        },
                        code: Some(code),
                        name: Note::new(name),
                        retry: RejectCode::retry_of(code),
                    };
                    if s.link.refused(now, r, true, &shared.sessions[global]) {
                        sink.log(LogEvent::LogonRejected {
                            session: global,
                            stage,
                            code,
                            name,
                            reason,
                        });
                    }
                }
                FixpEvent::Terminated {
                    code,
                    name,
                    by_exchange,
                    reason,
                } => {
                    // Before EstablishmentAck a Terminate from CME refuses the logon (a bad
                    // logon); after it only a permanent code changes the reconnect pace.
                    let retry = TerminateCode::retry_of(code);
                    let bad_logon = by_exchange && !s.link.logged_on;
                    let say = if bad_logon || (by_exchange && retry == Retry::Permanent) {
                        let r = Refusal {
                            what: "Terminate",
                            code: Some(code),
                            name: Note::new(name),
                            retry,
                        };
                        s.link.refused(now, r, bad_logon, &shared.sessions[global])
                    } else {
                        true
                    };
                    if say {
                        sink.log(LogEvent::Terminated {
                            session: global,
                            code,
                            name,
                            by_exchange,
                            reason,
                        });
                    }
                }
                FixpEvent::Business(b) => {
                    shared.sessions[global]
                        .events_received
                        .fetch_add(1, Ordering::Relaxed);
                    let (rx, lat) = (s.rx_stamp, s.lat);
                    let frame = s.session.business_frame(&b);
                    // Unhandled templates and undecodable frames are counted (housekeeping logs
                    // the first of each and exports them), never dropped silently.
                    let inbound = &shared.sessions[global].inbound;
                    match decode(frame) {
                        Ok(m) => {
                            if !router::acts_on(m.template_id()) && !party::acts_on(m.template_id())
                            {
                                inbound.count_unhandled(m.template_id());
                            }
                            let uuid = s.session.stored_state().uuid;
                            parties_changed |=
                                party_answer(&mut s.parties, global, uuid, &m, shared, now, sink);
                            if let Some(c) = ExecCopy::of(&m, global as u16, now.wall.0) {
                                sink.exec_copy(&c);
                            }
                            let from = publish_from;
                            let mut publish = |r: &Reply| {
                                if r.strategy == router::DAEMON {
                                    return;
                                }
                                if let Some(sub) = r.submitted.filter(|s| s.is_set()) {
                                    if rx.is_set() {
                                        sink.span(lat, Hop::ExchangeRtt, sub, rx);
                                    }
                                }
                                sink.publish(LocalStrategyIdx::new(r.strategy), r.event, from, lat);
                            };
                            match &m {
                                Message::ExecutionReportStatus(r)
                                    if s.mass_status.is_some()
                                        && r.mass_status_req_id() == s.mass_status =>
                                {
                                    let last = router.mass_status_report(
                                        i,
                                        r.cl_ord_id().as_bytes(),
                                        r.order_id(),
                                        (r.ord_status(), r.cum_qty(), r.leaves_qty()),
                                        r.last_rpt_requested() == Some(1),
                                        &mut s.mass_outcome,
                                        &mut publish,
                                    );
                                    if last {
                                        s.mass_status = None;
                                        let o = s.mass_outcome;
                                        shared.sessions[global]
                                            .restart_unknown_orders
                                            .fetch_add(u64::from(o.unknown), Ordering::Relaxed);
                                        sink.log(LogEvent::MassStatusReconciled {
                                            session: global,
                                            outcome: o,
                                        });
                                    }
                                }
                                _ => router.on_message(i, &m, &mut publish),
                            }
                            journal_orders(router, globals, eng, sink);
                        }
                        Err(_) => inbound.count_decode_error(b.template_id),
                    }
                    if publish_from.is_set() {
                        publish_from = sink.stamp();
                    }
                }
                FixpEvent::RetransmitRequested {
                    from_seq, count, ..
                } => sink.log(LogEvent::RetransmitRequested {
                    session: global,
                    from: from_seq,
                    count,
                }),
                FixpEvent::RetransmitRejected { code, name, reason } => {
                    sink.log(LogEvent::RetransmitRejected {
                        session: global,
                        code,
                        name,
                        reason,
                    })
                }
                FixpEvent::MessagesLost {
                    from_seq,
                    count,
                    cause,
                    ..
                } => {
                    shared.sessions[global]
                        .messages_lost
                        .fetch_add(u64::from(count), Ordering::Relaxed);
                    let told = messages_lost(strategies, sink, s.lat, i, from_seq, count);
                    sink.log(LogEvent::MessagesLost {
                        session: global,
                        from: from_seq,
                        count,
                        cause,
                        strategies_told: told,
                    });
                }
                // The Terminated event that follows carries the reason to the log; while the
                // week is closed `timers` does not reconnect.
                FixpEvent::Weekly(_) => {}
                FixpEvent::NotApplied {
                    from_seq,
                    count,
                    action,
                } => match action {
                    NotAppliedAction::GapFilled => {
                        if parties_not_applied(s, from_seq, count, shared) {
                            parties_changed = true;
                        }
                        let told = not_applied(router, sink, s.lat, i, from_seq, count);
                        sink.log(LogEvent::NotApplied {
                            session: global,
                            from: from_seq,
                            count,
                            owners_told: told,
                            resend: false,
                        });
                    }
                    NotAppliedAction::ResendRequired => {
                        // Housekeeping reads the journal; the frames come back as
                        // Control::Resend.
                        let req = StoreReq::ReadOutbound {
                            session: global as u16,
                            local: i as u16,
                            uuid: s.session.stored_state().uuid,
                            from: from_seq,
                            count,
                        };
                        if !sink.store(req) {
                            let told = not_applied(router, sink, s.lat, i, from_seq, count);
                            sink.log(LogEvent::NotApplied {
                                session: global,
                                from: from_seq,
                                count,
                                owners_told: told,
                                resend: false,
                            });
                        }
                    }
                },
                FixpEvent::KeepAliveLapsed => {
                    sink.log(LogEvent::KeepAliveLapsed { session: global })
                }
                FixpEvent::Alert(Alert::LogonThrottled { retry_after_ns, .. }) => {
                    // Said by the policy when the connection closes (with a wall-clock time).
                    s.link.policy.on_session_throttled(Nanos(retry_after_ns));
                }
                FixpEvent::Alert(alert) => sink.log(LogEvent::Alert {
                    session: global,
                    alert,
                }),
                FixpEvent::Disconnect(reason) => {
                    if reason == DisconnectReason::LogonTimeout {
                        let r = Refusal {
                            what: "logon",
                            code: None,
                            name: Note::new("no answer to Negotiate/Establish after a retry"),
                            retry: Retry::Transient,
                        };
                        s.link.refused(now, r, true, &shared.sessions[global]);
                    }
                    let refused = matches!(
                        reason,
                        DisconnectReason::Rejected | DisconnectReason::Terminated
                    ) && !s.link.logged_on;
                    if !s.link.policy.quiet() && !refused {
                        sink.log(LogEvent::Disconnect {
                            session: global,
                            reason,
                        });
                    }
                    s.link.close_soon(now);
                }
            }
        }
        s.handle
            .set_next_inbound(u64::from(s.session.stored_state().next_inbound_seq));
        s.rx_stamp = Stamp::NONE;
        journal_orders(router, globals, eng, sink);
        if parties_changed {
            refresh_party_blocks(router, strategies, party_of, ilink, Some(i));
            shared.party_gen.fetch_add(1, Ordering::Release);
        }
        work
    }

    /// `ilinkd status --parties`: a PartyDetailsListRequest (537) for the firm on every
    /// established session with parties; the 538s mark the ids CME lists. Returns whether one
    /// was sent.
    fn list_parties(&mut self, now: Now, sink: &mut impl Sink) -> bool {
        let mut sent = false;
        for s in &mut self.ilink {
            if s.parties.is_empty() || !s.link.up || s.session.state() != FixpState::Established {
                continue;
            }
            let global = s.global.get();
            // The Firm ID (at most 5 bytes) copied out of the session's config, no allocation.
            let mut firm = [0u8; 8];
            let id = s.session.config().firm_id.as_bytes();
            let n = id.len().min(firm.len());
            if let (Some(dst), Some(src)) = (firm.get_mut(..n), id.get(..n)) {
                dst.copy_from_slice(src);
            }
            let firm = std::str::from_utf8(firm.get(..n).unwrap_or_default()).unwrap_or_default();
            let r = send_admin(
                &mut s.session,
                &s.handle,
                global,
                &mut self.journal,
                now,
                sink,
                |seq, buf| party::encode_list_request(now.wall.0, firm, seq, now.wall.0, buf),
            );
            sent |= r.is_ok();
            if let Err(e) = r {
                sink.log(LogEvent::SendFailed {
                    session: global,
                    why: note(format_args!("PartyDetailsListRequest (537) not sent: {e}")),
                });
            }
        }
        sent
    }

    /// Registration state of party `p` of engine session `i` (tests, status).
    pub fn party_state(&self, i: LocalSessionIdx, p: usize) -> Option<PartyState> {
        self.ilink
            .get(i.get())
            .and_then(|s| s.parties.get(p))
            .map(|p| p.state)
    }
}

/// Tells the router, for every strategy whose orders name a party on engine session `only`
/// (every session when `None`), whether they may go and, if not, why.
fn refresh_party_blocks(
    router: &mut Router,
    strategies: &[Strategy],
    party_of: &[u16],
    ilink: &[Ilink],
    only: Option<usize>,
) {
    let n = ilink.len();
    for (si, st) in strategies.iter().enumerate() {
        for (ss, e) in st.sessions.iter().enumerate() {
            let e = e.get();
            if only.is_some_and(|o| o != e) {
                continue;
            }
            let slot = party_of.get(si * n + e).copied().unwrap_or(NO_PARTY);
            let Some(p) = ilink.get(e).and_then(|s| s.parties.get(usize::from(slot))) else {
                continue;
            };
            let why = (!p.state.usable()).then(|| {
                let mut t = crate::shm::strategy::Text::default();
                let state = match p.state {
                    PartyState::Pending => "awaiting 519",
                    PartyState::Rejected => "refused by CME",
                    _ => "not registered",
                };
                let _ = write!(t, "party {} {state}", p.spec.name);
                t
            });
            router.set_party_block(si, ss, why);
        }
    }
}

/// Sends a PartyDetailsDefinitionRequest (518) for every on-demand party of `s` not accepted
/// under the session's current UUID (journaled like any business message). Returns whether a
/// party's state changed.
fn define_parties(
    s: &mut Ilink,
    jr: &mut JournalRec,
    shared: &DaemonShared,
    now: Now,
    sink: &mut impl Sink,
) -> bool {
    let global = s.global.get();
    let uuid = s.session.stored_state().uuid;
    let published = shared.sessions.get(global).map(|x| &x.parties);
    let mut changed = false;
    s.parties_due = false;
    for pi in 0..s.parties.len() {
        let Some(p) = s.parties.get_mut(pi) else {
            continue;
        };
        if !p.needs_definition(uuid) {
            continue;
        }
        changed = true;
        let spec = &p.spec;
        let r = send_admin(
            &mut s.session,
            &s.handle,
            global,
            jr,
            now,
            sink,
            |seq, buf| spec.encode_definition(seq, now.wall.0, buf),
        );
        let sh = published.and_then(|x| x.get(pi));
        match r {
            Ok(seq) => {
                p.state = PartyState::Pending;
                p.uuid = uuid;
                p.seq = seq;
                if let Some(sh) = sh {
                    sh.set_state(PartyState::Pending);
                    sh.uuid.store(uuid, Ordering::Relaxed);
                    sh.sent_wall.store(now.wall.0, Ordering::Relaxed);
                }
                sink.log(LogEvent::Party {
                    session: global,
                    party: pi,
                    what: note(format_args!(
                        "PartyDetailsDefinitionRequest (518) id {} sent, seq {seq}",
                        p.spec.id
                    )),
                    refused: false,
                });
            }
            Err(e) => {
                p.state = PartyState::Unregistered;
                s.parties_due = true;
                if let Some(sh) = sh {
                    sh.set_state(PartyState::Unregistered);
                }
                sink.log(LogEvent::Party {
                    session: global,
                    party: pi,
                    what: note(format_args!(
                        "PartyDetailsDefinitionRequest (518) id {} not sent: {e}",
                        p.spec.id
                    )),
                    refused: true,
                });
            }
        }
    }
    changed
}

/// NotApplied answered by a gap fill: pending 518s among `from..from + count` never reached
/// CME; they are sent again from `timers`. Returns whether one was.
fn parties_not_applied(s: &mut Ilink, from: u32, count: u32, shared: &DaemonShared) -> bool {
    let mut any = false;
    for (pi, p) in s.parties.iter_mut().enumerate() {
        if p.not_applied(from, count) {
            any = true;
            if let Some(sh) = shared
                .sessions
                .get(s.global.get())
                .and_then(|x| x.parties.get(pi))
            {
                sh.set_state(PartyState::Unregistered);
            }
        }
    }
    s.parties_due |= any;
    any
}

/// Keeps the store's sequence reservation in step with the session after it sent `seq`: takes
/// the next reserved number (logging a mismatch, which means the two drifted apart) and lets
/// the session send as far as the reservation reaches.
#[inline]
fn sync_outbound(
    session: &mut FixpSession,
    handle: &SeqHandle,
    global: usize,
    seq: u32,
    sink: &mut impl Sink,
) {
    let mismatch = match handle.try_next_outbound() {
        Ok(n) => (n != u64::from(seq)).then_some(n),
        // Past the reservation: the store never handed out this number.
        Err(x) => Some(x.next),
    };
    if let Some(store_seq) = mismatch {
        sink.log(LogEvent::SequenceMismatch {
            session: global,
            session_seq: seq,
            store_seq,
        });
    }
    session.set_outbound_limit(clamp_u32(handle.reserved()));
}

/// Sends an administrative business message (518, 537) written by `enc` on `session`, keeps
/// the store's sequence handle in step and journals it, like an order.
fn send_admin(
    session: &mut FixpSession,
    handle: &SeqHandle,
    global: usize,
    jr: &mut JournalRec,
    now: Now,
    sink: &mut impl Sink,
    enc: impl FnOnce(u32, &mut [u8]) -> Result<usize, crate::ilink3::EncodeError>,
) -> Result<u32, SessionError> {
    let seq = session.send_business(now, |seq, u, buf| {
        let n = enc(seq, buf)?;
        jr.capture(buf.get(..n).unwrap_or_default(), seq, u);
        Ok(n)
    })?;
    sync_outbound(session, handle, global, seq, sink);
    jr.session = global as u16;
    sink.journal(jr);
    Ok(seq)
}

/// A 519, a BusinessReject of a 518 (RefMsgType CX) or a 538 for one of `s`'s parties: its
/// state moves on. Returns whether a party's state changed.
#[allow(clippy::too_many_arguments)]
fn party_answer(
    parties: &mut [Party],
    global: usize,
    uuid: u64,
    m: &crate::ilink3::Message<'_>,
    shared: &DaemonShared,
    now: Now,
    sink: &mut impl Sink,
) -> bool {
    use crate::ilink3::Message;
    let (id, answer) = match m {
        Message::PartyDetailsDefinitionRequestAck(a) => (
            a.party_details_list_req_id(),
            Ok(a.party_detail_request_status()),
        ),
        Message::BusinessReject(r) if r.ref_msg_type().as_bytes() == b"CX" => {
            match r.party_details_list_req_id() {
                Some(id) => (id, Err(r.business_reject_reason())),
                None => return false,
            }
        }
        Message::PartyDetailsListReport(r) => {
            let id = r.party_details_list_req_id();
            for (pi, p) in parties.iter().enumerate() {
                if p.spec.id == id {
                    if let Some(sh) = shared.sessions.get(global).and_then(|x| x.parties.get(pi)) {
                        sh.listed_wall.store(now.wall.0, Ordering::Relaxed);
                    }
                }
            }
            return false;
        }
        _ => return false,
    };
    let mut changed = false;
    for (pi, p) in parties.iter_mut().enumerate() {
        if p.spec.id != id || p.spec.pre_registered {
            continue;
        }
        changed = true;
        let (state, status, what) = match answer {
            Ok(st) if party::accepted(st) => (
                PartyState::Accepted,
                u64::from(st),
                note(format_args!(
                    "PartyDetailsDefinitionRequestAck (519) id {id}: accepted (status {st})"
                )),
            ),
            Ok(st) => (
                PartyState::Rejected,
                u64::from(st),
                note(format_args!(
                    "PartyDetailsDefinitionRequestAck (519) id {id}: refused (status {st}); \
                     orders naming it are refused until a later Establish registers it"
                )),
            ),
            Err(reason) => (
                PartyState::Rejected,
                1000 + u64::from(reason),
                note(format_args!(
                    "PartyDetailsDefinitionRequest (518) id {id}: BusinessReject reason {reason}"
                )),
            ),
        };
        p.state = state;
        p.uuid = uuid;
        if let Some(sh) = shared.sessions.get(global).and_then(|x| x.parties.get(pi)) {
            sh.set_state(state);
            sh.uuid.store(uuid, Ordering::Relaxed);
            sh.answered_wall.store(now.wall.0, Ordering::Relaxed);
            sh.status.store(status, Ordering::Relaxed);
        }
        sink.log(LogEvent::Party {
            session: global,
            party: pi,
            what,
            refused: state != PartyState::Accepted,
        });
    }
    changed
}

/// The TCP connect completed: marks the connection up, resets the reconnect back-off and
/// logs it. Returns whether to log on; while the engine is stopping the connection closes.
fn connected(
    link: &mut Link,
    now: Now,
    running: bool,
    session: usize,
    sink: &mut impl Sink,
) -> bool {
    link.up = true;
    link.policy.on_open();
    if !link.policy.quiet() {
        sink.log(LogEvent::Connected {
            session,
            addr: link.addr,
        });
    }
    if !running {
        link.closing_since = Some(now.mono);
    }
    running
}

/// Starts the scheduled reconnect when it is due; returns whether one was tried.
fn reconnect_if_due(
    link: &mut Link,
    peer: Peer,
    session: usize,
    now: Now,
    reconnects: &std::sync::atomic::AtomicU64,
    sink: &mut impl Sink,
    wire: &mut impl Wire,
) -> bool {
    let Some(addr) = link.policy.poll(now) else {
        return false;
    };
    match wire.connect(peer, addr) {
        Ok(()) => {
            link.open = true;
            link.up = false;
            link.addr = addr;
            reconnects.fetch_add(1, Ordering::Relaxed);
            if !link.policy.quiet() {
                sink.log(LogEvent::Connecting { session, addr });
            }
        }
        Err(e) => {
            let (at, _) = link.policy.on_closed(now);
            let why = note(format_args!(
                "cannot connect to {addr}: {e}; retry in {} ms",
                at.0.saturating_sub(now.mono.0) / 1_000_000
            ));
            sink.log(LogEvent::SendFailed { session, why });
        }
    }
    true
}

/// Tells every strategy on iLink 3 session `i` that recovery gave up exchange messages
/// `from..from+count` (their reports will not come on this session). Returns how many.
fn messages_lost(
    strategies: &[Strategy],
    sink: &mut impl Sink,
    lat: LatencySlot,
    i: usize,
    from: u32,
    count: u32,
) -> u32 {
    let mut told = 0;
    for (si, strategy) in strategies.iter().enumerate() {
        let Some(ss) = strategy.sessions.iter().position(|e| e.get() == i) else {
            continue;
        };
        let mut ev = Event {
            session: ss as u16,
            count,
            ..Event::new(EventKind::MessagesLost)
        };
        let _ = std::fmt::Write::write_fmt(
            &mut ev.text,
            format_args!(
                "exchange messages {from}..{} lost",
                u64::from(from) + u64::from(count)
            ),
        );
        sink.publish(LocalStrategyIdx::new(si), ev, Stamp::NONE, lat);
        told += 1;
    }
    told
}

/// Tells the owners of requests the exchange did not apply.
fn not_applied(
    router: &mut Router,
    sink: &mut impl Sink,
    lat: LatencySlot,
    i: usize,
    from: u32,
    count: u32,
) -> u32 {
    router.not_applied(i, from, count, &mut |r: &Reply| {
        sink.publish(LocalStrategyIdx::new(r.strategy), r.event, Stamp::NONE, lat)
    })
}

fn dc_link_state(d: &DropCopy) -> LinkState {
    if !d.link.open {
        LinkState::Down
    } else if !d.link.up {
        LinkState::Connecting
    } else {
        match d.session.state() {
            DropCopyState::Disconnected => LinkState::Closing,
            DropCopyState::LogonSent => LinkState::LoggingOn,
            DropCopyState::Active => LinkState::Up,
            DropCopyState::LogoutSent => LinkState::Closing,
        }
    }
}

/// Drains one Drop Copy session's events: business messages go to housekeeping.
fn dc_events(shared: &DaemonShared, d: &mut DropCopy, now: Now, sink: &mut impl Sink) -> bool {
    let mut work = false;
    let global = d.global.get();
    let dcx = d.dc.get() as u16;
    while let Some(ev) = d.session.poll_event() {
        work = true;
        let mut dc_note = |level: Level, what: &'static str, args: std::fmt::Arguments<'_>| {
            sink.log(LogEvent::DcNote {
                session: global,
                level,
                what,
                text: note(args),
            })
        };
        match ev {
            DropCopyEvent::LoggedOn { next_out, next_in } => {
                d.link.logged_on(&shared.sessions[global]);
                sink.log(LogEvent::DcLoggedOn {
                    session: global,
                    next_out,
                    next_in,
                })
            }
            DropCopyEvent::Application { seq, raw, .. } => {
                shared.sessions[global]
                    .events_received
                    .fetch_add(1, Ordering::Relaxed);
                sink.dropcopy(DcRec::new(dcx, seq, raw));
            }
            DropCopyEvent::ResendRequested { from, to } => dc_note(
                Level::Info,
                "resend requested",
                format_args!("{from}..={to}"),
            ),
            DropCopyEvent::GapFilled { next_in } => dc_note(
                Level::Info,
                "gap filled",
                format_args!("next inbound {next_in}"),
            ),
            DropCopyEvent::RejectReceived {
                ref_seq,
                reason,
                text,
            } => dc_note(
                Level::Warn,
                "reject received",
                format_args!("ref seq {ref_seq:?}, reason {reason:?}: {text}"),
            ),
            DropCopyEvent::LoggedOut {
                text,
                next_expected,
            } => {
                // A Logout before the Logon reply refuses the logon (a bad logon).
                let say = d.link.logged_on || {
                    let r = Refusal {
                        what: "Logon",
                        code: None,
                        name: Note::new(&text),
                        retry: dropcopy_logout_retry(&text, next_expected),
                    };
                    d.link.refused(now, r, true, &shared.sessions[global])
                };
                if say {
                    dc_note(
                        Level::Info,
                        "logged out",
                        format_args!("{text} (next expected {next_expected:?})"),
                    )
                }
            }
            DropCopyEvent::WeeklyReset { previous, by_logon } => {
                // In the record queue, so housekeeping rotates the journal before the new
                // week's first message (seq 0: the marker; no message has MsgSeqNum 0).
                sink.dropcopy(DcRec::new(dcx, 0, &[]));
                sink.log(LogEvent::DcNote {
                    session: global,
                    level: Level::Info,
                    what: "weekly reset",
                    text: note(format_args!(
                        "sequence numbers restart at 1 ({}; were out {} in {})",
                        if by_logon {
                            "CME's Logon at 34=1"
                        } else {
                            "weekly start-up"
                        },
                        previous.next_out,
                        previous.next_in
                    )),
                });
            }
            DropCopyEvent::Alert { text } => dc_note(Level::Warn, "alert", format_args!("{text}")),
            DropCopyEvent::Garbled { error } => {
                dc_note(Level::Warn, "garbled message", format_args!("{error}"))
            }
            DropCopyEvent::Disconnect { reason } => {
                if matches!(reason, DcDisconnectReason::LogonTimeout(_)) {
                    let r = Refusal {
                        what: "logon",
                        code: None,
                        name: Note::new("no Logon reply"),
                        retry: Retry::Transient,
                    };
                    d.link.refused(now, r, true, &shared.sessions[global]);
                }
                let refused =
                    matches!(reason, DcDisconnectReason::PeerLogout(_)) && !d.link.logged_on;
                if !d.link.policy.quiet() && !refused {
                    dc_note(Level::Info, "disconnect", format_args!("{reason}"));
                }
                d.link.close_soon(now);
            }
        }
    }
    work
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
