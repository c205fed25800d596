//! `ilinkd kill` end to end: the daemon in-process with the embedded simulator and two iLink 3
//! sessions, a strategy on both (client API), the CLI talking to the control socket.

use ilinkd::client::{Client, EventKind, RejectReason};
use ilinkd::config::Config;
use ilinkd::daemon::status::{status_path, StatusFile};
use ilinkd::daemon::{Daemon, DaemonOptions};
use ilinkd::runtime::idle::IdleParams;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ilinkd");

fn write_config(dir: &Path) -> PathBuf {
    let state = dir.join("state");
    let shm = dir.join("shm");
    std::fs::create_dir_all(&shm).unwrap();
    let mut t = format!(
        "[daemon]\nname = \"kill\"\nstate_dir = {state:?}\nshm_dir = {shm:?}\n\
         hot_cores = [1]\nhousekeeping_core = 0\nidle = \"spin-then-yield\"\nfsync = \"never\"\n\
         [network]\nbackend = \"poll\"\nreconnect_min_ms = 50\nreconnect_max_ms = 200\n\
         [simulator]\nembedded = true\n"
    );
    for (name, id) in [("eq", "TST"), ("eq2", "TS2")] {
        t.push_str(&format!(
            "[[ilink3]]\nname = \"{name}\"\nsession_id = \"{id}\"\nfirm_id = \"001\"\n\
             key_file = \"demo:il-test\"\nkeepalive_ms = 5000\n"
        ));
    }
    t.push_str(
        "[[strategy]]\nname = \"alpha\"\nsessions = [\"eq\", \"eq2\"]\nrequest_capacity = 1024\n\
         event_capacity = 4096\nheartbeat_timeout_ms = 60000\n\
         [[instrument]]\nsecurity_id = 42\nsymbol = \"ESZ6\"\ntick = \"0.25\"\n\
         [risk]\nmax_order_qty = 100\nmax_open_orders = 100\nmax_orders_per_second = 1000\n\
         session_orders_per_second = 0\nsession_cancels_per_second = 0\n",
    );
    let p = dir.join("ilinkd.toml");
    std::fs::write(&p, t).unwrap();
    p
}

fn start(config: &Path) -> Daemon {
    let d = Daemon::start(
        Config::load(config).unwrap(),
        DaemonOptions {
            config_path: Some(config.to_path_buf()),
            idle_params: IdleParams::backing_off(),
            systemd: false,
        },
    )
    .expect("daemon starts");
    let end = Instant::now() + Duration::from_secs(10);
    while !d.all_up() {
        assert!(Instant::now() < end, "sessions did not come up");
        std::thread::sleep(Duration::from_millis(10));
    }
    d
}

fn ilinkd_kill(config: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["kill", "-c"])
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "ilinkd kill {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn expect_refused(c: &mut Client, session: u16) {
    c.new_order(&crate::limit_buy(session, 4_490_000_000_000))
        .unwrap();
    let e = crate::next_event(c);
    assert_eq!(e.kind, EventKind::Reject, "{e:?}");
    assert_eq!(e.reason, Some(RejectReason::KillSwitch));
    assert_eq!(e.text.as_str(), Some("kill switch"));
}

#[test]
fn kill_all_with_open_orders_on_two_sessions_cancels_every_order_and_release_restores_trading() {
    let _g = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let d = start(&config);
    let mut c = Client::attach(dir.path().join("shm/ilinkd-strategy-alpha")).unwrap();
    let mut ids = Vec::new();
    for s in [0u16, 1] {
        ids.push(
            c.new_order(&crate::limit_buy(s, 4_490_000_000_000))
                .unwrap(),
        );
        let e = crate::next_event(&mut c);
        assert_eq!(e.kind, EventKind::Ack, "{e:?}");
    }
    let said = ilinkd_kill(&config, &["--all", "--reason", "test"]);
    assert!(said.contains("engaged"), "{said}");
    let mut cancelled: Vec<u64> = (0..2)
        .map(|_| {
            let e = crate::next_event(&mut c);
            assert_eq!(e.kind, EventKind::Cancelled, "{e:?}");
            e.order_id
        })
        .collect();
    cancelled.sort_unstable();
    assert_eq!(cancelled, ids);
    for s in [0u16, 1] {
        expect_refused(&mut c, s);
    }
    ilinkd_kill(&config, &["--all", "--release"]);
    c.new_order(&crate::limit_buy(1, 4_490_000_000_000))
        .unwrap();
    let e = crate::next_event(&mut c);
    assert_eq!(e.kind, EventKind::Ack, "{e:?}");
    d.shutdown();
    d.wait().expect("clean stop");
}

#[test]
fn an_engaged_kill_switch_survives_a_restart_and_shows_in_status() {
    let _g = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let d = start(&config);
    ilinkd_kill(&config, &["--session", "eq2", "--reason", "runaway"]);
    d.shutdown();
    d.wait().expect("clean stop");

    let d = start(&config);
    let mut c = Client::attach(dir.path().join("shm/ilinkd-strategy-alpha")).unwrap();
    expect_refused(&mut c, 1);
    // The other session still trades.
    c.new_order(&crate::limit_buy(0, 4_490_000_000_000))
        .unwrap();
    let e = crate::next_event(&mut c);
    assert_eq!(e.kind, EventKind::Ack, "{e:?}");
    let end = Instant::now() + Duration::from_secs(5);
    let st = loop {
        let st = StatusFile::read(&status_path(&dir.path().join("state"))).ok();
        if let Some(st) = st.filter(|s| s.pid == std::process::id() && !s.kill_switches.is_empty())
        {
            break st;
        }
        assert!(Instant::now() < end, "status never showed the switch");
        std::thread::sleep(Duration::from_millis(20));
    };
    let k = &st.kill_switches[0];
    assert_eq!(
        (k.target.as_str(), k.reason.as_deref()),
        ("eq2", Some("runaway"))
    );
    assert!(k.pid.is_some_and(|p| p > 0) && k.uid.is_some());
    d.shutdown();
    d.wait().expect("clean stop");
}
