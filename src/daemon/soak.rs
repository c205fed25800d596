//! `ilinkd soak`: a chaos soak. The simulator runs in this process (so that faults can be set
//! and connections dropped at run time, and so that it can be restarted on its state
//! directory); the daemon (`ilinkd run`) and the strategy (`ilinkd load`, one run after another)
//! are child processes of the same binary, so the daemon can be killed with SIGKILL.
//!
//! Every epoch runs one `ilinkd load` and injects one fault at a random moment. The faults are
//! dealt from a deck holding each kind once, shuffled again whenever it runs out (so every kind
//! comes up once in every [`FAULTS`]`.len()` epochs), with a seeded generator (the seed is
//! printed: `--seed` replays the same choices): a gap, NotApplied, a dropped connection (iLink 3
//! or Drop Copy), a keepalive lapse (and the Terminate that follows), a Terminate from the
//! exchange, duplicates (PossRetrans / PossDup copies), a Drop Copy failover jump, kill -9 of the
//! daemon, a restart of the simulator. Faults set for a connection apply to the session's next
//! one and the current one is dropped.
//!
//! At the end it checks, and prints as `INVARIANT <name> ok|FAIL <detail>`:
//! - `seq_unique`: no (session, UUID, SeqNum) received twice by the exchange;
//! - `clordid_unique`: no NewOrderSingle ClOrdID received twice;
//! - `requests_answered`: every request of every load run not cut short by a kill -9 got its
//!   answer (an exchange answer, NotApplied or a SessionDown reject);
//! - `reports_once`: no event delivered twice to a strategy;
//! - `dropcopy_reconciled`: the Drop Copy journal's ExecIDs are exactly those of the exchange's
//!   reports that Drop Copy copies as execution reports (an iLink 3 OrderCancelReject or
//!   OrderCancelReplaceReject is copied as a 35=9, `cancel_reject` in `ilinkd dropcopy tail`:
//!   those are counted instead, whether or not they carry an ExecID), and `ilinkd dropcopy reconcile` (the daemon's iLink 3 ↔ Drop Copy matching, from
//!   its journals) finds no mismatch;
//! - `no_panic`: no panic in any daemon or load log, every child exited by itself or by the
//!   signal sent to it.

use crate::auth::keys::KeyFile;
use crate::sim::config::{AfterBy, AfterCount, DropCopyEndpoint, Ilink3Endpoint, SimKey};
use crate::sim::record::RecordData;
use crate::sim::{Instrument, SessionFaults, SimConfig, SimHandle, SimRecord, SimServer};
use crate::store::keys::today_utc;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IL3: &str = "SOK";
const DC: &str = "SOAKDC1N";

/// What to run.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    pub duration: Duration,
    pub seed: u64,
    /// Working directory (configs, state, logs); kept afterwards.
    pub dir: PathBuf,
    /// The `ilinkd` binary (children: `run`, `load`, `dropcopy tail`).
    pub bin: PathBuf,
    /// Requests per second of the load.
    pub rate: u64,
    /// Length of one epoch (one load run, one fault).
    pub epoch: Duration,
}

/// One checked invariant.
#[derive(Debug, Clone)]
pub struct Invariant {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl std::fmt::Display for Invariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.ok { "ok" } else { "FAIL" };
        write!(f, "INVARIANT {} {verdict} {}", self.name, self.detail)
    }
}

/// Errors that stop the soak before it can check anything.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("simulator: {0}")]
    Sim(#[from] crate::sim::SimError),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SoakError {
    let what = what.into();
    move |source| SoakError::Io { what, source }
}

/// splitmix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Gap,
    NotApplied,
    Drop,
    DropCopyDrop,
    Lapse,
    Terminate,
    Duplicates,
    FailoverJump,
    Kill9,
    SimRestart,
}

const FAULTS: [Fault; 10] = [
    Fault::Gap,
    Fault::NotApplied,
    Fault::Drop,
    Fault::DropCopyDrop,
    Fault::Lapse,
    Fault::Terminate,
    Fault::Duplicates,
    Fault::FailoverJump,
    Fault::Kill9,
    Fault::SimRestart,
];

/// Deals faults from a shuffled deck of every kind, reshuffled when empty: every kind is
/// injected once per `FAULTS.len()` epochs.
struct Deck {
    left: Vec<Fault>,
}

impl Deck {
    fn deal(&mut self, rng: &mut Rng) -> Fault {
        if self.left.is_empty() {
            self.left = FAULTS.to_vec();
            // Fisher-Yates.
            for i in (1..self.left.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                self.left.swap(i, j);
            }
        }
        self.left.pop().unwrap_or(Fault::Drop)
    }
}

/// iLink 3 templates whose ExecID no Drop Copy copy carries: OrderCancelReject and
/// OrderCancelReplaceReject (Drop Copy 35=9 has no tag 17), OrderMassActionReport (not copied).
fn copied_without_exec_id(template: u16) -> bool {
    matches!(template, 535 | 536 | 562)
}

fn keys(name: &str) -> Vec<SimKey> {
    let k = KeyFile::demo(name, today_utc());
    vec![SimKey {
        access_key_id: k.active().access_key_id.as_str().to_string(),
        signer: k.active().signer(),
    }]
}

struct Soak {
    opts: SoakOptions,
    rng: Rng,
    sim_cfg: SimConfig,
    sim: Option<SimHandle>,
    record: SimRecord,
    daemon: Option<Child>,
    daemons_started: u32,
    config: PathBuf,
    /// Children that did not end as expected (unexpected exit status).
    bad_exits: Vec<String>,
    logs: Vec<PathBuf>,
}

impl Soak {
    fn start_sim(&mut self) -> Result<(), SoakError> {
        let mut last = None;
        for _ in 0..50 {
            match SimServer::start(self.sim_cfg.clone()) {
                Ok(h) => {
                    // Later restarts listen on the same ports.
                    for e in &mut self.sim_cfg.ilink3 {
                        e.port = h.ilink3_addr(&e.session_id).map_or(0, |a| a.port());
                    }
                    for e in &mut self.sim_cfg.dropcopy {
                        e.port = h.dropcopy_addr(&e.sender_comp_id).map_or(0, |a| a.port());
                    }
                    self.sim = Some(h);
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Err(last.map_or_else(
            || SoakError::Io {
                what: "simulator".into(),
                source: std::io::Error::other("did not start"),
            },
            SoakError::Sim,
        ))
    }

    fn write_config(&self) -> Result<(), SoakError> {
        let d = &self.opts.dir;
        let addr = |p: u16| format!("127.0.0.1:{p}");
        let il = self.sim_cfg.ilink3.first().map_or(0, |e| e.port);
        let dc = self.sim_cfg.dropcopy.first().map_or(0, |e| e.port);
        let text = format!(
            "[daemon]\nname = \"soak\"\nstate_dir = {:?}\nshm_dir = {:?}\n\
             hot_cores = [1]\nhousekeeping_core = 0\nidle = \"park\"\nfsync = \"never\"\n\
             [network]\nbackend = \"poll\"\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n\
             [[ilink3]]\nname = \"eq\"\nsession_id = \"{IL3}\"\nfirm_id = \"001\"\n\
             key_file = \"demo:il-soak\"\nkeepalive_ms = 5000\nprimary = \"{}\"\n\
             [[dropcopy]]\nname = \"dc\"\nsender_comp_id = \"{DC}\"\nsender_sub_id = \"T\"\n\
             sender_location_id = \"US,IL\"\nheartbeat_s = 5\nkey_file = \"demo:dc-soak\"\n\
             primary = \"{}\"\n\
             [[strategy]]\nname = \"s\"\nsessions = [\"eq\"]\nrequest_capacity = 1024\n\
             event_capacity = 4096\nheartbeat_timeout_ms = 2000\n\
             [[instrument]]\nsecurity_id = 42\nsymbol = \"ESZ6\"\ntick = \"0.25\"\n\
             [risk]\nmax_order_qty = 100\nmax_open_orders = 100000\nmax_orders_per_second = 100000\n",
            d.join("state"),
            d.join("shm"),
            addr(il),
            addr(dc),
        );
        std::fs::write(&self.config, text).map_err(io("writing the daemon config"))
    }

    fn log_file(&mut self, name: String) -> Result<File, SoakError> {
        let p = self.opts.dir.join(name);
        let f = File::create(&p).map_err(io(format!("creating {}", p.display())))?;
        self.logs.push(p);
        Ok(f)
    }

    fn start_daemon(&mut self) -> Result<(), SoakError> {
        self.daemons_started += 1;
        let log = self.log_file(format!("daemon-{}.log", self.daemons_started))?;
        let child = Command::new(&self.opts.bin)
            .args(["run", "-c"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(io("starting ilinkd run"))?;
        self.daemon = Some(child);
        Ok(())
    }

    /// Waits (up to 20 s) for the current daemon to have written its status as running: its
    /// strategy segments exist then (a strategy attached earlier could find the killed
    /// daemon's segment). False when it did not.
    fn wait_daemon_ready(&mut self) -> bool {
        let Some(pid) = self.daemon.as_ref().map(Child::id) else {
            return false;
        };
        let path = super::status::status_path(&self.opts.dir.join("state"));
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if super::status::StatusFile::read(&path)
                .is_ok_and(|st| st.pid == pid && st.phase == "running")
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn start_load(&mut self, epoch: u32, orders: u64) -> Result<Child, SoakError> {
        if !self.wait_daemon_ready() {
            self.bad_exits.push(format!(
                "epoch {epoch}: the daemon was not running within 20 s"
            ));
        }
        let out = self.log_file(format!("load-{epoch}.out"))?;
        let err = out.try_clone().map_err(io("load log"))?;
        // Each run trades at its own price: orders a killed run left resting cannot fill it.
        let price = format!("{}", 4000 + 10 * u64::from(epoch % 50));
        Command::new(&self.opts.bin)
            .args(["load", "-c"])
            .arg(&self.config)
            .args(["--strategy", "s"])
            .args(["--orders", &orders.to_string()])
            .args(["--rate", &self.opts.rate.to_string()])
            .args(["--timeout-s", "20"])
            .args(["--price", &price])
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(io("starting ilinkd load"))
    }

    fn sim(&self) -> Option<&SimHandle> {
        self.sim.as_ref()
    }

    /// Sets `faults` for the next connection of an iLink 3 (or Drop Copy) session and drops
    /// the current one.
    fn fault_next_connection(&self, dropcopy: bool, faults: SessionFaults) {
        let Some(sim) = self.sim() else { return };
        let faults = SessionFaults {
            connections: Some(1),
            ..faults
        };
        if dropcopy {
            sim.set_dropcopy_faults(DC, faults);
        } else {
            sim.set_ilink3_faults(IL3, faults);
        }
        sim.drop_connections(dropcopy, if dropcopy { DC } else { IL3 });
    }

    fn kill9_daemon(&mut self) -> Result<(), SoakError> {
        if let Some(mut d) = self.daemon.take() {
            let _ = d.kill(); // SIGKILL
            let _ = d.wait();
        }
        self.start_daemon()
    }

    fn restart_sim(&mut self) -> Result<(), SoakError> {
        if let Some(h) = self.sim.take() {
            h.stop();
        }
        self.start_sim()
    }

    fn inject(&mut self, f: Fault) -> Result<(), SoakError> {
        let r = &mut self.rng;
        let after = r.range(2, 40);
        let count = r.range(1, 5) as u32;
        let by = r.range(2, 30);
        match f {
            Fault::Gap => {
                self.fault_next_connection(
                    false,
                    SessionFaults {
                        skip: Some(AfterCount { after, count }),
                        ..SessionFaults::default()
                    },
                );
                self.fault_next_connection(
                    true,
                    SessionFaults {
                        skip: Some(AfterCount { after, count }),
                        ..SessionFaults::default()
                    },
                );
            }
            Fault::NotApplied => self.fault_next_connection(
                false,
                SessionFaults {
                    not_applied: Some(AfterCount { after, count }),
                    ..SessionFaults::default()
                },
            ),
            Fault::Drop => self.fault_next_connection(false, SessionFaults::default()),
            Fault::DropCopyDrop => self.fault_next_connection(true, SessionFaults::default()),
            Fault::Lapse => self.fault_next_connection(
                false,
                SessionFaults {
                    silent: true,
                    ..SessionFaults::default()
                },
            ),
            Fault::Terminate => {
                if let Some(sim) = self.sim() {
                    sim.terminate_ilink3(IL3);
                }
            }
            Fault::Duplicates => {
                let dup = SessionFaults {
                    duplicate: true,
                    ..SessionFaults::default()
                };
                self.fault_next_connection(false, dup.clone());
                self.fault_next_connection(true, dup);
            }
            Fault::FailoverJump => self.fault_next_connection(
                true,
                SessionFaults {
                    failover_jump: Some(AfterBy { after, by }),
                    ..SessionFaults::default()
                },
            ),
            Fault::Kill9 => self.kill9_daemon()?,
            Fault::SimRestart => self.restart_sim()?,
        }
        Ok(())
    }

    /// `ilinkd dropcopy tail --no-follow` of the whole journal: the ExecIDs, and how many
    /// OrderCancelRejects (35=9) it holds.
    fn dropcopy_exec_ids(&self) -> Result<(Vec<String>, usize), SoakError> {
        let out = Command::new(&self.opts.bin)
            .args(["dropcopy", "tail", "-c"])
            .arg(&self.config)
            .args(["--from", "1", "--no-follow"])
            .stderr(Stdio::null())
            .output()
            .map_err(io("running ilinkd dropcopy tail"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect();
        // `tail` shows a 35=9 (bare or in a 35=n) as `source: cancel_reject`; CME's may carry
        // an ExecID, which is not one of an execution report.
        let is_reject = |v: &serde_json::Value| {
            v.get("source").and_then(|t| t.as_str()) == Some("cancel_reject")
        };
        let rejects = lines.iter().filter(|v| is_reject(v)).count();
        let ids = lines
            .iter()
            .filter(|v| !is_reject(v))
            .filter_map(|v| v.get("exec_id")?.as_str().map(str::to_string))
            .collect();
        Ok((ids, rejects))
    }

    /// `ilinkd dropcopy reconcile` of today (and yesterday, when the soak crossed midnight
    /// UTC): its summary lines, and whether every one found no mismatch.
    fn daemon_reconcile(&self, dates: &[String]) -> Result<(bool, Vec<String>), SoakError> {
        let mut ok = true;
        let mut lines = Vec::new();
        for date in dates {
            let out = Command::new(&self.opts.bin)
                .args(["dropcopy", "reconcile", "-c"])
                .arg(&self.config)
                .args(["--date", date])
                .stderr(Stdio::null())
                .output()
                .map_err(io("running ilinkd dropcopy reconcile"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let summary = text
                .lines()
                .find(|l| l.starts_with("reconcile "))
                .unwrap_or("no summary line")
                .to_string();
            let first: Vec<&str> = text
                .lines()
                .filter(|l| !l.starts_with("reconcile "))
                .take(3)
                .collect();
            ok &= out.status.success() && summary.starts_with("reconcile ");
            lines.push(if first.is_empty() {
                summary
            } else {
                format!("{summary}; e.g. {first:?}")
            });
        }
        Ok((ok, lines))
    }
}

/// Totals of one `ilinkd load` run, from its `totals:` line.
#[derive(Debug, Default, Clone)]
struct LoadTotals {
    requests: u64,
    unanswered: u64,
    duplicate_events: u64,
    not_applied: u64,
    session_down: u64,
}

fn parse_totals(text: &str) -> Option<LoadTotals> {
    let line = text.lines().find_map(|l| l.strip_prefix("totals: "))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut m = HashMap::new();
    for w in words.chunks(2) {
        if let [k, v] = w {
            m.insert(*k, v.parse::<u64>().ok()?);
        }
    }
    Some(LoadTotals {
        requests: *m.get("requests")?,
        unanswered: *m.get("unanswered")?,
        duplicate_events: *m.get("duplicate_events")?,
        not_applied: *m.get("not_applied")?,
        session_down: *m.get("session_down")?,
    })
}

/// Waits for `child` until `deadline`; `None` when it is still running then.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the soak; prints progress and the invariant lines to stdout and returns the
/// invariants.
pub fn run(opts: SoakOptions) -> Result<Vec<Invariant>, SoakError> {
    std::fs::create_dir_all(opts.dir.join("shm")).map_err(io("creating the soak directory"))?;
    println!(
        "soak: seed {} for {} s, epochs of {} s at {} requests/s, in {}",
        opts.seed,
        opts.duration.as_secs(),
        opts.epoch.as_secs(),
        opts.rate,
        opts.dir.display()
    );
    let record = SimRecord::new();
    let mut sim_cfg = SimConfig::new();
    sim_cfg.instruments = vec![Instrument {
        security_id: 42,
        tick: 250_000_000,
    }];
    sim_cfg.ilink3.push(Ilink3Endpoint {
        session_id: IL3.into(),
        firm_id: "001".into(),
        keys: keys("il-soak"),
        port: 0,
        faults: SessionFaults::default(),
    });
    sim_cfg.dropcopy.push(DropCopyEndpoint {
        sender_comp_id: DC.into(),
        firms: vec![],
        keys: keys("dc-soak"),
        port: 0,
        xml_non_fix: false,
        faults: SessionFaults::default(),
    });
    sim_cfg.state_dir = Some(opts.dir.join("sim-state"));
    sim_cfg.record = Some(record.clone());
    let utc_today = || super::reconcile::utc_date(super::engine::realtime_ns());
    let start_date = utc_today();
    let mut s = Soak {
        rng: Rng(opts.seed),
        config: opts.dir.join("ilinkd.toml"),
        opts,
        sim_cfg,
        sim: None,
        record,
        daemon: None,
        daemons_started: 0,
        bad_exits: Vec::new(),
        logs: Vec::new(),
    };
    s.start_sim()?;
    s.write_config()?;
    s.start_daemon()?;

    let started = Instant::now();
    let epoch_len = s.opts.epoch.max(Duration::from_secs(3));
    let orders = s.opts.rate.max(1) * epoch_len.as_secs();
    let mut injected: BTreeMap<Fault, u32> = BTreeMap::new();
    let mut totals = LoadTotals::default();
    let mut interrupted = 0u32;
    let mut hung = Vec::new();
    let mut epoch = 0u32;
    let mut deck = Deck { left: Vec::new() };
    while started.elapsed() < s.opts.duration {
        epoch += 1;
        let mut load = s.start_load(epoch, orders)?;
        let at = Duration::from_millis(s.rng.range(500, epoch_len.as_millis() as u64 - 500));
        std::thread::sleep(at);
        let fault = deck.deal(&mut s.rng);
        println!(
            "soak: epoch {epoch} at {:.1} s: {fault:?}",
            started.elapsed().as_secs_f64()
        );
        if fault == Fault::Kill9 {
            // The strategy cannot outlive its daemon's segment: it goes with it.
            let _ = load.kill();
        }
        s.inject(fault)?;
        *injected.entry(fault).or_default() += 1;
        let status = wait_until(
            &mut load,
            Instant::now() + epoch_len + Duration::from_secs(40),
        );
        if status.is_none() {
            let _ = load.kill();
            let _ = load.wait();
            hung.push(epoch);
        }
        let out = std::fs::read_to_string(s.opts.dir.join(format!("load-{epoch}.out")))
            .unwrap_or_default();
        match parse_totals(&out) {
            Some(t) if fault != Fault::Kill9 => {
                totals.requests += t.requests;
                totals.unanswered += t.unanswered;
                totals.duplicate_events += t.duplicate_events;
                totals.not_applied += t.not_applied;
                totals.session_down += t.session_down;
            }
            _ if fault == Fault::Kill9 => interrupted += 1,
            _ => hung.push(epoch),
        }
        if s.daemon
            .as_mut()
            .is_some_and(|d| !matches!(d.try_wait(), Ok(None)))
        {
            s.bad_exits
                .push(format!("daemon exited by itself in epoch {epoch}"));
            s.start_daemon()?;
        }
    }

    // Quiet: let Drop Copy catch up (resends after the last faults, and the cancels of the
    // last strategy's orders once its heartbeat times out), then stop the daemon.
    let expected_now = |s: &Soak| -> Expected {
        let rec = s.record.lock();
        let (no_id, with_id): (Vec<_>, Vec<_>) = rec
            .reported
            .iter()
            .partition(|r| copied_without_exec_id(r.template_id));
        Expected {
            exec_ids: with_id.iter().map(|r| r.exec_id.to_string()).collect(),
            rejects: no_id
                .iter()
                .filter(|r| matches!(r.template_id, 535 | 536))
                .count(),
        }
    };
    std::thread::sleep(Duration::from_secs(3));
    let quiet_end = Instant::now() + Duration::from_secs(30);
    let mut expected = expected_now(&s);
    let mut dc_ids = s.dropcopy_exec_ids()?;
    while Instant::now() < quiet_end && !reconcile(&expected, &dc_ids.0, dc_ids.1).ok {
        std::thread::sleep(Duration::from_secs(2));
        expected = expected_now(&s);
        dc_ids = s.dropcopy_exec_ids()?;
    }
    if let Some(mut d) = s.daemon.take() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(d.id().to_string())
            .status();
        match wait_until(&mut d, Instant::now() + Duration::from_secs(10)) {
            Some(st) if st.success() => {}
            Some(st) => s.bad_exits.push(format!("daemon stopped with {st}")),
            None => {
                let _ = d.kill();
                let _ = d.wait();
                s.bad_exits
                    .push("daemon did not stop within 10 s of SIGTERM".into());
            }
        }
    }
    let sim_alive = s.sim().is_some_and(SimHandle::is_running);
    if let Some(h) = s.sim.take() {
        h.stop();
    }

    println!(
        "soak: {epoch} epochs in {:.0} s, faults {injected:?}, {} daemon start(s)",
        started.elapsed().as_secs_f64(),
        s.daemons_started
    );
    let data = s.record.snapshot();
    let mut inv = check_record(&data);
    inv.push(Invariant {
        name: "requests_answered",
        ok: totals.unanswered == 0 && hung.is_empty(),
        detail: format!(
            "{} requests in {} complete load runs: {} unanswered, {} NotApplied, {} SessionDown; \
             {interrupted} run(s) cut short by kill -9; runs without a result: {hung:?}",
            totals.requests,
            epoch - interrupted - hung.len() as u32,
            totals.unanswered,
            totals.not_applied,
            totals.session_down
        ),
    });
    inv.push(Invariant {
        name: "reports_once",
        ok: totals.duplicate_events == 0,
        detail: format!(
            "{} event(s) delivered twice to the strategy",
            totals.duplicate_events
        ),
    });
    let mut dc_inv = reconcile(&expected, &dc_ids.0, dc_ids.1);
    let mut dates = vec![start_date];
    if utc_today() != dates[0] {
        dates.push(utc_today());
    }
    let (daemon_ok, summaries) = s.daemon_reconcile(&dates)?;
    dc_inv.ok &= daemon_ok;
    dc_inv.detail = format!(
        "{}; ilinkd dropcopy reconcile: {summaries:?}",
        dc_inv.detail
    );
    inv.push(dc_inv);
    let mut panics = Vec::new();
    for p in &s.logs {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        if text.contains("panicked") {
            panics.push(p.display().to_string());
        }
    }
    if !sim_alive {
        s.bad_exits.push("the simulator thread stopped".into());
    }
    inv.push(Invariant {
        name: "no_panic",
        ok: panics.is_empty() && s.bad_exits.is_empty(),
        detail: format!(
            "{} log(s) checked; panics in {panics:?}; unexpected exits {:?}",
            s.logs.len(),
            s.bad_exits
        ),
    });
    for i in &inv {
        println!("{i}");
    }
    Ok(inv)
}

/// `seq_unique` and `clordid_unique` from the simulator's record.
fn check_record(data: &RecordData) -> Vec<Invariant> {
    let mut seqs = HashSet::new();
    let mut dup_seqs = Vec::new();
    let mut ids = HashSet::new();
    let mut dup_ids = Vec::new();
    let mut orders = 0u64;
    for r in &data.received {
        if !seqs.insert((&r.session, r.uuid, r.seq)) {
            dup_seqs.push(format!("{} uuid {} seq {}", r.session, r.uuid, r.seq));
        }
        if let Some(id) = &r.cl_ord_id {
            orders += 1;
            if !ids.insert((&r.session, id)) {
                dup_ids.push(format!("{} {id}", r.session));
            }
        }
    }
    dup_seqs.truncate(5);
    dup_ids.truncate(5);
    vec![
        Invariant {
            name: "seq_unique",
            ok: dup_seqs.is_empty(),
            detail: format!(
                "{} business messages received by the exchange; reused: {dup_seqs:?}",
                data.received.len()
            ),
        },
        Invariant {
            name: "clordid_unique",
            ok: dup_ids.is_empty(),
            detail: format!("{orders} new orders received; ClOrdIDs sent twice: {dup_ids:?}"),
        },
    ]
}

/// What the exchange reported that Drop Copy must carry.
#[derive(Debug, Default)]
struct Expected {
    /// ExecIDs of the reports Drop Copy copies with their ExecID.
    exec_ids: HashSet<String>,
    /// Cancel / cancel-replace rejects (Drop Copy 35=9, no ExecID).
    rejects: usize,
}

/// `dropcopy_reconciled` (its simulator half): the exchange's ExecIDs against the Drop Copy
/// journal's, and the number of cancel rejects against the journal's 35=9 messages.
fn reconcile(expected: &Expected, dc: &[String], dc_rejects: usize) -> Invariant {
    let rejects = expected.rejects;
    let expected = &expected.exec_ids;
    let got: HashSet<&String> = dc.iter().collect();
    let mut missing: Vec<&String> = expected.iter().filter(|e| !got.contains(e)).collect();
    let mut extra: Vec<&&String> = got.iter().filter(|e| !expected.contains(**e)).collect();
    let (n_missing, n_extra) = (missing.len(), extra.len());
    missing.sort();
    missing.truncate(5);
    extra.sort();
    extra.truncate(5);
    Invariant {
        name: "dropcopy_reconciled",
        ok: n_missing == 0 && n_extra == 0 && !expected.is_empty() && rejects == dc_rejects,
        detail: format!(
            "{} exchange reports with an ExecID, {} Drop Copy messages ({} distinct ExecIDs): \
             {n_missing} missing {missing:?}, {n_extra} unknown {extra:?}; {rejects} cancel \
             rejects, {dc_rejects} Drop Copy 35=9",
            expected.len(),
            dc.len(),
            got.len()
        ),
    }
}

/// The default working directory: a fresh folder under the system's temporary directory.
pub fn default_dir(seed: u64) -> PathBuf {
    std::env::temp_dir().join(format!("ilinkd-soak-{}-{seed}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_line_round_trips_and_the_rng_is_reproducible() {
        let t = parse_totals(
            "x\ntotals: requests 10 unanswered 1 unfinished 2 duplicate_events 3 not_applied 4 \
             session_down 5 daemon_lost 0\n",
        )
        .unwrap();
        assert_eq!(
            (
                t.requests,
                t.unanswered,
                t.duplicate_events,
                t.not_applied,
                t.session_down
            ),
            (10, 1, 3, 4, 5)
        );
        assert!(parse_totals("no totals").is_none());
        let (mut a, mut b) = (Rng(7), Rng(7));
        for _ in 0..10 {
            let x = a.range(3, 9);
            assert_eq!(x, b.range(3, 9));
            assert!((3..=9).contains(&x));
        }
    }

    #[test]
    fn the_deck_deals_every_fault_once_per_round() {
        let mut rng = Rng(3);
        let mut deck = Deck { left: Vec::new() };
        let mut rounds = Vec::new();
        for _ in 0..3 {
            let mut round: Vec<Fault> = (0..FAULTS.len()).map(|_| deck.deal(&mut rng)).collect();
            rounds.push(round.clone());
            round.sort();
            assert_eq!(round, FAULTS.to_vec());
        }
        assert_ne!(rounds[0], rounds[1], "each round is shuffled again");
        assert!(copied_without_exec_id(535) && !copied_without_exec_id(525));
    }

    #[test]
    fn a_reused_sequence_number_or_clordid_fails_its_invariant() {
        use crate::sim::record::Received;
        let rx = |seq, id: Option<&str>| Received {
            session: "S".into(),
            uuid: 1,
            seq,
            template_id: 514,
            cl_ord_id: id.map(str::to_string),
        };
        let mut d = RecordData::default();
        d.received.push(rx(1, Some("a")));
        d.received.push(rx(2, Some("b")));
        assert!(check_record(&d).iter().all(|i| i.ok));
        d.received.push(rx(2, Some("a")));
        assert!(check_record(&d).iter().all(|i| !i.ok));
        let exp = Expected {
            exec_ids: ["1".to_string(), "2".to_string()].into(),
            rejects: 1,
        };
        assert!(reconcile(&exp, &["1".into(), "2".into(), "2".into()], 1).ok);
        assert!(!reconcile(&exp, &["1".into()], 1).ok);
        assert!(!reconcile(&exp, &["1".into(), "2".into(), "3".into()], 1).ok);
        assert!(!reconcile(&exp, &["1".into(), "2".into()], 0).ok);
    }
}
