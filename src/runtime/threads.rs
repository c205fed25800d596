//! Hot and housekeeping threads: named, pinned to configured cores, optionally SCHED_FIFO, talking
//! only through bounded lock-free queues ([`Link`], a `crossbeam` `ArrayQueue`).
//!
//! [`CorePlan::for_host`] checks `daemon.hot_cores` and `daemon.housekeeping_core` against the
//! cores this process may run on; when one is missing (a smaller host, a container's cpuset) every
//! thread runs unpinned and ONE warning says why. A thread that cannot be pinned or given its
//! real-time priority at start (EPERM, ...) logs one warning and runs on.

use crossbeam::queue::ArrayQueue;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Which core each thread gets (`None`: unpinned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorePlan {
    /// One entry per `daemon.hot_cores` entry, same order.
    pub hot: Vec<Option<usize>>,
    pub housekeeping: Option<usize>,
    /// Why the plan is unpinned, when it is (logged once by [`CorePlan::for_host`]).
    pub warning: Option<String>,
}

impl CorePlan {
    /// The plan for `daemon` on a host whose usable cores are `available`: pinned as configured
    /// when every configured core is available, else all unpinned with a warning.
    pub fn resolve(hot_cores: &[usize], housekeeping_core: usize, available: &[usize]) -> CorePlan {
        let mut wanted: Vec<usize> = hot_cores.to_vec();
        wanted.push(housekeeping_core);
        let mut missing: Vec<usize> = wanted
            .iter()
            .copied()
            .filter(|c| !available.contains(c))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return CorePlan {
                hot: hot_cores.iter().map(|&c| Some(c)).collect(),
                housekeeping: Some(housekeeping_core),
                warning: None,
            };
        }
        let warning = format!(
            "daemon.hot_cores {:?} / housekeeping_core {}: core(s) {:?} not available to this \
             process (usable cores: {:?}); running ALL threads unpinned: expect latency jitter",
            hot_cores, housekeeping_core, missing, available
        );
        CorePlan {
            hot: vec![None; hot_cores.len()],
            housekeeping: None,
            warning: Some(warning),
        }
    }

    /// [`CorePlan::resolve`] against this process's CPU affinity mask, logging the warning (once)
    /// when the plan is unpinned.
    pub fn for_host(hot_cores: &[usize], housekeeping_core: usize) -> CorePlan {
        let available = available_cores();
        let plan = CorePlan::resolve(hot_cores, housekeeping_core, &available);
        if let Some(w) = &plan.warning {
            tracing::warn!("{w}");
        }
        plan
    }
}

/// The cores this process may run on (its affinity mask); empty when it cannot be read.
pub fn available_cores() -> Vec<usize> {
    core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// How to start one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSpec {
    /// Thread name (the kernel shows the first 15 bytes in `top -H`, `/proc/*/task/*/comm`).
    pub name: String,
    /// Core to pin to; `None` runs unpinned.
    pub core: Option<usize>,
    /// SCHED_FIFO priority (1..=99); `None` keeps SCHED_OTHER.
    pub fifo_priority: Option<i32>,
}

impl ThreadSpec {
    pub fn new(name: impl Into<String>, core: Option<usize>) -> Self {
        ThreadSpec {
            name: name.into(),
            core,
            fifo_priority: None,
        }
    }

    pub fn with_fifo_priority(mut self, priority: Option<i32>) -> Self {
        self.fifo_priority = priority;
        self
    }
}

/// What a thread actually got at start (returned to its body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The core it is pinned to, if pinning was asked for and worked.
    pub pinned: Option<usize>,
    /// Whether SCHED_FIFO was asked for and granted.
    pub realtime: bool,
}

/// Spawns a named thread, pins it and sets its scheduling policy first (from inside the thread),
/// then runs `body` with what it got. Failures to pin or to get SCHED_FIFO are logged once and
/// the thread runs on; failure to create the thread is the error.
pub fn spawn<T, F>(spec: ThreadSpec, body: F) -> io::Result<JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce(Placement) -> T + Send + 'static,
{
    let ThreadSpec {
        name,
        core,
        fifo_priority,
    } = spec;
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let placement = place_current(&name, core, fifo_priority);
            body(placement)
        })
}

/// Spawns the hot thread number `index` of `plan` (named `ilinkd-hot-<index>`).
pub fn spawn_hot<T, F>(
    plan: &CorePlan,
    index: usize,
    fifo_priority: Option<i32>,
    body: F,
) -> io::Result<JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce(Placement) -> T + Send + 'static,
{
    let core = plan.hot.get(index).copied().flatten();
    spawn(
        ThreadSpec::new(format!("ilinkd-hot-{index}"), core).with_fifo_priority(fifo_priority),
        body,
    )
}

/// Spawns the housekeeping thread of `plan` (named `ilinkd-house`, never real-time).
pub fn spawn_housekeeping<T, F>(plan: &CorePlan, body: F) -> io::Result<JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce(Placement) -> T + Send + 'static,
{
    spawn(ThreadSpec::new("ilinkd-house", plan.housekeeping), body)
}

fn place_current(name: &str, core: Option<usize>, fifo_priority: Option<i32>) -> Placement {
    let mut placement = Placement {
        pinned: None,
        realtime: false,
    };
    if let Some(id) = core {
        if core_affinity::set_for_current(core_affinity::CoreId { id }) {
            placement.pinned = Some(id);
        } else {
            tracing::warn!(
                "thread {name}: could not pin to core {id} ({}); running unpinned",
                io::Error::last_os_error()
            );
        }
    }
    if let Some(priority) = fifo_priority {
        match set_fifo_priority(priority) {
            Ok(()) => placement.realtime = true,
            Err(e) => tracing::warn!(
                "thread {name}: SCHED_FIFO priority {priority} refused ({e}); keeping the normal \
                 scheduler (grant CAP_SYS_NICE or an rtprio limit to allow it)"
            ),
        }
    }
    placement
}

/// Puts the calling thread under SCHED_FIFO at `priority`.
pub fn set_fifo_priority(priority: i32) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `sched_setscheduler` only reads `param`, a valid initialised struct on our stack
    // for the whole call; pid 0 means the calling thread. No memory is shared or retained.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One direction of a bounded lock-free queue between two threads. Cloning shares the queue
/// (either end may be cloned; `ArrayQueue` is multi-producer multi-consumer).
#[derive(Debug)]
pub struct Link<T> {
    queue: Arc<ArrayQueue<T>>,
}

impl<T> Clone for Link<T> {
    fn clone(&self) -> Self {
        Link {
            queue: Arc::clone(&self.queue),
        }
    }
}

impl<T> Link<T> {
    /// A queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        Link {
            queue: Arc::new(ArrayQueue::new(capacity.max(1))),
        }
    }

    /// Enqueues without blocking or allocating; gives the item back when the queue is full.
    #[inline]
    pub fn try_send(&self, item: T) -> Result<(), T> {
        self.queue.push(item)
    }

    /// Dequeues without blocking.
    #[inline]
    pub fn try_recv(&self) -> Option<T> {
        self.queue.pop()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_pins_when_every_core_is_available() {
        let plan = CorePlan::resolve(&[2, 3], 0, &[0, 1, 2, 3]);
        assert_eq!(plan.hot, vec![Some(2), Some(3)]);
        assert_eq!(plan.housekeeping, Some(0));
        assert_eq!(plan.warning, None);
    }

    #[test]
    fn plan_runs_unpinned_with_one_warning_on_a_small_host() {
        let plan = CorePlan::resolve(&[1, 5], 7, &[0, 1]);
        assert_eq!(plan.hot, vec![None, None]);
        assert_eq!(plan.housekeeping, None);
        let w = plan.warning.expect("warning");
        assert!(w.contains("[5, 7]"), "{w}");
        assert!(w.contains("unpinned"), "{w}");
    }

    #[test]
    fn threads_are_named_pinned_and_talk_through_links() {
        let cores = available_cores();
        let first = cores.first().copied();
        let to_house: Link<u64> = Link::new(4);
        let tx = to_house.clone();
        let hot = spawn(ThreadSpec::new("t-hot", first), move |placement| {
            for i in 0..10u64 {
                let mut item = i;
                // Bounded retry: the housekeeping side drains concurrently.
                for _ in 0..100_000 {
                    match tx.try_send(item) {
                        Ok(()) => break,
                        Err(back) => {
                            item = back;
                            std::thread::yield_now();
                        }
                    }
                }
            }
            (std::thread::current().name().map(String::from), placement)
        })
        .expect("spawn");
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while got.len() < 10 && std::time::Instant::now() < deadline {
            match to_house.try_recv() {
                Some(v) => got.push(v),
                None => std::thread::sleep(std::time::Duration::from_micros(100)),
            }
        }
        let (name, placement) = hot.join().expect("join");
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!(name.as_deref(), Some("t-hot"));
        assert_eq!(placement.pinned, first);
        assert!(!placement.realtime);
    }

    #[test]
    fn link_is_bounded() {
        let link = Link::new(2);
        assert_eq!(link.try_send(1), Ok(()));
        assert_eq!(link.try_send(2), Ok(()));
        assert_eq!(link.try_send(3), Err(3));
        assert_eq!(link.try_recv(), Some(1));
        assert_eq!(link.len(), 1);
    }
}
