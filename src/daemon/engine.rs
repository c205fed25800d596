//! One hot thread: IO and scheduling around the sans-IO [`Core`].
//!
//! Per loop pass, with both clocks read once ([`read_clocks`]: monotonic for deadlines, wall
//! for wire stamps):
//! 1. control messages from the housekeeping thread (store answers, dead strategies, keys,
//!    risk limits) into the core;
//! 2. `Net::poll`: connection events and received bytes into the core;
//! 3. the core drains its sessions' events and flushes what they send ([`Core::service`]);
//! 4. timers, lingering closes and reconnects ([`Core::timers`]);
//! 5. strategy rings, round robin, at most [`POLL_BUDGET`] requests per strategy per round and
//!    up to [`POLL_ROUNDS`] rounds while a strategy still has requests, then any mass-cancel or
//!    cancel-on-exit sweep;
//! 6. a flush of the network backend after step 4 and after step 5: it is corked, so the
//!    orders of all those rounds leave in one write per connection; the journal records and
//!    order changes of those frames go to housekeeping only after the flush (a frame is never
//!    journaled before it reached the kernel);
//! 7. liveness and latency bookkeeping (strategy pid/heartbeat published for the housekeeping
//!    thread, histogram swap, loop heartbeat).
//!
//! The steady state (orders in, reports out) allocates nothing, takes no lock and makes no
//! blocking system call: sends go through the non-blocking backend; journal records, store
//! requests, Drop Copy messages and log events leave through fixed-size [`Link`] queues. A new
//! UUID is persisted (with fsync) by the housekeeping thread; the Negotiate waits for its
//! answer.

use super::core::{Core, DropCopySpec, IlinkSpec, Peer, Sink, StrategySpec, Wire};
pub use super::core::{DRAIN_TIMEOUT_NS, POLL_BUDGET};
use super::order_journal::OrderChange;
use super::reconcile::ExecCopy;
use super::router::{OrderSnapshot, Router};
use super::shared::{Control, DaemonShared, DcRec, JournalRec, LogEvent, Note, Phase, StoreReq};
use crate::latency::{Clock, Hop, Recorder, Stamp};
use crate::net::NetworkConfig;
use crate::net::{ConnId, Net, NetBackend, NetEvent, NetLimits, SendError};
use crate::runtime::idle::IdleStrategy;
use crate::runtime::idle::{IdleParams, Idler};
use crate::runtime::threads::Link;
use crate::shm::strategy::{Event, StrategySegment};
use crate::types::{
    EngineIdx, LatencySlot, LocalSessionIdx, LocalStrategyIdx, Nanos, Now, StrategyIdx, WallNanos,
};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How often the engine reads the strategies' pid/heartbeat and heartbeats the segments.
const LIVENESS_EVERY_NS: u64 = 10_000_000;
/// Bytes held for a connection whose kernel send buffer is full.
const STALL_CAPACITY: usize = 1 << 20;
/// Loop turns between publications of the thread's allocation count.
const ALLOC_PUBLISH_EVERY: u64 = 64;
/// Rounds of [`POLL_BUDGET`] requests per strategy one pass may take (while some strategy has
/// more waiting) before the pass flushes them to the network: a burst of up to
/// `POLL_ROUNDS * POLL_BUDGET` orders per strategy costs one write. One for now: a pass takes
/// at most [`POLL_BUDGET`] per strategy. (With 8, `tests/it/daemon_alloc.rs` counted 2-3 % more
/// orders sent than its window's requests: its strategy missed heartbeats on the loaded
/// machine and the daemon's cancel-on-exit sweep added cancels; the test now lifts the
/// heartbeat timeout. More rounds have not been measured since.)
pub const POLL_ROUNDS: usize = 1;
/// Journal records and order changes an engine can hold back until their frames are flushed
/// (at least; more with more strategies).
const STAGE_MIN: usize = 4096;

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

/// What an engine needs for one strategy.
pub struct StrategySetup {
    pub global: StrategyIdx,
    pub segment: StrategySegment,
    /// Engine session of each of the strategy's sessions.
    pub sessions: Vec<LocalSessionIdx>,
}

/// The queues of one engine.
#[derive(Clone)]
pub struct EngineLinks {
    pub journal: Link<JournalRec>,
    pub dc: Link<DcRec>,
    /// iLink 3 execution reports for the Drop Copy reconciliation.
    pub exec: Link<ExecCopy>,
    /// Order-journal records (every change of an order's state), appended by housekeeping.
    pub orders: Link<(OrderChange, OrderSnapshot)>,
    pub log: Link<LogEvent>,
    pub control: Link<Control>,
    /// Session store work the hot thread leaves to housekeeping (new UUID, journal reads).
    pub store: Link<StoreReq>,
}

/// Everything an engine thread is built from.
pub struct EngineSetup {
    pub index: usize,
    pub ilink: Vec<IlinkSpec>,
    pub dropcopy: Vec<DropCopySpec>,
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

/// One backend connection: its id and the bytes its full send buffer refused.
struct Conn {
    id: Option<ConnId>,
    stall: Vec<u8>,
    /// First send submitted since the last completion (latency).
    pending_submit: Stamp,
}

/// The network side of [`Wire`]: the backend and a connection per session.
struct NetWire {
    net: Net,
    ilink: Vec<Conn>,
    dc: Vec<Conn>,
    clock: Clock,
}

impl NetWire {
    fn conn(&mut self, peer: Peer) -> Option<&mut Conn> {
        match peer {
            Peer::Ilink(i) => self.ilink.get_mut(i.get()),
            Peer::DropCopy(d) => self.dc.get_mut(d.get()),
        }
    }

    fn conn_ref(&self, peer: Peer) -> Option<&Conn> {
        match peer {
            Peer::Ilink(i) => self.ilink.get(i.get()),
            Peer::DropCopy(d) => self.dc.get(d.get()),
        }
    }
}

/// Which session a backend connection belongs to.
fn peer_of(ilink: &[Conn], dc: &[Conn], id: ConnId) -> Option<Peer> {
    if let Some(i) = ilink.iter().position(|c| c.id == Some(id)) {
        return Some(Peer::Ilink(LocalSessionIdx::new(i)));
    }
    dc.iter()
        .position(|c| c.id == Some(id))
        .map(|d| Peer::DropCopy(LocalSessionIdx::new(d)))
}

impl Wire for NetWire {
    fn connect(&mut self, peer: Peer, addr: SocketAddr) -> Result<(), Note> {
        match self.net.connect(addr) {
            Ok(id) => {
                if let Some(c) = self.conn(peer) {
                    c.id = Some(id);
                    c.stall.clear();
                }
                Ok(())
            }
            Err(e) => Err(note(format_args!("{e}"))),
        }
    }

    fn close(&mut self, peer: Peer) {
        let Some(c) = self.conn(peer) else {
            return;
        };
        let id = c.id.take();
        c.stall.clear();
        if let Some(id) = id {
            self.net.close(id);
        }
    }

    fn flushed(&self, peer: Peer) -> bool {
        self.conn_ref(peer).is_none_or(|c| {
            c.stall.is_empty()
                && c.id
                    .is_none_or(|id| self.net.queued(id).is_none_or(|q| q == 0))
        })
    }

    fn can_send(&self, peer: Peer) -> bool {
        self.conn_ref(peer).is_some_and(|c| c.stall.is_empty())
    }

    fn send(&mut self, peer: Peer, bytes: Option<&[u8]>) -> Result<bool, &'static str> {
        let NetWire {
            net,
            ilink,
            dc,
            clock,
        } = self;
        let conn = match peer {
            Peer::Ilink(i) => ilink.get_mut(i.get()),
            Peer::DropCopy(d) => dc.get_mut(d.get()),
        };
        let Some(conn) = conn else {
            return Ok(false);
        };
        // Called for every session on every pass: read the clock only when there is something
        // to hand to the backend.
        if bytes.is_none() && conn.stall.is_empty() {
            return Ok(false);
        }
        flush_conn(net, conn, bytes, clock.now())
    }
}

/// Hands `bytes` (if any) to the backend after whatever is stalled; bytes the backend cannot
/// take are kept in the stall buffer. `Err` when even that is full (the connection must go).
fn flush_conn(
    net: &mut Net,
    conn: &mut Conn,
    bytes: Option<&[u8]>,
    now: Stamp,
) -> Result<bool, &'static str> {
    let Some(id) = conn.id else {
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
        conn.pending_submit = now;
    }
    Ok(sent)
}

struct StrategyConn {
    global: StrategyIdx,
    segment: StrategySegment,
    pid: u32,
}

/// The rest of the core's outputs: strategy rings, housekeeping links, latency recorder.
struct EngineSink {
    strategies: Vec<StrategyConn>,
    recorder: Recorder,
    clock: Clock,
    links: EngineLinks,
    shared: Arc<DaemonShared>,
    index: usize,
    /// Journal records and order changes of frames not handed to the (corked) backend yet:
    /// they reach housekeeping after the flush that writes their frames, so the journals never
    /// hold a frame a crash kept from the kernel ([`EngineSink::release`]).
    staged_journal: Vec<JournalRec>,
    staged_orders: Vec<(OrderChange, OrderSnapshot)>,
}

impl EngineSink {
    fn eng(&self) -> &super::shared::EngineShared {
        &self.shared.engines[self.index]
    }

    /// Hands the staged journal records and order changes to housekeeping (after the flush
    /// of their frames, or before a store request that must find them journaled).
    fn release(&mut self) {
        for rec in &self.staged_journal {
            if self.links.journal.try_send(*rec).is_err() {
                self.shared.engines[self.index]
                    .journal_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        self.staged_journal.clear();
        for (change, snap) in &self.staged_orders {
            if self.links.orders.try_send((*change, *snap)).is_err() {
                self.shared.engines[self.index]
                    .order_changes_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        self.staged_orders.clear();
    }
}

impl Sink for EngineSink {
    fn publish(&mut self, strategy: LocalStrategyIdx, mut ev: Event, rx: Stamp, lat: LatencySlot) {
        let Some(st) = self.strategies.get_mut(strategy.get()) else {
            return;
        };
        ev.daemon_ns = realtime_ns();
        let counters = self.shared.strategies.get(st.global.get());
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
            let now = self.clock.now();
            if let Some(slot) = self.recorder.slot(lat.get(), Hop::ResponsePublish) {
                self.recorder.record_span(slot, rx, now);
            }
        }
    }

    fn journal(&mut self, rec: &JournalRec) {
        if self.staged_journal.len() == self.staged_journal.capacity() {
            // Never in a pass of the sizes staging is made for (see `STAGE_MIN`); housekeeping
            // then gets the records before their frames are written.
            self.release();
        }
        self.staged_journal.push(*rec);
    }

    fn store(&mut self, req: StoreReq) -> bool {
        // Housekeeping appends every journal record sent before a store request first.
        self.release();
        self.links.store.try_send(req).is_ok()
    }

    fn exec_copy(&mut self, c: &ExecCopy) {
        if self.links.exec.try_send(*c).is_err() {
            self.eng()
                .exec_copies_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn order_change(&mut self, change: OrderChange, s: &OrderSnapshot) {
        if self.staged_orders.len() == self.staged_orders.capacity() {
            self.release();
        }
        self.staged_orders.push((change, *s));
    }

    fn dropcopy(&mut self, rec: DcRec) {
        // When housekeeping is far behind, wait for room rather than lose an execution the
        // session has already accepted.
        let mut rec = rec;
        let mut spins = 0u32;
        while let Err(r) = self.links.dc.try_send(rec) {
            rec = r;
            spins += 1;
            if spins > 100 {
                std::thread::yield_now();
            }
        }
    }

    fn log(&mut self, ev: LogEvent) {
        if self.links.log.try_send(ev).is_err() {
            self.eng().logs_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn stamp(&self) -> Stamp {
        self.clock.now()
    }

    fn span(&mut self, lat: LatencySlot, hop: Hop, from: Stamp, to: Stamp) {
        if let Some(slot) = self.recorder.slot(lat.get(), hop) {
            self.recorder.record_span(slot, from, to);
        }
    }

    fn hop(&mut self, lat: LatencySlot, hop: Hop, ns: u64) {
        self.recorder.record_hop(lat.get(), hop, ns);
    }

    fn stamp_wall_ns(&self, s: Stamp) -> u64 {
        self.clock.to_unix_ns(s)
    }
}

/// The hot thread's state.
pub struct Engine {
    index: usize,
    core: Core,
    wire: NetWire,
    sink: EngineSink,
    idle: Idler,
    rr: usize,
    next_liveness: Nanos,
    turns: u64,
}

impl Engine {
    /// Builds the engine (opens the network backend); call on the engine's own thread.
    pub fn new(s: EngineSetup) -> Result<Engine, crate::net::NetError> {
        let sessions = s.ilink.len() + s.dropcopy.len();
        let limits = NetLimits {
            max_conns: (sessions as u16).saturating_mul(2).max(4),
            ..NetLimits::default()
        };
        let mut net = Net::open(&s.network, limits)?;
        // Every frame a pass produces goes out in one write at the end of the pass.
        net.set_corked(true);
        let clock = *s.recorder.clock();
        let conn = |_| Conn {
            id: None,
            stall: Vec::with_capacity(STALL_CAPACITY),
            pending_submit: Stamp::NONE,
        };
        let wire = NetWire {
            net,
            ilink: (0..s.ilink.len()).map(conn).collect(),
            dc: (0..s.dropcopy.len()).map(conn).collect(),
            clock,
        };
        let specs = s
            .strategies
            .iter()
            .map(|x| StrategySpec {
                global: x.global,
                sessions: x.sessions.clone(),
            })
            .collect();
        let core = Core::new(
            EngineIdx::new(s.index),
            s.ilink,
            s.dropcopy,
            specs,
            s.router,
            &s.network,
            s.shared.clone(),
            s.seed,
        );
        // Records one pass can stage: every request of every round (a frame and a few order
        // changes each) and the sweeps, with room to spare for what the exchange answers.
        let stage = STAGE_MIN + 4 * s.strategies.len() * (POLL_ROUNDS + 1) * POLL_BUDGET;
        let strategies = s
            .strategies
            .into_iter()
            .map(|x| StrategyConn {
                global: x.global,
                segment: x.segment,
                pid: 0,
            })
            .collect();
        Ok(Engine {
            index: s.index,
            core,
            wire,
            sink: EngineSink {
                strategies,
                recorder: s.recorder,
                clock,
                links: s.links,
                shared: s.shared,
                index: s.index,
                staged_journal: Vec::with_capacity(stage),
                staged_orders: Vec::with_capacity(stage),
            },
            idle: Idler::with_params(s.idle, s.idle_params),
            rr: 0,
            next_liveness: Nanos(0),
            turns: 0,
        })
    }

    /// The network backend in use.
    pub fn backend(&self) -> &'static str {
        self.wire.net.kind().name()
    }

    /// Runs until the daemon has drained; returns whether every session closed cleanly.
    pub fn run(mut self) -> bool {
        loop {
            let stamp = self.sink.clock.now();
            let now = read_clocks();
            let mut work = self.control(now);
            work |= self.poll_net(now, stamp);
            work |= self.core.service(now, &mut self.sink, &mut self.wire);
            work |= self.core.timers(now, &mut self.sink, &mut self.wire);
            self.flush_net();
            work |= self.strategies(now);
            self.flush_net();
            self.bookkeeping(now, stamp);
            if self.sink.shared.phase() != Phase::Running {
                if !self.core.draining() {
                    self.core.start_drain(now, &mut self.sink);
                    work = true;
                }
                if self.core.drained() {
                    break;
                }
                if self.core.drain_timed_out(now) {
                    return self.finish(false);
                }
            }
            self.idle.idle(work);
        }
        self.finish(true)
    }

    fn finish(mut self, clean: bool) -> bool {
        self.flush_net();
        self.core.finish(&mut self.wire);
        self.sink.release();
        self.sink.log(LogEvent::EngineStopped {
            engine: self.index,
            clean,
        });
        let now = self.sink.clock.now();
        let index = self.index;
        let EngineSink {
            recorder, shared, ..
        } = self.sink;
        recorder.finish(now);
        if let Some(e) = shared.engines.get(index) {
            e.done.store(true, Ordering::Release);
        }
        clean
    }

    fn control(&mut self, now: Now) -> bool {
        let mut work = false;
        while let Some(c) = self.sink.links.control.try_recv() {
            work = true;
            self.core.on_control(c, now, &mut self.sink);
        }
        work
    }

    fn poll_net(&mut self, now: Now, stamp: Stamp) -> bool {
        let Engine {
            core, wire, sink, ..
        } = self;
        let NetWire {
            net,
            ilink,
            dc,
            clock,
        } = wire;
        let mut handler = |id: ConnId, ev: NetEvent<'_>| {
            let Some(peer) = peer_of(ilink, dc, id) else {
                return;
            };
            match ev {
                NetEvent::Connected => core.on_connected(peer, now, sink),
                NetEvent::Data(bytes) => core.on_data(peer, bytes, stamp, now, sink),
                NetEvent::SendComplete => {
                    let c = match peer {
                        Peer::Ilink(i) => ilink.get_mut(i.get()),
                        Peer::DropCopy(d) => dc.get_mut(d.get()),
                    };
                    if let Some(c) = c {
                        if c.pending_submit.is_set() {
                            if let Peer::Ilink(i) = peer {
                                let lat = core.ilink_latency_slot(i);
                                sink.span(lat, Hop::SendComplete, c.pending_submit, clock.now());
                            }
                            c.pending_submit = Stamp::NONE;
                        }
                    }
                }
                NetEvent::Closed(reason) => {
                    if let Some(c) = match peer {
                        Peer::Ilink(i) => ilink.get_mut(i.get()),
                        Peer::DropCopy(d) => dc.get_mut(d.get()),
                    } {
                        c.id = None;
                        c.stall.clear();
                    }
                    core.on_closed(peer, reason, now, sink);
                }
                NetEvent::ConnectFailed(e) => {
                    if let Some(c) = match peer {
                        Peer::Ilink(i) => ilink.get_mut(i.get()),
                        Peer::DropCopy(d) => dc.get_mut(d.get()),
                    } {
                        c.id = None;
                    }
                    core.on_connect_failed(peer, &e, now, sink);
                }
            }
        };
        match net.poll(&mut handler) {
            Ok(n) => n > 0,
            Err(e) => {
                let why = note(format_args!("network poll failed: {e}"));
                sink.log(LogEvent::SendFailed { session: 0, why });
                false
            }
        }
    }

    /// Hands the frames queued since the last flush to the kernel (one write per connection),
    /// then their journal records and order changes to housekeeping.
    fn flush_net(&mut self) {
        if let Err(e) = self.wire.net.flush() {
            let why = note(format_args!("network flush failed: {e}"));
            self.sink.log(LogEvent::SendFailed { session: 0, why });
        }
        self.sink.release();
    }

    fn strategies(&mut self, now: Now) -> bool {
        let n = self.sink.strategies.len();
        if n == 0 {
            // Still the `on_restart` request of each session.
            return self.core.sweep(now, &mut self.sink, &mut self.wire);
        }
        let mut work = false;
        let mut now = now;
        for round in 0..POLL_ROUNDS {
            if round > 0 {
                // Wire timestamps and rate limits see the time of their own round.
                now = read_clocks();
            }
            // Whether some strategy used its whole budget (and may have more waiting).
            let mut more = false;
            for k in 0..n {
                let si = LocalStrategyIdx::new((self.rr + k) % n);
                if self.core.strategy_blocked(si, &self.wire) {
                    continue;
                }
                let mut taken = 0;
                while taken < POLL_BUDGET {
                    let Some(r) = self.sink.strategies[si.get()].segment.poll_request() else {
                        break;
                    };
                    taken += 1;
                    let deq = self.sink.clock.now();
                    self.core
                        .on_request(si, r, deq, now, &mut self.sink, &mut self.wire);
                    if self.core.faulted(si) {
                        break;
                    }
                }
                work |= taken > 0;
                more |= taken == POLL_BUDGET;
            }
            if !more {
                break;
            }
        }
        work |= self.core.sweep(now, &mut self.sink, &mut self.wire);
        self.rr = (self.rr + 1) % n;
        work
    }

    fn bookkeeping(&mut self, now: Now, stamp: Stamp) {
        self.turns += 1;
        let eng = &self.sink.shared.engines[self.index];
        eng.heartbeat.store(self.turns, Ordering::Release);
        if self.turns.is_multiple_of(ALLOC_PUBLISH_EVERY) {
            eng.allocations.store(
                crate::runtime::alloc_count::thread_allocations(),
                Ordering::Release,
            );
        }
        self.sink.recorder.poll(stamp);
        if now.mono < self.next_liveness {
            return;
        }
        self.next_liveness = now.mono.add_ns(LIVENESS_EVERY_NS);
        for si in 0..self.sink.strategies.len() {
            let local = LocalStrategyIdx::new(si);
            let st = &self.sink.strategies[si];
            st.segment.heartbeat(now.wall.0);
            let pid = st.segment.strategy_pid().unwrap_or(0);
            let hb = st.segment.strategy_heartbeat_ns();
            let sh = &self.sink.shared.strategies[st.global.get()];
            sh.pid.store(pid, Ordering::Release);
            sh.heartbeat.store(hb, Ordering::Release);
            sh.open_orders
                .store(u64::from(self.core.open_orders(local)), Ordering::Relaxed);
            if pid != st.pid {
                let global = st.global.get();
                self.sink.strategies[si].pid = pid;
                if pid != 0 {
                    let faulted = self.sink.strategies[si].segment.fault().is_some();
                    self.sink.log(LogEvent::StrategyAttached {
                        strategy: global,
                        pid,
                    });
                    self.core.strategy_attached(local, faulted, &mut self.sink);
                }
            }
        }
        self.core.publish_progress();
    }
}

fn note(args: std::fmt::Arguments<'_>) -> Note {
    let mut n = Note::default();
    let _ = n.write_fmt(args);
    n
}
