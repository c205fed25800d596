//! Idle strategies for busy-polling loops.
//!
//! A hot loop calls [`Idler::idle`] after every pass with whether the pass did any work. Work
//! resets the strategy; consecutive idle passes escalate according to [`IdleStrategy`]:
//! - `Spin`: `spin_loop` hint only (the core is never given up: needs an isolated core);
//! - `SpinThenYield`: a number of spins, then `sched_yield`s, then sleeps that double from
//!   `min_sleep` up to `max_sleep` (shares a core politely, wakes within `max_sleep`);
//! - `Park`: `thread::park_timeout(park_timeout)` (for tests and laptops; another thread may
//!   `unpark` it early).

use std::time::Duration;

/// What a busy-polling loop does when idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdleStrategy {
    /// Never yield the core: lowest latency, needs an isolated core.
    Spin,
    /// Spin a while, then `sched_yield`, then sleep briefly: shares a core politely.
    #[default]
    SpinThenYield,
    /// Park the thread between polls: for tests and laptops, not for trading.
    Park,
}

/// Tuning of an [`Idler`]; [`IdleParams::default`] suits a production hot loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleParams {
    /// Idle passes spent spinning before yielding (`SpinThenYield`).
    pub spins: u32,
    /// Idle passes spent in `sched_yield` before sleeping (`SpinThenYield`).
    pub yields: u32,
    /// First sleep (`SpinThenYield`); each further idle pass doubles it.
    pub min_sleep: Duration,
    /// Longest sleep (`SpinThenYield`).
    pub max_sleep: Duration,
    /// `Park` timeout.
    pub park_timeout: Duration,
}

impl Default for IdleParams {
    fn default() -> Self {
        IdleParams {
            spins: 10_000,
            yields: 100,
            min_sleep: Duration::from_micros(10),
            max_sleep: Duration::from_millis(1),
            park_timeout: Duration::from_millis(1),
        }
    }
}

impl IdleParams {
    /// Backs off quickly: for tests and tools sharing a small machine.
    pub fn backing_off() -> Self {
        IdleParams {
            spins: 50,
            yields: 20,
            min_sleep: Duration::from_micros(50),
            max_sleep: Duration::from_millis(1),
            park_timeout: Duration::from_millis(1),
        }
    }
}

/// What the next idle pass will do (exposed for tests and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleAction {
    Spin,
    Yield,
    Sleep(Duration),
    Park(Duration),
}

/// Per-thread idle state machine.
#[derive(Debug, Clone)]
pub struct Idler {
    strategy: IdleStrategy,
    params: IdleParams,
    /// Consecutive idle passes since the last pass with work.
    idle_passes: u32,
    sleep: Duration,
}

impl Idler {
    /// An idler with the default parameters.
    pub fn new(strategy: IdleStrategy) -> Self {
        Self::with_params(strategy, IdleParams::default())
    }

    pub fn with_params(strategy: IdleStrategy, params: IdleParams) -> Self {
        let min_sleep = params.min_sleep.min(params.max_sleep);
        Idler {
            strategy,
            params,
            idle_passes: 0,
            sleep: min_sleep,
        }
    }

    pub fn strategy(&self) -> IdleStrategy {
        self.strategy
    }

    /// What [`Idler::idle`] would do now for an idle pass.
    pub fn next_action(&self) -> IdleAction {
        match self.strategy {
            IdleStrategy::Spin => IdleAction::Spin,
            IdleStrategy::Park => IdleAction::Park(self.params.park_timeout),
            IdleStrategy::SpinThenYield => {
                if self.idle_passes < self.params.spins {
                    IdleAction::Spin
                } else if self.idle_passes - self.params.spins < self.params.yields {
                    IdleAction::Yield
                } else {
                    IdleAction::Sleep(self.sleep)
                }
            }
        }
    }

    /// Called after every pass of the loop. With `did_work` it resets the back-off and returns at
    /// once; otherwise it spins, yields, sleeps or parks as the strategy says.
    #[inline]
    pub fn idle(&mut self, did_work: bool) {
        if did_work {
            self.reset();
            return;
        }
        let action = self.next_action();
        match action {
            IdleAction::Spin => std::hint::spin_loop(),
            IdleAction::Yield => std::thread::yield_now(),
            IdleAction::Sleep(d) => {
                std::thread::sleep(d);
                self.sleep = (self.sleep * 2).min(self.params.max_sleep);
            }
            IdleAction::Park(d) => std::thread::park_timeout(d),
        }
        self.idle_passes = self.idle_passes.saturating_add(1);
    }

    /// Forgets the back-off (the next idle pass starts over).
    #[inline]
    pub fn reset(&mut self) {
        self.idle_passes = 0;
        self.sleep = self.params.min_sleep.min(self.params.max_sleep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> IdleParams {
        IdleParams {
            spins: 3,
            yields: 2,
            min_sleep: Duration::from_micros(1),
            max_sleep: Duration::from_micros(4),
            park_timeout: Duration::from_micros(1),
        }
    }

    #[test]
    fn spin_then_yield_escalates_and_caps_the_sleep() {
        let mut idler = Idler::with_params(IdleStrategy::SpinThenYield, tiny());
        let mut seen = Vec::new();
        for _ in 0..9 {
            seen.push(idler.next_action());
            idler.idle(false);
        }
        let us = Duration::from_micros;
        assert_eq!(
            seen,
            vec![
                IdleAction::Spin,
                IdleAction::Spin,
                IdleAction::Spin,
                IdleAction::Yield,
                IdleAction::Yield,
                IdleAction::Sleep(us(1)),
                IdleAction::Sleep(us(2)),
                IdleAction::Sleep(us(4)),
                IdleAction::Sleep(us(4)),
            ]
        );
    }

    #[test]
    fn work_resets_the_back_off() {
        let mut idler = Idler::with_params(IdleStrategy::SpinThenYield, tiny());
        for _ in 0..7 {
            idler.idle(false);
        }
        assert!(matches!(idler.next_action(), IdleAction::Sleep(_)));
        idler.idle(true);
        assert_eq!(idler.next_action(), IdleAction::Spin);
    }

    #[test]
    fn spin_never_escalates_and_park_uses_its_timeout() {
        let mut spin = Idler::with_params(IdleStrategy::Spin, tiny());
        for _ in 0..100 {
            spin.idle(false);
        }
        assert_eq!(spin.next_action(), IdleAction::Spin);
        let mut park = Idler::with_params(IdleStrategy::Park, tiny());
        park.idle(false);
        assert_eq!(
            park.next_action(),
            IdleAction::Park(Duration::from_micros(1))
        );
    }
}
