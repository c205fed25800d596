//! Small types shared by every layer: the two clocks' timestamps, index newtypes and store
//! durability. Nothing here does IO.
//!
//! Two clocks, never mixed:
//! - [`Nanos`]: a **monotonic** instant (CLOCK_MONOTONIC, or a fake clock in tests). Every
//!   deadline (keepalives, heartbeats, retransmission and reconnect timers, drain) runs on it, so
//!   an NTP step of the wall clock neither lapses nor silences a session.
//! - [`WallNanos`]: **wall-clock** nanoseconds since the Unix epoch (CLOCK_REALTIME). Only what
//!   goes on the wire or into a file carries it: iLink 3 RequestTimestamp and SendingTimeEpoch,
//!   FIX SendingTime (52), journal and log stamps.

use std::fmt;

/// A monotonic instant in nanoseconds (the origin is arbitrary: only differences mean anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Nanos(pub u64);

impl Nanos {
    /// `self + ns`, saturating.
    #[inline]
    pub const fn add_ns(self, ns: u64) -> Nanos {
        Nanos(self.0.saturating_add(ns))
    }
    /// Nanoseconds from `earlier` to `self` (0 if `earlier` is later).
    #[inline]
    pub const fn since(self, earlier: Nanos) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Wall-clock nanoseconds since the Unix epoch, for wire timestamps and files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WallNanos(pub u64);

/// The two clocks read together once per loop pass: deadlines use `mono`, wire stamps `wall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Now {
    pub mono: Nanos,
    pub wall: WallNanos,
}

macro_rules! index_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u32);

        impl $name {
            /// As a `Vec`/slice index.
            #[inline]
            pub const fn get(self) -> usize {
                self.0 as usize
            }
            /// From a `Vec`/slice index (indices are bounded by config far below `u32::MAX`).
            #[inline]
            pub const fn new(i: usize) -> Self {
                $name(i as u32)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

index_newtype!(
    /// An iLink 3 session's index in the daemon's global session list (config order).
    SessionIdx
);
index_newtype!(
    /// A strategy's index in the daemon's strategy list (config order).
    StrategyIdx
);
index_newtype!(
    /// A hot engine's index (one per `daemon.hot_cores` entry).
    EngineIdx
);
index_newtype!(
    /// A Drop Copy session's index in the daemon's Drop Copy list (config order).
    DropCopyIdx
);

index_newtype!(
    /// A session's index within its engine (iLink 3 and Drop Copy sessions counted apart; the
    /// router's "engine session").
    LocalSessionIdx
);
index_newtype!(
    /// A strategy's index within its engine.
    LocalStrategyIdx
);

index_newtype!(
    /// A session's slot in its engine's latency recorder (iLink 3 sessions, then Drop Copy).
    LatencySlot
);

/// Store durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// fsync before every message that uses a new sequence number leaves.
    Always,
    /// fsync in batches on the housekeeping thread.
    #[default]
    Batch,
    /// Leave it to the kernel (tests, demo).
    Never,
}

/// 1-based line and column (in characters) of byte `offset` in `text`, for errors that say where.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 8), (2, 3));
        assert_eq!(line_col(t, 999), (3, 1));
    }

    #[test]
    fn nanos_saturate() {
        assert_eq!(Nanos(5).since(Nanos(9)), 0);
        assert_eq!(Nanos(u64::MAX).add_ns(1), Nanos(u64::MAX));
        assert_eq!(SessionIdx::new(3).get(), 3);
    }
}
