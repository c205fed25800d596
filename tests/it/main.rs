//! The integration tests: one test binary (`cargo test --test it`), one module per area.
//!
//! All of them run as threads of this one process, two at a time on a 2-core machine, so:
//!
//! - Tests that spin threads (hot threads, producer/consumer pairs, io_uring SQPOLL), run the
//!   daemon or the simulator, or depend on timers of the real clock hold [`heavy`] for their
//!   whole run: two of them never compete for the two cores, as when each file was its own
//!   process and cargo ran the processes one after another.
//! - The counting allocator is installed here, once for the binary. It counts per thread
//!   ([`ilinkd::runtime::alloc_count::thread_allocations`]), so the allocation-free checks see
//!   only the thread they measure, whatever other tests do meanwhile.
//! - Nothing installs a global tracing subscriber: a test that captures logs sets a thread-local
//!   default (see `key_logging`).
//!
//! Filter as usual: `cargo test --test it daemon::` runs one module.

use std::sync::{Mutex, MutexGuard};

mod c_client;
mod cli;
mod daemon;
mod daemon_alloc;
mod dropcopy_tail;
mod key_logging;
mod latency_log;
mod latency_metrics;
mod latency_report;
mod latency_swap;
mod runtime_net;
mod sbe_conformance;
mod shm_broadcast;
mod shm_strategy;
mod sim_gateway;
mod sim_loopback;
mod store_crash;

#[global_allocator]
static ALLOC: ilinkd::runtime::alloc_count::CountingAlloc =
    ilinkd::runtime::alloc_count::CountingAlloc;

static HEAVY: Mutex<()> = Mutex::new(());

/// Held for the whole of a test that spins threads, runs the daemon or the simulator, or times
/// real-clock timers: such tests run one at a time. A test that failed while holding it does not
/// stop the others (the poison is ignored: the lock guards no data).
pub fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}
