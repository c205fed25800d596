//! The integration tests: one test binary (`cargo test --test it`), one module per area.
//!
//! All of them run as threads of this one process, two at a time on a 2-core machine, so:
//!
//! - Tests that spin threads (hot threads, producer/consumer pairs, io_uring SQPOLL) or run the
//!   daemon hold [`heavy`] for their whole run: two of them never compete for the two cores, as
//!   when each file was its own process and cargo ran the processes one after another.
//! - Tests that mostly wait on timers of the real clock against the simulator (whose threads
//!   sleep when idle) hold [`timers`]: they run alongside each other, never alongside a
//!   [`heavy`] one, so a spinning test cannot starve their 100 ms keepalives.
//! - The counting allocator is installed here, once for the binary. It counts per thread
//!   ([`ilinkd::runtime::alloc_count::thread_allocations`]), so the allocation-free checks see
//!   only the thread they measure, whatever other tests do meanwhile.
//! - Nothing installs a global tracing subscriber: a test that captures logs sets a thread-local
//!   default (see `key_logging`).
//!
//! Filter as usual: `cargo test --test it daemon::` runs one module.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

mod c_client;
mod cert;
mod cert_guided;
mod cli;
mod daemon;
mod daemon_alloc;
mod dropcopy_tail;
mod fleet;
mod key_logging;
mod kill;
mod latency_log;
mod latency_metrics;
mod latency_report;
mod latency_swap;
mod monitoring;
mod order_recovery;
mod party;
mod reconcile;
mod runtime_net;
mod sbe_conformance;
mod shm_broadcast;
mod shm_strategy;
mod sim_gateway;
mod sim_loopback;
mod soak;
mod store_crash;

#[global_allocator]
static ALLOC: ilinkd::runtime::alloc_count::CountingAlloc =
    ilinkd::runtime::alloc_count::CountingAlloc;

static CORES: RwLock<()> = RwLock::new(());

/// Held for the whole of a test that spins threads or runs the daemon: such tests run one at a
/// time, and no [`timers`] test runs meanwhile. A test that failed while holding it does not
/// stop the others (the poison is ignored: the lock guards no data).
pub fn heavy() -> RwLockWriteGuard<'static, ()> {
    CORES.write().unwrap_or_else(|e| e.into_inner())
}

/// Held for the whole of a test that waits on real-clock timers (keepalives, heartbeats,
/// delays) against threads that sleep when idle: several run at once, none beside a [`heavy`]
/// test.
pub fn timers() -> RwLockReadGuard<'static, ()> {
    CORES.read().unwrap_or_else(|e| e.into_inner())
}

/// A one-lot limit buy of instrument 42 at `px` on `session` (the integration tests' order).
pub fn limit_buy(session: u16, px: i64) -> ilinkd::client::Order {
    use ilinkd::client::{OrdType, Order, Side, TimeInForce};
    Order {
        session,
        security_id: 42,
        side: Side::Buy,
        qty: 1,
        price: Some(px),
        ord_type: OrdType::Limit,
        tif: TimeInForce::Day,
        stop_px: None,
        min_qty: None,
        display_qty: None,
        expire_date: None,
    }
}

/// The next event that is not a session state, heartbeating meanwhile; panics after 5 s or on
/// an event that does not decode.
pub fn next_event(c: &mut ilinkd::client::Client) -> ilinkd::client::Event {
    use ilinkd::client::EventKind;
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        c.heartbeat(ilinkd::client::now_ns());
        match c.poll_event() {
            Some(Ok(e)) if matches!(e.kind, EventKind::SessionState) => {}
            Some(Ok(e)) => return e,
            Some(Err(e)) => panic!("bad event: {e}"),
            None => {
                assert!(std::time::Instant::now() < end, "no event within 5 s");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}
