//! The housekeeping thread: everything slow, so the hot engines never wait.
//!
//! - journals every outbound business message (from the engines' journal queues) and keeps
//!   the session stores' reservations ahead of use (`SessionStore::maintain`, every
//!   millisecond; fdatasync per `[daemon] fsync`);
//! - records Drop Copy messages (`DropCopyRecorder::record`: de-duplicate, journal, publish) and
//!   persists the Drop Copy sequence numbers;
//! - drains the latency histograms into the daily interval log (`[latency] log_dir`, default
//!   `<state_dir>/latency`), the `.prom` file and the optional HTTP endpoint;
//! - watches strategy liveness (pid gone, heartbeat stale) and tells the engine, which cancels
//!   the dead strategy's orders when `cancel_on_exit`;
//! - writes `<state_dir>/status.json` every second;
//! - reloads keys and risk limits on SIGHUP (a broken key file keeps the old key, and says why);
//! - formats the engines' log events (tracing);
//! - talks to systemd: `READY=1`, `STATUS=...` each second, `WATCHDOG=1` only while every hot
//!   thread's loop counter advances, `STOPPING=1`.
//!
//! At shutdown it keeps draining until every engine has returned, then closes the stores
//! cleanly (exact sequence numbers, clean flag) and writes the final status.

use super::engine::EngineLinks;
use super::notify::Notifier;
use super::reconcile::{ReconcileState, Scope, Side};
use super::shared::{
    Control, DaemonShared, Level, LinkState, LogEvent, Note, Phase, SessionKind, StoreReq,
    FIRST_TEMPLATE,
};
use super::status::{SessionStatus, StatusFile, StrategyStatus};
use crate::config::{Config, RiskConfig};
use crate::dropcopy::session::SeqNums;
use crate::ilink3::session::Credentials;
use crate::latency::log::IntervalLog;
use crate::latency::metrics::{
    render, write_prom_file, LatencyWindow, MetricsServer, MetricsSnapshot, ReconcileMetrics,
    SessionMetrics, StrategyMetrics, UnhandledMetrics,
};
use crate::latency::Collector;
use crate::store::keys::today_utc;
use crate::store::keys::KeyRing;
use crate::store::{DropCopyRecorder, Recorded};
use crate::store::{SeqHandle, SessionStore};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MAINTAIN_EVERY: Duration = Duration::from_millis(1);
const LIVENESS_EVERY: Duration = Duration::from_millis(50);
const LATENCY_EVERY: Duration = Duration::from_millis(100);
const STATUS_EVERY: Duration = Duration::from_secs(1);
const DC_SAVE_EVERY: Duration = Duration::from_secs(1);
const RECONCILE_EVERY: Duration = Duration::from_millis(100);
/// How often the control socket is polled.
const CONTROL_EVERY: Duration = Duration::from_millis(5);
const IDLE_SLEEP: Duration = Duration::from_micros(200);

/// Where an engine-owned thing is: (engine, index within the engine).
pub type Route = (usize, usize);

/// Size past which the running order journal is rewritten with only its open orders.
const ORDER_JOURNAL_COMPACT_BYTES: u64 = 64 << 20;
/// Order-journal records appended with one write.
const ORDER_BATCH: usize = 1024;
/// Journal records appended per engine per pass (the rest wait for the next pass).
const JOURNAL_BATCH: usize = 4096;

/// Everything the housekeeping thread is built from.
pub struct HouseSetup {
    pub cfg: Config,
    /// Re-read on SIGHUP for new risk limits.
    pub config_path: Option<PathBuf>,
    /// Per iLink 3 session (global order).
    /// One per iLink 3 session (global index); only this thread touches them.
    pub stores: Vec<Option<SessionStore>>,
    pub handles: Vec<Arc<SeqHandle>>,
    /// Per session (iLink 3 first, then Drop Copy).
    pub keys: Vec<KeyRing>,
    /// Per Drop Copy session.
    pub recorders: Vec<DropCopyRecorder>,
    pub collectors: Vec<Collector>,
    pub links: Vec<EngineLinks>,
    pub shared: Arc<DaemonShared>,
    /// Per session (global order): its engine and index there.
    pub session_routes: Vec<Route>,
    /// Per strategy: its engine and index there.
    pub strategy_routes: Vec<Route>,
    pub started: SystemTime,
    pub clock_name: &'static str,
    pub notifier: Notifier,
    pub latency_dir: PathBuf,
    pub status_path: PathBuf,
    /// Engaged kill switches (already published to `shared`).
    pub kill_book: super::kill::KillBook,
    /// `ilinkd kill` talks to it.
    pub control: Option<super::kill::ControlServer>,
    /// `<state_dir>/orders.journal`: every change of an order's state.
    pub order_journal: Option<super::order_journal::OrderJournal>,
}

#[derive(Debug, Clone, Copy)]
struct Watch {
    pid: u32,
    last_hb: u64,
    last_change: Instant,
    dead: bool,
}

/// What the housekeeping thread reports when it ends.
#[derive(Debug, Clone, Default)]
pub struct HouseReport {
    /// Problems closing stores or recorders (empty: clean).
    pub close_errors: Vec<String>,
    pub journal_appends: u64,
    pub dropcopy_recorded: u64,
    /// Interval log files written.
    pub latency_logs: Vec<PathBuf>,
}

pub struct House {
    s: HouseSetup,
    watches: Vec<Watch>,
    last_error: Vec<Option<String>>,
    /// The last refused logon per session (status).
    last_reject: Vec<Option<String>>,
    window: LatencyWindow,
    log: Option<IntervalLog>,
    server: Option<MetricsServer>,
    report: HouseReport,
    dc_saved: Vec<SeqNums>,
    draining: bool,
    last_watchdog_beats: Vec<u64>,
    /// Per session: templates whose first unhandled message was logged (bit `id - 500`), and
    /// the decode-error count last logged.
    inbound_logged: Vec<(u128, u64)>,
    /// Drop Copy ↔ iLink 3 reconciliation (with both kinds of session and `reconcile` on).
    recon: Option<ReconcileState>,
    /// The first dropped order-journal record was logged.
    order_drop_logged: bool,
    /// Order-journal records drained from one engine, appended with one write.
    order_batch: Vec<(
        super::order_journal::OrderChange,
        super::router::OrderSnapshot,
    )>,
    order_scratch: Vec<u8>,
    /// Session-journal records drained from one engine, appended with one write per run of
    /// the same session and UUID.
    journal_batch: Vec<super::shared::JournalRec>,
}

fn unix_s(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn note_of(e: &dyn std::fmt::Display) -> Note {
    use std::fmt::Write as _;
    let mut n = Note::default();
    let _ = write!(n, "{e}");
    n
}

fn pid_alive(pid: u32) -> bool {
    pid != 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl House {
    pub fn new(s: HouseSetup) -> House {
        let comment = format!("ilinkd {} clock {}", s.cfg.daemon.name, s.clock_name);
        let log = match IntervalLog::new(&s.latency_dir, "ilinkd-latency", s.started, &comment) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::error!("latency interval log disabled: {e}");
                None
            }
        };
        let server = s
            .cfg
            .latency
            .http_listen
            .and_then(|a| match MetricsServer::start(a) {
                Ok(srv) => {
                    tracing::info!(addr = %srv.local_addr(), "metrics endpoint: GET /metrics");
                    Some(srv)
                }
                Err(e) => {
                    tracing::error!("metrics endpoint {a} not started: {e}");
                    None
                }
            });
        let n_sessions = s.shared.sessions.len();
        let dc_saved = s.recorders.iter().map(|r| r.restored_seqs()).collect();
        let watches = s
            .shared
            .strategies
            .iter()
            .map(|_| Watch {
                pid: 0,
                last_hb: 0,
                last_change: Instant::now(),
                dead: false,
            })
            .collect();
        let engines = s.shared.engines.len();
        let recon = (s.cfg.daemon.reconcile != Scope::Off
            && !s.cfg.ilink3.is_empty()
            && !s.cfg.dropcopy.is_empty())
        .then(|| {
            ReconcileState::new(
                s.cfg.daemon.reconcile,
                s.cfg.daemon.reconcile_delay_ms,
                &s.cfg.daemon.state_dir,
                s.cfg.daemon.fsync,
                s.cfg
                    .ilink3
                    .iter()
                    .map(|x| (x.name.clone(), x.session_id.clone()))
                    .collect(),
                s.cfg.dropcopy.iter().map(|x| x.name.clone()).collect(),
            )
        });
        House {
            s,
            watches,
            last_error: vec![None; n_sessions],
            last_reject: vec![None; n_sessions],
            window: LatencyWindow::new(),
            log,
            server,
            report: HouseReport::default(),
            dc_saved,
            draining: false,
            last_watchdog_beats: vec![0; engines],
            inbound_logged: vec![(0, 0); n_sessions],
            recon,
            order_drop_logged: false,
            order_batch: Vec::with_capacity(ORDER_BATCH),
            journal_batch: Vec::with_capacity(JOURNAL_BATCH),
            order_scratch: Vec::new(),
        }
    }

    fn name(&self, session: usize) -> &str {
        self.s
            .shared
            .sessions
            .get(session)
            .map_or("?", |s| s.name.as_str())
    }

    fn strategy_name(&self, strategy: usize) -> &str {
        self.s
            .shared
            .strategies
            .get(strategy)
            .map_or("?", |s| s.name.as_str())
    }

    /// Runs until every engine has returned; then closes stores and recorders.
    pub fn run(mut self) -> HouseReport {
        let mut last_maintain = Instant::now();
        let mut last_liveness = Instant::now();
        let mut last_latency = Instant::now();
        let mut last_metrics = Instant::now();
        let mut last_status = Instant::now() - STATUS_EVERY;
        let mut last_dc_save = Instant::now();
        let mut last_reconcile = Instant::now();
        let mut last_watchdog = Instant::now();
        let mut last_control = Instant::now();
        let metrics_every = Duration::from_millis(u64::from(self.s.cfg.latency.interval_ms.max(1)));
        self.s.notifier.notify("READY=1");
        loop {
            let mut busy = self.drain_queues();
            if self.s.shared.terminate.load(Ordering::Acquire) && !self.draining {
                self.start_drain();
            }
            if self.s.shared.phase() != Phase::Running && !self.draining {
                self.draining = true;
                self.s.notifier.notify("STOPPING=1");
            }
            if self.s.shared.reload.swap(false, Ordering::AcqRel) {
                self.reload();
                busy = true;
            }
            let now = Instant::now();
            if now - last_control >= CONTROL_EVERY {
                last_control = now;
                if let Some(c) = self.s.control.as_mut() {
                    if c.poll(&mut self.s.kill_book, &self.s.shared) {
                        self.write_status();
                        busy = true;
                    }
                }
            }
            if now - last_maintain >= MAINTAIN_EVERY {
                last_maintain = now;
                self.maintain();
            }
            if now - last_liveness >= LIVENESS_EVERY {
                last_liveness = now;
                self.liveness();
                self.report_inbound();
            }
            if now - last_latency >= LATENCY_EVERY {
                last_latency = now;
                self.drain_latency();
            }
            if now - last_metrics >= metrics_every {
                last_metrics = now;
                self.metrics();
            }
            if now - last_reconcile >= RECONCILE_EVERY {
                last_reconcile = now;
                if let Some(r) = self.recon.as_mut() {
                    r.tick(crate::daemon::engine::realtime_ns());
                }
            }
            if now - last_dc_save >= DC_SAVE_EVERY {
                last_dc_save = now;
                self.save_dc_seqs(false);
            }
            if now - last_status >= STATUS_EVERY {
                last_status = now;
                self.write_status();
                self.notify_status();
            }
            if let Some(wd) = self.s.notifier.watchdog() {
                if now - last_watchdog >= wd / 2 {
                    last_watchdog = now;
                    self.pet_watchdog();
                }
            }
            let all_done = self
                .s
                .shared
                .engines
                .iter()
                .all(|e| e.done.load(Ordering::Acquire));
            if all_done && self.s.shared.phase() != Phase::Running {
                self.drain_queues();
                break;
            }
            if !busy {
                std::thread::sleep(IDLE_SLEEP);
            }
        }
        self.close()
    }

    fn start_drain(&mut self) {
        tracing::info!("shutdown requested: refusing new orders, terminating sessions (code 0)");
        self.s.shared.advance(Phase::Draining);
    }

    /// Journal records, Drop Copy messages and log events; returns whether there were any.
    fn drain_queues(&mut self) -> bool {
        let mut any = false;
        for e in 0..self.s.links.len() {
            any |= self.drain_journal(e);
            while let Some(req) = self.s.links[e].store.try_recv() {
                any = true;
                // Every journal record the engine sent before this request is in the queue
                // now: append those first (they belong to the UUID being replaced, or are the
                // frames a resend reads). Only those: records sent since cannot hold it up.
                let before = self.s.links[e].journal.len();
                self.drain_journal_up_to(e, before);
                self.store_request(e, req);
            }
            while let Some(rec) = self.s.links[e].dc.try_recv() {
                any = true;
                let dc = usize::from(rec.dc);
                let Some(r) = self.s.recorders.get_mut(dc) else {
                    continue;
                };
                if rec.seq == 0 {
                    // The session's weekly reset (see `DcRec`): a new journal before the new
                    // week's first message.
                    match r.start_new_week(crate::daemon::engine::realtime_ns()) {
                        Ok(archived) => tracing::info!(
                            archived = %archived.display(),
                            "drop copy: new week, journal rotated"
                        ),
                        Err(err) => tracing::error!("drop copy journal rotation failed: {err}"),
                    }
                    continue;
                }
                match r.record(rec.seq, rec.raw()) {
                    Ok(Recorded::Published { .. }) => {
                        self.report.dropcopy_recorded += 1;
                        if let Some(x) = self.recon.as_mut() {
                            x.on_dropcopy(dc, rec.raw(), crate::daemon::engine::realtime_ns());
                        }
                    }
                    Ok(Recorded::DuplicateExecId {
                        seq,
                        exec_id,
                        first_seq,
                    }) => tracing::debug!(
                        seq,
                        first_seq,
                        exec_id = %exec_id,
                        "drop copy: duplicate execution dropped"
                    ),
                    Ok(Recorded::DuplicateSeq { .. }) => {}
                    Err(err) => tracing::error!("drop copy record failed: {err}"),
                }
            }
            while let Some(c) = self.s.links[e].exec.try_recv() {
                any = true;
                if let Some(x) = self.recon.as_mut() {
                    x.on_exec(&c, crate::daemon::engine::realtime_ns());
                }
            }
            while let Some(ev) = self.s.links[e].log.try_recv() {
                any = true;
                self.log_event(ev);
            }
            any |= self.drain_orders(e);
        }
        any
    }

    /// Order-journal records drained since the last sync.
    fn drain_orders(&mut self, e: usize) -> bool {
        let mut any = false;
        loop {
            self.order_batch.clear();
            while self.order_batch.len() < ORDER_BATCH {
                match self.s.links[e].orders.try_recv() {
                    Some(rec) => self.order_batch.push(rec),
                    None => break,
                }
            }
            if self.order_batch.is_empty() {
                break;
            }
            any = true;
            if let Some(j) = self.s.order_journal.as_mut() {
                if let Err(err) = j.append_batch(&self.order_batch, &mut self.order_scratch) {
                    tracing::error!("order journal append failed: {err}");
                }
            }
            if self.order_batch.len() < ORDER_BATCH {
                break;
            }
        }
        if any {
            if let Some(j) = self.s.order_journal.as_mut() {
                if let Err(err) = j.sync() {
                    tracing::error!("order journal sync failed: {err}");
                }
                let before = j.len_bytes();
                match j.compact_if_over(ORDER_JOURNAL_COMPACT_BYTES) {
                    Ok(true) => tracing::info!(
                        before,
                        after = j.len_bytes(),
                        open = j.open_orders(),
                        "order journal compacted to its open orders"
                    ),
                    Ok(false) => {}
                    Err(err) => tracing::error!("order journal compaction failed: {err}"),
                }
            }
        }
        let dropped = self.order_changes_dropped();
        if dropped > 0 && !self.order_drop_logged {
            self.order_drop_logged = true;
            tracing::error!(
                dropped,
                "order journal: records dropped on a full queue; after a restart those orders \
                 come back as of their previous record (or not at all) until the exchange's \
                 mass status corrects them (ilinkd_order_journal_dropped_total)"
            );
        }
        any
    }

    fn order_changes_dropped(&self) -> u64 {
        self.s
            .shared
            .engines
            .iter()
            .map(|e| e.order_changes_dropped.load(Ordering::Relaxed))
            .sum()
    }

    /// Appends up to a batch of one engine's journal records; returns whether there were any.
    fn drain_journal(&mut self, e: usize) -> bool {
        self.drain_journal_up_to(e, JOURNAL_BATCH)
    }

    /// Appends at most `limit` of one engine's journal records; returns whether there were any.
    /// A run of records of the same session and UUID is one write (one syscall for a burst of
    /// orders rather than one per frame).
    fn drain_journal_up_to(&mut self, e: usize, limit: usize) -> bool {
        let mut recs = std::mem::take(&mut self.journal_batch);
        recs.clear();
        while recs.len() < limit {
            let Some(rec) = self.s.links[e].journal.try_recv() else {
                break;
            };
            recs.push(rec);
        }
        let any = !recs.is_empty();
        let mut rest = recs.as_slice();
        while let Some(first) = rest.first() {
            let (session, uuid) = (first.session, first.uuid);
            let n = rest
                .iter()
                .position(|r| r.session != session || r.uuid != uuid)
                .unwrap_or(rest.len());
            let (run, tail) = rest.split_at(n);
            rest = tail;
            let result = match self.s.stores.get_mut(usize::from(session)) {
                Some(Some(st)) if st.uuid() == uuid => st
                    .append_outbound_batch(run.iter().map(|r| (u64::from(r.seq), r.frame())))
                    .map(|_| ()),
                // Frames of a UUID already replaced (its journal is closed), or a closed store.
                _ => Ok(()),
            };
            match result {
                Ok(()) => self.report.journal_appends += run.len() as u64,
                Err(err) => {
                    let name = self.name(usize::from(session)).to_string();
                    tracing::error!(session = %name, "journal append failed: {err}");
                }
            }
        }
        self.journal_batch = recs;
        any
    }

    /// A session store request from engine `e`: done here (fsync included), answered over the
    /// control link.
    fn store_request(&mut self, e: usize, req: StoreReq) {
        let Some(link) = self.s.links.get(e) else {
            return;
        };
        let control = link.control.clone();
        let answer = match req {
            StoreReq::NewUuid {
                session,
                local,
                uuid,
                previous_uuid,
                previous_next_inbound,
            } => {
                let result = match self.s.stores.get_mut(usize::from(session)) {
                    Some(Some(st)) => st
                        .new_uuid_after(uuid, previous_uuid, previous_next_inbound)
                        .map_err(|e| note_of(&e)),
                    Some(None) => Err(Note::new("session store closed")),
                    None => Err(Note::new("no such session store")),
                };
                Control::UuidPersisted {
                    session: usize::from(local),
                    uuid,
                    result,
                }
            }
            StoreReq::ReadOutbound {
                session,
                local,
                uuid,
                from,
                count,
            } => {
                let frames = match self.s.stores.get(usize::from(session)) {
                    Some(Some(st)) => st
                        .read_outbound(uuid, u64::from(from), u64::from(count))
                        .map_err(|e| note_of(&e)),
                    Some(None) => Err(Note::new("session store closed")),
                    None => Err(Note::new("no such session store")),
                };
                Control::Resend {
                    session: usize::from(local),
                    uuid,
                    from,
                    count,
                    frames,
                }
            }
        };
        // The engine drains its control queue every loop pass: wait for room rather than
        // leave a logon hanging.
        let mut answer = answer;
        let mut tries = 0u32;
        while let Err(a) = control.try_send(answer) {
            answer = a;
            tries += 1;
            if tries > 10_000
                || self
                    .s
                    .shared
                    .engines
                    .get(e)
                    .is_none_or(|x| x.done.load(Ordering::Acquire))
            {
                tracing::error!("engine {e}: control queue full, store answer dropped");
                return;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    fn set_error(&mut self, session: usize, msg: String) {
        if let Some(e) = self.last_error.get_mut(session) {
            *e = Some(msg);
        }
    }

    fn log_event(&mut self, ev: LogEvent) {
        match ev {
            LogEvent::EngineStarted {
                engine,
                backend,
                pinned,
                realtime,
            } => tracing::info!(
                engine,
                backend,
                core = ?pinned,
                sched_fifo = realtime,
                "hot thread started"
            ),
            LogEvent::Connecting { session, addr } => {
                tracing::info!(session = %self.name(session), %addr, "connecting")
            }
            LogEvent::Connected { session, addr } => {
                tracing::info!(session = %self.name(session), %addr, "TCP connected")
            }
            LogEvent::ConnectFailed {
                session,
                addr,
                errno,
                retry_in_ms,
            } => {
                let msg = format!(
                    "connect to {addr} failed: {}; retry in {retry_in_ms} ms",
                    std::io::Error::from_raw_os_error(errno)
                );
                tracing::warn!(session = %self.name(session), "{msg}");
                self.set_error(session, msg);
            }
            LogEvent::ConnectionLost {
                session,
                errno,
                retry_in_ms,
            } => {
                let why = errno.map_or_else(
                    || "closed".to_string(),
                    |e| std::io::Error::from_raw_os_error(e).to_string(),
                );
                match retry_in_ms {
                    Some(ms) => {
                        let msg = format!("connection {why}; reconnect in {ms} ms");
                        tracing::warn!(session = %self.name(session), "{msg}");
                        self.set_error(session, msg);
                    }
                    None => tracing::info!(session = %self.name(session), "connection {why}"),
                }
            }
            LogEvent::NewUuid {
                session,
                uuid,
                previous,
            } => tracing::info!(
                session = %self.name(session),
                uuid,
                previous,
                "new UUID persisted; negotiating"
            ),
            LogEvent::UuidNotPersisted { session, uuid, why } => {
                let msg = format!("new UUID {uuid} could not be persisted ({why}); not logging on");
                tracing::error!(session = %self.name(session), "{msg}");
                self.set_error(session, msg);
            }
            LogEvent::Negotiated {
                session,
                uuid,
                key_days,
            } => tracing::info!(
                session = %self.name(session),
                uuid,
                key_days_to_expiry = ?key_days,
                "negotiated"
            ),
            LogEvent::Party {
                session,
                party,
                what,
                refused,
            } => {
                let name = self
                    .s
                    .shared
                    .sessions
                    .get(session)
                    .and_then(|sh| sh.parties.get(party))
                    .map_or("?", |p| p.name.as_str());
                if refused {
                    let msg = format!("party {name}: {what}");
                    tracing::warn!(session = %self.name(session), "{msg}");
                    self.set_error(session, msg);
                } else {
                    tracing::info!(session = %self.name(session), party = name, "{what}");
                }
            }
            LogEvent::Established {
                session,
                uuid,
                next_in,
                next_out,
                keepalive_ms,
            } => tracing::info!(
                session = %self.name(session),
                uuid,
                next_seq_in = next_in,
                next_seq_out = next_out,
                keepalive_ms,
                "established"
            ),
            LogEvent::LogonRejected {
                session,
                stage,
                code,
                name,
                reason,
            } => {
                let msg = format!("{stage:?} rejected: {code} {name}: {}", reason.as_str());
                if let Some(x) = self.last_reject.get_mut(session) {
                    *x = Some(format!("{stage:?} {code} {name}"));
                }
                tracing::error!(session = %self.name(session), "{msg}");
                self.set_error(session, msg);
            }
            LogEvent::Terminated {
                session,
                code,
                name,
                by_exchange,
                reason,
            } => {
                let who = if by_exchange { "exchange" } else { "ilinkd" };
                let msg = format!("terminated by {who}: {code} {name}: {}", reason.as_str());
                if code == 0 {
                    tracing::info!(session = %self.name(session), "{msg}");
                } else {
                    tracing::warn!(session = %self.name(session), "{msg}");
                    self.set_error(session, msg);
                }
            }
            LogEvent::RetransmitRequested {
                session,
                from,
                count,
            } => tracing::info!(session = %self.name(session), from, count, "retransmit requested"),
            LogEvent::RetransmitRejected {
                session,
                code,
                name,
                reason,
            } => {
                let msg = format!("retransmit rejected: {code} {name}: {}", reason.as_str());
                tracing::warn!(session = %self.name(session), "{msg}");
                self.set_error(session, msg);
            }
            LogEvent::MessagesLost {
                session,
                from,
                count,
                cause,
                strategies_told,
            } => {
                let msg = format!(
                    "{count} exchange messages from {from} lost ({cause:?}); \
                     {strategies_told} strategies told"
                );
                tracing::error!(session = %self.name(session), "{msg}");
                self.set_error(session, msg);
            }
            LogEvent::NotApplied {
                session,
                from,
                count,
                owners_told,
                resend,
            } => {
                let msg = format!(
                    "NotApplied {from}..{}: {}; {owners_told} request(s) reported to their strategies",
                    from.saturating_add(count),
                    if resend { "resent from the journal" } else { "gap filled" }
                );
                tracing::warn!(session = %self.name(session), "{msg}");
                self.set_error(session, msg);
            }
            LogEvent::KeepAliveLapsed { session } => tracing::warn!(
                session = %self.name(session),
                "nothing received for a keepalive interval"
            ),
            LogEvent::Alert { session, alert } => {
                let msg = format!("alert: {alert:?}");
                tracing::warn!(session = %self.name(session), "{msg}");
                self.set_error(session, msg);
            }
            LogEvent::Disconnect { session, reason } => {
                tracing::info!(session = %self.name(session), ?reason, "session disconnecting")
            }
            LogEvent::SequenceMismatch {
                session,
                session_seq,
                store_seq,
            } => {
                let msg = format!(
                    "sequence mismatch: session sent {session_seq}, store handed out {store_seq}"
                );
                tracing::error!(session = %self.name(session), "{msg}");
                self.set_error(session, msg);
            }
            LogEvent::LogonPolicy { session, say } => {
                let msg = say.to_string();
                if say.mode == super::logon::Mode::Throttled {
                    tracing::error!(session = %self.name(session), "{msg}");
                } else {
                    tracing::warn!(session = %self.name(session), "{msg}");
                }
                if let (Some(r), Some(x)) = (say.refusal, self.last_reject.get_mut(session)) {
                    *x = Some(r.to_string());
                }
                self.set_error(session, msg);
            }
            LogEvent::SendFailed { session, why } => {
                tracing::warn!(session = %self.name(session), "{why}");
                self.set_error(session, why.to_string());
            }
            LogEvent::DcLoggedOn {
                session,
                next_out,
                next_in,
            } => {
                tracing::info!(
                    session = %self.name(session),
                    next_seq_out = next_out,
                    next_seq_in = next_in,
                    "drop copy logged on"
                );
                self.save_dc_seqs(true);
            }
            LogEvent::DcNote {
                session,
                level,
                what,
                text,
            } => {
                let name = self.name(session).to_string();
                match level {
                    Level::Info => tracing::info!(session = %name, "drop copy {what}: {text}"),
                    Level::Warn => {
                        tracing::warn!(session = %name, "drop copy {what}: {text}");
                        self.set_error(session, format!("{what}: {text}"));
                    }
                    Level::Error => {
                        tracing::error!(session = %name, "drop copy {what}: {text}");
                        self.set_error(session, format!("{what}: {text}"));
                    }
                }
                if what == "disconnect" {
                    self.save_dc_seqs(true);
                }
            }
            LogEvent::RestartAction {
                session,
                action: super::order_journal::OnRestart::Cancel,
                requests: 0,
                restored,
            } => tracing::warn!(
                session = %self.name(session),
                restored,
                "on_restart = \"cancel\" but no [[instrument]] is configured: no mass cancel scope \
                 CME accepts covers the session; its orders are kept"
            ),
            LogEvent::RestartAction {
                session,
                action,
                requests,
                restored,
            } => tracing::info!(
                session = %self.name(session),
                on_restart = action.name(),
                requests,
                restored,
                "established after a restart: {}",
                match action {
                    super::order_journal::OnRestart::Recover =>
                        "order mass status requested to reconcile the restored orders",
                    super::order_journal::OnRestart::Cancel =>
                        "mass-cancelling every order on the session",
                }
            ),
            LogEvent::MassStatusReconciled { session, outcome } => {
                let name = self.name(session).to_string();
                tracing::info!(
                    session = %name,
                    open = outcome.open_known,
                    finished = outcome.finished + outcome.done_at_exchange,
                    unknown = outcome.unknown,
                    "order mass status reconciled"
                );
                if outcome.unknown > 0 {
                    tracing::warn!(
                        session = %name,
                        unknown = outcome.unknown,
                        "the exchange has open orders on this session that the daemon does not know \
                         (ilinkd_restart_unknown_orders_total)"
                    );
                }
            }
            LogEvent::OrdersRecovered { strategy, orders } => tracing::info!(
                strategy = %self.strategy_name(strategy),
                orders,
                "strategy re-attached: its open orders from before the restart sent as Recovered"
            ),
            LogEvent::StrategyAttached { strategy, pid } => {
                tracing::info!(strategy = %self.strategy_name(strategy), pid, "strategy attached")
            }
            LogEvent::StrategyFaulted { strategy, why } => tracing::error!(
                strategy = %self.strategy_name(strategy),
                "strategy segment faulted, no longer read: {why}"
            ),
            LogEvent::CancelOnExit { strategy, orders } => tracing::warn!(
                strategy = %self.strategy_name(strategy),
                orders,
                "strategy gone: cancelling its open orders"
            ),
            LogEvent::Draining { engine } => tracing::info!(engine, "engine draining"),
            LogEvent::EngineStopped { engine, clean } => {
                if clean {
                    tracing::info!(engine, "engine stopped; every session closed")
                } else {
                    tracing::warn!(
                        engine,
                        "engine stopped before every session answered its Terminate"
                    )
                }
            }
        }
    }

    fn maintain(&mut self) {
        for (i, store) in self.s.stores.iter_mut().enumerate() {
            let r = match store {
                Some(st) => st.maintain().map(|_| ()),
                None => Ok(()),
            };
            if let Err(e) = r {
                let name = self
                    .s
                    .shared
                    .sessions
                    .get(i)
                    .map_or("?", |s| s.name.as_str());
                tracing::error!(session = %name, "session store maintenance failed: {e}");
            }
        }
    }

    /// Logs the first inbound message of each template the router does not act on, and every
    /// rise in the count of inbound frames that failed to decode (the engine only counts).
    fn report_inbound(&mut self) {
        for (i, sh) in self.s.shared.sessions.iter().enumerate() {
            let Some(logged) = self.inbound_logged.get_mut(i) else {
                continue;
            };
            for (t, n) in sh.inbound.unhandled() {
                let bit = 1u128 << (t - FIRST_TEMPLATE);
                if logged.0 & bit == 0 {
                    logged.0 |= bit;
                    tracing::warn!(
                        session = %sh.name,
                        "received {} (template {t}), which ilinkd does not act on yet; {n} so far, \
                         counted in ilinkd_unhandled_messages_total (logged once per template)",
                        template_name(t)
                    );
                }
            }
            let (errors, last) = sh.inbound.decode_errors();
            if errors > logged.1 {
                tracing::error!(
                    session = %sh.name,
                    "{} inbound business frame(s) failed to decode (last: template {last}, {}); \
                     {errors} in all, counted in ilinkd_inbound_decode_errors_total",
                    errors - logged.1,
                    template_name(last)
                );
                logged.1 = errors;
            }
        }
    }

    fn liveness(&mut self) {
        let now = Instant::now();
        for g in 0..self.watches.len() {
            let sh = &self.s.shared.strategies[g];
            let pid = sh.pid.load(Ordering::Acquire);
            let hb = sh.heartbeat.load(Ordering::Acquire);
            let timeout = Duration::from_millis(u64::from(
                self.s
                    .cfg
                    .strategy
                    .get(g)
                    .map_or(1000, |c| c.heartbeat_timeout_ms),
            ));
            let w = self.watches[g];
            let mut died: Option<(u32, String)> = None;
            if pid != w.pid {
                if w.pid != 0 && !w.dead {
                    died = Some((
                        w.pid,
                        if pid == 0 {
                            "detached".into()
                        } else {
                            format!("replaced by pid {pid}")
                        },
                    ));
                }
                self.watches[g] = Watch {
                    pid,
                    last_hb: hb,
                    last_change: now,
                    dead: false,
                };
                if pid != 0 && !pid_alive(pid) {
                    self.watches[g].dead = true;
                    died = Some((pid, "process gone".into()));
                }
            } else if pid != 0 {
                let w = &mut self.watches[g];
                let changed = hb != w.last_hb;
                if changed {
                    w.last_hb = hb;
                    w.last_change = now;
                }
                if w.dead {
                    if changed && pid_alive(pid) {
                        w.dead = false;
                        tracing::info!(strategy = %sh.name, pid, "strategy heartbeat resumed");
                    }
                } else if !pid_alive(pid) {
                    w.dead = true;
                    died = Some((pid, "process gone".into()));
                } else if now - w.last_change > timeout {
                    w.dead = true;
                    died = Some((
                        pid,
                        format!(
                            "heartbeat silent for {} ms",
                            (now - w.last_change).as_millis()
                        ),
                    ));
                }
            }
            if let Some((pid, cause)) = died {
                tracing::warn!(strategy = %sh.name, pid, "strategy died: {cause}");
                if let Some(&(engine, local)) = self.s.strategy_routes.get(g) {
                    if let Some(l) = self.s.links.get(engine) {
                        let _ = l
                            .control
                            .try_send(Control::StrategyDied { strategy: local });
                    }
                }
            }
        }
    }

    fn drain_latency(&mut self) {
        let House {
            s,
            window,
            log,
            report,
            ..
        } = self;
        for c in &mut s.collectors {
            let clock = *c.clock();
            c.drain(|set, tags| {
                window.add_set(set, tags);
                if let Some(l) = log.as_mut() {
                    match l.write_set(set, tags, &clock) {
                        Ok(()) => {
                            if let Some(p) = l.current_path() {
                                if !report.latency_logs.iter().any(|q| q == p) {
                                    report.latency_logs.push(p.to_path_buf());
                                }
                            }
                        }
                        Err(e) => tracing::error!("latency log write failed: {e}"),
                    }
                }
            });
        }
    }

    fn key_of(&self, session: usize) -> (String, i64) {
        match self.s.keys.get(session) {
            Some(k) => {
                let a = k.current().active();
                (
                    a.access_key_id.as_str().to_string(),
                    a.days_left(today_utc()),
                )
            }
            None => ("-".into(), 0),
        }
    }

    fn seqs_of(&self, session: usize) -> (u64, u64) {
        let sh = &self.s.shared.sessions[session];
        match sh.kind {
            SessionKind::Ilink3 => self
                .s
                .handles
                .get(session)
                .map_or((0, 0), |h| (h.next_outbound(), h.next_inbound())),
            SessionKind::DropCopy => (
                sh.next_out.load(Ordering::Acquire),
                sh.next_in.load(Ordering::Acquire),
            ),
        }
    }

    fn metrics(&mut self) {
        if self.s.cfg.latency.prom_file.is_none() && self.server.is_none() {
            self.window.roll();
            return;
        }
        let sessions = (0..self.s.shared.sessions.len())
            .map(|i| {
                let sh = &self.s.shared.sessions[i];
                let (out, inb) = self.seqs_of(i);
                let st = sh.state();
                SessionMetrics {
                    name: sh.name.clone(),
                    kind: sh.kind.name().into(),
                    state: st.name().into(),
                    established: st == LinkState::Up,
                    next_seq_out: out,
                    next_seq_in: inb,
                    orders_sent: sh.orders_sent.load(Ordering::Relaxed),
                    events_received: sh.events_received.load(Ordering::Relaxed),
                    messages_lost: sh.messages_lost.load(Ordering::Relaxed),
                    reconnects: sh.reconnects.load(Ordering::Relaxed).saturating_sub(1),
                    key_days_to_expiry: self.key_of(i).1,
                    throttled_until_unix_s: throttled_until(sh).map(|t| t.0 as f64 / 1e9),
                    last_reject_code: u16::try_from(sh.last_reject_code.load(Ordering::Relaxed))
                        .ok(),
                }
            })
            .collect();
        let strategies = self
            .s
            .shared
            .strategies
            .iter()
            .map(|s| StrategyMetrics {
                name: s.name.clone(),
                orders_in: s.orders_in.load(Ordering::Relaxed),
                risk_rejects: s.risk_rejects.load(Ordering::Relaxed),
                events_out: s.events_out.load(Ordering::Relaxed),
                events_dropped: s.events_dropped.load(Ordering::Relaxed),
            })
            .collect();
        let snap = MetricsSnapshot {
            daemon: self.s.cfg.daemon.name.clone(),
            uptime_s: self.s.started.elapsed().map_or(0.0, |d| d.as_secs_f64()),
            clock: self.s.clock_name.into(),
            sessions,
            strategies,
            latency: self.window.roll(),
            handover_misses: self
                .s
                .collectors
                .iter()
                .map(|c| c.stats().handover_misses)
                .sum(),
            unhandled: self
                .s
                .shared
                .sessions
                .iter()
                .flat_map(|sh| {
                    sh.inbound.unhandled().map(|(t, n)| UnhandledMetrics {
                        session: sh.name.clone(),
                        template: t,
                        name: template_name(t).into(),
                        count: n,
                    })
                })
                .collect(),
            messaging_control_rejects: self
                .s
                .shared
                .sessions
                .iter()
                .filter(|sh| sh.kind == SessionKind::Ilink3)
                .flat_map(|sh| {
                    super::router::MC_KINDS
                        .iter()
                        .zip(&sh.messaging_control_rejects)
                        .map(|(kind, n)| (sh.name.clone(), *kind, n.load(Ordering::Relaxed)))
                })
                .collect(),
            decode_errors: self
                .s
                .shared
                .sessions
                .iter()
                .filter(|sh| sh.kind == SessionKind::Ilink3)
                .map(|sh| (sh.name.clone(), sh.inbound.decode_errors().0))
                .collect(),
            reconcile: self.recon.as_ref().map_or_else(Default::default, |r| {
                let r = r.reconciler();
                ReconcileMetrics {
                    unmatched_ilink3: r.unmatched(Side::Ilink3),
                    unmatched_dropcopy: r.unmatched(Side::DropCopy),
                    matched: r.matched_total(),
                    dropped: self
                        .s
                        .shared
                        .engines
                        .iter()
                        .map(|e| e.exec_copies_dropped.load(Ordering::Relaxed))
                        .sum(),
                }
            }),
            kill_switches: self
                .s
                .kill_book
                .entries()
                .iter()
                .map(|e| (e.scope.name().to_string(), e.target.clone()))
                .collect(),
            order_changes_dropped: self.order_changes_dropped(),
            restart_unknown_orders: self
                .s
                .shared
                .sessions
                .iter()
                .filter(|sh| sh.kind == SessionKind::Ilink3)
                .map(|sh| {
                    (
                        sh.name.clone(),
                        sh.restart_unknown_orders.load(Ordering::Relaxed),
                    )
                })
                .collect(),
            parties: self
                .s
                .shared
                .sessions
                .iter()
                .flat_map(|sh| {
                    sh.parties
                        .iter()
                        .map(|p| (sh.name.clone(), p.name.clone(), p.state().usable()))
                })
                .collect(),
        };
        let text = render(&snap);
        if let Some(p) = &self.s.cfg.latency.prom_file {
            let p = self.s.cfg.base_dir.join(p);
            if let Err(e) = write_prom_file(&p, &text) {
                tracing::error!("cannot write {}: {e}", p.display());
            }
        }
        if let Some(srv) = &self.server {
            srv.publish(text);
        }
    }

    fn status(&self) -> StatusFile {
        let sessions = (0..self.s.shared.sessions.len())
            .map(|i| {
                let sh = &self.s.shared.sessions[i];
                let (out, inb) = self.seqs_of(i);
                let (key_id, days) = self.key_of(i);
                SessionStatus {
                    name: sh.name.clone(),
                    kind: sh.kind.name().into(),
                    state: sh.state().name().into(),
                    uuid: sh.uuid.load(Ordering::Acquire),
                    next_seq_out: out,
                    next_seq_in: inb,
                    key_id,
                    key_days_left: days,
                    reconnects: sh.reconnects.load(Ordering::Relaxed).saturating_sub(1),
                    orders_sent: sh.orders_sent.load(Ordering::Relaxed),
                    events_received: sh.events_received.load(Ordering::Relaxed),
                    last_error: self.last_error.get(i).cloned().flatten(),
                    throttled_until: throttled_until(sh).map(super::logon::utc_hms),
                    last_reject: self.last_reject.get(i).cloned().flatten(),
                }
            })
            .collect();
        let strategies = self
            .s
            .shared
            .strategies
            .iter()
            .map(|s| StrategyStatus {
                name: s.name.clone(),
                pid: Some(s.pid.load(Ordering::Acquire)).filter(|&p| p != 0),
                orders_in: s.orders_in.load(Ordering::Relaxed),
                risk_rejects: s.risk_rejects.load(Ordering::Relaxed),
                events_out: s.events_out.load(Ordering::Relaxed),
                events_dropped: s.events_dropped.load(Ordering::Relaxed),
                open_orders: s.open_orders.load(Ordering::Relaxed),
            })
            .collect();
        StatusFile {
            daemon: self.s.cfg.daemon.name.clone(),
            pid: std::process::id(),
            started_unix_s: unix_s(self.s.started),
            updated_unix_s: unix_s(SystemTime::now()),
            phase: match self.s.shared.phase() {
                Phase::Running => "running",
                Phase::Draining => "draining",
                Phase::Stopped => "stopped",
            }
            .into(),
            clock: self.s.clock_name.into(),
            sessions,
            strategies,
            kill_switches: self.s.kill_book.entries().to_vec(),
            parties: self.party_status(),
        }
    }

    fn party_status(&self) -> Vec<super::status::PartyStatus> {
        let when = |ns: u64| (ns != 0).then(|| super::logon::utc_hms(crate::types::WallNanos(ns)));
        let mut out = Vec::new();
        for sh in &self.s.shared.sessions {
            for p in &sh.parties {
                let status = p.status.load(Ordering::Relaxed);
                out.push(super::status::PartyStatus {
                    session: sh.name.clone(),
                    name: p.name.clone(),
                    id: p.id,
                    registration: if p.pre_registered {
                        "pre_registered"
                    } else {
                        "on_demand"
                    }
                    .into(),
                    state: p.state().name().into(),
                    uuid: p.uuid.load(Ordering::Relaxed),
                    sent: when(p.sent_wall.load(Ordering::Relaxed)),
                    answered: when(p.answered_wall.load(Ordering::Relaxed)),
                    status: match status {
                        u64::MAX => None,
                        s if s >= 1000 => Some(format!("BusinessReject {}", s - 1000)),
                        s => Some(format!("519 status {s}")),
                    },
                    listed: when(p.listed_wall.load(Ordering::Relaxed)),
                });
            }
        }
        out
    }

    fn write_status(&self) {
        if let Err(e) = self.status().write(&self.s.status_path) {
            tracing::error!("cannot write {}: {e}", self.s.status_path.display());
        }
        self.save_parties();
    }

    /// Records the party definitions CME accepted (and under which UUID) when an engine
    /// reported a change, for a restart within the week (`parties.json`).
    fn save_parties(&self) {
        let sh = &self.s.shared;
        let gen = sh.party_gen.load(Ordering::Acquire);
        if gen == sh.party_saved_gen.load(Ordering::Relaxed) {
            return;
        }
        let accepted: Vec<super::party_store::AcceptedParty> = sh
            .sessions
            .iter()
            .flat_map(|s| {
                s.parties
                    .iter()
                    .filter(|p| p.state() == super::party::PartyState::Accepted)
                    .map(|p| super::party_store::AcceptedParty {
                        session: s.name.clone(),
                        id: p.id,
                        uuid: p.uuid.load(Ordering::Relaxed),
                    })
            })
            .collect();
        match super::party_store::save(&self.s.cfg.daemon.state_dir, &accepted) {
            Ok(()) => sh.party_saved_gen.store(gen, Ordering::Relaxed),
            Err(e) => tracing::error!("cannot record accepted party details: {e}"),
        }
    }

    fn notify_status(&self) {
        if !self.s.notifier.enabled() {
            return;
        }
        let states: Vec<String> = self
            .s
            .shared
            .sessions
            .iter()
            .map(|s| format!("{} {}", s.name, s.state().name()))
            .collect();
        self.s
            .notifier
            .notify(&format!("STATUS={}", states.join(", ")));
    }

    /// `WATCHDOG=1` only when every hot thread has turned its loop since the last pet.
    fn pet_watchdog(&mut self) {
        let mut all = true;
        for (i, e) in self.s.shared.engines.iter().enumerate() {
            let beats = e.heartbeat.load(Ordering::Acquire);
            if beats == self.last_watchdog_beats[i] && !e.done.load(Ordering::Acquire) {
                all = false;
            }
            self.last_watchdog_beats[i] = beats;
        }
        if all {
            self.s.notifier.notify("WATCHDOG=1");
        } else {
            tracing::error!("a hot thread is stuck: not petting the systemd watchdog");
        }
    }

    fn save_dc_seqs(&mut self, force: bool) {
        for (i, r) in self.s.recorders.iter_mut().enumerate() {
            let global = self.s.stores.len() + i;
            let Some(sh) = self.s.shared.sessions.get(global) else {
                continue;
            };
            // Never past what is journaled: messages the hot thread received but this thread
            // has not recorded yet would be lost by a kill -9 (the restart would not ask for
            // them again). Admin messages counted below the cap are resent as a gap fill.
            let journaled = r.last_inbound_seq().map_or(1, |s| s.saturating_add(1));
            let seqs = SeqNums {
                next_out: sh.next_out.load(Ordering::Acquire).max(1),
                next_in: dc_next_in_to_save(sh.next_in.load(Ordering::Acquire), journaled),
            };
            if sh.next_out.load(Ordering::Acquire) == 0 {
                continue;
            }
            if force || seqs != self.dc_saved[i] {
                match r.save_seqs(seqs, 0) {
                    Ok(()) => self.dc_saved[i] = seqs,
                    Err(e) => {
                        tracing::error!(session = %sh.name, "drop copy state save failed: {e}")
                    }
                }
            }
            r.heartbeat(crate::daemon::engine::realtime_ns());
        }
    }

    /// SIGHUP: reload every key file (a broken one keeps the keys in force; `KeyRing::reload`
    /// logs why) and the risk limits of the config file.
    fn reload(&mut self) {
        tracing::info!("SIGHUP: reloading keys and risk limits");
        let today = today_utc();
        let n_ilink = self.s.stores.len();
        for g in 0..self.s.keys.len() {
            let name = self.name(g).to_string();
            let Some(ring) = self.s.keys.get_mut(g) else {
                continue;
            };
            match ring.reload(today) {
                Ok(changed) => {
                    let active = ring.current().active();
                    tracing::info!(
                        session = %name,
                        key = %active.access_key_id,
                        days_left = active.days_left(today),
                        changed,
                        "keys reloaded; used from the next logon"
                    );
                    let Some(&(engine, local)) = self.s.session_routes.get(g) else {
                        continue;
                    };
                    let msg = if g < n_ilink {
                        Control::Credentials {
                            session: local,
                            creds: Credentials {
                                access_key_id: active.access_key_id.as_str().to_string(),
                                signer: active.signer(),
                            },
                        }
                    } else {
                        Control::DcCredentials {
                            session: local,
                            key_id: active.access_key_id.clone(),
                            signer: active.signer(),
                        }
                    };
                    if let Some(l) = self.s.links.get(engine) {
                        let _ = l.control.try_send(msg);
                    }
                }
                Err(e) => {
                    // KeyRing::reload already logged the refusal and what stays in force.
                    self.set_error(g, format!("key reload refused: {e}"));
                }
            }
        }
        let Some(path) = self.s.config_path.clone() else {
            return;
        };
        match Config::load(&path) {
            Ok(new) => {
                if !same_risk(&new.risk, &self.s.cfg.risk) {
                    tracing::info!(
                        max_order_qty = new.risk.max_order_qty,
                        max_open_orders = new.risk.max_open_orders,
                        max_orders_per_second = new.risk.max_orders_per_second,
                        "risk limits reloaded"
                    );
                    for l in &self.s.links {
                        let _ = l.control.try_send(Control::Risk(new.risk.clone()));
                    }
                    self.s.cfg.risk = new.risk;
                }
            }
            Err(e) => {
                tracing::error!("config reload refused, keeping the current risk limits: {e}")
            }
        }
    }

    fn close(mut self) -> HouseReport {
        self.drain_latency();
        self.save_dc_seqs(true);
        for store in self.s.stores.iter_mut() {
            if let Some(st) = store.take() {
                let name = st.name().to_string();
                match st.close() {
                    Ok(()) => tracing::info!(session = %name, "session store closed cleanly"),
                    Err(e) => {
                        tracing::error!(session = %name, "session store close failed: {e}");
                        self.report.close_errors.push(format!("{name}: {e}"));
                    }
                }
            }
        }
        for r in &mut self.s.recorders {
            if let Err(e) = r.sync() {
                self.report.close_errors.push(e.to_string());
            }
        }
        for e in 0..self.s.links.len() {
            self.drain_orders(e);
        }
        self.s.shared.advance(Phase::Stopped);
        self.write_status();
        self.report
    }
}

fn same_risk(a: &RiskConfig, b: &RiskConfig) -> bool {
    a.max_order_qty == b.max_order_qty
        && a.max_open_orders == b.max_open_orders
        && a.max_orders_per_second == b.max_orders_per_second
}

/// While a session is throttled (four bad logons within 60 s): until when, wall clock.
fn throttled_until(sh: &super::shared::SessionShared) -> Option<crate::types::WallNanos> {
    let t = sh.throttled_until_wall.load(Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    (t > now).then_some(crate::types::WallNanos(t))
}

/// The schema name of an iLink 3 template (`"ExecutionReportElimination524"`), or "unknown".
fn template_name(t: u16) -> &'static str {
    crate::ilink3::MESSAGES
        .iter()
        .find(|d| d.template_id == t)
        .map_or("unknown template", |d| d.name)
}

/// The Drop Copy next inbound sequence number to persist: the session's, but never beyond the
/// last journaled message + 1 (`journaled`).
fn dc_next_in_to_save(session_next_in: u64, journaled: u64) -> u64 {
    session_next_in.min(journaled).max(1)
}

#[cfg(test)]
mod dc_seq_tests {
    use super::dc_next_in_to_save;

    #[test]
    fn drop_copy_next_inbound_saved_never_passes_the_journal() {
        // Received up to 1697, journaled up to 1679 when killed: the restart asks from 1680.
        assert_eq!(dc_next_in_to_save(1698, 1680), 1680);
        assert_eq!(dc_next_in_to_save(1698, 1698), 1698);
        assert_eq!(dc_next_in_to_save(5, 9), 5);
        assert_eq!(dc_next_in_to_save(0, 1), 1);
    }
}
