//! The daemon end to end on 127.0.0.1: real strategy processes (`ilinkd load` children of the
//! test), the daemon in-process or as an `ilinkd run` child, and the exchange simulator.
//!
//! Tests that spin hot threads hold [`crate::heavy`] so that two of them never compete for this
//! machine's two cores; the hot threads use the backing-off idle strategy. Every wait is
//! bounded.

use ilinkd::auth::keys::KeyFile;
use ilinkd::client::{Client, EventKind, RejectReason, REQUEST_RECORD_SIZE};
use ilinkd::config::Config;
use ilinkd::daemon::status::{status_path, StatusFile};
use ilinkd::daemon::{Daemon, DaemonError, DaemonOptions};
use ilinkd::runtime::idle::IdleParams;
use ilinkd::sim::config::{DropCopyEndpoint, Ilink3Endpoint, SessionFaults, SimKey};
use ilinkd::sim::{Instrument, SimConfig, SimHandle, SimServer, Summary};
use ilinkd::store::journal::kind;
use ilinkd::store::keys::today_utc;
use ilinkd::store::SessionStore;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn serial() -> std::sync::RwLockWriteGuard<'static, ()> {
    crate::heavy()
}

const BIN: &str = env!("CARGO_BIN_EXE_ilinkd");
const ES: i32 = 42;
const TICK: i64 = 250_000_000;

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A daemon config. `gateways`: `None` embeds the simulator; `Some((il3, dc))` points the
/// sessions at those addresses.
struct Setup {
    dir: tempfile::TempDir,
    text: String,
}

impl Setup {
    fn new(
        backend: &str,
        strategies: &[&str],
        gateways: Option<(SocketAddr, Option<SocketAddr>)>,
        key_file: &str,
    ) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let shm = dir.path().join("shm");
        std::fs::create_dir_all(&shm).unwrap();
        let mut t = format!(
            "[daemon]\nname = \"test\"\nstate_dir = {state:?}\nshm_dir = {shm:?}\n\
             hot_cores = [1]\nhousekeeping_core = 0\nidle = \"spin-then-yield\"\nfsync = \"never\"\n\
             [network]\nbackend = \"{backend}\"\nreconnect_min_ms = 50\nreconnect_max_ms = 200\n"
        );
        if gateways.is_none() {
            t.push_str("[simulator]\nembedded = true\n");
        }
        t.push_str(&format!(
            "[[ilink3]]\nname = \"eq\"\nsession_id = \"TST\"\nfirm_id = \"001\"\n\
             key_file = \"{key_file}\"\nkeepalive_ms = 5000\n"
        ));
        if let Some((il3, _)) = gateways {
            t.push_str(&format!("primary = \"{il3}\"\n"));
        }
        match gateways {
            None => t.push_str(
                "[[dropcopy]]\nname = \"dc\"\nsender_comp_id = \"TSTDC1N\"\nsender_sub_id = \"T\"\n\
                 sender_location_id = \"US,IL\"\nheartbeat_s = 5\nkey_file = \"demo:dc-test\"\n",
            ),
            Some((_, Some(dc))) => t.push_str(&format!(
                "[[dropcopy]]\nname = \"dc\"\nsender_comp_id = \"TSTDC1N\"\nsender_sub_id = \"T\"\n\
                 sender_location_id = \"US,IL\"\nheartbeat_s = 5\nkey_file = \"demo:dc-test\"\n\
                 primary = \"{dc}\"\n"
            )),
            Some((_, None)) => {}
        }
        for s in strategies {
            t.push_str(&format!(
                "[[strategy]]\nname = \"{s}\"\nsessions = [\"eq\"]\nrequest_capacity = 1024\n\
                 event_capacity = 4096\nheartbeat_timeout_ms = 1000\n"
            ));
        }
        t.push_str(
            "[[instrument]]\nsecurity_id = 42\nsymbol = \"ESZ6\"\ntick = \"0.25\"\n\
             [risk]\nmax_order_qty = 100\nmax_open_orders = 5000\nmax_orders_per_second = 100000\nsession_orders_per_second = 0\nsession_cancels_per_second = 0\n",
        );
        let s = Setup { dir, text: t };
        std::fs::write(s.config_path(), &s.text).unwrap();
        s
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("ilinkd.toml")
    }

    fn config(&self) -> Config {
        Config::load(&self.config_path()).unwrap()
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn segment(&self, strategy: &str) -> PathBuf {
        self.dir
            .path()
            .join("shm")
            .join(format!("ilinkd-strategy-{strategy}"))
    }

    fn start(&self) -> Daemon {
        Daemon::start(
            self.config(),
            DaemonOptions {
                config_path: Some(self.config_path()),
                idle_params: IdleParams::backing_off(),
                systemd: false,
            },
        )
        .expect("daemon starts")
    }

    fn load(&self, strategy: &str, orders: u64, rate: u64) -> Child {
        self.load_at(strategy, orders, rate, "4500")
    }

    fn load_at(&self, strategy: &str, orders: u64, rate: u64, price: &str) -> Child {
        Command::new(BIN)
            .args(["load", "-c"])
            .arg(self.config_path())
            .args(["--strategy", strategy])
            .args(["--orders", &orders.to_string()])
            .args(["--rate", &rate.to_string()])
            .args(["--timeout-s", "10"])
            .args(["--price", price])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ilinkd load starts")
    }

    fn run_daemon(&self) -> Child {
        self.run_daemon_with(&[])
    }

    fn run_daemon_with(&self, env: &[(&str, &std::ffi::OsStr)]) -> Child {
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "-c"])
            .arg(self.config_path())
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ilinkd run starts")
    }

    fn status(&self) -> Option<StatusFile> {
        StatusFile::read(&status_path(&self.state())).ok()
    }

    /// Waits for a status file written by daemon `pid` (any when `None`) with every session
    /// established.
    fn wait_established(&self, pid: Option<u32>) -> StatusFile {
        let mut last = None;
        wait_until(
            "the session to be established",
            Duration::from_secs(10),
            || {
                last = self.status().filter(|s| {
                    pid.is_none_or(|p| p == s.pid)
                        && s.phase == "running"
                        && s.sessions.iter().all(|x| x.state == "established")
                });
                last.is_some()
            },
        );
        last.unwrap()
    }
}

fn finish(child: Child, what: &str) -> (bool, String) {
    let out = child.wait_with_output().expect(what);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn wait_up(d: &Daemon) {
    wait_until("every session up", Duration::from_secs(10), || d.all_up());
}

fn stop(d: Daemon) -> Summary {
    d.shutdown();
    let r = d.wait().expect("clean stop");
    assert!(r.sessions_closed, "every session answered its Terminate");
    r.sim.expect("embedded simulator summary")
}

fn two_strategies_round_trip(backend: &str) {
    let _g = serial();
    let setup = Setup::new(backend, &["alpha", "beta"], None, "demo:il-test");
    let d = setup.start();
    wait_up(&d);
    let a = setup.load("alpha", 1500, 15_000);
    let b = setup.load("beta", 1000, 10_000);
    let (ok_a, out_a) = finish(a, "load alpha");
    let (ok_b, out_b) = finish(b, "load beta");
    assert!(ok_a, "alpha:\n{out_a}");
    assert!(ok_b, "beta:\n{out_b}");
    assert!(
        out_a.contains("every request answered, every order finished"),
        "{out_a}"
    );
    let st = &d.shared().strategies;
    assert_eq!(
        st[0].orders_in.load(std::sync::atomic::Ordering::Relaxed),
        1500
    );
    assert_eq!(
        st[1].orders_in.load(std::sync::atomic::Ordering::Relaxed),
        1000
    );
    let sim = stop(d);
    // 3 new orders per 5 requests; both strategies' orders reached the book.
    assert_eq!(sim.orders, 900 + 600, "{sim:?}");
    assert_eq!(sim.acks, 1500);
    assert_eq!(sim.order_rejects, 0);
    assert_eq!(sim.duplicate_cl_ord_ids, 0);
    assert!(sim.dropcopy_reports > 0, "drop copy flowed: {sim:?}");
    assert_eq!(
        sim.terminates.get("0 Finished by client"),
        Some(&1),
        "{:?}",
        sim.terminates
    );
}

#[test]
fn two_strategy_processes_round_trip_over_io_uring() {
    two_strategies_round_trip("io_uring");
}

#[test]
fn two_strategy_processes_round_trip_over_poll() {
    two_strategies_round_trip("poll");
}

#[test]
fn garbage_records_get_rejects_and_the_other_strategy_is_served() {
    let _g = serial();
    let setup = Setup::new("poll", &["bad", "good"], None, "demo:il-test");
    let d = setup.start();
    wait_up(&d);
    let good = setup.load("good", 1000, 10_000);
    let mut bad = Client::attach(setup.segment("bad")).expect("attach");
    let mut sent = 0;
    for i in 0..200u64 {
        let mut rec = [0u8; REQUEST_RECORD_SIZE];
        // Kind byte garbage, reserved bytes set, zero request id, random bytes...
        rec[0] = (i % 7) as u8 + 5;
        rec[8] = i as u8;
        rec[63] = 0xff;
        if bad.send_raw(&rec).is_ok() {
            sent += 1;
        }
    }
    let mut rejects = 0;
    let end = Instant::now() + Duration::from_secs(5);
    while rejects < sent && Instant::now() < end {
        bad.heartbeat(ilinkd::client::now_ns());
        match bad.poll_event() {
            Some(Ok(e)) if e.kind == EventKind::Reject => {
                assert_eq!(e.reason, Some(RejectReason::Malformed), "{e:?}");
                rejects += 1;
            }
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    assert_eq!(rejects, sent, "every garbage record got its reject");
    let (ok, out) = finish(good, "load good");
    assert!(ok, "{out}");
    assert!(d.all_up(), "sessions survived the garbage");
    let sim = stop(d);
    assert_eq!(sim.orders, 600);
}

#[test]
fn a_killed_strategys_orders_are_cancelled() {
    let _g = serial();
    let setup = Setup::new("poll", &["victim"], None, "demo:il-test");
    let d = setup.start();
    wait_up(&d);
    // At 1 request per second the first order rests for a second before its replace.
    let mut victim = setup.load("victim", 3, 1);
    let open = || {
        d.shared().strategies[0]
            .open_orders
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    wait_until("the victim's order to rest", Duration::from_secs(5), || {
        open() == 1
    });
    victim.kill().unwrap();
    victim.wait().unwrap();
    wait_until("its order to be cancelled", Duration::from_secs(5), || {
        open() == 0
    });
    let sim = stop(d);
    assert_eq!(sim.orders, 1);
    assert_eq!(sim.cancels, 1, "cancelled by the daemon: {sim:?}");
}

#[test]
fn a_second_daemon_on_the_same_state_dir_is_refused() {
    let _g = serial();
    let setup = Setup::new("poll", &["s"], None, "demo:il-test");
    let d = setup.start();
    let mut cfg = setup.config();
    cfg.daemon.shm_dir = setup.dir.path().join("shm2");
    std::fs::create_dir_all(&cfg.daemon.shm_dir).unwrap();
    match Daemon::start(cfg, DaemonOptions::default()) {
        Err(e @ DaemonError::Store { .. }) => {
            assert_eq!(e.exit_code(), 1);
            let m = e.to_string();
            assert!(m.contains("is locked by another process"), "{m}");
            assert!(m.contains("second ilinkd"), "{m}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    stop(d);
}

/// A simulator in the test process for `ilinkd run` children: book mode, ES, demo keys.
fn external_sim(keys: Vec<SimKey>) -> SimHandle {
    let mut cfg = SimConfig::new();
    cfg.instruments = vec![Instrument {
        security_id: ES,
        tick: TICK,
    }];
    cfg.ilink3.push(Ilink3Endpoint {
        session_id: "TST".into(),
        firm_id: "001".into(),
        keys,
        port: 0,
        faults: SessionFaults::default(),
    });
    let dk = KeyFile::demo("dc-test", today_utc());
    cfg.dropcopy.push(DropCopyEndpoint {
        sender_comp_id: "TSTDC1N".into(),
        firms: vec![],
        keys: vec![SimKey {
            access_key_id: dk.active().access_key_id.as_str().to_string(),
            signer: dk.active().signer(),
        }],
        port: 0,
        xml_non_fix: false,
        faults: SessionFaults::default(),
    });
    SimServer::start(cfg).expect("sim starts")
}

fn demo_keys(name: &str) -> Vec<SimKey> {
    let k = KeyFile::demo(name, today_utc());
    vec![SimKey {
        access_key_id: k.active().access_key_id.as_str().to_string(),
        signer: k.active().signer(),
    }]
}

fn sigterm(child: &Child) {
    assert!(signal(child.id(), "TERM"), "kill -TERM");
}

fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(
            Instant::now() < end,
            "process did not exit within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stderr_of(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn sigterm_terminates_with_code_0_and_exits_0_within_5_s() {
    let _g = serial();
    let sim = external_sim(demo_keys("il-test"));
    let setup = Setup::new(
        "io_uring",
        &["s"],
        Some((
            sim.ilink3_addr("TST").unwrap(),
            sim.dropcopy_addr("TSTDC1N"),
        )),
        "demo:il-test",
    );
    // systemd's side of `Type=notify` with a 200 ms watchdog: a datagram socket.
    let notify_path = setup.dir.path().join("notify");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let listening = Arc::new(AtomicBool::new(true));
    let reader = {
        let listening = listening.clone();
        std::thread::spawn(move || {
            let mut told = Vec::new();
            let mut buf = [0u8; 512];
            loop {
                match notify.recv(&mut buf) {
                    Ok(k) => told.push(String::from_utf8_lossy(&buf[..k]).trim_end().to_string()),
                    Err(_) if !listening.load(Ordering::Acquire) => return told,
                    Err(_) => {}
                }
            }
        })
    };
    let mut daemon = setup.run_daemon_with(&[
        ("NOTIFY_SOCKET", notify_path.as_os_str()),
        ("WATCHDOG_USEC", std::ffi::OsStr::new("200000")),
    ]);
    let st = setup.wait_established(Some(daemon.id()));
    assert!(st.sessions[0].uuid > 0);
    let t = Instant::now();
    sigterm(&daemon);
    let code = wait_exit(&mut daemon, Duration::from_secs(5));
    assert!(code.success(), "exit status {code:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
    let log = stderr_of(daemon);
    assert!(log.contains("shutdown requested"), "{log}");
    // What systemd was told: ready first, then status lines and watchdog pets, and stopping
    // (status and pets go on while the sessions drain).
    listening.store(false, Ordering::Release);
    let told = reader.join().unwrap();
    assert_eq!(
        told.first().map(String::as_str),
        Some("READY=1"),
        "{told:?}"
    );
    assert!(told.iter().any(|m| m == "STOPPING=1"), "{told:?}");
    assert!(
        told.iter()
            .any(|m| m.starts_with("STATUS=") && m.contains("established")),
        "{told:?}"
    );
    assert!(told.iter().any(|m| m == "WATCHDOG=1"), "{told:?}");
    let summary = sim.stop();
    assert_eq!(
        summary.terminates.get("0 Finished by client"),
        Some(&1),
        "{:?}",
        summary.terminates
    );
    assert!(
        !summary.logouts.is_empty(),
        "drop copy logged out: {summary:?}"
    );
    let st = setup.status().unwrap();
    assert_eq!(st.phase, "stopped");
    // The store was closed cleanly: sequences exact, no reservation jump on the next start.
    let (_store, rec) =
        SessionStore::open(&setup.state(), "eq", ilinkd::config::FsyncPolicy::Never).unwrap();
    assert!(rec.clean_shutdown, "{rec:?}");
}

#[test]
fn kill_9_mid_stream_then_restart_establishes_the_same_uuid_and_loses_nothing() {
    let _g = serial();
    let sim = external_sim(demo_keys("il-test"));
    let setup = Setup::new(
        "poll",
        &["s"],
        Some((sim.ilink3_addr("TST").unwrap(), None)),
        "demo:il-test",
    );
    let mut daemon = setup.run_daemon();
    let first = setup.wait_established(Some(daemon.id()));
    let uuid = first.sessions[0].uuid;
    let load = setup.load("s", 4000, 2000);
    wait_until("orders flowing", Duration::from_secs(10), || {
        sim.summary().orders > 500
    });
    assert!(signal(daemon.id(), "KILL"));
    daemon.wait().unwrap();
    let (ok, _) = finish(load, "load killed daemon");
    assert!(!ok, "the load cannot finish without its daemon");
    let before = sim.summary();

    let mut daemon = setup.run_daemon();
    let second = setup.wait_established(Some(daemon.id()));
    assert_eq!(
        second.sessions[0].uuid, uuid,
        "re-Established the same UUID"
    );
    assert!(
        second.sessions[0].next_seq_out > 500,
        "sequences continue: {:?}",
        second.sessions[0]
    );
    // Orders of the killed run still rest in the book (the simulator has no cancel on
    // disconnect): trade at another price so they do not take this run's fills.
    let load = setup.load_at("s", 1000, 2000, "4600");
    let (ok, out) = finish(load, "load after restart");
    assert!(ok, "{out}");
    sigterm(&daemon);
    assert!(wait_exit(&mut daemon, Duration::from_secs(5)).success());
    let log = stderr_of(daemon);
    assert!(!log.contains("new UUID persisted"), "{log}");
    assert!(log.contains("previous run did not stop cleanly"), "{log}");
    let after = sim.stop();
    assert_eq!(
        after.duplicate_cl_ord_ids, 0,
        "no order sent twice: {after:?}"
    );
    assert!(after.protocol_violations.is_empty(), "{after:?}");
    assert!(
        after.terminates.keys().all(|k| k.starts_with("0 ")),
        "{:?}",
        after.terminates
    );
    // Every order the journal says was sent reached the exchange; the only other orders the
    // exchange saw are ones sent in the instants before the kill and not yet journaled, and
    // there are no more of those than journal gaps.
    let (store, _) =
        SessionStore::open(&setup.state(), "eq", ilinkd::config::FsyncPolicy::Never).unwrap();
    let mut news = 0u64;
    let mut seqs = Vec::new();
    for r in store.journal().unwrap().iter() {
        let r = r.unwrap();
        if r.kind == kind::OUTBOUND {
            seqs.push(r.seq);
            if r.payload.get(6..8) == Some(&514u16.to_le_bytes()[..]) {
                news += 1;
            }
        }
    }
    let gaps: u64 = seqs.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert!(
        after.orders >= news,
        "journaled {news}, exchange {}",
        after.orders
    );
    assert!(
        after.orders <= news + gaps,
        "exchange {} > journaled {news} + gaps {gaps}",
        after.orders
    );
    assert!(after.orders >= before.orders + 600);
}

#[test]
fn sighup_with_a_broken_key_file_keeps_the_old_key_and_says_why() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("TST.toml");
    let secret = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4";
    std::fs::write(
        &key_path,
        format!(
            "[[key]]\naccess_key_id = \"AKIDEXAMPLE000000001\"\nsecret_key = \"{secret}\"\n\
             expires = 2099-06-30\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let kf = ilinkd::store::keys::read_key_file(&key_path, today_utc()).unwrap();
    let sim = external_sim(vec![SimKey {
        access_key_id: kf.active().access_key_id.as_str().to_string(),
        signer: kf.active().signer(),
    }]);
    let setup = Setup::new(
        "poll",
        &["s"],
        Some((sim.ilink3_addr("TST").unwrap(), None)),
        key_path.to_str().unwrap(),
    );
    let mut daemon = setup.run_daemon();
    setup.wait_established(Some(daemon.id()));
    std::fs::write(&key_path, "[[key]]\naccess_key_id = \"short\"\n").unwrap();
    assert!(signal(daemon.id(), "HUP"));
    wait_until("the reload to be refused", Duration::from_secs(5), || {
        setup.status().is_some_and(|s| {
            s.sessions[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("key reload refused"))
        })
    });
    let st = setup.status().unwrap();
    assert_eq!(st.sessions[0].state, "established", "session not dropped");
    assert_eq!(
        st.sessions[0].key_id, "AKIDEXAMPLE000000001",
        "old key in force"
    );
    sigterm(&daemon);
    assert!(wait_exit(&mut daemon, Duration::from_secs(5)).success());
    let log = stderr_of(daemon);
    assert!(
        log.contains("key reload refused, keeping the keys already loaded"),
        "{log}"
    );
    assert!(log.contains("AKIDEXAMPLE000000001"), "{log}");
    assert!(!log.contains(secret), "secret never logged");
    let s = sim.stop();
    assert_eq!(s.ilink3_logons_ok, 1);
}

#[test]
fn status_prints_the_running_daemon() {
    let _g = serial();
    let setup = Setup::new("poll", &["s"], None, "demo:il-test");
    let d = setup.start();
    wait_up(&d);
    setup.wait_established(None);
    let out = Command::new(BIN)
        .args(["status", "-c"])
        .arg(setup.config_path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("daemon test"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("eq") && l.contains("established")),
        "{text}"
    );
    let out = Command::new(BIN)
        .args(["status", "--json", "-c"])
        .arg(setup.config_path())
        .output()
        .unwrap();
    let st: StatusFile = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st.sessions.len(), 2);
    stop(d);
    let out = Command::new(BIN)
        .args(["status", "-c"])
        .arg(setup.config_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stopped daemon");
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT RUNNING"));
}

#[test]
fn run_refuses_a_bad_key_file_with_exit_code_2() {
    let setup = Setup::new("poll", &["s"], None, "demo:il-test");
    let text = setup
        .text
        .replace("key_file = \"demo:il-test\"", "key_file = \"missing.toml\"");
    std::fs::write(setup.config_path(), text).unwrap();
    let out = Command::new(BIN)
        .args(["run", "-c"])
        .arg(setup.config_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ilink3[0].key_file"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
}
