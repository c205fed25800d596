//! End to end on loopback: a strategy (the `ilinkd::client` library, on this thread) sends a new
//! order through its shared-memory ring; the daemon's hot thread validates it, SBE-encodes it and
//! sends it over TCP to the embedded simulator, whose acknowledgment comes back, is decoded and
//! routed to the strategy's event ring. One order in flight at a time; the figure is the
//! strategy's enqueue-to-dequeue time of the ack.
//!
//! On a 2-core machine the strategy, the daemon's hot and housekeeping threads and the simulator
//! share two cores, so this measures scheduling as much as code: compare runs on one machine.
//! The embedded simulator backs off when idle (yield, then sleeps of up to 1 ms), and with one
//! order in flight it is idle between orders: its wake-up dominates the figure. The per-hop
//! histograms of `ilinkd demo` show where the daemon's own time goes.

use ilinkd::client::{Client, EventKind, OrdType, Order, Side, TimeInForce};
use ilinkd::config::{Config, IdleStrategy};
use ilinkd::daemon::{Daemon, DaemonOptions};
use std::path::Path;
use std::time::{Duration, Instant};

const WARMUP: usize = 2_000;
const ORDERS: usize = 20_000;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = root.join("config/demo.toml");
    let mut cfg = Config::load(&demo).expect("config/demo.toml");
    let dir = tempfile::tempdir().expect("temp dir");
    cfg.daemon.state_dir = dir.path().join("state");
    cfg.daemon.shm_dir = dir.path().join("shm");
    cfg.daemon.idle = IdleStrategy::SpinThenYield;
    std::fs::create_dir_all(&cfg.daemon.shm_dir).expect("shm dir");
    let daemon = Daemon::start(
        cfg,
        DaemonOptions {
            systemd: false,
            ..DaemonOptions::default()
        },
    )
    .expect("daemon starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !daemon.all_up() {
        assert!(Instant::now() < deadline, "sessions did not come up");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut client = Client::attach(&daemon.segments()[0]).expect("attach");
    let mut samples = Vec::with_capacity(ORDERS);
    for i in 0..WARMUP + ORDERS {
        // Buys far below the market rest in the book: every order gets exactly one ack.
        let order = Order {
            session: 0,
            security_id: 42,
            side: Side::Buy,
            qty: 1,
            price: Some(1_000_000_000_000 + (i as i64 % 100) * 250_000_000),
            ord_type: OrdType::Limit,
            tif: TimeInForce::Day,
            stop_px: None,
            min_qty: None,
            display_qty: None,
            expire_date: None,
        };
        let t = Instant::now();
        let id = client.new_order(&order).expect("send");
        let give_up = t + Duration::from_secs(5);
        loop {
            match client.poll_event() {
                Some(Ok(e)) if e.order_id == id && e.kind == EventKind::Ack => break,
                Some(Ok(e)) if e.order_id == id => panic!("order {id}: {:?}", e.kind),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("event: {e}"),
                None => {
                    assert!(Instant::now() < give_up, "no ack for order {id}");
                    std::hint::spin_loop();
                }
            }
        }
        if i >= WARMUP {
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    daemon.shutdown();
    let _ = daemon.wait();
    samples.sort_unstable();
    let q = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    println!("# {ORDERS} orders after {WARMUP} warm-up, one in flight");
    println!("RESULT e2e.new_order_ack.p50_ns {} ns", q(0.50));
    println!("RESULT e2e.new_order_ack.p99_ns {} ns", q(0.99));
    println!("RESULT e2e.new_order_ack.p999_ns {} ns", q(0.999));
}
