//! Party details end to end (CME PartyDetailsDefinitionRequest 518 / Ack 519, List 537/538):
//! the daemon in-process against an external simulator that enforces registration, strategies
//! through the client API, `ilinkd status --parties` through the CLI.

use ilinkd::auth::keys::KeyFile;
use ilinkd::client::{Client, EventKind, RejectReason};
use ilinkd::config::Config;
use ilinkd::daemon::{Daemon, DaemonOptions};
use ilinkd::runtime::idle::IdleParams;
use ilinkd::sim::config::{Ilink3Endpoint, SessionFaults, SimKey};
use ilinkd::sim::{Instrument, SimConfig, SimServer};
use ilinkd::store::keys::today_utc;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ilinkd");

/// `gateway`: the external simulator's iLink 3 address; `None` embeds the simulator (with
/// registration enforced).
fn write_config(dir: &Path, gateway: Option<std::net::SocketAddr>) -> PathBuf {
    let state = dir.join("state");
    let shm = dir.join("shm");
    std::fs::create_dir_all(&shm).unwrap();
    let t = format!(
        "[daemon]\nname = \"party\"\nstate_dir = {state:?}\nshm_dir = {shm:?}\n\
         hot_cores = [1]\nhousekeeping_core = 0\nidle = \"spin-then-yield\"\nfsync = \"never\"\n\
         [network]\nbackend = \"poll\"\nreconnect_min_ms = 50\nreconnect_max_ms = 200\n\
         {sim}\
         [[ilink3]]\nname = \"eq\"\nsession_id = \"TST\"\nfirm_id = \"001\"\n\
         key_file = \"demo:il-test\"\nkeepalive_ms = 5000\n{primary}\
         [[ilink3.party]]\nname = \"desk1\"\nid = 1001\nexecuting_firm = \"001\"\n\
         account = \"ACCT1\"\ncustomer_order_handling = \"W\"\ncti = 2\norigin = \"customer\"\n\
         [[ilink3.party]]\nname = \"ghost\"\nid = 4242\nregistration = \"pre_registered\"\n\
         [[strategy]]\nname = \"alpha\"\nsessions = [\"eq\"]\nparty = \"desk1\"\n\
         request_capacity = 1024\nevent_capacity = 4096\nheartbeat_timeout_ms = 60000\n\
         [[strategy]]\nname = \"beta\"\nsessions = [\"eq\"]\nparty = \"ghost\"\n\
         request_capacity = 1024\nevent_capacity = 4096\nheartbeat_timeout_ms = 60000\n\
         [[instrument]]\nsecurity_id = 42\nsymbol = \"ESZ6\"\ntick = \"0.25\"\n\
         [risk]\nmax_order_qty = 100\nmax_open_orders = 100\nmax_orders_per_second = 1000\n\
         session_orders_per_second = 0\nsession_cancels_per_second = 0\n",
        sim = if gateway.is_none() {
            "[simulator]\nembedded = true\nrequire_party_registration = true\n"
        } else {
            ""
        },
        primary = gateway.map_or_else(String::new, |g| format!("primary = \"{g}\"\n")),
    );
    let p = dir.join("ilinkd.toml");
    std::fs::write(&p, t).unwrap();
    p
}

/// AutoCert+ "Party details define / acknowledge" against a gateway that rejects unregistered
/// PartyDetailsListReqIDs: the daemon registers the on-demand party after Establish and its
/// orders are accepted; a "pre-registered" id the exchange does not know is sent as trusted
/// and rejected by the exchange; `ilinkd status --parties` lists both, the 537 round trip
/// marking the id CME listed.
#[test]
fn party_details_define_acknowledge_end_to_end_with_status_parties() {
    let _g = crate::heavy();
    let k = KeyFile::demo("il-test", today_utc());
    let mut sim_cfg = SimConfig::new();
    sim_cfg.instruments = vec![Instrument {
        security_id: 42,
        tick: 250_000_000,
    }];
    sim_cfg.require_party_registration = true;
    sim_cfg.ilink3.push(Ilink3Endpoint {
        session_id: "TST".into(),
        firm_id: "001".into(),
        keys: vec![SimKey {
            access_key_id: k.active().access_key_id.as_str().to_string(),
            signer: k.active().signer(),
        }],
        port: 0,
        faults: SessionFaults::default(),
    });
    let sim = SimServer::start(sim_cfg).expect("sim starts");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), sim.ilink3_addr("TST"));
    let d = Daemon::start(
        Config::load(&config).unwrap(),
        DaemonOptions {
            config_path: Some(config.clone()),
            idle_params: IdleParams::backing_off(),
            systemd: false,
        },
    )
    .expect("daemon starts");
    let end = Instant::now() + Duration::from_secs(10);
    let accepted =
        || d.shared().sessions[0].parties[0].state() == ilinkd::daemon::party::PartyState::Accepted;
    while !(d.all_up() && accepted()) {
        assert!(Instant::now() < end, "party not accepted after Establish");
        std::thread::sleep(Duration::from_millis(10));
    }

    let mut alpha = Client::attach(dir.path().join("shm/ilinkd-strategy-alpha")).unwrap();
    alpha
        .new_order(&crate::limit_buy(0, 4_490_000_000_000))
        .unwrap();
    let e = crate::next_event(&mut alpha);
    assert_eq!(e.kind, EventKind::Ack, "{e:?}");

    let mut beta = Client::attach(dir.path().join("shm/ilinkd-strategy-beta")).unwrap();
    beta.new_order(&crate::limit_buy(0, 4_490_000_000_000))
        .unwrap();
    let e = crate::next_event(&mut beta);
    assert_eq!(e.kind, EventKind::Reject, "{e:?}");
    assert_eq!(e.reason, Some(RejectReason::Exchange), "{e:?}");

    let out = Command::new(BIN)
        .args(["status", "--parties", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("ilinkd status --parties:\n{text}");
    let row = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no {name} row in:\n{text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let desk = row("desk1");
    assert_eq!(
        desk[..5],
        ["eq", "desk1", "1001", "on_demand", "accepted"],
        "{text}"
    );
    assert!(text.contains("519 status 0"), "{text}");
    assert!(
        !desk.last().unwrap().starts_with('-'),
        "538 listed it:\n{text}"
    );
    let ghost = row("ghost");
    assert_eq!(
        ghost[..5],
        ["eq", "ghost", "4242", "pre_registered", "pre-registered"],
        "{text}"
    );
    d.shutdown();
    d.wait().expect("clean stop");
    // 518, the start-up mass status (530), 537 and the two orders.
    let before = sim.summary();
    assert_eq!(before.orders, 2, "{before:?}");
    assert_eq!(before.business_messages_in, 5, "{before:?}");

    // Restart within the week: Establish with the same UUID, the acceptance recorded in
    // parties.json holds, no second 518 (CME keeps one definition per id).
    let st = ilinkd::daemon::party_store::load(&dir.path().join("state")).unwrap();
    assert_eq!(st.len(), 1, "{st:?}");
    assert_eq!((st[0].session.as_str(), st[0].id), ("eq", 1001));
    let d = Daemon::start(
        Config::load(&config).unwrap(),
        DaemonOptions {
            config_path: Some(config.clone()),
            idle_params: IdleParams::backing_off(),
            systemd: false,
        },
    )
    .expect("daemon restarts");
    let end = Instant::now() + Duration::from_secs(10);
    while !d.all_up() {
        assert!(Instant::now() < end, "not up again");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        d.shared().sessions[0]
            .uuid
            .load(std::sync::atomic::Ordering::Acquire),
        st[0].uuid,
        "same UUID"
    );
    let mut alpha = Client::attach(dir.path().join("shm/ilinkd-strategy-alpha")).unwrap();
    alpha
        .new_order(&crate::limit_buy(0, 4_490_000_000_000))
        .unwrap();
    // The first run's order still resting comes back as Recovered (before or after the Ack).
    let mut e = crate::next_event(&mut alpha);
    let mut recovered = 0;
    while e.kind == EventKind::Recovered {
        recovered += 1;
        e = crate::next_event(&mut alpha);
    }
    assert_eq!(e.kind, EventKind::Ack, "{e:?}");
    if recovered == 0 {
        let r = crate::next_event(&mut alpha);
        assert_eq!(r.kind, EventKind::Recovered, "{r:?}");
    }
    d.shutdown();
    d.wait().expect("clean stop");
    let summary = sim.stop();
    assert_eq!(
        summary.business_messages_in,
        before.business_messages_in + 2,
        "only the restart's mass status (530) and the order, no 518: {summary:?}"
    );
}

/// The embedded simulator with `[simulator] require_party_registration = true` knows the
/// config's pre-registered ids (registered at CME outside ilinkd) and learns the on-demand one
/// from the 518: both strategies' orders are accepted.
#[test]
fn the_embedded_simulator_enforces_registration_and_knows_pre_registered_ids() {
    let _g = crate::heavy();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), None);
    let d = Daemon::start(
        Config::load(&config).unwrap(),
        DaemonOptions {
            config_path: Some(config.clone()),
            idle_params: IdleParams::backing_off(),
            systemd: false,
        },
    )
    .expect("daemon starts");
    let end = Instant::now() + Duration::from_secs(10);
    let accepted =
        || d.shared().sessions[0].parties[0].state() == ilinkd::daemon::party::PartyState::Accepted;
    while !(d.all_up() && accepted()) {
        assert!(Instant::now() < end, "party not accepted after Establish");
        std::thread::sleep(Duration::from_millis(10));
    }
    for s in ["alpha", "beta"] {
        let mut c = Client::attach(dir.path().join(format!("shm/ilinkd-strategy-{s}"))).unwrap();
        c.new_order(&crate::limit_buy(0, 4_490_000_000_000))
            .unwrap();
        let e = crate::next_event(&mut c);
        assert_eq!(e.kind, EventKind::Ack, "{s}: {e:?}");
    }
    d.shutdown();
    d.wait().expect("clean stop");
}
