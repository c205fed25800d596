//! End to end on loopback, against the loopback TCP floor measured in the same run.
//!
//! 1. **Floor** (`e2e.tcp_pingpong.*`): a bare TCP ping-pong over 127.0.0.1 with the daemon
//!    path's thread placement and idle strategies: a "hot" thread pinned to the daemon's hot core
//!    with the daemon's idle strategy sends a NewOrderSingle-sized message on a non-blocking
//!    socket and reads an ExecutionReportNew-sized answer; the "exchange" thread (unpinned, like
//!    the embedded simulator) waits the way the simulator does (its idle strategy: blocking on
//!    socket readiness) and answers. One message in flight; the figure is the hot thread's send
//!    to the answer's last byte.
//! 2. **Order round trip** (`e2e.order_rtt.*`): a strategy (the `ilinkd::client` library, on
//!    this thread, pinned to the housekeeping core) sends a new order through its shared-memory
//!    ring; the daemon's hot thread validates it, SBE-encodes it and sends it to the embedded
//!    simulator, whose acknowledgment comes back, is decoded and routed to the strategy's event
//!    ring. One order in flight; the figure is the strategy's enqueue-to-dequeue time of the ack.
//!    The ratios (`e2e.ratio_*`) are round trip / floor.
//! 3. **Throughput** (`e2e.max_rate`): the `ilinkd load` mix (new, replace, cancel, crossing
//!    orders that fill) paced at rising rates for 5 s each; the highest rate at which every
//!    request is answered, every order finished and the request ring never full, with the p99
//!    (strategy enqueue → event dequeue) at that rate.
//!
//! The daemon runs config/demo.toml without its Drop Copy session (the path measured is the
//! order path). On a 2-core machine the strategy, the daemon's threads and the simulator share
//! two cores: compare the figures with the floor of the same run, not across machines.
//!
//! Knobs (environment): `E2E_ORDERS` (round trips, default 20000), `E2E_RATES` (comma-separated
//! requests/s to try, default `100000,200000,300000,400000,500000,600000,800000,1000000`),
//! `E2E_SECONDS` (per rate, default 5), `E2E_SIM_IDLE` / `E2E_HOT_IDLE` (`spin`,
//! `spin-then-yield`, `park`: the simulator's and the daemon's idle strategies, default `park`
//! and `spin-then-yield`).

use ilinkd::client::Client;
use ilinkd::config::{Config, IdleStrategy};
use ilinkd::daemon::load::{self, quantile, LoadOptions, Placement};
use ilinkd::daemon::{Daemon, DaemonOptions};
use std::path::Path;
use std::time::{Duration, Instant};

const WARMUP: usize = 2_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_idle(name: &str, default: IdleStrategy) -> IdleStrategy {
    match std::env::var(name).as_deref() {
        Ok("spin") => IdleStrategy::Spin,
        Ok("spin-then-yield") => IdleStrategy::SpinThenYield,
        Ok("park") => IdleStrategy::Park,
        _ => default,
    }
}

fn env_core(name: &str, default: Option<usize>) -> Option<usize> {
    match std::env::var(name).as_deref() {
        Ok("none") => None,
        Ok(v) => v.parse().ok().or(default),
        Err(_) => default,
    }
}

fn main() {
    let orders = env_usize("E2E_ORDERS", 20_000);
    let seconds = env_usize("E2E_SECONDS", 5) as u64;
    let rates: Vec<u64> = std::env::var("E2E_RATES")
        .unwrap_or_else(|_| "100000,200000,300000,400000,500000,600000,800000,1000000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = root.join("config/demo.toml");
    let mut cfg = Config::load(&demo).expect("config/demo.toml");
    let dir = tempfile::tempdir().expect("temp dir");
    cfg.daemon.state_dir = dir.path().join("state");
    cfg.daemon.shm_dir = dir.path().join("shm");
    cfg.daemon.idle = env_idle("E2E_HOT_IDLE", IdleStrategy::SpinThenYield);
    let sim_idle = env_idle("E2E_SIM_IDLE", IdleStrategy::Park);
    let sim_core = env_core("E2E_SIM_CORE", None);
    let yield_wait = std::env::var("E2E_STRATEGY_WAIT").as_deref() != Ok("spin");
    if let Some(s) = cfg.simulator.as_mut() {
        s.idle = sim_idle;
        s.core = sim_core;
        // The load mix sends a cancel every fifth request: at 100 000 req/s that is 20 000
        // cancels a second, far above CME's messaging controls (reject above 1000/s, terminate
        // + Cancel on Disconnect above 1500/s), which the simulator enforces. Lifted here: the
        // bench measures the daemon's throughput, not the exchange's volume controls.
        s.cancel_reject_per_s = Some(u32::MAX);
        s.cancel_logout_per_s = Some(u32::MAX);
    }
    cfg.dropcopy.clear();
    cfg.risk.max_orders_per_second = u32::MAX / 2;
    cfg.risk.max_open_orders = 1_000_000;
    if let Some(s) = cfg.strategy.first_mut() {
        s.request_capacity = 65_536;
        s.event_capacity = 262_144;
    }
    let hot_core = cfg.daemon.hot_cores.first().copied().unwrap_or(1);
    let strategy_core = cfg.daemon.housekeeping_core;
    println!(
        "# placement: hot thread core {hot_core} ({:?}), simulator core {sim_core:?} ({sim_idle:?}), strategy core {strategy_core} ({})",
        cfg.daemon.idle,
        if yield_wait { "yields while waiting" } else { "spins while waiting" }
    );

    let floor = load::tcp_floor(
        orders,
        WARMUP,
        Placement {
            hot_core: Some(hot_core),
            hot_idle: cfg.daemon.idle,
            exchange_core: sim_core,
            exchange_idle: sim_idle,
        },
    )
    .expect("loopback floor");

    std::fs::create_dir_all(&cfg.daemon.shm_dir).expect("shm dir");
    let daemon = Daemon::start(
        cfg.clone(),
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
    if !core_affinity::set_for_current(core_affinity::CoreId { id: strategy_core }) {
        println!("# could not pin the strategy to core {strategy_core}");
    }
    let segment = daemon.segments()[0].clone();
    let mut client = Client::attach(&segment).expect("attach");
    let tick = 250_000_000;
    let rtt = load::order_round_trips(&mut client, 0, 42, tick, orders, WARMUP, yield_wait)
        .expect("order round trips");

    let (fp50, fp99) = (quantile(&floor, 0.5), quantile(&floor, 0.99));
    let (p50, p99) = (quantile(&rtt, 0.5), quantile(&rtt, 0.99));
    println!("# {orders} round trips after {WARMUP} warm-up, one in flight");
    println!("RESULT e2e.tcp_pingpong.p50_ns {fp50} ns");
    println!("RESULT e2e.tcp_pingpong.p99_ns {fp99} ns");
    println!("RESULT e2e.order_rtt.p50_ns {p50} ns");
    println!("RESULT e2e.order_rtt.p99_ns {p99} ns");
    println!("RESULT e2e.order_rtt.p999_ns {} ns", quantile(&rtt, 0.999));
    println!(
        "RESULT e2e.ratio_p50 {:.2} x",
        p50 as f64 / fp50.max(1) as f64
    );
    println!(
        "RESULT e2e.ratio_p99 {:.2} x",
        p99 as f64 / fp99.max(1) as f64
    );

    let mut best: Option<(u64, u64)> = None;
    for &rate in &rates {
        let opts = LoadOptions {
            segment: segment.clone(),
            orders: rate * seconds,
            rate,
            session: 0,
            security_id: 42,
            tick,
            base_price: 4_500_000_000_000,
            timeout: Duration::from_secs(10),
        };
        let report = load::run_attached(&mut client, &opts);
        let sent = report.sent_new + report.sent_replace + report.sent_cancel;
        let achieved = sent as f64 / report.send_duration.as_secs_f64().max(1e-9);
        let p99 = report
            .latency
            .as_ref()
            .map_or(0, |h| h.value_at_quantile(0.99));
        let ok = report.ok() && report.ring_full == 0 && achieved >= rate as f64 * 0.98;
        println!(
            "# rate {rate}/s: sent {sent} at {achieved:.0}/s, ring full {}, unanswered {}, unfinished {}, p99 {p99} ns: {}",
            report.ring_full,
            report.unanswered_requests,
            report.unfinished_orders,
            if ok { "ok" } else { "FAILED" }
        );
        if !ok {
            if !report.missing.is_empty() {
                println!("# missing: {}", report.missing.join("; "));
            }
            break;
        }
        best = Some((rate, p99));
    }
    daemon.shutdown();
    // The daemon's own hop latencies over the whole run (round trips and rates), to tell the
    // exchange's share of the round trip (`exchange_rtt`) from the daemon's and the rings'.
    if let Ok(report) = daemon.wait() {
        let logs = &report.house.latency_logs;
        use ilinkd::latency::report::{Filter, Report};
        if let Ok(r) = Report::load(logs, &Filter::default()) {
            for line in r.table().lines() {
                println!("# {line}");
            }
        }
    }
    match best {
        Some((rate, p99)) => {
            println!("RESULT e2e.max_rate {rate} req/s");
            println!("RESULT e2e.max_rate.p99_ns {p99} ns");
        }
        None => println!("RESULT e2e.max_rate 0 req/s"),
    }
}
