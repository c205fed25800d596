//! Reconnect schedule (sans-IO): exponential backoff with jitter between `reconnect_min_ms` and
//! `reconnect_max_ms`, alternating the primary and backup addresses.
//!
//! The owner asks [`Reconnector::poll`] with the current time whether to dial now and where, and
//! reports the outcome with [`Reconnector::on_connected`] / [`Reconnector::on_disconnected`]
//! (a failed attempt or the loss of an established connection). Consecutive failures double the
//! delay up to the maximum; each delay is drawn uniformly from its upper half (never below the
//! minimum) so that many clients do not retry in lockstep. A success resets the backoff.

use super::NetworkConfig;
use std::net::SocketAddr;

const MS: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Dial when `now >= at`.
    Due {
        at: u64,
    },
    Connecting,
    Connected,
}

#[derive(Debug, Clone)]
pub struct Reconnector {
    primary: SocketAddr,
    backup: Option<SocketAddr>,
    min_ns: u64,
    max_ns: u64,
    state: State,
    /// Consecutive failed attempts (or losses) since the last success.
    failures: u32,
    /// Whether the next attempt goes to the backup.
    next_backup: bool,
    rng: u64,
}

impl Reconnector {
    /// A schedule whose first attempt (to `primary`) is due at once. `seed` feeds the jitter
    /// (pass something per process, e.g. the pid and the time; tests pass a constant).
    pub fn new(
        primary: SocketAddr,
        backup: Option<SocketAddr>,
        cfg: &NetworkConfig,
        seed: u64,
    ) -> Self {
        let min_ns = u64::from(cfg.reconnect_min_ms.max(1)) * MS;
        let max_ns = (u64::from(cfg.reconnect_max_ms) * MS).max(min_ns);
        Reconnector {
            primary,
            backup,
            min_ns,
            max_ns,
            state: State::Due { at: 0 },
            failures: 0,
            next_backup: false,
            rng: seed,
        }
    }

    /// The address to dial now, if an attempt is due (the schedule then waits for the outcome).
    pub fn poll(&mut self, now_ns: u64) -> Option<SocketAddr> {
        match self.state {
            State::Due { at } if now_ns >= at => {
                self.state = State::Connecting;
                let addr = match (self.next_backup, self.backup) {
                    (true, Some(b)) => b,
                    _ => self.primary,
                };
                if self.backup.is_some() {
                    self.next_backup = !self.next_backup;
                }
                Some(addr)
            }
            _ => None,
        }
    }

    /// The last attempt succeeded: the backoff starts over.
    pub fn on_connected(&mut self) {
        self.state = State::Connected;
        self.failures = 0;
    }

    /// The TCP connection is up but the session has not logged on yet: the backoff continues
    /// until [`Reconnector::on_connected`] (a refused logon must not reset it).
    pub fn on_open(&mut self) {
        self.state = State::Connected;
    }

    /// Moves a scheduled attempt to no earlier than `at_ns` (a longer back-off or a
    /// throttle); returns when it is due. Nothing changes while connecting or connected.
    pub fn defer_until(&mut self, at_ns: u64) -> Option<u64> {
        match &mut self.state {
            State::Due { at } => {
                *at = (*at).max(at_ns);
                Some(*at)
            }
            _ => None,
        }
    }

    /// The last attempt failed or the connection was lost at `now_ns`: schedules the next attempt
    /// (to the other address) and returns when it is due.
    pub fn on_disconnected(&mut self, now_ns: u64) -> u64 {
        self.failures = self.failures.saturating_add(1);
        let at = now_ns.saturating_add(self.delay_ns());
        self.state = State::Due { at };
        at
    }

    /// Brings a scheduled attempt forward to `at_ns` when it was due later (a new key after a
    /// long back-off).
    pub fn advance_to(&mut self, at_ns: u64) {
        if let State::Due { at } = &mut self.state {
            *at = (*at).min(at_ns);
        }
    }

    /// When the next attempt is due (`None` while connecting or connected).
    pub fn next_deadline(&self) -> Option<u64> {
        match self.state {
            State::Due { at } => Some(at),
            _ => None,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn delay_ns(&mut self) -> u64 {
        let doublings = self.failures.saturating_sub(1).min(40);
        let base = self
            .min_ns
            .saturating_mul(1u64 << doublings)
            .min(self.max_ns);
        let half = base / 2;
        let jitter = self.next_random() % (base - half + 1);
        (half + jitter).max(self.min_ns)
    }

    /// splitmix64: tiny, good enough for jitter.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(min: u32, max: u32) -> NetworkConfig {
        NetworkConfig {
            reconnect_min_ms: min,
            reconnect_max_ms: max,
            ..NetworkConfig::default()
        }
    }

    fn addrs() -> (SocketAddr, SocketAddr) {
        (
            "127.0.0.1:1000".parse().unwrap(),
            "127.0.0.1:2000".parse().unwrap(),
        )
    }

    #[test]
    fn alternates_addresses_and_backs_off_within_bounds() {
        let (p, b) = addrs();
        let mut r = Reconnector::new(p, Some(b), &cfg(100, 1000), 42);
        let mut now = 5 * MS;
        assert_eq!(
            r.poll(now),
            Some(p),
            "first attempt is immediate, to primary"
        );
        assert_eq!(r.poll(now), None, "one attempt at a time");
        let mut delays = Vec::new();
        let mut dialled = Vec::new();
        for _ in 0..8 {
            let at = r.on_disconnected(now);
            delays.push(at - now);
            assert_eq!(r.poll(at - 1), None, "not before the deadline");
            now = at;
            dialled.push(r.poll(now).expect("due"));
        }
        assert_eq!(dialled, vec![b, p, b, p, b, p, b, p]);
        // Upper half of 100, 200, 400, 800, then capped at 1000 ms.
        let caps = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
        for (d, cap) in delays.iter().zip(caps) {
            let cap = cap * MS;
            assert!(
                *d >= (cap / 2).max(100 * MS) && *d <= cap,
                "{d} vs cap {cap}"
            );
        }
        assert_eq!(r.failures(), 8);
    }

    #[test]
    fn success_resets_the_backoff_and_jitter_varies() {
        let (p, _) = addrs();
        let mut r = Reconnector::new(p, None, &cfg(10, 10_000), 7);
        let mut now = 0;
        r.poll(now);
        for _ in 0..6 {
            now = r.on_disconnected(now);
            assert_eq!(r.poll(now), Some(p), "without a backup, always primary");
        }
        r.on_connected();
        assert!(r.is_connected());
        assert_eq!(r.next_deadline(), None);
        let at = r.on_disconnected(now);
        assert!(at - now <= 10 * MS, "back to the minimum after a success");

        // Different seeds give different delays for the same failure count.
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let mut r = Reconnector::new(p, None, &cfg(100, 10_000), seed);
            r.poll(0);
            for _ in 0..4 {
                r.on_disconnected(0);
                r.poll(u64::MAX);
            }
            seen.insert(r.on_disconnected(0));
        }
        assert!(seen.len() > 10, "jitter spreads retries: {seen:?}");
    }

    #[test]
    fn an_open_connection_keeps_the_backoff_and_a_deferral_moves_the_deadline() {
        let (p, _) = addrs();
        let mut r = Reconnector::new(p, None, &cfg(100, 10_000), 3);
        r.poll(0);
        for _ in 0..3 {
            let at = r.on_disconnected(0);
            r.poll(at);
            r.on_open();
            assert_eq!(
                r.defer_until(u64::MAX),
                None,
                "nothing scheduled while open"
            );
        }
        assert_eq!(r.failures(), 3, "a TCP connect alone is no success");
        let at = r.on_disconnected(0);
        assert!(at >= 400 * MS, "fourth failure backs off from 800 ms: {at}");
        assert_eq!(r.defer_until(60_000 * MS), Some(60_000 * MS));
        assert_eq!(r.defer_until(MS), Some(60_000 * MS), "never earlier");
        assert_eq!(r.poll(60_000 * MS - 1), None);
        assert_eq!(r.poll(60_000 * MS), Some(p));
    }
}
