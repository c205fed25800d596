//! The simulator's TCP server: the sans-IO [`Exchange`] (iLink 3 + matching engine) and
//! [`DropCopyRegistry`] driven over real sockets.
//!
//! One thread runs a single non-blocking loop over std `TcpListener`/`TcpStream`s (TCP_NODELAY):
//! accept, read and feed, route the engine's reports to Drop Copy, run timers, poll what every
//! connection has to send, write. When a turn finds nothing to do it does what
//! [`SimConfig::idle`] says: `Spin` busy-polls; `SpinThenYield` yields for a few turns, then
//! blocks in poll(2) on every socket (and a waker the handle writes to on stop / fault changes)
//! until one is ready or the next timer is due (keepalive, heartbeat, delayed output, a closing
//! connection's linger); `Park` blocks at once. An idle simulator costs nothing and no message
//! ever waits for a sleep to end. Every session has its own port (per-session fault injection is
//! per port).
//!
//! Embedding (tests, the demo):
//!
//! ```no_run
//! # use ilinkd::sim::config::SimConfig;
//! # use ilinkd::sim::server::SimServer;
//! # fn f(cfg: SimConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let sim = SimServer::start(cfg)?;              // binds every port before returning
//! let addr = sim.ilink3_addr("DMO").unwrap();     // 127.0.0.1:<bound port>
//! // ... connect clients ...
//! let summary = sim.stop();                       // stops the loop, returns the counters
//! summary.write_json(std::path::Path::new("sim-summary.json"))?;
//! # Ok(()) }
//! ```
//!
//! Faults that belong to the server rather than a gateway: `delay_ms` (outbound bytes are held),
//! `silent` on iLink 3 (set on the gateway once the session is established), `not_applied`
//! (injected after the client's K-th business message) and `connections` (faults apply to the
//! first N connections of a session only).

use super::config::{SessionFaults, SimConfig};
use super::dropcopy_gateway::{
    DcEvent, DropCopyAccount, DropCopyGatewayConfig, DropCopyRegistry, DropCopySession,
};
use super::dropcopy_store::DropCopyFileStore;
use super::exchange::{ConnId, Exchange};
use super::ilink3_gateway::{
    GatewayConfig, GatewayEvent, LogonStage, SessionAccount, SessionRegistry,
};
use super::matching::{MatchingEngine, Report, ReportKind};
use super::SessionKey;
use crate::runtime::idle::IdleStrategy;
use crate::store::StoreError;
use rustix::event::{PollFd, PollFlags, Timespec};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

const MS: u64 = 1_000_000;
/// Ranges kept in the summary's lists (the rest are counted).
const MAX_RANGES: usize = 10_000;
/// Stop polling a connection for output while this much is unwritten (backpressure).
const OUT_HIGH_WATER: usize = 4 << 20;
/// How long a closing connection may take to read the peer's EOF.
const LINGER_NS: u64 = 1_000 * MS;
/// Reads per connection per loop turn.
const READS_PER_TURN: usize = 8;
/// `SpinThenYield`: idle turns spent yielding before blocking on readiness.
const YIELD_TURNS: u32 = 16;
/// Longest interval between accept attempts when no readiness wait reported a listener.
const ACCEPT_EVERY_NS: u64 = MS;
/// Longest readiness wait when no timer is due sooner (the summary is refreshed at this pace).
const MAX_WAIT_NS: u64 = 50 * MS;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr} for {what}: {source}")]
    Bind {
        addr: SocketAddr,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("simulator state: {0}")]
    Store(#[from] StoreError),
    #[error("cannot start the simulator thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// A retransmission or resend range seen by the simulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeqRange {
    pub session: String,
    pub from: u64,
    pub to: u64,
}

/// Counters written by `--summary FILE` and returned by [`SimHandle::stop`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub connections: u64,
    pub ilink3_logons_ok: u64,
    /// `"<negotiate|establish> <code> <CME name>"` → count.
    pub ilink3_logons_failed: BTreeMap<String, u64>,
    pub dropcopy_logons_ok: u64,
    /// Reason (the Logout text) → count.
    pub dropcopy_logons_failed: BTreeMap<String, u64>,
    /// NewOrderSingle received.
    pub orders: u64,
    /// NewOrderSingles whose ClOrdID the session had already used (an order sent twice).
    pub duplicate_cl_ord_ids: u64,
    /// Every business message received from iLink 3 clients.
    pub business_messages_in: u64,
    /// ExecutionReportNew.
    pub acks: u64,
    /// ExecutionReportTradeOutright (one per side).
    pub fills: u64,
    pub order_rejects: u64,
    pub cancels: u64,
    /// Drop Copy business messages published (all accounts).
    pub dropcopy_reports: u64,
    /// iLink 3 RetransmitRequests served.
    pub retransmit_requests: Vec<SeqRange>,
    /// `"<code> <CME name>"` → count.
    pub retransmit_rejects: BTreeMap<String, u64>,
    /// Drop Copy ResendRequests served.
    pub resend_requests: Vec<SeqRange>,
    pub resend_rejects: u64,
    /// Ranges beyond the lists' capacity.
    pub ranges_not_listed: u64,
    pub not_applied_sent: u64,
    pub keepalive_lapses: u64,
    pub test_requests_sent: u64,
    /// `"<code> <CME name> by <client|gateway>"` → count.
    pub terminates: BTreeMap<String, u64>,
    /// Drop Copy Logouts after logon (reason → count).
    pub logouts: BTreeMap<String, u64>,
    /// What → count.
    pub protocol_violations: BTreeMap<String, u64>,
    pub ports_closed: u64,
    /// Orders resting in the books (all sessions) when the summary was refreshed.
    pub resting_orders: u64,
}

impl Summary {
    /// Writes the counters as pretty JSON.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }

    fn bump(map: &mut BTreeMap<String, u64>, key: String) {
        *map.entry(key).or_insert(0) += 1;
    }

    fn range(&mut self, dropcopy: bool, r: SeqRange) {
        let list = if dropcopy {
            &mut self.resend_requests
        } else {
            &mut self.retransmit_requests
        };
        if list.len() < MAX_RANGES {
            list.push(r);
        } else {
            self.ranges_not_listed += 1;
        }
    }
}

enum Control {
    SetFaults {
        dropcopy: bool,
        name: String,
        faults: SessionFaults,
    },
    /// Drop the session's connections now (no Terminate / Logout).
    Drop { dropcopy: bool, name: String },
    /// Send Terminate on the iLink 3 session's established connections now.
    Terminate { name: String },
}

/// A running simulator. Dropping it stops it.
pub struct SimHandle {
    ilink3: Vec<(String, SocketAddr)>,
    dropcopy: Vec<(String, SocketAddr)>,
    stop: Arc<AtomicBool>,
    control: mpsc::Sender<Control>,
    /// Wakes a server blocked on readiness (one byte per stop / control message).
    waker: UnixStream,
    shared: Arc<Mutex<Summary>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("ilink3", &self.ilink3)
            .field("dropcopy", &self.dropcopy)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// Where the iLink 3 session `session_id` listens.
    pub fn ilink3_addr(&self, session_id: &str) -> Option<SocketAddr> {
        self.ilink3
            .iter()
            .find(|(s, _)| s == session_id)
            .map(|(_, a)| *a)
    }

    /// Where the Drop Copy session of SenderCompID `sender_comp_id` listens.
    pub fn dropcopy_addr(&self, sender_comp_id: &str) -> Option<SocketAddr> {
        self.dropcopy
            .iter()
            .find(|(s, _)| s == sender_comp_id)
            .map(|(_, a)| *a)
    }

    /// Every iLink 3 session and its address.
    pub fn ilink3_addrs(&self) -> &[(String, SocketAddr)] {
        &self.ilink3
    }

    /// Every Drop Copy session and its address.
    pub fn dropcopy_addrs(&self) -> &[(String, SocketAddr)] {
        &self.dropcopy
    }

    /// The counters so far (refreshed by the server every ~50 ms while they change).
    pub fn summary(&self) -> Summary {
        self.shared.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the faults of an iLink 3 session for its next connections.
    pub fn set_ilink3_faults(&self, session_id: &str, faults: SessionFaults) {
        let _ = self.control.send(Control::SetFaults {
            dropcopy: false,
            name: session_id.into(),
            faults,
        });
        self.wake();
    }

    /// Replaces the faults of a Drop Copy session for its next connections.
    pub fn set_dropcopy_faults(&self, sender_comp_id: &str, faults: SessionFaults) {
        let _ = self.control.send(Control::SetFaults {
            dropcopy: true,
            name: sender_comp_id.into(),
            faults,
        });
        self.wake();
    }

    /// Interrupts a readiness wait (a full waker already holds a wake-up: ignored).
    fn wake(&self) {
        let _ = (&self.waker).write(&[1]);
    }

    /// Drops the TCP connections of an iLink 3 session (`dropcopy` false) or a Drop Copy
    /// session now, without Terminate or Logout: the client reconnects (and gets the faults set
    /// for its next connection).
    pub fn drop_connections(&self, dropcopy: bool, name: &str) {
        let _ = self.control.send(Control::Drop {
            dropcopy,
            name: name.into(),
        });
    }

    /// Sends Terminate (ErrorCodes 23 Other) on an iLink 3 session's connection now, as CME
    /// may at any time: the client re-establishes.
    pub fn terminate_ilink3(&self, session_id: &str) {
        let _ = self.control.send(Control::Terminate {
            name: session_id.into(),
        });
    }

    /// Whether the server loop is still running.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the server (connections are dropped) and returns the final counters.
    pub fn stop(mut self) -> Summary {
        self.shutdown();
        self.summary()
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts simulators.
#[derive(Debug)]
pub struct SimServer;

impl SimServer {
    /// Opens the state (when `cfg.state_dir` is set), binds every session's port and starts the
    /// server thread.
    pub fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
        let mut core = Core::new(&cfg)?;
        let mut ilink3 = Vec::new();
        let mut dropcopy = Vec::new();
        for (i, e) in cfg.ilink3.iter().enumerate() {
            let addr = SocketAddr::new(cfg.listen, e.port);
            let l = bind(addr, format!("iLink 3 session {}", e.session_id))?;
            let local = l.local_addr().unwrap_or(addr);
            tracing::info!(session = %e.session_id, %local, "sim: iLink 3 listening");
            ilink3.push((e.session_id.clone(), local));
            core.listeners.push((l, Proto::Ilink3, i));
        }
        for (i, e) in cfg.dropcopy.iter().enumerate() {
            let addr = SocketAddr::new(cfg.listen, e.port);
            let l = bind(addr, format!("Drop Copy session {}", e.sender_comp_id))?;
            let local = l.local_addr().unwrap_or(addr);
            tracing::info!(session = %e.sender_comp_id, %local, "sim: Drop Copy listening");
            dropcopy.push((e.sender_comp_id.clone(), local));
            core.listeners.push((l, Proto::DropCopy, i));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Summary::default()));
        let (tx, rx) = mpsc::channel();
        let (waker, wakee) = UnixStream::pair().map_err(SimError::Thread)?;
        waker.set_nonblocking(true).map_err(SimError::Thread)?;
        wakee.set_nonblocking(true).map_err(SimError::Thread)?;
        core.wakee = Some(wakee);
        let pin = cfg.core;
        let thread = {
            let stop = stop.clone();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("ilinkd-sim".into())
                .spawn(move || {
                    if let Some(id) = pin {
                        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
                            tracing::warn!(core = id, "sim: cannot pin the server thread");
                        }
                    }
                    core.run(&stop, &rx, &shared)
                })
                .map_err(SimError::Thread)?
        };
        Ok(SimHandle {
            ilink3,
            dropcopy,
            stop,
            control: tx,
            waker,
            shared,
            thread: Some(thread),
        })
    }
}

fn bind(addr: SocketAddr, what: String) -> Result<TcpListener, SimError> {
    let l = TcpListener::bind(addr).map_err(|source| SimError::Bind {
        addr,
        what: what.clone(),
        source,
    })?;
    l.set_nonblocking(true)
        .map_err(|source| SimError::Bind { addr, what, source })?;
    Ok(l)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Ilink3,
    DropCopy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Ilink3(ConnId),
    DropCopy(usize),
}

struct Endpoint {
    name: String,
    faults: SessionFaults,
    connections: u32,
}

struct Conn {
    id: u64,
    slot: Slot,
    endpoint: usize,
    stream: TcpStream,
    peer: SocketAddr,
    out: Vec<u8>,
    out_pos: usize,
    delayed: VecDeque<(u64, Vec<u8>)>,
    faults: SessionFaults,
    business_in: u64,
    /// Closing: the protocol side is gone; write what is left, then wait for EOF until then.
    closing: Option<u64>,
    write_shut: bool,
    /// Remove at the end of the turn.
    dead: bool,
}

impl Conn {
    fn unwritten(&self) -> usize {
        self.out.len() - self.out_pos
    }

    fn queue(&mut self, now: u64, bytes: &[u8]) {
        match self.faults.delay_ms.filter(|&d| d > 0) {
            Some(d) => self.delayed.push_back((now + d * MS, bytes.to_vec())),
            None => self.out.extend_from_slice(bytes),
        }
    }

    fn release_delayed(&mut self, now: u64) -> bool {
        let mut moved = false;
        while self.delayed.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, b)) = self.delayed.pop_front() {
                self.out.extend_from_slice(&b);
                moved = true;
            }
        }
        moved
    }

    /// Writes what it can; false when the socket failed.
    fn flush(&mut self) -> Result<bool, ()> {
        let mut wrote = false;
        while self.out_pos < self.out.len() {
            let pending = self.out.get(self.out_pos..).unwrap_or_default();
            match self.stream.write(pending) {
                Ok(0) => return Err(()),
                Ok(n) => {
                    self.out_pos += n;
                    wrote = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(()),
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > (1 << 20) {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        Ok(wrote)
    }
}

struct Core {
    ex: Exchange,
    dc: DropCopyRegistry,
    dc_conns: Vec<Option<DropCopySession>>,
    ilink3: Vec<Endpoint>,
    dropcopy: Vec<Endpoint>,
    listeners: Vec<(TcpListener, Proto, usize)>,
    conns: Vec<Conn>,
    next_conn: u64,
    /// (session id, firm id) per iLink 3 SessionKey.
    sessions: Vec<(String, String)>,
    summary: Summary,
    dirty: bool,
    reports: Vec<(SessionKey, Report)>,
    buf: Vec<u8>,
    idle: IdleStrategy,
    /// Read end of the handle's waker.
    wakee: Option<UnixStream>,
    /// A readiness wait saw a listener readable: accept on the next turn.
    listener_ready: bool,
    /// When the listeners are tried again without a readiness wait saying so (wall ns).
    next_accept: u64,
}

impl Core {
    fn new(cfg: &SimConfig) -> Result<Core, SimError> {
        let mut il_keys = HashMap::new();
        let accounts: Vec<SessionAccount> = cfg
            .ilink3
            .iter()
            .map(|e| {
                for k in &e.keys {
                    il_keys.insert(k.access_key_id.clone(), k.signer.clone());
                }
                SessionAccount {
                    session_id: e.session_id.clone(),
                    firm_id: e.firm_id.clone(),
                    access_key_ids: e.keys.iter().map(|k| k.access_key_id.clone()).collect(),
                }
            })
            .collect();
        let mut gcfg = GatewayConfig::new(accounts, il_keys);
        gcfg.keepalive_min_ms = cfg.keepalive_min_ms;
        gcfg.keepalive_max_ms = cfg.keepalive_max_ms;
        gcfg.journal_retention = cfg.journal_retention;
        let mut dc_keys = HashMap::new();
        let dc_accounts = cfg
            .dropcopy
            .iter()
            .map(|e| {
                for k in &e.keys {
                    dc_keys.insert(k.access_key_id.clone(), k.signer.clone());
                }
                DropCopyAccount {
                    sender_comp_id: e.sender_comp_id.clone(),
                    firm_ids: e.firms.clone(),
                    access_key_ids: e.keys.iter().map(|k| k.access_key_id.clone()).collect(),
                    xml_non_fix: e.xml_non_fix,
                }
            })
            .collect();
        let mut dcfg = DropCopyGatewayConfig::new(dc_accounts, dc_keys);
        dcfg.heartbeat_min_s = cfg.heartbeat_min_s;
        dcfg.heartbeat_max_s = cfg.heartbeat_max_s;
        dcfg.retention = cfg.journal_retention;
        dcfg.symbols = cfg.symbols.clone();
        let (registry, dc) = match &cfg.state_dir {
            Some(dir) => {
                crate::store::create_dir_private(dir)?;
                let reg = SessionRegistry::open(gcfg, &dir.join("ilink3"), cfg.fsync)?;
                let ids: Vec<&str> = cfg
                    .dropcopy
                    .iter()
                    .map(|e| e.sender_comp_id.as_str())
                    .collect();
                let (store, recovered) =
                    DropCopyFileStore::open(&dir.join("dropcopy"), cfg.fsync, &ids)?;
                let dc = DropCopyRegistry::with_store(dcfg, Box::new(store), recovered);
                (reg, dc)
            }
            None => (SessionRegistry::new(gcfg), DropCopyRegistry::new(dcfg)),
        };
        let mut dc = dc;
        for e in &cfg.dropcopy {
            apply_withhold(&mut dc, &e.sender_comp_id, &e.faults);
        }
        let mut ex = Exchange::new(registry, MatchingEngine::new(cfg.mode, &cfg.instruments));
        ex.set_report_tap(!cfg.dropcopy.is_empty());
        ex.set_record(cfg.record.clone());
        if cfg.state_dir.is_some() {
            // A restarted exchange never reuses an ExecID or OrderID of an earlier run.
            ex.engine_mut().set_id_base(now_ns() / 1_000);
        }
        cfg.apply_order_rules(&mut ex);
        let endpoint = |name: &str, faults: &SessionFaults| Endpoint {
            name: name.to_string(),
            faults: faults.clone(),
            connections: 0,
        };
        Ok(Core {
            ex,
            dc,
            dc_conns: Vec::new(),
            ilink3: cfg
                .ilink3
                .iter()
                .map(|e| endpoint(&e.session_id, &e.faults))
                .collect(),
            dropcopy: cfg
                .dropcopy
                .iter()
                .map(|e| endpoint(&e.sender_comp_id, &e.faults))
                .collect(),
            listeners: Vec::new(),
            conns: Vec::new(),
            next_conn: 1,
            sessions: cfg
                .ilink3
                .iter()
                .map(|e| (e.session_id.clone(), e.firm_id.clone()))
                .collect(),
            summary: Summary::default(),
            dirty: false,
            reports: Vec::with_capacity(256),
            buf: vec![0u8; 1 << 16],
            idle: cfg.idle,
            wakee: None,
            listener_ready: false,
            next_accept: 0,
        })
    }

    fn run(
        mut self,
        stop: &AtomicBool,
        control: &mpsc::Receiver<Control>,
        shared: &Mutex<Summary>,
    ) {
        let mut idle_turns: u32 = 0;
        let mut published_at = 0u64;
        while !stop.load(Ordering::Acquire) {
            while let Ok(c) = control.try_recv() {
                self.control(c);
            }
            let now = now_ns();
            let busy = self.turn(now);
            if self.dirty && now.saturating_sub(published_at) >= 50 * MS {
                self.publish(shared);
                published_at = now;
            }
            if busy {
                idle_turns = 0;
                continue;
            }
            idle_turns = idle_turns.saturating_add(1);
            match self.idle {
                IdleStrategy::Spin => std::hint::spin_loop(),
                IdleStrategy::SpinThenYield if idle_turns <= YIELD_TURNS => {
                    std::thread::yield_now();
                }
                IdleStrategy::SpinThenYield | IdleStrategy::Park => {
                    let publish_due = if self.dirty {
                        published_at + 50 * MS
                    } else {
                        u64::MAX
                    };
                    self.wait_ready(now, publish_due);
                }
            }
        }
        for c in std::mem::take(&mut self.conns) {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        if let Some(e) = self.ex.registry().store_error() {
            tracing::error!("sim: iLink 3 state not persisted: {e}");
        }
        if let Some(e) = self.dc.store_error() {
            tracing::error!("sim: Drop Copy state not persisted: {e}");
        }
        self.publish(shared);
        tracing::info!("sim: stopped");
    }

    /// When the next timer of any connection is due (wall-clock ns), `u64::MAX` when none.
    fn next_deadline(&self) -> u64 {
        let mut due = u64::MAX;
        for c in &self.conns {
            if c.dead {
                continue;
            }
            if let Some(d) = c.closing {
                due = due.min(d);
                continue;
            }
            if let Some((d, _)) = c.delayed.front() {
                due = due.min(*d);
            }
            let t = match c.slot {
                Slot::Ilink3(cid) => self.ex.next_deadline(cid),
                Slot::DropCopy(d) => self
                    .dc_conns
                    .get(d)
                    .and_then(Option::as_ref)
                    .and_then(|s| s.next_deadline(&self.dc)),
            };
            if let Some(t) = t {
                due = due.min(t);
            }
        }
        due
    }

    /// Blocks until a listener or connection is readable, a connection with unwritten output is
    /// writable, the handle wakes the loop, or the next timer (or `also_due`) is due.
    fn wait_ready(&mut self, now: u64, also_due: u64) {
        let due = self.next_deadline().min(also_due);
        let wait = due.saturating_sub(now).min(MAX_WAIT_NS);
        if wait == 0 {
            return;
        }
        let mut fds: Vec<PollFd<'_>> =
            Vec::with_capacity(1 + self.listeners.len() + self.conns.len());
        if let Some(w) = &self.wakee {
            fds.push(PollFd::new(w, PollFlags::IN));
        }
        for (l, _, _) in &self.listeners {
            fds.push(PollFd::new(l, PollFlags::IN));
        }
        for c in &self.conns {
            if c.dead {
                continue;
            }
            let mut flags = PollFlags::IN;
            if c.unwritten() > 0 {
                flags |= PollFlags::OUT;
            }
            fds.push(PollFd::new(&c.stream, flags));
        }
        let timeout = Timespec {
            tv_sec: (wait / 1_000_000_000) as i64,
            tv_nsec: (wait % 1_000_000_000) as i64,
        };
        // EINTR or a failure: the loop simply takes another turn.
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
        let first_listener = usize::from(self.wakee.is_some());
        self.listener_ready |= fds
            .iter()
            .skip(first_listener)
            .take(self.listeners.len())
            .any(|f| !f.revents().is_empty());
        drop(fds);
        if let Some(mut w) = self.wakee.as_ref() {
            let mut b = [0u8; 64];
            while matches!(w.read(&mut b), Ok(n) if n > 0) {}
        }
    }

    fn publish(&mut self, shared: &Mutex<Summary>) {
        self.summary.resting_orders = self.ex.engine().resting_orders() as u64;
        if let Ok(mut s) = shared.lock() {
            s.clone_from(&self.summary);
        }
        self.dirty = false;
    }

    fn control(&mut self, c: Control) {
        match c {
            Control::SetFaults {
                dropcopy,
                name,
                faults,
            } => {
                let eps = if dropcopy {
                    &mut self.dropcopy
                } else {
                    &mut self.ilink3
                };
                if dropcopy {
                    apply_withhold(&mut self.dc, &name, &faults);
                }
                if let Some(e) = eps.iter_mut().find(|e| e.name == name) {
                    tracing::info!(session = %name, ?faults, "sim: faults set");
                    e.faults = faults;
                    e.connections = 0;
                }
            }
            Control::Terminate { name } => {
                let ep = self.ilink3.iter().position(|e| e.name == name);
                let now = now_ns();
                for i in 0..self.conns.len() {
                    let Some(c) = self.conns.get(i) else { break };
                    let Slot::Ilink3(cid) = c.slot else { continue };
                    if Some(c.endpoint) != ep || c.dead || c.closing.is_some() {
                        continue;
                    }
                    tracing::info!(conn = c.id, session = %name, "sim: fault: Terminate sent");
                    self.ex
                        .terminate(cid, now, crate::ilink3::TerminateCode::Other);
                    self.drain(i, now);
                }
            }
            Control::Drop { dropcopy, name } => {
                let ep = if dropcopy {
                    self.dropcopy.iter().position(|e| e.name == name)
                } else {
                    self.ilink3.iter().position(|e| e.name == name)
                };
                for i in 0..self.conns.len() {
                    let Some(c) = self.conns.get(i) else { break };
                    let is_dc = matches!(c.slot, Slot::DropCopy(_));
                    if Some(c.endpoint) != ep || is_dc != dropcopy || c.dead {
                        continue;
                    }
                    tracing::info!(conn = c.id, session = %name, "sim: fault: connection dropped");
                    if c.closing.is_none() {
                        self.release_slot(i);
                    }
                    if let Some(c) = self.conns.get_mut(i) {
                        let _ = c.stream.shutdown(Shutdown::Both);
                        c.dead = true;
                    }
                }
            }
        }
    }

    /// One pass over everything; true when anything happened.
    fn turn(&mut self, now: u64) -> bool {
        // The listeners are tried when the last readiness wait saw one readable, else at most
        // every ACCEPT_EVERY_NS: not two accept(2) calls ahead of every order's read.
        let mut busy = false;
        if self.listener_ready || now >= self.next_accept {
            self.listener_ready = false;
            self.next_accept = now.saturating_add(ACCEPT_EVERY_NS);
            busy = self.accept(now);
        }
        for i in 0..self.conns.len() {
            busy |= self.read(i, now);
        }
        busy |= self.route_reports(now);
        for i in 0..self.conns.len() {
            self.timers(i, now);
            busy |= self.transmit(i, now);
            busy |= self.write(i, now);
        }
        let before = self.conns.len();
        self.conns.retain(|c| !c.dead);
        busy || before != self.conns.len()
    }

    fn accept(&mut self, now: u64) -> bool {
        let mut any = false;
        for li in 0..self.listeners.len() {
            while let Some((l, proto, ep)) = self.listeners.get(li) {
                let (proto, ep) = (*proto, *ep);
                let (stream, peer) = match l.accept() {
                    Ok(x) => x,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::warn!("sim: accept failed: {e}");
                        break;
                    }
                };
                any = true;
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                self.new_conn(now, proto, ep, stream, peer);
            }
        }
        any
    }

    fn new_conn(&mut self, now: u64, proto: Proto, ep: usize, stream: TcpStream, peer: SocketAddr) {
        let endpoint = match proto {
            Proto::Ilink3 => self.ilink3.get_mut(ep),
            Proto::DropCopy => self.dropcopy.get_mut(ep),
        };
        let Some(endpoint) = endpoint else {
            return;
        };
        endpoint.connections += 1;
        let faults = if endpoint
            .faults
            .connections
            .is_none_or(|n| endpoint.connections <= n)
        {
            endpoint.faults.clone()
        } else {
            SessionFaults::default()
        };
        let name = endpoint.name.clone();
        let slot = match proto {
            Proto::Ilink3 => {
                let c = self.ex.accept(now);
                if let Some(g) = self.ex.connection_mut(c) {
                    *g.faults_mut() = faults.ilink3();
                }
                Slot::Ilink3(c)
            }
            Proto::DropCopy => {
                let mut s = DropCopySession::new(&mut self.dc, now);
                *s.faults_mut() = faults.dropcopy();
                let i = match self.dc_conns.iter().position(Option::is_none) {
                    Some(i) => i,
                    None => {
                        self.dc_conns.push(None);
                        self.dc_conns.len() - 1
                    }
                };
                if let Some(x) = self.dc_conns.get_mut(i) {
                    *x = Some(s);
                }
                Slot::DropCopy(i)
            }
        };
        let id = self.next_conn;
        self.next_conn += 1;
        self.summary.connections += 1;
        self.dirty = true;
        if faults.is_empty() {
            tracing::info!(conn = id, session = %name, %peer, "sim: connection accepted");
        } else {
            tracing::info!(conn = id, session = %name, %peer, ?faults, "sim: connection accepted with faults");
        }
        self.conns.push(Conn {
            id,
            slot,
            endpoint: ep,
            stream,
            peer,
            out: Vec::with_capacity(1 << 16),
            out_pos: 0,
            delayed: VecDeque::new(),
            faults,
            business_in: 0,
            closing: None,
            write_shut: false,
            dead: false,
        });
    }

    /// The protocol side of connection `i` is over (by the gateway or the peer).
    fn release_slot(&mut self, i: usize) {
        let Some(c) = self.conns.get(i) else {
            return;
        };
        match c.slot {
            Slot::Ilink3(cid) => self.ex.close(cid),
            Slot::DropCopy(d) => {
                if let Some(Some(mut s)) = self.dc_conns.get_mut(d).map(Option::take) {
                    s.on_disconnected(&mut self.dc);
                }
            }
        }
    }

    fn read(&mut self, i: usize, now: u64) -> bool {
        let mut busy = false;
        for _ in 0..READS_PER_TURN {
            let Some(c) = self.conns.get_mut(i) else {
                return busy;
            };
            if c.dead {
                return busy;
            }
            let n = match c.stream.read(&mut self.buf) {
                Ok(0) => {
                    if c.closing.is_none() {
                        tracing::info!(conn = c.id, peer = %c.peer, "sim: connection closed by the client");
                        self.release_slot(i);
                    }
                    if let Some(c) = self.conns.get_mut(i) {
                        c.dead = true;
                    }
                    return true;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return busy,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    if c.closing.is_none() {
                        tracing::info!(conn = c.id, "sim: connection lost: {e}");
                        self.release_slot(i);
                    }
                    if let Some(c) = self.conns.get_mut(i) {
                        c.dead = true;
                    }
                    return true;
                }
            };
            busy = true;
            if c.closing.is_some() {
                continue;
            }
            let data = self.buf.get(..n).unwrap_or_default();
            match c.slot {
                Slot::Ilink3(cid) => self.ex.handle_input(cid, now, data),
                Slot::DropCopy(d) => {
                    if let Some(Some(s)) = self.dc_conns.get_mut(d) {
                        s.handle_input(&mut self.dc, now, data);
                    }
                }
            }
            // Reports first, so a fill reaches Drop Copy before anything later.
            self.route_reports(now);
            self.drain(i, now);
            // The answers to this chunk leave now, in one write, before the next read.
            self.write(i, now);
        }
        busy
    }

    fn route_reports(&mut self, now: u64) -> bool {
        self.ex.take_reports(&mut self.reports);
        if self.reports.is_empty() {
            return false;
        }
        let mut reports = std::mem::take(&mut self.reports);
        for (k, r) in &reports {
            match r.kind {
                ReportKind::New => self.summary.acks += 1,
                ReportKind::Trade { .. } => self.summary.fills += 1,
                ReportKind::Reject { .. } => self.summary.order_rejects += 1,
                ReportKind::Cancel { .. } => self.summary.cancels += 1,
                _ => {}
            }
            if let Some((sid, firm)) = self.sessions.get(k.0 as usize) {
                let n = self.dc.publish_report(firm, sid, now, r);
                self.summary.dropcopy_reports += n as u64;
            }
        }
        self.dirty = true;
        reports.clear();
        self.reports = reports;
        true
    }

    fn timers(&mut self, i: usize, now: u64) {
        let Some(c) = self.conns.get(i) else {
            return;
        };
        if c.closing.is_some() || c.dead {
            return;
        }
        match c.slot {
            Slot::Ilink3(cid) => {
                if self.ex.next_deadline(cid).is_some_and(|d| d <= now) {
                    self.ex.handle_timeout(cid, now);
                }
            }
            Slot::DropCopy(d) => {
                if let Some(Some(s)) = self.dc_conns.get_mut(d) {
                    if s.next_deadline(&self.dc).is_some_and(|t| t <= now) {
                        s.handle_timeout(&mut self.dc, now);
                    }
                }
            }
        }
        self.drain(i, now);
    }

    /// Polls output (unless backpressured) and events of connection `i`.
    fn transmit(&mut self, i: usize, now: u64) -> bool {
        let Some(c) = self.conns.get(i) else {
            return false;
        };
        if c.closing.is_some() || c.dead || c.unwritten() >= OUT_HIGH_WATER {
            return false;
        }
        self.drain(i, now)
    }

    /// Moves the connection's pending output to its buffer and handles its events.
    fn drain(&mut self, i: usize, now: u64) -> bool {
        let Some(c) = self.conns.get_mut(i) else {
            return false;
        };
        if c.closing.is_some() || c.dead {
            return false;
        }
        let mut moved = false;
        let mut disconnect = false;
        match c.slot {
            Slot::Ilink3(cid) => {
                for _ in 0..16 {
                    match self.ex.poll_transmit(cid) {
                        Some(b) => {
                            c.queue(now, b);
                            moved = true;
                        }
                        None => break,
                    }
                }
                while let Some(e) = self.ex.poll_event(cid) {
                    moved = true;
                    disconnect |= e == GatewayEvent::Disconnect;
                    self.ilink3_event(i, cid, e);
                }
            }
            Slot::DropCopy(d) => {
                if let Some(Some(s)) = self.dc_conns.get_mut(d) {
                    if let Some(b) = s.poll_transmit(&mut self.dc) {
                        c.queue(now, b);
                        moved = true;
                    }
                    let mut events = Vec::new();
                    while let Some(e) = s.poll_event() {
                        events.push(e);
                    }
                    for e in events {
                        moved = true;
                        disconnect |= e == DcEvent::Disconnect;
                        self.dropcopy_event(i, e);
                    }
                }
            }
        }
        if disconnect {
            // Anything the gateway queued with the Disconnect goes out first.
            if let Some(c) = self.conns.get_mut(i) {
                match c.slot {
                    Slot::Ilink3(cid) => {
                        if let Some(b) = self.ex.poll_transmit(cid) {
                            c.queue(now, b);
                        }
                    }
                    Slot::DropCopy(d) => {
                        if let Some(Some(s)) = self.dc_conns.get_mut(d) {
                            if let Some(b) = s.poll_transmit(&mut self.dc) {
                                c.queue(now, b);
                            }
                        }
                    }
                }
            }
            self.release_slot(i);
            if let Some(c) = self.conns.get_mut(i) {
                let delay = c.faults.delay_ms.unwrap_or(0) * MS;
                c.closing = Some(now + delay + LINGER_NS);
                tracing::info!(conn = c.id, "sim: gateway closes the connection");
            }
        }
        if moved {
            self.dirty = true;
        }
        moved
    }

    fn write(&mut self, i: usize, now: u64) -> bool {
        let Some(c) = self.conns.get_mut(i) else {
            return false;
        };
        if c.dead {
            return false;
        }
        let mut busy = c.release_delayed(now);
        match c.flush() {
            Ok(w) => busy |= w,
            Err(()) => {
                if c.closing.is_none() {
                    tracing::info!(conn = c.id, "sim: write failed; connection lost");
                    self.release_slot(i);
                }
                if let Some(c) = self.conns.get_mut(i) {
                    c.dead = true;
                }
                return true;
            }
        }
        if let Some(deadline) = c.closing {
            if c.unwritten() == 0 && c.delayed.is_empty() && !c.write_shut {
                let _ = c.stream.shutdown(Shutdown::Write);
                c.write_shut = true;
                busy = true;
            }
            if now >= deadline {
                c.dead = true;
                busy = true;
            }
        }
        busy
    }

    fn session_name(&self, proto: Proto, ep: usize) -> String {
        let eps = match proto {
            Proto::Ilink3 => &self.ilink3,
            Proto::DropCopy => &self.dropcopy,
        };
        eps.get(ep).map(|e| e.name.clone()).unwrap_or_default()
    }

    fn ilink3_event(&mut self, i: usize, cid: ConnId, e: GatewayEvent) {
        let ep = self.conns.get(i).map_or(0, |c| c.endpoint);
        let name = self.session_name(Proto::Ilink3, ep);
        let Some(c) = self.conns.get_mut(i) else {
            return;
        };
        let conn = c.id;
        let s = &mut self.summary;
        match e {
            GatewayEvent::Negotiated { uuid, .. } => {
                tracing::info!(conn, uuid, "sim: iLink 3 negotiated");
            }
            GatewayEvent::Established {
                uuid,
                next_inbound,
                next_outbound,
                keepalive_ms,
                ..
            } => {
                s.ilink3_logons_ok += 1;
                tracing::info!(
                    conn,
                    uuid,
                    next_inbound,
                    next_outbound,
                    keepalive_ms,
                    "sim: iLink 3 established"
                );
                if c.faults.silent {
                    if let Some(g) = self.ex.connection_mut(cid) {
                        g.faults_mut().silent = true;
                        tracing::info!(conn, "sim: fault: going silent");
                    }
                }
            }
            GatewayEvent::LogonRejected {
                stage,
                answer,
                reason,
                ..
            } => {
                let stage = match stage {
                    LogonStage::Negotiate => "negotiate",
                    LogonStage::Establish => "establish",
                };
                Summary::bump(
                    &mut s.ilink3_logons_failed,
                    format!("{stage} {} {}", answer.code(), answer.name()),
                );
                tracing::warn!(
                    conn,
                    stage,
                    code = answer.code(),
                    name = answer.name(),
                    reason,
                    "sim: iLink 3 logon refused"
                );
            }
            GatewayEvent::PortClosed { session } => {
                s.ports_closed += 1;
                tracing::warn!(conn, ?session, "sim: port closed after repeated bad logons");
            }
            GatewayEvent::BusinessReceived {
                seq, template_id, ..
            } => {
                s.business_messages_in += 1;
                if template_id == 514 {
                    s.orders += 1;
                    s.duplicate_cl_ord_ids = self.ex.duplicate_cl_ord_ids();
                }
                c.business_in += 1;
                if let Some(na) = c.faults.not_applied {
                    if c.business_in == na.after {
                        tracing::info!(
                            conn,
                            from = seq,
                            count = na.count,
                            "sim: fault: NotApplied"
                        );
                        self.ex.inject_not_applied(cid, seq, na.count);
                    }
                }
            }
            GatewayEvent::NotAppliedSent {
                from_seq, count, ..
            } => {
                s.not_applied_sent += 1;
                tracing::info!(conn, from_seq, count, "sim: NotApplied sent");
            }
            GatewayEvent::GapFilled {
                from_seq, to_seq, ..
            } => {
                tracing::info!(conn, from_seq, to_seq, "sim: client gap-filled");
            }
            GatewayEvent::RetransmitServed {
                from_seq,
                count,
                last_uuid,
                ..
            } => {
                tracing::info!(
                    conn,
                    from_seq,
                    count,
                    ?last_uuid,
                    "sim: retransmission served"
                );
                s.range(
                    false,
                    SeqRange {
                        session: name,
                        from: u64::from(from_seq),
                        to: u64::from(from_seq) + u64::from(count).max(1) - 1,
                    },
                );
            }
            GatewayEvent::RetransmitRejected {
                code,
                from_seq,
                count,
                ..
            } => {
                Summary::bump(
                    &mut s.retransmit_rejects,
                    format!("{} {}", code.code(), code.name()),
                );
                tracing::warn!(
                    conn,
                    from_seq,
                    count,
                    code = code.code(),
                    "sim: retransmit rejected"
                );
            }
            GatewayEvent::KeepAliveLapsed { .. } => {
                s.keepalive_lapses += 1;
                tracing::info!(conn, "sim: client keepalive lapsed");
            }
            GatewayEvent::Terminated {
                code,
                name,
                by_client,
                ..
            } => {
                let by = if by_client { "client" } else { "gateway" };
                Summary::bump(&mut s.terminates, format!("{code} {name} by {by}"));
                tracing::info!(conn, code, name, by, "sim: iLink 3 terminate");
            }
            GatewayEvent::ProtocolViolation {
                template_id, what, ..
            } => {
                Summary::bump(&mut s.protocol_violations, format!("ilink3: {what}"));
                tracing::warn!(conn, ?template_id, what, "sim: protocol violation");
            }
            GatewayEvent::Disconnect => {}
        }
    }

    fn dropcopy_event(&mut self, i: usize, e: DcEvent) {
        let Some(c) = self.conns.get(i) else {
            return;
        };
        let conn = c.id;
        let name = self.session_name(Proto::DropCopy, c.endpoint);
        let s = &mut self.summary;
        match e {
            DcEvent::LoggedOn {
                client_seq,
                gateway_seq,
                heartbeat_s,
                ..
            } => {
                s.dropcopy_logons_ok += 1;
                tracing::info!(conn, session = %name, client_seq, gateway_seq, heartbeat_s, "sim: Drop Copy logged on");
            }
            DcEvent::LogonRejected { reason, .. } => {
                Summary::bump(&mut s.dropcopy_logons_failed, reason.to_string());
                tracing::warn!(conn, session = %name, reason, "sim: Drop Copy logon refused");
            }
            DcEvent::SequenceTooLow {
                received,
                next_expected,
                ..
            } => {
                Summary::bump(
                    &mut s.dropcopy_logons_failed,
                    "MsgSeqNum too low (Logout with 789)".into(),
                );
                tracing::warn!(conn, session = %name, received, next_expected, "sim: Drop Copy logon sequence too low");
            }
            DcEvent::PortClosed { .. } => {
                s.ports_closed += 1;
                tracing::warn!(conn, session = %name, "sim: Drop Copy port closed after repeated bad logons");
            }
            DcEvent::ResendServed {
                from,
                to,
                resent,
                gap_filled,
                ..
            } => {
                tracing::info!(conn, session = %name, from, to, resent, gap_filled, "sim: Drop Copy resend served");
                s.range(
                    true,
                    SeqRange {
                        session: name,
                        from,
                        to,
                    },
                );
            }
            DcEvent::ResendRejected {
                from, to, reason, ..
            } => {
                s.resend_rejects += 1;
                tracing::warn!(conn, session = %name, from, to, reason, "sim: Drop Copy resend rejected");
            }
            DcEvent::TestRequestSent { .. } => {
                s.test_requests_sent += 1;
                tracing::info!(conn, session = %name, "sim: Drop Copy TestRequest sent");
            }
            DcEvent::LoggedOut {
                by_client, reason, ..
            } => {
                let by = if by_client { "client" } else { "gateway" };
                Summary::bump(&mut s.logouts, format!("{reason} by {by}"));
                tracing::info!(conn, session = %name, reason, by, "sim: Drop Copy logout");
            }
            DcEvent::ProtocolViolation { what, .. } => {
                Summary::bump(&mut s.protocol_violations, format!("dropcopy: {what}"));
                tracing::warn!(conn, session = %name, what, "sim: protocol violation");
            }
            DcEvent::Disconnect => {}
        }
    }
}

/// The Drop Copy account-level fault `withhold` (execution reports never copied).
fn apply_withhold(dc: &mut DropCopyRegistry, sender_comp_id: &str, faults: &SessionFaults) {
    if let (Some(w), Some(k)) = (faults.withhold, dc.key(sender_comp_id)) {
        dc.withhold_reports(k, w.after, w.count);
    }
}
