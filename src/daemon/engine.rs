//! One hot thread: busy-polls the strategy request rings, the network and the session timers.
//!
//! Per loop turn:
//! 1. control messages from the housekeeping thread (dead strategies, new keys, risk limits);
//! 2. `Net::poll`: connection events and received bytes into the sessions;
//! 3. every session: drain its events (business messages are decoded and routed back to the
//!    owning strategy's event ring; state changes reach the strategies on that session; logon
//!    events are persisted and logged), flush its transmit buffer to the network;
//! 4. timers (`next_deadline` → `handle_timeout`) and reconnects (`Reconnector`);
//! 5. strategy rings, round robin, at most [`POLL_BUDGET`] requests per strategy per turn, then
//!    any mass-cancel or cancel-on-exit sweep;
//! 6. liveness and latency bookkeeping (strategy pid/heartbeat published for the housekeeping
//!    thread, histogram swap, loop heartbeat).
//!
//! The steady state (orders in, reports out) allocates nothing, takes no lock and makes no
//! blocking system call: sends go through the non-blocking backend, journal records, Drop Copy
//! messages and log events leave through fixed-size [`Link`] queues. The session store is
//! locked only on the logon path (a new UUID is persisted, with fsync, before the Negotiate
//! leaves); the housekeeping thread holds it for journal appends and reservations.

use super::router::{Outbound, Reply, Routed, Router};
use super::shared::{
    Control, DaemonShared, DcRec, JournalRec, Level, LinkState, LogEvent, Note, Phase, StoreReq,
    JOURNAL_BYTES,
};
use super::wire::{self, FirmFields};
use crate::config::{IdleStrategy, NetworkConfig};
use crate::dropcopy::session::{Event as DcEvent, Session as DcSession, State as DcState};
use crate::ilink3::decode;
use crate::ilink3::session::{
    ConnectMode, Event as IlEvent, NotAppliedAction, Session as IlSession, State,
};
use crate::latency::{Clock, Hop, Recorder, Stamp};
use crate::net::{ConnId, Net, NetBackend, NetEvent, NetLimits, Reconnector, SendError};
use crate::runtime::idle::{IdleParams, Idler};
use crate::runtime::threads::Link;
use crate::shm::strategy::{Event, EventKind, RejectReason, SessionState, StrategySegment};
use crate::store::SeqHandle;
use crate::types::{Nanos, Now, WallNanos};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Requests taken from one strategy's ring per loop turn (one strategy cannot starve another).
pub const POLL_BUDGET: usize = 16;
/// Cancels a sweep may send per loop turn.
const SWEEP_BUDGET: usize = 16;
/// How often the engine reads the strategies' pid/heartbeat and heartbeats the segments.
const LIVENESS_EVERY_NS: u64 = 10_000_000;
/// How long a closing connection may take to hand its last bytes to the kernel.
const CLOSE_LINGER_NS: u64 = 100_000_000;
/// How long draining may take before the engine gives up waiting for Terminate answers.
pub const DRAIN_TIMEOUT_NS: u64 = 3_000_000_000;
/// Bytes held for a connection whose kernel send buffer is full.
const STALL_CAPACITY: usize = 1 << 20;
/// Loop turns between publications of the thread's allocation count.
const ALLOC_PUBLISH_EVERY: u64 = 64;

/// Wall-clock nanoseconds since the epoch (the vDSO `clock_gettime`, no system call).
#[inline]
pub fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// CLOCK_MONOTONIC in nanoseconds (the vDSO `clock_gettime`, no system call): every deadline.
#[inline]
pub fn monotonic_ns() -> Nanos {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Nanos((t.tv_sec as u64).saturating_mul(1_000_000_000) + t.tv_nsec as u64)
}

/// Both clocks, read once per loop pass.
#[inline]
pub fn read_clocks() -> Now {
    Now {
        mono: monotonic_ns(),
        wall: WallNanos(realtime_ns()),
    }
}

/// What an engine needs for one iLink 3 session.
pub struct IlinkSetup {
    /// Global session index.
    pub global: usize,
    pub session: IlSession,
    pub handle: Arc<SeqHandle>,
    pub primary: SocketAddr,
    pub backup: Option<SocketAddr>,
    pub firm: FirmFields,
}

/// What an engine needs for one Drop Copy session.
pub struct DcSetup {
    /// Global session index.
    pub global: usize,
    /// Index among Drop Copy sessions.
    pub dc: usize,
    pub session: DcSession,
    pub primary: SocketAddr,
    pub backup: Option<SocketAddr>,
}

/// What an engine needs for one strategy.
pub struct StrategySetup {
    /// Global strategy index.
    pub global: usize,
    pub segment: StrategySegment,
    /// Engine session index of each of the strategy's sessions.
    pub sessions: Vec<usize>,
}

/// The queues of one engine.
#[derive(Clone)]
pub struct EngineLinks {
    pub journal: Link<JournalRec>,
    pub dc: Link<DcRec>,
    pub log: Link<LogEvent>,
    pub control: Link<Control>,
    /// Session store work the hot thread leaves to housekeeping (new UUID, journal reads).
    pub store: Link<StoreReq>,
}

/// Everything an engine thread is built from.
pub struct EngineSetup {
    pub index: usize,
    pub ilink: Vec<IlinkSetup>,
    pub dropcopy: Vec<DcSetup>,
    pub strategies: Vec<StrategySetup>,
    pub router: Router,
    pub network: NetworkConfig,
    pub idle: IdleStrategy,
    pub idle_params: IdleParams,
    pub recorder: Recorder,
    pub links: EngineLinks,
    pub shared: Arc<DaemonShared>,
    /// Seed for reconnect jitter.
    pub seed: u64,
}

struct Conn {
    id: Option<ConnId>,
    up: bool,
    /// Closing: close once the backend has handed every byte to the kernel (or after a linger).
    closing_since: Option<Nanos>,
    reconnect: Reconnector,
    addr: SocketAddr,
    /// Bytes the backend refused (send buffer full), sent before anything else.
    stall: Vec<u8>,
    /// First send submitted since the last completion.
    pending_submit: Stamp,
}

impl Conn {
    fn new(
        primary: SocketAddr,
        backup: Option<SocketAddr>,
        net: &NetworkConfig,
        seed: u64,
    ) -> Conn {
        Conn {
            id: None,
            up: false,
            closing_since: None,
            reconnect: Reconnector::new(primary, backup, net, seed),
            addr: primary,
            stall: Vec::with_capacity(STALL_CAPACITY),
            pending_submit: Stamp::NONE,
        }
    }

    /// The connection is gone (either kind of session): forget it, schedule the reconnect and
    /// log why. The caller tells its own session.
    fn closed(
        &mut self,
        now: Now,
        running: bool,
        reason: crate::net::CloseReason,
        session: usize,
        links: &EngineLinks,
        eng: &super::shared::EngineShared,
    ) {
        self.id = None;
        self.up = false;
        self.closing_since = None;
        self.stall.clear();
        let at = self.reconnect.on_disconnected(now.mono.0);
        let retry_in_ms = running.then_some(at.saturating_sub(now.mono.0) / 1_000_000);
        let errno = match reason {
            crate::net::CloseReason::PeerClosed => None,
            crate::net::CloseReason::Error(e) => Some(errno_of(&e)),
        };
        send_log(
            &links.log,
            eng,
            LogEvent::ConnectionLost {
                session,
                errno,
                retry_in_ms,
            },
        );
    }

    /// A connect attempt failed: schedule the next one and log why.
    /// The TCP connect completed (either kind of session): marks the connection up, resets the
    /// reconnect back-off and logs it. Returns whether to log on; while the engine is stopping
    /// the connection is closed instead.
    fn connected(
        &mut self,
        now: Now,
        running: bool,
        session: usize,
        links: &EngineLinks,
        eng: &super::shared::EngineShared,
    ) -> bool {
        self.up = true;
        self.reconnect.on_connected();
        send_log(
            &links.log,
            eng,
            LogEvent::Connected {
                session,
                addr: self.addr,
            },
        );
        if !running {
            self.closing_since = Some(now.mono);
        }
        running
    }

    fn connect_failed(
        &mut self,
        now: Now,
        e: &std::io::Error,
        session: usize,
        links: &EngineLinks,
        eng: &super::shared::EngineShared,
    ) {
        self.id = None;
        self.up = false;
        let at = self.reconnect.on_disconnected(now.mono.0);
        send_log(
            &links.log,
            eng,
            LogEvent::ConnectFailed {
                session,
                addr: self.addr,
                errno: errno_of(e),
                retry_in_ms: at.saturating_sub(now.mono.0) / 1_000_000,
            },
        );
    }

    /// Starts the scheduled reconnect when it is due (either kind of session); returns whether
    /// one was tried. A connect refused at once (no slot, socket error) reschedules and is logged
    /// with its reason.
    fn reconnect_if_due(
        &mut self,
        now: Now,
        net: &mut Net,
        session: usize,
        reconnects: &AtomicU64,
        links: &EngineLinks,
        eng: &super::shared::EngineShared,
    ) -> bool {
        let Some(addr) = self.reconnect.poll(now.mono.0) else {
            return false;
        };
        match net.connect(addr) {
            Ok(id) => {
                self.id = Some(id);
                self.up = false;
                self.addr = addr;
                reconnects.fetch_add(1, Ordering::Relaxed);
                send_log(&links.log, eng, LogEvent::Connecting { session, addr });
            }
            Err(e) => {
                let at = self.reconnect.on_disconnected(now.mono.0);
                let why = note(format_args!(
                    "cannot connect to {addr}: {e}; retry in {} ms",
                    at.saturating_sub(now.mono.0) / 1_000_000
                ));
                send_log(&links.log, eng, LogEvent::SendFailed { session, why });
            }
        }
        true
    }
}

struct IlinkConn {
    global: usize,
    session: IlSession,
    handle: Arc<SeqHandle>,
    firm: FirmFields,
    conn: Conn,
    /// When the bytes being processed arrived.
    rx_stamp: Stamp,
    /// What strategies were last told.
    told: SessionState,
    published: LinkState,
    /// Latency recorder session index.
    lat: usize,
    /// Draining events inside the network handler found the connection must go.
    drop_pending: bool,
}

struct DcConn {
    global: usize,
    dc: usize,
    session: DcSession,
    conn: Conn,
    published: LinkState,
    lat: usize,
    pending_key: Option<(crate::auth::AccessKeyId, crate::auth::HmacSigner)>,
}

struct StrategyConn {
    global: usize,
    segment: StrategySegment,
    sessions: Vec<usize>,
    pid: u32,
    faulted: bool,
}

/// The hot thread's state.
pub struct Engine {
    index: usize,
    net: Net,
    ilink: Vec<IlinkConn>,
    dc: Vec<DcConn>,
    strategies: Vec<StrategyConn>,
    router: Router,
    recorder: Recorder,
    clock: Clock,
    links: EngineLinks,
    shared: Arc<DaemonShared>,
    idle: Idler,
    rr: usize,
    draining_since: Option<Nanos>,
    next_liveness: Nanos,
    turns: u64,
    journal: JournalRec,
}

/// Engine slot of each backend connection (`conn.slot()`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    Ilink(usize),
    Dc(usize),
}

impl Engine {
    /// Builds the engine (opens the network backend); call on the engine's own thread.
    pub fn new(s: EngineSetup) -> Result<Engine, crate::net::NetError> {
        let sessions = s.ilink.len() + s.dropcopy.len();
        let limits = NetLimits {
            max_conns: (sessions as u16).saturating_mul(2).max(4),
            ..NetLimits::default()
        };
        let net = Net::open(&s.network, limits)?;
        let clock = *s.recorder.clock();
        let n_il = s.ilink.len();
        let ilink = s
            .ilink
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                let mut session = x.session;
                session.set_outbound_limit(clamp_u32(x.handle.reserved()));
                IlinkConn {
                    global: x.global,
                    session,
                    handle: x.handle,
                    firm: x.firm,
                    conn: Conn::new(x.primary, x.backup, &s.network, s.seed ^ (i as u64 + 1)),
                    rx_stamp: Stamp::NONE,
                    told: SessionState::Down,
                    published: LinkState::Down,
                    lat: i,
                    drop_pending: false,
                }
            })
            .collect();
        let dc = s
            .dropcopy
            .into_iter()
            .enumerate()
            .map(|(i, x)| DcConn {
                global: x.global,
                dc: x.dc,
                session: x.session,
                conn: Conn::new(x.primary, x.backup, &s.network, s.seed ^ (0x100 + i as u64)),
                published: LinkState::Down,
                lat: n_il + i,
                pending_key: None,
            })
            .collect();
        let strategies = s
            .strategies
            .into_iter()
            .map(|x| StrategyConn {
                global: x.global,
                segment: x.segment,
                sessions: x.sessions,
                pid: 0,
                faulted: false,
            })
            .collect();
        Ok(Engine {
            index: s.index,
            net,
            ilink,
            dc,
            strategies,
            router: s.router,
            recorder: s.recorder,
            clock,
            links: s.links,
            shared: s.shared,
            idle: Idler::with_params(s.idle, s.idle_params),
            rr: 0,
            draining_since: None,
            next_liveness: Nanos(0),
            turns: 0,
            journal: JournalRec {
                session: 0,
                uuid: 0,
                seq: 0,
                len: 0,
                bytes: [0; JOURNAL_BYTES],
            },
        })
    }

    /// The network backend in use.
    pub fn backend(&self) -> &'static str {
        self.net.kind().name()
    }

    fn log(&self, e: LogEvent) {
        if self.links.log.try_send(e).is_err() {
            self.eng().logs_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn eng(&self) -> &super::shared::EngineShared {
        // The index is checked when the daemon builds the engines.
        &self.shared.engines[self.index]
    }

    /// Runs until the daemon has drained; returns whether every session closed cleanly.
    pub fn run(mut self) -> bool {
        loop {
            let stamp = self.clock.now();
            let now = read_clocks();
            let mut work = self.control(now);
            work |= self.poll_net(now, stamp);
            work |= self.service_sessions(now);
            work |= self.timers(now);
            work |= self.strategies(now);
            self.bookkeeping(now, stamp);
            if self.shared.phase() != Phase::Running {
                if self.draining_since.is_none() {
                    self.start_drain(now);
                    work = true;
                }
                if self.drained() {
                    break;
                }
                if self
                    .draining_since
                    .is_some_and(|t| now.mono.since(t) > DRAIN_TIMEOUT_NS)
                {
                    return self.finish(false);
                }
            }
            self.idle.idle(work);
        }
        self.finish(true)
    }

    fn finish(mut self, clean: bool) -> bool {
        for si in 0..self.strategies.len() {
            let g = self.strategies[si].global;
            self.shared.strategies[g]
                .open_orders
                .store(u64::from(self.router.open_orders(si)), Ordering::Relaxed);
        }
        for i in 0..self.ilink.len() {
            if let Some(id) = self.ilink[i].conn.id.take() {
                self.net.close(id);
            }
            let g = self.ilink[i].global;
            self.shared.sessions[g].set_state(LinkState::Stopped);
        }
        for i in 0..self.dc.len() {
            if let Some(id) = self.dc[i].conn.id.take() {
                self.net.close(id);
            }
            let d = &self.dc[i];
            let sh = &self.shared.sessions[d.global];
            let seqs = d.session.seq_nums();
            sh.next_out.store(seqs.next_out, Ordering::Release);
            sh.next_in.store(seqs.next_in, Ordering::Release);
            sh.set_state(LinkState::Stopped);
        }
        self.log(LogEvent::EngineStopped {
            engine: self.index,
            clean,
        });
        let now = self.clock.now();
        let index = self.index;
        let Engine {
            recorder, shared, ..
        } = self;
        recorder.finish(now);
        if let Some(e) = shared.engines.get(index) {
            e.done.store(true, Ordering::Release);
        }
        clean
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn send_log(link: &Link<LogEvent>, eng: &super::shared::EngineShared, e: LogEvent) {
    if link.try_send(e).is_err() {
        eng.logs_dropped.fetch_add(1, Ordering::Relaxed);
    }
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

fn note(args: std::fmt::Arguments<'_>) -> Note {
    let mut n = Note::default();
    let _ = n.write_fmt(args);
    n
}

/// Hands `bytes` (if any) to the backend after whatever is stalled; bytes the backend cannot
/// take are kept in the stall buffer. `Err` when even that is full (the connection must go).
fn flush_conn(
    net: &mut Net,
    conn: &mut Conn,
    bytes: Option<&[u8]>,
    clock: &Clock,
) -> Result<bool, &'static str> {
    let Some(id) = conn.id.filter(|_| conn.up) else {
        return Ok(false);
    };
    let mut sent = false;
    if !conn.stall.is_empty() {
        match net.send(id, &conn.stall) {
            Ok(()) => {
                conn.stall.clear();
                sent = true;
            }
            Err(SendError::Full { .. }) => {}
            Err(_) => {
                conn.stall.clear();
                return Ok(false);
            }
        }
    }
    if let Some(b) = bytes {
        if conn.stall.is_empty() {
            match net.send(id, b) {
                Ok(()) => sent = true,
                Err(SendError::Full { .. }) => {
                    if b.len() > STALL_CAPACITY {
                        return Err("send buffer full and message too large to hold");
                    }
                    conn.stall.extend_from_slice(b);
                }
                Err(SendError::TooLarge { .. }) => {
                    return Err("message larger than the send buffer")
                }
                Err(_) => return Ok(false),
            }
        } else if conn.stall.len() + b.len() <= STALL_CAPACITY {
            conn.stall.extend_from_slice(b);
        } else {
            return Err("send buffer full: the kernel is not draining the connection");
        }
    }
    if sent && !conn.pending_submit.is_set() {
        conn.pending_submit = clock.now();
    }
    Ok(sent)
}

fn to_strategy_state(s: LinkState) -> SessionState {
    match s {
        LinkState::Up => SessionState::Up,
        LinkState::Down | LinkState::Stopped => SessionState::Down,
        _ => SessionState::Connecting,
    }
}

/// Pushes one event to a strategy's ring (counting drops) and records the response hop.
#[allow(clippy::too_many_arguments)]
fn publish(
    strategies: &mut [StrategyConn],
    shared: &DaemonShared,
    recorder: &mut Recorder,
    clock: &Clock,
    strategy: usize,
    mut ev: Event,
    rx: Stamp,
    lat: usize,
) {
    let Some(st) = strategies.get_mut(strategy) else {
        return;
    };
    ev.daemon_ns = realtime_ns();
    let counters = shared.strategies.get(st.global);
    match st.segment.push_event(&ev) {
        Ok(()) => {
            if let Some(c) = counters {
                c.events_out.fetch_add(1, Ordering::Relaxed);
            }
        }
        Err(_) => {
            if let Some(c) = counters {
                c.events_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if rx.is_set() {
        let now = clock.now();
        if let Some(slot) = recorder.slot(lat, Hop::ResponsePublish) {
            recorder.record_span(slot, rx, now);
        }
    }
}

impl Engine {
    fn control(&mut self, now: Now) -> bool {
        let mut work = false;
        while let Some(c) = self.links.control.try_recv() {
            work = true;
            match c {
                Control::StrategyDied { strategy } => {
                    let n = self.router.strategy_died(strategy);
                    let global = self.strategies.get(strategy).map_or(0, |s| s.global);
                    self.log(LogEvent::CancelOnExit {
                        strategy: global,
                        orders: n,
                    });
                }
                Control::Credentials { session, creds } => {
                    if let Some(s) = self.ilink.get_mut(session) {
                        s.session.set_credentials(creds);
                    }
                }
                Control::DcCredentials {
                    session,
                    key_id,
                    signer,
                } => {
                    if let Some(d) = self.dc.get_mut(session) {
                        d.pending_key = Some((key_id, signer));
                    }
                }
                Control::Risk(r) => self.router.set_risk(r),
                Control::UuidPersisted {
                    session,
                    uuid,
                    result,
                } => self.uuid_persisted(session, uuid, result, now),
                Control::Resend {
                    session,
                    uuid,
                    from,
                    count,
                    frames,
                } => self.resend(session, uuid, from, count, frames, now),
            }
        }
        work
    }

    fn poll_net(&mut self, now: Now, stamp: Stamp) -> bool {
        let running = self.shared.phase() == Phase::Running;
        let Engine {
            net,
            ilink,
            dc,
            router,
            strategies,
            recorder,
            clock,
            links,
            shared,
            index,
            ..
        } = self;
        let index = *index;
        let eng = &shared.engines[index];
        let mut handler = |id: ConnId, ev: NetEvent<'_>| {
            let target = if let Some(i) = ilink.iter().position(|s| s.conn.id == Some(id)) {
                Target::Ilink(i)
            } else if let Some(i) = dc.iter().position(|d| d.conn.id == Some(id)) {
                Target::Dc(i)
            } else {
                Target::None
            };
            match target {
                Target::None => {}
                Target::Ilink(i) => {
                    let s = &mut ilink[i];
                    match ev {
                        NetEvent::Connected => {
                            if !s.conn.connected(now, running, s.global, links, eng) {
                                return;
                            }
                            let t0 = clock.now();
                            let r = s.session.connect(now, ConnectMode::Auto);
                            let t1 = clock.now();
                            recorder.record_hop(s.lat, Hop::HmacSign, clock.delta_ns(t0, t1));
                            let mut cx = Ctx {
                                router: &mut *router,
                                strategies: &mut *strategies,
                                recorder: &mut *recorder,
                                clock,
                                shared,
                                links,
                                index,
                            };
                            if ilink_events(&mut cx, s, i, now).1 {
                                s.drop_pending = true;
                            }
                            if let Err(e) = r {
                                send_log(
                                    &links.log,
                                    eng,
                                    LogEvent::SendFailed {
                                        session: s.global,
                                        why: note(format_args!("logon not sent: {e}")),
                                    },
                                );
                                s.conn.closing_since = Some(now.mono);
                            }
                        }
                        NetEvent::Data(bytes) => {
                            if !s.rx_stamp.is_set() {
                                s.rx_stamp = stamp;
                            }
                            s.session.handle_input(now, bytes);
                            let mut cx = Ctx {
                                router: &mut *router,
                                strategies: &mut *strategies,
                                recorder: &mut *recorder,
                                clock,
                                shared,
                                links,
                                index,
                            };
                            if ilink_events(&mut cx, s, i, now).1 {
                                s.drop_pending = true;
                            }
                        }
                        NetEvent::SendComplete => {
                            if s.conn.pending_submit.is_set() {
                                let done = clock.now();
                                if let Some(slot) = recorder.slot(s.lat, Hop::SendComplete) {
                                    recorder.record_span(slot, s.conn.pending_submit, done);
                                }
                                s.conn.pending_submit = Stamp::NONE;
                            }
                        }
                        NetEvent::Closed(reason) => {
                            s.session.on_disconnected();
                            s.conn.closed(now, running, reason, s.global, links, eng);
                        }
                        NetEvent::ConnectFailed(e) => {
                            s.conn.connect_failed(now, &e, s.global, links, eng);
                        }
                    }
                }
                Target::Dc(i) => {
                    let d = &mut dc[i];
                    match ev {
                        NetEvent::Connected => {
                            if !d.conn.connected(now, running, d.global, links, eng) {
                                return;
                            }
                            let t0 = clock.now();
                            let r = d.session.connect(now);
                            let t1 = clock.now();
                            recorder.record_hop(d.lat, Hop::HmacSign, clock.delta_ns(t0, t1));
                            if let Err(e) = r {
                                send_log(
                                    &links.log,
                                    eng,
                                    LogEvent::SendFailed {
                                        session: d.global,
                                        why: note(format_args!("logon not sent: {e}")),
                                    },
                                );
                                d.conn.closing_since = Some(now.mono);
                            }
                        }
                        NetEvent::Data(bytes) => {
                            d.session.handle_input(now, bytes);
                            dc_events(links, shared, index, d, now);
                        }
                        NetEvent::SendComplete => d.conn.pending_submit = Stamp::NONE,
                        NetEvent::Closed(reason) => {
                            d.session.connection_lost();
                            d.conn.closed(now, running, reason, d.global, links, eng);
                        }
                        NetEvent::ConnectFailed(e) => {
                            d.conn.connect_failed(now, &e, d.global, links, eng);
                        }
                    }
                }
            }
        };
        match net.poll(&mut handler) {
            Ok(n) => n > 0,
            Err(e) => {
                let why = note(format_args!("network poll failed: {e}"));
                let session = ilink.first().map_or(0, |s| s.global);
                send_log(&links.log, eng, LogEvent::SendFailed { session, why });
                false
            }
        }
    }

    fn service_sessions(&mut self, now: Now) -> bool {
        let mut work = false;
        for i in 0..self.ilink.len() {
            work |= self.service_ilink(i, now);
        }
        for i in 0..self.dc.len() {
            work |= self.service_dc(i, now);
        }
        work
    }

    /// Housekeeping's answer to a new UUID: durable → the Negotiate leaves; not → the
    /// connection goes (the session never negotiates a UUID the store does not hold).
    fn uuid_persisted(&mut self, i: usize, uuid: u64, result: Result<(), Note>, now: Now) {
        let Some(s) = self.ilink.get_mut(i) else {
            return;
        };
        let global = s.global;
        match result {
            Ok(()) => {
                s.session.set_outbound_limit(clamp_u32(s.handle.reserved()));
                let sent = s.session.uuid_persisted(now, uuid, true);
                let previous = s.session.stored_state().previous_uuid;
                self.shared.sessions[global]
                    .uuid
                    .store(uuid, Ordering::Release);
                self.log(LogEvent::NewUuid {
                    session: global,
                    uuid,
                    previous,
                });
                if let Err(e) = sent {
                    self.log(LogEvent::SendFailed {
                        session: global,
                        why: note(format_args!("Negotiate not sent: {e}")),
                    });
                    let s = &mut self.ilink[i];
                    if s.conn.id.is_some() && s.conn.closing_since.is_none() {
                        s.conn.closing_since = Some(now.mono);
                    }
                }
            }
            Err(why) => {
                // Never let a Negotiate leave for a UUID that is not durable.
                let _ = s.session.uuid_persisted(now, uuid, false);
                self.log(LogEvent::UuidNotPersisted {
                    session: global,
                    uuid,
                    why,
                });
            }
        }
    }

    /// NotApplied with the resend policy, continued: housekeeping read the journal. Resends
    /// what was found unchanged; owners of the rest (not journaled yet, or the session is no
    /// longer on that UUID) are told their requests were not applied.
    fn resend(
        &mut self,
        i: usize,
        uuid: u64,
        from: u32,
        count: u32,
        frames: Result<Vec<crate::store::JournaledMessage>, Note>,
        now: Now,
    ) {
        let Engine {
            ilink,
            router,
            strategies,
            recorder,
            clock,
            shared,
            links,
            index,
            ..
        } = self;
        let Some(s) = ilink.get_mut(i) else {
            return;
        };
        let mut cx = Ctx {
            router,
            strategies,
            recorder,
            clock,
            shared,
            links,
            index: *index,
        };
        let live = s.session.state() == State::Established && s.session.stored_state().uuid == uuid;
        let frames = match frames {
            Ok(f) if live => f,
            Ok(_) => Vec::new(),
            Err(why) => {
                cx.log(LogEvent::SendFailed {
                    session: s.global,
                    why,
                });
                Vec::new()
            }
        };
        let mut next = from;
        let mut told = 0;
        for f in &frames {
            let seq = u32::try_from(f.seq).unwrap_or(u32::MAX);
            if seq < next {
                continue;
            }
            if seq > next {
                told += not_applied(&mut cx, s.lat, i, next, seq - next);
            }
            if s.session.resend_business(now, &f.bytes).is_err() {
                told += not_applied(&mut cx, s.lat, i, seq, 1);
            }
            next = seq.saturating_add(1);
        }
        let end = from.saturating_add(count);
        if next < end {
            told += not_applied(&mut cx, s.lat, i, next, end - next);
        }
        if told > 0 {
            cx.log(LogEvent::NotApplied {
                session: s.global,
                from,
                count,
                owners_told: told,
                resend: true,
            });
        }
    }

    /// Closes a connection at once (a failed logon step): no reconnect while draining.
    fn drop_ilink(&mut self, i: usize, now: Now) {
        let running = self.shared.phase() == Phase::Running;
        let s = &mut self.ilink[i];
        if let Some(id) = s.conn.id.take() {
            self.net.close(id);
        }
        s.conn.up = false;
        s.conn.closing_since = None;
        s.conn.stall.clear();
        s.session.on_disconnected();
        if running {
            s.conn.reconnect.on_disconnected(now.mono.0);
        }
    }

    fn service_ilink(&mut self, i: usize, now: Now) -> bool {
        let global = self.ilink[i].global;
        let (mut work, drop) = {
            let Engine {
                ilink,
                router,
                strategies,
                recorder,
                clock,
                shared,
                links,
                index,
                ..
            } = self;
            let mut cx = Ctx {
                router,
                strategies,
                recorder,
                clock,
                shared,
                links,
                index: *index,
            };
            let s = &mut ilink[i];
            let r = ilink_events(&mut cx, s, i, now);
            (r.0, r.1 || std::mem::take(&mut s.drop_pending))
        };
        if drop {
            self.drop_ilink(i, now);
            self.publish_ilink_state(i);
            return true;
        }
        let s = &mut self.ilink[i];
        let bytes = s.session.poll_transmit();
        match flush_conn(&mut self.net, &mut s.conn, bytes, &self.clock) {
            Ok(sent) => work |= sent,
            Err(why) => {
                self.log(LogEvent::SendFailed {
                    session: global,
                    why: Note::new(why),
                });
                self.drop_ilink(i, now);
            }
        }
        self.publish_ilink_state(i);
        work
    }

    fn ilink_link_state(&self, i: usize) -> LinkState {
        let s = &self.ilink[i];
        if s.conn.id.is_none() {
            return LinkState::Down;
        }
        if !s.conn.up {
            return LinkState::Connecting;
        }
        match s.session.state() {
            State::Idle => {
                if s.conn.closing_since.is_some() {
                    LinkState::Closing
                } else {
                    LinkState::LoggingOn
                }
            }
            State::PersistingUuid | State::Negotiating | State::Establishing => {
                LinkState::LoggingOn
            }
            State::Established => LinkState::Up,
            State::Terminating => LinkState::Closing,
        }
    }

    fn publish_ilink_state(&mut self, i: usize) {
        let st = self.ilink_link_state(i);
        if st == self.ilink[i].published {
            return;
        }
        self.ilink[i].published = st;
        let global = self.ilink[i].global;
        self.shared.sessions[global].set_state(st);
        let told = to_strategy_state(st);
        if told == self.ilink[i].told {
            return;
        }
        self.ilink[i].told = told;
        self.tell_session_state(i, told);
    }

    /// Sends a SessionState event to every strategy on engine session `i`.
    fn tell_session_state(&mut self, i: usize, state: SessionState) {
        let lat = self.ilink[i].lat;
        for si in 0..self.strategies.len() {
            let Some(ss) = self.strategies[si].sessions.iter().position(|&e| e == i) else {
                continue;
            };
            let ev = Event {
                session: ss as u16,
                session_state: state,
                ..Event::new(EventKind::SessionState)
            };
            publish(
                &mut self.strategies,
                &self.shared,
                &mut self.recorder,
                &self.clock,
                si,
                ev,
                Stamp::NONE,
                lat,
            );
        }
    }

    fn service_dc(&mut self, i: usize, now: Now) -> bool {
        let global = self.dc[i].global;
        let work = dc_events(&self.links, &self.shared, self.index, &mut self.dc[i], now);
        let d = &mut self.dc[i];
        let bytes = d.session.poll_transmit();
        if let Err(why) = flush_conn(&mut self.net, &mut d.conn, bytes, &self.clock) {
            self.log(LogEvent::SendFailed {
                session: global,
                why: Note::new(why),
            });
            let d = &mut self.dc[i];
            d.conn.closing_since = Some(Nanos(0));
        }
        let d = &self.dc[i];
        let st = if d.conn.id.is_none() {
            LinkState::Down
        } else if !d.conn.up {
            LinkState::Connecting
        } else {
            match d.session.state() {
                DcState::Disconnected => LinkState::Closing,
                DcState::LogonSent => LinkState::LoggingOn,
                DcState::Active => LinkState::Up,
                DcState::LogoutSent => LinkState::Closing,
            }
        };
        if st != d.published {
            self.dc[i].published = st;
            self.shared.sessions[global].set_state(st);
        }
        work
    }

    fn timers(&mut self, now: Now) -> bool {
        let running = self.shared.phase() == Phase::Running;
        let mut work = false;
        for i in 0..self.ilink.len() {
            let s = &mut self.ilink[i];
            if s.session.next_deadline().is_some_and(|d| now.mono >= d) {
                s.session.handle_timeout(now);
                work = true;
            }
            if let (Some(id), Some(since)) = (s.conn.id, s.conn.closing_since) {
                let flushed = self.net.queued(id).is_none_or(|q| q == 0) && s.conn.stall.is_empty();
                if flushed || now.mono.since(since) > CLOSE_LINGER_NS {
                    self.net.close(id);
                    s.conn.id = None;
                    s.conn.up = false;
                    s.conn.closing_since = None;
                    s.conn.stall.clear();
                    s.session.on_disconnected();
                    if running {
                        let at = s.conn.reconnect.on_disconnected(now.mono.0);
                        let global = s.global;
                        self.log(LogEvent::ConnectionLost {
                            session: global,
                            errno: None,
                            retry_in_ms: Some(at.saturating_sub(now.mono.0) / 1_000_000),
                        });
                    }
                    work = true;
                }
            }
            let s = &mut self.ilink[i];
            if s.conn.id.is_none() && running {
                let global = s.global;
                let eng = &self.shared.engines[self.index];
                work |= s.conn.reconnect_if_due(
                    now,
                    &mut self.net,
                    global,
                    &self.shared.sessions[global].reconnects,
                    &self.links,
                    eng,
                );
            }
            self.publish_ilink_state(i);
        }
        for i in 0..self.dc.len() {
            let d = &mut self.dc[i];
            if d.session.next_deadline().is_some_and(|t| now.mono >= t) {
                d.session.handle_timeout(now);
                work = true;
            }
            if let (Some(id), Some(since)) = (d.conn.id, d.conn.closing_since) {
                let flushed = self.net.queued(id).is_none_or(|q| q == 0) && d.conn.stall.is_empty();
                if flushed || now.mono.since(since) > CLOSE_LINGER_NS {
                    self.net.close(id);
                    d.conn.id = None;
                    d.conn.up = false;
                    d.conn.closing_since = None;
                    d.conn.stall.clear();
                    d.session.connection_lost();
                    while d.session.poll_event().is_some() {}
                    if running {
                        d.conn.reconnect.on_disconnected(now.mono.0);
                    }
                    work = true;
                }
            }
            let d = &mut self.dc[i];
            if d.conn.id.is_none() && d.session.state() == DcState::Disconnected {
                if let Some((key_id, signer)) = d.pending_key.take() {
                    let cfg = d.session.config().clone();
                    let seqs = d.session.seq_nums();
                    match DcSession::new(cfg, key_id, signer, seqs) {
                        Ok(s) => d.session = s,
                        Err(e) => {
                            let global = d.global;
                            self.log(LogEvent::SendFailed {
                                session: global,
                                why: note(format_args!("new Drop Copy key not applied: {e}")),
                            });
                        }
                    }
                }
            }
            let d = &mut self.dc[i];
            if d.conn.id.is_none() && running {
                let global = d.global;
                let eng = &self.shared.engines[self.index];
                work |= d.conn.reconnect_if_due(
                    now,
                    &mut self.net,
                    global,
                    &self.shared.sessions[global].reconnects,
                    &self.links,
                    eng,
                );
            }
        }
        work
    }

    fn strategies(&mut self, now: Now) -> bool {
        let n = self.strategies.len();
        if n == 0 {
            return false;
        }
        let mut work = false;
        for k in 0..n {
            let si = (self.rr + k) % n;
            if self.strategies[si].faulted {
                continue;
            }
            // Back-pressure: leave requests in the ring while a session of this strategy cannot
            // take a full batch (durable sequence numbers running out, send buffer full).
            let blocked = self.strategies[si].sessions.iter().any(|&e| {
                self.ilink.get(e).is_some_and(|s| {
                    s.session.state() == State::Established
                        && (!s.conn.stall.is_empty()
                            || s.handle.headroom() < POLL_BUDGET as u64 + SWEEP_BUDGET as u64)
                })
            });
            if blocked {
                continue;
            }
            for e in 0..self.ilink.len() {
                let s = &mut self.ilink[e];
                s.session.set_outbound_limit(clamp_u32(s.handle.reserved()));
            }
            for _ in 0..POLL_BUDGET {
                let Some(r) = self.strategies[si].segment.poll_request() else {
                    break;
                };
                work = true;
                let deq = self.clock.now();
                let global = self.strategies[si].global;
                let counters = &self.shared.strategies[global];
                counters.orders_in.fetch_add(1, Ordering::Relaxed);
                match r {
                    Ok(req) => {
                        let ilink = &self.ilink;
                        let routed = self.router.on_request(si, &req, now.mono.0, |e| {
                            ilink.get(e).is_some_and(|s| {
                                s.conn.up && s.session.state() == State::Established
                            })
                        });
                        match routed {
                            Routed::Reply(ev) => {
                                self.shared.strategies[global]
                                    .risk_rejects
                                    .fetch_add(1, Ordering::Relaxed);
                                let lat = self.strategies[si]
                                    .sessions
                                    .get(usize::from(ev.session))
                                    .copied()
                                    .unwrap_or(0);
                                self.push(si, ev, lat);
                            }
                            Routed::Send(out) => self.send_out(&out, now, deq),
                        }
                    }
                    Err(e) => {
                        counters.risk_rejects.fetch_add(1, Ordering::Relaxed);
                        match e.reject_event(now.wall.0) {
                            Some(ev) => self.push(si, ev, 0),
                            None => {
                                self.strategies[si].faulted = true;
                                self.log(LogEvent::StrategyFaulted {
                                    strategy: global,
                                    why: note(format_args!("{e}")),
                                });
                                let n = self.router.strategy_died(si);
                                self.log(LogEvent::CancelOnExit {
                                    strategy: global,
                                    orders: n,
                                });
                                break;
                            }
                        }
                    }
                }
            }
        }
        for si in 0..n {
            if !self.router.sweeping(si) {
                continue;
            }
            for _ in 0..SWEEP_BUDGET {
                let deq = self.clock.now();
                let ilink = &self.ilink;
                let out = self.router.poll_sweep(si, 4096, |e| {
                    ilink.get(e).is_some_and(|s| {
                        s.conn.up
                            && s.conn.stall.is_empty()
                            && s.session.state() == State::Established
                            && s.handle.headroom() > 0
                    })
                });
                match out {
                    Some(out) => {
                        work = true;
                        self.send_out(&out, now, deq);
                    }
                    None => break,
                }
            }
        }
        self.rr = (self.rr + 1) % n;
        work
    }

    fn push(&mut self, strategy: usize, ev: Event, lat: usize) {
        publish(
            &mut self.strategies,
            &self.shared,
            &mut self.recorder,
            &self.clock,
            strategy,
            ev,
            Stamp::NONE,
            lat,
        );
    }

    /// Encodes and sends one routed message; on failure the router undoes it and the strategy
    /// gets a reject.
    fn send_out(&mut self, out: &Outbound, now: Now, deq: Stamp) {
        let e = out.session;
        let Some(s) = self.ilink.get_mut(e) else {
            return;
        };
        let global = s.global;
        let fail = if !s.conn.up || !s.conn.stall.is_empty() {
            Some((RejectReason::SessionDown, "session cannot send now"))
        } else {
            None
        };
        let result = match fail {
            Some(f) => Err(f),
            None => {
                let firm = &s.firm;
                let jr = &mut self.journal;
                s.session
                    .send_business(now, |seq, uuid, buf| {
                        let n = wire::encode(out, firm, seq, now.wall.0, buf)?;
                        if let (Some(dst), Some(src)) = (jr.bytes.get_mut(..n), buf.get(..n)) {
                            dst.copy_from_slice(src);
                            jr.len = n as u16;
                        } else {
                            jr.len = 0;
                        }
                        jr.seq = seq;
                        jr.uuid = uuid;
                        Ok(n)
                    })
                    .map_err(|err| match err {
                        crate::ilink3::session::SessionError::NotEstablished(_) => {
                            (RejectReason::SessionDown, "session not established")
                        }
                        crate::ilink3::session::SessionError::SequenceNotDurable { .. } => {
                            (RejectReason::Throttled, "sequence reservation exhausted")
                        }
                        crate::ilink3::session::SessionError::TransmitFull => {
                            (RejectReason::Throttled, "transmit buffer full")
                        }
                        _ => (RejectReason::Malformed, "encoding failed"),
                    })
            }
        };
        let seq = match result {
            Ok(seq) => seq,
            Err((reason, text)) => {
                let ev = self.router.send_failed(out, reason, text);
                self.push(out.strategy, ev, e);
                return;
            }
        };
        let encoded = self.clock.now();
        let s = &mut self.ilink[e];
        match s.handle.try_next_outbound() {
            Ok(n) if n == u64::from(seq) => {}
            Ok(n) => self.log(LogEvent::SequenceMismatch {
                session: global,
                session_seq: seq,
                store_seq: n,
            }),
            Err(x) => self.log(LogEvent::SequenceMismatch {
                session: global,
                session_seq: seq,
                store_seq: x.next,
            }),
        }
        let s = &mut self.ilink[e];
        s.session.set_outbound_limit(clamp_u32(s.handle.reserved()));
        let bytes = s.session.poll_transmit();
        if let Err(why) = flush_conn(&mut self.net, &mut s.conn, bytes, &self.clock) {
            self.log(LogEvent::SendFailed {
                session: global,
                why: Note::new(why),
            });
            self.drop_ilink(e, now);
        }
        let submitted = self.clock.now();
        self.router.sent(out, seq, submitted);
        let lat = self.ilink[e].lat;
        let r = &mut self.recorder;
        let c = &self.clock;
        if out.enqueue_ns != 0 {
            let deq_unix = c.to_unix_ns(deq);
            r.record_hop(
                lat,
                Hop::RequestRing,
                deq_unix.saturating_sub(out.enqueue_ns),
            );
            let sub_unix = c.to_unix_ns(submitted);
            r.record_hop(lat, Hop::OrderPath, sub_unix.saturating_sub(out.enqueue_ns));
        }
        if let Some(slot) = r.slot(lat, Hop::RiskEncode) {
            r.record_span(slot, deq, encoded);
        }
        if let Some(slot) = r.slot(lat, Hop::Submit) {
            r.record_span(slot, encoded, submitted);
        }
        self.journal.session = global as u16;
        if self.links.journal.try_send(self.journal).is_err() {
            self.eng().journal_dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.shared.sessions[global]
            .orders_sent
            .fetch_add(1, Ordering::Relaxed);
        self.eng().orders_sent.fetch_add(1, Ordering::Relaxed);
    }

    fn bookkeeping(&mut self, now: Now, stamp: Stamp) {
        self.turns += 1;
        let eng = &self.shared.engines[self.index];
        eng.heartbeat.store(self.turns, Ordering::Release);
        if self.turns.is_multiple_of(ALLOC_PUBLISH_EVERY) {
            eng.allocations.store(
                crate::runtime::alloc_count::thread_allocations(),
                Ordering::Release,
            );
        }
        self.recorder.poll(stamp);
        if now.mono < self.next_liveness {
            return;
        }
        self.next_liveness = now.mono.add_ns(LIVENESS_EVERY_NS);
        for si in 0..self.strategies.len() {
            let st = &self.strategies[si];
            st.segment.heartbeat(now.wall.0);
            let pid = st.segment.strategy_pid().unwrap_or(0);
            let hb = st.segment.strategy_heartbeat_ns();
            let sh = &self.shared.strategies[st.global];
            sh.pid.store(pid, Ordering::Release);
            sh.heartbeat.store(hb, Ordering::Release);
            sh.open_orders
                .store(u64::from(self.router.open_orders(si)), Ordering::Relaxed);
            if pid != st.pid {
                let global = st.global;
                self.strategies[si].pid = pid;
                if pid != 0 {
                    self.strategies[si].faulted = self.strategies[si].segment.fault().is_some();
                    self.log(LogEvent::StrategyAttached {
                        strategy: global,
                        pid,
                    });
                    // A strategy that (re)attaches learns the state of its sessions at once.
                    for ss in 0..self.strategies[si].sessions.len() {
                        let e = self.strategies[si].sessions[ss];
                        let state = self.ilink.get(e).map_or(SessionState::Down, |s| s.told);
                        let ev = Event {
                            session: ss as u16,
                            session_state: state,
                            ..Event::new(EventKind::SessionState)
                        };
                        self.push(si, ev, e);
                    }
                }
            }
        }
        for d in &self.dc {
            let sh = &self.shared.sessions[d.global];
            let seqs = d.session.seq_nums();
            sh.next_out.store(seqs.next_out, Ordering::Release);
            sh.next_in.store(seqs.next_in, Ordering::Release);
        }
        for s in &self.ilink {
            self.shared.sessions[s.global]
                .uuid
                .store(s.session.stored_state().uuid, Ordering::Release);
        }
    }

    fn start_drain(&mut self, now: Now) {
        self.draining_since = Some(now.mono);
        self.router.shut_down();
        self.log(LogEvent::Draining { engine: self.index });
        for s in &mut self.ilink {
            match s.session.state() {
                State::Idle => {
                    if s.conn.id.is_some() && s.conn.closing_since.is_none() {
                        s.conn.closing_since = Some(now.mono);
                    }
                }
                _ => {
                    let _ = s.session.terminate(now, 0);
                }
            }
        }
        for d in &mut self.dc {
            match d.session.state() {
                DcState::Active | DcState::LogonSent => {
                    let _ = d.session.logout(now, "ilinkd shutting down");
                }
                DcState::LogoutSent => {}
                DcState::Disconnected => {
                    if d.conn.id.is_some() && d.conn.closing_since.is_none() {
                        d.conn.closing_since = Some(now.mono);
                    }
                }
            }
        }
    }

    fn drained(&self) -> bool {
        self.ilink.iter().all(|s| s.conn.id.is_none())
            && self.dc.iter().all(|d| d.conn.id.is_none())
    }
}

/// What draining a session's events needs from the engine (disjoint from its network
/// backend, so it can run inside `Net::poll`'s handler right after each received chunk; that
/// keeps the sessions' event buffers at the size one chunk needs).
struct Ctx<'a> {
    router: &'a mut Router,
    strategies: &'a mut [StrategyConn],
    recorder: &'a mut Recorder,
    clock: &'a Clock,
    shared: &'a DaemonShared,
    links: &'a EngineLinks,
    index: usize,
}

impl Ctx<'_> {
    fn log(&self, e: LogEvent) {
        if let Some(eng) = self.shared.engines.get(self.index) {
            send_log(&self.links.log, eng, e);
        }
    }
}

/// Drains one iLink 3 session's events. Returns (any work, the connection must be dropped).
fn ilink_events(cx: &mut Ctx<'_>, s: &mut IlinkConn, i: usize, now: Now) -> (bool, bool) {
    let mut work = false;
    let global = s.global;
    while let Some(ev) = s.session.poll_event() {
        work = true;
        match ev {
            IlEvent::NewUuid { uuid, .. } => {
                // Housekeeping writes it (fsync) and answers; the Negotiate waits for that.
                let req = StoreReq::NewUuid {
                    session: global as u16,
                    local: i as u16,
                    uuid,
                };
                if cx.links.store.try_send(req).is_err() {
                    cx.log(LogEvent::UuidNotPersisted {
                        session: global,
                        uuid,
                        why: Note::new("store queue full"),
                    });
                    let _ = s.session.uuid_persisted(now, uuid, false);
                }
            }
            IlEvent::Negotiated {
                uuid,
                secret_key_expiration_days,
            } => {
                if let Some(d) = secret_key_expiration_days {
                    cx.shared.sessions[global]
                        .exchange_key_days
                        .store(i64::from(d), Ordering::Relaxed);
                }
                cx.log(LogEvent::Negotiated {
                    session: global,
                    uuid,
                    key_days: secret_key_expiration_days,
                });
            }
            IlEvent::Established {
                uuid,
                next_inbound_seq,
                keepalive_ms,
            } => {
                cx.shared.sessions[global]
                    .uuid
                    .store(uuid, Ordering::Release);
                let next_out = s.session.stored_state().next_outbound_seq;
                cx.log(LogEvent::Established {
                    session: global,
                    uuid,
                    next_in: next_inbound_seq,
                    next_out,
                    keepalive_ms,
                });
            }
            IlEvent::Rejected {
                stage,
                code,
                name,
                reason,
            } => cx.log(LogEvent::LogonRejected {
                session: global,
                stage,
                code,
                name,
                reason,
            }),
            IlEvent::Terminated {
                code,
                name,
                by_exchange,
                reason,
            } => cx.log(LogEvent::Terminated {
                session: global,
                code,
                name,
                by_exchange,
                reason,
            }),
            IlEvent::Business(b) => {
                cx.shared.sessions[global]
                    .events_received
                    .fetch_add(1, Ordering::Relaxed);
                let (rx, lat) = (s.rx_stamp, s.lat);
                let frame = s.session.business_frame(&b);
                if let Ok(m) = decode(frame) {
                    let Ctx {
                        router,
                        strategies,
                        recorder,
                        clock,
                        shared,
                        ..
                    } = cx;
                    router.on_message(i, &m, &mut |r: Reply| {
                        if let Some(sub) = r.submitted.filter(|s| s.is_set()) {
                            if rx.is_set() {
                                if let Some(slot) = recorder.slot(lat, Hop::ExchangeRtt) {
                                    recorder.record_span(slot, sub, rx);
                                }
                            }
                        }
                        publish(
                            strategies, shared, recorder, clock, r.strategy, r.event, rx, lat,
                        );
                    });
                }
            }
            IlEvent::RetransmitRequested {
                from_seq, count, ..
            } => cx.log(LogEvent::RetransmitRequested {
                session: global,
                from: from_seq,
                count,
            }),
            IlEvent::RetransmitRejected { code, name, reason } => {
                cx.log(LogEvent::RetransmitRejected {
                    session: global,
                    code,
                    name,
                    reason,
                })
            }
            IlEvent::MessagesLost {
                from_seq, count, ..
            } => cx.log(LogEvent::MessagesLost {
                session: global,
                from: from_seq,
                count,
            }),
            IlEvent::NotApplied {
                from_seq,
                count,
                action,
            } => {
                let told = match action {
                    NotAppliedAction::GapFilled => not_applied(cx, s.lat, i, from_seq, count),
                    NotAppliedAction::ResendRequired => {
                        // Housekeeping reads the journal; the frames come back as
                        // Control::Resend (owners of what is not journaled are told then).
                        let req = StoreReq::ReadOutbound {
                            session: global as u16,
                            local: i as u16,
                            uuid: s.session.stored_state().uuid,
                            from: from_seq,
                            count,
                        };
                        if cx.links.store.try_send(req).is_err() {
                            not_applied(cx, s.lat, i, from_seq, count)
                        } else {
                            0
                        }
                    }
                };
                cx.log(LogEvent::NotApplied {
                    session: global,
                    from: from_seq,
                    count,
                    owners_told: told,
                    resend: action == NotAppliedAction::ResendRequired,
                });
            }
            IlEvent::KeepAliveLapsed => cx.log(LogEvent::KeepAliveLapsed { session: global }),
            IlEvent::Alert(alert) => cx.log(LogEvent::Alert {
                session: global,
                alert,
            }),
            IlEvent::Disconnect(reason) => {
                cx.log(LogEvent::Disconnect {
                    session: global,
                    reason,
                });
                if s.conn.id.is_some() && s.conn.closing_since.is_none() {
                    s.conn.closing_since = Some(now.mono);
                }
            }
        }
    }
    s.handle
        .set_next_inbound(u64::from(s.session.stored_state().next_inbound_seq));
    s.rx_stamp = Stamp::NONE;
    (work, false)
}

/// Tells the owners of requests the exchange did not apply (gap filled).
fn not_applied(cx: &mut Ctx<'_>, lat: usize, i: usize, from: u32, count: u32) -> u32 {
    let Ctx {
        router,
        strategies,
        recorder,
        clock,
        shared,
        ..
    } = cx;
    router.not_applied(i, from, count, &mut |r: Reply| {
        publish(
            strategies,
            shared,
            recorder,
            clock,
            r.strategy,
            r.event,
            Stamp::NONE,
            lat,
        )
    })
}

/// Drains one Drop Copy session's events: business messages go to the housekeeping thread.
fn dc_events(
    links: &EngineLinks,
    shared: &DaemonShared,
    index: usize,
    d: &mut DcConn,
    now: Now,
) -> bool {
    let mut work = false;
    let global = d.global;
    let dcx = d.dc as u16;
    let Some(eng) = shared.engines.get(index) else {
        return false;
    };
    while let Some(ev) = d.session.poll_event() {
        work = true;
        let dc_note = |level: Level, what: &'static str, args: std::fmt::Arguments<'_>| {
            send_log(
                &links.log,
                eng,
                LogEvent::DcNote {
                    session: global,
                    level,
                    what,
                    text: note(args),
                },
            )
        };
        match ev {
            DcEvent::LoggedOn { next_out, next_in } => send_log(
                &links.log,
                eng,
                LogEvent::DcLoggedOn {
                    session: global,
                    next_out,
                    next_in,
                },
            ),
            DcEvent::Application { seq, raw, .. } => {
                shared.sessions[global]
                    .events_received
                    .fetch_add(1, Ordering::Relaxed);
                let mut rec = DcRec::new(dcx, seq, raw);
                // When housekeeping is far behind, wait for room rather than lose an execution
                // the session has already accepted.
                let mut spins = 0u32;
                while let Err(r) = links.dc.try_send(rec) {
                    rec = r;
                    spins += 1;
                    if spins > 100 {
                        std::thread::yield_now();
                    }
                }
            }
            DcEvent::ResendRequested { from, to } => dc_note(
                Level::Info,
                "resend requested",
                format_args!("{from}..={to}"),
            ),
            DcEvent::GapFilled { next_in } => dc_note(
                Level::Info,
                "gap filled",
                format_args!("next inbound {next_in}"),
            ),
            DcEvent::RejectReceived {
                ref_seq,
                reason,
                text,
            } => dc_note(
                Level::Warn,
                "reject received",
                format_args!("ref seq {ref_seq:?}, reason {reason:?}: {text}"),
            ),
            DcEvent::LoggedOut {
                text,
                next_expected,
            } => dc_note(
                Level::Info,
                "logged out",
                format_args!("{text} (next expected {next_expected:?})"),
            ),
            DcEvent::Alert { text } => dc_note(Level::Warn, "alert", format_args!("{text}")),
            DcEvent::Garbled { error } => {
                dc_note(Level::Warn, "garbled message", format_args!("{error}"))
            }
            DcEvent::Disconnect { reason } => {
                dc_note(Level::Info, "disconnect", format_args!("{reason}"));
                if d.conn.id.is_some() && d.conn.closing_since.is_none() {
                    d.conn.closing_since = Some(now.mono);
                }
            }
        }
    }
    work
}
