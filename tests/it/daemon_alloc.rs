//! The hot thread allocates nothing in steady state: with the counting allocator installed for
//! the test binary (in `main.rs`), the engine publishes its thread's allocation count; after a
//! warm-up, many more orders (new, replace, cancel, crossing fills, with Drop Copy flowing) leave
//! it unchanged. Runs both network backends, one after the other.

use ilinkd::client::{Client, EventKind, LinkStatus, OrdType, Order, Side, TimeInForce};
use ilinkd::config::Config;
use ilinkd::daemon::{Daemon, DaemonOptions};
use ilinkd::runtime::idle::IdleParams;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const PX: i64 = 4_500_000_000_000;
const TICK: i64 = 250_000_000;

fn config(dir: &Path, backend: &str) -> Config {
    let state = dir.join("state");
    let shm = dir.join("shm");
    std::fs::create_dir_all(&shm).unwrap();
    // The traffic cancels far above 1500/s: the simulator's CME messaging controls would
    // terminate the session (Cancel on Disconnect) mid-test, so they are lifted.
    // The strategy heartbeats between batches of orders; on a loaded machine its thread can be
    // off-CPU past the default 1 s heartbeat timeout, and the daemon would then declare it dead
    // and cancel its resting orders (cancel_on_exit): extra cancels the exchange rejects, more
    // orders sent than the strategy asked for. Liveness is not under test here, so the timeout
    // is an hour.
    let text = format!(
        "[daemon]\nstate_dir = {state:?}\nshm_dir = {shm:?}\nhot_cores = [1]\n\
         idle = \"spin-then-yield\"\nfsync = \"never\"\n[network]\nbackend = \"{backend}\"\n\
         [simulator]\nembedded = true\ncancel_reject_per_s = 4294967295\ncancel_logout_per_s = 4294967295\n\
         [[ilink3]]\nname = \"eq\"\nsession_id = \"ALC\"\nfirm_id = \"001\"\nkey_file = \"demo:alloc\"\n\
         [[ilink3.party]]\nname = \"desk\"\nid = 1001\nexecuting_firm = \"001\"\naccount = \"A1\"\n\
         customer_order_handling = \"W\"\ncti = 2\norigin = \"firm\"\n\
         [[dropcopy]]\nname = \"dc\"\nsender_comp_id = \"ALCDC1N\"\nsender_sub_id = \"T\"\n\
         sender_location_id = \"US,IL\"\nheartbeat_s = 5\nkey_file = \"demo:alloc-dc\"\n\
         [[strategy]]\nname = \"s\"\nsessions = [\"eq\"]\nparty = \"desk\"\nrequest_capacity = 4096\nevent_capacity = 16384\nheartbeat_timeout_ms = 3600000\n\
         [[instrument]]\nsecurity_id = 42\ntick = \"0.25\"\n\
         [risk]\nmax_order_qty = 100\nmax_open_orders = 10000\nmax_orders_per_second = 1000000\nsession_orders_per_second = 0\nsession_cancels_per_second = 0\n"
    );
    let path = dir.join("ilinkd.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

/// Sends `rounds` × (resting buy, replace, cancel, crossing sell, crossing buy) and waits for
/// every answer.
fn traffic(c: &mut Client, rounds: usize) {
    let order = |side, px, qty| Order {
        session: 0,
        security_id: 42,
        side,
        qty,
        price: Some(px),
        ord_type: OrdType::Limit,
        tif: TimeInForce::Day,
        stop_px: None,
        min_qty: None,
        display_qty: None,
        expire_date: None,
    };
    let mut waiting: HashSet<u64> = HashSet::with_capacity(rounds * 5);
    let end = Instant::now() + Duration::from_secs(30);
    let drain = |c: &mut Client, waiting: &mut HashSet<u64>| {
        while let Some(ev) = c.poll_event() {
            let ev = ev.expect("event decodes");
            // Every request is valid and every cancel or replace finds its order resting.
            assert!(
                !matches!(ev.kind, EventKind::Reject | EventKind::CancelReject),
                "{ev:?}"
            );
            waiting.remove(&ev.request_id);
        }
    };
    for i in 0..rounds {
        let send =
            |c: &mut Client,
             waiting: &mut HashSet<u64>,
             r: &dyn Fn(&mut Client) -> Result<u64, ilinkd::client::ClientError>| {
                loop {
                    match r(c) {
                        Ok(id) => {
                            waiting.insert(id);
                            return id;
                        }
                        Err(_) => std::thread::sleep(Duration::from_micros(100)),
                    }
                }
            };
        let px = PX - 10 * TICK - (i as i64 % 5) * TICK;
        let id = send(c, &mut waiting, &|c| c.new_order(&order(Side::Buy, px, 2)));
        send(c, &mut waiting, &|c| {
            c.replace(id, &order(Side::Buy, px + TICK, 3))
        });
        send(c, &mut waiting, &|c| c.cancel(0, id));
        send(c, &mut waiting, &|c| c.new_order(&order(Side::Sell, PX, 1)));
        send(c, &mut waiting, &|c| c.new_order(&order(Side::Buy, PX, 1)));
        drain(c, &mut waiting);
        // Keep a bounded number of requests in flight (a steady state, not a backlog).
        while waiting.len() > 1_000 {
            assert!(
                Instant::now() < end,
                "{} requests unanswered",
                waiting.len()
            );
            drain(c, &mut waiting);
            std::thread::sleep(Duration::from_micros(100));
        }
        if i % 64 == 0 {
            c.heartbeat(ilinkd::client::now_ns());
        }
    }
    while !waiting.is_empty() {
        assert!(
            Instant::now() < end,
            "{} requests unanswered",
            waiting.len()
        );
        drain(c, &mut waiting);
        c.heartbeat(ilinkd::client::now_ns());
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The engine's published allocation count once it stops changing.
fn settled_allocations(d: &Daemon) -> u64 {
    let e = &d.shared().engines[0];
    let mut last = e.allocations.load(Ordering::Acquire);
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = e.allocations.load(Ordering::Acquire);
        if now == last && now > 0 {
            return now;
        }
        last = now;
    }
    last
}

fn zero_allocations_in_steady_state(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        config(dir.path(), backend),
        DaemonOptions {
            idle_params: IdleParams::backing_off(),
            systemd: false,
            ..DaemonOptions::default()
        },
    )
    .expect("daemon starts");
    let end = Instant::now() + Duration::from_secs(10);
    // Orders name party details the daemon registers (518/519) right after Establish.
    let party_accepted =
        || d.shared().sessions[0].parties[0].state() == ilinkd::daemon::party::PartyState::Accepted;
    while !d.all_up() || !party_accepted() {
        assert!(Instant::now() < end, "sessions up");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut c = Client::attach(dir.path().join("shm/ilinkd-strategy-s")).unwrap();
    c.heartbeat(ilinkd::client::now_ns());
    loop {
        assert!(Instant::now() < end, "session state event");
        match c.poll_event() {
            Some(Ok(e))
                if e.kind == EventKind::SessionState && e.session_state == LinkStatus::Up =>
            {
                break
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    // Warm-up: buffers reach their working size, histograms their first swap.
    traffic(&mut c, 2_000);
    let before = settled_allocations(&d);
    // The engine counts a request as sent before it publishes any event answering it, so once
    // the warm-up got an answer to each of its requests the count is exact.
    let sent_before = d.shared().engines[0].orders_sent.load(Ordering::Relaxed);
    assert_eq!(sent_before, 10_000, "every warm-up request went out once");
    traffic(&mut c, 4_000);
    let after = settled_allocations(&d);
    let sent = d.shared().engines[0].orders_sent.load(Ordering::Relaxed) - sent_before;
    assert_eq!(sent, 20_000, "every request went out once");
    assert!(
        before > 0,
        "the counting allocator is installed (startup allocates)"
    );
    assert_eq!(
        after - before,
        0,
        "{backend}: the hot thread allocated {} times over {sent} orders",
        after - before
    );
    d.shutdown();
    let r = d.wait().unwrap();
    assert!(r.sessions_closed);
}

#[test]
fn the_hot_thread_does_not_allocate_in_steady_state() {
    let _g = crate::heavy();
    zero_allocations_in_steady_state("io_uring");
    zero_allocations_in_steady_state("poll");
}
