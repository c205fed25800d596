//! Order state across a hard restart (issue 13 item 6): the daemon as `ilinkd run` (a child
//! process, so it can be killed with SIGKILL: no Drop, no clean shutdown) against the simulator
//! in this process; the order journal, the restore at start-up, the mass status after
//! Establish and the `Recovered` events of a re-attaching strategy.

use ilinkd::auth::keys::KeyFile;
use ilinkd::client::{Client, Event, EventKind, OrdType, Order, Side, TimeInForce};
use ilinkd::daemon::order_journal::FILE_NAME;
use ilinkd::daemon::router::SNAPSHOT_LEN;
use ilinkd::daemon::status::{status_path, StatusFile};
use ilinkd::sim::config::{Ilink3Endpoint, SessionFaults, SimKey};
use ilinkd::sim::{Instrument, SimConfig, SimHandle, SimServer};
use ilinkd::store::journal::{FILE_HEADER_LEN, RECORD_HEADER_LEN};
use ilinkd::store::keys::today_utc;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ilinkd");
const ES: i32 = 42;
const TICK: i64 = 250_000_000;
const ORDERS: u64 = 500;

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

fn sim() -> SimHandle {
    let k = KeyFile::demo("il-recover", today_utc());
    let mut cfg = SimConfig::new();
    cfg.instruments = vec![Instrument {
        security_id: ES,
        tick: TICK,
    }];
    cfg.ilink3.push(Ilink3Endpoint {
        session_id: "RCV".into(),
        firm_id: "001".into(),
        keys: vec![SimKey {
            access_key_id: k.active().access_key_id.as_str().to_string(),
            signer: k.active().signer(),
        }],
        port: 0,
        faults: SessionFaults::default(),
    });
    SimServer::start(cfg).expect("sim starts")
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(sim: &SimHandle) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let shm = dir.path().join("shm");
        std::fs::create_dir_all(&shm).unwrap();
        let il3 = sim.ilink3_addr("RCV").unwrap();
        let text = format!(
            "[daemon]\nname = \"recover\"\nstate_dir = {state:?}\nshm_dir = {shm:?}\n\
             hot_cores = [1]\nhousekeeping_core = 0\nidle = \"spin-then-yield\"\nfsync = \"never\"\n\
             [network]\nbackend = \"poll\"\nreconnect_min_ms = 50\nreconnect_max_ms = 200\n\
             [router]\non_restart = \"recover\"\n\
             [[ilink3]]\nname = \"eq\"\nsession_id = \"RCV\"\nfirm_id = \"001\"\n\
             key_file = \"demo:il-recover\"\nkeepalive_ms = 5000\nprimary = \"{il3}\"\n\
             [[strategy]]\nname = \"s\"\nsessions = [\"eq\"]\nrequest_capacity = 1024\n\
             event_capacity = 4096\nheartbeat_timeout_ms = 5000\ncancel_on_exit = false\n\
             [[instrument]]\nsecurity_id = 42\nsymbol = \"ESZ6\"\ntick = \"0.25\"\n\
             [risk]\nmax_order_qty = 100\nmax_open_orders = 5000\nmax_orders_per_second = 100000\n\
             session_orders_per_second = 0\nsession_cancels_per_second = 0\n"
        );
        std::fs::write(dir.path().join("ilinkd.toml"), text).unwrap();
        Setup { dir }
    }

    fn run_daemon(&self, log: &str) -> Child {
        let log = std::fs::File::create(self.dir.path().join(log)).unwrap();
        Command::new(BIN)
            .args(["run", "-c"])
            .arg(self.dir.path().join("ilinkd.toml"))
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ilinkd run starts")
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("state").join(FILE_NAME)
    }

    /// Waits for daemon `pid` running with its session established, then attaches.
    fn attach(&self, pid: u32) -> Client {
        let status = status_path(&self.dir.path().join("state"));
        wait_until("the session established", Duration::from_secs(20), || {
            StatusFile::read(&status).is_ok_and(|s| {
                s.pid == pid
                    && s.phase == "running"
                    && s.sessions.iter().all(|x| x.state == "established")
            })
        });
        let seg = self.dir.path().join("shm").join("ilinkd-strategy-s");
        let mut client = None;
        wait_until("the strategy attached", Duration::from_secs(10), || {
            client = Client::attach(&seg).ok().filter(|c| c.daemon_pid() == pid);
            client.is_some()
        });
        client.unwrap()
    }
}

fn limit(k: u64) -> Order {
    Order {
        session: 0,
        security_id: ES,
        side: Side::Buy,
        qty: 1,
        // Resting bids well below any offer, one tick apart.
        price: Some(4_000_000_000_000 - k as i64 * TICK),
        ord_type: OrdType::Limit,
        tif: TimeInForce::Day,
        stop_px: None,
        min_qty: None,
        display_qty: None,
        expire_date: None,
    }
}

/// Events until `done` says so (heartbeating the segment meanwhile); panics after 30 s.
fn events_until(c: &mut Client, what: &str, mut done: impl FnMut(&Event) -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        c.heartbeat(ilinkd::client::now_ns());
        match c.poll_event() {
            Some(Ok(e)) => {
                if done(&e) {
                    return;
                }
            }
            Some(Err(e)) => panic!("{what}: bad event: {e}"),
            None => {
                assert!(Instant::now() < end, "timed out waiting for {what}");
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

fn send(
    c: &mut Client,
    mut req: impl FnMut(&mut Client) -> Result<u64, ilinkd::client::ClientError>,
) -> u64 {
    loop {
        match req(c) {
            Ok(id) => return id,
            Err(ilinkd::client::ClientError::Full { .. }) => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("send: {e}"),
        }
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

#[test]
fn kill_9_with_500_resting_orders_restart_recovers_all_500_and_cancels_them() {
    let _g = crate::heavy();
    let sim = sim();
    let setup = Setup::new(&sim);
    let mut daemon = setup.run_daemon("daemon-1.log");
    let mut c = setup.attach(daemon.id());

    let mut ids = BTreeSet::new();
    for k in 0..ORDERS {
        ids.insert(send(&mut c, |c| c.new_order(&limit(k))));
    }
    let mut acked = BTreeSet::new();
    events_until(&mut c, "500 acks", |e| {
        assert_ne!(e.kind, EventKind::Reject, "{e:?}");
        if e.kind == EventKind::Ack {
            acked.insert(e.order_id);
        }
        acked.len() as u64 == ORDERS
    });
    assert_eq!(acked, ids);
    // Housekeeping has appended every sent (Open) and acknowledged (Update) record: 1000
    // fixed-size records.
    let want = FILE_HEADER_LEN + 2 * ORDERS * (RECORD_HEADER_LEN + SNAPSHOT_LEN) as u64;
    wait_until(
        "1000 order-journal records",
        Duration::from_secs(10),
        || file_len(&setup.journal()) >= want,
    );
    wait_until(
        "500 resting orders at the exchange",
        Duration::from_secs(10),
        || sim.summary().resting_orders == ORDERS,
    );

    // kill -9: no Drop, no clean close.
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    drop(c);

    let mut daemon = setup.run_daemon("daemon-2.log");
    let mut c = setup.attach(daemon.id());
    let mut recovered = BTreeSet::new();
    events_until(&mut c, "500 Recovered events", |e| {
        if e.kind == EventKind::Recovered {
            assert_eq!((e.security_id, e.qty, e.leaves_qty), (ES, 1, 1), "{e:?}");
            assert!(e.exchange_order_id != 0, "{e:?}");
            assert!(
                recovered.insert(e.order_id),
                "one Recovered per order: {e:?}"
            );
        }
        assert_ne!(e.kind, EventKind::Cancelled, "nothing cancelled yet: {e:?}");
        recovered.len() as u64 == ORDERS
    });
    assert_eq!(recovered, ids, "the same order ids as before the kill");
    // A new order does not take a restored order's id.
    let fresh = send(&mut c, |c| c.new_order(&limit(ORDERS)));
    assert!(!ids.contains(&fresh), "new order id {fresh} reused");

    for &id in &ids {
        send(&mut c, |c| c.cancel(0, id));
    }
    let mut cancelled = BTreeSet::new();
    events_until(&mut c, "500 Cancelled events", |e| {
        assert!(
            !matches!(e.kind, EventKind::Reject | EventKind::CancelReject),
            "{e:?}"
        );
        if e.kind == EventKind::Cancelled && ids.contains(&e.order_id) {
            cancelled.insert(e.order_id);
        }
        cancelled.len() as u64 == ORDERS
    });
    send(&mut c, |c| c.cancel(0, fresh));
    events_until(&mut c, "the new order cancelled", |e| {
        e.kind == EventKind::Cancelled && e.order_id == fresh
    });
    wait_until(
        "zero resting orders at the exchange",
        Duration::from_secs(10),
        || sim.summary().resting_orders == 0,
    );
    drop(c);
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let log = setup.log("daemon-2.log");
    assert!(
        log.contains("restoring the open orders of the previous run"),
        "{log}"
    );
    let reconciled = log
        .lines()
        .find(|l| l.contains("order mass status reconciled"))
        .unwrap_or_else(|| panic!("no reconciliation line: {log}"));
    assert!(
        reconciled.contains("open=500") && reconciled.contains("unknown=0"),
        "{reconciled}"
    );
    let s = sim.stop();
    assert_eq!(s.duplicate_cl_ord_ids, 0, "{s:?}");
}
