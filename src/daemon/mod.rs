//! The daemon: hot engine threads, the housekeeping thread, and their lifecycle.
//!
//! ```text
//! strategy processes ──shm rings──▶ engine (hot thread, one per daemon.hot_cores entry)
//!                                     router → Session::send_business → Net::send
//!                                     Net::poll → Session::handle_input → events → rings
//!                    ◀──events────      │ journal records, Drop Copy messages, log events
//!                                       ▼ (fixed-size Link queues)     ▲ dead strategies,
//!                                   housekeeping thread ───────────────┘ keys, risk limits
//!                                     stores, Drop Copy recorder, latency logs, metrics,
//!                                     status.json, liveness, SIGHUP reload, systemd notify
//! ```
//!
//! [`Daemon::start`] checks keys, opens the stores (a second daemon on the same `state_dir` is
//! refused by the store lock), creates the strategy segments, starts the embedded simulator when
//! configured, then the threads. [`Daemon::shutdown`] (SIGTERM/SIGINT) drains: new requests are
//! refused ("shutting down"), every session is terminated with code 0 and its answer awaited
//! (at most [`engine::DRAIN_TIMEOUT_NS`]), then the stores are closed cleanly.
//! [`Daemon::reload`] (SIGHUP) reloads keys and risk limits without dropping sessions.

pub mod core;
pub mod engine;
pub mod house;
pub mod kill;
pub mod load;
pub mod logon;
pub mod notify;
pub mod order_journal;
pub mod party;
pub mod party_store;
pub mod reconcile;
pub mod router;
pub mod shared;
pub mod soak;
pub mod status;
pub mod wire;

use crate::config::Config;
use crate::ilink3::session::{Credentials, SessionSeqState};
use crate::latency::{channel, Clock, RecorderConfig};
use crate::runtime::idle::IdleParams;
use crate::runtime::threads::{spawn_hot, spawn_housekeeping, CorePlan, Link};
use crate::shm::strategy::StrategySegment;
use crate::sim::{EngineMode, Instrument, SimHandle, SimServer, Summary};
use crate::store::keys::today_utc;
use crate::store::keys::KeyRing;
use crate::store::SessionStore;
use crate::store::{DropCopyPaths, DropCopyRecorder, RecorderOptions};
use crate::types::{DropCopyIdx, LocalSessionIdx, SessionIdx, StrategyIdx};
use core::{DropCopySpec, IlinkSpec};
use engine::{Engine, EngineLinks, EngineSetup, StrategySetup};
use house::{House, HouseReport, HouseSetup};
use router::{cl_ord_id_prefix, Router, RouterConfig, StrategyRoute};
use shared::{DaemonShared, LogEvent, Phase, SessionKind, SessionShared, StrategyShared};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Queue sizes between an engine and the housekeeping thread.
const JOURNAL_QUEUE: usize = 65_536;
/// iLink 3 execution copies for reconciliation.
const EXEC_QUEUE: usize = 65_536;
const DC_QUEUE: usize = 4_096;
/// Order-journal records (one per change of an order's state).
const ORDER_QUEUE: usize = 65_536;
const LOG_QUEUE: usize = 8_192;
const CONTROL_QUEUE: usize = 256;
const STORE_QUEUE: usize = 256;
/// NotApplied/BusinessReject look-back per session (sequence numbers).
const SEQ_MEMORY: usize = 65_536;

/// Outbound sequence numbers reserved ahead of use. Housekeeping extends the reservation to
/// `next + RESERVE_BLOCK` whenever fewer than `RESERVE_LOW_WATER` remain, so the hot thread
/// always has at least ~3/4 of a block ahead of it: ~0.2 s at 500 000 requests/s (the e2e
/// bench's target rate), several seconds at ordinary rates. At 16 384 the headroom lasted ~60 ms
/// at 200 000/s, and a housekeeping thread preempted that long on a shared 2-core machine let
/// the hot thread run into it (`alert: ReservationLow`, requests held in the ring). After a
/// crash the next start skips at most this many numbers (the FIXP Sequence message tells the
/// exchange; nothing is lost, the gap is never sent). The state file is written once per
/// `RESERVE_BLOCK - RESERVE_LOW_WATER` numbers.
const RESERVE_BLOCK: u64 = 131_072;
const RESERVE_LOW_WATER: u64 = RESERVE_BLOCK - RESERVE_BLOCK / 4;

fn store_options(fsync: crate::types::FsyncPolicy) -> crate::store::StoreOptions {
    crate::store::StoreOptions {
        fsync,
        reserve_block: RESERVE_BLOCK,
        reserve_low_water: RESERVE_LOW_WATER,
    }
}

/// Why the daemon did not start (or stop cleanly). [`DaemonError::exit_code`] says which: 2 for
/// bad input (configuration, key files, addresses), 1 for a failure at run time.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config file (exit 2).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// One or more sessions' key files (exit 2): every failing session is listed.
    #[error("{}", join_lines(.0))]
    Keys(Vec<SessionKeyError>),
    /// A session with no gateway address (exit 2).
    #[error("{kind} {session}: no gateway address")]
    NoGateway { kind: &'static str, session: String },
    /// A Drop Copy session's settings (exit 2).
    #[error("dropcopy {session}: {source}")]
    DropCopySettings {
        session: String,
        #[source]
        source: crate::dropcopy::SessionError,
    },
    /// A folder the daemon needs (exit 1).
    #[error("cannot create {}: {source}", .path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A session store that would not open, or is locked by another daemon (exit 1).
    #[error("ilink3 session {session}: cannot open its store: {source}")]
    Store {
        session: String,
        #[source]
        source: crate::store::StoreError,
    },
    /// A Drop Copy journal or broadcast ring (exit 1).
    #[error("dropcopy session {session}: {source}")]
    Recorder {
        session: String,
        #[source]
        source: crate::store::DropCopyStoreError,
    },
    /// A strategy's shared-memory segment (exit 1).
    #[error("strategy {strategy}: {source}")]
    Segment {
        strategy: String,
        #[source]
        source: crate::shm::strategy::SegmentError,
    },
    /// The order journal would not open or replay (exit 1).
    #[error("order journal: {0}")]
    OrderJournal(#[source] order_journal::OrderJournalError),
    /// An order of the order journal cannot be restored (exit 1).
    #[error("order journal: {0}")]
    Restore(#[source] router::RestoreError),
    /// The kill switch file or the control socket (exit 1).
    #[error("kill switch: {0}")]
    Kill(#[source] kill::KillError),
    /// The embedded simulator (exit 1).
    #[error("embedded simulator: {0}")]
    Simulator(#[source] crate::sim::SimError),
    /// The latency recorder (exit 1).
    #[error("latency recorder: {0}")]
    Latency(#[source] crate::latency::recorder::RecorderError),
    /// A hot thread's network backend (exit 1).
    #[error("hot thread {engine}: {source}")]
    Net {
        engine: usize,
        #[source]
        source: crate::net::NetError,
    },
    /// A thread that could not be started or died starting (exit 1).
    #[error("cannot start {what}: {source}")]
    Thread {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A signal handler (exit 1).
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The housekeeping thread panicked (exit 1).
    #[error("the housekeeping thread panicked")]
    HousekeepingPanicked,
    /// Stores or journals that did not close cleanly (exit 1).
    #[error("stores not closed cleanly: {}", .0.join("; "))]
    UncleanClose(Vec<String>),
}

impl DaemonError {
    /// The process exit code: 2 for bad input, 1 for run-time failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            DaemonError::Config(_)
            | DaemonError::Keys(_)
            | DaemonError::NoGateway { .. }
            | DaemonError::DropCopySettings { .. } => 2,
            _ => 1,
        }
    }
}

/// A session whose keys did not load.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {session}: {source}")]
pub struct SessionKeyError {
    pub kind: &'static str,
    pub session: String,
    #[source]
    pub source: crate::auth::KeyError,
}

fn join_lines(errors: &[SessionKeyError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// How to run (beyond the config file).
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The config file, re-read on SIGHUP for risk limits.
    pub config_path: Option<PathBuf>,
    /// Idle back-off of the hot threads (tests use [`IdleParams::backing_off`]).
    pub idle_params: IdleParams,
    /// Talk to systemd when `NOTIFY_SOCKET` is set.
    pub systemd: bool,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            config_path: None,
            idle_params: IdleParams::default(),
            systemd: true,
        }
    }
}

/// What a clean stop reports.
#[derive(Debug)]
pub struct StopReport {
    /// Every engine saw every session close before its deadline.
    pub sessions_closed: bool,
    pub house: HouseReport,
    /// The embedded simulator's counters, if one ran.
    pub sim: Option<Summary>,
}

/// A running daemon.
pub struct Daemon {
    shared: Arc<DaemonShared>,
    engines: Vec<JoinHandle<bool>>,
    house: Option<JoinHandle<HouseReport>>,
    sim: Option<SimHandle>,
    state_dir: PathBuf,
    latency_dir: PathBuf,
    segments: Vec<PathBuf>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("state_dir", &self.state_dir)
            .field("phase", &self.shared.phase())
            .finish_non_exhaustive()
    }
}

fn create_private_dir(dir: &Path) -> Result<(), DaemonError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| DaemonError::Dir {
            path: dir.to_path_buf(),
            source,
        })
}

impl Daemon {
    /// Starts everything (see the module documentation), step by step. Returns once every
    /// thread runs; on any failure what was started is stopped again and the error says why.
    pub fn start(cfg: Config, opts: DaemonOptions) -> Result<Daemon, DaemonError> {
        let today = today_utc();
        let started = SystemTime::now();
        let start_us = started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);

        let keys = load_keys(&cfg, today)?;
        let state_dir = cfg.daemon.state_dir.clone();
        create_private_dir(&state_dir)?;
        // Stores first: their lock refuses a second daemon before anything else is touched.
        let (stores, recovered) = open_stores(&cfg, &state_dir)?;
        let recorders = open_recorders(&cfg, &state_dir)?;
        // Open orders of the previous run (replayed, compacted), restored into the routers
        // below before any hot thread starts.
        let (order_journal, open_orders) =
            order_journal::OrderJournal::open(&state_dir, cfg.daemon.fsync)
                .map_err(DaemonError::OrderJournal)?;
        if !open_orders.is_empty() {
            tracing::info!(
                orders = open_orders.len(),
                journal = %order_journal.path().display(),
                "restoring the open orders of the previous run"
            );
        }
        let sim = start_embedded_simulator(&cfg, today)?;
        let gateways = Gateways::resolve(&cfg, sim.as_ref())?;
        let shared = shared_state(&cfg);
        // Kill switches engaged before a restart block orders from the first request on.
        let kill_book = kill::KillBook::load(&state_dir).map_err(DaemonError::Kill)?;
        kill_book.apply(&shared);
        for e in kill_book.entries() {
            tracing::warn!(
                scope = e.scope.name(),
                target = %e.target,
                "kill switch still engaged: new orders refused until `ilinkd kill --release`"
            );
        }
        let control = kill::ControlServer::bind(&state_dir).map_err(DaemonError::Kill)?;
        let (mut segments, seg_paths) = create_segments(&cfg, &open_orders)?;

        let (clock, why) = Clock::best(Duration::from_millis(20));
        if let Some(e) = why {
            tracing::info!("latency clock: clock_gettime ({e})");
        }
        let handles: Vec<_> = stores.iter().map(|s| s.handle()).collect();
        let built = build_engines(EngineInputs {
            cfg: &cfg,
            opts: &opts,
            keys: &keys,
            recovered: &recovered,
            recorders: &recorders,
            handles: &handles,
            segments: &mut segments,
            gateways: &gateways,
            shared: &shared,
            clock,
            start_us,
            open_orders: &open_orders,
        })?;

        let plan = CorePlan::for_host(&cfg.daemon.hot_cores, cfg.daemon.housekeeping_core);
        let (engines, failure) = spawn_engines(&plan, cfg.daemon.hot_priority, built.setups);
        if let Some(error) = failure {
            stop_after_failed_start(&shared, engines, stores);
            return Err(error);
        }
        let latency_dir = latency_dir(&cfg, &state_dir);
        let notifier = if opts.systemd {
            notify::Notifier::from_env()
        } else {
            notify::Notifier::disabled()
        };
        let house_setup = HouseSetup {
            config_path: opts.config_path.clone(),
            stores: stores.into_iter().map(Some).collect(),
            handles,
            keys,
            recorders,
            collectors: built.collectors,
            links: built.links,
            shared: shared.clone(),
            session_routes: built.session_routes,
            strategy_routes: built.strategy_routes,
            started,
            clock_name: clock.source().name(),
            notifier,
            latency_dir: latency_dir.clone(),
            status_path: status::status_path(&state_dir),
            kill_book,
            control: Some(control),
            order_journal: Some(order_journal),
            cfg,
        };
        let house = spawn_housekeeping(&plan, move |_| House::new(house_setup).run()).map_err(
            |source| DaemonError::Thread {
                what: "the housekeeping thread".into(),
                source,
            },
        )?;
        Ok(Daemon {
            shared,
            engines,
            house: Some(house),
            sim,
            state_dir,
            latency_dir,
            segments: seg_paths,
        })
    }

    /// The published state (sessions, strategies, engine counters).
    pub fn shared(&self) -> &Arc<DaemonShared> {
        &self.shared
    }

    /// The embedded simulator, if `[simulator] embedded = true`.
    pub fn sim(&self) -> Option<&SimHandle> {
        self.sim.as_ref()
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Where the latency interval logs go.
    pub fn latency_dir(&self) -> &Path {
        &self.latency_dir
    }

    /// The strategy segment files.
    pub fn segments(&self) -> &[PathBuf] {
        &self.segments
    }

    /// SIGTERM/SIGINT set the shutdown flag, SIGHUP the reload flag.
    pub fn install_signals(&self) -> Result<(), DaemonError> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        for sig in [SIGTERM, SIGINT] {
            signal_hook::flag::register(sig, self.shared.terminate.clone()).map_err(|source| {
                DaemonError::Signal {
                    signal: "SIGTERM/SIGINT",
                    source,
                }
            })?;
        }
        signal_hook::flag::register(SIGHUP, self.shared.reload.clone()).map_err(|source| {
            DaemonError::Signal {
                signal: "SIGHUP",
                source,
            }
        })?;
        Ok(())
    }

    /// Starts the drain (as SIGTERM does).
    pub fn shutdown(&self) {
        self.shared.terminate.store(true, Ordering::Release);
        self.shared.advance(Phase::Draining);
    }

    /// Reloads keys and risk limits (as SIGHUP does).
    pub fn reload(&self) {
        self.shared.reload.store(true, Ordering::Release);
    }

    /// Whether every session is established / logged on.
    pub fn all_up(&self) -> bool {
        self.shared
            .sessions
            .iter()
            .all(|s| s.state() == shared::LinkState::Up)
    }

    /// Waits for the drain to finish (call [`Daemon::shutdown`] first, or let a signal do it),
    /// then stops the embedded simulator.
    pub fn wait(mut self) -> Result<StopReport, DaemonError> {
        let mut closed = true;
        for h in self.engines.drain(..) {
            closed &= h.join().unwrap_or(false);
        }
        let house = match self.house.take() {
            Some(h) => h.join().map_err(|_| DaemonError::HousekeepingPanicked)?,
            None => HouseReport::default(),
        };
        let sim = self.sim.take().map(SimHandle::stop);
        if !house.close_errors.is_empty() {
            return Err(DaemonError::UncleanClose(house.close_errors));
        }
        Ok(StopReport {
            sessions_closed: closed,
            house,
            sim,
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.engines.is_empty() && self.house.is_none() {
            return;
        }
        self.shutdown();
        for h in self.engines.drain(..) {
            let _ = h.join();
        }
        if let Some(h) = self.house.take() {
            let _ = h.join();
        }
    }
}

/// Start-up step: every session's key file must load (exit 2 otherwise, every failure listed).
fn load_keys(cfg: &Config, today: time::Date) -> Result<Vec<KeyRing>, DaemonError> {
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    let specs = cfg.session_keys();
    for (kind, name, spec) in specs {
        match cfg
            .key_source(spec)
            .and_then(|src| KeyRing::open(src, today))
        {
            Ok(k) => {
                for w in k.current().warnings() {
                    tracing::warn!(session = %name, "{w}");
                }
                keys.push(k);
            }
            Err(source) => problems.push(SessionKeyError {
                kind,
                session: name.clone(),
                source,
            }),
        }
    }
    if problems.is_empty() {
        Ok(keys)
    } else {
        Err(DaemonError::Keys(problems))
    }
}

/// Start-up step: each iLink 3 session's store (locked: a second daemon is refused here).
fn open_stores(
    cfg: &Config,
    state_dir: &Path,
) -> Result<(Vec<SessionStore>, Vec<crate::store::Recovered>), DaemonError> {
    let mut stores = Vec::new();
    let mut recovered = Vec::new();
    for s in &cfg.ilink3 {
        let (store, rec) =
            SessionStore::open_with(state_dir, &s.name, store_options(cfg.daemon.fsync)).map_err(
                |source| DaemonError::Store {
                    session: s.name.clone(),
                    source,
                },
            )?;
        if !rec.clean_shutdown && !rec.fresh {
            tracing::warn!(
                session = %s.name,
                next_seq_out = rec.next_outbound,
                unjournaled = ?rec.unjournaled_outbound,
                "previous run did not stop cleanly: outbound sequence resumes above the \
                 durable reservation"
            );
        }
        recovered.push(rec);
        stores.push(store);
    }
    Ok((stores, recovered))
}

/// Start-up step: each Drop Copy session's journal and broadcast ring.
fn open_recorders(cfg: &Config, state_dir: &Path) -> Result<Vec<DropCopyRecorder>, DaemonError> {
    let mut recorders = Vec::new();
    for s in &cfg.dropcopy {
        let recorder_err = |source| DaemonError::Recorder {
            session: s.name.clone(),
            source,
        };
        let paths = DropCopyPaths::new(state_dir, &s.name).map_err(recorder_err)?;
        let (mut r, _) = DropCopyRecorder::open(&paths, RecorderOptions::new(cfg.daemon.fsync))
            .map_err(recorder_err)?;
        if let Some(archived) = r
            .roll_week_if_due(engine::realtime_ns())
            .map_err(recorder_err)?
        {
            tracing::info!(
                session = %s.name,
                archived = %archived.display(),
                "drop copy: CME's weekly start-up passed since the journal's last message: sequence numbers restart at 1"
            );
        }
        recorders.push(r);
    }

    Ok(recorders)
}

/// Start-up step: the embedded simulator (the demo): gateways on loopback, the config's
/// instruments.
fn start_embedded_simulator(
    cfg: &Config,
    today: time::Date,
) -> Result<Option<SimHandle>, DaemonError> {
    if !cfg.embedded_simulator() {
        return Ok(None);
    }
    let mut sc = cfg.embedded_sim_config(today)?;
    sc.mode = EngineMode::Book;
    if let Some(s) = &cfg.simulator {
        sc.idle = s.idle;
        sc.core = s.core;
        if let Some(n) = s.cancel_reject_per_s {
            sc.messaging_controls.reject_per_s = n;
        }
        if let Some(n) = s.cancel_logout_per_s {
            sc.messaging_controls.logout_per_s = n;
        }
        sc.require_party_registration = s.require_party_registration;
        // Pre-registered parties are registered "at CME" outside ilinkd: the simulator knows them.
        sc.parties.extend(
            cfg.ilink3
                .iter()
                .flat_map(|i| &i.party)
                .filter(|p| p.registration == crate::config::PartyRegistration::PreRegistered)
                .map(|p| p.id),
        );
    }
    for i in &cfg.instrument {
        if let Some(tick) = i.tick_mantissa() {
            sc.instruments.push(Instrument {
                security_id: i.security_id,
                tick,
            });
            if let Some(sym) = &i.symbol {
                sc.symbols.insert(i.security_id, sym.clone());
            }
        }
    }
    Ok(Some(SimServer::start(sc).map_err(DaemonError::Simulator)?))
}

/// Where each session connects: the config's gateways, or the embedded simulator's ports.
struct Gateways {
    /// Per iLink 3 session (global index): primary, backup.
    ilink3: Vec<(SocketAddr, Option<SocketAddr>)>,
    /// Per Drop Copy session.
    dropcopy: Vec<(SocketAddr, Option<SocketAddr>)>,
}

impl Gateways {
    fn resolve(cfg: &Config, sim: Option<&SimHandle>) -> Result<Gateways, DaemonError> {
        let missing = |kind, name: &String| DaemonError::NoGateway {
            kind,
            session: name.clone(),
        };
        let ilink3 = cfg
            .ilink3
            .iter()
            .map(|c| match sim {
                Some(h) => h
                    .ilink3_addr(&c.session_id)
                    .map(|a| (a, None))
                    .ok_or_else(|| missing("ilink3", &c.name)),
                None => c
                    .primary
                    .map(|a| (a, c.backup))
                    .ok_or_else(|| missing("ilink3", &c.name)),
            })
            .collect::<Result<_, _>>()?;
        let dropcopy = cfg
            .dropcopy
            .iter()
            .map(|c| match sim {
                Some(h) => h
                    .dropcopy_addr(&c.sender_comp_id)
                    .map(|a| (a, None))
                    .ok_or_else(|| missing("dropcopy", &c.name)),
                None => c
                    .primary
                    .map(|a| (a, c.backup))
                    .ok_or_else(|| missing("dropcopy", &c.name)),
            })
            .collect::<Result<_, _>>()?;
        Ok(Gateways { ilink3, dropcopy })
    }
}

/// The `[[ilink3.party]]` definitions of session `c`, with the strategies naming each and the
/// UUID each was accepted under before a restart (`parties.json`).
fn party_specs(cfg: &Config, c: &crate::config::Ilink3Config) -> Vec<party::PartySpec> {
    let users: Vec<(Option<&str>, &[String])> = cfg
        .strategy
        .iter()
        .map(|s| (s.party.as_deref(), s.sessions.as_slice()))
        .collect();
    let accepted = if c.party.is_empty() {
        Vec::new()
    } else {
        party_store::load(&cfg.daemon.state_dir).unwrap_or_else(|e| {
            tracing::warn!("{e}; every on-demand party is defined again at Establish");
            Vec::new()
        })
    };
    let mut specs = party::PartySpec::of_session(c, &users);
    for p in &mut specs {
        if let Some(a) = accepted
            .iter()
            .find(|a| a.session == c.name && a.id == p.id)
        {
            p.accepted_uuid = a.uuid;
        }
    }
    specs
}

/// Start-up step: the state every thread publishes to (and `status.json` is written from).
fn shared_state(cfg: &Config) -> Arc<DaemonShared> {
    let sessions: Vec<SessionShared> = cfg
        .ilink3
        .iter()
        .map(|s| {
            let mut sh = SessionShared::new(&s.name, SessionKind::Ilink3);
            sh.parties = party_specs(cfg, s)
                .iter()
                .map(party::PartyShared::new)
                .collect();
            sh
        })
        .chain(
            cfg.dropcopy
                .iter()
                .map(|s| SessionShared::new(&s.name, SessionKind::DropCopy)),
        )
        .collect();
    let strategies: Vec<StrategyShared> = cfg
        .strategy
        .iter()
        .map(|s| StrategyShared::new(&s.name))
        .collect();
    let n_engines = cfg.daemon.hot_cores.len().max(1);
    Arc::new(DaemonShared::new(n_engines, sessions, strategies))
}

/// Start-up step: each strategy's shared-memory segment (its paths are removed at stop).
#[allow(clippy::type_complexity)]
fn create_segments(
    cfg: &Config,
    open_orders: &[router::OrderSnapshot],
) -> Result<(Vec<Option<StrategySegment>>, Vec<PathBuf>), DaemonError> {
    let mut segments = Vec::new();
    let mut seg_paths = Vec::new();
    for (g, s) in cfg.strategy.iter().enumerate() {
        // Request ids (= new order ids) continue after the restored orders' ids.
        let after = open_orders
            .iter()
            .filter(|o| usize::from(o.strategy) == g)
            .map(|o| o.client_id)
            .max()
            .unwrap_or(0);
        let seg = s
            .segment_options()
            .and_then(|o| {
                StrategySegment::create_after(
                    cfg.daemon
                        .shm_dir
                        .join(crate::shm::strategy::segment_file_name(&o.name)),
                    &o,
                    after,
                )
            })
            .map_err(|source| DaemonError::Segment {
                strategy: s.name.clone(),
                source,
            })?;
        seg_paths.push(seg.path().to_path_buf());
        segments.push(Some(seg));
    }
    Ok((segments, seg_paths))
}

/// What [`build_engines`] assembles the engines from.
struct EngineInputs<'a> {
    cfg: &'a Config,
    opts: &'a DaemonOptions,
    keys: &'a [KeyRing],
    recovered: &'a [crate::store::Recovered],
    recorders: &'a [DropCopyRecorder],
    handles: &'a [Arc<crate::store::SeqHandle>],
    /// Taken by the engine that runs the strategy.
    segments: &'a mut [Option<StrategySegment>],
    gateways: &'a Gateways,
    shared: &'a Arc<DaemonShared>,
    clock: Clock,
    start_us: u64,
    /// Open orders of the previous run (global strategy and session indices).
    open_orders: &'a [router::OrderSnapshot],
}

/// The engines' setups and what the housekeeping thread needs to reach them.
struct BuiltEngines {
    setups: Vec<EngineSetup>,
    links: Vec<EngineLinks>,
    collectors: Vec<crate::latency::Collector>,
    /// Per global session: (engine, index within the engine).
    session_routes: Vec<(usize, usize)>,
    /// Per global strategy: (engine, index within the engine).
    strategy_routes: Vec<(usize, usize)>,
}

/// Start-up step: per engine, its sessions, strategies, router, latency recorder and queues.
fn build_engines(inp: EngineInputs<'_>) -> Result<BuiltEngines, DaemonError> {
    let EngineInputs {
        cfg,
        opts,
        keys,
        recovered,
        recorders,
        handles,
        segments,
        gateways,
        shared,
        clock,
        start_us,
        open_orders,
    } = inp;
    let instruments: Vec<(i32, i64)> = cfg
        .instrument
        .iter()
        .filter_map(|i| i.tick_mantissa().map(|t| (i.security_id, t)))
        .collect();
    let scopes: Vec<router::InstrumentScope> = cfg
        .instrument
        .iter()
        .map(|i| {
            let mut group = [0u8; 6];
            if let Some(g) = &i.security_group {
                for (d, s) in group.iter_mut().zip(g.bytes()) {
                    *d = s;
                }
            }
            router::InstrumentScope {
                security_id: i.security_id,
                market_segment_id: i.market_segment_id,
                security_group: group,
            }
        })
        .collect();
    if instruments.is_empty() {
        tracing::warn!("no [[instrument]] configured: prices are not checked against a tick size");
    }
    let n_engines = cfg.daemon.hot_cores.len().max(1);
    let mut setups = Vec::new();
    let mut all_links = Vec::new();
    let mut collectors = Vec::new();
    let mut session_routes = vec![(0usize, 0usize); cfg.ilink3.len() + cfg.dropcopy.len()];
    let mut strategy_routes = vec![(0usize, 0usize); cfg.strategy.len()];
    let n_ilink = cfg.ilink3.len();
    for e in 0..n_engines {
        let mut ilink = Vec::new();
        let mut local_of = std::collections::HashMap::new();
        for (g, c) in cfg.ilink3.iter().enumerate().filter(|(_, c)| c.engine == e) {
            let active = keys[g].current().active();
            let mut session = crate::ilink3::session::FixpSession::new(
                c.session_config(),
                Credentials {
                    access_key_id: active.access_key_id.as_str().to_string(),
                    signer: active.signer(),
                },
                SessionSeqState::from(&recovered[g]),
            );
            session.set_recovery_policy(c.recovery_policy());
            session.set_weekly_close(c.weekly_close);
            local_of.insert(c.name.clone(), ilink.len());
            session_routes[g] = (e, ilink.len());
            ilink.push(IlinkSpec {
                global: SessionIdx::new(g),
                session,
                handle: handles[g].clone(),
                primary: gateways.ilink3[g].0,
                backup: gateways.ilink3[g].1,
                firm: wire::FirmFields::from_config(c),
                on_restart: c.on_restart_or(&cfg.router),
                parties: party_specs(cfg, c),
            });
        }
        let mut dropcopy = Vec::new();
        if e == 0 {
            for (i, c) in cfg.dropcopy.iter().enumerate() {
                let g = n_ilink + i;
                let active = keys[g].current().active();
                let mut session = crate::dropcopy::DropCopySession::new(
                    c.session_config(),
                    active.access_key_id.clone(),
                    active.signer(),
                    recorders[i].restored_seqs(),
                )
                .map_err(|source| DaemonError::DropCopySettings {
                    session: c.name.clone(),
                    source,
                })?;
                session.set_last_activity(recorders[i].last_activity_wall());
                session_routes[g] = (0, dropcopy.len());
                dropcopy.push(DropCopySpec {
                    global: SessionIdx::new(g),
                    dc: DropCopyIdx::new(i),
                    session,
                    primary: gateways.dropcopy[i].0,
                    backup: gateways.dropcopy[i].1,
                });
            }
        }
        let mut strategies = Vec::new();
        let mut routes = Vec::new();
        for (g, s) in cfg.strategy.iter().enumerate() {
            let on_this = s.sessions.iter().all(|n| local_of.contains_key(n));
            if !on_this || s.sessions.is_empty() {
                continue;
            }
            let sessions: Vec<LocalSessionIdx> = s
                .sessions
                .iter()
                .filter_map(|n| local_of.get(n).copied())
                .map(LocalSessionIdx::new)
                .collect();
            let Some(segment) = segments.get_mut(g).and_then(Option::take) else {
                continue;
            };
            strategy_routes[g] = (e, strategies.len());
            routes.push(StrategyRoute {
                sessions: sessions.iter().map(|e| e.get()).collect(),
                cancel_on_exit: s.cancel_on_exit,
            });
            strategies.push(StrategySetup {
                global: StrategyIdx::new(g),
                segment,
                sessions,
            });
        }
        let mut lat_names: Vec<String> = ilink
            .iter()
            .map(|s| cfg.ilink3[s.global.get()].name.clone())
            .collect();
        lat_names.extend(
            dropcopy
                .iter()
                .map(|d| cfg.dropcopy[d.dc.get()].name.clone()),
        );
        if lat_names.is_empty() {
            lat_names.push(format!("engine{e}"));
        }
        let mut rc = RecorderConfig::new(lat_names);
        rc.interval = Duration::from_millis(u64::from(cfg.latency.interval_ms.max(1)));
        let (recorder, collector) =
            channel(clock, &rc, clock.now()).map_err(DaemonError::Latency)?;
        collectors.push(collector);
        let mut router = Router::new(RouterConfig {
            prefix: cl_ord_id_prefix(start_us, e),
            strategies: routes,
            sessions: ilink.len(),
            instruments: instruments.clone(),
            scopes: scopes.clone(),
            risk: cfg.risk.clone(),
            seq_memory: SEQ_MEMORY,
        });
        let mine = engine_snapshots(e, cfg, open_orders, &ilink, &strategies);
        if !mine.is_empty() {
            router.restore(&mine).map_err(DaemonError::Restore)?;
        }
        let links = EngineLinks {
            journal: Link::new(JOURNAL_QUEUE),
            dc: Link::new(DC_QUEUE),
            exec: Link::new(EXEC_QUEUE),
            orders: Link::new(ORDER_QUEUE),
            log: Link::new(LOG_QUEUE),
            control: Link::new(CONTROL_QUEUE),
            store: Link::new(STORE_QUEUE),
        };
        all_links.push(links.clone());
        setups.push(EngineSetup {
            index: e,
            ilink,
            dropcopy,
            strategies,
            router,
            network: cfg.network.clone(),
            idle: cfg.daemon.idle,
            idle_params: opts.idle_params,
            recorder,
            links,
            shared: shared.clone(),
            seed: start_us ^ u64::from(std::process::id()).rotate_left(32),
        });
    }

    Ok(BuiltEngines {
        setups,
        links: all_links,
        collectors,
        session_routes,
        strategy_routes,
    })
}

/// The previous run's open orders that engine `ilink`/`strategies` runs, with engine-local
/// strategy and session indices. An order whose strategy or session is no longer configured
/// (or no longer on this strategy's sessions) is left out with a warning: nothing could cancel
/// it through this daemon.
fn engine_snapshots(
    engine: usize,
    cfg: &Config,
    snaps: &[router::OrderSnapshot],
    ilink: &[IlinkSpec],
    strategies: &[StrategySetup],
) -> Vec<router::OrderSnapshot> {
    let mut mine = Vec::new();
    for s in snaps {
        let g = usize::from(s.strategy);
        let Some(ls) = strategies.iter().position(|x| x.global.get() == g) else {
            // Another engine's, or a strategy no longer configured (said once, by engine 0).
            if engine == 0 && g >= cfg.strategy.len() {
                warn_not_restored(s, "its strategy is no longer configured");
            }
            continue;
        };
        let le = ilink
            .iter()
            .position(|x| x.global.get() == usize::from(s.session));
        let routed = strategies
            .get(ls)
            .and_then(|x| x.sessions.get(usize::from(s.strategy_session)))
            .map(|e| e.get());
        match le {
            Some(le) if routed == Some(le) => mine.push(router::OrderSnapshot {
                strategy: ls as u16,
                session: le as u16,
                ..*s
            }),
            _ => warn_not_restored(s, "its strategy no longer trades on its session"),
        }
    }
    mine
}

fn warn_not_restored(s: &router::OrderSnapshot, why: &str) {
    tracing::warn!(
        strategy = s.strategy,
        session = s.session,
        order_id = s.client_id,
        cl_ord_id = %String::from_utf8_lossy(&s.cl_ord_id),
        "order journal: an open order of the previous run is not restored ({why}); \
         nothing in this daemon can cancel it"
    );
}

/// Start-up step: one pinned hot thread per engine, each confirming that its backend started.
/// Returns the threads started and, if one failed, why (the caller then stops them).
fn spawn_engines(
    plan: &CorePlan,
    hot_priority: Option<i32>,
    setups: Vec<EngineSetup>,
) -> (Vec<JoinHandle<bool>>, Option<DaemonError>) {
    let mut engines = Vec::new();
    let mut failure = None;
    for setup in setups {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(), DaemonError>>(1);
        let index = setup.index;
        let spawned = spawn_hot(plan, index, hot_priority, move |placement| {
            let log = setup.links.log.clone();
            let shared = setup.shared.clone();
            match Engine::new(setup) {
                Ok(engine) => {
                    let _ = log.try_send(LogEvent::EngineStarted {
                        engine: index,
                        backend: engine.backend(),
                        pinned: placement.pinned,
                        realtime: placement.realtime,
                    });
                    let _ = tx.send(Ok(()));
                    engine.run()
                }
                Err(e) => {
                    let _ = tx.send(Err(DaemonError::Net {
                        engine: index,
                        source: e,
                    }));
                    if let Some(s) = shared.engines.get(index) {
                        s.done.store(true, Ordering::Release);
                    }
                    false
                }
            }
        });
        match spawned {
            Ok(h) => {
                engines.push(h);
                match rx.recv() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => failure = Some(e),
                    Err(_) => {
                        failure = Some(DaemonError::Thread {
                            what: format!("hot thread {index}"),
                            source: std::io::Error::other("it died while starting"),
                        })
                    }
                }
            }
            Err(source) => {
                failure = Some(DaemonError::Thread {
                    what: format!("hot thread {index}"),
                    source,
                })
            }
        }
        if failure.is_some() {
            break;
        }
    }
    (engines, failure)
}

/// Stops what a failed start had started: the engines, then the stores (closed cleanly).
fn stop_after_failed_start(
    shared: &DaemonShared,
    engines: Vec<JoinHandle<bool>>,
    stores: Vec<SessionStore>,
) {
    shared.advance(Phase::Stopped);
    for e in &shared.engines {
        e.done.store(true, Ordering::Release);
    }
    for h in engines {
        let _ = h.join();
    }
    for st in stores {
        let _ = st.close();
    }
}

/// `latency.log_dir` (relative to the config file), or `<state_dir>/latency`.
fn latency_dir(cfg: &Config, state_dir: &Path) -> PathBuf {
    cfg.latency
        .log_dir
        .clone()
        .map(|d| {
            if d.is_relative() {
                cfg.base_dir.join(d)
            } else {
                d
            }
        })
        .unwrap_or_else(|| state_dir.join("latency"))
}

/// `ilinkd run -c FILE`: runs until SIGTERM/SIGINT, then drains and exits.
pub fn run(path: &Path) -> Result<StopReport, DaemonError> {
    let cfg = Config::load(path)?;
    let d = Daemon::start(
        cfg,
        DaemonOptions {
            config_path: Some(path.to_path_buf()),
            ..DaemonOptions::default()
        },
    )?;
    d.install_signals()?;
    tracing::info!(
        state_dir = %d.state_dir().display(),
        "ilinkd running (pid {})",
        std::process::id()
    );
    let report = d.wait()?;
    if !report.sessions_closed {
        tracing::warn!("not every session answered its Terminate before the deadline");
    }
    Ok(report)
}
